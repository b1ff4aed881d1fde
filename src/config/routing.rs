//! `[[routing]]`: rules applied when a ticket is created
//! (docs/configuration.md, "Routing").

use std::collections::BTreeSet;

use toml::Spanned;

use super::Report;
use super::raw::{Element, RawRouting};
use crate::domain::routing::{RouteSet, RoutingRule};

/// Builds the routing rules; departments must be among `department_names`.
pub(super) fn routing(
    raw: Vec<Element<RawRouting>>,
    department_names: &BTreeSet<String>,
    problem: &mut Report<'_>,
) -> Vec<RoutingRule> {
    let mut routing = Vec::new();
    for (i, rule) in raw.into_iter().map(|e| e.value).enumerate() {
        let label = match &rule.name {
            Some(name) => format!("routing rule '{name}'"),
            None => format!("routing rule {}", i + 1),
        };
        let name = rule
            .name
            .unwrap_or_else(|| format!("routing rule {}", i + 1));
        let span = rule.set.span();
        let set = rule.set.into_inner();
        if let Some(department) = &set.department
            && !department_names.contains(department)
        {
            problem(
                format!("{label} sets unknown department '{department}'"),
                span.clone(),
            );
        }
        for tag in &set.add_tags {
            if let Err(err) = crate::domain::change::check_tag(tag) {
                problem(format!("{label}: add_tags: {err}"), span.clone());
            }
        }
        let when_span = rule.when.as_ref().map_or(span.clone(), Spanned::span);
        let when = rule.when.map(Spanned::into_inner).unwrap_or_default();
        for (key, words) in [
            ("subject_matches", &when.subject_matches),
            ("body_matches", &when.body_matches),
        ] {
            if words.iter().any(|w| w.trim().is_empty()) {
                problem(
                    format!("{label}: {key} has an empty word, which would never match"),
                    when_span.clone(),
                );
            }
        }
        for domain in &when.customer_domain {
            let bare = domain.trim().trim_start_matches('@');
            if bare.is_empty() || bare.contains(|c: char| c == '@' || c.is_whitespace()) {
                problem(
                    format!(
                        "{label}: customer_domain '{domain}' is not a mail domain (like bank.example)"
                    ),
                    when_span.clone(),
                );
            }
        }
        if set.department.is_none() && set.priority.is_none() && set.add_tags.is_empty() {
            problem(
                format!("{label} sets nothing: give department, priority or add_tags"),
                span,
            );
        }
        routing.push(RoutingRule {
            name,
            when,
            set: RouteSet {
                department: set.department,
                priority: set.priority,
                add_tags: set.add_tags,
            },
        });
    }
    routing
}
