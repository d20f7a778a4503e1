//! `TestDb` (a fresh, migrated database on each backend) and `TestApp` (the real router over
//! it).

use std::sync::atomic::{AtomicU32, Ordering};

use api::AppState;
use api::db::{self, StatementCounter};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The backends a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test: an SQLite file in the temp directory, or a PostgreSQL
/// database created on the server `IUC_TEST_POSTGRES_URL` names. Dropped (file removed,
/// database dropped) when the value is dropped, also when the test panics.
pub struct TestDb {
    pub backend: Backend,
    pub conn: DatabaseConnection,
    pub statements: StatementCounter,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "iuc_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// The PostgreSQL server to test against, if the suite is switched on.
pub fn postgres_url() -> Option<String> {
    std::env::var("IUC_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// Replaces the database name at the end of a PostgreSQL URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl TestDb {
    /// A fresh database on every backend switched on, not yet migrated.
    pub async fn all_empty() -> Vec<TestDb> {
        let mut dbs = vec![TestDb::sqlite().await];
        if let Some(url) = postgres_url() {
            dbs.push(TestDb::postgres(&url).await);
        }
        dbs
    }

    /// A fresh, migrated database on every backend switched on.
    pub async fn all() -> Vec<TestDb> {
        let dbs = TestDb::all_empty().await;
        for db in &dbs {
            db::migrate(&db.conn)
                .await
                .expect("migrations apply to an empty database");
        }
        dbs
    }

    /// A fresh, migrated and seeded database on every backend switched on.
    pub async fn all_seeded() -> Vec<TestDb> {
        let dbs = TestDb::all().await;
        for db in &dbs {
            api::service::seed::load_seed(&db.conn)
                .await
                .expect("the seed dataset loads");
        }
        dbs
    }

    async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let (conn, statements) = db::connect(&url, 5)
            .await
            .expect("an SQLite file can be created in the temp dir");
        TestDb {
            backend: Backend::Sqlite,
            conn,
            statements,
            cleanup: Cleanup::File(path),
        }
    }

    async fn postgres(admin_url: &str) -> TestDb {
        let name = unique_name();
        let admin = Database::connect(admin_url).await.unwrap_or_else(|e| {
            panic!("IUC_TEST_POSTGRES_URL is set but PostgreSQL is unreachable at {admin_url}: {e}")
        });
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("CREATE DATABASE");
        admin.close().await.ok();
        let url = with_database(admin_url, &name);
        let (conn, statements) = db::connect(&url, 5)
            .await
            .expect("the new test database accepts connections");
        TestDb {
            backend: Backend::Postgres,
            conn,
            statements,
            cleanup: Cleanup::Database {
                admin_url: admin_url.to_owned(),
                name,
            },
        }
    }

    /// Number of rows in `table`.
    pub async fn count(&self, table: &str) -> i64 {
        let row = self
            .conn
            .query_one_raw(sea_orm::Statement::from_string(
                self.conn.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count query runs")
            .expect("count returns a row");
        row.try_get::<i64>("", "n").expect("count is an integer")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Cleanup::Database { admin_url, name } => {
                // Drop runs outside async code (and during unwinding): use a thread with its own
                // runtime. The pool belongs to the test's runtime, which is blocked here, so it is
                // not closed from this thread; WITH (FORCE) ends its connections server-side.
                let (admin_url, name) = (admin_url.clone(), name.clone());
                let _ = std::thread::spawn(move || {
                    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    runtime.block_on(async move {
                        if let Ok(admin) = Database::connect(&admin_url).await {
                            let _ = admin
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                                ))
                                .await;
                            admin.close().await.ok();
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The real router over a test database.
pub struct TestApp {
    pub db: TestDb,
    pub state: AppState,
}

impl TestApp {
    pub fn new(db: TestDb) -> TestApp {
        let state = AppState::new(db.conn.clone(), db.statements.clone(), true);
        TestApp { db, state }
    }

    /// A seeded app on every backend switched on.
    pub async fn all_seeded() -> Vec<TestApp> {
        TestDb::all_seeded()
            .await
            .into_iter()
            .map(TestApp::new)
            .collect()
    }

    /// Sends a request through the router; returns status, content type and body.
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        let response = api::http::app(self.state.clone())
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the body can be read")
            .to_bytes()
            .to_vec();
        (status, content_type, body)
    }

    /// POSTs a GraphQL query with variables; returns the JSON response (`data`, `errors`).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(None, query, variables).await
    }

    /// Like `graphql`, sending `Authorization: Bearer <key>` when a key is given.
    pub async fn graphql_as(&self, key: Option<&str>, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let mut request =
            Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(key) = key {
            request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = request.body(Body::from(body)).expect("a valid request");
        let (status, _, body) = self.send(request).await;
        let value: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!("GraphQL answered {status} with a body that is not JSON ({e})")
        });
        value
    }

    /// Like `graphql`, and asserts that there are no errors; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let response = self.graphql(query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "[{:?}] unexpected errors: {}",
            self.db.backend,
            response["errors"]
        );
        response["data"].clone()
    }
}
