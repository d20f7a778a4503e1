//! Admission of an operation before it runs: the document is parsed once, measured against the
//! query limits (`limits.rs`), refused when it is a mutation sent over GET, and its cost is
//! charged to the caller's rate-limit budget. The parsed document then goes to the schema
//! (`Request::set_parsed_query`), which does not parse it again.
//!
//! Parsed documents are kept (`DocumentCache`): clients send the same few documents over and
//! over with different variables, and parsing was 6–8% of the server's instructions for the
//! pairings table (callgrind; README, "Benchmark"). Limits and cost are still measured per
//! request, since they depend on the variables.
//!
//! This is not a schema extension on purpose: with any extension installed, async-graphql
//! routes every field's resolution through the extension chain (a registry lookup and a boxed
//! future per field), which cost a third of the throughput of large responses.

use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ErrorExtensions, ServerError, Variables};

use super::limits::{self, Analysis, Limits, TypeTable};
use crate::persisted::Bounded;

/// Parsed documents by their text, shared by the requests (bounded; the oldest half goes when
/// it is full). Documents that do not parse are not kept, nor documents longer than
/// [`DocumentCache::MAX_TEXT`], so that the cache's memory stays bounded.
pub struct DocumentCache(Bounded<Arc<ExecutableDocument>>);

impl DocumentCache {
    /// Longest document text kept, in bytes.
    pub const MAX_TEXT: usize = 16 * 1024;

    /// A cache of at most `capacity` documents; 0 parses every request.
    pub fn new(capacity: usize) -> Self {
        Self(Bounded::new(capacity))
    }

    /// The document `query` parses to, from the cache when it was parsed before.
    pub fn parse(&self, query: &str) -> Result<ExecutableDocument, async_graphql::parser::Error> {
        if let Some(document) = self.0.get(query) {
            return Ok(document.as_ref().clone());
        }
        let document = async_graphql::parser::parse_query(query)?;
        if query.len() <= Self::MAX_TEXT {
            self.0.insert(query.to_owned(), Arc::new(document.clone()));
        }
        Ok(document)
    }

    /// Documents held now.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

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
    /// Where parsed documents are kept.
    pub documents: &'a DocumentCache,
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
    let document = gate.documents.parse(query).map_err(|e| {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_and_kept_by_its_text() {
        let cache = DocumentCache::new(8);
        let query = "query($s: String!) { pairing(slug: $s) { title } }";
        let first = cache.parse(query).unwrap();
        assert_eq!(cache.len(), 1);
        let again = cache.parse(query).unwrap();
        assert_eq!(cache.len(), 1);
        // The same tree: the cached copy prints as the parsed one.
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        // Another text is another entry, even when it differs only in spacing.
        cache
            .parse("query($s: String!) { pairing(slug: $s) {title} }")
            .unwrap();
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn documents_that_do_not_parse_or_are_too_long_are_not_kept() {
        let cache = DocumentCache::new(8);
        assert!(cache.parse("{ pairing(").is_err());
        assert!(cache.parse("{ pairing(").is_err());
        assert!(cache.is_empty());
        let long = format!("{{ __typename {} }}", " ".repeat(DocumentCache::MAX_TEXT));
        assert!(cache.parse(&long).is_ok());
        assert!(cache.is_empty());
        let none = DocumentCache::new(0);
        assert!(none.parse("{ __typename }").is_ok());
        assert!(none.is_empty());
    }

    #[test]
    fn the_document_cache_stays_bounded() {
        let cache = DocumentCache::new(4);
        for i in 0..10 {
            cache.parse(&format!("{{ a{i}: __typename }}")).unwrap();
        }
        assert!(cache.len() <= 4);
    }
}
