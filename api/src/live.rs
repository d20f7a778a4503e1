//! Live changes: how an API instance learns that the change feed grew, and hands the new
//! events to its subscribers.
//!
//! One pump per instance (started by the first subscriber) reads the feed after the last
//! position it handed out and broadcasts each event, in order, to every subscriber of the
//! instance. It reads when:
//! - PostgreSQL notifies the feed's channel: every feed-writing transaction issues
//!   `pg_notify` in the transaction (`service::changes`), so the notification arrives, on
//!   every instance listening to the same database, only once the change committed;
//! - this process committed a write (`service::changes::committed`): on SQLite, where there
//!   is no notification;
//! - a second passed: a write from another process on SQLite (the `import` command), or a
//!   notification lost while the listening connection was being re-established.
//!
//! Memory stays bounded: the broadcast channel keeps the last `BACKLOG` events; a subscriber
//! that falls further behind is told it lagged and reads the rest from the database
//! (`subscribe`), never from memory.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use entity::change_event;
use futures_util::Stream;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::sync::{OnceCell, broadcast, watch};

use crate::error::AppError;
use crate::service::changes::{self, Filter};

/// Events the broadcast keeps for subscribers that are behind.
const BACKLOG: usize = 1024;
/// Events read per statement, by the pump and by a subscriber catching up.
const BATCH: u64 = 100;
/// How often the pump looks at the feed without being told to.
const POLL: Duration = Duration::from_secs(1);

/// An instance's live feed.
pub struct Live {
    db: DatabaseConnection,
    started: OnceCell<broadcast::Sender<Arc<change_event::Model>>>,
    /// Dropped with the `Live`: the pump then stops.
    stop: watch::Sender<()>,
}

impl Live {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            started: OnceCell::new(),
            stop: watch::channel(()).0,
        }
    }

    /// The events committed after `after` that pass `filter`: first those already in the
    /// feed, read from the database, then the live ones as they commit. An event is delivered
    /// once, in feed order, with no gap between the two parts: the subscription to the
    /// broadcast is taken before the first read, and what both deliver is skipped by
    /// position.
    pub async fn subscribe(
        &self,
        after: i64,
        filter: Filter,
    ) -> Result<impl Stream<Item = Result<Arc<change_event::Model>, AppError>> + use<>, AppError>
    {
        let sender = self.started.get_or_try_init(|| self.start()).await?.clone();
        let follower = Follower {
            db: self.db.clone(),
            live: sender.subscribe(),
            position: after,
            filter,
            replaying: true,
            buffer: VecDeque::new(),
            failed: false,
        };
        Ok(futures_util::stream::unfold(follower, |mut f| async move {
            let next = f.next().await;
            next.map(|event| (event, f))
        }))
    }

    /// Starts the pump at the feed's current end.
    async fn start(&self) -> Result<broadcast::Sender<Arc<change_event::Model>>, AppError> {
        let position = changes::latest(&self.db).await?;
        let (sender, _) = broadcast::channel(BACKLOG);
        let listener = if self.db.get_database_backend() == DbBackend::Postgres {
            let pool = self.db.get_postgres_connection_pool();
            let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool)
                .await
                .map_err(|e| AppError::Unavailable(format!("LISTEN connection: {e}")))?;
            listener
                .listen(changes::CHANNEL)
                .await
                .map_err(|e| AppError::Unavailable(format!("LISTEN: {e}")))?;
            Some(listener)
        } else {
            None
        };
        let pump = Pump {
            db: self.db.clone(),
            sender: sender.clone(),
            position,
        };
        tokio::spawn(pump.run(listener, self.stop.subscribe()));
        Ok(sender)
    }
}

/// Reads new events and broadcasts them.
struct Pump {
    db: DatabaseConnection,
    sender: broadcast::Sender<Arc<change_event::Model>>,
    position: i64,
}

impl Pump {
    async fn run(
        mut self,
        mut listener: Option<sea_orm::sqlx::postgres::PgListener>,
        mut stop: watch::Receiver<()>,
    ) {
        let mut commits = changes::commits();
        loop {
            let notified = async {
                match listener.as_mut() {
                    // The notification's payload is empty: it only says "read".
                    Some(l) => {
                        if let Err(e) = l.recv().await {
                            tracing::warn!(error = %e, "the change feed's LISTEN connection failed");
                            tokio::time::sleep(POLL).await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stop.changed() => return,
                _ = notified => {}
                _ = commits.changed() => {}
                () = tokio::time::sleep(POLL) => {}
            }
            if let Err(e) = self.drain().await {
                tracing::warn!(error = ?e, "reading the change feed failed");
            }
        }
    }

    /// Broadcasts every event after the last one handed out.
    async fn drain(&mut self) -> Result<(), AppError> {
        loop {
            let events = changes::page(&self.db, self.position, BATCH, &Filter::default()).await?;
            let full = events.len() as u64 == BATCH;
            for event in events {
                self.position = event.position;
                // No receiver is not an error: nobody is subscribed right now.
                let _ = self.sender.send(Arc::new(event));
            }
            if !full {
                return Ok(());
            }
        }
    }
}

/// One subscriber's place in the feed.
struct Follower {
    db: DatabaseConnection,
    live: broadcast::Receiver<Arc<change_event::Model>>,
    /// The last position delivered or passed over.
    position: i64,
    filter: Filter,
    /// Reading from the database (at the start, and after lagging behind the broadcast).
    replaying: bool,
    buffer: VecDeque<change_event::Model>,
    /// A read failed: the error was delivered and the stream ends (the client resubscribes
    /// from its last cursor), rather than retrying in a loop against a failing database.
    failed: bool,
}

impl Follower {
    async fn next(&mut self) -> Option<Result<Arc<change_event::Model>, AppError>> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.position = event.position;
                return Some(Ok(Arc::new(event)));
            }
            if self.replaying {
                let page = match changes::page(&self.db, self.position, BATCH, &self.filter).await {
                    Ok(page) => page,
                    Err(e) => {
                        self.failed = true;
                        return Some(Err(e));
                    }
                };
                self.replaying = page.len() as u64 == BATCH;
                self.buffer.extend(page);
                continue;
            }
            match self.live.recv().await {
                Ok(event) if event.position > self.position => {
                    self.position = event.position;
                    if self.filter.matches(&event) {
                        return Some(Ok(event));
                    }
                }
                Ok(_) => {}
                // Too far behind the broadcast: the database has what it dropped.
                Err(broadcast::error::RecvError::Lagged(_)) => self.replaying = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}
