//! The same request gives the same bytes and the same `ETag`, with every object's fields in
//! the order the selection set names them (aliases, fragments and inline fragments included),
//! however the resolvers finish.

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::Value;

use crate::common::TestApp;

/// Relations that load at different speeds, listed in an order the loads do not finish in.
const QUERY: &str = "query Order {
  pairings(first: 20) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      ...Names
      zParticipants: participants { role place { ... on City { population name } ... on Region { name } } side }
      activities(first: 3) { totalCount nodes { title } }
      aSlug: slug
      themes { slug name }
      ucap { sections { body } status }
    }
  }
}
fragment Names on Pairing { title status }";

/// Asserts that `keys` first occur in `text`, after `from`, in this order. (The tests'
/// `serde_json` sorts object keys when it parses, so the order is read from the text.)
fn in_order(text: &str, from: usize, keys: &[&str]) {
    let places: Vec<usize> = keys
        .iter()
        .map(|k| {
            text[from..]
                .find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} in {text}"))
        })
        .collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "{keys:?} are out of order at {places:?} in {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_gives_the_same_bytes_and_etag_in_selection_order() {
    for app in TestApp::all_seeded().await {
        let backend = app.db.backend;
        let uri = format!(
            "/graphql?{}",
            serde_urlencoded::to_string([("query", QUERY)]).expect("encode")
        );
        let requests = (0..24).map(|_| {
            let request = Request::get(&uri)
                .header(header::ACCEPT, "application/json")
                .body(Body::empty())
                .expect("request");
            app.request(request)
        });
        let answers = futures_util::future::join_all(requests).await;
        let (_, first_headers, first) = &answers[0];
        for (status, headers, body) in &answers {
            assert!(status.is_success(), "[{backend:?}] {status}: {body}");
            assert_eq!(
                body, first,
                "[{backend:?}] the same request gave other bytes"
            );
            assert_eq!(headers.get(header::ETAG), first_headers.get(header::ETAG));
        }
        let text = first.as_str();
        in_order(text, 0, &["totalCount", "pageInfo", "nodes"]);
        let node = text.find("\"nodes\":[{").expect("nodes");
        in_order(
            text,
            node,
            &[
                "title",
                "status",
                "zParticipants",
                "activities",
                "aSlug",
                "themes",
                "ucap",
            ],
        );
        let participants = text.find("\"zParticipants\":").expect("participants");
        in_order(text, participants, &["role", "place", "side"]);
        assert!(
            text.contains("{\"population\":"),
            "[{backend:?}] a city's fields in order"
        );
        let data: Value = serde_json::from_str(text).expect("JSON");
        assert!(data.get("errors").is_none(), "[{backend:?}] {text}");
    }
}
