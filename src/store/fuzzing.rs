//! Entry points for the fuzz targets under `fuzz/` (built with `cargo fuzz`,
//! which sets `cfg(fuzzing)`): git's formats as tix reads them, from bytes.
//! Each must return, never panic, whatever the bytes.

use std::path::Path;

use git2::Oid;

use super::gitfmt::{index, pack_reader, tree};

/// Reads `bytes` as git's index: the entries of a few paths, and whether it
/// is split.
pub fn index(bytes: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let file = dir.path().join("index");
    if std::fs::write(&file, bytes).is_err() {
        return;
    }
    let paths = ["tickets/ab/abcdef.toml", "tix.toml", "a"];
    let wanted: std::collections::HashSet<&str> = paths.iter().copied().collect();
    let _ = index::entry_oids(&file, &wanted);
    let _ = index::entry_oid(&file, "tickets/ab/abcdef.toml");
    let _ = index::is_split(&file);
}

/// Reads `idx` and `pack` as a pack and its index, then every object the
/// index names (at most 64) as a blob, a tree and a commit.
pub fn pack(idx: &[u8], pack: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let packs = dir.path().join("objects").join("pack");
    if std::fs::create_dir_all(&packs).is_err()
        || std::fs::write(packs.join("pack-fuzz.idx"), idx).is_err()
        || std::fs::write(packs.join("pack-fuzz.pack"), pack).is_err()
    {
        return;
    }
    let set = pack_reader::PackSet::open(Path::new(dir.path()));
    let mut reader = set.reader();
    // A version 2 index: 8 bytes of header, 256 fan-out words, then ids.
    let ids = idx.get(8 + 256 * 4..).unwrap_or_default();
    for raw in ids.chunks_exact(20).take(64) {
        let Ok(oid) = Oid::from_bytes(raw) else {
            continue;
        };
        let _ = reader.blob(&oid);
        let _ = reader.tree(&oid);
        let _ = reader.commit(&oid);
        let _ = reader.tree_entries(&oid);
    }
}

/// Reads `bytes` as a tree object's content, and adds a ticket file and a
/// shard directory to it.
pub fn tree(bytes: &[u8]) {
    let _ = pack_reader::parse_tree(bytes);
    let _ = pack_reader::entry_kind_id(bytes, b"abcdef.toml");
    let _ = pack_reader::entry_offset(bytes, b"ab");
    let mut edited = bytes.to_vec();
    let _ = tree::insert_entry(
        &mut edited,
        tree::Mode::File,
        b"abcdef.toml",
        Oid::ZERO_SHA1,
    );
    let _ = tree::insert_entry(&mut edited, tree::Mode::Directory, b"ab", Oid::ZERO_SHA1);
}
