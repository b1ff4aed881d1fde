use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;
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
    apply(
        ctx,
        &args.id,
        Request::Plain(Change::Reopen {
            reason: args.message.clone(),
        }),
    )
}
