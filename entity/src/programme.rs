//! The programme itself (one row): its published figures, components and follow-up, each as a
//! JSON document whose entries carry their own sources.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "programme")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    /// JSON array of components (`slug`, `name`, `description`, `sources`).
    pub components: String,
    /// JSON object of the follow-up programme (`name`, `start`, `sources`), if any.
    pub follow_up: Option<String>,
    /// JSON array of the figures as published (`measure`, `value`, `sources`, ...).
    pub figures: String,
    pub sources: String,
    pub notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
