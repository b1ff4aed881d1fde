//! `tix list`: the filters of a [`ListQuery`], rendered as a table, CSV
//! or the tickets as JSON.

use clap::{Args, ValueEnum};

use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx, parse_field};
use crate::desk::query::{ListQuery, Ranked, SortKey};
use crate::model::{Priority, TicketId};

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
    /// List the desk as it was at a past commit: a revision (HEAD~5, a
    /// commit id, a tag), a time (2025-03-01, an RFC 3339 time) or a
    /// duration ago (30d): the last commit at or before it. Ages and
    /// relative filters count from that moment.
    #[arg(long, value_name = "REV|DATE")]
    at: Option<String>,
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
    let (desk, now) = ctx.desk_at(args.at.as_deref())?;
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
            render::list::json(ctx, &desk, &ids)
        }
        Format::Csv => {
            let listing = desk.list(&query, now, |e| e)?;
            ctx.warn_problems(&listing.problems);
            render::list::csv(ctx, &listing.rows)
        }
        _ => {
            let listing = desk.list(&query, now, render::list::Shown::of)?;
            ctx.warn_problems(&listing.problems);
            render::list::table(ctx, &listing.rows, now)
        }
    }
}
