//! The query root, merged from one root per domain.

mod catalog;

use async_graphql::MergedObject;

/// Read access to the whole IUC relation graph.
#[derive(MergedObject, Default)]
pub struct QueryRoot(catalog::CatalogQuery);
