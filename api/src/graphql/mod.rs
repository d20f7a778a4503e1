//! The GraphQL schema: a library that knows no HTTP. `http` mounts it; tests and the
//! `print-schema` command use it directly.

pub mod id;
pub mod input;
pub mod loader;
pub mod mutation;
pub mod object;
pub mod query;

use async_graphql::{EmptySubscription, Request, Schema};
use sea_orm::DatabaseConnection;

pub use loader::Loaders;
pub use mutation::MutationRoot;
pub use query::QueryRoot;

/// The schema type served.
pub type IucSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Builds the schema around a database pool; `summary_ttl` is how long the programme summary
/// is served from memory before it is recomputed in the background.
pub fn build_schema(db: DatabaseConnection, summary_ttl: std::time::Duration) -> IucSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .data(db)
    .data(std::sync::Arc::new(
        crate::service::summary::SummaryCache::new(summary_ttl),
    ))
    .finish()
}

/// The schema's SDL, as `schema.graphql` holds it. It needs no database: the SDL depends only
/// on the types.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .finish()
    .sdl()
}

/// Attaches what one request needs: fresh loaders, so caches never outlive the request, and
/// the caller's credentials (resolved on first use).
pub fn prepare(
    request: Request,
    db: &DatabaseConnection,
    auth: std::sync::Arc<crate::auth::RequestAuth>,
) -> Request {
    request.data(Loaders::new(db)).data(auth)
}
