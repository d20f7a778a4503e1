//! GraphQL over real HTTP: a server bound to a loopback port, a raw HTTP/1.1 client.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::common::TestApp;

/// Sends one HTTP/1.1 request over a TCP socket and returns (status line, body).
fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (String, String) {
    let mut stream = std::net::TcpStream::connect(addr).expect("the server accepts connections");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .expect("the request is sent");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("the response is read");
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or("").to_owned();
    // Chunked bodies: this client asks for `Connection: close`, and axum sends small JSON bodies
    // with a Content-Length; decode chunks anyway to be robust.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, body)
}

/// A chunked body joined (the hostile-input suite reads raw answers too).
pub(crate) fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graphql_request_over_http_returns_seed_data() {
    for app in TestApp::all_seeded().await {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(api::server::serve(listener, app.state.clone()));

        // "Every pairing with its cities and their countries."
        let query = json!({ "query": "{ pairings(first: 100) { totalCount nodes { slug title participants { side place { ... on City { name country { code name } } ... on Region { name country { code } } } } } } }" });
        let (status, body) = tokio::task::spawn_blocking(move || {
            http(
                addr,
                "POST",
                "/graphql",
                &[("Content-Type", "application/json")],
                &query.to_string(),
            )
        })
        .await
        .unwrap();
        assert!(
            status.contains("200"),
            "[{:?}] {status}: {body}",
            app.db.backend
        );
        let response: Value = serde_json::from_str(&body).expect("JSON");
        assert!(response.get("errors").is_none(), "{}", response["errors"]);
        let pairings = response["data"]["pairings"]["nodes"].as_array().unwrap();
        assert_eq!(pairings.len() as i64, app.db.count("pairing").await);
        assert_eq!(
            response["data"]["pairings"]["totalCount"].as_i64(),
            Some(app.db.count("pairing").await)
        );
        let rome_yantai = pairings
            .iter()
            .find(|p| p["slug"] == "rome-yantai")
            .expect("Rome–Yantai is served");
        let codes: Vec<&str> = rome_yantai["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["place"]["country"]["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["IT", "CN"]);
        for pairing in pairings {
            let sides: Vec<&str> = pairing["participants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["side"].as_str().unwrap())
                .collect();
            assert!(
                sides.contains(&"EUROPEAN") && sides.contains(&"PARTNER"),
                "{}: {sides:?}",
                pairing["slug"]
            );
        }

        // GET works for queries too.
        let (status, body) = tokio::task::spawn_blocking(move || {
            http(
                addr,
                "GET",
                "/graphql?query=%7Bcountry(code%3A%22IT%22)%7Bname%7D%7D",
                &[("Accept", "application/json")],
                "",
            )
        })
        .await
        .unwrap();
        assert!(status.contains("200"), "{status}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["data"]["country"]["name"],
            "Italy"
        );
        server.abort();
    }
}

#[tokio::test]
async fn unknown_keys_give_null_and_errors_carry_codes() {
    for app in TestApp::all_seeded().await {
        let data = app.data(r#"{ pairing(slug: "nowhere") { title } city(slug: "atlantis") { name } country(code: "ZZ") { name } }"#, json!({})).await;
        assert_eq!(
            data,
            json!({ "pairing": null, "city": null, "country": null })
        );
        let response = app
            .graphql("{ pairings { nodes { nonsense } } }", json!({}))
            .await;
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("nonsense")
        );
    }
}
