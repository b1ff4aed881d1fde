//! The JSON shape of a ticket (docs/json-schema.md), used by `--format json` and hooks.
//!
//! These structs are a stable contract for scripts: keys are only ever
//! added. docs/json-schema.md documents every key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::lifecycle::Statuses;
use crate::domain::link;
use crate::domain::sla::{Instance, SlaState, Status};
use crate::model::{Event, EventKind, Role, Ticket, TicketId};

/// A ticket as scripts see it.
#[derive(Clone, Debug, Serialize)]
pub struct TicketView {
    /// The ticket id.
    pub id: String,
    /// One-line subject.
    pub subject: String,
    /// Current status id.
    pub status: String,
    /// The status's category (`null` if the status is unknown).
    pub category: Option<String>,
    /// low, normal, high or urgent.
    pub priority: String,
    /// Owning agent.
    pub assignee: Option<String>,
    /// Owning department.
    pub department: Option<String>,
    /// Sorted tags.
    pub tags: Vec<String>,
    /// Who the ticket is for.
    pub customer: CustomerView,
    /// Custom fields.
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Creation time.
    pub created: Option<String>,
    /// Time of the last event.
    pub updated: Option<String>,
    /// Time of the first agent reply.
    pub first_reply: Option<String>,
    /// For postponed tickets: when they wake up.
    pub postponed_until: Option<String>,
    /// How often the ticket was reopened.
    pub reopens: u32,
    /// Satisfaction rating.
    pub rating: Option<RatingView>,
    /// Links to other tickets.
    pub links: LinksView,
    /// For an imported ticket: the helpdesk and id it came from
    /// (`zendesk:4711`).
    pub source: Option<String>,
    /// The conversation: public messages, notes and system messages.
    pub messages: Vec<MessageView>,
    /// Status changes, oldest first (creation included).
    pub history: Vec<HistoryView>,
}

/// Customer contact details.
#[derive(Clone, Debug, Serialize)]
pub struct CustomerView {
    /// Name.
    pub name: Option<String>,
    /// Mail address.
    pub email: Option<String>,
    /// Phone or other contact.
    pub phone: Option<String>,
}

/// A satisfaction rating.
#[derive(Clone, Debug, Serialize)]
pub struct RatingView {
    /// 1 to 5.
    pub score: u8,
    /// Optional comment.
    pub comment: Option<String>,
    /// When given.
    pub at: String,
}

/// Links to other tickets.
#[derive(Clone, Debug, Serialize)]
pub struct LinksView {
    /// The ticket this one follows up.
    pub follow_up_of: Option<String>,
    /// The ticket this one duplicates.
    pub duplicate_of: Option<String>,
    /// Related tickets.
    pub related: Vec<String>,
    /// The tickets merged into this one (`tix merge`), in the order merged.
    pub merged_from: Vec<String>,
}

/// One message of the conversation.
#[derive(Clone, Debug, Serialize)]
pub struct MessageView {
    /// customer, agent, note or system.
    pub role: &'static str,
    /// Who wrote it.
    pub author: String,
    /// When.
    pub at: String,
    /// The text.
    pub body: String,
    /// The mail Message-ID (`<...>`), for mail received or sent.
    pub message_id: Option<String>,
    /// Files that came with it: paths from the desk root.
    pub attachments: Vec<String>,
    /// The received mail as it came: a path from the desk root.
    pub raw: Option<String>,
    /// For a message that goes out by mail: where, and what became of it.
    pub mail: Option<MailView>,
    /// For a message a merge copied here: the ticket it was written on
    /// (which also holds its files).
    pub merged_from: Option<String>,
}

/// What became of a message sent by mail.
#[derive(Clone, Debug, Serialize)]
pub struct MailView {
    /// The recipient.
    pub to: String,
    /// queued (not tried yet), sent, or failed (waits for a retry).
    pub state: &'static str,
    /// How often sending failed.
    pub attempts: usize,
    /// The last failure's reason.
    pub error: Option<String>,
}

/// One status change.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryView {
    /// When.
    pub at: String,
    /// Who.
    pub by: String,
    /// Old status (`null` at creation).
    pub from: Option<String>,
    /// New status.
    pub to: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// The automation rule, when one made the change.
    pub rule: Option<String>,
}

impl TicketView {
    /// Builds the view of a ticket.
    pub fn of(ticket: &Ticket, statuses: &Statuses) -> Self {
        let summary = ticket.summary(statuses);
        let time = |t: Option<crate::model::Timestamp>| t.map(|t| t.to_rfc3339());
        Self {
            id: ticket.id.to_string(),
            subject: ticket.subject.clone(),
            status: summary.status.clone(),
            category: summary.category.map(|c| c.as_str().to_owned()),
            priority: ticket.priority.to_string(),
            assignee: ticket.assignee.clone(),
            department: ticket.department.clone(),
            tags: ticket.tags.iter().cloned().collect(),
            customer: CustomerView {
                name: ticket.customer.name.clone(),
                email: ticket.customer.email.clone(),
                phone: ticket.customer.phone.clone(),
            },
            fields: ticket
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
            created: time(summary.created),
            updated: time(summary.updated),
            first_reply: time(summary.first_reply),
            postponed_until: time(summary.postponed_until),
            reopens: summary.reopens,
            rating: ticket.rating.as_ref().map(|r| RatingView {
                score: r.score,
                comment: r.comment.clone(),
                at: r.at.to_rfc3339(),
            }),
            links: LinksView {
                follow_up_of: ticket.follow_up_of.as_ref().map(ToString::to_string),
                duplicate_of: ticket.duplicate_of.as_ref().map(ToString::to_string),
                related: ticket.related.iter().map(ToString::to_string).collect(),
                merged_from: link::merged_in(ticket)
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
            },
            source: ticket.source.clone(),
            messages: ticket
                .events
                .iter()
                .filter_map(|e| message_view(ticket, e))
                .collect(),
            history: ticket.events.iter().filter_map(history_view).collect(),
        }
    }
}

fn message_view(ticket: &Ticket, event: &Event) -> Option<MessageView> {
    let role = message_role(event)?;
    // A copied message's files stay with the ticket it was written on.
    let merged_from = link::copied_from(event).map(|(_, from)| from.to_owned());
    let holder = merged_from.as_deref().unwrap_or(ticket.id.as_str());
    Some(MessageView {
        role,
        author: event.actor.clone(),
        at: event.at.to_rfc3339(),
        body: event.body.clone().unwrap_or_default(),
        message_id: event.message_id.clone(),
        attachments: event
            .attachments
            .iter()
            .map(|name| file_path(holder, name))
            .collect(),
        raw: event.raw.as_ref().map(|name| file_path(holder, name)),
        mail: event
            .recipient
            .as_ref()
            .map(|to| mail_view(ticket, event, to)),
        merged_from,
    })
}

/// The role of a message of the conversation (customer, agent, system or
/// note), also of one a merge copied here; `None` for other events.
pub fn message_role(event: &Event) -> Option<&'static str> {
    let kind = match link::copied_from(event) {
        Some(("note", _)) => EventKind::Note,
        Some(_) => EventKind::Message,
        None => event.kind,
    };
    Some(match (kind, event.role) {
        (EventKind::Note, _) => "note",
        (EventKind::Message, Role::Customer) => "customer",
        (EventKind::Message, Role::Agent) => "agent",
        (EventKind::Message, Role::System) => "system",
        _ => return None,
    })
}

/// Where a file stored with a ticket is, from the desk root (the layout
/// the store keeps: docs/mail.md, "Attachments").
pub fn attachment_path(ticket: &Ticket, name: &str) -> String {
    file_path(ticket.id.as_str(), name)
}

/// Where a file of the conversation event `event` of `ticket` is: a
/// message a merge copied keeps its files with the ticket it came from.
pub fn event_file_path(ticket: &Ticket, event: &Event, name: &str) -> String {
    match link::copied_from(event) {
        Some((_, from)) => file_path(from, name),
        None => attachment_path(ticket, name),
    }
}

/// `tickets/<ab>/<id>/<name>` for the ticket `id` (two characters at
/// least, as every id is).
fn file_path(id: &str, name: &str) -> String {
    let shard: String = id.chars().take(2).collect();
    format!("tickets/{shard}/{id}/{name}")
}

/// What became of the mail of message `event`, sent to `to`.
pub fn mail_view(ticket: &Ticket, event: &Event, to: &str) -> MailView {
    let outcome = event
        .message_id
        .as_deref()
        .map(|id| crate::domain::mail::outbound::outcome(ticket, id));
    let sent = outcome.is_some_and(|o| o.sent);
    let attempts = outcome.map_or(0, |o| o.attempts);
    MailView {
        to: to.to_owned(),
        state: match (sent, attempts) {
            (true, _) => "sent",
            (false, 0) => "queued",
            (false, _) => "failed",
        },
        attempts: attempts as usize,
        error: outcome
            .filter(|o| !o.sent)
            .and_then(|o| o.last_failure)
            .and_then(|e| e.reason.clone()),
    }
}

fn history_view(event: &Event) -> Option<HistoryView> {
    if !event.sets_status() {
        return None;
    }
    Some(HistoryView {
        at: event.at.to_rfc3339(),
        by: event.actor.clone(),
        from: event.from.clone(),
        to: event.to.clone().unwrap_or_default(),
        reason: event.reason.clone(),
        rule: event.rule.clone(),
    })
}

/// Converts a TOML value to JSON (datetimes become RFC 3339 strings).
pub fn json_value(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(json_value).collect()),
        toml::Value::Table(table) => J::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), json_value(v)))
                .collect(),
        ),
    }
}

/// A ticket with its SLA state: the object `tix show --format json` prints,
/// and each line of `tix export`.
#[derive(Debug, Serialize)]
pub struct ShownTicket<'a> {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: TicketView,
    /// Its SLA state (`null` when no policy applies).
    pub sla: Option<SlaView<'a>>,
}

/// One ticket's SLA state as `tix sla --format json` and the `sla` key of
/// `tix show --format json` print it.
#[derive(Debug, Serialize)]
pub struct SlaView<'a> {
    id: &'a str,
    policy: &'a str,
    targets: Vec<TargetJson>,
}

impl<'a> SlaView<'a> {
    /// The JSON object of the state of the ticket `id`.
    pub fn of(id: &'a TicketId, state: &'a SlaState) -> Self {
        Self {
            id: id.as_str(),
            policy: &state.policy,
            targets: state.current().into_iter().map(target_json).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct TargetJson {
    metric: &'static str,
    due: Option<String>,
    status: Status,
    consumed_minutes: i64,
}

fn target_json(i: &Instance) -> TargetJson {
    TargetJson {
        metric: i.metric.as_str(),
        due: i.due.map(|d| d.to_rfc3339()),
        status: i.status,
        consumed_minutes: i.consumed / 60,
    }
}
