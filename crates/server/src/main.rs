//! The `keygate` binary: `keygate serve` (the default) runs the server; `keygate promote` and
//! `keygate demote` grant and withdraw the admin role.

use std::process::ExitCode;

use keygate_domain::accounts::Role;
use keygate_server::config::{LogFormat, Settings};
use keygate_server::operator;
use keygate_server::startup::Application;

const USAGE: &str = "usage: keygate [serve]
       keygate promote <username-or-email>   grant the admin role
       keygate demote <username-or-email>    withdraw it

Configuration comes from config/*.toml and KEYGATE__SECTION__KEY environment variables; see
docs/operations.md. With the embedded store, stop the server before promote/demote.";

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let role_change = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => None,
        ["promote", identifier] => Some((identifier.to_string(), Role::Admin)),
        ["demote", identifier] => Some((identifier.to_string(), Role::User)),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("unrecognised arguments: {}\n\n{USAGE}", args.join(" "));
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(e) => {
            keygate_server::telemetry::init(LogFormat::Auto);
            tracing::error!("configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    keygate_server::telemetry::init(settings.log.format);
    if let Some((identifier, role)) = role_change {
        return match operator::set_role(&settings, &identifier, role).await {
            Ok(done) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot change the role of '{identifier}': {e}");
                ExitCode::FAILURE
            }
        };
    }
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
