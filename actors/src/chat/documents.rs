//! Stored chat rooms and messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChatId, MessageId, UserId};

/// A room shared by two users; one per unordered pair (`user_a < user_b`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatDoc {
    /// `"{user_a}:{user_b}"`: one room per pair, so two concurrent creations yield one
    /// room. The key is a string because FerretDB 1.24 reads only a string `_id` from its
    /// primary key, and a room is looked up by its pair whenever a chat socket opens.
    #[serde(rename = "_id")]
    pub pair: String,
    /// The id clients see (`chat_id`).
    pub id: ChatId,
    pub user_a: UserId,
    pub user_b: UserId,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
    /// Highest message id `user_a` has marked read.
    #[serde(default)]
    pub read_a: MessageId,
    #[serde(default)]
    pub read_b: MessageId,
}

impl ChatDoc {
    pub fn pair_key(a: UserId, b: UserId) -> String {
        crate::graph::pair_key(a, b)
    }

    pub fn has_member(&self, user: UserId) -> bool {
        self.user_a == user || self.user_b == user
    }

    /// The participant who is not `user`.
    pub fn other(&self, user: UserId) -> UserId {
        if self.user_a == user {
            self.user_b
        } else {
            self.user_a
        }
    }

    /// Highest message id `user` has read.
    pub fn read_by(&self, user: UserId) -> MessageId {
        if self.user_a == user {
            self.read_a
        } else {
            self.read_b
        }
    }

    /// Name of the read-marker field of `user`.
    pub fn read_field(&self, user: UserId) -> &'static str {
        if self.user_a == user {
            "read_a"
        } else {
            "read_b"
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MessageDoc {
    #[serde(rename = "_id")]
    pub id: MessageId,
    pub chat_id: ChatId,
    pub sender: UserId,
    pub text: String,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
}

/// The newest message of a room, written after each stored batch. Kept apart from the
/// room with a string `_id` (the room id in decimal) because this document is written on
/// the hot path. FerretDB 1.24 hands only an equality on a string `_id` to SQLite and
/// decodes every document for any other filter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActivityDoc {
    #[serde(rename = "_id")]
    pub key: String,
    pub chat_id: ChatId,
    pub last_message_id: MessageId,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub last_activity: DateTime<Utc>,
}

impl ActivityDoc {
    /// The `_id` of a room's activity document.
    pub fn key(chat_id: ChatId) -> String {
        chat_id.0.to_string()
    }
}
