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
       keygate audit export [--since <time>] [--until <time>] [--action <actions>]
                            [--account-id <id>]
                                             write the audit log as JSON lines, newest
                                             first, to standard output
       keygate import --from <source> [--dry-run] [--map field=column ...] [--table name]
                                             bring an earlier system's users in: a
                                             mongodb://host/<db>, postgresql://… or
                                             sqlite://path URL, a .jsonl or a .csv file

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
        Import(operator::ImportRequest),
        ExportAudit(keygate_domain::audit::AuditQuery),
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
        ["audit", "export", rest @ ..] => match export_request(rest) {
            Ok(query) => Command::ExportAudit(query),
            Err(problem) => {
                eprintln!("{problem}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
        ["import", rest @ ..] => match import_request(rest) {
            Ok(request) => Command::Import(request),
            Err(problem) => {
                eprintln!("{problem}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        },
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
    if let Command::ExportAudit(_) = &command {
        keygate_server::telemetry::init_on_stderr(settings.log.format);
    } else {
        keygate_server::telemetry::init(settings.log.format);
    }
    if let Command::Import(request) = &command {
        return match operator::import(&settings, request).await {
            Ok(report) => {
                println!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot import: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::ExportAudit(query) = &command {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        return match operator::export_audit(&settings, query, &mut out).await {
            Ok(written) => {
                tracing::info!(written, "audit events exported");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot export the audit log: {e}");
                ExitCode::FAILURE
            }
        };
    }
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

/// `keygate audit export`'s arguments: `--since`, `--until`, `--action`, `--account-id`.
fn export_request(args: &[&str]) -> Result<keygate_domain::audit::AuditQuery, String> {
    let (mut since, mut until, mut action, mut account) = (None, None, None, None);
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let slot = match *flag {
            "--since" => &mut since,
            "--until" => &mut until,
            "--action" => &mut action,
            "--account-id" => &mut account,
            other => return Err(format!("unknown option {other}")),
        };
        *slot = Some(*rest.next().ok_or_else(|| format!("{flag} needs a value"))?);
    }
    keygate_domain::audit::AuditQuery::parse(action, since, until, account)
        .map_err(|e| e.to_string())
}

/// `keygate import`'s arguments: `--from <source>`, `--dry-run`, `--map field=column`.
fn import_request(args: &[&str]) -> Result<operator::ImportRequest, String> {
    let mut request = operator::ImportRequest {
        from: String::new(),
        dry_run: false,
        maps: Vec::new(),
        table: None,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match *arg {
            "--from" => request.from = args.next().ok_or("--from needs a source")?.to_string(),
            "--dry-run" => request.dry_run = true,
            "--table" => {
                request.table = Some(args.next().ok_or("--table needs a name")?.to_string())
            }
            "--map" => request
                .maps
                .push(args.next().ok_or("--map needs field=column")?.to_string()),
            other => return Err(format!("unknown import argument '{other}'")),
        }
    }
    if request.from.is_empty() {
        return Err("keygate import needs --from <source>".to_owned());
    }
    Ok(request)
}
