use clap::Args;

use crate::cli::apply::apply_with_files;
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
/// When the desk sends mail ([mail] in tix.toml) and the customer has an
/// address, an agent's reply is mailed to them; what cannot be sent waits
/// in `tix outbox`.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix reply k3x -m \"Unplug it and plug it back in\" --resolve\n  tix reply k3x --template refund-approved"
)]
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
    /// Attach a file to the reply (stored with the ticket, sent with the
    /// mail); give it once per file.
    #[arg(long, value_name = "FILE", conflicts_with = "customer")]
    attach: Vec<std::path::PathBuf>,
    /// The reply is templates/NAME.txt, filled in for this ticket
    /// (docs/mail.md, "Templates").
    #[arg(long, value_name = "NAME", conflicts_with_all = ["message", "customer"])]
    template: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &ReplyArgs) -> Result<(), CommandError> {
    let body = match &args.template {
        Some(name) => crate::cli::apply::template_text(ctx, &args.id, name)?,
        None => read_message(ctx, args.message.as_deref(), "reply")?,
    };
    let change = if args.customer {
        Change::CustomerReply { body }
    } else {
        Change::Reply {
            body,
            resolve: args.resolve,
        }
    };
    let mut files = Vec::new();
    for path in &args.attach {
        let bytes = std::fs::read(path)
            .map_err(|e| CommandError::usage(format!("--attach {}: {e}", path.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        files.push((name, bytes));
    }
    apply_with_files(ctx, &args.id, Request::Plain(change), &files)
}
