//! The positional row decoder (`service::decode`, used by every loader and page) reads each
//! entity exactly as sea-orm's derived `FromQueryResult` does: every row of every table of the
//! seed (with its NULLs), plus an API key and an audit event, on SQLite and PostgreSQL.

use std::fmt::Debug;

use api::auth::Role;
use api::service::{decode, keys};
use entity::*;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryTrait, TryIntoModel,
};
use serde_json::json;

use crate::common::TestApp;

async fn same<E>(db: &impl ConnectionTrait) -> usize
where
    E: EntityTrait,
    E::Model: PartialEq + Debug,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    let table = E::default().table_name().to_owned();
    let rows = db
        .query_all_raw(E::find().build(db.get_database_backend()))
        .await
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    let fast = decode::models::<E>(&rows).unwrap_or_else(|e| panic!("{table}: {e}"));
    let standard = rows
        .iter()
        .map(|row| E::Model::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    assert_eq!(fast, standard, "{table}");
    rows.len()
}

#[tokio::test]
async fn positional_decoding_reads_every_entity_as_sea_orm_does() {
    for app in TestApp::all_seeded().await {
        let db = &app.db.conn;
        let admin = keys::create(db, "ops", Role::Admin, None, None)
            .await
            .unwrap_or_else(|e| panic!("admin key: {}", e.message()));
        // One audited write, so that audit_event has a row.
        let created = app
            .graphql_as(
                Some(&admin.secret),
                "mutation($i: CreateCityInput!) { createCity(input: $i) { city { id } } }",
                json!({ "i": { "slug": "decodeville", "name": "Decodeville", "country": "DK", "kind": "CITY", "population": 1200, "latitude": 55.5, "longitude": 9.5 } }),
            )
            .await;
        assert!(created.get("errors").is_none(), "{created}");

        let counts = [
            ("activity", same::<activity::Entity>(db).await),
            (
                "activity_pairing",
                same::<activity_pairing::Entity>(db).await,
            ),
            (
                "activity_stakeholder",
                same::<activity_stakeholder::Entity>(db).await,
            ),
            ("api_key", same::<api_key::Entity>(db).await),
            ("audit_event", same::<audit_event::Entity>(db).await),
            ("city", same::<city::Entity>(db).await),
            ("country", same::<country::Entity>(db).await),
            ("involvement", same::<involvement::Entity>(db).await),
            ("pairing", same::<pairing::Entity>(db).await),
            (
                "pairing_participant",
                same::<pairing_participant::Entity>(db).await,
            ),
            ("pairing_sdg", same::<pairing_sdg::Entity>(db).await),
            ("pairing_theme", same::<pairing_theme::Entity>(db).await),
            (
                "programme_region",
                same::<programme_region::Entity>(db).await,
            ),
            ("project", same::<project::Entity>(db).await),
            ("region", same::<region::Entity>(db).await),
            ("sdg", same::<sdg::Entity>(db).await),
            ("stakeholder", same::<stakeholder::Entity>(db).await),
            ("theme", same::<theme::Entity>(db).await),
            ("ucap", same::<ucap::Entity>(db).await),
            ("ucap_section", same::<ucap_section::Entity>(db).await),
            (
                "ucap_section_type",
                same::<ucap_section_type::Entity>(db).await,
            ),
        ];
        // The seed has no SDG links yet; every other table has rows.
        for (table, n) in counts.into_iter().filter(|(t, _)| *t != "pairing_sdg") {
            assert!(
                n > 0,
                "{:?}: {table} has no rows to compare",
                app.db.backend
            );
        }
    }
}
