//! The three renderings of `tix list`: a table, CSV, and the tickets as a
//! JSON array streamed as they are read.

use std::io::Write;
use std::ops::ControlFlow;

use crate::cli::render;
use crate::cli::ui::{JsonArray, Style, csv_field};
use crate::cli::{CommandError, Ctx};
use crate::desk::query::{Ranked, Row, SortFields};
use crate::desk::{Desk, ParseOn};
use crate::domain::entry::ListEntry;
use crate::domain::view::TicketView;
use crate::model::{Priority, TicketId, Timestamp};

/// A row of a table listing: its columns (a third of a [`ListEntry`]).
pub(crate) struct Shown {
    /// The id, subject and times, which sorting uses too.
    ranked: Ranked,
    status: Box<str>,
    assignee: Option<Box<str>>,
    /// The customer's name, or else address.
    customer: Option<Box<str>>,
}

impl Shown {
    pub(crate) fn of(mut entry: ListEntry) -> Self {
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

pub(crate) fn table(ctx: &mut Ctx, rows: &[Shown], now: Timestamp) -> Result<(), CommandError> {
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

pub(crate) fn csv(ctx: &mut Ctx, rows: &[ListEntry]) -> Result<(), CommandError> {
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
pub(crate) fn json(ctx: &mut Ctx, desk: &Desk, ids: &[TicketId]) -> Result<(), CommandError> {
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
