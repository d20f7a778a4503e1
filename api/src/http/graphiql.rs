//! GraphiQL, served by the binary: the page on `GET /graphql` for browsers and its bundle
//! under `/graphiql/`, so that it works with no internet access. The bundle (GraphiQL 5, React,
//! the Monaco editor and its workers, fonts inlined in the stylesheet) is built from npm
//! packages pinned by a lockfile: `api/assets/graphiql/README.md` tells how to rebuild it.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[rustfmt::skip]
#[path = "../../assets/graphiql/dist/assets.rs"]
mod assets;

/// The page, with the bundle's hashed file names filled in.
static PAGE: LazyLock<String> = LazyLock::new(|| {
    include_str!("../../assets/graphiql.html")
        .replace("{{stylesheet}}", assets::STYLESHEET)
        .replace("{{entry}}", assets::ENTRY)
});

/// The GraphiQL page. Browsers revalidate it every time (`no-cache`): it names the bundle's
/// files by content hash, so a page kept from an older binary would ask for files that are gone.
pub fn page() -> Response {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        Html(PAGE.as_str()),
    )
        .into_response()
}

/// One file of the bundle. Its name carries a hash of its content, so browsers may keep it
/// for a year without asking again.
pub async fn asset(Path(name): Path<String>) -> Response {
    let Some((_, content_type, body)) = assets::FILES.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        *body,
    )
        .into_response()
}
