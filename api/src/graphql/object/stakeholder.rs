use async_graphql::{Context, ID, Object};
use entity::{involvement, stakeholder};

use super::{
    Activity, City, Country, Helix, Pairing, Project, Ucap, load_children, load_one, load_ordered,
    loaders, sources,
};
use crate::error::Result;
use crate::graphql::id::{NodeType, encode};

pub struct Stakeholder(pub stakeholder::Model);

/// An organisation of the quadruple helix (academia, business, civil society, government)
/// involved in pairings, UCAPs, projects and activities.
#[Object]
impl Stakeholder {
    /// Global ID (opaque).
    async fn id(&self) -> ID {
        encode(NodeType::Stakeholder, self.0.id)
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
    /// The source documents this record was taken from.
    async fn sources(&self) -> Vec<String> {
        sources(&self.0.sources)
    }
    /// Editorial notes, e.g. judgement calls on the helix category.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The organisation's involvements in pairings, UCAPs and projects, each with its role.
    async fn involvements(&self, ctx: &Context<'_>) -> Result<Vec<Involvement>> {
        let rows = load_children(&loaders(ctx)?.involvements_by_stakeholder, self.0.id).await?;
        Ok(rows.into_iter().map(Involvement).collect())
    }
    /// Activities the organisation took part in, in date order.
    async fn activities(&self, ctx: &Context<'_>) -> Result<Vec<Activity>> {
        let loaders = loaders(ctx)?;
        let links = load_children(&loaders.activities_by_stakeholder, self.0.id).await?;
        let mut rows = load_ordered(
            &loaders.activity,
            links.iter().map(|l| l.activity_id).collect(),
        )
        .await?;
        rows.sort_by_key(|a| (a.date, a.id));
        Ok(rows.into_iter().map(Activity).collect())
    }
}

pub struct Involvement(pub involvement::Model);

/// A stakeholder's involvement, with a role, in a pairing, a UCAP or a project (exactly one).
#[Object]
impl Involvement {
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
