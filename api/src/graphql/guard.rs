//! Admission of an operation before it runs: the document is parsed once, measured against the
//! query limits (`limits.rs`), refused when it is a mutation sent over GET, and its cost is
//! charged to the caller's rate-limit budget. The parsed document then goes to the schema
//! (`Request::set_parsed_query`), which does not parse it again.
//!
//! Parsed documents are kept (`DocumentCache`): clients send the same few documents over and
//! over with different variables, and parsing was 6–8% of the server's instructions for the
//! pairings table (callgrind: "Profiling" in docs/performance.md). Limits and cost are still measured per
//! request, since they depend on the variables.
//!
//! This is not a schema extension on purpose: with any extension installed, async-graphql
//! routes every field's resolution through the extension chain (a registry lookup and a boxed
//! future per field), which cost a third of the throughput of large responses.

use std::sync::Arc;

use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ServerError, Variables};

use super::arguments::{self, InputLimits};
use super::expansion::{self, ShapeError};
use super::limits::{self, Analysis, Limits};
use super::prescan;
use super::shape::TypeTable;
use crate::error::coded;
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

    /// The document `query` parsed to when it was admitted before.
    pub fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.0.get(query).map(|document| document.as_ref().clone())
    }

    /// Keeps an admitted document (unless its text is longer than [`Self::MAX_TEXT`]).
    pub fn insert(&self, query: &str, document: &ExecutableDocument) {
        if query.len() <= Self::MAX_TEXT {
            self.0.insert(query.to_owned(), Arc::new(document.clone()));
        }
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
    /// The document does not parse, or its fragments form a cycle.
    Parse,
    /// A query limit (depth, aliases, root fields, cost, tokens, nesting).
    Limit,
    /// An argument value that is not allowed (not plain text, too long).
    Input,
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
    /// How long argument values may be.
    pub inputs: &'a InputLimits,
}

/// A refusal before execution.
type Rejection = Box<(Refusal, ServerError)>;

/// Parses, measures and charges one operation.
pub fn admit(
    gate: &Gate<'_>,
    query: &str,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Result<Admitted, Rejection> {
    let document = document(gate.documents, gate.limits, query)?;
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
                "only queries can be sent over GET: send mutations with POST, subscriptions over WebSocket",
                "METHOD_NOT_ALLOWED",
            ),
        )));
    }
    limits::check(&analysis, gate.limits).map_err(|e| Box::new((Refusal::Limit, e)))?;
    if let Some(budget) = gate.budget {
        // Every operation takes at least one unit, so that free operations are counted too.
        if let Err(retry_after) = budget.charge(analysis.cost.max(1)) {
            let mut error = coded(
                format!(
                    "rate limit reached: this operation costs {} and the budget allows it \
                     again in {retry_after} s",
                    analysis.cost
                ),
                "RATE_LIMITED",
            );
            if let Some(extensions) = error.extensions.as_mut() {
                extensions.set("retryAfter", retry_after);
            }
            return Err(Box::new((Refusal::RateLimited { retry_after }, error)));
        }
    }
    arguments::check(&document, analysis.operation_type, variables, gate.inputs)
        .map_err(|e| Box::new((Refusal::Input, e)))?;
    Ok(Admitted {
        document,
        analysis: Some(analysis),
    })
}

/// The document of `query`: from the cache, or parsed within the limits and then kept.
fn document(
    cache: &DocumentCache,
    limits: &Limits,
    query: &str,
) -> Result<ExecutableDocument, Rejection> {
    if let Some(document) = cache.get(query) {
        return Ok(document);
    }
    let document = parse_within_limits(query, limits)?;
    cache.insert(query, &document);
    Ok(document)
}

/// Parses a document whose text and shape are within the limits: tokens and nesting on the
/// text first (`prescan.rs`), then, parsed, its fragments' expansion (`expansion.rs`). What
/// passes depends only on the text, so a cached document has passed already.
fn parse_within_limits(query: &str, limits: &Limits) -> Result<ExecutableDocument, Rejection> {
    let refuse = |error| Box::new((Refusal::Limit, error));
    let text = prescan::scan_document(query);
    if text.tokens > limits.max_tokens {
        return Err(refuse(limits::limit_error(
            "TOO_MANY_TOKENS",
            format!(
                "the document has {} tokens; the most allowed is {}",
                text.tokens, limits.max_tokens
            ),
            limits.max_tokens as u64,
            text.tokens as u64,
        )));
    }
    if text.nesting > limits.max_nesting {
        return Err(refuse(too_deep(text.nesting, limits.max_nesting)));
    }
    let document = async_graphql::parser::parse_query(query).map_err(|e| {
        let mut error = ServerError::from(e);
        error.extensions = coded("", "GRAPHQL_PARSE_FAILED").extensions;
        Box::new((Refusal::Parse, error))
    })?;
    match expansion::measure(&document, limits.max_nesting) {
        Ok(figures) if figures.selections > limits::MAX_EXPANDED => {
            Err(refuse(limits::limit_error(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the document expands to {} selections once its fragments are spread; the \
                     most allowed is {}",
                    figures.selections,
                    limits::MAX_EXPANDED
                ),
                limits::MAX_EXPANDED,
                figures.selections,
            )))
        }
        Ok(_) => Ok(document),
        Err(ShapeError::TooDeep(nesting)) => Err(refuse(too_deep(nesting, limits.max_nesting))),
        Err(ShapeError::Cycle(path)) => Err(Box::new((
            Refusal::Parse,
            coded(
                format!(
                    "the fragment `{}` spreads itself ({}): fragments must not form cycles",
                    path[0],
                    path.join(" → ")
                ),
                "GRAPHQL_VALIDATION_FAILED",
            ),
        ))),
    }
}

/// The refusal of a document nested deeper than the limit.
fn too_deep(nesting: usize, limit: usize) -> ServerError {
    limits::limit_error(
        "NESTING_TOO_DEEP",
        format!(
            "the document nests {nesting} levels deep (selection sets, fragments, arguments, \
             lists and objects); the most allowed is {limit}"
        ),
        limit as u64,
        nesting as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(cache: &DocumentCache, query: &str) -> Result<ExecutableDocument, Rejection> {
        document(cache, &Limits::default(), query)
    }

    #[test]
    fn a_document_is_parsed_once_and_kept_by_its_text() {
        let cache = DocumentCache::new(8);
        let query = "query($s: String!) { pairing(slug: $s) { title } }";
        let first = parse(&cache, query).unwrap();
        assert_eq!(cache.len(), 1);
        let again = parse(&cache, query).unwrap();
        assert_eq!(cache.len(), 1);
        // The same tree: the cached copy prints as the parsed one.
        assert_eq!(format!("{first:?}"), format!("{again:?}"));
        // Another text is another entry, even when it differs only in spacing.
        parse(&cache, "query($s: String!) { pairing(slug: $s) {title} }").unwrap();
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn documents_that_do_not_parse_or_are_too_long_are_not_kept() {
        let cache = DocumentCache::new(8);
        assert!(parse(&cache, "{ pairing(").is_err());
        assert!(parse(&cache, "{ pairing(").is_err());
        assert!(cache.is_empty());
        let long = format!("{{ __typename {} }}", " ".repeat(DocumentCache::MAX_TEXT));
        assert!(parse(&cache, &long).is_ok());
        assert!(cache.is_empty());
        let none = DocumentCache::new(0);
        assert!(parse(&none, "{ __typename }").is_ok());
        assert!(none.is_empty());
    }

    #[test]
    fn the_document_cache_stays_bounded() {
        let cache = DocumentCache::new(4);
        for i in 0..10 {
            parse(&cache, &format!("{{ a{i}: __typename }}")).unwrap();
        }
        assert!(cache.len() <= 4);
    }
}

#[cfg(test)]
mod refusals {
    use super::*;

    fn refusal(query: &str) -> (Refusal, String) {
        let cache = DocumentCache::new(8);
        let error = document(&cache, &Limits::default(), query).unwrap_err();
        assert!(cache.is_empty(), "a refused document is not kept");
        let code = error
            .1
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned();
        (error.0, format!("{code:?} {}", error.1.message))
    }

    #[test]
    fn deep_values_fragment_bombs_and_cycles_are_refused_before_anything_recurses() {
        let deep = format!(
            "{{ __typename @skip(if: {}true{}) }}",
            "[".repeat(3000),
            "]".repeat(3000)
        );
        let (kind, message) = refusal(&deep);
        assert_eq!(kind, Refusal::Limit);
        assert!(
            message.contains("NESTING_TOO_DEEP") && message.contains("3002"),
            "{message}"
        );

        let mut bomb = String::from("{ ...F0 }");
        for i in 0..28 {
            bomb.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        bomb.push_str(" fragment F28 on Query { __typename }");
        let (_, message) = refusal(&bomb);
        assert!(message.contains("QUERY_TOO_COMPLEX"), "{message}");
        let mut deeper = String::from("{ ...F0 }");
        for i in 0..40 {
            deeper.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        deeper.push_str(" fragment F40 on Query { __typename }");
        let (_, message) = refusal(&deeper);
        assert!(message.contains("NESTING_TOO_DEEP"), "{message}");

        let (kind, message) = refusal("{ ...A } fragment A on Query { ...A ...A }");
        assert_eq!(kind, Refusal::Parse);
        assert!(message.contains("GRAPHQL_VALIDATION_FAILED"), "{message}");

        let tokens = format!("{{ {} }}", "__typename ".repeat(10_001));
        assert!(refusal(&tokens).1.contains("TOO_MANY_TOKENS"));
    }
}
