//! `[[field]]`: the ticket form (docs/configuration.md, "Custom fields").

use std::collections::BTreeSet;

use super::raw::{Element, RawField};
use super::{NAME_RULE, Report, is_valid_name};
use crate::domain::fields::{FieldDef, FieldKind};

/// Builds the ticket form.
pub(super) fn fields(raw: Vec<Element<RawField>>, problem: &mut Report<'_>) -> Vec<FieldDef> {
    let mut fields = Vec::new();
    let mut names = BTreeSet::new();
    for field in raw.into_iter().map(|e| e.value) {
        let name = field.name.get_ref().clone();
        if !is_valid_name(&name) {
            problem(
                format!("field name '{name}' must be {NAME_RULE}; put other text in its label"),
                field.name.span(),
            );
        }
        if !names.insert(name.clone()) {
            problem(
                format!("field '{name}' is defined twice"),
                field.name.span(),
            );
        }
        if field.kind == FieldKind::Choice && field.choices.is_empty() {
            problem(
                format!("choice field '{name}' needs choices = [...]"),
                field.name.span(),
            );
        }
        let mut distinct = BTreeSet::new();
        for choice in &field.choices {
            if !distinct.insert(choice.as_str()) {
                problem(
                    format!("choice field '{name}' lists '{choice}' twice"),
                    field.name.span(),
                );
            }
        }
        if field.kind != FieldKind::Choice && !field.choices.is_empty() {
            problem(
                format!("field '{name}' has choices but is not type = \"choice\""),
                field.name.span(),
            );
        }
        let def = FieldDef {
            name,
            label: field.label,
            kind: field.kind,
            required: field.required,
            choices: field.choices,
            default: field.default.as_ref().map(|d| d.get_ref().clone()),
        };
        if let Some(default) = &field.default
            && let Err(e) = def.check_value(default.get_ref())
        {
            problem(format!("default: {e}"), default.span());
        }
        fields.push(def);
    }
    fields
}
