//! Database logic: no GraphQL or HTTP types here, only sea-orm and plain Rust.

pub mod catalog;
pub mod dataset;
pub mod seed;
