//! One WebSocket connection: the handshake (`connection_init` → `connection_ack`), the
//! operations in flight by id, the init, ping and idle timers, and the end of it all.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tracing::Instrument;

use super::Gauge;
use super::operation::Op;
use super::outbox::{self, Ending, Outbox};
use super::protocol::{self, ClientMessage, Close, code};
use crate::state::AppState;

/// Who is on the other end, from the upgrade request.
pub struct Client {
    /// The key of the upgrade's `Authorization` header, if any.
    pub header_key: Option<String>,
    /// The client's address (rate limits of anonymous callers).
    pub address: Option<IpAddr>,
    /// The client asked for `graphql-transport-ws`.
    pub accepted: bool,
}

/// Serves one upgraded socket until it ends; `permit` is its place among the server's
/// WebSocket connections.
pub async fn serve(
    socket: WebSocket,
    state: AppState,
    client: Client,
    permit: OwnedSemaphorePermit,
) {
    let _permit = permit;
    let _open = Gauge::up(&state.metrics, |m| &m.websocket_connections);
    let settings = state.settings.websocket.clone();
    let (sink, stream) = socket.split();
    let (outbox, queues) = Outbox::new(settings.send_queue, settings.send_timeout);
    let writer = tokio::spawn(
        outbox::write(sink, queues, settings.close_timeout).instrument(tracing::Span::current()),
    );
    if client.accepted {
        Connection::new(state, client, outbox.clone())
            .run(stream)
            .await;
    } else {
        // What graphql-ws servers do: accept the upgrade, then close with 4406.
        outbox.end(Ending::Close(Close::new(
            code::SUBPROTOCOL_NOT_ACCEPTABLE,
            "Subprotocol not acceptable",
        )));
    }
    outbox.end(Ending::Silently);
    let _ = writer.await;
}

/// An operation in flight.
struct Running {
    /// Tells this run of an id from a later one under the same id.
    generation: u64,
    task: tokio::task::AbortHandle,
}

/// What the connection does after a frame.
enum Flow {
    Continue,
    End(Ending),
}

impl Flow {
    fn close(code: u16, reason: impl Into<String>) -> Flow {
        Flow::End(Ending::Close(Close::with(code, reason)))
    }
}

struct Connection {
    state: AppState,
    outbox: Outbox,
    header_key: Option<String>,
    address: Option<IpAddr>,
    /// `connection_init` arrived.
    initialised: bool,
    /// `connection_ack` was sent: operations may come.
    acknowledged: bool,
    /// The key every operation runs with (from `connection_init`, else the upgrade's header).
    key: Option<String>,
    operations: HashMap<String, Running>,
    generations: u64,
    /// Operations report here when they end by themselves.
    finished: mpsc::UnboundedSender<(String, u64)>,
    finished_rx: Option<mpsc::UnboundedReceiver<(String, u64)>>,
}

impl Drop for Connection {
    /// Closing the socket drops every operation's stream.
    fn drop(&mut self) {
        for (_, running) in self.operations.drain() {
            running.task.abort();
        }
    }
}

impl Connection {
    fn new(state: AppState, client: Client, outbox: Outbox) -> Self {
        let (finished, finished_rx) = mpsc::unbounded_channel();
        Self {
            state,
            outbox,
            header_key: client.header_key,
            address: client.address,
            initialised: false,
            acknowledged: false,
            key: None,
            operations: HashMap::new(),
            generations: 0,
            finished,
            finished_rx: Some(finished_rx),
        }
    }

    /// Reads frames and keeps the timers until the connection ends; the end is in the outbox.
    async fn run(mut self, mut stream: SplitStream<WebSocket>) {
        let settings = self.state.settings.websocket.clone();
        let mut ended = self.outbox.subscribe();
        let Some(mut finished) = self.finished_rx.take() else {
            return;
        };
        let init_deadline = Instant::now() + settings.init_timeout;
        let mut last_heard = Instant::now();
        let mut pings = tokio::time::interval_at(
            Instant::now() + settings.ping_interval,
            settings.ping_interval,
        );
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut shutdown = self.state.shutting_down.subscribe();
        loop {
            let flow = tokio::select! {
                _ = ended.changed() => return,
                () = async { drop(shutdown.wait_for(|down| *down).await) } => Flow::close(
                    code::GOING_AWAY,
                    "the server is shutting down: reconnect",
                ),
                frame = stream.next() => {
                    last_heard = Instant::now();
                    self.on_frame(frame).await
                }
                Some((id, generation)) = finished.recv() => {
                    if self.operations.get(&id).is_some_and(|r| r.generation == generation) {
                        self.operations.remove(&id);
                    }
                    Flow::Continue
                }
                () = sleep_until(init_deadline), if !self.initialised => Flow::close(
                    code::INIT_TIMEOUT,
                    "Connection initialisation timeout",
                ),
                _ = pings.tick(), if self.acknowledged => {
                    self.outbox.control(protocol::ping());
                    Flow::Continue
                }
                () = sleep_until(last_heard + settings.idle_timeout) => idle(settings.idle_timeout),
            };
            if let Flow::End(ending) = flow {
                self.outbox.end(ending);
                return;
            }
        }
    }

    async fn on_frame(&mut self, frame: Option<Result<Message, axum::Error>>) -> Flow {
        let message = match frame {
            None | Some(Ok(Message::Close(_))) => return Flow::End(Ending::Silently),
            Some(Err(error)) => return read_failed(error, self.state.settings.max_body_bytes),
            // The socket answers pings itself; either kind only shows the client is there.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Flow::Continue,
            Some(Ok(Message::Binary(_))) => {
                return Flow::close(
                    code::BAD_REQUEST,
                    "binary messages are not part of graphql-transport-ws: send JSON text",
                );
            }
            Some(Ok(Message::Text(text))) => text,
        };
        match protocol::parse(message.as_str(), self.state.settings.limits.max_nesting) {
            Ok(message) => self.on_message(message).await,
            Err(reason) => Flow::close(code::BAD_REQUEST, reason),
        }
    }

    async fn on_message(&mut self, message: ClientMessage) -> Flow {
        match message {
            ClientMessage::ConnectionInit(payload) => self.on_init(payload).await,
            ClientMessage::Ping(payload) => {
                self.outbox.control(protocol::pong(payload));
                Flow::Continue
            }
            ClientMessage::Pong => Flow::Continue,
            ClientMessage::Subscribe { id, params } => self.on_subscribe(id, *params),
            ClientMessage::Complete { id } => {
                // The client is done with it: no `complete` goes back (graphql-ws).
                if let Some(running) = self.operations.remove(&id) {
                    running.task.abort();
                }
                Flow::Continue
            }
        }
    }

    /// `connection_init`: once only; the key, if any, must be valid (checked now, so that a
    /// client learns at once, and again for each operation, as over HTTP).
    async fn on_init(
        &mut self,
        payload: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Flow {
        if self.initialised {
            return Flow::close(code::TOO_MANY_INITS, "Too many initialisation requests");
        }
        self.initialised = true;
        let key = match protocol::init_key(payload.as_ref()) {
            Ok(key) => key.or_else(|| self.header_key.take()),
            Err(reason) => return Flow::close(code::BAD_REQUEST, reason),
        };
        if let Some(key) = &key {
            let timeout = self.state.settings.request_timeout;
            let checked =
                tokio::time::timeout(timeout, crate::auth::authenticate(&self.state.db, key)).await;
            match checked {
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => {
                    return Flow::close(
                        code::FORBIDDEN,
                        "Forbidden: the API key is unknown or revoked",
                    );
                }
                Ok(Err(error)) => {
                    tracing::warn!(error = ?error, "a WebSocket key could not be checked");
                    return unavailable();
                }
                Err(_) => {
                    tracing::warn!("checking a WebSocket key timed out");
                    return unavailable();
                }
            }
        }
        self.key = key;
        self.acknowledged = true;
        self.outbox.control(protocol::ack());
        Flow::Continue
    }

    /// `subscribe`: after the ack, under an id not in flight, within the connection's limit.
    fn on_subscribe(&mut self, id: String, params: crate::http::graphql::Params) -> Flow {
        if !self.acknowledged {
            return Flow::close(code::UNAUTHORIZED, "Unauthorized");
        }
        if self.operations.contains_key(&id) {
            return Flow::close(
                code::SUBSCRIBER_EXISTS,
                format!("Subscriber for {id} already exists"),
            );
        }
        let most = self.state.settings.websocket.max_operations;
        if self.operations.len() >= most {
            let error = crate::graphql::limits::limit_error(
                "TOO_MANY_SUBSCRIPTIONS",
                format!(
                    "this connection has {most} operations in flight, the most allowed: complete \
                     one first"
                ),
                most as u64,
                most as u64 + 1,
            );
            self.outbox.control(protocol::error(&id, json!([error])));
            return Flow::Continue;
        }
        self.generations += 1;
        let generation = self.generations;
        let op = Op {
            state: self.state.clone(),
            key: self.key.clone(),
            address: self.address,
            outbox: self.outbox.clone(),
            id: id.clone(),
        };
        let report = Report {
            finished: self.finished.clone(),
            id: id.clone(),
            generation,
        };
        let task = tokio::spawn(
            async move {
                let _report = report;
                op.run(params).await;
            }
            .instrument(tracing::Span::current()),
        );
        self.operations.insert(
            id,
            Running {
                generation,
                task: task.abort_handle(),
            },
        );
        Flow::Continue
    }
}

/// Tells the connection that an operation's task ended, when dropped: also when the task
/// panicked, so that its id never keeps a place among the connection's operations.
struct Report {
    finished: mpsc::UnboundedSender<(String, u64)>,
    id: String,
    generation: u64,
}

impl Drop for Report {
    fn drop(&mut self) {
        let _ = self
            .finished
            .send((std::mem::take(&mut self.id), self.generation));
    }
}

/// The close of a connection from which nothing arrived for `timeout`.
fn idle(timeout: Duration) -> Flow {
    Flow::close(
        code::GOING_AWAY,
        format!(
            "idle: nothing received for {} ms (answer pings with pongs)",
            timeout.as_millis()
        ),
    )
}

/// The close when the database cannot check a key: retryable.
fn unavailable() -> Flow {
    Flow::close(
        code::TRY_AGAIN_LATER,
        "the service is unavailable: try again later",
    )
}

/// A frame that could not be read: too large (1009), or a broken connection (ended silently).
fn read_failed(error: axum::Error, limit: usize) -> Flow {
    let inner = error.into_inner();
    if let Some(tungstenite::Error::Capacity(_)) = inner.downcast_ref::<tungstenite::Error>() {
        return Flow::close(
            code::MESSAGE_TOO_BIG,
            format!("the message is larger than the most allowed, {limit} bytes"),
        );
    }
    tracing::debug!(error = %inner, "a WebSocket connection failed");
    Flow::End(Ending::Silently)
}
