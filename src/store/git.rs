//! git2 plumbing: reading `HEAD`, one-file commits with compare-and-swap,
//! refreshing one path in the index and working tree, and the journal that
//! lets the next writer finish a refresh that a killed process left undone.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write as _;
use std::path::Path;

use git2::build::TreeUpdateBuilder;
use git2::{Commit, ErrorCode, FileMode, ObjectType, Oid, Repository, Tree};

use super::gitfmt::index::LockedIndex;
use super::gitfmt::loose::Loose;
use super::gitfmt::tree;
use super::lock::GitLockClaim;
use super::{Error, Write};
use crate::model::Timestamp;

/// Who a commit is from, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Author name.
    pub name: String,
    /// Author email.
    pub email: String,
    /// Commit time.
    pub time: Timestamp,
}

impl Signature {
    fn to_git(&self) -> Result<git2::Signature<'static>, Error> {
        let time = git2::Time::new(self.time.unix(), 0);
        Ok(git2::Signature::new(&self.name, &self.email, &time)?)
    }
}

/// One commit of a ticket's history.
#[derive(Clone, Debug)]
pub struct CommitInfo {
    /// Commit id.
    pub id: String,
    /// Author time.
    pub time: Timestamp,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// First line of the message.
    pub summary: String,
    /// The `Tix-Action` trailer.
    pub action: Option<String>,
    /// The `Tix-Status` trailer.
    pub status: Option<String>,
    /// The `Tix-Rule` trailer.
    pub rule: Option<String>,
}

/// The `Name <email> <seconds> +0000` of a commit's author or committer
/// line, with the name and address trimmed as libgit2 trims them (so
/// byte for byte what `git_commit_create` writes), or why `sig` cannot be
/// one.
pub(super) fn signature_line(sig: &Signature) -> Result<String, Error> {
    let refuse = |reason: &'static str| Error::Identity {
        who: format!("{} <{}>", sig.name, sig.email),
        reason,
    };
    let bad = |part: &str| part.contains(|c: char| c.is_control() || c == '<' || c == '>');
    if bad(&sig.name) || bad(&sig.email) {
        return Err(refuse(
            "a name or address holds a line break, another control character or an angle bracket",
        ));
    }
    let seconds = sig.time.unix();
    if seconds < 0 {
        // git reads a negative time as a broken date (`git fsck`).
        return Err(refuse("git records no time before 1970"));
    }
    let time = git2::Time::new(seconds, 0);
    // What is left to refuse: a name or address that trims to nothing.
    let git_sig = git2::Signature::new(&sig.name, &sig.email, &time)
        .map_err(|_| refuse("the name or the address is empty"))?;
    Ok(format!(
        "{} <{}> {seconds} +0000",
        git_sig.name().unwrap_or_default(),
        git_sig.email().unwrap_or_default(),
    ))
}

pub(super) fn head_commit(repo: &Repository) -> Result<Option<Commit<'_>>, Error> {
    match repo.head() {
        Ok(head) => Ok(Some(head.peel_to_commit()?)),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn head_tree(repo: &Repository) -> Result<Option<Tree<'_>>, Error> {
    Ok(match head_commit(repo)? {
        Some(commit) => Some(commit.tree()?),
        None => None,
    })
}

pub(super) fn blob_in(tree: &Tree<'_>, path: &str) -> Result<Option<Oid>, Error> {
    match tree.get_path(Path::new(path)) {
        Ok(entry) if entry.kind() == Some(ObjectType::Blob) => Ok(Some(entry.id())),
        Ok(_) => Ok(None),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Tree objects as they are stored, read through libgit2 and kept by id
/// (a tree's id names its content, so a kept tree is never stale): a
/// change looks up its path in `HEAD` and then rewrites the same trees,
/// and each is read and inflated once. Holds the last few only, so a run
/// of thousands of changes does not keep each `tickets/` tree it made.
#[derive(Default)]
pub(super) struct RawTrees {
    recent: std::cell::RefCell<std::collections::VecDeque<(Oid, std::rc::Rc<[u8]>)>>,
}

impl RawTrees {
    /// How many trees are kept: a change reads three (the root,
    /// `tickets/`, a shard), four with a ticket's own directory.
    const KEPT: usize = 8;

    /// The tree `id`'s raw entries; `None` when `id` is not a tree.
    pub(super) fn read(
        &self,
        repo: &Repository,
        id: Oid,
    ) -> Result<Option<std::rc::Rc<[u8]>>, Error> {
        if let Some((_, data)) = self.recent.borrow().iter().find(|(kept, _)| *kept == id) {
            return Ok(Some(std::rc::Rc::clone(data)));
        }
        let odb = repo.odb()?;
        let object = odb.read(id)?;
        if object.kind() != ObjectType::Tree {
            return Ok(None);
        }
        let data: std::rc::Rc<[u8]> = object.data().into();
        let mut recent = self.recent.borrow_mut();
        if recent.len() == Self::KEPT {
            recent.pop_front();
        }
        recent.push_back((id, std::rc::Rc::clone(&data)));
        Ok(Some(data))
    }

    /// The blob at `path` under the tree `root`, as [`blob_in`] finds it:
    /// `None` when a part of the path is missing or not a directory, or
    /// the path names a directory or a submodule.
    pub(super) fn blob_at(
        &self,
        repo: &Repository,
        root: Oid,
        path: &str,
    ) -> Result<Option<Oid>, Error> {
        let mut tree = root;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let Some(data) = self.read(repo, tree)? else {
                return Ok(None);
            };
            let entry = super::gitfmt::pack_reader::entry_kind_id(&data, part.as_bytes());
            match (entry, parts.peek()) {
                (Some((ObjectType::Blob, id)), None) => return Ok(Some(id)),
                (Some((ObjectType::Tree, id)), Some(_)) => tree = id,
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The blob at `path` in `HEAD` (see [`Self::blob_at`]).
    pub(super) fn head_blob(&self, repo: &Repository, path: &str) -> Result<Option<Oid>, Error> {
        self.blob_in_commit(repo, head_commit(repo)?.as_ref(), path)
    }

    /// The blob at `path` in `commit` (none without a commit), for a
    /// caller that has read `HEAD` already.
    pub(super) fn blob_in_commit(
        &self,
        repo: &Repository,
        commit: Option<&Commit<'_>>,
        path: &str,
    ) -> Result<Option<Oid>, Error> {
        match commit {
            Some(commit) => self.blob_at(repo, commit.tree_id(), path),
            None => Ok(None),
        }
    }
}

pub(super) fn head_blob(repo: &Repository, path: &str) -> Result<Option<Oid>, Error> {
    match head_tree(repo)? {
        Some(tree) => blob_in(&tree, path),
        None => Ok(None),
    }
}

pub(super) fn blob_text(repo: &Repository, oid: Oid, path: &str) -> Result<String, Error> {
    let blob = repo.find_blob(oid)?;
    String::from_utf8(blob.content().to_vec()).map_err(|_| Error::NotText(path.to_owned()))
}

/// Returns the blob id the working-tree file would have, `None` if absent.
pub(super) fn worktree_blob(root: &Path, path: &str) -> Result<Option<Oid>, Error> {
    let full = root.join(path);
    match fs::symlink_metadata(&full) {
        Ok(meta) if meta.is_file() => Ok(Some(Oid::hash_file(ObjectType::Blob, &full)?)),
        Ok(_) => Ok(Some(Oid::ZERO_SHA1)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&full, e)),
    }
}

pub(super) fn index_blob(repo: &Repository, path: &str) -> Result<Option<Oid>, Error> {
    if let Some(oid) = super::gitfmt::index::entry_oid(&repo.path().join("index"), path) {
        return Ok(oid);
    }
    let read = repo.index().and_then(|mut index| {
        index.read(false)?;
        Ok(index.get_path(Path::new(path), 0).map(|entry| entry.id))
    });
    match read {
        Ok(oid) => Ok(oid),
        // A format libgit2 cannot read (a split index): ask git.
        Err(e) if e.code() != ErrorCode::Locked => index_blob_with_git(repo, path),
        Err(e) => Err(e.into()),
    }
}

/// Looks `path` up in the index with `git ls-files --stage` (see
/// [`staged_with_git`]).
fn index_blob_with_git(repo: &Repository, path: &str) -> Result<Option<Oid>, Error> {
    Ok(staged_with_git(repo, &[path])?.remove(path))
}

/// The stage-0 blob ids of those `paths` that are in the index, for
/// batches: one read of the index file, through libgit2 or else git when the
/// fast path does not know the format.
pub(super) fn index_blobs(
    repo: &Repository,
    paths: &[&str],
) -> Result<HashMap<String, Oid>, Error> {
    let wanted: HashSet<&str> = paths.iter().copied().collect();
    if let Some(entries) = super::gitfmt::index::entry_oids(&repo.path().join("index"), &wanted) {
        return Ok(entries);
    }
    let read = repo.index().and_then(|mut index| {
        index.read(false)?;
        Ok(index
            .iter()
            .filter(|e| (e.flags >> 12) & 3 == 0)
            .filter_map(|e| {
                let path = String::from_utf8(e.path).ok()?;
                wanted.contains(path.as_str()).then_some((path, e.id))
            })
            .collect())
    });
    match read {
        Ok(entries) => Ok(entries),
        Err(e) if e.code() != ErrorCode::Locked => {
            let mut staged = staged_with_git(repo, &[])?;
            staged.retain(|path, _| wanted.contains(path.as_str()));
            Ok(staged)
        }
        Err(e) => Err(e.into()),
    }
}

/// The stage-0 blob ids of `paths` (all paths when empty) from
/// `git ls-files --stage`, for index formats libgit2 cannot read (a split
/// index). A path in conflict has no stage-0 entry and is left out, so it
/// reads as changed.
fn staged_with_git(repo: &Repository, paths: &[&str]) -> Result<HashMap<String, Oid>, Error> {
    let root = repo.workdir().unwrap_or_else(|| repo.path());
    let output = std::process::Command::new("git")
        .current_dir(root)
        .args([
            "-c",
            "core.quotePath=false",
            "ls-files",
            "--stage",
            "-z",
            "--",
        ])
        .args(paths)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io(Path::new("git"), e))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::GitCommand {
            command: "ls-files",
            reason: stderr.lines().next().unwrap_or_default().to_owned(),
        });
    }
    // `<mode> <oid> <stage>\t<path>\0`
    let mut staged = HashMap::new();
    for record in output.stdout.split(|b| *b == 0) {
        let record = String::from_utf8_lossy(record);
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        if let (Some(_), Some(oid), Some("0")) = (meta.next(), meta.next(), meta.next())
            && let Ok(oid) = Oid::from_str(oid)
        {
            staged.insert(path.to_owned(), oid);
        }
    }
    Ok(staged)
}

/// Refuses when the user changed `path` in the working tree or the index.
pub(super) fn check_clean(
    repo: &Repository,
    root: &Path,
    path: &str,
    head: Option<Oid>,
) -> Result<(), Error> {
    check_clean_with(root, path, head, || index_blob(repo, path))
}

/// [`check_clean`] with the index entry looked up by the caller (batches
/// read the index once).
pub(super) fn check_clean_with(
    root: &Path,
    path: &str,
    head: Option<Oid>,
    index_entry: impl FnOnce() -> Result<Option<Oid>, Error>,
) -> Result<(), Error> {
    let worktree = worktree_blob(root, path)?;
    if head.is_none() && worktree.is_some() {
        return Err(Error::Exists(path.to_owned()));
    }
    let index = index_entry()?;
    if worktree.is_none() && head.is_some() && index == head && sparse(root) {
        // Not an edit: the file is outside the sparse checkout's cone.
        return Err(Error::OutsideSparse(path.to_owned()));
    }
    if worktree != head || index != head {
        return Err(Error::Dirty(path.to_owned()));
    }
    Ok(())
}

/// Whether the repository at `root` has a sparse checkout: its files may
/// be missing from the working tree on purpose.
fn sparse(root: &Path) -> bool {
    Repository::open(root)
        .and_then(|repo| repo.config())
        .and_then(|config| config.get_bool("core.sparseCheckout"))
        .unwrap_or(false)
}

pub(super) const JOURNAL: &str = "journal";

/// The claim kind of git's lock on the branch ref (see [`GitLockClaim`]).
pub(super) const REF_LOCK: &str = "ref";

/// Returns the ref `HEAD` moves: the branch it names, or `HEAD` itself
/// when detached.
pub(super) fn head_target(repo: &Repository) -> Result<String, Error> {
    let head = repo.find_reference("HEAD")?;
    Ok(head
        .symbolic_target()
        .ok()
        .flatten()
        .unwrap_or("HEAD")
        .to_owned())
}

/// Returns the lock file git takes to move the ref `HEAD` names.
pub(super) fn branch_lock(repo: &Repository) -> Result<std::path::PathBuf, Error> {
    Ok(branch_lock_of(repo, &head_target(repo)?))
}

/// Returns the lock file git takes to move the ref `name`.
fn branch_lock_of(repo: &Repository, name: &str) -> std::path::PathBuf {
    // Branches live in the common directory; a detached worktree's HEAD in
    // its own.
    let dir = if name == "HEAD" {
        repo.path()
    } else {
        repo.commondir()
    };
    dir.join(format!("{name}.lock"))
}

fn oid_text(oid: Option<Oid>) -> String {
    oid.map_or_else(|| "-".to_owned(), |o| o.to_string())
}

pub(super) fn write_journal(
    private: &Path,
    entries: &[(String, Option<Oid>)],
) -> Result<(), Error> {
    let text: String = entries
        .iter()
        .map(|(path, old)| format!("{}\t{path}\n", oid_text(*old)))
        .collect();
    write_atomic(&private.join(JOURNAL), text.as_bytes())
}

/// Adds entries to the journal (a deferred run).
pub(super) fn append_journal(
    private: &Path,
    entries: &[(String, Option<Oid>)],
) -> Result<(), Error> {
    use std::io::Write as _;
    if entries.is_empty() {
        return Ok(());
    }
    let path = private.join(JOURNAL);
    let text: String = entries
        .iter()
        .map(|(path, old)| format!("{}\t{path}\n", oid_text(*old)))
        .collect();
    let mut file = super::layout::in_dir(private, || {
        fs::OpenOptions::new().create(true).append(true).open(&path)
    })
    .map_err(|e| Error::io(&path, e))?;
    // No fsync, as for every journal write: it guards against a killed
    // process, whose writes the kernel keeps.
    file.write_all(text.as_bytes())
        .map_err(|e| Error::io(&path, e))
}

pub(super) fn remove_journal(private: &Path) -> Result<(), Error> {
    let path = private.join(JOURNAL);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Finishes a refresh left undone by a killed writer: every journalled path
/// whose working-tree file and index entry still hold the old content is
/// brought to `HEAD`. Content the user changed meanwhile is left alone.
pub(super) fn recover(
    repo: &Repository,
    root: &Path,
    private: &Path,
) -> Result<Vec<String>, Error> {
    let journal = private.join(JOURNAL);
    let text = match fs::read_to_string(&journal) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&journal, e)),
    };
    let mut repaired = Vec::new();
    let tree = head_tree(repo)?;
    let mut snapshot = match &tree {
        Some(tree) => Some(Snapshot::new(repo, tree)?),
        None => None,
    };
    let paths: HashSet<&str> = text
        .lines()
        .filter_map(|line| Some(line.split_once('\t')?.1))
        .collect();
    let index = super::gitfmt::index::entry_oids(&repo.path().join("index"), &paths);
    for line in text.lines() {
        let Some((old, path)) = line.split_once('\t') else {
            continue;
        };
        let old = if old == "-" {
            None
        } else {
            Oid::from_str(old).ok()
        };
        let head = match (super::layout::id_from_path(path), &mut snapshot) {
            (Some(id), Some(snapshot)) => snapshot.blob(&id)?,
            _ => head_blob(repo, path)?,
        };
        if head == old {
            continue;
        }
        // Each side is repaired when it holds the old or the new content
        // (a refresh cut short leaves any mix of the two); anything else is
        // the user's own edit and stays.
        let on_disk = worktree_blob(root, path)?;
        let in_index = match &index {
            Some(entries) => entries.get(path).copied(),
            None => index_blob(repo, path)?,
        };
        let ours = |side: Option<Oid>| side == old || side == head;
        if (on_disk != head || in_index != head) && ours(on_disk) && ours(in_index) {
            repaired.push(path.to_owned());
        }
    }
    refresh(repo, root, &repaired)?;
    remove_journal(private)?;
    Ok(repaired)
}

/// Commits `write` at `path` on top of `parent`. Returns `None` when the
/// branch moved meanwhile (the caller retries from the new head). After the
/// commit the working-tree file is written and its index entry set, through
/// `index` (git's index, read and locked by the caller) when there is one.
#[allow(clippy::too_many_arguments)]
pub(super) fn commit_one(
    repo: &Repository,
    root: &Path,
    private: &Path,
    parent: Option<&Commit<'_>>,
    path: &str,
    old: Option<Oid>,
    write: &Write,
    files: &[(String, &[u8])],
    sig: &Signature,
    index: &mut Option<LockedIndex>,
    deferred: Option<&[(String, Option<Oid>)]>,
    trees: &RawTrees,
) -> Result<Option<Oid>, Error> {
    let entries: Vec<Staged<'_>> =
        std::iter::once((path.to_owned(), old, write.content.as_bytes()))
            .chain(
                files
                    .iter()
                    .map(|(file, bytes)| (file.clone(), None, *bytes)),
            )
            .collect();
    // The locked index was opened for the ticket's path only.
    let in_index = files.is_empty();
    let commit = NewCommit {
        parent,
        message: &write.message,
        sig,
        deferred,
        trees,
    };
    commit_paths(repo, root, private, &commit, &entries, index, in_index)
}

/// One path of a commit: where, its blob before (`None`: a new file), and
/// its new content.
pub(super) type Staged<'a> = (String, Option<Oid>, &'a [u8]);

/// What every commit of [`commit_paths`] needs besides its paths.
pub(super) struct NewCommit<'a, 'r> {
    /// The commit it builds on (`None`: the first commit).
    pub(super) parent: Option<&'a Commit<'r>>,
    /// The commit message.
    pub(super) message: &'a str,
    /// Author and committer.
    pub(super) sig: &'a Signature,
    /// In a deferred run: the paths to add to the run's journal.
    pub(super) deferred: Option<&'a [(String, Option<Oid>)]>,
    /// Where the trees of `parent` are read from.
    pub(super) trees: &'a RawTrees,
}

/// Commits `entries` on top of `commit.parent` in one commit. Returns
/// `None` when the branch moved meanwhile (the caller retries from the new
/// head). After the commit each working-tree file is written and its index
/// entry set: through `index` (git's index, read and locked by the caller)
/// when `in_index` says it was opened for every path, else by another
/// rewrite of the index.
pub(super) fn commit_paths(
    repo: &Repository,
    root: &Path,
    private: &Path,
    commit: &NewCommit<'_, '_>,
    entries: &[Staged<'_>],
    index: &mut Option<LockedIndex>,
    in_index: bool,
) -> Result<Option<Oid>, Error> {
    let objects = match commit.parent {
        Some(parent) => own_objects(repo, parent, entries, commit)?,
        None => None,
    };
    let objects = match objects {
        Some(objects) => objects,
        None => libgit2_objects(repo, commit, entries)?,
    };
    let written: Vec<(String, Oid, &[u8])> = entries
        .iter()
        .zip(&objects.blobs)
        .map(|((path, _, content), blob)| (path.clone(), *blob, *content))
        .collect();
    if let Some(new_paths) = commit.deferred {
        // A deferred run: the journal grows with each path the run touches
        // first, and is worked off at its end (or by the next command).
        append_journal(private, new_paths)?;
    } else {
        let journal: Vec<(String, Option<Oid>)> = entries
            .iter()
            .map(|(path, old, _)| (path.clone(), *old))
            .collect();
        write_journal(private, &journal)?;
    }
    let branch = head_target(repo)?;
    let claim = GitLockClaim::record(private, REF_LOCK, &branch_lock_of(repo, &branch))?;
    let committed = match &objects.then {
        Then::Move { commit: id, from } => repo
            .reference_matching(&branch, *id, true, *from, &reflog_message(commit.message))
            .map(|_| *id),
        Then::Commit(tree) => {
            let sig = commit.sig.to_git()?;
            let parents: Vec<&Commit<'_>> = commit.parent.into_iter().collect();
            repo.commit(Some("HEAD"), &sig, &sig, commit.message, tree, &parents)
        }
    };
    drop(claim);
    match committed {
        Ok(oid) if commit.deferred.is_some() => Ok(Some(oid)),
        Ok(oid) => {
            if in_index {
                refresh_written(repo, root, &written, index.take())?;
            } else {
                drop(index.take());
                let owned = written
                    .into_iter()
                    .map(|(path, blob, content)| Ok((path, blob, content.to_vec())));
                refresh_files(repo, root, owned)?;
            }
            remove_journal(private)?;
            Ok(Some(oid))
        }
        // In a deferred run the journal holds the run's earlier commits.
        Err(e) if e.code() == ErrorCode::Modified => {
            if commit.deferred.is_none() {
                remove_journal(private)?;
            }
            Ok(None)
        }
        Err(e) => {
            if commit.deferred.is_none() {
                remove_journal(private)?;
            }
            Err(e.into())
        }
    }
}

/// The objects of a commit: the blobs of its paths (in their order), and
/// what is left to do.
struct Objects<'r> {
    blobs: Vec<Oid>,
    then: Then<'r>,
}

enum Then<'r> {
    /// The commit is written: move the branch to it from `from`.
    Move { commit: Oid, from: Oid },
    /// The tree is written: libgit2 writes the commit and moves the branch.
    Commit(Tree<'r>),
}

/// Writes the blobs, trees and commit of `entries` on `parent` as loose
/// objects of tix's own making (see `gitfmt::loose` for why). `None` when
/// a path is not a plain file path under directories (libgit2 then does
/// the work, and refuses what it refuses).
fn own_objects<'r>(
    repo: &'r Repository,
    parent: &Commit<'r>,
    entries: &[Staged<'_>],
    commit: &NewCommit<'_, '_>,
) -> Result<Option<Objects<'r>>, Error> {
    let objects_dir = repo.commondir().join("objects");
    let io = |e: std::io::Error| Error::io(&objects_dir, e);
    let mut loose = Loose::new(&objects_dir);
    let mut blobs = Vec::with_capacity(entries.len());
    for (_, _, content) in entries {
        blobs.push(loose.write(ObjectType::Blob, content).map_err(io)?);
    }
    let edits: Vec<(&str, Oid)> = entries
        .iter()
        .zip(&blobs)
        .map(|((path, _, _), blob)| (path.as_str(), *blob))
        .collect();
    let trees = commit.trees;
    let Some(root) = trees.read(repo, parent.tree_id())? else {
        return Ok(None);
    };
    let mut read = |id: Oid| -> Result<Option<Vec<u8>>, Error> {
        Ok(trees.read(repo, id)?.map(|data| data.to_vec()))
    };
    let mut write_tree = |data: &[u8]| loose.write(ObjectType::Tree, data).map_err(io);
    let Some(tree) = tree::update(root.to_vec(), &edits, &mut read, &mut write_tree)? else {
        return Ok(None);
    };
    let signature = signature_line(commit.sig)?;
    // Byte for byte what git_commit_create writes.
    let text = format!(
        "tree {tree}\nparent {}\nauthor {signature}\ncommitter {signature}\n\n{}",
        parent.id(),
        commit.message
    );
    let id = loose
        .write(ObjectType::Commit, text.as_bytes())
        .map_err(io)?;
    Ok(Some(Objects {
        blobs,
        then: Then::Move {
            commit: id,
            from: parent.id(),
        },
    }))
}

/// Writes the blobs and tree of `entries` through libgit2.
fn libgit2_objects<'r>(
    repo: &'r Repository,
    commit: &NewCommit<'_, 'r>,
    entries: &[Staged<'_>],
) -> Result<Objects<'r>, Error> {
    let base = match commit.parent {
        Some(parent) => parent.tree()?,
        None => empty_tree(repo)?,
    };
    let mut builder = TreeUpdateBuilder::new();
    let mut blobs = Vec::with_capacity(entries.len());
    for (path, _, content) in entries {
        let blob = repo.blob(content)?;
        builder.upsert(path.as_str(), blob, FileMode::Blob);
        blobs.push(blob);
    }
    let tree_id = builder.create_updated(repo, &base)?;
    Ok(Objects {
        blobs,
        then: Then::Commit(repo.find_tree(tree_id)?),
    })
}

/// The reflog message of a commit, as libgit2's `git_commit_create` writes
/// it: `commit: ` and the summary, which is the first paragraph of the
/// message with each run of blanks that holds a line break made one space
/// and the blanks at its end left out.
fn reflog_message(message: &str) -> String {
    let mut summary = String::from("commit: ");
    let text = message.trim_start_matches('\n');
    let bytes = text.as_bytes();
    let mut blank: Option<(usize, bool)> = None;
    for (at, ch) in text.char_indices() {
        if ch == '\n' {
            match bytes.get(at + 1..) {
                None | Some([] | [b'\n', ..] | [b'\r', b'\n', ..]) => break,
                _ => {}
            }
        }
        if matches!(ch, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r') {
            let (start, newline) = blank.unwrap_or((at, false));
            blank = Some((start, newline || ch == '\n'));
        } else {
            match blank.take() {
                Some((_, true)) => summary.push(' '),
                Some((start, false)) => summary.push_str(&text[start..at]),
                None => {}
            }
            summary.push(ch);
        }
    }
    summary
}

/// Brings paths that were just committed, each with its blob and content,
/// to the working tree and the index, without reading them back from git.
fn refresh_written(
    repo: &Repository,
    root: &Path,
    written: &[(String, Oid, &[u8])],
    index: Option<LockedIndex>,
) -> Result<(), Error> {
    let mut updates = Vec::with_capacity(written.len());
    for (path, blob, content) in written {
        let full = write_worktree_file(repo, root, path, content)?;
        updates.push((path.clone(), *blob, full));
    }
    if let Some(index) = index
        && index.commit(&updates, skip_hash(repo)).is_some()
    {
        return Ok(());
    }
    let paths: Vec<String> = written.iter().map(|(path, _, _)| path.clone()).collect();
    refresh(repo, root, &paths)
}

/// Tells whether git is set to write the index without its checksum
/// (`index.skipHash`, which saves hashing the whole index on every change).
pub(super) fn skip_hash(repo: &Repository) -> bool {
    repo.config()
        .and_then(|config| config.get_bool("index.skipHash"))
        .unwrap_or(false)
}

/// The `(major, minor)` version of the git on PATH, if it runs.
pub(super) fn installed_version() -> Option<(u32, u32)> {
    let output = std::process::Command::new("git")
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    parse_version(std::str::from_utf8(&output.stdout).ok()?)
}

/// Reads `git version 2.47.3` (or `git version 2.39.5.windows.1`).
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let mut numbers = text.strip_prefix("git version ")?.trim().split('.');
    let major = numbers.next()?.parse().ok()?;
    let minor = numbers.next()?.parse().ok()?;
    Some((major, minor))
}

/// Commits several files at once (used by `tix init`).
pub(super) fn commit_files(
    repo: &Repository,
    root: &Path,
    files: &[(&str, String)],
    sig: &Signature,
    message: &str,
) -> Result<Oid, Error> {
    let parent = head_commit(repo)?;
    let base = match &parent {
        Some(commit) => commit.tree()?,
        None => empty_tree(repo)?,
    };
    let mut builder = TreeUpdateBuilder::new();
    for (path, content) in files {
        builder.upsert(*path, repo.blob(content.as_bytes())?, FileMode::Blob);
    }
    let tree = repo.find_tree(builder.create_updated(repo, &base)?)?;
    let sig = sig.to_git()?;
    let parents: Vec<&Commit<'_>> = parent.iter().collect();
    let private = repo.path().join(super::layout::PRIVATE_DIR);
    let claim = GitLockClaim::record(&private, REF_LOCK, &branch_lock(repo)?)?;
    let oid = repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)?;
    drop(claim);
    let paths: Vec<String> = files.iter().map(|(p, _)| (*p).to_owned()).collect();
    refresh(repo, root, &paths)?;
    Ok(oid)
}

fn empty_tree(repo: &Repository) -> Result<Tree<'_>, Error> {
    let oid = repo.treebuilder(None)?.write()?;
    Ok(repo.find_tree(oid)?)
}

/// Brings the working-tree files and index entries of `paths` to `HEAD`.
pub(super) fn refresh(repo: &Repository, root: &Path, paths: &[String]) -> Result<(), Error> {
    let tree = head_tree(repo)?;
    let mut snapshot = match &tree {
        Some(tree) => Some(Snapshot::new(repo, tree)?),
        None => None,
    };
    let files = paths.iter().map(|path| {
        let head = match (super::layout::id_from_path(path), &mut snapshot, &tree) {
            (Some(id), Some(snapshot), _) => snapshot.blob(&id)?,
            (None, _, Some(tree)) => blob_in(tree, path)?,
            _ => None,
        };
        let content = match head {
            Some(oid) => Some((oid, repo.find_blob(oid)?.content().to_vec())),
            None => None,
        };
        Ok((path.clone(), content))
    });
    refresh_to(repo, root, files)
}

/// Brings the working-tree files and index entries of paths just committed
/// to their new content, `(path, blob, content)`, without reading it back
/// from git.
pub(super) fn refresh_files(
    repo: &Repository,
    root: &Path,
    files: impl Iterator<Item = Result<(String, Oid, Vec<u8>), Error>>,
) -> Result<(), Error> {
    refresh_to(
        repo,
        root,
        files.map(|file| file.map(|(path, blob, content)| (path, Some((blob, content))))),
    )
}

/// Writes each path's content (removes the file when there is none) and
/// brings the index entries along.
fn refresh_to(
    repo: &Repository,
    root: &Path,
    files: impl Iterator<Item = Result<(String, Option<(Oid, Vec<u8>)>), Error>>,
) -> Result<(), Error> {
    let index_file = repo.path().join("index");
    let mut fast = Vec::new();
    let mut removed = Vec::new();
    for file in files {
        let (path, content) = file?;
        match content {
            Some((oid, content)) => {
                let full = write_worktree_file(repo, root, &path, &content)?;
                fast.push((path, oid, full));
            }
            None => {
                let full = root.join(&path);
                if let Err(e) = fs::remove_file(&full)
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    return Err(Error::io(&full, e));
                }
                removed.push(path);
            }
        }
    }
    if removed.is_empty()
        && super::gitfmt::index::set_entries(&index_file, &fast, skip_hash(repo)).is_some()
    {
        return Ok(());
    }
    // Index formats the fast path does not handle go through libgit2, and
    // those libgit2 cannot read either (a split index) through git itself.
    let paths: Vec<&String> = fast
        .iter()
        .map(|(path, _, _)| path)
        .chain(&removed)
        .collect();
    match refresh_with_libgit2(repo, &paths) {
        Err(Error::Git(e)) if e.code() != ErrorCode::Locked => refresh_with_git(root, &paths),
        result => result,
    }
}

fn refresh_with_libgit2(repo: &Repository, paths: &[&String]) -> Result<(), Error> {
    let mut index = repo.index()?;
    index.read(false)?;
    for path in paths {
        if repo.workdir().is_some_and(|root| root.join(path).is_file()) {
            index.add_path(Path::new(path))?;
        } else {
            let _ = index.remove_path(Path::new(path));
        }
    }
    write_index(&mut index)
}

/// Brings the index entries of `paths` to their working-tree files with
/// `git update-index`.
fn refresh_with_git(root: &Path, paths: &[&String]) -> Result<(), Error> {
    let output = std::process::Command::new("git")
        .current_dir(root)
        .args(["update-index", "--add", "--remove", "--"])
        .args(paths)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io(Path::new("git"), e))?;
    if output.status.success() {
        Ok(())
    } else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        Err(Error::GitCommand {
            command: "update-index",
            reason: stderr.lines().next().unwrap_or_default().to_owned(),
        })
    }
}

fn write_index(index: &mut git2::Index) -> Result<(), Error> {
    // Another git process may hold index.lock for a moment: wait a little.
    let mut last = None;
    for _ in 0..200 {
        match index.write() {
            Ok(()) => return Ok(()),
            Err(e) if e.code() == ErrorCode::Locked => {
                last = Some(e);
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.map_or_else(|| Error::Busy, Error::from))
}

/// Writes `content` to the working-tree file at `path` (making its
/// directory), staged under `.git/`; returns the file's full path.
fn write_worktree_file(
    repo: &Repository,
    root: &Path,
    path: &str,
    content: &[u8],
) -> Result<std::path::PathBuf, Error> {
    let full = root.join(path);
    let tmp_dir = repo.path().join(super::layout::PRIVATE_DIR).join("tmp");
    write_atomic_via(&full, content, &tmp_dir)?;
    Ok(full)
}

/// Writes a file so that readers see either the old or the new content.
pub(super) fn write_atomic(path: &Path, content: &[u8]) -> Result<(), Error> {
    write_atomic_via(path, content, path.parent().unwrap_or(Path::new(".")))
}

/// [`write_atomic`] with the temporary file in `tmp_dir` (on the same file
/// system): working-tree files stage theirs under `.git/`, so a process
/// killed mid-write leaves no stray file in the user's tree.
/// The directories of both are made when missing.
pub(super) fn write_atomic_via(path: &Path, content: &[u8], tmp_dir: &Path) -> Result<(), Error> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = tmp_dir.join(format!(".{name}.tix-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = super::layout::in_dir(tmp_dir, || fs::File::create(&tmp))?;
        // No fsync: the rename is what protects against a killed process;
        // like git's own loose objects, power loss is the file system's job.
        file.write_all(content)?;
        super::layout::in_dir(path.parent().unwrap_or(Path::new(".")), || {
            fs::rename(&tmp, path)
        })
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

pub(super) fn commit_info(commit: &Commit<'_>) -> CommitInfo {
    let message = commit.message().unwrap_or_default();
    let trailer = |key: &str| -> Option<String> {
        let trailers = git2::message_trailers_strs(message).ok()?;
        trailers
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_owned())
    };
    let author = commit.author();
    CommitInfo {
        id: commit.id().to_string(),
        time: Timestamp::from_unix(author.when().seconds())
            .unwrap_or_else(|| Timestamp::from_datetime(chrono::DateTime::UNIX_EPOCH)),
        author: author.name().unwrap_or_default().to_owned(),
        email: author.email().unwrap_or_default().to_owned(),
        summary: commit
            .summary()
            .ok()
            .flatten()
            .unwrap_or_default()
            .to_owned(),
        action: trailer("Tix-Action"),
        status: trailer("Tix-Status"),
        rule: trailer("Tix-Rule"),
    }
}

/// Looks up many ticket blobs in one snapshot. libgit2 does not cache
/// trees larger than 4 KiB, and `tickets/` has 1,024 entries, so walking
/// a path per ticket re-inflates it every time; this keeps the trees.
pub(super) struct Snapshot<'r> {
    repo: &'r Repository,
    tickets: Option<Tree<'r>>,
    shards: std::collections::HashMap<String, Option<Shard<'r>>>,
    /// Where shard trees are read for many tickets (see `pack_reader`).
    packs: Option<super::gitfmt::pack_reader::Reader<'r>>,
}

/// A shard tree, through libgit2 or as read from a pack.
enum Shard<'r> {
    Git(Tree<'r>),
    Read(Vec<super::gitfmt::pack_reader::TreeEntry>),
}

impl<'r> Snapshot<'r> {
    /// Opens the snapshot of `root` (a commit's tree).
    pub(super) fn new(repo: &'r Repository, root: &Tree<'r>) -> Result<Self, Error> {
        let tickets = match root.get_name(super::layout::TICKETS_DIR) {
            Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                Some(repo.find_tree(entry.id())?)
            }
            _ => None,
        };
        Ok(Self {
            repo,
            tickets,
            shards: std::collections::HashMap::new(),
            packs: None,
        })
    }

    /// Reads shard trees from the packs of `packs` where it can, for a
    /// snapshot that looks up many tickets.
    pub(super) fn with_packs(mut self, packs: &'r super::gitfmt::pack_reader::PackSet) -> Self {
        self.packs = Some(packs.reader());
        self
    }

    /// Returns the blob id of a ticket's file, if present.
    pub(super) fn blob(&mut self, id: &crate::model::TicketId) -> Result<Option<Oid>, Error> {
        let Some(tickets) = &self.tickets else {
            return Ok(None);
        };
        let shard = match self.shards.get(id.shard()) {
            Some(shard) => shard,
            None => {
                let tree = match tickets.get_name(id.shard()) {
                    Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                        let read = self
                            .packs
                            .as_mut()
                            .and_then(|packs| packs.tree_entries(&entry.id()));
                        Some(match read {
                            Some(entries) => Shard::Read(entries),
                            None => Shard::Git(self.repo.find_tree(entry.id())?),
                        })
                    }
                    _ => None,
                };
                self.shards.entry(id.shard().to_owned()).or_insert(tree)
            }
        };
        let file = format!("{id}.toml");
        Ok(match shard {
            None => None,
            Some(Shard::Git(tree)) => tree
                .get_name(&file)
                .filter(|e| e.kind() == Some(ObjectType::Blob))
                .map(|e| e.id()),
            Some(Shard::Read(entries)) => entries
                .iter()
                .find(|e| e.name == file)
                .filter(|e| e.is_blob())
                .map(|e| e.id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_gits_version_line() {
        assert_eq!(parse_version("git version 2.47.3\n"), Some((2, 47)));
        assert_eq!(parse_version("git version 2.39.5.windows.1"), Some((2, 39)));
        assert_eq!(parse_version("git version 3.0"), Some((3, 0)));
        assert_eq!(parse_version("hub version 2.14"), None);
        assert_eq!(parse_version("git version x.y"), None);
    }

    #[test]
    fn the_reflog_summary_is_libgit2s() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let tree = empty_tree(&repo).unwrap();
        let sig = git2::Signature::new("A", "a@b", &git2::Time::new(1, 0)).unwrap();
        let messages = [
            "k3x9p2: note",
            "k3x9p2: note\n\nTix-Action: note\n",
            "\n\nleading lines\nand a second line\n\nbody",
            "spaces  kept   inside\t tabs\n  and a break  \nthird ",
            "ends in blanks   \n",
            "crlf\r\n\r\nbody",
            "  leading blanks\x0b\x0cform feed",
            "ünïcode — dash\n\nbody",
            "",
            "\n",
        ];
        for message in messages {
            let id = repo.commit(None, &sig, &sig, message, &tree, &[]).unwrap();
            let commit = repo.find_commit(id).unwrap();
            let summary =
                String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default()).into_owned();
            assert_eq!(
                reflog_message(message),
                format!("commit: {summary}"),
                "{message:?}"
            );
        }
    }

    #[test]
    fn a_commit_of_tixs_own_objects_is_the_commit_libgit2_makes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let sig = Signature {
            name: "Ana Agent".into(),
            email: "ana@desk.test".into(),
            time: Timestamp::from_unix(1_700_000_000).unwrap(),
        };
        let base: Vec<Staged<'_>> = vec![
            ("tix.toml".into(), None, b"[desk]\n".as_slice()),
            ("tickets/ab/ab1234.toml".into(), None, b"one".as_slice()),
        ];
        let first = NewCommit {
            parent: None,
            message: "first",
            sig: &sig,
            deferred: None,
            trees: &RawTrees::default(),
        };
        let objects = libgit2_objects(&repo, &first, &base).unwrap();
        let Then::Commit(tree) = objects.then else {
            panic!("libgit2 writes the tree")
        };
        let git_sig = sig.to_git().unwrap();
        let parent = repo
            .commit(Some("HEAD"), &git_sig, &git_sig, "first", &tree, &[])
            .unwrap();
        let parent = repo.find_commit(parent).unwrap();
        let change: Vec<Staged<'_>> = vec![
            ("tickets/ab/ab1234.toml".into(), None, b"two".as_slice()),
            (
                "tickets/ab/ab1234/photo.png".into(),
                None,
                b"png".as_slice(),
            ),
            ("tickets/cd/cd5678.toml".into(), None, b"new".as_slice()),
        ];
        let next = NewCommit {
            parent: Some(&parent),
            message: "k3x9p2: note\n\nTix-Action: note\n",
            sig: &sig,
            deferred: None,
            trees: &RawTrees::default(),
        };
        let ours = own_objects(&repo, &parent, &change, &next)
            .unwrap()
            .unwrap();
        let theirs = libgit2_objects(&repo, &next, &change).unwrap();
        assert_eq!(ours.blobs, theirs.blobs);
        let (Then::Move { commit, from }, Then::Commit(tree)) = (ours.then, theirs.then) else {
            panic!("tix writes the commit, libgit2 the tree")
        };
        assert_eq!(from, parent.id());
        let expected = repo
            .commit(None, &git_sig, &git_sig, next.message, &tree, &[&parent])
            .unwrap();
        assert_eq!(commit, expected);
    }

    #[test]
    fn raw_tree_lookups_find_what_libgit2_finds() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let mut builder = TreeUpdateBuilder::new();
        for (n, path) in ["a/b.toml", "c", "d/e/f", "d/g", "h.toml"]
            .iter()
            .enumerate()
        {
            let blob = repo.blob(format!("{n}").as_bytes()).unwrap();
            builder.upsert(*path, blob, FileMode::Blob);
        }
        let base = empty_tree(&repo).unwrap();
        let root = builder.create_updated(&repo, &base).unwrap();
        let tree = repo.find_tree(root).unwrap();
        let trees = RawTrees::default();
        let paths = [
            "a/b.toml",
            "a",
            "a/x",
            "c",
            "c/x",
            "d/e/f",
            "d/e",
            "d/g",
            "zz",
            "a/b.toml/q",
            "h.toml",
        ];
        // Three rounds: later ones read kept trees, and more trees than
        // are kept are read in between.
        for round in 0..3 {
            for path in paths {
                assert_eq!(
                    trees.blob_at(&repo, root, path).unwrap(),
                    blob_in(&tree, path).unwrap(),
                    "{path} in round {round}"
                );
            }
            for n in 0..10u8 {
                let mut other = TreeUpdateBuilder::new();
                other.upsert("x", repo.blob(&[n]).unwrap(), FileMode::Blob);
                let id = other.create_updated(&repo, &base).unwrap();
                assert!(trees.read(&repo, id).unwrap().is_some());
            }
        }
        let blob = blob_in(&tree, "c").unwrap().unwrap();
        assert!(
            trees.read(&repo, blob).unwrap().is_none(),
            "a blob is not a tree"
        );
    }
}
