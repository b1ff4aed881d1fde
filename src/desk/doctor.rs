//! `tix doctor`: every check of a desk, collected so all problems show at
//! once (docs/guide.md, "Checking the desk").
//!
//! It works on a desk whose `tix.toml` is broken (that is one of the
//! problems it reports), so it opens the store itself rather than a
//! [`Desk`](super::Desk).

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;

use super::read::parse_ticket;
use super::{Error, Problem, committed_files};
use crate::config::{Config, ConfigProblem};
use crate::domain::change::check_customer;
use crate::domain::link::{self, LinkKind, Links};
use crate::model::{Ticket, TicketId};
use crate::store::{RawTicket, Store, layout};

/// What the doctor found.
#[derive(Debug, Default)]
pub struct DoctorReport {
    /// How many ticket files it checked.
    pub tickets: usize,
    /// Everything wrong, in the order found.
    pub problems: Vec<Problem>,
    /// Files it repaired: changes an interrupted tix left half-written in
    /// the working tree.
    pub repaired: Vec<String>,
    /// Things to know that are not problems.
    pub notes: Vec<String>,
}

/// Checks the desk containing `start`: git's lock files and index
/// settings, `tix.toml` (committed, and the working copy when it differs),
/// and every ticket file: that it parses, that ids are unique and match
/// their paths, that statuses and fields are the desk's, and that links
/// name tickets that exist, not the ticket itself, in no `duplicate_of`
/// cycle. It first finishes
/// a change that a killed tix process left half-written.
pub fn doctor(start: &Path) -> Result<DoctorReport, Error> {
    let store = Store::discover(start)?;
    store.ensure_merge_driver()?;
    let mut report = DoctorReport {
        repaired: store.recover()?,
        ..DoctorReport::default()
    };
    report.problems = repository_problems(&store)?;
    match worktree_problems(&store) {
        Ok(found) => report.problems.extend(found),
        // Without a working `git` the working tree goes unchecked.
        Err(error) => report.notes.push(format!(
            "note: the working tree was not checked against HEAD: {error}"
        )),
    }
    let (config, config_ok) = check_config(&store, &mut report)?;
    if config_ok && !super::commands_allowed(&store, &config)? {
        report.problems.push(Problem {
            path: layout::CONFIG_FILE.into(),
            line: None,
            message: "its commands (hooks, the mail transport) are not allowed on this clone, so none runs; \
                      review them with `tix hooks`, then run `tix hooks allow`"
                .into(),
        });
    }
    check_tickets(&store, &config, config_ok, &mut report)?;
    Ok(report)
}

/// git's lock files left in place, and index settings git misreads.
fn repository_problems(store: &Store) -> Result<Vec<Problem>, Error> {
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
    Ok(problems)
}

/// An unfinished merge (or rebase), and ticket files that differ from
/// `HEAD` in the working tree or the index: a conflict, an uncommitted
/// edit, a file git does not track. tix reads only committed tickets, so
/// these are changes it neither sees nor makes, and a change of such a
/// ticket is refused until they are committed or restored.
fn worktree_problems(store: &Store) -> Result<Vec<Problem>, Error> {
    let mut problems = Vec::new();
    if let Some(operation) = store.unfinished() {
        problems.push(Problem {
            path: ".".into(),
            line: None,
            message: format!(
                "the repository is in the middle of a {operation}: finish it (resolve, \
                 `git add`, `git commit`) or abort it (`git merge --abort`); tix changes \
                 nothing until then"
            ),
        });
    }
    for (path, status) in store.ticket_changes()? {
        let message = match status.as_str() {
            "UU" | "AA" | "DU" | "UD" | "AU" | "UA" | "DD" => {
                "conflicted: the merge left both versions in the file; write the merged \
                 ticket, `git add` it and commit"
            }
            "??" => "not committed: git does not track this file, so tix does not see it",
            _ => "has uncommitted changes: tix reads the committed version; commit or restore it",
        };
        problems.push(Problem {
            path,
            line: None,
            message: message.into(),
        });
    }
    Ok(problems)
}

/// Checks the committed `tix.toml`, and its working copy when that differs
/// (committing a broken copy would break the desk). Returns the config the
/// ticket checks use, and whether it is the desk's own: without a valid
/// `tix.toml` the built-in defaults would report false problems (a custom
/// status "not defined"), so those checks are skipped.
fn check_config(store: &Store, report: &mut DoctorReport) -> Result<(Config, bool), Error> {
    let config_problem = |p: ConfigProblem, prefix: &str| Problem {
        path: layout::CONFIG_FILE.into(),
        line: p.line,
        message: format!("{prefix}{}", p.message),
    };
    let files = committed_files(store);
    let mut config_ok = true;
    let config = match store.read_file(layout::CONFIG_FILE)? {
        Some(text) => match Config::parse_in(&text, &files) {
            Ok(config) => config,
            Err(err) => {
                config_ok = false;
                let found = err.problems.into_iter().map(|p| config_problem(p, ""));
                report.problems.extend(found);
                Config::default()
            }
        },
        None => Config::default(),
    };
    // A pattern is read when the desk loads and compiled when a change
    // first needs it; a doctor compiles them all.
    for trigger in &config.triggers {
        let mut patterns = Vec::new();
        trigger_patterns(&trigger.when, &mut patterns);
        for why in patterns.iter().filter_map(|p| p.compile().err()) {
            report.problems.push(Problem {
                path: layout::CONFIG_FILE.into(),
                line: None,
                message: format!("trigger '{}': {why}", trigger.name),
            });
        }
    }
    if !config_ok {
        report.notes.push(
            "note: tix.toml has problems, so the ticket checks that depend on it \
             (statuses, custom fields) are skipped"
                .into(),
        );
    }
    if store.worktree_differs(layout::CONFIG_FILE)? {
        report
            .notes
            .push("note: tix.toml has uncommitted changes; tix uses the committed version".into());
        if let Some(text) = store.read_worktree_file(layout::CONFIG_FILE)?
            && let Err(err) = Config::parse_in(&text, &files)
        {
            let committed: Vec<(Option<usize>, String)> = report
                .problems
                .iter()
                .map(|p| (p.line, p.message.clone()))
                .collect();
            report.problems.extend(
                err.problems
                    .into_iter()
                    .filter(|p| !committed.contains(&(p.line, p.message.clone())))
                    .map(|p| config_problem(p, "(uncommitted) ")),
            );
        }
    }
    Ok((config, config_ok))
}

/// The patterns of a trigger's conditions and of their `any` groups.
fn trigger_patterns<'a>(
    when: &'a crate::domain::triggers::Conditions,
    out: &mut Vec<&'a crate::domain::triggers::Pattern>,
) {
    out.extend(when.subject_matches.iter().chain(&when.body_matches));
    for group in &when.any {
        trigger_patterns(group, out);
    }
}

/// Checks every ticket file, each on the thread that read it; only the ids
/// are compared here, so the desk is never held in memory.
fn check_tickets(
    store: &Store,
    config: &Config,
    config_ok: bool,
    report: &mut DoctorReport,
) -> Result<(), Error> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut sources: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut linked: BTreeMap<TicketId, Linked> = BTreeMap::new();
    let mut fatal = None;
    store.for_each_file(&|raw| check_file(raw, config, config_ok), &mut |checked| {
        report.tickets += 1;
        let mut found = checked.problems;
        let flow = match checked.outcome {
            Outcome::Checked {
                id,
                id_line,
                dup_at,
                links,
                source,
            } => {
                if let Some(links) = links {
                    linked.insert(links.id.clone(), *links);
                }
                if let Some((source, line)) = source
                    && let Some(other) = sources.insert(source.clone(), checked.path.clone())
                {
                    found.push(Problem {
                        path: checked.path.clone(),
                        line,
                        message: format!(
                            "source '{source}' is also the source of {other}: a later import \
                             updates only one of the two"
                        ),
                    });
                }
                if let Some(other) = seen.insert(id.clone(), checked.path.clone()) {
                    let clash = Problem {
                        path: checked.path,
                        line: id_line,
                        message: format!("id '{id}' is also used by {other}"),
                    };
                    found.insert(dup_at, clash);
                }
                ControlFlow::Continue(())
            }
            Outcome::Skipped => ControlFlow::Continue(()),
            Outcome::Failed(error) => {
                fatal = Some(error);
                ControlFlow::Break(())
            }
        };
        report.problems.append(&mut found);
        flow
    })?;
    if let Some(error) = fatal {
        return Err(error);
    }
    report.problems.extend(link_problems(&linked, &seen));
    Ok(())
}

/// The links of a ticket that has any, and where its file has them.
struct Linked {
    id: TicketId,
    path: String,
    links: Links,
    lines: BTreeMap<LinkKind, usize>,
}

/// Links to tickets that do not exist, tickets linked to themselves,
/// `duplicate_of` cycles and related links not listed back.
fn link_problems(
    linked: &BTreeMap<TicketId, Linked>,
    seen: &BTreeMap<String, String>,
) -> Vec<Problem> {
    let links: BTreeMap<TicketId, Links> = linked
        .iter()
        .map(|(id, l)| (id.clone(), l.links.clone()))
        .collect();
    let exists = |id: &TicketId| seen.contains_key(id.as_str());
    link::problems(&links, &exists)
        .into_iter()
        .filter_map(|problem| {
            let at = linked.get(&problem.id)?;
            Some(Problem {
                path: at.path.clone(),
                line: at.lines.get(&problem.kind).copied(),
                message: problem.message,
            })
        })
        .collect()
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
        /// Its links, when it has any (checked once every file is read).
        links: Option<Box<Linked>>,
        /// Where an imported ticket came from, and the line saying so.
        source: Option<(String, Option<usize>)>,
    },
    /// Not a ticket: its problems say why.
    Skipped,
    /// The check itself failed.
    Failed(Error),
}

/// Checks one ticket file: that it parses, that its id matches its path,
/// that its statuses and fields are the desk's, and that its status line
/// agrees with its log (the checks that need tix.toml only with `config_ok`).
fn check_file(raw: RawTicket, config: &Config, config_ok: bool) -> Checked {
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
    let ticket = match parse_ticket(&path, &text, None) {
        Ok(ticket) => ticket,
        Err(Error::Parse { error, .. }) => {
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
    if ticket.id != id {
        problems.push(Problem {
            path: path.clone(),
            line: line_of(&text, "id"),
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
    if config_ok {
        check_against_config(&ticket, &text, config, &mut problems, &path);
    }
    check_log(&ticket, &text, config, &mut problems, &path);
    check_text(&ticket, &text, &mut problems, &path);
    let links = Links::of(&ticket).map(|links| {
        let lines = LinkKind::ALL
            .into_iter()
            .filter_map(|kind| Some((kind, line_of(&text, kind.as_str())?)))
            .collect();
        Box::new(Linked {
            id: ticket.id.clone(),
            path: path.clone(),
            links,
            lines,
        })
    });
    Checked {
        outcome: Outcome::Checked {
            id: ticket.id.to_string(),
            id_line: line_of(&text, "id"),
            dup_at,
            links,
            source: ticket.source.clone().map(|s| (s, line_of(&text, "source"))),
        },
        path,
        problems,
    }
}

/// Where `key = ...` is in a ticket file, for messages.
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map(|i| i + 1)
}

/// Checks that every status a ticket's log sets, and every custom field it
/// holds, is the desk's.
fn check_against_config(
    ticket: &Ticket,
    text: &str,
    config: &Config,
    problems: &mut Vec<Problem>,
    path: &str,
) {
    for event in &ticket.events {
        if event.sets_status()
            && let Some(to) = &event.to
            && config.statuses.get(to).is_none()
        {
            let line = text
                .find(&format!("to = \"{to}\""))
                .map(|o| text[..o].lines().count() + 1);
            problems.push(Problem {
                path: path.to_owned(),
                line,
                message: format!("status '{to}' is not defined in tix.toml"),
            });
        }
    }
    if config.fields.is_empty() {
        return;
    }
    for (name, value) in &ticket.fields {
        let message = match config.field(name) {
            None => Some(format!(
                "field '{name}' is not in the ticket form of tix.toml"
            )),
            Some(def) => def.check_value(value).err(),
        };
        if let Some(message) = message {
            problems.push(Problem {
                path: path.to_owned(),
                line: line_of(text, name),
                message,
            });
        }
    }
}

/// Checks that a ticket has an event log and that its status line agrees
/// with it.
fn check_log(
    ticket: &Ticket,
    text: &str,
    config: &Config,
    problems: &mut Vec<Problem>,
    path: &str,
) {
    if ticket.events.is_empty() {
        problems.push(Problem {
            path: path.to_owned(),
            line: None,
            message: "the ticket has no [[event]] log".into(),
        });
    }
    let summary = ticket.summary(&config.statuses);
    if let Some(written) = &ticket.status
        && written != &summary.status
    {
        problems.push(Problem {
            path: path.to_owned(),
            line: line_of(text, "status"),
            message: format!(
                "status line says '{written}' but the event log says '{}'",
                summary.status
            ),
        });
    }
}

/// Flags text no tix command would have written: a subject of more than
/// one line (it could pass for trailers in a commit message), and customer
/// details that are not one line or not a mail address.
fn check_text(ticket: &Ticket, text: &str, problems: &mut Vec<Problem>, path: &str) {
    let mut flag = |key: &str, message: String| {
        problems.push(Problem {
            path: path.to_owned(),
            line: line_of(text, key),
            message,
        });
    };
    if ticket.subject.contains(char::is_control) {
        flag(
            "subject",
            "the subject has a line break or a control character; set one line with \
             `tix edit ID --subject TEXT`"
                .into(),
        );
    }
    if let Err(error) = check_customer(&ticket.customer) {
        flag("[customer]", error.to_string());
    }
}
