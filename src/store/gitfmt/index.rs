//! A fast path for updating one entry of git's index file.
//!
//! libgit2 reads and writes the whole index as structures, which made a
//! change at 100,000 tickets many times slower (docs/benchmarks.md, "Why
//! the code is shaped so"). A tix change touches one path, so
//! this module edits the index file as bytes: it finds the entry, replaces
//! (or inserts) it with fresh stat data and blob id, drops the optional
//! caches that the edit makes stale (cache-tree and friends; git rebuilds
//! them) and rewrites the checksum. It follows git's locking protocol
//! (`index.lock`). It reads versions 2 to 4 (v4, which `feature.manyFiles`
//! turns on, stores each path against the previous one, so an edit writes
//! every entry afresh). Formats it does not know (split or sparse indexes,
//! unknown required extensions) return `None` so the caller falls back to
//! libgit2, or to git where libgit2 cannot read them. The format: git's
//! Documentation/gitformat-index.txt.
//!
//! The file is read front to back through one small buffer and the new
//! file is written from the same buffer, never held whole: fresh memory
//! for a large index (the kernel zeroes every page) cost more than
//! reading, hashing and writing it together.
//!
//! Replacing the index frees the old file, and freeing a large file on
//! ext4 (its pages and blocks) is a large part of a change. So the old
//! file is kept under a second name (`.git/tix/index-old`) when the new one
//! goes in place, and the next rewrite deletes it on another thread while
//! it edits and writes. Both happen under `index.lock`.
//!
//! That thread also reads the index in the first place (the change waits
//! for it only when it checks the path's entry, after the change is made),
//! and when one path is set (every single change) it then writes the new
//! file's start: the header and every entry before the path's, through the
//! hash. The change is made meanwhile on the other core, and the rewrite
//! goes on from there. A rewrite of anything else (several paths, a v4
//! index) starts the file over.

use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;

use git2::Oid;
use sha1::{Digest, Sha1};

use crate::store::lock::GitLockClaim;

const HEADER: usize = 12;
const CHECKSUM: usize = 20;
const REGULAR_FILE: u32 = 0o100644;
/// The read buffer: large enough that reads are few, small enough to stay
/// in the CPU's cache.
const BUFFER: usize = 256 * 1024;
/// The longest path this module reads; longer ones go to libgit2.
const MAX_PATH: usize = 64 * 1024;

/// Returns the stage-0 blob id recorded for `path`: `Some(None)` when the
/// path is not in the index, `None` when the index format is not handled
/// or the path is in conflict.
pub(in crate::store) fn entry_oid(index_file: &Path, path: &str) -> Option<Option<Oid>> {
    let file = match fs::File::open(index_file) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(None),
        Err(_) => return None,
    };
    let mut slots = Slots::new(&[path]);
    let (_, end, _) = scan(&file, BUFFER, |entry| {
        slots.visit(entry);
        Some(())
    })?;
    slots.close(end);
    slots.oid(path)
}

/// Returns the stage-0 blob ids of the `wanted` paths that are in the index
/// (one read, for batches); `None` when the format is not handled.
pub(in crate::store) fn entry_oids(
    index_file: &Path,
    wanted: &HashSet<&str>,
) -> Option<HashMap<String, Oid>> {
    let file = match fs::File::open(index_file) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Default::default()),
        Err(_) => return None,
    };
    let mut out = HashMap::with_capacity(wanted.len());
    scan(&file, BUFFER, |entry| {
        if entry.stage == 0
            && let Ok(name) = std::str::from_utf8(entry.name)
            && wanted.contains(name)
        {
            out.insert(name.to_owned(), entry.oid()?);
        }
        Some(())
    })?;
    Some(out)
}

/// Whether the index in `index_file` is split: it has git's `link`
/// extension, which names the shared index holding most entries. `false`
/// when it is absent or not an index this module reads.
pub(in crate::store) fn is_split(index_file: &Path) -> bool {
    let Ok(file) = fs::File::open(index_file) else {
        return false;
    };
    let Some(mut walk) = Walk::new(&file, BUFFER) else {
        return false;
    };
    while walk.next().is_some() {}
    let Some(end) = walk.end() else {
        return false;
    };
    let limit = walk.limit;
    walk.reader.bytes(end, limit - end).is_some_and(|data| {
        extensions(data)
            .any(|extension| extension.is_some_and(|(signature, _)| signature == b"link"))
    })
}

/// Sets each `(path, blob, file)` entry, with the stat data of `file`,
/// in one rewrite of the index (inserting paths that are absent). Returns
/// `None` when the index must be updated another way.
pub(in crate::store) fn set_entries(
    index_file: &Path,
    updates: &[(String, Oid, std::path::PathBuf)],
    skip_hash: bool,
) -> Option<()> {
    let paths: Vec<&str> = updates.iter().map(|(path, _, _)| path.as_str()).collect();
    LockedIndex::open(index_file, &paths)?.commit(updates, skip_hash)
}

/// git's index file, read once under git's own lock (`index.lock`), to be
/// rewritten with a few entries replaced. Holding the lock from the check
/// of a path's entry to the rewrite means the file is read once per change
/// and nobody changes it in between. Dropping it without [`commit`] releases
/// the lock and leaves the index as it was.
///
/// [`commit`]: LockedIndex::commit
pub(in crate::store) struct LockedIndex {
    index_file: std::path::PathBuf,
    lock_path: std::path::PathBuf,
    _claim: GitLockClaim,
    /// The index as it is, open for reading.
    old: fs::File,
    /// The size of the read buffer.
    buffer: usize,
    /// What the helper's walk of the index found, once asked for.
    scanned: std::cell::OnceCell<Option<Scanned>>,
    found: std::sync::mpsc::Receiver<Option<Scanned>>,
    /// Walks the index, then writes the start of the new one (see
    /// [`Prepared`]), then deletes the index the previous rewrite
    /// replaced, all while the change is made. It holds the lock file.
    helper: Option<std::thread::JoinHandle<Option<Prepared>>>,
    /// The new index is in place: the lock file is gone (and any lock file
    /// now is another git's).
    committed: bool,
}

/// What one walk of the index found.
struct Scanned {
    header: [u8; HEADER],
    /// Where the entries end and the extensions begin.
    entries_end: usize,
    /// The extensions that stay valid across the edit.
    extensions: Vec<u8>,
    /// Where each path asked for at `open` is, or would go.
    slots: Slots,
}

impl Scanned {
    /// With one path to set in a v2 or v3 index, the start of the new file
    /// is known: the header (counting the entry if it is new) and the
    /// old file up to the path's entry. Returns them.
    fn plan(&self) -> Option<([u8; HEADER], usize)> {
        let header = self.header;
        let version = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        match self.slots.paths.as_slice() {
            [(path, _)] if version != 4 => self.slots.position(path).map(|at| {
                let mut start = header;
                let count = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
                let count = count.saturating_add(u32::from(at.is_empty()));
                start[8..12].copy_from_slice(&count.to_be_bytes());
                (start, at.start)
            }),
            _ => None,
        }
    }
}

/// The helper's work (see [`LockedIndex::helper`]).
struct Job {
    old: fs::File,
    lock: fs::File,
    paths: Vec<String>,
    buffer: usize,
    /// The index the previous rewrite replaced, when it is there.
    replaced: Option<std::path::PathBuf>,
    found: std::sync::mpsc::Sender<Option<Scanned>>,
}

impl Job {
    fn run(self) -> Option<Prepared> {
        let paths: Vec<&str> = self.paths.iter().map(String::as_str).collect();
        let mut slots = Slots::new(&paths);
        let scanned = scan(&self.old, self.buffer, |entry| {
            slots.visit(entry);
            Some(())
        })
        .map(|(header, entries_end, extensions)| {
            slots.close(entries_end);
            Scanned {
                header,
                entries_end,
                extensions,
                slots,
            }
        });
        let plan = scanned.as_ref().and_then(Scanned::plan);
        let read = scanned.is_some();
        // The change waits for this (to check the path's entry); the rest
        // is needed only when the new index is written.
        let _ = self.found.send(scanned);
        let prepared = match plan {
            Some((start, upto)) => Prepared::write(self.lock, &self.old, start, upto),
            None => Prepared::unwritten(self.lock),
        };
        if let Some(replaced) = self.replaced {
            let _ = fs::remove_file(replaced);
        }
        read.then_some(prepared)
    }
}

impl LockedIndex {
    /// Takes `index.lock` (waiting a little for another git) and starts
    /// reading the index to find each of `paths` in it (the paths a commit
    /// may set). `None` when the index is absent or locked for too long;
    /// a format this module does not handle shows later, as
    /// [`is_read`](Self::is_read) false.
    pub(in crate::store) fn open(index_file: &Path, paths: &[&str]) -> Option<Self> {
        Self::open_with(index_file, paths, BUFFER)
    }

    /// [`open`](Self::open), reading through a buffer of `buffer` bytes.
    fn open_with(index_file: &Path, paths: &[&str], buffer: usize) -> Option<Self> {
        let lock_path = index_file.with_extension("lock");
        // Say who takes git's lock, so a lock left by a killed tix can be
        // told from a live git's (see `lock::clear_stale`).
        let claim = GitLockClaim::record(&private_dir(index_file), INDEX_LOCK, &lock_path).ok()?;
        let lock = lock_index(&lock_path)?;
        let opened = fs::File::open(index_file).and_then(|old| Ok((old.try_clone()?, old)));
        let Ok((reading, old)) = opened else {
            drop(lock);
            let _ = fs::remove_file(&lock_path);
            return None;
        };
        let replaced = replaced_path(index_file);
        // Without the helper the rename frees the old file itself.
        let replaced = replaced.symlink_metadata().is_ok().then_some(replaced);
        let (sender, found) = std::sync::mpsc::channel();
        let job = Job {
            old: reading,
            lock,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
            buffer,
            replaced,
            found: sender,
        };
        let Ok(helper) = std::thread::Builder::new().spawn(move || job.run()) else {
            // No thread: the lock file went with the job; the caller's
            // fallback does the work.
            let _ = fs::remove_file(&lock_path);
            return None;
        };
        Some(Self {
            index_file: index_file.to_owned(),
            lock_path,
            _claim: claim,
            old,
            buffer,
            scanned: std::cell::OnceCell::new(),
            found,
            helper: Some(helper),
            committed: false,
        })
    }

    /// What the helper's walk found (waiting for it the first time).
    fn scanned(&self) -> Option<&Scanned> {
        self.scanned
            .get_or_init(|| self.found.recv().ok().flatten())
            .as_ref()
    }

    /// Tells whether the index is of a format this module reads; when not,
    /// [`entry_oid`](Self::entry_oid) knows nothing and
    /// [`commit`](Self::commit) writes nothing (the caller's fallback
    /// does both).
    pub(in crate::store) fn is_read(&self) -> bool {
        self.scanned().is_some()
    }

    /// Returns the stage-0 blob id recorded for `path` (one of those given
    /// to [`open`](Self::open)): `Some(None)` when the path is not in the
    /// index, `None` when it is in conflict or the index was not read.
    pub(in crate::store) fn entry_oid(&self, path: &str) -> Option<Option<Oid>> {
        self.scanned()?.slots.oid(path)
    }

    /// Writes the index with each `(path, blob, file)` entry set from the
    /// stat data of `file`, and puts it in place. Each path must be one
    /// given to [`open`](Self::open). `skip_hash` writes a zero checksum, as
    /// git does with `index.skipHash`.
    pub(in crate::store) fn commit(
        mut self,
        updates: &[(String, Oid, std::path::PathBuf)],
        skip_hash: bool,
    ) -> Option<()> {
        self.scanned()?;
        let scanned = self.scanned.take().flatten()?;
        let v4 = scanned.header[4..8] == 4u32.to_be_bytes();
        let mut edits = Vec::with_capacity(updates.len());
        for (path, oid, file) in updates {
            let at = scanned.slots.position(path)?;
            let fixed = encode_fixed(path, *oid, &fs::metadata(file).ok()?);
            let bytes = if v4 {
                fixed
            } else {
                with_padded_path(fixed, path)
            };
            edits.push(Edit {
                path: path.as_bytes(),
                at,
                bytes,
            });
        }
        edits.sort_by(|a, b| (a.at.start, a.path).cmp(&(b.at.start, b.path)));
        edits.dedup_by(|a, b| a.path == b.path);
        let inserted = edits.iter().filter(|edit| edit.at.is_empty()).count();
        let count = u32::from_be_bytes(scanned.header[8..12].try_into().ok()?) as usize + inserted;
        let mut header = scanned.header;
        header[8..12].copy_from_slice(&u32::try_from(count).ok()?.to_be_bytes());

        // The helper's start of the new index, when it is the one needed;
        // in any case the lock file.
        let prepared = self.helper.take()?.join().ok().flatten()?;
        let mut copied_to = HEADER;
        let mut resumed = false;
        let mut sink = match prepared {
            Prepared {
                sink,
                upto: Some(upto),
                start,
            } if !v4 && start == header && edits.first().is_some_and(|e| e.at.start == upto) => {
                copied_to = upto;
                resumed = true;
                sink
            }
            prepared => Sink {
                out: BufWriter::with_capacity(64 * 1024, prepared.into_empty_file()?),
                hasher: None,
            },
        };
        if !resumed {
            sink.hasher = Some(Sha1::new());
            sink.put(&header)?;
        }
        if skip_hash {
            sink.hasher = None;
        }
        if v4 {
            edits.sort_by(|a, b| a.path.cmp(b.path));
            write_v4(&self.old, self.buffer, &edits, &mut sink)?;
        } else {
            // Unchanged runs of entries are copied from the old file.
            let mut reader = Reader::new(&self.old, self.buffer)?;
            for edit in &edits {
                reader.copy(copied_to..edit.at.start, &mut sink)?;
                sink.put(&edit.bytes)?;
                copied_to = edit.at.end;
            }
            reader.copy(copied_to..scanned.entries_end, &mut sink)?;
        }
        sink.put(&scanned.extensions)?;
        sink.finish()?;
        // Keep the old file's data alive under another name, so the rename
        // does not free it (see the module's docs). The previous one is
        // gone: the thread that deleted it has ended.
        let _ = fs::hard_link(&self.index_file, replaced_path(&self.index_file));
        fs::rename(&self.lock_path, &self.index_file).ok()?;
        self.committed = true;
        Some(())
    }
}

impl Drop for LockedIndex {
    fn drop(&mut self) {
        if let Some(thread) = self.helper.take() {
            let _ = thread.join();
        }
        // Not committed (or the rename failed): release git's lock.
        if !self.committed {
            let _ = fs::remove_file(&self.lock_path);
        }
    }
}

/// The start of the new index, written to the lock file on the helper
/// thread: the header (its count with the inserted entry) and the old
/// file's entries up to the one the change sets, all through the hash.
/// Writing and hashing the index is the largest single part of a change at
/// 10,000 tickets (a megabyte); this way half of it, on average, is done
/// on the other core while the change is made.
struct Prepared {
    sink: Sink,
    /// The header written.
    start: [u8; HEADER],
    /// Where in the old file the copy ended; `None` when nothing was
    /// copied (no plan, or the copy failed).
    upto: Option<usize>,
}

impl Prepared {
    fn write(file: fs::File, old: &fs::File, start: [u8; HEADER], upto: usize) -> Self {
        let mut sink = Sink {
            out: BufWriter::with_capacity(64 * 1024, file),
            hasher: Some(Sha1::new()),
        };
        let copied = sink.put(&start).and_then(|()| {
            let mut reader = Reader::new(old, BUFFER / 4)?;
            reader.copy(HEADER..upto, &mut sink)
        });
        Self {
            sink,
            start,
            upto: copied.map(|()| upto),
        }
    }

    /// The lock file as it is, nothing written to it.
    fn unwritten(file: fs::File) -> Self {
        Self {
            sink: Sink {
                out: BufWriter::with_capacity(64 * 1024, file),
                hasher: None,
            },
            start: [0; HEADER],
            upto: None,
        }
    }

    /// The lock file, emptied, for a rewrite from the start.
    fn into_empty_file(self) -> Option<fs::File> {
        use std::io::Seek as _;
        let (mut file, _) = self.sink.out.into_parts();
        file.set_len(0).ok()?;
        file.rewind().ok()?;
        Some(file)
    }
}

/// The claim kind of git's index lock (see [`GitLockClaim`]).
pub(in crate::store) const INDEX_LOCK: &str = "index";

fn private_dir(index_file: &Path) -> std::path::PathBuf {
    index_file.with_file_name(crate::store::layout::PRIVATE_DIR)
}

/// Where the index the last rewrite replaced waits to be deleted.
fn replaced_path(index_file: &Path) -> std::path::PathBuf {
    private_dir(index_file).join("index-old")
}

/// One entry to write: its path, the bytes of the old file it replaces
/// (empty where it is inserted) and its own bytes (for v4, the fixed
/// fields only: its path is encoded against its neighbour's when written).
struct Edit<'a> {
    path: &'a [u8],
    at: Range<usize>,
    bytes: Vec<u8>,
}

/// Where each of a few paths is in the index, found in one walk.
struct Slots {
    /// The paths, sorted, each with its slot.
    paths: Vec<(String, Slot)>,
    /// How many of `paths` the walk is past.
    passed: usize,
}

#[derive(Clone)]
enum Slot {
    /// Not reached yet.
    Unseen,
    /// Not in the index; it would go at this offset.
    Absent(usize),
    /// The stage-0 entry's bytes and blob id.
    Found(Range<usize>, Oid),
    /// In conflict (or unreadable): left to git.
    Conflict,
}

impl Slots {
    fn new(paths: &[&str]) -> Self {
        let mut paths: Vec<(String, Slot)> = paths
            .iter()
            .map(|path| ((*path).to_owned(), Slot::Unseen))
            .collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        paths.dedup_by(|a, b| a.0 == b.0);
        Self { paths, passed: 0 }
    }

    /// Takes in the next entry of the walk (entries come sorted by path).
    fn visit(&mut self, entry: &Entry<'_>) {
        while let Some((path, slot)) = self.paths.get_mut(self.passed) {
            match path.as_bytes().cmp(entry.name) {
                std::cmp::Ordering::Less => {
                    if matches!(slot, Slot::Unseen) {
                        *slot = Slot::Absent(entry.range.start);
                    }
                    self.passed += 1;
                }
                std::cmp::Ordering::Equal => {
                    *slot = match (&slot, entry.stage, entry.oid()) {
                        (Slot::Unseen, 0, Some(oid)) => Slot::Found(entry.range.clone(), oid),
                        _ => Slot::Conflict,
                    };
                    return;
                }
                std::cmp::Ordering::Greater => return,
            }
        }
    }

    /// Ends the walk at `end`, where paths past every entry would go.
    fn close(&mut self, end: usize) {
        for (_, slot) in &mut self.paths[self.passed..] {
            if matches!(slot, Slot::Unseen) {
                *slot = Slot::Absent(end);
            }
        }
        self.passed = self.paths.len();
    }

    fn slot(&self, path: &str) -> Option<&Slot> {
        let at = self
            .paths
            .binary_search_by(|(p, _)| p.as_str().cmp(path))
            .ok()?;
        Some(&self.paths[at].1)
    }

    /// The stage-0 blob id of `path` (see [`entry_oid`]), once the walk is
    /// closed.
    fn oid(&self, path: &str) -> Option<Option<Oid>> {
        match self.slot(path)? {
            Slot::Found(_, oid) => Some(Some(*oid)),
            Slot::Absent(_) => Some(None),
            Slot::Unseen | Slot::Conflict => None,
        }
    }

    /// The bytes an entry for `path` replaces (empty where it is inserted);
    /// `None` for a path in conflict or not looked for.
    fn position(&self, path: &str) -> Option<Range<usize>> {
        match self.slot(path)? {
            Slot::Found(range, _) => Some(range.clone()),
            Slot::Absent(at) => Some(*at..*at),
            Slot::Unseen | Slot::Conflict => None,
        }
    }
}

/// Walks every entry of the index in `file` (through a buffer of
/// `buffer` bytes), handing each to `visit` (which may stop the walk with
/// `None`). Returns the header, where the entries end and the extensions
/// that stay valid across an edit; `None` when the format is not handled.
fn scan(
    file: &fs::File,
    buffer: usize,
    mut visit: impl FnMut(&Entry<'_>) -> Option<()>,
) -> Option<([u8; HEADER], usize, Vec<u8>)> {
    let mut walk = Walk::new(file, buffer)?;
    while let Some(entry) = walk.next() {
        visit(&entry)?;
    }
    let end = walk.end()?;
    let extensions = kept_extensions(walk.reader.bytes(end, walk.limit - end)?)?;
    Some((walk.header, end, extensions))
}

/// Writes the entries of the v4 index in `file` with `edits` (sorted by
/// path; fixed fields only) set. Each path is stored against the one
/// before it, so every entry is written afresh. `None` for a path in
/// conflict.
fn write_v4(file: &fs::File, buffer: usize, edits: &[Edit<'_>], sink: &mut Sink) -> Option<()> {
    let mut previous: Vec<u8> = Vec::new();
    let mut encoded = Vec::new();
    let mut push = |sink: &mut Sink, fixed: &[u8], path: &[u8]| {
        let common = previous
            .iter()
            .zip(path)
            .take_while(|(a, b)| a == b)
            .count();
        encoded.clear();
        encoded.extend_from_slice(fixed);
        encode_varint(previous.len() - common, &mut encoded);
        encoded.extend_from_slice(&path[common..]);
        encoded.push(0);
        previous.truncate(common);
        previous.extend_from_slice(&path[common..]);
        sink.put(&encoded)
    };
    let mut pending = edits.iter().peekable();
    let mut walk = Walk::new(file, buffer)?;
    while let Some(entry) = walk.next() {
        while let Some(edit) = pending.next_if(|edit| edit.path < entry.name) {
            push(sink, &edit.bytes, edit.path)?;
        }
        match pending.next_if(|edit| edit.path == entry.name) {
            Some(_) if entry.stage != 0 => return None, // a conflict: leave it to git
            Some(edit) => push(sink, &edit.bytes, edit.path)?,
            None => push(sink, entry.fixed, entry.name)?,
        }
    }
    walk.end()?;
    for edit in pending {
        push(sink, &edit.bytes, edit.path)?;
    }
    Some(())
}

/// The new index as it is written: to the lock file, through the hash.
struct Sink {
    out: BufWriter<fs::File>,
    /// `None` with `index.skipHash`.
    hasher: Option<Sha1>,
}

impl Sink {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        if let Some(hasher) = &mut self.hasher {
            hasher.update(bytes);
        }
        self.out.write_all(bytes).ok()
    }

    /// Writes the checksum (zero without a hash) and flushes.
    fn finish(mut self) -> Option<()> {
        let checksum: [u8; CHECKSUM] = match self.hasher.take() {
            Some(hasher) => hasher.finalize().into(),
            None => [0; CHECKSUM],
        };
        self.out.write_all(&checksum).ok()?;
        self.out.flush().ok()
    }
}

/// Reads a file through one buffer, forward (a read before the buffered
/// part starts over there).
struct Reader<'f> {
    file: &'f fs::File,
    len: usize,
    buf: Vec<u8>,
    /// The file offset of `buf[0]`.
    base: usize,
    /// How many bytes of `buf` hold file data.
    filled: usize,
}

impl<'f> Reader<'f> {
    fn new(file: &'f fs::File, buffer: usize) -> Option<Self> {
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        Some(Self {
            file,
            len,
            buf: vec![0; buffer.max(1)],
            base: 0,
            filled: 0,
        })
    }

    /// The `n` bytes at `at`; `None` past the end of the file.
    fn bytes(&mut self, at: usize, n: usize) -> Option<&[u8]> {
        let end = at.checked_add(n)?;
        if end > self.len {
            return None;
        }
        if at < self.base || end > self.base + self.filled {
            self.fill(at, n)?;
        }
        Some(&self.buf[at - self.base..end - self.base])
    }

    /// Makes the buffer start at `at` and hold at least `n` bytes, keeping
    /// what it already holds from there on.
    fn fill(&mut self, at: usize, n: usize) -> Option<()> {
        let buffered = self.base..self.base + self.filled;
        if buffered.contains(&at) {
            self.buf.copy_within(at - self.base..self.filled, 0);
            self.filled = buffered.end - at;
        } else {
            self.filled = 0;
        }
        self.base = at;
        if self.buf.len() < n {
            self.buf.resize(n, 0);
        }
        let want = self.buf.len().min(self.len - at);
        while self.filled < n {
            let read = self
                .file
                .read_at(&mut self.buf[self.filled..want], (at + self.filled) as u64)
                .ok()?;
            if read == 0 {
                return None;
            }
            self.filled += read;
        }
        Some(())
    }

    /// Writes the bytes in `range` to `sink`, a buffer at a time.
    fn copy(&mut self, range: Range<usize>, sink: &mut Sink) -> Option<()> {
        let mut at = range.start;
        while at < range.end {
            let n = (range.end - at).min(self.buf.len());
            sink.put(self.bytes(at, n)?)?;
            at += n;
        }
        Some(())
    }

    /// The length of the NUL-terminated string at `at`, which must end
    /// before `limit` and within [`MAX_PATH`] bytes.
    fn nul_terminated(&mut self, at: usize, limit: usize) -> Option<usize> {
        let mut window = 256;
        loop {
            let n = window.min(limit.checked_sub(at)?);
            if let Some(len) = self.bytes(at, n)?.iter().position(|b| *b == 0) {
                return Some(len);
            }
            if n < window || window >= MAX_PATH {
                return None;
            }
            window *= 4;
        }
    }
}

/// One entry of the index file, as the walk is at it.
struct Entry<'a> {
    /// Its path (rebuilt from the previous one in a v4 index).
    name: &'a [u8],
    /// Its fixed-size fields (stat data, mode, blob id, flags).
    fixed: &'a [u8],
    /// Its bytes in the file.
    range: Range<usize>,
    /// Its merge stage (0 unless in conflict).
    stage: u16,
}

impl Entry<'_> {
    fn oid(&self) -> Option<Oid> {
        Oid::from_bytes(self.fixed.get(40..60)?).ok()
    }
}

/// The entries of a v2, v3 or v4 index, in file order. `next` returns
/// `None` at the end or at bytes that are not a valid entry; [`end`]
/// tells which.
///
/// [`end`]: Walk::end
struct Walk<'f> {
    reader: Reader<'f>,
    header: [u8; HEADER],
    at: usize,
    left: usize,
    /// Where the checksum begins.
    limit: usize,
    /// v4: the previous entry's path.
    previous: Option<Vec<u8>>,
    broken: bool,
}

impl<'f> Walk<'f> {
    /// Checks the header; `None` for other formats.
    fn new(file: &'f fs::File, buffer: usize) -> Option<Self> {
        let mut reader = Reader::new(file, buffer)?;
        let limit = reader.len.checked_sub(CHECKSUM)?;
        let header: [u8; HEADER] = reader.bytes(0, HEADER)?.try_into().ok()?;
        if &header[..4] != b"DIRC" || limit < HEADER {
            return None;
        }
        let version = u32::from_be_bytes(header[4..8].try_into().ok()?);
        if !(2..=4).contains(&version) {
            return None;
        }
        Some(Self {
            reader,
            header,
            at: HEADER,
            left: u32::from_be_bytes(header[8..12].try_into().ok()?) as usize,
            limit,
            previous: (version == 4).then(Vec::new),
            broken: false,
        })
    }

    fn next(&mut self) -> Option<Entry<'_>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let Some((start, name_start, name)) = self.parse() else {
            self.left = 0;
            self.broken = true;
            return None;
        };
        let base = self.reader.base;
        let buf = &self.reader.buf;
        Some(Entry {
            name: match &self.previous {
                Some(previous) => previous,
                None => &buf[name.start - base..name.end - base],
            },
            fixed: &buf[start - base..name_start - base],
            range: start..self.at,
            stage: (u16::from_be_bytes([buf[start - base + 60], buf[start - base + 61]]) >> 12) & 3,
        })
    }

    /// Reads the entry at `self.at` into the buffer (whole) and moves past
    /// it. Returns where it starts, where its path begins, and its path's
    /// bytes in the file (v2/v3; v4 rebuilds it in `previous`).
    fn parse(&mut self) -> Option<(usize, usize, Range<usize>)> {
        let (at, limit) = (self.at, self.limit);
        let fixed = self.reader.bytes(at, 62)?;
        let flags = u16::from_be_bytes([fixed[60], fixed[61]]);
        let name_start = at + 62 + if flags & 0x4000 != 0 { 2 } else { 0 };
        if let Some(previous) = &mut self.previous {
            // v4: how many bytes of the previous path to drop, then the
            // rest of this one up to a NUL; no padding.
            let head = self
                .reader
                .bytes(name_start, 10.min(limit.checked_sub(name_start)?))?;
            let (strip, used) = decode_varint(head)?;
            let suffix = name_start + used;
            let len = self.reader.nul_terminated(suffix, limit)?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(self.reader.bytes(suffix, len)?);
            self.at = suffix + len + 1;
            self.reader.bytes(at, self.at - at)?;
            return Some((at, name_start, 0..0));
        }
        let name_len = match usize::from(flags & 0x0fff) {
            0x0fff => self.reader.nul_terminated(name_start, limit)?,
            len => len,
        };
        let end = at + ((name_start - at + name_len + 8) & !7);
        if end > limit {
            return None;
        }
        self.reader.bytes(at, end - at)?;
        self.at = end;
        Some((at, name_start, name_start..name_start + name_len))
    }

    /// Where the entries end, once all were read; `None` when some were
    /// not valid.
    fn end(&self) -> Option<usize> {
        (!self.broken && self.left == 0).then_some(self.at)
    }
}

/// The fixed-size fields of an entry for `path` (stat data, mode, blob id,
/// flags); its path follows in the version's own way.
fn encode_fixed(path: &str, oid: Oid, meta: &fs::Metadata) -> Vec<u8> {
    use std::os::unix::fs::MetadataExt;
    let mut entry = Vec::with_capacity(64 + path.len() + 8);
    // The index stores 32-bit fields; git truncates the same way.
    let word = |v: i64| (v as u32).to_be_bytes();
    for value in [
        word(meta.ctime()),
        word(meta.ctime_nsec()),
        word(meta.mtime()),
        word(meta.mtime_nsec()),
        word(meta.dev() as i64),
        word(meta.ino() as i64),
        REGULAR_FILE.to_be_bytes(),
        meta.uid().to_be_bytes(),
        meta.gid().to_be_bytes(),
        word(meta.size() as i64),
    ] {
        entry.extend_from_slice(&value);
    }
    entry.extend_from_slice(oid.as_bytes());
    let flags = path.len().min(0x0fff) as u16;
    entry.extend_from_slice(&flags.to_be_bytes());
    entry
}

/// A v2/v3 entry: the fixed fields, the path, and NULs to a multiple of 8.
fn with_padded_path(mut entry: Vec<u8>, path: &str) -> Vec<u8> {
    entry.extend_from_slice(path.as_bytes());
    entry.resize((62 + path.len() + 8) & !7, 0);
    entry
}

/// git's variable-length integer (varint.c): seven bits a byte, most
/// significant first, each continuation adding one. Returns the value and
/// the bytes read.
fn decode_varint(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut iter = bytes.iter();
    let mut byte = *iter.next()?;
    let mut value = usize::from(byte & 0x7f);
    let mut used = 1;
    while byte & 0x80 != 0 {
        byte = *iter.next()?;
        value = value.checked_add(1)?.checked_mul(128)? | usize::from(byte & 0x7f);
        used += 1;
    }
    Some((value, used))
}

fn encode_varint(mut value: usize, out: &mut Vec<u8>) {
    let mut bytes = [0u8; 10];
    let mut at = bytes.len() - 1;
    bytes[at] = (value & 0x7f) as u8;
    value >>= 7;
    while value != 0 {
        value -= 1;
        at -= 1;
        bytes[at] = 0x80 | (value & 0x7f) as u8;
        value >>= 7;
    }
    out.extend_from_slice(&bytes[at..]);
}

/// Takes git's index lock (`index.lock`), waiting a little for another git.
fn lock_index(lock_path: &Path) -> Option<fs::File> {
    for _ in 0..200 {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(lock_path)
        {
            Ok(file) => return Some(file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(_) => return None,
        }
    }
    None
}

/// Keeps the extensions that stay valid when one entry changes (resolve
/// undo) and drops the optional caches that would go stale; refuses
/// required extensions it does not know (split or sparse index).
fn kept_extensions(data: &[u8]) -> Option<Vec<u8>> {
    let mut kept = Vec::new();
    for extension in extensions(data) {
        match extension? {
            (b"REUC", whole) => kept.extend_from_slice(whole),
            (signature, _) if signature[0].is_ascii_uppercase() => {} // optional cache: drop
            _ => return None,
        }
    }
    Some(kept)
}

/// The extensions in `data` (the bytes between the entries and the
/// checksum): each one's signature and whole bytes, header included.
/// Yields `None` (and stops) at bytes that are not an extension.
fn extensions(mut data: &[u8]) -> impl Iterator<Item = Option<(&[u8], &[u8])>> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        let extension = (|| {
            let size = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?) as usize;
            let whole = data.get(..8usize.checked_add(size)?)?;
            Some((&whole[..4], whole))
        })();
        match extension {
            Some((_, whole)) => data = &data[whole.len()..],
            None => data = &[],
        }
        Some(extension)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_gits() {
        for (value, bytes) in [
            (0, &[0x00][..]),
            (127, &[0x7f]),
            (128, &[0x80, 0x00]),
            (16_511, &[0xff, 0x7f]),
            (16_512, &[0x80, 0x80, 0x00]),
        ] {
            let mut out = Vec::new();
            encode_varint(value, &mut out);
            assert_eq!(out, bytes, "{value}");
            assert_eq!(decode_varint(bytes), Some((value, bytes.len())));
        }
        for value in (0..100_000).step_by(7) {
            let mut out = Vec::new();
            encode_varint(value, &mut out);
            assert_eq!(decode_varint(&out), Some((value, out.len())));
        }
    }

    #[test]
    fn rejects_what_it_does_not_know() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("index");
        fs::write(&file, b"not an index at all, not at all").unwrap();
        assert!(entry_oid(&file, "a").is_none());
        let mut v5 = b"DIRC\0\0\0\x05\0\0\0\0".to_vec();
        v5.extend_from_slice(&[0; 20]);
        fs::write(&file, &v5).unwrap();
        assert!(entry_oids(&file, &HashSet::from(["a"])).is_none());
        // Locked and read on the helper: it says it read nothing, writes
        // nothing, and leaves no lock behind.
        let locked = LockedIndex::open(&file, &["a"]).unwrap();
        assert!(!locked.is_read());
        assert_eq!(locked.entry_oid("a"), None);
        let update = ("a".to_owned(), Oid::ZERO_SHA1, file.clone());
        assert_eq!(locked.commit(&[update], false), None);
        assert_eq!(fs::read(&file).unwrap(), v5);
        assert!(!dir.path().join("index.lock").exists());
        assert!(kept_extensions(b"link\0\0\0\0").is_none());
        assert_eq!(kept_extensions(b"TREE\0\0\0\x01x").unwrap(), b"");
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A repository whose index holds 300 files of varied path lengths
    /// (one marked skip-worktree, which takes a v3 entry), in `version`.
    fn repository(version: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        for i in 0..300 {
            write(dir.path(), &path_of(i), &format!("file {i}\n"));
        }
        git(dir.path(), &["add", "-A"]);
        git(
            dir.path(),
            &["update-index", "--skip-worktree", &path_of(7)],
        );
        git(dir.path(), &["update-index", "--index-version", version]);
        dir
    }

    fn path_of(i: usize) -> String {
        format!("d{}/f{i:04}{}.toml", i % 7, "x".repeat(i % 23))
    }

    fn write(root: &Path, path: &str, content: &str) {
        let full = root.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(&full, content).unwrap();
    }

    /// Changes one file and adds three (sorting first, among the others
    /// and last), then puts them in the index: through this module in
    /// `ours`, with `git add` in `theirs`.
    fn edit(ours: &Path, theirs: &Path, buffer: usize, skip_hash: bool) {
        let paths = [
            path_of(10),
            "a/new.toml".into(),
            "d3/f0010-new.toml".into(),
            "zz/last.toml".into(),
        ];
        let mut updates = Vec::new();
        for root in [ours, theirs] {
            for path in &paths {
                write(root, path, &format!("edited {path}\n"));
            }
        }
        for path in &paths {
            let oid = git(ours, &["hash-object", "-w", path]);
            updates.push((
                path.clone(),
                Oid::from_str(oid.trim()).unwrap(),
                ours.join(path),
            ));
        }
        let wanted: Vec<&str> = paths.iter().map(String::as_str).collect();
        let index = LockedIndex::open_with(&ours.join(".git/index"), &wanted, buffer).unwrap();
        assert_eq!(index.entry_oid(&paths[1]), Some(None));
        assert!(index.entry_oid(&paths[0]).unwrap().is_some());
        index.commit(&updates, skip_hash).unwrap();
        git(
            theirs,
            &["add", "--", &paths[0], &paths[1], &paths[2], &paths[3]],
        );
    }

    #[test]
    fn edits_give_the_index_git_would_write() {
        for version in ["2", "4"] {
            for (buffer, skip_hash) in [(64, false), (333, true), (BUFFER, false)] {
                let (ours, theirs) = (repository(version), repository(version));
                let (ours, theirs) = (ours.path(), theirs.path());
                edit(ours, theirs, buffer, skip_hash);
                let what = format!("v{version}, a buffer of {buffer}");
                let listed = |root| git(root, &["ls-files", "--stage", "-t", "--debug"]);
                let (mine, gits) = (listed(ours), listed(theirs));
                // The stat data differ between the two repositories; paths,
                // modes, ids, stages and flags must not.
                let fields = |listing: &str| {
                    listing
                        .lines()
                        .filter(|line| !line.trim_start().starts_with(['c', 'm', 'd', 'u', 's']))
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                };
                assert_eq!(fields(&mine), fields(&gits), "{what}");
                assert_eq!(mine.matches("toml").count(), 303, "{what}");
                // The stat data are the files' own: git sees nothing to
                // refresh, and the checksum (or its absence) is valid.
                assert_eq!(git(ours, &["diff-files", "--name-only"]), "", "{what}");
                git(ours, &["fsck", "--no-dangling"]);
                let data = fs::read(ours.join(".git/index")).unwrap();
                // The skip-worktree flag makes git write v3 rather than v2.
                let kept = if version == "2" { 3u32 } else { 4 };
                assert_eq!(data[4..8], kept.to_be_bytes(), "{what}");
                assert_eq!(
                    data[data.len() - CHECKSUM..] == [0; CHECKSUM],
                    skip_hash,
                    "{what}"
                );
                let mut index = git2::Repository::open(ours).unwrap().index().unwrap();
                index.read(true).unwrap();
                assert_eq!(index.len(), 303, "{what}");
                // One walk of this module agrees with libgit2's reading.
                let mut walked = Vec::new();
                let file = fs::File::open(ours.join(".git/index")).unwrap();
                scan(&file, buffer, |entry| {
                    walked.push((entry.name.to_vec(), entry.oid().unwrap()));
                    Some(())
                })
                .unwrap();
                let read: Vec<_> = index.iter().map(|e| (e.path, e.id)).collect();
                assert_eq!(walked, read, "{what}");
            }
        }
    }

    #[test]
    fn one_path_set_on_the_start_the_helper_wrote_gives_gits_index() {
        // A path replaced or inserted first, among the others and last;
        // the start of the index is written on the helper thread.
        let (ours, theirs) = (repository("2"), repository("2"));
        let (ours, theirs) = (ours.path(), theirs.path());
        let paths = [
            "a/first.toml".to_owned(),
            path_of(0),
            path_of(150),
            "d3/f0010-new.toml".to_owned(),
            path_of(299),
            "zz/last.toml".to_owned(),
        ];
        for (round, path) in paths.iter().enumerate() {
            for root in [ours, theirs] {
                write(root, path, &format!("edited {round}\n"));
            }
            let oid = git(ours, &["hash-object", "-w", path]);
            let oid = Oid::from_str(oid.trim()).unwrap();
            let index = LockedIndex::open(&ours.join(".git/index"), &[path]).unwrap();
            index
                .commit(&[(path.clone(), oid, ours.join(path))], round % 2 == 1)
                .unwrap();
            git(theirs, &["add", "--", path]);
            let listed = |root| git(root, &["ls-files", "--stage", "-t"]);
            assert_eq!(listed(ours), listed(theirs), "{path}");
            assert_eq!(git(ours, &["diff-files", "--name-only"]), "", "{path}");
            let data = fs::read(ours.join(".git/index")).unwrap();
            let (body, checksum) = data.split_at(data.len() - CHECKSUM);
            if round % 2 == 1 {
                assert_eq!(checksum, [0; CHECKSUM], "{path}");
            } else {
                assert_eq!(checksum, Sha1::digest(body).as_slice(), "{path}");
            }
        }
        assert!(!ours.join(".git/index.lock").exists());
    }

    #[test]
    fn an_index_left_unwritten_keeps_the_old_one_and_no_lock() {
        let dir = repository("2");
        let root = dir.path();
        let before = fs::read(root.join(".git/index")).unwrap();
        let path = path_of(42);
        drop(LockedIndex::open(&root.join(".git/index"), &[&path]).unwrap());
        assert_eq!(fs::read(root.join(".git/index")).unwrap(), before);
        assert!(!root.join(".git/index.lock").exists());
    }

    #[test]
    fn the_replaced_index_is_deleted_by_the_next_rewrite() {
        use std::os::unix::fs::MetadataExt;
        let dir = repository("2");
        let root = dir.path();
        let index_file = root.join(".git/index");
        let inode = |path: &Path| fs::metadata(path).unwrap().ino();
        for round in 0..3 {
            let before = inode(&index_file);
            let path = path_of(round);
            write(root, &path, &format!("round {round}\n"));
            let oid = git(root, &["hash-object", "-w", &path]);
            let oid = Oid::from_str(oid.trim()).unwrap();
            set_entries(&index_file, &[(path.clone(), oid, root.join(&path))], false).unwrap();
            assert_eq!(inode(&replaced_path(&index_file)), before, "round {round}");
            assert_ne!(inode(&index_file), before);
            assert_eq!(entry_oid(&index_file, &path), Some(Some(oid)));
        }
        assert!(!root.join(".git/index.lock").exists());
    }
}
