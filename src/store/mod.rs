//! The git store: the only module that touches git2 and the file system.
//!
//! Tickets are read from the tree of `HEAD`, so every reader sees committed,
//! consistent data. A change is one commit touching one ticket file, built
//! from `HEAD`'s tree and published with a compare-and-swap of the branch
//! ref; then only that path's index entry and working-tree file are
//! refreshed, so a user's other staged or unstaged work is never touched.
//! See docs/storage.md for the design.

mod batch;
mod cache;
#[cfg(fuzzing)]
pub mod fuzzing;
mod git;
mod gitfmt;
pub mod layout;
mod lock;
pub mod mailbox;
mod sync;

use std::path::{Path, PathBuf};

use git2::{ErrorCode, ObjectType, Oid, Repository, RepositoryState};

pub use batch::{BatchItem, BatchProgress, BatchReport};
pub use cache::Item;
pub use git::{CommitInfo, Signature};
pub use gitfmt::history::History;
pub use lock::AutomationLock;
use lock::WriterLock;
pub use sync::SyncReport;

use gitfmt::{history, history_cache, index, pack_reader};

use crate::model::{TicketId, normalise_prefix};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No desk here.
    #[error("not a tix desk (no git repository with tix.toml found from {0}); run `tix init`")]
    NotADesk(PathBuf),
    /// `tix init` inside another desk.
    #[error("{} is a tix desk already; make the new desk outside it", .0.display())]
    InsideDesk(PathBuf),
    /// `tix init` on an existing desk.
    #[error("{0} is already a tix desk")]
    AlreadyADesk(PathBuf),
    /// The repository's object ids are not SHA-1.
    #[error(
        "{} uses {format} object ids; tix reads SHA-1 repositories only (git's default), \
         so make the desk in a repository made with `git init --object-format=sha1`",
        path.display()
    )]
    ObjectFormat {
        /// The repository's git directory.
        path: PathBuf,
        /// Its `extensions.objectFormat`.
        format: String,
    },
    /// No ticket with that id.
    #[error("no ticket matches '{0}'; `tix list` shows the tickets")]
    NotFound(String),
    /// The prefix matches several tickets.
    #[error("'{prefix}' is ambiguous: it matches {}", candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// The matching ids.
        candidates: Vec<String>,
    },
    /// The text is not an id.
    #[error(transparent)]
    InvalidId(#[from] crate::model::InvalidId),
    /// The ticket file has uncommitted changes.
    #[error("{0} has uncommitted changes; commit or restore it first (git diff -- {0})")]
    Dirty(String),
    /// The file already exists (a new id collided, or it is in the way of
    /// `tix init`).
    #[error("{0} already exists and is not committed; move it away or commit it first")]
    Exists(String),
    /// A merge, rebase or similar is in progress.
    #[error("the repository is in the middle of a {0}; finish or abort it first")]
    InProgress(String),
    /// Another automation run is in progress.
    #[error("another tix automation run is in progress on this desk; this run did nothing")]
    AutomationBusy,
    /// One of git's lock files stays in place.
    #[error(
        "{0} exists: a git command is running, or one was killed; remove the file when no git runs"
    )]
    GitLocked(String),
    /// Another writer holds the lock for too long.
    #[error("another tix process has held the desk lock for a minute; try again")]
    Busy,
    /// HEAD kept moving under us.
    #[error("the branch kept moving while tix tried to commit ({0} attempts); try again")]
    Contended(u32),
    /// The ticket's file is outside the sparse checkout's cone.
    #[error(
        "{0} is outside this sparse checkout, so tix cannot refresh it; add its folder with \
         `git sparse-checkout add {dir}`, or change the ticket from a full checkout",
        dir = .0.rsplit_once('/').map_or(.0.as_str(), |(dir, _)| dir)
    )]
    OutsideSparse(String),
    /// A path that should be a file is a directory, a submodule or a link.
    #[error(
        "{0} is not a file in the committed tree (a directory or a submodule); move it away with git"
    )]
    NotAFile(String),
    /// A ticket file is not UTF-8.
    #[error("{0} is not UTF-8 text")]
    NotText(String),
    /// A past moment (`--at`) that names no commit of the desk.
    #[error("{0}")]
    Past(String),
    /// A Maildir or mbox that cannot be read (the user named it).
    #[error("{0}")]
    Mailbox(String),
    /// `tix sync` could not finish.
    #[error("{0}")]
    Sync(String),
    /// A name, address or time that cannot be a commit's author or
    /// committer.
    #[error("{who:?} cannot be a commit's author or committer: {reason}")]
    Identity {
        /// The name and address, as given.
        who: String,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// No identity for commits.
    #[error(
        "who are you? pass --as 'Name <email>', set TIX_AGENT, or set git's user.name and user.email"
    )]
    NoIdentity,
    /// A `git` command that tix runs failed.
    #[error("git {command} failed: {reason}")]
    GitCommand {
        /// The git subcommand.
        command: &'static str,
        /// The first line git printed.
        reason: String,
    },
    /// A git operation failed.
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// An update that failed either in the store or in the caller's edit.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] Error),
    /// The caller's edit refused.
    #[error(transparent)]
    Edit(E),
}

/// A past moment of the desk (`--at`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum At {
    /// A revision git understands.
    Rev(String),
    /// The last commit at or before this time on the current branch.
    Time(crate::model::Timestamp),
}

/// A ticket file read from `HEAD`.
#[derive(Debug)]
pub struct RawTicket {
    /// Path in the repository.
    pub path: String,
    /// The id the path names, when it has the layout's shape.
    pub id: Option<TicketId>,
    /// The blob id of the content.
    pub blob: Oid,
    /// The content, or why it could not be read as text.
    pub text: Result<String, Error>,
}

/// A file `tix init` commits.
#[derive(Clone, Debug)]
pub struct InitFile<'a> {
    /// Path in the repository.
    pub path: &'a str,
    /// The content tix writes.
    pub content: String,
    /// Keep a committed file's content and add only the lines it lacks.
    pub append: bool,
    /// Keep a committed file as it is (a template the team has already).
    pub keep: bool,
}

/// Returns `old` with every line of `new` it does not have yet appended.
fn append_missing_lines(old: &str, new: &str) -> String {
    let have: std::collections::HashSet<&str> = old.lines().map(str::trim).collect();
    let missing: Vec<&str> = new.lines().filter(|l| !have.contains(l.trim())).collect();
    if missing.is_empty() {
        return old.to_owned();
    }
    let mut out = old.to_owned();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for line in missing {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One new file content to commit.
#[derive(Clone, Debug)]
pub struct Write {
    /// The new file content.
    pub content: String,
    /// The commit message.
    pub message: String,
    /// New files that go into the same commit (a message's attachments):
    /// name inside the ticket's attachment directory, and bytes. A name
    /// that is taken in `HEAD` is refused.
    pub files: Vec<(String, Vec<u8>)>,
}

/// New contents of several ticket files, committed together
/// ([`Store::update_many`]).
#[derive(Clone, Debug)]
pub struct Writes {
    /// Each file's new content, in the order of the ids.
    pub contents: Vec<String>,
    /// The commit message.
    pub message: String,
}

/// An opened desk.
pub struct Store {
    repo: Repository,
    root: PathBuf,
    /// The pack indexes, read on the first bulk read (see `pack_reader`).
    packs: std::cell::OnceCell<pack_reader::PackSet>,
    /// The trees a change reads, read once.
    trees: git::RawTrees,
    /// While a run of changes defers the refresh of the working tree and
    /// the index ([`Store::defer_refresh`]): each path it committed, with
    /// its blob before the run.
    deferred: std::cell::RefCell<Option<std::collections::BTreeMap<String, Option<Oid>>>>,
    /// A past commit every read sees instead of `HEAD` (`--at`); nothing
    /// is written then.
    pinned: Option<Oid>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("root", &self.root).finish()
    }
}

impl Store {
    /// Finds the desk containing `start`, like git finds its repository.
    pub fn discover(start: &Path) -> Result<Self, Error> {
        configure_libgit2();
        let repo = Repository::discover(start).map_err(|_| {
            // libgit2 opens no repository whose ids are not SHA-1: say so
            // rather than "not a desk" (looked at only when opening failed).
            Repository::discover_path(start, std::iter::empty::<&Path>())
                .ok()
                .and_then(|git_dir| refuse_other_object_formats(&git_dir).err())
                .unwrap_or_else(|| Error::NotADesk(start.to_owned()))
        })?;
        let root = repo
            .workdir()
            .ok_or_else(|| Error::NotADesk(start.to_owned()))?
            .to_owned();
        let store = Self {
            repo,
            root,
            packs: std::cell::OnceCell::new(),
            trees: git::RawTrees::default(),
            deferred: std::cell::RefCell::new(None),
            pinned: None,
        };
        if store.read_file(layout::CONFIG_FILE)?.is_none()
            && !store.root.join(layout::CONFIG_FILE).exists()
        {
            return Err(Error::NotADesk(start.to_owned()));
        }
        Ok(store)
    }

    /// Finishes a change that a killed tix left half-refreshed (its journal
    /// is still there), before a command reads the desk: otherwise the
    /// user's next `git commit` could commit the index tix had not yet
    /// refreshed, undoing the change. Only a stat when there is no journal.
    /// (The merge driver, which git runs mid-merge, never does this.)
    pub fn heal(&self) -> Result<Vec<String>, Error> {
        if self.private_dir().join(git::JOURNAL).exists() {
            return self.recover();
        }
        Ok(Vec::new())
    }

    /// Makes a desk in `dir`: a git repository (created if absent) with the
    /// given files committed in one commit.
    ///
    /// Refuses inside another desk, and when one of the files is in the
    /// user's way: present but not committed, or changed since its commit.
    /// A file marked `append` that is already committed (`.gitattributes`)
    /// keeps its content and gets the new lines it lacks.
    pub fn init(
        dir: &Path,
        files: &[InitFile<'_>],
        sig: &Signature,
        message: &str,
    ) -> Result<Self, Error> {
        configure_libgit2();
        if let Some(outer) = Self::enclosing_repository(dir)
            && Self::discover(&outer).is_ok()
        {
            return Err(Error::InsideDesk(outer));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        // Like `git init`: DIR's own repository is reused; a repository in a
        // parent directory (a dotfiles repo in $HOME, say) is not.
        let repo = match Repository::open(dir) {
            Ok(repo) => repo,
            Err(_) => {
                refuse_other_object_formats(&dir.join(".git"))?;
                Repository::init(dir)?
            }
        };
        let root = repo
            .workdir()
            .ok_or_else(|| Error::NotADesk(dir.to_owned()))?
            .to_owned();
        let store = Self {
            repo,
            root,
            packs: std::cell::OnceCell::new(),
            trees: git::RawTrees::default(),
            deferred: std::cell::RefCell::new(None),
            pinned: None,
        };
        if store.read_file(layout::CONFIG_FILE)?.is_some() {
            return Err(Error::AlreadyADesk(store.root.clone()));
        }
        let _lock = store.lock()?;
        let mut contents = Vec::with_capacity(files.len());
        for file in files {
            let committed = store.read_file(file.path)?;
            let head = git::head_blob(&store.repo, file.path)?;
            git::check_clean(&store.repo, &store.root, file.path, head)?;
            let content = match committed {
                Some(_) if file.keep => continue,
                Some(old) if file.append => append_missing_lines(&old, &file.content),
                _ => file.content.clone(),
            };
            contents.push((file.path, content));
        }
        git::commit_files(&store.repo, &store.root, &contents, sig, message)?;
        Ok(store)
    }

    /// Returns the top directory of the git repository that `dir` (or its
    /// nearest existing ancestor) lies inside, when that is not `dir` itself.
    pub fn enclosing_repository(dir: &Path) -> Option<PathBuf> {
        let existing = dir.ancestors().find(|d| d.exists())?;
        let repo = Repository::discover(existing).ok()?;
        let top = std::fs::canonicalize(repo.workdir()?).ok()?;
        let here = std::fs::canonicalize(existing).ok()?;
        (top != here || existing != dir).then_some(top)
    }

    /// Returns the desk's top directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the repository (for the merge driver registration and tests).
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    fn private_dir(&self) -> PathBuf {
        self.repo.path().join(layout::PRIVATE_DIR)
    }

    fn lock(&self) -> Result<WriterLock, Error> {
        let lock = WriterLock::acquire(&self.private_dir())?;
        self.clear_stale_git_locks();
        self.wait_for_git_locks()?;
        if self.deferred.borrow().is_none() {
            git::recover(&self.repo, &self.root, &self.private_dir())?;
        }
        Ok(lock)
    }

    /// Starts a run of changes whose working-tree files and index entries
    /// are brought up to date once, by [`Self::finish_deferred`], instead
    /// of after each commit (ingesting a mailbox: a thousand commits, one
    /// index rewrite). Each commit is journalled first, so a run that is
    /// killed is finished by the next command, as any change is.
    pub fn defer_refresh(&self) {
        self.deferred.replace(Some(Default::default()));
    }

    /// Brings the working tree and index up to date with every change of
    /// the deferred run (leaving alone what the user edited meanwhile);
    /// returns the paths it refreshed.
    pub fn finish_deferred(&self) -> Result<Vec<String>, Error> {
        let Some(paths) = self.deferred.take() else {
            return Ok(Vec::new());
        };
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        // The journal holds every commit of the run (or what another tix's
        // recovery left of it): working it off brings each path to HEAD.
        let _lock = WriterLock::acquire(&self.private_dir())?;
        git::recover(&self.repo, &self.root, &self.private_dir())
    }

    /// Waits a moment for git's own lock files to go, so that a change is
    /// refused before it commits rather than committed and then unable to
    /// refresh the index.
    fn wait_for_git_locks(&self) -> Result<(), Error> {
        let start = std::time::Instant::now();
        loop {
            let locks = self.git_locks()?;
            let Some(lock) = locks.into_iter().next() else {
                return Ok(());
            };
            if start.elapsed() > std::time::Duration::from_secs(2) {
                return Err(Error::GitLocked(lock));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Removes git lock files a killed tix left behind (writer lock held).
    fn clear_stale_git_locks(&self) {
        lock::clear_stale(&self.private_dir(), index::INDEX_LOCK);
        lock::clear_stale(&self.private_dir(), git::REF_LOCK);
    }

    /// Takes the automation lock, or fails at once when a run holds it.
    pub fn automation_lock(&self) -> Result<AutomationLock, Error> {
        AutomationLock::try_acquire(&self.private_dir())
    }

    /// Finishes a change that a killed process left half-refreshed in the
    /// working tree. Returns the paths it repaired.
    pub fn recover(&self) -> Result<Vec<String>, Error> {
        let _lock = WriterLock::acquire(&self.private_dir())?;
        self.clear_stale_git_locks();
        git::recover(&self.repo, &self.root, &self.private_dir())
    }

    /// Lists the ticket files whose working-tree copy or index entry differs
    /// from `HEAD` (`git status`): each path with git's two-letter status
    /// (`M `, ` M`, `UU` for a conflict, `??` for an untracked file).
    pub fn ticket_changes(&self) -> Result<Vec<(String, String)>, Error> {
        let out = std::process::Command::new("git")
            .current_dir(&self.root)
            // A read: git must not refresh (rewrite) the index meanwhile.
            .args([
                "--no-optional-locks",
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--no-renames",
                "--",
                layout::TICKETS_DIR,
            ])
            .output()
            .map_err(|e| Error::io(Path::new("git"), e))?;
        if !out.status.success() {
            return Err(Error::GitCommand {
                command: "status",
                reason: String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .split('\0')
            .filter(|entry| entry.len() > 3)
            .map(|entry| (entry[3..].to_owned(), entry[..2].to_owned()))
            .filter(|(path, _)| path != layout::KEEP_FILE)
            .collect())
    }

    /// The operation the repository is in the middle of (a merge, a
    /// rebase, ...), if any.
    pub fn unfinished(&self) -> Option<String> {
        match self.repo.state() {
            RepositoryState::Clean => None,
            state => Some(format!("{state:?}").to_lowercase()),
        }
    }

    /// Lists git's lock files that block a change (`index.lock`, the branch
    /// ref's lock), relative to the desk's top directory.
    pub fn git_locks(&self) -> Result<Vec<String>, Error> {
        let candidates = [
            self.repo.path().join("index.lock"),
            git::branch_lock(&self.repo)?,
        ];
        Ok(candidates
            .iter()
            .filter(|path| path.exists())
            .map(|path| {
                path.strip_prefix(&self.root)
                    .unwrap_or(path)
                    .display()
                    .to_string()
            })
            .collect())
    }

    /// Reads a file from `HEAD`'s tree; `None` when absent.
    pub fn read_file(&self, path: &str) -> Result<Option<String>, Error> {
        let Some(tree) = self.tree()? else {
            return Ok(None);
        };
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) => entry,
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if entry.kind() != Some(ObjectType::Blob) {
            return Err(Error::NotAFile(path.to_owned()));
        }
        let blob = self.repo.find_blob(entry.id())?;
        let text =
            std::str::from_utf8(blob.content()).map_err(|_| Error::NotText(path.to_owned()))?;
        Ok(Some(text.to_owned()))
    }

    /// Reads a file stored next to a ticket (an attachment, a received
    /// mail) from `HEAD`; `None` when absent.
    pub fn read_attachment(&self, id: &TicketId, name: &str) -> Result<Option<Vec<u8>>, Error> {
        let path = layout::attachment_path(id, name);
        let Some(tree) = self.tree()? else {
            return Ok(None);
        };
        match git::blob_in(&tree, &path)? {
            Some(oid) => Ok(Some(self.repo.find_blob(oid)?.content().to_vec())),
            None => Ok(None),
        }
    }

    /// Reads the working-tree copy of a file; `None` when absent.
    pub fn read_worktree_file(&self, path: &str) -> Result<Option<String>, Error> {
        let full = self.root.join(path);
        match std::fs::read(&full) {
            Ok(bytes) => String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| Error::NotText(path.to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&full, e)),
        }
    }

    /// Tells whether the working-tree copy of `path` differs from `HEAD`.
    pub fn worktree_differs(&self, path: &str) -> Result<bool, Error> {
        let head = git::head_blob(&self.repo, path)?;
        Ok(git::worktree_blob(&self.root, path)? != head)
    }

    /// Lists every ticket id in `HEAD`, sorted.
    pub fn ids(&self) -> Result<Vec<TicketId>, Error> {
        self.ids_with(|_| true)
    }

    fn ids_with(&self, shard_filter: impl Fn(&str) -> bool) -> Result<Vec<TicketId>, Error> {
        let Some(tree) = self.tree()? else {
            return Ok(Vec::new());
        };
        let Some(tickets) = tree.get_name(layout::TICKETS_DIR) else {
            return Ok(Vec::new());
        };
        let tickets = tickets.to_object(&self.repo)?.peel_to_tree()?;
        let mut ids = Vec::new();
        for shard in tickets.iter() {
            let name = shard.name().unwrap_or_default();
            if shard.kind() != Some(ObjectType::Tree) || !shard_filter(name) {
                continue;
            }
            let subtree = shard.to_object(&self.repo)?.peel_to_tree()?;
            // Only files: a directory or a link named like a ticket is not one
            // (the listing and `tix doctor` report it).
            let files = subtree
                .iter()
                .filter(|f| f.kind() == Some(ObjectType::Blob) && f.filemode() != 0o120_000);
            for file in files {
                let path = format!(
                    "{}/{name}/{}",
                    layout::TICKETS_DIR,
                    file.name().unwrap_or_default()
                );
                if let Some(id) = layout::id_from_path(&path) {
                    ids.push(id);
                }
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Resolves a unique id prefix (with or without `#`) to an id.
    pub fn resolve(&self, prefix: &str) -> Result<TicketId, Error> {
        let wanted = normalise_prefix(prefix)?;
        // A whole id (what scripts pass, and what a prefix resolves to
        // anyway when it names a ticket exactly) is one path lookup, not
        // a walk of its shard.
        if let Ok(id) = wanted.parse::<TicketId>()
            && self.contains(&id)?
        {
            return Ok(id);
        }
        let shard_prefix: String = wanted.chars().take(2).collect();
        let candidates: Vec<TicketId> = self
            .ids_with(|shard| shard.starts_with(&shard_prefix))?
            .into_iter()
            .filter(|id| id.as_str().starts_with(&wanted))
            .collect();
        if let Some(exact) = candidates.iter().find(|id| id.as_str() == wanted) {
            return Ok(exact.clone());
        }
        match candidates.len() {
            0 => Err(Error::NotFound(prefix.to_owned())),
            1 => Ok(candidates
                .into_iter()
                .next()
                .unwrap_or_else(|| unreachable!())),
            _ => Err(Error::Ambiguous {
                prefix: prefix.to_owned(),
                candidates: candidates.iter().map(ToString::to_string).collect(),
            }),
        }
    }

    /// Tells whether a ticket with this id is in `HEAD`.
    pub fn contains(&self, id: &TicketId) -> Result<bool, Error> {
        if self.pinned.is_some() {
            return Ok(self.blob_id(&layout::ticket_path(id))?.is_some());
        }
        Ok(self
            .trees
            .head_blob(&self.repo, &layout::ticket_path(id))?
            .is_some())
    }

    /// Reads one ticket file from `HEAD`.
    pub fn read_ticket(&self, id: &TicketId) -> Result<String, Error> {
        self.read_file(&layout::ticket_path(id))?
            .ok_or_else(|| Error::NotFound(id.to_string()))
    }

    /// Reads the tickets `ids` from one snapshot of `HEAD`, maps each file
    /// with `f` on every core, and hands each result (`None` for an id not
    /// in `HEAD`) to `sink` in order as it comes, so memory holds a few of
    /// them at a time; stops reading when `sink` breaks.
    pub fn for_each_ticket<T: Send>(
        &self,
        ids: &[TicketId],
        f: &(dyn Fn(RawTicket) -> T + Sync),
        sink: &mut dyn FnMut(Option<T>) -> std::ops::ControlFlow<()>,
    ) -> Result<(), Error> {
        use std::ops::ControlFlow;
        let Some(tree) = self.tree()? else {
            for _ in ids {
                if sink(None).is_break() {
                    break;
                }
            }
            return Ok(());
        };
        // Many tickets: their shard trees come straight from the packs.
        let packs = pack_reader::for_reading(&self.packs, self.repo.path(), ids.len());
        let mut snapshot = git::Snapshot::new(&self.repo, &tree)?.with_packs(packs);
        // Whether each id is in `HEAD` (then its file is among the items).
        let mut found = Vec::with_capacity(ids.len());
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            let blob = snapshot.blob(id)?;
            found.push(blob.is_some());
            if let Some(blob) = blob {
                items.push((layout::ticket_path(id), blob));
            }
        }
        drop(snapshot);
        // Each id absent from `HEAD` gets `None`, in its place.
        let mut found = found.into_iter().peekable();
        let absent = |found: &mut std::iter::Peekable<_>, sink: &mut dyn FnMut(Option<T>) -> _| {
            while found.next_if(|present: &bool| !present).is_some() {
                sink(None)?;
            }
            ControlFlow::Continue(())
        };
        let mut stopped = false;
        cache::for_each_blob(&self.repo, &self.packs, &items, f, &mut |mapped| {
            let mut flow = absent(&mut found, sink);
            if flow.is_continue() {
                found.next();
                flow = sink(Some(mapped));
            }
            stopped = flow.is_break();
            flow
        })?;
        if !stopped {
            let _ = absent(&mut found, sink);
        }
        Ok(())
    }

    /// Reads every file under `tickets/` in `HEAD` (except the keep file),
    /// maps each with `f` on every core and hands the results to `sink` in
    /// tree order, until it breaks; memory holds a few files at a time.
    pub fn for_each_file<T: Send>(
        &self,
        f: &(dyn Fn(RawTicket) -> T + Sync),
        sink: &mut dyn FnMut(T) -> std::ops::ControlFlow<()>,
    ) -> Result<(), Error> {
        let Some(tickets) = self.tickets_tree()? else {
            return Ok(());
        };
        // Listed, not scanned: a scan would read every file once more to
        // derive payloads nobody keeps.
        let files = cache::list_files(&self.repo, &self.packs, &tickets)?;
        cache::for_each_blob(&self.repo, &self.packs, &files, f, sink)
    }

    /// Reads one blob as a ticket file.
    pub fn read_blob(&self, path: String, blob: Oid) -> RawTicket {
        cache::read_raw(&self.repo, path, blob)
    }

    /// Visits every ticket file in `HEAD` with a payload `derive` made from
    /// it, calling `derive` only for files whose content is not in the cache
    /// (see `cache.rs`). `salt` names what the payloads depend on besides
    /// the file (format version, config): a different salt discards the
    /// cache. Payloads that `cold` accepts are kept apart in the cache and,
    /// with `skip_cold`, not visited (nor read). Before the first visit,
    /// `expect` is told how many files the scan visits at most.
    pub fn scan(
        &self,
        salt: &str,
        derive: &(dyn Fn(RawTicket) -> Option<String> + Sync),
        cold: &dyn Fn(&str) -> bool,
        skip_cold: bool,
        expect: &dyn Fn(usize),
        visit: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), Error> {
        self.scan_cache("list", salt, derive, cold, skip_cold, expect, visit)
    }

    /// [`Self::scan`] through the cache file `name` (each kind of payload
    /// has its own cache).
    #[allow(clippy::too_many_arguments)]
    pub fn scan_cache(
        &self,
        name: &str,
        salt: &str,
        derive: &(dyn Fn(RawTicket) -> Option<String> + Sync),
        cold: &dyn Fn(&str) -> bool,
        skip_cold: bool,
        expect: &dyn Fn(usize),
        visit: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), Error> {
        // A past commit's tickets go through a cache of their own, so the
        // one of `HEAD` stays warm.
        let name = if self.pinned.is_some() {
            format!("{name}-at")
        } else {
            name.to_owned()
        };
        let path = self.private_dir().join("cache").join(name);
        let how = cache::Scan {
            salt,
            derive,
            cold,
            skip_cold,
            expect,
        };
        cache::scan(
            &self.repo,
            &self.packs,
            self.tickets_tree()?,
            Some(&path),
            &how,
            visit,
        )
    }

    fn tickets_tree(&self) -> Result<Option<git2::Tree<'_>>, Error> {
        let Some(tree) = self.tree()? else {
            return Ok(None);
        };
        match tree.get_name(layout::TICKETS_DIR) {
            Some(entry) if entry.kind() == Some(ObjectType::Tree) => {
                Ok(Some(entry.to_object(&self.repo)?.peel_to_tree()?))
            }
            _ => Ok(None),
        }
    }

    /// Returns the blob id of a file in `HEAD` (to key caches on config).
    pub fn blob_id(&self, path: &str) -> Result<Option<Oid>, Error> {
        match self.tree()? {
            Some(tree) if self.pinned.is_some() => git::blob_in(&tree, path),
            _ => git::head_blob(&self.repo, path),
        }
    }

    /// The tree every read sees: `HEAD`'s, or the pinned commit's.
    fn tree(&self) -> Result<Option<git2::Tree<'_>>, Error> {
        match self.pinned {
            Some(commit) => Ok(Some(self.repo.find_commit(commit)?.tree()?)),
            None => git::head_tree(&self.repo),
        }
    }

    /// Makes every read see the desk as it was at `rev`: a revision git
    /// understands (`HEAD~3`, a tag, a commit id), or, for a time, the last
    /// commit at or before it on the current branch (first parents). A
    /// pinned store writes nothing. Returns the commit.
    pub fn pin(&mut self, rev: At) -> Result<Oid, Error> {
        let commit = match rev {
            At::Rev(text) => self
                .repo
                .revparse_single(&text)
                .and_then(|object| object.peel_to_commit())
                .map_err(|_| Error::Past(format!("'{text}' names no commit of this desk")))?
                .id(),
            At::Time(time) => {
                let mut commit = git::head_commit(&self.repo)?
                    .ok_or_else(|| Error::Past("the desk has no commits yet".to_owned()))?;
                loop {
                    if commit.time().seconds() <= time.unix() {
                        break commit.id();
                    }
                    commit = match commit.parent(0) {
                        Ok(parent) => parent,
                        Err(_) => {
                            return Err(Error::Past(format!(
                                "{} is before the desk's first commit ({})",
                                time.to_rfc3339(),
                                crate::model::Timestamp::from_unix(commit.time().seconds())
                                    .map(|t| t.to_rfc3339())
                                    .unwrap_or_default()
                            )));
                        }
                    };
                }
            }
        };
        self.pinned = Some(commit);
        Ok(commit)
    }

    /// The pinned commit, if any.
    pub fn pinned(&self) -> Option<Oid> {
        self.pinned
    }

    /// The commit time of the pinned commit.
    pub fn pinned_time(&self) -> Option<crate::model::Timestamp> {
        let commit = self.repo.find_commit(self.pinned?).ok()?;
        crate::model::Timestamp::from_unix(commit.time().seconds())
    }

    /// Rewrites (or creates) one ticket file in one commit.
    ///
    /// `edit` gets the committed content (`None` for a new ticket) and returns
    /// the new content and commit message. When another writer moves the
    /// branch first, `edit` runs again on the newer content. Refuses when the
    /// file has uncommitted changes; with `create`, refuses when it exists.
    pub fn update<E>(
        &self,
        id: &TicketId,
        create: bool,
        sig: &Signature,
        mut edit: impl FnMut(Option<&str>) -> Result<Write, E>,
    ) -> Result<Oid, UpdateError<E>> {
        let path = layout::ticket_path(id);
        if self.pinned.is_some() {
            return Err(
                Error::Past("a desk read at a past commit changes nothing".to_owned()).into(),
            );
        }
        let _lock = self.lock()?;
        self.check_state()?;
        let deferring = self.deferred.borrow().is_some();
        // git's index, read once and locked until the change is in it; when
        // its format needs libgit2 or git, `None` and those do the work. A
        // deferred run leaves the index for its end.
        let index_file = self.repo.path().join("index");
        let mut index = if deferring {
            None
        } else {
            index::LockedIndex::open(&index_file, &[&path])
        };
        const ATTEMPTS: u32 = 20;
        for _ in 0..ATTEMPTS {
            let head = git::head_commit(&self.repo)?;
            let old = self
                .trees
                .blob_in_commit(&self.repo, head.as_ref(), &path)?;
            if create && old.is_some() {
                return Err(Error::Exists(path).into());
            }
            if !create && old.is_none() {
                return Err(Error::NotFound(id.to_string()).into());
            }
            let ours = self
                .deferred
                .borrow()
                .as_ref()
                .is_some_and(|paths| paths.contains_key(&path));
            let current = match old {
                Some(oid) => Some(git::blob_text(&self.repo, oid, &path)?),
                None => None,
            };
            // The change is made before the file is checked for edits of
            // the user's: the index is read on another thread meanwhile.
            // Nothing is written until both are done, and an edit of the
            // user's is the first thing said (it may be why the change is
            // refused).
            let write = edit(current.as_deref());
            if !ours {
                git::check_clean_with(&self.root, &path, old, || match &index {
                    Some(locked) if locked.is_read() => locked
                        .entry_oid(&path)
                        .ok_or_else(|| Error::Dirty(path.clone())),
                    None if deferring => index::entry_oid(&index_file, &path)
                        .ok_or_else(|| Error::Dirty(path.clone())),
                    _ => git::index_blob(&self.repo, &path),
                })?;
            }
            let write = write.map_err(UpdateError::Edit)?;
            let files: Vec<(String, &[u8])> = write
                .files
                .iter()
                .map(|(name, bytes)| (layout::attachment_path(id, name), bytes.as_slice()))
                .collect();
            for (path, _) in &files {
                if self
                    .trees
                    .blob_in_commit(&self.repo, head.as_ref(), path)?
                    .is_some()
                    || self.root.join(path).exists()
                {
                    return Err(Error::Exists(path.clone()).into());
                }
            }
            let mut deferred = self.deferred.borrow_mut();
            // Every commit of a deferred run journals its paths with the
            // blobs they had before it: another tix may refresh them in
            // between (its recovery works the journal off), and the last
            // word must be this run's.
            let defer = deferred.as_mut().map(|paths| {
                let all: Vec<(String, Option<Oid>)> = std::iter::once((path.clone(), old))
                    .chain(files.iter().map(|(file, _)| (file.clone(), None)))
                    .collect();
                for (p, before) in &all {
                    paths.entry(p.clone()).or_insert(*before);
                }
                all
            });
            match git::commit_one(
                &self.repo,
                &self.root,
                &self.private_dir(),
                head.as_ref(),
                &path,
                old,
                &write,
                &files,
                sig,
                &mut index,
                defer.as_deref(),
                &self.trees,
            )? {
                Some(oid) => return Ok(oid),
                None => continue,
            }
        }
        Err(Error::Contended(ATTEMPTS).into())
    }

    /// Rewrites several existing ticket files in one commit: a change that
    /// belongs to more than one ticket (`tix merge`, a related link), so
    /// that no moment in history holds one half of it.
    ///
    /// `edit` gets the committed contents, in the order of `ids`, and
    /// returns the new ones in that order with the commit message; like
    /// [`Self::update`], it runs again on the newer contents when another
    /// writer moves the branch first, and the change is refused when any of
    /// the files has uncommitted changes. The journal lists every file, so
    /// a killed process leaves each of them as it was before or after.
    pub fn update_many<E>(
        &self,
        ids: &[TicketId],
        sig: &Signature,
        mut edit: impl FnMut(&[String]) -> Result<Writes, E>,
    ) -> Result<Oid, UpdateError<E>> {
        let paths: Vec<String> = ids.iter().map(layout::ticket_path).collect();
        if self.pinned.is_some() {
            return Err(
                Error::Past("a desk read at a past commit changes nothing".to_owned()).into(),
            );
        }
        let _lock = self.lock()?;
        self.check_state()?;
        let deferring = self.deferred.borrow().is_some();
        let index_file = self.repo.path().join("index");
        let path_refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let mut index = if deferring {
            None
        } else {
            index::LockedIndex::open(&index_file, &path_refs)
        };
        const ATTEMPTS: u32 = 20;
        for _ in 0..ATTEMPTS {
            let head = git::head_commit(&self.repo)?;
            let mut olds = Vec::with_capacity(paths.len());
            let mut current = Vec::with_capacity(paths.len());
            for (id, path) in ids.iter().zip(&paths) {
                let old = self
                    .trees
                    .blob_in_commit(&self.repo, head.as_ref(), path)?
                    .ok_or_else(|| Error::NotFound(id.to_string()))?;
                let ours = self
                    .deferred
                    .borrow()
                    .as_ref()
                    .is_some_and(|run| run.contains_key(path));
                if !ours {
                    git::check_clean_with(&self.root, path, Some(old), || match &index {
                        Some(locked) if locked.is_read() => locked
                            .entry_oid(path)
                            .ok_or_else(|| Error::Dirty(path.clone())),
                        None if deferring => index::entry_oid(&index_file, path)
                            .ok_or_else(|| Error::Dirty(path.clone())),
                        _ => git::index_blob(&self.repo, path),
                    })?;
                }
                current.push(git::blob_text(&self.repo, old, path)?);
                olds.push(old);
            }
            let writes = edit(&current).map_err(UpdateError::Edit)?;
            if writes.contents.len() != paths.len() {
                // The caller's edit returns one content per id: a bug.
                return Err(Error::Contended(0).into());
            }
            let entries: Vec<git::Staged<'_>> = paths
                .iter()
                .zip(&olds)
                .zip(&writes.contents)
                .map(|((path, old), content)| (path.clone(), Some(*old), content.as_bytes()))
                .collect();
            let mut deferred = self.deferred.borrow_mut();
            let defer = deferred.as_mut().map(|run| {
                let all: Vec<(String, Option<Oid>)> = entries
                    .iter()
                    .map(|(path, old, _)| (path.clone(), *old))
                    .collect();
                for (p, before) in &all {
                    run.entry(p.clone()).or_insert(*before);
                }
                all
            });
            let commit = git::NewCommit {
                parent: head.as_ref(),
                message: &writes.message,
                sig,
                deferred: defer.as_deref(),
                trees: &self.trees,
            };
            let root = &self.root;
            let private = self.private_dir();
            if let Some(oid) = git::commit_paths(
                &self.repo, root, &private, &commit, &entries, &mut index, true,
            )? {
                return Ok(oid);
            }
        }
        Err(Error::Contended(ATTEMPTS).into())
    }

    fn check_state(&self) -> Result<(), Error> {
        match self.repo.state() {
            RepositoryState::Clean => Ok(()),
            state => Err(Error::InProgress(format!("{state:?}").to_lowercase())),
        }
    }

    /// Lists the commits that changed a ticket, newest first.
    pub fn log(&self, id: &TicketId) -> Result<History, Error> {
        let packs = pack_reader::for_reading(&self.packs, self.repo.path(), usize::MAX);
        let path = layout::ticket_path(id);
        if self.pinned.is_some() {
            return history::log_path(&self.repo, packs, &path);
        }
        let cache = self.private_dir().join("cache").join("history");
        history_cache::log_path_cached(&self.repo, packs, &path, &cache)
    }

    /// Reads git's configured identity (`user.name`, `user.email`).
    pub fn git_identity(&self) -> Option<(String, String)> {
        let config = self.repo.config().ok()?;
        let name = config.get_string("user.name").ok();
        let email = config.get_string("user.email").ok();
        match (name, email) {
            (None, None) => None,
            (name, email) => Some((name.unwrap_or_default(), email.unwrap_or_default())),
        }
    }

    /// Sets `index.skipHash` in the repository's own config, as git's
    /// `feature.manyFiles` does, unless a config says anything about either
    /// already, the repository has a split index (git mishandles the two
    /// together, see [`Self::index_settings_clash`]), or the git on PATH is
    /// older than 2.40 (whose `git fsck` calls such an index corrupt).
    /// Without the checksum a change does not hash the whole index, a
    /// large part of a change on a large desk. Returns whether it set it.
    pub fn prefer_unhashed_index(&self) -> Result<bool, Error> {
        let config = self.repo.config()?;
        let chosen = |key| config.get_entry(key).is_ok();
        if chosen("index.skipHash") || chosen("feature.manyFiles") || self.index_is_split()? {
            return Ok(false);
        }
        let reads_it = git::installed_version().is_some_and(|version| version >= (2, 40));
        if reads_it {
            self.set_git_config("index.skipHash", "true")?;
        }
        Ok(reads_it)
    }

    /// Where git's index is, for messages: relative to the desk's root
    /// when it is inside it.
    pub fn index_file_shown(&self) -> String {
        let index = self.repo.path().join("index");
        index
            .strip_prefix(&self.root)
            .unwrap_or(&index)
            .display()
            .to_string()
    }

    /// Whether git writes the index without a checksum (`index.skipHash`,
    /// which `feature.manyFiles` implies) while the index is split
    /// (`core.splitIndex`, or an index that `git update-index
    /// --split-index` split): git then names the shared index after a zero
    /// checksum and misreads it (seen with git 2.47).
    pub fn index_settings_clash(&self) -> Result<bool, Error> {
        let config = self.repo.config()?;
        let skip_hash = config
            .get_bool("index.skipHash")
            .or_else(|_| config.get_bool("feature.manyFiles"))
            .unwrap_or(false);
        Ok(skip_hash && self.index_is_split()?)
    }

    /// Whether the index is split, or git is set to split it.
    fn index_is_split(&self) -> Result<bool, Error> {
        let configured = self
            .repo
            .config()?
            .get_bool("core.splitIndex")
            .unwrap_or(false);
        Ok(configured || index::is_split(&self.repo.path().join("index")))
    }

    /// Reads a key of the repository's own git config (`.git/config`
    /// only: never the user's or the system's).
    pub fn local_git_config(&self, key: &str) -> Result<Option<String>, Error> {
        let config = self.repo.config()?.open_level(git2::ConfigLevel::Local)?;
        match config.get_string(key) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets a key in the repository's own git config.
    pub fn set_git_config(&self, key: &str, value: &str) -> Result<(), Error> {
        let mut config = self.repo.config()?.open_level(git2::ConfigLevel::Local)?;
        config.set_str(key, value)?;
        Ok(())
    }
}

/// Refuses a repository whose object ids are not SHA-1 (git's
/// `extensions.objectFormat`): every id tix reads and writes, in libgit2
/// and in its own git formats (`gitfmt`), is a SHA-1.
fn refuse_other_object_formats(git_dir: &Path) -> Result<(), Error> {
    let Ok(config) = git2::Config::open(&git_dir.join("config")) else {
        return Ok(());
    };
    match config.get_string("extensions.objectformat") {
        Ok(format) if !format.eq_ignore_ascii_case("sha1") => Err(Error::ObjectFormat {
            path: git_dir.to_owned(),
            format,
        }),
        _ => Ok(()),
    }
}

/// Reads the user's git identity (`user.name`, `user.email`) from the
/// global and system configs, for a command run outside any desk.
pub fn global_git_identity() -> Option<(String, String)> {
    let config = git2::Config::open_default().ok()?;
    let name = config.get_string("user.name").ok()?;
    Some((name, config.get_string("user.email").unwrap_or_default()))
}

/// Process-wide libgit2 settings, applied before the first repository opens.
fn configure_libgit2() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Reading re-hashes every object by default; git itself does not, and
        // it is a noticeable part of a full listing. `tix doctor` and `git fsck`
        // remain the integrity checks.
        git2::opts::strict_hash_verification(false);
        // Creating a tree or commit checks that every object it names
        // exists: an object lookup per tree entry (1,024 per `tickets/`
        // tree). tix builds trees only from trees it just read.
        git2::opts::strict_object_creation(false);
    });
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;
    use crate::desk::change::NewRequest;
    use crate::desk::{Agent, Desk};
    use crate::model::Timestamp;

    fn now() -> Timestamp {
        "2025-03-03T09:00:00Z".parse().unwrap()
    }

    fn sig() -> Signature {
        Signature {
            name: "Ana".into(),
            email: "ana@desk".into(),
            time: now(),
        }
    }

    fn desk(n: usize) -> (tempfile::TempDir, Desk, Vec<TicketId>) {
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::parse("Ana <ana@desk>").unwrap();
        let desk = crate::desk::setup::init(dir.path(), Some("Ana <ana@desk>"), now(), false)
            .unwrap()
            .desk;
        let mut rng = fastrand::Rng::with_seed(11);
        let ids = (0..n)
            .map(|i| {
                let new = NewRequest {
                    subject: format!("Ticket {i}"),
                    ..NewRequest::default()
                };
                desk.create(new, &agent, now(), &mut rng).unwrap().ticket.id
            })
            .collect();
        (dir, desk, ids)
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// An edit that appends a comment line to each file.
    fn mark(texts: &[String]) -> Result<Writes, std::convert::Infallible> {
        Ok(Writes {
            contents: texts.iter().map(|t| format!("{t}# both\n")).collect(),
            message: "both\n".into(),
        })
    }

    #[test]
    fn update_many_commits_every_file_in_one_commit_and_refreshes_them() {
        let (dir, desk, ids) = desk(3);
        let store = desk.store();
        let root = dir.path();
        let head = git(root, &["rev-parse", "HEAD"]);
        store.update_many(&ids[..2], &sig(), mark).unwrap();
        let changed = git(root, &["diff", "--name-only", head.trim(), "HEAD"]);
        let mut expected: Vec<String> = ids[..2].iter().map(layout::ticket_path).collect();
        expected.sort();
        assert_eq!(changed.lines().collect::<Vec<_>>(), expected);
        assert_eq!(
            git(
                root,
                &["rev-list", "--count", &format!("{}..HEAD", head.trim())]
            ),
            "1\n"
        );
        for id in &ids[..2] {
            assert!(store.read_ticket(id).unwrap().ends_with("# both\n"));
        }
        // The working tree and the index hold the commit, and the journal
        // is gone.
        assert_eq!(git(root, &["status", "--porcelain"]), "");
        assert!(!store.private_dir().join(git::JOURNAL).exists());
    }

    #[test]
    fn update_many_refuses_when_one_file_has_uncommitted_changes_and_writes_nothing() {
        let (dir, desk, ids) = desk(2);
        let store = desk.store();
        let root = dir.path();
        let path = layout::ticket_path(&ids[1]);
        let file = root.join(&path);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}# mine\n")).unwrap();
        let head = git(root, &["rev-parse", "HEAD"]);
        let err = store.update_many(&ids, &sig(), mark).unwrap_err();
        assert!(matches!(err, UpdateError::Store(Error::Dirty(p)) if p == path));
        assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{text}# mine\n")
        );
    }

    #[test]
    fn update_many_builds_again_on_a_commit_another_writer_made_meanwhile() {
        let (dir, desk, ids) = desk(2);
        let store = desk.store();
        let mut runs = 0;
        store
            .update_many(&ids, &sig(), |texts| {
                runs += 1;
                if runs == 1 {
                    // Another writer commits a file of its own between the
                    // read and the commit (git's index is locked by tix).
                    let repo = store.repo();
                    let head = repo.head().unwrap().peel_to_commit().unwrap();
                    let blob = repo.blob(b"other\n").unwrap();
                    let mut builder = git2::build::TreeUpdateBuilder::new();
                    builder.upsert("notes.txt", blob, git2::FileMode::Blob);
                    let tree = builder.create_updated(repo, &head.tree().unwrap()).unwrap();
                    let tree = repo.find_tree(tree).unwrap();
                    let who = git2::Signature::now("H", "h@x").unwrap();
                    repo.commit(Some("HEAD"), &who, &who, "other", &tree, &[&head])
                        .unwrap();
                }
                mark(texts)
            })
            .unwrap();
        assert_eq!(runs, 2);
        assert_eq!(
            store.read_file("notes.txt").unwrap().as_deref(),
            Some("other\n")
        );
        for id in &ids {
            assert!(store.read_ticket(id).unwrap().ends_with("# both\n"));
        }
        let log = git(dir.path(), &["log", "--format=%s", "-2"]);
        assert_eq!(log, "both\nother\n");
    }
}
