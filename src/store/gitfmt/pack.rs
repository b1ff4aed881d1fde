//! Writes a git pack of a batch's new objects, without a delta search.
//!
//! A batch of automation commits creates, per commit, a new `tickets/` tree
//! that differs from the previous one in a single entry: tens of kilobytes
//! repeated thousands of times. libgit2's pack builder finds the deltas by
//! searching, which dominated a run. Here the delta is known: a copy of the
//! common prefix, the few changed bytes, a copy of the common suffix. The
//! format is git's Documentation/gitformat-pack.txt (REF_DELTA entries,
//! bases earlier in the same pack, so the pack is never thin).
//!
//! The pack's index (`.idx`, version 2) is written here too: every object's
//! id, offset and CRC are known as it is added, so nothing has to read the
//! pack back to index it (libgit2's indexer did, holding tens of megabytes
//! for a large run).

use std::io::{self, Write};

use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use git2::{ObjectType, Oid};
use sha1::{Digest, Sha1};

/// A pack written as objects are added, so a batch of 10,000 commits never
/// holds its pack in memory. The header states the number of objects up
/// front.
pub(in crate::store) struct Pack<W: Write> {
    out: W,
    hasher: Sha1,
    /// Objects still to come.
    left: u32,
    /// Bytes written so far: the offset of the next entry.
    offset: u64,
    /// Id, offset and CRC-32 of every entry so far, for the index.
    objects: Vec<Indexed>,
    /// One object's entry, reused.
    entry: Vec<u8>,
}

/// What the pack index records of one object.
struct Indexed {
    id: Oid,
    offset: u64,
    crc: u32,
}

/// A finished pack: the sink it was written to, its name (the hex checksum
/// git names the files after) and its index file's content.
pub(in crate::store) struct Finished<W> {
    pub(in crate::store) out: W,
    pub(in crate::store) name: String,
    pub(in crate::store) index: Vec<u8>,
}

const OBJ_COMMIT: u8 = 1;
const OBJ_TREE: u8 = 2;
const OBJ_BLOB: u8 = 3;
const OBJ_REF_DELTA: u8 = 7;

impl<W: Write> Pack<W> {
    /// Starts a pack of exactly `count` objects.
    pub(in crate::store) fn new(out: W, count: u32) -> io::Result<Self> {
        let mut pack = Self {
            out,
            hasher: Sha1::new(),
            left: count,
            offset: 0,
            objects: Vec::with_capacity(count as usize),
            entry: Vec::new(),
        };
        let mut header = b"PACK".to_vec();
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&count.to_be_bytes());
        pack.emit(&header)?;
        Ok(pack)
    }

    /// Adds an object in full; returns its id.
    pub(in crate::store) fn add(&mut self, kind: ObjectType, data: &[u8]) -> io::Result<Oid> {
        let id = object_id(kind, data);
        self.entry.clear();
        self.header(code(kind), data.len())?;
        self.deflate(data, id)?;
        Ok(id)
    }

    /// Adds object `id`, prepared with [`entry`].
    pub(in crate::store) fn add_entry(&mut self, id: Oid, entry: &[u8]) -> io::Result<()> {
        self.count_one()?;
        self.record(id, entry);
        self.emit(entry)
    }

    /// Adds `data`, an object of `kind`, as a delta against `base` (an
    /// object earlier in this pack with content `base_data`); returns its
    /// id.
    pub(in crate::store) fn add_delta(
        &mut self,
        kind: ObjectType,
        base: Oid,
        base_data: &[u8],
        data: &[u8],
    ) -> io::Result<Oid> {
        let id = object_id(kind, data);
        let delta = delta(base_data, data);
        self.entry.clear();
        self.header(OBJ_REF_DELTA, delta.len())?;
        self.entry.extend_from_slice(base.as_bytes());
        self.deflate(&delta, id)?;
        Ok(id)
    }

    /// Writes the checksum and builds the index. Refuses a pack that lacks
    /// some of the objects its header promised.
    pub(in crate::store) fn finish(mut self) -> io::Result<Finished<W>> {
        if self.left != 0 {
            return Err(io::Error::other(format!(
                "pack short of {} objects",
                self.left
            )));
        }
        let checksum = std::mem::take(&mut self.hasher).finalize();
        self.out.write_all(&checksum)?;
        let name = checksum.iter().map(|b| format!("{b:02x}")).collect();
        self.objects
            .sort_by(|a, b| a.id.as_bytes().cmp(b.id.as_bytes()));
        if self.objects.windows(2).any(|pair| pair[0].id == pair[1].id) {
            // git refuses such a pack; a batch never writes an object twice.
            return Err(io::Error::other("an object is twice in the pack"));
        }
        let index = index_v2(&self.objects, &checksum);
        Ok(Finished {
            out: self.out,
            name,
            index,
        })
    }

    fn record(&mut self, id: Oid, entry: &[u8]) {
        let mut crc = Crc::new();
        crc.update(entry);
        self.objects.push(Indexed {
            id,
            offset: self.offset,
            crc: crc.sum(),
        });
    }

    fn count_one(&mut self) -> io::Result<()> {
        self.left = self
            .left
            .checked_sub(1)
            .ok_or_else(|| io::Error::other("more objects than the pack header says"))?;
        Ok(())
    }

    fn header(&mut self, code: u8, size: usize) -> io::Result<()> {
        self.count_one()?;
        entry_header(&mut self.entry, code, size);
        Ok(())
    }

    /// Compresses `data` after the entry's header and writes the entry of
    /// object `id`.
    fn deflate(&mut self, data: &[u8], id: Oid) -> io::Result<()> {
        let mut entry = std::mem::take(&mut self.entry);
        compress(data, &mut entry);
        self.record(id, &entry);
        let written = self.emit(&entry);
        self.entry = entry;
        written
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.offset += bytes.len() as u64;
        self.out.write_all(bytes)
    }
}

/// The git object id of `data` as an object of `kind`.
pub(in crate::store) fn object_id(kind: ObjectType, data: &[u8]) -> Oid {
    let mut hasher = Sha1::new();
    hasher.update(format!("{} {}\0", kind.str(), data.len()).as_bytes());
    hasher.update(data);
    // A SHA-1 digest is always 20 bytes.
    Oid::from_bytes(&hasher.finalize()).unwrap_or(Oid::ZERO_SHA1)
}

/// A pack index, version 2 (gitformat-pack.txt): a fan-out table of the
/// first id bytes, the ids (sorted), their CRC-32s and offsets (those past
/// 2 GiB in a table of their own), the pack's checksum, and the index's.
fn index_v2(objects: &[Indexed], pack_checksum: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1032 + objects.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for object in objects.iter() {
        fanout[usize::from(object.id.as_bytes()[0])] += 1;
    }
    let mut total = 0u32;
    for count in fanout {
        total += count;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for object in objects.iter() {
        out.extend_from_slice(object.id.as_bytes());
    }
    for object in objects.iter() {
        out.extend_from_slice(&object.crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for object in objects.iter() {
        let small = match u32::try_from(object.offset) {
            Ok(offset) if offset < 0x8000_0000 => offset,
            _ => {
                large.extend_from_slice(&object.offset.to_be_bytes());
                0x8000_0000 | (large.len() / 8 - 1) as u32
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    out.extend_from_slice(&large);
    out.extend_from_slice(pack_checksum);
    let checksum = Sha1::digest(&out);
    out.extend_from_slice(&checksum);
    out
}

fn code(kind: ObjectType) -> u8 {
    match kind {
        ObjectType::Commit => OBJ_COMMIT,
        ObjectType::Tree => OBJ_TREE,
        _ => OBJ_BLOB,
    }
}

/// An object's whole pack entry (type and size, then the compressed
/// data), to add later with [`Pack::add_entry`].
pub(in crate::store) fn entry(kind: ObjectType, data: &[u8]) -> Vec<u8> {
    let mut entry = Vec::new();
    entry_header(&mut entry, code(kind), data.len());
    compress(data, &mut entry);
    entry.shrink_to_fit();
    entry
}

/// The data of an entry made by [`entry`]: `None` when it is not one.
pub(in crate::store) fn inflate_entry(entry: &[u8]) -> Option<Vec<u8>> {
    let (mut size, mut shift, mut at) = (usize::from(entry.first()? & 0x0f), 4, 0);
    while entry.get(at)? & 0x80 != 0 {
        at += 1;
        size |= usize::from(entry.get(at)? & 0x7f).checked_shl(shift)?;
        shift += 7;
    }
    let mut data = Vec::with_capacity(size);
    let mut inflater = flate2::Decompress::new(true);
    let status = inflater
        .decompress_vec(&entry[at + 1..], &mut data, flate2::FlushDecompress::Finish)
        .ok()?;
    (status == Status::StreamEnd && data.len() == size).then_some(data)
}

thread_local! {
    /// One compressor per thread, reset for each object: a new one
    /// allocates a few hundred kilobytes of state, and doing that for every
    /// object of a large run left the allocator holding far more memory
    /// than the run needed.
    static COMPRESSOR: std::cell::RefCell<Compress> =
        std::cell::RefCell::new(Compress::new(Compression::fast(), true));
}

/// Appends the zlib stream of `data` to `out`.
pub(super) fn compress(data: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    let done = COMPRESSOR.with_borrow_mut(|compressor| {
        compressor.reset();
        out.reserve(data.len() / 2 + 64);
        loop {
            let Ok(read) = usize::try_from(compressor.total_in()) else {
                return false;
            };
            match compressor.compress_vec(&data[read..], out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => return true,
                // The output was full: make room and go on.
                Ok(_) => out.reserve(out.capacity().max(64)),
                Err(_) => return false,
            }
        }
    });
    if !done {
        // Not expected with memory to write to; a fresh encoder then.
        out.truncate(start);
        let mut encoder = flate2::write::ZlibEncoder::new(out, Compression::fast());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(data);
        let _ = encoder.finish();
    }
}

/// An entry's type and size: four bits of size in the first byte, then
/// seven a byte.
fn entry_header(out: &mut Vec<u8>, code: u8, size: usize) {
    let mut size = size;
    let mut byte = (code << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
}

/// git's delta encoding of `target` from `base`: copy the common prefix,
/// insert what differs, copy the common suffix.
fn delta(base: &[u8], target: &[u8]) -> Vec<u8> {
    let prefix = base.iter().zip(target).take_while(|(a, b)| a == b).count();
    let max_suffix = base.len().min(target.len()) - prefix;
    let suffix = base
        .iter()
        .rev()
        .zip(target.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = Vec::with_capacity(64 + target.len() - prefix - suffix);
    varint(&mut out, base.len());
    varint(&mut out, target.len());
    copy(&mut out, 0, prefix);
    for chunk in target[prefix..target.len() - suffix].chunks(0x7f) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    copy(&mut out, base.len() - suffix, suffix);
    out
}

fn varint(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Copy instructions for `len` bytes at `offset` of the base (split into
/// pieces of at most 0xffffff bytes, the format's limit).
fn copy(out: &mut Vec<u8>, mut offset: usize, mut len: usize) {
    while len > 0 {
        let piece = len.min(0x00ff_ffff);
        let mut op = 0x80u8;
        let mut args = Vec::with_capacity(7);
        for i in 0..4 {
            let byte = ((offset >> (8 * i)) & 0xff) as u8;
            if byte != 0 {
                op |= 1 << i;
                args.push(byte);
            }
        }
        for i in 0..3 {
            let byte = ((piece >> (8 * i)) & 0xff) as u8;
            if byte != 0 {
                op |= 1 << (4 + i);
                args.push(byte);
            }
        }
        out.push(op);
        out.extend_from_slice(&args);
        offset += piece;
        len -= piece;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies a delta the way git does, to check the encoder.
    fn apply(base: &[u8], delta: &[u8]) -> Vec<u8> {
        let mut at = 0;
        let mut read_varint = || {
            let (mut value, mut shift) = (0usize, 0);
            loop {
                let byte = delta[at];
                at += 1;
                value |= usize::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    return value;
                }
            }
        };
        assert_eq!(read_varint(), base.len());
        let size = read_varint();
        let mut out = Vec::new();
        while at < delta.len() {
            let op = delta[at];
            at += 1;
            if op & 0x80 != 0 {
                let (mut offset, mut len) = (0usize, 0usize);
                for i in 0..4 {
                    if op & (1 << i) != 0 {
                        offset |= usize::from(delta[at]) << (8 * i);
                        at += 1;
                    }
                }
                for i in 0..3 {
                    if op & (1 << (4 + i)) != 0 {
                        len |= usize::from(delta[at]) << (8 * i);
                        at += 1;
                    }
                }
                if len == 0 {
                    len = 0x10000;
                }
                out.extend_from_slice(&base[offset..offset + len]);
            } else {
                let n = usize::from(op);
                out.extend_from_slice(&delta[at..at + n]);
                at += n;
            }
        }
        assert_eq!(out.len(), size);
        out
    }

    #[test]
    fn a_pack_holds_exactly_the_objects_its_header_promised() {
        let mut short = Pack::new(Vec::new(), 2).unwrap();
        short.add(ObjectType::Blob, b"one").unwrap();
        assert!(short.finish().is_err(), "one object short");
        let mut full = Pack::new(Vec::new(), 2).unwrap();
        full.add(ObjectType::Blob, b"one").unwrap();
        let two = object_id(ObjectType::Blob, b"two");
        full.add_entry(two, &entry(ObjectType::Blob, b"two"))
            .unwrap();
        assert!(
            full.add(ObjectType::Blob, b"three").is_err(),
            "one too many"
        );
        let Finished {
            out: bytes, name, ..
        } = full.finish().unwrap();
        assert_eq!(&bytes[..12], b"PACK\0\0\0\x02\0\0\0\x02");
        let checksum: String = bytes[bytes.len() - 20..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(name, checksum);
        assert_eq!(
            Sha1::digest(&bytes[..bytes.len() - 20])[..],
            bytes[bytes.len() - 20..]
        );
    }

    /// The index written beside the pack is the one git itself builds
    /// from the pack, byte for byte, and git reads every object back.
    #[test]
    fn the_pack_index_is_the_one_git_builds() {
        let dir = tempfile::tempdir().unwrap();
        let blobs: Vec<Vec<u8>> = (0..300u32)
            .map(|i| format!("ticket {i}\n{}", "body ".repeat(i as usize % 40)).into_bytes())
            .collect();
        let tree_a: Vec<u8> = (0..200u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let mut tree_b = tree_a.clone();
        tree_b[500..510].copy_from_slice(b"0123456789");
        let mut pack = Pack::new(Vec::new(), blobs.len() as u32 + 3).unwrap();
        let mut ids = Vec::new();
        for (i, blob) in blobs.iter().enumerate() {
            let id = object_id(ObjectType::Blob, blob);
            if i % 2 == 0 {
                pack.add_entry(id, &entry(ObjectType::Blob, blob)).unwrap();
            } else {
                assert_eq!(pack.add(ObjectType::Blob, blob).unwrap(), id);
            }
            ids.push(id);
        }
        let a = pack.add(ObjectType::Blob, &tree_a).unwrap();
        let b = pack
            .add_delta(ObjectType::Blob, a, &tree_a, &tree_b)
            .unwrap();
        assert_eq!(b, object_id(ObjectType::Blob, &tree_b));
        let commit = pack
            .add(
                ObjectType::Commit,
                b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\n",
            )
            .unwrap();
        let finished = pack.finish().unwrap();
        let pack_file = dir.path().join("test.pack");
        std::fs::write(&pack_file, &finished.out).unwrap();
        let git_idx = dir.path().join("git.idx");
        let status = std::process::Command::new("git")
            .args(["index-pack", "-o"])
            .arg(&git_idx)
            .arg(&pack_file)
            .output()
            .unwrap();
        assert!(status.status.success(), "{status:?}");
        assert!(
            std::fs::read(&git_idx).unwrap() == finished.index,
            "the index differs from git's"
        );
        let ours = dir.path().join("test.idx");
        std::fs::write(&ours, &finished.index).unwrap();
        let listed = std::process::Command::new("git")
            .args(["verify-pack", "-v"])
            .arg(&ours)
            .output()
            .unwrap();
        assert!(listed.status.success(), "{listed:?}");
        let listed = String::from_utf8(listed.stdout).unwrap();
        for id in ids.iter().chain([&a, &b, &commit]) {
            assert!(listed.contains(&id.to_string()), "{id} missing");
        }
    }

    #[test]
    fn a_pack_refuses_an_object_twice() {
        let mut pack = Pack::new(Vec::new(), 2).unwrap();
        pack.add(ObjectType::Blob, b"same").unwrap();
        pack.add(ObjectType::Blob, b"same").unwrap();
        assert!(pack.finish().is_err());
    }

    #[test]
    fn entries_inflate_back_to_their_data() {
        for size in [0usize, 1, 15, 16, 2047, 70_000] {
            let data: Vec<u8> = (0..size).map(|i| (i % 199) as u8).collect();
            assert_eq!(inflate_entry(&entry(ObjectType::Blob, &data)), Some(data));
        }
        let mut broken = entry(ObjectType::Blob, b"some text");
        broken.truncate(broken.len() - 3);
        assert_eq!(inflate_entry(&broken), None);
        assert_eq!(inflate_entry(&[]), None);
    }

    #[test]
    fn offsets_past_2_gib_go_to_the_large_offset_table() {
        let id = |b: u8| Oid::from_bytes(&[b; 20]).unwrap();
        let objects = [
            Indexed {
                id: id(1),
                offset: 12,
                crc: 5,
            },
            Indexed {
                id: id(9),
                offset: 0x1_2345_6789,
                crc: 7,
            },
        ];
        let index = index_v2(&objects, &[0; 20]);
        let word = |at: usize| u32::from_be_bytes(index[at..at + 4].try_into().unwrap());
        let table = 8 + 1024;
        assert_eq!(word(table - 4), 2, "two objects in the fan-out");
        assert_eq!(word(8 + 4), 1, "one id starts with byte 1");
        let crcs = table + 40;
        assert_eq!((word(crcs), word(crcs + 4)), (5, 7));
        let offsets = crcs + 8;
        assert_eq!(word(offsets), 12);
        assert_eq!(word(offsets + 4), 0x8000_0000, "first large offset");
        let large = u64::from_be_bytes(index[offsets + 8..offsets + 16].try_into().unwrap());
        assert_eq!(large, 0x1_2345_6789);
        assert_eq!(index.len(), offsets + 16 + 40);
    }

    #[test]
    fn deltas_rebuild_the_target() {
        let base: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        let mut target = base.clone();
        target[40_000..40_020].copy_from_slice(&[7; 20]);
        target.extend_from_slice(b"tail");
        for (b, t) in [(&base, &target), (&target, &base), (&base, &base.clone())] {
            assert_eq!(&apply(b, &delta(b, t)), t);
        }
        let inserted: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        assert_eq!(apply(b"abc", &delta(b"abc", &inserted)), inserted);
        assert_eq!(apply(b"", &delta(b"", b"xyz")), b"xyz");
    }
}
