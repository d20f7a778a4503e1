//! The `iuc-graph` binary: parse the configuration, start tracing, hand over to the api crate.

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = api::Config::parse();
    api::telemetry::init(&config);
    api::cli::run(config).await
}
