//! Top-level lists with typed filters and orderings: what the pairings table, city pages and
//! dashboards ask for. Each function turns a filter into a `Source` (the rows, with `EXISTS`
//! subqueries over the link tables) and an `Ordering`; `page::fetch` and `page::count` run them.
//! Filter values are codes and slugs (ISO country codes, SDG numbers, theme slugs), bound as
//! parameters, never spliced into SQL.

use chrono::NaiveDate;
use entity::enums::*;
use sea_orm::Value;

use super::page::{Ordering, Shape, SortCol, SortKind, Source, Sql};
use crate::text::{fold, like_escape};

fn string(value: &str) -> Value {
    Value::String(Some(value.to_owned()))
}

fn enum_value<E: sea_orm::ActiveEnum<Value = String>>(value: E) -> Value {
    Value::String(Some(value.to_value()))
}

fn condition(text: &str, values: impl IntoIterator<Item = Value>) -> Sql {
    let mut sql = Sql::default();
    let mut values = values.into_iter();
    for (i, part) in text.split('?').enumerate() {
        if i > 0 {
            sql.bind(values.next().unwrap_or(Value::String(None)));
        }
        sql.push(part);
    }
    sql
}

/// `column IN (SELECT id FROM table WHERE key IN (…))`
fn in_keys(column: &str, table: &str, key: &str, keys: &[String]) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "{column} IN (SELECT id FROM {table} WHERE {key} IN ("
    ))
    .bind_list(keys.iter().map(|k| string(k)))
    .push("))");
    sql
}

/// Every word of `text`, folded, must occur in `column` (a folded column).
fn words(column: &str, text: &str) -> Option<Sql> {
    let words: Vec<String> = fold(text).split_whitespace().map(str::to_owned).collect();
    if words.is_empty() {
        return None;
    }
    let mut sql = Sql::default();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            sql.push(" AND ");
        }
        sql.push(&format!("{column} LIKE "))
            .bind(string(&format!("%{}%", like_escape(word))))
            .push(" ESCAPE '\\'");
    }
    Some(sql)
}

fn ordering(name: &str, cols: Vec<SortCol>, descending: bool) -> Ordering {
    Ordering {
        name: name.to_owned(),
        cols,
        descending,
    }
}

fn id() -> SortCol {
    SortCol::new("c.id", SortKind::I32)
}

/// How a list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    Asc,
    Desc,
}

impl Direction {
    fn descending(self) -> bool {
        self == Direction::Desc
    }
}

// ---------------------------------------------------------------- pairings

#[derive(Debug, Clone, Default)]
pub struct PairingFilter {
    pub themes: Vec<String>,
    pub all_themes: Vec<String>,
    pub sdgs: Vec<i32>,
    pub countries: Vec<String>,
    pub european_countries: Vec<String>,
    pub partner_countries: Vec<String>,
    pub programme_regions: Vec<String>,
    pub kind: Option<PairingKind>,
    pub status: Option<PairingStatus>,
    pub start_year_from: Option<i32>,
    pub start_year_to: Option<i32>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PairingOrder {
    #[default]
    Title,
    StartDate,
    ParticipantCount,
}

/// Pairings with a participant in one of `codes`, on `side` or on either.
fn pairing_country(codes: &[String], side: Option<Side>) -> Sql {
    let mut sql = Sql::default();
    sql.push(
        "EXISTS (SELECT 1 FROM pairing_participant pp LEFT JOIN city ci ON ci.id = pp.city_id \
         LEFT JOIN region r ON r.id = pp.region_id JOIN country co ON co.id = COALESCE(ci.country_id, r.country_id) \
         WHERE pp.pairing_id = c.id AND co.code IN (",
    )
    .bind_list(codes.iter().map(|k| string(k)))
    .push(")");
    if let Some(side) = side {
        sql.push(" AND pp.side = ").bind(enum_value(side));
    }
    sql.push(")");
    sql
}

fn pairing_themes(slugs: &[String]) -> Sql {
    let mut sql = Sql::default();
    sql.push(
        "EXISTS (SELECT 1 FROM pairing_theme pt WHERE pt.pairing_id = c.id \
         AND pt.theme_id {IN_SELECT}SELECT t.id FROM theme t WHERE t.slug IN (",
    )
    .bind_list(slugs.iter().map(|k| string(k)))
    .push("){END_SELECT})");
    sql
}

pub fn pairings(
    filter: &PairingFilter,
    order: PairingOrder,
    direction: Direction,
) -> (Source, Ordering) {
    let by_theme_title = filter.themes.len() == 1 && order == PairingOrder::Title;
    let mut source = if by_theme_title {
        // One theme, in title order (a theme's dashboard): a range of the index on
        // `pairing_theme (theme_id, pairing_title, pairing_id)`, whose title copy migration 6
        // keeps equal to the pairing's, rather than the pairings in title order each tested
        // for the theme (at 100k pairings, 600 probes for a page of 50).
        let mut source = Source::new("pairing c JOIN pairing_theme ft ON ft.pairing_id = c.id");
        source.and(condition(
            "ft.theme_id = (SELECT t.id FROM theme t WHERE t.slug = ?)",
            [string(&filter.themes[0])],
        ));
        source.shape = Shape::DeferredJoined;
        source
    } else {
        Source::new("pairing c")
    };
    if !filter.themes.is_empty() && !by_theme_title {
        source.and(pairing_themes(&filter.themes));
    }
    for slug in &filter.all_themes {
        source.and(pairing_themes(std::slice::from_ref(slug)));
    }
    if !filter.sdgs.is_empty() {
        let mut sql = Sql::default();
        sql.push("EXISTS (SELECT 1 FROM pairing_sdg ps WHERE ps.pairing_id = c.id AND ps.sdg_id {IN_SELECT}SELECT s.id FROM sdg s WHERE s.number IN (")
            .bind_list(filter.sdgs.iter().map(|n| Value::Int(Some(*n))))
            .push("){END_SELECT})");
        source.and(sql);
    }
    if !filter.countries.is_empty() {
        source.and(pairing_country(&filter.countries, None));
    }
    if !filter.european_countries.is_empty() {
        source.and(pairing_country(
            &filter.european_countries,
            Some(Side::European),
        ));
    }
    if !filter.partner_countries.is_empty() {
        source.and(pairing_country(
            &filter.partner_countries,
            Some(Side::Partner),
        ));
    }
    if !filter.programme_regions.is_empty() {
        source.and(in_keys(
            "c.programme_region_id",
            "programme_region",
            "slug",
            &filter.programme_regions,
        ));
    }
    if let Some(kind) = filter.kind {
        source.and(condition("c.kind = ?", [enum_value(kind)]));
    }
    if let Some(status) = filter.status {
        source.and(condition("c.status = ?", [enum_value(status)]));
    }
    if let Some(year) = filter.start_year_from {
        let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
        source.and(condition(
            "c.start_date >= ?",
            [Value::ChronoDate(Some(from))],
        ));
    }
    if let Some(year) = filter.start_year_to {
        let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
        source.and(condition(
            "c.start_date <= ?",
            [Value::ChronoDate(Some(to))],
        ));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .and_then(|s| words("c.search_text", s))
    {
        source.and(search);
    }
    let ordering = match order {
        PairingOrder::Title if by_theme_title => ordering(
            "title",
            vec![
                SortCol::new("ft.pairing_title", SortKind::Text),
                SortCol::new("ft.pairing_id", SortKind::I32),
            ],
            direction.descending(),
        ),
        PairingOrder::Title => ordering(
            "title",
            vec![SortCol::new("c.title", SortKind::Text), id()],
            direction.descending(),
        ),
        PairingOrder::StartDate => ordering(
            "startDate",
            vec![
                SortCol::new("COALESCE(c.start_date, '0001-01-01')", SortKind::Date),
                id(),
            ],
            direction.descending(),
        ),
        PairingOrder::ParticipantCount => ordering(
            "participantCount",
            vec![
                SortCol::new(
                    "(SELECT COUNT(*) FROM pairing_participant pp WHERE pp.pairing_id = c.id)",
                    SortKind::I64,
                ),
                id(),
            ],
            direction.descending(),
        ),
    };
    (source, ordering)
}

// ---------------------------------------------------------------- cities and regions

#[derive(Debug, Clone, Default)]
pub struct PlaceFilter {
    pub countries: Vec<String>,
    pub side: Option<Side>,
    pub themes: Vec<String>,
    pub kind: Option<CityKind>,
    pub population_min: Option<i64>,
    pub population_max: Option<i64>,
    pub name_starts_with: Option<String>,
    pub name_contains: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaceOrder {
    #[default]
    Name,
    Population,
    PairingCount,
}

/// Cities (`table = "city"`, `key = "city_id"`) or regions.
fn places(
    table: &str,
    key: &str,
    filter: &PlaceFilter,
    order: PlaceOrder,
    direction: Direction,
) -> (Source, Ordering) {
    let mut source = Source::new(format!("{table} c"));
    // In one query while every filter reads the place's own columns (or the country table by
    // key): a deferred join would test them on the rows and then read the page's rows again. A
    // name-prefix search then reads its page from the name index and nothing else. Measured on
    // PostgreSQL at 100k pairings (the benchmark's city search, the server's statement log):
    // 0.20 ms bind and 0.12 ms execution per page as a deferred join, which PostgreSQL planned
    // anew at every execution; 0.08 ms and 0.05 ms in one query. A filter on the links
    // (`EXISTS`) makes it a deferred join, where rows it rejects cost index entries.
    source.shape = Shape::Direct;
    if !filter.countries.is_empty() {
        source.and(in_keys(
            "c.country_id",
            "country",
            "code",
            &filter.countries,
        ));
    }
    if let Some(side) = filter.side {
        source.shape = Shape::Deferred;
        source.and(condition(
            &format!("EXISTS (SELECT 1 FROM pairing_participant pp WHERE pp.{key} = c.id AND pp.side = ?)"),
            [enum_value(side)],
        ));
    }
    if !filter.themes.is_empty() {
        source.shape = Shape::Deferred;
        let mut sql = Sql::default();
        sql.push(&format!(
            "EXISTS (SELECT 1 FROM pairing_participant pp JOIN pairing_theme pt ON pt.pairing_id = pp.pairing_id \
             JOIN theme t ON t.id = pt.theme_id WHERE pp.{key} = c.id AND t.slug IN ("
        ))
        .bind_list(filter.themes.iter().map(|k| string(k)))
        .push("))");
        source.and(sql);
    }
    if let (Some(kind), "city") = (filter.kind, table) {
        source.and(condition("c.kind = ?", [enum_value(kind)]));
    }
    if let Some(min) = filter.population_min {
        source.and(condition("c.population >= ?", [Value::BigInt(Some(min))]));
    }
    if let Some(max) = filter.population_max {
        source.and(condition("c.population <= ?", [Value::BigInt(Some(max))]));
    }
    if let Some(prefix) = filter
        .name_starts_with
        .as_deref()
        .map(fold)
        .filter(|p| !p.is_empty())
    {
        // A range on the folded name rather than `LIKE 'x%'`: both backends answer it from the
        // index on (name_folded, id) when the comparison is bytewise.
        let upper = format!("{prefix}{}", char::MAX);
        source.and(condition(
            "c.name_folded{C} >= ? AND c.name_folded{C} < ?",
            [string(&prefix), string(&upper)],
        ));
    }
    if let Some(part) = filter
        .name_contains
        .as_deref()
        .map(fold)
        .filter(|p| !p.is_empty())
    {
        source.and(condition(
            "c.name_folded LIKE ? ESCAPE '\\'",
            [string(&format!("%{}%", like_escape(&part)))],
        ));
    }
    let ordering = match order {
        // By folded name (the same order, case and accents aside), bytewise: the index on
        // (name_folded, id) hands the rows over in order, so a page reads only its own rows.
        PlaceOrder::Name => ordering(
            "name",
            vec![SortCol::new("c.name_folded{C}", SortKind::Text), id()],
            direction.descending(),
        ),
        PlaceOrder::Population => ordering(
            "population",
            vec![
                SortCol::new("COALESCE(c.population, -1)", SortKind::I64),
                id(),
            ],
            direction.descending(),
        ),
        PlaceOrder::PairingCount => ordering(
            "pairingCount",
            vec![
                SortCol::new(
                    format!("(SELECT COUNT(*) FROM pairing_participant pp WHERE pp.{key} = c.id)"),
                    SortKind::I64,
                ),
                id(),
            ],
            direction.descending(),
        ),
    };
    (source, ordering)
}

pub fn cities(filter: &PlaceFilter, order: PlaceOrder, direction: Direction) -> (Source, Ordering) {
    places("city", "city_id", filter, order, direction)
}

pub fn regions(
    filter: &PlaceFilter,
    order: PlaceOrder,
    direction: Direction,
) -> (Source, Ordering) {
    places("region", "region_id", filter, order, direction)
}

// ---------------------------------------------------------------- countries and themes

#[derive(Debug, Clone, Default)]
pub struct CountryFilter {
    pub codes: Vec<String>,
    pub side: Option<Side>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CountryOrder {
    #[default]
    Name,
    Code,
    PairingCount,
}

const COUNTRY_PARTICIPANTS: &str = "pairing_participant pp LEFT JOIN city ci ON ci.id = pp.city_id \
     LEFT JOIN region r ON r.id = pp.region_id WHERE COALESCE(ci.country_id, r.country_id) = c.id";

pub fn countries(
    filter: &CountryFilter,
    order: CountryOrder,
    direction: Direction,
) -> (Source, Ordering) {
    let mut source = Source::new("country c");
    if !filter.codes.is_empty() {
        let mut sql = Sql::default();
        sql.push("c.code IN (")
            .bind_list(filter.codes.iter().map(|k| string(k)))
            .push(")");
        source.and(sql);
    }
    if let Some(side) = filter.side {
        source.shape = Shape::Deferred;
        source.and(condition(
            &format!("EXISTS (SELECT 1 FROM {COUNTRY_PARTICIPANTS} AND pp.side = ?)"),
            [enum_value(side)],
        ));
    }
    let ordering = match order {
        CountryOrder::Name => ordering(
            "name",
            vec![SortCol::new("c.name", SortKind::Text), id()],
            direction.descending(),
        ),
        CountryOrder::Code => ordering(
            "code",
            vec![SortCol::new("c.code", SortKind::Text), id()],
            direction.descending(),
        ),
        CountryOrder::PairingCount => ordering(
            "pairingCount",
            vec![
                SortCol::new(
                    format!("(SELECT COUNT(DISTINCT pp.pairing_id) FROM {COUNTRY_PARTICIPANTS})"),
                    SortKind::I64,
                ),
                id(),
            ],
            direction.descending(),
        ),
    };
    (source, ordering)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ThemeOrder {
    #[default]
    Name,
    PairingCount,
}

pub fn themes(
    scheme: Option<ThemeScheme>,
    order: ThemeOrder,
    direction: Direction,
) -> (Source, Ordering) {
    let mut source = Source::new("theme c");
    if let Some(scheme) = scheme {
        source.and(condition("c.scheme = ?", [enum_value(scheme)]));
    }
    let ordering = match order {
        ThemeOrder::Name => ordering(
            "name",
            vec![SortCol::new("c.name", SortKind::Text), id()],
            direction.descending(),
        ),
        ThemeOrder::PairingCount => ordering(
            "pairingCount",
            vec![
                SortCol::new(
                    "(SELECT COUNT(*) FROM pairing_theme pt WHERE pt.theme_id = c.id)",
                    SortKind::I64,
                ),
                id(),
            ],
            direction.descending(),
        ),
    };
    (source, ordering)
}

// ---------------------------------------------------------------- stakeholders and activities

#[derive(Debug, Clone, Default)]
pub struct StakeholderFilter {
    pub helix: Vec<Helix>,
    pub cities: Vec<String>,
    pub countries: Vec<String>,
    pub name_contains: Option<String>,
}

pub fn stakeholders(filter: &StakeholderFilter, direction: Direction) -> (Source, Ordering) {
    let mut source = Source::new("stakeholder c");
    if !filter.helix.is_empty() {
        let mut sql = Sql::default();
        sql.push("c.helix IN (")
            .bind_list(filter.helix.iter().map(|h| enum_value(*h)))
            .push(")");
        source.and(sql);
    }
    if !filter.cities.is_empty() {
        source.and(in_keys("c.city_id", "city", "slug", &filter.cities));
    }
    if !filter.countries.is_empty() {
        // The organisation's own country, or its city's.
        let mut sql = Sql::default();
        sql.push("COALESCE(c.country_id, (SELECT ci.country_id FROM city ci WHERE ci.id = c.city_id)) IN (SELECT id FROM country WHERE code IN (")
            .bind_list(filter.countries.iter().map(|k| string(k)))
            .push("))");
        source.and(sql);
    }
    if let Some(part) = filter
        .name_contains
        .as_deref()
        .and_then(|s| words("c.name_folded", s))
    {
        source.and(part);
    }
    (
        source,
        ordering(
            "name",
            vec![SortCol::new("c.name", SortKind::Text), id()],
            direction.descending(),
        ),
    )
}

#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub kinds: Vec<ActivityKind>,
    pub pairings: Vec<String>,
}

pub fn activities(filter: &ActivityFilter, direction: Direction) -> (Source, Ordering) {
    let mut source = Source::new("activity c");
    if let Some(from) = filter.from {
        source.and(condition("c.date >= ?", [Value::ChronoDate(Some(from))]));
    }
    if let Some(to) = filter.to {
        source.and(condition("c.date <= ?", [Value::ChronoDate(Some(to))]));
    }
    if !filter.kinds.is_empty() {
        let mut sql = Sql::default();
        sql.push("c.kind IN (")
            .bind_list(filter.kinds.iter().map(|k| enum_value(*k)))
            .push(")");
        source.and(sql);
    }
    if !filter.pairings.is_empty() {
        let mut sql = Sql::default();
        sql.push("EXISTS (SELECT 1 FROM activity_pairing ap JOIN pairing p ON p.id = ap.pairing_id WHERE ap.activity_id = c.id AND p.slug IN (")
            .bind_list(filter.pairings.iter().map(|k| string(k)))
            .push("))");
        source.and(sql);
    }
    (
        source,
        ordering(
            "date",
            vec![SortCol::new("c.date", SortKind::Date), id()],
            direction.descending(),
        ),
    )
}

/// Which audit events to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The entity type, e.g. `Pairing`.
    pub entity: Option<String>,
    /// One record: its entity type and row id.
    pub record: Option<(String, i32)>,
    /// The acting organisation's global ID.
    pub organisation: Option<String>,
    /// The acting key.
    pub key_id: Option<i32>,
}

/// Audit events, newest first (by id, which grows with time).
pub fn audit_events(filter: &AuditFilter) -> (Source, Ordering) {
    let mut source = Source::new("audit_event c");
    if let Some(entity) = &filter.entity {
        source.and(condition("c.entity = ?", [string(entity)]));
    }
    if let Some((entity, id)) = &filter.record {
        source.and(condition(
            "c.entity = ? AND c.record_id = ?",
            [string(entity), Value::Int(Some(*id))],
        ));
    }
    if let Some(organisation) = &filter.organisation {
        source.and(condition("c.organisation = ?", [string(organisation)]));
    }
    if let Some(key) = filter.key_id {
        source.and(condition("c.key_id = ?", [Value::Int(Some(key))]));
    }
    (source, ordering("newest", vec![id()], true))
}
