//! Outgoing mail: the Message-IDs and subjects tix gives its mail, the
//! outbox that the event log implies, when a failed mail is due again,
//! and the message itself, built with lettre (docs/mail.md, "Outbound").

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use super::MailSettings;
use crate::model::{Event, EventKind, Role, Ticket, TicketId, Timestamp};

/// `to` of a `mail` event when the transport took the mail.
pub const SENT: &str = "sent";
/// `to` of a `mail` event when the transport refused or was unreachable.
pub const FAILED: &str = "failed";

/// The Message-ID of the ticket's `n`-th outgoing mail:
/// `<tix.<id>.<n>.<salt>@<domain>>`, so a reply to it threads without a
/// lookup. `salt` (a few random hex digits the caller draws) keeps two
/// clones that each write the ticket's `n`-th mail before they sync from
/// giving two different mails one Message-ID, which mail clients would
/// show as one.
pub fn message_id(ticket: &TicketId, n: usize, salt: u32, domain: &str) -> String {
    format!("<tix.{ticket}.{n}.{salt:06x}@{domain}>")
}

/// The ticket a Message-ID of tix's own names (see [`message_id`]).
pub fn ticket_of(message_id: &str) -> Option<TicketId> {
    let inner = message_id.trim().trim_start_matches('<');
    let rest = inner.strip_prefix("tix.")?;
    let (id, rest) = rest.split_once('.')?;
    let (n, _domain) = rest.split_once('@')?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
        return None;
    }
    id.parse().ok()
}

/// The number the next outgoing mail of `ticket` gets.
pub fn next_number(ticket: &Ticket) -> usize {
    ticket
        .events
        .iter()
        .filter(|e| e.recipient.is_some())
        .count()
        + 1
}

/// The subject of mail about a ticket: `Re: <subject> [#<id>]`.
pub fn subject(ticket: &Ticket) -> String {
    let tag = format!("[#{}]", ticket.id);
    let mut base = super::inbound::one_line(&ticket.subject).replace(&tag, "");
    loop {
        let trimmed = base.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("re:") || lower.starts_with("aw:") || lower.starts_with("fw:") {
            base = trimmed[3..].to_owned();
        } else {
            base = trimmed.to_owned();
            break;
        }
    }
    format!("Re: {base} {tag}")
}

/// In-Reply-To and References for the mail that event `at` of the ticket
/// sends: the last Message-ID before it of a customer's message, and
/// every Message-ID before it (the last ten), oldest first.
pub fn thread_headers(ticket: &Ticket, at: usize) -> (Option<String>, Vec<String>) {
    let before = &ticket.events[..at.min(ticket.events.len())];
    let parent = before
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Message && e.role == Role::Customer)
        .and_then(|e| e.message_id.clone());
    let mut references: Vec<String> = before
        .iter()
        .filter(|e| e.kind == EventKind::Message)
        .filter_map(|e| e.message_id.clone())
        .collect();
    if references.len() > 10 {
        references.drain(..references.len() - 10);
    }
    (parent, references)
}

/// One mail of the outbox: recorded, not yet taken by a transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The ticket.
    pub ticket: TicketId,
    /// The index of the message event in the ticket's log.
    pub event: usize,
    /// Its Message-ID.
    pub message_id: String,
    /// Where it goes.
    pub to: String,
    /// When it was written.
    pub queued: Timestamp,
    /// How often sending it failed.
    pub attempts: u32,
    /// The last failure's reason.
    pub error: Option<String>,
    /// When it may be tried again (`None`: now).
    pub next_try: Option<Timestamp>,
}

/// What the ticket's `mail` events say of the mail `message_id`.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'t> {
    /// A transport took it.
    pub sent: bool,
    /// How often sending it failed.
    pub attempts: u32,
    /// The last failure.
    pub last_failure: Option<&'t Event>,
}

/// Reads the `mail` events of the mail `message_id`.
pub fn outcome<'t>(ticket: &'t Ticket, message_id: &str) -> Outcome<'t> {
    let mut found = Outcome {
        sent: false,
        attempts: 0,
        last_failure: None,
    };
    let mine = ticket
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Mail && e.message_id.as_deref() == Some(message_id));
    for event in mine {
        match event.to.as_deref() {
            Some(SENT) => found.sent = true,
            Some(FAILED) => {
                found.attempts = found.attempts.saturating_add(1);
                found.last_failure = Some(event);
            }
            _ => {}
        }
    }
    found
}

/// The ticket's mail that no transport took yet.
pub fn pending(ticket: &Ticket) -> Vec<Pending> {
    let mut out = Vec::new();
    for (index, event) in ticket.events.iter().enumerate() {
        let (Some(to), Some(id)) = (&event.recipient, &event.message_id) else {
            continue;
        };
        let outcome = outcome(ticket, id);
        if outcome.sent {
            continue;
        }
        let last = outcome.last_failure;
        out.push(Pending {
            ticket: ticket.id.clone(),
            event: index,
            message_id: id.clone(),
            to: to.clone(),
            queued: event.at,
            attempts: outcome.attempts,
            error: last.and_then(|e| e.reason.clone()),
            next_try: last.map(|e| e.at.plus_seconds(backoff_secs(outcome.attempts))),
        });
    }
    out
}

/// How long to wait after the `attempts`-th failure: 1 minute, 5, 15,
/// 1 hour, then every 4 hours.
pub fn backoff_secs(attempts: u32) -> i64 {
    match attempts {
        0 => 0,
        1 => 60,
        2 => 5 * 60,
        3 => 15 * 60,
        4 => 60 * 60,
        _ => 4 * 60 * 60,
    }
}

/// A mail to send, with everything its headers need.
#[derive(Clone, Debug)]
pub struct OutMail {
    /// Display name of the sender.
    pub from_name: Option<String>,
    /// The sender's address.
    pub from: String,
    /// The recipient.
    pub to: String,
    /// The recipient's name.
    pub to_name: Option<String>,
    /// Subject line.
    pub subject: String,
    /// `<...>`.
    pub message_id: String,
    /// The parent message.
    pub in_reply_to: Option<String>,
    /// The thread.
    pub references: Vec<String>,
    /// When it was written.
    pub date: Timestamp,
    /// The text.
    pub body: String,
    /// Files: name and bytes.
    pub attachments: Vec<(String, Vec<u8>)>,
    /// A notice written by tix, not a person's reply.
    pub automatic: bool,
}

impl OutMail {
    /// The mail of message event `at` of `ticket`; `files` reads a stored
    /// attachment's bytes by name.
    pub fn of(
        ticket: &Ticket,
        at: usize,
        settings: &MailSettings,
        files: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
    ) -> Result<Self, String> {
        let event = ticket.events.get(at).ok_or("no such message")?;
        // A note with a recipient is a mail to the assignee: not part of
        // the customer's thread, and not addressed to the customer.
        let internal = event.kind == EventKind::Note;
        let (in_reply_to, references) = if internal {
            (None, Vec::new())
        } else {
            thread_headers(ticket, at)
        };
        let from = ticket
            .department
            .as_deref()
            .and_then(|d| settings.mailboxes.iter().find(|m| m.department == d))
            .map(|m| m.address.clone())
            .or_else(|| settings.address.clone())
            .ok_or("[mail] has no address to send from")?;
        let mut attachments = Vec::new();
        for name in &event.attachments {
            // Stored in the message's folder; sent under its own name.
            let file_name = name.rsplit('/').next().unwrap_or(name);
            attachments.push((file_name.to_owned(), files(name)?));
        }
        Ok(Self {
            from_name: settings.name.clone(),
            from,
            to: event
                .recipient
                .clone()
                .ok_or("the message has no recipient")?,
            to_name: if internal {
                None
            } else {
                ticket.customer.name.clone()
            },
            subject: subject(ticket),
            message_id: event.message_id.clone().ok_or("the message has no id")?,
            in_reply_to,
            references,
            date: event.at,
            body: event.body.clone().unwrap_or_default(),
            attachments,
            // A notice, or a reply a rule wrote: an autoresponder must not
            // answer it (and start a loop of replies).
            automatic: event.role == Role::System || event.rule.is_some(),
        })
    }

    /// The message as RFC 5322 bytes, with CRLF line ends.
    pub fn build(&self) -> Result<Vec<u8>, String> {
        let mailbox = |name: &Option<String>, address: &str| -> Result<Mailbox, String> {
            let address = address
                .parse()
                .map_err(|e| format!("'{address}' is not a mail address: {e}"))?;
            Ok(Mailbox::new(
                name.as_deref().map(super::inbound::one_line),
                address,
            ))
        };
        let mut builder = lettre::Message::builder()
            .from(mailbox(&self.from_name, &self.from)?)
            .to(mailbox(&self.to_name, &self.to)?)
            .subject(super::inbound::one_line(&self.subject))
            .message_id(Some(self.message_id.clone()))
            .date(std::time::SystemTime::from(self.date.as_datetime()));
        if self.automatic {
            // RFC 3834: a notice is automatic, so auto-responders leave it be.
            builder = builder.header(AutoSubmitted);
        }
        if let Some(parent) = &self.in_reply_to {
            builder = builder.in_reply_to(parent.clone());
        }
        if !self.references.is_empty() {
            builder = builder.references(self.references.join(" "));
        }
        let text = SinglePart::plain(self.body.clone());
        let message = if self.attachments.is_empty() {
            builder.singlepart(text)
        } else {
            let mut parts = MultiPart::mixed().singlepart(text);
            for (name, bytes) in &self.attachments {
                let kind =
                    ContentType::parse(content_type(name)).unwrap_or(ContentType::TEXT_PLAIN);
                parts = parts.singlepart(Attachment::new(name.clone()).body(bytes.clone(), kind));
            }
            builder.multipart(parts)
        };
        message
            .map(|m| m.formatted())
            .map_err(|e| format!("cannot build the mail: {e}"))
    }
}

/// `Auto-Submitted: auto-replied`, on notices (not on an agent's reply).
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-replied".to_owned())
    }
}

/// A content type for a file name's extension.
fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "zip" => "application/zip",
        "eml" => "message/rfc822",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_message_ids_name_their_ticket() {
        let id: TicketId = "k3x9p2".parse().unwrap();
        let mid = message_id(&id, 3, 0xab, "example.com");
        assert_eq!(mid, "<tix.k3x9p2.3.0000ab@example.com>");
        assert_eq!(ticket_of(&mid), Some(id.clone()));
        // The shape of earlier versions, without a salt.
        assert_eq!(ticket_of("<tix.k3x9p2.3@example.com>"), Some(id));
        assert_eq!(ticket_of("<abc@example.com>"), None);
        assert_eq!(ticket_of("<tix.k3x9p2.@example.com>"), None);
        assert_eq!(ticket_of("<tix.nope.1@example.com>"), None);
    }

    #[test]
    fn backoff_grows_and_caps() {
        let waits: Vec<i64> = (0..7).map(backoff_secs).collect();
        assert_eq!(waits, [0, 60, 300, 900, 3600, 14400, 14400]);
    }
}
