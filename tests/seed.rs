//! The seed dataset: it loads, a second load changes nothing, a broken file is rejected with a
//! message naming the file, the record and the field, and nothing is written. And the data say
//! what the source documents say.

use api::service::dataset;
use api::service::seed::{self, LoadError, Mode, SEED_FILE_NAME, SEED_JSON};
use serde_json::{Value, json};

use crate::common::{TestApp, TestDb};

const COUNTED: [&str; 8] = [
    "country",
    "city",
    "region",
    "pairing",
    "pairing_participant",
    "stakeholder",
    "activity",
    "project",
];

async fn counts(db: &TestDb) -> Vec<i64> {
    let mut out = Vec::new();
    for table in COUNTED {
        out.push(db.count(table).await);
    }
    out
}

#[tokio::test]
async fn seed_loads_and_a_second_load_changes_nothing() {
    let parsed = dataset::parse(SEED_FILE_NAME, SEED_JSON).expect("the seed file parses");
    for db in TestDb::all().await {
        assert!(seed::is_empty(&db.conn).await.unwrap());
        let first = seed::load_seed(&db.conn).await.expect("the seed loads");
        assert!(first.total() > 0);
        assert_eq!(db.count("pairing").await as usize, parsed.pairings.len());
        assert_eq!(db.count("city").await as usize, parsed.cities.len());
        assert_eq!(db.count("sdg").await, 17);
        let before = counts(&db).await;

        let second = seed::load_seed(&db.conn)
            .await
            .expect("the seed loads again");
        assert!(
            second.is_empty(),
            "[{:?}] a second load changed {second}",
            db.backend
        );
        assert_eq!(counts(&db).await, before);
        assert!(!seed::is_empty(&db.conn).await.unwrap());
    }
}

/// The seed file with one change applied to its JSON.
fn edited(edit: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(SEED_JSON).expect("seed is JSON");
    edit(&mut value);
    value.to_string()
}

fn pairing_index(value: &Value, slug: &str) -> usize {
    value["pairings"]
        .as_array()
        .unwrap()
        .iter()
        .position(|p| p["slug"] == slug)
        .expect("pairing in seed")
}

#[tokio::test]
async fn a_broken_file_is_rejected_with_file_record_and_field_and_nothing_is_written() {
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "{ not json".to_owned(),
            vec!["broken.json", "not valid JSON"],
        ),
        (
            edited(|v| {
                let i = pairing_index(v, "rome-yantai");
                v["pairings"][i]["participants"][1]["city"] = json!("atlantis");
            }),
            vec![
                "broken.json",
                "pairings \"rome-yantai\"",
                "participants[1].city",
                "unknown city \"atlantis\"",
            ],
        ),
        (
            edited(|v| {
                let i = pairing_index(v, "rome-yantai");
                v["pairings"][i]["participants"][0]["side"] = json!("western");
            }),
            vec![
                "broken.json",
                "pairings \"rome-yantai\"",
                "participants[0].side",
                "unknown variant",
            ],
        ),
        (
            edited(|v| {
                let i = pairing_index(v, "rome-yantai");
                v["pairings"][i]["participants"][0]["side"] = json!("partner");
            }),
            vec![
                "pairings \"rome-yantai\"",
                "participants",
                "at least one participant on each side",
            ],
        ),
        (
            edited(|v| {
                let i = pairing_index(v, "barnsley-liuzhou");
                v["pairings"][i]["sdgs"] = json!([11, 18]);
            }),
            vec!["pairings \"barnsley-liuzhou\"", "sdgs[1]", "unknown SDG 18"],
        ),
        (
            edited(|v| {
                v["cities"][0]["population"] = json!(-5);
            }),
            vec!["cities \"", "population", "must be 0 or more"],
        ),
        (
            edited(|v| {
                let i = pairing_index(v, "rome-yantai");
                v["pairings"][i]["start"] = json!("July 2018");
            }),
            vec!["pairings \"rome-yantai\"", "`start`", "not a partial date"],
        ),
        (
            edited(|v| {
                v["cities"][1]["slug"] = v["cities"][0]["slug"].clone();
            }),
            vec!["cities \"", "slug", "appears more than once"],
        ),
        (
            edited(|v| {
                v["cities"][0]["mayor"] = json!("someone");
            }),
            vec!["cities \"", "unknown field `mayor`"],
        ),
    ];
    for db in TestDb::all().await {
        // Into an empty database, and over a seeded one: either way nothing changes.
        for seeded in [false, true] {
            if seeded {
                seed::load_seed(&db.conn).await.expect("seed loads");
            }
            let before = counts(&db).await;
            for (text, expected) in &cases {
                let error = seed::load_text(&db.conn, "broken.json", text, Mode::Apply)
                    .await
                    .expect_err("a broken file is rejected");
                assert!(
                    matches!(error, LoadError::Invalid(_)),
                    "[{:?}] {error}",
                    db.backend
                );
                let message = error.to_string();
                for part in expected {
                    assert!(
                        message.contains(part),
                        "[{:?}] {message:?} should mention {part:?}",
                        db.backend
                    );
                }
                assert_eq!(
                    counts(&db).await,
                    before,
                    "[{:?}] a rejected file wrote something",
                    db.backend
                );
            }
        }
    }
}

#[tokio::test]
async fn a_dry_run_reports_changes_and_writes_nothing() {
    for db in TestDb::all().await {
        let changes = seed::load_text(&db.conn, SEED_FILE_NAME, SEED_JSON, Mode::DryRun)
            .await
            .expect("dry run");
        assert!(changes.total() > 0);
        assert_eq!(
            db.count("pairing").await,
            0,
            "[{:?}] a dry run wrote",
            db.backend
        );

        seed::load_seed(&db.conn).await.unwrap();
        let renamed = edited(|v| {
            let i = pairing_index(v, "rome-yantai");
            v["pairings"][i]["summary"] = json!("A new summary.");
            v["pairings"][i]["themes"] = json!(["topic-circular-economy"]);
        });
        let changes = seed::load_text(&db.conn, "edit.json", &renamed, Mode::Apply)
            .await
            .expect("an edit loads");
        assert_eq!(changes.updated.get("pairing"), Some(&1), "{changes}");
        assert_eq!(changes.deleted.get("pairing_theme"), Some(&5), "{changes}");
        assert_eq!(changes.total(), 6, "{changes}");
    }
}

#[tokio::test]
async fn the_pairing_pages_are_in_the_dataset_as_the_sources_give_them() {
    for app in TestApp::all_seeded().await {
        let query = r#"
            query($slug: String!) {
              pairing(slug: $slug) {
                kind status programmeRegion { slug }
                participants { side place { ... on City { name population areaKm2 leader country { code } } } }
                themes { scheme name }
                ucap { projects { nodes { kind title city { name } } } }
              }
            }"#;
        let barnsley = app.data(query, json!({ "slug": "barnsley-liuzhou" })).await;
        let p = &barnsley["pairing"];
        assert_eq!(p["kind"], "CITY_TO_CITY");
        assert_eq!(p["programmeRegion"]["slug"], "asia");
        let places: Vec<&Value> = p["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| &x["place"])
            .collect();
        let barnsley_city = places
            .iter()
            .find(|c| c["name"] == "Barnsley")
            .expect("Barnsley takes part");
        assert_eq!(barnsley_city["population"], 241200);
        assert_eq!(barnsley_city["areaKm2"], 329.0);
        assert_eq!(barnsley_city["leader"], "Larry Markham");
        assert_eq!(barnsley_city["country"]["code"], "GB");
        let liuzhou = places
            .iter()
            .find(|c| c["name"] == "Liuzhou")
            .expect("Liuzhou takes part");
        assert_eq!(liuzhou["population"], 4000000);
        assert_eq!(liuzhou["leader"], "Wu Wei");
        assert_eq!(liuzhou["country"]["code"], "CN");
        let topics: Vec<&str> = p["themes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["scheme"] == "TOPIC")
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        for label in [
            "Digital transition",
            "Education, jobs and skills in the local economy",
            "Nature and cultural heritage conservation",
        ] {
            assert!(topics.contains(&label), "missing topic {label}: {topics:?}");
        }
        let projects = p["ucap"]["projects"]["nodes"].as_array().unwrap();
        assert!(projects.iter().any(|x| {
            x["title"]
                .as_str()
                .unwrap()
                .contains("large data service platform")
        }));

        let rome = app.data(query, json!({ "slug": "rome-yantai" })).await;
        let places: Vec<Value> = rome["pairing"]["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["place"].clone())
            .collect();
        let rome_city = places.iter().find(|c| c["name"] == "Rome").unwrap();
        assert_eq!(
            (rome_city["population"].clone(), rome_city["leader"].clone()),
            (json!(2800000), json!("Virginia Raggi"))
        );
        let yantai = places.iter().find(|c| c["name"] == "Yantai").unwrap();
        assert_eq!(
            (yantai["areaKm2"].clone(), yantai["leader"].clone()),
            (json!(13756.0), json!("Chen Fei"))
        );

        // The MoU signed in Yantai in November 2018, with the corrected name of its signatory.
        let timeline = app
            .data(
                r#"{ pairing(slug: "rome-yantai") { activities { nodes { date { text precision } kind stakeholders { stakeholder { name } } } } } }"#,
                json!({}),
            )
            .await;
        let mou = timeline["pairing"]["activities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "AGREEMENT")
            .expect("the MoU is on the timeline")
            .clone();
        assert_eq!(
            mou["date"],
            json!({ "text": "2018-11", "precision": "MONTH" })
        );
        let names: Vec<&str> = mou["stakeholders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stakeholder"]["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"Tencent Cloud (Yantai) Innovation Base"),
            "{names:?}"
        );
    }
}

#[tokio::test]
async fn clusters_and_the_european_side_are_recorded_per_participant() {
    for app in TestApp::all_seeded().await {
        let data = app
            .data(
                r#"{ pairing(slug: "belfast-cali-medellin") {
                       participants { side role place { ... on City { name country { code } } } } } }"#,
                json!({}),
            )
            .await;
        let participants = data["pairing"]["participants"].as_array().unwrap();
        assert_eq!(participants.len(), 3);
        let find = |name: &str| {
            participants
                .iter()
                .find(|p| p["place"]["name"] == name)
                .unwrap()
                .clone()
        };
        // The UK takes part on the European side, whatever its EU membership today.
        assert_eq!(find("Belfast")["side"], "EUROPEAN");
        assert_eq!(find("Belfast")["place"]["country"]["code"], "GB");
        assert_eq!(find("Cali")["side"], "PARTNER");
        assert_eq!(find("Medellín")["role"], "ASSOCIATED");
    }
}
