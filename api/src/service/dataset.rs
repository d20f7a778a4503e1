//! The dataset file format (`data/README.md` documents it for people): what `seed` and `import`
//! read and `export` writes. Parsing and validation happen here, before anything touches the
//! database, and every problem is reported with the file, the record (by its natural key) and
//! the field, so that a person can find and fix it.

use std::collections::{HashMap, HashSet};
use std::fmt;

use entity::enums::*;
use serde::{Deserialize, Serialize};

use crate::partial_date::PartialDate;

/// The `format` tag this version reads and writes.
pub const FORMAT: &str = "iuc-graph/1";

/// The whole dataset: reference data, places, pairings, stakeholders and the timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    pub format: String,
    #[serde(default)]
    pub countries: Vec<CountryRecord>,
    #[serde(default)]
    pub programme_regions: Vec<ProgrammeRegionRecord>,
    #[serde(default)]
    pub themes: Vec<ThemeRecord>,
    #[serde(default)]
    pub sdgs: Vec<SdgRecord>,
    #[serde(default)]
    pub ucap_section_types: Vec<SectionTypeRecord>,
    #[serde(default)]
    pub cities: Vec<CityRecord>,
    #[serde(default)]
    pub regions: Vec<RegionRecord>,
    #[serde(default)]
    pub pairings: Vec<PairingRecord>,
    #[serde(default)]
    pub stakeholders: Vec<StakeholderRecord>,
    #[serde(default)]
    pub activities: Vec<ActivityRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryRecord {
    pub code: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeRegionRecord {
    pub slug: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeRecord {
    pub slug: String,
    pub scheme: ThemeScheme,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdgRecord {
    pub number: i32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionTypeRecord {
    pub slug: String,
    pub name: String,
    pub position: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityRecord {
    pub slug: String,
    pub name: String,
    pub kind: CityKind,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_km2: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_credit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wikidata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geonames_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// A region has a city's attributes but no kind (serde cannot combine `flatten` with
/// `deny_unknown_fields`, hence the repetition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionRecord {
    pub slug: String,
    pub name: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area_km2: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_credit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wikidata: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geonames_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingRecord {
    pub slug: String,
    pub kind: PairingKind,
    pub title: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub programme_region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    pub status: PairingStatus,
    pub participants: Vec<ParticipantRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub themes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sdgs: Vec<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ucap: Option<UcapRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub side: Side,
    pub role: ParticipantRole,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UcapRecord {
    pub status: UcapStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<SectionRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionRecord {
    #[serde(rename = "type")]
    pub section_type: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectRecord {
    pub slug: String,
    pub kind: ProjectKind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakeholderRecord {
    pub slug: String,
    pub name: String,
    pub helix: Helix,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub involvements: Vec<InvolvementRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvolvementRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ucap: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityRecord {
    pub slug: String,
    pub date: String,
    pub kind: ActivityKind,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stakeholders: Vec<ActivityStakeholderRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityStakeholderRecord {
    pub stakeholder: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// One problem in a dataset file: where it is and what is wrong, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub file: String,
    /// The record, as `kind "key"` (e.g. `pairings "rome-yantai"`), or the position when the
    /// record has no readable key.
    pub record: String,
    /// The field inside the record (e.g. `participants[1].side`); empty for the whole file.
    pub field: String,
    pub message: String,
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.record.is_empty(), self.field.is_empty()) {
            (true, _) => write!(f, "{}: {}", self.file, self.message),
            (false, true) => write!(f, "{}: {}: {}", self.file, self.record, self.message),
            (false, false) => write!(
                f,
                "{}: {}, field `{}`: {}",
                self.file, self.record, self.field, self.message
            ),
        }
    }
}

/// Every problem found in one file (validation goes on after the first, so that one run shows
/// all there is to fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataErrors(pub Vec<DataError>);

impl fmt::Display for DataErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = 50;
        for (i, error) in self.0.iter().take(shown).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        if self.0.len() > shown {
            write!(f, "\n… and {} more", self.0.len() - shown)?;
        }
        Ok(())
    }
}

impl std::error::Error for DataErrors {}

/// Parses a dataset file's text. `file` names it in error messages.
pub fn parse(file: &str, text: &str) -> Result<Dataset, DataErrors> {
    let single = |record: String, field: String, message: String| {
        DataErrors(vec![DataError {
            file: file.to_owned(),
            record,
            field,
            message,
        }])
    };
    // Two steps: JSON syntax first (line and column), then the shape, on a value in which the
    // failing record can be looked up to name it by its key rather than by its position.
    // The strict reader: a key twice in one object (a second `"cities"` list pasted in) is an
    // error, not "the last one wins".
    let value = crate::json::from_str(text).map_err(|e| {
        let message = match e {
            crate::json::JsonError::DuplicateKey { .. } => e.to_string(),
            crate::json::JsonError::Syntax(e) => format!("not valid JSON: {e}"),
        };
        single(String::new(), String::new(), message)
    })?;
    let dataset: Dataset = serde_path_to_error::deserialize(&value).map_err(|e| {
        let (record, field) = locate(&value, e.path());
        let message = e.inner().to_string();
        single(record, field, message)
    })?;
    if dataset.format != FORMAT {
        return Err(single(
            String::new(),
            "format".into(),
            format!(
                "unsupported format {:?}: this version reads {FORMAT:?}",
                dataset.format
            ),
        ));
    }
    Ok(dataset)
}

/// Turns a serde path such as `pairings[3].participants[0].side` into the record (`pairings
/// "rome-yantai"`) and the field within it (`participants[0].side`).
fn locate(value: &serde_json::Value, path: &serde_path_to_error::Path) -> (String, String) {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let (Some(Segment::Map { key: kind }), Some(Segment::Seq { index })) =
        (segments.first(), segments.get(1))
    else {
        return (String::new(), path.to_string());
    };
    let record = value.get(kind).and_then(|list| list.get(*index));
    let record = record_name(kind, *index, record);
    let mut field = String::new();
    for segment in &segments[2..] {
        match segment {
            Segment::Map { key } => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(key);
            }
            Segment::Seq { index } => field.push_str(&format!("[{index}]")),
            Segment::Enum { variant } => field.push_str(variant),
            Segment::Unknown => field.push('?'),
        }
    }
    (record, field)
}

/// How errors name a record: by its natural key (`pairings "rome-yantai"`), or by its position
/// when it has none.
fn record_name(kind: &str, index: usize, record: Option<&serde_json::Value>) -> String {
    let key = record.and_then(|r| ["slug", "code", "number"].iter().find_map(|k| r.get(*k)));
    match key {
        Some(key) => format!("{kind} {key}"),
        None => format!("{kind}[{index}]"),
    }
}

/// The fields of free text, which may hold tabs and line breaks; every other string in a
/// dataset is a single line.
const MULTILINE_FIELDS: [&str; 4] = ["description", "notes", "summary", "body"];

/// Every string in the dataset is plain text (`text::check_plain`). Walks the dataset as the
/// file spells it (serialised), so that every field, today's and tomorrow's, is covered and is
/// named as in the file.
fn check_plain_text(c: &mut Checker, data: &Dataset) {
    // Serialising these plain structs cannot fail (string keys, no maps with other keys).
    let Ok(serde_json::Value::Object(lists)) = serde_json::to_value(data) else {
        return;
    };
    for (kind, list) in &lists {
        // `format` is checked against `FORMAT` when the file is parsed.
        let Some(records) = list.as_array() else {
            continue;
        };
        for (index, record) in records.iter().enumerate() {
            let name = record_name(kind, index, Some(record));
            plain_strings(c, &name, "", kind, record);
        }
    }
}

/// Checks the strings in `value`, at `field` inside `record`; `key` is the name of the nearest
/// enclosing field (the list's name for the items of a list of strings).
fn plain_strings(c: &mut Checker, record: &str, field: &str, key: &str, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            if let Err(message) = crate::text::check_plain(text, MULTILINE_FIELDS.contains(&key)) {
                c.error(record.to_owned(), field, message);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                plain_strings(c, record, &format!("{field}[{i}]"), key, item);
            }
        }
        Value::Object(fields) => {
            for (name, item) in fields {
                let path = match field {
                    "" => name.clone(),
                    _ => format!("{field}.{name}"),
                };
                plain_strings(c, record, &path, name, item);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Collects validation errors for one file.
struct Checker<'a> {
    file: &'a str,
    errors: Vec<DataError>,
}

impl Checker<'_> {
    fn error(&mut self, record: String, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(DataError {
            file: self.file.to_owned(),
            record,
            field: field.into(),
            message: message.into(),
        });
    }

    fn non_empty(&mut self, record: &str, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.error(record.to_owned(), field, "must not be empty");
        }
    }

    fn slug(&mut self, record: &str, value: &str) {
        if !is_slug(value) {
            self.error(
                record.to_owned(),
                "slug",
                format!(
                    "{value:?} is not a slug (lowercase ASCII letters, digits and single hyphens)"
                ),
            );
        }
    }

    fn unique<'v>(
        &mut self,
        seen: &mut HashSet<&'v str>,
        record: &str,
        field: &str,
        value: &'v str,
    ) {
        if !seen.insert(value) {
            self.error(
                record.to_owned(),
                field,
                format!("{value:?} appears more than once"),
            );
        }
    }

    fn reference(
        &mut self,
        known: &HashSet<String>,
        record: &str,
        field: &str,
        kind: &str,
        value: &str,
    ) {
        if !known.contains(value) {
            self.error(
                record.to_owned(),
                field,
                format!("unknown {kind} {value:?}"),
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        record: &str,
        population: Option<i64>,
        area: Option<f64>,
        latitude: Option<f64>,
        longitude: Option<f64>,
        wikidata: Option<&str>,
        sources: &[String],
    ) {
        if population.is_some_and(|p| p < 0) {
            self.error(record.to_owned(), "population", "must be 0 or more");
        }
        if area.is_some_and(|a| !(a > 0.0 && a.is_finite())) {
            self.error(record.to_owned(), "area_km2", "must be greater than 0");
        }
        if latitude.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
            self.error(record.to_owned(), "latitude", "must be between -90 and 90");
        }
        if longitude.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
            self.error(
                record.to_owned(),
                "longitude",
                "must be between -180 and 180",
            );
        }
        if latitude.is_some() != longitude.is_some() {
            self.error(
                record.to_owned(),
                "latitude",
                "latitude and longitude go together",
            );
        }
        if let Some(qid) = wikidata
            && !(qid.len() > 1
                && qid.starts_with('Q')
                && qid[1..].bytes().all(|b| b.is_ascii_digit()))
        {
            self.error(
                record.to_owned(),
                "wikidata",
                format!("{qid:?} is not a Wikidata QID such as \"Q220\""),
            );
        }
        self.sources(record, sources);
    }

    fn sources(&mut self, record: &str, sources: &[String]) {
        for (i, source) in sources.iter().enumerate() {
            if source.trim().is_empty() {
                self.error(
                    record.to_owned(),
                    format!("sources[{i}]"),
                    "must not be empty",
                );
            }
        }
    }

    fn date(&mut self, record: &str, field: &str, value: &str) {
        if let Err(message) = value.parse::<PartialDate>() {
            self.error(record.to_owned(), field, message);
        }
    }
}

/// `[a-z0-9]+(-[a-z0-9]+)*`
pub fn is_slug(value: &str) -> bool {
    !value.is_empty()
        && !value.starts_with('-')
        && !value.ends_with('-')
        && !value.contains("--")
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An ISO 3166-1 alpha-2 code has the right shape (two capital letters); that it names a country
/// is checked against the dataset's and the database's countries.
pub fn is_country_code(value: &str) -> bool {
    value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())
}

/// Natural keys that the dataset may refer to without defining them, because the database
/// already holds them (an import of a partial file into a filled database).
#[derive(Debug, Default)]
pub struct KnownKeys {
    pub countries: HashSet<String>,
    pub programme_regions: HashSet<String>,
    pub themes: HashSet<String>,
    pub sdgs: HashSet<i32>,
    pub section_types: HashSet<String>,
    pub cities: HashSet<String>,
    pub regions: HashSet<String>,
    pub pairings: HashSet<String>,
    pub projects: HashSet<String>,
    pub stakeholders: HashSet<String>,
}

/// Checks everything that can be checked without writing: plain text, shapes of values, ranges, uniqueness
/// of keys within the file, and that every reference resolves (to the file or to `known`).
pub fn validate(file: &str, data: &Dataset, known: &KnownKeys) -> Result<(), DataErrors> {
    let mut c = Checker {
        file,
        errors: Vec::new(),
    };
    check_plain_text(&mut c, data);
    let set = |own: Vec<&'_ str>, known: &'_ HashSet<String>| -> HashSet<String> {
        own.into_iter()
            .map(str::to_owned)
            .chain(known.iter().cloned())
            .collect()
    };

    let mut seen = HashSet::new();
    for r in &data.countries {
        let rec = format!("countries {:?}", r.code);
        if !is_country_code(&r.code) {
            c.error(
                rec.clone(),
                "code",
                format!(
                    "{:?} is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. \"IT\")",
                    r.code
                ),
            );
        }
        c.unique(&mut seen, &rec, "code", &r.code);
        c.non_empty(&rec, "name", &r.name);
    }
    let countries = set(
        data.countries.iter().map(|r| r.code.as_str()).collect(),
        &known.countries,
    );

    let mut seen = HashSet::new();
    for r in &data.programme_regions {
        let rec = format!("programme_regions {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "name", &r.name);
    }
    let programme_regions = set(
        data.programme_regions
            .iter()
            .map(|r| r.slug.as_str())
            .collect(),
        &known.programme_regions,
    );

    let mut seen = HashSet::new();
    for r in &data.themes {
        let rec = format!("themes {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "name", &r.name);
    }
    let themes = set(
        data.themes.iter().map(|r| r.slug.as_str()).collect(),
        &known.themes,
    );

    let mut seen_sdgs = HashSet::new();
    for r in &data.sdgs {
        let rec = format!("sdgs {}", r.number);
        if !(1..=17).contains(&r.number) {
            c.error(rec.clone(), "number", "an SDG number is from 1 to 17");
        }
        if !seen_sdgs.insert(r.number) {
            c.error(rec.clone(), "number", "appears more than once");
        }
        c.non_empty(&rec, "name", &r.name);
    }
    let sdgs: HashSet<i32> = seen_sdgs.union(&known.sdgs).copied().collect();

    let mut seen = HashSet::new();
    for r in &data.ucap_section_types {
        let rec = format!("ucap_section_types {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "name", &r.name);
    }
    let section_types = set(
        data.ucap_section_types
            .iter()
            .map(|r| r.slug.as_str())
            .collect(),
        &known.section_types,
    );

    let mut seen = HashSet::new();
    for r in &data.cities {
        let rec = format!("cities {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "name", &r.name);
        c.reference(&countries, &rec, "country", "country code", &r.country);
        c.place(
            &rec,
            r.population,
            r.area_km2,
            r.latitude,
            r.longitude,
            r.wikidata.as_deref(),
            &r.sources,
        );
    }
    let cities = set(
        data.cities.iter().map(|r| r.slug.as_str()).collect(),
        &known.cities,
    );

    let mut seen = HashSet::new();
    for r in &data.regions {
        let rec = format!("regions {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "name", &r.name);
        c.reference(&countries, &rec, "country", "country code", &r.country);
        c.place(
            &rec,
            r.population,
            r.area_km2,
            r.latitude,
            r.longitude,
            r.wikidata.as_deref(),
            &r.sources,
        );
    }
    let regions = set(
        data.regions.iter().map(|r| r.slug.as_str()).collect(),
        &known.regions,
    );

    let mut seen = HashSet::new();
    let mut seen_projects = HashSet::new();
    for r in &data.pairings {
        let rec = format!("pairings {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "title", &r.title);
        c.non_empty(&rec, "summary", &r.summary);
        c.reference(
            &programme_regions,
            &rec,
            "programme_region",
            "programme region",
            &r.programme_region,
        );
        if let Some(start) = &r.start {
            c.date(&rec, "start", start);
        }
        c.sources(&rec, &r.sources);
        let mut participants = HashSet::new();
        let (mut european, mut partner) = (false, false);
        for (i, p) in r.participants.iter().enumerate() {
            let field = format!("participants[{i}]");
            match (&p.city, &p.region) {
                (Some(city), None) => {
                    c.reference(&cities, &rec, &format!("{field}.city"), "city", city);
                    if !participants.insert(("city", city.as_str())) {
                        c.error(
                            rec.clone(),
                            format!("{field}.city"),
                            format!("city {city:?} takes part twice"),
                        );
                    }
                }
                (None, Some(region)) => {
                    c.reference(&regions, &rec, &format!("{field}.region"), "region", region);
                    if !participants.insert(("region", region.as_str())) {
                        c.error(
                            rec.clone(),
                            format!("{field}.region"),
                            format!("region {region:?} takes part twice"),
                        );
                    }
                }
                _ => c.error(
                    rec.clone(),
                    field,
                    "a participant names exactly one of `city` or `region`",
                ),
            }
            match p.side {
                Side::European => european = true,
                Side::Partner => partner = true,
            }
        }
        if !european || !partner {
            c.error(
                rec.clone(),
                "participants",
                "a pairing needs at least one participant on each side (european and partner)",
            );
        }
        let mut seen_themes = HashSet::new();
        for (i, theme) in r.themes.iter().enumerate() {
            c.reference(&themes, &rec, &format!("themes[{i}]"), "theme", theme);
            c.unique(&mut seen_themes, &rec, &format!("themes[{i}]"), theme);
        }
        let mut seen_goals = HashSet::new();
        for (i, number) in r.sdgs.iter().enumerate() {
            if !sdgs.contains(number) {
                c.error(
                    rec.clone(),
                    format!("sdgs[{i}]"),
                    format!("unknown SDG {number} (SDGs are numbered 1 to 17)"),
                );
            }
            if !seen_goals.insert(*number) {
                c.error(
                    rec.clone(),
                    format!("sdgs[{i}]"),
                    format!("SDG {number} appears more than once"),
                );
            }
        }
        if let Some(ucap) = &r.ucap {
            let mut seen_sections = HashSet::new();
            for (i, s) in ucap.sections.iter().enumerate() {
                let field = format!("ucap.sections[{i}].type");
                c.reference(
                    &section_types,
                    &rec,
                    &field,
                    "UCAP section type",
                    &s.section_type,
                );
                c.unique(&mut seen_sections, &rec, &field, &s.section_type);
                c.non_empty(&rec, &format!("ucap.sections[{i}].body"), &s.body);
            }
            for (i, p) in ucap.projects.iter().enumerate() {
                let field = format!("ucap.projects[{i}]");
                if !is_slug(&p.slug) {
                    c.error(
                        rec.clone(),
                        format!("{field}.slug"),
                        format!("{:?} is not a slug", p.slug),
                    );
                }
                c.unique(&mut seen_projects, &rec, &format!("{field}.slug"), &p.slug);
                c.non_empty(&rec, &format!("{field}.title"), &p.title);
                if let Some(city) = &p.city {
                    c.reference(&cities, &rec, &format!("{field}.city"), "city", city);
                }
                if let Some(region) = &p.region {
                    c.reference(&regions, &rec, &format!("{field}.region"), "region", region);
                }
            }
        }
    }
    let pairings = set(
        data.pairings.iter().map(|r| r.slug.as_str()).collect(),
        &known.pairings,
    );
    let ucaps: HashSet<&str> = data
        .pairings
        .iter()
        .filter(|p| p.ucap.is_some())
        .map(|p| p.slug.as_str())
        .collect();
    let projects = set(seen_projects.iter().copied().collect(), &known.projects);

    let mut seen = HashSet::new();
    for r in &data.stakeholders {
        let rec = format!("stakeholders {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "name", &r.name);
        if let Some(city) = &r.city {
            c.reference(&cities, &rec, "city", "city", city);
        }
        if let Some(country) = &r.country {
            c.reference(&countries, &rec, "country", "country code", country);
        }
        c.sources(&rec, &r.sources);
        let mut targets = HashSet::new();
        for (i, inv) in r.involvements.iter().enumerate() {
            let field = format!("involvements[{i}]");
            let target = match (&inv.pairing, &inv.ucap, &inv.project) {
                (Some(p), None, None) => {
                    c.reference(&pairings, &rec, &format!("{field}.pairing"), "pairing", p);
                    Some(("pairing", p))
                }
                (None, Some(u), None) => {
                    // A UCAP is named by its pairing; it must exist in this file or the database.
                    if !ucaps.contains(u.as_str()) && !known.pairings.contains(u) {
                        c.error(
                            rec.clone(),
                            format!("{field}.ucap"),
                            format!("no UCAP for pairing {u:?}"),
                        );
                    }
                    Some(("ucap", u))
                }
                (None, None, Some(p)) => {
                    c.reference(&projects, &rec, &format!("{field}.project"), "project", p);
                    Some(("project", p))
                }
                _ => {
                    c.error(
                        rec.clone(),
                        field.clone(),
                        "an involvement names exactly one of `pairing`, `ucap` or `project`",
                    );
                    None
                }
            };
            if let Some(target) = target
                && !targets.insert(target)
            {
                c.error(
                    rec.clone(),
                    field,
                    format!("{} {:?} is named twice", target.0, target.1),
                );
            }
        }
    }
    let stakeholders = set(
        data.stakeholders.iter().map(|r| r.slug.as_str()).collect(),
        &known.stakeholders,
    );

    let mut seen = HashSet::new();
    for r in &data.activities {
        let rec = format!("activities {:?}", r.slug);
        c.slug(&rec, &r.slug);
        c.unique(&mut seen, &rec, "slug", &r.slug);
        c.non_empty(&rec, "title", &r.title);
        c.date(&rec, "date", &r.date);
        if let Some(city) = &r.city {
            c.reference(&cities, &rec, "city", "city", city);
        }
        c.sources(&rec, &r.sources);
        let mut seen_pairings = HashSet::new();
        for (i, p) in r.pairings.iter().enumerate() {
            c.reference(&pairings, &rec, &format!("pairings[{i}]"), "pairing", p);
            c.unique(&mut seen_pairings, &rec, &format!("pairings[{i}]"), p);
        }
        let mut seen_stakeholders = HashSet::new();
        for (i, s) in r.stakeholders.iter().enumerate() {
            let field = format!("stakeholders[{i}].stakeholder");
            c.reference(&stakeholders, &rec, &field, "stakeholder", &s.stakeholder);
            c.unique(&mut seen_stakeholders, &rec, &field, &s.stakeholder);
        }
    }

    if c.errors.is_empty() {
        Ok(())
    } else {
        Err(DataErrors(c.errors))
    }
}

/// Counts of what a load did (or, in a dry run, would do), per kind of record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub inserted: HashMap<&'static str, u64>,
    pub updated: HashMap<&'static str, u64>,
    pub deleted: HashMap<&'static str, u64>,
    pub unchanged: u64,
}

impl Changes {
    pub fn insert(&mut self, kind: &'static str) {
        *self.inserted.entry(kind).or_default() += 1;
    }
    pub fn update(&mut self, kind: &'static str) {
        *self.updated.entry(kind).or_default() += 1;
    }
    pub fn delete(&mut self, kind: &'static str, n: u64) {
        if n > 0 {
            *self.deleted.entry(kind).or_default() += n;
        }
    }
    /// Total rows inserted, updated and deleted.
    pub fn total(&self) -> u64 {
        self.inserted
            .values()
            .chain(self.updated.values())
            .chain(self.deleted.values())
            .sum()
    }
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sum = |m: &HashMap<&'static str, u64>| m.values().sum::<u64>();
        write!(
            f,
            "{} inserted, {} updated, {} deleted, {} unchanged",
            sum(&self.inserted),
            sum(&self.updated),
            sum(&self.deleted),
            self.unchanged
        )?;
        let mut kinds: Vec<_> = self
            .inserted
            .iter()
            .chain(self.updated.iter())
            .chain(self.deleted.iter())
            .map(|(k, _)| *k)
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        if !kinds.is_empty() {
            let detail: Vec<String> = kinds
                .iter()
                .map(|k| {
                    let i = self.inserted.get(k).copied().unwrap_or(0);
                    let u = self.updated.get(k).copied().unwrap_or(0);
                    match self.deleted.get(k).copied().unwrap_or(0) {
                        0 => format!("{k} +{i}~{u}"),
                        d => format!("{k} +{i}~{u}-{d}"),
                    }
                })
                .collect();
            write!(f, " ({})", detail.join(", "))?;
        }
        Ok(())
    }
}
