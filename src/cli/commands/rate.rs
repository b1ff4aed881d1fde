use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx};
use crate::desk::change::Request;
use crate::domain::change::Change;

/// Record the customer's satisfaction rating of a resolved ticket.
///
/// SCORE is 1 (poor) to 5 (great). A later rating replaces the earlier
/// one; both stay in the ticket's log, and reports count each in the
/// period it was given. A customer can also rate by mail: a reply whose
/// first line is "rating: N" (docs/mail.md).
///
/// Example: tix rate k3x 5 --comment "Fixed in minutes"
#[derive(Debug, Args)]
pub(crate) struct RateArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// 1 (poor) to 5 (great).
    score: u8,
    /// The customer's words.
    #[arg(long, value_name = "TEXT")]
    comment: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &RateArgs) -> Result<(), CommandError> {
    let change = Change::Rate {
        score: args.score,
        comment: args.comment.clone(),
    };
    apply(ctx, &args.id, Request::Plain(change))
}
