//! Realtime: one [`session::SocketSession`] actor per WebSocket, the
//! [`registry::ChatRegistry`] that knows which sockets belong to which user and chat
//! room, and [`presence::Presence`]. Domain actors never hold socket addresses: they
//! send events here (or to the notifier) and the registry fans frames out in memory.

pub mod frames;
pub mod presence;
pub mod registry;
pub mod session;

use actix::Message;

use crate::ids::UserId;

/// Which sockets a [`CloseSockets`] request closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketTarget {
    /// Every socket opened with tokens of this sign-in (the refresh token's `jti`).
    Session(String),
    /// Every socket of this user.
    User(UserId),
}

/// Closes sockets with code 4401 after sign-out, password reset or account deletion.
/// Sent by the accounts actor to the registry.
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct CloseSockets {
    pub target: SocketTarget,
}

/// Close code for sockets whose sign-in ended (4000-4999 is free for applications; 4401
/// mirrors HTTP 401).
pub const CLOSE_SIGNED_OUT: u16 = 4401;
