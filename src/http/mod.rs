//! HTTP handlers, one module per URL area. A handler parses the request into domain
//! values, sends one message to the area's actor and maps the reply to a response.

pub mod accounts;
pub mod chat;
pub mod health;
pub mod info;
pub mod media;
pub mod profiles;

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, Handler, Message};
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderValue, CONTENT_TYPE};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(accounts::configure)
        .configure(profiles::configure)
        .configure(chat::configure)
        .configure(info::configure)
        .configure(media::configure)
        .configure(health::configure);
}

/// Sends `message` to `actor` and waits at most the configured actor timeout.
///
/// # Errors
/// 503 when the actor's mailbox is closed or the reply takes too long.
pub async fn ask<A, M>(state: &AppState, actor: &Addr<A>, message: M) -> Result<M::Result, ApiError>
where
    A: Actor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message + Send + 'static,
    M::Result: Send,
{
    Ok(actor.send(message).timeout(state.actor_timeout()).await?)
}

/// The answer for unknown routes.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("Not found.".to_owned()))
}

/// Gives framework-made 404 and 405 responses (which have no body) the JSON shape.
///
/// # Errors
/// Never; the signature is the one `ErrorHandlers` expects.
pub fn json_error_body<B>(
    response: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    if response.response().headers().contains_key(CONTENT_TYPE) {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let detail = if status.as_u16() == 405 {
        format!("Method \"{}\" not allowed.", response.request().method())
    } else {
        "Not found.".to_owned()
    };
    let (request, _) = response.into_parts();
    let mut body = HttpResponse::build(status).json(serde_json::json!({ "detail": detail }));
    body.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let response: ServiceResponse<EitherBody<B, BoxBody>> =
        ServiceResponse::new(request, body).map_into_right_body();
    Ok(ErrorHandlerResponse::Response(response))
}
