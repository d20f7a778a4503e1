//! Pairings with their participants and their theme and SDG links.
//!
//! Participants, themes and SDGs are written as part of the pairing: an input gives the whole
//! list, and the stored list is made equal to it (participants are matched by their city or
//! region, so a participant that stays keeps its ID). Any change to them bumps the pairing's
//! version and is audited with it.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{pairing, pairing_participant, pairing_sdg, pairing_theme, programme_region, sdg};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use serde_json::{Map, Value as Json, json};

use super::place::{DeleteInput, patch};
use super::*;
use crate::auth::Organisation;
use crate::graphql::object::{Pairing, PairingKind, PairingStatus, ParticipantRole, Side};
use crate::id::encode;
use crate::partial_date::PartialDate;
use crate::service::{access, write};

/// A participant of a pairing: a city or a region, on one side.
#[derive(InputObject, Clone)]
pub struct ParticipantInput {
    /// The city taking part (give a city or a region).
    pub city: Option<ID>,
    /// The region taking part (give a city or a region).
    pub region: Option<ID>,
    /// The side it is on.
    pub side: Side,
    /// Lead, or associated member of a cluster.
    #[graphql(default_with = "ParticipantRole::Lead")]
    pub role: ParticipantRole,
}

/// A new pairing.
#[derive(InputObject)]
pub struct CreatePairingInput {
    /// URL-safe key, unique among pairings, e.g. `rome-yantai`.
    pub slug: String,
    /// City-to-city or region-to-region.
    pub kind: PairingKind,
    /// Title, e.g. `Rome – Yantai`.
    pub title: String,
    /// A one-paragraph summary.
    pub summary: String,
    /// A longer description.
    pub description: Option<String>,
    /// Slug of the programme region of the partner side, e.g. `china`.
    pub programme_region: String,
    /// When the cooperation started, as a partial date (`2018`, `2019-H1`, `2018-07`, …).
    pub start: Option<String>,
    /// Where the cooperation stands.
    pub status: PairingStatus,
    /// The participants: at least one on each side, none twice.
    pub participants: Vec<ParticipantInput>,
    /// Global IDs of the themes it works on.
    #[graphql(default)]
    pub themes: Vec<ID>,
    /// Numbers (1–17) of the Sustainable Development Goals it addresses.
    #[graphql(default)]
    pub sdgs: Vec<i32>,
    /// Where the facts come from.
    #[graphql(default)]
    pub sources: Vec<String>,
    /// Editorial notes.
    pub notes: Option<String>,
}

/// Changes to a pairing: fields left out stay as they are; a list given replaces the list.
#[derive(InputObject)]
pub struct UpdatePairingInput {
    /// The pairing's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New slug (unique among pairings).
    pub slug: Option<String>,
    /// New kind.
    pub kind: Option<PairingKind>,
    /// New title.
    pub title: Option<String>,
    /// New summary.
    pub summary: Option<String>,
    /// New description; `null` clears it.
    pub description: MaybeUndefined<String>,
    /// New programme region (slug).
    pub programme_region: Option<String>,
    /// New start (partial date); `null` clears it.
    pub start: MaybeUndefined<String>,
    /// New status.
    pub status: Option<PairingStatus>,
    /// Replaces the participants (at least one on each side, none twice).
    pub participants: Option<Vec<ParticipantInput>>,
    /// Replaces the theme links (global IDs of themes).
    pub themes: Option<Vec<ID>>,
    /// Replaces the SDG links (numbers 1–17).
    pub sdgs: Option<Vec<i32>>,
    /// Replaces the list of sources.
    pub sources: Option<Vec<String>>,
    /// Editorial notes; `null` clears them.
    pub notes: MaybeUndefined<String>,
}

/// The pairing created or changed.
#[derive(SimpleObject)]
pub struct PairingPayload {
    /// The pairing as it is now.
    pub pairing: Pairing,
}

/// A validated participant: (city, region, side, role).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Wanted {
    city_id: Option<i32>,
    region_id: Option<i32>,
    side: entity::enums::Side,
    role: entity::enums::ParticipantRole,
}

fn participants(inputs: &[ParticipantInput]) -> Result<Vec<Wanted>> {
    let mut seen = HashSet::new();
    let mut wanted = Vec::with_capacity(inputs.len());
    for (i, p) in inputs.iter().enumerate() {
        let field = format!("input.participants[{i}]");
        let (city_id, region_id) = match (&p.city, &p.region) {
            (Some(city), None) => (
                Some(input_id(city, NodeType::City, &format!("{field}.city"))?),
                None,
            ),
            (None, Some(region)) => (
                None,
                Some(input_id(
                    region,
                    NodeType::Region,
                    &format!("{field}.region"),
                )?),
            ),
            _ => {
                return Err(AppError::invalid(
                    field,
                    "give exactly one of `city` and `region`",
                ));
            }
        };
        if !seen.insert((city_id, region_id)) {
            return Err(AppError::invalid(
                field,
                "this city or region is already a participant of the pairing",
            ));
        }
        wanted.push(Wanted {
            city_id,
            region_id,
            side: p.side.into(),
            role: p.role.into(),
        });
    }
    for (side, name) in [
        (entity::enums::Side::European, "European"),
        (entity::enums::Side::Partner, "partner"),
    ] {
        if !wanted.iter().any(|w| w.side == side) {
            return Err(AppError::invalid(
                "input.participants",
                format!("a pairing needs at least one participant on the {name} side"),
            ));
        }
    }
    Ok(wanted)
}

/// Checks that the participants' cities and regions exist (one statement each kind).
async fn check_places(db: &impl ConnectionTrait, wanted: &[Wanted]) -> Result<()> {
    let cities: Vec<i32> = wanted.iter().filter_map(|w| w.city_id).collect();
    let regions: Vec<i32> = wanted.iter().filter_map(|w| w.region_id).collect();
    let found_cities = existing_ids(db, "city", &cities).await?;
    let found_regions = existing_ids(db, "region", &regions).await?;
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
fn missing_place(i: usize, w: &Wanted) -> AppError {
    if w.city_id.is_some() {
        AppError::invalid(format!("input.participants[{i}].city"), "no such city")
    } else {
        AppError::invalid(format!("input.participants[{i}].region"), "no such region")
    }
}

async fn theme_ids(db: &impl ConnectionTrait, ids: &[ID]) -> Result<Vec<i32>> {
    input_ids(db, ids, NodeType::Theme, "theme", |i| {
        format!("input.themes[{i}]")
    })
    .await
}

/// SDG numbers to row ids.
async fn sdg_ids(db: &impl ConnectionTrait, numbers: &[i32]) -> Result<Vec<(i32, i32)>> {
    let all: HashMap<i32, i32> = sdg::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.number, s.id))
        .collect();
    let mut out: Vec<(i32, i32)> = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        let field = format!("input.sdgs[{i}]");
        if !(1..=17).contains(n) {
            return Err(AppError::invalid(
                field,
                format!("SDGs are numbered 1 to 17, not {n}"),
            ));
        }
        let Some(&id) = all.get(n) else {
            return Err(AppError::invalid(field, format!("SDG {n} is not loaded")));
        };
        if out.iter().any(|(m, _)| m == n) {
            return Err(AppError::invalid(field, "this SDG is listed twice"));
        }
        out.push((*n, id));
    }
    Ok(out)
}

async fn programme_region_id(db: &impl ConnectionTrait, slug: &str) -> Result<i32> {
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

fn parse_start(text: &str) -> Result<PartialDate> {
    text.parse::<PartialDate>()
        .map_err(|e| AppError::invalid("input.start", e))
}

/// The children of a pairing as the audit trail shows them.
async fn children_snapshot(
    db: &impl ConnectionTrait,
    pairing_id: i32,
) -> Result<Map<String, Json>> {
    let participants: Vec<Json> = pairing_participant::Entity::find()
        .filter(pairing_participant::Column::PairingId.eq(pairing_id))
        .order_by_asc(pairing_participant::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|p| json!({"city_id": p.city_id, "region_id": p.region_id, "side": p.side, "role": p.role}))
        .collect();
    let mut themes: Vec<i32> = pairing_theme::Entity::find()
        .filter(pairing_theme::Column::PairingId.eq(pairing_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.theme_id)
        .collect();
    themes.sort_unstable();
    let mut sdgs: Vec<i32> = pairing_sdg::Entity::find()
        .filter(pairing_sdg::Column::PairingId.eq(pairing_id))
        .all(db)
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

/// Makes the stored participants equal to `wanted` (matched by city or region).
async fn sync_participants(
    db: &impl ConnectionTrait,
    pairing_id: i32,
    wanted: &[Wanted],
) -> Result<()> {
    let existing = pairing_participant::Entity::find()
        .filter(pairing_participant::Column::PairingId.eq(pairing_id))
        .all(db)
        .await?;
    let keep: HashSet<(Option<i32>, Option<i32>)> =
        wanted.iter().map(|w| (w.city_id, w.region_id)).collect();
    let mut by_place = HashMap::new();
    for p in existing {
        if keep.contains(&(p.city_id, p.region_id)) {
            by_place.insert((p.city_id, p.region_id), p);
        } else {
            pairing_participant::Entity::delete_by_id(p.id)
                .exec(db)
                .await?;
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
                if *old != model {
                    model.into_active_model().reset_all().update(db).await?;
                }
            }
            None => {
                let mut active = model.into_active_model().reset_all();
                active.id = NotSet;
                active
                    .insert(db)
                    .await
                    .map_err(|e| match write::constraint::violation(&e) {
                        Some(v) if v.rule == write::constraint::Rule::ForeignKey => {
                            missing_place(position, w)
                        }
                        _ => AppError::from(e),
                    })?;
            }
        }
    }
    Ok(())
}

async fn sync_themes(db: &impl ConnectionTrait, pairing_id: i32, themes: &[i32]) -> Result<()> {
    pairing_theme::Entity::delete_many()
        .filter(pairing_theme::Column::PairingId.eq(pairing_id))
        .filter(pairing_theme::Column::ThemeId.is_not_in(themes.to_vec()))
        .exec(db)
        .await?;
    let existing: HashSet<i32> = pairing_theme::Entity::find()
        .filter(pairing_theme::Column::PairingId.eq(pairing_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.theme_id)
        .collect();
    for &theme_id in themes {
        if !existing.contains(&theme_id) {
            pairing_theme::Model {
                pairing_id,
                theme_id,
            }
            .into_active_model()
            .reset_all()
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

async fn sync_sdgs(db: &impl ConnectionTrait, pairing_id: i32, sdgs: &[(i32, i32)]) -> Result<()> {
    let ids: Vec<i32> = sdgs.iter().map(|(_, id)| *id).collect();
    pairing_sdg::Entity::delete_many()
        .filter(pairing_sdg::Column::PairingId.eq(pairing_id))
        .filter(pairing_sdg::Column::SdgId.is_not_in(ids.clone()))
        .exec(db)
        .await?;
    let existing: HashSet<i32> = pairing_sdg::Entity::find()
        .filter(pairing_sdg::Column::PairingId.eq(pairing_id))
        .all(db)
        .await?
        .into_iter()
        .map(|t| t.sdg_id)
        .collect();
    for sdg_id in ids {
        if !existing.contains(&sdg_id) {
            pairing_sdg::Model { pairing_id, sdg_id }
                .into_active_model()
                .reset_all()
                .insert(db)
                .await?;
        }
    }
    Ok(())
}

/// A partner acting for a city or region must stay among the participants it writes.
fn require_own_participation(principal: &crate::auth::Principal, wanted: &[Wanted]) -> Result<()> {
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

/// What a pairing's deletion takes with it.
const PAIRING_DEPENDENTS: [(&str, &str); 8] = [
    ("Participant", "pairing_participant WHERE pairing_id = ?"),
    ("ThemeLink", "pairing_theme WHERE pairing_id = ?"),
    ("SdgLink", "pairing_sdg WHERE pairing_id = ?"),
    ("Ucap", "ucap WHERE pairing_id = ?"),
    (
        "UcapSection",
        "ucap_section s JOIN ucap u ON u.id = s.ucap_id WHERE u.pairing_id = ?",
    ),
    (
        "Project",
        "project p JOIN ucap u ON u.id = p.ucap_id WHERE u.pairing_id = ?",
    ),
    (
        "Involvement",
        "involvement i LEFT JOIN ucap u ON u.id = i.ucap_id LEFT JOIN project p ON p.id = i.project_id LEFT JOIN ucap pu ON pu.id = p.ucap_id WHERE ? IN (i.pairing_id, u.pairing_id, pu.pairing_id)",
    ),
    ("ActivityLink", "activity_pairing WHERE pairing_id = ?"),
];

#[derive(Default)]
pub struct PairingMutation;

/// Pairings.
#[Object]
impl PairingMutation {
    /// Creates a pairing with its participants and theme and SDG links (administrators, or a
    /// partner whose city or region is among the participants).
    async fn create_pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new pairing.")] input: CreatePairingInput,
    ) -> Result<PairingPayload> {
        let w = begin(ctx).await?;
        let wanted = participants(&input.participants)?;
        if !w.principal().is_admin() {
            match w.principal().organisation {
                Some(Organisation::Stakeholder(_)) | None => return Err(AppError::Forbidden),
                _ => require_own_participation(w.principal(), &wanted)?,
            }
        }
        write::require_unique_slug::<pairing::Entity>(&w.txn, "input.slug", &input.slug, None)
            .await?;
        check_places(&w.txn, &wanted).await?;
        let themes = theme_ids(&w.txn, &input.themes).await?;
        let sdgs = sdg_ids(&w.txn, &input.sdgs).await?;
        let start = input.start.as_deref().map(parse_start).transpose()?;
        let model = pairing::Model {
            id: 0,
            slug: input.slug,
            kind: input.kind.into(),
            title: input.title,
            summary: input.summary,
            description: input.description,
            search_text: String::new(),
            programme_region_id: programme_region_id(&w.txn, &input.programme_region).await?,
            start_date: start.map(|s| s.start),
            start_precision: start.map(|s| s.precision),
            status: input.status.into(),
            sources: sources_text(&input.sources),
            notes: input.notes,
            version: 1,
        };
        let saved = write::insert_row(&w.txn, model).await?;
        sync_participants(&w.txn, saved.id, &wanted).await?;
        sync_themes(&w.txn, saved.id, &themes).await?;
        sync_sdgs(&w.txn, saved.id, &sdgs).await?;
        // The create's audit record lists the children too.
        let children = children_snapshot(&w.txn, saved.id).await?;
        write::audit_create(&w.txn, &w.actor, &saved, Some(children)).await?;
        w.commit().await?;
        Ok(PairingPayload {
            pairing: Pairing(saved.into()),
        })
    }

    /// Changes a pairing, its participants and its theme and SDG links (administrators, or a
    /// partner taking part in the pairing).
    async fn update_pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdatePairingInput,
    ) -> Result<PairingPayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Pairing, "input.id")?;
        if !access::may_edit_pairing(&w.txn, w.principal(), id).await? {
            return Err(AppError::Forbidden);
        }
        let before: pairing::Model =
            find_for_write::<pairing::Entity>(&w, &input.id, NodeType::Pairing, "input.id").await?;
        write::lock(&w.txn, &before, input.version).await?;
        let children_before = children_snapshot(&w.txn, id).await?;
        let mut after = before.clone();
        if let Some(slug) = input.slug {
            write::require_unique_slug::<pairing::Entity>(&w.txn, "input.slug", &slug, Some(id))
                .await?;
            after.slug = slug;
        }
        if let Some(kind) = input.kind {
            after.kind = kind.into();
        }
        if let Some(title) = input.title {
            after.title = title;
        }
        if let Some(summary) = input.summary {
            after.summary = summary;
        }
        patch(&mut after.description, input.description);
        if let Some(slug) = input.programme_region {
            after.programme_region_id = programme_region_id(&w.txn, &slug).await?;
        }
        match input.start {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => {
                after.start_date = None;
                after.start_precision = None;
            }
            MaybeUndefined::Value(text) => {
                let start = parse_start(&text)?;
                after.start_date = Some(start.start);
                after.start_precision = Some(start.precision);
            }
        }
        if let Some(status) = input.status {
            after.status = status.into();
        }
        if let Some(sources) = input.sources {
            after.sources = sources_text(&sources);
        }
        patch(&mut after.notes, input.notes);
        if let Some(list) = &input.participants {
            let wanted = participants(list)?;
            require_own_participation(w.principal(), &wanted)?;
            check_places(&w.txn, &wanted).await?;
            sync_participants(&w.txn, id, &wanted).await?;
        }
        if let Some(list) = &input.themes {
            let themes = theme_ids(&w.txn, list).await?;
            sync_themes(&w.txn, id, &themes).await?;
        }
        if let Some(list) = &input.sdgs {
            let sdgs = sdg_ids(&w.txn, list).await?;
            sync_sdgs(&w.txn, id, &sdgs).await?;
        }
        let children_after = children_snapshot(&w.txn, id).await?;
        let saved = write::update(
            &w.txn,
            &w.actor,
            &before,
            input.version,
            after,
            Some(children_before),
            Some(children_after),
        )
        .await?;
        w.commit().await?;
        Ok(PairingPayload {
            pairing: Pairing(saved.into()),
        })
    }

    /// Deletes a pairing with its participants, theme and SDG links, UCAP (sections, projects),
    /// involvements and activity links (administrators, or a partner taking part). Refused
    /// while an activity is linked to this pairing alone: delete the activity or link it to
    /// another pairing first.
    async fn delete_pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pairing to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Pairing, "input.id")?;
        if !access::may_edit_pairing(&w.txn, w.principal(), id).await? {
            return Err(AppError::Forbidden);
        }
        let pairing: pairing::Model =
            find_for_write::<pairing::Entity>(&w, &input.id, NodeType::Pairing, "input.id").await?;
        let orphans = count_dependents(
            &w.txn,
            id,
            &[(
                "Activity linked to this pairing alone",
                "activity_pairing ap WHERE ap.pairing_id = ? AND NOT EXISTS \
                 (SELECT 1 FROM activity_pairing o WHERE o.activity_id = ap.activity_id \
                 AND o.pairing_id <> ap.pairing_id)",
            )],
        )
        .await?;
        refuse_if_referenced(&format!("Pairing {}", pairing.slug), &orphans)?;
        let removed = count_dependents(&w.txn, id, &PAIRING_DEPENDENTS).await?;
        let children = children_snapshot(&w.txn, id).await?;
        write::delete(&w.txn, &w.actor, &pairing, input.version, Some(children)).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::Pairing, id),
            removed,
        })
    }
}
