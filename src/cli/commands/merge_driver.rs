use std::path::PathBuf;

use clap::Args;

use crate::cli::{CommandError, Ctx};
use crate::desk;
use crate::lifecycle::Statuses;
use crate::merge;
use crate::model::Ticket;
use crate::store::Store;

/// Merge one ticket file three ways; git calls this (docs/merge-policy.md).
///
/// Registered by `tix init` (and by any tix command in a clone that lacks
/// it) as `merge.tix.driver = tix merge-driver %O %A %B %P`. Writes the
/// result to OURS and exits 0; exits 1 without writing when a side does not
/// parse, so git reports a conflict instead of losing data.
#[derive(Debug, Args)]
pub(crate) struct MergeDriverArgs {
    /// The common ancestor's version (%O).
    base: PathBuf,
    /// Our version (%A); receives the result.
    ours: PathBuf,
    /// Their version (%B).
    theirs: PathBuf,
    /// The path in the repository (%P), for messages.
    path: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &MergeDriverArgs) -> Result<(), CommandError> {
    let name = args
        .path
        .clone()
        .unwrap_or_else(|| args.ours.display().to_string());
    let read = |file: &PathBuf, side: &str| -> Result<String, CommandError> {
        std::fs::read_to_string(file)
            .map_err(|e| CommandError::user(format!("cannot merge {name}: reading {side}: {e}")))
    };
    let parse = |text: &str, side: &str| -> Result<Ticket, CommandError> {
        Ticket::parse(text).map_err(|e| {
            let line = e.line.map(|l| format!(" line {l}")).unwrap_or_default();
            CommandError::user(format!(
                "cannot merge {name}: {side} version does not parse ({}{line}); resolve by hand",
                e.message
            ))
        })
    };
    let base_text = read(&args.base, "base")?;
    let base = if base_text.trim().is_empty() {
        None
    } else {
        Some(parse(&base_text, "base")?)
    };
    let ours = parse(&read(&args.ours, "ours")?, "our")?;
    let theirs = parse(&read(&args.theirs, "theirs")?, "their")?;
    // Status categories come from the desk's config; git runs drivers at
    // the top of the work tree.
    let statuses = ctx
        .start_dir()
        .ok()
        .and_then(|dir| Store::discover(&dir).ok())
        .and_then(|store| desk::load_config(&store).ok())
        .map_or_else(Statuses::builtin, |config| config.statuses);
    let merged = merge::merge(base.as_ref(), &ours, &theirs, &statuses);
    std::fs::write(&args.ours, merged.to_toml(&statuses))
        .map_err(|e| CommandError::user(format!("cannot merge {name}: writing the result: {e}")))?;
    Ok(())
}
