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

use chrono::NaiveDate;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement, TransactionTrait, Value,
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
struct Batch {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
    written: u64,
}

impl Batch {
    fn new(table: &'static str, columns: &'static [&'static str]) -> Self {
        Self {
            table,
            columns,
            rows: Vec::new(),
            written: 0,
        }
    }

    fn full(&self) -> bool {
        self.rows.len() * self.columns.len() >= 30_000
    }

    async fn flush(&mut self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut sql = Sql::default();
        sql.push(&format!(
            "INSERT INTO {} ({}) VALUES ",
            self.table,
            self.columns.join(", ")
        ));
        for (i, row) in self.rows.drain(..).enumerate() {
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

fn s(text: impl Into<String>) -> Value {
    Value::String(Some(text.into()))
}
fn i(n: i32) -> Value {
    Value::Int(Some(n))
}
fn big(n: i64) -> Value {
    Value::BigInt(Some(n))
}
fn f(x: f64) -> Value {
    Value::Double(Some(x))
}
fn null_i() -> Value {
    Value::Int(None)
}
fn null_s() -> Value {
    Value::String(None)
}
fn date(d: NaiveDate) -> Value {
    Value::ChronoDate(Some(d))
}

async fn max_id(db: &impl ConnectionTrait, table: &str) -> Result<i32, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COALESCE(MAX(id), 0) AS m FROM {table}"),
        ))
        .await?;
    Ok(match row {
        Some(row) => row
            .try_get::<i32>("", "m")
            .or_else(|_| row.try_get::<i64>("", "m").map(|v| v as i32))?,
        None => 0,
    })
}

/// Ids of rows by key, inserting the missing ones (reference data shared with the seed).
async fn ensure(
    db: &impl ConnectionTrait,
    table: &'static str,
    key: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Value>>,
) -> Result<HashMap<String, i32>, DbErr> {
    let mut batch = Batch::new(table, columns);
    let existing = keyed_ids(db, table, key).await?;
    for row in rows {
        let k = match &row[0] {
            Value::String(Some(v)) => v.clone(),
            Value::Int(Some(v)) => v.to_string(),
            _ => continue,
        };
        if !existing.contains_key(&k) {
            batch.rows.push(row);
        }
    }
    batch.flush(db).await?;
    keyed_ids(db, table, key).await
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

const SECTION_TYPES: [&str; 6] = [
    "overview",
    "areas-of-cooperation",
    "transfer-measures",
    "actions",
    "key-learnings",
    "future-commitments",
];

const THEME_SCHEMES: [(&str, &str, usize); 3] = [
    ("stream", "thematic_stream", 6),
    ("ua", "urban_agenda", 14),
    ("topic", "topic", 8),
];
const HELIX: [&str; 4] = ["academia", "business", "civil_society", "government"];
const ACTIVITY_KINDS: [&str; 8] = [
    "meeting",
    "mission",
    "visit",
    "workshop",
    "seminar",
    "agreement",
    "event",
    "webinar",
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
    // (PostgreSQL's autovacuum analyses them only later) and pick sequential scans: measured
    // at 100k pairings, a page of a pairing's activities took 98 ms before and 0.2 ms after.
    // On PostgreSQL, VACUUM also sets the visibility map, which index-only scans need.
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
/// probe of the parent for every inserted row, `perf`); added back, each is validated by one
/// query over the whole table. Everything happens in the generation's transaction: the
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
    let mut rng = Rng(options.seed ^ 0x5EED_1DEA);
    let tag = format!("g{}", options.seed);

    // Reference data: ~200 countries (the first 40 on the European side), the programme
    // regions, themes in the three schemes, the SDGs and the UCAP sections.
    let letters: Vec<char> = ('A'..='Z').collect();
    let countries: Vec<String> = (0..200)
        .map(|n| format!("{}{}", letters[n / 26], letters[n % 26]))
        .collect();
    let country_ids = ensure(
        db,
        "country",
        "code",
        &["code", "name"],
        countries
            .iter()
            .map(|c| vec![s(c.clone()), s(format!("Country {c}"))])
            .collect(),
    )
    .await?;
    let region_ids = ensure(
        db,
        "programme_region",
        "slug",
        &["slug", "name"],
        PROGRAMME_REGIONS
            .iter()
            .map(|r| vec![s(*r), s(format!("IUC {r}"))])
            .collect(),
    )
    .await?;
    let mut theme_rows = Vec::new();
    for (prefix, scheme, n) in THEME_SCHEMES {
        for k in 0..n {
            theme_rows.push(vec![
                s(format!("{prefix}-{tag}-{k}")),
                s(scheme),
                s(format!("Theme {prefix} {k}")),
            ]);
        }
    }
    let theme_slugs: Vec<String> = theme_rows
        .iter()
        .filter_map(|r| match &r[0] {
            Value::String(Some(v)) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let theme_ids = ensure(db, "theme", "slug", &["slug", "scheme", "name"], theme_rows).await?;
    let sdg_ids = ensure(
        db,
        "sdg",
        "number",
        &["number", "name"],
        (1..=17)
            .map(|n| vec![i(n), s(format!("Goal {n}"))])
            .collect(),
    )
    .await?;
    let section_ids = ensure(
        db,
        "ucap_section_type",
        "slug",
        &["slug", "name", "position"],
        SECTION_TYPES
            .iter()
            .enumerate()
            .map(|(k, slug)| vec![s(*slug), s(slug.replace('-', " ")), i(k as i32 + 1)])
            .collect(),
    )
    .await?;
    let european: Vec<i32> = countries[..40].iter().map(|c| country_ids[c]).collect();
    let partner: Vec<i32> = countries[40..].iter().map(|c| country_ids[c]).collect();
    let themes: Vec<i32> = theme_slugs.iter().map(|t| theme_ids[t]).collect();
    let sdgs: Vec<i32> = (1..=17).map(|n| sdg_ids[&n.to_string()]).collect();
    // In the order of SECTION_TYPES, not the map's (random per process): the same seed must
    // give the same data.
    let sections: Vec<i32> = SECTION_TYPES.iter().map(|t| section_ids[*t]).collect();
    let regions: Vec<i32> = PROGRAMME_REGIONS.iter().map(|r| region_ids[*r]).collect();

    let mut city_id = max_id(db, "city").await?;
    let mut pairing_id = max_id(db, "pairing").await?;
    let mut participant_id = max_id(db, "pairing_participant").await?;
    let mut ucap_id = max_id(db, "ucap").await?;
    let mut project_id = max_id(db, "project").await?;
    let mut stakeholder_id = max_id(db, "stakeholder").await?;
    let mut activity_id = max_id(db, "activity").await?;

    let mut city = Batch::new(
        "city",
        &[
            "id",
            "slug",
            "name",
            "name_folded",
            "kind",
            "country_id",
            "population",
            "area_km2",
            "latitude",
            "longitude",
            "sources",
        ],
    );
    let mut pairing = Batch::new(
        "pairing",
        &[
            "id",
            "slug",
            "kind",
            "title",
            "summary",
            "search_text",
            "programme_region_id",
            "start_date",
            "start_precision",
            "status",
            "sources",
        ],
    );
    let mut participant = Batch::new(
        "pairing_participant",
        &[
            "id",
            "pairing_id",
            "city_id",
            "region_id",
            "side",
            "role",
            "position",
        ],
    );
    // The title copy that migration 6 keeps for the theme pages (its trigger fills it only when
    // a row comes without one: here they all come with it, which spares a lookup per row).
    let mut pairing_theme = Batch::new(
        "pairing_theme",
        &["pairing_id", "theme_id", "pairing_title"],
    );
    let mut pairing_sdg = Batch::new("pairing_sdg", &["pairing_id", "sdg_id"]);
    let mut ucap = Batch::new("ucap", &["id", "pairing_id", "status"]);
    let mut section = Batch::new("ucap_section", &["ucap_id", "section_type_id", "body"]);
    let mut project = Batch::new(
        "project",
        &[
            "id",
            "slug",
            "ucap_id",
            "kind",
            "title",
            "description",
            "city_id",
            "position",
        ],
    );
    let mut stakeholder = Batch::new(
        "stakeholder",
        &[
            "id",
            "slug",
            "name",
            "name_folded",
            "helix",
            "city_id",
            "description",
            "sources",
        ],
    );
    let mut involvement = Batch::new(
        "involvement",
        &["stakeholder_id", "pairing_id", "project_id", "role"],
    );
    let mut activity = Batch::new(
        "activity",
        &[
            "id",
            "slug",
            "date",
            "date_precision",
            "kind",
            "title",
            "description",
            "place",
            "city_id",
            "sources",
        ],
    );
    let mut activity_pairing = Batch::new("activity_pairing", &["activity_id", "pairing_id"]);
    let mut activity_stakeholder = Batch::new(
        "activity_stakeholder",
        &["activity_id", "stakeholder_id", "role"],
    );

    // Parents before children: when one batch is full, every batch is written, in this order,
    // so that no row is written before a row it refers to.
    macro_rules! all_batches {
        () => {
            [
                &mut city,
                &mut pairing,
                &mut participant,
                &mut pairing_theme,
                &mut pairing_sdg,
                &mut ucap,
                &mut section,
                &mut project,
                &mut stakeholder,
                &mut involvement,
                &mut activity,
                &mut activity_pairing,
                &mut activity_stakeholder,
            ]
        };
    }
    macro_rules! flush_all {
        () => {
            for batch in all_batches!() {
                batch.flush(db).await?;
            }
        };
    }
    macro_rules! put {
        ($batch:ident, $row:expr) => {{
            let row = $row;
            $batch.rows.push(row);
            if $batch.full() {
                flush_all!();
            }
        }};
    }

    // Cities: two per pairing, half on each side; pairings draw from the pools.
    let n_cities = (options.pairings * 2).max(4);
    let mut european_cities = Vec::new();
    let mut partner_cities = Vec::new();
    let mut city_names: HashMap<i32, String> = HashMap::new();
    for k in 0..n_cities {
        city_id += 1;
        let is_european = k % 2 == 0;
        let country = if is_european {
            *rng.pick(&european)
        } else {
            *rng.pick(&partner)
        };
        let name = format!("{} {k}", place_name(&mut rng));
        let row = vec![
            i(city_id),
            s(format!("{tag}-city-{k}")),
            s(name.clone()),
            s(fold(&name)),
            s(if rng.chance(90) { "city" } else { "district" }),
            i(country),
            big(rng.range(5_000, 12_000_000) as i64),
            f(rng.range(10, 20_000) as f64),
            f(rng.range(0, 1_400_000) as f64 / 10_000.0 - 70.0),
            f(rng.range(0, 3_600_000) as f64 / 10_000.0 - 180.0),
            s("[]"),
        ];
        put!(city, row);
        city_names.insert(city_id, name);
        if is_european {
            european_cities.push(city_id)
        } else {
            partner_cities.push(city_id)
        }
    }

    for k in 0..options.pairings {
        pairing_id += 1;
        let n_european = rng.range(1, 2);
        let n_partner = rng.range(1, (4 - n_european).min(2));
        let mut members: Vec<(i32, &str)> = Vec::new();
        for (count, pool, side) in [
            (n_european, &european_cities, "european"),
            (n_partner, &partner_cities, "partner"),
        ] {
            while (members.iter().filter(|m| m.1 == side).count() as u64) < count {
                let c = *rng.pick(pool);
                if !members.iter().any(|m| m.0 == c) {
                    members.push((c, side));
                }
            }
        }
        let title = members
            .iter()
            .map(|(c, _)| city_names[c].clone())
            .collect::<Vec<_>>()
            .join(" – ");
        let summary = format!(
            "Cooperation on theme {} and urban innovation",
            rng.range(1, 40)
        );
        let start =
            NaiveDate::from_ymd_opt(rng.range(2017, 2020) as i32, rng.range(1, 12) as u32, 1)
                .unwrap_or_default();
        put!(
            pairing,
            vec![
                i(pairing_id),
                s(format!("{tag}-pairing-{k}")),
                s("city_to_city"),
                s(title.clone()),
                s(summary.clone()),
                s(fold(&format!("{title} {summary}"))),
                i(*rng.pick(&regions)),
                date(start),
                s("month"),
                s(if rng.chance(70) {
                    "completed"
                } else {
                    "active"
                }),
                s("[]"),
            ]
        );
        for (position, (c, side)) in members.iter().enumerate() {
            participant_id += 1;
            let role = if position == 0 || (position == 1 && *side == "partner") {
                "lead"
            } else {
                "associated"
            };
            put!(
                participant,
                vec![
                    i(participant_id),
                    i(pairing_id),
                    i(*c),
                    null_i(),
                    s(*side),
                    s(role),
                    i(position as i32)
                ]
            );
        }
        let mut picked = Vec::new();
        for _ in 0..rng.range(1, 4) {
            let t = *rng.pick(&themes);
            if !picked.contains(&t) {
                picked.push(t);
                put!(pairing_theme, vec![i(pairing_id), i(t), s(title.clone())]);
            }
        }
        let mut picked = Vec::new();
        for _ in 0..rng.range(1, 3) {
            let g = *rng.pick(&sdgs);
            if !picked.contains(&g) {
                picked.push(g);
                put!(pairing_sdg, vec![i(pairing_id), i(g)]);
            }
        }
        let mut projects_here = Vec::new();
        if rng.chance(90) {
            ucap_id += 1;
            put!(
                ucap,
                vec![
                    i(ucap_id),
                    i(pairing_id),
                    s(if rng.chance(50) {
                        "adopted"
                    } else {
                        "in_preparation"
                    })
                ]
            );
            let n_sections = rng.range(2, sections.len() as u64) as usize;
            for section_type in sections.iter().take(n_sections) {
                put!(
                    section,
                    vec![
                        i(ucap_id),
                        i(*section_type),
                        s(format!("Section text of UCAP {ucap_id}."))
                    ]
                );
            }
            for position in 0..rng.range(0, 4) {
                project_id += 1;
                projects_here.push(project_id);
                let (c, _) = *rng.pick(&members);
                put!(
                    project,
                    vec![
                        i(project_id),
                        s(format!("{tag}-project-{project_id}")),
                        i(ucap_id),
                        s(if rng.chance(50) {
                            "pilot"
                        } else {
                            "key_cooperation"
                        }),
                        s(format!("Project {project_id}")),
                        s("A synthetic project."),
                        i(c),
                        i(position as i32),
                    ]
                );
            }
        }
        let mut stakeholders_here = Vec::new();
        for _ in 0..rng.range(0, 6) {
            stakeholder_id += 1;
            stakeholders_here.push(stakeholder_id);
            let (c, _) = *rng.pick(&members);
            let name = format!("{} Organisation {stakeholder_id}", place_name(&mut rng));
            put!(
                stakeholder,
                vec![
                    i(stakeholder_id),
                    s(format!("{tag}-stakeholder-{stakeholder_id}")),
                    s(name.clone()),
                    s(fold(&name)),
                    s(*rng.pick(&HELIX)),
                    i(c),
                    s("A synthetic organisation."),
                    s("[]"),
                ]
            );
            match projects_here.first() {
                Some(p) if rng.chance(30) => {
                    put!(
                        involvement,
                        vec![i(stakeholder_id), null_i(), i(*p), s("runs the project")]
                    )
                }
                _ => put!(
                    involvement,
                    vec![i(stakeholder_id), i(pairing_id), null_i(), s("partner")]
                ),
            }
        }
        for _ in 0..rng.range(0, 10) {
            activity_id += 1;
            let (c, _) = *rng.pick(&members);
            let day = NaiveDate::from_ymd_opt(
                rng.range(2017, 2021) as i32,
                rng.range(1, 12) as u32,
                rng.range(1, 28) as u32,
            )
            .unwrap_or_default();
            put!(
                activity,
                vec![
                    i(activity_id),
                    s(format!("{tag}-activity-{activity_id}")),
                    date(day),
                    s("day"),
                    s(*rng.pick(&ACTIVITY_KINDS)),
                    s(format!("Activity {activity_id}")),
                    null_s(),
                    s(city_names[&c].clone()),
                    i(c),
                    s("[]"),
                ]
            );
            put!(activity_pairing, vec![i(activity_id), i(pairing_id)]);
            if let Some(st) = stakeholders_here.first()
                && rng.chance(40)
            {
                put!(
                    activity_stakeholder,
                    vec![i(activity_id), i(*st), s("took part")]
                );
            }
        }
    }

    let mut report = Report::default();
    for batch in all_batches!() {
        batch.flush(db).await?;
        report.rows.push((batch.table, batch.written));
    }
    if db.get_database_backend() == DbBackend::Postgres {
        // Explicit ids leave the identity sequences behind: move them past the new rows.
        for table in [
            "country",
            "programme_region",
            "theme",
            "sdg",
            "ucap_section_type",
            "city",
            "pairing",
            "pairing_participant",
            "ucap",
            "ucap_section",
            "project",
            "stakeholder",
            "involvement",
            "activity",
        ] {
            db.execute_unprepared(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            ))
            .await?;
        }
    }
    Ok(report)
}
