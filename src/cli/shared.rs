//! Helpers several commands share: applying a change and reporting it.

use std::io::Write;

use super::ui::Format;
use super::{CommandError, Ctx};
use crate::desk::Desk;
use crate::domain::change::Change;
use crate::domain::view::TicketView;

/// Applies `change` to the ticket `prefix` names, in one commit, and reports
/// the result (a line, or the ticket as JSON).
pub(crate) fn change_ticket(
    ctx: &mut Ctx,
    prefix: &str,
    build: impl FnOnce(&Desk) -> Result<Change, CommandError>,
) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let id = desk.resolve(prefix)?;
    let change = &build(&desk)?;
    let agent = ctx.agent(Some(&desk))?;
    let now = ctx.now()?;
    let (ticket, applied) = desk.change(&id, change, &agent, now).map_err(|err| {
        let closed_reply = matches!(change, Change::CustomerReply { .. })
            && err.to_string().contains("the ticket is closed");
        let err = CommandError::from(err);
        if closed_reply {
            err.hint(format!("reopen it with `tix reopen {id}`, or start a follow-up with `tix new SUBJECT --follow-up {id}`"))
        } else {
            err
        }
    })?;
    for failure in desk.run_hooks(&ticket, &applied) {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    if format == Format::Json {
        return Ok(ctx
            .ui
            .json(&TicketView::of(&ticket, &desk.config().statuses))?);
    }
    let line = match &applied.status {
        Some((from, to)) => format!("{id}: {} ({from} -> {to})", applied.action),
        None => format!("{id}: {}", applied.action),
    };
    writeln!(ctx.ui.out(), "{line}")?;
    Ok(())
}
