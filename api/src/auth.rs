//! API keys and who may write what.
//!
//! - A key is `iuc_` followed by 43 characters of base64url (32 random bytes from the operating
//!   system). It is shown once, when it is created; the database keeps only its SHA-256. A key
//!   has 256 bits of entropy, so a fast hash is enough: nobody can guess their way back from
//!   the hash, and checking a key costs one indexed lookup.
//! - Reads are public and need no key. A key is looked up only when a resolver needs to know
//!   who is asking (a mutation, the audit trail), so anonymous reads cost no extra statement.
//! - An **administrator** may change anything and manage keys. A **partner** key belongs to one
//!   organisation (a city's or a region's administration, or a stakeholder organisation) and may
//!   change what belongs to it: see `service::access`.

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use entity::api_key;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use tokio::sync::OnceCell;

use crate::error::AppError;
use crate::id::{self, NodeType};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Partner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Partner => "partner",
        }
    }
}

/// The organisation a partner key acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Organisation {
    City(i32),
    Region(i32),
    Stakeholder(i32),
}

impl Organisation {
    /// The organisation's global ID, as the audit trail records it.
    pub fn global_id(self) -> String {
        let (kind, id) = match self {
            Organisation::City(id) => (NodeType::City, id),
            Organisation::Region(id) => (NodeType::Region, id),
            Organisation::Stakeholder(id) => (NodeType::Stakeholder, id),
        };
        id::encode(kind, id).0
    }
}

/// The caller behind a valid, unrevoked key.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: i32,
    pub key_name: String,
    pub role: Role,
    /// Set for partner keys, `None` for administrators.
    pub organisation: Option<Organisation>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Administrators only; anyone else is `FORBIDDEN`.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// A new key's secret, and the hash and prefix stored for it.
pub struct NewSecret {
    pub secret: String,
    pub hash: String,
    pub prefix: String,
}

/// Makes a new random secret.
pub fn new_secret() -> Result<NewSecret, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("the system's random source failed: {e}")))?;
    let secret = format!("iuc_{}", URL_SAFE_NO_PAD.encode(bytes));
    Ok(NewSecret {
        hash: hash(&secret),
        prefix: secret.chars().take(8).collect(),
        secret,
    })
}

/// The SHA-256 of a secret, lower-case hex: what the database stores.
pub fn hash(secret: &str) -> String {
    crate::persisted::sha256(secret)
}

/// The bearer token of a request, if it sends one.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// How often `last_used_at` is written: at most once a minute per key, so that a busy key
/// does not turn every request into a write.
const LAST_USED_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// The principal behind a secret: `None` for an unknown or revoked key.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<Principal>, AppError> {
    let Some(key) = api_key::Entity::find()
        .filter(api_key::Column::TokenHash.eq(hash(secret)))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_RESOLUTION)
    {
        let mut active: api_key::ActiveModel = key.clone().into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    Ok(Some(principal(&key)))
}

/// The principal a key row stands for.
pub fn principal(key: &api_key::Model) -> Principal {
    let organisation = match (key.city_id, key.region_id, key.stakeholder_id) {
        (Some(id), _, _) => Some(Organisation::City(id)),
        (_, Some(id), _) => Some(Organisation::Region(id)),
        (_, _, Some(id)) => Some(Organisation::Stakeholder(id)),
        _ => None,
    };
    Principal {
        key_id: key.id,
        key_name: key.name.clone(),
        role: if key.role == "admin" {
            Role::Admin
        } else {
            Role::Partner
        },
        organisation,
    }
}

/// The credentials of one GraphQL request, resolved at most once, on first use.
pub struct RequestAuth {
    secret: Option<String>,
    principal: OnceCell<Option<Principal>>,
}

impl RequestAuth {
    /// From the request's headers (`Authorization: Bearer …`).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        Self::from_secret(bearer(headers))
    }

    pub fn from_secret(secret: Option<String>) -> Self {
        Self {
            secret,
            principal: OnceCell::new(),
        }
    }

    /// Anonymous: no key.
    pub fn anonymous() -> Self {
        Self::from_secret(None)
    }

    /// Whether the request sent a key at all (valid or not).
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The caller, or `UNAUTHENTICATED` when the request has no valid key.
    pub async fn require(&self, db: &impl ConnectionTrait) -> Result<Principal, AppError> {
        let principal = self
            .principal
            .get_or_try_init(|| async {
                match &self.secret {
                    Some(secret) => authenticate(db, secret).await,
                    None => Ok(None),
                }
            })
            .await?;
        principal.clone().ok_or(AppError::Unauthenticated)
    }
}
