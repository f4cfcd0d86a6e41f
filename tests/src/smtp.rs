//! A real SMTP server for the email tests: aiosmtpd (from PyPI, installed by
//! `scripts/with-python-tools.sh`) on a free loopback port, storing what it receives in a
//! maildir. Tests start, stop and restart it to see mail survive an outage.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) aiosmtpd.
pub struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    _temp: tempfile::TempDir,
    child: Option<Child>,
}

fn python() -> String {
    std::env::var("KEYGATE_TEST_PYTHON").expect(
        "KEYGATE_TEST_PYTHON names a Python with aiosmtpd \
         (scripts/with-python-tools.sh, which make test runs, provides it)",
    )
}

impl SmtpServer {
    /// A port for a server that is not started yet (to see Keygate cope with none).
    pub fn unstarted() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let temp = tempfile::tempdir().expect("a temporary directory");
        Self {
            port,
            maildir: temp.path().join("maildir"),
            _temp: temp,
            child: None,
        }
    }

    /// A started server.
    pub fn start() -> Self {
        let mut server = Self::unstarted();
        server.start_again();
        server
    }

    /// Starts it (again) on its port, and waits until it answers.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(python())
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{}", self.port),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&self.maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        self.child = Some(child);
        let started = Instant::now();
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        while TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "aiosmtpd did not listen on {address}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `smtp://127.0.0.1:<port>` for `email.smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Where received mail is.
    pub fn maildir(&self) -> &Path {
        &self.maildir
    }

    /// Waits up to `within` for mail to `to` about `subject`.
    pub fn mail_to(&self, to: &str, subject: &str, within: Duration) -> crate::mail::Mail {
        crate::mail::wait_for(&self.maildir, to, subject, within)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}
