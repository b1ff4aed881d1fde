//! SLA states of the active tickets (`tix sla`), and recording new breaches
//! and warnings for cron (`tix sla check`): docs/sla.md. The clocks are
//! computed in `domain::sla`; this file reads, records and raises hooks.

use std::collections::HashSet;
use std::ops::ControlFlow;

use super::commit::commit_message;
use super::{Desk, Error, ParseOn, Problem};
use crate::domain::change::{self, Actor, Applied, Change};
use crate::domain::hooks::{HookEvent, events_for};
use crate::domain::sla::{self, Instance, SlaState, Status};
use crate::model::{Event, EventKind, Role, Ticket, TicketId, Timestamp};
use crate::store::BatchItem;

/// Which tickets `tix sla` shows.
#[derive(Clone, Debug, Default)]
pub struct SlaQuery {
    /// One ticket (an id prefix); else every active ticket a policy covers.
    pub id: Option<String>,
    /// Only tickets with a breached target.
    pub breached: bool,
    /// Only tickets with an active target due within this many seconds.
    pub at_risk: Option<i64>,
}

/// Metric names and due times of alerts.
pub type Alerts = Vec<(String, Timestamp)>;

/// A ticket with what a check recorded in it: breaches and warnings.
#[derive(Debug)]
pub struct Recorded {
    /// The ticket.
    pub id: TicketId,
    /// Its subject.
    pub subject: String,
    /// New breaches.
    pub breaches: Alerts,
    /// New warnings.
    pub warnings: Alerts,
    /// The ticket as recorded, kept for the hooks (none without hooks: a
    /// check can record 20,000 tickets).
    ticket: Option<Box<Ticket>>,
    /// How many events the commit added, the triggers' included.
    added: usize,
    /// A trigger raised the hook event notify.
    notify: bool,
    /// Triggers left out, and why.
    pub skipped_triggers: Vec<String>,
}

/// What `tix sla check` did.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Tickets with new alerts, as committed.
    pub recorded: Vec<Recorded>,
    /// How many active tickets are in breach (new or already recorded).
    pub in_breach: usize,
    /// Tickets that changed meanwhile or have uncommitted edits: checked
    /// again on the next run.
    pub skipped: Vec<(TicketId, String)>,
    /// Ticket files that do not load.
    pub problems: Vec<Problem>,
    /// One message per hook that failed.
    pub hook_failures: Vec<String>,
}

impl Desk {
    /// Returns the SLA state of a ticket at `now` (`None` without a policy).
    pub fn sla(&self, ticket: &Ticket, now: Timestamp) -> Option<SlaState> {
        sla::evaluate(ticket, &self.config.statuses, &self.config.policies, now)
    }

    /// The SLA states `query` selects at `now`, by ticket id.
    pub fn sla_states(
        &self,
        query: &SlaQuery,
        now: Timestamp,
    ) -> Result<Vec<(TicketId, SlaState)>, Error> {
        let ids = match &query.id {
            Some(prefix) => vec![self.resolve(prefix)?],
            None => self.active_ids()?.0,
        };
        let shown = |s: &SlaState| {
            (!query.breached || s.current().iter().any(|i| i.status == Status::Breached))
                && query.at_risk.is_none_or(|w| {
                    s.current().iter().any(|i| {
                        i.status == Status::Active
                            && i.due.is_some_and(|d| d <= now.plus_seconds(w))
                    })
                })
        };
        // Each ticket is reduced to its state on the thread that parsed it.
        let (statuses, policies) = (&self.config.statuses, &self.config.policies);
        let mut rows: Vec<(TicketId, SlaState)> = self
            .read_all(&ids, &|ticket, _| {
                sla::evaluate(&ticket, statuses, policies, now)
                    .filter(|s| shown(s))
                    .map(|s| (ticket.id, s))
            })?
            .into_iter()
            .flatten()
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(rows)
    }

    /// Records each new breach (a metric past its due time, not yet
    /// recorded) and each new warning (a target within its policy's
    /// `warn_before`) once in its ticket, one commit per ticket in one
    /// batch as the automation identity, then runs the `sla_breach` and
    /// `sla_warning` hooks once per alert.
    pub fn sla_check(&self, now: Timestamp) -> Result<CheckReport, Error> {
        let (ids, problems) = self.active_ids()?;
        let mut report = CheckReport {
            problems,
            ..CheckReport::default()
        };
        let mut batch = Vec::new();
        let mut fresh = Vec::new();
        let mut failed = None;
        // Each ticket is checked as it is parsed and dropped after, unless
        // hooks need it.
        let keep = |ticket, version| (ticket, version);
        self.read(&ids, ParseOn::Caller, &keep, &mut |(ticket, version)| {
            let Some(state) = self.sla(&ticket, now) else {
                return ControlFlow::Continue(());
            };
            if state.breached() {
                report.in_breach += 1;
            }
            let (breaches, warnings) = new_alerts(&ticket, &state);
            if breaches.is_empty() && warnings.is_empty() {
                return ControlFlow::Continue(());
            }
            match self.record(ticket, breaches, warnings, now) {
                Ok((content, message, done)) => {
                    batch.push(BatchItem::new(
                        done.id.clone(),
                        version.0,
                        &content,
                        message,
                    ));
                    fresh.push(done);
                    ControlFlow::Continue(())
                }
                Err(error) => {
                    failed = Some(error);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(error) = failed {
            return Err(error);
        }
        let done = self
            .store
            .commit_batch(batch, &self.automation_signature(now), &mut |_| {})?;
        let committed: HashSet<&TicketId> = done.committed.iter().collect();
        fresh.retain(|r| committed.contains(&r.id));
        for r in &fresh {
            report.hook_failures.extend(self.alert_hooks(r));
        }
        report.recorded = fresh;
        report.skipped = done.skipped;
        Ok(report)
    }

    /// Records breaches and warnings in the ticket: its new content and
    /// commit message (action `sla-breach` when it has a breach, else
    /// `sla-warning`).
    fn record(
        &self,
        mut ticket: Ticket,
        breaches: Alerts,
        warnings: Alerts,
        now: Timestamp,
    ) -> Result<(String, String, Recorded), Error> {
        let statuses = &self.config.statuses;
        let actor_id = &self.config.desk.automation.email;
        let actor = Actor {
            id: actor_id,
            role: Role::System,
            now,
            statuses,
        };
        let before = ticket.events.len();
        let mut applied = Applied {
            action: "sla-warning",
            status: None,
            recorded: 0,
        };
        if !breaches.is_empty() {
            let change = Change::SlaBreach {
                breaches: breaches.clone(),
            };
            applied = change::apply(&mut ticket, &change, &actor)?;
        }
        // A warning is an `sla` event like a breach, with `to = "warning"`.
        for (metric, due) in &warnings {
            let mut e = Event::new(now, actor_id, Role::System, EventKind::Sla);
            e.field = Some(metric.clone());
            e.to = Some("warning".to_owned());
            e.until = Some(*due);
            ticket.push(e);
        }
        // Triggers on sla_breach and sla_warning fire in the same commit;
        // mail they queue waits in the outbox for `tix outbox --send`.
        let status_before = ticket.summary(statuses).status;
        let fired = self.fire_triggers(&mut ticket, before, &self.automation_agent(), now)?;
        applied.recorded = ticket.events.len() - before;
        let status_after = ticket.summary(statuses).status;
        if status_after != status_before {
            applied.status = Some((status_before, status_after));
        }
        let content = ticket.to_toml(statuses);
        let mut message = commit_message(&ticket, &applied);
        message.push_str(&fired.trailers());
        let keep = !self.config.hooks.is_empty();
        let recorded = Recorded {
            id: ticket.id.clone(),
            subject: ticket.subject.clone(),
            ticket: keep.then(|| Box::new(ticket)),
            breaches,
            warnings,
            added: applied.recorded,
            notify: fired.notify_hook,
            skipped_triggers: fired.skipped,
        };
        Ok((content, message, recorded))
    }

    /// Runs the hooks of one recorded ticket: one run per new breach or
    /// warning, so a script handles one metric at a time (the ticket on
    /// stdin is the same for each).
    fn alert_hooks(&self, r: &Recorded) -> Vec<String> {
        let Some(ticket) = &r.ticket else {
            return Vec::new();
        };
        // One event per alert was recorded; the commit's other events
        // (`changed`) go with its first alert run, so a hook listening to
        // them runs once for the commit.
        let recorded = r.added;
        let start = ticket.events.len().saturating_sub(recorded);
        let mut rest: Vec<HookEvent> = events_for(&ticket.events[start..])
            .into_iter()
            .filter(|e| !matches!(e, HookEvent::SlaBreach | HookEvent::SlaWarning))
            .collect();
        if r.notify {
            rest.push(HookEvent::Notify);
        }
        let runs = [
            ("sla-breach", HookEvent::SlaBreach, &r.breaches),
            ("sla-warning", HookEvent::SlaWarning, &r.warnings),
        ];
        let mut failures = Vec::new();
        for (action, event, alerts) in runs {
            let applied = Applied {
                action,
                status: None,
                recorded,
            };
            for (metric, due) in alerts {
                let env = [
                    ("TIX_SLA_METRIC", metric.clone()),
                    ("TIX_SLA_DUE", due.to_rfc3339()),
                ];
                let mut events = vec![event];
                events.append(&mut rest);
                failures.extend(self.run_hooks(ticket, &applied, &events, &env));
            }
        }
        failures
    }
}

/// The breaches and warnings of `state` not yet recorded in `ticket`.
fn new_alerts(ticket: &Ticket, state: &SlaState) -> (Alerts, Alerts) {
    let pair = |i: &Instance| i.due.map(|due| (i.metric.as_str().to_owned(), due));
    let breaches = state
        .instances
        .iter()
        .filter(|i| i.status == Status::Breached)
        .filter_map(pair)
        .filter(|(metric, due)| !recorded(ticket, metric, *due))
        .collect();
    let warnings = state
        .due_soon()
        .into_iter()
        .filter(|i| !warned(ticket, i))
        .filter_map(pair)
        .collect();
    (breaches, warnings)
}

/// Tells whether this breach (metric and due time) is already recorded.
fn recorded(ticket: &Ticket, metric: &str, due: Timestamp) -> bool {
    ticket.events.iter().any(|e| {
        e.kind == EventKind::Sla
            && e.field.as_deref() == Some(metric)
            && e.to.as_deref() == Some("breach")
            && e.until == Some(due)
    })
}

/// Tells whether this instance already warned: a warning for its metric
/// recorded since it started (each next reply warns once).
fn warned(ticket: &Ticket, instance: &Instance) -> bool {
    ticket.events.iter().any(|e| {
        e.kind == EventKind::Sla
            && e.field.as_deref() == Some(instance.metric.as_str())
            && e.to.as_deref() == Some("warning")
            && e.at >= instance.start
    })
}
