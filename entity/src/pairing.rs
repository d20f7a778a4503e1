//! A city-to-city or region-to-region pairing (possibly a cluster).

use crate::enums::*;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "pairing")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub kind: PairingKind,
    pub title: String,
    pub summary: String,
    pub description: Option<String>,
    pub search_text: String,
    pub programme_region_id: i32,
    pub start_date: Option<Date>,
    pub start_precision: Option<DatePrecision>,
    pub status: PairingStatus,
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
