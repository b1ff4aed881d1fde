//! Statuses, their categories and the transition table (docs/lifecycle.md).
//!
//! This module is pure: it decides whether a move is allowed and where it
//! leads, and nothing else. It never reads files, git or the clock. The
//! statuses and categories themselves are part of what a ticket is
//! (`crate::model::status`); they are re-exported here, beside the rules
//! of moving between them.

pub use crate::model::status::{Category, StatusDef, Statuses, is_reopen};

/// An action that may change a ticket's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Move {
    /// The agent's public reply (`tix reply`).
    AgentReply,
    /// The agent's public reply that also resolves (`tix reply --resolve`).
    AgentReplyResolve,
    /// The customer wrote (`tix reply --customer`, mail).
    CustomerReply,
    /// An internal note.
    Note,
    /// `tix open`.
    Open,
    /// `tix postpone`.
    Postpone,
    /// `tix resolve`.
    Resolve,
    /// `tix close` without `--force`.
    Close,
    /// `tix close --force --reason`.
    ForceClose,
    /// `tix reopen`.
    Reopen,
    /// A postponed ticket whose time has come; `replied` tells whether an
    /// agent ever replied (if not, it goes back to new, as in LiveAgent).
    Wake {
        /// Whether the ticket ever had an agent reply.
        replied: bool,
    },
    /// Any edit of fields, tags, assignee: allowed while not closed.
    Edit,
}

impl Move {
    /// The moves a user can type, used to list the allowed ones.
    pub const USER_MOVES: [Self; 11] = [
        Self::AgentReply,
        Self::AgentReplyResolve,
        Self::CustomerReply,
        Self::Note,
        Self::Open,
        Self::Postpone,
        Self::Resolve,
        Self::Close,
        Self::ForceClose,
        Self::Reopen,
        Self::Edit,
    ];

    /// Returns the command a user types for this move.
    pub fn command(self) -> &'static str {
        match self {
            Self::AgentReply => "reply",
            Self::AgentReplyResolve => "reply --resolve",
            Self::CustomerReply => "reply --customer",
            Self::Note => "note",
            Self::Open => "open",
            Self::Postpone => "postpone",
            Self::Resolve => "resolve",
            Self::Close => "close",
            Self::ForceClose => "close --force",
            Self::Reopen => "reopen",
            Self::Wake { .. } => "wake",
            Self::Edit => "edit",
        }
    }
}

/// Where an allowed move leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The status does not change.
    Stay,
    /// The ticket moves to the default status of this category.
    To(Category),
}

/// A move that the current status does not allow.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot {action}: the ticket is {status}; allowed from {status}: {}", allowed_text(.allowed))]
pub struct TransitionError {
    /// The refused command.
    pub action: &'static str,
    /// The ticket's current status.
    pub status: String,
    /// The category of that status.
    pub category: Category,
    /// The commands the current status allows.
    pub allowed: Vec<&'static str>,
}

fn allowed_text(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "nothing (closed tickets are locked)".to_owned()
    } else {
        allowed.join(", ")
    }
}

/// Returns where `mv` leads from category `from`, or `None` when refused.
///
/// This is the whole transition table of docs/lifecycle.md; the unit tests below walk
/// every cell of it.
pub fn outcome(mv: Move, from: Category) -> Option<Outcome> {
    use Category as C;
    use Outcome::{Stay, To};
    match (mv, from) {
        (_, C::Closed) => match mv {
            Move::Reopen => Some(To(C::Open)),
            _ => None,
        },
        (Move::AgentReply, C::Waiting) => Some(Stay),
        (Move::AgentReply, _) => Some(To(C::Waiting)),
        (Move::AgentReplyResolve, C::Solved) => Some(Stay),
        (Move::AgentReplyResolve, _) => Some(To(C::Solved)),
        (Move::CustomerReply, C::New | C::Open) => Some(Stay),
        (Move::CustomerReply, _) => Some(To(C::Open)),
        (Move::Note | Move::Edit, _) => Some(Stay),
        (Move::Open, C::New | C::Waiting | C::OnHold) => Some(To(C::Open)),
        (Move::Open, _) => None,
        // Postponing a postponed ticket again moves its `until`.
        (Move::Postpone, C::New | C::Open | C::Waiting | C::OnHold) => Some(To(C::OnHold)),
        (Move::Postpone, _) => None,
        (Move::Resolve, c) if c.is_active() => Some(To(C::Solved)),
        (Move::Resolve, _) => None,
        (Move::Close, C::Solved) => Some(To(C::Closed)),
        (Move::Close, _) => None,
        (Move::ForceClose, _) => Some(To(C::Closed)),
        (Move::Reopen, C::Solved) => Some(To(C::Open)),
        (Move::Reopen, _) => None,
        (Move::Wake { replied }, C::OnHold) => Some(To(if replied { C::Open } else { C::New })),
        (Move::Wake { .. }, _) => None,
    }
}

/// Checks a move against the current status and returns where it leads.
pub fn check(mv: Move, status: &str, category: Category) -> Result<Outcome, TransitionError> {
    outcome(mv, category).ok_or_else(|| TransitionError {
        action: mv.command(),
        status: status.to_owned(),
        category,
        allowed: allowed_moves(category),
    })
}

/// Lists the commands allowed from a category.
pub fn allowed_moves(category: Category) -> Vec<&'static str> {
    Move::USER_MOVES
        .into_iter()
        .filter(|mv| outcome(*mv, category).is_some())
        .map(Move::command)
        .collect()
}

/// Why a ticket may not move from one status to another with `tix status`
/// (or an automation's `set_status`).
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusMoveError {
    /// The current status lists the statuses it may move to, and the
    /// target is not one of them.
    #[error("tix.toml allows only {}", .0.join(", "))]
    NotNext(Vec<String>),
    /// Closed tickets are locked.
    #[error("closed tickets are locked; use `tix reopen`")]
    Locked,
    /// Nothing re-enters the new category (docs/lifecycle.md, "Extra rules").
    #[error("nothing returns to the new category")]
    IntoNew,
    /// Only a solved ticket closes without `--force`.
    #[error("only a resolved ticket closes; use `tix close --force --reason TEXT`")]
    CloseUnsolved,
}

/// Checks a direct move from status `from` (of category `from_category`)
/// to a status of `to_category` named `to`. The lifecycle's limits always
/// hold ([`status_limit`]); within them, a status with a `next` list may
/// move only there.
pub fn status_move(
    statuses: &Statuses,
    from: &str,
    from_category: Category,
    to: &str,
    to_category: Category,
) -> Result<(), StatusMoveError> {
    status_limit(from_category, to_category)?;
    match statuses.get(from).and_then(|d| d.next.as_ref()) {
        Some(next) if !next.iter().any(|n| n == to) => Err(StatusMoveError::NotNext(next.clone())),
        _ => Ok(()),
    }
}

/// The limits on a direct move between categories, which no `next` list
/// lifts: a closed ticket leaves only through `tix reopen`, nothing enters
/// the new category except from another status in it, and only a solved
/// ticket closes without `tix close --force`.
pub fn status_limit(from: Category, to: Category) -> Result<(), StatusMoveError> {
    match (from, to) {
        (Category::Closed, _) => Err(StatusMoveError::Locked),
        (c, Category::New) if c != Category::New => Err(StatusMoveError::IntoNew),
        (c, Category::Closed) if c != Category::Solved => Err(StatusMoveError::CloseUnsolved),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::Category::{Closed, New, OnHold, Open, Solved, Waiting};
    use super::Outcome::{Stay, To};
    use super::*;

    /// The whole table: one row per move, one column per category in the
    /// order new, open, waiting, on_hold, solved, closed. `None` = refused.
    #[test]
    #[allow(clippy::too_many_lines)] // the table is data: one cell a line
    fn transition_table_matches_the_documented_one() {
        let table: Vec<(Move, [Option<Outcome>; 6])> = vec![
            (
                Move::AgentReply,
                [
                    Some(To(Waiting)),
                    Some(To(Waiting)),
                    Some(Stay),
                    Some(To(Waiting)),
                    Some(To(Waiting)),
                    None,
                ],
            ),
            (
                Move::AgentReplyResolve,
                [
                    Some(To(Solved)),
                    Some(To(Solved)),
                    Some(To(Solved)),
                    Some(To(Solved)),
                    Some(Stay),
                    None,
                ],
            ),
            (
                Move::CustomerReply,
                [
                    Some(Stay),
                    Some(Stay),
                    Some(To(Open)),
                    Some(To(Open)),
                    Some(To(Open)),
                    None,
                ],
            ),
            (
                Move::Note,
                [
                    Some(Stay),
                    Some(Stay),
                    Some(Stay),
                    Some(Stay),
                    Some(Stay),
                    None,
                ],
            ),
            (
                Move::Edit,
                [
                    Some(Stay),
                    Some(Stay),
                    Some(Stay),
                    Some(Stay),
                    Some(Stay),
                    None,
                ],
            ),
            (
                Move::Open,
                [
                    Some(To(Open)),
                    None,
                    Some(To(Open)),
                    Some(To(Open)),
                    None,
                    None,
                ],
            ),
            (
                Move::Postpone,
                [
                    Some(To(OnHold)),
                    Some(To(OnHold)),
                    Some(To(OnHold)),
                    Some(To(OnHold)),
                    None,
                    None,
                ],
            ),
            (
                Move::Resolve,
                [
                    Some(To(Solved)),
                    Some(To(Solved)),
                    Some(To(Solved)),
                    Some(To(Solved)),
                    None,
                    None,
                ],
            ),
            (
                Move::Close,
                [None, None, None, None, Some(To(Closed)), None],
            ),
            (
                Move::ForceClose,
                [
                    Some(To(Closed)),
                    Some(To(Closed)),
                    Some(To(Closed)),
                    Some(To(Closed)),
                    Some(To(Closed)),
                    None,
                ],
            ),
            (
                Move::Reopen,
                [None, None, None, None, Some(To(Open)), Some(To(Open))],
            ),
            (
                Move::Wake { replied: true },
                [None, None, None, Some(To(Open)), None, None],
            ),
            (
                Move::Wake { replied: false },
                [None, None, None, Some(To(New)), None, None],
            ),
        ];
        for (mv, row) in table {
            for (category, expected) in Category::ALL.into_iter().zip(row) {
                assert_eq!(outcome(mv, category), expected, "{mv:?} from {category}");
            }
        }
    }

    #[test]
    fn nothing_but_a_wake_re_enters_new() {
        for mv in Move::USER_MOVES {
            for from in Category::ALL {
                if from != New {
                    assert_ne!(outcome(mv, from), Some(To(New)), "{mv:?} from {from}");
                }
            }
        }
    }

    #[test]
    fn refusal_names_status_and_allowed_moves() {
        let err = check(Move::Close, "answered", Waiting).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot close: the ticket is answered; allowed from answered: reply, reply --resolve, \
             reply --customer, note, open, postpone, resolve, close --force, edit"
        );
        let err = check(Move::Note, "closed", Closed).unwrap_err();
        assert_eq!(err.allowed, vec!["reopen"]);
    }

    #[test]
    fn reopen_is_leaving_solved_or_closed_for_active() {
        assert!(is_reopen(Solved, Open));
        assert!(is_reopen(Closed, Open));
        assert!(is_reopen(Solved, Waiting));
        assert!(!is_reopen(Open, Solved));
        assert!(!is_reopen(Solved, Closed));
    }

    #[test]
    fn builtin_statuses_cover_every_category_once() {
        let statuses = Statuses::builtin();
        for category in Category::ALL {
            assert_eq!(statuses.category(category.default_status()), Some(category));
        }
        assert_eq!(statuses.iter().count(), 6);
    }
}
