//! Rows by primary key: `SELECT … WHERE id IN (…)`, one statement per batch.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, Iterable, ModelTrait,
    PrimaryKeyToColumn, QueryFilter, QueryTrait, TryIntoModel, Value,
};

use super::{LoadError, qualified};
use crate::service::decode;
use crate::service::sql::keys_condition;

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
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    type Value = Arc<E::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Arc<E::Model>>, LoadError> {
        let Some(pk) = E::PrimaryKey::iter().next() else {
            return Ok(HashMap::new());
        };
        let column = pk.into_column();
        let backend = self.db.get_database_backend();
        let statement = E::find()
            .filter(keys_condition(
                backend,
                &qualified::<E>(column),
                keys.iter().copied(),
            ))
            .build(backend);
        let rows = self.db.query_all_raw(statement).await.map_err(Arc::new)?;
        let rows = decode::models::<E>(&rows).map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.get(column) {
                Value::Int(Some(id)) => Some((id, Arc::new(row))),
                _ => None,
            })
            .collect())
    }
}
