//! The `keygate` binary: `keygate serve` (the default) runs the server.

use std::process::ExitCode;

use keygate_server::config::Settings;
use keygate_server::startup::Application;

const USAGE: &str =
    "usage: keygate [serve]\n\nRuns the Keygate server. Configuration comes from config/*.toml \
and KEYGATE__SECTION__KEY environment variables; see docs/operations.md.";

#[actix_web::main]
async fn main() -> ExitCode {
    match std::env::args().nth(1).as_deref() {
        None | Some("serve") => {}
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("unknown command '{other}'\n\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    keygate_server::telemetry::init();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("server stopped with an error: {e}");
            ExitCode::FAILURE
        }
    }
}
