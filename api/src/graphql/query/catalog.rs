use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use crate::error::{AppError, Result};
use crate::graphql::object::*;
use crate::service::catalog;

fn db<'a>(ctx: &Context<'a>) -> Result<&'a DatabaseConnection> {
    ctx.data::<DatabaseConnection>()
        .map_err(|_| AppError::Internal("no database in the schema".into()))
}

/// Lists and lookups of the programme's records.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Every pairing, by title.
    async fn pairings(&self, ctx: &Context<'_>) -> Result<Vec<Pairing>> {
        Ok(catalog::all_pairings(db(ctx)?)
            .await?
            .into_iter()
            .map(Pairing)
            .collect())
    }
    /// The pairing with this slug (e.g. `rome-yantai`), or null.
    async fn pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pairing's slug.")] slug: String,
    ) -> Result<Option<Pairing>> {
        Ok(catalog::pairing_by_slug(db(ctx)?, &slug)
            .await?
            .map(Pairing))
    }
    /// Every city, by name.
    async fn cities(&self, ctx: &Context<'_>) -> Result<Vec<City>> {
        Ok(catalog::all_cities(db(ctx)?)
            .await?
            .into_iter()
            .map(City)
            .collect())
    }
    /// The city with this slug (e.g. `rome`), or null.
    async fn city(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The city's slug.")] slug: String,
    ) -> Result<Option<City>> {
        Ok(catalog::city_by_slug(db(ctx)?, &slug).await?.map(City))
    }
    /// Every region, by name.
    async fn regions(&self, ctx: &Context<'_>) -> Result<Vec<Region>> {
        Ok(catalog::all_regions(db(ctx)?)
            .await?
            .into_iter()
            .map(Region)
            .collect())
    }
    /// The region with this slug, or null.
    async fn region(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The region's slug.")] slug: String,
    ) -> Result<Option<Region>> {
        Ok(catalog::region_by_slug(db(ctx)?, &slug).await?.map(Region))
    }
    /// Every country involved, by name.
    async fn countries(&self, ctx: &Context<'_>) -> Result<Vec<Country>> {
        Ok(catalog::all_countries(db(ctx)?)
            .await?
            .into_iter()
            .map(Country)
            .collect())
    }
    /// The country with this ISO 3166-1 alpha-2 code (e.g. `IT`), or null.
    async fn country(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "ISO 3166-1 alpha-2 code, e.g. `IT`.")] code: String,
    ) -> Result<Option<Country>> {
        Ok(catalog::country_by_code(db(ctx)?, &code)
            .await?
            .map(Country))
    }
    /// Every theme, or those of one scheme, by scheme and name.
    async fn themes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only themes of this scheme.")] scheme: Option<ThemeScheme>,
    ) -> Result<Vec<Theme>> {
        Ok(catalog::all_themes(db(ctx)?, scheme.map(Into::into))
            .await?
            .into_iter()
            .map(Theme)
            .collect())
    }
    /// The theme with this slug (e.g. `stream-mobility-transport`), or null.
    async fn theme(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The theme's slug.")] slug: String,
    ) -> Result<Option<Theme>> {
        Ok(catalog::theme_by_slug(db(ctx)?, &slug).await?.map(Theme))
    }
    /// The 17 Sustainable Development Goals, by number.
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        Ok(catalog::all_sdgs(db(ctx)?)
            .await?
            .into_iter()
            .map(Sdg)
            .collect())
    }
    /// The SDG with this number (1 to 17), or null.
    async fn sdg(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The goal's number, 1 to 17.")] number: i32,
    ) -> Result<Option<Sdg>> {
        Ok(catalog::sdg_by_number(db(ctx)?, number).await?.map(Sdg))
    }
    /// The programme's regional components.
    async fn programme_regions(&self, ctx: &Context<'_>) -> Result<Vec<ProgrammeRegion>> {
        Ok(catalog::all_programme_regions(db(ctx)?)
            .await?
            .into_iter()
            .map(ProgrammeRegion)
            .collect())
    }
    /// The sections of an Urban Cooperation Action Plan, in order.
    async fn ucap_section_types(&self, ctx: &Context<'_>) -> Result<Vec<UcapSectionType>> {
        Ok(catalog::all_section_types(db(ctx)?)
            .await?
            .into_iter()
            .map(UcapSectionType)
            .collect())
    }
    /// Every stakeholder organisation, by name.
    async fn stakeholders(&self, ctx: &Context<'_>) -> Result<Vec<Stakeholder>> {
        Ok(catalog::all_stakeholders(db(ctx)?)
            .await?
            .into_iter()
            .map(Stakeholder)
            .collect())
    }
    /// Every activity, in date order.
    async fn activities(&self, ctx: &Context<'_>) -> Result<Vec<Activity>> {
        Ok(catalog::all_activities(db(ctx)?)
            .await?
            .into_iter()
            .map(Activity)
            .collect())
    }
}
