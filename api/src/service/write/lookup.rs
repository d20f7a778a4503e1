//! The records a write names: the one it changes (with the caller's right to learn whether it
//! exists) and the ones it refers to (an error on the input field that names them).

use std::collections::HashSet;
use std::str::FromStr;

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PrimaryKeyTrait, QueryFilter, QuerySelect,
};

use crate::auth::Principal;
use crate::error::AppError;
use crate::id::{NodeType, encode};
use crate::service::catalog;

/// Loads the record a write changes. A missing record is `NOT_FOUND` for administrators and
/// `FORBIDDEN` for partners, who must not learn what exists beyond their own records.
pub async fn find_for_write<E>(
    db: &impl ConnectionTrait,
    principal: &Principal,
    kind: NodeType,
    id: i32,
) -> Result<E::Model, AppError>
where
    E: EntityTrait,
    <E::PrimaryKey as PrimaryKeyTrait>::ValueType: From<i32>,
{
    match E::find_by_id(id).one(db).await? {
        Some(model) => Ok(model),
        None if principal.is_admin() => Err(AppError::NotFound(format!(
            "no {} with ID {}",
            kind.name(),
            encode(kind, id).as_str()
        ))),
        None => Err(AppError::Forbidden),
    }
}

/// Of `ids`, those that are rows of `E` (one statement).
pub async fn existing_ids<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: &[i32],
) -> Result<HashSet<i32>, AppError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let id = E::Column::from_str("id")
        .map_err(|_| AppError::Internal(format!("{} has no id column", E::default().as_str())))?;
    let found: Vec<i32> = E::find()
        .select_only()
        .column(id)
        .filter(id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().collect())
}

/// `BAD_USER_INPUT` on the first of `ids` with no row in `E` (`field(i)` names item `i`;
/// one statement for the whole list).
pub async fn require_existing<E: EntityTrait>(
    db: &impl ConnectionTrait,
    ids: &[i32],
    kind: NodeType,
    field: impl Fn(usize) -> String,
) -> Result<(), AppError> {
    let found = existing_ids::<E>(db, ids).await?;
    match ids.iter().position(|k| !found.contains(k)) {
        Some(i) => Err(AppError::invalid(
            field(i),
            format!("no such {}", kind.name()),
        )),
        None => Ok(()),
    }
}

/// The id of the country with this ISO code, or an error on `field`.
pub async fn country_id(
    db: &impl ConnectionTrait,
    code: &str,
    field: &str,
) -> Result<i32, AppError> {
    match catalog::country_by_code(db, code.trim()).await? {
        Some(country) => Ok(country.id),
        None => Err(AppError::invalid(
            field,
            format!("{code:?} is not a known ISO 3166-1 alpha-2 country code"),
        )),
    }
}

/// `id` when it is an existing city, else an error on `field`.
pub async fn existing_city(
    db: &impl ConnectionTrait,
    id: i32,
    field: &str,
) -> Result<i32, AppError> {
    if entity::city::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::invalid(field, "no such city"));
    }
    Ok(id)
}
