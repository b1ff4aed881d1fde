//! The history cache: for every commit of `HEAD`, in the order `tix log`
//! walks them, the ticket files it changed (docs/storage.md, "Caches").
//! `tix log ID` then reads one file instead of every commit and tree of a
//! long history.

use std::collections::HashMap;
use std::rc::Rc;

use git2::{ObjectType, Oid, Repository};

use super::history::{Graph, History, Parsed, log_path, parse_commit};
use super::pack_reader::{self, PackSet};
use crate::store::Error;
use crate::store::git::{commit_info, head_commit};

/// The first line of the history cache (docs/storage.md, "Caches").
const CACHE_MAGIC: &str = "tix-history 2";

/// [`log_path`] through the history cache `cache`: for every commit of
/// `HEAD`, in the walk's order, the ticket files it changed. The walk's
/// order and a commit's changes never change, so the cache only grows:
/// when `HEAD` moved on from the cached head by commits whose parents are
/// all new or the cached head itself (every change tix makes, a fast
/// forward), the new commits are read and put first; any other history
/// (a merge of older work, a rewrite) is read whole again. A shallow clone
/// or grafts go the uncached way.
pub(in crate::store) fn log_path_cached(
    repo: &Repository,
    packs: &PackSet,
    path: &str,
    cache: &std::path::Path,
) -> Result<History, Error> {
    let shallow = repo.commondir().join("shallow").exists()
        || repo.commondir().join("info").join("grafts").exists();
    if shallow {
        return log_path(repo, packs, path);
    }
    let Some(head) = head_commit(repo)? else {
        return Ok(History::default());
    };
    let head = head.id();
    let text = std::fs::read(cache).unwrap_or_default();
    // `MAGIC\thead\tbytes`: a file cut short is read anew.
    let (cached_head, old_lines) = match memchr::memchr(b'\n', &text) {
        Some(end) => {
            let first = std::str::from_utf8(&text[..end]).unwrap_or_default();
            let rest = &text[end + 1..];
            let mut fields = first.split('\t');
            let whole = fields.next() == Some(CACHE_MAGIC);
            let head = fields.next().and_then(|hex| Oid::from_str(hex).ok());
            let size = fields.next().and_then(|n| n.parse::<usize>().ok());
            match head {
                Some(head) if whole && size == Some(rest.len()) => (Some(head), rest),
                _ => (None, &[][..]),
            }
        }
        None => (None, &[][..]),
    };
    let lines: std::borrow::Cow<'_, [u8]> = if cached_head == Some(head) {
        old_lines.into()
    } else {
        // The cached lines are text (read anew when they are not).
        let old = cached_head.zip(std::str::from_utf8(old_lines).ok());
        let fresh = history_lines(repo, packs, head, old)?;
        write_cache(cache, head, &fresh);
        fresh.into_bytes().into()
    };
    // The lines naming the file: found by searching the text for it (a
    // desk of 100,000 commits has a cache of 6 MB), each taken when the
    // name stands whole between a tab or space and a space or line end.
    let mut commits = Vec::new();
    for at in memchr::memmem::find_iter(&lines, path.as_bytes()) {
        let before = at.checked_sub(1).map(|i| lines[i]);
        let after = lines.get(at + path.len()).copied();
        if !matches!(before, Some(b'\t' | b' ')) || !matches!(after, None | Some(b' ' | b'\n')) {
            continue;
        }
        let start = memchr::memrchr(b'\n', &lines[..at]).map_or(0, |i| i + 1);
        let Some(tab) = memchr::memchr(b'\t', &lines[start..at]) else {
            continue;
        };
        let commit = std::str::from_utf8(&lines[start..start + tab]).unwrap_or_default();
        let id = Oid::from_str(commit).map_err(Error::Git)?;
        commits.push(commit_info(&repo.find_commit(id)?));
    }
    Ok(History {
        commits,
        cut_at: None,
    })
}

/// The graph of the commits `head` adds on top of `old_head`, with
/// `old_head` as a node without parents (its tree is their parents'
/// tree), when every new commit leads down to `old_head` alone; `None`
/// when one leads to a root instead (older history merged in, or `HEAD`
/// moved back: the cache's commits all lead down to a root without
/// passing `old_head`) or when there are more than 4,096 of them.
fn on_top(
    read_commit: &mut dyn FnMut(Oid) -> Result<Parsed, Error>,
    head: Oid,
    old_head: Oid,
) -> Result<Option<Graph>, Error> {
    let mut ids = vec![head];
    let mut index: HashMap<Oid, usize> = HashMap::from([(head, 0)]);
    let mut parsed: Vec<Option<Parsed>> = vec![None];
    let mut pending = vec![0];
    while let Some(at) = pending.pop() {
        let commit = read_commit(ids[at])?;
        if commit.parents.is_empty() {
            return Ok(None);
        }
        for parent in &commit.parents {
            if index.contains_key(parent) {
                continue;
            }
            if ids.len() > 4096 {
                return Ok(None);
            }
            index.insert(*parent, ids.len());
            ids.push(*parent);
            parsed.push(None);
            if *parent != old_head {
                pending.push(ids.len() - 1);
            }
        }
        parsed[at] = Some(commit);
    }
    let Some(&old) = index.get(&old_head) else {
        return Ok(None);
    };
    parsed[old] = Some(Parsed {
        parents: Vec::new(),
        ..read_commit(old_head)?
    });
    Ok(Some(Graph::of(ids, &index, parsed)))
}

/// Writes the cache text in place (a failed write only costs speed).
fn write_cache(cache: &std::path::Path, head: Oid, lines: &str) {
    let Some(dir) = cache.parent() else { return };
    let _ = std::fs::create_dir_all(dir);
    let Ok(mut file) = tempfile::NamedTempFile::new_in(dir) else {
        return;
    };
    use std::io::Write;
    let written = writeln!(file, "{CACHE_MAGIC}\t{head}\t{}", lines.len())
        .and_then(|()| file.write_all(lines.as_bytes()));
    if written.is_ok() {
        let _ = file.persist(cache);
    }
}

/// The cache lines of `head`'s history, newest first: the new commits'
/// lines before the cached ones when `head` only adds commits on top of
/// the cached head, else every commit's.
fn history_lines(
    repo: &Repository,
    packs: &PackSet,
    head: Oid,
    cached: Option<(Oid, &str)>,
) -> Result<String, Error> {
    let mut reader = packs.reader();
    let odb = repo.odb()?;
    let mut read_commit = |id: Oid| -> Result<Parsed, Error> {
        let raw = match reader.commit(&id) {
            Some(raw) => raw,
            None => match read_loose(repo, id) {
                Some(raw) => raw,
                None => odb.read(id)?.data().to_vec(),
            },
        };
        parse_commit(&raw).ok_or_else(|| {
            Error::Git(git2::Error::from_str(&format!(
                "commit {id} in the history of HEAD is malformed"
            )))
        })
    };
    // The commits on top of the cached head, if that is all that changed;
    // else the whole history.
    let on_top = match cached {
        Some((old_head, old_lines)) => {
            on_top(&mut read_commit, head, old_head)?.map(|graph| (graph, old_head, old_lines))
        }
        None => None,
    };
    let mut trees: HashMap<Oid, Rc<Vec<u8>>> = HashMap::new();
    let mut tree_reader = packs.reader();
    let mut read_tree = |id: Oid| -> Result<Rc<Vec<u8>>, Error> {
        if let Some(raw) = trees.get(&id) {
            return Ok(Rc::clone(raw));
        }
        let raw = match tree_reader.tree(&id) {
            Some(raw) => raw,
            None => match read_loose(repo, id) {
                Some(raw) => raw,
                None => odb.read(id)?.data().to_vec(),
            },
        };
        // Bounded: a parent's trees are looked up right after its child's.
        if trees.len() >= 1024 {
            trees.clear();
        }
        let raw = Rc::new(raw);
        trees.insert(id, Rc::clone(&raw));
        Ok(raw)
    };
    let (graph, old_head, old_lines) = match on_top {
        Some((graph, old_head, old_lines)) => (graph, Some(old_head), old_lines),
        None => (
            Graph::read(repo, &mut packs.reader(), &odb, head)?,
            None,
            "",
        ),
    };
    let mut out = String::new();
    for at in graph.date_order() {
        // The cached head, last in the order, has its line already.
        if Some(graph.ids[at]) == old_head {
            continue;
        }
        let node = &graph.nodes[at];
        let parents: Vec<Oid> = node.parents.iter().map(|p| graph.nodes[*p].tree).collect();
        let files = changed_files(&mut read_tree, node.tree, &parents)?;
        out.push_str(&format!("{}\t{}\n", graph.ids[at], files.join(" ")));
    }
    Ok(out + old_lines)
}

/// The content of a loose object, read from its file (libgit2's object
/// database would keep every small commit and tree it read in its cache:
/// hundreds of megabytes over a long history); `None` when it is not a
/// loose object of this repository.
fn read_loose(repo: &Repository, id: Oid) -> Option<Vec<u8>> {
    use std::io::Read;
    let hex = id.to_string();
    let path = repo.path().join("objects").join(&hex[..2]).join(&hex[2..]);
    let file = std::fs::File::open(path).ok()?;
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(file)
        .read_to_end(&mut raw)
        .ok()?;
    let nul = raw.iter().position(|b| *b == 0)?;
    raw.drain(..=nul);
    Some(raw)
}

/// Reads a raw tree by id (cached).
type ReadTree<'a> = dyn FnMut(Oid) -> Result<Rc<Vec<u8>>, Error> + 'a;

/// The ticket files (`tickets/<shard>/<file>`) whose blob in root tree
/// `tree` differs from their blob in every parent's root tree (as `git log
/// -- path` takes a merge); for a root commit, every file.
fn changed_files(
    read_tree: &mut ReadTree<'_>,
    tree: Oid,
    parents: &[Oid],
) -> Result<Vec<String>, Error> {
    let mine = tickets_tree(read_tree, tree)?;
    if parents.is_empty() {
        return differing(read_tree, mine, None);
    }
    let mut changed: Option<Vec<String>> = None;
    for parent in parents {
        let theirs = tickets_tree(read_tree, *parent)?;
        let here = differing(read_tree, mine, theirs)?;
        changed = Some(match changed {
            None => here,
            Some(before) => before.into_iter().filter(|f| here.contains(f)).collect(),
        });
    }
    Ok(changed.unwrap_or_default())
}

/// The `tickets` tree of a root tree.
fn tickets_tree(read_tree: &mut ReadTree<'_>, root: Oid) -> Result<Option<Oid>, Error> {
    let raw = read_tree(root)?;
    Ok(
        pack_reader::entry_kind_id(&raw, crate::store::layout::TICKETS_DIR.as_bytes())
            .filter(|(kind, _)| *kind == ObjectType::Tree)
            .map(|(_, id)| id),
    )
}

/// A tree's entries of one kind (directories, or files), as `(name, id)`
/// in the tree's order (sorted by name within one kind).
fn entries_of(raw: &[u8], dirs: bool) -> Vec<(&[u8], &[u8])> {
    pack_reader::raw_entries(raw)
        .map_while(|entry| entry)
        .filter(|entry| (entry.mode == b"40000") == dirs)
        .map(|entry| (entry.name, &raw[entry.id_at..entry.id_at + 20]))
        .collect()
}

/// Hears of a name whose ids differ between two lists.
type Differs<'a, 'f> =
    dyn FnMut(&'a [u8], Option<&'a [u8]>, Option<&'a [u8]>) -> Result<(), Error> + 'f;

/// Walks two sorted `(name, id)` lists together, calling `differs` with
/// each name whose ids differ (or that one side lacks).
fn merge_walk<'a>(
    a: &[(&'a [u8], &'a [u8])],
    b: &[(&'a [u8], &'a [u8])],
    differs: &mut Differs<'a, '_>,
) -> Result<(), Error> {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if x.1 != y.1 {
                    differs(x.0, Some(x.1), Some(y.1))?;
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                differs(x.0, Some(x.1), None)?;
                i += 1;
            }
            (Some(x), None) => {
                differs(x.0, Some(x.1), None)?;
                i += 1;
            }
            (_, Some(y)) => {
                differs(y.0, None, Some(y.1))?;
                j += 1;
            }
            (None, None) => break,
        }
    }
    Ok(())
}

/// The files in shard directories of two `tickets` trees whose blobs
/// differ (one side missing counts as differing).
fn differing(
    read_tree: &mut ReadTree<'_>,
    mine: Option<Oid>,
    theirs: Option<Oid>,
) -> Result<Vec<String>, Error> {
    if mine == theirs {
        return Ok(Vec::new());
    }
    let empty = Rc::new(Vec::new());
    let (raw_a, raw_b) = (
        mine.map_or(Ok(Rc::clone(&empty)), &mut *read_tree)?,
        theirs.map_or(Ok(Rc::clone(&empty)), &mut *read_tree)?,
    );
    let (a, b) = (entries_of(&raw_a, true), entries_of(&raw_b, true));
    let mut out = Vec::new();
    merge_walk(&a, &b, &mut |shard, x, y| {
        let tree = |id: Option<&[u8]>| id.and_then(|id| Oid::from_bytes(id).ok());
        let fx = tree(x).map_or(Ok(Rc::clone(&empty)), &mut *read_tree)?;
        let fy = tree(y).map_or(Ok(Rc::clone(&empty)), &mut *read_tree)?;
        let shard = String::from_utf8_lossy(shard).into_owned();
        merge_walk(
            &entries_of(&fx, false),
            &entries_of(&fy, false),
            &mut |file, _, _| {
                out.push(format!(
                    "{}/{shard}/{}",
                    crate::store::layout::TICKETS_DIR,
                    String::from_utf8_lossy(file)
                ));
                Ok(())
            },
        )
    })?;
    Ok(out)
}
