use clap::Args;

use crate::cli::shared::change_ticket;
use crate::cli::{CommandError, Ctx};
use crate::domain::change::Change;

/// Bring a resolved or closed ticket back to open (counts as a reopen).
#[derive(Debug, Args)]
pub(crate) struct ReopenArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// Why (kept in the status history).
    #[arg(short = 'm', long = "message", value_name = "TEXT")]
    message: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ReopenArgs) -> Result<(), CommandError> {
    change_ticket(ctx, &args.id, |_| {
        Ok(Change::Reopen {
            reason: args.message.clone(),
        })
    })
}
