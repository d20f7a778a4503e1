//! GraphQL over WebSocket: `GET /graphql` with a WebSocket upgrade and the subprotocol
//! `graphql-transport-ws`, the protocol of the `graphql-ws` library (its PROTOCOL.md). It
//! carries subscriptions, and queries and mutations too, generic over whatever the schema's
//! subscription root is.
//!
//! - The client sends `connection_init` within `IUC_WS_INIT_TIMEOUT`, optionally with its key
//!   in the payload (`{"Authorization": "Bearer …"}` or `{"authorization": "Bearer …"}`; else
//!   the upgrade request's `Authorization` header counts); the server checks the key and
//!   answers `connection_ack`. Without a key the connection is anonymous (public reads), as
//!   over HTTP.
//! - Each `subscribe` passes the admission of an HTTP operation (`graphql::guard::admit`: the
//!   key again, limits, the rate-limit budget charged per operation, persisted documents). A
//!   refused one gets an `error` message with the GraphQL errors and their codes; the
//!   connection stays. Queries and mutations answer `next` then `complete` within
//!   `IUC_REQUEST_TIMEOUT`.
//! - At most `IUC_WS_MAX_SUBSCRIPTIONS` operations in flight per connection (more: an
//!   `error` with `TOO_MANY_SUBSCRIPTIONS`), at most `IUC_WS_MAX_CONNECTIONS` connections per
//!   server (more: the upgrade is refused with `503`), messages of at most
//!   `IUC_MAX_BODY_BYTES`. The server sends `ping` every `IUC_WS_PING_INTERVAL` and closes a
//!   connection from which nothing (not even `pong`) arrived for `IUC_WS_IDLE_TIMEOUT`; a
//!   client's `ping` gets a `pong`.
//! - Each connection has a bounded send queue (`IUC_WS_SEND_QUEUE` messages): operations
//!   wait for room (a burst is paced by the socket), at most `IUC_WS_SEND_TIMEOUT`; a client
//!   that does not read for that long is closed instead of its messages piling up in memory
//!   (`outbox.rs`).
//! - `complete` from the client drops the operation's stream; closing the socket drops them all.
//!
//! Close codes:
//!
//! | code | reason | when | graphql-ws's client |
//! |---|---|---|---|
//! | 4400 | why the message is invalid | a message that is not valid `graphql-transport-ws` (not JSON, unknown type, missing id, binary), a malformed `authorization` in `connection_init` | fatal |
//! | 4401 | `Unauthorized` | `subscribe` before `connection_ack` | fatal |
//! | 4403 | `Forbidden: …` | an unknown or revoked API key (at `connection_init`, or on a later `subscribe`) | retries |
//! | 4406 | `Subprotocol not acceptable` | the upgrade did not offer `graphql-transport-ws` | fatal |
//! | 4408 | `Connection initialisation timeout` | no `connection_init` within `IUC_WS_INIT_TIMEOUT` | retries |
//! | 4409 | `Subscriber for <id> already exists` | `subscribe` with the id of an operation in flight | fatal |
//! | 4429 | `Too many initialisation requests` | a second `connection_init` | fatal |
//! | 1001 | `idle: …` / `the server is shutting down …` | nothing received for `IUC_WS_IDLE_TIMEOUT`; the server shuts down (SIGTERM) | retries |
//! | 1009 | `the message is larger than …` | a message larger than `IUC_MAX_BODY_BYTES` | fatal |
//! | 1013 | `the client does not read …` / `the service is unavailable …` | the send queue stayed full for `IUC_WS_SEND_TIMEOUT` (slow consumer), or the database could not check the key | retries |
//!
//! The 44xx codes and their reasons are graphql-ws's own (`CloseCode` in its `common.ts`). The
//! others are RFC 6455's; 1013 ("try again later") is one graphql-ws's client does not treat as
//! fatal (`isFatalInternalCloseCode`), so a slow consumer reconnects (and can resume from its
//! last cursor) rather than giving up.
//!
//! Why not async-graphql's `http::WebSocket`: it cannot cap the operations of a connection,
//! bound what waits to be sent to a client that does not read, nor close with these codes, and
//! it would bypass the admission (limits, rate-limit budget, persisted documents) every
//! operation passes over HTTP.

mod connection;
mod operation;
mod outbox;
mod protocol;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{FromRequestParts, Request, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::metrics::Metrics;
use crate::state::AppState;

/// Bytes each WebSocket connection buffers for reading, and for writing before it sends.
const SOCKET_BUFFER: usize = 4 * 1024;

/// The subprotocol spoken.
pub const PROTOCOL: &str = "graphql-transport-ws";

/// Whether a request asks for a WebSocket upgrade (the rest of `GET /graphql` stays HTTP).
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"))
}

/// Answers a WebSocket upgrade on `/graphql`: `503` when the server has its most connections,
/// else the upgrade (with the subprotocol when the client offered it; without, the connection
/// is closed with 4406 once open, as graphql-ws servers do).
pub async fn upgrade(state: AppState, request: Request) -> Response {
    let (mut parts, _body) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &state).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(permit) = state.websockets.clone().try_acquire_owned() else {
        tracing::warn!("a WebSocket upgrade was refused: IUC_WS_MAX_CONNECTIONS are open");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            "this server has as many WebSocket connections open as it allows; try again later",
        )
            .into_response();
    };
    let client = connection::Client {
        header_key: crate::auth::bearer(&parts.headers),
        address: crate::client_addr::client(
            &state.settings.trusted_proxies,
            &parts.headers,
            &parts.extensions,
        ),
        accepted: false,
    };
    let limit = state.settings.max_body_bytes;
    // Small socket buffers: tungstenite's default is 128 KiB each way per connection, which
    // made an idle subscriber cost 183 KB of the server's memory (the load benchmark's feed
    // mode, 1,000 subscribers). Our messages are small; a larger one is read in more turns.
    let upgrade = upgrade
        .protocols([PROTOCOL])
        .max_message_size(limit)
        .max_frame_size(limit)
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_write_buffer_size(limit.saturating_mul(2).max(SOCKET_BUFFER + 1));
    let client = connection::Client {
        accepted: upgrade.selected_protocol().is_some(),
        ..client
    };
    // The connection outlives the request; its log lines keep the request's span (id, client).
    let span = tracing::Span::current();
    upgrade
        .on_failed_upgrade(|error| tracing::debug!(%error, "a WebSocket upgrade failed"))
        .on_upgrade(move |socket| connection::serve(socket, state, client, permit).instrument(span))
}

/// A gauge of the metrics, up while this value lives (also when its task is aborted).
struct Gauge {
    metrics: Arc<Metrics>,
    which: fn(&Metrics) -> &AtomicU64,
}

impl Gauge {
    fn up(metrics: &Arc<Metrics>, which: fn(&Metrics) -> &AtomicU64) -> Self {
        which(metrics).fetch_add(1, Ordering::Relaxed);
        Self {
            metrics: metrics.clone(),
            which,
        }
    }
}

impl Drop for Gauge {
    fn drop(&mut self) {
        (self.which)(&self.metrics).fetch_sub(1, Ordering::Relaxed);
    }
}
