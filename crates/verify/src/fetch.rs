//! Where key sets (and introspection answers) come from: HTTP, through a small blocking
//! client on a thread of its own, so no caller's async runtime is blocked or assumed.

use std::time::Duration;

use async_trait::async_trait;

/// Fetches the JWK Set document.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// The current JWK Set, as text.
    async fn fetch_key_set(&self) -> Result<String, String>;
    /// Keygate's introspection answer for `token`, authorised by `bearer`, as text.
    async fn introspect(&self, url: &str, bearer: &str, token: &str) -> Result<String, String>;
}

/// Keygate's key set over HTTP(S): `<base>/.well-known/jwks.json`.
pub struct HttpKeySource {
    jwks_url: String,
    agent: ureq::Agent,
}

/// The most of a key set or introspection answer read: a JWKS of a few keys is a few KiB.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024;

impl HttpKeySource {
    /// Fetches from `jwks_url`, each request bounded by `timeout`.
    pub fn new(jwks_url: impl Into<String>, timeout: Duration) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Self {
            jwks_url: jwks_url.into(),
            agent,
        }
    }
}

/// Runs `work` on a thread of its own and waits for it without blocking the caller's
/// executor.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("keygate-verify-http".into())
        .spawn(move || {
            let _ = sender.send(work());
        })
        .map_err(|e| format!("cannot start the HTTP thread: {e}"))?;
    receiver
        .await
        .map_err(|_| "the HTTP thread ended without an answer".to_owned())?
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> Result<String, String> {
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    if status == 200 {
        Ok(body)
    } else {
        Err(format!("HTTP {status}"))
    }
}

#[async_trait]
impl KeySource for HttpKeySource {
    async fn fetch_key_set(&self) -> Result<String, String> {
        let (agent, url) = (self.agent.clone(), self.jwks_url.clone());
        off_thread(move || {
            let response = agent
                .get(&url)
                .header("accept", "application/json")
                .call()
                .map_err(|e| format!("GET {url}: {e}"))?;
            read(response)
        })
        .await
    }

    async fn introspect(&self, url: &str, bearer: &str, token: &str) -> Result<String, String> {
        let agent = self.agent.clone();
        let (url, authorization) = (url.to_owned(), format!("Bearer {bearer}"));
        let body = serde_json::json!({ "token": token });
        off_thread(move || {
            let response = agent
                .post(&url)
                .header("authorization", &authorization)
                .send_json(&body)
                .map_err(|e| format!("POST {url}: {e}"))?;
            read(response)
        })
        .await
    }
}
