//! The Career Nexus actor system: domain actors per area, the realtime actors (socket
//! sessions, chat-room registry, presence, notifier), MongoDB documents and queries, and
//! the mail and media clients. Nothing here sees an HTTP request.

pub mod accounts;
pub mod actor_util;
pub mod chat;
pub mod choices;
pub mod clients;
pub mod config;
pub mod fixtures;
pub mod graph;
pub mod ids;
pub mod notifications;
pub mod profiles;
pub mod realtime;
pub mod store;
pub mod users;
pub mod validation;
