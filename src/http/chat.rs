//! `/notification-chat/` endpoints: chat rooms, history, notifications and presence.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use careernexus_actors::chat::{
    ChatRoomView, GetChatHistory, InitiateChat, ListChats, MessageView,
};
use careernexus_actors::ids::{ChatId, MessageId, UserId};
use careernexus_actors::notifications::{ClearNotifications, ListNotifications, NotificationView};
use careernexus_actors::realtime::presence::GetPresence;
use careernexus_actors::users::format_timestamp;
use serde_json::json;

use super::ask;
use crate::error::ApiError;
use crate::extractors::CurrentUser;
use crate::forms::{query_id, required_query_id, FormBody, FormReader};
use crate::pagination::{Page, PageQuery};
use crate::startup::AppState;

type Query = web::Query<HashMap<String, String>>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/notification-chat/chats/").route(web::get().to(list_chats)))
        .service(
            web::resource("/notification-chat/chat/messages/").route(web::get().to(chat_history)),
        )
        .service(
            web::resource("/notification-chat/chats/initiate/")
                .route(web::post().to(initiate_chat)),
        )
        .service(
            web::resource("/notification-chat/notifications/")
                .route(web::get().to(list_notifications))
                .route(web::delete().to(clear_notifications)),
        )
        .service(web::resource("/notification-chat/presence/").route(web::get().to(get_presence)));
}

#[utoipa::path(get, path = "/notification-chat/chats/", tag = "chat", security(("bearer" = [])),
    responses((status = 200, body = Vec<ChatRoomView>, description = "Rooms, most recent activity first"), (status = 401)))]
pub async fn list_chats(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let rooms = ask(
        &state,
        &state.chat,
        ListChats {
            user: user.0.user_id,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(rooms))
}

#[utoipa::path(get, path = "/notification-chat/chat/messages/", tag = "chat", security(("bearer" = [])),
    params(("chat_id" = i64, Query), ("before" = Option<i64>, Query, description = "Only messages with a smaller id"),
           ("after" = Option<i64>, Query, description = "Only messages with a greater id"),
           ("limit" = Option<i64>, Query, description = "Most messages to return (default and maximum in realtime settings)")),
    responses((status = 200, body = Vec<MessageView>, description = "Oldest message first"), (status = 400, description = "Missing or malformed parameter"),
              (status = 401), (status = 404, description = "No such chat of yours")))]
pub async fn chat_history(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let chat_id = ChatId(required_query_id(&query, "chat_id")?);
    let before = query_id(&query, "before")?.map(MessageId);
    let after = query_id(&query, "after")?.map(MessageId);
    let limit = query_id(&query, "limit")?;
    let request = GetChatHistory {
        user: user.0.user_id,
        chat_id,
        before,
        after,
        limit,
    };
    let messages = ask(&state, &state.chat, request).await??;
    Ok(HttpResponse::Ok().json(messages))
}

#[utoipa::path(post, path = "/notification-chat/chats/initiate/", tag = "chat", security(("bearer" = [])),
    request_body(content = Object, description = "`{\"user\": 7}`: the other user's id"),
    responses((status = 200, body = ChatRoomView, description = "The existing or new room"), (status = 400, description = "Missing id or yourself"),
              (status = 401), (status = 403, description = "Not connected"), (status = 404, description = "Unknown user")))]
pub async fn initiate_chat(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let other = form.required_id("user");
    form.finish()?;
    let request = InitiateChat {
        user: user.0.user_id,
        other: UserId(other.unwrap_or_default()),
    };
    let room = ask(&state, &state.chat, request).await??;
    Ok(HttpResponse::Ok().json(room))
}

#[utoipa::path(get, path = "/notification-chat/notifications/", tag = "chat", security(("bearer" = [])),
    params(("page" = Option<u64>, Query), ("page_size" = Option<u64>, Query)),
    responses((status = 200, body = Page<NotificationView>, description = "Newest first"), (status = 401), (status = 404, description = "Invalid page")))]
pub async fn list_notifications(
    state: web::Data<AppState>,
    user: CurrentUser,
    page: PageQuery,
) -> Result<HttpResponse, ApiError> {
    let request = ListNotifications {
        user_id: user.0.user_id,
        offset: page.offset(),
        limit: page.limit(),
    };
    let (results, count) = ask(&state, &state.notifier, request).await??;
    Ok(HttpResponse::Ok().json(page.page(results, count)?))
}

#[utoipa::path(delete, path = "/notification-chat/notifications/", tag = "chat", security(("bearer" = [])),
    responses((status = 204, description = "All your notifications deleted"), (status = 401)))]
pub async fn clear_notifications(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, ApiError> {
    ask(
        &state,
        &state.notifier,
        ClearNotifications {
            user_id: user.0.user_id,
        },
    )
    .await??;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/notification-chat/presence/", tag = "chat", security(("bearer" = [])),
    params(("user_id" = i64, Query)),
    responses((status = 200, description = "`{\"user_id\", \"online\", \"last_seen\"}`"), (status = 400), (status = 401), (status = 404, description = "Unknown user")))]
pub async fn get_presence(
    state: web::Data<AppState>,
    _user: CurrentUser,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let user_id = UserId(required_query_id(&query, "user_id")?);
    let views = ask(
        &state,
        &state.presence,
        GetPresence {
            user_ids: vec![user_id],
        },
    )
    .await??;
    let view = views
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::Internal("presence returned no entry".to_owned()))?;
    if !view.exists {
        return Err(ApiError::NotFound(format!("No user has id {user_id}.")));
    }
    Ok(HttpResponse::Ok().json(json!({
        "user_id": view.user_id,
        "online": view.online,
        "last_seen": view.last_seen.map(format_timestamp),
    })))
}
