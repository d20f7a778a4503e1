//! What every request handler shares.

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
}

impl AppState {
    pub fn new(db: DatabaseConnection, statements: StatementCounter, graphiql: bool) -> Self {
        let schema = crate::graphql::build_schema(db.clone());
        Self {
            db,
            schema,
            statements,
            graphiql,
        }
    }
}
