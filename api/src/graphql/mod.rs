//! The GraphQL schema: a library that knows no HTTP. `http` mounts it; tests and the
//! `print-schema` command use it directly.

pub mod context;
pub mod expansion;
pub mod guard;

pub mod arguments;
pub mod input;
pub mod limits;
pub mod loader;
pub mod mutation;
pub mod object;
pub mod order;
pub mod prescan;
pub mod query;
pub mod scalar;
pub mod shape;
pub mod subscription;

use async_graphql::{Request, Schema};
use sea_orm::DatabaseConnection;

pub use loader::Loaders;
pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

/// The schema type served.
pub type IucSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// How the schema is built.
#[derive(Debug, Clone)]
pub struct SchemaOptions {
    /// How long the programme summary is served from memory before it is recomputed in the
    /// background.
    pub summary_ttl: std::time::Duration,
    /// Answer introspection queries (`__schema`, `__type`). Off, validation errors do not
    /// suggest names either ("Did you mean …?" would tell the schema).
    pub introspection: bool,
}

impl Default for SchemaOptions {
    fn default() -> Self {
        Self {
            summary_ttl: std::time::Duration::from_secs(30),
            introspection: true,
        }
    }
}

/// Builds the schema around a database pool. `max_nesting` is the limit the HTTP layer checks
/// first (`Limits::max_nesting`); the schema's own recursion check is set one above it, as a
/// second guard that never fires first.
pub fn build_schema(
    db: DatabaseConnection,
    options: &SchemaOptions,
    max_nesting: usize,
) -> IucSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .data(std::sync::Arc::new(crate::live::Live::new(db.clone())))
    .data(db)
    .data(std::sync::Arc::new(
        crate::service::summary::SummaryCache::new(options.summary_ttl),
    ))
    .limit_recursive_depth(max_nesting + 1);
    if !options.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The schema's SDL, as `schema.graphql` holds it. It needs no database: the SDL depends only
/// on the types.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish()
    // With `@specifiedBy` on the scalars that have a specification (`scalar.rs`).
    .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

/// Attaches what one request needs: fresh loaders, so caches never outlive the request, and
/// the caller's credentials (resolved on first use). Run the execution under the returned
/// `Waves::track`, so that batches start when the request waits for data.
pub fn prepare(
    request: Request,
    db: &DatabaseConnection,
    auth: std::sync::Arc<crate::auth::RequestAuth>,
    output_limit: u64,
) -> (Request, std::sync::Arc<loader::Waves>) {
    let mut request = request;
    let columns = request
        .parsed_query()
        .map_or(loader::Columns::All, loader::Columns::for_document);
    let loaders = Loaders::new(db, output_limit, columns);
    let waves = loaders.waves.clone();
    (request.data(loaders).data(auth), waves)
}

/// Attaches what a subscription needs: the caller's credentials, and no loaders. A
/// subscription lives for hours and async-graphql gives every event the request's data, so
/// loaders would serve rows cached at their first load; and they were most of what an idle
/// subscriber cost (60 KB each with them, measured with the load benchmark's feed mode). The
/// subscription fields resolve without them (a change event carries its own data); a field
/// that needed them would fail with an internal error, which the tests would show.
pub fn prepare_subscription(
    request: Request,
    auth: std::sync::Arc<crate::auth::RequestAuth>,
) -> Request {
    request.data(auth)
}
