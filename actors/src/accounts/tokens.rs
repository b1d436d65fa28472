//! Access and refresh tokens shaped like djangorestframework-simplejwt's: HS256 JWTs with
//! the claims `token_type`, `exp`, `iat`, `jti` and `user_id`, so clients built against the
//! older server decode them unchanged.

use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
}

/// The claims of both token types.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub token_type: TokenType,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// Unique token id, 32 lowercase hex digits.
    pub jti: String,
    pub user_id: UserId,
}

/// A freshly issued pair; `refresh_jti` names the sign-in session.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
    pub access_jti: String,
    pub refresh_jti: String,
    pub refresh_expires_at: i64,
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid or expired")]
    Invalid,
    #[error("token is not an {0:?} token")]
    WrongType(TokenType),
}

/// Signs and checks tokens with one HS256 key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_lifetime_secs: i64,
    refresh_lifetime_secs: i64,
}

impl TokenKeys {
    pub fn new(
        secret: &SecretString,
        access_lifetime_secs: u64,
        refresh_lifetime_secs: u64,
    ) -> Self {
        let secret = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_lifetime_secs: i64::try_from(access_lifetime_secs).unwrap_or(i64::MAX / 2),
            refresh_lifetime_secs: i64::try_from(refresh_lifetime_secs).unwrap_or(i64::MAX / 2),
        }
    }

    /// Issues a new access and refresh token for `user_id`.
    pub fn issue(&self, user_id: UserId) -> TokenPair {
        let now = Utc::now().timestamp();
        let access_jti = new_jti();
        let refresh_jti = new_jti();
        let refresh_expires_at = now + self.refresh_lifetime_secs;
        let access = self.sign(
            TokenType::Access,
            now,
            now + self.access_lifetime_secs,
            &access_jti,
            user_id,
        );
        let refresh = self.sign(
            TokenType::Refresh,
            now,
            refresh_expires_at,
            &refresh_jti,
            user_id,
        );
        TokenPair {
            access,
            refresh,
            access_jti,
            refresh_jti,
            refresh_expires_at,
        }
    }

    fn sign(
        &self,
        token_type: TokenType,
        iat: i64,
        exp: i64,
        jti: &str,
        user_id: UserId,
    ) -> String {
        let claims = Claims {
            token_type,
            exp,
            iat,
            jti: jti.to_owned(),
            user_id,
        };
        // NOTE: HS256 signing of a small struct cannot fail; an empty token would be
        // rejected by every check anyway.
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).unwrap_or_default()
    }

    /// Checks signature, expiry and type, and returns the claims.
    ///
    /// # Errors
    /// [`TokenError::Invalid`] for a malformed, forged or expired token,
    /// [`TokenError::WrongType`] for a valid token of the other type.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if claims.token_type != expected {
            return Err(TokenError::WrongType(expected));
        }
        Ok(claims)
    }
}

fn new_jti() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(access_secs: u64) -> TokenKeys {
        TokenKeys::new(&SecretString::from("test-secret"), access_secs, 86_400)
    }

    #[test]
    fn issued_tokens_verify_with_their_type() {
        let keys = keys(60);
        let pair = keys.issue(UserId(7));
        let access = keys
            .verify(&pair.access, TokenType::Access)
            .expect("valid access token");
        assert_eq!(access.user_id, UserId(7));
        assert_eq!(access.jti, pair.access_jti);
        assert_eq!(access.jti.len(), 32);
        let refresh = keys
            .verify(&pair.refresh, TokenType::Refresh)
            .expect("valid refresh token");
        assert_eq!(refresh.jti, pair.refresh_jti);
    }

    #[test]
    fn verify_rejects_wrong_type() {
        let keys = keys(60);
        let pair = keys.issue(UserId(1));
        assert_eq!(
            keys.verify(&pair.refresh, TokenType::Access).unwrap_err(),
            TokenError::WrongType(TokenType::Access)
        );
    }

    #[test]
    fn verify_rejects_other_key_and_garbage() {
        let pair = keys(60).issue(UserId(1));
        let other = TokenKeys::new(&SecretString::from("another-secret"), 60, 60);
        assert_eq!(
            other.verify(&pair.access, TokenType::Access).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(
            keys(60).verify("not.a.jwt", TokenType::Access).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn verify_rejects_expired_token() {
        let keys = keys(0);
        let pair = keys.issue(UserId(1));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(
            keys.verify(&pair.access, TokenType::Access).unwrap_err(),
            TokenError::Invalid
        );
    }

    #[test]
    fn claims_have_simplejwt_names() {
        let pair = keys(60).issue(UserId(3));
        let value = decode::<serde_json::Value>(
            &pair.access,
            &DecodingKey::from_secret(b"test-secret"),
            &Validation::new(Algorithm::HS256),
        )
        .expect("decodable")
        .claims;
        for claim in ["token_type", "exp", "iat", "jti", "user_id"] {
            assert!(value.get(claim).is_some(), "missing claim {claim}");
        }
        assert_eq!(value["token_type"], "access");
        assert_eq!(value["user_id"], 3);
    }
}
