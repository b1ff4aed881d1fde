//! `tix list`: the filters of a [`ListQuery`], rendered as a table, CSV
//! or the tickets as JSON.

use std::io::Write;
use std::ops::ControlFlow;

use clap::{Args, ValueEnum};

use crate::cli::render;
use crate::cli::ui::{Format, JsonArray, Style, csv_field};
use crate::cli::{CommandError, Ctx, parse_field};
use crate::desk::ParseOn;
use crate::desk::query::{ListQuery, Ranked, Row, SortFields, SortKey};
use crate::domain::entry::ListEntry;
use crate::domain::view::TicketView;
use crate::model::{Priority, TicketId, Timestamp};

/// List tickets; by default every ticket that is not closed.
///
/// Filters combine (all must hold); a repeated filter matches any of its
/// values, except --tag where the ticket needs every tag.
///
/// Examples:
///   tix list --pending
///   tix list --me --category open --sort priority
///   tix list --all --format csv > tickets.csv
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only these statuses (repeatable or comma-separated).
    #[arg(long, value_name = "STATUS", value_delimiter = ',')]
    status: Vec<String>,
    /// Only these categories: new, open, waiting, on_hold, solved, closed.
    #[arg(long, value_name = "CATEGORY", value_delimiter = ',')]
    category: Vec<String>,
    /// Only these priorities.
    #[arg(long, value_name = "PRIORITY", value_delimiter = ',')]
    priority: Vec<Priority>,
    /// Only tickets assigned to this agent ("none" for unassigned).
    #[arg(long, value_name = "AGENT")]
    assignee: Option<String>,
    /// Only tickets assigned to me.
    #[arg(long, conflicts_with = "assignee")]
    me: bool,
    /// Only this department.
    #[arg(long, value_name = "D")]
    department: Option<String>,
    /// Only tickets with this tag (repeatable: all must be present).
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// Only tickets whose customer name or address contains TEXT.
    #[arg(long, value_name = "TEXT")]
    customer: Option<String>,
    /// Only tickets whose custom field KEY has VALUE, compared as the
    /// field's type (4.5 = 4.50, yes = true); an empty VALUE means the field
    /// is not set. Repeatable: different keys must all hold, values of one
    /// key match any.
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = parse_field)]
    fields: Vec<(String, String)>,
    /// Only tickets waiting for someone: unassigned and new or open.
    #[arg(long)]
    pending: bool,
    /// Only tickets whose subject or messages contain TEXT (any case).
    #[arg(long, value_name = "TEXT")]
    search: Option<String>,
    /// Only tickets created at or after DATE.
    #[arg(long, value_name = "DATE")]
    created_after: Option<String>,
    /// Only tickets created before DATE.
    #[arg(long, value_name = "DATE")]
    created_before: Option<String>,
    /// Only tickets updated at or after DATE.
    #[arg(long, value_name = "DATE")]
    updated_after: Option<String>,
    /// Only tickets updated before DATE.
    #[arg(long, value_name = "DATE")]
    updated_before: Option<String>,
    /// Include closed tickets.
    #[arg(long)]
    all: bool,
    /// Sort order.
    #[arg(long, value_enum, default_value_t = SortArg::Updated)]
    sort: SortArg,
    /// Reverse the sort order.
    #[arg(long)]
    reverse: bool,
    /// Show at most N tickets.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

/// How to order the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SortArg {
    /// Most recently updated first.
    Updated,
    /// Oldest first.
    Created,
    /// Most urgent first.
    Priority,
    /// In lifecycle order (new first).
    Status,
    /// By id.
    Id,
    /// By subject.
    Subject,
}

impl ListArgs {
    fn query(&self, ctx: &Ctx, desk: &crate::desk::Desk) -> Result<ListQuery, CommandError> {
        Ok(ListQuery {
            statuses: self.status.clone(),
            categories: self.category.clone(),
            priorities: self.priority.clone(),
            assignee: self.assignee.clone(),
            me: if self.me {
                Some(ctx.agent(desk)?)
            } else {
                None
            },
            department: self.department.clone(),
            tags: self.tags.clone(),
            customer: self.customer.clone(),
            fields: self.fields.clone(),
            pending: self.pending,
            search: self.search.clone(),
            created_after: self.created_after.clone(),
            created_before: self.created_before.clone(),
            updated_after: self.updated_after.clone(),
            updated_before: self.updated_before.clone(),
            all: self.all,
            sort: match self.sort {
                SortArg::Updated => SortKey::Updated,
                SortArg::Created => SortKey::Created,
                SortArg::Priority => SortKey::Priority,
                SortArg::Status => SortKey::Status,
                SortArg::Id => SortKey::Id,
                SortArg::Subject => SortKey::Subject,
            },
            reverse: self.reverse,
            limit: self.limit,
        })
    }
}

pub(crate) fn run(ctx: &mut Ctx, args: &ListArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Csv])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let query = args.query(ctx, &desk)?;
    // Each format keeps of an entry only what it prints and sorts by: a
    // JSON listing prints whole tickets, loaded again, and a table a few
    // columns, so 100,000 rows stay small.
    match format {
        Format::Json => {
            let subject = query.sort == SortKey::Subject;
            let listing = desk.list(&query, now, |e| Ranked::of(e, subject))?;
            ctx.warn_problems(&listing.problems);
            let ids: Vec<TicketId> = listing.rows.into_iter().map(|r| r.id).collect();
            write_json(ctx, &desk, &ids)
        }
        Format::Csv => {
            let listing = desk.list(&query, now, |e| e)?;
            ctx.warn_problems(&listing.problems);
            write_csv(ctx, &listing.rows)
        }
        _ => {
            let listing = desk.list(&query, now, Shown::of)?;
            ctx.warn_problems(&listing.problems);
            write_table(ctx, &listing.rows, now)
        }
    }
}

/// A row of a table listing: its columns (a third of a [`ListEntry`]).
struct Shown {
    /// The id, subject and times, which sorting uses too.
    ranked: Ranked,
    status: Box<str>,
    assignee: Option<Box<str>>,
    /// The customer's name, or else address.
    customer: Option<Box<str>>,
}

impl Shown {
    fn of(mut entry: ListEntry) -> Self {
        Self {
            status: std::mem::take(&mut entry.status).into(),
            assignee: entry.assignee.take().map(Into::into),
            customer: (entry.customer_name.take())
                .or(entry.customer_email.take())
                .map(Into::into),
            ranked: Ranked::of(entry, true),
        }
    }
}

impl Row for Shown {
    fn sort_fields(&self) -> SortFields<'_> {
        self.ranked.sort_fields()
    }
}

fn write_table(ctx: &mut Ctx, rows: &[Shown], now: Timestamp) -> Result<(), CommandError> {
    if rows.is_empty() {
        ctx.ui.status("No tickets match.");
        return Ok(());
    }
    // Each row's cells are made when they are written (twice off a
    // terminal: to measure the columns, then to write them), so a listing
    // of 100,000 rows never holds all its cells.
    let painter = ctx.ui.painter();
    let cells = |i: usize| -> Vec<String> {
        let (t, r) = (&rows[i], &rows[i].ranked);
        let priority = match r.priority {
            Priority::Urgent => painter.paint(Style::Red, "urgent"),
            Priority::High => painter.paint(Style::Yellow, "high"),
            p => p.to_string(),
        };
        vec![
            painter.paint(Style::Yellow, r.id.as_str()),
            painter.paint(render::status_style(r.category), &render::cell(&t.status)),
            priority,
            render::cell(t.assignee.as_deref().unwrap_or("-")),
            render::cell(t.customer.as_deref().unwrap_or("-")),
            render::age(r.created, now),
            render::age(r.updated, now),
            render::cell(&r.subject),
        ]
    };
    let header = [
        "ID", "STATUS", "PRI", "ASSIGNEE", "CUSTOMER", "AGE", "UPDATED", "SUBJECT",
    ];
    Ok(ctx.ui.print_rows(&header, rows.len(), true, &cells)?)
}

fn write_csv(ctx: &mut Ctx, rows: &[ListEntry]) -> Result<(), CommandError> {
    let mut out = ctx.ui.buffered();
    writeln!(
        out,
        "id,status,category,priority,assignee,department,customer,email,tags,created,updated,subject"
    )?;
    for t in rows {
        let time = |at: Option<Timestamp>| at.map(|a| a.to_rfc3339()).unwrap_or_default();
        let fields = [
            t.id.to_string(),
            t.status.clone(),
            t.category
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            t.priority.to_string(),
            t.assignee.clone().unwrap_or_default(),
            t.department.clone().unwrap_or_default(),
            t.customer_name.clone().unwrap_or_default(),
            t.customer_email.clone().unwrap_or_default(),
            t.tags.join(" "),
            time(t.created),
            time(t.updated),
            t.subject.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        writeln!(out, "{}", line.join(","))?;
    }
    out.flush()?;
    Ok(())
}

/// Writes the full tickets `ids` as a JSON array. Each ticket is loaded,
/// viewed and serialized on the thread that parsed it, in order, so a
/// listing of 100,000 tickets holds a few of them at a time.
fn write_json(
    ctx: &mut Ctx,
    desk: &crate::desk::Desk,
    ids: &[TicketId],
) -> Result<(), CommandError> {
    let statuses = &desk.config().statuses;
    let mut array = JsonArray::new(ctx.ui.buffered());
    let element = |ticket, _| serde_json::to_string_pretty(&TicketView::of(&ticket, statuses));
    let mut written = Ok(());
    desk.read(ids, ParseOn::Workers, &element, &mut |text| {
        written = text
            .map_err(std::io::Error::from)
            .and_then(|t| array.push(&t));
        // A failed write (a closed pipe) stops the reading too.
        if written.is_ok() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })?;
    written?;
    array.finish()?;
    Ok(())
}
