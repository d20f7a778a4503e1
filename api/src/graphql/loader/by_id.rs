//! Rows by primary key: `SELECT … WHERE id IN (…)`, one statement per batch.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{
    ActiveModelTrait, EntityTrait, IdenStatic, Iterable, ModelTrait, PrimaryKeyToColumn,
    TryIntoModel, Value,
};

use super::{Columns, LoadError, Reader, column_count, plain_columns, rows_for_keys};
use crate::service::decode;

/// Loads rows of `E` by their integer primary key.
pub struct ById<E: EntityTrait> {
    reader: Reader,
    /// `SELECT … WHERE t.id ` (the keys follow); `None` for an entity without a key.
    select: Option<(String, E::Column)>,
    /// The columns read: the values a key brings.
    width: usize,
    _entity: PhantomData<fn() -> E>,
}

impl<E: EntityTrait> ById<E> {
    /// Reads `columns` of `E`.
    pub fn new(reader: Reader, columns: Columns) -> Self {
        let select = E::PrimaryKey::iter().next().map(|pk| {
            let column = pk.into_column();
            let select = format!(
                "SELECT {} FROM \"{}\" t WHERE t.\"{}\" ",
                plain_columns::<E>("t", columns),
                E::default().table_name(),
                column.as_str()
            );
            (select, column)
        });
        Self {
            reader,
            select,
            width: column_count::<E>(columns),
            _entity: PhantomData,
        }
    }
}

impl<E> Loader<i32> for ById<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync + 'static,
    E::Column: Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    type Value = Arc<E::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Arc<E::Model>>, LoadError> {
        let Some((select, column)) = &self.select else {
            return Ok(HashMap::new());
        };
        let rows = rows_for_keys(&self.reader, select, keys, "", self.width).await?;
        let rows = decode::models::<E>(&rows).map_err(Arc::new)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row.get(*column) {
                Value::Int(Some(id)) => Some((id, Arc::new(row))),
                _ => None,
            })
            .collect())
    }
}
