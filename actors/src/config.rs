//! Settings sections that the actors read. The server's `Settings` composes them, so
//! each key is declared once, next to the code that uses it.

use secrecy::SecretString;
use serde::Deserialize;

/// Sign-in, tokens, passwords and one-time codes (`[auth]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 key of access and refresh tokens.
    pub jwt_secret: SecretString,
    pub access_token_lifetime_secs: u64,
    pub refresh_token_lifetime_secs: u64,
    /// bcrypt work factor (4 to 31); each step doubles the hashing time.
    pub bcrypt_cost: u32,
    /// How long a mailed code or link stays valid.
    pub otp_lifetime_secs: u64,
    /// Wrong codes accepted before a code is locked and a new one must be requested.
    pub otp_max_attempts: u32,
    /// Minimum time between two mails of a code to the same address.
    pub otp_resend_interval_secs: u64,
    /// How long a verified password reset stays usable.
    pub reset_eligibility_secs: u64,
}

/// Which mail transport delivers account mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransportKind {
    /// Writes each whole mail to the log; development only.
    Log,
    Smtp,
}

/// Encryption of the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text; only for a sink on 127.0.0.1.
    None,
    Starttls,
    Tls,
}

/// Outgoing mail (`[mail]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub transport: MailTransportKind,
    /// Sender address, e.g. `Career Nexus <no-reply@career-nexus.com>`.
    pub from: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<SecretString>,
    pub smtp_timeout_secs: u64,
}

/// Uploaded media on an S3-compatible store (`[media]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaConfig {
    /// S3 endpoint; empty for AWS's default endpoint of `region`.
    pub endpoint_url: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: SecretString,
    pub secret_access_key: SecretString,
    /// Path-style addressing (`endpoint/bucket/key`), which local S3 servers need.
    pub force_path_style: bool,
    /// Base of the public object URLs stored in documents; the key is appended. Empty
    /// serves objects through the app at `{server.public_base_url}/media`.
    pub public_url: String,
    pub max_image_bytes: usize,
    pub max_document_bytes: usize,
    pub max_video_bytes: usize,
}

/// Sockets, chat persistence and their limits (`[realtime]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealtimeConfig {
    /// Interval of WebSocket protocol pings from the server.
    pub heartbeat_interval_ms: u64,
    /// A socket that has sent nothing (not even a pong) for this long is closed.
    pub client_timeout_ms: u64,
    /// Largest frame a client may send; a larger one closes the socket with 1009.
    pub max_frame_bytes: usize,
    /// Longest chat message, in Unicode characters.
    pub max_message_chars: usize,
    /// Chat, typing and read frames a socket may send per second (bursts up to this).
    pub messages_per_second: u32,
    /// Frames a socket may have waiting for its session actor. A session runs only while
    /// its socket can take more bytes, so frames pile up for a client that stops reading;
    /// past this many it is closed with 1013.
    pub max_queued_frames: usize,
    /// Most messages stored with one `insert_many`.
    pub chat_batch_max: usize,
    /// Longest wait before a partly filled batch of chat messages is stored.
    pub chat_flush_interval_ms: u64,
    /// Messages accepted but not yet stored; past this senders get `server_busy`.
    pub chat_max_pending: usize,
    /// Messages returned by chat history when the request names no limit.
    pub history_default_limit: i64,
    pub history_max_limit: i64,
    /// Messages fetched per database round trip when a client sends `sync`.
    pub sync_page_size: i64,
}
