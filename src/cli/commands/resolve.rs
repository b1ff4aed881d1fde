use clap::Args;

use crate::cli::shared::change_ticket;
use crate::cli::{CommandError, Ctx};
use crate::domain::change::Change;

/// Mark a ticket resolved: a solution was given.
///
/// An unassigned ticket is assigned to the resolver. The customer may still
/// reply, which reopens it. -m records why, in the status history; to send
/// the solution to the customer use `tix reply ID -m TEXT --resolve`.
#[derive(Debug, Args)]
pub(crate) struct ResolveArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// Why it is resolved (kept in the status history).
    #[arg(short = 'm', long = "message", value_name = "TEXT")]
    message: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ResolveArgs) -> Result<(), CommandError> {
    change_ticket(ctx, &args.id, |_| {
        Ok(Change::Resolve {
            reason: args.message.clone(),
        })
    })
}
