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

/// Values by text key, each with the insertion clock when it was stored; and the clock.
struct Entries<V> {
    values: HashMap<String, (u64, V)>,
    clock: u64,
}

/// A bounded map of text → value shared by the requests: when full, the oldest half is
/// dropped. The APQ cache (hash → document) and the parsed-document cache (document → syntax
/// tree, `graphql::guard::DocumentCache`) are two of these.
pub struct Bounded<V> {
    capacity: usize,
    inner: Mutex<Entries<V>>,
}

/// Documents by their SHA-256, for automatic persisted queries.
pub type ApqCache = Bounded<String>;

impl<V: Clone> Bounded<V> {
    /// A cache of at most `capacity` entries; 0 keeps nothing.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Entries {
                values: HashMap::new(),
                clock: 0,
            }),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        if self.capacity == 0 {
            return None;
        }
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.values.get(key).map(|(_, v)| v.clone())
    }

    /// Remembers `value` under `key`.
    pub fn insert(&self, key: String, value: V) {
        if self.capacity == 0 {
            return;
        }
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Entries { values: map, clock } = &mut *guard;
        *clock += 1;
        if map.len() >= self.capacity && !map.contains_key(&key) {
            let mut ages: Vec<u64> = map.values().map(|(age, _)| *age).collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            map.retain(|_, (age, _)| *age > cut);
        }
        map.insert(key, (*clock, value));
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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
    fn a_manifest_with_a_wrong_hash_is_rejected() {
        let doc = "{ __typename }";
        let good = format!("{{\"sha256:{}\": \"{doc}\"}}", sha256(doc));
        let trusted = TrustedDocuments::parse(&good).unwrap();
        assert!(trusted.contains(&sha256(doc)));
        assert!(TrustedDocuments::parse("{\"abc\": \"{ __typename }\"}").is_err());
    }
}
