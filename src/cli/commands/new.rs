use std::io::Write;

use clap::Args;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx, read_message};
use crate::domain::change::{Applied, NewTicket};
use crate::domain::routing::Explicit;
use crate::domain::view::TicketView;
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

/// Parses `KEY=VALUE`.
pub(crate) fn parse_field(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not KEY=VALUE"))?;
    let key = key.trim();
    if !crate::config::is_valid_name(key) {
        return Err(format!(
            "'{key}' is not a field name: use {}",
            crate::config::NAME_RULE
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Refuses a field given twice (`--field order=1 --field order=2`): one of
/// the values would be silently dropped.
pub(crate) fn once_each(fields: &[(String, String)]) -> Result<(), CommandError> {
    for (i, (name, _)) in fields.iter().enumerate() {
        if fields[..i].iter().any(|(other, _)| other == name) {
            return Err(CommandError::usage(format!(
                "--field {name} is given twice: give each field once"
            )));
        }
    }
    Ok(())
}

pub(crate) fn run(ctx: &mut Ctx, args: &NewArgs) -> Result<(), CommandError> {
    once_each(&args.fields)?;
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let desk = ctx.desk()?;
    let agent = ctx.agent(Some(&desk))?;
    let now = ctx.now()?;
    let body = match &args.message {
        Some(text) => Some(read_message(ctx, Some(text), "description")?),
        None => None,
    };
    let follow_up_of = match &args.follow_up {
        Some(prefix) => Some(desk.resolve(prefix)?),
        None => None,
    };
    let fields = desk
        .config()
        .new_field_values(&args.fields)
        .map_err(CommandError::user)?;
    let new = NewTicket {
        subject: args.subject.clone(),
        body,
        customer: Customer {
            name: args.customer.clone(),
            email: args.email.clone(),
            phone: args.phone.clone(),
        },
        priority: args.priority.unwrap_or_default(),
        department: args.department.clone(),
        assignee: args.assign.clone(),
        tags: args.tags.clone(),
        fields,
        follow_up_of,
    };
    let explicit = Explicit {
        department: args.department.is_some(),
        priority: args.priority.is_some(),
    };
    let ticket = desk.create(new, explicit, &agent, now, &mut ctx.rng())?;
    let applied = Applied {
        action: "new",
        status: None,
        recorded: ticket.events.len(),
    };
    for failure in desk.run_hooks(&ticket, &applied) {
        ctx.ui.status(&format!("warning: {failure}"));
    }
    if format == Format::Json {
        return Ok(ctx
            .ui
            .json(&TicketView::of(&ticket, &desk.config().statuses))?);
    }
    writeln!(ctx.ui.out(), "Created ticket {}", ticket.id)?;
    Ok(())
}
