//! Liveness (`/healthz`), readiness (`/readyz`) and the default pictures shown for users
//! who have not uploaded their own.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::startup::AppState;

const DEFAULT_PROFILE_PHOTO: &[u8] = include_bytes!("assets/default-profile-photo.png");
const DEFAULT_COVER_PHOTO: &[u8] = include_bytes!("assets/default-cover-photo.png");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)))
        .service(web::resource("/readyz").route(web::get().to(readyz)))
        .service(
            web::resource("/static/default-profile-photo.png")
                .route(web::get().to(default_profile_photo)),
        )
        .service(
            web::resource("/static/default-cover-photo.png")
                .route(web::get().to(default_cover_photo)),
        );
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "The process is up")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "The database answers"), (status = 503, description = "The database does not answer")))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state.store.ping().await {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ready", "database": "ok" })),
        Err(error) => {
            log::warn!("readiness check failed: {error}");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "status": "unavailable", "database": "unreachable" }))
        }
    }
}

async fn default_profile_photo() -> HttpResponse {
    png(DEFAULT_PROFILE_PHOTO)
}

async fn default_cover_photo() -> HttpResponse {
    png(DEFAULT_COVER_PHOTO)
}

fn png(bytes: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("Cache-Control", "public, max-age=86400"))
        .body(bytes)
}
