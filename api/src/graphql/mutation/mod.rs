//! The mutation root, merged from one root per domain. Every mutation:
//!
//! 1. requires an API key (`UNAUTHENTICATED` without a valid one);
//! 2. runs in one transaction, committed only when everything succeeded;
//! 3. checks the key's right to the record (`FORBIDDEN`, which also hides whether it exists);
//! 4. validates the input, naming the offending field in `extensions.field`;
//! 5. checks the version an update names (`CONFLICT` when stale);
//! 6. records the change in the audit trail.
//!
//! Steps 3 to 6 are the service's (`service::write::<domain>`): a resolver decodes its input
//! (global IDs to row ids, `MaybeUndefined` to `Patch`), calls the service and builds the
//! payload.

mod activity;
mod keys;
mod pairing;
mod place;
mod stakeholder;
mod ucap;

use async_graphql::{ID, InputObject, MaybeUndefined, MergedObject, SimpleObject};
use sea_orm::DatabaseTransaction;

use crate::auth::Principal;
use crate::error::{AppError, Result};
use crate::graphql::context::{db, principal};
use crate::id::{NodeType, decode_as, encode};
use crate::service::write::{Actor, Patch, Writer, dependents};

/// Changes to the IUC graph, for partner organisations and administrators (API key required).
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
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

    /// What the service's write functions take.
    pub fn writer(&self) -> Writer<'_, DatabaseTransaction> {
        Writer {
            db: &self.txn,
            actor: &self.actor,
            principal: &self.principal,
        }
    }

    /// Commits the transaction: the mutation's changes, its audit records and its change feed
    /// events become visible, and this process's live feed is told to read them.
    pub async fn commit(self) -> Result<()> {
        self.txn.commit().await?;
        crate::service::changes::committed();
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

/// Decodes a list of global IDs of one type, naming each item's field with `field(i)`:
/// refuses a malformed ID and one listed twice (the service checks that they exist).
pub(crate) fn input_ids<'a>(
    ids: impl IntoIterator<Item = &'a ID>,
    kind: NodeType,
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
    Ok(keys)
}

/// An optional input ID, decoded.
pub(crate) fn optional_id(id: Option<&ID>, kind: NodeType, field: &str) -> Result<Option<i32>> {
    id.map(|id| input_id(id, kind, field)).transpose()
}

/// A change to an optional ID field, decoded.
pub(crate) fn id_change(id: MaybeUndefined<ID>, kind: NodeType, field: &str) -> Result<Patch<i32>> {
    Ok(match id {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(id) => Some(Some(input_id(&id, kind, field)?)),
    })
}

/// Deletes a record.
#[derive(InputObject)]
pub struct DeleteInput {
    /// The record's global ID.
    pub id: ID,
    /// The version you read; when given, a stale one gets `CONFLICT`.
    pub version: Option<i32>,
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

impl DeletePayload {
    /// The payload of a delete of `id` that took `removed` with it.
    pub(crate) fn new(kind: NodeType, id: i32, removed: Vec<dependents::Removal>) -> Self {
        Self {
            deleted_id: encode(kind, id),
            removed: removed
                .into_iter()
                .map(|r| Removal {
                    entity: r.entity,
                    count: r.count,
                })
                .collect(),
        }
    }
}
