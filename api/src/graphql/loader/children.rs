//! Rows by a foreign key: `SELECT … WHERE fk IN (keys) ORDER BY …`, grouped per parent. One
//! statement per batch, whatever the number of parents.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{ActiveModelTrait, EntityTrait, IdenStatic, ModelTrait, TryIntoModel, Value};

use super::{
    Columns, LoadError, ROWS_PER_PARENT, Reader, by_parent, column_count, plain_columns,
    rows_for_keys,
};
use crate::service::decode;

/// Loads the rows of `E` whose `column` (a foreign key) is one of the keys, in `order`.
pub struct Children<E: EntityTrait> {
    reader: Reader,
    column: E::Column,
    /// `SELECT … WHERE t.fk ` (the keys follow).
    select: String,
    /// ` ORDER BY t.order` (ascending), or nothing.
    order: String,
    /// The values a parent brings, about.
    per_key: usize,
}

impl<E: EntityTrait> Children<E> {
    /// Reads `columns` of the rows of `E` by `column`, in `order` after the parent.
    pub fn new(
        reader: Reader,
        column: E::Column,
        order: Option<E::Column>,
        columns: Columns,
    ) -> Self {
        let select = format!(
            "SELECT {} FROM \"{}\" t WHERE t.\"{}\" ",
            plain_columns::<E>("t", columns),
            E::default().table_name(),
            column.as_str()
        );
        let order = order
            .map(|o| format!(" ORDER BY t.\"{}\"", o.as_str()))
            .unwrap_or_default();
        Self {
            reader,
            column,
            select,
            order,
            per_key: ROWS_PER_PARENT * column_count::<E>(columns),
        }
    }
}

impl<E> Loader<i32> for Children<E>
where
    E: EntityTrait,
    E::Model: Clone + Send + Sync + 'static,
    E::Column: Send + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    type Value = Arc<Vec<Arc<E::Model>>>;
    type Error = LoadError;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Arc<Vec<Arc<E::Model>>>>, LoadError> {
        let rows =
            rows_for_keys(&self.reader, &self.select, keys, &self.order, self.per_key).await?;
        let rows = decode::models::<E>(&rows).map_err(Arc::new)?;
        Ok(by_parent(
            rows.into_iter()
                .filter_map(|row| match row.get(self.column) {
                    Value::Int(Some(key)) => Some((key, row)),
                    _ => None,
                }),
            keys.len(),
        ))
    }
}
