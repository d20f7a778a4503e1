//! Top-level lists with typed filters and orderings: what the pairings table, city pages and
//! dashboards ask for. Each function turns a filter into a `Source` (the rows, with `EXISTS`
//! subqueries over the link tables) and an `Ordering`; `page::fetch` and `page::count` run them.
//! Filter values are codes and slugs (ISO country codes, SDG numbers, theme slugs), bound as
//! parameters, never spliced into SQL.

use chrono::NaiveDate;
use entity::enums::*;
use entity::{
    activity, audit_event, city, country, pairing, pairing_participant, programme_region, region,
    stakeholder, theme,
};
use sea_orm::{EntityName, EntityTrait, IdenStatic, Value};

use super::page::{Ordering, Shape, SortCol, SortKind, Source};
use super::sql::Sql;
use crate::text::{fold, like_escape};

fn string(value: &str) -> Value {
    Value::String(Some(value.to_owned()))
}

fn enum_value<E: sea_orm::ActiveEnum<Value = String>>(value: E) -> Value {
    Value::String(Some(value.to_value()))
}

/// `left` followed by a bound value, e.g. `c.kind = ?`.
fn compare(left: &str, value: Value) -> Sql {
    let mut sql = Sql::default();
    sql.push(left).bind(value);
    sql
}

/// `column IN (SELECT id FROM table WHERE key IN (…))`: the ids of `entity`'s rows whose `key`
/// is one of `keys` (`column = (SELECT …)` for one key).
fn by_key<E: EntityTrait>(column: &str, entity: E, key: E::Column, keys: &[String]) -> Sql {
    let (table, key) = (entity.table_name(), key.as_str());
    let mut sql = Sql::default();
    if let [one] = keys {
        // One key (the key columns are unique): a scalar subquery, which PostgreSQL runs first
        // and then uses as an index condition. With `IN (subquery)` it walked the name index
        // over every country's cities to keep one country's: a country's first 20 cities by
        // name at 100k pairings read 8,714 rows in 11.7 ms, and 21 rows in 0.3 ms this way
        // (EXPLAIN ANALYZE, with migration 10's index on (country_id, name_folded, id)).
        sql.push(&format!(
            "{column} = (SELECT id FROM {table} WHERE {key} = "
        ))
        .bind(string(one))
        .push(")");
        return sql;
    }
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

/// Records of `entity` (a GraphQL type name) with a change in the feed after `position`
/// (`changedAfter`): a range of the feed's primary key, so cheap when a client syncs often.
fn changed_after(entity: &str, position: i64) -> Sql {
    let mut sql = Sql::default();
    sql.push("c.id IN (SELECT ce.record_id FROM change_event ce WHERE ce.position > ")
        .bind(Value::BigInt(Some(position)))
        .push(" AND ce.entity = ")
        .bind(string(entity))
        .push(")");
    sql
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
    /// A change feed position.
    pub changed_after: Option<i64>,
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
    let mut ids = Sql::default();
    ids.push("SELECT t.id FROM theme t WHERE t.slug IN (")
        .bind_list(slugs.iter().map(|k| string(k)))
        .push(")");
    let mut sql = Sql::default();
    sql.push("EXISTS (SELECT 1 FROM pairing_theme pt WHERE pt.pairing_id = c.id AND pt.theme_id ")
        .in_subquery(&ids)
        .push(")");
    sql
}

fn pairing_sdgs(numbers: &[i32]) -> Sql {
    let mut ids = Sql::default();
    ids.push("SELECT s.id FROM sdg s WHERE s.number IN (")
        .bind_list(numbers.iter().map(|n| Value::Int(Some(*n))))
        .push(")");
    let mut sql = Sql::default();
    sql.push("EXISTS (SELECT 1 FROM pairing_sdg ps WHERE ps.pairing_id = c.id AND ps.sdg_id ")
        .in_subquery(&ids)
        .push(")");
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
        let mut source = Source::joined(
            pairing::Entity,
            "JOIN pairing_theme ft ON ft.pairing_id = c.id",
        );
        let mut theme = Sql::default();
        theme
            .push("ft.theme_id = (SELECT t.id FROM theme t WHERE t.slug = ")
            .bind(string(&filter.themes[0]))
            .push(")");
        source.and(theme);
        source
    } else {
        Source::new(pairing::Entity)
    };
    if !filter.themes.is_empty() && !by_theme_title {
        source.and(pairing_themes(&filter.themes));
    }
    pairing_link_filters(&mut source, filter);
    pairing_column_filters(&mut source, filter);
    if let Some(position) = filter.changed_after {
        source.and(changed_after("Pairing", position));
    }
    (source, pairing_ordering(order, by_theme_title, direction))
}

/// The filters on a pairing's links: all its themes, its SDGs, its participants' countries.
fn pairing_link_filters(source: &mut Source, filter: &PairingFilter) {
    for slug in &filter.all_themes {
        source.and(pairing_themes(std::slice::from_ref(slug)));
    }
    if !filter.sdgs.is_empty() {
        source.and(pairing_sdgs(&filter.sdgs));
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
}

/// The filters on a pairing's own columns.
fn pairing_column_filters(source: &mut Source, filter: &PairingFilter) {
    if !filter.programme_regions.is_empty() {
        source.and(by_key(
            "c.programme_region_id",
            programme_region::Entity,
            programme_region::Column::Slug,
            &filter.programme_regions,
        ));
    }
    if let Some(kind) = filter.kind {
        source.and(compare("c.kind = ", enum_value(kind)));
    }
    if let Some(status) = filter.status {
        source.and(compare("c.status = ", enum_value(status)));
    }
    if let Some(year) = filter.start_year_from {
        let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(NaiveDate::MIN);
        source.and(compare("c.start_date >= ", Value::ChronoDate(Some(from))));
    }
    if let Some(year) = filter.start_year_to {
        let to = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX);
        source.and(compare("c.start_date <= ", Value::ChronoDate(Some(to))));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .and_then(|s| words("c.search_text", s))
    {
        source.and(search);
    }
}

fn pairing_ordering(order: PairingOrder, by_theme_title: bool, direction: Direction) -> Ordering {
    let (name, cols) = match order {
        PairingOrder::Title if by_theme_title => (
            "title",
            vec![
                SortCol::new("ft.pairing_title", SortKind::Text),
                SortCol::new("ft.pairing_id", SortKind::I32),
            ],
        ),
        PairingOrder::Title => ("title", vec![SortCol::new("c.title", SortKind::Text), id()]),
        PairingOrder::StartDate => (
            "startDate",
            vec![
                SortCol::new("COALESCE(c.start_date, '0001-01-01')", SortKind::Date),
                id(),
            ],
        ),
        PairingOrder::ParticipantCount => (
            "participantCount",
            vec![
                SortCol::new(
                    "(SELECT COUNT(*) FROM pairing_participant pp WHERE pp.pairing_id = c.id)",
                    SortKind::I64,
                ),
                id(),
            ],
        ),
    };
    ordering(name, cols, direction.descending())
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
    /// A change feed position.
    pub changed_after: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaceOrder {
    #[default]
    Name,
    Population,
    PairingCount,
}

/// Cities or regions (`entity`), whose participations `key` names.
fn places(
    entity: impl EntityName,
    key: pairing_participant::Column,
    filter: &PlaceFilter,
    order: PlaceOrder,
    direction: Direction,
) -> (Source, Ordering) {
    let cities = entity.table_name() == city::Entity.table_name();
    let mut source = Source::new(entity);
    // In one query while every filter reads the place's own columns (or the country table by
    // key): a deferred join would test them on the rows and then read the page's rows again. A
    // name-prefix search then reads its page from the name index and nothing else. Measured on
    // PostgreSQL at 100k pairings (the benchmark's city search, the server's statement log):
    // 0.20 ms bind and 0.12 ms execution per page as a deferred join, which PostgreSQL planned
    // anew at every execution; 0.08 ms and 0.05 ms in one query. A filter on the links
    // (`EXISTS`) makes it a deferred join, where rows it rejects cost index entries.
    source.shape = Shape::Direct;
    if !filter.countries.is_empty() {
        source.and(by_key(
            "c.country_id",
            country::Entity,
            country::Column::Code,
            &filter.countries,
        ));
    }
    place_link_filters(&mut source, key.as_str(), filter);
    if let (Some(kind), true) = (filter.kind, cities) {
        source.and(compare("c.kind = ", enum_value(kind)));
    }
    place_column_filters(&mut source, filter);
    if let Some(position) = filter.changed_after {
        let entity = if cities { "City" } else { "Region" };
        source.and(changed_after(entity, position));
    }
    (source, place_ordering(key.as_str(), order, direction))
}

/// The filters on a place's participations (`key`: their column naming the place), which make
/// the page a deferred join.
fn place_link_filters(source: &mut Source, key: &str, filter: &PlaceFilter) {
    if let Some(side) = filter.side {
        source.shape = Shape::Deferred;
        let mut sql = compare(
            &format!(
                "EXISTS (SELECT 1 FROM pairing_participant pp WHERE pp.{key} = c.id AND pp.side = "
            ),
            enum_value(side),
        );
        sql.push(")");
        source.and(sql);
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
}
/// The filters on a place's own columns.
fn place_column_filters(source: &mut Source, filter: &PlaceFilter) {
    if let Some(min) = filter.population_min {
        source.and(compare("c.population >= ", Value::BigInt(Some(min))));
    }
    if let Some(max) = filter.population_max {
        source.and(compare("c.population <= ", Value::BigInt(Some(max))));
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
        let mut sql = Sql::default();
        sql.push("c.name_folded")
            .bytewise()
            .push(" >= ")
            .bind(string(&prefix))
            .push(" AND c.name_folded")
            .bytewise()
            .push(" < ")
            .bind(string(&upper));
        source.and(sql);
    }
    if let Some(part) = filter
        .name_contains
        .as_deref()
        .map(fold)
        .filter(|p| !p.is_empty())
    {
        let mut sql = compare(
            "c.name_folded LIKE ",
            string(&format!("%{}%", like_escape(&part))),
        );
        sql.push(" ESCAPE '\\'");
        source.and(sql);
    }
}

/// A place list's order (`key`: the participations' column naming the place).
fn place_ordering(key: &str, order: PlaceOrder, direction: Direction) -> Ordering {
    let (name, first) = match order {
        // By folded name (the same order, case and accents aside), bytewise: the index on
        // (name_folded, id) hands the rows over in order, so a page reads only its own rows.
        PlaceOrder::Name => ("name", SortCol::bytewise("c.name_folded", SortKind::Text)),
        PlaceOrder::Population => (
            "population",
            SortCol::new("COALESCE(c.population, -1)", SortKind::I64),
        ),
        PlaceOrder::PairingCount => (
            "pairingCount",
            SortCol::new(
                format!("(SELECT COUNT(*) FROM pairing_participant pp WHERE pp.{key} = c.id)"),
                SortKind::I64,
            ),
        ),
    };
    ordering(name, vec![first, id()], direction.descending())
}

pub fn cities(filter: &PlaceFilter, order: PlaceOrder, direction: Direction) -> (Source, Ordering) {
    places(
        city::Entity,
        pairing_participant::Column::CityId,
        filter,
        order,
        direction,
    )
}

pub fn regions(
    filter: &PlaceFilter,
    order: PlaceOrder,
    direction: Direction,
) -> (Source, Ordering) {
    places(
        region::Entity,
        pairing_participant::Column::RegionId,
        filter,
        order,
        direction,
    )
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
    let mut source = Source::new(country::Entity);
    if !filter.codes.is_empty() {
        let mut sql = Sql::default();
        sql.push("c.code IN (")
            .bind_list(filter.codes.iter().map(|k| string(k)))
            .push(")");
        source.and(sql);
    }
    if let Some(side) = filter.side {
        source.shape = Shape::Deferred;
        let mut sql = compare(
            &format!("EXISTS (SELECT 1 FROM {COUNTRY_PARTICIPANTS} AND pp.side = "),
            enum_value(side),
        );
        sql.push(")");
        source.and(sql);
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
    let mut source = Source::new(theme::Entity);
    if let Some(scheme) = scheme {
        source.and(compare("c.scheme = ", enum_value(scheme)));
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
    /// A change feed position.
    pub changed_after: Option<i64>,
}

pub fn stakeholders(filter: &StakeholderFilter, direction: Direction) -> (Source, Ordering) {
    let mut source = Source::new(stakeholder::Entity);
    if !filter.helix.is_empty() {
        let mut sql = Sql::default();
        sql.push("c.helix IN (")
            .bind_list(filter.helix.iter().map(|h| enum_value(*h)))
            .push(")");
        source.and(sql);
    }
    if !filter.cities.is_empty() {
        source.and(by_key(
            "c.city_id",
            city::Entity,
            city::Column::Slug,
            &filter.cities,
        ));
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
    if let Some(position) = filter.changed_after {
        source.and(changed_after("Stakeholder", position));
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
    /// A change feed position.
    pub changed_after: Option<i64>,
}

pub fn activities(filter: &ActivityFilter, direction: Direction) -> (Source, Ordering) {
    let mut source = Source::new(activity::Entity);
    if let Some(from) = filter.from {
        source.and(compare("c.date >= ", Value::ChronoDate(Some(from))));
    }
    if let Some(to) = filter.to {
        source.and(compare("c.date <= ", Value::ChronoDate(Some(to))));
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
    if let Some(position) = filter.changed_after {
        source.and(changed_after("Activity", position));
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
    let mut source = Source::new(audit_event::Entity);
    if let Some(entity) = &filter.entity {
        source.and(compare("c.entity = ", string(entity)));
    }
    if let Some((entity, id)) = &filter.record {
        let mut sql = compare("c.entity = ", string(entity));
        sql.push(" AND c.record_id = ").bind(Value::Int(Some(*id)));
        source.and(sql);
    }
    if let Some(organisation) = &filter.organisation {
        source.and(compare("c.organisation = ", string(organisation)));
    }
    if let Some(key) = filter.key_id {
        source.and(compare("c.key_id = ", Value::Int(Some(key))));
    }
    (source, ordering("newest", vec![id()], true))
}
