use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;
use crate::domain::change::Change;

/// Set any status the configuration allows, custom ones included.
///
/// Closed tickets stay locked (use `tix reopen`), nothing enters the new
/// category except from another status in it, and only a resolved ticket
/// closes (else `tix close --force --reason`). Within these limits a status
/// with `next = [...]` in tix.toml may move only to those.
///
/// Example: tix status k3x waiting_on_vendor -m "RMA 4471 opened"
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// The status id (built-in or from tix.toml).
    status: String,
    /// Why (kept in the status history).
    #[arg(short = 'm', long = "message", value_name = "TEXT")]
    message: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &StatusArgs) -> Result<(), CommandError> {
    apply(
        ctx,
        &args.id,
        Request::Plain(Change::SetStatus {
            status: args.status.clone(),
            reason: args.message.clone(),
        }),
    )
}
