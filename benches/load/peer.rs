//! Peer mode (`--peer postgraphile`): iuc-graph beside PostGraphile, the reference peer, on the
//! same PostgreSQL data, measured the same way in one run.
//!
//!     cargo bench --bench load -- --peer postgraphile [--scales 10000,100000] [--seconds 8]
//!         [--rounds 4] [--warmup 3] [--clients 16]
//!
//! 1. Installs the pinned peer (`benches/peer/package.json` and its lockfile: PostGraphile
//!    5.1.5, simplify-inflection, the npm package `node` for Node 22) with `npm ci` into
//!    `target/peer-bench/<hash>`, once.
//! 2. Per scale (default 10,000 pairings): a fresh PostgreSQL database (`iuc-graph migrate`,
//!    `iuc-graph generate --pairings N --seed 1`, dropped at the end); the release iuc-graph
//!    (`IUC_RATE_LIMIT_ANONYMOUS=0`, defaults otherwise) and PostGraphile as one Node worker per
//!    core (`benches/peer/cluster.mjs`, `PG_POOL_MAX` 5 per worker unless set) on it.
//! 3. Per query pair (`benches/peer/queries/`, `peer_data.rs`): every request variant is sent to
//!    both servers and the answers must hold the same data (`peer_data::normalise_answer`), or
//!    the benchmark stops and prints the first difference.
//! 4. Per pair: `--warmup` s on each server, then `--rounds` slices of `--seconds / --rounds` s
//!    per server, in the order A B, B A, A B, … (the machine's drift falls on both), with
//!    `--clients` keep-alive connections. CPU time of each server's processes (iuc-graph; the
//!    Node primary and workers) and of PostgreSQL's backends for this database is read from
//!    `/proc` around every slice; only the measured server is busy during its slice.
//!
//! 5. Per pair: the database's ceiling for iuc-graph's statements (`ceiling.rs`: pgbench,
//!    prepared, `--clients` connections, `--seconds`).
//!
//! Output: one row per scale and pair with requests per second, p50 and p99 (iuc-graph /
//! PostGraphile), the ratios, CPU ms per request (server, PostgreSQL), iuc-graph's SQL
//! statements per request (and in brackets the statements sent: a wave's go as one), the ceiling and iuc-graph's share of it, and the share of the machine's CPU used by other processes during
//! the slices (other tenants, builds: the figures are worth little when it is high); then each
//! server's peak resident memory per scale.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures_util::FutureExt;

use crate::ceiling;
use crate::peer_data::{self, Pair};
use crate::peer_node::{self, Peer};
use crate::support::{Client, Database, Server, metric};
use crate::{Operation, drive, percentile_ms};

/// What to measure.
pub struct Plan {
    pub scales: Vec<u64>,
    pub seconds: f64,
    pub rounds: u64,
    pub warmup: f64,
    pub clients: usize,
    pub postgres: String,
}

/// One server's side of one pair, summed over the rounds.
#[derive(Default)]
struct Side {
    latencies: Vec<u64>,
    elapsed: Duration,
    server_ticks: u64,
    postgres_ticks: u64,
    other_ticks: u64,
    machine_ticks: u64,
    operations: u64,
    statements: u64,
    round_trips: u64,
}

/// One printed row: scale, pair, iuc-graph's figures, the peer's.
type Row = (u64, &'static str, Figures, Figures);

/// What one side measured, ready to print.
struct Figures {
    rps: f64,
    p50: f64,
    p99: f64,
    server_ms: f64,
    postgres_ms: f64,
    other_share: f64,
    statements: f64,
    /// Statements sent to the database per request (a wave's statements go as one on
    /// PostgreSQL).
    round_trips: f64,
    /// pgbench's requests per second over iuc-graph's statements for this query (`ceiling.rs`;
    /// iuc-graph's side only).
    ceiling: f64,
}

/// The two servers on one database, and what the CPU figures need to know about them.
struct Servers {
    iuc: Stopping,
    peer: Peer,
    database: String,
    tick: f64,
}

pub async fn peer(plan: &Plan, name: &str) {
    assert_eq!(
        name, "postgraphile",
        "--peer: the only peer is `postgraphile`"
    );
    let dir = peer_node::install();
    let mut rows = Vec::new();
    let mut memory = Vec::new();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    for &pairings in &plan.scales {
        let database = Database::create("postgres", pairings, &plan.postgres, "peer").await;
        // The database is dropped even when a check or a request fails (the servers are
        // stopped by their guards as the panic unwinds).
        let scale = AssertUnwindSafe(scale(plan, &dir, &database.url, pairings))
            .catch_unwind()
            .await;
        database.remove().await;
        let (scale_rows, peaks) = scale.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        rows.extend(scale_rows);
        memory.push(peaks);
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    print(plan, &rows, &memory, (&load_before, &load_after));
}

/// One scale: both servers on `url`, every pair checked, then measured. Returns the rows and
/// the peak memory of each server (KiB).
async fn scale(plan: &Plan, dir: &Path, url: &str, pairings: u64) -> (Vec<Row>, (u64, u64, u64)) {
    let env = [("IUC_RATE_LIMIT_ANONYMOUS", "0")];
    let iuc = Stopping(Some(Server::start(url, &env, Stdio::inherit()).await));
    let peer = Peer::start(dir, url).await;
    let servers = Servers {
        iuc,
        peer,
        database: url.rsplit('/').next().unwrap_or_default().to_owned(),
        tick: peer_node::ticks_per_second(),
    };
    let pairs = peer_data::pairs(pairings);
    for pair in &pairs {
        check(pair, &servers).await;
    }
    eprintln!("[peer {pairings}] {}", peer_data::SUMMARY_SKIPPED);
    let mut rows = Vec::new();
    for pair in &pairs {
        let (mut iuc, pg) = measure(pair, &servers, plan, pairings).await;
        iuc.ceiling = ceiling::ceiling(url, &pair.bodies(false), plan.clients, plan.seconds).await;
        eprintln!(
            "[peer {pairings}] {}: pgbench ceiling {:.0} req/s, iuc-graph at {:.2} of it",
            pair.name,
            iuc.ceiling,
            iuc.rps / iuc.ceiling
        );
        rows.push((pairings, pair.name, iuc, pg));
    }
    let peaks = (
        pairings,
        servers.iuc.server().peak_rss_kib(),
        servers.peer.peak_rss_kib(),
    );
    (rows, peaks)
}

/// The iuc-graph server, stopped when dropped (also when the benchmark panics).
struct Stopping(Option<Server>);

impl Stopping {
    fn server(&self) -> &Server {
        self.0.as_ref().expect("a running server")
    }
}

impl Drop for Stopping {
    fn drop(&mut self) {
        if let Some(server) = self.0.take() {
            server.stop();
        }
    }
}

/// Sends every variant of `pair` to both servers; stops the benchmark unless the normalised
/// answers are equal.
async fn check(pair: &Pair, servers: &Servers) {
    let mut iuc = Client::connect(servers.iuc.server().addr).await;
    let mut peer = Client::connect(servers.peer.addr).await;
    let mut compared = 0;
    for (i, (a, b)) in pair.bodies(false).iter().zip(pair.bodies(true)).enumerate() {
        let mut answers = Vec::new();
        for (client, body, who) in [
            (&mut iuc, a.as_str(), "iuc-graph"),
            (&mut peer, b.as_str(), "PostGraphile"),
        ] {
            let (status, bytes) = client.request("POST", "/graphql", body).await;
            let text = String::from_utf8_lossy(&bytes);
            let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{}: {who} answered HTTP {status}, not JSON ({e}): {text}",
                    pair.name
                )
            });
            assert!(
                status == 200
                    && answer.get("errors").is_none()
                    && answer.get("data").is_some_and(|d| !d.is_null()),
                "{}: {who} answered HTTP {status}: {text}",
                pair.name
            );
            let mut normalised = peer_data::normalise_answer(&answer["data"]);
            (pair.fixup)(&mut normalised);
            answers.push(normalised);
        }
        if let Some(d) = peer_data::difference(&answers[0], &answers[1], "") {
            panic!(
                "{}: variant {i} (iuc-graph variables {}): the answers differ (iuc-graph vs PostGraphile, normalised) at {d}",
                pair.name, pair.variants[i].0
            );
        }
        compared += peer_data::leaves(&answers[0]);
    }
    eprintln!(
        "[peer] {}: {} variant(s), same data on both servers ({compared} values compared)",
        pair.name,
        pair.variants.len()
    );
}

/// Measures one pair on both servers, interleaved; returns iuc-graph's figures and the peer's.
async fn measure(pair: &Pair, servers: &Servers, plan: &Plan, pairings: u64) -> (Figures, Figures) {
    let ops = [operation(pair, false), operation(pair, true)];
    let addrs = [servers.iuc.server().addr, servers.peer.addr];
    let warmup = Duration::from_secs_f64(plan.warmup);
    for (addr, op) in addrs.iter().zip(&ops) {
        drop(drive(*addr, op, "identity", warmup, plan.clients).await);
    }
    let slice = Duration::from_secs_f64(plan.seconds / plan.rounds.max(1) as f64);
    let mut sides = [Side::default(), Side::default()];
    for round in 0..plan.rounds.max(1) {
        let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            slice_of(servers, i, &ops[i], slice, plan.clients, &mut sides[i]).await;
        }
    }
    let [iuc, pg] = sides.map(|s| figures(s, servers.tick));
    eprintln!(
        "[peer {pairings}] {}: iuc-graph {:.0} req/s p99 {:.1} ms, PostGraphile {:.0} req/s p99 {:.1} ms, ratio {:.2}",
        pair.name,
        iuc.rps,
        iuc.p99,
        pg.rps,
        pg.p99,
        iuc.rps / pg.rps
    );
    (iuc, pg)
}

/// One slice on server `i` (0: iuc-graph, 1: the peer), added to `side`.
async fn slice_of(
    servers: &Servers,
    i: usize,
    op: &Operation,
    time: Duration,
    clients: usize,
    side: &mut Side,
) {
    let addr = if i == 0 {
        servers.iuc.server().addr
    } else {
        servers.peer.addr
    };
    let pids: Vec<u32> = if i == 0 {
        vec![servers.iuc.server().child.id()]
    } else {
        servers.peer.pids.clone()
    };
    let counters = if i == 0 {
        Some((
            metric(addr, "iuc_graphql_operations_total").await,
            metric(addr, "iuc_sql_statements_total").await,
            metric(addr, "iuc_sql_round_trips_total").await,
        ))
    } else {
        None
    };
    let me = std::process::id();
    let server_before: u64 = pids.iter().map(|p| peer_node::cpu_ticks(*p)).sum();
    let backends_before = peer_node::backend_ticks(&servers.database);
    let (machine_before, me_before) = (peer_node::machine_busy_ticks(), peer_node::cpu_ticks(me));
    let started = Instant::now();
    let (latencies, _) = drive(addr, op, "identity", time, clients).await;
    side.elapsed += started.elapsed();
    let server = pids.iter().map(|p| peer_node::cpu_ticks(*p)).sum::<u64>() - server_before;
    let postgres: u64 = peer_node::backend_ticks(&servers.database)
        .into_iter()
        .map(|(pid, t)| t.saturating_sub(backends_before.get(&pid).copied().unwrap_or(0)))
        .sum();
    let machine = peer_node::machine_busy_ticks() - machine_before;
    let me = peer_node::cpu_ticks(me) - me_before;
    side.server_ticks += server;
    side.postgres_ticks += postgres;
    side.other_ticks += machine.saturating_sub(server + postgres + me);
    side.machine_ticks +=
        (started.elapsed().as_secs_f64() * servers.tick * peer_node::cores() as f64) as u64;
    side.latencies.extend(latencies);
    if let Some((ops, statements, trips)) = counters {
        side.operations += metric(addr, "iuc_graphql_operations_total").await - ops;
        side.statements += metric(addr, "iuc_sql_statements_total").await - statements;
        side.round_trips += metric(addr, "iuc_sql_round_trips_total").await - trips;
    }
}

/// The load generator's operation for one side of a pair: request `n` is variant `n mod k`.
fn operation(pair: &Pair, peer: bool) -> Operation {
    let bodies = pair.bodies(peer);
    Operation {
        name: pair.name,
        body: Box::new(move |n| bodies[(n % bodies.len() as u64) as usize].clone()),
    }
}

fn figures(mut side: Side, tick: f64) -> Figures {
    side.latencies.sort_unstable();
    let n = side.latencies.len().max(1) as f64;
    let ms_per_request = |ticks: u64| ticks as f64 / tick * 1000.0 / n;
    Figures {
        rps: side.latencies.len() as f64 / side.elapsed.as_secs_f64(),
        p50: percentile_ms(&side.latencies, 0.50),
        p99: percentile_ms(&side.latencies, 0.99),
        server_ms: ms_per_request(side.server_ticks),
        postgres_ms: ms_per_request(side.postgres_ticks),
        other_share: side.other_ticks as f64 / side.machine_ticks.max(1) as f64,
        statements: side.statements as f64 / side.operations.max(1) as f64,
        round_trips: side.round_trips as f64 / side.operations.max(1) as f64,
        ceiling: 0.0,
    }
}

fn print(plan: &Plan, rows: &[Row], memory: &[(u64, u64, u64)], load: (&str, &str)) {
    println!();
    println!(
        "iuc-graph vs PostGraphile ({} Node workers), same PostgreSQL database; {} clients, {:.0} s warm-up then {} rounds of {:.1} s per server and query, interleaved (A B, B A, …)",
        peer_node::cores(),
        plan.clients,
        plan.warmup,
        plan.rounds,
        plan.seconds / plan.rounds.max(1) as f64
    );
    println!(
        "load average before: {}; after: {}",
        load.0.trim(),
        load.1.trim()
    );
    println!("{}", peer_data::SUMMARY_SKIPPED);
    println!();
    println!(
        "| pairings | query | iuc-graph req/s | PostGraphile req/s | ratio | p50 ms iuc / PG | p99 ms iuc / PG | p99 PG/iuc | server CPU ms/req iuc / PG | PostgreSQL CPU ms/req iuc / PG | iuc SQL/req (round trips) | pgbench ceiling req/s | iuc share of it | other load iuc / PG |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (pairings, name, a, b) in rows {
        println!(
            "| {pairings} | {name} | {:.0} | {:.0} | {:.2} | {:.1} / {:.1} | {:.1} / {:.1} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.1} ({:.1}) | {:.0} | {:.2} | {:.0}% / {:.0}% |",
            a.rps,
            b.rps,
            a.rps / b.rps,
            a.p50,
            b.p50,
            a.p99,
            b.p99,
            b.p99 / a.p99,
            a.server_ms,
            b.server_ms,
            a.postgres_ms,
            b.postgres_ms,
            a.statements,
            a.round_trips,
            a.ceiling,
            a.rps / a.ceiling,
            a.other_share * 100.0,
            b.other_share * 100.0
        );
    }
    println!();
    println!("| pairings | iuc-graph peak RSS | PostGraphile peak RSS (all processes) |");
    println!("|---:|---:|---:|");
    for (pairings, iuc, pg) in memory {
        println!(
            "| {pairings} | {:.0} MB | {:.0} MB |",
            *iuc as f64 / 1024.0,
            *pg as f64 / 1024.0
        );
    }
}
