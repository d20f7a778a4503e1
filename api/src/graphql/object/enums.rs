//! The GraphQL enums, mirrored from the entity crate's stored vocabularies.

use async_graphql::Enum;
use entity::enums as db;

/// What kind of municipality a city record is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::CityKind")]
pub enum CityKind {
    /// A city.
    City,
    /// A town.
    Town,
    /// A district of a larger city (e.g. Miraflores, a district of Lima).
    District,
    /// A metropolitan area or borough.
    MetropolitanArea,
    /// A consortium of municipalities (e.g. Consórcio Intermunicipal Grande ABC).
    Consortium,
}

/// The scheme a theme belongs to.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::ThemeScheme")]
pub enum ThemeScheme {
    /// One of the six thematic streams of the programme publication.
    ThematicStream,
    /// A partnership topic of the EU Urban Agenda.
    UrbanAgenda,
    /// A topic label of the programme's pairing pages.
    Topic,
}

/// City-to-city or region-to-region.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::PairingKind")]
pub enum PairingKind {
    /// Cities (or districts, consortia) working together.
    CityToCity,
    /// Sub-national regions working together on regional innovation.
    RegionToRegion,
}

/// Where a pairing stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::PairingStatus")]
pub enum PairingStatus {
    /// Cooperation under way. Whether a source states this or it is derived, the pairing's
    /// sources for the field `status` say.
    Active,
    /// Cooperation concluded. Whether a source states this or it is derived (most often from
    /// the end of the programme's first phase), the pairing's sources for `status` say.
    Completed,
    /// The sources do not say.
    Unknown,
}

/// The side of a pairing a participant is on. Recorded per participant, never derived from
/// today's EU membership (the United Kingdom took part on the European side).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::Side")]
pub enum Side {
    /// The European side.
    European,
    /// The partner side (Asia, the Americas, …).
    Partner,
}

/// A participant's role in its pairing.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::ParticipantRole")]
pub enum ParticipantRole {
    /// A lead city or region of the pairing.
    Lead,
    /// An associated member of a cluster (e.g. Medellín alongside Cali).
    Associated,
}

/// Where an Urban Cooperation Action Plan stands.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::UcapStatus")]
pub enum UcapStatus {
    /// Being written.
    InPreparation,
    /// Adopted by the cities.
    Adopted,
    /// The sources do not say.
    Unknown,
}

/// Key cooperation project or pilot project.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::ProjectKind")]
pub enum ProjectKind {
    /// A key cooperation project named by a pairing.
    KeyCooperation,
    /// A pilot project of a UCAP.
    Pilot,
}

/// The quadruple-helix category of a stakeholder.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::Helix")]
pub enum Helix {
    /// Universities and research institutions.
    Academia,
    /// Companies and business associations.
    Business,
    /// NGOs, community organisations and citizens' groups.
    CivilSociety,
    /// Public authorities at any level.
    Government,
}

/// What kind of timeline event an activity is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::ActivityKind")]
pub enum ActivityKind {
    /// A meeting.
    Meeting,
    /// A delegation's mission abroad.
    Mission,
    /// A working or study visit.
    Visit,
    /// A workshop.
    Workshop,
    /// A seminar or conference.
    Seminar,
    /// An agreement signed, such as a memorandum of understanding.
    Agreement,
    /// Another event.
    Event,
    /// An online meeting or webinar.
    Webinar,
}

/// How precise a partial date is.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::DatePrecision")]
pub enum DatePrecision {
    /// A known day.
    Day,
    /// A month ("July 2018").
    Month,
    /// A quarter of a year.
    Quarter,
    /// A half year ("the 1st half of 2019").
    HalfYear,
    /// A year.
    Year,
}

/// Whether an activity took place, as its source tells it.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "db::ActivityStatus")]
pub enum ActivityStatus {
    /// The source reports it as having taken place.
    Held,
    /// The source announces it as to come; whether it then took place, the sources do not say.
    Planned,
}
