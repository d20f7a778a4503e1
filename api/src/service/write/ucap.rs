//! UCAPs with their sections, and their projects: written by administrators and by the
//! partners of the UCAP's pairing.

use entity::enums::{ProjectKind, UcapStatus};
use entity::{involvement, project, ucap, ucap_section, ucap_section_type};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, Condition, ConnectionTrait, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder,
};
use serde_json::{Map, Value as Json, json};

use super::dependents::{self, Dependent, Removal};
use super::lookup::find_for_write;
use super::{Patch, Writer, patch};
use crate::error::AppError;
use crate::id::NodeType;
use crate::service::access;

/// One section of a UCAP.
#[derive(Debug, Clone)]
pub struct Section {
    /// Slug of the section type, e.g. `context`.
    pub section_type: String,
    pub body: String,
}

/// A new project of a UCAP.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub ucap_id: i32,
    pub slug: String,
    pub kind: ProjectKind,
    pub title: String,
    pub description: Option<String>,
    pub city_id: Option<i32>,
    pub region_id: Option<i32>,
    /// Position in the UCAP's list (default: last).
    pub position: Option<i32>,
}

/// Changes to a project: `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct ProjectChanges {
    pub slug: Option<String>,
    pub kind: Option<ProjectKind>,
    pub title: Option<String>,
    pub description: Patch<String>,
    pub city_id: Patch<i32>,
    pub region_id: Patch<i32>,
    pub position: Option<i32>,
}

/// Sections to (section type id, body), checked: known types, none twice.
async fn sections(
    db: &impl ConnectionTrait,
    inputs: &[Section],
) -> Result<Vec<(i32, String)>, AppError> {
    let types = ucap_section_type::Entity::find().all(db).await?;
    let mut out: Vec<(i32, String)> = Vec::new();
    for (i, s) in inputs.iter().enumerate() {
        let field = format!("input.sections[{i}].sectionType");
        let Some(t) = types.iter().find(|t| t.slug == s.section_type) else {
            let known: Vec<&str> = types.iter().map(|t| t.slug.as_str()).collect();
            return Err(AppError::invalid(
                field,
                format!(
                    "no section type {:?}; known: {}",
                    s.section_type,
                    known.join(", ")
                ),
            ));
        };
        if out.iter().any(|(id, _)| *id == t.id) {
            return Err(AppError::invalid(
                field,
                "this section type is listed twice",
            ));
        }
        out.push((t.id, s.body.clone()));
    }
    Ok(out)
}

async fn sections_snapshot(
    db: &impl ConnectionTrait,
    ucap_id: i32,
) -> Result<Map<String, Json>, AppError> {
    let list: Vec<Json> = ucap_section::Entity::find()
        .filter(ucap_section::Column::UcapId.eq(ucap_id))
        .order_by_asc(ucap_section::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|s| json!({"section_type_id": s.section_type_id, "body": s.body}))
        .collect();
    let mut map = Map::new();
    map.insert("sections".into(), Json::Array(list));
    Ok(map)
}

/// Replaces a UCAP's sections (new rows in the order given: the order of their ids is the
/// order of the audit snapshot).
async fn replace_sections(
    db: &impl ConnectionTrait,
    ucap_id: i32,
    sections: &[(i32, String)],
) -> Result<(), AppError> {
    ucap_section::Entity::delete_many()
        .filter(ucap_section::Column::UcapId.eq(ucap_id))
        .exec(db)
        .await?;
    for (section_type_id, body) in sections {
        let mut active = ucap_section::Model {
            id: 0,
            ucap_id,
            section_type_id: *section_type_id,
            body: body.clone(),
        }
        .into_active_model()
        .reset_all();
        active.id = NotSet;
        active.insert(db).await?;
    }
    Ok(())
}

/// `FORBIDDEN` unless the caller may change pairing `pairing_id` (a UCAP's, a project's).
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

/// The UCAP a write names, after checking the caller may change its pairing.
async fn ucap_for_write(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
) -> Result<ucap::Model, AppError> {
    let ucap: ucap::Model =
        find_for_write::<ucap::Entity>(w.db, w.principal, NodeType::Ucap, id).await?;
    require_pairing(w, ucap.pairing_id).await?;
    Ok(ucap)
}

/// Creates the UCAP of a pairing that has none, with its sections.
pub async fn create_ucap(
    w: &Writer<'_, impl ConnectionTrait>,
    pairing_id: i32,
    status: UcapStatus,
    list: &[Section],
) -> Result<ucap::Model, AppError> {
    require_pairing(w, pairing_id).await?;
    let pairing: entity::pairing::Model =
        find_for_write::<entity::pairing::Entity>(w.db, w.principal, NodeType::Pairing, pairing_id)
            .await?;
    if ucap::Entity::find()
        .filter(ucap::Column::PairingId.eq(pairing.id))
        .one(w.db)
        .await?
        .is_some()
    {
        return Err(AppError::invalid(
            "input.pairing",
            format!("pairing {} has a UCAP already: update it", pairing.slug),
        ));
    }
    let sections = sections(w.db, list).await?;
    let model = ucap::Model {
        id: 0,
        pairing_id: pairing.id,
        status,
        sources: "[]".to_owned(),
        version: 1,
        updated_at: super::now(),
    };
    let saved = super::create_row(w.db, w.actor, model).await?;
    replace_sections(w.db, saved.id, &sections).await?;
    let snapshot = sections_snapshot(w.db, saved.id).await?;
    super::audit_create(w.db, w.actor, &saved, Some(snapshot)).await?;
    Ok(saved)
}

/// Changes a UCAP's status or replaces its sections.
pub async fn update_ucap(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: i32,
    status: Option<UcapStatus>,
    list: Option<&[Section]>,
) -> Result<ucap::Model, AppError> {
    let before = ucap_for_write(w, id).await?;
    super::lock(w.db, &before, version).await?;
    let sections_before = sections_snapshot(w.db, id).await?;
    let mut after = before.clone();
    if let Some(status) = status {
        after.status = status;
    }
    if let Some(list) = list {
        let list = sections(w.db, list).await?;
        replace_sections(w.db, id, &list).await?;
    }
    let sections_after = sections_snapshot(w.db, id).await?;
    super::update(
        w.db,
        w.actor,
        &before,
        version,
        after,
        Some(sections_before),
        Some(sections_after),
    )
    .await
}

/// Deletes a UCAP with its sections, projects and the involvements in them.
pub async fn delete_ucap(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: Option<i32>,
) -> Result<Vec<Removal>, AppError> {
    let ucap = ucap_for_write(w, id).await?;
    let projects = Query::select()
        .column(project::Column::Id)
        .from(project::Entity)
        .and_where(project::Column::UcapId.eq(id))
        .to_owned();
    let removed = dependents::count(
        w.db,
        vec![
            Dependent::of::<ucap_section::Entity>(
                "UcapSection",
                ucap_section::Column::UcapId.eq(id),
            ),
            Dependent::of::<project::Entity>("Project", project::Column::UcapId.eq(id)),
            Dependent::of::<involvement::Entity>(
                "Involvement",
                Condition::any()
                    .add(involvement::Column::UcapId.eq(id))
                    .add(involvement::Column::ProjectId.in_subquery(projects)),
            ),
        ],
    )
    .await?;
    let snapshot = sections_snapshot(w.db, id).await?;
    super::delete(w.db, w.actor, &ucap, version, Some(snapshot)).await?;
    Ok(removed)
}

/// `BAD_USER_INPUT` on `input.city` or `input.region` when it does not exist.
async fn check_place(
    db: &impl ConnectionTrait,
    city: Option<i32>,
    region: Option<i32>,
) -> Result<(), AppError> {
    if let Some(id) = city
        && entity::city::Entity::find_by_id(id)
            .one(db)
            .await?
            .is_none()
    {
        return Err(AppError::invalid("input.city", "no such city"));
    }
    if let Some(id) = region
        && entity::region::Entity::find_by_id(id)
            .one(db)
            .await?
            .is_none()
    {
        return Err(AppError::invalid("input.region", "no such region"));
    }
    Ok(())
}

/// Adds a project to a UCAP.
pub async fn create_project(
    w: &Writer<'_, impl ConnectionTrait>,
    new: NewProject,
) -> Result<project::Model, AppError> {
    let ucap = ucap_for_write(w, new.ucap_id).await?;
    super::require_unique_slug::<project::Entity>(w.db, "input.slug", &new.slug, None).await?;
    check_place(w.db, new.city_id, new.region_id).await?;
    let position = match new.position {
        Some(p) => p,
        None => {
            project::Entity::find()
                .filter(project::Column::UcapId.eq(ucap.id))
                .count(w.db)
                .await? as i32
        }
    };
    let model = project::Model {
        id: 0,
        slug: new.slug,
        ucap_id: ucap.id,
        kind: new.kind,
        title: new.title,
        description: new.description,
        city_id: new.city_id,
        region_id: new.region_id,
        position,
        sources: "[]".to_owned(),
        version: 1,
        updated_at: super::now(),
    };
    super::insert(w.db, w.actor, model, None).await
}

/// The project a write names, after checking the caller may change its UCAP's pairing.
async fn project_for_write(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
) -> Result<project::Model, AppError> {
    let project: project::Model =
        find_for_write::<project::Entity>(w.db, w.principal, NodeType::Project, id).await?;
    let ucap = ucap::Entity::find_by_id(project.ucap_id)
        .one(w.db)
        .await?
        .ok_or_else(|| AppError::Internal("a project without its UCAP".into()))?;
    require_pairing(w, ucap.pairing_id).await?;
    Ok(project)
}

/// Changes a project.
pub async fn update_project(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: i32,
    changes: ProjectChanges,
) -> Result<project::Model, AppError> {
    let before = project_for_write(w, id).await?;
    let mut after = before.clone();
    if let Some(slug) = changes.slug {
        super::require_unique_slug::<project::Entity>(w.db, "input.slug", &slug, Some(id)).await?;
        after.slug = slug;
    }
    if let Some(kind) = changes.kind {
        after.kind = kind;
    }
    if let Some(title) = changes.title {
        after.title = title;
    }
    patch(&mut after.description, changes.description);
    patch(&mut after.city_id, changes.city_id);
    patch(&mut after.region_id, changes.region_id);
    check_place(w.db, after.city_id, after.region_id).await?;
    if let Some(position) = changes.position {
        after.position = position;
    }
    super::update(w.db, w.actor, &before, version, after, None, None).await
}

/// Deletes a project and the involvements in it; returns what went with it.
pub async fn delete_project(
    w: &Writer<'_, impl ConnectionTrait>,
    id: i32,
    version: Option<i32>,
) -> Result<Vec<Removal>, AppError> {
    let project = project_for_write(w, id).await?;
    let removed = dependents::count(
        w.db,
        vec![Dependent::of::<involvement::Entity>(
            "Involvement",
            involvement::Column::ProjectId.eq(id),
        )],
    )
    .await?;
    super::delete(w.db, w.actor, &project, version, None).await?;
    Ok(removed)
}
