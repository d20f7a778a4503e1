//! `schema.graphql` is the published contract: it must equal the running schema.

#[test]
fn schema_graphql_equals_the_running_schema() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql exists at the repository root");
    let running = api::graphql::sdl();
    assert!(
        committed == running,
        "schema.graphql differs from the running schema: regenerate it with\n\n    \
         cargo run -- print-schema > schema.graphql\n\nand review the diff"
    );
}

#[test]
fn every_type_field_argument_and_enum_value_has_a_description() {
    let sdl = api::graphql::sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
    let mut missing = Vec::new();
    for definition in &document.definitions {
        let async_graphql::parser::types::TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = &ty.node;
        let name = ty.name.node.as_str();
        if ty.description.is_none() {
            missing.push(name.to_owned());
        }
        use async_graphql::parser::types::TypeKind;
        match &ty.kind {
            TypeKind::Object(o) => {
                for f in &o.fields {
                    if f.node.description.is_none() {
                        missing.push(format!("{name}.{}", f.node.name.node));
                    }
                    for a in &f.node.arguments {
                        if a.node.description.is_none() {
                            missing
                                .push(format!("{name}.{}({})", f.node.name.node, a.node.name.node));
                        }
                    }
                }
            }
            TypeKind::Interface(o) => {
                for f in &o.fields {
                    if f.node.description.is_none() {
                        missing.push(format!("{name}.{}", f.node.name.node));
                    }
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    if v.node.description.is_none() {
                        missing.push(format!("{name}.{}", v.node.value.node));
                    }
                }
            }
            TypeKind::InputObject(i) => {
                for f in &i.fields {
                    if f.node.description.is_none() {
                        missing.push(format!("{name}.{}", f.node.name.node));
                    }
                }
            }
            _ => {}
        }
    }
    assert!(missing.is_empty(), "without a description: {missing:#?}");
}

/// The names a frontend's tools see: `Query`/`Mutation`/`Subscription`, `Date` and `DateTime`
/// with their specifications, and `@oneOf` where exactly one field may be given.
#[tokio::test]
async fn conventional_names_specified_scalars_and_one_of_inputs() {
    use crate::common::TestApp;
    use serde_json::json;
    let app = TestApp::all_seeded().await.remove(0);
    let data = app
        .data(
            "{ __schema { queryType { name } mutationType { name } subscriptionType { name } }
               date: __type(name: \"Date\") { kind specifiedByURL description }
               dateTime: __type(name: \"DateTime\") { kind specifiedByURL description }
               naive: __type(name: \"NaiveDate\") { name }
               place: __type(name: \"CityOrRegionInput\") { isOneOf inputFields { name type { kind } } }
               target: __type(name: \"InvolvementTargetInput\") { isOneOf }
               participant: __type(name: \"ParticipantInput\") { isOneOf } }",
            json!({}),
        )
        .await;
    let roots = &data["__schema"];
    assert_eq!(roots["queryType"]["name"], "Query");
    assert_eq!(roots["mutationType"]["name"], "Mutation");
    assert_eq!(roots["subscriptionType"]["name"], "Subscription");
    assert_eq!(
        data["date"]["specifiedByURL"],
        "https://scalars.graphql.org/andimarek/local-date.html"
    );
    assert_eq!(
        data["dateTime"]["specifiedByURL"],
        "https://scalars.graphql.org/andimarek/date-time.html"
    );
    for scalar in ["date", "dateTime"] {
        let description = data[scalar]["description"].as_str().unwrap();
        assert!(
            !description.contains("Implement") && !description.contains("Utc"),
            "{description}"
        );
    }
    assert!(data["naive"].is_null());
    assert_eq!(data["place"]["isOneOf"], true);
    assert_eq!(
        data["place"]["inputFields"],
        json!([
            { "name": "city", "type": { "kind": "SCALAR" } },
            { "name": "region", "type": { "kind": "SCALAR" } },
        ])
    );
    assert_eq!(data["target"]["isOneOf"], true);
    assert_eq!(data["participant"]["isOneOf"], false);

    let sdl = api::graphql::sdl();
    for line in [
        "scalar Date @specifiedBy(url: \"https://scalars.graphql.org/andimarek/local-date.html\")",
        "input CityOrRegionInput @oneOf {",
        "input InvolvementTargetInput @oneOf {",
        "\tquery: Query",
    ] {
        assert!(sdl.contains(line), "the SDL lacks {line}");
    }
}

/// Both or neither of a `@oneOf` input's fields: refused before anything runs, in a literal
/// and in variables, with a code and a message that says what to give.
#[tokio::test]
async fn one_of_inputs_refuse_both_or_neither() {
    use crate::common::TestApp;
    use serde_json::json;
    let app = TestApp::all_seeded().await.remove(0);
    let mutation = "mutation($p: [ParticipantInput!]!) { createPairing(input: { slug: \"x-y\", kind: CITY_TO_CITY, title: \"X–Y\", summary: \"s\", programmeRegion: \"china\", status: ACTIVE, participants: $p }) { pairing { id } } }";
    let both =
        json!([{ "place": { "city": "Q2l0eTox", "region": "UmVnaW9uOjE=" }, "side": "EUROPEAN" }]);
    let neither = json!([{ "place": {}, "side": "EUROPEAN" }]);
    for participants in [both, neither] {
        let response = app.graphql(mutation, json!({ "p": participants })).await;
        let error = &response["errors"][0];
        assert!(
            response["data"].is_null() || response["data"]["createPairing"].is_null(),
            "{response}"
        );
        assert!(
            error["message"].as_str().unwrap().contains("exactly one"),
            "{response}"
        );
        assert_eq!(
            error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
            "{response}"
        );
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("input.participants.0.place"),
            "{response}"
        );
    }
    let literal = "mutation { createInvolvement(input: { stakeholder: \"U3Rha2Vob2xkZXI6MQ==\", target: { pairing: \"UGFpcmluZzox\", ucap: \"VWNhcDox\" } }) { involvement { id } } }";
    let response = app.graphql(literal, json!({})).await;
    let error = &response["errors"][0];
    assert!(
        error["message"].as_str().unwrap().contains("exactly one"),
        "{response}"
    );
    assert_eq!(
        error["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{response}"
    );
}
