//! `tix show`: one ticket as a page, JSON (with its SLA state) or its file.

use std::io::Write;

use clap::Args;

use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::domain::view::{ShownTicket, SlaView, TicketView};

/// Show a ticket: header, customer, fields, the whole conversation and the
/// SLA state.
///
/// --format json prints the ticket as scripts see it, with its SLA state
/// under `sla` (docs/json-schema.md); --format toml prints the ticket file.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// Show the ticket as it was at a past commit: a revision (HEAD~5, a
    /// commit id, a tag), a time (2025-03-01, an RFC 3339 time) or a
    /// duration ago (30d): the last commit at or before it.
    #[arg(long, value_name = "REV|DATE")]
    at: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ShowArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Toml])?;
    let (desk, now) = ctx.desk_at(args.at.as_deref())?;
    let id = desk.resolve(&args.id)?;
    if format == Format::Toml {
        let text = desk.ticket_text(&id)?;
        write!(ctx.ui.out(), "{text}")?;
        return Ok(());
    }
    let ticket = desk.ticket(&id)?;
    let statuses = &desk.config().statuses;
    let state = desk.sla(&ticket, now);
    match format {
        Format::Json => ctx.ui.json(&ShownTicket {
            ticket: TicketView::of(&ticket, statuses),
            sla: state.as_ref().map(|s| SlaView::of(&ticket.id, s)),
        })?,
        _ => {
            let page = render::show(&ctx.ui, &ticket, desk.config());
            let sla = state
                .map(|state| render::sla(&ctx.ui, &state, now))
                .unwrap_or_default();
            write!(ctx.ui.out(), "{page}{sla}")?;
        }
    }
    Ok(())
}
