//! The MongoDB handle every actor shares, the collection names and the indexes.
//!
//! Only features that FerretDB 1.24 and MongoDB 6+ both implement are used: no
//! `$lookup`, no transactions, no change streams, no collations. Joins are batched `$in`
//! queries, and multi-step writes are ordered so that a crash between steps leaves
//! nothing a later request trips over.

use bson::doc;
use mongodb::options::IndexOptions;
use mongodb::{Client, Collection, Database, IndexModel};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

use crate::ids::IdAllocator;

pub const USERS: &str = "users";
pub const USER_EMAILS: &str = "user_emails";
pub const LAST_SEEN: &str = "last_seen";
pub const SESSIONS: &str = "sessions";
pub const PENDING_SIGNUPS: &str = "pending_signups";
pub const PASSWORD_RESETS: &str = "password_resets";
pub const EXPERIENCES: &str = "experiences";
pub const EDUCATIONS: &str = "educations";
pub const CERTIFICATIONS: &str = "certifications";
pub const CONNECTIONS: &str = "connections";
pub const FOLLOWS: &str = "follows";
pub const POSTS: &str = "posts";
pub const CHATS: &str = "chats";
pub const MESSAGES: &str = "messages";
pub const CHAT_ACTIVITY: &str = "chat_activity";
pub const NOTIFICATIONS: &str = "notifications";

/// Failures of the storage layer. The driver's text is kept for the log only.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database request failed: {0}")]
    Driver(#[from] mongodb::error::Error),
    #[error("stored document could not be decoded: {0}")]
    Decode(#[from] bson::de::Error),
    #[error("document could not be encoded: {0}")]
    Encode(#[from] bson::ser::Error),
    #[error("stored data is inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl StoreError {
    /// Whether the error is a unique-index violation (duplicate key, code 11000).
    pub fn is_duplicate_key(&self) -> bool {
        let StoreError::Driver(error) = self else {
            return false;
        };
        match error.kind.as_ref() {
            mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(e)) => {
                e.code == 11000
            }
            mongodb::error::ErrorKind::InsertMany(e) => e
                .write_errors
                .as_ref()
                .is_some_and(|errors| errors.iter().any(|w| w.code == 11000)),
            mongodb::error::ErrorKind::Command(e) => e.code == 11000,
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether the error is a write failure whose every cause is a duplicate key.
    pub fn is_only_duplicate_keys(&self) -> bool {
        let StoreError::Driver(error) = self else {
            return false;
        };
        match error.kind.as_ref() {
            mongodb::error::ErrorKind::Write(mongodb::error::WriteFailure::WriteError(e)) => {
                e.code == 11000
            }
            mongodb::error::ErrorKind::InsertMany(e) => {
                e.write_concern_error.is_none()
                    && e.write_errors.as_ref().is_some_and(|errors| {
                        !errors.is_empty() && errors.iter().all(|w| w.code == 11000)
                    })
            }
            _ => false,
        }
    }

    /// Whether the database could not be reached (as opposed to refusing a request).
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Driver(error) = self else {
            return false;
        };
        matches!(
            error.kind.as_ref(),
            mongodb::error::ErrorKind::ServerSelection { .. } | mongodb::error::ErrorKind::Io(_)
        )
    }
}

/// The database plus the id allocator; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Database,
    ids: IdAllocator,
}

impl Store {
    /// Connects to `uri` and selects `database`. The driver connects lazily, so this
    /// succeeds even while the server is down; [`Store::ping`] checks reachability.
    ///
    /// # Errors
    /// A [`StoreError`] when the URI cannot be parsed.
    pub async fn connect(uri: &str, database: &str) -> Result<Self, StoreError> {
        let mut options = mongodb::options::ClientOptions::parse(uri).await?;
        options.app_name = Some("careernexus".to_owned());
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(5));
        let client = Client::with_options(options)?;
        Ok(Self::from_database(client.database(database)))
    }

    pub fn from_database(db: Database) -> Self {
        let ids = IdAllocator::new(db.clone());
        Self { db, ids }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn ids(&self) -> &IdAllocator {
        &self.ids
    }

    pub fn collection<T: Send + Sync + Serialize + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Collection<T> {
        self.db.collection(name)
    }

    /// Sends `ping` to the server: the readiness check.
    ///
    /// # Errors
    /// A [`StoreError`] when the server does not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! { "ping": 1 }).await?;
        Ok(())
    }

    /// Creates every index the queries rely on; safe to run at each start.
    ///
    /// # Errors
    /// A [`StoreError`] when an index cannot be created, for example because existing
    /// documents break a unique index.
    pub async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = |keys: bson::Document| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().unique(true).build())
                .build()
        };
        let plain = |keys: bson::Document| IndexModel::builder().keys(keys).build();

        let indexes: Vec<(&str, Vec<IndexModel>)> = vec![
            (USERS, vec![unique(doc! { "email": 1 })]),
            (
                SESSIONS,
                vec![
                    unique(doc! { "refresh_jti": 1 }),
                    plain(doc! { "user_id": 1 }),
                ],
            ),
            (EXPERIENCES, vec![plain(doc! { "user_id": 1 })]),
            (EDUCATIONS, vec![plain(doc! { "user_id": 1 })]),
            (CERTIFICATIONS, vec![plain(doc! { "user_id": 1 })]),
            (
                CONNECTIONS,
                vec![
                    unique(doc! { "id": 1 }),
                    plain(doc! { "user": 1, "status": 1 }),
                    plain(doc! { "connection": 1, "status": 1 }),
                ],
            ),
            (
                FOLLOWS,
                vec![
                    unique(doc! { "follower": 1, "followed": 1 }),
                    plain(doc! { "followed": 1 }),
                ],
            ),
            (
                CHATS,
                vec![
                    unique(doc! { "id": 1 }),
                    plain(doc! { "user_a": 1 }),
                    plain(doc! { "user_b": 1 }),
                ],
            ),
            (MESSAGES, vec![plain(doc! { "chat_id": 1, "_id": 1 })]),
            (NOTIFICATIONS, vec![plain(doc! { "user_id": 1, "_id": -1 })]),
        ];
        for (collection, models) in indexes {
            let collection = self.db.collection::<bson::Document>(collection);
            // NOTE: one index per command. FerretDB 1.24 drops the connection when one
            // `createIndexes` names several indexes that already exist.
            for model in models {
                collection.create_index(model).await?;
            }
        }
        Ok(())
    }
}
