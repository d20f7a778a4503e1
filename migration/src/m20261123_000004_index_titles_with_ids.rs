//! Title orderings end in the id (`ORDER BY title, id`): with both in the index, a page of
//! pairings or projects by title is found from the index alone (the deferred join of
//! `service::page::fetch`), reading whole rows only for the page itself.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX idx_pairing_title_id ON pairing (title, id)")
            .await?;
        db.execute_unprepared("DROP INDEX idx_pairing_title")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX idx_pairing_title ON pairing (title)")
            .await?;
        db.execute_unprepared("DROP INDEX idx_pairing_title_id")
            .await?;
        Ok(())
    }
}
