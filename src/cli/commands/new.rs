use std::io::Write;

use clap::Args;

use crate::cli::apply::report;
use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx, parse_field, read_message};
use crate::desk::change::NewRequest;
use crate::model::{Customer, Priority};

/// Create a ticket.
///
/// With a customer (--customer, --email or --phone) the message is the
/// customer's words; without one the ticket is the agent's own.
///
/// Example: tix new "Printer on fire" --email bo@example.com -m "It smokes"
#[derive(Debug, Args)]
pub(crate) struct NewArgs {
    /// One line saying what the ticket is about.
    subject: String,
    /// The description ("-" reads standard input). Optional.
    #[arg(short = 'm', long = "message", value_name = "BODY")]
    message: Option<String>,
    /// The customer's name.
    #[arg(long, value_name = "NAME")]
    customer: Option<String>,
    /// The customer's mail address.
    #[arg(long, value_name = "ADDR")]
    email: Option<String>,
    /// The customer's phone or other contact.
    #[arg(long, value_name = "TEXT")]
    phone: Option<String>,
    /// low, normal (default, unless routing sets one), high or urgent.
    #[arg(long, value_name = "PRIORITY")]
    priority: Option<Priority>,
    /// The department that owns the ticket.
    #[arg(long, value_name = "D")]
    department: Option<String>,
    /// The agent who owns the ticket.
    #[arg(long = "assign", value_name = "AGENT")]
    assign: Option<String>,
    /// A tag (repeatable).
    #[arg(long = "tag", value_name = "T")]
    tags: Vec<String>,
    /// A custom field value (repeatable).
    #[arg(long = "field", value_name = "KEY=VALUE", value_parser = parse_field)]
    fields: Vec<(String, String)>,
    /// The ticket this one follows up.
    #[arg(long = "follow-up", value_name = "ID")]
    follow_up: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &NewArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let agent = ctx.agent(&desk)?;
    let now = ctx.now()?;
    let body = match &args.message {
        Some(text) => Some(read_message(ctx, Some(text), "description")?),
        None => None,
    };
    let request = NewRequest {
        subject: args.subject.clone(),
        body,
        customer: Customer {
            name: args.customer.clone(),
            email: args.email.clone(),
            phone: args.phone.clone(),
        },
        priority: args.priority,
        department: args.department.clone(),
        assignee: args.assign.clone(),
        tags: args.tags.clone(),
        fields: args.fields.clone(),
        follow_up: args.follow_up.clone(),
    };
    let changed = desk.create(request, &agent, now, &mut ctx.rng())?;
    if format == Format::Json {
        return report(ctx, &desk, &changed, format);
    }
    for failure in changed
        .hook_failures
        .iter()
        .chain(&changed.skipped_triggers)
    {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    writeln!(ctx.ui.out(), "Created ticket {}", changed.ticket.id)?;
    if !changed.triggers.is_empty() {
        let line = format!("triggers fired: {}", changed.triggers.join(", "));
        writeln!(ctx.ui.out(), "{}", crate::cli::render::text(&line))?;
    }
    Ok(())
}
