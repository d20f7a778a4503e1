//! The programme as a record: its figures as published (each with its sources) beside the
//! figures computed from this dataset, its components and its follow-up.

use std::sync::Arc;

use async_graphql::{Context, Enum, Object};
use entity::programme;

use sea_orm::{EntityTrait, QueryOrder};

use super::*;
use crate::error::Result;
use crate::graphql::context::{db, summary_cache};
use crate::service::dataset::{ComponentRecord, FigureRecord, FollowUpRecord, Measure};
use crate::service::summary::Snapshot;

/// What a programme figure counts or measures. The same measure names a published figure and
/// the figure computed from the data, so the two can be set side by side.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "Measure")]
pub enum ProgrammeMeasure {
    /// Individual cities and towns in city-to-city pairings.
    CitiesAndTowns,
    /// City-to-city pairings.
    CityPairings,
    /// Countries the city-to-city pairings represent.
    CityPairingCountries,
    /// EU Member States among the countries of the city-to-city pairings.
    CityPairingEuCountries,
    /// Sub-national regions in region-to-region pairings.
    Regions,
    /// Region-to-region pairings (partnerships).
    RegionPairings,
    /// Countries the region-to-region pairings represent.
    RegionPairingCountries,
    /// EU Member States among the countries of the region-to-region pairings.
    RegionPairingEuCountries,
    /// Countries taking part.
    Countries,
    /// The programme's funding, in euros.
    FundingEur,
    /// The year the programme started.
    StartYear,
    /// The minimum time a pairing worked together, in months.
    MinimumPairingMonths,
    /// Cities and regions working on one thematic stream (`theme` names it).
    StreamCitiesAndRegions,
}

/// The programme itself.
pub struct Programme(pub Arc<programme::Model>);

impl Programme {
    fn figures(&self) -> Vec<FigureRecord> {
        serde_json::from_str(&self.0.figures).unwrap_or_default()
    }
}

/// The International Urban Cooperation programme: what it was, its published figures (as the
/// programme's documents print them, each with its quote), the figures computed from this
/// dataset (which holds only the pairings the sources describe), its components and the
/// programme that followed it.
#[Object]
impl Programme {
    /// Stable key.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the programme did.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// As published: the programme's own figures, each with its value as printed and its
    /// sources (document, section, quote). Not computed from this dataset.
    async fn published_figures(
        &self,
        #[graphql(desc = "Only figures of this measure.")] measure: Option<ProgrammeMeasure>,
    ) -> Vec<PublishedFigure> {
        let measure: Option<Measure> = measure.map(Into::into);
        self.figures()
            .into_iter()
            .filter(|f| measure.is_none_or(|m| f.measure == m))
            .map(PublishedFigure)
            .collect()
    }
    /// Computed from the records in this dataset, for the measures the data can count. The
    /// dataset holds the pairings the sources describe, not every pairing of the programme,
    /// so these are smaller than the published figures: never quote them as the programme's.
    async fn computed_figures(&self, ctx: &Context<'_>) -> Result<Vec<ComputedFigure>> {
        let snapshot = summary_cache(ctx)?.get(db(ctx)?).await?;
        Ok(computed(&snapshot))
    }
    /// As published: the year the programme started.
    async fn start_year(&self) -> Option<PublishedFigure> {
        self.one(Measure::StartYear)
    }
    /// As published: the programme's funding, in euros.
    async fn funding(&self) -> Option<PublishedFigure> {
        self.one(Measure::FundingEur)
    }
    /// As published: how long, at least, a pairing worked together, in months.
    async fn minimum_pairing_duration(&self) -> Option<PublishedFigure> {
        self.one(Measure::MinimumPairingMonths)
    }
    /// The programme's strands of action.
    async fn components(&self) -> Vec<ProgrammeComponent> {
        let list: Vec<ComponentRecord> =
            serde_json::from_str(&self.0.components).unwrap_or_default();
        list.into_iter().map(ProgrammeComponent).collect()
    }
    /// The programme that continued this one.
    async fn follow_up(&self) -> Option<FollowUpProgramme> {
        let text = self.0.follow_up.as_deref()?;
        serde_json::from_str(text).ok().map(FollowUpProgramme)
    }
    /// The programme's regional components, each with its countries.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<ProgrammeRegion>> {
        let rows = entity::programme_region::Entity::find()
            .order_by_asc(entity::programme_region::Column::Slug)
            .all(db(ctx)?)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| ProgrammeRegion(r.into()))
            .collect())
    }
    /// Where this record and its fields come from: the documents, the quotes as printed, and
    /// the basis of each fact.
    async fn sources(
        &self,
        #[graphql(
            desc = "Only sources of these bases (e.g. `[STATED]` for what the documents state)."
        )]
        basis: Option<Vec<SourceBasis>>,
        #[graphql(
            desc = "Only the sources of this field (its GraphQL name), or the record's own where the field has none."
        )]
        field: Option<String>,
    ) -> Vec<Source> {
        sources_of(&self.0.sources, basis, field)
    }
    /// Editorial notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
}

impl Programme {
    /// The first published figure of a measure.
    fn one(&self, measure: Measure) -> Option<PublishedFigure> {
        self.figures()
            .into_iter()
            .find(|f| f.measure == measure)
            .map(PublishedFigure)
    }
}

/// The figures this dataset can count, from the summary's snapshot.
fn computed(s: &Snapshot) -> Vec<ComputedFigure> {
    use entity::enums::{PairingKind, ThemeScheme};
    let kind = |k: PairingKind| {
        s.kinds
            .iter()
            .find(|(kind, _)| *kind == k)
            .map_or(0, |(_, n)| *n)
    };
    let mut out = vec![
        ComputedFigure::of(
            Measure::CitiesAndTowns,
            s.totals.cities,
            "cities taking part in at least one pairing",
        ),
        ComputedFigure::of(
            Measure::CityPairings,
            kind(PairingKind::CityToCity),
            "city-to-city pairings",
        ),
        ComputedFigure::of(
            Measure::Regions,
            s.totals.regions,
            "regions taking part in at least one pairing",
        ),
        ComputedFigure::of(
            Measure::RegionPairings,
            kind(PairingKind::RegionToRegion),
            "region-to-region pairings",
        ),
        ComputedFigure::of(
            Measure::Countries,
            s.totals.countries,
            "countries with a participating city or region",
        ),
    ];
    for t in s
        .themes
        .iter()
        .filter(|t| t.theme.scheme == ThemeScheme::ThematicStream)
    {
        let mut figure = ComputedFigure::of(
            Measure::StreamCitiesAndRegions,
            t.cities + t.regions,
            "distinct cities and regions in the pairings working on the stream",
        );
        figure.theme = Some(t.theme.clone());
        out.push(figure);
    }
    out
}

/// A figure the programme published.
pub struct PublishedFigure(pub FigureRecord);

/// A figure as the programme's documents publish it, with the words that print it and its
/// sources. Not computed from this dataset.
#[Object]
impl PublishedFigure {
    /// What it counts or measures.
    async fn measure(&self) -> ProgrammeMeasure {
        self.0.measure.into()
    }
    /// For a per-stream figure: the thematic stream.
    async fn theme(&self, ctx: &Context<'_>) -> Result<Option<Theme>> {
        let Some(slug) = &self.0.theme else {
            return Ok(None);
        };
        // The summary's cached snapshot holds every theme: no statement per figure.
        let snapshot = summary_cache(ctx)?.get(db(ctx)?).await?;
        let theme = snapshot.themes.iter().find(|t| &t.theme.slug == slug);
        Ok(theme.map(|t| Theme(t.theme.clone().into())))
    }
    /// As published: the value (in euros for funding, months for a duration).
    async fn value(&self) -> f64 {
        self.0.value
    }
    /// As published: how the value is qualified, e.g. "more than", "at least".
    async fn qualifier(&self) -> Option<&str> {
        self.0.qualifier.as_deref()
    }
    /// As published: the figure's words as printed, e.g. "82 pairings".
    async fn as_printed(&self) -> &str {
        &self.0.as_printed
    }
    /// Where it is published: document, section, quote.
    async fn sources(&self) -> Vec<Source> {
        self.0.sources.iter().cloned().map(Source).collect()
    }
}

/// A figure computed from the records of this dataset.
pub struct ComputedFigure {
    measure: Measure,
    value: i64,
    counts: &'static str,
    theme: Option<entity::theme::Model>,
}

impl ComputedFigure {
    fn of(measure: Measure, value: i64, counts: &'static str) -> Self {
        Self {
            measure,
            value,
            counts,
            theme: None,
        }
    }
}

/// A figure computed from the records of this dataset (not published by the programme: the
/// dataset holds only the pairings the sources describe).
#[Object]
impl ComputedFigure {
    /// What it counts.
    async fn measure(&self) -> ProgrammeMeasure {
        self.measure.into()
    }
    /// For a per-stream figure: the thematic stream.
    async fn theme(&self) -> Option<Theme> {
        self.theme.clone().map(|t| Theme(t.into()))
    }
    /// Computed from this dataset's records.
    async fn value(&self) -> i64 {
        self.value
    }
    /// Computed: what exactly was counted, in words.
    async fn method(&self) -> String {
        format!("Computed from this dataset's records: {}.", self.counts)
    }
}

/// One strand of the programme's action.
pub struct ProgrammeComponent(pub ComponentRecord);

/// A component (strand of action) of the programme.
#[Object]
impl ProgrammeComponent {
    /// Stable key.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What it does.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Where it is described.
    async fn sources(&self) -> Vec<Source> {
        self.0.sources.iter().cloned().map(Source).collect()
    }
}

/// The programme that followed.
pub struct FollowUpProgramme(pub FollowUpRecord);

/// The programme that continued this one.
#[Object]
impl FollowUpProgramme {
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// When it starts, as a partial date (`2021`).
    async fn start(&self) -> Option<&str> {
        self.0.start.as_deref()
    }
    /// Where it is announced.
    async fn sources(&self) -> Vec<Source> {
        self.0.sources.iter().cloned().map(Source).collect()
    }
}
