//! The desk's configuration, `tix.toml` at the desk root
//! (docs/configuration.md).
//!
//! Parsing is strict: an unknown key or a bad value is an error naming the
//! key and the line, because a typo in a helpdesk's rules must never be
//! silently ignored. Only a syntax error stops at the first: each table is
//! read on its own ([`reader`]), so every unknown key and bad value is
//! reported, and every semantic problem (a status with an unknown category,
//! a routing rule naming an unknown department, ...) is collected, so
//! `tix doctor` shows them all at once, in line order. This module is pure:
//! the store hands it the text.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use raw::RawConfig;
use reader::Reader;

use crate::domain::fields::FieldDef;
use crate::domain::filter::View;
use crate::domain::hooks::Hook;
use crate::domain::lifecycle::Statuses;
use crate::domain::mail::MailSettings;
use crate::domain::routing::{AgentDef, Department, RoutingRule};
use crate::domain::rules::Rule;
use crate::domain::sla::Policy;
use crate::domain::triggers::{Macro, Trigger};

mod automation;
mod fields;
mod hooks;
mod mail;
mod people;
mod raw;
mod reader;
mod routing;
mod sla;
mod statuses;
mod triggers;
mod views;

/// The file name of the configuration at the desk root.
pub const FILE_NAME: &str = "tix.toml";

/// A parsed, checked `tix.toml`.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// `[desk]`.
    pub desk: DeskSection,
    /// Built-in plus custom statuses (`[[status]]`).
    pub statuses: Statuses,
    /// The ticket form (`[[field]]`).
    pub fields: Vec<FieldDef>,
    /// Teams (`[[department]]`).
    pub departments: Vec<Department>,
    /// People (`[[agent]]`).
    pub agents: Vec<AgentDef>,
    /// Rules applied when a ticket is created (`[[routing]]`).
    pub routing: Vec<RoutingRule>,
    /// Commands run after changes (`[[hook]]`).
    pub hooks: Vec<Hook>,
    /// Time-based rules (`[[automation]]`).
    pub automations: Vec<Rule>,
    /// Rules that fire on changes (`[[trigger]]`), in file order.
    pub triggers: Vec<Trigger>,
    /// Actions agents apply in one go (`[[macro]]`).
    pub macros: Vec<Macro>,
    /// SLA policies (`[[sla.policy]]`), in order: the first match applies.
    pub policies: Vec<Policy>,
    /// The mail channel (`[mail]`, `[[mailbox]]`).
    pub mail: MailSettings,
    /// Named filters (`[[view]]`).
    pub views: Vec<View>,
}

/// The `[desk]` section.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskSection {
    /// A name for the desk, shown in reports.
    #[serde(default)]
    pub name: Option<String>,
    /// Author of commits made by automation.
    #[serde(default)]
    pub automation: Identity,
}

/// A commit author.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// Name.
    pub name: String,
    /// Mail address.
    pub email: String,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            name: "tix-automation".to_owned(),
            email: "tix-automation@localhost".to_owned(),
        }
    }
}

/// One problem in `tix.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// What is wrong.
    pub message: String,
    /// The 1-based line, when known.
    pub line: Option<usize>,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "tix.toml line {line}: {}", self.message),
            None => write!(f, "tix.toml: {}", self.message),
        }
    }
}

/// Everything wrong with a `tix.toml`.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
#[error("{}{}", problems[0], if problems.len() > 1 { format!(" (and {} more problems)", problems.len() - 1) } else { String::new() })]
pub struct ConfigError {
    /// Every problem found; never empty.
    pub problems: Vec<ConfigProblem>,
}
impl Config {
    /// Parses and checks the text of `tix.toml` alone (a `holidays_file`
    /// is then refused: use [`Self::parse_in`]).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_in(text, &|_| Ok(None))
    }

    /// Parses and checks the text of `tix.toml`, reading the files it
    /// names (a calendar's `holidays_file`) through `files`; every problem
    /// is collected, ordered by line. Each section is built by its own
    /// module; later sections are checked against earlier ones (a routing
    /// rule against the departments, an automation against the agents).
    pub fn parse_in(text: &str, files: &ReadFile<'_>) -> Result<Self, ConfigError> {
        let (mut reader, root) = Reader::open(text)?;
        let raw = RawConfig::read(&mut reader, &root);
        let identity_span = reader::span_at(&root, &["desk", "automation"]).unwrap_or(0..0);
        let mut problem = |message: String, span: std::ops::Range<usize>| {
            reader.problem(message, span);
        };
        let identity = &raw.desk.automation;
        if let Err(why) = check_identity(&identity.name, &identity.email) {
            problem(format!("[desk] automation: {why}"), identity_span);
        }
        let no_tables = Vec::new();
        let broken_statuses = raw.broken.get("status").unwrap_or(&no_tables);
        let statuses = statuses::statuses(&raw.status, broken_statuses, &mut problem);
        let fields = fields::fields(raw.field, &mut problem);
        let people = people::people(&raw.department, raw.agent, &raw.broken, &mut problem);
        let routing = routing::routing(raw.routing, &people.department_names, &mut problem);
        let hooks = hooks::hooks(raw.hook, &mut problem);
        let mail = mail::mail(
            raw.mail,
            raw.mailbox,
            &people.department_names,
            files,
            &mut problem,
        );
        let automations =
            automation::automations(raw.automation, text, &statuses, &people, &mut problem);
        let known = triggers::Known {
            statuses: &statuses,
            people: &people,
            fields: &fields,
            files,
        };
        let triggers = triggers::triggers(raw.trigger, &known, &mut problem);
        let macros = triggers::macros(raw.macros, &known, &mut problem);
        let policies = sla::policies(
            &raw.calendar,
            raw.sla,
            files,
            !people.departments.is_empty(),
            &people.department_names,
            &mut problem,
        );
        let against = views::Defined {
            statuses: &statuses,
            form: &fields,
            form_broken: raw.broken.get("field").is_some_and(|b| !b.is_empty()),
            people: &people,
        };
        let views = views::views(raw.view, &root, &against, &mut problem);
        let problems = reader.into_problems();
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            policies,
            desk: raw.desk,
            statuses,
            fields,
            departments: people.departments,
            agents: people.agents,
            routing,
            hooks,
            automations,
            triggers,
            macros,
            mail,
            views,
        })
    }

    /// Looks up a custom field.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Looks up a department.
    pub fn department(&self, name: &str) -> Option<&Department> {
        self.departments.iter().find(|d| d.name == name)
    }

    /// Looks up the field `--field NAME=...` names, or says which fields
    /// the ticket form has.
    pub fn form_field(&self, name: &str) -> Result<&FieldDef, String> {
        crate::domain::fields::form_field(&self.fields, name)
    }

    /// Turns the `--field KEY=VALUE` pairs of `tix new` into typed values
    /// of the ticket form. Refuses unknown fields, empty values and values
    /// of the wrong type, naming what is allowed.
    pub fn new_field_values(
        &self,
        given: &[(String, String)],
    ) -> Result<BTreeMap<String, toml::Value>, String> {
        let mut values = BTreeMap::new();
        for (name, text) in given {
            let def = self.form_field(name)?;
            if text.trim().is_empty() {
                return Err(format!(
                    "field '{name}' has an empty value: give --field {name}=VALUE, or leave it out"
                ));
            }
            values.insert(name.clone(), def.parse_value(text)?);
        }
        Ok(values)
    }

    /// Turns the `--field KEY=VALUE` pairs of `tix edit` into typed values
    /// to set and fields to clear (an empty value clears an optional field).
    /// Refuses unknown fields and values of the wrong type, naming what is
    /// allowed.
    pub fn edit_field_values(
        &self,
        given: &[(String, String)],
    ) -> Result<(BTreeMap<String, toml::Value>, Vec<String>), String> {
        let mut values = BTreeMap::new();
        let mut clear = Vec::new();
        for (name, text) in given {
            let def = self.form_field(name)?;
            if text.trim().is_empty() {
                if def.required {
                    return Err(format!("field '{name}' is required and cannot be cleared"));
                }
                clear.push(name.clone());
            } else {
                values.insert(name.clone(), def.parse_value(text)?);
            }
        }
        Ok((values, clear))
    }

    /// Completes the fields of a new ticket: fills defaults, then refuses
    /// when a required field is still missing.
    pub fn complete_new_fields(
        &self,
        values: &mut BTreeMap<String, toml::Value>,
    ) -> Result<(), String> {
        for def in &self.fields {
            if !values.contains_key(&def.name)
                && let Some(default) = &def.default
            {
                values.insert(def.name.clone(), default.clone());
            }
        }
        let missing: Vec<&str> = self
            .fields
            .iter()
            .filter(|f| f.required && !values.contains_key(&f.name))
            .map(|f| f.name.as_str())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "missing required field{} {}: add --field {}=VALUE",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", "),
                missing[0]
            ))
        }
    }

    /// Resolves an agent given by name or address, whole or by any part
    /// that only one agent's name or address holds (`raj`, `Patel`, as ids
    /// go by a unique prefix), to the identity stored in tickets (the
    /// address). Without `[[agent]]` any name is accepted as it is.
    pub fn resolve_agent(&self, who: &str) -> Result<String, String> {
        if self.agents.is_empty() {
            return Ok(who.to_owned());
        }
        match self.find_agent(who)? {
            Some(agent) => Ok(agent.email.clone()),
            None => Err(format!(
                "no agent is called '{who}': tix.toml lists {}",
                listed(self.agents.iter())
            )),
        }
    }

    /// The agent of `[[agent]]` that `who` names: by whole name or address
    /// (any case), else the one agent whose name or address holds it.
    /// `None` when no agent does; refused, with their names, when several
    /// do.
    pub fn find_agent(&self, who: &str) -> Result<Option<&AgentDef>, String> {
        let whole =
            |a: &&AgentDef| a.email.eq_ignore_ascii_case(who) || a.name.eq_ignore_ascii_case(who);
        if let Some(agent) = self.agents.iter().find(whole) {
            return Ok(Some(agent));
        }
        let part = who.to_lowercase();
        let matching: Vec<&AgentDef> = (self.agents.iter())
            .filter(|a| {
                !part.is_empty()
                    && (a.email.to_lowercase().contains(&part)
                        || a.name.to_lowercase().contains(&part))
            })
            .collect();
        match matching[..] {
            [] => Ok(None),
            [agent] => Ok(Some(agent)),
            _ => Err(format!(
                "'{who}' could be {}: give more of the name or the address",
                listed(matching.into_iter())
            )),
        }
    }

    /// Checks a department name against `[[department]]` (any name is
    /// accepted when none are configured).
    pub fn check_department(&self, name: &str) -> Result<(), String> {
        if self.departments.is_empty() || self.department(name).is_some() {
            return Ok(());
        }
        let known: Vec<&str> = self.departments.iter().map(|d| d.name.as_str()).collect();
        Err(format!(
            "unknown department '{name}': tix.toml lists {}",
            known.join(", ")
        ))
    }
}

/// What a status id or a custom field name may hold, for messages.
pub const NAME_RULE: &str = "ASCII letters, digits, '-' and '_'";

/// Tells whether `name` may be a status id or a custom field name: one
/// rule for `tix.toml` and the command line, so that anything the config
/// accepts can be typed (`--field KEY=VALUE`, `tix status ID STATUS`) and
/// written as a bare key in ticket files. Text for people goes in `label`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Checks the name and address of a commit author or an agent: git
/// refuses an empty part or one with angle brackets, and an address
/// needs a local part and a domain.
fn check_identity(name: &str, email: &str) -> Result<(), String> {
    let bad = |c: char| c == '<' || c == '>' || c == '\n' || c == '\r';
    if name.trim().is_empty() {
        return Err("the name is empty".to_owned());
    }
    if name.contains(bad) {
        return Err(format!(
            "the name '{name}' contains '<', '>' or a line break"
        ));
    }
    let valid_email = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.contains(|c: char| bad(c) || c.is_whitespace());
    if !valid_email {
        return Err(format!(
            "'{email}' is not a mail address (like name@example.com)"
        ));
    }
    Ok(())
}

/// Reads a file of the desk's committed tree by its path from the desk
/// root: `Ok(None)` when there is no such file.
pub type ReadFile<'a> = dyn Fn(&str) -> Result<Option<String>, String> + 'a;

type Report<'a> = dyn FnMut(String, std::ops::Range<usize>) + 'a;

/// The commented `tix.toml` that `tix init` writes.
pub const DEFAULT_TEXT: &str = include_str!("../default_config.toml");

/// Agents as a message lists them: `Name <address>, ...`.
fn listed<'a>(agents: impl Iterator<Item = &'a AgentDef>) -> String {
    agents
        .map(|a| format!("{} <{}>", a.name, a.email))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
