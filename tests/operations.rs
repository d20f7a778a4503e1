//! Operating the server: health and readiness, metrics, request ids, CORS and the
//! introspection switch, and recovery after PostgreSQL goes away and comes back (through a TCP
//! proxy in the test that is cut and restored).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::common::{Backend, TestApp, TestDb};

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

#[tokio::test]
async fn health_and_readiness() {
    for db in TestDb::all_empty().await {
        let app = TestApp::new(db);
        let (status, _, body) = app.request(get("/healthz")).await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
        // Not migrated: not ready, and the reason says so.
        let (status, _, body) = app.request(get("/readyz")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(body.contains("migrations are not applied"), "{body}");
        api::db::migrate(&app.db.conn).await.unwrap();
        let (status, _, body) = app.request(get("/readyz")).await;
        assert_eq!(status, StatusCode::OK, "[{:?}] {body}", app.db.backend);
    }
}

#[tokio::test]
async fn metrics_count_operations_latency_statements_batches_and_the_pool() {
    for app in TestApp::all_seeded().await {
        let query = "query PairingTable { pairings(first: 5) { nodes { title programmeRegion { name } themes { name } } } }";
        let before = app.db.statements.get();
        app.data(query, json!({})).await;
        let statements = app.db.statements.get() - before;
        app.graphql("query Broken { nonsense }", json!({})).await;

        let (status, headers, text) = app.request(get("/metrics")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        for line in [
            // Anonymous names seen once have no label of their own (ops_hardening.rs).
            "iuc_graphql_requests_total{operation=\"other\",outcome=\"ok\"} 1".to_owned(),
            "iuc_graphql_requests_total{operation=\"other\",outcome=\"invalid\"} 1".to_owned(),
            "iuc_graphql_request_duration_seconds_count{operation=\"other\"} 2".to_owned(),
            "iuc_graphql_operations_total 2".to_owned(),
            // Two requests: the first's statements, the second's none.
            "iuc_sql_statements_per_request_count 2".to_owned(),
            format!("iuc_sql_statements_per_request_sum {statements}"),
            "iuc_rate_limited_total{client=\"anonymous\"} 0".to_owned(),
            "iuc_db_pool_max_connections 5".to_owned(),
        ] {
            assert!(
                text.contains(&line),
                "[{:?}] missing {line} in\n{text}",
                app.db.backend
            );
        }
        assert!(statements >= 3, "{statements}");
        assert!(
            text.contains(
                "iuc_dataloader_batch_keys_count{loader=\"ById<programme_region::Entity>\"} 1"
            ),
            "{text}"
        );
        assert!(text.contains("iuc_db_pool_connections "));
        assert!(text.contains("iuc_db_pool_idle_connections "));
    }
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let app = TestApp::new(TestDb::all().await.remove(0));
    let (_, headers, _) = app
        .request(
            Request::get("/healthz")
                .header("x-request-id", "abc-123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(headers["x-request-id"], "abc-123");
    let (_, first, _) = app.request(get("/healthz")).await;
    let (_, second, _) = app.request(get("/healthz")).await;
    let (first, second) = (&first["x-request-id"], &second["x-request-id"]);
    assert!(!first.is_empty());
    assert_ne!(first, second);
}

#[tokio::test]
async fn cors_origins_and_introspection_are_switchable() {
    let mut settings = api::state::Settings {
        cors_origins: vec!["https://app.example".into()],
        ..Default::default()
    };
    settings.schema.introspection = false;
    let app = TestApp::with_settings(TestDb::all().await.remove(0), settings);
    let preflight = Request::builder()
        .method("OPTIONS")
        .uri("/graphql")
        .header(header::ORIGIN, "https://app.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = app.request(preflight).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    let (_, headers, _) = app
        .request(
            Request::get("/healthz")
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    // async-graphql answers introspection fields with null when it is switched off.
    let data = app
        .data("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(data["__schema"].is_null(), "{data}");
    // Nor do validation errors suggest names: "Did you mean …?" would tell the schema, the
    // administrators' root fields and the mutations included.
    for typo in [
        "{ pairing(slug: \"rome-yantai\") { titlee } }",
        "{ apiKey { id } }",
        "mutation { createCit(input: {}) { city { id } } }",
        "{ pairings(frist: 1) { totalCount } }",
    ] {
        let response = app.graphql(typo, json!({})).await;
        let message = response["errors"][0]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{typo}: {response}");
        assert!(!message.contains("Did you mean"), "{typo}: {message}");
    }
    // With introspection on, they do (the default).
    let on = TestApp::new(TestDb::all().await.remove(0));
    let response = on
        .graphql("{ pairing(slug: \"rome-yantai\") { titlee } }", json!({}))
        .await;
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Did you mean")),
        "{response}"
    );

    // Defaults: no CORS headers, introspection on.
    let app = TestApp::new(TestDb::all().await.remove(0));
    let (_, headers, _) = app
        .request(
            Request::get("/healthz")
                .header(header::ORIGIN, "https://app.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let data = app
        .data("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(data["__schema"]["queryType"]["name"], "Query");
}

/// A TCP proxy to PostgreSQL that the test can cut (every connection dropped, new ones
/// refused) and restore.
struct Proxy {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    /// New connections wait (unanswered) until this is cleared.
    stall: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let stall = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (cut, stall, connections) = (cut.clone(), stall.clone(), connections.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    let stall = stall.clone();
                    let handle = tokio::spawn(async move {
                        while stall.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    connections.lock().await.push(handle);
                }
            }
        });
        Proxy {
            addr,
            cut,
            stall,
            connections,
            accept,
        }
    }

    /// Every open connection dropped; new ones wait until `restore`.
    async fn stall(&self) {
        self.stall.store(true, Ordering::SeqCst);
        for handle in self.connections.lock().await.drain(..) {
            handle.abort();
        }
    }

    async fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for handle in self.connections.lock().await.drain(..) {
            handle.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
        self.stall.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A seeded PostgreSQL database reached through a proxy, and an app whose pool goes through it
/// (`None` when the PostgreSQL suite is off).
async fn behind_proxy(
    acquire_timeout: std::time::Duration,
    settings: api::state::Settings,
) -> Option<(TestApp, Proxy)> {
    let db = TestDb::all_seeded()
        .await
        .into_iter()
        .find(|db| db.backend == Backend::Postgres)?;
    // postgres://user@host:port/name → the proxy in between.
    let (scheme_user, rest) = db.url.split_once('@').unwrap();
    let (host_port, path) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host_port.to_owned()).await;
    let url = format!("{scheme_user}@{}/{path}", proxy.addr);
    let (conn, statements) = api::db::connect_with(
        &url,
        api::db::PoolOptions {
            max_connections: 2,
            acquire_timeout,
            statement_timeout: std::time::Duration::from_secs(5),
        },
    )
    .await
    .expect("the pool connects through the proxy");
    let app = TestApp {
        state: api::AppState::with_settings(conn, statements, settings),
        db,
    };
    Some((app, proxy))
}

#[tokio::test]
async fn requests_fail_fast_while_postgres_is_away_and_recover_when_it_returns() {
    let Some((app, proxy)) = behind_proxy(
        std::time::Duration::from_millis(500),
        api::state::Settings::default(),
    )
    .await
    else {
        return; // PostgreSQL suite switched off.
    };
    let query = json!({ "query": "{ pairings(first: 2) { nodes { title } } }" }).to_string();
    let post = || {
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(query.clone()))
            .unwrap()
    };
    let (status, _, body) = app.request(post()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.request(get("/readyz")).await.0, StatusCode::OK);

    proxy.cut().await;
    let started = std::time::Instant::now();
    let (status, _, body) = app.request(post()).await;
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        response["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE",
        "{response}"
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        !body.contains("Connection") && !body.contains("sqlx"),
        "internals leak: {body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let (status, _, reason) = app.request(get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reason.contains("does not answer"), "{reason}");

    proxy.restore();
    // The pool replaces its dead connections on its own: the next requests succeed.
    let mut recovered = false;
    for _ in 0..5 {
        let (status, _, body) = app.request(post()).await;
        if status == StatusCode::OK && !body.contains("\"errors\"") {
            recovered = true;
            break;
        }
    }
    assert!(
        recovered,
        "the server did not recover after the database came back"
    );
    assert_eq!(app.request(get("/readyz")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn postgres_connections_carry_the_statement_timeout() {
    for db in TestDb::all().await {
        if db.backend != Backend::Postgres {
            continue;
        }
        use sea_orm::ConnectionTrait;
        let row = db
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                db.conn.get_database_backend(),
                "SHOW statement_timeout",
            ))
            .await
            .unwrap()
            .unwrap();
        let value: String = row.try_get("", "statement_timeout").unwrap();
        assert_eq!(value, "5s");
    }
}

#[tokio::test]
async fn a_slow_request_times_out_and_shutdown_lets_in_flight_requests_finish() {
    let settings = api::state::Settings {
        request_timeout: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    let Some((app, proxy)) = behind_proxy(std::time::Duration::from_secs(30), settings).await
    else {
        return; // PostgreSQL suite switched off.
    };
    let query = json!({ "query": "{ pairings(first: 2) { nodes { title } } }" }).to_string();
    let post = |query: &str| {
        Request::post("/graphql")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(query.to_owned()))
            .unwrap()
    };

    // The database does not answer: the request is cut at the timeout. (After a second idle,
    // the pool pings the connection before use, and the ping is what hangs.)
    proxy.stall().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _, body) = app.request(post(&query)).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{body}");
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(response["errors"][0]["extensions"]["code"], "TIMEOUT");
    let metrics = app.state.metrics.render(&Default::default(), &app.state.db);
    assert!(
        metrics
            .contains("iuc_graphql_requests_total{operation=\"anonymous\",outcome=\"timeout\"} 1"),
        "{metrics}"
    );
    proxy.restore();

    // Graceful shutdown: a request in flight when the signal comes still gets its answer.
    let settings = api::state::Settings {
        request_timeout: std::time::Duration::from_secs(30),
        ..Default::default()
    };
    let state =
        api::AppState::with_settings(app.state.db.clone(), app.state.statements.clone(), settings);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::server::serve_until(listener, state, async {
        let _ = stopped.await;
    }));
    proxy.stall().await;
    let in_flight = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "POST /graphql HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{query}",
            query.len()
        );
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    });
    // The request is in flight once the proxy holds a connection for it.
    for _ in 0..500 {
        if !proxy.connections.lock().await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    proxy.restore();
    let response = in_flight.await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"title\""), "{response}");
    server.await.unwrap().unwrap();
}

#[test]
fn every_setting_is_in_env_example_and_the_readme() {
    let root = env!("CARGO_MANIFEST_DIR");
    let config = std::fs::read_to_string(format!("{root}/api/src/config.rs")).unwrap();
    let example = std::fs::read_to_string(format!("{root}/.env.example")).unwrap();
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let names: Vec<&str> = config
        .split("env = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        assert!(
            example.contains(name),
            "{name} is missing from .env.example"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} is missing from the README"
        );
    }
}

#[tokio::test]
async fn requests_beyond_the_concurrency_limit_wait_their_turn_within_the_timeout() {
    for db in TestDb::all_seeded().await {
        let settings = api::state::Settings {
            max_concurrent_requests: 1,
            request_timeout: std::time::Duration::from_secs(1),
            ..Default::default()
        };
        let app = TestApp::with_settings(db, settings);
        let query = "{ pairings(first: 3) { nodes { title participants { place { ... on City { name } } } } } }";

        // Every turn taken: a request waits, and its wait counts towards the timeout.
        let turns = app
            .state
            .executions
            .clone()
            .expect("a limit of 1 makes turns");
        let held = turns.clone().acquire_owned().await.unwrap();
        let started = std::time::Instant::now();
        let response = app.graphql(query, json!({})).await;
        assert_eq!(
            response["errors"][0]["extensions"]["code"], "TIMEOUT",
            "{response}"
        );
        assert!(started.elapsed() >= std::time::Duration::from_millis(900));
        drop(held);

        // Turns free: concurrent requests all run, one after the other, with the same answer.
        let alone = app.data(query, json!({})).await;
        let answers =
            futures_util::future::join_all((0..6).map(|_| app.data(query, json!({})))).await;
        for answer in answers {
            assert_eq!(answer, alone);
        }
        assert_eq!(turns.available_permits(), 1);
    }
}
