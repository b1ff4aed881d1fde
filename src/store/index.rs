//! A fast path for updating one entry of git's index file.
//!
//! libgit2 reads and writes the whole index as structures, which costs
//! 120 ms per change at 100,000 tickets. A tix change touches one path, so
//! this module edits the index file as bytes: it finds the entry, replaces
//! (or inserts) it with fresh stat data and blob id, drops the optional
//! caches that the edit makes stale (cache-tree and friends; git rebuilds
//! them) and rewrites the checksum. It follows git's locking protocol
//! (`index.lock`). Formats it does not know (index v4, split or sparse
//! indexes, unknown required extensions) return `None` so the caller falls
//! back to libgit2. The format: git's Documentation/gitformat-index.txt.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use git2::Oid;
use sha1::{Digest, Sha1};

const HEADER: usize = 12;
const CHECKSUM: usize = 20;
const REGULAR_FILE: u32 = 0o100644;

/// Where `path` is (or would go) among the entries of an index.
struct Found {
    /// Byte range of the stage-0 entry for `path`, or an empty range at the
    /// sorted insertion point.
    range: std::ops::Range<usize>,
    /// Its blob id, when present.
    oid: Option<Oid>,
    /// Number of entries in the index.
    count: usize,
    /// Where the entries end and the extensions start.
    entries_end: usize,
}

/// Scans a v2/v3 index for `path`; `None` for other formats, a corrupt
/// file, or a path in conflict (stage > 0).
fn find(data: &[u8], path: &[u8]) -> Option<Found> {
    if data.len() < HEADER + CHECKSUM || &data[..4] != b"DIRC" {
        return None;
    }
    let version = u32::from_be_bytes(data[4..8].try_into().ok()?);
    if version != 2 && version != 3 {
        return None;
    }
    let count = u32::from_be_bytes(data[8..12].try_into().ok()?) as usize;
    let limit = data.len() - CHECKSUM;
    let mut at = HEADER;
    let mut found: Option<(std::ops::Range<usize>, Option<Oid>)> = None;
    for _ in 0..count {
        let flags = u16::from_be_bytes(data.get(at + 60..at + 62)?.try_into().ok()?);
        let name_start = at + 62 + if flags & 0x4000 != 0 { 2 } else { 0 };
        let name_len = match usize::from(flags & 0x0fff) {
            0x0fff => data.get(name_start..limit)?.iter().position(|b| *b == 0)?,
            len => len,
        };
        let end = at + ((name_start - at + name_len + 8) & !7);
        if end > limit {
            return None;
        }
        let name = &data[name_start..name_start + name_len];
        if found.is_none() {
            if name == path {
                if (flags >> 12) & 3 != 0 {
                    return None;
                }
                found = Some((at..end, Oid::from_bytes(&data[at + 40..at + 60]).ok()));
            } else if name > path {
                found = Some((at..at, None));
            }
        } else if name == path {
            return None; // more stages: a conflict
        }
        at = end;
    }
    let (range, oid) = found.unwrap_or((at..at, None));
    Some(Found {
        range,
        oid,
        count,
        entries_end: at,
    })
}

/// Returns the stage-0 blob id recorded for `path`: `Some(None)` when the
/// path is not in the index, `None` when the index format is not handled
/// or the path is in conflict.
pub(super) fn entry_oid(index_file: &Path, path: &str) -> Option<Option<Oid>> {
    match fs::read(index_file) {
        Ok(data) => find(&data, path.as_bytes()).map(|found| found.oid),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(None),
        Err(_) => None,
    }
}

/// Sets `path`'s entry to `oid` with the stat data of `file` (inserting it
/// when absent). Returns `None` when the index must be updated another way.
pub(super) fn set_entry(index_file: &Path, path: &str, oid: Oid, file: &Path) -> Option<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(file).ok()?;
    let lock_path = index_file.with_extension("lock");
    let mut lock = lock_index(&lock_path)?;
    let result = (|| {
        let mut data = fs::read(index_file).ok()?;
        let found = find(&data, path.as_bytes())?;
        let extensions = kept_extensions(&data[found.entries_end..data.len() - CHECKSUM])?;

        let mut entry = Vec::with_capacity(64 + path.len() + 8);
        let secs = |s: i64| (s as u32).to_be_bytes();
        for value in [
            secs(meta.ctime()),
            (meta.ctime_nsec() as u32).to_be_bytes(),
            secs(meta.mtime()),
            (meta.mtime_nsec() as u32).to_be_bytes(),
            (meta.dev() as u32).to_be_bytes(),
            (meta.ino() as u32).to_be_bytes(),
            REGULAR_FILE.to_be_bytes(),
            meta.uid().to_be_bytes(),
            meta.gid().to_be_bytes(),
            (meta.size() as u32).to_be_bytes(),
        ] {
            entry.extend_from_slice(&value);
        }
        entry.extend_from_slice(oid.as_bytes());
        let flags = path.len().min(0x0fff) as u16;
        entry.extend_from_slice(&flags.to_be_bytes());
        entry.extend_from_slice(path.as_bytes());
        entry.resize((62 + path.len() + 8) & !7, 0);

        // Edit in place: the tail (extensions, checksum) is rebuilt, the
        // entry replaced or inserted at its sorted position.
        let inserted = found.range.is_empty();
        data.truncate(found.entries_end);
        data.splice(found.range, entry);
        let count = found.count + usize::from(inserted);
        data[8..12].copy_from_slice(&u32::try_from(count).ok()?.to_be_bytes());
        data.extend_from_slice(&extensions);
        let checksum = Sha1::digest(&data);
        data.extend_from_slice(&checksum);
        lock.write_all(&data).ok()?;
        drop(lock);
        fs::rename(&lock_path, index_file).ok()
    })();
    if result.is_none() {
        let _ = fs::remove_file(&lock_path);
    }
    result
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
    fn rejects_what_it_does_not_know() {
        assert!(find(b"not an index at all, not at all", b"x").is_none());
        let mut v4 = b"DIRC\0\0\0\x04\0\0\0\0".to_vec();
        v4.extend_from_slice(&[0; 20]);
        assert!(find(&v4, b"x").is_none());
        assert!(kept_extensions(b"link\0\0\0\0").is_none());
        assert_eq!(kept_extensions(b"TREE\0\0\0\x01x").unwrap(), b"");
    }
}
