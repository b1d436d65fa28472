//! WebSocket upgrades: `/ws/chat/{other_user_id}/`, `/ws/notification/` and
//! `/ws/notification/jobs/`. Each checks `?token=` like a bearer token and, for chat,
//! resolves the room, so that every refusal is an HTTP status before the upgrade.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use careernexus_actors::accounts::auth::Principal;
use careernexus_actors::chat::OpenChat;
use careernexus_actors::ids::UserId;
use careernexus_actors::realtime::registry::Channel;
use careernexus_actors::realtime::session::{SessionSetup, SocketSession};

use crate::error::ApiError;
use crate::http::ask;
use crate::startup::AppState;

type Query = web::Query<HashMap<String, String>>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/chat/{user_id}/").route(web::get().to(chat_socket)))
        .service(web::resource("/ws/notification/").route(web::get().to(notification_socket)))
        .service(web::resource("/ws/notification/jobs/").route(web::get().to(job_alert_socket)));
}

async fn authenticate(state: &AppState, query: &Query) -> Result<Principal, ApiError> {
    let token = query
        .get("token")
        .map(|token| token.trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            ApiError::Unauthorized("Add the access token as the token query parameter.".to_owned())
        })?;
    Ok(state.authenticator.authenticate(token).await?)
}

async fn chat_socket(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let principal = authenticate(&state, &query).await?;
    let other = path
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::field(
                "user_id",
                format!("'{path}' is not a valid user id; ids are positive integers."),
            )
        })?;
    let request = OpenChat {
        user: principal.user_id,
        other: UserId(other),
    };
    let room = ask(&state, &state.chat, request).await??;
    upgrade(
        &req,
        stream,
        &state,
        principal,
        Channel::Chat(room.chat_id),
        Some(room),
    )
}

async fn notification_socket(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let principal = authenticate(&state, &query).await?;
    upgrade(
        &req,
        stream,
        &state,
        principal,
        Channel::Notifications,
        None,
    )
}

async fn job_alert_socket(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
    query: Query,
) -> Result<HttpResponse, ApiError> {
    let principal = authenticate(&state, &query).await?;
    upgrade(&req, stream, &state, principal, Channel::JobAlerts, None)
}

fn upgrade(
    req: &HttpRequest,
    stream: web::Payload,
    state: &AppState,
    principal: Principal,
    channel: Channel,
    room: Option<careernexus_actors::chat::OpenedChat>,
) -> Result<HttpResponse, ApiError> {
    let session = SocketSession::new(SessionSetup {
        principal,
        channel,
        room,
        registry: state.registry.clone(),
        chat: state.chat.clone(),
        writer: state.writer.clone(),
        config: state.settings.realtime.clone(),
    });
    ws::WsResponseBuilder::new(session, req, stream)
        .frame_size(state.settings.realtime.max_frame_bytes)
        .start()
        .map_err(|error| {
            ApiError::BadRequest(format!(
                "WebSocket handshake failed: {error}. Connect with a WebSocket client."
            ))
        })
}
