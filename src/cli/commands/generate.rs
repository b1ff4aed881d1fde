use std::io::Write;

use clap::{Args, Subcommand};

use crate::cli::{CommandError, Ctx};

/// Generate the man page (for packagers; `tix man` does the same).
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Print the tix(1) man page in roff.
    Man,
}

pub(crate) fn run(ctx: &mut Ctx, args: &GenerateArgs) -> Result<(), CommandError> {
    match args.what {
        What::Man => {
            ctx.ui.out().write_all(&super::man::page()?)?;
        }
    }
    Ok(())
}
