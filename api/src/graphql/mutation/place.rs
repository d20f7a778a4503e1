//! Cities and regions: their inputs and payloads; the rules are in `service::write::place`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{city, region};

use super::*;
use crate::graphql::object::SourceInput;
use crate::graphql::object::{City, CityKind, Region};
use crate::service::write::place::{self, PlaceChanges, place_fields};

/// A new city.
#[derive(InputObject)]
pub struct CreateCityInput {
    /// URL-safe key, unique among cities, e.g. `bologna`.
    pub slug: String,
    /// Name as commonly written, e.g. `Bologna`.
    pub name: String,
    /// What kind of municipality it is.
    pub kind: CityKind,
    /// ISO 3166-1 alpha-2 code of its country, e.g. `IT`.
    pub country: String,
    /// Inhabitants (0 or more).
    pub population: Option<i64>,
    /// Area in km² (more than 0).
    pub area_km2: Option<f64>,
    /// The mayor or head of the administration.
    pub leader: Option<String>,
    /// Latitude in degrees (-90 to 90); give it with `longitude`.
    pub latitude: Option<f64>,
    /// Longitude in degrees (-180 to 180); give it with `latitude`.
    pub longitude: Option<f64>,
    /// Credit line of the city's photo.
    pub photo_credit: Option<String>,
    /// Wikidata item, e.g. `Q1891`.
    pub wikidata: Option<String>,
    /// GeoNames id.
    pub geonames_id: Option<i64>,
    /// Where the facts come from (URLs or document names).
    #[graphql(default)]
    pub sources: Vec<SourceInput>,
    /// Editorial notes.
    pub notes: Option<String>,
}

/// Changes to a city: fields left out stay as they are; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateCityInput {
    /// The city's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New slug (unique among cities).
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<CityKind>,
    /// New country (ISO 3166-1 alpha-2 code).
    pub country: Option<String>,
    /// Inhabitants (0 or more).
    pub population: MaybeUndefined<i64>,
    /// Area in km² (more than 0).
    pub area_km2: MaybeUndefined<f64>,
    /// The mayor or head of the administration.
    pub leader: MaybeUndefined<String>,
    /// Latitude in degrees (-90 to 90).
    pub latitude: MaybeUndefined<f64>,
    /// Longitude in degrees (-180 to 180).
    pub longitude: MaybeUndefined<f64>,
    /// Credit line of the city's photo.
    pub photo_credit: MaybeUndefined<String>,
    /// Wikidata item.
    pub wikidata: MaybeUndefined<String>,
    /// GeoNames id.
    pub geonames_id: MaybeUndefined<i64>,
    /// Replaces the sources you cite (your own `PARTNER` source is recorded by the server).
    pub sources: Option<Vec<SourceInput>>,
    /// Editorial notes.
    pub notes: MaybeUndefined<String>,
}

/// A new region.
#[derive(InputObject)]
pub struct CreateRegionInput {
    /// URL-safe key, unique among regions, e.g. `lombardy`.
    pub slug: String,
    /// Name as commonly written.
    pub name: String,
    /// ISO 3166-1 alpha-2 code of its country.
    pub country: String,
    /// Inhabitants (0 or more).
    pub population: Option<i64>,
    /// Area in km² (more than 0).
    pub area_km2: Option<f64>,
    /// The head of the regional government.
    pub leader: Option<String>,
    /// Latitude in degrees (-90 to 90); give it with `longitude`.
    pub latitude: Option<f64>,
    /// Longitude in degrees (-180 to 180); give it with `latitude`.
    pub longitude: Option<f64>,
    /// Credit line of the region's photo.
    pub photo_credit: Option<String>,
    /// Wikidata item.
    pub wikidata: Option<String>,
    /// GeoNames id.
    pub geonames_id: Option<i64>,
    /// The sources you cite (your own `PARTNER` source is recorded by the server).
    #[graphql(default)]
    pub sources: Vec<SourceInput>,
    /// Editorial notes.
    pub notes: Option<String>,
}

/// Changes to a region: fields left out stay as they are; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateRegionInput {
    /// The region's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New slug (unique among regions).
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New country (ISO 3166-1 alpha-2 code).
    pub country: Option<String>,
    /// Inhabitants (0 or more).
    pub population: MaybeUndefined<i64>,
    /// Area in km² (more than 0).
    pub area_km2: MaybeUndefined<f64>,
    /// The head of the regional government.
    pub leader: MaybeUndefined<String>,
    /// Latitude in degrees (-90 to 90).
    pub latitude: MaybeUndefined<f64>,
    /// Longitude in degrees (-180 to 180).
    pub longitude: MaybeUndefined<f64>,
    /// Credit line of the region's photo.
    pub photo_credit: MaybeUndefined<String>,
    /// Wikidata item.
    pub wikidata: MaybeUndefined<String>,
    /// GeoNames id.
    pub geonames_id: MaybeUndefined<i64>,
    /// Replaces the sources you cite (your own `PARTNER` source is recorded by the server).
    pub sources: Option<Vec<SourceInput>>,
    /// Editorial notes.
    pub notes: MaybeUndefined<String>,
}

/// The city created or changed.
#[derive(SimpleObject)]
pub struct CityPayload {
    /// The city as it is now.
    pub city: City,
}

/// The region created or changed.
#[derive(SimpleObject)]
pub struct RegionPayload {
    /// The region as it is now.
    pub region: Region,
}

/// The shared columns of an update input (`UpdateCityInput`, `UpdateRegionInput`).
macro_rules! place_changes {
    ($input:ident) => {
        PlaceChanges {
            slug: $input.slug,
            name: $input.name,
            country: $input.country,
            population: $input.population.into(),
            area_km2: $input.area_km2.into(),
            leader: $input.leader.into(),
            latitude: $input.latitude.into(),
            longitude: $input.longitude.into(),
            photo_credit: $input.photo_credit.into(),
            wikidata: $input.wikidata.into(),
            geonames_id: $input.geonames_id.into(),
            sources: $input.sources.map(SourceInput::all),
            notes: $input.notes.into(),
        }
    };
}

#[derive(Default)]
pub struct PlaceMutation;

/// Cities and regions.
#[Object]
impl PlaceMutation {
    /// Creates a city (administrators).
    async fn create_city(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new city.")] input: CreateCityInput,
    ) -> Result<CityPayload> {
        let w = begin(ctx).await?;
        let blank = place::blank_city(input.kind.into());
        let city = place::create(&w.writer(), blank, place_fields!(input)).await?;
        w.commit().await?;
        Ok(CityPayload {
            city: City(city.into()),
        })
    }

    /// Changes a city (administrators, or the city's own administration).
    async fn update_city(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdateCityInput,
    ) -> Result<CityPayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::City, "input.id")?;
        let kind = input.kind;
        let changes = place_changes!(input);
        let city = place::update(
            &w.writer(),
            id,
            input.version,
            changes,
            |c: &mut city::Model| {
                if let Some(kind) = kind {
                    c.kind = kind.into();
                }
            },
        )
        .await?;
        w.commit().await?;
        Ok(CityPayload {
            city: City(city.into()),
        })
    }

    /// Deletes a city (administrators). Refused while pairings, stakeholders, projects or
    /// activities refer to it; the city's API keys are deleted with it.
    async fn delete_city(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The city to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::City, "input.id")?;
        let removed = place::delete::<city::Entity, _>(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::City, id, removed))
    }

    /// Creates a region (administrators).
    async fn create_region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new region.")] input: CreateRegionInput,
    ) -> Result<RegionPayload> {
        let w = begin(ctx).await?;
        let blank = place::blank_region();
        let region = place::create(&w.writer(), blank, place_fields!(input)).await?;
        w.commit().await?;
        Ok(RegionPayload {
            region: Region(region.into()),
        })
    }

    /// Changes a region (administrators, or the region's own administration).
    async fn update_region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdateRegionInput,
    ) -> Result<RegionPayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Region, "input.id")?;
        let changes = place_changes!(input);
        let region = place::update(
            &w.writer(),
            id,
            input.version,
            changes,
            |_: &mut region::Model| {},
        )
        .await?;
        w.commit().await?;
        Ok(RegionPayload {
            region: Region(region.into()),
        })
    }

    /// Deletes a region (administrators). Refused while pairings or projects refer to it; the
    /// region's API keys are deleted with it.
    async fn delete_region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Region, "input.id")?;
        let removed = place::delete::<region::Entity, _>(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::Region, id, removed))
    }
}
