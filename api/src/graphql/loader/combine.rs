//! One statement per wave on PostgreSQL.
//!
//! The batches of a wave (see `batcher.rs`) each have one statement to run, all ready at the
//! same moment: on a pairing's page, its participants, themes, SDGs, UCAP, programme region,
//! stakeholders and activities are seven. Run one by one, each costs PostgreSQL a Bind, an
//! Execute, a Sync, a snapshot and an implicit transaction, and costs the server a connection
//! from the pool and a round trip: with `pg_stat_statements`, about half of PostgreSQL's CPU on
//! the pairing page was that per-statement cost, not execution ("What stands in the way" in
//! docs/performance.md). Here a wave's statements go out as one:
//!
//! ```sql
//! SELECT (SELECT COALESCE(json_agg(q), '[]')::text FROM (<statement 1>) q) AS r0,
//!        (SELECT COALESCE(json_agg(q), '[]')::text FROM (<statement 2>) q) AS r1, …
//! ```
//!
//! Each subquery is uncorrelated, so PostgreSQL runs it once, and hands its rows back as a JSON
//! array of objects that `decode::Rows::from_json` reads (`json_agg` keeps the order of a sorted
//! subquery). The parts are put in the order of their text, so that the same wave of the same
//! query is the same statement text, prepared once per connection. A wave of one statement runs
//! as it is. SQLite runs every statement as it is: it has no round trips to save (it runs in
//! the server's process) and no `json_agg` of rows.
//!
//! When is a wave complete? Every batch task of the request is counted from the moment it is
//! spawned (`spawned`) to the moment it ends (`left`). The wave's statements go out when every
//! batch that entered the wave has handed its statement in (or ended without one), no batch is
//! on its way into the wave, and the only batches left are waiting for the wave to end (they
//! belong to the next one). Whoever makes that true (the last to hand in, or the last to end or
//! to start waiting) runs the statement. The counts are exact, not timed, so the number of
//! statements stays a function of the query's shape (the statement-count tests assert it on
//! both backends).

use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::LoadError;
use crate::metrics::RequestScope;
use crate::service::decode::Rows;
use crate::service::sql::Sql;

/// Runs a loader's statements: at once, or with the rest of its wave (PostgreSQL).
#[derive(Clone)]
pub struct Reader {
    db: DatabaseConnection,
    combiner: Option<Arc<Combiner>>,
}

impl Reader {
    pub fn new(db: DatabaseConnection, combiner: Option<Arc<Combiner>>) -> Self {
        Self { db, combiner }
    }

    /// The rows of `sql`.
    pub async fn rows(&self, sql: Sql) -> Result<Rows, LoadError> {
        let mut all = self.rows_of_each(vec![sql]).await?;
        Ok(all.remove(0))
    }

    /// The rows of each statement, in order. A batch hands its statements in together, once:
    /// that is how the combiner knows it has them all.
    pub async fn rows_of_each(&self, statements: Vec<Sql>) -> Result<Vec<Rows>, LoadError> {
        let Some(combiner) = &self.combiner else {
            let mut all = Vec::with_capacity(statements.len());
            for sql in &statements {
                all.push(run_alone(&self.db, sql).await.map_err(Arc::new)?);
            }
            return Ok(all);
        };
        let (reply, answer) = oneshot::channel();
        if let Some(wave) = combiner.submit(statements, reply) {
            combiner.run(wave).await;
        }
        answer.await.unwrap_or_else(|_| {
            Err(Arc::new(DbErr::Custom(
                "a wave's statement was dropped".into(),
            )))
        })
    }
}

/// A batch's statements, and where their rows go.
struct Submission {
    statements: Vec<Sql>,
    reply: oneshot::Sender<Result<Vec<Rows>, LoadError>>,
}

/// Where a request's batches stand (see the module's documentation).
#[derive(Default)]
struct State {
    /// Batch tasks spawned and not ended.
    tasks: usize,
    /// Batches in the running wave.
    entered: usize,
    /// Batch tasks waiting for the running wave to end.
    waiting: usize,
    /// Statements handed in for the running wave.
    pending: Vec<Submission>,
}

impl State {
    /// The wave's statements, if it is complete.
    fn complete(&mut self) -> Option<Vec<Submission>> {
        let arriving = self.tasks > self.entered + self.waiting;
        let unsubmitted = self.pending.len() < self.entered;
        if self.pending.is_empty() || arriving || unsubmitted {
            return None;
        }
        Some(std::mem::take(&mut self.pending))
    }
}

/// Gathers the statements of a request's waves (PostgreSQL).
pub struct Combiner {
    db: DatabaseConnection,
    state: Mutex<State>,
    /// The request's scope (statement counting), for a wave that an ending batch sends.
    scope: Option<Arc<RequestScope>>,
}

impl Combiner {
    /// A combiner for `db` if its backend gains from one (PostgreSQL).
    pub fn for_backend(db: &DatabaseConnection) -> Option<Arc<Combiner>> {
        (db.get_database_backend() == sea_orm::DbBackend::Postgres).then(|| {
            Arc::new(Combiner {
                db: db.clone(),
                state: Mutex::default(),
                scope: RequestScope::current(),
            })
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while the lock is held leaves counts, not broken invariants: go on.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A batch task was spawned.
    pub fn spawned(&self) {
        self.state().tasks += 1;
    }

    /// A batch entered the running wave.
    pub fn entered(&self) {
        self.state().entered += 1;
    }

    /// A batch task starts (`true`) or stops (`false`) waiting for the running wave to end.
    pub fn waiting(self: &Arc<Self>, waiting: bool) {
        let wave = {
            let mut state = self.state();
            if waiting {
                state.waiting += 1;
                state.complete()
            } else {
                state.waiting -= 1;
                None
            }
        };
        self.run_later(wave);
    }

    /// A batch of the running wave ended.
    pub fn left(self: &Arc<Self>) {
        let wave = {
            let mut state = self.state();
            state.tasks -= 1;
            state.entered -= 1;
            state.complete()
        };
        self.run_later(wave);
    }

    /// Hands in a batch's statements; the wave's, if this completed it.
    fn submit(
        &self,
        statements: Vec<Sql>,
        reply: oneshot::Sender<Result<Vec<Rows>, LoadError>>,
    ) -> Option<Vec<Submission>> {
        let mut state = self.state();
        state.pending.push(Submission { statements, reply });
        state.complete()
    }

    /// Runs `wave` in a task of its own, in the request's scope.
    fn run_later(self: &Arc<Self>, wave: Option<Vec<Submission>>) {
        let Some(wave) = wave else { return };
        let this = self.clone();
        let task = async move { this.run(wave).await };
        let scope = self.scope.clone();
        tokio::spawn(
            async move {
                match scope {
                    Some(scope) => RequestScope::run(scope, task).await,
                    None => task.await,
                }
            }
            .instrument(tracing::Span::current()),
        );
    }

    /// Runs a complete wave's statements as one and hands each batch its rows.
    async fn run(&self, wave: Vec<Submission>) {
        // Every statement with where it came from, in the order of their text.
        let mut parts: Vec<(String, usize, usize)> = Vec::new();
        for (batch, submission) in wave.iter().enumerate() {
            for (i, sql) in submission.statements.iter().enumerate() {
                parts.push((sql.shape(), batch, i));
            }
        }
        let result = if let [(_, batch, i)] = parts[..] {
            run_alone(&self.db, &wave[batch].statements[i])
                .await
                .map(|rows| vec![rows])
        } else {
            parts.sort();
            self.run_combined(&wave, &parts).await
        };
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => return fail(wave, e),
        };
        // Back to the batches, each in the order it handed its statements in.
        let mut answers: Vec<Vec<(usize, Rows)>> = wave.iter().map(|_| Vec::new()).collect();
        for ((_, batch, i), rows) in parts.iter().zip(rows) {
            answers[*batch].push((*i, rows));
        }
        for (submission, mut answer) in wave.into_iter().zip(answers) {
            answer.sort_by_key(|(i, _)| *i);
            let _ = submission
                .reply
                .send(Ok(answer.into_iter().map(|(_, rows)| rows).collect()));
        }
    }

    /// `parts` as one statement: one JSON column per part.
    async fn run_combined(
        &self,
        wave: &[Submission],
        parts: &[(String, usize, usize)],
    ) -> Result<Vec<Rows>, DbErr> {
        let mut sql = Sql::default();
        sql.push("SELECT ");
        for (n, (_, batch, i)) in parts.iter().enumerate() {
            if n > 0 {
                sql.push(", ");
            }
            sql.push("(SELECT COALESCE(json_agg(q), '[]')::text FROM (")
                .append(&wave[*batch].statements[*i])
                .push(&format!(") q) AS r{n}"));
        }
        let statement = sql.statement(self.db.get_database_backend());
        let row = crate::db::as_statements(parts.len(), self.db.query_one_raw(statement))
            .await?
            .ok_or_else(|| DbErr::RecordNotFound("a combined statement's row".into()))?;
        (0..parts.len())
            .map(|n| Rows::from_json(&row.try_get_by_index::<String>(n)?))
            .collect()
    }
}

/// Hands every statement of `wave` the error.
fn fail(wave: Vec<Submission>, error: DbErr) {
    let error = Arc::new(error);
    for part in wave {
        let _ = part.reply.send(Err(error.clone()));
    }
}

/// `sql` on its own.
async fn run_alone(db: &DatabaseConnection, sql: &Sql) -> Result<Rows, DbErr> {
    let statement = sql.statement(db.get_database_backend());
    Ok(Rows::Sql(db.query_all_raw(statement).await?))
}
