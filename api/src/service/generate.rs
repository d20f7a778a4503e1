//! Synthetic data at any scale, deterministic from a seed: `iuc-graph generate --pairings N
//! --seed S`, and the data of the tests that prove statement counts do not grow with the data.
//!
//! Shape per pairing: about two cities (over ~200 countries), 2–4 participants with both sides
//! present, 1–4 themes, 1–3 SDGs, a UCAP with sections and 0–4 projects for nine pairings in
//! ten, 0–6 stakeholders and 0–10 activities.
//!
//! Speed: ids are computed here (from the tables' current maximum), so link rows need no read
//! back; rows go in as multi-row `INSERT`s in one transaction; PostgreSQL's identity sequences
//! are moved past the new ids at the end, and its foreign keys are set aside during the load
//! and validated once after it (`ForeignKeys`).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::*;
use entity::{
    activity, activity_pairing, activity_stakeholder, city, country, involvement, pairing,
    pairing_participant, pairing_sdg, pairing_theme, programme_region, project, sdg, stakeholder,
    theme, ucap, ucap_section, ucap_section_type,
};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    IdenStatic, Iterable, PrimaryKeyTrait, Statement, TransactionTrait, Value,
};

use super::sql::Sql;
use crate::text::fold;

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub pairings: u64,
    pub seed: u64,
}

/// Rows written per table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    pub rows: Vec<(&'static str, u64)>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.rows.iter().map(|(t, n)| format!("{t} {n}")).collect();
        write!(f, "{}", parts.join(", "))
    }
}

/// SplitMix64: small, fast, and the same sequence on every machine for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    /// `likely` `percent` times in a hundred, else `otherwise`.
    fn either<T>(&mut self, percent: u64, likely: T, otherwise: T) -> T {
        if self.chance(percent) {
            likely
        } else {
            otherwise
        }
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

const SYLLABLES: [&str; 24] = [
    "va", "lo", "mi", "ra", "to", "sen", "bu", "ka", "ne", "dor", "li", "sa", "mo", "ven", "ta",
    "ri", "po", "gal", "ze", "nu", "bel", "co", "fa", "sto",
];

fn place_name(rng: &mut Rng) -> String {
    let n = rng.range(2, 3);
    let mut name = String::new();
    for _ in 0..n {
        let syllable: &&str = rng.pick(&SYLLABLES[..]);
        name.push_str(syllable);
    }
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => name,
    }
}

/// A table's rows, flushed as multi-row `INSERT`s that stay under both backends' parameter limits.
///
/// Rows come as the entity's active models: the columns an `INSERT` names are those the model
/// sets, in the entity's order (a `NotSet` column is left to the database's default), so they
/// follow the entity rather than a list typed here; every model literal names every field, so a
/// column added to an entity does not compile here until the generator says what it writes.
struct Batch {
    table: &'static str,
    /// Whether the table's key is a sequence the database draws from (PostgreSQL's must be
    /// moved past ids given here).
    serial: bool,
    /// Which of the entity's columns the rows set, and their names (then the unmapped one's):
    /// those of the first row, which every later row must set too (one `INSERT` names them
    /// once).
    set: Vec<bool>,
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
    written: u64,
}

impl Batch {
    fn of<E: EntityTrait>() -> Self {
        Self {
            table: E::default().table_name(),
            serial: <E::PrimaryKey as PrimaryKeyTrait>::auto_increment(),
            set: Vec::new(),
            columns: Vec::new(),
            rows: Vec::new(),
            written: 0,
        }
    }

    fn push<A: ActiveModelTrait>(&mut self, mut row: A) {
        let values = self.values(&mut row, None);
        self.rows.push(values);
    }

    /// A row and a value for a column the entity does not map.
    fn push_with<A: ActiveModelTrait>(&mut self, mut row: A, unmapped: (&'static str, Value)) {
        let values = self.values(&mut row, Some(unmapped));
        self.rows.push(values);
    }

    fn values<A: ActiveModelTrait>(
        &mut self,
        row: &mut A,
        unmapped: Option<(&'static str, Value)>,
    ) -> Vec<Value> {
        if self.columns.is_empty() {
            let columns = <A::Entity as EntityTrait>::Column::iter();
            self.set = columns.clone().map(|c| !row.is_not_set(c)).collect();
            self.columns = (columns.filter(|c| !row.is_not_set(*c)))
                .map(|c| c.as_str())
                .chain(unmapped.as_ref().map(|(name, _)| *name))
                .collect();
        }
        let mut values = Vec::with_capacity(self.columns.len());
        for (column, set) in <A::Entity as EntityTrait>::Column::iter().zip(&self.set) {
            match row.take(column).into_value() {
                Some(value) if *set => values.push(value),
                None if !*set => {}
                _ => panic!("every {} row sets the same columns", self.table),
            }
        }
        values.extend(unmapped.map(|(_, value)| value));
        assert_eq!(values.len(), self.columns.len(), "a {} row", self.table);
        values
    }

    /// Rows per `INSERT`: as many as 30,000 bound values take, under both backends' limits
    /// (the same every time, so that the statement is prepared once).
    fn rows_per_statement(&self) -> usize {
        30_000usize.div_ceil(self.columns.len().max(1))
    }

    fn full(&self) -> bool {
        self.rows.len() >= self.rows_per_statement()
    }

    async fn flush(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        while !self.rows.is_empty() {
            let n = self.rows.len().min(self.rows_per_statement());
            self.insert(db, n).await?;
        }
        Ok(())
    }

    /// Writes the first `n` rows.
    async fn insert(&mut self, db: &impl ConnectionTrait, n: usize) -> Result<(), DbErr> {
        let mut sql = Sql::default();
        sql.push(&format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        ));
        for (i, row) in self.rows.drain(..n).enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            for (j, value) in row.into_iter().enumerate() {
                if j > 0 {
                    sql.push(", ");
                }
                sql.bind(value);
            }
            sql.push(")");
            self.written += 1;
        }
        db.execute_raw(sql.statement(db.get_database_backend()))
            .await?;
        Ok(())
    }
}

/// The tables the generator fills, one batch each.
struct Batches {
    city: Batch,
    pairing: Batch,
    participant: Batch,
    pairing_theme: Batch,
    pairing_sdg: Batch,
    ucap: Batch,
    section: Batch,
    project: Batch,
    stakeholder: Batch,
    involvement: Batch,
    activity: Batch,
    activity_pairing: Batch,
    activity_stakeholder: Batch,
}

impl Batches {
    fn new() -> Self {
        Self {
            city: Batch::of::<city::Entity>(),
            pairing: Batch::of::<pairing::Entity>(),
            participant: Batch::of::<pairing_participant::Entity>(),
            pairing_theme: Batch::of::<pairing_theme::Entity>(),
            pairing_sdg: Batch::of::<pairing_sdg::Entity>(),
            ucap: Batch::of::<ucap::Entity>(),
            section: Batch::of::<ucap_section::Entity>(),
            project: Batch::of::<project::Entity>(),
            stakeholder: Batch::of::<stakeholder::Entity>(),
            involvement: Batch::of::<involvement::Entity>(),
            activity: Batch::of::<activity::Entity>(),
            activity_pairing: Batch::of::<activity_pairing::Entity>(),
            activity_stakeholder: Batch::of::<activity_stakeholder::Entity>(),
        }
    }

    /// Parents before children: every batch is written in this order, so that no row is
    /// written before a row it refers to.
    fn in_order(&mut self) -> [&mut Batch; 13] {
        [
            &mut self.city,
            &mut self.pairing,
            &mut self.participant,
            &mut self.pairing_theme,
            &mut self.pairing_sdg,
            &mut self.ucap,
            &mut self.section,
            &mut self.project,
            &mut self.stakeholder,
            &mut self.involvement,
            &mut self.activity,
            &mut self.activity_pairing,
            &mut self.activity_stakeholder,
        ]
    }

    async fn flush(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        for batch in self.in_order() {
            batch.flush(db).await?;
        }
        Ok(())
    }

    /// Writes every batch once one is full. Asked between pairings (and cities), not rows: a
    /// full batch holds at most one pairing's rows more than a statement takes.
    async fn flush_if_full(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.in_order().iter().any(|batch| batch.full()) {
            self.flush(db).await?;
        }
        Ok(())
    }
}

async fn max_id<E: EntityTrait>(db: &impl ConnectionTrait) -> Result<i32, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COALESCE(MAX(id), 0) AS m FROM {}",
                E::default().table_name()
            ),
        ))
        .await?;
    Ok(match row {
        Some(row) => row
            .try_get::<i32>("", "m")
            .or_else(|_| row.try_get::<i64>("", "m").map(|v| v as i32))?,
        None => 0,
    })
}

/// Ids of rows by key, inserting the missing ones (reference data shared with the seed). The
/// table goes into `tables` (its sequence is moved at the end, as the generated tables' are).
async fn ensure<A: ActiveModelTrait>(
    db: &impl ConnectionTrait,
    key: <A::Entity as EntityTrait>::Column,
    rows: impl IntoIterator<Item = A>,
    tables: &mut Vec<&'static str>,
) -> Result<HashMap<String, i32>, DbErr> {
    let mut batch = Batch::of::<A::Entity>();
    tables.push(batch.table);
    let existing = keyed_ids(db, batch.table, key.as_str()).await?;
    for row in rows {
        let k = match row.get(key).into_value() {
            Some(Value::String(Some(v))) => v,
            Some(Value::Int(Some(v))) => v.to_string(),
            _ => continue,
        };
        if !existing.contains_key(&k) {
            batch.push(row);
        }
    }
    batch.flush(db).await?;
    keyed_ids(db, batch.table, key.as_str()).await
}

async fn keyed_ids(
    db: &impl ConnectionTrait,
    table: &str,
    key: &str,
) -> Result<HashMap<String, i32>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id, CAST({key} AS TEXT) AS k FROM {table}"),
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String>("", "k")?, r.try_get::<i32>("", "id")?)))
        .collect()
}

/// Every generated record's sources: an editorial note that it is made up, so that its data
/// is never taken for the programme's (and an export of it imports: every record has a source).
const SYNTHETIC: &str = r#"[{"basis":"editorial","reason":"A synthetic record made by iuc-graph generate for tests and benchmarks: not programme data."}]"#;

const SECTION_TYPES: [&str; 6] = [
    "overview",
    "areas-of-cooperation",
    "transfer-measures",
    "actions",
    "key-learnings",
    "future-commitments",
];

const THEME_SCHEMES: [(&str, ThemeScheme, usize); 3] = [
    ("stream", ThemeScheme::ThematicStream, 6),
    ("ua", ThemeScheme::UrbanAgenda, 14),
    ("topic", ThemeScheme::Topic, 8),
];
const HELIX: [Helix; 4] = [
    Helix::Academia,
    Helix::Business,
    Helix::CivilSociety,
    Helix::Government,
];
const ACTIVITY_KINDS: [ActivityKind; 8] = [
    ActivityKind::Meeting,
    ActivityKind::Mission,
    ActivityKind::Visit,
    ActivityKind::Workshop,
    ActivityKind::Seminar,
    ActivityKind::Agreement,
    ActivityKind::Event,
    ActivityKind::Webinar,
];
const PROGRAMME_REGIONS: [&str; 5] = [
    "asia",
    "india",
    "japan",
    "latin-america-caribbean",
    "north-america",
];

/// Fills the database with `options.pairings` synthetic pairings and what hangs off them.
pub async fn generate(db: &DatabaseConnection, options: Options) -> Result<Report, DbErr> {
    let txn = db.begin().await?;
    let foreign_keys = if db.get_database_backend() == DbBackend::Postgres {
        ForeignKeys::drop(&txn).await?
    } else {
        ForeignKeys::default()
    };
    let report = generate_in(&txn, options).await?;
    foreign_keys.restore(&txn).await?;
    txn.commit().await?;
    // Fresh statistics: right after a bulk load the planners know nothing of the new rows
    // (PostgreSQL's autovacuum analyses them only later) and pick sequential scans (`EXPLAIN`
    // a page of a pairing's activities right after `iuc-graph generate --pairings 100000`,
    // without this step). On PostgreSQL, VACUUM also sets the visibility map, which index-only
    // scans need.
    let maintenance = if db.get_database_backend() == DbBackend::Postgres {
        "VACUUM ANALYZE"
    } else {
        "ANALYZE"
    };
    db.execute_unprepared(maintenance).await?;
    Ok(report)
}

/// PostgreSQL's foreign keys, set aside for the bulk load and put back after it.
///
/// Checked row by row, they were 40% of PostgreSQL's time in generation (a trigger and an index
/// probe of the parent for every inserted row: `perf record -g` over `iuc-graph generate` on
/// PostgreSQL); added back, each is validated by one query over the whole table. Everything happens in the generation's transaction: the
/// constraints are back, and checked, before it commits, and a failure rolls back both. (The
/// `ALTER TABLE`s lock the tables until the commit: generation is a bulk load.)
#[derive(Default)]
struct ForeignKeys {
    /// `ALTER TABLE … ADD CONSTRAINT …` for each key dropped, as the catalogue defines it.
    add: Vec<String>,
}

impl ForeignKeys {
    async fn drop(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) \
                   AS drop_sql, \
                 format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, \
                   pg_get_constraintdef(c.oid)) AS add_sql \
                 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
                 WHERE c.contype = 'f' AND n.nspname = current_schema() \
                 ORDER BY c.conrelid::regclass::text, c.conname",
            ))
            .await?;
        let mut add = Vec::with_capacity(rows.len());
        for row in rows {
            let drop: String = row.try_get("", "drop_sql")?;
            db.execute_unprepared(&drop).await?;
            add.push(row.try_get("", "add_sql")?);
        }
        Ok(Self { add })
    }

    async fn restore(self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        for add in &self.add {
            db.execute_unprepared(add).await?;
        }
        Ok(())
    }
}

async fn generate_in(db: &impl ConnectionTrait, options: Options) -> Result<Report, DbErr> {
    let tag = format!("g{}", options.seed);
    let mut generator = Generator {
        rng: Rng(options.seed ^ 0x5EED_1DEA),
        reference: Reference::ensure(db, &tag).await?,
        last: LastIds::read(db).await?,
        tag,
        european_cities: Vec::new(),
        partner_cities: Vec::new(),
        city_names: HashMap::new(),
        now: crate::service::write::now(),
        batches: Batches::new(),
    };
    // Cities: two per pairing, half on each side; pairings draw from the pools.
    for k in 0..(options.pairings * 2).max(4) {
        generator.city(k);
        generator.batches.flush_if_full(db).await?;
    }
    for k in 0..options.pairings {
        generator.pairing(k);
        generator.batches.flush_if_full(db).await?;
    }
    generator.finish(db).await
}

/// The reference data that generated rows refer to, by id.
struct Reference {
    /// Countries of the European side (the first 40 codes) and of the partner side.
    european: Vec<i32>,
    partner: Vec<i32>,
    themes: Vec<i32>,
    sdgs: Vec<i32>,
    /// In the order of `SECTION_TYPES`, not a map's (random per process): the same seed must
    /// give the same data.
    sections: Vec<i32>,
    regions: Vec<i32>,
    /// The tables, whose sequences are moved at the end with the generated tables'.
    tables: Vec<&'static str>,
}

impl Reference {
    /// ~200 countries (the first 40 on the European side), the programme regions, themes in
    /// the three schemes, the SDGs and the UCAP sections: read, and inserted where missing.
    async fn ensure(db: &impl ConnectionTrait, tag: &str) -> Result<Self, DbErr> {
        let mut tables = Vec::new();
        let (european, partner) = countries(db, &mut tables).await?;
        let regions = PROGRAMME_REGIONS.map(|r| programme_region::ActiveModel {
            id: NotSet,
            slug: Set(r.to_owned()),
            name: Set(format!("IUC {r}")),
            description: NotSet,
            sources: Set(SYNTHETIC.to_owned()),
        });
        let region_ids = ensure(db, programme_region::Column::Slug, regions, &mut tables).await?;
        let themes = themes(db, tag, &mut tables).await?;
        let sdgs = (1..=17).map(|n| sdg::ActiveModel {
            id: NotSet,
            number: Set(n),
            name: Set(format!("Goal {n}")),
            sources: Set(SYNTHETIC.to_owned()),
        });
        let sdg_ids = ensure(db, sdg::Column::Number, sdgs, &mut tables).await?;
        let sections =
            SECTION_TYPES
                .iter()
                .zip(1..)
                .map(|(slug, position)| ucap_section_type::ActiveModel {
                    id: NotSet,
                    slug: Set(slug.to_string()),
                    name: Set(slug.replace('-', " ")),
                    position: Set(position),
                    sources: Set(SYNTHETIC.to_owned()),
                });
        let section_ids =
            ensure(db, ucap_section_type::Column::Slug, sections, &mut tables).await?;
        Ok(Self {
            european,
            partner,
            themes,
            sdgs: (1..=17).map(|n: i32| sdg_ids[&n.to_string()]).collect(),
            sections: SECTION_TYPES.iter().map(|t| section_ids[*t]).collect(),
            regions: PROGRAMME_REGIONS.iter().map(|r| region_ids[*r]).collect(),
            tables,
        })
    }
}

/// The countries' ids: those of the European side, those of the partner side.
async fn countries(
    db: &impl ConnectionTrait,
    tables: &mut Vec<&'static str>,
) -> Result<(Vec<i32>, Vec<i32>), DbErr> {
    let letters: Vec<char> = ('A'..='Z').collect();
    let codes: Vec<String> = (0..200)
        .map(|n| format!("{}{}", letters[n / 26], letters[n % 26]))
        .collect();
    let rows = codes.iter().map(|c| country::ActiveModel {
        id: NotSet,
        code: Set(c.clone()),
        name: Set(format!("Country {c}")),
        notes: NotSet,
        sources: Set(SYNTHETIC.to_owned()),
    });
    let ids = ensure(db, country::Column::Code, rows, tables).await?;
    let ids_of = |codes: &[String]| codes.iter().map(|c| ids[c]).collect();
    Ok((ids_of(&codes[..40]), ids_of(&codes[40..])))
}

/// The themes' ids, in the order of `THEME_SCHEMES`.
async fn themes(
    db: &impl ConnectionTrait,
    tag: &str,
    tables: &mut Vec<&'static str>,
) -> Result<Vec<i32>, DbErr> {
    let mut slugs = Vec::new();
    let mut rows = Vec::new();
    for (prefix, scheme, n) in THEME_SCHEMES {
        for k in 0..n {
            let slug = format!("{prefix}-{tag}-{k}");
            slugs.push(slug.clone());
            rows.push(theme::ActiveModel {
                id: NotSet,
                slug: Set(slug),
                scheme: Set(scheme),
                name: Set(format!("Theme {prefix} {k}")),
                description: NotSet,
                sources: Set(SYNTHETIC.to_owned()),
            });
        }
    }
    let ids = ensure(db, theme::Column::Slug, rows, tables).await?;
    Ok(slugs.iter().map(|t| ids[t]).collect())
}

/// The last id of each table whose ids are given here (counted on from the tables' maximum),
/// so that link rows need no read back.
struct LastIds {
    city: i32,
    pairing: i32,
    participant: i32,
    ucap: i32,
    project: i32,
    stakeholder: i32,
    activity: i32,
}

impl LastIds {
    async fn read(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        Ok(Self {
            city: max_id::<city::Entity>(db).await?,
            pairing: max_id::<pairing::Entity>(db).await?,
            participant: max_id::<pairing_participant::Entity>(db).await?,
            ucap: max_id::<ucap::Entity>(db).await?,
            project: max_id::<project::Entity>(db).await?,
            stakeholder: max_id::<stakeholder::Entity>(db).await?,
            activity: max_id::<activity::Entity>(db).await?,
        })
    }
}

fn next(last: &mut i32) -> i32 {
    *last += 1;
    *last
}

/// A pairing's member cities with their sides.
type Members = Vec<(i32, Side)>;

/// The generation under way: the random sequence, the ids given so far, the cities to draw
/// from, and the rows waiting to be written. Row builders draw from `rng` in a fixed order:
/// changing it changes the data a seed gives.
struct Generator {
    rng: Rng,
    tag: String,
    reference: Reference,
    last: LastIds,
    european_cities: Vec<i32>,
    partner_cities: Vec<i32>,
    /// For pairing titles and activity places.
    city_names: HashMap<i32, String>,
    /// The generated records' `updated_at`: one time for the run, as if written at once.
    now: DateTime<Utc>,
    batches: Batches,
}

impl Generator {
    fn city(&mut self, k: u64) {
        let id = next(&mut self.last.city);
        let european = k.is_multiple_of(2);
        let countries = if european {
            &self.reference.european
        } else {
            &self.reference.partner
        };
        let country = *self.rng.pick(countries);
        let name = format!("{} {k}", place_name(&mut self.rng));
        let kind = self.rng.either(90, CityKind::City, CityKind::District);
        let population = self.rng.range(5_000, 12_000_000) as i64;
        let area = self.rng.range(10, 20_000) as f64;
        let latitude = self.rng.range(0, 1_400_000) as f64 / 10_000.0 - 70.0;
        let longitude = self.rng.range(0, 3_600_000) as f64 / 10_000.0 - 180.0;
        self.batches.city.push(city::ActiveModel {
            id: Set(id),
            slug: Set(format!("{}-city-{k}", self.tag)),
            name_folded: Set(fold(&name)),
            name: Set(name.clone()),
            kind: Set(kind),
            country_id: Set(country),
            population: Set(Some(population)),
            area_km2: Set(Some(area)),
            leader: NotSet,
            latitude: Set(Some(latitude)),
            longitude: Set(Some(longitude)),
            photo_credit: NotSet,
            wikidata: NotSet,
            geonames_id: NotSet,
            sources: Set(SYNTHETIC.to_owned()),
            notes: NotSet,
            version: NotSet,
            updated_at: Set(self.now),
        });
        self.city_names.insert(id, name);
        if european {
            self.european_cities.push(id);
        } else {
            self.partner_cities.push(id);
        }
    }

    /// A pairing and everything that hangs off it.
    fn pairing(&mut self, k: u64) {
        let id = next(&mut self.last.pairing);
        let members = self.members();
        let title = members
            .iter()
            .map(|(c, _)| self.city_names[c].as_str())
            .collect::<Vec<_>>()
            .join(" – ");
        self.pairing_row(id, k, &title);
        self.participants(id, &members);
        for theme in distinct(&mut self.rng, &self.reference.themes, 1, 4) {
            self.batches.pairing_theme.push_with(
                pairing_theme::ActiveModel {
                    pairing_id: Set(id),
                    theme_id: Set(theme),
                },
                // The title copy that migration 6 keeps for the theme pages (its trigger fills
                // it only when a row comes without one: here they all come with it, which
                // spares a lookup per row).
                ("pairing_title", title.clone().into()),
            );
        }
        for sdg in distinct(&mut self.rng, &self.reference.sdgs, 1, 3) {
            self.batches.pairing_sdg.push(pairing_sdg::ActiveModel {
                pairing_id: Set(id),
                sdg_id: Set(sdg),
            });
        }
        let projects = self.ucap(id, &members);
        let stakeholders: Vec<i32> = (0..self.rng.range(0, 6))
            .map(|_| self.stakeholder(id, &members, projects.first().copied()))
            .collect();
        for _ in 0..self.rng.range(0, 10) {
            self.activity(id, &members, stakeholders.first().copied());
        }
    }

    /// One or two cities of each side, none twice.
    fn members(&mut self) -> Members {
        let n_european = self.rng.range(1, 2);
        let n_partner = self.rng.range(1, (4 - n_european).min(2));
        let mut members: Members = Vec::new();
        for (count, pool, side) in [
            (n_european, &self.european_cities, Side::European),
            (n_partner, &self.partner_cities, Side::Partner),
        ] {
            while (members.iter().filter(|m| m.1 == side).count() as u64) < count {
                let c = *self.rng.pick(pool);
                if !members.iter().any(|m| m.0 == c) {
                    members.push((c, side));
                }
            }
        }
        members
    }

    fn pairing_row(&mut self, id: i32, k: u64, title: &str) {
        let summary = format!(
            "Cooperation on theme {} and urban innovation",
            self.rng.range(1, 40)
        );
        let year = self.rng.range(2017, 2020) as i32;
        let month = self.rng.range(1, 12) as u32;
        let start = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
        let programme_region = *self.rng.pick(&self.reference.regions);
        let status = self
            .rng
            .either(70, PairingStatus::Completed, PairingStatus::Active);
        self.batches.pairing.push(pairing::ActiveModel {
            id: Set(id),
            slug: Set(format!("{}-pairing-{k}", self.tag)),
            kind: Set(PairingKind::CityToCity),
            title: Set(title.to_owned()),
            search_text: Set(fold(&format!("{title} {summary}"))),
            summary: Set(summary),
            description: NotSet,
            programme_region_id: Set(programme_region),
            start_date: Set(Some(start)),
            start_precision: Set(Some(DatePrecision::Month)),
            status: Set(status),
            sources: Set(SYNTHETIC.to_owned()),
            notes: NotSet,
            version: NotSet,
            updated_at: Set(self.now),
        });
    }

    /// The members in order; the first leads, and so does the second when it is a partner.
    fn participants(&mut self, pairing: i32, members: &Members) {
        for (position, (city, side)) in members.iter().enumerate() {
            let role = if position == 0 || (position == 1 && *side == Side::Partner) {
                ParticipantRole::Lead
            } else {
                ParticipantRole::Associated
            };
            self.batches
                .participant
                .push(pairing_participant::ActiveModel {
                    id: Set(next(&mut self.last.participant)),
                    pairing_id: Set(pairing),
                    city_id: Set(Some(*city)),
                    region_id: Set(None),
                    side: Set(*side),
                    role: Set(role),
                    position: Set(position as i32),
                });
        }
    }

    /// A UCAP for nine pairings in ten, with its first sections and up to four projects; the
    /// projects' ids.
    fn ucap(&mut self, pairing: i32, members: &Members) -> Vec<i32> {
        if !self.rng.chance(90) {
            return Vec::new();
        }
        let id = next(&mut self.last.ucap);
        let status = self
            .rng
            .either(50, UcapStatus::Adopted, UcapStatus::InPreparation);
        self.batches.ucap.push(ucap::ActiveModel {
            id: Set(id),
            pairing_id: Set(pairing),
            status: Set(status),
            sources: Set(SYNTHETIC.to_owned()),
            version: NotSet,
            updated_at: Set(self.now),
        });
        let sections = self.rng.range(2, self.reference.sections.len() as u64) as usize;
        for section_type in self.reference.sections.iter().take(sections) {
            self.batches.section.push(ucap_section::ActiveModel {
                id: NotSet,
                ucap_id: Set(id),
                section_type_id: Set(*section_type),
                body: Set(format!("Section text of UCAP {id}.")),
            });
        }
        (0..self.rng.range(0, 4))
            .map(|position| self.project(id, position as i32, members))
            .collect()
    }

    fn project(&mut self, ucap: i32, position: i32, members: &Members) -> i32 {
        let id = next(&mut self.last.project);
        let (city, _) = *self.rng.pick(members);
        let kind = self
            .rng
            .either(50, ProjectKind::Pilot, ProjectKind::KeyCooperation);
        self.batches.project.push(project::ActiveModel {
            id: Set(id),
            slug: Set(format!("{}-project-{id}", self.tag)),
            ucap_id: Set(ucap),
            kind: Set(kind),
            title: Set(format!("Project {id}")),
            description: Set(Some("A synthetic project.".to_owned())),
            city_id: Set(Some(city)),
            region_id: NotSet,
            position: Set(position),
            sources: Set(SYNTHETIC.to_owned()),
            version: NotSet,
            updated_at: Set(self.now),
        });
        id
    }

    /// A stakeholder in a member city, involved in the pairing's first project (three times in
    /// ten, when there is one) or else in the pairing; its id.
    fn stakeholder(&mut self, pairing: i32, members: &Members, project: Option<i32>) -> i32 {
        let id = next(&mut self.last.stakeholder);
        let (city, _) = *self.rng.pick(members);
        let name = format!("{} Organisation {id}", place_name(&mut self.rng));
        self.batches.stakeholder.push(stakeholder::ActiveModel {
            id: Set(id),
            slug: Set(format!("{}-stakeholder-{id}", self.tag)),
            name_folded: Set(fold(&name)),
            name: Set(name),
            helix: Set(*self.rng.pick(&HELIX)),
            city_id: Set(Some(city)),
            country_id: NotSet,
            description: Set(Some("A synthetic organisation.".to_owned())),
            sources: Set(SYNTHETIC.to_owned()),
            notes: NotSet,
            version: NotSet,
            updated_at: Set(self.now),
        });
        let (pairing, project, role) = match project {
            Some(p) if self.rng.chance(30) => (None, Some(p), "runs the project"),
            _ => (Some(pairing), None, "partner"),
        };
        self.batches.involvement.push(involvement::ActiveModel {
            id: NotSet,
            stakeholder_id: Set(id),
            pairing_id: Set(pairing),
            ucap_id: NotSet,
            project_id: Set(project),
            role: Set(Some(role.to_owned())),
            version: NotSet,
            updated_at: Set(self.now),
        });
        id
    }

    /// An activity in a member city, linked to the pairing and (four times in ten) to its
    /// first stakeholder.
    fn activity(&mut self, pairing: i32, members: &Members, stakeholder: Option<i32>) {
        let id = next(&mut self.last.activity);
        let (city, _) = *self.rng.pick(members);
        let year = self.rng.range(2017, 2021) as i32;
        let month = self.rng.range(1, 12) as u32;
        let day = self.rng.range(1, 28) as u32;
        self.batches.activity.push(activity::ActiveModel {
            id: Set(id),
            slug: Set(format!("{}-activity-{id}", self.tag)),
            date: Set(NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()),
            date_precision: Set(DatePrecision::Day),
            kind: Set(*self.rng.pick(&ACTIVITY_KINDS)),
            title: Set(format!("Activity {id}")),
            description: Set(None),
            place: Set(Some(self.city_names[&city].clone())),
            city_id: Set(Some(city)),
            status: Set(ActivityStatus::Held),
            sources: Set(SYNTHETIC.to_owned()),
            notes: NotSet,
            version: NotSet,
            updated_at: Set(self.now),
        });
        self.batches
            .activity_pairing
            .push(activity_pairing::ActiveModel {
                activity_id: Set(id),
                pairing_id: Set(pairing),
            });
        if let Some(stakeholder) = stakeholder
            && self.rng.chance(40)
        {
            let row = activity_stakeholder::ActiveModel {
                activity_id: Set(id),
                stakeholder_id: Set(stakeholder),
                role: Set(Some("took part".to_owned())),
            };
            self.batches.activity_stakeholder.push(row);
        }
    }

    /// Writes what is left and reports the rows written per table.
    async fn finish(mut self, db: &impl ConnectionTrait) -> Result<Report, DbErr> {
        self.batches.flush(db).await?;
        let batches = self.batches.in_order();
        let report = Report {
            rows: batches.iter().map(|b| (b.table, b.written)).collect(),
        };
        if db.get_database_backend() == DbBackend::Postgres {
            // Explicit ids leave the identity sequences behind: move them past the new rows.
            let serial = batches.iter().filter(|b| b.serial).map(|b| b.table);
            for table in self.reference.tables.iter().copied().chain(serial) {
                db.execute_unprepared(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
                ))
                .await?;
            }
        }
        Ok(report)
    }
}

/// Up to `lo..=hi` draws from `pool`, each kept once, in the order drawn.
fn distinct(rng: &mut Rng, pool: &[i32], lo: u64, hi: u64) -> Vec<i32> {
    let mut picked = Vec::new();
    for _ in 0..rng.range(lo, hi) {
        let item = *rng.pick(pool);
        if !picked.contains(&item) {
            picked.push(item);
        }
    }
    picked
}
