//! Soak mode (`--soak`): one server on a generated database under mixed load for many minutes,
//! its resident memory sampled throughout, to tell a cache that fills and levels off from
//! memory that keeps growing.
//!
//! Every client repeats a cycle of 20 requests, each with a document the server has not seen
//! (a unique comment or alias: the parsed-document cache and the APQ cache take new entries all
//! the time, as with many different clients):
//!
//! - 10 reads of the five operations, anonymous, over connections from ever new source
//!   addresses (127.x.y.z: a new rate-limit bucket each; a new address every 25 requests);
//! - 3 reads with one of the API keys;
//! - 2 APQ registrations of a new document (hash and text), one in four about 80 KB long;
//!   1 APQ request by the hash alone of a document this client registered;
//! - 4 writes with an administrator key: a city created, updated, deleted, in turn.
//!
//! The server runs with its default settings (rate limits included). Resident memory (VmRSS)
//! is sampled every 5 s and printed per minute with the requests done; at the end, the slope of
//! a straight line fitted to the second half's samples (MB per minute) and the peak (VmHWM).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{Client, Database, Response, Server, run};

/// What to soak.
pub struct Plan {
    pub backend: String,
    pub pairings: u64,
    pub clients: usize,
    pub minutes: f64,
    pub postgres: String,
}

/// Counters the client tasks share.
#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    writes: AtomicU64,
    apq: AtomicU64,
    addresses: AtomicU64,
    rate_limited: AtomicU64,
    failed: AtomicU64,
}

/// A memory sample: seconds since the start, resident memory (KiB) in all, of it anonymous
/// (the heap) and file-backed or shared (SQLite's WAL index is a shared mapping), and the
/// requests done.
#[derive(Clone, Copy)]
struct Sample {
    t: f64,
    rss: u64,
    anon: u64,
    mapped: u64,
    requests: u64,
}

const KEYS: usize = 4;
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

pub async fn soak(plan: &Plan) {
    let database = Database::create(&plan.backend, plan.pairings, &plan.postgres, "soak").await;
    let keys: Vec<String> = (0..KEYS)
        .map(|i| {
            let name = format!("soak {i}");
            let out = run(
                &database.url,
                &["keys", "create", "--admin", "--name", &name],
            );
            out.trim().to_owned()
        })
        .collect();
    let mut server = Server::start(&database.url, &[], Stdio::inherit()).await;
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs_f64(plan.minutes * 60.0);
    let operations = super::operations("g1", database.pairings, "stream-g1-0".into());
    let operations: Arc<Vec<super::Operation>> = Arc::new(operations);
    let keys = Arc::new(keys);
    let mut tasks = Vec::new();
    for task in 0..plan.clients {
        let state = Shared {
            addr: server.addr,
            keys: keys.clone(),
            counts: counts.clone(),
            operations: operations.clone(),
        };
        tasks.push(tokio::spawn(
            async move { state.client(task, deadline).await },
        ));
    }
    let samples = sample(&mut server, &counts, deadline, &plan.backend).await;
    for task in tasks {
        task.abort();
    }
    report(plan, &samples, &counts, server.peak_rss_kib());
    server.stop();
    database.remove().await;
}

/// Samples the server's memory until `deadline` (or until it exits), printing a line a minute.
async fn sample(server: &mut Server, counts: &Counts, deadline: Instant, tag: &str) -> Vec<Sample> {
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut next_line = 0.0;
    while Instant::now() < deadline {
        tokio::time::sleep(SAMPLE_EVERY).await;
        if let Some(status) = server.exited() {
            eprintln!("[soak {tag}] the server exited: {status}");
            break;
        }
        let s = Sample {
            t: started.elapsed().as_secs_f64(),
            rss: server.rss_kib(),
            anon: server.status_kib("RssAnon:"),
            mapped: server.status_kib("RssFile:") + server.status_kib("RssShmem:"),
            requests: counts.requests.load(Ordering::Relaxed),
        };
        samples.push(s);
        if s.t >= next_line {
            next_line += 60.0;
            eprintln!(
                "[soak {tag}] {:5.1} min: RSS {:6.1} MB (anonymous {:.1}, mapped {:.1}), {} requests, {} failed",
                s.t / 60.0,
                mb(s.rss),
                mb(s.anon),
                mb(s.mapped),
                s.requests,
                counts.failed.load(Ordering::Relaxed)
            );
        }
    }
    samples
}

fn report(plan: &Plan, samples: &[Sample], counts: &Counts, peak_kib: u64) {
    println!();
    println!(
        "soak: {} at {} pairings, {} clients, {} min; requests {} (writes {}, APQ {}), anonymous source addresses {}, rate-limited {}, failed {}",
        plan.backend,
        plan.pairings,
        plan.clients,
        plan.minutes,
        counts.requests.load(Ordering::Relaxed),
        counts.writes.load(Ordering::Relaxed),
        counts.apq.load(Ordering::Relaxed),
        counts.addresses.load(Ordering::Relaxed),
        counts.rate_limited.load(Ordering::Relaxed),
        counts.failed.load(Ordering::Relaxed),
    );
    println!();
    println!("| minute | RSS MB | anonymous MB | mapped MB | requests |");
    println!("|---:|---:|---:|---:|---:|");
    let mut next = 0.0;
    let last = samples.len().saturating_sub(1);
    for (i, s) in samples.iter().enumerate() {
        if s.t >= next || i == last {
            next += 60.0;
            println!(
                "| {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                s.t / 60.0,
                mb(s.rss),
                mb(s.anon),
                mb(s.mapped),
                s.requests
            );
        }
    }
    let half = &samples[samples.len() / 2..];
    println!();
    println!(
        "RSS slope over the second half: {:+.2} MB/min; peak RSS (VmHWM) {:.1} MB",
        slope(half),
        mb(peak_kib)
    );
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Least-squares slope of RSS over time, MB per minute.
fn slope(samples: &[Sample]) -> f64 {
    let n = samples.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let points = samples.iter().map(|s| (s.t / 60.0, mb(s.rss)));
    let (sx, sy) = points
        .clone()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    let (mx, my) = (sx / n, sy / n);
    let (num, den) = points.fold((0.0, 0.0), |(a, b), (x, y)| {
        (a + (x - mx) * (y - my), b + (x - mx) * (x - mx))
    });
    if den == 0.0 { 0.0 } else { num / den }
}

/// What every client task holds.
struct Shared {
    addr: SocketAddr,
    keys: Arc<Vec<String>>,
    counts: Arc<Counts>,
    operations: Arc<Vec<super::Operation>>,
}

/// One client's connections and what it remembers between requests.
struct Session {
    task: usize,
    keyed: Option<Client>,
    anonymous: Option<Client>,
    anonymous_used: u32,
    registered: VecDeque<String>,
    /// The city this client's write cycle is at: id and version.
    city: Option<(String, i64)>,
}

/// Requests on one anonymous connection before the next comes from a new address.
const PER_ADDRESS: u32 = 25;

impl Shared {
    async fn client(&self, task: usize, deadline: Instant) {
        let mut session = Session {
            task,
            keyed: None,
            anonymous: None,
            anonymous_used: 0,
            registered: VecDeque::new(),
            city: None,
        };
        let mut n: u64 = 0;
        while Instant::now() < deadline {
            let unique = format!("u{task}_{n}");
            let result = match n % 20 {
                0..=9 => self.read(&mut session, n, &unique, false).await,
                10..=12 => self.read(&mut session, n, &unique, true).await,
                13 | 14 => self.register(&mut session, n, &unique).await,
                15 => self.recall(&mut session).await,
                _ => self.write(&mut session, &unique).await,
            };
            self.counts.requests.fetch_add(1, Ordering::Relaxed);
            if let Err(problem) = result {
                self.fail(&problem);
                // Start again on fresh connections.
                session.keyed = None;
                session.anonymous = None;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            n += 1;
        }
    }

    fn fail(&self, problem: &str) {
        if self.counts.failed.fetch_add(1, Ordering::Relaxed) < 5 {
            eprintln!("soak: {problem}");
        }
    }

    /// An anonymous connection, from a new source address every [`PER_ADDRESS`] requests.
    async fn anonymous<'s>(&self, session: &'s mut Session) -> Result<&'s mut Client, String> {
        if session.anonymous.is_none() || session.anonymous_used >= PER_ADDRESS {
            let k = self.counts.addresses.fetch_add(1, Ordering::Relaxed);
            // 127.1.0.1 onwards; .0 and .255 are left out of the last byte.
            let ip = Ipv4Addr::new(
                127,
                1 + (k / (254 * 256) % 250) as u8,
                (k / 254 % 256) as u8,
                1 + (k % 254) as u8,
            );
            let client = Client::open(self.addr, Some(IpAddr::V4(ip)))
                .await
                .map_err(|e| format!("connect from {ip}: {e}"))?;
            session.anonymous = Some(client);
            session.anonymous_used = 0;
        }
        session.anonymous_used += 1;
        Ok(session.anonymous.as_mut().expect("connected above"))
    }

    async fn keyed<'s>(&self, session: &'s mut Session) -> Result<&'s mut Client, String> {
        if session.keyed.is_none() {
            let client = Client::open(self.addr, None)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            session.keyed = Some(client);
        }
        Ok(session.keyed.as_mut().expect("connected above"))
    }

    /// One of the five operations, its document made unique.
    async fn read(
        &self,
        session: &mut Session,
        n: u64,
        unique: &str,
        with_key: bool,
    ) -> Result<(), String> {
        let op = &self.operations[(n % 5) as usize];
        let mut body: Value = serde_json::from_str(&(op.body)(n)).expect("a JSON body");
        let query = body["query"].as_str().unwrap_or_default();
        body["query"] = Value::String(unique_document(query, unique, n));
        let body = body.to_string();
        let key = &self.keys[session.task % KEYS];
        let response = if with_key {
            let auth = format!("Bearer {key}");
            let client = self.keyed(session).await?;
            post(client, &body, Some(&auth)).await?
        } else {
            post(self.anonymous(session).await?, &body, None).await?
        };
        self.check(&response, op.name).map(drop)
    }

    /// Registers a new document for APQ (hash and text); one in four about 80 KB long.
    async fn register(&self, session: &mut Session, n: u64, unique: &str) -> Result<(), String> {
        let padding = if n % 40 == 13 {
            " ".repeat(80_000)
        } else {
            String::new()
        };
        let query = format!("#{padding}\n{{ {unique}: __typename summary {{ pairings }} }}");
        let hash = api::persisted::sha256(&query);
        let body = json!({
            "query": query,
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
        })
        .to_string();
        let response = post(self.anonymous(session).await?, &body, None).await?;
        self.counts.apq.fetch_add(1, Ordering::Relaxed);
        self.check(&response, "APQ registration")?;
        session.registered.push_back(hash);
        if session.registered.len() > 16 {
            session.registered.pop_front();
        }
        Ok(())
    }

    /// Runs a document this client registered, by its hash alone.
    async fn recall(&self, session: &mut Session) -> Result<(), String> {
        let Some(hash) = session.registered.back().cloned() else {
            return Ok(());
        };
        let body = json!({
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
        })
        .to_string();
        let response = post(self.anonymous(session).await?, &body, None).await?;
        self.counts.apq.fetch_add(1, Ordering::Relaxed);
        // Another client's large registrations may have pushed it out: that is the cache's
        // bound at work, not a failure.
        match self.check(&response, "APQ by hash") {
            Err(e) if e.contains("PERSISTED_QUERY_NOT_FOUND") => Ok(()),
            other => other.map(drop),
        }
    }

    /// The next step of this client's write cycle: create a city, update it, delete it.
    async fn write(&self, session: &mut Session, unique: &str) -> Result<(), String> {
        let (query, step) = match &session.city {
            None => (
                format!(
                    "mutation {{ createCity(input: {{ slug: \"soak-{}\", name: \"Soak {unique}\", kind: CITY, country: \"AA\" }}) {{ city {{ id version }} }} }}",
                    unique.replace('_', "-")
                ),
                "createCity",
            ),
            Some((id, version)) if *version < 3 => (
                format!(
                    "mutation {{ updateCity(input: {{ id: \"{id}\", version: {version}, population: {} }}) {{ city {{ id version }} }} }}",
                    unique.len()
                ),
                "updateCity",
            ),
            Some((id, version)) => (
                format!(
                    "mutation {{ deleteCity(input: {{ id: \"{id}\", version: {version} }}) {{ deletedId }} }}"
                ),
                "deleteCity",
            ),
        };
        let auth = format!("Bearer {}", self.keys[session.task % KEYS]);
        let body = json!({ "query": query }).to_string();
        let response = post(self.keyed(session).await?, &body, Some(&auth)).await?;
        self.counts.writes.fetch_add(1, Ordering::Relaxed);
        let data = self.check(&response, step)?;
        let city = &data[step]["city"];
        session.city = match (city["id"].as_str(), city["version"].as_i64()) {
            (Some(id), Some(version)) => Some((id.to_owned(), version)),
            _ => None,
        };
        Ok(())
    }

    /// The response's `data` when it is a success; a rate-limit refusal counts apart.
    fn check(&self, response: &Response, what: &str) -> Result<Value, String> {
        let body = String::from_utf8_lossy(&response.body);
        if response.status == 429 || body.contains("RATE_LIMITED") {
            self.counts.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Ok(Value::Null);
        }
        let parsed: Value = serde_json::from_str(&body)
            .map_err(|_| format!("{what}: HTTP {}: {body:.300}", response.status))?;
        if response.status != 200 || parsed.get("errors").is_some() {
            return Err(format!("{what}: HTTP {}: {body:.300}", response.status));
        }
        Ok(parsed["data"].clone())
    }
}

/// `query` made a document of its own: a leading comment, or (every other time) an alias
/// added to the first selection set, so that the parsed tree differs too.
fn unique_document(query: &str, unique: &str, n: u64) -> String {
    if n.is_multiple_of(2) {
        return format!("# {unique}\n{query}");
    }
    match query.find('{') {
        Some(at) => format!(
            "{} {unique}: __typename {}",
            &query[..=at],
            &query[at + 1..]
        ),
        None => query.to_owned(),
    }
}

async fn post(client: &mut Client, body: &str, auth: Option<&str>) -> Result<Response, String> {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    client
        .send("POST", "/graphql", &headers, body.as_bytes())
        .await
        .map_err(|e| format!("POST /graphql: {e}"))
}
