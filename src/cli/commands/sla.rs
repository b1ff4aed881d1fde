//! `tix sla` and `tix sla check`: render what `Desk::sla_states` and
//! `Desk::sla_check` find.

use clap::{Args, Subcommand};

use crate::cli::render;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::sla_check::SlaQuery;
use crate::domain::view::SlaView;
use crate::model::parse_duration_secs;

/// Show SLA targets: deadline, time left or overdue, per ticket.
///
/// Without ID: every active ticket a policy covers. `tix sla check` (for
/// cron) records each new breach once in its ticket, runs the sla_breach
/// hooks, prints what breached, and exits 4 while any active ticket has a
/// breached target (new or already recorded), 0 when none has; 1, 2, 3
/// and 255 mean the check itself failed.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix sla --breached\n  tix sla --at-risk 2h --format json\n  tix sla check --format json"
)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct SlaArgs {
    #[command(subcommand)]
    check: Option<SlaCommand>,
    /// One ticket (id or unique prefix; `#check` for a ticket whose id
    /// starts with "check").
    id: Option<String>,
    /// Only tickets with a breached target.
    #[arg(long)]
    breached: bool,
    /// Only tickets with an active target due within WITHIN (e.g. 2h).
    #[arg(long, value_name = "WITHIN")]
    at_risk: Option<String>,
}

impl SlaArgs {
    /// Whether this is `tix sla check`, which records breaches (a change).
    pub(crate) fn is_check(&self) -> bool {
        self.check.is_some()
    }
}

#[derive(Debug, Subcommand)]
enum SlaCommand {
    /// Record new breaches and run the breach hooks; exit 4 while any
    /// active ticket is in breach, 0 when none is.
    ///
    /// Each new breach (a metric past its due time, not yet recorded) is
    /// recorded once in its ticket and runs the sla_breach hooks once, with
    /// TIX_SLA_METRIC and TIX_SLA_DUE set. With a policy's warn_before, a
    /// running target that has that little time left is warned about once
    /// the same way (sla_warning hooks); warnings do not change the exit
    /// code. Tickets that changed meanwhile or have uncommitted edits are skipped with a warning and alerted on
    /// the next run. Exit codes: 0 no breach, 4 at least one breach, 1
    /// refused (no desk, broken tix.toml), 2 usage, 3 desk busy, 255
    /// internal.
    Check,
}

pub(crate) fn run(ctx: &mut Ctx, args: &SlaArgs) -> Result<(), CommandError> {
    if args.check.is_some() {
        return check(ctx);
    }
    let format = ctx.format(&[Format::Table, Format::Json, Format::Csv])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let at_risk = match &args.at_risk {
        Some(text) => Some(parse_duration_secs(text).ok_or_else(|| {
            CommandError::usage(format!("--at-risk: '{text}' is not a duration like 2h"))
        })?),
        None => None,
    };
    let query = SlaQuery {
        id: args.id.clone(),
        breached: args.breached,
        at_risk,
    };
    let rows = desk.sla_states(&query, now)?;
    if format == Format::Json {
        let json: Vec<SlaView<'_>> = rows.iter().map(|(id, s)| SlaView::of(id, s)).collect();
        return Ok(ctx.ui.json(&json)?);
    }
    if format == Format::Csv {
        return render::sla::csv(ctx, &rows, now);
    }
    if rows.is_empty() {
        ctx.ui.status("No tickets match.");
        return Ok(());
    }
    render::sla::states(ctx, &rows, now)
}

/// `tix sla check`.
fn check(ctx: &mut Ctx) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let report = desk.sla_check(ctx.now()?)?;
    ctx.warn_problems(&report.problems);
    for (id, reason) in &report.skipped {
        ctx.ui.status(&format!(
            "warning: skipped {id}: {reason}; it is checked again on the next run"
        ));
    }
    render::sla::check_report(ctx, &report, format)?;
    let skipped = report.recorded.iter().flat_map(|r| &r.skipped_triggers);
    for failure in report.hook_failures.iter().chain(skipped) {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    match report.in_breach {
        0 => Ok(()),
        n => Err(CommandError::alert(format!(
            "{n} active ticket{} in breach of an SLA target.",
            if n == 1 { " is" } else { "s are" }
        ))),
    }
}
