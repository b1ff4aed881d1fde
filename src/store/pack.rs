//! Writes a git pack of a batch's new objects, without a delta search.
//!
//! A batch of automation commits creates, per commit, a new `tickets/` tree
//! that differs from the previous one in a single entry: tens of kilobytes
//! repeated thousands of times. libgit2's pack builder finds the deltas by
//! searching, which dominated a run. Here the delta is known: a copy of the
//! common prefix, the few changed bytes, a copy of the common suffix. The
//! format is git's Documentation/gitformat-pack.txt (REF_DELTA entries,
//! bases earlier in the same pack, so the pack is never thin).

use std::io::{self, Write};

use flate2::{Compress, Compression, FlushCompress, Status};
use git2::{ObjectType, Oid};
use sha1::{Digest, Sha1};

/// A pack written as objects are added (into libgit2's pack writer, which
/// indexes it as it comes), so a batch of 10,000 commits never holds its
/// pack in memory. The header states the number of objects up front.
pub(super) struct Pack<W: Write> {
    out: W,
    hasher: Sha1,
    /// Objects still to come.
    left: u32,
    /// One object's entry, reused.
    entry: Vec<u8>,
}

const OBJ_COMMIT: u8 = 1;
const OBJ_TREE: u8 = 2;
const OBJ_BLOB: u8 = 3;
const OBJ_REF_DELTA: u8 = 7;

impl<W: Write> Pack<W> {
    /// Starts a pack of exactly `count` objects.
    pub(super) fn new(out: W, count: u32) -> io::Result<Self> {
        let mut pack = Self {
            out,
            hasher: Sha1::new(),
            left: count,
            entry: Vec::new(),
        };
        let mut header = b"PACK".to_vec();
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&count.to_be_bytes());
        pack.emit(&header)?;
        Ok(pack)
    }

    /// Adds an object in full.
    pub(super) fn add(&mut self, kind: ObjectType, data: &[u8]) -> io::Result<()> {
        self.entry.clear();
        self.header(code(kind), data.len())?;
        self.deflate(data)
    }

    /// Adds an object prepared with [`entry`].
    pub(super) fn add_entry(&mut self, entry: &[u8]) -> io::Result<()> {
        self.count_one()?;
        self.emit(entry)
    }

    /// Adds `data` as a delta against `base` (an object earlier in this
    /// pack with content `base_data`).
    pub(super) fn add_delta(&mut self, base: Oid, base_data: &[u8], data: &[u8]) -> io::Result<()> {
        let delta = delta(base_data, data);
        self.entry.clear();
        self.header(OBJ_REF_DELTA, delta.len())?;
        self.entry.extend_from_slice(base.as_bytes());
        self.deflate(&delta)
    }

    /// Writes the checksum; returns the sink and the pack's name (the hex
    /// checksum git names the files after). Refuses a pack that lacks some
    /// of the objects its header promised.
    pub(super) fn finish(mut self) -> io::Result<(W, String)> {
        if self.left != 0 {
            return Err(io::Error::other(format!(
                "pack short of {} objects",
                self.left
            )));
        }
        let checksum = std::mem::take(&mut self.hasher).finalize();
        self.out.write_all(&checksum)?;
        let name = checksum.iter().map(|b| format!("{b:02x}")).collect();
        Ok((self.out, name))
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

    /// Compresses `data` after the entry's header and writes the entry.
    fn deflate(&mut self, data: &[u8]) -> io::Result<()> {
        let mut entry = std::mem::take(&mut self.entry);
        compress(data, &mut entry);
        let written = self.emit(&entry);
        self.entry = entry;
        written
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.out.write_all(bytes)
    }
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
pub(super) fn entry(kind: ObjectType, data: &[u8]) -> Vec<u8> {
    let mut entry = Vec::new();
    entry_header(&mut entry, code(kind), data.len());
    compress(data, &mut entry);
    entry.shrink_to_fit();
    entry
}

thread_local! {
    /// One compressor per thread, reset for each object: a new one
    /// allocates a few hundred kilobytes of state, and doing that for every
    /// object of a 10,000-commit run left the allocator holding hundreds of
    /// megabytes.
    static COMPRESSOR: std::cell::RefCell<Compress> =
        std::cell::RefCell::new(Compress::new(Compression::fast(), true));
}

/// Appends the zlib stream of `data` to `out`.
fn compress(data: &[u8], out: &mut Vec<u8>) {
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
        full.add_entry(&entry(ObjectType::Blob, b"two")).unwrap();
        assert!(
            full.add(ObjectType::Blob, b"three").is_err(),
            "one too many"
        );
        let (bytes, name) = full.finish().unwrap();
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
