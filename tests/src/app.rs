//! One running `keygate` process per test.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::reply::Reply;

/// Which store the server under test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// The embedded redb store in a fresh temporary directory.
    Embedded,
    /// MongoDB at `MONGODB_URI`, on a database of its own.
    Mongo,
}

/// The MongoDB server the tests use; they fail, never skip, without one.
pub fn mongodb_uri() -> String {
    std::env::var("MONGODB_URI").unwrap_or_else(|_| {
        panic!("MONGODB_URI is not set: run `make test`, which starts a MongoDB-compatible server")
    })
}

/// A database name no other test uses.
pub fn fresh_database_name() -> String {
    format!("kg_http_{}_{}", std::process::id(), crate::unique("db"))
}

/// A running server, stopped when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    child: Child,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    env: Vec<(String, String)>,
    log: Arc<Mutex<Vec<String>>>,
    agent: ureq::Agent,
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

fn binary() -> PathBuf {
    if let Ok(path) = std::env::var("KEYGATE_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map_or_else(|_| workspace_root().join("target"), PathBuf::from);
    let path = target.join("debug").join("keygate");
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p keygate-server` (make test does)",
        path.display()
    );
    path
}

/// What a process that failed to start printed, and how it ended.
#[derive(Debug)]
pub struct StartFailure {
    /// Every line it logged.
    pub log: Vec<String>,
}

impl TestApp {
    /// A fresh server on `store` with the test configuration.
    pub fn spawn(store: Store) -> Self {
        Self::spawn_with(store, &[])
    }

    /// A fresh server on `store` with extra environment variables.
    pub fn spawn_with(store: Store, env: &[(&str, &str)]) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().to_path_buf();
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        if store == Store::Mongo && !env.iter().any(|(k, _)| k == "KEYGATE__DATABASE__URL") {
            env.push(("KEYGATE__DATABASE__URL".into(), mongodb_uri()));
            env.push(("KEYGATE__DATABASE__NAME".into(), fresh_database_name()));
        }
        if store == Store::Mongo
            && !env
                .iter()
                .any(|(k, _)| k == "KEYGATE__DATABASE__TIMEOUT_MS")
        {
            // A busy two-core CI machine can slow the test server down; only the outage tests,
            // which set their own deadline, are about timing.
            env.push(("KEYGATE__DATABASE__TIMEOUT_MS".into(), "20000".into()));
        }
        Self::start(data_dir, Some(temp), env)
            .unwrap_or_else(|failure| panic!("keygate did not start:\n{}", failure.log.join("\n")))
    }

    /// A fresh server on the embedded store whose data directory was prepared by `prepare`
    /// before it started.
    pub fn spawn_prepared(env: &[(&str, &str)], prepare: impl FnOnce(&Path)) -> Self {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().join("data");
        prepare(&data_dir);
        let env = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Self::start(data_dir, Some(temp), env)
            .unwrap_or_else(|failure| panic!("keygate did not start:\n{}", failure.log.join("\n")))
    }

    /// Starts a server that is expected to refuse to start; returns what it logged.
    pub fn spawn_expecting_failure(env: &[(&str, &str)]) -> StartFailure {
        let temp = tempfile::tempdir().unwrap();
        let env = env
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        match Self::start(temp.path().to_path_buf(), Some(temp), env) {
            Ok(app) => panic!("keygate started on {} but should have refused", app.base),
            Err(failure) => failure,
        }
    }

    fn start(
        data_dir: PathBuf,
        temp: Option<tempfile::TempDir>,
        env: Vec<(String, String)>,
    ) -> Result<Self, StartFailure> {
        let mut command = keygate_command(&data_dir, &env);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("the keygate binary runs");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (log, port_tx) = (log.clone(), port_tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(port) = listening_port(&line) {
                        let _ = port_tx.send(Some(port));
                    }
                    log.lock().unwrap().push(line);
                }
                let _ = port_tx.send(None);
            });
        }
        let port = port_rx.recv_timeout(Duration::from_secs(30)).ok().flatten();
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            return Err(StartFailure {
                log: log.lock().unwrap().clone(),
            });
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(Self {
            base: format!("http://127.0.0.1:{port}"),
            child,
            data_dir,
            _temp: temp,
            env,
            log,
            agent,
        })
    }

    /// Stops the server and starts it again on the same data directory and settings.
    pub fn restart(self) -> Self {
        let mut this = self;
        let _ = this.child.kill();
        let _ = this.child.wait();
        let temp = this._temp.take();
        let (data_dir, env) = (this.data_dir.clone(), this.env.clone());
        drop(this);
        Self::start(data_dir, temp, env).unwrap_or_else(|failure| {
            panic!("keygate did not restart:\n{}", failure.log.join("\n"))
        })
    }

    /// Stops the server, runs `keygate <args>` on the same data and settings (an operator
    /// command), and starts the server again.
    pub fn run_offline(self, args: &[&str]) -> (std::process::Output, Self) {
        let mut this = self;
        let _ = this.child.kill();
        let _ = this.child.wait();
        let output = keygate_command(&this.data_dir, &this.env)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the keygate binary runs");
        (output, this.restart())
    }

    /// Runs `keygate <args>` on the same settings while this server keeps running (operator
    /// commands on MongoDB may; the embedded store's file belongs to the server).
    pub fn run_beside(&self, args: &[&str]) -> std::process::Output {
        keygate_command(&self.data_dir, &self.env)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the keygate binary runs")
    }

    /// Starts `keygate <args>` on the same settings and returns it running (to kill it half
    /// way). Stop the server first on the embedded store.
    pub fn spawn_command(&self, args: &[&str]) -> std::process::Child {
        keygate_command(&self.data_dir, &self.env)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the keygate binary runs")
    }

    /// The server's resident memory, in KiB (Linux).
    pub fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status is readable");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse().ok())
            .expect("VmRSS in /proc status")
    }

    /// Sends the server a signal by name (`TERM`, `INT`), as an operator or supervisor would.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `within` for the server to exit; its exit status, if it did.
    pub fn wait_for_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("the server's status") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops the server (it cannot be started again; see [`Self::restart`] for that).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Which store the server runs on.
    pub fn store(&self) -> Store {
        if self.setting("KEYGATE__DATABASE__URL").is_some() {
            Store::Mongo
        } else {
            Store::Embedded
        }
    }

    /// The MongoDB database the server uses, if it runs on MongoDB.
    pub fn database_name(&self) -> Option<&str> {
        self.setting("KEYGATE__DATABASE__NAME")
    }

    fn setting(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The data directory the server was started with.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Where a server without `email.smtp_url` writes its mail (`.eml` files).
    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.join("outbox")
    }

    /// Waits (up to 10 s) for the newest message to `to` about `subject` in the outbox.
    pub fn mail_to(&self, to: &str, subject: &str) -> crate::mail::Mail {
        crate::mail::wait_for(&self.outbox_dir(), to, subject, Duration::from_secs(10))
    }

    /// Every line the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// A request with any method, headers and raw body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder
            .body(body.map(<[u8]>::to_vec).unwrap_or_default())
            .unwrap();
        let mut response = self
            .agent
            .run(request)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text,
        }
    }

    /// A JSON request, optionally with a bearer token.
    pub fn json(&self, method: &str, path: &str, token: Option<&str>, body: &Value) -> Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(bearer) = &bearer {
            headers.push(("authorization", bearer.as_str()));
        }
        self.request(method, path, &headers, Some(body.to_string().as_bytes()))
    }

    /// `GET path`, optionally with a bearer token.
    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("authorization", b.as_str()))
            .collect();
        self.request("GET", path, &headers, None)
    }

    /// `POST path` with a JSON body and no token.
    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.json("POST", path, None, body)
    }

    /// `POST /register` with a username, an email and the standard password.
    pub fn register(&self, username: &str, email: &str) -> Reply {
        self.post(
            "/register",
            &json!({"username": username, "email": email, "password": crate::PASSWORD}),
        )
    }

    /// `POST /login` by username with `password`.
    pub fn login(&self, username: &str, password: &str) -> Reply {
        self.post(
            "/login",
            &json!({"username": username, "password": password}),
        )
    }

    /// A request authorised by an API key in `X-API-Key`, with an optional JSON body.
    pub fn with_key(&self, method: &str, path: &str, key: &str, body: Option<&Value>) -> Reply {
        let text = body.map(Value::to_string);
        let headers = [("content-type", "application/json"), ("x-api-key", key)];
        self.request(method, path, &headers, text.as_ref().map(String::as_bytes))
    }

    /// Creates an API with one endpoint per `(name, schema)` as the holder of `token`;
    /// returns the 201 reply (its `api_id`, `api_name` and `api_key`).
    pub fn create_api(&self, token: &str, name: &str, endpoints: &[(&str, Value)]) -> Reply {
        let names: Vec<&str> = endpoints.iter().map(|(n, _)| *n).collect();
        let schemas: serde_json::Map<String, Value> = endpoints
            .iter()
            .map(|(n, s)| ((*n).to_owned(), s.clone()))
            .collect();
        let reply = self.json(
            "POST",
            "/create_api",
            Some(token),
            &json!({"api_name": name, "endpoints": names, "json_schema": schemas}),
        );
        reply.expect(201);
        reply
    }

    /// Polls `GET /api/{api_id}` until every declared index is ready (at most 30 s); the last
    /// answer.
    pub fn wait_for_indexes(&self, token: &str, api_id: &str) -> Reply {
        let started = Instant::now();
        loop {
            let api = self.get(&format!("/api/{api_id}"), Some(token));
            api.expect(200);
            let all_ready = api.body["indexes"]
                .as_object()
                .expect("indexes by endpoint")
                .values()
                .flat_map(|list| list.as_array().expect("a list").iter())
                .all(|index| index["state"] == "ready");
            if all_ready {
                return api;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "indexes still building after 30 s: {}",
                api.body
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Registers a fresh user and logs in: (username, access token, refresh token).
    pub fn signed_up_user(&self) -> (String, String, String) {
        let username = crate::unique("user");
        self.register(&username, &format!("{username}@example.com"))
            .expect(201);
        let login = self.login(&username, crate::PASSWORD);
        login.expect(200);
        (
            username,
            login.str("access_token").to_owned(),
            login.str("refresh_token").to_owned(),
        )
    }

    /// A new account named after `prefix` that proved its address (`<username>@example.com`)
    /// through its verification mail before logging in, as an owner would: a first proof
    /// ends the sessions and factors added before it (§12). `(username, access token)`.
    pub fn proven_account(&self, prefix: &str) -> (String, String) {
        let username = crate::unique(prefix);
        let address = format!("{username}@example.com");
        self.register(&username, &address).expect(201);
        let link = self.mail_to(&address, "Confirm your email").link_token();
        self.post("/email/verify", &serde_json::json!({"token": link}))
            .expect(200);
        let token = self
            .login(&username, crate::PASSWORD)
            .str("access_token")
            .to_owned();
        (username, token)
    }
}

/// The keygate binary with the test environment: nothing inherited but `PATH`, the test
/// configuration, port 0, and `data_dir` as its data directory.
fn keygate_command(data_dir: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(binary());
    command
        .current_dir(workspace_root())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("KEYGATE__ENVIRONMENT", "test")
        .env("KEYGATE__SERVER__HOST", "127.0.0.1")
        .env("KEYGATE__SERVER__PORT", "0")
        .env("KEYGATE__SERVER__WORKERS", "2")
        .env("KEYGATE__DATABASE__PATH", data_dir)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    command
}

fn listening_port(line: &str) -> Option<u16> {
    let rest = line.split("listening on http://").nth(1)?;
    let address = rest.split_whitespace().next()?;
    address.rsplit(':').next()?.parse().ok()
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
