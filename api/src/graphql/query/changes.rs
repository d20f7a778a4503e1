use async_graphql::{Context, ID, Object};

use super::db;
use crate::error::{AppError, Result};
use crate::graphql::object::{ChangeConnection, ChangeEntity, feed_args};
use crate::service::changes;
use crate::service::page::MAX_PAGE;

/// The public change feed.
#[derive(Default)]
pub struct ChangesQuery;

#[Object]
impl ChangesQuery {
    /// Every committed change to a public record (cities, regions, pairings with their
    /// participants and links, UCAPs with their sections, projects, stakeholders,
    /// involvements, activities), in commit order: a reader that keeps `pageInfo.endCursor`
    /// and asks again with it sees every change exactly once. Starts after the install's
    /// seed data; `/export` gives the state at a cursor to start from. For live updates,
    /// subscribe to `changes` over WebSocket.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Return changes after this cursor (from the start when omitted).")]
        after: Option<String>,
        #[graphql(desc = "Return the first n changes (default 20, at most 100).")] first: Option<
            i32,
        >,
        #[graphql(desc = "Only changes to these kinds of record.")] entities: Option<
            Vec<ChangeEntity>,
        >,
        #[graphql(desc = "Only changes to these records (global IDs, at most 100).")] ids: Option<
            Vec<ID>,
        >,
    ) -> Result<ChangeConnection> {
        let first = first.unwrap_or(20);
        if first < 0 || first as u64 > MAX_PAGE {
            return Err(AppError::invalid(
                "first",
                format!("must be between 0 and {MAX_PAGE}, not {first}"),
            ));
        }
        let (position, filter) = feed_args(after.as_deref(), entities.as_deref(), ids.as_deref())?;
        let mut events = changes::page(db(ctx)?, position, first as u64 + 1, &filter).await?;
        let has_next = events.len() > first as usize;
        events.truncate(first as usize);
        Ok(ChangeConnection {
            events,
            has_next,
            after: after.map(|_| position),
        })
    }
}
