//! GraphQL over HTTP, after the GraphQL-over-HTTP specification
//! (<https://graphql.github.io/graphql-over-http/draft/>), checked by the `graphql-http` audit
//! in CI (`.ci/graphql-http/`).
//!
//! - `POST` with `Content-Type: application/json` (a request object, or an array of at most
//!   `IUC_MAX_BATCH` of them); `GET` with URL parameters, for queries only: a mutation over GET
//!   is refused with `405` and `Allow: POST`.
//! - The response is `application/graphql-response+json` when the client accepts it, else
//!   `application/json` (also for `*/*` and when `Accept` is missing); `406` when the client
//!   accepts neither.
//! - Status codes: `200` for every GraphQL response under `application/json`; under
//!   `application/graphql-response+json`, `400` when the request failed before execution
//!   (parse, validation, variables, a query limit). Malformed HTTP requests get `400`
//!   (`413` when too large, `415` for another content type) under both. `429` with
//!   `Retry-After` when the rate limit refuses, `504` on the request timeout, `503` when the
//!   database is unavailable and no data could be returned.
//! - A request error's response has no `data` entry.
//! - Persisted documents (`persisted.rs`): APQ hashes in `extensions.persistedQuery`, and the
//!   trusted-documents mode.
//! - Successful anonymous GET queries are cacheable (`Cache-Control: public, max-age`), every
//!   successful GET gets an `ETag` and `304 Not Modified` on a matching `If-None-Match`.
//! - The client may ask for the operation's cost with `extensions: {"cost": true}`; the
//!   response's `extensions.cost` then holds `{"requested": …, "limit": …}`.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::Variables;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::RequestAuth;
use crate::graphql::guard::{Gate, Refusal, admit};
use crate::graphql::limits::{Analysis, limit_error};
use crate::graphql::prescan::json_nesting;
use crate::metrics::{Outcome, RequestScope};
use crate::persisted::sha256;
use crate::ratelimit::{CallerBudget, caller};
use crate::state::AppState;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
const APPLICATION_JSON: &str = "application/json; charset=utf-8";

/// The media type of the response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    /// `application/json`: 200 for every GraphQL response.
    Json,
    /// `application/graphql-response+json`: 4xx for request errors.
    GraphqlResponse,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => APPLICATION_JSON,
            MediaType::GraphqlResponse => GRAPHQL_RESPONSE_JSON,
        }
    }
}

/// The media type to answer with, from `Accept`; `None` when the client accepts neither
/// (406). A missing `Accept` means `application/json`.
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if accept.iter().all(|a| a.trim().is_empty()) {
        return Some(MediaType::Json);
    }
    let mut ranges: Vec<(f32, MediaType)> = Vec::new();
    for range in accept.iter().flat_map(|a| a.split(',')) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .filter_map(|q| q.trim().parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        let media_type = match media.as_str() {
            "application/graphql-response+json" => MediaType::GraphqlResponse,
            "application/json" | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 {
            ranges.push((q, media_type));
        }
    }
    // Highest quality first; among equals, the order the client listed them.
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranges.first().map(|(_, m)| *m)
}

/// A GraphQL error response body with one error.
fn error_body(code: &str, message: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

/// A response that ends the request before any operation runs.
fn reject(status: StatusCode, media: MediaType, code: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, media.content_type())],
        error_body(code, message).to_string(),
    )
        .into_response()
}

/// The parameters of one GraphQL request, checked for their types.
pub(super) struct Params {
    pub(super) query: Option<String>,
    operation_name: Option<String>,
    variables: Map<String, Value>,
    extensions: Map<String, Value>,
}

/// Reads a request object; the error says which parameter is wrong.
pub(super) fn params(object: &Value) -> Result<Params, String> {
    let Value::Object(object) = object else {
        return Err("a GraphQL request is a JSON object".into());
    };
    let string = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{name}` must be a string")),
    };
    let map = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(format!("`{name}` must be an object")),
    };
    let params = Params {
        query: string("query")?,
        operation_name: string("operationName")?,
        variables: map("variables")?,
        extensions: map("extensions")?,
    };
    if params.query.is_none() && !params.extensions.contains_key("persistedQuery") {
        return Err("the request has no `query` (nor a persisted query's hash)".into());
    }
    Ok(params)
}

/// The refusal of JSON nested deeper than the limit.
fn json_too_deep(nesting: usize, limit: usize) -> HttpRefusal {
    HttpRefusal {
        figures: Some((limit as u64, nesting as u64)),
        ..HttpRefusal::new(
            StatusCode::BAD_REQUEST,
            "NESTING_TOO_DEEP",
            format!("the request's JSON nests {nesting} levels deep; the most allowed is {limit}"),
        )
    }
}

/// Reads the URL parameters of a GET request into a request object; `variables` and
/// `extensions` may nest `max_nesting` levels.
fn get_params(uri: &axum::http::Uri, max_nesting: usize) -> Result<Value, String> {
    let pairs: Vec<(String, String)> = match uri.query() {
        Some(q) => {
            serde_urlencoded::from_str(q).map_err(|e| format!("malformed URL parameters: {e}"))?
        }
        None => Vec::new(),
    };
    let mut object = Map::new();
    for (key, value) in pairs {
        let value = match key.as_str() {
            "variables" | "extensions" => {
                let nesting = json_nesting(value.as_bytes());
                if nesting > max_nesting {
                    return Err(format!(
                        "`{key}` nests {nesting} levels deep; the most allowed is {max_nesting}"
                    ));
                }
                crate::json::from_str(&value).map_err(|e| format!("`{key}` is not JSON: {e}"))?
            }
            _ => Value::String(value),
        };
        object.insert(key, value);
    }
    Ok(Value::Object(object))
}

/// Why a document could not be found or is not allowed (a request error of that operation).
struct DocumentError {
    code: &'static str,
    message: String,
}

/// The document to run: the query text, or the one persisted under the APQ hash; in the
/// trusted-documents mode, only a listed one.
fn resolve_document(state: &AppState, params: &Params) -> Result<String, DocumentError> {
    let hash = params
        .extensions
        .get("persistedQuery")
        .and_then(|p| p.get("sha256Hash"))
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let trusted = state.settings.trusted_documents.as_deref();
    match (&params.query, hash) {
        (Some(query), Some(hash)) => {
            if sha256(query) != hash {
                return Err(DocumentError {
                    code: "PERSISTED_QUERY_HASH_MISMATCH",
                    message: "the query's SHA-256 is not `extensions.persistedQuery.sha256Hash`"
                        .into(),
                });
            }
            if let Some(trusted) = trusted {
                if !trusted.contains(&hash) {
                    return Err(not_trusted());
                }
            } else {
                state.apq.insert(hash, query.clone());
            }
            Ok(query.clone())
        }
        (Some(query), None) => match trusted {
            Some(trusted) if !trusted.contains(&sha256(query)) => Err(not_trusted()),
            _ => Ok(query.clone()),
        },
        (None, Some(hash)) => {
            let found = match trusted {
                Some(trusted) => trusted.get(&hash).cloned(),
                None => state.apq.get(&hash),
            };
            found.ok_or(DocumentError {
                code: "PERSISTED_QUERY_NOT_FOUND",
                // Apollo clients recognise this message and send the full query.
                message: "PersistedQueryNotFound".into(),
            })
        }
        (None, None) => Err(DocumentError {
            code: "BAD_REQUEST",
            message: "the request has no `query`".into(),
        }),
    }
}

fn not_trusted() -> DocumentError {
    DocumentError {
        code: "OPERATION_NOT_TRUSTED",
        message: "this server runs only registered operations (trusted documents); this one is \
                  not registered"
            .into(),
    }
}

impl Operation {
    /// The operation's name for metrics (empty when it has none).
    fn name(&self) -> String {
        match self {
            Operation::Run { name, .. } | Operation::Failed { name, .. } => {
                name.clone().unwrap_or_default()
            }
        }
    }
}

/// One operation of the request, ready to run or already answered.
pub(super) enum Operation {
    Run {
        request: Box<async_graphql::Request>,
        analysis: Option<Analysis>,
        report_cost: bool,
        name: Option<String>,
    },
    Failed {
        body: String,
        name: Option<String>,
        refusal: Option<Refusal>,
    },
}

/// What came of one operation.
pub(super) struct Answer {
    /// The operation's response, as JSON text.
    pub(super) body: String,
    pub(super) name: String,
    pub(super) outcome: Outcome,
    /// Ran (a GraphQL response) rather than a request error.
    pub(super) executed: bool,
    refusal: Option<Refusal>,
    unavailable: bool,
}

/// `GET /graphql` with a query (GraphiQL is answered before this).
pub async fn get(State(state): State<AppState>, request: Request) -> Response {
    handle(state, request).await
}

/// `POST /graphql`.
pub async fn post(State(state): State<AppState>, request: Request) -> Response {
    handle(state, request).await
}

/// Answers one GraphQL HTTP request. Everything from reading the body to writing the answer
/// runs inside the request timeout, so no phase (a slow body, a costly document, execution)
/// holds a worker past it.
async fn handle(state: AppState, request: Request) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let Some(media) = negotiate(&parts.headers) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "this endpoint answers application/graphql-response+json or application/json",
        )
            .into_response();
    };
    let mut progress = Progress::default();
    let timeout = state.settings.request_timeout;
    let answered =
        tokio::time::timeout(timeout, respond(&state, &parts, body, media, &mut progress)).await;
    match answered {
        Ok(response) => response,
        Err(_) => timed_out(&state, media, &progress, started),
    }
}

/// What a request has got to, for the metrics of a request that times out.
#[derive(Default)]
struct Progress {
    /// The operations' names, once the request objects are read.
    names: Vec<String>,
    batched: bool,
    /// The request's SQL statements, once it runs.
    scope: Option<Arc<RequestScope>>,
    /// Who sent it, for the metrics' operation labels.
    sender: crate::metrics::Sender,
}

/// The `504` of a request cut by the timeout, with its metrics.
fn timed_out(
    state: &AppState,
    media: MediaType,
    progress: &Progress,
    started: Instant,
) -> Response {
    for name in &progress.names {
        state
            .metrics
            .operation(name, Outcome::Timeout, progress.sender);
    }
    let label = match (&progress.names[..], progress.batched) {
        ([one], false) => one.as_str(),
        _ => "batch",
    };
    let statements = progress.scope.as_ref().map_or(0, |scope| {
        scope.statements.load(std::sync::atomic::Ordering::Relaxed)
    });
    state
        .metrics
        .request(label, started.elapsed().as_secs_f64(), statements);
    tracing::warn!(
        timeout_s = state.settings.request_timeout.as_secs(),
        "request timed out"
    );
    reject(
        StatusCode::GATEWAY_TIMEOUT,
        media,
        "TIMEOUT",
        &format!(
            "the request took longer than {} s and was cancelled",
            state.settings.request_timeout.as_secs()
        ),
    )
}

/// The phases of a request: its objects, its caller, admission, execution, metrics, the
/// HTTP answer.
async fn respond(
    state: &AppState,
    parts: &Parts,
    body: Body,
    media: MediaType,
    progress: &mut Progress,
) -> Response {
    let started = Instant::now();
    let is_get = parts.method == Method::GET;
    let (checked, batched) = match request_params(state, parts, body).await {
        Ok(read) => read,
        Err(refusal) => return refusal.respond(media),
    };
    progress.batched = batched;
    let scope = RequestScope::new(state.metrics.clone());
    progress.scope = Some(scope.clone());
    let auth = Arc::new(RequestAuth::from_headers(&parts.headers));
    let principal = if auth.has_secret() {
        RequestScope::run(scope.clone(), auth.require(&state.db))
            .await
            .ok()
    } else {
        None
    };
    let address = crate::client_addr::client(
        &state.settings.trusted_proxies,
        &parts.headers,
        &parts.extensions,
    );
    let caller = caller(principal.as_ref(), address);
    let caller_kind = caller.kind();
    let sender = crate::metrics::Sender::from(&caller);
    progress.sender = sender;
    let sender = crate::metrics::Sender::from(&caller);
    let budget = CallerBudget {
        limiter: state.limiter.clone(),
        caller,
    };
    let operations = admit_all(state, checked, is_get, &budget);
    progress.names = operations.iter().map(Operation::name).collect();
    let answers = {
        // Waiting for a turn counts towards the timeout.
        let _turn = match &state.executions {
            Some(turns) => turns.acquire().await.ok(),
            None => None,
        };
        RequestScope::run(scope.clone(), run(state, &auth, operations)).await
    };
    let statements = scope.statements.load(std::sync::atomic::Ordering::Relaxed);
    record(
        state,
        &answers,
        batched,
        (caller_kind, sender),
        started,
        statements,
    );
    finish(state, parts, media, answers, batched)
}

/// The request objects of a GET or POST, checked for their types; and whether they came as a
/// batch.
async fn request_params(
    state: &AppState,
    parts: &Parts,
    body: Body,
) -> Result<(Vec<Params>, bool), HttpRefusal> {
    let (objects, batched) = if parts.method == Method::GET {
        let object = get_params(&parts.uri, state.settings.limits.max_nesting)
            .map_err(HttpRefusal::bad_request)?;
        (vec![object], false)
    } else {
        read_post(state, &parts.headers, body).await?
    };
    let checked = objects.iter().map(params).collect::<Result<Vec<_>, _>>();
    Ok((checked.map_err(HttpRefusal::bad_request)?, batched))
}

/// Admits each operation of the request (`guard::admit`), in order: each is charged to the
/// caller's budget on its own, so in a batch the first ones may run and the later ones be
/// refused by the rate limit.
fn admit_all(
    state: &AppState,
    checked: Vec<Params>,
    is_get: bool,
    budget: &CallerBudget,
) -> Vec<Operation> {
    let gate = Gate {
        types: &state.types,
        limits: &state.settings.limits,
        over_get: is_get,
        budget: Some(budget),
        documents: &state.documents,
        inputs: &state.settings.inputs,
    };
    checked
        .into_iter()
        .map(|p| admit_one(state, &gate, p))
        .collect()
}

/// Admits one operation (`guard::admit`) after finding its document (persisted or sent).
pub(super) fn admit_one(state: &AppState, gate: &Gate<'_>, p: Params) -> Operation {
    let name = p.operation_name.clone();
    let query = match resolve_document(state, &p) {
        Ok(query) => query,
        Err(e) => {
            return Operation::Failed {
                body: error_body(e.code, &e.message).to_string(),
                name,
                refusal: None,
            };
        }
    };
    let variables = Variables::from_json(Value::Object(p.variables));
    match admit(gate, &query, p.operation_name.as_deref(), &variables) {
        Err(rejection) => {
            let (refusal, error) = *rejection;
            Operation::Failed {
                body: json!({ "errors": [error] }).to_string(),
                name: name.or_else(|| document_name(&query)),
                refusal: Some(refusal),
            }
        }
        Ok(admitted) => {
            let analysed_name = admitted
                .analysis
                .as_ref()
                .and_then(|a| a.operation_name.clone());
            if let Some(name) = &analysed_name {
                tracing::Span::current().record("operation", name.as_str());
            }
            let mut request = async_graphql::Request::new(query).variables(variables);
            request.operation_name = p.operation_name;
            request.set_parsed_query(admitted.document);
            Operation::Run {
                request: Box::new(request),
                report_cost: p.extensions.get("cost") == Some(&Value::Bool(true)),
                name: analysed_name.or(name),
                analysis: admitted.analysis,
            }
        }
    }
}

/// Counts each operation with its outcome, and the request's latency and statements.
fn record(
    state: &AppState,
    answers: &[Answer],
    batched: bool,
    (caller_kind, sender): (&'static str, crate::metrics::Sender),
    started: Instant,
    statements: u64,
) {
    for answer in answers {
        state
            .metrics
            .operation(&answer.name, answer.outcome, sender);
        if answer.outcome == Outcome::RateLimited {
            state.metrics.rate_limited(caller_kind);
        }
    }
    // The span's `operation`: a single operation's name is recorded once its document is
    // parsed (the name may come from the document); a batch says so.
    let label = match (answers, batched) {
        ([one], false) => one.name.as_str(),
        _ => {
            tracing::Span::current().record("operation", "batch");
            "batch"
        }
    };
    state
        .metrics
        .request(label, started.elapsed().as_secs_f64(), statements);
}

/// The HTTP status of the answers. A rate-limit refusal makes the response `429` only when
/// no operation of it ran: an operation that ran is never reported as refused.
fn status_of(answers: &[Answer], batched: bool, media: MediaType) -> StatusCode {
    let rate_limited = |a: &Answer| matches!(a.refusal, Some(Refusal::RateLimited { .. }));
    if !answers.is_empty() && answers.iter().all(rate_limited) {
        StatusCode::TOO_MANY_REQUESTS
    } else if !batched
        && answers
            .first()
            .is_some_and(|a| a.refusal == Some(Refusal::MutationOverGet))
    {
        StatusCode::METHOD_NOT_ALLOWED
    } else if answers.iter().all(|a| a.unavailable) {
        StatusCode::SERVICE_UNAVAILABLE
    } else if media == MediaType::GraphqlResponse && answers.iter().all(|a| !a.executed) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

/// The HTTP answer: status, body, and the headers of caching and revalidation.
fn finish(
    state: &AppState,
    parts: &Parts,
    media: MediaType,
    answers: Vec<Answer>,
    batched: bool,
) -> Response {
    let status = status_of(&answers, batched, media);
    let retry_after = answers
        .iter()
        .filter_map(|a| match a.refusal {
            Some(Refusal::RateLimited { retry_after }) => Some(retry_after),
            _ => None,
        })
        .max()
        .filter(|_| status == StatusCode::TOO_MANY_REQUESTS);
    let is_get = parts.method == Method::GET;
    let cacheable = is_get
        && status == StatusCode::OK
        && !parts.headers.contains_key(header::AUTHORIZATION)
        && answers.iter().all(|a| a.outcome == Outcome::Ok);
    let body = if batched {
        let bodies: Vec<String> = answers.into_iter().map(|a| a.body).collect();
        format!("[{}]", bodies.join(","))
    } else {
        answers
            .into_iter()
            .next()
            .map(|a| a.body)
            .unwrap_or_default()
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    if is_get {
        let not_modified = cache_headers(state, parts, &mut headers, cacheable, status, &body);
        if not_modified {
            headers.remove(header::CONTENT_TYPE);
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
    }
    (status, headers, body).into_response()
}

/// `Vary`, `Cache-Control` and `ETag` of a GET answer; true when the client's
/// `If-None-Match` matches (a `304`).
fn cache_headers(
    state: &AppState,
    parts: &Parts,
    headers: &mut HeaderMap,
    cacheable: bool,
    status: StatusCode,
    body: &str,
) -> bool {
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Authorization"),
    );
    let cache_control = if !cacheable {
        HeaderValue::from_static("no-store")
    } else if state.settings.cache_max_age == 0 {
        HeaderValue::from_static("no-cache")
    } else {
        HeaderValue::from_str(&format!("public, max-age={}", state.settings.cache_max_age))
            .unwrap_or(HeaderValue::from_static("no-cache"))
    };
    headers.insert(header::CACHE_CONTROL, cache_control);
    if status != StatusCode::OK {
        return false;
    }
    let etag = format!("\"{}\"", &sha256(body)[..32]);
    let matches = parts
        .headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == etag);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    matches
}

/// Why a request was refused before any GraphQL work: its status, code and message, answered
/// in the negotiated media type.
struct HttpRefusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// The limit and the figure, for a refusal by a limit (`extensions.limit`, `actual`).
    figures: Option<(u64, u64)>,
}

impl HttpRefusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            figures: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    fn respond(self, media: MediaType) -> Response {
        let Some((limit, actual)) = self.figures else {
            return reject(self.status, media, self.code, &self.message);
        };
        let error = limit_error(self.code, self.message, limit, actual);
        (
            self.status,
            [(header::CONTENT_TYPE, media.content_type())],
            json!({ "errors": [error] }).to_string(),
        )
            .into_response()
    }
}

/// Reads a POST body: its content type, its size, its JSON; the request objects and whether
/// they came as a batch.
async fn read_post(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Vec<Value>, bool), HttpRefusal> {
    check_content_type(headers)?;
    let bytes = read_body(state, headers, body).await?;
    // The request object and a batch's array stand around the variables.
    let nesting = json_nesting(&bytes);
    let max_nesting = state.settings.limits.max_nesting + 2;
    if nesting > max_nesting {
        return Err(json_too_deep(nesting, max_nesting));
    }
    // Strict: a key named twice is refused (`{"query": A, "query": B}` must not run B).
    let value = crate::json::from_slice(&bytes)
        .map_err(|e| HttpRefusal::bad_request(format!("the request body is not JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Ok((vec![value], false));
    };
    let max = state.settings.max_batch;
    if items.is_empty() {
        return Err(HttpRefusal::bad_request(
            "a batch needs at least one request",
        ));
    }
    if items.len() > max {
        return Err(HttpRefusal::new(
            StatusCode::BAD_REQUEST,
            "BATCH_TOO_LARGE",
            format!(
                "the batch has {} operations; the most allowed is {max}",
                items.len()
            ),
        ));
    }
    Ok((items, true))
}

/// `Content-Type: application/json`, in UTF-8 if a charset is given.
fn check_content_type(headers: &HeaderMap) -> Result<(), HttpRefusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = content_type.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let charset_ok = parts
        .filter_map(|p| {
            p.trim()
                .to_ascii_lowercase()
                .strip_prefix("charset=")
                .map(str::to_owned)
        })
        .all(|c| c.trim_matches('"') == "utf-8");
    if essence == "application/json" && charset_ok {
        return Ok(());
    }
    let message = if content_type.is_empty() {
        "a POST request needs `Content-Type: application/json`".to_owned()
    } else {
        format!("unsupported content type `{content_type}`: send application/json (UTF-8)")
    };
    Err(HttpRefusal::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "BAD_REQUEST",
        message,
    ))
}

/// The body, at most `IUC_MAX_BODY_BYTES`, within `IUC_READ_TIMEOUT`: a client that announces
/// a body and sends it slowly, or not at all, does not hold the request open.
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, HttpRefusal> {
    let limit = state.settings.max_body_bytes;
    let too_large = || {
        HttpRefusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("the request body is larger than the most allowed, {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let timeout = state.settings.read_timeout;
    let read = tokio::time::timeout(timeout, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| {
            HttpRefusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "BAD_REQUEST",
                format!(
                    "the request body did not arrive within {} s",
                    timeout.as_secs()
                ),
            )
        })?;
    let bytes = read.map_err(|error| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(e) = source {
            if e.is::<http_body_util::LengthLimitError>() {
                return too_large();
            }
            source = e.source();
        }
        HttpRefusal::bad_request(format!("the request body could not be read: {error}"))
    })?;
    if bytes.is_empty() {
        return Err(HttpRefusal::bad_request(
            "the request body is empty: send a JSON object with a `query`",
        ));
    }
    Ok(bytes)
}

/// The name of the first operation in a document that does not parse as a whole (for
/// metrics only): the text after `query`/`mutation`, if it looks like a name.
fn document_name(query: &str) -> Option<String> {
    let rest = query
        .trim_start()
        .strip_prefix("query")
        .or_else(|| query.trim_start().strip_prefix("mutation"))?;
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && name.len() <= 100).then_some(name)
}

/// Runs the operations (concurrently, as async-graphql runs a batch) and shapes each answer.
async fn run(state: &AppState, auth: &Arc<RequestAuth>, operations: Vec<Operation>) -> Vec<Answer> {
    let futures = operations.into_iter().map(|operation| async move {
        match operation {
            Operation::Failed {
                body,
                name,
                refusal,
            } => Answer {
                body,
                name: name.unwrap_or_default(),
                outcome: match refusal {
                    Some(Refusal::Limit) => Outcome::Refused,
                    Some(Refusal::RateLimited { .. }) => Outcome::RateLimited,
                    _ => Outcome::Invalid,
                },
                executed: false,
                refusal,
                unavailable: false,
            },
            Operation::Run {
                request,
                analysis,
                report_cost,
                name,
            } => {
                let response = execute(state, auth, *request).await;
                let cost = analysis.as_ref().filter(|_| report_cost).map(|a| a.cost);
                answer(state, response, cost, name.unwrap_or_default())
            }
        }
    });
    futures_util::future::join_all(futures).await
}

/// Executes one operation under its output budget: when the loaders have handed out as much
/// as the answer may hold, execution stops and the answer is one `RESPONSE_TOO_LARGE` error.
pub(super) async fn execute(
    state: &AppState,
    auth: &Arc<RequestAuth>,
    mut request: async_graphql::Request,
) -> async_graphql::Response {
    // The answer's fields are put in selection order afterwards (`graphql::order`).
    let document = request.parsed_query().ok().cloned();
    let operation = request.operation_name.clone();
    // Loaders are built here, inside the request's scope.
    let limit = state.settings.max_response_bytes;
    let (request, waves) = crate::graphql::prepare(request, &state.db, auth.clone(), limit);
    let budget = waves.clone();
    let execution = waves.track(state.schema.execute(request));
    tokio::select! {
        mut response = execution => {
            if let Some(document) = &document {
                crate::graphql::order::by_selection(&mut response.data, document, operation.as_deref());
            }
            response
        }
        () = budget.budget.exceeded() => {
            tracing::warn!(limit_bytes = limit, "an answer grew past the output budget");
            async_graphql::Response::from_errors(vec![too_large(limit)])
        }
    }
}

/// The error of an answer larger than `limit` bytes.
fn too_large(limit: u64) -> async_graphql::ServerError {
    limit_error(
        "RESPONSE_TOO_LARGE",
        format!(
            "the answer would be larger than the most allowed, {limit} bytes: ask for smaller \
             pages or fewer fields"
        ),
        limit,
        limit.saturating_add(1),
    )
}

/// Shapes one executed operation's answer: its outcome, and its body as JSON text.
pub(super) fn answer(
    state: &AppState,
    mut response: async_graphql::Response,
    cost: Option<u64>,
    name: String,
) -> Answer {
    // Our resolvers give every error a code (`AppError`); field errors without one are
    // async-graphql's own about an argument (an `Int` out of range, a value of the wrong type).
    // Errors without a path are request errors: `request_error` codes those.
    for error in response.errors.iter_mut().filter(|e| !e.path.is_empty()) {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    // Errors before execution (validation, variables, an unknown operation) carry no path; a
    // field error always does.
    let executed = !(response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty()));
    let has_code = |code: &str| {
        response.errors.iter().any(|e| {
            e.extensions
                .as_ref()
                .and_then(|x| x.get("code"))
                .is_some_and(|c| *c == async_graphql::Value::from(code))
        })
    };
    let unavailable =
        response.data == async_graphql::Value::Null && has_code("SERVICE_UNAVAILABLE");
    let outcome = if !executed {
        Outcome::Invalid
    } else if response.errors.is_empty() {
        Outcome::Ok
    } else if has_code("SERVICE_UNAVAILABLE") {
        Outcome::Unavailable
    } else {
        Outcome::Error
    };
    let limit = state.settings.max_response_bytes;
    let mut body = serialise(response, executed, cost, state.settings.limits.max_cost);
    // What no loader hands out (introspection, the summary) is checked on the text.
    if limit > 0 && body.len() as u64 > limit {
        tracing::warn!(
            bytes = body.len(),
            limit_bytes = limit,
            "an answer is too large"
        );
        body = json!({ "errors": [too_large(limit)] }).to_string();
    }
    Answer {
        body,
        name,
        outcome,
        executed,
        refusal: None,
        unavailable,
    }
}

/// The response as JSON text: a request error has no `data` entry (GraphQL over HTTP) and its
/// errors get a code; the cost goes into `extensions` when the client asked for it.
fn serialise(
    response: async_graphql::Response,
    executed: bool,
    cost: Option<u64>,
    cost_limit: u64,
) -> String {
    let text = if executed && cost.is_none() {
        // The common case: straight to text.
        serde_json::to_string(&response)
    } else {
        serde_json::to_value(&response).and_then(|mut body| {
            if let Some(object) = body.as_object_mut() {
                if !executed {
                    request_error(object);
                }
                if let Some(cost) = cost {
                    let extensions = object
                        .entry("extensions")
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Some(extensions) = extensions.as_object_mut() {
                        extensions.insert(
                            "cost".into(),
                            json!({ "requested": cost, "limit": cost_limit }),
                        );
                    }
                }
            }
            serde_json::to_string(&body)
        })
    };
    text.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a response could not be serialised");
        error_body(
            "INTERNAL_SERVER_ERROR",
            "internal error: the response could not be serialised",
        )
        .to_string()
    })
}

/// A request error: no `data`, and async-graphql's validation errors get a code too.
fn request_error(object: &mut Map<String, Value>) {
    object.remove("data");
    if let Some(Value::Array(errors)) = object.get_mut("errors") {
        for error in errors.iter_mut().filter_map(Value::as_object_mut) {
            let extensions = error
                .entry("extensions")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Some(extensions) = extensions.as_object_mut() {
                extensions
                    .entry("code")
                    .or_insert_with(|| Value::from("GRAPHQL_VALIDATION_FAILED"));
            }
        }
    }
}
