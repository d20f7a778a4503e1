//! One `subscribe`: the same admission as an HTTP operation (the key, depth and cost limits,
//! the rate-limit budget charged per operation, persisted documents), then execution: a query
//! or mutation answers one `next` and `complete` within the HTTP request timeout; a
//! subscription streams `next`s until its stream ends (`complete`) or the client completes it
//! (the task is aborted, which drops the stream).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use futures_util::StreamExt;
use serde_json::{Value, json};

use super::Gauge;
use super::outbox::{Ending, Outbox};
use super::protocol::{self, Close, code};
use crate::auth::{Principal, RequestAuth};
use crate::error::{AppError, coded};
use crate::graphql::guard::{Gate, Refusal};
use crate::graphql::limits::Analysis;
use crate::http::graphql::{Answer, Operation, Params, admit_one, answer, execute};
use crate::metrics::{Outcome, RequestScope, Sender};
use crate::ratelimit::{CallerBudget, caller};
use crate::state::AppState;

/// What one operation runs with.
pub struct Op {
    pub state: AppState,
    /// The connection's key (checked again here, as every HTTP request checks its own).
    pub key: Option<String>,
    pub address: Option<IpAddr>,
    pub outbox: Outbox,
    pub id: String,
}

/// Who the operation is charged to, for the metrics.
#[derive(Clone, Copy)]
struct Charged {
    kind: &'static str,
    sender: Sender,
}

impl Op {
    /// Admits and runs the operation, its SQL statements counted in a scope of its own.
    pub async fn run(self, params: Params) {
        let _in_flight = Gauge::up(&self.state.metrics, |m| &m.websocket_operations);
        let scope = RequestScope::new(self.state.metrics.clone());
        RequestScope::run(scope.clone(), self.admit_and_run(params, scope)).await;
    }

    async fn admit_and_run(&self, params: Params, scope: Arc<RequestScope>) {
        let started = Instant::now();
        let auth = Arc::new(RequestAuth::from_secret(self.key.clone()));
        let Some(principal) = self.principal(&auth).await else {
            return;
        };
        let caller = caller(principal.as_ref(), self.address);
        let charged = Charged {
            kind: caller.kind(),
            sender: Sender::from(&caller),
        };
        let budget = CallerBudget {
            limiter: self.state.limiter.clone(),
            caller,
        };
        let gate = Gate {
            types: &self.state.types,
            limits: &self.state.settings.limits,
            over_get: false,
            budget: Some(&budget),
            documents: &self.state.documents,
            inputs: &self.state.settings.inputs,
        };
        match admit_one(&self.state, &gate, params) {
            Operation::Failed {
                body,
                name,
                refusal,
            } => {
                self.refused(&body, name.unwrap_or_default(), refusal, charged)
                    .await
            }
            Operation::Run {
                request,
                analysis,
                report_cost,
                name,
            } => {
                let name = name.unwrap_or_default();
                let subscription = analysis
                    .as_ref()
                    .is_some_and(|a| a.operation_type == OperationType::Subscription);
                if subscription {
                    self.stream(*request, &auth, name, charged).await;
                } else {
                    let cost = analysis.filter(|_| report_cost).map(|a: Analysis| a.cost);
                    let answered = self.single(*request, &auth, cost, name).await;
                    self.answered(answered, charged, started, &scope).await;
                }
            }
        }
    }

    /// The caller behind the key: `Some(None)` when anonymous; `None` when the operation must
    /// not run (a revoked key closes the connection, 4403; a database failure is this
    /// operation's error).
    async fn principal(&self, auth: &RequestAuth) -> Option<Option<Principal>> {
        if !auth.has_secret() {
            return Some(None);
        }
        match auth.require(&self.state.db).await {
            Ok(principal) => Some(Some(principal)),
            Err(AppError::Unauthenticated) => {
                self.outbox.end(Ending::Close(Close::new(
                    code::FORBIDDEN,
                    "Forbidden: the API key is unknown or revoked",
                )));
                None
            }
            Err(error) => {
                tracing::warn!(error = ?error, "a WebSocket operation's key could not be checked");
                let error = coded(
                    "the service is unavailable: try again later",
                    "SERVICE_UNAVAILABLE",
                );
                self.outbox
                    .send(protocol::error(&self.id, json!([error])))
                    .await;
                None
            }
        }
    }

    /// A refusal before execution: an `error` message; the connection stays.
    async fn refused(&self, body: &str, name: String, refusal: Option<Refusal>, charged: Charged) {
        let outcome = match refusal {
            Some(Refusal::Limit) => Outcome::Refused,
            Some(Refusal::RateLimited { .. }) => Outcome::RateLimited,
            _ => Outcome::Invalid,
        };
        self.state.metrics.operation(&name, outcome, charged.sender);
        if outcome == Outcome::RateLimited {
            self.state.metrics.rate_limited(charged.kind);
        }
        self.outbox
            .send(protocol::error(&self.id, errors_of(body)))
            .await;
    }

    /// A query or mutation: its answer within the request timeout (past it, `Err` with the
    /// operation's name), after its turn among the executions, as over HTTP.
    async fn single(
        &self,
        request: async_graphql::Request,
        auth: &Arc<RequestAuth>,
        cost: Option<u64>,
        name: String,
    ) -> Result<Answer, String> {
        let state = &self.state;
        let run = async {
            let _turn = match &state.executions {
                Some(turns) => turns.acquire().await.ok(),
                None => None,
            };
            let response = execute(state, auth, request).await;
            answer(state, response, cost, name.clone())
        };
        tokio::time::timeout(state.settings.request_timeout, run)
            .await
            .map_err(|_| name)
    }

    /// Sends a query's or mutation's answer (`next` + `complete`, or `error`) and counts it.
    async fn answered(
        &self,
        answered: Result<Answer, String>,
        charged: Charged,
        started: Instant,
        scope: &RequestScope,
    ) {
        let metrics = &self.state.metrics;
        let statements = scope.statements.load(std::sync::atomic::Ordering::Relaxed);
        let answer = match answered {
            Ok(answer) => answer,
            Err(name) => {
                metrics.operation(&name, Outcome::Timeout, charged.sender);
                metrics.request(&name, started.elapsed().as_secs_f64(), statements);
                let seconds = self.state.settings.request_timeout.as_secs();
                let error = coded(
                    format!("the operation took longer than {seconds} s and was cancelled"),
                    "TIMEOUT",
                );
                self.outbox
                    .send(protocol::error(&self.id, json!([error])))
                    .await;
                return;
            }
        };
        metrics.operation(&answer.name, answer.outcome, charged.sender);
        metrics.request(&answer.name, started.elapsed().as_secs_f64(), statements);
        if answer.executed {
            if self
                .outbox
                .send(protocol::next(&self.id, &answer.body))
                .await
            {
                self.outbox.send(protocol::complete(&self.id)).await;
            }
        } else {
            self.outbox
                .send(protocol::error(&self.id, errors_of(&answer.body)))
                .await;
        }
    }

    /// A subscription: each event's result is a `next` (checked for size like an HTTP
    /// answer); errors before the first event (validation) are one `error`.
    ///
    /// A subscription has no loaders (`graphql::prepare_subscription` says why), so no output
    /// budget either; each event's text is still held to `IUC_MAX_RESPONSE_BYTES` by `answer`.
    ///
    /// Subscriptions take no execution turn (`IUC_MAX_CONCURRENT_REQUESTS`): they are
    /// long-lived and would starve HTTP requests; their cost was charged at admission.
    async fn stream(
        &self,
        request: async_graphql::Request,
        auth: &Arc<RequestAuth>,
        name: String,
        charged: Charged,
    ) {
        let request = crate::graphql::prepare_subscription(request, auth.clone());
        let mut events = self.state.schema.execute_stream(request);
        let mut counted = false;
        while let Some(response) = events.next().await {
            let event = answer(&self.state, response, None, name.clone());
            if !counted {
                counted = true;
                self.state
                    .metrics
                    .operation(&name, event.outcome, charged.sender);
                if !event.executed {
                    self.outbox
                        .send(protocol::error(&self.id, errors_of(&event.body)))
                        .await;
                    return;
                }
            }
            if !self
                .outbox
                .send(protocol::next(&self.id, &event.body))
                .await
            {
                return;
            }
        }
        if !counted {
            self.state
                .metrics
                .operation(&name, Outcome::Ok, charged.sender);
        }
        self.outbox.send(protocol::complete(&self.id)).await;
    }
}

/// The `errors` of a response body the HTTP layer wrote (`{"errors": [...]}`).
fn errors_of(body: &str) -> Value {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(mut object)) => object.remove("errors").unwrap_or_else(|| json!([])),
        _ => json!([{
            "message": "internal error: the response could not be read",
            "extensions": { "code": "INTERNAL_SERVER_ERROR" },
        }]),
    }
}
