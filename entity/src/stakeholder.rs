//! An organisation of the quadruple helix.

use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "stakeholder")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub name_folded: String,
    pub helix: Helix,
    pub city_id: Option<i32>,
    pub country_id: Option<i32>,
    pub description: Option<String>,
    pub sources: String,
    pub notes: Option<String>,
    /// Bumped by every change; an update must name the version it read.
    pub version: i32,
    /// When the record last changed: set by the server (in the writing transaction) with
    /// every version bump.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
