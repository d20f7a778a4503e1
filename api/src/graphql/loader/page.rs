//! Nested connections: a page of children for every parent at one level of the query, in one
//! windowed statement (`service::page::fetch_children`), and their total counts in one
//! `GROUP BY` statement. Keys that share a relation and page arguments — the same field at the
//! same place in the query — are loaded together.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{DatabaseConnection, DbErr};

use crate::service::decode::Decode;

use crate::service::page::{self, Page, PageArgs, PageFailure};
use crate::service::relations::Rel;

/// A parent's page of a relation.
pub type PageKey = (Rel, i32, PageArgs);

/// Why a page could not be loaded (cloneable, as DataLoader requires).
#[derive(Debug, Clone)]
pub enum PageLoadError {
    /// The page arguments are wrong: the client's error.
    Args(String),
    Db(Arc<DbErr>),
}

/// Loads pages of children of type `M`.
pub struct Pages<M> {
    db: DatabaseConnection,
    _model: PhantomData<fn() -> M>,
}

impl<M> Pages<M> {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            _model: PhantomData,
        }
    }
}

impl<M> Loader<PageKey> for Pages<M>
where
    M: Decode + Clone + Send + Sync + 'static,
{
    type Value = Page<M>;
    type Error = PageLoadError;

    async fn load(&self, keys: &[PageKey]) -> Result<HashMap<PageKey, Page<M>>, PageLoadError> {
        let mut groups: HashMap<(Rel, &PageArgs), Vec<i32>> = HashMap::new();
        for (relation, parent, args) in keys {
            groups.entry((*relation, args)).or_default().push(*parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for ((relation, args), parents) in groups {
            let pages = page::fetch_children::<M>(
                &self.db,
                &relation.source(&parents),
                relation.parent,
                &parents,
                &relation.ordering(),
                args,
            )
            .await
            .map_err(|e| match e {
                PageFailure::Args(e) => PageLoadError::Args(e.0),
                PageFailure::Db(e) => PageLoadError::Db(Arc::new(e)),
            })?;
            for (parent, page) in pages {
                out.insert((relation, parent, args.clone()), page);
            }
        }
        Ok(out)
    }
}

/// Loads the number of children per parent of a relation.
pub struct Counts {
    db: DatabaseConnection,
}

impl Counts {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl Loader<(Rel, i32)> for Counts {
    type Value = i64;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[(Rel, i32)]) -> Result<HashMap<(Rel, i32), i64>, Arc<DbErr>> {
        let mut groups: HashMap<Rel, Vec<i32>> = HashMap::new();
        for (relation, parent) in keys {
            groups.entry(*relation).or_default().push(*parent);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (relation, parents) in groups {
            let counts = page::count_children(
                &self.db,
                &relation.source(&parents),
                relation.parent,
                &parents,
            )
            .await
            .map_err(Arc::new)?;
            out.extend(
                counts
                    .into_iter()
                    .map(|(parent, n)| ((relation, parent), n)),
            );
        }
        Ok(out)
    }
}
