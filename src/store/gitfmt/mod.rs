//! git's own file formats, written by hand where libgit2 was too slow or
//! held too much memory at 100,000 tickets (docs/storage.md says why for
//! each, with the figures in docs/benchmarks.md).
//!
//! Everything here is a reader or writer of bytes git defines; nothing
//! decides what a desk holds. Each file follows one part of git's
//! documentation and is tested against git or libgit2 themselves:
//!
//! | file | follows | tested against |
//! |---|---|---|
//! | `index.rs` | `Documentation/gitformat-index.txt` (versions 2-4, the `link`, `sdir`, `UNTR` and cache-tree extensions it must drop or keep) | the index `git add` writes (`git ls-files --stage --debug`), `git fsck`, libgit2's reader |
//! | `pack.rs` | `Documentation/gitformat-pack.txt` (pack v2 with `REF_DELTA`, pack index v2) | `git index-pack` builds the same `.idx` byte for byte; git reads every object back |
//! | `pack_reader.rs` | the same document (`OFS_DELTA` and `REF_DELTA` chains, index v2 with 64-bit offsets) | every blob of a repository git packed reads as libgit2 reads it |
//! | `loose.rs` | `Documentation/gitformat-loose.txt` (zlib of `<type> <size>\0<content>`, one file per object) | libgit2 reads every object back, `git fsck --strict` |
//! | `tree.rs` | tree objects as git writes them (git has no format document for them; `fsck.c` checks them): entries sorted by `base_name_compare`, no name twice | `git mktree` builds the same tree from the same entries; random edits give the trees libgit2's tree updater gives |
//! | `history.rs` | `Documentation/gitformat-commit` headers, `info/grafts`, `shallow` | 40 random histories with merges and tied times walk in exactly libgit2's `TOPOLOGICAL \| TIME` order |
//! | `history_cache.rs` | tree objects and loose objects (`zlib` of `<type> <size>\0<content>`) | `tix log` of every ticket against `git log -- path` through tix changes, plain commits, a merge, a reset and a damaged cache (`tests/cli/commits.rs`) |
//!
//! Object ids are SHA-1: a SHA-256 repository is refused when the desk is
//! opened (see `Store::discover`), never read here. A format these files do
//! not know (a split or sparse index, an unknown required extension, a
//! loose object) makes them return `None`, and the caller falls back to
//! libgit2 or to git.

pub(super) mod history;
pub(super) mod history_cache;
pub(in crate::store) mod index;
pub(in crate::store) mod loose;
pub(in crate::store) mod pack;
pub(in crate::store) mod pack_reader;
pub(in crate::store) mod tree;
