//! A theme in one of the schemes (thematic stream, EU Urban Agenda topic, page topic label).

use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "theme")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub scheme: ThemeScheme,
    pub name: String,
    pub description: Option<String>,
    /// Where the record comes from: a JSON array of source objects.
    pub sources: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
