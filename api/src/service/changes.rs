//! The public change feed: every committed create, update and delete of a public record, in
//! commit order, without who made it (that stays in the administrators' audit trail).
//!
//! An event is written by the write path (`write::audit`) in the writing transaction, so it
//! exists if and only if the change committed.
//!
//! **Commit order on PostgreSQL.** Numbers from a sequence are handed out when a row is
//! inserted, not when its transaction commits: with two writers, number 11 can commit before
//! number 10, and a reader that saw 11 and moved its cursor past 10 would never see 10.
//! Here every insert into the feed first takes one transaction-level advisory lock, held
//! until the transaction ends: a writer numbers its events only after the previous numbering
//! writer has committed (or rolled back), and PostgreSQL makes a transaction visible before
//! it releases its locks. So numbers are in commit order, any snapshot sees a prefix of the
//! feed, and a reader that follows its cursor never skips nor repeats an event. The price is
//! that feed-writing transactions serialise from their first change to their commit (the
//! load benchmark measures it). SQLite runs one write transaction at a time, so its
//! AUTOINCREMENT numbers are in commit order already.
//!
//! The same statement issues `pg_notify`, delivered to listeners only when the transaction
//! commits (PostgreSQL folds the identical notifications of one transaction into one): that
//! is how every API instance learns of a change (`crate::live`).

use std::sync::LazyLock;

use chrono::Utc;
use entity::change_event;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, Condition,
    ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    Value,
};

use tokio::sync::watch;

use crate::error::AppError;
use crate::id::NodeType;

/// The channel of the notification a feed-writing transaction sends on commit.
pub const CHANNEL: &str = "iuc_graph_changes";

/// The advisory lock that orders the feed's numbers (an arbitrary, fixed key).
const FEED_LOCK: i64 = 0x1C_6A_F0_0D;

/// Bumped after every commit of this process that may have written to the feed.
static COMMITS: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Tells this process's live feeds (`crate::live`) that a write committed: call it after every
/// commit of a write transaction (cheap when nobody subscribes). On SQLite it is how a
/// subscriber learns of a write at once; PostgreSQL notifies every instance itself.
pub fn committed() {
    COMMITS.send_modify(|n| *n = n.wrapping_add(1));
}

/// Changes when this process commits a write (`committed`).
pub fn commits() -> watch::Receiver<u64> {
    COMMITS.subscribe()
}

/// The records the feed follows: the public, versioned ones, by GraphQL type name.
pub const ENTITIES: [(&str, NodeType); 8] = [
    ("City", NodeType::City),
    ("Region", NodeType::Region),
    ("Pairing", NodeType::Pairing),
    ("Ucap", NodeType::Ucap),
    ("Project", NodeType::Project),
    ("Stakeholder", NodeType::Stakeholder),
    ("Involvement", NodeType::Involvement),
    ("Activity", NodeType::Activity),
];

/// The node type of a followed entity, or `None` for what the feed leaves out (API keys, an
/// import's summary).
pub fn followed(entity: &str) -> Option<NodeType> {
    ENTITIES
        .iter()
        .find(|(name, _)| *name == entity)
        .map(|(_, kind)| *kind)
}

/// The GraphQL name of a changed column or child list of a record, e.g. `country_id` →
/// `country`, `start_precision` → `start`, `latitude` → `coordinates`, `theme_ids` →
/// `themes`; `None` for a column no field shows (the row id; a project's `position`, which
/// only orders its UCAP's list). (`tests/changes.rs` checks every column of every followed entity
/// against its GraphQL type.)
pub fn field_name(column: &str) -> Option<String> {
    let graphql = match column {
        // The row id never changes; a project's position only orders its UCAP's list.
        "id" | "position" => return None,
        "start_date" | "start_precision" => "start",
        "date_precision" => "date",
        "latitude" | "longitude" => "coordinates",
        "theme_ids" => "themes",
        "sdg_ids" => "sdgs",
        "pairing_ids" => "pairings",
        "stakeholder_ids" => "stakeholders",
        "geonames_id" => "geonamesId",
        other => other.strip_suffix("_id").unwrap_or(other),
    };
    Some(camel(graphql))
}

fn camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The GraphQL names of changed columns, sorted, without repeats.
pub fn field_names<'a>(columns: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let mut names: Vec<String> = columns.into_iter().filter_map(|c| field_name(c)).collect();
    names.sort();
    names.dedup();
    names
}

/// One change, as the write path reports it.
pub struct Change<'a> {
    pub entity: &'a str,
    pub record_id: i32,
    /// `create`, `update` or `delete`.
    pub action: &'static str,
    pub version: i32,
    pub fields: Vec<String>,
}

/// Appends a change of a followed entity to the feed, inside the writing transaction (others
/// are left out).
pub async fn record(db: &impl ConnectionTrait, change: Change<'_>) -> Result<(), AppError> {
    if followed(change.entity).is_none() {
        return Ok(());
    }
    let fields = serde_json::to_string(&change.fields).unwrap_or_else(|_| "[]".to_owned());
    if db.get_database_backend() == DbBackend::Postgres {
        // One statement: the lock (see the module's docs), the notification, the row. The
        // CTEs are scanned before the row is formed, so the lock is held when `position`
        // draws its number.
        let sql = "WITH feed_lock AS (SELECT pg_advisory_xact_lock($1)), \
                   notified AS (SELECT pg_notify($2, '')) \
                   INSERT INTO change_event (at, entity, record_id, action, version, fields) \
                   SELECT $3, $4, $5, $6, $7, $8 FROM feed_lock, notified";
        let values: Vec<Value> = vec![
            FEED_LOCK.into(),
            CHANNEL.into(),
            Utc::now().into(),
            change.entity.into(),
            change.record_id.into(),
            change.action.into(),
            change.version.into(),
            fields.into(),
        ];
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            values,
        ))
        .await?;
        return Ok(());
    }
    change_event::ActiveModel {
        position: NotSet,
        at: Set(Utc::now()),
        entity: Set(change.entity.to_owned()),
        record_id: Set(change.record_id),
        action: Set(change.action.to_owned()),
        version: Set(change.version),
        fields: Set(fields),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Which events a reader wants: all when both are empty.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only these entities (GraphQL type names).
    pub entities: Vec<&'static str>,
    /// Only these records (entity, row id).
    pub records: Vec<(&'static str, i32)>,
}

impl Filter {
    /// Whether an event passes the filter (the live stream's check; `page` filters in SQL).
    pub fn matches(&self, event: &change_event::Model) -> bool {
        (self.entities.is_empty() || self.entities.contains(&event.entity.as_str()))
            && (self.records.is_empty()
                || self
                    .records
                    .iter()
                    .any(|(e, id)| *e == event.entity && *id == event.record_id))
    }
}

/// The events after position `after`, in order, at most `first` of them.
pub async fn page(
    db: &impl ConnectionTrait,
    after: i64,
    first: u64,
    filter: &Filter,
) -> Result<Vec<change_event::Model>, AppError> {
    use change_event::Column;
    let mut query = change_event::Entity::find().filter(Column::Position.gt(after));
    if !filter.entities.is_empty() {
        query = query.filter(Column::Entity.is_in(filter.entities.iter().copied()));
    }
    if !filter.records.is_empty() {
        let mut any = Condition::any();
        for (entity, id) in &filter.records {
            any = any.add(
                Condition::all()
                    .add(Column::Entity.eq(*entity))
                    .add(Column::RecordId.eq(*id)),
            );
        }
        query = query.filter(any);
    }
    Ok(query
        .order_by_asc(Column::Position)
        .limit(first)
        .all(db)
        .await?)
}

/// The position of the latest committed event (0 when the feed is empty).
pub async fn latest(db: &impl ConnectionTrait) -> Result<i64, AppError> {
    use change_event::Column;
    let last = change_event::Entity::find()
        .select_only()
        .column(Column::Position)
        .order_by_desc(Column::Position)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(last.unwrap_or(0))
}
