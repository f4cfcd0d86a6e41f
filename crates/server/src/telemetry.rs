//! Logging set-up. Log lines never carry secrets: passwords, tokens and keys are not logged.

use tracing_subscriber::EnvFilter;

/// Installs the global log subscriber: `RUST_LOG` if set, else `info` for Keygate and `warn`
/// for everything else.
pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,keygate=info,keygate_server=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
