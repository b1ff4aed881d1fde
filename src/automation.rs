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

        let ids: Vec<TicketId> = entries.iter().map(|e| e.id.clone()).collect();
        let loaded = self.load_many(&ids)?;
        let mut fired = vec![0usize; rules.len()];
        let mut items = Vec::new();
        for (ticket, base) in loaded {
            let entry = &ticket;
            let mut changed: Option<(Ticket, Planned)> = None;
            for (i, rule) in rules.iter().enumerate() {
                if rule.limit.is_some_and(|limit| fired[i] >= limit) {
                    continue;
                }
                let current = changed.as_ref().map_or(&ticket, |(t, _)| t);
                if !rule.matches(current, statuses, now) {
                    continue;
                }
                let mut next = current.clone();
                match rule.apply(&mut next, &actor) {
                    Ok(applied) => {
                        fired[i] += 1;
                        let (_, plan) = changed.get_or_insert_with(|| {
                            (
                                ticket.clone(),
                                Planned {
                                    id: entry.id.clone(),
                                    rules: Vec::new(),
                                    status: None,
                                },
                            )
                        });
                        plan.rules.push(rule.name.clone());
                        if let Some((from, to)) = applied.status {
                            let from = plan.status.take().map_or(from, |(first, _)| first);
                            plan.status = Some((from, to));
                        }
                        if let Some((t, _)) = changed.as_mut() {
                            *t = next;
                        }
                    }
                    Err(err) => report
                        .errors
                        .push(format!("{}: automation '{}': {err}", entry.id, rule.name)),
                }
            }
            if let Some((ticket, plan)) = changed {
                items.push((ticket, plan, base));
            }
        }
        if options.dry_run {
            report.planned = items.into_iter().map(|(_, plan, _)| plan).collect();
            return Ok(report);
        }

        let action = if options.closing_only {
            "autoclose"
        } else {
            "automate"
        };
        let mut batch = Vec::with_capacity(items.len());
        for (ticket, plan, base) in &items {
            let base = *base;
            let applied = Applied {
                action,
                status: plan.status.clone(),
            };
            let mut message = commit_message(ticket, &applied);
            for rule in &plan.rules {
                message.push_str(&format!("Tix-Rule: {rule}\n"));
            }
            batch.push(BatchItem {
                id: ticket.id.clone(),
                base,
                content: ticket.to_toml(statuses),
                message,
            });
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
        for (ticket, plan, _) in items {
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
}
