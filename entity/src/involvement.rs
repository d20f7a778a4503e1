//! A stakeholder's involvement, with a role, in a pairing, a UCAP or a project.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "involvement")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub stakeholder_id: i32,
    pub pairing_id: Option<i32>,
    pub ucap_id: Option<i32>,
    pub project_id: Option<i32>,
    pub role: Option<String>,
    /// Bumped by every change; an update must name the version it read.
    pub version: i32,
    /// When the record last changed: set by the server (in the writing transaction) with
    /// every version bump.
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
