//! The one sentence a change prints: what it did to which ticket
//! (`Assigned erz009 to Raj Patel <raj@desk>.`, `Resolved k3x (open ->
//! resolved).`, `Edited 43evna: priority normal -> high, tag +vip.`), from
//! the events the change recorded.

use crate::domain::change::Applied;
use crate::model::{Event, EventKind, Ticket};

/// The sentence for `applied` on `ticket` (its last `applied.recorded`
/// events are the change's). `person` shows an agent's address the way
/// every output does.
pub(crate) fn sentence(
    ticket: &Ticket,
    applied: &Applied,
    person: &dyn Fn(&str) -> String,
) -> String {
    let id = ticket.id.as_str();
    let recorded = applied.recorded.min(ticket.events.len());
    let events = &ticket.events[ticket.events.len() - recorded..];
    let assigns: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind == EventKind::Assign)
        .collect();
    // An assignment alone reads best as one: "Assigned k3x to Ana."
    if applied.action == "assign" || applied.action == "take" {
        let mut parts: Vec<String> = Vec::new();
        let head = match assigns.last().map(|e| e.to.as_deref()) {
            Some(Some(to)) => format!("Assigned {id} to {}", person(to)),
            Some(None) => format!("Unassigned {id}"),
            None => format!("Left {id} with {}", who(ticket.assignee.as_deref(), person)),
        };
        parts.extend(
            events
                .iter()
                .filter(|e| e.kind != EventKind::Assign)
                .filter_map(|e| phrase(e, person)),
        );
        return finish(head, applied, &parts);
    }
    let verb = match applied.action {
        "new" => "Created",
        "reply" => "Replied to",
        "reply-resolve" => "Replied to and resolved",
        "customer-reply" => "Recorded the customer's reply on",
        "note" => "Added a note to",
        "open" => "Opened",
        "postpone" => "Postponed",
        "resolve" => "Resolved",
        "close" | "force-close" => "Closed",
        "reopen" => "Reopened",
        "status" => "Set the status of",
        "edit" => "Edited",
        "rate" => "Rated",
        "link" | "unlink" => "Linked",
        "merge" => "Merged into",
        "macro" => "Applied the macro to",
        _ => "Changed",
    };
    let parts: Vec<String> = events.iter().filter_map(|e| phrase(e, person)).collect();
    finish(format!("{verb} {id}"), applied, &parts)
}

/// `head (from -> to): part, part.`, without the status change or the
/// parts when there are none, defused for a terminal.
fn finish(head: String, applied: &Applied, parts: &[String]) -> String {
    let mut text = head;
    if let Some((from, to)) = &applied.status {
        text.push_str(&format!(" ({from} -> {to})"));
    }
    if !parts.is_empty() {
        text.push_str(": ");
        text.push_str(&parts.join(", "));
    }
    text.push('.');
    super::cell(&text)
}

fn who(address: Option<&str>, person: &dyn Fn(&str) -> String) -> String {
    address.map_or_else(|| "nobody".to_owned(), person)
}

/// What one event changed, in a few words; `None` for what the sentence
/// already says (a message or note is the verb) or says nothing about.
fn phrase(e: &Event, person: &dyn Fn(&str) -> String) -> Option<String> {
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    Some(match e.kind {
        // The status change is the sentence's, in parentheses.
        EventKind::Assign => match &e.to {
            Some(to) => format!("assigned to {}", person(to)),
            None => "unassigned".to_owned(),
        },
        EventKind::Department => match &e.to {
            Some(to) => format!("department {to}"),
            None => "no department".to_owned(),
        },
        EventKind::Priority => format!("priority {} -> {}", value(&e.from), value(&e.to)),
        EventKind::Tag => match (&e.to, &e.from) {
            (Some(tag), _) => format!("tag +{tag}"),
            (None, tag) => format!("tag -{}", value(tag)),
        },
        EventKind::Subject => format!("subject “{}”", value(&e.to)),
        EventKind::Field => format!("{} {} -> {}", value(&e.field), value(&e.from), value(&e.to)),
        EventKind::Customer => format!("customer {} {}", value(&e.field), value(&e.to)),
        EventKind::Csat => format!("rating {}", value(&e.to)),
        EventKind::Link => format!("{} {}", value(&e.field).replace('_', " "), value(&e.to)),
        EventKind::Status
        | EventKind::Message
        | EventKind::Note
        | EventKind::Created
        | EventKind::Merge
        | EventKind::Mail
        | EventKind::Sla => return None,
    })
}
