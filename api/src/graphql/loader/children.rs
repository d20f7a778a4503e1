//! Rows by a foreign key: `SELECT … WHERE fk IN (keys) ORDER BY fk, …`, grouped per parent. One
//! statement per batch, whatever the number of parents.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ModelTrait, Order,
    QueryFilter, QueryOrder, QueryTrait, TryIntoModel, Value,
};

use super::{LoadError, by_parent, qualified};
use crate::service::decode;
use crate::service::sql::keys_condition;

/// Loads the rows of `E` whose `column` (a foreign key) is one of the keys, in `order`.
pub struct Children<E: EntityTrait> {
    db: DatabaseConnection,
    column: E::Column,
    order: Vec<(E::Column, Order)>,
}

impl<E: EntityTrait> Children<E> {
    pub fn new(db: DatabaseConnection, column: E::Column, order: Vec<(E::Column, Order)>) -> Self {
        Self { db, column, order }
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
        let backend = self.db.get_database_backend();
        let mut query = E::find().filter(keys_condition(
            backend,
            &qualified::<E>(self.column),
            keys.iter().copied(),
        ));
        for (column, order) in &self.order {
            query = query.order_by(*column, order.clone());
        }
        let statement = query.build(backend);
        let rows = self.db.query_all_raw(statement).await.map_err(Arc::new)?;
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
