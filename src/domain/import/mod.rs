//! Bringing another helpdesk's tickets in (docs/import.md).
//!
//! Each reader (`zendesk`, `table`) turns its export into [`Record`]s: one
//! ticket of the old helpdesk in a shape of tix's own, with its
//! conversation and its times. This module makes a ticket of a record
//! ([`new_ticket`]) and, on a later import of a newer export, brings a
//! ticket made before up to date ([`refresh`]). Both are pure: the same
//! record gives the same ticket, so importing the same file twice changes
//! nothing.

pub mod table;
pub mod text;
pub mod zendesk;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::domain::change::{check_customer, check_tag};
use crate::model::status::{Category, Statuses};
use crate::model::{
    Customer, Event, EventKind, Priority, Rating, Role, Ticket, TicketId, Timestamp,
};

/// Somebody of the old helpdesk: the requester, an agent, a commenter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Person {
    /// Display name.
    pub name: Option<String>,
    /// Mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
}

impl Person {
    /// The identity recorded as an event's actor: the address, else the
    /// name, else `unknown`.
    pub fn actor(&self) -> String {
        self.email
            .clone()
            .or_else(|| self.name.clone())
            .unwrap_or_else(|| "unknown".to_owned())
    }
}

/// One message of the old conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// When it was written.
    pub at: Timestamp,
    /// Who wrote it.
    pub author: Person,
    /// Customer for the requester's (and other end users') words, agent
    /// for the helpdesk's.
    pub role: Role,
    /// An internal note rather than a public message.
    pub note: bool,
    /// The text.
    pub body: String,
}

/// Where a ticket's status ended in the old helpdesk, as a status of the
/// desk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The status id.
    pub status: String,
    /// Why, for a ticket closed without a solution (`spam`, `deleted`).
    pub reason: Option<String>,
}

impl Outcome {
    /// The outcome of a status of the desk, with no reason.
    pub fn status(status: &str) -> Self {
        Self {
            status: status.to_owned(),
            reason: None,
        }
    }

    /// A ticket closed without a solution, for `reason`.
    pub fn void(reason: &str) -> Self {
        Self {
            status: Category::Closed.default_status().to_owned(),
            reason: Some(reason.to_owned()),
        }
    }
}

/// One ticket of the old helpdesk.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The helpdesk and the id there: `zendesk:4711`.
    pub source: String,
    /// One line.
    pub subject: String,
    /// Where its status ended.
    pub outcome: Outcome,
    /// How urgent.
    pub priority: Priority,
    /// Labels, as the old helpdesk wrote them (made single words here).
    pub tags: Vec<String>,
    /// Who asked.
    pub requester: Person,
    /// The agent who owned it.
    pub assignee: Option<Person>,
    /// The team it belonged to.
    pub department: Option<String>,
    /// Custom fields, by the desk's field names.
    pub fields: BTreeMap<String, toml::Value>,
    /// When it was opened.
    pub created: Timestamp,
    /// When it last changed.
    pub updated: Timestamp,
    /// The conversation, in any order.
    pub messages: Vec<Message>,
    /// The requester's rating (1 to 5) with its words and time.
    pub rating: Option<Rating>,
    /// Where in the export it starts, when known.
    pub at: Option<Position>,
}

impl Record {
    /// Who the commit of the record's ticket is by: the author of its
    /// latest message whose address is known, else the requester.
    pub fn author(&self) -> &Person {
        self.messages
            .iter()
            .filter(|m| m.author.email.is_some())
            .max_by_key(|m| m.at)
            .map_or(&self.requester, |m| &m.author)
    }

    /// The record's last moment: its `updated` time, or a later message.
    pub fn last(&self) -> Timestamp {
        self.messages
            .iter()
            .map(|m| m.at)
            .chain([self.created, self.updated])
            .max()
            .unwrap_or(self.updated)
    }
}

/// Where in a file something is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// Bytes before it.
    pub byte: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} (byte {})", self.line, self.byte)
    }
}

/// A part of the input that does not make a record: a broken file, or a
/// ticket that cannot be read as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bad {
    /// Where it starts (or, for a broken file, where it broke).
    pub at: Position,
    /// The ticket's id in the export, when known.
    pub id: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// Refuses a time a ticket file cannot hold or git cannot date: before
/// 1970 or after 9999.
pub fn plausible(at: Timestamp, text: &str) -> Result<Timestamp, String> {
    use chrono::Datelike;
    if (1970..=9999).contains(&at.as_datetime().year()) {
        Ok(at)
    } else {
        Err(format!("'{text}' is not between 1970 and 9999"))
    }
}

/// Why a record cannot become a ticket.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RecordError(pub String);

/// The actor of the import's own events (none so far carry it but the
/// ticket's creation when nobody is known).
const IMPORTER: &str = "import";

/// Makes the ticket `id` of a record: its header, and an event log with
/// the old helpdesk's times: creation, the messages and notes in time
/// order, the assignment (at the first agent message, else the last
/// change), the final status and the rating at the last change.
pub fn new_ticket(
    id: TicketId,
    record: &Record,
    statuses: &Statuses,
) -> Result<Ticket, RecordError> {
    let mut ticket = Ticket {
        id,
        subject: text::one_line(&record.subject, text::SUBJECT_LIMIT),
        status: None,
        priority: record.priority,
        assignee: None,
        department: None,
        tags: tags(&record.tags)?,
        follow_up_of: None,
        duplicate_of: None,
        related: BTreeSet::new(),
        source: Some(record.source.clone()),
        customer: customer(&record.requester),
        fields: record.fields.clone(),
        rating: None,
        events: Vec::new(),
    };
    if ticket.subject.is_empty() {
        ticket.subject = "(no subject)".to_owned();
    }
    let requester = actor_of(&record.requester);
    let (creator, creator_role) = if ticket.customer.is_empty() {
        (IMPORTER.to_owned(), Role::Agent)
    } else {
        (requester, Role::Customer)
    };
    let mut created = Event::new(record.created, &creator, creator_role, EventKind::Created);
    created.to = Some(Category::New.default_status().to_owned());
    ticket.push(created);
    for message in sorted(&record.messages) {
        ticket.push(message_event(message, record.created));
    }
    let last = record.last();
    if let Some(assignee) = &record.assignee {
        let to = actor_of(assignee);
        let at = record
            .messages
            .iter()
            .filter(|m| m.role == Role::Agent && !m.note)
            .map(|m| m.at)
            .min()
            .unwrap_or(last)
            .max(record.created);
        let mut assign = Event::new(at, &to, Role::Agent, EventKind::Assign);
        assign.to = Some(to.clone());
        // Before the agent's first reply at the same time.
        let before = ticket.events.partition_point(|e| e.at < at);
        ticket.events.insert(before, assign);
        ticket.assignee = Some(to);
    }
    if let Some(department) = record.department.as_deref().map(|d| text::one_line(d, 200)) {
        let mut event = Event::new(
            record.created,
            IMPORTER,
            Role::System,
            EventKind::Department,
        );
        event.to = Some(department.clone());
        insert_in_time(&mut ticket.events, event);
        ticket.department = Some(department);
    }
    settle(&mut ticket, record, statuses, last)?;
    Ok(ticket)
}

/// Brings a ticket made by an earlier import up to date with a newer
/// record of it: messages the ticket lacks are added in time order (a
/// message is the same when its kind, time and text are); when the
/// record is newer than anything on the ticket, a changed subject,
/// priority, assignee, department, tags, fields, status and rating are
/// recorded as events at the record's last change. What the desk did
/// since (a reply, a status change) is kept: an older export never undoes
/// it. `None` when nothing changes.
pub fn refresh(
    existing: &Ticket,
    record: &Record,
    statuses: &Statuses,
) -> Result<Option<Ticket>, RecordError> {
    let fresh = new_ticket(existing.id.clone(), record, statuses)?;
    Ok(refresh_from(existing, &fresh, record, statuses))
}

/// [`refresh`] with the ticket the record makes (`fresh`, the existing
/// ticket's id) made already.
pub fn refresh_from(
    existing: &Ticket,
    fresh: &Ticket,
    record: &Record,
    statuses: &Statuses,
) -> Option<Ticket> {
    let mut ticket = existing.clone();
    let before = existing.summary(statuses);
    let mut changed = false;
    for event in &fresh.events {
        let is_message = matches!(event.kind, EventKind::Message | EventKind::Note);
        if is_message && !ticket.events.iter().any(|e| same_message(e, event)) {
            insert_in_time(&mut ticket.events, event.clone());
            changed = true;
        }
    }
    let last = record.last();
    if before.updated.is_none_or(|updated| last > updated) {
        changed |= update_header(&mut ticket, fresh, last);
        let now = ticket.summary(statuses);
        let target = fresh.summary(statuses);
        if now.status != target.status {
            let outcome = Outcome {
                status: target.status,
                reason: record.outcome.reason.clone(),
            };
            let events = status_events(&now.status, now.category, &outcome, statuses, last);
            ticket.events.extend(events);
            changed = true;
        }
        if fresh.rating.is_some() && fresh.rating != ticket.rating {
            let csat = fresh
                .events
                .iter()
                .rev()
                .find(|e| e.kind == EventKind::Csat);
            if let Some(csat) = csat {
                insert_in_time(&mut ticket.events, csat.clone());
            }
            ticket.rating = fresh.rating.clone();
            changed = true;
        }
    }
    changed.then_some(ticket)
}

/// Records the header values of `fresh` that differ on `ticket` as
/// events at `at`; tells whether any did.
fn update_header(ticket: &mut Ticket, fresh: &Ticket, at: Timestamp) -> bool {
    let mut events = Vec::new();
    let mut change =
        |kind: EventKind, field: Option<&str>, from: Option<String>, to: Option<String>| {
            let mut event = Event::new(at, IMPORTER, Role::System, kind);
            event.field = field.map(str::to_owned);
            event.from = from;
            event.to = to;
            events.push(event);
        };
    if ticket.subject != fresh.subject {
        change(
            EventKind::Subject,
            None,
            Some(ticket.subject.clone()),
            Some(fresh.subject.clone()),
        );
        ticket.subject.clone_from(&fresh.subject);
    }
    if ticket.priority != fresh.priority {
        let (from, to) = (ticket.priority.to_string(), fresh.priority.to_string());
        change(EventKind::Priority, None, Some(from), Some(to));
        ticket.priority = fresh.priority;
    }
    if ticket.assignee != fresh.assignee {
        change(
            EventKind::Assign,
            None,
            ticket.assignee.clone(),
            fresh.assignee.clone(),
        );
        ticket.assignee.clone_from(&fresh.assignee);
    }
    if ticket.department != fresh.department {
        let (from, to) = (ticket.department.clone(), fresh.department.clone());
        change(EventKind::Department, None, from, to);
        ticket.department.clone_from(&fresh.department);
    }
    for tag in fresh.tags.difference(&ticket.tags) {
        change(EventKind::Tag, None, None, Some(tag.clone()));
    }
    for tag in ticket.tags.difference(&fresh.tags) {
        change(EventKind::Tag, None, Some(tag.clone()), None);
    }
    ticket.tags.clone_from(&fresh.tags);
    let names: BTreeSet<&String> = ticket.fields.keys().chain(fresh.fields.keys()).collect();
    for name in names {
        let (old, new) = (ticket.fields.get(name), fresh.fields.get(name));
        if old != new {
            let show = |v: Option<&toml::Value>| v.map(crate::domain::change::field_text);
            change(EventKind::Field, Some(name), show(old), show(new));
        }
    }
    ticket.fields.clone_from(&fresh.fields);
    let changed = !events.is_empty();
    ticket.events.extend(events);
    changed
}

/// Ends the log with the record's outcome and rating at `last`: the
/// status (through `resolved` for a ticket closed with a solution, as
/// every closed ticket of the old helpdesks was solved first), then the
/// rating.
fn settle(
    ticket: &mut Ticket,
    record: &Record,
    statuses: &Statuses,
    last: Timestamp,
) -> Result<(), RecordError> {
    let status = desk_status(&record.outcome.status, statuses)?;
    let outcome = Outcome {
        status,
        reason: record.outcome.reason.clone(),
    };
    let new = Category::New.default_status();
    ticket.events.extend(status_events(
        new,
        Some(Category::New),
        &outcome,
        statuses,
        last,
    ));
    if let Some(rating) = &record.rating {
        if !(1..=5).contains(&rating.score) {
            return Err(RecordError(format!(
                "a rating of {} is not between 1 and 5",
                rating.score
            )));
        }
        let rating = Rating {
            score: rating.score,
            comment: rating
                .comment
                .as_deref()
                .map(text::body)
                .filter(|c| !c.is_empty()),
            at: rating.at.max(record.created),
        };
        let mut event = Event::new(
            rating.at,
            &actor_of(&record.requester),
            Role::Customer,
            EventKind::Csat,
        );
        event.to = Some(rating.score.to_string());
        event.body.clone_from(&rating.comment);
        insert_in_time(&mut ticket.events, event);
        ticket.rating = Some(rating);
    }
    Ok(())
}

/// The status of the desk a record's status names: the same id, else one
/// that differs only in case and in writing ` `, `-` or `_` between words
/// (`Waiting on vendor` is `waiting-on-vendor`).
fn desk_status(given: &str, statuses: &Statuses) -> Result<String, RecordError> {
    if statuses.category(given).is_some() {
        return Ok(given.to_owned());
    }
    let fold = |s: &str| -> String {
        s.trim()
            .chars()
            .map(|c| if matches!(c, ' ' | '-') { '_' } else { c })
            .flat_map(char::to_lowercase)
            .collect()
    };
    let wanted = fold(given);
    statuses
        .iter()
        .map(|def| def.id.as_str())
        .find(|id| fold(id) == wanted)
        .map(str::to_owned)
        .ok_or_else(|| RecordError(format!("the status '{given}' is not one of the desk's")))
}

/// The status events at `at` that move a ticket from `from` (of
/// `category`) to the outcome: through the default solved status when it
/// closes with a solution (a ticket closes once solved), with the
/// outcome's reason on the last.
fn status_events(
    from: &str,
    category: Option<Category>,
    outcome: &Outcome,
    statuses: &Statuses,
    at: Timestamp,
) -> Vec<Event> {
    let mut path = Vec::new();
    let closing = statuses.category(&outcome.status) == Some(Category::Closed);
    if closing && outcome.reason.is_none() && category != Some(Category::Solved) {
        path.push(Category::Solved.default_status().to_owned());
    }
    path.push(outcome.status.clone());
    let mut from = from.to_owned();
    let mut events = Vec::new();
    for to in path {
        if to == from {
            continue;
        }
        let mut event = Event::new(at, IMPORTER, Role::System, EventKind::Status);
        event.from = Some(from);
        event.to = Some(to.clone());
        if to == outcome.status {
            event.reason.clone_from(&outcome.reason);
        }
        events.push(event);
        from = to;
    }
    events
}

/// The tags of a record as tix tags: trimmed, inner spaces and commas as
/// hyphens, empty ones dropped.
fn tags(tags: &[String]) -> Result<BTreeSet<String>, RecordError> {
    let mut out = BTreeSet::new();
    for tag in tags {
        let word: String = text::one_line(tag, 100)
            .chars()
            .map(|c| {
                if c.is_whitespace() || c == ',' {
                    '-'
                } else {
                    c
                }
            })
            .collect();
        if word.is_empty() {
            continue;
        }
        out.insert(check_tag(&word).map_err(|e| RecordError(e.to_string()))?);
    }
    Ok(out)
}

/// The requester as the ticket's customer. An address that is not one
/// (`n/a`, a typo) is kept as the name when there is none, else dropped:
/// the ticket still comes in.
fn customer(person: &Person) -> Customer {
    let line = |v: &Option<String>| {
        v.as_deref()
            .map(|v| text::one_line(v, 200))
            .filter(|v| !v.is_empty())
    };
    let mut customer = Customer {
        name: line(&person.name),
        email: line(&person.email),
        phone: line(&person.phone),
    };
    if check_customer(&customer).is_err() {
        let email = customer.email.take();
        if customer.name.is_none() {
            customer.name = email;
        }
    }
    check_customer(&customer).unwrap_or_default()
}

/// A person's actor string, one line.
fn actor_of(person: &Person) -> String {
    text::one_line(&person.actor(), 200)
}

/// The messages in time order (stable: equal times keep the export's
/// order).
fn sorted(messages: &[Message]) -> Vec<&Message> {
    let mut sorted: Vec<&Message> = messages.iter().collect();
    sorted.sort_by_key(|m| m.at);
    sorted
}

/// The event of a message, no earlier than the ticket's creation.
fn message_event(message: &Message, created: Timestamp) -> Event {
    let (kind, role) = if message.note {
        (EventKind::Note, Role::Agent)
    } else {
        (EventKind::Message, message.role)
    };
    let mut event = Event::new(
        message.at.max(created),
        &actor_of(&message.author),
        role,
        kind,
    );
    event.body = Some(text::body(&message.body));
    event
}

/// Tells whether two events are the same message or note: the same kind,
/// time and text. Not the author: an export without its users side-load
/// names the same person differently.
fn same_message(a: &Event, b: &Event) -> bool {
    a.kind == b.kind && a.at == b.at && a.body == b.body
}

/// Inserts an event after every event at or before its time.
fn insert_in_time(events: &mut Vec<Event>, event: Event) {
    let at = events.partition_point(|e| e.at <= event.at);
    events.insert(at, event);
}

/// The id of a record's ticket: drawn from a generator seeded with its
/// source, so every clone importing the same export makes the same ids;
/// the next draw when `taken` says an id is in use.
pub fn ticket_id(source: &str, taken: &dyn Fn(&TicketId) -> bool) -> TicketId {
    use sha1::Digest;
    let digest = sha1::Sha1::digest(source.as_bytes());
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    let mut rng = fastrand::Rng::with_seed(u64::from_le_bytes(seed));
    loop {
        let id = TicketId::random(&mut rng);
        if !taken(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests;
