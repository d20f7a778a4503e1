//! Response compression over real HTTP (`api/src/http/compression.rs`): a server on a loopback
//! port, a raw HTTP/1.1 client that sees the bytes on the wire and decodes them itself.

use std::io::Read;
use std::net::SocketAddr;

use api::auth::Role;
use api::service::keys;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::TestApp;

/// One answer as it came over the wire.
struct Wire {
    status: u16,
    /// Header lines, names lower-cased.
    headers: Vec<(String, String)>,
    /// The body as sent (still compressed when it was).
    body: Vec<u8>,
}

impl Wire {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, joined as one list.
    fn list(&self, name: &str) -> String {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        values.join(", ").to_ascii_lowercase()
    }

    fn varies_by_encoding(&self) -> bool {
        self.list("vary")
            .split(',')
            .any(|v| v.trim() == "accept-encoding")
    }

    /// The body decoded from its `Content-Encoding`.
    fn decoded(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self.header("content-encoding") {
            None => return self.body.clone(),
            Some("gzip") => flate2::read::GzDecoder::new(&self.body[..])
                .read_to_end(&mut out)
                .expect("valid gzip"),
            Some("br") => brotli::Decompressor::new(&self.body[..], 4096)
                .read_to_end(&mut out)
                .expect("valid brotli"),
            Some(other) => panic!("unexpected coding {other}"),
        };
        out
    }
}

/// Sends one request (`Connection: close`) and reads the whole answer.
async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Wire {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the server accepts connections");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    parse(&raw)
}

fn parse(raw: &[u8]) -> Wire {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Wire {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&raw[..line])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .expect("a chunk size");
        raw = &raw[line + 2..];
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
    out
}

/// A server on a loopback port for `app`; aborted when the test's app is dropped.
async fn listen(app: &TestApp) -> (SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().unwrap();
    (
        addr,
        tokio::spawn(api::server::serve(listener, app.state.clone())),
    )
}

/// A query whose answer is many kilobytes on the seed.
const BIG: &str = "{ pairings(first: 100) { totalCount nodes { slug title summary participants { side place { ... on City { name country { code name } } ... on Region { name country { code name } } } } themes { slug name } } } }";

fn get_path(query: &str) -> String {
    format!(
        "/graphql?{}",
        serde_urlencoded::to_string([("query", query)]).unwrap()
    )
}

const JSON: (&str, &str) = ("Accept", "application/json");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_and_brotli_decode_to_the_identical_bytes() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let (addr, server) = listen(&app).await;
        let body = json!({ "query": BIG }).to_string();
        let post = |coding: Option<&'static str>| {
            let body = body.clone();
            async move {
                let mut headers = vec![JSON, ("Content-Type", "application/json")];
                headers.extend(coding.map(|c| ("Accept-Encoding", c)));
                send(addr, "POST", "/graphql", &headers, &body).await
            }
        };
        let identity = post(None).await;
        assert_eq!(identity.status, 200, "[{backend:?}]");
        assert_eq!(identity.header("content-encoding"), None);
        assert!(identity.body.len() > 5_000, "[{backend:?}] a big answer");
        // Uncompressed, the answer still tells caches that it depends on Accept-Encoding.
        assert!(identity.varies_by_encoding(), "{:?}", identity.headers);
        let parsed: Value = serde_json::from_slice(&identity.body).expect("JSON");
        assert!(parsed.get("errors").is_none(), "{parsed}");

        for (asked, coding) in [
            ("gzip", "gzip"),
            ("br", "br"),
            // A browser's: gzip on a tie (docs/performance.md, "Compression").
            ("gzip, deflate, br, zstd", "gzip"),
            ("br, gzip;q=0.9", "br"),
        ] {
            let answer = post(Some(asked)).await;
            assert_eq!(answer.status, 200);
            assert_eq!(
                answer.header("content-encoding"),
                Some(coding),
                "[{backend:?}] {asked}"
            );
            assert!(answer.varies_by_encoding(), "{:?}", answer.headers);
            assert!(
                answer.body.len() * 3 < identity.body.len(),
                "[{backend:?}] {coding}: {} bytes for {}",
                answer.body.len(),
                identity.body.len()
            );
            assert_eq!(answer.decoded(), identity.body, "[{backend:?}] {coding}");
        }
        server.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etags_differ_per_coding_and_revalidate_per_coding() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let (addr, server) = listen(&app).await;
        let path = get_path(BIG);
        let get = |extra: Vec<(&'static str, String)>| {
            let path = path.clone();
            async move {
                let mut headers = vec![JSON];
                let owned: Vec<(&str, &str)> =
                    extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
                headers.extend(owned);
                send(addr, "GET", &path, &headers, "").await
            }
        };
        let identity = get(vec![]).await;
        assert_eq!(identity.status, 200);
        let tag = identity.header("etag").expect("an ETag").to_owned();
        let open = tag.strip_suffix('"').expect("a quoted ETag");
        for coding in ["gzip", "br"] {
            let asked = vec![("Accept-Encoding", coding.to_owned())];
            let answer = get(asked.clone()).await;
            assert_eq!(answer.header("content-encoding"), Some(coding));
            let coded = answer.header("etag").expect("an ETag").to_owned();
            assert_eq!(coded, format!("{open}-{coding}\""), "[{backend:?}]");
            assert_eq!(answer.decoded(), identity.body);

            // Revalidation with this coding's tag: 304, naming that tag, uncompressed, varying.
            let mut again = asked.clone();
            again.push(("If-None-Match", coded.clone()));
            let not_modified = get(again).await;
            assert_eq!(not_modified.status, 304, "[{backend:?}] {coding}");
            assert_eq!(not_modified.header("etag"), Some(coded.as_str()));
            assert_eq!(not_modified.header("content-encoding"), None);
            assert!(not_modified.body.is_empty());
            assert!(
                not_modified.varies_by_encoding(),
                "{:?}",
                not_modified.headers
            );

            // The other coding's tag does not match this coding's representation.
            let other = if coding == "gzip" { "br" } else { "gzip" };
            let mut crossed = asked.clone();
            crossed.push(("If-None-Match", format!("{open}-{other}\"")));
            let full = get(crossed).await;
            assert_eq!(
                full.status, 200,
                "[{backend:?}] {coding} with the {other} tag"
            );
            assert_eq!(full.header("content-encoding"), Some(coding));

            // A cache holding several representations sends their tags; the 304 names ours.
            let mut listed = asked.clone();
            listed.push((
                "If-None-Match",
                format!("\"nope\", {open}-{other}\", W/{coded}"),
            ));
            let weak = get(listed).await;
            assert_eq!(weak.status, 304, "[{backend:?}] {coding} in a list");
            assert_eq!(weak.header("etag"), Some(coded.as_str()));
        }
        // Without Accept-Encoding, a coded tag is not the identity representation's.
        let plain = get(vec![("If-None-Match", format!("{open}-gzip\""))]).await;
        assert_eq!(plain.status, 200);
        assert_eq!(plain.header("content-encoding"), None);
        let plain = get(vec![("If-None-Match", tag.clone())]).await;
        assert_eq!(plain.status, 304);
        assert_eq!(plain.header("etag"), Some(tag.as_str()));
        assert!(plain.varies_by_encoding());
        server.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_bodies_and_edge_cases_of_accept_encoding() {
    let app = TestApp::all_seeded().await.remove(0);
    let (addr, server) = listen(&app).await;
    let small = get_path("{ country(code: \"IT\") { name } }");
    let big = get_path(BIG);
    let answer = |path: &str, accept: String| {
        let path = path.to_owned();
        async move {
            send(
                addr,
                "GET",
                &path,
                &[JSON, ("Accept-Encoding", accept.as_str())],
                "",
            )
            .await
        }
    };

    // Small answers go out as they are: compressing them would save less than it costs.
    let small_answer = answer(&small, "gzip, br".into()).await;
    assert_eq!(small_answer.status, 200);
    assert_eq!(small_answer.header("content-encoding"), None);
    assert!(small_answer.body.len() < 1024);
    let parsed: Value = serde_json::from_slice(&small_answer.body).unwrap();
    assert_eq!(parsed["data"]["country"]["name"], "Italy");

    let reference = send(addr, "GET", &big, &[JSON], "").await.body;
    // (Accept-Encoding, the coding expected)
    let cases: Vec<(String, Option<&str>)> = vec![
        ("identity;q=0".into(), None),
        ("identity;q=0, *;q=0".into(), None),
        ("gzip;q=0, br;q=0".into(), None),
        ("*;q=0.5".into(), Some("gzip")),
        ("*, br;q=0".into(), Some("gzip")),
        ("*, gzip;q=0".into(), Some("br")),
        ("br;q=0.5, gzip".into(), Some("gzip")),
        ("gzip;q=0.5, identity".into(), None),
        ("GZIP;Q=0.9".into(), Some("gzip")),
        ("br;q=7, gzip;q=x".into(), None),
        ("deflate, zstd, compress".into(), None),
        (";;;,,,=;q=;".into(), None),
        ("\"gzip\"".into(), None),
        // Hostile: thousands of entries (16 KB), and a long run of one.
        (
            (0..2000)
                .map(|i| format!("c{i};q=0.{}", i % 10))
                .collect::<Vec<_>>()
                .join(","),
            None,
        ),
        (format!("{}gzip", "x,".repeat(5000)), None),
    ];
    for (accept, expected) in cases {
        let shown = &accept[..accept.len().min(60)];
        let got = answer(&big, accept.clone()).await;
        assert_eq!(got.status, 200, "{shown}");
        assert_eq!(got.header("content-encoding"), expected, "{shown}");
        assert_eq!(got.decoded(), reference, "{shown}");
    }
    // Bytes that are not text in the header are ignored.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut raw = format!("GET {big} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: application/json\r\nAccept-Encoding: gz").into_bytes();
    raw.extend_from_slice(b"\xff\xfeip\r\n\r\n");
    stream.write_all(&raw).await.unwrap();
    let mut back = Vec::new();
    stream.read_to_end(&mut back).await.unwrap();
    let got = parse(&back);
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-encoding"), None);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_exports_and_websocket_upgrades() {
    let app = TestApp::all_seeded().await.remove(0);
    let (addr, server) = listen(&app).await;

    // GraphiQL's page and assets (the assets are most of the bytes a browser fetches).
    let page = send(
        addr,
        "GET",
        "/graphql",
        &[("Accept", "text/html"), ("Accept-Encoding", "br")],
        "",
    )
    .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-encoding"), Some("br"));
    assert!(String::from_utf8(page.decoded()).unwrap().contains("<html"));

    // The export: a long body, compressed as it streams.
    let admin = keys::create(&app.db.conn, "ops", Role::Admin, None, None)
        .await
        .expect("an admin key")
        .secret;
    let bearer = format!("Bearer {admin}");
    let auth = ("Authorization", bearer.as_str());
    let plain = send(addr, "GET", "/export.csv", &[auth], "").await;
    assert_eq!(plain.status, 200);
    let coded = send(
        addr,
        "GET",
        "/export.csv",
        &[auth, ("Accept-Encoding", "gzip")],
        "",
    )
    .await;
    assert_eq!(coded.status, 200);
    assert_eq!(coded.header("content-encoding"), Some("gzip"));
    assert!(coded.varies_by_encoding());
    assert_eq!(coded.decoded(), plain.body);

    // A WebSocket upgrade is never compressed, whatever the client accepts.
    let upgrade = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Protocol", "graphql-transport-ws"),
        ("Accept-Encoding", "gzip, br"),
    ];
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET /graphql HTTP/1.1\r\nHost: {addr}\r\n");
    for (name, value) in upgrade {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        stream
            .read_exact(&mut byte)
            .await
            .expect("the upgrade's head");
        head.push(byte[0]);
    }
    let answer = parse(&head);
    assert_eq!(answer.status, 101);
    assert_eq!(answer.header("content-encoding"), None);
    server.abort();
}
