//! Adding or replacing an entry of a raw tree object, in git's order, for
//! batches that create ticket files (and the shard directories and
//! `tickets/` holding them) and for the commit of a single change, without
//! libgit2's tree builder.
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
        let mode = entry.mode_bits().ok_or(Refused::Unreadable)?;
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

/// Sets entry `name` of a raw tree to `id`: its id replaced in place when
/// it is there as the same kind (a file of another mode becomes a regular
/// file, as libgit2's tree updater makes it), else inserted in git's order.
/// A directory where a file would go, or the reverse, or a submodule is
/// refused as [`Refused::Taken`].
pub(in crate::store) fn set_entry(
    data: &mut Vec<u8>,
    mode: Mode,
    name: &[u8],
    id: Oid,
) -> Result<(), Refused> {
    let mut found = None;
    for entry in raw_entries(data) {
        let entry = entry.ok_or(Refused::Unreadable)?;
        if entry.name == name {
            let old_mode = entry.mode_bits().ok_or(Refused::Unreadable)?;
            found = Some((
                entry.start,
                entry.id_at,
                entry.mode == mode.text(),
                old_mode,
            ));
            break;
        }
    }
    let Some((start, id_at, same_mode, old_mode)) = found else {
        return insert_entry(data, mode, name, id);
    };
    if same_mode {
        data[id_at..id_at + 20].copy_from_slice(id.as_bytes());
        return Ok(());
    }
    // A file of another mode (executable, a link) becomes a regular file.
    let is_file = matches!(old_mode & 0o170_000, 0o100_000 | 0o120_000);
    if mode != Mode::File || !is_file {
        return Err(Refused::Taken);
    }
    data.drain(start..id_at + 20);
    insert_entry(data, mode, name, id)
}

/// Sets each `(path, blob)` of `edits` as a regular file under the raw
/// root tree `root`, writing every tree on the way up with `write`, and
/// returns the new root's id. Trees below the root are read with `read`
/// (`Ok(None)`: not there). `Ok(None)` when a path is not one to write
/// this way (an empty, `.` or `..` part, `.git`, a file or submodule where
/// a directory would go, a tree that does not read): the caller then
/// leaves the work to libgit2.
pub(in crate::store) fn update<E>(
    mut root: Vec<u8>,
    edits: &[(&str, Oid)],
    read: &mut dyn FnMut(Oid) -> Result<Option<Vec<u8>>, E>,
    write: &mut dyn FnMut(&[u8]) -> Result<Oid, E>,
) -> Result<Option<Oid>, E> {
    let safe = |path: &str| {
        path.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && !part.eq_ignore_ascii_case(".git")
                && !part.contains('\0')
        })
    };
    if !edits.iter().all(|(path, _)| safe(path)) {
        return Ok(None);
    }
    let mut sorted: Vec<(&[u8], Oid)> = edits.iter().map(|(p, id)| (p.as_bytes(), *id)).collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    if sorted.windows(2).any(|pair| pair[0].0 == pair[1].0) {
        return Ok(None);
    }
    if apply(&mut root, &sorted, read, write)?.is_none() {
        return Ok(None);
    }
    write(&root).map(Some)
}

/// Sets `edits` (sorted, paths relative to `data`) in the raw tree `data`,
/// writing the subtrees it changes.
fn apply<E>(
    data: &mut Vec<u8>,
    edits: &[(&[u8], Oid)],
    read: &mut dyn FnMut(Oid) -> Result<Option<Vec<u8>>, E>,
    write: &mut dyn FnMut(&[u8]) -> Result<Oid, E>,
) -> Result<Option<()>, E> {
    let mut at = 0;
    while let Some(&(path, id)) = edits.get(at) {
        let Some(slash) = path.iter().position(|b| *b == b'/') else {
            if set_entry(data, Mode::File, path, id).is_err() {
                return Ok(None);
            }
            at += 1;
            continue;
        };
        let name = &path[..slash];
        // The edits under `name/` are next to each other in sorted order.
        let under = edits[at..]
            .iter()
            .take_while(|(other, _)| {
                other.len() > slash && other[..slash] == *name && other[slash] == b'/'
            })
            .count();
        let inner: Vec<(&[u8], Oid)> = edits[at..at + under]
            .iter()
            .map(|(other, id)| (&other[slash + 1..], *id))
            .collect();
        let mut subtree = match super::pack_reader::entry_kind_id(data, name) {
            None => Vec::new(),
            Some((git2::ObjectType::Tree, id)) => match read(id)? {
                Some(tree) => tree,
                None => return Ok(None),
            },
            Some(_) => return Ok(None),
        };
        if apply(&mut subtree, &inner, read, write)?.is_none() {
            return Ok(None);
        }
        let subtree_id = write(&subtree)?;
        if set_entry(data, Mode::Directory, name, subtree_id).is_err() {
            return Ok(None);
        }
        at += under;
    }
    Ok(Some(()))
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

    #[test]
    fn updates_make_the_trees_libgit2s_tree_updater_makes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let odb = repo.odb().unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        let names = ["a", "a.toml", "a-b", "ab", "b", "b0", "x.png"];
        let pick = |rng: &mut fastrand::Rng| names[rng.usize(..names.len())];
        for round in 0..150u32 {
            // A starting tree of random files two or three levels down.
            let mut builder = git2::build::TreeUpdateBuilder::new();
            let empty = repo.treebuilder(None).unwrap().write().unwrap();
            let empty = repo.find_tree(empty).unwrap();
            let mut taken: Vec<String> = Vec::new();
            for n in 0..rng.usize(0..12) {
                let path = (0..rng.usize(1..4))
                    .map(|_| pick(&mut rng))
                    .collect::<Vec<_>>()
                    .join("/");
                // A path under a file, or a file over a directory, is not a tree.
                let clash = taken.iter().any(|t| {
                    t == &path
                        || t.starts_with(&format!("{path}/"))
                        || path.starts_with(&format!("{t}/"))
                });
                if clash {
                    continue;
                }
                let blob = repo.blob(format!("{round} {n}").as_bytes()).unwrap();
                let mode = if rng.u8(..4) == 0 {
                    git2::FileMode::BlobExecutable
                } else {
                    git2::FileMode::Blob
                };
                builder.upsert(path.as_str(), blob, mode);
                taken.push(path);
            }
            let base = builder.create_updated(&repo, &empty).unwrap();
            // Edits of files there and new ones, in new directories too.
            let mut edits: Vec<(String, Oid)> = Vec::new();
            for n in 0..rng.usize(1..5) {
                let path = if !taken.is_empty() && rng.bool() {
                    taken[rng.usize(..taken.len())].clone()
                } else {
                    (0..rng.usize(1..4))
                        .map(|_| pick(&mut rng))
                        .collect::<Vec<_>>()
                        .join("/")
                };
                let clash = taken.iter().chain(edits.iter().map(|(p, _)| p)).any(|t| {
                    t.starts_with(&format!("{path}/")) || path.starts_with(&format!("{t}/"))
                }) || edits.iter().any(|(p, _)| *p == path);
                if clash {
                    continue;
                }
                let blob = repo.blob(format!("edit {round} {n}").as_bytes()).unwrap();
                edits.push((path, blob));
            }
            let mut theirs = git2::build::TreeUpdateBuilder::new();
            for (path, blob) in &edits {
                theirs.upsert(path.as_str(), *blob, git2::FileMode::Blob);
            }
            let base_tree = repo.find_tree(base).unwrap();
            let expected = theirs.create_updated(&repo, &base_tree).unwrap();
            let edits: Vec<(&str, Oid)> = edits.iter().map(|(p, id)| (p.as_str(), *id)).collect();
            let root = odb.read(base).unwrap().data().to_vec();
            let mut read = |id: Oid| -> Result<Option<Vec<u8>>, git2::Error> {
                Ok(Some(odb.read(id)?.data().to_vec()))
            };
            let mut write = |data: &[u8]| odb.write(git2::ObjectType::Tree, data);
            let ours = update(root, &edits, &mut read, &mut write).unwrap();
            assert_eq!(
                ours,
                Some(expected),
                "round {round}: {edits:?} on {taken:?}"
            );
        }
    }

    #[test]
    fn paths_that_are_not_plain_are_left_to_libgit2() {
        let mut read = |_: Oid| -> Result<Option<Vec<u8>>, ()> { Ok(None) };
        let mut write = |_: &[u8]| -> Result<Oid, ()> { Ok(oid(9)) };
        for path in ["", "a//b", "./a", "a/../b", ".git/config", "a/.GIT/x", "a/"] {
            assert_eq!(
                update(Vec::new(), &[(path, oid(1))], &mut read, &mut write),
                Ok(None),
                "{path:?}"
            );
        }
        // A file where a directory would go.
        let mut tree = Vec::new();
        insert_entry(&mut tree, Mode::File, b"tickets", oid(2)).unwrap();
        assert_eq!(
            update(
                tree.clone(),
                &[("tickets/ab.toml", oid(1))],
                &mut read,
                &mut write
            ),
            Ok(None)
        );
        // A directory where a file would go.
        let mut tree = Vec::new();
        insert_entry(&mut tree, Mode::Directory, b"t", oid(2)).unwrap();
        assert_eq!(
            update(tree, &[("t", oid(1))], &mut read, &mut write),
            Ok(None)
        );
    }
}
