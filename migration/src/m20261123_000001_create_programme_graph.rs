//! The IUC relation graph: reference data (countries, programme regions, themes, SDGs, UCAP
//! section types), places (cities, regions), pairings with their participants and links, UCAPs
//! with sections and projects, stakeholders with their involvements, and the activity timeline.
//!
//! Every foreign key and every column a filter or an ordering reads has an index: the read API
//! loads relations with `WHERE fk IN (…)` and filters with `EXISTS` subqueries over link tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Country {
    Table,
    Id,
    Code,
    Name,
    Notes,
}
#[derive(DeriveIden, Clone, Copy)]
enum ProgrammeRegion {
    Table,
    Id,
    Slug,
    Name,
    Description,
}
#[derive(DeriveIden, Clone, Copy)]
enum Theme {
    Table,
    Id,
    Slug,
    Scheme,
    Name,
    Description,
}
#[derive(DeriveIden, Clone, Copy)]
enum Sdg {
    Table,
    Id,
    Number,
    Name,
}
#[derive(DeriveIden, Clone, Copy)]
enum UcapSectionType {
    Table,
    Id,
    Slug,
    Name,
    Position,
}
#[derive(DeriveIden, Clone, Copy)]
enum City {
    Table,
    Id,
    Slug,
    Name,
    NameFolded,
    Kind,
    CountryId,
}
#[derive(DeriveIden, Clone, Copy)]
enum Region {
    Table,
    Id,
    Slug,
    Name,
    NameFolded,
    CountryId,
}
#[derive(DeriveIden, Clone, Copy)]
enum Pairing {
    Table,
    Id,
    Slug,
    Kind,
    Title,
    Summary,
    Description,
    SearchText,
    ProgrammeRegionId,
    StartDate,
    StartPrecision,
    Status,
    Sources,
    Notes,
}
#[derive(DeriveIden, Clone, Copy)]
enum PairingParticipant {
    Table,
    Id,
    PairingId,
    CityId,
    RegionId,
    Side,
    Role,
    Position,
}
#[derive(DeriveIden, Clone, Copy)]
enum PairingTheme {
    Table,
    PairingId,
    ThemeId,
}
#[derive(DeriveIden, Clone, Copy)]
enum PairingSdg {
    Table,
    PairingId,
    SdgId,
}
#[derive(DeriveIden, Clone, Copy)]
enum Ucap {
    Table,
    Id,
    PairingId,
    Status,
}
#[derive(DeriveIden, Clone, Copy)]
enum UcapSection {
    Table,
    Id,
    UcapId,
    SectionTypeId,
    Body,
}
#[derive(DeriveIden, Clone, Copy)]
enum Project {
    Table,
    Id,
    Slug,
    UcapId,
    Kind,
    Title,
    Description,
    CityId,
    RegionId,
    Position,
}
#[derive(DeriveIden, Clone, Copy)]
enum Stakeholder {
    Table,
    Id,
    Slug,
    Name,
    NameFolded,
    Helix,
    CityId,
    CountryId,
    Description,
    Sources,
    Notes,
}
#[derive(DeriveIden, Clone, Copy)]
enum Involvement {
    Table,
    Id,
    StakeholderId,
    PairingId,
    UcapId,
    ProjectId,
    Role,
}
#[derive(DeriveIden, Clone, Copy)]
enum Activity {
    Table,
    Id,
    Slug,
    Date,
    DatePrecision,
    Kind,
    Title,
    Description,
    Place,
    CityId,
    Sources,
    Notes,
}
#[derive(DeriveIden, Clone, Copy)]
enum ActivityPairing {
    Table,
    ActivityId,
    PairingId,
}
#[derive(DeriveIden, Clone, Copy)]
enum ActivityStakeholder {
    Table,
    ActivityId,
    StakeholderId,
    Role,
}

/// A foreign key from `table.column` to `to.id`; children go with their parent (`CASCADE`) only
/// where the child has no meaning alone, otherwise the delete is refused (`RESTRICT`).
fn fk(
    table: impl IntoIden + Copy,
    column: impl IntoIden + Copy,
    to: impl IntoIden + Copy,
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let action = if cascade {
        ForeignKeyAction::Cascade
    } else {
        ForeignKeyAction::Restrict
    };
    ForeignKey::create()
        .from(table, column)
        .to(to, Alias::new("id"))
        .on_delete(action)
        .on_update(ForeignKeyAction::NoAction)
        .to_owned()
}

/// `idx_<table>_<columns>`: one index per foreign-key or filter column (or column group).
fn index(
    table: impl IntoIden + Copy,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let table_name = table.into_iden().to_string();
    let mut statement = Index::create();
    statement
        .name(format!(
            "{}_{}_{}",
            if unique { "uq" } else { "idx" },
            table_name,
            columns.join("_")
        ))
        .table(table);
    for column in columns {
        statement.col(Alias::new(*column));
    }
    if unique {
        statement.unique();
    }
    statement.to_owned()
}

/// The optional descriptive attributes that cities and regions share.
fn place_columns(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(big_integer_null(Alias::new("population")))
        .col(double_null(Alias::new("area_km2")))
        .col(string_null(Alias::new("leader")))
        .col(double_null(Alias::new("latitude")))
        .col(double_null(Alias::new("longitude")))
        .col(string_null(Alias::new("photo_credit")))
        .col(string_null(Alias::new("wikidata")))
        .col(big_integer_null(Alias::new("geonames_id")))
        .col(text(Alias::new("sources")))
        .col(text_null(Alias::new("notes")))
}

/// The reference data: countries, programme regions, themes, SDGs, UCAP section types.
fn reference_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Country::Table)
            .col(pk_auto(Country::Id))
            .col(string_len_uniq(Country::Code, 2))
            .col(string(Country::Name))
            .col(text_null(Country::Notes))
            .to_owned(),
        Table::create()
            .table(ProgrammeRegion::Table)
            .col(pk_auto(ProgrammeRegion::Id))
            .col(string_uniq(ProgrammeRegion::Slug))
            .col(string(ProgrammeRegion::Name))
            .col(text_null(ProgrammeRegion::Description))
            .to_owned(),
        Table::create()
            .table(Theme::Table)
            .col(pk_auto(Theme::Id))
            .col(string_uniq(Theme::Slug))
            .col(string_len(Theme::Scheme, 32))
            .col(string(Theme::Name))
            .col(text_null(Theme::Description))
            .to_owned(),
        Table::create()
            .table(Sdg::Table)
            .col(pk_auto(Sdg::Id))
            .col(integer_uniq(Sdg::Number).check(Expr::col(Sdg::Number).between(1, 17)))
            .col(string(Sdg::Name))
            .to_owned(),
        Table::create()
            .table(UcapSectionType::Table)
            .col(pk_auto(UcapSectionType::Id))
            .col(string_uniq(UcapSectionType::Slug))
            .col(string(UcapSectionType::Name))
            .col(integer(UcapSectionType::Position))
            .to_owned(),
    ]
}

/// Cities and regions, with the columns they share.
fn place_tables() -> Vec<TableCreateStatement> {
    let mut city = Table::create();
    city.table(City::Table)
        .col(pk_auto(City::Id))
        .col(string_uniq(City::Slug))
        .col(string(City::Name))
        .col(string(City::NameFolded))
        .col(string_len(City::Kind, 32))
        .col(integer(City::CountryId));
    place_columns(&mut city).foreign_key(&mut fk(
        City::Table,
        City::CountryId,
        Country::Table,
        false,
    ));
    let mut region = Table::create();
    region
        .table(Region::Table)
        .col(pk_auto(Region::Id))
        .col(string_uniq(Region::Slug))
        .col(string(Region::Name))
        .col(string(Region::NameFolded))
        .col(integer(Region::CountryId));
    place_columns(&mut region).foreign_key(&mut fk(
        Region::Table,
        Region::CountryId,
        Country::Table,
        false,
    ));
    vec![city.to_owned(), region.to_owned()]
}

/// Pairings and their participants.
fn pairing_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Pairing::Table)
            .col(pk_auto(Pairing::Id))
            .col(string_uniq(Pairing::Slug))
            .col(string_len(Pairing::Kind, 32))
            .col(string(Pairing::Title))
            .col(text(Pairing::Summary))
            .col(text_null(Pairing::Description))
            .col(text(Pairing::SearchText))
            .col(integer(Pairing::ProgrammeRegionId))
            .col(date_null(Pairing::StartDate))
            .col(string_len_null(Pairing::StartPrecision, 16))
            .col(string_len(Pairing::Status, 32))
            .col(text(Pairing::Sources))
            .col(text_null(Pairing::Notes))
            .foreign_key(&mut fk(
                Pairing::Table,
                Pairing::ProgrammeRegionId,
                ProgrammeRegion::Table,
                false,
            ))
            .to_owned(),
        Table::create()
            .table(PairingParticipant::Table)
            .col(pk_auto(PairingParticipant::Id))
            .col(integer(PairingParticipant::PairingId))
            .col(integer_null(PairingParticipant::CityId))
            .col(integer_null(PairingParticipant::RegionId))
            .col(string_len(PairingParticipant::Side, 16))
            .col(string_len(PairingParticipant::Role, 16))
            .col(integer(PairingParticipant::Position))
            // A participant is a city or a region, never both, never neither.
            .check(
                Expr::col(PairingParticipant::CityId)
                    .is_null()
                    .ne(Expr::col(PairingParticipant::RegionId).is_null()),
            )
            .foreign_key(&mut fk(
                PairingParticipant::Table,
                PairingParticipant::PairingId,
                Pairing::Table,
                true,
            ))
            .foreign_key(&mut fk(
                PairingParticipant::Table,
                PairingParticipant::CityId,
                City::Table,
                false,
            ))
            .foreign_key(&mut fk(
                PairingParticipant::Table,
                PairingParticipant::RegionId,
                Region::Table,
                false,
            ))
            .to_owned(),
    ]
}

/// A pairing's themes and SDGs.
fn pairing_link_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(PairingTheme::Table)
            .col(integer(PairingTheme::PairingId))
            .col(integer(PairingTheme::ThemeId))
            .primary_key(
                Index::create()
                    .col(PairingTheme::PairingId)
                    .col(PairingTheme::ThemeId),
            )
            .foreign_key(&mut fk(
                PairingTheme::Table,
                PairingTheme::PairingId,
                Pairing::Table,
                true,
            ))
            .foreign_key(&mut fk(
                PairingTheme::Table,
                PairingTheme::ThemeId,
                Theme::Table,
                false,
            ))
            .to_owned(),
        Table::create()
            .table(PairingSdg::Table)
            .col(integer(PairingSdg::PairingId))
            .col(integer(PairingSdg::SdgId))
            .primary_key(
                Index::create()
                    .col(PairingSdg::PairingId)
                    .col(PairingSdg::SdgId),
            )
            .foreign_key(&mut fk(
                PairingSdg::Table,
                PairingSdg::PairingId,
                Pairing::Table,
                true,
            ))
            .foreign_key(&mut fk(
                PairingSdg::Table,
                PairingSdg::SdgId,
                Sdg::Table,
                false,
            ))
            .to_owned(),
    ]
}

/// UCAPs with their sections and projects.
fn ucap_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Ucap::Table)
            .col(pk_auto(Ucap::Id))
            .col(integer_uniq(Ucap::PairingId))
            .col(string_len(Ucap::Status, 32))
            .foreign_key(&mut fk(Ucap::Table, Ucap::PairingId, Pairing::Table, true))
            .to_owned(),
        Table::create()
            .table(UcapSection::Table)
            .col(pk_auto(UcapSection::Id))
            .col(integer(UcapSection::UcapId))
            .col(integer(UcapSection::SectionTypeId))
            .col(text(UcapSection::Body))
            .foreign_key(&mut fk(
                UcapSection::Table,
                UcapSection::UcapId,
                Ucap::Table,
                true,
            ))
            .foreign_key(&mut fk(
                UcapSection::Table,
                UcapSection::SectionTypeId,
                UcapSectionType::Table,
                false,
            ))
            .to_owned(),
        Table::create()
            .table(Project::Table)
            .col(pk_auto(Project::Id))
            .col(string_uniq(Project::Slug))
            .col(integer(Project::UcapId))
            .col(string_len(Project::Kind, 32))
            .col(string(Project::Title))
            .col(text_null(Project::Description))
            .col(integer_null(Project::CityId))
            .col(integer_null(Project::RegionId))
            .col(integer(Project::Position))
            .foreign_key(&mut fk(Project::Table, Project::UcapId, Ucap::Table, true))
            .foreign_key(&mut fk(Project::Table, Project::CityId, City::Table, false))
            .foreign_key(&mut fk(
                Project::Table,
                Project::RegionId,
                Region::Table,
                false,
            ))
            .to_owned(),
    ]
}

/// Stakeholders and their involvements.
fn stakeholder_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Stakeholder::Table)
            .col(pk_auto(Stakeholder::Id))
            .col(string_uniq(Stakeholder::Slug))
            .col(string(Stakeholder::Name))
            .col(string(Stakeholder::NameFolded))
            .col(string_len(Stakeholder::Helix, 32))
            .col(integer_null(Stakeholder::CityId))
            .col(integer_null(Stakeholder::CountryId))
            .col(text_null(Stakeholder::Description))
            .col(text(Stakeholder::Sources))
            .col(text_null(Stakeholder::Notes))
            .foreign_key(&mut fk(
                Stakeholder::Table,
                Stakeholder::CityId,
                City::Table,
                false,
            ))
            .foreign_key(&mut fk(
                Stakeholder::Table,
                Stakeholder::CountryId,
                Country::Table,
                false,
            ))
            .to_owned(),
        Table::create()
            .table(Involvement::Table)
            .col(pk_auto(Involvement::Id))
            .col(integer(Involvement::StakeholderId))
            .col(integer_null(Involvement::PairingId))
            .col(integer_null(Involvement::UcapId))
            .col(integer_null(Involvement::ProjectId))
            .col(text_null(Involvement::Role))
            // An involvement is in exactly one of a pairing, a UCAP or a project.
            .check(Expr::cust(
                "(CASE WHEN pairing_id IS NULL THEN 0 ELSE 1 END) \
                 + (CASE WHEN ucap_id IS NULL THEN 0 ELSE 1 END) \
                 + (CASE WHEN project_id IS NULL THEN 0 ELSE 1 END) = 1",
            ))
            .foreign_key(&mut fk(
                Involvement::Table,
                Involvement::StakeholderId,
                Stakeholder::Table,
                true,
            ))
            .foreign_key(&mut fk(
                Involvement::Table,
                Involvement::PairingId,
                Pairing::Table,
                true,
            ))
            .foreign_key(&mut fk(
                Involvement::Table,
                Involvement::UcapId,
                Ucap::Table,
                true,
            ))
            .foreign_key(&mut fk(
                Involvement::Table,
                Involvement::ProjectId,
                Project::Table,
                true,
            ))
            .to_owned(),
    ]
}

/// The timeline of activities, with their pairings and stakeholders.
fn activity_tables() -> Vec<TableCreateStatement> {
    vec![
        Table::create()
            .table(Activity::Table)
            .col(pk_auto(Activity::Id))
            .col(string_uniq(Activity::Slug))
            .col(date(Activity::Date))
            .col(string_len(Activity::DatePrecision, 16))
            .col(string_len(Activity::Kind, 32))
            .col(string(Activity::Title))
            .col(text_null(Activity::Description))
            .col(string_null(Activity::Place))
            .col(integer_null(Activity::CityId))
            .col(text(Activity::Sources))
            .col(text_null(Activity::Notes))
            .foreign_key(&mut fk(
                Activity::Table,
                Activity::CityId,
                City::Table,
                false,
            ))
            .to_owned(),
        Table::create()
            .table(ActivityPairing::Table)
            .col(integer(ActivityPairing::ActivityId))
            .col(integer(ActivityPairing::PairingId))
            .primary_key(
                Index::create()
                    .col(ActivityPairing::ActivityId)
                    .col(ActivityPairing::PairingId),
            )
            .foreign_key(&mut fk(
                ActivityPairing::Table,
                ActivityPairing::ActivityId,
                Activity::Table,
                true,
            ))
            .foreign_key(&mut fk(
                ActivityPairing::Table,
                ActivityPairing::PairingId,
                Pairing::Table,
                true,
            ))
            .to_owned(),
        Table::create()
            .table(ActivityStakeholder::Table)
            .col(integer(ActivityStakeholder::ActivityId))
            .col(integer(ActivityStakeholder::StakeholderId))
            .col(text_null(ActivityStakeholder::Role))
            .primary_key(
                Index::create()
                    .col(ActivityStakeholder::ActivityId)
                    .col(ActivityStakeholder::StakeholderId),
            )
            .foreign_key(&mut fk(
                ActivityStakeholder::Table,
                ActivityStakeholder::ActivityId,
                Activity::Table,
                true,
            ))
            .foreign_key(&mut fk(
                ActivityStakeholder::Table,
                ActivityStakeholder::StakeholderId,
                Stakeholder::Table,
                true,
            ))
            .to_owned(),
    ]
}

/// The indexes, after the tables they index.
fn indexes() -> Vec<IndexCreateStatement> {
    vec![
        index(Theme::Table, &["scheme"], false),
        index(City::Table, &["country_id"], false),
        index(City::Table, &["name_folded"], false),
        index(City::Table, &["population"], false),
        index(City::Table, &["kind"], false),
        index(Region::Table, &["country_id"], false),
        index(Region::Table, &["name_folded"], false),
        index(Region::Table, &["population"], false),
        index(Pairing::Table, &["programme_region_id"], false),
        index(Pairing::Table, &["kind"], false),
        index(Pairing::Table, &["start_date"], false),
        index(Pairing::Table, &["status"], false),
        index(Pairing::Table, &["title"], false),
        index(PairingParticipant::Table, &["pairing_id"], false),
        index(PairingParticipant::Table, &["city_id"], false),
        index(PairingParticipant::Table, &["region_id"], false),
        index(PairingParticipant::Table, &["side"], false),
        // No city or region twice in one pairing.
        index(PairingParticipant::Table, &["pairing_id", "city_id"], true),
        index(
            PairingParticipant::Table,
            &["pairing_id", "region_id"],
            true,
        ),
        index(PairingTheme::Table, &["theme_id"], false),
        index(PairingSdg::Table, &["sdg_id"], false),
        index(UcapSection::Table, &["ucap_id", "section_type_id"], true),
        index(UcapSection::Table, &["section_type_id"], false),
        index(Project::Table, &["ucap_id"], false),
        index(Project::Table, &["city_id"], false),
        index(Project::Table, &["region_id"], false),
        index(Project::Table, &["kind"], false),
        index(Stakeholder::Table, &["city_id"], false),
        index(Stakeholder::Table, &["country_id"], false),
        index(Stakeholder::Table, &["helix"], false),
        index(Stakeholder::Table, &["name_folded"], false),
        index(Involvement::Table, &["stakeholder_id"], false),
        index(Involvement::Table, &["pairing_id"], false),
        index(Involvement::Table, &["ucap_id"], false),
        index(Involvement::Table, &["project_id"], false),
        // One involvement per stakeholder and target (NULLs are distinct, so each index only
        // bites on rows that name its kind of target).
        index(Involvement::Table, &["stakeholder_id", "pairing_id"], true),
        index(Involvement::Table, &["stakeholder_id", "ucap_id"], true),
        index(Involvement::Table, &["stakeholder_id", "project_id"], true),
        index(Activity::Table, &["date"], false),
        index(Activity::Table, &["city_id"], false),
        index(Activity::Table, &["kind"], false),
        index(ActivityPairing::Table, &["pairing_id"], false),
        index(ActivityStakeholder::Table, &["stakeholder_id"], false),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Parents before children, so that every foreign key finds its table.
        let tables = [
            reference_tables(),
            place_tables(),
            pairing_tables(),
            pairing_link_tables(),
            ucap_tables(),
            stakeholder_tables(),
            activity_tables(),
        ];
        for table in tables.into_iter().flatten() {
            manager.create_table(table).await?;
        }
        for index in indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children first, so that no foreign key is left dangling.
        let tables: [DynIden; 19] = [
            ActivityStakeholder::Table.into_iden(),
            ActivityPairing::Table.into_iden(),
            Activity::Table.into_iden(),
            Involvement::Table.into_iden(),
            Stakeholder::Table.into_iden(),
            Project::Table.into_iden(),
            UcapSection::Table.into_iden(),
            Ucap::Table.into_iden(),
            PairingSdg::Table.into_iden(),
            PairingTheme::Table.into_iden(),
            PairingParticipant::Table.into_iden(),
            Pairing::Table.into_iden(),
            Region::Table.into_iden(),
            City::Table.into_iden(),
            UcapSectionType::Table.into_iden(),
            Sdg::Table.into_iden(),
            Theme::Table.into_iden(),
            ProgrammeRegion::Table.into_iden(),
            Country::Table.into_iden(),
        ];
        for table in tables {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
