//! What `tix automate` and `tix autoclose` print: a progress bar on a
//! terminal, the summary (or JSON), warnings, and exit code 4 when the run
//! met problems.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::automate::{Phase, Progress, RunOptions, RunReport};

/// Shows a progress bar on stderr for long automation runs, only when
/// stderr is a terminal (quiet under cron).
pub(crate) struct Bar(pub(crate) Option<indicatif::ProgressBar>);

impl Progress for Bar {
    fn start(&mut self, phase: Phase, total: usize) {
        let message = match phase {
            Phase::Loading => "reading tickets",
            Phase::Committing => "committing",
            Phase::Writing => "writing",
        };
        if self.0.is_none() && total >= 200 && std::io::stderr().is_terminal() {
            let style = indicatif::ProgressStyle::with_template("{msg:16} {wide_bar} {pos}/{len}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            self.0 = Some(indicatif::ProgressBar::new(0).with_style(style));
        }
        if let Some(bar) = &self.0 {
            bar.set_message(message);
            if total > 0 {
                bar.set_length(total as u64);
                bar.set_position(0);
            }
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
    skipped: Vec<render::SkippedJson<'a>>,
    errors: &'a [String],
    conflicts: Vec<ConflictJson<'a>>,
    limited: Vec<LimitedJson<'a>>,
    hook_failures: &'a [String],
    /// The closing notices mailed after the commits that failed (they
    /// wait in the outbox).
    mail_failures: Vec<MailFailureJson<'a>>,
}

#[derive(Serialize)]
struct MailFailureJson<'a> {
    id: String,
    to: &'a str,
    error: &'a str,
}

#[derive(Serialize)]
struct TicketJson<'a> {
    id: &'a str,
    rules: &'a [String],
    from: Option<&'a str>,
    to: Option<&'a str>,
}

#[derive(Serialize)]
struct ConflictJson<'a> {
    id: &'a str,
    rules: &'a [String],
}

#[derive(Serialize)]
struct LimitedJson<'a> {
    rule: &'a str,
    limit: usize,
    beyond: usize,
}

/// `tix automate` and `tix autoclose`: runs the rules, prints the summary,
/// and turns problems into exit code 4.
pub(crate) fn run(ctx: &mut Ctx, closing_only: bool, dry_run: bool) -> Result<(), CommandError> {
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
    );
    if let Some(bar) = bar.0 {
        bar.finish_and_clear();
    }
    let report = report?;
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for plan in &report.planned {
        for rule in &plan.rules {
            *per_rule.entry(rule.as_str()).or_default() += 1;
        }
    }
    for line in &report.errors {
        ctx.ui.status(&format!("warning: {line}"));
    }
    for conflict in &report.conflicts {
        ctx.ui.status(&format!(
            "warning: {}: automations {} undo each other's changes, so nothing is committed; fix tix.toml",
            conflict.id,
            conflict.rules.join(", ")
        ));
    }
    for line in &report.hook_failures {
        ctx.ui.status(&format!("warning: {line}"));
    }
    for delivery in &report.mail {
        if let Some(why) = &delivery.error {
            ctx.ui.status(&format!(
                "warning: {}: closing notice to {} queued: {why}; `tix outbox --send` retries",
                delivery.ticket, delivery.to
            ));
        }
    }
    if format == Format::Json {
        print_json(ctx, &report, per_rule, dry_run)?;
    } else {
        print_table(ctx, &report, &per_rule, dry_run)?;
    }
    match report.problems() {
        0 => Ok(()),
        n => Err(CommandError::problems(format!(
            "the run met {n} problem{} (see the warnings above); {}",
            if n == 1 { "" } else { "s" },
            if dry_run {
                "everything else is listed"
            } else {
                "everything else is committed"
            }
        ))),
    }
}

fn print_json(
    ctx: &mut Ctx,
    report: &RunReport,
    per_rule: BTreeMap<&str, usize>,
    dry_run: bool,
) -> Result<(), CommandError> {
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
        skipped: render::skipped_json(&report.skipped),
        errors: &report.errors,
        conflicts: report
            .conflicts
            .iter()
            .map(|c| ConflictJson {
                id: c.id.as_str(),
                rules: &c.rules,
            })
            .collect(),
        limited: report
            .limited
            .iter()
            .map(|l| LimitedJson {
                rule: &l.rule,
                limit: l.limit,
                beyond: l.beyond,
            })
            .collect(),
        hook_failures: &report.hook_failures,
        mail_failures: report
            .mail
            .iter()
            .filter_map(|d| {
                Some(MailFailureJson {
                    id: d.ticket.to_string(),
                    to: &d.to,
                    error: d.error.as_deref()?,
                })
            })
            .collect(),
    };
    Ok(ctx.ui.json(&json)?)
}

fn print_table(
    ctx: &mut Ctx,
    report: &RunReport,
    per_rule: &BTreeMap<&str, usize>,
    dry_run: bool,
) -> Result<(), CommandError> {
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
    for limited in &report.limited {
        writeln!(
            out,
            "{}: limit of {} tickets reached; {} more match, the next run takes them.",
            limited.rule, limited.limit, limited.beyond
        )?;
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
