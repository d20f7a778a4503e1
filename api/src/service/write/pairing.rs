//! Pairings with their participants and their theme and SDG links.
//!
//! Participants, themes and SDGs are written as part of the pairing: a write gives the whole
//! list, and the stored list is made equal to it (participants are matched by their city or
//! region, so a participant that stays keeps its ID). Any change to them bumps the pairing's
//! version and is audited with it.

use std::collections::{HashMap, HashSet};

use entity::enums::{PairingKind, PairingStatus, ParticipantRole, Side};
use entity::{
    activity_pairing, city, involvement, pairing, pairing_participant, pairing_sdg, pairing_theme,
    programme_region, project, region, sdg, theme, ucap, ucap_section,
};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
};
use serde_json::{Map, Value as Json, json};

use super::dependents::{self, Dependent, Removal};
use super::links::{Synced, tables};
use super::lookup::{existing_ids, find_for_write, require_existing};
use super::{Patch, Writer, constraint, patch, rules};
use crate::auth::{Organisation, Principal};
use crate::error::AppError;
use crate::id::NodeType;
use crate::partial_date::PartialDate;
use crate::service::access;
use crate::service::provenance::{self, Source};

/// A participant of a pairing: a city or a region (exactly one), on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Participant {
    pub city_id: Option<i32>,
    pub region_id: Option<i32>,
    pub side: Side,
    pub role: ParticipantRole,
}

/// A new pairing.
#[derive(Debug, Clone)]
pub struct NewPairing {
    pub slug: String,
    pub kind: PairingKind,
    pub title: String,
    pub summary: String,
    pub description: Option<String>,
    /// Slug of the programme region of the partner side.
    pub programme_region: String,
    /// A partial date (`2018`, `2019-H1`, …).
    pub start: Option<String>,
    pub status: PairingStatus,
    pub participants: Vec<Participant>,
    /// Theme ids.
    pub themes: Vec<i32>,
    /// SDG numbers (1–17).
    pub sdgs: Vec<i32>,
    pub sources: Vec<Source>,
    pub notes: Option<String>,
}

/// Changes to a pairing: `None` keeps a field; a list given replaces the list.
#[derive(Debug, Clone, Default)]
pub struct PairingChanges {
    pub slug: Option<String>,
    pub kind: Option<PairingKind>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub description: Patch<String>,
    pub programme_region: Option<String>,
    pub start: Patch<String>,
    pub status: Option<PairingStatus>,
    pub participants: Option<Vec<Participant>>,
    pub themes: Option<Vec<i32>>,
    pub sdgs: Option<Vec<i32>>,
    pub sources: Option<Vec<Source>>,
    pub notes: Patch<String>,
}

/// At least one participant on each side, none twice.
pub fn check_participants(wanted: &[Participant]) -> Result<(), AppError> {
    let mut seen = HashSet::new();
    for (i, p) in wanted.iter().enumerate() {
        if !seen.insert((p.city_id, p.region_id)) {
            return Err(AppError::invalid(
                format!("input.participants[{i}]"),
                "this city or region is already a participant of the pairing",
            ));
        }
    }
    let on = |side| wanted.iter().any(|w| w.side == side);
    rules::participant_sides(on(Side::European), on(Side::Partner))
        .map_err(|message| AppError::invalid("input.participants", message))
}

/// Checks that the participants' cities and regions exist (one statement each kind).
async fn check_places(db: &impl ConnectionTrait, wanted: &[Participant]) -> Result<(), AppError> {
    let cities: Vec<i32> = wanted.iter().filter_map(|w| w.city_id).collect();
    let regions: Vec<i32> = wanted.iter().filter_map(|w| w.region_id).collect();
    let found_cities = existing_ids::<city::Entity>(db, &cities).await?;
    let found_regions = existing_ids::<region::Entity>(db, &regions).await?;
    for (i, w) in wanted.iter().enumerate() {
        let city_missing = w.city_id.is_some_and(|id| !found_cities.contains(&id));
        let region_missing = w.region_id.is_some_and(|id| !found_regions.contains(&id));
        if city_missing || region_missing {
            return Err(missing_place(i, w));
        }
    }
    Ok(())
}

/// Participant `i`'s city or region does not exist: found by `check_places`, or by the
/// database's foreign key when it was deleted between that check and the insert.
fn missing_place(i: usize, w: &Participant) -> AppError {
    if w.city_id.is_some() {
        AppError::invalid(format!("input.participants[{i}].city"), "no such city")
    } else {
        AppError::invalid(format!("input.participants[{i}].region"), "no such region")
    }
}

/// Checks that the themes exist.
async fn check_themes(db: &impl ConnectionTrait, themes: &[i32]) -> Result<(), AppError> {
    require_existing::<theme::Entity>(db, themes, NodeType::Theme, |i| {
        format!("input.themes[{i}]")
    })
    .await
}

/// SDG numbers to row ids.
async fn sdg_ids(db: &impl ConnectionTrait, numbers: &[i32]) -> Result<Vec<i32>, AppError> {
    let all: HashMap<i32, i32> = sdg::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.number, s.id))
        .collect();
    let mut out: Vec<(i32, i32)> = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        let field = format!("input.sdgs[{i}]");
        rules::sdg_number(*n).map_err(|message| AppError::invalid(&field, message))?;
        let Some(&id) = all.get(n) else {
            return Err(AppError::invalid(field, format!("SDG {n} is not loaded")));
        };
        if out.iter().any(|(m, _)| m == n) {
            return Err(AppError::invalid(field, "this SDG is listed twice"));
        }
        out.push((*n, id));
    }
    Ok(out.into_iter().map(|(_, id)| id).collect())
}

async fn programme_region_id(db: &impl ConnectionTrait, slug: &str) -> Result<i32, AppError> {
    programme_region::Entity::find()
        .filter(programme_region::Column::Slug.eq(slug))
        .one(db)
        .await?
        .map(|r| r.id)
        .ok_or_else(|| {
            AppError::invalid(
                "input.programmeRegion",
                format!("no programme region with slug {slug:?}"),
            )
        })
}

fn parse_start(text: &str) -> Result<PartialDate, AppError> {
    text.parse::<PartialDate>()
        .map_err(|e| AppError::invalid("input.start", e))
}

/// The children of a pairing as the audit trail shows them.
async fn children_snapshot(
    db: &impl ConnectionTrait,
    pairing_id: i32,
) -> Result<Map<String, Json>, AppError> {
    let participants: Vec<Json> = pairing_participant::Entity::find()
        .filter(pairing_participant::Column::PairingId.eq(pairing_id))
        .order_by_asc(pairing_participant::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|p| json!({"city_id": p.city_id, "region_id": p.region_id, "side": p.side, "role": p.role}))
        .collect();
    let mut themes: Vec<i32> = tables::PAIRING_THEMES
        .children(db, pairing_id)
        .await?
        .into_iter()
        .map(|t| t.theme_id)
        .collect();
    themes.sort_unstable();
    let mut sdgs: Vec<i32> = tables::PAIRING_SDGS
        .children(db, pairing_id)
        .await?
        .into_iter()
        .map(|t| t.sdg_id)
        .collect();
    sdgs.sort_unstable();
    let mut map = Map::new();
    map.insert("participants".into(), Json::Array(participants));
    map.insert("theme_ids".into(), json!(themes));
    map.insert("sdg_ids".into(), json!(sdgs));
    Ok(map)
}

/// Makes the stored participants of a pairing equal to `wanted` (matched by city or region;
/// position is the order of `wanted`). Used by the mutations and the dataset loader.
pub async fn sync_participants(
    db: &impl ConnectionTrait,
    pairing_id: i32,
    wanted: &[Participant],
) -> Result<Synced, AppError> {
    let keep: HashSet<(Option<i32>, Option<i32>)> =
        wanted.iter().map(|w| (w.city_id, w.region_id)).collect();
    let mut synced = Synced::default();
    let mut by_place = HashMap::new();
    for p in pairing_participant::Entity::find()
        .filter(pairing_participant::Column::PairingId.eq(pairing_id))
        .all(db)
        .await?
    {
        if keep.contains(&(p.city_id, p.region_id)) {
            by_place.insert((p.city_id, p.region_id), p);
        } else {
            pairing_participant::Entity::delete_by_id(p.id)
                .exec(db)
                .await?;
            synced.deleted += 1;
        }
    }
    for (position, w) in wanted.iter().enumerate() {
        let model = pairing_participant::Model {
            id: 0,
            pairing_id,
            city_id: w.city_id,
            region_id: w.region_id,
            side: w.side,
            role: w.role,
            position: position as i32,
        };
        match by_place.get(&(w.city_id, w.region_id)) {
            Some(old) => {
                let model = pairing_participant::Model {
                    id: old.id,
                    ..model
                };
                if *old == model {
                    synced.unchanged += 1;
                } else {
                    model.into_active_model().reset_all().update(db).await?;
                    synced.updated += 1;
                }
            }
            None => {
                insert_participant(db, model, position, w).await?;
                synced.inserted += 1;
            }
        }
    }
    Ok(synced)
}

async fn insert_participant(
    db: &impl ConnectionTrait,
    model: pairing_participant::Model,
    position: usize,
    w: &Participant,
) -> Result<(), AppError> {
    let mut active = model.into_active_model().reset_all();
    active.id = NotSet;
    active
        .insert(db)
        .await
        .map_err(|e| match constraint::violation(&e) {
            Some(v) if v.rule == constraint::Rule::ForeignKey => missing_place(position, w),
            _ => AppError::from(e),
        })?;
    Ok(())
}

/// Makes a pairing's theme links equal to `themes` (theme ids).
pub async fn sync_themes(
    db: &impl ConnectionTrait,
    pairing_id: i32,
    themes: &[i32],
) -> Result<Synced, DbErr> {
    let wanted = themes
        .iter()
        .map(|&theme_id| pairing_theme::Model {
            pairing_id,
            theme_id,
        })
        .collect();
    tables::PAIRING_THEMES.sync(db, pairing_id, wanted).await
}

/// Makes a pairing's SDG links equal to `sdgs` (SDG row ids).
pub async fn sync_sdgs(
    db: &impl ConnectionTrait,
    pairing_id: i32,
    sdgs: &[i32],
) -> Result<Synced, DbErr> {
    let wanted = sdgs
        .iter()
        .map(|&sdg_id| pairing_sdg::Model { pairing_id, sdg_id })
        .collect();
    tables::PAIRING_SDGS.sync(db, pairing_id, wanted).await
}

/// A partner acting for a city or region must stay among the participants it writes.
fn require_own_participation(
    principal: &Principal,
    wanted: &[Participant],
) -> Result<(), AppError> {
    let ok = match principal.organisation {
        None => principal.is_admin(),
        Some(Organisation::City(id)) => wanted.iter().any(|w| w.city_id == Some(id)),
        Some(Organisation::Region(id)) => wanted.iter().any(|w| w.region_id == Some(id)),
        Some(Organisation::Stakeholder(_)) => return Ok(()),
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "input.participants",
            "your organisation must stay a participant of the pairings it writes",
        ))
    }
}

/// Who may create a pairing: administrators, and partners acting for a city or region that is
/// among its participants.
fn require_create_right(principal: &Principal, wanted: &[Participant]) -> Result<(), AppError> {
    if principal.is_admin() {
        return Ok(());
    }
    match principal.organisation {
        Some(Organisation::Stakeholder(_)) | None => Err(AppError::Forbidden),
        _ => require_own_participation(principal, wanted),
    }
}

/// Creates a pairing with its participants and theme and SDG links (administrators, or a
/// partner whose city or region is among the participants).
pub async fn create(
    w: &Writer<'_, impl ConnectionTrait>,
    new: NewPairing,
) -> Result<pairing::Model, AppError> {
    check_participants(&new.participants)?;
    require_create_right(w.principal, &new.participants)?;
    super::require_unique_slug::<pairing::Entity>(w.db, "input.slug", &new.slug, None).await?;
    check_places(w.db, &new.participants).await?;
    check_themes(w.db, &new.themes).await?;
    let sdgs = sdg_ids(w.db, &new.sdgs).await?;
    let start = new.start.as_deref().map(parse_start).transpose()?;
    let model = pairing::Model {
        id: 0,
        slug: new.slug,
        kind: new.kind,
        title: new.title,
        summary: new.summary,
        description: new.description,
        search_text: String::new(),
        programme_region_id: programme_region_id(w.db, &new.programme_region).await?,
        start_date: start.map(|s| s.start),
        start_precision: start.map(|s| s.precision),
        status: new.status,
        sources: provenance::to_text(&new.sources),
        notes: new.notes,
        version: 1,
        updated_at: super::now(),
    };
    let saved = super::create_row(w.db, w.actor, model).await?;
    sync_participants(w.db, saved.id, &new.participants).await?;
    sync_themes(w.db, saved.id, &new.themes).await?;
    sync_sdgs(w.db, saved.id, &sdgs).await?;
    // The create's audit record lists the children too.
    let children = children_snapshot(w.db, saved.id).await?;
    super::audit_create(w.db, w.actor, &saved, Some(children)).await?;
    Ok(saved)
}

/// Changes a pairing, its participants and its theme and SDG links (administrators, or a
/// partner taking part in the pairing).
pub async fn update(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: i32,
    mut changes: PairingChanges,
) -> Result<pairing::Model, AppError> {
    if !access::may_edit_pairing(w.db, w.principal, id).await? {
        return Err(AppError::Forbidden);
    }
    let before: pairing::Model =
        find_for_write::<pairing::Entity>(w.db, w.principal, NodeType::Pairing, id).await?;
    super::lock(w.db, &before, version).await?;
    let children_before = children_snapshot(w.db, id).await?;
    let mut after = before.clone();
    let participants = changes.participants.take();
    let (themes, sdgs) = (changes.themes.take(), changes.sdgs.take());
    apply_changes(w.db, &mut after, changes).await?;
    if let Some(wanted) = participants {
        replace_participants(w, id, &wanted).await?;
    }
    if let Some(themes) = themes {
        check_themes(w.db, &themes).await?;
        sync_themes(w.db, id, &themes).await?;
    }
    if let Some(numbers) = sdgs {
        let sdgs = sdg_ids(w.db, &numbers).await?;
        sync_sdgs(w.db, id, &sdgs).await?;
    }
    let children_after = children_snapshot(w.db, id).await?;
    super::update(
        w.db,
        w.actor,
        &before,
        version,
        after,
        Some(children_before),
        Some(children_after),
    )
    .await
}

/// Applies the changes to the pairing's own columns (its children are written apart).
async fn apply_changes(
    db: &impl ConnectionTrait,
    after: &mut pairing::Model,
    changes: PairingChanges,
) -> Result<(), AppError> {
    if let Some(slug) = changes.slug {
        super::require_unique_slug::<pairing::Entity>(db, "input.slug", &slug, Some(after.id))
            .await?;
        after.slug = slug;
    }
    if let Some(kind) = changes.kind {
        after.kind = kind;
    }
    if let Some(title) = changes.title {
        after.title = title;
    }
    if let Some(summary) = changes.summary {
        after.summary = summary;
    }
    patch(&mut after.description, changes.description);
    if let Some(slug) = changes.programme_region {
        after.programme_region_id = programme_region_id(db, &slug).await?;
    }
    if let Some(start) = changes.start {
        let start = start.as_deref().map(parse_start).transpose()?;
        after.start_date = start.map(|s| s.start);
        after.start_precision = start.map(|s| s.precision);
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

/// Replaces a pairing's participants by an update's list.
async fn replace_participants(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    wanted: &[Participant],
) -> Result<(), AppError> {
    check_participants(wanted)?;
    require_own_participation(w.principal, wanted)?;
    check_places(w.db, wanted).await?;
    sync_participants(w.db, id, wanted).await?;
    Ok(())
}

/// What a pairing's deletion takes with it.
fn dependents_of(id: i32) -> Vec<Dependent> {
    let ucaps = Query::select()
        .column(ucap::Column::Id)
        .from(ucap::Entity)
        .and_where(ucap::Column::PairingId.eq(id))
        .to_owned();
    let projects = Query::select()
        .column(project::Column::Id)
        .from(project::Entity)
        .and_where(project::Column::UcapId.in_subquery(ucaps.clone()))
        .to_owned();
    vec![
        Dependent::of::<pairing_participant::Entity>(
            "Participant",
            pairing_participant::Column::PairingId.eq(id),
        ),
        Dependent::of::<pairing_theme::Entity>(
            "ThemeLink",
            pairing_theme::Column::PairingId.eq(id),
        ),
        Dependent::of::<pairing_sdg::Entity>("SdgLink", pairing_sdg::Column::PairingId.eq(id)),
        Dependent::of::<ucap::Entity>("Ucap", ucap::Column::PairingId.eq(id)),
        Dependent::of::<ucap_section::Entity>(
            "UcapSection",
            ucap_section::Column::UcapId.in_subquery(ucaps.clone()),
        ),
        Dependent::of::<project::Entity>(
            "Project",
            project::Column::UcapId.in_subquery(ucaps.clone()),
        ),
        Dependent::of::<involvement::Entity>(
            "Involvement",
            Condition::any()
                .add(involvement::Column::PairingId.eq(id))
                .add(involvement::Column::UcapId.in_subquery(ucaps))
                .add(involvement::Column::ProjectId.in_subquery(projects)),
        ),
        Dependent::of::<activity_pairing::Entity>(
            "ActivityLink",
            activity_pairing::Column::PairingId.eq(id),
        ),
    ]
}

/// The activities linked to this pairing and no other: a pairing's delete would leave them
/// with none.
fn orphaned_activities(id: i32) -> Dependent {
    let linked_elsewhere = Query::select()
        .column(activity_pairing::Column::ActivityId)
        .from(activity_pairing::Entity)
        .and_where(Expr::col(activity_pairing::Column::PairingId).ne(id))
        .to_owned();
    Dependent::of::<activity_pairing::Entity>(
        "Activity linked to this pairing alone",
        Condition::all()
            .add(activity_pairing::Column::PairingId.eq(id))
            .add(activity_pairing::Column::ActivityId.not_in_subquery(linked_elsewhere)),
    )
}

/// Deletes a pairing with its participants, theme and SDG links, UCAP (sections, projects),
/// involvements and activity links (administrators, or a partner taking part). Refused while
/// an activity is linked to this pairing alone. Returns what went with it.
pub async fn delete(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: Option<i32>,
) -> Result<Vec<Removal>, AppError> {
    if !access::may_edit_pairing(w.db, w.principal, id).await? {
        return Err(AppError::Forbidden);
    }
    let pairing: pairing::Model =
        find_for_write::<pairing::Entity>(w.db, w.principal, NodeType::Pairing, id).await?;
    let orphans = dependents::count(w.db, vec![orphaned_activities(id)]).await?;
    dependents::refuse_if_referenced(&format!("Pairing {}", pairing.slug), &orphans)?;
    let removed = dependents::count(w.db, dependents_of(id)).await?;
    let children = children_snapshot(w.db, id).await?;
    super::delete(w.db, w.actor, &pairing, version, Some(children)).await?;
    Ok(removed)
}
