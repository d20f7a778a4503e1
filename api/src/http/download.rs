//! Public downloads over HTTP, anonymous and cacheable, streamed (`service::download`):
//!
//! | path                     | content                                                  |
//! |--------------------------|----------------------------------------------------------|
//! | `/data/dataset.json`     | the dataset in the seed format (`iuc-graph import` reads it) |
//! | `/data/pairings.csv`     | the pairings table                                       |
//! | `/data/places.geojson`   | cities and regions with coordinates, as points           |
//! | `/data/pairings.geojson` | pairings as lines between their participants             |
//!
//! Filters as query parameters, repeated or comma-separated: `pairing`, `theme`, `country`,
//! `programme-region` (also spelt `programme_region`). Unknown parameters and values that name
//! nothing are answered 400 with a GraphQL-shaped error that says what is wrong.
//!
//! **Caching.** The `ETag` is strong: a hash of the data's state (`download::state`: the change
//! feed's position and the highest ids of the main tables, one small statement), the download
//! and its filter; the same data gives the same bytes. A request whose `If-None-Match` matches
//! costs that one statement and gets a 304. `Cache-Control: public, max-age=300`: a shared
//! cache may serve a copy for five minutes, then revalidates.
//!
//! Everything the seed format holds is public (the GraphQL API serves all of it, editorial
//! notes and sources included; API keys and the audit trail are not in the format), so the
//! former administrators' export, `/export` and `/export.csv`, are aliases of the dataset and
//! the CSV, without a key.

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::Semaphore;

use crate::error::AppError;
use crate::service::download::{self, Download};
use crate::service::export::ExportFilter;
use crate::state::AppState;

/// The response header with the change feed's cursor at the time of the download: a mirror
/// loads the dataset, then follows `changes(after:)` from it.
pub const CHANGES_CURSOR: header::HeaderName = header::HeaderName::from_static("x-changes-cursor");

/// How long a shared cache may serve a download without asking again.
const CACHE_CONTROL: &str = "public, max-age=300";

/// Bumped when what a download writes changes for the same data, so that cached copies in the
/// old form are not revalidated.
const LAYOUT: &str = "1";

/// Downloads streaming at once through one router (one per server). Each holds a database
/// connection and a read transaction while its client reads, so a few slow clients could
/// otherwise take the pool (4 connections on SQLite) from GraphQL; 304s need no permit.
const CONCURRENT: usize = 2;

/// The download routes, merged into the application's router by `http::routes`.
pub fn routes() -> Router<AppState> {
    let streaming = Arc::new(Semaphore::new(CONCURRENT));
    let route = |download: Download, format_parameter: bool| {
        let streaming = streaming.clone();
        get(
            move |State(state): State<AppState>, headers: HeaderMap, uri: Uri| async move {
                let request = Request {
                    state: &state,
                    headers: &headers,
                    uri: &uri,
                    streaming: &streaming,
                };
                respond(request, download, format_parameter).await
            },
        )
    };
    Router::new()
        .route("/data/dataset.json", route(Download::Dataset, false))
        .route("/data/pairings.csv", route(Download::PairingsCsv, false))
        .route(
            "/data/places.geojson",
            route(Download::PlacesGeoJson, false),
        )
        .route(
            "/data/pairings.geojson",
            route(Download::PairingsGeoJson, false),
        )
        // `/export` takes `format=csv` too, as it did.
        .route("/export", route(Download::Dataset, true))
        .route("/export.csv", route(Download::PairingsCsv, false))
}

/// What a download's handling needs of the request and the router.
struct Request<'a> {
    state: &'a AppState,
    headers: &'a HeaderMap,
    uri: &'a Uri,
    streaming: &'a Arc<Semaphore>,
}

async fn respond(request: Request<'_>, download: Download, format_parameter: bool) -> Response {
    match run(request, download, format_parameter).await {
        Ok(response) => response,
        Err(error) => error_response(error),
    }
}

async fn run(
    request: Request<'_>,
    download: Download,
    format_parameter: bool,
) -> Result<Response, AppError> {
    let Request {
        state,
        headers,
        uri,
        streaming,
    } = request;
    let (filter, download) = parse_query(uri, download, format_parameter)?;
    let internal = |e: sea_orm::DbErr| AppError::Internal(e.to_string());
    // Revalidation first: one statement, no snapshot.
    if let Some(tags) = headers.get(header::IF_NONE_MATCH) {
        let state_now = download::state(&state.db).await.map_err(internal)?;
        let tag = etag(&state_now, download, &filter);
        if matches(tags, &tag) {
            return Ok(not_modified(&tag));
        }
    }
    let Ok(permit) = streaming.clone().try_acquire_owned() else {
        return Ok(busy());
    };
    let (txn, data_state) = download::open(&state.db).await.map_err(internal)?;
    let unknown = download::unknown_values(&txn, &filter)
        .await
        .map_err(internal)?;
    if !unknown.is_empty() {
        let what: Vec<String> = unknown
            .iter()
            .map(|(name, values)| format!("`{name}`: {}", values.join(", ")))
            .collect();
        return Err(AppError::BadUserInput(format!(
            "no such {}",
            what.join("; ")
        )));
    }
    let tag = etag(&data_state, download, &filter);
    let chunks = download::start(txn, filter, download);
    // The permit goes with the stream: it is given back when the body ends or is dropped.
    // Fused: the compression layer polls a body once more after its end, and an `unfold`
    // polled after it has ended panics (the answer was cut short).
    let body = Body::from_stream(
        futures_util::stream::unfold((chunks, permit), |(mut rx, permit)| async move {
            rx.recv()
                .await
                .map(|chunk| (chunk.map(axum::body::Bytes::from), (rx, permit)))
        })
        .fuse(),
    );
    let (content_type, file_name) = match download {
        Download::Dataset => ("application/json", "iuc-graph.json"),
        Download::PairingsCsv => (
            "text/csv; charset=utf-8; header=present",
            "iuc-graph-pairings.csv",
        ),
        Download::PlacesGeoJson => ("application/geo+json", "iuc-graph-places.geojson"),
        Download::PairingsGeoJson => ("application/geo+json", "iuc-graph-pairings.geojson"),
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The dataset and the table are files to save; GeoJSON is for maps to load.
    let disposition = match download {
        Download::Dataset | Download::PairingsCsv => "attachment",
        Download::PlacesGeoJson | Download::PairingsGeoJson => "inline",
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{disposition}; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, value);
    }
    insert_cache_headers(h, &tag);
    h.insert(
        CHANGES_CURSOR,
        HeaderValue::from(download::cursor_of(&data_state)),
    );
    Ok(response)
}

fn insert_cache_headers(h: &mut HeaderMap, tag: &str) {
    if let Ok(value) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, value);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
}

/// 503 while `CONCURRENT` downloads stream: the client retries (or a cache serves it).
fn busy() -> Response {
    let body = serde_json::json!({ "errors": [{
        "message": "too many downloads in progress on this server: try again in a few seconds",
        "extensions": { "code": "SERVICE_UNAVAILABLE" },
    }] });
    let mut response = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn not_modified(tag: &str) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    insert_cache_headers(response.headers_mut(), tag);
    response
}

/// A strong `ETag`: the download, and a hash of the layout, the data's state and the filter
/// (its values sorted: the same set of values gives the same bytes).
fn etag(state: &str, download: Download, filter: &ExportFilter) -> String {
    let mut hash = Sha256::new();
    let sorted = |values: &Vec<String>| {
        let mut v = values.clone();
        v.sort();
        v.dedup();
        v.join(",")
    };
    hash.update(format!(
        "{LAYOUT}\n{state}\n{}\n{}\n{}\n{}\n{}",
        download.name(),
        sorted(&filter.pairings),
        sorted(&filter.themes),
        sorted(&filter.countries),
        sorted(&filter.programme_regions),
    ));
    let digest = hex::encode(hash.finalize());
    format!("\"{}-{}\"", download.name(), &digest[..32])
}

/// Whether `If-None-Match` names `tag` (weak comparison, as RFC 9110 asks for it; `*` matches
/// any current representation).
fn matches(header: &HeaderValue, tag: &str) -> bool {
    let Ok(text) = header.to_str() else {
        return false;
    };
    text.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == tag
    })
}

/// The filter from the query string, and the download (`/export` takes `format`). Unknown
/// parameters are refused, so that a misspelt filter does not silently give everything.
fn parse_query(
    uri: &Uri,
    download: Download,
    format_parameter: bool,
) -> Result<(ExportFilter, Download), AppError> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| AppError::BadUserInput(format!("the query string cannot be read: {e}")))?;
    let mut filter = ExportFilter::default();
    let mut download = download;
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
            "programme-region" | "programme_region" => filter.programme_regions.extend(values),
            "format" if format_parameter => {
                download = match value.as_str() {
                    "json" => Download::Dataset,
                    "csv" => Download::PairingsCsv,
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
                     and `programme-region`{}",
                    if format_parameter {
                        ", and `format`"
                    } else {
                        ""
                    }
                )));
            }
        }
    }
    filter.check().map_err(AppError::BadUserInput)?;
    Ok((filter, download))
}

/// An error as an HTTP response with a status and a GraphQL-shaped body.
fn error_response(error: AppError) -> Response {
    let status = match error.code() {
        "BAD_USER_INPUT" => StatusCode::BAD_REQUEST,
        "SERVICE_UNAVAILABLE" => StatusCode::SERVICE_UNAVAILABLE,
        "TIMEOUT" => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    if let AppError::Internal(detail) = &error {
        tracing::error!(error = %detail, "download failed");
    }
    let body = serde_json::json!({
        "errors": [{ "message": error.message(), "extensions": { "code": error.code() } }]
    });
    (status, axum::Json(body)).into_response()
}
