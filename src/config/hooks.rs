//! `[[hook]]`: commands run after changes (docs/configuration.md, "Hooks").

use super::Report;
use super::raw::{Element, RawHook};
use crate::domain::hooks::Hook;

/// Builds the hooks.
pub(super) fn hooks(raw: Vec<Element<RawHook>>, problem: &mut Report<'_>) -> Vec<Hook> {
    let mut hooks = Vec::new();
    for hook in raw.into_iter().map(|e| e.value) {
        if hook.on.get_ref().is_empty() {
            problem(
                "[[hook]] has `on = []`: it would never run; list its events".to_owned(),
                hook.on.span(),
            );
        }
        if hook
            .run
            .get_ref()
            .contains(|c: char| c.is_control() && c != '\n' && c != '\t')
        {
            problem(
                "[[hook]] `run` has a control character (an escape code, a carriage \
                 return): it could show one command and run another; write it plainly"
                    .to_owned(),
                hook.run.span(),
            );
        }
        if hook.run.get_ref().trim().is_empty() {
            problem(
                "[[hook]] has an empty `run`: give the shell command to run".to_owned(),
                hook.run.span(),
            );
        }
        let timeout = match &hook.timeout {
            None => Hook::DEFAULT_TIMEOUT,
            Some(text) => match crate::model::parse_duration_secs(text.get_ref()) {
                Some(secs) if secs > 0 => std::time::Duration::from_secs(secs.unsigned_abs()),
                _ => {
                    problem(
                        format!(
                            "[[hook]] `{}`: timeout '{}' is not a duration of at least 1s, like 10s or 2m",
                            hook.run.get_ref(),
                            text.get_ref()
                        ),
                        text.span(),
                    );
                    Hook::DEFAULT_TIMEOUT
                }
            },
        };
        hooks.push(Hook {
            on: hook.on.into_inner(),
            run: hook.run.into_inner(),
            timeout,
        });
    }
    hooks
}
