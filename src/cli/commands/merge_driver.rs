//! `tix merge-driver`: the program git runs to merge a ticket file
//! (docs/merge-policy.md), through `desk::setup::merge_files`, which only
//! reads the three versions git hands it and writes the result over ours;
//! it never touches the index or commits.

use std::path::PathBuf;

use clap::Args;

use crate::cli::{CommandError, Ctx};
use crate::desk::setup::{self, MergeError, MergeFiles};

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

pub(crate) fn run(ctx: &mut Ctx, args: &MergeDriverArgs) -> Result<(), CommandError> {
    let name = args
        .path
        .clone()
        .unwrap_or_else(|| args.ours.display().to_string());
    let files = MergeFiles {
        base: &args.base,
        ours: &args.ours,
        theirs: &args.theirs,
    };
    let start = ctx.start_dir().ok();
    setup::merge_files(&files, start.as_deref()).map_err(|err| {
        let hint = match &err {
            MergeError::Parse { side, .. } if args.path.is_some() => Some(format!(
                "`git show :{}:{name}` prints {}; fix it, write the merged ticket to {name}, \
                 `git add {name}`, then run `tix doctor`",
                side.stage(),
                side.name()
            )),
            _ => None,
        };
        let message = match &err {
            MergeError::Parse { .. } => format!(
                "cannot merge {name}: {err}; git keeps the file conflicted for you to resolve"
            ),
            MergeError::Merge(_) => format!(
                "cannot merge {name}: {err}; keep one and make the other again with `tix new` \
                 (docs/merge-policy.md)"
            ),
            _ => format!("cannot merge {name}: {err}"),
        };
        let error = CommandError::user(message);
        match hint {
            Some(hint) => error.hint(hint),
            None => error,
        }
    })
}
