use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx, read_message};
use crate::desk::change::Request;
use crate::domain::change::Change;

/// Add an internal note (never shown to the customer; the status stays).
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix note k3x -m \"Customer is on the legacy plan\"\n  tix note k3x --template handover"
)]
pub(crate) struct NoteArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// The note ("-" reads standard input; without -m, $EDITOR opens).
    #[arg(short = 'm', long = "message", value_name = "TEXT")]
    message: Option<String>,
    /// The note is templates/NAME.txt, filled in for this ticket.
    #[arg(long, value_name = "NAME", conflicts_with = "message")]
    template: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &NoteArgs) -> Result<(), CommandError> {
    let body = match &args.template {
        Some(name) => crate::cli::apply::template_text(ctx, &args.id, name)?,
        None => read_message(ctx, args.message.as_deref(), "note")?,
    };
    apply(ctx, &args.id, Request::Plain(Change::Note { body }))
}
