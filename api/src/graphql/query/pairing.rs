use async_graphql::{Context, Object};

use super::{db, top_page};
use crate::error::Result;
use crate::graphql::input::{PairingFilter, PairingOrder};
use crate::graphql::object::{Pairing, PairingConnection, Total, page_args};
use crate::service::{catalog, search};

/// Pairings: the table frontends filter, and pairing pages.
#[derive(Default)]
pub struct PairingQuery;

#[Object]
impl PairingQuery {
    /// Pairings, filtered and sorted (by title unless `orderBy` says otherwise), a page at a time.
    #[allow(clippy::too_many_arguments)]
    async fn pairings(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which pairings (all when omitted).")] filter: Option<PairingFilter>,
        #[graphql(desc = "Sort order (default: title, ascending).")] order_by: Option<PairingOrder>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<PairingConnection> {
        let args = page_args(first, after, last, before)?;
        let filter = filter.unwrap_or_default().into_service()?;
        let order = order_by.unwrap_or_default();
        let (source, ordering) =
            search::pairings(&filter, order.field.into(), order.direction.into());
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(PairingConnection::new(page, Total::Top(source)))
    }
    /// The pairing with this slug (e.g. `rome-yantai`), or null.
    async fn pairing(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The pairing's slug.")] slug: String,
    ) -> Result<Option<Pairing>> {
        Ok(catalog::pairing_by_slug(db(ctx)?, &slug)
            .await?
            .map(|row| Pairing(row.into())))
    }
}
