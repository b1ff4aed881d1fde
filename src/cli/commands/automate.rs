use clap::Args;

use crate::cli::automation;
use crate::cli::{CommandError, Ctx};

/// Run every [[automation]] rule of tix.toml (for cron or a systemd timer).
///
/// One commit per changed ticket, written in one batch, as the automation
/// identity with a Tix-Rule trailer. A second run right after changes
/// nothing. Exit codes: 0 a clean run, 3 another run holds the lock, 4 the
/// run committed what it could but met problems (tickets it could not
/// change, unreadable ticket files, rules that undo each other, failed
/// hooks: see the warnings).
///
/// Example (crontab): */15 * * * * cd /srv/helpdesk && tix sync && tix automate && tix sync
#[derive(Debug, Args)]
pub(crate) struct AutomateArgs {
    /// List what would change; write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &AutomateArgs) -> Result<(), CommandError> {
    automation::run(ctx, false, args.dry_run)
}
