//! Activities on the timeline, linked to pairings and stakeholders. A partner may write an
//! activity when it may change every pairing the activity is (and will be) linked to.

use std::collections::HashSet;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{activity, activity_pairing, activity_stakeholder};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
};
use serde_json::{Map, Value as Json, json};

use super::place::{DeleteInput, patch};
use super::*;
use crate::graphql::object::{Activity, ActivityKind};
use crate::id::encode;
use crate::partial_date::PartialDate;
use crate::service::{access, write};

/// A stakeholder taking part in an activity.
#[derive(InputObject, Clone)]
pub struct ActivityStakeholderInput {
    /// The stakeholder's global ID.
    pub stakeholder: ID,
    /// The role it played.
    pub role: Option<String>,
}

/// A new activity.
#[derive(InputObject)]
pub struct CreateActivityInput {
    /// URL-safe key, unique among activities.
    pub slug: String,
    /// When it happened, as a partial date (`2018`, `2019-H1`, `2019-Q3`, `2018-07`,
    /// `2018-07-12`).
    pub date: String,
    /// What kind of event it was.
    pub kind: ActivityKind,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Where it took place, as text.
    pub place: Option<String>,
    /// The city where it took place.
    pub city: Option<ID>,
    /// The pairings it belongs to (partners: at least one, all of them their own).
    #[graphql(default)]
    pub pairings: Vec<ID>,
    /// The stakeholders who took part.
    #[graphql(default)]
    pub stakeholders: Vec<ActivityStakeholderInput>,
    /// Where the facts come from.
    #[graphql(default)]
    pub sources: Vec<String>,
    /// Editorial notes.
    pub notes: Option<String>,
}

/// Changes to an activity: fields left out stay as they are; lists given replace the lists.
#[derive(InputObject)]
pub struct UpdateActivityInput {
    /// The activity's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New slug.
    pub slug: Option<String>,
    /// New date (partial date).
    pub date: Option<String>,
    /// New kind.
    pub kind: Option<ActivityKind>,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New place text.
    pub place: MaybeUndefined<String>,
    /// New city; `null` clears it.
    pub city: MaybeUndefined<ID>,
    /// Replaces the pairings.
    pub pairings: Option<Vec<ID>>,
    /// Replaces the stakeholders.
    pub stakeholders: Option<Vec<ActivityStakeholderInput>>,
    /// Replaces the list of sources.
    pub sources: Option<Vec<String>>,
    /// Editorial notes.
    pub notes: MaybeUndefined<String>,
}

/// The activity created or changed.
#[derive(SimpleObject)]
pub struct ActivityPayload {
    /// The activity as it is now.
    pub activity: Activity,
}

fn parse_date(text: &str) -> Result<PartialDate> {
    text.parse::<PartialDate>()
        .map_err(|e| AppError::invalid("input.date", e))
}

async fn pairing_ids(db: &impl ConnectionTrait, ids: &[ID]) -> Result<Vec<i32>> {
    input_ids(db, ids, NodeType::Pairing, "pairing", |i| {
        format!("input.pairings[{i}]")
    })
    .await
}

async fn stakeholder_links(
    db: &impl ConnectionTrait,
    inputs: &[ActivityStakeholderInput],
) -> Result<Vec<(i32, Option<String>)>> {
    let ids = input_ids(
        db,
        inputs.iter().map(|s| &s.stakeholder),
        NodeType::Stakeholder,
        "stakeholder",
        |i| format!("input.stakeholders[{i}].stakeholder"),
    )
    .await?;
    Ok(ids
        .into_iter()
        .zip(inputs)
        .map(|(id, s)| (id, s.role.clone()))
        .collect())
}

async fn linked_pairings(db: &impl ConnectionTrait, activity_id: i32) -> Result<Vec<i32>> {
    let mut ids: Vec<i32> = activity_pairing::Entity::find()
        .filter(activity_pairing::Column::ActivityId.eq(activity_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.pairing_id)
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

async fn links_snapshot(db: &impl ConnectionTrait, activity_id: i32) -> Result<Map<String, Json>> {
    let pairings = linked_pairings(db, activity_id).await?;
    let mut stakeholders: Vec<(i32, Option<String>)> = activity_stakeholder::Entity::find()
        .filter(activity_stakeholder::Column::ActivityId.eq(activity_id))
        .all(db)
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

async fn replace_links(
    db: &impl ConnectionTrait,
    activity_id: i32,
    pairings: Option<&[i32]>,
    stakeholders: Option<&[(i32, Option<String>)]>,
) -> Result<()> {
    if let Some(pairings) = pairings {
        let keep: HashSet<i32> = pairings.iter().copied().collect();
        let existing = linked_pairings(db, activity_id).await?;
        activity_pairing::Entity::delete_many()
            .filter(activity_pairing::Column::ActivityId.eq(activity_id))
            .filter(activity_pairing::Column::PairingId.is_not_in(keep.iter().copied()))
            .exec(db)
            .await?;
        for &pairing_id in pairings {
            if !existing.contains(&pairing_id) {
                activity_pairing::Model {
                    activity_id,
                    pairing_id,
                }
                .into_active_model()
                .reset_all()
                .insert(db)
                .await?;
            }
        }
    }
    if let Some(stakeholders) = stakeholders {
        activity_stakeholder::Entity::delete_many()
            .filter(activity_stakeholder::Column::ActivityId.eq(activity_id))
            .exec(db)
            .await?;
        for (stakeholder_id, role) in stakeholders {
            activity_stakeholder::Model {
                activity_id,
                stakeholder_id: *stakeholder_id,
                role: role.clone(),
            }
            .into_active_model()
            .reset_all()
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Partners must be able to change every pairing, and name at least one.
async fn require_pairings(w: &Write, pairings: &[i32]) -> Result<()> {
    if w.principal().is_admin() {
        return Ok(());
    }
    if pairings.is_empty() {
        return Err(AppError::Forbidden);
    }
    access::require_pairings(&w.txn, w.principal(), pairings).await
}

#[derive(Default)]
pub struct ActivityMutation;

/// Activities.
#[Object]
impl ActivityMutation {
    /// Creates an activity with its pairing and stakeholder links.
    async fn create_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new activity.")] input: CreateActivityInput,
    ) -> Result<ActivityPayload> {
        let w = begin(ctx).await?;
        let pairings = pairing_ids(&w.txn, &input.pairings).await?;
        require_pairings(&w, &pairings).await?;
        write::require_unique_slug::<activity::Entity>(&w.txn, "input.slug", &input.slug, None)
            .await?;
        let date = parse_date(&input.date)?;
        let stakeholders = stakeholder_links(&w.txn, &input.stakeholders).await?;
        let city_id = match &input.city {
            Some(id) => Some(existing_city(&w.txn, id, "input.city").await?),
            None => None,
        };
        let saved = write::insert_row(
            &w.txn,
            activity::Model {
                id: 0,
                slug: input.slug,
                date: date.start,
                date_precision: date.precision,
                kind: input.kind.into(),
                title: input.title,
                description: input.description,
                place: input.place,
                city_id,
                sources: sources_text(&input.sources),
                notes: input.notes,
                version: 1,
            },
        )
        .await?;
        replace_links(&w.txn, saved.id, Some(&pairings), Some(&stakeholders)).await?;
        let links = links_snapshot(&w.txn, saved.id).await?;
        write::audit_create(&w.txn, &w.actor, &saved, Some(links)).await?;
        w.commit().await?;
        Ok(ActivityPayload {
            activity: Activity(saved.into()),
        })
    }

    /// Changes an activity and its links.
    async fn update_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdateActivityInput,
    ) -> Result<ActivityPayload> {
        let w = begin(ctx).await?;
        let before: activity::Model =
            find_for_write::<activity::Entity>(&w, &input.id, NodeType::Activity, "input.id")
                .await?;
        require_pairings(&w, &linked_pairings(&w.txn, before.id).await?).await?;
        write::lock(&w.txn, &before, input.version).await?;
        let links_before = links_snapshot(&w.txn, before.id).await?;
        let mut after = before.clone();
        if let Some(slug) = input.slug {
            write::require_unique_slug::<activity::Entity>(
                &w.txn,
                "input.slug",
                &slug,
                Some(before.id),
            )
            .await?;
            after.slug = slug;
        }
        if let Some(text) = input.date {
            let date = parse_date(&text)?;
            after.date = date.start;
            after.date_precision = date.precision;
        }
        if let Some(kind) = input.kind {
            after.kind = kind.into();
        }
        if let Some(title) = input.title {
            after.title = title;
        }
        patch(&mut after.description, input.description);
        patch(&mut after.place, input.place);
        match &input.city {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => after.city_id = None,
            MaybeUndefined::Value(id) => {
                after.city_id = Some(existing_city(&w.txn, id, "input.city").await?)
            }
        }
        if let Some(sources) = input.sources {
            after.sources = sources_text(&sources);
        }
        patch(&mut after.notes, input.notes);
        let pairings = match &input.pairings {
            Some(ids) => {
                let ids = pairing_ids(&w.txn, ids).await?;
                require_pairings(&w, &ids).await?;
                Some(ids)
            }
            None => None,
        };
        let stakeholders = match &input.stakeholders {
            Some(list) => Some(stakeholder_links(&w.txn, list).await?),
            None => None,
        };
        replace_links(
            &w.txn,
            before.id,
            pairings.as_deref(),
            stakeholders.as_deref(),
        )
        .await?;
        let links_after = links_snapshot(&w.txn, before.id).await?;
        let saved = write::update(
            &w.txn,
            &w.actor,
            &before,
            input.version,
            after,
            Some(links_before),
            Some(links_after),
        )
        .await?;
        w.commit().await?;
        Ok(ActivityPayload {
            activity: Activity(saved.into()),
        })
    }

    /// Deletes an activity with its pairing and stakeholder links.
    async fn delete_activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let record: activity::Model =
            find_for_write::<activity::Entity>(&w, &input.id, NodeType::Activity, "input.id")
                .await?;
        require_pairings(&w, &linked_pairings(&w.txn, record.id).await?).await?;
        let removed = count_dependents(
            &w.txn,
            record.id,
            &[
                ("ActivityLink", "activity_pairing WHERE activity_id = ?"),
                (
                    "ActivityStakeholderLink",
                    "activity_stakeholder WHERE activity_id = ?",
                ),
            ],
        )
        .await?;
        let links = links_snapshot(&w.txn, record.id).await?;
        write::delete(&w.txn, &w.actor, &record, input.version, Some(links)).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::Activity, record.id),
            removed,
        })
    }
}
