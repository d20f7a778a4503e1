//! Rows into models by position, for the loaders and pages that read many rows per request.
//!
//! sea-orm's derived `FromQueryResult` looks every value up by column name (hashing the name)
//! and turns every NULL into an error whose message is formatted and then thrown away. On the
//! pairings table (about 650 rows per request) that was a quarter of the server's instructions
//! (callgrind: "Profiling" in docs/performance.md). Here the columns are matched by name once
//! per result, each value is read by position as the type its `ColumnType` names, and the model
//! is built through the entity's `ActiveModel`, so its fields still get their own conversions
//! (enums included).
//! A model with a column type not handled here is read the standard way.
//!
//! On PostgreSQL a column's type belongs to the statement, not to the row: the types are checked
//! once per result and the values then read unchecked. sqlx's check on every value (comparing
//! type descriptions against each type a Rust type accepts) was 6% of the server's instructions
//! for the pairings table (callgrind: "Profiling" in docs/performance.md). SQLite types values one by one, so there every value is checked.

use sea_orm::sea_query::{ColumnType, Value};
use sea_orm::sqlx::{self, Row};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    ModelTrait, QueryResult, TryIntoModel,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    BigInt,
    Double,
    Text,
    Date,
    TimestampUtc,
    /// A column of [`OMITTABLE`] the row leaves out: the model holds its stand-in.
    Absent(Option<&'static str>),
    /// Anything else: the model is read by sea-orm.
    Other,
}

/// Columns a read may leave out, with the stand-in a model read without them holds (`None`:
/// NULL). No GraphQL field shows `name_folded` or `search_text` (only filters and orders in SQL
/// use them); only the `sources` and `notes` fields show the other two, so a loader leaves them
/// out when the operation selects neither (`graphql::loader::Columns`). On the pairings table
/// they were the widest text of every row: each is a string decoded and allocated per row.
pub const OMITTABLE: &[(&str, Option<&str>)] = &[
    ("name_folded", Some("")),
    ("search_text", Some("")),
    ("sources", Some("[]")),
    ("notes", None),
];

/// The stand-in of an [`OMITTABLE`] column (`Some(None)`: NULL), or `None` for a column that
/// every read carries.
pub fn stand_in(column: &str) -> Option<Option<&'static str>> {
    OMITTABLE
        .iter()
        .find(|(name, _)| *name == column)
        .map(|(_, stand_in)| *stand_in)
}

impl Kind {
    fn of(column_type: &ColumnType) -> Kind {
        match column_type {
            ColumnType::Integer => Kind::Int,
            ColumnType::BigInteger => Kind::BigInt,
            ColumnType::Double => Kind::Double,
            ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_) => Kind::Text,
            ColumnType::Date => Kind::Date,
            ColumnType::TimestampWithTimeZone => Kind::TimestampUtc,
            _ => Kind::Other,
        }
    }
}

/// A statement's result, read by position: the rows as the driver returned them, or rows read
/// from a JSON array of objects (PostgreSQL, when the statements of a wave ran as one: see
/// `graphql::loader::combine`).
pub enum Rows {
    Sql(Vec<QueryResult>),
    Json(JsonRows),
}

/// Rows that came as a JSON array of objects with the same keys: the first object's keys, and
/// every object's values in that order.
pub struct JsonRows {
    names: Vec<String>,
    rows: Vec<Vec<serde_json::Value>>,
}

impl Rows {
    /// The rows of `text`, a JSON array of objects that share their keys (`json_agg` of a
    /// subquery's rows).
    pub fn from_json(text: &str) -> Result<Rows, DbErr> {
        let objects: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_str(text)
                .map_err(|e| DbErr::Type(format!("a combined statement's rows: {e}")))?;
        let names = objects
            .first()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let rows = objects
            .into_iter()
            .map(|o| o.into_iter().map(|(_, v)| v).collect())
            .collect();
        Ok(Rows::Json(JsonRows { names, rows }))
    }

    pub fn len(&self) -> usize {
        match self {
            Rows::Sql(rows) => rows.len(),
            Rows::Json(json) => json.rows.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column names, from the first row.
    fn names(&self) -> Vec<String> {
        match self {
            Rows::Sql(rows) => rows.first().map(|r| r.column_names()).unwrap_or_default(),
            Rows::Json(json) => json.names.clone(),
        }
    }

    /// The position of the column named `name`, found once rather than by name in every row.
    pub fn position(&self, name: &str) -> Option<usize> {
        match self {
            Rows::Sql(rows) => position(rows, name),
            Rows::Json(json) => json.names.iter().position(|n| n == name),
        }
    }

    /// Value `i` of row `row`, an integer.
    pub fn int(&self, row: usize, i: usize) -> Result<Option<i32>, DbErr> {
        match self.value(row, i, Kind::Int, true)? {
            Value::Int(v) => Ok(v),
            _ => unreachable!("Kind::Int reads a Value::Int"),
        }
    }

    /// Value `i` of row `row`, a 64-bit integer.
    pub fn big_int(&self, row: usize, i: usize) -> Result<Option<i64>, DbErr> {
        match self.value(row, i, Kind::BigInt, true)? {
            Value::BigInt(v) => Ok(v),
            _ => unreachable!("Kind::BigInt reads a Value::BigInt"),
        }
    }

    /// Value `i` of row `row`, text.
    pub fn text(&self, row: usize, i: usize) -> Result<Option<String>, DbErr> {
        match self.value(row, i, Kind::Text, true)? {
            Value::String(v) => Ok(v),
            _ => unreachable!("Kind::Text reads a Value::String"),
        }
    }

    /// Value `i` of row `row`, a date.
    pub fn date(&self, row: usize, i: usize) -> Result<Option<chrono::NaiveDate>, DbErr> {
        match self.value(row, i, Kind::Date, true)? {
            Value::ChronoDate(v) => Ok(v),
            _ => unreachable!("Kind::Date reads a Value::ChronoDate"),
        }
    }

    /// Value `i` of row `row` as `kind`; `checked: false` when the result's column types were
    /// checked (PostgreSQL rows).
    fn value(&self, row: usize, i: usize, kind: Kind, checked: bool) -> Result<Value, DbErr> {
        match self {
            Rows::Sql(rows) => value(&rows[row], i, kind, checked),
            Rows::Json(json) => json_value(json.rows[row].get(i), kind),
        }
    }
}

/// A JSON value as `kind`'s sea-orm value: PostgreSQL's `to_json` writes numbers as numbers
/// (floats that are not finite as strings), text as strings, and dates and times in ISO 8601.
fn json_value(value: Option<&serde_json::Value>, kind: Kind) -> Result<Value, DbErr> {
    use serde_json::Value as J;
    let wrong = || DbErr::Type(format!("a combined row: {value:?} is not a {kind:?}"));
    let value = match value {
        None | Some(J::Null) => return Ok(null_of(kind)),
        Some(value) => value,
    };
    let text = || value.as_str().ok_or_else(wrong);
    Ok(match kind {
        Kind::Int => Value::Int(Some(
            value
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(wrong)?,
        )),
        Kind::BigInt => Value::BigInt(Some(value.as_i64().ok_or_else(wrong)?)),
        Kind::Double => Value::Double(Some(match value {
            J::String(s) => s.parse().map_err(|_| wrong())?,
            _ => value.as_f64().ok_or_else(wrong)?,
        })),
        Kind::Text => Value::String(Some(text()?.to_owned())),
        Kind::Date => Value::ChronoDate(Some(
            chrono::NaiveDate::parse_from_str(text()?, "%Y-%m-%d").map_err(|_| wrong())?,
        )),
        Kind::TimestampUtc => Value::ChronoDateTimeUtc(Some(
            chrono::DateTime::parse_from_rfc3339(text()?)
                .map_err(|_| wrong())?
                .with_timezone(&chrono::Utc),
        )),
        Kind::Absent(stand_in) => Value::String(stand_in.map(str::to_owned)),
        Kind::Other => return Err(wrong()),
    })
}

/// SQL NULL as `kind`'s value.
fn null_of(kind: Kind) -> Value {
    match kind {
        Kind::Int => Value::Int(None),
        Kind::BigInt => Value::BigInt(None),
        Kind::Double => Value::Double(None),
        Kind::Date => Value::ChronoDate(None),
        Kind::TimestampUtc => Value::ChronoDateTimeUtc(None),
        Kind::Text | Kind::Other => Value::String(None),
        Kind::Absent(stand_in) => Value::String(stand_in.map(str::to_owned)),
    }
}

/// The models of `E` in `rows` (each row holding at least every column of `E`, by name, in any
/// order, e.g. `SELECT c.*, … AS sort_1`).
pub fn models<E>(rows: &Rows) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    prefixed_at::<E>(rows, 0..rows.len(), "")
}

/// The models of `E` in `rows` whose columns are named `{prefix}{column}`: one entity of several
/// in a joined row (`SELECT c.id AS c_id, …`).
pub fn prefixed<E>(rows: &Rows, prefix: &str) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    prefixed_at::<E>(rows, 0..rows.len(), prefix)
}

/// [`prefixed`] for the rows at positions `at` only, which must hold the entity (the rows of an
/// outer join whose entity is there).
pub fn prefixed_at<E>(
    rows: &Rows,
    at: impl IntoIterator<Item = usize>,
    prefix: &str,
) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let names = rows.names();
    let mut plan = Vec::new();
    for column in E::Column::iter() {
        let kind = Kind::of(column.def().get_column_type());
        let name = column.as_str();
        let position = names
            .iter()
            .position(|n| n.strip_prefix(prefix) == Some(name));
        match (kind, position, stand_in(name), rows) {
            (Kind::Text, None, Some(stand_in), _) => plan.push((column, Kind::Absent(stand_in), 0)),
            (Kind::Other, _, _, Rows::Sql(sql)) | (_, None, _, Rows::Sql(sql)) => {
                return at
                    .into_iter()
                    .map(|i| E::Model::from_query_result(&sql[i], prefix))
                    .collect();
            }
            (_, None, _, Rows::Json(_)) => {
                return Err(DbErr::Type(format!("a combined row lacks {prefix}{name}")));
            }
            (kind, Some(position), _, _) => plan.push((column, kind, position)),
        }
    }
    let checked = match rows {
        Rows::Sql(sql) => match sql[0].try_as_pg_row() {
            Some(row) => !plan
                .iter()
                .all(|(_, kind, position)| pg_compatible(row, *position, *kind)),
            None => true,
        },
        Rows::Json(_) => true,
    };
    at.into_iter()
        .map(|row| {
            let mut model = <E::ActiveModel as ActiveModelTrait>::default();
            for (column, kind, position) in &plan {
                model.try_set(*column, rows.value(row, *position, *kind, checked)?)?;
            }
            model.try_into_model()
        })
        .collect()
}

/// The position of the column named `name` in a result (its first row), found once rather than
/// by name in every row.
pub fn position(rows: &[QueryResult], name: &str) -> Option<usize> {
    rows.first()?
        .column_names()
        .iter()
        .position(|column| column == name)
}

/// Whether column `i` of a PostgreSQL result has a type that `kind`'s Rust type decodes.
fn pg_compatible(row: &sqlx::postgres::PgRow, i: usize, kind: Kind) -> bool {
    use sqlx::{Column, Postgres, Type};
    let Some(column) = row.columns().get(i) else {
        return false;
    };
    let ty = column.type_info();
    match kind {
        Kind::Int => <i32 as Type<Postgres>>::compatible(ty),
        Kind::BigInt => <i64 as Type<Postgres>>::compatible(ty),
        Kind::Double => <f64 as Type<Postgres>>::compatible(ty),
        Kind::Text => <String as Type<Postgres>>::compatible(ty),
        Kind::Date => <chrono::NaiveDate as Type<Postgres>>::compatible(ty),
        Kind::TimestampUtc => <chrono::DateTime<chrono::Utc> as Type<Postgres>>::compatible(ty),
        Kind::Absent(_) => true,
        Kind::Other => false,
    }
}

/// Value `i` of `row` as `kind`; `checked: false` when the result's column types were checked.
fn value(row: &QueryResult, i: usize, kind: Kind, checked: bool) -> Result<Value, DbErr> {
    Ok(match kind {
        Kind::Int => Value::Int(get(row, i, checked)?),
        Kind::BigInt => Value::BigInt(get(row, i, checked)?),
        Kind::Double => Value::Double(get(row, i, checked)?),
        Kind::Text => Value::String(get(row, i, checked)?),
        Kind::Date => Value::ChronoDate(get(row, i, checked)?),
        Kind::TimestampUtc => Value::ChronoDateTimeUtc(get(row, i, checked)?),
        Kind::Absent(stand_in) => Value::String(stand_in.map(str::to_owned)),
        Kind::Other => unreachable!("models() reads such rows through sea-orm"),
    })
}

fn get<T>(row: &QueryResult, i: usize, checked: bool) -> Result<Option<T>, DbErr>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>,
{
    let result = if let Some(row) = row.try_as_pg_row() {
        if checked {
            row.try_get::<Option<T>, _>(i)
        } else {
            row.try_get_unchecked::<Option<T>, _>(i)
        }
    } else if let Some(row) = row.try_as_sqlite_row() {
        row.try_get::<Option<T>, _>(i)
    } else {
        return Err(DbErr::Type("a row from an unsupported driver".into()));
    };
    result.map_err(|e| DbErr::Type(format!("column {i}: {e}")))
}

/// Models that [`models`] reads: every entity's `Model`.
pub trait Decode: Sized {
    /// The models in `rows`, one per row.
    fn decode_all(rows: &Rows) -> Result<Vec<Self>, DbErr>;
    /// The model's entity (its table and columns).
    type Entity: EntityTrait;
}

impl<M> Decode for M
where
    M: ModelTrait,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + TryIntoModel<M>,
{
    type Entity = M::Entity;
    fn decode_all(rows: &Rows) -> Result<Vec<M>, DbErr> {
        models::<M::Entity>(rows)
    }
}
