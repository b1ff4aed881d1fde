//! What a ticket is: the file format and what is derived from it.

mod id;
pub mod scan;
pub mod status;
mod ticket;
mod time;

pub use id::{ALPHABET, ID_LEN, InvalidId, TicketId, normalise_prefix};
pub use ticket::{Customer, Event, EventKind, ParseError, Priority, Rating, Role, Summary, Ticket};
pub use time::{Timestamp, TimestampError, parse_duration_secs};

/// Returns the 1-based line number of a byte offset in `text`.
pub fn line_at(text: &str, offset: usize) -> usize {
    let end = text.floor_char_boundary(offset.min(text.len()));
    text[..end].matches('\n').count() + 1
}
