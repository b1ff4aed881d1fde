//! The To Solve queue (`tix queue`) and taking its top ticket
//! (`tix next --take`): docs/sla.md, "The queue".
//!
//! The candidates are chosen from the cached summaries, which carry the
//! parts of each queue key that hold until the ticket changes, so only the
//! tickets shown are parsed; their keys are then computed afresh from the
//! whole ticket. The order itself is `domain::sla::queue_key`.

use std::ops::ControlFlow;

use super::{Agent, Desk, Error, ParseOn, Problem, Version};
use crate::domain::change::{Change, ChangeError};
use crate::domain::filter::{Filter, Selection, View};
use crate::domain::lifecycle::Category;
use crate::domain::sla::{self, QueueKey};
use crate::model::{Priority, Ticket, TicketId, Timestamp};

/// Whose queue, and how much of it.
#[derive(Clone, Debug, Default)]
pub struct QueueRequest {
    /// The queue of this agent (by name or address) instead of the acting
    /// agent's.
    pub agent: Option<String>,
    /// Only tickets of this department.
    pub department: Option<String>,
    /// At most this many tickets.
    pub limit: Option<usize>,
    /// Only the tickets of this view (`--view`); `department` replaces
    /// the view's, and `me` in it is the agent whose queue it is.
    pub view: Option<View>,
}

/// One queued ticket: what the queue shows of it (a long queue never holds
/// the tickets whole).
#[derive(Clone, Debug)]
pub struct Queued {
    /// The ticket.
    pub id: TicketId,
    /// The version it was ranked from.
    pub version: Version,
    /// Its subject.
    pub subject: String,
    /// Its status.
    pub status: String,
    /// Its priority.
    pub priority: Priority,
    /// Its assignee.
    pub assignee: Option<String>,
    /// Its department.
    pub department: Option<String>,
    /// Whether a target is breached.
    pub breached: bool,
    /// The deadline that ranks it.
    pub due: Option<Timestamp>,
    key: QueueKey,
}

/// An agent's queue, most urgent first.
#[derive(Debug)]
pub struct Queue {
    /// The agent whose queue it is (the identity tickets record).
    pub agent: String,
    /// The tickets.
    pub tickets: Vec<Queued>,
    /// Things the agent should know (a department that is not theirs).
    pub notes: Vec<String>,
    /// Ticket files that do not load.
    pub problems: Vec<Problem>,
}

/// What `next` did with the top ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Took {
    /// Only shown.
    Shown,
    /// Assigned to the agent and opened, in one commit.
    Taken,
    /// Already the agent's and open: nothing to commit.
    AlreadyYours,
}

/// The top of a queue.
#[derive(Debug)]
pub struct Next {
    /// The ticket, whole, and what was done with it; `None` when the
    /// queue is empty.
    pub top: Option<(Ticket, Took)>,
    /// One message per hook that failed.
    pub hook_failures: Vec<String>,
    /// As in [`Queue`].
    pub notes: Vec<String>,
    /// As in [`Queue`].
    pub problems: Vec<Problem>,
}

/// Which departments' tickets a queue holds.
enum Departments {
    /// Any department, or none.
    All,
    /// The agent's own, and tickets without a department (nobody routed
    /// them yet, and they must reach some queue).
    Own(Vec<String>),
    /// Exactly these.
    Only(Vec<String>),
}

impl Departments {
    fn admit(&self, department: Option<&String>) -> bool {
        match self {
            Self::All => true,
            Self::Own(own) => department.is_none_or(|d| own.contains(d)),
            Self::Only(only) => department.is_some_and(|d| only.contains(d)),
        }
    }
}

/// Whether a ticket of this category waits for an agent at `now`.
fn wanted(category: Option<Category>, postponed_until: Option<Timestamp>, now: Timestamp) -> bool {
    match category {
        Some(Category::New | Category::Open) => true,
        Some(Category::OnHold) => postponed_until.is_some_and(|u| u <= now),
        _ => false,
    }
}

impl Desk {
    /// Builds the queue of `request.agent`, else of `me`, at `now`.
    pub fn queue(
        &self,
        request: &QueueRequest,
        me: Option<&Agent>,
        now: Timestamp,
    ) -> Result<Queue, Error> {
        let config = &self.config;
        let invalid = |msg: String| Error::Change(ChangeError::Invalid(msg));
        let me = match (&request.agent, me) {
            (Some(agent), _) => config.resolve_agent(agent).map_err(invalid)?,
            (None, Some(me)) => me.id().to_owned(),
            (None, None) => return Err(crate::store::Error::NoIdentity.into()),
        };
        let mut notes = Vec::new();
        let departments = self.departments_of(&me, request, &mut notes)?;
        let selection = match &request.view {
            Some(view) => {
                let flags = Filter {
                    department: request.department.clone(),
                    ..Filter::default()
                };
                Some(self.selection(Some(view), &flags, Some(vec![me.clone()]), now)?)
            }
            None => None,
        };
        // A text search reads whole tickets: the limit then waits for it.
        let searching = selection.as_ref().is_some_and(Selection::searches);
        let (entries, problems) = self.entries(&|c| c.is_some_and(Category::is_active), Some)?;
        let mut candidates: Vec<(QueueKey, TicketId)> = entries
            .into_iter()
            .filter(|e| {
                wanted(e.category, e.postponed_until, now)
                    && e.assignee.as_deref().is_none_or(|a| a == me)
                    && departments.admit(e.department.as_ref())
                    && selection.as_ref().is_none_or(|s| s.matches(e))
            })
            .map(|e| {
                let key = QueueKey::at(
                    e.queue_due,
                    e.waiting_since,
                    e.created,
                    e.priority,
                    e.id.clone(),
                    now,
                );
                (key, e.id)
            })
            .collect();
        candidates.sort();
        if let Some(limit) = request.limit.filter(|_| !searching) {
            candidates.truncate(limit);
        }
        let ids: Vec<TicketId> = candidates.into_iter().map(|(_, id)| id).collect();
        let (statuses, policies) = (&config.statuses, &config.policies);
        let mut tickets = Vec::with_capacity(ids.len());
        let rank = |ticket: Ticket, version| {
            let summary = ticket.summary(statuses);
            let mine = ticket.assignee.as_deref().is_none_or(|a| a == me);
            if !(wanted(summary.category, summary.postponed_until, now)
                && mine
                && departments.admit(ticket.department.as_ref())
                && selection.as_ref().is_none_or(|s| s.found_in(&ticket)))
            {
                return None;
            }
            let state = sla::evaluate(&ticket, statuses, policies, now);
            let key = sla::queue_key(&ticket, state.as_ref());
            Some(Queued {
                breached: key.breached(),
                due: key.due(),
                key,
                id: ticket.id,
                version,
                subject: ticket.subject,
                status: summary.status,
                priority: ticket.priority,
                assignee: ticket.assignee,
                department: ticket.department,
            })
        };
        self.read(&ids, ParseOn::Workers, &rank, &mut |queued| {
            tickets.extend(queued);
            ControlFlow::Continue(())
        })?;
        tickets.sort_by(|a, b| a.key.cmp(&b.key));
        if let Some(limit) = request.limit {
            tickets.truncate(limit);
        }
        Ok(Queue {
            agent: me,
            tickets,
            notes,
            problems,
        })
    }

    /// The departments whose tickets `me`'s queue holds.
    fn departments_of(
        &self,
        me: &str,
        request: &QueueRequest,
        notes: &mut Vec<String>,
    ) -> Result<Departments, Error> {
        let config = &self.config;
        let own = config
            .agents
            .iter()
            .find(|a| a.email == me)
            .map(|a| a.departments.clone())
            .filter(|own| !own.is_empty());
        Ok(match (&request.department, own) {
            (Some(d), own) => {
                config
                    .check_department(d)
                    .map_err(|msg| Error::Change(ChangeError::Invalid(msg)))?;
                match own {
                    Some(own) if !own.contains(d) => {
                        notes.push(format!(
                            "note: {d} is not one of {me}'s departments ({}).",
                            own.join(", ")
                        ));
                        Departments::Only(Vec::new())
                    }
                    _ => Departments::Only(vec![d.clone()]),
                }
            }
            (None, Some(own)) => Departments::Own(own),
            (None, None) => Departments::All,
        })
    }

    /// The top of the queue of `request.agent`, else of `me`; with
    /// `take`, assigned to `me` and moved from new or postponed to open in
    /// one commit (`take` works on `me`'s own queue only).
    pub fn next(
        &self,
        request: &QueueRequest,
        me: Option<&Agent>,
        take: bool,
        now: Timestamp,
    ) -> Result<Next, Error> {
        let taker = match (take, me) {
            (true, Some(me)) => Some(me),
            (true, None) => return Err(crate::store::Error::NoIdentity.into()),
            (false, _) => None,
        };
        if let Some(me) = taker
            && let Some(other) = &request.agent
        {
            let other = self
                .config
                .resolve_agent(other)
                .map_err(|msg| Error::Change(ChangeError::Invalid(msg)))?;
            if other != me.id() {
                return Err(Error::Request(format!(
                    "--take assigns the ticket to you ({}), not to {other}: drop --agent, or act as {other} with --as",
                    me.id()
                )));
            }
        }
        let request = QueueRequest {
            limit: Some(1),
            ..request.clone()
        };
        let queue = self.queue(&request, me, now)?;
        let Some(top) = queue.tickets.into_iter().next() else {
            return Ok(Next {
                top: None,
                hook_failures: Vec::new(),
                notes: queue.notes,
                problems: queue.problems,
            });
        };
        let (ticket, took, hook_failures) = if let Some(me) = taker {
            match self.change(&top.id, &Change::Take, me, now) {
                Ok(changed) => (changed.ticket, Took::Taken, changed.hook_failures),
                // Already mine and open: taking it again is a no-op, not a
                // refusal (no commit).
                Err(Error::Change(ChangeError::NoChange(_))) => (
                    self.ticket_at(&top.id, top.version)?,
                    Took::AlreadyYours,
                    Vec::new(),
                ),
                Err(err) => return Err(err),
            }
        } else {
            (
                self.ticket_at(&top.id, top.version)?,
                Took::Shown,
                Vec::new(),
            )
        };
        Ok(Next {
            top: Some((ticket, took)),
            hook_failures,
            notes: queue.notes,
            problems: queue.problems,
        })
    }
}
