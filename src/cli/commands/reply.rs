use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx, read_message};
use crate::desk::change::Request;
use crate::domain::change::Change;

/// Reply publicly to the customer, or record the customer's reply.
///
/// An agent reply moves the ticket to answered (or resolved with
/// --resolve). With --customer the text is the customer's reply (from a
/// call, a chat or a mail): an answered, postponed or resolved ticket
/// becomes open again.
///
/// Example: tix reply k3x -m "Unplug it and plug it back in" --resolve
#[derive(Debug, Args)]
pub(crate) struct ReplyArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// The reply ("-" reads standard input; without -m, $EDITOR opens).
    #[arg(short = 'm', long = "message", value_name = "TEXT")]
    message: Option<String>,
    /// Resolve the ticket with this reply.
    #[arg(long, conflicts_with = "customer")]
    resolve: bool,
    /// The text is the customer's reply, not the agent's.
    #[arg(long)]
    customer: bool,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ReplyArgs) -> Result<(), CommandError> {
    let body = read_message(ctx, args.message.as_deref(), "reply")?;
    let change = if args.customer {
        Change::CustomerReply { body }
    } else {
        Change::Reply {
            body,
            resolve: args.resolve,
        }
    };
    apply(ctx, &args.id, Request::Plain(change))
}
