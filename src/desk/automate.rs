//! The automation engine behind `tix automate` and `tix autoclose`.
//!
//! Every rule (see `rules.rs`) is evaluated against each ticket that is not
//! closed as the ticket was before the run, conditions and time anchors
//! alike, so the order of the rules never decides which of them match; the
//! actions of the matching rules are then applied in file order, each rule
//! at most once, so one run settles a ticket. A ticket whose state the
//! fired rules leave as it was (they undid each other) is not committed and
//! the rules are reported as conflicting. Changed tickets become one commit
//! each, all in one batch (see `store/batch.rs`), as the automation
//! identity with `Tix-Rule` trailers; a ticket that changed under the run
//! is evaluated again on the new `HEAD`. A run holds the automation lock,
//! so two runs never overlap. Nothing here prints: the report says what
//! happened and the command line renders it.

use std::collections::{BTreeMap, BTreeSet};

use super::commit::commit_message;
use super::{Desk, Error, ParseOn, Version};
use crate::domain::change::{Actor, Applied, ChangeError};
use crate::domain::entry::ListEntry;
use crate::domain::lifecycle::{Category, Statuses};
use crate::domain::routing;
use crate::domain::rules::{AssignTo, Rule};
use crate::model::{Role, Ticket, TicketId, Timestamp};
use crate::store::{BatchItem, BatchProgress};

/// What to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Only the rules that close tickets or wake postponed ones
    /// (`tix autoclose`).
    pub closing_only: bool,
    /// List what would change, write nothing.
    pub dry_run: bool,
}

/// A ticket the run changes (or would change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The ticket.
    pub id: TicketId,
    /// The rules that changed it, in order.
    pub rules: Vec<String>,
    /// The status change, if any.
    pub status: Option<(String, String)>,
}

/// Rules that matched a ticket but whose changes cancelled out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The ticket, left as it was.
    pub id: TicketId,
    /// The rules, in order.
    pub rules: Vec<String>,
}

/// A rule that matched more tickets than its `limit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limited {
    /// The rule.
    pub rule: String,
    /// Its limit per run.
    pub limit: usize,
    /// How many more tickets it matched; a later run takes them.
    pub beyond: usize,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Every ticket changed (or, in a dry run, that would be), by id.
    pub planned: Vec<Planned>,
    /// Tickets left alone because their files have uncommitted edits; the
    /// next run picks them up.
    pub skipped: Vec<(TicketId, String)>,
    /// Ticket files that do not load, tickets with a status tix.toml does
    /// not define, and rules that matched but could not apply.
    pub errors: Vec<String>,
    /// Tickets the matching rules changed and changed back.
    pub conflicts: Vec<Conflict>,
    /// Rules that reached their limit.
    pub limited: Vec<Limited>,
    /// Hooks that failed after the commits.
    pub hook_failures: Vec<String>,
    /// Closing notices mailed after the commits, and what became of them.
    pub mail: Vec<super::outbox::Delivery>,
}

impl RunReport {
    /// Counts what went wrong (errors, conflicts, failed hooks): the run
    /// committed what it could, and says so with its exit code.
    pub fn problems(&self) -> usize {
        self.errors.len()
            + self.conflicts.len()
            + self.hook_failures.len()
            + self.mail.iter().filter(|d| d.error.is_some()).count()
    }
}

/// The parts of a run, for a progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Tickets are read and the rules evaluated.
    Loading,
    /// Commits are built.
    Committing,
    /// The pack, the branch and the working tree are written.
    Writing,
}

/// Progress of a run, for a progress bar.
pub trait Progress {
    /// A phase starts with `total` steps (0 when not counted).
    fn start(&mut self, phase: Phase, total: usize);
    /// `done` steps of the current phase are finished.
    fn advance(&mut self, done: usize);
}

impl Desk {
    /// Runs the automations at `now`.
    pub fn automate(
        &self,
        options: RunOptions,
        now: Timestamp,
        progress: &mut dyn Progress,
    ) -> Result<RunReport, Error> {
        let _lock = self.store().automation_lock()?;
        let config = self.config();
        let statuses = &config.statuses;
        let rules: Vec<&Rule> = config
            .automations
            .iter()
            .filter(|r| !options.closing_only || r.runs_in_autoclose(statuses))
            .collect();
        let mut report = RunReport::default();
        if rules.is_empty() {
            return Ok(report);
        }
        // Round-robin and least-loaded count every ticket, closed ones too.
        let pool = rules
            .iter()
            .any(|r| matches!(r.actions.assign_to(), Some(AssignTo::Pool(_))));
        let (mut entries, problems) =
            self.entries(&|c| pool || c != Some(Category::Closed), Some)?;
        report
            .errors
            .extend(problems.iter().map(|p| format!("skipped {p}")));
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        // Only tickets some rule may match are read and parsed: on a busy
        // desk most active tickets are not near any rule. A status the desk
        // does not know is read too, to be reported.
        let ids: Vec<TicketId> = entries
            .iter()
            .filter(|e| e.category != Some(Category::Closed))
            .filter(|e| e.category.is_none() || rules.iter().any(|r| r.may_match(e, now)))
            .map(|e| e.id.clone())
            .collect();
        if !pool {
            entries = Vec::new();
        }
        let mut engine = Engine {
            desk: self,
            statuses,
            fired: vec![0; rules.len()],
            beyond: vec![0; rules.len()],
            rules,
            actor: Actor {
                id: &config.desk.automation.email,
                role: Role::System,
                now,
                statuses,
            },
            action: if options.closing_only {
                "autoclose"
            } else {
                "automate"
            },
            keep_tickets: !options.dry_run && !config.hooks.is_empty(),
            notices: !options.dry_run && config.mail.notify.closed.is_some() && config.mail.sends(),
            noticed: Vec::new(),
            entries,
            changed: BTreeMap::new(),
            errors: Vec::new(),
            conflicts: Vec::new(),
        };

        // Tickets are evaluated as they are parsed, so a run over 100,000
        // tickets holds a few of them at a time; only what will be
        // committed is kept.
        progress.start(Phase::Loading, ids.len());
        let mut items = Vec::new();
        let mut loaded = 0;
        let keep = |ticket, version| (ticket, version);
        self.read(&ids, ParseOn::Caller, &keep, &mut |(ticket, version)| {
            items.extend(engine.evaluate(ticket, version));
            loaded += 1;
            if loaded % PROGRESS_STEP == 0 || loaded == ids.len() {
                progress.advance(loaded);
            }
            std::ops::ControlFlow::Continue(())
        })?;
        progress.start(Phase::Committing, items.len());
        let done = self.store().write_batch(
            items,
            &self.automation_signature(now),
            options.dry_run,
            &mut |step| match step {
                BatchProgress::Built(n) => progress.advance(n),
                BatchProgress::Writing => progress.start(Phase::Writing, 0),
            },
            &mut |ids| engine.reevaluate(ids),
        )?;
        report.skipped = done.skipped;
        let committed: BTreeSet<&TicketId> = done.committed.iter().collect();
        let noticed: Vec<TicketId> = engine
            .noticed
            .iter()
            .filter(|id| committed.contains(id))
            .cloned()
            .collect();
        self.finish(engine, &committed, &mut report);
        // The closing notices, queued in the run's commits, go out now.
        let agent = self.automation_agent();
        for id in noticed {
            match self.send_new(&id, &agent, now) {
                Ok(mut sent) => report.mail.append(&mut sent),
                Err(err) => report.errors.push(format!("{id}: mail: {err}")),
            }
        }
        Ok(report)
    }

    /// Runs the hooks of the committed tickets and completes the report
    /// with what the engine found.
    fn finish(
        &self,
        mut engine: Engine<'_>,
        committed: &BTreeSet<&TicketId>,
        report: &mut RunReport,
    ) {
        for (id, change) in std::mem::take(&mut engine.changed) {
            if !committed.contains(&id) {
                continue;
            }
            if let Some(ticket) = &change.ticket {
                let applied = Applied {
                    action: engine.action,
                    status: change.plan.status.clone(),
                    recorded: change.recorded,
                };
                let env = [("TIX_RULES", change.plan.rules.join(","))];
                report.hook_failures.extend(self.run_hooks_for_change(
                    ticket,
                    &applied,
                    change.notify,
                    &env,
                ));
            }
            report.planned.push(change.plan);
        }
        report.errors.append(&mut engine.errors);
        report.conflicts.append(&mut engine.conflicts);
        report.limited = engine
            .rules
            .iter()
            .zip(&engine.beyond)
            .filter(|(_, beyond)| **beyond > 0)
            .map(|(rule, beyond)| Limited {
                rule: rule.name.clone(),
                limit: rule.limit(),
                beyond: *beyond,
            })
            .collect();
    }
}

/// A ticket the run changes.
struct Changed {
    plan: Planned,
    /// Whether a rule that changed it has `notify = "hook"`.
    notify: bool,
    /// How many events the run appended to its log.
    recorded: usize,
    /// The changed ticket, kept for the hooks (boxed: a run keeps one of
    /// these per changed ticket, mostly without it).
    ticket: Option<Box<Ticket>>,
}

/// The state of one run.
struct Engine<'d> {
    desk: &'d Desk,
    statuses: &'d Statuses,
    rules: Vec<&'d Rule>,
    actor: Actor<'d>,
    action: &'static str,
    /// Tickets each rule changed so far.
    fired: Vec<usize>,
    /// Tickets each rule matched beyond its limit.
    beyond: Vec<usize>,
    keep_tickets: bool,
    /// Whether a closed ticket gets the closing notice (`[mail] notify`).
    notices: bool,
    /// The tickets that got one.
    noticed: Vec<TicketId>,
    /// Every ticket's summary, by id, as the run leaves it: what
    /// round-robin and least-loaded count. Empty when no rule needs it.
    entries: Vec<ListEntry>,
    changed: BTreeMap<TicketId, Changed>,
    errors: Vec<String>,
    conflicts: Vec<Conflict>,
}

impl Engine<'_> {
    /// Evaluates the rules for one ticket; returns its commit when the
    /// matching rules change it.
    fn evaluate(&mut self, ticket: Ticket, base: Version) -> Option<BatchItem> {
        let statuses = self.statuses;
        let config = self.desk.config();
        let summary = ticket.summary(statuses);
        if summary.category.is_none() {
            self.errors.push(format!(
                "{}: status '{}' is not defined in tix.toml; the rules skipped the ticket (run `tix doctor`)",
                ticket.id, summary.status
            ));
            return None;
        }
        let calendar = crate::domain::sla::calendar_for(&ticket, &config.policies);
        let now = self.actor.now;
        // Every rule sees the ticket as it was before the run.
        let matching: Vec<usize> = (0..self.rules.len())
            .filter(|i| self.rules[*i].matches(&ticket, statuses, now, calendar))
            .collect();
        if matching.is_empty() {
            return None;
        }
        let mut current = ticket.clone();
        let mut plan = Planned {
            id: ticket.id.clone(),
            rules: Vec::new(),
            status: None,
        };
        let mut notify = false;
        for i in matching {
            let rule = self.rules[i];
            if self.fired[i] >= rule.limit() {
                self.beyond[i] += 1;
                continue;
            }
            let picked = self.pick(rule, &current);
            let mut next = current.clone();
            match rule.apply(&mut next, &self.actor, picked.as_deref()) {
                Ok(applied) => {
                    self.fired[i] += 1;
                    plan.rules.push(rule.name.clone());
                    notify |= rule.notifies();
                    if let Some((from, to)) = applied.status {
                        let from = plan.status.take().map_or(from, |(first, _)| first);
                        plan.status = Some((from, to));
                    }
                    current = next;
                }
                // An earlier rule made this one's change already.
                Err(ChangeError::NoChange(_)) => {}
                Err(err) => self
                    .errors
                    .push(format!("{}: automation '{}': {err}", ticket.id, rule.name)),
            }
        }
        if plan.rules.is_empty() {
            return None;
        }
        if same_state(&ticket, &current, statuses) {
            self.unfire(&plan.rules);
            self.conflicts.push(Conflict {
                id: plan.id,
                rules: plan.rules,
            });
            return None;
        }
        self.notice_if_closed(&plan, &mut current);
        if let Ok(at) = self.entries.binary_search_by(|e| e.id.cmp(&current.id)) {
            self.entries[at] = ListEntry::of(&current, statuses);
        }
        let recorded = current.events.len() - ticket.events.len();
        let applied = Applied {
            action: self.action,
            status: plan.status.clone(),
            recorded,
        };
        let mut message = commit_message(&current, &applied);
        for rule in &plan.rules {
            message.push_str(&format!("Tix-Rule: {rule}\n"));
        }
        let item = BatchItem::new(
            current.id.clone(),
            base.0,
            &current.to_toml(statuses),
            message,
        );
        self.changed.insert(
            current.id.clone(),
            Changed {
                plan,
                notify,
                recorded,
                ticket: self.keep_tickets.then(|| Box::new(current)),
            },
        );
        Some(item)
    }

    /// Queues the closing notice (`[mail] notify`) of a ticket the run
    /// closes.
    fn notice_if_closed(&mut self, plan: &Planned, current: &mut Ticket) {
        let closed = plan
            .status
            .as_ref()
            .is_some_and(|(_, to)| self.statuses.category(to) == Some(Category::Closed));
        if !closed || !self.notices {
            return;
        }
        let config = self.desk.config();
        let name = config.mail.notify.closed.clone().unwrap_or_default();
        let agent = self.desk.automation_agent();
        match self
            .desk
            .queue_notice(current, &name, &agent, self.actor.now)
        {
            Ok(true) => self.noticed.push(current.id.clone()),
            Ok(false) => {}
            Err(err) => self
                .errors
                .push(format!("{}: closing notice: {err}", current.id)),
        }
    }

    /// Evaluates again tickets that changed under the run, as they are in
    /// `HEAD` now; returns the commits they need.
    fn reevaluate(&mut self, ids: &[TicketId]) -> Vec<BatchItem> {
        let mut items = Vec::new();
        for id in ids {
            if let Some(old) = self.changed.remove(id) {
                self.unfire(&old.plan.rules);
            }
            match self.desk.read_all(std::slice::from_ref(id), &|t, v| (t, v)) {
                Ok(loaded) => {
                    for (ticket, base) in loaded {
                        if ticket.summary(self.statuses).category != Some(Category::Closed) {
                            items.extend(self.evaluate(ticket, base));
                        }
                    }
                }
                // Gone, or made unreadable by the change: nothing to commit.
                Err(err) => self.errors.push(format!("skipped {id}: {err}")),
            }
        }
        items
    }

    /// Gives back the limit the named rules used on a ticket that is not
    /// committed after all.
    fn unfire(&mut self, names: &[String]) {
        for (i, rule) in self.rules.iter().enumerate() {
            if names.contains(&rule.name) {
                self.fired[i] = self.fired[i].saturating_sub(1);
            }
        }
    }

    /// The agent a pool assignment of `rule` gives `ticket`.
    fn pick(&self, rule: &Rule, ticket: &Ticket) -> Option<String> {
        let Some(AssignTo::Pool(mode)) = rule.actions.assign_to() else {
            return None;
        };
        let department = ticket.department.as_deref()?;
        routing::pick_agent_by(&self.desk.config().agents, department, mode, &self.entries)
    }
}

/// Tells whether two versions of a ticket have the same derived state and
/// fields: everything but the event log itself.
fn same_state(a: &Ticket, b: &Ticket, statuses: &Statuses) -> bool {
    let (x, y) = (a.summary(statuses), b.summary(statuses));
    let fields = |t: &Ticket| Ticket {
        status: None,
        events: Vec::new(),
        ..t.clone()
    };
    x.status == y.status && x.postponed_until == y.postponed_until && fields(a) == fields(b)
}

/// How often the progress bar moves while tickets are evaluated.
const PROGRESS_STEP: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::Agent;
    use crate::desk::change::NewRequest;

    fn rule(text: &str) -> Rule {
        toml::from_str(text).unwrap()
    }

    /// Rules that undo each other on one ticket in one run are refused when
    /// `tix.toml` loads (`rules::check_together`); this is the net below
    /// that check, so the rules here are built without it.
    #[test]
    fn rules_whose_changes_cancel_out_commit_nothing_and_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let agent = Agent::parse("Ana <ana@desk>").unwrap();
        let now: Timestamp = "2025-03-03T09:00:00Z".parse().unwrap();
        let desk = crate::desk::setup::init(dir.path(), Some("Ana <ana@desk>"), now, false)
            .unwrap()
            .desk;
        let new = NewRequest {
            subject: "Both".into(),
            ..NewRequest::default()
        };
        let mut rng = fastrand::Rng::with_seed(1);
        let ticket = desk.create(new, &agent, now, &mut rng).unwrap().ticket;
        let add = rule(
            "name = \"add\"\nwhen = { category = \"new\" }\ndo = { add_tags = [\"seen\"], add_note = \"seen\" }\n",
        );
        let remove = rule(
            "name = \"remove\"\nwhen = { category = \"new\" }\ndo = { remove_tags = [\"seen\"] }\n",
        );
        let mark = rule(
            "name = \"mark\"\nwhen = { tags_none = [\"marked\"] }\ndo = { add_tags = [\"marked\"] }\n",
        );
        let statuses = &desk.config().statuses;
        let mut engine = Engine {
            desk: &desk,
            statuses,
            rules: vec![&add, &remove],
            actor: Actor {
                id: "bot@desk",
                role: Role::System,
                now,
                statuses,
            },
            action: "automate",
            fired: vec![0; 2],
            beyond: vec![0; 2],
            keep_tickets: false,
            notices: false,
            noticed: Vec::new(),
            entries: Vec::new(),
            changed: BTreeMap::new(),
            errors: Vec::new(),
            conflicts: Vec::new(),
        };
        let base = Version(desk.store().ticket_blob(&ticket.id).unwrap().unwrap());
        assert!(engine.evaluate(ticket.clone(), base).is_none());
        assert_eq!(
            engine.conflicts,
            [Conflict {
                id: ticket.id.clone(),
                rules: vec!["add".into(), "remove".into()],
            }]
        );
        assert_eq!(engine.fired, [0, 0], "nothing committed uses no limit");
        // With a rule that really changes the ticket, it is committed.
        engine.rules.push(&mark);
        engine.fired.push(0);
        engine.beyond.push(0);
        let item = engine.evaluate(ticket, base).unwrap();
        assert!(
            item.message.contains("Tix-Rule: mark\n"),
            "{}",
            item.message
        );
        assert_eq!(engine.conflicts.len(), 1);
    }
}
