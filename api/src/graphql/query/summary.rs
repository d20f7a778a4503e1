use std::sync::Arc;

use async_graphql::{Context, Object, SimpleObject};

use crate::error::Result;
use crate::graphql::context::{db, summary_cache};
use crate::graphql::object::{PairingKind, Side, Theme, ThemeScheme};
use crate::service::summary;

/// The programme in figures.
#[derive(Default)]
pub struct SummaryQuery;

#[Object]
impl SummaryQuery {
    /// Counts computed from the data: cities, regions, countries per side, pairings per kind,
    /// and per theme the pairings and the cities and regions working on it.
    async fn summary(&self, ctx: &Context<'_>) -> Result<ProgrammeSummary> {
        Ok(ProgrammeSummary(summary_cache(ctx)?.get(db(ctx)?).await?))
    }
}

pub struct ProgrammeSummary(Arc<summary::Snapshot>);

/// Participants on one side of the programme's pairings.
#[derive(SimpleObject)]
pub struct SideSummary {
    /// The side.
    pub side: Side,
    /// Countries with a participant on this side.
    pub countries: i64,
    /// Cities taking part on this side.
    pub cities: i64,
    /// Regions taking part on this side.
    pub regions: i64,
}

/// Pairings of one kind.
#[derive(SimpleObject)]
pub struct KindSummary {
    /// City-to-city or region-to-region.
    pub kind: PairingKind,
    /// How many pairings.
    pub pairings: i64,
}

/// Who works on one theme.
#[derive(SimpleObject)]
pub struct ThemeSummary {
    /// The theme.
    pub theme: Theme,
    /// Pairings working on it.
    pub pairings: i64,
    /// Distinct cities in those pairings.
    pub cities: i64,
    /// Distinct regions in those pairings.
    pub regions: i64,
    /// Cities and regions together (the publication's "number of IUC cities and regions
    /// working on each theme").
    pub cities_and_regions: i64,
}

/// The programme in figures, computed from the data (cached for `IUC_SUMMARY_TTL` seconds).
#[Object]
impl ProgrammeSummary {
    /// Cities taking part in at least one pairing.
    async fn cities(&self) -> i64 {
        self.0.totals.cities
    }
    /// Regions taking part in at least one pairing.
    async fn regions(&self) -> i64 {
        self.0.totals.regions
    }
    /// Countries with at least one participating city or region.
    async fn countries(&self) -> i64 {
        self.0.totals.countries
    }
    /// Pairings of every kind.
    async fn pairings(&self) -> i64 {
        self.0.totals.pairings
    }
    /// Countries, cities and regions per side.
    async fn sides(&self) -> Vec<SideSummary> {
        self.0
            .sides
            .iter()
            .map(|s| SideSummary {
                side: s.side.into(),
                countries: s.countries,
                cities: s.cities,
                regions: s.regions,
            })
            .collect()
    }
    /// Pairings per kind.
    async fn pairing_kinds(&self) -> Vec<KindSummary> {
        self.0
            .kinds
            .iter()
            .map(|(kind, pairings)| KindSummary {
                kind: (*kind).into(),
                pairings: *pairings,
            })
            .collect()
    }
    /// Per theme, the pairings and the cities and regions working on it, most pairings first.
    async fn themes(
        &self,
        #[graphql(
            desc = "Only themes of this scheme (e.g. `THEMATIC_STREAM` for the six streams)."
        )]
        scheme: Option<ThemeScheme>,
    ) -> Vec<ThemeSummary> {
        let scheme: Option<entity::enums::ThemeScheme> = scheme.map(Into::into);
        self.0
            .themes
            .iter()
            .filter(|t| scheme.is_none_or(|s| t.theme.scheme == s))
            .map(|t| ThemeSummary {
                pairings: t.pairings,
                cities: t.cities,
                regions: t.regions,
                cities_and_regions: t.cities + t.regions,
                theme: Theme(t.theme.clone().into()),
            })
            .collect()
    }
}
