//! The rules behind each chat message.

use std::collections::HashMap;

use actix::{Addr, Recipient};
use bson::doc;
use chrono::Utc;
use futures_util::TryStreamExt;

use std::sync::Mutex;

use super::documents::{ActivityDoc, ChatDoc, MessageDoc};
use super::writer::{ChatWriter, LatestMarkers};
use super::*;
use crate::graph::are_connected;
use crate::ids::Sequence;
use crate::realtime::frames::{encode, ServerFrame};
use crate::realtime::presence::{GetPresence, PresenceView};
use crate::store::{CHATS, CHAT_ACTIVITY, MESSAGES};
use crate::users::{find_user, find_users, format_timestamp, summaries};

/// Shared state of the chat actor.
pub struct ChatService {
    store: Store,
    defaults: MediaDefaults,
    config: RealtimeConfig,
    presence: Addr<Presence>,
    partners_added: Recipient<ChatPartnersAdded>,
    writer: Addr<ChatWriter>,
    /// Room ids by pair key and pair keys by room id. Rooms are never deleted, so an
    /// entry never goes stale; they save database round trips when sockets open and a
    /// scan of the rooms on FerretDB when a room is addressed by id.
    room_ids: Mutex<HashMap<String, ChatId>>,
    room_pairs: Mutex<HashMap<ChatId, String>>,
}

impl ChatService {
    pub fn new(
        store: Store,
        defaults: MediaDefaults,
        config: RealtimeConfig,
        presence: Addr<Presence>,
        partners_added: Recipient<ChatPartnersAdded>,
        writer: Addr<ChatWriter>,
    ) -> Self {
        Self {
            writer,
            store,
            defaults,
            config,
            presence,
            partners_added,
            room_ids: Mutex::new(HashMap::new()),
            room_pairs: Mutex::new(HashMap::new()),
        }
    }

    pub async fn list_chats(&self, request: ListChats) -> Result<Vec<ChatRoomView>, ChatError> {
        let chats: Vec<ChatDoc> = self
            .store
            .collection::<ChatDoc>(CHATS)
            .find(doc! { "$or": [{ "user_a": request.user }, { "user_b": request.user }] })
            .await
            .map_err(StoreError::from)?
            .try_collect()
            .await
            .map_err(StoreError::from)?;
        self.room_views(request.user, chats).await
    }

    pub async fn chat_history(
        &self,
        request: GetChatHistory,
    ) -> Result<Vec<MessageView>, ChatError> {
        let chat = self.member_chat(request.chat_id, request.user).await?;
        let limit = request
            .limit
            .unwrap_or(self.config.history_default_limit)
            .clamp(1, self.config.history_max_limit);
        let mut filter = doc! { "chat_id": chat.id };
        let mut range = bson::Document::new();
        if let Some(before) = request.before {
            range.insert("$lt", before.0);
        }
        if let Some(after) = request.after {
            range.insert("$gt", after.0);
        }
        if !range.is_empty() {
            filter.insert("_id", range);
        }
        // Paging forward from `after` reads oldest first; otherwise the newest `limit`
        // messages are read newest first and reversed.
        let forward = request.after.is_some() && request.before.is_none();
        let mut messages: Vec<MessageDoc> = self
            .store
            .collection::<MessageDoc>(MESSAGES)
            .find(filter)
            .sort(doc! { "_id": if forward { 1 } else { -1 } })
            .limit(limit)
            .await
            .map_err(StoreError::from)?
            .try_collect()
            .await
            .map_err(StoreError::from)?;
        if !forward {
            messages.reverse();
        }
        let people = summaries(&self.store, &self.defaults, &[chat.user_a, chat.user_b]).await?;
        Ok(messages
            .into_iter()
            .map(|message| MessageView {
                person: people
                    .get(&message.sender)
                    .cloned()
                    .unwrap_or_else(|| self.defaults.deleted_summary(message.sender)),
                timestamp: format_timestamp(message.created_at),
                message_id: message.id,
                chat_id: message.chat_id,
                user_id: message.sender,
                message: message.text,
            })
            .collect())
    }

    pub async fn initiate_chat(&self, request: InitiateChat) -> Result<ChatRoomView, ChatError> {
        self.check_pair(request.user, request.other).await?;
        let chat = self
            .find_or_create_room(request.user, request.other)
            .await?;
        let mut views = self.room_views(request.user, vec![chat]).await?;
        views.pop().ok_or(ChatError::Store(StoreError::Inconsistent(
            "room view missing",
        )))
    }

    pub async fn open_chat(&self, request: OpenChat) -> Result<OpenedChat, ChatError> {
        if request.user == request.other {
            return Err(ChatError::SelfChat);
        }
        // Two lookups by key rather than one `$in`, which FerretDB would answer with a
        // scan of all users.
        let (me, other) = futures_util::try_join!(
            find_user(&self.store, request.user),
            find_user(&self.store, request.other)
        )?;
        let me = me.ok_or(ChatError::UserNotFound(request.user))?;
        if other.is_none() {
            return Err(ChatError::UserNotFound(request.other));
        }
        // NOTE: the connection is checked when a socket opens; a connection removed later
        // does not close sockets that are already open.
        if !are_connected(&self.store, request.user, request.other).await? {
            return Err(ChatError::NotConnected);
        }
        let pair = ChatDoc::pair_key(request.user, request.other);
        let cached = self.cached_room(&pair);
        let chat_id = match cached {
            Some(id) => id,
            None => {
                self.find_or_create_room(request.user, request.other)
                    .await?
                    .id
            }
        };
        Ok(OpenedChat {
            chat_id,
            other: request.other,
            display_name: me.display_name(),
            email: me.email.clone(),
        })
    }

    pub async fn mark_read(&self, request: MarkRead) -> Result<MessageId, ChatError> {
        let chat = self.member_chat(request.chat_id, request.reader).await?;
        let field = chat.read_field(request.reader);
        // Only ids that were handed out move the marker, and it never moves backwards.
        // The newest id is the larger of what this process handed out and the room's
        // stored marker, which covers messages from before a restart.
        let stored = self
            .activity(&[chat.id])
            .await?
            .get(&chat.id)
            .map_or(0, |activity| activity.last_message_id.0);
        let issued = self.store.ids().issued_max(Sequence::Messages).await;
        let target = request.message_id.min(MessageId(stored.max(issued)));
        if target > chat.read_by(request.reader) {
            self.store
                .collection::<ChatDoc>(CHATS)
                .update_one(
                    doc! { "_id": &chat.pair, field: { "$lt": target.0 } },
                    doc! { "$set": { field: target.0 } },
                )
                .await
                .map_err(StoreError::from)?;
            return Ok(target);
        }
        Ok(chat.read_by(request.reader))
    }

    pub async fn messages_after(&self, request: MessagesAfter) -> Result<SyncPage, ChatError> {
        let page_size = self.config.sync_page_size.max(1);
        let messages: Vec<MessageDoc> = self
            .store
            .collection::<MessageDoc>(MESSAGES)
            .find(doc! { "chat_id": request.chat_id, "_id": { "$gt": request.after.0 } })
            .sort(doc! { "_id": 1 })
            .limit(page_size)
            .await
            .map_err(StoreError::from)?
            .try_collect()
            .await
            .map_err(StoreError::from)?;
        let senders: Vec<UserId> = {
            let mut ids: Vec<UserId> = messages.iter().map(|m| m.sender).collect();
            ids.sort();
            ids.dedup();
            ids
        };
        let users = find_users(&self.store, &senders).await?;
        let full = i64::try_from(messages.len()).unwrap_or(i64::MAX) >= page_size;
        let last_message_id = messages.last().map_or(request.after, |m| m.id);
        let frames = messages
            .iter()
            .map(|message| {
                let email = users
                    .get(&message.sender)
                    .map_or("", |user| user.email.as_str());
                let timestamp = format_timestamp(message.created_at);
                encode(&ServerFrame::ChatMessage {
                    user_id: message.sender,
                    email,
                    message: &message.text,
                    timestamp: &timestamp,
                    message_id: message.id,
                    chat_id: message.chat_id,
                })
            })
            .collect();
        Ok(SyncPage {
            frames,
            last_message_id,
            full,
        })
    }

    /// Checks the rules for a room between two users: not oneself, the other user
    /// exists, the two are connected.
    async fn check_pair(&self, user: UserId, other: UserId) -> Result<(), ChatError> {
        if user == other {
            return Err(ChatError::SelfChat);
        }
        if find_user(&self.store, other).await?.is_none() {
            return Err(ChatError::UserNotFound(other));
        }
        if !are_connected(&self.store, user, other).await? {
            return Err(ChatError::NotConnected);
        }
        Ok(())
    }

    fn cached_room(&self, pair: &str) -> Option<ChatId> {
        self.room_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(pair)
            .copied()
    }

    fn remember_room(&self, chat: &ChatDoc) {
        self.room_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(chat.pair.clone(), chat.id);
        self.room_pairs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(chat.id, chat.pair.clone());
    }

    /// The room of two users, created on first use. Callers check the rules first.
    async fn find_or_create_room(&self, user: UserId, other: UserId) -> Result<ChatDoc, ChatError> {
        let chats = self.store.collection::<ChatDoc>(CHATS);
        let pair = ChatDoc::pair_key(user, other);
        if let Some(chat) = chats
            .find_one(doc! { "_id": &pair })
            .await
            .map_err(StoreError::from)?
        {
            self.remember_room(&chat);
            return Ok(chat);
        }
        let chat = ChatDoc {
            id: ChatId(self.store.ids().next(Sequence::Chats).await?),
            pair: pair.clone(),
            user_a: user.min(other),
            user_b: user.max(other),
            created_at: Utc::now(),
            read_a: MessageId(0),
            read_b: MessageId(0),
        };
        match chats.insert_one(&chat).await {
            Ok(_) => {
                log::info!(
                    "chat room created chat_id={} user_a={} user_b={}",
                    chat.id,
                    chat.user_a,
                    chat.user_b
                );
                let added = ChatPartnersAdded {
                    user_a: chat.user_a,
                    user_b: chat.user_b,
                };
                if let Err(error) = self.partners_added.try_send(added) {
                    log::warn!(
                        "presence not told about new chat chat_id={}: {error}",
                        chat.id
                    );
                }
                self.remember_room(&chat);
                Ok(chat)
            }
            Err(error) => {
                let error = StoreError::from(error);
                if !error.is_duplicate_key() {
                    return Err(error.into());
                }
                // A concurrent request created the room first; its id wins.
                let chat = chats
                    .find_one(doc! { "_id": &pair })
                    .await
                    .map_err(StoreError::from)?
                    .ok_or(ChatError::Store(StoreError::Inconsistent(
                        "chat vanished after duplicate key",
                    )))?;
                self.remember_room(&chat);
                Ok(chat)
            }
        }
    }

    /// The newest-message markers of `rooms`; rooms without messages are absent.
    async fn activity(&self, rooms: &[ChatId]) -> Result<HashMap<ChatId, ActivityDoc>, ChatError> {
        let keys: Vec<String> = rooms.iter().map(|id| ActivityDoc::key(*id)).collect();
        let filter = match keys.as_slice() {
            [key] => doc! { "_id": key },
            _ => doc! { "_id": { "$in": keys } },
        };
        let markers: Vec<ActivityDoc> = self
            .store
            .collection::<ActivityDoc>(CHAT_ACTIVITY)
            .find(filter)
            .await
            .map_err(StoreError::from)?
            .try_collect()
            .await
            .map_err(StoreError::from)?;
        let mut activity: HashMap<ChatId, ActivityDoc> = markers
            .into_iter()
            .map(|marker| (marker.chat_id, marker))
            .collect();
        // Markers of this process's recent messages may not be stored yet.
        let request = LatestMarkers {
            rooms: rooms.to_vec(),
        };
        match self.writer.send(request).await {
            Ok(latest) => {
                for (chat_id, marker) in latest {
                    let stored = activity
                        .get(&chat_id)
                        .map_or(MessageId(0), |doc| doc.last_message_id);
                    if marker.message_id > stored {
                        let newer = ActivityDoc {
                            key: ActivityDoc::key(chat_id),
                            chat_id,
                            last_message_id: marker.message_id,
                            last_activity: marker.at,
                        };
                        activity.insert(chat_id, newer);
                    }
                }
            }
            Err(error) => log::warn!("chat writer unavailable, stored room markers only: {error}"),
        }
        Ok(activity)
    }

    /// The room `chat_id` if `user` is one of its two participants.
    async fn member_chat(&self, chat_id: ChatId, user: UserId) -> Result<ChatDoc, ChatError> {
        let known_pair = self
            .room_pairs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&chat_id)
            .cloned();
        let filter = match known_pair {
            Some(pair) => doc! { "_id": pair },
            None => doc! { "id": chat_id },
        };
        let chat = self
            .store
            .collection::<ChatDoc>(CHATS)
            .find_one(filter)
            .await
            .map_err(StoreError::from)?
            .ok_or(ChatError::ChatNotFound(chat_id))?;
        self.remember_room(&chat);
        if !chat.has_member(user) {
            return Err(ChatError::ChatNotFound(chat_id));
        }
        Ok(chat)
    }

    /// Builds the list entries of `chats` for `user` with four batched queries: the
    /// other participants, their presence, the last messages and the unread counts.
    async fn room_views(
        &self,
        user: UserId,
        chats: Vec<ChatDoc>,
    ) -> Result<Vec<ChatRoomView>, ChatError> {
        if chats.is_empty() {
            return Ok(Vec::new());
        }
        let others: Vec<UserId> = chats.iter().map(|chat| chat.other(user)).collect();
        let people = summaries(&self.store, &self.defaults, &others).await?;
        let presence = self.presence_of(&others).await;
        let room_ids: Vec<ChatId> = chats.iter().map(|chat| chat.id).collect();
        let activity = self.activity(&room_ids).await?;
        let last_ids: Vec<i64> = activity
            .values()
            .map(|marker| marker.last_message_id.0)
            .collect();
        let last_messages: HashMap<MessageId, MessageDoc> = if last_ids.is_empty() {
            HashMap::new()
        } else {
            self.store
                .collection::<MessageDoc>(MESSAGES)
                .find(doc! { "_id": { "$in": last_ids } })
                .await
                .map_err(StoreError::from)?
                .try_collect::<Vec<MessageDoc>>()
                .await
                .map_err(StoreError::from)?
                .into_iter()
                .map(|message| (message.id, message))
                .collect()
        };
        let unread = self.unread_counts(user, &chats).await?;

        let mut views: Vec<(chrono::DateTime<Utc>, ChatRoomView)> = chats
            .iter()
            .map(|chat| {
                let other = chat.other(user);
                let (online, last_seen) = presence
                    .get(&other)
                    .map(|view| (view.online, view.last_seen.map(format_timestamp)))
                    .unwrap_or((false, None));
                let marker = activity.get(&chat.id);
                let last_message = marker
                    .and_then(|marker| last_messages.get(&marker.last_message_id))
                    .map(|message| LastMessageView {
                        message_id: message.id,
                        user_id: message.sender,
                        message: message.text.clone(),
                        timestamp: format_timestamp(message.created_at),
                    });
                let view = ChatRoomView {
                    contributor: ContributorView {
                        user: people
                            .get(&other)
                            .cloned()
                            .unwrap_or_else(|| self.defaults.deleted_summary(other)),
                        online,
                        last_seen,
                    },
                    chat_id: chat.id,
                    last_message,
                    unread_count: unread.get(&chat.id).copied().unwrap_or(0),
                };
                let active_at = marker.map_or(chat.created_at, |marker| marker.last_activity);
                (active_at, view)
            })
            .collect();
        views
            .sort_by(|(a_time, a), (b_time, b)| b_time.cmp(a_time).then(b.chat_id.cmp(&a.chat_id)));
        Ok(views.into_iter().map(|(_, view)| view).collect())
    }

    /// Presence of `users`; empty when the presence actor does not answer, because a
    /// room list without presence beats a failed request.
    async fn presence_of(&self, users: &[UserId]) -> HashMap<UserId, PresenceView> {
        match self
            .presence
            .send(GetPresence {
                user_ids: users.to_vec(),
            })
            .await
        {
            Ok(Ok(views)) => views.into_iter().map(|view| (view.user_id, view)).collect(),
            Ok(Err(error)) => {
                log::error!("presence lookup failed: {error}");
                HashMap::new()
            }
            Err(error) => {
                log::error!("presence actor unavailable: {error}");
                HashMap::new()
            }
        }
    }

    /// Unread messages per room: those from the other participant above the reader's
    /// marker, counted in one aggregation.
    async fn unread_counts(
        &self,
        user: UserId,
        chats: &[ChatDoc],
    ) -> Result<HashMap<ChatId, u64>, ChatError> {
        // Every room is counted: the stored markers may lag behind the newest messages.
        let branches: Vec<bson::Document> = chats
            .iter()
            .map(|chat| doc! { "chat_id": chat.id, "_id": { "$gt": chat.read_by(user).0 } })
            .collect();
        if branches.is_empty() {
            return Ok(HashMap::new());
        }
        let pipeline = vec![
            doc! { "$match": { "$or": branches, "sender": { "$ne": user } } },
            doc! { "$group": { "_id": "$chat_id", "count": { "$sum": 1 } } },
        ];
        let rows: Vec<bson::Document> = self
            .store
            .collection::<MessageDoc>(MESSAGES)
            .aggregate(pipeline)
            .await
            .map_err(StoreError::from)?
            .try_collect()
            .await
            .map_err(StoreError::from)?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let chat = read_int(row, "_id")?;
                let count = read_int(row, "count")?;
                Some((ChatId(chat), u64::try_from(count).unwrap_or(0)))
            })
            .collect())
    }
}

fn read_int(row: &bson::Document, key: &str) -> Option<i64> {
    row.get_i64(key)
        .or_else(|_| row.get_i32(key).map(i64::from))
        .ok()
}

/// The users each of `users` shares a chat room with, from one query.
///
/// # Errors
/// A [`StoreError`] when the query fails.
pub async fn partners_of_many(
    store: &Store,
    users: &[UserId],
) -> Result<HashMap<UserId, Vec<UserId>>, StoreError> {
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = users.iter().map(|id| id.0).collect();
    let chats: Vec<ChatDoc> = store
        .collection::<ChatDoc>(CHATS)
        .find(doc! { "$or": [{ "user_a": { "$in": &ids } }, { "user_b": { "$in": &ids } }] })
        .await?
        .try_collect()
        .await?;
    let wanted: std::collections::HashSet<UserId> = users.iter().copied().collect();
    let mut partners: HashMap<UserId, Vec<UserId>> = HashMap::new();
    for chat in chats {
        for (user, partner) in [(chat.user_a, chat.user_b), (chat.user_b, chat.user_a)] {
            if wanted.contains(&user) {
                partners.entry(user).or_default().push(partner);
            }
        }
    }
    Ok(partners)
}
