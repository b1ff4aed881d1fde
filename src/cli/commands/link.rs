//! `tix link`: mark a ticket a duplicate of another, relate two tickets,
//! or remove a link.

use std::io::Write;

use clap::{ArgGroup, Args};

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::link::LinkRequest;
use crate::domain::view::TicketView;

/// Link a ticket to another: as a duplicate of it, or related to it.
///
/// --duplicate-of records on ID that it duplicates X (a later one replaces
/// it); `tix merge ID X` also moves the conversation and closes ID.
/// --related links both tickets to each other, in one commit. --unlink
/// removes every link between ID and X. Each is one commit, and the
/// ticket's log records who linked what and when. A closed ticket is not
/// changed (reopen it first).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix link k3x --duplicate-of m4n\n  tix link k3x --related p7q\n  tix link k3x --unlink p7q"
)]
#[command(group(ArgGroup::new("link").required(true).args(["duplicate_of", "related", "unlink"])))]
pub(crate) struct LinkArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// Mark ID a duplicate of ticket X.
    #[arg(long, value_name = "X")]
    duplicate_of: Option<String>,
    /// Relate ID and ticket X, both ways.
    #[arg(long, value_name = "X")]
    related: Option<String>,
    /// Remove every link between ID and ticket X.
    #[arg(long, value_name = "X")]
    unlink: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &LinkArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let request = match (&args.duplicate_of, &args.related, &args.unlink) {
        (Some(x), _, _) => LinkRequest::DuplicateOf(x.clone()),
        (_, Some(x), _) => LinkRequest::Related(x.clone()),
        (_, _, Some(x)) => LinkRequest::Unlink(x.clone()),
        // clap's group requires one of them.
        (None, None, None) => {
            return Err(CommandError::usage(
                "give --duplicate-of, --related or --unlink",
            ));
        }
    };
    let desk = ctx.desk()?;
    let agent = ctx.agent(&desk)?;
    let linked = desk.link(&args.id, &request, &agent, ctx.now()?)?;
    for failure in &linked.hook_failures {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    if format == Format::Json {
        // The ticket named first, as every change command prints it.
        if let Some((ticket, _)) = linked.tickets.first() {
            ctx.ui
                .json(&TicketView::of(ticket, &desk.config().statuses))?;
        }
        return Ok(());
    }
    for (i, (ticket, applied)) in linked.tickets.iter().enumerate() {
        if applied.recorded == 0 {
            continue;
        }
        // The first ticket's link is to the one named; the second's (a
        // related link) back to the first.
        let other = match i {
            0 => &linked.other,
            _ => &linked.tickets[0].0.id,
        };
        let what = match &request {
            LinkRequest::DuplicateOf(_) => format!("duplicate_of {other}"),
            LinkRequest::Related(_) => format!("related {other}"),
            LinkRequest::Unlink(_) => other.to_string(),
        };
        writeln!(ctx.ui.out(), "{}: {} {what}", ticket.id, applied.action)?;
    }
    Ok(())
}
