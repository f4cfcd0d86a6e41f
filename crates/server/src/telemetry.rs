//! Logging set-up. Log lines never carry secrets: passwords, tokens and keys are not logged,
//! and request lines name the route template, never the raw path (which may hold a data key).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The levels used when `RUST_LOG` is unset: Keygate at `info`, libraries at `warn`.
const DEFAULT_FILTER: &str = "warn,keygate=info,keygate_server=info";

/// Whether `format` means JSON lines, given whether standard output is a terminal.
fn wants_json(format: LogFormat, terminal: bool) -> bool {
    match format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !terminal,
    }
}

/// Installs the global log subscriber (the first call wins): `RUST_LOG` levels if set; JSON or
/// pretty lines as `format` says; colours only when standard output is a terminal, so a log
/// redirected to a file holds no escape codes.
pub fn init(format: LogFormat) {
    install(format, std::io::stdout().is_terminal(), std::io::stdout);
}

/// The same, writing to standard error: for a command whose standard output is its data
/// (`keygate audit export`).
pub fn init_on_stderr(format: LogFormat) {
    install(format, std::io::stderr().is_terminal(), std::io::stderr);
}

fn install<W>(format: LogFormat, terminal: bool, writer: W)
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(terminal)
        .with_writer(writer);
    let _ = if wants_json(format, terminal) {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_pretty_on_a_terminal_and_json_elsewhere() {
        assert!(!wants_json(LogFormat::Auto, true));
        assert!(wants_json(LogFormat::Auto, false));
        assert!(wants_json(LogFormat::Json, true));
        assert!(!wants_json(LogFormat::Pretty, false));
    }
}
