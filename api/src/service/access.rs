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

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::auth::{Organisation, Principal};
use crate::error::AppError;

/// True when the principal may change pairing `pairing_id` (and what belongs to it).
pub async fn may_edit_pairing(
    db: &impl ConnectionTrait,
    principal: &Principal,
    pairing_id: i32,
) -> Result<bool, AppError> {
    let Some(organisation) = principal.organisation else {
        return Ok(principal.is_admin());
    };
    let (sql, org) = match organisation {
        Organisation::City(id) => (
            "SELECT 1 AS x FROM pairing_participant WHERE pairing_id = ? AND city_id = ?",
            id,
        ),
        Organisation::Region(id) => (
            "SELECT 1 AS x FROM pairing_participant WHERE pairing_id = ? AND region_id = ?",
            id,
        ),
        Organisation::Stakeholder(id) => (
            "SELECT 1 AS x FROM involvement i
               LEFT JOIN ucap u ON u.id = i.ucap_id
               LEFT JOIN project pr ON pr.id = i.project_id
               LEFT JOIN ucap pu ON pu.id = pr.ucap_id
              WHERE i.stakeholder_id = ?2
                AND (i.pairing_id = ?1 OR u.pairing_id = ?1 OR pu.pairing_id = ?1)",
            id,
        ),
    };
    exists(db, sql, pairing_id, org).await
}

/// `FORBIDDEN` unless the principal may change every pairing listed.
pub async fn require_pairings(
    db: &impl ConnectionTrait,
    principal: &Principal,
    pairing_ids: impl IntoIterator<Item = i32>,
) -> Result<(), AppError> {
    for id in pairing_ids {
        if !may_edit_pairing(db, principal, id).await? {
            return Err(AppError::Forbidden);
        }
    }
    Ok(())
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

/// Runs an existence query with two integer parameters, written with `?` (or `?1`/`?2` to
/// reuse them) and rewritten to `$n` for PostgreSQL.
async fn exists(db: &impl ConnectionTrait, sql: &str, a: i32, b: i32) -> Result<bool, AppError> {
    let backend = db.get_database_backend();
    let numbered = sql.contains("?1");
    let mut text = String::with_capacity(sql.len());
    let mut n = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '?' {
            text.push(c);
            continue;
        }
        let index = if numbered {
            match chars.next() {
                Some(d) => d.to_digit(10).unwrap_or(1),
                None => 1,
            }
        } else {
            n += 1;
            n
        };
        match backend {
            DbBackend::Postgres => text.push_str(&format!("${index}")),
            _ => text.push_str(&format!("?{index}")),
        }
    }
    let values: Vec<Value> = vec![a.into(), b.into()];
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, text, values))
        .await?;
    Ok(row.is_some())
}
