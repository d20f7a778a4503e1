//! Lookups by natural key, and the short fixed reference lists.

use entity::*;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

pub async fn pairing_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<pairing::Model>, DbErr> {
    pairing::Entity::find()
        .filter(pairing::Column::Slug.eq(slug))
        .one(db)
        .await
}
pub async fn city_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<city::Model>, DbErr> {
    city::Entity::find()
        .filter(city::Column::Slug.eq(slug))
        .one(db)
        .await
}
pub async fn region_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<region::Model>, DbErr> {
    region::Entity::find()
        .filter(region::Column::Slug.eq(slug))
        .one(db)
        .await
}
pub async fn country_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<country::Model>, DbErr> {
    country::Entity::find()
        .filter(country::Column::Code.eq(code.to_ascii_uppercase()))
        .one(db)
        .await
}
pub async fn theme_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<theme::Model>, DbErr> {
    theme::Entity::find()
        .filter(theme::Column::Slug.eq(slug))
        .one(db)
        .await
}
pub async fn sdg_by_number(
    db: &impl ConnectionTrait,
    number: i32,
) -> Result<Option<sdg::Model>, DbErr> {
    sdg::Entity::find()
        .filter(sdg::Column::Number.eq(number))
        .one(db)
        .await
}

pub async fn stakeholder_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<stakeholder::Model>, DbErr> {
    stakeholder::Entity::find()
        .filter(stakeholder::Column::Slug.eq(slug))
        .one(db)
        .await
}
pub async fn activity_by_slug(
    db: &impl ConnectionTrait,
    slug: &str,
) -> Result<Option<activity::Model>, DbErr> {
    activity::Entity::find()
        .filter(activity::Column::Slug.eq(slug))
        .one(db)
        .await
}

pub async fn all_sdgs(db: &impl ConnectionTrait) -> Result<Vec<sdg::Model>, DbErr> {
    sdg::Entity::find()
        .order_by_asc(sdg::Column::Number)
        .all(db)
        .await
}
pub async fn all_programme_regions(
    db: &impl ConnectionTrait,
) -> Result<Vec<programme_region::Model>, DbErr> {
    programme_region::Entity::find()
        .order_by_asc(programme_region::Column::Name)
        .all(db)
        .await
}
pub async fn all_section_types(
    db: &impl ConnectionTrait,
) -> Result<Vec<ucap_section_type::Model>, DbErr> {
    ucap_section_type::Entity::find()
        .order_by_asc(ucap_section_type::Column::Position)
        .all(db)
        .await
}
