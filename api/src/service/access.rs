//! Who may change what. Administrators may change anything. A partner key acts for one
//! organisation and may change:
//!
//! - the pairings it takes part in: as a participant (its city's or region's administration)
//!   or as a stakeholder involved in the pairing, its UCAP or one of its projects; and with them
//!   their UCAP, sections, projects, involvements and activities;
//! - its own organisation record (its city, region or stakeholder).
//!
//! Creating cities, regions and stakeholders, and deleting them, is for administrators: a
//! partner cannot create other organisations or remove its own.
//!
//! A refusal is always `FORBIDDEN`, whether or not the record exists, so that a key cannot probe
//! for records it may not touch (`UNAUTHENTICATED` comes first, before anything is looked up).

use std::collections::HashSet;

use entity::pairing_participant;
use sea_orm::{ConnectionTrait, IdenStatic, Value};

use super::sql::Sql;
use crate::auth::{Organisation, Principal};
use crate::error::AppError;

/// True when the principal may change pairing `pairing_id` (and what belongs to it).
pub async fn may_edit_pairing(
    db: &impl ConnectionTrait,
    principal: &Principal,
    pairing_id: i32,
) -> Result<bool, AppError> {
    Ok(editable_pairings(db, principal, &[pairing_id])
        .await?
        .contains(&pairing_id))
}

/// `FORBIDDEN` unless the principal may change every pairing listed (one statement).
pub async fn require_pairings(
    db: &impl ConnectionTrait,
    principal: &Principal,
    pairing_ids: &[i32],
) -> Result<(), AppError> {
    let editable = editable_pairings(db, principal, pairing_ids).await?;
    if pairing_ids.iter().all(|id| editable.contains(id)) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Of `pairing_ids`, those the principal may change: all of them for an administrator, else
/// those its organisation takes part in, in one statement.
async fn editable_pairings(
    db: &impl ConnectionTrait,
    principal: &Principal,
    pairing_ids: &[i32],
) -> Result<HashSet<i32>, AppError> {
    let Some(organisation) = principal.organisation else {
        return Ok(if principal.is_admin() {
            pairing_ids.iter().copied().collect()
        } else {
            HashSet::new()
        });
    };
    let ids = || pairing_ids.iter().map(|id| Value::Int(Some(*id)));
    let mut sql = Sql::default();
    match organisation {
        Organisation::City(id) | Organisation::Region(id) => {
            let column = if matches!(organisation, Organisation::City(_)) {
                pairing_participant::Column::CityId
            } else {
                pairing_participant::Column::RegionId
            };
            sql.push("SELECT pairing_id AS p FROM pairing_participant WHERE pairing_id IN (")
                .bind_list(ids())
                .push(") AND ")
                .push(column.as_str())
                .push(" = ")
                .bind(Value::Int(Some(id)));
        }
        Organisation::Stakeholder(id) => {
            // Involved in the pairing itself, in its UCAP, or in one of its projects.
            sql.push(
                "SELECT COALESCE(i.pairing_id, u.pairing_id, pu.pairing_id) AS p
                   FROM involvement i
                   LEFT JOIN ucap u ON u.id = i.ucap_id
                   LEFT JOIN project pr ON pr.id = i.project_id
                   LEFT JOIN ucap pu ON pu.id = pr.ucap_id
                  WHERE i.stakeholder_id = ",
            )
            .bind(Value::Int(Some(id)))
            .push(" AND COALESCE(i.pairing_id, u.pairing_id, pu.pairing_id) IN (")
            .bind_list(ids())
            .push(")");
        }
    }
    let rows = db
        .query_all_raw(sql.statement(db.get_database_backend()))
        .await?;
    let mut editable = HashSet::new();
    for row in rows {
        editable.insert(row.try_get::<i32>("", "p")?);
    }
    Ok(editable)
}

/// `FORBIDDEN` unless the principal is an administrator or acts for this organisation.
pub fn require_self_or_admin(
    principal: &Principal,
    organisation: Organisation,
) -> Result<(), AppError> {
    if principal.is_admin() || principal.organisation == Some(organisation) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
