//! The chat writer: stores live chat messages in batches, then hands each stored batch
//! to the registry for fan-out.
//!
//! Messages wait at most `chat_flush_interval_ms`, or less once `chat_batch_max` are
//! waiting, and are stored with one `insert_many`. Batches are stored one at a time and
//! ids are assigned in arrival order, so the stored ids of a room always form a prefix of
//! the ids handed out: a client that syncs after message N never skips a message that is
//! stored later. A sender learns its message was stored when the echo arrives; a failed
//! batch answers each of its senders with an error instead.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use actix::prelude::*;
use bson::doc;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::documents::{ActivityDoc, MessageDoc};
use super::ChatError;
use crate::config::RealtimeConfig;
use crate::ids::{ChatId, MessageId, Sequence, UserId};
use crate::realtime::frames::{encode, ServerFrame};
use crate::realtime::registry::{ChatBatchStored, ChatRegistry, StoredChatFrame};
use crate::store::{Store, StoreError, CHAT_ACTIVITY, MESSAGES};

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
    /// Newest message per room stored since start; the room list reads it through
    /// [`LatestMarkers`], so it is current even while the stored markers lag.
    latest: BTreeMap<ChatId, Marker>,
    /// Markers not written to the database yet.
    markers: BTreeMap<ChatId, Marker>,
    /// Whether a marker write is scheduled or under way.
    markers_busy: bool,
    /// How long the last marker write took.
    last_marker_write: Duration,
}

/// The newest message of a room, for its activity document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub message_id: MessageId,
    pub at: DateTime<Utc>,
}

/// Shortest time between two marker writes. Markers are written apart from the
/// messages, once per room per write, so that a burst of messages costs one marker write
/// per room. Until a marker is written it exists only in this process, so a crash loses
/// it until the room's next message.
const MARKER_FLUSH_INTERVAL: Duration = Duration::from_millis(1000);

/// The next marker write waits at least this many times as long as the previous one took,
/// so marker writes take about a twentieth of the database's time. FerretDB 1.24 runs one
/// write at a time. With 5,000 active rooms and a factor of 4, the marker writes raised
/// the p99 of message delivery in `scripts/bench.sh chat 10000 10000` from 23 to 80 ms.
const MARKER_WRITE_SPACING: u32 = 20;

/// Returns the newest message stored since start for each of `rooms` that had one; sent
/// by the chat actor when it lists rooms.
#[derive(Debug, Message)]
#[rtype(result = "HashMap<ChatId, Marker>")]
pub struct LatestMarkers {
    pub rooms: Vec<ChatId>,
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
            latest: BTreeMap::new(),
            markers: BTreeMap::new(),
            markers_busy: false,
            last_marker_write: Duration::ZERO,
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
            actix::fut::wrap_future(work).map(|stored, writer: &mut Self, ctx| {
                writer.flushing = false;
                writer.note_markers(stored);
                writer.schedule_markers(ctx);
                // Messages that arrived meanwhile have waited a whole round trip already.
                writer.flush(ctx);
            }),
        );
    }

    fn note_markers(&mut self, stored: Vec<(ChatId, Marker)>) {
        for (chat_id, marker) in stored {
            keep_newest(&mut self.markers, chat_id, marker);
            keep_newest(&mut self.latest, chat_id, marker);
        }
    }

    fn schedule_markers(&mut self, ctx: &mut Context<Self>) {
        if self.markers_busy || self.markers.is_empty() {
            return;
        }
        self.markers_busy = true;
        let wait = MARKER_FLUSH_INTERVAL.max(self.last_marker_write * MARKER_WRITE_SPACING);
        ctx.run_later(wait, |writer, ctx| {
            let markers = std::mem::take(&mut writer.markers);
            let started = std::time::Instant::now();
            let work = write_markers(writer.store.clone(), markers);
            ctx.spawn(
                actix::fut::wrap_future(work).map(move |failed, writer: &mut Self, ctx| {
                    writer.markers_busy = false;
                    writer.last_marker_write = started.elapsed();
                    // Markers that could not be written are tried again with the next ones.
                    for (chat_id, marker) in failed {
                        keep_newest(&mut writer.markers, chat_id, marker);
                    }
                    writer.schedule_markers(ctx);
                }),
            );
        });
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

/// Records `marker` for its room unless the map has a newer one.
fn keep_newest(map: &mut BTreeMap<ChatId, Marker>, chat_id: ChatId, marker: Marker) {
    let entry = map.entry(chat_id).or_insert(marker);
    if marker.message_id > entry.message_id {
        *entry = marker;
    }
}

impl Handler<LatestMarkers> for ChatWriter {
    type Result = MessageResult<LatestMarkers>;

    fn handle(&mut self, request: LatestMarkers, _: &mut Self::Context) -> Self::Result {
        let found = request
            .rooms
            .iter()
            .filter_map(|chat_id| self.latest.get(chat_id).map(|marker| (*chat_id, *marker)))
            .collect();
        MessageResult(found)
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

/// Assigns ids, stores the batch, publishes the frames and answers the senders. Returns
/// the newest message of each room, for its marker.
async fn store_batch(
    store: Store,
    registry: Addr<ChatRegistry>,
    batch: Vec<Pending>,
) -> Vec<(ChatId, Marker)> {
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
                fail_all(batch);
                return Vec::new();
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

    if let Err(error) = insert(&store, &documents).await {
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
        fail_all(batch);
        return Vec::new();
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
            message_id: document.id,
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
    documents
        .iter()
        .map(|document| {
            let marker = Marker {
                message_id: document.id,
                at: document.created_at,
            };
            (document.chat_id, marker)
        })
        .collect()
}

async fn insert(store: &Store, documents: &[MessageDoc]) -> Result<(), StoreError> {
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
    Ok(())
}

/// Replaces the markers of the given rooms; returns the markers that could not be
/// written.
///
/// The old markers are deleted and the new ones inserted, two commands for any number of
/// rooms, instead of one upsert per room: FerretDB 1.24 runs each upsert statement in a
/// transaction of its own (about 1.6 ms here) and holds SQLite's write lock meanwhile,
/// which stalled message inserts.
// NOTE: between the two commands, and after a crash between them, the rooms have no
// marker; the room list then shows no last message for them until their next message.
// NOTE: with 5,000 active rooms one write took about half a second on FerretDB 1.24
// here, and message inserts waited up to 40 ms behind it. Chunked writes waited as long,
// so the writes are spaced out instead (see `MARKER_WRITE_SPACING`).
async fn write_markers(
    store: Store,
    markers: BTreeMap<ChatId, Marker>,
) -> BTreeMap<ChatId, Marker> {
    let activity = store.collection::<ActivityDoc>(CHAT_ACTIVITY);
    let documents: Vec<ActivityDoc> = markers
        .iter()
        .map(|(chat_id, marker)| ActivityDoc {
            key: ActivityDoc::key(*chat_id),
            chat_id: *chat_id,
            last_message_id: marker.message_id,
            last_activity: marker.at,
        })
        .collect();
    let keys: Vec<&str> = documents
        .iter()
        .map(|document| document.key.as_str())
        .collect();
    let replaced = async {
        activity
            .delete_many(doc! { "_id": { "$in": keys } })
            .await?;
        activity.insert_many(&documents).ordered(false).await?;
        Ok::<(), mongodb::error::Error>(())
    };
    match replaced.await {
        Ok(()) => BTreeMap::new(),
        Err(error) => {
            log::error!("room markers not written count={}: {error}", markers.len());
            markers
        }
    }
}

fn fail_all(batch: Vec<Pending>) {
    for pending in batch {
        let _ = pending.reply.send(Err(ChatError::NotStored));
    }
}
