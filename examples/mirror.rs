//! A partner's mirror of the IUC graph: one snapshot, then the change feed, resumable.
//!
//!     cargo run --example mirror -- --url http://127.0.0.1:8000 --out mirror.json
//!
//! 1. Reads where the change feed ends now (`changes { latestCursor }`), then every city,
//!    region, pairing, stakeholder and activity, a page at a time: the snapshot. A change
//!    committed while the snapshot is read is in the feed after that cursor too, so nothing
//!    falls between the two; a record read in the snapshot may come again from the feed, and
//!    its `version` says which copy is newer.
//! 2. Follows `changes(after:)` from that cursor: a delete removes the record; a create or an
//!    update fetches the record's current fields with `nodes(ids:)` (one request per page of
//!    events) and keeps it unless the mirror already holds a newer version.
//! 3. Saves the records and the cursor to `--out` after every page, so that a restart goes on
//!    from where it stopped, missing nothing (it skips the snapshot when the file exists).
//!
//! Options: `--url` (default http://127.0.0.1:8000), `--out` (default mirror.json), `--once`
//! (stop when caught up, instead of polling every `--every` seconds, default 2). A live client
//! would subscribe to `changes(after:)` over WebSocket instead of polling (see the README);
//! polling keeps this example free of a WebSocket dependency.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the mirror keeps of each kind of record, by type (any selection works; these are
/// examples).
const FIELDS: [(&str, &str); 8] = [
    ("City", "slug name population country { code }"),
    ("Region", "slug name country { code }"),
    (
        "Pairing",
        "slug title status themes { slug } participants { side place { ... on City { slug } ... on Region { slug } } }",
    ),
    (
        "Ucap",
        "status pairing { slug } sections { sectionType { name } body }",
    ),
    ("Project", "slug title ucap { pairing { slug } }"),
    ("Stakeholder", "slug name helix"),
    ("Involvement", "role stakeholder { slug }"),
    ("Activity", "slug title date { text }"),
];

/// The top-level lists the snapshot reads, with their types.
const LISTS: [(&str, &str); 5] = [
    ("cities", "City"),
    ("regions", "Region"),
    ("pairings", "Pairing"),
    ("stakeholders", "Stakeholder"),
    ("activities", "Activity"),
];

/// The selection of type `name`.
fn fields(name: &str) -> &'static str {
    FIELDS
        .iter()
        .find(|(t, _)| *t == name)
        .map_or("", |(_, f)| f)
}

struct Mirror {
    api: Api,
    /// The feed position the records are up to date with.
    cursor: String,
    /// Records by global ID: `{ "__typename", "id", "version", … }`.
    records: BTreeMap<String, Value>,
}

struct Api {
    addr: std::net::SocketAddr,
}

impl Api {
    /// One GraphQL POST (HTTP/1.0, one connection per request: plain and dependency-free; use
    /// any HTTP client you like).
    async fn query(&mut self, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let request = format!(
            "POST /graphql HTTP/1.0\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Accept: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .expect("connect");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("receive");
        let text = String::from_utf8_lossy(&response);
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
        let answer: Value = serde_json::from_str(body).expect("the server answers JSON");
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200")
            || answer.get("errors").is_some()
        {
            panic!("the server refused a query ({head}): {answer}");
        }
        answer["data"].clone()
    }
}

impl Mirror {
    /// Step 1: the cursor, then every record of the lists.
    async fn snapshot(&mut self) {
        let data = self
            .api
            .query("{ changes(first: 0) { latestCursor } }", json!({}))
            .await;
        self.cursor = data["changes"]["latestCursor"]
            .as_str()
            .expect("cursor")
            .to_owned();
        for (list, type_name) in LISTS {
            let query = format!(
                "query($after: String) {{ {list}(first: 100, after: $after) {{
                   nodes {{ __typename id version updatedAt {} }}
                   pageInfo {{ hasNextPage endCursor }} }} }}",
                fields(type_name)
            );
            let mut after = Value::Null;
            loop {
                let data = self.api.query(&query, json!({ "after": after })).await;
                for node in data[list]["nodes"].as_array().expect("nodes") {
                    self.keep(node.clone());
                }
                let page = &data[list]["pageInfo"];
                if page["hasNextPage"] != json!(true) {
                    break;
                }
                after = page["endCursor"].clone();
            }
        }
        // UCAPs, projects and involvements are not top-level lists: they come with the first
        // change to them, or read them through their pairings and stakeholders if needed.
    }

    /// Step 2: applies every change after the cursor; returns how many it read.
    async fn catch_up(&mut self) -> usize {
        const FEED: &str = "query($after: String) { changes(after: $after, first: 100) {
            nodes { cursor record action version }
            pageInfo { hasNextPage endCursor } } }";
        let mut read = 0;
        loop {
            let data = self.api.query(FEED, json!({ "after": self.cursor })).await;
            let events = data["changes"]["nodes"].as_array().expect("nodes").clone();
            read += events.len();
            let mut fetch = Vec::new();
            for event in &events {
                let id = event["record"].as_str().expect("record").to_owned();
                if event["action"] == json!("DELETE") {
                    self.records.remove(&id);
                } else if !fetch.contains(&id) {
                    fetch.push(id);
                }
            }
            self.fetch(fetch).await;
            if let Some(end) = data["changes"]["pageInfo"]["endCursor"].as_str() {
                self.cursor = end.to_owned();
            }
            if data["changes"]["pageInfo"]["hasNextPage"] != json!(true) {
                return read;
            }
        }
    }

    /// The current fields of changed records (a record deleted meanwhile comes back null: its
    /// delete event follows).
    async fn fetch(&mut self, ids: Vec<String>) {
        if ids.is_empty() {
            return;
        }
        let by_type: String = FIELDS
            .iter()
            .map(|(t, f)| format!(" ... on {t} {{ version updatedAt {f} }}"))
            .collect();
        let query =
            format!("query($ids: [ID!]!) {{ nodes(ids: $ids) {{ __typename id{by_type} }} }}");
        let data = self.api.query(&query, json!({ "ids": ids })).await;
        for node in data["nodes"].as_array().expect("nodes") {
            if !node.is_null() {
                self.keep(node.clone());
            }
        }
    }

    /// Keeps a record unless the mirror holds a newer version of it.
    fn keep(&mut self, node: Value) {
        let id = node["id"].as_str().expect("id").to_owned();
        let newer = self
            .records
            .get(&id)
            .is_none_or(|old| old["version"].as_i64() <= node["version"].as_i64());
        if newer {
            self.records.insert(id, node);
        }
    }

    fn save(&self, path: &str) {
        let file = json!({ "cursor": self.cursor, "records": self.records });
        std::fs::write(path, serde_json::to_vec_pretty(&file).expect("JSON")).expect("write");
    }

    fn load(&mut self, path: &str) -> bool {
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let file: Value = serde_json::from_str(&text).expect("the mirror file is JSON");
        self.cursor = file["cursor"].as_str().expect("cursor").to_owned();
        self.records = serde_json::from_value(file["records"].clone()).expect("records");
        true
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut url, mut out, mut once, mut every) = (
        "http://127.0.0.1:8000".to_owned(),
        "mirror.json".to_owned(),
        false,
        2,
    );
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next().expect("--url takes a URL"),
            "--out" => out = args.next().expect("--out takes a file"),
            "--once" => once = true,
            "--every" => every = args.next().and_then(|s| s.parse().ok()).expect("seconds"),
            other => panic!("unknown option {other} (see the example's docs)"),
        }
    }
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let addr = tokio::net::lookup_host(host)
        .await
        .expect("a host:port")
        .next()
        .expect("an address");
    let api = Api { addr };
    let mut mirror = Mirror {
        api,
        cursor: String::new(),
        records: BTreeMap::new(),
    };
    if mirror.load(&out) {
        eprintln!(
            "resuming from cursor {} with {} records",
            mirror.cursor,
            mirror.records.len()
        );
    } else {
        mirror.snapshot().await;
        mirror.save(&out);
        eprintln!(
            "snapshot: {} records at cursor {}",
            mirror.records.len(),
            mirror.cursor
        );
    }
    loop {
        let read = mirror.catch_up().await;
        mirror.save(&out);
        if read > 0 {
            eprintln!("{read} changes applied; cursor {}", mirror.cursor);
        }
        if once {
            return;
        }
        tokio::time::sleep(Duration::from_secs(every)).await;
    }
}
