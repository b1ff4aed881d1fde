use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;
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
    apply(
        ctx,
        &args.id,
        Request::Plain(Change::Resolve {
            reason: args.message.clone(),
        }),
    )
}
