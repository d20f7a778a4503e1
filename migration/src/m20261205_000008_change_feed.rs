//! The public change feed: one row per committed change to a public record, numbered in
//! commit order (see `api/src/service/changes.rs` for how the numbering keeps that order on
//! PostgreSQL with concurrent writers).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // SQLite's AUTOINCREMENT never reuses a number, even after the highest row is
        // deleted: a reader's cursor can never be passed by an older number.
        let (serial, ts) = if manager.get_database_backend() == DbBackend::Postgres {
            ("BIGSERIAL PRIMARY KEY", "TIMESTAMPTZ")
        } else {
            ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT")
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE change_event (
                position {serial},
                at {ts} NOT NULL,
                entity TEXT NOT NULL,
                record_id INTEGER NOT NULL,
                action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
                version INTEGER NOT NULL,
                fields TEXT NOT NULL
            )"
        ))
        .await?;
        // `changedAfter` on the lists, and the feed filtered by record.
        db.execute_unprepared(
            "CREATE INDEX idx_change_event_record ON change_event (entity, record_id, position)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE change_event").await?;
        Ok(())
    }
}
