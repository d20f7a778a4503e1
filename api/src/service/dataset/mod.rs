//! The dataset file format (`data/README.md` documents it for people): what `seed` and `import`
//! read and `export` writes. Parsing and validation happen here, before anything touches the
//! database, and every problem is reported with the file, the record (by its natural key) and
//! the field, so that a person can find and fix it.

use std::collections::{HashMap, HashSet};
use std::fmt;

use entity::enums::*;
use serde::{Deserialize, Serialize};

mod programme;
mod sources;

pub use programme::*;

use super::provenance::Source;
use super::write::rules::{self, Coordinate, Rule};
use crate::partial_date::PartialDate;

/// The `format` tag this version reads and writes.
pub const FORMAT: &str = "iuc-graph/2";

/// The whole dataset: reference data, places, pairings, stakeholders and the timeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    pub format: String,
    #[serde(default)]
    pub documents: Vec<DocumentRecord>,
    #[serde(default)]
    pub rules: Vec<RuleRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub programme: Option<ProgrammeRecord>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
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
    /// The countries the programme region covers, by code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeRecord {
    pub slug: String,
    pub scheme: ThemeScheme,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SdgRecord {
    pub number: i32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionTypeRecord {
    pub slug: String,
    pub name: String,
    pub position: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
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
    pub sources: Vec<Source>,
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
    pub sources: Vec<Source>,
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
    pub sources: Vec<Source>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
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
    pub sources: Vec<Source>,
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
    #[serde(default, skip_serializing_if = "is_held")]
    pub status: ActivityStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pairings: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stakeholders: Vec<ActivityStakeholderRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Source>,
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

fn is_held(status: &ActivityStatus) -> bool {
    *status == ActivityStatus::Held
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
                c.error(record, field, message);
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
    fn error(&mut self, record: &str, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(DataError {
            file: self.file.to_owned(),
            record: record.to_owned(),
            field: field.into(),
            message: message.into(),
        });
    }

    /// A rule's message, when it has one, on `field` of `record`.
    fn rule(&mut self, record: &str, field: impl Into<String>, rule: Rule) {
        if let Err(message) = rule {
            self.error(record, field, message);
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
            self.error(record, field, format!("{value:?} appears more than once"));
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
            self.error(record, field, format!("unknown {kind} {value:?}"));
        }
    }

    /// An item of a list of references (a pairing's themes, an activity's stakeholders …):
    /// it resolves, and the list names it once.
    fn reference_once<'v>(
        &mut self,
        seen: &mut HashSet<&'v str>,
        known: &HashSet<String>,
        record: &str,
        field: &str,
        kind: &str,
        value: &'v str,
    ) {
        self.reference(known, record, field, kind, value);
        self.unique(seen, record, field, value);
    }

    /// The block every list of records with a natural key starts with: each record's key has
    /// its shape and appears once in the list; then `each` checks the rest of the record, named
    /// as errors name it (`cities "bologna"`). Gives the keys the rest of the file may refer
    /// to: the list's and those the database already holds (`known`).
    fn keyed<'d, R>(
        &mut self,
        list: List,
        records: &'d [R],
        key: impl Fn(&'d R) -> &'d str,
        known: &HashSet<String>,
        mut each: impl FnMut(&mut Self, &str, &'d R),
    ) -> HashSet<String> {
        let mut seen = HashSet::new();
        for r in records {
            let k = key(r);
            let record = format!("{} {k:?}", list.kind);
            self.rule(&record, list.key, (list.rule)(k));
            self.unique(&mut seen, &record, list.key, k);
            each(self, &record, r);
        }
        seen.into_iter()
            .map(str::to_owned)
            .chain(known.iter().cloned())
            .collect()
    }

    /// A city's or a region's own fields (its key is checked by `keyed`).
    fn place(&mut self, record: &str, p: &Place, countries: &HashSet<String>) {
        self.rule(record, "name", rules::non_empty(p.name));
        self.reference(countries, record, "country", "country code", p.country);
        if let Some(v) = p.population {
            self.rule(record, "population", rules::not_negative(v));
        }
        if let Some(v) = p.area_km2 {
            self.rule(record, "area_km2", rules::area_km2(v));
        }
        if let Some(v) = p.latitude {
            self.rule(record, "latitude", rules::latitude(v));
        }
        if let Some(v) = p.longitude {
            self.rule(record, "longitude", rules::longitude(v));
        }
        if let Err((missing, message)) = rules::coordinates(p.latitude, p.longitude) {
            let field = match missing {
                Coordinate::Latitude => "latitude",
                Coordinate::Longitude => "longitude",
            };
            self.error(record, field, message);
        }
        if let Some(qid) = p.wikidata {
            self.rule(record, "wikidata", rules::wikidata(qid));
        }
    }

    fn date(&mut self, record: &str, field: &str, value: &str) {
        if let Err(message) = value.parse::<PartialDate>() {
            self.error(record, field, message);
        }
    }

    fn finish(self) -> Result<(), DataErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(DataErrors(self.errors))
        }
    }
}

/// A list of records with a natural key: its name in the file, the key's field and its rule.
struct List {
    kind: &'static str,
    key: &'static str,
    rule: fn(&str) -> Rule,
}

/// A list keyed by slugs.
const fn slugged(kind: &'static str) -> List {
    List {
        kind,
        key: "slug",
        rule: rules::slug,
    }
}

/// The fields the rules for places read, from a city or a region.
struct Place<'a> {
    slug: &'a str,
    name: &'a str,
    country: &'a str,
    population: Option<i64>,
    area_km2: Option<f64>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    wikidata: Option<&'a str>,
}

/// `Place` from each record with a place's fields (cities and regions are separate structs,
/// see `RegionRecord`).
macro_rules! place_from {
    ($($record:ty),*) => {$(
        impl<'a> From<&'a $record> for Place<'a> {
            fn from(r: &'a $record) -> Self {
                Place {
                    slug: &r.slug,
                    name: &r.name,
                    country: &r.country,
                    population: r.population,
                    area_km2: r.area_km2,
                    latitude: r.latitude,
                    longitude: r.longitude,
                    wikidata: r.wikidata.as_deref(),
                }
            }
        }
    )*};
}
place_from!(CityRecord, RegionRecord);

/// Natural keys that the dataset may refer to without defining them, because the database
/// already holds them (an import of a partial file into a filled database).
#[derive(Debug, Default)]
pub struct KnownKeys {
    pub documents: HashSet<String>,
    pub rules: HashSet<String>,
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

/// Checks everything that can be checked without writing: plain text, shapes of values, ranges,
/// uniqueness of keys within the file, and that every reference resolves (to the file or to
/// `known`). One phase per kind of record, in the file's order, each giving the keys the later
/// ones may refer to.
pub fn validate(file: &str, data: &Dataset, known: &KnownKeys) -> Result<(), DataErrors> {
    let mut c = Checker {
        file,
        errors: Vec::new(),
    };
    check_plain_text(&mut c, data);
    let (documents, rules) = sources::documents_and_rules(&mut c, data, known);
    let mut keys = reference_data(&mut c, data, known);
    keys.documents = documents;
    keys.rules = rules;
    keys.cities = places(&mut c, "cities", &data.cities, &known.cities, &keys);
    keys.regions = places(&mut c, "regions", &data.regions, &known.regions, &keys);
    let ucaps = pairings(&mut c, data, known, &mut keys);
    keys.stakeholders = stakeholders(&mut c, data, known, &keys, &ucaps);
    activities(&mut c, data, &keys);
    sources::check(&mut c, data, &keys);
    c.finish()
}

/// Countries, programme regions, themes, SDGs and UCAP section types: a key and a name each.
/// Gives their keys (the places and later kinds are left empty, for their phases to fill).
fn reference_data(c: &mut Checker, data: &Dataset, known: &KnownKeys) -> KnownKeys {
    let countries = List {
        kind: "countries",
        key: "code",
        rule: rules::country_code,
    };
    KnownKeys {
        countries: terms(c, countries, &data.countries, &known.countries),
        programme_regions: terms(
            c,
            slugged("programme_regions"),
            &data.programme_regions,
            &known.programme_regions,
        ),
        themes: terms(c, slugged("themes"), &data.themes, &known.themes),
        sdgs: sdgs(c, &data.sdgs, &known.sdgs),
        section_types: terms(
            c,
            slugged("ucap_section_types"),
            &data.ucap_section_types,
            &known.section_types,
        ),
        ..KnownKeys::default()
    }
}

/// A record of reference data keyed by text: its key and its name.
trait Term {
    fn key(&self) -> &str;
    fn name(&self) -> &str;
}

macro_rules! term {
    ($($record:ty: $key:ident),*) => {$(
        impl Term for $record {
            fn key(&self) -> &str {
                &self.$key
            }
            fn name(&self) -> &str {
                &self.name
            }
        }
    )*};
}
term!(CountryRecord: code, ProgrammeRegionRecord: slug, ThemeRecord: slug, SectionTypeRecord: slug);

/// One list of reference data; gives its keys.
fn terms<T: Term>(
    c: &mut Checker,
    list: List,
    records: &[T],
    known: &HashSet<String>,
) -> HashSet<String> {
    c.keyed(list, records, T::key, known, |c, rec, r| {
        c.rule(rec, "name", rules::non_empty(r.name()));
    })
}

/// The SDGs, keyed by their numbers.
fn sdgs(c: &mut Checker, records: &[SdgRecord], known: &HashSet<i32>) -> HashSet<i32> {
    let mut seen = HashSet::new();
    for r in records {
        let record = format!("sdgs {}", r.number);
        c.rule(&record, "number", rules::sdg_number(r.number));
        if !seen.insert(r.number) {
            c.error(&record, "number", "appears more than once");
        }
        c.rule(&record, "name", rules::non_empty(&r.name));
    }
    seen.union(known).copied().collect()
}

/// Cities or regions (`kind`); gives their slugs.
fn places<'d, R>(
    c: &mut Checker,
    kind: &'static str,
    records: &'d [R],
    known: &HashSet<String>,
    keys: &KnownKeys,
) -> HashSet<String>
where
    Place<'d>: From<&'d R>,
{
    c.keyed(
        slugged(kind),
        records,
        |r| Place::from(r).slug,
        known,
        |c, rec, r| c.place(rec, &Place::from(r), &keys.countries),
    )
}

/// Pairings with their participants, themes, SDGs and UCAPs; fills in the keys of pairings and
/// projects, and gives the pairings that have (or, in the database, may have) a UCAP.
fn pairings(
    c: &mut Checker,
    data: &Dataset,
    known: &KnownKeys,
    keys: &mut KnownKeys,
) -> HashSet<String> {
    let mut projects = HashSet::new();
    keys.pairings = c.keyed(
        slugged("pairings"),
        &data.pairings,
        |r| &r.slug,
        &known.pairings,
        |c, rec, r| pairing(c, rec, r, keys, &mut projects),
    );
    keys.projects = projects
        .into_iter()
        .map(str::to_owned)
        .chain(known.projects.iter().cloned())
        .collect();
    data.pairings
        .iter()
        .filter(|p| p.ucap.is_some())
        .map(|p| p.slug.clone())
        .chain(known.pairings.iter().cloned())
        .collect()
}

/// One pairing (its slug is checked by `keyed`); `projects` collects the slugs of its UCAP's
/// projects, which are unique across the file.
fn pairing<'d>(
    c: &mut Checker,
    rec: &str,
    r: &'d PairingRecord,
    keys: &KnownKeys,
    projects: &mut HashSet<&'d str>,
) {
    c.rule(rec, "title", rules::non_empty(&r.title));
    c.rule(rec, "summary", rules::non_empty(&r.summary));
    c.reference(
        &keys.programme_regions,
        rec,
        "programme_region",
        "programme region",
        &r.programme_region,
    );
    if let Some(start) = &r.start {
        c.date(rec, "start", start);
    }
    participants(c, rec, &r.participants, keys);
    let mut themes = HashSet::new();
    for (i, theme) in r.themes.iter().enumerate() {
        let field = format!("themes[{i}]");
        c.reference_once(&mut themes, &keys.themes, rec, &field, "theme", theme);
    }
    let mut goals = HashSet::new();
    for (i, number) in r.sdgs.iter().enumerate() {
        let field = format!("sdgs[{i}]");
        if !keys.sdgs.contains(number) {
            let message = format!("unknown SDG {number} (SDGs are numbered 1 to 17)");
            c.error(rec, field.clone(), message);
        }
        if !goals.insert(*number) {
            c.error(rec, field, format!("SDG {number} appears more than once"));
        }
    }
    if let Some(ucap) = &r.ucap {
        self::ucap(c, rec, ucap, keys, projects);
    }
}

/// A pairing's participants: each a known city or region, once, and both sides present.
fn participants(c: &mut Checker, rec: &str, list: &[ParticipantRecord], keys: &KnownKeys) {
    let mut seen = HashSet::new();
    for (i, p) in list.iter().enumerate() {
        let field = format!("participants[{i}]");
        let (kind, key, known) = match (&p.city, &p.region) {
            (Some(city), None) => ("city", city, &keys.cities),
            (None, Some(region)) => ("region", region, &keys.regions),
            _ => {
                let rule = rules::participant_place(p.city.is_some(), p.region.is_some());
                c.rule(rec, field, rule);
                continue;
            }
        };
        let field = format!("{field}.{kind}");
        c.reference(known, rec, &field, kind, key);
        if !seen.insert((kind, key)) {
            c.error(rec, field, format!("{kind} {key:?} takes part twice"));
        }
    }
    let on = |side: Side| list.iter().any(|p| p.side == side);
    let rule = rules::participant_sides(on(Side::European), on(Side::Partner));
    c.rule(rec, "participants", rule);
}

/// A pairing's UCAP: its sections (one per type) and its projects.
fn ucap<'d>(
    c: &mut Checker,
    rec: &str,
    ucap: &'d UcapRecord,
    keys: &KnownKeys,
    projects: &mut HashSet<&'d str>,
) {
    let mut sections = HashSet::new();
    for (i, s) in ucap.sections.iter().enumerate() {
        let field = format!("ucap.sections[{i}].type");
        let types = &keys.section_types;
        let kind = "UCAP section type";
        c.reference_once(&mut sections, types, rec, &field, kind, &s.section_type);
        c.rule(
            rec,
            format!("ucap.sections[{i}].body"),
            rules::non_empty(&s.body),
        );
    }
    for (i, p) in ucap.projects.iter().enumerate() {
        let field = format!("ucap.projects[{i}]");
        c.rule(rec, format!("{field}.slug"), rules::slug(&p.slug));
        c.unique(projects, rec, &format!("{field}.slug"), &p.slug);
        c.rule(rec, format!("{field}.title"), rules::non_empty(&p.title));
        if let Some(city) = &p.city {
            c.reference(&keys.cities, rec, &format!("{field}.city"), "city", city);
        }
        if let Some(region) = &p.region {
            c.reference(
                &keys.regions,
                rec,
                &format!("{field}.region"),
                "region",
                region,
            );
        }
        let location = rules::project_location(p.city.is_some(), p.region.is_some());
        c.rule(rec, format!("{field}.region"), location);
    }
}

/// Stakeholders and their involvements; gives their slugs.
fn stakeholders(
    c: &mut Checker,
    data: &Dataset,
    known: &KnownKeys,
    keys: &KnownKeys,
    ucaps: &HashSet<String>,
) -> HashSet<String> {
    c.keyed(
        slugged("stakeholders"),
        &data.stakeholders,
        |r| &r.slug,
        &known.stakeholders,
        |c, rec, r| {
            c.rule(rec, "name", rules::non_empty(&r.name));
            if let Some(city) = &r.city {
                c.reference(&keys.cities, rec, "city", "city", city);
            }
            if let Some(country) = &r.country {
                c.reference(&keys.countries, rec, "country", "country code", country);
            }
            involvements(c, rec, &r.involvements, keys, ucaps);
        },
    )
}

/// A stakeholder's involvements: each in exactly one known pairing, UCAP or project, and in
/// each once. A UCAP is named by its pairing's slug.
fn involvements(
    c: &mut Checker,
    rec: &str,
    list: &[InvolvementRecord],
    keys: &KnownKeys,
    ucaps: &HashSet<String>,
) {
    let mut targets = HashSet::new();
    for (i, inv) in list.iter().enumerate() {
        let field = format!("involvements[{i}]");
        let (kind, key, known) = match (&inv.pairing, &inv.ucap, &inv.project) {
            (Some(p), None, None) => ("pairing", p, &keys.pairings),
            (None, Some(u), None) => ("ucap", u, ucaps),
            (None, None, Some(p)) => ("project", p, &keys.projects),
            (p, u, j) => {
                let named = [p, u, j].iter().filter(|t| t.is_some()).count();
                c.rule(rec, field, rules::involvement_targets(named));
                continue;
            }
        };
        if !known.contains(key) {
            let message = match kind {
                "ucap" => format!("no UCAP for pairing {key:?}"),
                _ => format!("unknown {kind} {key:?}"),
            };
            c.error(rec, format!("{field}.{kind}"), message);
        }
        if !targets.insert((kind, key)) {
            c.error(rec, field, format!("{kind} {key:?} is named twice"));
        }
    }
}

/// The timeline; nothing in a file refers to an activity.
fn activities(c: &mut Checker, data: &Dataset, keys: &KnownKeys) {
    c.keyed(
        slugged("activities"),
        &data.activities,
        |r| &r.slug,
        &HashSet::new(),
        |c, rec, r| {
            c.rule(rec, "title", rules::non_empty(&r.title));
            c.date(rec, "date", &r.date);
            if let Some(city) = &r.city {
                c.reference(&keys.cities, rec, "city", "city", city);
            }
            let mut pairings = HashSet::new();
            for (i, p) in r.pairings.iter().enumerate() {
                let field = format!("pairings[{i}]");
                c.reference_once(&mut pairings, &keys.pairings, rec, &field, "pairing", p);
            }
            let mut stakeholders = HashSet::new();
            for (i, s) in r.stakeholders.iter().enumerate() {
                let field = format!("stakeholders[{i}].stakeholder");
                let (known, value) = (&keys.stakeholders, &s.stakeholder);
                c.reference_once(&mut stakeholders, known, rec, &field, "stakeholder", value);
            }
        },
    );
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
    /// Rows of one kind inserted, updated and deleted.
    pub fn of(&self, kind: &str) -> u64 {
        [&self.inserted, &self.updated, &self.deleted]
            .iter()
            .filter_map(|m| m.get(kind))
            .sum()
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
