//! Changing tickets: creating one, and applying one change to one, each in
//! one commit with the trailers scripts rely on (docs/storage.md), then
//! the hooks its recorded events raise.
//!
//! The request types here carry what the command line was given, as text
//! where `tix.toml` decides its meaning (`--field KEY=VALUE`, an agent's
//! name): the desk checks it against the configuration, so a script and a
//! command get the same answers.

use crate::domain::change::{self, Actor, Applied, Change, ChangeError, Edit, NewTicket};
use crate::domain::lifecycle::Category;
use crate::domain::routing::{self, Assignment, Explicit};
use crate::model::{Customer, Priority, Role, Ticket, TicketId, Timestamp};
use crate::store::{self, UpdateError, Write, layout};

use super::commit::commit_message;
use super::read::parse_ticket;
use super::{Agent, Desk, Error};

/// A committed change, with what came after it.
#[derive(Debug)]
pub struct Changed {
    /// The ticket as committed.
    pub ticket: Ticket,
    /// What the change did.
    pub applied: Applied,
    /// One message per hook that failed (the change stays committed).
    pub hook_failures: Vec<String>,
    /// The mail the change queued, and what became of it.
    pub mail: Vec<super::outbox::Delivery>,
    /// Why the mail could not even be tried or recorded (the change stays
    /// committed; the mail waits in the outbox).
    pub mail_error: Option<String>,
    /// The triggers that fired on the change, in order.
    pub triggers: Vec<String>,
    /// Triggers whose actions were refused and left out, and why.
    pub skipped_triggers: Vec<String>,
}

/// Adds to a change before it is committed (a received mail's
/// Message-ID and files): edits the ticket, returns the files to commit
/// with it (names inside the ticket's attachment directory).
pub(crate) type Extra<'a> = dyn Fn(&mut Ticket) -> Result<Vec<(String, Vec<u8>)>, Error> + 'a;

/// A ticket to create, as given (`tix new`).
#[derive(Clone, Debug, Default)]
pub struct NewRequest {
    /// One line.
    pub subject: String,
    /// The first message.
    pub body: Option<String>,
    /// Who the ticket is for.
    pub customer: Customer,
    /// How urgent; `None` leaves it to routing (else normal).
    pub priority: Option<Priority>,
    /// Owning team; `None` leaves it to routing.
    pub department: Option<String>,
    /// Owning agent, by name or address.
    pub assignee: Option<String>,
    /// Labels.
    pub tags: Vec<String>,
    /// Custom field values as `KEY=VALUE` texts, typed by the ticket form.
    pub fields: Vec<(String, String)>,
    /// The ticket this one follows up (an id prefix).
    pub follow_up: Option<String>,
}

/// A change to an existing ticket, as given.
#[derive(Clone, Debug)]
pub enum Request {
    /// A change that needs nothing from `tix.toml`.
    Plain(Change),
    /// Assign to an agent (by name or address) and/or a department;
    /// neither and not `unassign` assigns the acting agent.
    Assign {
        /// The agent.
        agent: Option<String>,
        /// Remove the assignee.
        unassign: bool,
        /// The department.
        department: Option<String>,
    },
    /// Header edits, with custom fields as `KEY=VALUE` texts (an empty
    /// value clears a field).
    Edit {
        /// Everything but the custom fields.
        edit: Edit,
        /// The custom fields.
        fields: Vec<(String, String)>,
    },
}

impl Desk {
    /// Creates a ticket in one commit, then runs the hooks it raises.
    pub fn create(
        &self,
        request: NewRequest,
        agent: &Agent,
        now: Timestamp,
        rng: &mut fastrand::Rng,
    ) -> Result<Changed, Error> {
        self.create_with(request, agent, now, rng, &|_| Ok(Vec::new()))
    }

    /// [`Self::create`], with `extra` adding to the new ticket before it is
    /// committed.
    pub(crate) fn create_with(
        &self,
        request: NewRequest,
        agent: &Agent,
        now: Timestamp,
        rng: &mut fastrand::Rng,
        extra: &Extra<'_>,
    ) -> Result<Changed, Error> {
        once_each(&request.fields)?;
        let config = &self.config;
        let invalid = |msg: String| Error::Change(ChangeError::Invalid(msg));
        let follow_up_of = match &request.follow_up {
            Some(prefix) => Some(self.resolve(prefix)?),
            None => None,
        };
        let explicit = Explicit {
            department: request.department.is_some(),
            priority: request.priority.is_some(),
        };
        let mut new = NewTicket {
            fields: config.new_field_values(&request.fields).map_err(invalid)?,
            subject: request.subject,
            body: request.body,
            customer: request.customer,
            priority: request.priority.unwrap_or_default(),
            department: request.department,
            assignee: request.assignee,
            tags: request.tags,
            follow_up_of,
        };
        routing::route(&config.routing, &mut new, explicit);
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
            let (tickets, _) = self.entries(&|_| true, Some)?;
            new.assignee =
                routing::pick_agent(&config.departments, &config.agents, department, &tickets);
        }
        let (ticket, fired) = self.commit_new(new, agent, now, rng, extra)?;
        let applied = Applied {
            action: "new",
            status: None,
            recorded: ticket.events.len(),
        };
        Ok(self.after_commit(ticket, applied, agent, now, fired))
    }

    /// Runs the hooks a committed change raises (and the hook event
    /// notify when a trigger that `fired` raises it) and sends the mail it
    /// queued.
    fn after_commit(
        &self,
        ticket: Ticket,
        applied: Applied,
        agent: &Agent,
        now: Timestamp,
        fired: Fired,
    ) -> Changed {
        let hook_failures = self.run_hooks_for_change(&ticket, &applied, fired.notify_hook, &[]);
        // The customer acts in a received mail; the desk sends what that
        // queued (an acknowledgement) and records it.
        let desk_agent;
        let sender = if ticket
            .customer
            .email
            .as_deref()
            .is_some_and(|email| email == agent.id())
        {
            desk_agent = self.desk_agent();
            &desk_agent
        } else {
            agent
        };
        let (mail, mail_error, ticket) = match self.send_queued(&ticket, &applied, sender, now) {
            Ok((mail, recorded)) => (mail, None, recorded.unwrap_or(ticket)),
            Err(err) => (Vec::new(), Some(err.to_string()), ticket),
        };
        Changed {
            ticket,
            applied,
            hook_failures,
            mail,
            mail_error,
            triggers: fired.names,
            skipped_triggers: fired.skipped,
        }
    }

    /// Commits a new ticket under an id no other ticket has.
    fn commit_new(
        &self,
        new: NewTicket,
        agent: &Agent,
        now: Timestamp,
        rng: &mut fastrand::Rng,
        extra: &Extra<'_>,
    ) -> Result<(Ticket, Fired), Error> {
        let actor = self.actor(agent, now);
        for _ in 0..16 {
            let id = self.unused_id(rng)?;
            let mut created = None;
            let result = self.store.update(&id, true, &agent.signature(now), |_| {
                let (mut ticket, applied) = change::create(id.clone(), new.clone(), &actor)?;
                let files = extra(&mut ticket)?;
                let fired = self.fire_triggers(&mut ticket, 0, agent, now)?;
                let mut write = self.write_for(&ticket, &applied);
                write.message.push_str(&fired.trailers());
                write.files = files;
                created = Some((ticket, fired));
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

    /// Applies a change to the ticket `prefix` names in one commit, then
    /// runs the hooks it raises.
    pub fn apply(
        &self,
        prefix: &str,
        request: Request,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Changed, Error> {
        let id = self.resolve(prefix)?;
        let change = self.change_for(request, agent)?;
        self.change(&id, &change, agent, now)
    }

    /// Applies a change to a ticket in one commit, then runs the hooks it
    /// raises and sends the mail it queued.
    pub fn change(
        &self,
        id: &TicketId,
        change: &Change,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Changed, Error> {
        self.change_with(id, std::slice::from_ref(change), &[], agent, now, &|_| {
            Ok(Vec::new())
        })
    }

    /// Applies `changes` in order to a ticket in one commit (the change
    /// recorded is the last one's, with every event they appended), with
    /// `files` attached to an agent's public reply and `extra` adding to
    /// the ticket before the commit. An agent's public reply goes out by
    /// mail, and a resolve or close sends the notice `[mail] notify`
    /// names, queued in the same commit and sent after it; the triggers
    /// fire on it, in the same commit.
    pub(crate) fn change_with(
        &self,
        id: &TicketId,
        changes: &[Change],
        files: &[(String, Vec<u8>)],
        agent: &Agent,
        now: Timestamp,
        extra: &Extra<'_>,
    ) -> Result<Changed, Error> {
        let actor = self.actor(agent, now);
        let apply = |ticket: &mut Ticket| {
            let mut applied = None;
            for change in changes {
                applied = Some(change::apply(ticket, change, &actor)?);
            }
            applied.ok_or_else(unreachable_state)
        };
        let how = How {
            apply: &apply,
            files,
            extra,
        };
        self.commit_edit(id, &how, agent, now)
    }

    /// Makes the change `how` describes to a ticket in one commit, then
    /// runs the hooks it raises and sends the mail it queued.
    pub(crate) fn commit_edit(
        &self,
        id: &TicketId,
        how: &How<'_>,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Changed, Error> {
        let path = layout::ticket_path(id);
        let mut result = None;
        self.store
            .update(id, false, &agent.signature(now), |text| {
                let mut ticket = parse_ticket(&path, text.unwrap_or_default(), Some(id))?;
                let (applied, stored, fired) = self.prepare(&mut ticket, how, agent, now)?;
                let mut write = self.write_for(&ticket, &applied);
                write.message.push_str(&fired.trailers());
                write.files = stored;
                result = Some((ticket, applied, fired));
                Ok::<_, Error>(write)
            })?;
        let (ticket, applied, fired) = result.ok_or_else(unreachable_state)?;
        Ok(self.after_commit(ticket, applied, agent, now, fired))
    }

    /// The ticket as the change `how` describes would leave it, nothing
    /// written (`--dry-run`).
    pub(crate) fn preview(
        &self,
        id: &TicketId,
        how: &How<'_>,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Changed, Error> {
        let path = layout::ticket_path(id);
        let text = self.store.read_ticket(id)?;
        let mut ticket = parse_ticket(&path, &text, Some(id))?;
        let (applied, _, fired) = self.prepare(&mut ticket, how, agent, now)?;
        Ok(Changed {
            ticket,
            applied,
            hook_failures: Vec::new(),
            mail: Vec::new(),
            mail_error: None,
            triggers: fired.names,
            skipped_triggers: fired.skipped,
        })
    }

    /// Applies a change to `ticket`: the change itself, the mail it
    /// queues, `extra`, then the triggers. Returns what was applied, the
    /// files to commit with it and the triggers that fired.
    fn prepare(
        &self,
        ticket: &mut Ticket,
        how: &How<'_>,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<(Applied, Files, Fired), Error> {
        let statuses = &self.config.statuses;
        let before = ticket.events.len();
        let summary = ticket.summary(statuses);
        let (status_before, category_before) = (summary.status, summary.category);
        let mut applied = (how.apply)(ticket)?;
        let mut stored = Vec::new();
        if matches!(applied.action, "reply" | "reply-resolve") {
            stored = self.queue_reply(ticket, how.files);
        }
        stored.extend((how.extra)(ticket)?);
        let fired = self.fire_triggers(ticket, before, agent, now)?;
        // The notice goes by where the change left the ticket, triggers
        // included: a macro that resolves sends it, a resolve a trigger
        // undid does not.
        let summary = ticket.summary(statuses);
        let notify = &self.config.mail.notify;
        let notice = match summary.category {
            after if after == category_before => None,
            Some(Category::Solved) => notify.resolved.as_deref(),
            Some(Category::Closed) => notify.closed.as_deref(),
            _ => None,
        };
        if let Some(name) = notice {
            self.queue_notice(ticket, name, agent, now)?;
        }
        applied.recorded = ticket.events.len() - before;
        if !fired.names.is_empty() {
            // The commit says where the status went, triggers included.
            applied.status =
                (summary.status != status_before).then_some((status_before, summary.status));
        }
        Ok((applied, stored, fired))
    }

    /// Applies a change given with files to attach to its reply
    /// (`tix reply --attach`).
    pub fn apply_with_files(
        &self,
        prefix: &str,
        request: Request,
        files: &[(String, Vec<u8>)],
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Changed, Error> {
        let id = self.resolve(prefix)?;
        let change = self.change_for(request, agent)?;
        if !files.is_empty() && !matches!(change, Change::Reply { .. }) {
            return Err(Error::Request(
                "--attach goes with an agent's reply".to_owned(),
            ));
        }
        self.change_with(&id, &[change], files, agent, now, &|_| Ok(Vec::new()))
    }

    /// Checks what a request names against `tix.toml` and makes it a change.
    fn change_for(&self, request: Request, agent: &Agent) -> Result<Change, Error> {
        let config = &self.config;
        let invalid = |msg: String| Error::Change(ChangeError::Invalid(msg));
        match request {
            Request::Plain(change) => Ok(change),
            Request::Assign {
                agent: named,
                unassign,
                department,
            } => {
                let me = (!unassign && named.is_none() && department.is_none())
                    .then(|| agent.id().to_owned());
                let assignee = if unassign {
                    Some(None)
                } else if let Some(who) = named.as_deref().or(me.as_deref()) {
                    Some(Some(config.resolve_agent(who).map_err(invalid)?))
                } else {
                    None
                };
                if let Some(department) = &department {
                    config.check_department(department).map_err(invalid)?;
                }
                Ok(Change::Assign {
                    assignee,
                    department: department.map(Some),
                })
            }
            Request::Edit { mut edit, fields } => {
                once_each(&fields)?;
                let (values, clear) = config.edit_field_values(&fields).map_err(invalid)?;
                edit.fields = values;
                edit.clear_fields = clear;
                Ok(Change::Edit(edit))
            }
        }
    }

    /// The actor of an agent's change.
    fn actor<'a>(&'a self, agent: &'a Agent, now: Timestamp) -> Actor<'a> {
        Actor {
            id: agent.id(),
            role: Role::Agent,
            now,
            statuses: &self.config.statuses,
        }
    }

    fn write_for(&self, ticket: &Ticket, applied: &Applied) -> Write {
        Write {
            content: ticket.to_toml(&self.config.statuses),
            message: commit_message(ticket, applied),
            files: Vec::new(),
        }
    }
}

/// What the triggers of one change did.
#[derive(Debug, Default)]
pub(crate) struct Fired {
    /// The triggers that fired, in order: one `Tix-Rule` trailer each.
    pub(crate) names: Vec<String>,
    /// One of them raises the hook event `notify`.
    pub(crate) notify_hook: bool,
    /// Triggers whose actions were refused and left out, with why.
    pub(crate) skipped: Vec<String>,
}

impl Fired {
    /// The commit message's `Tix-Rule` trailers.
    pub(crate) fn trailers(&self) -> String {
        self.names
            .iter()
            .map(|name| format!("Tix-Rule: {name}\n"))
            .collect()
    }
}

/// Files to commit with a change: names inside the ticket's attachment
/// directory, and their bytes.
type Files = Vec<(String, Vec<u8>)>;

/// A change to make to one ticket: what it applies, the files attached to
/// its reply, and what `extra` adds before the commit.
pub(crate) struct How<'a> {
    /// Applies the change (events appended to the ticket).
    pub(crate) apply: &'a dyn Fn(&mut Ticket) -> Result<Applied, Error>,
    /// Files attached to the agent's public reply.
    pub(crate) files: &'a [(String, Vec<u8>)],
    /// Adds to the ticket before the commit.
    pub(crate) extra: &'a Extra<'a>,
}

/// Refuses a field given twice (`--field order=1 --field order=2`): one of
/// the values would be silently dropped.
fn once_each(fields: &[(String, String)]) -> Result<(), Error> {
    for (i, (name, _)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(other, _)| other == name) {
            return Err(Error::Request(format!(
                "--field {name} is given twice: give each field once"
            )));
        }
    }
    Ok(())
}

fn unreachable_state() -> Error {
    // The store only returns Ok after the edit closure ran and succeeded.
    Error::Store(store::Error::Contended(0))
}
