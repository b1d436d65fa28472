//! Settings: `config.toml` holds every key with a development default, and any key can be
//! overridden by an environment variable `CN__SECTION__KEY` (e.g. `CN__SERVER__PORT=9000`).
//! Unknown keys and values of the wrong type stop start-up with a message naming the key.

use std::path::Path;

use careernexus_actors::config::{
    AuthConfig, MailConfig, MailTransportKind, MediaConfig, RealtimeConfig,
};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The JWT secret shipped in `config.toml`; the server refuses it in production.
pub const DEVELOPMENT_JWT_SECRET: &str = "development-only-jwt-secret-do-not-use-in-production";

/// All settings, one section per table of `config.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    pub media: MediaConfig,
    pub realtime: RealtimeConfig,
}

/// `development` allows the development JWT secret and the log mail transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

/// HTTP server (`[server]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub environment: Environment,
    pub host: String,
    /// 0 picks a free port (tests).
    pub port: u16,
    /// Base of absolute URLs the server writes, e.g. default pictures; empty means
    /// `http://{host}:{port}` of the bound listener.
    pub public_base_url: String,
    /// HTTP worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Longest wait for a domain actor's reply before answering 503.
    pub actor_timeout_ms: u64,
    /// Largest JSON or form body accepted (uploads have their own limits in `[media]`).
    pub max_body_bytes: usize,
    /// Origins whose browsers may call the API with credentials; each is echoed back.
    pub cors_allowed_origins: Vec<String>,
    pub default_page_size: u64,
    pub max_page_size: u64,
}

/// MongoDB (`[database]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Connection string; may hold credentials, so it is kept secret.
    pub uri: SecretString,
    pub name: String,
}

/// A setting that cannot be used, named by its key.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{0}")]
    Load(#[from] Box<figment::Error>),
    #[error("{key}: {problem}")]
    Invalid { key: &'static str, problem: String },
}

impl Settings {
    /// Reads `path`, applies `CN__…` environment overrides and checks the result.
    ///
    /// # Errors
    /// A [`SettingsError`] naming the first unknown key, wrong type or unusable value.
    pub fn load(path: &Path) -> Result<Self, SettingsError> {
        let settings: Settings = Figment::from(Toml::file_exact(path))
            .merge(Env::prefixed("CN__").split("__"))
            .extract()
            .map_err(Box::new)?;
        settings.check()?;
        Ok(settings)
    }

    /// Checks values that parse but cannot work.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the key.
    pub fn check(&self) -> Result<(), SettingsError> {
        let invalid = |key, problem: &str| {
            Err(SettingsError::Invalid {
                key,
                problem: problem.to_owned(),
            })
        };
        let secret = self.auth.jwt_secret.expose_secret();
        if self.server.environment == Environment::Production {
            if secret == DEVELOPMENT_JWT_SECRET || secret.len() < 32 {
                return invalid(
                    "auth.jwt_secret",
                    "production needs a random secret of at least 32 characters in CN__AUTH__JWT_SECRET, not the development default",
                );
            }
            if self.mail.transport == MailTransportKind::Log {
                return invalid(
                    "mail.transport",
                    "the log transport only prints mail; production needs smtp",
                );
            }
        }
        if secret.is_empty() {
            return invalid("auth.jwt_secret", "must not be empty");
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return invalid("auth.bcrypt_cost", "must be from 4 to 31");
        }
        if self.auth.otp_max_attempts == 0 {
            return invalid("auth.otp_max_attempts", "must be at least 1");
        }
        if self.server.default_page_size == 0
            || self.server.default_page_size > self.server.max_page_size
        {
            return invalid(
                "server.default_page_size",
                "must be from 1 to server.max_page_size",
            );
        }
        if !self.server.public_base_url.is_empty()
            && url::Url::parse(&self.server.public_base_url).is_err()
        {
            return invalid(
                "server.public_base_url",
                "must be an absolute URL such as http://127.0.0.1:8000",
            );
        }
        if self.realtime.messages_per_second == 0 {
            return invalid("realtime.messages_per_second", "must be at least 1");
        }
        if self.realtime.history_default_limit < 1
            || self.realtime.history_default_limit > self.realtime.history_max_limit
        {
            return invalid(
                "realtime.history_default_limit",
                "must be from 1 to realtime.history_max_limit",
            );
        }
        if self.realtime.max_queued_frames == 0 {
            return invalid("realtime.max_queued_frames", "must be at least 1");
        }
        if self.realtime.chat_batch_max == 0 {
            return invalid("realtime.chat_batch_max", "must be at least 1");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")
    }

    #[test]
    fn shipped_config_loads() {
        let settings = Settings::load(&config_path()).expect("config.toml is valid");
        assert_eq!(settings.server.environment, Environment::Development);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let settings = Settings::load(&config_path()).expect("config.toml is valid");
        let printed = format!("{settings:?}");
        assert!(
            !printed.contains(DEVELOPMENT_JWT_SECRET),
            "secret leaked into Debug output"
        );
    }

    #[test]
    fn unknown_key_names_the_key() {
        let file = std::env::temp_dir().join(format!("cn-config-{}.toml", std::process::id()));
        let text =
            std::fs::read_to_string(config_path()).expect("readable") + "\n[extra]\nspeed = 1\n";
        std::fs::write(&file, text).expect("writable");
        let error = Settings::load(&file)
            .expect_err("unknown section")
            .to_string();
        std::fs::remove_file(&file).ok();
        assert!(error.contains("extra"), "{error}");
    }

    #[test]
    fn production_rejects_development_secret() {
        let mut settings = Settings::load(&config_path()).expect("config.toml is valid");
        settings.server.environment = Environment::Production;
        settings.mail.transport = MailTransportKind::Smtp;
        let error = settings
            .check()
            .expect_err("dev secret in production")
            .to_string();
        assert!(error.starts_with("auth.jwt_secret"), "{error}");
    }
}
