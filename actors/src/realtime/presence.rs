//! Presence: a user is online while any socket of theirs is open. When the first socket
//! opens or the last one closes, the users they share a chat room with get a `presence`
//! frame on their notification sockets, and going offline stores `last_seen`.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix::prelude::*;
use bson::doc;
use chrono::{DateTime, Utc};

use super::frames::{encode, ServerFrame};
use super::registry::{AttachRegistry, DeliverToUsers, UserChannel};
use crate::chat::partners_of_many;
use crate::ids::UserId;
use crate::store::{Store, StoreError, USERS};
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
    /// Users whose `last_seen` is to be stored.
    pending_last_seen: Vec<UserId>,
    /// Whether a flush is scheduled or its database work is under way; flushes run one
    /// at a time so that their writes never compete for the database.
    flush_scheduled: bool,
}

/// How long presence changes are gathered before their database work is done in one
/// query; bursts of connections then cost one query per batch instead of one per user.
const BATCH_WINDOW: Duration = Duration::from_millis(100);

/// Statements per `update` command that stores `last_seen`.
const LAST_SEEN_STATEMENTS_PER_COMMAND: usize = 32;

impl Presence {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            registry: None,
            online: HashSet::new(),
            partners: HashMap::new(),
            pending_lookups: HashMap::new(),
            pending_last_seen: Vec::new(),
            flush_scheduled: false,
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
        self.pending_last_seen.push(user_id);
        match self.partners.remove(&user_id) {
            Some(partners) => self.announce(user_id, false, Some(now), partners),
            // The partners were not loaded yet; announce once they are.
            None => {
                self.pending_lookups.insert(user_id, Some(now));
            }
        }
        self.schedule_flush(ctx);
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
        let departed: Vec<UserId> = std::mem::take(&mut self.pending_last_seen);
        let departed_count = departed.len();
        let store = self.store.clone();
        let users: Vec<UserId> = lookups.keys().copied().collect();
        let now = Utc::now();
        let work = async move {
            // One statement per user, found by key: on FerretDB an `$in` update scans every
            // user while it holds SQLite's single writer, which starved the chat inserts.
            // A few statements per command, because FerretDB 1.24 hangs on commands of
            // about 100 statements.
            let seen = bson::DateTime::from_chrono(now);
            for chunk in departed.chunks(LAST_SEEN_STATEMENTS_PER_COMMAND) {
                let updates: Vec<bson::Document> = chunk
                    .iter()
                    .map(|id| doc! { "q": { "_id": user_key(*id) }, "u": { "$set": { "last_seen": seen } } })
                    .collect();
                let command = doc! { "update": USERS, "updates": updates, "ordered": false };
                store
                    .database()
                    .run_command(command)
                    .await
                    .map_err(StoreError::from)?;
            }
            partners_of_many(&store, &users).await
        };
        ctx.spawn(
            actix::fut::wrap_future(work).map(move |result, presence: &mut Self, ctx| {
                presence.flush_scheduled = false;
                if !presence.pending_lookups.is_empty() || !presence.pending_last_seen.is_empty() {
                    presence.schedule_flush(ctx);
                }
                let mut partners = match result {
                    Ok(partners) => partners,
                    Err(error) => {
                        log::error!(
                            "presence batch failed arrivals={} departures={departed_count}: {error}",
                            lookups.len()
                        );
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
        let online: Vec<bool> = query
            .user_ids
            .iter()
            .map(|id| self.online.contains(id))
            .collect();
        let store = self.store.clone();
        Box::pin(async move {
            let users = find_users(&store, &query.user_ids).await?;
            Ok(query
                .user_ids
                .iter()
                .zip(online)
                .map(|(id, online)| PresenceView {
                    user_id: *id,
                    exists: users.contains_key(id),
                    online,
                    last_seen: users.get(id).and_then(|user| user.last_seen),
                })
                .collect())
        })
    }
}
