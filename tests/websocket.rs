//! GraphQL over WebSocket (`graphql-transport-ws`) against a real server on a loopback port,
//! with a real WebSocket client (tokio-tungstenite): the handshake, queries and mutations over
//! the socket, the keys, the close codes, the limits and the timers. Every test runs on SQLite
//! and, when switched on, PostgreSQL.

use std::net::SocketAddr;
use std::time::Duration;

use api::auth::Role;
use api::service::keys;
use api::state::Settings;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::{TestApp, TestDb};

type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const QUERY: &str = r#"{ pairing(slug: "rome-yantai") { title } }"#;

/// The real server on a free loopback port, serving until dropped.
struct Server {
    app: TestApp,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    async fn start(db: TestDb, settings: Settings) -> Server {
        let app = TestApp::with_settings(db, settings);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(api::server::serve_until(
            listener,
            app.state.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            app,
            addr,
            stop: Some(stop),
        }
    }

    /// A seeded server on every backend switched on, with these settings.
    async fn all(settings: impl Fn() -> Settings) -> Vec<Server> {
        let mut servers = Vec::new();
        for db in TestDb::all_seeded().await {
            servers.push(Server::start(db, settings()).await);
        }
        servers
    }

    /// A client that offers `graphql-transport-ws`, with these extra headers.
    async fn connect_with(&self, headers: &[(&str, &str)]) -> Socket {
        let mut request = format!("ws://{}/graphql", self.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        socket
    }

    async fn connect(&self) -> Socket {
        self.connect_with(&[]).await
    }

    /// A connection past `connection_init` (with this payload) and `connection_ack`.
    async fn ready(&self, payload: Value) -> Socket {
        let mut socket = self.connect().await;
        init(&mut socket, payload).await;
        socket
    }

    fn backend(&self) -> crate::common::Backend {
        self.app.db.backend
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What the client read: a protocol message, or the close frame.
#[derive(Debug)]
enum Read {
    Message(Value),
    Closed(u16, String),
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next protocol message or close (WebSocket pings are the library's business).
async fn read(socket: &mut Socket) -> Read {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("the server answers within 20 s");
        match frame {
            Some(Ok(Message::Text(text))) => {
                return Read::Message(serde_json::from_str(text.as_str()).unwrap());
            }
            Some(Ok(Message::Close(Some(frame)))) => {
                return Read::Closed(frame.code.into(), frame.reason.to_string());
            }
            Some(Ok(Message::Close(None))) | None => return Read::Closed(1005, String::new()),
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("the socket failed: {error}"),
        }
    }
}

/// The next protocol message, skipping the server's pings.
async fn message(socket: &mut Socket) -> Value {
    loop {
        match read(socket).await {
            Read::Message(m) if m["type"] == "ping" => continue,
            Read::Message(m) => return m,
            Read::Closed(code, reason) => panic!("closed {code} {reason}"),
        }
    }
}

/// The close code and reason, skipping any messages before it.
async fn closed(socket: &mut Socket) -> (u16, String) {
    loop {
        if let Read::Closed(code, reason) = read(socket).await {
            return (code, reason);
        }
    }
}

async fn init(socket: &mut Socket, payload: Value) {
    send(
        socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    assert_eq!(message(socket).await, json!({ "type": "connection_ack" }));
}

async fn subscribe(socket: &mut Socket, id: &str, query: &str) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
}

fn settings() -> Settings {
    Settings::default()
}

#[tokio::test]
async fn queries_and_mutations_run_over_the_socket_with_the_key_in_connection_init() {
    for server in Server::all(settings).await {
        let backend = server.backend();
        let mut socket = server.ready(json!({})).await;
        subscribe(&mut socket, "q1", QUERY).await;
        assert_eq!(
            message(&mut socket).await,
            json!({ "id": "q1", "type": "next", "payload": { "data": { "pairing": { "title": "Rome – Yantai" } } } }),
            "[{backend:?}]"
        );
        assert_eq!(
            message(&mut socket).await,
            json!({ "id": "q1", "type": "complete" })
        );
        // The id is free again once complete.
        subscribe(&mut socket, "q1", "{ __typename }").await;
        assert_eq!(
            message(&mut socket).await["payload"]["data"]["__typename"],
            "Query"
        );
        assert_eq!(message(&mut socket).await["type"], "complete");

        // A mutation anonymously: UNAUTHENTICATED in a `next`, as over HTTP.
        let create = r#"mutation { createCity(input: { slug: "nova-gorica", name: "Nova Gorica", kind: CITY, country: "SI", population: 31000, latitude: 45.96, longitude: 13.65 }) { city { slug } } }"#;
        subscribe(&mut socket, "m0", create).await;
        let refused = message(&mut socket).await;
        assert_eq!(
            refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{refused}"
        );

        let admin = keys::create(&server.app.db.conn, "ops", Role::Admin, None, None)
            .await
            .unwrap_or_else(|e| panic!("admin key: {}", e.message()));
        for payload in [
            json!({ "Authorization": format!("Bearer {}", admin.secret) }),
            json!({ "authorization": format!("Bearer {}", admin.secret) }),
        ] {
            let mut socket = server.ready(payload).await;
            let slug = format!("nova-gorica-{}", rand_suffix());
            subscribe(&mut socket, "m1", &create.replace("nova-gorica", &slug)).await;
            let created = message(&mut socket).await;
            assert_eq!(
                created["payload"]["data"]["createCity"]["city"]["slug"], slug,
                "[{backend:?}] {created}"
            );
            assert_eq!(message(&mut socket).await["type"], "complete");
        }
        // The key may come in the upgrade's header instead.
        let mut socket = server
            .connect_with(&[("authorization", &format!("Bearer {}", admin.secret))])
            .await;
        init(&mut socket, json!(null)).await;
        subscribe(
            &mut socket,
            "m2",
            &create.replace("nova-gorica", "from-header"),
        )
        .await;
        let created = message(&mut socket).await;
        assert_eq!(
            created["payload"]["data"]["createCity"]["city"]["slug"], "from-header",
            "{created}"
        );
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

#[tokio::test]
async fn an_unknown_or_revoked_key_closes_with_4403() {
    for server in Server::all(settings).await {
        let mut socket = server.connect().await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": { "Authorization": "Bearer iuc_nope" } }),
        )
        .await;
        let (code, reason) = closed(&mut socket).await;
        assert_eq!(code, 4403, "{reason}");
        // A bad key in the upgrade's header is refused the same way.
        let mut socket = server
            .connect_with(&[("authorization", "Bearer iuc_nope")])
            .await;
        send(&mut socket, json!({ "type": "connection_init" })).await;
        assert_eq!(closed(&mut socket).await.0, 4403);
        // A key revoked while connected: the next operation closes the connection.
        let key = keys::create(&server.app.db.conn, "temp", Role::Admin, None, None)
            .await
            .unwrap_or_else(|e| panic!("key: {}", e.message()));
        let mut socket = server
            .ready(json!({ "authorization": format!("Bearer {}", key.secret) }))
            .await;
        keys::revoke(&server.app.db.conn, key.key.id)
            .await
            .unwrap_or_else(|e| panic!("revoke: {}", e.message()));
        subscribe(&mut socket, "1", QUERY).await;
        assert_eq!(closed(&mut socket).await.0, 4403);
        // Not `Bearer <key>`: a bad request.
        let mut socket = server.connect().await;
        send(
            &mut socket,
            json!({ "type": "connection_init", "payload": { "authorization": 42 } }),
        )
        .await;
        assert_eq!(closed(&mut socket).await.0, 4400);
    }
}

#[tokio::test]
async fn the_protocol_is_enforced_with_graphql_ws_close_codes() {
    let quick = || Settings {
        websocket: api::state::WsSettings {
            init_timeout: Duration::from_millis(300),
            ..Settings::default().websocket
        },
        ..Settings::default()
    };
    for server in Server::all(quick).await {
        // No connection_init in time: 4408.
        let mut socket = server.connect().await;
        let (code, reason) = closed(&mut socket).await;
        assert_eq!(
            (code, reason.as_str()),
            (4408, "Connection initialisation timeout")
        );
        // Subscribe before the ack: 4401.
        let mut socket = server.connect().await;
        subscribe(&mut socket, "1", QUERY).await;
        assert_eq!(closed(&mut socket).await, (4401, "Unauthorized".to_owned()));
        // A second connection_init: 4429.
        let mut socket = server.ready(json!({})).await;
        send(&mut socket, json!({ "type": "connection_init" })).await;
        assert_eq!(closed(&mut socket).await.0, 4429);
        // Invalid messages: 4400 with the reason.
        for bad in [
            Message::text("not json"),
            Message::text(r#"{"type":"next","id":"1","payload":{}}"#),
            Message::text(r#"{"type":"subscribe","payload":{"query":"{ __typename }"}}"#),
            Message::binary(b"{}".to_vec()),
        ] {
            let mut socket = server.ready(json!({})).await;
            socket.send(bad).await.unwrap();
            let (code, reason) = closed(&mut socket).await;
            assert_eq!(code, 4400, "{reason}");
            assert!(!reason.is_empty());
        }
        // A duplicate id of an operation in flight: 4409. The operation is held in flight by
        // taking every execution turn.
        let turns = server
            .app
            .state
            .executions
            .clone()
            .expect("turns are limited");
        let held = turns
            .acquire_many(turns.available_permits() as u32)
            .await
            .unwrap();
        let mut socket = server.ready(json!({})).await;
        subscribe(&mut socket, "dup", QUERY).await;
        subscribe(&mut socket, "dup", QUERY).await;
        assert_eq!(
            closed(&mut socket).await,
            (4409, "Subscriber for dup already exists".to_owned())
        );
        drop(held);
    }
}

#[tokio::test]
async fn an_upgrade_without_the_subprotocol_is_closed_with_4406_and_plain_gets_stay_http() {
    let one = || Settings {
        websocket: api::state::WsSettings {
            max_connections: 1,
            ..Settings::default().websocket
        },
        ..Settings::default()
    };
    let servers = Server::all(one).await;
    let server = &servers[0];
    let request = format!("ws://{}/graphql", server.addr)
        .into_client_request()
        .unwrap();
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert!(response.headers().get("sec-websocket-protocol").is_none());
    assert_eq!(
        closed(&mut socket).await,
        (4406, "Subprotocol not acceptable".to_owned())
    );
    drop(socket);
    // Another subprotocol: the upgrade names none (raw HTTP: the client library would refuse).
    let raw = raw_http(
        server.addr,
        "GET /graphql HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Protocol: graphql-ws\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 101"), "{raw}");
    assert!(
        !raw.to_ascii_lowercase().contains("sec-websocket-protocol"),
        "{raw}"
    );
    // A plain GET is still GraphQL over HTTP.
    let raw = raw_http(
        server.addr,
        "GET /graphql?query=%7B__typename%7D HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains(r#"{"data":{"__typename":"Query"}}"#), "{raw}");
    // The server's most connections (1 here): the next upgrade is refused with 503.
    wait_for_connections(server, 0).await;
    let _open = server.connect().await;
    let request = format!("ws://{}/graphql", server.addr)
        .into_client_request()
        .unwrap();
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 503)
        }
        other => panic!("expected 503, got {:?}", other.map(|(_, r)| r.status())),
    }
}

/// Sends `request` on a fresh TCP connection; the response's head (and body, with
/// `Connection: close`).
async fn raw_http(addr: SocketAddr, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let mut text = String::new();
    // Until the head is complete (an upgraded connection stays open).
    while let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await
    {
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    text
}

/// Waits until the server counts `n` open WebSocket connections.
async fn wait_for_connections(server: &Server, n: u64) {
    wait_for(server, "iuc_websocket_connections", n).await;
}

async fn wait_for(server: &Server, gauge: &str, n: u64) {
    let metrics = &server.app.state.metrics;
    for _ in 0..500 {
        let text = metrics.render(&Default::default(), &server.app.state.db);
        if text.contains(&format!("\n{gauge} {n}\n")) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "{gauge} never became {n}: {}",
        metrics.render(&Default::default(), &server.app.state.db)
    );
}

#[tokio::test]
async fn operations_per_connection_are_capped_and_limits_refuse_with_their_code() {
    let capped = || Settings {
        websocket: api::state::WsSettings {
            max_operations: 2,
            ..Settings::default().websocket
        },
        limits: api::graphql::limits::Limits {
            max_depth: 2,
            ..Settings::default().limits
        },
        ..Settings::default()
    };
    for server in Server::all(capped).await {
        let turns = server
            .app
            .state
            .executions
            .clone()
            .expect("turns are limited");
        let held = turns
            .acquire_many(turns.available_permits() as u32)
            .await
            .unwrap();
        let mut socket = server.ready(json!({})).await;
        subscribe(&mut socket, "a", QUERY).await;
        subscribe(&mut socket, "b", QUERY).await;
        subscribe(&mut socket, "c", QUERY).await;
        let refused = message(&mut socket).await;
        assert_eq!(refused["id"], "c");
        assert_eq!(refused["type"], "error");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"], "TOO_MANY_SUBSCRIPTIONS",
            "{refused}"
        );
        wait_for(&server, "iuc_websocket_operations", 2).await;
        // The client completes one: its operation is dropped, and a new one fits.
        send(&mut socket, json!({ "id": "a", "type": "complete" })).await;
        wait_for(&server, "iuc_websocket_operations", 1).await;
        drop(held);
        // "a" was completed by the client: only "b" answers.
        let answered = message(&mut socket).await;
        assert_eq!(
            (&answered["id"], &answered["type"]),
            (&json!("b"), &json!("next"))
        );
        assert_eq!(
            message(&mut socket).await,
            json!({ "id": "b", "type": "complete" })
        );
        subscribe(&mut socket, "d", "{ __typename }").await;
        assert_eq!(message(&mut socket).await["id"], "d");
        assert_eq!(
            message(&mut socket).await,
            json!({ "id": "d", "type": "complete" })
        );

        // Over the depth limit: an `error` with the limit's code; the connection stays.
        subscribe(
            &mut socket,
            "deep",
            r#"{ pairing(slug: "rome-yantai") { themes { name } } }"#,
        )
        .await;
        let refused = message(&mut socket).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "QUERY_TOO_DEEP"
        );
        // A validation error: an `error` too.
        subscribe(&mut socket, "v", "{ nope }").await;
        let refused = message(&mut socket).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "GRAPHQL_VALIDATION_FAILED"
        );
        subscribe(&mut socket, "ok", "{ __typename }").await;
        assert_eq!(message(&mut socket).await["type"], "next");
        drop(socket);
        wait_for(&server, "iuc_websocket_operations", 0).await;
        wait_for_connections(&server, 0).await;
    }
}

#[tokio::test]
async fn the_server_pings_closes_silent_connections_and_answers_pings() {
    let timers = || Settings {
        websocket: api::state::WsSettings {
            ping_interval: Duration::from_millis(150),
            idle_timeout: Duration::from_millis(600),
            ..Settings::default().websocket
        },
        ..Settings::default()
    };
    for server in Server::all(timers).await {
        // A client that answers the server's pings stays connected past the idle timeout.
        let mut socket = server.ready(json!({})).await;
        let started = std::time::Instant::now();
        let mut pings = 0;
        while started.elapsed() < Duration::from_millis(1500) {
            match read(&mut socket).await {
                Read::Message(m) if m == json!({ "type": "ping" }) => {
                    pings += 1;
                    send(&mut socket, json!({ "type": "pong" })).await;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(pings >= 3, "{pings}");
        // A client's ping gets a pong with its payload.
        send(
            &mut socket,
            json!({ "type": "ping", "payload": { "n": 1 } }),
        )
        .await;
        assert_eq!(
            message(&mut socket).await,
            json!({ "type": "pong", "payload": { "n": 1 } })
        );
        // One that stays silent is closed (1001) once the idle timeout passes.
        let mut silent = server.ready(json!({})).await;
        let (code, reason) = closed(&mut silent).await;
        assert_eq!(code, 1001, "{reason}");
        assert!(reason.starts_with("idle"), "{reason}");
    }
}

#[tokio::test]
async fn a_message_over_the_size_limit_closes_with_1009() {
    let small = || Settings {
        max_body_bytes: 1024,
        ..Settings::default()
    };
    for server in Server::all(small).await {
        let mut socket = server.ready(json!({})).await;
        let query = format!("{{ __typename }} # {}", "x".repeat(2000));
        subscribe(&mut socket, "big", &query).await;
        let (code, reason) = closed(&mut socket).await;
        assert_eq!(code, 1009, "{reason}");
    }
}

#[tokio::test]
async fn shutdown_closes_websocket_connections_with_1001() {
    for mut server in Server::all(settings).await {
        let mut socket = server.ready(json!({})).await;
        if let Some(stop) = server.stop.take() {
            stop.send(()).unwrap();
        }
        let (code, reason) = closed(&mut socket).await;
        assert_eq!(code, 1001, "{reason}");
        assert!(reason.contains("shutting down"), "{reason}");
    }
}

// ---- Subscriptions over the socket: the change feed (`changes`). ----

const CHANGES: &str = "subscription($after: String) { changes(after: $after) { cursor record entity action version } }";
const CREATE_CITY: &str =
    "mutation($i: CreateCityInput!) { createCity(input: $i) { city { id version } } }";

fn city(slug: &str) -> Value {
    json!({ "i": { "slug": slug, "name": slug, "kind": "CITY", "country": "DK" } })
}

async fn subscribe_changes(socket: &mut Socket, id: &str, after: Option<&str>) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": CHANGES, "variables": { "after": after } } }),
    )
    .await;
}

/// Creates a city over HTTP with `key`; its global id.
async fn create_city(server: &Server, key: &str, slug: &str) -> String {
    let response = server
        .app
        .graphql_as(Some(key), CREATE_CITY, city(slug))
        .await;
    assert!(response.get("errors").is_none(), "{response}");
    response["data"]["createCity"]["city"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The next `changes` event of subscription `id` (skipping other messages).
async fn event(socket: &mut Socket, id: &str) -> Value {
    loop {
        let m = message(socket).await;
        if m["id"] == id {
            assert_eq!(m["type"], "next", "{m}");
            assert!(m["payload"].get("errors").is_none(), "{m}");
            return m["payload"]["data"]["changes"].clone();
        }
    }
}

#[tokio::test]
async fn a_changes_subscription_receives_writes_made_over_http_and_resumes_from_its_cursor() {
    for server in Server::all(settings).await {
        let backend = server.backend();
        let key = keys::create(&server.app.db.conn, "feed", Role::Admin, None, None)
            .await
            .unwrap_or_else(|e| panic!("key: {}", e.message()))
            .secret;
        // From the start of the feed (empty): the replay part is empty, then live.
        let mut socket = server.ready(json!({})).await;
        subscribe_changes(&mut socket, "feed", Some("0")).await;
        let mut made = Vec::new();
        let mut seen = Vec::new();
        for i in 0..3 {
            made.push(create_city(&server, &key, &format!("live-{i}")).await);
            let change = event(&mut socket, "feed").await;
            assert_eq!(change["entity"], "CITY", "[{backend:?}] {change}");
            assert_eq!(change["action"], "CREATE");
            seen.push(change);
        }
        let records: Vec<&Value> = seen.iter().map(|c| &c["record"]).collect();
        assert_eq!(records, made.iter().collect::<Vec<_>>());
        // Disconnect; writes go on meanwhile; reconnect after the last cursor: nothing is
        // missed and nothing comes twice.
        let last = seen.last().unwrap()["cursor"].as_str().unwrap().to_owned();
        drop(socket);
        let mut missed = Vec::new();
        for i in 0..2 {
            missed.push(create_city(&server, &key, &format!("away-{i}")).await);
        }
        let mut socket = server.ready(json!({})).await;
        subscribe_changes(&mut socket, "again", Some(&last)).await;
        let mut resumed = Vec::new();
        for _ in 0..2 {
            resumed.push(event(&mut socket, "again").await["record"].clone());
        }
        missed.push(create_city(&server, &key, "back").await);
        resumed.push(event(&mut socket, "again").await["record"].clone());
        assert_eq!(
            resumed,
            missed.iter().map(|m| json!(m)).collect::<Vec<_>>(),
            "[{backend:?}]"
        );
        // Complete stops it: the next write sends nothing more on it.
        send(&mut socket, json!({ "id": "again", "type": "complete" })).await;
        wait_for(&server, "iuc_websocket_operations", 0).await;
        create_city(&server, &key, "after-complete").await;
        subscribe(&mut socket, "q", "{ __typename }").await;
        assert_eq!(
            message(&mut socket).await["id"],
            "q",
            "nothing came for `again`"
        );
    }
}

/// `n` change events written straight into the feed (a replay's worth of messages for a
/// client that does not read).
async fn fill_feed(db: &TestDb, n: i32) {
    use sea_orm::{ActiveValue::Set, EntityTrait};
    let rows = (1..=n).map(|i| entity::change_event::ActiveModel {
        at: Set(chrono_now()),
        entity: Set("City".into()),
        record_id: Set(i),
        action: Set("update".into()),
        version: Set(i),
        fields: Set(r#"["population"]"#.into()),
        ..Default::default()
    });
    let rows: Vec<_> = rows.collect();
    for chunk in rows.chunks(500) {
        entity::change_event::Entity::insert_many(chunk.to_vec())
            .exec(&db.conn)
            .await
            .expect("feed rows");
    }
}

fn chrono_now() -> sea_orm::prelude::DateTimeUtc {
    sea_orm::prelude::DateTimeUtc::from(std::time::SystemTime::now())
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_with_1013() {
    let tiny = || Settings {
        websocket: api::state::WsSettings {
            send_queue: 4,
            send_timeout: Duration::from_millis(300),
            close_timeout: Duration::from_secs(30),
            ..Settings::default().websocket
        },
        ..Settings::default()
    };
    for server in Server::all(tiny).await {
        let backend = server.backend();
        fill_feed(&server.app.db, 3000).await;
        // A client that reads gets every event of a burst far beyond its queue: the replays
        // wait for the socket rather than close it.
        let mut reader = server.ready(json!({})).await;
        for i in 0..5 {
            subscribe_changes(&mut reader, &format!("r{i}"), Some("0")).await;
        }
        let mut received = 0;
        while received < 5 * 3000 {
            let m = message(&mut reader).await;
            assert_eq!(m["type"], "next", "[{backend:?}] {m}");
            received += 1;
        }
        drop(reader);
        // A client with a small receive buffer, so that the kernel holds little for it.
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(server.addr).await.unwrap();
        let mut request = format!("ws://{}/graphql", server.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (mut socket, _) =
            tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
                .await
                .unwrap();
        init(&mut socket, json!({})).await;
        for i in 0..10 {
            subscribe_changes(&mut socket, &format!("s{i}"), Some("0")).await;
        }
        // Read nothing while the replays (30,000 events) pile up, then read what came.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut nexts = 0;
        let (code, reason) = loop {
            match read(&mut socket).await {
                Read::Message(m) if m["type"] == "next" => nexts += 1,
                Read::Message(m) => panic!("[{backend:?}] {m}"),
                Read::Closed(code, reason) => break (code, reason),
            }
        };
        assert_eq!(code, 1013, "[{backend:?}] {reason}");
        assert!(reason.contains("does not read"), "{reason}");
        assert!(nexts < 30_000, "the server stopped sending: {nexts}");
        wait_for_connections(&server, 0).await;
        wait_for(&server, "iuc_websocket_operations", 0).await;
    }
}

#[tokio::test]
async fn persisted_documents_and_the_rate_limit_apply_per_operation() {
    let limited = || Settings {
        rate_limits: api::ratelimit::RateLimits {
            anonymous: 2,
            ..Settings::default().rate_limits
        },
        ..Settings::default()
    };
    for server in Server::all(limited).await {
        let mut socket = server.ready(json!({})).await;
        let query = "{ __typename }";
        let hash = api::persisted::sha256(query);
        let persisted = |id: &str, query: Option<&str>| {
            json!({ "id": id, "type": "subscribe", "payload": {
                "query": query,
                "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
            } })
        };
        // An unknown hash: the error Apollo clients answer with the full query.
        send(&mut socket, persisted("p1", None)).await;
        let refused = message(&mut socket).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "PERSISTED_QUERY_NOT_FOUND"
        );
        // The query with its hash registers it; the hash alone then runs it.
        send(&mut socket, persisted("p2", Some(query))).await;
        assert_eq!(message(&mut socket).await["type"], "next");
        assert_eq!(message(&mut socket).await["type"], "complete");
        send(&mut socket, persisted("p3", None)).await;
        let answered = message(&mut socket).await;
        assert_eq!(
            answered["payload"]["data"]["__typename"], "Query",
            "{answered}"
        );
        assert_eq!(message(&mut socket).await["type"], "complete");
        // Each operation is charged (at least 1): the budget of 2 is spent by now.
        subscribe(&mut socket, "p4", query).await;
        let refused = message(&mut socket).await;
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        // The connection stays: a ping still gets its pong.
        send(&mut socket, json!({ "type": "ping" })).await;
        assert_eq!(message(&mut socket).await, json!({ "type": "pong" }));
    }
}

/// Two API instances over one database, each a real server: a client subscribed through
/// instance A receives a write made through instance B (on PostgreSQL through LISTEN/NOTIFY;
/// on SQLite, where both run in this process, through the process's own notice).
#[tokio::test]
async fn a_subscriber_on_one_instance_sees_a_write_made_through_another() {
    for a in Server::all(settings).await {
        let backend = a.backend();
        let key = keys::create(&a.app.db.conn, "two", Role::Admin, None, None)
            .await
            .unwrap_or_else(|e| panic!("key: {}", e.message()))
            .secret;
        // Instance B: its own pool, state, live feed and port, over the same database.
        let (conn, statements) = api::db::connect(&a.app.db.url, 5).await.unwrap();
        let b = api::AppState::with_settings(conn, statements, settings());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let b_addr = listener.local_addr().unwrap();
        let (stop_b, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(api::server::serve_until(listener, b, async {
            let _ = stopped.await;
        }));
        // From the feed's current end, so that nothing written before counts and nothing
        // written after the subscribe message is sent can be missed.
        let start = a
            .app
            .data("{ changes(first: 0) { latestCursor } }", json!({}))
            .await["changes"]["latestCursor"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut socket = a.ready(json!({})).await;
        subscribe_changes(&mut socket, "a", Some(&start)).await;
        let body = json!({ "query": CREATE_CITY, "variables": city("made-on-b") }).to_string();
        let answer = raw_http(
            b_addr,
            &format!(
                "POST /graphql HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n\
                 Authorization: Bearer {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        let made: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let id = made["data"]["createCity"]["city"]["id"].clone();
        assert!(id.is_string(), "[{backend:?}] {answer}");
        let change = event(&mut socket, "a").await;
        assert_eq!(change["record"], id, "[{backend:?}] {change}");
        assert_eq!(change["action"], "CREATE");
        let _ = stop_b.send(());
    }
}

/// A subscription passes the same limits as a query: one over the alias limit is refused with
/// an `error` message and its code, and the connection goes on.
#[tokio::test]
async fn a_subscription_over_a_limit_is_refused_with_its_code() {
    for server in Server::all(settings).await {
        let backend = server.backend();
        let mut socket = server.ready(json!({})).await;
        let aliases: String = (0..40).map(|i| format!(" c{i}: cursor")).collect();
        subscribe(
            &mut socket,
            "wide",
            &format!("subscription {{ changes {{{aliases} }} }}"),
        )
        .await;
        let refused = message(&mut socket).await;
        assert_eq!(refused["type"], "error", "[{backend:?}] {refused}");
        assert_eq!(
            refused["payload"][0]["extensions"]["code"],
            "TOO_MANY_ALIASES"
        );
        subscribe(&mut socket, "q", "{ __typename }").await;
        assert_eq!(message(&mut socket).await["id"], "q", "[{backend:?}]");
    }
}
