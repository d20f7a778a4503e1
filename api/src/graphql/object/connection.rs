//! Relay cursor connections: `edges { cursor node }`, `nodes`, `pageInfo`, `totalCount`. The
//! count is computed only when `totalCount` is selected: one statement for a top-level list,
//! one batched `GROUP BY` for a nested connection over all its parents.

use async_graphql::{Context, Object, SimpleObject};
use entity::*;

use crate::service::decode::Decode;

use super::{
    Activity, AuditEvent, City, Country, Involvement, Pairing, Participant, Project, Region,
    Stakeholder, Theme, loaders,
};
use crate::error::{AppError, Result};
use crate::graphql::context::db;
use crate::graphql::loader::budget::Weigh;
use crate::graphql::loader::{Batcher, Loaders, PageLoadError, Pages};
use crate::service::page::{self, Page, PageArgs, Source};
use crate::service::relations::{Rel, Relation};

/// Where a connection's count comes from.
pub enum Total {
    /// A top-level list: count its rows.
    Top(Source),
    /// A nested connection: count the parent's children (batched).
    Children(&'static Relation, i32),
}

impl Total {
    async fn resolve(&self, ctx: &Context<'_>) -> Result<i64> {
        match self {
            Total::Top(source) => Ok(page::count(db(ctx)?, source).await?),
            Total::Children(relation, parent) => Ok(loaders(ctx)?
                .counts
                .load_one((Rel(relation), *parent))
                .await?
                .unwrap_or(0)),
        }
    }
}

/// Where a page sits in its list, and the cursors to move on from it.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// Whether rows follow this page (ask again with `first` and `after: endCursor`).
    pub has_next_page: bool,
    /// Whether rows precede this page (ask again with `last` and `before: startCursor`).
    pub has_previous_page: bool,
    /// The cursor of the first row of the page.
    pub start_cursor: Option<String>,
    /// The cursor of the last row of the page.
    pub end_cursor: Option<String>,
}

fn page_info<M>(page: &Page<M>) -> PageInfo {
    PageInfo {
        has_next_page: page.has_next,
        has_previous_page: page.has_previous,
        start_cursor: page.rows.first().map(|(c, _)| c.clone()),
        end_cursor: page.rows.last().map(|(c, _)| c.clone()),
    }
}

impl From<PageLoadError> for AppError {
    fn from(error: PageLoadError) -> Self {
        match error {
            PageLoadError::Args(message) => AppError::BadUserInput(message),
            PageLoadError::Db(e) => AppError::from(&*e),
        }
    }
}

/// Validates Relay page arguments (`BAD_USER_INPUT` with the limit when out of range).
pub(crate) fn page_args(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageArgs> {
    PageArgs::new(first, after, last, before).map_err(|e| AppError::BadUserInput(e.0))
}

/// A parent's page of a relation, through the request's batched loader.
pub(crate) async fn children<M>(
    loader: &Batcher<Pages<M>>,
    relation: &'static Relation,
    parent: i32,
    args: PageArgs,
) -> Result<Page<M>>
where
    M: Decode + Weigh + Clone + Send + Sync + 'static,
{
    Ok(loader
        .load_one((Rel(relation), parent, args))
        .await?
        .unwrap_or_default())
}

/// A connection over a relation's children, read through the request's batched page loader of
/// its model.
pub(crate) trait Nested: Sized {
    type Model: Decode + Weigh + Clone + Send + Sync + 'static;
    /// The loader that reads pages of this model for many parents at once.
    fn loader(loaders: &Loaders) -> &Batcher<Pages<Self::Model>>;
    fn new(page: Page<Self::Model>, total: Total) -> Self;
}

/// A parent's page of a relation as a connection, its `totalCount` counted for that parent:
/// what every nested connection field resolves to.
pub(crate) async fn nested<C: Nested>(
    ctx: &Context<'_>,
    relation: &'static Relation,
    parent: i32,
    args: PageArgs,
) -> Result<C> {
    let page = children(C::loader(loaders(ctx)?), relation, parent, args).await?;
    Ok(C::new(page, Total::Children(relation, parent)))
}

/// Declares that a connection pages a relation through the loader field `$pages` of `Loaders`.
macro_rules! nested {
    ($conn:ident, $model:ty, $pages:ident) => {
        impl Nested for $conn {
            type Model = $model;
            fn loader(loaders: &Loaders) -> &Batcher<Pages<$model>> {
                &loaders.$pages
            }
            fn new(page: Page<$model>, total: Total) -> Self {
                $conn::new(page, total)
            }
        }
    };
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ident, $model:ty, $conn_doc:tt, $edge_doc:tt) => {
        pub struct $conn {
            page: Page<$model>,
            total: Total,
        }

        impl $conn {
            pub fn new(page: Page<$model>, total: Total) -> Self {
                Self { page, total }
            }
        }

        #[doc = $conn_doc]
        #[Object]
        impl $conn {
            /// The rows of this page, each with its cursor.
            async fn edges(&self) -> Vec<$edge> {
                self.page
                    .rows
                    .iter()
                    .map(|(cursor, row)| $edge(cursor.clone(), row.clone()))
                    .collect()
            }
            /// The rows of this page, without cursors.
            async fn nodes(&self) -> Vec<$node> {
                self.page
                    .rows
                    .iter()
                    .map(|(_, row)| $node(row.clone().into()))
                    .collect()
            }
            /// Whether there are more pages, and the cursors to reach them.
            async fn page_info(&self) -> PageInfo {
                page_info(&self.page)
            }
            /// How many rows the whole list has, across all pages (one count query, run only
            /// when this field is selected).
            async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
                self.total.resolve(ctx).await
            }
        }

        pub struct $edge(String, $model);

        #[doc = $edge_doc]
        #[Object]
        impl $edge {
            /// Opaque position of this row: pass it as `after` or `before` to page from here.
            /// It stays valid when rows are added.
            async fn cursor(&self) -> &str {
                &self.0
            }
            /// The row.
            async fn node(&self) -> $node {
                $node(self.1.clone().into())
            }
        }
    };
}

connection!(
    PairingConnection,
    PairingEdge,
    Pairing,
    pairing::Model,
    "A page of pairings.",
    "A pairing and its cursor."
);
connection!(
    CityConnection,
    CityEdge,
    City,
    city::Model,
    "A page of cities.",
    "A city and its cursor."
);
connection!(
    RegionConnection,
    RegionEdge,
    Region,
    region::Model,
    "A page of regions.",
    "A region and its cursor."
);
connection!(
    CountryConnection,
    CountryEdge,
    Country,
    country::Model,
    "A page of countries.",
    "A country and its cursor."
);
connection!(
    ThemeConnection,
    ThemeEdge,
    Theme,
    theme::Model,
    "A page of themes.",
    "A theme and its cursor."
);
connection!(
    StakeholderConnection,
    StakeholderEdge,
    Stakeholder,
    stakeholder::Model,
    "A page of stakeholder organisations.",
    "A stakeholder and its cursor."
);
connection!(
    ActivityConnection,
    ActivityEdge,
    Activity,
    activity::Model,
    "A page of activities.",
    "An activity and its cursor."
);
connection!(
    ParticipantConnection,
    ParticipantEdge,
    Participant,
    pairing_participant::Model,
    "A page of pairing participants.",
    "A participant and its cursor."
);
connection!(
    InvolvementConnection,
    InvolvementEdge,
    Involvement,
    involvement::Model,
    "A page of stakeholder involvements.",
    "An involvement and its cursor."
);
connection!(
    ProjectConnection,
    ProjectEdge,
    Project,
    project::Model,
    "A page of projects.",
    "A project and its cursor."
);
connection!(
    AuditEventConnection,
    AuditEventEdge,
    AuditEvent,
    audit_event::Model,
    "A page of audit events, newest first.",
    "An audit event and its cursor."
);

nested!(PairingConnection, pairing::Model, pairing_pages);
nested!(CityConnection, city::Model, city_pages);
nested!(RegionConnection, region::Model, region_pages);
nested!(
    ParticipantConnection,
    pairing_participant::Model,
    participant_pages
);
nested!(StakeholderConnection, stakeholder::Model, stakeholder_pages);
nested!(InvolvementConnection, involvement::Model, involvement_pages);
nested!(ActivityConnection, activity::Model, activity_pages);
nested!(ProjectConnection, project::Model, project_pages);
