use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use entity::{sdg, theme};

use super::*;
use crate::error::Result;
use crate::id::{NodeType, encode};
use crate::service::relations::*;

pub struct Theme(pub Arc<theme::Model>);

/// A theme pairings work on, in one of three schemes: the programme's six thematic streams,
/// the EU Urban Agenda's partnership topics, and the topic labels of the pairing pages.
// Fields one after another: see "Serial objects" in object/mod.rs.
#[Object(serial)]
impl Theme {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Theme, self.0.id)
    }
    /// Stable key, prefixed by scheme: `stream-…`, `ua-…`, `topic-…`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }
    /// The scheme the theme belongs to.
    async fn scheme(&self) -> ThemeScheme {
        self.0.scheme.into()
    }
    /// Name as the sources spell it.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// What the theme covers.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The pairings working on this theme, by title.
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<PairingConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &THEME_PAIRINGS, self.0.id, args).await
    }
    /// The cities in pairings working on this theme, by name.
    async fn cities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<CityConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &THEME_CITIES, self.0.id, args).await
    }
    /// The regions in pairings working on this theme, by name.
    async fn regions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<RegionConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &THEME_REGIONS, self.0.id, args).await
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

pub struct Sdg(pub Arc<sdg::Model>);

/// One of the 17 UN Sustainable Development Goals.
// Fields one after another: see "Serial objects" in object/mod.rs.
#[Object(serial)]
impl Sdg {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Sdg, self.0.id)
    }
    /// The goal's number, 1 to 17.
    async fn number(&self) -> i32 {
        self.0.number
    }
    /// The goal's official short name, e.g. "Sustainable cities and communities".
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The pairings contributing to this goal, by title.
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<PairingConnection> {
        let args = page_args(first, after, last, before)?;
        nested(ctx, &SDG_PAIRINGS, self.0.id, args).await
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
