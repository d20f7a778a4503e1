//! Activities: their inputs and payloads; the rules are in `service::write::activity`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::*;
use crate::graphql::object::{Activity, ActivityKind, ActivityStatus, SourceInput};
use crate::service::write::activity::{self, ActivityChanges, NewActivity, StakeholderLink};

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
    /// Whether it took place or is announced as to come (default `HELD`).
    #[graphql(default_with = "ActivityStatus::Held")]
    pub status: ActivityStatus,
    /// The pairings it belongs to (partners: at least one, all of them their own).
    #[graphql(default)]
    pub pairings: Vec<ID>,
    /// The stakeholders who took part.
    #[graphql(default)]
    pub stakeholders: Vec<ActivityStakeholderInput>,
    /// The sources you cite (your own `PARTNER` source is recorded by the server).
    #[graphql(default)]
    pub sources: Vec<SourceInput>,
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
    /// New status.
    pub status: Option<ActivityStatus>,
    /// Replaces the pairings.
    pub pairings: Option<Vec<ID>>,
    /// Replaces the stakeholders.
    pub stakeholders: Option<Vec<ActivityStakeholderInput>>,
    /// Replaces the sources you cite (your own `PARTNER` source is recorded by the server).
    pub sources: Option<Vec<SourceInput>>,
    /// Editorial notes.
    pub notes: MaybeUndefined<String>,
}

/// The activity created or changed.
#[derive(SimpleObject)]
pub struct ActivityPayload {
    /// The activity as it is now.
    pub activity: Activity,
}

fn pairing_ids(ids: &[ID]) -> Result<Vec<i32>> {
    input_ids(ids, NodeType::Pairing, |i| format!("input.pairings[{i}]"))
}

fn stakeholder_links(inputs: &[ActivityStakeholderInput]) -> Result<Vec<StakeholderLink>> {
    let ids = input_ids(
        inputs.iter().map(|s| &s.stakeholder),
        NodeType::Stakeholder,
        |i| format!("input.stakeholders[{i}].stakeholder"),
    )?;
    Ok(ids
        .into_iter()
        .zip(inputs)
        .map(|(stakeholder_id, s)| StakeholderLink {
            stakeholder_id,
            role: s.role.clone(),
        })
        .collect())
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
        let new = NewActivity {
            pairings: pairing_ids(&input.pairings)?,
            stakeholders: stakeholder_links(&input.stakeholders)?,
            city_id: optional_id(input.city.as_ref(), NodeType::City, "input.city")?,
            slug: input.slug,
            date: input.date,
            kind: input.kind.into(),
            title: input.title,
            description: input.description,
            place: input.place,
            status: input.status.into(),
            sources: SourceInput::all(input.sources),
            notes: input.notes,
        };
        let saved = activity::create(&w.writer(), new).await?;
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
        let id = input_id(&input.id, NodeType::Activity, "input.id")?;
        let changes = ActivityChanges {
            pairings: input.pairings.as_deref().map(pairing_ids).transpose()?,
            stakeholders: input
                .stakeholders
                .as_deref()
                .map(stakeholder_links)
                .transpose()?,
            city_id: id_change(input.city, NodeType::City, "input.city")?,
            slug: input.slug,
            date: input.date,
            kind: input.kind.map(Into::into),
            title: input.title,
            description: input.description.into(),
            place: input.place.into(),
            status: input.status.map(Into::into),
            sources: input.sources.map(SourceInput::all),
            notes: input.notes.into(),
        };
        let saved = activity::update(&w.writer(), id, input.version, changes).await?;
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
        let id = input_id(&input.id, NodeType::Activity, "input.id")?;
        let removed = activity::delete(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::Activity, id, removed))
    }
}
