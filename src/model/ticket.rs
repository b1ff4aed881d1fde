//! The ticket file: header fields, customer, custom fields and the event log.
//!
//! The event log (docs/ticket-format.md, "The event log") is the record of everything that happened;
//! the status, timestamps, reopen count and conversation are derived from it
//! by [`Ticket::summary`]. The header holds the current values of fields a
//! person may edit by hand (subject, priority, assignee, tags, ...).
//! Serialisation follows struct order, so files have a stable key order and
//! `git diff` shows only what changed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::status::{Category, Statuses, is_reopen};
use super::{TicketId, Timestamp};

/// How urgent a ticket is.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

impl Priority {
    /// Every priority, lowest first.
    pub const ALL: [Self; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    /// Returns the name used in files and flags.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| format!("unknown priority '{text}': use low, normal, high or urgent"))
    }
}

/// Who the ticket is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customer {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Phone number or other contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

impl Customer {
    /// Tells whether nothing is known about the customer.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.email.is_none() && self.phone.is_none()
    }

    /// Returns the identity recorded as the actor of the customer's events.
    pub fn actor(&self) -> String {
        self.email
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| "customer".to_owned())
    }
}

/// A satisfaction rating given after resolve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// 1 to 5.
    pub score: u8,
    /// Optional words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When it was given.
    pub at: Timestamp,
}

/// Who caused an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The requester.
    Customer,
    /// A support agent.
    Agent,
    /// tix itself (automation).
    System,
}

/// What an event records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The ticket was created; `to` is its first status.
    Created,
    /// A public message (`body`).
    Message,
    /// An internal note (`body`).
    Note,
    /// A status change `from` → `to`, with `reason` and `until`.
    Status,
    /// The assignee changed `from` → `to`.
    Assign,
    /// The department changed `from` → `to`.
    Department,
    /// The priority changed `from` → `to`.
    Priority,
    /// A tag was added (`to`) or removed (`from`).
    Tag,
    /// The subject changed `from` → `to`.
    Subject,
    /// Custom field `field` changed `from` → `to`.
    Field,
    /// Customer detail `field` changed `from` → `to`.
    Customer,
    /// An SLA record (`field` = metric, `to` = what happened).
    Sla,
    /// A satisfaction rating (`to` = score, `body` = comment).
    Csat,
    /// A link to another ticket (`field` = kind, `to` = id).
    Link,
    /// Another ticket was merged into this one.
    Merge,
    /// What became of an outgoing mail (`message_id` names it; `to` is
    /// `sent` or `failed`, `reason` says why it failed).
    Mail,
}

/// One entry of the event log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// When it happened (UTC, whole seconds).
    pub at: Timestamp,
    /// Who did it: an agent or customer address, or the automation identity.
    pub actor: String,
    /// The actor's role.
    pub role: Role,
    /// What happened.
    pub kind: EventKind,
    /// Old value, for changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// New value, for changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Which field, for field, customer, link and SLA events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For a move to on hold: when the ticket wakes up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Why (e.g. the reason of a forced close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The automation rule that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Mail Message-ID of a message, for threading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// For an agent's message that goes out by mail: the address it is
    /// sent to (the mail waits in the outbox until a `mail` event says it
    /// was sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// Files that came with the message, stored next to the ticket file
    /// (names inside the ticket's attachment directory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
    /// For a message that came in by mail: the original message as
    /// received, stored next to the ticket file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// Message or note text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

impl Event {
    /// Starts an event with no values; fill in the ones that apply.
    pub fn new(at: Timestamp, actor: &str, role: Role, kind: EventKind) -> Self {
        Self {
            at,
            actor: actor.to_owned(),
            role,
            kind,
            from: None,
            to: None,
            field: None,
            until: None,
            reason: None,
            rule: None,
            message_id: None,
            recipient: None,
            attachments: Vec::new(),
            raw: None,
            body: None,
        }
    }

    /// Tells whether this is a reply event: a public agent message not sent
    /// by an automation rule (docs/ticket-format.md).
    pub fn is_reply(&self) -> bool {
        self.kind == EventKind::Message && self.role == Role::Agent && self.rule.is_none()
    }

    /// Tells whether this event sets the status (`created` or `status`).
    pub fn sets_status(&self) -> bool {
        matches!(self.kind, EventKind::Created | EventKind::Status) && self.to.is_some()
    }
}

/// A ticket as stored in `tickets/<ab>/<id>.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ticket {
    /// The ticket's id; must match the file name.
    pub id: TicketId,
    /// One line saying what it is about.
    pub subject: String,
    /// Derived from the event log and written for people and `grep`;
    /// ignored when reading (`tix doctor` reports a mismatch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// How urgent.
    #[serde(default)]
    pub priority: Priority,
    /// The agent who owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The team it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Labels, kept sorted.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub tags: BTreeSet<String>,
    /// The ticket this one follows up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_of: Option<TicketId>,
    /// The ticket this one duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<TicketId>,
    /// Related tickets.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub related: BTreeSet<TicketId>,
    /// Where an imported ticket came from: the old helpdesk and its id
    /// there (`zendesk:4711`), so a later import finds it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Who the ticket is for.
    #[serde(default, skip_serializing_if = "Customer::is_empty")]
    pub customer: Customer,
    /// Custom fields of the desk's ticket form.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, toml::Value>,
    /// The customer's satisfaction rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// Everything that happened, oldest first.
    #[serde(default, rename = "event")]
    pub events: Vec<Event>,
}

/// A ticket file that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    /// What is wrong, with the line and column.
    pub message: String,
    /// The 1-based line of the problem, when known.
    pub line: Option<usize>,
}

const FILE_HEADER: &str =
    "# tix ticket: the [[event]] log is the history; see docs/ticket-format.md\n";

impl Ticket {
    /// Parses a ticket file.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        toml::from_str(text).map_err(|err| {
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].lines().count().max(1));
            let message = err.message().trim().to_owned();
            ParseError { message, line }
        })
    }

    /// Writes the ticket file, refreshing the derived `status` line.
    pub fn to_toml(&self, statuses: &Statuses) -> String {
        let mut ticket = self.clone();
        ticket.status = Some(self.summary(statuses).status);
        let body = toml::to_string(&ticket)
            // A ticket is plain data (strings, tables, datetimes) that the
            // TOML serializer always accepts.
            .expect("a ticket always serialises to TOML");
        format!("{FILE_HEADER}{body}")
    }

    /// Returns the state derived from the event log.
    pub fn summary(&self, statuses: &Statuses) -> Summary {
        Summary::of(self, statuses)
    }

    /// Appends an event.
    pub fn push(&mut self, event: Event) {
        self.events.push(event);
    }
}

/// What the event log says about a ticket right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The current status id.
    pub status: String,
    /// Its category; `None` when the status is unknown to the desk.
    pub category: Option<Category>,
    /// When the ticket was created.
    pub created: Option<Timestamp>,
    /// When anything last happened.
    pub updated: Option<Timestamp>,
    /// The first agent reply.
    pub first_reply: Option<Timestamp>,
    /// The last customer message.
    pub last_customer: Option<Timestamp>,
    /// The last agent action of any kind.
    pub last_agent: Option<Timestamp>,
    /// The last move into the current status.
    pub status_changed: Option<Timestamp>,
    /// For an on-hold ticket: when it wakes up.
    pub postponed_until: Option<Timestamp>,
    /// How often the ticket came back from solved or closed.
    pub reopens: u32,
    /// Number of agent replies.
    pub replies: u32,
}

impl Summary {
    fn of(ticket: &Ticket, statuses: &Statuses) -> Self {
        let mut summary = Self {
            status: Category::New.default_status().to_owned(),
            category: Some(Category::New),
            created: ticket.events.first().map(|e| e.at),
            // What became of a mail is not activity on the ticket (a mail
            // tried every few hours must not keep it fresh).
            updated: ticket
                .events
                .iter()
                .rev()
                .find(|e| e.kind != EventKind::Mail)
                .map(|e| e.at),
            first_reply: None,
            last_customer: None,
            last_agent: None,
            status_changed: ticket.events.first().map(|e| e.at),
            postponed_until: None,
            reopens: 0,
            replies: 0,
        };
        for event in &ticket.events {
            if event.kind == EventKind::Created {
                summary.created = Some(event.at);
            }
            if event.is_reply() {
                summary.first_reply.get_or_insert(event.at);
                summary.replies += 1;
            }
            if event.kind == EventKind::Message && event.role == Role::Customer {
                summary.last_customer = Some(event.at);
            }
            if event.role == Role::Agent {
                summary.last_agent = Some(event.at);
            }
            if event.sets_status() {
                let to = event.to.clone().unwrap_or_default();
                let to_category = statuses.category(&to);
                if let (Some(from), Some(to)) = (summary.category, to_category)
                    && event.kind == EventKind::Status
                    && is_reopen(from, to)
                {
                    summary.reopens += 1;
                }
                summary.postponed_until = event.until;
                summary.status = to;
                summary.category = to_category;
                summary.status_changed = Some(event.at);
            }
        }
        if summary.category != Some(Category::OnHold) {
            summary.postponed_until = None;
        }
        summary
    }

    /// Tells whether the ticket waits in the queue for someone: no
    /// assignee and category new or open (docs/lifecycle.md).
    pub fn is_pending(&self, ticket: &Ticket) -> bool {
        ticket.assignee.is_none() && matches!(self.category, Some(Category::New | Category::Open))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn sample() -> Ticket {
        let mut ticket = Ticket {
            id: "k3x9p2".parse().unwrap(),
            subject: "Printer on fire".into(),
            status: None,
            priority: Priority::High,
            assignee: None,
            department: None,
            tags: ["printer".to_owned()].into(),
            follow_up_of: None,
            duplicate_of: None,
            related: BTreeSet::new(),
            source: None,
            customer: Customer {
                name: Some("Bo".into()),
                email: Some("bo@ex.com".into()),
                phone: None,
            },
            fields: BTreeMap::new(),
            rating: None,
            events: vec![],
        };
        let mut created = Event::new(
            at("2025-03-03T09:00:00Z"),
            "ana@desk",
            Role::Agent,
            EventKind::Created,
        );
        created.to = Some("new".into());
        ticket.push(created);
        let mut msg = Event::new(
            at("2025-03-03T09:00:00Z"),
            "bo@ex.com",
            Role::Customer,
            EventKind::Message,
        );
        msg.body = Some("It smokes.\nHelp!\n".into());
        ticket.push(msg);
        ticket
    }

    fn status(at_text: &str, from: &str, to: &str) -> Event {
        let mut event = Event::new(at(at_text), "ana@desk", Role::Agent, EventKind::Status);
        event.from = Some(from.into());
        event.to = Some(to.into());
        event
    }

    #[test]
    fn summary_follows_the_event_log() {
        let statuses = Statuses::builtin();
        let mut ticket = sample();
        let mut reply = Event::new(
            at("2025-03-03T10:00:00Z"),
            "ana@desk",
            Role::Agent,
            EventKind::Message,
        );
        reply.body = Some("Unplug it.".into());
        ticket.push(reply);
        ticket.push(status("2025-03-03T10:00:00Z", "new", "answered"));
        ticket.push(status("2025-03-03T11:00:00Z", "answered", "resolved"));
        ticket.push(status("2025-03-04T11:00:00Z", "resolved", "open"));
        let summary = ticket.summary(&statuses);
        assert_eq!(summary.status, "open");
        assert_eq!(summary.category, Some(Category::Open));
        assert_eq!(summary.reopens, 1);
        assert_eq!(summary.first_reply, Some(at("2025-03-03T10:00:00Z")));
        assert_eq!(summary.replies, 1);
        assert_eq!(summary.updated, Some(at("2025-03-04T11:00:00Z")));
        assert!(summary.is_pending(&ticket));
    }

    #[test]
    fn file_round_trips_and_writes_the_derived_status() {
        let statuses = Statuses::builtin();
        let ticket = sample();
        let text = ticket.to_toml(&statuses);
        assert!(text.contains("status = \"new\""), "{text}");
        assert!(
            text.contains("body = \"\"\"\nIt smokes.\nHelp!\n\"\"\""),
            "{text}"
        );
        let back = Ticket::parse(&text).unwrap();
        assert_eq!(back.to_toml(&statuses), text);
    }

    #[test]
    fn parse_errors_carry_the_line() {
        let err =
            Ticket::parse("id = \"k3x9p2\"\nsubject = \"x\"\npriority = \"meh\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.contains("meh") || err.message.contains("variant"),
            "{}",
            err.message
        );
    }

    mod round_trip {
        use proptest::collection::{btree_map, btree_set, vec};
        use proptest::option;
        use proptest::prelude::*;

        use super::super::*;
        use crate::model::ALPHABET;

        fn text() -> impl Strategy<Value = String> {
            // Any Unicode, with extra weight on what TOML must escape.
            prop_oneof![
                any::<String>(),
                "[a-z \n\r\t\"'\\\\]{0,40}",
                Just("\"\"\"".to_owned()),
                Just("'''\n".to_owned()),
                Just("ends with quote\"".to_owned()),
            ]
        }

        fn id() -> impl Strategy<Value = TicketId> {
            vec(0..ALPHABET.len(), 6).prop_map(|ix| {
                ix.into_iter()
                    .map(|i| ALPHABET[i] as char)
                    .collect::<String>()
                    .parse()
                    .unwrap()
            })
        }

        fn timestamp() -> impl Strategy<Value = Timestamp> {
            (0i64..4_000_000_000).prop_map(|s| Timestamp::from_unix(s).unwrap())
        }

        fn event() -> impl Strategy<Value = Event> {
            let kinds = prop_oneof![
                Just(EventKind::Created),
                Just(EventKind::Message),
                Just(EventKind::Note),
                Just(EventKind::Status),
                Just(EventKind::Assign),
                Just(EventKind::Tag),
                Just(EventKind::Field),
                Just(EventKind::Sla),
                Just(EventKind::Mail),
            ];
            let roles = prop_oneof![Just(Role::Customer), Just(Role::Agent), Just(Role::System)];
            (
                (timestamp(), text(), roles, kinds),
                (
                    option::of(text()),
                    option::of(text()),
                    option::of(text()),
                    option::of(timestamp()),
                ),
                (
                    option::of(text()),
                    option::of(text()),
                    option::of(text()),
                    option::of(text()),
                ),
                (
                    option::of(text()),
                    proptest::collection::vec(text(), 0..3),
                    option::of(text()),
                ),
            )
                .prop_map(
                    |(
                        (at, actor, role, kind),
                        (from, to, field, until),
                        (reason, rule, message_id, body),
                        (recipient, attachments, raw),
                    )| {
                        Event {
                            at,
                            actor,
                            role,
                            kind,
                            from,
                            to,
                            field,
                            until,
                            reason,
                            rule,
                            message_id,
                            recipient,
                            attachments,
                            raw,
                            body,
                        }
                    },
                )
        }

        fn field_value() -> impl Strategy<Value = toml::Value> {
            prop_oneof![
                text().prop_map(toml::Value::String),
                any::<i64>().prop_map(toml::Value::Integer),
                any::<bool>().prop_map(toml::Value::Boolean),
                (-1e12f64..1e12).prop_map(toml::Value::Float),
            ]
        }

        fn ticket() -> impl Strategy<Value = Ticket> {
            let priority = prop_oneof![
                Just(Priority::Low),
                Just(Priority::Normal),
                Just(Priority::High),
                Just(Priority::Urgent)
            ];
            (
                (
                    id(),
                    text(),
                    priority,
                    option::of(text()),
                    option::of(text()),
                ),
                (
                    btree_set(text(), 0..4),
                    option::of(id()),
                    btree_set(id(), 0..3),
                    option::of(text()),
                ),
                (option::of(text()), option::of(text()), option::of(text())),
                btree_map("[a-z_]{1,12}", field_value(), 0..4),
                option::of((1u8..=5, option::of(text()), timestamp())),
                vec(event(), 0..8),
            )
                .prop_map(|(head, links, customer, fields, rating, events)| {
                    let (id, subject, priority, assignee, department) = head;
                    let (tags, follow_up_of, related, source) = links;
                    Ticket {
                        id,
                        subject,
                        status: None,
                        priority,
                        assignee,
                        department,
                        tags,
                        follow_up_of,
                        duplicate_of: None,
                        related,
                        source,
                        customer: Customer {
                            name: customer.0,
                            email: customer.1,
                            phone: customer.2,
                        },
                        fields,
                        rating: rating.map(|(score, comment, at)| Rating { score, comment, at }),
                        events,
                    }
                })
        }

        /// The full parse with every body emptied.
        fn without_bodies(text: &str) -> Option<Ticket> {
            let mut ticket = Ticket::parse(text).ok()?;
            for body in ticket.events.iter_mut().filter_map(|e| e.body.as_mut()) {
                body.clear();
            }
            Some(ticket)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Parse after write gives back the same ticket, and writing again
            /// gives the same bytes (so a rewrite never shows a spurious diff).
            #[test]
            fn write_then_parse_is_lossless(ticket in ticket()) {
                let statuses = Statuses::builtin();
                let text = ticket.to_toml(&statuses);
                let back = Ticket::parse(&text).unwrap();
                let mut expected = ticket.clone();
                expected.status = Some(ticket.summary(&statuses).status);
                prop_assert_eq!(&back, &expected);
                prop_assert_eq!(back.to_toml(&statuses), text);
            }

            /// The quick reader of listings reads what tix writes and gets
            /// what the full parse gets, bodies aside; read whole, bodies too.
            #[test]
            fn quick_read_matches_the_full_parse(ticket in ticket()) {
                let text = ticket.to_toml(&Statuses::builtin());
                let quick = crate::model::scan::without_bodies(&text);
                let floats = ticket.fields.values().any(|v| v.is_float());
                prop_assert!(quick.is_some() || floats, "{}", text);
                if let Some(quick) = quick {
                    prop_assert_eq!(Some(quick), without_bodies(&text));
                }
                let whole = crate::model::scan::whole(&text);
                prop_assert!(whole.is_some() || floats, "{}", text);
                if let Some(whole) = whole {
                    prop_assert_eq!(Some(whole), Ticket::parse(&text).ok());
                }
            }

            /// After any edit, the quick reader (with or without bodies)
            /// either leaves the file to the full parse or agrees with it: it
            /// never accepts a file the full parse refuses.
            #[test]
            fn quick_read_never_accepts_more_than_the_full_parse(
                ticket in ticket(),
                at in 0.0f64..1.0,
                cut in 0usize..4,
                insert in prop_oneof![
                    Just(""), Just("\""), Just("'"), Just("\\"), Just("\n"), Just("\"\"\""),
                    Just("'''"), Just("#"), Just(" "), Just(" = "), Just("["), Just("]"),
                    Just("\r"), Just("\u{0}"), Just("x"), Just("1"), Just("."), Just(","),
                    Just("[[event]]\n"), Just("\n[rating]\n"), Just("\nscore = 1\n"),
                    Just("\nbody = \"\"\n"), Just("\\u00e9"), Just("\\x41"), Just("Z"),
                ],
            ) {
                let text = ticket.to_toml(&Statuses::builtin());
                let start = text.floor_char_boundary((at * text.len() as f64) as usize);
                let end = text.floor_char_boundary((start + cut).min(text.len()));
                let edited = format!("{}{insert}{}", &text[..start], &text[end..]);
                if let Some(quick) = crate::model::scan::without_bodies(&edited) {
                    prop_assert_eq!(Some(quick), without_bodies(&edited), "{}", edited);
                }
                if let Some(whole) = crate::model::scan::whole(&edited) {
                    prop_assert_eq!(Some(whole), Ticket::parse(&edited).ok(), "{}", edited);
                }
            }
        }
    }
}
