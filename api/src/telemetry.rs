//! Logging through `tracing`: human-readable text by default, JSON for production.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{Config, LogFormat};

/// Installs the global subscriber. Call once, at start-up.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log).unwrap_or_else(|error| {
        eprintln!(
            "IUC_LOG={:?} is not a valid log filter ({error}); using \"info\"",
            config.log
        );
        EnvFilter::new("info")
    });
    let registry = tracing_subscriber::registry().with(filter);
    // Logs go to standard error so that `print-schema` and `export` keep standard output clean.
    match config.log_format {
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .init(),
    }
}
