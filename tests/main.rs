//! The integration tests: one binary (it links once). Every test drives the real stack: real
//! migrations, the real router, GraphQL over HTTP. Each behaviour runs on SQLite and, when
//! `IUC_TEST_POSTGRES_URL` is set, on PostgreSQL too, in a database of its own that is
//! dropped afterwards.

mod changes;
mod common;
mod compression;
mod decode;

mod downloads;
mod export;
mod generate;
mod graphiql;
mod hostile;
mod http_graphql;
mod http_spec;
mod limits;
mod migrations;
mod operations;
mod ops_hardening;
mod provenance;
mod read_api;
mod readme;
mod response_order;
mod rules;
mod schema;
mod seed;
mod statements;
mod strict_input;
mod updated_at;
mod websocket;
mod writes;
