//! Clients of outside systems: mail and media storage.

pub mod mail;
pub mod media;
