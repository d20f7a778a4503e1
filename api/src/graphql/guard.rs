//! Admission of an operation before it runs: the document is parsed once, measured against the
//! query limits (`limits.rs`), refused when it is a mutation sent over GET, and its cost is
//! charged to the caller's rate-limit budget. The parsed document then goes to the schema
//! (`Request::set_parsed_query`), which does not parse it again.
//!
//! This is not a schema extension on purpose: with any extension installed, async-graphql
//! routes every field's resolution through the extension chain (a registry lookup and a boxed
//! future per field), which cost a third of the throughput of large responses.

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ErrorExtensions, ServerError, Variables};

use super::limits::{self, Analysis, Limits, TypeTable};

/// A rate-limit budget that an operation's cost is charged to.
pub trait Budget: Send + Sync {
    /// Takes `cost` from the budget, or says in how many seconds it will be available.
    fn charge(&self, cost: u64) -> Result<(), u64>;
}

/// Why an operation was refused before execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The document does not parse.
    Parse,
    /// A query limit (depth, aliases, root fields, cost).
    Limit,
    /// A mutation sent over GET.
    MutationOverGet,
    /// The rate limit; the budget allows the cost again after this many seconds.
    RateLimited { retry_after: u64 },
}

/// An operation allowed to run.
pub struct Admitted {
    pub document: ExecutableDocument,
    /// `None` when the request names no operation the document has (execution reports it).
    pub analysis: Option<Analysis>,
}

/// What one admission needs to know about the server and the request.
pub struct Gate<'a> {
    pub types: &'a TypeTable,
    pub limits: &'a Limits,
    /// The request came over GET: only queries may run.
    pub over_get: bool,
    /// Where the cost is charged (none: no rate limit).
    pub budget: Option<&'a dyn Budget>,
}

/// A GraphQL error with a code.
pub fn coded(message: impl Into<String>, code: &'static str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions = async_graphql::Error::new("")
        .extend_with(|_, e| e.set("code", code))
        .extensions;
    error
}

/// Parses, measures and charges one operation.
pub fn admit(
    gate: &Gate<'_>,
    query: &str,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<Admitted, Box<(Refusal, ServerError)>> {
    let document = async_graphql::parser::parse_query(query).map_err(|e| {
        let mut error = ServerError::from(e);
        error.extensions = coded("", "GRAPHQL_PARSE_FAILED").extensions;
        Box::new((Refusal::Parse, error))
    })?;
    let Some(analysis) = limits::analyze(&document, gate.types, operation_name, variables) else {
        return Ok(Admitted {
            document,
            analysis: None,
        });
    };
    if gate.over_get && analysis.operation_type != OperationType::Query {
        return Err(Box::new((
            Refusal::MutationOverGet,
            coded(
                "only queries can be sent over GET: send mutations with POST",
                "METHOD_NOT_ALLOWED",
            ),
        )));
    }
    limits::check(&analysis, gate.limits).map_err(|e| Box::new((Refusal::Limit, e)))?;
    if let Some(budget) = gate.budget {
        // Every operation takes at least one unit, so that free operations are counted too.
        if let Err(retry_after) = budget.charge(analysis.cost.max(1)) {
            return Err(Box::new((
                Refusal::RateLimited { retry_after },
                coded(
                    format!(
                        "rate limit reached: this operation costs {} and the budget allows it \
                         again in {retry_after} s",
                        analysis.cost
                    ),
                    "RATE_LIMITED",
                ),
            )));
        }
    }
    Ok(Admitted {
        document,
        analysis: Some(analysis),
    })
}
