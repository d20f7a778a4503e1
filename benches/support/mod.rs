//! What the benchmarks share: a small HTTP/1.1 client, the release server as a child process
//! (with its memory read from `/proc`), and generated databases on either backend.
//!
//! The server binary is the one Cargo built for this package; `IUC_GRAPH_BIN` names another
//! (a copy kept aside, so that a long run is not affected by a rebuild of the shared target
//! directory).

// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The server binary.
pub fn binary() -> String {
    std::env::var("IUC_GRAPH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_iuc-graph").to_owned())
}

/// One HTTP response.
pub struct Response {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// A minimal HTTP/1.1 keep-alive client: enough for our own server. Reads bodies by
/// `Content-Length`, chunked, or up to the end of the connection.
pub struct Client {
    pub stream: TcpStream,
    pub addr: SocketAddr,
    buffer: Vec<u8>,
}

impl Client {
    /// Connects, or panics: for benchmarks where the server must be up.
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::open(addr, None)
            .await
            .expect("the server accepts connections")
    }

    /// Connects from `from` when given (any 127.x.y.z address is this machine's on Linux, so
    /// one load generator can be many anonymous callers).
    pub async fn open(addr: SocketAddr, from: Option<IpAddr>) -> io::Result<Client> {
        let stream = match from {
            Some(ip) => {
                let socket = TcpSocket::new_v4()?;
                socket.bind(SocketAddr::new(ip, 0))?;
                socket.connect(addr).await?
            }
            None => TcpStream::connect(addr).await?,
        };
        stream.set_nodelay(true).ok();
        Ok(Client {
            stream,
            addr,
            buffer: Vec::with_capacity(64 * 1024),
        })
    }

    /// A JSON request; panics on a broken connection (the load benchmark's contract).
    pub async fn request(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let response = self
            .send(method, path, &[], body.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        (response.status, response.body)
    }

    /// A request with a JSON content type unless `headers` names another one.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.addr);
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            head.push_str("Content-Type: application/json\r\n");
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Accept: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ));
        self.stream.write_all(head.as_bytes()).await?;
        self.stream.write_all(body).await?;
        self.response().await
    }

    /// Reads one response.
    pub async fn response(&mut self) -> io::Result<Response> {
        self.buffer.clear();
        let end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buffer[..end]).to_ascii_lowercase();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        self.buffer.drain(..end + 4);
        let body = if let Some(length) = header("content-length:") {
            let length: usize = length.parse().map_err(|_| invalid("Content-Length"))?;
            while self.buffer.len() < length {
                self.fill().await?;
            }
            self.buffer[..length].to_vec()
        } else if header("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
            self.chunked().await?
        } else {
            while self.fill().await.is_ok() {}
            std::mem::take(&mut self.buffer)
        };
        Ok(Response { status, head, body })
    }

    async fn chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let line = loop {
                if let Some(n) = find(&self.buffer[at..], b"\r\n") {
                    break n;
                }
                self.fill().await?;
            };
            let size_text = String::from_utf8_lossy(&self.buffer[at..at + line]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| invalid("chunk size"))?;
            at += line + 2;
            while self.buffer.len() < at + size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buffer[at..at + size]);
            at += size + 2;
            if size == 0 {
                return Ok(body);
            }
        }
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad {what}"))
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The release server, running as a child process.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts `iuc-graph serve` on `database_url` with `env` added and its standard error to
    /// `stderr`, and waits until it listens.
    pub async fn start(database_url: &str, env: &[(&str, &str)], stderr: Stdio) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("a bound address")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let mut command = Command::new(binary());
        command
            .args(["serve", "--seed", "never", "--addr", &addr.to_string()])
            .env("DATABASE_URL", database_url)
            .env("IUC_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the server starts");
        let server = Server { child, addr };
        for _ in 0..200 {
            if TcpStream::connect(addr).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server.stop();
        panic!("the server did not listen on {addr}");
    }

    /// A `/proc/<pid>/status` figure in KiB, `field` with its colon (0 when the process is
    /// gone).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Resident memory now (VmRSS), KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Peak resident memory (VmHWM), KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// Whether the process still runs (its exit status when not).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM: the server shuts down gracefully; SIGKILL when it has not within 10 s.
    pub fn stop(mut self) {
        self.signal("-TERM");
        for _ in 0..100 {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
    }

    /// SIGKILL, for a server that is stuck.
    pub fn kill(mut self) {
        self.signal("-KILL");
        let _ = self.child.wait();
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
    }
}

/// Runs an `iuc-graph` command on `database_url`; its standard output.
pub fn run(database_url: &str, args: &[&str]) -> String {
    let output = Command::new(binary())
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("IUC_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .expect("the iuc-graph binary runs");
    assert!(output.status.success(), "iuc-graph {args:?} failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A counter from the server's `/metrics` (0 when absent).
pub async fn metric(addr: SocketAddr, name: &str) -> u64 {
    let mut client = Client::connect(addr).await;
    let (_, body) = client.request("GET", "/metrics", "").await;
    let text = String::from_utf8_lossy(&body);
    text.lines()
        .find_map(|l| l.strip_prefix(name).map(str::trim))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A generated database of one scale.
pub struct Database {
    pub pairings: u64,
    pub url: String,
    /// The PostgreSQL database's name, or the SQLite file.
    name: String,
    path: std::path::PathBuf,
    /// The PostgreSQL server's administrative URL.
    postgres: String,
}

impl Database {
    /// Creates, migrates and fills a database of `pairings` pairings (`iuc-graph generate
    /// --seed 1`), and puts it on disk. `postgres` is the administrative URL used to create a
    /// PostgreSQL database; `tag` keeps concurrent benchmarks' databases apart.
    pub async fn create(backend: &str, pairings: u64, postgres: &str, tag: &str) -> Database {
        let name = format!("iuc_{tag}_{pairings}_{}", std::process::id());
        let path = std::env::temp_dir().join(format!("{name}.db"));
        let url = if backend == "postgres" {
            admin(postgres, &format!("DROP DATABASE IF EXISTS {name}")).await;
            admin(postgres, &format!("CREATE DATABASE {name}")).await;
            let base = postgres
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(postgres.to_owned());
            format!("{base}/{name}")
        } else {
            format!("sqlite://{}?mode=rwc", path.display())
        };
        run(&url, &["migrate"]);
        let started = Instant::now();
        let scale = pairings.to_string();
        run(&url, &["generate", "--pairings", &scale, "--seed", "1"]);
        eprintln!(
            "[{backend} {pairings}] generated in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        settle(backend, &url).await;
        Database {
            pairings,
            url,
            name,
            path,
            postgres: postgres.to_owned(),
        }
    }

    pub async fn remove(self) {
        if self.url.starts_with("postgres") {
            admin(
                &self.postgres,
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            )
            .await;
        } else {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
            }
        }
    }
}

/// Puts the bulk load's writes on disk before anything is measured. Otherwise the kernel's
/// writeback of the new database (450 MB of SQLite file at 100k pairings) and PostgreSQL's
/// checkpoint after millions of rows run during the first operations on the large database
/// (on the same cores), and not on the small one. Best effort: a failure only loses that.
async fn settle(backend: &str, url: &str) {
    if backend == "postgres"
        && let Err(e) = execute(url, "CHECKPOINT").await
    {
        eprintln!("{e} (measuring anyway)");
    }
    if let Err(e) = Command::new("sync").status() {
        eprintln!("sync: {e} (measuring anyway)");
    }
}

/// Runs one administrative statement (CREATE/DROP DATABASE) on the PostgreSQL server.
async fn admin(url: &str, sql: &str) {
    execute(url, sql).await.unwrap_or_else(|e| panic!("{e}"));
}

/// Runs one statement on its own connection.
async fn execute(url: &str, sql: &str) -> Result<(), String> {
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(url)
        .await
        .map_err(|e| format!("PostgreSQL at {url}: {e}"))?;
    let result = db.execute_unprepared(sql).await;
    db.close().await.ok();
    result.map(drop).map_err(|e| format!("{sql}: {e}"))
}
