//! Outgoing mail through `lettre`: SMTP in production and tests, or, in development, a
//! transport that writes each whole mail to the log so that codes can be read there.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{MailConfig, MailTransportKind, SmtpSecurity};

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0}")]
    Address(String),
    #[error("mail could not be built: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP delivery failed: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

/// One plain-text mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

enum Transport {
    Log,
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Sends mail; cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: std::sync::Arc<Transport>,
}

impl Mailer {
    /// Builds the transport named by `config`; no connection is opened yet.
    ///
    /// # Errors
    /// [`MailError::Address`] for an invalid sender, [`MailError::Smtp`] when TLS
    /// parameters cannot be built.
    pub fn new(config: &MailConfig) -> Result<Self, MailError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| MailError::Address(config.from.clone()))?;
        let transport = match config.transport {
            MailTransportKind::Log => Transport::Log,
            MailTransportKind::Smtp => Transport::Smtp(smtp_transport(config)?),
        };
        Ok(Self {
            from,
            transport: std::sync::Arc::new(transport),
        })
    }

    /// Delivers `mail`.
    ///
    /// # Errors
    /// A [`MailError`] when the address is invalid or the SMTP server refuses the mail.
    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|_| MailError::Address(mail.to.clone()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())?;
        match self.transport.as_ref() {
            Transport::Log => {
                // The development transport: the one place where a code may reach the log.
                log::info!(
                    "mail (log transport, not sent)\nTo: {}\nSubject: {}\n\n{}",
                    mail.to,
                    mail.subject,
                    mail.body
                );
            }
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
        }
        Ok(())
    }
}

fn smtp_transport(config: &MailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let tls = match config.smtp_security {
        SmtpSecurity::None => Tls::None,
        SmtpSecurity::Starttls => Tls::Required(TlsParameters::new(config.smtp_host.clone())?),
        SmtpSecurity::Tls => Tls::Wrapper(TlsParameters::new(config.smtp_host.clone())?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.smtp_host)
        .port(config.smtp_port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(config.smtp_timeout_secs)));
    if let (Some(username), Some(password)) = (&config.smtp_username, &config.smtp_password) {
        builder = builder.credentials(Credentials::new(
            username.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}
