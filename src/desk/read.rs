//! Reading tickets: the one place that says how.
//!
//! Every reader sees the tickets of one commit, `HEAD`, never the working
//! tree. There are three ways in, by what the caller needs:
//!
//! - one whole ticket: [`Desk::ticket`] (or its file as committed,
//!   [`Desk::ticket_text`]);
//! - many whole tickets: [`Desk::read`], a streaming read. Files are read
//!   and parsed on every core and handed to the caller in the order of the
//!   ids asked for, a few at a time, so a command over 100,000 tickets never
//!   holds them all. Each ticket is first reduced by a `keep` function on
//!   the thread that parsed it (a command that shows a part of many tickets
//!   keeps only that part), unless [`ParseOn::Caller`] asks for the parse on
//!   the calling thread (see there for why);
//! - the one-line summaries that listings, the queue and the automation
//!   choose from: [`Desk::entries`], through the list cache, which parses
//!   only files that changed since the last run (docs/storage.md).
//!
//! Each read ticket comes with its [`Version`], the file content it was
//! parsed from, so a batch rewrite can tell when a ticket changed under it.

use std::ops::ControlFlow;

use super::{Desk, Error};
use crate::config::Config;
use crate::domain::entry::ListEntry;
use crate::domain::lifecycle::Category;
use crate::domain::sla;
use crate::model::{ParseError, Ticket, TicketId, scan};
use crate::store::{self, RawTicket, layout};

/// The version of a ticket file a read saw: the id of its content in git.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Version(pub(crate) git2::Oid);

/// Where [`Desk::read`] parses each ticket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ParseOn {
    /// On the worker threads that read the files: fastest, for a caller
    /// whose `keep` makes each ticket small.
    #[default]
    Workers,
    /// On the calling thread (files are still read on every core), for a
    /// caller that keeps a little of each ticket in its sink: each ticket
    /// is then freed by the thread that built it, whose allocator reuses
    /// that memory at once. Freed by another thread it lingers, and a large
    /// run held far more memory than it needed.
    Caller,
}

/// A ticket file that could not be loaded, for `list` and `doctor`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl Desk {
    /// Loads one ticket from `HEAD`.
    pub fn ticket(&self, id: &TicketId) -> Result<Ticket, Error> {
        let text = self.store.read_ticket(id)?;
        parse_ticket(&layout::ticket_path(id), &text, Some(id))
    }

    /// Returns one ticket's file as committed in `HEAD`.
    pub fn ticket_text(&self, id: &TicketId) -> Result<String, Error> {
        Ok(self.store.read_ticket(id)?)
    }

    /// Loads a ticket at the version an earlier read saw, whatever `HEAD`
    /// holds now.
    pub(crate) fn ticket_at(&self, id: &TicketId, version: Version) -> Result<Ticket, Error> {
        parse_raw(self.store.read_blob(layout::ticket_path(id), version.0)).map(|(t, _)| t)
    }

    /// Reads the tickets `ids` from one snapshot of `HEAD`, makes each into
    /// what `keep` returns (with the version it was read at), and hands the
    /// results to `sink` in the order of `ids` as they come. Stops when
    /// `sink` breaks, or at the first ticket that is missing or does not
    /// parse, and returns its error.
    pub fn read<T: Send>(
        &self,
        ids: &[TicketId],
        parse_on: ParseOn,
        keep: &(dyn Fn(Ticket, Version) -> T + Sync),
        sink: &mut dyn FnMut(T) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        match parse_on {
            ParseOn::Workers => self.for_each_raw(
                ids,
                &|raw| parse_raw(raw).map(|(ticket, version)| keep(ticket, version)),
                &mut |kept| Ok(sink(kept)),
            ),
            ParseOn::Caller => self.for_each_raw(ids, &|raw| Ok(raw), &mut |raw| {
                let (ticket, version) = parse_raw(raw)?;
                Ok(sink(keep(ticket, version)))
            }),
        }
    }

    /// [`Self::read`] into a vector, in the order of `ids`.
    pub fn read_all<T: Send>(
        &self,
        ids: &[TicketId],
        keep: &(dyn Fn(Ticket, Version) -> T + Sync),
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        self.read(ids, ParseOn::Workers, keep, &mut |kept| {
            out.push(kept);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// Reads the tickets `ids` with `read` on every core and hands each
    /// result to `sink`, in order, until `sink` breaks or one fails.
    fn for_each_raw<T: Send>(
        &self,
        ids: &[TicketId],
        read: &(dyn Fn(RawTicket) -> Result<T, Error> + Sync),
        sink: &mut dyn FnMut(T) -> Result<ControlFlow<()>, Error>,
    ) -> Result<(), Error> {
        let mut failed = None;
        let mut at = 0;
        self.store.for_each_ticket(ids, read, &mut |loaded| {
            let id = &ids[at];
            at += 1;
            let done = match loaded {
                Some(Ok(kept)) => sink(kept),
                Some(Err(error)) => Err(error),
                None => Err(store::Error::NotFound(id.to_string()).into()),
            };
            done.unwrap_or_else(|error| {
                failed = Some(error);
                ControlFlow::Break(())
            })
        })?;
        failed.map_or(Ok(()), Err)
    }

    /// Summarises the tickets whose category `keep` accepts, through the
    /// list cache, each made into what `make` returns as it is read (in
    /// path order; `None` drops it), so that a caller keeping a part of
    /// each never holds them all whole. Broken files come back as problems.
    pub fn entries<T>(
        &self,
        keep: &dyn Fn(Option<Category>) -> bool,
        make: impl FnMut(ListEntry) -> Option<T>,
    ) -> Result<(Vec<T>, Vec<Problem>), Error> {
        self.entries_with(keep, Clocks::Read, make)
    }

    /// [`entries`](Self::entries), reading the entries' clocks or not
    /// (see [`ListEntry::decode_without_clocks`]).
    pub(super) fn entries_with<T>(
        &self,
        keep: &dyn Fn(Option<Category>) -> bool,
        clocks: Clocks,
        mut make: impl FnMut(ListEntry) -> Option<T>,
    ) -> Result<(Vec<T>, Vec<Problem>), Error> {
        let mut made = Vec::new();
        // Room for every entry at once: doubling a vector of 100,000 entries
        // would hold one and a half copies of it for a moment.
        let expected = std::cell::Cell::new(0);
        let problems = self.for_each_entry(keep, clocks, &|n| expected.set(n), &mut |entry| {
            if let Some(item) = make(entry) {
                if made.capacity() < expected.get() {
                    made.reserve_exact(expected.take());
                }
                made.push(item);
            }
        })?;
        Ok((made, problems))
    }

    /// The ids of every ticket in an active category (new, open, waiting,
    /// on hold), from the summaries, sorted; broken files are problems.
    pub fn active_ids(&self) -> Result<(Vec<TicketId>, Vec<Problem>), Error> {
        let (mut ids, problems) =
            self.entries(&|c| c.is_some_and(Category::is_active), |e| Some(e.id))?;
        ids.sort();
        Ok((ids, problems))
    }

    /// Hands each entry [`Self::entries`] would return to `sink` as it is
    /// read. `expect` hears first how many tickets the scan visits (`keep`
    /// may drop some). Returns the broken files.
    fn for_each_entry(
        &self,
        keep: &dyn Fn(Option<Category>) -> bool,
        clocks: Clocks,
        expect: &dyn Fn(usize),
        sink: &mut dyn FnMut(ListEntry),
    ) -> Result<Vec<Problem>, Error> {
        let salt = self.cache_salt()?;
        let desk_config = &self.config;
        let mut problems = Vec::new();
        let derive = |raw: RawTicket| {
            let ticket = load_summary(&raw).ok()?;
            Some(entry_of(desk_config, &ticket).encode())
        };
        // Closed tickets are most of a desk: the cache keeps them apart, and
        // a scan that does not want them never reads them.
        let cold = |payload: &str| ListEntry::peek_category(payload) == Some(Category::Closed);
        let skip_cold = !keep(Some(Category::Closed));
        self.store
            .scan(&salt, &derive, &cold, skip_cold, expect, &mut |item| {
                if let Some(payload) = item.payload {
                    if !keep(ListEntry::peek_category(payload)) {
                        return;
                    }
                    let decoded = match clocks {
                        Clocks::Read => ListEntry::decode(payload),
                        Clocks::Skipped => ListEntry::decode_without_clocks(payload),
                    };
                    if let Some(entry) = decoded {
                        sink(entry);
                        return;
                    }
                }
                match load_summary(&self.store.read_blob(item.path(), item.blob)) {
                    Ok(ticket) => {
                        let entry = entry_of(desk_config, &ticket);
                        if keep(entry.category) {
                            sink(entry);
                        }
                    }
                    Err(problem) => problems.push(problem),
                }
            })?;
        Ok(problems)
    }

    /// What the cached summaries depend on besides each file: the entry
    /// format and the config (status categories, and SLA policies with
    /// their calendars, whose holidays may come from other files).
    pub(crate) fn cache_salt(&self) -> Result<String, Error> {
        let config = self
            .store
            .blob_id(layout::CONFIG_FILE)?
            .map(|o| o.to_string())
            .unwrap_or_default();
        let policies = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::hash::DefaultHasher::new();
            format!("{:?}", self.config.policies).hash(&mut hasher);
            hasher.finish()
        };
        Ok(format!(
            "entry-4 {} {config} {policies:x}",
            env!("CARGO_PKG_VERSION")
        ))
    }
}

/// Summarises a ticket for listings. An active ticket also gets the parts
/// of its queue key that hold until its next change (`sla::queue_parts`),
/// measured at its last event, so the queue can be ordered from the cache.
pub(crate) fn entry_of(config: &Config, ticket: &Ticket) -> ListEntry {
    let mut entry = ListEntry::of(ticket, &config.statuses);
    if entry.category.is_some_and(Category::is_active)
        && let Some(last) = ticket.events.iter().map(|e| e.at).max()
    {
        let state = sla::evaluate(ticket, &config.statuses, &config.policies, last);
        let (due, waiting) = sla::queue_parts(ticket, state.as_ref());
        entry.queue_due = due;
        entry.waiting_since = waiting;
    }
    entry
}

/// Parses a ticket file read from `HEAD`, with its version.
fn parse_raw(raw: RawTicket) -> Result<(Ticket, Version), Error> {
    let text = raw.text?;
    parse_ticket(&raw.path, &text, raw.id.as_ref()).map(|ticket| (ticket, Version(raw.blob)))
}

/// Parses a ticket file and checks its id against the path.
pub(crate) fn parse_ticket(
    path: &str,
    text: &str,
    expected: Option<&TicketId>,
) -> Result<Ticket, Error> {
    let ticket = Ticket::parse(text).map_err(|error| Error::Parse {
        path: path.to_owned(),
        error,
    })?;
    if let Some(expected) = expected
        && &ticket.id != expected
    {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("id"))
            .map(|i| i + 1);
        let message = format!(
            "id '{}' does not match the file name '{expected}'",
            ticket.id
        );
        return Err(Error::Parse {
            path: path.to_owned(),
            error: ParseError { message, line },
        });
    }
    Ok(ticket)
}

/// Like [`load_raw`], for a summary: a file in tix's own layout is read
/// without its message bodies, which a summary does not need (the fast
/// reader of docs/storage.md; anything else goes to the full parse).
/// Loads a ticket without its message bodies (the fast reader for files
/// in tix's layout, else the full parse), or says why it does not load.
pub(crate) fn load_summary(raw: &RawTicket) -> Result<Ticket, Problem> {
    if let (Some(id), Ok(text)) = (&raw.id, &raw.text)
        && raw.path == layout::ticket_path(id)
        && let Some(ticket) = scan::without_bodies(text)
        && &ticket.id == id
    {
        return Ok(ticket);
    }
    load_raw(raw)
}

/// Loads a ticket whole, message bodies too (the fast reader, decoding
/// them, for files in tix's layout, else the full parse), or says why it
/// does not load: a file not named like a ticket, in the wrong shard, not
/// text, or broken.
pub(crate) fn load_whole(raw: &RawTicket) -> Result<Ticket, Problem> {
    if let (Some(id), Ok(text)) = (&raw.id, &raw.text)
        && raw.path == layout::ticket_path(id)
        && let Some(ticket) = scan::whole(text)
        && &ticket.id == id
    {
        return Ok(ticket);
    }
    load_raw(raw)
}

fn load_raw(raw: &RawTicket) -> Result<Ticket, Problem> {
    let problem = |message: String, line| Problem {
        path: raw.path.clone(),
        line,
        message,
    };
    let Some(id) = &raw.id else {
        return Err(problem(
            "not a ticket file name (expected tickets/<ab>/<id>.toml)".into(),
            None,
        ));
    };
    if raw.path != layout::ticket_path(id) {
        return Err(problem(
            format!("ticket {id} belongs in {}", layout::ticket_path(id)),
            None,
        ));
    }
    let text = raw
        .text
        .as_ref()
        .map_err(|e| problem(e.to_string(), None))?;
    parse_ticket(&raw.path, text, Some(id)).map_err(|err| match err {
        Error::Parse { error, .. } => problem(error.message, error.line),
        other => problem(other.to_string(), None),
    })
}

/// Whether summaries read from the list cache carry their clocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Clocks {
    /// Every field.
    Read,
    /// Left empty: for listings, which use none of them.
    Skipped,
}
