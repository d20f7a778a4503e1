//! Hostile input on the operations side: client addresses behind trusted proxies (rate-limit
//! buckets), operation-name labels no client can poison, CSV cells that stay text, and a
//! readiness answer in our own words.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{TestApp, TestDb};

// ---------------------------------------------------------------- client addresses

/// 1 + 50 × (1 node + 1 programmeRegion) = 101 units: two fit in a budget of 300, three don't.
const COSTLY: &str = "{ pairings(first: 50) { nodes { programmeRegion { name } } } }";

/// A POST of `COSTLY` from TCP peer `peer`, with these extra headers.
fn costly_from(peer: [u8; 4], headers: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request
        .body(Body::from(json!({ "query": COSTLY }).to_string()))
        .expect("a valid request");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((peer, 40000))));
    request
}

/// An app whose anonymous budget is 300 per minute, trusting proxies in `10.0.0.0/8`.
async fn limited_apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for db in TestDb::all_seeded().await {
        let mut settings = api::state::Settings::default();
        settings.rate_limits.anonymous = 300;
        settings.trusted_proxies =
            api::client_addr::TrustedProxies::parse("10.0.0.0/8,::1/128").unwrap();
        apps.push(TestApp::with_settings(db, settings));
    }
    apps
}

#[tokio::test]
async fn forwarding_headers_from_an_untrusted_peer_are_ignored() {
    for app in limited_apps().await {
        let backend = app.db.backend;
        let peer = [203, 0, 113, 7];
        // Each request claims another client; all are the peer's, one bucket.
        let spoofs: [&[(&str, &str)]; 3] = [
            &[("x-forwarded-for", "198.51.100.1")],
            &[("forwarded", "for=198.51.100.2")],
            &[
                ("x-forwarded-for", "198.51.100.3"),
                ("forwarded", "for=\"[2001:db8::3]\""),
            ],
        ];
        let mut statuses = Vec::new();
        for headers in spoofs {
            statuses.push(app.request(costly_from(peer, headers)).await.0);
        }
        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS
            ],
            "[{backend:?}]"
        );
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_bucket() {
    for app in limited_apps().await {
        let backend = app.db.backend;
        let proxy = [10, 0, 0, 1];
        let first: &[(&str, &str)] = &[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.2")];
        for _ in 0..2 {
            let (status, _, body) = app.request(costly_from(proxy, first)).await;
            assert_eq!(status, StatusCode::OK, "[{backend:?}] {body}");
        }
        assert_eq!(
            app.request(costly_from(proxy, first)).await.0,
            StatusCode::TOO_MANY_REQUESTS,
            "[{backend:?}] the first client's budget is spent"
        );
        // What the exhausted client wrote on the left does not matter: still its bucket.
        let same: &[(&str, &str)] = &[("x-forwarded-for", "7.7.7.7, 198.51.100.1")];
        assert_eq!(
            app.request(costly_from(proxy, same)).await.0,
            StatusCode::TOO_MANY_REQUESTS,
            "[{backend:?}]"
        );
        // Another client through the same proxy, by X-Forwarded-For or by Forwarded.
        let others: [&[(&str, &str)]; 2] = [
            &[("x-forwarded-for", "198.51.100.2")],
            &[("forwarded", "for=\"[2001:db8::2]:4711\";proto=https")],
        ];
        for headers in others {
            let (status, _, body) = app.request(costly_from(proxy, headers)).await;
            assert_eq!(status, StatusCode::OK, "[{backend:?}] {headers:?}: {body}");
        }
        // The proxy's own requests (no header) are a client of their own too.
        assert_eq!(
            app.request(costly_from(proxy, &[])).await.0,
            StatusCode::OK,
            "[{backend:?}]"
        );
    }
}

#[test]
fn an_invalid_trusted_proxy_is_a_configuration_error() {
    let args = api::config::ServeArgs {
        trusted_proxies: "10.0.0.0/8, 10.0.0/33".into(),
        ..Default::default()
    };
    let error = api::state::Settings::from_args(&args).unwrap_err();
    assert!(
        error.contains("IUC_TRUSTED_PROXIES") && error.contains("10.0.0/33"),
        "{error}"
    );
}

// ---------------------------------------------------------------- metrics labels

/// The `iuc_graphql_requests_total` lines of the app's metrics.
fn request_lines(app: &TestApp) -> Vec<String> {
    app.state
        .metrics
        .render(&Default::default(), &app.db.conn)
        .lines()
        .filter(|l| l.starts_with("iuc_graphql_requests_total{"))
        .map(str::to_owned)
        .collect()
}

fn has_label(app: &TestApp, name: &str) -> bool {
    let label = format!("{{operation=\"{name}\",");
    request_lines(app).iter().any(|l| l.contains(&label))
}

#[tokio::test]
async fn keyed_and_trusted_operation_names_are_labelled_at_once_anonymous_ones_are_not() {
    let trusted_doc = "query TrustedCountries { countries(first: 1) { nodes { code } } }";
    for db in TestDb::all_seeded().await {
        let manifest = json!({ api::persisted::sha256(trusted_doc): trusted_doc }).to_string();
        let trusted = api::persisted::TrustedDocuments::parse(&manifest).unwrap();
        // In the trusted-documents mode, their names are labelled for anonymous callers.
        let settings = api::state::Settings {
            trusted_documents: Some(std::sync::Arc::new(trusted.clone())),
            ..Default::default()
        };
        let mut app = TestApp::with_settings(db, settings);
        app.data(trusted_doc, json!({})).await;
        assert!(
            has_label(&app, "TrustedCountries"),
            "[{:?}]",
            app.db.backend
        );
        // That mode refuses other documents: go on without it, with the metrics it built.
        let metrics = app.state.metrics.clone();
        app.state = api::AppState::new(app.db.conn.clone(), app.db.statements.clone(), true);
        app.state.metrics = metrics;
        let names = api::metrics::names::operation_names(trusted.documents());
        assert_eq!(names, ["TrustedCountries"]);
        let backend = app.db.backend;
        let key =
            api::service::keys::create(&app.db.conn, "ops", api::auth::Role::Admin, None, None)
                .await
                .unwrap_or_else(|e| panic!("a key: {}", e.message()))
                .secret;

        app.data(trusted_doc, json!({})).await;
        app.data("query FirstSeen { __typename }", json!({})).await;
        let keyed = app
            .graphql_as(Some(&key), "query KeyedReport { __typename }", json!({}))
            .await;
        assert!(keyed.get("errors").is_none(), "{keyed}");

        assert!(has_label(&app, "TrustedCountries"), "[{backend:?}]");
        assert!(has_label(&app, "KeyedReport"), "[{backend:?}]");
        assert!(!has_label(&app, "FirstSeen"), "[{backend:?}]");
        assert!(
            request_lines(&app).contains(
                &"iuc_graphql_requests_total{operation=\"other\",outcome=\"ok\"} 1".to_owned()
            ),
            "[{backend:?}] {:?}",
            request_lines(&app)
        );
        // Once labelled for a key, the name is labelled for everyone.
        app.data("query KeyedReport { __typename }", json!({}))
            .await;
        assert!(
            request_lines(&app).contains(
                &"iuc_graphql_requests_total{operation=\"KeyedReport\",outcome=\"ok\"} 2"
                    .to_owned()
            ),
            "[{backend:?}]"
        );
    }
}

#[tokio::test]
async fn a_flood_of_random_names_takes_no_label_and_a_used_name_earns_one() {
    use api::metrics::names::WINDOW;
    for db in TestDb::all_seeded().await {
        let mut app = TestApp::new(db);
        let backend = app.db.backend;
        let clock = std::sync::Arc::new(api::metrics::ManualClock::default());
        app.state.metrics =
            std::sync::Arc::new(api::metrics::Metrics::new(Vec::new(), clock.clone()));
        let legit = "query PairingTable { pairings(first: 2) { nodes { title } } }";
        for window in 0..3 {
            // A flood of fresh names in every window (each runs: it is a valid operation).
            let flood: Vec<String> = (0..500)
                .map(|i| format!("query Flood{window}x{i} {{ __typename }}"))
                .collect();
            let batches: Vec<Value> = flood
                .chunks(10)
                .map(|chunk| Value::Array(chunk.iter().map(|q| json!({ "query": q })).collect()))
                .collect();
            for batch in batches {
                let request = Request::post("/graphql")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(batch.to_string()))
                    .unwrap();
                assert_eq!(app.request(request).await.0, StatusCode::OK);
            }
            app.data(legit, json!({})).await;
            assert_eq!(
                has_label(&app, "PairingTable"),
                window == 2,
                "[{backend:?}] window {window}"
            );
            clock.advance(WINDOW);
        }
        let lines = request_lines(&app);
        assert!(
            !lines.iter().any(|l| l.contains("Flood")),
            "[{backend:?}] {lines:?}"
        );
        assert_eq!(app.state.metrics.labelled_names(), 1, "[{backend:?}]");
        // `other` (1 500 flood operations and the legitimate name's first two runs),
        // `PairingTable`: nothing else is tracked.
        assert_eq!(
            lines,
            [
                "iuc_graphql_requests_total{operation=\"PairingTable\",outcome=\"ok\"} 1",
                "iuc_graphql_requests_total{operation=\"other\",outcome=\"ok\"} 1502",
            ],
            "[{backend:?}]"
        );
    }
}

// ---------------------------------------------------------------- CSV cells

#[tokio::test]
async fn csv_cells_that_would_run_as_formulas_stay_text_also_after_leading_blanks() {
    use sea_orm::ConnectionTrait;
    let titles = [
        ("rome-yantai", " =1+1"),
        (
            "barnsley-liuzhou",
            "\n=HYPERLINK(\"http://evil.example\",\"x\")",
        ),
    ];
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        for (slug, title) in titles {
            let statement = sea_orm::Statement::from_sql_and_values(
                app.db.conn.get_database_backend(),
                match app.db.conn.get_database_backend() {
                    sea_orm::DbBackend::Postgres => "UPDATE pairing SET title = $1 WHERE slug = $2",
                    _ => "UPDATE pairing SET title = ? WHERE slug = ?",
                },
                [title.into(), slug.into()],
            );
            app.db.conn.execute_raw(statement).await.unwrap();
        }
        let admin =
            api::service::keys::create(&app.db.conn, "ops", api::auth::Role::Admin, None, None)
                .await
                .unwrap_or_else(|e| panic!("a key: {}", e.message()))
                .secret;
        let request = Request::get("/export.csv")
            .header(header::AUTHORIZATION, format!("Bearer {admin}"))
            .body(Body::empty())
            .unwrap();
        let (status, _, csv) = app.request(request).await;
        assert_eq!(status, StatusCode::OK, "[{backend:?}] {csv}");
        // The title cell: quoted, an apostrophe first, the partner's text after it unchanged.
        assert!(csv.contains("\"' =1+1\""), "[{backend:?}] {csv}");
        assert!(
            csv.contains("\"'\n=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\""),
            "[{backend:?}] {csv}"
        );
    }
}

// ---------------------------------------------------------------- readiness

fn readyz() -> Request<Body> {
    Request::get("/readyz").body(Body::empty()).unwrap()
}

#[tokio::test]
async fn readiness_says_what_is_wrong_in_our_words_and_logs_the_drivers() {
    use sea_orm::ConnectionTrait;
    // Not migrated: how many, and what to do.
    for db in TestDb::all_empty().await {
        let app = TestApp::new(db);
        let (status, _, body) = app.request(readyz()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.starts_with("not ready: ")
                && body.contains(
                    "migrations are not applied yet — run `iuc-graph migrate` or restart"
                ),
            "{body}"
        );
    }

    // The database is gone: SQLite's pool closed; PostgreSQL's database dropped under it.
    for db in TestDb::all().await {
        let backend = db.backend;
        let app = TestApp::new(db);
        match backend {
            crate::common::Backend::Sqlite => app.db.conn.clone().close().await.unwrap(),
            crate::common::Backend::Postgres => {
                let admin = sea_orm::Database::connect(crate::common::postgres_url().unwrap())
                    .await
                    .unwrap();
                let name = app.db.url.rsplit('/').next().unwrap().to_owned();
                admin
                    .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                    .await
                    .unwrap();
                admin.close().await.ok();
            }
        }
        let (status, _, body) = app.request(readyz()).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "[{backend:?}] {body}"
        );
        assert_eq!(
            body, "not ready: the database does not answer",
            "[{backend:?}]"
        );
        // What the log line's `detail` carries: the driver's own text. (Read from the check
        // itself rather than from a captured log: tracing's per-callsite interest cache makes
        // a test-local subscriber miss events when other tests run alongside.)
        let reason = api::db::readiness(&app.db.conn).await.unwrap_err();
        let driver_texts: &[&str] = match backend {
            crate::common::Backend::Sqlite => &["Connection closed"],
            // The pool's killed connection first, then the missing database.
            crate::common::Backend::Postgres => &["terminating connection", "does not exist"],
        };
        assert!(
            driver_texts.iter().any(|t| reason.detail().contains(t)),
            "[{backend:?}] {}",
            reason.detail()
        );
        assert_eq!(reason.public(), "the database does not answer");
    }
}
