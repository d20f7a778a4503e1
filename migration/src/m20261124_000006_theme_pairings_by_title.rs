//! The pairings table of a theme dashboard, `pairings(filter: { themes: [t] })` in title order,
//! from an index. Without one, the database reads pairings in title order and tests each for
//! the theme until it has a page: at 100k pairings, with a theme on one pairing in twelve, 600
//! index probes for a page of 50. `pairing_theme` now carries a copy of its pairing's title,
//! indexed as `(theme_id, pairing_title, pairing_id)`, so that a theme's page is a range of that
//! index. Triggers keep the copy equal to the title, whoever writes (the API, imports, the
//! generator, SQL by hand); the entity does not map the column, so no code writes it by
//! mistake. A row inserted with a title already set (the generator) keeps it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "ALTER TABLE pairing_theme ADD COLUMN pairing_title VARCHAR NOT NULL DEFAULT ''",
    "UPDATE pairing_theme pt SET pairing_title = p.title FROM pairing p WHERE p.id = pt.pairing_id",
    "CREATE INDEX idx_pairing_theme_theme_title ON pairing_theme (theme_id, pairing_title, pairing_id)",
    "CREATE FUNCTION pairing_theme_copy_title() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         SELECT title INTO NEW.pairing_title FROM pairing WHERE id = NEW.pairing_id;
         RETURN NEW;
     END $$",
    "CREATE TRIGGER pairing_theme_copy_title BEFORE INSERT ON pairing_theme
     FOR EACH ROW WHEN (NEW.pairing_title = '')
     EXECUTE FUNCTION pairing_theme_copy_title()",
    "CREATE TRIGGER pairing_theme_copy_title_on_move BEFORE UPDATE OF pairing_id ON pairing_theme
     FOR EACH ROW EXECUTE FUNCTION pairing_theme_copy_title()",
    "CREATE FUNCTION pairing_title_to_themes() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
         UPDATE pairing_theme SET pairing_title = NEW.title WHERE pairing_id = NEW.id;
         RETURN NULL;
     END $$",
    "CREATE TRIGGER pairing_title_to_themes AFTER UPDATE OF title ON pairing
     FOR EACH ROW WHEN (OLD.title IS DISTINCT FROM NEW.title)
     EXECUTE FUNCTION pairing_title_to_themes()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER pairing_title_to_themes ON pairing",
    "DROP FUNCTION pairing_title_to_themes()",
    "DROP TRIGGER pairing_theme_copy_title_on_move ON pairing_theme",
    "DROP TRIGGER pairing_theme_copy_title ON pairing_theme",
    "DROP FUNCTION pairing_theme_copy_title()",
    "DROP INDEX idx_pairing_theme_theme_title",
    "ALTER TABLE pairing_theme DROP COLUMN pairing_title",
];

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE pairing_theme ADD COLUMN pairing_title TEXT NOT NULL DEFAULT ''",
    "UPDATE pairing_theme SET pairing_title = \
     (SELECT p.title FROM pairing p WHERE p.id = pairing_theme.pairing_id)",
    "CREATE INDEX idx_pairing_theme_theme_title ON pairing_theme (theme_id, pairing_title, pairing_id)",
    "CREATE TRIGGER pairing_theme_copy_title AFTER INSERT ON pairing_theme
     FOR EACH ROW WHEN NEW.pairing_title = ''
     BEGIN
         UPDATE pairing_theme SET pairing_title = (SELECT title FROM pairing WHERE id = NEW.pairing_id)
         WHERE pairing_id = NEW.pairing_id AND theme_id = NEW.theme_id;
     END",
    "CREATE TRIGGER pairing_theme_copy_title_on_move AFTER UPDATE OF pairing_id ON pairing_theme
     FOR EACH ROW
     BEGIN
         UPDATE pairing_theme SET pairing_title = (SELECT title FROM pairing WHERE id = NEW.pairing_id)
         WHERE pairing_id = NEW.pairing_id AND theme_id = NEW.theme_id;
     END",
    "CREATE TRIGGER pairing_title_to_themes AFTER UPDATE OF title ON pairing
     FOR EACH ROW WHEN OLD.title IS NOT NEW.title
     BEGIN
         UPDATE pairing_theme SET pairing_title = NEW.title WHERE pairing_id = NEW.id;
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER pairing_title_to_themes",
    "DROP TRIGGER pairing_theme_copy_title_on_move",
    "DROP TRIGGER pairing_theme_copy_title",
    "DROP INDEX idx_pairing_theme_theme_title",
    "ALTER TABLE pairing_theme DROP COLUMN pairing_title",
];

async fn run(manager: &SchemaManager<'_>, postgres: &[&str], sqlite: &[&str]) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let statements = if manager.get_database_backend() == DbBackend::Postgres {
        postgres
    } else {
        sqlite
    };
    for statement in statements {
        db.execute_unprepared(statement).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}
