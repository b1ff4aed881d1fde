//! The three renderings of `tix list`: a table, CSV, and the tickets as a
//! JSON array streamed as they are read.

use std::io::Write;
use std::ops::ControlFlow;

use crate::cli::render;
use crate::cli::ui::{Cells, Format, JsonArray, Style};
use crate::cli::{CommandError, Ctx};
use crate::desk::query::{Ranked, Row, SortFields};
use crate::desk::{Desk, ParseOn};
use crate::domain::entry::ListEntry;
use crate::domain::filter::{Filter, View};
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
    let cells = |i: usize, cells: &mut Cells| {
        let (t, r) = (&rows[i], &rows[i].ranked);
        cells.push_with(|out| {
            painter.paint_into(Style::Yellow, out, |out| out.push_str(r.id.as_str()));
        });
        cells.push_with(|out| {
            painter.paint_into(render::status_style(r.category), out, |out| {
                render::cell_into(&t.status, out);
            });
        });
        cells.push_with(|out| match r.priority {
            Priority::Urgent => painter.paint_into(Style::Red, out, |out| out.push_str("urgent")),
            Priority::High => painter.paint_into(Style::Yellow, out, |out| out.push_str("high")),
            p => out.push_str(p.as_str()),
        });
        cells.push_with(|out| render::cell_into(t.assignee.as_deref().unwrap_or("-"), out));
        cells.push_with(|out| render::cell_into(t.customer.as_deref().unwrap_or("-"), out));
        cells.push_with(|out| render::age_into(r.created, now, out));
        cells.push_with(|out| render::age_into(r.updated, now, out));
        cells.push_with(|out| render::cell_into(&r.subject, out));
    };
    let header = [
        "ID", "STATUS", "PRI", "ASSIGNEE", "CUSTOMER", "AGE", "UPDATED", "SUBJECT",
    ];
    Ok(ctx.ui.print_rows(&header, rows.len(), true, &cells)?)
}

pub(crate) fn csv(ctx: &mut Ctx, rows: &[ListEntry]) -> Result<(), CommandError> {
    let header = [
        "id",
        "status",
        "category",
        "priority",
        "assignee",
        "department",
        "customer",
        "email",
        "tags",
        "created",
        "updated",
        "subject",
    ];
    let time = |at: Option<Timestamp>| at.map(|a| a.to_rfc3339()).unwrap_or_default();
    let mut lines = rows.iter().map(|t| {
        vec![
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
        ]
    });
    Ok(ctx.ui.print_csv(&header, &mut lines)?)
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

/// A view as `tix list --views --format json` prints it.
#[derive(serde::Serialize)]
struct ViewJson<'a> {
    name: &'a str,
    when: &'a Filter,
}

/// Writes the views of `tix.toml` (`tix list --views`): as JSON, or as a
/// table of each name and the flags its filter stands for, wrapped to the
/// width of the terminal (80 columns off one).
pub(crate) fn views(ctx: &mut Ctx, views: &[View], format: Format) -> Result<(), CommandError> {
    if format == Format::Json {
        let json: Vec<ViewJson<'_>> = views
            .iter()
            .map(|v| ViewJson {
                name: &v.name,
                when: &v.filter,
            })
            .collect();
        return Ok(ctx.ui.json(&json)?);
    }
    if views.is_empty() {
        ctx.ui
            .status("No views: tix.toml defines none (add a [[view]], docs/configuration.md).");
        return Ok(());
    }
    let name_width = views
        .iter()
        .map(|v| v.name.chars().count())
        .chain(["NAME".len()])
        .max()
        .unwrap_or_default();
    let room = ctx.ui.columns().saturating_sub(name_width + 2);
    let painter = ctx.ui.painter();
    let mut out = ctx.ui.buffered();
    let header = format!("{:name_width$}  FILTER", "NAME");
    writeln!(out, "{}", painter.paint(Style::Bold, &header))?;
    for view in views {
        let words: Vec<String> = view
            .filter
            .to_flags()
            .into_iter()
            .map(|(flag, value)| match value {
                Some(value) => format!("{flag} {}", shell_word(&render::cell(&value))),
                None => flag.to_owned(),
            })
            .collect();
        let lines = wrap(&words, room);
        let name = render::cell(&view.name);
        let mut lines = lines.iter().map(String::as_str);
        let first = lines.next().unwrap_or("-");
        writeln!(out, "{name:name_width$}  {first}")?;
        for line in lines {
            writeln!(out, "{:name_width$}  {line}", "")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Puts `words` on lines of at most `room` columns, a word too long for
/// one on a line of its own.
fn wrap(words: &[String], room: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in words {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= room => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.clone()),
        }
    }
    lines
}

/// Quotes a value the way a shell reads it back, when it needs quoting.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.,:/@%+=".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::{shell_word, wrap};

    #[test]
    fn flags_wrap_between_words_and_a_long_word_keeps_a_line() {
        let words: Vec<String> = ["--me", "--priority high,urgent", "--tag vip", "--all"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(
            wrap(&words, 80),
            ["--me --priority high,urgent --tag vip --all"]
        );
        assert_eq!(
            wrap(&words, 27),
            ["--me --priority high,urgent", "--tag vip --all"]
        );
        assert_eq!(
            wrap(&words, 5),
            ["--me", "--priority high,urgent", "--tag vip", "--all"]
        );
        assert!(wrap(&[], 80).is_empty());
    }

    #[test]
    fn values_are_quoted_only_when_a_shell_would_split_them() {
        assert_eq!(shell_word("high,urgent"), "high,urgent");
        assert_eq!(shell_word("plan=pro"), "plan=pro");
        assert_eq!(shell_word("Bo Berg"), "'Bo Berg'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("$(rm)"), "'$(rm)'");
    }
}
