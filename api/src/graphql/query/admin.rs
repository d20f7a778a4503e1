use async_graphql::{Context, ID, Object};

use super::*;
use crate::graphql::context::principal;
use crate::graphql::object::{ApiKey, AuditEventConnection, Total, page_args};
use crate::id::decode;
use crate::service::{keys, search};

#[derive(Default)]
pub struct AdminQuery;

/// For administrators (an administrator API key is required).
#[Object]
impl AdminQuery {
    /// The audit trail, newest first: every write, who made it and what it changed.
    #[allow(clippy::too_many_arguments)]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only writes to this entity type, e.g. `Pairing`.")] entity: Option<
            String,
        >,
        #[graphql(desc = "Only writes to this record (its global ID).")] record: Option<ID>,
        #[graphql(desc = "Only writes by keys of this organisation (its global ID).")]
        organisation: Option<ID>,
        #[graphql(desc = "Only writes by this key (its number).")] key_number: Option<i32>,
        #[graphql(desc = "Return the first n rows (default 20, at most 100).")] first: Option<i32>,
        #[graphql(desc = "Return rows after this cursor.")] after: Option<String>,
        #[graphql(desc = "Return the last n rows (at most 100).")] last: Option<i32>,
        #[graphql(desc = "Return rows before this cursor.")] before: Option<String>,
    ) -> Result<AuditEventConnection> {
        principal(ctx).await?.require_admin()?;
        let args = page_args(first, after, last, before)?;
        let record = match record {
            Some(id) => {
                let (kind, key) = decode(id.as_str())?;
                Some((kind.name().to_owned(), key))
            }
            None => None,
        };
        let filter = search::AuditFilter {
            entity,
            record,
            organisation: organisation.map(|o| o.0),
            key_id: key_number,
        };
        let (source, ordering) = search::audit_events(&filter);
        let page = top_page(ctx, &source, &ordering, &args).await?;
        Ok(AuditEventConnection::new(page, Total::Top(source)))
    }

    /// Every API key, oldest first (never their secrets).
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        principal(ctx).await?.require_admin()?;
        Ok(keys::list(db(ctx)?)
            .await?
            .into_iter()
            .map(ApiKey)
            .collect())
    }
}
