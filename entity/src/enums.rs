//! The closed vocabularies of the data model, stored as short strings (portable across SQLite
//! and PostgreSQL, readable in SQL) and spelled in snake_case in the seed file.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// What kind of municipality a city record is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum CityKind {
    #[sea_orm(string_value = "city")]
    City,
    #[sea_orm(string_value = "town")]
    Town,
    #[sea_orm(string_value = "district")]
    District,
    #[sea_orm(string_value = "metropolitan_area")]
    MetropolitanArea,
    #[sea_orm(string_value = "consortium")]
    Consortium,
}

/// The scheme a theme belongs to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ThemeScheme {
    #[sea_orm(string_value = "thematic_stream")]
    ThematicStream,
    #[sea_orm(string_value = "urban_agenda")]
    UrbanAgenda,
    #[sea_orm(string_value = "topic")]
    Topic,
}

/// City-to-city or region-to-region.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum PairingKind {
    #[sea_orm(string_value = "city_to_city")]
    CityToCity,
    #[sea_orm(string_value = "region_to_region")]
    RegionToRegion,
}

/// Where a pairing stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum PairingStatus {
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "completed")]
    Completed,
    #[sea_orm(string_value = "unknown")]
    Unknown,
}

/// The side of a pairing a participant is on.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum Side {
    #[sea_orm(string_value = "european")]
    European,
    #[sea_orm(string_value = "partner")]
    Partner,
}

/// Lead participant, or associated cluster member.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ParticipantRole {
    #[sea_orm(string_value = "lead")]
    Lead,
    #[sea_orm(string_value = "associated")]
    Associated,
}

/// Where an Urban Cooperation Action Plan stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum UcapStatus {
    #[sea_orm(string_value = "in_preparation")]
    InPreparation,
    #[sea_orm(string_value = "adopted")]
    Adopted,
    #[sea_orm(string_value = "unknown")]
    Unknown,
}

/// Key cooperation project or pilot project.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ProjectKind {
    #[sea_orm(string_value = "key_cooperation")]
    KeyCooperation,
    #[sea_orm(string_value = "pilot")]
    Pilot,
}

/// Quadruple-helix category of a stakeholder.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum Helix {
    #[sea_orm(string_value = "academia")]
    Academia,
    #[sea_orm(string_value = "business")]
    Business,
    #[sea_orm(string_value = "civil_society")]
    CivilSociety,
    #[sea_orm(string_value = "government")]
    Government,
}

/// What kind of timeline event an activity is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    #[sea_orm(string_value = "meeting")]
    Meeting,
    #[sea_orm(string_value = "mission")]
    Mission,
    #[sea_orm(string_value = "visit")]
    Visit,
    #[sea_orm(string_value = "workshop")]
    Workshop,
    #[sea_orm(string_value = "seminar")]
    Seminar,
    #[sea_orm(string_value = "agreement")]
    Agreement,
    #[sea_orm(string_value = "event")]
    Event,
    #[sea_orm(string_value = "webinar")]
    Webinar,
}

/// How precise a partial date is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum DatePrecision {
    #[sea_orm(string_value = "day")]
    Day,
    #[sea_orm(string_value = "month")]
    Month,
    #[sea_orm(string_value = "quarter")]
    Quarter,
    #[sea_orm(string_value = "half_year")]
    HalfYear,
    #[sea_orm(string_value = "year")]
    Year,
}

/// Whether an activity took place or was announced as to come, as the source tells it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    Default,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    /// The source reports it as having taken place.
    #[default]
    #[sea_orm(string_value = "held")]
    Held,
    /// The source announces it as to come; whether it took place, the sources do not say.
    #[sea_orm(string_value = "planned")]
    Planned,
}
