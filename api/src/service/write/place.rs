//! Cities and regions: created and deleted by administrators; updated by administrators and by
//! the city's or region's own administration. The two share their columns (everything but a
//! city's kind) and every rule about them: one implementation, over the `Place` trait.

use entity::{activity, api_key, city, pairing_participant, project, region, stakeholder};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait,
    IntoActiveModel, ModelTrait, PrimaryKeyTrait,
};

use super::dependents::{self, Dependent, Removal};
use super::lookup::{country_id, find_for_write};
use super::{Patch, Record, Writer, patch};
use crate::auth::Organisation;
use crate::error::AppError;
use crate::id::NodeType;
use crate::service::access;
use crate::service::provenance::{self, Source};

/// The columns cities and regions share, as a create (or a dataset record) gives them.
#[derive(Debug, Clone)]
pub struct PlaceFields {
    pub slug: String,
    pub name: String,
    /// ISO 3166-1 alpha-2 code of its country.
    pub country: String,
    pub population: Option<i64>,
    pub area_km2: Option<f64>,
    pub leader: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub photo_credit: Option<String>,
    pub wikidata: Option<String>,
    pub geonames_id: Option<i64>,
    pub sources: Vec<Source>,
    pub notes: Option<String>,
}

/// The `PlaceFields` of anything with the same field names (a create input of either kind, a
/// dataset record): the one conversion, for the GraphQL inputs and the dataset loader.
macro_rules! place_fields {
    ($input:ident) => {
        $crate::service::write::place::PlaceFields {
            slug: $input.slug,
            name: $input.name,
            country: $input.country,
            population: $input.population,
            area_km2: $input.area_km2,
            leader: $input.leader,
            latitude: $input.latitude,
            longitude: $input.longitude,
            photo_credit: $input.photo_credit,
            wikidata: $input.wikidata,
            geonames_id: $input.geonames_id,
            sources: $input.sources.into_iter().map(Into::into).collect(),
            notes: $input.notes,
        }
    };
}
pub(crate) use place_fields;

/// Changes to the shared columns: `None` keeps a column (see `Patch` for optional ones).
#[derive(Debug, Clone, Default)]
pub struct PlaceChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub country: Option<String>,
    pub population: Patch<i64>,
    pub area_km2: Patch<f64>,
    pub leader: Patch<String>,
    pub latitude: Patch<f64>,
    pub longitude: Patch<f64>,
    pub photo_credit: Patch<String>,
    pub wikidata: Patch<String>,
    pub geonames_id: Patch<i64>,
    pub sources: Option<Vec<Source>>,
    pub notes: Patch<String>,
}

impl From<PlaceFields> for PlaceChanges {
    /// A create is a change of every column of a blank record.
    fn from(f: PlaceFields) -> Self {
        Self {
            slug: Some(f.slug),
            name: Some(f.name),
            country: Some(f.country),
            population: Some(f.population),
            area_km2: Some(f.area_km2),
            leader: Some(f.leader),
            latitude: Some(f.latitude),
            longitude: Some(f.longitude),
            photo_credit: Some(f.photo_credit),
            wikidata: Some(f.wikidata),
            geonames_id: Some(f.geonames_id),
            sources: Some(f.sources),
            notes: Some(f.notes),
        }
    }
}

/// The shared columns of one city or region, to change in place.
pub struct PlaceColumns<'a> {
    slug: &'a mut String,
    name: &'a mut String,
    country_id: &'a mut i32,
    population: &'a mut Option<i64>,
    area_km2: &'a mut Option<f64>,
    leader: &'a mut Option<String>,
    latitude: &'a mut Option<f64>,
    longitude: &'a mut Option<f64>,
    photo_credit: &'a mut Option<String>,
    wikidata: &'a mut Option<String>,
    geonames_id: &'a mut Option<i64>,
    sources: &'a mut String,
    notes: &'a mut Option<String>,
}

impl PlaceColumns<'_> {
    /// Applies `changes`; `country_id` is the id of `changes.country`, looked up by the caller.
    pub fn apply(self, changes: PlaceChanges, country_id: Option<i32>) {
        if let Some(slug) = changes.slug {
            *self.slug = slug;
        }
        if let Some(name) = changes.name {
            *self.name = name;
        }
        if let Some(id) = country_id {
            *self.country_id = id;
        }
        patch(self.population, changes.population);
        patch(self.area_km2, changes.area_km2);
        patch(self.leader, changes.leader);
        patch(self.latitude, changes.latitude);
        patch(self.longitude, changes.longitude);
        patch(self.photo_credit, changes.photo_credit);
        patch(self.wikidata, changes.wikidata);
        patch(self.geonames_id, changes.geonames_id);
        if let Some(sources) = changes.sources {
            *self.sources = provenance::to_text(&sources);
        }
        patch(self.notes, changes.notes);
    }
}

/// A city or a region.
pub trait Place: Record {
    const KIND: NodeType;
    /// The organisation a partner key for this place acts for.
    fn organisation(id: i32) -> Organisation;
    fn columns(&mut self) -> PlaceColumns<'_>;
    /// What refers to the place and stops its deletion.
    fn references(id: i32) -> Vec<Dependent>;
    /// What is deleted with it: its API keys.
    fn removed_with(id: i32) -> Vec<Dependent>;
}

macro_rules! place_columns {
    () => {
        fn columns(&mut self) -> PlaceColumns<'_> {
            PlaceColumns {
                slug: &mut self.slug,
                name: &mut self.name,
                country_id: &mut self.country_id,
                population: &mut self.population,
                area_km2: &mut self.area_km2,
                leader: &mut self.leader,
                latitude: &mut self.latitude,
                longitude: &mut self.longitude,
                photo_credit: &mut self.photo_credit,
                wikidata: &mut self.wikidata,
                geonames_id: &mut self.geonames_id,
                sources: &mut self.sources,
                notes: &mut self.notes,
            }
        }
    };
}

impl Place for city::Model {
    const KIND: NodeType = NodeType::City;
    fn organisation(id: i32) -> Organisation {
        Organisation::City(id)
    }
    place_columns!();
    fn references(id: i32) -> Vec<Dependent> {
        vec![
            Dependent::of::<pairing_participant::Entity>(
                "Participant",
                pairing_participant::Column::CityId.eq(id),
            ),
            Dependent::of::<stakeholder::Entity>("Stakeholder", stakeholder::Column::CityId.eq(id)),
            Dependent::of::<project::Entity>("Project", project::Column::CityId.eq(id)),
            Dependent::of::<activity::Entity>("Activity", activity::Column::CityId.eq(id)),
        ]
    }
    fn removed_with(id: i32) -> Vec<Dependent> {
        vec![Dependent::of::<api_key::Entity>(
            "ApiKey",
            api_key::Column::CityId.eq(id),
        )]
    }
}

impl Place for region::Model {
    const KIND: NodeType = NodeType::Region;
    fn organisation(id: i32) -> Organisation {
        Organisation::Region(id)
    }
    place_columns!();
    fn references(id: i32) -> Vec<Dependent> {
        vec![
            Dependent::of::<pairing_participant::Entity>(
                "Participant",
                pairing_participant::Column::RegionId.eq(id),
            ),
            Dependent::of::<project::Entity>("Project", project::Column::RegionId.eq(id)),
        ]
    }
    fn removed_with(id: i32) -> Vec<Dependent> {
        vec![Dependent::of::<api_key::Entity>(
            "ApiKey",
            api_key::Column::RegionId.eq(id),
        )]
    }
}

/// A city with blank shared columns, to fill from `PlaceFields`.
pub fn blank_city(kind: entity::enums::CityKind) -> city::Model {
    city::Model {
        id: 0,
        slug: String::new(),
        name: String::new(),
        name_folded: String::new(),
        kind,
        country_id: 0,
        population: None,
        area_km2: None,
        leader: None,
        latitude: None,
        longitude: None,
        photo_credit: None,
        wikidata: None,
        geonames_id: None,
        sources: String::new(),
        notes: None,
        version: 1,
        updated_at: super::now(),
    }
}

/// A region with blank shared columns, to fill from `PlaceFields`.
pub fn blank_region() -> region::Model {
    region::Model {
        id: 0,
        slug: String::new(),
        name: String::new(),
        name_folded: String::new(),
        country_id: 0,
        population: None,
        area_km2: None,
        leader: None,
        latitude: None,
        longitude: None,
        photo_credit: None,
        wikidata: None,
        geonames_id: None,
        sources: String::new(),
        notes: None,
        version: 1,
        updated_at: super::now(),
    }
}

/// A city or region: `blank` (which carries what is not shared) with the shared columns set
/// from `fields`; `country_id` is the id of `fields.country`.
pub fn filled<M: Place>(mut blank: M, fields: PlaceFields, country_id: i32) -> M {
    blank.columns().apply(fields.into(), Some(country_id));
    blank
}

/// Creates a city or region (administrators): `blank` carries what is not shared.
pub async fn create<E, M, A>(
    w: &Writer<'_, impl ConnectionTrait>,
    blank: M,
    fields: PlaceFields,
) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Place + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    w.principal.require_admin()?;
    super::require_unique_slug::<E>(w.db, "input.slug", &fields.slug, None).await?;
    let country = country_id(w.db, &fields.country, "input.country").await?;
    super::insert(w.db, w.actor, filled(blank, fields, country), None).await
}

/// Changes a city or region (administrators, or its own administration); `own` applies the
/// changes to what is not shared.
pub async fn update<E, M, A>(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: i32,
    changes: PlaceChanges,
    own: impl FnOnce(&mut M),
) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Place + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i32>,
{
    access::require_self_or_admin(w.principal, M::organisation(id))?;
    let before: M = find_for_write::<E>(w.db, w.principal, M::KIND, id).await?;
    let mut after = before.clone();
    if let Some(slug) = &changes.slug {
        super::require_unique_slug::<E>(w.db, "input.slug", slug, Some(id)).await?;
    }
    own(&mut after);
    let country = match &changes.country {
        Some(code) => Some(country_id(w.db, code, "input.country").await?),
        None => None,
    };
    after.columns().apply(changes, country);
    super::update(w.db, w.actor, &before, version, after, None, None).await
}

/// Deletes a city or region (administrators): refused while anything refers to it; its API
/// keys go with it. Returns what went with it.
pub async fn delete<E, M>(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: Option<i32>,
) -> Result<Vec<Removal>, AppError>
where
    E: EntityTrait<Model = M>,
    M: Place + ModelTrait<Entity = E>,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i32>,
{
    w.principal.require_admin()?;
    let place: M = find_for_write::<E>(w.db, w.principal, M::KIND, id).await?;
    let references = dependents::count(w.db, M::references(id)).await?;
    let name = format!("{} {}", M::ENTITY, place.key().unwrap_or_default());
    dependents::refuse_if_referenced(&name, &references)?;
    let removed = dependents::count(w.db, M::removed_with(id)).await?;
    super::delete(w.db, w.actor, &place, version, None).await?;
    Ok(removed)
}
