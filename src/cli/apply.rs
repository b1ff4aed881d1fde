//! What every command that changes one ticket does after parsing: one call
//! to [`Desk::apply`], then one line (or the ticket as JSON) for the user.

use std::io::Write;

use super::ui::Format;
use super::{CommandError, Ctx};
use crate::desk::change::{Changed, Request};
use crate::desk::{Desk, Error};
use crate::domain::change::Change;
use crate::domain::view::TicketView;

/// Applies `request` to the ticket `prefix` names, in one commit, and
/// reports it.
pub(crate) fn apply(ctx: &mut Ctx, prefix: &str, request: Request) -> Result<(), CommandError> {
    apply_with_files(ctx, prefix, request, &[])
}

/// [`apply`], with files to attach to an agent's reply.
pub(crate) fn apply_with_files(
    ctx: &mut Ctx,
    prefix: &str,
    request: Request,
    files: &[(String, Vec<u8>)],
) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let agent = ctx.agent(&desk)?;
    let customer_reply = matches!(request, Request::Plain(Change::CustomerReply { .. }));
    let changed = desk
        .apply_with_files(prefix, request, files, &agent, ctx.now()?)
        .map_err(|err| refused(&desk, err, customer_reply, prefix))?;
    report(ctx, &desk, &changed, format)
}

/// The text of `templates/NAME.txt` for the ticket `prefix` names, as the
/// acting agent writes it.
pub(crate) fn template_text(
    ctx: &mut Ctx,
    prefix: &str,
    name: &str,
) -> Result<String, CommandError> {
    let desk = ctx.desk()?;
    let agent = ctx.agent(&desk)?;
    Ok(desk.template_text(prefix, name, &agent)?)
}

/// A customer's reply to a closed ticket belongs in a reopen or a
/// follow-up: say so.
fn refused(desk: &Desk, err: Error, customer_reply: bool, prefix: &str) -> CommandError {
    let closed = customer_reply && err.is_closed_ticket();
    let err = CommandError::from(err);
    if closed && let Ok(id) = desk.resolve(prefix) {
        err.hint(format!(
            "reopen it with `tix reopen {id}`, or start a follow-up with `tix new SUBJECT --follow-up {id}`"
        ))
    } else {
        err
    }
}

/// Reports a committed change: failed hooks as warnings, then one line, or
/// the ticket as JSON.
pub(crate) fn report(
    ctx: &mut Ctx,
    desk: &Desk,
    changed: &Changed,
    format: Format,
) -> Result<(), CommandError> {
    for failure in changed
        .hook_failures
        .iter()
        .chain(&changed.skipped_triggers)
    {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    if let Some(why) = &changed.mail_error {
        ctx.ui.status(&format!(
            "warning: the mail waits in the outbox: {why}; `tix outbox --send` retries"
        ));
    }
    warn_unsent(ctx, &changed.mail);
    let (ticket, applied) = (&changed.ticket, &changed.applied);
    if format == Format::Json {
        return Ok(ctx
            .ui
            .json(&TicketView::of(ticket, &desk.config().statuses))?);
    }
    let agents = &desk.config().agents;
    let person = |address: &str| crate::cli::render::person(agents, address);
    let line = crate::cli::render::change::sentence(ticket, applied, &person);
    writeln!(ctx.ui.out(), "{line}")?;
    if !changed.triggers.is_empty() {
        let line = format!("triggers fired: {}", changed.triggers.join(", "));
        writeln!(ctx.ui.out(), "{}", crate::cli::render::text(&line))?;
    }
    for delivery in &changed.mail {
        let line = match &delivery.error {
            None => format!("mail sent to {}", delivery.to),
            Some(_) => format!(
                "mail queued for {}; `tix outbox --send` retries",
                delivery.to
            ),
        };
        writeln!(ctx.ui.out(), "{}", crate::cli::render::text(&line))?;
    }
    Ok(())
}

/// Warns, on stderr, of each mail the transport did not take.
pub(crate) fn warn_unsent(ctx: &Ctx, mail: &[crate::desk::outbox::Delivery]) {
    for delivery in mail {
        if let Some(why) = &delivery.error {
            ctx.ui.status(&format!(
                "warning: mail to {} queued: {why}; `tix outbox --send` retries",
                delivery.to
            ));
        }
    }
}
