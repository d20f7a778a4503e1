//! What administrators see of keys and of the audit trail.

use async_graphql::{Enum, ID, Json, Object};
use entity::{api_key, audit_event};

/// What a write did.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// The record was created.
    Create,
    /// The record was changed.
    Update,
    /// The record was deleted.
    Delete,
}

/// What an API key may do.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyRole {
    /// May change anything and manage keys.
    Admin,
    /// May change what belongs to its organisation.
    Partner,
}

pub struct AuditEvent(pub audit_event::Model);

/// One write: who made it, when, to which record, and the fields it changed.
#[Object]
impl AuditEvent {
    /// Sequence number of the event (grows with time).
    async fn number(&self) -> i32 {
        self.0.id
    }
    /// When the write was committed (UTC).
    async fn at(&self) -> crate::graphql::scalar::DateTime {
        self.0.at.into()
    }
    /// Number of the API key that wrote (see `apiKeys`).
    async fn key_number(&self) -> Option<i32> {
        self.0.key_id
    }
    /// Name of the key that wrote.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// Global ID of the organisation the key acts for (none for administrators).
    async fn organisation(&self) -> Option<ID> {
        self.0.organisation.clone().map(ID)
    }
    /// Name of that organisation at the time of the write.
    async fn organisation_name(&self) -> Option<&str> {
        self.0.organisation_name.as_deref()
    }
    /// The type of the record written, e.g. `Pairing`.
    async fn entity(&self) -> &str {
        &self.0.entity
    }
    /// Global ID of the record written (it may have been deleted since).
    async fn record(&self) -> ID {
        crate::id::encode_name(&self.0.entity, self.0.record_id)
    }
    /// The record's natural key (slug) at the time, when it has one.
    async fn record_key(&self) -> Option<&str> {
        self.0.record_key.as_deref()
    }
    /// Created, changed or deleted.
    async fn action(&self) -> AuditAction {
        match self.0.action.as_str() {
            "create" => AuditAction::Create,
            "delete" => AuditAction::Delete,
            _ => AuditAction::Update,
        }
    }
    /// The changed fields, as `{"field": {"before": …, "after": …}}` (database column names;
    /// a create has only `after`, a delete only `before`).
    async fn changes(&self) -> Json<serde_json::Value> {
        Json(serde_json::from_str(&self.0.changes).unwrap_or(serde_json::Value::Null))
    }
}

pub struct ApiKey(pub api_key::Model);

/// An API key (never its secret).
#[Object]
impl ApiKey {
    /// The key's number (used by `revokeApiKey` and the CLI).
    async fn number(&self) -> i32 {
        self.0.id
    }
    /// Who holds the key.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The first characters of the secret, to recognise it.
    async fn prefix(&self) -> &str {
        &self.0.token_prefix
    }
    /// What it may do.
    async fn role(&self) -> ApiKeyRole {
        if self.0.role == "admin" {
            ApiKeyRole::Admin
        } else {
            ApiKeyRole::Partner
        }
    }
    /// Global ID of the organisation a partner key acts for.
    async fn organisation(&self) -> Option<ID> {
        crate::auth::principal(&self.0)
            .organisation
            .map(|o| ID(o.global_id()))
    }
    /// When it was created.
    async fn created_at(&self) -> crate::graphql::scalar::DateTime {
        self.0.created_at.into()
    }
    /// When it was last used (to the minute).
    async fn last_used_at(&self) -> Option<crate::graphql::scalar::DateTime> {
        self.0.last_used_at.map(Into::into)
    }
    /// When it was revoked; a revoked key no longer works.
    async fn revoked_at(&self) -> Option<crate::graphql::scalar::DateTime> {
        self.0.revoked_at.map(Into::into)
    }
}
