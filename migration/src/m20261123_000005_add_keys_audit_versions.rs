//! Writes: API keys (stored only as a hash), the audit trail, and a `version` on every record
//! an API client can update, for optimistic concurrency (an update names the version it read;
//! a stale one is refused instead of overwriting someone else's change).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The records an API client updates directly; their children (participants, links, sections)
/// are written through them and bump their version.
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

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        for table in VERSIONED {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN version INTEGER NOT NULL DEFAULT 1"
            ))
            .await?;
        }
        let (serial, ts) = if pg {
            ("SERIAL PRIMARY KEY", "TIMESTAMPTZ")
        } else {
            ("INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT")
        };
        // A key belongs to exactly one organisation unless it is an administrator's; it means
        // nothing without its owner, so deleting the owner deletes its keys.
        db.execute_unprepared(&format!(
            "CREATE TABLE api_key (
                id {serial},
                name TEXT NOT NULL CHECK (length(name) > 0),
                token_prefix TEXT NOT NULL,
                token_hash TEXT NOT NULL,
                role TEXT NOT NULL CHECK (role IN ('admin', 'partner')),
                stakeholder_id INTEGER REFERENCES stakeholder (id) ON DELETE CASCADE,
                city_id INTEGER REFERENCES city (id) ON DELETE CASCADE,
                region_id INTEGER REFERENCES region (id) ON DELETE CASCADE,
                created_at {ts} NOT NULL,
                created_by INTEGER,
                last_used_at {ts},
                revoked_at {ts},
                CONSTRAINT ck_api_key_owner CHECK (
                    (role = 'admin' AND stakeholder_id IS NULL AND city_id IS NULL
                        AND region_id IS NULL)
                    OR (role = 'partner' AND (CASE WHEN stakeholder_id IS NULL THEN 0 ELSE 1 END
                        + CASE WHEN city_id IS NULL THEN 0 ELSE 1 END
                        + CASE WHEN region_id IS NULL THEN 0 ELSE 1 END) = 1)
                )
            )"
        ))
        .await?;
        db.execute_unprepared("CREATE UNIQUE INDEX uq_api_key_token_hash ON api_key (token_hash)")
            .await?;
        for owner in ["stakeholder_id", "city_id", "region_id"] {
            db.execute_unprepared(&format!(
                "CREATE INDEX idx_api_key_{owner}_present ON api_key ({owner}) \
                 WHERE {owner} IS NOT NULL"
            ))
            .await?;
        }
        // The audit trail keeps plain copies (key name, organisation) rather than foreign
        // keys: it must outlive the keys, organisations and records it talks about.
        db.execute_unprepared(&format!(
            "CREATE TABLE audit_event (
                id {serial},
                at {ts} NOT NULL,
                key_id INTEGER,
                actor TEXT NOT NULL,
                organisation TEXT,
                organisation_name TEXT,
                entity TEXT NOT NULL,
                record_id INTEGER NOT NULL,
                record_key TEXT,
                action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
                changes TEXT NOT NULL
            )"
        ))
        .await?;
        for (name, columns) in [
            ("idx_audit_event_record", "entity, record_id, id"),
            ("idx_audit_event_organisation", "organisation, id"),
            ("idx_audit_event_key", "key_id, id"),
        ] {
            db.execute_unprepared(&format!("CREATE INDEX {name} ON audit_event ({columns})"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP TABLE audit_event").await?;
        db.execute_unprepared("DROP TABLE api_key").await?;
        for table in VERSIONED {
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN version"))
                .await?;
        }
        Ok(())
    }
}
