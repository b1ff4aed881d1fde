use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::cli::render;
use crate::cli::ui::{Format, csv_field};
use crate::cli::{CommandError, Ctx};

/// Show a ticket's history from git: every commit that changed it.
///
/// The same commits as `git log -- tickets/<ab>/<id>.toml` and
/// `git log --grep 'Tix-Ticket: <id>'`.
#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Ticket id or unique prefix.
    id: String,
}

#[derive(Serialize)]
struct Entry {
    commit: String,
    at: String,
    author: String,
    email: String,
    action: Option<String>,
    status: Option<String>,
    rule: Option<String>,
    summary: String,
}

pub(crate) fn run(ctx: &mut Ctx, args: &LogArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Csv])?;
    let desk = ctx.desk()?;
    let id = desk.resolve(&args.id)?;
    let history = desk.log(&id)?;
    if let Some(cut) = &history.cut_at {
        ctx.ui.status(&format!(
            "note: this clone is shallow: the history of {id} before commit {} is not in it \
             (`git fetch --unshallow` fetches it)",
            &cut[..cut.len().min(10)]
        ));
    }
    let entries: Vec<Entry> = history
        .commits
        .into_iter()
        .map(|c| Entry {
            commit: c.id,
            at: c.time.to_rfc3339(),
            author: c.author,
            email: c.email,
            action: c.action,
            status: c.status,
            rule: c.rule,
            summary: c.summary,
        })
        .collect();
    match format {
        Format::Json => ctx.ui.json(&entries)?,
        Format::Csv => {
            let mut out = ctx.ui.buffered();
            writeln!(out, "commit,at,author,email,action,status,rule")?;
            for e in &entries {
                let fields = [&e.commit, &e.at, &e.author, &e.email];
                let mut row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                for opt in [&e.action, &e.status, &e.rule] {
                    row.push(csv_field(opt.as_deref().unwrap_or_default()));
                }
                writeln!(out, "{}", row.join(","))?;
            }
            out.flush()?;
        }
        _ => {
            let mut table = ctx
                .ui
                .table(&["TIME", "AUTHOR", "ACTION", "STATUS", "COMMIT"]);
            for e in &entries {
                let at =
                    e.at.parse()
                        .map(render::time)
                        .unwrap_or_else(|_| e.at.clone());
                let author = if e.email.is_empty() {
                    e.author.clone()
                } else {
                    format!("{} <{}>", e.author, e.email)
                };
                let mut action = e.action.clone().unwrap_or_else(|| "-".to_owned());
                if let Some(rule) = &e.rule {
                    action.push_str(&format!(" [{rule}]"));
                }
                table.add_row(vec![
                    at,
                    render::cell(&author),
                    render::cell(&action),
                    render::cell(e.status.as_deref().unwrap_or_default()),
                    e.commit[..10].to_owned(),
                ]);
            }
            ctx.ui.print_table(&table)?;
        }
    }
    Ok(())
}
