//! The HTTP surface: GraphQL on `/graphql` (POST, and GET for queries), GraphiQL for browsers
//! on `GET /graphql`, its assets under `/graphiql/`, served from the binary so that it works
//! without internet access.

mod compression;
mod download;
mod graphiql;
mod graphql;
mod ws;

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;

pub use graphql::{MediaType, negotiate};

use crate::client_addr::{self, ClientAddr};
use crate::state::AppState;

/// The request id header: accepted from the client (or a proxy) when sane, generated otherwise,
/// returned on every response and recorded in the request's span.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The application's router. Tests drive it directly with `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    guarded(routes(), state)
}

/// Every route of the application, without the layers every request passes through.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql::post))
        .route("/graphiql/{asset}", get(graphiql::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(download::routes())
}

/// `routes` with the layers every request passes through: a panic becomes a masked `500`,
/// compression (`compression.rs`), the request's span and id, CORS.
pub fn guarded(routes: Router<AppState>, state: AppState) -> Router {
    let cors = cors(&state.settings.cors_origins);
    let counters = state.metrics.clone();
    // Inside the request's span, so that the panic's log line carries the request id.
    let routes = routes.layer(CatchPanicLayer::custom(move |panic| {
        panicked(&counters, panic)
    }));
    let router = compression::layer(routes)
        .layer(middleware::from_fn_with_state(state.clone(), request_span))
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// The answer to a request whose handling panicked: a masked `500` (the panic's text goes to
/// the log, not to the client), counted in the metrics. The process keeps serving: the panic
/// ended only this request's task.
fn panicked(metrics: &crate::metrics::Metrics, panic: Box<dyn std::any::Any + Send>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    tracing::error!(panic = detail, "a request's handling panicked");
    metrics
        .panics
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let body = serde_json::json!({ "errors": [{
        "message": "internal error: the server could not complete the request",
        "extensions": { "code": "INTERNAL_SERVER_ERROR" },
    }] });
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// CORS for the configured origins (`*`: any); none configured: no CORS headers at all.
fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::ACCEPT,
                header::IF_NONE_MATCH,
                REQUEST_ID,
            ])
            .expose_headers([header::ETAG, header::RETRY_AFTER, REQUEST_ID])
            .max_age(Duration::from_secs(3600)),
    )
}

/// A request id from the client when it is short and printable, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    if let Some(id) = headers
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
    {
        return id.to_owned();
    }
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    // Unique per process (a counter) and across restarts (the clock); not a secret.
    format!("{:016x}{:08x}", nanos, (n as u32) ^ std::process::id())
}

/// One span per HTTP request (method, path, request id, the client's address, and the
/// GraphQL operation name once known), the request id on the response, and one log line per
/// request. The client's address (`client_addr.rs`) is stored in the request for the handlers.
async fn request_span(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let id = request_id(request.headers());
    let client = client_addr::client(
        &state.settings.trusted_proxies,
        request.headers(),
        request.extensions(),
    );
    request.extensions_mut().insert(ClientAddr(client));
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
        client = tracing::field::Empty,
        operation = tracing::field::Empty,
    );
    if let Some(client) = client {
        span.record("client", tracing::field::display(client));
    }
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            latency_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request done"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// A WebSocket upgrade is GraphQL over WebSocket (`ws.rs`); a browser asking for a page (and
/// sending no query) gets GraphiQL; anything else is a GraphQL request over GET.
async fn graphql_get(State(state): State<AppState>, request: Request) -> Response {
    if ws::is_upgrade(request.headers()) {
        return ws::upgrade(state, request).await;
    }
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let has_query = request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p.starts_with("query=") || p.starts_with("extensions="))
    });
    if wants_html && !has_query {
        if state.settings.graphiql {
            return graphiql::page();
        }
        return (
            StatusCode::NOT_FOUND,
            "GraphiQL is switched off on this server (IUC_GRAPHIQL=false)",
        )
            .into_response();
    }
    graphql::get(State(state), request).await
}

/// Ready when the database answers and every migration is applied; 503 with the reason in our
/// words otherwise (the driver's error text goes to the log: it can name hosts, users and
/// databases). Load balancers route to ready instances only.
async fn readyz(State(state): State<AppState>) -> Response {
    match crate::db::readiness(&state.db).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(reason) => {
            let public = reason.public();
            tracing::warn!(reason = %public, detail = %reason.detail(), "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {public}"),
            )
                .into_response()
        }
    }
}

/// Prometheus text exposition of the server's metrics (`metrics.rs`).
async fn metrics(State(state): State<AppState>) -> Response {
    let body = state.metrics.render(&state.statements, &state.db);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
