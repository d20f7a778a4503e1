use async_graphql::{Context, Object};

use super::{db, top_page};
use crate::error::Result;
use crate::graphql::input::{CountryFilter, CountryOrder, PlaceFilter, PlaceOrder};
use crate::graphql::object::{
    City, CityConnection, Country, CountryConnection, Region, RegionConnection, Total, page_args,
};
use crate::service::{catalog, search};

/// Cities, regions and countries.
#[derive(Default)]
pub struct PlaceQuery;

#[Object]
impl PlaceQuery {
    /// Cities (also districts, metropolitan areas, consortia), filtered and sorted, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn cities(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which cities (all when omitted).")] filter: Option<PlaceFilter>,
        #[graphql(desc = "Sort order (default: name, ascending).")] order_by: Option<PlaceOrder>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<CityConnection> {
        let args = page_args(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let order = order_by.unwrap_or_default();
        let (source, ordering) =
            search::cities(&filter, order.field.into(), order.direction.into());
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(CityConnection::new(page, Total::Top(source)))
    }
    /// The city with this slug (e.g. `rome`), or null.
    async fn city(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The city's slug.")] slug: String,
    ) -> Result<Option<City>> {
        Ok(catalog::city_by_slug(db(ctx)?, &slug)
            .await?
            .map(|row| City(row.into())))
    }
    /// Regions, filtered and sorted, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn regions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which regions (all when omitted; `kind` does not apply).")]
        filter: Option<PlaceFilter>,
        #[graphql(desc = "Sort order (default: name, ascending).")] order_by: Option<PlaceOrder>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<RegionConnection> {
        let args = page_args(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let order = order_by.unwrap_or_default();
        let (source, ordering) =
            search::regions(&filter, order.field.into(), order.direction.into());
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(RegionConnection::new(page, Total::Top(source)))
    }
    /// The region with this slug, or null.
    async fn region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region's slug.")] slug: String,
    ) -> Result<Option<Region>> {
        Ok(catalog::region_by_slug(db(ctx)?, &slug)
            .await?
            .map(|row| Region(row.into())))
    }
    /// Countries involved in the programme, a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn countries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which countries (all when omitted).")] filter: Option<CountryFilter>,
        #[graphql(desc = "Sort order (default: name, ascending).")] order_by: Option<CountryOrder>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<CountryConnection> {
        let args = page_args(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let order = order_by.unwrap_or_default();
        let (source, ordering) =
            search::countries(&filter, order.field.into(), order.direction.into());
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(CountryConnection::new(page, Total::Top(source)))
    }
    /// The country with this ISO 3166-1 alpha-2 code (e.g. `IT`), or null.
    async fn country(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO 3166-1 alpha-2 code, e.g. `IT`.")] code: String,
    ) -> Result<Option<Country>> {
        Ok(catalog::country_by_code(db(ctx)?, &code)
            .await?
            .map(|row| Country(row.into())))
    }
}
