//! Database logic: no GraphQL or HTTP types here, only sea-orm and plain Rust.

pub mod access;
pub mod catalog;
pub mod changes;
pub mod dataset;
pub mod decode;
pub mod download;
pub mod export;
pub mod generate;
pub mod geojson;
pub mod keys;
pub mod page;
pub mod provenance;
pub mod relations;
pub mod search;
pub mod seed;
pub mod sql;
pub mod summary;
pub mod write;
