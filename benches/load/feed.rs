//! Feed mode (`--feed`): what the change feed costs and how fast it delivers.
//!
//!     cargo bench --bench load -- --feed --backend postgres [--subscribers 1000] [--seconds 10]
//!
//! 1. **Mutations per second**: `--clients` keep-alive clients, each creating cities with an
//!    administrator key for `--seconds`. The feed cannot be switched off (it is written in the
//!    writing transaction), so "without the feed" is the same run with the binary of a commit
//!    before it: `IUC_GRAPH_BIN=<that binary> cargo bench --bench load -- --feed --writes-only`.
//! 2. **Memory of idle subscribers**: the server's resident memory before and after
//!    `--subscribers` WebSocket connections (graphql-transport-ws), each with one `changes`
//!    subscription, have settled.
//! 3. **Fan-out**: one mutation (over HTTP), and the time from sending it until every
//!    subscriber has received its event: the median and the slowest subscriber, over 5 rounds.
//!
//! Subscribers connect from many loopback addresses (127.1.x.y) so that the per-address rate
//! limit sees many callers, as in production.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::support::{Client, Database, Server, run};

/// What to measure.
pub struct Plan {
    pub backend: String,
    pub pairings: u64,
    pub clients: usize,
    pub seconds: u64,
    pub subscribers: usize,
    pub postgres: String,
    pub writes_only: bool,
}

pub async fn feed(plan: &Plan) {
    let database = Database::create(&plan.backend, plan.pairings, &plan.postgres, "feed").await;
    let key = run(
        &database.url,
        &["keys", "create", "--admin", "--name", "bench"],
    )
    .trim()
    .to_owned();
    let server = Server::start(&database.url, &[], Stdio::inherit()).await;
    let rate = writes(server.addr, &key, plan).await;
    println!();
    println!(
        "| backend | pairings | clients | mutations/s (createCity, {} s) |",
        plan.seconds
    );
    println!("|---|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {rate:.0} |",
        plan.backend, database.pairings, plan.clients
    );
    if !plan.writes_only {
        subscribers(&server, &key, plan).await;
    }
    server.stop();
    database.remove().await;
}

/// Mutations per second with `plan.clients` clients.
async fn writes(addr: SocketAddr, key: &str, plan: &Plan) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(plan.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..plan.clients)
        .map(|c| {
            let (done, key) = (done.clone(), key.to_owned());
            tokio::spawn(async move {
                let mut client = Client::connect(addr).await;
                let mut n = 0;
                while Instant::now() < deadline {
                    create_city(&mut client, &key, &format!("w{c}-{n}")).await;
                    n += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("writer");
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn create_city(client: &mut Client, key: &str, slug: &str) {
    let body = json!({
        "query": "mutation($i: CreateCityInput!) { createCity(input: $i) { city { id } } }",
        "variables": { "i": { "slug": slug, "name": slug, "kind": "CITY", "country": "AA" } }
    })
    .to_string();
    let auth = format!("Bearer {key}");
    let response = client
        .send(
            "POST",
            "/graphql",
            &[("Authorization", &auth)],
            body.as_bytes(),
        )
        .await
        .expect("the server answers");
    let answer: Value = serde_json::from_slice(&response.body).expect("JSON");
    assert!(
        response.status == 200 && answer.get("errors").is_none(),
        "a write failed: {answer}"
    );
}

/// Memory of idle subscribers, then the fan-out of one change to all of them.
async fn subscribers(server: &Server, key: &str, plan: &Plan) {
    let before = server.rss_kib();
    let (events, mut received) = mpsc::unbounded_channel::<Instant>();
    let mut ready = Vec::new();
    for n in 0..plan.subscribers {
        let from = IpAddr::V4(Ipv4Addr::new(127, 1, (n / 250) as u8, (n % 250 + 1) as u8));
        ready.push(tokio::spawn(subscribe(server.addr, from, events.clone())));
    }
    let mut sockets = Vec::new();
    for task in ready {
        sockets.push(task.await.expect("subscriber"));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss_kib();
    let per = (after.saturating_sub(before)) as f64 / plan.subscribers as f64;
    let mut client = Client::connect(server.addr).await;
    let mut slowest = Vec::new();
    let mut medians = Vec::new();
    for round in 0..5 {
        let sent = Instant::now();
        create_city(&mut client, key, &format!("fanout-{round}")).await;
        let mut times = Vec::with_capacity(plan.subscribers);
        while times.len() < plan.subscribers {
            let at = tokio::time::timeout(Duration::from_secs(30), received.recv())
                .await
                .expect("every subscriber gets the event within 30 s")
                .expect("subscribers run");
            times.push(at.duration_since(sent).as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        medians.push(times[times.len() / 2]);
        slowest.push(times[times.len() - 1]);
    }
    medians.sort_by(f64::total_cmp);
    slowest.sort_by(f64::total_cmp);
    println!();
    println!(
        "| backend | subscribers | server RSS before → after | per subscriber | one change reaches all (median of 5) | half of them (median of 5) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {:.1} → {:.1} MB | {:.1} KB | {:.1} ms | {:.1} ms |",
        plan.backend,
        plan.subscribers,
        before as f64 / 1024.0,
        after as f64 / 1024.0,
        per,
        slowest[2],
        medians[2]
    );
    drop(sockets);
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One subscriber: connects from `from`, subscribes to `changes`, and sends the time of each
/// event it receives; returns once subscribed, the reading left to a task of its own.
async fn subscribe(
    addr: SocketAddr,
    from: IpAddr,
    events: mpsc::UnboundedSender<Instant>,
) -> tokio::task::JoinHandle<()> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(from, 0)).expect("bind");
    let stream = socket.connect(addr).await.expect("connect");
    let mut request = format!("ws://{addr}/graphql")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut ws, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .expect("the upgrade is accepted");
    send(&mut ws, json!({ "type": "connection_init" })).await;
    let ack = next_text(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    send(
        &mut ws,
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { changes { cursor record } }" } }),
    )
    .await;
    tokio::spawn(async move {
        loop {
            let message = next_text(&mut ws).await;
            match message["type"].as_str() {
                Some("next") => {
                    let _ = events.send(Instant::now());
                }
                Some("ping") => send(&mut ws, json!({ "type": "pong" })).await,
                Some("complete") | None => return,
                _ => panic!("unexpected message {message}"),
            }
        }
    })
}

async fn send(ws: &mut Socket, message: Value) {
    ws.send(Message::text(message.to_string()))
        .await
        .expect("send");
}

/// The next text message as JSON (`null` when the connection ends).
async fn next_text(ws: &mut Socket) -> Value {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str()).expect("JSON");
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Value::Null,
            Some(Ok(_)) => {}
        }
    }
}
