//! The automation engine behind `tix automate` and `tix autoclose`.
//!
//! Evaluates the `[[automation]]` rules (see `rules.rs`) against every
//! ticket that is not closed, applies the matching rules in file order
//! (each at most once per ticket per run, so one run settles a ticket),
//! and commits one commit per changed ticket, all in one batch (see
//! `store/batch.rs`), as the automation identity with `Tix-Rule` trailers.
//! A run holds the automation lock, so two runs never overlap.

use crate::change::{Actor, Applied};
use crate::desk::{Desk, Error, commit_message};
use crate::lifecycle::Category;
use crate::model::{Role, Ticket, TicketId, Timestamp};
use crate::rules::Rule;
use crate::store::{BatchItem, Signature};

/// What to run.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Only the rules that close tickets (`tix autoclose`).
    pub closing_only: bool,
    /// List what would change, write nothing.
    pub dry_run: bool,
}

/// A ticket the run changes (or would change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// The ticket.
    pub id: TicketId,
    /// The rules that fired, in order.
    pub rules: Vec<String>,
    /// The status change, if any.
    pub status: Option<(String, String)>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct RunReport {
    /// Every ticket changed (or, in a dry run, that would be).
    pub planned: Vec<Planned>,
    /// Tickets left alone because they changed meanwhile or have
    /// uncommitted edits; the next run picks them up.
    pub skipped: Vec<(TicketId, String)>,
    /// Rules that matched but could not apply, with the reason.
    pub errors: Vec<String>,
    /// Hooks that failed after the commits.
    pub hook_failures: Vec<String>,
}

/// Progress of a run, for a progress bar.
pub trait Progress {
    /// The number of tickets to commit is known.
    fn start(&mut self, total: usize);
    /// `done` commits are built.
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
        let rules: Vec<_> = config
            .automations
            .iter()
            .filter(|r| !options.closing_only || r.closes(statuses))
            .collect();
        let mut report = RunReport::default();
        if rules.is_empty() {
            return Ok(report);
        }
        let identity = &config.desk.automation;
        let actor = Actor {
            id: &identity.email,
            role: Role::System,
            now,
            statuses,
        };
        let (mut entries, problems) = self.entries(&|c| c != Some(Category::Closed))?;
        report
            .errors
            .extend(problems.iter().map(|p| format!("skipped {p}")));
        entries.sort_by(|a, b| a.id.cmp(&b.id));

        let action = if options.closing_only {
            "autoclose"
        } else {
            "automate"
        };
        let mut fired = vec![0usize; rules.len()];
        // Evaluate in chunks so a run over 100,000 tickets never holds them
        // all parsed at once; keep only what will be committed.
        let mut batch = Vec::new();
        let mut committed_tickets: Vec<(Ticket, Planned)> = Vec::new();
        let ids: Vec<TicketId> = entries.into_iter().map(|e| e.id).collect();
        for chunk in ids.chunks(EVAL_CHUNK) {
            for (ticket, base) in self.load_many(chunk)? {
                let Some((changed, plan)) =
                    self.evaluate(&rules, &mut fired, ticket, &actor, now, &mut report)
                else {
                    continue;
                };
                if options.dry_run {
                    report.planned.push(plan);
                    continue;
                }
                let applied = Applied {
                    action,
                    status: plan.status.clone(),
                };
                let mut message = commit_message(&changed, &applied);
                for rule in &plan.rules {
                    message.push_str(&format!("Tix-Rule: {rule}\n"));
                }
                batch.push(BatchItem {
                    id: changed.id.clone(),
                    base,
                    content: changed.to_toml(statuses),
                    message,
                });
                if !config.hooks.is_empty() {
                    committed_tickets.push((changed, plan));
                } else {
                    report.planned.push(plan);
                }
            }
        }
        if options.dry_run {
            return Ok(report);
        }
        progress.start(batch.len());
        let sig = Signature {
            name: identity.name.clone(),
            email: identity.email.clone(),
            time: now,
        };
        let done = self
            .store()
            .commit_batch(&batch, &sig, &mut |n| progress.advance(n))?;
        report.skipped = done.skipped;
        let committed: std::collections::BTreeSet<&TicketId> = done.committed.iter().collect();
        report.planned.retain(|plan| committed.contains(&plan.id));
        for (ticket, plan) in committed_tickets {
            if committed.contains(&ticket.id) {
                let applied = Applied {
                    action,
                    status: plan.status.clone(),
                };
                report
                    .hook_failures
                    .extend(self.run_hooks(&ticket, &applied));
                report.planned.push(plan);
            }
        }
        Ok(report)
    }

    /// Applies the matching rules to one ticket, in order, each at most
    /// once; returns the changed ticket and what happened, if anything did.
    fn evaluate(
        &self,
        rules: &[&Rule],
        fired: &mut [usize],
        ticket: Ticket,
        actor: &Actor<'_>,
        now: Timestamp,
        report: &mut RunReport,
    ) -> Option<(Ticket, Planned)> {
        let statuses = &self.config().statuses;
        let mut current = ticket;
        let mut plan = Planned {
            id: current.id.clone(),
            rules: Vec::new(),
            status: None,
        };
        for (i, rule) in rules.iter().enumerate() {
            if rule.limit.is_some_and(|limit| fired[i] >= limit)
                || !rule.matches(
                    &current,
                    statuses,
                    now,
                    crate::sla::calendar_for(&current, &self.config().policies),
                )
            {
                continue;
            }
            let mut next = current.clone();
            match rule.apply(&mut next, actor, None) {
                Ok(applied) => {
                    fired[i] += 1;
                    plan.rules.push(rule.name.clone());
                    if let Some((from, to)) = applied.status {
                        let from = plan.status.take().map_or(from, |(first, _)| first);
                        plan.status = Some((from, to));
                    }
                    current = next;
                }
                Err(err) => report
                    .errors
                    .push(format!("{}: automation '{}': {err}", current.id, rule.name)),
            }
        }
        (!plan.rules.is_empty()).then_some((current, plan))
    }
}

/// Tickets parsed at a time while evaluating rules.
const EVAL_CHUNK: usize = 2000;
