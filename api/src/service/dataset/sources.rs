//! Validation of the dataset's provenance: the documents and rules, every record's sources
//! (`provenance::problems`, the rules the API's writes follow too) and the programme.

use std::collections::HashSet;

use super::programme::Measure;
use super::{Checker, Dataset, KnownKeys, List, slugged};
use crate::service::provenance::{self, Known, Source};
use crate::service::write::rules;

/// The documents' and rules' keys: the file's and the database's.
pub(super) fn documents_and_rules(
    c: &mut Checker,
    data: &Dataset,
    known: &KnownKeys,
) -> (HashSet<String>, HashSet<String>) {
    let documents = List {
        kind: "documents",
        key: "key",
        rule: rules::document_key,
    };
    let docs = c.keyed(
        documents,
        &data.documents,
        |d| &d.key,
        &known.documents,
        |c, record, d| {
            c.rule(record, "title", rules::non_empty(&d.title));
        },
    );
    let rule_keys = c.keyed(
        slugged("rules"),
        &data.rules,
        |r| &r.slug,
        &known.rules,
        |c, record, r| {
            c.rule(record, "description", rules::non_empty(&r.description));
        },
    );
    (docs, rule_keys)
}

/// Every record's sources, and the programme.
pub(super) fn check(c: &mut Checker, data: &Dataset, keys: &KnownKeys) {
    let mut each = |kind: &str, list: &str, key: &str, path: &str, sources: &[Source]| {
        records(c, keys, kind, &format!("{list} {key:?}"), path, sources)
    };
    for r in &data.countries {
        each("Country", "countries", &r.code, "sources", &r.sources);
    }
    for r in &data.programme_regions {
        each(
            "ProgrammeRegion",
            "programme_regions",
            &r.slug,
            "sources",
            &r.sources,
        );
    }
    for r in &data.themes {
        each("Theme", "themes", &r.slug, "sources", &r.sources);
    }
    for r in &data.sdgs {
        each("Sdg", "sdgs", &r.number.to_string(), "sources", &r.sources);
    }
    for r in &data.ucap_section_types {
        each(
            "UcapSectionType",
            "ucap_section_types",
            &r.slug,
            "sources",
            &r.sources,
        );
    }
    for r in &data.cities {
        each("City", "cities", &r.slug, "sources", &r.sources);
    }
    for r in &data.regions {
        each("Region", "regions", &r.slug, "sources", &r.sources);
    }
    for r in &data.pairings {
        each("Pairing", "pairings", &r.slug, "sources", &r.sources);
        if let Some(ucap) = &r.ucap {
            // A UCAP is part of its pairing's record in the file.
            each("Ucap", "pairings", &r.slug, "ucap.sources", &ucap.sources);
            for p in &ucap.projects {
                each("Project", "projects", &p.slug, "sources", &p.sources);
            }
        }
    }
    for r in &data.stakeholders {
        each(
            "Stakeholder",
            "stakeholders",
            &r.slug,
            "sources",
            &r.sources,
        );
    }
    for r in &data.activities {
        each("Activity", "activities", &r.slug, "sources", &r.sources);
    }
    programme(c, data, keys);
    for r in &data.programme_regions {
        let record = format!("programme_regions {:?}", r.slug);
        let mut seen = HashSet::new();
        for (i, code) in r.countries.iter().enumerate() {
            let field = format!("countries[{i}]");
            c.reference_once(
                &mut seen,
                &keys.countries,
                &record,
                &field,
                "country code",
                code,
            );
        }
    }
}

/// One record's sources, at `path` in the record (`sources`, `ucap.sources`).
fn records(
    c: &mut Checker,
    keys: &KnownKeys,
    kind: &str,
    record: &str,
    path: &str,
    sources: &[Source],
) {
    if let Some(message) = provenance::list_problems(sources) {
        c.error(record, path, message);
    }
    let known = |what: Known, key: &str| match what {
        Known::Document => keys.documents.contains(key),
        Known::Rule => keys.rules.contains(key),
    };
    for (i, source) in sources.iter().enumerate() {
        for (key, message) in provenance::problems(kind, source, &known) {
            c.error(record, format!("{path}[{i}].{key}"), message);
        }
    }
}

/// The programme, its components, follow-up and figures.
fn programme(c: &mut Checker, data: &Dataset, keys: &KnownKeys) {
    let Some(p) = &data.programme else { return };
    c.rule("programme", "slug", rules::slug(&p.slug));
    c.rule("programme", "name", rules::non_empty(&p.name));
    records(c, keys, "Programme", "programme", "sources", &p.sources);
    let mut seen = HashSet::new();
    for (i, component) in p.components.iter().enumerate() {
        let record = format!("programme components[{i}]");
        c.rule(&record, "slug", rules::slug(&component.slug));
        c.unique(&mut seen, &record, "slug", &component.slug);
        records(
            c,
            keys,
            "ProgrammeComponent",
            &record,
            "sources",
            &component.sources,
        );
    }
    if let Some(follow_up) = &p.follow_up {
        if let Some(start) = &follow_up.start {
            c.date("programme follow_up", "start", start);
        }
        let record = "programme follow_up";
        records(
            c,
            keys,
            "FollowUpProgramme",
            record,
            "sources",
            &follow_up.sources,
        );
    }
    for (i, figure) in p.figures.iter().enumerate() {
        let record = format!("programme figures[{i}]");
        let per_stream = figure.measure == Measure::StreamCitiesAndRegions;
        match (&figure.theme, per_stream) {
            (Some(theme), true) => c.reference(&keys.themes, &record, "theme", "theme", theme),
            (None, false) => {}
            (None, true) => c.error(&record, "theme", "a per-stream figure names its stream"),
            (Some(_), false) => c.error(&record, "theme", "only a per-stream figure names a theme"),
        }
        if !figure.value.is_finite() || figure.value < 0.0 {
            c.error(&record, "value", "must be a number, zero or more");
        }
        c.rule(&record, "as_printed", rules::non_empty(&figure.as_printed));
        records(
            c,
            keys,
            "PublishedFigure",
            &record,
            "sources",
            &figure.sources,
        );
    }
}
