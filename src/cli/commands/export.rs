//! `tix export`: every ticket, closed ones too, as JSON lines (the object
//! of `tix show --format json`) or as CSV, streamed in id order.

use std::io::{self, Write};
use std::ops::ControlFlow;

use clap::Args;

use crate::cli::ui::{Format, csv_field, csv_text};
use crate::cli::{CommandError, Ctx};
use crate::desk::export::ExportQuery;
use crate::desk::{Desk, Problem};
use crate::domain::lifecycle::Statuses;
use crate::domain::sla::SlaState;
use crate::domain::view::{ShownTicket, SlaView, TicketView, message_role};
use crate::model::{Ticket, Timestamp};

/// Export every ticket, closed ones too, for other tools.
///
/// --format jsonl (the default) prints one ticket a line: the object of
/// `tix show ID --format json`, SLA state included. --format csv prints a
/// header and one row a ticket, custom fields as `field.NAME` columns
/// (docs/json-schema.md). Tickets come in id order; redirect the output to
/// keep it in a file. A ticket file that does not load is named on stderr
/// and left out.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix export > tickets.jsonl\n  tix export --format csv > tickets.csv\n  tix export --since 7d | jq -r '.id + \" \" + .status'"
)]
pub(crate) struct ExportArgs {
    /// Only tickets updated at or after DATE: a time, a date (2025-03-01),
    /// a duration ago (30d) or a word (yesterday, monday).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
}

/// The CSV columns before the custom fields (docs/json-schema.md, "CSV").
const CSV_HEADER: &str = "id,subject,status,category,priority,assignee,department,tags,\
customer_name,customer_email,customer_phone,created,updated,first_reply,postponed_until,\
reopens,rating,rating_comment,messages,follow_up_of,duplicate_of,related,source";

pub(crate) fn run(ctx: &mut Ctx, args: &ExportArgs) -> Result<(), CommandError> {
    // JSON lines unless --format says otherwise (the global default, a
    // table, is not a format of this command).
    let format = match ctx.format {
        None => Format::Jsonl,
        Some(_) => ctx.format(&[Format::Jsonl, Format::Csv])?,
    };
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let query = ExportQuery {
        since: args.since.clone(),
        sla: format == Format::Jsonl,
    };
    let mut out = ctx.ui.buffered();
    let problems = if format == Format::Csv {
        csv(&mut out, &desk, &query, now)?
    } else {
        let statuses = &desk.config().statuses;
        let line = |ticket: &Ticket, sla: Option<&SlaState>| {
            serde_json::to_vec(&ShownTicket {
                ticket: TicketView::of(ticket, statuses),
                sla: sla.map(|state| SlaView::of(&ticket.id, state)),
            })
        };
        write_lines(&mut out, None, &desk, &query, now, &line)?
    };
    out.flush()?;
    drop(out);
    ctx.warn_problems(&problems);
    Ok(())
}

/// Writes the header, then one row a ticket.
fn csv(
    out: &mut impl Write,
    desk: &Desk,
    query: &ExportQuery,
    now: Timestamp,
) -> Result<Vec<Problem>, CommandError> {
    let fields = desk.field_names()?;
    let mut header = CSV_HEADER.to_owned();
    for name in &fields {
        header.push(',');
        header.push_str(&csv_text(&format!("field.{name}")));
    }
    let statuses = &desk.config().statuses;
    let row = |ticket: &Ticket, _: Option<&SlaState>| {
        Ok::<_, serde_json::Error>(csv_row(ticket, statuses, &fields).into_bytes())
    };
    write_lines(out, Some(header), desk, query, now, &row)
}

/// Makes the output line of a ticket (without its line break), given its
/// SLA state when the export asked for it.
type MakeLine<'a> = dyn Fn(&Ticket, Option<&SlaState>) -> serde_json::Result<Vec<u8>> + Sync + 'a;

/// Writes `header`, then what `line` makes of each exported ticket, a line
/// each, in id order; stops reading at the first failed write (a closed
/// pipe). The header waits for the export to start, so a refused one (a
/// bad `--since`) writes nothing.
fn write_lines(
    out: &mut impl Write,
    mut header: Option<String>,
    desk: &Desk,
    query: &ExportQuery,
    now: Timestamp,
    line: &MakeLine<'_>,
) -> Result<Vec<Problem>, CommandError> {
    let mut write_header = |out: &mut dyn Write| match header.take() {
        Some(header) => writeln!(out, "{header}"),
        None => Ok(()),
    };
    let mut written = Ok(());
    let problems = desk.export(query, now, line, &mut |made| {
        written = write_header(out).and_then(|()| {
            out.write_all(&made.map_err(io::Error::from)?)?;
            out.write_all(b"\n")
        });
        if written.is_ok() {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    })?;
    written?;
    write_header(out)?;
    Ok(problems)
}

/// One CSV row: the columns of [`CSV_HEADER`], then the value of each
/// custom field in `fields` (empty when the ticket has none). Text people
/// wrote is defused against formulas; ids, times and numbers are not.
fn csv_row(ticket: &Ticket, statuses: &Statuses, fields: &[String]) -> String {
    let summary = ticket.summary(statuses);
    let time = |at: Option<Timestamp>| at.map(|a| a.to_rfc3339()).unwrap_or_default();
    let text = |value: Option<&str>| csv_text(value.unwrap_or_default());
    let words = |words: Vec<&str>| csv_text(&words.join(" "));
    let messages = ticket
        .events
        .iter()
        .filter(|e| message_role(e).is_some())
        .count();
    let rating = ticket.rating.as_ref();
    let mut cells = vec![
        csv_field(ticket.id.as_str()),
        csv_text(&ticket.subject),
        csv_text(&summary.status),
        summary
            .category
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        ticket.priority.to_string(),
        text(ticket.assignee.as_deref()),
        text(ticket.department.as_deref()),
        words(ticket.tags.iter().map(String::as_str).collect()),
        text(ticket.customer.name.as_deref()),
        text(ticket.customer.email.as_deref()),
        text(ticket.customer.phone.as_deref()),
        time(summary.created),
        time(summary.updated),
        time(summary.first_reply),
        time(summary.postponed_until),
        summary.reopens.to_string(),
        rating.map(|r| r.score.to_string()).unwrap_or_default(),
        text(rating.and_then(|r| r.comment.as_deref())),
        messages.to_string(),
        text(ticket.follow_up_of.as_ref().map(|id| id.as_str())),
        text(ticket.duplicate_of.as_ref().map(|id| id.as_str())),
        words(ticket.related.iter().map(|id| id.as_str()).collect()),
        text(ticket.source.as_deref()),
    ];
    cells.extend(fields.iter().map(|name| match ticket.fields.get(name) {
        None => String::new(),
        Some(toml::Value::String(value)) => csv_text(value),
        // Numbers, booleans and dates: tix wrote them, and `-5` is a number.
        Some(value) => csv_field(&crate::domain::change::field_text(value)),
    }));
    cells.join(",")
}
