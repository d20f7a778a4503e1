//! What every request handler shares.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::client_addr::TrustedProxies;
use crate::config::ServeArgs;
use crate::db::StatementCounter;
use crate::graphql::arguments::InputLimits;
use crate::graphql::guard::DocumentCache;
use crate::graphql::limits::Limits;
use crate::graphql::shape::TypeTable;
use crate::graphql::{IucSchema, SchemaOptions};
use crate::metrics::{self, Metrics, SystemClock};
use crate::persisted::{ApqCache, TrustedDocuments};
use crate::ratelimit::{RateLimiter, RateLimits};

/// How the HTTP layer behaves (from `ServeArgs`; `Default` gives the documented defaults).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Serve GraphiQL to browsers on `GET /graphql`.
    pub graphiql: bool,
    /// Introspection and the summary's lifetime.
    pub schema: SchemaOptions,
    /// The query limits checked before execution.
    pub limits: Limits,
    /// Most bytes of one operation's answer (0: no limit).
    pub max_response_bytes: u64,
    /// Most characters and items of argument values.
    pub inputs: InputLimits,
    /// Time to send headers, and a body.
    pub read_timeout: Duration,
    /// Open client connections at once.
    pub max_connections: usize,
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub request_timeout: Duration,
    /// GraphQL requests executed at once (0: no limit).
    pub max_concurrent_requests: usize,
    pub rate_limits: RateLimits,
    /// `max-age` of cacheable GET responses; 0: `no-cache`.
    pub cache_max_age: u64,
    pub apq_cache_size: usize,
    /// Parsed documents kept between requests.
    pub document_cache_size: usize,
    /// When set, only these documents run.
    pub trusted_documents: Option<Arc<TrustedDocuments>>,
    /// CORS origins; `["*"]` for any, empty for none.
    pub cors_origins: Vec<String>,
    /// Proxies whose forwarding headers name the client (rate limits, logs).
    pub trusted_proxies: TrustedProxies,
    /// GraphQL over WebSocket (`http/ws.rs`).
    pub websocket: WsSettings,
}

/// The limits of GraphQL over WebSocket.
#[derive(Debug, Clone)]
pub struct WsSettings {
    /// WebSocket connections open at once on this server.
    pub max_connections: usize,
    /// Operations in flight on one connection.
    pub max_operations: usize,
    /// Time to send `connection_init`.
    pub init_timeout: Duration,
    /// Between two server `ping`s.
    pub ping_interval: Duration,
    /// Silence after which a connection is closed.
    pub idle_timeout: Duration,
    /// Messages queued for sending on one connection.
    pub send_queue: usize,
    /// How long an operation's message waits for room in the queue before the client is
    /// closed as too slow.
    pub send_timeout: Duration,
    /// Time to write the close frame (and what is queued before it) to a client that does not
    /// read: past it the socket is dropped without one. Not a flag: tests shorten it.
    pub close_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self::without_documents(&ServeArgs::default())
    }
}

impl Settings {
    /// The settings `args` describe; fails when the trusted-documents manifest cannot be read.
    pub fn from_args(args: &ServeArgs) -> Result<Self, String> {
        let mut settings = Self::without_documents(args);
        settings.trusted_proxies = TrustedProxies::parse(&args.trusted_proxies)?;
        if let Some(path) = &args.trusted_documents {
            settings.trusted_documents = Some(Arc::new(TrustedDocuments::load(path)?));
        }
        Ok(settings)
    }

    fn without_documents(args: &ServeArgs) -> Self {
        Self {
            graphiql: args.graphiql,
            schema: SchemaOptions {
                summary_ttl: Duration::from_secs(args.summary_ttl),
                introspection: args.introspection,
            },
            limits: Limits {
                max_depth: args.max_depth,
                max_aliases: args.max_aliases,
                max_root_fields: args.max_root_fields,
                max_cost: args.max_cost,
                max_tokens: args.max_tokens,
                max_nesting: args.max_nesting.max(1),
            },
            max_response_bytes: args.max_response_bytes,
            inputs: InputLimits {
                query_text: args.max_argument_length,
                mutation_text: args.max_text_length,
                list: args.max_list_length,
            },
            read_timeout: Duration::from_secs(args.read_timeout.max(1)),
            max_connections: args.max_connections.max(1),
            max_body_bytes: args.max_body_bytes,
            max_batch: args.max_batch.max(1),
            request_timeout: Duration::from_secs(args.request_timeout.max(1)),
            max_concurrent_requests: args
                .max_concurrent_requests
                .unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(1, |n| n.get())),
            rate_limits: RateLimits {
                anonymous: args.rate_limit_anonymous,
                key: args.rate_limit_key,
                window: Duration::from_secs(args.rate_limit_window.max(1)),
            },
            cache_max_age: args.cache_max_age,
            apq_cache_size: args.apq_cache_size,
            document_cache_size: args.document_cache_size,
            trusted_documents: None,
            cors_origins: args
                .cors_origins
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            trusted_proxies: TrustedProxies::default(),
            websocket: WsSettings {
                max_connections: args.ws_max_connections.max(1),
                max_operations: args.ws_max_subscriptions.max(1),
                init_timeout: Duration::from_secs(args.ws_init_timeout.max(1)),
                ping_interval: Duration::from_secs(args.ws_ping_interval.max(1)),
                idle_timeout: Duration::from_secs(args.ws_idle_timeout.max(1)),
                send_queue: args.ws_send_queue.max(1),
                send_timeout: Duration::from_secs(args.ws_send_timeout.max(1)),
                close_timeout: Duration::from_secs(5),
            },
        }
    }
}

/// Shared, cheap to clone (every field is a handle).
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub schema: IucSchema,
    /// Field return types, for measuring operations before they run.
    pub types: Arc<TypeTable>,
    pub statements: StatementCounter,
    pub settings: Arc<Settings>,
    pub metrics: Arc<Metrics>,
    pub limiter: Arc<RateLimiter>,
    pub apq: Arc<ApqCache>,
    /// Parsed documents by their text.
    pub documents: Arc<DocumentCache>,
    /// Turns to execute GraphQL requests (none: no limit); fair, so first come first served.
    pub executions: Option<Arc<tokio::sync::Semaphore>>,
    /// One permit per open WebSocket connection (`WsSettings::max_connections`).
    pub websockets: Arc<tokio::sync::Semaphore>,
    /// Set when the server shuts down: WebSocket connections close with 1001 (hyper's
    /// graceful shutdown no longer sees a connection once it is upgraded).
    pub shutting_down: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, statements: StatementCounter, graphiql: bool) -> Self {
        Self::with_settings(
            db,
            statements,
            Settings {
                graphiql,
                ..Settings::default()
            },
        )
    }

    pub fn with_settings(
        db: DatabaseConnection,
        statements: StatementCounter,
        settings: Settings,
    ) -> Self {
        let schema =
            crate::graphql::build_schema(db.clone(), &settings.schema, settings.limits.max_nesting);
        let types = Arc::new(TypeTable::from_sdl(&schema.sdl()));
        Self {
            db,
            schema,
            types,
            statements,
            limiter: Arc::new(RateLimiter::new(settings.rate_limits)),
            apq: Arc::new(ApqCache::new(settings.apq_cache_size)),
            documents: Arc::new(DocumentCache::new(settings.document_cache_size)),
            executions: (settings.max_concurrent_requests > 0).then(|| {
                Arc::new(tokio::sync::Semaphore::new(
                    settings.max_concurrent_requests,
                ))
            }),
            websockets: Arc::new(tokio::sync::Semaphore::new(
                settings.websocket.max_connections,
            )),
            shutting_down: Arc::new(tokio::sync::watch::channel(false).0),
            metrics: Arc::new(Metrics::new(
                settings
                    .trusted_documents
                    .as_deref()
                    .map(|t| metrics::names::operation_names(t.documents()))
                    .unwrap_or_default(),
                Arc::new(SystemClock),
            )),
            settings: Arc::new(settings),
        }
    }
}
