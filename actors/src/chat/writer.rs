//! The chat writer: stores live chat messages in batches, then hands each stored batch
//! to the registry for fan-out.
//!
//! Messages wait at most `chat_flush_interval_ms`, or less once `chat_batch_max` are
//! waiting, and are stored with one `insert_many`. Batches are stored one at a time and
//! ids are assigned in arrival order, so the stored ids of a room always form a prefix of
//! the ids handed out: a client that syncs after message N never skips a message that is
//! stored later. A sender learns its message was stored when the echo arrives; a failed
//! batch answers each of its senders with an error instead.

use std::collections::BTreeMap;
use std::time::Duration;

use actix::prelude::*;
use bson::doc;
use chrono::Utc;
use tokio::sync::oneshot;

use super::documents::{ActivityDoc, MessageDoc};
use super::ChatError;
use crate::config::RealtimeConfig;
use crate::ids::{ChatId, MessageId, Sequence, UserId};
use crate::realtime::frames::{encode, ServerFrame};
use crate::realtime::registry::{ChatBatchStored, ChatRegistry, StoredChatFrame};
use crate::store::{Store, StoreError, CHAT_ACTIVITY, MESSAGES};

/// Statements per `update` command when the room markers move.
const ACTIVITY_STATEMENTS_PER_COMMAND: usize = 32;
use crate::users::format_timestamp;

/// A chat message from a socket, to be stored and then delivered to the room. Replies
/// once the message is stored (or could not be).
#[derive(Debug, Message)]
#[rtype(result = "Result<MessageId, ChatError>")]
pub struct PostChatMessage {
    pub chat_id: ChatId,
    pub sender: UserId,
    pub sender_email: String,
    pub sender_name: String,
    pub recipient: UserId,
    pub text: String,
}

struct Pending {
    message: PostChatMessage,
    reply: oneshot::Sender<Result<MessageId, ChatError>>,
}

/// See the module docs.
pub struct ChatWriter {
    store: Store,
    registry: Addr<ChatRegistry>,
    batch_max: usize,
    flush_interval: Duration,
    max_pending: usize,
    queue: Vec<Pending>,
    flushing: bool,
    timer: Option<SpawnHandle>,
}

impl ChatWriter {
    pub fn new(store: Store, registry: Addr<ChatRegistry>, config: &RealtimeConfig) -> Self {
        Self {
            store,
            registry,
            batch_max: config.chat_batch_max.max(1),
            flush_interval: Duration::from_millis(config.chat_flush_interval_ms),
            max_pending: config.chat_max_pending.max(1),
            queue: Vec::new(),
            flushing: false,
            timer: None,
        }
    }

    /// Starts storing the next batch unless one is being stored.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        if let Some(timer) = self.timer.take() {
            ctx.cancel_future(timer);
        }
        if self.flushing || self.queue.is_empty() {
            return;
        }
        self.flushing = true;
        let take = self.queue.len().min(self.batch_max);
        let batch: Vec<Pending> = self.queue.drain(..take).collect();
        let store = self.store.clone();
        let registry = self.registry.clone();
        let work = store_batch(store, registry, batch);
        ctx.spawn(
            actix::fut::wrap_future(work).map(|(), writer: &mut Self, ctx| {
                writer.flushing = false;
                // Messages that arrived meanwhile have waited a whole round trip already.
                writer.flush(ctx);
            }),
        );
    }

    /// Flushes at once when a full batch waits, else after the flush interval.
    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if self.queue.len() >= self.batch_max {
            self.flush(ctx);
        } else if !self.queue.is_empty() && self.timer.is_none() && !self.flushing {
            self.timer = Some(ctx.run_later(self.flush_interval, |writer, ctx| {
                writer.timer = None;
                writer.flush(ctx);
            }));
        }
    }
}

impl Actor for ChatWriter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(self.max_pending);
        log::debug!("chat writer started batch_max={}", self.batch_max);
    }
}

impl Handler<PostChatMessage> for ChatWriter {
    type Result = ResponseFuture<Result<MessageId, ChatError>>;

    fn handle(&mut self, message: PostChatMessage, ctx: &mut Self::Context) -> Self::Result {
        if self.queue.len() >= self.max_pending {
            log::warn!(
                "chat writer queue full, message refused chat_id={}",
                message.chat_id
            );
            return Box::pin(async { Err(ChatError::Busy) });
        }
        let (reply, stored) = oneshot::channel();
        self.queue.push(Pending { message, reply });
        self.schedule(ctx);
        Box::pin(async move { stored.await.unwrap_or(Err(ChatError::Busy)) })
    }
}

/// Assigns ids, stores the batch, moves each room's last-message marker, publishes the
/// frames and answers the senders.
async fn store_batch(store: Store, registry: Addr<ChatRegistry>, batch: Vec<Pending>) {
    let now = Utc::now();
    let mut documents = Vec::with_capacity(batch.len());
    for pending in &batch {
        let id = match store.ids().next(Sequence::Messages).await {
            Ok(id) => MessageId(id),
            Err(error) => {
                log::error!(
                    "could not allocate chat message ids count={}: {error}",
                    batch.len()
                );
                return fail_all(batch);
            }
        };
        documents.push(MessageDoc {
            id,
            chat_id: pending.message.chat_id,
            sender: pending.message.sender,
            text: pending.message.text.clone(),
            created_at: now,
        });
    }

    if let Err(error) = insert_and_mark(&store, &documents).await {
        log::error!(
            "could not store chat batch count={}: {error}",
            documents.len()
        );
        // Remove whatever part of the batch was stored, so that a message reported as
        // failed never shows up in history or sync.
        let ids: Vec<i64> = documents.iter().map(|document| document.id.0).collect();
        if let Err(cleanup) = store
            .collection::<MessageDoc>(MESSAGES)
            .delete_many(doc! { "_id": { "$in": ids } })
            .await
        {
            log::error!("could not remove a partly stored chat batch: {cleanup}");
        }
        return fail_all(batch);
    }

    let timestamp = format_timestamp(now);
    let frames: Vec<StoredChatFrame> = batch
        .iter()
        .zip(&documents)
        .map(|(pending, document)| StoredChatFrame {
            chat_id: document.chat_id,
            sender: document.sender,
            recipient: pending.message.recipient,
            sender_name: pending.message.sender_name.clone(),
            frame: encode(&ServerFrame::ChatMessage {
                user_id: document.sender,
                email: &pending.message.sender_email,
                message: &document.text,
                timestamp: &timestamp,
                message_id: document.id,
                chat_id: document.chat_id,
            }),
        })
        .collect();
    if let Err(error) = registry.send(ChatBatchStored { messages: frames }).await {
        // Stored but not delivered live; clients get these messages with `sync`.
        log::error!("chat registry unavailable, batch not delivered live: {error}");
    }
    for (pending, document) in batch.into_iter().zip(&documents) {
        let _ = pending.reply.send(Ok(document.id));
    }
}

async fn insert_and_mark(store: &Store, documents: &[MessageDoc]) -> Result<(), StoreError> {
    let inserted = store
        .collection::<MessageDoc>(MESSAGES)
        .insert_many(documents)
        .ordered(true)
        .await;
    if let Err(error) = inserted {
        // The driver retries an insert whose answer was lost; a retry then finds the
        // documents of the first attempt. Ids are never handed out twice, so a duplicate
        // key here means the message is stored.
        let error = StoreError::from(error);
        if !error.is_only_duplicate_keys() {
            return Err(error);
        }
        log::warn!(
            "chat batch was stored by an earlier attempt count={}",
            documents.len()
        );
    }
    // The newest message of each room in this batch becomes its last message. Batches
    // are stored one at a time with growing ids, so no newer marker can be overwritten.
    let mut newest: BTreeMap<ChatId, &MessageDoc> = BTreeMap::new();
    for document in documents {
        newest.insert(document.chat_id, document);
    }
    let updates: Vec<bson::Document> = newest
        .values()
        .map(|document| {
            doc! {
                "q": { "_id": ActivityDoc::key(document.chat_id) },
                "u": { "$set": {
                    "chat_id": document.chat_id,
                    "last_message_id": document.id,
                    "last_activity": bson::DateTime::from_chrono(document.created_at),
                } },
                "upsert": true,
            }
        })
        .collect();
    // One `update` command carries many statements, so a batch costs a few round trips.
    // NOTE: FerretDB 1.24 holds one of its 100 SQLite connections per statement until the
    // command ends, and hangs when a command has about 100 statements; hence the chunks.
    for chunk in updates.chunks(ACTIVITY_STATEMENTS_PER_COMMAND) {
        let reply = store
            .database()
            .run_command(
                doc! { "update": CHAT_ACTIVITY, "updates": chunk.to_vec(), "ordered": false },
            )
            .await?;
        if reply.contains_key("writeErrors") {
            log::error!("room markers not moved: {:?}", reply.get("writeErrors"));
            return Err(StoreError::Inconsistent(
                "room markers could not be written",
            ));
        }
    }
    Ok(())
}

fn fail_all(batch: Vec<Pending>) {
    for pending in batch {
        let _ = pending.reply.send(Err(ChatError::NotStored));
    }
}
