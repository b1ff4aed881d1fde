//! `tix macro NAME ID`: apply a `[[macro]]` of tix.toml to a ticket in one
//! commit; `tix macro --list`: the macros (`Desk::apply_macro`).

use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::cli::apply::report;
use crate::cli::render::{cell, event_line};
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::domain::triggers::Macro;
use crate::domain::view::TicketView;

/// Apply a macro: its actions and its templated reply, in one commit.
///
/// Macros are defined in tix.toml (`[[macro]]`, docs/automation.md): a
/// set of actions (status, priority, assignee, tags, fields, a note) and
/// an optional reply from a template in templates/. Triggers fire on the
/// change as on any other.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix macro --list\n  tix macro refund k3x --dry-run\n  tix macro refund k3x"
)]
pub(crate) struct MacroArgs {
    /// The macro's name.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// Ticket id or unique prefix.
    #[arg(required_unless_present = "list")]
    id: Option<String>,
    /// Show what the macro would change; write nothing.
    #[arg(long, conflicts_with = "list")]
    dry_run: bool,
    /// List the macros of tix.toml.
    #[arg(long, conflicts_with_all = ["name", "id"])]
    list: bool,
}

#[derive(Serialize)]
struct MacroJson<'a> {
    name: &'a str,
    description: Option<&'a str>,
    template: Option<&'a str>,
    actions: Vec<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &MacroArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let (Some(name), Some(id)) = (&args.name, &args.id) else {
        return list(ctx, &desk.config().macros, format);
    };
    let agent = ctx.agent(&desk)?;
    let changed = desk.apply_macro(name, id, &agent, ctx.now()?, args.dry_run)?;
    if !args.dry_run {
        return report(ctx, &desk, &changed, format);
    }
    let statuses = &desk.config().statuses;
    if format == Format::Json {
        return Ok(ctx.ui.json(&TicketView::of(&changed.ticket, statuses))?);
    }
    let ticket = &changed.ticket;
    let first = ticket.events.len() - changed.applied.recorded.min(ticket.events.len());
    let out = ctx.ui.out();
    writeln!(
        out,
        "{}: macro {name} would record (nothing written):",
        ticket.id
    )?;
    for event in &ticket.events[first..] {
        writeln!(out, "  {}", event_line(event))?;
    }
    Ok(())
}

fn list(ctx: &mut Ctx, macros: &[Macro], format: Format) -> Result<(), CommandError> {
    let shown: Vec<MacroJson<'_>> = macros
        .iter()
        .map(|m| MacroJson {
            name: &m.name,
            description: m.description.as_deref(),
            template: m.template.as_deref(),
            actions: crate::cli::render::actions(&m.actions),
        })
        .collect();
    if format == Format::Json {
        return Ok(ctx.ui.json(&shown)?);
    }
    if shown.is_empty() {
        ctx.ui
            .status("No macros: define [[macro]] in tix.toml (docs/automation.md).");
        return Ok(());
    }
    let out = ctx.ui.out();
    for m in &shown {
        writeln!(out, "{}", cell(m.name))?;
        if let Some(description) = m.description {
            writeln!(out, "  {}", cell(description))?;
        }
        let mut does = m.actions.clone();
        if let Some(template) = m.template {
            does.push(format!("reply from templates/{template}.txt"));
        }
        writeln!(out, "  does: {}", cell(&does.join(", ")))?;
    }
    Ok(())
}
