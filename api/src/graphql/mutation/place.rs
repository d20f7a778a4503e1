//! Cities and regions: created and deleted by administrators; updated by administrators and by
//! the city's or region's own administration.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{city, region};
use sea_orm::ConnectionTrait;

use super::*;
use crate::auth::Organisation;
use crate::graphql::object::{City, CityKind, Region};
use crate::id::encode;
use crate::service::{access, catalog, write};

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
    pub sources: Vec<String>,
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
    /// Replaces the list of sources.
    pub sources: Option<Vec<String>>,
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
    /// Where the facts come from.
    #[graphql(default)]
    pub sources: Vec<String>,
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
    /// Replaces the list of sources.
    pub sources: Option<Vec<String>>,
    /// Editorial notes.
    pub notes: MaybeUndefined<String>,
}

/// Deletes a record.
#[derive(InputObject)]
pub struct DeleteInput {
    /// The record's global ID.
    pub id: ID,
    /// The version you read; when given, a stale one gets `CONFLICT`.
    pub version: Option<i32>,
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

/// Applies an update to a field: left out keeps, `null` clears, a value sets.
pub(crate) fn patch<T>(field: &mut Option<T>, value: MaybeUndefined<T>) {
    match value {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *field = None,
        MaybeUndefined::Value(v) => *field = Some(v),
    }
}

/// The id of the country with this ISO code, or an error on `field`.
pub(crate) async fn country_id(db: &impl ConnectionTrait, code: &str, field: &str) -> Result<i32> {
    match catalog::country_by_code(db, code.trim()).await? {
        Some(country) => Ok(country.id),
        None => Err(AppError::invalid(
            field,
            format!("{code:?} is not a known ISO 3166-1 alpha-2 country code"),
        )),
    }
}

/// What refers to a city and stops its deletion; its keys go with it.
const CITY_REFERENCES: [(&str, &str); 4] = [
    ("Participant", "pairing_participant WHERE city_id = ?"),
    ("Stakeholder", "stakeholder WHERE city_id = ?"),
    ("Project", "project WHERE city_id = ?"),
    ("Activity", "activity WHERE city_id = ?"),
];
const REGION_REFERENCES: [(&str, &str); 2] = [
    ("Participant", "pairing_participant WHERE region_id = ?"),
    ("Project", "project WHERE region_id = ?"),
];

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
        w.principal().require_admin()?;
        write::require_unique_slug::<city::Entity>(&w.txn, "input.slug", &input.slug, None).await?;
        let model = city::Model {
            id: 0,
            slug: input.slug,
            name: input.name,
            name_folded: String::new(),
            kind: input.kind.into(),
            country_id: country_id(&w.txn, &input.country, "input.country").await?,
            population: input.population,
            area_km2: input.area_km2,
            leader: input.leader,
            latitude: input.latitude,
            longitude: input.longitude,
            photo_credit: input.photo_credit,
            wikidata: input.wikidata,
            geonames_id: input.geonames_id,
            sources: sources_text(&input.sources),
            notes: input.notes,
            version: 1,
        };
        let city = write::insert(&w.txn, &w.actor, model, None).await?;
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
        access::require_self_or_admin(w.principal(), Organisation::City(id))?;
        let before: city::Model =
            find_for_write::<city::Entity>(&w, &input.id, NodeType::City, "input.id").await?;
        let mut after = before.clone();
        if let Some(slug) = input.slug {
            write::require_unique_slug::<city::Entity>(&w.txn, "input.slug", &slug, Some(id))
                .await?;
            after.slug = slug;
        }
        if let Some(name) = input.name {
            after.name = name;
        }
        if let Some(kind) = input.kind {
            after.kind = kind.into();
        }
        if let Some(code) = input.country {
            after.country_id = country_id(&w.txn, &code, "input.country").await?;
        }
        patch(&mut after.population, input.population);
        patch(&mut after.area_km2, input.area_km2);
        patch(&mut after.leader, input.leader);
        patch(&mut after.latitude, input.latitude);
        patch(&mut after.longitude, input.longitude);
        patch(&mut after.photo_credit, input.photo_credit);
        patch(&mut after.wikidata, input.wikidata);
        patch(&mut after.geonames_id, input.geonames_id);
        if let Some(sources) = input.sources {
            after.sources = sources_text(&sources);
        }
        patch(&mut after.notes, input.notes);
        let city =
            write::update(&w.txn, &w.actor, &before, input.version, after, None, None).await?;
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
        w.principal().require_admin()?;
        let city: city::Model =
            find_for_write::<city::Entity>(&w, &input.id, NodeType::City, "input.id").await?;
        let references = count_dependents(&w.txn, city.id, &CITY_REFERENCES).await?;
        refuse_if_referenced(&format!("City {}", city.slug), &references)?;
        let removed =
            count_dependents(&w.txn, city.id, &[("ApiKey", "api_key WHERE city_id = ?")]).await?;
        write::delete(&w.txn, &w.actor, &city, input.version, None).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::City, city.id),
            removed,
        })
    }

    /// Creates a region (administrators).
    async fn create_region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new region.")] input: CreateRegionInput,
    ) -> Result<RegionPayload> {
        let w = begin(ctx).await?;
        w.principal().require_admin()?;
        write::require_unique_slug::<region::Entity>(&w.txn, "input.slug", &input.slug, None)
            .await?;
        let model = region::Model {
            id: 0,
            slug: input.slug,
            name: input.name,
            name_folded: String::new(),
            country_id: country_id(&w.txn, &input.country, "input.country").await?,
            population: input.population,
            area_km2: input.area_km2,
            leader: input.leader,
            latitude: input.latitude,
            longitude: input.longitude,
            photo_credit: input.photo_credit,
            wikidata: input.wikidata,
            geonames_id: input.geonames_id,
            sources: sources_text(&input.sources),
            notes: input.notes,
            version: 1,
        };
        let region = write::insert(&w.txn, &w.actor, model, None).await?;
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
        access::require_self_or_admin(w.principal(), Organisation::Region(id))?;
        let before: region::Model =
            find_for_write::<region::Entity>(&w, &input.id, NodeType::Region, "input.id").await?;
        let mut after = before.clone();
        if let Some(slug) = input.slug {
            write::require_unique_slug::<region::Entity>(&w.txn, "input.slug", &slug, Some(id))
                .await?;
            after.slug = slug;
        }
        if let Some(name) = input.name {
            after.name = name;
        }
        if let Some(code) = input.country {
            after.country_id = country_id(&w.txn, &code, "input.country").await?;
        }
        patch(&mut after.population, input.population);
        patch(&mut after.area_km2, input.area_km2);
        patch(&mut after.leader, input.leader);
        patch(&mut after.latitude, input.latitude);
        patch(&mut after.longitude, input.longitude);
        patch(&mut after.photo_credit, input.photo_credit);
        patch(&mut after.wikidata, input.wikidata);
        patch(&mut after.geonames_id, input.geonames_id);
        if let Some(sources) = input.sources {
            after.sources = sources_text(&sources);
        }
        patch(&mut after.notes, input.notes);
        let region =
            write::update(&w.txn, &w.actor, &before, input.version, after, None, None).await?;
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
        w.principal().require_admin()?;
        let region: region::Model =
            find_for_write::<region::Entity>(&w, &input.id, NodeType::Region, "input.id").await?;
        let references = count_dependents(&w.txn, region.id, &REGION_REFERENCES).await?;
        refuse_if_referenced(&format!("Region {}", region.slug), &references)?;
        let removed = count_dependents(
            &w.txn,
            region.id,
            &[("ApiKey", "api_key WHERE region_id = ?")],
        )
        .await?;
        write::delete(&w.txn, &w.actor, &region, input.version, None).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::Region, region.id),
            removed,
        })
    }
}
