//! A fast path for updating one entry of git's index file.
//!
//! libgit2 reads and writes the whole index as structures, which costs
//! 120 ms per change at 100,000 tickets. A tix change touches one path, so
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

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use git2::Oid;
use sha1::{Digest, Sha1};

use super::lock::GitLockClaim;

const HEADER: usize = 12;
const CHECKSUM: usize = 20;
const REGULAR_FILE: u32 = 0o100644;

/// Returns the stage-0 blob id recorded for `path`: `Some(None)` when the
/// path is not in the index, `None` when the index format is not handled
/// or the path is in conflict.
pub(super) fn entry_oid(index_file: &Path, path: &str) -> Option<Option<Oid>> {
    match fs::read(index_file) {
        Ok(data) => {
            entries_end(&data)?;
            find_entry(&data, path)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(None),
        Err(_) => None,
    }
}

/// Looks `path` up in index bytes: `Some(None)` when absent, `None` when
/// the format is not handled or the path is in conflict. Entries are
/// sorted by path, so the walk stops once it is past `path`.
fn find_entry(data: &[u8], path: &str) -> Option<Option<Oid>> {
    let mut found = None;
    for entry in Entries::new(data)? {
        let entry = entry?;
        match (*entry.name).cmp(path.as_bytes()) {
            std::cmp::Ordering::Less => continue,
            std::cmp::Ordering::Greater => break,
            std::cmp::Ordering::Equal if entry.stage != 0 => return None,
            std::cmp::Ordering::Equal => found = entry.oid(data),
        }
    }
    Some(found)
}

/// Returns the stage-0 blob ids of the `wanted` paths that are in the index
/// (one read, for batches); `None` when the format is not handled.
pub(super) fn entry_oids(
    index_file: &Path,
    wanted: &HashSet<&str>,
) -> Option<HashMap<String, Oid>> {
    let data = match fs::read(index_file) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Some(Default::default()),
        Err(_) => return None,
    };
    let mut entries = Entries::new(&data)?;
    let mut out = HashMap::with_capacity(wanted.len());
    for entry in entries.by_ref() {
        let entry = entry?;
        if entry.stage == 0
            && let Ok(name) = std::str::from_utf8(&entry.name)
            && wanted.contains(name)
        {
            out.insert(name.to_owned(), entry.oid(&data)?);
        }
    }
    kept_extensions(&data[entries.at..data.len() - CHECKSUM])?;
    Some(out)
}

/// Sets each `(path, blob, file)` entry, with the stat data of `file`,
/// in one rewrite of the index (inserting paths that are absent). Returns
/// `None` when the index must be updated another way.
pub(super) fn set_entries(
    index_file: &Path,
    updates: &[(String, Oid, std::path::PathBuf)],
    skip_hash: bool,
) -> Option<()> {
    LockedIndex::open(index_file)?.commit(updates, skip_hash)
}

/// git's index file, read once under git's own lock (`index.lock`), to be
/// rewritten with a few entries replaced. Holding the lock from the check
/// of a path's entry to the rewrite means the file is read once per change
/// and nobody changes it in between. Dropping it without [`commit`] releases
/// the lock and leaves the index as it was.
///
/// [`commit`]: LockedIndex::commit
pub(super) struct LockedIndex {
    index_file: std::path::PathBuf,
    lock_path: std::path::PathBuf,
    lock: Option<fs::File>,
    _claim: GitLockClaim,
    data: Vec<u8>,
    /// Where the entries end and the extensions begin.
    entries_end: usize,
    /// The new index is in place: the lock file is gone (and any lock file
    /// now is another git's).
    committed: bool,
}

impl LockedIndex {
    /// Takes `index.lock` (waiting a little for another git) and reads the
    /// index. `None` when the index is absent, of a format this module does
    /// not handle, or locked for too long.
    pub(super) fn open(index_file: &Path) -> Option<Self> {
        let lock_path = index_file.with_extension("lock");
        // Say who takes git's lock, so a lock left by a killed tix can be
        // told from a live git's (see `lock::clear_stale`).
        let claim = GitLockClaim::record(&private_dir(index_file), INDEX_LOCK, &lock_path).ok()?;
        let lock = lock_index(&lock_path)?;
        let mut this = Self {
            index_file: index_file.to_owned(),
            lock_path,
            lock: Some(lock),
            _claim: claim,
            data: Vec::new(),
            entries_end: 0,
            committed: false,
        };
        this.data = fs::read(index_file).ok()?;
        this.entries_end = entries_end(&this.data)?;
        Some(this)
    }

    /// Returns the stage-0 blob id recorded for `path`: `Some(None)` when
    /// the path is not in the index, `None` when it is in conflict.
    pub(super) fn entry_oid(&self, path: &str) -> Option<Option<Oid>> {
        find_entry(&self.data, path)
    }

    /// Writes the index with each `(path, blob, file)` entry set from the
    /// stat data of `file`, and puts it in place. The unchanged runs of
    /// entries are written straight from the old file, never copied.
    /// `skip_hash` writes a zero checksum, as git does with
    /// `index.skipHash`.
    pub(super) fn commit(
        mut self,
        updates: &[(String, Oid, std::path::PathBuf)],
        skip_hash: bool,
    ) -> Option<()> {
        let data = &self.data;
        let v4 = data[4..8] == 4u32.to_be_bytes();
        let mut new_entries = Vec::with_capacity(updates.len());
        for (path, oid, file) in updates {
            let fixed = encode_fixed(path, *oid, &fs::metadata(file).ok()?);
            let bytes = if v4 {
                fixed
            } else {
                with_padded_path(fixed, path)
            };
            new_entries.push((path.as_bytes(), bytes));
        }
        new_entries.sort_by(|a, b| a.0.cmp(b.0));
        new_entries.dedup_by(|a, b| a.0 == b.0);
        let mut count = u32::from_be_bytes(data[8..12].try_into().ok()?) as usize;
        let v4_entries;
        // Pieces of the new file, in order: slices of the old file and the
        // new entries.
        let mut pieces: Vec<&[u8]> = Vec::with_capacity(2 * new_entries.len() + 4);
        let mut copied_to = HEADER;
        let mut pending = new_entries.iter().peekable();
        if v4 {
            v4_entries = merge_v4(data, &new_entries, &mut count)?;
            pieces.push(&v4_entries);
            copied_to = self.entries_end;
            pending = [].iter().peekable();
        }
        for entry in Entries::new(data)? {
            let Some((new_path, _)) = pending.peek() else {
                break;
            };
            let entry = entry?;
            let (path, range, stage) = (&*entry.name, entry.range, entry.stage);
            if *new_path > path {
                continue;
            }
            // New paths that sort before this entry go in first.
            while let Some((new_path, bytes)) = pending.peek() {
                if *new_path >= path {
                    break;
                }
                pieces.push(&data[copied_to..range.start]);
                pieces.push(bytes);
                copied_to = range.start;
                count += 1;
                pending.next();
            }
            if let Some((new_path, bytes)) = pending.peek()
                && *new_path == path
            {
                if stage != 0 {
                    return None; // a conflict: leave it to git
                }
                pieces.push(&data[copied_to..range.start]);
                pieces.push(bytes);
                copied_to = range.end;
                pending.next();
            }
        }
        pieces.push(&data[copied_to..self.entries_end]);
        for (_, bytes) in pending {
            pieces.push(bytes);
            count += 1;
        }
        let extensions = kept_extensions(&data[self.entries_end..data.len() - CHECKSUM])?;
        pieces.push(&extensions);
        let mut header = data[..HEADER].to_vec();
        header[8..12].copy_from_slice(&u32::try_from(count).ok()?.to_be_bytes());

        let mut hasher = Sha1::new();
        let mut file = self.lock.take()?;
        let written = (|| -> std::io::Result<()> {
            let mut write = |piece: &[u8]| {
                if !skip_hash {
                    hasher.update(piece);
                }
                file.write_all(piece)
            };
            write(&header)?;
            for piece in &pieces {
                write(piece)?;
            }
            let checksum: [u8; CHECKSUM] = if skip_hash {
                [0; CHECKSUM]
            } else {
                std::mem::take(&mut hasher).finalize().into()
            };
            file.write_all(&checksum)
        })();
        drop(file);
        written.ok()?;
        fs::rename(&self.lock_path, &self.index_file).ok()?;
        self.committed = true;
        Some(())
    }
}

impl Drop for LockedIndex {
    fn drop(&mut self) {
        // Not committed (or the rename failed): release git's lock.
        if !self.committed {
            let _ = fs::remove_file(&self.lock_path);
        }
    }
}

/// The claim kind of git's index lock (see [`GitLockClaim`]).
pub(super) const INDEX_LOCK: &str = "index";

fn private_dir(index_file: &Path) -> std::path::PathBuf {
    index_file.with_file_name(super::layout::PRIVATE_DIR)
}

/// One entry of the index file.
struct RawEntry<'a> {
    /// Its path (rebuilt from the previous one in a v4 index).
    name: Cow<'a, [u8]>,
    /// Its bytes in the file.
    range: std::ops::Range<usize>,
    /// Where its fixed-size fields end and its path begins.
    fixed_end: usize,
    /// Its merge stage (0 unless in conflict).
    stage: u16,
}

impl RawEntry<'_> {
    fn oid(&self, data: &[u8]) -> Option<Oid> {
        Oid::from_bytes(data.get(self.range.start + 40..self.range.start + 60)?).ok()
    }
}

/// The entries of a v2, v3 or v4 index, in file order (allocating only to
/// rebuild v4's prefix-compressed paths). Yields `None` (and stops) at
/// bytes that are not a valid entry.
struct Entries<'a> {
    data: &'a [u8],
    at: usize,
    left: usize,
    limit: usize,
    /// v4: the previous entry's path.
    previous: Option<Vec<u8>>,
}

impl<'a> Entries<'a> {
    /// Checks the header; `None` for other formats.
    fn new(data: &'a [u8]) -> Option<Self> {
        if data.len() < HEADER + CHECKSUM || &data[..4] != b"DIRC" {
            return None;
        }
        let version = u32::from_be_bytes(data[4..8].try_into().ok()?);
        if !(2..=4).contains(&version) {
            return None;
        }
        Some(Self {
            data,
            at: HEADER,
            left: u32::from_be_bytes(data[8..12].try_into().ok()?) as usize,
            limit: data.len() - CHECKSUM,
            previous: (version == 4).then(Vec::new),
        })
    }

    /// Walks to the end; returns where the entries end.
    fn end(mut self) -> Option<usize> {
        while self.left > 0 {
            self.next()??;
        }
        Some(self.at)
    }

    fn entry(&mut self) -> Option<RawEntry<'a>> {
        let (data, at) = (self.data, self.at);
        let flags = u16::from_be_bytes(data.get(at + 60..at + 62)?.try_into().ok()?);
        let name_start = at + 62 + if flags & 0x4000 != 0 { 2 } else { 0 };
        let stage = (flags >> 12) & 3;
        if let Some(previous) = &mut self.previous {
            // v4: how many bytes of the previous path to drop, then the
            // rest of this one up to a NUL; no padding.
            let (strip, used) = decode_varint(data.get(name_start..self.limit)?)?;
            let suffix = name_start + used;
            let len = data.get(suffix..self.limit)?.iter().position(|b| *b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(&data[suffix..suffix + len]);
            self.at = suffix + len + 1;
            return Some(RawEntry {
                name: Cow::Owned(previous.clone()),
                range: at..self.at,
                fixed_end: name_start,
                stage,
            });
        }
        let name_len = match usize::from(flags & 0x0fff) {
            0x0fff => data
                .get(name_start..self.limit)?
                .iter()
                .position(|b| *b == 0)?,
            len => len,
        };
        let end = at + ((name_start - at + name_len + 8) & !7);
        if end > self.limit {
            return None;
        }
        self.at = end;
        Some(RawEntry {
            name: Cow::Borrowed(&data[name_start..name_start + name_len]),
            range: at..end,
            fixed_end: name_start,
            stage,
        })
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Option<RawEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let entry = self.entry();
        if entry.is_none() {
            self.left = 0;
        }
        Some(entry)
    }
}

/// Where the entries of a v2/v3 index end, if this module can edit it: a
/// split index (`link`) or sparse index (`sdir`) holds only some entries
/// in this file, so looking a path up in it would be wrong.
fn entries_end(data: &[u8]) -> Option<usize> {
    let end = Entries::new(data)?.end()?;
    kept_extensions(&data[end..data.len() - CHECKSUM])?;
    Some(end)
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

/// The entries of a v4 index with `new_entries` (path, fixed fields) set.
/// Each path is stored against the one before it, so every entry is
/// written afresh. `None` for a path in conflict.
fn merge_v4(data: &[u8], new_entries: &[(&[u8], Vec<u8>)], count: &mut usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + 128 * new_entries.len());
    let mut previous: Vec<u8> = Vec::new();
    let mut push = |fixed: &[u8], path: &[u8]| {
        out.extend_from_slice(fixed);
        let common = previous
            .iter()
            .zip(path)
            .take_while(|(a, b)| a == b)
            .count();
        encode_varint(previous.len() - common, &mut out);
        out.extend_from_slice(&path[common..]);
        out.push(0);
        previous.truncate(common);
        previous.extend_from_slice(&path[common..]);
    };
    let mut pending = new_entries.iter().peekable();
    for entry in Entries::new(data)? {
        let entry = entry?;
        while let Some((path, fixed)) = pending.next_if(|(path, _)| *path < &*entry.name) {
            push(fixed, path);
            *count += 1;
        }
        match pending.next_if(|(path, _)| *path == &*entry.name) {
            Some(_) if entry.stage != 0 => return None, // a conflict: leave it to git
            Some((path, fixed)) => push(fixed, path),
            None => push(&data[entry.range.start..entry.fixed_end], &entry.name),
        }
    }
    for (path, fixed) in pending {
        push(fixed, path);
        *count += 1;
    }
    Some(out)
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
fn kept_extensions(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut kept = Vec::new();
    while !data.is_empty() {
        let signature = data.get(..4)?;
        let size = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?) as usize;
        let whole = data.get(..8 + size)?;
        match signature {
            b"REUC" => kept.extend_from_slice(whole),
            sig if sig[0].is_ascii_uppercase() => {} // optional cache: drop
            _ => return None,
        }
        data = &data[8 + size..];
    }
    Some(kept)
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
        assert!(Entries::new(b"not an index at all, not at all").is_none());
        let mut v5 = b"DIRC\0\0\0\x05\0\0\0\0".to_vec();
        v5.extend_from_slice(&[0; 20]);
        assert!(Entries::new(&v5).is_none());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("index");
        fs::write(&file, &v5).unwrap();
        assert!(entry_oids(&file, &HashSet::from(["a"])).is_none());
        assert!(kept_extensions(b"link\0\0\0\0").is_none());
        assert_eq!(kept_extensions(b"TREE\0\0\0\x01x").unwrap(), b"");
    }
}
