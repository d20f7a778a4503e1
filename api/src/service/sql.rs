//! Hand-written SQL, built from typed parts and rendered for one backend at the end.
//!
//! The statements sea-orm's query builder cannot say well (keyset pages, windowed pages of
//! children, the loaders' key lists, exports, bulk inserts) are put together from pieces: text,
//! bound values, and the few constructs whose SQL differs between SQLite and PostgreSQL. A
//! [`Sql`] keeps them as a list of parts, and [`Sql::statement`] renders the parts in order:
//! each value becomes the next placeholder (`?` on SQLite; `$1`, `$2`, … on PostgreSQL) at the
//! moment it is rendered. Text is copied as it is and never scanned, so a `?` in a string
//! literal or PostgreSQL's jsonb `?` operator stays what it is.
//!
//! The backend is given at the end rather than at the start because fragments (a filter, a
//! keyset bound, a subquery of ids) are built on their own, before the statement they go into,
//! and appended: numbered when rendered, each value gets the number of the place it lands in.
//!
//! What differs between the backends has a name (each method says why its forms are what
//! they are):
//! - [`Sql::in_keys`]: `IN` a list of integer keys, bound as one parameter;
//! - [`Sql::in_subquery`]: `IN` an uncorrelated subquery of keys;
//! - [`Sql::bytewise`]: the preceding expression compared bytewise.
//!
//! Names that code picks (a table of an entity, a column) come from the entities
//! (`EntityName::table_name`, `IdenStatic::as_str`), not from parsing SQL text.
//!
//! The plan figures in the comments here and in `page.rs` and `search.rs` (buffers, times per
//! statement) are PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)` of a statement as the server issued
//! it, reproduced so: fill a database with `iuc-graph generate --pairings 100000` (or `1000`),
//! run the server on it with `IUC_LOG=info,iuc_graph::sql=debug` (every statement's text is
//! logged), send the operation (those of `cargo bench --bench load` are in `benches/load.rs`)
//! and explain the logged statement in `psql` with its parameters.

use sea_orm::{DbBackend, Statement, Value};

/// A statement or a fragment of one: parts rendered in order by [`Sql::statement`].
#[derive(Debug, Clone, Default)]
pub struct Sql {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    /// SQL text, copied as it is.
    Text(String),
    /// A bound value: the next placeholder.
    Value(Value),
    /// Integer keys as a JSON array, one parameter (see [`Sql::in_keys`]).
    Keys(String),
    /// See [`Sql::bytewise`].
    Bytewise,
    /// See [`Sql::in_subquery`].
    InSubquery(Sql),
}

impl Sql {
    /// Appends SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        if text.is_empty() {
            return self;
        }
        // Consecutive text is one part: fewer parts to render.
        if let Some(Part::Text(last)) = self.parts.last_mut() {
            last.push_str(text);
        } else {
            self.parts.push(Part::Text(text.to_owned()));
        }
        self
    }

    /// Appends a bound value (a placeholder in the text).
    pub fn bind(&mut self, value: Value) -> &mut Self {
        self.parts.push(Part::Value(value));
        self
    }

    /// `?, ?, ?` for a list of values (`NULL` for an empty list, which matches nothing).
    pub fn bind_list(&mut self, values: impl IntoIterator<Item = Value>) -> &mut Self {
        let mut first = true;
        for value in values {
            if !first {
                self.push(", ");
            }
            first = false;
            self.bind(value);
        }
        if first {
            self.push("NULL");
        }
        self
    }

    /// `IN` a list of integer keys, as one parameter (a JSON array) rather than one per key:
    /// the statement's text is then the same whatever the number of keys, so each connection
    /// prepares it once (PostgreSQL parses and plans a new text on every execution; sqlx keeps
    /// 100 prepared statements per connection, and lists of every length would evict them).
    ///
    /// PostgreSQL turns the array's text into an `integer[]` in an init plan, once per
    /// execution, and probes the index with `= ANY(…)`; as a plain expression it was parsed
    /// again for every row a sequential scan tested (small tables such as `country` and
    /// `theme`: `translate` and `array_in` took a quarter of PostgreSQL's CPU on the pairings
    /// table). SQLite reads it with `json_each` into a list it probes the index with.
    ///
    /// One key is bound as itself (`= ?`): PostgreSQL plans a prepared statement once for any
    /// list, assuming ten keys, which for one parent on a small table is a hash join over a
    /// sequential scan (a pairing's activities at 1k pairings: 8 ms instead of 0.1 ms).
    pub fn in_keys(&mut self, keys: impl IntoIterator<Item = i32>) -> &mut Self {
        let keys: Vec<i32> = keys.into_iter().collect();
        if let [key] = keys[..] {
            return self.push("= ").bind(Value::Int(Some(key)));
        }
        self.parts.push(Part::Keys(keys_json(&keys)));
        self
    }

    /// `IN (subquery)` for an uncorrelated subquery of keys, e.g. theme ids from slugs.
    /// PostgreSQL gets `= ANY(ARRAY(subquery))`: evaluated once and probed through the index,
    /// where `IN (SELECT …)` would be pulled up into a join run for every row the outer query
    /// reads (a page of a theme's pairings at 100k: 4,400 buffers → 1,800). SQLite evaluates
    /// `IN (SELECT …)` once already.
    pub fn in_subquery(&mut self, subquery: &Sql) -> &mut Self {
        self.parts.push(Part::InSubquery(subquery.clone()));
        self
    }

    /// Compares the expression just pushed bytewise: PostgreSQL needs `COLLATE "C"` for it
    /// (and its indexes on those expressions say the same, see the migrations); SQLite
    /// compares bytewise already.
    pub fn bytewise(&mut self) -> &mut Self {
        self.parts.push(Part::Bytewise);
        self
    }

    /// Appends a fragment: its values are numbered where they land.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        for part in &other.parts {
            if let Part::Text(text) = part {
                self.push(text);
            } else {
                self.parts.push(part.clone());
            }
        }
        self
    }

    /// The text parts alone, in order: what tells two statements apart when their values do
    /// not count.
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => shape.push_str(text),
                Part::InSubquery(inner) => shape.push_str(&inner.shape()),
                _ => shape.push('?'),
            }
        }
        shape
    }

    /// Nothing pushed yet.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The statement for `backend`: the parts in order, values numbered as they come.
    pub fn statement(&self, backend: DbBackend) -> Statement {
        let mut out = Rendered {
            backend,
            text: String::new(),
            values: Vec::new(),
        };
        out.render(self);
        Statement::from_sql_and_values(backend, out.text, out.values)
    }
}

/// A statement being rendered.
struct Rendered {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Rendered {
    fn render(&mut self, sql: &Sql) {
        let postgres = self.backend == DbBackend::Postgres;
        for part in &sql.parts {
            match part {
                Part::Text(text) => self.text.push_str(text),
                Part::Value(value) => self.value(value.clone()),
                Part::Keys(json) if postgres => {
                    self.text.push_str("= ANY(CAST((SELECT CAST(translate(");
                    self.value(Value::String(Some(json.clone())));
                    self.text
                        .push_str(", '[]', '{}') AS integer[])) AS integer[]))");
                }
                Part::Keys(json) => {
                    self.text.push_str("IN (SELECT value FROM json_each(");
                    self.value(Value::String(Some(json.clone())));
                    self.text.push_str("))");
                }
                Part::Bytewise if postgres => self.text.push_str(" COLLATE \"C\""),
                Part::Bytewise => {}
                Part::InSubquery(subquery) => {
                    self.text
                        .push_str(if postgres { "= ANY(ARRAY(" } else { "IN (" });
                    self.render(subquery);
                    self.text.push_str(if postgres { "))" } else { ")" });
                }
            }
        }
    }

    /// The next placeholder, bound to `value`.
    fn value(&mut self, value: Value) {
        self.values.push(value);
        if self.backend == DbBackend::Postgres {
            self.text.push('$');
            self.text.push_str(&self.values.len().to_string());
        } else {
            self.text.push('?');
        }
    }
}

fn keys_json(keys: &[i32]) -> String {
    let mut text = String::from("[");
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&key.to_string());
    }
    text.push(']');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [DbBackend; 2] = [DbBackend::Sqlite, DbBackend::Postgres];

    fn int(n: i32) -> Value {
        Value::Int(Some(n))
    }

    fn values(statement: &Statement) -> Vec<Value> {
        statement.values.clone().map(|v| v.0).unwrap_or_default()
    }

    #[test]
    fn placeholders_are_numbered_as_values_are_pushed() {
        let mut sql = Sql::default();
        sql.push("a = ")
            .bind(int(1))
            .push(" AND b IN (")
            .bind_list([int(2), int(3)])
            .push(") AND c IN (")
            .bind_list([])
            .push(")");
        assert_eq!(
            sql.statement(DbBackend::Postgres).sql,
            "a = $1 AND b IN ($2, $3) AND c IN (NULL)"
        );
        assert_eq!(
            sql.statement(DbBackend::Sqlite).sql,
            "a = ? AND b IN (?, ?) AND c IN (NULL)"
        );
    }

    #[test]
    fn a_question_mark_in_text_is_not_a_placeholder() {
        let mut sql = Sql::default();
        sql.push("SELECT '?' AS q FROM t WHERE t.tags ? 'x' AND t.id = ")
            .bind(int(7));
        let pg = sql.statement(DbBackend::Postgres);
        assert_eq!(
            pg.sql,
            "SELECT '?' AS q FROM t WHERE t.tags ? 'x' AND t.id = $1"
        );
        assert_eq!(values(&pg), vec![int(7)]);
    }

    #[test]
    fn appended_fragments_are_numbered_where_they_land() {
        let mut first = Sql::default();
        first
            .push("x = ")
            .bind(int(10))
            .push(" AND y = ")
            .bind(int(11));
        let mut second = Sql::default();
        second.push("z = ").bind(int(12));
        let mut sql = Sql::default();
        sql.push("SELECT * FROM t WHERE w = ")
            .bind(int(9))
            .push(" AND (")
            .append(&second)
            .push(") AND (")
            .append(&first)
            .push(")");
        let pg = sql.statement(DbBackend::Postgres);
        assert_eq!(
            pg.sql,
            "SELECT * FROM t WHERE w = $1 AND (z = $2) AND (x = $3 AND y = $4)"
        );
        assert_eq!(values(&pg), vec![int(9), int(12), int(10), int(11)]);
        // The fragments themselves are unchanged, and render on their own from $1.
        assert_eq!(
            first.statement(DbBackend::Postgres).sql,
            "x = $1 AND y = $2"
        );
    }

    #[test]
    fn bytewise_is_a_collation_on_postgres_only() {
        let mut sql = Sql::default();
        sql.push("c.name_folded")
            .bytewise()
            .push(" >= ")
            .bind(Value::String(Some("a".into())));
        assert_eq!(
            sql.statement(DbBackend::Postgres).sql,
            "c.name_folded COLLATE \"C\" >= $1"
        );
        assert_eq!(sql.statement(DbBackend::Sqlite).sql, "c.name_folded >= ?");
    }

    #[test]
    fn subqueries_of_keys_are_an_array_on_postgres() {
        let mut ids = Sql::default();
        ids.push("SELECT t.id FROM theme t WHERE t.slug IN (")
            .bind_list([Value::String(Some("a".into()))])
            .push(")");
        let mut sql = Sql::default();
        sql.push("x.k = ")
            .bind(int(1))
            .push(" AND x.theme_id ")
            .in_subquery(&ids)
            .push(" AND x.n = ")
            .bind(int(2));
        assert_eq!(
            sql.statement(DbBackend::Postgres).sql,
            "x.k = $1 AND x.theme_id = ANY(ARRAY(SELECT t.id FROM theme t WHERE t.slug IN ($2))) AND x.n = $3"
        );
        assert_eq!(
            sql.statement(DbBackend::Sqlite).sql,
            "x.k = ? AND x.theme_id IN (SELECT t.id FROM theme t WHERE t.slug IN (?)) AND x.n = ?"
        );
        let pg = sql.statement(DbBackend::Postgres);
        assert_eq!(values(&pg)[1], Value::String(Some("a".into())));
    }

    #[test]
    fn key_lists_are_one_parameter_whatever_their_length() {
        let render = |keys: &[i32], backend| {
            let mut sql = Sql::default();
            sql.push("x = ")
                .bind(int(1))
                .push(" AND id ")
                .in_keys(keys.iter().copied());
            sql.statement(backend)
        };
        for backend in BOTH {
            assert_eq!(
                render(&[1, 2], backend).sql,
                render(&[1, 2, 3], backend).sql
            );
        }
        assert_eq!(render(&[9], DbBackend::Postgres).sql, "x = $1 AND id = $2");
        assert_eq!(render(&[9], DbBackend::Sqlite).sql, "x = ? AND id = ?");
        let pg = render(&[4, 5], DbBackend::Postgres);
        assert_eq!(
            pg.sql,
            "x = $1 AND id = ANY(CAST((SELECT CAST(translate($2, '[]', '{}') AS integer[])) AS integer[]))"
        );
        assert_eq!(values(&pg)[1], Value::String(Some("[4,5]".to_owned())));
        let sqlite = render(&[], DbBackend::Sqlite);
        assert_eq!(
            sqlite.sql,
            "x = ? AND id IN (SELECT value FROM json_each(?))"
        );
        assert_eq!(values(&sqlite)[1], Value::String(Some("[]".to_owned())));
    }

    #[test]
    fn empty_text_adds_nothing() {
        let mut sql = Sql::default();
        assert!(sql.push("").is_empty());
        assert!(!sql.bind(int(1)).is_empty());
    }
}
