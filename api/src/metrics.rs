//! Prometheus metrics, written by hand in the text exposition format (a handful of counters and
//! histograms do not justify a metrics stack), and the per-request scope that lets the database
//! callback and the loaders attribute their work to the request that caused it.
//!
//! Operation names come from clients, so which of them get a label of their own is decided by
//! `names.rs` (trusted documents, keyed callers, anonymous names that proved themselves over
//! time; at most `names::MAX_LABELLED`); the rest are counted under `other`.

pub mod names;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sea_orm::DatabaseConnection;

use names::Labels;
pub use names::{Clock, ManualClock, Sender, SystemClock};

/// Request latency buckets, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// SQL statements per request.
const STATEMENT_BUCKETS: &[f64] = &[0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];
/// Keys per DataLoader batch.
const BATCH_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 500.0, 1000.0, 10000.0,
];

/// A histogram with fixed buckets.
#[derive(Debug, Clone)]
struct Histogram {
    bounds: &'static [f64],
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            counts: vec![0; bounds.len()],
            sum: 0.0,
            count: 0,
        }
    }

    fn observe(&mut self, value: f64) {
        for (bound, count) in self.bounds.iter().zip(self.counts.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                format!("{{{s}}}")
            }
        };
        let _ = writeln!(out, "{name}_sum{} {}", braces(labels), self.sum);
        let _ = writeln!(out, "{name}_count{} {}", braces(labels), self.count);
    }
}

/// How an operation ended, as counted in `iuc_graphql_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Executed without errors.
    Ok,
    /// Executed, with field errors in the response.
    Error,
    /// Not executed: a malformed request, a parse or validation error, an untrusted document.
    Invalid,
    /// Refused by a query limit (depth, aliases, root fields, cost).
    Refused,
    /// Refused by the rate limit.
    RateLimited,
    /// Cut by the request timeout.
    Timeout,
    /// The database was unavailable.
    Unavailable,
}

impl Outcome {
    const ALL: [Outcome; 7] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Invalid,
        Outcome::Refused,
        Outcome::RateLimited,
        Outcome::Timeout,
        Outcome::Unavailable,
    ];

    fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Invalid => "invalid",
            Outcome::Refused => "refused",
            Outcome::RateLimited => "rate_limited",
            Outcome::Timeout => "timeout",
            Outcome::Unavailable => "unavailable",
        }
    }
}

/// One operation name's counts by outcome and its latency.
struct OperationStats {
    outcomes: [u64; Outcome::ALL.len()],
    latency: Histogram,
}

#[derive(Default)]
struct Inner {
    /// Which names are labelled.
    labels: Labels,
    /// label (a labelled operation name, `anonymous`, `other`, `batch`) → its counts.
    operations: BTreeMap<String, OperationStats>,
    statements: Option<Histogram>,
    /// loader → keys per batch.
    batches: BTreeMap<&'static str, Histogram>,
    /// client kind (`anonymous`, `key`) → refusals.
    rate_limited: BTreeMap<&'static str, u64>,
}

/// The server's metrics. Shared by every request (`AppState::metrics`).
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    /// GraphQL operations executed (a batch counts each of its operations).
    pub operations: AtomicU64,
    /// Requests whose handling panicked (answered with a masked 500).
    pub panics: AtomicU64,
    /// GraphQL-over-WebSocket connections open now.
    pub websocket_connections: AtomicU64,
    /// Operations (subscriptions, queries, mutations) in flight on WebSocket connections now.
    pub websocket_operations: AtomicU64,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A poisoned lock only means a panic elsewhere mid-update: the counters are still usable.
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut inner)
    }

    /// Metrics whose labels always include the operations named in `trusted` (the trusted
    /// documents' names), on `clock`.
    pub fn new(trusted: Vec<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                labels: Labels::new(trusted, clock),
                ..Inner::default()
            }),
            operations: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            websocket_connections: AtomicU64::new(0),
            websocket_operations: AtomicU64::new(0),
        }
    }

    /// The entry of `label` (always there: made when missing). Allocates only for a new label.
    fn stats<'a>(inner: &'a mut Inner, label: &str) -> Option<&'a mut OperationStats> {
        if !inner.operations.contains_key(label) {
            inner.operations.insert(
                label.to_owned(),
                OperationStats {
                    outcomes: [0; Outcome::ALL.len()],
                    latency: Histogram::new(LATENCY_BUCKETS),
                },
            );
        }
        inner.operations.get_mut(label)
    }

    /// Counts one operation with its outcome, under its name when the name has (or by this use
    /// earns) a label, else under `other`; `anonymous` without a name.
    pub fn operation(&self, name: &str, outcome: Outcome, sender: Sender) {
        self.operations.fetch_add(1, Ordering::Relaxed);
        let ran = matches!(outcome, Outcome::Ok | Outcome::Error);
        self.with(|inner| {
            let mut released = Vec::new();
            let label = match name {
                "" => "anonymous",
                _ if inner.labels.admit(name, sender, ran, &mut released) => name,
                _ => "other",
            };
            for gone in released {
                inner.operations.remove(&gone);
            }
            if let Some(stats) = Self::stats(inner, label) {
                stats.outcomes[outcome.index()] += 1;
            }
        });
    }

    /// Records one HTTP request's latency (labelled by its operation as `operation` counted it,
    /// or `batch`) and its SQL statements.
    pub fn request(&self, name: &str, seconds: f64, statements: u64) {
        self.with(|inner| {
            let label = match name {
                "" => "anonymous",
                "batch" => "batch",
                _ if inner.labels.labelled(name) => name,
                _ => "other",
            };
            if let Some(stats) = Self::stats(inner, label) {
                stats.latency.observe(seconds);
            }
            inner
                .statements
                .get_or_insert_with(|| Histogram::new(STATEMENT_BUCKETS))
                .observe(statements as f64);
        });
    }

    /// Names holding a label slot now (bounded by `names::MAX_LABELLED`).
    pub fn labelled_names(&self) -> usize {
        self.with(|inner| inner.labels.slots())
    }

    /// Records the number of keys of one DataLoader batch.
    pub fn batch(&self, loader: &'static str, keys: usize) {
        self.with(|inner| {
            inner
                .batches
                .entry(loader)
                .or_insert_with(|| Histogram::new(BATCH_BUCKETS))
                .observe(keys as f64);
        });
    }

    /// Counts a rate-limit refusal.
    pub fn rate_limited(&self, kind: &'static str) {
        self.with(|inner| *inner.rate_limited.entry(kind).or_default() += 1);
    }

    /// The text exposition: these metrics, the total statement counter and the pool's gauges.
    pub fn render(
        &self,
        statements: &crate::db::StatementCounter,
        db: &DatabaseConnection,
    ) -> String {
        let mut out = String::new();
        let operations = self.operations.load(Ordering::Relaxed);
        let panics = self.panics.load(Ordering::Relaxed);
        let scalars: [(&str, &str, &str, u64); 4] = [
            (
                "iuc_graphql_operations_total",
                "counter",
                "GraphQL operations received (a batch counts each of its operations).",
                operations,
            ),
            (
                "iuc_sql_statements_total",
                "counter",
                "SQL statements the server wrote (on PostgreSQL a wave's statements go to the database as one: see iuc_sql_round_trips_total).",
                statements.get(),
            ),
            (
                "iuc_sql_round_trips_total",
                "counter",
                "Statements sent to the database: each combined statement of a wave counts once.",
                statements.round_trips(),
            ),
            (
                "iuc_panics_total",
                "counter",
                "Requests that failed with a panic (answered 500; the process kept serving).",
                panics,
            ),
        ];
        for (name, kind, help, value) in scalars {
            scalar(&mut out, name, kind, help, value);
        }
        self.with(|inner| {
            render_operations(&mut out, inner);
            render_work(&mut out, inner);
        });
        let (size, idle, max) = pool_use(db);
        let gauges: [(&str, &str, u64); 5] = [
            (
                "iuc_websocket_connections",
                "GraphQL-over-WebSocket connections open now.",
                self.websocket_connections.load(Ordering::Relaxed),
            ),
            (
                "iuc_websocket_operations",
                "Operations in flight on WebSocket connections now (subscriptions included).",
                self.websocket_operations.load(Ordering::Relaxed),
            ),
            (
                "iuc_db_pool_connections",
                "Open connections in the database pool.",
                u64::from(size),
            ),
            (
                "iuc_db_pool_idle_connections",
                "Idle connections in the database pool.",
                idle as u64,
            ),
            (
                "iuc_db_pool_max_connections",
                "Most connections the database pool opens.",
                u64::from(max),
            ),
        ];
        for (name, help, value) in gauges {
            scalar(&mut out, name, "gauge", help, value);
        }
        out
    }
}

/// A metric's `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A metric without labels: its header and its value.
fn scalar(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    header(out, name, kind, help);
    let _ = writeln!(out, "{name} {value}");
}

/// Operations by name and outcome, and their latency.
fn render_operations(out: &mut String, inner: &Inner) {
    header(
        out,
        "iuc_graphql_requests_total",
        "counter",
        "GraphQL operations by operation name and outcome.",
    );
    for (name, stats) in &inner.operations {
        for outcome in Outcome::ALL {
            let count = stats.outcomes[outcome.index()];
            if count > 0 {
                let _ = writeln!(
                    out,
                    "iuc_graphql_requests_total{{operation=\"{}\",outcome=\"{}\"}} {count}",
                    escape(name),
                    outcome.as_str()
                );
            }
        }
    }
    header(
        out,
        "iuc_graphql_request_duration_seconds",
        "histogram",
        "Time to answer a GraphQL HTTP request, by operation name (`batch` for batches).",
    );
    for (name, stats) in &inner.operations {
        let histogram = &stats.latency;
        if histogram.count > 0 {
            histogram.write(
                out,
                "iuc_graphql_request_duration_seconds",
                &format!("operation=\"{}\"", escape(name)),
            );
        }
    }
}

/// Statements per request, keys per loader batch, rate-limit refusals.
fn render_work(out: &mut String, inner: &Inner) {
    header(
        out,
        "iuc_sql_statements_per_request",
        "histogram",
        "SQL statements one GraphQL HTTP request issued.",
    );
    inner
        .statements
        .clone()
        .unwrap_or_else(|| Histogram::new(STATEMENT_BUCKETS))
        .write(out, "iuc_sql_statements_per_request", "");
    header(
        out,
        "iuc_dataloader_batch_keys",
        "histogram",
        "Keys per DataLoader batch, by loader.",
    );
    for (loader, histogram) in &inner.batches {
        histogram.write(
            out,
            "iuc_dataloader_batch_keys",
            &format!("loader=\"{}\"", escape(&short_type_name(loader))),
        );
    }
    header(
        out,
        "iuc_rate_limited_total",
        "counter",
        "Operations refused by the rate limit, by kind of client.",
    );
    for kind in ["anonymous", "key"] {
        let count = inner.rate_limited.get(kind).copied().unwrap_or(0);
        let _ = writeln!(out, "iuc_rate_limited_total{{client=\"{kind}\"}} {count}");
    }
}

/// (open, idle, most) connections of the pool.
fn pool_use(db: &DatabaseConnection) -> (u32, usize, u32) {
    match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        sea_orm::DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => (0, 0, 0),
    }
}

/// `api::graphql::loader::by_id::ById<entity::country::Entity>` → `ById<country::Entity>`:
/// every path shortened to its last segment, or its last two when that is `Entity` or `Model`.
fn short_type_name(full: &str) -> String {
    let mut out = String::new();
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let segments: Vec<&str> = token.split("::").collect();
        let keep = match segments.last() {
            Some(&"Entity" | &"Model") if segments.len() >= 2 => 2,
            _ => 1,
        };
        out.push_str(&segments[segments.len().saturating_sub(keep)..].join("::"));
        token.clear();
    };
    for c in full.chars() {
        if matches!(c, '<' | '>' | ',' | ' ' | '(' | ')') {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// Escapes a label value (backslash, quote, newline).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// What one request's work is attributed to: its SQL statements (counted by the database
/// callback) and the metrics its loaders report to. Set as a task-local around the request's
/// execution, and carried into the loaders' batch tasks (`graphql::loader::Batcher`).
pub struct RequestScope {
    pub statements: AtomicU64,
    pub metrics: Arc<Metrics>,
}

tokio::task_local! {
    static SCOPE: Arc<RequestScope>;
}

impl RequestScope {
    pub fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            statements: AtomicU64::new(0),
            metrics,
        })
    }

    /// The scope of the request being executed on this task, if any.
    pub fn current() -> Option<Arc<RequestScope>> {
        SCOPE.try_with(Arc::clone).ok()
    }

    /// Runs `future` inside `scope`.
    pub async fn run<F: std::future::Future>(scope: Arc<RequestScope>, future: F) -> F::Output {
        SCOPE.scope(scope, future).await
    }

    /// Counts `n` SQL statements for the current request (no-op outside a request).
    pub fn count_statements(n: u64) {
        let _ = SCOPE.try_with(|scope| scope.statements.fetch_add(n, Ordering::Relaxed));
    }
}
