//! Loads a dataset into the database: `iuc-graph seed`, the automatic seed of an empty database,
//! and `iuc-graph import` (this loader on a file, e.g. one `iuc-graph export` wrote). The load is
//! an upsert keyed by natural keys, run in one transaction:
//!
//! - a record that is not in the database is inserted; one that differs is updated; one that is
//!   equal is left alone, so that loading the same file twice changes nothing the second time;
//! - the children a record carries in the file (a pairing's participants, themes, SDGs and UCAP;
//!   a stakeholder's involvements; an activity's pairings and stakeholders) are made equal to
//!   the file: what the file no longer lists is deleted;
//! - records that the file does not mention are left alone;
//! - any error rolls everything back; a dry run rolls back on purpose and reports what would
//!   have changed.

use std::collections::{HashMap, HashSet};

use entity::*;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait, QueryFilter,
};

use super::dataset::{self, Changes, DataErrors, Dataset, KnownKeys};
use super::write::{self, Actor};
use crate::partial_date::PartialDate;
use crate::text::fold;

/// The dataset shipped with the binary: `data/seed.json`, written from the programme's sources.
pub const SEED_FILE_NAME: &str = "data/seed.json";
pub const SEED_JSON: &str = include_str!("../../../data/seed.json");

/// Why a load did not happen.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file is malformed or inconsistent: nothing was written.
    #[error("{0}")]
    Invalid(#[from] DataErrors),
    /// The database refused or failed: the transaction was rolled back.
    #[error("database error while loading: {0}")]
    Db(#[from] DbErr),
}

/// Whether to keep the changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    /// Run everything, report the changes, and roll back.
    DryRun,
}

/// Parses, validates and loads a dataset file's text.
pub async fn load_text(
    db: &DatabaseConnection,
    file: &str,
    text: &str,
    mode: Mode,
) -> Result<Changes, LoadError> {
    let data = dataset::parse(file, text)?;
    load(db, file, &data, mode).await
}

/// `import`: like `load_text`, and every record it creates or changes goes into the audit
/// trail under `actor`, with one closing event that sums up the import.
pub async fn import_text(
    db: &DatabaseConnection,
    file: &str,
    text: &str,
    mode: Mode,
    actor: Actor,
) -> Result<Changes, LoadError> {
    let data = dataset::parse(file, text)?;
    load_audited(db, file, &data, mode, Some(actor)).await
}

/// Loads the dataset shipped with the binary.
pub async fn load_seed(db: &DatabaseConnection) -> Result<Changes, LoadError> {
    load_text(db, SEED_FILE_NAME, SEED_JSON, Mode::Apply).await
}

/// True when the database holds no pairing and no reference data yet (a fresh install).
pub async fn is_empty(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(country::Entity::find().count(db).await? == 0
        && pairing::Entity::find().count(db).await? == 0)
}

/// Validates a parsed dataset against itself and the database, then writes it in one
/// transaction.
pub async fn load(
    db: &DatabaseConnection,
    file: &str,
    data: &Dataset,
    mode: Mode,
) -> Result<Changes, LoadError> {
    load_audited(db, file, data, mode, None).await
}

/// `load`, recording the changes in the audit trail when an actor is given. (The seed of a
/// fresh install is not audited: it is the starting point, not a change.)
pub async fn load_audited(
    db: &DatabaseConnection,
    file: &str,
    data: &Dataset,
    mode: Mode,
    actor: Option<Actor>,
) -> Result<Changes, LoadError> {
    // Reads every table first and writes after: see `db::begin_write`. A dry run writes too
    // (then rolls back), so it takes the write lock as well.
    let txn = crate::db::begin_write(db).await?;
    let mut loader = Loader::new(&txn).await?;
    loader.audit = actor;
    dataset::validate(file, data, &loader.known_keys())?;
    loader.apply(data).await?;
    loader.audit_summary(file).await?;
    let changes = loader.changes;
    match mode {
        Mode::Apply => txn.commit().await?,
        Mode::DryRun => txn.rollback().await?,
    }
    Ok(changes)
}

/// Inserts, updates or leaves alone one row, given the row that holds its natural key today.
/// Evaluates to the row's id.
macro_rules! upsert {
    ($self:ident, $kind:literal, $existing:expr, $model:expr) => {{
        let mut model = $model;
        match $existing {
            Some(old) => {
                model.id = old.id;
                // A changed record gets the next version, as an API update would give it, so
                // that a client holding the old version is told its copy is stale.
                if let Some(version) = Versioned::version(old) {
                    model.set_version(version);
                }
                if *old != model {
                    if let Some(version) = Versioned::version(old) {
                        model.set_version(version + 1);
                    }
                    model
                        .clone()
                        .into_active_model()
                        .reset_all()
                        .update($self.txn)
                        .await?;
                    $self.changes.update($kind);
                    $self
                        .audit_write($kind, model.id, Some(old), &model)
                        .await?;
                } else {
                    $self.changes.unchanged += 1;
                }
                model.id
            }
            None => {
                let mut active = model.into_active_model().reset_all();
                active.id = NotSet;
                let saved = active.insert($self.txn).await?;
                $self.changes.insert($kind);
                $self.audit_write($kind, saved.id, None, &saved).await?;
                saved.id
            }
        }
    }};
}

/// The audit trail's name for a kind of record (its GraphQL type).
fn audit_entity(kind: &str) -> &'static str {
    match kind {
        "city" => "City",
        "region" => "Region",
        "pairing" => "Pairing",
        "ucap" => "Ucap",
        "project" => "Project",
        "stakeholder" => "Stakeholder",
        "involvement" => "Involvement",
        "activity" => "Activity",
        _ => "Record",
    }
}

/// The version of records that carry one (see the `version` migration); others have none.
trait Versioned {
    fn version(&self) -> Option<i32>;
    fn set_version(&mut self, version: i32);
}

macro_rules! versioned {
    (yes: $($m:ident),*; no: $($n:ident),*) => {
        $(impl Versioned for $m::Model {
            fn version(&self) -> Option<i32> {
                Some(self.version)
            }
            fn set_version(&mut self, version: i32) {
                self.version = version;
            }
        })*
        $(impl Versioned for $n::Model {
            fn version(&self) -> Option<i32> {
                None
            }
            fn set_version(&mut self, _: i32) {}
        })*
    };
}

versioned!(
    yes: city, region, pairing, ucap, project, stakeholder, involvement, activity;
    no: country, programme_region, theme, sdg, ucap_section_type, pairing_participant,
        pairing_theme, pairing_sdg, ucap_section, activity_pairing, activity_stakeholder
);

/// Every row of a table keyed by its natural key.
async fn by_key<E, K>(
    db: &impl ConnectionTrait,
    key: impl Fn(&E::Model) -> K,
) -> Result<HashMap<K, E::Model>, DbErr>
where
    E: EntityTrait,
    K: std::hash::Hash + Eq,
{
    Ok(E::find()
        .all(db)
        .await?
        .into_iter()
        .map(|m| (key(&m), m))
        .collect())
}

struct Loader<'t, C: ConnectionTrait> {
    txn: &'t C,
    changes: Changes,
    /// Who the audit trail names; `None`: not audited.
    audit: Option<Actor>,
    countries: HashMap<String, country::Model>,
    programme_regions: HashMap<String, programme_region::Model>,
    themes: HashMap<String, theme::Model>,
    sdgs: HashMap<i32, sdg::Model>,
    section_types: HashMap<String, ucap_section_type::Model>,
    cities: HashMap<String, city::Model>,
    regions: HashMap<String, region::Model>,
    pairings: HashMap<String, pairing::Model>,
    projects: HashMap<String, project::Model>,
    stakeholders: HashMap<String, stakeholder::Model>,
    activities: HashMap<String, activity::Model>,
    ucaps: HashMap<i32, ucap::Model>,
}

fn sources_text(sources: &[String]) -> String {
    serde_json::to_string(sources).unwrap_or_else(|_| "[]".to_owned())
}

impl<'t, C: ConnectionTrait> Loader<'t, C> {
    async fn new(txn: &'t C) -> Result<Self, DbErr> {
        Ok(Self {
            txn,
            changes: Changes::default(),
            audit: None,
            countries: by_key::<country::Entity, _>(txn, |m| m.code.clone()).await?,
            programme_regions: by_key::<programme_region::Entity, _>(txn, |m| m.slug.clone())
                .await?,
            themes: by_key::<theme::Entity, _>(txn, |m| m.slug.clone()).await?,
            sdgs: by_key::<sdg::Entity, _>(txn, |m| m.number).await?,
            section_types: by_key::<ucap_section_type::Entity, _>(txn, |m| m.slug.clone()).await?,
            cities: by_key::<city::Entity, _>(txn, |m| m.slug.clone()).await?,
            regions: by_key::<region::Entity, _>(txn, |m| m.slug.clone()).await?,
            pairings: by_key::<pairing::Entity, _>(txn, |m| m.slug.clone()).await?,
            projects: by_key::<project::Entity, _>(txn, |m| m.slug.clone()).await?,
            stakeholders: by_key::<stakeholder::Entity, _>(txn, |m| m.slug.clone()).await?,
            activities: by_key::<activity::Entity, _>(txn, |m| m.slug.clone()).await?,
            ucaps: by_key::<ucap::Entity, _>(txn, |m| m.pairing_id).await?,
        })
    }

    /// Audits a created or changed record that carries a version (the records the API
    /// writes); reference data and link rows are summed up by `audit_summary`.
    async fn audit_write<M: serde::Serialize + Versioned>(
        &self,
        kind: &str,
        id: i32,
        before: Option<&M>,
        after: &M,
    ) -> Result<(), DbErr> {
        let Some(actor) = &self.audit else {
            return Ok(());
        };
        if after.version().is_none() {
            return Ok(());
        }
        let old = before.map(write::snapshot);
        let new = write::snapshot(after);
        let key = new.get("slug").and_then(|v| v.as_str()).map(str::to_owned);
        let action = if before.is_some() {
            write::Action::Update
        } else {
            write::Action::Create
        };
        write::audit(
            self.txn,
            actor,
            audit_entity(kind),
            id,
            key,
            action,
            old.as_ref(),
            Some(&new),
        )
        .await
        .map_err(|e| DbErr::Custom(format!("writing the audit trail failed: {e:?}")))
    }

    /// One event that sums up an import: counts per kind inserted, updated and deleted.
    async fn audit_summary(&self, file: &str) -> Result<(), DbErr> {
        let Some(actor) = &self.audit else {
            return Ok(());
        };
        let counts = |m: &HashMap<&'static str, u64>| {
            let mut sorted: Vec<(&&str, &u64)> = m.iter().collect();
            sorted.sort();
            serde_json::Value::Object(
                sorted
                    .into_iter()
                    .map(|(k, v)| ((*k).to_owned(), serde_json::json!(v)))
                    .collect(),
            )
        };
        let mut changes = serde_json::Map::new();
        changes.insert("inserted".into(), counts(&self.changes.inserted));
        changes.insert("updated".into(), counts(&self.changes.updated));
        changes.insert("deleted".into(), counts(&self.changes.deleted));
        write::audit_changes(
            self.txn,
            actor,
            "Dataset",
            0,
            Some(file.to_owned()),
            write::Action::Update,
            changes,
        )
        .await
        .map_err(|e| DbErr::Custom(format!("writing the audit trail failed: {e:?}")))
    }

    fn known_keys(&self) -> KnownKeys {
        fn keys<V>(m: &HashMap<String, V>) -> HashSet<String> {
            m.keys().cloned().collect()
        }
        KnownKeys {
            countries: keys(&self.countries),
            programme_regions: keys(&self.programme_regions),
            themes: keys(&self.themes),
            sdgs: self.sdgs.keys().copied().collect(),
            section_types: keys(&self.section_types),
            cities: keys(&self.cities),
            regions: keys(&self.regions),
            pairings: keys(&self.pairings),
            projects: keys(&self.projects),
            stakeholders: keys(&self.stakeholders),
        }
    }

    // The lookups below cannot miss: `validate` has checked every reference against the file
    // and these maps, and every record of the file is inserted before it is referred to.
    fn country_id(&self, code: &str) -> i32 {
        self.countries[code].id
    }
    fn city_id(&self, slug: &str) -> i32 {
        self.cities[slug].id
    }
    fn region_id(&self, slug: &str) -> i32 {
        self.regions[slug].id
    }
    fn pairing_id(&self, slug: &str) -> i32 {
        self.pairings[slug].id
    }

    async fn apply(&mut self, data: &Dataset) -> Result<(), DbErr> {
        for r in &data.countries {
            let model = country::Model {
                id: 0,
                code: r.code.clone(),
                name: r.name.clone(),
                notes: r.notes.clone(),
            };
            let id = upsert!(self, "country", self.countries.get(&r.code), model.clone());
            self.countries
                .insert(r.code.clone(), country::Model { id, ..model });
        }
        for r in &data.programme_regions {
            let model = programme_region::Model {
                id: 0,
                slug: r.slug.clone(),
                name: r.name.clone(),
                description: r.description.clone(),
            };
            let id = upsert!(
                self,
                "programme_region",
                self.programme_regions.get(&r.slug),
                model.clone()
            );
            self.programme_regions
                .insert(r.slug.clone(), programme_region::Model { id, ..model });
        }
        for r in &data.themes {
            let model = theme::Model {
                id: 0,
                slug: r.slug.clone(),
                scheme: r.scheme,
                name: r.name.clone(),
                description: r.description.clone(),
            };
            let id = upsert!(self, "theme", self.themes.get(&r.slug), model.clone());
            self.themes
                .insert(r.slug.clone(), theme::Model { id, ..model });
        }
        for r in &data.sdgs {
            let model = sdg::Model {
                id: 0,
                number: r.number,
                name: r.name.clone(),
            };
            let id = upsert!(self, "sdg", self.sdgs.get(&r.number), model.clone());
            self.sdgs.insert(r.number, sdg::Model { id, ..model });
        }
        for r in &data.ucap_section_types {
            let model = ucap_section_type::Model {
                id: 0,
                slug: r.slug.clone(),
                name: r.name.clone(),
                position: r.position,
            };
            let id = upsert!(
                self,
                "ucap_section_type",
                self.section_types.get(&r.slug),
                model.clone()
            );
            self.section_types
                .insert(r.slug.clone(), ucap_section_type::Model { id, ..model });
        }
        for r in &data.cities {
            let model = city::Model {
                version: 1,
                id: 0,
                slug: r.slug.clone(),
                name: r.name.clone(),
                name_folded: fold(&r.name),
                kind: r.kind,
                country_id: self.country_id(&r.country),
                population: r.population,
                area_km2: r.area_km2,
                leader: r.leader.clone(),
                latitude: r.latitude,
                longitude: r.longitude,
                photo_credit: r.photo_credit.clone(),
                wikidata: r.wikidata.clone(),
                geonames_id: r.geonames_id,
                sources: sources_text(&r.sources),
                notes: r.notes.clone(),
            };
            let id = upsert!(self, "city", self.cities.get(&r.slug), model.clone());
            self.cities
                .insert(r.slug.clone(), city::Model { id, ..model });
        }
        for r in &data.regions {
            let model = region::Model {
                version: 1,
                id: 0,
                slug: r.slug.clone(),
                name: r.name.clone(),
                name_folded: fold(&r.name),
                country_id: self.country_id(&r.country),
                population: r.population,
                area_km2: r.area_km2,
                leader: r.leader.clone(),
                latitude: r.latitude,
                longitude: r.longitude,
                photo_credit: r.photo_credit.clone(),
                wikidata: r.wikidata.clone(),
                geonames_id: r.geonames_id,
                sources: sources_text(&r.sources),
                notes: r.notes.clone(),
            };
            let id = upsert!(self, "region", self.regions.get(&r.slug), model.clone());
            self.regions
                .insert(r.slug.clone(), region::Model { id, ..model });
        }
        for r in &data.pairings {
            self.pairing(r).await?;
        }
        for r in &data.stakeholders {
            self.stakeholder(r).await?;
        }
        for r in &data.activities {
            self.activity(r).await?;
        }
        Ok(())
    }

    async fn pairing(&mut self, r: &dataset::PairingRecord) -> Result<(), DbErr> {
        // `validate` has parsed every date already.
        let start = r
            .start
            .as_deref()
            .and_then(|s| s.parse::<PartialDate>().ok());
        let model = pairing::Model {
            version: 1,
            id: 0,
            slug: r.slug.clone(),
            kind: r.kind,
            title: r.title.clone(),
            summary: r.summary.clone(),
            description: r.description.clone(),
            search_text: fold(&format!("{} {}", r.title, r.summary)),
            programme_region_id: self.programme_regions[&r.programme_region].id,
            start_date: start.map(|d| d.start),
            start_precision: start.map(|d| d.precision),
            status: r.status,
            sources: sources_text(&r.sources),
            notes: r.notes.clone(),
        };
        let id = upsert!(self, "pairing", self.pairings.get(&r.slug), model.clone());
        self.pairings
            .insert(r.slug.clone(), pairing::Model { id, ..model });

        // Participants, keyed by (city or region) within the pairing.
        let existing: HashMap<(Option<i32>, Option<i32>), pairing_participant::Model> =
            pairing_participant::Entity::find()
                .filter(pairing_participant::Column::PairingId.eq(id))
                .all(self.txn)
                .await?
                .into_iter()
                .map(|m| ((m.city_id, m.region_id), m))
                .collect();
        let mut wanted = HashSet::new();
        for (position, p) in r.participants.iter().enumerate() {
            let city_id = p.city.as_deref().map(|s| self.city_id(s));
            let region_id = p.region.as_deref().map(|s| self.region_id(s));
            wanted.insert((city_id, region_id));
            let model = pairing_participant::Model {
                id: 0,
                pairing_id: id,
                city_id,
                region_id,
                side: p.side,
                role: p.role,
                position: position as i32,
            };
            upsert!(
                self,
                "pairing_participant",
                existing.get(&(city_id, region_id)),
                model
            );
        }
        for (key, old) in &existing {
            if !wanted.contains(key) {
                old.clone().delete(self.txn).await?;
                self.changes.delete("pairing_participant", 1);
            }
        }

        let theme_ids: Vec<i32> = r.themes.iter().map(|s| self.themes[s].id).collect();
        self.sync_pairing_themes(id, &theme_ids).await?;
        let sdg_ids: Vec<i32> = r.sdgs.iter().map(|n| self.sdgs[n].id).collect();
        self.sync_pairing_sdgs(id, &sdg_ids).await?;
        self.pairing_ucap(id, r.ucap.as_ref()).await
    }

    async fn sync_pairing_themes(&mut self, pairing_id: i32, wanted: &[i32]) -> Result<(), DbErr> {
        let existing: HashSet<i32> = pairing_theme::Entity::find()
            .filter(pairing_theme::Column::PairingId.eq(pairing_id))
            .all(self.txn)
            .await?
            .into_iter()
            .map(|m| m.theme_id)
            .collect();
        for &theme_id in wanted {
            if existing.contains(&theme_id) {
                self.changes.unchanged += 1;
            } else {
                pairing_theme::Model {
                    pairing_id,
                    theme_id,
                }
                .into_active_model()
                .reset_all()
                .insert(self.txn)
                .await?;
                self.changes.insert("pairing_theme");
            }
        }
        let stale: Vec<i32> = existing
            .into_iter()
            .filter(|t| !wanted.contains(t))
            .collect();
        if !stale.is_empty() {
            let n = pairing_theme::Entity::delete_many()
                .filter(pairing_theme::Column::PairingId.eq(pairing_id))
                .filter(pairing_theme::Column::ThemeId.is_in(stale))
                .exec(self.txn)
                .await?
                .rows_affected;
            self.changes.delete("pairing_theme", n);
        }
        Ok(())
    }

    async fn sync_pairing_sdgs(&mut self, pairing_id: i32, wanted: &[i32]) -> Result<(), DbErr> {
        let existing: HashSet<i32> = pairing_sdg::Entity::find()
            .filter(pairing_sdg::Column::PairingId.eq(pairing_id))
            .all(self.txn)
            .await?
            .into_iter()
            .map(|m| m.sdg_id)
            .collect();
        for &sdg_id in wanted {
            if existing.contains(&sdg_id) {
                self.changes.unchanged += 1;
            } else {
                pairing_sdg::Model { pairing_id, sdg_id }
                    .into_active_model()
                    .reset_all()
                    .insert(self.txn)
                    .await?;
                self.changes.insert("pairing_sdg");
            }
        }
        let stale: Vec<i32> = existing
            .into_iter()
            .filter(|t| !wanted.contains(t))
            .collect();
        if !stale.is_empty() {
            let n = pairing_sdg::Entity::delete_many()
                .filter(pairing_sdg::Column::PairingId.eq(pairing_id))
                .filter(pairing_sdg::Column::SdgId.is_in(stale))
                .exec(self.txn)
                .await?
                .rows_affected;
            self.changes.delete("pairing_sdg", n);
        }
        Ok(())
    }

    async fn pairing_ucap(
        &mut self,
        pairing_id: i32,
        record: Option<&dataset::UcapRecord>,
    ) -> Result<(), DbErr> {
        let Some(r) = record else {
            if let Some(old) = self.ucaps.remove(&pairing_id) {
                // Sections, projects and involvements go with it (ON DELETE CASCADE).
                self.projects.retain(|_, p| p.ucap_id != old.id);
                old.delete(self.txn).await?;
                self.changes.delete("ucap", 1);
            }
            return Ok(());
        };
        let model = ucap::Model {
            version: 1,
            id: 0,
            pairing_id,
            status: r.status,
        };
        let ucap_id = upsert!(self, "ucap", self.ucaps.get(&pairing_id), model.clone());
        self.ucaps.insert(
            pairing_id,
            ucap::Model {
                id: ucap_id,
                ..model
            },
        );

        let existing: HashMap<i32, ucap_section::Model> = ucap_section::Entity::find()
            .filter(ucap_section::Column::UcapId.eq(ucap_id))
            .all(self.txn)
            .await?
            .into_iter()
            .map(|m| (m.section_type_id, m))
            .collect();
        let mut wanted = HashSet::new();
        for s in &r.sections {
            let section_type_id = self.section_types[&s.section_type].id;
            wanted.insert(section_type_id);
            let model = ucap_section::Model {
                id: 0,
                ucap_id,
                section_type_id,
                body: s.body.clone(),
            };
            upsert!(self, "ucap_section", existing.get(&section_type_id), model);
        }
        for (key, old) in &existing {
            if !wanted.contains(key) {
                old.clone().delete(self.txn).await?;
                self.changes.delete("ucap_section", 1);
            }
        }

        let mut wanted = HashSet::new();
        for (position, p) in r.projects.iter().enumerate() {
            wanted.insert(p.slug.clone());
            let model = project::Model {
                version: 1,
                id: 0,
                slug: p.slug.clone(),
                ucap_id,
                kind: p.kind,
                title: p.title.clone(),
                description: p.description.clone(),
                city_id: p.city.as_deref().map(|s| self.city_id(s)),
                region_id: p.region.as_deref().map(|s| self.region_id(s)),
                position: position as i32,
            };
            let id = upsert!(self, "project", self.projects.get(&p.slug), model.clone());
            self.projects
                .insert(p.slug.clone(), project::Model { id, ..model });
        }
        let stale: Vec<project::Model> = self
            .projects
            .values()
            .filter(|p| p.ucap_id == ucap_id && !wanted.contains(&p.slug))
            .cloned()
            .collect();
        for old in stale {
            self.projects.remove(&old.slug);
            old.delete(self.txn).await?;
            self.changes.delete("project", 1);
        }
        Ok(())
    }

    async fn stakeholder(&mut self, r: &dataset::StakeholderRecord) -> Result<(), DbErr> {
        let model = stakeholder::Model {
            version: 1,
            id: 0,
            slug: r.slug.clone(),
            name: r.name.clone(),
            name_folded: fold(&r.name),
            helix: r.helix,
            city_id: r.city.as_deref().map(|s| self.city_id(s)),
            country_id: r.country.as_deref().map(|s| self.country_id(s)),
            description: r.description.clone(),
            sources: sources_text(&r.sources),
            notes: r.notes.clone(),
        };
        let id = upsert!(
            self,
            "stakeholder",
            self.stakeholders.get(&r.slug),
            model.clone()
        );
        self.stakeholders
            .insert(r.slug.clone(), stakeholder::Model { id, ..model });

        type Target = (Option<i32>, Option<i32>, Option<i32>);
        let existing: HashMap<Target, involvement::Model> = involvement::Entity::find()
            .filter(involvement::Column::StakeholderId.eq(id))
            .all(self.txn)
            .await?
            .into_iter()
            .map(|m| ((m.pairing_id, m.ucap_id, m.project_id), m))
            .collect();
        let mut wanted = HashSet::new();
        for inv in &r.involvements {
            let target: Target = (
                inv.pairing.as_deref().map(|s| self.pairing_id(s)),
                inv.ucap
                    .as_deref()
                    .map(|s| self.ucaps[&self.pairing_id(s)].id),
                inv.project.as_deref().map(|s| self.projects[s].id),
            );
            wanted.insert(target);
            let model = involvement::Model {
                version: 1,
                id: 0,
                stakeholder_id: id,
                pairing_id: target.0,
                ucap_id: target.1,
                project_id: target.2,
                role: inv.role.clone(),
            };
            upsert!(self, "involvement", existing.get(&target), model);
        }
        for (key, old) in &existing {
            if !wanted.contains(key) {
                old.clone().delete(self.txn).await?;
                self.changes.delete("involvement", 1);
            }
        }
        Ok(())
    }

    async fn activity(&mut self, r: &dataset::ActivityRecord) -> Result<(), DbErr> {
        let date: PartialDate = r.date.parse().map_err(DbErr::Custom)?;
        let model = activity::Model {
            version: 1,
            id: 0,
            slug: r.slug.clone(),
            date: date.start,
            date_precision: date.precision,
            kind: r.kind,
            title: r.title.clone(),
            description: r.description.clone(),
            place: r.place.clone(),
            city_id: r.city.as_deref().map(|s| self.city_id(s)),
            sources: sources_text(&r.sources),
            notes: r.notes.clone(),
        };
        let id = upsert!(
            self,
            "activity",
            self.activities.get(&r.slug),
            model.clone()
        );
        self.activities
            .insert(r.slug.clone(), activity::Model { id, ..model });

        let existing: HashSet<i32> = activity_pairing::Entity::find()
            .filter(activity_pairing::Column::ActivityId.eq(id))
            .all(self.txn)
            .await?
            .into_iter()
            .map(|m| m.pairing_id)
            .collect();
        let wanted: Vec<i32> = r.pairings.iter().map(|s| self.pairing_id(s)).collect();
        for &pairing_id in &wanted {
            if existing.contains(&pairing_id) {
                self.changes.unchanged += 1;
            } else {
                activity_pairing::Model {
                    activity_id: id,
                    pairing_id,
                }
                .into_active_model()
                .reset_all()
                .insert(self.txn)
                .await?;
                self.changes.insert("activity_pairing");
            }
        }
        let stale: Vec<i32> = existing
            .into_iter()
            .filter(|p| !wanted.contains(p))
            .collect();
        if !stale.is_empty() {
            let n = activity_pairing::Entity::delete_many()
                .filter(activity_pairing::Column::ActivityId.eq(id))
                .filter(activity_pairing::Column::PairingId.is_in(stale))
                .exec(self.txn)
                .await?
                .rows_affected;
            self.changes.delete("activity_pairing", n);
        }

        let existing: HashMap<i32, activity_stakeholder::Model> =
            activity_stakeholder::Entity::find()
                .filter(activity_stakeholder::Column::ActivityId.eq(id))
                .all(self.txn)
                .await?
                .into_iter()
                .map(|m| (m.stakeholder_id, m))
                .collect();
        let mut wanted = HashSet::new();
        for s in &r.stakeholders {
            let stakeholder_id = self.stakeholders[&s.stakeholder].id;
            wanted.insert(stakeholder_id);
            let model = activity_stakeholder::Model {
                activity_id: id,
                stakeholder_id,
                role: s.role.clone(),
            };
            match existing.get(&stakeholder_id) {
                Some(old) if *old == model => self.changes.unchanged += 1,
                Some(_) => {
                    model
                        .into_active_model()
                        .reset_all()
                        .update(self.txn)
                        .await?;
                    self.changes.update("activity_stakeholder");
                }
                None => {
                    model
                        .into_active_model()
                        .reset_all()
                        .insert(self.txn)
                        .await?;
                    self.changes.insert("activity_stakeholder");
                }
            }
        }
        for (key, old) in &existing {
            if !wanted.contains(key) {
                old.clone().delete(self.txn).await?;
                self.changes.delete("activity_stakeholder", 1);
            }
        }
        Ok(())
    }
}
