use std::sync::Arc;

use async_graphql::{Context, ID, Object};
use entity::{activity, activity_stakeholder};

use super::*;
use crate::error::Result;
use crate::id::{NodeType, encode};
use crate::partial_date;

pub struct Activity(pub Arc<activity::Model>);

/// A dated event on the programme's timeline: a mission, a workshop, an agreement signed.
#[Object]
impl Activity {
    /// Global ID (opaque).
    pub(crate) async fn id(&self) -> ID {
        encode(NodeType::Activity, self.0.id)
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
    /// When it happened, to the precision the sources give.
    async fn date(&self) -> PartialDate {
        PartialDate(partial_date::PartialDate::new(
            self.0.date,
            self.0.date_precision,
        ))
    }
    /// What kind of event it was.
    async fn kind(&self) -> ActivityKind {
        self.0.kind.into()
    }
    /// Title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// What happened, from the sources.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// Where it took place, as the sources print it (e.g. "Zhengzhou", "online").
    async fn place(&self) -> Option<&str> {
        self.0.place.as_deref()
    }
    /// Whether it took place or was announced as to come, as its source tells it.
    async fn status(&self) -> ActivityStatus {
        self.0.status.into()
    }
    /// The city it took place in, when that city is in the dataset.
    async fn city(&self, ctx: &Context<'_>) -> Result<Option<City>> {
        let Some(id) = self.0.city_id else {
            return Ok(None);
        };
        Ok(load_one(&loaders(ctx)?.city, id).await?.map(City))
    }
    /// Editorial notes, e.g. how an approximate date was inferred.
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The pairings whose timeline the activity belongs to (none for a programme-wide event).
    async fn pairings(&self, ctx: &Context<'_>) -> Result<Vec<Pairing>> {
        let loaders = loaders(ctx)?;
        let links = load_children(&loaders.pairings_by_activity, self.0.id).await?;
        let rows = load_ordered(
            &loaders.pairing,
            links.iter().map(|l| l.pairing_id).collect(),
        )
        .await?;
        Ok(rows.into_iter().map(Pairing).collect())
    }
    /// The organisations that took part, each with its role.
    async fn stakeholders(&self, ctx: &Context<'_>) -> Result<Vec<ActivityParticipation>> {
        let rows = load_children(&loaders(ctx)?.stakeholders_by_activity, self.0.id).await?;
        Ok(rows.into_iter().map(ActivityParticipation).collect())
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

pub struct ActivityParticipation(pub Arc<activity_stakeholder::Model>);

/// An organisation's part in an activity.
#[Object]
impl ActivityParticipation {
    /// The role it played, e.g. "signed the MoU".
    async fn role(&self) -> Option<&str> {
        self.0.role.as_deref()
    }
    /// The organisation.
    async fn stakeholder(&self, ctx: &Context<'_>) -> Result<Stakeholder> {
        let row = load_one(&loaders(ctx)?.stakeholder, self.0.stakeholder_id).await?;
        Ok(Stakeholder(required(row, "stakeholder")?))
    }
    /// The activity.
    async fn activity(&self, ctx: &Context<'_>) -> Result<Activity> {
        let row = load_one(&loaders(ctx)?.activity, self.0.activity_id).await?;
        Ok(Activity(required(row, "activity")?))
    }
}
