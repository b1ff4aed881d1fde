//! `[[trigger]]` and `[[macro]]`: rules that fire when something happens,
//! and actions an agent applies in one go (docs/automation.md). Each is
//! checked when the desk loads, with its line: unknown values, conditions
//! that can never hold, patterns that do not parse, templates that are
//! not committed or name a variable tix does not fill in.

use std::collections::BTreeSet;

use super::people::People;
use super::raw::Element;
use super::{ReadFile, Report};
use crate::domain::change::check_tag;
use crate::domain::fields::FieldDef;
use crate::domain::lifecycle::{Category, Statuses};
use crate::domain::rules::{AssignTo, Do, OneOrMany, status_move, valid_name};
use crate::domain::triggers::{Conditions, Macro, On, Trigger};
use crate::model::Priority;

/// What the checks of triggers and macros look things up in.
pub(super) struct Known<'a> {
    pub(super) statuses: &'a Statuses,
    pub(super) people: &'a People,
    pub(super) fields: &'a [FieldDef],
    pub(super) files: &'a ReadFile<'a>,
}

/// Builds the triggers; names of agents become their addresses, field
/// values the form's types.
pub(super) fn triggers(
    raw: Vec<Element<Trigger>>,
    known: &Known<'_>,
    problem: &mut Report<'_>,
) -> Vec<Trigger> {
    let mut triggers: Vec<Trigger> = Vec::new();
    for element in raw {
        let span = element.span;
        let mut trigger = element.value;
        let name = trigger.name.clone();
        let mut report =
            |message: String| problem(format!("trigger '{name}': {message}"), span.clone());
        if !valid_name(&name) {
            report(
                "the name is not valid: use 1 to 64 letters, digits, '.', '_' or '-' \
                 (it becomes the Tix-Rule trailer of commits)"
                    .to_owned(),
            );
        }
        if triggers.iter().any(|t| t.name == name) {
            report("is defined twice".to_owned());
        }
        if trigger.on.events().is_empty() {
            report(format!("`on` is empty: give one or more of {}", On::NAMES));
        }
        check_conditions(&mut trigger.when, known, &mut report);
        if !can_hold(&trigger.when, known.statuses) {
            report("its conditions exclude each other: it can never fire".to_owned());
        }
        if trigger.actions == Do::default() {
            report("does nothing: give `do` an action".to_owned());
        }
        let departments: Vec<String> = trigger
            .when
            .department
            .iter()
            .flat_map(|d| d.values())
            .map(str::to_owned)
            .collect();
        check_actions(&mut trigger.actions, Some(&departments), known, &mut report);
        if let Some(target) = &trigger.actions.set_status
            && known.statuses.get(target).is_some()
            && !known.statuses.iter().any(|from| {
                admits(&trigger.when, &from.id, from.category)
                    && (from.id == *target || status_move(known.statuses, &from.id, target).is_ok())
            })
        {
            report(format!(
                "sets status '{target}', which no status its conditions allow can move to"
            ));
        }
        triggers.push(trigger);
    }
    triggers
}

/// Builds the macros.
pub(super) fn macros(
    raw: Vec<Element<Macro>>,
    known: &Known<'_>,
    problem: &mut Report<'_>,
) -> Vec<Macro> {
    let mut macros: Vec<Macro> = Vec::new();
    for element in raw {
        let span = element.span;
        let mut m = element.value;
        let name = m.name.clone();
        let mut report =
            |message: String| problem(format!("macro '{name}': {message}"), span.clone());
        if !valid_name(&name) {
            report(
                "the name is not valid: use 1 to 64 letters, digits, '.', '_' or '-'".to_owned(),
            );
        }
        if macros.iter().any(|other| other.name == name) {
            report("is defined twice".to_owned());
        }
        if let Some(template) = &m.template
            && let Some(why) = super::mail::template_problem("template", template, known.files)
        {
            report(why);
        }
        if m.actions.reply.is_some() {
            report("reply goes in the macro's own `template`, not in `do`".to_owned());
        }
        if let Some(AssignTo::Pool(_)) = m.actions.assign_to() {
            report("assign picks one agent: name the agent (round_robin and least_loaded are for triggers)".to_owned());
        }
        if m.actions == Do::default() && m.template.is_none() {
            report("does nothing: give it a `template` or `do` actions".to_owned());
        }
        if m.actions.notify.is_some() {
            report("notify is for triggers; a macro's mail is its `template` reply".to_owned());
        }
        check_actions(&mut m.actions, None, known, &mut report);
        macros.push(m);
    }
    macros
}

/// Checks the values of conditions (and of their `any` groups); agent
/// names become addresses.
fn check_conditions(when: &mut Conditions, known: &Known<'_>, report: &mut dyn FnMut(String)) {
    let statuses = known.statuses;
    for status in when.status.iter().flat_map(OneOrMany::values) {
        if statuses.get(status).is_none() {
            report(format!("unknown status '{status}'"));
        }
    }
    for category in when.category.iter().flat_map(OneOrMany::values) {
        if Category::parse(category).is_none() {
            report(format!("unknown category '{category}'"));
        }
    }
    for priority in when.priority.iter().flat_map(OneOrMany::values) {
        if priority.parse::<Priority>().is_err() {
            report(format!("unknown priority '{priority}'"));
        }
    }
    check_departments(when.department.as_ref(), known, report);
    if let Some(who) = &mut when.assignee
        && !["none", "any", "me"].contains(&who.as_str())
    {
        resolve_agent(who, "when.assignee", known, report);
    }
    if let Some(role) = &when.last_message_role
        && role != "customer"
        && role != "agent"
    {
        report(format!(
            "last_message_role is customer or agent, not '{role}'"
        ));
    }
    for channel in when.channel.iter().flat_map(OneOrMany::values) {
        if channel != "mail" && channel != "desk" {
            report(format!("channel is mail or desk, not '{channel}'"));
        }
    }
    for domain in when.customer_domain.iter().flat_map(OneOrMany::values) {
        if domain.is_empty() || domain.starts_with('.') || domain.contains(['@', ' ', '*', '/']) {
            report(format!(
                "customer_domain '{domain}' is not a domain (like example.com)"
            ));
        }
    }
    for (field, want) in &mut when.field {
        let Some(def) = known.fields.iter().find(|f| f.name == *field) else {
            report(format!(
                "field.{field}: the ticket form has no field '{field}'"
            ));
            continue;
        };
        // Typed as the form types the field, so `1.0`, `"1"` and `1`
        // compare as the values they are.
        let values = match want {
            toml::Value::Array(values) => values.iter_mut().collect(),
            one => vec![one],
        };
        for value in values {
            let text = crate::domain::change::field_text(value);
            match def.parse_value(&text) {
                Ok(typed) => *value = typed,
                Err(why) => report(format!("field.{field}: {why}")),
            }
        }
    }
    for tags in [&mut when.tags_any, &mut when.tags_all, &mut when.tags_none] {
        for tag in tags.iter_mut() {
            match check_tag(tag) {
                Ok(clean) => *tag = clean,
                Err(e) => report(e.to_string()),
            }
        }
    }
    for group in &mut when.any {
        check_conditions(group, known, report);
    }
}

/// Tells whether some ticket could meet `when`, as far as its statuses,
/// categories and tags tell.
fn can_hold(when: &Conditions, statuses: &Statuses) -> bool {
    let some_status = statuses.iter().any(|s| admits(when, &s.id, s.category));
    let tags_ok = !when.tags_all.iter().any(|t| when.tags_none.contains(t))
        && (when.tags_any.is_empty() || when.tags_any.iter().any(|t| !when.tags_none.contains(t)));
    let groups_ok = when.any.is_empty() || when.any.iter().any(|g| can_hold(g, statuses));
    some_status && tags_ok && groups_ok
}

/// Tells whether `when`'s status and category conditions admit a status.
fn admits(when: &Conditions, status: &str, category: Category) -> bool {
    let allows = |cond: &Option<OneOrMany>, value: &str| {
        cond.as_ref().is_none_or(|c| c.values().contains(&value))
    };
    allows(&when.status, status) && allows(&when.category, category.as_str())
}

fn check_departments(
    departments: Option<&OneOrMany>,
    known: &Known<'_>,
    report: &mut dyn FnMut(String),
) {
    let people = known.people;
    if people.departments.is_empty() {
        return;
    }
    for department in departments.iter().flat_map(|d| d.values()) {
        if !people.department_names.contains(department) {
            report(format!("unknown department '{department}'"));
        }
    }
}

/// Makes an agent's name its address, or reports an unknown agent.
fn resolve_agent(who: &mut String, key: &str, known: &Known<'_>, report: &mut dyn FnMut(String)) {
    let people = known.people;
    if people.agents.is_empty() {
        return;
    }
    match people
        .agents
        .iter()
        .find(|a| a.email == *who || a.name == *who)
    {
        Some(agent) => agent.email.clone_into(who),
        None if people.agents_broken => {}
        None => report(format!("{key} names unknown agent '{who}'")),
    }
}

/// Checks the actions of a trigger or macro; `departments` are those a
/// trigger's conditions name (a pool assignment picks from them, so it
/// needs them, each with agents), `None` for a macro.
fn check_actions(
    actions: &mut Do,
    departments: Option<&[String]>,
    known: &Known<'_>,
    report: &mut dyn FnMut(String),
) {
    if actions
        .add_note
        .as_deref()
        .is_some_and(|n| n.trim().is_empty())
    {
        report("add_note is empty: give the note's text".to_owned());
    }
    if let Some(status) = &actions.set_status
        && known.statuses.get(status).is_none()
    {
        report(format!("sets unknown status '{status}'"));
    }
    let added: BTreeSet<&String> = actions.add_tags.iter().collect();
    if let Some(tag) = actions.remove_tags.iter().find(|t| added.contains(t)) {
        report(format!("both adds and removes tag '{tag}'"));
    }
    for tag in actions.add_tags.iter().chain(&actions.remove_tags) {
        if let Err(e) = check_tag(tag) {
            report(e.to_string());
        }
    }
    match actions.assign_to() {
        Some(AssignTo::Pool(_)) if departments.is_none_or(<[String]>::is_empty) => report(format!(
            "assign = \"{}\" picks an agent of the ticket's department; add `department = \"...\"` to its `when`",
            actions.assign.as_deref().unwrap_or_default()
        )),
        Some(AssignTo::Pool(_)) => {
            let people = known.people;
            for department in departments.unwrap_or_default() {
                let staffed = people
                    .agents
                    .iter()
                    .any(|a| a.departments.iter().any(|d| d == department));
                if !staffed && !people.agents_broken {
                    report(format!(
                        "assign picks an agent of department '{department}', which has no agents: \
                         list it in the departments of an [[agent]]"
                    ));
                }
            }
        }
        Some(AssignTo::Agent(_)) => {
            if let Some(who) = &mut actions.assign {
                resolve_agent(who, "do.assign", known, report);
            }
        }
        _ => {}
    }
    check_fields(actions, known, report);
    if let Some(template) = &actions.reply
        && let Some(why) = super::mail::template_problem("reply", template, known.files)
    {
        report(why);
    }
    match (actions.notify.as_deref(), &actions.template) {
        (None | Some("hook"), Some(_)) => report(
            "template goes with notify = \"requester\" or \"assignee\" (a reply has its template in `reply`)".to_owned(),
        ),
        (Some("requester" | "assignee"), None) => {
            report("notify by mail needs the `template` of the mail".to_owned());
        }
        (Some("requester" | "assignee"), Some(template)) => {
            if let Some(why) = super::mail::template_problem("template", template, known.files) {
                report(why);
            }
        }
        (None | Some("hook"), None) => {}
        (Some(other), _) => report(format!(
            "notify = \"{other}\" is unknown; use hook, requester or assignee"
        )),
    }
}

/// Types `set_field` values by the ticket form; an empty text clears an
/// optional field.
fn check_fields(actions: &mut Do, known: &Known<'_>, report: &mut dyn FnMut(String)) {
    let mut typed = std::collections::BTreeMap::new();
    for (name, value) in std::mem::take(&mut actions.set_field) {
        let Some(def) = known.fields.iter().find(|f| f.name == name) else {
            report(format!("set_field: the ticket form has no field '{name}'"));
            continue;
        };
        let text = crate::domain::change::field_text(&value);
        if text.trim().is_empty() {
            if def.required {
                report(format!(
                    "set_field: field '{name}' is required and cannot be cleared"
                ));
            } else {
                actions.clear_fields.push(name);
            }
            continue;
        }
        match def.parse_value(&text) {
            Ok(value) => {
                typed.insert(name, value);
            }
            Err(why) => report(format!("set_field: {why}")),
        }
    }
    actions.set_field = typed;
}
