//! Batching that follows the query's shape rather than a clock.
//!
//! async-graphql's DataLoader collects keys for a fixed delay (1 ms by default) and then loads
//! them. The executor registers one level's keys over several turns (futures-util's
//! `FuturesUnordered` yields after two children wake themselves on their first poll), so a
//! timer cuts a level into a number of batches that depends on timing and on the number of
//! rows: exactly the N+1 drift the statement-count tests catch.
//!
//! Here batches go in waves instead. Every load counts as activity; a batch task yields to the
//! executor until a few consecutive yields saw no new activity (the request has registered
//! every key it can before it needs data), and until no batch of an earlier wave is still in
//! flight. Batches that are ready in the same quiet moment form one wave and run together; and
//! a load waits while a wave is in flight, so that it finds its key in the cache or joins the
//! next wave, whatever the order of the database's replies. A level of the query is then one
//! statement per loader, whatever the number of rows.

use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use tokio::sync::Notify;

/// Consecutive quiet yields before a batch is loaded.
const QUIET_YIELDS: u32 = 3;
/// Upper bound on the wait, in yields, so that a busy request still makes progress.
const MAX_YIELDS: u32 = 10_000;

/// What the batches of one request share.
#[derive(Default)]
pub struct Waves {
    /// Loads asked for so far.
    activity: AtomicU64,
    /// Batches running now.
    in_flight: AtomicU64,
    /// `activity` when the running wave started.
    wave: AtomicU64,
    /// Woken when the last running batch ends.
    done: Notify,
}

impl Waves {
    /// Waits for this batch's turn, and counts it as running.
    async fn enter(&self) {
        loop {
            until_quiet(&self.activity).await;
            let now = self.activity.load(Ordering::Acquire);
            if self.in_flight.load(Ordering::Acquire) == 0 {
                self.wave.store(now, Ordering::Release);
                break;
            }
            if now == self.wave.load(Ordering::Acquire) {
                // Nothing happened since the running wave started: this batch belongs to it.
                break;
            }
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) > 0 {
                notified.await;
            }
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// Waits until no batch is running: a load never registers while a batch is in flight,
    /// so it either finds its key in the cache or starts the next wave, whatever the order in
    /// which the running batches deliver.
    async fn settle(&self) {
        // The common case, without touching the Notify's lock: nothing is running.
        if self.in_flight.load(Ordering::Acquire) == 0 {
            return;
        }
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.in_flight.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    fn leave(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_waiters();
        }
    }
}

/// A DataLoader with per-request caching and batching in waves.
pub struct Batcher<T> {
    inner: DataLoader<T, HashMapCache>,
    waves: Arc<Waves>,
}

async fn until_quiet(activity: &AtomicU64) {
    let mut last = activity.load(Ordering::Acquire);
    let mut quiet = 0;
    for _ in 0..MAX_YIELDS {
        tokio::task::yield_now().await;
        let now = activity.load(Ordering::Acquire);
        if now == last {
            quiet += 1;
            if quiet >= QUIET_YIELDS {
                return;
            }
        } else {
            quiet = 0;
            last = now;
        }
    }
}

impl<T: Send + Sync + 'static> Batcher<T> {
    pub fn new(loader: T, waves: &Arc<Waves>, max_batch: usize) -> Self {
        let shared = waves.clone();
        let inner = DataLoader::with_cache(
            loader,
            move |batch| {
                let waves = shared.clone();
                tokio::spawn(async move {
                    waves.enter().await;
                    batch.await;
                    waves.leave();
                })
            },
            HashMapCache::default(),
        )
        .delay(Duration::ZERO)
        .max_batch_size(max_batch);
        Self {
            inner,
            waves: waves.clone(),
        }
    }

    /// One value by key (batched with every other key asked for before the request goes quiet).
    pub async fn load_one<K>(&self, key: K) -> Result<Option<T::Value>, T::Error>
    where
        T: Loader<K>,
        K: Send + Sync + Hash + Eq + Clone + 'static,
    {
        self.waves.settle().await;
        self.waves.activity.fetch_add(1, Ordering::AcqRel);
        self.inner.load_one(key).await
    }

    /// Values by keys, in one batch with the rest of the level.
    pub async fn load_many<K, I>(
        &self,
        keys: I,
    ) -> Result<std::collections::HashMap<K, T::Value>, T::Error>
    where
        T: Loader<K>,
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = K>,
    {
        self.waves.settle().await;
        self.waves.activity.fetch_add(1, Ordering::AcqRel);
        self.inner.load_many(keys).await
    }
}
