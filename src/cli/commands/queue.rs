//! `tix queue`: the To Solve list, built by `Desk::queue` and rendered
//! here as a table or JSON.

use clap::Args;
use serde::Serialize;

use crate::cli::args::Scope;
use crate::cli::render;
use crate::cli::ui::{Cells, Format, Style};
use crate::cli::{CommandError, Ctx};
use crate::desk::queue::{QueueRequest, Queued};

/// The To Solve list: tickets that need an agent, most urgent first.
///
/// Candidates: new and open tickets (and postponed ones whose time has
/// come) assigned to you or to nobody, in your departments (or in none)
/// when tix.toml gives your agent departments. --department D keeps only
/// the tickets of D, itself one of yours when you have departments. Order:
/// breached SLA first, then the nearest deadline (created + 7 days
/// without a policy), then the longest-waiting customer, then priority,
/// then id.
///
/// --view NAME keeps only the queued tickets of a view of tix.toml
/// ([[view]]); --department replaces the view's department, and "me" in
/// the view is the agent whose queue it is.
#[derive(Debug, Args)]
pub(crate) struct QueueArgs {
    #[command(flatten)]
    scope: Scope,
    /// Show at most N tickets.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Only the tickets of this view of tix.toml.
    #[arg(long, value_name = "NAME")]
    view: Option<String>,
}

#[derive(Serialize)]
struct QueuedJson<'a> {
    rank: usize,
    id: &'a str,
    subject: &'a str,
    status: &'a str,
    priority: &'static str,
    assignee: Option<&'a str>,
    department: Option<&'a str>,
    breached: bool,
    due: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &QueueArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Csv])?;
    let desk = ctx.desk()?;
    let me = match args.scope.agent() {
        Some(_) => None,
        None => Some(ctx.agent(&desk)?),
    };
    let view = match &args.view {
        Some(name) => Some(desk.view(name)?.clone()),
        None => None,
    };
    let request = QueueRequest {
        limit: args.limit,
        view,
        ..args.scope.request()
    };
    let now = ctx.now()?;
    let queue = desk.queue(&request, me.as_ref(), now)?;
    for note in &queue.notes {
        ctx.ui.status(note);
    }
    ctx.warn_problems(&queue.problems);
    print(ctx, &queue.tickets, format, now)
}

/// Writes the queue as a table or JSON.
fn print(
    ctx: &mut Ctx,
    queue: &[Queued],
    format: Format,
    now: crate::model::Timestamp,
) -> Result<(), CommandError> {
    if format == Format::Json {
        let json: Vec<QueuedJson<'_>> = queue
            .iter()
            .enumerate()
            .map(|(i, q)| QueuedJson {
                rank: i + 1,
                id: q.id.as_str(),
                subject: &q.subject,
                status: &q.status,
                priority: q.priority.as_str(),
                assignee: q.assignee.as_deref(),
                department: q.department.as_deref(),
                breached: q.breached,
                due: q.due.map(|d| d.to_rfc3339()),
            })
            .collect();
        return Ok(ctx.ui.json(&json)?);
    }
    if format == Format::Csv {
        let header = [
            "rank",
            "id",
            "status",
            "priority",
            "due",
            "breached",
            "assignee",
            "department",
            "subject",
        ];
        let mut rows = queue.iter().enumerate().map(|(i, q)| {
            vec![
                (i + 1).to_string(),
                q.id.to_string(),
                q.status.clone(),
                q.priority.to_string(),
                q.due.map(|d| d.to_rfc3339()).unwrap_or_default(),
                q.breached.to_string(),
                q.assignee.clone().unwrap_or_default(),
                q.department.clone().unwrap_or_default(),
                q.subject.clone(),
            ]
        });
        return Ok(ctx.ui.print_csv(&header, &mut rows)?);
    }
    if queue.is_empty() {
        ctx.ui.status("Nothing to solve.");
        return Ok(());
    }
    let painter = ctx.ui.painter();
    let cells = |i: usize| -> Vec<String> {
        let q = &queue[i];
        let due = match q.due {
            Some(due) if q.breached => painter.paint(
                Style::Red,
                &format!("{} overdue", render::age(Some(due), now)),
            ),
            Some(due) if due < now => format!("{} overdue", render::age(Some(due), now)),
            Some(due) => format!("in {}", render::age(Some(now), due)),
            None => "-".to_owned(),
        };
        vec![
            (i + 1).to_string(),
            painter.paint(Style::Yellow, q.id.as_str()),
            render::cell(&q.status),
            q.priority.to_string(),
            due,
            render::cell(q.assignee.as_deref().unwrap_or("-")),
            render::cell(&q.subject),
        ]
    };
    ctx.ui.print_rows(
        &["#", "ID", "STATUS", "PRI", "DUE", "ASSIGNEE", "SUBJECT"],
        queue.len(),
        true,
        &|n, row: &mut Cells| row.push_all(cells(n)),
    )?;
    Ok(())
}
