//! `tix list`: the filters of a [`ListQuery`], from a view of `tix.toml`
//! and the flags, rendered as a table, CSV or the tickets as JSON; or,
//! with `--views`, the views themselves.

use clap::{Args, ValueEnum};

use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx, parse_field};
use crate::desk::query::{ListQuery, Ranked, SortKey};
use crate::domain::filter::Filter;
use crate::model::{Priority, TicketId};

/// List tickets; by default every ticket that is not closed.
///
/// Filters combine (all must hold); a repeated filter matches any of its
/// values, except --tag where the ticket needs every tag.
///
/// --view NAME lists the tickets of a view of tix.toml ([[view]]); the
/// flags given with it narrow it further, and a flag that takes one value
/// (--assignee/--me, --department, --customer, --search, the dates)
/// replaces the view's. --views lists the views.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix list --pending\n  tix list --me --category open --sort priority\n  tix list --view vip-waiting --priority urgent\n  tix list --all --format csv > tickets.csv"
)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
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
    /// Only the tickets of this view of tix.toml; the other flags narrow
    /// it.
    #[arg(long, value_name = "NAME")]
    view: Option<String>,
    /// List the views of tix.toml and their filters instead of tickets.
    #[arg(long, conflicts_with_all = ["view", "sort", "reverse", "limit"])]
    views: bool,
}

/// The filter flags of `tix list`: each is a key of a view's `when`
/// table, named with `_` for `-` ([`Filter`]).
#[derive(Debug, Args)]
#[group(id = "filters", multiple = true)]
struct FilterArgs {
    /// Only these statuses (repeatable or comma-separated).
    #[arg(long, value_name = "STATUS", value_delimiter = ',')]
    status: Vec<String>,
    /// Only these categories: new, open, waiting, on_hold, solved, closed.
    #[arg(long, value_name = "CATEGORY", value_delimiter = ',')]
    category: Vec<String>,
    /// Only these priorities.
    #[arg(long, value_name = "PRIORITY", value_delimiter = ',')]
    priority: Vec<Priority>,
    /// Only tickets assigned to this agent (name or address; "none" for
    /// unassigned, "me" for yours).
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
    /// Only tickets created at or after DATE: a time, a date (2025-03-01),
    /// a duration ago (7d, 3h) or a word (today, yesterday, monday).
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
}

impl FilterArgs {
    /// The filter these flags give. Every flag is named here, and every
    /// key of [`Filter`]: one without the other does not compile.
    fn filter(&self) -> Filter {
        let Self {
            status,
            category,
            priority,
            assignee,
            me,
            department,
            tags,
            customer,
            fields,
            pending,
            search,
            created_after,
            created_before,
            updated_after,
            updated_before,
            all,
        } = self;
        Filter {
            status: status.clone(),
            category: category.clone(),
            priority: priority.clone(),
            assignee: assignee.clone(),
            me: *me,
            department: department.clone(),
            tag: tags.clone(),
            customer: customer.clone(),
            field: fields.clone(),
            pending: *pending,
            search: search.clone(),
            created_after: created_after.clone(),
            created_before: created_before.clone(),
            updated_after: updated_after.clone(),
            updated_before: updated_before.clone(),
            all: *all,
        }
    }
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
        let view = match &self.view {
            Some(name) => Some(desk.view(name)?.clone()),
            None => None,
        };
        let filter = self.filter.filter();
        let needs_me = filter.needs_me()
            || view
                .as_ref()
                .is_some_and(|v| v.filter.overridden_by(&filter).needs_me());
        Ok(ListQuery {
            view,
            filter,
            me: if needs_me {
                Some(ctx.agent(desk)?)
            } else {
                None
            },
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
    if args.views {
        if args.filter.filter() != Filter::default() {
            return Err(CommandError::usage(
                "--views lists the views of tix.toml and takes no filter; to list a view's tickets, use --view NAME",
            ));
        }
        let format = ctx.format(&[Format::Table, Format::Json])?;
        let (desk, _) = ctx.desk_at(args.at.as_deref())?;
        return render::list::views(ctx, &desk.config().views, format);
    }
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
            if listing.rows.is_empty() && listing.closed_left_out {
                ctx.ui.status(
                    "No tickets match; closed tickets were left out (--all includes them).",
                );
                return Ok(());
            }
            render::list::table(ctx, &listing.rows, now)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use crate::cli::Cli;
    use crate::domain::filter::Filter;

    /// The keys a view's `when` takes, as serde lists them.
    fn view_keys() -> Vec<String> {
        let err = toml::from_str::<Filter>("no_such_key = 1\n").unwrap_err();
        let message = err.message().to_owned();
        let (_, list) = message.split_once("expected one of ").unwrap();
        list.split(", ")
            .map(|k| k.trim_matches('`').to_owned())
            .collect()
    }

    #[test]
    fn every_filter_flag_is_a_view_key_and_every_key_a_flag() {
        let cli = Cli::command();
        let list = cli.find_subcommand("list").unwrap();
        let filters = list.get_groups().find(|g| g.get_id() == "filters").unwrap();
        let mut flags: Vec<String> = filters
            .get_args()
            .map(|id| {
                let arg = list.get_arguments().find(|a| a.get_id() == id).unwrap();
                arg.get_long().unwrap().replace('-', "_")
            })
            .collect();
        let mut keys = view_keys();
        flags.sort();
        keys.sort();
        assert_eq!(flags, keys);
        // Every other flag of `tix list` is known not to be a filter: a new
        // filter flag outside FilterArgs would have no view key.
        let others: Vec<&str> = list
            .get_arguments()
            .filter(|a| !a.is_global_set() && !filters.get_args().any(|id| id == a.get_id()))
            .filter_map(|a| a.get_long())
            .collect();
        assert_eq!(others, ["sort", "reverse", "limit", "at", "view", "views"]);
    }
}
