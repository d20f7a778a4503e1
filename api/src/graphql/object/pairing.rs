use std::sync::Arc;

use async_graphql::{Context, ID, Object};

use entity::{pairing, pairing_participant};

use super::*;
use crate::error::Result;
use crate::id::{NodeType, encode};
use crate::partial_date;
use crate::service::relations::*;

pub struct PartialDate(pub partial_date::PartialDate);

/// A date known to a given precision: many facts are only "July 2018".
#[Object]
impl PartialDate {
    /// The date as text whose form gives its precision: `2018`, `2019-H1`, `2019-Q3`,
    /// `2018-07` or `2018-07-12`.
    async fn text(&self) -> String {
        self.0.to_string()
    }
    /// How precise the date is.
    async fn precision(&self) -> DatePrecision {
        self.0.precision.into()
    }
    /// The first day of the period.
    async fn start(&self) -> crate::graphql::scalar::Date {
        self.0.start.into()
    }
    /// The last day of the period.
    async fn end(&self) -> crate::graphql::scalar::Date {
        self.0.end().into()
    }
}

pub struct Pairing(pub Arc<pairing::Model>);

/// A city-to-city or region-to-region pairing: two or more cities or regions, at least one on
/// each side, cooperating on themes. Some pairings are clusters of several cities.
#[Object]
impl Pairing {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Pairing, self.0.id)
    }
    /// The record's version: name it in an update, which fails with `CONFLICT` when someone
    /// else has changed the record since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record last changed: set by the server in the transaction that wrote it, on
    /// its creation, on every update, and on every change to the rows it owns (a pairing's
    /// participants, themes and SDGs, a UCAP's sections, an activity's links), like `version`.
    /// It tells a reader that a record changed since a time; to follow changes exactly, use
    /// the change feed.
    async fn updated_at(&self) -> crate::graphql::scalar::DateTime {
        self.0.updated_at.into()
    }
    /// Stable key for URLs, e.g. `rome-yantai`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// City-to-city or region-to-region.
    async fn kind(&self) -> PairingKind {
        self.0.kind.into()
    }
    /// Title, e.g. "Rome – Yantai".
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// One line on what the pairing cooperates on.
    async fn summary(&self) -> &str {
        &self.0.summary
    }
    /// Longer description, from the sources.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The programme component the pairing belongs to (IUC Asia, India, Japan, …).
    async fn programme_region(&self, ctx: &Context<'_>) -> Result<ProgrammeRegion> {
        let row = load_one(&loaders(ctx)?.programme_region, self.0.programme_region_id).await?;
        Ok(ProgrammeRegion(required(row, "programme region")?))
    }
    /// When the cooperation started, to the precision the sources give.
    async fn start(&self) -> Option<PartialDate> {
        Some(PartialDate(partial_date::PartialDate::new(
            self.0.start_date?,
            self.0.start_precision?,
        )))
    }
    /// Where the pairing stands.
    async fn status(&self) -> PairingStatus {
        self.0.status.into()
    }
    /// Editorial notes, e.g. judgement calls made where the sources were ambiguous.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The cities and regions taking part, each with its side and role, in the sources' order.
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<Participant>> {
        let rows = load_children(&loaders(ctx)?.participants_by_pairing, self.0.id).await?;
        Ok(rows.into_iter().map(Participant).collect())
    }
    /// The countries of the participants, each once, in the participants' order.
    async fn countries(&self, ctx: &Context<'_>) -> Result<Vec<Country>> {
        let loaders = loaders(ctx)?;
        let participants = load_children(&loaders.participants_by_pairing, self.0.id).await?;
        let cities = loaders
            .city
            .load_many(participants.iter().filter_map(|p| p.city_id))
            .await?;
        let regions = loaders
            .region
            .load_many(participants.iter().filter_map(|p| p.region_id))
            .await?;
        let mut ids: Vec<i32> = Vec::new();
        for p in &participants {
            let country = match (p.city_id, p.region_id) {
                (Some(c), _) => cities.get(&c).map(|c| c.country_id),
                (None, Some(r)) => regions.get(&r).map(|r| r.country_id),
                (None, None) => None,
            };
            if let Some(id) = country.filter(|id| !ids.contains(id)) {
                ids.push(id);
            }
        }
        Ok(load_ordered(&loaders.country, ids)
            .await?
            .into_iter()
            .map(Country)
            .collect())
    }
    /// The themes the pairing works on, in every scheme.
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        let rows = load_children(&loaders(ctx)?.themes_by_pairing, self.0.id).await?;
        Ok(rows.into_iter().map(Theme).collect())
    }
    /// The Sustainable Development Goals the pairing contributes to.
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        let rows = load_children(&loaders(ctx)?.sdgs_by_pairing, self.0.id).await?;
        Ok(rows.into_iter().map(Sdg).collect())
    }
    /// The pairing's Urban Cooperation Action Plan, if it has one.
    async fn ucap(&self, ctx: &Context<'_>) -> Result<Option<Ucap>> {
        let rows = load_children(&loaders(ctx)?.ucap_by_pairing, self.0.id).await?;
        Ok(rows.into_iter().next().map(Ucap))
    }
    /// The stakeholder organisations involved in the pairing, its UCAP or its projects, each with its role.
    async fn stakeholders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<InvolvementConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &PAIRING_INVOLVEMENTS, self.0.id, args).await
    }
    /// The pairing's timeline: missions, workshops, agreements, in date order.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ActivityConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &PAIRING_ACTIVITIES, self.0.id, args).await
    }
    /// Where this record and its fields come from: the documents, the quotes as printed, and
    /// the basis of each fact (stated, derived by a rule, reference data, editorial, or a
    /// partner's write).
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
}

pub struct Participant(pub Arc<pairing_participant::Model>);

/// A city or region taking part in a pairing, on a side, with a role.
// Fields one after another: see "Serial objects" in object/mod.rs.
#[Object(serial)]
impl Participant {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Participant, self.0.id)
    }
    /// The European side or the partner side.
    async fn side(&self) -> Side {
        self.0.side.into()
    }
    /// Lead participant, or associated member of a cluster.
    async fn role(&self) -> ParticipantRole {
        self.0.role.into()
    }
    /// The city or region taking part.
    async fn place(&self, ctx: &Context<'_>) -> Result<Place> {
        let loaders = loaders(ctx)?;
        match (self.0.city_id, self.0.region_id) {
            (Some(id), _) => Ok(Place::City(City(required(
                load_one(&loaders.city, id).await?,
                "city",
            )?))),
            (None, Some(id)) => Ok(Place::Region(Region(required(
                load_one(&loaders.region, id).await?,
                "region",
            )?))),
            (None, None) => Err(crate::error::AppError::Internal(
                "participant without a place".into(),
            )),
        }
    }
    /// The city taking part, when the participant is a city.
    async fn city(&self, ctx: &Context<'_>) -> Result<Option<City>> {
        let Some(id) = self.0.city_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.city, id).await?.map(City))
    }
    /// The region taking part, when the participant is a region.
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        let Some(id) = self.0.region_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.region, id).await?.map(Region))
    }
    /// The pairing.
    async fn pairing(&self, ctx: &Context<'_>) -> Result<Pairing> {
        let row = load_one(&loaders(ctx)?.pairing, self.0.pairing_id).await?;
        Ok(Pairing(required(row, "pairing")?))
    }
}
