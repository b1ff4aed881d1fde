use std::io::{Read, Write};
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::ingest::{Ingested, Outcome};

/// Take in customer mail: a new ticket, or a reply on the ticket it answers.
///
/// Reads one RFC 5322 message from FILE (standard input without FILE or
/// with -), every message of a Maildir's new/ (moved to cur/ once taken),
/// or every message of an mbox file. A message answering a ticket (by
/// In-Reply-To, References or [#ID] in the subject from its customer)
/// becomes a customer reply; anything else a new ticket. Auto-replies,
/// bounces and the desk's own mail are ignored; a message seen before is
/// skipped. Exits 1 when a message was refused (malformed or too big); the
/// others are still taken.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix ingest < message.eml\n  tix ingest --maildir ~/Maildir/support\n  tix ingest --mbox export.mbox --format json"
)]
pub(crate) struct IngestArgs {
    /// A message file ("-" or nothing: standard input).
    #[arg(conflicts_with_all = ["maildir", "mbox"])]
    file: Option<PathBuf>,
    /// Take every message of this Maildir's new/.
    #[arg(long, value_name = "DIR", conflicts_with = "mbox")]
    maildir: Option<PathBuf>,
    /// Take every message of this mbox file.
    #[arg(long, value_name = "FILE")]
    mbox: Option<PathBuf>,
}

#[derive(Serialize)]
struct ResultView<'a> {
    source: &'a str,
    outcome: &'static str,
    ticket: Option<String>,
    message_id: Option<&'a str>,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct Report<'a> {
    results: Vec<ResultView<'a>>,
    created: usize,
    appended: usize,
    duplicate: usize,
    ignored: usize,
    refused: usize,
}

pub(crate) fn run(ctx: &mut Ctx, args: &IngestArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    let mut rng = ctx.rng();
    let table = format == Format::Table;
    let results = {
        let mut each = |result: &Ingested| {
            if table {
                let _ = writeln!(ctx.ui.out(), "{}", line(result));
            }
        };
        if let Some(dir) = &args.maildir {
            desk.ingest_maildir(dir, now, &mut rng, &mut each)?
        } else if let Some(file) = &args.mbox {
            desk.ingest_mbox(file, now, &mut rng, &mut each)?
        } else {
            let (raw, source) = match &args.file {
                Some(path) if path.as_os_str() != "-" => (
                    std::fs::read(path).map_err(|e| {
                        CommandError::user(format!("cannot read {}: {e}", path.display()))
                    })?,
                    path.display().to_string(),
                ),
                _ => {
                    let mut raw = Vec::new();
                    std::io::stdin().read_to_end(&mut raw)?;
                    (raw, "stdin".to_owned())
                }
            };
            let result = desk.ingest(&raw, &source, now, &mut rng)?;
            if result.outcome == Outcome::Refused && table {
                // One message: its refusal is the command's error.
                return Err(CommandError::user(format!(
                    "{source}: {}; nothing was written",
                    result.reason.as_deref().unwrap_or("refused")
                )));
            } else if table {
                each(&result);
            }
            vec![result]
        }
    };
    for result in &results {
        crate::cli::apply::warn_unsent(ctx, &result.mail);
    }
    let count = |o: Outcome| results.iter().filter(|r| r.outcome == o).count();
    let refused = count(Outcome::Refused);
    if format == Format::Json {
        ctx.ui.json(&Report {
            results: results
                .iter()
                .map(|r| ResultView {
                    source: &r.source,
                    outcome: r.outcome.as_str(),
                    ticket: r.ticket.as_ref().map(ToString::to_string),
                    message_id: r.message_id.as_deref(),
                    reason: r.reason.as_deref(),
                })
                .collect(),
            created: count(Outcome::Created),
            appended: count(Outcome::Appended),
            duplicate: count(Outcome::Duplicate),
            ignored: count(Outcome::Ignored),
            refused,
        })?;
    }
    if refused > 0 {
        let batch = args.maildir.is_some() || args.mbox.is_some();
        return Err(CommandError::user(if batch {
            format!("{refused} message(s) refused; the others were taken")
        } else {
            "the message was refused; nothing was written".to_owned()
        }));
    }
    Ok(())
}

/// One line saying what became of a message.
fn line(result: &Ingested) -> String {
    let id = result
        .ticket
        .as_ref()
        .map_or_else(String::new, ToString::to_string);
    let reason = result.reason.as_deref().unwrap_or_default();
    let text = match result.outcome {
        Outcome::Created => {
            let from = result.from.as_deref().unwrap_or("?");
            if reason.is_empty() {
                format!("{id}: new ticket from {from}")
            } else {
                format!("{id}: new ticket from {from} ({reason})")
            }
        }
        Outcome::Appended => format!("{id}: customer reply"),
        Outcome::Duplicate => format!(
            "skipped {}: already stored on {id}",
            result.message_id.as_deref().unwrap_or("?")
        ),
        Outcome::Ignored => format!("ignored {}: {reason}", result.source),
        Outcome::Refused => format!("refused {}: {reason}", result.source),
    };
    crate::cli::render::text(&text)
}
