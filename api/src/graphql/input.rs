//! Filter and ordering inputs of the top-level lists. Values are codes and slugs: ISO 3166-1
//! alpha-2 country codes, SDG numbers, theme and programme-region slugs. Malformed values are
//! refused with `BAD_USER_INPUT`; well-formed values that match nothing give an empty list.

use crate::graphql::scalar::Date;
use async_graphql::{Enum, InputObject};

use super::object::{
    ActivityKind, CityKind, Helix, PairingKind, PairingStatus, Side, feed_position,
};
use crate::error::{AppError, Result};
use crate::service::search;

/// Sort direction.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderDirection {
    /// Smallest first (A to Z, oldest first).
    #[default]
    Asc,
    /// Largest first (Z to A, newest first).
    Desc,
}

impl From<OrderDirection> for search::Direction {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => search::Direction::Asc,
            OrderDirection::Desc => search::Direction::Desc,
        }
    }
}

/// Checks and normalises ISO 3166-1 alpha-2 codes (`it` → `IT`).
fn country_codes(field: &str, codes: Option<Vec<String>>) -> Result<Vec<String>> {
    codes
        .unwrap_or_default()
        .into_iter()
        .map(|code| {
            let upper = code.trim().to_ascii_uppercase();
            if upper.len() == 2 && upper.bytes().all(|b| b.is_ascii_uppercase()) {
                Ok(upper)
            } else {
                Err(AppError::BadUserInput(format!(
                    "`{field}`: {code:?} is not an ISO 3166-1 alpha-2 country code (two letters, e.g. \"IT\")"
                )))
            }
        })
        .collect()
}

/// Field to sort pairings by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairingOrderField {
    /// By title.
    #[default]
    Title,
    /// By start date (pairings without one first in ascending order).
    StartDate,
    /// By number of participants (largest clusters last in ascending order).
    ParticipantCount,
}

/// How to sort pairings.
#[derive(InputObject, Debug, Clone, Default)]
pub struct PairingOrder {
    /// The field to sort by.
    pub field: PairingOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which pairings to list. Every condition given must hold (they combine with AND); a list
/// inside one condition matches any of its values.
#[derive(InputObject, Debug, Clone, Default)]
pub struct PairingFilter {
    /// Pairings working on at least one of these themes (theme slugs, e.g. `stream-mobility-and-transport`).
    pub themes: Option<Vec<String>>,
    /// Pairings working on every one of these themes (theme slugs).
    pub all_themes: Option<Vec<String>>,
    /// Pairings contributing to at least one of these SDGs (numbers 1 to 17).
    pub sdgs: Option<Vec<i32>>,
    /// Pairings with a participant in one of these countries, on either side (ISO alpha-2 codes).
    pub countries: Option<Vec<String>>,
    /// Pairings with a European-side participant in one of these countries (ISO alpha-2 codes).
    pub european_countries: Option<Vec<String>>,
    /// Pairings with a partner-side participant in one of these countries (ISO alpha-2 codes).
    pub partner_countries: Option<Vec<String>>,
    /// Pairings of one of these programme regions (slugs, e.g. `asia`, `latin-america-caribbean`).
    pub programme_regions: Option<Vec<String>>,
    /// Only city-to-city or only region-to-region pairings.
    pub kind: Option<PairingKind>,
    /// Only pairings with this status.
    pub status: Option<PairingStatus>,
    /// Pairings that started in this year or later (pairings without a start date are left out).
    pub start_year_from: Option<i32>,
    /// Pairings that started in this year or earlier (pairings without a start date are left out).
    pub start_year_to: Option<i32>,
    /// Words that must all occur in the title or summary (case- and accent-insensitive).
    pub search: Option<String>,
    /// Only records changed after this change feed cursor (a `cursor` or `endCursor` from
    /// `changes`, e.g. the one `/export` was taken at): what a client keeping a copy fetches
    /// to catch up. Deletions are only in the feed.
    pub changed_after: Option<String>,
}

impl PairingFilter {
    pub fn into_service(self) -> Result<search::PairingFilter> {
        let sdgs = self.sdgs.unwrap_or_default();
        if let Some(n) = sdgs.iter().find(|n| !(1..=17).contains(*n)) {
            return Err(AppError::BadUserInput(format!(
                "`sdgs`: {n} is not an SDG number (1 to 17)"
            )));
        }
        Ok(search::PairingFilter {
            themes: self.themes.unwrap_or_default(),
            all_themes: self.all_themes.unwrap_or_default(),
            sdgs,
            countries: country_codes("countries", self.countries)?,
            european_countries: country_codes("europeanCountries", self.european_countries)?,
            partner_countries: country_codes("partnerCountries", self.partner_countries)?,
            programme_regions: self.programme_regions.unwrap_or_default(),
            kind: self.kind.map(Into::into),
            status: self.status.map(Into::into),
            start_year_from: self.start_year_from,
            start_year_to: self.start_year_to,
            search: self.search,
            changed_after: feed_position(self.changed_after.as_deref(), "filter.changedAfter")?,
        })
    }
}

impl From<PairingOrderField> for search::PairingOrder {
    fn from(f: PairingOrderField) -> Self {
        match f {
            PairingOrderField::Title => search::PairingOrder::Title,
            PairingOrderField::StartDate => search::PairingOrder::StartDate,
            PairingOrderField::ParticipantCount => search::PairingOrder::ParticipantCount,
        }
    }
}

/// Field to sort cities or regions by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaceOrderField {
    /// By name.
    #[default]
    Name,
    /// By population (unknown populations first in ascending order).
    Population,
    /// By the number of pairings taken part in.
    PairingCount,
}

impl From<PlaceOrderField> for search::PlaceOrder {
    fn from(f: PlaceOrderField) -> Self {
        match f {
            PlaceOrderField::Name => search::PlaceOrder::Name,
            PlaceOrderField::Population => search::PlaceOrder::Population,
            PlaceOrderField::PairingCount => search::PlaceOrder::PairingCount,
        }
    }
}

/// How to sort cities or regions.
#[derive(InputObject, Debug, Clone, Default)]
pub struct PlaceOrder {
    /// The field to sort by.
    pub field: PlaceOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which cities or regions to list. Every condition given must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct PlaceFilter {
    /// In one of these countries (ISO alpha-2 codes).
    pub countries: Option<Vec<String>>,
    /// Taking part in at least one pairing on this side.
    pub side: Option<Side>,
    /// Taking part in a pairing that works on at least one of these themes (theme slugs).
    pub themes: Option<Vec<String>>,
    /// Only cities of this kind (ignored for regions).
    pub kind: Option<CityKind>,
    /// With at least this many inhabitants (unknown populations are left out).
    pub population_min: Option<i64>,
    /// With at most this many inhabitants (unknown populations are left out).
    pub population_max: Option<i64>,
    /// Whose name starts with this text, ignoring case and accents ("Sao" finds São Leopoldo).
    pub name_starts_with: Option<String>,
    /// Whose name contains this text, ignoring case and accents ("malmo" finds Malmö).
    pub name_contains: Option<String>,
    /// Only records changed after this change feed cursor (a `cursor` or `endCursor` from
    /// `changes`, e.g. the one `/export` was taken at): what a client keeping a copy fetches
    /// to catch up. Deletions are only in the feed.
    pub changed_after: Option<String>,
}

impl PlaceFilter {
    pub fn into_service(self) -> Result<search::PlaceFilter> {
        Ok(search::PlaceFilter {
            countries: country_codes("countries", self.countries)?,
            side: self.side.map(Into::into),
            themes: self.themes.unwrap_or_default(),
            kind: self.kind.map(Into::into),
            population_min: self.population_min,
            population_max: self.population_max,
            name_starts_with: self.name_starts_with,
            name_contains: self.name_contains,
            changed_after: feed_position(self.changed_after.as_deref(), "filter.changedAfter")?,
        })
    }
}

/// Field to sort countries by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CountryOrderField {
    /// By English name.
    #[default]
    Name,
    /// By ISO code.
    Code,
    /// By the number of pairings with a participant in the country.
    PairingCount,
}

/// How to sort countries.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CountryOrder {
    /// The field to sort by.
    pub field: CountryOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which countries to list.
#[derive(InputObject, Debug, Clone, Default)]
pub struct CountryFilter {
    /// Only these countries (ISO alpha-2 codes).
    pub codes: Option<Vec<String>>,
    /// Only countries with a participant on this side.
    pub side: Option<Side>,
}

impl CountryFilter {
    pub fn into_service(self) -> Result<search::CountryFilter> {
        Ok(search::CountryFilter {
            codes: country_codes("codes", self.codes)?,
            side: self.side.map(Into::into),
        })
    }
}

impl From<CountryOrderField> for search::CountryOrder {
    fn from(f: CountryOrderField) -> Self {
        match f {
            CountryOrderField::Name => search::CountryOrder::Name,
            CountryOrderField::Code => search::CountryOrder::Code,
            CountryOrderField::PairingCount => search::CountryOrder::PairingCount,
        }
    }
}

/// Field to sort themes by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeOrderField {
    /// By name.
    #[default]
    Name,
    /// By the number of pairings working on the theme.
    PairingCount,
}

impl From<ThemeOrderField> for search::ThemeOrder {
    fn from(f: ThemeOrderField) -> Self {
        match f {
            ThemeOrderField::Name => search::ThemeOrder::Name,
            ThemeOrderField::PairingCount => search::ThemeOrder::PairingCount,
        }
    }
}

/// How to sort themes.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ThemeOrder {
    /// The field to sort by.
    pub field: ThemeOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// Which stakeholder organisations to list. Every condition given must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct StakeholderFilter {
    /// Of one of these quadruple-helix categories.
    pub helix: Option<Vec<Helix>>,
    /// Located in one of these cities (city slugs).
    pub cities: Option<Vec<String>>,
    /// Located in one of these countries (ISO alpha-2 codes), directly or through their city.
    pub countries: Option<Vec<String>>,
    /// Words that must all occur in the name (case- and accent-insensitive).
    pub name_contains: Option<String>,
    /// Only records changed after this change feed cursor (a `cursor` or `endCursor` from
    /// `changes`, e.g. the one `/export` was taken at): what a client keeping a copy fetches
    /// to catch up. Deletions are only in the feed.
    pub changed_after: Option<String>,
}

impl StakeholderFilter {
    pub fn into_service(self) -> Result<search::StakeholderFilter> {
        Ok(search::StakeholderFilter {
            helix: self
                .helix
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            cities: self.cities.unwrap_or_default(),
            countries: country_codes("countries", self.countries)?,
            name_contains: self.name_contains,
            changed_after: feed_position(self.changed_after.as_deref(), "filter.changedAfter")?,
        })
    }
}

/// Which activities to list. Every condition given must hold.
#[derive(InputObject, Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Activities starting on or after this day.
    pub from: Option<Date>,
    /// Activities starting on or before this day.
    pub to: Option<Date>,
    /// Of one of these kinds.
    pub kinds: Option<Vec<ActivityKind>>,
    /// On the timeline of one of these pairings (pairing slugs).
    pub pairings: Option<Vec<String>>,
    /// Only records changed after this change feed cursor (a `cursor` or `endCursor` from
    /// `changes`, e.g. the one `/export` was taken at): what a client keeping a copy fetches
    /// to catch up. Deletions are only in the feed.
    pub changed_after: Option<String>,
}

impl ActivityFilter {
    pub fn into_service(self) -> Result<search::ActivityFilter> {
        let f = self;
        Ok(search::ActivityFilter {
            changed_after: feed_position(f.changed_after.as_deref(), "filter.changedAfter")?,
            from: f.from.map(|d| d.0),
            to: f.to.map(|d| d.0),
            kinds: f
                .kinds
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            pairings: f.pairings.unwrap_or_default(),
        })
    }
}
