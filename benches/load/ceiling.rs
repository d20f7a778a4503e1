//! The database's ceiling for a query (peer mode, always on): pgbench running the very
//! statements iuc-graph issues for the query's requests, prepared, with as many clients as the
//! load generator. iuc-graph's requests per second divided by it is the share of the database's
//! own limit the server reaches; the rest is round trips and the server's work.
//!
//! The statements come from iuc-graph itself: a second server on the same database, started with
//! the `iuc_graph::sql_values` trace target (each statement with its bound values) and JSON logs,
//! answers each of the first [`VARIANTS`] requests of the pair once; its log gives one pgbench
//! script per request, whose `$n` placeholders become pgbench variables bound as parameters
//! (`-M prepared`), as sqlx binds them. pgbench runs the scripts at random, for the measured
//! seconds of one server.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{Client, Server};

/// Requests of a pair whose statements make the ceiling's scripts.
const VARIANTS: usize = 8;

/// One statement as iuc-graph issued it.
#[derive(Debug)]
struct Statement {
    sql: String,
    values: Vec<serde_json::Value>,
}

/// pgbench's transactions per second over the statements of `bodies` (iuc-graph request bodies),
/// on the database `url`, with `clients` connections for `seconds`.
pub async fn ceiling(url: &str, bodies: &[String], clients: usize, seconds: f64) -> f64 {
    let dir = std::env::temp_dir().join(format!("iuc-ceiling-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let requests = statements_of(url, &bodies[..bodies.len().min(VARIANTS)], &dir).await;
    let mut args: Vec<String> = Vec::new();
    for (i, statements) in requests.iter().enumerate() {
        let path = dir.join(format!("request-{i}.sql"));
        let mut file = std::fs::File::create(&path).expect("a pgbench script");
        for (j, statement) in statements.iter().enumerate() {
            let (sql, defines) = script_line(statement, &format!("r{i}s{j}v"));
            writeln!(file, "{sql};").expect("a pgbench script");
            for define in defines {
                args.extend(["-D".to_owned(), define]);
            }
        }
        args.extend(["-f".to_owned(), path.display().to_string()]);
    }
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-j", "2"])
        .args(["-c", &clients.to_string()])
        .args(["-T", &format!("{}", seconds.ceil().max(1.0) as u64)])
        .args(&args)
        .arg(url)
        .stdin(Stdio::null())
        .output()
        .expect("pgbench runs (PostgreSQL's client tools are needed for the ceiling)");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {}{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"))
}

/// The statement with its placeholders as pgbench variables named `{prefix}{n}`, and their
/// `-D name=value` definitions. A NULL cannot be a pgbench variable, so it is written in.
fn script_line(statement: &Statement, prefix: &str) -> (String, Vec<String>) {
    let mut sql = String::with_capacity(statement.sql.len());
    let mut defines = Vec::new();
    let mut rest = statement.sql.as_str();
    while let Some(at) = rest.find('$') {
        sql.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - at - 1, |n| n);
        let Ok(n) = rest[at + 1..at + 1 + digits].parse::<usize>() else {
            sql.push('$');
            rest = &rest[at + 1..];
            continue;
        };
        match value_text(&statement.values[n - 1]) {
            None => sql.push_str("NULL"),
            Some(text) => {
                sql.push_str(&format!(":{prefix}{n}"));
                defines.push(format!("{prefix}{n}={text}"));
            }
        }
        rest = &rest[at + 1 + digits..];
    }
    sql.push_str(rest);
    // pgbench reads a script line by line: one statement, one line.
    (sql.replace('\n', " "), defines)
}

/// A bound value as pgbench's text, `None` for NULL (the server logs each as PostgreSQL reads it
/// in text: `db::values_json`).
fn value_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The statements iuc-graph issues for each of `bodies`, in order, from a server that logs them.
async fn statements_of(url: &str, bodies: &[String], dir: &std::path::Path) -> Vec<Vec<Statement>> {
    let log_path = dir.join("server.log");
    let log = std::fs::File::create(&log_path).expect("a log file");
    let env = [
        ("IUC_RATE_LIMIT_ANONYMOUS", "0"),
        ("IUC_LOG", "warn,iuc_graph::sql_values=trace"),
        ("IUC_LOG_FORMAT", "json"),
    ];
    let server = Server::start(url, &env, Stdio::from(log)).await;
    let mut client = Client::connect(server.addr).await;
    let mut requests = Vec::new();
    for body in bodies {
        let before = std::fs::metadata(&log_path).map_or(0, |m| m.len()) as usize;
        let (status, _) = client.request("POST", "/graphql", body).await;
        assert_eq!(status, 200, "the ceiling's request: HTTP {status}");
        // The callback logs as each statement ends, before the answer is sent; a moment for
        // the writer.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let text = std::fs::read_to_string(&log_path).expect("the server's log");
        requests.push(parse(&text[before..]));
    }
    server.stop();
    assert!(
        requests.iter().all(|r| !r.is_empty()),
        "the ceiling's server logged no statements"
    );
    requests
}

/// The `iuc_graph::sql_values` events of a JSON log.
fn parse(log: &str) -> Vec<Statement> {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["target"] == "iuc_graph::sql_values")
        .map(|event| {
            let fields = &event["fields"];
            let values = fields["values"]
                .as_str()
                .and_then(|v| serde_json::from_str(v).ok())
                .unwrap_or_default();
            Statement {
                sql: fields["sql"].as_str().unwrap_or_default().to_owned(),
                values,
            }
        })
        .collect()
}
