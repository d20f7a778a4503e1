//! Public downloads, streamed: the dataset in the seed format, the pairings table as CSV and
//! GeoJSON for maps (`geojson.rs`), whole or filtered like the export (`export::ExportFilter`).
//!
//! - **Same bytes as the export.** The dataset and the CSV are what `export::to_json` and
//!   `export::csv_of` write for the same filter (a test compares them): the records come from
//!   the export's own conversions (`Tables::into_dataset`), a page at a time.
//! - **Bounded memory.** Records are read in pages of [`PAGE`] in export order (by slug,
//!   bytewise; activities by date, the wider period first, then slug) and written to a bounded
//!   channel the response body drains, so the server holds a page and a few chunks, whatever
//!   the size of the data. Only the small reference tables (countries, programme regions,
//!   themes, SDGs, UCAP section types) are held whole, to turn row ids into natural keys.
//! - **Statements.** Per page a bounded number, whatever the page holds: a pairings page reads
//!   its participants, themes, SDGs, UCAPs, sections, projects, cities and regions (9); a
//!   stakeholders page its involvements, projects, UCAPs, pairings, cities, regions (7); an
//!   activities page its pairing links, stakeholder links, pairings, stakeholders, cities,
//!   regions (7); a page of cities or regions 1.
//! - **Consistent.** Everything, the state the `ETag` is made of included, is read in one
//!   read-only snapshot (`export::snapshot`).

use std::collections::BTreeSet;

use entity::*;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait, Statement,
};
use serde::Serialize;
use tokio::sync::mpsc;

use super::export::{self, ExportError, ExportFilter, NaturalKeys, Scope, Tables, rows, within};
use super::sql::Sql;
use crate::service::dataset::{self, Dataset};

/// Records read per statement.
pub const PAGE: usize = 500;

/// Bytes gathered before a chunk goes to the response body.
const CHUNK: usize = 64 * 1024;

/// Chunks waiting for the client at most: with `CHUNK`, what a slow client costs the server.
const QUEUED_CHUNKS: usize = 4;

/// How long a chunk may wait for the client to read before the download is given up.
const STALLED: std::time::Duration = std::time::Duration::from_secs(30);

/// What a download holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    /// The dataset in the seed format (`iuc-graph import` reads it).
    Dataset,
    /// The pairings table as CSV (`export::CSV_COLUMNS`).
    PairingsCsv,
    /// Cities and regions with coordinates, as GeoJSON points.
    PlacesGeoJson,
    /// Pairings as GeoJSON lines between their participants.
    PairingsGeoJson,
}

impl Download {
    /// A short name, part of the `ETag`.
    pub fn name(self) -> &'static str {
        match self {
            Download::Dataset => "dataset",
            Download::PairingsCsv => "pairings-csv",
            Download::PlacesGeoJson => "places-geojson",
            Download::PairingsGeoJson => "pairings-geojson",
        }
    }
}

/// Why a download stopped.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The client went away, or stopped reading for `STALLED`: nothing to report.
    #[error("the client closed the connection or stopped reading")]
    Gone,
}

impl From<DbErr> for DownloadError {
    fn from(e: DbErr) -> Self {
        DownloadError::Export(ExportError::Db(e))
    }
}

/// The state of the data a download is made of, in one small statement: the change feed's
/// latest position, the audit trail's latest id (an import's summary: it also covers reference
/// data, which the feed does not follow) and the highest row ids of the main tables (a seed or
/// `generate` into an empty database writes neither feed nor audit trail). Index look-ups
/// only, whatever the size of the data.
pub async fn state(db: &impl ConnectionTrait) -> Result<String, DbErr> {
    const PARTS: [(&str, &str); 9] = [
        ("position", "change_event"),
        ("id", "audit_event"),
        ("id", "pairing"),
        ("id", "city"),
        ("id", "region"),
        ("id", "stakeholder"),
        ("id", "activity"),
        ("id", "country"),
        ("id", "theme"),
    ];
    let columns: Vec<String> = PARTS
        .iter()
        .map(|(column, table)| {
            format!("(SELECT CAST(COALESCE(MAX({column}), 0) AS BIGINT) FROM {table})")
        })
        .collect();
    let sql = format!("SELECT {}", columns.join(", "));
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, sql))
        .await?
        .ok_or_else(|| DbErr::Custom("the state statement returned no row".into()))?;
    let mut parts = Vec::with_capacity(PARTS.len());
    for i in 0..PARTS.len() {
        parts.push(row.try_get_by_index::<i64>(i)?.to_string());
    }
    Ok(parts.join("."))
}

/// The change feed's position within a `state`: its first part.
pub fn cursor_of(state: &str) -> i64 {
    state
        .split('.')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

/// Filter values that name nothing, by filter name (e.g. `("theme", ["mobilty"])`): a
/// misspelt slug is an error, not an empty download. One statement per kind of filter given.
pub async fn unknown_values(
    db: &impl ConnectionTrait,
    filter: &ExportFilter,
) -> Result<Vec<(&'static str, Vec<String>)>, DbErr> {
    let mut unknown = Vec::new();
    for (name, table, column, values) in [
        ("pairing", "pairing", "slug", &filter.pairings),
        ("theme", "theme", "slug", &filter.themes),
        ("country", "country", "code", &filter.countries),
        (
            "programme-region",
            "programme_region",
            "slug",
            &filter.programme_regions,
        ),
    ] {
        if values.is_empty() {
            continue;
        }
        let mut sql = Sql::default();
        sql.push(&format!("SELECT {column} FROM {table} WHERE {column} IN ("))
            .bind_list(
                values
                    .iter()
                    .map(|v| sea_orm::Value::String(Some(v.clone()))),
            )
            .push(")");
        let found: BTreeSet<String> = db
            .query_all_raw(sql.statement(db.get_database_backend()))
            .await?
            .iter()
            .map(|row| row.try_get_by_index::<String>(0))
            .collect::<Result<_, _>>()?;
        let missing: BTreeSet<String> = values
            .iter()
            .filter(|v| !found.contains(*v))
            .cloned()
            .collect();
        if !missing.is_empty() {
            unknown.push((name, missing.into_iter().collect()));
        }
    }
    Ok(unknown)
}

/// Opens the snapshot a download reads and its state (for the `ETag`), read inside it.
pub async fn open(db: &DatabaseConnection) -> Result<(DatabaseTransaction, String), DbErr> {
    let txn = export::snapshot(db).await?;
    let state = state(&txn).await?;
    Ok((txn, state))
}

/// Starts writing `download` from `txn` on a task; the chunks arrive on the receiver. The task
/// ends when the body is complete, when reading fails (the receiver then gets an error, which
/// aborts the response: the status line has gone already) or when the receiver is dropped.
pub fn start(
    txn: DatabaseTransaction,
    filter: ExportFilter,
    download: Download,
) -> mpsc::Receiver<Result<String, std::io::Error>> {
    let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
    let span = tracing::Span::current();
    let task = async move {
        let started = std::time::Instant::now();
        let mut out = Sink {
            tx,
            buf: String::new(),
            bytes: 0,
        };
        let result = match write(&txn, &filter, download, &mut out).await {
            Ok(()) => out.flush().await,
            Err(e) => Err(e),
        };
        // Read only: ending the transaction either way is the same.
        let _ = txn.rollback().await;
        match result {
            Ok(()) => tracing::info!(
                download = download.name(),
                filtered = !filter.is_empty(),
                bytes = out.bytes,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "download"
            ),
            Err(DownloadError::Gone) => {
                tracing::info!(
                    download = download.name(),
                    "download abandoned by the client"
                )
            }
            Err(DownloadError::Export(e)) => {
                tracing::error!(download = download.name(), error = %e, "download failed");
                let _ = out
                    .tx
                    .send(Err(std::io::Error::other("the download failed")))
                    .await;
            }
        }
    };
    tokio::spawn(tracing::Instrument::instrument(task, span));
    rx
}

async fn write(
    txn: &DatabaseTransaction,
    filter: &ExportFilter,
    download: Download,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    let extent = Extent::new(filter);
    let reference = Reference::read(txn).await?;
    match download {
        Download::Dataset => write_dataset(txn, &extent, &reference, out).await,
        Download::PairingsCsv => write_csv(txn, &extent, &reference, out).await,
        Download::PlacesGeoJson => {
            super::geojson::write_places(txn, &extent, &reference, out).await
        }
        Download::PairingsGeoJson => {
            super::geojson::write_pairings(txn, &extent, &reference, out).await
        }
    }
}

/// Text gathered into chunks for the response body.
pub(super) struct Sink {
    tx: mpsc::Sender<Result<String, std::io::Error>>,
    buf: String,
    bytes: u64,
}

impl Sink {
    pub(super) async fn write(&mut self, text: &str) -> Result<(), DownloadError> {
        self.buf.push_str(text);
        if self.buf.len() >= CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), DownloadError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK + 4096));
        self.bytes += chunk.len() as u64;
        // A client that stops reading would hold the connection and the snapshot for ever.
        match tokio::time::timeout(STALLED, self.tx.send(Ok(chunk))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) | Err(_) => Err(DownloadError::Gone),
        }
    }
}

// ---------------------------------------------------------------- what a filter takes

/// The rows a download takes from each table, as conditions on the table's `id` (`None`: all
/// rows): the export's `Scope` and, for a filtered download, what the chosen pairings
/// reference, as `export::read_in` gathers it (cities of participants, projects, stakeholders
/// and activities; countries of those cities and regions and of the stakeholders; …).
pub(super) struct Extent {
    pub(super) scope: Scope,
    pub(super) pairings: Option<Sql>,
    stakeholders: Option<Sql>,
    activities: Option<Sql>,
    cities: Option<Sql>,
    regions: Option<Sql>,
    countries: Option<Sql>,
    programme_regions: Option<Sql>,
    themes: Option<Sql>,
    sdgs: Option<Sql>,
    section_types: Option<Sql>,
}

/// `(SELECT column FROM table WHERE condition)` as `id IN …`.
fn id_in(column: &str, table: &str, condition: &Sql) -> Sql {
    let mut sub = Sql::default();
    sub.push("SELECT ")
        .push(column)
        .push(" FROM ")
        .push(table)
        .push(" WHERE ")
        .append(condition);
    within("id", &sub)
}

/// `(a) OR (b) OR …`.
fn any(conditions: &[Sql]) -> Sql {
    let mut sql = Sql::default();
    for (i, c) in conditions.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(").append(c).push(")");
    }
    sql
}

impl Extent {
    pub(super) fn new(filter: &ExportFilter) -> Self {
        let scope = Scope::new(filter);
        let (Some(chosen), Some(by_pairing), Some(ucaps), Some(activities), Some(involvements)) = (
            scope.chosen.clone(),
            scope.by_pairing.clone(),
            scope.ucap_ids.clone(),
            scope.activity_ids.clone(),
            scope.involvements(),
        ) else {
            return Self::whole(scope);
        };
        let by_ucap = within("ucap_id", &ucaps);
        let stakeholders = any(&[
            id_in("stakeholder_id", "involvement", &involvements),
            id_in(
                "stakeholder_id",
                "activity_stakeholder",
                &within("activity_id", &activities),
            ),
        ]);
        let activities = within("id", &activities);
        let cities = any(&[
            id_in("city_id", "pairing_participant", &by_pairing),
            id_in("city_id", "project", &by_ucap),
            id_in("city_id", "stakeholder", &stakeholders),
            id_in("city_id", "activity", &activities),
        ]);
        let regions = any(&[
            id_in("region_id", "pairing_participant", &by_pairing),
            id_in("region_id", "project", &by_ucap),
        ]);
        let pairings = within("id", &chosen);
        // A programme region comes whole, with its countries.
        let programme_regions = id_in("programme_region_id", "pairing", &pairings);
        let mut region_links = Sql::default();
        region_links
            .push("programme_region_id IN (SELECT id FROM programme_region WHERE ")
            .append(&programme_regions)
            .push(")");
        let countries = any(&[
            id_in("country_id", "city", &cities),
            id_in("country_id", "region", &regions),
            id_in("country_id", "stakeholder", &stakeholders),
            id_in("country_id", "programme_region_country", &region_links),
        ]);
        Self {
            programme_regions: Some(programme_regions),
            themes: Some(id_in("theme_id", "pairing_theme", &by_pairing)),
            sdgs: Some(id_in("sdg_id", "pairing_sdg", &by_pairing)),
            section_types: Some(id_in("section_type_id", "ucap_section", &by_ucap)),
            pairings: Some(pairings),
            stakeholders: Some(stakeholders),
            activities: Some(activities),
            cities: Some(cities),
            regions: Some(regions),
            countries: Some(countries),
            scope,
        }
    }

    fn whole(scope: Scope) -> Self {
        Self {
            scope,
            pairings: None,
            stakeholders: None,
            activities: None,
            cities: None,
            regions: None,
            countries: None,
            programme_regions: None,
            themes: None,
            sdgs: None,
            section_types: None,
        }
    }
}

/// The small reference tables, whole: every page's natural keys come from them.
pub(super) struct Reference {
    pub(super) countries: Vec<country::Model>,
    pub(super) programme_regions: Vec<programme_region::Model>,
    pub(super) themes: Vec<theme::Model>,
    sdgs: Vec<sdg::Model>,
    section_types: Vec<ucap_section_type::Model>,
}

impl Reference {
    async fn read(db: &DatabaseTransaction) -> Result<Self, DbErr> {
        Ok(Self {
            countries: rows::<country::Entity>(db, None).await?,
            programme_regions: rows::<programme_region::Entity>(db, None).await?,
            themes: rows::<theme::Entity>(db, None).await?,
            sdgs: rows::<sdg::Entity>(db, None).await?,
            section_types: rows::<ucap_section_type::Entity>(db, None).await?,
        })
    }

    /// Tables holding only the reference data: a page's rows go in beside it.
    fn tables(&self) -> Tables {
        Tables {
            countries: self.countries.clone(),
            programme_regions: self.programme_regions.clone(),
            themes: self.themes.clone(),
            sdgs: self.sdgs.clone(),
            section_types: self.section_types.clone(),
            ..Tables::default()
        }
    }
}

/// The records of the rows in `tables`, in export order.
fn dataset_of(tables: Tables) -> Result<Dataset, ExportError> {
    let keys = NaturalKeys::new(&tables)?;
    let mut data = tables.into_dataset(&keys)?;
    export::canonical(&mut data);
    Ok(data)
}

/// `column IN (ids)`, the ids bound as one parameter.
pub(super) fn keys_in(column: &str, ids: impl IntoIterator<Item = i32>) -> Sql {
    let mut sql = Sql::default();
    sql.push(column).push(" ").in_keys(ids);
    sql
}

/// `condition AND extra`, either of them optional.
pub(super) fn and(condition: Option<&Sql>, extra: Option<Sql>) -> Option<Sql> {
    match (condition, extra) {
        (Some(c), Some(e)) => {
            let mut sql = Sql::default();
            sql.push("(").append(c).push(") AND (").append(&e).push(")");
            Some(sql)
        }
        (Some(c), None) => Some(c.clone()),
        (None, e) => e,
    }
}

/// The next page of a table by slug (bytewise, as the export sorts), after `after`.
pub(super) async fn slug_page<E: EntityTrait>(
    db: &DatabaseTransaction,
    condition: Option<&Sql>,
    after: Option<&str>,
) -> Result<Vec<E::Model>, DbErr> {
    let mut sql = Sql::default();
    sql.push("SELECT * FROM ")
        .push(E::default().table_name())
        .push(" WHERE 1 = 1");
    if let Some(c) = condition {
        sql.push(" AND (").append(c).push(")");
    }
    if let Some(after) = after {
        sql.push(" AND slug")
            .bytewise()
            .push(" > ")
            .bind(sea_orm::Value::String(Some(after.to_owned())));
    }
    sql.push(" ORDER BY slug")
        .bytewise()
        .push(&format!(" LIMIT {PAGE}"));
    E::find()
        .from_raw_sql(sql.statement(db.get_database_backend()))
        .all(db)
        .await
}

// ---------------------------------------------------------------- the dataset

/// A JSON list of the dataset file being written, formatted as `to_string_pretty` formats it
/// inside the whole file.
struct Section {
    records: usize,
}

impl Section {
    async fn open(out: &mut Sink, name: &str) -> Result<Self, DownloadError> {
        out.write(&format!(",\n  \"{name}\": [")).await?;
        Ok(Self { records: 0 })
    }

    async fn record(
        &mut self,
        out: &mut Sink,
        record: &impl Serialize,
    ) -> Result<(), DownloadError> {
        // Records are plain data: serialising them cannot fail. Newlines within strings are
        // escaped, so every newline of the text is the layout's, and indenting is a replace.
        let text = serde_json::to_string_pretty(record).unwrap_or_default();
        let text = text.replace('\n', "\n    ");
        out.write(if self.records == 0 {
            "\n    "
        } else {
            ",\n    "
        })
        .await?;
        out.write(&text).await?;
        self.records += 1;
        Ok(())
    }

    async fn records<T: Serialize>(
        &mut self,
        out: &mut Sink,
        records: &[T],
    ) -> Result<(), DownloadError> {
        for r in records {
            self.record(out, r).await?;
        }
        Ok(())
    }

    async fn close(self, out: &mut Sink) -> Result<(), DownloadError> {
        out.write(if self.records == 0 { "]" } else { "\n  ]" })
            .await
    }
}

async fn write_dataset(
    txn: &DatabaseTransaction,
    extent: &Extent,
    reference: &Reference,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    let format = serde_json::to_string(dataset::FORMAT).unwrap_or_default();
    out.write(&format!("{{\n  \"format\": {format}")).await?;
    let data = reference_records(txn, extent).await?;
    macro_rules! whole_section {
        ($name:ident) => {{
            let mut section = Section::open(out, stringify!($name)).await?;
            section.records(out, &data.$name).await?;
            section.close(out).await?;
        }};
    }
    whole_section!(documents);
    whole_section!(rules);
    if let Some(programme) = &data.programme {
        // An object, not a list: indented one level less than a list's records.
        let text = serde_json::to_string_pretty(programme).unwrap_or_default();
        out.write(&format!(
            ",\n  \"programme\": {}",
            text.replace('\n', "\n  ")
        ))
        .await?;
    }
    whole_section!(countries);
    whole_section!(programme_regions);
    whole_section!(themes);
    whole_section!(sdgs);
    whole_section!(ucap_section_types);
    places_sections(txn, extent, reference, out).await?;
    let mut section = Section::open(out, "pairings").await?;
    let mut after: Option<String> = None;
    loop {
        let page =
            slug_page::<pairing::Entity>(txn, extent.pairings.as_ref(), after.as_deref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let data = pairings_page(txn, page, reference, true).await?;
        section.records(out, &data.pairings).await?;
        if !full {
            break;
        }
    }
    section.close(out).await?;
    stakeholders_section(txn, extent, reference, out).await?;
    activities_section(txn, extent, reference, out).await?;
    out.write("\n}\n").await
}

/// The reference data a download lists: all of it, or what the chosen pairings use.
async fn reference_records(
    txn: &DatabaseTransaction,
    extent: &Extent,
) -> Result<Dataset, DownloadError> {
    let mut tables = Tables {
        countries: rows::<country::Entity>(txn, extent.countries.as_ref()).await?,
        programme_regions: rows::<programme_region::Entity>(txn, extent.programme_regions.as_ref())
            .await?,
        themes: rows::<theme::Entity>(txn, extent.themes.as_ref()).await?,
        sdgs: rows::<sdg::Entity>(txn, extent.sdgs.as_ref()).await?,
        section_types: rows::<ucap_section_type::Entity>(txn, extent.section_types.as_ref())
            .await?,
        // What sources cite: whole in a filtered download too, as in the export.
        documents: rows::<document::Entity>(txn, None).await?,
        rules: rows::<derivation_rule::Entity>(txn, None).await?,
        ..Tables::default()
    };
    // Read whole, as the export reads it: a region's countries come in the order the table
    // gives them (it is small: regions × countries), then those of the regions listed.
    let listed: std::collections::HashSet<i32> =
        tables.programme_regions.iter().map(|r| r.id).collect();
    tables.programme_region_countries = rows::<programme_region_country::Entity>(txn, None)
        .await?
        .into_iter()
        .filter(|l| listed.contains(&l.programme_region_id))
        .collect();
    // The programme is the whole programme's record, not a part of some pairings.
    if extent.scope.whole() {
        tables.programme = rows::<programme::Entity>(txn, None).await?;
    }
    Ok(dataset_of(tables)?)
}

async fn places_sections(
    txn: &DatabaseTransaction,
    extent: &Extent,
    reference: &Reference,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    let mut section = Section::open(out, "cities").await?;
    let mut after: Option<String> = None;
    loop {
        let page = slug_page::<city::Entity>(txn, extent.cities.as_ref(), after.as_deref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let mut tables = reference.tables();
        tables.cities = page;
        section.records(out, &dataset_of(tables)?.cities).await?;
        if !full {
            break;
        }
    }
    section.close(out).await?;
    let mut section = Section::open(out, "regions").await?;
    let mut after: Option<String> = None;
    loop {
        let page =
            slug_page::<region::Entity>(txn, extent.regions.as_ref(), after.as_deref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let mut tables = reference.tables();
        tables.regions = page;
        section.records(out, &dataset_of(tables)?.regions).await?;
        if !full {
            break;
        }
    }
    section.close(out).await
}

/// A page of pairings as records, with their participants, themes and SDGs, and with their
/// UCAPs when `ucaps` (the CSV does not show them); the cities and regions they name come
/// along in the dataset.
pub(super) async fn pairings_page(
    txn: &DatabaseTransaction,
    page: Vec<pairing::Model>,
    reference: &Reference,
    ucaps: bool,
) -> Result<Dataset, DownloadError> {
    let by_pairing = keys_in("pairing_id", page.iter().map(|p| p.id));
    let mut tables = reference.tables();
    tables.participants = rows::<pairing_participant::Entity>(txn, Some(&by_pairing)).await?;
    tables.pairing_themes = rows::<pairing_theme::Entity>(txn, Some(&by_pairing)).await?;
    tables.pairing_sdgs = rows::<pairing_sdg::Entity>(txn, Some(&by_pairing)).await?;
    if ucaps {
        tables.ucaps = rows::<ucap::Entity>(txn, Some(&by_pairing)).await?;
        if !tables.ucaps.is_empty() {
            let by_ucap = keys_in("ucap_id", tables.ucaps.iter().map(|u| u.id));
            tables.sections = rows::<ucap_section::Entity>(txn, Some(&by_ucap)).await?;
            tables.projects = rows::<project::Entity>(txn, Some(&by_ucap)).await?;
        }
    }
    tables.pairings = page;
    tables.read_places(txn, false).await?;
    Ok(dataset_of(tables)?)
}

async fn stakeholders_section(
    txn: &DatabaseTransaction,
    extent: &Extent,
    reference: &Reference,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    let mut section = Section::open(out, "stakeholders").await?;
    let mut after: Option<String> = None;
    loop {
        let page =
            slug_page::<stakeholder::Entity>(txn, extent.stakeholders.as_ref(), after.as_deref())
                .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let mut tables = reference.tables();
        let mine = keys_in("stakeholder_id", page.iter().map(|s| s.id));
        tables.involvements = rows::<involvement::Entity>(
            txn,
            and(Some(&mine), extent.scope.involvements()).as_ref(),
        )
        .await?;
        let projects: BTreeSet<i32> = tables
            .involvements
            .iter()
            .filter_map(|i| i.project_id)
            .collect();
        tables.projects =
            export::referenced::<project::Entity>(txn, false, &projects, |m| m.id).await?;
        let ucaps: BTreeSet<i32> = (tables.involvements.iter().filter_map(|i| i.ucap_id))
            .chain(tables.projects.iter().map(|p| p.ucap_id))
            .collect();
        tables.ucaps = export::referenced::<ucap::Entity>(txn, false, &ucaps, |m| m.id).await?;
        let pairings: BTreeSet<i32> = (tables.involvements.iter().filter_map(|i| i.pairing_id))
            .chain(tables.ucaps.iter().map(|u| u.pairing_id))
            .collect();
        tables.pairings =
            export::referenced::<pairing::Entity>(txn, false, &pairings, |m| m.id).await?;
        tables.stakeholders = page;
        tables.read_places(txn, false).await?;
        section
            .records(out, &dataset_of(tables)?.stakeholders)
            .await?;
        if !full {
            break;
        }
    }
    section.close(out).await
}

/// The export's order of activities (`export::sort_activities`): the first day of the period,
/// a wider period first, then slug.
const PRECISION_RANK: &str = "CASE date_precision WHEN 'year' THEN 0 WHEN 'half_year' THEN 1 \
    WHEN 'quarter' THEN 2 WHEN 'month' THEN 3 ELSE 4 END";

fn precision_rank(precision: entity::enums::DatePrecision) -> i32 {
    use entity::enums::DatePrecision::*;
    match precision {
        Year => 0,
        HalfYear => 1,
        Quarter => 2,
        Month => 3,
        Day => 4,
    }
}

/// The next page of activities in the export's order, after `after` (keyset: each page is an
/// index range, not a scan from the start).
async fn activities_page(
    txn: &DatabaseTransaction,
    condition: Option<&Sql>,
    after: Option<&activity::Model>,
) -> Result<Vec<activity::Model>, DbErr> {
    let mut sql = Sql::default();
    sql.push("SELECT * FROM activity WHERE 1 = 1");
    if let Some(c) = condition {
        sql.push(" AND (").append(c).push(")");
    }
    if let Some(a) = after {
        let date = || sea_orm::Value::from(a.date);
        let rank = || sea_orm::Value::Int(Some(precision_rank(a.date_precision)));
        // The plain range first: with its values bound, the planner cannot see that the OR
        // below implies it, and without it sorted the whole table for every page (113 ms a
        // page at 50k activities on SQLite, 9 ms with it).
        sql.push(" AND \"date\" >= ")
            .bind(date())
            .push(" AND (\"date\" > ")
            .bind(date())
            .push(" OR (\"date\" = ")
            .bind(date())
            .push(&format!(" AND ({PRECISION_RANK} > "))
            .bind(rank())
            .push(&format!(" OR ({PRECISION_RANK} = "))
            .bind(rank())
            .push(" AND slug")
            .bytewise()
            .push(" > ")
            .bind(sea_orm::Value::String(Some(a.slug.clone())))
            .push("))))");
    }
    sql.push(&format!(" ORDER BY \"date\", {PRECISION_RANK}, slug"))
        .bytewise()
        .push(&format!(" LIMIT {PAGE}"));
    activity::Entity::find()
        .from_raw_sql(sql.statement(txn.get_database_backend()))
        .all(txn)
        .await
}

async fn activities_section(
    txn: &DatabaseTransaction,
    extent: &Extent,
    reference: &Reference,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    let mut section = Section::open(out, "activities").await?;
    let mut after: Option<activity::Model> = None;
    loop {
        let page = activities_page(txn, extent.activities.as_ref(), after.as_ref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.clone());
        let full = page.len() == PAGE;
        let mut tables = reference.tables();
        let mine = keys_in("activity_id", page.iter().map(|a| a.id));
        tables.activity_pairings = rows::<activity_pairing::Entity>(
            txn,
            and(Some(&mine), extent.scope.by_pairing.clone()).as_ref(),
        )
        .await?;
        tables.activity_stakeholders =
            rows::<activity_stakeholder::Entity>(txn, Some(&mine)).await?;
        let pairings: BTreeSet<i32> = tables
            .activity_pairings
            .iter()
            .map(|a| a.pairing_id)
            .collect();
        tables.pairings =
            export::referenced::<pairing::Entity>(txn, false, &pairings, |m| m.id).await?;
        let stakeholders: BTreeSet<i32> = tables
            .activity_stakeholders
            .iter()
            .map(|s| s.stakeholder_id)
            .collect();
        tables.stakeholders =
            export::referenced::<stakeholder::Entity>(txn, false, &stakeholders, |m| m.id).await?;
        tables.activities = page;
        tables.read_places(txn, false).await?;
        section
            .records(out, &dataset_of(tables)?.activities)
            .await?;
        if !full {
            break;
        }
    }
    section.close(out).await
}

// ---------------------------------------------------------------- the CSV

async fn write_csv(
    txn: &DatabaseTransaction,
    extent: &Extent,
    reference: &Reference,
    out: &mut Sink,
) -> Result<(), DownloadError> {
    out.write(&export::csv_header()).await?;
    let mut after: Option<String> = None;
    loop {
        let page =
            slug_page::<pairing::Entity>(txn, extent.pairings.as_ref(), after.as_deref()).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.slug.clone());
        let full = page.len() == PAGE;
        let data = pairings_page(txn, page, reference, false).await?;
        let mut text = String::new();
        export::csv_rows(&mut text, &data);
        out.write(&text).await?;
        if !full {
            break;
        }
    }
    Ok(())
}
