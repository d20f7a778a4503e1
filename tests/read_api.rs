//! The read API over HTTP on the seed data: pagination, filters, orderings, global IDs, both
//! directions of the relations, the summary, and errors with codes.

use api::service::seed::SEED_JSON;
use serde_json::{Value, json};

use crate::common::TestApp;

fn seed() -> Value {
    serde_json::from_str(SEED_JSON).unwrap()
}

fn slugs(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
}

#[tokio::test]
async fn pages_walk_the_whole_list_forwards_and_backwards_with_stable_cursors() {
    let total = seed()["pairings"].as_array().unwrap().len();
    for app in TestApp::all_seeded().await {
        let query = "query($after: String, $before: String, $first: Int, $last: Int) {
            pairings(first: $first, after: $after, last: $last, before: $before) {
              totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { slug title } } }";
        let mut seen = Vec::new();
        let mut titles = Vec::new();
        let mut after = Value::Null;
        loop {
            let data = app.data(query, json!({ "first": 7, "after": after })).await;
            let page = &data["pairings"];
            assert_eq!(page["totalCount"].as_u64(), Some(total as u64));
            seen.extend(slugs(page));
            titles.extend(
                page["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n["title"].as_str().unwrap().to_owned()),
            );
            if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(
            seen.len(),
            total,
            "[{:?}] every pairing once",
            app.db.backend
        );
        let mut sorted = titles.clone();
        sorted.sort();
        assert_eq!(titles, sorted, "ordered by title");

        // Backwards from the end gives the same rows.
        let data = app.data(query, json!({ "last": 5 })).await;
        assert_eq!(slugs(&data["pairings"]), seen[total - 5..].to_vec());
        assert!(
            data["pairings"]["pageInfo"]["hasPreviousPage"]
                .as_bool()
                .unwrap()
        );
        let before = data["pairings"]["pageInfo"]["startCursor"].clone();
        let data = app
            .data(query, json!({ "last": 5, "before": before }))
            .await;
        assert_eq!(
            slugs(&data["pairings"]),
            seen[total - 10..total - 5].to_vec()
        );

        // A cursor stays valid when rows are inserted before it (keyset, not offset).
        let first = app.data(query, json!({ "first": 3 })).await;
        let cursor = first["pairings"]["pageInfo"]["endCursor"].clone();
        let expected = app
            .data(query, json!({ "first": 3, "after": cursor.clone() }))
            .await;
        let region = app.db.count("programme_region").await;
        assert!(region > 0);
        sea_orm::ConnectionTrait::execute_unprepared(
            &app.db.conn,
            "INSERT INTO pairing (slug, kind, title, summary, search_text, programme_region_id, status, sources, updated_at) \
             SELECT 'aaa-new', 'city_to_city', 'AAA New pairing', 's', 's', MIN(id), 'active', '[]', \
             '2026-01-01T00:00:00+00:00' FROM programme_region",
        )
        .await
        .unwrap();
        let again = app
            .data(query, json!({ "first": 3, "after": cursor }))
            .await;
        assert_eq!(slugs(&again["pairings"]), slugs(&expected["pairings"]));
    }
}

#[tokio::test]
async fn page_limits_and_bad_ids_are_client_errors_with_codes() {
    for app in TestApp::all_seeded().await {
        let response = app
            .graphql("{ pairings(first: 101) { nodes { slug } } }", json!({}))
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT");
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("at most 100")
        );
        let response = app
            .graphql(
                "{ city(slug: \"rome\") { pairings(first: 500) { nodes { slug } } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT");
        let response = app
            .graphql(
                "{ pairings(after: \"garbage\") { nodes { slug } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT");
        let response = app
            .graphql("{ node(id: \"not-an-id\") { id } }", json!({}))
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT");
        let response = app
            .graphql(
                "{ pairings(filter: { countries: [\"Italy\"] }) { nodes { slug } } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT");
        assert!(
            response["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("ISO 3166-1")
        );
        for error in response["errors"].as_array().unwrap() {
            assert!(
                !error["message"]
                    .as_str()
                    .unwrap()
                    .to_lowercase()
                    .contains("select"),
                "SQL leaked: {error}"
            );
        }
    }
}

#[tokio::test]
async fn global_ids_resolve_through_node_and_nodes() {
    for app in TestApp::all_seeded().await {
        let data = app
            .data(
                "{ city(slug: \"rome\") { id name } pairing(slug: \"rome-yantai\") { id } }",
                json!({}),
            )
            .await;
        let city_id = data["city"]["id"].clone();
        let pairing_id = data["pairing"]["id"].clone();
        let data = app
            .data(
                "query($ids: [ID!]!, $id: ID!) { node(id: $id) { id ... on City { name } }
                   nodes(ids: $ids) { __typename ... on Pairing { slug } ... on City { slug } } }",
                json!({ "id": city_id, "ids": [pairing_id, city_id] }),
            )
            .await;
        assert_eq!(data["node"]["name"], "Rome");
        assert_eq!(
            data["nodes"],
            json!([{ "__typename": "Pairing", "slug": "rome-yantai" }, { "__typename": "City", "slug": "rome" }])
        );
        // A well-formed ID of a row that does not exist is null, not an error.
        let missing = api::id::encode(api::id::NodeType::City, 999_999);
        let data = app
            .data(
                "query($id: ID!) { node(id: $id) { id } }",
                json!({ "id": missing }),
            )
            .await;
        assert_eq!(data["node"], Value::Null);
    }
}

#[tokio::test]
async fn pairing_filters_combine() {
    let seed = seed();
    let pairings = seed["pairings"].as_array().unwrap();
    let region_to_region = pairings
        .iter()
        .filter(|p| p["kind"] == "region_to_region")
        .count();
    let india = pairings
        .iter()
        .filter(|p| p["programme_region"] == "india")
        .count();
    let mobility: Vec<&Value> = pairings
        .iter()
        .filter(|p| {
            p["themes"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| x == "stream-mobility-and-transport"))
        })
        .collect();
    assert!(!mobility.is_empty(), "the seed has a mobility stream");
    for app in TestApp::all_seeded().await {
        let count = |filter: Value| {
            let app = &app;
            async move {
                let data = app.data("query($f: PairingFilter) { pairings(filter: $f, first: 100) { totalCount nodes { slug } } }", json!({ "f": filter })).await;
                let total = data["pairings"]["totalCount"].as_u64().unwrap();
                assert_eq!(
                    total as usize,
                    data["pairings"]["nodes"].as_array().unwrap().len()
                );
                (total as usize, slugs(&data["pairings"]))
            }
        };
        assert_eq!(
            count(json!({ "kind": "REGION_TO_REGION" })).await.0,
            region_to_region
        );
        assert_eq!(
            count(json!({ "programmeRegions": ["india"] })).await.0,
            india
        );
        assert_eq!(
            count(json!({ "themes": ["stream-mobility-and-transport"] }))
                .await
                .0,
            mobility.len()
        );
        // Italy on either side; on the European side; never on the partner side.
        let (any_it, _) = count(json!({ "countries": ["it"] })).await;
        let (european_it, list) = count(json!({ "europeanCountries": ["IT"] })).await;
        assert!(
            any_it > 5 && any_it == european_it,
            "{any_it} {european_it}"
        );
        assert!(list.contains(&"rome-yantai".to_owned()));
        assert_eq!(count(json!({ "partnerCountries": ["IT"] })).await.0, 0);
        let (cn, list) =
            count(json!({ "partnerCountries": ["CN"], "europeanCountries": ["IT"] })).await;
        assert!(cn >= 1 && list.contains(&"rome-yantai".to_owned()));
        let (started_2018, list) =
            count(json!({ "startYearFrom": 2018, "startYearTo": 2018 })).await;
        assert_eq!(
            (started_2018, list.contains(&"barnsley-liuzhou".to_owned())),
            (2, true)
        );
        let (_, list) = count(json!({ "search": "YANTAI" })).await;
        assert_eq!(list, vec!["rome-yantai".to_owned()]);
        assert_eq!(count(json!({ "themes": ["no-such-theme"] })).await.0, 0);
        assert_eq!(
            count(json!({ "sdgs": [11] })).await.0,
            0,
            "the seed links no SDGs (the icons were lost)"
        );
        let response = app
            .graphql(
                "{ pairings(filter: { sdgs: [18] }) { totalCount } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&response), "BAD_USER_INPUT");
        // Orderings.
        let data = app.data("{ pairings(orderBy: { field: START_DATE, direction: DESC }, first: 2) { nodes { slug start { text } } } }", json!({})).await;
        assert_eq!(data["pairings"]["nodes"][0]["slug"], "rome-yantai");
    }
}

/// Every city of `filter` in `order`, walked in pages of 4 forwards; and the same walked
/// backwards from the end, put back in order.
async fn walk_cities(app: &TestApp, filter: Value, order: Value) -> (Vec<String>, Vec<String>) {
    let query = "query($f: PlaceFilter, $o: PlaceOrder, $after: String, $before: String, $first: Int, $last: Int) {
        cities(filter: $f, orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
          totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { slug } } }";
    let mut walks = Vec::new();
    for forward in [true, false] {
        let (size, from, more, next) = if forward {
            ("first", "after", "hasNextPage", "endCursor")
        } else {
            ("last", "before", "hasPreviousPage", "startCursor")
        };
        let mut walked: Vec<String> = Vec::new();
        let mut cursor = Value::Null;
        loop {
            let mut variables = json!({ "f": filter, "o": order });
            variables[size] = json!(4);
            variables[from] = cursor;
            let data = app.data(query, variables).await;
            let page = slugs(&data["cities"]);
            if forward {
                walked.extend(page);
            } else {
                walked.splice(0..0, page);
            }
            assert!(data["cities"]["totalCount"].as_u64().unwrap() as usize >= walked.len());
            if !data["cities"]["pageInfo"][more].as_bool().unwrap() {
                break;
            }
            cursor = data["cities"]["pageInfo"][next].clone();
        }
        walks.push(walked);
    }
    let backwards = walks.pop().unwrap_or_default();
    let forwards = walks.pop().unwrap_or_default();
    (forwards, backwards)
}

#[tokio::test]
async fn city_pages_walk_forwards_and_backwards_in_one_query_and_as_a_deferred_join() {
    let seed = seed();
    let cities = seed["cities"].as_array().unwrap();
    let folded = |c: &Value| api::text::fold(c["name"].as_str().unwrap());
    for app in TestApp::all_seeded().await {
        // A name prefix alone reads its page in one query (`Shape::Direct`); with a side it is
        // a deferred join. Both must list the same cities in the same order, both ways.
        let expected_b: Vec<String> = {
            let mut b: Vec<&Value> = cities
                .iter()
                .filter(|c| folded(c).starts_with('b'))
                .collect();
            b.sort_by_key(|c| (folded(c), c["slug"].as_str().unwrap().to_owned()));
            b.iter()
                .map(|c| c["slug"].as_str().unwrap().to_owned())
                .collect()
        };
        assert!(
            expected_b.len() > 4,
            "several pages of cities starting with B"
        );
        let (forwards, backwards) =
            walk_cities(&app, json!({ "nameStartsWith": "b" }), json!(null)).await;
        assert_eq!(
            forwards, backwards,
            "[{:?}] both directions",
            app.db.backend
        );
        assert_eq!(
            forwards, expected_b,
            "[{:?}] by folded name",
            app.db.backend
        );

        let deferred = walk_cities(
            &app,
            json!({ "nameStartsWith": "b", "side": "EUROPEAN" }),
            json!(null),
        )
        .await;
        assert_eq!(
            deferred.0, deferred.1,
            "[{:?}] deferred, both directions",
            app.db.backend
        );
        assert!(!deferred.0.is_empty());
        let in_direct: Vec<&String> = forwards.iter().filter(|s| deferred.0.contains(s)).collect();
        assert_eq!(
            in_direct,
            deferred.0.iter().collect::<Vec<_>>(),
            "the same order"
        );

        // By population, descending, over every city: the direct shape with a sort.
        let (by_population, back) = walk_cities(
            &app,
            json!(null),
            json!({ "field": "POPULATION", "direction": "DESC" }),
        )
        .await;
        assert_eq!(by_population, back);
        assert_eq!(by_population.len(), cities.len());
        let population = |slug: &String| {
            cities
                .iter()
                .find(|c| c["slug"].as_str() == Some(slug))
                .and_then(|c| c["population"].as_i64())
                .unwrap_or(-1)
        };
        assert!(
            by_population
                .windows(2)
                .all(|w| population(&w[0]) >= population(&w[1])),
            "descending population"
        );
    }
}

#[tokio::test]
async fn city_search_is_accent_insensitive_and_filters_combine() {
    let seed = seed();
    let biggest = seed["cities"]
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|c| c["population"].as_i64().unwrap_or(-1))
        .unwrap()["slug"]
        .clone();
    for app in TestApp::all_seeded().await {
        let names = |filter: Value| {
            let app = &app;
            async move {
                let data = app.data("query($f: PlaceFilter) { cities(filter: $f, first: 100) { nodes { name } } }", json!({ "f": filter })).await;
                data["cities"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n["name"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert!(
            names(json!({ "nameContains": "malmo" }))
                .await
                .contains(&"Malmö".to_owned())
        );
        assert_eq!(
            names(json!({ "nameStartsWith": "Sao Leo" })).await,
            vec!["São Leopoldo".to_owned()]
        );
        assert!(
            names(json!({ "nameStartsWith": "leopoldo" }))
                .await
                .is_empty(),
            "a prefix, not a substring"
        );
        let italian = names(json!({ "countries": ["IT"], "side": "EUROPEAN" })).await;
        assert!(italian.contains(&"Rome".to_owned()) && !italian.contains(&"Yantai".to_owned()));
        let big = names(json!({ "populationMin": 2_000_000, "countries": ["IT", "CN"] })).await;
        assert!(big.contains(&"Rome".to_owned()) && big.contains(&"Yantai".to_owned()));
        assert!(!big.contains(&"Parma".to_owned()));
        let data = app.data("{ cities(orderBy: { field: POPULATION, direction: DESC }, first: 1) { nodes { slug } } }", json!({})).await;
        assert_eq!(data["cities"]["nodes"][0]["slug"], biggest);
        let data = app.data("{ cities(orderBy: { field: PAIRING_COUNT, direction: DESC }, first: 1) { nodes { name pairings { totalCount } } } }", json!({})).await;
        assert!(
            data["cities"]["nodes"][0]["pairings"]["totalCount"]
                .as_i64()
                .unwrap()
                >= 2,
            "some city is in several pairings"
        );
        let themed = names(json!({ "themes": ["topic-air-quality"] })).await;
        assert!(themed.contains(&"Rome".to_owned()) && themed.contains(&"Yantai".to_owned()));
    }
}

#[tokio::test]
async fn relations_are_traversable_both_ways() {
    for app in TestApp::all_seeded().await {
        let data = app
            .data(
                r#"{
                  city(slug: "rome") {
                    country { code cities(first: 100) { nodes { slug } } pairings(first: 100) { totalCount } }
                    pairings(first: 10) { nodes { slug } }
                    partners(first: 10) { nodes { side place { ... on City { name } } pairing { slug } } }
                    stakeholders { nodes { name } }
                  }
                  theme(slug: "topic-air-quality") { pairings { nodes { slug } } cities { nodes { name } } }
                  stakeholder(slug: "rome-iot-open-city-smart-lab") {
                    pairings { nodes { slug } } activities { nodes { title } } city { name }
                  }
                }"#,
                json!({}),
            )
            .await;
        let rome = &data["city"];
        assert_eq!(rome["country"]["code"], "IT");
        assert!(slugs(&rome["country"]["cities"]).contains(&"rome".to_owned()));
        assert!(slugs(&rome["pairings"]).contains(&"rome-yantai".to_owned()));
        let partners: Vec<&str> = rome["partners"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["place"]["name"].as_str().unwrap())
            .collect();
        assert!(partners.contains(&"Yantai"), "{partners:?}");
        assert!(
            rome["partners"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["place"]["name"] != "Rome")
        );
        assert!(slugs(&data["theme"]["pairings"]).contains(&"rome-yantai".to_owned()));
        let stakeholder = &data["stakeholder"];
        assert!(
            !stakeholder.is_null(),
            "the seed names the Rome IOT Open City Smart Lab"
        );
        assert!(slugs(&stakeholder["pairings"]).contains(&"rome-yantai".to_owned()));
        assert!(
            !stakeholder["activities"]["nodes"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        // Activities by date range.
        let data = app.data(r#"{ activities(filter: { from: "2018-11-01", to: "2018-11-30" }) { nodes { date { text } } } }"#, json!({})).await;
        let dates: Vec<&str> = data["activities"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["date"]["text"].as_str().unwrap())
            .collect();
        assert!(
            !dates.is_empty() && dates.iter().all(|d| d.starts_with("2018-11")),
            "{dates:?}"
        );
        // Stakeholders by helix and country.
        let data = app.data(r#"{ stakeholders(filter: { helix: [ACADEMIA], countries: ["CN"] }) { nodes { name helix } } }"#, json!({})).await;
        let names: Vec<&str> = data["stakeholders"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"University of Yantai"), "{names:?}");
    }
}

#[tokio::test]
async fn the_summary_is_computed_from_the_data() {
    let seed = seed();
    let pairings = seed["pairings"].as_array().unwrap();
    for app in TestApp::all_seeded().await {
        let data = app
            .data(
                "{ summary { pairings cities regions countries sides { side countries cities regions }
                   pairingKinds { kind pairings } themes(scheme: THEMATIC_STREAM) { theme { slug } pairings citiesAndRegions } } }",
                json!({}),
            )
            .await;
        let summary = &data["summary"];
        assert_eq!(summary["pairings"].as_u64(), Some(pairings.len() as u64));
        let kinds: u64 = summary["pairingKinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["pairings"].as_u64().unwrap())
            .sum();
        assert_eq!(kinds, pairings.len() as u64);
        let sides = summary["sides"].as_array().unwrap();
        assert_eq!(sides.len(), 2);
        let streams = summary["themes"].as_array().unwrap();
        assert_eq!(streams.len(), 6, "six thematic streams");
        for stream in streams {
            let slug = stream["theme"]["slug"].as_str().unwrap();
            let expected = pairings
                .iter()
                .filter(|p| {
                    p["themes"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|x| x == slug))
                })
                .count();
            assert_eq!(stream["pairings"].as_u64(), Some(expected as u64), "{slug}");
            assert!(stream["citiesAndRegions"].as_u64().unwrap() >= expected as u64);
        }
    }
}

/// Every page of `pairings(filter)` in title order, forwards (by `after`) and backwards (by
/// `before`), with the total.
async fn walk(app: &TestApp, filter: Value) -> (Vec<String>, Vec<String>, u64) {
    let query = "query($f: PairingFilter, $first: Int, $after: String, $last: Int, $before: String) {
        pairings(filter: $f, first: $first, after: $after, last: $last, before: $before) {
          totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { slug } } }";
    let (mut forwards, mut after) = (Vec::new(), Value::Null);
    let total = loop {
        let data = app
            .data(query, json!({ "f": filter, "first": 3, "after": after }))
            .await;
        let page = &data["pairings"];
        forwards.extend(slugs(page));
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break page["totalCount"].as_u64().unwrap();
        }
        after = page["pageInfo"]["endCursor"].clone();
    };
    let (mut backwards, mut before) = (Vec::new(), Value::Null);
    loop {
        let data = app
            .data(query, json!({ "f": filter, "last": 3, "before": before }))
            .await;
        let page = &data["pairings"];
        backwards.splice(0..0, slugs(page));
        if !page["pageInfo"]["hasPreviousPage"].as_bool().unwrap() {
            break;
        }
        before = page["pageInfo"]["startCursor"].clone();
    }
    (forwards, backwards, total)
}

/// A theme's pairings in title order are read from the title copy on `pairing_theme`
/// (migration 6). They must be the pages the general filter gives (`allThemes` takes the general
/// path), also after titles change and links are added by plain SQL: the copy is kept by
/// triggers, whoever writes.
#[tokio::test]
async fn a_themes_pages_by_title_are_the_general_filters_pages_whoever_writes() {
    use sea_orm::{ConnectionTrait, Statement};
    for app in TestApp::all_seeded().await {
        let db = &app.db.conn;
        let backend = db.get_database_backend();
        let sql = |s: &str| Statement::from_string(backend, s.to_owned());
        let row = db
            .query_one_raw(sql(
                "SELECT t.slug AS slug, t.id AS id FROM theme t JOIN pairing_theme pt ON pt.theme_id = t.id \
                 GROUP BY t.slug, t.id ORDER BY COUNT(*) DESC, t.slug LIMIT 1",
            ))
            .await
            .unwrap()
            .expect("a theme with pairings");
        let theme: String = row.try_get("", "slug").unwrap();
        let theme_id: i32 = row.try_get("", "id").unwrap();
        let compare = |label: &'static str| {
            let app = &app;
            let theme = theme.clone();
            async move {
                let fast = walk(app, json!({ "themes": [theme] })).await;
                let general = walk(app, json!({ "allThemes": [theme] })).await;
                assert!(fast.2 > 3, "{label}: the theme spans several pages");
                assert_eq!(fast.0.len() as u64, fast.2, "{label}");
                assert_eq!(fast, general, "[{:?}] {label}", app.db.backend);
                assert_eq!(fast.0, fast.1, "[{:?}] {label}: backwards", app.db.backend);
            }
        };
        compare("seed").await;

        // A title change moves the pairing in its themes' pages.
        db.execute_raw(sql(&format!(
            "UPDATE pairing SET title = 'AAA renamed' WHERE id = \
             (SELECT MAX(pairing_id) FROM pairing_theme WHERE theme_id = {theme_id})"
        )))
        .await
        .unwrap();
        compare("after a title change").await;
        // A link added without the copy gets it.
        db.execute_raw(sql(&format!(
            "INSERT INTO pairing_theme (pairing_id, theme_id) SELECT MIN(p.id), {theme_id} FROM pairing p \
             WHERE NOT EXISTS (SELECT 1 FROM pairing_theme x WHERE x.pairing_id = p.id AND x.theme_id = {theme_id})"
        )))
        .await
        .unwrap();
        compare("after a new link").await;

        let stale = db
            .query_one_raw(sql(
                "SELECT COUNT(*) AS n FROM pairing_theme pt JOIN pairing p ON p.id = pt.pairing_id \
                 WHERE pt.pairing_title <> p.title",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stale.try_get::<i64>("", "n").unwrap(), 0);
    }
}

#[tokio::test]
async fn sources_and_notes_read_through_joined_loaders_are_the_records_own() {
    // The joined loaders (participants with places and countries, themes, sections with their
    // types) leave `sources` and `notes` out of their rows unless the operation selects a field
    // of that name somewhere: directly, under an alias, in a fragment or an inline fragment.
    const PLAIN: &str = "{ pairings(first: 100) { nodes { slug themes { slug name } participants { place { ... on City { slug name country { code name } } ... on Region { slug name country { code } } } } } } }";
    let asked = [
        "{ pairings(first: 100) { nodes { slug themes { slug name s: sources { basis } } participants { place { ... on City { slug name notes country { code name sources { basis } } } ... on Region { slug name country { code } } } } } } }",
        "query { pairings(first: 100) { nodes { slug themes { slug name ...T } participants { place { ...P ... on Region { slug name country { code } } } } } } } fragment T on Theme { s: sources { basis } } fragment P on City { slug name notes country { code name sources { basis } } }",
    ];
    for app in TestApp::all_seeded().await {
        let plain = app.data(PLAIN, json!({})).await;
        for query in asked {
            let data = app.data(query, json!({})).await;
            let nodes = data["pairings"]["nodes"].as_array().unwrap();
            let mut checked = 0;
            for (node, plain_node) in nodes
                .iter()
                .zip(plain["pairings"]["nodes"].as_array().unwrap())
            {
                assert_eq!(node["slug"], plain_node["slug"]);
                for theme in node["themes"].as_array().unwrap() {
                    assert!(
                        !theme["s"].as_array().unwrap().is_empty(),
                        "[{:?}] theme {} shows its sources",
                        app.db.backend,
                        theme["slug"]
                    );
                }
                for participant in node["participants"].as_array().unwrap() {
                    let place = &participant["place"];
                    if place.get("notes").is_some() {
                        assert!(!place["country"]["sources"].as_array().unwrap().is_empty());
                        checked += 1;
                    }
                }
            }
            assert!(
                checked > 50,
                "[{:?}] cities checked: {checked}",
                app.db.backend
            );
            // The notes each city shows are the city's own, as it reads alone.
            let city = nodes
                .iter()
                .flat_map(|n| n["participants"].as_array().unwrap())
                .map(|p| &p["place"])
                .find(|p| p["notes"].is_string())
                .expect("a seed city with notes");
            let alone = app
                .data(
                    "query($s: String!) { city(slug: $s) { notes } }",
                    json!({ "s": city["slug"] }),
                )
                .await;
            assert_eq!(
                alone["city"]["notes"], city["notes"],
                "[{:?}]",
                app.db.backend
            );
        }
    }
}
