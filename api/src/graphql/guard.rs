//! The schema extension that enforces the query limits (`limits.rs`) before validation and
//! execution, charges the operation's cost to the caller's rate-limit budget, refuses mutations
//! that came over GET, and tells the HTTP layer what happened to each operation (`Ticket`).
//!
//! The HTTP layer attaches a `Ticket` to every request; requests executed directly on the
//! schema (tests, tools) have none and get the limits only.

use std::sync::{Arc, Mutex};

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType};
use async_graphql::{ErrorExtensions, Request, Response, ServerError, ServerResult, Variables};

use super::limits::{self, Analysis, Limits};

/// A rate-limit budget that an operation's cost is charged to.
pub trait Budget: Send + Sync {
    /// Takes `cost` from the budget, or says in how many seconds it will be available.
    fn charge(&self, cost: u64) -> Result<(), u64>;
}

/// Why an operation was refused before execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A query limit (depth, aliases, root fields, cost).
    Limit,
    /// A mutation sent over GET.
    MutationOverGet,
    /// The rate limit; the budget allows the cost again after this many seconds.
    RateLimited { retry_after: u64 },
}

/// What the HTTP layer learns about one operation.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// The operation passed every check and ran (its response is a GraphQL response with
    /// `data`, not a request error).
    pub executed: bool,
    pub analysis: Option<Analysis>,
    pub refusal: Option<Refusal>,
}

/// One operation's passage through the schema, shared with the HTTP layer.
pub struct Ticket {
    /// The request came over GET: only queries may run.
    pub over_get: bool,
    /// Where the cost is charged (none: no rate limit).
    pub budget: Option<Arc<dyn Budget>>,
    outcome: Mutex<Outcome>,
}

impl Ticket {
    pub fn new(over_get: bool, budget: Option<Arc<dyn Budget>>) -> Arc<Self> {
        Arc::new(Self {
            over_get,
            budget,
            outcome: Mutex::default(),
        })
    }

    /// What happened so far.
    pub fn outcome(&self) -> Outcome {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Outcome> {
        self.outcome.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Installs the guard on a schema (`SchemaBuilder::extension`).
pub struct Guard {
    pub limits: Limits,
}

impl ExtensionFactory for Guard {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(GuardExtension {
            limits: self.limits,
            operation_name: Mutex::default(),
        })
    }
}

/// One per request (the factory creates one for every execution).
struct GuardExtension {
    limits: Limits,
    operation_name: Mutex<Option<String>>,
}

fn coded(message: impl Into<String>, code: &'static str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error.extensions = async_graphql::Error::new("")
        .extend_with(|_, e| e.set("code", code))
        .extensions;
    error
}

#[async_trait::async_trait]
impl Extension for GuardExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self
            .operation_name
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let operation_name = self
            .operation_name
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let ticket = ctx.data_opt::<Arc<Ticket>>();
        let Some(analysis) = limits::analyze(
            &document,
            &ctx.schema_env.registry,
            operation_name.as_deref(),
            variables,
        ) else {
            // No such operation: execution reports it.
            return Ok(document);
        };
        if let Some(name) = &analysis.operation_name {
            // The HTTP request's span (the extension runs inside it), for logs and traces.
            tracing::Span::current().record("operation", name.as_str());
        }
        let refuse = |refusal: Refusal, analysis: Analysis| {
            if let Some(ticket) = ticket {
                let mut outcome = ticket.lock();
                outcome.refusal = Some(refusal);
                outcome.analysis = Some(analysis);
            }
        };
        if let Some(ticket) = ticket
            && ticket.over_get
            && analysis.operation_type != OperationType::Query
        {
            refuse(Refusal::MutationOverGet, analysis);
            return Err(coded(
                "only queries can be sent over GET: send mutations with POST",
                "METHOD_NOT_ALLOWED",
            ));
        }
        if let Err(error) = limits::check(&analysis, &self.limits) {
            refuse(Refusal::Limit, analysis);
            return Err(error);
        }
        if let Some(budget) = ticket.and_then(|t| t.budget.as_ref()) {
            // Every operation takes at least one unit, so that free operations are counted too.
            if let Err(retry_after) = budget.charge(analysis.cost.max(1)) {
                let cost = analysis.cost;
                refuse(Refusal::RateLimited { retry_after }, analysis);
                return Err(coded(
                    format!(
                        "rate limit reached: this operation costs {cost} and the budget allows it \
                         again in {retry_after} s"
                    ),
                    "RATE_LIMITED",
                ));
            }
        }
        if let Some(ticket) = ticket {
            ticket.lock().analysis = Some(analysis);
        }
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        if let Some(ticket) = ctx.data_opt::<Arc<Ticket>>() {
            ticket.lock().executed = true;
        }
        next.run(ctx, operation_name).await
    }
}
