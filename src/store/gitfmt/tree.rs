//! Adding an entry to a raw tree object, in git's order, for batches that
//! create ticket files (and the shard directories and `tickets/` holding
//! them) without libgit2's tree builder.
//!
//! A tree object is `<mode> <name>\0<20-byte id>` per entry, sorted as
//! git's `base_name_compare` sorts them: by name bytes, a directory's name
//! compared as if it ended in `/` (so `a.toml` comes before the directory
//! `a`, and the directory `a` before `a0`). `git fsck` refuses a tree out of
//! this order or with two entries of one name, file or directory. Only
//! modes tix writes are added; any entry already there is kept as it is.

use git2::Oid;

use super::pack_reader::raw_entries;

/// The kind of entry tix adds to a tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::store) enum Mode {
    /// A regular file (`100644`).
    File,
    /// A directory (`40000`: git writes no leading zero).
    Directory,
}

impl Mode {
    fn text(self) -> &'static [u8] {
        match self {
            Self::File => b"100644",
            Self::Directory => b"40000",
        }
    }
}

/// Why an entry could not be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::store) enum Refused {
    /// An entry of that name is there already (a file, a directory or a
    /// submodule).
    Taken,
    /// The bytes are not a tree object.
    Unreadable,
}

/// Inserts the entry `name` (one path component) of `mode` and `id` into
/// the raw tree `data`, at its place in git's order.
pub(in crate::store) fn insert_entry(
    data: &mut Vec<u8>,
    mode: Mode,
    name: &[u8],
    id: Oid,
) -> Result<(), Refused> {
    let directory = mode == Mode::Directory;
    let mut at = None;
    for entry in raw_entries(data) {
        let entry = entry.ok_or(Refused::Unreadable)?;
        if entry.name == name {
            return Err(Refused::Taken);
        }
        let mode = std::str::from_utf8(entry.mode)
            .ok()
            .and_then(|text| u32::from_str_radix(text, 8).ok())
            .ok_or(Refused::Unreadable)?;
        let is_directory = mode & 0o170_000 == 0o040_000;
        // Not the first entry past it: a directory of the name sorts after
        // names with '-' or '.' next, so every entry is looked at.
        if at.is_none() && compare(entry.name, is_directory, name, directory).is_gt() {
            at = Some(entry.start);
        }
    }
    let at = at.unwrap_or(data.len());
    let mut bytes = Vec::with_capacity(mode.text().len() + name.len() + 22);
    bytes.extend_from_slice(mode.text());
    bytes.push(b' ');
    bytes.extend_from_slice(name);
    bytes.push(0);
    bytes.extend_from_slice(id.as_bytes());
    data.splice(at..at, bytes);
    Ok(())
}

/// git's `base_name_compare`: names byte by byte, a directory's as if it
/// ended in `/`.
fn compare(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> std::cmp::Ordering {
    let common = a.len().min(b.len());
    a[..common].cmp(&b[..common]).then_with(|| {
        let end = |name: &[u8], dir: bool| match name.get(common) {
            Some(byte) => *byte,
            None if dir => b'/',
            None => 0,
        };
        end(a, a_dir).cmp(&end(b, b_dir))
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use super::*;

    fn oid(n: u8) -> Oid {
        Oid::from_bytes(&[n; 20]).unwrap()
    }

    /// The id `git mktree` gives the entries (it sorts them itself).
    fn mktree(dir: &std::path::Path, entries: &[(Mode, String, Oid)]) -> Oid {
        let input: String = entries
            .iter()
            .map(|(mode, name, id)| {
                let (mode, kind) = match mode {
                    Mode::File => ("100644", "blob"),
                    Mode::Directory => ("040000", "tree"),
                };
                format!("{mode} {kind} {id}\t{name}\n")
            })
            .collect();
        let mut child = Command::new("git")
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(["mktree", "--missing"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        Oid::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap()
    }

    #[test]
    fn directories_sort_as_if_their_name_ended_in_a_slash() {
        use std::cmp::Ordering::{Greater, Less};
        assert_eq!(compare(b"a.toml", false, b"a", true), Less);
        assert_eq!(compare(b"a", true, b"a0", false), Less);
        assert_eq!(compare(b"a", false, b"a.toml", false), Less);
        assert_eq!(compare(b"a", true, b"a-b", false), Greater);
        assert_eq!(compare(b".gitkeep", false, b"00", true), Less);
    }

    #[test]
    fn entries_inserted_one_by_one_make_the_tree_git_makes() {
        let dir = tempfile::tempdir().unwrap();
        Command::new("git")
            .args(["init", "-q"])
            .arg(dir.path())
            .status()
            .unwrap();
        // Names that meet at every boundary of the order: a ticket file
        // and its directory, prefixes, '-' and '.' (below '/') and '0'
        // (above it).
        let names = [
            "ab",
            "ab.toml",
            "ab-x",
            "ab0",
            "a",
            "a.b",
            "b",
            "ab.toml.x",
            ".gitkeep",
            "zz",
            "0",
            "ab.",
            "ab-",
        ];
        let mut rng = fastrand::Rng::with_seed(3);
        for round in 0..200u8 {
            let mut tree = Vec::new();
            let mut entries = Vec::new();
            let mut order: Vec<&str> = names.to_vec();
            rng.shuffle(&mut order);
            for (n, name) in order.iter().enumerate() {
                let mode = if rng.bool() {
                    Mode::File
                } else {
                    Mode::Directory
                };
                let id = oid(round.wrapping_add(n as u8));
                insert_entry(&mut tree, mode, name.as_bytes(), id).unwrap();
                entries.push((mode, (*name).to_owned(), id));
            }
            let ours = crate::store::gitfmt::pack::object_id(git2::ObjectType::Tree, &tree);
            assert_eq!(
                ours,
                mktree(dir.path(), &entries),
                "round {round}: {entries:?}"
            );
        }
    }

    #[test]
    fn a_name_that_is_there_as_a_file_or_a_directory_is_refused() {
        let mut tree = Vec::new();
        insert_entry(&mut tree, Mode::Directory, b"k3x9p2.toml", oid(1)).unwrap();
        insert_entry(&mut tree, Mode::File, b"k3x9p2", oid(2)).unwrap();
        let before = tree.clone();
        assert_eq!(
            insert_entry(&mut tree, Mode::File, b"k3x9p2.toml", oid(3)),
            Err(Refused::Taken)
        );
        assert_eq!(
            insert_entry(&mut tree, Mode::Directory, b"k3x9p2", oid(3)),
            Err(Refused::Taken)
        );
        assert_eq!(tree, before, "a refused entry changes nothing");
        // The file `x` would go before `x-a`, the directory `x` is after it.
        let mut apart = Vec::new();
        insert_entry(&mut apart, Mode::Directory, b"x", oid(1)).unwrap();
        insert_entry(&mut apart, Mode::File, b"x-a", oid(2)).unwrap();
        assert_eq!(
            insert_entry(&mut apart, Mode::File, b"x", oid(3)),
            Err(Refused::Taken)
        );
        let mut cut = before[..before.len() - 3].to_vec();
        assert_eq!(
            insert_entry(&mut cut, Mode::File, b"zz", oid(4)),
            Err(Refused::Unreadable)
        );
    }
}
