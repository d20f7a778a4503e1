//! The `iuc-graph` binary: parse the configuration, start tracing, hand over to the api crate.

use clap::Parser;

mod alloc;

#[global_allocator]
static GLOBAL: alloc::MiMalloc = alloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = api::Config::parse();
    api::telemetry::init(&config);
    api::cli::run(config).await
}
