//! `tix next [--take]`: the top of the To Solve queue, optionally taken in
//! one commit.

use std::io::Write;

use clap::Args;

use crate::cli::commands::queue::{self, Scope};
use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk;
use crate::domain::change::{Change, ChangeError};
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
    if args.take
        && let Some(other) = args.scope.agent()
    {
        let me = ctx.agent(Some(&desk))?;
        let other = desk
            .config()
            .resolve_agent(other)
            .map_err(CommandError::user)?;
        if other != me.id() {
            return Err(CommandError::usage(format!(
                "--take assigns the ticket to you ({}), not to {other}: drop --agent, or act as {other} with --as",
                me.id()
            )));
        }
    }
    let (_, queue) = queue::build(ctx, &desk, &args.scope, Some(1))?;
    let Some(top) = queue.into_iter().next() else {
        ctx.ui.status("Nothing to solve.");
        return Ok(());
    };
    let statuses = &desk.config().statuses;
    let ticket = if args.take {
        let agent = ctx.agent(Some(&desk))?;
        match desk.change(&top.id, &Change::Take, &agent, ctx.now()?) {
            Ok((ticket, applied)) => {
                for failure in desk.run_hooks(&ticket, &applied) {
                    ctx.ui.status(&format!("warning: {failure}"));
                }
                ctx.ui.status(&format!("Took {}.", ticket.id));
                ticket
            }
            // Already mine and open: taking it again is a no-op, not a
            // refusal (no commit).
            Err(desk::Error::Change(ChangeError::NoChange(_))) => {
                ctx.ui
                    .status(&format!("{} is already yours and open.", top.id));
                desk.load_blob(&top.id, top.blob)?
            }
            Err(err) => return Err(err.into()),
        }
    } else {
        desk.load_blob(&top.id, top.blob)?
    };
    if format == Format::Json {
        return Ok(ctx.ui.json(&TicketView::of(&ticket, statuses))?);
    }
    let page = render::show(&ctx.ui, &ticket, statuses, &desk.config().fields);
    write!(ctx.ui.out(), "{page}")?;
    Ok(())
}
