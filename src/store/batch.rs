//! Many one-ticket commits at once, for automation runs.
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

use std::collections::{HashMap, HashSet};
use std::io::Write;

use git2::{ObjectType, Oid, Repository};

use super::gitfmt::pack::Pack;
use super::gitfmt::pack_reader::{self, entry_id, entry_offset};
use super::lock::GitLockClaim;
use super::{Error, Signature, Store, git, layout};
use crate::model::TicketId;

/// One ticket rewrite in a batch.
#[derive(Clone, Debug)]
pub struct BatchItem {
    /// The ticket.
    pub id: TicketId,
    /// The blob the new content was derived from: the item is skipped when
    /// the ticket changed meanwhile.
    pub base: Oid,
    /// The commit message.
    pub message: String,
    /// The id of the new content's blob.
    blob: Oid,
    /// The new content as a pack entry, compressed (a third of its text),
    /// and spooled to a file.
    entry: Spooled,
}

impl BatchItem {
    /// An item that writes `content` to the ticket's file.
    pub fn new(id: TicketId, base: Oid, content: &str, message: String) -> Self {
        let entry = super::gitfmt::pack::entry(ObjectType::Blob, content.as_bytes());
        Self {
            id,
            base,
            message,
            blob: super::gitfmt::pack::object_id(ObjectType::Blob, content.as_bytes()),
            entry: Spooled::new(entry),
        }
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
    /// Tickets skipped, with the reason (changed meanwhile, uncommitted edits).
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

/// How often a batch starts again when tickets or the branch changed under
/// it (another writer, or a plain `git commit`).
const ATTEMPTS: u32 = 8;

impl Store {
    /// Returns the blob id of a ticket file in `HEAD`.
    pub fn ticket_blob(&self, id: &TicketId) -> Result<Option<Oid>, Error> {
        git::head_blob(&self.repo, &layout::ticket_path(id))
    }

    /// Commits every item as its own commit, in order, in one batch; an
    /// item whose ticket changed since it was built is skipped.
    /// `progress` is called with the number of commits built so far.
    pub fn commit_batch(
        &self,
        items: Vec<BatchItem>,
        sig: &Signature,
        progress: &mut dyn FnMut(usize),
    ) -> Result<BatchReport, Error> {
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
        report.skipped.extend(
            changed
                .into_iter()
                .map(|id| (id, CHANGED_MEANWHILE.to_owned())),
        );
        Ok(report)
    }

    /// Commits every item as its own commit, in id order, in one batch.
    ///
    /// Items whose ticket file has uncommitted edits are skipped. When a
    /// ticket changed since its item was built, `rebuild` gets its id and
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
        let mut orphans = Vec::new();
        let result =
            self.attempt_batches(&mut items, sig, dry_run, progress, rebuild, &mut orphans);
        self.remove_packs(&orphans);
        result
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
        // Validates name and email the way every other commit does.
        let time = git2::Time::new(sig.time.unix(), 0);
        let git_sig = git2::Signature::new(&sig.name, &sig.email, &time)?;
        let signature = format!(
            "{} <{}> {} +0000",
            git_sig.name().unwrap_or_default(),
            git_sig.email().unwrap_or_default(),
            sig.time.unix()
        );
        for _ in 0..ATTEMPTS {
            let Some(head) = git::head_commit(&self.repo)? else {
                return Ok(BatchReport::default());
            };
            let head_tree = head.tree()?;
            // Shard trees from the packs: libgit2 would keep them cached.
            let packs = pack_reader::for_reading(&self.packs, self.repo.path(), items.len());
            let mut snapshot = git::Snapshot::new(&self.repo, &head_tree)?.with_packs(packs);
            let mut stale = Vec::new();
            for item in items.iter() {
                if snapshot.blob(&item.id)? != Some(item.base) {
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
            let paths: Vec<String> = items
                .iter()
                .map(|item| layout::ticket_path(&item.id))
                .collect();
            let wanted: Vec<&str> = paths.iter().map(String::as_str).collect();
            let index = git::index_blobs(&self.repo, &wanted).ok();
            drop(wanted);
            let mut clean = Vec::with_capacity(items.len());
            for (item, path) in items.iter().zip(paths) {
                let staged = |index: &Option<HashMap<String, Oid>>| match index {
                    Some(entries) => Ok(entries.get(&path).copied()),
                    None => git::index_blob(&self.repo, &path),
                };
                match git::check_clean_with(&self.root, &path, Some(item.base), || staged(&index)) {
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
        let mut trees = Trees::open(&self.repo, packs.reader(), head.tree_id())?;
        let mut parent = head_id;
        let mut journal = Vec::with_capacity(items.len());
        let pack_dir = self.repo.commondir().join("objects").join("pack");
        let mut pack = None;
        // The previous `tickets/` tree in the current pack: the next one is
        // written as a delta against it, and every `DELTA_DEPTH`-th in full,
        // so reading the newest (every later command does) applies a few
        // deltas, not a chain as long as the run.
        let mut previous: Option<(Oid, Vec<u8>)> = None;
        let mut depth = 0;
        let io = |e: std::io::Error| Error::io(self.repo.path(), e);
        for (n, item) in items.iter().enumerate() {
            let open = match &mut pack {
                Some(open) => open,
                None => {
                    // Five objects a commit: blob, three trees, commit.
                    let count = 5 * (items.len() - n).min(CHUNK);
                    previous = None; // bases must be in the same pack
                    pack.insert(start_pack(&pack_dir, count)?)
                }
            };
            let path = layout::ticket_path(&item.id);
            // The new blob, and the three trees on its path with one id
            // replaced in place (names and order do not change).
            let blob = item.blob;
            let shard = trees.shard(item.id.shard())?;
            set_entry(shard, format!("{}.toml", item.id).as_bytes(), blob)?;
            open.pack
                .add_entry(blob, &item.entry.bytes()?)
                .map_err(io)?;
            let shard_id = open.pack.add(ObjectType::Tree, shard).map_err(io)?;
            set_entry(&mut trees.tickets, item.id.shard().as_bytes(), shard_id)?;
            let tickets_id = match &previous {
                Some((base, base_data)) if depth < DELTA_DEPTH => {
                    depth += 1;
                    open.pack
                        .add_delta(ObjectType::Tree, *base, base_data, &trees.tickets)
                        .map_err(io)?
                }
                _ => {
                    depth = 0;
                    open.pack
                        .add(ObjectType::Tree, &trees.tickets)
                        .map_err(io)?
                }
            };
            match &mut previous {
                Some((base, base_data)) => {
                    *base = tickets_id;
                    base_data.clone_from(&trees.tickets);
                }
                None => previous = Some((tickets_id, trees.tickets.clone())),
            }
            set_entry(&mut trees.root, layout::TICKETS_DIR.as_bytes(), tickets_id)?;
            let root_id = open.pack.add(ObjectType::Tree, &trees.root).map_err(io)?;
            // Byte for byte what git_commit_create writes.
            let commit = format!(
                "tree {root_id}\nparent {parent}\nauthor {signature}\ncommitter {signature}\n\n{}",
                item.message
            );
            parent = open
                .pack
                .add(ObjectType::Commit, commit.as_bytes())
                .map_err(io)?;
            journal.push((path, Some(item.base)));
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
        drop((trees, previous));

        // Publish: one compare-and-swap of the branch, then one refresh.
        let private = self.private_dir();
        git::write_journal(&private, &journal)?;
        let branch = git::head_target(&self.repo)?;
        let message = format!("tix: {} automation commits", report.committed.len());
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
    tickets: Vec<u8>,
    shards: HashMap<String, Vec<u8>>,
}

impl<'a> Trees<'a> {
    fn open(
        repo: &'a Repository,
        packs: pack_reader::Reader<'a>,
        root: Oid,
    ) -> Result<Self, Error> {
        let odb = repo.odb()?;
        let root = odb.read(root)?.data().to_vec();
        let tickets_id = entry_id(&root, layout::TICKETS_DIR.as_bytes())
            .ok_or_else(|| missing(layout::TICKETS_DIR))?;
        let tickets = odb.read(tickets_id)?.data().to_vec();
        Ok(Self {
            repo,
            packs,
            root,
            tickets,
            shards: HashMap::new(),
        })
    }

    fn shard(&mut self, name: &str) -> Result<&mut Vec<u8>, Error> {
        if !self.shards.contains_key(name) {
            let id = entry_id(&self.tickets, name.as_bytes()).ok_or_else(|| missing(name))?;
            let tree = match self.packs.tree(&id) {
                Some(tree) => tree,
                None => self.repo.odb()?.read(id)?.data().to_vec(),
            };
            self.shards.insert(name.to_owned(), tree);
        }
        self.shards.get_mut(name).ok_or_else(|| missing(name))
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
}
