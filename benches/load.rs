//! Load benchmark: the real server (the `iuc-graph` binary, release build) on generated
//! databases of given scales and a backend, driven over HTTP by concurrent keep-alive clients
//! for a fixed time, five operations one after the other. Per operation and scale it reports
//! requests per second, p50 and p99 latency, SQL statements per request (from the server's
//! `/metrics`), and at the end each server's peak resident memory. Every response is checked:
//! an error or a non-200 answer stops the benchmark rather than being timed.
//!
//! The scales of one backend are measured side by side: one server per scale, all running, and
//! each operation's time cut into slices of about 2 s taken in turn (1k, 100k, 100k, 1k, …), so
//! that what the machine does meanwhile (other tenants, the kernel's writeback) falls on every
//! scale alike and the ratio of their throughputs is the scales', not the minutes'.
//!
//!     cargo bench --bench load -- --backend sqlite --pairings 100000
//!     cargo bench --bench load -- --backend postgres --pairings 1000,100000
//!     cargo bench --bench load -- --matrix          # 1k and 100k pairings, SQLite and PostgreSQL
//!
//! Options: --backend sqlite|postgres, --pairings N[,N…], --seconds S (per operation and scale,
//! default 10),
//! --clients C (default 16), --postgres URL (default postgres://postgres@127.0.0.1:5432/postgres),
//! --only 1,3 (run only these operations), --server HOST:PORT (drive a server that is already
//! running on a database generated with `--seed 1`, instead of generating one and starting it:
//! for profiling; peak memory is then not reported), --encodings identity,gzip,br (each
//! operation once per response coding, asked for with `Accept-Encoding` and measured in turn
//! with the scales, slice by slice; the table then has a coding and bytes-per-response column).
//!
//! Soak mode: mixed reads, writes, new documents and many client identities against one server
//! for a long time, its resident memory printed over time (`load/soak.rs` says what it sends):
//!
//!     cargo bench --bench load -- --soak --minutes 20 --backend sqlite
//!
//! (with --pairings N, first scale only, default 1000, and --clients C).
//!
//! Levels mode (`--levels`, `load/levels.rs`): bytes and time of each gzip and brotli level on
//! the operations' answers, for choosing the server's levels and size threshold.
//!
//! Feed mode: mutations per second, the memory of idle `changes` subscribers and the time one
//! change takes to reach them all (`load/feed.rs` says how):
//!
//!     cargo bench --bench load -- --feed --backend postgres --subscribers 1000
//!
//! Peer mode: iuc-graph beside PostGraphile (one Node worker per core) on the same PostgreSQL
//! data, each pair of equivalent queries checked to answer the same data, then measured
//! interleaved (`load/peer.rs` says how; `--pairings` may be written `--scales`, default 10000):
//!
//!     cargo bench --bench load -- --peer postgraphile --scales 10000,100000 --seconds 8 --rounds 4

#[path = "load/ceiling.rs"]
mod ceiling;
#[path = "load/feed.rs"]
mod feed;
#[path = "load/levels.rs"]
mod levels;
#[path = "load/peer.rs"]
mod peer;
#[path = "load/peer_data.rs"]
mod peer_data;
#[path = "load/peer_node.rs"]
mod peer_node;
#[path = "load/soak.rs"]
mod soak;
mod support;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Client, Database, Server, metric};

#[derive(Clone)]
struct Options {
    backend: String,
    pairings: Vec<u64>,
    seconds: u64,
    clients: usize,
    postgres: String,
    matrix: bool,
    only: Vec<usize>,
    server: Option<SocketAddr>,
    soak: bool,
    minutes: f64,
    feed: bool,
    subscribers: usize,
    writes_only: bool,
    /// `--peer NAME`: the peer comparison instead of the five operations.
    peer: Option<String>,
    /// Whether `--pairings`/`--scales` was given (the peer mode's default scale differs).
    scales_given: bool,
    /// Peer mode: measured seconds per server and query (`--seconds`, default 8 there),
    /// split into `--rounds` slices, after `--warmup` seconds.
    seconds_given: bool,
    rounds: u64,
    warmup: f64,
    encodings: Vec<String>,
    levels: bool,
}

fn options() -> Options {
    let mut o = Options {
        backend: "sqlite".into(),
        pairings: vec![1000],
        seconds: 10,
        clients: 16,
        postgres: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        matrix: false,
        only: Vec::new(),
        server: None,
        soak: false,
        minutes: 20.0,
        feed: false,
        subscribers: 1000,
        writes_only: false,
        peer: None,
        scales_given: false,
        seconds_given: false,
        rounds: 4,
        warmup: 3.0,
        encodings: vec!["identity".into()],
        levels: false,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--backend" => o.backend = value,
            "--pairings" | "--scales" => {
                o.scales_given = true;
                o.pairings = value
                    .split(',')
                    .map(|n| n.trim().parse().expect("--pairings takes numbers"))
                    .collect()
            }
            "--seconds" => {
                o.seconds_given = true;
                o.seconds = value.parse().expect("--seconds takes a number")
            }
            "--peer" => o.peer = Some(value),
            "--rounds" => o.rounds = value.parse().expect("--rounds takes a number"),
            "--warmup" => o.warmup = value.parse().expect("--warmup takes a number"),
            "--clients" => o.clients = value.parse().expect("--clients takes a number"),
            "--postgres" => o.postgres = value,
            "--only" => {
                o.only = value
                    .split(',')
                    .map(|n| n.trim().parse().expect("--only takes operation numbers"))
                    .collect()
            }
            "--server" => o.server = Some(value.parse().expect("--server takes HOST:PORT")),
            "--minutes" => o.minutes = value.parse().expect("--minutes takes a number"),
            "--encodings" => o.encodings = value.split(',').map(|e| e.trim().to_owned()).collect(),
            "--subscribers" => o.subscribers = value.parse().expect("--subscribers takes a number"),
            "--matrix" | "--soak" | "--feed" | "--writes-only" | "--levels" => {
                o.matrix |= args[i] == "--matrix";
                o.levels |= args[i] == "--levels";
                o.soak |= args[i] == "--soak";
                o.feed |= args[i] == "--feed";
                o.writes_only |= args[i] == "--writes-only";
                i += 1;
                continue;
            }
            "--bench" => {
                i += 1;
                continue;
            }
            _ => {}
        }
        i += 2;
    }
    o
}

/// The five operations. Each returns the request body for request number `n`, so that
/// requests vary (different pairings, prefixes) without randomness in the timing loop.
struct Operation {
    name: &'static str,
    body: Box<dyn Fn(u64) -> String + Send + Sync>,
}

fn operations(seed_tag: &str, pairings: u64, theme: String) -> Vec<Operation> {
    let tag = seed_tag.to_owned();
    let tag2 = seed_tag.to_owned();
    vec![
        Operation {
            name: "1 pairings table (50 on a theme)",
            body: Box::new(move |_| {
                json!({ "query": "query($t: [String!]) { pairings(filter: { themes: $t }, first: 50) { pageInfo { hasNextPage endCursor } nodes { slug title participants { side role place { ... on City { name country { code name } } ... on Region { name country { code name } } } } themes { slug name } } } }", "variables": { "t": [theme.clone()] } }).to_string()
            }),
        },
        Operation {
            name: "2 pairing page (everything)",
            body: Box::new(move |n| {
                let slug = format!("{tag}-pairing-{}", (n * 7919) % pairings);
                json!({ "query": "query($s: String!) { pairing(slug: $s) { title summary status start { text } programmeRegion { name } countries { code name } participants { side role place { ... on City { name population leader country { name } } } } themes { name scheme } sdgs { number name } ucap { status sections { sectionType { name } body } projects(first: 20) { totalCount nodes { kind title city { name } } } } stakeholders(first: 20) { totalCount nodes { role stakeholder { name helix city { name } } } } activities(first: 20) { totalCount nodes { date { text } kind title place } } } }", "variables": { "s": slug } }).to_string()
            }),
        },
        Operation {
            name: "3 deep graph (20 pairings, cities, their pairings, themes)",
            body: Box::new(move |_| {
                json!({ "query": "{ pairings(first: 20) { nodes { title participants { place { ... on City { name pairings(first: 10) { nodes { title themes { name } } } } } } } } }" }).to_string()
            }),
        },
        Operation {
            name: "4 city search (name prefix)",
            body: Box::new(move |n| {
                const PREFIXES: [&str; 8] = ["va", "lo", "mi", "ra", "to", "sen", "bu", "ka"];
                let prefix = PREFIXES[(n % 8) as usize];
                json!({ "query": "query($p: String) { cities(filter: { nameStartsWith: $p }, first: 20) { nodes { slug name country { code } } } }", "variables": { "p": prefix } }).to_string()
            }),
        },
        Operation {
            name: "5 programme summary",
            body: Box::new(move |_| {
                let _ = &tag2;
                json!({ "query": "{ summary { pairings cities regions countries sides { side countries cities regions } pairingKinds { kind pairings } themes { theme { slug name } pairings cities regions citiesAndRegions } } }" }).to_string()
            }),
        },
    ]
}

struct Row {
    scale: u64,
    backend: String,
    operation: &'static str,
    encoding: String,
    bytes: f64,
    rps: f64,
    p50: f64,
    p99: f64,
    statements: f64,
}

/// The parts of a response `check` looks at: the whole body is parsed (it must be JSON), but
/// `data` is skipped over rather than built into a value, so that the load generator, which
/// shares the machine with the server, spends little of it on checking.
#[derive(serde::Deserialize)]
struct Checked {
    data: Option<serde::de::IgnoredAny>,
    errors: Option<Value>,
}

/// A response body in the coding its head names (`content-encoding`), decoded.
fn decoded(head: &str, body: Vec<u8>) -> Vec<u8> {
    use std::io::Read;
    let coding = head
        .lines()
        .find_map(|l| l.strip_prefix("content-encoding:"))
        .map(str::trim);
    let mut out = Vec::new();
    match coding {
        None => return body,
        Some("gzip") => flate2::read::GzDecoder::new(&body[..]).read_to_end(&mut out),
        Some("br") => brotli::Decompressor::new(&body[..], 4096).read_to_end(&mut out),
        Some(other) => panic!("a coding not asked for: {other}"),
    }
    .expect("a body that decodes");
    out
}

fn check(status: u16, body: &[u8], op: &str) {
    assert_eq!(
        status,
        200,
        "{op}: HTTP {status}: {}",
        String::from_utf8_lossy(body)
    );
    let checked: Checked = serde_json::from_slice(body).expect("a JSON response");
    if let Some(errors) = checked.errors {
        panic!("{op}: errors: {errors}");
    }
    assert!(checked.data.is_some(), "{op}: no data");
}

/// What one operation on one server measured.
#[derive(Default)]
struct Tally {
    latencies: Vec<u64>,
    /// Body bytes on the wire (compressed when the coding was).
    bytes: u64,
    elapsed: Duration,
    operations: u64,
    statements: u64,
}

/// What `measure` found for one target.
struct Measured {
    rps: f64,
    p50: f64,
    p99: f64,
    statements: f64,
    bytes: f64,
}

/// Measures one operation on each target (a server and a response coding: the same operation
/// on databases of different scales, or in different codings): a 1 s warm-up on each, then
/// `seconds` each, in slices of about 2 s taken in turn, reversing the order every round
/// (A B B A …). Returns requests per second, p50 and p99 latency in ms, SQL statements and body
/// bytes per request, per target.
async fn measure(
    targets: &[(SocketAddr, &Operation, &str)],
    seconds: u64,
    clients: usize,
) -> Vec<Measured> {
    for (addr, op, coding) in targets {
        drop(drive(*addr, op, coding, Duration::from_secs(1), clients).await);
    }
    let rounds = seconds.div_ceil(2).max(1);
    let slice = Duration::from_secs_f64(seconds as f64 / rounds as f64);
    let mut tallies: Vec<Tally> = targets.iter().map(|_| Tally::default()).collect();
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..targets.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (addr, op, coding) = targets[i];
            let ops_before = metric(addr, "iuc_graphql_operations_total").await;
            let sql_before = metric(addr, "iuc_sql_statements_total").await;
            let started = Instant::now();
            let (latencies, bytes) = drive(addr, op, coding, slice, clients).await;
            let tally = &mut tallies[i];
            tally.elapsed += started.elapsed();
            tally.latencies.extend(latencies);
            tally.bytes += bytes;
            tally.operations += metric(addr, "iuc_graphql_operations_total").await - ops_before;
            tally.statements += metric(addr, "iuc_sql_statements_total").await - sql_before;
        }
    }
    tallies
        .into_iter()
        .map(|mut t| {
            t.latencies.sort_unstable();
            let n = t.latencies.len();
            let pct = |p: f64| t.latencies[((n as f64 * p) as usize).min(n - 1)] as f64 / 1000.0;
            Measured {
                rps: n as f64 / t.elapsed.as_secs_f64(),
                p50: pct(0.50),
                p99: pct(0.99),
                statements: t.statements as f64 / t.operations.max(1) as f64,
                bytes: t.bytes as f64 / n.max(1) as f64,
            }
        })
        .collect()
}

/// The `p` quantile of latencies in microseconds, sorted, in milliseconds (0 when empty).
fn percentile_ms(sorted: &[u64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    sorted[((n as f64 * p) as usize).min(n - 1)] as f64 / 1000.0
}

/// Drives `op` with `clients` connections for `time`, asking for `coding` (`identity`: no
/// `Accept-Encoding`); returns latencies in microseconds and the body bytes received. Each
/// connection's first answer is decoded and checked in full; the rest are checked by status
/// and coding, so that the load generator, which shares the machine, does not spend a core on
/// decompressing.
async fn drive(
    addr: SocketAddr,
    op: &Operation,
    coding: &str,
    time: Duration,
    clients: usize,
) -> (Vec<u64>, u64) {
    let deadline = Instant::now() + time;
    let body = std::sync::Arc::new(&op.body);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let name = op.name;
        let bodies: Vec<String> = (0..256)
            .map(|n| (body)(n * clients as u64 + c as u64))
            .collect();
        let coding = coding.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(addr).await;
            let headers: Vec<(&str, &str)> = match coding.as_str() {
                "identity" => Vec::new(),
                other => vec![("Accept-Encoding", other)],
            };
            let mut latencies = Vec::new();
            let mut bytes = 0;
            let mut n = 0;
            while Instant::now() < deadline {
                let started = Instant::now();
                let response = client
                    .send(
                        "POST",
                        "/graphql",
                        &headers,
                        bodies[n % bodies.len()].as_bytes(),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("{name}: {e}"));
                latencies.push(started.elapsed().as_micros() as u64);
                bytes += response.body.len() as u64;
                if n == 0 {
                    let body = decoded(&response.head, response.body);
                    check(response.status, &body, name);
                } else {
                    assert_eq!(response.status, 200, "{name}: HTTP {}", response.status);
                }
                n += 1;
            }
            (latencies, bytes)
        }));
    }
    let mut all = Vec::new();
    let mut bytes = 0;
    for task in tasks {
        let (latencies, b) = task.await.expect("a client task");
        all.extend(latencies);
        bytes += b;
    }
    (all, bytes)
}

/// One backend at each of `scales`: every database is generated first, then a server is
/// started on each, and the operations are measured on all of them side by side. Returns the
/// rows and each scale's peak server memory (KiB).
async fn bench_backend(o: &Options, backend: &str, scales: &[u64]) -> (Vec<Row>, Vec<u64>) {
    let mut databases = Vec::new();
    for &pairings in scales {
        databases.push(Database::create(backend, pairings, &o.postgres, "bench").await);
    }
    let mut servers = Vec::new();
    for database in &databases {
        // The load generator is one client at full speed: the per-address rate limit would
        // measure itself, not the server.
        let env = [("IUC_RATE_LIMIT_ANONYMOUS", "0")];
        servers.push(Server::start(&database.url, &env, Stdio::inherit()).await);
    }
    let targets: Vec<(SocketAddr, u64)> = servers
        .iter()
        .zip(&databases)
        .map(|(s, d)| (s.addr, d.pairings))
        .collect();
    let rows = operations_on(o, &targets, backend).await;
    let memory = servers.iter().map(Server::peak_rss_kib).collect();
    for server in servers {
        server.stop();
    }
    for database in databases {
        database.remove().await;
    }
    (rows, memory)
}

/// Measures the operations (all, or those `--only` names) against running servers, one per
/// scale (`targets`: address and pairings). Rows come scale by scale.
async fn operations_on(o: &Options, targets: &[(SocketAddr, u64)], backend: &str) -> Vec<Row> {
    let theme = "stream-g1-0".to_owned();
    let per_scale: Vec<Vec<Operation>> = targets
        .iter()
        .map(|(_, pairings)| operations("g1", *pairings, theme.clone()))
        .collect();
    let mut rows: Vec<Vec<Row>> = targets.iter().map(|_| Vec::new()).collect();
    for i in 0..per_scale[0].len() {
        if !o.only.is_empty() && !o.only.contains(&(i + 1)) {
            continue;
        }
        // Every scale in every coding, taken in turn.
        let on: Vec<(SocketAddr, &Operation, &str)> = targets
            .iter()
            .zip(&per_scale)
            .flat_map(|((addr, _), ops)| {
                o.encodings
                    .iter()
                    .map(move |coding| (*addr, &ops[i], coding.as_str()))
            })
            .collect();
        let measured = measure(&on, o.seconds, o.clients).await;
        let codings = o.encodings.len();
        for (k, m) in measured.into_iter().enumerate() {
            let (pairings, coding) = (targets[k / codings].1, &o.encodings[k % codings]);
            let name = per_scale[0][i].name;
            eprintln!(
                "[{backend} {pairings} {coding}] {name}: {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {:.1} SQL/req, {:.0} B/response",
                m.rps, m.p50, m.p99, m.statements, m.bytes,
            );
            rows[k / codings].push(Row {
                scale: pairings,
                backend: backend.to_owned(),
                operation: name,
                encoding: coding.clone(),
                bytes: m.bytes,
                rps: m.rps,
                p50: m.p50,
                p99: m.p99,
                statements: m.statements,
            });
        }
    }
    rows.into_iter().flatten().collect()
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    if o.soak {
        let plan = soak::Plan {
            backend: o.backend.clone(),
            pairings: o.pairings[0],
            clients: o.clients,
            minutes: o.minutes,
            postgres: o.postgres.clone(),
        };
        runtime.block_on(soak::soak(&plan));
        return;
    }
    if o.levels {
        runtime.block_on(levels::levels(&o.backend, o.pairings[0], &o.postgres));
        return;
    }
    if o.feed {
        let plan = feed::Plan {
            backend: o.backend.clone(),
            pairings: o.pairings[0],
            clients: o.clients,
            seconds: o.seconds,
            subscribers: o.subscribers,
            postgres: o.postgres.clone(),
            writes_only: o.writes_only,
        };
        runtime.block_on(feed::feed(&plan));
        return;
    }
    if let Some(name) = &o.peer {
        let plan = peer::Plan {
            scales: if o.scales_given {
                o.pairings.clone()
            } else {
                vec![10_000]
            },
            seconds: if o.seconds_given {
                o.seconds as f64
            } else {
                8.0
            },
            rounds: o.rounds,
            warmup: o.warmup,
            clients: o.clients,
            postgres: o.postgres.clone(),
        };
        runtime.block_on(peer::peer(&plan, name));
        return;
    }
    if let Some(addr) = o.server {
        let rows = runtime.block_on(operations_on(&o, &[(addr, o.pairings[0])], &o.backend));
        print_table(&o, &rows);
        return;
    }
    let plan: Vec<(String, Vec<u64>)> = if o.matrix {
        ["sqlite", "postgres"]
            .iter()
            .map(|b| (b.to_string(), vec![1000, 100_000]))
            .collect()
    } else {
        vec![(o.backend.clone(), o.pairings.clone())]
    };
    let mut rows = Vec::new();
    let mut memory = Vec::new();
    for (backend, scales) in plan {
        let (r, rss) = runtime.block_on(bench_backend(&o, &backend, &scales));
        rows.extend(r);
        for (pairings, rss) in scales.into_iter().zip(rss) {
            memory.push((backend.clone(), pairings, rss));
        }
    }
    print_table(&o, &rows);
    println!();
    println!("| backend | pairings | server peak RSS |");
    println!("|---|---:|---:|");
    for (backend, pairings, rss) in memory {
        println!("| {backend} | {pairings} | {:.0} MB |", rss as f64 / 1024.0);
    }
}

fn print_table(o: &Options, rows: &[Row]) {
    println!();
    println!(
        "{} clients, {} s per operation and scale (scales taken in turn, slices of about 2 s), server and load generator on this machine",
        o.clients, o.seconds
    );
    println!();
    if o.encodings.len() > 1 || o.encodings[0] != "identity" {
        println!(
            "| backend | pairings | operation | coding | req/s | p50 ms | p99 ms | SQL/req | bytes/response |"
        );
        println!("|---|---:|---|---|---:|---:|---:|---:|---:|");
        for r in rows {
            println!(
                "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} |",
                r.backend,
                r.scale,
                r.operation,
                r.encoding,
                r.rps,
                r.p50,
                r.p99,
                r.statements,
                r.bytes
            );
        }
        return;
    }
    println!("| backend | pairings | operation | req/s | p50 ms | p99 ms | SQL/req |");
    println!("|---|---:|---|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
            r.backend, r.scale, r.operation, r.rps, r.p50, r.p99, r.statements
        );
    }
}
