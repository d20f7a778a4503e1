//! The Urban Cooperation Action Plan of a pairing.

use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "ucap")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub pairing_id: i32,
    pub status: UcapStatus,
    /// Bumped by every change; an update must name the version it read.
    pub version: i32,
    /// When the record last changed: set by the server (in the writing transaction) with
    /// every version bump.
    pub updated_at: DateTimeUtc,
    /// Where the record comes from: a JSON array of source objects.
    pub sources: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
