//! Each rule a record's values must satisfy, stated once with the one message that explains it.
//!
//! Pure functions over values, so that every path that writes applies the same rule in the same
//! words: the API's writes (`records.rs`) wrap a message into `AppError::invalid` with the input
//! field's path (`input.latitude`), the dataset validator (`service::dataset`) into a `DataError`
//! with the record and the field as the file names it (`latitude`). A message names the value it
//! refuses, so that a person sees what they sent.

/// What a rule says: nothing, or what is wrong.
pub type Rule = Result<(), String>;

/// A slug: 1–100 lower-case ASCII letters, digits and single hyphens, neither first nor last.
pub fn slug(value: &str) -> Rule {
    let ok = !value.is_empty()
        && value.len() <= 100
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a valid slug: use 1–100 lower-case letters, digits and single \
             hyphens, e.g. \"rome-yantai\""
        ))
    }
}

/// A document's key: three digits for a source text (`"004"`), a slug for a dataset.
pub fn document_key(value: &str) -> Rule {
    let digits = value.len() == 3 && value.bytes().all(|b| b.is_ascii_digit());
    if digits || slug(value).is_ok() {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not a document key: three digits for a source text (\"004\") or a \
             slug for a dataset (\"geonames\")"
        ))
    }
}

/// Text that must say something.
pub fn non_empty(value: &str) -> Rule {
    if value.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

/// A count or a position: 0 or more.
pub fn not_negative(value: i64) -> Rule {
    if value < 0 {
        Err(format!("must be 0 or more, not {value}"))
    } else {
        Ok(())
    }
}

/// A place's area, in km²: more than 0 (and a number).
pub fn area_km2(value: f64) -> Rule {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!("must be more than 0 km², not {value}"))
    }
}

/// Degrees north or south.
pub fn latitude(value: f64) -> Rule {
    within(value, 90.0)
}

/// Degrees east or west.
pub fn longitude(value: f64) -> Rule {
    within(value, 180.0)
}

fn within(value: f64, limit: f64) -> Rule {
    if (-limit..=limit).contains(&value) {
        Ok(())
    } else {
        Err(format!("must be between -{limit} and {limit}, not {value}"))
    }
}

/// One of a place's two coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coordinate {
    Latitude,
    Longitude,
}

/// A place has both coordinates or neither; an error is about the one that is missing.
pub fn coordinates(
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> Result<(), (Coordinate, String)> {
    let missing = match (latitude, longitude) {
        (Some(_), None) => Coordinate::Longitude,
        (None, Some(_)) => Coordinate::Latitude,
        _ => return Ok(()),
    };
    Err((
        missing,
        "give both latitude and longitude, or neither".into(),
    ))
}

/// A Wikidata item's QID: `Q` and digits.
pub fn wikidata(value: &str) -> Rule {
    let ok =
        value.len() > 1 && value.starts_with('Q') && value[1..].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(format!("{value:?} is not a Wikidata QID such as \"Q220\""))
    }
}

/// The shape of an ISO 3166-1 alpha-2 code (two capital letters); whether it names a country is
/// a lookup, not a rule.
pub fn country_code(value: &str) -> Rule {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!(
            "{value:?} is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. \"IT\")"
        ))
    }
}

/// A Sustainable Development Goal's number.
pub fn sdg_number(value: i32) -> Rule {
    if (1..=17).contains(&value) {
        Ok(())
    } else {
        Err(format!("SDGs are numbered 1 to 17, not {value}"))
    }
}

/// A project is in a city, in a region, or in neither.
pub fn project_location(in_city: bool, in_region: bool) -> Rule {
    if in_city && in_region {
        Err("a project is located in a city or a region, not both".into())
    } else {
        Ok(())
    }
}

/// An involvement is in exactly one of a pairing, a UCAP and a project (how many it names).
pub fn involvement_targets(named: usize) -> Rule {
    if named == 1 {
        Ok(())
    } else {
        Err("an involvement names exactly one of `pairing`, `ucap` or `project`".into())
    }
}

/// A pairing's participant is a city or a region.
pub fn participant_place(in_city: bool, in_region: bool) -> Rule {
    if in_city != in_region {
        Ok(())
    } else {
        Err("a participant names exactly one of `city` or `region`".into())
    }
}

/// A pairing has at least one participant on each side.
pub fn participant_sides(european: bool, partner: bool) -> Rule {
    let lacks = match (european, partner) {
        (true, true) => return Ok(()),
        (false, true) => "none on the european side",
        (true, false) => "none on the partner side",
        (false, false) => "no participant",
    };
    Err(format!(
        "a pairing needs at least one participant on each side (european and partner); it has \
         {lacks}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_value() {
        assert_eq!(
            latitude(91.0).unwrap_err(),
            "must be between -90 and 90, not 91"
        );
        assert_eq!(
            longitude(-180.5).unwrap_err(),
            "must be between -180 and 180, not -180.5"
        );
        assert_eq!(not_negative(-5).unwrap_err(), "must be 0 or more, not -5");
        assert!(latitude(-90.0).is_ok() && longitude(180.0).is_ok());
        assert!(area_km2(f64::NAN).is_err() && area_km2(0.0).is_err());
    }

    #[test]
    fn slugs() {
        for ok in ["a", "rome-yantai", "x2", &"a".repeat(100)] {
            assert!(slug(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a b", "é", &"a".repeat(101)] {
            assert!(slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn coordinates_name_the_missing_one() {
        assert!(coordinates(None, None).is_ok());
        assert!(coordinates(Some(1.0), Some(2.0)).is_ok());
        assert_eq!(
            coordinates(Some(1.0), None).unwrap_err().0,
            Coordinate::Longitude
        );
        assert_eq!(
            coordinates(None, Some(1.0)).unwrap_err().0,
            Coordinate::Latitude
        );
    }

    #[test]
    fn wikidata_qids() {
        assert!(wikidata("Q220").is_ok());
        for bad in ["Q", "220", "q220", "Q22a"] {
            assert!(wikidata(bad).is_err(), "{bad}");
        }
    }
}
