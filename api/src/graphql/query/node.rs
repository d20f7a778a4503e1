use async_graphql::{Context, ID, Object};

use crate::error::Result;
use crate::graphql::object::{Node, load_node};

/// Global object identification (the Relay convention).
#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
    /// The object with this global ID, or null if there is none. A malformed ID is an error
    /// (`BAD_USER_INPUT`).
    async fn node(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "A global ID returned by this API.")] id: ID,
    ) -> Result<Option<Node>> {
        load_node(ctx, id.as_str()).await
    }
    /// The objects with these global IDs, in the same order, with null where there is none.
    /// Loaded in one batch per type.
    async fn nodes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Global IDs returned by this API (at most 100).")] ids: Vec<ID>,
    ) -> Result<Vec<Option<Node>>> {
        if ids.len() > 100 {
            return Err(crate::error::AppError::BadUserInput(format!(
                "`ids` takes at most 100 IDs, not {}",
                ids.len()
            )));
        }
        let futures = ids.iter().map(|id| load_node(ctx, id.as_str()));
        futures_util::future::try_join_all(futures).await
    }
}
