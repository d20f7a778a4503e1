//! Hostile input against the real server process, on both backends: the binary is started on
//! a database of its own and attacked over TCP with generated cases (values nested ever deeper
//! in every position a value can stand, fragment bombs at every level, introspection
//! amplification, oversized and malformed bodies, random mutations of valid documents, random
//! bytes, slow headers and bodies). After every case the same process must still be running,
//! answer `/healthz`, and hold less resident memory than the bound; no 5xx may carry internal
//! details.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::TestDb;
use crate::http_graphql::dechunk;

/// The most resident memory the server may hold, in bytes (the issue's bound).
const MAX_RSS: u64 = 200 * 1024 * 1024;

/// Words that would betray internals in an answer.
const INTERNAL_MARKERS: &[&str] = &[
    "sqlx",
    "SQLite",
    "sqlite",
    "postgres",
    "panicked",
    "stack overflow",
    "error returned from database",
    ".rs:",
    "DbErr",
];

/// The server binary, started on `url`; killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start(url: &str) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let child = Command::new(env!("CARGO_BIN_EXE_iuc-graph"))
            .env("DATABASE_URL", url)
            .env("IUC_ADDR", addr.to_string())
            .env("IUC_SEED", "auto")
            .env("IUC_LOG", "error")
            .env("IUC_READ_TIMEOUT", "1")
            .env("IUC_REQUEST_TIMEOUT", "5")
            // Hundreds of cases from one address: the rate limit has tests of its own.
            .env("IUC_RATE_LIMIT_ANONYMOUS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let mut server = Server { child, addr };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if server.healthy().await {
                return server;
            }
            assert!(server.running(), "the server exited during start-up");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the server did not answer /healthz within 120 s");
    }

    fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    async fn healthy(&self) -> bool {
        let request = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        matches!(
            exchange(self.addr, request, Duration::from_secs(5)).await,
            Some((200, _))
        )
    }

    /// Resident memory, from `/proc`.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// Sends one case and checks the process afterwards; returns the answer.
    async fn case(&mut self, label: &str, request: &[u8]) -> Option<(u16, String)> {
        let answer = exchange(self.addr, request, Duration::from_secs(20)).await;
        if let Some((status, body)) = &answer
            && *status >= 500
        {
            for marker in INTERNAL_MARKERS {
                assert!(
                    !body.contains(marker),
                    "[{label}] {status} leaks `{marker}`: {body}"
                );
            }
        }
        assert!(self.running(), "[{label}] the server process died");
        assert!(self.healthy().await, "[{label}] /healthz does not answer");
        let rss = self.rss();
        assert!(rss < MAX_RSS, "[{label}] resident memory {} MB", rss >> 20);
        answer
    }

    /// A POST of `body` as JSON; the answer's status and JSON.
    async fn post(&mut self, label: &str, body: &[u8]) -> (u16, Value) {
        let answer = self.case(label, &http_post(body)).await;
        let (status, text) = answer.unwrap_or_else(|| panic!("[{label}] no answer"));
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn http_post(body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

fn http_get(query: &str) -> Vec<u8> {
    let encoded = serde_urlencoded::to_string([("query", query)]).expect("a query encodes");
    format!("GET /graphql?{encoded} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").into_bytes()
}

/// Writes `request` and reads the answer until the server closes the connection.
async fn exchange(addr: SocketAddr, request: &[u8], wait: Duration) -> Option<(u16, String)> {
    let io = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream.write_all(request).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(answer)
    };
    let answer = tokio::time::timeout(wait, io).await.ok()??;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.get(9..12)?.parse().ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Some((status, body))
}

fn code(answer: &Value) -> String {
    let error = &answer["errors"][0];
    error["extensions"]["code"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

/// A small deterministic generator (xorshift64*), so that a failing case can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Valid documents the mutations start from.
const CORPUS: &[&str] = &[
    "{ pairings(first: 5, filter: { search: \"rome\" }) { totalCount nodes { slug title participants { place { ... on City { name country { code } } } } } pageInfo { endCursor } } }",
    "query P($slug: String!) { pairing(slug: $slug) { title themes { name } ucap { sections { text } } activities(first: 3) { nodes { title date } } } }",
    "{ __schema { types { name fields { name type { name ofType { name } } } } } }",
    "{ cities(first: 3, filter: { countries: [\"IT\", \"CN\"] }) { nodes { id name pairings(first: 2) { nodes { slug } } } } }",
    "mutation { createCity(input: { slug: \"x\", name: \"X\", countryCode: \"IT\" }) { city { id } } }",
    "query { ...F } fragment F on Query { themes { slug } summary { pairings } }",
];

/// Every position a value can stand in, with `value` there.
fn value_positions(value: &str) -> Vec<(&'static str, String, Value)> {
    vec![
        (
            "field argument",
            format!("{{ pairings(first: {value}) {{ totalCount }} }}"),
            json!({}),
        ),
        (
            "directive argument",
            format!("{{ __typename @skip(if: {value}) }}"),
            json!({}),
        ),
        (
            "variable default",
            format!("query($v: [Int] = {value}) {{ pairings(first: 1) {{ totalCount }} }}"),
            json!({}),
        ),
        (
            "input object",
            format!("{{ pairings(filter: {{ search: {value} }}) {{ totalCount }} }}"),
            json!({}),
        ),
    ]
}

fn nested_list(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_object(depth: usize) -> String {
    format!("{}1{}", "{a: ".repeat(depth), "}".repeat(depth))
}

/// A fragment bomb: `levels` fragments each spreading the next `width` times, spread under
/// `prefix … suffix` (the root, or below a field).
fn fragment_bomb(levels: usize, width: usize, on: &str, prefix: &str, suffix: &str) -> String {
    let mut document = format!("{prefix} ...F0 {suffix}");
    for i in 0..levels {
        let spreads = vec![format!("...F{}", i + 1); width].join(" ");
        document.push_str(&format!(" fragment F{i} on {on} {{ {spreads} }}"));
    }
    document.push_str(&format!(" fragment F{levels} on {on} {{ __typename }}"));
    document
}

async fn nested_values(server: &mut Server) {
    for depth in [10, 31, 33, 100, 1_000, 2_000, 3_000, 10_000, 40_000] {
        for value in [nested_list(depth), nested_object(depth)] {
            for (position, query, variables) in value_positions(&value) {
                let label = format!("{position} nested {depth}");
                let body = json!({ "query": query, "variables": variables }).to_string();
                let (status, answer) = server.post(&label, body.as_bytes()).await;
                // Refused on the text: too deep, or (for the largest) too many tokens.
                let code = code(&answer);
                if depth > 33 && status != 413 {
                    assert!(
                        code == "NESTING_TOO_DEEP" || code == "TOO_MANY_TOKENS",
                        "[{label}] {answer}"
                    );
                }
                if body.len() < 6_000 {
                    server
                        .case(&format!("GET {label}"), &http_get(&query))
                        .await;
                }
            }
        }
        // Variables' JSON, over POST and GET.
        let label = format!("variables nested {depth}");
        let query = "query($v: [Int]) { pairings(first: 1) { totalCount } }";
        // Written as text: a value this deep would overflow this test's own stack.
        let body = format!(
            "{{\"query\": {}, \"variables\": {{\"v\": {}}}}}",
            Value::from(query),
            nested_list(depth)
        );
        let (status, answer) = server.post(&label, body.as_bytes()).await;
        if depth > 40 && status != 413 {
            assert_eq!(code(&answer), "NESTING_TOO_DEEP", "[{label}] {answer}");
        }
    }
}

async fn fragment_bombs(server: &mut Server) {
    for levels in [2, 8, 16, 28, 31, 40] {
        for width in [2, 4] {
            let shapes = [
                ("root", "Query", "{", "}"),
                (
                    "below a field",
                    "Pairing",
                    "{ pairings(first: 2) { nodes {",
                    "} } }",
                ),
                (
                    "in introspection",
                    "__Type",
                    "{ __schema { types {",
                    "} } }",
                ),
            ];
            for (at, on, prefix, suffix) in shapes {
                let label = format!("fragment bomb {levels}×{width} at {at}");
                let document = fragment_bomb(levels, width, on, prefix, suffix);
                let body = json!({ "query": document }).to_string();
                let (_, answer) = server.post(&label, body.as_bytes()).await;
                if width.saturating_pow(levels as u32) > 200_000 {
                    let code = code(&answer);
                    assert!(
                        code == "QUERY_TOO_COMPLEX" || code == "NESTING_TOO_DEEP",
                        "[{label}] {answer}"
                    );
                }
            }
        }
    }
    for cycle in [
        "{ ...A } fragment A on Query { ...A ...A }",
        "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A ...A }",
        "query X { __typename } query Y { ...A } fragment A on Query { ...A ...A }",
    ] {
        let body = json!({ "query": cycle, "operationName": "X" }).to_string();
        let (_, answer) = server.post(cycle, body.as_bytes()).await;
        assert_eq!(
            code(&answer),
            "GRAPHQL_VALIDATION_FAILED",
            "[{cycle}] {answer}"
        );
    }
    // Several in flight at once, and /healthz keeps answering.
    let bomb = json!({ "query": fragment_bomb(28, 2, "Query", "{", "}") }).to_string();
    let request = http_post(bomb.as_bytes());
    let addr = server.addr;
    let flights: Vec<_> = (0..6)
        .map(|_| {
            let request = request.clone();
            tokio::spawn(async move { exchange(addr, &request, Duration::from_secs(20)).await })
        })
        .collect();
    assert!(server.healthy().await, "/healthz during concurrent bombs");
    for flight in flights {
        let answer = flight.await.expect("the task ends");
        assert!(answer.is_some_and(|(status, _)| status < 500));
    }
}

async fn introspection_amplification(server: &mut Server) {
    for depth in 1..=14 {
        let mut selection = String::from("name");
        for level in 0..depth {
            let field = if (depth - 1 - level) % 2 == 0 {
                "possibleTypes"
            } else {
                "interfaces"
            };
            selection = format!("{field} {{ name {selection} }}");
        }
        let query = format!("{{ __type(name: \"Node\") {{ {selection} }} }}");
        let label = format!("introspection amplification {depth}");
        let (_, answer) = server
            .post(&label, json!({ "query": query }).to_string().as_bytes())
            .await;
        if depth >= 9 {
            let code = code(&answer);
            assert!(
                matches!(
                    code.as_str(),
                    "QUERY_TOO_COMPLEX" | "QUERY_TOO_DEEP" | "RESPONSE_TOO_LARGE"
                ),
                "[{label}] {answer}"
            );
        }
    }
}

async fn malformed_bodies(server: &mut Server) {
    let big = format!(
        "{{\"query\": \"{{ __typename }}\", \"x\": \"{}\"}}",
        "a".repeat(300_000)
    );
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("oversized", http_post(big.as_bytes())),
        ("not JSON", http_post(b"{\"query\": ")),
        ("JSON nested 100,000", http_post(&[b'['; 100_000])),
        ("empty", http_post(b"")),
        ("a string", http_post(b"\"{ __typename }\"")),
        ("a batch of nothing", http_post(b"[]")),
        ("a batch of 1,000", http_post(format!("[{}]", vec!["{\"query\":\"{__typename}\"}"; 1000].join(",")).as_bytes())),
        ("duplicate query keys", http_post(b"{\"query\": \"{ __typename }\", \"query\": \"{ themes { slug } }\"}")),
        ("lone surrogate", http_post(b"{\"query\": \"{ __typename }\\ud800\"}")),
        ("NUL in a search", http_post(br#"{"query": "{ pairings(filter: {search: \"\\u0000\"}) { totalCount } }"}"#)),
        ("a long search", http_post(json!({ "query": format!("{{ pairings(filter: {{search: \"{}\"}}) {{ totalCount }} }}", "x".repeat(90_000)) }).to_string().as_bytes())),
        ("a long list", http_post(json!({ "query": "query($s: [Int!]) { pairings(filter: {sdgs: $s}) { totalCount } }", "variables": { "s": vec![1; 45_000] } }).to_string().as_bytes())),
        ("2^31", http_post(br#"{"query": "{ pairings(first: 2147483648) { totalCount } }"}"#)),
        ("wrong content type", b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_vec()),
        ("garbage request line", b"\x00\x01\x02 / HTTP/9.9\r\n\r\n".to_vec()),
        ("huge header", format!("GET /healthz HTTP/1.1\r\nHost: t\r\nX: {}\r\nConnection: close\r\n\r\n", "a".repeat(1 << 20)).into_bytes()),
    ];
    for (label, request) in cases {
        if let Some((status, body)) = server.case(label, &request).await {
            assert!(status < 500, "[{label}] {status} {body}");
        }
    }
    let (_, answer) = server
        .post(
            "duplicate keys",
            b"{\"query\": \"{ __typename }\", \"query\": \"{ themes { slug } }\"}",
        )
        .await;
    assert!(
        answer.get("data").is_none(),
        "duplicate keys are refused: {answer}"
    );
    let (_, answer) = server
        .post(
            "NUL",
            br#"{"query": "{ pairings(filter: {search: \"a\\u0000\"}) { totalCount } }"}"#,
        )
        .await;
    assert_eq!(code(&answer), "BAD_USER_INPUT", "{answer}");
}

async fn random_mutations(server: &mut Server, seed: u64, cases: usize) {
    let mut rng = Rng(seed);
    const INSERTS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        "(",
        ")",
        "...",
        "\"",
        "\\",
        "$",
        "@skip(if: true)",
        ":",
        "#",
        "\u{0}",
        "99999999999999999999",
        "-1",
        "__schema",
        "...F",
        "on",
        "fragment F on Query { ...F }",
    ];
    for case in 0..cases {
        let mut document: Vec<char> = CORPUS[rng.below(CORPUS.len())].chars().collect();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(document.len() + 1);
            match rng.below(4) {
                0 if !document.is_empty() => {
                    let end = (at + 1 + rng.below(8)).min(document.len());
                    document.drain(at.min(end)..end);
                }
                1 => {
                    let insert = INSERTS[rng.below(INSERTS.len())];
                    document.splice(at..at, insert.chars());
                }
                2 if at < document.len() => {
                    let end = (at + rng.below(40)).min(document.len());
                    let copy: Vec<char> = document[at..end].to_vec();
                    document.splice(at..at, copy.into_iter().cycle().take(rng.below(400)));
                }
                _ => {
                    let insert = INSERTS[rng.below(4)].repeat(rng.below(3000));
                    document.splice(at..at, insert.chars());
                }
            }
        }
        let document: String = document.into_iter().collect();
        let label = format!("mutation {case} (seed {seed})");
        let body = json!({ "query": document, "variables": { "slug": "rome-yantai" } });
        if let Some((status, body)) = server
            .case(&label, &http_post(body.to_string().as_bytes()))
            .await
        {
            assert!(status < 500 || status == 504, "[{label}] {status} {body}");
        }
    }
}

async fn random_bytes(server: &mut Server, seed: u64, cases: usize) {
    let mut rng = Rng(seed);
    for case in 0..cases {
        let length = rng.below(4096);
        let bytes: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
        let label = format!("random bytes {case} (seed {seed})");
        let request = if case % 2 == 0 {
            http_post(&bytes)
        } else {
            bytes
        };
        server.case(&label, &request).await;
    }
}

async fn slow_clients(server: &mut Server) {
    // A body announced as 1,000 bytes of which 10 arrive: answered (408) or cut within the read
    // timeout (1 s here), not held open.
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    let head = "POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
                Content-Length: 1000\r\n\r\n{\"query\":";
    stream.write_all(head.as_bytes()).await.expect("writes");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(8), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a slow body is held open");
    assert!(started.elapsed() < Duration::from_secs(8));
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    // Headers a few bytes at a time: the connection is closed within the read timeout.
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.expect("connects");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("writes");
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(8), stream.read(&mut buffer)).await;
    assert!(read.is_ok(), "slow headers are held open");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(server.healthy().await);
}

#[tokio::test]
async fn no_hostile_request_stops_stalls_or_bloats_the_server() {
    for db in TestDb::all_empty().await {
        let backend = db.backend;
        let mut server = Server::start(&db.url).await;
        nested_values(&mut server).await;
        fragment_bombs(&mut server).await;
        introspection_amplification(&mut server).await;
        malformed_bodies(&mut server).await;
        random_mutations(&mut server, 0x5eed_0001, 300).await;
        random_bytes(&mut server, 0x5eed_0002, 100).await;
        slow_clients(&mut server).await;
        let rss = server.rss();
        eprintln!(
            "[{backend:?}] resident memory after the suite: {} MB",
            rss >> 20
        );
        assert!(
            server.running(),
            "[{backend:?}] the server is still the same process"
        );
        drop(server);
    }
}
