//! API keys, for administrators.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};

use super::*;
use crate::auth::Role;
use crate::graphql::object::{ApiKey, ApiKeyRole};
use crate::id::decode;
use crate::service::keys;

/// A new API key.
#[derive(InputObject)]
pub struct CreateApiKeyInput {
    /// Who will hold it, e.g. `Bologna city IT team`.
    pub name: String,
    /// What it may do.
    pub role: ApiKeyRole,
    /// For a partner key: the global ID of the city, region or stakeholder it acts for.
    pub organisation: Option<ID>,
}

/// Revokes an API key.
#[derive(InputObject)]
pub struct RevokeApiKeyInput {
    /// The key's number.
    pub number: i32,
}

/// A key just created, with its secret.
#[derive(SimpleObject)]
pub struct CreateApiKeyPayload {
    /// The key.
    pub api_key: ApiKey,
    /// The secret to send as `Authorization: Bearer …`. Shown this once: only its hash is kept.
    pub secret: String,
}

/// The key revoked.
#[derive(SimpleObject)]
pub struct RevokeApiKeyPayload {
    /// The key, with `revokedAt` set.
    pub api_key: ApiKey,
}

#[derive(Default)]
pub struct KeyMutation;

/// API keys.
#[Object]
impl KeyMutation {
    /// Creates an API key (administrators). The secret is in the payload, this once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new key.")] input: CreateApiKeyInput,
    ) -> Result<CreateApiKeyPayload> {
        let w = begin(ctx).await?;
        w.principal().require_admin()?;
        let organisation = match &input.organisation {
            None => None,
            Some(id) => {
                let (kind, key) = decode(id.as_str())
                    .map_err(|e| AppError::invalid("input.organisation", e.message()))?;
                Some(keys::organisation(&w.txn, kind, key).await?)
            }
        };
        let role = match input.role {
            ApiKeyRole::Admin => Role::Admin,
            ApiKeyRole::Partner => Role::Partner,
        };
        let created = keys::create(
            &w.txn,
            &input.name,
            role,
            organisation,
            Some(w.principal().key_id),
        )
        .await?;
        w.commit().await?;
        Ok(CreateApiKeyPayload {
            api_key: ApiKey(created.key),
            secret: created.secret,
        })
    }

    /// Revokes an API key (administrators); it stops working at once.
    async fn revoke_api_key(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The key to revoke.")] input: RevokeApiKeyInput,
    ) -> Result<RevokeApiKeyPayload> {
        let w = begin(ctx).await?;
        w.principal().require_admin()?;
        let key = keys::revoke(&w.txn, input.number).await?;
        w.commit().await?;
        Ok(RevokeApiKeyPayload {
            api_key: ApiKey(key),
        })
    }
}
