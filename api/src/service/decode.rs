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

/// The models of `E` in `rows` (each row holding at least every column of `E`, by name, in any
/// order, e.g. `SELECT c.*, … AS sort_1`).
pub fn models<E>(rows: &[QueryResult]) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
{
    prefixed::<E, _>(rows, "")
}

/// The models of `E` in `rows` whose columns are named `{prefix}{column}`: one entity of several
/// in a joined row (`SELECT c.id AS c_id, …`). Every row must hold the entity (filter the rows
/// of an outer join first).
pub fn prefixed<E, R>(rows: &[R], prefix: &str) -> Result<Vec<E::Model>, DbErr>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + TryIntoModel<E::Model>,
    R: std::borrow::Borrow<QueryResult>,
{
    let Some(first) = rows.first().map(R::borrow) else {
        return Ok(Vec::new());
    };
    let names = first.column_names();
    let mut plan = Vec::new();
    for column in E::Column::iter() {
        let kind = Kind::of(column.def().get_column_type());
        let name = column.as_str();
        let position = names
            .iter()
            .position(|n| n.strip_prefix(prefix) == Some(name));
        match (kind, position, stand_in(name)) {
            (Kind::Text, None, Some(stand_in)) => plan.push((column, Kind::Absent(stand_in), 0)),
            (Kind::Other, _, _) | (_, None, _) => {
                return rows
                    .iter()
                    .map(|row| E::Model::from_query_result(row.borrow(), prefix))
                    .collect();
            }
            (kind, Some(position), _) => plan.push((column, kind, position)),
        }
    }
    let checked = match first.try_as_pg_row() {
        Some(row) => !plan
            .iter()
            .all(|(_, kind, position)| pg_compatible(row, *position, *kind)),
        None => true,
    };
    rows.iter()
        .map(|row| {
            let row = row.borrow();
            let mut model = <E::ActiveModel as ActiveModelTrait>::default();
            for (column, kind, position) in &plan {
                model.try_set(*column, value(row, *position, *kind, checked)?)?;
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
    fn decode_all(rows: &[QueryResult]) -> Result<Vec<Self>, DbErr>;
}

impl<M> Decode for M
where
    M: ModelTrait,
    M::Entity: EntityTrait<Model = M>,
    <M::Entity as EntityTrait>::ActiveModel: ActiveModelTrait<Entity = M::Entity> + TryIntoModel<M>,
{
    fn decode_all(rows: &[QueryResult]) -> Result<Vec<M>, DbErr> {
        models::<M::Entity>(rows)
    }
}
