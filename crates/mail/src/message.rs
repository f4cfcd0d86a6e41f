//! A domain message as an RFC 5322 message: text and HTML as `multipart/alternative`.

use keygate_domain::id::Id;
use keygate_domain::mail::{DeliveryError, MailMessage};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;

/// The message `id` from `from` as lettre builds it. An address that does not parse can never
/// be delivered: a permanent failure.
pub(crate) fn build(
    from: &Mailbox,
    id: &Id,
    message: &MailMessage,
) -> Result<Message, DeliveryError> {
    let to: Mailbox = message
        .to
        .parse()
        .map_err(|e| DeliveryError::Permanent(format!("recipient address: {e}")))?;
    let domain = from.email.domain().to_owned();
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(format!("<{id}@{domain}>")))
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|e| DeliveryError::Permanent(format!("message: {e}")))
}
