use std::sync::Arc;

use async_graphql::{ComplexObject, Context, Object, SimpleObject};

use crate::error::Result;
use crate::graphql::context::{db, loaders, summary_cache};
use crate::graphql::object::{PairingKind, Programme, PublishedFigure, Side, Theme, ThemeScheme};
use crate::service::dataset::{FigureRecord, Measure};
use crate::service::summary;

/// The programme in figures.
#[derive(Default)]
pub struct SummaryQuery;

#[Object]
impl SummaryQuery {
    /// Computed from this dataset's records (not the programme's published figures: see
    /// `programme`): cities, regions, countries per side, pairings per kind, and per theme the
    /// pairings and the cities and regions working on it.
    async fn summary(&self, ctx: &Context<'_>) -> Result<ProgrammeSummary> {
        Ok(ProgrammeSummary(summary_cache(ctx)?.get(db(ctx)?).await?))
    }
    /// The programme itself: its figures as published (with their sources) beside those
    /// computed from this dataset, its components, regions and follow-up.
    async fn programme(&self, ctx: &Context<'_>) -> Result<Option<Programme>> {
        Ok(loaders(ctx)?.sources.programme().await?.map(Programme))
    }
}

pub struct ProgrammeSummary(Arc<summary::Snapshot>);

/// Participants on one side of the programme's pairings.
#[derive(SimpleObject)]
pub struct SideSummary {
    /// The side.
    pub side: Side,
    /// Computed from this dataset: countries with a participant on this side.
    pub countries: i64,
    /// Computed from this dataset: cities taking part on this side.
    pub cities: i64,
    /// Computed from this dataset: regions taking part on this side.
    pub regions: i64,
}

/// Pairings of one kind.
#[derive(SimpleObject)]
pub struct KindSummary {
    /// City-to-city or region-to-region.
    pub kind: PairingKind,
    /// Computed from this dataset: how many pairings.
    pub pairings: i64,
}

/// Who works on one theme, computed from this dataset's records.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ThemeSummary {
    /// The theme.
    pub theme: Theme,
    /// Computed from this dataset: pairings working on it.
    pub pairings: i64,
    /// Computed from this dataset: distinct cities in those pairings.
    pub cities: i64,
    /// Computed from this dataset: distinct regions in those pairings.
    pub regions: i64,
    /// Computed from this dataset: cities and regions together. The dataset holds only the
    /// pairings the sources describe, so for a thematic stream this is smaller than the
    /// programme's own count: that one is `publishedCitiesAndRegions`.
    pub cities_and_regions: i64,
}

#[ComplexObject]
impl ThemeSummary {
    /// As published: the programme's own count of the cities and regions working on this
    /// thematic stream, with its sources (null for themes the programme gives no count for).
    async fn published_cities_and_regions(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Option<PublishedFigure>> {
        let Some(programme) = loaders(ctx)?.sources.programme().await? else {
            return Ok(None);
        };
        let figures: Vec<FigureRecord> =
            serde_json::from_str(&programme.figures).unwrap_or_default();
        Ok(figures
            .into_iter()
            .find(|f| {
                f.measure == Measure::StreamCitiesAndRegions
                    && f.theme.as_deref() == Some(self.theme.0.slug.as_str())
            })
            .map(PublishedFigure))
    }
}

/// The programme in figures, computed from this dataset's records (cached for
/// `IUC_SUMMARY_TTL` seconds). The dataset holds the pairings the sources describe, not every
/// pairing of the programme: the programme's own figures are `Query.programme`'s
/// `publishedFigures`.
#[Object]
impl ProgrammeSummary {
    /// Computed from this dataset: cities taking part in at least one pairing.
    async fn cities(&self) -> i64 {
        self.0.totals.cities
    }
    /// Computed from this dataset: regions taking part in at least one pairing.
    async fn regions(&self) -> i64 {
        self.0.totals.regions
    }
    /// Computed from this dataset: countries with at least one participating city or region.
    async fn countries(&self) -> i64 {
        self.0.totals.countries
    }
    /// Computed from this dataset: pairings of every kind.
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
