//! What a source cites: one of the seed's source texts, or an external dataset.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "document")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// `"000"`–`"004"` for the seed's source texts, a slug for a dataset (`"geonames"`).
    #[sea_orm(unique)]
    pub key: String,
    /// `pairing_page`, `news_page`, `publication` or `dataset`.
    pub kind: String,
    pub title: String,
    pub url: Option<String>,
    pub notes: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
