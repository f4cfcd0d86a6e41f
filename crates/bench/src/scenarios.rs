//! What the benchmark prepares on the server and the paths it then drives.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::client::{request, Connection};
use crate::load::RequestMaker;
use crate::server::{SetupError, INTROSPECTION_TOKEN};

/// Accounts the login path rotates through, so the per-account throttle never applies.
pub const LOGIN_ACCOUNTS: usize = 32;
const PASSWORD: &str = "vivid-otter-42-lamp";

/// One path under load.
pub struct Scenario {
    /// How the table names it.
    pub label: &'static str,
    /// The requests it sends.
    pub requests: RequestMaker,
}

/// The account, data, API and key the paths use.
pub struct Fixture {
    access_token: String,
    api_name: String,
    api_key: String,
    record_id: String,
}

/// Sends one set-up request and insists on `expected`; the parsed body otherwise.
async fn call(
    connection: &mut Connection,
    expected: u16,
    raw: Vec<u8>,
) -> Result<Value, SetupError> {
    let response = connection.send(&raw).await?;
    let body: Value = serde_json::from_slice(response.body).unwrap_or(Value::Null);
    if response.status != expected {
        let line = String::from_utf8_lossy(&raw);
        let first = line.lines().next().unwrap_or_default();
        return Err(format!("set-up `{first}` answered {}: {body}", response.status).into());
    }
    Ok(body)
}

fn text(body: &Value, field: &str) -> Result<String, SetupError> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("set-up response lacks {field}: {body}").into())
}

fn login_body(username: &str) -> String {
    json!({"username": username, "password": PASSWORD}).to_string()
}

impl Fixture {
    /// Registers the accounts and creates the data key, the API, its key and one record.
    pub async fn prepare(address: SocketAddr) -> Result<Self, SetupError> {
        let mut connection = Connection::open(address).await?;
        let c = &mut connection;
        for i in 0..=LOGIN_ACCOUNTS {
            let body = login_body(&format!("bench-{i}"));
            call(c, 201, request("POST", "/register", &[], Some(&body))).await?;
        }
        let login = request("POST", "/login", &[], Some(&login_body("bench-0")));
        let access_token = text(&call(c, 200, login).await?, "access_token")?;
        let bearer = format!("Bearer {access_token}");
        let auth = [("Authorization", bearer.as_str())];
        let entry = json!({"key": "hot", "value": {"theme": "dark", "volume": 7}}).to_string();
        call(c, 201, request("POST", "/api/data", &auth, Some(&entry))).await?;
        let api = json!({
            "api_name": "bench",
            "endpoints": ["orders"],
            "json_schema": {"orders": {
                "type": "object",
                "required": ["qty"],
                "properties": {
                    "qty": {"type": "integer", "minimum": 1},
                    "item": {"type": "string", "maxLength": 64}
                }
            }}
        })
        .to_string();
        let created = call(c, 201, request("POST", "/create_api", &auth, Some(&api))).await?;
        let (api_name, api_key) = (text(&created, "api_name")?, text(&created, "api_key")?);
        let path = format!("/api/{api_name}/orders");
        let record = request("POST", &path, &[("X-API-Key", &api_key)], Some(RECORD));
        let record_id = text(&call(c, 201, record).await?, "record_id")?;
        Ok(Self {
            access_token,
            api_name,
            api_key,
            record_id,
        })
    }

    /// Every path the benchmark drives, in the order of the table.
    pub fn scenarios(&self) -> Vec<Scenario> {
        let bearer = format!("Bearer {}", self.access_token);
        let auth = [("Authorization", bearer.as_str())];
        let key = [("X-API-Key", self.api_key.as_str())];
        let records = format!("/api/{}/orders", self.api_name);
        let one_record = format!("{records}/{}", self.record_id);
        // Keys count across runs (a 1-connection run then a 32-connection one), so every
        // request creates a new entry instead of meeting 409 key_exists.
        let created = Arc::new(AtomicU64::new(0));
        let new_entry = {
            let bearer = bearer.clone();
            move |_| {
                let n = created.fetch_add(1, Ordering::Relaxed);
                let body = format!(r#"{{"key":"entry-{n}","value":{{"n":{n},"tags":["a","b"]}}}}"#);
                request(
                    "POST",
                    "/api/data",
                    &[("Authorization", &bearer)],
                    Some(&body),
                )
            }
        };
        let logins: Vec<Vec<u8>> = (0..LOGIN_ACCOUNTS)
            .map(|i| {
                request(
                    "POST",
                    "/login",
                    &[],
                    Some(&login_body(&format!("bench-{i}"))),
                )
            })
            .collect();
        vec![
            fixed("GET /health", request("GET", "/health", &[], None)),
            fixed("GET /profile", request("GET", "/profile", &auth, None)),
            fixed(
                "GET /.well-known/jwks.json",
                request("GET", "/.well-known/jwks.json", &[], None),
            ),
            fixed(
                "POST /token/introspect",
                request(
                    "POST",
                    "/token/introspect",
                    &[("Authorization", &format!("Bearer {INTROSPECTION_TOKEN}"))],
                    Some(&json!({"token": self.access_token}).to_string()),
                ),
            ),
            fixed(
                "GET /api/data/{key}",
                request("GET", "/api/data/hot", &auth, None),
            ),
            Scenario {
                label: "POST /api/data",
                requests: Arc::new(new_entry),
            },
            fixed(
                "POST /api/{api}/{endpoint}",
                request("POST", &records, &key, Some(RECORD)),
            ),
            fixed(
                "GET /api/{api}/{endpoint}/{id}",
                request("GET", &one_record, &key, None),
            ),
            Scenario {
                label: "POST /login",
                requests: Arc::new(move |n| logins[n as usize % logins.len()].clone()),
            },
        ]
    }
}

/// A realistic record for the `orders` endpoint.
const RECORD: &str =
    r#"{"item":"tea","qty":2,"note":"a record of a realistic size, with a few fields"}"#;

fn fixed(label: &'static str, bytes: Vec<u8>) -> Scenario {
    Scenario {
        label,
        requests: Arc::new(move |_| bytes.clone()),
    }
}
