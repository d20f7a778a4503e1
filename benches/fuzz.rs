//! Fuzz runner: the release server on a generated database, sent random and mutated requests
//! over loopback for a given time, a few at once. Every case is made from the seed and its
//! number (`fuzz/cases.rs`): mutated documents from a corpus (tokens inserted, deleted,
//! repeated, swapped), deep nesting of list and object values, selection sets, inline
//! fragments and JSON, fragment bombs and cycles, nested introspection, odd JSON (duplicate
//! keys, invalid UTF-8, lone surrogates, NUL, huge numbers, wrong types, batches), random
//! bytes, other content types, methods, paths and headers, truncated and slow bodies.
//!
//!     cargo bench --bench fuzz -- --seconds 600 --backend sqlite --seed 1
//!     cargo bench --bench fuzz -- --case 1234 --seed 1    # make and send one case, verbosely
//!
//! After every batch it checks that the process runs and `/healthz` answers, and reads its
//! memory; a watchdog thread reads it every 20 ms and kills the server above --kill-rss-mb
//! (default 1000), so that a runaway does not take the machine. A response with status 5xx
//! must not name internals (the database library or backend, a panic, a stack, a source file),
//! nor any response "sqlx", "error returned from database", "panicked" or a source location.
//! When the server dies, stalls or leaks, the batch's cases are replayed one at a time on a new
//! server to find the case that does it, and the run goes on with a new server.
//!
//! It prints the cases run by kind, the responses by status, the peak memory, and what failed;
//! it exits non-zero if the server died or stalled, a response leaked internals, or the peak
//! resident memory exceeded --max-rss-mb (default 200).
//!
//! Options: --seconds N (default 60), --backend sqlite|postgres, --seed S (default 1),
//! --concurrency C (default 4), --pairings N (default 1000), --max-rss-mb M,
//! --kill-rss-mb M, --postgres URL (default postgres://postgres@127.0.0.1:5432/postgres),
//! --case K (only case K). The server's log goes to a file in the temp directory (printed).

#[path = "fuzz/cases.rs"]
mod cases;
mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cases::{Case, Delivery};
use support::{Client, Database, Server};
use tokio::io::AsyncWriteExt;

struct Options {
    seconds: u64,
    backend: String,
    seed: u64,
    concurrency: usize,
    pairings: u64,
    max_rss_mb: u64,
    kill_rss_mb: u64,
    postgres: String,
    case: Option<u64>,
}

fn options() -> Options {
    let mut o = Options {
        seconds: 60,
        backend: "sqlite".into(),
        seed: 1,
        concurrency: 4,
        pairings: 1000,
        max_rss_mb: 200,
        kill_rss_mb: 1000,
        postgres: "postgres://postgres@127.0.0.1:5432/postgres".into(),
        case: None,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |flag: &str, value: &str| -> u64 {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{flag} takes a number"))
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match flag {
            "--seconds" => o.seconds = number(flag, &value),
            "--backend" => o.backend = value,
            "--seed" => o.seed = number(flag, &value),
            "--concurrency" => o.concurrency = number(flag, &value).max(1) as usize,
            "--pairings" => o.pairings = number(flag, &value),
            "--max-rss-mb" => o.max_rss_mb = number(flag, &value),
            "--kill-rss-mb" => o.kill_rss_mb = number(flag, &value),
            "--postgres" => o.postgres = value,
            "--case" => o.case = Some(number(flag, &value)),
            _ => {
                // `--bench`, which Cargo adds, and anything unknown.
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

/// What one case got back.
#[derive(Debug, Clone)]
enum Outcome {
    Status(u16, Vec<u8>),
    /// The server closed the connection without an answer.
    Closed,
    /// No answer within [`CASE_TIMEOUT`].
    Timeout,
    /// Not even a connection.
    Refused,
}

/// Longer than the server's own request timeout (15 s), so that a timeout here is a stall.
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

async fn send(addr: SocketAddr, case: &Case) -> Outcome {
    let Ok(mut client) = Client::open(addr, None).await else {
        return Outcome::Refused;
    };
    let exchange = async {
        match case.delivery {
            Delivery::Whole => client.stream.write_all(&case.bytes).await?,
            Delivery::Slow { pieces, pause_ms } => {
                let size = case.bytes.len().div_ceil(pieces).max(1);
                for piece in case.bytes.chunks(size) {
                    client.stream.write_all(piece).await?;
                    tokio::time::sleep(Duration::from_millis(pause_ms)).await;
                }
            }
            Delivery::Truncated { keep } => {
                client.stream.write_all(&case.bytes[..keep]).await?;
                client.stream.shutdown().await?;
            }
        }
        client.response().await
    };
    match tokio::time::timeout(CASE_TIMEOUT, exchange).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(_)) => Outcome::Closed,
        Ok(Ok(response)) => Outcome::Status(response.status, response.body),
    }
}

/// Words that must not reach a client from a 5xx answer: the database library and backends,
/// panics, stacks, error texts from the database, source locations.
const INTERNAL: &[&str] = &[
    "sqlx",
    "sqlite",
    "postgres",
    "panicked",
    "stack",
    "error returned from database",
    ".rs:",
];

/// Of those, the ones no answer of any status may carry (the cases never contain them).
const NEVER: &[&str] = &["sqlx", "panicked", "error returned from database", ".rs:"];

/// The internal detail a response gives away, if any.
fn leak(outcome: &Outcome) -> Option<&'static str> {
    let Outcome::Status(status, body) = outcome else {
        return None;
    };
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    let words = if *status >= 500 { INTERNAL } else { NEVER };
    words.iter().copied().find(|w| text.contains(w))
}

/// What went wrong, with the case that did it when it is known.
struct Failure {
    what: String,
    case: Option<u64>,
}

/// Counts over the whole run.
#[derive(Default)]
struct Tally {
    cases: u64,
    kinds: BTreeMap<&'static str, u64>,
    outcomes: BTreeMap<String, u64>,
    failures: Vec<Failure>,
    servers: u32,
}

impl Tally {
    fn count(&mut self, case: &Case, outcome: &Outcome) {
        self.cases += 1;
        *self.kinds.entry(case.kind).or_default() += 1;
        let key = match outcome {
            Outcome::Status(status, _) => status.to_string(),
            Outcome::Closed => "closed without an answer".into(),
            Outcome::Timeout => format!("no answer in {} s", CASE_TIMEOUT.as_secs()),
            Outcome::Refused => "connection refused".into(),
        };
        *self.outcomes.entry(key).or_default() += 1;
    }
}

/// The server under test, with its memory watched.
struct Target {
    server: Server,
    url: String,
    log: std::path::PathBuf,
    watchdog: Arc<Watchdog>,
}

/// Reads the server's resident memory every 20 ms from a thread of its own (the load
/// generator's runtime can be busy), keeps the peak, and kills the server above a bound.
#[derive(Default)]
struct Watchdog {
    pid: AtomicU32,
    peak_kib: AtomicU64,
    kill_kib: AtomicU64,
    killed: AtomicBool,
}

impl Watchdog {
    fn start(kill_mb: u64) -> Arc<Watchdog> {
        let watchdog = Arc::new(Watchdog::default());
        watchdog.kill_kib.store(kill_mb * 1024, Ordering::Relaxed);
        let watching = watchdog.clone();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(20));
                watching.look();
            }
        });
        watchdog
    }

    fn look(&self) {
        let pid = self.pid.load(Ordering::Relaxed);
        if pid == 0 {
            return;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.peak_kib.fetch_max(rss, Ordering::Relaxed);
        if rss > self.kill_kib.load(Ordering::Relaxed) && !self.killed.swap(true, Ordering::Relaxed)
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

impl Target {
    async fn start(url: &str, watchdog: Arc<Watchdog>, tally: &mut Tally) -> Target {
        let log = std::env::temp_dir().join(format!("iuc-fuzz-{}.log", std::process::id()));
        let file = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .expect("the server's log file opens");
        // Rate limits off: a refusal before execution would hide what the case would reach.
        let env = [("IUC_RATE_LIMIT_ANONYMOUS", "0"), ("IUC_LOG", "warn")];
        let server = Server::start(url, &env, Stdio::from(file)).await;
        watchdog.killed.store(false, Ordering::Relaxed);
        watchdog.pid.store(server.child.id(), Ordering::Relaxed);
        tally.servers += 1;
        Target {
            server,
            url: url.to_owned(),
            log,
            watchdog,
        }
    }

    async fn restart(self, tally: &mut Tally) -> Target {
        let Target {
            server,
            url,
            watchdog,
            ..
        } = self;
        watchdog.pid.store(0, Ordering::Relaxed);
        // It is dead or broken: no graceful shutdown to wait for.
        server.kill();
        Target::start(&url, watchdog, tally).await
    }

    /// Whether the server is alive and answers `/healthz`; what is wrong when not.
    async fn health(&mut self) -> Result<(), String> {
        if let Some(status) = self.server.exited() {
            let killed = self.watchdog.killed.load(Ordering::Relaxed);
            return Err(if killed {
                format!(
                    "resident memory above {} MB: killed",
                    self.watchdog.kill_kib.load(Ordering::Relaxed) / 1024
                )
            } else {
                format!(
                    "the server died ({status}); its log ends: {}",
                    self.log_tail()
                )
            });
        }
        let probe = async {
            let mut client = Client::open(self.server.addr, None).await.ok()?;
            let response = client.send("GET", "/healthz", &[], b"").await.ok()?;
            (response.status == 200).then_some(())
        };
        match tokio::time::timeout(Duration::from_secs(10), probe).await {
            Ok(Some(())) => Ok(()),
            Ok(None) => Err("/healthz did not answer 200".into()),
            Err(_) => Err("/healthz did not answer within 10 s (stalled)".into()),
        }
    }

    /// The last lines of the server's log that say why it stopped.
    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(3).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }
}

/// Runs cases `first..first + n` with `concurrency` at once; their numbers and outcomes. The
/// batch ends early when a case gets no answer: on a stalled server every later case would
/// wait out its timeout too.
async fn batch(
    addr: SocketAddr,
    seed: u64,
    first: u64,
    n: u64,
    concurrency: usize,
) -> Vec<(u64, Case, Outcome)> {
    let stalled = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..concurrency as u64 {
        let stalled = stalled.clone();
        workers.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut k = first + w;
            while k < first + n && !stalled.load(Ordering::Relaxed) {
                let case = cases::make(seed, k);
                let outcome = send(addr, &case).await;
                if matches!(outcome, Outcome::Timeout) {
                    stalled.store(true, Ordering::Relaxed);
                }
                done.push((k, case, outcome));
                k += concurrency as u64;
            }
            done
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("a fuzz worker"));
    }
    all
}

/// Replays `numbers` one at a time on a fresh server until one of them breaks it; that
/// case's number. The target is left on a fresh server.
async fn isolate(
    target: &mut Option<Target>,
    seed: u64,
    numbers: &[u64],
    tally: &mut Tally,
) -> Option<u64> {
    for &k in numbers {
        let case = cases::make(seed, k);
        let t = target.as_mut().expect("a running server");
        let outcome = send(t.server.addr, &case).await;
        let broken = leak(&outcome).is_some()
            || matches!(outcome, Outcome::Timeout)
            || t.health().await.is_err();
        if broken {
            let old = target.take().expect("a running server");
            *target = Some(old.restart(tally).await);
            return Some(k);
        }
    }
    None
}

/// Records what a batch broke and brings up a fresh server: the culprit is looked for among
/// the batch's cases when the batch broke the server.
async fn handle_batch(
    target: &mut Option<Target>,
    o: &Options,
    done: Vec<(u64, Case, Outcome)>,
    tally: &mut Tally,
) {
    let mut suspects = Vec::new();
    for (k, case, outcome) in &done {
        tally.count(case, outcome);
        if let Some(word) = leak(outcome) {
            let body = match outcome {
                Outcome::Status(status, body) => {
                    format!("HTTP {status}: {:.300}", String::from_utf8_lossy(body))
                }
                _ => String::new(),
            };
            let what = format!("{} leaked {word:?}: {body}", case.kind);
            tally.failures.push(Failure {
                what,
                case: Some(*k),
            });
        }
        if matches!(outcome, Outcome::Timeout) {
            suspects.push(*k);
        }
    }
    let t = target.as_mut().expect("a running server");
    let Err(problem) = t.health().await else {
        for k in suspects {
            let what = format!("no answer in {} s", CASE_TIMEOUT.as_secs());
            tally.failures.push(Failure {
                what,
                case: Some(k),
            });
        }
        return;
    };
    eprintln!("fuzz: {problem}; replaying the batch's cases one at a time");
    let old = target.take().expect("a running server");
    *target = Some(old.restart(tally).await);
    let numbers: Vec<u64> = done.iter().map(|(k, _, _)| *k).collect();
    let culprit = isolate(target, o.seed, &numbers, tally).await;
    tally.failures.push(Failure {
        what: problem,
        case: culprit,
    });
}

async fn fuzz(o: &Options) -> Tally {
    let database = Database::create(&o.backend, o.pairings, &o.postgres, "fuzz").await;
    let watchdog = Watchdog::start(o.kill_rss_mb);
    let mut tally = Tally::default();
    let mut target = Some(Target::start(&database.url, watchdog.clone(), &mut tally).await);
    eprintln!(
        "fuzz: server log in {}",
        target
            .as_ref()
            .map(|t| t.log.display().to_string())
            .unwrap_or_default()
    );
    let deadline = Instant::now() + Duration::from_secs(o.seconds);
    let per_batch = 8 * o.concurrency as u64;
    let mut next: u64 = 0;
    let mut last_report = Instant::now();
    while Instant::now() < deadline {
        let addr = target.as_ref().expect("a running server").server.addr;
        let done = batch(addr, o.seed, next, per_batch, o.concurrency).await;
        next += per_batch;
        handle_batch(&mut target, o, done, &mut tally).await;
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "fuzz: {} cases, peak RSS {:.1} MB, {} failures",
                tally.cases,
                watchdog.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0,
                tally.failures.len()
            );
        }
    }
    if let Some(t) = target.take() {
        watchdog
            .peak_kib
            .fetch_max(t.server.peak_rss_kib(), Ordering::Relaxed);
        watchdog.pid.store(0, Ordering::Relaxed);
        t.server.stop();
    }
    database.remove().await;
    let peak = watchdog.peak_kib.load(Ordering::Relaxed);
    if peak > o.max_rss_mb * 1024 {
        tally.failures.push(Failure {
            what: format!(
                "peak resident memory {:.1} MB, above {} MB",
                peak as f64 / 1024.0,
                o.max_rss_mb
            ),
            case: None,
        });
    }
    print_report(o, &tally, peak);
    tally
}

fn print_report(o: &Options, tally: &Tally, peak_kib: u64) {
    println!();
    println!(
        "fuzz: {} backend, seed {}, {} s, {} at once: {} cases on {} server start(s); peak RSS {:.1} MB (bound {} MB)",
        o.backend,
        o.seed,
        o.seconds,
        o.concurrency,
        tally.cases,
        tally.servers,
        peak_kib as f64 / 1024.0,
        o.max_rss_mb
    );
    println!();
    println!("| case kind | cases |");
    println!("|---|---:|");
    for (kind, n) in &tally.kinds {
        println!("| {kind} | {n} |");
    }
    println!();
    println!("| response | count |");
    println!("|---|---:|");
    for (outcome, n) in &tally.outcomes {
        println!("| {outcome} | {n} |");
    }
    println!();
    if tally.failures.is_empty() {
        println!("no failures");
    }
    for failure in &tally.failures {
        match failure.case {
            Some(k) => println!(
                "FAILED: {} — case {k} ({}; `--case {k} --seed {}`)",
                failure.what,
                cases::make(o.seed, k).kind,
                o.seed
            ),
            None => println!("FAILED: {} — case not isolated", failure.what),
        }
    }
}

/// Makes case `k`, shows it, sends it to a fresh server and shows what came back.
async fn one_case(o: &Options, k: u64) -> bool {
    let case = cases::make(o.seed, k);
    let shown = String::from_utf8_lossy(&case.bytes);
    println!(
        "case {k} ({}, {:?}, {} bytes):",
        case.kind,
        case.delivery,
        case.bytes.len()
    );
    println!("{:.2000}", shown.escape_debug());
    let database = Database::create(&o.backend, o.pairings, &o.postgres, "fuzz").await;
    let watchdog = Watchdog::start(o.kill_rss_mb);
    let mut tally = Tally::default();
    let mut target = Target::start(&database.url, watchdog.clone(), &mut tally).await;
    let started = Instant::now();
    let outcome = send(target.server.addr, &case).await;
    let health = target.health().await;
    println!(
        "after {:.2} s: {:?}",
        started.elapsed().as_secs_f64(),
        summary(&outcome)
    );
    println!(
        "leak: {:?}; health: {health:?}; peak RSS {:.1} MB",
        leak(&outcome),
        watchdog.peak_kib.load(Ordering::Relaxed) as f64 / 1024.0
    );
    watchdog.pid.store(0, Ordering::Relaxed);
    target.server.stop();
    database.remove().await;
    health.is_ok() && leak(&outcome).is_none() && !matches!(outcome, Outcome::Timeout)
}

fn summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status(status, body) => {
            format!("HTTP {status}: {:.500}", String::from_utf8_lossy(body))
        }
        other => format!("{other:?}"),
    }
}

fn main() {
    let o = options();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let ok = match o.case {
        Some(k) => runtime.block_on(one_case(&o, k)),
        None => runtime.block_on(fuzz(&o)).failures.is_empty(),
    };
    std::process::exit(if ok { 0 } else { 1 });
}
