//! The GraphQL schema: a library that knows no HTTP. `http` mounts it; tests and the
//! `print-schema` command use it directly.

pub mod id;
pub mod input;
pub mod loader;
pub mod object;
pub mod query;

use async_graphql::{EmptyMutation, EmptySubscription, Request, Schema};
use sea_orm::DatabaseConnection;

pub use loader::Loaders;
pub use query::QueryRoot;

/// The schema type served.
pub type IucSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// Builds the schema around a database pool.
pub fn build_schema(db: DatabaseConnection) -> IucSchema {
    Schema::build(QueryRoot::default(), EmptyMutation, EmptySubscription)
        .data(db)
        .finish()
}

/// The schema's SDL, as `schema.graphql` holds it. It needs no database: the SDL depends only
/// on the types.
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}

/// Attaches what one request needs: fresh loaders, so caches never outlive the request.
pub fn prepare(request: Request, db: &DatabaseConnection) -> Request {
    request.data(Loaders::new(db))
}
