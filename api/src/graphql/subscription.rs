//! The subscription root, served over WebSocket (`http::ws`).

use async_graphql::{Context, ID, Subscription};
use futures_util::{Stream, StreamExt};

use crate::error::{AppError, Result};
use crate::graphql::object::{ChangeEntity, ChangeEvent, feed_args};
use crate::live::Live;

/// Live updates of the IUC graph (see the `Subscription` impl).
#[derive(Default)]
pub struct SubscriptionRoot;

/// Live updates of the IUC graph, over WebSocket (`/graphql`, subprotocol
/// `graphql-transport-ws`).
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// The change feed, live: first the changes committed after `after` (replayed from the
    /// feed), then each new change as it commits, on whichever API instance it was made;
    /// every change once, in commit order, with no gap between the two parts. Keep the last
    /// event's `cursor`: after a disconnect, subscribe again with `after` set to it and
    /// nothing is missed. Without `after`, only changes from now on.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Replay the changes after this cursor first (omit: from now on).")]
        after: Option<String>,
        #[graphql(desc = "Only changes to these kinds of record.")] entities: Option<
            Vec<ChangeEntity>,
        >,
        #[graphql(desc = "Only changes to these records (global IDs, at most 100).")] ids: Option<
            Vec<ID>,
        >,
    ) -> Result<impl Stream<Item = async_graphql::Result<ChangeEvent>> + use<>> {
        let (position, filter) = feed_args(after.as_deref(), entities.as_deref(), ids.as_deref())?;
        let db = crate::graphql::context::db(ctx)?;
        let position = match after {
            Some(_) => position,
            None => crate::service::changes::latest(db).await?,
        };
        let live = ctx
            .data::<std::sync::Arc<Live>>()
            .map_err(|_| AppError::Internal("no live feed in the schema".into()))?;
        let events = live.subscribe(position, filter).await?;
        Ok(events.map(|event| event.map(ChangeEvent).map_err(async_graphql::Error::from)))
    }
}
