//! A received message: parsed (with mail-parser), checked for the marks
//! of automatic mail, and threaded onto a ticket or made a new one
//! (docs/mail.md, "Intake").

use std::collections::BTreeSet;

use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders};

use super::MailSettings;
use crate::model::status::Category;
use crate::model::{EventKind, Role, Ticket, TicketId};

/// A received message, as much of it as tix keeps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inbound {
    /// `<id@host>`; for a message without one, `<mail-HEX@tix.invalid>`
    /// made from its bytes, so taking it again is a duplicate too.
    pub message_id: Option<String>,
    /// The parents it names in In-Reply-To, `<...>` each.
    pub in_reply_to: Vec<String>,
    /// The thread it names in References, oldest first.
    pub references: Vec<String>,
    /// The decoded subject (one line).
    pub subject: String,
    /// The sender's display name.
    pub from_name: Option<String>,
    /// The sender's address, lower-cased domain kept as written.
    pub from_address: String,
    /// Every address it was sent to (To, Cc, Delivered-To, X-Original-To).
    pub recipients: Vec<String>,
    /// The Cc addresses.
    pub cc: Vec<String>,
    /// The text (the plain part, or the HTML part made text).
    pub body: String,
    /// Attached files, as named by the sender (not yet made safe).
    pub attachments: Vec<Attachment>,
    /// Why this is automatic mail (an auto-reply, a bounce, list mail)
    /// that must make no ticket; `None` for a person's mail.
    pub automatic: Option<String>,
}

/// A file that came with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    /// The name the sender gave it (may be hostile: see [`safe_name`]).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// Parses a message. Refuses what is not a mail a person could have
/// sent: no headers, or no sender address.
pub fn parse(raw: &[u8]) -> Result<Inbound, String> {
    // mail-parser 0.11 panics on some malformed multiparts (found by
    // fuzzing): such a message is refused like any other broken one.
    let parsed = quietly(|| MessageParser::default().parse(raw));
    let message = parsed
        .map_err(|()| {
            "the mail parser could not read this message (malformed MIME parts)".to_owned()
        })?
        .ok_or("not a mail message: no headers found")?;
    let (from_name, from_address) = sender(&message)?;
    let mut recipients = addresses(message.to());
    let cc = addresses(message.cc());
    recipients.extend(cc.iter().cloned());
    for name in ["Delivered-To", "X-Original-To", "Envelope-To"] {
        for header in message.header_values(name) {
            if let Some(text) = header.as_text() {
                recipients.push(text.trim().trim_matches(['<', '>']).to_owned());
            }
        }
    }
    let subject = one_line(message.subject().unwrap_or_default());
    Ok(Inbound {
        message_id: Some(
            message
                .message_id()
                .filter(|id| !id.trim().is_empty())
                .map_or_else(|| format!("<{}@tix.invalid>", folder_for(raw)), bracket),
        ),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        subject,
        from_name,
        from_address,
        recipients,
        cc,
        body: body(&message),
        attachments: attachments(&message),
        automatic: automatic(&message),
    })
}

/// Runs `f`, turning a panic into an error without printing it: the
/// panic hook is the process's, so it is set aside meanwhile (intake runs
/// on one thread).
fn quietly<T>(f: impl FnOnce() -> T + std::panic::UnwindSafe) -> Result<T, ()> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(f);
    std::panic::set_hook(hook);
    result.map_err(|_| ())
}

/// The sender: From, or Sender when From has no address.
fn sender(message: &Message<'_>) -> Result<(Option<String>, String), String> {
    let first = message
        .from()
        .and_then(Address::first)
        .filter(|a| a.address().is_some())
        .or_else(|| message.sender().and_then(Address::first));
    let Some(addr) = first else {
        return Err("the message has no sender address (From)".to_owned());
    };
    let address = addr.address().unwrap_or_default().trim().to_owned();
    if !super::is_address(&address) {
        return Err(format!(
            "the sender '{}' is not a mail address",
            one_line(&address)
        ));
    }
    let name = addr
        .name()
        .map(one_line)
        .filter(|n| !n.is_empty() && *n != address);
    Ok((name, address))
}

fn addresses(address: Option<&Address<'_>>) -> Vec<String> {
    address
        .into_iter()
        .flat_map(Address::iter)
        .filter_map(|a| a.address())
        .map(|a| a.trim().to_owned())
        .collect()
}

/// A Message-ID as tix stores it: `<...>`, without white space (a folded
/// header can leave line breaks and spaces inside; stored IDs are kept
/// space-separated in the mail cache).
fn bracket(id: &str) -> String {
    let inner: String = id
        .trim_matches(|c: char| c.is_whitespace() || c == '<' || c == '>')
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    format!("<{inner}>")
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        HeaderValue::Text(text) => vec![text.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(AsRef::as_ref).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .flat_map(str::split_whitespace)
        .filter(|id| !id.trim_matches(['<', '>']).is_empty())
        .map(bracket)
        .collect()
}

/// Text fit for one line: control characters become spaces, runs of
/// white space one space.
pub fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of the message: every text body (a plain part where there is
/// one, else the HTML part turned into text), with line ends made `\n`.
fn body(message: &Message<'_>) -> String {
    let parts: Vec<String> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .map(|text| text.replace("\r\n", "\n").replace('\r', "\n"))
        .filter(|text| !text.trim().is_empty())
        .collect();
    let text = parts.join("\n\n");
    let trimmed = text.trim_end();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}\n")
    }
}

fn attachments(message: &Message<'_>) -> Vec<Attachment> {
    message
        .attachments()
        .filter(|part| !part.contents().is_empty())
        .map(|part| {
            let name = part
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_else(|| {
                    if part.is_message() {
                        let subject = part.message().and_then(Message::subject).unwrap_or("");
                        let subject = one_line(subject);
                        if subject.is_empty() {
                            "forwarded.eml".to_owned()
                        } else {
                            format!("{subject}.eml")
                        }
                    } else {
                        let extension = part
                            .content_type()
                            .and_then(|ct| ct.subtype())
                            .filter(|s| s.chars().all(|c| c.is_ascii_alphanumeric()))
                            .unwrap_or("bin");
                        format!("attachment.{extension}")
                    }
                });
            Attachment {
                name,
                bytes: part.contents().to_vec(),
            }
        })
        .collect()
}

/// Why a message is automatic (RFC 3834's Auto-Submitted, the de-facto
/// auto-reply headers, bulk and list precedence, delivery reports and
/// bounces), or `None`.
fn automatic(message: &Message<'_>) -> Option<String> {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    if let Some(value) = header("Auto-Submitted")
        && value != "no"
        && !value.starts_with("no;")
        && !value.starts_with("no ")
    {
        return Some(format!("automatic mail (Auto-Submitted: {value})"));
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(value) = header(name) {
            return Some(format!("auto-reply ({name}: {value})"));
        }
    }
    if let Some(value) = header("Precedence")
        && matches!(value.as_str(), "bulk" | "junk" | "list" | "auto_reply")
    {
        return Some(format!("bulk mail (Precedence: {value})"));
    }
    let root = message.root_part();
    if root.is_content_type("multipart", "report") {
        return Some("bounce (a delivery status report)".to_owned());
    }
    if let Some(path) = header("Return-Path")
        && path.trim_matches(['<', '>', ' ']).is_empty()
    {
        return Some("bounce (empty Return-Path)".to_owned());
    }
    let from = message
        .from()
        .and_then(Address::first)
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let local = from.split('@').next().unwrap_or_default();
    if matches!(local, "mailer-daemon" | "postmaster") {
        return Some(format!("bounce (from {from})"));
    }
    None
}

/// What a received message comes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Intake {
    /// Its Message-ID is stored already: nothing to write.
    Duplicate,
    /// Automatic mail, or mail from the desk itself: nothing to write.
    Ignored(String),
    /// A customer reply on this ticket.
    Append(TicketId),
    /// The ticket is closed and `closed_reply = "reopen"`: open it again,
    /// then append.
    Reopen(TicketId),
    /// A new ticket, following up `follow_up_of` when the mail answered a
    /// closed one, tagged `suspect-thread` when its subject named a ticket
    /// of somebody else.
    New {
        /// The closed ticket the mail answered.
        follow_up_of: Option<TicketId>,
        /// The subject named a ticket whose customer is not the sender.
        suspect: bool,
    },
    /// The ticket is closed and `closed_reply = "refuse"`.
    Refused(String),
}

/// Where a received message's thread leads, before the ticket is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thread {
    /// Nothing names a ticket.
    None,
    /// A parent Message-ID (In-Reply-To or References) is one of this
    /// ticket's.
    Parent(TicketId),
    /// Only the subject names this ticket (`[#ID]`).
    Subject(TicketId),
}

/// Threads a message: In-Reply-To, then References newest first, through
/// `find` (a stored or sent Message-ID → its ticket), then `[#ID]` in the
/// subject.
pub fn thread(inbound: &Inbound, find: &mut dyn FnMut(&str) -> Option<TicketId>) -> Thread {
    let parents = inbound
        .in_reply_to
        .iter()
        .chain(inbound.references.iter().rev());
    for parent in parents {
        if let Some(id) = find(parent) {
            return Thread::Parent(id);
        }
    }
    match subject_id(&inbound.subject) {
        Some(id) => Thread::Subject(id),
        None => Thread::None,
    }
}

/// The ticket id of a `[#ID]` tag in a subject (the last one).
pub fn subject_id(subject: &str) -> Option<TicketId> {
    subject
        .match_indices("[#")
        .filter_map(|(at, _)| {
            let rest = &subject[at + 2..];
            let end = rest.find(']')?;
            rest[..end].trim().parse().ok()
        })
        .last()
}

/// A rating given by mail: the text's first non-empty line is
/// `rating: N` (N from 1 to 5, any case); the lines after it are the
/// comment.
pub fn rating(body: &str) -> Option<(u8, Option<String>)> {
    let mut lines = body.lines().skip_while(|l| l.trim().is_empty());
    let first = lines.next()?.trim();
    let (word, value) = first.split_once(':')?;
    if !word.trim().eq_ignore_ascii_case("rating") {
        return None;
    }
    let score: u8 = value.trim().parse().ok()?;
    if !(1..=5).contains(&score) {
        return None;
    }
    // Up to the quoted text of the mail it answers.
    let comment: Vec<&str> = lines.take_while(|l| !quoted(l)).collect();
    let comment = comment.join("\n").trim().to_owned();
    Some((score, (!comment.is_empty()).then_some(comment)))
}

/// Tells whether a line starts the quoted mail a reply answers.
fn quoted(line: &str) -> bool {
    line.starts_with('>') || (line.starts_with("On ") && line.trim_end().ends_with("wrote:"))
}

/// The subject without any `[#ID]` tag (and the space around it).
pub fn without_tags(subject: &str) -> String {
    let mut out = subject.to_owned();
    while let Some(at) = out.find("[#") {
        let Some(end) = out[at..].find(']') else {
            break;
        };
        let inner = &out[at + 2..at + end];
        if inner.trim().parse::<TicketId>().is_err() {
            break;
        }
        out.replace_range(at..=at + end, "");
    }
    one_line(&out)
}

/// Decides what a threaded message does to the ticket it leads to
/// (`ticket`, read by the caller, with its current category).
pub fn settle(
    inbound: &Inbound,
    thread: &Thread,
    ticket: Option<(&Ticket, Option<Category>)>,
    settings: &MailSettings,
) -> Intake {
    let Some((ticket, category)) = ticket else {
        return Intake::New {
            follow_up_of: None,
            suspect: false,
        };
    };
    if let Thread::Subject(_) = thread
        && !known_sender(ticket, &inbound.from_address)
    {
        return Intake::New {
            follow_up_of: None,
            suspect: true,
        };
    }
    if category == Some(Category::Closed) {
        return match settings.closed_reply {
            super::ClosedReply::FollowUp => Intake::New {
                follow_up_of: Some(ticket.id.clone()),
                suspect: false,
            },
            super::ClosedReply::Reopen => Intake::Reopen(ticket.id.clone()),
            super::ClosedReply::Refuse => Intake::Refused(format!(
                "ticket {} is closed and closed_reply = \"refuse\"",
                ticket.id
            )),
        };
    }
    Intake::Append(ticket.id.clone())
}

/// Tells whether `address` is the ticket's customer, or wrote to it by
/// mail before (a Cc the customer brought in).
pub fn known_sender(ticket: &Ticket, address: &str) -> bool {
    ticket
        .customer
        .email
        .as_deref()
        .is_some_and(|email| email.eq_ignore_ascii_case(address))
        || ticket.events.iter().any(|e| {
            e.kind == EventKind::Message
                && e.role == Role::Customer
                && e.message_id.is_some()
                && e.actor.eq_ignore_ascii_case(address)
        })
}

/// The longest stored file name, in bytes.
const MAX_NAME_BYTES: usize = 200;

/// Makes an attachment's name safe to store: its last path component,
/// without control characters, path separators, leading dots or a name
/// that is empty; a name in `taken` gets `-2`, `-3`, ... before its
/// extension. Names are at most 100 characters.
pub fn safe_name(name: &str, taken: &BTreeSet<String>) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut clean: String = last
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    clean = clean.trim().trim_start_matches('.').trim().to_owned();
    // File systems limit a name to 255 bytes, and the working-tree file is
    // first written under a longer temporary name: 100 characters, at most
    // 200 bytes.
    if clean.chars().count() > 100 || clean.len() > MAX_NAME_BYTES {
        let (stem, ext) = split_extension(&clean);
        let mut cut = String::new();
        for c in stem
            .chars()
            .take(100usize.saturating_sub(ext.chars().count()))
        {
            if cut.len() + c.len_utf8() + ext.len() > MAX_NAME_BYTES {
                break;
            }
            cut.push(c);
        }
        clean = (cut + ext).trim().trim_start_matches('.').trim().to_owned();
    }
    if clean.is_empty() {
        clean = "attachment".to_owned();
    }
    if !taken.contains(&clean) {
        return clean;
    }
    let (stem, ext) = split_extension(&clean);
    (2..)
        .map(|n| format!("{stem}-{n}{ext}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(clean)
}

/// A name's stem and extension: a dot and 1 to 10 letters or digits at
/// its end, else none (`a.b c` has no extension).
fn split_extension(name: &str) -> (&str, &str) {
    match name.rfind('.') {
        Some(at)
            if at > 0
                && (2..=11).contains(&(name.len() - at))
                && name[at + 1..].chars().all(|c| c.is_alphanumeric()) =>
        {
            (&name[..at], &name[at..])
        }
        _ => (name, ""),
    }
}

/// The file a received message is kept in, inside its folder.
pub const RAW_NAME: &str = "message.eml";

/// The folder a received message and its files go to, inside the
/// ticket's directory: `mail-` and the first 12 hex digits of the SHA-1 of
/// the message, so the same name never holds two different files, even
/// when two clones take mail for one ticket before they sync.
pub fn folder_for(raw: &[u8]) -> String {
    use sha1::{Digest, Sha1};
    let digest = Sha1::digest(raw);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("mail-{hex}")
}

/// Names `files` safely inside `folder` (see [`safe_name`]), after the
/// raw message's own name when there is one; returns the stored names
/// (`folder/name`) with their bytes.
pub fn store_files(
    folder: &str,
    raw: Option<&[u8]>,
    files: &[(String, Vec<u8>)],
) -> Vec<(String, Vec<u8>)> {
    let mut taken = BTreeSet::new();
    let mut stored = Vec::new();
    if let Some(raw) = raw {
        taken.insert(RAW_NAME.to_owned());
        stored.push((format!("{folder}/{RAW_NAME}"), raw.to_vec()));
    }
    for (name, bytes) in files {
        let safe = safe_name(name, &taken);
        taken.insert(safe.clone());
        stored.push((format!("{folder}/{safe}"), bytes.clone()));
    }
    stored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names_drop_paths_controls_and_leading_dots() {
        let none = BTreeSet::new();
        assert_eq!(safe_name("../../etc/passwd", &none), "passwd");
        assert_eq!(safe_name("C:\\evil\\x.exe", &none), "x.exe");
        assert_eq!(safe_name(".bashrc", &none), "bashrc");
        assert_eq!(safe_name("a\u{1b}[31mb.txt", &none), "a_[31mb.txt");
        assert_eq!(safe_name("..", &none), "attachment");
        assert_eq!(safe_name("", &none), "attachment");
        let taken: BTreeSet<String> = ["a.pdf".to_owned(), "a-2.pdf".to_owned()].into();
        assert_eq!(safe_name("a.pdf", &taken), "a-3.pdf");
        let long = format!("{}.pdf", "x".repeat(300));
        assert_eq!(safe_name(&long, &none).chars().count(), 100);
        assert!(safe_name(&long, &none).ends_with(".pdf"));
        // 100 characters of three bytes each would be 300 bytes.
        let wide = format!("{}.pdf", "漢".repeat(150));
        let safe = safe_name(&wide, &none);
        assert!(
            safe.len() <= 200 && safe.ends_with(".pdf"),
            "{}",
            safe.len()
        );
        // Found by fuzzing: a long name whose last dot starts no extension.
        let odd = format!("Order 4471 o. {} importes?", "revisar la f".repeat(10));
        let safe = safe_name(&odd, &none);
        assert!(
            !safe.starts_with('.') && safe.starts_with("Order"),
            "{safe}"
        );
        assert!(safe.chars().count() <= 100, "{safe}");
    }

    #[test]
    fn the_last_subject_tag_names_the_ticket() {
        assert_eq!(
            subject_id("Re: Printer [#k3x9p2]").map(|i| i.to_string()),
            Some("k3x9p2".to_owned())
        );
        assert_eq!(subject_id("Re: [#nope!] hi"), None);
        assert_eq!(subject_id("no tag"), None);
    }

    #[test]
    fn a_message_the_parser_panics_on_is_refused() {
        // Found by fuzzing: mail-parser 0.11.9 panics ("Invalid part ID")
        // on this multipart.
        let raw = include_bytes!("../../../tests/fixtures/mail/parser-panic-invalid-part-id.eml");
        let err = parse(raw).unwrap_err();
        assert!(err.contains("malformed"), "{err}");
    }

    #[test]
    fn a_first_line_rating_is_a_rating() {
        assert_eq!(rating("rating: 5\n"), Some((5, None)));
        assert_eq!(
            rating("\nRating: 2\nStill slow.\n\nOn Mon, Bo wrote:\n> x"),
            Some((2, Some("Still slow.".to_owned())))
        );
        assert_eq!(rating("rating: 9"), None);
        assert_eq!(rating("My rating: 5"), None);
        assert_eq!(rating("Thanks!\nrating: 5"), None);
    }

    #[test]
    fn tags_leave_the_subject_of_a_new_ticket() {
        assert_eq!(
            without_tags("Re: Printer [#k3x9p2] on fire"),
            "Re: Printer on fire"
        );
        assert_eq!(without_tags("Price [#1] list"), "Price [#1] list");
    }

    #[test]
    fn parses_sender_threading_headers_and_text() {
        let raw = b"From: \"Bo Berg\" <bo@example.com>\r\nTo: support@example.com\r\n\
Subject: =?UTF-8?Q?Caf=C3=A9?= broken\r\nMessage-ID: <m1@example.com>\r\n\
In-Reply-To: <tix.k3x9p2.1@example.com>\r\nReferences: <a@x> <b@x>\r\n\r\nHello\r\n";
        let mail = parse(raw).unwrap();
        assert_eq!(mail.subject, "Café broken");
        assert_eq!(mail.from_name.as_deref(), Some("Bo Berg"));
        assert_eq!(mail.from_address, "bo@example.com");
        assert_eq!(mail.message_id.as_deref(), Some("<m1@example.com>"));
        assert_eq!(mail.in_reply_to, ["<tix.k3x9p2.1@example.com>"]);
        assert_eq!(mail.references, ["<a@x>", "<b@x>"]);
        assert_eq!(bracket(" <a b\r\n c@x> "), "<abc@x>");
        assert_eq!(mail.body, "Hello\n");
        assert_eq!(mail.automatic, None);
    }

    #[test]
    fn auto_replies_and_bounces_are_automatic() {
        for header in [
            "Auto-Submitted: auto-replied",
            "X-Autoreply: yes",
            "Precedence: bulk",
            "X-Auto-Response-Suppress: All",
            "Return-Path: <>",
        ] {
            let raw = format!("From: a@b.example\r\n{header}\r\nSubject: x\r\n\r\nbody\r\n");
            assert!(
                parse(raw.as_bytes()).unwrap().automatic.is_some(),
                "{header}"
            );
        }
        let raw = "From: a@b.example\r\nAuto-Submitted: no\r\nSubject: x\r\n\r\nbody\r\n";
        assert_eq!(parse(raw.as_bytes()).unwrap().automatic, None);
        let raw = "From: MAILER-DAEMON@mx.example\r\nSubject: x\r\n\r\nbody\r\n";
        assert!(parse(raw.as_bytes()).unwrap().automatic.is_some());
    }

    #[test]
    fn threads_by_parent_then_subject() {
        let mail = Inbound {
            in_reply_to: vec!["<p@x>".into()],
            references: vec!["<old@x>".into(), "<new@x>".into()],
            subject: "Re: [#k3x9p2]".into(),
            ..Inbound::default()
        };
        let id: TicketId = "abcdef".parse().unwrap();
        let mut seen = Vec::new();
        let got = thread(&mail, &mut |m| {
            seen.push(m.to_owned());
            (m == "<old@x>").then(|| id.clone())
        });
        assert_eq!(got, Thread::Parent(id));
        assert_eq!(seen, ["<p@x>", "<new@x>", "<old@x>"]);
        let got = thread(&mail, &mut |_| None);
        assert_eq!(got, Thread::Subject("k3x9p2".parse().unwrap()));
    }
}
