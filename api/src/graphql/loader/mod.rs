//! Per-request batched loaders. Every relation field resolves through one of these, so that a
//! level of the query issues one `WHERE key IN (…)` statement however many parents it has.
//! They are built per request (see `Loaders::new`): their caches never outlive one request,
//! so nothing leaks between callers.

mod batcher;
pub mod budget;
mod by_id;
mod children;
mod json_size;
mod linked;
mod page;
mod participants;

use std::sync::Arc;

use entity::*;
use sea_orm::{DatabaseConnection, DbErr};

pub use batcher::{Batcher, Waves};
pub use by_id::ById;
pub use children::Children;
pub use linked::Linked;
pub use page::{Counts, PageLoadError, Pages};
pub use participants::ParticipantsWithPlaces;

/// What a loader fails with: `Clone`, as DataLoader requires.
pub type LoadError = Arc<DbErr>;

/// Largest batch one statement carries. Keys per level are bounded by the query's shape (page
/// sizes times fan-out), and both SQLite (32766) and PostgreSQL (65535) accept this many
/// parameters; one batch per level keeps the statement count independent of the data.
const MAX_BATCH: usize = 20_000;

/// Rows grouped by their parent key, each behind an `Arc` (a children loader's values).
fn by_parent<T>(
    rows: impl IntoIterator<Item = (i32, T)>,
    parents: usize,
) -> std::collections::HashMap<i32, Arc<Vec<Arc<T>>>> {
    let mut grouped: std::collections::HashMap<i32, Vec<Arc<T>>> =
        std::collections::HashMap::with_capacity(parents);
    for (key, row) in rows {
        grouped.entry(key).or_default().push(Arc::new(row));
    }
    grouped
        .into_iter()
        .map(|(key, rows)| (key, Arc::new(rows)))
        .collect()
}

/// The rows of `{select}{keys}{tail}`, where `select` ends with the key column (`… WHERE
/// p.pairing_id `) and the keys go in as one list parameter: one statement per batch.
async fn rows_for_keys(
    db: &DatabaseConnection,
    select: &str,
    keys: &[i32],
    tail: &str,
) -> Result<Vec<sea_orm::QueryResult>, LoadError> {
    use sea_orm::ConnectionTrait;
    let mut sql = crate::service::sql::Sql::default();
    sql.push(select).in_keys(keys.iter().copied()).push(tail);
    db.query_all_raw(sql.statement(db.get_database_backend()))
        .await
        .map_err(Arc::new)
}

/// `"table"."column"`, as sea-orm's `SELECT` names it.
fn qualified<E: sea_orm::EntityTrait>(column: E::Column) -> String {
    use sea_orm::IdenStatic;
    format!("\"{}\".\"{}\"", E::default().table_name(), column.as_str())
}

/// Every loader of one request.
pub struct Loaders {
    pub country: Arc<Batcher<ById<country::Entity>>>,
    pub programme_region: Batcher<ById<programme_region::Entity>>,
    pub theme: Batcher<ById<theme::Entity>>,
    pub sdg: Batcher<ById<sdg::Entity>>,
    pub section_type: Batcher<ById<ucap_section_type::Entity>>,
    pub city: Arc<Batcher<ById<city::Entity>>>,
    pub region: Arc<Batcher<ById<region::Entity>>>,
    pub pairing: Batcher<ById<pairing::Entity>>,
    pub stakeholder: Batcher<ById<stakeholder::Entity>>,
    pub activity: Batcher<ById<activity::Entity>>,
    pub project: Batcher<ById<project::Entity>>,
    pub ucap: Batcher<ById<ucap::Entity>>,
    pub participant: Batcher<ById<pairing_participant::Entity>>,
    pub involvement: Batcher<ById<involvement::Entity>>,

    /// Also fills `city`, `region` and `country` with the participants' places and countries.
    pub participants_by_pairing: Batcher<ParticipantsWithPlaces>,
    pub participants_by_city: Batcher<Children<pairing_participant::Entity>>,
    pub participants_by_region: Batcher<Children<pairing_participant::Entity>>,
    pub themes_by_pairing: Batcher<Linked<pairing_theme::Entity, theme::Entity>>,
    pub sdgs_by_pairing: Batcher<Linked<pairing_sdg::Entity, sdg::Entity>>,
    pub ucap_by_pairing: Batcher<Children<ucap::Entity>>,
    pub sections_by_ucap: Batcher<Children<ucap_section::Entity>>,
    pub pairings_by_activity: Batcher<Children<activity_pairing::Entity>>,
    pub stakeholders_by_activity: Batcher<Children<activity_stakeholder::Entity>>,

    pub pairing_pages: Batcher<Pages<pairing::Model>>,
    pub city_pages: Batcher<Pages<city::Model>>,
    pub region_pages: Batcher<Pages<region::Model>>,
    pub participant_pages: Batcher<Pages<pairing_participant::Model>>,
    pub stakeholder_pages: Batcher<Pages<stakeholder::Model>>,
    pub involvement_pages: Batcher<Pages<involvement::Model>>,
    pub activity_pages: Batcher<Pages<activity::Model>>,
    pub project_pages: Batcher<Pages<project::Model>>,
    pub counts: Batcher<Counts>,
    /// What the batches share; `Waves::track` runs the request's execution.
    pub waves: Arc<Waves>,
}

impl Loaders {
    /// The loaders of one operation whose answer may hold `output_limit` bytes (0: no limit).
    pub fn new(db: &DatabaseConnection, output_limit: u64) -> Self {
        let waves = Arc::new(Waves::with_budget(output_limit));
        macro_rules! loader {
            ($inner:expr) => {
                Batcher::new($inner, &waves, MAX_BATCH)
            };
        }
        use sea_orm::Order::Asc;
        fn by_id<E>(db: &DatabaseConnection) -> ById<E> {
            ById::new(db.clone())
        }
        let country = Arc::new(loader!(by_id(db)));
        let city = Arc::new(loader!(by_id(db)));
        let region = Arc::new(loader!(by_id(db)));
        Self {
            participants_by_pairing: loader!(ParticipantsWithPlaces::new(
                db.clone(),
                city.clone(),
                region.clone(),
                country.clone(),
            )),
            country,
            programme_region: loader!(by_id(db)),
            theme: loader!(by_id(db)),
            sdg: loader!(by_id(db)),
            section_type: loader!(by_id(db)),
            city,
            region,
            pairing: loader!(by_id(db)),
            stakeholder: loader!(by_id(db)),
            activity: loader!(by_id(db)),
            project: loader!(by_id(db)),
            ucap: loader!(by_id(db)),
            participant: loader!(by_id(db)),
            involvement: loader!(by_id(db)),

            participants_by_city: loader!(Children::new(
                db.clone(),
                pairing_participant::Column::CityId,
                vec![(pairing_participant::Column::PairingId, Asc)],
            )),
            participants_by_region: loader!(Children::new(
                db.clone(),
                pairing_participant::Column::RegionId,
                vec![(pairing_participant::Column::PairingId, Asc)],
            )),
            themes_by_pairing: loader!(Linked::new(
                db.clone(),
                pairing_theme::Column::PairingId,
                pairing_theme::Column::ThemeId,
                theme::Column::Id,
            )),
            sdgs_by_pairing: loader!(Linked::new(
                db.clone(),
                pairing_sdg::Column::PairingId,
                pairing_sdg::Column::SdgId,
                sdg::Column::Id,
            )),
            ucap_by_pairing: loader!(Children::new(db.clone(), ucap::Column::PairingId, vec![])),
            sections_by_ucap: loader!(Children::new(
                db.clone(),
                ucap_section::Column::UcapId,
                vec![(ucap_section::Column::SectionTypeId, Asc)],
            )),
            pairings_by_activity: loader!(Children::new(
                db.clone(),
                activity_pairing::Column::ActivityId,
                vec![(activity_pairing::Column::PairingId, Asc)],
            )),
            stakeholders_by_activity: loader!(Children::new(
                db.clone(),
                activity_stakeholder::Column::ActivityId,
                vec![(activity_stakeholder::Column::StakeholderId, Asc)],
            )),
            pairing_pages: loader!(Pages::new(db.clone())),
            city_pages: loader!(Pages::new(db.clone())),
            region_pages: loader!(Pages::new(db.clone())),
            participant_pages: loader!(Pages::new(db.clone())),
            stakeholder_pages: loader!(Pages::new(db.clone())),
            involvement_pages: loader!(Pages::new(db.clone())),
            activity_pages: loader!(Pages::new(db.clone())),
            project_pages: loader!(Pages::new(db.clone())),
            counts: loader!(Counts::new(db.clone())),
            waves,
        }
    }
}
