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
//! flight: otherwise whichever reply came first would decide how the next level's keys are
//! split. Batches that are ready in the same quiet moment form one wave and run together, and
//! a wave's results are handed over together (each batch waits, after its query, for the
//! others of its wave), so that the request moves on from the same state whatever the order
//! of the database's replies. A level of the query is then one statement per loader, whatever
//! the number of rows.

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
    /// Batches of the running wave whose query has returned.
    fetched: AtomicU64,
    /// Woken when every batch of the running wave has fetched.
    all_fetched: Notify,
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

    /// Called by a batch whose query has returned: waits for the rest of its wave.
    async fn fetched(&self) {
        let fetched = self.fetched.fetch_add(1, Ordering::AcqRel) + 1;
        // Batches that became ready in the same quiet moment may still be counting their quiet
        // yields: give them as many yields to join the wave before it is declared complete.
        for _ in 0..=QUIET_YIELDS {
            tokio::task::yield_now().await;
        }
        if fetched >= self.in_flight.load(Ordering::Acquire)
            && self.fetched.load(Ordering::Acquire) >= self.in_flight.load(Ordering::Acquire)
        {
            self.all_fetched.notify_waiters();
            return;
        }
        loop {
            let notified = self.all_fetched.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.fetched.load(Ordering::Acquire) >= self.in_flight.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn leave(&self) {
        self.fetched.fetch_sub(1, Ordering::AcqRel);
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_waiters();
        }
    }
}

/// A loader that, after its query, waits for the other batches of its wave.
pub struct Waved<L> {
    inner: L,
    waves: Arc<Waves>,
}

impl<K, L> Loader<K> for Waved<L>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    type Value = L::Value;
    type Error = L::Error;

    async fn load(&self, keys: &[K]) -> Result<std::collections::HashMap<K, L::Value>, L::Error> {
        let result = self.inner.load(keys).await;
        self.waves.fetched().await;
        result
    }
}

/// A DataLoader with per-request caching and batching in waves.
pub struct Batcher<T> {
    inner: DataLoader<Waved<T>, HashMapCache>,
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
            Waved {
                inner: loader,
                waves: waves.clone(),
            },
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
        self.waves.activity.fetch_add(1, Ordering::AcqRel);
        self.inner.load_many(keys).await
    }
}
