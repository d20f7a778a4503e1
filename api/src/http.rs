//! The HTTP surface: GraphQL on `/graphql` (POST, and GET for queries), GraphiQL for browsers
//! on `GET /graphql`, its assets under `/graphiql/`, served from the binary so that it works
//! without internet access.

use async_graphql::BatchRequest;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::trace::TraceLayer;

use crate::auth::RequestAuth;
use crate::graphql;
use crate::state::AppState;

/// The application's router. Tests drive it directly with `tower::ServiceExt::oneshot`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphiql/{asset}", get(graphiql_asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .merge(crate::export_http::routes())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLBatchRequest,
) -> GraphQLResponse {
    execute(&state, &headers, request.into_inner()).await
}

/// A browser asking for a page (and sending no query) gets GraphiQL; anything else is a
/// GraphQL request over GET.
async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    let has_query = uri.query().is_some_and(|q| {
        q.split('&')
            .any(|p| p.starts_with("query=") || p.starts_with("extensions="))
    });
    if wants_html && !has_query {
        if state.graphiql {
            return Html(GRAPHIQL_PAGE).into_response();
        }
        return (
            StatusCode::NOT_FOUND,
            "GraphiQL is switched off on this server (IUC_GRAPHIQL=false)",
        )
            .into_response();
    }
    let request = match uri.query() {
        Some(query) => async_graphql::http::parse_query_string(query),
        None => Err(async_graphql::ParseRequestError::InvalidRequest(
            "a GET request needs a `query` parameter".into(),
        )),
    };
    match request {
        Ok(request) => execute(&state, &headers, BatchRequest::Single(request))
            .await
            .into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn execute(state: &AppState, headers: &HeaderMap, request: BatchRequest) -> GraphQLResponse {
    let operations = match &request {
        BatchRequest::Single(_) => 1,
        BatchRequest::Batch(rs) => rs.len() as u64,
    };
    state
        .operations
        .fetch_add(operations, std::sync::atomic::Ordering::Relaxed);
    // The key is looked up only if a resolver asks who is calling, once for the whole batch.
    let auth = std::sync::Arc::new(RequestAuth::from_headers(headers));
    let request = match request {
        BatchRequest::Single(r) => {
            BatchRequest::Single(graphql::prepare(r, &state.db, auth.clone()))
        }
        BatchRequest::Batch(rs) => BatchRequest::Batch(
            rs.into_iter()
                .map(|r| graphql::prepare(r, &state.db, auth.clone()))
                .collect(),
        ),
    };
    state.schema.execute_batch(request).await.into()
}

const GRAPHIQL_PAGE: &str = include_str!("../assets/graphiql.html");

async fn graphiql_asset(axum::extract::Path(asset): axum::extract::Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match asset.as_str() {
        "graphiql.min.js" => (
            include_bytes!("../assets/graphiql/graphiql.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "graphiql.min.css" => (
            include_bytes!("../assets/graphiql/graphiql.min.css"),
            "text/css; charset=utf-8",
        ),
        "react.production.min.js" => (
            include_bytes!("../assets/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../assets/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            ),
            // The asset names carry no version, so caches revalidate daily rather than forever.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        body,
    )
        .into_response()
}

/// Prometheus text exposition of the server's counters.
async fn metrics(State(state): State<AppState>) -> Response {
    let operations = state.operations.load(std::sync::atomic::Ordering::Relaxed);
    let body = format!(
        "# HELP iuc_graphql_operations_total GraphQL operations executed.\n\
         # TYPE iuc_graphql_operations_total counter\n\
         iuc_graphql_operations_total {operations}\n\
         # HELP iuc_sql_statements_total SQL statements run on the database pool.\n\
         # TYPE iuc_sql_statements_total counter\n\
         iuc_sql_statements_total {}\n",
        state.statements.get()
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
