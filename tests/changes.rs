//! The public change feed: every committed write, once, in commit order, on both backends;
//! concurrent writers leave no gap; subscriptions replay and then stream, across two API
//! instances over one database.

use std::collections::HashSet;
use std::time::Duration;

use api::AppState;
use api::auth::Role;
use api::service::keys;
use axum::body::Body;
use axum::http::{Request, header};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::{TestApp, TestDb};

const CREATE_CITY: &str =
    "mutation($i: CreateCityInput!) { createCity(input: $i) { city { id version } } }";
const UPDATE_CITY: &str = "mutation($id: ID!, $v: Int!, $p: Int!) { updateCity(input: { id: $id, version: $v, population: $p }) { city { version } } }";
const DELETE_CITY: &str =
    "mutation($id: ID!, $v: Int) { deleteCity(input: { id: $id, version: $v }) { deletedId } }";
const FEED: &str = "query($after: String, $first: Int, $ids: [ID!], $entities: [ChangeEntity!]) {
  changes(after: $after, first: $first, ids: $ids, entities: $entities) {
    nodes { cursor record entity action version fields at }
    pageInfo { hasNextPage endCursor }
  }
}";

async fn admin_key(db: &TestDb) -> String {
    keys::create(&db.conn, "feed-test", Role::Admin, None, None)
        .await
        .unwrap_or_else(|e| panic!("admin key: {}", e.message()))
        .secret
}

fn city(slug: &str) -> Value {
    json!({ "i": { "slug": slug, "name": slug, "kind": "CITY", "country": "DK" } })
}

/// Runs a mutation through `app`'s router and returns its data (panics on errors).
async fn write(router: &axum::Router, key: &str, query: &str, variables: Value) -> Value {
    let body = json!({ "query": query, "variables": variables }).to_string();
    let request = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .body(Body::from(body))
        .expect("request");
    let response = router
        .clone()
        .oneshot(request)
        .await
        .expect("router answers");
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let value: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert!(value.get("errors").is_none(), "errors: {value}");
    value["data"].clone()
}

/// Reads the whole feed after `after`, page by page, with pages of `first`.
async fn read_all(
    app: &TestApp,
    after: Option<String>,
    first: i64,
) -> (Vec<Value>, Option<String>) {
    let mut events = Vec::new();
    let mut cursor = after;
    loop {
        let data = app
            .data(FEED, json!({ "after": cursor, "first": first }))
            .await;
        let page = &data["changes"];
        events.extend(page["nodes"].as_array().expect("nodes").iter().cloned());
        cursor = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if !page["pageInfo"]["hasNextPage"]
            .as_bool()
            .expect("hasNextPage")
        {
            return (events, cursor);
        }
    }
}

#[tokio::test]
async fn every_committed_write_is_in_the_feed_once_and_a_refused_one_is_not() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let key = admin_key(&app.db).await;
        let router = api::http::app(app.state.clone());
        // The seed of a fresh install is the starting point, not a change.
        let (before, start) = read_all(&app, None, 100).await;
        assert!(before.is_empty(), "[{backend:?}] {before:?}");
        let created = write(&router, &key, CREATE_CITY, city("feedville")).await;
        let id = created["createCity"]["city"]["id"].clone();
        write(
            &router,
            &key,
            UPDATE_CITY,
            json!({ "id": id, "v": 1, "p": 1200 }),
        )
        .await;
        // Refused (stale version): rolled back, so not in the feed.
        let stale = app
            .graphql_as(Some(&key), UPDATE_CITY, json!({ "id": id, "v": 1, "p": 5 }))
            .await;
        assert_eq!(stale["errors"][0]["extensions"]["code"], "CONFLICT");
        write(&router, &key, DELETE_CITY, json!({ "id": id, "v": 2 })).await;

        let (events, end) = read_all(&app, start.clone(), 2).await;
        let summary: Vec<(String, String, i64)> = events
            .iter()
            .map(|e| {
                assert_eq!(e["record"], id, "[{backend:?}] {e}");
                assert_eq!(e["entity"], "CITY");
                (
                    e["action"].as_str().unwrap().to_owned(),
                    e["fields"].to_string(),
                    e["version"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(summary.len(), 3, "[{backend:?}] {events:?}");
        assert_eq!((summary[0].0.as_str(), summary[0].2), ("CREATE", 1));
        assert!(summary[0].1.contains("\"name\"") && summary[0].1.contains("\"country\""));
        // The write changed the population; the server recorded the writer as its source.
        assert_eq!(
            summary[1],
            ("UPDATE".into(), "[\"population\",\"sources\"]".into(), 2)
        );
        assert_eq!(summary[2], ("DELETE".into(), "[]".into(), 2));
        // Read again from the end: nothing new, and the cursor is kept.
        let (none, same) = read_all(&app, end.clone(), 10).await;
        assert!(none.is_empty());
        assert_eq!(same, end);
        // Filters.
        let by_id = app.data(FEED, json!({ "ids": [id] })).await;
        assert_eq!(by_id["changes"]["nodes"].as_array().unwrap().len(), 3);
        let pairings = app.data(FEED, json!({ "entities": ["PAIRING"] })).await;
        assert!(pairings["changes"]["nodes"].as_array().unwrap().is_empty());
        let bad = app.graphql(FEED, json!({ "after": "yesterday" })).await;
        assert_eq!(bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn changed_columns_are_named_as_the_schema_names_fields() {
    use sea_orm::{EntityTrait, Iterable};
    let sdl = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql");
    fn columns<E: EntityTrait>() -> Vec<String> {
        E::Column::iter()
            .map(|c| sea_orm::IdenStatic::as_str(&c).to_owned())
            .collect()
    }
    let tables: [(&str, Vec<String>, &[&str]); 8] = [
        ("City", columns::<entity::city::Entity>(), &[]),
        ("Region", columns::<entity::region::Entity>(), &[]),
        (
            "Pairing",
            columns::<entity::pairing::Entity>(),
            &["participants", "theme_ids", "sdg_ids"],
        ),
        ("Ucap", columns::<entity::ucap::Entity>(), &["sections"]),
        ("Project", columns::<entity::project::Entity>(), &[]),
        ("Stakeholder", columns::<entity::stakeholder::Entity>(), &[]),
        ("Involvement", columns::<entity::involvement::Entity>(), &[]),
        (
            "Activity",
            columns::<entity::activity::Entity>(),
            &["pairing_ids", "stakeholder_ids"],
        ),
    ];
    for (type_name, columns, children) in tables {
        let start = sdl
            .find(&format!("\ntype {type_name} "))
            .unwrap_or_else(|| panic!("type {type_name} in the SDL"));
        let body = &sdl[start..start + sdl[start..].find("\n}").expect("end of type")];
        let hidden = ["id", "name_folded", "search_text", "version"];
        for column in columns
            .iter()
            .filter(|c| !hidden.contains(&c.as_str()))
            .chain(
                children
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .iter(),
            )
        {
            let Some(field) = api::service::changes::field_name(column) else {
                continue;
            };
            assert!(
                body.contains(&format!("\n\t{field}:")) || body.contains(&format!("\n\t{field}(")),
                "{type_name}.{column} is reported as `{field}`, which {type_name} does not have"
            );
        }
    }
}

/// Many writers commit concurrently while one reader follows the cursors: the reader sees
/// every change exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_leave_no_gap_and_no_repeat_for_a_reader() {
    const WRITERS: usize = 8;
    const EACH: usize = 15;
    for db in TestDb::all_seeded().await {
        let backend = db.backend;
        let key = admin_key(&db).await;
        let app = TestApp::new(db);
        let router = api::http::app(app.state.clone());
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let router = router.clone();
            let done = done.clone();
            tokio::spawn(async move { follow(&router, &done).await })
        };
        let writers = (0..WRITERS).map(|w| {
            let router = router.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..EACH {
                    let data = write(&router, &key, CREATE_CITY, city(&format!("c-{w}-{i}"))).await;
                    ids.push(
                        data["createCity"]["city"]["id"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                    );
                }
                ids
            })
        });
        let mut written = HashSet::new();
        for writer in futures_util::future::join_all(writers).await {
            written.extend(writer.expect("writer"));
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let seen = reader.await.expect("reader");
        let ids: Vec<&str> = seen.iter().map(|(_, id)| id.as_str()).collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(ids.len(), unique.len(), "[{backend:?}] an event came twice");
        assert_eq!(
            unique,
            written.iter().map(String::as_str).collect::<HashSet<_>>(),
            "[{backend:?}] the reader missed changes"
        );
        assert!(
            seen.windows(2).all(|w| w[0].0 < w[1].0),
            "[{backend:?}] out of order"
        );
        assert_eq!(seen.len(), WRITERS * EACH);
    }
}

/// Follows the feed with small pages until `done` is set and a last read finds nothing new;
/// returns (position, record) of every event seen.
async fn follow(router: &axum::Router, done: &std::sync::atomic::AtomicBool) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
        let body = json!({ "query": FEED, "variables": { "after": cursor, "first": 3 } });
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("answer");
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).expect("JSON");
        let page = &value["data"]["changes"];
        let nodes = page["nodes"].as_array().expect("nodes");
        for node in nodes {
            let position: i64 = node["cursor"].as_str().unwrap().parse().unwrap();
            seen.push((position, node["record"].as_str().unwrap().to_owned()));
        }
        cursor = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        if finished && nodes.is_empty() {
            return seen;
        }
        if nodes.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// A second API instance over the same database (its own pool, its own live feed).
async fn second_instance(db: &TestDb) -> AppState {
    let (conn, statements) = api::db::connect(&db.url, 5).await.expect("second pool");
    AppState::new(conn, statements, false)
}

const SUBSCRIBE: &str =
    "subscription($after: String) { changes(after: $after) { cursor record action fields } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_instance_sees_writes_made_on_another_and_resumes_without_loss() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let key = admin_key(&app.db).await;
        let other = api::http::app(second_instance(&app.db).await);
        let first = write(&other, &key, CREATE_CITY, city("before-subscribing")).await;
        let first_id = first["createCity"]["city"]["id"].clone();
        // Subscribe on instance A from the start: the replay brings the first write, the
        // live part the next ones, made through instance B.
        let mut stream = app.state.schema.execute_stream(
            async_graphql::Request::new(SUBSCRIBE)
                .variables(async_graphql::Variables::from_json(json!({ "after": "0" }))),
        );
        let replayed = next(&mut stream, backend).await;
        assert_eq!(replayed["record"], first_id);
        let second = write(&other, &key, CREATE_CITY, city("while-subscribed")).await;
        let live = next(&mut stream, backend).await;
        assert_eq!(live["record"], second["createCity"]["city"]["id"]);
        assert_eq!(live["action"], "CREATE");
        // Disconnect, miss two writes, resume from the last cursor: both come, in order.
        let cursor = live["cursor"].as_str().unwrap().to_owned();
        drop(stream);
        let third = write(&other, &key, CREATE_CITY, city("missed-1")).await;
        let id3 = third["createCity"]["city"]["id"].clone();
        write(
            &other,
            &key,
            UPDATE_CITY,
            json!({ "id": id3, "v": 1, "p": 7 }),
        )
        .await;
        let mut resumed =
            app.state
                .schema
                .execute_stream(async_graphql::Request::new(SUBSCRIBE).variables(
                    async_graphql::Variables::from_json(json!({ "after": cursor })),
                ));
        let a = next(&mut resumed, backend).await;
        let b = next(&mut resumed, backend).await;
        assert_eq!(
            (a["record"].clone(), a["action"].clone()),
            (id3.clone(), json!("CREATE"))
        );
        assert_eq!(
            (b["record"].clone(), b["fields"].clone()),
            (id3, json!(["population", "sources"]))
        );
    }
}

/// The next event of a `changes` subscription (fails after 10 s).
async fn next(
    stream: &mut (impl futures_util::Stream<Item = async_graphql::Response> + Unpin),
    backend: crate::common::Backend,
) -> Value {
    let response = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .unwrap_or_else(|_| panic!("[{backend:?}] no event within 10 s"))
        .expect("the stream goes on");
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().expect("JSON");
    data["changes"].clone()
}

/// The case the numbering must survive: a change numbered first but committed last. Writer 1
/// numbers its change and waits; writer 2 numbers and commits after it; a reader reads in
/// between; then writer 1 commits. The reader, following its cursor, must see both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_numbered_first_and_committed_last_is_not_skipped() {
    use api::service::changes::{self, Change, Filter};
    let change = |record_id| Change {
        entity: "City",
        record_id,
        action: "update",
        version: 2,
        fields: vec!["population".into()],
    };
    for db in TestDb::all().await {
        let backend = db.backend;
        let first = api::db::begin_write(&db.conn).await.expect("begin 1");
        changes::record(&first, change(1)).await.expect("record 1");
        let conn = db.conn.clone();
        let second = tokio::spawn(async move {
            let txn = api::db::begin_write(&conn).await.expect("begin 2");
            changes::record(&txn, change(2)).await.expect("record 2");
            txn.commit().await.expect("commit 2");
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut seen = changes::page(&db.conn, 0, 100, &Filter::default())
            .await
            .expect("read");
        let cursor = seen.last().map_or(0, |e| e.position);
        first.commit().await.expect("commit 1");
        second.await.expect("writer 2");
        seen.extend(
            changes::page(&db.conn, cursor, 100, &Filter::default())
                .await
                .expect("read"),
        );
        let records: Vec<i32> = seen.iter().map(|e| e.record_id).collect();
        assert_eq!(
            records,
            vec![1, 2],
            "[{backend:?}] the reader saw {records:?}"
        );
    }
}

#[tokio::test]
async fn changed_after_lists_only_the_records_changed_since_a_cursor() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let key = admin_key(&app.db).await;
        let router = api::http::app(app.state.clone());
        let created = write(&router, &key, CREATE_CITY, city("synctown")).await;
        let id = created["createCity"]["city"]["id"].clone();
        let (_, cursor) = read_all(&app, None, 100).await;
        let lists = "query($c: String) {
          cities(filter: { changedAfter: $c }) { nodes { slug } }
          pairings(filter: { changedAfter: $c }) { nodes { slug } }
          regions(filter: { changedAfter: $c }) { nodes { slug } }
          stakeholders(filter: { changedAfter: $c }) { nodes { slug } }
          activities(filter: { changedAfter: $c }) { nodes { slug } }
        }";
        let everything = app.data(lists, json!({ "c": "0" })).await;
        assert_eq!(
            everything["cities"]["nodes"],
            json!([{ "slug": "synctown" }]),
            "[{backend:?}]"
        );
        let none = app.data(lists, json!({ "c": cursor })).await;
        for list in [
            "cities",
            "pairings",
            "regions",
            "stakeholders",
            "activities",
        ] {
            assert_eq!(none[list]["nodes"], json!([]), "[{backend:?}] {list}");
        }
        write(
            &router,
            &key,
            UPDATE_CITY,
            json!({ "id": id, "v": 1, "p": 99 }),
        )
        .await;
        let since = app.data(lists, json!({ "c": cursor })).await;
        assert_eq!(
            since["cities"]["nodes"],
            json!([{ "slug": "synctown" }]),
            "[{backend:?}]"
        );
        let bad = app.graphql(lists, json!({ "c": "-1" })).await;
        assert_eq!(
            bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{bad}"
        );
    }
}

/// An import's changes are in the feed like the API's: a pairing whose themes alone changed
/// gets an update naming `themes` (and a new version), and a UCAP the file no longer has is
/// deleted with, as events of their own, the projects the database deletes with it.
#[tokio::test]
async fn an_import_reports_children_changes_and_cascaded_deletes() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let (_, start) = read_all(&app, None, 100).await;
        let mut data: Value = serde_json::from_str(api::service::seed::SEED_JSON).unwrap();
        let pairing = data["pairings"]
            .as_array_mut()
            .and_then(|p| {
                p.iter_mut()
                    .find(|p| p["slug"] == json!("barnsley-liuzhou"))
            })
            .expect("in the seed");
        let projects = pairing["ucap"]["projects"].as_array().unwrap().len();
        pairing["themes"].as_array_mut().unwrap().pop();
        pairing["ucap"] = Value::Null;
        api::service::seed::import_text(
            &app.db.conn,
            "edited.json",
            &data.to_string(),
            api::service::seed::Mode::Apply,
            api::service::write::Actor::command_line("cli import edited.json"),
        )
        .await
        .expect("the import applies");
        let (events, _) = read_all(&app, start, 100).await;
        let kinds: Vec<(String, String, String)> = events
            .iter()
            .map(|e| {
                (
                    e["entity"].as_str().unwrap().to_owned(),
                    e["action"].as_str().unwrap().to_owned(),
                    e["fields"].to_string(),
                )
            })
            .collect();
        let count = |entity: &str, action: &str| {
            kinds
                .iter()
                .filter(|k| k.0 == entity && k.1 == action)
                .count()
        };
        assert!(
            kinds.contains(&("PAIRING".into(), "UPDATE".into(), "[\"themes\"]".into())),
            "[{backend:?}] {kinds:?}"
        );
        assert_eq!(count("UCAP", "DELETE"), 1, "[{backend:?}] {kinds:?}");
        assert_eq!(
            count("PROJECT", "DELETE"),
            projects,
            "[{backend:?}] {kinds:?}"
        );
        assert_eq!(count("PAIRING", "UPDATE"), 1, "[{backend:?}] {kinds:?}");
        // The pairing's version moved with its themes, as an API update's would.
        let page = app
            .data(
                "{ pairing(slug: \"barnsley-liuzhou\") { version } }",
                json!({}),
            )
            .await;
        assert_eq!(page["pairing"]["version"], 2, "[{backend:?}]");
    }
}
