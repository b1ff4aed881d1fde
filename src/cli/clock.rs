//! The one place that reads the current time.
//!
//! `TIX_NOW` (RFC 3339) replaces the system clock, so tests and dry runs can
//! travel in time. Domain modules never call this: they take `now` as input.

use crate::model::{Timestamp, TimestampError};

/// Environment variable that replaces the system clock.
pub const NOW_VAR: &str = "TIX_NOW";

/// Returns the current time: `TIX_NOW` when set, else the system clock.
///
/// A time before 1970 is refused: git records commit times as seconds since
/// 1970 and would store another date than the ticket.
pub fn now() -> Result<Timestamp, TimestampError> {
    match std::env::var(NOW_VAR) {
        Ok(text) if !text.trim().is_empty() => {
            let at: Timestamp = text.trim().parse()?;
            if at.unix() < 0 {
                return Err(TimestampError::new(
                    text.trim(),
                    "times before 1970 cannot be committed to git",
                ));
            }
            Ok(at)
        }
        _ => Ok(Timestamp::from_datetime(chrono::Utc::now())),
    }
}
