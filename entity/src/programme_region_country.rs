//! A programme region covers a country.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "programme_region_country")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub programme_region_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub country_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
