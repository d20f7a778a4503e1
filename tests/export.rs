//! Bulk export and import: export → import into an empty database → export gives the same
//! bytes (the seed, and generated data); the seed database exports as the seed file in export
//! order; a filtered export holds exactly the chosen pairings and what they reference, and
//! imports on its own; an import's dry run writes nothing; a broken import names the record
//! and the field and writes nothing; the CSV has one row per pairing and quotes what it must;
//! `GET /export` is an alias of the public download.

use std::collections::{HashMap, HashSet};

use api::auth::{Organisation, Role};
use api::service::dataset::{self, Dataset};
use api::service::export::{self, CSV_COLUMNS, ExportFilter};
use api::service::generate::{Options, generate};
use api::service::seed::{self, LoadError, Mode, SEED_FILE_NAME, SEED_JSON};
use api::service::{catalog, keys};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::common::{TestApp, TestDb};

async fn export_text(db: &TestDb, filter: &ExportFilter) -> String {
    let data = export::export(&db.conn, filter)
        .await
        .unwrap_or_else(|e| panic!("[{:?}] export: {e}", db.backend));
    export::to_json(&data)
}

async fn whole(db: &TestDb) -> Dataset {
    export::export(&db.conn, &ExportFilter::default())
        .await
        .unwrap_or_else(|e| panic!("[{:?}] export: {e}", db.backend))
}

/// A fresh, migrated, empty database on the same backend as `like`.
async fn empty_like(like: &TestDb) -> TestDb {
    TestDb::all()
        .await
        .into_iter()
        .find(|db| db.backend == like.backend)
        .expect("the backend is switched on")
}

/// Imports `text` into an empty database and exports it again: the same bytes come back.
async fn assert_round_trip(from: &TestDb, text: &str, what: &str) {
    let target = empty_like(from).await;
    seed::load_text(&target.conn, "export.json", text, Mode::Apply)
        .await
        .unwrap_or_else(|e| panic!("[{:?}] {what}: the export imports: {e}", from.backend));
    let again = export_text(&target, &ExportFilter::default()).await;
    assert!(
        again == text,
        "[{:?}] {what}: export → import → export differs:\n{}",
        from.backend,
        first_difference(text, &again)
    );
}

fn first_difference(a: &str, b: &str) -> String {
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}: {x:?}\n     vs: {y:?}", i + 1);
        }
    }
    format!("lengths {} and {}", a.len(), b.len())
}

#[tokio::test]
async fn export_import_into_an_empty_database_and_export_again_gives_the_same_file() {
    let mut texts = Vec::new();
    for db in TestDb::all_seeded().await {
        let text = export_text(&db, &ExportFilter::default()).await;
        assert!(text.starts_with("{\n  \"format\": \"iuc-graph/2\",\n"));
        assert!(text.ends_with("}\n"));
        assert_round_trip(&db, &text, "seed").await;
        texts.push((db.backend, text));
    }
    // SQLite and PostgreSQL write the same bytes.
    for (backend, text) in &texts[1..] {
        assert!(
            *text == texts[0].1,
            "{backend:?} exports differently from SQLite:\n{}",
            first_difference(&texts[0].1, text)
        );
    }
}

#[tokio::test]
async fn generated_data_round_trips_too() {
    let mut texts = Vec::new();
    for db in TestDb::all().await {
        generate(
            &db.conn,
            Options {
                pairings: 60,
                seed: 11,
            },
        )
        .await
        .expect("generate");
        let data = whole(&db).await;
        assert_eq!(data.pairings.len(), 60);
        assert!(data.pairings.iter().any(|p| p.ucap.is_some()));
        assert!(data.stakeholders.iter().any(|s| !s.involvements.is_empty()));
        assert!(data.activities.iter().any(|a| !a.stakeholders.is_empty()));
        export::check_self_contained("generated", &data)
            .unwrap_or_else(|e| panic!("[{:?}] {e}", db.backend));
        let text = export::to_json(&data);
        assert_round_trip(&db, &text, "generated").await;
        texts.push((db.backend, text));
    }
    // The generator is deterministic from its seed, and the export from the data: both
    // backends write the same bytes.
    for (backend, text) in &texts[1..] {
        assert!(
            *text == texts[0].1,
            "{backend:?} exports generated data differently from SQLite:\n{}",
            first_difference(&texts[0].1, text)
        );
    }
}

/// The seed database exports as the seed file, up to the order of records (the export sorts
/// them; see `export::canonical`) and the empty lists and nulls the file spells out.
#[tokio::test]
async fn the_seed_database_exports_as_the_seed_file_in_export_order() {
    let mut expected = dataset::parse(SEED_FILE_NAME, SEED_JSON).expect("seed parses");
    export::canonical(&mut expected);
    for db in TestDb::all_seeded().await {
        let exported = whole(&db).await;
        if exported != expected {
            let (a, b) = (export::to_json(&expected), export::to_json(&exported));
            panic!(
                "[{:?}] the export differs from the seed file:\n{}",
                db.backend,
                first_difference(&a, &b)
            );
        }
    }
}

#[tokio::test]
async fn an_export_costs_one_statement_per_table_whatever_the_data() {
    let mut costs = Vec::new();
    for db in TestDb::all().await {
        let mut per_size = Vec::new();
        for (pairings, seed) in [(5, 3), (200, 4)] {
            generate(&db.conn, Options { pairings, seed })
                .await
                .expect("generate");
            for filter in [
                ExportFilter::default(),
                ExportFilter {
                    countries: vec!["AA".into(), "AB".into()],
                    ..ExportFilter::default()
                },
            ] {
                let before = db.statements.get();
                export::export(&db.conn, &filter).await.expect("export");
                let used = db.statements.get() - before;
                // One per table read (23 tables), fewer when a filter leaves a table nothing
                // to read.
                assert!(used <= 23, "[{:?}] {used} statements", db.backend);
                per_size.push(used);
            }
        }
        assert_eq!(
            per_size[0], per_size[2],
            "[{:?}] the whole export's statements grew with the data",
            db.backend
        );
        costs.push(per_size);
    }
    assert!(!costs.is_empty());
}

// ---------------------------------------------------------------- filtered export

/// What a filtered export must hold, computed here from the whole export, independently of
/// the SQL: the chosen pairings, the activities linked to one of them (their links trimmed to
/// the chosen), the stakeholders involved in one of them or in an exported activity (their
/// involvements trimmed), and the places, countries and reference data all of these name.
fn restrict(full: &Dataset, chosen: &HashSet<String>) -> Dataset {
    let pairings: Vec<_> = full
        .pairings
        .iter()
        .filter(|p| chosen.contains(&p.slug))
        .cloned()
        .collect();
    let projects: HashSet<&str> = pairings
        .iter()
        .filter_map(|p| p.ucap.as_ref())
        .flat_map(|u| u.projects.iter().map(|x| x.slug.as_str()))
        .collect();
    let activities: Vec<_> = full
        .activities
        .iter()
        .filter(|a| a.pairings.iter().any(|p| chosen.contains(p)))
        .map(|a| {
            let mut a = a.clone();
            a.pairings.retain(|p| chosen.contains(p));
            a
        })
        .collect();
    let in_activities: HashSet<&str> = activities
        .iter()
        .flat_map(|a| a.stakeholders.iter().map(|s| s.stakeholder.as_str()))
        .collect();
    let stakeholders: Vec<_> = full
        .stakeholders
        .iter()
        .filter_map(|s| {
            let mut s = s.clone();
            s.involvements.retain(|i| {
                i.pairing.as_ref().is_some_and(|p| chosen.contains(p))
                    || i.ucap.as_ref().is_some_and(|p| chosen.contains(p))
                    || i.project
                        .as_ref()
                        .is_some_and(|p| projects.contains(p.as_str()))
            });
            (!s.involvements.is_empty() || in_activities.contains(s.slug.as_str())).then_some(s)
        })
        .collect();
    let mut cities: HashSet<&str> = HashSet::new();
    let mut regions: HashSet<&str> = HashSet::new();
    for p in &pairings {
        for x in &p.participants {
            cities.extend(x.city.as_deref());
            regions.extend(x.region.as_deref());
        }
        for x in p.ucap.iter().flat_map(|u| &u.projects) {
            cities.extend(x.city.as_deref());
            regions.extend(x.region.as_deref());
        }
    }
    cities.extend(stakeholders.iter().filter_map(|s| s.city.as_deref()));
    cities.extend(activities.iter().filter_map(|a| a.city.as_deref()));
    let cities: Vec<_> = full
        .cities
        .iter()
        .filter(|c| cities.contains(c.slug.as_str()))
        .cloned()
        .collect();
    let regions: Vec<_> = full
        .regions
        .iter()
        .filter(|r| regions.contains(r.slug.as_str()))
        .cloned()
        .collect();
    let countries: HashSet<&str> = cities
        .iter()
        .map(|c| c.country.as_str())
        .chain(regions.iter().map(|r| r.country.as_str()))
        .chain(stakeholders.iter().filter_map(|s| s.country.as_deref()))
        .collect();
    let themes: HashSet<&str> = pairings
        .iter()
        .flat_map(|p| p.themes.iter().map(String::as_str))
        .collect();
    let sdgs: HashSet<i32> = pairings.iter().flat_map(|p| p.sdgs.clone()).collect();
    let programme_regions: HashSet<&str> = pairings
        .iter()
        .map(|p| p.programme_region.as_str())
        .collect();
    // A programme region comes with its countries.
    let countries: HashSet<&str> = countries
        .into_iter()
        .chain(
            full.programme_regions
                .iter()
                .filter(|r| programme_regions.contains(r.slug.as_str()))
                .flat_map(|r| r.countries.iter().map(String::as_str)),
        )
        .collect();
    let section_types: HashSet<&str> = pairings
        .iter()
        .filter_map(|p| p.ucap.as_ref())
        .flat_map(|u| u.sections.iter().map(|s| s.section_type.as_str()))
        .collect();
    Dataset {
        format: full.format.clone(),
        // What sources cite comes whole; the programme is not a part of some pairings.
        documents: full.documents.clone(),
        rules: full.rules.clone(),
        programme: None,
        countries: full
            .countries
            .iter()
            .filter(|c| countries.contains(c.code.as_str()))
            .cloned()
            .collect(),
        programme_regions: full
            .programme_regions
            .iter()
            .filter(|r| programme_regions.contains(r.slug.as_str()))
            .cloned()
            .collect(),
        themes: full
            .themes
            .iter()
            .filter(|t| themes.contains(t.slug.as_str()))
            .cloned()
            .collect(),
        sdgs: full
            .sdgs
            .iter()
            .filter(|s| sdgs.contains(&s.number))
            .cloned()
            .collect(),
        ucap_section_types: full
            .ucap_section_types
            .iter()
            .filter(|t| section_types.contains(t.slug.as_str()))
            .cloned()
            .collect(),
        cities,
        regions,
        pairings,
        stakeholders,
        activities,
    }
}

/// The pairings a filter chooses, computed from the whole export.
fn chosen_by(full: &Dataset, filter: &ExportFilter) -> HashSet<String> {
    let country: HashMap<&str, &str> = full
        .cities
        .iter()
        .map(|c| (c.slug.as_str(), c.country.as_str()))
        .chain(
            full.regions
                .iter()
                .map(|r| (r.slug.as_str(), r.country.as_str())),
        )
        .collect();
    full.pairings
        .iter()
        .filter(|p| filter.pairings.is_empty() || filter.pairings.contains(&p.slug))
        .filter(|p| filter.themes.is_empty() || p.themes.iter().any(|t| filter.themes.contains(t)))
        .filter(|p| {
            filter.programme_regions.is_empty()
                || filter.programme_regions.contains(&p.programme_region)
        })
        .filter(|p| {
            filter.countries.is_empty()
                || p.participants.iter().any(|x| {
                    let place = x.city.as_deref().or(x.region.as_deref()).unwrap_or("");
                    country
                        .get(place)
                        .is_some_and(|c| filter.countries.iter().any(|f| f == c))
                })
        })
        .map(|p| p.slug.clone())
        .collect()
}

async fn check_filtered(db: &TestDb, full: &Dataset, filter: &ExportFilter, at_least: usize) {
    let chosen = chosen_by(full, filter);
    assert!(
        chosen.len() >= at_least,
        "[{:?}] the test's filter {filter:?} chooses only {} pairings",
        db.backend,
        chosen.len()
    );
    let part = export::export(&db.conn, filter)
        .await
        .unwrap_or_else(|e| panic!("[{:?}] export: {e}", db.backend));
    let slugs: HashSet<String> = part.pairings.iter().map(|p| p.slug.clone()).collect();
    assert_eq!(slugs, chosen, "[{:?}] {filter:?}", db.backend);
    let expected = restrict(full, &chosen);
    if part != expected {
        panic!(
            "[{:?}] {filter:?}: the filtered export is not the chosen pairings and what they reference:\n{}",
            db.backend,
            first_difference(&export::to_json(&expected), &export::to_json(&part))
        );
    }
    export::check_self_contained("part.json", &part)
        .unwrap_or_else(|e| panic!("[{:?}] {filter:?}: {e}", db.backend));
    assert_round_trip(db, &export::to_json(&part), "filtered").await;
}

#[tokio::test]
async fn a_filtered_export_holds_the_chosen_pairings_with_what_they_reference_and_imports_alone() {
    for db in TestDb::all_seeded().await {
        let full = whole(&db).await;
        let filters = [
            // The richest pairing (UCAP, stakeholders, activities shared with other pairings)
            // and one sharing an activity with it.
            ExportFilter {
                pairings: vec!["rome-yantai".into(), "barnsley-liuzhou".into()],
                ..ExportFilter::default()
            },
            ExportFilter {
                pairings: vec!["rome-yantai".into()],
                ..ExportFilter::default()
            },
            ExportFilter {
                themes: vec!["stream-smart-cities-and-innovation".into()],
                ..ExportFilter::default()
            },
            ExportFilter {
                countries: vec!["CN".into(), "JP".into()],
                ..ExportFilter::default()
            },
            // Kinds combine with AND: Chinese or Japanese pairings on smart cities.
            ExportFilter {
                themes: vec!["stream-smart-cities-and-innovation".into()],
                countries: vec!["CN".into(), "JP".into()],
                ..ExportFilter::default()
            },
            ExportFilter {
                programme_regions: vec!["latin-america-caribbean".into()],
                ..ExportFilter::default()
            },
        ];
        for filter in &filters {
            check_filtered(&db, &full, filter, 1).await;
        }
        // A shared activity keeps only the chosen pairing.
        let part = export::export(
            &db.conn,
            &ExportFilter {
                pairings: vec!["rome-yantai".into()],
                ..ExportFilter::default()
            },
        )
        .await
        .unwrap();
        let seminar = part
            .activities
            .iter()
            .find(|a| a.slug == "2018-07-eu-china-regional-policy-seminar-zhengzhou")
            .expect("the seminar names rome-yantai");
        assert_eq!(seminar.pairings, ["rome-yantai"]);
        assert!(
            part.activities.iter().all(|a| !a.pairings.is_empty()),
            "programme-wide activities are left out"
        );
        // Imported back into the whole database, the trimmed link would go: the dry run says
        // so (README: to edit and re-import, export everything).
        let dry = seed::load_text(&db.conn, "part.json", &export::to_json(&part), Mode::DryRun)
            .await
            .expect("the part loads");
        assert_eq!(dry.deleted.get("activity_pairing"), Some(&1), "{dry}");
        assert_eq!(dry.total(), 1, "{dry}");

        // Nothing chosen: an empty but valid file.
        let nothing = export::export(
            &db.conn,
            &ExportFilter {
                pairings: vec!["atlantis".into()],
                ..ExportFilter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            nothing,
            Dataset {
                format: dataset::FORMAT.into(),
                // What sources cite comes whole, so that any part imports alone.
                documents: full_documents(&db).await,
                rules: full_rules(&db).await,
                ..Dataset::default()
            }
        );
    }
}

#[tokio::test]
async fn a_filtered_export_of_generated_data_trims_ucap_and_project_involvements_too() {
    for db in TestDb::all().await {
        generate(
            &db.conn,
            Options {
                pairings: 80,
                seed: 5,
            },
        )
        .await
        .expect("generate");
        let full = whole(&db).await;
        let first = &full.pairings[0];
        let theme = first.themes[0].clone();
        let filters = [
            ExportFilter {
                themes: vec![theme.clone()],
                ..ExportFilter::default()
            },
            ExportFilter {
                countries: vec!["AA".into(), "BB".into(), "CC".into()],
                ..ExportFilter::default()
            },
            ExportFilter {
                pairings: full.pairings[..10].iter().map(|p| p.slug.clone()).collect(),
                themes: vec![theme],
                ..ExportFilter::default()
            },
        ];
        for filter in &filters {
            check_filtered(&db, &full, filter, 1).await;
        }
        // The generated data has involvements in UCAPs and projects: the filtered exports
        // above covered them.
        assert!(
            full.stakeholders
                .iter()
                .flat_map(|s| &s.involvements)
                .any(|i| i.ucap.is_some() || i.project.is_some())
        );
    }
}

// ---------------------------------------------------------------- import

#[tokio::test]
async fn an_import_dry_run_reports_the_changes_and_writes_nothing() {
    for db in TestDb::all_seeded().await {
        let mut data = whole(&db).await;
        let before = export::to_json(&data);
        let rome = data
            .pairings
            .iter_mut()
            .find(|p| p.slug == "rome-yantai")
            .unwrap();
        rome.title = "Rome – Yantai (renamed)".into();
        rome.themes.pop();
        let mut city = data.cities[0].clone();
        city.slug = "new-town".into();
        city.name = "New Town".into();
        data.cities.push(city);
        let edited = export::to_json(&data);

        let dry = seed::load_text(&db.conn, "edit.json", &edited, Mode::DryRun)
            .await
            .expect("the dry run runs");
        assert_eq!(dry.updated.get("pairing"), Some(&1), "{dry}");
        assert_eq!(dry.inserted.get("city"), Some(&1), "{dry}");
        assert_eq!(dry.deleted.get("pairing_theme"), Some(&1), "{dry}");
        assert_eq!(dry.total(), 3, "{dry}");
        assert!(dry.to_string().contains("pairing_theme +0~0-1"), "{dry}");
        assert_eq!(
            export_text(&db, &ExportFilter::default()).await,
            before,
            "[{:?}] a dry run wrote",
            db.backend
        );

        let applied = seed::load_text(&db.conn, "edit.json", &edited, Mode::Apply)
            .await
            .expect("the import applies");
        assert_eq!(applied, dry, "the dry run reports what the import does");
        let mut expected = data;
        export::canonical(&mut expected);
        assert_eq!(
            export_text(&db, &ExportFilter::default()).await,
            export::to_json(&expected)
        );
        // And once more: nothing to do.
        let again = seed::load_text(&db.conn, "edit.json", &edited, Mode::Apply)
            .await
            .unwrap();
        assert!(again.is_empty(), "{again}");
    }
}

#[tokio::test]
async fn an_import_error_names_the_record_and_the_field_and_writes_nothing() {
    for db in TestDb::all_seeded().await {
        let mut data = whole(&db).await;
        let before = export::to_json(&data);
        // Valid changes first, then two errors further down the file.
        data.pairings[0].title = "Changed".into();
        let rome = data
            .pairings
            .iter_mut()
            .find(|p| p.slug == "rome-yantai")
            .unwrap();
        rome.participants[1].city = Some("atlantis".into());
        data.activities[0]
            .stakeholders
            .push(dataset::ActivityStakeholderRecord {
                stakeholder: "nobody".into(),
                role: None,
            });
        let error = seed::load_text(&db.conn, "bad.json", &export::to_json(&data), Mode::Apply)
            .await
            .expect_err("a broken file is refused");
        assert!(matches!(error, LoadError::Invalid(_)), "{error}");
        let message = error.to_string();
        for part in [
            "bad.json: pairings \"rome-yantai\", field `participants[1].city`: unknown city \"atlantis\"",
            "field `stakeholders[",
            "unknown stakeholder \"nobody\"",
        ] {
            assert!(message.contains(part), "{message:?} should say {part:?}");
        }
        // A type error in the JSON is named by record and field too.
        let mut value: serde_json::Value = serde_json::from_str(&before).unwrap();
        value["cities"][2]["population"] = serde_json::json!("many");
        let slug = value["cities"][2]["slug"].as_str().unwrap().to_owned();
        let error = seed::load_text(&db.conn, "bad.json", &value.to_string(), Mode::Apply)
            .await
            .expect_err("a wrong type is refused");
        let message = error.to_string();
        assert!(
            message.contains(&format!("cities \"{slug}\", field `population`")),
            "{message}"
        );
        assert_eq!(
            export_text(&db, &ExportFilter::default()).await,
            before,
            "[{:?}] a refused import wrote",
            db.backend
        );
    }
}

// ---------------------------------------------------------------- CSV

/// A strict RFC 4180 reader for the test: records of fields, CRLF between records.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(field.is_empty(), "a quote inside an unquoted field");
                quoted = true;
            }
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            '\n' => panic!("a bare LF ends a record"),
            _ => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the last record ends with CRLF"
    );
    records
}

#[tokio::test]
async fn the_csv_has_one_row_per_pairing_and_quotes_commas_and_quotes() {
    for db in TestDb::all_seeded().await {
        let mut data = whole(&db).await;
        let title = "Rome, the \"Eternal City\" – Yantai";
        data.pairings
            .iter_mut()
            .find(|p| p.slug == "rome-yantai")
            .unwrap()
            .title = title.into();
        data.pairings
            .iter_mut()
            .find(|p| p.slug == "barnsley-liuzhou")
            .unwrap()
            .title = "=1+1".into();
        seed::load_text(&db.conn, "edit.json", &export::to_json(&data), Mode::Apply)
            .await
            .unwrap();

        let csv = export::pairings_csv(&db.conn, &ExportFilter::default())
            .await
            .unwrap();
        assert!(!csv.starts_with('\u{feff}'), "no byte-order mark");
        assert!(csv.contains("\"Rome, the \"\"Eternal City\"\" – Yantai\""));
        let rows = parse_csv(&csv);
        assert_eq!(rows[0], CSV_COLUMNS);
        assert_eq!(rows.len(), data.pairings.len() + 1);
        assert!(rows.iter().all(|r| r.len() == CSV_COLUMNS.len()));
        let row = |slug: &str| -> HashMap<&str, String> {
            let row = rows
                .iter()
                .find(|r| r[0] == slug)
                .expect("a row per pairing");
            CSV_COLUMNS
                .iter()
                .copied()
                .zip(row.iter().cloned())
                .collect()
        };
        let rome = row("rome-yantai");
        assert_eq!(rome["title"], title);
        assert_eq!(rome["kind"], "city_to_city");
        assert_eq!(rome["programme_region"], "IUC Asia");
        assert_eq!(rome["european_participants"], "Rome");
        assert_eq!(rome["european_countries"], "IT");
        assert_eq!(rome["partner_participants"], "Yantai");
        assert_eq!(rome["partner_countries"], "CN");
        assert_eq!(
            rome["themes"],
            "topic-air-quality; topic-circular-economy; topic-digital-transition; \
             topic-education-jobs-and-skills-in-the-local-economy; \
             topic-smart-cities-and-regional-urban-innovation-and-competitiveness; \
             topic-water-waste-management-and-sanitation"
        );
        // A formula is defused.
        assert_eq!(row("barnsley-liuzhou")["title"], "'=1+1");
        // A cluster: both partner cities, their country once.
        let belfast = row("belfast-cali-medellin");
        assert_eq!(belfast["partner_participants"], "Cali; Medellín");
        assert_eq!(belfast["partner_countries"], "CO");

        // Filtered: the chosen rows only.
        let part = export::pairings_csv(
            &db.conn,
            &ExportFilter {
                countries: vec!["CO".into()],
                ..ExportFilter::default()
            },
        )
        .await
        .unwrap();
        let rows = parse_csv(&part);
        assert!(rows.len() > 1);
        assert!(
            rows[1..]
                .iter()
                .all(|r| r[7].contains("CO") || r[9].contains("CO"))
        );
    }
}

// ---------------------------------------------------------------- HTTP

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn code(&self) -> String {
        let value: serde_json::Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} with a body that is not JSON ({e})", self.status));
        value["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn get(app: &TestApp, uri: &str, key: Option<&str>) -> Answer {
    let mut request = Request::get(uri);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let response = api::http::app(app.state.clone())
        .oneshot(request.body(Body::empty()).expect("a valid request"))
        .await
        .expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body can be read")
        .to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).expect("UTF-8"),
    }
}

/// `GET /export` and `/export.csv`, once for administrators, are aliases of the public
/// downloads (`tests/downloads.rs`): anonymous, a key changes nothing.
#[tokio::test]
async fn http_export_is_an_alias_of_the_public_downloads() {
    for app in TestApp::all_seeded().await {
        let conn = &app.db.conn;
        let admin = keys::create(conn, "ops", Role::Admin, None, None)
            .await
            .expect("an admin key")
            .secret;
        let rome = catalog::city_by_slug(conn, "rome").await.unwrap().unwrap();
        let partner = keys::create(
            conn,
            "rome",
            Role::Partner,
            Some(Organisation::City(rome.id)),
            None,
        )
        .await
        .expect("a partner key")
        .secret;
        let backend = app.db.backend;
        let whole = export_text(&app.db, &ExportFilter::default()).await;
        for key in [None, Some("iuc_not-a-key"), Some(partner.as_str())] {
            let answer = get(&app, "/export", key).await;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "[{backend:?}] {}",
                answer.body
            );
            assert_eq!(answer.body, whole);
            assert!(answer.header(header::CACHE_CONTROL).starts_with("public"));
        }

        let answer = get(&app, "/export", Some(&admin)).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "[{backend:?}] {}",
            answer.body
        );
        assert_eq!(answer.header(header::CONTENT_TYPE), "application/json");
        assert_eq!(
            answer.header(header::CONTENT_DISPOSITION),
            "attachment; filename=\"iuc-graph.json\""
        );
        assert_eq!(
            answer.body,
            export_text(&app.db, &ExportFilter::default()).await
        );

        let filter = ExportFilter {
            pairings: vec!["rome-yantai".into(), "barnsley-liuzhou".into()],
            countries: vec!["CN".into()],
            ..ExportFilter::default()
        };
        let answer = get(
            &app,
            "/export?pairing=rome-yantai,barnsley-liuzhou&country=cn",
            Some(&admin),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body, export_text(&app.db, &filter).await);
        let answer = get(
            &app,
            "/export?pairing=rome-yantai&pairing=barnsley-liuzhou&country=CN",
            Some(&admin),
        )
        .await;
        assert_eq!(answer.body, export_text(&app.db, &filter).await);

        let csv = get(&app, "/export.csv?country=CO", Some(&admin)).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.header(header::CONTENT_TYPE).starts_with("text/csv"));
        assert_eq!(
            csv.header(header::CONTENT_DISPOSITION),
            "attachment; filename=\"iuc-graph-pairings.csv\""
        );
        let expected = export::pairings_csv(
            conn,
            &ExportFilter {
                countries: vec!["CO".into()],
                ..ExportFilter::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(csv.body, expected);
        let same = get(&app, "/export?format=csv&country=CO", Some(&admin)).await;
        assert_eq!(same.body, expected);

        for uri in [
            "/export?themes=stream-mobility-and-transport",
            "/export?format=xml",
            "/export.csv?format=json",
        ] {
            let answer = get(&app, uri, Some(&admin)).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
            assert_eq!(answer.code(), "BAD_USER_INPUT", "{uri}");
        }
    }
}

/// What the API's mutations write, the file format can say: records created through GraphQL
/// (every kind, with a UCAP involvement and a project in a region) export, import into an
/// empty database and export again unchanged, whole and filtered to the new pairing.
#[tokio::test]
async fn what_mutations_write_exports_and_imports_back() {
    for app in TestApp::all_seeded().await {
        let admin = keys::create(&app.db.conn, "ops", Role::Admin, None, None)
            .await
            .expect("an admin key")
            .secret;
        let run = |query: &'static str, variables: serde_json::Value| {
            let (app, admin) = (&app, admin.clone());
            async move {
                let response = app.graphql_as(Some(&admin), query, variables).await;
                assert!(
                    response.get("errors").is_none(),
                    "[{:?}] {query}: {}",
                    app.db.backend,
                    response["errors"]
                );
                response["data"].clone()
            }
        };
        let theme = app
            .data(
                "{ theme(slug: \"stream-mobility-and-transport\") { id } }",
                serde_json::json!({}),
            )
            .await["theme"]["id"]
            .clone();
        let city = run(
            "mutation { createCity(input: { slug: \"nova-gorica\", name: \"Nova Gorica, \\\"NG\\\"\", kind: CITY, country: \"SI\", population: 31000, areaKm2: 280.3, latitude: 45.956123456789012, longitude: 13.648 }) { city { id } } }",
            serde_json::json!({}),
        )
        .await["createCity"]["city"]["id"]
            .clone();
        let region = run(
            "mutation { createRegion(input: { slug: \"goriska\", name: \"Goriška\", country: \"SI\" }) { region { id } } }",
            serde_json::json!({}),
        )
        .await["createRegion"]["region"]["id"]
            .clone();
        let pairing = run(
            "mutation($i: CreatePairingInput!) { createPairing(input: $i) { pairing { id } } }",
            serde_json::json!({ "i": {
                "slug": "nova-gorica-goriska", "kind": "CITY_TO_CITY", "title": "Nova Gorica – Goriška",
                "summary": "A test pairing.", "programmeRegion": "asia", "start": "2019-H1", "status": "ACTIVE",
                "participants": [
                    { "place": { "city": city }, "side": "EUROPEAN" },
                    { "place": { "region": region }, "side": "PARTNER" }],
                "themes": [theme], "sdgs": [13, 11]
            } }),
        )
        .await["createPairing"]["pairing"]["id"]
            .clone();
        let ucap = run(
            "mutation($p: ID!) { createUcap(input: { pairing: $p, status: IN_PREPARATION, sections: [{ sectionType: \"actions\", body: \"Act.\" }, { sectionType: \"overview\", body: \"Plans.\" }] }) { ucap { id } } }",
            serde_json::json!({ "p": pairing }),
        )
        .await["createUcap"]["ucap"]["id"]
            .clone();
        let project = run(
            "mutation($u: ID!, $r: ID) { createProject(input: { ucap: $u, slug: \"bike-lanes\", kind: PILOT, title: \"Bike lanes\", region: $r }) { project { id } } }",
            serde_json::json!({ "u": ucap, "r": region }),
        )
        .await["createProject"]["project"]["id"]
            .clone();
        let stakeholder = run(
            "mutation($c: ID) { createStakeholder(input: { slug: \"ng-university\", name: \"University of Nova Gorica\", helix: ACADEMIA, city: $c, country: \"SI\" }) { stakeholder { id } } }",
            serde_json::json!({ "c": city }),
        )
        .await["createStakeholder"]["stakeholder"]["id"]
            .clone();
        for (target, id) in [
            ("project", &project),
            ("ucap", &ucap),
            ("pairing", &pairing),
        ] {
            let query = match target {
                "project" => {
                    "mutation($s: ID!, $t: ID) { createInvolvement(input: { stakeholder: $s, target: { project: $t }, role: \"research\" }) { involvement { id } } }"
                }
                "ucap" => {
                    "mutation($s: ID!, $t: ID) { createInvolvement(input: { stakeholder: $s, target: { ucap: $t } }) { involvement { id } } }"
                }
                _ => {
                    "mutation($s: ID!, $t: ID) { createInvolvement(input: { stakeholder: $s, target: { pairing: $t }, role: \"partner\" }) { involvement { id } } }"
                }
            };
            run(query, serde_json::json!({ "s": stakeholder, "t": id })).await;
        }
        run(
            "mutation($p: ID!, $s: ID!) { createActivity(input: { slug: \"ng-kickoff\", date: \"2019-03\", kind: MISSION, title: \"Kick-off\", pairings: [$p], stakeholders: [{ stakeholder: $s, role: \"host\" }] }) { activity { id } } }",
            serde_json::json!({ "p": pairing, "s": stakeholder }),
        )
        .await;

        let data = whole(&app.db).await;
        export::check_self_contained("api.json", &data)
            .unwrap_or_else(|e| panic!("[{:?}] {e}", app.db.backend));
        let new = data
            .pairings
            .iter()
            .find(|p| p.slug == "nova-gorica-goriska")
            .expect("the new pairing is exported");
        assert_eq!(new.start.as_deref(), Some("2019-H1"));
        assert_eq!(new.sdgs, [11, 13]);
        let sections: Vec<&str> = new
            .ucap
            .as_ref()
            .unwrap()
            .sections
            .iter()
            .map(|s| s.section_type.as_str())
            .collect();
        assert_eq!(
            sections,
            ["overview", "actions"],
            "in the section types' order"
        );
        assert_round_trip(&app.db, &export::to_json(&data), "after mutations").await;
        check_filtered(
            &app.db,
            &data,
            &ExportFilter {
                pairings: vec!["nova-gorica-goriska".into()],
                ..ExportFilter::default()
            },
            1,
        )
        .await;
    }
}

// ---------------------------------------------------------------- the command line

/// Runs the binary on an SQLite file; returns (success, stdout, stderr).
fn cli(db: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_iuc-graph"))
        .args(args)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", db.display()),
        )
        .env("IUC_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(text) = stdin
        && let Some(mut input) = child.stdin.take()
    {
        input
            .write_all(text.as_bytes())
            .expect("stdin takes the file");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("the binary ends");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct TempFiles(Vec<std::path::PathBuf>);

impl Drop for TempFiles {
    fn drop(&mut self) {
        for path in &self.0 {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

#[test]
fn the_export_and_import_commands() {
    let dir = std::env::temp_dir();
    let id = format!("{}-{:?}", std::process::id(), std::thread::current().id())
        .replace(|c: char| !c.is_ascii_alphanumeric(), "");
    let files = TempFiles(
        ["a.db", "b.db", "out.json", "broken.json"]
            .iter()
            .map(|f| dir.join(format!("iuc-cli-{id}-{f}")))
            .collect(),
    );
    let [a, b, out, broken] = [&files.0[0], &files.0[1], &files.0[2], &files.0[3]];
    let out_arg = out.display().to_string();

    assert!(cli(a, &["seed"], None).0);
    let (ok, _, err) = cli(a, &["export", "--out", &out_arg], None);
    assert!(ok, "{err}");
    assert!(err.contains("exported 68 pairings"), "{err}");
    let file = std::fs::read_to_string(out).expect("--out wrote the file");

    let (ok, stdout, err) = cli(b, &["import", "--file", &out_arg, "--dry-run"], None);
    assert!(ok, "{err}");
    assert!(stdout.starts_with("import would change (dry run, nothing written): "));
    let (_, empty, _) = cli(b, &["export"], None);
    assert!(!empty.contains("\"slug\""), "a dry run wrote: {empty}");

    let (ok, stdout, err) = cli(b, &["import", "--file", "-"], Some(&file));
    assert!(ok, "{err}");
    assert!(stdout.starts_with("import loaded: "), "{stdout}");
    let (ok, again, _) = cli(b, &["export"], None);
    assert!(ok);
    assert!(again == file, "export → import → export differs");

    let (ok, part, err) = cli(
        b,
        &[
            "export",
            "--pairing",
            "rome-yantai,barnsley-liuzhou",
            "--country",
            "cn",
        ],
        None,
    );
    assert!(ok, "{err}");
    let part = dataset::parse("part", &part).expect("the filtered export parses");
    let slugs: Vec<&str> = part.pairings.iter().map(|p| p.slug.as_str()).collect();
    assert_eq!(slugs, ["barnsley-liuzhou", "rome-yantai"]);

    let (ok, csv, _) = cli(
        b,
        &[
            "export",
            "--format",
            "csv",
            "--theme",
            "stream-smart-cities-and-innovation",
        ],
        None,
    );
    assert!(ok);
    assert!(csv.starts_with("slug,title,kind,status,programme_region,start,"));

    std::fs::write(
        broken,
        file.replace("\"city\": \"rome\"", "\"city\": \"atlantis\""),
    )
    .expect("write");
    let (ok, _, err) = cli(
        b,
        &["import", "--file", &broken.display().to_string()],
        None,
    );
    assert!(!ok, "a broken file fails");
    assert!(
        err.contains("field `participants[0].city`: unknown city \"atlantis\""),
        "{err}"
    );
}

/// The documents and rules of the whole export.
async fn full_documents(db: &TestDb) -> Vec<api::service::dataset::DocumentRecord> {
    export::export(&db.conn, &ExportFilter::default())
        .await
        .unwrap()
        .documents
}
async fn full_rules(db: &TestDb) -> Vec<api::service::dataset::RuleRecord> {
    export::export(&db.conn, &ExportFilter::default())
        .await
        .unwrap()
        .rules
}
