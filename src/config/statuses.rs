//! `[[status]]`: custom statuses, checked against the lifecycle
//! (docs/configuration.md, "Statuses").

use std::collections::BTreeSet;

use super::raw::{Element, RawStatus};
use super::{NAME_RULE, Report, is_valid_name};
use crate::domain::lifecycle::{Category, StatusDef, Statuses};

/// Builds the built-in statuses plus the custom ones. A status whose table
/// failed to read still exists for references to it, so nothing naming it
/// is reported twice.
pub(super) fn statuses(
    raw: &[Element<RawStatus>],
    broken: &[toml::Table],
    problem: &mut Report<'_>,
) -> Statuses {
    let mut statuses = Statuses::builtin();
    let builtin: BTreeSet<String> = statuses.iter().map(|s| s.id.clone()).collect();
    let mut seen = BTreeSet::new();
    for status in raw.iter().map(|e| &e.value) {
        let id = status.id.get_ref();
        if !is_valid_name(id) {
            problem(
                format!("status id '{id}' must be {NAME_RULE}; put other text in its label"),
                status.id.span(),
            );
        }
        if !seen.insert(id.clone()) {
            problem(format!("status '{id}' is defined twice"), status.id.span());
        }
        let Some(category) = Category::parse(status.category.get_ref()) else {
            problem(
                format!(
                    "status '{id}' has unknown category '{}': use new, open, waiting, on_hold, solved or closed",
                    status.category.get_ref()
                ),
                status.category.span(),
            );
            continue;
        };
        if builtin.contains(id) && statuses.category(id) != Some(category) {
            problem(
                format!(
                    "built-in status '{id}' keeps its category ({})",
                    statuses.category(id).map_or("", |c| c.as_str())
                ),
                status.category.span(),
            );
            continue;
        }
        let _ = &status.customer_label;
        let label = status
            .label
            .clone()
            .or_else(|| statuses.get(id).map(|s| s.label.clone()))
            .unwrap_or_else(|| id.clone());
        statuses.insert(StatusDef {
            id: id.clone(),
            label,
            category,
            next: status.next.as_ref().map(|n| n.get_ref().clone()),
        });
    }
    // A status that failed to read still exists for references to it.
    for table in broken.iter() {
        let id = table.get("id").and_then(toml::Value::as_str);
        let category = table
            .get("category")
            .and_then(toml::Value::as_str)
            .and_then(Category::parse);
        if let (Some(id), Some(category)) = (id, category)
            && statuses.get(id).is_none()
        {
            statuses.insert(StatusDef {
                id: id.to_owned(),
                label: id.to_owned(),
                category,
                next: None,
            });
        }
    }
    for status in raw.iter().map(|e| &e.value) {
        let id = status.id.get_ref();
        let Some(next) = &status.next else { continue };
        let from = statuses.category(id);
        for target in next.get_ref() {
            // An entry the lifecycle would always refuse is a mistake.
            let never = match (from, statuses.category(target)) {
                (_, None) => Some(format!("lists unknown next status '{target}'")),
                _ if target == id => Some("lists itself in next".to_owned()),
                (Some(from), Some(to)) => crate::domain::lifecycle::status_limit(from, to)
                    .err()
                    .map(|why| format!("can never move to '{target}': {why}")),
                (None, Some(_)) => None,
            };
            if let Some(never) = never {
                problem(format!("status '{id}' {never}"), next.span());
            }
        }
    }
    statuses
}
