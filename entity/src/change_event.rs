//! One committed change to a public record, as the public change feed shows it: what changed
//! (entity, record, action, new version, the changed fields) and when, never who.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "change_event")]
pub struct Model {
    /// The feed's order: commit order (see the api crate's `service::changes`).
    #[sea_orm(primary_key)]
    pub position: i64,
    pub at: DateTimeUtc,
    /// The GraphQL type name of the record, e.g. `Pairing`.
    pub entity: String,
    pub record_id: i32,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// The record's version after the change (for a delete, the version it had).
    pub version: i32,
    /// The GraphQL names of the changed fields, as a JSON array.
    pub fields: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
