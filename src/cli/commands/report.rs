//! `tix report`: the desk's metrics over a period (docs/reports.md).

use std::io::Write;

use clap::{Args, ValueEnum};

use crate::cli::ui::{Format, csv_text};
use crate::cli::{CommandError, Ctx};
use crate::desk::report::ReportQuery;
use crate::domain::report::{GroupBy, Metrics, Report};

/// Report how the desk did: volumes, reply and resolution times, SLA
/// achievement, reopens, satisfaction and the backlog.
///
/// Every number is defined in docs/reports.md. Times are measured in
/// calendar time and in the business hours of each ticket's SLA calendar.
/// A period holds the events from --since to --until (both included; by
/// default all of history up to now); --at reports the desk as it was at
/// a past commit.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix report --since 30d\n  tix report --since 2025-01-01 --until 2025-03-31 --by agent   # to the end of that day\n  tix report --since 7d --format html > week.html\n  tix report --at 2025-01-01 --since 2024-12-01"
)]
pub(crate) struct ReportArgs {
    /// Start of the period: a date (2025-03-01), a time, a duration ago
    /// (30d) or a word (today, yesterday, monday).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// End of the period (default: now, or the --at moment); a date means
    /// the end of that day.
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
    /// The metrics per agent, department, priority or tag too.
    #[arg(long, value_enum, value_name = "GROUP")]
    by: Option<ByArg>,
    /// Report on the desk as it was at a past commit: a revision, a time
    /// or a duration ago (the last commit at or before it).
    #[arg(long, value_name = "REV|DATE")]
    at: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ByArg {
    /// The current assignee.
    Agent,
    /// The department.
    Department,
    /// The priority.
    Priority,
    /// Each tag (a ticket counts in each of its tags).
    Tag,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ReportArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Csv, Format::Html])?;
    let (desk, now) = ctx.desk_at(args.at.as_deref())?;
    let query = ReportQuery {
        since: args.since.clone(),
        until: args.until.clone(),
        by: args.by.map(|by| match by {
            ByArg::Agent => GroupBy::Agent,
            ByArg::Department => GroupBy::Department,
            ByArg::Priority => GroupBy::Priority,
            ByArg::Tag => GroupBy::Tag,
        }),
    };
    let reported = desk.report(&query, now)?;
    ctx.warn_problems(&reported.problems);
    let report = &reported.report;
    match format {
        Format::Json => Ok(ctx.ui.json(report)?),
        Format::Csv => csv(ctx, report),
        Format::Html => {
            let name = desk
                .config()
                .desk
                .name
                .clone()
                .or_else(|| desk.config().mail.name.clone());
            let page = crate::cli::render::report::html(report, &reported.charts, name.as_deref())
                .map_err(CommandError::user)?;
            Ok(write!(ctx.ui.out(), "{page}")?)
        }
        _ => {
            let text = crate::cli::render::report::table(ctx.ui.painter(), report);
            Ok(write!(ctx.ui.out(), "{text}")?)
        }
    }
}

/// One row per group and metric: `group,metric,value`, the metric a
/// dotted path of the JSON keys (`first_reply.median_minutes`); the whole
/// desk is the group `(all)`, which no tag or agent can be named.
fn csv(ctx: &mut Ctx, report: &Report) -> Result<(), CommandError> {
    let out = ctx.ui.out();
    writeln!(out, "group,metric,value")?;
    let mut rows = Vec::new();
    flatten("(all)", &report.metrics, &mut rows);
    for group in &report.groups {
        flatten(&group.key, &group.metrics, &mut rows);
    }
    for (group, metric, value) in rows {
        writeln!(out, "{},{metric},{value}", csv_text(&group))?;
    }
    Ok(())
}

fn flatten(group: &str, metrics: &Metrics, rows: &mut Vec<(String, String, String)>) {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, inner) in map {
                    let path = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&path, inner, out);
                }
            }
            serde_json::Value::Null => out.push((prefix.to_owned(), String::new())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let value = serde_json::to_value(metrics).unwrap_or_default();
    let mut pairs = Vec::new();
    walk("", &value, &mut pairs);
    rows.extend(
        pairs
            .into_iter()
            .map(|(metric, v)| (group.to_owned(), metric, v)),
    );
}
