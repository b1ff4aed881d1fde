use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;

/// Assign a ticket to an agent (default: yourself) and/or a department.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix assign k3x                 # to me\n  tix assign k3x ana@desk --department billing\n  tix assign k3x --unassign"
)]
pub(crate) struct AssignArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// The agent: a name, an address, or any part of one that only one
    /// agent's has (raj); default yourself (unless only --department is
    /// given).
    #[arg(conflicts_with = "unassign")]
    agent: Option<String>,
    /// Move the ticket to this department.
    #[arg(long, value_name = "D")]
    department: Option<String>,
    /// Remove the assignee.
    #[arg(long)]
    unassign: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &AssignArgs) -> Result<(), CommandError> {
    let request = Request::Assign {
        agent: args.agent.clone(),
        unassign: args.unassign,
        department: args.department.clone(),
    };
    apply(ctx, &args.id, request)
}
