//! The mail channel's rules (docs/mail.md): what a received message is
//! (parsed into an [`inbound::Inbound`]) and what becomes of it, and what
//! an outgoing reply looks like and when it is due again. Pure: the bytes
//! come in, decisions and messages go out; the desk does the reading,
//! writing and sending.

pub mod inbound;
pub mod outbound;
pub mod template;

/// The `[mail]` and `[[mailbox]]` sections of `tix.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailSettings {
    /// The desk's own address: the From of outgoing mail, never ingested.
    pub address: Option<String>,
    /// The display name of outgoing mail.
    pub name: Option<String>,
    /// How outgoing mail leaves.
    pub transport: Transport,
    /// What a mail to a closed ticket does.
    pub closed_reply: ClosedReply,
    /// The largest message ingested, in bytes.
    pub max_size: u64,
    /// The notice templates, by occasion.
    pub notify: Notify,
    /// More addresses of the desk, each routed to a department.
    pub mailboxes: Vec<Mailbox>,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            address: None,
            name: None,
            transport: Transport::None,
            closed_reply: ClosedReply::FollowUp,
            max_size: DEFAULT_MAX_SIZE_MB * 1024 * 1024,
            notify: Notify::default(),
            mailboxes: Vec::new(),
        }
    }
}

/// The default size limit of an ingested message, in MiB.
pub const DEFAULT_MAX_SIZE_MB: u64 = 25;

impl MailSettings {
    /// Tells whether `address` is one of the desk's own (`[mail] address`
    /// or a mailbox), compared without case.
    pub fn is_own(&self, address: &str) -> bool {
        self.address
            .iter()
            .chain(self.mailboxes.iter().map(|m| &m.address))
            .any(|own| own.eq_ignore_ascii_case(address))
    }

    /// The mailbox a message was addressed to, among `recipients`.
    pub fn mailbox_for<'a>(&'a self, recipients: &[String]) -> Option<&'a Mailbox> {
        recipients.iter().find_map(|to| {
            self.mailboxes
                .iter()
                .find(|m| m.address.eq_ignore_ascii_case(to))
        })
    }

    /// The domain of outgoing Message-IDs: that of the desk's address.
    pub fn domain(&self) -> &str {
        self.address
            .as_deref()
            .and_then(|a| a.rsplit_once('@'))
            .map_or("tix.invalid", |(_, domain)| domain)
    }

    /// Tells whether replies go out by mail at all.
    pub fn sends(&self) -> bool {
        self.transport != Transport::None && self.address.is_some()
    }
}

/// How outgoing mail leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Not at all (the default): replies are recorded, not mailed.
    None,
    /// A command that takes the whole message on stdin and reads the
    /// recipients from its headers (`/usr/sbin/sendmail -t -i`).
    Sendmail(String),
    /// An SMTP server.
    Smtp(Smtp),
}

/// An SMTP server to hand mail to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smtp {
    /// Host name.
    pub host: String,
    /// Port; by default 587 for STARTTLS, 465 for TLS, 25 for none.
    pub port: u16,
    /// How the connection is secured.
    pub security: Security,
    /// Login name, when the server wants one.
    pub user: Option<String>,
    /// The environment variable holding the password (never in tix.toml).
    pub password_env: Option<String>,
}

/// How an SMTP connection is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the start (SMTPS).
    Tls,
    /// No encryption: only for a relay on the same host.
    None,
}

impl Security {
    /// The usual port.
    pub fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }
}

/// What a customer's mail to a closed ticket does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClosedReply {
    /// A new ticket, linked as a follow-up of the closed one.
    FollowUp,
    /// The closed ticket opens again.
    Reopen,
    /// Nothing is written; the message is reported refused.
    Refuse,
}

/// Which template each notice uses; `None` sends no notice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Notify {
    /// Acknowledges a ticket made from a mail.
    pub created: Option<String>,
    /// Tells the customer the ticket was resolved (and asks for a rating).
    pub resolved: Option<String>,
    /// Tells the customer the ticket was closed.
    pub closed: Option<String>,
}

/// A further address of the desk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// The address.
    pub address: String,
    /// The department its mail goes to.
    pub department: String,
}

/// Tells whether `text` is a bare mail address (`name@domain`, RFC 5322's
/// addr-spec without display name or domain literal), which can never
/// carry a line of a mail header.
pub fn is_address(text: &str) -> bool {
    email_address::EmailAddress::parse_with_options(
        text,
        email_address::Options::default()
            .without_display_text()
            .without_domain_literal(),
    )
    .is_ok()
}
