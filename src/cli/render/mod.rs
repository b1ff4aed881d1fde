//! Human-readable rendering of tickets: the `show` page and list rows,
//! and the longer renderings of some commands, one file each.

pub(crate) mod change;
pub(crate) mod list;
pub(crate) mod report;
mod rules;
pub(crate) mod sla;

use crate::config::Config;
use crate::domain::fields::FieldDef;
use crate::domain::lifecycle::Category;
use crate::model::{Event, EventKind, Role, Ticket, Timestamp};

use super::ui::{Style, Ui};
use crate::model::TicketId;

/// Formats a time for people: `2025-03-03 14:02 UTC`.
pub(crate) fn time(at: Timestamp) -> String {
    at.as_datetime().format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Formats how long ago something was: `5m`, `3h`, `2d`, `6w`.
pub(crate) fn age(at: Option<Timestamp>, now: Timestamp) -> String {
    let mut text = String::with_capacity(4);
    age_into(at, now, &mut text);
    text
}

/// Appends [`age`]'s text.
pub(crate) fn age_into(at: Option<Timestamp>, now: Timestamp, out: &mut String) {
    let Some(at) = at else { return out.push('-') };
    let secs = now.unix().saturating_sub(at.unix()).max(0);
    let (count, unit) = match secs {
        s if s < 3600 => (s / 60, 'm'),
        s if s < 86_400 => (s / 3600, 'h'),
        s if s < 14 * 86_400 => (s / 86_400, 'd'),
        s => (s / (7 * 86_400), 'w'),
    };
    // Two of these for every row of a listing: no formatting machinery.
    out.push_str(itoa::Buffer::new().format(count));
    out.push(unit);
}

pub(crate) use super::defuse::{cell, cell_into, is_hostile, text};
pub(crate) use rules::{actions, event_line};

/// Picks the colour of a status by its category.
pub(crate) fn status_style(category: Option<Category>) -> Style {
    match category {
        Some(Category::New) => Style::Magenta,
        Some(Category::Open) => Style::Red,
        Some(Category::Waiting) => Style::Yellow,
        Some(Category::OnHold) => Style::Blue,
        Some(Category::Solved) => Style::Green,
        Some(Category::Closed) | None => Style::Dim,
    }
}

/// An agent as every output shows one: `Name <address>` when tix.toml
/// knows the address, else the address.
pub(crate) fn person(agents: &[crate::domain::routing::AgentDef], address: &str) -> String {
    agents
        .iter()
        .find(|a| a.email.eq_ignore_ascii_case(address))
        .map_or_else(
            || address.to_owned(),
            |a| format!("{} <{}>", a.name, a.email),
        )
}

/// Renders the whole ticket for `tix show`; custom fields go by the label
/// of the ticket form (`form`), else by name.
pub(crate) fn show(ui: &Ui, ticket: &Ticket, config: &Config) -> String {
    let (statuses, form) = (&config.statuses, &config.fields);
    let summary = ticket.summary(statuses);
    let mut out = String::new();
    let label = |name: &str| ui.paint(Style::Dim, &format!("{name:<11}"));
    out.push_str(&format!(
        "{}  {}\n",
        ui.paint(Style::Yellow, ticket.id.as_str()),
        ui.paint(Style::Bold, &cell(&ticket.subject))
    ));
    let status_label = statuses
        .get(&summary.status)
        .map_or(summary.status.clone(), |d| d.label.clone());
    let mut status_line = ui.paint(status_style(summary.category), &cell(&status_label));
    if let Some(until) = summary.postponed_until {
        status_line.push_str(&format!(" until {}", time(until)));
    }
    out.push_str(&format!("{}{status_line}\n", label("Status")));
    out.push_str(&format!("{}{}\n", label("Priority"), ticket.priority));
    out.push_str(&format!(
        "{}{}\n",
        label("Assignee"),
        cell(
            &ticket
                .assignee
                .as_deref()
                .map_or_else(|| "-".to_owned(), |a| person(&config.agents, a))
        )
    ));
    if let Some(department) = &ticket.department {
        out.push_str(&format!("{}{}\n", label("Department"), cell(department)));
    }
    let customer = &ticket.customer;
    if !customer.is_empty() {
        let mut parts = Vec::new();
        match (&customer.name, &customer.email) {
            (Some(name), Some(email)) => parts.push(format!("{name} <{email}>")),
            (Some(name), None) => parts.push(name.clone()),
            (None, Some(email)) => parts.push(email.clone()),
            (None, None) => {}
        }
        parts.extend(customer.phone.clone());
        out.push_str(&format!(
            "{}{}\n",
            label("Customer"),
            cell(&parts.join(", "))
        ));
    }
    if !ticket.tags.is_empty() {
        let tags: Vec<&str> = ticket.tags.iter().map(String::as_str).collect();
        out.push_str(&format!("{}{}\n", label("Tags"), cell(&tags.join(", "))));
    }
    if let Some(created) = summary.created {
        out.push_str(&format!("{}{}\n", label("Created"), time(created)));
    }
    if let Some(updated) = summary.updated {
        out.push_str(&format!("{}{}\n", label("Updated"), time(updated)));
    }
    if summary.reopens > 0 {
        out.push_str(&format!("{}{}\n", label("Reopened"), summary.reopens));
    }
    show_links(ui, ticket, &mut out);
    if let Some(source) = &ticket.source {
        out.push_str(&format!("{}{}\n", label("Source"), cell(source)));
    }
    if let Some(rating) = &ticket.rating {
        let comment = rating
            .comment
            .as_deref()
            .map(|c| format!(" \"{}\"", cell(c)))
            .unwrap_or_default();
        out.push_str(&format!("{}{}/5{comment}\n", label("Rating"), rating.score));
    }
    show_fields(ui, ticket, form, &mut out);
    show_conversation(ui, ticket, &config.agents, &mut out);
    out
}

/// Whoever an event names, as every output shows a person: an agent of
/// tix.toml or the ticket's customer as `Name <address>`, anyone else by
/// the address.
fn who(agents: &[crate::domain::routing::AgentDef], ticket: &Ticket, address: &str) -> String {
    let customer = &ticket.customer;
    match (&customer.name, &customer.email) {
        (Some(name), Some(email)) if email.eq_ignore_ascii_case(address) => {
            format!("{name} <{email}>")
        }
        _ => person(agents, address),
    }
}

/// The links of `tix show`: one line per kind, each id once.
fn show_links(ui: &Ui, ticket: &Ticket, out: &mut String) {
    let one = |id: &Option<TicketId>| id.iter().map(ToString::to_string).collect::<Vec<_>>();
    let merged: Vec<String> = crate::domain::link::merged_in(ticket)
        .into_iter()
        .map(str::to_owned)
        .collect();
    for (name, ids) in [
        ("Follow-up of", one(&ticket.follow_up_of)),
        ("Duplicate of", one(&ticket.duplicate_of)),
        (
            "Related",
            ticket.related.iter().map(ToString::to_string).collect(),
        ),
        ("Merged from", merged),
    ] {
        if !ids.is_empty() {
            out.push_str(&format!(
                "{}{}\n",
                ui.paint(Style::Dim, &format!("{name:<13}")),
                cell(&ids.join(", "))
            ));
        }
    }
}

/// The custom fields of `tix show`, by the label of the ticket form.
fn show_fields(ui: &Ui, ticket: &Ticket, form: &[FieldDef], out: &mut String) {
    if !ticket.fields.is_empty() {
        out.push_str(&format!("{}\n", ui.paint(Style::Dim, "Fields")));
        for (name, value) in &ticket.fields {
            let label = form
                .iter()
                .find(|def| def.name == *name)
                .and_then(|def| def.label.as_deref())
                .unwrap_or(name);
            out.push_str(&format!(
                "  {}: {}\n",
                cell(label),
                cell(&crate::domain::change::field_text(value))
            ));
        }
    }
}

/// The messages, notes and status changes of `tix show`, in order; a
/// message a merge copied here says where it came from.
fn show_conversation(
    ui: &Ui,
    ticket: &Ticket,
    agents: &[crate::domain::routing::AgentDef],
    out: &mut String,
) {
    for event in &ticket.events {
        let actor = who(agents, ticket, &event.actor);
        if let Some(role) = crate::domain::view::message_role(event) {
            show_message(ui, ticket, event, (role, &actor), out);
        } else if event.kind == EventKind::Status {
            let reason = event
                .reason
                .as_deref()
                .map(|r| format!(": {}", cell(r)))
                .unwrap_or_default();
            let line = format!(
                "── {} {} -> {} by {}{reason}",
                time(event.at),
                cell(event.from.as_deref().unwrap_or("?")),
                cell(event.to.as_deref().unwrap_or("?")),
                cell(&actor)
            );
            out.push_str(&format!("\n{}\n", ui.paint(Style::Dim, &line)));
        }
    }
}

/// One message or note of `tix show`, with its files and mail state.
fn show_message(
    ui: &Ui,
    ticket: &Ticket,
    event: &Event,
    (role, actor): (&str, &str),
    out: &mut String,
) {
    let mut role = match (role, event.role) {
        ("note", _) => ui.paint(Style::Yellow, "internal note"),
        (_, Role::Customer) => ui.paint(Style::Cyan, "customer"),
        (_, Role::Agent) => ui.paint(Style::Green, "agent"),
        (_, Role::System) => ui.paint(Style::Dim, "system"),
    };
    if let Some((_, from)) = crate::domain::link::copied_from(event) {
        role.push_str(&format!(", merged from {}", cell(from)));
    }
    out.push_str(&format!(
        "\n{} {} ({role}) {}\n",
        ui.paint(Style::Dim, "──"),
        ui.paint(Style::Bold, &cell(actor)),
        ui.paint(Style::Dim, &format!("· {}", time(event.at))),
    ));
    out.push_str(&text(event.body.as_deref().unwrap_or_default().trim_end()));
    out.push('\n');
    let path = |name: &str| crate::domain::view::event_file_path(ticket, event, name);
    if let Some(raw) = &event.raw {
        out.push_str(&format!("  received mail: {}\n", cell(&path(raw))));
    }
    for name in &event.attachments {
        out.push_str(&format!("  attached: {}\n", cell(&path(name))));
    }
    if let Some(to) = &event.recipient {
        let mail = crate::domain::view::mail_view(ticket, event, to);
        let line = match &mail.error {
            Some(why) => format!("  mail to {}: {} ({why})", mail.to, mail.state),
            None => format!("  mail to {}: {}", mail.to, mail.state),
        };
        out.push_str(&ui.paint(Style::Dim, &cell(&line)));
        out.push('\n');
    }
}

/// Renders the SLA block of `tix show`.
pub(crate) fn sla(ui: &Ui, state: &crate::domain::sla::SlaState, now: Timestamp) -> String {
    use crate::domain::sla::Status;
    let mut out = format!(
        "\n{}\n",
        ui.paint(Style::Dim, &format!("SLA ({})", cell(&state.policy)))
    );
    for i in state.current() {
        let when = match (i.status, i.due) {
            (Status::Active, Some(due)) if due >= now => {
                format!("due {} (in {})", time(due), age(Some(now), due))
            }
            (Status::Active, None) => "paused".to_owned(),
            (Status::Breached, Some(due)) => {
                ui.paint(Style::Red, &format!("breached, was due {}", time(due)))
            }
            (Status::Achieved, _) => ui.paint(Style::Green, "achieved"),
            (Status::Cancelled, _) => "cancelled".to_owned(),
            (_, due) => due.map(time).unwrap_or_default(),
        };
        out.push_str(&format!("  {:<13}{when}\n", i.metric.as_str()));
    }
    out
}

/// A ticket a batch left out, and why (`skipped` in JSON summaries).
#[derive(serde::Serialize)]
pub(crate) struct SkippedJson<'a> {
    id: &'a str,
    reason: &'a str,
}

/// The JSON rows of the tickets a batch skipped.
pub(crate) fn skipped_json(skipped: &[(TicketId, String)]) -> Vec<SkippedJson<'_>> {
    skipped
        .iter()
        .map(|(id, reason)| SkippedJson {
            id: id.as_str(),
            reason,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_show_control_characters_as_replacements() {
        assert_eq!(
            super::cell("Hidden \x1b[8m secret\x07"),
            "Hidden �[8m secret�"
        );
        assert_eq!(super::cell("abc\u{202e}def"), "abc�def");
        assert_eq!(super::cell("Zoë 漢字"), "Zoë 漢字");
    }
}
