//! The `keygate` binary: `keygate serve` (the default) runs the server; `keygate promote` and
//! `keygate demote` grant and withdraw the admin role; `keygate keys rotate` makes the next
//! signing key.

use std::process::ExitCode;

use keygate_domain::accounts::Role;
use keygate_server::config::{LogFormat, Settings};
use keygate_server::operator;
use keygate_server::startup::Application;

const USAGE: &str = "usage: keygate [serve]
       keygate promote <username-or-email>   grant the admin role
       keygate demote <username-or-email>    withdraw it
       keygate keys rotate                   make the next signing key (published now,
                                             signing after auth.signing.publish_ahead_secs)

Configuration comes from config/*.toml and KEYGATE__SECTION__KEY environment variables; see
docs/operations.md. With the embedded store, stop the server before promote or demote;
keys rotate asks a running server to do it.";

#[actix_web::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    enum Command {
        Serve,
        SetRole(String, Role),
        RotateKeys,
    }
    let command = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] | ["serve"] => Command::Serve,
        ["promote", identifier] => Command::SetRole(identifier.to_string(), Role::Admin),
        ["demote", identifier] => Command::SetRole(identifier.to_string(), Role::User),
        ["keys", "rotate"] => Command::RotateKeys,
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
    if let Command::RotateKeys = command {
        return match operator::rotate_keys(&settings).await {
            Ok(done) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot rotate the signing keys: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::SetRole(identifier, role) = command {
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
