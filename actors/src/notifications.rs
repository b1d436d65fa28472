//! The notifier: stores notifications and pushes them to the user's open notification
//! sockets; pushes job alerts; lists and clears a user's notifications.
//!
//! Other areas call it with [`Notify`] (one user) or [`JobAlert`] (many users); the
//! registry sends [`ChatNotice`] for chat messages whose recipient has no socket in the
//! room.

use std::sync::Arc;

use actix::prelude::*;
use bson::doc;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ids::{ChatId, NotificationId, Sequence, UserId};
use crate::realtime::frames::{encode, ServerFrame};
use crate::realtime::registry::{AttachRegistry, DeliverToUsers, UserChannel};
use crate::store::{Store, StoreError, NOTIFICATIONS};
use crate::users::format_timestamp;

/// One stored notification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotificationDoc {
    #[serde(rename = "_id")]
    pub id: NotificationId,
    pub user_id: UserId,
    pub text: String,
    /// Screen of the client app that shows the object, e.g. `post` or `chat`.
    pub page: String,
    /// Route with the object id, e.g. `/post/?post_id=12`.
    pub route: String,
    /// Id of the object, as a string.
    pub obj_id: String,
    #[serde(with = "bson::serde_helpers::chrono_datetime_as_bson_datetime")]
    pub created_at: DateTime<Utc>,
}

/// A notification as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: NotificationId,
    pub text: String,
    pub timestamp: String,
    pub page: String,
    pub route: String,
    pub obj_id: String,
}

impl From<&NotificationDoc> for NotificationView {
    fn from(doc: &NotificationDoc) -> Self {
        Self {
            id: doc.id,
            text: doc.text.clone(),
            timestamp: format_timestamp(doc.created_at),
            page: doc.page.clone(),
            route: doc.route.clone(),
            obj_id: doc.obj_id.clone(),
        }
    }
}

/// Stores a notification for `user_id` and pushes it to their notification sockets.
/// Replies with the new id.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<NotificationId, StoreError>")]
pub struct Notify {
    pub user_id: UserId,
    pub text: String,
    pub page: String,
    pub route: String,
    pub obj_id: String,
}

/// Pushes a job alert to the job-alert sockets of `user_ids`; not stored.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct JobAlert {
    pub user_ids: Vec<UserId>,
    pub job_id: i64,
    pub message: String,
}

/// Chat messages whose recipients had no socket in the room: `(recipient, room, sender
/// name)`. Sent by the registry.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct ChatNotice {
    pub notices: Vec<(UserId, ChatId, String)>,
}

/// One page of a user's notifications, newest first, and their total.
#[derive(Debug, Message)]
#[rtype(result = "Result<(Vec<NotificationView>, u64), StoreError>")]
pub struct ListNotifications {
    pub user_id: UserId,
    pub offset: u64,
    pub limit: i64,
}

/// Deletes every notification of a user; replies with the number deleted.
#[derive(Debug, Message)]
#[rtype(result = "Result<u64, StoreError>")]
pub struct ClearNotifications {
    pub user_id: UserId,
}

/// See the module docs.
pub struct Notifier {
    store: Store,
    registry: Option<Arc<Recipient<DeliverToUsers>>>,
}

impl Notifier {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            registry: None,
        }
    }
}

impl Actor for Notifier {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(crate::actor_util::DOMAIN_MAILBOX_CAPACITY);
    }
}

impl Handler<AttachRegistry> for Notifier {
    type Result = ();

    fn handle(&mut self, message: AttachRegistry, _: &mut Self::Context) {
        self.registry = Some(Arc::new(message.0));
    }
}

/// Stores notifications with one `insert_many` and pushes each to its user.
async fn store_and_push(
    store: Store,
    registry: Option<Arc<Recipient<DeliverToUsers>>>,
    drafts: Vec<Notify>,
) -> Result<Vec<NotificationId>, StoreError> {
    let now = Utc::now();
    let mut documents = Vec::with_capacity(drafts.len());
    for draft in drafts {
        documents.push(NotificationDoc {
            id: NotificationId(store.ids().next(Sequence::Notifications).await?),
            user_id: draft.user_id,
            text: draft.text,
            page: draft.page,
            route: draft.route,
            obj_id: draft.obj_id,
            created_at: now,
        });
    }
    if documents.is_empty() {
        return Ok(Vec::new());
    }
    store
        .collection::<NotificationDoc>(NOTIFICATIONS)
        .insert_many(&documents)
        .await?;
    if let Some(registry) = registry {
        let timestamp = format_timestamp(now);
        for document in &documents {
            let frame = encode(&ServerFrame::Notification {
                message: &document.text,
                id: document.id,
                page: &document.page,
                route: &document.route,
                obj_id: &document.obj_id,
                timestamp: &timestamp,
            });
            let delivery = DeliverToUsers {
                user_ids: vec![document.user_id],
                channel: UserChannel::Notifications,
                frame,
            };
            if let Err(error) = registry.send(delivery).await {
                log::error!(
                    "notification stored but not pushed id={}: {error}",
                    document.id
                );
            }
        }
    }
    Ok(documents.iter().map(|document| document.id).collect())
}

impl Handler<Notify> for Notifier {
    type Result = ResponseFuture<Result<NotificationId, StoreError>>;

    fn handle(&mut self, notify: Notify, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        let registry = self.registry.clone();
        Box::pin(async move {
            let user_id = notify.user_id;
            let ids = store_and_push(store, registry, vec![notify])
                .await
                .inspect_err(|error| {
                    log::error!("could not store notification user_id={user_id}: {error}");
                })?;
            ids.first().copied().ok_or(StoreError::Inconsistent(
                "notification insert returned no id",
            ))
        })
    }
}

impl Handler<ChatNotice> for Notifier {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, notice: ChatNotice, _: &mut Self::Context) -> Self::Result {
        let drafts = notice
            .notices
            .into_iter()
            .map(|(user_id, chat_id, sender_name)| Notify {
                user_id,
                text: format!("New message from {sender_name}."),
                page: "chat".to_owned(),
                route: format!("/chat/?chat_id={chat_id}"),
                obj_id: chat_id.to_string(),
            })
            .collect();
        let store = self.store.clone();
        let registry = self.registry.clone();
        Box::pin(async move {
            if let Err(error) = store_and_push(store, registry, drafts).await {
                log::error!("could not store chat notifications: {error}");
            }
        })
    }
}

impl Handler<JobAlert> for Notifier {
    type Result = ResponseFuture<()>;

    fn handle(&mut self, alert: JobAlert, _: &mut Self::Context) -> Self::Result {
        let registry = self.registry.clone();
        Box::pin(async move {
            let Some(registry) = registry else {
                return;
            };
            let frame = encode(&ServerFrame::JobAlert {
                message: &alert.message,
                job_id: alert.job_id,
            });
            let delivery = DeliverToUsers {
                user_ids: alert.user_ids,
                channel: UserChannel::JobAlerts,
                frame,
            };
            if let Err(error) = registry.send(delivery).await {
                log::error!("job alert not pushed job_id={}: {error}", alert.job_id);
            }
        })
    }
}

impl Handler<ListNotifications> for Notifier {
    type Result = ResponseFuture<Result<(Vec<NotificationView>, u64), StoreError>>;

    fn handle(&mut self, request: ListNotifications, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let collection = store.collection::<NotificationDoc>(NOTIFICATIONS);
            let filter = doc! { "user_id": request.user_id };
            let total = collection.count_documents(filter.clone()).await?;
            let documents: Vec<NotificationDoc> = collection
                .find(filter)
                .sort(doc! { "_id": -1 })
                .skip(request.offset)
                .limit(request.limit)
                .await?
                .try_collect()
                .await?;
            Ok((
                documents.iter().map(NotificationView::from).collect(),
                total,
            ))
        })
    }
}

impl Handler<ClearNotifications> for Notifier {
    type Result = ResponseFuture<Result<u64, StoreError>>;

    fn handle(&mut self, request: ClearNotifications, _: &mut Self::Context) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let deleted = store
                .collection::<NotificationDoc>(NOTIFICATIONS)
                .delete_many(doc! { "user_id": request.user_id })
                .await?;
            log::info!(
                "notifications cleared user_id={} count={}",
                request.user_id,
                deleted.deleted_count
            );
            Ok(deleted.deleted_count)
        })
    }
}
