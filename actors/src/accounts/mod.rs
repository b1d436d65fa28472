//! Accounts: sign-up with an emailed code, sign-in, sign-out, password reset and account
//! deletion. HTTP handlers send the messages below to [`AccountsActor`]; tokens are
//! checked by [`auth::Authenticator`] without a round trip through the actor.

pub mod auth;
pub mod documents;
pub mod email;
pub mod otp;
pub mod password;
mod service;
pub mod tokens;

use std::sync::Arc;

use actix::{Actor, Context, Message, Recipient};

pub use email::Email;
pub use service::AccountsService;

use crate::actor_util::DOMAIN_MAILBOX_CAPACITY;
use crate::clients::mail::{MailError, Mailer};
use crate::config::AuthConfig;
use crate::ids::UserId;
use crate::realtime::CloseSockets;
use crate::store::{Store, StoreError};
use crate::users::UserType;
use crate::validation::FieldErrors;
use auth::Principal;
use password::HashError;
use tokens::TokenKeys;

/// Owns the accounts rules; see the module docs.
pub struct AccountsActor {
    service: Arc<AccountsService>,
}

impl AccountsActor {
    pub fn new(
        store: Store,
        keys: TokenKeys,
        mailer: Mailer,
        config: AuthConfig,
        sockets: Recipient<CloseSockets>,
    ) -> Self {
        Self {
            service: Arc::new(AccountsService::new(store, keys, mailer, config, sockets)),
        }
    }
}

impl Actor for AccountsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(DOMAIN_MAILBOX_CAPACITY);
    }
}

crate::delegate_to_service!(AccountsActor, {
    StartSignUp => start_sign_up,
    CompleteSignUp => complete_sign_up,
    VerifySignUpLink => verify_sign_up_link,
    SignIn => sign_in,
    SignOut => sign_out,
    RequestPasswordReset => request_password_reset,
    VerifyPasswordReset => verify_password_reset,
    ResetPassword => reset_password,
    DeleteAccount => delete_account,
});

/// Errors of the accounts area; `src/error.rs` maps each to a status and body.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("a code was sent less than {wait_secs} seconds ago")]
    ResendTooSoon { wait_secs: u64 },
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("mail delivery failed: {0}")]
    Mail(#[from] MailError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<FieldErrors> for AccountsError {
    fn from(errors: FieldErrors) -> Self {
        AccountsError::Invalid(errors)
    }
}

/// Reply to a request that mailed a code.
#[derive(Debug, Clone)]
pub struct CodeSent {
    pub email: Email,
}

/// Reply to every request that signs a user in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub access: String,
    pub refresh: String,
    pub user_id: UserId,
    pub email: String,
    pub user_type: UserType,
}

/// First stage of sign-up: validates the form and mails a code to `email`. A mentor
/// signs up with an `industry`, a learner without.
#[derive(Debug, Message)]
#[rtype(result = "Result<CodeSent, AccountsError>")]
pub struct StartSignUp {
    pub email: Email,
    pub password1: String,
    pub password2: String,
    /// A valid choice of the `industry` field.
    pub industry: Option<&'static str>,
}

/// Second stage of sign-up: the code mailed to `email` creates the account. When the
/// form repeats `password1`, it must be the password given in the first stage.
#[derive(Debug, Message)]
#[rtype(result = "Result<SignedIn, AccountsError>")]
pub struct CompleteSignUp {
    pub email: Email,
    pub otp: String,
    pub password1: Option<String>,
}

/// Alternative second stage: the link token from the sign-up mail creates the account.
#[derive(Debug, Message)]
#[rtype(result = "Result<SignedIn, AccountsError>")]
pub struct VerifySignUpLink {
    pub hash: String,
}

/// Signs in with email (any case) and password.
#[derive(Debug, Message)]
#[rtype(result = "Result<SignedIn, AccountsError>")]
pub struct SignIn {
    pub email: String,
    pub password: String,
}

/// Revokes the sign-in named by `refresh`, which must belong to `principal`'s user, and
/// closes that sign-in's sockets.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), AccountsError>")]
pub struct SignOut {
    pub principal: Principal,
    pub refresh: String,
}

/// Password reset, first stage: mails a code when an account has this address. The
/// reply is the same either way, so the endpoint does not reveal who has an account.
#[derive(Debug, Message)]
#[rtype(result = "Result<CodeSent, AccountsError>")]
pub struct RequestPasswordReset {
    pub email: Email,
}

/// How the second stage of a reset proves ownership of the address.
#[derive(Debug, Clone)]
pub enum ResetProof {
    Code { email: Email, otp: String },
    Link { hash: String },
}

/// Password reset, second stage: a valid code or link makes the account eligible for one
/// password change within the configured window.
#[derive(Debug, Message)]
#[rtype(result = "Result<CodeSent, AccountsError>")]
pub struct VerifyPasswordReset {
    pub proof: ResetProof,
}

/// Password reset, third stage: sets the new password of an eligible account, consumes
/// the eligibility and signs out every session of the account.
#[derive(Debug, Message)]
#[rtype(result = "Result<CodeSent, AccountsError>")]
pub struct ResetPassword {
    pub email: Email,
    pub password1: String,
    pub password2: String,
}

/// Deletes the account with `email`; allowed for its owner and for admins. Closes the
/// account's sockets.
#[derive(Debug, Message)]
#[rtype(result = "Result<(), AccountsError>")]
pub struct DeleteAccount {
    pub principal: Principal,
    pub email: Email,
}

/// Makes the account with `email` an admin; used by the command line, not by any endpoint.
///
/// # Errors
/// [`AccountsError::NotFound`] when no account has the address.
pub async fn promote_admin(store: &Store, email: &Email) -> Result<UserId, AccountsError> {
    let user = crate::users::find_user_by_email(store, email.as_str())
        .await?
        .ok_or(AccountsError::NotFound("No account has this email."))?;
    store
        .collection::<bson::Document>(crate::store::USERS)
        .update_one(
            bson::doc! { "_id": crate::users::user_key(user.id) },
            bson::doc! { "$set": { "is_admin": true } },
        )
        .await
        .map_err(StoreError::from)?;
    log::info!("user promoted to admin user_id={}", user.id);
    Ok(user.id)
}
