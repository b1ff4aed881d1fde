use std::io::Write;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::change::{Applied, Change};
use crate::cli::render;
use crate::cli::ui::{Format, Style};
use crate::cli::{CommandError, Ctx};
use crate::desk::{Desk, commit_message};
use crate::model::{EventKind, Ticket, Timestamp, parse_duration_secs};
use crate::sla::{Instance, SlaState, Status};
use crate::store::{BatchItem, Signature};

/// Show SLA targets: deadline, time left or overdue, per ticket.
///
/// Without ID: every active ticket a policy covers. `tix sla check` (for
/// cron) records each new breach once in its ticket, runs the sla_breach
/// hooks, prints what breached, and exits 1 while any active ticket is in
/// breach.
///
/// Examples:
///   tix sla --breached
///   tix sla --at-risk 2h --format json
///   tix sla check
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
    /// Record new breaches, run the breach hooks, exit 1 while any exists.
    Check,
}

#[derive(Serialize)]
struct TicketSla<'a> {
    id: &'a str,
    policy: &'a str,
    targets: Vec<TargetJson>,
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
    let tickets: Vec<Ticket> = match &args.id {
        Some(prefix) => vec![desk.load(&desk.resolve(prefix)?)?],
        None => desk
            .active_tickets()?
            .0
            .into_iter()
            .map(|(t, _)| t)
            .collect(),
    };
    let mut rows: Vec<(Ticket, SlaState)> = tickets
        .into_iter()
        .filter_map(|t| desk.sla(&t, now).map(|s| (t, s)))
        .filter(|(_, s)| !args.breached || s.current().iter().any(|i| i.status == Status::Breached))
        .filter(|(_, s)| {
            within.is_none_or(|w| {
                s.current().iter().any(|i| {
                    i.status == Status::Active && i.due.is_some_and(|d| d <= now.plus_seconds(w))
                })
            })
        })
        .collect();
    rows.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    if format == Format::Json {
        let json: Vec<TicketSla<'_>> = rows
            .iter()
            .map(|(t, s)| TicketSla {
                id: t.id.as_str(),
                policy: &s.policy,
                targets: s.current().into_iter().map(target_json).collect(),
            })
            .collect();
        return Ok(ctx.ui.json(&json)?);
    }
    if rows.is_empty() {
        ctx.ui.status("No tickets match.");
        return Ok(());
    }
    let mut table = ctx
        .ui
        .table(&["ID", "POLICY", "TARGET", "STATUS", "DUE", "LEFT"]);
    for (ticket, state) in &rows {
        for instance in state.current() {
            let (status, left) = describe(ctx, instance, now);
            table.add_row(vec![
                ctx.ui.paint(Style::Yellow, ticket.id.as_str()),
                state.policy.clone(),
                instance.metric.as_str().to_owned(),
                status,
                instance
                    .due
                    .map_or_else(|| "paused".to_owned(), render::time),
                left,
            ]);
        }
    }
    ctx.ui.print_table(&table)?;
    Ok(())
}

/// Status text and time left (or overdue) for people.
fn describe(ctx: &Ctx, i: &Instance, now: Timestamp) -> (String, String) {
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
    (ctx.ui.paint(style, status), left)
}

fn span(secs: i64) -> String {
    match secs {
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `tix sla check`.
fn check(ctx: &mut Ctx) -> Result<(), CommandError> {
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let (tickets, _) = desk.active_tickets()?;
    let identity = desk.config().desk.automation.clone();
    let mut batch = Vec::new();
    let mut fresh = Vec::new();
    let mut in_breach = 0;
    for (ticket, base) in tickets {
        let Some(state) = desk.sla(&ticket, now) else {
            continue;
        };
        if state.current().iter().any(|i| i.status == Status::Breached) {
            in_breach += 1;
        }
        let new: Vec<(String, Timestamp)> = state
            .instances
            .iter()
            .filter(|i| i.status == Status::Breached)
            .filter_map(|i| i.due.map(|due| (i.metric.as_str().to_owned(), due)))
            .filter(|(metric, due)| !recorded(&ticket, metric, *due))
            .collect();
        if new.is_empty() {
            continue;
        }
        let item = record(&desk, ticket, base, new, &identity.email, now)?;
        fresh.push(item.1);
        batch.push(item.0);
    }
    let sig = Signature {
        name: identity.name.clone(),
        email: identity.email.clone(),
        time: now,
    };
    let done = desk.store().commit_batch(&batch, &sig, &mut |_| {})?;
    let out = ctx.ui.out();
    for (ticket, metrics) in &fresh {
        if done.committed.contains(&ticket.id) {
            writeln!(
                out,
                "{}  breached {}  {}",
                ticket.id,
                metrics.join(", "),
                ticket.subject
            )?;
        }
    }
    for (ticket, metrics) in &fresh {
        if done.committed.contains(&ticket.id) {
            for failure in desk.run_hooks(
                ticket,
                &Applied {
                    action: "sla-breach",
                    status: None,
                    // One event per breached metric (Change::SlaBreach).
                    recorded: metrics.len(),
                },
            ) {
                ctx.ui.status(&format!("warning: {failure}"));
            }
        }
    }
    if in_breach > 0 {
        return Err(CommandError::user(format!(
            "{in_breach} active ticket{} in breach of an SLA target",
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

type Recorded = (BatchItem, (Ticket, Vec<String>));

fn record(
    desk: &Desk,
    mut ticket: Ticket,
    base: git2::Oid,
    breaches: Vec<(String, Timestamp)>,
    actor_id: &str,
    now: Timestamp,
) -> Result<Recorded, CommandError> {
    let statuses = &desk.config().statuses;
    let actor = crate::change::Actor {
        id: actor_id,
        role: crate::model::Role::System,
        now,
        statuses,
    };
    let metrics: Vec<String> = breaches.iter().map(|(m, _)| m.clone()).collect();
    let applied = crate::change::apply(&mut ticket, &Change::SlaBreach { breaches }, &actor)?;
    let item = BatchItem {
        id: ticket.id.clone(),
        base,
        content: ticket.to_toml(statuses),
        message: commit_message(&ticket, &applied),
    };
    Ok((item, (ticket, metrics)))
}
