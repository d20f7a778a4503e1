//! Records reached through a link table, per parent, in one statement: a pairing's themes
//! (`pairing_theme`) or SDGs (`pairing_sdg`):
//!
//! ```sql
//! SELECT t.…, l.pairing_id AS link_parent FROM pairing_theme l JOIN theme t ON t.id = l.theme_id
//! WHERE l.pairing_id IN (keys) ORDER BY l.pairing_id, l.theme_id
//! ```
//!
//! Read as the links first and then the records by id, that was two statements and two waves
//! per level, and a DataLoader lookup per link (on the pairings table, 50 pairings, about 130
//! themes).

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{ActiveModelTrait, EntityTrait, IdenStatic, TryIntoModel};

use super::{
    Columns, LoadError, ROWS_PER_PARENT, Reader, by_parent, column_count, plain_columns,
    rows_for_keys,
};
use crate::service::decode;

/// The records of `T` linked to each parent by a row of `L`, in the order of the link's
/// column to `T`.
pub struct Linked<L: EntityTrait, T: EntityTrait> {
    reader: Reader,
    /// `SELECT … WHERE l.parent ` (the keys follow).
    select: String,
    /// ` ORDER BY l.parent, l.target`.
    order: String,
    /// The values a parent brings, about.
    per_key: usize,
    _entities: std::marker::PhantomData<fn() -> (L, T)>,
}

impl<L: EntityTrait, T: EntityTrait> Linked<L, T> {
    /// `parent`: the link's column naming the parent; `target`: its column naming the record
    /// of `T`, whose key is `key`; `columns`: those of `T` to read.
    pub fn new(
        reader: Reader,
        parent: L::Column,
        target: L::Column,
        key: T::Column,
        columns: Columns,
    ) -> Self {
        let (parent, target, key) = (parent.as_str(), target.as_str(), key.as_str());
        let select = format!(
            "SELECT {}, l.\"{parent}\" AS link_parent FROM \"{}\" l \
             JOIN \"{}\" t ON t.\"{key}\" = l.\"{target}\" WHERE l.\"{parent}\" ",
            plain_columns::<T>("t", columns),
            L::default().table_name(),
            T::default().table_name(),
        );
        Self {
            reader,
            select,
            order: format!(" ORDER BY l.\"{parent}\", l.\"{target}\""),
            per_key: ROWS_PER_PARENT * (column_count::<T>(columns) + 1),
            _entities: std::marker::PhantomData,
        }
    }
}

impl<L, T> Loader<i32> for Linked<L, T>
where
    L: EntityTrait,
    T: EntityTrait,
    T::Model: Send + Sync + 'static,
    T::ActiveModel: ActiveModelTrait<Entity = T> + TryIntoModel<T::Model>,
{
    type Value = Arc<Vec<Arc<T::Model>>>;
    type Error = LoadError;

    async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, Self::Value>, LoadError> {
        let rows =
            rows_for_keys(&self.reader, &self.select, keys, &self.order, self.per_key).await?;
        let models = decode::models::<T>(&rows).map_err(Arc::new)?;
        let Some(position) = rows.position("link_parent") else {
            return Ok(HashMap::new());
        };
        let parents = (0..rows.len())
            .map(|row| rows.int(row, position).map(Option::unwrap_or_default))
            .collect::<Result<Vec<i32>, _>>()
            .map_err(Arc::new)?;
        Ok(by_parent(parents.into_iter().zip(models), keys.len()))
    }
}
