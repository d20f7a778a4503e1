//! Nested connections: a page of children for every parent at one level of the query, in one
//! windowed statement (`service::page::children_statement`), and their total counts in one
//! `GROUP BY` statement. Keys that share a relation and page arguments — the same field at the
//! same place in the query — are loaded together.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::DbErr;

use super::{Columns, Reader, column_count, plain_columns};

use crate::service::decode::Decode;

use crate::service::page::{self, Page, PageArgs};
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
    reader: Reader,
    /// The columns read (`c."id", …`: those `Columns` keeps).
    select: String,
    /// How many.
    width: usize,
    _model: PhantomData<fn() -> M>,
}

impl<M: Decode> Pages<M> {
    pub fn new(reader: Reader, columns: Columns) -> Self {
        Self {
            reader,
            width: column_count::<M::Entity>(columns),
            select: plain_columns::<M::Entity>("c", columns),
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
        let groups: Vec<((Rel, &PageArgs), Vec<i32>)> = groups.into_iter().collect();
        let statements = groups
            .iter()
            .map(|((relation, args), parents)| {
                page::children_statement(
                    &relation.source(parents),
                    &self.select,
                    relation.parent,
                    parents,
                    &relation.ordering(),
                    args,
                )
                .map(|sql| (sql, parents.len() * (args.size as usize + 1) * self.width))
                .map_err(|e| PageLoadError::Args(e.0))
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Every group's statement in one hand-in: with the rest of the wave on PostgreSQL.
        let results = self
            .reader
            .rows_of_each(statements)
            .await
            .map_err(PageLoadError::Db)?;
        let mut out = HashMap::with_capacity(keys.len());
        for (((relation, args), parents), rows) in groups.into_iter().zip(results) {
            let pages = page::children_pages::<M>(&rows, &parents, &relation.ordering(), args)
                .map_err(|e| PageLoadError::Db(Arc::new(e)))?;
            for (parent, page) in pages {
                out.insert((relation, parent, args.clone()), page);
            }
        }
        Ok(out)
    }
}

/// Loads the number of children per parent of a relation.
pub struct Counts {
    reader: Reader,
}

impl Counts {
    pub fn new(reader: Reader) -> Self {
        Self { reader }
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
        let groups: Vec<(Rel, Vec<i32>)> = groups.into_iter().collect();
        let statements = groups
            .iter()
            .map(|(relation, parents)| {
                let sql =
                    page::count_statement(&relation.source(parents), relation.parent, parents);
                // A parent and its count per row.
                (sql, parents.len() * 2)
            })
            .collect();
        let results = self.reader.rows_of_each(statements).await?;
        let mut out = HashMap::with_capacity(keys.len());
        for ((relation, parents), rows) in groups.into_iter().zip(results) {
            let counts = page::counts_of(&rows, &parents).map_err(Arc::new)?;
            out.extend(
                counts
                    .into_iter()
                    .map(|(parent, n)| ((relation, parent), n)),
            );
        }
        Ok(out)
    }
}
