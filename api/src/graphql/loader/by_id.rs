//! Rows by primary key: `SELECT … WHERE id IN (…)`, one statement per batch.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, Iterable, ModelTrait, PrimaryKeyToColumn,
    QueryFilter, Value,
};

use super::LoadError;

/// Loads rows of `E` by their integer primary key.
pub struct ById<E> {
    db: DatabaseConnection,
    _entity: PhantomData<fn() -> E>,
}

impl<E> ById<E> {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            _entity: PhantomData,
        }
    }
}

impl<E> Loader<i32> for ById<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, E::Model>, LoadError> {
        let Some(pk) = E::PrimaryKey::iter().next() else {
            return Ok(HashMap::new());
        };
        let column = pk.into_column();
        let rows = E::find()
            .filter(column.is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.get(column) {
                Value::Int(Some(id)) => Some((id, row)),
                _ => None,
            })
            .collect())
    }
}
