use clap::Args;

use crate::cli::shared::run_automation;
use crate::cli::{CommandError, Ctx};

/// Run every [[automation]] rule of tix.toml (for cron or a systemd timer).
///
/// One commit per changed ticket, written in one batch, as the automation
/// identity with a Tix-Rule trailer. A second run right after changes
/// nothing. Two runs never overlap: the second exits with code 3.
///
/// Example (crontab): */10 * * * * cd /srv/desk && git pull -q && tix automate && git push -q
#[derive(Debug, Args)]
pub(crate) struct AutomateArgs {
    /// List what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &AutomateArgs) -> Result<(), CommandError> {
    run_automation(ctx, false, args.dry_run)
}
