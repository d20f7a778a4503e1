//! The peer's processes and what `/proc` says about processes: installing the pinned
//! PostGraphile (`benches/peer/`) into a cached folder, running it as one Node worker per core,
//! and reading CPU time and peak memory of the servers and of PostgreSQL's backends.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokio::net::TcpStream;

/// The committed files that describe the peer (`benches/peer/`).
fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peer")
}

/// FNV-1a: a stable cache key (std's hasher may change between Rust releases).
fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x100_0000_01b3);
    }
    hash
}

/// Installs the pinned peer with `npm ci` into `target/peer-bench/<hash of package.json and
/// its lockfile>` unless that folder is already complete; copies the configuration and the
/// cluster script there on every run (Node resolves their imports from their own folder).
/// Returns the folder.
pub fn install() -> PathBuf {
    let source = source_dir();
    let read = |name: &str| {
        std::fs::read(source.join(name)).unwrap_or_else(|e| panic!("benches/peer/{name}: {e}"))
    };
    let key = fnv1a(
        &read("package-lock.json"),
        fnv1a(&read("package.json"), 0xcbf2_9ce4_8422_2325),
    );
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("peer-bench");
    let dir = target.join(format!("{key:016x}"));
    if !dir.join("node_modules/.installed").exists() {
        npm_ci(&source, &target, &dir);
    }
    for name in ["cluster.mjs", "graphile.config.mjs"] {
        std::fs::copy(source.join(name), dir.join(name))
            .unwrap_or_else(|e| panic!("copying {name}: {e}"));
    }
    let version = Command::new(node(&dir))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    assert!(
        version.starts_with("v22"),
        "the peer's Node (node_modules/.bin/node) is {version:?}, not 22: delete {} and run again",
        dir.display()
    );
    eprintln!("[peer] PostGraphile in {} (Node {version})", dir.display());
    dir
}

/// `npm ci` in a fresh folder beside `dir`, renamed to `dir` when it succeeded, so that an
/// interrupted install is never taken for a complete one.
fn npm_ci(source: &Path, target: &Path, dir: &Path) {
    let partial = target.join(format!("partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial).expect("a folder for the peer");
    for name in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(name), partial.join(name)).expect("copying the peer's package");
    }
    eprintln!(
        "[peer] npm ci (the pinned PostGraphile and Node 22) into {}",
        dir.display()
    );
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&partial)
        .stdout(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("npm (needed to install the peer) does not run: {e}"));
    assert!(status.success(), "npm ci failed in {}", partial.display());
    std::fs::write(partial.join("node_modules/.installed"), "").expect("the install marker");
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&partial, dir).expect("moving the installed peer into place");
}

fn node(dir: &Path) -> PathBuf {
    dir.join("node_modules/.bin/node")
}

/// PostGraphile as `cluster.mjs` runs it: a primary and one worker per core (`PG_WORKERS`
/// overrides), sharing one port.
pub struct Peer {
    child: Child,
    pub addr: SocketAddr,
    /// The primary and its workers.
    pub pids: Vec<u32>,
}

impl Peer {
    /// Starts the cluster on `database_url` and waits until every worker listens and answers.
    /// `PG_POOL_MAX` (connections per worker) is 5 unless the environment sets it, as in the
    /// measurements of `../shared/peer-bench/README.md` (2 workers, 10 connections in all).
    pub async fn start(dir: &Path, database_url: &str) -> Peer {
        let port = free_port();
        let pool = std::env::var("PG_POOL_MAX").unwrap_or_else(|_| "5".into());
        let mut command = Command::new(node(dir));
        command
            .args(["cluster.mjs", "-C", "graphile.config.mjs"])
            .current_dir(dir)
            .env("GRAPHILE_ENV", "production")
            .env("NODE_ENV", "production")
            .env("DATABASE_URL", database_url)
            .env("PORT", port.to_string())
            .env("PG_POOL_MAX", pool)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("PostGraphile starts");
        let (sender, receiver) = mpsc::channel();
        let stdout = child.stdout.take().expect("the peer's stdout");
        // Reads the cluster's log for the workers' pids and keeps draining it afterwards.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                eprintln!("[peer] {line}");
                let _ = sender.send(line);
            }
        });
        let pids = wait_for_workers(&mut child, &receiver);
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let peer = Peer { child, addr, pids };
        for _ in 0..200 {
            if TcpStream::connect(addr).await.is_ok() {
                return peer;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(peer);
        panic!("PostGraphile did not listen on {addr}");
    }

    /// Peak resident memory of the primary and the workers together, KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.pids.iter().map(|p| status_kib(*p, "VmHWM:")).sum()
    }
}

impl Drop for Peer {
    /// SIGTERM to the primary (it stops its workers), SIGKILL to all after 10 s. Also when the
    /// benchmark panics, so that no Node process outlives it.
    fn drop(&mut self) {
        signal(self.child.id(), "-TERM");
        for _ in 0..100 {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for pid in &self.pids {
            signal(*pid, "-KILL");
        }
        let _ = self.child.wait();
    }
}

/// The primary's pid and each worker's, from the cluster's log ("cluster: worker pid=W
/// listening", then "cluster: N/N workers listening"); panics when the primary exits first.
fn wait_for_workers(child: &mut Child, lines: &mpsc::Receiver<String>) -> Vec<u32> {
    let mut pids = vec![child.id()];
    loop {
        match lines.recv_timeout(Duration::from_secs(120)) {
            Ok(line) if line.contains("workers listening") => return pids,
            Ok(line) => {
                if let Some(pid) = line
                    .strip_prefix("cluster: worker pid=")
                    .and_then(|rest| rest.split_whitespace().next())
                    .filter(|_| line.contains(" listening on "))
                    .and_then(|p| p.parse().ok())
                {
                    pids.push(pid);
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("PostGraphile's workers did not all start (its log is above)");
            }
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// A `/proc/<pid>/status` figure in KiB (0 when the process is gone).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User and system CPU time of a process and all its threads, in clock ticks (0 when gone).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    field(11) + field(12)
}

/// CPU ticks of PostgreSQL's backends connected to `database` (their process titles read
/// "postgres: … <user> <database> <client> …"), by pid.
pub fn backend_ticks(database: &str) -> HashMap<u32, u64> {
    let needle = format!(" {database} ");
    let mut ticks = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return ticks;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let title = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let title = String::from_utf8_lossy(&title);
        if title.starts_with("postgres:") && title.contains(&needle) {
            ticks.insert(pid, cpu_ticks(pid));
        }
    }
    ticks
}

/// The machine's busy CPU ticks (all cores; everything but idle and I/O wait) from
/// `/proc/stat`.
pub fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user)
    let total: u64 = values.iter().take(8).sum();
    total - values.get(3).copied().unwrap_or(0) - values.get(4).copied().unwrap_or(0)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked).
pub fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The cores this process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
