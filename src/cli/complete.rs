//! What the shell completes from the desk: ticket ids (with their
//! subjects), agents, statuses, tags, departments, views and macros.
//!
//! The shell asks the binary itself (`COMPLETE=bash tix`, clap's dynamic
//! completion), so candidates come from the desk in the current directory
//! as it is now. A directory that is not a desk completes nothing.

use clap::builder::Command;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};

use crate::desk::Desk;
use crate::domain::entry::ListEntry;
use crate::domain::lifecycle::Category;

/// The arguments, by id, that name each kind of thing.
const IDS: &[&str] = &["id", "target", "duplicate_of", "related"];
const AGENTS: &[&str] = &["agent", "assignee", "assign"];
const STATUSES: &[&str] = &["status"];
const TAGS: &[&str] = &["tags"];
const DEPARTMENTS: &[&str] = &["department"];
const VIEWS: &[&str] = &["view"];
const MACROS: &[&str] = &["name"];

/// What gives the candidates of one kind.
type Candidates = fn() -> Vec<CompletionCandidate>;

/// Attaches the desk's candidates to the arguments of `command` and its
/// subcommands (macro names only under `tix macro`).
pub(crate) fn attach(command: Command) -> Command {
    let kinds: [(&[&str], Candidates); 6] = [
        (IDS, ids),
        (AGENTS, agents),
        (STATUSES, statuses),
        (TAGS, tags),
        (DEPARTMENTS, departments),
        (VIEWS, views),
    ];
    let is_macro = command.get_name() == "macro";
    // In place: re-adding an argument would move a positional one.
    let command = command.mut_args(|arg| {
        let id = arg.get_id().as_str();
        let completer = (kinds.iter())
            .find(|(names, _)| names.contains(&id))
            .map(|(_, f)| *f)
            .or_else(|| (is_macro && MACROS.contains(&id)).then_some(macros as Candidates));
        match completer {
            Some(completer) => arg.add(ArgValueCandidates::new(completer)),
            None => arg,
        }
    });
    command.mut_subcommands(attach)
}

/// What `candidates` makes of the desk of the current directory; nothing
/// where there is no desk.
fn from_desk(
    candidates: impl FnOnce(&Desk) -> Option<Vec<CompletionCandidate>>,
) -> Vec<CompletionCandidate> {
    let desk = std::env::current_dir()
        .ok()
        .and_then(|dir| Desk::open(&dir).ok());
    desk.as_ref().and_then(candidates).unwrap_or_default()
}

/// What the listing cache holds of each ticket that is not closed.
fn of_open_tickets<T>(desk: &Desk, take: impl FnMut(ListEntry) -> Option<T>) -> Option<Vec<T>> {
    let keep = |category: Option<Category>| category != Some(Category::Closed);
    desk.entries(&keep, take).ok().map(|(taken, _)| taken)
}

fn candidate(value: &str, help: Option<&str>) -> CompletionCandidate {
    let candidate = CompletionCandidate::new(value);
    match help {
        Some(help) => candidate.help(Some(crate::cli::render::cell(help).into())),
        None => candidate,
    }
}

/// Every ticket that is not closed, with its subject.
fn ids() -> Vec<CompletionCandidate> {
    from_desk(|desk| {
        let mut tickets = of_open_tickets(desk, |e| Some((e.id, e.subject)))?;
        tickets.sort();
        Some(
            tickets
                .iter()
                .map(|(id, subject)| candidate(id.as_str(), Some(subject)))
                .collect(),
        )
    })
}

fn agents() -> Vec<CompletionCandidate> {
    from_desk(|desk| {
        let agents = desk.config().agents.iter();
        let me = candidate("me", Some("yourself"));
        Some(
            std::iter::once(me)
                .chain(agents.map(|a| candidate(&a.email, Some(&a.name))))
                .collect(),
        )
    })
}

fn statuses() -> Vec<CompletionCandidate> {
    from_desk(|desk| {
        let statuses = desk.config().statuses.iter();
        Some(
            statuses
                .map(|s| candidate(&s.id, Some(s.category.as_str())))
                .collect(),
        )
    })
}

/// The tags on the tickets that are not closed.
fn tags() -> Vec<CompletionCandidate> {
    from_desk(|desk| {
        let lists = of_open_tickets(desk, |e| Some(e.tags))?;
        let tags: std::collections::BTreeSet<String> = lists.into_iter().flatten().collect();
        Some(tags.iter().map(|t| candidate(t, None)).collect())
    })
}

fn departments() -> Vec<CompletionCandidate> {
    from_desk(|desk| {
        Some(
            desk.config()
                .departments
                .iter()
                .map(|d| candidate(&d.name, None))
                .collect(),
        )
    })
}

fn views() -> Vec<CompletionCandidate> {
    from_desk(|desk| {
        Some(
            desk.config()
                .views
                .iter()
                .map(|v| candidate(&v.name, None))
                .collect(),
        )
    })
}

fn macros() -> Vec<CompletionCandidate> {
    from_desk(|desk| {
        let macros = desk.config().macros.iter();
        Some(
            macros
                .map(|m| candidate(&m.name, m.description.as_deref()))
                .collect(),
        )
    })
}
