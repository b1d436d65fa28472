//! The rules behind each accounts message.

use actix::Recipient;
use bson::doc;
use chrono::{Duration, Utc};
use mongodb::options::ReplaceOptions;
use secrecy::SecretString;

use super::documents::{CodeState, PasswordResetDoc, PendingSignupDoc, SessionDoc};
use super::otp::{CodeHasher, IssuedCode};
use super::password;
use super::tokens::{TokenError, TokenKeys, TokenType};
use super::*;
use crate::clients::mail::Mail;
use crate::ids::Sequence;
use crate::realtime::SocketTarget;
use crate::store::{
    CERTIFICATIONS, CONNECTIONS, EDUCATIONS, EXPERIENCES, FOLLOWS, LAST_SEEN, NOTIFICATIONS,
    PASSWORD_RESETS, PENDING_SIGNUPS, SESSIONS, USERS,
};
use crate::users::{
    delete_user, find_user_by_email, insert_user, user_key, ProfileFields, SettingsDoc, UserDoc,
};

const SIGNUP: &str = "signup";
const RESET: &str = "reset";

/// Shared state of the accounts actor.
pub struct AccountsService {
    store: Store,
    keys: TokenKeys,
    codes: CodeHasher,
    mailer: Mailer,
    config: AuthConfig,
    sockets: Recipient<CloseSockets>,
    /// A bcrypt hash of a random string at the configured cost, verified when an address
    /// has no account so that a failed sign-in takes as long whether or not it exists.
    dummy_hash: tokio::sync::OnceCell<String>,
}

impl AccountsService {
    pub fn new(
        store: Store,
        keys: TokenKeys,
        mailer: Mailer,
        config: AuthConfig,
        sockets: Recipient<CloseSockets>,
    ) -> Self {
        let codes = CodeHasher::new(SecretString::from(format!(
            "otp:{}",
            secrecy::ExposeSecret::expose_secret(&config.jwt_secret)
        )));
        Self {
            store,
            keys,
            codes,
            mailer,
            config,
            sockets,
            dummy_hash: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn start_sign_up(&self, request: StartSignUp) -> Result<CodeSent, AccountsError> {
        password::check_new_password(
            &request.password1,
            &request.password2,
            request.email.as_str(),
        )?;
        if self.user_by_email(&request.email).await?.is_some() {
            return Err(AccountsError::EmailTaken);
        }
        let pending = self.store.collection::<PendingSignupDoc>(PENDING_SIGNUPS);
        if let Some(existing) = pending
            .find_one(doc! { "_id": request.email.as_str() })
            .await
            .map_err(StoreError::from)?
        {
            self.check_resend_interval(&existing.code)?;
        }

        let password_hash = password::hash(request.password1, self.config.bcrypt_cost).await?;
        let issued = self.codes.issue(SIGNUP, request.email.as_str());
        let document = PendingSignupDoc {
            email: request.email.as_str().to_owned(),
            password_hash,
            industry: request.industry.map(str::to_owned),
            code: self.code_state(&issued),
        };
        pending
            .replace_one(doc! { "_id": request.email.as_str() }, &document)
            .with_options(ReplaceOptions::builder().upsert(true).build())
            .await
            .map_err(StoreError::from)?;

        let mail = self.code_mail(
            &request.email,
            &issued,
            "Verify your Career Nexus email",
            "finish creating your account",
        );
        if let Err(error) = self.mailer.send(mail).await {
            // Forget the code nobody received, so that an immediate retry is not refused
            // by the resend interval.
            pending
                .delete_one(doc! { "_id": request.email.as_str() })
                .await
                .map_err(StoreError::from)?;
            return Err(error.into());
        }
        log::info!(
            "sign-up code mailed kind={}",
            if request.industry.is_some() {
                "mentor"
            } else {
                "learner"
            }
        );
        Ok(CodeSent {
            email: request.email,
        })
    }

    pub async fn complete_sign_up(
        &self,
        request: CompleteSignUp,
    ) -> Result<SignedIn, AccountsError> {
        let pending = self.store.collection::<PendingSignupDoc>(PENDING_SIGNUPS);
        let Some(signup) = pending
            .find_one(doc! { "_id": request.email.as_str() })
            .await
            .map_err(StoreError::from)?
        else {
            return Err(FieldErrors::single(
                "email",
                "No sign-up is waiting for a code at this address. Send the form without otp first.",
            )
            .into());
        };
        let digest = self
            .codes
            .digest(SIGNUP, request.email.as_str(), &request.otp);
        self.check_code(
            PENDING_SIGNUPS,
            request.email.as_str(),
            &signup.code,
            &digest,
        )
        .await?;
        if let Some(password1) = request.password1 {
            if !password::verify(password1, signup.password_hash.clone()).await? {
                return Err(FieldErrors::single(
                    "password1",
                    "This is not the password given when the code was requested. Repeat that password, or restart sign-up.",
                )
                .into());
            }
        }
        // Deleting with the digest in the filter consumes the code exactly once even when
        // two requests race.
        let consumed = pending
            .delete_one(doc! { "_id": request.email.as_str(), "code_digest": &digest })
            .await
            .map_err(StoreError::from)?;
        if consumed.deleted_count == 0 {
            return Err(FieldErrors::single(
                "otp",
                "This code has already been used. Request a new one.",
            )
            .into());
        }
        self.create_user(signup).await
    }

    pub async fn verify_sign_up_link(
        &self,
        request: VerifySignUpLink,
    ) -> Result<SignedIn, AccountsError> {
        let digest = self.codes.link_digest(SIGNUP, &request.hash);
        let pending = self.store.collection::<PendingSignupDoc>(PENDING_SIGNUPS);
        let signup = pending
            .find_one_and_delete(
                doc! { "link_digest": &digest, "expires_at": { "$gt": bson::DateTime::now() } },
            )
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| {
                FieldErrors::single(
                    "hash",
                    "This link is invalid or has expired. Sign up again to get a new one.",
                )
            })?;
        self.create_user(signup).await
    }

    pub async fn sign_in(&self, request: SignIn) -> Result<SignedIn, AccountsError> {
        let user = match Email::parse(&request.email) {
            Ok(email) => self.user_by_email(&email).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            let dummy = self
                .dummy_hash
                .get_or_try_init(|| {
                    password::hash(uuid::Uuid::new_v4().to_string(), self.config.bcrypt_cost)
                })
                .await?;
            password::verify(request.password, dummy.clone()).await?;
            return Err(AccountsError::InvalidCredentials);
        };
        if !password::verify(request.password, user.password_hash.clone()).await? {
            log::info!("sign-in rejected: wrong password user_id={}", user.id);
            return Err(AccountsError::InvalidCredentials);
        }
        self.open_session(&user).await
    }

    pub async fn sign_out(&self, request: SignOut) -> Result<(), AccountsError> {
        let claims = self
            .keys
            .verify(&request.refresh, TokenType::Refresh)
            .map_err(|error| {
                FieldErrors::single(
                    "refresh",
                    match error {
                        TokenError::Invalid => "Token is invalid or expired.",
                        TokenError::WrongType(_) => "This is not a refresh token.",
                    },
                )
            })?;
        if claims.user_id != request.principal.user_id {
            return Err(AccountsError::Forbidden(
                "This refresh token belongs to another account.",
            ));
        }
        let revoked = self
            .store
            .collection::<SessionDoc>(SESSIONS)
            .update_one(
                doc! { "refresh_jti": &claims.jti, "revoked_at": null },
                doc! { "$set": { "revoked_at": bson::DateTime::now() } },
            )
            .await
            .map_err(StoreError::from)?;
        if revoked.matched_count == 0 {
            return Err(FieldErrors::single("refresh", "Token is blacklisted.").into());
        }
        self.close_sockets(SocketTarget::Session(claims.jti)).await;
        log::info!("signed out user_id={}", claims.user_id);
        Ok(())
    }

    pub async fn request_password_reset(
        &self,
        request: RequestPasswordReset,
    ) -> Result<CodeSent, AccountsError> {
        let Some(user) = self.user_by_email(&request.email).await? else {
            log::debug!("password reset requested for an address without account");
            return Ok(CodeSent {
                email: request.email,
            });
        };
        let resets = self.store.collection::<PasswordResetDoc>(PASSWORD_RESETS);
        if let Some(existing) = resets
            .find_one(doc! { "_id": request.email.as_str() })
            .await
            .map_err(StoreError::from)?
        {
            self.check_resend_interval(&existing.code)?;
        }
        let issued = self.codes.issue(RESET, request.email.as_str());
        let document = PasswordResetDoc {
            email: request.email.as_str().to_owned(),
            user_id: user.id,
            code: self.code_state(&issued),
            eligible_until: None,
        };
        resets
            .replace_one(doc! { "_id": request.email.as_str() }, &document)
            .with_options(ReplaceOptions::builder().upsert(true).build())
            .await
            .map_err(StoreError::from)?;
        let mail = self.code_mail(
            &request.email,
            &issued,
            "Reset your Career Nexus password",
            "choose a new password",
        );
        if let Err(error) = self.mailer.send(mail).await {
            resets
                .delete_one(doc! { "_id": request.email.as_str() })
                .await
                .map_err(StoreError::from)?;
            return Err(error.into());
        }
        log::info!("password reset code mailed user_id={}", user.id);
        Ok(CodeSent {
            email: request.email,
        })
    }

    pub async fn verify_password_reset(
        &self,
        request: VerifyPasswordReset,
    ) -> Result<CodeSent, AccountsError> {
        let resets = self.store.collection::<PasswordResetDoc>(PASSWORD_RESETS);
        let (filter, field) = match &request.proof {
            ResetProof::Code { email, otp } => {
                let Some(reset) = resets
                    .find_one(doc! { "_id": email.as_str() })
                    .await
                    .map_err(StoreError::from)?
                else {
                    return Err(FieldErrors::single("otp", "No password reset is waiting for a code at this address. Send the email alone first.").into());
                };
                let digest = self.codes.digest(RESET, email.as_str(), otp);
                self.check_code(PASSWORD_RESETS, email.as_str(), &reset.code, &digest)
                    .await?;
                (doc! { "_id": email.as_str(), "code_digest": digest }, "otp")
            }
            ResetProof::Link { hash } => (
                doc! { "link_digest": self.codes.link_digest(RESET, hash), "expires_at": { "$gt": bson::DateTime::now() } },
                "hash",
            ),
        };
        let eligible_until = Utc::now() + seconds(self.config.reset_eligibility_secs);
        // Overwriting the digests makes the code and the link single-use.
        let verified = resets
            .find_one_and_update(
                filter,
                doc! { "$set": {
                    "eligible_until": bson::DateTime::from_chrono(eligible_until),
                    "code_digest": "used",
                    "link_digest": "used",
                } },
            )
            .await
            .map_err(StoreError::from)?
            .ok_or_else(|| {
                FieldErrors::single(field, "This code is invalid, expired or already used.")
            })?;
        log::info!("password reset verified user_id={}", verified.user_id);
        Ok(CodeSent {
            email: Email::parse(&verified.email)
                .map_err(|_| StoreError::Inconsistent("stored reset address is invalid"))?,
        })
    }

    pub async fn reset_password(&self, request: ResetPassword) -> Result<CodeSent, AccountsError> {
        password::check_new_password(
            &request.password1,
            &request.password2,
            request.email.as_str(),
        )?;
        let not_eligible = || {
            FieldErrors::single(
                "email",
                "This account is not eligible for a password change. Verify the emailed code first; a verified code is valid for one change within a limited time.",
            )
        };
        let resets = self.store.collection::<PasswordResetDoc>(PASSWORD_RESETS);
        let now = bson::DateTime::now();
        let eligible = resets
            .find_one(doc! { "_id": request.email.as_str(), "eligible_until": { "$gt": now } })
            .await
            .map_err(StoreError::from)?
            .ok_or_else(not_eligible)?;
        let password_hash = password::hash(request.password1, self.config.bcrypt_cost).await?;
        let consumed = resets
            .delete_one(doc! { "_id": request.email.as_str(), "eligible_until": { "$gt": now } })
            .await
            .map_err(StoreError::from)?;
        if consumed.deleted_count == 0 {
            return Err(not_eligible().into());
        }
        self.store
            .collection::<UserDoc>(USERS)
            .update_one(
                doc! { "_id": user_key(eligible.user_id) },
                doc! { "$set": { "password_hash": password_hash } },
            )
            .await
            .map_err(StoreError::from)?;
        self.revoke_all_sessions(eligible.user_id).await?;
        log::info!("password changed by reset user_id={}", eligible.user_id);
        Ok(CodeSent {
            email: request.email,
        })
    }

    pub async fn delete_account(&self, request: DeleteAccount) -> Result<(), AccountsError> {
        let caller = crate::users::find_user(&self.store, request.principal.user_id)
            .await?
            .ok_or(AccountsError::NotFound("Your account no longer exists."))?;
        let is_own = caller.email == request.email.as_str();
        if !is_own && !caller.is_admin {
            return Err(AccountsError::Forbidden(
                "You can only delete your own account.",
            ));
        }
        let target = if is_own {
            caller
        } else {
            self.user_by_email(&request.email)
                .await?
                .ok_or(AccountsError::NotFound("No account has this email."))?
        };
        self.remove_user(&target).await?;
        log::info!(
            "account deleted user_id={} by_user_id={}",
            target.id,
            request.principal.user_id
        );
        Ok(())
    }

    async fn user_by_email(&self, email: &Email) -> Result<Option<UserDoc>, StoreError> {
        find_user_by_email(&self.store, email.as_str()).await
    }

    async fn create_user(&self, signup: PendingSignupDoc) -> Result<SignedIn, AccountsError> {
        let id = UserId(self.store.ids().next(Sequence::Users).await?);
        let user_type = if signup.industry.is_some() {
            UserType::Mentor
        } else {
            UserType::Learner
        };
        let user = UserDoc {
            id,
            email: signup.email,
            password_hash: signup.password_hash,
            user_type,
            is_admin: false,
            industry: signup.industry,
            profile: ProfileFields {
                timezone: "Africa/Lagos".to_owned(),
                ..ProfileFields::default()
            },
            settings: SettingsDoc::default(),
            company: None,
            profile_views: 0,
            created_at: Utc::now(),
        };
        if let Err(error) = insert_user(&self.store, &user).await {
            return Err(if error.is_duplicate_key() {
                AccountsError::EmailTaken
            } else {
                error.into()
            });
        }
        log::info!(
            "account created user_id={} user_type={}",
            id,
            user_type.as_str()
        );
        self.open_session(&user).await
    }

    async fn open_session(&self, user: &UserDoc) -> Result<SignedIn, AccountsError> {
        let pair = self.keys.issue(user.id);
        let session = SessionDoc {
            refresh_jti: pair.refresh_jti.clone(),
            access_jti: pair.access_jti.clone(),
            user_id: user.id,
            created_at: Utc::now(),
            expires_at: chrono::DateTime::from_timestamp(pair.refresh_expires_at, 0)
                .unwrap_or_else(Utc::now),
            revoked_at: None,
        };
        self.store
            .collection::<SessionDoc>(SESSIONS)
            .insert_one(&session)
            .await
            .map_err(StoreError::from)?;
        Ok(SignedIn {
            access: pair.access,
            refresh: pair.refresh,
            user_id: user.id,
            email: user.email.clone(),
            user_type: user.user_type,
        })
    }

    /// Deletes an account and what only it owns. Sessions go first so that the account's
    /// tokens stop working even if a later step fails; the user document goes last so
    /// that a failed deletion can be repeated. Chat rooms and messages stay for the other
    /// participants, who then see a deleted user.
    async fn remove_user(&self, user: &UserDoc) -> Result<(), AccountsError> {
        let db = self.store.database();
        db.collection::<bson::Document>(SESSIONS)
            .delete_many(doc! { "user_id": user.id })
            .await
            .map_err(StoreError::from)?;
        self.close_sockets(SocketTarget::User(user.id)).await;
        for collection in [EXPERIENCES, EDUCATIONS, CERTIFICATIONS, NOTIFICATIONS] {
            db.collection::<bson::Document>(collection)
                .delete_many(doc! { "user_id": user.id })
                .await
                .map_err(StoreError::from)?;
        }
        db.collection::<bson::Document>(FOLLOWS)
            .delete_many(doc! { "$or": [{ "follower": user.id }, { "followed": user.id }] })
            .await
            .map_err(StoreError::from)?;
        db.collection::<bson::Document>(CONNECTIONS)
            .delete_many(doc! { "$or": [{ "user": user.id }, { "connection": user.id }] })
            .await
            .map_err(StoreError::from)?;
        db.collection::<bson::Document>(PASSWORD_RESETS)
            .delete_many(doc! { "user_id": user.id })
            .await
            .map_err(StoreError::from)?;
        db.collection::<bson::Document>(LAST_SEEN)
            .delete_one(doc! { "_id": user_key(user.id) })
            .await
            .map_err(StoreError::from)?;
        delete_user(&self.store, user).await?;
        Ok(())
    }

    async fn revoke_all_sessions(&self, user_id: UserId) -> Result<(), AccountsError> {
        self.store
            .collection::<SessionDoc>(SESSIONS)
            .update_many(
                doc! { "user_id": user_id, "revoked_at": null },
                doc! { "$set": { "revoked_at": bson::DateTime::now() } },
            )
            .await
            .map_err(StoreError::from)?;
        self.close_sockets(SocketTarget::User(user_id)).await;
        Ok(())
    }

    async fn close_sockets(&self, target: SocketTarget) {
        if let Err(error) = self
            .sockets
            .send(CloseSockets {
                target: target.clone(),
            })
            .await
        {
            log::error!("could not close revoked sockets target={target:?}: {error}");
        }
    }

    fn code_state(&self, issued: &IssuedCode) -> CodeState {
        let now = Utc::now();
        CodeState {
            code_digest: issued.code_digest.clone(),
            link_digest: issued.link_digest.clone(),
            sent_at: now,
            expires_at: now + seconds(self.config.otp_lifetime_secs),
            failed_attempts: 0,
        }
    }

    fn check_resend_interval(&self, code: &CodeState) -> Result<(), AccountsError> {
        let next_allowed = code.sent_at + seconds(self.config.otp_resend_interval_secs);
        let now = Utc::now();
        if now < next_allowed {
            let wait_secs = u64::try_from((next_allowed - now).num_seconds())
                .unwrap_or(0)
                .max(1);
            return Err(AccountsError::ResendTooSoon { wait_secs });
        }
        Ok(())
    }

    /// Compares a typed code with the stored one, counting wrong attempts. A locked or
    /// expired code is refused before comparing.
    async fn check_code(
        &self,
        collection: &str,
        email: &str,
        code: &CodeState,
        digest: &str,
    ) -> Result<(), AccountsError> {
        if code.failed_attempts >= self.config.otp_max_attempts {
            return Err(FieldErrors::single(
                "otp",
                "Too many wrong codes. Request a new code by sending the email without otp.",
            )
            .into());
        }
        if code.expires_at <= Utc::now() {
            return Err(FieldErrors::single(
                "otp",
                "This code has expired. Request a new one by sending the email without otp.",
            )
            .into());
        }
        if code.code_digest != digest {
            self.store
                .collection::<bson::Document>(collection)
                .update_one(
                    doc! { "_id": email },
                    doc! { "$inc": { "failed_attempts": 1 } },
                )
                .await
                .map_err(StoreError::from)?;
            log::info!("wrong code entered collection={collection}");
            return Err(FieldErrors::single("otp", "Invalid code.").into());
        }
        Ok(())
    }

    fn code_mail(&self, email: &Email, issued: &IssuedCode, subject: &str, purpose: &str) -> Mail {
        let minutes = self.config.otp_lifetime_secs.div_ceil(60);
        Mail {
            to: email.as_str().to_owned(),
            subject: subject.to_owned(),
            body: format!(
                "Hello,\n\nYour Career Nexus code is {code}. Enter it in the app to {purpose}.\n\
                 If the app asks for a verification hash instead, use: {hash}\n\n\
                 Both expire in {minutes} minutes and work once. If you did not ask for this, ignore this mail.\n",
                code = issued.code,
                hash = issued.link_token,
            ),
        }
    }
}

fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX / 1000))
}
