//! One-time codes and link hashes mailed for sign-up and password reset.
//!
//! Only keyed digests are stored: a six-digit code has a million values, so a plain
//! SHA-256 of it could be reversed from a leaked database in a second. The digest is an
//! HMAC-SHA256 under the server's secret, bound to the address the code was mailed to.

use hmac::{Hmac, Mac};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// A code and a link token just generated, plus their digests for storage.
pub struct IssuedCode {
    /// Six decimal digits, mailed to the user.
    pub code: String,
    /// 32 hex digits; the alternative to typing the code (`hash` in requests).
    pub link_token: String,
    pub code_digest: String,
    pub link_digest: String,
}

/// Digests codes under a server secret.
#[derive(Clone)]
pub struct CodeHasher {
    key: SecretString,
}

impl CodeHasher {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    /// Generates a code and a link token for `email` and `purpose` (`signup`, `reset`).
    pub fn issue(&self, purpose: &str, email: &str) -> IssuedCode {
        let mut rng = rand::thread_rng();
        let code = format!("{:06}", rng.gen_range(0..1_000_000));
        let link_token = uuid::Uuid::new_v4().simple().to_string();
        IssuedCode {
            code_digest: self.digest(purpose, email, &code),
            link_digest: self.link_digest(purpose, &link_token),
            code,
            link_token,
        }
    }

    /// Digest of a code typed by the user, bound to `email`.
    pub fn digest(&self, purpose: &str, email: &str, code: &str) -> String {
        self.mac(&[purpose, "code", email, code.trim()])
    }

    /// Digest of a link token; not bound to an address because the token itself is
    /// unguessable and the stored document names the address.
    pub fn link_digest(&self, purpose: &str, token: &str) -> String {
        self.mac(&[purpose, "link", token.trim()])
    }

    fn mac(&self, parts: &[&str]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_binds_code_to_address_and_purpose() {
        let hasher = CodeHasher::new(SecretString::from("k"));
        let issued = hasher.issue("signup", "ada@example.com");
        assert_eq!(issued.code.len(), 6);
        assert_eq!(
            hasher.digest("signup", "ada@example.com", &issued.code),
            issued.code_digest
        );
        assert_ne!(
            hasher.digest("signup", "eve@example.com", &issued.code),
            issued.code_digest
        );
        assert_ne!(
            hasher.digest("reset", "ada@example.com", &issued.code),
            issued.code_digest
        );
        assert_eq!(
            hasher.link_digest("signup", &issued.link_token),
            issued.link_digest
        );
    }
}
