//! A ticket's history: the commits that changed its file, newest first.
//!
//! libgit2's revision walk reads every commit through its mapped pack
//! windows, and a desk's packs interleave commits with the blobs and trees
//! of automation runs, so `tix log` on a long history kept tens of
//! megabytes of pack pages mapped. This walk reads commits and trees through the pack
//! reader (a small buffer per object) and orders them exactly as libgit2's
//! `TOPOLOGICAL | TIME` walk does: Kahn's algorithm over the commits
//! reachable from `HEAD`, taking the newest ready commit first from a
//! binary heap that breaks ties the way libgit2's `git_pqueue` does.

use std::collections::HashMap;

use git2::{ObjectType, Oid, Repository};

use super::pack_reader::{self, PackSet};
use crate::store::Error;
use crate::store::git::{CommitInfo, commit_info, head_commit};

/// A file's history as far as the repository holds it.
#[derive(Debug, Default)]
pub struct History {
    /// The commits that changed the file, newest first.
    pub commits: Vec<CommitInfo>,
    /// In a shallow clone whose history ends while the file exists: the
    /// boundary commit, before which its history is not in the clone.
    pub cut_at: Option<String>,
}

/// Lists the commits that changed `path`, newest first (merges only when
/// they differ from every parent, as `git log -- path` does). A shallow
/// clone's boundary commit is not taken for the file's creation: the
/// history is said to be cut there.
pub(in crate::store) fn log_path(
    repo: &Repository,
    packs: &PackSet,
    path: &str,
) -> Result<History, Error> {
    let Some(head) = head_commit(repo)? else {
        return Ok(History::default());
    };
    let shallow: std::collections::HashSet<Oid> =
        std::fs::read_to_string(repo.commondir().join("shallow"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| Oid::from_str(line.trim()).ok())
            .collect();
    let mut cut_at = None;
    let mut reader = packs.reader();
    let odb = repo.odb()?;
    let graph = Graph::read(repo, &mut reader, &odb, head.id())?;
    // The blob at `path` in each root tree, found once per tree: a commit's
    // parent is usually the commit walked just before.
    let mut found: HashMap<Oid, Option<Oid>> = HashMap::new();
    let mut blob_at = |root: Oid| -> Result<Option<Oid>, Error> {
        if let Some(blob) = found.get(&root) {
            return Ok(*blob);
        }
        // Each name down `path` must be a directory but the last, a file.
        let mut at = Some((ObjectType::Tree, root));
        for name in path.split('/') {
            let Some((ObjectType::Tree, tree)) = at else {
                at = None;
                break;
            };
            let raw = match reader.tree(&tree) {
                Some(raw) => raw,
                None => odb.read(tree)?.data().to_vec(),
            };
            at = pack_reader::entry_kind_id(&raw, name.as_bytes());
        }
        let blob = at.and_then(|(kind, id)| (kind == ObjectType::Blob).then_some(id));
        // Bounded: the trees looked up again are those of recent commits.
        if found.len() >= 4096 {
            found.clear();
        }
        found.insert(root, blob);
        Ok(blob)
    };
    let mut out = Vec::new();
    for at in graph.date_order() {
        let node = &graph.nodes[at];
        let mine = blob_at(node.tree)?;
        if node.parents.is_empty() && shallow.contains(&graph.ids[at]) {
            if mine.is_some() {
                cut_at = Some(graph.ids[at].to_string());
            }
            continue;
        }
        let changed = if node.parents.is_empty() {
            mine.is_some()
        } else {
            let mut all_differ = true;
            for parent in &node.parents {
                all_differ &= blob_at(graph.nodes[*parent].tree)? != mine;
            }
            all_differ
        };
        if changed {
            out.push(commit_info(&repo.find_commit(graph.ids[at])?));
        }
    }
    Ok(History {
        commits: out,
        cut_at,
    })
}

/// The commits reachable from a head: for each, its tree, its parents (as
/// indexes) and its committer time.
pub(super) struct Graph {
    pub(super) ids: Vec<Oid>,
    pub(super) nodes: Vec<Node>,
}

pub(super) struct Node {
    pub(super) tree: Oid,
    pub(super) parents: Vec<usize>,
    pub(super) time: i64,
}

impl Graph {
    /// The graph of the commits `ids`, read into `parsed` (in the same
    /// order), whose parents are all in `index`.
    pub(super) fn of(
        ids: Vec<Oid>,
        index: &HashMap<Oid, usize>,
        parsed: Vec<Option<Parsed>>,
    ) -> Self {
        let nodes = parsed
            .into_iter()
            .flatten()
            .map(|c| Node {
                tree: c.tree,
                parents: c.parents.iter().map(|p| index[p]).collect(),
                time: c.time,
            })
            .collect();
        Self { ids, nodes }
    }

    /// Reads every commit reachable from `head`, with the parents that
    /// grafts and a shallow clone's boundary give (see [`grafts`]).
    pub(super) fn read(
        repo: &Repository,
        reader: &mut pack_reader::Reader<'_>,
        odb: &git2::Odb<'_>,
        head: Oid,
    ) -> Result<Self, Error> {
        let grafts = grafts(repo);
        let mut ids = vec![head];
        let mut index: HashMap<Oid, usize> = HashMap::from([(head, 0)]);
        // Filled in as each commit is read; the parents as ids until all
        // have an index.
        let mut read: Vec<Option<Parsed>> = vec![None];
        let mut pending = vec![0];
        while let Some(at) = pending.pop() {
            let id = ids[at];
            let raw = match reader.commit(&id) {
                Some(raw) => raw,
                None => odb.read(id)?.data().to_vec(),
            };
            let mut parsed = parse_commit(&raw).ok_or_else(|| {
                Error::Git(git2::Error::from_str(&format!(
                    "commit {id} in the history of HEAD is malformed"
                )))
            })?;
            if let Some(parents) = grafts.get(&id) {
                parsed.parents.clone_from(parents);
            }
            for parent in &parsed.parents {
                index.entry(*parent).or_insert_with(|| {
                    ids.push(*parent);
                    read.push(None);
                    pending.push(ids.len() - 1);
                    ids.len() - 1
                });
            }
            read[at] = Some(parsed);
        }
        // Every id found was read (the loop ends when none is pending).
        Ok(Self::of(ids, &index, read))
    }

    /// The commits, head first, each after all its children and the newest
    /// of the ready ones first: libgit2's `TOPOLOGICAL | TIME` order
    /// (revwalk.c, `sort_in_topological_order`).
    pub(super) fn date_order(&self) -> Vec<usize> {
        // Each commit counts one plus its children.
        let mut in_degree = vec![1u32; self.nodes.len()];
        for node in &self.nodes {
            for parent in &node.parents {
                in_degree[*parent] += 1;
            }
        }
        let mut ready = Heap {
            items: Vec::new(),
            nodes: &self.nodes,
        };
        // The head is the only commit no other one reaches.
        ready.insert(0);
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(next) = ready.pop() {
            order.push(next);
            for parent in &self.nodes[next].parents {
                in_degree[*parent] -= 1;
                if in_degree[*parent] == 1 {
                    ready.insert(*parent);
                }
            }
        }
        order
    }
}

/// The parents libgit2 puts in place of a commit's own (repository.c,
/// `load_grafts`): `info/grafts` in the common directory (`<commit>
/// <parent>...` a line), and no parents for the commits a shallow clone's
/// `shallow` file lists.
fn grafts(repo: &Repository) -> HashMap<Oid, Vec<Oid>> {
    let ids = |line: &str| -> Option<Vec<Oid>> {
        line.split_whitespace()
            .map(|hex| Oid::from_str(hex).ok())
            .collect()
    };
    let read = |path: std::path::PathBuf| std::fs::read_to_string(path).unwrap_or_default();
    let mut grafts = HashMap::new();
    for line in read(repo.commondir().join("info").join("grafts")).lines() {
        if let Some((commit, parents)) = ids(line).as_deref().and_then(<[Oid]>::split_first) {
            grafts.insert(*commit, parents.to_vec());
        }
    }
    for line in read(repo.commondir().join("shallow")).lines() {
        if let Ok(commit) = Oid::from_str(line.trim()) {
            grafts.insert(commit, Vec::new());
        }
    }
    grafts
}

/// libgit2's `git_pqueue` (pqueue.c) with `git_commit_list_time_cmp`,
/// step for step, so commits with the same time come out in its order.
struct Heap<'a> {
    items: Vec<usize>,
    nodes: &'a [Node],
}

impl Heap<'_> {
    /// Newer first: negative when `a` goes before `b`.
    fn cmp(&self, a: usize, b: usize) -> i32 {
        let (a, b) = (self.nodes[a].time, self.nodes[b].time);
        match a.cmp(&b) {
            std::cmp::Ordering::Less => 1,
            std::cmp::Ordering::Greater => -1,
            std::cmp::Ordering::Equal => 0,
        }
    }

    fn insert(&mut self, item: usize) {
        self.items.push(item);
        let mut el = self.items.len() - 1;
        let kid = self.items[el];
        while el > 0 {
            let parent_el = (el - 1) >> 1;
            let parent = self.items[parent_el];
            if self.cmp(parent, kid) <= 0 {
                break;
            }
            self.items[el] = parent;
            el = parent_el;
        }
        self.items[el] = kid;
    }

    fn pop(&mut self) -> Option<usize> {
        let top = *self.items.first()?;
        let last = self.items.pop()?;
        if !self.items.is_empty() {
            self.items[0] = last;
            self.down();
        }
        Some(top)
    }

    fn down(&mut self) {
        let mut el = 0;
        let parent = self.items[0];
        loop {
            let mut kid_el = 2 * el + 1;
            let Some(&first) = self.items.get(kid_el) else {
                break;
            };
            let mut kid = first;
            if let Some(&right) = self.items.get(kid_el + 1)
                && self.cmp(kid, right) > 0
            {
                kid = right;
                kid_el += 1;
            }
            if self.cmp(parent, kid) <= 0 {
                break;
            }
            self.items[el] = kid;
            el = kid_el;
        }
        self.items[el] = parent;
    }
}

/// What the walk needs of a commit.
pub(super) struct Parsed {
    pub(super) tree: Oid,
    pub(super) parents: Vec<Oid>,
    /// The committer's time, as libgit2's walk orders by.
    pub(super) time: i64,
}

/// Reads the header of a raw commit object as libgit2 does
/// (`git_commit__parse_ext`, `git_signature__parse`): a `tree` line, the
/// `parent` lines, an `author` line, then the first `committer` line,
/// whose time starts two bytes after the address's `>` (none there:
/// time 0). `None` where libgit2 refuses the commit.
pub(super) fn parse_commit(raw: &[u8]) -> Option<Parsed> {
    let mut lines = raw.split(|b| *b == b'\n');
    let hex_id = |hex: &[u8]| -> Option<Oid> {
        (hex.len() == 40).then(|| Oid::from_str(std::str::from_utf8(hex).ok()?).ok())?
    };
    let tree = hex_id(lines.next()?.strip_prefix(b"tree ")?)?;
    let mut parents = Vec::new();
    let mut line = lines.next()?;
    while let Some(hex) = line.strip_prefix(b"parent ") {
        parents.push(hex_id(hex)?);
        line = lines.next()?;
    }
    line.strip_prefix(b"author ")?;
    let who = lines.next()?.strip_prefix(b"committer ")?;
    let email_start = who.iter().rposition(|b| *b == b'<')?;
    let email_end = who.iter().rposition(|b| *b == b'>')?;
    if email_end <= email_start {
        return None;
    }
    let time = match who.get(email_end + 2..) {
        Some(rest) if !rest.is_empty() => leading_integer(rest)?,
        _ => 0,
    };
    Some(Parsed {
        tree,
        parents,
        time,
    })
}

/// The integer `text` starts with, after white space (`git__strntol64`):
/// `None` without digits or when it overflows.
fn leading_integer(text: &[u8]) -> Option<i64> {
    let text = text.trim_ascii_start();
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let end = digits
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let mut value: i64 = 0;
    for digit in &digits[..end] {
        let digit = i64::from(digit - b'0');
        value = value
            .checked_mul(10)?
            .checked_add(if negative { -digit } else { digit })?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random histories (branches, merges of two or more parents, commit
    /// times with many ties and children older than their parents): the
    /// walk gives the commits in libgit2's order.
    #[test]
    fn walks_in_libgit2s_order() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let tree = {
            let mut builder = repo.treebuilder(None).unwrap();
            let blob = repo.blob(b"x").unwrap();
            builder.insert("f", blob, 0o100644).unwrap();
            builder.write().unwrap()
        };
        let tree = repo.find_tree(tree).unwrap();
        let packs = PackSet::open(repo.path());
        for seed in 0..40 {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut commits: Vec<Oid> = Vec::new();
            let mut tips: Vec<Oid> = Vec::new();
            for n in 0..40 {
                let time = git2::Time::new(1_700_000_000 + rng.i64(0..6) * 60, 0);
                let sig = git2::Signature::new("t", "t@t", &time).unwrap();
                let mut parents: Vec<Oid> = Vec::new();
                if !commits.is_empty() {
                    parents.push(commits[rng.usize(..commits.len())]);
                    if rng.bool() {
                        parents.push(commits[rng.usize(..commits.len())]);
                    }
                }
                parents.dedup();
                let parents: Vec<git2::Commit<'_>> = parents
                    .iter()
                    .map(|p| repo.find_commit(*p).unwrap())
                    .collect();
                let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
                let id = repo
                    .commit(None, &sig, &sig, &format!("{seed} {n}"), &tree, &refs)
                    .unwrap();
                tips.retain(|tip| !parents.iter().any(|p| p.id() == *tip));
                tips.push(id);
                commits.push(id);
            }
            // One head that reaches every commit.
            let sig = git2::Signature::new("t", "t@t", &git2::Time::new(1_700_000_100, 0)).unwrap();
            let parents: Vec<git2::Commit<'_>> =
                tips.iter().map(|p| repo.find_commit(*p).unwrap()).collect();
            let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let head = repo.commit(None, &sig, &sig, "head", &tree, &refs).unwrap();

            let mut walk = repo.revwalk().unwrap();
            walk.push(head).unwrap();
            walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
                .unwrap();
            let libgit2: Vec<Oid> = walk.map(Result::unwrap).collect();
            let odb = repo.odb().unwrap();
            let graph = Graph::read(&repo, &mut packs.reader(), &odb, head).unwrap();
            let ours: Vec<Oid> = graph.date_order().iter().map(|at| graph.ids[*at]).collect();
            assert_eq!(ours, libgit2, "seed {seed}");
        }
    }

    #[test]
    fn reads_a_commits_header() {
        let raw = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\
            parent 0123456789012345678901234567890123456789\n\
            parent 9876543210987654321098765432109876543210\n\
            author A <a@x> 1 +0000\n\
            committer C <c> d> 1700000000 -0130\n\
            \n\
            tree is not a header here\n";
        let parsed = parse_commit(raw).unwrap();
        assert_eq!(
            parsed.tree.to_string(),
            "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
        );
        assert_eq!(parsed.parents.len(), 2);
        assert_eq!(parsed.time, 1_700_000_000);
        assert!(parse_commit(b"parent nothex\n").is_none());
        // The committer's time as libgit2 reads it.
        let time = |committer: &[u8]| {
            let mut raw =
                b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a> 5 +0000\n".to_vec();
            raw.extend_from_slice(committer);
            raw.extend_from_slice(b"\ncommitter Second <s> 9 +0000\n\nmessage\n");
            parse_commit(&raw).map(|parsed| parsed.time)
        };
        assert_eq!(time(b"committer Andr\xe9 <a> 300 +0000"), Some(300));
        assert_eq!(time(b"committer C <a>3000 +0000"), Some(0)); // one byte skipped
        assert_eq!(time(b"committer C <a>"), Some(0));
        assert_eq!(time(b"committer C <a> "), Some(0));
        assert_eq!(time(b"committer C <a> 300x"), Some(300));
        assert_eq!(time(b"committer C <a> \t-42 +0100"), Some(-42));
        assert_eq!(time(b"committer C <a> x"), None);
        assert_eq!(time(b"committer C <a> 99999999999999999999"), None);
        assert_eq!(time(b"committer C a> 1"), None);
        // The author comes right after the parents; ids are whole.
        let tree = b"tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n";
        assert!(parse_commit(&[&tree[..], b"committer C <c> 1\n"].concat()).is_none());
        assert!(parse_commit(b"tree 4b825dc6\nauthor A <a> 1\ncommitter C <c> 1\n").is_none());
    }

    /// `info/grafts` and `shallow` give commits other parents, as for
    /// libgit2.
    #[test]
    fn grafts_and_the_shallow_boundary_replace_parents() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let tree = repo.treebuilder(None).unwrap().write().unwrap();
        let tree = repo.find_tree(tree).unwrap();
        let sig = git2::Signature::new("t", "t@t", &git2::Time::new(1, 0)).unwrap();
        let mut chain: Vec<Oid> = Vec::new();
        for n in 0..5 {
            let parents: Vec<git2::Commit<'_>> = chain
                .last()
                .map(|p| repo.find_commit(*p).unwrap())
                .into_iter()
                .collect();
            let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            chain.push(
                repo.commit(None, &sig, &sig, &n.to_string(), &tree, &refs)
                    .unwrap(),
            );
        }
        std::fs::create_dir_all(repo.path().join("info")).unwrap();
        let grafts = format!("{} {}\n", chain[4], chain[1]);
        std::fs::write(repo.path().join("info/grafts"), grafts).unwrap();
        std::fs::write(repo.path().join("shallow"), format!("{}\n", chain[1])).unwrap();
        let repo = Repository::open(dir.path()).unwrap();
        let packs = PackSet::open(repo.path());
        let odb = repo.odb().unwrap();
        let graph = Graph::read(&repo, &mut packs.reader(), &odb, chain[4]).unwrap();
        let ours: Vec<Oid> = graph.date_order().iter().map(|at| graph.ids[*at]).collect();
        assert_eq!(ours, vec![chain[4], chain[1]]);
        let mut walk = repo.revwalk().unwrap();
        walk.push(chain[4]).unwrap();
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)
            .unwrap();
        let libgit2: Vec<Oid> = walk.map(Result::unwrap).collect();
        assert_eq!(ours, libgit2);
    }
}
