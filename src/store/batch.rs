//! Many one-ticket commits at once, for automation runs and imports.
//!
//! Closing 10,000 tickets as 10,000 ordinary changes would write 50,000
//! loose objects and rewrite the index 10,000 times. A batch builds the same
//! chain of commits (one per ticket, each touching only its file) in memory,
//! writes all new objects as one pack, moves the branch once with a
//! compare-and-swap, and refreshes the working tree and index once. When the
//! branch moved meanwhile (a plain `git commit`), the chain is built again
//! on the new head and the unpublished pack is removed. Killed before the
//! branch moves, nothing is visible (the pack is unreferenced and `git gc`
//! drops it); killed after, the journal lets the next writer finish the
//! refresh.
//!
//! An item rewrites a ticket file or creates one. A new file's entry is
//! inserted into its shard's tree in git's order (`gitfmt::tree`), and a
//! new shard's into `tickets/` (and `tickets/` into the root, when a desk
//! has none). An item may carry its own author (an import keeps the old
//! helpdesk's author and time); the committer is always the batch's.

use std::collections::{HashMap, HashSet};
use std::io::Write;

use git2::{ObjectType, Oid, Repository};

use super::gitfmt::pack::Pack;
use super::gitfmt::pack_reader::{self, entry_kind_id, entry_offset};
use super::gitfmt::tree;
use super::lock::GitLockClaim;
use super::{Error, Signature, Store, git, layout};
use crate::model::TicketId;

/// One ticket commit in a batch: a rewrite of an existing ticket file, or
/// a new one.
#[derive(Clone, Debug)]
pub struct BatchItem {
    /// The ticket.
    pub id: TicketId,
    /// The blob the new content was derived from: the item is skipped when
    /// the ticket changed meanwhile. `None` for a new ticket: the item is
    /// skipped when its file exists by then.
    pub base: Option<Oid>,
    /// The commit message.
    pub message: String,
    /// The commit's author (`Name <email> <seconds> +0000`, checked), when
    /// it is not the batch's committer.
    author: Option<Box<str>>,
    /// The id of the new content's blob.
    blob: Oid,
    /// The new content as a pack entry, compressed (a third of its text),
    /// and spooled to a file.
    entry: Spooled,
}

impl BatchItem {
    /// An item that rewrites the ticket's file, read as blob `base`, with
    /// `content`.
    pub fn new(id: TicketId, base: Oid, content: &str, message: String) -> Self {
        Self::with_base(id, Some(base), content, message)
    }

    /// An item that creates the ticket's file with `content`; skipped when
    /// the file exists when the batch is written (in `HEAD`, or
    /// uncommitted in the working tree or the index).
    pub fn create(id: TicketId, content: &str, message: String) -> Self {
        Self::with_base(id, None, content, message)
    }

    fn with_base(id: TicketId, base: Option<Oid>, content: &str, message: String) -> Self {
        let entry = super::gitfmt::pack::entry(ObjectType::Blob, content.as_bytes());
        Self {
            id,
            base,
            message,
            author: None,
            blob: super::gitfmt::pack::object_id(ObjectType::Blob, content.as_bytes()),
            entry: Spooled::new(entry),
        }
    }

    /// Makes `author` the author of the item's commit (its name, address
    /// and time), the batch's signature staying the committer. Refuses,
    /// as [`Error::Identity`], what git could not read back as written: a
    /// name or address with a control character (a line break would start
    /// a header of its own) or an angle bracket, one that is empty once
    /// trimmed as libgit2 trims it, or a time before 1970.
    pub fn authored_by(mut self, author: &Signature) -> Result<Self, Error> {
        self.author = Some(git::signature_line(author)?.into_boxed_str());
        Ok(self)
    }

    /// Tells whether the item creates the ticket's file.
    pub fn is_new(&self) -> bool {
        self.base.is_none()
    }
}

/// Bytes kept in the process's spool file: an unlinked temporary file
/// (in `$TMPDIR`, readable by its owner only) that items are appended to,
/// so a run that records thousands of changes holds them in the page
/// cache, which the kernel can write out and reclaim, instead of the heap
/// (on a tmpfs `$TMPDIR` they are in memory still, but swappable). Kept
/// on the heap when there is no spool.
#[derive(Clone, Debug)]
enum Spooled {
    Held(Vec<u8>),
    /// Where in the spool, and the CRC-32 of the bytes, checked when they
    /// are read back.
    At {
        offset: u64,
        len: usize,
        crc: u32,
    },
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

/// The spool file and how much of it is taken.
struct Spool {
    file: std::fs::File,
    len: std::sync::atomic::AtomicU64,
}

/// The process's spool, made on first use (`None` when no temporary file
/// can be made).
fn spool() -> Option<&'static Spool> {
    static SPOOL: std::sync::OnceLock<Option<Spool>> = std::sync::OnceLock::new();
    SPOOL
        .get_or_init(|| {
            Some(Spool {
                file: tempfile::tempfile().ok()?,
                len: std::sync::atomic::AtomicU64::new(0),
            })
        })
        .as_ref()
}

impl Spooled {
    fn new(bytes: Vec<u8>) -> Self {
        use std::os::unix::fs::FileExt;
        let Some(spool) = spool() else {
            return Self::Held(bytes);
        };
        let offset = spool
            .len
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        match spool.file.write_all_at(&bytes, offset) {
            Ok(()) => Self::At {
                offset,
                len: bytes.len(),
                crc: crc32(&bytes),
            },
            Err(_) => Self::Held(bytes),
        }
    }

    fn bytes(&self) -> Result<std::borrow::Cow<'_, [u8]>, Error> {
        use std::os::unix::fs::FileExt;
        match self {
            Self::Held(bytes) => Ok(bytes.into()),
            Self::At { offset, len, crc } => {
                let spool = spool().ok_or_else(|| spool_error("it is gone"))?;
                let mut bytes = vec![0; *len];
                spool
                    .file
                    .read_exact_at(&mut bytes, *offset)
                    .map_err(|e| spool_error(&e.to_string()))?;
                if crc32(&bytes) != *crc {
                    return Err(spool_error("it reads back other bytes"));
                }
                Ok(bytes.into())
            }
        }
    }
}

fn spool_error(why: &str) -> Error {
    Error::io(
        &std::env::temp_dir(),
        std::io::Error::other(format!(
            "cannot read a batch item back from its spool: {why}"
        )),
    )
}

/// What a batch did.
#[derive(Clone, Debug, Default)]
pub struct BatchReport {
    /// Tickets committed (in a dry run: that would be), in commit order.
    pub committed: Vec<TicketId>,
    /// Tickets skipped, with the reason (changed meanwhile, uncommitted
    /// edits, a new ticket's file there already).
    pub skipped: Vec<(TicketId, String)>,
}

/// A step of [`Store::write_batch`], for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchProgress {
    /// This many commits are built.
    Built(usize),
    /// Every commit is built; the pack, the branch and the working tree are
    /// being written.
    Writing,
}

/// Why an item is skipped when its ticket changed and nobody rebuilt it.
const CHANGED_MEANWHILE: &str = "it changed while the rules ran";

/// Why a new ticket's item is skipped when its file is in `HEAD`.
const EXISTS_ALREADY: &str = "a ticket with this id exists already";

/// Why a new ticket's item is skipped when an earlier item of the batch
/// creates the same ticket.
const CREATED_TWICE: &str = "an earlier item of the batch creates this ticket";

/// How often a batch starts again when tickets or the branch changed under
/// it (another writer, or a plain `git commit`).
const ATTEMPTS: u32 = 8;

impl Store {
    /// Returns the blob id of a ticket file in `HEAD`.
    pub fn ticket_blob(&self, id: &TicketId) -> Result<Option<Oid>, Error> {
        git::head_blob(&self.repo, &layout::ticket_path(id))
    }

    /// Commits every item as its own commit, in id order, in one batch
    /// (see [`Self::write_batch`]); an item whose ticket changed since it
    /// was built, or that creates a ticket whose file exists, is skipped.
    /// `progress` is called with the number of commits built so far.
    pub fn commit_batch(
        &self,
        items: Vec<BatchItem>,
        sig: &Signature,
        progress: &mut dyn FnMut(usize),
    ) -> Result<BatchReport, Error> {
        let new: HashSet<TicketId> = items
            .iter()
            .filter(|item| item.is_new())
            .map(|item| item.id.clone())
            .collect();
        let mut changed = Vec::new();
        let mut report = self.write_batch(
            items,
            sig,
            false,
            &mut |step| {
                if let BatchProgress::Built(n) = step {
                    progress(n);
                }
            },
            &mut |ids| {
                changed.extend_from_slice(ids);
                Vec::new()
            },
        )?;
        report.skipped.extend(changed.into_iter().map(|id| {
            let reason = if new.contains(&id) {
                EXISTS_ALREADY
            } else {
                CHANGED_MEANWHILE
            };
            (id, reason.to_owned())
        }));
        Ok(report)
    }

    /// Commits every item as its own commit, in id order, in one batch.
    ///
    /// Items whose ticket file has uncommitted edits are skipped, and so
    /// are new tickets whose file is in the working tree or the index
    /// uncommitted, or whose path is taken in `HEAD` by a directory (or
    /// runs through a file), and a new ticket an earlier item creates. An
    /// item's commit has the batch's signature as committer, and as author
    /// unless the item has its own ([`BatchItem::authored_by`]). When a
    /// ticket changed since its item was built (a new ticket: its file is
    /// in `HEAD` by now), `rebuild` gets its id and
    /// returns the items to commit instead, built from `HEAD` as it is now
    /// (none when the ticket needs no change any more); when the branch
    /// moves between reading `HEAD` and publishing, the whole batch is
    /// built again on the new `HEAD`. Packs of a batch that could not be
    /// published are removed. With `dry_run` nothing is written: the
    /// report says what would be committed and skipped.
    pub fn write_batch(
        &self,
        mut items: Vec<BatchItem>,
        sig: &Signature,
        dry_run: bool,
        progress: &mut dyn FnMut(BatchProgress),
        rebuild: &mut dyn FnMut(&[TicketId]) -> Vec<BatchItem>,
    ) -> Result<BatchReport, Error> {
        if self.pinned().is_some() && !dry_run {
            return Err(Error::Past(
                "a desk read at a past commit changes nothing".to_owned(),
            ));
        }
        let _lock = if dry_run { None } else { Some(self.lock()?) };
        self.check_state()?;
        items.sort_by(|a, b| a.id.cmp(&b.id));
        // A ticket is created once: a later item creating it again would
        // find it there (the sort is stable, so the first item stays).
        let mut twice = Vec::new();
        let mut previous: Option<TicketId> = None;
        items.retain(|item| {
            let again = item.is_new() && previous.as_ref() == Some(&item.id);
            if again {
                twice.push((item.id.clone(), CREATED_TWICE.to_owned()));
            } else {
                previous = Some(item.id.clone());
            }
            !again
        });
        let mut orphans = Vec::new();
        let result =
            self.attempt_batches(&mut items, sig, dry_run, progress, rebuild, &mut orphans);
        self.remove_packs(&orphans);
        let mut report = result?;
        report.skipped.extend(twice);
        Ok(report)
    }

    fn attempt_batches(
        &self,
        items: &mut Vec<BatchItem>,
        sig: &Signature,
        dry_run: bool,
        progress: &mut dyn FnMut(BatchProgress),
        rebuild: &mut dyn FnMut(&[TicketId]) -> Vec<BatchItem>,
        orphans: &mut Vec<String>,
    ) -> Result<BatchReport, Error> {
        let signature = git::signature_line(sig)?;
        for _ in 0..ATTEMPTS {
            let Some(head) = git::head_commit(&self.repo)? else {
                // Not a desk `tix init` made: nothing to build on.
                let skipped = items
                    .iter()
                    .map(|item| (item.id.clone(), "the branch has no commit yet".to_owned()))
                    .collect();
                return Ok(BatchReport {
                    committed: Vec::new(),
                    skipped,
                });
            };
            let head_tree = head.tree()?;
            // Shard trees from the packs: libgit2 would keep them cached.
            let packs = pack_reader::for_reading(&self.packs, self.repo.path(), items.len());
            let mut snapshot = git::Snapshot::new(&self.repo, &head_tree)?.with_packs(packs);
            let mut stale = Vec::new();
            for item in items.iter() {
                if snapshot.blob(&item.id)? != item.base {
                    stale.push(item.id.clone());
                }
            }
            // Its trees are not needed again: do not hold them while the
            // pack is written.
            drop(snapshot);
            if !stale.is_empty() {
                let gone: HashSet<&TicketId> = stale.iter().collect();
                items.retain(|item| !gone.contains(&item.id));
                items.extend(rebuild(&stale));
                items.sort_by(|a, b| a.id.cmp(&b.id));
                // The rebuilt items were read from HEAD as it is now: check
                // them against it.
                continue;
            }
            let mut report = BatchReport::default();
            // New files whose path a directory (or a file on the way) takes.
            let blocked = if items.iter().any(BatchItem::is_new) {
                let mut trees = Trees::open(&self.repo, packs.reader(), head_tree.id())?;
                let mut blocked = HashSet::new();
                for item in items.iter().filter(|item| item.is_new()) {
                    if let Some(path) = trees.blocker(&item.id)? {
                        report
                            .skipped
                            .push((item.id.clone(), Error::NotAFile(path).to_string()));
                        blocked.insert(item.id.clone());
                    }
                }
                blocked
            } else {
                HashSet::new()
            };
            let paths: Vec<String> = items
                .iter()
                .map(|item| layout::ticket_path(&item.id))
                .collect();
            let wanted: Vec<&str> = paths.iter().map(String::as_str).collect();
            let index = git::index_blobs(&self.repo, &wanted).ok();
            drop(wanted);
            let mut clean = Vec::with_capacity(items.len());
            for (item, path) in items.iter().zip(paths) {
                if blocked.contains(&item.id) {
                    continue;
                }
                let staged = |index: &Option<HashMap<String, Oid>>| match index {
                    Some(entries) => Ok(entries.get(&path).copied()),
                    None => git::index_blob(&self.repo, &path),
                };
                match git::check_clean_with(&self.root, &path, item.base, || staged(&index)) {
                    Ok(()) => clean.push(item),
                    Err(err) => report.skipped.push((item.id.clone(), err.to_string())),
                }
            }
            // The index is rewritten below: do not hold two copies' worth.
            drop(index);
            if dry_run {
                report.committed = clean.iter().map(|item| item.id.clone()).collect();
                return Ok(report);
            }
            let mut written = Vec::new();
            let published = self.publish(
                &head,
                &clean,
                &signature,
                &mut report,
                progress,
                &mut written,
            );
            match published {
                Ok(true) => return Ok(report),
                Ok(false) => {
                    // The branch moved: nothing refers to these packs.
                    orphans.extend(written);
                }
                Err(err) => return Err(err),
            }
        }
        Err(Error::Contended(ATTEMPTS))
    }

    /// Builds the chain of commits on `head`, writes it and moves the
    /// branch; returns false when the branch moved meanwhile (nothing is
    /// published). The names of the packs it wrote go to `written`.
    fn publish(
        &self,
        head: &git2::Commit<'_>,
        items: &[&BatchItem],
        signature: &str,
        report: &mut BatchReport,
        progress: &mut dyn FnMut(BatchProgress),
        written: &mut Vec<String>,
    ) -> Result<bool, Error> {
        let head_id = head.id();
        let packs = pack_reader::for_reading(&self.packs, self.repo.path(), items.len());
        let trees = Trees::open(&self.repo, packs.reader(), head.tree_id())?;
        let mut chain = Chain::new(trees, head_id);
        let mut journal = Vec::with_capacity(items.len());
        let pack_dir = self.repo.commondir().join("objects").join("pack");
        let mut pack = None;
        for (n, item) in items.iter().enumerate() {
            let open = match &mut pack {
                Some(open) => open,
                None => {
                    // Five objects a commit: blob, three trees, commit.
                    let count = 5 * (items.len() - n).min(CHUNK);
                    chain.new_pack();
                    pack.insert(start_pack(&pack_dir, count)?)
                }
            };
            chain.add(&mut open.pack, item, signature)?;
            journal.push((layout::ticket_path(&item.id), item.base));
            report.committed.push(item.id.clone());
            progress(BatchProgress::Built(report.committed.len()));
            if report.committed.len().is_multiple_of(CHUNK)
                && let Some(full) = pack.take()
            {
                // Bound the index's memory: finish this pack, start another.
                written.push(full.finish()?);
            }
        }
        if report.committed.is_empty() {
            return Ok(true);
        }
        progress(BatchProgress::Writing);
        if let Some(last) = pack.take() {
            written.push(last.finish()?);
        }
        // The trees are in the pack: free them before the refresh reads the
        // index.
        let parent = chain.parent;
        drop(chain);

        // Publish: one compare-and-swap of the branch, then one refresh.
        let private = self.private_dir();
        git::write_journal(&private, &journal)?;
        let branch = git::head_target(&self.repo)?;
        let message = format!("tix: {} commits in one batch", report.committed.len());
        let claim = GitLockClaim::record(&private, git::REF_LOCK, &git::branch_lock(&self.repo)?)?;
        let moved = self
            .repo
            .reference_matching(&branch, parent, true, head_id, &message);
        drop(claim);
        if let Err(err) = moved {
            git::remove_journal(&private)?;
            return if err.code() == git2::ErrorCode::Modified {
                Ok(false)
            } else {
                Err(err.into())
            };
        }
        // The new files come from the items, not from the new pack.
        let files = journal
            .into_iter()
            .zip(items)
            .map(|((path, _), item)| Ok((path, item.blob, inflate(&item.entry.bytes()?)?)));
        git::refresh_files(&self.repo, &self.root, files)?;
        git::remove_journal(&private)?;
        Ok(true)
    }

    /// Removes packs this process wrote for a batch that was never
    /// published: no ref reaches their objects. Best effort: a pack left
    /// behind is dropped by `git gc`.
    fn remove_packs(&self, names: &[String]) {
        let dir = self.repo.commondir().join("objects").join("pack");
        for name in names {
            for ext in ["pack", "idx", "rev"] {
                let _ = std::fs::remove_file(dir.join(format!("pack-{name}.{ext}")));
            }
        }
    }
}

/// The raw trees on the paths a batch changes: the root, `tickets/` and
/// the shards touched so far, edited in place. Shards are read from the
/// packs when they are there (libgit2 would keep each cached).
struct Trees<'a> {
    repo: &'a Repository,
    packs: pack_reader::Reader<'a>,
    root: Vec<u8>,
    /// `tickets/` (empty while the root has none).
    tickets: Vec<u8>,
    /// What the root's `tickets` entry is.
    tickets_entry: Listed,
    shards: HashMap<String, Shard>,
}

/// A shard tree, whether `tickets/` lists it yet (a new shard's is added
/// by its first commit), and where the batch wrote it last.
struct Shard {
    data: Vec<u8>,
    entry: Listed,
    /// The id of its last version in a pack of the batch, how many deltas
    /// deep that is, and which pack (see [`Chain::add`]).
    written: Option<(Oid, usize, usize)>,
}

/// What a tree's entry for a directory on the batch's paths is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listed {
    /// A directory: its id is replaced in place.
    Directory,
    /// Not there yet: the first commit into the directory inserts it.
    Absent,
    /// Something else (a file, a submodule): nothing can be put under it.
    Other,
}

/// What entry `name` of a raw tree is, and the id of a directory.
fn listed(tree: &[u8], name: &str) -> (Listed, Option<Oid>) {
    match entry_kind_id(tree, name.as_bytes()) {
        Some((ObjectType::Tree, id)) => (Listed::Directory, Some(id)),
        Some(_) => (Listed::Other, None),
        None => (Listed::Absent, None),
    }
}

impl<'a> Trees<'a> {
    fn open(
        repo: &'a Repository,
        packs: pack_reader::Reader<'a>,
        root: Oid,
    ) -> Result<Self, Error> {
        let odb = repo.odb()?;
        let root = odb.read(root)?.data().to_vec();
        let (tickets_entry, tickets_id) = listed(&root, layout::TICKETS_DIR);
        let tickets = match tickets_id {
            Some(id) => odb.read(id)?.data().to_vec(),
            None => Vec::new(),
        };
        Ok(Self {
            repo,
            packs,
            root,
            tickets,
            tickets_entry,
            shards: HashMap::new(),
        })
    }

    /// The shard tree `name`: empty when `tickets/` has no such directory
    /// yet, an error when it is not a directory (see [`Self::blocker`]).
    fn shard(&mut self, name: &str) -> Result<&mut Shard, Error> {
        if !self.shards.contains_key(name) {
            let (entry, id) = listed(&self.tickets, name);
            let data = match (self.tickets_entry, entry, id) {
                (Listed::Directory, Listed::Directory, Some(id)) => match self.packs.tree(&id) {
                    Some(tree) => tree,
                    None => self.repo.odb()?.read(id)?.data().to_vec(),
                },
                (Listed::Directory | Listed::Absent, Listed::Absent, _) => Vec::new(),
                _ => return Err(missing(name)),
            };
            let shard = Shard {
                data,
                entry,
                written: None,
            };
            self.shards.insert(name.to_owned(), shard);
        }
        self.shards.get_mut(name).ok_or_else(|| missing(name))
    }

    /// The path in `HEAD` that is in the way of a new file for ticket
    /// `id`: a file where `tickets/` or its shard directory would be, or
    /// an entry of the file's name (a directory, a submodule; a file of
    /// that name is in `HEAD` and the item is stale).
    fn blocker(&mut self, id: &TicketId) -> Result<Option<String>, Error> {
        if self.tickets_entry == Listed::Other {
            return Ok(Some(layout::TICKETS_DIR.to_owned()));
        }
        if listed(&self.tickets, id.shard()).0 == Listed::Other {
            return Ok(Some(format!("{}/{}", layout::TICKETS_DIR, id.shard())));
        }
        let file = format!("{id}.toml");
        let shard = self.shard(id.shard())?;
        Ok(entry_kind_id(&shard.data, file.as_bytes()).map(|_| layout::ticket_path(id)))
    }
}

fn missing(name: &str) -> Error {
    Error::NotFound(format!("{name} in the tree of HEAD"))
}

fn set_entry(data: &mut [u8], name: &[u8], id: Oid) -> Result<(), Error> {
    let at = entry_offset(data, name).ok_or_else(|| missing(&String::from_utf8_lossy(name)))?;
    data[at..at + 20].copy_from_slice(id.as_bytes());
    Ok(())
}

/// Sets directory `name` of a raw tree to `id`: in place when `entry`
/// says it is there, else inserted in git's order (a new shard, a first
/// `tickets/`).
fn set_directory(data: &mut Vec<u8>, entry: &mut Listed, name: &str, id: Oid) -> Result<(), Error> {
    match entry {
        Listed::Directory => set_entry(data, name.as_bytes(), id),
        Listed::Absent => {
            tree::insert_entry(data, tree::Mode::Directory, name.as_bytes(), id)
                .map_err(|_| missing(name))?;
            *entry = Listed::Directory;
            Ok(())
        }
        Listed::Other => Err(missing(name)),
    }
}

/// The chain of commits a batch writes: the trees on its paths, the
/// commit it is at, and the `tickets/` tree the next one is a delta of.
struct Chain<'a> {
    trees: Trees<'a>,
    /// The last commit of the chain (at first, `HEAD`).
    parent: Oid,
    /// Which pack of the batch is being written.
    pack: usize,
    /// A shard as it was before the commit being written changed it.
    shard_base: Vec<u8>,
    /// The previous `tickets/` tree in the current pack: the next one is
    /// written as a delta against it, and every `DELTA_DEPTH`-th in full,
    /// so reading the newest (every later command does) applies a few
    /// deltas, not a chain as long as the run.
    previous: Option<(Oid, Vec<u8>)>,
    depth: usize,
}

impl<'a> Chain<'a> {
    fn new(trees: Trees<'a>, head: Oid) -> Self {
        Self {
            trees,
            parent: head,
            pack: 0,
            shard_base: Vec::new(),
            previous: None,
            depth: 0,
        }
    }

    /// Starts writing into a new pack: delta bases must be in the same
    /// pack.
    fn new_pack(&mut self) {
        self.pack += 1;
        self.previous = None;
    }

    /// Writes the commit of `item` to `pack`: its blob, the shard,
    /// `tickets/` and root trees with its entry replaced (a new ticket's
    /// inserted, and a new shard's), and the commit, on the last one.
    fn add<W: std::io::Write>(
        &mut self,
        pack: &mut Pack<W>,
        item: &BatchItem,
        committer: &str,
    ) -> Result<(), Error> {
        let repo = self.trees.repo;
        let io = |e: std::io::Error| Error::io(repo.path(), e);
        let blob = item.blob;
        let name = item.id.shard();
        let file = format!("{}.toml", item.id);
        let shard = self.trees.shard(name)?;
        // A shard this pack holds already is written as a delta of that
        // version (a few dozen bytes, where the whole tree is a hundred
        // entries of incompressible ids at 100,000 tickets), every
        // `DELTA_DEPTH`-th in full, as `tickets/` is.
        let base = match shard.written {
            Some((id, depth, pack)) if pack == self.pack && depth < DELTA_DEPTH => {
                self.shard_base.clone_from(&shard.data);
                Some((id, depth + 1))
            }
            _ => None,
        };
        match item.base {
            Some(_) => set_entry(&mut shard.data, file.as_bytes(), blob)?,
            // Checked before the chain was started (`Trees::blocker`).
            None => tree::insert_entry(&mut shard.data, tree::Mode::File, file.as_bytes(), blob)
                .map_err(|_| Error::NotAFile(layout::ticket_path(&item.id)))?,
        }
        pack.add_entry(blob, &item.entry.bytes()?).map_err(io)?;
        let shard_id = match base {
            Some((base, _)) => {
                pack.add_delta(ObjectType::Tree, base, &self.shard_base, &shard.data)
            }
            None => pack.add(ObjectType::Tree, &shard.data),
        }
        .map_err(io)?;
        shard.written = Some((shard_id, base.map_or(0, |(_, depth)| depth), self.pack));
        // Listed from this commit on.
        let mut entry = std::mem::replace(&mut shard.entry, Listed::Directory);
        set_directory(&mut self.trees.tickets, &mut entry, name, shard_id)?;
        let tickets = &self.trees.tickets;
        let tickets_id = match &self.previous {
            Some((base, base_data)) if self.depth < DELTA_DEPTH => {
                self.depth += 1;
                pack.add_delta(ObjectType::Tree, *base, base_data, tickets)
                    .map_err(io)?
            }
            _ => {
                self.depth = 0;
                pack.add(ObjectType::Tree, tickets).map_err(io)?
            }
        };
        match &mut self.previous {
            Some((base, base_data)) => {
                *base = tickets_id;
                base_data.clone_from(tickets);
            }
            None => self.previous = Some((tickets_id, tickets.clone())),
        }
        set_directory(
            &mut self.trees.root,
            &mut self.trees.tickets_entry,
            layout::TICKETS_DIR,
            tickets_id,
        )?;
        let root_id = pack.add(ObjectType::Tree, &self.trees.root).map_err(io)?;
        let author = item.author.as_deref().unwrap_or(committer);
        // Byte for byte what git_commit_create writes.
        let commit = format!(
            "tree {root_id}\nparent {}\nauthor {author}\ncommitter {committer}\n\n{}",
            self.parent, item.message
        );
        self.parent = pack
            .add(ObjectType::Commit, commit.as_bytes())
            .map_err(io)?;
        Ok(())
    }
}

/// How many `tickets/` trees in a row a batch writes as deltas of the one
/// before (git's own default depth is 50).
const DELTA_DEPTH: usize = 32;

/// Commits per pack: bounds a pack's size and the index entries held for
/// it, while keeping a run of up to this many commits in one pack.
const CHUNK: usize = 20_000;

/// A pack being written to a temporary file in `objects/pack/`; the file
/// is removed if the pack is dropped unfinished.
struct OpenPack {
    pack: Pack<std::io::BufWriter<tempfile::NamedTempFile>>,
    dir: std::path::PathBuf,
}

/// Starts a pack of `count` objects in `dir`.
fn start_pack(dir: &std::path::Path, count: usize) -> Result<OpenPack, Error> {
    let count = u32::try_from(count).map_err(|_| Error::Busy)?;
    let io = |e| Error::io(dir, e);
    std::fs::create_dir_all(dir).map_err(io)?;
    let file = tempfile::Builder::new()
        .prefix("tmp_pack_")
        .tempfile_in(dir)
        .map_err(io)?;
    let pack = Pack::new(std::io::BufWriter::with_capacity(1 << 16, file), count).map_err(io)?;
    Ok(OpenPack {
        pack,
        dir: dir.to_owned(),
    })
}

impl OpenPack {
    /// Puts the pack and then its index in place (git reads a pack once
    /// its index is there); returns its name. Both are on disk before the
    /// branch can point into them, as git makes sure of its own packs.
    fn finish(self) -> Result<String, Error> {
        let Self { pack, dir } = self;
        let io = |e| Error::io(&dir, e);
        let finished = pack.finish().map_err(io)?;
        let pack_file = finished.out.into_inner().map_err(|e| io(e.into_error()))?;
        let base = dir.join(format!("pack-{}", finished.name));
        // Pack files are never written again; git makes them read-only.
        pack_file.as_file().sync_all().map_err(io)?;
        read_only(pack_file.as_file(), &dir).map_err(io)?;
        let pack_path = base.with_extension("pack");
        pack_file.persist(&pack_path).map_err(|e| io(e.error))?;
        let indexed = (|| {
            let mut index_file = tempfile::Builder::new()
                .prefix("tmp_idx_")
                .tempfile_in(&dir)?;
            index_file.write_all(&finished.index)?;
            index_file.as_file().sync_all()?;
            read_only(index_file.as_file(), &dir)?;
            index_file.persist(base.with_extension("idx"))?;
            Ok(())
        })();
        if let Err(e) = indexed {
            // A pack without its index is invisible to git: do not leave it.
            let _ = std::fs::remove_file(&pack_path);
            return Err(io(e));
        }
        Ok(finished.name)
    }
}

/// Makes a pack file read-only, and readable by those who may read the
/// pack directory, as git's packs are (the temporary file was private to
/// its owner).
fn read_only(file: &std::fs::File, dir: &std::path::Path) -> std::io::Result<()> {
    #[cfg(unix)]
    let permissions = {
        use std::os::unix::fs::PermissionsExt;
        let dir_mode = std::fs::metadata(dir)?.permissions().mode();
        std::fs::Permissions::from_mode(0o444 & dir_mode)
    };
    #[cfg(not(unix))]
    let permissions = {
        let _ = dir;
        let mut permissions = file.metadata()?.permissions();
        permissions.set_readonly(true);
        permissions
    };
    file.set_permissions(permissions)
}
/// The content of an item's pack entry.
fn inflate(entry: &[u8]) -> Result<Vec<u8>, Error> {
    super::gitfmt::pack::inflate_entry(entry).ok_or_else(|| {
        Error::io(
            std::path::Path::new("objects/pack"),
            std::io::Error::other("a batch item's content does not inflate"),
        )
    })
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

    #[test]
    fn spooled_bytes_come_back_as_written() {
        let chunks: Vec<Vec<u8>> = (0..50u8)
            .map(|i| vec![i; 1 + 997 * usize::from(i)])
            .collect();
        let spooled: Vec<Spooled> = std::thread::scope(|scope| {
            let threads: Vec<_> = chunks
                .iter()
                .map(|chunk| scope.spawn(|| Spooled::new(chunk.clone())))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        for (chunk, spooled) in chunks.iter().zip(&spooled) {
            assert!(matches!(spooled, Spooled::At { .. }), "spooled to the file");
            assert_eq!(&*spooled.bytes().unwrap(), &chunk[..]);
        }
    }

    fn desk(n: usize) -> (tempfile::TempDir, Desk, Vec<TicketId>) {
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::parse("Ana <ana@desk>").unwrap();
        let desk = crate::desk::setup::init(dir.path(), Some("Ana <ana@desk>"), now(), false)
            .unwrap()
            .desk;
        let mut rng = fastrand::Rng::with_seed(7);
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

    /// What an automation would write: the committed file plus a line.
    fn item(store: &Store, id: &TicketId) -> BatchItem {
        BatchItem::new(
            id.clone(),
            store.ticket_blob(id).unwrap().unwrap(),
            &format!("{}# batch\n", store.read_ticket(id).unwrap()),
            format!("{id}: batch\n"),
        )
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["-c", "user.name=Hand", "-c", "user.email=hand@desk"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    fn packs(dir: &Path) -> usize {
        std::fs::read_dir(dir.join(".git/objects/pack"))
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "pack"))
                })
                .count()
            })
            .unwrap_or(0)
    }

    fn sig() -> Signature {
        Signature {
            name: "tix-automation".into(),
            email: "tix-automation@localhost".into(),
            time: now(),
        }
    }

    #[test]
    fn a_commit_between_reading_head_and_publishing_is_kept_and_the_batch_retried() {
        let (dir, desk, ids) = desk(3);
        let root = dir.path();
        let store = desk.store();
        let items: Vec<BatchItem> = ids.iter().map(|id| item(store, id)).collect();
        let before = git(root, &["rev-list", "--count", "HEAD"]);
        // Edits one of the batch's tickets by hand while the batch builds.
        let hand = ids[1].clone();
        let mut moved = false;
        let mut rebuilt = Vec::new();
        let report = store
            .write_batch(
                items,
                &sig(),
                false,
                &mut |step| {
                    if step == BatchProgress::Built(1) && !moved {
                        moved = true;
                        let path = layout::ticket_path(&hand);
                        let file = root.join(&path);
                        let text = std::fs::read_to_string(&file).unwrap();
                        std::fs::write(&file, format!("{text}# hand\n")).unwrap();
                        git(root, &["commit", "-q", "-m", "by hand", "--", &path]);
                    }
                },
                &mut |changed| {
                    rebuilt.extend_from_slice(changed);
                    changed.iter().map(|id| item(store, id)).collect()
                },
            )
            .unwrap();
        assert!(moved);
        assert_eq!(
            rebuilt,
            std::slice::from_ref(&hand),
            "only the edited ticket is rebuilt"
        );
        assert_eq!(report.committed.len(), 3);
        let count: usize = git(root, &["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .unwrap();
        assert_eq!(count, before.trim().parse::<usize>().unwrap() + 4);
        assert!(git(root, &["log", "--format=%s"]).contains("by hand"));
        let text = store.read_ticket(&hand).unwrap();
        assert!(text.ends_with("# hand\n# batch\n"), "{text}");
        assert_eq!(packs(root), 1, "the unpublished pack is removed");
        git(root, &["fsck", "--no-dangling"]);
        assert_eq!(git(root, &["status", "--porcelain"]), "");
    }

    #[test]
    fn the_plain_batch_skips_a_ticket_changed_under_it() {
        let (dir, desk, ids) = desk(2);
        let store = desk.store();
        let items: Vec<BatchItem> = ids.iter().map(|id| item(store, id)).collect();
        let path = layout::ticket_path(&ids[0]);
        let file = dir.path().join(&path);
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}# hand\n")).unwrap();
        git(dir.path(), &["commit", "-q", "-m", "by hand", "--", &path]);
        let report = store.commit_batch(items, &sig(), &mut |_| {}).unwrap();
        assert_eq!(report.committed, [ids[1].clone()]);
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].0, ids[0]);
    }

    #[test]
    fn a_dry_run_reports_uncommitted_edits_and_writes_nothing() {
        let (dir, desk, ids) = desk(2);
        let store = desk.store();
        let items: Vec<BatchItem> = ids.iter().map(|id| item(store, id)).collect();
        let file = dir.path().join(layout::ticket_path(&ids[0]));
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}# unsaved\n")).unwrap();
        let head = git(dir.path(), &["rev-parse", "HEAD"]);
        let report = store
            .write_batch(items, &sig(), true, &mut |_| {}, &mut |_| Vec::new())
            .unwrap();
        assert_eq!(report.committed, [ids[1].clone()]);
        assert!(
            report.skipped[0].1.contains("uncommitted changes"),
            "{report:?}"
        );
        assert_eq!(git(dir.path(), &["rev-parse", "HEAD"]), head);
        assert_eq!(packs(dir.path()), 0);
    }

    /// A new ticket's file, as the domain writes one.
    fn new_text(id: &TicketId, n: usize) -> String {
        use crate::domain::change::{Actor, NewTicket, create};
        let statuses = crate::model::status::Statuses::builtin();
        let actor = Actor {
            id: "old@helpdesk",
            role: crate::model::Role::Agent,
            now: now(),
            statuses: &statuses,
        };
        let new = NewTicket {
            subject: format!("Imported ticket {n}"),
            body: Some(format!("The old helpdesk's ticket number {n}.")),
            ..NewTicket::default()
        };
        create(id.clone(), new, &actor)
            .unwrap()
            .0
            .to_toml(&statuses)
    }

    fn create_item(id: &TicketId, n: usize) -> BatchItem {
        BatchItem::create(id.clone(), &new_text(id, n), format!("{id}: import\n"))
    }

    /// An id in `shard` that is not one of `taken`.
    fn id_in(shard: &str, taken: &[TicketId]) -> TicketId {
        (0..)
            .map(|n: usize| format!("{shard}{:04}", n % 10_000).parse().unwrap())
            .find(|id| !taken.contains(id))
            .unwrap()
    }

    /// A shard none of `taken` is in, at or after `from`.
    fn free_shard(from: usize, taken: &[TicketId]) -> String {
        let alphabet = crate::model::ALPHABET;
        (from..alphabet.len() * alphabet.len())
            .map(|n| {
                let pair = [alphabet[n / alphabet.len()], alphabet[n % alphabet.len()]];
                String::from_utf8(pair.to_vec()).unwrap()
            })
            .find(|shard| taken.iter().all(|id| id.shard() != shard))
            .unwrap()
    }

    fn old_agent() -> Signature {
        Signature {
            name: "Old Agent".into(),
            email: "old@helpdesk.example".into(),
            time: "2019-05-06T07:08:09Z".parse().unwrap(),
        }
    }

    /// Checks that every tree of `rev` is the one git writes for its
    /// entries: read into a scratch index and written back, it has the
    /// same id (an entry out of git's order would come back sorted).
    fn assert_canonical(dir: &Path, rev: &str) {
        let scratch = tempfile::tempdir().unwrap();
        let index = scratch.path().join("index");
        let with_index = |args: &[&str]| {
            let out = Command::new("git")
                .current_dir(dir)
                .env("GIT_INDEX_FILE", &index)
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        with_index(&["read-tree", rev]);
        let written = with_index(&["write-tree"]);
        let tree = git(dir, &["rev-parse", &format!("{rev}^{{tree}}")]);
        assert_eq!(written, tree, "{rev}: a tree is not as git writes it");
    }

    /// The commits after `from`, oldest first.
    fn commits_after(dir: &Path, from: &str) -> Vec<String> {
        git(
            dir,
            &["rev-list", "--reverse", &format!("{}..HEAD", from.trim())],
        )
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// Checks the working tree and the index hold `HEAD` and nothing is
    /// left to finish.
    fn assert_clean(store: &Store, dir: &Path) {
        assert_eq!(
            git(dir, &["status", "--porcelain", "--untracked-files=all"]),
            ""
        );
        assert_eq!(git(dir, &["diff", "--cached", "--name-only"]), "");
        assert!(!store.private_dir().join(git::JOURNAL).exists());
    }

    #[test]
    fn new_tickets_go_into_existing_and_new_shards_between_rewrites() {
        let (dir, desk, ids) = desk(3);
        let root = dir.path();
        let store = desk.store();
        let before = git(root, &["rev-parse", "HEAD"]);
        let old_shard = free_shard(0, &ids);
        let new_shard = free_shard(33, &ids);
        let created = [
            // Into a shard that has a ticket, next to it.
            id_in(ids[0].shard(), &ids),
            // Into the first shard (right after `.gitkeep`), and two into
            // one new shard further on.
            id_in(&old_shard, &ids),
            id_in(&new_shard, &ids),
            "zzzzzz".parse().unwrap(),
        ];
        let mut items: Vec<BatchItem> = created
            .iter()
            .enumerate()
            .map(|(n, id)| create_item(id, n).authored_by(&old_agent()).unwrap())
            .collect();
        let second = id_in(&new_shard, std::slice::from_ref(&created[2]));
        items.push(create_item(&second, 9));
        items.extend(ids[1..].iter().map(|id| item(store, id)));
        let mut all: Vec<TicketId> = items.iter().map(|item| item.id.clone()).collect();
        all.sort();
        let report = store.commit_batch(items, &sig(), &mut |_| {}).unwrap();
        assert_eq!(report.committed, all, "every item, in id order");
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);

        let commits = commits_after(root, &before);
        assert_eq!(commits.len(), all.len(), "one commit per ticket");
        for (commit, id) in commits.iter().zip(&all) {
            let touched = git(
                root,
                &["diff-tree", "--no-commit-id", "-r", "--name-status", commit],
            );
            let kind = if created.contains(id) || id.shard() == new_shard {
                'A'
            } else {
                'M'
            };
            assert_eq!(touched, format!("{kind}\t{}\n", layout::ticket_path(id)));
            assert_canonical(root, commit);
            let who = git(
                root,
                &["log", "-1", "--format=%an <%ae> %at|%cn <%ce> %ct", commit],
            );
            let committer = "tix-automation <tix-automation@localhost> 1740992400";
            if created.contains(id) {
                assert_eq!(
                    who.trim(),
                    format!("Old Agent <old@helpdesk.example> 1557126489|{committer}")
                );
            } else {
                assert_eq!(who.trim(), format!("{committer}|{committer}"));
            }
        }
        git(root, &["fsck", "--strict", "--no-dangling"]);
        // `ls-tree` walks the trees, `ls-files` the index, sorted by path:
        // the same list when both are in git's order and agree.
        let listed = git(root, &["ls-tree", "-r", "--name-only", "HEAD"]);
        assert_eq!(listed, git(root, &["ls-files"]));
        for id in &created {
            assert!(listed.contains(&layout::ticket_path(id)), "{id}");
        }
        assert_clean(store, root);
        for (n, id) in created.iter().enumerate() {
            let file = std::fs::read_to_string(root.join(layout::ticket_path(id))).unwrap();
            assert_eq!(file, new_text(id, n));
            assert_eq!(store.read_ticket(id).unwrap(), file);
        }

        // The desk reads them as any ticket.
        let desk = Desk::open(root).unwrap();
        let query = crate::desk::query::ListQuery {
            filter: crate::domain::filter::Filter {
                all: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let listing = desk.list(&query, now(), |entry| entry).unwrap();
        assert_eq!(listing.rows.len(), 3 + 5);
        assert!(listing.problems.is_empty());
        let doctor = crate::desk::doctor::doctor(root).unwrap();
        assert_eq!(doctor.tickets, 3 + 5);
        assert!(doctor.problems.is_empty(), "{:?}", doctor.problems);
    }

    #[test]
    fn a_desk_without_a_tickets_tree_gets_one() {
        let (dir, desk, _) = desk(0);
        let root = dir.path();
        git(root, &["rm", "-q", layout::KEEP_FILE]);
        git(root, &["commit", "-q", "-m", "no tickets directory"]);
        assert_eq!(git(root, &["ls-tree", "HEAD", "tickets"]), "");
        let before = git(root, &["rev-parse", "HEAD"]);
        let ids: Vec<TicketId> = ["k3x9p2", "k3x9p3", "00aaaa"]
            .iter()
            .map(|id| id.parse().unwrap())
            .collect();
        let items = ids
            .iter()
            .enumerate()
            .map(|(n, id)| create_item(id, n))
            .collect();
        let report = desk
            .store()
            .commit_batch(items, &sig(), &mut |_| {})
            .unwrap();
        assert_eq!(report.committed.len(), 3);
        for commit in commits_after(root, &before) {
            assert_canonical(root, &commit);
        }
        git(root, &["fsck", "--strict", "--no-dangling"]);
        assert_eq!(
            git(root, &["ls-tree", "-r", "--name-only", "HEAD", "tickets"]),
            "tickets/00/00aaaa.toml\ntickets/k3/k3x9p2.toml\ntickets/k3/k3x9p3.toml\n"
        );
        assert_clean(desk.store(), root);
    }

    #[test]
    fn a_new_ticket_whose_file_is_committed_meanwhile_is_skipped() {
        let (dir, desk, ids) = desk(1);
        let root = dir.path();
        let store = desk.store();
        let first = id_in(&free_shard(0, &ids), &ids);
        let second = id_in(&free_shard(40, &ids), &ids);
        let items = vec![create_item(&first, 1), create_item(&second, 2)];
        let path = layout::ticket_path(&second);
        let mut moved = false;
        let report = store
            .commit_batch(items, &sig(), &mut |built| {
                if built == 1 && !moved {
                    // Someone commits the second ticket by hand while the
                    // batch is built.
                    moved = true;
                    std::fs::create_dir_all(root.join(&path).parent().unwrap()).unwrap();
                    std::fs::write(root.join(&path), "# by hand\n").unwrap();
                    git(root, &["add", &path]);
                    git(root, &["commit", "-q", "-m", "by hand"]);
                }
            })
            .unwrap();
        assert!(moved);
        assert_eq!(report.committed, std::slice::from_ref(&first));
        assert_eq!(
            report.skipped,
            [(second.clone(), EXISTS_ALREADY.to_owned())]
        );
        assert_eq!(store.read_ticket(&second).unwrap(), "# by hand\n");
        assert_eq!(
            git(root, &["log", "-2", "--format=%s"]),
            format!("{first}: import\nby hand\n")
        );
        assert_eq!(packs(root), 1, "the unpublished pack is removed");
        git(root, &["fsck", "--strict", "--no-dangling"]);
        assert_clean(store, root);
    }

    #[test]
    fn a_new_ticket_whose_path_is_taken_is_skipped_and_the_others_committed() {
        let (dir, desk, ids) = desk(1);
        let root = dir.path();
        let store = desk.store();
        let shard = free_shard(0, &ids);
        let in_head = id_in(&shard, &ids);
        let uncommitted = id_in(&shard, std::slice::from_ref(&in_head));
        let twice = id_in(&free_shard(100, &ids), &ids);
        let directory = id_in(&free_shard(200, &ids), &ids);
        let file_shard = free_shard(300, &ids);
        let under_file = id_in(&file_shard, &ids);
        let fine = id_in(&free_shard(400, &ids), &ids);
        let write = |path: &str, text: &str| {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        };
        // In HEAD already (an import run again), a directory named as the
        // file, a file where the shard directory goes.
        write(&layout::ticket_path(&in_head), "# there\n");
        write(&format!("{}/x.txt", layout::ticket_path(&directory)), "x\n");
        write(&format!("{}/{file_shard}", layout::TICKETS_DIR), "a file\n");
        git(root, &["add", "tickets"]);
        git(root, &["commit", "-q", "-m", "in the way"]);
        // In the working tree only.
        write(&layout::ticket_path(&uncommitted), "# not yet\n");
        let items = vec![
            create_item(&in_head, 1),
            create_item(&uncommitted, 2),
            create_item(&twice, 3),
            create_item(&twice, 4),
            create_item(&directory, 5),
            create_item(&under_file, 6),
            create_item(&fine, 7),
        ];
        let report = store.commit_batch(items, &sig(), &mut |_| {}).unwrap();
        assert_eq!(report.committed, {
            let mut ids = vec![twice.clone(), fine.clone()];
            ids.sort();
            ids
        });
        let reason = |id: &TicketId| {
            let found = report.skipped.iter().find(|(skipped, _)| skipped == id);
            found.map(|(_, reason)| reason.clone()).unwrap_or_default()
        };
        assert_eq!(reason(&in_head), EXISTS_ALREADY);
        assert!(
            reason(&uncommitted).contains("already exists"),
            "{report:?}"
        );
        assert_eq!(reason(&twice), CREATED_TWICE);
        assert!(reason(&directory).contains("not a file"), "{report:?}");
        assert!(reason(&under_file).contains(&format!("tickets/{file_shard} is not a file")));
        assert_eq!(report.skipped.len(), 5, "{report:?}");
        // The first item of the twice-created ticket is the one committed.
        assert_eq!(store.read_ticket(&twice).unwrap(), new_text(&twice, 3));
        git(root, &["fsck", "--strict", "--no-dangling"]);
        assert_canonical(root, "HEAD");
        assert_eq!(
            git(root, &["status", "--porcelain"]),
            format!("?? {}\n", layout::ticket_path(&uncommitted))
        );
    }

    #[test]
    fn an_author_git_could_not_read_back_is_refused() {
        let id: TicketId = "k3x9p2".parse().unwrap();
        let with = |name: &str, email: &str, time: &str| {
            let author = Signature {
                name: name.into(),
                email: email.into(),
                time: time.parse().unwrap(),
            };
            create_item(&id, 1)
                .authored_by(&author)
                .map(|item| item.author)
        };
        let at = "2019-05-06T07:08:09Z";
        for (name, email) in [
            (
                "Eve\nparent 0000000000000000000000000000000000000000",
                "eve@x",
            ),
            ("Eve\r", "eve@x"),
            ("Eve <eve@y>", "eve@x"),
            ("Eve", "eve@x>\ncommitter Mallory <m@x> 0 +0000"),
            ("Eve", "eve@x>"),
            ("Eve\u{7f}", "eve@x"),
            ("   ", "eve@x"),
            ("Eve", " "),
        ] {
            let refused = with(name, email, at);
            assert!(
                matches!(refused, Err(Error::Identity { .. })),
                "{name:?} {email:?}: {refused:?}"
            );
        }
        assert!(matches!(
            with("Eve", "eve@x", "1969-12-31T23:59:59Z"),
            Err(Error::Identity { .. })
        ));
        // Trimmed as libgit2 trims, so the line is what git_commit_create
        // would write.
        assert_eq!(
            with(" Zoë Ng ", " zoe@x ", at).unwrap().as_deref(),
            Some("Zoë Ng <zoe@x> 1557126489 +0000")
        );
    }

    #[test]
    fn a_committer_git_could_not_read_back_is_refused_before_anything_is_written() {
        let (dir, desk, _) = desk(0);
        let root = dir.path();
        let head = git(root, &["rev-parse", "HEAD"]);
        let committer = Signature {
            name: "Bot\nauthor Mallory <m@x> 0 +0000".into(),
            ..sig()
        };
        let items = vec![create_item(&"k3x9p2".parse().unwrap(), 1)];
        let refused = desk.store().commit_batch(items, &committer, &mut |_| {});
        assert!(
            matches!(refused, Err(Error::Identity { .. })),
            "{refused:?}"
        );
        assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
        assert_eq!(packs(root), 0);
    }

    #[test]
    fn a_batch_killed_before_the_branch_moves_leaves_nothing() {
        let (dir, desk, ids) = desk(1);
        let root = dir.path();
        let store = desk.store();
        let head = git(root, &["rev-parse", "HEAD"]);
        let new: Vec<TicketId> = ["k3x9p2", "m4n5p6", "zz0000"]
            .iter()
            .map(|id| id.parse().unwrap())
            .collect();
        let items = || -> Vec<BatchItem> {
            let mut items: Vec<BatchItem> = new
                .iter()
                .enumerate()
                .map(|(n, id)| create_item(id, n))
                .collect();
            items.push(item(store, &ids[0]));
            items
        };
        // A panic stands in for the kill: the pack is half written.
        let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.commit_batch(items(), &sig(), &mut |built| {
                assert!(built < 2, "killed");
            })
        }));
        assert!(killed.is_err());
        assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
        assert_eq!(
            std::fs::read_dir(root.join(".git/objects/pack"))
                .unwrap()
                .count(),
            0
        );
        assert_clean(store, root);
        let report = store.commit_batch(items(), &sig(), &mut |_| {}).unwrap();
        assert_eq!(report.committed.len(), 4);
        assert_clean(store, root);
    }

    #[test]
    fn a_batch_killed_after_the_branch_moved_is_finished_by_the_next_command() {
        let (dir, desk, ids) = desk(2);
        let root = dir.path();
        let store = desk.store();
        let before = git(root, &["rev-parse", "HEAD"]);
        let new: Vec<TicketId> = ["k3x9p2", "m4n5p6", "zz0000"]
            .iter()
            .map(|id| id.parse().unwrap())
            .collect();
        let mut items: Vec<BatchItem> = new
            .iter()
            .enumerate()
            .map(|(n, id)| create_item(id, n))
            .collect();
        items.extend(ids.iter().map(|id| item(store, id)));
        let journal: Vec<(String, Option<Oid>)> = items
            .iter()
            .map(|item| (layout::ticket_path(&item.id), item.base))
            .collect();
        store.commit_batch(items, &sig(), &mut |_| {}).unwrap();
        // Put the working tree and the index back as the refresh found
        // them, but for one new file written and one rewrite finished: a
        // process killed in the middle of the refresh, its journal left.
        let new_paths: Vec<String> = new.iter().map(layout::ticket_path).collect();
        git(
            root,
            &[
                "rm",
                "-q",
                "--cached",
                "--",
                &new_paths[0],
                &new_paths[1],
                &new_paths[2],
            ],
        );
        std::fs::remove_file(root.join(&new_paths[0])).unwrap();
        std::fs::remove_file(root.join(&new_paths[2])).unwrap();
        git(
            root,
            &[
                "checkout",
                before.trim(),
                "--",
                &layout::ticket_path(&ids[0]),
            ],
        );
        git::write_journal(&store.private_dir(), &journal).unwrap();
        assert_ne!(git(root, &["status", "--porcelain"]), "");

        // The next command (here `tix doctor`) finishes the refresh.
        let doctor = crate::desk::doctor::doctor(root).unwrap();
        let mut repaired = doctor.repaired.clone();
        repaired.sort();
        let mut expected = vec![
            new_paths[0].clone(),
            new_paths[1].clone(),
            new_paths[2].clone(),
            layout::ticket_path(&ids[0]),
        ];
        expected.sort();
        assert_eq!(repaired, expected);
        assert!(doctor.problems.is_empty(), "{:?}", doctor.problems);
        assert_clean(store, root);
        for (n, id) in new.iter().enumerate() {
            assert_eq!(
                std::fs::read_to_string(root.join(layout::ticket_path(id))).unwrap(),
                new_text(id, n)
            );
        }
    }

    #[test]
    fn shard_trees_written_as_deltas_read_back_as_git_reads_them() {
        let (dir, desk, _) = desk(0);
        let root = dir.path();
        // Enough tickets in three shards for chains past `DELTA_DEPTH`,
        // and for the next batch to read its shards through the packs.
        let ids: Vec<TicketId> = (0..300)
            .map(|n| {
                format!("{}{n:04}", ["k3", "k4", "zz"][n % 3])
                    .parse()
                    .unwrap()
            })
            .collect();
        let items = ids
            .iter()
            .enumerate()
            .map(|(n, id)| create_item(id, n))
            .collect();
        desk.store()
            .commit_batch(items, &sig(), &mut |_| {})
            .unwrap();
        let pack = std::fs::read_dir(root.join(".git/objects/pack"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .find(|path| path.extension().is_some_and(|x| x == "idx"))
            .unwrap();
        let verified = git(root, &["verify-pack", "-v", pack.to_str().unwrap()]);
        // `<id> tree <size> <size in pack> <offset> <depth> <base id>`
        let depths: Vec<usize> = verified
            .lines()
            .filter(|line| line.split(' ').nth(1) == Some("tree"))
            .filter_map(|line| line.split_whitespace().nth(5)?.parse().ok())
            .collect();
        assert!(depths.len() > 300, "shard and tickets/ trees as deltas");
        assert_eq!(depths.iter().max(), Some(&DELTA_DEPTH));

        // A desk opened afresh reads those shards through the pack reader.
        let desk = Desk::open(root).unwrap();
        let store = desk.store();
        let items = ids.iter().map(|id| item(store, id)).collect();
        let report = store.commit_batch(items, &sig(), &mut |_| {}).unwrap();
        assert_eq!(report.committed.len(), 300);
        git(root, &["fsck", "--strict", "--no-dangling"]);
        assert_canonical(root, "HEAD");
        assert_clean(store, root);
        assert!(store.read_ticket(&ids[299]).unwrap().ends_with("# batch\n"));
    }

    /// Measures a batch that creates 100,000 small tickets, each with its
    /// own author, in a fresh desk (the figures are in docs/benchmarks.md).
    /// Run it as the docs say, in release, under `/usr/bin/time`;
    /// `TIX_BATCH_TICKETS` sets another count.
    #[test]
    #[ignore = "a measurement: 100,000 commits"]
    fn a_batch_creates_100000_tickets() {
        let count = std::env::var("TIX_BATCH_TICKETS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100_000);
        let (dir, desk, _) = desk(0);
        let root = dir.path();
        let mut rng = fastrand::Rng::with_seed(11);
        let mut seen = HashSet::new();
        // Every tenth ticket, rewritten afterwards.
        let mut tenth = Vec::new();
        let started = std::time::Instant::now();
        let items: Vec<BatchItem> = (0..count)
            .map(|n| {
                let id = std::iter::repeat_with(|| TicketId::random(&mut rng))
                    .find(|id| seen.insert(id.clone()))
                    .unwrap();
                if n % 10 == 0 {
                    tenth.push((id.clone(), n));
                }
                let author = Signature {
                    name: format!("Agent {}", n % 40),
                    email: format!("agent{}@old.example", n % 40),
                    time: Timestamp::from_unix(1_500_000_000 + 600 * n as i64).unwrap(),
                };
                create_item(&id, n).authored_by(&author).unwrap()
            })
            .collect();
        let built = started.elapsed().as_secs_f64();
        let items_peak = peak_kib();
        let started = std::time::Instant::now();
        let mut chain = (0.0, 0);
        let report = desk
            .store()
            .write_batch(
                items,
                &sig(),
                false,
                &mut |step| {
                    if step == BatchProgress::Writing {
                        chain = (started.elapsed().as_secs_f64(), peak_kib());
                    }
                },
                &mut |_| Vec::new(),
            )
            .unwrap();
        let took = started.elapsed().as_secs_f64();
        assert_eq!(report.committed.len(), count);
        let pack: u64 = std::fs::read_dir(root.join(".git/objects/pack"))
            .unwrap()
            .map(|entry| entry.unwrap().metadata().unwrap().len())
            .sum();
        eprintln!(
            "{count} new tickets: items built in {built:.2} s ({} MiB peak); batch {took:.2} s \
             ({:.0} commits/s; chain built in {:.2} s, {} MiB peak); packs {:.1} MiB; \
             peak {} MiB",
            items_peak / 1024,
            count as f64 / took,
            chain.0,
            chain.1 / 1024,
            pack as f64 / f64::from(1 << 20),
            peak_kib() / 1024,
        );
        // No `git status` here: `/usr/bin/time` would report its memory.
        assert!(!desk.store().private_dir().join(git::JOURNAL).exists());
        let last = report.committed.last().unwrap();
        assert!(root.join(layout::ticket_path(last)).is_file());

        // Then a run that rewrites every tenth ticket, as `tix autoclose`
        // does, from a desk opened afresh (a new process).
        let desk = Desk::open(root).unwrap();
        let store = desk.store();
        let items: Vec<BatchItem> = tenth
            .iter()
            .map(|(id, n)| {
                let text = new_text(id, *n);
                let base = Oid::hash_object(ObjectType::Blob, text.as_bytes()).unwrap();
                let message = format!("{id}: batch\n");
                BatchItem::new(id.clone(), base, &format!("{text}# batch\n"), message)
            })
            .collect();
        let rewrites = items.len();
        let read_peak = peak_kib();
        let started = std::time::Instant::now();
        let again = store.commit_batch(items, &sig(), &mut |_| {}).unwrap();
        let took = started.elapsed().as_secs_f64();
        assert_eq!(again.committed.len(), rewrites);
        eprintln!(
            "then {rewrites} rewrites: {took:.2} s ({:.0} commits/s); \
             peak {} MiB after reading them, {} MiB after the batch",
            rewrites as f64 / took,
            read_peak / 1024,
            peak_kib() / 1024
        );
        if std::env::var_os("TIX_BATCH_KEEP").is_some() {
            eprintln!("kept {}", dir.keep().display());
        }
    }

    /// The process's peak resident memory so far, in KiB (`VmHWM`).
    fn peak_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}
