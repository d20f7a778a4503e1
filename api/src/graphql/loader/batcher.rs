//! Batching that follows the query's shape rather than a clock.
//!
//! async-graphql's DataLoader collects keys for a fixed delay (1 ms by default) and then loads
//! them. The executor registers one level's keys over several turns (futures-util's
//! `FuturesUnordered` yields after two children wake themselves on their first poll), so a
//! timer cuts a level into a number of batches that depends on timing and on the number of
//! rows: exactly the N+1 drift the statement-count tests catch.
//!
//! Here batches go in waves instead. Every load counts as activity; a batch task yields to the
//! executor until the request is quiet: its execution is neither running nor woken to run (see
//! [`Waves::track`]: then it has registered every key it can before it needs data), and a few
//! consecutive yields saw no new activity; and until no batch of an earlier wave is still in
//! flight. (Activity alone is not enough on a multi-threaded runtime: a batch task on one worker
//! can see a few quiet yields while the request, running on the other, is between two loads,
//! and load a wave early with part of its keys.) Batches that are ready in the same quiet moment
//! form one wave and run together; and a load waits while a wave is in flight, so that it finds
//! its key in the cache or joins the next wave, whatever the order of the database's replies. A level of the query is then one
//! statement per loader, whatever the number of rows.
//!
//! Batches run in tasks of their own; each carries the request's tracing span and its
//! `RequestScope` (statement counting, metrics), and each load runs in a `loader` span with the
//! number of keys, recorded in the batch-size histogram. Neither changes when or how batches run.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use tokio::sync::Notify;
use tracing::Instrument;

use super::budget::BudgetExceeded;
use super::budget::{OutputBudget, Weigh};
use super::combine::{self, Combiner};
use crate::metrics::RequestScope;

/// Consecutive quiet yields before a batch is loaded.
const QUIET_YIELDS: u32 = 2;
/// Upper bound on the wait, so that a batch still loads if its request never looks quiet.
/// It is a time, not a number of yields: on a loaded machine the thread running the request
/// can be descheduled in the middle of a poll (still flagged as running) for longer than
/// 10,000 yields of the batch task on the other worker take, and a count cut waves in two
/// (the deep query's statement-count test saw 17 statements instead of 16 under CI load).
const MAX_WAIT: Duration = Duration::from_millis(500);

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
    /// The request's execution is being polled now (see `track`).
    running: AtomicBool,
    /// The request's execution was woken and has not been polled since.
    woken: AtomicBool,
    /// What the operation's answer may still hold (see `budget.rs`).
    pub budget: OutputBudget,
    /// Gathers each wave's statements into one (PostgreSQL; see `combine.rs`).
    pub combiner: Option<Arc<Combiner>>,
}

impl Waves {
    /// Runs the request's execution so that its batches know when it is quiet: neither being
    /// polled nor woken to be polled, i.e. waiting for data. Loads outside a tracked execution
    /// still batch, by activity alone.
    /// The waves of one operation whose answer may hold `output_limit` bytes (0: no limit).
    pub fn with_budget(output_limit: u64, combiner: Option<Arc<Combiner>>) -> Self {
        Self {
            budget: OutputBudget::new(output_limit),
            combiner,
            ..Self::default()
        }
    }

    pub fn track<F: Future>(self: Arc<Self>, future: F) -> impl Future<Output = F::Output> {
        Tracked {
            future: Box::pin(future),
            waves: self,
        }
    }

    /// The request is running or about to run: it may still register keys.
    fn busy(&self) -> bool {
        self.running.load(Ordering::Acquire) || self.woken.load(Ordering::Acquire)
    }

    /// Waits for this batch's turn, and counts it as running.
    async fn enter(&self) {
        loop {
            until_quiet(self).await;
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
                // Waiting for the running wave, this batch holds none of its statements.
                if let Some(combiner) = &self.combiner {
                    combiner.waiting(true);
                }
                notified.await;
                if let Some(combiner) = &self.combiner {
                    combiner.waiting(false);
                }
            }
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if let Some(combiner) = &self.combiner {
            combiner.entered();
        }
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
        if let Some(combiner) = &self.combiner {
            combiner.left(combine::batch_was_ready());
        }
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.done.notify_waiters();
        }
    }
}

/// Leaves the wave when dropped: when its batch ends, or unwinds.
struct Leaving<'a>(&'a Waves);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

/// A DataLoader with per-request caching and batching in waves.
pub struct Batcher<T> {
    inner: DataLoader<Measured<T>, HashMapCache>,
    waves: Arc<Waves>,
    /// Values another loader read along with its own ([`Batcher::feed_many`]), by key (a
    /// `HashMap<K, V>`): `load_one` finds them here without a trip through the DataLoader, whose
    /// every call takes its lock and builds a map of results (on the pairings table, a
    /// participant's place and the place's country: 300 such hits per request, 4% of the
    /// server's instructions). They are in the DataLoader's cache too, for `load_many`.
    fed: Mutex<Option<Box<dyn Any + Send + Sync>>>,
}

/// A loader whose batches are traced and measured.
pub struct Measured<T> {
    inner: T,
    /// `std::any::type_name` of the loader (shortened when metrics are rendered).
    name: &'static str,
}

impl<K, T> Loader<K> for Measured<T>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    T: Loader<K>,
{
    type Value = T::Value;
    type Error = T::Error;

    async fn load(&self, keys: &[K]) -> Result<std::collections::HashMap<K, T::Value>, T::Error> {
        if let Some(scope) = RequestScope::current() {
            scope.metrics.batch(self.name, keys.len());
        }
        let span = tracing::debug_span!("loader", loader = self.name, keys = keys.len());
        self.inner.load(keys).instrument(span).await
    }
}

/// A request's execution, polled with a waker that records wake-ups (see `Waves::track`).
struct Tracked<F: Future> {
    future: Pin<Box<F>>,
    waves: Arc<Waves>,
}

/// Records that the execution was woken, then wakes its task.
struct FlagWaker {
    waves: Arc<Waves>,
    task: Waker,
}

impl Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.waves.woken.store(true, Ordering::Release);
        self.task.wake_by_ref();
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let waves = self.waves.clone();
        waves.running.store(true, Ordering::Release);
        // A wake-up from here on (a batch delivering, or the execution waking itself to yield)
        // means another poll is due.
        waves.woken.store(false, Ordering::Release);
        let waker = Waker::from(Arc::new(FlagWaker {
            waves: waves.clone(),
            task: cx.waker().clone(),
        }));
        let result = self.future.as_mut().poll(&mut Context::from_waker(&waker));
        waves.running.store(false, Ordering::Release);
        result
    }
}

async fn until_quiet(waves: &Waves) {
    let activity = &waves.activity;
    let mut last = activity.load(Ordering::Acquire);
    let mut quiet = 0;
    let started = std::time::Instant::now();
    while started.elapsed() < MAX_WAIT {
        tokio::task::yield_now().await;
        let now = activity.load(Ordering::Acquire);
        if waves.busy() {
            quiet = 0;
            last = now;
        } else if now == last {
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
        // Loaders are built when the request is prepared, inside its scope.
        let scope = RequestScope::current();
        let loader = Measured {
            inner: loader,
            name: std::any::type_name::<T>(),
        };
        let inner = DataLoader::with_cache(
            loader,
            move |batch| {
                let waves = shared.clone();
                let scope = scope.clone();
                // The span of the resolver that asked: the request's.
                let span = tracing::Span::current();
                if let Some(combiner) = &waves.combiner {
                    combiner.spawned();
                }
                tokio::spawn(
                    combine::in_batch(async move {
                        waves.enter().await;
                        // Leaves also if the batch panics: the wave's other batches (and a
                        // combined statement waiting for this one) go on.
                        let _leaving = Leaving(&waves);
                        match scope {
                            Some(scope) => RequestScope::run(scope, batch).await,
                            None => batch.await,
                        }
                    })
                    .instrument(span),
                )
            },
            HashMapCache::default(),
        )
        .delay(Duration::ZERO)
        .max_batch_size(max_batch);
        Self {
            inner,
            waves: waves.clone(),
            fed: Mutex::new(None),
        }
    }

    /// The value fed for `key`, if any.
    fn fed<K, V>(&self, key: &K) -> Option<V>
    where
        K: Hash + Eq + 'static,
        V: Clone + 'static,
    {
        let fed = self.fed.lock().ok()?;
        fed.as_ref()?
            .downcast_ref::<HashMap<K, V>>()?
            .get(key)
            .cloned()
    }

    /// One value by key (batched with every other key asked for before the request goes quiet).
    pub async fn load_one<K>(&self, key: K) -> Result<Option<T::Value>, T::Error>
    where
        T: Loader<K>,
        T::Value: Weigh,
        T::Error: From<BudgetExceeded>,
        K: Send + Sync + Hash + Eq + Clone + 'static,
    {
        let value = match self.fed::<K, T::Value>(&key) {
            Some(value) => Some(value),
            None => {
                self.waves.settle().await;
                self.waves.activity.fetch_add(1, Ordering::AcqRel);
                self.inner.load_one(key).await?
            }
        };
        self.charge(value)
    }

    /// Hands `value` out if the operation's output budget still allows it.
    fn charge<V: Weigh, E: From<BudgetExceeded>>(&self, value: V) -> Result<V, E> {
        if self.waves.budget.charge_with(|| value.weigh()) {
            Ok(value)
        } else {
            Err(E::from(BudgetExceeded))
        }
    }

    /// Puts values into the cache (rows another loader read along with its own).
    pub async fn feed_many<K, I>(&self, values: I)
    where
        T: Loader<K>,
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = (K, T::Value)>,
    {
        let values: Vec<(K, T::Value)> = values.into_iter().collect();
        if let Ok(mut fed) = self.fed.lock() {
            let map = fed.get_or_insert_with(|| Box::new(HashMap::<K, T::Value>::new()));
            if let Some(map) = map.downcast_mut::<HashMap<K, T::Value>>() {
                map.extend(values.iter().cloned());
            }
        }
        self.inner.feed_many(values).await;
    }

    /// Values by keys, in one batch with the rest of the level.
    pub async fn load_many<K, I>(
        &self,
        keys: I,
    ) -> Result<std::collections::HashMap<K, T::Value>, T::Error>
    where
        T: Loader<K>,
        T::Value: Weigh,
        T::Error: From<BudgetExceeded>,
        K: Send + Sync + Hash + Eq + Clone + 'static,
        I: IntoIterator<Item = K>,
    {
        self.waves.settle().await;
        self.waves.activity.fetch_add(1, Ordering::AcqRel);
        let values = self.inner.load_many(keys).await?;
        let weigh = || {
            values
                .values()
                .map(Weigh::weigh)
                .fold(0, u64::saturating_add)
        };
        if self.waves.budget.charge_with(weigh) {
            Ok(values)
        } else {
            Err(T::Error::from(BudgetExceeded))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Doubles its keys, counting the keys it was asked for.
    #[derive(Default)]
    struct Doubler {
        asked: Arc<AtomicUsize>,
    }

    impl Loader<i32> for Doubler {
        type Value = i32;
        type Error = Arc<sea_orm::DbErr>;

        async fn load(&self, keys: &[i32]) -> Result<HashMap<i32, i32>, Self::Error> {
            self.asked.fetch_add(keys.len(), Ordering::SeqCst);
            Ok(keys.iter().map(|k| (*k, k * 2)).collect())
        }
    }

    /// Panics on every load.
    struct Panicker;

    impl Loader<i32> for Panicker {
        type Value = i32;
        type Error = Arc<sea_orm::DbErr>;

        async fn load(&self, _: &[i32]) -> Result<HashMap<i32, i32>, Self::Error> {
            panic!("a loader's bug");
        }
    }

    #[tokio::test]
    async fn a_batch_that_panics_leaves_its_wave_and_the_next_waves_still_load() {
        let waves = Arc::new(Waves::default());
        let doubler = Batcher::new(Doubler::default(), &waves, 100);
        let panicker = Batcher::new(Panicker, &waves, 100);
        let panicking = tokio::spawn({
            let waves = waves.clone();
            async move {
                let _ = panicker.load_one(1).await;
                drop(waves);
            }
        });
        let within = Duration::from_secs(5);
        let (doubled, _) = tokio::time::timeout(within, async {
            tokio::join!(doubler.load_one(2), panicking)
        })
        .await
        .expect("the wave ends");
        assert_eq!(doubled.unwrap(), Some(4));
        // A later wave is not held by the batch that panicked.
        let later = tokio::time::timeout(within, doubler.load_one(3))
            .await
            .expect("the next wave runs");
        assert_eq!(later.unwrap(), Some(6));
    }

    #[tokio::test]
    async fn fed_values_are_found_without_a_load_and_the_rest_still_load() {
        let asked = Arc::new(AtomicUsize::new(0));
        let waves = Arc::new(Waves::default());
        let batcher = Batcher::new(
            Doubler {
                asked: asked.clone(),
            },
            &waves,
            100,
        );
        batcher.feed_many([(1, 100), (2, 200)]).await;
        assert_eq!(batcher.load_one(1).await.unwrap(), Some(100));
        assert_eq!(batcher.load_one(2).await.unwrap(), Some(200));
        assert_eq!(asked.load(Ordering::SeqCst), 0, "fed keys are not loaded");
        // Through load_many too (the DataLoader's cache), and a key not fed is loaded.
        let many = batcher.load_many([1, 3]).await.unwrap();
        assert_eq!((many[&1], many[&3]), (100, 6));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        assert_eq!(batcher.load_one(3).await.unwrap(), Some(6));
        assert_eq!(asked.load(Ordering::SeqCst), 1, "a loaded key is cached");
    }
}
