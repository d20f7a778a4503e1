//! Provenance as data: where each record, and each field whose basis differs from its record's,
//! comes from. Every record keeps its sources in a `sources` column, a JSON array of [`Source`]
//! objects, in the seed format (`data/README.md`): the dataset file, the database and the API
//! show the same objects.
//!
//! - A source has a **basis**: `stated` by a document (with the section and the quote as
//!   printed), `derived` from a stated premise by a named rule, `reference` data from a named
//!   dataset (with the record's identifier there), an `editorial` judgement (with its reason),
//!   or `partner`: written through the API by an organisation (with the time).
//! - A source without `field` supports the record as a whole; one with `field` (the GraphQL
//!   field's name) says where that field's value comes from.
//! - The rules of what a source must hold live here, in [`problems`], for the dataset loader and
//!   the API alike; the writes' `partner` sources are made here too ([`on_create`],
//!   [`on_update`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a source supports a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Stated,
    Derived,
    Reference,
    Editorial,
    Partner,
}

/// One source of a record or of one of its fields (the seed format's source object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub basis: Basis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl Source {
    /// A source with only its basis set, to fill in.
    pub fn new(basis: Basis) -> Self {
        Source {
            basis,
            field: None,
            document: None,
            section: None,
            quote: None,
            identifier: None,
            rule: None,
            reason: None,
            printed: None,
            corrected: None,
            organisation: None,
            at: None,
        }
    }

    /// What an API write records: the organisation (or, for an administrator's key, the key's
    /// name) and the time, for the record (`field: None`) or one field.
    pub fn partner(organisation: &str, at: DateTime<Utc>, field: Option<&str>) -> Self {
        Source {
            field: field.map(str::to_owned),
            organisation: Some(organisation.to_owned()),
            at: Some(at),
            ..Source::new(Basis::Partner)
        }
    }
}

/// The fields a source may name, per record kind (the GraphQL type's name): the facts of the
/// record, not its identity (`id`, `slug`) or bookkeeping (`version`, `updatedAt`, `notes`).
pub const FIELDS: &[(&str, &[&str])] = &[
    ("Country", &["code", "name"]),
    ("ProgrammeRegion", &["name", "description", "countries"]),
    ("Theme", &["scheme", "name", "description"]),
    ("Sdg", &["number", "name"]),
    ("UcapSectionType", &["name", "position"]),
    ("City", &PLACE_FIELDS_WITH_KIND),
    ("Region", &PLACE_FIELDS),
    (
        "Pairing",
        &[
            "kind",
            "title",
            "summary",
            "description",
            "programmeRegion",
            "start",
            "status",
            "participants",
            "themes",
            "sdgs",
        ],
    ),
    ("Ucap", &["status", "sections"]),
    (
        "Project",
        &["kind", "title", "description", "city", "region"],
    ),
    (
        "Stakeholder",
        &[
            "name",
            "helix",
            "city",
            "country",
            "description",
            "involvements",
        ],
    ),
    (
        "Activity",
        &[
            "date",
            "kind",
            "title",
            "description",
            "place",
            "city",
            "status",
            "pairings",
            "stakeholders",
        ],
    ),
    ("Programme", &["name", "description"]),
    ("ProgrammeComponent", &["name", "description"]),
    ("FollowUpProgramme", &["name", "start"]),
    ("PublishedFigure", &["value"]),
];
const PLACE_FIELDS: [&str; 9] = [
    "name",
    "country",
    "population",
    "areaKm2",
    "leader",
    "coordinates",
    "photoCredit",
    "wikidata",
    "geonamesId",
];
const PLACE_FIELDS_WITH_KIND: [&str; 10] = [
    "name",
    "kind",
    "country",
    "population",
    "areaKm2",
    "leader",
    "coordinates",
    "photoCredit",
    "wikidata",
    "geonamesId",
];

/// The fields of a record kind a source may name.
pub fn fields_of(kind: &str) -> &'static [&'static str] {
    FIELDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, fields)| *fields)
        .unwrap_or(&[])
}

/// Documents with a text, whose sources must give a section and a quote: the seed's source
/// texts, keyed by three digits. Other documents are datasets, cited by identifier.
pub fn is_text_document(key: &str) -> bool {
    key.len() == 3 && key.bytes().all(|b| b.is_ascii_digit())
}

/// What is wrong with one source of a record of `kind`, each as (key, message). `known` says
/// whether a document key or a rule slug exists.
pub fn problems(
    kind: &str,
    source: &Source,
    known: &dyn Fn(Known, &str) -> bool,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut bad = |key: &'static str, message: &str| out.push((key, message.to_owned()));
    let s = source;
    let empty = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim().is_empty());
    for (key, value) in [
        ("field", &s.field),
        ("document", &s.document),
        ("section", &s.section),
        ("quote", &s.quote),
        ("identifier", &s.identifier),
        ("rule", &s.rule),
        ("reason", &s.reason),
        ("printed", &s.printed),
        ("corrected", &s.corrected),
        ("organisation", &s.organisation),
    ] {
        if empty(value) {
            bad(key, "is empty: omit it or give a value");
        }
    }
    if let Some(field) = &s.field
        && !fields_of(kind).contains(&field.as_str())
    {
        let allowed = fields_of(kind).join(", ");
        bad(
            "field",
            &format!("a {kind} has no field `{field}` a source can support (one of: {allowed})"),
        );
    }
    document_problems(s, known, &mut bad);
    basis_problems(s, known, &mut bad);
    out
}

/// What a source's key may refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Document,
    Rule,
}

fn document_problems(
    s: &Source,
    known: &dyn Fn(Known, &str) -> bool,
    bad: &mut impl FnMut(&'static str, &str),
) {
    match s.document.as_deref() {
        Some(doc) if !known(Known::Document, doc) => {
            bad("document", &format!("no document has the key `{doc}`"))
        }
        Some(doc) if is_text_document(doc) => {
            if s.section.is_none() {
                bad(
                    "section",
                    "a source citing a text needs the section it is in",
                );
            }
            if s.quote.is_none() {
                bad("quote", "a source citing a text needs the quote as printed");
            }
        }
        Some(_) => {
            if s.section.is_some() || s.quote.is_some() {
                bad(
                    "quote",
                    "a dataset is cited by `identifier`, not by section and quote",
                );
            }
        }
        None => {
            if s.section.is_some() || s.quote.is_some() {
                bad(
                    "document",
                    "a section or quote needs the document it is from",
                );
            }
        }
    }
}

fn basis_problems(
    s: &Source,
    known: &dyn Fn(Known, &str) -> bool,
    bad: &mut impl FnMut(&'static str, &str),
) {
    let needs_document = matches!(s.basis, Basis::Stated | Basis::Derived | Basis::Reference);
    if needs_document && s.document.is_none() {
        bad("document", "this basis needs the document it rests on");
    }
    match (s.basis, &s.rule) {
        (Basis::Derived, None) => bad("rule", "a derived fact needs the rule it follows from"),
        (Basis::Derived, Some(rule)) if !known(Known::Rule, rule) => {
            bad("rule", &format!("no derivation rule has the slug `{rule}`"))
        }
        (Basis::Derived, Some(_)) | (_, None) => {}
        (_, Some(_)) => bad("rule", "only a derived fact names a rule"),
    }
    match (s.basis, &s.identifier) {
        (Basis::Reference, None) => bad(
            "identifier",
            "reference data needs its identifier in the dataset",
        ),
        (Basis::Reference, Some(_)) if s.document.as_deref().is_some_and(is_text_document) => bad(
            "document",
            "reference data cites a dataset, not a source text",
        ),
        (Basis::Reference, Some(_)) | (_, None) => {}
        (_, Some(_)) => bad("identifier", "only reference data has an identifier"),
    }
    if s.basis == Basis::Editorial && s.reason.is_none() {
        bad("reason", "an editorial judgement needs its reason");
    }
    if s.basis != Basis::Editorial && s.reason.is_some() {
        bad("reason", "only an editorial judgement has a reason");
    }
    if s.printed.is_some() != s.corrected.is_some() {
        bad("printed", "`printed` and `corrected` go together");
    }
    if s.printed.is_some() && s.basis != Basis::Editorial {
        bad("printed", "a corrected spelling is an editorial judgement");
    }
    let partner = s.organisation.is_some() || s.at.is_some();
    if (s.basis == Basis::Partner) != partner {
        bad(
            "basis",
            "`organisation` and `at` are set on partner sources only, and always on those",
        );
    }
}

/// What is wrong with a record's list of sources as a whole.
pub fn list_problems(sources: &[Source]) -> Option<&'static str> {
    if sources.is_empty() {
        Some("a record needs at least one source")
    } else if sources.iter().all(|s| s.field.is_some()) {
        Some("a record needs a source for the record as a whole (one without `field`)")
    } else {
        None
    }
}

/// Reads a `sources` column. Rows written before sources were typed hold document keys
/// (`["004"]`); they read as stated by that document, without a locator.
pub fn parse(text: &str) -> Vec<Source> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Typed(Box<Source>),
        Key(String),
    }
    let stored: Vec<Stored> = serde_json::from_str(text).unwrap_or_default();
    stored
        .into_iter()
        .map(|s| match s {
            Stored::Typed(source) => *source,
            Stored::Key(key) => Source {
                document: Some(key),
                ..Source::new(Basis::Stated)
            },
        })
        .collect()
}

/// The `sources` column's text for a list.
pub fn to_text(sources: &[Source]) -> String {
    serde_json::to_string(sources).unwrap_or_else(|_| "[]".to_owned())
}

/// A created record's sources: what the writer cites, and the partner's own write of the
/// whole record.
pub fn on_create(mut cited: Vec<Source>, organisation: &str, at: DateTime<Utc>) -> Vec<Source> {
    cited.retain(|s| s.basis != Basis::Partner);
    cited.push(Source::partner(organisation, at, None));
    cited
}

/// An updated record's sources: the sources of the fields it changes no longer support them,
/// so they go (all of them when the writer gives a new list, `cited`), and the partner's
/// write of each changed field is added.
pub fn on_update(
    before: Vec<Source>,
    cited: Option<Vec<Source>>,
    changed: &[String],
    organisation: &str,
    at: DateTime<Utc>,
) -> Vec<Source> {
    let mut sources = match cited {
        Some(mut cited) => {
            let partner = before.into_iter().filter(|s| s.basis == Basis::Partner);
            cited.retain(|s| s.basis != Basis::Partner);
            cited.extend(partner);
            cited
        }
        None => before,
    };
    sources.retain(|s| !s.field.as_ref().is_some_and(|f| changed.contains(f)));
    sources.extend(
        changed
            .iter()
            .map(|f| Source::partner(organisation, at, Some(f))),
    );
    sources
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_known(_: Known, _: &str) -> bool {
        true
    }

    #[test]
    fn a_stated_source_needs_its_locator() {
        let s = Source {
            document: Some("004".into()),
            ..Source::new(Basis::Stated)
        };
        let keys: Vec<_> = problems("Pairing", &s, &all_known)
            .into_iter()
            .map(|p| p.0)
            .collect();
        assert_eq!(keys, ["section", "quote"]);
    }

    #[test]
    fn each_basis_names_what_it_needs() {
        let derived = Source {
            document: Some("004".into()),
            section: Some("s".into()),
            quote: Some("q".into()),
            ..Source::new(Basis::Derived)
        };
        assert_eq!(problems("Pairing", &derived, &all_known)[0].0, "rule");
        let reference = Source {
            document: Some("geonames".into()),
            ..Source::new(Basis::Reference)
        };
        assert_eq!(problems("City", &reference, &all_known)[0].0, "identifier");
        let editorial = Source::new(Basis::Editorial);
        assert_eq!(problems("City", &editorial, &all_known)[0].0, "reason");
        let wrong_field = Source {
            field: Some("slug".into()),
            reason: Some("r".into()),
            ..Source::new(Basis::Editorial)
        };
        assert_eq!(problems("City", &wrong_field, &all_known)[0].0, "field");
    }

    #[test]
    fn an_update_replaces_the_changed_fields_sources_by_the_partners() {
        let at = Utc::now();
        let stated = Source {
            document: Some("004".into()),
            section: Some("s".into()),
            quote: Some("q".into()),
            ..Source::new(Basis::Stated)
        };
        let status = Source {
            field: Some("status".into()),
            rule: Some("r".into()),
            ..stated.clone()
        };
        let after = on_update(
            vec![stated.clone(), status],
            None,
            &["status".into()],
            "Org",
            at,
        );
        assert_eq!(
            after,
            vec![stated, Source::partner("Org", at, Some("status"))]
        );
    }

    #[test]
    fn legacy_document_keys_read_as_stated_sources() {
        let read = parse(r#"["004"]"#);
        assert_eq!(read[0].basis, Basis::Stated);
        assert_eq!(read[0].document.as_deref(), Some("004"));
    }
}
