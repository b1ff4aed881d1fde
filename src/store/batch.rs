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

use std::io::Write as _;

use git2::build::TreeUpdateBuilder;
use git2::{Buf, FileMode, ObjectType, Oid, Repository};

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
        let mut objects: Vec<Oid> = Vec::with_capacity(items.len() * 5);
        let mut journal = Vec::with_capacity(items.len());
        for item in items {
            let path = layout::ticket_path(&item.id);
            let current = git::blob_in(&tree, &path)?;
            if current != Some(item.base) {
                report
                    .skipped
                    .push((item.id.clone(), "it changed while the rules ran".to_owned()));
                continue;
            }
            if let Err(err) = git::check_clean(&self.repo, &self.root, &path, current) {
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
            // Every tree on the path changed: root, tickets/, the shard.
            let shard_path = format!("{}/{}", layout::TICKETS_DIR, item.id.shard());
            let inner = [layout::TICKETS_DIR, shard_path.as_str()]
                .into_iter()
                .filter_map(|p| tree.get_path(std::path::Path::new(p)).ok())
                .filter(|e| e.kind() == Some(ObjectType::Tree))
                .map(|e| e.id());
            objects.extend([blob, tree_id, commit].into_iter().chain(inner));
            journal.push((path, current));
            report.committed.push(item.id.clone());
            progress(report.committed.len());
        }
        let Some(last) = report.committed.last().map(|_| parent.id()) else {
            return Ok(report);
        };

        // One pack with every new object, written into the real store.
        let mut builder = mem_repo.packbuilder()?;
        for oid in &objects {
            builder.insert_object(*oid, None)?;
        }
        let mut pack = Buf::new();
        builder.write_buf(&mut pack)?;
        drop(builder);
        let odb = self.repo.odb()?;
        let mut writer = odb.packwriter()?;
        writer
            .write_all(&pack)
            .map_err(|e| Error::io(self.repo.path(), e))?;
        writer.commit()?;
        drop(writer);
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
}
