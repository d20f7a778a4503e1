//! GraphQL object types. Each wraps a sea-orm model (`pub struct City(pub Arc<city::Model>)`):
//! relation fields need the per-request loaders, and the API's shape is designed here rather
//! than mirrored from the tables.
//!
//! **Serial objects.** The types a list renders by the hundred (`Participant`, `City`, `Region`,
//! `Country`, `Theme`, `Sdg`) are `#[Object(serial)]`: their fields resolve one after another
//! instead of as a set of concurrent futures (async-graphql gives every object a
//! `FuturesUnordered` with a task per field; on the pairings table that was 4% of the server's
//! instructions: callgrind, see "Profiling" in docs/performance.md). Loads still batch across the list's items, which resolve concurrently; what
//! changes is that two relation fields of one such object (say a city's `country` and its
//! `pairings`, neither cached) load in two waves rather than one: one more round trip, the same
//! number of statements.

mod activity;
mod audit;
mod change;
mod connection;
mod enums;
mod node;
mod pairing;
mod place;
mod programme;
mod source;
mod stakeholder;
mod theme;
mod ucap;

pub use activity::*;
pub use audit::*;
pub use change::*;
pub use connection::*;
pub use enums::*;
pub use node::*;
pub use pairing::*;
pub use place::*;
pub use programme::*;
pub use source::*;
pub use stakeholder::*;
pub use theme::*;
pub use ucap::*;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use super::loader::Batcher;

use super::loader::LoadError;
use super::loader::budget::Weigh;
use crate::error::{AppError, Result};
pub(crate) use crate::graphql::context::loaders;

/// One row by key through a loader.
pub(crate) async fn load_one<L, K>(loader: &Batcher<L>, key: K) -> Result<Option<L::Value>>
where
    L: Loader<K, Error = LoadError>,
    L::Value: Weigh,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    Ok(loader.load_one(key).await?)
}

/// Rows by keys through a loader, in the order of `keys`, skipping keys with no row.
pub(crate) async fn load_ordered<L, K>(loader: &Batcher<L>, keys: Vec<K>) -> Result<Vec<L::Value>>
where
    L: Loader<K, Error = LoadError>,
    L::Value: Weigh,
    K: Send + Sync + Hash + Eq + Clone + 'static,
{
    let mut found: HashMap<K, L::Value> = loader.load_many(keys.iter().cloned()).await?;
    Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
}

/// The rows a children loader holds for one parent (none is an empty list). Loaders hold rows
/// behind `Arc`s: a value is cloned for the cache and for every field that asks for it, and a
/// reference count is cheaper to copy than a row's strings.
pub(crate) async fn load_children<L, T>(loader: &Batcher<L>, key: i32) -> Result<Vec<Arc<T>>>
where
    L: Loader<i32, Value = Arc<Vec<Arc<T>>>, Error = LoadError>,
    T: Weigh + Send + Sync + 'static,
{
    Ok(loader
        .load_one(key)
        .await?
        .map(|rows| rows.as_ref().clone())
        .unwrap_or_default())
}

/// A row the database must hold (a foreign key points at it): missing is an internal error.
pub(crate) fn required<T>(row: Option<T>, what: &str) -> Result<T> {
    row.ok_or_else(|| AppError::Internal(format!("dangling reference to {what}")))
}
