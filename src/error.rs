//! `ApiError`: the one error type handlers return. It renders exactly the two JSON shapes
//! clients parse, `{"field": ["message"]}` for invalid input and `{"detail": "..."}`
//! otherwise. A 500 carries a generic detail; the cause goes to the log.

use actix::MailboxError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use careernexus_actors::accounts::auth::AuthError;
use careernexus_actors::accounts::AccountsError;
use careernexus_actors::chat::ChatError;
use careernexus_actors::profiles::ProfilesError;
use careernexus_actors::store::StoreError;
use careernexus_actors::validation::FieldErrors;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400 with field errors.
    #[error("invalid input: {0}")]
    Invalid(FieldErrors),
    /// 400 with a detail.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401: missing, invalid or revoked token.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// 409 with field errors.
    #[error("conflict: {0}")]
    Conflict(FieldErrors),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("too many requests: {0}")]
    TooManyRequests(String),
    /// 503: a dependency (database, mail, media, an actor) did not answer in time.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or a broken invariant; never caused by client input.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(FieldErrors::single(field, message))
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) | ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            ApiError::Invalid(errors) | ApiError::Conflict(errors) => json!(errors),
            ApiError::Internal(cause) => {
                log::error!("request failed: {cause}");
                json!({ "detail": "Something went wrong on our side. Try again later." })
            }
            ApiError::Unavailable(cause) => {
                log::error!("dependency unavailable: {cause}");
                json!({ "detail": "The service is temporarily unavailable. Try again shortly." })
            }
            ApiError::BadRequest(detail)
            | ApiError::Unauthorized(detail)
            | ApiError::Forbidden(detail)
            | ApiError::NotFound(detail)
            | ApiError::PayloadTooLarge(detail)
            | ApiError::TooManyRequests(detail) => json!({ "detail": detail }),
        };
        HttpResponse::build(self.status_code()).json(body)
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        ApiError::Invalid(errors)
    }
}

impl From<MailboxError> for ApiError {
    fn from(error: MailboxError) -> Self {
        ApiError::Unavailable(format!("actor did not answer: {error}"))
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::Internal(error.to_string())
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Token(_) => {
                ApiError::Unauthorized("Given token not valid for any token type".to_owned())
            }
            AuthError::Revoked => ApiError::Unauthorized(
                "Token is blacklisted or its account was deleted.".to_owned(),
            ),
            AuthError::Store(error) => error.into(),
        }
    }
}

impl From<AccountsError> for ApiError {
    fn from(error: AccountsError) -> Self {
        match error {
            AccountsError::Invalid(errors) => ApiError::Invalid(errors),
            AccountsError::EmailTaken => {
                ApiError::Conflict(FieldErrors::single("email", "An account with this email already exists. Sign in instead."))
            }
            AccountsError::InvalidCredentials => {
                ApiError::BadRequest("No active account found with the given credentials.".to_owned())
            }
            AccountsError::ResendTooSoon { wait_secs } => ApiError::TooManyRequests(format!(
                "A code was sent to this address moments ago. Wait {wait_secs} seconds before asking for another."
            )),
            AccountsError::Forbidden(detail) => ApiError::Forbidden(detail.to_owned()),
            AccountsError::NotFound(detail) => ApiError::NotFound(detail.to_owned()),
            AccountsError::Mail(error) => ApiError::Unavailable(format!("mail: {error}")),
            AccountsError::Store(error) => error.into(),
            AccountsError::Hash(error) => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<ProfilesError> for ApiError {
    fn from(error: ProfilesError) -> Self {
        match error {
            ProfilesError::Invalid(errors) => ApiError::Invalid(errors),
            ProfilesError::UserNotFound(id) => ApiError::NotFound(format!("No user has id {id}.")),
            ProfilesError::AnalyticsPrivate(_) => {
                ApiError::Forbidden("This user does not share their analytics.".to_owned())
            }
            ProfilesError::EntryNotFound(label) => ApiError::NotFound(format!(
                "No {label} entry with this id belongs to your profile."
            )),
            ProfilesError::Media(error) => ApiError::Unavailable(format!("media: {error}")),
            ProfilesError::Store(error) => error.into(),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(error: ChatError) -> Self {
        match error {
            ChatError::SelfChat => {
                ApiError::field("user", "You cannot start a chat with yourself.")
            }
            ChatError::UserNotFound(id) => ApiError::NotFound(format!("No user has id {id}.")),
            ChatError::NotConnected => ApiError::Forbidden(
                "You can only chat with users you have a confirmed connection with.".to_owned(),
            ),
            ChatError::ChatNotFound(id) => {
                ApiError::NotFound(format!("No chat with id {id} includes you."))
            }
            ChatError::Busy | ChatError::NotStored => ApiError::Unavailable(error.to_string()),
            ChatError::Store(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(error: ApiError) -> (u16, serde_json::Value) {
        let response = error.error_response();
        let status = response.status().as_u16();
        let bytes = to_bytes(response.into_body()).await.expect("body");
        (status, serde_json::from_slice(&bytes).expect("json"))
    }

    #[actix_rt::test]
    async fn invalid_renders_field_shape() {
        let (status, body) =
            body_of(ApiError::field("email", "Enter a valid email address.")).await;
        assert_eq!(status, 400);
        assert_eq!(body, json!({"email": ["Enter a valid email address."]}));
    }

    #[actix_rt::test]
    async fn not_found_renders_detail_shape() {
        let (status, body) = body_of(ApiError::NotFound("No user has id 9.".into())).await;
        assert_eq!(status, 404);
        assert_eq!(body, json!({"detail": "No user has id 9."}));
    }

    #[actix_rt::test]
    async fn internal_hides_cause() {
        let (status, body) = body_of(ApiError::Internal("driver said secret things".into())).await;
        assert_eq!(status, 500);
        assert!(!body.to_string().contains("secret"), "{body}");
    }
}
