use std::io::Write;

use clap::{Args, ValueEnum};

use crate::cli::render;
use crate::cli::ui::{Format, Style, csv_field};
use crate::cli::{CommandError, Ctx};
use crate::config::{Config, FieldDef};
use crate::domain::entry::ListEntry;
use crate::domain::lifecycle::{Category, Statuses};
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
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = crate::cli::commands::new::parse_field)]
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
    #[arg(long, value_enum, default_value_t = SortKey::Updated)]
    sort: SortKey,
    /// Reverse the sort order.
    #[arg(long)]
    reverse: bool,
    /// Show at most N tickets.
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
}

/// How to order the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SortKey {
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

struct Filter {
    me: Option<crate::desk::Agent>,
    fields: Vec<FieldFilter>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    updated_after: Option<Timestamp>,
    updated_before: Option<Timestamp>,
    categories: Vec<Category>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ListArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Csv])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let statuses = &desk.config().statuses;
    let filter = build_filter(ctx, args, statuses, now, &desk)?;
    let keep = |category: Option<Category>| {
        category != Some(Category::Closed)
            || args.all
            || filter.categories.contains(&Category::Closed)
            || !args.status.is_empty()
    };
    // Each format keeps of an entry only what it prints and sorts by: a
    // JSON listing prints whole tickets, loaded again, and a table a few
    // columns, so 100,000 rows stay small.
    let select = Select {
        desk: &desk,
        keep: &keep,
        args,
        filter: &filter,
    };
    match format {
        Format::Json => {
            let ranked = select.rows(ctx, |e| Ranked::of(e, args.sort == SortKey::Subject))?;
            let ids: Vec<TicketId> = ranked.into_iter().map(|r| r.id).collect();
            write_json(ctx, &desk, &ids, statuses)?;
        }
        Format::Csv => {
            let rows = select.rows(ctx, |e| e)?;
            let mut out = ctx.ui.buffered();
            writeln!(
                out,
                "id,status,category,priority,assignee,department,customer,email,tags,created,updated,subject"
            )?;
            for t in &rows {
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
        }
        _ => {
            let rows = select.rows(ctx, Shown::of)?;
            if rows.is_empty() {
                ctx.ui.status("No tickets match.");
                return Ok(());
            }
            // Each row's cells are made when they are written (twice off a
            // terminal: to measure the columns, then to write them), so a
            // listing of 100,000 rows never holds all its cells.
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
            ctx.ui.print_rows(
                &[
                    "ID", "STATUS", "PRI", "ASSIGNEE", "CUSTOMER", "AGE", "UPDATED", "SUBJECT",
                ],
                rows.len(),
                true,
                &cells,
            )?;
        }
    }
    Ok(())
}

/// `--field KEY=VALUE` filters on one key: any of its values matches.
struct FieldFilter {
    name: String,
    /// The field of the ticket form; `None` without a form (text match).
    def: Option<FieldDef>,
    wanted: Vec<Wanted>,
}

/// One `--field` value.
enum Wanted {
    /// An empty value: the field is not set.
    Unset,
    /// Without a ticket form: the stored text.
    Text(String),
    /// A value of the field's type.
    Value(toml::Value),
}

impl FieldFilter {
    fn matches(&self, entry: &ListEntry) -> bool {
        let stored = entry
            .fields
            .iter()
            .find(|(name, _)| *name == self.name)
            .map(|(_, text)| text.as_str());
        self.wanted.iter().any(|wanted| match (wanted, stored) {
            (Wanted::Unset, stored) => stored.is_none(),
            (_, None) => false,
            (Wanted::Text(text), Some(stored)) => stored == text,
            (Wanted::Value(value), Some(stored)) => self.def.as_ref().is_some_and(|def| {
                def.parse_value(stored)
                    .is_ok_and(|stored| def.same_value(&stored, value))
            }),
        })
    }
}

/// Groups `--field` filters by key and parses each value as its field's
/// type, so the list compares values, not spellings. Without a ticket
/// form, values are compared as text.
fn field_filters(
    config: &Config,
    given: &[(String, String)],
) -> Result<Vec<FieldFilter>, CommandError> {
    let mut filters: Vec<FieldFilter> = Vec::new();
    for (name, text) in given {
        let def = if config.fields.is_empty() {
            None
        } else {
            Some(config.form_field(name).map_err(CommandError::usage)?)
        };
        let wanted = match def {
            _ if text.trim().is_empty() => Wanted::Unset,
            None => Wanted::Text(text.clone()),
            Some(def) => Wanted::Value(def.parse_value(text).map_err(CommandError::usage)?),
        };
        match filters.iter_mut().find(|f| f.name == *name) {
            Some(filter) => filter.wanted.push(wanted),
            None => filters.push(FieldFilter {
                name: name.clone(),
                def: def.cloned(),
                wanted: vec![wanted],
            }),
        }
    }
    Ok(filters)
}

fn build_filter(
    ctx: &Ctx,
    args: &ListArgs,
    statuses: &Statuses,
    now: Timestamp,
    desk: &crate::desk::Desk,
) -> Result<Filter, CommandError> {
    for status in &args.status {
        if statuses.get(status).is_none() {
            let known: Vec<&str> = statuses.iter().map(|s| s.id.as_str()).collect();
            return Err(CommandError::usage(format!(
                "unknown status '{status}': use {}",
                known.join(", ")
            )));
        }
    }
    let categories = args
        .category
        .iter()
        .map(|c| {
            Category::parse(c).ok_or_else(|| {
                CommandError::usage(format!(
                    "unknown category '{c}': use new, open, waiting, on_hold, solved or closed"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let time = |flag: &str, text: &Option<String>| -> Result<Option<Timestamp>, CommandError> {
        text.as_deref()
            .map(|t| {
                Timestamp::parse_user(t, now)
                    .map_err(|e| CommandError::usage(format!("--{flag}: {e}")))
            })
            .transpose()
    };
    Ok(Filter {
        fields: field_filters(desk.config(), &args.fields)?,
        me: if args.me {
            Some(ctx.agent(Some(desk))?)
        } else {
            None
        },
        created_after: time("created-after", &args.created_after)?,
        created_before: time("created-before", &args.created_before)?,
        updated_after: time("updated-after", &args.updated_after)?,
        updated_before: time("updated-before", &args.updated_before)?,
        categories,
    })
}

fn matches(t: &ListEntry, args: &ListArgs, filter: &Filter) -> bool {
    let shows_closed = args.all
        || args.status.contains(&t.status)
        || filter.categories.contains(&Category::Closed);
    if t.category == Some(Category::Closed) && !shows_closed {
        return false;
    }
    let contains = |hay: &Option<String>, needle: &str| {
        hay.as_deref()
            .is_some_and(|h| h.to_lowercase().contains(&needle.to_lowercase()))
    };
    let before = |at: Option<Timestamp>, limit: Option<Timestamp>| {
        limit.is_none_or(|l| at.is_some_and(|a| a < l))
    };
    let after = |at: Option<Timestamp>, limit: Option<Timestamp>| {
        limit.is_none_or(|l| at.is_some_and(|a| a >= l))
    };
    (args.status.is_empty() || args.status.contains(&t.status))
        && (filter.categories.is_empty()
            || t.category.is_some_and(|c| filter.categories.contains(&c)))
        && (args.priority.is_empty() || args.priority.contains(&t.priority))
        && match args.assignee.as_deref() {
            None => true,
            Some("none") => t.assignee.is_none(),
            Some(who) => t.assignee.as_deref() == Some(who),
        }
        && filter
            .me
            .as_ref()
            .is_none_or(|me| t.assignee.as_deref().is_some_and(|a| me.is(a)))
        && args
            .department
            .as_ref()
            .is_none_or(|d| t.department.as_ref() == Some(d))
        && args.tags.iter().all(|tag| t.tags.contains(tag))
        && args
            .customer
            .as_deref()
            .is_none_or(|c| contains(&t.customer_name, c) || contains(&t.customer_email, c))
        && (!args.pending || t.is_pending())
        && filter.fields.iter().all(|f| f.matches(t))
        && after(t.created, filter.created_after)
        && before(t.created, filter.created_before)
        && after(t.updated, filter.updated_after)
        && before(t.updated, filter.updated_before)
}

/// What selects the rows of a listing.
struct Select<'a> {
    desk: &'a crate::desk::Desk,
    keep: &'a dyn Fn(Option<Category>) -> bool,
    args: &'a ListArgs,
    filter: &'a Filter,
}

impl Select<'_> {
    /// The entries that match, each made into a row by `make` as it is
    /// read, arranged (see [`arrange`]); broken files are warned about.
    fn rows<T: Row>(
        &self,
        ctx: &mut Ctx,
        make: impl Fn(ListEntry) -> T,
    ) -> Result<Vec<T>, CommandError> {
        let (mut rows, problems) = self.desk.entries_as(self.keep, |entry| {
            matches(&entry, self.args, self.filter).then(|| make(entry))
        })?;
        for problem in &problems {
            ctx.ui.status(&format!("warning: skipped {problem}"));
        }
        if !problems.is_empty() {
            ctx.ui.status("hint: `tix doctor` checks every ticket file");
        }
        arrange(self.desk, self.args, &mut rows)?;
        Ok(rows)
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

/// Keeps the rows `--search` finds, then sorts, reverses and limits them.
fn arrange<T: Row>(
    desk: &crate::desk::Desk,
    args: &ListArgs,
    rows: &mut Vec<T>,
) -> Result<(), CommandError> {
    if rows.is_empty() {
        return Ok(());
    }
    if let Some(needle) = &args.search {
        // Text search needs the conversation: load only the candidates.
        // Each ticket is searched on the thread that parsed it.
        let needle = needle.to_lowercase();
        let ids: Vec<TicketId> = rows.iter().map(|r| r.sort_fields().id.clone()).collect();
        let hits = desk.load_many_with(&ids, &|ticket, _| {
            ticket.subject.to_lowercase().contains(&needle)
                || ticket.events.iter().any(|e| {
                    e.body
                        .as_deref()
                        .is_some_and(|b| b.to_lowercase().contains(&needle))
                })
        })?;
        let mut hits = hits.into_iter();
        rows.retain(|_| hits.next().unwrap_or(false));
    }
    sort(rows, args.sort);
    if args.reverse {
        rows.reverse();
    }
    if let Some(limit) = args.limit {
        rows.truncate(limit);
    }
    Ok(())
}

/// What ordering a row needs.
struct SortFields<'a> {
    id: &'a TicketId,
    subject: &'a str,
    updated: Option<Timestamp>,
    created: Option<Timestamp>,
    priority: Priority,
    category: Option<Category>,
}

/// A row of the listing, as sorting sees it.
trait Row {
    fn sort_fields(&self) -> SortFields<'_>;
}

impl Row for ListEntry {
    fn sort_fields(&self) -> SortFields<'_> {
        SortFields {
            id: &self.id,
            subject: &self.subject,
            updated: self.updated,
            created: self.created,
            priority: self.priority,
            category: self.category,
        }
    }
}

/// An entry reduced to what sorting needs (a tenth of a [`ListEntry`]):
/// a JSON listing's row, which then loads the ticket whole.
struct Ranked {
    id: TicketId,
    /// Kept only where it is sorted by or shown.
    subject: Box<str>,
    updated: Option<Timestamp>,
    created: Option<Timestamp>,
    priority: Priority,
    category: Option<Category>,
}

impl Ranked {
    fn of(entry: ListEntry, keep_subject: bool) -> Self {
        Self {
            subject: if keep_subject {
                entry.subject.into()
            } else {
                Box::default()
            },
            id: entry.id,
            updated: entry.updated,
            created: entry.created,
            priority: entry.priority,
            category: entry.category,
        }
    }
}

impl Row for Ranked {
    fn sort_fields(&self) -> SortFields<'_> {
        SortFields {
            id: &self.id,
            subject: &self.subject,
            updated: self.updated,
            created: self.created,
            priority: self.priority,
            category: self.category,
        }
    }
}

fn sort<T: Row>(rows: &mut [T], key: SortKey) {
    use std::cmp::Ordering;
    let category_rank = |row: &SortFields| row.category.map_or(usize::MAX, |c| c as usize);
    let compare = |a: &T, b: &T| -> Ordering {
        let (a, b) = (a.sort_fields(), b.sort_fields());
        match key {
            SortKey::Updated => b.updated.cmp(&a.updated),
            SortKey::Created => a.created.cmp(&b.created),
            SortKey::Priority => b.priority.cmp(&a.priority).then(a.created.cmp(&b.created)),
            SortKey::Status => category_rank(&a).cmp(&category_rank(&b)),
            SortKey::Id => Ordering::Equal,
            SortKey::Subject => a.subject.cmp(b.subject),
        }
        .then(a.id.cmp(b.id))
    };
    // Entries are large: sort their positions, by a key kept beside each
    // position for the time orders (30,000 rows would otherwise be read
    // from all over memory at every comparison), then move each row once.
    let time = |at: Option<Timestamp>| at.map_or(i64::MIN, |t| t.unix());
    let key = |row: &T| -> Option<(i64, i64)> {
        let row = row.sort_fields();
        match key {
            SortKey::Updated => Some((-time(row.updated).saturating_add(1), 0)),
            SortKey::Created => Some((time(row.created), 0)),
            SortKey::Priority => Some((-(row.priority as i64), time(row.created))),
            SortKey::Status => Some((category_rank(&row) as i64, 0)),
            SortKey::Id | SortKey::Subject => None,
        }
    };
    let mut order: Vec<(Option<(i64, i64)>, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (key(row), i))
        .collect();
    order.sort_unstable_by(|(ka, a), (kb, b)| match (ka, kb) {
        (Some(ka), Some(kb)) => ka
            .cmp(kb)
            .then_with(|| rows[*a].sort_fields().id.cmp(rows[*b].sort_fields().id)),
        _ => compare(&rows[*a], &rows[*b]),
    });
    let order: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
    permute(rows, order);
}

/// Puts `rows[order[k]]` at `k` for every `k`, in place (a copy of 100,000
/// rows would hold them twice), following each cycle of the permutation.
fn permute<T>(rows: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start && order[at] != at {
            let from = order[at];
            rows.swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

/// Writes the full tickets `ids` as the JSON array `Ui::json` writes
/// (pretty, one trailing newline). Each ticket is loaded, viewed and
/// serialized on the thread that parsed it, in order, so a listing of
/// 100,000 tickets holds a few of them at a time, and each is freed by the
/// thread that built it.
fn write_json(
    ctx: &mut Ctx,
    desk: &crate::desk::Desk,
    ids: &[TicketId],
    statuses: &Statuses,
) -> Result<(), CommandError> {
    let mut out = ctx.ui.buffered();
    if ids.is_empty() {
        writeln!(out, "[]")?;
        out.flush()?;
        return Ok(());
    }
    let element = |ticket: crate::model::Ticket, _| {
        serde_json::to_string_pretty(&TicketView::of(&ticket, statuses)).map(|text| nested(&text))
    };
    let mut written = out.write_all(b"[\n");
    let mut first = true;
    let loaded = desk.for_each_loaded(ids, &element, &mut |text| {
        let text = match text {
            Ok(text) => text,
            Err(error) => {
                written = Err(error.into());
                return std::ops::ControlFlow::Break(());
            }
        };
        if written.is_ok() && !std::mem::take(&mut first) {
            written = out.write_all(b",\n");
        }
        if written.is_ok() {
            written = out.write_all(text.as_bytes());
        }
        // A failed write (a closed pipe) stops the reading too.
        if written.is_ok() {
            std::ops::ControlFlow::Continue(())
        } else {
            std::ops::ControlFlow::Break(())
        }
    });
    loaded?;
    written?;
    out.write_all(b"\n]\n")?;
    out.flush()?;
    Ok(())
}

/// A pretty JSON value as an element of a pretty array: every line indented
/// two spaces (JSON strings hold no raw line breaks).
fn nested(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("  ");
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{nested, permute};

    /// Elements written one by one read as serde_json's pretty array.
    #[test]
    fn nested_elements_make_the_pretty_array() {
        let values = vec![
            serde_json::json!({"id": "k3x9p2", "tags": ["a", "b"], "text": "two\nlines", "empty": {}}),
            serde_json::json!({"id": "b2", "events": [{"at": 1}], "none": null}),
        ];
        let expected = serde_json::to_string_pretty(&values).unwrap();
        let elements: Vec<String> = values
            .iter()
            .map(|v| nested(&serde_json::to_string_pretty(v).unwrap()))
            .collect();
        assert_eq!(format!("[\n{}\n]", elements.join(",\n")), expected);
    }

    #[test]
    fn rows_are_permuted_in_place_as_ordered() {
        let mut rng = fastrand::Rng::with_seed(11);
        for len in [0usize, 1, 2, 3, 5, 8, 100, 1000] {
            for _ in 0..20 {
                let mut order: Vec<usize> = (0..len).collect();
                rng.shuffle(&mut order);
                let rows: Vec<String> = (0..len).map(|i| format!("row {i}")).collect();
                let expected: Vec<String> = order.iter().map(|&i| rows[i].clone()).collect();
                let mut permuted = rows.clone();
                permute(&mut permuted, order);
                assert_eq!(permuted, expected);
            }
        }
    }
}
