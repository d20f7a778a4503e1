//! The README's example queries run as shown, on every backend, without errors and with data.

use serde_json::json;

use crate::common::TestApp;

fn readme_queries() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut queries = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```graphql") => current = Some(String::new()),
            (Some(q), "```") => {
                queries.push(std::mem::take(q));
                current = None;
            }
            (Some(q), _) => {
                q.push_str(line);
                q.push('\n');
            }
            _ => {}
        }
    }
    queries
}

#[tokio::test]
async fn the_readme_examples_run_as_shown() {
    let queries = readme_queries();
    assert!(
        queries.len() >= 5,
        "the README shows the five example queries, found {}",
        queries.len()
    );
    for app in TestApp::all_seeded().await {
        for query in &queries {
            let data = app.data(query, json!({})).await;
            let first = data
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or_default();
            assert!(
                !first.is_null(),
                "[{:?}] no data for:\n{query}",
                app.db.backend
            );
            let text = first.to_string();
            assert!(
                text.len() > 40 && text != "{\"nodes\":[]}",
                "[{:?}] empty answer for:\n{query}\n{text}",
                app.db.backend
            );
        }
    }
}
