use std::io::Write;

use clap::Args;

use crate::change::Change;
use crate::cli::commands::queue::{self, Scope};
use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::view::TicketView;

/// Show the top ticket of your To Solve queue; --take makes it yours.
///
/// --take assigns the ticket to you and moves it from new or postponed to
/// open, in one commit.
#[derive(Debug, Args)]
pub(crate) struct NextArgs {
    #[command(flatten)]
    scope: Scope,
    /// Assign it to me and open it.
    #[arg(long)]
    take: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &NextArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let (_, queue) = queue::build(ctx, &desk, &args.scope)?;
    let Some(top) = queue.into_iter().next() else {
        ctx.ui.status("Nothing to solve.");
        return Ok(());
    };
    let statuses = &desk.config().statuses;
    let ticket = if args.take {
        let agent = ctx.agent(Some(&desk))?;
        let (ticket, applied) = desk.change(&top.ticket.id, &Change::Take, &agent, ctx.now()?)?;
        for failure in desk.run_hooks(&ticket, &applied) {
            ctx.ui.status(&format!("warning: {failure}"));
        }
        ctx.ui.status(&format!("Took {}.", ticket.id));
        ticket
    } else {
        top.ticket
    };
    if format == Format::Json {
        return Ok(ctx.ui.json(&TicketView::of(&ticket, statuses))?);
    }
    let page = render::show(&ctx.ui, &ticket, statuses, &desk.config().fields);
    write!(ctx.ui.out(), "{page}")?;
    Ok(())
}
