//! The embedded store's control socket: `keygate keys rotate` run beside a live server.
//!
//! The embedded store's file belongs to one process, so an operator command cannot open it
//! while the server runs. The server therefore listens on `<database.path>/keygate.sock`, a
//! Unix socket inside the owner-only (0700) data directory — whoever can reach it could read
//! the data file anyway — and runs the few operator commands that make sense live. One line
//! in (at most 256 bytes, within 5 s), one line out: `ok <what happened>` or
//! `error <why>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::rt::task::JoinHandle;
use keygate_domain::signing::{RotationOutcome, SigningKeyService};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The socket's name inside `database.path`.
pub const SOCKET_FILE: &str = "keygate.sock";

/// The longest command line read.
const MAX_COMMAND_BYTES: u64 = 256;

/// How long a client may take to send its command, and the server to answer.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the control socket of the data directory `directory` is.
pub fn socket_path(directory: &Path) -> PathBuf {
    directory.join(SOCKET_FILE)
}

/// Listens on the control socket of `directory` until aborted; a socket file left by a
/// process that died is replaced. Failing to listen is logged, not fatal: operator commands
/// then need the server stopped, as before.
pub fn spawn(directory: &Path, signing: Arc<SigningKeyService>) -> Option<JoinHandle<()>> {
    let path = socket_path(directory);
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!("no control socket at {}: {e}", path.display());
            return None;
        }
    };
    if let Err(e) = crate::secret::make_private(&path, 0o600) {
        tracing::warn!("cannot make {} owner-only: {e}", path.display());
    }
    Some(actix_web::rt::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let signing = signing.clone();
                    actix_web::rt::spawn(async move {
                        let _ =
                            tokio::time::timeout(EXCHANGE_TIMEOUT, serve(stream, &signing)).await;
                    });
                }
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }))
}

async fn serve(stream: UnixStream, signing: &SigningKeyService) -> std::io::Result<()> {
    let (reader, mut writer) = stream.into_split();
    let mut line = String::new();
    BufReader::new(reader.take(MAX_COMMAND_BYTES))
        .read_line(&mut line)
        .await?;
    let answer = match line.trim() {
        "keys rotate" => match rotation_outcome(signing).await {
            Ok(done) => format!("ok {done}"),
            Err(e) => format!("error {e}"),
        },
        other => format!("error unknown command '{}'", other.escape_default()),
    };
    writer.write_all(answer.as_bytes()).await?;
    writer.write_all(b"\n").await?;
    writer.shutdown().await
}

/// Sends `command` to the server running on `directory`, if one listens there: its answer,
/// `Ok(None)` when no server does.
pub async fn send(directory: &Path, command: &str) -> std::io::Result<Option<String>> {
    let path = socket_path(directory);
    let mut stream = match UnixStream::connect(&path).await {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => return Err(e),
    };
    stream.write_all(command.as_bytes()).await?;
    stream.write_all(b"\n").await?;
    let mut answer = String::new();
    tokio::time::timeout(
        EXCHANGE_TIMEOUT * 2,
        BufReader::new(stream).read_line(&mut answer),
    )
    .await
    .map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "the server did not answer")
    })??;
    Ok(Some(answer.trim_end().to_owned()))
}

/// Rotates with `signing` and says what happened.
pub async fn rotation_outcome(signing: &SigningKeyService) -> keygate_domain::Result<String> {
    Ok(match signing.rotate().await? {
        RotationOutcome::Created { kid, signs_from } => format!(
            "made signing key {kid} ({}); it is published now and signs from {}",
            signing.algorithm(),
            signs_from.to_rfc3339()
        ),
        RotationOutcome::AlreadyWaiting { kid, signs_from } => format!(
            "signing key {kid} is already published and signs from {}; nothing made",
            signs_from.to_rfc3339()
        ),
        RotationOutcome::SharedSecret => "tokens are signed with the shared HS256 secret \
            (auth.jwt_secret): there are no signing keys to rotate; set \
            auth.signing.algorithm to EdDSA, ES256 or RS256 to use them"
            .to_owned(),
    })
}
