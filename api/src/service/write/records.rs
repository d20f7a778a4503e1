//! The rules each record must satisfy to be written, with the input field each rule is about.

use entity::*;

use super::Record;
use crate::error::AppError;
use crate::text::fold;

macro_rules! record {
    ($module:ident, $entity:literal, $key:expr) => {
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
record!(involvement, "Involvement", |_: &involvement::Model| None);
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

/// A slug: lower-case letters, digits and single hyphens, 1–100 characters.
pub fn slug(field: &str, value: &str) -> Result<(), AppError> {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--");
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            format!(
                "{value:?} is not a valid slug: use 1–100 lower-case letters, digits and \
                 single hyphens, e.g. \"rome-yantai\""
            ),
        ))
    }
}

/// Text that must say something.
pub fn non_empty(field: &str, value: &str) -> Result<(), AppError> {
    if value.trim().is_empty() {
        Err(AppError::invalid(field, "must not be empty"))
    } else {
        Ok(())
    }
}

fn place(
    slug_value: &str,
    name: &str,
    population: Option<i64>,
    area_km2: Option<f64>,
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Result<(), AppError> {
    slug("input.slug", slug_value)?;
    non_empty("input.name", name)?;
    if let Some(p) = population
        && p < 0
    {
        return Err(AppError::invalid(
            "input.population",
            format!("must be 0 or more, not {p}"),
        ));
    }
    if let Some(a) = area_km2
        && !(a.is_finite() && a > 0.0)
    {
        return Err(AppError::invalid(
            "input.areaKm2",
            format!("must be more than 0 km², not {a}"),
        ));
    }
    if let Some(lat) = latitude
        && !(-90.0..=90.0).contains(&lat)
    {
        return Err(AppError::invalid(
            "input.latitude",
            format!("must be between -90 and 90, not {lat}"),
        ));
    }
    if let Some(lon) = longitude
        && !(-180.0..=180.0).contains(&lon)
    {
        return Err(AppError::invalid(
            "input.longitude",
            format!("must be between -180 and 180, not {lon}"),
        ));
    }
    if latitude.is_some() != longitude.is_some() {
        return Err(AppError::invalid(
            if latitude.is_some() {
                "input.longitude"
            } else {
                "input.latitude"
            },
            "give both latitude and longitude, or neither",
        ));
    }
    Ok(())
}

impl Check for city::Model {
    fn check(&self) -> Result<(), AppError> {
        place(
            &self.slug,
            &self.name,
            self.population,
            self.area_km2,
            self.latitude,
            self.longitude,
        )
    }
}
impl Check for region::Model {
    fn check(&self) -> Result<(), AppError> {
        place(
            &self.slug,
            &self.name,
            self.population,
            self.area_km2,
            self.latitude,
            self.longitude,
        )
    }
}
impl Check for pairing::Model {
    fn check(&self) -> Result<(), AppError> {
        slug("input.slug", &self.slug)?;
        non_empty("input.title", &self.title)?;
        non_empty("input.summary", &self.summary)
    }
}
impl Check for ucap::Model {
    fn check(&self) -> Result<(), AppError> {
        Ok(())
    }
}
impl Check for project::Model {
    fn check(&self) -> Result<(), AppError> {
        slug("input.slug", &self.slug)?;
        non_empty("input.title", &self.title)?;
        if self.city_id.is_some() && self.region_id.is_some() {
            return Err(AppError::invalid(
                "input.region",
                "a project is located in a city or a region, not both",
            ));
        }
        if self.position < 0 {
            return Err(AppError::invalid("input.position", "must be 0 or more"));
        }
        Ok(())
    }
}
impl Check for stakeholder::Model {
    fn check(&self) -> Result<(), AppError> {
        slug("input.slug", &self.slug)?;
        non_empty("input.name", &self.name)
    }
}
impl Check for involvement::Model {
    fn check(&self) -> Result<(), AppError> {
        let targets = [self.pairing_id, self.ucap_id, self.project_id]
            .iter()
            .filter(|t| t.is_some())
            .count();
        if targets != 1 {
            return Err(AppError::invalid(
                "input.pairing",
                "an involvement is in exactly one of: a pairing, a UCAP, a project",
            ));
        }
        Ok(())
    }
}
impl Check for activity::Model {
    fn check(&self) -> Result<(), AppError> {
        slug("input.slug", &self.slug)?;
        non_empty("input.title", &self.title)
    }
}
