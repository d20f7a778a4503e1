use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use entity::{project, ucap, ucap_section, ucap_section_type};

use super::*;
use crate::error::Result;
use crate::id::{NodeType, encode};
use crate::service::relations::*;

pub struct Ucap(pub Arc<ucap::Model>);

/// An Urban Cooperation Action Plan: what a pairing (or cluster) plans to do together, in
/// sections, with its key cooperation and pilot projects.
#[Object]
impl Ucap {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Ucap, self.0.id)
    }
    /// The record's version: name it in an update, which fails with `CONFLICT` when someone
    /// else has changed the record since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record last changed: set by the server in the transaction that wrote it, on
    /// its creation, on every update, and on every change to the rows it owns (a pairing's
    /// participants, themes and SDGs, a UCAP's sections, an activity's links), like `version`.
    /// It tells a reader that a record changed since a time; to follow changes exactly, use
    /// the change feed.
    async fn updated_at(&self) -> crate::graphql::scalar::DateTime {
        self.0.updated_at.into()
    }
    /// Where the plan stands.
    async fn status(&self) -> UcapStatus {
        self.0.status.into()
    }
    /// The pairing the plan belongs to.
    async fn pairing(&self, ctx: &Context<'_>) -> Result<Pairing> {
        let row = load_one(&loaders(ctx)?.pairing, self.0.pairing_id).await?;
        Ok(Pairing(required(row, "pairing")?))
    }
    /// The plan's sections that have text, in the plan's order.
    async fn sections(&self, ctx: &Context<'_>) -> Result<Vec<UcapSection>> {
        // Each section comes with its type, in the types' order (one statement for the page).
        let rows = loaders(ctx)?.sections_by_ucap.load_one(self.0.id).await?;
        Ok(rows
            .unwrap_or_default()
            .iter()
            .map(|(section, section_type)| UcapSection {
                section: section.clone(),
                section_type: section_type.clone(),
            })
            .collect())
    }
    /// The plan's key cooperation and pilot projects, in the plan's order.
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ProjectConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &UCAP_PROJECTS, self.0.id, args).await
    }
    /// Stakeholders involved in the plan itself, each with its role.
    async fn stakeholders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<InvolvementConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &UCAP_INVOLVEMENTS, self.0.id, args).await
    }
    /// Where this record and its fields come from: the documents, the quotes as printed, and
    /// the basis of each fact (stated, derived by a rule, reference data, editorial, or a
    /// partner's write).
    async fn sources(
        &self,
        #[graphql(
            desc = "Only sources of these bases (e.g. `[STATED]` for what the documents state)."
        )]
        basis: Option<Vec<SourceBasis>>,
        #[graphql(
            desc = "Only the sources of this field (its GraphQL name), or the record's own where the field has none."
        )]
        field: Option<String>,
    ) -> Vec<Source> {
        sources_of(&self.0.sources, basis, field)
    }
}

pub struct UcapSectionType(pub Arc<ucap_section_type::Model>);

/// A kind of UCAP section, in the plan's order: the cities' contexts, areas of cooperation
/// and objectives, transfer measures, actions in each city, key learnings, commitments.
#[Object]
impl UcapSectionType {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::UcapSectionType, self.0.id)
    }
    /// Stable key, e.g. `areas-of-cooperation`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Heading, e.g. "Areas of cooperation and objectives".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Place in the plan, from 1.
    async fn position(&self) -> i32 {
        self.0.position
    }
    /// Where this record and its fields come from: the documents, the quotes as printed, and
    /// the basis of each fact (stated, derived by a rule, reference data, editorial, or a
    /// partner's write).
    async fn sources(
        &self,
        #[graphql(
            desc = "Only sources of these bases (e.g. `[STATED]` for what the documents state)."
        )]
        basis: Option<Vec<SourceBasis>>,
        #[graphql(
            desc = "Only the sources of this field (its GraphQL name), or the record's own where the field has none."
        )]
        field: Option<String>,
    ) -> Vec<Source> {
        sources_of(&self.0.sources, basis, field)
    }
}

/// The text of one section of a UCAP.
pub struct UcapSection {
    section: Arc<ucap_section::Model>,
    section_type: Arc<ucap_section_type::Model>,
}

/// The text of one section of a UCAP.
#[Object]
impl UcapSection {
    /// Which section this is.
    async fn section_type(&self) -> UcapSectionType {
        UcapSectionType(self.section_type.clone())
    }
    /// The section's text.
    async fn body(&self) -> &str {
        &self.section.body
    }
}

pub struct Project(pub Arc<project::Model>);

/// A key cooperation project or pilot project of a UCAP.
#[Object]
impl Project {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Project, self.0.id)
    }
    /// The record's version: name it in an update, which fails with `CONFLICT` when someone
    /// else has changed the record since.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the record last changed: set by the server in the transaction that wrote it, on
    /// its creation, on every update, and on every change to the rows it owns (a pairing's
    /// participants, themes and SDGs, a UCAP's sections, an activity's links), like `version`.
    /// It tells a reader that a record changed since a time; to follow changes exactly, use
    /// the change feed.
    async fn updated_at(&self) -> crate::graphql::scalar::DateTime {
        self.0.updated_at.into()
    }
    /// Stable key.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// Key cooperation project or pilot project.
    async fn kind(&self) -> ProjectKind {
        self.0.kind.into()
    }
    /// Title, as the sources give it.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// Description.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The city that runs the project, if one does.
    async fn city(&self, ctx: &Context<'_>) -> Result<Option<City>> {
        let Some(id) = self.0.city_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.city, id).await?.map(City))
    }
    /// The region that runs the project, if one does.
    async fn region(&self, ctx: &Context<'_>) -> Result<Option<Region>> {
        let Some(id) = self.0.region_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.region, id).await?.map(Region))
    }
    /// The UCAP the project belongs to.
    async fn ucap(&self, ctx: &Context<'_>) -> Result<Ucap> {
        let row = load_one(&loaders(ctx)?.ucap, self.0.ucap_id).await?;
        Ok(Ucap(required(row, "UCAP")?))
    }
    /// Stakeholders involved in the project, each with its role.
    async fn stakeholders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<InvolvementConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &PROJECT_INVOLVEMENTS, self.0.id, args).await
    }
    /// Where this record and its fields come from: the documents, the quotes as printed, and
    /// the basis of each fact (stated, derived by a rule, reference data, editorial, or a
    /// partner's write).
    async fn sources(
        &self,
        #[graphql(
            desc = "Only sources of these bases (e.g. `[STATED]` for what the documents state)."
        )]
        basis: Option<Vec<SourceBasis>>,
        #[graphql(
            desc = "Only the sources of this field (its GraphQL name), or the record's own where the field has none."
        )]
        field: Option<String>,
    ) -> Vec<Source> {
        sources_of(&self.0.sources, basis, field)
    }
}
