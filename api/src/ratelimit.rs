//! Rate limiting on query cost: a token bucket per caller, in this process's memory.
//!
//! A bucket holds up to one window's budget and refills continuously at budget / window per
//! second; an operation takes its cost (at least 1). Anonymous callers are keyed by their
//! address and get the smaller budget; callers with an API key are keyed by the key and get
//! the larger one. With several instances behind a load balancer each enforces its own
//! buckets, so a caller spread over N instances can spend up to N budgets: acceptable for a
//! limit meant to stop runaway clients rather than to meter exactly, and it needs no shared
//! store.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::auth::Principal;
use crate::graphql::guard::Budget;

/// Buckets kept (about 64 bytes each) before full (idle) ones are dropped, and if that is not
/// enough, the fullest.
const PRUNE_ABOVE: usize = 10_000;

/// Who a request is charged to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// No credentials: by client address (unknown when the server runs without connection
    /// info, as in tests driving the router directly).
    Anonymous(Option<IpAddr>),
    /// A valid API key, by its id.
    Key(i32),
}

impl From<&Caller> for crate::metrics::names::Sender {
    fn from(caller: &Caller) -> Self {
        match caller {
            Caller::Anonymous(_) => Self::Anonymous,
            Caller::Key(_) => Self::Key,
        }
    }
}

impl Caller {
    /// `anonymous` or `key`, for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Caller::Anonymous(_) => "anonymous",
            Caller::Key(_) => "key",
        }
    }
}

/// Who a request is charged to: the API key when the request presents a valid one, else the
/// client's address.
pub fn caller(principal: Option<&Principal>, address: Option<IpAddr>) -> Caller {
    match principal {
        Some(principal) => Caller::Key(principal.key_id),
        None => Caller::Anonymous(address.map(network)),
    }
}

/// The address a bucket is kept for: an IPv4 address, or an IPv6 address's /64 network. One
/// IPv6 client usually holds a whole /64 and could otherwise take a fresh bucket per address.
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
        v4 => v4,
    }
}

/// Budgets per window; 0 switches the limit off for that kind of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub anonymous: u64,
    pub key: u64,
    pub window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            anonymous: 100_000,
            key: 1_000_000,
            window: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Every caller's bucket.
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<HashMap<Caller, Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        Self {
            limits,
            buckets: Mutex::default(),
        }
    }

    fn budget(&self, caller: &Caller) -> u64 {
        match caller {
            Caller::Anonymous(_) => self.limits.anonymous,
            Caller::Key(_) => self.limits.key,
        }
    }

    /// Takes `cost` from `caller`'s bucket, or returns the seconds until it holds that much.
    pub fn charge(&self, caller: &Caller, cost: u64) -> Result<(), u64> {
        let budget = self.budget(caller);
        if budget == 0 {
            return Ok(());
        }
        let capacity = budget as f64;
        let rate = capacity / self.limits.window.as_secs_f64().max(0.001);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE && !buckets.contains_key(caller) {
            prune(&mut buckets, now, rate, capacity);
        }
        let bucket = buckets.entry(caller.clone()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate).min(capacity);
        bucket.updated = now;
        let cost = cost as f64;
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            // A cost above the whole budget never fits: say when the bucket is full.
            let missing = cost.min(capacity) - bucket.tokens;
            Err((missing / rate).ceil().max(1.0) as u64)
        }
    }
}

/// Drops the buckets that are full again (idle callers); if that leaves more than half of
/// `PRUNE_ABOVE`, the fullest go too, down to half: forgetting them costs their callers least,
/// since a new bucket starts full, while the callers who spent most stay tracked. It runs when
/// a new caller arrives at a full map and leaves room for `PRUNE_ABOVE / 2` more, so its cost
/// is spread over thousands of callers however many addresses a client has.
fn prune(buckets: &mut HashMap<Caller, Bucket>, now: Instant, rate: f64, capacity: f64) {
    let level = |b: &Bucket| b.tokens + now.duration_since(b.updated).as_secs_f64() * rate;
    buckets.retain(|_, b| level(b) < capacity);
    let keep = PRUNE_ABOVE / 2;
    if buckets.len() > keep {
        let mut levels: Vec<f64> = buckets.values().map(level).collect();
        levels.select_nth_unstable_by(keep, f64::total_cmp);
        let cut = levels[keep];
        buckets.retain(|_, b| level(b) < cut);
    }
}

/// One caller's budget, as the schema's guard charges it.
pub struct CallerBudget {
    pub limiter: Arc<RateLimiter>,
    pub caller: Caller,
}

impl Budget for CallerBudget {
    fn charge(&self, cost: u64) -> Result<(), u64> {
        self.limiter.charge(&self.caller, cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refuses_beyond_its_budget_and_says_when_to_retry() {
        let limiter = RateLimiter::new(RateLimits {
            anonymous: 100,
            key: 1000,
            window: Duration::from_secs(100),
        });
        let caller = Caller::Anonymous(None);
        assert_eq!(limiter.charge(&caller, 60), Ok(()));
        assert_eq!(limiter.charge(&caller, 40), Ok(()));
        // Empty: 50 units come back at 1 per second.
        let retry = limiter.charge(&caller, 50).unwrap_err();
        assert!((49..=50).contains(&retry), "{retry}");
        // Another caller has its own bucket.
        assert_eq!(
            limiter.charge(&Caller::Anonymous(Some([10, 0, 0, 1].into())), 100),
            Ok(())
        );
    }

    #[test]
    fn ipv6_callers_share_a_bucket_per_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(caller(None, Some(a)), caller(None, Some(b)));
        assert_ne!(caller(None, Some(a)), caller(None, Some(c)));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(
            caller(None, Some(mapped)),
            caller(None, Some([10, 0, 0, 1].into()))
        );
    }

    #[test]
    fn the_buckets_stay_bounded_under_many_busy_callers() {
        let limiter = RateLimiter::new(RateLimits {
            anonymous: 1_000,
            key: 1_000,
            window: Duration::from_secs(3600),
        });
        for i in 0..120_000u32 {
            let caller = Caller::Anonymous(Some(IpAddr::V4(i.into())));
            // Each spends a little: none is full again, so none is idle.
            assert_eq!(limiter.charge(&caller, 10), Ok(()));
        }
        let held = limiter.buckets.lock().unwrap().len();
        assert!(held <= PRUNE_ABOVE + 1, "{held}");
    }

    #[test]
    fn a_zero_budget_switches_the_limit_off() {
        let limiter = RateLimiter::new(RateLimits {
            anonymous: 0,
            key: 0,
            window: Duration::from_secs(60),
        });
        assert_eq!(limiter.charge(&Caller::Anonymous(None), u64::MAX), Ok(()));
    }
}
