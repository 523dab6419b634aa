//! Everything that speaks Zoom: its field rules, its wire bodies, and the HTTP client.
//!
//! The rules and bodies are shared with the sandbox, so that the fake and the client read one
//! description of Zoom.

pub mod auth;
pub mod client;
pub mod plan;
pub mod rate_limit;
pub mod rules;
pub mod wire;
