//! Writes: the one path every create, update and delete takes, from the GraphQL mutations and
//! from the dataset loader (`seed`, `import`).
//!
//! - Per domain, a module with its `create`, `update` and `delete` functions: `place` (cities
//!   and regions, one implementation over the `Place` trait), `pairing`, `ucap` (and projects),
//!   `stakeholder` (and involvements), `activity`. They take a `Writer` (transaction, actor,
//!   principal) and plain inputs with IDs already decoded, check the caller's right
//!   (`access`), check what the input refers to (`lookup`), and write through the generic
//!   functions below. A resolver decodes its input, calls one of them and builds the payload.
//! - Link rows (a pairing's themes and SDGs, an activity's pairings and stakeholders) are made
//!   equal to a wanted list by one generic function, `links::Link::sync`; a delete counts what
//!   it takes with it with typed queries (`dependents`).
//! - The dataset loader writes records by natural key with `upsert` (the same validation,
//!   version bump and audit as an update) and the domains' link syncs.
//! - The caller opens a transaction and commits it at the end; any error drops it, which rolls
//!   back everything the mutation did, audit included.
//! - `insert`, `update` and `delete` validate the whole record (with the path of the offending
//!   input field), check the version an update names against the stored one, write, and record
//!   the change in the audit trail.
//! - An update's `UPDATE … WHERE id = ? AND version = ?` is the real guard against lost
//!   updates: when two writers read version 3, the first sets 4 and the second's statement
//!   matches no row and gets `CONFLICT`, also across several API instances.
//! - The checks before a write (`require_unique_slug`, a delete's dependents) can race with a
//!   concurrent writer; the database's constraints then refuse the statement, and `refused`
//!   turns that refusal into the error the check would have given (`constraint`).

pub mod activity;
pub mod cascade;
pub mod dependents;
pub mod links;
pub mod lookup;
pub mod pairing;
pub mod place;
pub mod records;
pub mod rules;
pub mod stakeholder;
pub mod ucap;

use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use entity::audit_event;
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ConnectionTrait,
    EntityTrait, IntoActiveModel, ModelTrait, QueryFilter,
};
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::auth::{Organisation, Principal};
use crate::constraint;
use crate::error::AppError;
use crate::service::changes::{self, Change};
use crate::service::provenance::{self, Source};

/// Who is writing, as the audit trail records it.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The API key, or `None` for the command line.
    pub key_id: Option<i32>,
    /// The key's name, or what ran the command (`cli import data.json`).
    pub name: String,
    pub organisation: Option<Organisation>,
    /// The organisation's name, looked up once per write.
    pub organisation_name: Option<String>,
}

impl Actor {
    /// Who a partner source names: the organisation, or for a key without one (an
    /// administrator's) the key's name.
    pub fn source_name(&self) -> &str {
        self.organisation_name.as_deref().unwrap_or(&self.name)
    }

    /// The actor behind a principal (one lookup of the organisation's name for partners).
    pub async fn new(db: &impl ConnectionTrait, principal: &Principal) -> Result<Self, AppError> {
        use entity::{city, region, stakeholder};
        let organisation_name = match principal.organisation {
            None => None,
            Some(Organisation::City(id)) => {
                city::Entity::find_by_id(id).one(db).await?.map(|m| m.name)
            }
            Some(Organisation::Region(id)) => region::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|m| m.name),
            Some(Organisation::Stakeholder(id)) => stakeholder::Entity::find_by_id(id)
                .one(db)
                .await?
                .map(|m| m.name),
        };
        Ok(Self {
            key_id: Some(principal.key_id),
            name: principal.key_name.clone(),
            organisation: principal.organisation,
            organisation_name,
        })
    }

    /// A command run on the server's machine (no key).
    pub fn command_line(what: impl Into<String>) -> Self {
        Self {
            key_id: None,
            name: what.into(),
            organisation: None,
            organisation_name: None,
        }
    }
}

/// Who writes, and in which transaction: what every domain's create, update and delete take.
/// The principal's rights are checked by the service (`access`), not by its callers.
pub struct Writer<'a, C> {
    pub db: &'a C,
    pub actor: &'a Actor,
    pub principal: &'a Principal,
}

/// A change to an optional column: `None` keeps it, `Some(None)` clears it, `Some(Some(v))`
/// sets it.
pub type Patch<T> = Option<Option<T>>;

/// Applies a `Patch` to a column.
pub fn patch<T>(field: &mut Option<T>, value: Patch<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

/// A record the API writes: validation, its natural key, and its version.
pub trait Record: Clone + Serialize + Send + Sync + 'static {
    /// The GraphQL type name, as the audit trail names the entity.
    const ENTITY: &'static str;
    fn id(&self) -> i32;
    fn version(&self) -> i32;
    fn set_version(&mut self, version: i32);
    /// The record's `sources` column, when it has one.
    fn sources_mut(&mut self) -> Option<&mut String>;
    /// When the record last changed; the server sets it with every version bump (`touch`).
    fn updated_at(&self) -> DateTime<Utc>;
    fn set_updated_at(&mut self, at: DateTime<Utc>);
    /// The natural key (slug), when the record has one.
    fn key(&self) -> Option<String>;
    /// Recomputes derived columns (folded names, search text) from the others.
    fn derive(&mut self) {}
    /// Checks the whole record; errors name the input field (`input.population`).
    fn validate(&self) -> Result<(), AppError>;
}

/// The audit action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// Columns derived from others or kept by the server (the audit event has its own time), left
/// out of audit diffs.
const DERIVED: [&str; 4] = ["name_folded", "search_text", "version", "updated_at"];

/// The fields that differ between two snapshots, as `{"field": {"before": …, "after": …}}`.
/// A create has only `after`s, a delete only `before`s.
pub fn diff(before: Option<&Json>, after: Option<&Json>) -> Map<String, Json> {
    let empty = Map::new();
    let b = before.and_then(Json::as_object).unwrap_or(&empty);
    let a = after.and_then(Json::as_object).unwrap_or(&empty);
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    let mut changes = Map::new();
    for field in fields {
        if DERIVED.contains(&field.as_str()) {
            continue;
        }
        let (old, new) = (b.get(field), a.get(field));
        if old == new {
            continue;
        }
        let mut change = Map::new();
        if before.is_some() {
            change.insert("before".into(), old.cloned().unwrap_or(Json::Null));
        }
        if after.is_some() {
            change.insert("after".into(), new.cloned().unwrap_or(Json::Null));
        }
        changes.insert(field.clone(), Json::Object(change));
    }
    changes
}

/// Records one write in the audit trail and, for a public record, in the change feed (both
/// inside the write's transaction). An update that changed nothing is not recorded.
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    db: &impl ConnectionTrait,
    actor: &Actor,
    entity: &str,
    record_id: i32,
    record_key: Option<String>,
    action: Action,
    before: Option<&Json>,
    after: Option<&Json>,
) -> Result<(), AppError> {
    let changes = diff(before, after);
    if action == Action::Update && changes.is_empty() {
        return Ok(());
    }
    // The version the record has now (for a delete, the one it had).
    let version = after
        .or(before)
        .and_then(|snapshot| snapshot.get("version"))
        .and_then(Json::as_i64)
        .unwrap_or(0);
    let written = Written {
        entity,
        record_id,
        record_key,
        action,
        version: i32::try_from(version).unwrap_or(i32::MAX),
    };
    record_write(db, actor, written, changes).await
}

/// One write of a record, as the audit trail and the change feed record it.
pub struct Written<'a> {
    pub entity: &'a str,
    pub record_id: i32,
    pub record_key: Option<String>,
    pub action: Action,
    /// The record's version after the write (for a delete, the one it had).
    pub version: i32,
}

/// Records a write with its `changes` (`{"field": {…}}`) in the audit trail and, for a public
/// record, in the change feed: the one place where the two are written, in the write's
/// transaction.
pub async fn record_write(
    db: &impl ConnectionTrait,
    actor: &Actor,
    written: Written<'_>,
    changes: Map<String, Json>,
) -> Result<(), AppError> {
    let feed = Change {
        entity: written.entity,
        record_id: written.record_id,
        action: written.action.as_str(),
        version: written.version,
        // A delete changes no field: the record is gone.
        fields: match written.action {
            Action::Delete => Vec::new(),
            _ => changes::field_names(changes.keys()),
        },
    };
    let Written {
        entity,
        record_id,
        record_key,
        action,
        ..
    } = written;
    audit_changes(db, actor, entity, record_id, record_key, action, changes).await?;
    changes::record(db, feed).await
}

/// Records one audit event with the given `changes` object.
pub async fn audit_changes(
    db: &impl ConnectionTrait,
    actor: &Actor,
    entity: &str,
    record_id: i32,
    record_key: Option<String>,
    action: Action,
    changes: Map<String, Json>,
) -> Result<(), AppError> {
    audit_event::ActiveModel {
        id: NotSet,
        at: Set(Utc::now()),
        key_id: Set(actor.key_id),
        actor: Set(actor.name.clone()),
        organisation: Set(actor.organisation.map(Organisation::global_id)),
        organisation_name: Set(actor.organisation_name.clone()),
        entity: Set(entity.to_owned()),
        record_id: Set(record_id),
        record_key: Set(record_key),
        action: Set(action.as_str().to_owned()),
        changes: Set(Json::Object(changes).to_string()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The JSON snapshot of a record, as the audit trail shows it.
pub fn snapshot<T: Serialize>(record: &T) -> Json {
    serde_json::to_value(record).unwrap_or(Json::Null)
}

fn id_column<E: EntityTrait>() -> Result<E::Column, AppError> {
    E::Column::from_str("id")
        .map_err(|_| AppError::Internal(format!("{} has no id column", E::default().as_str())))
}

/// Inserts a new record (version 1) and audits it. `extra` adds to the audited snapshot.
pub async fn insert<E, M, A>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    model: M,
    extra: Option<Map<String, Json>>,
) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let saved = create_row(db, actor, model).await?;
    audit_create(db, actor, &saved, extra).await?;
    Ok(saved)
}

/// Validates and inserts a new record (version 1) without auditing it yet: for records whose
/// children are written next and belong in the same audit record (`audit_create`).
pub async fn insert_row<E, M, A>(db: &impl ConnectionTrait, mut model: M) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    model.derive();
    touch(&mut model, 1);
    model.validate()?;
    let key = model.key();
    let mut active = model.into_active_model().reset_all();
    active.not_set(id_column::<E>()?);
    active
        .insert(db)
        .await
        .map_err(|e| refused::<E>(e, key.as_deref()))
}

/// `insert_row` for an API create: the record's sources are what the writer cites and the
/// partner's write (`provenance::on_create`). (The dataset loader inserts with the file's
/// sources as they are.)
pub async fn create_row<E, M, A>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    mut model: M,
) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    if let Some(sources) = model.sources_mut() {
        let cited = provenance::parse(sources);
        check_cited(db, &cited).await?;
        *sources = provenance::to_text(&provenance::on_create(cited, actor.source_name(), now()));
    }
    insert_row(db, model).await
}

/// Audits the creation of a record; `extra` adds to its snapshot (children).
pub async fn audit_create<M: Record>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    saved: &M,
    extra: Option<Map<String, Json>>,
) -> Result<(), AppError> {
    let after = with_extra(snapshot(saved), extra);
    audit(
        db,
        actor,
        M::ENTITY,
        saved.id(),
        saved.key(),
        Action::Create,
        None,
        Some(&after),
    )
    .await
}

/// Updates a record the caller has read (`before`) and changed (`after`), if `version` is still
/// the stored one; the new version is one more. `extra_before`/`extra_after` add children to
/// the audited snapshots. Children-only changes still bump the version (`touched`).
#[allow(clippy::too_many_arguments)]
pub async fn update<E, M, A>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    before: &M,
    version: i32,
    after: M,
    extra_before: Option<Map<String, Json>>,
    extra_after: Option<Map<String, Json>>,
) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let old = with_extra(snapshot(before), extra_before);
    let after = partner_update(db, actor, before, after, &old, extra_after.as_ref()).await?;
    let after = update_row(db, before, version, after).await?;
    let new = with_extra(snapshot(&after), extra_after);
    audit(
        db,
        actor,
        M::ENTITY,
        after.id(),
        after.key(),
        Action::Update,
        Some(&old),
        Some(&new),
    )
    .await?;
    Ok(after)
}

/// An API update's sources: the changed fields' old sources go, the partner's write of each
/// is recorded (`provenance::on_update`); a new list the writer gives replaces the cited ones.
async fn partner_update<M: Record>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    before: &M,
    mut after: M,
    old: &Json,
    extra_after: Option<&Map<String, Json>>,
) -> Result<M, AppError> {
    let mut previous = before.clone();
    let (Some(was), Some(sources)) = (previous.sources_mut(), after.sources_mut()) else {
        return Ok(after);
    };
    let cited = (*was != *sources).then(|| provenance::parse(sources));
    if let Some(cited) = &cited {
        check_cited(db, cited).await?;
    }
    let was = provenance::parse(was);
    // The fields the write changes, by comparing the snapshots without their sources.
    let mut plain = after.clone();
    if let Some(s) = plain.sources_mut() {
        *s = provenance::to_text(&was);
    }
    let new = with_extra(snapshot(&plain), extra_after.cloned());
    let changed: Vec<String> = changes::field_names(diff(Some(old), Some(&new)).keys());
    let updated = provenance::on_update(was, cited, &changed, actor.source_name(), now());
    if let Some(s) = after.sources_mut() {
        *s = provenance::to_text(&updated);
    }
    Ok(after)
}

/// Refuses sources that cite a document or a rule the database does not hold (one statement
/// for each kind cited, none when the writer cites nothing).
async fn check_cited(db: &impl ConnectionTrait, sources: &[Source]) -> Result<(), AppError> {
    use entity::{derivation_rule, document};
    use sea_orm::ColumnTrait;
    let wanted = |f: fn(&Source) -> Option<&String>| -> Vec<String> {
        sources.iter().filter_map(f).cloned().collect()
    };
    let documents = wanted(|s| s.document.as_ref());
    if !documents.is_empty() {
        let found = document::Entity::find()
            .filter(document::Column::Key.is_in(documents.clone()))
            .all(db)
            .await?;
        if let Some(missing) = documents
            .iter()
            .find(|k| !found.iter().any(|d| &d.key == *k))
        {
            return Err(AppError::invalid(
                "input.sources",
                format!("no document has the key {missing:?}"),
            ));
        }
    }
    let rules = wanted(|s| s.rule.as_ref());
    if !rules.is_empty() {
        let found = derivation_rule::Entity::find()
            .filter(derivation_rule::Column::Slug.is_in(rules.clone()))
            .all(db)
            .await?;
        if let Some(missing) = rules.iter().find(|k| !found.iter().any(|r| &r.slug == *k)) {
            return Err(AppError::invalid(
                "input.sources",
                format!("no derivation rule has the slug {missing:?}"),
            ));
        }
    }
    Ok(())
}

/// Validates and writes an update (see `update`) without auditing it.
async fn update_row<E, M, A>(
    db: &impl ConnectionTrait,
    before: &M,
    version: i32,
    mut after: M,
) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    check_version(before, version)?;
    after.derive();
    touch(&mut after, version + 1);
    after.validate()?;
    let result = E::update_many()
        .set(after.clone().into_active_model().reset_all())
        .filter(Expr::col(Alias::new("id")).eq(before.id()))
        .filter(Expr::col(Alias::new("version")).eq(version))
        .exec(db)
        .await
        .map_err(|e| refused::<E>(e, after.key().as_deref()))?;
    if result.rows_affected == 0 {
        return Err(stale(before));
    }
    Ok(after)
}

/// Gives a record its new version and the time of the change: every write that bumps the
/// version goes through here, so that `updated_at` moves exactly when `version` does.
fn touch<M: Record>(record: &mut M, version: i32) {
    record.set_version(version);
    record.set_updated_at(now());
}

/// The time of a write, to the microsecond: what PostgreSQL's TIMESTAMPTZ keeps, so that the
/// record a mutation returns shows the time that later reads give.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Inserted,
    Updated,
    Unchanged,
}

/// The dataset loader's write of one record by natural key: inserts `model` when there is no
/// `existing` record, updates the existing one when they differ (with the next version, as an
/// API update would give it, so that a client holding the old version is told its copy is
/// stale), leaves it alone when equal. Audited under `actor` when one is given.
pub async fn upsert<E, M, A>(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    existing: Option<&M>,
    mut model: M,
) -> Result<(M, Upserted), AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E> + IntoActiveModel<A> + PartialEq,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let Some(old) = existing else {
        let saved = insert_row(db, model).await?;
        if let Some(actor) = actor {
            audit_create(db, actor, &saved, None).await?;
        }
        return Ok((saved, Upserted::Inserted));
    };
    model.set(id_column::<E>()?, old.id().into());
    // The stored version and time, so that an unchanged record compares equal and stays as it
    // is; an update then bumps both.
    model.set_version(old.version());
    model.set_updated_at(old.updated_at());
    model.derive();
    if model == *old {
        return Ok((model, Upserted::Unchanged));
    }
    let saved = match actor {
        Some(actor) => update(db, actor, old, old.version(), model, None, None).await?,
        None => update_row(db, old, old.version(), model).await?,
    };
    Ok((saved, Upserted::Updated))
}

/// Checks the version an update names and locks the record's row for the rest of the
/// transaction: call it before changing a record's children. On PostgreSQL a second writer
/// waits here until the first commits and then gets `CONFLICT`, before it touches any child
/// row (SQLite's write transactions are serial already).
pub async fn lock<E, M>(db: &impl ConnectionTrait, record: &M, version: i32) -> Result<(), AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E>,
{
    check_version(record, version)?;
    let column = E::Column::from_str("version")
        .map_err(|_| AppError::Internal(format!("{} has no version column", M::ENTITY)))?;
    let result = E::update_many()
        .col_expr(column, Expr::col(Alias::new("version")))
        .filter(Expr::col(Alias::new("id")).eq(record.id()))
        .filter(Expr::col(Alias::new("version")).eq(version))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(stale(record));
    }
    Ok(())
}

/// Deletes a record (the database cascades to its dependent children) and audits it.
pub async fn delete<E, M>(
    db: &impl ConnectionTrait,
    actor: &Actor,
    record: &M,
    version: Option<i32>,
    extra: Option<Map<String, Json>>,
) -> Result<(), AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E>,
{
    if let Some(version) = version {
        check_version(record, version)?;
    }
    let gone = cascade::cascaded(db, M::ENTITY, record.id()).await?;
    let result = E::delete_many()
        .filter(Expr::col(Alias::new("id")).eq(record.id()))
        .filter(Expr::col(Alias::new("version")).eq(record.version()))
        .exec(db)
        .await
        .map_err(|e| match constraint::violation(&e) {
            Some(v) if v.rule == constraint::Rule::ForeignKey => still_referenced(record),
            _ => AppError::from(e),
        })?;
    if result.rows_affected == 0 {
        return Err(stale(record));
    }
    let before = with_extra(snapshot(record), extra);
    audit(
        db,
        actor,
        M::ENTITY,
        record.id(),
        record.key(),
        Action::Delete,
        Some(&before),
        None,
    )
    .await?;
    for (entity, record_id, version) in gone {
        let change = Change {
            entity,
            record_id,
            action: Action::Delete.as_str(),
            version,
            fields: Vec::new(),
        };
        changes::record(db, change).await?;
    }
    Ok(())
}

/// Records that an import changed the children of a record it did not otherwise create
/// (participants, links, sections; `fields` names them as the audit trail does, e.g.
/// `theme_ids`): the record's version goes up, as an API update's would, and the audit trail
/// (when `actor` is given) and the change feed name the children. Returns the record as
/// stored now.
pub async fn children_changed<E, M, A>(
    db: &impl ConnectionTrait,
    actor: Option<&Actor>,
    record: &M,
    fields: &[&str],
) -> Result<M, AppError>
where
    E: EntityTrait<Model = M>,
    M: Record + ModelTrait<Entity = E> + IntoActiveModel<A>,
    A: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    let after = update_row(db, record, record.version(), record.clone()).await?;
    let Some(actor) = actor else {
        return Ok(after);
    };
    // The children's details are in the import's summary event.
    let changes: Map<String, Json> = fields
        .iter()
        .map(|f| ((*f).to_owned(), Json::Object(Map::new())))
        .collect();
    let written = Written {
        entity: M::ENTITY,
        record_id: after.id(),
        record_key: after.key(),
        action: Action::Update,
        version: after.version(),
    };
    record_write(db, actor, written, changes).await?;
    Ok(after)
}

fn check_version<M: Record>(record: &M, version: i32) -> Result<(), AppError> {
    if record.version() == version {
        Ok(())
    } else {
        Err(stale_with(record, record.version(), version))
    }
}

fn stale<M: Record>(record: &M) -> AppError {
    AppError::Conflict(format!(
        "{} {} was changed by someone else while this write ran: read it again and retry \
         with its new version",
        M::ENTITY,
        record.key().unwrap_or_else(|| record.id().to_string())
    ))
}

fn stale_with<M: Record>(record: &M, current: i32, named: i32) -> AppError {
    AppError::Conflict(format!(
        "{} {} is at version {current}, not {named}: someone else changed it since you read it; \
         read it again and reapply your change",
        M::ENTITY,
        record.key().unwrap_or_else(|| record.id().to_string())
    ))
}

fn with_extra(mut json: Json, extra: Option<Map<String, Json>>) -> Json {
    if let (Some(object), Some(extra)) = (json.as_object_mut(), extra) {
        object.extend(extra);
    }
    json
}

/// `BAD_USER_INPUT` on `field` unless no other record of the table has this slug.
pub async fn require_unique_slug<E>(
    db: &impl ConnectionTrait,
    field: &str,
    slug: &str,
    except_id: Option<i32>,
) -> Result<(), AppError>
where
    E: EntityTrait,
{
    let mut query = E::find().filter(Expr::col(Alias::new("slug")).eq(slug.to_owned()));
    if let Some(id) = except_id {
        query = query.filter(Expr::col(Alias::new("id")).ne(id));
    }
    if query.one(db).await?.is_some() {
        return Err(slug_taken(field, slug, E::default().as_str()));
    }
    Ok(())
}

/// The one wording for a taken slug: from the check before a write, and from the database's
/// refusal when a concurrent write took the slug between that check and the statement.
fn slug_taken(field: &str, slug: &str, table: &str) -> AppError {
    AppError::invalid(
        field,
        format!("the slug {slug:?} is taken by another {table}"),
    )
}

/// The error for a write of a record with natural key `key` to `E`'s table that the database
/// refused: a unique violation on the slug is `require_unique_slug`'s error (every mutation
/// names the slug `input.slug`); anything else as `AppError::from` says.
fn refused<E: EntityTrait>(error: sea_orm::DbErr, key: Option<&str>) -> AppError {
    let entity = E::default();
    let table = entity.as_str();
    match (constraint::violation(&error), key) {
        (Some(v), Some(slug)) if v.is_unique(table, &["slug"]) => {
            slug_taken("input.slug", slug, table)
        }
        _ => AppError::from(error),
    }
}

/// A delete that the database refused because a row written while it ran refers to the record
/// (the dependents were counted before, and there were none): the same `CONFLICT` as when
/// they are counted.
fn still_referenced<M: Record>(record: &M) -> AppError {
    AppError::Conflict(format!(
        "{} {} cannot be deleted while other records refer to it (written while this delete \
         ran): change or delete those first",
        M::ENTITY,
        record.key().unwrap_or_else(|| record.id().to_string())
    ))
}
