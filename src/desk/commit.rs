//! The commit message of a change: one subject line naming the ticket, the
//! action and the ticket's subject, then the trailers scripts rely on
//! (docs/storage.md). Every change, automation run and mail record writes
//! its commit through here.

use crate::domain::change::Applied;
use crate::model::{Ticket, TicketId};

/// Builds the commit message: a subject naming id, action and ticket
/// subject, then trailers (docs/storage.md).
///
/// Only tix writes trailers: the ticket's subject, which another clone or a
/// hand edit may have filled with line breaks (`hi\n\nTix-Ticket: other`),
/// becomes one line that can neither start a line of the message nor be
/// found as a trailer (see `one_line`).
pub(crate) fn commit_message(ticket: &Ticket, applied: &Applied) -> String {
    commit_message_with(ticket, applied, "", &[])
}

/// [`commit_message`] with `detail` after the action in the subject line
/// (`merge into m4n5p6`), and a `Tix-Ticket` trailer for each of `others`:
/// the other tickets one commit changes (`tix merge`, a related link), so
/// that `git log --grep 'Tix-Ticket: ID'` finds it for each of them. Such
/// a commit has no `Tix-Status` trailer.
pub(crate) fn commit_message_with(
    ticket: &Ticket,
    applied: &Applied,
    detail: &str,
    others: &[&TicketId],
) -> String {
    let action = if detail.is_empty() {
        applied.action.to_owned()
    } else {
        format!("{} {}", applied.action, one_line(detail))
    };
    let full = one_line(&ticket.subject);
    let mut subject: String = full.chars().take(60).collect();
    if subject.len() < full.len() {
        subject.push('…');
    }
    let status = applied
        .status
        .as_ref()
        .map(|(from, to)| (one_line(from), one_line(to)));
    let mut message = match &status {
        Some((from, to)) => format!("{}: {action} ({from} -> {to}) {subject}\n\n", ticket.id),
        None => format!("{}: {action} {subject}\n\n", ticket.id),
    };
    message.push_str(&format!("Tix-Ticket: {}\n", ticket.id));
    for other in others {
        message.push_str(&format!("Tix-Ticket: {other}\n"));
    }
    message.push_str(&format!("Tix-Action: {}\n", applied.action));
    // A commit of several tickets names the first one's status change in
    // its subject only: `tix log` of another ticket must not show it as
    // that ticket's.
    if let Some((from, to)) = status.as_ref().filter(|_| others.is_empty()) {
        message.push_str(&format!("Tix-Status: {from} -> {to}\n"));
    }
    message
}

/// Text for a commit's subject line: every control character (line
/// breaks among them) a space, and the hyphen of any `Tix-` a
/// non-breaking hyphen (U+2011), so that `git log --grep 'Tix-Ticket: ID'`
/// finds only the trailers tix wrote.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let tix = out.len() >= 3
            && out.is_char_boundary(out.len() - 3)
            && out[out.len() - 3..].eq_ignore_ascii_case("tix");
        out.push(match c {
            '-' if tix => '\u{2011}',
            // Line breaks and escapes, and the invisible characters that
            // reorder text (bidi overrides and isolates).
            c if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                ' '
            }
            c => c,
        });
    }
    out
}
