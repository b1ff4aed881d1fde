use clap::Args;

use crate::cli::shared::run_automation;
use crate::cli::{CommandError, Ctx};

/// Run the automation rules that close tickets (default: resolved for 4
/// days without customer activity -> closed).
///
/// Same guarantees as `tix automate`: --dry-run writes nothing, one commit
/// per closed ticket in one batch, idempotent, never two runs at once.
#[derive(Debug, Args)]
pub(crate) struct AutocloseArgs {
    /// List what would be closed; write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &AutocloseArgs) -> Result<(), CommandError> {
    run_automation(ctx, true, args.dry_run)
}
