//! Provenance as data: every record of the seed has sources, every source its locator and a
//! quote that is in its document as printed; the API answers "who says so?" for the
//! programme's figures and "which facts did the sources state, and where?" for a pairing;
//! partners' writes record their source; computed figures are never described as published.

use std::collections::HashMap;

use api::auth::{Organisation, Role};
use api::service::dataset::{self, Dataset};
use api::service::provenance::{self, Basis, Source};
use api::service::{catalog, keys, seed};
use serde_json::{Value, json};

use crate::common::TestApp;

/// The source texts the seed cites, whitespace collapsed (the extracted text breaks lines
/// inside sentences; a quote is written with single spaces).
fn documents() -> HashMap<String, String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/sources");
    let mut texts = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("data/sources") {
        let path = entry.expect("entry").path();
        let key = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("name")
            .to_owned();
        let text = std::fs::read_to_string(&path).expect("a source text");
        texts.insert(key, collapse(&text));
    }
    texts
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every record of the seed, with its kind, key and sources.
fn records(data: &Dataset) -> Vec<(&'static str, String, &[Source])> {
    let mut out: Vec<(&'static str, String, &[Source])> = Vec::new();
    out.extend(
        data.countries
            .iter()
            .map(|r| ("Country", r.code.clone(), &r.sources[..])),
    );
    out.extend(
        data.programme_regions
            .iter()
            .map(|r| ("ProgrammeRegion", r.slug.clone(), &r.sources[..])),
    );
    out.extend(
        data.themes
            .iter()
            .map(|r| ("Theme", r.slug.clone(), &r.sources[..])),
    );
    out.extend(
        data.sdgs
            .iter()
            .map(|r| ("Sdg", r.number.to_string(), &r.sources[..])),
    );
    out.extend(
        data.ucap_section_types
            .iter()
            .map(|r| ("UcapSectionType", r.slug.clone(), &r.sources[..])),
    );
    out.extend(
        data.cities
            .iter()
            .map(|r| ("City", r.slug.clone(), &r.sources[..])),
    );
    out.extend(
        data.regions
            .iter()
            .map(|r| ("Region", r.slug.clone(), &r.sources[..])),
    );
    for p in &data.pairings {
        out.push(("Pairing", p.slug.clone(), &p.sources[..]));
        if let Some(u) = &p.ucap {
            out.push(("Ucap", p.slug.clone(), &u.sources[..]));
            out.extend(
                u.projects
                    .iter()
                    .map(|r| ("Project", r.slug.clone(), &r.sources[..])),
            );
        }
    }
    out.extend(
        data.stakeholders
            .iter()
            .map(|r| ("Stakeholder", r.slug.clone(), &r.sources[..])),
    );
    out.extend(
        data.activities
            .iter()
            .map(|r| ("Activity", r.slug.clone(), &r.sources[..])),
    );
    let p = data.programme.as_ref().expect("the seed has the programme");
    out.push(("Programme", p.slug.clone(), &p.sources[..]));
    out.extend(
        p.components
            .iter()
            .map(|c| ("ProgrammeComponent", c.slug.clone(), &c.sources[..])),
    );
    out.extend(
        p.follow_up
            .iter()
            .map(|f| ("FollowUpProgramme", f.name.clone(), &f.sources[..])),
    );
    out.extend(p.figures.iter().map(|f| {
        (
            "PublishedFigure",
            format!("{:?}", f.measure),
            &f.sources[..],
        )
    }));
    out
}

#[test]
fn every_record_of_the_seed_has_sources_and_every_source_its_locator() {
    let data = dataset::parse(seed::SEED_FILE_NAME, seed::SEED_JSON).expect("the seed parses");
    let texts = documents();
    let documents: Vec<&str> = data.documents.iter().map(|d| d.key.as_str()).collect();
    let rules: Vec<&str> = data.rules.iter().map(|r| r.slug.as_str()).collect();
    let known = |what: provenance::Known, key: &str| match what {
        provenance::Known::Document => documents.contains(&key),
        provenance::Known::Rule => rules.contains(&key),
    };
    let mut problems = Vec::new();
    let all = records(&data);
    assert!(
        all.len() > 380,
        "every kind of record is walked ({})",
        all.len()
    );
    for (kind, key, sources) in &all {
        if let Some(problem) = provenance::list_problems(sources) {
            problems.push(format!("{kind} {key}: {problem}"));
        }
        for (i, s) in sources.iter().enumerate() {
            for (field, message) in provenance::problems(kind, s, &known) {
                problems.push(format!("{kind} {key} sources[{i}].{field}: {message}"));
            }
            let (Some(doc), Some(quote)) = (&s.document, &s.quote) else {
                continue;
            };
            let Some(text) = texts.get(doc) else {
                problems.push(format!(
                    "{kind} {key} sources[{i}]: no text for document {doc}"
                ));
                continue;
            };
            if !text.contains(&collapse(quote)) {
                problems.push(format!(
                    "{kind} {key} sources[{i}]: quote not in {doc}: {quote:?}"
                ));
            }
            if let Some(printed) = &s.printed
                && !collapse(quote).contains(&collapse(printed))
            {
                problems.push(format!(
                    "{kind} {key} sources[{i}]: the quote does not show {printed:?}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_quote_that_is_not_in_its_document_is_caught() {
    // The check above can fail: a quote altered by one letter is not in the text.
    let texts = documents();
    let quote = "The cities are working in 82 pairings";
    assert!(texts["004"].contains(quote));
    assert!(!texts["004"].contains("The cities are working in 83 pairings"));
}

#[test]
fn the_seed_marks_inferences_as_derived_with_their_rule() {
    let data = dataset::parse(seed::SEED_FILE_NAME, seed::SEED_JSON).expect("the seed parses");
    let mut completed = 0;
    for p in &data.pairings {
        if p.status != entity::enums::PairingStatus::Completed {
            continue;
        }
        completed += 1;
        let status: Vec<&Source> = p
            .sources
            .iter()
            .filter(|s| s.field.as_deref() == Some("status"))
            .collect();
        assert!(
            status
                .iter()
                .any(|s| s.basis == Basis::Derived && s.rule.is_some()),
            "pairing {}: COMPLETED with no derived source naming its rule",
            p.slug
        );
    }
    assert!(completed > 0);
    let planned = data
        .activities
        .iter()
        .filter(|a| a.status == entity::enums::ActivityStatus::Planned)
        .count();
    assert!(
        planned > 0,
        "the sources announce events as to come: some are planned"
    );
}

const WHO_SAYS_SO: &str = "{ programme {
  publishedFigures(measure: CITY_PAIRINGS) { value asPrinted sources { basis quote section document { key title } } }
  computedFigures { measure value method }
} }";

#[tokio::test]
async fn how_many_city_pairings_and_who_says_so() {
    for app in TestApp::all_seeded().await {
        let data = app.data(WHO_SAYS_SO, json!({})).await;
        let figures = data["programme"]["publishedFigures"]
            .as_array()
            .expect("figures");
        let figure = &figures[0];
        assert_eq!(figure["value"], json!(82.0));
        let source = &figure["sources"][0];
        assert_eq!(source["basis"], json!("STATED"));
        assert_eq!(source["document"]["key"], json!("004"));
        assert!(source["quote"].as_str().unwrap_or("").contains("82"));
        // The computed figure is there too, under its own name, and says so.
        let computed = data["programme"]["computedFigures"]
            .as_array()
            .expect("computed");
        let pairings = computed
            .iter()
            .find(|f| f["measure"] == json!("CITY_PAIRINGS"))
            .expect("a computed count of city pairings");
        assert!(pairings["value"].as_i64().unwrap_or(0) < 82);
        assert!(
            pairings["method"]
                .as_str()
                .unwrap_or("")
                .starts_with("Computed")
        );
    }
}

const STATED: &str = "query($slug: String!) { pairing(slug: $slug) {
  status
  stated: sources(basis: [STATED]) { basis field section quote document { key } }
  status_sources: sources(field: \"status\") { basis rule { slug description } quote }
} }";

#[tokio::test]
async fn which_facts_of_a_pairing_the_sources_state_and_where() {
    for app in TestApp::all_seeded().await {
        let data = app.data(STATED, json!({ "slug": "aarhus-udaipur" })).await;
        let pairing = &data["pairing"];
        let stated = pairing["stated"].as_array().expect("stated sources");
        assert!(!stated.is_empty());
        for s in stated {
            assert_eq!(s["basis"], json!("STATED"));
            assert!(
                s["quote"].is_string() && s["section"].is_string() && s["document"].is_object()
            );
        }
        assert_eq!(pairing["status"], json!("COMPLETED"));
        let status = &pairing["status_sources"][0];
        assert_eq!(status["basis"], json!("DERIVED"));
        assert_eq!(status["rule"]["slug"], json!("iuc-first-phase-ended"));
    }
}

#[tokio::test]
async fn partners_writes_record_their_source_and_replace_the_fields() {
    for app in TestApp::all_seeded().await {
        let db = &app.db.conn;
        let aarhus = catalog::city_by_slug(db, "aarhus")
            .await
            .expect("db")
            .expect("aarhus");
        let key = keys::create(
            db,
            "aarhus-it",
            Role::Partner,
            Some(Organisation::City(aarhus.id)),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("key: {}", e.message()))
        .secret;
        let id = app
            .data("{ city(slug: \"aarhus\") { id version } }", json!({}))
            .await["city"]
            .clone();
        let update = "mutation($id: ID!, $v: Int!) { updateCity(input: { id: $id, version: $v, population: 360000 }) {
            city { sources { basis field organisation at } coordinates: sources(field: \"coordinates\") { basis } } } }";
        let response = app
            .graphql_as(
                Some(&key),
                update,
                json!({ "id": id["id"], "v": id["version"] }),
            )
            .await;
        assert!(response.get("errors").is_none(), "{response}");
        let city = &response["data"]["updateCity"]["city"];
        let sources = city["sources"].as_array().expect("sources");
        let partner: Vec<&Value> = sources
            .iter()
            .filter(|s| s["basis"] == json!("PARTNER"))
            .collect();
        assert_eq!(partner.len(), 1, "{sources:?}");
        assert_eq!(partner[0]["field"], json!("population"));
        assert_eq!(partner[0]["organisation"], json!("Aarhus"));
        assert!(partner[0]["at"].is_string());
        // The untouched coordinates keep their reference source.
        assert_eq!(city["coordinates"][0]["basis"], json!("REFERENCE"));
    }
}

#[tokio::test]
async fn a_cited_source_must_hold_what_its_basis_needs() {
    for app in TestApp::all_seeded().await {
        let admin = keys::create(&app.db.conn, "ops", Role::Admin, None, None)
            .await
            .unwrap_or_else(|e| panic!("key: {}", e.message()))
            .secret;
        let create = "mutation($i: CreateCityInput!) { createCity(input: $i) { city { sources { basis field document { key } quote organisation } } } }";
        let city = |sources: Value| json!({ "i": { "slug": "testville", "name": "Testville", "kind": "CITY", "country": "DK", "sources": sources } });
        let bad = app
            .graphql_as(Some(&admin), create, city(json!([{ "basis": "DERIVED", "document": "004", "section": "s", "quote": "q" }])))
            .await;
        assert_eq!(
            bad["errors"][0]["extensions"]["code"],
            json!("BAD_USER_INPUT"),
            "{bad}"
        );
        assert!(
            bad["errors"][0]["message"]
                .as_str()
                .unwrap_or("")
                .contains("rule"),
            "{bad}"
        );
        let unknown = app
            .graphql_as(
                Some(&admin),
                create,
                city(json!([{ "basis": "REFERENCE", "document": "nowhere", "identifier": "1" }])),
            )
            .await;
        assert_eq!(
            unknown["errors"][0]["extensions"]["code"],
            json!("BAD_USER_INPUT"),
            "{unknown}"
        );
        let good = app
            .graphql_as(Some(&admin), create, city(json!([{ "basis": "REFERENCE", "field": "coordinates", "document": "geonames", "identifier": "2624652" }])))
            .await;
        assert!(good.get("errors").is_none(), "{good}");
        let sources = good["data"]["createCity"]["city"]["sources"]
            .as_array()
            .expect("sources")
            .clone();
        assert_eq!(sources.len(), 2, "{sources:?}");
        assert_eq!(sources[1]["basis"], json!("PARTNER"));
        assert_eq!(sources[1]["organisation"], json!("ops"));
    }
}

/// Numbers computed from the data are described as computed, never as the publication's.
#[tokio::test]
async fn computed_figures_are_not_described_as_published() {
    let app = TestApp::all_seeded().await.remove(0);
    let schema = app
        .data("{ __schema { types { name fields { name description type { name kind ofType { name kind ofType { name } } } } } } }", json!({}))
        .await;
    let mut problems = Vec::new();
    for t in schema["__schema"]["types"].as_array().expect("types") {
        let name = t["name"].as_str().unwrap_or("");
        let computed_type = name.ends_with("Summary") || name == "ComputedFigure";
        for f in t["fields"].as_array().into_iter().flatten() {
            let description = f["description"].as_str().unwrap_or("");
            let ty = named_type(&f["type"]);
            let numeric = ty == "Int" || ty == "Float";
            if computed_type && numeric {
                if !description.starts_with("Computed") {
                    problems.push(format!(
                        "{name}.{}: computed, but not described so",
                        f["name"]
                    ));
                }
                if description.contains("publication's \"") || description.contains("as published")
                {
                    problems.push(format!(
                        "{name}.{}: computed, described as published",
                        f["name"]
                    ));
                }
            }
            if name == "PublishedFigure" && numeric && !description.starts_with("As published") {
                problems.push(format!("{name}.{}: published, not described so", f["name"]));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

fn named_type(t: &Value) -> String {
    let mut t = t;
    while t["name"].is_null() && t["ofType"].is_object() {
        t = &t["ofType"];
    }
    t["name"].as_str().unwrap_or("").to_owned()
}
