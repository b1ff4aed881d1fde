use clap::Args;

use crate::cli::shared::change_ticket;
use crate::cli::{CommandError, Ctx};
use crate::domain::change::Change;

/// Take a ticket up: new, answered or postponed -> open.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// Ticket id or unique prefix.
    id: String,
}

pub(crate) fn run(ctx: &mut Ctx, args: &OpenArgs) -> Result<(), CommandError> {
    change_ticket(ctx, &args.id, |_| Ok(Change::Open))
}
