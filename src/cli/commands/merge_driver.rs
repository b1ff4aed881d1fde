//! `tix merge-driver`: the program git runs to merge a ticket file
//! (docs/merge-policy.md). It only reads the three versions git hands it
//! and writes the result over ours; it never touches the index or commits.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{CommandError, Ctx};
use crate::config::Identity;
use crate::desk;
use crate::domain::lifecycle::Statuses;
use crate::domain::merge;
use crate::model::Ticket;
use crate::store::Store;

/// Merge one ticket file three ways; git calls this (docs/merge-policy.md).
///
/// Registered by `tix init` (and by any tix command in a clone that lacks
/// it) as `merge.tix.driver = tix merge-driver %O %A %B %P`. Writes the
/// result to OURS and exits 0. Exits 1 without writing when a side does not
/// parse, or when both sides created a different ticket with the same id,
/// so git reports a conflict and keeps every version in the index.
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

/// The versions git hands the driver, with their index stage during a
/// conflicted merge (`git show :<stage>:<path>`).
const SIDES: [(&str, u8); 3] = [
    ("the base version", 1),
    ("our version", 2),
    ("their version", 3),
];

pub(crate) fn run(ctx: &mut Ctx, args: &MergeDriverArgs) -> Result<(), CommandError> {
    let name = args
        .path
        .clone()
        .unwrap_or_else(|| args.ours.display().to_string());
    let files = [&args.base, &args.ours, &args.theirs];
    let mut texts = Vec::with_capacity(3);
    for (file, (side, _)) in files.into_iter().zip(SIDES) {
        let text = std::fs::read_to_string(file)
            .map_err(|e| CommandError::user(format!("cannot merge {name}: reading {side}: {e}")))?;
        texts.push(text);
    }
    let parse = |text: &str, (side, stage): (&str, u8)| -> Result<Ticket, CommandError> {
        Ticket::parse(text).map_err(|e| {
            let line = e.line.map(|l| format!(" line {l}")).unwrap_or_default();
            let mut err = CommandError::user(format!(
                "cannot merge {name}: {side} does not parse ({}{line}); \
                 git keeps the file conflicted for you to resolve",
                e.message
            ));
            if args.path.is_some() {
                err = err.hint(format!(
                    "`git show :{stage}:{name}` prints {side}; fix it, write the \
                     merged ticket to {name}, `git add {name}`, then run `tix doctor`"
                ));
            }
            err
        })
    };
    let base = if texts[0].trim().is_empty() {
        None
    } else {
        Some(parse(&texts[0], SIDES[0])?)
    };
    let ours = parse(&texts[1], SIDES[1])?;
    let theirs = parse(&texts[2], SIDES[2])?;
    // Status categories and the identity of merge-made events come from the
    // desk's config (git runs drivers at the top of the work tree); a broken
    // config falls back to the defaults rather than failing the merge.
    let config = ctx
        .start_dir()
        .ok()
        .and_then(|dir| Store::discover(&dir).ok())
        .and_then(|store| desk::load_config(&store).ok());
    let (statuses, identity) = config.map_or_else(
        || (Statuses::builtin(), Identity::default()),
        |config| (config.statuses, config.desk.automation),
    );
    let merged =
        merge::merge(base.as_ref(), &ours, &theirs, &statuses, &identity.email).map_err(|e| {
            CommandError::user(format!(
                "cannot merge {name}: {e}; keep one and make the other again with `tix new` \
                 (docs/merge-policy.md)"
            ))
        })?;
    std::fs::write(&args.ours, merged.to_toml(&statuses))
        .map_err(|e| CommandError::user(format!("cannot merge {name}: writing the result: {e}")))?;
    Ok(())
}
