//! Constraint violations, read out of the database's error: which rule (unique key, reference,
//! not-null, check) on which table and columns.
//!
//! Why: the write path checks its rules before it writes (`require_unique_slug`, the lookups of
//! referenced IDs, the delete's dependents), but two writers can both pass the check before
//! either commits; the database's constraint then refuses the second one. That refusal is the
//! same mistake the check reports, so it must reach the client as the same error, not as an
//! internal one. PostgreSQL names the table and, in its detail, the columns; SQLite names them
//! in its message (`UNIQUE constraint failed: city.slug`) except for foreign keys, where it says
//! only `FOREIGN KEY constraint failed` (SQLite's writes are serial, so there such a failure is
//! never a race).

use sea_orm::sqlx::error::ErrorKind;
use sea_orm::{DbErr, RuntimeErr};

/// Which rule a write broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Unique,
    ForeignKey,
    NotNull,
    Check,
}

/// A constraint the database refused a write for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    /// The table written to, when the database says (PostgreSQL always; SQLite except for
    /// foreign keys). For a foreign key on PostgreSQL: the table whose row references the other.
    pub table: Option<String>,
    /// The columns of the key, when the database says.
    pub columns: Vec<String>,
}

impl Violation {
    /// True for a unique key on exactly these columns of `table`.
    pub fn is_unique(&self, table: &str, columns: &[&str]) -> bool {
        self.rule == Rule::Unique
            && self.table.as_deref() == Some(table)
            && self
                .columns
                .iter()
                .map(String::as_str)
                .eq(columns.iter().copied())
    }
}

/// The constraint violation behind `error`, if it is one.
pub fn violation(error: &DbErr) -> Option<Violation> {
    let (DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e))) = error
    else {
        return None;
    };
    let sea_orm::sqlx::Error::Database(db) = &**e else {
        return None;
    };
    let rule = match db.kind() {
        ErrorKind::UniqueViolation => Rule::Unique,
        ErrorKind::ForeignKeyViolation => Rule::ForeignKey,
        ErrorKind::NotNullViolation => Rule::NotNull,
        ErrorKind::CheckViolation => Rule::Check,
        // SQLite enforces `ON DELETE RESTRICT` with a trigger: a delete of a row still
        // referenced fails with SQLITE_CONSTRAINT_TRIGGER (1811), which sqlx does not classify.
        _ if db.message() == "FOREIGN KEY constraint failed" => Rule::ForeignKey,
        _ => return None,
    };
    let (table, columns) = match db.try_downcast_ref::<sea_orm::sqlx::postgres::PgDatabaseError>() {
        Some(pg) => (
            pg.table().map(str::to_owned),
            pg.detail()
                .map(postgres_key_columns)
                .or_else(|| pg.column().map(|c| vec![c.to_owned()]))
                .unwrap_or_default(),
        ),
        None => sqlite_columns(db.message()),
    };
    Some(Violation {
        rule,
        table,
        columns,
    })
}

/// The columns in PostgreSQL's detail: `Key (slug)=(rome) already exists.`, `Key
/// (stakeholder_id, pairing_id)=(3, 5) already exists.`
fn postgres_key_columns(detail: &str) -> Vec<String> {
    detail
        .strip_prefix("Key (")
        .and_then(|rest| rest.split_once(")="))
        .map(|(columns, _)| columns.split(", ").map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The table and columns in SQLite's message: `UNIQUE constraint failed: involvement.
/// stakeholder_id, involvement.pairing_id` (`NOT NULL constraint failed: city.name`).
fn sqlite_columns(message: &str) -> (Option<String>, Vec<String>) {
    let Some((_, list)) = message.split_once("constraint failed: ") else {
        return (None, Vec::new());
    };
    let mut table = None;
    let mut columns = Vec::new();
    for qualified in list.split(", ") {
        if let Some((t, column)) = qualified.split_once('.') {
            table.get_or_insert_with(|| t.to_owned());
            columns.push(column.to_owned());
        }
    }
    (table, columns)
}

/// True when SQLite could not take its lock within the busy timeout (SQLITE_BUSY, or
/// SQLITE_LOCKED within one connection; any extended code of either).
pub fn is_sqlite_busy(db: &dyn sea_orm::sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
        .and_then(|_| db.code())
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::{postgres_key_columns, sqlite_columns};

    #[test]
    fn reads_tables_and_columns_from_both_backends_messages() {
        assert_eq!(
            postgres_key_columns("Key (slug)=(rome) already exists."),
            ["slug"]
        );
        assert_eq!(
            postgres_key_columns("Key (stakeholder_id, pairing_id)=(3, 5) already exists."),
            ["stakeholder_id", "pairing_id"]
        );
        assert!(postgres_key_columns("something else").is_empty());
        assert_eq!(
            sqlite_columns("UNIQUE constraint failed: city.slug"),
            (Some("city".into()), vec!["slug".into()])
        );
        assert_eq!(
            sqlite_columns(
                "UNIQUE constraint failed: involvement.stakeholder_id, involvement.pairing_id"
            ),
            (
                Some("involvement".into()),
                vec!["stakeholder_id".into(), "pairing_id".into()]
            )
        );
        assert_eq!(
            sqlite_columns("FOREIGN KEY constraint failed"),
            (None, vec![])
        );
    }
}
