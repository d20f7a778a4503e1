//! One typed configuration, from command-line flags and environment variables, with defaults
//! in code. Every variable is listed in `.env.example` and in the README.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// iuc-graph: the EU International Urban Cooperation programme as a GraphQL API.
#[derive(Debug, Clone, Parser)]
#[command(name = "iuc-graph", version, about)]
pub struct Config {
    /// Database to use: an SQLite file (`sqlite://iuc-graph.db?mode=rwc`, created if missing) or
    /// PostgreSQL (`postgres://user@host:5432/dbname`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://iuc-graph.db?mode=rwc",
        global = true
    )]
    pub database_url: String,

    /// Log filter, in `tracing` syntax (`info`, `iuc_graph=debug,sqlx=warn`, …).
    #[arg(long, env = "IUC_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "IUC_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Most connections in the database pool (default: 10 on PostgreSQL, 4 on SQLite).
    #[arg(long, env = "IUC_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// PostgreSQL only: milliseconds a single SQL statement may run before the server cancels
    /// it (`statement_timeout`, set on every connection); 0 switches it off.
    #[arg(
        long,
        env = "IUC_DB_STATEMENT_TIMEOUT",
        default_value_t = 5000,
        global = true
    )]
    pub db_statement_timeout: u64,

    /// Milliseconds a request waits for a database connection before it fails with
    /// `SERVICE_UNAVAILABLE` (short, so that requests fail fast while the database is away).
    #[arg(
        long,
        env = "IUC_DB_ACQUIRE_TIMEOUT",
        default_value_t = 2000,
        global = true
    )]
    pub db_acquire_timeout: u64,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What the binary does; without a subcommand it serves.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Run the migrations, seed if asked, and serve GraphQL (the default).
    Serve(Box<ServeArgs>),
    /// Run the migrations and stop.
    Migrate,
    /// Load a dataset file (default: the seed dataset built into the binary). Idempotent: a
    /// second load of the same file changes nothing.
    Seed {
        /// A dataset file in the seed format (see data/README.md) instead of the built-in one.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Validate and report what would change, then roll back.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage API keys (administrators can also do this through GraphQL mutations).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the GraphQL schema (SDL) to standard output; `schema.graphql` is its output.
    PrintSchema,
    /// Fill the database with synthetic data at any scale, deterministic from the seed (for
    /// benchmarks and load tests; use an empty database or a new seed each time).
    Generate {
        /// Number of pairings (with about twice as many cities, and their links).
        #[arg(long, default_value_t = 1000)]
        pairings: u64,
        /// Seed of the generator: the same seed gives the same data.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Write the dataset, or the pairings a filter chooses with everything they reference, as a
    /// file in the seed format (what `import` reads), or the pairings table as CSV.
    Export(ExportArgs),
    /// Load a file in the seed format (e.g. from `export`) as an upsert, in one transaction:
    /// every error names the record and the field, and nothing is written unless all is well.
    Import {
        /// The file to read (`-`: standard input).
        #[arg(long)]
        file: PathBuf,
        /// Validate and report what would change, then roll back.
        #[arg(long)]
        dry_run: bool,
    },
}

/// What `export` writes and where. Filters repeat (`--theme a --theme b`) or take
/// comma-separated values; a pairing is exported when it matches every kind of filter given.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// `json`: the seed format (data/README.md); `csv`: one row per pairing, for spreadsheets.
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only these pairings (slugs).
    #[arg(long = "pairing", value_name = "SLUG", value_delimiter = ',')]
    pub pairings: Vec<String>,
    /// Only pairings with one of these themes (slugs).
    #[arg(long = "theme", value_name = "SLUG", value_delimiter = ',')]
    pub themes: Vec<String>,
    /// Only pairings with a participant, on either side, in one of these countries (ISO codes).
    #[arg(long = "country", value_name = "CODE", value_delimiter = ',')]
    pub countries: Vec<String>,
    /// Only pairings of these programme regions (slugs).
    #[arg(long = "programme-region", value_name = "SLUG", value_delimiter = ',')]
    pub programme_regions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

/// `iuc-graph keys …`.
#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret (shown this once; only its hash is stored). On a fresh
    /// install: `iuc-graph keys create --admin --name ops`.
    Create {
        /// A name that says who holds the key.
        #[arg(long)]
        name: String,
        /// An administrator key (may change anything and manage keys).
        #[arg(long, conflicts_with_all = ["city", "region", "stakeholder"])]
        admin: bool,
        /// A partner key for this city's administration (city slug).
        #[arg(long, conflicts_with_all = ["region", "stakeholder"])]
        city: Option<String>,
        /// A partner key for this region's administration (region slug).
        #[arg(long, conflicts_with = "stakeholder")]
        region: Option<String>,
        /// A partner key for this stakeholder organisation (stakeholder slug).
        #[arg(long)]
        stakeholder: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its number (from `keys list`).
    Revoke {
        /// The key's number.
        id: i32,
    },
}

/// How the server runs.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "IUC_ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,

    /// When to load the built-in seed dataset at start-up: `auto` (only into an empty database),
    /// `always` (upsert it on every start) or `never`.
    #[arg(long, env = "IUC_SEED", value_enum, default_value_t = SeedMode::Auto)]
    pub seed: SeedMode,

    /// Seconds the programme summary is served from memory before it is recomputed (in the
    /// background, while the previous figures are still served).
    #[arg(long, env = "IUC_SUMMARY_TTL", default_value_t = 30)]
    pub summary_ttl: u64,

    /// Serve the GraphiQL IDE on `GET /graphql` for browsers.
    #[arg(long, env = "IUC_GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,

    /// Answer introspection queries (`__schema`, `__type`); GraphiQL's docs need them.
    #[arg(long, env = "IUC_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Most levels of nested fields in an operation (`{ a { b } }` is 2 deep).
    #[arg(long, env = "IUC_MAX_DEPTH", default_value_t = 15)]
    pub max_depth: usize,

    /// Most aliased fields in an operation.
    #[arg(long, env = "IUC_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,

    /// Most top-level fields in an operation.
    #[arg(long, env = "IUC_MAX_ROOT_FIELDS", default_value_t = 20)]
    pub max_root_fields: usize,

    /// Most cost of an operation: a connection costs its page size (`first`/`last`, or 20)
    /// times the cost of its selection, any other object 1 (see the README).
    #[arg(long, env = "IUC_MAX_COST", default_value_t = 25_000)]
    pub max_cost: u64,

    /// Most tokens in a GraphQL document, counted on its text before it is parsed.
    #[arg(long, env = "IUC_MAX_TOKENS", default_value_t = 10_000)]
    pub max_tokens: usize,

    /// Most levels of nesting of anything in a request: brackets in the document (selection
    /// sets, arguments, lists, objects), selection sets with fragments spread, and JSON.
    #[arg(long, env = "IUC_MAX_NESTING", default_value_t = 32)]
    pub max_nesting: usize,

    /// Most bytes one operation's answer may hold (estimated while it is built, and checked
    /// once it is written); larger answers end with `RESPONSE_TOO_LARGE`. 0: no limit.
    #[arg(long, env = "IUC_MAX_RESPONSE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub max_response_bytes: u64,

    /// Most characters of a text argument of a query (a search, a slug, a cursor).
    #[arg(long, env = "IUC_MAX_ARGUMENT_LENGTH", default_value_t = 1_000)]
    pub max_argument_length: usize,

    /// Most characters of a text argument of a mutation (a title, a description).
    #[arg(long, env = "IUC_MAX_TEXT_LENGTH", default_value_t = 20_000)]
    pub max_text_length: usize,

    /// Most items of a list argument (ids, themes, SDGs, participants).
    #[arg(long, env = "IUC_MAX_LIST_LENGTH", default_value_t = 500)]
    pub max_list_length: usize,

    /// Seconds a client may take to send a request's headers, and its body.
    #[arg(long, env = "IUC_READ_TIMEOUT", default_value_t = 10)]
    pub read_timeout: u64,

    /// Most open client connections; more wait in the kernel's backlog.
    #[arg(long, env = "IUC_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Most bytes of a request body (larger: 413).
    #[arg(long, env = "IUC_MAX_BODY_BYTES", default_value_t = 102_400)]
    pub max_body_bytes: usize,

    /// Most operations in a batched request (a JSON array).
    #[arg(long, env = "IUC_MAX_BATCH", default_value_t = 10)]
    pub max_batch: usize,

    /// Seconds a GraphQL request may take before it is answered with `TIMEOUT` (504).
    #[arg(long, env = "IUC_REQUEST_TIMEOUT", default_value_t = 15)]
    pub request_timeout: u64,

    /// GraphQL requests executed at once by this process; more wait their turn, first come
    /// first served, within their timeout. 0: no limit; unset: twice the CPU cores.
    #[arg(long, env = "IUC_MAX_CONCURRENT_REQUESTS")]
    pub max_concurrent_requests: Option<usize>,

    /// Cost an anonymous client (by address) may spend per rate-limit window; 0: no limit.
    #[arg(long, env = "IUC_RATE_LIMIT_ANONYMOUS", default_value_t = 100_000)]
    pub rate_limit_anonymous: u64,

    /// Cost a client with an API key may spend per rate-limit window; 0: no limit.
    #[arg(long, env = "IUC_RATE_LIMIT_KEY", default_value_t = 1_000_000)]
    pub rate_limit_key: u64,

    /// Seconds of the rate-limit window (the budgets refill continuously over it).
    #[arg(long, env = "IUC_RATE_LIMIT_WINDOW", default_value_t = 60)]
    pub rate_limit_window: u64,

    /// `max-age` in seconds of `Cache-Control: public` on successful anonymous GET queries;
    /// 0 sends `no-cache` instead (caches revalidate with the ETag).
    #[arg(long, env = "IUC_CACHE_MAX_AGE", default_value_t = 60)]
    pub cache_max_age: u64,

    /// Documents the automatic-persisted-query cache keeps in memory.
    #[arg(long, env = "IUC_APQ_CACHE_SIZE", default_value_t = 1000)]
    pub apq_cache_size: usize,

    /// Parsed documents kept in memory, by their text (documents up to 16 KiB; 0: parse every
    /// request).
    #[arg(long, env = "IUC_DOCUMENT_CACHE_SIZE", default_value_t = 256)]
    pub document_cache_size: usize,

    /// A JSON manifest of SHA-256 hash → document: when set, only these operations run
    /// (trusted documents).
    #[arg(long, env = "IUC_TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<PathBuf>,

    /// Origins allowed by CORS, comma-separated (`https://a.example,https://b.example`), or
    /// `*` for any; empty: no CORS headers (browsers on other origins are refused).
    #[arg(long, env = "IUC_CORS_ORIGINS", default_value = "")]
    pub cors_origins: String,

    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` headers are believed, as
    /// comma-separated CIDRs (`10.0.0.0/8,::1/128`); empty: none, the TCP peer is the client.
    #[arg(long, env = "IUC_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,

    /// Most WebSocket connections open at once on this server (more: the upgrade is refused
    /// with 503).
    #[arg(long, env = "IUC_WS_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub ws_max_connections: usize,

    /// Most operations (subscriptions, queries, mutations) in flight on one WebSocket
    /// connection; more are refused with `TOO_MANY_SUBSCRIPTIONS`.
    #[arg(long, env = "IUC_WS_MAX_SUBSCRIPTIONS", default_value_t = 20)]
    pub ws_max_subscriptions: usize,

    /// Seconds a WebSocket client has to send `connection_init` (later: closed with 4408).
    #[arg(long, env = "IUC_WS_INIT_TIMEOUT", default_value_t = 5)]
    pub ws_init_timeout: u64,

    /// Seconds between the server's `ping` messages on a WebSocket connection.
    #[arg(long, env = "IUC_WS_PING_INTERVAL", default_value_t = 15)]
    pub ws_ping_interval: u64,

    /// Seconds a WebSocket connection may stay silent (not even a `pong`) before it is closed.
    #[arg(long, env = "IUC_WS_IDLE_TIMEOUT", default_value_t = 60)]
    pub ws_idle_timeout: u64,

    /// Messages waiting to be sent on one WebSocket connection; when it is full, operations
    /// wait for the client to read.
    #[arg(long, env = "IUC_WS_SEND_QUEUE", default_value_t = 256)]
    pub ws_send_queue: usize,

    /// Seconds an operation's message may wait for room in the send queue; longer, the client
    /// does not read, and the connection is closed with 1013.
    #[arg(long, env = "IUC_WS_SEND_TIMEOUT", default_value_t = 10)]
    pub ws_send_timeout: u64,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8000)),
            seed: SeedMode::Auto,
            summary_ttl: 30,
            graphiql: true,
            introspection: true,
            max_depth: 15,
            max_aliases: 30,
            max_root_fields: 20,
            max_cost: 25_000,
            max_tokens: 10_000,
            max_nesting: 32,
            max_response_bytes: 4 * 1024 * 1024,
            max_argument_length: 1_000,
            max_text_length: 20_000,
            max_list_length: 500,
            read_timeout: 10,
            max_connections: 1024,
            max_body_bytes: 102_400,
            max_batch: 10,
            request_timeout: 15,
            max_concurrent_requests: None,
            rate_limit_anonymous: 100_000,
            rate_limit_key: 1_000_000,
            rate_limit_window: 60,
            cache_max_age: 60,
            apq_cache_size: 1000,
            document_cache_size: 256,
            trusted_documents: None,
            cors_origins: String::new(),
            trusted_proxies: String::new(),
            ws_max_connections: 10_000,
            ws_max_subscriptions: 20,
            ws_init_timeout: 5,
            ws_ping_interval: 15,
            ws_idle_timeout: 60,
            ws_send_queue: 256,
            ws_send_timeout: 10,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeedMode {
    Auto,
    Always,
    Never,
}
