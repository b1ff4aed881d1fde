//! A desk: the store, its configuration and the domain rules together.
//!
//! Commands call this module; it reads and writes tickets through the store,
//! applies changes through [`crate::domain::change`] and writes the commit message
//! with the trailers scripts rely on (docs/storage.md).

pub mod automate;
pub mod hooks;

use std::ops::ControlFlow;
use std::path::Path;

use crate::config::Assignment;
use crate::config::{self, Config, ConfigError, HookEvent};
use crate::domain::change::{self, Actor, Applied, Change, ChangeError, NewTicket};
use crate::domain::entry::ListEntry;
use crate::domain::lifecycle::Category;
use crate::domain::routing::{self, Explicit};
use crate::domain::sla;
use crate::domain::view::TicketView;
use crate::model::{ParseError, Role, Ticket, TicketId, Timestamp};
use crate::store::{
    self, CommitInfo, InitFile, RawTicket, Signature, Store, UpdateError, Write, layout,
};

/// What can go wrong at the desk level.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// `tix.toml` is broken.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The change is refused.
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// A ticket file does not parse.
    #[error("{path}{}: {error}", error.line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        error: ParseError,
    },
}

impl From<UpdateError<Self>> for Error {
    fn from(err: UpdateError<Self>) -> Self {
        match err {
            UpdateError::Store(e) => Self::Store(e),
            UpdateError::Edit(e) => e,
        }
    }
}

/// The person (or automation) making a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Display name.
    pub name: String,
    /// Mail address (may be empty).
    pub email: String,
}

impl Agent {
    /// Parses `Name <email>`, a bare address or a bare name.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Some((name, rest)) = text.split_once('<') {
            let email = rest.strip_suffix('>')?.trim();
            let name = name.trim();
            let name = if name.is_empty() {
                email.split('@').next().unwrap_or(email)
            } else {
                name
            };
            return Some(Self {
                name: name.to_owned(),
                email: email.to_owned(),
            });
        }
        if text.contains('@') {
            let name = text.split('@').next().unwrap_or(text);
            return Some(Self {
                name: name.to_owned(),
                email: text.to_owned(),
            });
        }
        Some(Self {
            name: text.to_owned(),
            email: String::new(),
        })
    }

    /// Returns the identity recorded in events: the address, else the name.
    pub fn id(&self) -> &str {
        if self.email.is_empty() {
            &self.name
        } else {
            &self.email
        }
    }

    /// Tells whether `who` (an assignee) names this agent.
    pub fn is(&self, who: &str) -> bool {
        who == self.id() || who == self.name || (!self.email.is_empty() && who == self.email)
    }

    fn signature(&self, time: Timestamp) -> Signature {
        Signature {
            name: self.name.clone(),
            email: self.email.clone(),
            time,
        }
    }
}

/// A ticket with the id of the blob it was read from (the base of a batch
/// rewrite).
pub type Loaded = (Ticket, git2::Oid);

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

/// An opened desk with a valid configuration.
#[derive(Debug)]
pub struct Desk {
    store: Store,
    config: Config,
}

impl Desk {
    /// Opens the desk containing `start`; refuses a broken `tix.toml`.
    pub fn open(start: &Path) -> Result<Self, Error> {
        let store = Store::discover(start)?;
        let config = load_config(&store)?;
        Ok(Self { store, config })
    }

    /// Makes a new desk in `dir` (SPEC §3).
    pub fn init(dir: &Path, agent: &Agent, now: Timestamp) -> Result<Self, Error> {
        let file = |path, content: &str, append| InitFile {
            path,
            content: content.to_owned(),
            append,
        };
        let files = [
            file(layout::CONFIG_FILE, config::DEFAULT_TEXT, false),
            file(layout::ATTRIBUTES_FILE, ATTRIBUTES, true),
            file(layout::KEEP_FILE, "", false),
        ];
        let message = "tix: create the desk\n\nTix-Action: init\n";
        let store = Store::init(dir, &files, &agent.signature(now), message)?;
        let config = load_config(&store)?;
        Ok(Self { store, config })
    }

    /// Returns the store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Returns the configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Resolves an id prefix.
    pub fn resolve(&self, prefix: &str) -> Result<TicketId, Error> {
        Ok(self.store.resolve(prefix)?)
    }

    /// Loads one ticket.
    pub fn load(&self, id: &TicketId) -> Result<Ticket, Error> {
        let text = self.store.read_ticket(id)?;
        parse_ticket(&layout::ticket_path(id), &text, Some(id))
    }

    /// Loads a ticket as it was in blob `blob` (read earlier from `HEAD`),
    /// whatever `HEAD` holds now.
    pub fn load_blob(&self, id: &TicketId, blob: git2::Oid) -> Result<Ticket, Error> {
        parse_raw(self.store.read_blob(layout::ticket_path(id), blob)).map(|(ticket, _)| ticket)
    }

    /// Loads several tickets from one snapshot, parsing on every core;
    /// each comes with the blob id it was read from.
    pub fn load_many(&self, ids: &[TicketId]) -> Result<Vec<Loaded>, Error> {
        self.load_many_with(ids, &|ticket, blob| (ticket, blob))
    }

    /// [`Desk::load_many`], keeping of each ticket only what `keep` makes
    /// of it (and of its blob id), on the thread that parsed it: a command
    /// that shows a part of many tickets never holds them whole.
    pub fn load_many_with<T: Send>(
        &self,
        ids: &[TicketId],
        keep: &(dyn Fn(Ticket, git2::Oid) -> T + Sync),
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::with_capacity(ids.len());
        self.for_each_loaded(ids, keep, &mut |kept| {
            out.push(kept);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    /// [`Desk::load_many_with`], handing each kept result to `sink` in
    /// order as it comes, so memory holds a few tickets at a time however
    /// many `ids` there are. Stops reading when `sink` breaks, or at the
    /// first ticket that is missing or does not parse, and returns its
    /// error.
    pub fn for_each_loaded<T: Send>(
        &self,
        ids: &[TicketId],
        keep: &(dyn Fn(Ticket, git2::Oid) -> T + Sync),
        sink: &mut dyn FnMut(T) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        self.for_each_raw(
            ids,
            &|raw| parse_raw(raw).map(|(ticket, blob)| keep(ticket, blob)),
            &mut |kept| Ok(sink(kept)),
        )
    }

    /// [`Desk::for_each_loaded`] with each ticket parsed on the calling
    /// thread (the files are still read on every core), for a caller that
    /// keeps a little of each ticket: each is then freed by the thread that
    /// built it, whose allocator reuses that memory at once. Freed by
    /// another thread, it lingers, and a run over 10,000 tickets held twice
    /// the memory it needed.
    pub fn for_each_parsed_here(
        &self,
        ids: &[TicketId],
        sink: &mut dyn FnMut(Ticket, git2::Oid) -> ControlFlow<()>,
    ) -> Result<(), Error> {
        self.for_each_raw(ids, &|raw| Ok(raw), &mut |raw| {
            let (ticket, blob) = parse_raw(raw)?;
            Ok(sink(ticket, blob))
        })
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
    /// store's cache, so only tickets whose files changed since the last
    /// run are parsed. Broken files come back as problems.
    pub fn entries(
        &self,
        keep: &dyn Fn(Option<Category>) -> bool,
    ) -> Result<(Vec<ListEntry>, Vec<Problem>), Error> {
        self.entries_as(keep, Some)
    }

    /// [`Self::entries`], each entry made into what `make` returns as it is
    /// read (in path order; `None` drops it), so that a caller keeping a
    /// part of each never holds them all whole.
    pub fn entries_as<T>(
        &self,
        keep: &dyn Fn(Option<Category>) -> bool,
        mut make: impl FnMut(ListEntry) -> Option<T>,
    ) -> Result<(Vec<T>, Vec<Problem>), Error> {
        let mut made = Vec::new();
        // Room for every entry at once: doubling a vector of 100,000 entries
        // would hold one and a half copies of it for a moment.
        let expected = std::cell::Cell::new(0);
        let problems = self.for_each_entry(keep, &|n| expected.set(n), &mut |entry| {
            if let Some(item) = make(entry) {
                if made.capacity() < expected.get() {
                    made.reserve_exact(expected.take());
                }
                made.push(item);
            }
        })?;
        Ok((made, problems))
    }

    /// Hands each entry [`Self::entries`] would return to `sink` as it is
    /// read. `expect` hears first how many tickets the scan visits (`keep`
    /// may drop some). Returns the broken files.
    fn for_each_entry(
        &self,
        keep: &dyn Fn(Option<Category>) -> bool,
        expect: &dyn Fn(usize),
        sink: &mut dyn FnMut(ListEntry),
    ) -> Result<Vec<Problem>, Error> {
        let config = self
            .store
            .blob_id(layout::CONFIG_FILE)?
            .map(|o| o.to_string())
            .unwrap_or_default();
        // The payload depends on the file, the entry format and the config
        // (status categories, and SLA policies with their calendars, whose
        // holidays may come from other files): all are in the key.
        let policies = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::hash::DefaultHasher::new();
            format!("{:?}", self.config.policies).hash(&mut hasher);
            hasher.finish()
        };
        let salt = format!(
            "entry-4 {} {config} {policies:x}",
            env!("CARGO_PKG_VERSION")
        );
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
                    if let Some(entry) = ListEntry::decode(payload) {
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

    /// Creates a ticket; returns it with its new id.
    pub fn create(
        &self,
        mut new: NewTicket,
        explicit: Explicit,
        agent: &Agent,
        now: Timestamp,
        rng: &mut fastrand::Rng,
    ) -> Result<Ticket, Error> {
        let config = &self.config;
        let invalid = |msg: String| Error::Change(ChangeError::Invalid(msg));
        routing::route(config, &mut new, explicit);
        if let Some(department) = &new.department {
            config.check_department(department).map_err(invalid)?;
        }
        new.assignee = new
            .assignee
            .as_deref()
            .map(|a| config.resolve_agent(a))
            .transpose()
            .map_err(invalid)?;
        config
            .complete_new_fields(&mut new.fields)
            .map_err(invalid)?;
        if new.assignee.is_none()
            && let Some(department) = &new.department
            && config
                .department(department)
                .is_some_and(|d| d.assignment != Assignment::None)
        {
            // Least-loaded counts active tickets, round-robin counts all.
            let (tickets, _) = self.entries(&|_| true)?;
            new.assignee = routing::pick_agent(config, department, &tickets);
        }
        let actor = Actor {
            id: agent.id(),
            role: Role::Agent,
            now,
            statuses: &self.config.statuses,
        };
        for _ in 0..16 {
            let id = self.unused_id(rng)?;
            let mut created = None;
            let result = self.store.update(&id, true, &agent.signature(now), |_| {
                let (ticket, applied) = change::create(id.clone(), new.clone(), &actor)?;
                let write = self.write_for(&ticket, &applied);
                created = Some(ticket);
                Ok::<_, Error>(write)
            });
            match result {
                Ok(_) => return created.ok_or_else(unreachable_state),
                Err(UpdateError::Store(store::Error::Exists(_))) => continue,
                Err(err) => return Err(err.into()),
            }
        }
        Err(store::Error::Contended(16).into())
    }

    /// Draws ids until one is not taken in `HEAD`. A fixed `TIX_SEED` makes
    /// every process draw the same sequence, so the n-th ticket of a seeded
    /// desk skips the n - 1 ids before it; a random generator almost never
    /// draws twice.
    fn unused_id(&self, rng: &mut fastrand::Rng) -> Result<TicketId, Error> {
        const DRAWS: usize = 100_000;
        for _ in 0..DRAWS {
            let id = TicketId::random(rng);
            if !self.store.contains(&id)? {
                return Ok(id);
            }
        }
        Err(store::Error::Contended(16).into())
    }

    /// Returns the SLA state of a ticket at `now` (`None` without a policy).
    pub fn sla(&self, ticket: &Ticket, now: Timestamp) -> Option<sla::SlaState> {
        sla::evaluate(ticket, &self.config.statuses, &self.config.policies, now)
    }

    /// The ids of every ticket in an active category (new, open, waiting,
    /// on hold), from the cached entries, sorted; broken files are
    /// problems. Load them with [`Desk::for_each_loaded`] or
    /// [`Desk::for_each_parsed_here`], so they are never all held whole.
    pub fn active_ids(&self) -> Result<(Vec<TicketId>, Vec<Problem>), Error> {
        let (entries, problems) = self.entries(&|c| c.is_some_and(Category::is_active))?;
        let mut ids: Vec<TicketId> = entries.into_iter().map(|e| e.id).collect();
        ids.sort();
        Ok((ids, problems))
    }

    /// Runs the hooks a committed change raises (from the events it
    /// recorded, the last `applied.recorded` of the ticket's log); returns
    /// one message per failed hook (the change stays committed).
    pub fn run_hooks(&self, ticket: &Ticket, applied: &Applied) -> Vec<String> {
        self.run_hooks_with(ticket, applied, &[])
    }

    /// [`Self::run_hooks`] with more variables in the hooks' environment
    /// (`tix sla check` adds the breached metric and its due time).
    pub fn run_hooks_with(
        &self,
        ticket: &Ticket,
        applied: &Applied,
        extra: &[(&str, String)],
    ) -> Vec<String> {
        let events = hooks::recorded_events(ticket, applied);
        self.run_hooks_for(ticket, applied, &events, extra)
    }

    /// Runs the hooks listening to `events` (for runs whose events are not
    /// all derived from the change, such as one run per SLA alert or an
    /// automation's `notify`).
    pub fn run_hooks_for(
        &self,
        ticket: &Ticket,
        applied: &Applied,
        events: &[HookEvent],
        extra: &[(&str, String)],
    ) -> Vec<String> {
        if self.config.hooks.is_empty() {
            return Vec::new();
        }
        let json = serde_json::to_string(&TicketView::of(ticket, &self.config.statuses))
            .unwrap_or_default();
        let (from, to) = applied.status.clone().unwrap_or_default();
        let mut env = vec![
            ("TIX_TICKET", ticket.id.to_string()),
            ("TIX_ACTION", applied.action.to_owned()),
            ("TIX_STATUS_FROM", from),
            ("TIX_STATUS_TO", to),
        ];
        env.extend(extra.iter().cloned());
        hooks::run(&self.config.hooks, self.store.root(), events, &json, &env)
    }

    /// Applies a change to a ticket in one commit.
    pub fn change(
        &self,
        id: &TicketId,
        change: &Change,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<(Ticket, Applied), Error> {
        let actor = Actor {
            id: agent.id(),
            role: Role::Agent,
            now,
            statuses: &self.config.statuses,
        };
        let path = layout::ticket_path(id);
        let mut result = None;
        self.store
            .update(id, false, &agent.signature(now), |text| {
                let mut ticket = parse_ticket(&path, text.unwrap_or_default(), Some(id))?;
                let applied = change::apply(&mut ticket, change, &actor)?;
                let write = self.write_for(&ticket, &applied);
                result = Some((ticket, applied));
                Ok::<_, Error>(write)
            })?;
        result.ok_or_else(unreachable_state)
    }

    /// Lists the commits that changed a ticket, newest first.
    pub fn log(&self, id: &TicketId) -> Result<Vec<CommitInfo>, Error> {
        Ok(self.store.log(id)?)
    }

    fn write_for(&self, ticket: &Ticket, applied: &Applied) -> Write {
        Write {
            content: ticket.to_toml(&self.config.statuses),
            message: commit_message(ticket, applied),
        }
    }
}

fn unreachable_state() -> Error {
    // The store only returns Ok after the edit closure ran and succeeded.
    Error::Store(store::Error::Contended(0))
}

/// Builds the commit message: a subject naming id, action and ticket
/// subject, then trailers (docs/storage.md).
pub fn commit_message(ticket: &Ticket, applied: &Applied) -> String {
    let mut subject: String = ticket.subject.chars().take(60).collect();
    if subject.len() < ticket.subject.len() {
        subject.push('…');
    }
    let mut message = match &applied.status {
        Some((from, to)) => format!(
            "{}: {} ({from} -> {to}) {subject}\n\n",
            ticket.id, applied.action
        ),
        None => format!("{}: {} {subject}\n\n", ticket.id, applied.action),
    };
    message.push_str(&format!(
        "Tix-Ticket: {}\nTix-Action: {}\n",
        ticket.id, applied.action
    ));
    if let Some((from, to)) = &applied.status {
        message.push_str(&format!("Tix-Status: {from} -> {to}\n"));
    }
    message
}

const ATTRIBUTES: &str = "# Ticket files merge through tix's merge driver (docs/storage.md).\ntickets/**/*.toml merge=tix\n";

/// Summarises a ticket for listings. An active ticket also gets the parts
/// of its queue key that hold until its next change (`sla::queue_parts`),
/// measured at its last event, so the queue can be ordered from the cache.
pub fn entry_of(config: &Config, ticket: &Ticket) -> ListEntry {
    let mut entry = ListEntry::of(ticket, &config.statuses);
    if entry.category.is_some_and(Category::is_active)
        && let Some(last) = ticket.events.iter().map(|e| e.at).max()
    {
        let state = crate::domain::sla::evaluate(ticket, &config.statuses, &config.policies, last);
        let (due, waiting) = crate::domain::sla::queue_parts(ticket, state.as_ref());
        entry.queue_due = due;
        entry.waiting_since = waiting;
    }
    entry
}

/// Reads and parses the committed `tix.toml` (built-in defaults if absent);
/// the files it names (a calendar's `holidays_file`) come from the same
/// committed tree.
pub fn load_config(store: &Store) -> Result<Config, Error> {
    match store.read_file(layout::CONFIG_FILE)? {
        Some(text) => Ok(Config::parse_in(&text, &committed_files(store))?),
        None => Ok(Config::default()),
    }
}

/// Reads files named by `tix.toml` from the committed tree.
pub fn committed_files(store: &Store) -> impl Fn(&str) -> Result<Option<String>, String> + '_ {
    |path| store.read_file(path).map_err(|e| e.to_string())
}

/// Parses a ticket file read from `HEAD`, with its blob id.
fn parse_raw(raw: RawTicket) -> Result<Loaded, Error> {
    let text = raw.text?;
    parse_ticket(&raw.path, &text, raw.id.as_ref()).map(|ticket| (ticket, raw.blob))
}

/// Parses a ticket file and checks its id against the path.
pub fn parse_ticket(path: &str, text: &str, expected: Option<&TicketId>) -> Result<Ticket, Error> {
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
/// without its message bodies, which a summary does not need (three times
/// faster than the full parse, which reads every other file).
fn load_summary(raw: &RawTicket) -> Result<Ticket, Problem> {
    if let (Some(id), Ok(text)) = (&raw.id, &raw.text)
        && raw.path == layout::ticket_path(id)
        && let Some(ticket) = crate::model::scan::without_bodies(text)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_parse_from_the_usual_forms() {
        assert_eq!(
            Agent::parse("Ana Lima <ana@desk>"),
            Some(Agent {
                name: "Ana Lima".into(),
                email: "ana@desk".into()
            })
        );
        assert_eq!(Agent::parse("ana@desk").map(|a| a.name), Some("ana".into()));
        assert_eq!(
            Agent::parse("ana").map(|a| a.id().to_owned()),
            Some("ana".into())
        );
        assert_eq!(Agent::parse("  "), None);
    }
}
