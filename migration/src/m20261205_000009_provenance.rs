//! Provenance as data, and the programme as a record.
//!
//! - `document`: what a source cites (the seed's five source texts, and the external datasets
//!   such as GeoNames), by its key (`"004"`, `"geonames"`).
//! - `derivation_rule`: the named rules by which a `DERIVED` fact follows from stated ones.
//! - `sources` on every record that lacked it (reference data, UCAPs, projects): a JSON array
//!   of source objects, as on the other records (`api::service::provenance`).
//! - `programme`: the programme itself, one row, with its published figures, components and
//!   follow-up as JSON (each figure carries its own sources); `programme_region_country`: the
//!   countries each programme region covers, as country records.
//! - `activity.status`: `held`, or `planned` when the source announces the event as to come.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Document {
    Table,
    Id,
    Key,
    Kind,
    Title,
    Url,
    Notes,
}
#[derive(DeriveIden)]
enum DerivationRule {
    Table,
    Id,
    Slug,
    Description,
}
#[derive(DeriveIden)]
enum Programme {
    Table,
    Id,
    Slug,
    Name,
    Description,
    Components,
    FollowUp,
    Figures,
    Sources,
    Notes,
}
#[derive(DeriveIden)]
enum ProgrammeRegionCountry {
    Table,
    ProgrammeRegionId,
    CountryId,
}
#[derive(DeriveIden)]
enum ProgrammeRegion {
    Table,
    Id,
}
#[derive(DeriveIden)]
enum Country {
    Table,
    Id,
}

/// The records that had no `sources` column.
const GAINING_SOURCES: [&str; 7] = [
    "country",
    "programme_region",
    "theme",
    "sdg",
    "ucap_section_type",
    "ucap",
    "project",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_tables(manager).await?;
        let db = manager.get_connection();
        for table in GAINING_SOURCES {
            db.execute_unprepared(&format!(
                "ALTER TABLE {table} ADD COLUMN sources TEXT NOT NULL DEFAULT '[]'"
            ))
            .await?;
        }
        db.execute_unprepared(
            "ALTER TABLE activity ADD COLUMN status TEXT NOT NULL DEFAULT 'held'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE activity DROP COLUMN status")
            .await?;
        for table in GAINING_SOURCES {
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN sources"))
                .await?;
        }
        for table in [
            "programme_region_country",
            "programme",
            "derivation_rule",
            "document",
        ] {
            db.execute_unprepared(&format!("DROP TABLE {table}"))
                .await?;
        }
        Ok(())
    }
}

/// The documents sources cite.
fn document_table() -> TableCreateStatement {
    Table::create()
        .table(Document::Table)
        .col(pk_auto(Document::Id))
        .col(string(Document::Key).unique_key())
        .col(string(Document::Kind))
        .col(text(Document::Title))
        .col(text_null(Document::Url))
        .col(text_null(Document::Notes))
        .to_owned()
}

/// The named rules derived facts follow.
fn derivation_rule_table() -> TableCreateStatement {
    Table::create()
        .table(DerivationRule::Table)
        .col(pk_auto(DerivationRule::Id))
        .col(string(DerivationRule::Slug).unique_key())
        .col(text(DerivationRule::Description))
        .to_owned()
}

/// The programme, one record.
fn programme_table() -> TableCreateStatement {
    Table::create()
        .table(Programme::Table)
        .col(pk_auto(Programme::Id))
        .col(string(Programme::Slug).unique_key())
        .col(text(Programme::Name))
        .col(text_null(Programme::Description))
        .col(text(Programme::Components))
        .col(text_null(Programme::FollowUp))
        .col(text(Programme::Figures))
        .col(text(Programme::Sources))
        .col(text_null(Programme::Notes))
        .to_owned()
}

/// The countries of each programme region.
fn programme_region_country_table() -> TableCreateStatement {
    Table::create()
        .table(ProgrammeRegionCountry::Table)
        .col(integer(ProgrammeRegionCountry::ProgrammeRegionId))
        .col(integer(ProgrammeRegionCountry::CountryId))
        .primary_key(
            Index::create()
                .col(ProgrammeRegionCountry::ProgrammeRegionId)
                .col(ProgrammeRegionCountry::CountryId),
        )
        .foreign_key(
            ForeignKey::create()
                .from(
                    ProgrammeRegionCountry::Table,
                    ProgrammeRegionCountry::ProgrammeRegionId,
                )
                .to(ProgrammeRegion::Table, ProgrammeRegion::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .from(
                    ProgrammeRegionCountry::Table,
                    ProgrammeRegionCountry::CountryId,
                )
                .to(Country::Table, Country::Id),
        )
        .to_owned()
}

async fn create_tables(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    for table in [
        document_table(),
        derivation_rule_table(),
        programme_table(),
        programme_region_country_table(),
    ] {
        manager.create_table(table).await?;
    }
    manager
        .create_index(
            Index::create()
                .name("idx_programme_region_country_country_id")
                .table(ProgrammeRegionCountry::Table)
                .col(ProgrammeRegionCountry::CountryId)
                .to_owned(),
        )
        .await
}
