//! iuc-graph: the EU International Urban Cooperation programme as a GraphQL relation graph.
//!
//! The GraphQL schema (`graphql`) is a library that knows no HTTP; `http` mounts it on an axum
//! router; `server` binds, serves and shuts down gracefully; `service` holds database logic
//! that knows neither GraphQL nor HTTP.

pub mod auth;
pub mod cli;
pub mod client_addr;
pub mod config;
pub mod constraint;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod id;
pub mod json;
pub mod live;
pub mod metrics;
pub mod partial_date;
pub mod persisted;
pub mod ratelimit;
pub mod server;
pub mod service;
pub mod state;
pub mod telemetry;
pub mod text;

pub use config::Config;
pub use state::AppState;
