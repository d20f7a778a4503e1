//! `updatedAt` on every versioned record: the server sets it with every version bump (creates,
//! updates, children-only updates), an unchanged import keeps it, the generator sets it, and
//! the migration gives the rows it finds the time it ran. Every test runs on both backends.

use std::collections::BTreeMap;

use api::auth::Role;
use api::service::keys;
use chrono::{DateTime, SubsecRound, Utc};
use entity::*;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, TestDb};

/// Now, to the microsecond the server keeps: a time taken before a write is at most the
/// write's.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a DateTime, got {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

async fn admin(app: &TestApp) -> String {
    keys::create(&app.db.conn, "ops", Role::Admin, None, None)
        .await
        .unwrap_or_else(|e| panic!("admin key: {}", e.message()))
        .secret
}

async fn data_as(app: &TestApp, key: &str, query: &str, variables: Value) -> Value {
    let response = app.graphql_as(Some(key), query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "[{:?}] unexpected errors: {}",
        app.db.backend,
        response["errors"]
    );
    response["data"].clone()
}

/// Two writes in a row get distinct times even on a coarse clock.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
}

const PAIRING: &str = "query($s: String!) {
  pairing(slug: $s) { id version updatedAt themes { id } ucap { id version updatedAt } } }";

#[tokio::test]
async fn creates_set_it_and_updates_and_children_only_updates_move_it_on() {
    for app in TestApp::all_seeded().await {
        let key = admin(&app).await;
        let known = app
            .data(
                "{ themes(first: 2) { nodes { id } } aarhus: city(slug: \"aarhus\") { id }
                   udaipur: city(slug: \"udaipur\") { id } }",
                json!({}),
            )
            .await;
        let theme = |i: usize| known["themes"]["nodes"][i]["id"].clone();
        let before = now();
        let created = data_as(
            &app,
            &key,
            "mutation($t: ID!, $a: ID!, $u: ID!) { createPairing(input: { slug: \"t-pairing\",
               kind: CITY_TO_CITY, title: \"T\", summary: \"S\", programmeRegion: \"asia\",
               status: ACTIVE, themes: [$t], participants: [
                 { place: { city: $a }, side: EUROPEAN }, { place: { city: $u }, side: PARTNER }] }) {
               pairing { version updatedAt } } }",
            json!({ "t": theme(0), "a": known["aarhus"]["id"], "u": known["udaipur"]["id"] }),
        )
        .await["createPairing"]["pairing"]
            .clone();
        let created_at = time(&created["updatedAt"]);
        assert!(
            before <= created_at && created_at <= now(),
            "[{:?}] {created}",
            app.db.backend
        );
        // What the mutation answers is what a read gives (the same microseconds).
        let read = app.data(PAIRING, json!({ "s": "t-pairing" })).await["pairing"].clone();
        assert_eq!(
            read["updatedAt"], created["updatedAt"],
            "[{:?}]",
            app.db.backend
        );

        tick().await;
        let updated = data_as(
            &app,
            &key,
            "mutation($id: ID!, $v: Int!) { updatePairing(input: { id: $id, version: $v,
               title: \"T2\" }) { pairing { version updatedAt } } }",
            json!({ "id": read["id"], "v": read["version"] }),
        )
        .await["updatePairing"]["pairing"]
            .clone();
        assert_eq!(updated["version"], json!(2));
        let updated_at = time(&updated["updatedAt"]);
        assert!(updated_at > created_at, "[{:?}] {updated}", app.db.backend);

        // Only its theme links change: the pairing's version and time still move on.
        tick().await;
        let relinked = data_as(
            &app,
            &key,
            "mutation($id: ID!, $v: Int!, $t: ID!) { updatePairing(input: { id: $id,
               version: $v, themes: [$t] }) { pairing { version updatedAt themes { id } } } }",
            json!({ "id": read["id"], "v": 2, "t": theme(1) }),
        )
        .await["updatePairing"]["pairing"]
            .clone();
        assert_eq!(relinked["themes"], json!([{ "id": theme(1) }]));
        assert_eq!(relinked["version"], json!(3));
        let relinked_at = time(&relinked["updatedAt"]);
        assert!(
            relinked_at > updated_at,
            "[{:?}] {relinked}",
            app.db.backend
        );
        let read = app.data(PAIRING, json!({ "s": "t-pairing" })).await["pairing"].clone();
        assert_eq!(read["updatedAt"], relinked["updatedAt"]);

        // A UCAP whose sections alone change moves on too.
        let ucap = data_as(
            &app,
            &key,
            "mutation($p: ID!) { createUcap(input: { pairing: $p, status: IN_PREPARATION,
               sections: [{ sectionType: \"overview\", body: \"Plans.\" }] }) {
               ucap { id version updatedAt } } }",
            json!({ "p": read["id"] }),
        )
        .await["createUcap"]["ucap"]
            .clone();
        tick().await;
        let resectioned = data_as(
            &app,
            &key,
            "mutation($u: ID!, $v: Int!) { updateUcap(input: { id: $u, version: $v,
               sections: [{ sectionType: \"actions\", body: \"Act.\" }] }) {
               ucap { version updatedAt } } }",
            json!({ "u": ucap["id"], "v": ucap["version"] }),
        )
        .await["updateUcap"]["ucap"]
            .clone();
        assert_eq!(resectioned["version"], json!(2));
        assert!(time(&resectioned["updatedAt"]) > time(&ucap["updatedAt"]));

        // A refused update (stale version) changes nothing, its time included.
        let stale = app
            .graphql_as(
                Some(&key),
                "mutation($id: ID!) { updatePairing(input: { id: $id, version: 1, title: \"X\" })
                   { pairing { version } } }",
                json!({ "id": read["id"] }),
            )
            .await;
        assert_eq!(stale["errors"][0]["extensions"]["code"], json!("CONFLICT"));
        let read = app.data(PAIRING, json!({ "s": "t-pairing" })).await["pairing"].clone();
        assert_eq!(read["updatedAt"], relinked["updatedAt"]);
    }
}

/// Every versioned record's (version, updated_at), by table and id.
async fn stamps(db: &impl ConnectionTrait) -> BTreeMap<(&'static str, i32), (i32, DateTime<Utc>)> {
    let mut all = BTreeMap::new();
    macro_rules! read {
        ($($module:ident),*) => {$(
            for m in $module::Entity::find().all(db).await.expect("read") {
                all.insert((stringify!($module), m.id), (m.version, m.updated_at));
            }
        )*};
    }
    read!(
        city,
        region,
        pairing,
        ucap,
        project,
        stakeholder,
        involvement,
        activity
    );
    all
}

#[tokio::test]
async fn an_unchanged_import_keeps_versions_and_times_and_a_change_moves_them() {
    for db in TestDb::all_seeded().await {
        let seeded = stamps(&db.conn).await;
        assert!(seeded.len() > 50, "the seed has versioned records");
        tick().await;
        let changes = api::service::seed::import_text(
            &db.conn,
            "seed.json",
            api::service::seed::SEED_JSON,
            api::service::seed::Mode::Apply,
            api::service::write::Actor::command_line("cli import seed.json"),
        )
        .await
        .expect("the import applies");
        assert!(changes.updated.is_empty(), "[{:?}] {changes:?}", db.backend);
        assert_eq!(stamps(&db.conn).await, seeded, "[{:?}]", db.backend);

        // One changed pairing: only its version and time move.
        let mut data: Value = serde_json::from_str(api::service::seed::SEED_JSON).unwrap();
        let record = data["pairings"]
            .as_array_mut()
            .and_then(|p| p.iter_mut().find(|p| p["slug"] == json!("aarhus-udaipur")))
            .expect("in the seed");
        record["title"] = json!("Aarhus – Udaipur (imported)");
        let before = now();
        api::service::seed::load_text(
            &db.conn,
            "edited.json",
            &data.to_string(),
            api::service::seed::Mode::Apply,
        )
        .await
        .expect("the import applies");
        let after = stamps(&db.conn).await;
        let id = api::service::catalog::pairing_by_slug(&db.conn, "aarhus-udaipur")
            .await
            .expect("lookup")
            .expect("the pairing")
            .id;
        let moved: Vec<_> = after
            .iter()
            .filter(|(k, v)| seeded.get(*k) != Some(*v))
            .collect();
        assert_eq!(moved.len(), 1, "[{:?}] {moved:?}", db.backend);
        let (&(table, record_id), &(version, at)) = moved[0];
        assert_eq!((table, record_id), ("pairing", id));
        assert_eq!(version, seeded[&("pairing", id)].0 + 1);
        assert!(at >= before, "[{:?}] {at} < {before}", db.backend);
    }
}

#[tokio::test]
async fn generated_records_have_the_time_of_the_generation() {
    for db in TestDb::all().await {
        let before = now();
        api::service::generate::generate(
            &db.conn,
            api::service::generate::Options {
                pairings: 20,
                seed: 5,
            },
        )
        .await
        .expect("generate");
        let after = now();
        let stamps = stamps(&db.conn).await;
        let tables: std::collections::BTreeSet<&str> = stamps.keys().map(|(t, _)| *t).collect();
        // Regions are not generated.
        assert_eq!(tables.len(), 7, "[{:?}] {tables:?}", db.backend);
        for ((table, id), (version, at)) in stamps {
            assert_eq!(version, 1, "[{:?}] {table} {id}", db.backend);
            assert!(
                before <= at && at <= after,
                "[{:?}] {table} {id}: {at}",
                db.backend
            );
        }
    }
}

/// `updated_at` as stored, as text (SQLite) or as PostgreSQL prints it.
async fn stored(db: &TestDb, sql: &str) -> Vec<String> {
    let rows = db
        .conn
        .query_all_raw(Statement::from_string(db.conn.get_database_backend(), sql))
        .await
        .expect("the query runs");
    rows.iter()
        .map(|r| r.try_get::<String>("", "t").expect("text"))
        .collect()
}

#[tokio::test]
async fn the_migration_gives_existing_rows_its_time_in_the_servers_format() {
    for db in TestDb::all_seeded().await {
        // Undo the migration (and the three that came after it: the change feed, provenance,
        // the places' country index) on a database with data, and apply them again.
        Migrator::down(&db.conn, Some(4)).await.expect("down");
        let before = now();
        Migrator::up(&db.conn, None).await.expect("up");
        let after = now();
        let all = stamps(&db.conn).await;
        let times: std::collections::BTreeSet<_> = all.values().map(|(_, at)| *at).collect();
        assert_eq!(times.len(), 1, "[{:?}] one time for every row", db.backend);
        let at = *times.first().unwrap();
        assert!(before <= at && at <= after, "[{:?}] {at}", db.backend);

        if db.backend == Backend::Sqlite {
            // The migration's text is what sqlx writes for a `DateTimeUtc`, so that a row the
            // server writes looks the same as one the migration filled.
            let app = TestApp::new(db);
            let key = admin(&app).await;
            data_as(
                &app,
                &key,
                "mutation { createCity(input: { slug: \"nova-gorica\", name: \"Nova Gorica\",
                   kind: CITY, country: \"SI\" }) { city { id } } }",
                json!({}),
            )
            .await;
            let migrated = stored(
                &app.db,
                "SELECT updated_at AS t FROM city WHERE slug = 'rome'",
            )
            .await;
            let written = stored(
                &app.db,
                "SELECT updated_at AS t FROM city WHERE slug = 'nova-gorica'",
            )
            .await;
            for text in [&migrated[0], &written[0]] {
                let parsed = DateTime::parse_from_rfc3339(text).expect("RFC 3339");
                assert_eq!(
                    *text,
                    parsed.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false),
                    "{text}"
                );
            }
        }
    }
}
