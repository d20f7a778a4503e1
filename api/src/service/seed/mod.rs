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
//! - records the API also writes go through the same write path (`write::upsert`: validation,
//!   the next version, the audit trail under the importing actor) and their links through the
//!   same sync functions as the mutations (`write::pairing`, `write::activity`);
//! - any error rolls everything back; a dry run rolls back on purpose and reports what would
//!   have changed.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use entity::*;
use sea_orm::sea_query::ValueType;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait, QueryFilter,
};

mod programme;

use super::dataset::{self, Changes, DataErrors, Dataset, KnownKeys};
use super::provenance;
use super::write::activity::StakeholderLink;
use super::write::links::Synced;
use super::write::pairing::Participant;
use super::write::place::{self, place_fields};
use super::write::{self, Actor, Upserted};
use crate::error::AppError;
use crate::partial_date::PartialDate;

/// The dataset shipped with the binary: `data/seed.json`, written from the programme's sources.
pub const SEED_FILE_NAME: &str = "data/seed.json";
pub const SEED_JSON: &str = include_str!("../../../../data/seed.json");

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
        Mode::Apply => {
            txn.commit().await?;
            crate::service::changes::committed();
        }
        Mode::DryRun => txn.rollback().await?,
    }
    Ok(changes)
}

/// Writes one record the API also writes (it has a version) through the write path
/// (`write::upsert`: validation, version bump, audit when `audit` names an actor) and counts
/// what it did under `kind`.
async fn record<E, M, A>(
    txn: &impl ConnectionTrait,
    audit: Option<&Actor>,
    changes: &mut Changes,
    kind: &'static str,
    existing: Option<&M>,
    model: M,
) -> Result<M, DbErr>
where
    E: EntityTrait<Model = M>,
    M: write::Record + ModelTrait<Entity = E> + IntoActiveModel<A> + PartialEq,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let (saved, done) = write::upsert(txn, audit, existing, model)
        .await
        .map_err(refused)?;
    match done {
        Upserted::Inserted => changes.insert(kind),
        Upserted::Updated => changes.update(kind),
        Upserted::Unchanged => changes.unchanged += 1,
    }
    Ok(saved)
}

/// Inserts, updates or leaves alone one row of reference data (no version, not audited: the
/// import's summary counts it), given the row that holds its natural key today. Returns its id.
pub(super) async fn row<E, M, A>(
    txn: &impl ConnectionTrait,
    changes: &mut Changes,
    kind: &'static str,
    existing: Option<&M>,
    mut model: M,
) -> Result<i32, DbErr>
where
    E: EntityTrait<Model = M>,
    M: ModelTrait<Entity = E> + IntoActiveModel<A> + PartialEq + Clone,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let id = E::Column::from_str("id")
        .map_err(|_| DbErr::Custom(format!("{} has no id column", E::default().as_str())))?;
    let Some(old) = existing else {
        let mut active = model.into_active_model().reset_all();
        active.not_set(id);
        let saved = active.insert(txn).await?;
        changes.insert(kind);
        return id_of(&saved, id);
    };
    model.set(id, old.get(id));
    if model == *old {
        changes.unchanged += 1;
    } else {
        model.into_active_model().reset_all().update(txn).await?;
        changes.update(kind);
    }
    id_of(old, id)
}

fn id_of<M: ModelTrait>(model: &M, id: <M::Entity as EntityTrait>::Column) -> Result<i32, DbErr> {
    <i32 as ValueType>::try_from(model.get(id))
        .map_err(|_| DbErr::Custom("id is not an integer".into()))
}

/// A write the service refused, as the loader reports it.
fn refused(e: AppError) -> DbErr {
    DbErr::Custom(format!("the write was refused: {e:?}"))
}

/// Deletes a record the file no longer lists: through the write path (audit, change feed,
/// and the records the database's cascade takes with it) when the import is audited.
async fn remove<E, M>(
    txn: &impl ConnectionTrait,
    audit: Option<&Actor>,
    old: M,
) -> Result<(), DbErr>
where
    E: EntityTrait<Model = M>,
    M: write::Record + ModelTrait<Entity = E>,
{
    match audit {
        Some(actor) => write::delete(txn, actor, &old, None, None)
            .await
            .map_err(refused),
        None => E::delete_many()
            .filter(sea_orm::sea_query::ExprTrait::eq(
                sea_orm::sea_query::Expr::col("id"),
                old.id(),
            ))
            .exec(txn)
            .await
            .map(|_| ()),
    }
}

/// Adds what a link sync did to the import's counts.
pub(super) fn count_links(changes: &mut Changes, kind: &'static str, synced: Synced) {
    for _ in 0..synced.inserted {
        changes.insert(kind);
    }
    for _ in 0..synced.updated {
        changes.update(kind);
    }
    changes.delete(kind, synced.deleted);
    changes.unchanged += synced.unchanged;
}

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
    documents: HashMap<String, document::Model>,
    rules: HashMap<String, derivation_rule::Model>,
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

impl<'t, C: ConnectionTrait> Loader<'t, C> {
    async fn new(txn: &'t C) -> Result<Self, DbErr> {
        Ok(Self {
            txn,
            changes: Changes::default(),
            audit: None,
            documents: by_key::<document::Entity, _>(txn, |m| m.key.clone()).await?,
            rules: by_key::<derivation_rule::Entity, _>(txn, |m| m.slug.clone()).await?,
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

    /// How many rows of each child kind the import has written so far.
    fn counts(&self, children: &[(&'static str, &'static str)]) -> Vec<u64> {
        children
            .iter()
            .map(|(kind, _)| self.changes.of(kind))
            .collect()
    }

    /// After a record's children were synced: when the import changed some (the counts moved
    /// since `before`) of a record it did not create, the record's version goes up and the
    /// audit trail and the change feed name them, as an API update would (`write::children_changed`).
    async fn bump_if_children_changed<E, M, A>(
        &self,
        created: bool,
        record: M,
        children: &[(&'static str, &'static str)],
        before: Vec<u64>,
    ) -> Result<M, DbErr>
    where
        E: EntityTrait<Model = M>,
        M: write::Record + ModelTrait<Entity = E> + IntoActiveModel<A>,
        A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
    {
        let changed: Vec<&str> = children
            .iter()
            .zip(before)
            .filter(|((kind, _), n)| self.changes.of(kind) > *n)
            .map(|((_, field), _)| *field)
            .collect();
        if created || changed.is_empty() {
            return Ok(record);
        }
        write::children_changed(self.txn, self.audit.as_ref(), &record, &changed)
            .await
            .map_err(refused)
    }

    fn known_keys(&self) -> KnownKeys {
        fn keys<V>(m: &HashMap<String, V>) -> HashSet<String> {
            m.keys().cloned().collect()
        }
        KnownKeys {
            documents: keys(&self.documents),
            rules: keys(&self.rules),
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
        self.documents_and_rules(data).await?;
        self.reference_data(data).await?;
        self.programme(data).await?;
        for r in &data.cities {
            self.city(r).await?;
        }
        for r in &data.regions {
            self.region(r).await?;
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

    /// Countries, programme regions, themes, SDGs and UCAP section types.
    async fn reference_data(&mut self, data: &Dataset) -> Result<(), DbErr> {
        let (txn, changes) = (self.txn, &mut self.changes);
        for r in &data.countries {
            let model = country::Model {
                id: 0,
                code: r.code.clone(),
                name: r.name.clone(),
                notes: r.notes.clone(),
                sources: provenance::to_text(&r.sources),
            };
            let id = row(
                txn,
                changes,
                "country",
                self.countries.get(&r.code),
                model.clone(),
            )
            .await?;
            self.countries
                .insert(r.code.clone(), country::Model { id, ..model });
        }
        for r in &data.programme_regions {
            let model = programme_region::Model {
                id: 0,
                slug: r.slug.clone(),
                name: r.name.clone(),
                description: r.description.clone(),
                sources: provenance::to_text(&r.sources),
            };
            let existing = self.programme_regions.get(&r.slug);
            let id = row(txn, changes, "programme_region", existing, model.clone()).await?;
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
                sources: provenance::to_text(&r.sources),
            };
            let id = row(
                txn,
                changes,
                "theme",
                self.themes.get(&r.slug),
                model.clone(),
            )
            .await?;
            self.themes
                .insert(r.slug.clone(), theme::Model { id, ..model });
        }
        for r in &data.sdgs {
            let model = sdg::Model {
                id: 0,
                number: r.number,
                name: r.name.clone(),
                sources: provenance::to_text(&r.sources),
            };
            let id = row(txn, changes, "sdg", self.sdgs.get(&r.number), model.clone()).await?;
            self.sdgs.insert(r.number, sdg::Model { id, ..model });
        }
        for r in &data.ucap_section_types {
            let model = ucap_section_type::Model {
                id: 0,
                slug: r.slug.clone(),
                name: r.name.clone(),
                position: r.position,
                sources: provenance::to_text(&r.sources),
            };
            let existing = self.section_types.get(&r.slug);
            let id = row(txn, changes, "ucap_section_type", existing, model.clone()).await?;
            self.section_types
                .insert(r.slug.clone(), ucap_section_type::Model { id, ..model });
        }
        Ok(())
    }

    /// A city: the columns it shares with regions are filled as the API fills them.
    async fn city(&mut self, r: &dataset::CityRecord) -> Result<(), DbErr> {
        let fields = {
            let r = r.clone();
            place_fields!(r)
        };
        let model = place::filled(
            place::blank_city(r.kind),
            fields,
            self.country_id(&r.country),
        );
        let (audit, existing) = (self.audit.as_ref(), self.cities.get(&r.slug));
        let saved = record(self.txn, audit, &mut self.changes, "city", existing, model).await?;
        self.cities.insert(r.slug.clone(), saved);
        Ok(())
    }

    /// A region, as a city.
    async fn region(&mut self, r: &dataset::RegionRecord) -> Result<(), DbErr> {
        let fields = {
            let r = r.clone();
            place_fields!(r)
        };
        let model = place::filled(place::blank_region(), fields, self.country_id(&r.country));
        let (audit, existing) = (self.audit.as_ref(), self.regions.get(&r.slug));
        let saved = record(
            self.txn,
            audit,
            &mut self.changes,
            "region",
            existing,
            model,
        )
        .await?;
        self.regions.insert(r.slug.clone(), saved);
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
            updated_at: write::now(),
            id: 0,
            slug: r.slug.clone(),
            kind: r.kind,
            title: r.title.clone(),
            summary: r.summary.clone(),
            description: r.description.clone(),
            search_text: String::new(),
            programme_region_id: self.programme_regions[&r.programme_region].id,
            start_date: start.map(|d| d.start),
            start_precision: start.map(|d| d.precision),
            status: r.status,
            sources: provenance::to_text(&r.sources),
            notes: r.notes.clone(),
        };
        let existing = self.pairings.get(&r.slug);
        let created = existing.is_none();
        let saved = record(
            self.txn,
            self.audit.as_ref(),
            &mut self.changes,
            "pairing",
            existing,
            model,
        )
        .await?;
        let id = saved.id;
        const CHILDREN: [(&str, &str); 3] = [
            ("pairing_participant", "participants"),
            ("pairing_theme", "theme_ids"),
            ("pairing_sdg", "sdg_ids"),
        ];
        let before = self.counts(&CHILDREN);
        self.pairing_children(id, r).await?;
        let saved = self
            .bump_if_children_changed(created, saved, &CHILDREN, before)
            .await?;
        self.pairings.insert(r.slug.clone(), saved);
        self.pairing_ucap(id, r.ucap.as_ref()).await
    }

    /// A pairing's participants, themes and SDGs, written as the API writes them.
    async fn pairing_children(&mut self, id: i32, r: &dataset::PairingRecord) -> Result<(), DbErr> {
        let participants: Vec<Participant> = r
            .participants
            .iter()
            .map(|p| Participant {
                city_id: p.city.as_deref().map(|s| self.city_id(s)),
                region_id: p.region.as_deref().map(|s| self.region_id(s)),
                side: p.side,
                role: p.role,
            })
            .collect();
        let synced = write::pairing::sync_participants(self.txn, id, &participants)
            .await
            .map_err(refused)?;
        count_links(&mut self.changes, "pairing_participant", synced);
        let theme_ids: Vec<i32> = r.themes.iter().map(|s| self.themes[s].id).collect();
        let synced = write::pairing::sync_themes(self.txn, id, &theme_ids).await?;
        count_links(&mut self.changes, "pairing_theme", synced);
        let sdg_ids: Vec<i32> = r.sdgs.iter().map(|n| self.sdgs[n].id).collect();
        let synced = write::pairing::sync_sdgs(self.txn, id, &sdg_ids).await?;
        count_links(&mut self.changes, "pairing_sdg", synced);
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
                remove(self.txn, self.audit.as_ref(), old).await?;
                self.changes.delete("ucap", 1);
            }
            return Ok(());
        };
        let model = ucap::Model {
            version: 1,
            updated_at: write::now(),
            id: 0,
            pairing_id,
            status: r.status,
            sources: provenance::to_text(&r.sources),
        };
        let existing = self.ucaps.get(&pairing_id);
        let created = existing.is_none();
        let saved = self::record(
            self.txn,
            self.audit.as_ref(),
            &mut self.changes,
            "ucap",
            existing,
            model,
        )
        .await?;
        let ucap_id = saved.id;
        const CHILDREN: [(&str, &str); 1] = [("ucap_section", "sections")];
        let before = self.counts(&CHILDREN);
        self.ucap_sections(ucap_id, r).await?;
        let saved = self
            .bump_if_children_changed(created, saved, &CHILDREN, before)
            .await?;
        self.ucaps.insert(pairing_id, saved);
        self.ucap_projects(ucap_id, r).await
    }

    /// A UCAP's sections, keyed by section type.
    async fn ucap_sections(&mut self, ucap_id: i32, r: &dataset::UcapRecord) -> Result<(), DbErr> {
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
            let old = existing.get(&section_type_id);
            row(self.txn, &mut self.changes, "ucap_section", old, model).await?;
        }
        for (key, old) in &existing {
            if !wanted.contains(key) {
                old.clone().delete(self.txn).await?;
                self.changes.delete("ucap_section", 1);
            }
        }
        Ok(())
    }

    /// A UCAP's projects, keyed by slug; the UCAP's projects the file no longer lists go.
    async fn ucap_projects(&mut self, ucap_id: i32, r: &dataset::UcapRecord) -> Result<(), DbErr> {
        let mut wanted = HashSet::new();
        for (position, p) in r.projects.iter().enumerate() {
            wanted.insert(p.slug.clone());
            let model = project::Model {
                version: 1,
                updated_at: write::now(),
                id: 0,
                slug: p.slug.clone(),
                ucap_id,
                kind: p.kind,
                title: p.title.clone(),
                description: p.description.clone(),
                city_id: p.city.as_deref().map(|s| self.city_id(s)),
                region_id: p.region.as_deref().map(|s| self.region_id(s)),
                position: position as i32,
                sources: provenance::to_text(&p.sources),
            };
            let existing = self.projects.get(&p.slug);
            let saved = record(
                self.txn,
                self.audit.as_ref(),
                &mut self.changes,
                "project",
                existing,
                model,
            )
            .await?;
            self.projects.insert(p.slug.clone(), saved);
        }
        let stale: Vec<project::Model> = self
            .projects
            .values()
            .filter(|p| p.ucap_id == ucap_id && !wanted.contains(&p.slug))
            .cloned()
            .collect();
        for old in stale {
            self.projects.remove(&old.slug);
            remove(self.txn, self.audit.as_ref(), old).await?;
            self.changes.delete("project", 1);
        }
        Ok(())
    }

    async fn stakeholder(&mut self, r: &dataset::StakeholderRecord) -> Result<(), DbErr> {
        let model = stakeholder::Model {
            version: 1,
            updated_at: write::now(),
            id: 0,
            slug: r.slug.clone(),
            name: r.name.clone(),
            name_folded: String::new(),
            helix: r.helix,
            city_id: r.city.as_deref().map(|s| self.city_id(s)),
            country_id: r.country.as_deref().map(|s| self.country_id(s)),
            description: r.description.clone(),
            sources: provenance::to_text(&r.sources),
            notes: r.notes.clone(),
        };
        let existing = self.stakeholders.get(&r.slug);
        let saved = record(
            self.txn,
            self.audit.as_ref(),
            &mut self.changes,
            "stakeholder",
            existing,
            model,
        )
        .await?;
        let id = saved.id;
        self.stakeholders.insert(r.slug.clone(), saved);
        self.involvements(id, r).await
    }

    /// A stakeholder's involvements, keyed by what they are in.
    async fn involvements(&mut self, id: i32, r: &dataset::StakeholderRecord) -> Result<(), DbErr> {
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
                updated_at: write::now(),
                id: 0,
                stakeholder_id: id,
                pairing_id: target.0,
                ucap_id: target.1,
                project_id: target.2,
                role: inv.role.clone(),
            };
            let old = existing.get(&target);
            record(
                self.txn,
                self.audit.as_ref(),
                &mut self.changes,
                "involvement",
                old,
                model,
            )
            .await?;
        }
        for (key, old) in &existing {
            if !wanted.contains(key) {
                remove(self.txn, self.audit.as_ref(), old.clone()).await?;
                self.changes.delete("involvement", 1);
            }
        }
        Ok(())
    }

    async fn activity(&mut self, r: &dataset::ActivityRecord) -> Result<(), DbErr> {
        let date: PartialDate = r.date.parse().map_err(DbErr::Custom)?;
        let model = activity::Model {
            version: 1,
            updated_at: write::now(),
            id: 0,
            slug: r.slug.clone(),
            date: date.start,
            date_precision: date.precision,
            kind: r.kind,
            title: r.title.clone(),
            description: r.description.clone(),
            place: r.place.clone(),
            city_id: r.city.as_deref().map(|s| self.city_id(s)),
            status: r.status,
            sources: provenance::to_text(&r.sources),
            notes: r.notes.clone(),
        };
        let existing = self.activities.get(&r.slug);
        let created = existing.is_none();
        let saved = record(
            self.txn,
            self.audit.as_ref(),
            &mut self.changes,
            "activity",
            existing,
            model,
        )
        .await?;
        let id = saved.id;
        const CHILDREN: [(&str, &str); 2] = [
            ("activity_pairing", "pairing_ids"),
            ("activity_stakeholder", "stakeholder_ids"),
        ];
        let before = self.counts(&CHILDREN);
        self.activity_links(id, r).await?;
        let saved = self
            .bump_if_children_changed(created, saved, &CHILDREN, before)
            .await?;
        self.activities.insert(r.slug.clone(), saved);
        Ok(())
    }

    /// An activity's pairings and stakeholders, written as the API writes them.
    async fn activity_links(&mut self, id: i32, r: &dataset::ActivityRecord) -> Result<(), DbErr> {
        let pairings: Vec<i32> = r.pairings.iter().map(|s| self.pairing_id(s)).collect();
        let synced = write::activity::sync_pairings(self.txn, id, &pairings).await?;
        count_links(&mut self.changes, "activity_pairing", synced);
        let links: Vec<StakeholderLink> = r
            .stakeholders
            .iter()
            .map(|s| StakeholderLink {
                stakeholder_id: self.stakeholders[&s.stakeholder].id,
                role: s.role.clone(),
            })
            .collect();
        let synced = write::activity::sync_stakeholders(self.txn, id, &links).await?;
        count_links(&mut self.changes, "activity_stakeholder", synced);
        Ok(())
    }
}
