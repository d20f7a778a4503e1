//! Writes over HTTP: keys and roles, validation with field paths, all-or-nothing, versions,
//! deletes, and the audit trail. Every test runs on SQLite and PostgreSQL.

use api::auth::{Organisation, Role};
use api::service::{catalog, keys};
use sea_orm::EntityTrait;
use serde_json::{Value, json};

use crate::common::TestApp;

/// The seeded app with an administrator key and a partner key for the city of Aarhus
/// (which takes part in the pairing `aarhus-udaipur` and not in `alba-iulia-benedito-novo`).
struct Keys {
    admin: String,
    aarhus: String,
}

async fn keys_for(app: &TestApp) -> Keys {
    let db = &app.db.conn;
    let admin = keys::create(db, "ops", Role::Admin, None, None)
        .await
        .unwrap_or_else(|e| panic!("admin key: {}", e.message()));
    let aarhus = catalog::city_by_slug(db, "aarhus")
        .await
        .expect("lookup")
        .expect("Aarhus is in the seed");
    let partner = keys::create(
        db,
        "aarhus-it",
        Role::Partner,
        Some(Organisation::City(aarhus.id)),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("partner key: {}", e.message()));
    Keys {
        admin: admin.secret,
        aarhus: partner.secret,
    }
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code, got {response}"))
}

async fn data_as(app: &TestApp, key: &str, query: &str, variables: Value) -> Value {
    let response = app.graphql_as(Some(key), query, variables).await;
    assert!(
        response.get("errors").is_none(),
        "[{:?}] unexpected errors: {}",
        app.db.backend,
        response["errors"]
    );
    response["data"].clone()
}

/// A pairing's id, version, title and participant count.
async fn pairing(app: &TestApp, slug: &str) -> (String, i64, String, usize) {
    let data = app
        .data(
            "query($s: String!) { pairing(slug: $s) { id version title participants { id } } }",
            json!({ "s": slug }),
        )
        .await;
    let p = &data["pairing"];
    (
        p["id"].as_str().expect("id").to_owned(),
        p["version"].as_i64().expect("version"),
        p["title"].as_str().expect("title").to_owned(),
        p["participants"].as_array().map(Vec::len).unwrap_or(0),
    )
}

const UPDATE_TITLE: &str = "mutation($id: ID!, $v: Int!, $t: String!) {
  updatePairing(input: { id: $id, version: $v, title: $t }) { pairing { title version } } }";

#[tokio::test]
async fn writes_need_a_valid_key_and_keys_are_stored_only_as_hashes() {
    for app in TestApp::all_seeded().await {
        let k = keys_for(&app).await;
        let (id, version, title, _) = pairing(&app, "aarhus-udaipur").await;
        let vars = json!({ "id": id, "v": version, "t": "Changed" });
        // No key, a made-up key, and a revoked key: UNAUTHENTICATED, nothing changes.
        let anonymous = app.graphql(UPDATE_TITLE, vars.clone()).await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
        let made_up = app
            .graphql_as(Some("iuc_not-a-real-key"), UPDATE_TITLE, vars.clone())
            .await;
        assert_eq!(code(&made_up), "UNAUTHENTICATED");
        let created = data_as(
            &app,
            &k.admin,
            "mutation { createApiKey(input: { name: \"temp\", role: ADMIN }) { secret apiKey { number prefix } } }",
            json!({}),
        )
        .await;
        let secret = created["createApiKey"]["secret"]
            .as_str()
            .expect("secret")
            .to_owned();
        let number = created["createApiKey"]["apiKey"]["number"]
            .as_i64()
            .expect("number");
        assert!(secret.starts_with("iuc_") && secret.len() >= 40, "{secret}");
        data_as(&app, &secret, "{ apiKeys { number } }", json!({})).await;
        // Keys have a name, a role, an owner and a last-used time; never their secret.
        let listed = data_as(
            &app,
            &k.admin,
            "{ apiKeys { number name role organisation prefix lastUsedAt revokedAt } }",
            json!({}),
        )
        .await;
        let temp = listed["apiKeys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|key| key["number"] == json!(number)))
            .expect("the new key is listed")
            .clone();
        assert_eq!(temp["name"], json!("temp"));
        assert_eq!(temp["role"], json!("ADMIN"));
        assert!(temp["lastUsedAt"].is_string(), "{temp}");
        assert_eq!(temp["prefix"].as_str(), Some(&secret[..8]));
        let aarhus = listed["apiKeys"]
            .as_array()
            .and_then(|keys| keys.iter().find(|key| key["name"] == json!("aarhus-it")))
            .expect("the partner key is listed");
        assert_eq!(aarhus["role"], json!("PARTNER"));
        assert!(aarhus["organisation"].is_string());
        data_as(
            &app,
            &k.admin,
            "mutation($n: Int!) { revokeApiKey(input: { number: $n }) { apiKey { revokedAt } } }",
            json!({ "n": number }),
        )
        .await;
        let revoked = app
            .graphql_as(Some(&secret), UPDATE_TITLE, vars.clone())
            .await;
        assert_eq!(code(&revoked), "UNAUTHENTICATED");
        assert_eq!(pairing(&app, "aarhus-udaipur").await.2, title);
        // No column of any key row holds a secret: only hashes and 8-character prefixes.
        let stored = entity::api_key::Entity::find()
            .all(&app.db.conn)
            .await
            .expect("keys can be read");
        assert_eq!(stored.len(), 3);
        let dump = format!("{stored:?}");
        for s in [&k.admin, &k.aarhus, &secret] {
            assert!(
                !dump.contains(s.as_str()),
                "a secret is stored in plain text"
            );
            let hash = api::auth::hash(s);
            assert!(
                stored.iter().any(|key| key.token_hash == hash),
                "the hash is stored"
            );
        }
        // Nor does the audit trail.
        let audit = entity::audit_event::Entity::find()
            .all(&app.db.conn)
            .await
            .expect("audit can be read");
        assert!(!format!("{audit:?}").contains(&secret));
    }
}

#[tokio::test]
async fn partners_change_only_their_own_pairings() {
    for app in TestApp::all_seeded().await {
        let k = keys_for(&app).await;
        // Someone else's pairing: FORBIDDEN, and nothing changes, audit included.
        let (other, v, title, _) = pairing(&app, "alba-iulia-benedito-novo").await;
        let refused = app
            .graphql_as(
                Some(&k.aarhus),
                UPDATE_TITLE,
                json!({ "id": other, "v": v, "t": "Hijacked" }),
            )
            .await;
        assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
        assert_eq!(pairing(&app, "alba-iulia-benedito-novo").await.2, title);
        assert_eq!(app.db.count("audit_event").await, 0);
        // A record that does not exist looks the same to a partner.
        let missing = app
            .graphql_as(
                Some(&k.aarhus),
                UPDATE_TITLE,
                json!({ "id": api::id::encode(api::id::NodeType::Pairing, 999_999).0, "v": 1, "t": "x" }),
            )
            .await;
        assert_eq!(code(&missing), "FORBIDDEN");
        // An administrator is told it does not exist.
        let missing = app
            .graphql_as(
                Some(&k.admin),
                UPDATE_TITLE,
                json!({ "id": api::id::encode(api::id::NodeType::Pairing, 999_999).0, "v": 1, "t": "x" }),
            )
            .await;
        assert_eq!(code(&missing), "NOT_FOUND");
        // Its own pairing: allowed; the version moves on and the audit trail says who.
        let (own, v, _, _) = pairing(&app, "aarhus-udaipur").await;
        let changed = data_as(
            &app,
            &k.aarhus,
            UPDATE_TITLE,
            json!({ "id": own, "v": v, "t": "Aarhus – Udaipur, renewed" }),
        )
        .await;
        assert_eq!(changed["updatePairing"]["pairing"]["version"], json!(v + 1));
        // Another city's record, and the partner's own.
        let city = app
            .data("{ udaipur: city(slug: \"udaipur\") { id version } aarhus: city(slug: \"aarhus\") { id version } }", json!({}))
            .await;
        let update_city = "mutation($id: ID!, $v: Int!) { updateCity(input: { id: $id, version: $v, leader: \"A. Mayor\" }) { city { leader version } } }";
        let refused = app
            .graphql_as(
                Some(&k.aarhus),
                update_city,
                json!({ "id": city["udaipur"]["id"], "v": city["udaipur"]["version"] }),
            )
            .await;
        assert_eq!(code(&refused), "FORBIDDEN");
        data_as(
            &app,
            &k.aarhus,
            update_city,
            json!({ "id": city["aarhus"]["id"], "v": city["aarhus"]["version"] }),
        )
        .await;
        // Partners may not read the audit trail or manage keys.
        let audit = app
            .graphql_as(Some(&k.aarhus), "{ auditEvents { totalCount } }", json!({}))
            .await;
        assert_eq!(code(&audit), "FORBIDDEN");
        let audit = app
            .graphql("{ auditEvents { totalCount } }", json!({}))
            .await;
        assert_eq!(code(&audit), "UNAUTHENTICATED");
        let key = app
            .graphql_as(
                Some(&k.aarhus),
                "mutation { createApiKey(input: { name: \"x\", role: ADMIN }) { secret } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&key), "FORBIDDEN");
        // The administrator sees both writes, newest first, with before and after.
        let events = data_as(
            &app,
            &k.admin,
            "query($org: ID) { auditEvents(organisation: $org) { totalCount nodes { actor organisationName entity recordKey action changes } } }",
            json!({ "org": city["aarhus"]["id"] }),
        )
        .await;
        let events = &events["auditEvents"];
        assert_eq!(events["totalCount"], json!(2), "{events}");
        assert_eq!(events["nodes"][0]["entity"], json!("City"));
        assert_eq!(
            events["nodes"][0]["changes"]["leader"]["after"],
            json!("A. Mayor")
        );
        let first = &events["nodes"][1];
        assert_eq!(first["actor"], json!("aarhus-it"));
        assert_eq!(first["organisationName"], json!("Aarhus"));
        assert_eq!(first["recordKey"], json!("aarhus-udaipur"));
        assert_eq!(first["action"], json!("UPDATE"));
        assert_eq!(
            first["changes"]["title"]["after"],
            json!("Aarhus – Udaipur, renewed")
        );
        assert!(first["changes"]["title"]["before"].is_string());
        let by_record = data_as(
            &app,
            &k.admin,
            "query($r: ID) { auditEvents(record: $r, entity: \"Pairing\") { totalCount } }",
            json!({ "r": own }),
        )
        .await;
        assert_eq!(by_record["auditEvents"]["totalCount"], json!(1));
    }
}

#[tokio::test]
async fn a_stale_version_gets_conflict_and_one_of_two_concurrent_updates_wins() {
    for app in TestApp::all_seeded().await {
        let k = keys_for(&app).await;
        let (id, v, _, _) = pairing(&app, "aarhus-udaipur").await;
        let a = app.graphql_as(
            Some(&k.admin),
            UPDATE_TITLE,
            json!({ "id": id, "v": v, "t": "Writer A" }),
        );
        let b = app.graphql_as(
            Some(&k.aarhus),
            UPDATE_TITLE,
            json!({ "id": id, "v": v, "t": "Writer B" }),
        );
        let (a, b) = tokio::join!(a, b);
        let outcomes: Vec<Option<&str>> = [&a, &b]
            .iter()
            .map(|r| r["errors"][0]["extensions"]["code"].as_str())
            .collect();
        assert!(
            outcomes.contains(&None) && outcomes.contains(&Some("CONFLICT")),
            "[{:?}] one write wins, the other gets CONFLICT: {a} {b}",
            app.db.backend
        );
        let (_, now, title, _) = pairing(&app, "aarhus-udaipur").await;
        assert_eq!(now, v + 1);
        let winner = if outcomes[0].is_none() {
            "Writer A"
        } else {
            "Writer B"
        };
        assert_eq!(title, winner);
        // Naming the old version again later is refused too, with a message that says why.
        let stale = app
            .graphql_as(
                Some(&k.admin),
                UPDATE_TITLE,
                json!({ "id": id, "v": v, "t": "Late" }),
            )
            .await;
        assert_eq!(code(&stale), "CONFLICT");
        let message = stale["errors"][0]["message"].as_str().unwrap_or("");
        assert!(message.contains(&format!("version {}", v + 1)), "{message}");
        // Two writers adding the same participant at once: the loser gets CONFLICT before it
        // touches the participants (not a duplicate-key failure), and nothing is doubled.
        let ids = app
            .data("{ aarhus: city(slug: \"aarhus\") { id } udaipur: city(slug: \"udaipur\") { id } bologna: city(slug: \"bologna\") { id } }", json!({}))
            .await;
        let add = "mutation($i: UpdatePairingInput!) { updatePairing(input: $i) { pairing { version } } }";
        let input = json!({ "i": { "id": id, "version": v + 1, "participants": [
            { "place": { "city": ids["aarhus"]["id"] }, "side": "EUROPEAN" },
            { "place": { "city": ids["bologna"]["id"] }, "side": "EUROPEAN", "role": "ASSOCIATED" },
            { "place": { "city": ids["udaipur"]["id"] }, "side": "PARTNER" }] } });
        let (a, b) = tokio::join!(
            app.graphql_as(Some(&k.admin), add, input.clone()),
            app.graphql_as(Some(&k.aarhus), add, input.clone())
        );
        let codes: Vec<Option<&str>> = [&a, &b]
            .iter()
            .map(|r| r["errors"][0]["extensions"]["code"].as_str())
            .collect();
        assert!(
            codes.contains(&None) && codes.contains(&Some("CONFLICT")),
            "[{:?}] {a} {b}",
            app.db.backend
        );
        assert_eq!(pairing(&app, "aarhus-udaipur").await.3, 3);
    }
}

#[tokio::test]
async fn invalid_input_is_refused_with_the_field_path() {
    for app in TestApp::all_seeded().await {
        let k = keys_for(&app).await;
        let create_city =
            "mutation($i: CreateCityInput!) { createCity(input: $i) { city { slug } } }";
        let city = |overrides: Value| {
            let mut input = json!({ "slug": "testville", "name": "Testville", "kind": "CITY", "country": "DK" });
            for (k, v) in overrides.as_object().expect("object") {
                input[k] = v.clone();
            }
            json!({ "i": input })
        };
        for (overrides, field) in [
            (json!({ "population": -1 }), "input.population"),
            (json!({ "areaKm2": 0.0 }), "input.areaKm2"),
            (
                json!({ "latitude": 91.0, "longitude": 10.0 }),
                "input.latitude",
            ),
            (
                json!({ "latitude": 50.0, "longitude": 190.0 }),
                "input.longitude",
            ),
            (json!({ "name": "  " }), "input.name"),
            (json!({ "country": "XX" }), "input.country"),
            (json!({ "slug": "Not A Slug" }), "input.slug"),
            (json!({ "slug": "aarhus" }), "input.slug"),
        ] {
            let r = app
                .graphql_as(Some(&k.admin), create_city, city(overrides.clone()))
                .await;
            assert_eq!(code(&r), "BAD_USER_INPUT", "{overrides}: {r}");
            assert_eq!(r["errors"][0]["extensions"]["field"], json!(field), "{r}");
        }
        assert!(
            catalog::city_by_slug(&app.db.conn, "testville")
                .await
                .expect("lookup")
                .is_none()
        );
        let (id, v, _, _) = pairing(&app, "aarhus-udaipur").await;
        let ids = app
            .data(
                "{ aarhus: city(slug: \"aarhus\") { id } udaipur: city(slug: \"udaipur\") { id } }",
                json!({}),
            )
            .await;
        let update = "mutation($i: UpdatePairingInput!) { updatePairing(input: $i) { pairing { version } } }";
        for (patch, field) in [
            (json!({ "sdgs": [3, 18] }), "input.sdgs[1]"),
            (json!({ "start": "2019-13" }), "input.start"),
            (
                json!({ "participants": [{ "place": { "city": ids["aarhus"]["id"] }, "side": "EUROPEAN" }] }),
                "input.participants",
            ),
            (
                json!({ "participants": [
                    { "place": { "city": ids["aarhus"]["id"] }, "side": "EUROPEAN" },
                    { "place": { "city": ids["udaipur"]["id"] }, "side": "PARTNER" },
                    { "place": { "city": ids["udaipur"]["id"] }, "side": "PARTNER" }] }),
                "input.participants[2]",
            ),
            (json!({ "themes": ["not-an-id"] }), "input.themes[0]"),
        ] {
            let mut input = json!({ "id": id, "version": v });
            for (k, val) in patch.as_object().expect("object") {
                input[k] = val.clone();
            }
            let r = app
                .graphql_as(Some(&k.admin), update, json!({ "i": input }))
                .await;
            assert_eq!(code(&r), "BAD_USER_INPUT", "{patch}: {r}");
            assert_eq!(r["errors"][0]["extensions"]["field"], json!(field), "{r}");
        }
        assert_eq!(pairing(&app, "aarhus-udaipur").await.1, v);
        assert_eq!(app.db.count("audit_event").await, 0);
    }
}

#[tokio::test]
async fn a_mutation_that_fails_halfway_leaves_no_trace() {
    for app in TestApp::all_seeded().await {
        let k = keys_for(&app).await;
        let (id, v, _, participants) = pairing(&app, "aarhus-udaipur").await;
        let ids = app
            .data("{ aarhus: city(slug: \"aarhus\") { id } udaipur: city(slug: \"udaipur\") { id } bologna: city(slug: \"bologna\") { id } }", json!({}))
            .await;
        let before_links = app.db.count("pairing_participant").await;
        // The participants are written first (a third one added), then a theme ID turns out
        // to be wrong: the whole mutation is rolled back.
        let r = app
            .graphql_as(
                Some(&k.admin),
                "mutation($i: UpdatePairingInput!) { updatePairing(input: $i) { pairing { version } } }",
                json!({ "i": {
                    "id": id, "version": v, "title": "Half done",
                    "participants": [
                        { "place": { "city": ids["aarhus"]["id"] }, "side": "EUROPEAN" },
                        { "place": { "city": ids["bologna"]["id"] }, "side": "EUROPEAN", "role": "ASSOCIATED" },
                        { "place": { "city": ids["udaipur"]["id"] }, "side": "PARTNER" }],
                    "themes": [api::id::encode(api::id::NodeType::Theme, 999_999).0]
                } }),
            )
            .await;
        assert_eq!(code(&r), "BAD_USER_INPUT", "{r}");
        let (_, now, title, after) = pairing(&app, "aarhus-udaipur").await;
        assert_eq!((now, after), (v, participants));
        assert_ne!(title, "Half done");
        assert_eq!(app.db.count("pairing_participant").await, before_links);
        assert_eq!(app.db.count("audit_event").await, 0);
    }
}

#[tokio::test]
async fn create_update_and_delete_every_kind_of_record() {
    for app in TestApp::all_seeded().await {
        let k = keys_for(&app).await;
        let admin = k.admin.as_str();
        let ids = app
            .data(
                "{ theme: theme(slug: \"stream-mobility-and-transport\") { id } }",
                json!({}),
            )
            .await;
        // A city and a region.
        let city = data_as(
            &app,
            admin,
            "mutation { createCity(input: { slug: \"nova-gorica\", name: \"Nova Gorica\", kind: CITY, country: \"SI\", population: 31000, latitude: 45.96, longitude: 13.65 }) { city { id version name country { code } } } }",
            json!({}),
        )
        .await["createCity"]["city"]
            .clone();
        assert_eq!(city["country"]["code"], json!("SI"));
        let region = data_as(
            &app,
            admin,
            "mutation { createRegion(input: { slug: \"goriska\", name: \"Goriška\", country: \"SI\" }) { region { id version } } }",
            json!({}),
        )
        .await["createRegion"]["region"]
            .clone();
        // A pairing with both sides, a theme and SDGs; the partner side is a region.
        let created = data_as(
            &app,
            admin,
            "mutation($i: CreatePairingInput!) { createPairing(input: $i) { pairing { id slug version participants { side place { __typename } } themes { slug } sdgs { number } start { text } } } }",
            json!({ "i": {
                "slug": "nova-gorica-goriska", "kind": "CITY_TO_CITY", "title": "Nova Gorica – Goriška",
                "summary": "A test pairing.", "programmeRegion": "asia", "start": "2019-H1", "status": "ACTIVE",
                "participants": [
                    { "place": { "city": city["id"] }, "side": "EUROPEAN" },
                    { "place": { "region": region["id"] }, "side": "PARTNER" }],
                "themes": [ids["theme"]["id"]], "sdgs": [11, 13]
            } }),
        )
        .await["createPairing"]["pairing"]
            .clone();
        assert_eq!(created["version"], json!(1));
        assert_eq!(created["sdgs"].as_array().map(Vec::len), Some(2));
        assert_eq!(created["start"]["text"], json!("2019-H1"));
        let pairing_id = created["id"].clone();
        // Its UCAP with sections, a project, a stakeholder, an involvement, an activity.
        let ucap = data_as(
            &app,
            admin,
            "mutation($p: ID!) { createUcap(input: { pairing: $p, status: IN_PREPARATION, sections: [{ sectionType: \"overview\", body: \"Plans.\" }] }) { ucap { id version sections { body } } } }",
            json!({ "p": pairing_id }),
        )
        .await["createUcap"]["ucap"]
            .clone();
        let ucap = data_as(
            &app,
            admin,
            "mutation($u: ID!, $v: Int!) { updateUcap(input: { id: $u, version: $v, status: ADOPTED, sections: [{ sectionType: \"actions\", body: \"Act.\" }] }) { ucap { id version status sections { body } } } }",
            json!({ "u": ucap["id"], "v": ucap["version"] }),
        )
        .await["updateUcap"]["ucap"]
            .clone();
        assert_eq!(ucap["version"], json!(2));
        assert_eq!(ucap["sections"][0]["body"], json!("Act."));
        let project = data_as(
            &app,
            admin,
            "mutation($u: ID!, $c: ID) { createProject(input: { ucap: $u, slug: \"bike-lanes\", kind: PILOT, title: \"Bike lanes\", city: $c }) { project { id version } } }",
            json!({ "u": ucap["id"], "c": city["id"] }),
        )
        .await["createProject"]["project"]
            .clone();
        data_as(
            &app,
            admin,
            "mutation($id: ID!, $v: Int!) { updateProject(input: { id: $id, version: $v, title: \"Cycle lanes\", city: null }) { project { title city { slug } } } }",
            json!({ "id": project["id"], "v": project["version"] }),
        )
        .await;
        let stakeholder = data_as(
            &app,
            admin,
            "mutation($c: ID) { createStakeholder(input: { slug: \"ng-university\", name: \"University of Nova Gorica\", helix: ACADEMIA, city: $c, country: \"SI\" }) { stakeholder { id version } } }",
            json!({ "c": city["id"] }),
        )
        .await["createStakeholder"]["stakeholder"]
            .clone();
        let involvement = data_as(
            &app,
            admin,
            "mutation($s: ID!, $p: ID) { createInvolvement(input: { stakeholder: $s, target: { project: $p }, role: \"research partner\" }) { involvement { id version role } } }",
            json!({ "s": stakeholder["id"], "p": project["id"] }),
        )
        .await["createInvolvement"]["involvement"]
            .clone();
        data_as(
            &app,
            admin,
            "mutation($id: ID!, $v: Int!) { updateInvolvement(input: { id: $id, version: $v, role: \"lead researcher\" }) { involvement { role } } }",
            json!({ "id": involvement["id"], "v": involvement["version"] }),
        )
        .await;
        let activity = data_as(
            &app,
            admin,
            "mutation($p: ID!, $s: ID!) { createActivity(input: { slug: \"ng-kickoff\", date: \"2019-03\", kind: MISSION, title: \"Kick-off\", pairings: [$p], stakeholders: [{ stakeholder: $s }] }) { activity { id version date { text } } } }",
            json!({ "p": pairing_id, "s": stakeholder["id"] }),
        )
        .await["createActivity"]["activity"]
            .clone();
        assert_eq!(activity["date"]["text"], json!("2019-03"));
        // Deleting the pairing is refused while the activity hangs on it alone.
        let refused = app
            .graphql_as(
                Some(admin),
                "mutation($p: ID!) { deletePairing(input: { id: $p }) { deletedId } }",
                json!({ "p": pairing_id }),
            )
            .await;
        assert_eq!(code(&refused), "CONFLICT", "{refused}");
        // The city too, while it takes part in a pairing.
        let refused = app
            .graphql_as(
                Some(admin),
                "mutation($c: ID!) { deleteCity(input: { id: $c }) { deletedId } }",
                json!({ "c": city["id"] }),
            )
            .await;
        assert_eq!(code(&refused), "CONFLICT", "{refused}");
        data_as(
            &app,
            admin,
            "mutation($a: ID!, $v: Int!, $p: ID!) { updateActivity(input: { id: $a, version: $v, title: \"Kick-off mission\", pairings: [$p] }) { activity { version } } }",
            json!({ "a": activity["id"], "v": activity["version"], "p": pairing_id }),
        )
        .await;
        let deleted = data_as(
            &app,
            admin,
            "mutation($a: ID!) { deleteActivity(input: { id: $a }) { deletedId removed { entity count } } }",
            json!({ "a": activity["id"] }),
        )
        .await;
        assert_eq!(
            deleted["deleteActivity"]["removed"],
            json!([{ "entity": "ActivityLink", "count": 1 }, { "entity": "ActivityStakeholderLink", "count": 1 }])
        );
        // Now the pairing goes, and says what it took with it.
        let deleted = data_as(
            &app,
            admin,
            "mutation($p: ID!) { deletePairing(input: { id: $p, version: 1 }) { deletedId removed { entity count } } }",
            json!({ "p": pairing_id }),
        )
        .await;
        assert_eq!(
            deleted["deletePairing"]["removed"],
            json!([
                { "entity": "Participant", "count": 2 },
                { "entity": "ThemeLink", "count": 1 },
                { "entity": "SdgLink", "count": 2 },
                { "entity": "Ucap", "count": 1 },
                { "entity": "UcapSection", "count": 1 },
                { "entity": "Project", "count": 1 },
                { "entity": "Involvement", "count": 1 }
            ]),
            "{deleted}"
        );
        assert!(
            catalog::pairing_by_slug(&app.db.conn, "nova-gorica-goriska")
                .await
                .expect("lookup")
                .is_none()
        );
        for (mutation, id) in [
            ("deleteStakeholder", &stakeholder["id"]),
            ("deleteCity", &city["id"]),
            ("deleteRegion", &region["id"]),
        ] {
            data_as(
                &app,
                admin,
                &format!(
                    "mutation($id: ID!) {{ {mutation}(input: {{ id: $id }}) {{ deletedId }} }}"
                ),
                json!({ "id": id }),
            )
            .await;
        }
        assert!(
            catalog::city_by_slug(&app.db.conn, "nova-gorica")
                .await
                .expect("lookup")
                .is_none()
        );
        // Every write is in the audit trail, newest first.
        let events = data_as(
            &app,
            admin,
            "{ auditEvents(first: 100) { totalCount nodes { entity action } } }",
            json!({}),
        )
        .await;
        let nodes = events["auditEvents"]["nodes"]
            .as_array()
            .expect("nodes")
            .clone();
        assert_eq!(events["auditEvents"]["totalCount"], json!(17), "{events}");
        assert_eq!(nodes[0], json!({ "entity": "Region", "action": "DELETE" }));
        assert_eq!(nodes[16], json!({ "entity": "City", "action": "CREATE" }));
    }
}

#[tokio::test]
async fn a_stakeholder_key_changes_the_pairings_it_is_involved_in_and_cannot_add_itself_elsewhere()
{
    for app in TestApp::all_seeded().await {
        let db = &app.db.conn;
        let org =
            catalog::stakeholder_by_slug(db, "association-of-commerce-for-the-historical-centre")
                .await
                .expect("lookup")
                .expect("in the seed");
        let key = keys::create(
            db,
            "acchc",
            Role::Partner,
            Some(Organisation::Stakeholder(org.id)),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{}", e.message()))
        .secret;
        // Involved in madrid-buenos-aires: may change it.
        let (id, v, _, _) = pairing(&app, "madrid-buenos-aires").await;
        data_as(
            &app,
            &key,
            UPDATE_TITLE,
            json!({ "id": id, "v": v, "t": "Madrid – Buenos Aires" }),
        )
        .await;
        // Not involved in aarhus-udaipur: may neither change it nor add itself to it.
        let (other, v, _, _) = pairing(&app, "aarhus-udaipur").await;
        let refused = app
            .graphql_as(
                Some(&key),
                UPDATE_TITLE,
                json!({ "id": other, "v": v, "t": "x" }),
            )
            .await;
        assert_eq!(code(&refused), "FORBIDDEN");
        let me = api::id::encode(api::id::NodeType::Stakeholder, org.id).0;
        let refused = app
            .graphql_as(
                Some(&key),
                "mutation($s: ID!, $p: ID) { createInvolvement(input: { stakeholder: $s, target: { pairing: $p } }) { involvement { id } } }",
                json!({ "s": me, "p": other }),
            )
            .await;
        assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
        // Its own record, yes; creating organisations, no.
        data_as(
            &app,
            &key,
            "mutation($s: ID!, $v: Int!) { updateStakeholder(input: { id: $s, version: $v, description: \"Traders of the historic centre\" }) { stakeholder { version } } }",
            json!({ "s": me, "v": org.version }),
        )
        .await;
        let refused = app
            .graphql_as(
                Some(&key),
                "mutation { createStakeholder(input: { slug: \"x\", name: \"X\", helix: BUSINESS }) { stakeholder { id } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&refused), "FORBIDDEN");
        assert_eq!(pairing(&app, "aarhus-udaipur").await.1, v);
    }
}

#[tokio::test]
async fn an_import_is_audited_and_moves_versions_on() {
    for app in TestApp::all_seeded().await {
        let k = keys_for(&app).await;
        let (_, v, _, _) = pairing(&app, "aarhus-udaipur").await;
        let mut data: Value =
            serde_json::from_str(api::service::seed::SEED_JSON).expect("the seed is JSON");
        let pairings = data["pairings"].as_array_mut().expect("pairings");
        let record = pairings
            .iter_mut()
            .find(|p| p["slug"] == json!("aarhus-udaipur"))
            .expect("in the seed");
        record["title"] = json!("Aarhus – Udaipur (imported)");
        let changes = api::service::seed::import_text(
            &app.db.conn,
            "edited.json",
            &data.to_string(),
            api::service::seed::Mode::Apply,
            api::service::write::Actor::command_line("cli import edited.json"),
        )
        .await
        .expect("the import applies");
        assert_eq!(changes.updated.get("pairing"), Some(&1));
        let (_, now, title, _) = pairing(&app, "aarhus-udaipur").await;
        assert_eq!(
            (now, title.as_str()),
            (v + 1, "Aarhus – Udaipur (imported)")
        );
        let events = data_as(
            &app,
            &k.admin,
            "{ auditEvents { totalCount nodes { actor keyNumber entity recordKey action changes } } }",
            json!({}),
        )
        .await;
        let events = &events["auditEvents"];
        assert_eq!(events["totalCount"], json!(2), "{events}");
        let summary = &events["nodes"][0];
        assert_eq!(summary["entity"], json!("Dataset"));
        assert_eq!(summary["changes"]["updated"]["pairing"], json!(1));
        let change = &events["nodes"][1];
        assert_eq!(change["actor"], json!("cli import edited.json"));
        assert_eq!(change["keyNumber"], Value::Null);
        assert_eq!(change["recordKey"], json!("aarhus-udaipur"));
        assert_eq!(
            change["changes"]["title"]["after"],
            json!("Aarhus – Udaipur (imported)")
        );
    }
}
