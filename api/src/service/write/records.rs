//! What each record must satisfy to be written: the rules (`rules.rs`) that apply to it, each on
//! the input field it is about.

use chrono::{DateTime, Utc};
use entity::*;

use super::Record;
use super::rules::{self, Coordinate, Rule};
use crate::error::AppError;
use crate::service::provenance;
use crate::text::fold;

macro_rules! record {
    ($module:ident, $entity:literal, $key:expr) => {
        record!($module, $entity, $key, self => Some(&mut self.sources));
    };
    ($module:ident, $entity:literal, $key:expr, $self:ident => $sources:expr) => {
        impl Record for $module::Model {
            const ENTITY: &'static str = $entity;
            fn id(&self) -> i32 {
                self.id
            }
            fn version(&self) -> i32 {
                self.version
            }
            fn set_version(&mut self, version: i32) {
                self.version = version;
            }
            fn sources_mut(&mut $self) -> Option<&mut String> {
                $sources
            }
            fn updated_at(&self) -> DateTime<Utc> {
                self.updated_at
            }
            fn set_updated_at(&mut self, at: DateTime<Utc>) {
                self.updated_at = at;
            }
            fn key(&self) -> Option<String> {
                #[allow(clippy::redundant_closure_call)]
                ($key)(self)
            }
            fn derive(&mut self) {
                DeriveColumns::derive_columns(self);
            }
            fn validate(&self) -> Result<(), AppError> {
                Check::check(self)
            }
        }
    };
}

record!(city, "City", |m: &city::Model| Some(m.slug.clone()));
record!(region, "Region", |m: &region::Model| Some(m.slug.clone()));
record!(pairing, "Pairing", |m: &pairing::Model| Some(
    m.slug.clone()
));
record!(ucap, "Ucap", |_: &ucap::Model| None);
record!(project, "Project", |m: &project::Model| Some(
    m.slug.clone()
));
record!(stakeholder, "Stakeholder", |m: &stakeholder::Model| Some(
    m.slug.clone()
));
record!(
    involvement,
    "Involvement",
    |_: &involvement::Model| None,
    self => None
);
record!(activity, "Activity", |m: &activity::Model| Some(
    m.slug.clone()
));

/// Recomputes a record's derived columns.
trait DeriveColumns {
    fn derive_columns(&mut self) {}
}
impl DeriveColumns for city::Model {
    fn derive_columns(&mut self) {
        self.name_folded = fold(&self.name);
    }
}
impl DeriveColumns for region::Model {
    fn derive_columns(&mut self) {
        self.name_folded = fold(&self.name);
    }
}
impl DeriveColumns for stakeholder::Model {
    fn derive_columns(&mut self) {
        self.name_folded = fold(&self.name);
    }
}
impl DeriveColumns for pairing::Model {
    fn derive_columns(&mut self) {
        self.search_text = fold(&format!("{} {}", self.title, self.summary));
    }
}
impl DeriveColumns for ucap::Model {}
impl DeriveColumns for project::Model {}
impl DeriveColumns for involvement::Model {}
impl DeriveColumns for activity::Model {}

/// Each record type's rules.
trait Check {
    fn check(&self) -> Result<(), AppError>;
}

/// A rule's message on the input field it is about.
fn on(field: &str, rule: Rule) -> Result<(), AppError> {
    rule.map_err(|message| AppError::invalid(field, message))
}

/// A record's sources hold what their basis needs (`provenance::problems`; whether the
/// documents and rules they cite exist is checked against the database by the write).
fn sources(kind: &str, stored: &str) -> Result<(), AppError> {
    let sources = provenance::parse(stored);
    let known = |_: provenance::Known, _: &str| true;
    for (i, source) in sources.iter().enumerate() {
        if let Some((key, message)) = provenance::problems(kind, source, &known).pop() {
            return Err(AppError::invalid(
                format!("input.sources[{i}].{key}"),
                message,
            ));
        }
    }
    match provenance::list_problems(&sources) {
        Some(message) => Err(AppError::invalid("input.sources", message)),
        None => Ok(()),
    }
}

/// A place's rules, for cities and regions alike (their models are separate types with the same
/// fields), in the order the input lists the fields.
macro_rules! check_place {
    ($($module:ident),*) => {$(
        impl Check for $module::Model {
            fn check(&self) -> Result<(), AppError> {
                on("input.slug", rules::slug(&self.slug))?;
                on("input.name", rules::non_empty(&self.name))?;
                if let Some(p) = self.population {
                    on("input.population", rules::not_negative(p))?;
                }
                if let Some(a) = self.area_km2 {
                    on("input.areaKm2", rules::area_km2(a))?;
                }
                coordinates(self.latitude, self.longitude)?;
                if let Some(qid) = &self.wikidata {
                    on("input.wikidata", rules::wikidata(qid))?;
                }
                sources(<Self as Record>::ENTITY, &self.sources)
            }
        }
    )*};
}
check_place!(city, region);

fn coordinates(latitude: Option<f64>, longitude: Option<f64>) -> Result<(), AppError> {
    if let Some(lat) = latitude {
        on("input.latitude", rules::latitude(lat))?;
    }
    if let Some(lon) = longitude {
        on("input.longitude", rules::longitude(lon))?;
    }
    rules::coordinates(latitude, longitude).map_err(|(missing, message)| {
        let field = match missing {
            Coordinate::Latitude => "input.latitude",
            Coordinate::Longitude => "input.longitude",
        };
        AppError::invalid(field, message)
    })
}

impl Check for pairing::Model {
    fn check(&self) -> Result<(), AppError> {
        on("input.slug", rules::slug(&self.slug))?;
        on("input.title", rules::non_empty(&self.title))?;
        on("input.summary", rules::non_empty(&self.summary))?;
        sources(<Self as Record>::ENTITY, &self.sources)
    }
}
impl Check for ucap::Model {
    fn check(&self) -> Result<(), AppError> {
        Ok(())
    }
}
impl Check for project::Model {
    fn check(&self) -> Result<(), AppError> {
        on("input.slug", rules::slug(&self.slug))?;
        on("input.title", rules::non_empty(&self.title))?;
        on(
            "input.region",
            rules::project_location(self.city_id.is_some(), self.region_id.is_some()),
        )?;
        on("input.position", rules::not_negative(self.position.into()))
    }
}
impl Check for stakeholder::Model {
    fn check(&self) -> Result<(), AppError> {
        on("input.slug", rules::slug(&self.slug))?;
        on("input.name", rules::non_empty(&self.name))?;
        sources(<Self as Record>::ENTITY, &self.sources)
    }
}
impl Check for involvement::Model {
    fn check(&self) -> Result<(), AppError> {
        let targets = [self.pairing_id, self.ucap_id, self.project_id]
            .iter()
            .filter(|t| t.is_some())
            .count();
        on("input.pairing", rules::involvement_targets(targets))
    }
}
impl Check for activity::Model {
    fn check(&self) -> Result<(), AppError> {
        on("input.slug", rules::slug(&self.slug))?;
        on("input.title", rules::non_empty(&self.title))?;
        sources(<Self as Record>::ENTITY, &self.sources)
    }
}
