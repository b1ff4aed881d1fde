//! `tix sync`: pull, merge and push through the user's own git.

use std::io::Write;

use clap::Args;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::setup;

/// Pull, merge and push the desk through your own git.
///
/// Runs `git pull --no-rebase` (ticket files merge through the tix merge
/// driver, so replies on both sides are kept), commits a merge with a
/// `Tix-Ticket` trailer for each ticket it changed, then `git push`. When the
/// push is rejected because the remote moved meanwhile (others pushed
/// first), it pulls and pushes again after a short random pause, for up to
/// a minute, and says how many pulls it took. A remote that refuses for
/// another reason is not retried: git's explanation is in the message.
/// Your remotes, credentials and git config apply. On failure the desk is
/// left as it was before the pull (never mid-merge), and the
/// message names the conflicted files. Works while the committed tix.toml
/// is broken, so a clone can pull a teammate's fix.
/// Without an agent (--as, TIX_AGENT, git's user), a merge is made as the
/// desk's automation identity, so the command runs from cron as it is.
#[derive(Debug, Args)]
pub(crate) struct SyncArgs {}

pub(crate) fn run(ctx: &mut Ctx, _args: &SyncArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let agent = ctx.explicit_agent();
    let report = setup::sync(&ctx.start_dir()?, agent.as_deref(), ctx.now()?)?;
    if format == Format::Json {
        let json = SyncJson {
            upstream: &report.upstream,
            pulls: report.retries + 1,
        };
        return Ok(ctx.ui.json(&json)?);
    }
    let retry = match report.retries {
        0 => String::new(),
        1 => " (after a second pull: the remote had moved)".to_owned(),
        n => format!(" (after {} pulls: others kept pushing first)", n + 1),
    };
    writeln!(ctx.ui.out(), "Synced with {}{retry}.", report.upstream)?;
    Ok(())
}

/// `tix sync --format json`.
#[derive(serde::Serialize)]
struct SyncJson<'a> {
    /// The upstream branch synced with (`origin/main`).
    upstream: &'a str,
    /// How many pulls it took (more than one when others pushed first).
    pulls: u32,
}
