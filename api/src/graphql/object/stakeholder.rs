use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use entity::{involvement, stakeholder};

use super::*;
use crate::error::Result;
use crate::id::{NodeType, encode};
use crate::service::relations::*;

pub struct Stakeholder(pub Arc<stakeholder::Model>);

/// An organisation of the quadruple helix (academia, business, civil society, government)
/// involved in pairings, UCAPs, projects and activities.
#[Object]
impl Stakeholder {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Stakeholder, self.0.id)
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
    /// Name as the sources spell it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Quadruple-helix category.
    async fn helix(&self) -> Helix {
        self.0.helix.into()
    }
    /// The city the organisation is located in, where known.
    async fn city(&self, ctx: &Context<'_>) -> Result<Option<City>> {
        let Some(id) = self.0.city_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.city, id).await?.map(City))
    }
    /// The organisation's country: its city's, or the one recorded when no city is.
    async fn country(&self, ctx: &Context<'_>) -> Result<Option<Country>> {
        let loaders = loaders(ctx)?;
        let country_id = match (self.0.country_id, self.0.city_id) {
            (Some(id), _) => Some(id),
            (None, Some(city_id)) => load_one(&loaders.city, city_id)
                .await?
                .map(|c| c.country_id),
            (None, None) => None,
        };
        let Some(id) = country_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders.country, id).await?.map(Country))
    }
    /// What the organisation is.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Editorial notes, e.g. judgement calls on the helix category.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The organisation's involvements in pairings, UCAPs and projects, each with its role.
    async fn involvements(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<InvolvementConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &STAKEHOLDER_INVOLVEMENTS, self.0.id, args).await
    }
    /// Activities the organisation took part in, in date order.
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ActivityConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &STAKEHOLDER_ACTIVITIES, self.0.id, args).await
    }
    /// The pairings the organisation is involved in (directly, or through their UCAP or projects), by title.
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<PairingConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &STAKEHOLDER_PAIRINGS, self.0.id, args).await
    }
    /// The projects the organisation is involved in, by title.
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ProjectConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &STAKEHOLDER_PROJECTS, self.0.id, args).await
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

pub struct Involvement(pub Arc<involvement::Model>);

/// A stakeholder's involvement, with a role, in a pairing, a UCAP or a project (exactly one).
#[Object]
impl Involvement {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Involvement, self.0.id)
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
    /// The role the organisation plays, e.g. "signed the MoU".
    async fn role(&self) -> Option<&str> {
        self.0.role.as_deref()
    }
    /// The organisation.
    async fn stakeholder(&self, ctx: &Context<'_>) -> Result<Stakeholder> {
        let row = load_one(&loaders(ctx)?.stakeholder, self.0.stakeholder_id).await?;
        Ok(Stakeholder(super::required(row, "stakeholder")?))
    }
    /// The pairing, when the involvement is in a pairing.
    async fn pairing(&self, ctx: &Context<'_>) -> Result<Option<Pairing>> {
        let Some(id) = self.0.pairing_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.pairing, id).await?.map(Pairing))
    }
    /// The UCAP, when the involvement is in a UCAP.
    async fn ucap(&self, ctx: &Context<'_>) -> Result<Option<Ucap>> {
        let Some(id) = self.0.ucap_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.ucap, id).await?.map(Ucap))
    }
    /// The project, when the involvement is in a project.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let Some(id) = self.0.project_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.project, id).await?.map(Project))
    }
}
