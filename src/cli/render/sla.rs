//! The tables of `tix sla` and the report of `tix sla check`.

use std::io::Write;

use serde::Serialize;

use crate::cli::render;
use crate::cli::ui::{Cells, Format, Painter, Style};
use crate::cli::{CommandError, Ctx};
use crate::desk::sla_check::{CheckReport, Recorded};
use crate::domain::sla::{Instance, SlaState, Status};
use crate::model::{TicketId, Timestamp};

/// One line per target of each ticket's state, or "No tickets match.".
pub(crate) fn states(
    ctx: &mut Ctx,
    rows: &[(TicketId, SlaState)],
    now: Timestamp,
) -> Result<(), CommandError> {
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
            render::cell(&state.policy),
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
        &|n, row: &mut Cells| row.push_all(cells(n)),
    )?;
    Ok(())
}

/// One CSV row per target of each ticket's state: its due time (empty
/// while paused) and the seconds left (negative when overdue; empty once
/// the target ended).
pub(crate) fn csv(
    ctx: &mut Ctx,
    rows: &[(TicketId, SlaState)],
    now: Timestamp,
) -> Result<(), CommandError> {
    let header = ["id", "policy", "target", "status", "due", "seconds_left"];
    let mut lines = rows.iter().flat_map(|(id, state)| {
        state.current().into_iter().map(move |i| {
            let status = match i.status {
                Status::Active => "active",
                Status::Achieved => "achieved",
                Status::Breached => "breached",
                Status::Cancelled => "cancelled",
            };
            let left = match (i.ended, i.due) {
                (None, Some(due)) => (due.unix() - now.unix()).to_string(),
                _ => String::new(),
            };
            vec![
                id.to_string(),
                state.policy.clone(),
                i.metric.as_str().to_owned(),
                status.to_owned(),
                i.due.map(|d| d.to_rfc3339()).unwrap_or_default(),
                left,
            ]
        })
    });
    Ok(ctx.ui.print_csv(&header, &mut lines)?)
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

/// What `tix sla check` found: new breaches and warnings, as lines or
/// JSON.
pub(crate) fn check_report(
    ctx: &mut Ctx,
    report: &CheckReport,
    format: Format,
) -> Result<(), CommandError> {
    if format == Format::Json {
        print_check_json(ctx, report)?;
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
                    render::cell(&r.subject)
                )?;
            }
        }
    }
    Ok(())
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
