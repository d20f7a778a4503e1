//! The public change feed's types (see `service::changes`).

use async_graphql::{Enum, ID, Object, SimpleObject};
use entity::change_event;

use super::PageInfo;
use crate::id::NodeType;

/// A kind of record the change feed follows.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeEntity {
    /// A `City`.
    City,
    /// A `Region`.
    Region,
    /// A `Pairing`, with its participants and its theme and SDG links.
    Pairing,
    /// A `Ucap`, with its sections.
    Ucap,
    /// A UCAP's `Project`.
    Project,
    /// A `Stakeholder`.
    Stakeholder,
    /// An `Involvement` of a stakeholder in a pairing, UCAP or project.
    Involvement,
    /// An `Activity`, with its pairings and stakeholders.
    Activity,
}

impl ChangeEntity {
    /// The GraphQL type name, as the feed stores it.
    pub fn type_name(self) -> &'static str {
        self.node_type().name()
    }

    pub fn node_type(self) -> NodeType {
        match self {
            ChangeEntity::City => NodeType::City,
            ChangeEntity::Region => NodeType::Region,
            ChangeEntity::Pairing => NodeType::Pairing,
            ChangeEntity::Ucap => NodeType::Ucap,
            ChangeEntity::Project => NodeType::Project,
            ChangeEntity::Stakeholder => NodeType::Stakeholder,
            ChangeEntity::Involvement => NodeType::Involvement,
            ChangeEntity::Activity => NodeType::Activity,
        }
    }

    fn of(name: &str) -> Option<Self> {
        [
            ChangeEntity::City,
            ChangeEntity::Region,
            ChangeEntity::Pairing,
            ChangeEntity::Ucap,
            ChangeEntity::Project,
            ChangeEntity::Stakeholder,
            ChangeEntity::Involvement,
            ChangeEntity::Activity,
        ]
        .into_iter()
        .find(|e| e.type_name() == name)
    }
}

/// What a change did to its record.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeAction {
    /// The record was created.
    Create,
    /// The record or its children (participants, links, sections) changed.
    Update,
    /// The record was deleted (with, as separate events, the records deleted with it).
    Delete,
}

/// One committed change to a public record (see `ChangeEvent`).
pub struct ChangeEvent(pub std::sync::Arc<change_event::Model>);

/// The cursor of a feed position (opaque to clients; today the position's decimal digits).
pub fn cursor(position: i64) -> String {
    position.to_string()
}

/// One committed change to a public record. Who made it is not public (administrators see
/// it in `auditEvents`).
#[Object]
impl ChangeEvent {
    /// This event's place in the feed: pass it as `after` to read (or subscribe to) what
    /// comes next.
    async fn cursor(&self) -> String {
        cursor(self.0.position)
    }
    /// Global ID of the record that changed (for a delete, of the record that no longer
    /// exists).
    async fn record(&self) -> ID {
        crate::id::encode_name(&self.0.entity, self.0.record_id)
    }
    /// The kind of record.
    async fn entity(&self) -> Option<ChangeEntity> {
        ChangeEntity::of(&self.0.entity)
    }
    /// Created, changed or deleted.
    async fn action(&self) -> ChangeAction {
        match self.0.action.as_str() {
            "create" => ChangeAction::Create,
            "delete" => ChangeAction::Delete,
            _ => ChangeAction::Update,
        }
    }
    /// The record's `version` after the change (for a delete, the last version it had).
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// The names of the record's GraphQL fields that changed (on a create, those it was
    /// created with; empty on a delete), e.g. `["population", "leader"]` or `["themes"]`.
    async fn fields(&self) -> Vec<String> {
        serde_json::from_str(&self.0.fields).unwrap_or_default()
    }
    /// When the change was written (UTC, the server's clock; the feed's order is `cursor`'s,
    /// which is commit order).
    async fn at(&self) -> crate::graphql::scalar::DateTime {
        self.0.at.into()
    }
}

/// An edge of the change feed.
#[derive(SimpleObject)]
pub struct ChangeEdge {
    /// The event's cursor.
    pub cursor: String,
    /// The event.
    pub node: ChangeEvent,
}

/// A page of the change feed (see `ChangeConnection`).
pub struct ChangeConnection {
    pub events: Vec<change_event::Model>,
    pub has_next: bool,
    /// The `after` the page was asked with.
    pub after: Option<i64>,
}

/// A page of the change feed, in commit order.
#[Object]
impl ChangeConnection {
    /// The events of this page, oldest first.
    async fn nodes(&self) -> Vec<ChangeEvent> {
        self.events
            .iter()
            .map(|e| ChangeEvent(std::sync::Arc::new(e.clone())))
            .collect()
    }
    /// The events with their cursors.
    async fn edges(&self) -> Vec<ChangeEdge> {
        self.events
            .iter()
            .map(|e| ChangeEdge {
                cursor: cursor(e.position),
                node: ChangeEvent(std::sync::Arc::new(e.clone())),
            })
            .collect()
    }
    /// The cursor of the latest change in the whole feed (whatever the filters) at the time of
    /// the request: where a client that just read the current state starts following.
    async fn latest_cursor(
        &self,
        ctx: &async_graphql::Context<'_>,
    ) -> crate::error::Result<String> {
        let db = crate::graphql::context::db(ctx)?;
        Ok(cursor(crate::service::changes::latest(db).await?))
    }
    /// Paging: `endCursor` is the last event's cursor, or, on an empty page, the `after`
    /// asked with, so a reader can always keep `endCursor` and ask again later.
    async fn page_info(&self) -> PageInfo {
        let after = self.after.map(cursor);
        PageInfo {
            has_next_page: self.has_next,
            has_previous_page: self.after.is_some_and(|a| a > 0),
            start_cursor: self
                .events
                .first()
                .map(|e| cursor(e.position))
                .or(after.clone()),
            end_cursor: self.events.last().map(|e| cursor(e.position)).or(after),
        }
    }
}

/// Most records one `ids` argument may name.
const MAX_IDS: usize = 100;

/// Decodes the feed's arguments, shared by the `changes` query and subscription: the position
/// after which to read, and the filter.
pub fn feed_args(
    after: Option<&str>,
    entities: Option<&[ChangeEntity]>,
    ids: Option<&[ID]>,
) -> crate::error::Result<(i64, crate::service::changes::Filter)> {
    use crate::error::AppError;
    let position = feed_position(after, "after")?.unwrap_or(0);
    let mut filter = crate::service::changes::Filter::default();
    for entity in entities.unwrap_or_default() {
        filter.entities.push(entity.type_name());
    }
    let ids = ids.unwrap_or_default();
    if ids.len() > MAX_IDS {
        return Err(AppError::invalid(
            "ids",
            format!("at most {MAX_IDS} records, not {}", ids.len()),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        let (kind, row) = crate::id::decode(id.as_str())
            .map_err(|e| AppError::invalid(format!("ids[{i}]"), e.message()))?;
        if crate::service::changes::followed(kind.name()).is_none() {
            return Err(AppError::invalid(
                format!("ids[{i}]"),
                format!("the change feed does not follow {} records", kind.name()),
            ));
        }
        filter.records.push((kind.name(), row));
    }
    Ok((position, filter))
}

/// The feed position a cursor argument names (`field` is the argument's path, for the error).
pub fn feed_position(cursor: Option<&str>, field: &str) -> crate::error::Result<Option<i64>> {
    let Some(text) = cursor else {
        return Ok(None);
    };
    match text.parse::<i64>() {
        Ok(position) if position >= 0 => Ok(Some(position)),
        _ => Err(crate::error::AppError::invalid(
            field,
            "not a change feed cursor: pass a `cursor` or `endCursor` that `changes` returned",
        )),
    }
}
