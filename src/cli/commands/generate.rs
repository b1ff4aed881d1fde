use std::io::Write;

use clap::{Args, CommandFactory, Subcommand};

use crate::cli::{Cli, CommandError, Ctx};

/// Generate the man page (for packagers).
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
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command()).render(&mut page)?;
            ctx.ui.out().write_all(&page)?;
        }
    }
    Ok(())
}
