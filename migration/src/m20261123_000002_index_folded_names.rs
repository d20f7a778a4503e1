//! Indexes for name search and name order on folded names, compared bytewise: a prefix search
//! becomes an index range and a page by name reads only its rows. PostgreSQL compares with the
//! database's collation unless told otherwise, so its indexes say `COLLATE "C"` (as the queries
//! do); SQLite compares bytewise by default.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 3] = ["city", "region", "stakeholder"];

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
                    "CREATE INDEX idx_{table}_name_folded_bytes ON {table} (name_folded{collate}, id)"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .get_connection()
                .execute_unprepared(&format!("DROP INDEX idx_{table}_name_folded_bytes"))
                .await?;
        }
        Ok(())
    }
}
