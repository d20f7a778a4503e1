//! A dated event on a timeline: a mission, a workshop, an agreement, ...

use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "activity")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub date: Date,
    pub date_precision: DatePrecision,
    pub kind: ActivityKind,
    pub title: String,
    pub description: Option<String>,
    pub place: Option<String>,
    pub city_id: Option<i32>,
    pub status: ActivityStatus,
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
