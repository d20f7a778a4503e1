//! Input that is not what it seems is refused with a clear error, and nothing is written:
//! dataset files with a key twice in one object or with control characters in their text; and
//! writes that the database's constraints refuse (a race between a check and the write) get the
//! same client error as the check. Every test runs on SQLite and PostgreSQL.

use std::process::ExitCode;

use api::auth::Role;
use api::error::AppError;
use api::service::export::{self, ExportFilter};
use api::service::seed::{self, Mode, SEED_JSON};
use api::service::write::{self, Actor};
use api::service::{catalog, keys};
use clap::Parser;
use entity::city;
use serde_json::{Value, json};

use crate::common::{TestApp, TestDb};

/// Imports `text` the way `iuc-graph import` does (the same service call, the same actor).
async fn import(db: &TestDb, text: &str) -> Result<String, String> {
    seed::import_text(
        &db.conn,
        "edited.json",
        text,
        Mode::Apply,
        Actor::command_line("cli import edited.json"),
    )
    .await
    .map(|changes| changes.to_string())
    .map_err(|e| e.to_string())
}

/// The whole dataset as the database holds it, and the number of audit events: what must not
/// move when an import is refused.
async fn state_of(db: &TestDb) -> (api::service::dataset::Dataset, i64) {
    let data = export::export(&db.conn, &ExportFilter::default())
        .await
        .expect("the database exports");
    (data, db.count("audit_event").await)
}

fn seed_value() -> Value {
    serde_json::from_str(SEED_JSON).expect("the seed is JSON")
}

/// A record of a list in the seed, by slug.
fn record<'v>(data: &'v mut Value, list: &str, slug: &str) -> &'v mut Value {
    data[list]
        .as_array_mut()
        .and_then(|l| l.iter_mut().find(|r| r["slug"] == json!(slug)))
        .unwrap_or_else(|| panic!("{list} {slug:?} is in the seed"))
}

#[tokio::test]
async fn an_import_with_a_key_twice_is_refused_and_writes_nothing() {
    // The file that started it: the seed with a second `cities` list after the first, every
    // city renamed. serde_json alone keeps the last one, renames them all and exits 0.
    let mut renamed = seed_value()["cities"].clone();
    for city in renamed.as_array_mut().expect("cities") {
        city["name"] = json!(format!("{} (renamed)", city["name"].as_str().unwrap_or("")));
    }
    let head = SEED_JSON.trim_end().trim_end_matches('}');
    let twice = format!("{head}, \"cities\": {renamed}\n}}");
    // And a duplicate deep inside a record.
    let nested = SEED_JSON.replacen(
        "\"slug\": \"aarhus-udaipur\",",
        "\"slug\": \"aarhus-udaipur\", \"slug\": \"aarhus-udaipur-2\",",
        1,
    );
    assert_ne!(
        nested, SEED_JSON,
        "the seed spells the pairing's slug this way"
    );
    let pairing_index = seed_value()["pairings"]
        .as_array()
        .and_then(|l| l.iter().position(|p| p["slug"] == json!("aarhus-udaipur")))
        .expect("in the seed");
    for db in TestDb::all_seeded().await {
        let before = state_of(&db).await;
        let error = import(&db, &twice).await.expect_err("refused");
        assert!(
            error.starts_with("edited.json: duplicate key \"cities\" at $.cities (line "),
            "[{:?}] {error}",
            db.backend
        );
        let error = import(&db, &nested).await.expect_err("refused");
        let path = format!("$.pairings[{pairing_index}].slug");
        assert!(
            error.contains(&format!("duplicate key \"slug\" at {path} (line ")),
            "[{:?}] {error}",
            db.backend
        );
        assert_eq!(state_of(&db).await, before, "[{:?}]", db.backend);
        assert_eq!(before.1, 0, "the seed is not audited");
    }
}

#[tokio::test]
async fn the_import_command_exits_non_zero_on_a_refused_file() {
    let mut data = seed_value();
    record(&mut data, "cities", "aarhus")["name"] = json!("Aar\u{0}hus");
    let path = std::env::temp_dir().join(format!("iuc-strict-{}.json", std::process::id()));
    std::fs::write(&path, data.to_string()).expect("the temp dir is writable");
    for db in TestDb::all_seeded().await {
        let before = state_of(&db).await;
        let config = api::Config::parse_from([
            "iuc-graph",
            "--database-url",
            db.url.as_str(),
            "import",
            "--file",
            &path.display().to_string(),
        ]);
        assert_eq!(api::cli::run(config).await, ExitCode::FAILURE);
        assert_eq!(state_of(&db).await, before, "[{:?}]", db.backend);
    }
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn control_characters_in_a_file_are_refused_by_record_and_field() {
    let mut data = seed_value();
    record(&mut data, "cities", "aarhus")["name"] = json!("Aar\u{0}hus");
    record(&mut data, "cities", "rome")["notes"] = json!("ok\nbut \u{1b}[31mred");
    let pairing = record(&mut data, "pairings", "aarhus-udaipur");
    pairing["title"] = json!("Aarhus\n– Udaipur");
    pairing["sources"][0]["section"] = json!("tab\there");
    // Line breaks and tabs in free text are fine.
    pairing["description"] = json!("First line\n\tsecond line\r\n");
    let text = data.to_string();
    assert!(text.contains("\\u0000"), "the file spells NUL as an escape");
    let expected = [
        "edited.json: cities \"aarhus\", field `name`: contains the control character U+0000 \
         at character 4: only plain text is accepted",
        "edited.json: cities \"rome\", field `notes`: contains the control character U+001B at \
         character 8: only plain text is accepted",
        "edited.json: pairings \"aarhus-udaipur\", field `sources[0].section`: contains a tab or \
         line break (U+0009) at character 4: this field is a single line of plain text",
        "edited.json: pairings \"aarhus-udaipur\", field `title`: contains a tab or line break \
         (U+000A) at character 7: this field is a single line of plain text",
    ];
    for db in TestDb::all_seeded().await {
        let before = state_of(&db).await;
        let error = import(&db, &text).await.expect_err("refused");
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines, expected, "[{:?}]", db.backend);
        assert_eq!(state_of(&db).await, before, "[{:?}]", db.backend);
    }
}

#[tokio::test]
async fn free_text_keeps_its_line_breaks_through_an_import() {
    let mut data = seed_value();
    let description = "First line\n\tsecond line\r\nthird";
    record(&mut data, "pairings", "aarhus-udaipur")["description"] = json!(description);
    for app in TestApp::all_seeded().await {
        import(&app.db, &data.to_string())
            .await
            .unwrap_or_else(|e| panic!("[{:?}] {e}", app.db.backend));
        let read = app
            .data(
                "{ pairing(slug: \"aarhus-udaipur\") { description } }",
                json!({}),
            )
            .await;
        assert_eq!(read["pairing"]["description"], json!(description));
    }
}

/// How many requests race for one slug.
const RACERS: usize = 20;

async fn admin_key(app: &TestApp) -> String {
    keys::create(&app.db.conn, "ops", Role::Admin, None, None)
        .await
        .unwrap_or_else(|e| panic!("admin key: {}", e.message()))
        .secret
}

/// Sends `query` `RACERS` times at once, then once more after all have finished; checks that
/// exactly one of the racers succeeded and that every other one, and the latecomer, got the same
/// `BAD_USER_INPUT` on `input.slug`.
async fn race_for_one_slug(app: &TestApp, key: &str, query: &str, variables: Value) {
    let racers = (0..RACERS).map(|_| app.graphql_as(Some(key), query, variables.clone()));
    let responses = futures_util::future::join_all(racers).await;
    let late = app.graphql_as(Some(key), query, variables.clone()).await;
    let expected = &late["errors"][0];
    assert_eq!(
        (
            &expected["extensions"]["code"],
            &expected["extensions"]["field"]
        ),
        (&json!("BAD_USER_INPUT"), &json!("input.slug")),
        "[{:?}] {late}",
        app.db.backend
    );
    let (won, lost): (Vec<&Value>, Vec<&Value>) =
        responses.iter().partition(|r| r.get("errors").is_none());
    assert_eq!(won.len(), 1, "[{:?}] {responses:?}", app.db.backend);
    for response in lost {
        let error = &response["errors"][0];
        assert_eq!(
            (&error["message"], &error["extensions"]),
            (&expected["message"], &expected["extensions"]),
            "[{:?}] {response}",
            app.db.backend
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_with_one_slug_get_one_success_and_the_checks_error() {
    for app in TestApp::all_seeded().await {
        let key = admin_key(&app).await;
        race_for_one_slug(
            &app,
            &key,
            "mutation { createCity(input: { slug: \"nova-gorica\", name: \"Nova Gorica\", kind: CITY, country: \"SI\" }) { city { id } } }",
            json!({}),
        )
        .await;
        let ids = app
            .data(
                "{ a: city(slug: \"aarhus\") { id } b: city(slug: \"udaipur\") { id } }",
                json!({}),
            )
            .await;
        race_for_one_slug(
            &app,
            &key,
            "mutation($i: CreatePairingInput!) { createPairing(input: $i) { pairing { id } } }",
            json!({ "i": {
                "slug": "aarhus-udaipur-2", "kind": "CITY_TO_CITY", "title": "Aarhus – Udaipur again",
                "summary": "A race.", "programmeRegion": "asia", "status": "ACTIVE",
                "participants": [
                    { "place": { "city": ids["a"]["id"] }, "side": "EUROPEAN" },
                    { "place": { "city": ids["b"]["id"] }, "side": "PARTNER" }]
            } }),
        )
        .await;
        // One audit event per created record: the losers wrote nothing.
        assert_eq!(
            app.db.count("audit_event").await,
            2,
            "[{:?}]",
            app.db.backend
        );
    }
}

/// The boundary itself, without relying on a race: the write path's statement meets the
/// database's constraint directly (as the loser of a race does) and must say what the check
/// says.
#[tokio::test]
async fn a_write_the_database_refuses_gets_the_same_error_as_the_check() {
    for db in TestDb::all_seeded().await {
        let aarhus = catalog::city_by_slug(&db.conn, "aarhus")
            .await
            .expect("lookup")
            .expect("Aarhus is in the seed");
        let txn = api::db::begin_write(&db.conn).await.expect("begin");
        let checked =
            write::require_unique_slug::<city::Entity>(&txn, "input.slug", "aarhus", None)
                .await
                .expect_err("the slug is taken");
        let copy = city::Model {
            id: 0,
            ..aarhus.clone()
        };
        let refused = write::insert_row(&txn, copy)
            .await
            .expect_err("a duplicate slug");
        match (&checked, &refused) {
            (
                AppError::Invalid {
                    field: f1,
                    message: m1,
                },
                AppError::Invalid {
                    field: f2,
                    message: m2,
                },
            ) => assert_eq!((f1, m1), (f2, m2), "[{:?}]", db.backend),
            _ => panic!("[{:?}] {checked:?} / {refused:?}", db.backend),
        }
        drop(txn);
        // A delete of a city that a pairing refers to, past the count of its dependents.
        let txn = api::db::begin_write(&db.conn).await.expect("begin");
        let actor = Actor::command_line("test");
        let refused = write::delete::<city::Entity, _>(&txn, &actor, &aarhus, None, None)
            .await
            .expect_err("Aarhus takes part in a pairing");
        assert_eq!(refused.code(), "CONFLICT", "[{:?}] {refused:?}", db.backend);
        assert!(
            refused
                .message()
                .starts_with("City aarhus cannot be deleted while other records refer to it"),
            "[{:?}] {refused:?}",
            db.backend
        );
    }
}

/// SQLite only (PostgreSQL's writers wait on row locks instead): a writer that cannot take the
/// write lock within the busy timeout (5 s) gets `SERVICE_UNAVAILABLE`, not an internal error.
#[tokio::test]
async fn a_locked_sqlite_database_is_unavailable_not_an_internal_error() {
    let db = TestDb::all()
        .await
        .into_iter()
        .find(|db| db.backend == crate::common::Backend::Sqlite)
        .expect("SQLite always runs");
    let holder = api::db::begin_write(&db.conn)
        .await
        .expect("the first writer");
    let error = api::db::begin_write(&db.conn)
        .await
        .expect_err("the lock is held past the busy timeout");
    let error = AppError::from(error);
    assert_eq!(error.code(), "SERVICE_UNAVAILABLE", "{error:?}");
    drop(holder);
}

#[tokio::test]
async fn out_of_range_integers_are_client_errors_with_a_code() {
    for app in crate::common::TestApp::all_seeded().await {
        for (query, variables) in [
            (
                "{ pairings(first: 2147483648) { totalCount } }",
                serde_json::json!({}),
            ),
            (
                "query($n: Int) { pairings(first: $n) { totalCount } }",
                serde_json::json!({ "n": 2147483648u64 }),
            ),
            (
                "{ pairings(first: 99999999999999999999999) { totalCount } }",
                serde_json::json!({}),
            ),
        ] {
            let response = app.graphql(query, variables).await;
            let code = response["errors"][0]["extensions"]["code"].as_str();
            assert!(
                matches!(code, Some("BAD_USER_INPUT" | "GRAPHQL_VALIDATION_FAILED")),
                "[{:?}] {query}: {response}",
                app.db.backend
            );
        }
    }
}
