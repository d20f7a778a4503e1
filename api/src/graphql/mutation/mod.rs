//! The mutation root, merged from one root per domain. Every mutation:
//!
//! 1. requires an API key (`UNAUTHENTICATED` without a valid one);
//! 2. runs in one transaction, committed only when everything succeeded;
//! 3. checks the key's right to the record (`FORBIDDEN`, which also hides whether it exists);
//! 4. validates the input, naming the offending field in `extensions.field`;
//! 5. checks the version an update names (`CONFLICT` when stale);
//! 6. records the change in the audit trail.

mod activity;
mod keys;
mod pairing;
mod place;
mod stakeholder;
mod ucap;

use std::collections::HashSet;

use async_graphql::{ID, MergedObject, SimpleObject};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait, PrimaryKeyTrait};

use crate::auth::Principal;
use crate::error::{AppError, Result};
use crate::graphql::context::{db, principal};
use crate::id::{NodeType, decode_as};
use crate::service::sql::Sql;
use crate::service::write::Actor;

/// Changes to the IUC graph, for partner organisations and administrators (API key required).
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    place::PlaceMutation,
    pairing::PairingMutation,
    ucap::UcapMutation,
    stakeholder::StakeholderMutation,
    activity::ActivityMutation,
    keys::KeyMutation,
);

/// One write in progress: its transaction and who is writing.
pub(crate) struct Write {
    pub txn: DatabaseTransaction,
    pub actor: Actor,
    principal: Principal,
}

impl Write {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    /// Commits the transaction: the mutation's changes and its audit records become visible.
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        Ok(())
    }
}

/// Authenticates the caller and opens the write's transaction.
pub(crate) async fn begin(ctx: &async_graphql::Context<'_>) -> Result<Write> {
    let principal = principal(ctx).await?;
    let txn = crate::db::begin_write(db(ctx)?).await?;
    let actor = Actor::new(&txn, &principal).await?;
    Ok(Write {
        txn,
        actor,
        principal,
    })
}

/// The row an input's global ID names; a wrong ID is an error on that input field.
pub(crate) fn input_id(id: &ID, kind: NodeType, field: &str) -> Result<i32> {
    decode_as(id.as_str(), kind).map_err(|e| AppError::invalid(field, e.message()))
}

/// Loads the record a mutation changes. A missing record is `NOT_FOUND` for administrators and
/// `FORBIDDEN` for partners, who must not learn what exists beyond their own records.
pub(crate) async fn find_for_write<E>(
    w: &Write,
    id: &ID,
    kind: NodeType,
    field: &str,
) -> Result<E::Model>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i32>,
{
    let key = input_id(id, kind, field)?;
    match E::find_by_id(key).one(&w.txn).await? {
        Some(model) => Ok(model),
        None if w.principal().is_admin() => Err(AppError::NotFound(format!(
            "no {} with ID {}",
            kind.name(),
            id.as_str()
        ))),
        None => Err(AppError::Forbidden),
    }
}

/// What a delete took with it.
#[derive(SimpleObject, Debug, Clone)]
pub struct Removal {
    /// What kind of record, e.g. `Participant`, `ThemeLink`.
    pub entity: String,
    /// How many were deleted.
    pub count: i32,
}

/// The result of a delete.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The global ID of the deleted record.
    pub deleted_id: ID,
    /// The dependent records deleted with it (none listed when there were none).
    pub removed: Vec<Removal>,
}

/// Counts rows of a table matching a condition with one `?`, bound to `id` (for delete
/// reports and refusals).
pub(crate) async fn count_where(db: &impl ConnectionTrait, sql: &str, id: i32) -> Result<i32> {
    let (before, after) = sql.split_once('?').unwrap_or((sql, ""));
    let mut query = Sql::default();
    query
        .push("SELECT COUNT(*) AS n FROM ")
        .push(before)
        .bind(id.into())
        .push(after);
    let row = db
        .query_one_raw(query.statement(db.get_database_backend()))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n as i32)
}

/// Of `ids`, those that are rows of `table` (one statement).
pub(crate) async fn existing_ids(
    db: &impl ConnectionTrait,
    table: &str,
    ids: &[i32],
) -> Result<HashSet<i32>> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let mut query = Sql::default();
    query
        .push(&format!("SELECT id FROM {table} WHERE id IN ("))
        .bind_list(ids.iter().map(|id| (*id).into()))
        .push(")");
    let rows = db
        .query_all_raw(query.statement(db.get_database_backend()))
        .await?;
    let mut found = HashSet::with_capacity(rows.len());
    for row in rows {
        found.insert(row.try_get::<i32>("", "id")?);
    }
    Ok(found)
}

/// Decodes a list of global IDs of one type, naming each item's field with `field(i)`:
/// refuses a malformed ID, one listed twice, and one with no row in `table` (checked in one
/// statement for the whole list).
pub(crate) async fn input_ids<'a>(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = &'a ID>,
    kind: NodeType,
    table: &str,
    field: impl Fn(usize) -> String,
) -> Result<Vec<i32>> {
    let mut keys: Vec<i32> = Vec::new();
    for (i, id) in ids.into_iter().enumerate() {
        let key = input_id(id, kind, &field(i))?;
        if keys.contains(&key) {
            return Err(AppError::invalid(
                field(i),
                format!("this {} is listed twice", kind.name()),
            ));
        }
        keys.push(key);
    }
    let found = existing_ids(db, table, &keys).await?;
    if let Some(i) = keys.iter().position(|k| !found.contains(k)) {
        return Err(AppError::invalid(
            field(i),
            format!("no such {}", kind.name()),
        ));
    }
    Ok(keys)
}

/// Counts each dependent kind; the non-zero ones.
pub(crate) async fn count_dependents(
    db: &impl ConnectionTrait,
    id: i32,
    kinds: &[(&str, &str)],
) -> Result<Vec<Removal>> {
    let mut found = Vec::new();
    for (entity, sql) in kinds {
        let count = count_where(db, sql, id).await?;
        if count > 0 {
            found.push(Removal {
                entity: (*entity).to_owned(),
                count,
            });
        }
    }
    Ok(found)
}

/// `CONFLICT` naming what still refers to the record, if anything does.
pub(crate) fn refuse_if_referenced(what: &str, references: &[Removal]) -> Result<()> {
    if references.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = references
        .iter()
        .map(|r| format!("{} {}", r.count, r.entity))
        .collect();
    Err(AppError::Conflict(format!(
        "{what} cannot be deleted while other records refer to it ({}): change or delete \
         those first",
        list.join(", ")
    )))
}

/// The id of an existing city named by an input field (`input.city`).
pub(crate) async fn existing_city(db: &impl ConnectionTrait, id: &ID, field: &str) -> Result<i32> {
    let key = input_id(id, NodeType::City, field)?;
    if entity::city::Entity::find_by_id(key)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::invalid(field, "no such city"));
    }
    Ok(key)
}

/// `sources` as stored: a JSON array of strings.
pub(crate) fn sources_text(sources: &[String]) -> String {
    serde_json::to_string(sources).unwrap_or_else(|_| "[]".to_owned())
}
