//! One error type for the API, with the machine-readable codes clients switch on
//! (`extensions.code`). Internal failures are logged with their details and returned as a
//! generic message: SQL text, driver errors and stack details never reach a client.

use async_graphql::ErrorExtensions;

/// The message a loader's database error carries when the operation's output budget is spent
/// (`graphql::loader::budget`): it ends the resolvers still running, and becomes
/// `RESPONSE_TOO_LARGE` here.
pub const BUDGET_EXCEEDED: &str = "the operation's output budget is spent";

/// A GraphQL error with a code, for refusals before execution (parse, limits, inputs), where
/// there is no resolver to return an [`AppError`].
pub fn coded(message: impl Into<String>, code: &'static str) -> async_graphql::ServerError {
    let mut error = async_graphql::ServerError::new(message, None);
    error.extensions = async_graphql::Error::new("")
        .extend_with(|_, e| e.set("code", code))
        .extensions;
    error
}

/// An error a resolver returns. Build it, and `?` turns it into a GraphQL error with a code.
///
/// Deliberately not `Display`: async-graphql converts any `Display` error into a message with
/// no code (and would print internal details). Without `Display`, the only way into a GraphQL
/// error is the `From` below, which sets `extensions.code` and masks internals.
#[derive(Debug)]
pub enum AppError {
    /// The request is wrong: a malformed id, an argument out of range.
    BadUserInput(String),
    /// One field of a mutation's input is wrong; `field` is its path (`input.participants[1]`).
    Invalid { field: String, message: String },
    /// A write without a valid API key.
    Unauthenticated,
    /// A valid key without the right to do this (or to know whether the record exists).
    Forbidden,
    /// The record named does not exist (said only to callers allowed to know).
    NotFound(String),
    /// The write conflicts with the data: a stale version, a duplicate key, a delete that
    /// would orphan records.
    Conflict(String),
    /// The database cannot be reached (down, restarting, pool exhausted); the details are
    /// in the log. Clients may retry.
    Unavailable(String),
    /// A statement ran longer than the database's statement timeout.
    Timeout(String),
    /// The answer would grow past the output budget (`IUC_MAX_RESPONSE_BYTES`).
    ResponseTooLarge,
    /// Something failed on our side; the details are in the log, not in the response.
    Internal(String),
}

impl AppError {
    /// The message a client sees.
    pub fn message(&self) -> &str {
        match self {
            AppError::BadUserInput(m)
            | AppError::Invalid { message: m, .. }
            | AppError::NotFound(m)
            | AppError::Conflict(m) => m,
            AppError::Unauthenticated => {
                "authentication required: send an API key as `Authorization: Bearer <key>`"
            }
            AppError::Forbidden => "forbidden: this API key may not make this change",
            AppError::Unavailable(_) => "the database is unavailable: try again shortly",
            AppError::Timeout(_) => "the request took too long and was cancelled",
            AppError::ResponseTooLarge => {
                "the answer would be larger than the server allows: ask for smaller pages or \
                 fewer fields"
            }
            AppError::Internal(_) => "internal error: the server could not complete the request",
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadUserInput(_) | AppError::Invalid { .. } => "BAD_USER_INPUT",
            AppError::Unauthenticated => "UNAUTHENTICATED",
            AppError::Forbidden => "FORBIDDEN",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            AppError::Timeout(_) => "TIMEOUT",
            AppError::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(error: sea_orm::DbErr) -> Self {
        AppError::from(&error)
    }
}

impl From<std::sync::Arc<sea_orm::DbErr>> for AppError {
    fn from(error: std::sync::Arc<sea_orm::DbErr>) -> Self {
        AppError::from(&*error)
    }
}

impl From<&sea_orm::DbErr> for AppError {
    /// Connection failures (no connection in time, a connection lost, the pool closed) and an
    /// SQLite lock not taken within the busy timeout are `Unavailable` (nothing was written;
    /// retrying later works), a cancelled statement `Timeout`, a constraint violation a client
    /// error (`constraint_error`), anything else `Internal`.
    fn from(error: &sea_orm::DbErr) -> Self {
        use sea_orm::{DbErr, RuntimeErr};
        let detail = error.to_string();
        if let Some(violation) = crate::constraint::violation(error) {
            return constraint_error(&violation);
        }
        let sqlx = match error {
            DbErr::Custom(message) if message == BUDGET_EXCEEDED => {
                return AppError::ResponseTooLarge;
            }
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return AppError::Unavailable(detail),
            DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
            _ => return AppError::Internal(detail),
        };
        use sea_orm::sqlx::Error as E;
        match &**sqlx {
            E::Io(_)
            | E::Tls(_)
            | E::Protocol(_)
            | E::PoolTimedOut
            | E::PoolClosed
            | E::WorkerCrashed => AppError::Unavailable(detail),
            // 57014: query_canceled (statement_timeout); 57P01–57P03: the server is shutting
            // down or starting.
            E::Database(db) if crate::constraint::is_sqlite_busy(&**db) => {
                AppError::Unavailable(detail)
            }
            E::Database(db) => match db.code().as_deref() {
                Some("57014") => AppError::Timeout(detail),
                Some("57P01" | "57P02" | "57P03") => AppError::Unavailable(detail),
                _ => AppError::Internal(detail),
            },
            _ => AppError::Internal(detail),
        }
    }
}

/// A constraint violation that the write path did not turn into its own error (the unique slug
/// and a delete's dependents have their own, in `service::write`): the database refused a value,
/// which is the client's to fix or retry, not an internal failure. The names come from the
/// database (table and columns), since no input field is known here.
fn constraint_error(violation: &crate::constraint::Violation) -> AppError {
    use crate::constraint::Rule;
    let table = violation.table.as_deref().unwrap_or("record");
    let columns = violation.columns.join(", ");
    match violation.rule {
        Rule::Unique => AppError::Conflict(format!(
            "another {table} has the same {columns} (written while this write ran, or before): \
             read again and retry"
        )),
        Rule::ForeignKey => AppError::Conflict(
            "a record this write refers to was deleted, or one that refers to what it deletes \
             was added, while it ran: read again and retry"
                .into(),
        ),
        Rule::NotNull => AppError::BadUserInput(format!("{table}.{columns}: a value is required")),
        Rule::Check => AppError::BadUserInput(format!("a value of this {table} is out of range")),
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(error: AppError) -> Self {
        match &error {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error while resolving a request");
            }
            AppError::Unavailable(detail) | AppError::Timeout(detail) => {
                tracing::warn!(error = %detail, code = error.code(), "database failure while resolving a request");
            }
            _ => {}
        }
        let code = error.code();
        let field = match &error {
            AppError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        };
        async_graphql::Error::new(error.message()).extend_with(|_, e| {
            e.set("code", code);
            if let Some(field) = &field {
                e.set("field", field.as_str());
            }
        })
    }
}

impl AppError {
    /// An invalid input field: the message names the field's path.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        AppError::Invalid {
            message: format!("`{field}`: {message}"),
            field,
        }
    }
}

/// The result type of resolvers.
pub type Result<T, E = AppError> = std::result::Result<T, E>;
