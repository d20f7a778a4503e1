//! A pairing contributes to an SDG.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pairing_sdg")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub pairing_id: i32,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sdg_id: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
