//! Activities on the timeline, linked to pairings and stakeholders. A partner may write an
//! activity when it may change every pairing the activity is (and will be) linked to.

use entity::enums::{ActivityKind, ActivityStatus};
use entity::{activity, activity_pairing, activity_stakeholder, pairing, stakeholder};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr};
use serde_json::{Map, Value as Json, json};

use super::dependents::{self, Dependent, Removal};
use super::links::{Synced, tables};
use super::lookup::{existing_city, find_for_write, require_existing};
use super::{Patch, Writer, patch};
use crate::error::AppError;
use crate::id::NodeType;
use crate::partial_date::PartialDate;
use crate::service::access;
use crate::service::provenance::{self, Source};

/// A stakeholder taking part in an activity, with the role it played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakeholderLink {
    pub stakeholder_id: i32,
    pub role: Option<String>,
}

/// A new activity.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub slug: String,
    /// A partial date (`2018`, `2019-H1`, `2018-07-12`, …).
    pub date: String,
    pub kind: ActivityKind,
    pub title: String,
    pub description: Option<String>,
    pub place: Option<String>,
    pub city_id: Option<i32>,
    pub status: ActivityStatus,
    pub pairings: Vec<i32>,
    pub stakeholders: Vec<StakeholderLink>,
    pub sources: Vec<Source>,
    pub notes: Option<String>,
}

/// Changes to an activity: `None` keeps a field; lists given replace the lists.
#[derive(Debug, Clone, Default)]
pub struct ActivityChanges {
    pub slug: Option<String>,
    pub date: Option<String>,
    pub kind: Option<ActivityKind>,
    pub title: Option<String>,
    pub description: Patch<String>,
    pub place: Patch<String>,
    pub city_id: Patch<i32>,
    pub status: Option<ActivityStatus>,
    pub pairings: Option<Vec<i32>>,
    pub stakeholders: Option<Vec<StakeholderLink>>,
    pub sources: Option<Vec<Source>>,
    pub notes: Patch<String>,
}

fn parse_date(text: &str) -> Result<PartialDate, AppError> {
    text.parse::<PartialDate>()
        .map_err(|e| AppError::invalid("input.date", e))
}

async fn check_pairings(db: &impl ConnectionTrait, ids: &[i32]) -> Result<(), AppError> {
    require_existing::<pairing::Entity>(db, ids, NodeType::Pairing, |i| {
        format!("input.pairings[{i}]")
    })
    .await
}

async fn check_stakeholders(
    db: &impl ConnectionTrait,
    links: &[StakeholderLink],
) -> Result<(), AppError> {
    let ids: Vec<i32> = links.iter().map(|l| l.stakeholder_id).collect();
    require_existing::<stakeholder::Entity>(db, &ids, NodeType::Stakeholder, |i| {
        format!("input.stakeholders[{i}].stakeholder")
    })
    .await
}

async fn city(db: &impl ConnectionTrait, id: Option<i32>) -> Result<Option<i32>, AppError> {
    match id {
        Some(id) => Ok(Some(existing_city(db, id, "input.city").await?)),
        None => Ok(None),
    }
}

async fn linked_pairings(db: &impl ConnectionTrait, activity_id: i32) -> Result<Vec<i32>, DbErr> {
    let mut ids: Vec<i32> = tables::ACTIVITY_PAIRINGS
        .children(db, activity_id)
        .await?
        .into_iter()
        .map(|l| l.pairing_id)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

async fn links_snapshot(
    db: &impl ConnectionTrait,
    activity_id: i32,
) -> Result<Map<String, Json>, AppError> {
    let pairings = linked_pairings(db, activity_id).await?;
    let mut stakeholders: Vec<(i32, Option<String>)> = tables::ACTIVITY_STAKEHOLDERS
        .children(db, activity_id)
        .await?
        .into_iter()
        .map(|l| (l.stakeholder_id, l.role))
        .collect();
    stakeholders.sort();
    let mut map = Map::new();
    map.insert("pairing_ids".into(), json!(pairings));
    map.insert(
        "stakeholders".into(),
        Json::Array(
            stakeholders
                .into_iter()
                .map(|(id, role)| json!({"stakeholder_id": id, "role": role}))
                .collect(),
        ),
    );
    Ok(map)
}

/// Makes an activity's pairing links equal to `pairings`.
pub async fn sync_pairings(
    db: &impl ConnectionTrait,
    activity_id: i32,
    pairings: &[i32],
) -> Result<Synced, DbErr> {
    let wanted = pairings
        .iter()
        .map(|&pairing_id| activity_pairing::Model {
            activity_id,
            pairing_id,
        })
        .collect();
    tables::ACTIVITY_PAIRINGS
        .sync(db, activity_id, wanted)
        .await
}

/// Makes an activity's stakeholder links (and their roles) equal to `links`.
pub async fn sync_stakeholders(
    db: &impl ConnectionTrait,
    activity_id: i32,
    links: &[StakeholderLink],
) -> Result<Synced, DbErr> {
    let wanted = links
        .iter()
        .map(|l| activity_stakeholder::Model {
            activity_id,
            stakeholder_id: l.stakeholder_id,
            role: l.role.clone(),
        })
        .collect();
    tables::ACTIVITY_STAKEHOLDERS
        .sync(db, activity_id, wanted)
        .await
}

/// Partners must be able to change every pairing, and name at least one.
async fn require_pairings(
    w: &Writer<'_, impl ConnectionTrait>,
    pairings: &[i32],
) -> Result<(), AppError> {
    if w.principal.is_admin() {
        return Ok(());
    }
    if pairings.is_empty() {
        return Err(AppError::Forbidden);
    }
    access::require_pairings(w.db, w.principal, pairings).await
}

/// Creates an activity with its pairing and stakeholder links.
pub async fn create(
    w: &Writer<'_, impl ConnectionTrait>,
    new: NewActivity,
) -> Result<activity::Model, AppError> {
    check_pairings(w.db, &new.pairings).await?;
    require_pairings(w, &new.pairings).await?;
    super::require_unique_slug::<activity::Entity>(w.db, "input.slug", &new.slug, None).await?;
    let date = parse_date(&new.date)?;
    check_stakeholders(w.db, &new.stakeholders).await?;
    let city_id = city(w.db, new.city_id).await?;
    let model = activity::Model {
        id: 0,
        slug: new.slug,
        date: date.start,
        date_precision: date.precision,
        kind: new.kind,
        title: new.title,
        description: new.description,
        place: new.place,
        city_id,
        status: new.status,
        sources: provenance::to_text(&new.sources),
        notes: new.notes,
        version: 1,
        updated_at: super::now(),
    };
    let saved = super::create_row(w.db, w.actor, model).await?;
    sync_pairings(w.db, saved.id, &new.pairings).await?;
    sync_stakeholders(w.db, saved.id, &new.stakeholders).await?;
    let links = links_snapshot(w.db, saved.id).await?;
    super::audit_create(w.db, w.actor, &saved, Some(links)).await?;
    Ok(saved)
}

/// Changes an activity and its links.
pub async fn update(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: i32,
    mut changes: ActivityChanges,
) -> Result<activity::Model, AppError> {
    let before: activity::Model =
        find_for_write::<activity::Entity>(w.db, w.principal, NodeType::Activity, id).await?;
    require_pairings(w, &linked_pairings(w.db, id).await?).await?;
    super::lock(w.db, &before, version).await?;
    let links_before = links_snapshot(w.db, id).await?;
    let mut after = before.clone();
    let (pairings, stakeholders) = (changes.pairings.take(), changes.stakeholders.take());
    apply_changes(w.db, &mut after, changes).await?;
    if let Some(pairings) = pairings {
        check_pairings(w.db, &pairings).await?;
        require_pairings(w, &pairings).await?;
        sync_pairings(w.db, id, &pairings).await?;
    }
    if let Some(stakeholders) = stakeholders {
        check_stakeholders(w.db, &stakeholders).await?;
        sync_stakeholders(w.db, id, &stakeholders).await?;
    }
    let links_after = links_snapshot(w.db, id).await?;
    super::update(
        w.db,
        w.actor,
        &before,
        version,
        after,
        Some(links_before),
        Some(links_after),
    )
    .await
}

/// Applies the changes to the activity's own columns (its links are written apart).
async fn apply_changes(
    db: &impl ConnectionTrait,
    after: &mut activity::Model,
    changes: ActivityChanges,
) -> Result<(), AppError> {
    if let Some(slug) = changes.slug {
        super::require_unique_slug::<activity::Entity>(db, "input.slug", &slug, Some(after.id))
            .await?;
        after.slug = slug;
    }
    if let Some(text) = changes.date {
        let date = parse_date(&text)?;
        after.date = date.start;
        after.date_precision = date.precision;
    }
    if let Some(kind) = changes.kind {
        after.kind = kind;
    }
    if let Some(title) = changes.title {
        after.title = title;
    }
    patch(&mut after.description, changes.description);
    patch(&mut after.place, changes.place);
    if let Some(city_id) = changes.city_id {
        after.city_id = city(db, city_id).await?;
    }
    if let Some(status) = changes.status {
        after.status = status;
    }
    if let Some(sources) = changes.sources {
        after.sources = provenance::to_text(&sources);
    }
    patch(&mut after.notes, changes.notes);
    Ok(())
}

/// Deletes an activity with its pairing and stakeholder links; returns what went with it.
pub async fn delete(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: Option<i32>,
) -> Result<Vec<Removal>, AppError> {
    let record: activity::Model =
        find_for_write::<activity::Entity>(w.db, w.principal, NodeType::Activity, id).await?;
    require_pairings(w, &linked_pairings(w.db, id).await?).await?;
    let removed = dependents::count(
        w.db,
        vec![
            Dependent::of::<activity_pairing::Entity>(
                "ActivityLink",
                activity_pairing::Column::ActivityId.eq(id),
            ),
            Dependent::of::<activity_stakeholder::Entity>(
                "ActivityStakeholderLink",
                activity_stakeholder::Column::ActivityId.eq(id),
            ),
        ],
    )
    .await?;
    let links = links_snapshot(w.db, id).await?;
    super::delete(w.db, w.actor, &record, version, Some(links)).await?;
    Ok(removed)
}
