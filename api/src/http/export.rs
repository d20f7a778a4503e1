//! Bulk export over HTTP, for administrators: `GET /export` (the seed format, what
//! `iuc-graph import` reads) and `GET /export.csv` (the pairings table; also
//! `GET /export?format=csv`). Filters as query parameters, repeated or comma-separated:
//! `pairing`, `theme`, `country`, `programme_region` (see `service::export`).
//!
//! The caller sends an administrator's API key (`Authorization: Bearer …`): without a valid
//! key the answer is 401 `UNAUTHENTICATED`, with a partner's key 403 `FORBIDDEN`. Errors have
//! the shape of GraphQL errors (`{"errors": [{"message", "extensions": {"code"}}]}`) so that
//! clients read one shape.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::auth::RequestAuth;
use crate::error::AppError;
use crate::service::export::{self, ExportFilter};
use crate::state::AppState;

/// The response header with the change feed's cursor at the time of the export.
pub const CHANGES_CURSOR: header::HeaderName = header::HeaderName::from_static("x-changes-cursor");

/// The export routes, merged into the application's router by `http::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/export", get(export_default))
        .route("/export.csv", get(export_csv))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

async fn export_default(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    respond(&state, &headers, &uri, None).await
}

async fn export_csv(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    respond(&state, &headers, &uri, Some(Format::Csv)).await
}

async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    fixed: Option<Format>,
) -> Response {
    match run(state, headers, uri, fixed).await {
        Ok(response) => response,
        Err(error) => error_response(error),
    }
}

async fn run(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    fixed: Option<Format>,
) -> Result<Response, AppError> {
    // Who asks comes first: nothing about the request is looked at for a caller who may not
    // export.
    let principal = RequestAuth::from_headers(headers)
        .require(&state.db)
        .await?;
    principal.require_admin()?;
    let (filter, format) = parse_query(uri, fixed)?;
    let started = std::time::Instant::now();
    // Read before the data: every change after it is in the feed, so a mirror that loads this
    // export and then follows `changes(after:)` from it misses nothing (a change committed
    // while the export ran may come both ways; its version tells).
    let cursor = crate::service::changes::latest(&state.db).await?;
    let (body, content_type, file_name, pairings) = match format {
        Format::Json => {
            let data = export::export(&state.db, &filter)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            (
                export::to_json(&data),
                "application/json",
                "iuc-graph.json",
                data.pairings.len(),
            )
        }
        Format::Csv => {
            let data = export::pairings_table(&state.db, &filter)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
            (
                export::csv_of(&data),
                "text/csv; charset=utf-8; header=present",
                "iuc-graph-pairings.csv",
                data.pairings.len(),
            )
        }
    };
    tracing::info!(
        key = %principal.key_name,
        key_id = principal.key_id,
        ?format,
        filtered = !filter.is_empty(),
        pairings,
        bytes = body.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "export"
    );
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
                    .unwrap_or(HeaderValue::from_static("attachment")),
            ),
            // Administrators' data: not for shared caches.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (CHANGES_CURSOR, HeaderValue::from(cursor)),
        ],
        body,
    )
        .into_response())
}

/// The filter and the format from the query string. Unknown parameters are refused, so that a
/// misspelt filter does not silently export everything.
fn parse_query(uri: &Uri, fixed: Option<Format>) -> Result<(ExportFilter, Format), AppError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| AppError::BadUserInput(format!("malformed query string: {e}")))?;
    let mut filter = ExportFilter::default();
    let mut format = fixed.unwrap_or(Format::Json);
    for (name, value) in pairs {
        let values = value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        match name.as_str() {
            "pairing" => filter.pairings.extend(values),
            "theme" => filter.themes.extend(values),
            "country" => filter
                .countries
                .extend(values.map(|v| v.to_ascii_uppercase())),
            "programme_region" => filter.programme_regions.extend(values),
            "format" if fixed.is_none() => {
                format = match value.as_str() {
                    "json" => Format::Json,
                    "csv" => Format::Csv,
                    other => {
                        return Err(AppError::BadUserInput(format!(
                            "unknown format {other:?}: use `json` or `csv`"
                        )));
                    }
                }
            }
            other => {
                return Err(AppError::BadUserInput(format!(
                    "unknown parameter {other:?}: the filters are `pairing`, `theme`, `country` \
                     and `programme_region`{}",
                    if fixed.is_none() {
                        ", and `format`"
                    } else {
                        ""
                    }
                )));
            }
        }
    }
    filter.check().map_err(AppError::BadUserInput)?;
    Ok((filter, format))
}

/// An error as an HTTP response with a status and a GraphQL-shaped body.
fn error_response(error: AppError) -> Response {
    let status = match error.code() {
        "UNAUTHENTICATED" => StatusCode::UNAUTHORIZED,
        "FORBIDDEN" => StatusCode::FORBIDDEN,
        "BAD_USER_INPUT" => StatusCode::BAD_REQUEST,
        "NOT_FOUND" => StatusCode::NOT_FOUND,
        "CONFLICT" => StatusCode::CONFLICT,
        "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "TIMEOUT" => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let AppError::Internal(detail) = &error {
        tracing::error!(error = %detail, "export failed");
    }
    let message = match error {
        // The shared message speaks of changes; this is a read.
        AppError::Forbidden => "forbidden: exports need an administrator's API key",
        _ => error.message(),
    };
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": error.code() } }]
    });
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6750: say which scheme is expected.
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
