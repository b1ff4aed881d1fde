use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use crate::cli::{CommandError, Ctx};

/// Print the tix(1) manual page, or install it where `man tix` finds it.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix man | man -l -\n  tix man --install\n  sudo tix man --install /usr/local/share/man"
)]
pub(crate) struct ManArgs {
    /// Write the page under this manual directory (as DIR/man1/tix.1)
    /// instead of printing it; without DIR, the `share/man` beside the
    /// directory of the tix binary, which `man` searches for every
    /// directory on PATH.
    #[arg(long, value_name = "DIR")]
    #[allow(clippy::option_option)]
    install: Option<Option<PathBuf>>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ManArgs) -> Result<(), CommandError> {
    let page = page()?;
    let Some(dir) = &args.install else {
        ctx.ui.out().write_all(&page)?;
        return Ok(());
    };
    let dir = match dir {
        Some(dir) => dir.clone(),
        None => beside_binary()?,
    };
    let section = dir.join("man1");
    let path = section.join("tix.1");
    std::fs::create_dir_all(&section)
        .and_then(|()| std::fs::write(&path, &page))
        .map_err(|e| {
            CommandError::user(format!(
                "cannot write {}: {e}; run it as a user who may, or name another manual directory (tix man --install DIR)",
                path.display()
            ))
        })?;
    ctx.ui.status(&format!(
        "Installed the manual page as {}; read it with: man tix",
        path.display()
    ));
    Ok(())
}

/// The page in roff.
pub(crate) fn page() -> Result<Vec<u8>, CommandError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(crate::cli::command()).render(&mut page)?;
    Ok(page)
}

/// `share/man` beside the directory of the running binary
/// (`~/.cargo/bin/tix` → `~/.cargo/share/man`).
fn beside_binary() -> Result<PathBuf, CommandError> {
    let binary = std::env::current_exe()?;
    let binary = binary.canonicalize().unwrap_or(binary);
    let prefix = binary.parent().and_then(Path::parent).ok_or_else(|| {
        CommandError::user(
            "cannot tell where tix is installed; name a manual directory: tix man --install DIR",
        )
    })?;
    Ok(prefix.join("share").join("man"))
}
