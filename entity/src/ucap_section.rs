//! The text of one section of a UCAP.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "ucap_section")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub ucap_id: i32,
    pub section_type_id: i32,
    pub body: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
