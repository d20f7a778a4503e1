//! The loader's part for provenance: the documents and derivation rules sources cite, the
//! programme record and the countries of each programme region.

use entity::*;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};

use super::{Loader, count_links, row};
use crate::service::dataset::{Dataset, ProgrammeRecord};
use crate::service::provenance;
use crate::service::write::links::tables::PROGRAMME_REGION_COUNTRIES;

impl<C: ConnectionTrait> Loader<'_, C> {
    /// The documents and rules, before any record that cites them.
    pub(super) async fn documents_and_rules(&mut self, data: &Dataset) -> Result<(), DbErr> {
        let (txn, changes) = (self.txn, &mut self.changes);
        for r in &data.documents {
            let model = document::Model {
                id: 0,
                key: r.key.clone(),
                kind: r.kind.as_str().to_owned(),
                title: r.title.clone(),
                url: r.url.clone(),
                notes: r.notes.clone(),
            };
            let id = row(
                txn,
                changes,
                "document",
                self.documents.get(&r.key),
                model.clone(),
            )
            .await?;
            self.documents
                .insert(r.key.clone(), document::Model { id, ..model });
        }
        for r in &data.rules {
            let model = derivation_rule::Model {
                id: 0,
                slug: r.slug.clone(),
                description: r.description.clone(),
            };
            let existing = self.rules.get(&r.slug);
            let id = row(txn, changes, "derivation_rule", existing, model.clone()).await?;
            self.rules
                .insert(r.slug.clone(), derivation_rule::Model { id, ..model });
        }
        Ok(())
    }

    /// The programme (one row, by slug) and the countries of each programme region the file
    /// lists (after the reference data, which they refer to).
    pub(super) async fn programme(&mut self, data: &Dataset) -> Result<(), DbErr> {
        if let Some(p) = &data.programme {
            let existing = programme::Entity::find().all(self.txn).await?;
            let old = existing.iter().find(|m| m.slug == p.slug);
            row(
                self.txn,
                &mut self.changes,
                "programme",
                old,
                programme_model(p),
            )
            .await?;
        }
        for r in &data.programme_regions {
            let id = self.programme_regions[&r.slug].id;
            let wanted = r
                .countries
                .iter()
                .map(|code| programme_region_country::Model {
                    programme_region_id: id,
                    country_id: self.country_id(code),
                })
                .collect();
            let synced = PROGRAMME_REGION_COUNTRIES
                .sync(self.txn, id, wanted)
                .await?;
            count_links(&mut self.changes, "programme_region_country", synced);
        }
        Ok(())
    }
}

/// The programme's row: its lists as JSON in the seed format.
fn programme_model(p: &ProgrammeRecord) -> programme::Model {
    programme::Model {
        id: 0,
        slug: p.slug.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        components: json(&p.components),
        follow_up: p.follow_up.as_ref().map(json),
        figures: json(&p.figures),
        sources: provenance::to_text(&p.sources),
        notes: p.notes.clone(),
    }
}

/// A list or object of the seed format, as stored.
fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}
