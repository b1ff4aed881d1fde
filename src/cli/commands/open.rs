use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;
use crate::domain::change::Change;

/// Take a ticket up: new, answered or postponed -> open.
#[derive(Debug, Args)]
pub(crate) struct OpenArgs {
    /// Ticket id or unique prefix.
    id: String,
}

pub(crate) fn run(ctx: &mut Ctx, args: &OpenArgs) -> Result<(), CommandError> {
    apply(ctx, &args.id, Request::Plain(Change::Open))
}
