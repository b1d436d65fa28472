//! `CurrentUser`: the signed-in user of a request, from `Authorization: Bearer <access>`.
//! Every protected endpoint takes it, so a missing, invalid or revoked token is a 401
//! before the handler runs. The WebSocket upgrade checks `?token=` with the same
//! authenticator.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use careernexus_actors::accounts::auth::Principal;

use crate::error::ApiError;
use crate::startup::AppState;

/// The principal behind a valid access token.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Principal);

impl FromRequest for CurrentUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".to_owned()))?;
            let header = header.ok_or_else(|| {
                ApiError::Unauthorized("Authentication credentials were not provided.".to_owned())
            })?;
            let token = bearer_token(&header).ok_or_else(|| {
                ApiError::Unauthorized(
                    "Authorization header must contain two space-delimited values: Bearer <token>."
                        .to_owned(),
                )
            })?;
            let principal = state.authenticator.authenticate(token).await?;
            Ok(CurrentUser(principal))
        })
    }
}

/// The token of a `Bearer <token>` header (scheme case-insensitive).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_token_parses_scheme_case_insensitively() {
        assert_eq!(bearer_token("Bearer abc.def"), Some("abc.def"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer a b"), None);
    }
}
