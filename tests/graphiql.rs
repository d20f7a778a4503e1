//! GraphiQL is served by the binary itself: the page and every file it loads, so it works on
//! a machine with no internet access. `.ci/browser/graphiql.mjs` checks it in a real browser;
//! this test checks, without one, that everything the page can reach is served.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::common::{TestApp, TestDb};

/// The bundle's files (api/assets/graphiql/dist), as the build wrote them.
fn bundle_files() -> BTreeSet<String> {
    let dist = concat!(env!("CARGO_MANIFEST_DIR"), "/api/assets/graphiql/dist");
    std::fs::read_dir(dist)
        .expect("the bundle's directory")
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".js") || name.ends_with(".css"))
        .collect()
}

/// The files a page or script names: quoted strings that are paths to scripts or stylesheets.
fn references(text: &str) -> impl Iterator<Item = &str> {
    text.split(['"', '\'', '`'])
        .filter(|s| !s.contains(char::is_whitespace))
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
}

#[tokio::test]
async fn graphiql_page_and_every_file_it_loads_are_served_locally() {
    let db = TestDb::all()
        .await
        .into_iter()
        .next()
        .expect("SQLite is always on");
    let app = TestApp::new(db);
    let page = Request::get("/graphql")
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let (status, headers, page) = app.request(page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert!(
        !page.contains("https://"),
        "the page refers to the internet"
    );
    assert!(!page.contains("{{"), "a placeholder was left in the page");

    // Follow every reference from the page, then from each script: relative ones (chunks,
    // workers) resolve under /graphiql/.
    let mut pending: Vec<String> = references(&page).map(str::to_owned).collect();
    assert_eq!(
        pending.iter().collect::<BTreeSet<_>>().len(),
        2,
        "one stylesheet, one entry module: {pending:?}"
    );
    let mut reached = BTreeSet::new();
    while let Some(path) = pending.pop() {
        let name = path
            .strip_prefix("/graphiql/")
            .or_else(|| path.strip_prefix("./"))
            .unwrap_or_else(|| panic!("{path} is not served by this server"));
        if !reached.insert(name.to_owned()) {
            continue;
        }
        let request = Request::get(format!("/graphiql/{name}"))
            .body(Body::empty())
            .unwrap();
        let (status, headers, body) = app.request(request).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let expected = if name.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        let content_type = headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with(expected), "{name}: {content_type}");
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{name}"
        );
        if name.ends_with(".js") {
            pending.extend(
                references(&body)
                    .filter(|r| r.starts_with("./"))
                    .map(str::to_owned),
            );
        }
    }
    // Every file of the bundle is reachable (the three Monaco workers too), and nothing else.
    assert_eq!(reached, bundle_files());
    for worker in ["editor.worker-", "json.worker-", "graphql.worker-"] {
        assert!(
            reached.iter().any(|name| name.starts_with(worker)),
            "{worker}"
        );
    }

    let missing = Request::get("/graphiql/graphiql.min.js")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.request(missing).await.0, StatusCode::NOT_FOUND);
}
