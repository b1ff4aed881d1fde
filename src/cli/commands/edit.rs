use clap::Args;

use crate::cli::apply::apply;
use crate::cli::{CommandError, Ctx, parse_field};
use crate::desk::change::Request;
use crate::domain::change::Edit;
use crate::model::{Customer, Priority};

/// Change a ticket's subject, priority, tags, custom fields or customer.
///
/// Example: tix edit k3x --priority urgent --tag +vip --tag -later
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// Ticket id or unique prefix.
    id: String,
    /// New subject.
    #[arg(long, value_name = "S")]
    subject: Option<String>,
    /// New priority: low, normal, high or urgent.
    #[arg(long, value_name = "P")]
    priority: Option<Priority>,
    /// Add (+T or T) or remove (-T) a tag (repeatable).
    #[arg(long = "tag", value_name = "+T|-T", allow_hyphen_values = true)]
    tags: Vec<String>,
    /// Set a custom field; an empty value clears it (repeatable).
    #[arg(long = "field", value_name = "K=V", value_parser = parse_field)]
    fields: Vec<(String, String)>,
    /// New customer name.
    #[arg(long, value_name = "NAME")]
    customer: Option<String>,
    /// New customer mail address.
    #[arg(long, value_name = "ADDR")]
    email: Option<String>,
    /// New customer phone or contact.
    #[arg(long, value_name = "TEXT")]
    phone: Option<String>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &EditArgs) -> Result<(), CommandError> {
    let mut edit = Edit {
        subject: args.subject.clone(),
        priority: args.priority,
        customer: Customer {
            name: args.customer.clone(),
            email: args.email.clone(),
            phone: args.phone.clone(),
        },
        ..Edit::default()
    };
    for tag in &args.tags {
        match tag.strip_prefix('-') {
            Some(tag) => edit.remove_tags.push(tag.to_owned()),
            None => edit
                .add_tags
                .push(tag.strip_prefix('+').unwrap_or(tag).to_owned()),
        }
    }
    let empty = edit.subject.is_none()
        && edit.priority.is_none()
        && edit.add_tags.is_empty()
        && edit.remove_tags.is_empty()
        && args.fields.is_empty()
        && edit.customer.is_empty();
    if empty {
        return Err(CommandError::usage(
            "nothing to edit: give --subject, --priority, --tag, --field or a customer detail",
        ));
    }
    let request = Request::Edit {
        edit,
        fields: args.fields.clone(),
    };
    apply(ctx, &args.id, request)
}
