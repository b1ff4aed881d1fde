//! Notice templates (`templates/NAME.txt`): Jinja-style text rendered
//! with minijinja, checked when loaded so that a variable tix does not
//! know is refused before any customer could get a broken mail
//! (docs/mail.md, "Templates").

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// The variables a template may use.
pub const VARIABLES: [&str; 11] = [
    "ticket.id",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "customer.name",
    "customer.email",
    "agent.name",
    "agent.email",
    "desk.name",
    "desk.address",
    "rating.hint",
];

/// What a template is rendered with.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Vars {
    /// The ticket.
    pub ticket: TicketVars,
    /// Its customer.
    pub customer: Person,
    /// The agent who acted (or the desk, for automation).
    pub agent: Person,
    /// The desk.
    pub desk: DeskVars,
    /// How the customer rates the ticket.
    pub rating: RatingVars,
}

/// `ticket.*`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TicketVars {
    /// The id.
    pub id: String,
    /// The subject.
    pub subject: String,
    /// The status id.
    pub status: String,
    /// The priority.
    pub priority: String,
}

/// `customer.*` and `agent.*`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Person {
    /// The name (the address when no name is known).
    pub name: String,
    /// The address.
    pub email: String,
}

/// `desk.*`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DeskVars {
    /// `[desk] name`, else `[mail] name`.
    pub name: String,
    /// `[mail] address`.
    pub address: String,
}

/// `rating.*`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RatingVars {
    /// One line telling how to rate by mail.
    pub hint: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    // Templates come with the desk from other clones: a loop in one must
    // not stall a change, nor its text grow without bound.
    env.set_fuel(Some(FUEL));
    env
}

/// The instructions a template may run: far more than any notice needs.
const FUEL: u64 = 100_000;

/// The longest text a template may render, in bytes.
pub const MAX_RENDERED: usize = 1 << 20;

/// Tells whether `name` may name a template: a plain file name under
/// `templates/`, without `.txt`.
pub fn is_template_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks a template: its syntax, and that it names only [`VARIABLES`].
pub fn check(name: &str, source: &str) -> Result<(), String> {
    let env = environment();
    let template = env
        .template_from_str(source)
        .map_err(|e| format!("templates/{name}.txt: {}", describe(&e)))?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| !VARIABLES.contains(&v.as_str()))
        .collect();
    unknown.sort();
    if let Some(first) = unknown.first() {
        return Err(format!(
            "templates/{name}.txt names the unknown variable `{first}`; use {}",
            VARIABLES.join(", ")
        ));
    }
    Ok(())
}

/// Renders a checked template.
pub fn render(name: &str, source: &str, vars: &Vars) -> Result<String, String> {
    check(name, source)?;
    let env = environment();
    let template = env
        .template_from_str(source)
        .map_err(|e| format!("templates/{name}.txt: {}", describe(&e)))?;
    let text = template
        .render(vars)
        .map_err(|e| format!("templates/{name}.txt: {}", describe(&e)))?;
    if text.len() > MAX_RENDERED {
        return Err(format!(
            "templates/{name}.txt renders more than {} MiB of text",
            MAX_RENDERED >> 20
        ));
    }
    Ok(text)
}

fn describe(error: &minijinja::Error) -> String {
    match error.line() {
        Some(line) => format!("line {line}: {}", error.kind()),
        None => error.to_string(),
    }
}

/// The templates `tix init` writes: name and text.
pub const DEFAULTS: [(&str, &str); 3] = [
    (
        "ack",
        "Hello {{ customer.name }},\n\n\
         we received your message and opened ticket #{{ ticket.id }}:\n\
         \"{{ ticket.subject }}\". We will answer as soon as we can.\n\
         Reply to this mail to add to it.\n\n\
         {{ desk.name }}\n",
    ),
    (
        "resolved",
        "Hello {{ customer.name }},\n\n\
         we think ticket #{{ ticket.id }} (\"{{ ticket.subject }}\") is solved.\n\
         If it is not, reply to this mail and it opens again.\n\n\
         {{ rating.hint }}\n\n\
         {{ desk.name }}\n",
    ),
    (
        "closed",
        "Hello {{ customer.name }},\n\n\
         ticket #{{ ticket.id }} (\"{{ ticket.subject }}\") is now closed.\n\
         Write to us again any time; a new mail opens a new ticket.\n\n\
         {{ desk.name }}\n",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_templates_check_and_render() {
        let vars = Vars {
            ticket: TicketVars {
                id: "k3x9p2".into(),
                subject: "Printer".into(),
                ..TicketVars::default()
            },
            customer: Person {
                name: "Bo".into(),
                email: "bo@example.com".into(),
            },
            ..Vars::default()
        };
        for (name, text) in DEFAULTS {
            let out = render(name, text, &vars).unwrap();
            assert!(out.contains("#k3x9p2"), "{out}");
            assert!(out.starts_with("Hello Bo,"), "{out}");
        }
    }

    #[test]
    fn unknown_variables_and_bad_syntax_are_refused_at_load() {
        let err = check("ack", "Hi {{ customer.nmae }}").unwrap_err();
        assert!(err.contains("customer.nmae"), "{err}");
        let err = check("ack", "Hi {{ customer.name ").unwrap_err();
        assert!(err.contains("templates/ack.txt"), "{err}");
        assert!(check("ack", "{% if ticket.id %}x{% endif %}").is_ok());
    }
}
