//! UCAPs and projects: their inputs and payloads; the rules are in `service::write::ucap`.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, SimpleObject};

use super::*;
use crate::graphql::object::{Project, ProjectKind, Ucap, UcapStatus};
use crate::service::write::ucap::{self, NewProject, ProjectChanges, Section};

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

fn sections(inputs: &[UcapSectionInput]) -> Vec<Section> {
    inputs
        .iter()
        .map(|s| Section {
            section_type: s.section_type.clone(),
            body: s.body.clone(),
        })
        .collect()
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
        let list = sections(&input.sections);
        let saved = ucap::create_ucap(&w.writer(), pairing_id, input.status.into(), &list).await?;
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
        let id = input_id(&input.id, NodeType::Ucap, "input.id")?;
        let list = input.sections.as_deref().map(sections);
        let status = input.status.map(Into::into);
        let saved =
            ucap::update_ucap(&w.writer(), id, input.version, status, list.as_deref()).await?;
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
        let id = input_id(&input.id, NodeType::Ucap, "input.id")?;
        let removed = ucap::delete_ucap(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::Ucap, id, removed))
    }

    /// Adds a project to a UCAP.
    async fn create_project(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new project.")] input: CreateProjectInput,
    ) -> Result<ProjectPayload> {
        let w = begin(ctx).await?;
        let new = NewProject {
            ucap_id: input_id(&input.ucap, NodeType::Ucap, "input.ucap")?,
            city_id: optional_id(input.city.as_ref(), NodeType::City, "input.city")?,
            region_id: optional_id(input.region.as_ref(), NodeType::Region, "input.region")?,
            slug: input.slug,
            kind: input.kind.into(),
            title: input.title,
            description: input.description,
            position: input.position,
        };
        let saved = ucap::create_project(&w.writer(), new).await?;
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
        let id = input_id(&input.id, NodeType::Project, "input.id")?;
        let changes = ProjectChanges {
            city_id: id_change(input.city, NodeType::City, "input.city")?,
            region_id: id_change(input.region, NodeType::Region, "input.region")?,
            slug: input.slug,
            kind: input.kind.map(Into::into),
            title: input.title,
            description: input.description.into(),
            position: input.position,
        };
        let saved = ucap::update_project(&w.writer(), id, input.version, changes).await?;
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
        let id = input_id(&input.id, NodeType::Project, "input.id")?;
        let removed = ucap::delete_project(&w.writer(), id, input.version).await?;
        w.commit().await?;
        Ok(DeletePayload::new(NodeType::Project, id, removed))
    }
}
