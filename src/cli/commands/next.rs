//! `tix next [--take]`: the top of the To Solve queue, optionally taken in
//! one commit (`Desk::next`).

use std::io::Write;

use clap::Args;

use crate::cli::args::Scope;
use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::queue::Took;
use crate::domain::view::TicketView;

/// Show the top ticket of your To Solve queue; --take makes it yours.
///
/// --take assigns the ticket to you and moves it from new or postponed to
/// open, in one commit; when the top ticket is already yours and open it
/// just shows it. --take works on your own queue only: with --agent it
/// must name you.
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
    let me = match args.scope.agent() {
        Some(_) if !args.take => None,
        _ => Some(ctx.agent(&desk)?),
    };
    let next = desk.next(&args.scope.request(), me.as_ref(), args.take, ctx.now()?)?;
    for note in &next.notes {
        ctx.ui.status(note);
    }
    ctx.warn_problems(&next.problems);
    let Some((ticket, took)) = &next.top else {
        ctx.ui.status("Nothing to solve.");
        return Ok(());
    };
    for failure in &next.hook_failures {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    match took {
        Took::Taken => ctx.ui.status(&format!("Took {}.", ticket.id)),
        Took::AlreadyYours => ctx
            .ui
            .status(&format!("{} is already yours and open.", ticket.id)),
        Took::Shown => {}
    }
    let statuses = &desk.config().statuses;
    if format == Format::Json {
        return Ok(ctx.ui.json(&TicketView::of(ticket, statuses))?);
    }
    let page = render::show(&ctx.ui, ticket, desk.config());
    write!(ctx.ui.out(), "{page}")?;
    Ok(())
}
