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
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::RequestAuth;
use crate::graphql::guard::{Gate, Refusal, admit};
use crate::graphql::limits::Analysis;
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
struct Params {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Map<String, Value>,
    extensions: Map<String, Value>,
}

/// Reads a request object; the error says which parameter is wrong.
fn params(object: &Value) -> Result<Params, String> {
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

/// Reads the URL parameters of a GET request into a request object.
fn get_params(uri: &axum::http::Uri) -> Result<Value, String> {
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
                serde_json::from_str(&value).map_err(|e| format!("`{key}` is not JSON: {e}"))?
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

/// One operation of the request, ready to run or already answered.
enum Operation {
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
struct Answer {
    /// The operation's response, as JSON text.
    body: String,
    name: String,
    outcome: Outcome,
    /// Ran (a GraphQL response) rather than a request error.
    executed: bool,
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
    let is_get = parts.method == Method::GET;
    let address = crate::client_addr::client(
        &state.settings.trusted_proxies,
        &parts.headers,
        &parts.extensions,
    );

    // The request objects.
    let (objects, batched) = if is_get {
        match get_params(&parts.uri) {
            Ok(object) => (vec![object], false),
            Err(message) => return reject(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", &message),
        }
    } else {
        match read_post(&state, &parts.headers, body).await {
            Ok(v) => v,
            Err(response) => return response(media),
        }
    };
    let mut checked = Vec::with_capacity(objects.len());
    for object in &objects {
        match params(object) {
            Ok(p) => checked.push(p),
            Err(message) => return reject(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", &message),
        }
    }

    // The caller: a key is looked up only when the request presents one (anonymous reads cost
    // no statement); the resolvers that need the caller reuse the lookup.
    let scope = RequestScope::new(state.metrics.clone());
    let auth = Arc::new(RequestAuth::from_headers(&parts.headers));
    let principal = if auth.has_secret() {
        RequestScope::run(scope.clone(), auth.require(&state.db))
            .await
            .ok()
    } else {
        None
    };
    let caller = caller(principal.as_ref(), address);
    let caller_kind = caller.kind();
    let sender = crate::metrics::Sender::from(&caller);
    let budget = CallerBudget {
        limiter: state.limiter.clone(),
        caller,
    };
    let gate = Gate {
        types: &state.types,
        limits: &state.settings.limits,
        over_get: is_get,
        budget: Some(&budget),
        documents: &state.documents,
    };
    let operations: Vec<Operation> = checked
        .into_iter()
        .map(|p| {
            let name = p.operation_name.clone();
            let query = match resolve_document(&state, &p) {
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
            match admit(&gate, &query, p.operation_name.as_deref(), &variables) {
                Err(rejection) => {
                    let (refusal, error) = *rejection;
                    Operation::Failed {
                        body: json!({ "errors": [error] }).to_string(),
                        name: name.or_else(|| document_name(&query)),
                        refusal: Some(refusal),
                    }
                }
                Ok(admitted) => {
                    if let Some(name) = admitted
                        .analysis
                        .as_ref()
                        .and_then(|a| a.operation_name.as_deref())
                    {
                        tracing::Span::current().record("operation", name);
                    }
                    let mut request = async_graphql::Request::new(query).variables(variables);
                    request.operation_name = p.operation_name;
                    request.set_parsed_query(admitted.document);
                    Operation::Run {
                        request: Box::new(request),
                        report_cost: p.extensions.get("cost") == Some(&Value::Bool(true)),
                        name: admitted
                            .analysis
                            .as_ref()
                            .and_then(|a| a.operation_name.clone())
                            .or(name),
                        analysis: admitted.analysis,
                    }
                }
            }
        })
        .collect();
    // Execution, in the request's scope, under the timeout.
    let names: Vec<String> = operations
        .iter()
        .map(|o| match o {
            Operation::Run { name, .. } | Operation::Failed { name, .. } => {
                name.clone().unwrap_or_default()
            }
        })
        .collect();
    let executed = tokio::time::timeout(state.settings.request_timeout, async {
        // Waiting for a turn counts towards the timeout.
        let _turn = match &state.executions {
            Some(turns) => turns.acquire().await.ok(),
            None => None,
        };
        RequestScope::run(scope.clone(), run(&state, &auth, operations)).await
    })
    .await;
    let statements = scope.statements.load(std::sync::atomic::Ordering::Relaxed);
    // The span's `operation`: a single operation's name is recorded once its document is
    // parsed (the name may come from the document); a batch says so.
    if batched {
        tracing::Span::current().record("operation", "batch");
    }
    let Ok(answers) = executed else {
        for name in &names {
            state.metrics.operation(name, Outcome::Timeout, sender);
        }
        let label = match (&names[..], batched) {
            ([one], false) => one.as_str(),
            _ => "batch",
        };
        state
            .metrics
            .request(label, started.elapsed().as_secs_f64(), statements);
        tracing::warn!(
            timeout_s = state.settings.request_timeout.as_secs(),
            "request timed out"
        );
        return reject(
            StatusCode::GATEWAY_TIMEOUT,
            media,
            "TIMEOUT",
            &format!(
                "the request took longer than {} s and was cancelled",
                state.settings.request_timeout.as_secs()
            ),
        );
    };

    // Metrics.
    for answer in &answers {
        state
            .metrics
            .operation(&answer.name, answer.outcome, sender);
        if answer.outcome == Outcome::RateLimited {
            state.metrics.rate_limited(caller_kind);
        }
    }
    let label = match (&answers[..], batched) {
        ([one], false) => one.name.clone(),
        _ => "batch".to_owned(),
    };
    state
        .metrics
        .request(&label, started.elapsed().as_secs_f64(), statements);

    // Status.
    let retry_after = answers
        .iter()
        .filter_map(|a| match a.refusal {
            Some(Refusal::RateLimited { retry_after }) => Some(retry_after),
            _ => None,
        })
        .max();
    let status = if retry_after.is_some() {
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
    };
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
        if status == StatusCode::OK {
            let etag = format!("\"{}\"", &sha256(&body)[..32]);
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
            if matches {
                headers.remove(header::CONTENT_TYPE);
                return (StatusCode::NOT_MODIFIED, headers).into_response();
            }
        }
    }
    (status, headers, body).into_response()
}

/// Reads a POST body: its content type, its size, its JSON; the request objects and whether
/// they came as a batch. The error is a response for the negotiated media type.
async fn read_post(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(Vec<Value>, bool), Box<dyn FnOnce(MediaType) -> Response + Send>> {
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
    if essence != "application/json" || !charset_ok {
        let message = if content_type.is_empty() {
            "a POST request needs `Content-Type: application/json`".to_owned()
        } else {
            format!("unsupported content type `{content_type}`: send application/json (UTF-8)")
        };
        return Err(Box::new(move |media| {
            reject(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                "BAD_REQUEST",
                &message,
            )
        }));
    }
    let limit = state.settings.max_body_bytes;
    let too_large = move |media| {
        reject(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            "PAYLOAD_TOO_LARGE",
            &format!("the request body is larger than the most allowed, {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Box::new(too_large));
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
            while let Some(e) = source {
                if e.is::<http_body_util::LengthLimitError>() {
                    return Err(Box::new(too_large));
                }
                source = e.source();
            }
            let message = format!("the request body could not be read: {error}");
            return Err(Box::new(move |media| {
                reject(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", &message)
            }));
        }
    };
    if bytes.is_empty() {
        return Err(Box::new(|media| {
            reject(
                StatusCode::BAD_REQUEST,
                media,
                "BAD_REQUEST",
                "the request body is empty: send a JSON object with a `query`",
            )
        }));
    }
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            let message = format!("the request body is not JSON: {e}");
            return Err(Box::new(move |media| {
                reject(StatusCode::BAD_REQUEST, media, "BAD_REQUEST", &message)
            }));
        }
    };
    match value {
        Value::Array(items) => {
            let max = state.settings.max_batch;
            if items.is_empty() {
                return Err(Box::new(|media| {
                    reject(
                        StatusCode::BAD_REQUEST,
                        media,
                        "BAD_REQUEST",
                        "a batch needs at least one request",
                    )
                }));
            }
            if items.len() > max {
                let n = items.len();
                return Err(Box::new(move |media| {
                    reject(
                        StatusCode::BAD_REQUEST,
                        media,
                        "BATCH_TOO_LARGE",
                        &format!("the batch has {n} operations; the most allowed is {max}"),
                    )
                }));
            }
            Ok((items, true))
        }
        other => Ok((vec![other], false)),
    }
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
    let limit = state.settings.limits.max_cost;
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
                // Loaders are built here, inside the request's scope.
                let (request, waves) = crate::graphql::prepare(*request, &state.db, auth.clone());
                let response = waves.track(state.schema.execute(request)).await;
                // Errors before execution (validation, variables, an unknown operation) carry
                // no path; a field error always does.
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
                let cost = analysis.as_ref().filter(|_| report_cost).map(|a| a.cost);
                let body = if executed && cost.is_none() {
                    // The common case: straight to text.
                    serde_json::to_string(&response)
                } else {
                    serde_json::to_value(&response).and_then(|mut body| {
                        if let Some(object) = body.as_object_mut() {
                            if !executed {
                                // A request error: no `data` entry (GraphQL over HTTP), and
                                // async-graphql's validation errors get a code too.
                                object.remove("data");
                                if let Some(Value::Array(errors)) = object.get_mut("errors") {
                                    for error in errors.iter_mut().filter_map(Value::as_object_mut)
                                    {
                                        let extensions = error
                                            .entry("extensions")
                                            .or_insert_with(|| Value::Object(Map::new()));
                                        if let Some(extensions) = extensions.as_object_mut() {
                                            extensions.entry("code").or_insert_with(|| {
                                                Value::from("GRAPHQL_VALIDATION_FAILED")
                                            });
                                        }
                                    }
                                }
                            }
                            if let Some(cost) = cost {
                                let extensions = object
                                    .entry("extensions")
                                    .or_insert_with(|| Value::Object(Map::new()));
                                if let Some(extensions) = extensions.as_object_mut() {
                                    extensions.insert(
                                        "cost".into(),
                                        json!({ "requested": cost, "limit": limit }),
                                    );
                                }
                            }
                        }
                        serde_json::to_string(&body)
                    })
                }
                .unwrap_or_else(|e| {
                    tracing::error!(error = %e, "a response could not be serialised");
                    error_body(
                        "INTERNAL_SERVER_ERROR",
                        "internal error: the response could not be serialised",
                    )
                    .to_string()
                });
                Answer {
                    body,
                    name: name.unwrap_or_default(),
                    outcome,
                    executed,
                    refusal: None,
                    unavailable,
                }
            }
        }
    });
    futures_util::future::join_all(futures).await
}
