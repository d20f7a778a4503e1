//! Stakeholder organisations and their involvements.
//!
//! Stakeholders are created and deleted by administrators; an organisation's own key may update
//! its record. An involvement is written by whoever may change the pairing it is in (through
//! the pairing, its UCAP or one of its projects): an organisation cannot add itself to someone
//! else's pairing, which would give it the right to change that pairing.

use entity::enums::Helix;
use entity::{activity_stakeholder, api_key, involvement, project, stakeholder, ucap};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::dependents::{self, Dependent, Removal};
use super::lookup::{country_id, existing_city, find_for_write};
use super::{Patch, Record, Writer, patch};
use crate::auth::Organisation;
use crate::error::AppError;
use crate::id::NodeType;
use crate::service::access;
use crate::service::provenance::{self, Source};

/// A new stakeholder organisation.
#[derive(Debug, Clone)]
pub struct NewStakeholder {
    pub slug: String,
    pub name: String,
    pub helix: Helix,
    pub city_id: Option<i32>,
    /// ISO 3166-1 alpha-2 code.
    pub country: Option<String>,
    pub description: Option<String>,
    pub sources: Vec<Source>,
    pub notes: Option<String>,
}

/// Changes to a stakeholder: `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct StakeholderChanges {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub helix: Option<Helix>,
    pub city_id: Patch<i32>,
    pub country: Patch<String>,
    pub description: Patch<String>,
    pub sources: Option<Vec<Source>>,
    pub notes: Patch<String>,
}

/// A stakeholder's involvement in a pairing, a UCAP or a project (exactly one).
#[derive(Debug, Clone)]
pub struct NewInvolvement {
    pub stakeholder_id: i32,
    pub pairing_id: Option<i32>,
    pub ucap_id: Option<i32>,
    pub project_id: Option<i32>,
    pub role: Option<String>,
}

async fn city(db: &impl ConnectionTrait, id: Option<i32>) -> Result<Option<i32>, AppError> {
    match id {
        Some(id) => Ok(Some(existing_city(db, id, "input.city").await?)),
        None => Ok(None),
    }
}

async fn country(db: &impl ConnectionTrait, code: Option<&str>) -> Result<Option<i32>, AppError> {
    match code {
        Some(code) => Ok(Some(country_id(db, code, "input.country").await?)),
        None => Ok(None),
    }
}

/// Creates a stakeholder organisation (administrators).
pub async fn create_stakeholder(
    w: &Writer<'_, impl ConnectionTrait>,
    new: NewStakeholder,
) -> Result<stakeholder::Model, AppError> {
    w.principal.require_admin()?;
    super::require_unique_slug::<stakeholder::Entity>(w.db, "input.slug", &new.slug, None).await?;
    let city_id = city(w.db, new.city_id).await?;
    let country_id = country(w.db, new.country.as_deref()).await?;
    let model = stakeholder::Model {
        id: 0,
        slug: new.slug,
        name: new.name,
        name_folded: String::new(),
        helix: new.helix,
        city_id,
        country_id,
        description: new.description,
        sources: provenance::to_text(&new.sources),
        notes: new.notes,
        version: 1,
        updated_at: super::now(),
    };
    super::insert(w.db, w.actor, model, None).await
}

/// Changes a stakeholder (administrators, or the organisation's own key).
pub async fn update_stakeholder(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: i32,
    changes: StakeholderChanges,
) -> Result<stakeholder::Model, AppError> {
    access::require_self_or_admin(w.principal, Organisation::Stakeholder(id))?;
    let before: stakeholder::Model =
        find_for_write::<stakeholder::Entity>(w.db, w.principal, NodeType::Stakeholder, id).await?;
    let mut after = before.clone();
    if let Some(slug) = changes.slug {
        super::require_unique_slug::<stakeholder::Entity>(w.db, "input.slug", &slug, Some(id))
            .await?;
        after.slug = slug;
    }
    if let Some(name) = changes.name {
        after.name = name;
    }
    if let Some(helix) = changes.helix {
        after.helix = helix;
    }
    if let Some(city_id) = changes.city_id {
        after.city_id = city(w.db, city_id).await?;
    }
    if let Some(code) = changes.country {
        after.country_id = country(w.db, code.as_deref()).await?;
    }
    patch(&mut after.description, changes.description);
    if let Some(sources) = changes.sources {
        after.sources = provenance::to_text(&sources);
    }
    patch(&mut after.notes, changes.notes);
    super::update(w.db, w.actor, &before, version, after, None, None).await
}

/// Deletes a stakeholder with its involvements, its activity links and its API keys
/// (administrators); returns what went with it.
pub async fn delete_stakeholder(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: Option<i32>,
) -> Result<Vec<Removal>, AppError> {
    w.principal.require_admin()?;
    let record: stakeholder::Model =
        find_for_write::<stakeholder::Entity>(w.db, w.principal, NodeType::Stakeholder, id).await?;
    let removed = dependents::count(
        w.db,
        vec![
            Dependent::of::<involvement::Entity>(
                "Involvement",
                involvement::Column::StakeholderId.eq(id),
            ),
            Dependent::of::<activity_stakeholder::Entity>(
                "ActivityLink",
                activity_stakeholder::Column::StakeholderId.eq(id),
            ),
            Dependent::of::<api_key::Entity>("ApiKey", api_key::Column::StakeholderId.eq(id)),
        ],
    )
    .await?;
    super::delete(w.db, w.actor, &record, version, None).await?;
    Ok(removed)
}

/// The pairing an involvement is (or would be) in.
async fn involvement_pairing(
    db: &impl ConnectionTrait,
    m: &involvement::Model,
) -> Result<i32, AppError> {
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

/// `FORBIDDEN` unless the caller may change pairing `pairing_id`.
async fn require_pairing(
    w: &Writer<'_, impl ConnectionTrait>,
    pairing_id: i32,
) -> Result<(), AppError> {
    if access::may_edit_pairing(w.db, w.principal, pairing_id).await? {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Records a stakeholder's involvement in a pairing, UCAP or project (administrators, or
/// partners who may change that pairing).
pub async fn create_involvement(
    w: &Writer<'_, impl ConnectionTrait>,
    new: NewInvolvement,
) -> Result<involvement::Model, AppError> {
    let model = involvement::Model {
        id: 0,
        stakeholder_id: new.stakeholder_id,
        pairing_id: new.pairing_id,
        ucap_id: new.ucap_id,
        project_id: new.project_id,
        role: new.role,
        version: 1,
        updated_at: super::now(),
    };
    model.validate()?;
    let pairing_id = involvement_pairing(w.db, &model).await?;
    require_pairing(w, pairing_id).await?;
    check_involvement_targets(w.db, pairing_id, &model).await?;
    super::insert(w.db, w.actor, model, None).await
}

/// The pairing and stakeholder exist, and the stakeholder is not involved there already.
async fn check_involvement_targets(
    db: &impl ConnectionTrait,
    pairing_id: i32,
    model: &involvement::Model,
) -> Result<(), AppError> {
    if entity::pairing::Entity::find_by_id(pairing_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::invalid("input.pairing", "no such pairing"));
    }
    if stakeholder::Entity::find_by_id(model.stakeholder_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(AppError::invalid(
            "input.stakeholder",
            "no such stakeholder",
        ));
    }
    let duplicate = involvement::Entity::find()
        .filter(involvement::Column::StakeholderId.eq(model.stakeholder_id))
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
        .one(db)
        .await?;
    if duplicate.is_some() {
        return Err(AppError::invalid(
            "input.stakeholder",
            "this stakeholder is involved there already: update that involvement",
        ));
    }
    Ok(())
}

/// The involvement a write names, after checking the caller's right: the stakeholder itself,
/// or whoever may change its pairing.
async fn involvement_for_write(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
) -> Result<involvement::Model, AppError> {
    let record: involvement::Model =
        find_for_write::<involvement::Entity>(w.db, w.principal, NodeType::Involvement, id).await?;
    if w.principal.organisation != Some(Organisation::Stakeholder(record.stakeholder_id)) {
        let pairing_id = involvement_pairing(w.db, &record).await?;
        require_pairing(w, pairing_id).await?;
    }
    Ok(record)
}

/// Changes an involvement's role (administrators, partners who may change its pairing, or the
/// stakeholder itself).
pub async fn update_involvement(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: i32,
    role: Patch<String>,
) -> Result<involvement::Model, AppError> {
    let before = involvement_for_write(w, id).await?;
    let mut after = before.clone();
    patch(&mut after.role, role);
    super::update(w.db, w.actor, &before, version, after, None, None).await
}

/// Deletes an involvement (administrators, partners who may change its pairing, or the
/// stakeholder itself).
pub async fn delete_involvement(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: Option<i32>,
) -> Result<(), AppError> {
    let record = involvement_for_write(w, id).await?;
    super::delete(w.db, w.actor, &record, version, None).await
}
