use std::sync::Arc;

use async_graphql::{Context, ID, Object, SimpleObject, Union};
use entity::{city, country, programme_region, region};

use super::*;
use crate::error::Result;
use crate::id::{NodeType, encode};
use crate::service::relations::*;

pub struct Country(pub Arc<country::Model>);

/// A country, identified by its ISO 3166-1 alpha-2 code.
// Fields one after another: see "Serial objects" in object/mod.rs.
#[Object(serial)]
impl Country {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Country, self.0.id)
    }
    /// ISO 3166-1 alpha-2 code, e.g. `IT`, `CN`, `GB` (the key to filter by).
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// English short name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Editorial notes, e.g. how the source printed the country.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// Cities of this country taking part in the programme, by name.
    async fn cities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<CityConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &COUNTRY_CITIES, self.0.id, args).await
    }
    /// Regions of this country taking part in the programme, by name.
    async fn regions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<RegionConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &COUNTRY_REGIONS, self.0.id, args).await
    }
    /// Pairings with a participant (city or region) in this country, on either side, by title.
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<PairingConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &COUNTRY_PAIRINGS, self.0.id, args).await
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

pub struct ProgrammeRegion(pub Arc<programme_region::Model>);

/// A regional component of the IUC programme: IUC Asia, India, Japan, Latin America and the
/// Caribbean, North America.
#[Object]
impl ProgrammeRegion {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::ProgrammeRegion, self.0.id)
    }
    /// Stable key, e.g. `asia`, `latin-america-caribbean`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name, e.g. "IUC Asia".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the component covers.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The countries the sources name for this programme region, by code.
    async fn countries(&self, ctx: &Context<'_>) -> Result<Vec<Country>> {
        let rows = load_children(&loaders(ctx)?.countries_by_programme_region, self.0.id).await?;
        let mut countries: Vec<Country> = rows.into_iter().map(Country).collect();
        countries.sort_by(|a, b| a.0.code.cmp(&b.0.code));
        Ok(countries)
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

/// A point on the globe (WGS 84).
#[derive(SimpleObject)]
pub struct Coordinates {
    /// Latitude in decimal degrees, -90 to 90.
    pub latitude: f64,
    /// Longitude in decimal degrees, -180 to 180.
    pub longitude: f64,
}

fn coordinates(latitude: Option<f64>, longitude: Option<f64>) -> Option<Coordinates> {
    Some(Coordinates {
        latitude: latitude?,
        longitude: longitude?,
    })
}

/// The country a city or region is in (batched with the page's other places).
async fn country_of(ctx: &Context<'_>, country_id: i32) -> Result<Country> {
    let row = load_one(&loaders(ctx)?.country, country_id).await?;
    Ok(Country(required(row, "country")?))
}

pub struct City(pub Arc<city::Model>);

/// A city taking part in the programme; also districts, metropolitan areas and consortia of
/// municipalities.
// Fields one after another: see "Serial objects" in object/mod.rs.
#[Object(serial)]
impl City {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::City, self.0.id)
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
    /// Stable key for URLs, e.g. `rome`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name as the sources spell it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// City, town, district, metropolitan area or consortium.
    async fn kind(&self) -> CityKind {
        self.0.kind.into()
    }
    /// The country the city is in.
    async fn country(&self, ctx: &Context<'_>) -> Result<Country> {
        country_of(ctx, self.0.country_id).await
    }
    /// Inhabitants, as the sources give them.
    async fn population(&self) -> Option<i64> {
        self.0.population
    }
    /// Area in square kilometres.
    async fn area_km2(&self) -> Option<f64> {
        self.0.area_km2
    }
    /// Mayor or leader, as the sources name them.
    async fn leader(&self) -> Option<&str> {
        self.0.leader.as_deref()
    }
    /// Location (WGS 84), where known.
    async fn coordinates(&self) -> Option<Coordinates> {
        coordinates(self.0.latitude, self.0.longitude)
    }
    /// Credit line of the city's photo on its pairing page.
    async fn photo_credit(&self) -> Option<&str> {
        self.0.photo_credit.as_deref()
    }
    /// Wikidata item, e.g. `Q220`.
    async fn wikidata(&self) -> Option<&str> {
        self.0.wikidata.as_deref()
    }
    /// GeoNames id.
    async fn geonames_id(&self) -> Option<i64> {
        self.0.geonames_id
    }
    /// Editorial notes, e.g. the original spelling where the source was corrected.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The city's places in pairings (each with its pairing, side and role).
    async fn participations(&self, ctx: &Context<'_>) -> Result<Vec<Participant>> {
        let rows = load_children(&loaders(ctx)?.participants_by_city, self.0.id).await?;
        Ok(rows.into_iter().map(Participant).collect())
    }
    /// Stakeholder organisations located in the city, by name.
    async fn stakeholders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<StakeholderConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &CITY_STAKEHOLDERS, self.0.id, args).await
    }
    /// Activities that took place in the city, in date order.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ActivityConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &CITY_ACTIVITIES, self.0.id, args).await
    }
    /// The pairings the city takes part in, by title.
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<PairingConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &CITY_PAIRINGS, self.0.id, args).await
    }
    /// The cities and regions this city is paired with: the other participants of its pairings, one per shared pairing.
    async fn partners(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ParticipantConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &CITY_PARTNERS, self.0.id, args).await
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

pub struct Region(pub Arc<region::Model>);

/// A sub-national region taking part in region-to-region partnerships.
// Fields one after another: see "Serial objects" in object/mod.rs.
#[Object(serial)]
impl Region {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Region, self.0.id)
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
    /// Stable key for URLs, e.g. `minas-gerais`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Name as the sources spell it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The country the region is in.
    async fn country(&self, ctx: &Context<'_>) -> Result<Country> {
        country_of(ctx, self.0.country_id).await
    }
    /// Inhabitants, as the sources give them.
    async fn population(&self) -> Option<i64> {
        self.0.population
    }
    /// Area in square kilometres.
    async fn area_km2(&self) -> Option<f64> {
        self.0.area_km2
    }
    /// Leader (governor, president), as the sources name them.
    async fn leader(&self) -> Option<&str> {
        self.0.leader.as_deref()
    }
    /// Location (WGS 84), where known.
    async fn coordinates(&self) -> Option<Coordinates> {
        coordinates(self.0.latitude, self.0.longitude)
    }
    /// Credit line of the region's photo.
    async fn photo_credit(&self) -> Option<&str> {
        self.0.photo_credit.as_deref()
    }
    /// Wikidata item.
    async fn wikidata(&self) -> Option<&str> {
        self.0.wikidata.as_deref()
    }
    /// GeoNames id.
    async fn geonames_id(&self) -> Option<i64> {
        self.0.geonames_id
    }
    /// Editorial notes.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The region's places in pairings (each with its pairing, side and role).
    async fn participations(&self, ctx: &Context<'_>) -> Result<Vec<Participant>> {
        let rows = load_children(&loaders(ctx)?.participants_by_region, self.0.id).await?;
        Ok(rows.into_iter().map(Participant).collect())
    }
    /// The pairings the region takes part in, by title.
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<PairingConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &REGION_PAIRINGS, self.0.id, args).await
    }
    /// The regions and cities this region is paired with: the other participants of its pairings, one per shared pairing.
    async fn partners(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ParticipantConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &REGION_PARTNERS, self.0.id, args).await
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

/// A city or a region: what takes part in a pairing.
#[derive(Union)]
pub enum Place {
    /// A city (or district, metropolitan area, consortium).
    City(City),
    /// A sub-national region.
    Region(Region),
}
