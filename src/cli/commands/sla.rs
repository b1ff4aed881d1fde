//! `tix sla` and `tix sla check`: show SLA targets, and record and alert
//! new breaches for cron. The clocks themselves are computed in
//! `crate::domain::sla`; this file only loads, records and renders.

use std::io::Write;
use std::ops::ControlFlow;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::render;
use crate::cli::ui::{Format, Painter, Style};
use crate::cli::{CommandError, Ctx};
use crate::config::HookEvent;
use crate::desk::hooks;
use crate::desk::{Desk, commit_message};
use crate::domain::change::{Applied, Change};
use crate::domain::sla::{self, Instance, SlaState, Status};
use crate::model::{Event, EventKind, Role, Ticket, TicketId, Timestamp, parse_duration_secs};
use crate::store::{BatchItem, Signature};

/// Show SLA targets: deadline, time left or overdue, per ticket.
///
/// Without ID: every active ticket a policy covers. `tix sla check` (for
/// cron) records each new breach once in its ticket, runs the sla_breach
/// hooks, prints what breached, and exits 4 while any active ticket has a
/// breached target (new or already recorded), 0 when none has; 1, 2, 3
/// and 255 mean the check itself failed.
///
/// Examples:
///   tix sla --breached
///   tix sla --at-risk 2h --format json
///   tix sla check --format json
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SlaArgs {
    #[command(subcommand)]
    check: Option<SlaCommand>,
    /// One ticket (id or unique prefix; `#check` for a ticket whose id
    /// starts with "check").
    id: Option<String>,
    /// Only tickets with a breached target.
    #[arg(long)]
    breached: bool,
    /// Only tickets with an active target due within WITHIN (e.g. 2h).
    #[arg(long, value_name = "WITHIN")]
    at_risk: Option<String>,
}

#[derive(Debug, Subcommand)]
enum SlaCommand {
    /// Record new breaches and run the breach hooks; exit 4 while any
    /// active ticket is in breach, 0 when none is.
    ///
    /// Each new breach (a metric past its due time, not yet recorded) is
    /// recorded once in its ticket and runs the sla_breach hooks once, with
    /// TIX_SLA_METRIC and TIX_SLA_DUE set. With a policy's warn_before, a
    /// running target that has that little time left is warned about once
    /// the same way (sla_warning hooks); warnings do not change the exit
    /// code. Tickets that changed meanwhile or have uncommitted edits are skipped with a warning and alerted on
    /// the next run. Exit codes: 0 no breach, 4 at least one breach, 1
    /// refused (no desk, broken tix.toml), 2 usage, 3 desk busy, 255
    /// internal.
    Check,
}

/// One ticket's SLA state as `tix sla --format json` and the `sla` key of
/// `tix show --format json` print it.
#[derive(Serialize)]
pub(crate) struct TicketSla<'a> {
    id: &'a str,
    policy: &'a str,
    targets: Vec<TargetJson>,
}

impl<'a> TicketSla<'a> {
    /// The JSON object of one ticket's state.
    pub(crate) fn of(ticket: &'a Ticket, state: &'a SlaState) -> Self {
        Self::for_id(&ticket.id, state)
    }

    /// [`TicketSla::of`] the ticket `id`.
    fn for_id(id: &'a TicketId, state: &'a SlaState) -> Self {
        Self {
            id: id.as_str(),
            policy: &state.policy,
            targets: state.current().into_iter().map(target_json).collect(),
        }
    }
}

#[derive(Serialize)]
struct TargetJson {
    metric: &'static str,
    due: Option<String>,
    status: Status,
    consumed_minutes: i64,
}

fn target_json(i: &Instance) -> TargetJson {
    TargetJson {
        metric: i.metric.as_str(),
        due: i.due.map(|d| d.to_rfc3339()),
        status: i.status,
        consumed_minutes: i.consumed / 60,
    }
}

pub(crate) fn run(ctx: &mut Ctx, args: &SlaArgs) -> Result<(), CommandError> {
    if args.check.is_some() {
        return check(ctx);
    }
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let within = match &args.at_risk {
        Some(text) => Some(parse_duration_secs(text).ok_or_else(|| {
            CommandError::usage(format!("--at-risk: '{text}' is not a duration like 2h"))
        })?),
        None => None,
    };
    let ids = match &args.id {
        Some(prefix) => vec![desk.resolve(prefix)?],
        None => desk.active_ids()?.0,
    };
    let shown = |s: &SlaState| {
        (!args.breached || s.current().iter().any(|i| i.status == Status::Breached))
            && within.is_none_or(|w| {
                s.current().iter().any(|i| {
                    i.status == Status::Active && i.due.is_some_and(|d| d <= now.plus_seconds(w))
                })
            })
    };
    // Each ticket is reduced to its state on the thread that parsed it.
    let config = desk.config();
    let mut rows: Vec<(TicketId, SlaState)> = desk
        .load_many_with(&ids, &|ticket, _| {
            sla::evaluate(&ticket, &config.statuses, &config.policies, now)
                .filter(|s| shown(s))
                .map(|s| (ticket.id, s))
        })?
        .into_iter()
        .flatten()
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    if format == Format::Json {
        let json: Vec<TicketSla<'_>> = rows
            .iter()
            .map(|(id, s)| TicketSla::for_id(id, s))
            .collect();
        return Ok(ctx.ui.json(&json)?);
    }
    if rows.is_empty() {
        ctx.ui.status("No tickets match.");
        return Ok(());
    }
    // One line per target, its cells made as it is written.
    let lines: Vec<(&TicketId, &SlaState, &Instance)> = rows
        .iter()
        .flat_map(|(id, state)| state.current().into_iter().map(move |i| (id, state, i)))
        .collect();
    let painter = ctx.ui.painter();
    let cells = |n: usize| {
        let (id, state, instance) = lines[n];
        let (status, left) = describe(painter, instance, now);
        vec![
            painter.paint(Style::Yellow, id.as_str()),
            state.policy.clone(),
            instance.metric.as_str().to_owned(),
            status,
            instance
                .due
                .map_or_else(|| "paused".to_owned(), render::time),
            left,
        ]
    };
    ctx.ui.print_rows(
        &["ID", "POLICY", "TARGET", "STATUS", "DUE", "LEFT"],
        lines.len(),
        false,
        &cells,
    )?;
    Ok(())
}

/// Status text and time left (or overdue) for people.
fn describe(painter: Painter, i: &Instance, now: Timestamp) -> (String, String) {
    let status = match i.status {
        Status::Active => "active",
        Status::Achieved => "achieved",
        Status::Breached => "breached",
        Status::Cancelled => "cancelled",
    };
    let style = match i.status {
        Status::Breached => Style::Red,
        Status::Achieved => Style::Green,
        _ => Style::Bold,
    };
    let left = match (i.status, i.due) {
        (Status::Active | Status::Breached, Some(due)) if i.ended.is_none() => {
            let secs = due.unix() - now.unix();
            if secs >= 0 {
                format!("{} left", span(secs))
            } else {
                format!("{} overdue", span(-secs))
            }
        }
        _ => "-".to_owned(),
    };
    (painter.paint(style, status), left)
}

fn span(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[derive(Serialize)]
struct CheckJson<'a> {
    new_breaches: Vec<AlertJson<'a>>,
    new_warnings: Vec<AlertJson<'a>>,
    breached: usize,
    skipped: Vec<render::SkippedJson<'a>>,
}

#[derive(Serialize)]
struct AlertJson<'a> {
    id: &'a str,
    metric: &'a str,
    due: String,
}

/// (metric, due) pairs to record.
type Alerts = Vec<(String, Timestamp)>;

/// A ticket with what this run recorded in it: breaches and warnings.
struct Recorded {
    id: TicketId,
    subject: String,
    /// The ticket as recorded, kept for the hooks (none without hooks: a
    /// check can record 20,000 tickets).
    ticket: Option<Box<Ticket>>,
    breaches: Alerts,
    warnings: Alerts,
}

/// `tix sla check`.
fn check(ctx: &mut Ctx) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let (ids, problems) = desk.active_ids()?;
    for problem in &problems {
        ctx.ui.status(&format!("warning: skipped {problem}"));
    }
    let identity = desk.config().desk.automation.clone();
    let mut batch = Vec::new();
    let mut fresh = Vec::new();
    let mut in_breach = 0;
    let mut failed = None;
    // Each ticket is checked as it is parsed and dropped after, unless
    // hooks need it.
    desk.for_each_parsed_here(&ids, &mut |ticket, base| {
        let Some(state) = desk.sla(&ticket, now) else {
            return ControlFlow::Continue(());
        };
        if state.breached() {
            in_breach += 1;
        }
        let pair = |i: &Instance| i.due.map(|due| (i.metric.as_str().to_owned(), due));
        let breaches: Alerts = state
            .instances
            .iter()
            .filter(|i| i.status == Status::Breached)
            .filter_map(pair)
            .filter(|(metric, due)| !recorded(&ticket, metric, *due))
            .collect();
        let warnings: Alerts = state
            .due_soon()
            .into_iter()
            .filter(|i| !warned(&ticket, i))
            .filter_map(pair)
            .collect();
        if breaches.is_empty() && warnings.is_empty() {
            return ControlFlow::Continue(());
        }
        match record(
            &desk,
            ticket,
            base,
            breaches,
            warnings,
            &identity.email,
            now,
        ) {
            Ok((item, done)) => {
                fresh.push(done);
                batch.push(item);
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
    let sig = Signature {
        name: identity.name.clone(),
        email: identity.email.clone(),
        time: now,
    };
    let done = desk.store().commit_batch(batch, &sig, &mut |_| {})?;
    for (id, reason) in &done.skipped {
        ctx.ui.status(&format!(
            "warning: skipped {id}: {reason}; it is checked again on the next run"
        ));
    }
    let committed: std::collections::HashSet<&TicketId> = done.committed.iter().collect();
    let fresh: Vec<&Recorded> = fresh.iter().filter(|r| committed.contains(&r.id)).collect();
    if format == Format::Json {
        let alerts = |pick: fn(&Recorded) -> &Alerts| -> Vec<AlertJson<'_>> {
            fresh
                .iter()
                .flat_map(|r| {
                    pick(r).iter().map(|(metric, due)| AlertJson {
                        id: r.id.as_str(),
                        metric,
                        due: due.to_rfc3339(),
                    })
                })
                .collect()
        };
        let json = CheckJson {
            new_breaches: alerts(|r| &r.breaches),
            new_warnings: alerts(|r| &r.warnings),
            breached: in_breach,
            skipped: render::skipped_json(&done.skipped),
        };
        ctx.ui.json(&json)?;
    } else {
        let out = ctx.ui.out();
        for r in &fresh {
            for (what, alerts) in [("breached", &r.breaches), ("due soon", &r.warnings)] {
                if alerts.is_empty() {
                    continue;
                }
                let metrics: Vec<&str> = alerts.iter().map(|(m, _)| m.as_str()).collect();
                writeln!(
                    out,
                    "{}  {what} {}  {}",
                    r.id,
                    metrics.join(", "),
                    r.subject
                )?;
            }
        }
    }
    // One hook run per new breach or warning, so a script handles one
    // metric at a time; the ticket on stdin is the same for each.
    let runs = [
        ("sla-breach", HookEvent::SlaBreach),
        ("sla-warning", HookEvent::SlaWarning),
    ];
    for r in &fresh {
        let Some(ticket) = &r.ticket else {
            continue;
        };
        // One event per alert was recorded; the commit's other events
        // (`changed`) go with its first alert run, so a hook listening to
        // them runs once for the commit.
        let recorded = r.breaches.len() + r.warnings.len();
        let start = ticket.events.len().saturating_sub(recorded);
        let mut rest: Vec<HookEvent> = hooks::events_for(&ticket.events[start..])
            .into_iter()
            .filter(|e| !matches!(e, HookEvent::SlaBreach | HookEvent::SlaWarning))
            .collect();
        for (action, event) in runs {
            let alerts = if event == HookEvent::SlaBreach {
                &r.breaches
            } else {
                &r.warnings
            };
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
                for failure in desk.run_hooks_for(ticket, &applied, &events, &env) {
                    ctx.ui.status(&format!("warning: {failure}"));
                }
            }
        }
    }
    if in_breach > 0 {
        return Err(CommandError::alert(format!(
            "{in_breach} active ticket{} in breach of an SLA target.",
            if in_breach == 1 { " is" } else { "s are" }
        )));
    }
    Ok(())
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

/// Records breaches and warnings in the ticket: one commit, action
/// `sla-breach` when it has a breach, else `sla-warning`.
fn record(
    desk: &Desk,
    mut ticket: Ticket,
    base: git2::Oid,
    breaches: Alerts,
    warnings: Alerts,
    actor_id: &str,
    now: Timestamp,
) -> Result<(BatchItem, Recorded), CommandError> {
    let statuses = &desk.config().statuses;
    let actor = crate::domain::change::Actor {
        id: actor_id,
        role: Role::System,
        now,
        statuses,
    };
    let mut applied = Applied {
        action: "sla-warning",
        status: None,
        recorded: 0,
    };
    if !breaches.is_empty() {
        let change = Change::SlaBreach {
            breaches: breaches.clone(),
        };
        applied = crate::domain::change::apply(&mut ticket, &change, &actor)?;
    }
    // A warning is an `sla` event like a breach, with `to = "warning"`.
    for (metric, due) in &warnings {
        let mut e = Event::new(now, actor_id, Role::System, EventKind::Sla);
        e.field = Some(metric.clone());
        e.to = Some("warning".to_owned());
        e.until = Some(*due);
        ticket.push(e);
    }
    let item = BatchItem::new(
        ticket.id.clone(),
        base,
        &ticket.to_toml(statuses),
        commit_message(&ticket, &applied),
    );
    let keep = !desk.config().hooks.is_empty();
    Ok((
        item,
        Recorded {
            id: ticket.id.clone(),
            subject: ticket.subject.clone(),
            ticket: keep.then(|| Box::new(ticket)),
            breaches,
            warnings,
        },
    ))
}
