//! One rule, one message: a value refused by a GraphQL write is refused by an import in the same
//! words, on the same field (`input.latitude` there, `latitude` in the file).

use api::auth::Role;
use api::service::dataset::{self, KnownKeys};
use api::service::keys;
use api::service::seed::{self, LoadError, Mode, SEED_JSON};
use api::service::write::Actor;
use serde_json::{Value, json};

use crate::common::TestApp;

/// The error `updateCity` gives with `patch` applied to Aarhus: its message and its field
/// (without `input.`).
async fn through_graphql(app: &TestApp, admin: &str, patch: &Value) -> (String, String) {
    let city = app
        .data("{ city(slug: \"aarhus\") { id version } }", json!({}))
        .await;
    let mut input = json!({ "id": city["city"]["id"], "version": city["city"]["version"] });
    for (k, v) in patch.as_object().expect("object") {
        input[k] = v.clone();
    }
    let r = app
        .graphql_as(
            Some(admin),
            "mutation($i: UpdateCityInput!) { updateCity(input: $i) { city { version } } }",
            json!({ "i": input }),
        )
        .await;
    let error = &r["errors"][0];
    assert_eq!(error["extensions"]["code"], json!("BAD_USER_INPUT"), "{r}");
    let field = error["extensions"]["field"].as_str().expect("a field");
    // The message starts with the field's path: "`input.latitude`: must be …".
    let message = error["message"].as_str().expect("a message");
    let message = message
        .strip_prefix(&format!("`{field}`: "))
        .expect("the path first");
    let field = field.strip_prefix("input.").expect("an input field");
    (message.to_owned(), field.to_owned())
}

/// The error an import of the seed gives with `patch` applied to Aarhus: its message and field.
async fn through_import(app: &TestApp, patch: &Value) -> (String, String) {
    let mut data: Value = serde_json::from_str(SEED_JSON).expect("the seed is JSON");
    let cities = data["cities"].as_array_mut().expect("cities");
    let aarhus = cities
        .iter_mut()
        .find(|c| c["slug"] == json!("aarhus"))
        .expect("Aarhus is in the seed");
    for (k, v) in patch.as_object().expect("object") {
        aarhus[k] = v.clone();
    }
    let result = seed::import_text(
        &app.db.conn,
        "bad.json",
        &data.to_string(),
        Mode::Apply,
        Actor::command_line("cli import bad.json"),
    )
    .await;
    let Err(LoadError::Invalid(errors)) = result else {
        panic!("the import is refused as invalid: {result:?}");
    };
    assert_eq!(errors.0.len(), 1, "{errors}");
    let error = &errors.0[0];
    assert_eq!(error.record, "cities \"aarhus\"");
    (error.message.clone(), error.field.clone())
}

#[tokio::test]
async fn a_bad_place_gets_the_same_message_through_graphql_and_through_import() {
    for app in TestApp::all_seeded().await {
        let admin = keys::create(&app.db.conn, "ops", Role::Admin, None, None)
            .await
            .unwrap_or_else(|e| panic!("admin key: {}", e.message()))
            .secret;
        // Fields the GraphQL input and the file spell alike.
        for (patch, message) in [
            (
                json!({ "latitude": 91.0 }),
                "must be between -90 and 90, not 91",
            ),
            (
                json!({ "longitude": -180.5 }),
                "must be between -180 and 180, not -180.5",
            ),
            (
                json!({ "latitude": null }),
                "give both latitude and longitude, or neither",
            ),
            (json!({ "population": -5 }), "must be 0 or more, not -5"),
            (
                json!({ "wikidata": "Q22a" }),
                "\"Q22a\" is not a Wikidata QID such as \"Q220\"",
            ),
        ] {
            let api = through_graphql(&app, &admin, &patch).await;
            let file = through_import(&app, &patch).await;
            assert_eq!(api.0, message, "[{:?}] {patch}", app.db.backend);
            assert_eq!(api, file, "[{:?}] {patch}", app.db.backend);
        }
        // A source's rules, too (the enum is spelled in capitals in GraphQL only).
        let source = |basis: &str| json!({ "sources": [{ "basis": basis, "reason": "  " }] });
        let api = through_graphql(&app, &admin, &source("EDITORIAL")).await;
        let file = through_import(&app, &source("editorial")).await;
        assert_eq!(api.0, "is empty: omit it or give a value");
        assert_eq!(api, file, "[{:?}]", app.db.backend);
    }
}

#[test]
fn a_file_with_a_project_in_a_city_and_a_region_is_refused_as_the_api_refuses_it() {
    let mut data = dataset::parse("seed.json", SEED_JSON).expect("the seed parses");
    let pairing = data
        .pairings
        .iter_mut()
        .find(|p| p.slug == "barnsley-liuzhou")
        .expect("in the seed");
    let ucap = pairing.ucap.as_mut().expect("a UCAP");
    ucap.projects[0].region = Some("distrito-federal".into());
    let errors = dataset::validate("seed.json", &data, &KnownKeys::default()).expect_err("refused");
    let fields: Vec<(&str, &str)> = errors
        .0
        .iter()
        .map(|e| (e.field.as_str(), e.message.as_str()))
        .collect();
    assert_eq!(
        fields,
        [(
            "ucap.projects[0].region",
            "a project is located in a city or a region, not both"
        )]
    );
}
