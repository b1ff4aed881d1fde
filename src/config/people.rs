//! `[[department]]` and `[[agent]]`: who works tickets, and in which team
//! (docs/configuration.md, "Departments and agents").

use std::collections::{BTreeMap, BTreeSet};

use super::raw::{Element, RawAgent, broken_names};
use super::{Report, check_identity};
use crate::domain::routing::{AgentDef, Assignment, Department};

/// The departments and agents of a desk, checked against each other.
pub(super) struct People {
    pub(super) departments: Vec<Department>,
    pub(super) agents: Vec<AgentDef>,
    /// Every department name, those whose table failed to read too (a
    /// reference to one of those is not reported a second time).
    pub(super) department_names: BTreeSet<String>,
    /// Whether an `[[agent]]` table failed to read (references to agents
    /// are then not checked).
    pub(super) agents_broken: bool,
}

/// Builds the departments and agents.
pub(super) fn people(
    raw_departments: &[Element<Department>],
    raw_agents: Vec<Element<RawAgent>>,
    broken: &BTreeMap<&'static str, Vec<toml::Table>>,
    problem: &mut Report<'_>,
) -> People {
    let departments: Vec<Department> = raw_departments.iter().map(|d| d.value.clone()).collect();
    let broken_departments = broken_names(broken, "department", "name");
    let department_names: BTreeSet<String> = departments
        .iter()
        .map(|d| d.name.clone())
        .chain(broken_departments)
        .collect();
    for (i, department) in raw_departments.iter().enumerate() {
        if departments[..i]
            .iter()
            .any(|d| d.name == department.value.name)
        {
            problem(
                format!("department '{}' is defined twice", department.value.name),
                department.span.clone(),
            );
        }
    }

    let mut agents = Vec::new();
    for agent in raw_agents.into_iter().map(|e| e.value) {
        for department in &agent.departments {
            if !department_names.contains(department) {
                problem(
                    format!(
                        "agent '{}' names unknown department '{department}'",
                        agent.email.get_ref()
                    ),
                    agent.email.span(),
                );
            }
        }
        if let Err(why) = check_identity(&agent.name, agent.email.get_ref()) {
            problem(
                format!("agent '{}': {why}", agent.email.get_ref()),
                agent.email.span(),
            );
        }
        if agents
            .iter()
            .any(|a: &AgentDef| a.email == *agent.email.get_ref())
        {
            problem(
                format!("agent '{}' is defined twice", agent.email.get_ref()),
                agent.email.span(),
            );
        } else if agents.iter().any(|a: &AgentDef| a.name == agent.name) {
            problem(
                format!(
                    "agent name '{}' is used twice: `--assign` could not tell them apart",
                    agent.name
                ),
                agent.email.span(),
            );
        }
        agents.push(AgentDef {
            name: agent.name,
            email: agent.email.into_inner(),
            departments: agent.departments,
        });
    }
    let agents_broken = broken.get("agent").is_some_and(|b| !b.is_empty());
    for department in raw_departments {
        let department_ref = &department.value;
        if department_ref.assignment != Assignment::None
            && !agents_broken
            && !agents
                .iter()
                .any(|a| a.departments.contains(&department_ref.name))
        {
            problem(
                format!(
                    "department '{}' assigns tickets but has no agents",
                    department_ref.name
                ),
                department.span.clone(),
            );
        }
    }
    People {
        departments,
        agents,
        department_names,
        agents_broken,
    }
}
