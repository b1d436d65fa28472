//! Integer id newtypes and the allocator that hands them out.
//!
//! Clients address every object by a sequential integer (`"post": 12`), so each collection
//! has a counter document in `counters`. The allocator reserves a block of ids with one
//! `findAndModify` + `$inc` and hands them out from memory, so hot paths (chat messages)
//! do not pay a round trip per id. Ids are never reused: a block that a crash abandons
//! leaves a gap.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use bson::doc;
use mongodb::options::ReturnDocument;
use mongodb::Database;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::store::StoreError;

macro_rules! id_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for bson::Bson {
            fn from(id: $name) -> Self {
                bson::Bson::Int64(id.0)
            }
        }
    };
}

id_newtype!(
    /// Id of a user account (learner, mentor or company).
    UserId
);
id_newtype!(
    /// Id of a chat room shared by two users.
    ChatId
);
id_newtype!(
    /// Id of a stored chat message; ids grow in the order messages were accepted.
    MessageId
);
id_newtype!(
    /// Id of a stored notification.
    NotificationId
);
id_newtype!(
    /// Id of an experience, education or certification entry on a profile.
    EntryId
);
id_newtype!(
    /// Id of a connection request between two users.
    ConnectionId
);

/// Collections whose documents get integer ids, named as the counter documents are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sequence {
    Users,
    Experiences,
    Educations,
    Certifications,
    Connections,
    Follows,
    Chats,
    Messages,
    Notifications,
}

impl Sequence {
    /// Name of the counter document, equal to the collection name.
    pub fn name(self) -> &'static str {
        match self {
            Sequence::Users => "users",
            Sequence::Experiences => "experiences",
            Sequence::Educations => "educations",
            Sequence::Certifications => "certifications",
            Sequence::Connections => "connections",
            Sequence::Follows => "follows",
            Sequence::Chats => "chats",
            Sequence::Messages => "messages",
            Sequence::Notifications => "notifications",
        }
    }

    /// Ids reserved per round trip. Large blocks only where ids are allocated at a high
    /// rate, so that restarts leave small gaps elsewhere.
    fn block_size(self) -> i64 {
        match self {
            Sequence::Messages => 1000,
            Sequence::Notifications => 100,
            _ => 1,
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Block {
    next: i64,
    end: i64,
}

/// Hands out ids per [`Sequence`]; cheap to clone, shared by every actor of one server.
#[derive(Clone)]
pub struct IdAllocator {
    db: Database,
    blocks: Arc<Mutex<HashMap<Sequence, Block>>>,
}

impl IdAllocator {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            blocks: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Returns the next unused id of `sequence`.
    ///
    /// # Errors
    /// A [`StoreError`] when the counter cannot be advanced.
    pub async fn next(&self, sequence: Sequence) -> Result<i64, StoreError> {
        let mut blocks = self.blocks.lock().await;
        let block = blocks.entry(sequence).or_default();
        if block.next >= block.end {
            let size = sequence.block_size();
            let end = self.reserve(sequence, size).await?;
            *block = Block {
                next: end - size + 1,
                end: end + 1,
            };
        }
        let id = block.next;
        block.next += 1;
        Ok(id)
    }

    /// The highest id of `sequence` this process has handed out, 0 if none yet.
    pub async fn issued_max(&self, sequence: Sequence) -> i64 {
        self.blocks
            .lock()
            .await
            .get(&sequence)
            .map_or(0, |block| block.next - 1)
    }

    /// Reserves `count` consecutive ids of `sequence` with one round trip, for bulk loads.
    ///
    /// # Errors
    /// A [`StoreError`] when the counter cannot be advanced.
    pub async fn reserve_range(
        &self,
        sequence: Sequence,
        count: i64,
    ) -> Result<std::ops::Range<i64>, StoreError> {
        let end = self.reserve(sequence, count).await?;
        Ok(end - count + 1..end + 1)
    }

    /// Advances the counter by `size` and returns its new value, the last reserved id.
    async fn reserve(&self, sequence: Sequence, size: i64) -> Result<i64, StoreError> {
        let counter = self
            .db
            .collection::<bson::Document>("counters")
            .find_one_and_update(
                doc! { "_id": sequence.name() },
                doc! { "$inc": { "seq": size } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await?
            .ok_or(StoreError::Inconsistent(
                "counter upsert returned no document",
            ))?;
        counter
            .get_i64("seq")
            .or_else(|_| counter.get_i32("seq").map(i64::from))
            .map_err(|_| StoreError::Inconsistent("counter value is not an integer"))
    }

    /// Raises the counter of `sequence` to at least `floor`, so that ids loaded from
    /// fixtures are never handed out again.
    ///
    /// # Errors
    /// A [`StoreError`] when the counter cannot be read or written.
    pub async fn raise_to(&self, sequence: Sequence, floor: i64) -> Result<(), StoreError> {
        let counters = self.db.collection::<bson::Document>("counters");
        counters
            .update_one(
                doc! { "_id": sequence.name() },
                doc! { "$setOnInsert": { "seq": floor } },
            )
            .upsert(true)
            .await?;
        counters
            .update_one(
                doc! { "_id": sequence.name(), "seq": { "$lt": floor } },
                doc! { "$set": { "seq": floor } },
            )
            .await?;
        self.blocks.lock().await.remove(&sequence);
        Ok(())
    }
}
