//! `[[automation]]`: time-based rules, each checked on its own and all of
//! them together (docs/automation.md).

use super::Report;
use super::people::People;
use super::raw::Element;
use crate::domain::lifecycle::Statuses;
use crate::domain::rules::{OneOrMany, Rule};
use crate::model::line_at;

/// Builds the automation rules; names of agents become their addresses.
pub(super) fn automations(
    raw: Vec<Element<Rule>>,
    text: &str,
    statuses: &Statuses,
    people: &People,
    problem: &mut Report<'_>,
) -> Vec<Rule> {
    let mut automations: Vec<Rule> = Vec::new();
    let mut checked = Vec::new();
    for rule in raw {
        let span = rule.span;
        let rule = rule.value;
        if automations.iter().any(|r| r.name == rule.name) {
            problem(
                format!("automation '{}' is defined twice", rule.name),
                span.clone(),
            );
        }
        let check = rule.check(statuses);
        if let Err(message) = &check {
            problem(message.clone(), span.clone());
        }
        let mut rule = rule;
        let name = rule.name.clone();
        if !people.departments.is_empty() {
            for department in rule.when.department.iter().flat_map(OneOrMany::values) {
                if !people.department_names.contains(department) {
                    problem(
                        format!("automation '{name}' has unknown department '{department}'"),
                        span.clone(),
                    );
                }
            }
        }
        // Tickets store an agent's address: a name in the rule would
        // never match, or would assign a name. Names become addresses.
        let agent_slots = [
            ("when.assignee", rule.when.assignee.as_mut()),
            ("do.assign", rule.actions.assign.as_mut()),
        ];
        for (key, slot) in agent_slots {
            let Some(who) = slot else { continue };
            let keyword = match key {
                "when.assignee" => ["none", "any"].contains(&who.as_str()),
                _ => ["none", "round_robin", "least_loaded"].contains(&who.as_str()),
            };
            if keyword || people.agents.is_empty() {
                continue;
            }
            match people
                .agents
                .iter()
                .find(|a| a.email == *who || a.name == *who)
            {
                Some(agent) => agent.email.clone_into(who),
                None if people.agents_broken => {}
                None => problem(
                    format!("automation '{name}': {key} names unknown agent '{who}'"),
                    span.clone(),
                ),
            }
        }
        if check.is_ok() {
            checked.push((rule.clone(), span));
        }
        automations.push(rule);
    }
    let (valid, spans): (Vec<Rule>, Vec<_>) = checked.into_iter().unzip();
    let lines: Vec<usize> = spans.iter().map(|s| line_at(text, s.start)).collect();
    for (i, message) in
        crate::domain::rules::check_together(&valid, statuses, &people.agents, &lines)
    {
        problem(message, spans[i].clone());
    }
    automations
}
