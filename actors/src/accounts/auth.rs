//! Turns an access token into the signed-in principal. Used by the HTTP extractor and
//! the WebSocket upgrade alike, so both accept exactly the same tokens.

use bson::doc;

use super::documents::SessionDoc;
use super::tokens::{TokenError, TokenKeys, TokenType};
use crate::ids::UserId;
use crate::store::{Store, StoreError, SESSIONS};

/// The user behind a valid access token and the sign-in it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    /// The sign-in session: the `jti` of the refresh token issued with the access token.
    pub session_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("token has been revoked or its account deleted")]
    Revoked,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks access tokens against their signature and the stored sign-in sessions.
#[derive(Clone)]
pub struct Authenticator {
    store: Store,
    keys: TokenKeys,
}

impl Authenticator {
    pub fn new(store: Store, keys: TokenKeys) -> Self {
        Self { store, keys }
    }

    /// Returns the principal of a valid, unrevoked access token.
    ///
    /// # Errors
    /// [`AuthError::Token`] for a bad or expired token, [`AuthError::Revoked`] after sign-out
    /// or account deletion, [`AuthError::Store`] when the database fails.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthError> {
        let claims = self.keys.verify(access_token, TokenType::Access)?;
        let session = self
            .store
            .collection::<SessionDoc>(SESSIONS)
            .find_one(doc! { "_id": &claims.jti })
            .await
            .map_err(StoreError::from)?;
        match session {
            Some(session) if session.revoked_at.is_none() && session.user_id == claims.user_id => {
                Ok(Principal {
                    user_id: session.user_id,
                    session_id: session.refresh_jti,
                })
            }
            _ => Err(AuthError::Revoked),
        }
    }
}
