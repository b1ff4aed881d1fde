//! `tix merge`: merge one ticket into another.

use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::domain::view::TicketView;

/// Merge a ticket into another: SOURCE's conversation goes to TARGET and
/// SOURCE is closed as its duplicate.
///
/// Every message and note of SOURCE is appended to TARGET with its author
/// and time, marked as merged from SOURCE (they count for no SLA or report
/// of TARGET); SOURCE gets `duplicate_of = TARGET` and is closed; both get
/// an internal note. Mail that answers SOURCE later goes to TARGET. One
/// commit changes both tickets. Not for this command: git's merge driver
/// (`tix merge-driver`).
///
/// Example: tix merge m4n k3x
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// The ticket to merge (id or unique prefix): closed as a duplicate.
    source: String,
    /// The ticket it goes into (id or unique prefix): continues.
    target: String,
}

/// `tix merge --format json`: both tickets as committed.
#[derive(Serialize)]
struct MergeJson {
    source: TicketView,
    target: TicketView,
    copied: usize,
}

pub(crate) fn run(ctx: &mut Ctx, args: &MergeArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let agent = ctx.agent(&desk)?;
    let merged = desk.merge(&args.source, &args.target, &agent, ctx.now()?)?;
    for failure in &merged.hook_failures {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    let [(source, applied), (target, _)] = &merged.tickets[..] else {
        // A merge always commits both tickets.
        return Err(CommandError::user("the merge committed no tickets"));
    };
    let statuses = &desk.config().statuses;
    if format == Format::Json {
        return Ok(ctx.ui.json(&MergeJson {
            source: TicketView::of(source, statuses),
            target: TicketView::of(target, statuses),
            copied: merged.copied,
        })?);
    }
    let status = applied
        .status
        .as_ref()
        .map(|(from, to)| format!(" ({from} -> {to})"))
        .unwrap_or_default();
    writeln!(
        ctx.ui.out(),
        "{}: merge into {}{status}",
        source.id,
        target.id
    )?;
    writeln!(
        ctx.ui.out(),
        "{}: {} message(s) appended from {}",
        target.id,
        merged.copied,
        source.id
    )?;
    Ok(())
}
