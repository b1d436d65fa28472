//! Presence: a user is online while any socket of theirs is open. When the first socket
//! opens or the last one closes, the users they share a chat room with get a `presence`
//! frame on their notification sockets, and going offline records `last_seen`.
//!
//! `last_seen` is kept in memory and saved every few seconds to the `last_seen`
//! collection with one delete and one insert, because on FerretDB 1.24 each update of
//! an existing document costs time in proportion to its collection.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix::prelude::*;
use bson::doc;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;

use super::frames::{encode, ServerFrame};
use super::registry::{AttachRegistry, DeliverToUsers, UserChannel};
use crate::chat::partners_of_many;
use crate::ids::UserId;
use crate::store::{Store, StoreError, LAST_SEEN};
use crate::users::{find_users, format_timestamp, user_key};

/// Sent by the registry when a user's first socket opened or last socket closed.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct PresenceChanged {
    pub user_id: UserId,
    pub online: bool,
}

/// Sent by the chat actor when a room is created, so the cached partner lists stay
/// complete.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ChatPartnersAdded {
    pub user_a: UserId,
    pub user_b: UserId,
}

/// The presence of one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceView {
    pub user_id: UserId,
    /// Whether an account with this id exists.
    pub exists: bool,
    pub online: bool,
    /// When the user's last socket closed; `None` if never seen or unknown.
    pub last_seen: Option<DateTime<Utc>>,
}

/// Returns the presence of each user in `user_ids`, in the same order.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<PresenceView>, StoreError>")]
pub struct GetPresence {
    pub user_ids: Vec<UserId>,
}

/// See the module docs.
pub struct Presence {
    store: Store,
    registry: Option<Recipient<DeliverToUsers>>,
    online: HashSet<UserId>,
    /// Chat partners of online users, loaded when they come online.
    partners: HashMap<UserId, Vec<UserId>>,
    /// Users whose partners are to be loaded, with the time they went offline if they
    /// already did.
    pending_lookups: HashMap<UserId, Option<DateTime<Utc>>>,
    /// Whether a lookup batch is scheduled or under way; batches run one at a time.
    flush_scheduled: bool,
    /// `last_seen` of users who left, not saved yet.
    unsaved_last_seen: HashMap<UserId, DateTime<Utc>>,
    /// `last_seen` values being saved now; still read from here until the save ends.
    saving_last_seen: HashMap<UserId, DateTime<Utc>>,
    save_scheduled: bool,
}

/// Time between two saves of `last_seen`; a crash loses at most this much of it.
const LAST_SEEN_SAVE_INTERVAL: Duration = Duration::from_secs(5);

/// A saved `last_seen`, keyed by [`user_key`].
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct LastSeenDoc {
    #[serde(rename = "_id")]
    key: String,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    at: DateTime<Utc>,
}

/// How long presence changes are gathered before their database work is done in one
/// query; bursts of connections then cost one query per batch instead of one per user.
const BATCH_WINDOW: Duration = Duration::from_millis(100);

impl Presence {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            registry: None,
            online: HashSet::new(),
            partners: HashMap::new(),
            pending_lookups: HashMap::new(),
            flush_scheduled: false,
            unsaved_last_seen: HashMap::new(),
            saving_last_seen: HashMap::new(),
            save_scheduled: false,
        }
    }

    fn announce(
        &self,
        user_id: UserId,
        online: bool,
        last_seen: Option<DateTime<Utc>>,
        partners: Vec<UserId>,
    ) {
        let Some(registry) = &self.registry else {
            return;
        };
        if partners.is_empty() {
            return;
        }
        let last_seen = last_seen.map(format_timestamp);
        let frame = encode(&ServerFrame::Presence {
            user_id,
            online,
            last_seen: last_seen.as_deref(),
        });
        let delivery = DeliverToUsers {
            user_ids: partners,
            channel: UserChannel::Notifications,
            frame,
        };
        if let Err(error) = registry.try_send(delivery) {
            log::warn!("presence frame dropped user_id={user_id}: {error}");
        }
    }

    fn went_online(&mut self, user_id: UserId, ctx: &mut Context<Self>) {
        self.online.insert(user_id);
        self.pending_lookups.insert(user_id, None);
        self.schedule_flush(ctx);
    }

    fn went_offline(&mut self, user_id: UserId, ctx: &mut Context<Self>) {
        self.online.remove(&user_id);
        let now = Utc::now();
        self.unsaved_last_seen.insert(user_id, now);
        self.schedule_save(ctx);
        match self.partners.remove(&user_id) {
            Some(partners) => self.announce(user_id, false, Some(now), partners),
            // The partners were not loaded yet; announce once they are.
            None => {
                self.pending_lookups.insert(user_id, Some(now));
                self.schedule_flush(ctx);
            }
        }
    }

    fn schedule_flush(&mut self, ctx: &mut Context<Self>) {
        if !self.flush_scheduled {
            self.flush_scheduled = true;
            ctx.run_later(BATCH_WINDOW, |presence, ctx| presence.flush(ctx));
        }
    }

    /// Loads the partners of the waiting users and stores `last_seen` of those who left,
    /// one query each, then announces.
    fn flush(&mut self, ctx: &mut Context<Self>) {
        let lookups: HashMap<UserId, Option<DateTime<Utc>>> =
            std::mem::take(&mut self.pending_lookups);
        let store = self.store.clone();
        if lookups.is_empty() {
            self.flush_scheduled = false;
            return;
        }
        let users: Vec<UserId> = lookups.keys().copied().collect();
        let work = async move { partners_of_many(&store, &users).await };
        ctx.spawn(
            actix::fut::wrap_future(work).map(move |result, presence: &mut Self, ctx| {
                presence.flush_scheduled = false;
                if !presence.pending_lookups.is_empty() {
                    presence.schedule_flush(ctx);
                }
                let mut partners = match result {
                    Ok(partners) => partners,
                    Err(error) => {
                        log::error!("presence lookup failed users={}: {error}", lookups.len());
                        return;
                    }
                };
                for (user_id, left_at) in lookups {
                    let list = partners.remove(&user_id).unwrap_or_default();
                    match left_at {
                        Some(left_at) if !presence.online.contains(&user_id) => {
                            presence.announce(user_id, false, Some(left_at), list);
                        }
                        _ if presence.online.contains(&user_id) => {
                            presence.partners.insert(user_id, list.clone());
                            presence.announce(user_id, true, None, list);
                        }
                        _ => {}
                    }
                }
            }),
        );
    }

    fn schedule_save(&mut self, ctx: &mut Context<Self>) {
        if self.save_scheduled || self.unsaved_last_seen.is_empty() {
            return;
        }
        self.save_scheduled = true;
        ctx.run_later(LAST_SEEN_SAVE_INTERVAL, |presence, ctx| {
            presence.save_last_seen(ctx)
        });
    }

    /// Replaces the saved `last_seen` of every user who left since the last save.
    fn save_last_seen(&mut self, ctx: &mut Context<Self>) {
        self.saving_last_seen = std::mem::take(&mut self.unsaved_last_seen);
        let documents: Vec<LastSeenDoc> = self
            .saving_last_seen
            .iter()
            .map(|(id, at)| LastSeenDoc {
                key: user_key(*id),
                at: *at,
            })
            .collect();
        let collection = self.store.collection::<LastSeenDoc>(LAST_SEEN);
        let work = async move {
            let keys: Vec<&str> = documents.iter().map(|doc| doc.key.as_str()).collect();
            collection
                .delete_many(doc! { "_id": { "$in": keys } })
                .await?;
            collection.insert_many(&documents).ordered(false).await?;
            Ok::<(), mongodb::error::Error>(())
        };
        ctx.spawn(
            actix::fut::wrap_future(work).map(|result, presence: &mut Self, ctx| {
                let saved = std::mem::take(&mut presence.saving_last_seen);
                if let Err(error) = result {
                    log::error!("last_seen not saved users={}: {error}", saved.len());
                    // Keep the newer of a failed value and one recorded meanwhile.
                    for (user_id, at) in saved {
                        let entry = presence.unsaved_last_seen.entry(user_id).or_insert(at);
                        *entry = (*entry).max(at);
                    }
                }
                presence.save_scheduled = false;
                presence.schedule_save(ctx);
            }),
        );
    }

    /// `last_seen` known in memory: recorded and not saved, or being saved.
    fn recent_last_seen(&self, user_id: UserId) -> Option<DateTime<Utc>> {
        self.unsaved_last_seen
            .get(&user_id)
            .or_else(|| self.saving_last_seen.get(&user_id))
            .copied()
    }
}

impl Actor for Presence {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(65_536);
    }
}

impl Handler<AttachRegistry> for Presence {
    type Result = ();

    fn handle(&mut self, message: AttachRegistry, _: &mut Self::Context) {
        self.registry = Some(message.0);
    }
}

impl Handler<PresenceChanged> for Presence {
    type Result = ();

    fn handle(&mut self, change: PresenceChanged, ctx: &mut Self::Context) {
        if change.online {
            self.went_online(change.user_id, ctx);
        } else {
            self.went_offline(change.user_id, ctx);
        }
    }
}

impl Handler<ChatPartnersAdded> for Presence {
    type Result = ();

    fn handle(&mut self, added: ChatPartnersAdded, _: &mut Self::Context) {
        for (user, partner) in [(added.user_a, added.user_b), (added.user_b, added.user_a)] {
            if let Some(partners) = self.partners.get_mut(&user) {
                if !partners.contains(&partner) {
                    partners.push(partner);
                }
            }
        }
    }
}

impl Handler<GetPresence> for Presence {
    type Result = ResponseFuture<Result<Vec<PresenceView>, StoreError>>;

    fn handle(&mut self, query: GetPresence, _: &mut Self::Context) -> Self::Result {
        let known: Vec<(bool, Option<DateTime<Utc>>)> = query
            .user_ids
            .iter()
            .map(|id| (self.online.contains(id), self.recent_last_seen(*id)))
            .collect();
        let store = self.store.clone();
        Box::pin(async move {
            let users = find_users(&store, &query.user_ids).await?;
            let keys: Vec<String> = query.user_ids.iter().map(|id| user_key(*id)).collect();
            let filter = match keys.as_slice() {
                [key] => doc! { "_id": key },
                _ => doc! { "_id": { "$in": keys } },
            };
            let saved: HashMap<String, DateTime<Utc>> = store
                .collection::<LastSeenDoc>(LAST_SEEN)
                .find(filter)
                .await?
                .try_collect::<Vec<LastSeenDoc>>()
                .await?
                .into_iter()
                .map(|doc| (doc.key, doc.at))
                .collect();
            Ok(query
                .user_ids
                .iter()
                .zip(known)
                .map(|(id, (online, recent))| PresenceView {
                    user_id: *id,
                    exists: users.contains_key(id),
                    online,
                    last_seen: recent.or_else(|| saved.get(&user_key(*id)).copied()),
                })
                .collect())
        })
    }
}
