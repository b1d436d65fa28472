//! `/user/` account endpoints: sign-up, sign-in, sign-out, password reset, deletion.

use actix_web::{web, HttpResponse};
use careernexus_actors::accounts::{
    CompleteSignUp, DeleteAccount, Email, RequestPasswordReset, ResetPassword, ResetProof, SignIn,
    SignOut, SignedIn, StartSignUp, VerifyPasswordReset, VerifySignUpLink,
};
use careernexus_actors::choices::INDUSTRY;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::ask;
use crate::error::ApiError;
use crate::extractors::CurrentUser;
use crate::forms::{FormBody, FormReader};
use crate::startup::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/user/signup/").route(web::post().to(sign_up)))
        .service(web::resource("/user/hash/verify/").route(web::post().to(verify_hash)))
        .service(web::resource("/user/signin/").route(web::post().to(sign_in)))
        .service(web::resource("/user/signout/").route(web::post().to(sign_out)))
        .service(web::resource("/user/forget-password/").route(web::post().to(forget_password)))
        .service(web::resource("/user/delete/").route(web::delete().to(delete_user)));
}

/// Sign-up form. Without `otp` it mails a code; repeated with the code it creates the
/// account. `industry` makes the account a mentor's.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SignUpRequest {
    email: String,
    password1: String,
    password2: String,
    /// A choice of the `industry` field; omit for a learner.
    industry: Option<String>,
    /// The six-digit code from the mail (second stage only).
    otp: Option<String>,
}

/// Tokens of a new sign-in.
#[derive(Serialize, ToSchema)]
pub struct TokensView {
    refresh: String,
    access: String,
    /// The account's email.
    user: String,
    user_id: i64,
    user_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

impl TokensView {
    fn new(signed_in: SignedIn, status: Option<&'static str>) -> Self {
        Self {
            refresh: signed_in.refresh,
            access: signed_in.access,
            user: signed_in.email,
            user_id: signed_in.user_id.0,
            user_type: signed_in.user_type.as_str().to_owned(),
            status,
        }
    }
}

fn parse_email(form: &mut FormReader, field: &str) -> Option<Email> {
    let raw = form.required_text(field)?;
    match Email::parse(&raw) {
        Ok(email) => Some(email),
        Err(message) => {
            form.errors.add(field, message);
            None
        }
    }
}

#[utoipa::path(post, path = "/user/signup/", tag = "accounts", request_body = SignUpRequest,
    responses((status = 200, description = "Code mailed"), (status = 201, body = TokensView, description = "Account created"),
              (status = 400, description = "Invalid field"), (status = 409, description = "Email taken"), (status = 429, description = "Code sent moments ago")))]
pub async fn sign_up(state: web::Data<AppState>, body: FormBody) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let email = parse_email(&mut form, "email");
    let otp = form.text("otp").filter(|otp| !otp.trim().is_empty());

    if let Some(otp) = otp {
        let password1 = form.text("password1");
        form.finish()?;
        let email = email.ok_or_else(|| ApiError::field("email", "This field is required."))?;
        let signed_in = ask(
            &state,
            &state.accounts,
            CompleteSignUp {
                email,
                otp,
                password1,
            },
        )
        .await??;
        let body = TokensView::new(signed_in, Some("Success"));
        return Ok(HttpResponse::Created().json(body));
    }

    let password1 = form.required_text("password1");
    let password2 = form.required_text("password2");
    let industry = match form
        .text("industry")
        .filter(|value| !value.trim().is_empty())
    {
        Some(value) => INDUSTRY.check(&mut form.errors, "industry", &value),
        None => None,
    };
    form.finish()?;
    let (Some(email), Some(password1), Some(password2)) = (email, password1, password2) else {
        return Err(ApiError::Internal(
            "sign-up form passed checks with a field missing".to_owned(),
        ));
    };
    let sent = ask(
        &state,
        &state.accounts,
        StartSignUp {
            email,
            password1,
            password2,
            industry,
        },
    )
    .await??;
    Ok(HttpResponse::Ok().json(json!({
        "status": "OTP sent",
        "email": sent.email.as_str(),
        "detail": "A verification code was sent to this address. Repeat the request with the code in otp.",
    })))
}

#[utoipa::path(post, path = "/user/hash/verify/", tag = "accounts",
    request_body(content = Object, description = "`{\"hash\": \"…\"}` from the sign-up mail"),
    responses((status = 201, description = "Account created; tokens and `email`"), (status = 400, description = "Invalid or expired hash")))]
pub async fn verify_hash(
    state: web::Data<AppState>,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let hash = form.required_text("hash");
    form.finish()?;
    let hash = hash.unwrap_or_default();
    let signed_in = ask(&state, &state.accounts, VerifySignUpLink { hash }).await??;
    Ok(HttpResponse::Created().json(json!({
        "refresh": signed_in.refresh,
        "access": signed_in.access,
        "email": signed_in.email,
        "user_id": signed_in.user_id,
        "user_type": signed_in.user_type.as_str(),
        "status": "Success",
    })))
}

#[utoipa::path(post, path = "/user/signin/", tag = "accounts",
    request_body(content = Object, description = "`{\"email\": \"…\", \"password\": \"…\"}`"),
    responses((status = 200, body = TokensView), (status = 400, description = "Missing field or wrong email/password")))]
pub async fn sign_in(state: web::Data<AppState>, body: FormBody) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let email = form.required_text("email");
    let password = form.required_text("password");
    form.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::Internal(
            "sign-in form passed checks with a field missing".to_owned(),
        ));
    };
    let signed_in = ask(&state, &state.accounts, SignIn { email, password }).await??;
    Ok(HttpResponse::Ok().json(TokensView::new(signed_in, None)))
}

#[utoipa::path(post, path = "/user/signout/", tag = "accounts", security(("bearer" = [])),
    request_body(content = Object, description = "`{\"refresh\": \"…\"}`, the refresh token of the sign-in to end"),
    responses((status = 202, description = "`{\"status\": \"Logged out\"}`"), (status = 400, description = "Invalid or already revoked refresh token"),
              (status = 401, description = "No or invalid access token"), (status = 403, description = "Refresh token of another account")))]
pub async fn sign_out(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let refresh = form.required_text("refresh");
    form.finish()?;
    let refresh = refresh.unwrap_or_default();
    ask(
        &state,
        &state.accounts,
        SignOut {
            principal: user.0,
            refresh,
        },
    )
    .await??;
    Ok(HttpResponse::Accepted().json(json!({ "status": "Logged out" })))
}

#[utoipa::path(post, path = "/user/forget-password/", tag = "accounts",
    request_body(content = Object, description = "Stage 1: `email`. Stage 2: `email` + `otp`, or `hash`. Stage 3: `email`, `password1`, `password2`."),
    responses((status = 200, description = "`status` is `OTP sent`, `Verified` or `Password Changes`"), (status = 400, description = "Invalid field, code or eligibility"),
              (status = 429, description = "Code sent moments ago")))]
pub async fn forget_password(
    state: web::Data<AppState>,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let present = |form: &mut FormReader, field: &str| {
        form.text(field).filter(|value| !value.trim().is_empty())
    };

    let (status, email) = if form.has("password1") || form.has("password2") {
        let email = parse_email(&mut form, "email");
        let password1 = form.required_text("password1");
        let password2 = form.required_text("password2");
        form.finish()?;
        let (Some(email), Some(password1), Some(password2)) = (email, password1, password2) else {
            return Err(ApiError::Internal(
                "reset form passed checks with a field missing".to_owned(),
            ));
        };
        let done = ask(
            &state,
            &state.accounts,
            ResetPassword {
                email,
                password1,
                password2,
            },
        )
        .await??;
        ("Password Changes", done.email)
    } else if let Some(otp) = present(&mut form, "otp") {
        let email = parse_email(&mut form, "email");
        form.finish()?;
        let email = email.ok_or_else(|| ApiError::field("email", "This field is required."))?;
        let proof = ResetProof::Code { email, otp };
        let done = ask(&state, &state.accounts, VerifyPasswordReset { proof }).await??;
        ("Verified", done.email)
    } else if let Some(hash) = present(&mut form, "hash") {
        form.finish()?;
        let proof = ResetProof::Link { hash };
        let done = ask(&state, &state.accounts, VerifyPasswordReset { proof }).await??;
        ("Verified", done.email)
    } else {
        let email = parse_email(&mut form, "email");
        form.finish()?;
        let email = email.ok_or_else(|| ApiError::field("email", "This field is required."))?;
        let done = ask(&state, &state.accounts, RequestPasswordReset { email }).await??;
        ("OTP sent", done.email)
    };
    Ok(HttpResponse::Ok().json(json!({ "status": status, "email": email.as_str() })))
}

#[utoipa::path(delete, path = "/user/delete/", tag = "accounts", security(("bearer" = [])),
    request_body(content = Object, description = "`{\"email\": \"…\"}` of the account to delete: your own, or any as an admin"),
    responses((status = 204, description = "Deleted"), (status = 400, description = "Missing or invalid email"), (status = 401, description = "No or invalid token"),
              (status = 403, description = "Another user's account"), (status = 404, description = "No such account (admins)")))]
pub async fn delete_user(
    state: web::Data<AppState>,
    user: CurrentUser,
    body: FormBody,
) -> Result<HttpResponse, ApiError> {
    let mut form = FormReader::new(&body.0);
    let email = parse_email(&mut form, "email");
    form.finish()?;
    let email = email.ok_or_else(|| ApiError::field("email", "This field is required."))?;
    ask(
        &state,
        &state.accounts,
        DeleteAccount {
            principal: user.0,
            email,
        },
    )
    .await??;
    Ok(HttpResponse::NoContent().finish())
}
