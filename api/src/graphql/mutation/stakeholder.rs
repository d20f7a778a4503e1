//! Stakeholder organisations and their involvements.
//!
//! Stakeholders are created and deleted by administrators; an organisation's own key may update
//! its record. An involvement is written by whoever may change the pairing it is in (through
//! the pairing, its UCAP or one of its projects): an organisation cannot add itself to someone
//! else's pairing, which would give it the right to change that pairing.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{involvement, project, stakeholder, ucap};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::place::{DeleteInput, country_id, patch};
use super::*;
use crate::auth::Organisation;
use crate::graphql::object::{Helix, Involvement, Stakeholder};
use crate::id::encode;
use crate::service::{access, write};

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
    /// Where the facts come from.
    #[graphql(default)]
    pub sources: Vec<String>,
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
    /// Replaces the list of sources.
    pub sources: Option<Vec<String>>,
    /// Editorial notes.
    pub notes: MaybeUndefined<String>,
}

/// A stakeholder's involvement in a pairing, a UCAP or a project (give exactly one).
#[derive(InputObject)]
pub struct CreateInvolvementInput {
    /// The stakeholder's global ID.
    pub stakeholder: ID,
    /// The pairing it is involved in.
    pub pairing: Option<ID>,
    /// The UCAP it is involved in.
    pub ucap: Option<ID>,
    /// The project it is involved in.
    pub project: Option<ID>,
    /// The role it plays, e.g. "signed the MoU".
    pub role: Option<String>,
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

/// The pairing an involvement is (or would be) in.
async fn involvement_pairing(db: &impl ConnectionTrait, m: &involvement::Model) -> Result<i32> {
    if let Some(id) = m.pairing_id {
        return Ok(id);
    }
    let ucap_id = match (m.ucap_id, m.project_id) {
        (Some(id), _) => id,
        (None, Some(project_id)) => {
            project::Entity::find_by_id(project_id)
                .one(db)
                .await?
                .ok_or_else(|| AppError::invalid("input.project", "no such project"))?
                .ucap_id
        }
        (None, None) => {
            return Err(AppError::invalid(
                "input.pairing",
                "give the pairing, UCAP or project of the involvement",
            ));
        }
    };
    Ok(ucap::Entity::find_by_id(ucap_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::invalid("input.ucap", "no such UCAP"))?
        .pairing_id)
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
        w.principal().require_admin()?;
        write::require_unique_slug::<stakeholder::Entity>(&w.txn, "input.slug", &input.slug, None)
            .await?;
        let city_id = match &input.city {
            Some(id) => Some(existing_city(&w.txn, id, "input.city").await?),
            None => None,
        };
        let country_id = match &input.country {
            Some(code) => Some(country_id(&w.txn, code, "input.country").await?),
            None => None,
        };
        let saved = write::insert(
            &w.txn,
            &w.actor,
            stakeholder::Model {
                id: 0,
                slug: input.slug,
                name: input.name,
                name_folded: String::new(),
                helix: input.helix.into(),
                city_id,
                country_id,
                description: input.description,
                sources: sources_text(&input.sources),
                notes: input.notes,
                version: 1,
            },
            None,
        )
        .await?;
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
        access::require_self_or_admin(w.principal(), Organisation::Stakeholder(id))?;
        let before: stakeholder::Model =
            find_for_write::<stakeholder::Entity>(&w, &input.id, NodeType::Stakeholder, "input.id")
                .await?;
        let mut after = before.clone();
        if let Some(slug) = input.slug {
            write::require_unique_slug::<stakeholder::Entity>(
                &w.txn,
                "input.slug",
                &slug,
                Some(id),
            )
            .await?;
            after.slug = slug;
        }
        if let Some(name) = input.name {
            after.name = name;
        }
        if let Some(helix) = input.helix {
            after.helix = helix.into();
        }
        match input.city {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => after.city_id = None,
            MaybeUndefined::Value(id) => {
                after.city_id = Some(existing_city(&w.txn, &id, "input.city").await?)
            }
        }
        match input.country {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => after.country_id = None,
            MaybeUndefined::Value(code) => {
                after.country_id = Some(country_id(&w.txn, &code, "input.country").await?)
            }
        }
        patch(&mut after.description, input.description);
        if let Some(sources) = input.sources {
            after.sources = sources_text(&sources);
        }
        patch(&mut after.notes, input.notes);
        let saved =
            write::update(&w.txn, &w.actor, &before, input.version, after, None, None).await?;
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
        w.principal().require_admin()?;
        let record: stakeholder::Model =
            find_for_write::<stakeholder::Entity>(&w, &input.id, NodeType::Stakeholder, "input.id")
                .await?;
        let removed = count_dependents(
            &w.txn,
            record.id,
            &[
                ("Involvement", "involvement WHERE stakeholder_id = ?"),
                (
                    "ActivityLink",
                    "activity_stakeholder WHERE stakeholder_id = ?",
                ),
                ("ApiKey", "api_key WHERE stakeholder_id = ?"),
            ],
        )
        .await?;
        write::delete(&w.txn, &w.actor, &record, input.version, None).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::Stakeholder, record.id),
            removed,
        })
    }

    /// Records a stakeholder's involvement in a pairing, UCAP or project (administrators, or
    /// partners who may change that pairing).
    async fn create_involvement(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new involvement.")] input: CreateInvolvementInput,
    ) -> Result<InvolvementPayload> {
        let w = begin(ctx).await?;
        let stakeholder_id = input_id(
            &input.stakeholder,
            NodeType::Stakeholder,
            "input.stakeholder",
        )?;
        let model = involvement::Model {
            id: 0,
            stakeholder_id,
            pairing_id: input
                .pairing
                .as_ref()
                .map(|id| input_id(id, NodeType::Pairing, "input.pairing"))
                .transpose()?,
            ucap_id: input
                .ucap
                .as_ref()
                .map(|id| input_id(id, NodeType::Ucap, "input.ucap"))
                .transpose()?,
            project_id: input
                .project
                .as_ref()
                .map(|id| input_id(id, NodeType::Project, "input.project"))
                .transpose()?,
            role: input.role,
            version: 1,
        };
        write::Record::validate(&model)?;
        let pairing_id = involvement_pairing(&w.txn, &model).await?;
        if !access::may_edit_pairing(&w.txn, w.principal(), pairing_id).await? {
            return Err(AppError::Forbidden);
        }
        if entity::pairing::Entity::find_by_id(pairing_id)
            .one(&w.txn)
            .await?
            .is_none()
        {
            return Err(AppError::invalid("input.pairing", "no such pairing"));
        }
        if stakeholder::Entity::find_by_id(stakeholder_id)
            .one(&w.txn)
            .await?
            .is_none()
        {
            return Err(AppError::invalid(
                "input.stakeholder",
                "no such stakeholder",
            ));
        }
        let duplicate = involvement::Entity::find()
            .filter(involvement::Column::StakeholderId.eq(stakeholder_id))
            .filter(match model.pairing_id {
                Some(id) => involvement::Column::PairingId.eq(id),
                None => involvement::Column::PairingId.is_null(),
            })
            .filter(match model.ucap_id {
                Some(id) => involvement::Column::UcapId.eq(id),
                None => involvement::Column::UcapId.is_null(),
            })
            .filter(match model.project_id {
                Some(id) => involvement::Column::ProjectId.eq(id),
                None => involvement::Column::ProjectId.is_null(),
            })
            .one(&w.txn)
            .await?;
        if duplicate.is_some() {
            return Err(AppError::invalid(
                "input.stakeholder",
                "this stakeholder is involved there already: update that involvement",
            ));
        }
        let saved = write::insert(&w.txn, &w.actor, model, None).await?;
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
        let before: involvement::Model =
            find_for_write::<involvement::Entity>(&w, &input.id, NodeType::Involvement, "input.id")
                .await?;
        require_involvement_right(&w, &before).await?;
        let mut after = before.clone();
        patch(&mut after.role, input.role);
        let saved =
            write::update(&w.txn, &w.actor, &before, input.version, after, None, None).await?;
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
        let record: involvement::Model =
            find_for_write::<involvement::Entity>(&w, &input.id, NodeType::Involvement, "input.id")
                .await?;
        require_involvement_right(&w, &record).await?;
        write::delete(&w.txn, &w.actor, &record, input.version, None).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::Involvement, record.id),
            removed: Vec::new(),
        })
    }
}

async fn require_involvement_right(w: &Write, record: &involvement::Model) -> Result<()> {
    if w.principal().organisation == Some(Organisation::Stakeholder(record.stakeholder_id)) {
        return Ok(());
    }
    let pairing_id = involvement_pairing(&w.txn, record).await?;
    if access::may_edit_pairing(&w.txn, w.principal(), pairing_id).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}
