use async_graphql::{Context, ID, Object};
use entity::{sdg, theme};

use super::{Pairing, ThemeScheme, load_children, load_ordered, loaders};
use crate::error::Result;
use crate::graphql::id::{NodeType, encode};

pub struct Theme(pub theme::Model);

/// A theme pairings work on, in one of three schemes: the programme's six thematic streams,
/// the EU Urban Agenda's partnership topics, and the topic labels of the pairing pages.
#[Object]
impl Theme {
    /// Global ID (opaque).
    async fn id(&self) -> ID {
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
    /// The pairings working on this theme.
    async fn pairings(&self, ctx: &Context<'_>) -> Result<Vec<Pairing>> {
        let loaders = loaders(ctx)?;
        let links = load_children(&loaders.pairings_by_theme, self.0.id).await?;
        let rows = load_ordered(
            &loaders.pairing,
            links.iter().map(|l| l.pairing_id).collect(),
        )
        .await?;
        Ok(rows.into_iter().map(Pairing).collect())
    }
}

pub struct Sdg(pub sdg::Model);

/// One of the 17 UN Sustainable Development Goals.
#[Object]
impl Sdg {
    /// Global ID (opaque).
    async fn id(&self) -> ID {
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
    /// The pairings contributing to this goal.
    async fn pairings(&self, ctx: &Context<'_>) -> Result<Vec<Pairing>> {
        let loaders = loaders(ctx)?;
        let links = load_children(&loaders.pairings_by_sdg, self.0.id).await?;
        let rows = load_ordered(
            &loaders.pairing,
            links.iter().map(|l| l.pairing_id).collect(),
        )
        .await?;
        Ok(rows.into_iter().map(Pairing).collect())
    }
}
