//! Per-request batched loaders. Every relation field resolves through one of these, so that a
//! level of the query issues one `WHERE key IN (…)` statement however many parents it has.
//! They are built per request (see `Loaders::new`): their caches never outlive one request,
//! so nothing leaks between callers.

mod batcher;
pub mod budget;
mod by_id;
mod catalog;
mod children;
pub mod combine;
mod json_size;
mod linked;
mod page;
mod participants;
mod sections;

use std::sync::Arc;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use entity::*;
use sea_orm::{DatabaseConnection, DbErr};

use crate::service::decode::Rows;
pub use combine::Reader;

pub use batcher::{Batcher, Waves};
pub use by_id::ById;
pub use catalog::SourceCatalog;
pub use children::Children;
pub use linked::Linked;
pub use page::{Counts, PageLoadError, Pages};
pub use participants::ParticipantsWithPlaces;
pub use sections::{SectionWithType, SectionsWithTypes};

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
/// `per_key`: about how many values (rows × columns) a key brings (see `combine.rs`).
async fn rows_for_keys(
    reader: &Reader,
    select: &str,
    keys: &[i32],
    tail: &str,
    per_key: usize,
) -> Result<Rows, LoadError> {
    let mut sql = crate::service::sql::Sql::default();
    sql.push(select).in_keys(keys.iter().copied()).push(tail);
    reader.rows(sql, keys.len().saturating_mul(per_key)).await
}

/// Rows a parent has, about, in a relation read for many parents (a pairing's participants,
/// themes, SDGs, a plan's sections): the estimate behind `rows_for_keys`' `per_key`.
const ROWS_PER_PARENT: usize = 3;

/// Which columns a request's loaders read, decided once from its document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Columns {
    /// Every column.
    All,
    /// All but `decode::OMITTABLE`'s: the operation selects no field that shows them.
    Lean,
}

impl Columns {
    /// `Lean` unless the document selects a field named `sources` or `notes` anywhere, in any
    /// operation or fragment and on any type: by name alone, so that no field that shows them
    /// can be missed.
    pub fn for_document(document: &ExecutableDocument) -> Columns {
        let operations: Vec<&SelectionSet> = match &document.operations {
            DocumentOperations::Single(op) => vec![&op.node.selection_set.node],
            DocumentOperations::Multiple(ops) => {
                ops.values().map(|op| &op.node.selection_set.node).collect()
            }
        };
        let fragments = document
            .fragments
            .values()
            .map(|f| &f.node.selection_set.node);
        if operations.into_iter().chain(fragments).any(shows_omittable) {
            Columns::All
        } else {
            Columns::Lean
        }
    }

    /// Whether the loaders read `column`.
    fn keeps(self, column: &str) -> bool {
        self == Columns::All
            || !crate::service::decode::OMITTABLE
                .iter()
                .any(|(n, _)| *n == column)
    }
}

/// Whether `set` selects `sources` or `notes`, at any depth.
fn shows_omittable(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(field) => {
            let name = field.node.name.node.as_str();
            name == "sources" || name == "notes" || shows_omittable(&field.node.selection_set.node)
        }
        Selection::InlineFragment(inline) => shows_omittable(&inline.node.selection_set.node),
        Selection::FragmentSpread(_) => false,
    })
}

/// How many columns of `E` `columns` keeps.
fn column_count<E: sea_orm::EntityTrait>(columns: Columns) -> usize {
    kept::<E>(columns).count()
}

/// The names of the columns of `E` that `columns` keeps.
fn kept<E: sea_orm::EntityTrait>(columns: Columns) -> impl Iterator<Item = &'static str> {
    use sea_orm::{IdenStatic, Iterable};
    E::Column::iter()
        .map(|c| c.as_str())
        .filter(move |name| columns.keeps(name))
}

/// `alias."column" AS "alias_column"` for the columns of `E` that `columns` keeps: one entity of
/// a joined row, read back with `decode::prefixed`.
fn prefixed_columns<E: sea_orm::EntityTrait>(alias: &str, columns: Columns, out: &mut Vec<String>) {
    out.extend(kept::<E>(columns).map(|name| format!("{alias}.\"{name}\" AS \"{alias}_{name}\"")));
}

/// `alias."column"` for the columns of `E` that `columns` keeps, read back with
/// `decode::models`.
fn plain_columns<E: sea_orm::EntityTrait>(alias: &str, columns: Columns) -> String {
    let list: Vec<String> = kept::<E>(columns)
        .map(|name| format!("{alias}.\"{name}\""))
        .collect();
    list.join(", ")
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
    pub countries_by_programme_region:
        Batcher<Linked<programme_region_country::Entity, country::Entity>>,
    pub ucap_by_pairing: Batcher<Children<ucap::Entity>>,
    /// Each section with its type, in the types' order.
    pub sections_by_ucap: Batcher<SectionsWithTypes>,
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
    /// The documents and rules sources cite.
    pub sources: SourceCatalog,
    /// What the batches share; `Waves::track` runs the request's execution.
    pub waves: Arc<Waves>,
}

impl Loaders {
    /// The loaders of one operation whose answer may hold `output_limit` bytes (0: no limit),
    /// reading `columns`.
    pub fn new(db: &DatabaseConnection, output_limit: u64, columns: Columns) -> Self {
        let combiner = combine::Combiner::for_backend(db);
        let reader = Reader::new(db.clone(), combiner.clone());
        let waves = Arc::new(Waves::with_budget(output_limit, combiner));
        let make = Make {
            reader: &reader,
            waves: &waves,
            columns,
        };
        let country = Arc::new(make.by_id());
        let city = Arc::new(make.by_id());
        let region = Arc::new(make.by_id());
        use pairing_participant::Column as Participant;
        Self {
            participants_by_pairing: make.batcher(ParticipantsWithPlaces::new(
                reader.clone(),
                columns,
                city.clone(),
                region.clone(),
                country.clone(),
            )),
            country,
            programme_region: make.by_id(),
            theme: make.by_id(),
            sdg: make.by_id(),
            section_type: make.by_id(),
            city,
            region,
            pairing: make.by_id(),
            stakeholder: make.by_id(),
            activity: make.by_id(),
            project: make.by_id(),
            ucap: make.by_id(),
            participant: make.by_id(),
            involvement: make.by_id(),

            participants_by_city: make.children(Participant::CityId, Some(Participant::PairingId)),
            participants_by_region: make
                .children(Participant::RegionId, Some(Participant::PairingId)),
            themes_by_pairing: make.linked(
                pairing_theme::Column::PairingId,
                pairing_theme::Column::ThemeId,
                theme::Column::Id,
            ),
            sdgs_by_pairing: make.linked(
                pairing_sdg::Column::PairingId,
                pairing_sdg::Column::SdgId,
                sdg::Column::Id,
            ),
            countries_by_programme_region: make.linked(
                programme_region_country::Column::ProgrammeRegionId,
                programme_region_country::Column::CountryId,
                country::Column::Id,
            ),
            ucap_by_pairing: make.children(ucap::Column::PairingId, None),
            sections_by_ucap: make.batcher(SectionsWithTypes::new(reader.clone(), columns)),
            pairings_by_activity: make.children(
                activity_pairing::Column::ActivityId,
                Some(activity_pairing::Column::PairingId),
            ),
            stakeholders_by_activity: make.children(
                activity_stakeholder::Column::ActivityId,
                Some(activity_stakeholder::Column::StakeholderId),
            ),
            pairing_pages: make.pages(),
            city_pages: make.pages(),
            region_pages: make.pages(),
            participant_pages: make.pages(),
            stakeholder_pages: make.pages(),
            involvement_pages: make.pages(),
            activity_pages: make.pages(),
            project_pages: make.pages(),
            counts: make.batcher(Counts::new(reader.clone())),
            sources: SourceCatalog::new(db.clone()),
            waves,
        }
    }
}

/// Makes the loaders of one request: each batches through the request's waves.
struct Make<'a> {
    reader: &'a Reader,
    waves: &'a Arc<Waves>,
    columns: Columns,
}

impl Make<'_> {
    fn batcher<T: Send + Sync + 'static>(&self, loader: T) -> Batcher<T> {
        Batcher::new(loader, self.waves, MAX_BATCH)
    }
    fn by_id<E: sea_orm::EntityTrait>(&self) -> Batcher<ById<E>>
    where
        ById<E>: Send + Sync + 'static,
    {
        self.batcher(ById::new(self.reader.clone(), self.columns))
    }
    /// Rows of `E` by `parent`, in `order` (ascending).
    fn children<E: sea_orm::EntityTrait>(
        &self,
        parent: E::Column,
        order: Option<E::Column>,
    ) -> Batcher<Children<E>>
    where
        Children<E>: Send + Sync + 'static,
    {
        self.batcher(Children::new(
            self.reader.clone(),
            parent,
            order,
            self.columns,
        ))
    }
    fn linked<L: sea_orm::EntityTrait, T: sea_orm::EntityTrait>(
        &self,
        parent: L::Column,
        target: L::Column,
        key: T::Column,
    ) -> Batcher<Linked<L, T>>
    where
        Linked<L, T>: Send + Sync + 'static,
    {
        self.batcher(Linked::new(
            self.reader.clone(),
            parent,
            target,
            key,
            self.columns,
        ))
    }
    fn pages<M: crate::service::decode::Decode>(&self) -> Batcher<Pages<M>>
    where
        Pages<M>: Send + Sync + 'static,
    {
        self.batcher(Pages::new(self.reader.clone(), self.columns))
    }
}

#[cfg(test)]
mod tests {
    use super::Columns;

    fn columns(query: &str) -> Columns {
        Columns::for_document(&async_graphql::parser::parse_query(query).expect("a document"))
    }

    #[test]
    fn sources_or_notes_anywhere_keep_every_column() {
        assert_eq!(columns("{ pairings { nodes { title } } }"), Columns::Lean);
        assert_eq!(
            columns("{ a: pairings { nodes { s: sources { basis } } } }"),
            Columns::All
        );
        assert_eq!(
            columns("{ node(id: \"x\") { ... on City { notes } } }"),
            Columns::All
        );
        assert_eq!(
            columns(
                "query A { pairings { nodes { ...F } } } query B { summary { pairings } } fragment F on Pairing { themes { sources { quote } } }"
            ),
            Columns::All
        );
        // An alias named `sources` is not the field.
        assert_eq!(
            columns("{ sources: pairings { nodes { notes: title } } }"),
            Columns::Lean
        );
        assert!(Columns::Lean.keeps("title") && !Columns::Lean.keeps("sources"));
        assert!(Columns::All.keeps("sources"));
    }
}
