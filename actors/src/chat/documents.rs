//! Stored chat rooms and messages.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChatId, MessageId, UserId};

/// A room shared by two users; one per unordered pair (`user_a < user_b`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChatDoc {
    #[serde(rename = "_id")]
    pub id: ChatId,
    /// `"{user_a}:{user_b}"`, unique, so two concurrent creations yield one room.
    pub pair: String,
    pub user_a: UserId,
    pub user_b: UserId,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
    /// Id of the newest stored message, 0 while the room is empty.
    #[serde(default)]
    pub last_message_id: MessageId,
    /// Time of the newest message, or creation while the room is empty.
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub last_activity: DateTime<Utc>,
    /// Highest message id `user_a` has marked read.
    #[serde(default)]
    pub read_a: MessageId,
    #[serde(default)]
    pub read_b: MessageId,
}

impl ChatDoc {
    pub fn pair_key(a: UserId, b: UserId) -> String {
        let (low, high) = if a < b { (a, b) } else { (b, a) };
        format!("{low}:{high}")
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
