//! The Keygate under test: a release binary on a fresh data directory and a free port.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::client::{request, Connection};

/// The bearer secret the benchmarked server asks `POST /token/introspect` for.
pub const INTROSPECTION_TOKEN: &str = "a-benchmark-introspection-secret-0123456789";

/// A running server; killed and its data directory removed when dropped.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
    data: TempDir,
}

/// What failed while preparing a run.
pub type SetupError = Box<dyn std::error::Error>;

impl Server {
    /// Starts `binary` on the embedded store (or on `mongodb_uri`) and waits until it answers
    /// `/health`. Quotas are lifted: the write runs store more than one account may keep.
    pub async fn start(binary: &Path, mongodb_uri: Option<&str>) -> Result<Self, SetupError> {
        Self::start_with(binary, mongodb_uri, &[]).await
    }

    /// The same, with `env` set as well (settings a section needs of its own).
    pub async fn start_with(
        binary: &Path,
        mongodb_uri: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Self, SetupError> {
        Self::start_in(tempfile::tempdir()?, binary, mongodb_uri, env).await
    }

    /// Starts `binary` on the embedded store after `keygate import --from users.jsonl` has
    /// brought in `rows` (JSON lines), with `env` set for both.
    pub async fn start_imported(
        binary: &Path,
        rows: &str,
        env: &[(&str, &str)],
    ) -> Result<Self, SetupError> {
        let data = tempfile::tempdir()?;
        let source = data.path().join("users.jsonl");
        std::fs::write(&source, rows)?;
        let output = Command::new(binary)
            .arg("import")
            .arg("--from")
            .arg(&source)
            .env("KEYGATE__ENVIRONMENT", "development")
            .env("KEYGATE__DATABASE__PATH", data.path())
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "keygate import failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Self::start_in(data, binary, None, env).await
    }

    /// Starts `binary` on the embedded store already in `data` (prepared by the caller).
    pub async fn start_on(
        data: TempDir,
        binary: &Path,
        env: &[(&str, &str)],
    ) -> Result<Self, SetupError> {
        Self::start_in(data, binary, None, env).await
    }

    async fn start_in(
        data: TempDir,
        binary: &Path,
        mongodb_uri: Option<&str>,
        env: &[(&str, &str)],
    ) -> Result<Self, SetupError> {
        let address = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let log = std::fs::File::create(data.path().join("server.log"))?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env("KEYGATE__ENVIRONMENT", "development")
            .env("KEYGATE__DATABASE__PATH", data.path())
            .env("KEYGATE__SERVER__PORT", address.port().to_string())
            .env("KEYGATE__LIMITS__MAX_ENTRIES_PER_ACCOUNT", "1000000000")
            .env("KEYGATE__LIMITS__MAX_BYTES_PER_ACCOUNT", "1000000000000")
            .env("KEYGATE__AUTH__INTROSPECTION_TOKEN", INTROSPECTION_TOKEN)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        command.envs(env.iter().copied());
        if let Some(uri) = mongodb_uri {
            let name = format!("keygate_bench_{}", std::process::id());
            command
                .env("KEYGATE__DATABASE__URL", uri)
                .env("KEYGATE__DATABASE__NAME", name);
        }
        let child = command.spawn().map_err(|e| {
            format!(
                "cannot start {}: {e} (build it with cargo build --release)",
                binary.display()
            )
        })?;
        let mut server = Self {
            child,
            address,
            data,
        };
        server.wait_until_healthy().await?;
        Ok(server)
    }

    async fn wait_until_healthy(&mut self) -> Result<(), SetupError> {
        let started = Instant::now();
        let health = request("GET", "/health", &[], None);
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("the server exited at start-up ({status})").into());
            }
            if let Ok(mut connection) = Connection::open(self.address).await {
                if matches!(connection.send(&health).await, Ok(r) if r.status == 200) {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err("the server did not answer /health within 30 s".into())
    }

    /// The server's data directory.
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory now and at its peak, in KiB (Linux; `None` elsewhere).
    pub fn resident_kib(&self) -> Option<(u64, u64)> {
        resident_kib_of(self.child.id())
    }
}

/// Process `pid`'s resident memory now and at its peak, in KiB (Linux; `None` elsewhere).
pub fn resident_kib_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
