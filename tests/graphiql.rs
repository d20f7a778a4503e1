//! GraphiQL is served by the binary itself: the page and every asset it loads, so it works on
//! a machine with no internet access.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use crate::common::{TestApp, TestDb};

#[tokio::test]
async fn graphiql_page_and_assets_are_served_locally() {
    let db = TestDb::all()
        .await
        .into_iter()
        .next()
        .expect("SQLite is always on");
    let app = TestApp::new(db);
    let (status, content_type, body) = app
        .send(
            Request::get("/graphql")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"));
    let page = String::from_utf8(body).unwrap();
    // Every script and stylesheet comes from this server, none from a CDN.
    let sources: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
        .collect();
    assert_eq!(sources.len(), 4, "{sources:?}");
    for source in sources {
        assert!(
            source.starts_with("/graphiql/"),
            "{source} is not served locally"
        );
        let (status, content_type, body) = app
            .send(Request::get(source).body(Body::empty()).unwrap())
            .await;
        assert_eq!(status, StatusCode::OK, "{source}");
        let expected = if source.ends_with(".css") {
            "text/css"
        } else {
            "text/javascript"
        };
        assert!(
            content_type.starts_with(expected),
            "{source}: {content_type}"
        );
        assert!(
            body.len() > 1000,
            "{source} is too small to be the real asset"
        );
    }
    assert!(
        !page.contains("https://"),
        "the page refers to the internet"
    );
    let (status, _, _) = app
        .send(
            Request::get("/graphiql/missing.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
