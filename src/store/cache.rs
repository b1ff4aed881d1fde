//! A disposable cache of per-ticket summaries, keyed by git object ids.
//!
//! Listing a desk means parsing every ticket file, which takes seconds at
//! 100,000 tickets. The cache keeps, for every ticket blob, a one-line
//! payload the caller derived from it (the desk stores a list row). A shard
//! whose tree id is unchanged is reused without reading its tree; inside a
//! changed shard only blobs with new ids are read. The cache is never trusted
//! over git: ids are compared on every run, a missing, stale or corrupt file
//! is silently rebuilt, and it is written only after a complete, successful
//! scan. It lives in `.git/tix/cache/` and deleting it changes no output.
//!
//! Payloads the caller calls *cold* (closed tickets: most of a desk, and
//! skipped by the default listing) are kept apart in each shard, so a scan
//! that does not want them never touches their bytes.
//!
//! A change alters one shard, so the shards changed since the cache file was
//! written go to a small second file (`list.delta`, same format, read after
//! the first and overriding its shards); once it holds more than
//! `DELTA_MAX` shards the whole cache is written afresh.
//!
//! File format: a `tix-cache 4<TAB>salt` line, then per shard a
//! `S<TAB>name<TAB>tree<TAB>hot<TAB>cold<TAB>hot lines<TAB>cold lines` line
//! followed by `hot` then `cold` bytes of `blob<TAB>file<TAB>=payload` lines
//! (`!` instead of `=payload` when the caller could not derive one; such
//! lines are hot). A scan reads the headers first and a shard's lines only
//! when it reaches the shard.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::ops::Range;
use std::path::Path;

use git2::{ObjectType, Oid, Repository, Tree};

use super::gitfmt::pack_reader::{self, PackSet};
use super::{Error, RawTicket, layout};

const MAGIC: &str = "tix-cache 4";

/// One ticket file seen by a cached scan.
#[derive(Clone, Copy, Debug)]
pub struct Item<'a> {
    /// The shard directory (`k3`).
    pub shard: &'a str,
    /// The file name (`k3x9p2.toml`); empty for a stray file in `tickets/`.
    pub file: &'a str,
    /// The blob id.
    pub blob: Oid,
    /// What `derive` returned; `None` when it could not derive (a broken
    /// file): read the blob to report it.
    pub payload: Option<&'a str>,
}

impl Item<'_> {
    /// Returns the path in the repository.
    pub fn path(&self) -> String {
        if self.file.is_empty() {
            format!("{}/{}", layout::TICKETS_DIR, self.shard)
        } else {
            format!("{}/{}/{}", layout::TICKETS_DIR, self.shard, self.file)
        }
    }
}

/// Where a cached shard's lines are: which file, and the byte ranges of
/// its hot and cold lines with their line counts.
#[derive(Clone, Debug)]
struct Section {
    tree: Oid,
    /// 0: the base file; 1: the delta file.
    file: usize,
    hot: Range<u64>,
    cold: Range<u64>,
    lines: (usize, usize),
}

/// An open cache: the index of its shards. A file of up to
/// [`READ_WHOLE`] bytes is read at once; in a larger one a shard's lines
/// are read when the scan reaches it, so a scan holds one shard's text at
/// a time, not the whole file (200 MB of report facts at 100,000
/// tickets). Open files stay open: a writer replaces them by renaming, so
/// what they hold cannot change under the scan.
struct Loaded {
    /// The base file and, if any, the delta file.
    files: Vec<Source>,
    /// Shard name → its section; a shard in the delta file overrides the
    /// base file's.
    shards: HashMap<String, Section>,
    /// The shards the delta file holds.
    in_delta: std::collections::HashSet<String>,
}

/// The cache files a listing of 10,000 tickets reads are read at once (one
/// read instead of two calls per shard); larger ones shard by shard.
const READ_WHOLE: u64 = 8 << 20;

/// A cache file: read whole, or open to read a shard at a time.
enum Source {
    Whole(Vec<u8>),
    Open(std::fs::File),
}

impl Source {
    fn open(path: &Path) -> Option<Self> {
        use std::io::Read as _;
        let mut file = std::fs::File::open(path).ok()?;
        let size = file.metadata().ok()?.len();
        if size > READ_WHOLE {
            return Some(Self::Open(file));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).ok()? + 1);
        file.read_to_end(&mut bytes).ok()?;
        Some(Self::Whole(bytes))
    }
}

impl Loaded {
    /// Reads a section's hot and cold lines; `None` when the file does not
    /// give them (it is then treated as not cached).
    fn read(&self, s: &Section) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
        let split = usize::try_from(s.hot.end - s.hot.start).ok()?;
        match self.files.get(s.file)? {
            Source::Whole(bytes) => {
                let range = usize::try_from(s.hot.start).ok()?..usize::try_from(s.cold.end).ok()?;
                let (hot, cold) = bytes.get(range)?.split_at_checked(split)?;
                let text = |b| std::str::from_utf8(b).ok().map(Cow::Borrowed);
                Some((text(hot)?, text(cold)?))
            }
            Source::Open(file) => {
                use std::os::unix::fs::FileExt as _;
                let mut bytes = vec![0; usize::try_from(s.cold.end - s.hot.start).ok()?];
                file.read_exact_at(&mut bytes, s.hot.start).ok()?;
                let cold = bytes.split_off(split);
                Some((
                    Cow::Owned(String::from_utf8(bytes).ok()?),
                    Cow::Owned(String::from_utf8(cold).ok()?),
                ))
            }
        }
    }
}

/// The file that holds the shards changed since the base file was written,
/// so a change rewrites a few kilobytes instead of the whole cache.
fn delta_path(path: &Path) -> std::path::PathBuf {
    path.with_extension("delta")
}

/// Shards the delta file may hold before the next scan writes the base
/// file afresh.
const DELTA_MAX: usize = 64;

fn load(path: &Path, salt: &str) -> Option<Loaded> {
    let base = Source::open(path)?;
    let mut shards = HashMap::new();
    sections(&base, 0, salt, &mut shards)?;
    let mut files = vec![base];
    let mut in_delta = std::collections::HashSet::new();
    if let Some(delta) = Source::open(&delta_path(path)) {
        let mut overlay = HashMap::new();
        if sections(&delta, 1, salt, &mut overlay).is_some() {
            in_delta = overlay.keys().cloned().collect();
            shards.extend(overlay);
            files.push(delta);
        }
    }
    Some(Loaded {
        files,
        shards,
        in_delta,
    })
}

/// Reads the shard headers of one cache file (number `index`), skipping
/// their lines.
fn sections(
    source: &Source,
    index: usize,
    salt: &str,
    shards: &mut HashMap<String, Section>,
) -> Option<()> {
    match source {
        Source::Whole(bytes) => {
            let size = bytes.len() as u64;
            section_headers(std::io::Cursor::new(bytes), size, index, salt, shards)
        }
        Source::Open(file) => {
            let size = file.metadata().ok()?.len();
            section_headers(std::io::BufReader::new(file), size, index, salt, shards)
        }
    }
}

/// [`sections`] of a file of `size` bytes read through `reader`.
fn section_headers(
    mut reader: impl std::io::BufRead + std::io::Seek,
    size: u64,
    index: usize,
    salt: &str,
    shards: &mut HashMap<String, Section>,
) -> Option<()> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if line.strip_suffix('\n')? != format!("{MAGIC}\t{salt}") {
        return None;
    }
    let mut at = line.len() as u64;
    let number = |text: Option<&str>| text?.parse::<u64>().ok();
    loop {
        line.clear();
        match reader.read_line(&mut line).ok()? {
            0 => return Some(()),
            n => at += n as u64,
        }
        let mut parts = line.strip_suffix('\n')?.split('\t');
        let (Some("S"), Some(name), Some(tree)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let [hot, cold, hot_lines, cold_lines] = [(); 4].map(|()| number(parts.next()));
        let hot = at..at.checked_add(hot?)?;
        let cold = hot.end..hot.end.checked_add(cold?)?;
        if cold.end > size {
            return None;
        }
        reader
            .seek_relative(i64::try_from(cold.end - at).ok()?)
            .ok()?;
        at = cold.end;
        let lines = (
            usize::try_from(hot_lines?).ok()?,
            usize::try_from(cold_lines?).ok()?,
        );
        let section = Section {
            tree: Oid::from_str(tree).ok()?,
            file: index,
            hot,
            cold,
            lines,
        };
        shards.insert(name.to_owned(), section);
    }
}

/// Splits one cached line into an item; `None` if it is not one.
fn parse_line<'a>(shard: &'a str, line: &'a str) -> Option<Item<'a>> {
    let (blob, rest) = line.split_at_checked(40)?;
    let blob = oid_from_hex(blob)?;
    let rest = rest.strip_prefix('\t')?;
    let (file, payload) = rest.split_at_checked(rest.bytes().position(|b| b == b'\t')?)?;
    let payload = match &payload[1..] {
        "!" => None,
        rest => Some(rest.strip_prefix('=')?),
    };
    Some(Item {
        shard,
        file,
        blob,
        payload,
    })
}

/// A shard's hot and cold lines as [`Loaded::read`] gives them.
fn owned((hot, cold): (String, String)) -> (Cow<'static, str>, Cow<'static, str>) {
    (Cow::Owned(hot), Cow::Owned(cold))
}

/// Reads an object id written as 40 hexadecimal digits (each line of the
/// cache starts with one, so this is on the path of every listing).
fn oid_from_hex(hex: &str) -> Option<Oid> {
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let hex = hex.as_bytes();
    if hex.len() != 40 {
        return None;
    }
    let mut raw = [0u8; 20];
    for (byte, pair) in raw.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Oid::from_bytes(&raw).ok()
}

/// What a scan derives and which payloads it skips.
pub(super) struct Scan<'a> {
    /// Names what payloads depend on besides the file: a different salt
    /// discards the cache.
    pub(super) salt: &'a str,
    /// Derives a one-line payload from a ticket file; `None` when it cannot.
    pub(super) derive: &'a (dyn Fn(RawTicket) -> Option<String> + Sync),
    /// Tells whether a payload is cold (kept apart, see the module doc).
    pub(super) cold: &'a dyn Fn(&str) -> bool,
    /// Leaves cold payloads out of the visit.
    pub(super) skip_cold: bool,
    /// Told, before the first visit, how many items the scan visits at
    /// most (so a caller can make room for them at once).
    pub(super) expect: &'a dyn Fn(usize),
}

/// Scans every ticket file in `tickets`, reusing cached payloads, and hands
/// each to `visit` (but cold ones when `skip_cold`). Without `cache_path` it
/// neither reads nor writes a cache. Files not in the cache are read and
/// derived on every core.
pub(super) fn scan(
    repo: &Repository,
    packs: &OnceCell<PackSet>,
    tickets: Option<Tree<'_>>,
    cache_path: Option<&Path>,
    how: &Scan<'_>,
    visit: &mut dyn FnMut(Item<'_>),
) -> Result<(), Error> {
    let salt = how.salt;
    debug_assert!(!salt.contains(['\t', '\n']));
    let old = cache_path.and_then(|p| load(p, salt));
    let Some(tickets) = tickets else {
        return Ok(());
    };

    // Pass 1: per shard, reuse the cached body or list its files, noting
    // which blobs need deriving.
    let Listed {
        shards,
        stray,
        todo,
    } = list_shards(repo, packs, &tickets, old.as_ref())?;

    // Pass 2, run ahead of pass 3 a block at a time: derive what the cache
    // did not know, on every core. A block's payloads are dropped once
    // written, so a first scan never holds all of them.
    let mut derived: HashMap<Oid, Option<String>> = HashMap::new();
    let mut derived_upto = 0;
    // Each payload moves into the new cache text once; a blob listed twice
    // (the same file under two names) is copied instead.
    let twice: std::collections::HashSet<Oid> = {
        let mut seen = std::collections::HashSet::with_capacity(todo.len());
        todo.iter()
            .filter(|(_, blob)| !seen.insert(*blob))
            .map(|(_, blob)| *blob)
            .collect()
    };

    // Pass 3: visit in tree order and build the new cache text.
    let lines = |text: &str| text.bytes().filter(|b| *b == b'\n').count();
    let visits: usize = shards
        .iter()
        .map(|(_, _, body)| match body {
            Body::Cached(section) => {
                section.lines.0 + if how.skip_cold { 0 } else { section.lines.1 }
            }
            Body::Files(files, _) => files.len(),
        })
        .sum();
    (how.expect)(visits + stray.len());
    let Output {
        mut fresh,
        as_delta,
        delta_shards,
    } = output(cache_path, old.as_ref(), &shards, salt);
    let mut repaired = false;
    for (name, tree, body) in &shards {
        let mut repairing = false;
        let (hot, cold) = match body {
            Body::Cached(section) => match old.as_ref().and_then(|o| o.read(section)) {
                Some(text) => text,
                // Unreadable after all: derive the shard anew, and see that
                // the file is replaced.
                None => {
                    repairing = true;
                    owned(derive_shard(repo, packs, name, *tree, how)?)
                }
            },
            Body::Files(files, todo_end) => {
                if *todo_end > derived_upto {
                    let end = (derived_upto + DERIVE_BLOCK).max(*todo_end).min(todo.len());
                    derived.extend(derive_all(
                        repo,
                        packs,
                        &todo[derived_upto..end],
                        how.derive,
                    )?);
                    derived_upto = end;
                }
                owned(shard_text(files, &mut derived, &twice, how))
            }
        };
        repaired |= repairing;
        let wanted = if how.skip_cold { "" } else { &cold };
        for line in hot.lines().chain(wanted.lines()) {
            if let Some(item) = parse_line(name, line) {
                visit(item);
            }
        }
        if let Some(out) = &mut fresh
            && (!as_delta || repairing || delta_shards.contains(name.as_str()))
        {
            out.push(&format!(
                "S\t{name}\t{tree}\t{}\t{}\t{}\t{}\n",
                hot.len(),
                cold.len(),
                lines(&hot),
                lines(&cold)
            ));
            out.push(&hot);
            out.push(&cold);
        }
    }
    for (name, blob) in &stray {
        visit(Item {
            shard: name,
            file: "",
            blob: *blob,
            payload: None,
        });
    }
    match (cache_path, fresh) {
        (Some(path), Some(out)) => finish_cache(path, out, as_delta),
        // A file that failed to give a shard is not kept to fail again.
        (Some(path), None) if repaired => {
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(delta_path(path));
        }
        _ => {}
    }
    Ok(())
}

/// Where a scan writes its cache text.
struct Output<'s> {
    /// The file being written, if the cache is to be rewritten.
    fresh: Option<Writer>,
    /// The file is the delta file: it gets `delta_shards` only.
    as_delta: bool,
    delta_shards: std::collections::HashSet<&'s str>,
}

/// Decides what a scan writes. The cache text is written only when
/// something changed: the shards changed since the base file was written
/// go to the delta file while they are few, else the base file is written
/// afresh. It is written as the scan goes (holding the text would double
/// the memory of a first scan), and put in place only once the scan is
/// complete.
fn output<'s>(
    cache_path: Option<&Path>,
    old: Option<&Loaded>,
    shards: &'s [(String, Oid, Body<'_>)],
    salt: &str,
) -> Output<'s> {
    let changed = old.is_none() || shards.iter().any(|s| matches!(s.2, Body::Files(..)));
    let dropped = old.is_some_and(|o| o.shards.len() != shards.len());
    let rewrite = cache_path.is_some() && (changed || dropped);
    let delta_shards: std::collections::HashSet<&str> = match old {
        Some(o) if !dropped => shards
            .iter()
            .filter(|s| matches!(s.2, Body::Files(..)) || o.in_delta.contains(&s.0))
            .map(|s| s.0.as_str())
            .collect(),
        _ => Default::default(),
    };
    let as_delta = old.is_some() && !dropped && delta_shards.len() <= DELTA_MAX;
    let mut fresh = cache_path.filter(|_| rewrite).and_then(|path| {
        Writer::create(&if as_delta {
            delta_path(path)
        } else {
            path.to_owned()
        })
    });
    if let Some(out) = &mut fresh {
        out.push(&format!("{MAGIC}\t{salt}\n"));
    }
    Output {
        fresh,
        as_delta,
        delta_shards,
    }
}

/// Puts a cache file written by a complete scan in place. A failed write
/// only costs speed next time. Every entry is keyed by tree and blob ids,
/// so a delta file left over from before a base rewrite can only cost
/// speed too.
fn finish_cache(path: &Path, out: Writer, as_delta: bool) {
    if out.finish() && !as_delta {
        let _ = std::fs::remove_file(delta_path(path));
    }
}

/// A shard's body in the scan: from the cache, or its files listed anew.
enum Body<'a> {
    /// Unchanged since the cache was written: its lines are in the file.
    Cached(&'a Section),
    /// The shard's files (name, blob, payload when the cache knew the
    /// blob), and where its blobs to derive end in the scan's `todo`.
    Files(Vec<(String, Oid, Option<Option<String>>)>, usize),
}

/// What pass 1 of a scan found.
struct Listed<'a> {
    /// Each shard's name, tree and body, in tree order.
    shards: Vec<(String, Oid, Body<'a>)>,
    /// Stray files directly under `tickets/`: never cached.
    stray: Vec<(String, Oid)>,
    /// The ticket files whose payloads must be derived.
    todo: Vec<(String, Oid)>,
}

/// Lists every file under `tickets` without reading any (the keep file
/// aside): the shards' files in tree order, then the stray files directly
/// under `tickets/`, each with its path.
pub(super) fn list_files(
    repo: &Repository,
    packs: &OnceCell<PackSet>,
    tickets: &Tree<'_>,
) -> Result<Vec<(String, Oid)>, Error> {
    // Without a cache every file of every shard is to derive: in tree order.
    let Listed {
        stray, mut todo, ..
    } = list_shards(repo, packs, tickets, None)?;
    todo.extend(
        stray
            .into_iter()
            .map(|(name, blob)| (format!("{}/{name}", layout::TICKETS_DIR), blob)),
    );
    Ok(todo)
}

/// Pass 1 of a scan: per shard, reuses the cached body when the shard's
/// tree is unchanged, or lists its files, reusing the cached payloads of
/// blobs it still holds and noting which blobs need deriving.
fn list_shards<'a>(
    repo: &Repository,
    packs: &OnceCell<PackSet>,
    tickets: &Tree<'_>,
    old: Option<&'a Loaded>,
) -> Result<Listed<'a>, Error> {
    let mut shards: Vec<(String, Oid, Body<'_>)> = Vec::new();
    // The shard trees the cache does not know are read: many of them (a
    // first scan, or one after an import) straight from the packs, as the
    // blobs are (libgit2 would keep the pages of their delta chains
    // mapped).
    let reading = tickets
        .iter()
        .filter(|entry| {
            let name = entry.name().unwrap_or_default();
            old.and_then(|o| o.shards.get(name))
                .is_none_or(|section| section.tree != entry.id())
        })
        .count();
    let mut trees = pack_reader::for_reading(packs, repo.path(), reading).reader();
    let mut stray = Vec::new();
    let mut todo: Vec<(String, Oid)> = Vec::new();
    for shard_entry in tickets.iter() {
        let name = shard_entry.name().unwrap_or_default().to_owned();
        if shard_entry.kind() != Some(ObjectType::Tree) {
            if format!("{}/{name}", layout::TICKETS_DIR) != layout::KEEP_FILE {
                stray.push((name, shard_entry.id()));
            }
            continue;
        }
        let cached = old.and_then(|o| Some((o, o.shards.get(&name)?)));
        let body = match cached {
            Some((_, section)) if section.tree == shard_entry.id() => Body::Cached(section),
            cached => {
                let mut by_blob: HashMap<Oid, Option<String>> = HashMap::new();
                if let Some((hot, cold)) = cached.and_then(|(o, section)| o.read(section)) {
                    for line in hot.lines().chain(cold.lines()) {
                        if let Some(item) = parse_line(&name, line) {
                            by_blob.insert(item.blob, item.payload.map(str::to_owned));
                        }
                    }
                }
                let entries = shard_files(repo, &mut trees, shard_entry.id())?;
                let mut files = Vec::with_capacity(entries.len());
                for (file_name, id) in entries {
                    let known = by_blob.get(&id).cloned();
                    if known.is_none() {
                        todo.push((format!("{}/{name}/{file_name}", layout::TICKETS_DIR), id));
                    }
                    files.push((file_name, id, known));
                }
                Body::Files(files, todo.len())
            }
        };
        shards.push((name, shard_entry.id(), body));
    }
    Ok(Listed {
        shards,
        stray,
        todo,
    })
}

/// The cache text of a shard listed anew: its hot and cold lines. Each
/// derived payload moves out of `derived` once, unless its blob is listed
/// `twice`.
fn shard_text(
    files: &[(String, Oid, Option<Option<String>>)],
    derived: &mut HashMap<Oid, Option<String>>,
    twice: &std::collections::HashSet<Oid>,
    how: &Scan<'_>,
) -> (String, String) {
    let (mut hot, mut cold) = (String::new(), String::new());
    for (file, blob, known) in files {
        let payload = match known {
            Some(payload) => payload.clone(),
            None if twice.contains(blob) => derived.get(blob).cloned().flatten(),
            None => derived.remove(blob).flatten(),
        };
        match payload.filter(|p| !p.contains('\n')) {
            Some(p) if (how.cold)(&p) => {
                cold.push_str(&format!("{blob}\t{file}\t={p}\n"));
            }
            Some(p) => hot.push_str(&format!("{blob}\t{file}\t={p}\n")),
            None => hot.push_str(&format!("{blob}\t{file}\t!\n")),
        }
    }
    (hot, cold)
}

/// The cache text of one shard derived from scratch.
fn derive_shard(
    repo: &Repository,
    packs: &OnceCell<PackSet>,
    shard: &str,
    tree: Oid,
    how: &Scan<'_>,
) -> Result<(String, String), Error> {
    let mut trees = pack_reader::for_reading(packs, repo.path(), 1).reader();
    let files: Vec<(String, Oid, Option<Option<String>>)> = shard_files(repo, &mut trees, tree)?
        .into_iter()
        .map(|(name, blob)| (name, blob, None))
        .collect();
    let todo: Vec<(String, Oid)> = files
        .iter()
        .map(|(name, blob, _)| (format!("{}/{shard}/{name}", layout::TICKETS_DIR), *blob))
        .collect();
    let mut derived = derive_all(repo, packs, &todo, how.derive)?;
    // Every payload is copied: a blob may be listed twice.
    let twice = derived.keys().copied().collect();
    Ok(shard_text(&files, &mut derived, &twice, how))
}

/// Ticket files a first scan reads and derives at a time.
const DERIVE_BLOCK: usize = 2048;

/// A cache file being written: a temporary file beside it, renamed into
/// place by [`Writer::finish`]; dropped unfinished (the scan failed), it is
/// removed. Write errors are remembered, not reported: the cache is only
/// ever worth some speed.
struct Writer {
    path: std::path::PathBuf,
    tmp: std::path::PathBuf,
    out: Option<std::io::BufWriter<std::fs::File>>,
}

impl Writer {
    fn create(path: &Path) -> Option<Self> {
        let dir = path.parent()?;
        std::fs::create_dir_all(dir).ok()?;
        let name = path.file_name()?.to_string_lossy();
        remove_stale_temporaries(dir);
        let tmp = dir.join(format!(".{name}.tix-{}.tmp", std::process::id()));
        let file = std::fs::File::create(&tmp).ok()?;
        Some(Self {
            path: path.to_owned(),
            tmp,
            out: Some(std::io::BufWriter::with_capacity(1 << 16, file)),
        })
    }

    fn push(&mut self, text: &str) {
        use std::io::Write as _;
        if let Some(out) = &mut self.out
            && out.write_all(text.as_bytes()).is_err()
        {
            self.out = None;
        }
    }

    /// Puts the file in place; tells whether it got there.
    fn finish(mut self) -> bool {
        use std::io::Write as _;
        let written = self
            .out
            .take()
            .is_some_and(|mut out| out.flush().is_ok() && out.into_inner().is_ok());
        written && std::fs::rename(&self.tmp, &self.path).is_ok()
    }
}

/// Removes temporary cache files a killed tix left (older than an hour:
/// no scan takes that long, so none is being written).
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour = std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > hour));
        if name.starts_with('.') && name.contains(".tix-") && name.ends_with(".tmp") && stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // After a rename this finds nothing; otherwise it is a partial file.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// The entries (name, id) of a shard tree, from the packs when it is
/// there, else through libgit2. A name that is not UTF-8 reads as empty, as
/// libgit2's `name()` gives it.
fn shard_files(
    repo: &Repository,
    packs: &mut pack_reader::Reader<'_>,
    tree: Oid,
) -> Result<Vec<(String, Oid)>, Error> {
    // A ticket's attachment directory (`k3x9p2/`) is not a ticket file; a
    // directory named like one (`k3x9p2.toml/`) is listed, to be reported.
    let listed = |name: &str, blob: bool| blob || name.ends_with(".toml");
    if let Some(entries) = packs.tree_entries(&tree) {
        return Ok(entries
            .into_iter()
            .filter(|e| listed(&e.name, e.is_blob()))
            .map(|e| (e.name, e.id))
            .collect());
    }
    let tree = repo.find_tree(tree)?;
    Ok(tree
        .iter()
        .map(|e| {
            let blob = e.kind() != Some(ObjectType::Tree);
            (e.name().unwrap_or_default().to_owned(), e.id(), blob)
        })
        .filter(|(name, _, blob)| listed(name, *blob))
        .map(|(name, id, _)| (name, id))
        .collect())
}

/// Reads and derives `todo` in parallel.
fn derive_all(
    repo: &Repository,
    packs: &OnceCell<PackSet>,
    todo: &[(String, Oid)],
    derive: &(dyn Fn(RawTicket) -> Option<String> + Sync),
) -> Result<HashMap<Oid, Option<String>>, Error> {
    let derived = map_blobs(repo, packs, todo, derive)?;
    Ok(todo.iter().map(|(_, blob)| *blob).zip(derived).collect())
}

/// Reads each `(path, blob)` as a ticket file and maps it with `f`, on
/// every core, in order (see [`for_each_blob`]).
pub(super) fn map_blobs<T: Send>(
    repo: &Repository,
    packs: &OnceCell<PackSet>,
    items: &[(String, Oid)],
    f: &(dyn Fn(RawTicket) -> T + Sync),
) -> Result<Vec<T>, Error> {
    let mut out = Vec::with_capacity(items.len());
    for_each_blob(repo, packs, items, f, &mut |mapped| {
        out.push(mapped);
        ControlFlow::Continue(())
    })?;
    Ok(out)
}

/// Reads each `(path, blob)` as a ticket file, maps it with `f` on every
/// core, and hands the results to `sink` in order, until `sink` breaks.
/// Each text is dropped as soon as `f` is done with it, and each thread
/// works at most two blocks ahead of `sink`, so memory holds a few blocks
/// of results, however many the items. The threads live for the whole call: a thread that ends
/// leaves the allocator holding what it had used. Blobs are read straight
/// from the pack files ([`PackSet`]), so the packs are not mapped into
/// memory; what is not in a pack comes from libgit2, through a handle each
/// thread opens when it first needs one (handles are not shared across
/// threads).
pub(super) fn for_each_blob<T: Send>(
    repo: &Repository,
    packs: &OnceCell<PackSet>,
    items: &[(String, Oid)],
    f: &(dyn Fn(RawTicket) -> T + Sync),
    sink: &mut dyn FnMut(T) -> ControlFlow<()>,
) -> Result<(), Error> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let packs = pack_reader::for_reading(packs, repo.path(), items.len());
    if items.len() < 2 * BLOCK || threads == 1 {
        let mut reader = packs.reader();
        let mut fallback = Fallback::Open(repo);
        for (path, blob) in items {
            let mapped = f(read_via(&mut reader, &mut fallback, path.clone(), *blob));
            if sink(mapped).is_break() {
                break;
            }
        }
        return Ok(());
    }
    let blocks: Vec<&[(String, Oid)]> = items.chunks(BLOCK).collect();
    let git_dir = repo.path().to_owned();
    std::thread::scope(|scope| {
        // Thread `t` maps blocks t, t + threads, ... and hands each over
        // its own channel, so the blocks arrive in order.
        let (mut handles, receivers): (Vec<_>, Vec<_>) = (0..threads)
            .map(|t| {
                let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<T>>(1);
                let (blocks, git_dir) = (&blocks, &git_dir);
                let handle = scope.spawn(move || {
                    let mut reader = packs.reader();
                    let mut fallback = Fallback::Lazy(git_dir, None);
                    for block in blocks.iter().skip(t).step_by(threads) {
                        let mapped = block
                            .iter()
                            .map(|(path, blob)| {
                                f(read_via(&mut reader, &mut fallback, path.clone(), *blob))
                            })
                            .collect();
                        if sender.send(mapped).is_err() {
                            return; // the caller stopped
                        }
                    }
                });
                (Some(handle), receiver)
            })
            .unzip();
        'blocks: for n in 0..blocks.len() {
            let Ok(mapped) = receivers[n % threads].recv() else {
                // The thread panicked (a bug in `f`): pass its panic on.
                if let Some(Err(panic)) = handles[n % threads].take().map(|h| h.join()) {
                    std::panic::resume_unwind(panic);
                }
                break;
            };
            for item in mapped {
                if sink(item).is_break() {
                    // Dropping the receivers stops the threads.
                    break 'blocks;
                }
            }
        }
        drop(receivers);
    });
    Ok(())
}

/// Ticket files one thread reads and maps before handing them over.
const BLOCK: usize = 32;

/// Where a thread reads the blobs that are not in a pack.
enum Fallback<'a> {
    /// The caller's handle.
    Open(&'a Repository),
    /// A handle of the thread's own, opened when first needed.
    Lazy(&'a Path, Option<Repository>),
}

impl Fallback<'_> {
    fn repo(&mut self) -> Result<&Repository, Error> {
        match self {
            Self::Open(repo) => Ok(repo),
            Self::Lazy(_, Some(repo)) => Ok(repo),
            Self::Lazy(git_dir, slot) => Ok(slot.insert(Repository::open(*git_dir)?)),
        }
    }
}

/// Reads one blob as a ticket file: from the packs, else through libgit2.
fn read_via(
    reader: &mut pack_reader::Reader<'_>,
    fallback: &mut Fallback<'_>,
    path: String,
    blob: Oid,
) -> RawTicket {
    let bytes = match reader.blob(&blob) {
        Some(bytes) => Ok(bytes),
        None => fallback.repo().and_then(|repo| match repo.find_blob(blob) {
            Ok(found) => Ok(found.content().to_vec()),
            // A tree (a directory named like a ticket file) or a submodule: the
            // wrong type, not a missing object (a partial clone, a corrupt one).
            Err(e) if e.class() == git2::ErrorClass::Invalid => Err(Error::NotAFile(path.clone())),
            Err(e) => Err(e.into()),
        }),
    };
    let text = bytes.and_then(|b| String::from_utf8(b).map_err(|_| Error::NotText(path.clone())));
    RawTicket {
        id: layout::id_from_path(&path),
        path,
        blob,
        text,
    }
}

/// Reads one blob as a ticket file.
pub(super) fn read_raw(repo: &Repository, path: String, blob: Oid) -> RawTicket {
    let text = match repo.find_blob(blob) {
        Ok(b) => String::from_utf8(b.content().to_vec()).map_err(|_| Error::NotText(path.clone())),
        // A tree (a directory named like a ticket file) or a submodule: the
        // wrong type, not a missing object (a partial clone, a corrupt one).
        Err(e) if e.class() == git2::ErrorClass::Invalid => Err(Error::NotAFile(path.clone())),
        Err(e) => Err(e.into()),
    };
    RawTicket {
        id: layout::id_from_path(&path),
        path,
        blob,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_libgit2_reads_them() {
        for text in [
            "5b2c0e9ad6f0e3ff1f6c9d8c0b1a2f3e4d5c6b7a",
            "0".repeat(40).as_str(),
        ] {
            assert_eq!(oid_from_hex(text), Oid::from_str(text).ok());
        }
        let short = &"ab".repeat(20)[..39];
        for bad in [short, &"g".repeat(40), &"é".repeat(20), ""] {
            assert_eq!(oid_from_hex(bad), None, "{bad}");
        }
        let line = format!("{}\tk3x9p2.toml\t=payload\twith tab", "ab".repeat(20));
        let item = parse_line("k3", &line).unwrap();
        assert_eq!(
            (item.file, item.payload),
            ("k3x9p2.toml", Some("payload\twith tab"))
        );
        let stub = format!("{}\tk3x9p2.toml\t!", "ab".repeat(20));
        assert_eq!(parse_line("k3", &stub).unwrap().payload, None);
        assert!(parse_line("k3", &format!("{}\tk3x9p2.toml", "ab".repeat(20))).is_none());
    }

    #[test]
    fn raw_trees_split_as_libgit2_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"x").unwrap();
        let mut sub = repo.treebuilder(None).unwrap();
        sub.insert("inner.toml", blob, 0o100644).unwrap();
        let sub = sub.write().unwrap();
        let mut builder = repo.treebuilder(None).unwrap();
        builder.insert("a.toml", blob, 0o100644).unwrap();
        builder.insert("run.sh", blob, 0o100755).unwrap();
        builder.insert("link", blob, 0o120000).unwrap();
        builder.insert("zz", sub, 0o040000).unwrap();
        builder
            .insert("module", Oid::from_bytes(&[7; 20]).unwrap(), 0o160000)
            .unwrap();
        builder.insert("é.toml", blob, 0o100644).unwrap();
        let tree = repo.find_tree(builder.write().unwrap()).unwrap();
        let odb = repo.odb().unwrap();
        let raw = odb.read(tree.id()).unwrap();
        let expected: Vec<(String, Oid)> = tree
            .iter()
            .map(|e| (e.name().unwrap().to_owned(), e.id()))
            .collect();
        let parsed = pack_reader::parse_tree(raw.data()).unwrap();
        let names: Vec<(String, Oid)> = parsed.iter().map(|e| (e.name.clone(), e.id)).collect();
        assert_eq!(names, expected);
        let blobs: Vec<bool> = parsed.iter().map(pack_reader::TreeEntry::is_blob).collect();
        let kinds: Vec<bool> = tree
            .iter()
            .map(|e| e.kind() == Some(ObjectType::Blob))
            .collect();
        assert_eq!(blobs, kinds);
        for entry in tree.iter() {
            let name = entry.name_bytes();
            let found = pack_reader::entry_kind_id(raw.data(), name);
            assert_eq!(
                found,
                Some((entry.kind().unwrap(), entry.id())),
                "{:?}",
                entry.name()
            );
        }
        assert_eq!(pack_reader::entry_kind_id(raw.data(), b"absent"), None);
        let cut = &raw.data()[..raw.len() - 1];
        assert!(pack_reader::parse_tree(cut).is_none(), "cut short");
    }

    /// Many blocks across the threads, half of them from a pack and half
    /// loose: every result arrives once, in order.
    #[test]
    fn blobs_stream_in_order_from_packs_and_loose_objects() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let write = |range: std::ops::Range<usize>| -> Vec<(String, Oid)> {
            range
                .map(|i| {
                    let blob = repo.blob(format!("file {i}\n").as_bytes()).unwrap();
                    (format!("tickets/{i:05}.toml"), blob)
                })
                .collect()
        };
        let mut items = write(0..300);
        // Nothing refers to the blobs: pack them by id.
        let pack = std::process::Command::new("git")
            .current_dir(dir.path())
            .args(["pack-objects", "-q", ".git/objects/pack/pack"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write as _;
                let ids: String = items.iter().map(|(_, id)| format!("{id}\n")).collect();
                child.stdin.take().unwrap().write_all(ids.as_bytes())?;
                child.wait()
            })
            .unwrap();
        assert!(pack.success());
        items.extend(write(300..700));
        let packs = OnceCell::new();
        let mut seen = Vec::new();
        for_each_blob(
            &repo,
            &packs,
            &items,
            &|raw| (raw.path, raw.text.unwrap()),
            &mut |item| {
                seen.push(item);
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        let expected: Vec<(String, String)> = (0..700)
            .map(|i| (format!("tickets/{i:05}.toml"), format!("file {i}\n")))
            .collect();
        assert_eq!(seen, expected);
        assert!(
            packs
                .get()
                .is_some_and(|set| set.reader().blob(&items[0].1).is_some()),
            "the first blobs come from the pack"
        );
        // A sink that breaks gets nothing more.
        let mut taken = 0;
        for_each_blob(&repo, &packs, &items, &|raw| raw.path, &mut |_| {
            taken += 1;
            if taken == 40 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert_eq!(taken, 40);
    }
}
