use clap::Args;

use crate::cli::automation;
use crate::cli::{CommandError, Ctx};

/// Run the automation rules that close tickets (default: resolved for 4
/// days without customer activity -> closed) and those that wake postponed
/// tickets whose --until has passed.
///
/// Same guarantees and exit codes as `tix automate`: --dry-run writes
/// nothing, one commit per changed ticket in one batch, idempotent, never
/// two runs at once.
#[derive(Debug, Args)]
pub(crate) struct AutocloseArgs {
    /// List what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &AutocloseArgs) -> Result<(), CommandError> {
    automation::run(ctx, true, args.dry_run)
}
