use clap::Args;

use crate::cli::shared::change_ticket;
use crate::cli::{CommandError, Ctx};
use crate::domain::change::Change;

/// Assign a ticket to an agent (default: yourself) and/or a department.
///
/// Examples:
///   tix assign k3x                 # to me
///   tix assign k3x ana@desk --department billing
///   tix assign k3x --unassign
#[derive(Debug, Args)]
pub(crate) struct AssignArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// The agent; default yourself (unless only --department is given).
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
    let me = if args.unassign || args.agent.is_some() || args.department.is_some() {
        None
    } else {
        let desk = ctx.desk()?;
        Some(ctx.agent(Some(&desk))?.id().to_owned())
    };
    change_ticket(ctx, &args.id, |desk| {
        let config = desk.config();
        let assignee = if args.unassign {
            Some(None)
        } else if let Some(agent) = args.agent.as_deref().or(me.as_deref()) {
            Some(Some(
                config.resolve_agent(agent).map_err(CommandError::user)?,
            ))
        } else {
            None
        };
        if let Some(department) = &args.department {
            config
                .check_department(department)
                .map_err(CommandError::user)?;
        }
        Ok(Change::Assign {
            assignee,
            department: args.department.clone().map(Some),
        })
    })
}
