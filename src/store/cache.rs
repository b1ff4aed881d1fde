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

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use git2::{ObjectType, Oid, Repository, Tree};

use super::{Error, RawTicket, git, layout};
use crate::model::TicketId;

const MAGIC: &str = "tix-cache 1";

/// One ticket file seen by a cached scan.
#[derive(Clone, Debug)]
pub struct Scanned {
    /// Path in the repository.
    pub path: String,
    /// The id the path names, when it has the layout's shape.
    pub id: Option<TicketId>,
    /// The blob id of the content.
    pub blob: Oid,
    /// What `derive` returned; `None` when it could not derive (a broken
    /// file): read the blob again to report it.
    pub payload: Option<String>,
}

#[derive(Default)]
struct Shard {
    tree: Option<Oid>,
    entries: Vec<(Oid, String, Option<String>)>,
}

struct CacheFile {
    salt: String,
    shards: BTreeMap<String, Shard>,
}

fn load(path: &Path, salt: &str) -> Option<CacheFile> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let (magic, file_salt) = lines.next()?.split_once('\t')?;
    if magic != MAGIC || file_salt != salt {
        return None;
    }
    let mut shards = BTreeMap::new();
    while let Some(line) = lines.next() {
        let mut parts = line.split('\t');
        let (Some("S"), Some(name), Some(tree), Some(count)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let count: usize = count.parse().ok()?;
        let mut shard = Shard {
            tree: Some(Oid::from_str(tree).ok()?),
            entries: Vec::with_capacity(count),
        };
        for _ in 0..count {
            let mut parts = lines.next()?.splitn(3, '\t');
            let blob = Oid::from_str(parts.next()?).ok()?;
            let file = parts.next()?.to_owned();
            let payload = parts.next()?;
            let payload = payload.strip_prefix('=').map(str::to_owned);
            shard.entries.push((blob, file, payload));
        }
        shards.insert(name.to_owned(), shard);
    }
    Some(CacheFile {
        salt: salt.to_owned(),
        shards,
    })
}

fn save(path: &Path, cache: &CacheFile) -> Result<(), Error> {
    let mut text = format!("{MAGIC}\t{}\n", cache.salt);
    for (name, shard) in &cache.shards {
        let Some(tree) = shard.tree else { continue };
        text.push_str(&format!("S\t{name}\t{tree}\t{}\n", shard.entries.len()));
        for (blob, file, payload) in &shard.entries {
            match payload {
                Some(payload) => text.push_str(&format!("{blob}\t{file}\t={payload}\n")),
                None => text.push_str(&format!("{blob}\t{file}\t!\n")),
            }
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    git::write_atomic(path, text.as_bytes())
}

/// Scans every ticket file in `tickets_tree`, reusing cached payloads.
pub(super) fn scan(
    repo: &Repository,
    tickets_tree: Option<Tree<'_>>,
    cache_path: &Path,
    salt: &str,
    derive: &mut dyn FnMut(&RawTicket) -> Option<String>,
    use_cache: bool,
) -> Result<Vec<Scanned>, Error> {
    debug_assert!(!salt.contains(['\t', '\n']));
    let old = if use_cache {
        load(cache_path, salt)
    } else {
        None
    };
    let loaded = old.is_some();
    let mut old_shards = old.map(|c| c.shards).unwrap_or_default();
    let mut fresh = CacheFile {
        salt: salt.to_owned(),
        shards: BTreeMap::new(),
    };
    let mut changed = !loaded;
    let mut out = Vec::new();
    let Some(tickets) = tickets_tree else {
        return Ok(out);
    };
    for shard_entry in tickets.iter() {
        let name = shard_entry.name().unwrap_or_default().to_owned();
        if shard_entry.kind() != Some(ObjectType::Tree) {
            // A stray file directly under tickets/: never cached.
            let path = format!("{}/{name}", layout::TICKETS_DIR);
            if path != layout::KEEP_FILE {
                out.push(Scanned {
                    id: None,
                    path,
                    blob: shard_entry.id(),
                    payload: None,
                });
            }
            continue;
        }
        let old = old_shards.remove(&name).unwrap_or_default();
        let shard = if old.tree == Some(shard_entry.id()) {
            old
        } else {
            changed = true;
            let mut by_blob: HashMap<Oid, Option<String>> = old
                .entries
                .into_iter()
                .map(|(blob, _, payload)| (blob, payload))
                .collect();
            let tree = shard_entry.to_object(repo)?.peel_to_tree()?;
            let mut entries = Vec::with_capacity(tree.len());
            for file in tree.iter() {
                let file_name = file.name().unwrap_or_default().to_owned();
                let payload = match by_blob.remove(&file.id()) {
                    Some(payload) => payload,
                    None => {
                        let raw = read_raw(
                            repo,
                            format!("{}/{name}/{file_name}", layout::TICKETS_DIR),
                            file.id(),
                        );
                        derive(&raw)
                    }
                };
                entries.push((file.id(), file_name, payload));
            }
            Shard {
                tree: Some(shard_entry.id()),
                entries,
            }
        };
        for (blob, file, payload) in &shard.entries {
            let path = format!("{}/{name}/{file}", layout::TICKETS_DIR);
            out.push(Scanned {
                id: layout::id_from_path(&path),
                path,
                blob: *blob,
                payload: payload.clone(),
            });
        }
        fresh.shards.insert(name, shard);
    }
    if use_cache && (changed || !old_shards.is_empty()) {
        // A failed write only costs speed next time.
        let _ = save(cache_path, &fresh);
    }
    Ok(out)
}

/// Reads one blob as a ticket file.
pub(super) fn read_raw(repo: &Repository, path: String, blob: Oid) -> RawTicket {
    let text = repo.find_blob(blob).map_err(Error::from).and_then(|b| {
        String::from_utf8(b.content().to_vec()).map_err(|_| Error::NotText(path.clone()))
    });
    RawTicket {
        id: layout::id_from_path(&path),
        path,
        blob,
        text,
    }
}
