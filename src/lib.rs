//! The Career Nexus server: settings, the app factory, HTTP handlers per URL area,
//! extractors, pagination, error rendering and the WebSocket upgrades. Domain rules,
//! storage and realtime live in the `careernexus-actors` crate.

pub mod cli;
pub mod config;
pub mod docs;
pub mod error;
pub mod extractors;
pub mod forms;
pub mod http;
pub mod pagination;
pub mod startup;
pub mod ws;
