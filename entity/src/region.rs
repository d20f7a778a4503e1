//! A sub-national region, partner in region-to-region pairings.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "region")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub name_folded: String,
    pub country_id: i32,
    pub population: Option<i64>,
    pub area_km2: Option<f64>,
    pub leader: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub photo_credit: Option<String>,
    pub wikidata: Option<String>,
    pub geonames_id: Option<i64>,
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
