//! Connecting to the database and migrating it. SQLite is the embedded default; PostgreSQL is
//! chosen by the URL. Both get the same migrations.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Counts the SQL statements the connection runs (sea-orm's metric callback). Tests read it to
/// prove that a request's statements are bounded by the query's shape.
///
/// On PostgreSQL the statements of a wave go to the database as one (`graphql::loader::combine`):
/// `get` counts the statements the loaders wrote (what SQLite is sent one by one),
/// `round_trips` the statements the database was sent.
#[derive(Debug, Clone, Default)]
pub struct StatementCounter {
    statements: Arc<AtomicU64>,
    round_trips: Arc<AtomicU64>,
}

impl StatementCounter {
    /// Statements written, each part of a combined statement counted as one.
    pub fn get(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// Statements sent to the database.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }
}

tokio::task_local! {
    /// How many written statements the statement being run holds (see [`as_statements`]).
    static PARTS: u64;
}

/// Runs `future`, whose one statement holds `parts` statements written by the loaders, and
/// counts it as that many (one round trip).
pub async fn as_statements<F: std::future::Future>(parts: usize, future: F) -> F::Output {
    PARTS.scope(parts as u64, future).await
}

/// Why start-up could not use the database.
#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("cannot connect to the database at {url}: {source}")]
    Connect { url: String, source: DbErr },
    #[error("the database migrations failed: {0}")]
    Migrate(DbErr),
}

/// Hides a password in a URL before it is logged or printed.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// How the pool behaves.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    /// How long a request waits for a connection (also bounds opening one): short, so that
    /// requests fail fast while the database is away.
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection; zero: none.
    pub statement_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// The pool size when none is configured. PostgreSQL: 10. SQLite: 4, because each of its
/// connections runs on a thread of its own and keeps a page cache of its own (see
/// `connect_with`): on two cores, 4 connections served the pairings table faster than 10 (about 530
/// against 340–480 req/s, and steadier: `IUC_DB_MAX_CONNECTIONS=10` against 4 with
/// `cargo bench --bench load -- --backend sqlite --pairings 1000 --only 1`) in less memory.
pub fn default_pool_size(url: &str) -> u32 {
    if url.starts_with("sqlite:") { 4 } else { 10 }
}

/// Opens a pool on `url` and installs the statement counter.
pub async fn connect(
    url: &str,
    max_connections: u32,
) -> Result<(DatabaseConnection, StatementCounter), DbSetupError> {
    connect_with(
        url,
        PoolOptions {
            max_connections,
            ..PoolOptions::default()
        },
    )
    .await
}

/// Opens a pool on `url` with `pool` options and installs the statement counter.
pub async fn connect_with(
    url: &str,
    pool: PoolOptions,
) -> Result<(DatabaseConnection, StatementCounter), DbSetupError> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool.max_connections)
        .connect_timeout(pool.acquire_timeout)
        .acquire_timeout(pool.acquire_timeout)
        // Statements are traced by our own spans; sqlx's per-statement INFO logs would flood.
        .sqlx_logging(false)
        // sqlx pings every connection it hands out by default: one more round trip per
        // statement (a pairing page runs 18; without it, 481 → 640 req/s on
        // `cargo bench --bench load -- --backend postgres --only 2`). Now only a connection idle for over a second is pinged, so a
        // quiet pool still finds broken connections before use; under load, a connection that
        // broke is dropped by sqlx on its first error and that request fails with
        // SERVICE_UNAVAILABLE (tests/operations.rs covers recovery).
        .test_before_acquire_if_idle_for(Duration::from_secs(1));
    if url.starts_with("postgres") && !pool.statement_timeout.is_zero() {
        // A startup parameter, so every connection the pool opens (also after the database
        // comes back) carries it; no extra statement per request.
        let millis = pool.statement_timeout.as_millis().to_string();
        options
            .map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", millis.as_str())]));
    }
    if url.starts_with("sqlite:") {
        // WAL lets readers go on while a write commits; foreign keys are enforced (sqlx turns them
        // on by default, stated here because the schema relies on it).
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5))
                // sqlx-sqlite runs each connection on a thread of its own and streams rows to
                // the async side through a channel of this many rows (default 50); when a result
                // is larger, the worker thread blocks until the reader drains it, so every
                // batch of rows costs a round of thread hand-offs. A page of children for 50
                // parents easily has a few hundred rows.
                .row_buffer_size(1024)
        });
    }
    let mut db = Database::connect(options)
        .await
        .map_err(|source| DbSetupError::Connect {
            url: redact(url),
            source,
        })?;
    let counter = StatementCounter::default();
    let (count, trips) = (counter.statements.clone(), counter.round_trips.clone());
    db.set_metric_callback(move |info| {
        let parts = PARTS.try_with(|parts| *parts).unwrap_or(1);
        count.fetch_add(parts, Ordering::Relaxed);
        trips.fetch_add(1, Ordering::Relaxed);
        crate::metrics::RequestScope::count_statements(parts);
        tracing::debug!(target: "iuc_graph::sql", elapsed_us = info.elapsed.as_micros() as u64, failed = info.failed, sql = %info.statement.sql);
        // The statement with its bound values, for replaying a request's statements outside the
        // server (the load benchmark's pgbench ceiling). Off unless asked for by name: values
        // are data, and keys are looked up by their hash.
        if tracing::enabled!(target: "iuc_graph::sql_values", tracing::Level::TRACE) {
            tracing::trace!(target: "iuc_graph::sql_values", sql = %info.statement.sql, values = %values_json(info.statement.values.as_ref()));
        }
    });
    Ok((db, counter))
}

/// A statement's bound values as a JSON array, each as PostgreSQL reads it in text: numbers and
/// booleans as JSON's, text and dates as strings (dates and times in ISO 8601), NULL as null,
/// anything else in its debug form.
fn values_json(values: Option<&sea_orm::Values>) -> String {
    use sea_orm::Value;
    use serde_json::json;
    let list = values.map(|v| v.0.as_slice()).unwrap_or_default();
    let json: Vec<serde_json::Value> = list
        .iter()
        .map(|value| match value {
            Value::Bool(v) => json!(v),
            Value::TinyInt(v) => json!(v),
            Value::SmallInt(v) => json!(v),
            Value::Int(v) => json!(v),
            Value::BigInt(v) => json!(v),
            Value::TinyUnsigned(v) => json!(v),
            Value::SmallUnsigned(v) => json!(v),
            Value::Unsigned(v) => json!(v),
            Value::BigUnsigned(v) => json!(v),
            Value::Float(v) => json!(v),
            Value::Double(v) => json!(v),
            Value::String(v) => json!(v),
            Value::Char(v) => json!(v.map(String::from)),
            Value::Json(v) => json!(v.as_ref().map(|j| j.to_string())),
            Value::ChronoDate(v) => json!(v.map(|d| d.to_string())),
            Value::ChronoDateTimeUtc(v) => json!(v.map(|t| t.to_rfc3339())),
            Value::ChronoDateTimeWithTimeZone(v) => json!(v.map(|t| t.to_rfc3339())),
            other => json!(format!("{other:?}")),
        })
        .collect();
    serde_json::Value::Array(json).to_string()
}

/// Why the server is not ready: what the readiness check answers in its own words, and what
/// it logs.
#[derive(Debug)]
pub enum NotReady {
    /// The database did not answer (the driver's error, for the log only: it can name hosts,
    /// users and databases).
    Unreachable(DbErr),
    /// Migrations this binary knows are not applied yet.
    Pending { names: Vec<String>, known: usize },
}

impl NotReady {
    /// What `/readyz` says: our words, never the driver's.
    pub fn public(&self) -> String {
        match self {
            NotReady::Unreachable(_) => "the database does not answer".to_owned(),
            NotReady::Pending { names, known } => format!(
                "{} of {known} migrations are not applied yet — run `iuc-graph migrate` or restart",
                names.len()
            ),
        }
    }

    /// What the log says: the driver's error, or the pending migrations by name.
    pub fn detail(&self) -> String {
        match self {
            NotReady::Unreachable(error) => error.to_string(),
            NotReady::Pending { names, .. } => format!("pending: {}", names.join(", ")),
        }
    }
}

/// Whether the database answers and every migration this binary knows is applied; why not
/// otherwise.
pub async fn readiness(db: &DatabaseConnection) -> Result<(), NotReady> {
    let pending = Migrator::get_pending_migrations(db)
        .await
        .map_err(NotReady::Unreachable)?;
    if pending.is_empty() {
        Ok(())
    } else {
        Err(NotReady::Pending {
            names: pending.iter().map(|m| m.name().to_owned()).collect(),
            known: Migrator::migrations().len(),
        })
    }
}

/// Begins a transaction that will write. On SQLite it takes the write lock at `BEGIN`
/// (IMMEDIATE): a deferred transaction that reads first and writes later fails at once with
/// SQLITE_BUSY when another writer committed in between, while an immediate one waits its turn
/// (busy timeout) and then reads what that writer committed. PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbSetupError> {
    Migrator::up(db, None).await.map_err(DbSetupError::Migrate)
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            super::redact("postgres://u:secret@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(
            super::redact("postgres://postgres@h/d"),
            "postgres://postgres@h/d"
        );
        assert_eq!(
            super::redact("sqlite://iuc.db?mode=rwc"),
            "sqlite://iuc.db?mode=rwc"
        );
    }
}
