//! `[[view]]`: named filters for `tix list --view` and `tix queue --view`
//! (docs/configuration.md, "Views"). Each view is checked as it loads,
//! the way `tix list` checks its flags, and every problem is reported at
//! the line of the key at fault.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::people::People;
use super::raw::{Element, RawView};
use super::{NAME_RULE, Report, is_valid_name};
use crate::domain::change::check_tag;
use crate::domain::fields::FieldDef;
use crate::domain::filter::{Assignee, Filter, View};
use crate::domain::lifecycle::Statuses;
use crate::model::Timestamp;

/// What the desk defines, which views are checked against.
pub(super) struct Defined<'a> {
    pub(super) statuses: &'a Statuses,
    pub(super) form: &'a [FieldDef],
    /// A `[[field]]` table failed to read: the form is not known whole,
    /// so field filters are not checked (nothing is reported twice).
    pub(super) form_broken: bool,
    pub(super) people: &'a People,
}

/// Builds the views; names of agents become their addresses, as tickets
/// record them.
pub(super) fn views(
    raw: Vec<Element<RawView>>,
    root: &DeTable<'_>,
    desk: &Defined<'_>,
    problem: &mut Report<'_>,
) -> Vec<View> {
    let mut views: Vec<View> = Vec::new();
    for element in raw {
        let RawView { name, when } = element.value;
        let name_span = name.span();
        let name = name.into_inner();
        if !is_valid_name(&name) {
            problem(
                format!("view name '{name}' must be {NAME_RULE}, so that --view can name it"),
                name_span.clone(),
            );
        }
        if views.iter().any(|v| v.name == name) {
            problem(format!("view '{name}' is defined twice"), name_span);
        }
        let mut say = |key: &str, message: String| {
            let span = when_key_span(root, &element.span, key);
            problem(
                format!("[[view]] '{name}': key 'when.{key}': {message}"),
                span.unwrap_or_else(|| element.span.clone()),
            );
        };
        let filter = check(when, desk, &mut say);
        views.push(View { name, filter });
    }
    views
}

/// Reports every problem of a view's filter through `say(key, message)`;
/// returns the filter with its agent given by address.
fn check(mut filter: Filter, desk: &Defined<'_>, say: &mut dyn FnMut(&str, String)) -> Filter {
    let mut checked = filter.clone();
    if desk.form_broken {
        checked.field.clear();
    }
    // How a time reads does not depend on the moment but for how far a
    // duration reaches back: any moment will do.
    if let Err(problems) = checked.check(desk.statuses, desk.form, Timestamp::EPOCH) {
        for p in problems {
            say(p.key, p.message);
        }
    }
    let texts = [
        ("assignee", &filter.assignee),
        ("department", &filter.department),
        ("customer", &filter.customer),
        ("search", &filter.search),
    ];
    for (key, text) in texts {
        if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            say(key, "the value is empty".to_owned());
        }
    }
    for tag in &filter.tag {
        if let Err(e) = check_tag(tag) {
            say("tag", e.to_string());
        }
    }
    for (key, _) in &filter.field {
        if !is_valid_name(key) {
            say(
                "field",
                format!("'{key}' is not a field name: use {NAME_RULE}"),
            );
        }
    }
    let people = desk.people;
    if let Some(department) = filter.department.as_deref()
        && !department.trim().is_empty()
        && !people.departments.is_empty()
        && !people.department_names.contains(department)
    {
        let known: Vec<&str> = people.departments.iter().map(|d| d.name.as_str()).collect();
        say(
            "department",
            format!(
                "unknown department '{department}': tix.toml lists {}",
                known.join(", ")
            ),
        );
    }
    let agent = match filter.assignee() {
        Some(Assignee::Agent(who)) if !who.trim().is_empty() && !people.agents.is_empty() => {
            Some(who.to_owned())
        }
        _ => None,
    };
    if let Some(who) = agent {
        // Tickets store an agent's address: a name would never match.
        match people
            .agents
            .iter()
            .find(|a| a.email == who || a.name == who)
        {
            Some(agent) => filter.assignee = Some(agent.email.clone()),
            None if people.agents_broken => {}
            None => {
                let known: Vec<&str> = people.agents.iter().map(|a| a.email.as_str()).collect();
                say(
                    "assignee",
                    format!(
                        "unknown agent '{who}': tix.toml lists {} (or use me or none)",
                        known.join(", ")
                    ),
                );
            }
        }
    }
    filter
}

/// Where `key` of the `when` table of the `[[view]]` written at `view` is
/// written.
fn when_key_span(root: &DeTable<'_>, view: &Range<usize>, key: &str) -> Option<Range<usize>> {
    let views = root.get("view")?.get_ref().as_array()?;
    let table = views
        .iter()
        .find(|v| v.span() == *view)?
        .get_ref()
        .as_table()?;
    let when = table.get("when")?;
    match when.get_ref() {
        DeValue::Table(when) => when
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(k, _)| k.span()),
        _ => Some(when.span()),
    }
}
