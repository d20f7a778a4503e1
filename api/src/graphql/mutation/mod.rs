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

use std::sync::Arc;

use async_graphql::{ID, MergedObject, SimpleObject};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, EntityTrait, PrimaryKeyTrait, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use crate::auth::{Principal, RequestAuth};
use crate::error::{AppError, Result};
use crate::graphql::id::{NodeType, decode_as};
use crate::graphql::query::db;
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

/// The caller of this request, or `UNAUTHENTICATED`.
pub(crate) async fn principal(ctx: &async_graphql::Context<'_>) -> Result<Principal> {
    let auth = ctx
        .data::<Arc<RequestAuth>>()
        .map_err(|_| AppError::Internal("the request carries no credentials".into()))?;
    auth.require(db(ctx)?).await
}

/// Authenticates the caller and opens the write's transaction.
pub(crate) async fn begin(ctx: &async_graphql::Context<'_>) -> Result<Write> {
    let principal = principal(ctx).await?;
    // SQLite: take the write lock at BEGIN (IMMEDIATE). A deferred transaction that reads
    // first and writes later fails at once with SQLITE_BUSY when another writer committed in
    // between; an immediate one waits its turn (busy timeout) and then sees the new version.
    let options = TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    };
    let txn = db(ctx)?.begin_with_options(options).await?;
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

/// Counts rows of a table matching a condition (for delete reports and refusals).
pub(crate) async fn count_where(db: &impl ConnectionTrait, sql: &str, id: i32) -> Result<i32> {
    let backend = db.get_database_backend();
    let sql = if backend == sea_orm::DbBackend::Postgres {
        sql.replace('?', "$1")
    } else {
        sql.to_owned()
    };
    let row = db
        .query_one_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            format!("SELECT COUNT(*) AS n FROM {sql}"),
            [id.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get("", "n")?,
        None => 0,
    };
    Ok(n as i32)
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
