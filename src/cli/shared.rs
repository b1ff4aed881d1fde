//! Helpers several commands share: applying a change and reporting it.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use serde::Serialize;

use super::ui::Format;
use super::{CommandError, Ctx};
use crate::automation::{Progress, RunOptions};
use crate::change::Change;
use crate::desk::Desk;
use crate::view::TicketView;

/// Applies `change` to the ticket `prefix` names, in one commit, and reports
/// the result (a line, or the ticket as JSON).
pub(crate) fn change_ticket(
    ctx: &mut Ctx,
    prefix: &str,
    build: impl FnOnce(&Desk) -> Result<Change, CommandError>,
) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let id = desk.resolve(prefix)?;
    let change = &build(&desk)?;
    let agent = ctx.agent(Some(&desk))?;
    let now = ctx.now()?;
    let (ticket, applied) = desk.change(&id, change, &agent, now).map_err(|err| {
        let closed_reply = matches!(change, Change::CustomerReply { .. })
            && err.to_string().contains("the ticket is closed");
        let err = CommandError::from(err);
        if closed_reply {
            err.hint(format!("reopen it with `tix reopen {id}`, or start a follow-up with `tix new SUBJECT --follow-up {id}`"))
        } else {
            err
        }
    })?;
    for failure in desk.run_hooks(&ticket, &applied) {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    if format == Format::Json {
        return Ok(ctx
            .ui
            .json(&TicketView::of(&ticket, &desk.config().statuses))?);
    }
    let line = match &applied.status {
        Some((from, to)) => format!("{id}: {} ({from} -> {to})", applied.action),
        None => format!("{id}: {}", applied.action),
    };
    writeln!(ctx.ui.out(), "{line}")?;
    Ok(())
}

/// Shows a progress bar on stderr for long automation runs, only when
/// stderr is a terminal (quiet under cron).
struct Bar(Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn start(&mut self, total: usize) {
        if total >= 200 && std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_message("committing");
            self.0 = Some(bar);
        }
    }

    fn advance(&mut self, done: usize) {
        if let Some(bar) = &self.0 {
            bar.set_position(done as u64);
        }
    }
}

#[derive(Serialize)]
struct RunJson<'a> {
    dry_run: bool,
    changed: usize,
    rules: BTreeMap<&'a str, usize>,
    tickets: Vec<TicketJson<'a>>,
    skipped: Vec<SkippedJson<'a>>,
    errors: &'a [String],
}

#[derive(Serialize)]
struct TicketJson<'a> {
    id: &'a str,
    rules: &'a [String],
    from: Option<&'a str>,
    to: Option<&'a str>,
}

#[derive(Serialize)]
struct SkippedJson<'a> {
    id: &'a str,
    reason: &'a str,
}

/// `tix automate` and `tix autoclose`.
pub(crate) fn run_automation(
    ctx: &mut Ctx,
    closing_only: bool,
    dry_run: bool,
) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let mut bar = Bar(None);
    let report = desk.automate(
        RunOptions {
            closing_only,
            dry_run,
        },
        now,
        &mut bar,
    )?;
    if let Some(bar) = bar.0 {
        bar.finish_and_clear();
    }
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for plan in &report.planned {
        for rule in &plan.rules {
            *per_rule.entry(rule.as_str()).or_default() += 1;
        }
    }
    for line in report.errors.iter().chain(&report.hook_failures) {
        ctx.ui.status(&format!("warning: {line}"));
    }
    if format == Format::Json {
        let json = RunJson {
            dry_run,
            changed: report.planned.len(),
            rules: per_rule,
            tickets: report
                .planned
                .iter()
                .map(|p| TicketJson {
                    id: p.id.as_str(),
                    rules: &p.rules,
                    from: p.status.as_ref().map(|s| s.0.as_str()),
                    to: p.status.as_ref().map(|s| s.1.as_str()),
                })
                .collect(),
            skipped: report
                .skipped
                .iter()
                .map(|(id, reason)| SkippedJson {
                    id: id.as_str(),
                    reason,
                })
                .collect(),
            errors: &report.errors,
        };
        return Ok(ctx.ui.json(&json)?);
    }
    let out = ctx.ui.out();
    if dry_run {
        for plan in &report.planned {
            let status = plan
                .status
                .as_ref()
                .map(|(f, t)| format!("  {f} -> {t}"))
                .unwrap_or_default();
            writeln!(out, "{}  {}{status}", plan.id, plan.rules.join(", "))?;
        }
    }
    for (id, reason) in &report.skipped {
        writeln!(out, "{id}  skipped: {reason}")?;
    }
    let rules: Vec<String> = per_rule
        .iter()
        .map(|(rule, n)| format!("{rule}: {n}"))
        .collect();
    let verb = if dry_run { "Would change" } else { "Changed" };
    let detail = if rules.is_empty() {
        String::new()
    } else {
        format!(" ({})", rules.join(", "))
    };
    let n = report.planned.len();
    writeln!(
        out,
        "{verb} {n} ticket{}{detail}.",
        if n == 1 { "" } else { "s" }
    )?;
    Ok(())
}
