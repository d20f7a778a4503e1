//! API keys: create (the secret is returned once), list, revoke.

use chrono::Utc;
use entity::api_key;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ConnectionTrait, EntityTrait,
    QueryOrder,
};

use crate::auth::{self, Organisation, Role};
use crate::error::AppError;
use crate::id::NodeType;

/// A key just made, with its secret (never stored, never shown again).
pub struct CreatedKey {
    pub key: api_key::Model,
    pub secret: String,
}

/// The organisation a partner key would act for: an existing city, region or stakeholder
/// (errors on `input.organisation`).
pub async fn organisation(
    db: &impl ConnectionTrait,
    kind: NodeType,
    id: i32,
) -> Result<Organisation, AppError> {
    let (organisation, exists) = match kind {
        NodeType::City => (
            Organisation::City(id),
            entity::city::Entity::find_by_id(id)
                .one(db)
                .await?
                .is_some(),
        ),
        NodeType::Region => (
            Organisation::Region(id),
            entity::region::Entity::find_by_id(id)
                .one(db)
                .await?
                .is_some(),
        ),
        NodeType::Stakeholder => (
            Organisation::Stakeholder(id),
            entity::stakeholder::Entity::find_by_id(id)
                .one(db)
                .await?
                .is_some(),
        ),
        _ => {
            return Err(AppError::invalid(
                "input.organisation",
                "an organisation is a City, Region or Stakeholder",
            ));
        }
    };
    if !exists {
        return Err(AppError::invalid(
            "input.organisation",
            "no such organisation",
        ));
    }
    Ok(organisation)
}

/// Creates a key. A partner key must name its organisation, an administrator key must not.
pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    role: Role,
    organisation: Option<Organisation>,
    created_by: Option<i32>,
) -> Result<CreatedKey, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("input.name", "a key needs a name"));
    }
    match (role, organisation) {
        (Role::Admin, Some(_)) => {
            return Err(AppError::invalid(
                "input.organisation",
                "an administrator key belongs to no organisation",
            ));
        }
        (Role::Partner, None) => {
            return Err(AppError::invalid(
                "input.organisation",
                "a partner key must name its organisation (a city, region or stakeholder)",
            ));
        }
        _ => {}
    }
    let secret = auth::new_secret()?;
    let (mut city_id, mut region_id, mut stakeholder_id) = (None, None, None);
    match organisation {
        Some(Organisation::City(id)) => city_id = Some(id),
        Some(Organisation::Region(id)) => region_id = Some(id),
        Some(Organisation::Stakeholder(id)) => stakeholder_id = Some(id),
        None => {}
    }
    let key = api_key::ActiveModel {
        id: NotSet,
        name: Set(name.to_owned()),
        token_prefix: Set(secret.prefix),
        token_hash: Set(secret.hash),
        role: Set(role.as_str().to_owned()),
        stakeholder_id: Set(stakeholder_id),
        city_id: Set(city_id),
        region_id: Set(region_id),
        created_at: Set(Utc::now()),
        created_by: Set(created_by),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(CreatedKey {
        key,
        secret: secret.secret,
    })
}

/// Revokes a key (it stays listed, with the time it was revoked). Revoking twice is harmless.
pub async fn revoke(db: &impl ConnectionTrait, id: i32) -> Result<api_key::Model, AppError> {
    let key = api_key::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no API key with id {id}")))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let mut active: api_key::ActiveModel = key.into();
    active.revoked_at = Set(Some(Utc::now()));
    Ok(active.update(db).await?)
}

/// Every key, oldest first.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<api_key::Model>, AppError> {
    Ok(api_key::Entity::find()
        .order_by_asc(api_key::Column::Id)
        .all(db)
        .await?)
}
