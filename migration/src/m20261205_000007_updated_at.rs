//! `updated_at` on every versioned record: when the record last changed, set by the server in
//! the writing transaction (the same writes that bump `version`). Rows that exist when this
//! runs get the time of the migration: nothing better is known about them.
//!
//! The column has the type of `audit_event.at`: TIMESTAMPTZ on PostgreSQL, and on SQLite TEXT
//! in the form sea-orm (sqlx) writes a `DateTimeUtc`, RFC 3339 with `+00:00` and as many
//! fraction digits as needed (`2026-12-05T18:14:43.123456+00:00`), so that the migration's
//! value reads back like one the server wrote.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables of m20261123_000005's `VERSIONED`: the records with a `version`.
const VERSIONED: [&str; 8] = [
    "city",
    "region",
    "pairing",
    "ucap",
    "project",
    "stakeholder",
    "involvement",
    "activity",
];

/// The time of the migration as sqlx encodes a `DateTime<Utc>` for SQLite (its `Encode`:
/// `to_rfc3339_opts(SecondsFormat::AutoSi, false)`), to microseconds as the server keeps it.
fn migration_time() -> String {
    use chrono::{SecondsFormat, SubsecRound, Utc};
    Utc::now()
        .trunc_subsecs(6)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let now = migration_time();
        for table in VERSIONED {
            if manager.get_database_backend() == DbBackend::Postgres {
                // A constant default fills the existing rows in one pass (no table rewrite);
                // it is dropped after, so that a writer that forgets the column is refused
                // rather than given a wrong time.
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD COLUMN updated_at TIMESTAMPTZ NOT NULL \
                     DEFAULT '{now}'"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ALTER COLUMN updated_at DROP DEFAULT"
                ))
                .await?;
            } else {
                // SQLite adds a NOT NULL column only with a constant default, and cannot drop
                // it later: the epoch, so that a row written without the column (by hand)
                // shows plainly that its time is unknown; the rows of today get the
                // migration's time.
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD COLUMN updated_at TEXT NOT NULL \
                     DEFAULT '1970-01-01T00:00:00+00:00'"
                ))
                .await?;
                db.execute_unprepared(&format!("UPDATE {table} SET updated_at = '{now}'"))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for table in VERSIONED {
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN updated_at"))
                .await?;
        }
        Ok(())
    }
}
