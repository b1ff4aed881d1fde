use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::cli::{CommandError, Ctx};
use crate::desk::Desk;

/// Make a new desk: a git repository with tix.toml, tickets/ and one commit.
///
/// DIR is created if needed; an existing git repository is reused (its
/// other files are left alone). Without DIR the desk is the current
/// directory (or -C).
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where to make the desk.
    dir: Option<PathBuf>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &InitArgs) -> Result<(), CommandError> {
    let base = ctx.start_dir()?;
    let dir = match &args.dir {
        Some(dir) => base.join(dir),
        None => base,
    };
    let agent = ctx.agent(None)?;
    let desk = Desk::init(&dir, &agent, ctx.now()?)?;
    desk.store()
        .ensure_merge_driver(&std::env::current_exe()?)?;
    let root = desk.store().root().display().to_string();
    writeln!(
        ctx.ui.out(),
        "Initialised a tix desk in {}",
        root.trim_end_matches('/')
    )?;
    Ok(())
}
