//! `service::generate` fills every column that its tables' entities map (but for those it
//! leaves to the database on purpose), and the entities map every column of those tables: a
//! column added to an entity, or to a migration, is not silently left out of generated data.
//! (A field added to an entity already stops the generator compiling until it says what it
//! writes there; this test holds it to writing something.)

use api::service::generate::{Options, generate};
use entity::*;
use sea_orm::{ConnectionTrait, EntityTrait, IdenStatic, Iterable, Statement};

use crate::common::TestDb;

/// The columns the generator leaves empty (NULL), by table. `version` columns are left to
/// their default of 1.
const LEFT_EMPTY: &[(&str, &[&str])] = &[
    ("country", &["notes"]),
    ("programme_region", &["description"]),
    ("theme", &["description"]),
    (
        "city",
        &["leader", "photo_credit", "wikidata", "geonames_id", "notes"],
    ),
    ("pairing", &["description", "notes"]),
    ("pairing_participant", &["region_id"]),
    ("project", &["region_id"]),
    ("stakeholder", &["country_id", "notes"]),
    ("involvement", &["ucap_id"]),
    ("activity", &["description", "notes"]),
];

/// Columns that a table has and its entity does not map, on purpose (migration 6's title copy,
/// kept by triggers; the generator writes it).
const UNMAPPED: &[(&str, &str)] = &[("pairing_theme", "pairing_title")];

/// What is wrong with `E`'s table after generating, one line each; the table's name goes into
/// `checked`.
async fn problems<E: EntityTrait>(db: &TestDb, checked: &mut Vec<&'static str>) -> Vec<String> {
    let table = E::default().table_name();
    checked.push(table);
    let columns: Vec<&str> = E::Column::iter().map(|c| c.as_str()).collect();
    let counts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(k, c)| format!("COUNT({c}) AS c{k}"))
        .collect();
    let query = |sql: String| {
        db.conn
            .query_one_raw(Statement::from_string(db.conn.get_database_backend(), sql))
    };
    let filled = query(format!("SELECT {} FROM {table}", counts.join(", ")))
        .await
        .expect("the counts can be read")
        .expect("one row");
    let empty: &[&str] = LEFT_EMPTY
        .iter()
        .find(|(t, _)| *t == table)
        .map_or(&[], |(_, c)| c);
    let mut problems = Vec::new();
    for (k, column) in columns.iter().enumerate() {
        let n: i64 = filled.try_get("", &format!("c{k}")).expect("a count");
        if (n == 0) != empty.contains(column) {
            problems.push(format!("{table}.{column}: {n} values generated"));
        }
    }
    let row = query(format!("SELECT * FROM {table} LIMIT 1"))
        .await
        .expect("the table can be read")
        .expect("generated rows");
    for column in row.column_names() {
        let unmapped = UNMAPPED.contains(&(table, column.as_str()));
        if !columns.contains(&column.as_str()) && !unmapped {
            problems.push(format!("{table}.{column}: not mapped by the entity"));
        }
    }
    problems
}

#[tokio::test]
async fn generated_data_fills_every_column_of_its_tables() {
    for db in TestDb::all().await {
        let report = generate(
            &db.conn,
            Options {
                pairings: 50,
                seed: 3,
            },
        )
        .await
        .expect("generate");
        let mut checked = Vec::new();
        let mut all = Vec::new();
        all.extend(problems::<country::Entity>(&db, &mut checked).await);
        all.extend(problems::<programme_region::Entity>(&db, &mut checked).await);
        all.extend(problems::<theme::Entity>(&db, &mut checked).await);
        all.extend(problems::<sdg::Entity>(&db, &mut checked).await);
        all.extend(problems::<ucap_section_type::Entity>(&db, &mut checked).await);
        all.extend(problems::<city::Entity>(&db, &mut checked).await);
        all.extend(problems::<pairing::Entity>(&db, &mut checked).await);
        all.extend(problems::<pairing_participant::Entity>(&db, &mut checked).await);
        all.extend(problems::<pairing_theme::Entity>(&db, &mut checked).await);
        all.extend(problems::<pairing_sdg::Entity>(&db, &mut checked).await);
        all.extend(problems::<ucap::Entity>(&db, &mut checked).await);
        all.extend(problems::<ucap_section::Entity>(&db, &mut checked).await);
        all.extend(problems::<project::Entity>(&db, &mut checked).await);
        all.extend(problems::<stakeholder::Entity>(&db, &mut checked).await);
        all.extend(problems::<involvement::Entity>(&db, &mut checked).await);
        all.extend(problems::<activity::Entity>(&db, &mut checked).await);
        all.extend(problems::<activity_pairing::Entity>(&db, &mut checked).await);
        all.extend(problems::<activity_stakeholder::Entity>(&db, &mut checked).await);
        for (table, _) in &report.rows {
            assert!(
                checked.contains(table),
                "{table} is generated: check it here"
            );
        }
        assert!(all.is_empty(), "[{:?}]\n{}", db.backend, all.join("\n"));
    }
}
