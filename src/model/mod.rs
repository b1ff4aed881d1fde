//! What a ticket is: the file format and what is derived from it.

mod id;
mod ticket;
mod time;

pub use id::{ALPHABET, ID_LEN, InvalidId, TicketId, normalise_prefix};
pub use ticket::{Customer, Event, EventKind, ParseError, Priority, Rating, Role, Summary, Ticket};
pub use time::{Timestamp, TimestampError, parse_duration_secs};
