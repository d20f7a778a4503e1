//! The query root, merged from one root per domain.

mod admin;
mod catalog;
mod changes;
mod node;
mod pairing;
mod place;
mod summary;

use async_graphql::{Context, MergedObject};

use crate::service::decode::Decode;

use crate::error::{AppError, Result};
use crate::graphql::context::db;
use crate::service::page::{self, Ordering, Page, PageArgs, PageFailure, Source};

/// Read access to the whole IUC relation graph.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    node::NodeQuery,
    pairing::PairingQuery,
    place::PlaceQuery,
    catalog::CatalogQuery,
    summary::SummaryQuery,
    admin::AdminQuery,
    changes::ChangesQuery,
);

/// One page of a top-level list.
pub(crate) async fn top_page<M: Decode>(
    ctx: &Context<'_>,
    source: &Source,
    ordering: &Ordering,
    args: &PageArgs,
) -> Result<Page<M>> {
    page::fetch(db(ctx)?, source, ordering, args)
        .await
        .map_err(|e| match e {
            PageFailure::Args(e) => AppError::BadUserInput(e.0),
            PageFailure::Db(e) => AppError::from(e),
        })
}
