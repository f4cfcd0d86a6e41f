//! Reading the mail Keygate sent: `.eml` files in a directory (the outbox directory of a
//! server without SMTP, or the maildir of the test mail server), decoded enough to follow a
//! link or read a code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;

/// One message as a test reads it.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The file it was read from.
    pub path: PathBuf,
    /// `To:`.
    pub to: String,
    /// `Subject:`.
    pub subject: String,
    /// The decoded `text/plain` part.
    pub text: String,
    /// The decoded `text/html` part.
    pub html: String,
}

impl Mail {
    /// The `token` of the link in the text.
    pub fn link_token(&self) -> String {
        let start = self
            .text
            .find("token=")
            .unwrap_or_else(|| panic!("no link with a token in:\n{}", self.text))
            + "token=".len();
        self.text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// The 6-digit code in the text.
    pub fn code(&self) -> String {
        let digits: Vec<char> = self.text.chars().collect();
        for window in digits.windows(6) {
            if window.iter().all(char::is_ascii_digit) {
                return window.iter().collect();
            }
        }
        panic!("no code in:\n{}", self.text)
    }
}

fn header(head: &str, name: &str) -> String {
    // Unfold continuation lines (RFC 5322 §2.2.3) first.
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    unfolded
        .lines()
        .find_map(|line| {
            line.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default()
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            if let Some(byte) = std::str::from_utf8(&bytes[i + 1..(i + 3).min(bytes.len())])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded body of a part whose headers are `head`.
fn decode(head: &str, body: &str) -> String {
    match header(head, "Content-Transfer-Encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "base64" => {
            let compact: String = body.split_whitespace().collect();
            String::from_utf8_lossy(
                &base64::engine::general_purpose::STANDARD
                    .decode(compact)
                    .unwrap_or_default(),
            )
            .into_owned()
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_owned(),
    }
}

/// Parses one message file.
pub fn read(path: &Path) -> Mail {
    let raw = std::fs::read_to_string(path)
        .expect("a readable message")
        .replace("\r\n", "\n");
    let (head, body) = raw.split_once("\n\n").unwrap_or((&raw, ""));
    let mut mail = Mail {
        path: path.to_path_buf(),
        to: header(head, "To"),
        subject: header(head, "Subject"),
        text: String::new(),
        html: String::new(),
    };
    let content_type = header(head, "Content-Type");
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .map(|b| b.trim_matches('"').to_owned());
    match boundary {
        Some(boundary) => {
            for part in body.split(&format!("--{boundary}")) {
                let part = part.trim_start_matches('\n');
                let (part_head, part_body) = part.split_once("\n\n").unwrap_or((part, ""));
                let kind = header(part_head, "Content-Type").to_ascii_lowercase();
                if kind.starts_with("text/plain") {
                    mail.text = decode(part_head, part_body);
                } else if kind.starts_with("text/html") {
                    mail.html = decode(part_head, part_body);
                }
            }
        }
        None => mail.text = decode(head, body),
    }
    mail
}

/// Every message file in `directory` (`.eml`, or maildir entries under `new/`).
pub fn all(directory: &Path) -> Vec<Mail> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        directory.to_path_buf(),
        directory.join("new"),
        directory.join("cur"),
    ] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if path.is_file() && !name.starts_with('.') {
                    files.push(path);
                }
            }
        }
    }
    files.sort();
    files.iter().map(|p| read(p)).collect()
}

/// Waits up to `within` for a message to `to` whose subject contains `subject`, and returns
/// the newest such one.
pub fn wait_for(directory: &Path, to: &str, subject: &str, within: Duration) -> Mail {
    let started = Instant::now();
    loop {
        let mut found: Vec<Mail> = all(directory)
            .into_iter()
            .filter(|m| m.to.contains(to) && m.subject.contains(subject))
            .collect();
        found.sort_by_key(|m| {
            std::fs::metadata(&m.path)
                .and_then(|meta| meta.modified())
                .ok()
        });
        if let Some(mail) = found.pop() {
            return mail;
        }
        assert!(
            started.elapsed() < within,
            "no mail to {to} about '{subject}' within {within:?}; have: {:?}",
            all(directory)
                .iter()
                .map(|m| (&m.to, &m.subject))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
