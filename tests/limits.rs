//! Query limits over HTTP: depth, aliases, root fields, cost (connections multiply), the
//! body size, the batch size, and the rate limit on cost with `Retry-After`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{TestApp, TestDb};

fn post(body: &Value) -> Request<Body> {
    Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("a valid request")
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

/// A query `levels` fields deep: pairing → ucap → pairing → ucap → … → id.
fn deep_query(levels: usize) -> String {
    let wraps = levels.saturating_sub(2);
    let mut query = String::from("id");
    for j in 0..wraps {
        // Counted from the outside, even wraps are `ucap` (under a pairing), odd `pairing`.
        let from_outside = wraps - 1 - j;
        let field = if from_outside.is_multiple_of(2) {
            "ucap"
        } else {
            "pairing"
        };
        query = format!("{field} {{ {query} }}");
    }
    format!("{{ pairing(slug: \"rome-yantai\") {{ {query} }} }}")
}

#[tokio::test]
async fn each_limit_refuses_with_its_code_the_limit_and_the_figure() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;

        // Deep: 17 levels against the default 15.
        let response = app.graphql(&deep_query(17), json!({})).await;
        assert_eq!(
            code(&response),
            "QUERY_TOO_DEEP",
            "[{backend:?}] {response}"
        );
        let message = response["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("17") && message.contains("15"),
            "{message}"
        );
        assert_eq!(response["errors"][0]["extensions"]["limit"], 15);
        assert_eq!(response["errors"][0]["extensions"]["actual"], 17);
        assert!(
            response.get("data").is_none(),
            "a request error has no data: {response}"
        );
        // 15 levels pass.
        app.data(&deep_query(15), json!({})).await;

        // Aliased: 31 aliases against 30.
        let aliased: Vec<String> = (0..31)
            .map(|i| format!("a{i}: country(code: \"IT\") {{ name }}"))
            .collect();
        let response = app
            .graphql(&format!("{{ {} }}", aliased.join(" ")), json!({}))
            .await;
        assert_eq!(code(&response), "TOO_MANY_ALIASES", "{response}");
        assert_eq!(response["errors"][0]["extensions"]["actual"], 31);

        // Wide: 21 top-level fields against 20.
        let wide = format!("{{ {} }}", vec!["__typename"; 21].join(" "));
        let response = app.graphql(&wide, json!({})).await;
        assert_eq!(code(&response), "TOO_MANY_ROOT_FIELDS", "{response}");

        // Costly: 100 pairings × 100 of each city's pairings × 100 activities: over a million.
        let costly = r#"{ pairings(first: 100) { nodes { participants { place { ... on City {
            pairings(first: 100) { nodes { activities(first: 100) { nodes { title } } } } } } } } } }"#;
        let response = app.graphql(costly, json!({})).await;
        assert_eq!(code(&response), "QUERY_TOO_COMPLEX", "{response}");
        let actual = response["errors"][0]["extensions"]["actual"]
            .as_u64()
            .unwrap();
        assert!(actual > 1_000_000, "{actual}");
        assert_eq!(response["errors"][0]["extensions"]["limit"], 25_000);
        // The same through a fragment and a variable page size costs the same.
        let response = app
            .graphql(
                r#"query($n: Int) { pairings(first: $n) { ...P } }
                   fragment P on PairingConnection { nodes { participants { place { ... on City {
                     pairings(first: $n) { nodes { activities(first: $n) { nodes { title } } } } } } } } }"#,
                json!({ "n": 100 }),
            )
            .await;
        assert_eq!(code(&response), "QUERY_TOO_COMPLEX", "{response}");
        assert_eq!(
            response["errors"][0]["extensions"]["actual"].as_u64(),
            Some(actual)
        );
    }
}

#[tokio::test]
async fn the_cost_is_reported_when_asked_and_follows_the_documented_rule() {
    for app in TestApp::all_seeded().await {
        let ask = |query: &str, variables: Value| {
            post(&json!({ "query": query, "variables": variables, "extensions": { "cost": true } }))
        };
        // 1 (the connection) + 10 × (1 node + 1 programmeRegion) + 1 pageInfo.
        let query = "query($n: Int) { pairings(first: $n) { totalCount nodes { title programmeRegion { name } } pageInfo { hasNextPage } } }";
        let (status, _, body) = app.request(ask(query, json!({ "n": 10 }))).await;
        assert_eq!(status, StatusCode::OK);
        let response: Value = serde_json::from_str(&body).unwrap();
        assert!(response.get("errors").is_none(), "{response}");
        assert_eq!(
            response["extensions"]["cost"]["requested"], 22,
            "{response}"
        );
        assert_eq!(response["extensions"]["cost"]["limit"], 25_000);
        // Without `first`, the default page of 20.
        let (_, _, body) = app.request(ask(query, json!({}))).await;
        let response: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            response["extensions"]["cost"]["requested"], 42,
            "{response}"
        );
        // `nodes(ids:)` counts its ids.
        let ids = app
            .data("{ pairings(first: 3) { nodes { id } } }", json!({}))
            .await["pairings"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].clone())
            .collect::<Vec<_>>();
        let (_, _, body) = app
            .request(ask(
                "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Pairing { programmeRegion { name } } } }",
                json!({ "ids": ids }),
            ))
            .await;
        let response: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(response["extensions"]["cost"]["requested"], 4, "{response}");
        // Not asked: not reported.
        let response = app.graphql(query, json!({ "n": 10 })).await;
        assert!(response.get("extensions").is_none(), "{response}");
    }
}

#[tokio::test]
async fn fragment_cycles_and_exponential_fragments_are_refused_quickly() {
    let app = TestApp::new(TestDb::all().await.remove(0));
    let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A __typename }";
    let response = app.graphql(cycle, json!({})).await;
    assert_eq!(code(&response), "GRAPHQL_VALIDATION_FAILED", "{response}");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("A → B → A")),
        "{response}"
    );
    assert!(response.get("data").is_none());

    // Ten fragments each spreading the next four times: 4^10 selections once expanded.
    let mut document = String::from("{ ...F0 }\n");
    for i in 0..10 {
        document.push_str(&format!(
            "fragment F{i} on Query {{ {} }}\n",
            if i < 9 {
                format!("...F{} ...F{} ...F{} ...F{}", i + 1, i + 1, i + 1, i + 1)
            } else {
                "__typename".to_owned()
            }
        ));
    }
    // Refused from the document's shape (each fragment measured once), before anything
    // expands it: at the root as below it.
    let response = app.graphql(&document, json!({})).await;
    assert_eq!(code(&response), "QUERY_TOO_COMPLEX", "{response}");
    let deep_fragments =
        document.replace("{ ...F0 }", "{ pairings(first: 1) { nodes { ...G0 } } }");
    let deep_fragments = deep_fragments
        .replace("on Query", "on Pairing")
        .replace("...F", "...G")
        .replace("fragment F", "fragment G")
        .replace("__typename", "programmeRegion { name }");
    let response = app.graphql(&deep_fragments, json!({})).await;
    assert_eq!(code(&response), "QUERY_TOO_COMPLEX", "{response}");
}

#[tokio::test]
async fn oversized_bodies_get_413_and_batches_are_bounded() {
    let app = TestApp::new(TestDb::all().await.remove(0));
    let padding = " ".repeat(200 * 1024);
    let big = format!("{{\"query\": \"{{ __typename }}\"{padding}}}");
    // With a Content-Length, and without one (the body is read up to the limit).
    for with_length in [true, false] {
        let mut request =
            Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if with_length {
            request = request.header(header::CONTENT_LENGTH, big.len());
        }
        let (status, headers, body) = app
            .request(request.body(Body::from(big.clone())).unwrap())
            .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .contains("json")
        );
        let response: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(code(&response), "PAYLOAD_TOO_LARGE");
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("102400")
        );
    }

    // A batch of 2 runs both; 11 is refused; each operation meets the limits on its own.
    let one = json!({ "query": "{ __typename }" });
    let (status, _, body) = app.request(post(&json!([one, one]))).await;
    assert_eq!(status, StatusCode::OK);
    let responses: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(responses.as_array().unwrap().len(), 2);
    assert_eq!(responses[1]["data"]["__typename"], "Query");

    let (status, _, body) = app
        .request(post(&Value::Array(vec![one.clone(); 11])))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(code(&response), "BATCH_TOO_LARGE", "{response}");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("11")
    );

    let deep = json!({ "query": deep_query(20) });
    let (status, _, body) = app.request(post(&json!([one, deep]))).await;
    assert_eq!(status, StatusCode::OK);
    let responses: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(responses[0]["data"]["__typename"], "Query");
    assert_eq!(code(&responses[1]), "QUERY_TOO_DEEP");
}

#[tokio::test]
async fn the_rate_limit_charges_cost_per_client_and_says_when_to_retry() {
    for db in TestDb::all_seeded().await {
        let mut settings = api::state::Settings::default();
        // 300 units per 60 s: 5 units per second.
        settings.rate_limits.anonymous = 300;
        let app = TestApp::with_settings(db, settings);
        // 1 + 50 × (1 node + 1 programmeRegion) = 101 units.
        let query = json!({ "query": "{ pairings(first: 50) { nodes { programmeRegion { name } } } }", "extensions": { "cost": true } });
        let from = |address: [u8; 4], body: &Value| {
            let mut request = post(body);
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::from((address, 40000))));
            request
        };
        for _ in 0..2 {
            let (status, _, body) = app.request(from([10, 0, 0, 1], &query)).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        let (status, headers, body) = app.request(from([10, 0, 0, 1], &query)).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        let response: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(code(&response), "RATE_LIMITED", "{response}");
        // 98 units left, 101 needed: 3 missing at 5 per second.
        let retry: u64 = headers[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "{retry}");
        // Another address has its own budget.
        let (status, _, _) = app.request(from([10, 0, 0, 2], &query)).await;
        assert_eq!(status, StatusCode::OK);
        // The refusal is counted.
        let metrics = app.state.metrics.render(&Default::default(), &app.db.conn);
        assert!(
            metrics.contains("iuc_rate_limited_total{client=\"anonymous\"} 1"),
            "{metrics}"
        );
    }
}

#[tokio::test]
async fn a_valid_api_key_has_its_own_larger_budget() {
    for db in TestDb::all_seeded().await {
        let mut settings = api::state::Settings::default();
        settings.rate_limits.anonymous = 300;
        settings.rate_limits.key = 100_000;
        let app = TestApp::with_settings(db, settings);
        let key =
            api::service::keys::create(&app.db.conn, "reader", api::auth::Role::Admin, None, None)
                .await
                .unwrap_or_else(|e| panic!("a key: {}", e.message()))
                .secret;
        // 101 units each: an anonymous caller gets two, a key many more.
        let query =
            json!({ "query": "{ pairings(first: 50) { nodes { programmeRegion { name } } } }" });
        let with = |token: Option<&str>| {
            let mut request = post(&query);
            if let Some(token) = token {
                request.headers_mut().insert(
                    header::AUTHORIZATION,
                    format!("Bearer {token}").parse().unwrap(),
                );
            }
            request
        };
        for _ in 0..5 {
            let (status, _, body) = app.request(with(Some(&key))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        // An unknown key is an anonymous caller.
        let statuses = [
            app.request(with(Some("iuc_not-a-key"))).await.0,
            app.request(with(None)).await.0,
            app.request(with(None)).await.0,
        ];
        assert_eq!(
            statuses,
            [
                StatusCode::OK,
                StatusCode::OK,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
    }
}

#[tokio::test]
async fn in_a_batch_each_operation_meets_the_rate_limit_and_what_ran_is_not_refused() {
    for db in TestDb::all_seeded().await {
        let mut settings = api::state::Settings::default();
        // 300 units: two operations of 101 fit, the third does not.
        settings.rate_limits.anonymous = 300;
        let app = TestApp::with_settings(db, settings);
        let one =
            json!({ "query": "{ pairings(first: 50) { nodes { programmeRegion { name } } } }" });
        let batch = json!([one, one, one]);
        let (status, headers, body) = app.request(post(&batch)).await;
        assert_eq!(status, StatusCode::OK, "two of three ran: {body}");
        assert!(headers.get(header::RETRY_AFTER).is_none());
        let answers: Vec<Value> = serde_json::from_str(&body).unwrap();
        assert!(answers[0]["data"]["pairings"].is_object(), "{body}");
        assert!(answers[1]["data"]["pairings"].is_object(), "{body}");
        assert_eq!(code(&answers[2]), "RATE_LIMITED", "{body}");
        assert!(
            answers[2]["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .is_some()
        );
        // Now nothing fits: the whole batch is refused, and that is a 429.
        let (status, headers, body) = app.request(post(&json!([one, one]))).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert!(headers.get(header::RETRY_AFTER).is_some());
    }
}

#[tokio::test]
async fn an_answer_larger_than_the_output_budget_stops_with_its_code() {
    for db in TestDb::all_seeded().await {
        let settings = api::state::Settings {
            max_response_bytes: 20_000,
            ..Default::default()
        };
        let app = TestApp::with_settings(db, settings);
        // Small answers pass.
        app.data("{ pairings(first: 2) { nodes { title } } }", json!({}))
            .await;
        // Every pairing with its texts, through the loaders: stopped while it is built.
        let query = "{ pairings(first: 100) { nodes { title summary description ucap { sections { body } } \
                     participants { place { ... on City { name notes } } } } } }";
        let response = app.graphql(query, json!({})).await;
        assert_eq!(code(&response), "RESPONSE_TOO_LARGE", "{response}");
        assert_eq!(response["errors"][0]["extensions"]["limit"], 20_000);
        assert_eq!(
            response["errors"].as_array().unwrap().len(),
            1,
            "{response}"
        );
        // Introspection, which no loader hands out, is checked on the written answer.
        let response = app
            .graphql(
                "{ __schema { types { name description fields { name description } } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&response), "RESPONSE_TOO_LARGE", "{response}");
    }
}

/// GraphiQL's introspection query (graphql-js `getIntrospectionQuery`, with descriptions,
/// deprecated inputs and `specifiedByURL`).
const INTROSPECTION: &str = r#"query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL
  fields(includeDeprecated: true) {
    name description args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}"#;

#[tokio::test]
async fn introspection_is_costed_by_the_lengths_of_its_lists() {
    let app = TestApp::new(TestDb::all().await.remove(0));
    let ask = |query: &str| post(&json!({ "query": query, "extensions": { "cost": true } }));
    // GraphiQL's own query runs, and costs what its answer holds.
    let (status, _, body) = app.request(ask(INTROSPECTION)).await;
    assert_eq!(status, StatusCode::OK);
    let response: Value = serde_json::from_str(&body).unwrap();
    assert!(response.get("errors").is_none(), "{response}");
    let cost = response["extensions"]["cost"]["requested"]
        .as_u64()
        .unwrap();
    // One per object of the answer (the types, their fields, each `ofType` link …), so the
    // cost bounds the answer; the figure docs/operations.md quotes.
    fn objects(value: &Value) -> u64 {
        match value {
            Value::Object(map) => 1 + map.values().map(objects).sum::<u64>(),
            Value::Array(items) => items.iter().map(objects).sum(),
            _ => 0,
        }
    }
    let held = objects(&response["data"]["__schema"]);
    assert!(cost >= held, "cost {cost} < {held} objects in the answer");
    assert!(
        cost <= held + held / 4,
        "cost {cost} far above {held} objects"
    );
    assert!(
        (1_500..=4_000).contains(&cost),
        "docs/operations.md says about 2,400: {cost}"
    );
    // Each level of `possibleTypes { interfaces { … } }` multiplies: refused long before
    // the answer would be built, although the query is 200 bytes.
    let mut selection = String::from("name");
    for level in 0..10 {
        // Outermost (the last wrapped) first: `possibleTypes` of Node, their `interfaces` …
        let field = if (9 - level) % 2 == 0 {
            "possibleTypes"
        } else {
            "interfaces"
        };
        selection = format!("{field} {{ {selection} }}");
    }
    let response = app
        .graphql(
            &format!("{{ __type(name: \"Node\") {{ {selection} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(code(&response), "QUERY_TOO_COMPLEX", "{response}");
}

#[tokio::test]
async fn a_panic_in_a_request_is_a_masked_500_and_the_server_keeps_serving() {
    use axum::routing::get;
    use tower::ServiceExt;
    let app = TestApp::new(TestDb::all().await.remove(0));
    async fn boom() -> &'static str {
        panic!("secret detail")
    }
    let router = api::http::guarded(
        api::http::routes().route("/boom", get(boom)),
        app.state.clone(),
    );
    let response = router
        .clone()
        .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(
        body.contains("INTERNAL_SERVER_ERROR") && !body.contains("secret"),
        "{body}"
    );
    let health = router
        .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let metrics = app.state.metrics.render(&Default::default(), &app.db.conn);
    assert!(metrics.contains("iuc_panics_total 1"), "{metrics}");
}
