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
//! Only small results go through JSON. PostgreSQL spends about 90 ns building each JSON value
//! and the server about 60 ns reading it (measured on the pairings table: its participants with
//! their places, about 150 rows of 40 columns, cost PostgreSQL 0.6 ms and the server 0.4 ms more
//! per request as JSON than as rows), against about 100 µs that a round trip costs both. So
//! each statement comes with an estimate of the values it returns (keys × rows per key ×
//! columns), and one over [`MAX_COMBINED_VALUES`] runs on its own, as rows, beside the wave's
//! combined statement: a pairing's page (one parent) is combined whole, the pairings table's
//! participants (50 parents) are not.
//!
//! When is a wave complete? Every batch task of the request is counted from the moment it is
//! spawned (`spawned`) to the moment it ends (`left`). The wave's statements go out when every
//! batch that entered the wave is ready (it handed its statements in, or has none to combine),
//! no batch is on its way into the wave, and the only batches left are waiting for the wave to
//! end (they belong to the next one). Whoever makes that true (the last to be ready, or the last
//! to end or to start waiting) runs the statement. The counts are exact, not timed: the round
//! trips of a request are at most its statements, which the query's shape bounds
//! (`tests/statements.rs` asserts both).

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use tokio::sync::oneshot;
use tracing::Instrument;

use super::LoadError;
use crate::metrics::RequestScope;
use crate::service::decode::Rows;
use crate::service::sql::Sql;

/// Estimated values (rows × columns) over which a statement runs on its own rather than as
/// JSON in its wave's statement (see the module's documentation).
pub const MAX_COMBINED_VALUES: usize = 1_000;

tokio::task_local! {
    /// Whether the running batch is ready for its wave (see [`Combiner::ready`]); set only
    /// inside a batch task ([`in_batch`]).
    static READY: Cell<bool>;
}

/// Runs a batch task's work so that its statements can join its wave.
pub async fn in_batch<F: std::future::Future>(future: F) -> F::Output {
    READY.scope(Cell::new(false), future).await
}

/// Whether the running batch was ready for its wave (false outside a batch).
pub fn batch_was_ready() -> bool {
    READY.try_with(Cell::get).unwrap_or(false)
}

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

    /// The rows of `sql`, which returns about `values` values (rows × columns).
    pub async fn rows(&self, sql: Sql, values: usize) -> Result<Rows, LoadError> {
        let mut all = self.rows_of_each(vec![(sql, values)]).await?;
        Ok(all.remove(0))
    }

    /// The rows of each statement (with its estimated values), in order. A batch hands its
    /// statements in together, once: that is how the combiner knows it has them all.
    pub async fn rows_of_each(
        &self,
        statements: Vec<(Sql, usize)>,
    ) -> Result<Vec<Rows>, LoadError> {
        // Outside a batch task, or already counted ready: nothing to wait for.
        let combiner = match &self.combiner {
            Some(combiner) if READY.try_with(|ready| !ready.replace(true)) == Ok(true) => combiner,
            _ => return self.each_alone(statements).await,
        };
        let (small, large): (Vec<_>, Vec<_>) = statements
            .into_iter()
            .enumerate()
            .partition(|(_, (_, values))| *values <= MAX_COMBINED_VALUES);
        let combined = async {
            if small.is_empty() {
                // Nothing of ours to combine, but this may complete the others' wave.
                if let Some(wave) = combiner.ready(None) {
                    combiner.run(wave).await;
                }
                return Ok(Vec::new());
            }
            let (reply, answer) = oneshot::channel();
            let sql = small.iter().map(|(_, (sql, _))| sql.clone()).collect();
            if let Some(wave) = combiner.ready(Some(Submission {
                statements: sql,
                reply,
            })) {
                combiner.run(wave).await;
            }
            answer.await.unwrap_or_else(|_| {
                Err(Arc::new(DbErr::Custom(
                    "a wave's statement was dropped".into(),
                )))
            })
        };
        let alone = self.each_alone(large.iter().map(|(_, s)| s.clone()).collect());
        let (combined, alone) = futures_util::future::join(combined, alone).await;
        let mut all: Vec<(usize, Rows)> = small.iter().map(|(i, _)| *i).zip(combined?).collect();
        all.extend(large.iter().map(|(i, _)| *i).zip(alone?));
        all.sort_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, rows)| rows).collect())
    }

    /// Each statement on its own, one after the other.
    async fn each_alone(&self, statements: Vec<(Sql, usize)>) -> Result<Vec<Rows>, LoadError> {
        let mut all = Vec::with_capacity(statements.len());
        for (sql, _) in &statements {
            all.push(run_alone(&self.db, sql).await.map_err(Arc::new)?);
        }
        Ok(all)
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
    /// Batches in the running wave that are ready: they handed their statements in, or have
    /// none to combine.
    ready: usize,
    /// Batch tasks waiting for the running wave to end.
    waiting: usize,
    /// Statements handed in for the running wave.
    pending: Vec<Submission>,
}

impl State {
    /// The wave's statements, if it is complete.
    fn complete(&mut self) -> Option<Vec<Submission>> {
        let arriving = self.tasks > self.entered + self.waiting;
        let unready = self.ready < self.entered;
        if self.pending.is_empty() || arriving || unready {
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

    /// A batch of the running wave ended (`was_ready`: it had been counted ready).
    pub fn left(self: &Arc<Self>, was_ready: bool) {
        let wave = {
            let mut state = self.state();
            state.tasks -= 1;
            state.entered -= 1;
            if was_ready {
                state.ready -= 1;
            }
            state.complete()
        };
        self.run_later(wave);
    }

    /// The running batch is ready, with its statements to combine (`None`: it has none); the
    /// wave's statements, if this completed it.
    fn ready(&self, submission: Option<Submission>) -> Option<Vec<Submission>> {
        let mut state = self.state();
        state.ready += 1;
        state.pending.extend(submission);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn submission() -> Submission {
        let (reply, _) = oneshot::channel();
        let mut sql = Sql::default();
        sql.push("SELECT 1");
        Submission {
            statements: vec![sql],
            reply,
        }
    }

    /// `tasks` spawned, `entered` of them in the wave, `waiting` for the next.
    fn state(tasks: usize, entered: usize, waiting: usize) -> State {
        State {
            tasks,
            entered,
            waiting,
            ..State::default()
        }
    }

    fn ready(state: &mut State, with_statements: bool) -> Option<usize> {
        state.ready += 1;
        state.pending.extend(with_statements.then(submission));
        state.complete().map(|wave| wave.len())
    }

    #[test]
    fn a_wave_goes_out_when_its_last_batch_is_ready() {
        let mut wave = state(3, 3, 0);
        assert_eq!(ready(&mut wave, true), None);
        assert_eq!(ready(&mut wave, true), None, "one batch is not ready yet");
        assert_eq!(ready(&mut wave, true), Some(3));
        assert!(wave.pending.is_empty());
    }

    #[test]
    fn a_batch_without_statements_to_combine_completes_the_wave_without_joining_it() {
        let mut wave = state(3, 3, 0);
        assert_eq!(ready(&mut wave, true), None);
        assert_eq!(ready(&mut wave, true), None);
        assert_eq!(ready(&mut wave, false), Some(2));
        // Nothing handed in: nothing to send.
        let mut empty = state(1, 1, 0);
        assert_eq!(ready(&mut empty, false), None);
    }

    #[test]
    fn a_batch_on_its_way_in_is_waited_for_and_one_waiting_for_the_next_wave_is_not() {
        // Four tasks: two in the wave, one still arriving, one waiting for the next wave.
        let mut wave = state(4, 2, 1);
        assert_eq!(ready(&mut wave, true), None);
        assert_eq!(ready(&mut wave, true), None, "the arriving batch may join");
        // It enters and hands in its statement: the wave is complete, the waiting one aside.
        wave.entered += 1;
        assert_eq!(ready(&mut wave, true), Some(3));
    }

    #[test]
    fn a_batch_that_ends_without_reading_completes_the_wave() {
        let mut wave = state(2, 2, 0);
        assert_eq!(ready(&mut wave, true), None);
        // The other batch ends without a statement (e.g. its keys were all cached).
        wave.tasks -= 1;
        wave.entered -= 1;
        assert_eq!(wave.complete().map(|w| w.len()), Some(1));
    }
}
