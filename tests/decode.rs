//! The positional row decoder (`service::decode`, used by every loader and page) reads each
//! entity exactly as sea-orm's derived `FromQueryResult` does: every row of every table of the
//! seed (with its NULLs), plus an API key and an audit event, on SQLite and PostgreSQL; and on
//! PostgreSQL, the same rows read back from JSON, as a wave's combined statement returns them.

use std::fmt::Debug;

use api::auth::Role;
use api::service::{decode, keys};
use entity::*;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryTrait,
    Statement, TryIntoModel,
};
use serde_json::json;

use crate::common::TestApp;

/// Compares both decodings of every row of `E`'s table; returns the table and its row count.
async fn same<E>(db: &impl ConnectionTrait) -> (String, usize)
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
    let standard = rows
        .iter()
        .map(|row| E::Model::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{table}: {e}"));
    let fast =
        decode::models::<E>(&decode::Rows::Sql(rows)).unwrap_or_else(|e| panic!("{table}: {e}"));
    assert_eq!(fast, standard, "{table}");
    if db.get_database_backend() == DbBackend::Postgres {
        // The rows of a wave's combined statement (`graphql::loader::combine`): as JSON.
        let find = E::find().build(DbBackend::Postgres).sql;
        let sql = format!("SELECT COALESCE(json_agg(q), '[]')::text FROM ({find}) q");
        let text: String = db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"))
            .expect("one row")
            .try_get_by_index(0)
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        let rows = decode::Rows::from_json(&text).unwrap_or_else(|e| panic!("{table}: {e}"));
        let json = decode::models::<E>(&rows).unwrap_or_else(|e| panic!("{table} as JSON: {e}"));
        assert_eq!(json, standard, "{table} as JSON");
    }
    (table, standard.len())
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
            same::<activity::Entity>(db).await,
            same::<activity_pairing::Entity>(db).await,
            same::<activity_stakeholder::Entity>(db).await,
            same::<api_key::Entity>(db).await,
            same::<audit_event::Entity>(db).await,
            same::<city::Entity>(db).await,
            same::<country::Entity>(db).await,
            same::<involvement::Entity>(db).await,
            same::<pairing::Entity>(db).await,
            same::<pairing_participant::Entity>(db).await,
            same::<pairing_sdg::Entity>(db).await,
            same::<pairing_theme::Entity>(db).await,
            same::<programme_region::Entity>(db).await,
            same::<project::Entity>(db).await,
            same::<region::Entity>(db).await,
            same::<sdg::Entity>(db).await,
            same::<stakeholder::Entity>(db).await,
            same::<theme::Entity>(db).await,
            same::<ucap::Entity>(db).await,
            same::<ucap_section::Entity>(db).await,
            same::<ucap_section_type::Entity>(db).await,
        ];
        // The seed has no SDG links yet; every other table has rows.
        for (table, n) in counts.into_iter().filter(|(t, _)| t != "pairing_sdg") {
            assert!(
                n > 0,
                "{:?}: {table} has no rows to compare",
                app.db.backend
            );
        }
    }
}
