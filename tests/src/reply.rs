//! A response as the tests look at it.

use serde_json::Value;

/// Status, headers and JSON body of one response.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON (`Value::Null` if it was not JSON).
    pub body: Value,
    /// The raw body text.
    pub text: String,
}

impl Reply {
    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A string field of the body.
    pub fn str(&self, field: &str) -> &str {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string field {field} in {}", self.text))
    }

    /// Asserts the status and returns `self` for chaining.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a contract error: the status, the code and the whole envelope's shape.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(self.body["status"], "error", "{}", self.text);
        assert_eq!(self.body["code"], code, "{}", self.text);
        let message = self.body["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "error without message: {}", self.text);
        assert_eq!(
            self.body["error"], self.body["message"],
            "error must repeat message"
        );
        assert!(
            self.header("x-request-id").is_some(),
            "error without x-request-id"
        );
        self
    }

    /// The JSON pointers listed in `details`.
    pub fn detail_fields(&self) -> Vec<String> {
        self.body["details"]
            .as_array()
            .map(|details| {
                details
                    .iter()
                    .filter_map(|d| d["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}
