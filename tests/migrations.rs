//! The migrations build the whole schema from empty, on every backend, and undo cleanly.

use migration::{Migrator, MigratorTrait};
use sea_orm::ConnectionTrait;

use crate::common::{Backend, TestDb};

const TABLES: [&str; 19] = [
    "country",
    "programme_region",
    "theme",
    "sdg",
    "ucap_section_type",
    "city",
    "region",
    "pairing",
    "pairing_participant",
    "pairing_theme",
    "pairing_sdg",
    "ucap",
    "ucap_section",
    "project",
    "stakeholder",
    "involvement",
    "activity",
    "activity_pairing",
    "activity_stakeholder",
];

async fn tables(db: &TestDb) -> Vec<String> {
    let sql = match db.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
    };
    let rows = db
        .conn
        .query_all_raw(sea_orm::Statement::from_string(
            db.conn.get_database_backend(),
            sql,
        ))
        .await
        .expect("the catalogue can be read");
    let mut names: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "name").expect("a name"))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn migrations_build_the_schema_from_empty_and_undo_cleanly() {
    for db in TestDb::all_empty().await {
        assert!(
            tables(&db).await.is_empty(),
            "[{:?}] a new database is empty",
            db.backend
        );
        api::db::migrate(&db.conn).await.expect("migrations apply");
        let created = tables(&db).await;
        for table in TABLES {
            assert!(
                created.iter().any(|t| t == table),
                "[{:?}] table {table} is missing",
                db.backend
            );
        }
        // Applying again is a no-op.
        api::db::migrate(&db.conn)
            .await
            .expect("migrations are idempotent");
        assert!(
            Migrator::get_pending_migrations(&db.conn)
                .await
                .expect("status")
                .is_empty()
        );

        Migrator::down(&db.conn, None)
            .await
            .expect("migrations undo");
        let left = tables(&db).await;
        assert_eq!(
            left,
            vec!["seaql_migrations".to_owned()],
            "[{:?}] only the bookkeeping table is left",
            db.backend
        );
        api::db::migrate(&db.conn)
            .await
            .expect("migrations apply again after an undo");
        assert_eq!(tables(&db).await, created);
    }
}

#[tokio::test]
async fn constraints_reject_what_the_model_forbids() {
    for db in TestDb::all().await {
        api::service::seed::load_seed(&db.conn)
            .await
            .expect("seed loads");
        // A participant that is both a city and a region, a duplicate participant, an SDG 18,
        // a dangling foreign key: each is refused by the database itself.
        let pairing = "(SELECT id FROM pairing WHERE slug = 'rome-yantai')";
        let rome = "(SELECT id FROM city WHERE slug = 'rome')";
        let region = "(SELECT MIN(id) FROM region)";
        let both = format!(
            "INSERT INTO pairing_participant (pairing_id, city_id, region_id, side, role, position) \
             VALUES ({pairing}, {rome}, {region}, 'european', 'lead', 9)"
        );
        let duplicate = format!(
            "INSERT INTO pairing_participant (pairing_id, city_id, region_id, side, role, position) \
             VALUES ({pairing}, {rome}, NULL, 'european', 'lead', 9)"
        );
        let sdg = "INSERT INTO sdg (number, name) VALUES (18, 'x')".to_owned();
        let dangling = "INSERT INTO city (slug, name, name_folded, kind, country_id, sources, \
                        updated_at) VALUES ('x', 'x', 'x', 'city', 999999, '[]', \
                        '2026-01-01T00:00:00+00:00')"
            .to_owned();
        for sql in [both, duplicate, sdg, dangling] {
            assert!(
                db.conn.execute_unprepared(&sql).await.is_err(),
                "[{:?}] accepted: {sql}",
                db.backend
            );
        }
    }
}

#[tokio::test]
async fn generation_keeps_every_foreign_key_and_they_still_hold() {
    // On PostgreSQL generation sets the foreign keys aside for the bulk load and puts them back.
    for db in TestDb::all().await {
        if db.backend != Backend::Postgres {
            continue;
        }
        let definitions = || async {
            let rows = db
                .conn
                .query_all_raw(sea_orm::Statement::from_string(
                    db.conn.get_database_backend(),
                    "SELECT c.conrelid::regclass::text || ' ' || c.conname || ' ' || \
                     pg_get_constraintdef(c.oid) AS def FROM pg_constraint c \
                     WHERE c.contype = 'f' AND c.convalidated ORDER BY 1",
                ))
                .await
                .unwrap();
            rows.iter()
                .map(|r| r.try_get::<String>("", "def").unwrap())
                .collect::<Vec<_>>()
        };
        let before = definitions().await;
        assert!(before.len() > 20, "{before:?}");
        api::service::generate::generate(
            &db.conn,
            api::service::generate::Options {
                pairings: 50,
                seed: 2,
            },
        )
        .await
        .expect("generate");
        assert_eq!(definitions().await, before);
        // And they are enforced: a participant of a pairing that does not exist is refused.
        let dangling = db
            .conn
            .execute_unprepared(
                "INSERT INTO pairing_participant (pairing_id, city_id, side, role, position) \
                 VALUES (999999, 1, 'european', 'lead', 9)",
            )
            .await;
        let error = dangling
            .expect_err("a dangling pairing_id is refused")
            .to_string();
        assert!(error.contains("foreign key"), "{error}");
    }
}
