//! One write: who (key, organisation), when, what (entity, record, action) and the changed
//! fields before and after (JSON text).
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "audit_event")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub at: DateTimeUtc,
    pub key_id: Option<i32>,
    /// The key's name, or `cli` for the command line.
    pub actor: String,
    /// The acting organisation as a global ID (`City:…`, `Region:…`, `Stakeholder:…`).
    pub organisation: Option<String>,
    pub organisation_name: Option<String>,
    pub entity: String,
    pub record_id: i32,
    /// The record's natural key (slug), when it has one.
    pub record_key: Option<String>,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// `{"field": {"before": …, "after": …}}` as JSON text.
    pub changes: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
