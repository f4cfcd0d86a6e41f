//! The messages Keygate sends, from safe built-in templates an operator may replace
//! (`email.templates_dir`: `<kind>.subject`, `<kind>.txt`, `<kind>.html`).
//!
//! Placeholders are `{{link}}`, `{{code}}`, `{{minutes}}` and `{{email}}`; in HTML every value
//! is escaped, so an address or a link can never inject markup.

use std::collections::HashMap;
use std::path::Path;

use super::model::MailMessage;

/// The kinds of message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A link proving the address.
    VerifyEmail,
    /// A link setting a new password.
    PasswordReset,
    /// A 6-digit login code.
    LoginCode,
    /// To the old address after an email change: the account's address changed.
    EmailChanged,
    /// The address was proven for the first time: sessions ended and factors removed (§12).
    AccountSecured,
}

impl MailKind {
    const ALL: [Self; 5] = [
        Self::VerifyEmail,
        Self::PasswordReset,
        Self::LoginCode,
        Self::EmailChanged,
        Self::AccountSecured,
    ];

    /// The file-name stem of its templates.
    pub fn name(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::PasswordReset => "password_reset",
            Self::LoginCode => "login_code",
            Self::EmailChanged => "email_changed",
            Self::AccountSecured => "account_secured",
        }
    }

    fn defaults(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::VerifyEmail => (
                "Confirm your email address",
                "Confirm {{email}} for your account by opening this link within 24 hours:\n\n{{link}}\n\nIf you did not ask for this, ignore this message.\n",
                "<p>Confirm <b>{{email}}</b> for your account by opening this link within 24 hours:</p><p><a href=\"{{link}}\">{{link}}</a></p><p>If you did not ask for this, ignore this message.</p>",
            ),
            Self::PasswordReset => (
                "Reset your password",
                "Someone asked to reset the password of the account of {{email}}. To choose a new one, open this link within {{minutes}} minutes:\n\n{{link}}\n\nIf it was not you, ignore this message: your password stays as it is.\n",
                "<p>Someone asked to reset the password of the account of <b>{{email}}</b>. To choose a new one, open this link within {{minutes}} minutes:</p><p><a href=\"{{link}}\">{{link}}</a></p><p>If it was not you, ignore this message: your password stays as it is.</p>",
            ),
            Self::LoginCode => (
                "Your login code",
                "Your login code is {{code}}. It works once, for {{minutes}} minutes.\n\nIf you did not ask for it, ignore this message.\n",
                "<p>Your login code is <b>{{code}}</b>. It works once, for {{minutes}} minutes.</p><p>If you did not ask for it, ignore this message.</p>",
            ),
            Self::EmailChanged => (
                "The email address of your account changed",
                "A change of your account's email address from this address to {{email}} was asked for. It takes effect once the link mailed to that address is used; until then this address stays the account's.\n\nIf you did not do this, reset your password at once (the reset link comes to this address) and contact the service.\n",
                "<p>A change of your account's email address from this address to <b>{{email}}</b> was asked for. It takes effect once the link mailed to that address is used; until then this address stays the account's.</p><p>If you did not do this, reset your password at once (the reset link comes to this address) and contact the service.</p>",
            ),
            Self::AccountSecured => (
                "Your account was secured",
                "You just proved that this address is yours. The second factors (authenticator app, recovery codes, passkeys) added to the account before that were removed and every session was ended, because nobody had proven the address when they were added.\n\nIf you added them yourself, add them again.\n",
                "<p>You just proved that this address is yours. The second factors (authenticator app, recovery codes, passkeys) added to the account before that were removed and every session was ended, because nobody had proven the address when they were added.</p><p>If you added them yourself, add them again.</p>",
            ),
        }
    }
}

/// One kind's subject, text and HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Template {
    subject: String,
    text: String,
    html: String,
}

/// Every kind's template: the built-in ones, each replaced by the operator's where given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    by_kind: HashMap<MailKind, Template>,
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            by_kind: MailKind::ALL
                .into_iter()
                .map(|kind| {
                    let (subject, text, html) = kind.defaults();
                    (
                        kind,
                        Template {
                            subject: subject.to_owned(),
                            text: text.to_owned(),
                            html: html.to_owned(),
                        },
                    )
                })
                .collect(),
        }
    }
}

impl Templates {
    /// The built-in templates, each part replaced by `<directory>/<kind>.{subject,txt,html}`
    /// where that file exists. An unreadable file is an error naming it.
    pub fn load(directory: Option<&Path>) -> Result<Self, String> {
        let mut templates = Self::default();
        let Some(directory) = directory else {
            return Ok(templates);
        };
        for (kind, template) in &mut templates.by_kind {
            for (extension, part) in [
                ("subject", &mut template.subject),
                ("txt", &mut template.text),
                ("html", &mut template.html),
            ] {
                let path = directory.join(format!("{}.{extension}", kind.name()));
                match std::fs::read_to_string(&path) {
                    Ok(text) => *part = text,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
                }
            }
        }
        Ok(templates)
    }

    /// The message of `kind` to `to`, with `values` (`("link", …)`, `("code", …)`, …) in
    /// place of their placeholders.
    pub fn render(&self, kind: MailKind, to: &str, values: &[(&str, &str)]) -> MailMessage {
        let template = self
            .by_kind
            .get(&kind)
            .cloned()
            .unwrap_or_else(|| Self::default().by_kind[&kind].clone());
        let fill = |text: &str, escape: fn(&str) -> String| {
            values.iter().fold(text.to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{{{name}}}}}"), &escape(value))
            })
        };
        MailMessage {
            to: to.to_owned(),
            // One line: a value with a line break cannot add headers.
            subject: fill(&template.subject, |v| v.replace(['\r', '\n'], " "))
                .trim()
                .replace(['\r', '\n'], " "),
            text: fill(&template.text, str::to_owned),
            html: fill(&template.html, escape_html),
        }
    }
}

/// `text` safe inside HTML text and attribute values.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_fill_their_placeholders_and_are_escaped_in_html() {
        let message = Templates::default().render(
            MailKind::VerifyEmail,
            "a@example.com",
            &[
                ("email", "<b>x</b>@example.com"),
                ("link", "https://k/v?a=1&b=2"),
            ],
        );
        assert_eq!(message.to, "a@example.com");
        assert!(message.text.contains("https://k/v?a=1&b=2"));
        assert!(message.text.contains("<b>x</b>@example.com"));
        assert!(message.html.contains("href=\"https://k/v?a=1&amp;b=2\""));
        assert!(message.html.contains("&lt;b&gt;x&lt;/b&gt;@example.com"));
        assert!(!message.html.contains("<b>x</b>"));
    }

    #[test]
    fn an_operators_files_replace_the_parts_they_give() {
        let dir = std::env::temp_dir().join(format!("keygate-templates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory");
        std::fs::write(
            dir.join("login_code.subject"),
            "Code: {{code}}\nBcc: evil@example.com",
        )
        .expect("written");
        let templates = Templates::load(Some(&dir)).expect("loaded");
        let message = templates.render(MailKind::LoginCode, "a@example.com", &[("code", "123456")]);
        assert_eq!(message.subject, "Code: 123456 Bcc: evil@example.com");
        assert!(message.text.contains("123456"), "the built-in text stays");
        std::fs::remove_dir_all(&dir).ok();
    }
}
