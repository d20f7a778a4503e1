//! Keyset pagination in SQL, for both backends.
//!
//! A page is asked for with Relay's arguments (`first`/`after`, `last`/`before`). Rows are
//! ordered by a list of sort expressions that ends in a unique column (the id), so a cursor —
//! the sort values of a row — names a position that stays valid when rows are inserted: the next
//! page is `WHERE (sort…) > (cursor…)`, never an offset.
//!
//! Two shapes:
//! - a top-level list: `… WHERE filters AND keyset ORDER BY … LIMIT n + 1`;
//! - the children of many parents at once (a nested connection): one statement for all
//!   parents, `ROW_NUMBER() OVER (PARTITION BY parent ORDER BY …)`, keeping `n + 1` rows per
//!   parent. The page is limited in SQL, never by loading every child and slicing in memory.
//!
//! The extra row tells whether there is a next page (or, going backwards, a previous one).
//!
//! The statements are built with [`super::sql::Sql`]; how the plan figures in the comments are
//! measured is said there.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr, EntityName, Value};

use super::decode::{Decode, Rows};
use super::sql::Sql;

/// Default page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: u64 = 20;
/// Largest page a client may ask for.
pub const MAX_PAGE: u64 = 100;

/// The SQL type of a sort expression, so that cursor values are bound and read with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKind {
    Text,
    I32,
    I64,
    Date,
}

/// One sort expression (e.g. `c.name`, or a subquery counting pairings). It must not be NULL:
/// wrap nullable columns in `COALESCE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SortCol {
    pub expr: String,
    pub kind: SortKind,
    /// Compared bytewise ([`Sql::bytewise`]), as an index on the expression orders it.
    pub bytewise: bool,
}

impl SortCol {
    pub fn new(expr: impl Into<String>, kind: SortKind) -> Self {
        Self {
            expr: expr.into(),
            kind,
            bytewise: false,
        }
    }
    /// An expression sorted bytewise, e.g. a folded name whose index is bytewise.
    pub fn bytewise(expr: impl Into<String>, kind: SortKind) -> Self {
        Self {
            bytewise: true,
            ..Self::new(expr, kind)
        }
    }
}

/// A full ordering: expressions (the last one unique), a direction, and a name that cursors
/// carry so that a cursor from one ordering is not used with another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ordering {
    pub name: String,
    pub cols: Vec<SortCol>,
    pub descending: bool,
}

/// A value of a sort expression, as a cursor holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Text(String),
    Int(i64),
    Date(NaiveDate),
}

impl Key {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Key::Text(s) => serde_json::Value::from(s.as_str()),
            Key::Int(i) => serde_json::Value::from(*i),
            Key::Date(d) => serde_json::Value::from(d.format("%Y-%m-%d").to_string()),
        }
    }

    fn from_json(value: &serde_json::Value, kind: SortKind) -> Option<Key> {
        match kind {
            SortKind::Text => value.as_str().map(|s| Key::Text(s.to_owned())),
            SortKind::I32 | SortKind::I64 => value.as_i64().map(Key::Int),
            SortKind::Date => value
                .as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .map(Key::Date),
        }
    }

    fn bind(&self, kind: SortKind) -> Value {
        match (self, kind) {
            (Key::Int(i), SortKind::I32) => Value::Int(Some(*i as i32)),
            (Key::Int(i), _) => Value::BigInt(Some(*i)),
            (Key::Text(s), _) => Value::String(Some(s.clone())),
            (Key::Date(d), _) => Value::ChronoDate(Some(*d)),
        }
    }

    /// The sort key at position `i` of row `row`.
    fn read(rows: &Rows, row: usize, i: usize, kind: SortKind) -> Result<Key, DbErr> {
        let missing = || DbErr::Type(format!("sort key {i} of a page's row is NULL"));
        Ok(match kind {
            SortKind::Text => Key::Text(rows.text(row, i)?.ok_or_else(missing)?),
            SortKind::I32 => Key::Int(rows.int(row, i)?.ok_or_else(missing)? as i64),
            SortKind::I64 => Key::Int(rows.big_int(row, i)?.ok_or_else(missing)?),
            SortKind::Date => Key::Date(rows.date(row, i)?.ok_or_else(missing)?),
        })
    }
}

/// Why page arguments were refused; the message is for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageError(pub String);

/// A decoded cursor: the ordering it belongs to and the sort values of its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub ordering: String,
    pub keys: Vec<Key>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let keys: Vec<serde_json::Value> = self.keys.iter().map(Key::to_json).collect();
        let json = serde_json::json!([self.ordering, keys]);
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    pub fn decode(text: &str, ordering: &Ordering) -> Result<Cursor, PageError> {
        let bad = || {
            PageError(format!(
                "{text:?} is not a valid cursor: use a `cursor` returned by this connection"
            ))
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let name = value.get(0).and_then(|v| v.as_str()).ok_or_else(bad)?;
        if name != ordering.name {
            return Err(PageError(format!(
                "this cursor belongs to another ordering ({name}); ask again without it for ordering {}",
                ordering.name
            )));
        }
        let keys = value.get(1).and_then(|v| v.as_array()).ok_or_else(bad)?;
        if keys.len() != ordering.cols.len() {
            return Err(bad());
        }
        let keys = keys
            .iter()
            .zip(&ordering.cols)
            .map(|(v, col)| Key::from_json(v, col.kind))
            .collect::<Option<Vec<Key>>>()
            .ok_or_else(bad)?;
        Ok(Cursor {
            ordering: ordering.name.clone(),
            keys,
        })
    }
}

/// Relay's page arguments, validated: a direction and a size, and the bounds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageArgs {
    /// Rows to return.
    pub size: u64,
    /// `last`/`before`: the page ends at the bound and is counted backwards.
    pub backward: bool,
    pub after: Option<String>,
    pub before: Option<String>,
}

impl PageArgs {
    /// Validates `first`, `after`, `last`, `before` as a client sent them.
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<PageArgs, PageError> {
        let check = |name: &str, n: i32| -> Result<u64, PageError> {
            if n < 0 {
                return Err(PageError(format!("`{name}` must be 0 or more, not {n}")));
            }
            if n as u64 > MAX_PAGE {
                return Err(PageError(format!(
                    "`{name}` must be at most {MAX_PAGE}, not {n}: page through the rest with cursors"
                )));
            }
            Ok(n as u64)
        };
        let (size, backward) = match (first, last) {
            (Some(_), Some(_)) => {
                return Err(PageError("give `first` or `last`, not both".into()));
            }
            (Some(n), None) => (check("first", n)?, false),
            (None, Some(n)) => (check("last", n)?, true),
            (None, None) => (DEFAULT_PAGE, before.is_some() && after.is_none()),
        };
        Ok(PageArgs {
            size,
            backward,
            after,
            before,
        })
    }
}

/// One page: rows with their cursors, in the connection's order.
#[derive(Debug, Clone)]
pub struct Page<M> {
    pub rows: Vec<(String, M)>,
    pub has_next: bool,
    pub has_previous: bool,
}

impl<M> Default for Page<M> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            has_next: false,
            has_previous: false,
        }
    }
}

/// The rows a page reads: `FROM` (the child table aliased `c`, and whatever it joins) and
/// `WHERE` conditions.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub from: Sql,
    pub filter: Sql,
    /// How `fetch` reads a page of it.
    pub shape: Shape,
}

/// The statement `fetch` writes for a top-level page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Shape {
    /// A deferred join: the inner query finds the page's ids, the outer one reads those rows
    /// whole. For filters that read other tables (`EXISTS` on links): rows they reject cost
    /// index entries, not rows.
    #[default]
    Deferred,
    /// `from` joins rows that only the filter narrows to one per record (a theme's links, see
    /// `search::pairings`): the page's inner query carries the sort keys out, and the outer one
    /// reads the records by id from `table` (their entity's). Made by [`Source::joined`].
    DeferredJoined { table: &'static str },
    /// One query, `… ORDER BY … LIMIT`: for filters on the record's own columns only, which a
    /// deferred join would evaluate on the rows it then reads a second time (a city search by
    /// name prefix: the range of the name index is the page).
    Direct,
}

impl Source {
    /// The rows of `entity`'s table, aliased `c`.
    pub fn new(entity: impl EntityName) -> Self {
        let mut from = Sql::default();
        from.push(entity.table_name()).push(" c");
        Self::rows(from)
    }
    /// The rows of `entity`'s table joined with `joins` (`JOIN … ON ….id = c.id`), which the
    /// filter narrows to one per record: read as [`Shape::DeferredJoined`].
    pub fn joined(entity: impl EntityName, joins: &str) -> Self {
        let table = entity.table_name();
        let mut source = Self::new(entity);
        source.from.push(" ").push(joins);
        source.shape = Shape::DeferredJoined { table };
        source
    }
    /// Rows of any `FROM` (the child aliased `c`), e.g. a relation's derived table.
    pub fn rows(from: Sql) -> Self {
        Self {
            from,
            filter: Sql::default(),
            shape: Shape::Deferred,
        }
    }
    /// Adds `AND (condition)`.
    pub fn and(&mut self, condition: Sql) -> &mut Self {
        if !self.filter.is_empty() {
            self.filter.push(" AND ");
        }
        self.filter.push("(").append(&condition).push(")");
        self
    }
}

/// `expr` of a sort column, bytewise where it says so.
fn push_sort_expr(sql: &mut Sql, col: &SortCol) {
    sql.push(&col.expr);
    if col.bytewise {
        sql.bytewise();
    }
}

fn keyset(sql: &mut Sql, ordering: &Ordering, cursor: &Cursor, greater: bool) {
    sql.push("(");
    for (i, col) in ordering.cols.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        push_sort_expr(sql, col);
    }
    sql.push(if greater { ") > (" } else { ") < (" });
    for (i, (key, col)) in cursor.keys.iter().zip(&ordering.cols).enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(key.bind(col.kind));
    }
    sql.push(")");
}

/// `WHERE` conditions of the page bounds, and the direction the query reads in.
fn bounds(ordering: &Ordering, args: &PageArgs) -> Result<(Vec<Sql>, bool), PageError> {
    let mut conditions = Vec::new();
    // Reading backwards flips the ordering; the rows are reversed again afterwards.
    let descending = ordering.descending != args.backward;
    if let Some(after) = &args.after {
        let cursor = Cursor::decode(after, ordering)?;
        let mut sql = Sql::default();
        keyset(&mut sql, ordering, &cursor, !ordering.descending);
        conditions.push(sql);
    }
    if let Some(before) = &args.before {
        let cursor = Cursor::decode(before, ordering)?;
        let mut sql = Sql::default();
        keyset(&mut sql, ordering, &cursor, ordering.descending);
        conditions.push(sql);
    }
    Ok((conditions, descending))
}

fn direction(descending: bool) -> &'static str {
    if descending { " DESC" } else { " ASC" }
}

/// `a ASC, b ASC` (or `DESC`) for the ordering's expressions.
fn order_by(sql: &mut Sql, ordering: &Ordering, descending: bool) {
    for (i, col) in ordering.cols.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        push_sort_expr(sql, col);
        sql.push(direction(descending));
    }
}

/// The same order by the sort keys as the outer query of a page sees them (`p.sort_key_0`, …).
fn order_by_outer(sql: &mut Sql, ordering: &Ordering, descending: bool) {
    for i in 0..ordering.cols.len() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push(&format!("p.sort_key_{i}"))
            .push(direction(descending));
    }
}

/// `, expr AS sort_key_0, …`: the sort values that cursors are made of.
fn sort_select(sql: &mut Sql, ordering: &Ordering) {
    for (i, col) in ordering.cols.iter().enumerate() {
        sql.push(", ");
        push_sort_expr(sql, col);
        sql.push(&format!(" AS sort_key_{i}"));
    }
}

/// The source's filter and the page bounds, each in parentheses: the first after `WHERE`
/// unless the statement has one already.
fn push_conditions(sql: &mut Sql, source: &Source, bounds: &[Sql], mut has_where: bool) {
    for condition in std::iter::once(&source.filter)
        .filter(|f| !f.is_empty())
        .chain(bounds)
    {
        sql.push(if has_where { " AND (" } else { " WHERE (" })
            .append(condition)
            .push(")");
        has_where = true;
    }
}

fn cursor_of(
    rows: &Rows,
    row: usize,
    keys: &[usize],
    ordering: &Ordering,
) -> Result<String, DbErr> {
    let keys = ordering
        .cols
        .iter()
        .zip(keys)
        .map(|(c, i)| Key::read(rows, row, *i, c.kind))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Cursor {
        ordering: ordering.name.clone(),
        keys,
    }
    .encode())
}

/// The positions of an ordering's sort keys (`sort_key_{i}`) in `rows`.
fn sort_key_positions(rows: &Rows, ordering: &Ordering) -> Result<Vec<usize>, DbErr> {
    (0..ordering.cols.len())
        .map(|i| {
            let name = format!("sort_key_{i}");
            rows.position(&name)
                .ok_or_else(|| DbErr::Type(format!("a page's rows lack {name}")))
        })
        .collect()
}

/// Rows read in query order with their cursors.
fn with_cursors<M: Decode>(rows: &Rows, ordering: &Ordering) -> Result<Vec<(String, M)>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let keys = sort_key_positions(rows, ordering)?;
    M::decode_all(rows)?
        .into_iter()
        .enumerate()
        .map(|(row, model)| Ok((cursor_of(rows, row, &keys, ordering)?, model)))
        .collect()
}

/// Turns `size + 1` rows read in query order into a page in connection order.
fn finish<M>(mut rows: Vec<(String, M)>, args: &PageArgs) -> Page<M> {
    let more = rows.len() as u64 > args.size;
    rows.truncate(args.size as usize);
    if args.backward {
        rows.reverse();
        Page {
            rows,
            has_next: args.before.is_some(),
            has_previous: more,
        }
    } else {
        Page {
            rows,
            has_next: more,
            has_previous: args.after.is_some(),
        }
    }
}

/// Why a page could not be read.
#[derive(Debug)]
pub enum PageFailure {
    Args(PageError),
    Db(DbErr),
}

impl From<PageError> for PageFailure {
    fn from(e: PageError) -> Self {
        PageFailure::Args(e)
    }
}
impl From<DbErr> for PageFailure {
    fn from(e: DbErr) -> Self {
        PageFailure::Db(e)
    }
}

/// One page of a top-level list.
pub async fn fetch<M: Decode>(
    db: &impl ConnectionTrait,
    source: &Source,
    ordering: &Ordering,
    args: &PageArgs,
) -> Result<Page<M>, PageFailure> {
    let (bounds, descending) = bounds(ordering, args)?;
    let mut sql = Sql::default();
    page_head(&mut sql, source, ordering);
    push_conditions(&mut sql, source, &bounds, false);
    sql.push(" ORDER BY ");
    order_by(&mut sql, ordering, descending);
    sql.push(" LIMIT ");
    page_tail(&mut sql, source, ordering, descending, args);
    let rows = Rows::Sql(
        db.query_all_raw(sql.statement(db.get_database_backend()))
            .await?,
    );
    Ok(finish(with_cursors(&rows, ordering)?, args))
}

/// A top-level page's statement up to its conditions: the select, and for a deferred join the
/// inner query's `FROM`.
fn page_head(sql: &mut Sql, source: &Source, ordering: &Ordering) {
    // A deferred join (`Shape::Deferred`): the inner query finds the page's ids (from indexes
    // alone where the ordering has one, e.g. (title, id)), and only those rows are read whole.
    // A filter that rejects many rows then costs index entries, not wide rows: measured on
    // PostgreSQL at 100k pairings, a page of a theme's pairings by title went from 5.9 ms to
    // 2.9 ms.
    match source.shape {
        Shape::DeferredJoined { table } => {
            // The source joins rows that only the filter narrows to one per record (a theme's
            // links): the inner query carries the page's sort keys out, so that the outer one
            // reads the records by id alone instead of joining and filtering the links again
            // (a theme's page at 100k pairings on PostgreSQL: 472 buffers before).
            sql.push("SELECT c.*");
            for i in 0..ordering.cols.len() {
                sql.push(&format!(", p.sort_key_{i}"));
            }
            sql.push(" FROM ")
                .push(table)
                .push(" c JOIN (SELECT c.id AS page_id");
            sort_select(sql, ordering);
            sql.push(" FROM ").append(&source.from);
        }
        Shape::Deferred | Shape::Direct => {
            sql.push("SELECT c.*");
            sort_select(sql, ordering);
            sql.push(" FROM ").append(&source.from);
            if source.shape == Shape::Deferred {
                sql.push(" WHERE c.id IN (SELECT c.id FROM ")
                    .append(&source.from);
            }
        }
    }
}

/// A top-level page's statement after `LIMIT`: the limit, and the outer query of a deferred
/// join.
fn page_tail(
    sql: &mut Sql,
    source: &Source,
    ordering: &Ordering,
    descending: bool,
    args: &PageArgs,
) {
    match source.shape {
        Shape::DeferredJoined { .. } => {
            // A theme's page writes its limit into the statement: PostgreSQL plans a prepared
            // statement anew on every execution while its generic plan looks costlier than a
            // custom one, and a generic plan assumes that a bound `LIMIT $n` keeps a tenth of
            // the rows. The page of 50 was planned again each time (0.2-0.5 ms at 100k
            // pairings, a third of the statement); with the number in the text PostgreSQL keeps
            // the generic plan, which is the custom one (the theme's title index), after five
            // executions. (Page sizes are at most 100: at most 101 statement texts.) Other
            // lists keep it bound: their filters are ranges and sets whose selectivity a custom
            // plan reads from the parameters. With the number written, the generic plan of the
            // city search at 1k pairings scanned the whole city table as a deferred join
            // (pgbench: 0.44 ms per statement against 0.19 ms), and in one query took a bitmap
            // scan and a sort (0.08 ms against 0.03 ms; EXPLAIN ANALYZE).
            sql.push(&(args.size + 1).to_string())
                .push(") p ON c.id = p.page_id ORDER BY ");
            order_by_outer(sql, ordering, descending);
        }
        Shape::Deferred => {
            sql.bind(Value::BigInt(Some(args.size as i64 + 1)));
            sql.push(") ORDER BY ");
            order_by(sql, ordering, descending);
        }
        Shape::Direct => {
            sql.bind(Value::BigInt(Some(args.size as i64 + 1)));
        }
    }
}

/// How many rows a top-level list has (all pages).
pub async fn count(db: &impl ConnectionTrait, source: &Source) -> Result<i64, DbErr> {
    let mut sql = Sql::default();
    sql.push("SELECT COUNT(*) AS n FROM ").append(&source.from);
    if !source.filter.is_empty() {
        sql.push(" WHERE ").append(&source.filter);
    }
    let row = db
        .query_one_raw(sql.statement(db.get_database_backend()))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// The same page of children for many parents: one statement. `parent` is the SQL expression
/// of the parent key (an integer) in `source`, whose `FROM` filters by `parents` already where
/// it needs to (a relation's derived tables, see [`super::relations`]). `select`: the columns
/// of `c` to read (`c."id", …`). Its rows make pages with [`children_pages`].
pub fn children_statement(
    source: &Source,
    select: &str,
    parent: &str,
    parents: &[i32],
    ordering: &Ordering,
    args: &PageArgs,
) -> Result<Sql, PageError> {
    let (bounds, descending) = bounds(ordering, args)?;
    let mut sql = Sql::default();
    if let [one] = parents {
        // One parent (a pairing's page): the page itself, without the window. PostgreSQL sorts
        // the rows once instead of twice around a `WindowAgg` (`EXPLAIN ANALYZE` of a pairing's
        // activities at 10,000 pairings: 0.07 ms against 0.3 ms once warm).
        sql.push("SELECT ").push(select);
        sort_select(&mut sql, ordering);
        sql.push(&format!(", {parent} AS page_parent FROM "))
            .append(&source.from)
            .push(&format!(" WHERE {parent} "))
            .in_keys([*one]);
        push_conditions(&mut sql, source, &bounds, true);
        sql.push(" ORDER BY ");
        order_by(&mut sql, ordering, descending);
        sql.push(" LIMIT ")
            .bind(Value::BigInt(Some(args.size as i64 + 1)));
        return Ok(sql);
    }
    sql.push("SELECT * FROM (SELECT ").push(select);
    sort_select(&mut sql, ordering);
    sql.push(&format!(
        ", {parent} AS page_parent, ROW_NUMBER() OVER (PARTITION BY {parent} ORDER BY "
    ));
    order_by(&mut sql, ordering, descending);
    sql.push(") AS page_row FROM ")
        .append(&source.from)
        .push(&format!(" WHERE {parent} "))
        .in_keys(parents.iter().copied());
    push_conditions(&mut sql, source, &bounds, true);
    sql.push(") page WHERE page_row <= ")
        .bind(Value::BigInt(Some(args.size as i64 + 1)))
        .push(" ORDER BY page_parent, page_row");
    Ok(sql)
}

/// Each parent's page from the rows of [`children_statement`].
pub fn children_pages<M: Decode>(
    rows: &Rows,
    parents: &[i32],
    ordering: &Ordering,
    args: &PageArgs,
) -> Result<HashMap<i32, Page<M>>, DbErr> {
    let mut grouped: HashMap<i32, Vec<(String, M)>> = HashMap::new();
    if let Some(parent) = rows.position("page_parent") {
        for (row, entry) in with_cursors::<M>(rows, ordering)?.into_iter().enumerate() {
            let parent = rows
                .int(row, parent)?
                .ok_or_else(|| DbErr::Type("a page's row without its parent".into()))?;
            grouped.entry(parent).or_default().push(entry);
        }
    }
    Ok(parents
        .iter()
        .map(|p| (*p, finish(grouped.remove(p).unwrap_or_default(), args)))
        .collect())
}

/// How many children each parent has: one `GROUP BY` statement for all parents, read with
/// [`counts_of`].
pub fn count_statement(source: &Source, parent: &str, parents: &[i32]) -> Sql {
    let mut sql = Sql::default();
    sql.push(&format!(
        "SELECT {parent} AS page_parent, COUNT(*) AS n FROM "
    ))
    .append(&source.from)
    .push(&format!(" WHERE {parent} "))
    .in_keys(parents.iter().copied());
    if !source.filter.is_empty() {
        sql.push(" AND (").append(&source.filter).push(")");
    }
    sql.push(&format!(" GROUP BY {parent}"));
    sql
}

/// Each parent's count from the rows of [`count_statement`] (0 for a parent without a row).
pub fn counts_of(rows: &Rows, parents: &[i32]) -> Result<HashMap<i32, i64>, DbErr> {
    let mut counts: HashMap<i32, i64> = parents.iter().map(|p| (*p, 0)).collect();
    if let (Some(parent), Some(n)) = (rows.position("page_parent"), rows.position("n")) {
        for row in 0..rows.len() {
            if let (Some(parent), Some(n)) = (rows.int(row, parent)?, rows.big_int(row, n)?) {
                counts.insert(parent, n);
            }
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordering() -> Ordering {
        Ordering {
            name: "name".into(),
            cols: vec![
                SortCol::new("c.name", SortKind::Text),
                SortCol::new("c.id", SortKind::I32),
            ],
            descending: false,
        }
    }

    #[test]
    fn cursors_round_trip_and_are_tied_to_their_ordering() {
        let cursor = Cursor {
            ordering: "name".into(),
            keys: vec![Key::Text("Rome".into()), Key::Int(7)],
        };
        let text = cursor.encode();
        assert_eq!(Cursor::decode(&text, &ordering()).unwrap(), cursor);
        let other = Ordering {
            name: "population".into(),
            ..ordering()
        };
        assert!(Cursor::decode(&text, &other).is_err());
        assert!(Cursor::decode("garbage", &ordering()).is_err());
    }

    #[test]
    fn page_arguments_are_checked() {
        assert_eq!(
            PageArgs::new(None, None, None, None).unwrap().size,
            DEFAULT_PAGE
        );
        assert!(
            PageArgs::new(Some(101), None, None, None)
                .unwrap_err()
                .0
                .contains("at most 100")
        );
        assert!(PageArgs::new(Some(-1), None, None, None).is_err());
        assert!(PageArgs::new(Some(1), None, Some(1), None).is_err());
        assert!(PageArgs::new(None, None, Some(5), None).unwrap().backward);
    }
}
