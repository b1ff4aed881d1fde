use std::collections::BTreeMap;
use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::config::{Config, ConfigProblem};
use crate::desk::{self, Problem};
use crate::store::{Store, layout};

/// Check the desk: tix.toml and every ticket file.
///
/// Parses each file, checks ids are unique and match their paths, and that
/// every status is known. Names each broken file with its path and line.
/// An uncommitted tix.toml is checked too, as it would break the desk once
/// committed. Exits 1 when anything is wrong. It also finishes a change that a killed
/// tix process left half-written in the working tree.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {}

#[derive(Serialize)]
struct Report {
    tickets: usize,
    problems: Vec<ProblemView>,
    repaired: Vec<String>,
}

#[derive(Serialize)]
struct ProblemView {
    path: String,
    line: Option<usize>,
    message: String,
}

pub(crate) fn run(ctx: &mut Ctx, _args: &DoctorArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let store = Store::discover(&ctx.start_dir()?)?;
    store.ensure_merge_driver()?;
    let repaired = store.recover()?;
    let mut problems: Vec<Problem> = store
        .git_locks()?
        .into_iter()
        .map(|lock| Problem {
            path: lock,
            line: None,
            message: "git's lock file is present: a git command is running, or one was killed; \
                      remove the file when no git runs"
                .into(),
        })
        .collect();
    if store.index_settings_clash()? {
        problems.push(Problem {
            path: store.index_file_shown(),
            line: None,
            message: "git writes this index split and without its checksum \
                      (index.skipHash, or feature.manyFiles), and misreads such an index; \
                      turn one off (git config index.skipHash false)"
                .into(),
        });
    }
    let config_problem = |p: ConfigProblem, prefix: &str| Problem {
        path: layout::CONFIG_FILE.into(),
        line: p.line,
        message: format!("{prefix}{}", p.message),
    };
    // Without a valid tix.toml the built-in defaults would report false
    // problems (a custom status "not defined"): those checks are skipped.
    let mut config_ok = true;
    let files = crate::desk::committed_files(&store);
    let config = match store.read_file(layout::CONFIG_FILE)? {
        Some(text) => match Config::parse_in(&text, &files) {
            Ok(config) => config,
            Err(err) => {
                config_ok = false;
                problems.extend(err.problems.into_iter().map(|p| config_problem(p, "")));
                Config::default()
            }
        },
        None => Config::default(),
    };
    if !config_ok {
        ctx.ui.status(
            "note: tix.toml has problems, so the ticket checks that depend on it \
             (statuses, custom fields) are skipped",
        );
    }
    if store.worktree_differs(layout::CONFIG_FILE)? {
        ctx.ui
            .status("note: tix.toml has uncommitted changes; tix uses the committed version");
        // Committing a broken working copy would break the desk: say so now.
        if let Some(text) = store.read_worktree_file(layout::CONFIG_FILE)?
            && let Err(err) = Config::parse_in(&text, &files)
        {
            let committed: Vec<(Option<usize>, String)> = problems
                .iter()
                .map(|p| (p.line, p.message.clone()))
                .collect();
            problems.extend(
                err.problems
                    .into_iter()
                    .filter(|p| !committed.contains(&(p.line, p.message.clone())))
                    .map(|p| config_problem(p, "(uncommitted) ")),
            );
        }
    }
    // Each file is checked on the thread that read it; only the ids are
    // compared here, so the desk is never held in memory.
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut count = 0;
    let mut fatal = None;
    store.for_each_file(&|raw| check_file(raw, &config, config_ok), &mut |checked| {
        count += 1;
        let mut found = checked.problems;
        let flow = match checked.outcome {
            Outcome::Checked {
                id,
                id_line,
                dup_at,
            } => {
                if let Some(other) = seen.insert(id.clone(), checked.path.clone()) {
                    let clash = Problem {
                        path: checked.path,
                        line: id_line,
                        message: format!("id '{id}' is also used by {other}"),
                    };
                    found.insert(dup_at, clash);
                }
                std::ops::ControlFlow::Continue(())
            }
            Outcome::Skipped => std::ops::ControlFlow::Continue(()),
            Outcome::Failed(error) => {
                fatal = Some(error);
                std::ops::ControlFlow::Break(())
            }
        };
        problems.append(&mut found);
        flow
    })?;
    if let Some(error) = fatal {
        return Err(error.into());
    }
    for path in &repaired {
        ctx.ui.status(&format!(
            "repaired {path}: finished a change an interrupted tix left in the working tree"
        ));
    }
    if format == Format::Json {
        let problems = problems
            .iter()
            .map(|p| ProblemView {
                path: p.path.clone(),
                line: p.line,
                message: p.message.clone(),
            })
            .collect();
        ctx.ui.json(&Report {
            tickets: count,
            problems,
            repaired,
        })?;
    } else {
        let out = ctx.ui.out();
        for problem in &problems {
            writeln!(out, "{problem}")?;
        }
        if problems.is_empty() {
            writeln!(
                out,
                "ok: {count} ticket files and tix.toml checked, no problems"
            )?;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CommandError::user(format!(
            "{} problem(s) found",
            problems.len()
        )))
    }
}

/// What the check of one ticket file found.
struct Checked {
    path: String,
    problems: Vec<Problem>,
    outcome: Outcome,
}

enum Outcome {
    /// A ticket with this id (at this line), to compare with the others;
    /// a clash is reported before the file's problems from `dup_at` on.
    Checked {
        id: String,
        id_line: Option<usize>,
        dup_at: usize,
    },
    /// Not a ticket: its problems say why.
    Skipped,
    /// The check itself failed.
    Failed(desk::Error),
}

/// Checks one ticket file: that it parses, that its id matches its path,
/// that its statuses and fields are the desk's, and that its status line
/// agrees with its log (the checks that need tix.toml only with `config_ok`).
fn check_file(raw: crate::store::RawTicket, config: &Config, config_ok: bool) -> Checked {
    let mut problems = Vec::new();
    let path = raw.path.clone();
    let skipped = |problems, path| Checked {
        path,
        problems,
        outcome: Outcome::Skipped,
    };
    let text = match raw.text {
        Ok(text) => text,
        Err(err) => {
            problems.push(Problem {
                path: path.clone(),
                line: None,
                message: err.to_string(),
            });
            return skipped(problems, path);
        }
    };
    let Some(id) = raw.id.clone() else {
        problems.push(Problem {
            path: path.clone(),
            line: None,
            message: "not a ticket file name (expected tickets/<ab>/<id>.toml)".into(),
        });
        return skipped(problems, path);
    };
    let ticket = match desk::parse_ticket(&path, &text, None) {
        Ok(ticket) => ticket,
        Err(desk::Error::Parse { error, .. }) => {
            problems.push(Problem {
                path: path.clone(),
                line: error.line,
                message: error.message,
            });
            return skipped(problems, path);
        }
        Err(err) => {
            return Checked {
                path,
                problems,
                outcome: Outcome::Failed(err),
            };
        }
    };
    let line_of = |key: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(key))
            .map(|i| i + 1)
    };
    if ticket.id != id {
        problems.push(Problem {
            path: path.clone(),
            line: line_of("id"),
            message: format!("id '{}' does not match the file name", ticket.id),
        });
    } else if path != layout::ticket_path(&id) {
        problems.push(Problem {
            path: path.clone(),
            line: None,
            message: format!("ticket {id} belongs in {}", layout::ticket_path(&id)),
        });
    }
    let dup_at = problems.len();
    for event in ticket.events.iter().filter(|_| config_ok) {
        if event.sets_status()
            && let Some(to) = &event.to
            && config.statuses.get(to).is_none()
        {
            let line = text
                .find(&format!("to = \"{to}\""))
                .map(|o| text[..o].lines().count() + 1);
            problems.push(Problem {
                path: path.clone(),
                line,
                message: format!("status '{to}' is not defined in tix.toml"),
            });
        }
    }
    if config_ok && !config.fields.is_empty() {
        for (name, value) in &ticket.fields {
            let message = match config.field(name) {
                None => Some(format!(
                    "field '{name}' is not in the ticket form of tix.toml"
                )),
                Some(def) => def.check_value(value).err(),
            };
            if let Some(message) = message {
                problems.push(Problem {
                    path: path.clone(),
                    line: line_of(name),
                    message,
                });
            }
        }
    }
    if ticket.events.is_empty() {
        problems.push(Problem {
            path: path.clone(),
            line: None,
            message: "the ticket has no [[event]] log".into(),
        });
    }
    let summary = ticket.summary(&config.statuses);
    if let Some(written) = &ticket.status
        && written != &summary.status
    {
        problems.push(Problem {
            path: path.clone(),
            line: line_of("status"),
            message: format!(
                "status line says '{written}' but the event log says '{}'",
                summary.status
            ),
        });
    }
    Checked {
        outcome: Outcome::Checked {
            id: ticket.id.to_string(),
            id_line: line_of("id"),
            dup_at,
        },
        path,
        problems,
    }
}
