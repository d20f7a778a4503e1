//! What every request handler shares.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use sea_orm::DatabaseConnection;

use crate::db::StatementCounter;
use crate::graphql::IucSchema;

/// Shared, cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: IucSchema,
    pub statements: StatementCounter,
    /// Serve GraphiQL to browsers on `GET /graphql`.
    pub graphiql: bool,
    /// GraphQL operations executed (a batch counts each of its operations).
    pub operations: Arc<AtomicU64>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, statements: StatementCounter, graphiql: bool) -> Self {
        Self::with_summary_ttl(db, statements, graphiql, std::time::Duration::from_secs(30))
    }

    pub fn with_summary_ttl(
        db: DatabaseConnection,
        statements: StatementCounter,
        graphiql: bool,
        summary_ttl: std::time::Duration,
    ) -> Self {
        let schema = crate::graphql::build_schema(db.clone(), summary_ttl);
        Self {
            db,
            schema,
            statements,
            graphiql,
            operations: Arc::default(),
        }
    }
}
