//! Many one-ticket commits at once, for automation runs.
//!
//! Closing 10,000 tickets as 10,000 ordinary changes would write 50,000
//! loose objects and rewrite the index 10,000 times. A batch builds the same
//! chain of commits (one per ticket, each touching only its file) in memory,
//! writes all new objects as one pack, moves the branch once with a
//! compare-and-swap, and refreshes the working tree and index once. Killed
//! before the branch moves, nothing is visible (the pack is unreferenced
//! and `git gc` drops it); killed after, the journal lets the next writer
//! finish the refresh.

use std::collections::HashMap;
use std::io::Write as _;

use git2::{ObjectType, Oid, Repository};
use sha1::{Digest, Sha1};

use super::lock::GitLockClaim;
use super::pack::Pack;
use super::{Error, Signature, Store, git, layout};
use crate::model::TicketId;

/// One ticket rewrite in a batch.
#[derive(Clone, Debug)]
pub struct BatchItem {
    /// The ticket.
    pub id: TicketId,
    /// The blob the new content was derived from: the item is skipped when
    /// the ticket changed meanwhile.
    pub base: Oid,
    /// The new file content.
    pub content: String,
    /// The commit message.
    pub message: String,
}

/// What a batch did.
#[derive(Clone, Debug, Default)]
pub struct BatchReport {
    /// Tickets committed, in commit order.
    pub committed: Vec<TicketId>,
    /// Tickets skipped, with the reason (changed meanwhile, uncommitted edits).
    pub skipped: Vec<(TicketId, String)>,
}

impl Store {
    /// Returns the blob id of a ticket file in `HEAD`.
    pub fn ticket_blob(&self, id: &TicketId) -> Result<Option<Oid>, Error> {
        git::head_blob(&self.repo, &layout::ticket_path(id))
    }

    /// Commits every item as its own commit, in order, in one batch.
    /// `progress` is called with the number of commits built so far.
    pub fn commit_batch(
        &self,
        items: &[BatchItem],
        sig: &Signature,
        progress: &mut dyn FnMut(usize),
    ) -> Result<BatchReport, Error> {
        let _lock = self.lock()?;
        self.check_state()?;
        let mut report = BatchReport::default();
        let Some(head) = git::head_commit(&self.repo)? else {
            return Ok(report);
        };
        let head_id = head.id();

        // Validates name and email the way every other commit does.
        let time = git2::Time::new(sig.time.unix(), 0);
        let git_sig = git2::Signature::new(&sig.name, &sig.email, &time)?;
        let signature = format!(
            "{} <{}> {} +0000",
            git_sig.name().unwrap_or_default(),
            git_sig.email().unwrap_or_default(),
            sig.time.unix()
        );
        let head_tree = head.tree()?;
        let mut snapshot = git::Snapshot::new(&self.repo, &head_tree)?;
        let mut trees = Trees::open(&self.repo, head_tree.id())?;
        let mut parent = head_id;
        let mut journal = Vec::with_capacity(items.len());
        let index = super::index::all_entry_oids(&self.repo.path().join("index"));
        let mut pack = Pack::new();
        // The previous `tickets/` tree in the current pack: the next one is
        // written as a delta against it.
        let mut previous: Option<(Oid, Vec<u8>)> = None;
        for item in items {
            let path = layout::ticket_path(&item.id);
            let current = snapshot.blob(&item.id)?;
            if current != Some(item.base) {
                report
                    .skipped
                    .push((item.id.clone(), "it changed while the rules ran".to_owned()));
                continue;
            }
            let staged = |index: &Option<HashMap<String, Oid>>| match index {
                Some(entries) => Ok(entries.get(&path).copied()),
                None => git::index_blob(&self.repo, &path),
            };
            if let Err(err) = git::check_clean_with(&self.root, &path, current, || staged(&index)) {
                report.skipped.push((item.id.clone(), err.to_string()));
                continue;
            }
            // The new blob, and the three trees on its path with one id
            // replaced in place (names and order do not change).
            let blob = hash("blob", item.content.as_bytes());
            let shard = trees.shard(&self.repo, item.id.shard())?;
            set_entry(shard, format!("{}.toml", item.id).as_bytes(), blob)?;
            let shard_id = hash("tree", shard);
            pack.add(ObjectType::Blob, item.content.as_bytes());
            pack.add(ObjectType::Tree, shard);
            set_entry(&mut trees.tickets, item.id.shard().as_bytes(), shard_id)?;
            let tickets_id = hash("tree", &trees.tickets);
            match &previous {
                Some((base, base_data)) => pack.add_delta(*base, base_data, &trees.tickets),
                None => pack.add(ObjectType::Tree, &trees.tickets),
            }
            previous = Some((tickets_id, trees.tickets.clone()));
            set_entry(&mut trees.root, layout::TICKETS_DIR.as_bytes(), tickets_id)?;
            let root_id = hash("tree", &trees.root);
            pack.add(ObjectType::Tree, &trees.root);
            // Byte for byte what git_commit_create writes.
            let commit = format!(
                "tree {root_id}\nparent {parent}\nauthor {signature}\ncommitter {signature}\n\n{}",
                item.message
            );
            parent = hash("commit", commit.as_bytes());
            pack.add(ObjectType::Commit, commit.as_bytes());
            journal.push((path, current));
            report.committed.push(item.id.clone());
            progress(report.committed.len());
            if report.committed.len() % CHUNK == 0 {
                // Bound memory: write what we have, start a new pack.
                self.write_pack(std::mem::replace(&mut pack, Pack::new()))?;
                previous = None;
            }
        }
        let Some(last) = report.committed.last().map(|_| parent) else {
            return Ok(report);
        };
        self.write_pack(pack)?;

        // Publish: one compare-and-swap of the branch, then one refresh.
        let private = self.private_dir();
        git::write_journal(&private, &journal)?;
        let branch = git::head_target(&self.repo)?;
        let message = format!("tix: {} automation commits", report.committed.len());
        let claim = GitLockClaim::record(&private, git::REF_LOCK, &git::branch_lock(&self.repo)?)?;
        let moved = self
            .repo
            .reference_matching(&branch, last, true, head_id, &message);
        drop(claim);
        if let Err(err) = moved {
            git::remove_journal(&private)?;
            return Err(if err.code() == git2::ErrorCode::Modified {
                Error::Contended(1)
            } else {
                err.into()
            });
        }
        let paths: Vec<String> = journal.into_iter().map(|(path, _)| path).collect();
        git::refresh(&self.repo, &self.root, &paths)?;
        git::remove_journal(&private)?;
        Ok(report)
    }

    /// Stores a finished pack (and its index) in the object database.
    fn write_pack(&self, pack: Pack) -> Result<(), Error> {
        if pack.is_empty() {
            return Ok(());
        }
        let odb = self.repo.odb()?;
        let mut writer = odb.packwriter()?;
        writer
            .write_all(&pack.finish())
            .map_err(|e| Error::io(self.repo.path(), e))?;
        writer.commit()?;
        Ok(())
    }
}

/// The raw trees on the paths a batch changes: the root, `tickets/` and
/// the shards touched so far, edited in place.
struct Trees {
    root: Vec<u8>,
    tickets: Vec<u8>,
    shards: HashMap<String, Vec<u8>>,
}

impl Trees {
    fn open(repo: &Repository, root: Oid) -> Result<Self, Error> {
        let odb = repo.odb()?;
        let root = odb.read(root)?.data().to_vec();
        let tickets_id = entry_id(&root, layout::TICKETS_DIR.as_bytes())
            .ok_or_else(|| missing(layout::TICKETS_DIR))?;
        let tickets = odb.read(tickets_id)?.data().to_vec();
        Ok(Self {
            root,
            tickets,
            shards: HashMap::new(),
        })
    }

    fn shard(&mut self, repo: &Repository, name: &str) -> Result<&mut Vec<u8>, Error> {
        if !self.shards.contains_key(name) {
            let id = entry_id(&self.tickets, name.as_bytes()).ok_or_else(|| missing(name))?;
            self.shards
                .insert(name.to_owned(), repo.odb()?.read(id)?.data().to_vec());
        }
        self.shards.get_mut(name).ok_or_else(|| missing(name))
    }
}

fn missing(name: &str) -> Error {
    Error::NotFound(format!("{name} in the tree of HEAD"))
}

/// Finds entry `name` in a raw tree object (`<mode> <name>\0<20-byte id>`
/// repeated) and returns the offset of its id.
fn entry_offset(data: &[u8], name: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < data.len() {
        let space = at + data[at..].iter().position(|b| *b == b' ')?;
        let nul = space + data[space..].iter().position(|b| *b == 0)?;
        if nul + 21 > data.len() {
            return None;
        }
        if &data[space + 1..nul] == name {
            return Some(nul + 1);
        }
        at = nul + 21;
    }
    None
}

fn entry_id(data: &[u8], name: &[u8]) -> Option<Oid> {
    let at = entry_offset(data, name)?;
    Oid::from_bytes(&data[at..at + 20]).ok()
}

fn set_entry(data: &mut [u8], name: &[u8], id: Oid) -> Result<(), Error> {
    let at = entry_offset(data, name).ok_or_else(|| missing(&String::from_utf8_lossy(name)))?;
    data[at..at + 20].copy_from_slice(id.as_bytes());
    Ok(())
}

/// The git object id of `data` as an object of `kind`.
fn hash(kind: &str, data: &[u8]) -> Oid {
    let mut hasher = Sha1::new();
    hasher.update(format!("{kind} {}\0", data.len()).as_bytes());
    hasher.update(data);
    // A SHA-1 digest is always 20 bytes.
    Oid::from_bytes(&hasher.finalize()).unwrap_or(Oid::ZERO_SHA1)
}

/// Commits per pack: bounds the memory a run holds (the pack is built
/// compressed in memory: about 2 KB per commit) while keeping a run of
/// up to this many commits in one pack.
const CHUNK: usize = 20_000;
