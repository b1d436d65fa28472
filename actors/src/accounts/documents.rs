//! Stored documents of the accounts area besides the user itself.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::UserId;
use crate::users::optional_datetime;

/// One sign-in: the pair of tokens issued together. Signing out sets `revoked_at`, which
/// makes both tokens of the pair unusable. The `_id` is the access token's `jti`, the key
/// every authenticated request looks up. FerretDB 1.24 hands only an equality on a string
/// `_id` to SQLite and decodes every document for any other filter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionDoc {
    #[serde(rename = "_id")]
    pub access_jti: String,
    /// Names the sign-in in sign-out requests and in the socket registry.
    pub refresh_jti: String,
    pub user_id: UserId,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub expires_at: DateTime<Utc>,
    #[serde(default, with = "optional_datetime")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A sign-up waiting for its emailed code, keyed by the lowercase address. Holds the
/// bcrypt hash of the chosen password, never the password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSignupDoc {
    #[serde(rename = "_id")]
    pub email: String,
    pub password_hash: String,
    /// Set for a mentor sign-up; a learner has none.
    pub industry: Option<String>,
    #[serde(flatten)]
    pub code: CodeState,
}

/// A password reset in progress, keyed by the lowercase address.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordResetDoc {
    #[serde(rename = "_id")]
    pub email: String,
    pub user_id: UserId,
    #[serde(flatten)]
    pub code: CodeState,
    /// Set when the code or link was verified; the new password must arrive before it.
    #[serde(default, with = "optional_datetime")]
    pub eligible_until: Option<DateTime<Utc>>,
}

/// Digests and counters of one mailed code.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeState {
    pub code_digest: String,
    pub link_digest: String,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub sent_at: DateTime<Utc>,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub expires_at: DateTime<Utc>,
    /// Wrong codes entered so far.
    pub failed_attempts: u32,
}
