//! Persisted documents: automatic persisted queries (APQ, Apollo's protocol: a client sends
//! `extensions.persistedQuery.sha256Hash`, and the full text only when the server does not know
//! the hash yet) and trusted documents (an allow-list of operations, by hash, loaded at
//! start-up; when set, nothing else runs).
//!
//! The APQ cache lives in this process's memory, bounded; several instances each learn the
//! documents they are sent (a client whose hash is unknown to one instance sends the text once
//! more). async-graphql's own APQ extension is not used: its errors carry no `extensions.code`
//! and it cannot be combined with the trusted-documents mode.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// The SHA-256 of a document, in lower-case hexadecimal.
pub fn sha256(document: &str) -> String {
    hex::encode(Sha256::digest(document.as_bytes()))
}

/// What an entry of a [`Bounded`] cache holds in memory, estimated from above, and how much a
/// cache of such entries may hold: a count of entries alone does not bound memory when an entry
/// can be a hundred kilobytes (an APQ document up to the body limit) or a syntax tree a hundred
/// times its text.
pub trait Weigh {
    /// Most bytes the cache's entries hold, keys included.
    const BUDGET: usize;
    /// The bytes the entry `key` → `value` holds, the map's own share included.
    fn weigh(key: &str, value: &Self) -> usize;
}

/// A map entry's own bytes besides its key's and value's heap data: the key and value
/// themselves, the insertion clock, the weight and hashbrown's control byte, rounded up.
const ENTRY_OVERHEAD: usize = 96;

/// APQ documents (hash → text): 16 MiB. At the 100 KB body limit that is 160 of the largest
/// documents; a client library's documents are a few hundred bytes to a few kilobytes, so the
/// entry count (`IUC_APQ_CACHE_SIZE`) is what binds them.
impl Weigh for String {
    const BUDGET: usize = 16 << 20;
    fn weigh(key: &str, value: &Self) -> usize {
        key.len() + value.capacity() + ENTRY_OVERHEAD
    }
}

/// Heap bytes of a parsed document per byte of its text, at most, with a quarter to spare: the
/// densest shapes measured up to 254 (`a{a{…}}` nested to the parser's 64 levels: each
/// selection set is a vector with room for four selections of 200 bytes; the test
/// `a_documents_weight_bounds_its_syntax_tree` below measures each shape). Ordinary documents,
/// with longer names and whitespace, hold far less.
pub const TREE_BYTES_PER_TEXT_BYTE: usize = 320;

/// Parsed documents (text → syntax tree): 32 MiB by the estimate of
/// [`TREE_BYTES_PER_TEXT_BYTE`]. That keeps 100 documents of 1 KiB (the load benchmark's are
/// 150–800 bytes) and 6 of the longest kept (16 KiB), where a count alone let the default 256
/// entries hold 256 trees of the densest 16 KiB documents: about 1 GB.
impl Weigh for std::sync::Arc<async_graphql::parser::types::ExecutableDocument> {
    const BUDGET: usize = 32 << 20;
    fn weigh(key: &str, _: &Self) -> usize {
        key.len() * (1 + TREE_BYTES_PER_TEXT_BYTE) + ENTRY_OVERHEAD
    }
}

/// Values by text key, each with the insertion clock when it was stored and its weight; the
/// clock, and the weights' sum.
struct Entries<V> {
    values: HashMap<String, (u64, usize, V)>,
    clock: u64,
    bytes: usize,
}

/// A bounded map of text → value shared by the requests, bounded in entries and in bytes
/// ([`Weigh`]): when either bound would be passed, the oldest entries go until half of each
/// is left (dropping many at once keeps the sort this takes rare). The APQ cache (hash →
/// document) and the parsed-document cache (document → syntax tree,
/// `graphql::guard::DocumentCache`) are two of these.
pub struct Bounded<V> {
    capacity: usize,
    inner: Mutex<Entries<V>>,
}

/// Documents by their SHA-256, for automatic persisted queries.
pub type ApqCache = Bounded<String>;

impl<V: Clone + Weigh> Bounded<V> {
    /// A cache of at most `capacity` entries and `V::BUDGET` bytes; 0 keeps nothing.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Entries {
                values: HashMap::new(),
                clock: 0,
                bytes: 0,
            }),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.values.get(key).map(|(_, _, v)| v.clone())
    }

    /// Remembers `value` under `key`, unless it alone weighs more than the budget.
    pub fn insert(&self, key: String, value: V) {
        let weight = V::weigh(&key, &value);
        if self.capacity == 0 || weight > V::BUDGET {
            return;
        }
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let entries = &mut *guard;
        entries.clock += 1;
        if let Some((_, old, _)) = entries.values.remove(&key) {
            entries.bytes -= old;
        }
        if entries.values.len() >= self.capacity || entries.bytes + weight > V::BUDGET {
            evict(entries, self.capacity / 2, V::BUDGET / 2);
        }
        entries.bytes += weight;
        let clock = entries.clock;
        entries.values.insert(key, (clock, weight, value));
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.values.len()
    }

    /// The weights of the entries held now, in bytes.
    pub fn bytes(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps the newest entries up to `count` entries and `bytes` bytes.
fn evict<V>(entries: &mut Entries<V>, count: usize, bytes: usize) {
    let mut ages: Vec<(u64, usize)> = entries.values.values().map(|(a, w, _)| (*a, *w)).collect();
    ages.sort_unstable_by_key(|&(age, _)| std::cmp::Reverse(age));
    let (mut kept, mut kept_bytes, mut oldest_kept) = (0, 0, u64::MAX);
    for (age, weight) in ages {
        if kept + 1 > count || kept_bytes + weight > bytes {
            break;
        }
        kept += 1;
        kept_bytes += weight;
        oldest_kept = age;
    }
    entries
        .values
        .retain(|_, (age, _, _)| kept > 0 && *age >= oldest_kept);
    entries.bytes = kept_bytes;
}

/// The allow-list of the trusted-documents mode: hash → document.
#[derive(Debug, Clone, Default)]
pub struct TrustedDocuments(HashMap<String, String>);

impl TrustedDocuments {
    /// Reads a manifest: a JSON object of SHA-256 hash (hex, optionally prefixed `sha256:`) →
    /// document, the format GraphQL Codegen's and Relay's persisted-document outputs use. Every
    /// hash is checked against its document.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the trusted documents {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let map: HashMap<String, String> = serde_json::from_str(text)
            .map_err(|e| format!("not a JSON object of hash → document ({e})"))?;
        let mut documents = HashMap::with_capacity(map.len());
        for (hash, document) in map {
            let bare = hash
                .strip_prefix("sha256:")
                .unwrap_or(&hash)
                .to_ascii_lowercase();
            let actual = sha256(&document);
            if bare != actual {
                return Err(format!(
                    "the document listed under {hash} has the SHA-256 {actual}"
                ));
            }
            documents.insert(bare, document);
        }
        Ok(Self(documents))
    }

    pub fn get(&self, hash: &str) -> Option<&String> {
        self.0.get(hash)
    }

    pub fn contains(&self, hash: &str) -> bool {
        self.0.contains_key(hash)
    }

    /// The documents, in no particular order (the metrics label their operations' names).
    pub fn documents(&self) -> impl Iterator<Item = &str> {
        self.0.values().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_stays_bounded_and_keeps_recent_documents() {
        let cache = ApqCache::new(4);
        for i in 0..10 {
            cache.insert(format!("h{i}"), format!("d{i}"));
        }
        assert_eq!(cache.get("h9").as_deref(), Some("d9"));
        assert!(cache.get("h0").is_none());
    }

    #[test]
    fn the_cache_stays_within_its_byte_budget() {
        let cache = ApqCache::new(1000);
        let document = "x".repeat(100_000);
        for i in 0..400 {
            cache.insert(format!("h{i}"), document.clone());
            assert!(cache.bytes() <= String::BUDGET, "{}", cache.bytes());
        }
        assert!(cache.len() < 168, "{}", cache.len());
        assert!(cache.get("h399").is_some());
        // An entry over the whole budget is not kept.
        cache.insert("big".into(), "x".repeat(String::BUDGET));
        assert!(cache.get("big").is_none());
    }

    /// The heap bytes of syntax trees of the densest shapes, per byte of their text, against
    /// the estimate `Weigh` uses (`cargo test -p api a_documents_weight -- --nocapture`
    /// prints them).
    #[test]
    fn a_documents_weight_bounds_its_syntax_tree() {
        let nested = |open: &str, close: &str| format!("{}1{}", open.repeat(40), close.repeat(40));
        let shapes = [
            ("fields", format!("{{ {} }}", "a ".repeat(8000))),
            ("aliases", format!("{{ {} }}", "a:b ".repeat(4000))),
            (
                "spreads",
                format!("{{ {} }} fragment F on Q {{ a }}", "...F ".repeat(3200)),
            ),
            (
                "inline fragments",
                format!("{{ {} }}", "...{a} ".repeat(2300)),
            ),
            (
                "inline fragments with a directive",
                format!("{{ {} }}", "...@d{a} ".repeat(1800)),
            ),
            (
                "nested inline fragments",
                format!("{{ {} }}", "...{...{...{a}}} ".repeat(900)),
            ),
            (
                "fields with a set",
                format!("{{ {} }}", "a{b} ".repeat(3200)),
            ),
            (
                "nested sets",
                format!("{{ {} }}", "a{b{c{d}}} ".repeat(1450)),
            ),
            (
                "deeply nested sets",
                format!("{{ {} }}", nested("a{", "}").replace('1', "b").repeat(130)),
            ),
            ("directives", format!("{{ a {} }}", "@d ".repeat(5400))),
            ("arguments", format!("{{ a({}) }}", "b:1 ".repeat(4000))),
            ("list items", format!("{{ a(b: [{}]) }}", "1 ".repeat(8000))),
            ("enum items", format!("{{ a(b: [{}]) }}", "A ".repeat(8000))),
            (
                "variables in a list",
                format!("{{ a(b: [{}]) }}", "$v ".repeat(5400)),
            ),
            (
                "nested lists",
                format!("{{ a(b: [{}]) }}", nested("[", "]").repeat(200)),
            ),
            (
                "nested objects",
                format!("{{ a(b: [{}]) }}", nested("{c:", "}").repeat(100)),
            ),
            (
                "variable definitions",
                format!(
                    "query({}) {{ a }}",
                    (0..1600).map(|i| format!("$v{i}:A ")).collect::<String>()
                ),
            ),
        ];
        let mut over = Vec::new();
        for (shape, text) in shapes {
            let before = counting::allocated();
            let document = async_graphql::parser::parse_query(&text).expect("the shape parses");
            let tree = counting::allocated() - before;
            let per_byte = tree as f64 / text.len() as f64;
            eprintln!(
                "{shape}: {} bytes of text, {tree} of tree, {per_byte:.0} per byte",
                text.len()
            );
            let weight = <std::sync::Arc<_> as Weigh>::weigh(&text, &std::sync::Arc::new(document));
            if tree + text.len() > weight {
                over.push(shape);
            }
        }
        assert!(over.is_empty(), "weighed too light: {over:?}");
    }

    /// Counts the bytes each thread has allocated and not freed, so that a test can measure
    /// what a value holds. Allocation is passed on to the system allocator.
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static NET: Cell<isize> = const { Cell::new(0) };
        }

        pub fn allocated() -> usize {
            NET.with(Cell::get).max(0) as usize
        }

        fn add(bytes: isize) {
            // Not during the thread's teardown, when the counter is gone.
            let _ = NET.try_with(|n| n.set(n.get() + bytes));
        }

        struct Counting;

        // SAFETY: every call goes to the system allocator unchanged; the counting touches a
        // const-initialised thread-local that never allocates.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                add(layout.size() as isize);
                unsafe { System.alloc(layout) }
            }

            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                add(-(layout.size() as isize));
                unsafe { System.dealloc(ptr, layout) }
            }
        }

        #[global_allocator]
        static COUNTING: Counting = Counting;
    }

    #[test]
    fn a_manifest_with_a_wrong_hash_is_rejected() {
        let doc = "{ __typename }";
        let good = format!("{{\"sha256:{}\": \"{doc}\"}}", sha256(doc));
        let trusted = TrustedDocuments::parse(&good).unwrap();
        assert!(trusted.contains(&sha256(doc)));
        assert!(TrustedDocuments::parse("{\"abc\": \"{ __typename }\"}").is_err());
    }
}
