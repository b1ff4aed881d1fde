use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;
use crate::domain::change::Change;

/// Close a resolved ticket: final, locked against replies and edits.
///
/// A ticket that is not resolved closes only with --force and a reason
/// (spam, duplicate, ...).
///
/// Example: tix close k3x --force --reason spam
#[derive(Debug, Args)]
pub(crate) struct CloseArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// Close even though the ticket is not resolved.
    #[arg(long, requires = "reason")]
    force: bool,
    /// Why (required with --force).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &CloseArgs) -> Result<(), CommandError> {
    apply(
        ctx,
        &args.id,
        Request::Plain(Change::Close {
            force: args.force,
            reason: args.reason.clone(),
        }),
    )
}
