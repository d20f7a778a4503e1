//! Schema migrations for iuc-graph. Schema only: the seed data is loaded by the api crate's
//! `seed` service, never by a migration, so that a migration means the same on every install.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_create_programme_graph;
mod m20261123_000002_index_folded_names;
mod m20261123_000003_partial_indexes_on_optional_keys;
mod m20261123_000004_index_titles_with_ids;
mod m20261123_000005_add_keys_audit_versions;
mod m20261124_000006_theme_pairings_by_title;
mod m20261205_000007_updated_at;
mod m20261205_000008_change_feed;
mod m20261205_000009_provenance;
mod m20261205_000010_places_by_country_and_name;

/// Every migration, in order. The binary runs them at start-up, before it binds.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_create_programme_graph::Migration),
            Box::new(m20261123_000002_index_folded_names::Migration),
            Box::new(m20261123_000003_partial_indexes_on_optional_keys::Migration),
            Box::new(m20261123_000004_index_titles_with_ids::Migration),
            Box::new(m20261123_000005_add_keys_audit_versions::Migration),
            Box::new(m20261124_000006_theme_pairings_by_title::Migration),
            Box::new(m20261205_000007_updated_at::Migration),
            Box::new(m20261205_000008_change_feed::Migration),
            Box::new(m20261205_000009_provenance::Migration),
            Box::new(m20261205_000010_places_by_country_and_name::Migration),
        ]
    }
}
