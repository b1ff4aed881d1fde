use std::io::Write;

use clap::Args;

use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::view::TicketView;

/// Show a ticket: header, customer, fields and the whole conversation.
///
/// --format json prints the ticket as scripts see it (docs/json-schema.md);
/// --format toml prints the ticket file.
#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Ticket id or unique prefix.
    id: String,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ShowArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Toml])?;
    let desk = ctx.desk()?;
    let id = desk.resolve(&args.id)?;
    if format == Format::Toml {
        let text = desk.store().read_ticket(&id)?;
        write!(ctx.ui.out(), "{text}")?;
        return Ok(());
    }
    let ticket = desk.load(&id)?;
    let statuses = &desk.config().statuses;
    match format {
        Format::Json => ctx.ui.json(&TicketView::of(&ticket, statuses))?,
        _ => {
            let page = render::show(&ctx.ui, &ticket, statuses, &desk.config().fields);
            let now = ctx.now()?;
            let sla = desk
                .sla(&ticket, now)
                .map(|state| render::sla(&ctx.ui, &state, now))
                .unwrap_or_default();
            write!(ctx.ui.out(), "{page}{sla}")?;
        }
    }
    Ok(())
}
