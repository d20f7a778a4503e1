//! GraphQL over HTTP: methods, media types and status codes, persisted queries and trusted
//! documents, and HTTP caching (ETag, 304, Cache-Control).

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{TestApp, TestDb};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

fn post(body: &str, accept: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
    if let Some(accept) = accept {
        request = request.header(header::ACCEPT, accept);
    }
    request.body(Body::from(body.to_owned())).unwrap()
}

fn get(query: &[(&str, &str)], headers: &[(header::HeaderName, &str)]) -> Request<Body> {
    let query = serde_urlencoded::to_string(query).unwrap();
    let mut request = Request::get(format!("/graphql?{query}"));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.body(Body::empty()).unwrap()
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn media_types_and_status_codes_follow_the_spec() {
    for app in TestApp::all_seeded().await {
        let query = json!({ "query": "{ country(code: \"IT\") { name } }" }).to_string();
        // application/graphql-response+json when accepted.
        let (status, headers, body) = app.request(post(&query, Some(GRAPHQL_RESPONSE))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(GRAPHQL_RESPONSE)
        );
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");
        // application/json otherwise: for */*, for a missing Accept, and by preference.
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/graphql-response+json;q=0.5, application/json"),
        ] {
            let (status, headers, _) = app.request(post(&query, accept)).await;
            assert_eq!(status, StatusCode::OK);
            assert!(
                headers[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .starts_with("application/json"),
                "{accept:?}"
            );
        }
        // Neither: 406.
        let (status, _, _) = app.request(post(&query, Some("text/csv"))).await;
        assert_eq!(status, StatusCode::NOT_ACCEPTABLE);

        // A validation error: 400 under graphql-response+json, 200 under json; no data entry.
        let invalid = json!({ "query": "{ nonsense }" }).to_string();
        let (status, _, body) = app.request(post(&invalid, Some(GRAPHQL_RESPONSE))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(json_of(&body).get("data").is_none(), "{body}");
        assert_eq!(code(&json_of(&body)), "GRAPHQL_VALIDATION_FAILED");
        let (status, _, body) = app.request(post(&invalid, Some("application/json"))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(json_of(&body).get("data").is_none(), "{body}");
        // A parse error likewise.
        let (status, _, body) = app
            .request(post(
                &json!({ "query": "{" }).to_string(),
                Some(GRAPHQL_RESPONSE),
            ))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&json_of(&body)), "GRAPHQL_PARSE_FAILED");
        // A field error after execution started keeps 200 and its data.
        let (status, _, body) = app
            .request(post(
                &json!({ "query": "{ node(id: \"bad\") { id } country(code: \"IT\") { name } }" })
                    .to_string(),
                Some(GRAPHQL_RESPONSE),
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");

        // Malformed HTTP requests: 400, 415.
        let (status, _, _) = app.request(post("{ not json", None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = app.request(post(r#"{"query": 1}"#, None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = app
            .request(post(r#"{"qeury": "{ __typename }"}"#, None))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = app
            .request(
                Request::post("/graphql")
                    .body(Body::from(query.clone()))
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

        // GET runs queries; a mutation over GET is 405 with Allow: POST.
        let (status, _, body) = app
            .request(get(&[("query", "{ country(code: \"IT\") { name } }")], &[]))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");
        let (status, headers, body) = app
            .request(get(
                &[("query", "mutation { __typename }")],
                &[(header::ACCEPT, GRAPHQL_RESPONSE)],
            ))
            .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(code(&json_of(&body)), "METHOD_NOT_ALLOWED");
        // GET with variables as JSON.
        let (status, _, body) = app
            .request(get(
                &[
                    ("query", "query($c: String!) { country(code: $c) { name } }"),
                    ("variables", r#"{"c":"IT"}"#),
                ],
                &[],
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");
    }
}

#[tokio::test]
async fn automatic_persisted_queries_run_by_hash_over_get() {
    for app in TestApp::all_seeded().await {
        let query = "{ country(code: \"IT\") { name } }";
        let hash = api::persisted::sha256(query);
        let extensions =
            json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
        // Unknown hash: the client is told to send the query.
        let (status, _, body) = app.request(get(&[("extensions", &extensions)], &[])).await;
        assert_eq!(status, StatusCode::OK);
        let response = json_of(&body);
        assert_eq!(code(&response), "PERSISTED_QUERY_NOT_FOUND");
        assert_eq!(response["errors"][0]["message"], "PersistedQueryNotFound");
        // The query with its hash registers it…
        let (status, _, body) = app
            .request(post(&json!({ "query": query, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }).to_string(), None))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");
        // …and the hash alone then runs it, over GET, cacheably.
        let (status, headers, body) = app.request(get(&[("extensions", &extensions)], &[])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=60");
        // A hash that does not match the query is refused.
        let (_, _, body) = app
            .request(post(&json!({ "query": "{ __typename }", "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } }).to_string(), None))
            .await;
        assert_eq!(code(&json_of(&body)), "PERSISTED_QUERY_HASH_MISMATCH");
    }
}

#[tokio::test]
async fn trusted_documents_mode_runs_only_listed_operations() {
    let trusted = "{ country(code: \"IT\") { name } }";
    let hash = api::persisted::sha256(trusted);
    let manifest = std::env::temp_dir().join(format!("iuc-trusted-{}.json", std::process::id()));
    std::fs::write(
        &manifest,
        json!({ format!("sha256:{hash}"): trusted }).to_string(),
    )
    .unwrap();
    let args = api::config::ServeArgs {
        trusted_documents: Some(manifest.clone()),
        ..Default::default()
    };
    let settings = api::state::Settings::from_args(&args).expect("the manifest loads");
    std::fs::remove_file(&manifest).ok();
    for db in TestDb::all_seeded().await {
        let app = TestApp::with_settings(db, settings.clone());
        // By hash (over GET), and by its full text.
        let extensions =
            json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
        let (status, _, body) = app.request(get(&[("extensions", &extensions)], &[])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");
        let (_, _, body) = app
            .request(post(&json!({ "query": trusted }).to_string(), None))
            .await;
        assert_eq!(json_of(&body)["data"]["country"]["name"], "Italy");
        // Anything else is refused, also when it offers its own hash.
        let other = "{ __typename }";
        let (status, _, body) = app
            .request(post(
                &json!({ "query": other }).to_string(),
                Some(GRAPHQL_RESPONSE),
            ))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&json_of(&body)), "OPERATION_NOT_TRUSTED");
        let (_, _, body) = app
            .request(post(&json!({ "query": other, "extensions": { "persistedQuery": { "version": 1, "sha256Hash": api::persisted::sha256(other) } } }).to_string(), None))
            .await;
        assert_eq!(code(&json_of(&body)), "OPERATION_NOT_TRUSTED");
    }
}

#[tokio::test]
async fn get_responses_carry_etags_and_cache_control_for_anonymous_successes_only() {
    for app in TestApp::all_seeded().await {
        let query = [("query", "{ country(code: \"IT\") { name } }")];
        let (status, headers, body) = app.request(get(&query, &[])).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=60");
        assert_eq!(headers[header::VARY], "Accept, Authorization");
        let etag = headers[header::ETAG].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");

        // The same ETag: 304 without a body; another: the full response again.
        let (status, headers, empty) = app
            .request(get(&query, &[(header::IF_NONE_MATCH, &etag)]))
            .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(empty.is_empty());
        assert_eq!(headers[header::ETAG], etag.as_str());
        let (status, _, again) = app
            .request(get(&query, &[(header::IF_NONE_MATCH, "\"other\"")]))
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(again, body);

        // With credentials: not for shared caches.
        let (_, headers, _) = app
            .request(get(&query, &[(header::AUTHORIZATION, "Bearer some-key")]))
            .await;
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        // An error response: not cacheable.
        let (_, headers, _) = app.request(get(&[("query", "{ nonsense }")], &[])).await;
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        // POST: never public.
        let (_, headers, _) = app
            .request(post(&json!({ "query": query[0].1 }).to_string(), None))
            .await;
        assert!(headers.get(header::CACHE_CONTROL).is_none());
        assert!(headers.get(header::ETAG).is_none());
    }
}
