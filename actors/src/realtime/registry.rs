//! The chat-room registry: every open socket by id, by user, by chat room and by sign-in.
//!
//! Session actors report themselves here when they start and stop. The chat writer sends
//! each stored batch of messages, and the notifier and presence actors send frames for
//! users; the registry fans them out in memory with `try_send`, so delivering never
//! touches the database. A session whose mailbox is full is a client that stopped
//! reading: it is evicted (close code 1013) and recovers with `sync`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use bytestring::ByteString;

use super::presence::PresenceChanged;
use super::{CloseSockets, SocketTarget, CLOSE_SIGNED_OUT};
use crate::ids::{ChatId, MessageId, UserId};
use crate::notifications::ChatNotice;

/// Process-wide id of one socket.
pub type SocketId = u64;

/// What a socket receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// `/ws/chat/{other_user_id}/`: the messages of one room.
    Chat(ChatId),
    /// `/ws/notification/`: notifications and presence of chat partners.
    Notifications,
    /// `/ws/notification/jobs/`: alerts for new matching jobs.
    JobAlerts,
}

/// A message to a session actor from the registry.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub enum ToSocket {
    /// Text frames, each serialized once and shared by all recipients.
    Frames(Vec<OutFrame>),
    /// Close the socket with this code and reason.
    Close { code: u16, reason: &'static str },
}

/// One text frame on its way to a socket.
#[derive(Debug, Clone)]
pub struct OutFrame {
    pub text: ByteString,
    /// Id of a stored `chat_message`, `None` for other frames. A session replaying a
    /// backlog uses it to hold live messages back and skip those the replay wrote.
    pub message_id: Option<MessageId>,
}

impl OutFrame {
    /// Wraps a frame that is not a stored chat message.
    pub fn plain(text: ByteString) -> Self {
        Self {
            text,
            message_id: None,
        }
    }
}

/// How the registry reaches one session.
#[derive(Clone)]
pub struct SocketHandle {
    pub recipient: Recipient<ToSocket>,
    /// Frames sent to the session and not yet written by it: the registry adds, the
    /// session subtracts.
    pub queued: Arc<AtomicUsize>,
    /// Set by the registry when too many frames are queued. The session checks it
    /// whenever it runs and closes itself with 1013; its mailbox cannot carry the order
    /// because the session is not running.
    pub evicted: Arc<AtomicBool>,
}

/// Close code for a client too slow to read its frames (1013, "try again later").
pub const CLOSE_TOO_SLOW: u16 = 1013;

/// A session actor started; sent once from `started`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionStarted {
    pub socket_id: SocketId,
    pub user_id: UserId,
    /// The sign-in whose token opened the socket.
    pub session_id: String,
    pub channel: Channel,
    pub handle: SocketHandle,
}

/// A session actor stopped; sent once from `stopping`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct SessionStopped {
    pub socket_id: SocketId,
}

/// One stored chat message, ready to fan out.
#[derive(Debug, Clone)]
pub struct StoredChatFrame {
    pub chat_id: ChatId,
    pub sender: UserId,
    /// The other participant, notified when none of their sockets is in the room.
    pub recipient: UserId,
    pub sender_name: String,
    pub message_id: MessageId,
    /// The `chat_message` frame.
    pub frame: ByteString,
}

/// A batch of chat messages that is now stored; sent by the chat writer after each
/// `insert_many`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ChatBatchStored {
    pub messages: Vec<StoredChatFrame>,
}

/// Relays a frame that is not stored (typing, read receipt) to the sockets of the
/// room that belong to users other than `from_user`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct RelayToRoom {
    pub chat_id: ChatId,
    pub from_user: UserId,
    pub frame: ByteString,
}

/// Which per-user channel [`DeliverToUsers`] targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChannel {
    Notifications,
    JobAlerts,
}

/// Sends one frame to every socket of `channel` of each user.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DeliverToUsers {
    pub user_ids: Vec<UserId>,
    pub channel: UserChannel,
    pub frame: ByteString,
}

/// Gives an actor that sends frames to users (presence, notifier) the registry's
/// address, once both actors exist; the registry in turn holds their addresses.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachRegistry(pub Recipient<DeliverToUsers>);

/// Counts of what the registry holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryStats {
    pub sockets: usize,
    pub users: usize,
    pub rooms: usize,
    /// Sockets closed as too slow since start.
    pub evicted: u64,
}

/// Returns [`RegistryStats`].
#[derive(Message)]
#[rtype(result = "RegistryStats")]
pub struct GetRegistryStats;

struct Entry {
    user_id: UserId,
    session_id: String,
    channel: Channel,
    handle: SocketHandle,
}

/// See the module docs.
pub struct ChatRegistry {
    sockets: HashMap<SocketId, Entry>,
    by_user: HashMap<UserId, Vec<SocketId>>,
    by_room: HashMap<ChatId, Vec<SocketId>>,
    by_session: HashMap<String, Vec<SocketId>>,
    presence: Recipient<PresenceChanged>,
    chat_notices: Recipient<ChatNotice>,
    /// Most frames a socket may have waiting before it counts as too slow.
    max_queued: usize,
    evicted: u64,
}

/// Capacity of the registry's mailbox; the chat writer waits when it is full.
const REGISTRY_MAILBOX_CAPACITY: usize = 65_536;

impl ChatRegistry {
    pub fn new(
        presence: Recipient<PresenceChanged>,
        chat_notices: Recipient<ChatNotice>,
        max_queued: usize,
    ) -> Self {
        Self {
            max_queued,
            sockets: HashMap::new(),
            by_user: HashMap::new(),
            by_room: HashMap::new(),
            by_session: HashMap::new(),
            presence,
            chat_notices,
            evicted: 0,
        }
    }

    /// Queues frames for one socket. A socket with more than `max_queued` frames waiting,
    /// or a full mailbox, is evicted.
    fn deliver(&mut self, socket_id: SocketId, frames: Vec<OutFrame>) {
        let Some(entry) = self.sockets.get(&socket_id) else {
            return;
        };
        let count = frames.len();
        let queued = entry.handle.queued.fetch_add(count, Ordering::AcqRel) + count;
        if queued > self.max_queued {
            return self.evict(socket_id);
        }
        match entry.handle.recipient.try_send(ToSocket::Frames(frames)) {
            Ok(()) => {}
            Err(SendError::Full(_)) => self.evict(socket_id),
            Err(SendError::Closed(_)) => self.remove(socket_id),
        }
    }

    fn evict(&mut self, socket_id: SocketId) {
        let Some(entry) = self.sockets.get(&socket_id) else {
            return;
        };
        entry.handle.evicted.store(true, Ordering::Release);
        self.evicted += 1;
        log::warn!(
            "socket too slow, closing with 1013 socket_id={socket_id} user_id={} evicted_total={}",
            entry.user_id,
            self.evicted
        );
        self.remove(socket_id);
    }

    fn deliver_all(&mut self, socket_ids: &[SocketId], frame: &ByteString) {
        for socket_id in socket_ids {
            self.deliver(*socket_id, vec![OutFrame::plain(frame.clone())]);
        }
    }

    fn remove(&mut self, socket_id: SocketId) {
        let Some(entry) = self.sockets.remove(&socket_id) else {
            return;
        };
        remove_from(&mut self.by_session, &entry.session_id, socket_id);
        if let Channel::Chat(chat_id) = entry.channel {
            remove_from(&mut self.by_room, &chat_id, socket_id);
        }
        if remove_from(&mut self.by_user, &entry.user_id, socket_id) {
            self.presence_changed(entry.user_id, false);
        }
    }

    fn presence_changed(&self, user_id: UserId, online: bool) {
        if let Err(error) = self.presence.try_send(PresenceChanged { user_id, online }) {
            log::warn!("presence update dropped user_id={user_id} online={online}: {error}");
        }
    }

    fn user_sockets(&self, user_id: UserId, channel: UserChannel) -> Vec<SocketId> {
        let wanted = match channel {
            UserChannel::Notifications => Channel::Notifications,
            UserChannel::JobAlerts => Channel::JobAlerts,
        };
        self.by_user
            .get(&user_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                self.sockets
                    .get(id)
                    .is_some_and(|entry| entry.channel == wanted)
            })
            .collect()
    }

    fn room_has_user(&self, chat_id: ChatId, user_id: UserId) -> bool {
        self.by_room.get(&chat_id).into_iter().flatten().any(|id| {
            self.sockets
                .get(id)
                .is_some_and(|entry| entry.user_id == user_id)
        })
    }
}

/// Removes `socket_id` from the list under `key`; returns whether the list became empty.
fn remove_from<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, Vec<SocketId>>,
    key: &K,
    socket_id: SocketId,
) -> bool {
    let Some(list) = map.get_mut(key) else {
        return false;
    };
    list.retain(|id| *id != socket_id);
    if list.is_empty() {
        map.remove(key);
        return true;
    }
    false
}

impl Actor for ChatRegistry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(REGISTRY_MAILBOX_CAPACITY);
        log::debug!("chat registry started");
    }
}

impl Handler<SessionStarted> for ChatRegistry {
    type Result = ();

    fn handle(&mut self, message: SessionStarted, _: &mut Self::Context) {
        let first_socket = !self.by_user.contains_key(&message.user_id);
        self.by_user
            .entry(message.user_id)
            .or_default()
            .push(message.socket_id);
        self.by_session
            .entry(message.session_id.clone())
            .or_default()
            .push(message.socket_id);
        if let Channel::Chat(chat_id) = message.channel {
            self.by_room
                .entry(chat_id)
                .or_default()
                .push(message.socket_id);
        }
        self.sockets.insert(
            message.socket_id,
            Entry {
                user_id: message.user_id,
                session_id: message.session_id,
                channel: message.channel,
                handle: message.handle,
            },
        );
        if first_socket {
            self.presence_changed(message.user_id, true);
        }
    }
}

impl Handler<SessionStopped> for ChatRegistry {
    type Result = ();

    fn handle(&mut self, message: SessionStopped, _: &mut Self::Context) {
        self.remove(message.socket_id);
    }
}

impl Handler<ChatBatchStored> for ChatRegistry {
    type Result = ();

    fn handle(&mut self, batch: ChatBatchStored, _: &mut Self::Context) {
        // One mailbox message per socket per batch, however many of the batch's messages
        // are for its room.
        let mut per_socket: HashMap<SocketId, Vec<OutFrame>> = HashMap::new();
        let mut notices = Vec::new();
        for message in batch.messages {
            for socket_id in self.by_room.get(&message.chat_id).into_iter().flatten() {
                per_socket.entry(*socket_id).or_default().push(OutFrame {
                    text: message.frame.clone(),
                    message_id: Some(message.message_id),
                });
            }
            if !self.room_has_user(message.chat_id, message.recipient) {
                notices.push((message.recipient, message.chat_id, message.sender_name));
            }
        }
        for (socket_id, frames) in per_socket {
            self.deliver(socket_id, frames);
        }
        if !notices.is_empty() {
            let count = notices.len();
            if let Err(error) = self.chat_notices.try_send(ChatNotice { notices }) {
                log::warn!("chat notifications dropped count={count}: {error}");
            }
        }
    }
}

impl Handler<RelayToRoom> for ChatRegistry {
    type Result = ();

    fn handle(&mut self, relay: RelayToRoom, _: &mut Self::Context) {
        let targets: Vec<SocketId> = self
            .by_room
            .get(&relay.chat_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(|id| {
                self.sockets
                    .get(id)
                    .is_some_and(|entry| entry.user_id != relay.from_user)
            })
            .collect();
        self.deliver_all(&targets, &relay.frame);
    }
}

impl Handler<DeliverToUsers> for ChatRegistry {
    type Result = ();

    fn handle(&mut self, delivery: DeliverToUsers, _: &mut Self::Context) {
        for user_id in delivery.user_ids {
            let targets = self.user_sockets(user_id, delivery.channel);
            self.deliver_all(&targets, &delivery.frame);
        }
    }
}

impl Handler<CloseSockets> for ChatRegistry {
    type Result = ();

    fn handle(&mut self, request: CloseSockets, _: &mut Self::Context) {
        let targets: Vec<SocketId> = match &request.target {
            SocketTarget::Session(session_id) => {
                self.by_session.get(session_id).cloned().unwrap_or_default()
            }
            SocketTarget::User(user_id) => self.by_user.get(user_id).cloned().unwrap_or_default(),
        };
        log::debug!(
            "closing revoked sockets target={:?} count={}",
            request.target,
            targets.len()
        );
        for socket_id in targets {
            if let Some(entry) = self.sockets.get(&socket_id) {
                let close = ToSocket::Close {
                    code: CLOSE_SIGNED_OUT,
                    reason: "signed out",
                };
                if entry.handle.recipient.try_send(close).is_err() {
                    // A session that cannot take the order is not running; it closes with
                    // 1013 when it runs again, which also ends the signed-out socket.
                    entry.handle.evicted.store(true, Ordering::Release);
                }
            }
            // A session whose mailbox was full was evicted by `deliver`; one that got the
            // order stops itself and reports back, and removing it here as well keeps
            // later fan-out from reaching it in between.
            self.remove(socket_id);
        }
    }
}

impl Handler<GetRegistryStats> for ChatRegistry {
    type Result = MessageResult<GetRegistryStats>;

    fn handle(&mut self, _: GetRegistryStats, _: &mut Self::Context) -> Self::Result {
        MessageResult(RegistryStats {
            sockets: self.sockets.len(),
            users: self.by_user.len(),
            rooms: self.by_room.len(),
            evicted: self.evicted,
        })
    }
}
