//! Writes a git pack of a batch's new objects, without a delta search.
//!
//! A batch of automation commits creates, per commit, a new `tickets/` tree
//! that differs from the previous one in a single entry: tens of kilobytes
//! repeated thousands of times. libgit2's pack builder finds the deltas by
//! searching, which dominated a run. Here the delta is known: a copy of the
//! common prefix, the few changed bytes, a copy of the common suffix. The
//! format is git's Documentation/gitformat-pack.txt (REF_DELTA entries,
//! bases earlier in the same pack, so the pack is never thin).

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use git2::{ObjectType, Oid};
use sha1::{Digest, Sha1};

/// A pack being built in memory.
pub(super) struct Pack {
    body: Vec<u8>,
    count: u32,
}

const OBJ_COMMIT: u8 = 1;
const OBJ_TREE: u8 = 2;
const OBJ_BLOB: u8 = 3;
const OBJ_REF_DELTA: u8 = 7;

impl Pack {
    pub(super) fn new() -> Self {
        Self {
            body: Vec::new(),
            count: 0,
        }
    }

    /// Tells whether no object was added.
    pub(super) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds an object in full.
    pub(super) fn add(&mut self, kind: ObjectType, data: &[u8]) {
        let code = match kind {
            ObjectType::Commit => OBJ_COMMIT,
            ObjectType::Tree => OBJ_TREE,
            _ => OBJ_BLOB,
        };
        self.header(code, data.len());
        self.deflate(data);
    }

    /// Adds `data` as a delta against `base` (an object earlier in this
    /// pack with content `base_data`).
    pub(super) fn add_delta(&mut self, base: Oid, base_data: &[u8], data: &[u8]) {
        let delta = delta(base_data, data);
        self.header(OBJ_REF_DELTA, delta.len());
        self.body.extend_from_slice(base.as_bytes());
        self.deflate(&delta);
    }

    /// Returns the finished pack: header, objects, checksum.
    pub(super) fn finish(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 32);
        out.extend_from_slice(b"PACK");
        out.extend_from_slice(&2u32.to_be_bytes());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(&self.body);
        let checksum = Sha1::digest(&out);
        out.extend_from_slice(&checksum);
        out
    }

    fn header(&mut self, code: u8, size: usize) {
        self.count += 1;
        let mut size = size;
        let mut byte = (code << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            self.body.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        self.body.push(byte);
    }

    fn deflate(&mut self, data: &[u8]) {
        let mut encoder = ZlibEncoder::new(&mut self.body, Compression::fast());
        // Writing into a Vec cannot fail.
        let _ = encoder.write_all(data);
        let _ = encoder.finish();
    }
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
