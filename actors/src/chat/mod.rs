//! Chat: rooms between two connected users, their history and read markers
//! ([`ChatActor`]), and the batching writer that stores live messages ([`writer::ChatWriter`]).
//! Only users with a confirmed connection may open a room, by REST and by socket alike.

pub mod documents;
mod service;
pub mod writer;

use std::sync::Arc;

use actix::{Actor, Addr, Context, Message, Recipient};
use bytestring::ByteString;
use serde::Serialize;
use utoipa::ToSchema;

pub use service::{partners_of_many, ChatService};

use crate::actor_util::DOMAIN_MAILBOX_CAPACITY;
use crate::config::RealtimeConfig;
use crate::ids::{ChatId, MessageId, UserId};
use crate::realtime::presence::{ChatPartnersAdded, Presence};
use crate::store::{Store, StoreError};
use crate::users::{MediaDefaults, UserSummaryView};

/// Owns the chat rules; see the module docs.
pub struct ChatActor {
    service: Arc<ChatService>,
}

impl ChatActor {
    pub fn new(
        store: Store,
        defaults: MediaDefaults,
        config: RealtimeConfig,
        presence: Addr<Presence>,
        partners_added: Recipient<ChatPartnersAdded>,
        writer: Addr<writer::ChatWriter>,
    ) -> Self {
        Self {
            service: Arc::new(ChatService::new(
                store,
                defaults,
                config,
                presence,
                partners_added,
                writer,
            )),
        }
    }
}

impl Actor for ChatActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(DOMAIN_MAILBOX_CAPACITY);
    }
}

crate::delegate_to_service!(ChatActor, {
    ListChats => list_chats,
    GetChatHistory => chat_history,
    InitiateChat => initiate_chat,
    OpenChat => open_chat,
    MarkRead => mark_read,
    MessagesAfter => messages_after,
});

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("a chat with oneself is not possible")]
    SelfChat,
    #[error("user {0} not found")]
    UserNotFound(UserId),
    #[error("users are not connected")]
    NotConnected,
    #[error("chat {0} not found or not yours")]
    ChatNotFound(ChatId),
    #[error("chat writer queue is full")]
    Busy,
    #[error("chat message could not be stored")]
    NotStored,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The other participant of a room, with presence.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContributorView {
    #[serde(flatten)]
    pub user: UserSummaryView,
    pub online: bool,
    /// When the user's last socket closed (RFC 3339), if known.
    pub last_seen: Option<String>,
}

/// The newest message of a room.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LastMessageView {
    pub message_id: MessageId,
    /// The sender's user id.
    pub user_id: UserId,
    pub message: String,
    pub timestamp: String,
}

/// One room as listed for a participant.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatRoomView {
    pub contributor: ContributorView,
    pub chat_id: ChatId,
    pub last_message: Option<LastMessageView>,
    /// Messages from the other participant newer than the caller's read marker.
    pub unread_count: u64,
}

/// One message of a room's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageView {
    /// The sender.
    pub person: UserSummaryView,
    pub message: String,
    pub timestamp: String,
    pub message_id: MessageId,
    pub chat_id: ChatId,
    /// The sender's user id.
    pub user_id: UserId,
}

/// The rooms of `user`, most recent activity first.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<ChatRoomView>, ChatError>")]
pub struct ListChats {
    pub user: UserId,
}

/// Messages of a room the user belongs to, oldest first. Without bounds, the newest
/// `limit` messages; `before` and `after` page by message id.
#[derive(Debug, Message)]
#[rtype(result = "Result<Vec<MessageView>, ChatError>")]
pub struct GetChatHistory {
    pub user: UserId,
    pub chat_id: ChatId,
    pub before: Option<MessageId>,
    pub after: Option<MessageId>,
    /// Clamped to the configured maximum; `None` is the configured default.
    pub limit: Option<i64>,
}

/// Returns the room of `user` and `other`, creating it on first use.
#[derive(Debug, Message)]
#[rtype(result = "Result<ChatRoomView, ChatError>")]
pub struct InitiateChat {
    pub user: UserId,
    pub other: UserId,
}

/// Resolves the room a chat socket joins; sent by the upgrade handler before the upgrade,
/// so a refusal is an HTTP status.
#[derive(Debug, Message)]
#[rtype(result = "Result<OpenedChat, ChatError>")]
pub struct OpenChat {
    pub user: UserId,
    pub other: UserId,
}

/// What a chat socket needs to know about its room and its user.
#[derive(Debug, Clone)]
pub struct OpenedChat {
    pub chat_id: ChatId,
    pub other: UserId,
    pub email: String,
    pub display_name: String,
}

/// Marks every message up to `message_id` from the other participant as read. Replies
/// with the stored marker, which never moves backwards.
#[derive(Debug, Message)]
#[rtype(result = "Result<MessageId, ChatError>")]
pub struct MarkRead {
    pub chat_id: ChatId,
    pub reader: UserId,
    pub message_id: MessageId,
}

/// Stored messages of a room with ids greater than `after`, oldest first, as
/// `chat_message` frames; at most the configured sync page size.
#[derive(Debug, Message)]
#[rtype(result = "Result<SyncPage, ChatError>")]
pub struct MessagesAfter {
    pub chat_id: ChatId,
    pub after: MessageId,
}

/// One page of a `sync` replay.
#[derive(Debug, Clone)]
pub struct SyncPage {
    pub frames: Vec<ByteString>,
    /// Id of the last message in `frames`, or the requested `after` when empty.
    pub last_message_id: MessageId,
    /// Whether the page was full, so that more messages may follow.
    pub full: bool,
}
