use std::io::Write;

use clap::Args;
use clap_complete::Shell;

use crate::cli::{CommandError, Ctx};

/// Print a shell completion script.
///
/// Example: tix completions bash > ~/.local/share/bash-completion/completions/tix
#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

pub(crate) fn run(ctx: &mut Ctx, args: &CompletionsArgs) -> Result<(), CommandError> {
    let mut command = crate::cli::command();
    // clap_complete panics when its writer fails (a closed pipe, a full
    // disk): it writes to memory, and tix writes that out.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "tix", &mut script);
    ctx.ui.out().write_all(&script)?;
    Ok(())
}
