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

/// Buckets kept before full (idle) ones are dropped.
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
        None => Caller::Anonymous(address),
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
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < capacity
            });
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
    fn a_zero_budget_switches_the_limit_off() {
        let limiter = RateLimiter::new(RateLimits {
            anonymous: 0,
            key: 0,
            window: Duration::from_secs(60),
        });
        assert_eq!(limiter.charge(&Caller::Anonymous(None), u64::MAX), Ok(()));
    }
}
