//! Which operation names get a label of their own in the metrics.
//!
//! Names come from clients, and every label value is a time series that Prometheus keeps, so
//! the labelled names are bounded. First come, first served would let whoever sends the most
//! names first take every slot until a restart. Instead a name earns its label:
//!
//! - names of the trusted documents (`IUC_TRUSTED_DOCUMENTS`) always have one (the operator
//!   chose them; they do not take slots);
//! - a name sent with a valid API key gets one at once (keys are issued by administrators);
//! - an anonymous name must prove itself: it gets one when it has run (outcome `ok` or `error`)
//!   in at least `PROOF_WINDOWS` different windows of `WINDOW` among the last `HISTORY`. A
//!   flood of random names, each seen once, never qualifies, however large.
//!
//! At most `MAX_LABELLED` names hold a slot. A name unused for `IDLE` gives its slot back to the
//! next name that qualifies; a keyed name may also take the slot of the least recently used
//! name that proved itself anonymously, so anonymous clients cannot keep keyed names out.
//! Everything without a label is counted under `other`.
//!
//! Which windows saw a name is kept in one Bloom filter per window (fixed memory however many
//! names arrive, and an attacker cannot evict a legitimate name's history the way it could
//! from a bounded table). The hash is keyed at random per process, so names cannot be crafted
//! to collide with another's bits. A window whose filter is more than `SATURATED` full (a
//! flood of thousands of names) no longer counts as proof: its false positives would let
//! random names through. Names then wait for quieter windows; they are never mislabelled.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Names that may hold a slot at once (trusted documents aside).
pub const MAX_LABELLED: usize = 200;
/// The length of a window.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Windows remembered (one hour).
const HISTORY: u64 = 6;
/// Windows an anonymous name must have run in, this one included.
pub const PROOF_WINDOWS: usize = 3;
/// A labelled name unused this long gives its slot back.
pub const IDLE: Duration = Duration::from_secs(24 * 3600);
/// Bits of a window's filter (32 KiB).
const FILTER_BITS: usize = 1 << 18;
/// Bits a name sets in a filter.
const HASHES: u64 = 4;
/// A filter with more than this share of its bits set no longer proves anything: at 1/8 the
/// chance that a new name seems to have run in two earlier windows is about 10⁻⁷.
const SATURATED: usize = FILTER_BITS / 8;

/// Where time comes from: the system's monotonic clock, or a hand-moved one in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// `Instant::now()`.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told (tests).
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    offset: Mutex<Duration>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            offset: Mutex::default(),
        }
    }
}

impl ManualClock {
    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Who sent an operation, as far as labels are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sender {
    #[default]
    Anonymous,
    /// A caller with a valid API key.
    Key,
}

/// The names of the operations in `documents` (those that parse), for `Labels::new`.
pub fn operation_names<'a>(documents: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names = Vec::new();
    for document in documents {
        if let Ok(parsed) = async_graphql::parser::parse_query(document) {
            names.extend(
                parsed
                    .operations
                    .iter()
                    .filter_map(|(name, _)| name.map(|n| n.to_string())),
            );
        }
    }
    names
}

/// A name holding a slot.
#[derive(Debug, Clone, Copy)]
struct Slot {
    last_used: Instant,
    /// Admitted for a keyed caller (else: proved itself anonymously).
    keyed: bool,
}

/// One window's filter.
struct Window {
    index: u64,
    bits: Vec<u64>,
    set: usize,
}

impl Window {
    fn saturated(&self) -> bool {
        self.set > SATURATED
    }

    fn contains(&self, positions: &[usize]) -> bool {
        positions
            .iter()
            .all(|&p| self.bits[p / 64] & (1 << (p % 64)) != 0)
    }

    fn insert(&mut self, positions: &[usize]) {
        for &p in positions {
            let word = &mut self.bits[p / 64];
            if *word & (1 << (p % 64)) == 0 {
                *word |= 1 << (p % 64);
                self.set += 1;
            }
        }
    }
}

/// The labelled names and the anonymous names' proof.
pub struct Labels {
    clock: Arc<dyn Clock>,
    started: Instant,
    trusted: HashSet<String>,
    slots: HashMap<String, Slot>,
    hasher: RandomState,
    /// Filters by window index modulo `HISTORY`, made on first use.
    windows: Vec<Option<Window>>,
}

impl Default for Labels {
    fn default() -> Self {
        Self::new(Vec::new(), Arc::new(SystemClock))
    }
}

impl Labels {
    /// Labels that always include `trusted`, on `clock`.
    pub fn new(trusted: Vec<String>, clock: Arc<dyn Clock>) -> Self {
        Self {
            started: clock.now(),
            clock,
            trusted: trusted.into_iter().collect(),
            slots: HashMap::new(),
            hasher: RandomState::new(),
            windows: (0..HISTORY).map(|_| None).collect(),
        }
    }

    /// Whether `name` is counted under its own label after this use by `sender` (`ran`: it
    /// executed, which is what proves an anonymous name). Names that gave their slot back are
    /// pushed to `released`, so that their series can be dropped.
    pub fn admit(
        &mut self,
        name: &str,
        sender: Sender,
        ran: bool,
        released: &mut Vec<String>,
    ) -> bool {
        if self.labelled(name) {
            if sender == Sender::Key
                && let Some(slot) = self.slots.get_mut(name)
            {
                slot.keyed = true;
            }
            return true;
        }
        let now = self.clock.now();
        let qualifies = match sender {
            Sender::Key => true,
            Sender::Anonymous => ran && self.proves(name, now),
        };
        qualifies && self.take_slot(name, sender == Sender::Key, now, released)
    }

    /// Whether `name` has a label now (its use counts: the slot stays busy).
    pub fn labelled(&mut self, name: &str) -> bool {
        if self.trusted.contains(name) {
            return true;
        }
        let now = self.clock.now();
        match self.slots.get_mut(name) {
            Some(slot) => {
                slot.last_used = now;
                true
            }
            None => false,
        }
    }

    /// Names holding a slot now.
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// A free slot, else the least recently used one that may be taken: idle for `IDLE`, or,
    /// for a keyed name, one that an anonymous name proved itself into.
    fn take_slot(
        &mut self,
        name: &str,
        keyed: bool,
        now: Instant,
        released: &mut Vec<String>,
    ) -> bool {
        if self.slots.len() >= MAX_LABELLED {
            let victim = self
                .slots
                .iter()
                .filter(|(_, s)| now.duration_since(s.last_used) >= IDLE || (keyed && !s.keyed))
                .min_by_key(|(_, s)| s.last_used)
                .map(|(n, _)| n.clone());
            let Some(victim) = victim else {
                return false;
            };
            self.slots.remove(&victim);
            released.push(victim);
        }
        let slot = Slot {
            last_used: now,
            keyed,
        };
        self.slots.insert(name.to_owned(), slot);
        true
    }

    /// Records that `name` ran now; whether it has now run in `PROOF_WINDOWS` windows.
    fn proves(&mut self, name: &str, now: Instant) -> bool {
        let index = now.duration_since(self.started).as_secs() / WINDOW.as_secs();
        let positions = self.positions(name);
        let current = self.window(index);
        // This window's membership is exact (the name is here now), even when it is full.
        current.insert(&positions);
        let earlier = self
            .windows
            .iter()
            .flatten()
            .filter(|w| w.index < index && w.index + HISTORY > index)
            .filter(|w| !w.saturated() && w.contains(&positions))
            .count();
        1 + earlier >= PROOF_WINDOWS
    }

    /// The filter of window `index`, emptied when it last held an older window.
    fn window(&mut self, index: u64) -> &mut Window {
        let slot = &mut self.windows[(index % HISTORY) as usize];
        let window = slot.get_or_insert_with(|| Window {
            index,
            bits: vec![0; FILTER_BITS / 64],
            set: 0,
        });
        if window.index != index {
            window.bits.fill(0);
            window.set = 0;
            window.index = index;
        }
        window
    }

    /// The filter bits of `name` (double hashing from one keyed 64-bit hash).
    fn positions(&self, name: &str) -> [usize; HASHES as usize] {
        let hash = self.hasher.hash_one(name);
        let (a, b) = (hash & 0xffff_ffff, (hash >> 32) | 1);
        let mut positions = [0; HASHES as usize];
        for (i, p) in positions.iter_mut().enumerate() {
            *p = (a.wrapping_add((i as u64).wrapping_mul(b)) % FILTER_BITS as u64) as usize;
        }
        positions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> (Labels, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        (Labels::new(vec!["Trusted".into()], clock.clone()), clock)
    }

    #[test]
    fn a_flood_of_names_takes_no_slot_and_a_used_name_proves_itself() {
        let (mut labels, clock) = labels();
        let mut released = Vec::new();
        for window in 0..3 {
            for i in 0..5000 {
                let name = format!("Flood{window}_{i}");
                assert!(!labels.admit(&name, Sender::Anonymous, true, &mut released));
            }
            let legit = labels.admit("PairingTable", Sender::Anonymous, true, &mut released);
            // Labelled at its third window, not before.
            assert_eq!(legit, window == 2, "window {window}");
            clock.advance(WINDOW);
        }
        assert_eq!(labels.slots(), 1);
        assert!(released.is_empty());
    }

    #[test]
    fn one_burst_or_failures_prove_nothing() {
        let (mut labels, clock) = labels();
        let mut released = Vec::new();
        for _ in 0..1000 {
            assert!(!labels.admit("Burst", Sender::Anonymous, true, &mut released));
        }
        for _ in 0..3 {
            assert!(!labels.admit("Refused", Sender::Anonymous, false, &mut released));
            clock.advance(WINDOW);
        }
        // Windows older than the history are forgotten.
        for _ in 0..3 {
            assert!(!labels.admit("Rare", Sender::Anonymous, true, &mut released));
            clock.advance(WINDOW * 4);
        }
    }

    #[test]
    fn keyed_and_trusted_names_are_labelled_at_once_and_keys_outrank_proven_names() {
        let (mut labels, clock) = labels();
        let mut released = Vec::new();
        assert!(labels.admit("Trusted", Sender::Anonymous, false, &mut released));
        assert_eq!(labels.slots(), 0, "trusted names take no slot");
        // Fill every slot with names that proved themselves anonymously; `Late` proves itself
        // too, after them.
        for window in 0..3 {
            for i in 0..MAX_LABELLED {
                labels.admit(
                    &format!("Proven{i}"),
                    Sender::Anonymous,
                    true,
                    &mut released,
                );
            }
            let late = labels.admit("Late", Sender::Anonymous, true, &mut released);
            assert!(!late, "window {window}: no free slot");
            if window < 2 {
                clock.advance(WINDOW);
            }
        }
        assert_eq!(labels.slots(), MAX_LABELLED);
        // A keyed name takes the least recently used proven name's slot.
        assert!(labels.admit("Keyed", Sender::Key, true, &mut released));
        assert_eq!(released.len(), 1);
        assert_eq!(labels.slots(), MAX_LABELLED);
    }

    #[test]
    fn an_idle_name_gives_its_slot_back() {
        let (mut labels, clock) = labels();
        let mut released = Vec::new();
        for i in 0..MAX_LABELLED {
            assert!(labels.admit(&format!("K{i}"), Sender::Key, true, &mut released));
        }
        assert!(
            !labels.admit("New", Sender::Key, true, &mut released),
            "all busy"
        );
        clock.advance(IDLE - Duration::from_secs(1));
        assert!(labels.labelled("K7"), "used: stays");
        clock.advance(Duration::from_secs(1));
        assert!(labels.admit("New", Sender::Key, true, &mut released));
        // The least recently used idle one went, not the one used a second ago.
        assert_eq!(released.len(), 1);
        assert_ne!(released[0], "K7");
        assert!(labels.labelled("K7"));
    }
}
