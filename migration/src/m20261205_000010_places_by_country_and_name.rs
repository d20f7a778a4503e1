//! Cities and regions of one country in name order (the city list filtered by a country, the
//! benchmark's city search): an index on (country_id, folded name, id), bytewise as the
//! name index of m20261123_000002, so that PostgreSQL reads the first page of one country's
//! places straight from the index instead of walking the name index over every country's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = ["city", "region"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let collate = match manager.get_database_backend() {
            DbBackend::Postgres => " COLLATE \"C\"",
            _ => "",
        };
        for table in TABLES {
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "CREATE INDEX idx_{table}_country_name_folded ON {table} \
                     (country_id, name_folded{collate}, id)"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX idx_{table}_country_name_folded"))
                .await?;
        }
        Ok(())
    }
}
