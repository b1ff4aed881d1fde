//! The desk's configuration, `tix.toml` at the desk root (SPEC §5).
//!
//! Parsing is strict: an unknown key or a bad value is an error naming the
//! key and the line, because a typo in a helpdesk's rules should never be
//! silently ignored. This module is pure: the store hands it the text.

use serde::Deserialize;

use crate::lifecycle::{Category, StatusDef, Statuses};
use crate::model::line_at;

/// The file name of the configuration at the desk root.
pub const FILE_NAME: &str = "tix.toml";

/// A parsed `tix.toml`.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `[desk]`: what the desk is called.
    pub desk: DeskSection,
    /// `[automation]`: who automation commits are from.
    pub automation: AutomationSection,
    /// Built-in plus custom statuses.
    pub statuses: Statuses,
}

/// The `[desk]` section.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskSection {
    /// A name for the desk, shown in reports.
    #[serde(default)]
    pub name: Option<String>,
}

/// The `[automation]` section.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationSection {
    /// Author name of automation commits.
    #[serde(default = "default_automation_name")]
    pub name: String,
    /// Author email of automation commits.
    #[serde(default = "default_automation_email")]
    pub email: String,
}

impl Default for AutomationSection {
    fn default() -> Self {
        Self {
            name: default_automation_name(),
            email: default_automation_email(),
        }
    }
}

fn default_automation_name() -> String {
    "tix-automation".to_owned()
}

fn default_automation_email() -> String {
    "tix-automation@localhost".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    desk: DeskSection,
    #[serde(default)]
    automation: AutomationSection,
    #[serde(default)]
    status: Vec<RawStatus>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    id: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    customer_label: Option<String>,
    category: String,
    #[serde(default)]
    next: Option<Vec<String>>,
}

/// A problem in `tix.toml`.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("tix.toml{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ConfigError {
    /// What is wrong.
    pub message: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
}

impl Config {
    /// Parses and checks the text of `tix.toml`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| ConfigError {
            message: err.message().trim().to_owned(),
            line: err.span().map(|span| line_at(text, span.start)),
        })?;
        let mut statuses = Statuses::builtin();
        for status in raw.status {
            let line = find_line(text, &format!("\"{}\"", status.id));
            let category = Category::parse(&status.category).ok_or_else(|| ConfigError {
                message: format!(
                    "status '{}' has unknown category '{}': use new, open, waiting, on_hold, solved or closed",
                    status.id, status.category
                ),
                line,
            })?;
            let _ = status.customer_label;
            statuses.insert(StatusDef {
                label: status.label.unwrap_or_else(|| status.id.clone()),
                id: status.id,
                category,
                next: status.next,
            });
        }
        Ok(Self {
            desk: raw.desk,
            automation: raw.automation,
            statuses,
        })
    }
}

fn find_line(text: &str, needle: &str) -> Option<usize> {
    text.find(needle).map(|offset| line_at(text, offset))
}

/// The commented `tix.toml` that `tix init` writes.
pub const DEFAULT_TEXT: &str = r#"# tix.toml: the configuration of this help desk.
# Commit changes to this file: tix reads the committed version.
# Reference: docs/configuration.md

[desk]
# name = "Support"

[automation]
# Author of commits made by `tix autoclose` and `tix automate`.
name = "tix-automation"
email = "tix-automation@localhost"

# Custom statuses: each names one category
# (new | open | waiting | on_hold | solved | closed).
# [[status]]
# id = "waiting_on_vendor"
# label = "Waiting on vendor"
# category = "on_hold"
# next = ["open", "resolved"]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_parses() {
        let config = Config::parse(DEFAULT_TEXT).unwrap();
        assert_eq!(config.automation.name, "tix-automation");
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let err = Config::parse("[desk]\nname = \"x\"\ncolour = \"red\"\n").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("colour"), "{}", err.message);
    }

    #[test]
    fn custom_status_needs_a_known_category() {
        let text = "[[status]]\nid = \"vendor\"\ncategory = \"limbo\"\n";
        let err = Config::parse(text).unwrap_err();
        assert!(err.message.contains("limbo"), "{}", err.message);
        assert_eq!(err.line, Some(2));
        let ok = Config::parse("[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\n").unwrap();
        assert_eq!(ok.statuses.category("vendor"), Some(Category::OnHold));
    }
}
