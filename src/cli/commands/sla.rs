//! `tix sla` and `tix sla check`: render what `Desk::sla_states` and
//! `Desk::sla_check` find.

use std::io::Write;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::render;
use crate::cli::ui::{Format, Painter, Style};
use crate::cli::{CommandError, Ctx};
use crate::desk::sla_check::{CheckReport, Recorded, SlaQuery};
use crate::domain::sla::{Instance, SlaState, Status};
use crate::domain::view::SlaView;
use crate::model::{TicketId, Timestamp, parse_duration_secs};

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

pub(crate) fn run(ctx: &mut Ctx, args: &SlaArgs) -> Result<(), CommandError> {
    if args.check.is_some() {
        return check(ctx);
    }
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let at_risk = match &args.at_risk {
        Some(text) => Some(parse_duration_secs(text).ok_or_else(|| {
            CommandError::usage(format!("--at-risk: '{text}' is not a duration like 2h"))
        })?),
        None => None,
    };
    let query = SlaQuery {
        id: args.id.clone(),
        breached: args.breached,
        at_risk,
    };
    let rows = desk.sla_states(&query, now)?;
    if format == Format::Json {
        let json: Vec<SlaView<'_>> = rows.iter().map(|(id, s)| SlaView::of(id, s)).collect();
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

/// `tix sla check`.
fn check(ctx: &mut Ctx) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let report = desk.sla_check(ctx.now()?)?;
    ctx.warn_problems(&report.problems);
    for (id, reason) in &report.skipped {
        ctx.ui.status(&format!(
            "warning: skipped {id}: {reason}; it is checked again on the next run"
        ));
    }
    if format == Format::Json {
        print_check_json(ctx, &report)?;
    } else {
        let out = ctx.ui.out();
        for r in &report.recorded {
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
    for failure in &report.hook_failures {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    match report.in_breach {
        0 => Ok(()),
        n => Err(CommandError::alert(format!(
            "{n} active ticket{} in breach of an SLA target.",
            if n == 1 { " is" } else { "s are" }
        ))),
    }
}

fn print_check_json(ctx: &mut Ctx, report: &CheckReport) -> Result<(), CommandError> {
    let alerts = |pick: fn(&Recorded) -> &Vec<(String, Timestamp)>| -> Vec<AlertJson<'_>> {
        report
            .recorded
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
        breached: report.in_breach,
        skipped: render::skipped_json(&report.skipped),
    };
    Ok(ctx.ui.json(&json)?)
}
