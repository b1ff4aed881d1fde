//! Triggers' and macros' actions, and the events a change would record,
//! as short lines for people (`tix macro --list`, `--dry-run`).

use super::cell;
use crate::domain::change::field_text;
use crate::domain::rules::Do;
use crate::model::{Event, EventKind, Role};

/// One line for an event a change records.
pub(crate) fn event_line(e: &Event) -> String {
    let value = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let first_line = || {
        e.body
            .as_deref()
            .and_then(|b| b.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or_default()
            .to_owned()
    };
    let line = match e.kind {
        EventKind::Message => {
            let who = match e.role {
                Role::Customer => "customer message",
                Role::Agent => "reply",
                Role::System => "notice",
            };
            let to = e
                .recipient
                .as_deref()
                .map(|to| format!(" (mail to {to})"))
                .unwrap_or_default();
            format!("{who}{to}: {}", first_line())
        }
        EventKind::Note => format!("note: {}", first_line()),
        EventKind::Status => format!("status {} -> {}", value(&e.from), value(&e.to)),
        EventKind::Assign => format!("assignee {} -> {}", value(&e.from), value(&e.to)),
        EventKind::Department => format!("department {} -> {}", value(&e.from), value(&e.to)),
        EventKind::Priority => format!("priority {} -> {}", value(&e.from), value(&e.to)),
        EventKind::Tag => match (&e.to, &e.from) {
            (Some(tag), _) => format!("tag +{tag}"),
            (None, tag) => format!("tag -{}", value(tag)),
        },
        EventKind::Field => format!(
            "field {}: {} -> {}",
            value(&e.field),
            value(&e.from),
            value(&e.to)
        ),
        other => format!("{other:?}").to_lowercase(),
    };
    cell(&line)
}

/// What a set of actions does, one short phrase each.
pub(crate) fn actions(d: &Do) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(status) = &d.set_status {
        out.push(format!("status {status}"));
    }
    if let Some(priority) = d.set_priority {
        out.push(format!("priority {priority}"));
    }
    if let Some(who) = &d.assign {
        out.push(format!("assign {who}"));
    }
    out.extend(d.add_tags.iter().map(|t| format!("tag +{t}")));
    out.extend(d.remove_tags.iter().map(|t| format!("tag -{t}")));
    out.extend(
        d.set_field
            .iter()
            .map(|(name, v)| format!("field {name}={}", field_text(v))),
    );
    out.extend(
        d.clear_fields
            .iter()
            .map(|name| format!("field {name} cleared")),
    );
    if d.add_note.is_some() {
        out.push("note".to_owned());
    }
    if let Some(reply) = &d.reply {
        out.push(format!("reply from templates/{reply}.txt"));
    }
    match (d.notify.as_deref(), &d.template) {
        (Some("hook"), _) => out.push("hook event notify".to_owned()),
        (Some(whom), Some(template)) => {
            out.push(format!("mail the {whom} templates/{template}.txt"));
        }
        _ => {}
    }
    out
}
