//! The one place that reads the current time.
//!
//! `TIX_NOW` (RFC 3339) replaces the system clock, so tests and dry runs can
//! travel in time. Domain modules never call this: they take `now` as input.

use crate::model::{Timestamp, TimestampError};

/// Environment variable that replaces the system clock.
pub const NOW_VAR: &str = "TIX_NOW";

/// Returns the current time: `TIX_NOW` when set, else the system clock.
pub fn now() -> Result<Timestamp, TimestampError> {
    match std::env::var(NOW_VAR) {
        Ok(text) if !text.trim().is_empty() => text.trim().parse(),
        _ => Ok(Timestamp::from_datetime(chrono::Utc::now())),
    }
}
