//! `tix queue`: the To Solve list. Chooses the candidates (category,
//! assignee, departments) and renders them; the order is
//! `crate::domain::sla::queue_key`.

use clap::Args;
use serde::Serialize;

use crate::cli::render;
use crate::cli::ui::{Format, Style};
use crate::cli::{CommandError, Ctx};
use crate::desk::Desk;
use crate::domain::lifecycle::Category;
use crate::domain::sla::{self, QueueKey};
use crate::model::{Priority, TicketId, Timestamp};

/// The To Solve list: tickets that need an agent, most urgent first.
///
/// Candidates: new and open tickets (and postponed ones whose time has
/// come) assigned to you or to nobody, in your departments (or in none)
/// when tix.toml gives your agent departments. --department D keeps only
/// the tickets of D, itself one of yours when you have departments. Order:
/// breached SLA first, then the nearest deadline (created + 7 days
/// without a policy), then the longest-waiting customer, then priority,
/// then id.
#[derive(Debug, Args)]
pub(crate) struct QueueArgs {
    #[command(flatten)]
    pub(crate) scope: Scope,
    /// Show at most N tickets.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

/// Whose queue.
#[derive(Debug, Args)]
pub(crate) struct Scope {
    /// The queue of this agent instead of yours.
    #[arg(long, value_name = "AGENT")]
    agent: Option<String>,
    /// Only tickets of this department.
    #[arg(long, value_name = "D")]
    department: Option<String>,
}

impl Scope {
    /// The agent given with `--agent`.
    pub(crate) fn agent(&self) -> Option<&str> {
        self.agent.as_deref()
    }
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

/// One queued ticket: what the queue shows of it (a long queue never holds
/// the tickets whole).
pub(crate) struct Queued {
    pub(crate) id: TicketId,
    /// The blob the ticket was ranked from.
    pub(crate) blob: git2::Oid,
    subject: String,
    status: String,
    priority: Priority,
    assignee: Option<String>,
    department: Option<String>,
    key: QueueKey,
    breached: bool,
    due: Option<Timestamp>,
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

/// Builds the ordered queue for an agent.
pub(crate) fn build(
    ctx: &Ctx,
    desk: &Desk,
    scope: &Scope,
    limit: Option<usize>,
) -> Result<(String, Vec<Queued>), CommandError> {
    let now = ctx.now()?;
    let me = match &scope.agent {
        Some(agent) => desk
            .config()
            .resolve_agent(agent)
            .map_err(CommandError::user)?,
        None => ctx.agent(Some(desk))?.id().to_owned(),
    };
    let own = desk
        .config()
        .agents
        .iter()
        .find(|a| a.email == me)
        .map(|a| a.departments.clone())
        .filter(|own| !own.is_empty());
    let departments = match (&scope.department, own) {
        (Some(d), own) => {
            desk.config()
                .check_department(d)
                .map_err(CommandError::user)?;
            match own {
                Some(own) if !own.contains(d) => {
                    ctx.ui.status(&format!(
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
    };
    let statuses = &desk.config().statuses;
    let wanted = |category: Option<Category>, postponed_until: Option<Timestamp>| match category {
        Some(Category::New | Category::Open) => true,
        Some(Category::OnHold) => postponed_until.is_some_and(|u| u <= now),
        _ => false,
    };
    // The cached list entries pick the candidates and carry the parts of
    // their queue keys, so only the tickets shown are parsed; their keys
    // are then computed afresh from the whole ticket.
    let (entries, problems) = desk.entries(&|c| c.is_some_and(Category::is_active))?;
    for problem in &problems {
        ctx.ui.status(&format!("warning: skipped {problem}"));
    }
    let mut candidates: Vec<(QueueKey, TicketId)> = entries
        .into_iter()
        .filter(|e| {
            wanted(e.category, e.postponed_until)
                && e.assignee.as_deref().is_none_or(|a| a == me)
                && departments.admit(e.department.as_ref())
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
    if let Some(limit) = limit {
        candidates.truncate(limit);
    }
    let ids: Vec<TicketId> = candidates.into_iter().map(|(_, id)| id).collect();
    let policies = &desk.config().policies;
    let mut queue: Vec<Queued> = desk
        .load_many_with(&ids, &|ticket, blob| {
            let summary = ticket.summary(statuses);
            let wanted = wanted(summary.category, summary.postponed_until);
            let mine = ticket.assignee.as_deref().is_none_or(|a| a == me);
            if !(wanted && mine && departments.admit(ticket.department.as_ref())) {
                return None;
            }
            let state = sla::evaluate(&ticket, statuses, policies, now);
            let key = sla::queue_key(&ticket, state.as_ref());
            Some(Queued {
                breached: key.breached(),
                due: key.due(),
                key,
                id: ticket.id,
                blob,
                subject: ticket.subject,
                status: summary.status,
                priority: ticket.priority,
                assignee: ticket.assignee,
                department: ticket.department,
            })
        })?
        .into_iter()
        .flatten()
        .collect();
    queue.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((me, queue))
}

/// Writes the queue as a table or JSON.
pub(crate) fn print(ctx: &mut Ctx, queue: &[Queued]) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let now = ctx.now()?;
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
        &cells,
    )?;
    Ok(())
}

pub(crate) fn run(ctx: &mut Ctx, args: &QueueArgs) -> Result<(), CommandError> {
    let desk = ctx.desk()?;
    let (_, queue) = build(ctx, &desk, &args.scope, args.limit)?;
    print(ctx, &queue)
}
