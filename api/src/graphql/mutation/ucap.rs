//! UCAPs with their sections, and their projects: written by administrators and by the
//! partners of the UCAP's pairing.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};
use entity::{project, ucap, ucap_section, ucap_section_type};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
};
use serde_json::{Map, Value as Json, json};

use super::place::{DeleteInput, patch};
use super::*;
use crate::graphql::object::{Project, ProjectKind, Ucap, UcapStatus};
use crate::id::encode;
use crate::service::{access, write};

/// One section of a UCAP.
#[derive(InputObject)]
pub struct UcapSectionInput {
    /// Slug of the section type, e.g. `context`.
    pub section_type: String,
    /// The section's text.
    pub body: String,
}

/// A new UCAP for a pairing that has none.
#[derive(InputObject)]
pub struct CreateUcapInput {
    /// The pairing's global ID.
    pub pairing: ID,
    /// Where the plan stands.
    pub status: UcapStatus,
    /// Its sections, in order (at most one per section type).
    #[graphql(default)]
    pub sections: Vec<UcapSectionInput>,
}

/// Changes to a UCAP: fields left out stay as they are; `sections` replaces the sections.
#[derive(InputObject)]
pub struct UpdateUcapInput {
    /// The UCAP's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New status.
    pub status: Option<UcapStatus>,
    /// Replaces the sections.
    pub sections: Option<Vec<UcapSectionInput>>,
}

/// A new project of a UCAP.
#[derive(InputObject)]
pub struct CreateProjectInput {
    /// The UCAP's global ID.
    pub ucap: ID,
    /// URL-safe key, unique among projects.
    pub slug: String,
    /// Key cooperation project or pilot project.
    pub kind: ProjectKind,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// The city where it takes place (or give a region, or neither).
    pub city: Option<ID>,
    /// The region where it takes place.
    pub region: Option<ID>,
    /// Position in the UCAP's list (default: last).
    pub position: Option<i32>,
}

/// Changes to a project: fields left out stay as they are; `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateProjectInput {
    /// The project's global ID.
    pub id: ID,
    /// The version you read; a stale one gets `CONFLICT`.
    pub version: i32,
    /// New slug.
    pub slug: Option<String>,
    /// New kind.
    pub kind: Option<ProjectKind>,
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: MaybeUndefined<String>,
    /// New city; `null` clears it.
    pub city: MaybeUndefined<ID>,
    /// New region; `null` clears it.
    pub region: MaybeUndefined<ID>,
    /// New position.
    pub position: Option<i32>,
}

/// The UCAP created or changed.
#[derive(SimpleObject)]
pub struct UcapPayload {
    /// The UCAP as it is now.
    pub ucap: Ucap,
}

/// The project created or changed.
#[derive(SimpleObject)]
pub struct ProjectPayload {
    /// The project as it is now.
    pub project: Project,
}

/// Section inputs to (section type id, body), checked.
async fn sections(
    db: &impl ConnectionTrait,
    inputs: &[UcapSectionInput],
) -> Result<Vec<(i32, String)>> {
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

async fn sections_snapshot(db: &impl ConnectionTrait, ucap_id: i32) -> Result<Map<String, Json>> {
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

/// Replaces a UCAP's sections.
async fn replace_sections(
    db: &impl ConnectionTrait,
    ucap_id: i32,
    sections: &[(i32, String)],
) -> Result<()> {
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

/// The UCAP an input names, after checking the caller may change its pairing.
async fn ucap_for_write(w: &Write, id: &ID, field: &str) -> Result<ucap::Model> {
    let ucap: ucap::Model = find_for_write::<ucap::Entity>(w, id, NodeType::Ucap, field).await?;
    if !access::may_edit_pairing(&w.txn, w.principal(), ucap.pairing_id).await? {
        return Err(AppError::Forbidden);
    }
    Ok(ucap)
}

fn place_ids(city: Option<&ID>, region: Option<&ID>) -> Result<(Option<i32>, Option<i32>)> {
    let city = city
        .map(|id| input_id(id, NodeType::City, "input.city"))
        .transpose()?;
    let region = region
        .map(|id| input_id(id, NodeType::Region, "input.region"))
        .transpose()?;
    Ok((city, region))
}

async fn check_place(
    db: &impl ConnectionTrait,
    city: Option<i32>,
    region: Option<i32>,
) -> Result<()> {
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

#[derive(Default)]
pub struct UcapMutation;

/// UCAPs and projects.
#[Object]
impl UcapMutation {
    /// Creates the UCAP of a pairing that has none, with its sections.
    async fn create_ucap(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new UCAP.")] input: CreateUcapInput,
    ) -> Result<UcapPayload> {
        let w = begin(ctx).await?;
        let pairing_id = input_id(&input.pairing, NodeType::Pairing, "input.pairing")?;
        if !access::may_edit_pairing(&w.txn, w.principal(), pairing_id).await? {
            return Err(AppError::Forbidden);
        }
        let pairing: entity::pairing::Model = find_for_write::<entity::pairing::Entity>(
            &w,
            &input.pairing,
            NodeType::Pairing,
            "input.pairing",
        )
        .await?;
        if ucap::Entity::find()
            .filter(ucap::Column::PairingId.eq(pairing.id))
            .one(&w.txn)
            .await?
            .is_some()
        {
            return Err(AppError::invalid(
                "input.pairing",
                format!("pairing {} has a UCAP already: update it", pairing.slug),
            ));
        }
        let sections = sections(&w.txn, &input.sections).await?;
        let saved = write::insert_row(
            &w.txn,
            ucap::Model {
                id: 0,
                pairing_id: pairing.id,
                status: input.status.into(),
                version: 1,
            },
        )
        .await?;
        replace_sections(&w.txn, saved.id, &sections).await?;
        let snapshot = sections_snapshot(&w.txn, saved.id).await?;
        write::audit_create(&w.txn, &w.actor, &saved, Some(snapshot)).await?;
        w.commit().await?;
        Ok(UcapPayload {
            ucap: Ucap(saved.into()),
        })
    }

    /// Changes a UCAP's status or replaces its sections.
    async fn update_ucap(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdateUcapInput,
    ) -> Result<UcapPayload> {
        let w = begin(ctx).await?;
        let before = ucap_for_write(&w, &input.id, "input.id").await?;
        write::lock(&w.txn, &before, input.version).await?;
        let sections_before = sections_snapshot(&w.txn, before.id).await?;
        let mut after = before.clone();
        if let Some(status) = input.status {
            after.status = status.into();
        }
        if let Some(list) = &input.sections {
            let list = sections(&w.txn, list).await?;
            replace_sections(&w.txn, before.id, &list).await?;
        }
        let sections_after = sections_snapshot(&w.txn, before.id).await?;
        let saved = write::update(
            &w.txn,
            &w.actor,
            &before,
            input.version,
            after,
            Some(sections_before),
            Some(sections_after),
        )
        .await?;
        w.commit().await?;
        Ok(UcapPayload {
            ucap: Ucap(saved.into()),
        })
    }

    /// Deletes a UCAP with its sections, projects and the involvements in them.
    async fn delete_ucap(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The UCAP to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let ucap = ucap_for_write(&w, &input.id, "input.id").await?;
        let removed = count_dependents(
            &w.txn,
            ucap.id,
            &[
                ("UcapSection", "ucap_section WHERE ucap_id = ?"),
                ("Project", "project WHERE ucap_id = ?"),
                (
                    "Involvement",
                    "involvement i LEFT JOIN project p ON p.id = i.project_id \
                     WHERE ? IN (i.ucap_id, p.ucap_id)",
                ),
            ],
        )
        .await?;
        let snapshot = sections_snapshot(&w.txn, ucap.id).await?;
        write::delete(&w.txn, &w.actor, &ucap, input.version, Some(snapshot)).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::Ucap, ucap.id),
            removed,
        })
    }

    /// Adds a project to a UCAP.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new project.")] input: CreateProjectInput,
    ) -> Result<ProjectPayload> {
        let w = begin(ctx).await?;
        let ucap = ucap_for_write(&w, &input.ucap, "input.ucap").await?;
        write::require_unique_slug::<project::Entity>(&w.txn, "input.slug", &input.slug, None)
            .await?;
        let (city_id, region_id) = place_ids(input.city.as_ref(), input.region.as_ref())?;
        check_place(&w.txn, city_id, region_id).await?;
        let position = match input.position {
            Some(p) => p,
            None => project::Entity::find()
                .filter(project::Column::UcapId.eq(ucap.id))
                .all(&w.txn)
                .await?
                .len() as i32,
        };
        let saved = write::insert(
            &w.txn,
            &w.actor,
            project::Model {
                id: 0,
                slug: input.slug,
                ucap_id: ucap.id,
                kind: input.kind.into(),
                title: input.title,
                description: input.description,
                city_id,
                region_id,
                position,
                version: 1,
            },
            None,
        )
        .await?;
        w.commit().await?;
        Ok(ProjectPayload {
            project: Project(saved.into()),
        })
    }

    /// Changes a project.
    async fn update_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The changes, with the version you read.")] input: UpdateProjectInput,
    ) -> Result<ProjectPayload> {
        let w = begin(ctx).await?;
        let before: project::Model =
            find_for_write::<project::Entity>(&w, &input.id, NodeType::Project, "input.id").await?;
        let ucap = ucap::Entity::find_by_id(before.ucap_id)
            .one(&w.txn)
            .await?
            .ok_or_else(|| AppError::Internal("a project without its UCAP".into()))?;
        if !access::may_edit_pairing(&w.txn, w.principal(), ucap.pairing_id).await? {
            return Err(AppError::Forbidden);
        }
        let mut after = before.clone();
        if let Some(slug) = input.slug {
            write::require_unique_slug::<project::Entity>(
                &w.txn,
                "input.slug",
                &slug,
                Some(before.id),
            )
            .await?;
            after.slug = slug;
        }
        if let Some(kind) = input.kind {
            after.kind = kind.into();
        }
        if let Some(title) = input.title {
            after.title = title;
        }
        patch(&mut after.description, input.description);
        let city = match input.city {
            MaybeUndefined::Value(id) => {
                MaybeUndefined::Value(input_id(&id, NodeType::City, "input.city")?)
            }
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        let region = match input.region {
            MaybeUndefined::Value(id) => {
                MaybeUndefined::Value(input_id(&id, NodeType::Region, "input.region")?)
            }
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        patch(&mut after.city_id, city);
        patch(&mut after.region_id, region);
        check_place(&w.txn, after.city_id, after.region_id).await?;
        if let Some(position) = input.position {
            after.position = position;
        }
        let saved =
            write::update(&w.txn, &w.actor, &before, input.version, after, None, None).await?;
        w.commit().await?;
        Ok(ProjectPayload {
            project: Project(saved.into()),
        })
    }

    /// Deletes a project and the involvements in it.
    async fn delete_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The project to delete.")] input: DeleteInput,
    ) -> Result<DeletePayload> {
        let w = begin(ctx).await?;
        let project: project::Model =
            find_for_write::<project::Entity>(&w, &input.id, NodeType::Project, "input.id").await?;
        let ucap = ucap::Entity::find_by_id(project.ucap_id)
            .one(&w.txn)
            .await?
            .ok_or_else(|| AppError::Internal("a project without its UCAP".into()))?;
        if !access::may_edit_pairing(&w.txn, w.principal(), ucap.pairing_id).await? {
            return Err(AppError::Forbidden);
        }
        let removed = count_dependents(
            &w.txn,
            project.id,
            &[("Involvement", "involvement WHERE project_id = ?")],
        )
        .await?;
        write::delete(&w.txn, &w.actor, &project, input.version, None).await?;
        w.commit().await?;
        Ok(DeletePayload {
            deleted_id: encode(NodeType::Project, project.id),
            removed,
        })
    }
}
