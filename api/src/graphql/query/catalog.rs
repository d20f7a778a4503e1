use async_graphql::{Context, Object};

use super::{db, top_page};
use crate::error::Result;
use crate::graphql::input::{ActivityFilter, OrderDirection, StakeholderFilter, ThemeOrder};
use crate::graphql::object::*;
use crate::service::{catalog, search};

/// Themes, SDGs, reference lists, stakeholders and activities.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Themes, of every scheme or of one, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn themes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only themes of this scheme.")] scheme: Option<ThemeScheme>,
        #[graphql(desc = "Sort order (default: name, ascending).")] order_by: Option<ThemeOrder>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ThemeConnection> {
        let args = page_args(first, after, last, before)?;
        let order = order_by.unwrap_or_default();
        let (source, ordering) = search::themes(
            scheme.map(Into::into),
            order.field.into(),
            order.direction.into(),
        );
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(ThemeConnection::new(page, Total::Top(source)))
    }
    /// The theme with this slug (e.g. `stream-mobility-and-transport`), or null.
    async fn theme(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The theme's slug.")] slug: String,
    ) -> Result<Option<Theme>> {
        Ok(catalog::theme_by_slug(db(ctx)?, &slug)
            .await?
            .map(|row| Theme(row.into())))
    }
    /// The 17 Sustainable Development Goals, by number.
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        Ok(catalog::all_sdgs(db(ctx)?)
            .await?
            .into_iter()
            .map(|row| Sdg(row.into()))
            .collect())
    }
    /// The SDG with this number (1 to 17), or null.
    async fn sdg(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The goal's number, 1 to 17.")] number: i32,
    ) -> Result<Option<Sdg>> {
        Ok(catalog::sdg_by_number(db(ctx)?, number)
            .await?
            .map(|row| Sdg(row.into())))
    }
    /// The programme's regional components (a short, fixed list).
    async fn programme_regions(&self, ctx: &Context<'_>) -> Result<Vec<ProgrammeRegion>> {
        Ok(catalog::all_programme_regions(db(ctx)?)
            .await?
            .into_iter()
            .map(|row| ProgrammeRegion(row.into()))
            .collect())
    }
    /// The sections of an Urban Cooperation Action Plan, in order (a short, fixed list).
    async fn ucap_section_types(&self, ctx: &Context<'_>) -> Result<Vec<UcapSectionType>> {
        Ok(catalog::all_section_types(db(ctx)?)
            .await?
            .into_iter()
            .map(|row| UcapSectionType(row.into()))
            .collect())
    }
    /// Stakeholder organisations, filtered, by name, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn stakeholders(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which organisations (all when omitted).")] filter: Option<
            StakeholderFilter,
        >,
        #[graphql(desc = "Name order (default: ascending).")] direction: Option<OrderDirection>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<StakeholderConnection> {
        let args = page_args(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let (source, ordering) =
            search::stakeholders(&filter, direction.unwrap_or_default().into());
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(StakeholderConnection::new(page, Total::Top(source)))
    }
    /// The stakeholder with this slug, or null.
    async fn stakeholder(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The stakeholder's slug.")] slug: String,
    ) -> Result<Option<Stakeholder>> {
        Ok(catalog::stakeholder_by_slug(db(ctx)?, &slug)
            .await?
            .map(|row| Stakeholder(row.into())))
    }
    /// Activities, filtered, in date order, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn activities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which activities (all when omitted).")] filter: Option<ActivityFilter>,
        #[graphql(desc = "Date order (default: oldest first).")] direction: Option<OrderDirection>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<ActivityConnection> {
        let args = page_args(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let (source, ordering) = search::activities(&filter, direction.unwrap_or_default().into());
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(ActivityConnection::new(page, Total::Top(source)))
    }
    /// The activity with this slug, or null.
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The activity's slug.")] slug: String,
    ) -> Result<Option<Activity>> {
        Ok(catalog::activity_by_slug(db(ctx)?, &slug)
            .await?
            .map(|row| Activity(row.into())))
    }
}
