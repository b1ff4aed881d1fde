use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::setup;

/// Make a new desk: a git repository with tix.toml, tickets/ and one commit.
///
/// DIR is created if needed; an existing git repository is reused (its
/// other files are left alone, a committed .gitattributes keeps its lines).
/// Without DIR the desk is the current directory (or -C). Refused inside
/// another desk; inside another repository the desk gets its own
/// repository, as `git init` does. It registers tix's merge driver in the
/// repository's config, so ticket files merge without conflicts. A fresh
/// `git clone` of a desk lacks that registration (git copies no config):
/// the first tix command run in the clone registers it, `tix init` there
/// included.
#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Where to make the desk.
    dir: Option<PathBuf>,
    /// For a very large desk (tens of thousands of tickets): turn off the
    /// checksum of git's index (index.skipHash, as git's feature.manyFiles
    /// does), so a change is about a fifth faster at 100,000 tickets. Git
    /// 2.40 or later is needed; libgit2 before 1.8 (and the GUIs and IDEs
    /// built on it), dulwich before 0.22.8, isomorphic-git and git fsck
    /// before 2.40 cannot read such an index (docs/storage.md).
    #[arg(long)]
    many_files: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &InitArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let base = ctx.start_dir()?;
    let dir = match &args.dir {
        Some(dir) => base.join(dir),
        None => base,
    };
    let agent = ctx.explicit_agent();
    let made = setup::init(&dir, agent.as_deref(), ctx.now()?, args.many_files)?;
    let root = made.desk.root().display().to_string();
    let root = root.trim_end_matches('/');
    if format == Format::Json {
        let json = InitJson {
            desk: root,
            created: made.created,
            merge_driver_registered: made.registered_driver,
            index_skip_hash: made.skip_hash,
            outer_repository: made.outer.as_deref().map(|p| p.display().to_string()),
        };
        return Ok(ctx.ui.json(&json)?);
    }
    if let Some(outer) = &made.outer {
        ctx.ui.status(&format!(
            "Note: {} is inside the git repository {}; the desk has a repository of its own, \
             as `git init` would make.",
            dir.display(),
            outer.display()
        ));
    }
    if made.skip_hash {
        ctx.ui.status(SKIP_HASH_NOTE);
    }
    let line = match (made.created, made.registered_driver) {
        (true, _) => format!("Initialised a tix desk in {root}"),
        (false, true) => format!(
            "{root} is a tix desk already; registered tix's merge driver in its git config (a fresh clone lacks it)."
        ),
        (false, false) => format!(
            "{root} is a tix desk already: its tix.toml reads and tix's merge driver is registered; nothing to do."
        ),
    };
    writeln!(ctx.ui.out(), "{line}")?;
    Ok(())
}

/// `tix init --format json`.
#[derive(serde::Serialize)]
struct InitJson<'a> {
    /// The desk's top directory.
    desk: &'a str,
    /// Whether it was made now (false: it was a desk already).
    created: bool,
    /// Whether tix's merge driver was registered now.
    merge_driver_registered: bool,
    /// Whether `index.skipHash` was set now (`--many-files`).
    index_skip_hash: bool,
    /// The repository the desk's directory lies inside, if any.
    outer_repository: Option<String>,
}

/// What `tix init` says when it turns git's index checksum off.
const SKIP_HASH_NOTE: &str = "Note: tix set index.skipHash in the repository's git config, as git's \
     feature.manyFiles does, so changes skip hashing git's index. Tools built on libgit2 \
     before 1.8 cannot read such an index; `git config index.skipHash false` undoes it.";
