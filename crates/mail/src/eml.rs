//! `.eml` files in a directory: the sender of a deployment without a mail server.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use keygate_domain::id::Id;
use keygate_domain::mail::{DeliveryError, MailMessage, Mailer};
use lettre::message::Mailbox;

use crate::message::build;

/// Writes each message to `<directory>/<id>.eml` (owner-only), whole or not at all.
#[derive(Debug, Clone)]
pub struct EmlDirectory {
    directory: PathBuf,
    from: Mailbox,
}

impl EmlDirectory {
    /// Messages from `from` into `directory` (created, owner-only, when first needed).
    pub fn new(directory: &Path, from: Mailbox) -> Self {
        Self {
            directory: directory.to_path_buf(),
            from,
        }
    }

    /// Where messages go.
    pub fn directory(&self) -> &Path {
        &self.directory
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[async_trait]
impl Mailer for EmlDirectory {
    async fn deliver(&self, id: &Id, message: &MailMessage) -> Result<(), DeliveryError> {
        let formatted = build(&self.from, id, message)?.formatted();
        let failed = |e: std::io::Error| {
            DeliveryError::Temporary(format!("cannot write to {}: {e}", self.directory.display()))
        };
        std::fs::create_dir_all(&self.directory).map_err(failed)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.directory, std::fs::Permissions::from_mode(0o700))
                .map_err(failed)?;
        }
        // Written beside, then renamed: a reader never sees half a message.
        let partial = self.directory.join(format!(".{id}.eml.partial"));
        write_private(&partial, &formatted).map_err(failed)?;
        std::fs::rename(&partial, self.directory.join(format!("{id}.eml"))).map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_becomes_one_private_eml_file_with_both_bodies() {
        let directory = std::env::temp_dir().join(format!("keygate-eml-{}", std::process::id()));
        let outbox = EmlDirectory::new(
            &directory,
            "Keygate <noreply@keygate.test>".parse().expect("a mailbox"),
        );
        let id = Id::generate(1);
        let message = MailMessage {
            to: "someone@example.com".into(),
            subject: "Reset your password".into(),
            text: "open https://k.test/reset-password?token=abc".into(),
            html: "<p>open <a href=\"https://k.test/reset-password?token=abc\">it</a></p>".into(),
        };
        outbox.deliver(&id, &message).await.expect("written");
        let path = directory.join(format!("{id}.eml"));
        let text = std::fs::read_to_string(&path).expect("a file");
        assert!(text.contains("To: someone@example.com"), "{text}");
        assert!(text.contains("Subject: Reset your password"));
        assert!(text.contains("multipart/alternative"));
        assert!(text.contains("text/html"));
        assert!(text.contains(&format!("Message-ID: <{id}@keygate.test>")));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("a file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let bad = MailMessage {
            to: "not an address".into(),
            ..message
        };
        assert!(matches!(
            outbox.deliver(&Id::generate(2), &bad).await,
            Err(DeliveryError::Permanent(_))
        ));
        std::fs::remove_dir_all(&directory).ok();
    }
}
