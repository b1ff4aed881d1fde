use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;
use crate::domain::change::Change;
use crate::model::Timestamp;

/// Come back to a ticket later: new, open or answered -> postponed.
///
/// With --until the automation (`tix automate`) moves it back to open when
/// the time has come (to new if nobody ever replied). Postponing a
/// postponed ticket moves its wake-up time.
///
/// Example: tix postpone k3x --until 3d
#[derive(Debug, Args)]
pub(crate) struct PostponeArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// When to wake up: a time, a date (2025-03-01, midnight UTC), a
    /// duration from now (4h, 3d, 2w) or a word (tomorrow, monday).
    #[arg(long, value_name = "DATE")]
    until: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &PostponeArgs) -> Result<(), CommandError> {
    let until = match &args.until {
        Some(text) => Some(
            Timestamp::parse_user(text, ctx.now()?)
                .map_err(|e| CommandError::usage(format!("--until: {e}")))?,
        ),
        None => None,
    };
    apply(ctx, &args.id, Request::Plain(Change::Postpone { until }))
}
