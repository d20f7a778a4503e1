//! Stakeholders and involvements: their inputs and payloads; the rules (who may write what)
//! are in `service::write::stakeholder`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, OneofObject, SimpleObject};

use super::*;
use crate::graphql::object::SourceInput;
use crate::graphql::object::{Helix, Involvement, Stakeholder};
use crate::service::write::stakeholder::{
    self, NewInvolvement, NewStakeholder, StakeholderChanges,
};

/// A new stakeholder organisation.
#[derive(InputObject)]
pub struct CreateStakeholderInput {
    /// URL-safe key, unique among stakeholders.
    pub slug: String,
    /// The organisation's name.
    pub name: String,
    /// Its quadruple-helix category.
    pub helix: Helix,
    /// Its home city.
    pub city: Option<ID>,
    /// Its country (ISO 3166-1 alpha-2 code).
    pub country: Option<String>,
    /// What it is and does.
    pub description: Option<String>,
    /// The sources you cite (your own `PARTNER` source is recorded by the server).
    #[graphql(default)]
    pub sources: Vec<SourceInput>,
    /// Editorial notes.
    pub notes: Option<String>,
}

/// Changes to a stakeholder: fields left out stay as they are; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateStakeholderInput {
    /// The stakeholder's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New slug.
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New helix category.
    pub helix: Option<Helix>,
    /// New home city.
    pub city: MaybeUndefined<ID>,
    /// New country (ISO code).
    pub country: MaybeUndefined<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// Replaces the sources you cite (your own `PARTNER` source is recorded by the server).
    pub sources: Option<Vec<SourceInput>>,
    /// Editorial notes.
    pub notes: MaybeUndefined<String>,
}

/// A stakeholder's involvement in a pairing, a UCAP or a project.
#[derive(InputObject)]
pub struct CreateInvolvementInput {
    /// The stakeholder's global ID.
    pub stakeholder: ID,
    /// What it is involved in.
    pub target: InvolvementTargetInput,
    /// The role it plays, e.g. "signed the MoU".
    pub role: Option<String>,
}

/// What a stakeholder is involved in: give exactly one of a pairing, a UCAP and a project.
#[derive(OneofObject)]
pub enum InvolvementTargetInput {
    /// A pairing's global ID.
    Pairing(ID),
    /// A UCAP's global ID.
    Ucap(ID),
    /// A project's global ID.
    Project(ID),
}

/// Changes an involvement's role.
#[derive(InputObject)]
pub struct UpdateInvolvementInput {
    /// The involvement's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// The new role; `null` clears it.
    pub role: MaybeUndefined<String>,
}

/// The stakeholder created or changed.
#[derive(SimpleObject)]
pub struct StakeholderPayload {
    /// The stakeholder as it is now.
    pub stakeholder: Stakeholder,
}

/// The involvement created or changed.
#[derive(SimpleObject)]
pub struct InvolvementPayload {
    /// The involvement as it is now.
    pub involvement: Involvement,
}

/// The target's key when it is of `kind` (the `@oneOf` input names exactly one).
fn target_id(target: &InvolvementTargetInput, kind: NodeType) -> Result<Option<i32>> {
    let (id, field) = match (target, kind) {
        (InvolvementTargetInput::Pairing(id), NodeType::Pairing) => (id, "input.target.pairing"),
        (InvolvementTargetInput::Ucap(id), NodeType::Ucap) => (id, "input.target.ucap"),
        (InvolvementTargetInput::Project(id), NodeType::Project) => (id, "input.target.project"),
        _ => return Ok(None),
    };
    input_id(id, kind, field).map(Some)
}

#[derive(Default)]
pub struct StakeholderMutation;

/// Stakeholders and involvements.
#[Object]
impl StakeholderMutation {
    /// Creates a stakeholder organisation (administrators).
    async fn create_stakeholder(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new stakeholder.")] input: CreateStakeholderInput,
    ) -> Result<StakeholderPayload> {
        let w = begin(ctx).await?;
        let new = NewStakeholder {
            city_id: optional_id(input.city.as_ref(), NodeType::City, "input.city")?,
            slug: input.slug,
            name: input.name,
            helix: input.helix.into(),
            country: input.country,
            description: input.description,
            sources: SourceInput::all(input.sources),
            notes: input.notes,
        };
        let saved = stakeholder::create_stakeholder(&w.writer(), new).await?;
        w.commit().await?;
        Ok(StakeholderPayload {
            stakeholder: Stakeholder(saved.into()),
        })
    }

    /// Changes a stakeholder (administrators, or the organisation's own key).
    async fn update_stakeholder(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdateStakeholderInput,
    ) -> Result<StakeholderPayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Stakeholder, "input.id")?;
        let changes = StakeholderChanges {
            city_id: id_change(input.city, NodeType::City, "input.city")?,
            slug: input.slug,
            name: input.name,
            helix: input.helix.map(Into::into),
            country: input.country.into(),
            description: input.description.into(),
            sources: input.sources.map(SourceInput::all),
            notes: input.notes.into(),
        };
        let saved =
            stakeholder::update_stakeholder(&w.writer(), id, input.version, changes).await?;
        w.commit().await?;
        Ok(StakeholderPayload {
            stakeholder: Stakeholder(saved.into()),
        })
    }

    /// Deletes a stakeholder with its involvements, its activity links and its API keys
    /// (administrators).
    async fn delete_stakeholder(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stakeholder to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Stakeholder, "input.id")?;
        let removed = stakeholder::delete_stakeholder(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::Stakeholder, id, removed))
    }

    /// Records a stakeholder's involvement in a pairing, UCAP or project (administrators, or
    /// partners who may change that pairing).
    async fn create_involvement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new involvement.")] input: CreateInvolvementInput,
    ) -> Result<InvolvementPayload> {
        let w = begin(ctx).await?;
        let new = NewInvolvement {
            stakeholder_id: input_id(
                &input.stakeholder,
                NodeType::Stakeholder,
                "input.stakeholder",
            )?,
            pairing_id: target_id(&input.target, NodeType::Pairing)?,
            ucap_id: target_id(&input.target, NodeType::Ucap)?,
            project_id: target_id(&input.target, NodeType::Project)?,
            role: input.role,
        };
        let saved = stakeholder::create_involvement(&w.writer(), new).await?;
        w.commit().await?;
        Ok(InvolvementPayload {
            involvement: Involvement(saved.into()),
        })
    }

    /// Changes an involvement's role (administrators, partners who may change its pairing,
    /// or the stakeholder itself).
    async fn update_involvement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdateInvolvementInput,
    ) -> Result<InvolvementPayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Involvement, "input.id")?;
        let saved =
            stakeholder::update_involvement(&w.writer(), id, input.version, input.role.into())
                .await?;
        w.commit().await?;
        Ok(InvolvementPayload {
            involvement: Involvement(saved.into()),
        })
    }

    /// Deletes an involvement (administrators, partners who may change its pairing, or the
    /// stakeholder itself).
    async fn delete_involvement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The involvement to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let id = input_id(&input.id, NodeType::Involvement, "input.id")?;
        stakeholder::delete_involvement(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::Involvement, id, Vec::new()))
    }
}
