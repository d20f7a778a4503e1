//! An API key: a long random secret, stored only as its SHA-256 hash, with a role and (for
//! partners) the organisation it acts for.
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "api_key")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    /// The first characters of the secret, to recognise a key in a list; not enough to use it.
    pub token_prefix: String,
    /// SHA-256 of the secret, lower-case hex.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// `admin` or `partner`.
    pub role: String,
    pub stakeholder_id: Option<i32>,
    pub city_id: Option<i32>,
    pub region_id: Option<i32>,
    pub created_at: DateTimeUtc,
    /// The key that created this one (none when made with the CLI).
    pub created_by: Option<i32>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
