//! What a resolver reads from the request's context: the database, the request's loaders, the
//! caller, and the schema-wide summary cache. One place for these lookups, so that queries,
//! objects and mutations depend on this module rather than on each other.
//!
//! Each is attached once: the database and the summary cache by `build_schema`, the
//! loaders and the credentials per request by `graphql::prepare`. A missing one is a wiring bug,
//! reported as `INTERNAL_SERVER_ERROR` (and logged), never as the caller's fault.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::DatabaseConnection;

use super::loader::Loaders;
use crate::auth::{Principal, RequestAuth};
use crate::error::{AppError, Result};
use crate::service::summary::SummaryCache;

/// The database pool the schema was built with.
pub(crate) fn db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|_| AppError::Internal("no database in the schema".into()))
}

/// The loaders of the request being resolved.
pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders> {
    ctx.data::<Loaders>()
        .map_err(|_| AppError::Internal("the request has no loaders".into()))
}

/// The caller of this request, or `UNAUTHENTICATED` (the key is looked up on first use).
pub(crate) async fn principal(ctx: &Context<'_>) -> Result<Principal> {
    let auth = ctx
        .data::<Arc<RequestAuth>>()
        .map_err(|_| AppError::Internal("the request carries no credentials".into()))?;
    auth.require(db(ctx)?).await
}

/// The programme summary, computed at most once per its time to live.
pub(crate) fn summary_cache<'a>(ctx: &Context<'a>) -> Result<&'a Arc<SummaryCache>> {
    ctx.data::<Arc<SummaryCache>>()
        .map_err(|_| AppError::Internal("no summary cache in the schema".into()))
}
