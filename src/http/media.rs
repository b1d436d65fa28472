//! `/media/`: serves uploaded objects from the media store when `media.public_url` is
//! empty (development and tests). Production points `media.public_url` at the bucket's
//! public URL or a CDN instead, and this route then sees no traffic.

use actix_web::{web, HttpResponse};

use crate::error::ApiError;
use crate::startup::AppState;

/// Key prefixes of uploaded media; nothing else in the bucket is served.
const SERVED_FOLDERS: [&str; 4] = [
    "profile_pictures/",
    "cover_photos/",
    "resumes/",
    "intro_videos/",
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/media/{key:.*}").route(web::get().to(media_object)));
}

async fn media_object(
    state: web::Data<AppState>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key = key.into_inner();
    let servable = SERVED_FOLDERS.iter().any(|folder| key.starts_with(folder))
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'))
        && !key.contains("..");
    if !servable {
        return Err(ApiError::NotFound("Not found.".to_owned()));
    }
    let object = state
        .media
        .get(&key)
        .await
        .map_err(|error| ApiError::Unavailable(error.to_string()))?
        .ok_or_else(|| ApiError::NotFound("Not found.".to_owned()))?;
    let body = tokio_util::io::ReaderStream::new(object.body.into_async_read());
    let mut response = HttpResponse::Ok();
    response
        .content_type(object.content_type)
        .insert_header(("Cache-Control", "public, max-age=86400"));
    if let Some(length) = object.length.and_then(|length| u64::try_from(length).ok()) {
        response.no_chunking(length);
    }
    Ok(response.streaming(body))
}
