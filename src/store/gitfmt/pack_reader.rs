//! Reading blobs straight from git's pack files, for bulk reads.
//!
//! libgit2 maps each pack file whole and keeps every page it touched mapped
//! while the repository is open, so a scan of a large desk held most of
//! the pack in the process (its window sizes can only be set through
//! `unsafe` functions). A bulk read instead uses [`PackSet`]: it reads each
//! pack's `.idx` once, then each object with one positioned read and
//! inflates it, applying delta chains with a small cache of bases. Whatever
//! it cannot read (loose objects, other index versions, anything odd) it
//! leaves to libgit2 by returning `None`. The formats: git's
//! Documentation/gitformat-pack.txt.

use std::cell::OnceCell;
use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::rc::Rc;

use git2::{ObjectType, Oid};

/// The packs of a repository, with their indexes in memory; shared by the
/// threads of a scan, each reading through its own [`Reader`].
pub(in crate::store) struct PackSet {
    packs: Vec<Pack>,
}

struct Pack {
    file: File,
    /// The whole `.idx` file (version 2).
    idx: Vec<u8>,
    count: usize,
}

/// No packs: every read goes to libgit2.
static NONE: PackSet = PackSet { packs: Vec::new() };

/// Fewer objects than this are not worth reading the pack indexes for.
const BULK: usize = 256;

/// The packs to read `count` objects from: those of `git_dir`, read into
/// `cell` the first time a command reads in bulk; none for a few objects.
pub(in crate::store) fn for_reading<'a>(
    cell: &'a OnceCell<PackSet>,
    git_dir: &Path,
    count: usize,
) -> &'a PackSet {
    if count < BULK {
        &NONE
    } else {
        cell.get_or_init(|| PackSet::open(git_dir))
    }
}

/// Object types in a pack.
const COMMIT: u8 = 1;
const TREE: u8 = 2;
const BLOB: u8 = 3;
const OFS_DELTA: u8 = 6;
const REF_DELTA: u8 = 7;

/// The most memory reserved up front from a size a pack entry states.
const MAX_RESERVE: usize = 8 << 20;

/// The longest delta chain followed (git writes at most 50 by default).
const MAX_CHAIN: usize = 4096;

impl PackSet {
    /// Opens the packs under `git_dir/objects/pack`; packs it cannot use are
    /// left out (their objects then come from libgit2).
    pub(in crate::store) fn open(git_dir: &Path) -> Self {
        let dir = git_dir.join("objects").join("pack");
        let mut packs = Vec::new();
        let Ok(entries) = fs::read_dir(&dir) else {
            return Self { packs };
        };
        let mut names: Vec<_> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "idx"))
            .collect();
        names.sort();
        for idx_path in names {
            if let Some(pack) = Pack::open(&idx_path) {
                packs.push(pack);
            }
        }
        Self { packs }
    }

    /// A reader with its own cache of delta bases.
    pub(in crate::store) fn reader(&self) -> Reader<'_> {
        Reader {
            set: self,
            cache: BaseCache::default(),
        }
    }

    /// Finds `oid`: the pack it is in and its offset there.
    fn find(&self, oid: &Oid) -> Option<(usize, u64)> {
        self.packs
            .iter()
            .enumerate()
            .find_map(|(i, pack)| pack.offset_of(oid).map(|offset| (i, offset)))
    }
}

impl Pack {
    fn open(idx_path: &Path) -> Option<Self> {
        let idx = fs::read(idx_path).ok()?;
        // A v2 index: magic, version, 256 fan-out counts, then the tables.
        if idx.get(..8)? != b"\xfftOc\0\0\0\x02" {
            return None;
        }
        let count = be32(&idx, 8 + 255 * 4)? as usize;
        // Names, CRCs and offsets, then the pack's and the index's checksums.
        if idx.len() < 8 + 1024 + count * 28 + 40 {
            return None;
        }
        let file = File::open(idx_path.with_extension("pack")).ok()?;
        Some(Self { file, idx, count })
    }

    /// Where `oid` starts in the pack, if this pack has it.
    fn offset_of(&self, oid: &Oid) -> Option<u64> {
        let name = oid.as_bytes();
        let first = usize::from(name[0]);
        let start = if first == 0 {
            0
        } else {
            be32(&self.idx, 8 + (first - 1) * 4)? as usize
        };
        let end = be32(&self.idx, 8 + first * 4)? as usize;
        let names = 8 + 1024;
        let (mut lo, mut hi) = (start, end.min(self.count));
        while lo < hi {
            let mid = (lo + hi) / 2;
            let at = names + mid * 20;
            match self.idx.get(at..at + 20)?.cmp(name) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return self.offset_at(mid),
            }
        }
        None
    }

    fn offset_at(&self, position: usize) -> Option<u64> {
        let offsets = 8 + 1024 + self.count * 24;
        let small = be32(&self.idx, offsets + position * 4)?;
        if small & 0x8000_0000 == 0 {
            return Some(u64::from(small));
        }
        // Offsets past 2 GiB are in a table of 64-bit values.
        let large = offsets + self.count * 4 + (small & 0x7fff_ffff) as usize * 8;
        let bytes = self.idx.get(large..large + 8)?;
        Some(u64::from_be_bytes(bytes.try_into().ok()?))
    }
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Reads objects from a [`PackSet`]; one per thread.
pub(in crate::store) struct Reader<'a> {
    set: &'a PackSet,
    cache: BaseCache,
}

impl Reader<'_> {
    /// The content of blob `oid`, or `None` when it is not in a pack this
    /// reader can read (the caller then asks libgit2).
    pub(in crate::store) fn blob(&mut self, oid: &Oid) -> Option<Vec<u8>> {
        self.typed(oid, BLOB)
    }

    /// The raw content of tree `oid` (see [`Self::blob`]).
    pub(in crate::store) fn tree(&mut self, oid: &Oid) -> Option<Vec<u8>> {
        self.typed(oid, TREE)
    }

    /// The raw content of commit `oid` (see [`Self::blob`]).
    pub(in crate::store) fn commit(&mut self, oid: &Oid) -> Option<Vec<u8>> {
        self.typed(oid, COMMIT)
    }

    /// The entries of tree `oid` (see [`Self::blob`]).
    pub(in crate::store) fn tree_entries(&mut self, oid: &Oid) -> Option<Vec<TreeEntry>> {
        parse_tree(&self.typed(oid, TREE)?)
    }

    fn typed(&mut self, oid: &Oid, want: u8) -> Option<Vec<u8>> {
        let (pack, offset) = self.set.find(oid)?;
        let (kind, data) = self.object(pack, offset)?;
        (kind == want).then(|| Rc::try_unwrap(data).unwrap_or_else(|rc| (*rc).clone()))
    }

    /// An object's type and content, resolving deltas: the chain is
    /// followed down to a whole object (or a cached base), then the deltas
    /// are applied back up.
    fn object(&mut self, pack: usize, offset: u64) -> Option<Object> {
        let mut chain: Vec<(usize, u64, Vec<u8>)> = Vec::new();
        let (mut pack, mut offset) = (pack, offset);
        let (kind, mut data) = loop {
            if chain.len() > MAX_CHAIN {
                return None;
            }
            if let Some(hit) = self.cache.get(pack, offset) {
                break hit;
            }
            let entry = read_entry(&self.set.packs[pack].file, offset)?;
            match entry.base {
                Base::None => {
                    let data = Rc::new(entry.data);
                    break (entry.kind, data);
                }
                Base::Offset(base) => {
                    chain.push((pack, offset, entry.data));
                    offset = base;
                }
                Base::Id(base) => {
                    chain.push((pack, offset, entry.data));
                    (pack, offset) = self.set.find(&base)?;
                }
            }
        };
        while let Some((at_pack, at_offset, delta)) = chain.pop() {
            // Cache the bases, which other deltas are likely to share.
            self.cache.put(pack, offset, kind, &data);
            data = Rc::new(apply_delta(&data, &delta)?);
            (pack, offset) = (at_pack, at_offset);
        }
        Some((kind, data))
    }
}

/// Finds entry `name` in a raw tree object (`<mode> <name>\0<20-byte id>`
/// repeated): its mode, and the offset of its id.
fn find_entry<'a>(data: &'a [u8], name: &[u8]) -> Option<(&'a [u8], usize)> {
    for entry in raw_entries(data) {
        let entry = entry?;
        if entry.name == name {
            return Some((entry.mode, entry.id_at));
        }
    }
    None
}

/// The offset of the id of entry `name` in a raw tree object.
pub(in crate::store) fn entry_offset(data: &[u8], name: &[u8]) -> Option<usize> {
    find_entry(data, name).map(|(_, at)| at)
}

/// The kind and id of entry `name` in a raw tree object, read from its
/// mode as libgit2 does: a directory, a submodule, else a file.
pub(in crate::store) fn entry_kind_id(data: &[u8], name: &[u8]) -> Option<(ObjectType, Oid)> {
    let (mode, at) = find_entry(data, name)?;
    let mode = mode_bits(mode)?;
    let kind = match mode & 0o170_000 {
        0o040_000 => ObjectType::Tree,
        0o160_000 => ObjectType::Commit,
        _ => ObjectType::Blob,
    };
    Some((kind, Oid::from_bytes(&data[at..at + 20]).ok()?))
}

/// One entry of a tree object.
#[derive(Clone)]
pub(in crate::store) struct TreeEntry {
    /// Its name (empty when not UTF-8, as libgit2's `name()` gives it).
    pub(in crate::store) name: String,
    pub(in crate::store) id: Oid,
    mode: u32,
}

impl TreeEntry {
    /// Tells whether the entry is a file (or symbolic link), as libgit2's
    /// `kind()` tells a blob: not a directory and not a submodule.
    pub(in crate::store) fn is_blob(&self) -> bool {
        !matches!(self.mode & 0o170000, 0o040000 | 0o160000)
    }
}

/// Splits a raw tree object: `<mode> <name>\0<20-byte id>` per entry.
pub(in crate::store) fn parse_tree(raw: &[u8]) -> Option<Vec<TreeEntry>> {
    raw_entries(raw)
        .map(|entry| {
            let entry = entry?;
            let mode = entry.mode_bits()?;
            let name = String::from_utf8(entry.name.to_vec()).unwrap_or_default();
            let id = Oid::from_bytes(&raw[entry.id_at..entry.id_at + 20]).ok()?;
            Some(TreeEntry { name, id, mode })
        })
        .collect()
}

/// One entry of a raw tree object, borrowed from it.
pub(super) struct RawEntry<'a> {
    pub(super) mode: &'a [u8],
    pub(super) name: &'a [u8],
    /// Where the entry starts in the tree.
    pub(super) start: usize,
    /// Where its 20-byte id starts in the tree.
    pub(super) id_at: usize,
}

impl RawEntry<'_> {
    /// Its mode as a number (git writes it in octal); `None` when it is
    /// not one.
    pub(super) fn mode_bits(&self) -> Option<u32> {
        mode_bits(self.mode)
    }
}

/// A tree entry's octal mode text as a number.
fn mode_bits(text: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(text).ok()?, 8).ok()
}

/// The entries of a raw tree object (`<mode> <name>\0<20-byte id>` each),
/// without allocating; yields `None`, and stops, at bytes that are not an
/// entry.
pub(super) fn raw_entries(data: &[u8]) -> impl Iterator<Item = Option<RawEntry<'_>>> {
    let mut at = 0;
    let mut broken = false;
    std::iter::from_fn(move || {
        if broken || at >= data.len() {
            return None;
        }
        let entry = (|| {
            let space = at + data[at..].iter().position(|b| *b == b' ')?;
            let nul = space + data[space..].iter().position(|b| *b == 0)?;
            (nul + 21 <= data.len()).then(|| RawEntry {
                mode: &data[at..space],
                start: at,
                name: &data[space + 1..nul],
                id_at: nul + 1,
            })
        })();
        match &entry {
            Some(found) => at = found.id_at + 20,
            None => broken = true,
        }
        Some(entry)
    })
}

/// What an object in a pack is stored against.
enum Base {
    None,
    Offset(u64),
    Id(Oid),
}

/// One pack entry: its type, what its delta applies to, and its inflated
/// data (the object, or the delta).
struct Entry {
    kind: u8,
    base: Base,
    data: Vec<u8>,
}

fn read_entry(file: &File, offset: u64) -> Option<Entry> {
    let mut head = [0u8; 32];
    let got = read_some(file, &mut head, offset)?;
    let head = &head[..got];
    let mut at = 0;
    let mut byte = *head.get(at)?;
    at += 1;
    let mut kind = (byte >> 4) & 7;
    let mut size = u64::from(byte & 0x0f);
    let mut shift = 4;
    while byte & 0x80 != 0 {
        byte = *head.get(at)?;
        at += 1;
        if shift > 57 {
            return None;
        }
        size |= u64::from(byte & 0x7f) << shift;
        shift += 7;
    }
    let base = match kind {
        OFS_DELTA => {
            byte = *head.get(at)?;
            at += 1;
            let mut back = u64::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = *head.get(at)?;
                at += 1;
                back = back.checked_add(1)?.checked_mul(128)? | u64::from(byte & 0x7f);
            }
            Base::Offset(offset.checked_sub(back)?)
        }
        REF_DELTA => {
            let id = Oid::from_bytes(head.get(at..at + 20)?).ok()?;
            at += 20;
            Base::Id(id)
        }
        1..=4 => Base::None,
        _ => return None,
    };
    if !matches!(base, Base::None) {
        kind = 0; // a delta's own type does not matter once applied
    }
    let size = usize::try_from(size).ok()?;
    let data = inflate(file, offset + at as u64, size)?;
    Some(Entry { kind, base, data })
}

/// Reads up to `buf.len()` bytes at `offset` (fewer at the end of the file).
fn read_some(file: &File, buf: &mut [u8], offset: u64) -> Option<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(got)
}

/// Inflates the zlib stream at `offset`, which must give exactly `size`
/// bytes. The compressed length is not stored, so it reads a little more
/// than deflate's worst case for `size` bytes, and reads on if that was
/// not enough.
fn inflate(file: &File, offset: u64, size: usize) -> Option<Vec<u8>> {
    // One byte to spare: more output than `size` is a broken entry. A size
    // from a damaged pack can be anything: reserve at most a few megabytes
    // up front and let the buffers grow with what the stream really holds.
    let mut out = Vec::with_capacity(size.min(MAX_RESERVE) + 1);
    let mut inflater = flate2::Decompress::new(true);
    let mut input = vec![0u8; (size + size / 64 + 64).min(MAX_RESERVE)];
    let mut at = offset;
    loop {
        let got = read_some(file, &mut input, at)?;
        let (before_in, before_out) = (inflater.total_in(), out.len());
        let status = inflater
            .decompress_vec(&input[..got], &mut out, flate2::FlushDecompress::None)
            .ok()?;
        if status == flate2::Status::StreamEnd {
            break;
        }
        let used = inflater.total_in() - before_in;
        if out.len() > size {
            return None;
        }
        if out.len() == out.capacity() {
            // Room for the rest (a large object beyond the first reserve).
            out.reserve((size + 1 - out.len()).min(MAX_RESERVE));
        } else if used == 0 && out.len() == before_out {
            return None; // no progress: truncated or broken
        }
        at += used;
    }
    (out.len() == size).then_some(out)
}

/// Applies a git delta to `base` (patch-delta.c).
fn apply_delta(base: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0;
    let mut size = || -> Option<usize> {
        let mut value = 0usize;
        let mut shift = 0;
        loop {
            let byte = *delta.get(at)?;
            at += 1;
            value |= usize::from(byte & 0x7f).checked_shl(shift)?;
            shift += 7;
            if byte & 0x80 == 0 {
                return Some(value);
            }
            if shift > 63 {
                return None;
            }
        }
    };
    let (base_size, result_size) = (size()?, size()?);
    if base_size != base.len() {
        return None;
    }
    let mut out = Vec::with_capacity(result_size.min(MAX_RESERVE));
    while at < delta.len() {
        let op = delta[at];
        at += 1;
        if op & 0x80 != 0 {
            // Copy from the base: offset and size bytes as the op says.
            let mut field = |bits: u8, shifts: &[u32]| -> Option<usize> {
                let mut value = 0usize;
                for (i, shift) in shifts.iter().enumerate() {
                    if bits & (1 << i) != 0 {
                        value |= usize::from(*delta.get(at)?) << shift;
                        at += 1;
                    }
                }
                Some(value)
            };
            let offset = field(op & 0x0f, &[0, 8, 16, 24])?;
            let len = match field((op >> 4) & 0x07, &[0, 8, 16])? {
                0 => 0x10000,
                len => len,
            };
            out.extend_from_slice(base.get(offset..offset.checked_add(len)?)?);
        } else if op != 0 {
            // Insert the next `op` bytes.
            let len = usize::from(op);
            out.extend_from_slice(delta.get(at..at + len)?);
            at += len;
        } else {
            return None; // reserved
        }
        if out.len() > result_size {
            return None;
        }
    }
    (out.len() == result_size).then_some(out)
}

/// Where an object is: the pack and the offset in it.
type Place = (usize, u64);

/// An object's type and content.
type Object = (u8, Rc<Vec<u8>>);

/// Recently used delta bases, up to a byte budget, oldest dropped first.
#[derive(Default)]
struct BaseCache {
    map: HashMap<Place, Object>,
    order: VecDeque<Place>,
    bytes: usize,
}

impl BaseCache {
    /// Per reader: enough for the bases of a run of tickets.
    const BUDGET: usize = 8 << 20;

    fn get(&self, pack: usize, offset: u64) -> Option<Object> {
        self.map
            .get(&(pack, offset))
            .map(|(kind, data)| (*kind, Rc::clone(data)))
    }

    fn put(&mut self, pack: usize, offset: u64, kind: u8, data: &Rc<Vec<u8>>) {
        if data.len() > Self::BUDGET / 4 || self.map.contains_key(&(pack, offset)) {
            return;
        }
        while self.bytes + data.len() > Self::BUDGET {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some((_, gone)) = self.map.remove(&old) {
                self.bytes -= gone.len();
            }
        }
        self.bytes += data.len();
        self.order.push_back((pack, offset));
        self.map.insert((pack, offset), (kind, Rc::clone(data)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .current_dir(dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "-c",
                "gc.auto=0",
            ])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    /// Every blob read from the packs equals what libgit2 reads, with
    /// deltas against offsets and against ids, and loose objects left to
    /// libgit2.
    #[test]
    fn reads_every_blob_as_libgit2_does() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        let mut rng = fastrand::Rng::with_seed(3);
        let words = ["printer", "refund", "login", "the", "is", "broken", "\n"];
        let mut texts: Vec<String> = (0..40).map(|file| format!("# file {file}\n")).collect();
        for round in 0..6 {
            // Files grow as tickets do, so repacking stores deltas.
            for (file, text) in texts.iter_mut().enumerate() {
                for _ in 0..rng.usize(20..200) {
                    text.push_str(words[rng.usize(..words.len())]);
                    text.push(' ');
                }
                // Large files too, so sizes take several header bytes.
                let mut content = text.clone();
                if file % 13 == 0 {
                    content.push_str(&"x".repeat(70_000 + round));
                }
                std::fs::write(root.join(format!("f{file}.txt")), content).unwrap();
            }
            git(root, &["add", "-A"]);
            git(root, &["commit", "-qm", "round"]);
        }
        let blobs = |root: &Path| {
            let repo = git2::Repository::open(root).unwrap();
            let mut ids = Vec::new();
            repo.odb()
                .unwrap()
                .foreach(|id| {
                    ids.push(*id);
                    true
                })
                .unwrap();
            let blobs: Vec<(Oid, Vec<u8>)> = ids
                .into_iter()
                .filter_map(|id| {
                    let blob = repo.find_blob(id).ok()?;
                    Some((id, blob.content().to_vec()))
                })
                .collect();
            blobs
        };
        for (repack, delta) in [
            (&["gc", "-q", "--aggressive"][..], OFS_DELTA),
            (
                &["-c", "repack.useDeltaBaseOffset=false", "repack", "-qadf"],
                REF_DELTA,
            ),
        ] {
            git(root, repack);
            let set = PackSet::open(&root.join(".git"));
            let mut reader = set.reader();
            let all = blobs(root);
            assert!(all.len() > 200, "{}", all.len());
            let mut deltas = 0;
            for (id, content) in &all {
                let (pack, offset) = set.find(id).expect("packed");
                let head = read_entry(&set.packs[pack].file, offset).unwrap();
                let stored = [0, head.kind, OFS_DELTA, REF_DELTA];
                let kind = match head.base {
                    Base::None => 1,
                    Base::Offset(_) => 2,
                    Base::Id(_) => 3,
                };
                deltas += usize::from(stored[kind] == delta);
                assert_eq!(reader.blob(id).as_ref(), Some(content), "{id}");
            }
            assert!(deltas > 100, "only {deltas} deltas of type {delta}");
        }
        // A loose object is not in a pack: the caller asks libgit2.
        std::fs::write(root.join("loose.txt"), "new").unwrap();
        git(root, &["add", "loose.txt"]);
        let repo = git2::Repository::open(root).unwrap();
        let loose = repo
            .index()
            .unwrap()
            .get_path(Path::new("loose.txt"), 0)
            .unwrap()
            .id;
        assert_eq!(
            PackSet::open(&root.join(".git")).reader().blob(&loose),
            None
        );
    }

    #[test]
    fn reads_a_blob_larger_than_the_first_reserve() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        let big: String = (0..MAX_RESERVE / 8 + 1000)
            .map(|i| format!("{:07}\n", i % 9_999_991))
            .collect();
        std::fs::write(root.join("big.txt"), &big).unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "big"]);
        git(root, &["gc", "-q"]);
        let repo = git2::Repository::open(root).unwrap();
        let id = repo
            .head()
            .unwrap()
            .peel_to_tree()
            .unwrap()
            .get_name("big.txt")
            .unwrap()
            .id();
        let set = PackSet::open(&root.join(".git"));
        assert_eq!(set.reader().blob(&id).as_deref(), Some(big.as_bytes()));
    }

    #[test]
    fn deltas_copy_and_insert() {
        let base = b"hello, world";
        // base size 12, result size 12: copy 7 bytes at 0, insert "there".
        let delta = [12, 12, 0x90, 7, 5, b't', b'h', b'e', b'r', b'e'];
        assert_eq!(apply_delta(base, &delta).unwrap(), b"hello, there");
        let wrong_base = [13, 11, 0x90, 7];
        assert_eq!(apply_delta(base, &wrong_base), None);
        let past_end = [12, 20, 0x91, 8, 20];
        assert_eq!(apply_delta(base, &past_end), None);
        assert_eq!(apply_delta(base, &[12, 0, 0]), None, "op 0 is reserved");
    }
}
