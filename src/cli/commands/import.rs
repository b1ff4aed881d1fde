//! `tix import`: another helpdesk's history as tickets (docs/import.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::automation::Bar;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::import::{self, ImportOptions, ImportReport};

/// Import tickets from another helpdesk's export.
///
/// Each ticket keeps its conversation, people and times: events carry the
/// old times, each ticket is one commit authored at its last change and
/// committed by you. A ticket remembers where it came from (`zendesk:4711`),
/// so importing the same file again changes nothing and a newer export
/// updates the tickets that changed and adds their new messages. The
/// export is read whole first: a broken file is refused with the line
/// where it broke and nothing is written, unless --skip-bad leaves the
/// bad parts out (each is listed).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix import zendesk tickets.json --field-map 360001=plan\n  tix import zendesk tickets.json comments.jsonl --dry-run\n  tix import liveagent tickets.csv --timezone Europe/Prague\n  tix import csv export.csv --map id=Ticket\\ Id,subject=Subject,email=Requester\\ Email"
)]
pub(crate) struct ImportArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, Subcommand)]
enum Source {
    /// Zendesk's JSON: pages of the tickets API (with the users and groups
    /// side-loaded), the incremental export one ticket a line, and comments
    /// embedded in each ticket or given as `{"ticket_id": N, "comments": [...]}`.
    Zendesk {
        #[command(flatten)]
        common: Common,
        /// Keep custom field ID as the desk's field NAME (repeatable).
        #[arg(long = "field-map", value_name = "ID=NAME")]
        field_map: Vec<String>,
    },
    /// LiveAgent's CSV ticket export, with its one-letter status codes.
    Liveagent {
        #[command(flatten)]
        common: Common,
        /// The time zone of the export's times (they carry none).
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        timezone: String,
    },
    /// Any other tool's CSV export, one ticket a row, its columns named
    /// with --map.
    Csv {
        #[command(flatten)]
        common: Common,
        /// Which column holds what: KEY=COLUMN, comma-separated or
        /// repeated. Keys: id (required), subject, body, status, priority,
        /// email, name, first_name, last_name, phone, assignee, department,
        /// tags, created (required), updated, field.NAME.
        #[arg(long, value_name = "KEY=COLUMN", required = true)]
        map: Vec<String>,
        /// The name the tickets' source ids start with (`freshdesk:1042`).
        #[arg(long, value_name = "NAME", default_value = "csv")]
        source: String,
        /// The time zone of times written without an offset.
        #[arg(long, value_name = "ZONE", default_value = "UTC")]
        timezone: String,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// The export's files, read as one export.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Leave out the parts that cannot be read, listing each, instead of
    /// refusing the whole export.
    #[arg(long)]
    skip_bad: bool,
    /// Say what would be imported; write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ImportArgs) -> Result<(), CommandError> {
    let output = ctx.format(&[Format::Table, Format::Json])?;
    let (common, format) = match &args.source {
        Source::Zendesk { common, field_map } => (
            common,
            import::Format::Zendesk {
                field_map: field_map.clone(),
            },
        ),
        Source::Liveagent { common, timezone } => (
            common,
            import::Format::LiveAgent {
                timezone: timezone.clone(),
            },
        ),
        Source::Csv {
            common,
            map,
            source,
            timezone,
        } => (
            common,
            import::Format::Csv {
                map: map.clone(),
                source: source.clone(),
                timezone: timezone.clone(),
            },
        ),
    };
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let agent = ctx.agent(&desk)?;
    let options = ImportOptions {
        format,
        files: common.files.clone(),
        skip_bad: common.skip_bad,
        dry_run: common.dry_run,
    };
    let mut bar = Bar(None);
    let report = desk.import(&options, &agent, now, &mut bar);
    if let Some(bar) = bar.0 {
        bar.finish_and_clear();
    }
    let report = report?;
    for skipped in &report.skipped {
        ctx.ui.status(&format!("skipped {}", skipped.describe()));
    }
    for (id, why) in &report.not_committed {
        ctx.ui.status(&format!("warning: {id} not imported: {why}"));
    }
    if output == Format::Json {
        ctx.ui.json(&json(&report, common.dry_run))?;
    } else {
        let line = summary(&report, common.dry_run);
        use std::io::Write;
        writeln!(ctx.ui.out(), "{line}")?;
    }
    if report.not_committed.is_empty() {
        Ok(())
    } else {
        Err(CommandError::problems(format!(
            "{} tickets were not imported; run the import again to complete it",
            report.not_committed.len()
        )))
    }
}

/// `Imported 12 tickets: 10 new, 1 updated, 1 unchanged.`
fn summary(report: &ImportReport, dry_run: bool) -> String {
    let verb = if dry_run { "Would import" } else { "Imported" };
    let mut line = format!(
        "{verb} {} {}: {} new, {} updated, {} unchanged",
        report.records,
        if report.records == 1 {
            "ticket"
        } else {
            "tickets"
        },
        report.created.len(),
        report.updated.len(),
        report.unchanged,
    );
    if !report.skipped.is_empty() {
        let n = report.skipped.len();
        line.push_str(&format!(
            "; {n} {} skipped",
            if n == 1 { "part" } else { "parts" }
        ));
    }
    line.push('.');
    line
}

#[derive(Serialize)]
struct ImportJson<'a> {
    dry_run: bool,
    records: usize,
    created: Vec<&'a str>,
    updated: Vec<&'a str>,
    unchanged: usize,
    skipped: Vec<SkippedJson<'a>>,
    not_committed: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
struct SkippedJson<'a> {
    file: &'a str,
    line: Option<u64>,
    byte: Option<u64>,
    id: Option<&'a str>,
    reason: &'a str,
}

fn json(report: &ImportReport, dry_run: bool) -> ImportJson<'_> {
    ImportJson {
        dry_run,
        records: report.records,
        created: report.created.iter().map(|id| id.as_str()).collect(),
        updated: report.updated.iter().map(|id| id.as_str()).collect(),
        unchanged: report.unchanged,
        skipped: report
            .skipped
            .iter()
            .map(|s| SkippedJson {
                file: &s.file,
                line: s.at.map(|at| at.line),
                byte: s.at.map(|at| at.byte),
                id: s.id.as_deref(),
                reason: &s.reason,
            })
            .collect(),
        not_committed: report
            .not_committed
            .iter()
            .map(|(id, why)| (id.as_str(), why.as_str()))
            .collect(),
    }
}
