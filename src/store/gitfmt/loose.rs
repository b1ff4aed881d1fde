//! Writes loose objects: `objects/<2 hex>/<38 hex>`, each the zlib stream
//! of `<type> <size>\0<content>` (Documentation/gitformat-loose.txt).
//!
//! A change to one ticket writes five objects (the file, three trees, the
//! commit). Through libgit2 each one set up a zlib stream of its own and
//! hashed with the collision-detecting SHA-1, together a fifth of a
//! change at 10,000 tickets; here one stream is reused and the id is the
//! `sha1` crate's (docs/benchmarks.md, "Where a change's time goes").
//!
//! An object is written into a temporary file in `objects/`, readable by
//! all and writable by none, then renamed into place, so a reader never
//! sees half an object and two writers of the same object both succeed
//! (git links and unlinks where tix renames: one call fewer, and the
//! same bytes either way). An object that is there already is not
//! written again; its file's time is set to now, as git "freshens" it, so
//! that a `git gc` running meanwhile does not prune it as old and
//! unreachable before the new commit reaches it.

use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid};

use super::pack::{compress, object_id};

/// Writes loose objects into one object directory.
pub(in crate::store) struct Loose {
    dir: PathBuf,
    /// The stream of the object being written, reused.
    buffer: Vec<u8>,
}

impl Loose {
    /// A writer into `objects_dir` (a repository's `objects`).
    pub(in crate::store) fn new(objects_dir: &Path) -> Self {
        Self {
            dir: objects_dir.to_owned(),
            buffer: Vec::new(),
        }
    }

    /// Writes `data` as an object of `kind` (unless it is there already)
    /// and returns its id.
    pub(in crate::store) fn write(&mut self, kind: ObjectType, data: &[u8]) -> io::Result<Oid> {
        let id = object_id(kind, data);
        let hex = id.to_string();
        let fan = self.dir.join(&hex[..2]);
        let path = fan.join(&hex[2..]);
        if freshen(&path) {
            return Ok(id);
        }
        let mut object = Vec::with_capacity(data.len() + 32);
        object.extend_from_slice(kind.str().as_bytes());
        object.push(b' ');
        object.extend_from_slice(itoa::Buffer::new().format(data.len()).as_bytes());
        object.push(0);
        object.extend_from_slice(data);
        self.buffer.clear();
        if kind == ObjectType::Tree {
            stored(&object, &mut self.buffer);
        } else {
            compress(&object, &mut self.buffer);
        }
        // Written beside the fan-out directories, which may not be there
        // yet, and moved into one: the same object written meanwhile by
        // another is replaced by identical bytes.
        let temporary = temporary(&self.dir, &self.buffer)?;
        let mut moved = fs::rename(&temporary, &path);
        if matches!(&moved, Err(e) if e.kind() == io::ErrorKind::NotFound) {
            match fs::create_dir(&fan) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    let _ = fs::remove_file(&temporary);
                    return Err(e);
                }
            }
            moved = fs::rename(&temporary, &path);
        }
        if moved.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        moved.map(|()| id)
    }
}

/// Appends `data` as a zlib stream of stored (uncompressed) blocks.
///
/// Trees are stored so: most of a tree is object ids, which do not
/// compress, and the `tickets/` tree every change rewrites is tens of
/// kilobytes at 10,000 tickets. Storing it costs a copy where compressing
/// cost a tenth of a change, and every later command reads it with a copy
/// too. `git gc` compresses it when it packs.
fn stored(data: &[u8], out: &mut Vec<u8>) {
    const BLOCK: usize = 65_535;
    out.reserve(data.len() + data.len() / BLOCK * 5 + 11);
    // CMF 0x78 (deflate, 32 KiB window), FLG 0x01: no dictionary, the
    // lowest level, and 0x7801 a multiple of 31 as the format asks.
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(BLOCK).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(block) = blocks.next() {
        let last = u8::from(blocks.peek().is_none());
        // Fits: a block is at most 65,535 bytes.
        let len = block.len() as u16;
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
}

/// The Adler-32 checksum zlib ends a stream with (RFC 1950).
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    // The most bytes summed before `b` could pass 2^32 (zlib's NMAX).
    const RUN: usize = 5_552;
    let (mut a, mut b) = (1u32, 0u32);
    for run in data.chunks(RUN) {
        for byte in run {
            a += u32::from(*byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Sets the time of the object file at `path` to now; false when there is
/// no such file.
fn freshen(path: &Path) -> bool {
    match fs::File::open(path) {
        Ok(file) => {
            // Only the owner may set the time; another's object stays.
            let _ = file.set_modified(std::time::SystemTime::now());
            true
        }
        Err(e) => e.kind() != io::ErrorKind::NotFound,
    }
}

/// Writes `bytes` into a new file named `tmp_obj_*` in `dir`, mode 0444,
/// and returns its path.
fn temporary(dir: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    loop {
        let path = dir.join(format!("tmp_obj_{:016x}", fastrand::u64(..)));
        let file = fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(&path);
        match file {
            Ok(mut file) => {
                let written = file.write_all(bytes);
                return match written {
                    Ok(()) => Ok(path),
                    Err(e) => {
                        let _ = fs::remove_file(&path);
                        Err(e)
                    }
                };
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_streams_inflate_to_their_data() {
        for len in [0, 1, 100, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..len).map(|n| (n * 7 % 251) as u8).collect();
            let mut out = Vec::new();
            stored(&data, &mut out);
            let mut back = Vec::new();
            let mut inflater = flate2::read::ZlibDecoder::new(&out[..]);
            std::io::Read::read_to_end(&mut inflater, &mut back).unwrap();
            assert_eq!(back, data, "{len} bytes");
            assert_eq!(u16::from_be_bytes([out[0], out[1]]) % 31, 0);
        }
        // RFC 1950's example value.
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn objects_written_read_back_through_libgit2_and_git_fsck() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let mut loose = Loose::new(&repo.path().join("objects"));
        let blob = loose.write(ObjectType::Blob, b"hello\n").unwrap();
        assert_eq!(blob, repo.blob(b"hello\n").unwrap());
        let mut tree = b"100644 a.txt\0".to_vec();
        tree.extend_from_slice(blob.as_bytes());
        let tree_id = loose.write(ObjectType::Tree, &tree).unwrap();
        let read = repo.find_tree(tree_id).unwrap();
        assert_eq!(read.get_name("a.txt").unwrap().id(), blob);
        // Written again: the same id, the file left as it was.
        assert_eq!(loose.write(ObjectType::Tree, &tree).unwrap(), tree_id);
        let big: Vec<u8> = (0..200_000u32).flat_map(u32::to_le_bytes).collect();
        let big_id = loose.write(ObjectType::Blob, &big).unwrap();
        assert_eq!(repo.find_blob(big_id).unwrap().content(), &big[..]);
        let fsck = std::process::Command::new("git")
            .current_dir(dir.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["fsck", "--strict", "--unreachable", "--no-dangling"])
            .output()
            .unwrap();
        assert!(fsck.status.success(), "{fsck:?}");
        let hex = tree_id.to_string();
        let file = repo.path().join("objects").join(&hex[..2]).join(&hex[2..]);
        let mode =
            std::os::unix::fs::PermissionsExt::mode(&fs::metadata(file).unwrap().permissions());
        assert_eq!(mode & 0o222, 0, "objects are read-only");
        let leftovers = fs::read_dir(repo.path().join("objects").join(&hex[..2]))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("tmp_")
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
