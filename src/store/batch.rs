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

use git2::build::TreeUpdateBuilder;
use git2::{FileMode, ObjectType, Oid, Repository};

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

        // A second handle whose object writes go to memory until packed.
        let mem_repo = Repository::open(self.repo.path())?;
        let mem_odb = mem_repo.odb()?;
        let mempack = mem_odb.add_new_mempack_backend(1000)?;
        let time = git2::Time::new(sig.time.unix(), 0);
        let git_sig = git2::Signature::new(&sig.name, &sig.email, &time)?;
        let mut parent = mem_repo.find_commit(head_id)?;
        let mut tree = parent.tree()?;
        // Each ticket appears once in a batch, so its current blob is the
        // one in HEAD (whose trees libgit2 has parsed and cached).
        let head_tree = parent.tree()?;
        let mut snapshot = git::Snapshot::new(&mem_repo, &head_tree)?;
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
            let blob = mem_repo.blob(item.content.as_bytes())?;
            let tree_id = TreeUpdateBuilder::new()
                .upsert(&path, blob, FileMode::Blob)
                .create_updated(&mem_repo, &tree)?;
            tree = mem_repo.find_tree(tree_id)?;
            let commit =
                mem_repo.commit(None, &git_sig, &git_sig, &item.message, &tree, &[&parent])?;
            parent = mem_repo.find_commit(commit)?;

            pack.add(ObjectType::Blob, item.content.as_bytes());
            let tickets = tree.get_name(layout::TICKETS_DIR).map(|e| e.id());
            if let Some(tickets) = tickets {
                let data = mem_odb.read(tickets)?.data().to_vec();
                if let Some(shard) = tree_entry(&data, item.id.shard()) {
                    pack.add(ObjectType::Tree, mem_odb.read(shard)?.data());
                }
                match &previous {
                    Some((base, base_data)) => pack.add_delta(*base, base_data, &data),
                    None => pack.add(ObjectType::Tree, &data),
                }
                previous = Some((tickets, data));
            }
            pack.add(ObjectType::Tree, mem_odb.read(tree_id)?.data());
            pack.add(ObjectType::Commit, mem_odb.read(commit)?.data());
            journal.push((path, current));
            report.committed.push(item.id.clone());
            progress(report.committed.len());
            if report.committed.len() % CHUNK == 0 {
                // Bound memory: write what we have, start a new pack.
                self.write_pack(std::mem::replace(&mut pack, Pack::new()))?;
                mempack.reset()?;
                previous = None;
            }
        }
        let Some(last) = report.committed.last().map(|_| parent.id()) else {
            return Ok(report);
        };
        self.write_pack(pack)?;
        mempack.reset()?;

        // Publish: one compare-and-swap of the branch, then one refresh.
        let private = self.private_dir();
        git::write_journal(&private, &journal)?;
        let head_ref = self.repo.find_reference("HEAD")?;
        let branch = head_ref
            .symbolic_target()
            .ok()
            .flatten()
            .unwrap_or("HEAD")
            .to_owned();
        let message = format!("tix: {} automation commits", report.committed.len());
        if let Err(err) = self
            .repo
            .reference_matching(&branch, last, true, head_id, &message)
        {
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

/// Finds `name` in a raw tree object (`<mode> <name>\0<20-byte id>`...)
/// without parsing the whole tree into objects.
fn tree_entry(data: &[u8], name: &str) -> Option<Oid> {
    let mut at = 0;
    while at < data.len() {
        let space = at + data[at..].iter().position(|b| *b == b' ')?;
        let nul = space + data[space..].iter().position(|b| *b == 0)?;
        let id = data.get(nul + 1..nul + 21)?;
        if &data[space + 1..nul] == name.as_bytes() {
            return Oid::from_bytes(id).ok();
        }
        at = nul + 21;
    }
    None
}

/// Commits per pack: bounds the memory a run holds.
const CHUNK: usize = 1000;
