//! Export: the database as a dataset file in the seed format (`data/README.md`), whole or for a
//! filtered set of pairings with everything they reference; and the pairings table as CSV.
//! `iuc-graph export` and the administrators' `GET /export` both call this.
//!
//! - **Deterministic.** Records come out sorted by natural key (countries by code, SDGs by
//!   number, the rest by slug), except where the data has an order of its own: UCAP section
//!   types and sections by the type's `position`, a pairing's participants and projects by
//!   their stored position, themes by scheme then slug, activities by date (a wider period
//!   first) then slug. Sorting happens here in Rust, bytewise, so that SQLite and PostgreSQL
//!   (whose collations differ) write the same file, and two databases holding the same data
//!   write the same bytes whatever order the rows went in. So export → import into an empty
//!   database → export gives an identical file.
//! - **Bounded.** One statement per table read (23 tables at most), whatever the number of
//!   rows; a filtered export restricts each table in SQL with the filter as a subquery.
//! - **Consistent.** All statements run in one read transaction (on PostgreSQL `REPEATABLE READ
//!   READ ONLY`; SQLite's read transactions are snapshots already), so a write that commits
//!   meanwhile is either wholly in the file or not at all.
//!
//! A **filtered export** holds the chosen pairings whole (participants, themes, SDGs, UCAP with
//! sections and projects) and what they reference, so that it imports into an empty database:
//! their cities and regions, the cities and regions of their projects, those places' countries,
//! their themes, SDGs and programme region, the UCAP section types used; the activities linked
//! to one of the pairings, with those activities' cities and all their stakeholders; and the
//! stakeholders involved in one of the pairings (or its UCAP or projects), with their city and
//! country. Links to pairings outside the selection are **trimmed**: an activity lists only the
//! chosen pairings, and a stakeholder only its involvements in them. Activities linked to no
//! chosen pairing (programme-wide events among them) are left out. Because an import makes a
//! record's children equal to the file, importing a filtered file into a database that holds
//! the other pairings removes the trimmed links there (the dry run lists them as deletions).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Display;

use entity::enums::*;
use entity::*;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, IsolationLevel, TransactionTrait, Value,
};

use super::dataset::{
    self, ActivityRecord, ActivityStakeholderRecord, CityRecord, CountryRecord, DataErrors,
    Dataset, DocumentKind, DocumentRecord, InvolvementRecord, KnownKeys, PairingRecord,
    ParticipantRecord, ProgrammeRecord, ProgrammeRegionRecord, ProjectRecord, RegionRecord,
    RuleRecord, SdgRecord, SectionRecord, SectionTypeRecord, StakeholderRecord, ThemeRecord,
    UcapRecord,
};
use super::provenance::{self, Source};
use super::search::{self, Direction, PairingFilter, PairingOrder};
use super::sql::Sql;
use crate::partial_date::PartialDate;

/// The most values one kind of filter takes (each is bound as a parameter, in several
/// statements).
pub const MAX_FILTER_VALUES: usize = 1000;

/// Referenced rows are read with `WHERE id IN (…)` up to this many ids; beyond it the table is
/// read whole and filtered here (bound parameters are limited: 32,766 on SQLite, 65,535 on
/// PostgreSQL), which is cheaper than many statements anyway.
const MAX_BOUND_IDS: usize = 10_000;

/// Which pairings to export. Within one kind the values are alternatives (any of them); the
/// kinds given must all hold. Empty: the whole dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Pairing slugs.
    pub pairings: Vec<String>,
    /// Theme slugs: pairings with at least one of them.
    pub themes: Vec<String>,
    /// ISO country codes: pairings with a participant (either side) in one of them.
    pub countries: Vec<String>,
    /// Programme region slugs.
    pub programme_regions: Vec<String>,
}

impl ExportFilter {
    /// True when it selects everything.
    pub fn is_empty(&self) -> bool {
        self.pairings.is_empty()
            && self.themes.is_empty()
            && self.countries.is_empty()
            && self.programme_regions.is_empty()
    }

    /// Checks the number of values; the message names the filter.
    pub fn check(&self) -> Result<(), String> {
        for (name, values) in [
            ("pairing", &self.pairings),
            ("theme", &self.themes),
            ("country", &self.countries),
            ("programme_region", &self.programme_regions),
        ] {
            if values.len() > MAX_FILTER_VALUES {
                return Err(format!(
                    "at most {MAX_FILTER_VALUES} values of `{name}`, not {}",
                    values.len()
                ));
            }
        }
        Ok(())
    }

    /// `SELECT c.id FROM pairing c WHERE …`: the chosen pairings, or `None` for all of them.
    pub(super) fn pairing_ids(&self) -> Option<Sql> {
        if self.is_empty() {
            return None;
        }
        let filter = PairingFilter {
            themes: self.themes.clone(),
            countries: self.countries.clone(),
            programme_regions: self.programme_regions.clone(),
            ..PairingFilter::default()
        };
        let (mut source, _) = search::pairings(&filter, PairingOrder::Title, Direction::Asc);
        if !self.pairings.is_empty() {
            let mut slugs = Sql::default();
            slugs
                .push("c.slug IN (")
                .bind_list(self.pairings.iter().map(|s| Value::String(Some(s.clone()))))
                .push(")");
            source.and(slugs);
        }
        let mut sql = Sql::default();
        sql.push("SELECT c.id FROM ").append(&source.from);
        if !source.filter.is_empty() {
            sql.push(" WHERE ").append(&source.filter);
        }
        Some(sql)
    }
}

/// Why an export did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("database error while exporting: {0}")]
    Db(#[from] DbErr),
    /// The database holds something the file format cannot say (a dangling reference, stored
    /// sources that are not a JSON list): a bug or a hand edit, named so it can be fixed.
    #[error("the database cannot be exported as it is: {0}")]
    Inconsistent(String),
}

/// How much to read: everything, or only what the pairings table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Parts {
    All,
    PairingsTable,
}

/// The whole dataset, or the filtered part, as the file format's records in export order.
pub async fn export(
    db: &DatabaseConnection,
    filter: &ExportFilter,
) -> Result<Dataset, ExportError> {
    read(db, filter, Parts::All).await
}

/// The dataset file's text: pretty-printed JSON (two-space indent, as `data/seed.json`) and a
/// final newline.
pub fn to_json(data: &Dataset) -> String {
    // Serialising plain structs of strings, numbers and lists cannot fail.
    let mut text = serde_json::to_string_pretty(data).unwrap_or_default();
    text.push('\n');
    text
}

/// Checks that a dataset imports into an empty database on its own (every reference resolves
/// inside it): what a filtered export promises.
pub fn check_self_contained(file: &str, data: &Dataset) -> Result<(), DataErrors> {
    dataset::validate(file, data, &KnownKeys::default())
}

/// The pairings table as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma,
/// a quote or a line break), one row per pairing, with a header row and no byte-order mark.
pub async fn pairings_csv(
    db: &DatabaseConnection,
    filter: &ExportFilter,
) -> Result<String, ExportError> {
    Ok(csv_of(&pairings_table(db, filter).await?))
}

/// What the pairings table shows, as a dataset: the chosen pairings with their participants,
/// themes and SDGs, and the places, countries and programme regions they name (no UCAPs,
/// stakeholders or activities: not read).
pub async fn pairings_table(
    db: &DatabaseConnection,
    filter: &ExportFilter,
) -> Result<Dataset, ExportError> {
    read(db, filter, Parts::PairingsTable).await
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 12] = [
    "slug",
    "title",
    "kind",
    "status",
    "programme_region",
    "start",
    "european_participants",
    "european_countries",
    "partner_participants",
    "partner_countries",
    "themes",
    "sdgs",
];

/// Renders the pairings of a dataset as the CSV table. Lists within a cell are joined with
/// `"; "`: participants by name (in the pairing's order), countries by ISO code (each once),
/// themes by slug (unambiguous: names repeat across schemes), SDGs by number.
pub fn csv_of(data: &Dataset) -> String {
    let mut out = csv_header();
    csv_rows(&mut out, data);
    out
}

/// The CSV's header row.
pub fn csv_header() -> String {
    let mut out = String::new();
    write_csv_row(&mut out, CSV_COLUMNS.iter().map(|c| c.to_string()));
    out
}

/// The rows of the pairings of `data` (no header): the streamed download writes a page of
/// pairings at a time.
pub fn csv_rows(out: &mut String, data: &Dataset) {
    let places = Places::of(data);
    let regions: HashMap<&str, &str> = data
        .programme_regions
        .iter()
        .map(|r| (r.slug.as_str(), r.name.as_str()))
        .collect();
    for p in &data.pairings {
        let (european, european_countries) = places.side(p, Side::European);
        let (partner, partner_countries) = places.side(p, Side::Partner);
        let sdgs: Vec<String> = p.sdgs.iter().map(i32::to_string).collect();
        write_csv_row(
            out,
            [
                p.slug.clone(),
                p.title.clone(),
                sea_orm::ActiveEnum::to_value(&p.kind),
                sea_orm::ActiveEnum::to_value(&p.status),
                regions
                    .get(p.programme_region.as_str())
                    .map_or_else(|| p.programme_region.clone(), |n| n.to_string()),
                p.start.clone().unwrap_or_default(),
                european,
                european_countries,
                partner,
                partner_countries,
                p.themes.join("; "),
                sdgs.join("; "),
            ],
        );
    }
}

/// Cities and regions by (`"city"` or `"region"`, slug): their name and country code.
struct Places<'a>(HashMap<(&'static str, &'a str), (&'a str, &'a str)>);

impl<'a> Places<'a> {
    fn of(data: &'a Dataset) -> Self {
        let cities = data.cities.iter().map(|c| {
            (
                ("city", c.slug.as_str()),
                (c.name.as_str(), c.country.as_str()),
            )
        });
        let regions = data.regions.iter().map(|r| {
            (
                ("region", r.slug.as_str()),
                (r.name.as_str(), r.country.as_str()),
            )
        });
        Places(cities.chain(regions).collect())
    }

    /// One side's cells: its participants' names and their countries (each once).
    fn side(&self, p: &PairingRecord, side: Side) -> (String, String) {
        let mut names = Vec::new();
        let mut countries: Vec<&str> = Vec::new();
        for participant in p.participants.iter().filter(|x| x.side == side) {
            let key = match (&participant.city, &participant.region) {
                (Some(city), _) => ("city", city.as_str()),
                (None, Some(region)) => ("region", region.as_str()),
                (None, None) => continue,
            };
            match self.0.get(&key) {
                Some((name, country)) => {
                    names.push(*name);
                    if !countries.contains(country) {
                        countries.push(country);
                    }
                }
                None => names.push(key.1),
            }
        }
        (names.join("; "), countries.join("; "))
    }
}

fn write_csv_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_csv_field(out, &field);
    }
    out.push_str("\r\n");
}

/// One field. A text that a spreadsheet would take for a formula gets a leading apostrophe,
/// the usual defence against CSV injection (OWASP): partners write titles, administrators open
/// the file. See `is_formula` for what counts.
fn write_csv_field(out: &mut String, field: &str) {
    let guard = is_formula(field);
    let quote = guard || field.contains([',', '"', '\r', '\n']);
    if quote {
        out.push('"');
    }
    if guard {
        out.push('\'');
    }
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
}

/// Whether a spreadsheet could run `field` as a formula: it starts with `=`, `+`, `-`, `@`, a
/// tab or a carriage return (OWASP's list), also after leading whitespace, control or invisible
/// characters, which spreadsheets skip before they look for a formula (" =1+1",
/// "\n=HYPERLINK(…)", "\u{0}@SUM(1)"). A field that is entirely a plain number ("-15.0797",
/// "+3", "1e5") is not guarded: the pairings table has numeric columns (coordinates,
/// populations), a spreadsheet reads such a cell as that number and runs nothing, and an
/// apostrophe would turn it into text and break sums and sorting.
fn is_formula(field: &str) -> bool {
    if field.starts_with(['\t', '\r']) {
        return true;
    }
    let visible = field.trim_start_matches(|c: char| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')
    });
    visible.starts_with(['=', '+', '-', '@']) && !is_plain_number(field)
}

/// An optional sign, digits with at most one decimal point, an optional exponent; nothing else
/// (no spaces, no `inf` or `NaN`).
fn is_plain_number(field: &str) -> bool {
    let unsigned = field.strip_prefix(['-', '+']).unwrap_or(field);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (digits(whole) || whole.is_empty())
                && (digits(fraction) || fraction.is_empty())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

/// Sorts a dataset into export order (see the module's documentation). Participants and
/// projects keep their order: it is data (their position). Applied to a parsed file, it gives
/// what exporting that file's database writes.
pub fn canonical(data: &mut Dataset) {
    sort_reference_data(data);
    data.cities.sort_by(|a, b| a.slug.cmp(&b.slug));
    data.regions.sort_by(|a, b| a.slug.cmp(&b.slug));
    sort_pairings(data);
    sort_stakeholders(data);
    sort_activities(data);
}

fn sort_reference_data(data: &mut Dataset) {
    data.countries.sort_by(|a, b| a.code.cmp(&b.code));
    data.programme_regions.sort_by(|a, b| a.slug.cmp(&b.slug));
    data.themes
        .sort_by(|a, b| (a.scheme, &a.slug).cmp(&(b.scheme, &b.slug)));
    data.sdgs.sort_by_key(|s| s.number);
    data.ucap_section_types
        .sort_by(|a, b| (a.position, &a.slug).cmp(&(b.position, &b.slug)));
}

/// By slug; within a pairing, themes and SDGs in order, UCAP sections by their type's position.
fn sort_pairings(data: &mut Dataset) {
    let section_position: HashMap<&str, i32> = data
        .ucap_section_types
        .iter()
        .map(|t| (t.slug.as_str(), t.position))
        .collect();
    data.pairings.sort_by(|a, b| a.slug.cmp(&b.slug));
    for p in &mut data.pairings {
        p.themes.sort();
        p.sdgs.sort_unstable();
        if let Some(ucap) = &mut p.ucap {
            ucap.sections.sort_by(|a, b| {
                let key = |s: &SectionRecord| {
                    (
                        section_position
                            .get(s.section_type.as_str())
                            .copied()
                            .unwrap_or(i32::MAX),
                        s.section_type.clone(),
                    )
                };
                key(a).cmp(&key(b))
            });
        }
    }
}

/// By slug; a stakeholder's involvements in pairings, then UCAPs, then projects.
fn sort_stakeholders(data: &mut Dataset) {
    data.stakeholders.sort_by(|a, b| a.slug.cmp(&b.slug));
    for s in &mut data.stakeholders {
        s.involvements
            .sort_by_cached_key(|i| match (&i.pairing, &i.ucap, &i.project) {
                (Some(p), _, _) => (0, p.clone()),
                (None, Some(u), _) => (1, u.clone()),
                (None, None, Some(p)) => (2, p.clone()),
                (None, None, None) => (3, String::new()),
            });
    }
}

/// By date: the first day of the period, a wider period first (the year 2019 before its
/// first half, as a timeline reads), then slug.
fn sort_activities(data: &mut Dataset) {
    data.activities.sort_by_cached_key(|r| {
        let date = r.date.parse::<PartialDate>().ok();
        (
            date.map(|d| d.start),
            date.map(|d| std::cmp::Reverse(d.precision)),
            r.slug.clone(),
        )
    });
    for a in &mut data.activities {
        a.pairings.sort();
        a.stakeholders
            .sort_by(|x, y| x.stakeholder.cmp(&y.stakeholder));
    }
}

// ---------------------------------------------------------------- reading

/// Opens the read transaction every statement of one export runs in.
pub(super) async fn snapshot(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        // READ COMMITTED (the default) would let each statement see later commits.
        DbBackend::Postgres => {
            db.begin_with_config(
                Some(IsolationLevel::RepeatableRead),
                Some(AccessMode::ReadOnly),
            )
            .await
        }
        // A deferred SQLite transaction reads one snapshot from its first statement on (WAL);
        // sea-orm warns when asked for an isolation level there, so none is asked for.
        _ => db.begin().await,
    }
}

async fn read(
    db: &DatabaseConnection,
    filter: &ExportFilter,
    parts: Parts,
) -> Result<Dataset, ExportError> {
    let txn = snapshot(db).await?;
    let data = read_in(&txn, filter, parts).await;
    // Nothing was written: ending the transaction either way is the same.
    txn.rollback().await?;
    let mut data = data?;
    canonical(&mut data);
    Ok(data)
}

/// `column IN (subquery)`.
pub(super) fn within(column: &str, subquery: &Sql) -> Sql {
    let mut sql = Sql::default();
    sql.push(column).push(" IN (").append(subquery).push(")");
    sql
}

/// `id IN (…)` for a few ids; `None` (read the whole table and filter here) for many.
fn ids_condition(ids: &BTreeSet<i32>) -> Option<Sql> {
    if ids.len() > MAX_BOUND_IDS {
        return None;
    }
    let mut sql = Sql::default();
    sql.push("id IN (")
        .bind_list(ids.iter().map(|id| Value::Int(Some(*id))))
        .push(")");
    Some(sql)
}

/// Every row of `E`'s table that meets `condition` (all rows for `None`), in one statement.
pub(super) async fn rows<E: EntityTrait>(
    db: &impl ConnectionTrait,
    condition: Option<&Sql>,
) -> Result<Vec<E::Model>, DbErr> {
    let mut sql = Sql::default();
    sql.push("SELECT * FROM ").push(E::default().table_name());
    if let Some(condition) = condition {
        sql.push(" WHERE ").append(condition);
    }
    E::find()
        .from_raw_sql(sql.statement(db.get_database_backend()))
        .all(db)
        .await
}

/// Rows of a table that the export references: all of them for a whole export; otherwise
/// those with an id in `ids`.
pub(super) async fn referenced<E: EntityTrait>(
    db: &impl ConnectionTrait,
    whole: bool,
    ids: &BTreeSet<i32>,
    id: impl Fn(&E::Model) -> i32,
) -> Result<Vec<E::Model>, DbErr> {
    if whole {
        return rows::<E>(db, None).await;
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut models = rows::<E>(db, ids_condition(ids).as_ref()).await?;
    models.retain(|m| ids.contains(&id(m)));
    Ok(models)
}

/// A lookup from row id to natural key that names what is missing when it misses.
struct Keys<V>(HashMap<i32, V>);

impl<V: Clone> Keys<V> {
    fn new<M>(models: &[M], entry: impl Fn(&M) -> (i32, V)) -> Self {
        Keys(models.iter().map(entry).collect())
    }

    fn get(&self, id: i32, kind: &str, from: impl Display) -> Result<V, ExportError> {
        self.0.get(&id).cloned().ok_or_else(|| {
            ExportError::Inconsistent(format!("{from} refers to {kind} id {id}, which is missing"))
        })
    }

    fn get_opt(
        &self,
        id: Option<i32>,
        kind: &str,
        from: impl Display,
    ) -> Result<Option<V>, ExportError> {
        id.map(|id| self.get(id, kind, from)).transpose()
    }
}

fn sources(text: &str, from: impl Display) -> Result<Vec<Source>, ExportError> {
    let _: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| {
        ExportError::Inconsistent(format!(
            "{from}: the stored sources {text:?} are not a JSON list ({e})"
        ))
    })?;
    Ok(provenance::parse(text))
}

fn date(
    date: Option<chrono::NaiveDate>,
    precision: Option<DatePrecision>,
    from: impl Display,
) -> Result<Option<String>, ExportError> {
    match (date, precision) {
        (Some(d), Some(p)) => Ok(Some(PartialDate::new(d, p).to_string())),
        (None, None) => Ok(None),
        _ => Err(ExportError::Inconsistent(format!(
            "{from}: a date needs both its day and its precision"
        ))),
    }
}

/// The restriction of each table to what belongs to the chosen pairings (`None`: all rows).
pub(super) struct Scope {
    pub(super) chosen: Option<Sql>,
    pub(super) by_pairing: Option<Sql>,
    pub(super) ucap_ids: Option<Sql>,
    pub(super) activity_ids: Option<Sql>,
}

impl Scope {
    pub(super) fn new(filter: &ExportFilter) -> Self {
        let chosen = filter.pairing_ids();
        let by_pairing = chosen.as_ref().map(|p| within("pairing_id", p));
        let ucap_ids = chosen.as_ref().map(|p| {
            let mut sql = Sql::default();
            sql.push("SELECT id FROM ucap WHERE ")
                .append(&within("pairing_id", p));
            sql
        });
        let activity_ids = chosen.as_ref().map(|p| {
            let mut sql = Sql::default();
            sql.push("SELECT activity_id FROM activity_pairing WHERE ")
                .append(&within("pairing_id", p));
            sql
        });
        Self {
            chosen,
            by_pairing,
            ucap_ids,
            activity_ids,
        }
    }

    /// Whether every pairing is chosen.
    pub(super) fn whole(&self) -> bool {
        self.chosen.is_none()
    }

    /// Involvements in the chosen pairings, their UCAPs and their projects only: the rest is
    /// trimmed.
    pub(super) fn involvements(&self) -> Option<Sql> {
        match (&self.chosen, &self.ucap_ids) {
            (Some(p), Some(u)) => {
                let mut project_ids = Sql::default();
                project_ids
                    .push("SELECT id FROM project WHERE ")
                    .append(&within("ucap_id", u));
                let mut sql = Sql::default();
                sql.append(&within("pairing_id", p))
                    .push(" OR ")
                    .append(&within("ucap_id", u))
                    .push(" OR ")
                    .append(&within("project_id", &project_ids));
                Some(sql)
            }
            _ => None,
        }
    }
}

/// The rows an export reads, by table.
#[derive(Default)]
pub(super) struct Tables {
    pub(super) pairings: Vec<pairing::Model>,
    pub(super) participants: Vec<pairing_participant::Model>,
    pub(super) pairing_themes: Vec<pairing_theme::Model>,
    pub(super) pairing_sdgs: Vec<pairing_sdg::Model>,
    pub(super) ucaps: Vec<ucap::Model>,
    pub(super) sections: Vec<ucap_section::Model>,
    pub(super) projects: Vec<project::Model>,
    pub(super) activity_pairings: Vec<activity_pairing::Model>,
    pub(super) activities: Vec<activity::Model>,
    pub(super) activity_stakeholders: Vec<activity_stakeholder::Model>,
    pub(super) involvements: Vec<involvement::Model>,
    pub(super) stakeholders: Vec<stakeholder::Model>,
    pub(super) cities: Vec<city::Model>,
    pub(super) regions: Vec<region::Model>,
    pub(super) countries: Vec<country::Model>,
    pub(super) programme_regions: Vec<programme_region::Model>,
    pub(super) themes: Vec<theme::Model>,
    pub(super) sdgs: Vec<sdg::Model>,
    pub(super) section_types: Vec<ucap_section_type::Model>,
    pub(super) documents: Vec<document::Model>,
    pub(super) rules: Vec<derivation_rule::Model>,
    pub(super) programme: Vec<programme::Model>,
    pub(super) programme_region_countries: Vec<programme_region_country::Model>,
}

async fn read_in(
    db: &DatabaseTransaction,
    filter: &ExportFilter,
    parts: Parts,
) -> Result<Dataset, ExportError> {
    let scope = Scope::new(filter);
    let all = parts == Parts::All;
    let mut tables = Tables {
        pairings: rows::<pairing::Entity>(
            db,
            scope.chosen.as_ref().map(|p| within("id", p)).as_ref(),
        )
        .await?,
        participants: rows::<pairing_participant::Entity>(db, scope.by_pairing.as_ref()).await?,
        pairing_themes: rows::<pairing_theme::Entity>(db, scope.by_pairing.as_ref()).await?,
        pairing_sdgs: rows::<pairing_sdg::Entity>(db, scope.by_pairing.as_ref()).await?,
        ..Tables::default()
    };
    if all {
        tables
            .read_ucaps_activities_stakeholders(db, &scope)
            .await?;
    }
    tables.read_places(db, scope.whole()).await?;
    tables.read_reference_data(db, all).await?;
    if !scope.whole() || !all {
        tables.retain_referenced_reference_data();
        // The programme is the whole programme's record, not a part of some pairings.
        tables.programme.clear();
    }
    let keys = NaturalKeys::new(&tables)?;
    tables.into_dataset(&keys)
}

impl Tables {
    /// UCAPs with their sections and projects, activities, and the stakeholders involved or
    /// taking part.
    async fn read_ucaps_activities_stakeholders(
        &mut self,
        db: &DatabaseTransaction,
        scope: &Scope,
    ) -> Result<(), DbErr> {
        let by_ucap = scope.ucap_ids.as_ref().map(|u| within("ucap_id", u));
        self.ucaps = rows::<ucap::Entity>(db, scope.by_pairing.as_ref()).await?;
        self.sections = rows::<ucap_section::Entity>(db, by_ucap.as_ref()).await?;
        self.projects = rows::<project::Entity>(db, by_ucap.as_ref()).await?;
        self.activity_pairings =
            rows::<activity_pairing::Entity>(db, scope.by_pairing.as_ref()).await?;
        self.activities = rows::<activity::Entity>(
            db,
            scope
                .activity_ids
                .as_ref()
                .map(|a| within("id", a))
                .as_ref(),
        )
        .await?;
        self.activity_stakeholders = rows::<activity_stakeholder::Entity>(
            db,
            scope
                .activity_ids
                .as_ref()
                .map(|a| within("activity_id", a))
                .as_ref(),
        )
        .await?;
        self.involvements = rows::<involvement::Entity>(db, scope.involvements().as_ref()).await?;
        let stakeholder_ids: BTreeSet<i32> = self
            .involvements
            .iter()
            .map(|i| i.stakeholder_id)
            .chain(self.activity_stakeholders.iter().map(|s| s.stakeholder_id))
            .collect();
        self.stakeholders =
            referenced::<stakeholder::Entity>(db, scope.whole(), &stakeholder_ids, |m| m.id)
                .await?;
        Ok(())
    }

    /// The cities and regions that the rows read so far name.
    pub(super) async fn read_places(
        &mut self,
        db: &DatabaseTransaction,
        whole: bool,
    ) -> Result<(), DbErr> {
        let city_ids: BTreeSet<i32> = self
            .participants
            .iter()
            .filter_map(|p| p.city_id)
            .chain(self.projects.iter().filter_map(|p| p.city_id))
            .chain(self.stakeholders.iter().filter_map(|s| s.city_id))
            .chain(self.activities.iter().filter_map(|a| a.city_id))
            .collect();
        let region_ids: BTreeSet<i32> = self
            .participants
            .iter()
            .filter_map(|p| p.region_id)
            .chain(self.projects.iter().filter_map(|p| p.region_id))
            .collect();
        self.cities = referenced::<city::Entity>(db, whole, &city_ids, |m| m.id).await?;
        self.regions = referenced::<region::Entity>(db, whole, &region_ids, |m| m.id).await?;
        Ok(())
    }

    /// Small reference tables: read whole (see `retain_referenced_reference_data`).
    async fn read_reference_data(
        &mut self,
        db: &DatabaseTransaction,
        all: bool,
    ) -> Result<(), DbErr> {
        self.countries = rows::<country::Entity>(db, None).await?;
        self.programme_regions = rows::<programme_region::Entity>(db, None).await?;
        self.themes = rows::<theme::Entity>(db, None).await?;
        self.sdgs = rows::<sdg::Entity>(db, None).await?;
        if all {
            self.section_types = rows::<ucap_section_type::Entity>(db, None).await?;
            // What sources cite, and the programme: small, and read whole.
            self.documents = rows::<document::Entity>(db, None).await?;
            self.rules = rows::<derivation_rule::Entity>(db, None).await?;
            self.programme = rows::<programme::Entity>(db, None).await?;
            self.programme_region_countries =
                rows::<programme_region_country::Entity>(db, None).await?;
        }
        Ok(())
    }

    /// Keeps the reference rows that the other rows refer to (not all of them are, in a
    /// filtered export or the pairings table).
    fn retain_referenced_reference_data(&mut self) {
        let used: HashSet<i32> = self
            .pairings
            .iter()
            .map(|p| p.programme_region_id)
            .collect();
        self.programme_regions.retain(|r| used.contains(&r.id));
        // A programme region comes whole, with its countries.
        self.programme_region_countries
            .retain(|l| used.contains(&l.programme_region_id));
        let used: HashSet<i32> = self
            .cities
            .iter()
            .map(|c| c.country_id)
            .chain(self.regions.iter().map(|r| r.country_id))
            .chain(self.stakeholders.iter().filter_map(|s| s.country_id))
            .chain(self.programme_region_countries.iter().map(|l| l.country_id))
            .collect();
        self.countries.retain(|c| used.contains(&c.id));
        let used: HashSet<i32> = self.pairing_themes.iter().map(|t| t.theme_id).collect();
        self.themes.retain(|t| used.contains(&t.id));
        let used: HashSet<i32> = self.pairing_sdgs.iter().map(|s| s.sdg_id).collect();
        self.sdgs.retain(|s| used.contains(&s.id));
        let used: HashSet<i32> = self.sections.iter().map(|s| s.section_type_id).collect();
        self.section_types.retain(|t| used.contains(&t.id));
    }
}

/// Row ids to natural keys: the file refers to records by slug (by code, by number).
pub(super) struct NaturalKeys {
    country_code: Keys<String>,
    city_slug: Keys<String>,
    region_slug: Keys<String>,
    pairing_slug: Keys<String>,
    programme_region_slug: Keys<String>,
    theme_slug: Keys<String>,
    sdg_number: Keys<i32>,
    section_type_slug: Keys<String>,
    stakeholder_slug: Keys<String>,
    project_slug: Keys<String>,
    /// A UCAP is named by its pairing's slug.
    ucap_pairing: Keys<String>,
}

impl NaturalKeys {
    pub(super) fn new(t: &Tables) -> Result<Self, ExportError> {
        let pairing_slug = Keys::new(&t.pairings, |m| (m.id, m.slug.clone()));
        let mut ucap_pairing = HashMap::new();
        for u in &t.ucaps {
            let slug = pairing_slug.get(u.pairing_id, "pairing", format_args!("ucap {}", u.id))?;
            ucap_pairing.insert(u.id, slug);
        }
        Ok(Self {
            country_code: Keys::new(&t.countries, |m| (m.id, m.code.clone())),
            city_slug: Keys::new(&t.cities, |m| (m.id, m.slug.clone())),
            region_slug: Keys::new(&t.regions, |m| (m.id, m.slug.clone())),
            pairing_slug,
            programme_region_slug: Keys::new(&t.programme_regions, |m| (m.id, m.slug.clone())),
            theme_slug: Keys::new(&t.themes, |m| (m.id, m.slug.clone())),
            sdg_number: Keys::new(&t.sdgs, |m| (m.id, m.number)),
            section_type_slug: Keys::new(&t.section_types, |m| (m.id, m.slug.clone())),
            stakeholder_slug: Keys::new(&t.stakeholders, |m| (m.id, m.slug.clone())),
            project_slug: Keys::new(&t.projects, |m| (m.id, m.slug.clone())),
            ucap_pairing: Keys(ucap_pairing),
        })
    }
}

/// Rows grouped by their parent's id, each turned into what the parent's record holds, in the
/// order read.
fn group<T, V>(
    rows: Vec<T>,
    parent: impl Fn(&T) -> i32,
    mut value: impl FnMut(T) -> Result<V, ExportError>,
) -> Result<HashMap<i32, Vec<V>>, ExportError> {
    let mut groups: HashMap<i32, Vec<V>> = HashMap::new();
    for row in rows {
        let key = parent(&row);
        groups.entry(key).or_default().push(value(row)?);
    }
    Ok(groups)
}

impl Tables {
    /// The file's records, in the order the file lists them.
    pub(super) fn into_dataset(self, keys: &NaturalKeys) -> Result<Dataset, ExportError> {
        let Tables {
            pairings,
            participants,
            pairing_themes,
            pairing_sdgs,
            ucaps,
            sections,
            projects,
            activity_pairings,
            activities,
            activity_stakeholders,
            involvements,
            stakeholders,
            cities,
            regions,
            countries,
            programme_regions,
            themes,
            sdgs,
            section_types,
            documents,
            rules,
            programme,
            programme_region_countries,
        } = self;
        let (cities, regions) = places(cities, regions, keys)?;
        let region_ids: Vec<i32> = programme_regions.iter().map(|m| m.id).collect();
        let mut programme_regions: Vec<ProgrammeRegionRecord> = records(programme_regions);
        let mut covered = group(
            programme_region_countries,
            |l| l.programme_region_id,
            |l| {
                keys.country_code
                    .get(l.country_id, "country", "programme region")
            },
        )?;
        for (record, id) in programme_regions.iter_mut().zip(&region_ids) {
            record.countries = covered.remove(id).unwrap_or_default();
        }
        let children = PairingChildren::new(participants, pairing_themes, pairing_sdgs, keys)?;
        let ucaps = ucap_records(ucaps, sections, projects, keys)?;
        Ok(Dataset {
            format: dataset::FORMAT.to_owned(),
            documents: records(documents),
            rules: records(rules),
            programme: programme
                .into_iter()
                .next()
                .map(programme_record)
                .transpose()?,
            countries: records(countries),
            programme_regions,
            themes: records(themes),
            sdgs: records(sdgs),
            ucap_section_types: records(section_types),
            cities,
            regions,
            pairings: pairing_records(pairings, children, ucaps, keys)?,
            stakeholders: stakeholder_records(stakeholders, involvements, keys)?,
            activities: activity_records(
                activities,
                activity_pairings,
                activity_stakeholders,
                keys,
            )?,
        })
    }
}

fn records<M, R: From<M>>(models: Vec<M>) -> Vec<R> {
    models.into_iter().map(R::from).collect()
}

impl From<country::Model> for CountryRecord {
    fn from(m: country::Model) -> Self {
        CountryRecord {
            code: m.code,
            name: m.name,
            notes: m.notes,
            sources: provenance::parse(&m.sources),
        }
    }
}

impl From<programme_region::Model> for ProgrammeRegionRecord {
    fn from(m: programme_region::Model) -> Self {
        ProgrammeRegionRecord {
            slug: m.slug,
            name: m.name,
            description: m.description,
            // Filled from the link table by `into_dataset`.
            countries: Vec::new(),
            sources: provenance::parse(&m.sources),
        }
    }
}

impl From<theme::Model> for ThemeRecord {
    fn from(m: theme::Model) -> Self {
        ThemeRecord {
            slug: m.slug,
            scheme: m.scheme,
            name: m.name,
            description: m.description,
            sources: provenance::parse(&m.sources),
        }
    }
}

impl From<sdg::Model> for SdgRecord {
    fn from(m: sdg::Model) -> Self {
        SdgRecord {
            number: m.number,
            name: m.name,
            sources: provenance::parse(&m.sources),
        }
    }
}

impl From<ucap_section_type::Model> for SectionTypeRecord {
    fn from(m: ucap_section_type::Model) -> Self {
        SectionTypeRecord {
            slug: m.slug,
            name: m.name,
            position: m.position,
            sources: provenance::parse(&m.sources),
        }
    }
}

impl From<document::Model> for DocumentRecord {
    fn from(m: document::Model) -> Self {
        DocumentRecord {
            key: m.key,
            // The loader writes only the kinds the format knows.
            kind: DocumentKind::parse(&m.kind).unwrap_or(DocumentKind::Dataset),
            title: m.title,
            url: m.url,
            notes: m.notes,
        }
    }
}

impl From<derivation_rule::Model> for RuleRecord {
    fn from(m: derivation_rule::Model) -> Self {
        RuleRecord {
            slug: m.slug,
            description: m.description,
        }
    }
}

/// The programme's record: its JSON columns hold the seed format's lists.
fn programme_record(m: programme::Model) -> Result<ProgrammeRecord, ExportError> {
    fn read<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, ExportError> {
        serde_json::from_str(text).map_err(|e| {
            ExportError::Inconsistent(format!("the programme's stored {what} do not read ({e})"))
        })
    }
    Ok(ProgrammeRecord {
        components: read(&m.components, "components")?,
        follow_up: m
            .follow_up
            .as_deref()
            .map(|t| read(t, "follow-up"))
            .transpose()?,
        figures: read(&m.figures, "figures")?,
        sources: provenance::parse(&m.sources),
        slug: m.slug,
        name: m.name,
        description: m.description,
        notes: m.notes,
    })
}

/// The cities' and the regions' records.
fn places(
    cities: Vec<city::Model>,
    regions: Vec<region::Model>,
    keys: &NaturalKeys,
) -> Result<(Vec<CityRecord>, Vec<RegionRecord>), ExportError> {
    // A city and a region share their attributes (the file format repeats them: serde cannot
    // combine `flatten` with `deny_unknown_fields`); one mapping serves both.
    macro_rules! place {
        ($record:ident, $m:ident, $what:literal { $($extra:tt)* }) => {{
            let from = format!(concat!($what, " {:?}"), $m.slug);
            $record {
                country: keys.country_code.get($m.country_id, "country", &from)?,
                sources: sources(&$m.sources, &from)?,
                slug: $m.slug,
                name: $m.name,
                population: $m.population,
                area_km2: $m.area_km2,
                leader: $m.leader,
                latitude: $m.latitude,
                longitude: $m.longitude,
                photo_credit: $m.photo_credit,
                wikidata: $m.wikidata,
                geonames_id: $m.geonames_id,
                notes: $m.notes,
                $($extra)*
            }
        }};
    }
    let mut city_records = Vec::with_capacity(cities.len());
    for m in cities {
        city_records.push(place!(CityRecord, m, "city" { kind: m.kind }));
    }
    let mut region_records = Vec::with_capacity(regions.len());
    for m in regions {
        region_records.push(place!(RegionRecord, m, "region" {}));
    }
    Ok((city_records, region_records))
}

/// A pairing's participants, theme slugs and SDG numbers, by pairing id.
struct PairingChildren {
    participants: HashMap<i32, Vec<pairing_participant::Model>>,
    themes: HashMap<i32, Vec<String>>,
    sdgs: HashMap<i32, Vec<i32>>,
}

impl PairingChildren {
    fn new(
        participants: Vec<pairing_participant::Model>,
        pairing_themes: Vec<pairing_theme::Model>,
        pairing_sdgs: Vec<pairing_sdg::Model>,
        keys: &NaturalKeys,
    ) -> Result<Self, ExportError> {
        Ok(Self {
            participants: group(participants, |p| p.pairing_id, Ok)?,
            themes: group(
                pairing_themes,
                |t| t.pairing_id,
                |t| {
                    keys.theme_slug.get(
                        t.theme_id,
                        "theme",
                        format_args!("pairing id {}", t.pairing_id),
                    )
                },
            )?,
            sdgs: group(
                pairing_sdgs,
                |s| s.pairing_id,
                |s| {
                    keys.sdg_number.get(
                        s.sdg_id,
                        "SDG",
                        format_args!("pairing id {}", s.pairing_id),
                    )
                },
            )?,
        })
    }
}

/// The UCAPs' records with their sections and projects, by pairing id.
fn ucap_records(
    ucaps: Vec<ucap::Model>,
    sections: Vec<ucap_section::Model>,
    projects: Vec<project::Model>,
    keys: &NaturalKeys,
) -> Result<HashMap<i32, UcapRecord>, ExportError> {
    let mut sections_of = group(
        sections,
        |s| s.ucap_id,
        |s| {
            Ok(SectionRecord {
                section_type: keys.section_type_slug.get(
                    s.section_type_id,
                    "UCAP section type",
                    format_args!("UCAP section {}", s.id),
                )?,
                body: s.body,
            })
        },
    )?;
    let mut projects_of = group(projects, |p| p.ucap_id, Ok)?;
    let mut ucap_of = HashMap::new();
    for u in ucaps {
        let mut projects = projects_of.remove(&u.id).unwrap_or_default();
        projects.sort_by_key(|p| (p.position, p.id));
        let mut records = Vec::with_capacity(projects.len());
        for p in projects {
            let from = format!("project {:?}", p.slug);
            records.push(ProjectRecord {
                city: keys.city_slug.get_opt(p.city_id, "city", &from)?,
                region: keys.region_slug.get_opt(p.region_id, "region", &from)?,
                slug: p.slug,
                kind: p.kind,
                title: p.title,
                description: p.description,
                sources: sources(&p.sources, &from)?,
            });
        }
        ucap_of.insert(
            u.pairing_id,
            UcapRecord {
                status: u.status,
                sections: sections_of.remove(&u.id).unwrap_or_default(),
                projects: records,
                sources: provenance::parse(&u.sources),
            },
        );
    }
    Ok(ucap_of)
}

fn pairing_records(
    pairings: Vec<pairing::Model>,
    mut children: PairingChildren,
    mut ucap_of: HashMap<i32, UcapRecord>,
    keys: &NaturalKeys,
) -> Result<Vec<PairingRecord>, ExportError> {
    let mut pairing_records = Vec::with_capacity(pairings.len());
    for m in pairings {
        let from = format!("pairing {:?}", m.slug);
        let mut members = children.participants.remove(&m.id).unwrap_or_default();
        members.sort_by_key(|p| (p.position, p.id));
        let mut participants = Vec::with_capacity(members.len());
        for p in members {
            participants.push(ParticipantRecord {
                city: keys.city_slug.get_opt(p.city_id, "city", &from)?,
                region: keys.region_slug.get_opt(p.region_id, "region", &from)?,
                side: p.side,
                role: p.role,
            });
        }
        pairing_records.push(PairingRecord {
            programme_region: keys.programme_region_slug.get(
                m.programme_region_id,
                "programme region",
                &from,
            )?,
            start: date(m.start_date, m.start_precision, &from)?,
            sources: sources(&m.sources, &from)?,
            participants,
            themes: children.themes.remove(&m.id).unwrap_or_default(),
            sdgs: children.sdgs.remove(&m.id).unwrap_or_default(),
            ucap: ucap_of.remove(&m.id),
            slug: m.slug,
            kind: m.kind,
            title: m.title,
            summary: m.summary,
            description: m.description,
            status: m.status,
            notes: m.notes,
        });
    }
    Ok(pairing_records)
}

fn stakeholder_records(
    stakeholders: Vec<stakeholder::Model>,
    involvements: Vec<involvement::Model>,
    keys: &NaturalKeys,
) -> Result<Vec<StakeholderRecord>, ExportError> {
    let mut involvements_of = group(
        involvements,
        |i| i.stakeholder_id,
        |i| {
            let from = format!("involvement {}", i.id);
            Ok(InvolvementRecord {
                pairing: keys.pairing_slug.get_opt(i.pairing_id, "pairing", &from)?,
                ucap: keys.ucap_pairing.get_opt(i.ucap_id, "UCAP", &from)?,
                project: keys.project_slug.get_opt(i.project_id, "project", &from)?,
                role: i.role,
            })
        },
    )?;
    let mut stakeholder_records = Vec::with_capacity(stakeholders.len());
    for m in stakeholders {
        let from = format!("stakeholder {:?}", m.slug);
        stakeholder_records.push(StakeholderRecord {
            city: keys.city_slug.get_opt(m.city_id, "city", &from)?,
            country: keys.country_code.get_opt(m.country_id, "country", &from)?,
            sources: sources(&m.sources, &from)?,
            involvements: involvements_of.remove(&m.id).unwrap_or_default(),
            slug: m.slug,
            name: m.name,
            helix: m.helix,
            description: m.description,
            notes: m.notes,
        });
    }
    Ok(stakeholder_records)
}

fn activity_records(
    activities: Vec<activity::Model>,
    activity_pairings: Vec<activity_pairing::Model>,
    activity_stakeholders: Vec<activity_stakeholder::Model>,
    keys: &NaturalKeys,
) -> Result<Vec<ActivityRecord>, ExportError> {
    let mut pairings_of = group(
        activity_pairings,
        |a| a.activity_id,
        |a| {
            keys.pairing_slug.get(
                a.pairing_id,
                "pairing",
                format_args!("activity id {}", a.activity_id),
            )
        },
    )?;
    let mut stakeholders_of = group(
        activity_stakeholders,
        |s| s.activity_id,
        |s| {
            Ok(ActivityStakeholderRecord {
                stakeholder: keys.stakeholder_slug.get(
                    s.stakeholder_id,
                    "stakeholder",
                    format_args!("activity id {}", s.activity_id),
                )?,
                role: s.role,
            })
        },
    )?;
    let mut activity_records = Vec::with_capacity(activities.len());
    for m in activities {
        let from = format!("activity {:?}", m.slug);
        activity_records.push(ActivityRecord {
            date: PartialDate::new(m.date, m.date_precision).to_string(),
            city: keys.city_slug.get_opt(m.city_id, "city", &from)?,
            status: m.status,
            sources: sources(&m.sources, &from)?,
            pairings: pairings_of.remove(&m.id).unwrap_or_default(),
            stakeholders: stakeholders_of.remove(&m.id).unwrap_or_default(),
            slug: m.slug,
            kind: m.kind,
            title: m.title,
            description: m.description,
            place: m.place,
            notes: m.notes,
        });
    }
    Ok(activity_records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(text: &str) -> String {
        let mut out = String::new();
        write_csv_field(&mut out, text);
        out
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(field("Rome"), "Rome");
        assert_eq!(field("Belfast, Cali"), "\"Belfast, Cali\"");
        assert_eq!(field("the \"Smart\" lab"), "\"the \"\"Smart\"\" lab\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
        assert_eq!(field("São Leopoldo"), "São Leopoldo");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        // A plain number is a number, not a formula (see `is_formula`).
        assert_eq!(field("-1"), "-1");
        assert_eq!(field("-15.0797"), "-15.0797");
    }

    #[test]
    fn formulas_are_guarded_after_any_leading_whitespace_or_control_characters() {
        let skipped = [
            "", " ", "  ", "\n", "\r\n", "\t", "\u{0}", "\u{7}", "\u{1b}", "\u{7f}", "\u{85}",
            "\u{a0}", "\u{2003}", "\u{3000}", "\u{200b}", "\u{feff}", " \u{0}\n",
        ];
        let formulas = [
            "=1+1",
            "+1+1",
            "-2+3",
            "@SUM(1)",
            "=HYPERLINK(\"http://x\")",
            "-2",
        ];
        for prefix in skipped {
            for formula in formulas {
                let text = format!("{prefix}{formula}");
                if prefix.is_empty() && formula == "-2" {
                    continue; // a plain number
                }
                let out = field(&text);
                assert!(out.starts_with("\"'"), "{text:?} → {out:?}");
                assert!(is_formula(&text), "{text:?}");
            }
        }
        for text in ["\tplain", "\rplain"] {
            assert!(is_formula(text), "{text:?}");
        }
    }

    #[test]
    fn plain_numbers_and_ordinary_text_are_left_alone() {
        for text in [
            "-15.0797",
            "+3",
            "-0",
            "1e5",
            "-1.5E-3",
            ".5",
            "-.5",
            "12.",
            "Rome – Yantai",
            "São Leopoldo",
            "a=b",
            "x@y.org",
            "2017-03",
            " padded",
            "",
        ] {
            assert!(!is_formula(text), "{text:?}");
        }
        for text in [
            "-", "+", "-.", "-1e", "-1e+", "-1.2.3", "-1 ", " -1", "-inf", "-NaN", "-1+1", "--1",
            "-0x10",
        ] {
            assert!(is_formula(text), "{text:?}");
        }
    }
}
