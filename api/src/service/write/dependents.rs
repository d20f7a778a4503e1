//! What refers to a record: counted before a delete, to refuse it (`CONFLICT` naming the
//! referring records) or to report what the database's cascade took with it.

use sea_orm::sea_query::{Alias, Asterisk, Expr, Func, IntoCondition, Query, SelectStatement};
use sea_orm::{ConnectionTrait, EntityTrait};

use crate::error::AppError;

/// How many records of one kind a delete took with it (or would have to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removal {
    /// What kind of record, e.g. `Participant`, `ThemeLink`.
    pub entity: String,
    pub count: i32,
}

/// One kind of dependent record: the rows of an entity's table that match a condition.
pub struct Dependent {
    entity: &'static str,
    query: SelectStatement,
}

impl Dependent {
    /// The rows of `E` matching `condition`, reported as `entity`.
    pub fn of<E: EntityTrait>(entity: &'static str, condition: impl IntoCondition) -> Self {
        let query = Query::select()
            .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"))
            .from(E::default())
            .cond_where(condition)
            .to_owned();
        Self { entity, query }
    }
}

/// Counts each kind (one statement each); the non-zero ones, in the order given.
pub async fn count(
    db: &impl ConnectionTrait,
    kinds: Vec<Dependent>,
) -> Result<Vec<Removal>, AppError> {
    let mut found = Vec::new();
    for kind in kinds {
        let n: i64 = match db.query_one(&kind.query).await? {
            Some(row) => row.try_get("", "n")?,
            None => 0,
        };
        if n > 0 {
            found.push(Removal {
                entity: kind.entity.to_owned(),
                count: n as i32,
            });
        }
    }
    Ok(found)
}

/// `CONFLICT` naming what still refers to the record, if anything does.
pub fn refuse_if_referenced(what: &str, references: &[Removal]) -> Result<(), AppError> {
    if references.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = references
        .iter()
        .map(|r| format!("{} {}", r.count, r.entity))
        .collect();
    Err(AppError::Conflict(format!(
        "{what} cannot be deleted while other records refer to it ({}): change or delete \
         those first",
        list.join(", ")
    )))
}
