//! The desk's configuration, `tix.toml` at the desk root (SPEC §5).
//!
//! Parsing is strict: an unknown key or a bad value is an error naming the
//! key and the line, because a typo in a helpdesk's rules must never be
//! silently ignored. Only a syntax error stops at the first: each table is
//! read on its own ([`reader`]), so every unknown key and bad value is
//! reported, and every semantic problem (a status with an unknown category,
//! a routing rule naming an unknown department, ...) is collected, so
//! `tix doctor` shows them all at once, in line order. This module is pure:
//! the store hands it the text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use reader::{Element, Reader};

use crate::domain::calendar::{self, Calendar, Hours};
use crate::domain::fields::{FieldDef, FieldKind};
use crate::domain::hooks::{Hook, HookEvent};
use crate::domain::lifecycle::{Category, StatusDef, Statuses};
use crate::domain::routing::{AgentDef, Assignment, Department, RouteSet, RouteWhen, RoutingRule};
use crate::domain::rules::{OneOrMany, Rule};
use crate::domain::sla::{Match, Policy, Targets, WarnBefore};
use crate::model::{Priority, line_at};

mod reader;

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
    /// SLA policies (`[[sla.policy]]`), in order: the first match applies.
    pub policies: Vec<Policy>,
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

/// The sections of `tix.toml`, each table read on its own (see
/// [`reader`]); tables that failed to read are left out.
#[derive(Default)]
struct RawConfig {
    desk: DeskSection,
    status: Vec<Element<RawStatus>>,
    field: Vec<Element<RawField>>,
    department: Vec<Element<Department>>,
    agent: Vec<Element<RawAgent>>,
    routing: Vec<Element<RawRouting>>,
    hook: Vec<Element<RawHook>>,
    automation: Vec<Element<Rule>>,
    calendar: BTreeMap<String, Spanned<RawCalendar>>,
    sla: RawSla,
    /// Tables that failed to read, by section: what they define still
    /// counts, so a reference to it is not reported a second time.
    broken: BTreeMap<&'static str, Vec<toml::Table>>,
}

impl RawConfig {
    /// The top-level keys of `tix.toml`.
    const SECTIONS: [&'static str; 10] = [
        "desk",
        "status",
        "field",
        "department",
        "agent",
        "routing",
        "hook",
        "automation",
        "calendar",
        "sla",
    ];

    fn read(reader: &mut Reader<'_>, root: &DeTable<'_>) -> Self {
        let mut raw = Self::default();
        for (key, value) in root {
            let Some(section) = Self::SECTIONS
                .into_iter()
                .find(|s| *s == key.get_ref().as_ref())
            else {
                reader.problem(
                    format!(
                        "unknown key `{}` at the top level; use {}",
                        key.get_ref(),
                        Self::SECTIONS.join(", ")
                    ),
                    key.span(),
                );
                continue;
            };
            let broken = match section {
                "desk" => {
                    raw.desk = reader.table(value, "[desk]").unwrap_or_default();
                    Vec::new()
                }
                "status" => read_into(&mut raw.status, reader.array(value, section, Some("id"))),
                "field" => read_into(&mut raw.field, reader.array(value, section, Some("name"))),
                "department" => read_into(
                    &mut raw.department,
                    reader.array(value, section, Some("name")),
                ),
                "agent" => read_into(&mut raw.agent, reader.array(value, section, Some("email"))),
                "routing" => {
                    read_into(&mut raw.routing, reader.array(value, section, Some("name")))
                }
                "hook" => read_into(&mut raw.hook, reader.array(value, section, None)),
                "automation" => read_into(
                    &mut raw.automation,
                    reader.array(value, section, Some("name")),
                ),
                "calendar" => {
                    raw.calendar = read_calendars(reader, value);
                    Vec::new()
                }
                _ => {
                    raw.sla = read_sla(reader, value);
                    Vec::new()
                }
            };
            raw.broken.insert(section, broken);
        }
        raw
    }
}

/// The string values of `key` in the tables of `section` that failed to
/// read.
fn broken_names(
    broken: &BTreeMap<&'static str, Vec<toml::Table>>,
    section: &str,
    key: &str,
) -> Vec<String> {
    broken
        .get(section)
        .into_iter()
        .flatten()
        .filter_map(|table| table.get(key)?.as_str().map(str::to_owned))
        .collect()
}

fn read_into<T>(
    slot: &mut Vec<Element<T>>,
    (read, broken): (Vec<Element<T>>, Vec<toml::Table>),
) -> Vec<toml::Table> {
    *slot = read;
    broken
}

/// `[calendar.NAME]` tables, each read on its own.
fn read_calendars(
    reader: &mut Reader<'_>,
    value: &Spanned<DeValue<'_>>,
) -> BTreeMap<String, Spanned<RawCalendar>> {
    let mut calendars = BTreeMap::new();
    let Some(table) = value.get_ref().as_table() else {
        reader.problem(
            "`calendar` must be a table of calendars, written [calendar.NAME]".to_owned(),
            value.span(),
        );
        return calendars;
    };
    for (name, value) in table {
        let context = format!("[calendar.{}]", name.get_ref());
        if let Some(calendar) = reader.table::<RawCalendar>(value, &context) {
            calendars.insert(
                name.get_ref().to_string(),
                Spanned::new(value.span(), calendar),
            );
        }
    }
    calendars
}

/// `[sla]`: its own keys, then each `[[sla.policy]]` on its own.
fn read_sla(reader: &mut Reader<'_>, value: &Spanned<DeValue<'_>>) -> RawSla {
    let Some(table) = value.get_ref().as_table() else {
        reader.problem("[sla] must be a table".to_owned(), value.span());
        return RawSla::default();
    };
    let mut rest = table.clone();
    let policies = rest.remove("policy");
    let rest = Spanned::new(value.span(), DeValue::Table(rest));
    let mut sla: RawSla = reader.table(&rest, "[sla]").unwrap_or_default();
    if let Some(policies) = policies {
        let (read, _) = reader.array::<RawPolicy>(&policies, "sla.policy", Some("name"));
        sla.policy = read
            .into_iter()
            .map(|e| Spanned::new(e.span, e.value))
            .collect();
    }
    sla
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSla {
    #[serde(default)]
    policy: Vec<Spanned<RawPolicy>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    #[serde(default, rename = "match")]
    matches: RawMatch,
    #[serde(default)]
    calendar: Option<Spanned<String>>,
    #[serde(default)]
    pause_resolution_in: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    warn_before: Option<Spanned<String>>,
    #[serde(default)]
    targets: BTreeMap<String, Spanned<RawTargets>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    #[serde(default)]
    department: Vec<String>,
    #[serde(default)]
    priority: Vec<Priority>,
    #[serde(default)]
    tags_any: Vec<String>,
    #[serde(default)]
    customer_domain: Vec<String>,
    #[serde(default)]
    field: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    first_reply: Option<Spanned<String>>,
    next_reply: Option<Spanned<String>>,
    resolution: Option<Spanned<String>>,
    first_assign: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    timezone: Spanned<String>,
    #[serde(default)]
    mon: Vec<Spanned<String>>,
    #[serde(default)]
    tue: Vec<Spanned<String>>,
    #[serde(default)]
    wed: Vec<Spanned<String>>,
    #[serde(default)]
    thu: Vec<Spanned<String>>,
    #[serde(default)]
    fri: Vec<Spanned<String>>,
    #[serde(default)]
    sat: Vec<Spanned<String>>,
    #[serde(default)]
    sun: Vec<Spanned<String>>,
    /// Dates (`"2025-12-25"`) or tables `{ date, hours }`, read by hand so
    /// each mistake gets its own message and line.
    #[serde(default)]
    holidays: Vec<Spanned<toml::Value>>,
    #[serde(default)]
    holidays_file: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatus {
    id: Spanned<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    customer_label: Option<String>,
    category: Spanned<String>,
    #[serde(default)]
    next: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Spanned<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(rename = "type")]
    kind: FieldKind,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    choices: Vec<String>,
    #[serde(default)]
    default: Option<Spanned<toml::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    name: String,
    email: Spanned<String>,
    #[serde(default)]
    departments: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHook {
    on: Spanned<Vec<HookEvent>>,
    run: Spanned<String>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    when: Option<Spanned<RouteWhen>>,
    set: Spanned<RawRouteSet>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouteSet {
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    add_tags: Vec<String>,
}

impl Config {
    /// Parses and checks the text of `tix.toml` alone (a `holidays_file`
    /// is then refused: use [`Self::parse_in`]).
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        Self::parse_in(text, &|_| Ok(None))
    }

    /// Parses and checks the text of `tix.toml`, reading the files it
    /// names (a calendar's `holidays_file`) through `files`; every problem
    /// is collected, ordered by line.
    pub fn parse_in(text: &str, files: &ReadFile<'_>) -> Result<Self, ConfigError> {
        let (mut reader, root) = Reader::open(text)?;
        let raw = RawConfig::read(&mut reader, &root);
        let mut problem = |message: String, span: std::ops::Range<usize>| {
            reader.problem(message, span);
        };

        let identity = &raw.desk.automation;
        if let Err(why) = check_identity(&identity.name, &identity.email) {
            let span = reader::span_at(&root, &["desk", "automation"]).unwrap_or(0..0);
            problem(format!("[desk] automation: {why}"), span);
        }

        let mut statuses = Statuses::builtin();
        let builtin: BTreeSet<String> = statuses.iter().map(|s| s.id.clone()).collect();
        let mut seen = BTreeSet::new();
        for status in raw.status.iter().map(|e| &e.value) {
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
        for table in raw.broken.get("status").into_iter().flatten() {
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
        for status in raw.status.iter().map(|e| &e.value) {
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

        let mut fields = Vec::new();
        let mut names = BTreeSet::new();
        for field in raw.field.into_iter().map(|e| e.value) {
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

        let departments: Vec<Department> = raw.department.iter().map(|d| d.value.clone()).collect();
        let broken_departments = broken_names(&raw.broken, "department", "name");
        let department_names: BTreeSet<&str> = departments
            .iter()
            .map(|d| d.name.as_str())
            .chain(broken_departments.iter().map(String::as_str))
            .collect();
        for (i, department) in raw.department.iter().enumerate() {
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
        for agent in raw.agent.into_iter().map(|e| e.value) {
            for department in &agent.departments {
                if !department_names.contains(department.as_str()) {
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
        let agents_broken = raw.broken.get("agent").is_some_and(|b| !b.is_empty());
        for department in &raw.department {
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

        let mut routing = Vec::new();
        for (i, rule) in raw.routing.into_iter().map(|e| e.value).enumerate() {
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
                && !department_names.contains(department.as_str())
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

        let mut hooks = Vec::new();
        for hook in raw.hook.into_iter().map(|e| e.value) {
            if hook.on.get_ref().is_empty() {
                problem(
                    "[[hook]] has `on = []`: it would never run; list its events".to_owned(),
                    hook.on.span(),
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

        let mut automations: Vec<Rule> = Vec::new();
        let mut checked = Vec::new();
        for rule in raw.automation {
            let span = rule.span;
            let rule = rule.value;
            if automations.iter().any(|r| r.name == rule.name) {
                problem(
                    format!("automation '{}' is defined twice", rule.name),
                    span.clone(),
                );
            }
            let check = rule.check(&statuses);
            if let Err(message) = &check {
                problem(message.clone(), span.clone());
            }
            let mut rule = rule;
            let name = rule.name.clone();
            if !departments.is_empty() {
                for department in rule.when.department.iter().flat_map(OneOrMany::values) {
                    if !department_names.contains(department) {
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
                if keyword || agents.is_empty() {
                    continue;
                }
                match agents.iter().find(|a| a.email == *who || a.name == *who) {
                    Some(agent) => agent.email.clone_into(who),
                    None if agents_broken => {}
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
        for (i, message) in crate::domain::rules::check_together(&valid, &statuses, &agents, &lines)
        {
            problem(message, spans[i].clone());
        }

        let mut calendars: BTreeMap<String, Calendar> = BTreeMap::new();
        let mut broken = BTreeSet::new();
        for (name, raw) in &raw.calendar {
            match build_calendar(name, raw, files, &mut problem) {
                Some(cal) => {
                    calendars.insert(name.clone(), cal);
                }
                None => {
                    broken.insert(name.clone());
                }
            }
        }
        calendars.insert(calendar::ALWAYS.to_owned(), Calendar::always());
        let mut policy_spans: BTreeMap<String, std::ops::Range<usize>> = BTreeMap::new();
        for policy in &raw.sla.policy {
            policy_spans
                .entry(policy.get_ref().name.clone())
                .or_insert_with(|| policy.span());
        }
        let mut policies = Vec::new();
        for policy in raw.sla.policy {
            policies.extend(build_policy(policy, &calendars, &broken, &mut problem));
        }

        if !departments.is_empty() {
            for policy in &policies {
                for department in &policy.matches.department {
                    if !department_names.contains(department.as_str()) {
                        problem(
                            format!(
                                "SLA policy '{}' matches unknown department '{department}'",
                                policy.name
                            ),
                            policy_spans.get(&policy.name).cloned().unwrap_or(0..0),
                        );
                    }
                }
            }
        }

        let problems = reader.into_problems();
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Self {
            policies,
            desk: raw.desk,
            statuses,
            fields,
            departments,
            agents,
            routing,
            hooks,
            automations,
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
        self.field(name).ok_or_else(|| {
            let known: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
            if known.is_empty() {
                format!(
                    "unknown field '{name}': the ticket form has no fields; define [[field]] in tix.toml"
                )
            } else {
                format!(
                    "unknown field '{name}': the ticket form has {}",
                    known.join(", ")
                )
            }
        })
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

    /// Resolves an agent given by name or address to the identity stored
    /// in tickets (the address). Without `[[agent]]` any name is accepted.
    pub fn resolve_agent(&self, who: &str) -> Result<String, String> {
        if self.agents.is_empty() {
            return Ok(who.to_owned());
        }
        self.agents
            .iter()
            .find(|a| a.email == who || a.name == who)
            .map(|a| a.email.clone())
            .ok_or_else(|| {
                let known: Vec<&str> = self.agents.iter().map(|a| a.email.as_str()).collect();
                format!("unknown agent '{who}': tix.toml lists {}", known.join(", "))
            })
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

/// Builds one `[calendar.NAME]`, reporting every problem with the line of
/// the offending value; `None` when there was any.
fn build_calendar(
    name: &str,
    raw: &Spanned<RawCalendar>,
    files: &ReadFile<'_>,
    problem: &mut Report<'_>,
) -> Option<Calendar> {
    let table = raw.span();
    let raw = raw.get_ref();
    let ok = std::cell::Cell::new(true);
    let mut fail = |message: String, span: std::ops::Range<usize>| {
        ok.set(false);
        problem(format!("calendar '{name}': {message}"), span);
    };
    if name == calendar::ALWAYS {
        fail(
            "the name is taken by the built-in always-open calendar".into(),
            table.clone(),
        );
    }
    let lists = [
        &raw.mon, &raw.tue, &raw.wed, &raw.thu, &raw.fri, &raw.sat, &raw.sun,
    ];
    let mut week: [Vec<Hours>; 7] = Default::default();
    for ((list, day), hours) in lists.iter().zip(calendar::WEEKDAYS).zip(&mut week) {
        let spans: Vec<_> = list.iter().map(Spanned::span).collect();
        *hours = day_hours(
            list.iter().map(|h| (h.get_ref().as_str(), h.span())),
            day,
            &mut fail,
        );
        if let Some((a, b)) = Hours::overlap(hours) {
            fail(
                format!("{day}: '{}' and '{}' overlap", hours[a], hours[b]),
                spans[b].clone(),
            );
        }
    }
    let mut holidays: BTreeMap<chrono::NaiveDate, Vec<Hours>> = BTreeMap::new();
    for holiday in &raw.holidays {
        let span = holiday.span();
        let Some((date, hours)) = holiday_entry(holiday.get_ref(), span.clone(), &mut fail) else {
            continue;
        };
        if let Some((a, b)) = Hours::overlap(&hours) {
            fail(
                format!("holiday {date}: '{}' and '{}' overlap", hours[a], hours[b]),
                span.clone(),
            );
        }
        if holidays.insert(date, hours).is_some() {
            fail(format!("holiday {date} is listed twice"), span);
        }
    }
    if let Some(path) = &raw.holidays_file {
        let span = path.span();
        let path = path.get_ref();
        match files(path) {
            Ok(Some(text)) => match calendar::ical_dates(&text) {
                // A date listed in tix.toml keeps its hours.
                Ok(dates) => dates.into_iter().for_each(|d| {
                    holidays.entry(d).or_default();
                }),
                Err(why) => fail(format!("holidays_file '{path}': {why}"), span),
            },
            Ok(None) => fail(
                format!("holidays_file '{path}' is not a committed file of the desk"),
                span,
            ),
            Err(why) => fail(format!("holidays_file '{path}': {why}"), span),
        }
    }
    if !ok.get() {
        return None;
    }
    match Calendar::new(raw.timezone.get_ref(), week, holidays) {
        Ok(cal) => Some(cal),
        Err(err @ calendar::Error::UnknownZone(_)) => {
            fail(err.to_string(), raw.timezone.span());
            None
        }
        Err(err) => {
            fail(err.to_string(), table);
            None
        }
    }
}

/// Parses one day's intervals, reporting each bad one.
fn day_hours<'t>(
    list: impl Iterator<Item = (&'t str, std::ops::Range<usize>)>,
    day: &str,
    fail: &mut Report<'_>,
) -> Vec<Hours> {
    list.filter_map(|(text, span)| match Hours::parse(text) {
        Ok(h) => Some(h),
        Err(err) => {
            fail(format!("{day}: {err}"), span);
            None
        }
    })
    .collect()
}

/// Reads one `holidays` entry: `"2025-12-25"`, a TOML date, or
/// `{ date = "2025-12-24", hours = ["09:00-13:00"] }` (no hours = closed).
fn holiday_entry(
    value: &toml::Value,
    span: std::ops::Range<usize>,
    fail: &mut Report<'_>,
) -> Option<(chrono::NaiveDate, Vec<Hours>)> {
    let date = |value: &toml::Value, fail: &mut Report<'_>| {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => other.to_string(),
        };
        let parsed = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
        if parsed.is_none() {
            fail(
                format!("holiday {text} is not a date (YYYY-MM-DD)"),
                span.clone(),
            );
        }
        parsed
    };
    let toml::Value::Table(table) = value else {
        return date(value, fail).map(|d| (d, Vec::new()));
    };
    let mut ok = true;
    for key in table
        .keys()
        .filter(|k| !matches!(k.as_str(), "date" | "hours"))
    {
        ok = false;
        fail(
            format!("holiday: unknown key '{key}' (use date and hours)"),
            span.clone(),
        );
    }
    let Some(day) = table.get("date") else {
        fail("holiday: a table needs `date`".into(), span);
        return None;
    };
    let day = date(day, fail);
    let hours = match table.get("hours") {
        None => Vec::new(),
        Some(toml::Value::Array(list)) => {
            let mut texts = Vec::new();
            for item in list {
                match item.as_str() {
                    Some(text) => texts.push(text),
                    None => {
                        ok = false;
                        fail(
                            format!(
                                "holiday: hours must be strings like \"09:00-13:00\", not {item}"
                            ),
                            span.clone(),
                        );
                    }
                }
            }
            let before = texts.len();
            let hours = day_hours(
                texts.into_iter().map(|t| (t, span.clone())),
                "holiday",
                fail,
            );
            ok &= hours.len() == before;
            hours
        }
        Some(other) => {
            fail(
                format!("holiday: hours must be a list like [\"09:00-13:00\"], not {other}"),
                span,
            );
            return None;
        }
    };
    day.filter(|_| ok).map(|d| (d, hours))
}

/// Builds one `[[sla.policy]]`, reporting every problem with the line of
/// the offending value; `None` when there was any. A policy naming a
/// calendar in `broken` (one that was already reported) adds no problem.
fn build_policy(
    policy: Spanned<RawPolicy>,
    calendars: &BTreeMap<String, Calendar>,
    broken: &BTreeSet<String>,
    problem: &mut Report<'_>,
) -> Option<Policy> {
    let raw = policy.into_inner();
    let name = raw.name;
    let ok = std::cell::Cell::new(true);
    let mut fail = |message: String, span: std::ops::Range<usize>| {
        ok.set(false);
        problem(format!("SLA policy '{name}': {message}"), span);
    };
    let calendar = match &raw.calendar {
        None => Some(Calendar::always()),
        Some(given) => {
            let cal = calendars.get(given.get_ref()).cloned();
            if cal.is_none() && !broken.contains(given.get_ref()) {
                let mut known: Vec<&str> = calendars.keys().map(String::as_str).collect();
                known.extend(broken.iter().map(String::as_str));
                known.sort_unstable();
                fail(
                    format!(
                        "unknown calendar '{}' (tix.toml defines {})",
                        given.get_ref(),
                        known.join(", ")
                    ),
                    given.span(),
                );
            }
            cal
        }
    };
    let pause: Vec<Category> = match &raw.pause_resolution_in {
        None => vec![Category::Waiting, Category::OnHold],
        Some(list) => list
            .iter()
            .filter_map(|c| {
                let category = Category::parse(c.get_ref());
                if category.is_none() {
                    fail(
                        format!(
                            "unknown category '{}' in pause_resolution_in (use new, open, waiting or on_hold)",
                            c.get_ref()
                        ),
                        c.span(),
                    );
                }
                category
            })
            .collect(),
    };
    let warn_before = raw.warn_before.as_ref().and_then(|warn| {
        let parsed = WarnBefore::parse(warn.get_ref());
        if parsed.is_none() {
            fail(
                format!(
                    "warn_before '{}' is not a duration like 30m or a share like 20%",
                    warn.get_ref()
                ),
                warn.span(),
            );
        }
        parsed
    });
    let mut duration = |text: &Option<Spanned<String>>| {
        let text = text.as_ref()?;
        let secs = crate::model::parse_duration_secs(text.get_ref());
        if secs.is_none() {
            fail(
                format!("'{}' is not a duration like 8h or 3d", text.get_ref()),
                text.span(),
            );
        }
        secs
    };
    let mut targets = BTreeMap::new();
    let mut bad_priorities = Vec::new();
    for (priority, raw_targets) in &raw.targets {
        let span = raw_targets.span();
        let t = raw_targets.get_ref();
        let parsed = Targets {
            first_reply: duration(&t.first_reply),
            next_reply: duration(&t.next_reply),
            resolution: duration(&t.resolution),
            first_assign: duration(&t.first_assign),
        };
        match priority.parse::<Priority>() {
            Ok(priority) => {
                targets.insert(priority, parsed);
            }
            Err(e) => bad_priorities.push((e, span)),
        }
    }
    for (message, span) in bad_priorities {
        fail(message, span);
    }
    let m = raw.matches;
    let matches = Match {
        department: m.department,
        priority: m.priority,
        tags_any: m.tags_any,
        customer_domain: m.customer_domain,
        field: m.field,
    };
    let calendar = calendar.filter(|_| ok.get())?;
    Some(Policy {
        name,
        matches,
        calendar,
        pause,
        warn_before,
        targets,
    })
}

/// The commented `tix.toml` that `tix init` writes.
pub const DEFAULT_TEXT: &str = include_str!("default_config.toml");

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<ConfigProblem> {
        Config::parse(text).unwrap_err().problems
    }

    fn lines_and_messages(text: &str) -> Vec<(usize, String)> {
        problems(text)
            .into_iter()
            .map(|p| (p.line.unwrap_or(0), p.message))
            .collect()
    }

    #[test]
    fn holidays_without_hours_are_closed_and_intervals_may_come_in_any_order() {
        let text = "[calendar.office]\ntimezone = \"UTC\"\nmon = [\"13:00-17:00\", \"09:00-12:00\"]\nholidays = [\"2025-12-25\", { date = \"2025-12-24\" }, 2026-01-01, { date = \"2025-12-31\", hours = [\"09:00-12:00\"] }]\n\n[[sla.policy]]\nname = \"p\"\ncalendar = \"office\"\n";
        let config = Config::parse(text).unwrap();
        assert_eq!(config.policies[0].name, "p");
    }

    #[test]
    fn calendar_mistakes_are_each_reported_at_their_own_line() {
        let text = "[calendar.office]\ntimezone = \"Mars/Olympus\"\nmon = [\"09:00-17:00\"]\n\n[calendar.shop]\ntimezone = \"UTC\"\nmon = [\n  \"09:00-12:00\",\n  \"11:00-13:00\",\n]\ntue = [\"18:00-09:00\"]\nholidays = [{ date = \"2025-12-24\", hour = [\"09:00-12:00\"] }]\n\n[calendar.never]\ntimezone = \"UTC\"\n";
        // Problems come in line order.
        assert_eq!(
            lines_and_messages(text),
            [
                (
                    2,
                    "calendar 'office': unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Berlin)"
                        .to_owned()
                ),
                (
                    9,
                    "calendar 'shop': mon: '09:00-12:00' and '11:00-13:00' overlap".to_owned()
                ),
                (
                    11,
                    "calendar 'shop': tue: '18:00-09:00' ends before it starts (an interval cannot cross midnight; split it)"
                        .to_owned()
                ),
                (
                    12,
                    "calendar 'shop': holiday: unknown key 'hour' (use date and hours)".to_owned()
                ),
                (
                    14,
                    "calendar 'never': it has no open hours on any day, so nothing could ever be due"
                        .to_owned()
                ),
            ]
        );
    }

    #[test]
    fn every_policy_problem_is_reported_at_its_key_without_follow_on_errors() {
        let text = "[calendar.office]\ntimezone = \"Nowhere/City\"\nmon = [\"09:00-17:00\"]\n\n[[sla.policy]]\nname = \"p\"\ncalendar = \"office\"\npause_resolution_in = [\"waiting\", \"lunch\"]\n[sla.policy.targets]\nnormal = { first_reply = \"1x\" }\nnrmal = { first_reply = \"1h\" }\n\n[[sla.policy]]\nname = \"q\"\ncalendar = \"ofice\"\n";
        let p = lines_and_messages(text);
        assert_eq!(p.len(), 5, "{p:#?}");
        assert_eq!(p[0].0, 2, "the zone, once: {p:#?}");
        assert_eq!(
            p[1],
            (
                8,
                "SLA policy 'p': unknown category 'lunch' in pause_resolution_in (use new, open, waiting or on_hold)"
                    .to_owned()
            )
        );
        assert_eq!(
            p[2],
            (
                10,
                "SLA policy 'p': '1x' is not a duration like 8h or 3d".to_owned()
            )
        );
        assert_eq!(p[3].0, 11);
        assert!(p[3].1.contains("nrmal"), "{p:#?}");
        assert_eq!(
            p[4],
            (
                15,
                "SLA policy 'q': unknown calendar 'ofice' (tix.toml defines 24x7, office)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_holidays_file_is_read_from_the_desk_and_a_missing_one_refused() {
        let text = "[calendar.office]\ntimezone = \"UTC\"\nmon = [\"09:00-17:00\"]\nholidays_file = \"calendars/br.ics\"\n";
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20250303\nEND:VEVENT\nEND:VCALENDAR\n";
        let files = |path: &str| Ok((path == "calendars/br.ics").then(|| ics.to_owned()));
        assert!(Config::parse_in(text, &files).is_ok());
        assert_eq!(
            lines_and_messages(text),
            [(
                4,
                "calendar 'office': holidays_file 'calendars/br.ics' is not a committed file of the desk"
                    .to_owned()
            )]
        );
        let broken = |_: &str| Ok(Some("BEGIN:VCALENDAR\nBEGIN:VEVENT\n".to_owned()));
        let err = Config::parse_in(text, &broken).unwrap_err();
        assert_eq!(
            err.problems[0].message,
            "calendar 'office': holidays_file 'calendars/br.ics': line 2: the event has no END:VEVENT"
        );
    }

    #[test]
    fn default_text_parses() {
        let config = Config::parse(DEFAULT_TEXT).unwrap();
        assert_eq!(config.desk.automation.name, "tix-automation");
        let names: Vec<&str> = config.automations.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["close-solved-4d", "wake-postponed"]);
    }

    #[test]
    fn a_looping_automation_is_refused_with_its_line() {
        let p = problems(
            "[desk]\n\n[[automation]]\nname = \"ping\"\nwhen = { category = \"waiting\" }\ndo = { add_note = \"hi\" }\n",
        );
        assert!(p[0].message.contains("fire forever"), "{p:?}");
        assert_eq!(p[0].line, Some(3), "the rule's [[automation]] line");
    }

    #[test]
    fn commented_examples_in_the_default_text_parse_too() {
        // Uncomment every example line: the reference must stay valid.
        let text: String = DEFAULT_TEXT
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|rest| looks_like_toml(rest))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        Config::parse(&text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    }

    fn looks_like_toml(line: &str) -> bool {
        line.starts_with('[')
            || line
                .split_once(" = ")
                .is_some_and(|(k, _)| !k.contains(' '))
    }

    #[test]
    fn unknown_keys_name_the_key_the_section_and_the_line() {
        let p = problems("[desk]\nname = \"x\"\ncolour = \"red\"\n");
        assert_eq!(p[0].line, Some(3));
        assert_eq!(
            p[0].message,
            "unknown key `colour` in [desk]; use name or automation"
        );
        let p = problems("\n[colours]\nticket = \"red\"\n");
        assert_eq!(p[0].line, Some(2));
        assert!(
            p[0].message
                .starts_with("unknown key `colours` at the top level; use desk, status"),
            "{p:?}"
        );
    }

    #[test]
    fn bad_types_and_values_name_the_table_and_the_key() {
        let p = problems(
            "[[field]]\nname = \"order\"\ntype = \"number\"\nrequired = \"yes\"\n\n[[department]]\nname = \"billing\"\nassignment = \"random\"\n",
        );
        let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            messages,
            [
                (
                    Some(4),
                    "[[field]] 'order': key 'required': expected true or false, found string \"yes\""
                ),
                (
                    Some(8),
                    "[[department]] 'billing': key 'assignment': unknown value \"random\"; use none, round_robin, least_loaded"
                ),
            ]
        );
    }

    #[test]
    fn every_problem_of_every_kind_is_reported_at_once_in_line_order() {
        let text = "[desk]\ncolour = \"red\"\n\n[[status]]\nid = \"vendor\"\ncategory = \"limbo\"\n\n[[field]]\nname = \"n\"\ntype = \"float\"\n\n[[routing]]\nname = \"r\"\nset = { department = \"sales\" }\n\n[[hook]]\non = [\"created\"]\nrun = 3\n\n[[automation]]\nname = \"a\"\nlimit = \"many\"\ndo = { set_status = \"closed\" }\n";
        let p = problems(text);
        let lines: Vec<_> = p.iter().map(|p| p.line.unwrap()).collect();
        assert_eq!(lines, [2, 6, 10, 14, 18, 22], "{p:#?}");
        assert!(p[0].message.contains("unknown key `colour` in [desk]"));
        assert!(p[1].message.contains("unknown category 'limbo'"));
        assert!(p[2].message.contains("[[field]] 'n': key 'type'"));
        assert!(p[3].message.contains("unknown department 'sales'"));
        assert!(p[4].message.contains("[[hook]] #1: key 'run'"));
        assert!(p[5].message.contains("[[automation]] 'a': key 'limit'"));
    }

    fn one_problem(text: &str) -> ConfigProblem {
        let p = problems(text);
        assert_eq!(p.len(), 1, "{p:#?}");
        p.into_iter().next().unwrap()
    }

    #[test]
    fn names_follow_one_ascii_rule_shared_with_the_command_line() {
        let p = one_problem("[[field]]\nname = \"número\"\ntype = \"string\"\n");
        assert_eq!(p.line, Some(2));
        assert_eq!(
            p.message,
            "field name 'número' must be ASCII letters, digits, '-' and '_'; put other text in its label"
        );
        let p = one_problem("[[status]]\nid = \"pendência\"\ncategory = \"waiting\"\n");
        assert!(
            p.message.starts_with("status id 'pendência' must be ASCII"),
            "{p:?}"
        );
        assert!(is_valid_name("order_no-2"));
        assert!(!is_valid_name("número") && !is_valid_name("") && !is_valid_name("a b"));
    }

    #[test]
    fn tags_that_routing_or_automation_would_add_are_checked_at_load() {
        let p = one_problem("[[routing]]\nname = \"r\"\nset = { add_tags = [\"two words\"] }\n");
        assert_eq!(p.line, Some(3));
        assert_eq!(
            p.message,
            "routing rule 'r': add_tags: 'two words' is not a tag: tags are single words without commas"
        );
        let p = one_problem(
            "[[automation]]\nname = \"a\"\nwhen = { tags_any = [\"x\"] }\ndo = { remove_tags = [\"x\"], add_tags = [\"a,b\"] }\n",
        );
        assert_eq!(p.line, Some(1));
        assert!(
            p.message.starts_with("automation 'a': 'a,b' is not a tag"),
            "{p:?}"
        );
    }

    #[test]
    fn routing_words_and_domains_that_could_never_match_are_refused() {
        let p = problems(
            "[[routing]]\nname = \"r\"\nwhen = { subject_matches = [\"\"], customer_domain = [\"bo@bank.example\"] }\nset = { priority = \"high\" }\n",
        );
        let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            messages,
            [
                (
                    Some(3),
                    "routing rule 'r': subject_matches has an empty word, which would never match"
                ),
                (
                    Some(3),
                    "routing rule 'r': customer_domain 'bo@bank.example' is not a mail domain (like bank.example)"
                ),
            ]
        );
        Config::parse("[[routing]]\nwhen = { customer_domain = [\"@bank.example\"] }\nset = { priority = \"high\" }\n").unwrap();
    }

    #[test]
    fn routing_messages_name_the_rule() {
        let p = one_problem(
            "[[department]]\nname = \"billing\"\n\n[[routing]]\nname = \"r\"\nset = { department = \"nowhere\" }\n",
        );
        assert_eq!(
            p.message,
            "routing rule 'r' sets unknown department 'nowhere'"
        );
        let p = one_problem("[[routing]]\nwhen = { priority = [\"high\"] }\nset = {}\n");
        assert!(
            p.message.starts_with("routing rule 1 sets nothing"),
            "{p:?}"
        );
    }

    #[test]
    fn identities_git_would_refuse_are_refused_at_load() {
        let p = one_problem("[desk]\nautomation = { name = \"\", email = \"\" }\n");
        assert_eq!(p.line, Some(2));
        assert_eq!(p.message, "[desk] automation: the name is empty");
        let p = one_problem("[desk]\nautomation = { name = \"bot\", email = \"bot\" }\n");
        assert!(p.message.contains("'bot' is not a mail address"), "{p:?}");
        let p = problems(
            "[[agent]]\nname = \"\"\nemail = \"@\"\n\n[[agent]]\nname = \"<Raj>\"\nemail = \"raj@desk\"\n",
        );
        let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            messages,
            [
                (Some(3), "agent '@': the name is empty"),
                (
                    Some(7),
                    "agent 'raj@desk': the name '<Raj>' contains '<', '>' or a line break"
                ),
            ]
        );
    }

    #[test]
    fn duplicate_agents_and_choices_are_refused() {
        let p = problems(
            "[[agent]]\nname = \"Ana\"\nemail = \"ana@desk\"\n\n[[agent]]\nname = \"Ana B\"\nemail = \"ana@desk\"\n\n[[agent]]\nname = \"Ana\"\nemail = \"ana2@desk\"\n\n[[field]]\nname = \"plan\"\ntype = \"choice\"\nchoices = [\"free\", \"pro\", \"free\"]\n",
        );
        let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            messages,
            [
                (Some(7), "agent 'ana@desk' is defined twice"),
                (
                    Some(11),
                    "agent name 'Ana' is used twice: `--assign` could not tell them apart"
                ),
                (Some(14), "choice field 'plan' lists 'free' twice"),
            ]
        );
    }

    #[test]
    fn automation_references_to_departments_and_agents_are_checked() {
        let desk = "[[department]]\nname = \"billing\"\n\n[[agent]]\nname = \"Ana\"\nemail = \"ana@desk\"\ndepartments = [\"billing\"]\n\n";
        let p = problems(&format!(
            "{desk}[[automation]]\nname = \"a\"\nwhen = {{ department = \"sales\", assignee = \"none\" }}\ndo = {{ assign = \"kim\" }}\n"
        ));
        let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            messages,
            [
                (Some(9), "automation 'a' has unknown department 'sales'"),
                (
                    Some(9),
                    "automation 'a': do.assign names unknown agent 'kim'"
                ),
            ]
        );
        // An agent's name becomes the address tickets store.
        let config = Config::parse(&format!(
            "{desk}[[automation]]\nname = \"a\"\nwhen = {{ department = \"billing\", assignee = \"none\" }}\ndo = {{ assign = \"Ana\" }}\n"
        ))
        .unwrap();
        assert_eq!(
            config.automations[0].actions.assign.as_deref(),
            Some("ana@desk")
        );
        let p = one_problem(&format!(
            "{desk}[[sla.policy]]\nname = \"p\"\nmatch = {{ department = [\"sales\"] }}\n"
        ));
        assert_eq!(p.line, Some(9));
        assert_eq!(
            p.message,
            "SLA policy 'p' matches unknown department 'sales'"
        );
    }

    #[test]
    fn a_table_that_failed_to_read_still_defines_its_name() {
        // The department has a bad key: the agent's reference to it is fine.
        let p = problems(
            "[[department]]\nname = \"billing\"\nassignment = 1\n\n[[agent]]\nname = \"Ana\"\nemail = \"ana@desk\"\ndepartments = [\"billing\"]\n",
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, Some(3));
    }

    #[test]
    fn every_semantic_problem_is_reported_with_its_line() {
        let text = "[[status]]\nid = \"vendor\"\ncategory = \"limbo\"\n\n[[department]]\nname = \"billing\"\n\n[[routing]]\nset = { department = \"sales\" }\n";
        let p = problems(text);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].message.contains("limbo") && p[0].line == Some(3),
            "{p:?}"
        );
        assert!(
            p[1].message.contains("unknown department 'sales'") && p[1].line == Some(9),
            "{p:?}"
        );
    }

    #[test]
    fn custom_status_and_bad_next() {
        let ok = Config::parse(
            "[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\nnext = [\"open\"]\n",
        )
        .unwrap();
        assert_eq!(ok.statuses.category("vendor"), Some(Category::OnHold));
        let p =
            problems("[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\nnext = [\"nowhere\"]\n");
        assert!(p[0].message.contains("nowhere"));
    }

    #[test]
    fn next_entries_the_lifecycle_never_allows_are_refused_with_the_line() {
        let p = problems(
            "[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\nnext = [\"open\", \"closed\"]\n\n[[status]]\nid = \"spam\"\ncategory = \"closed\"\nnext = [\"open\"]\n\n[[status]]\nid = \"triage\"\ncategory = \"new\"\nnext = [\"new\", \"triage\"]\n\n[[status]]\nid = \"open\"\ncategory = \"open\"\nnext = [\"triage\"]\n",
        );
        let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
        assert_eq!(
            messages,
            [
                (
                    Some(4),
                    "status 'vendor' can never move to 'closed': only a resolved ticket closes; use `tix close --force --reason TEXT`"
                ),
                (
                    Some(9),
                    "status 'spam' can never move to 'open': closed tickets are locked; use `tix reopen`"
                ),
                (Some(14), "status 'triage' lists itself in next"),
                (
                    Some(19),
                    "status 'open' can never move to 'triage': nothing returns to the new category"
                ),
            ]
        );
        // Moves the lifecycle allows are fine, new to new included.
        Config::parse(
            "[[status]]\nid = \"triage\"\ncategory = \"new\"\nnext = [\"new\", \"open\"]\n\n[[status]]\nid = \"resolved\"\ncategory = \"solved\"\nnext = [\"closed\", \"open\"]\n",
        )
        .unwrap();
    }

    #[test]
    fn field_types_parse_and_refuse() {
        let text = "[[field]]\nname = \"n\"\ntype = \"number\"\n[[field]]\nname = \"c\"\ntype = \"choice\"\nchoices = [\"a\", \"b\"]\n[[field]]\nname = \"d\"\ntype = \"date\"\n[[field]]\nname = \"b\"\ntype = \"bool\"\n";
        let config = Config::parse(text).unwrap();
        let f = |n| config.field(n).unwrap();
        assert_eq!(f("n").parse_value("42").unwrap(), toml::Value::Integer(42));
        assert!(
            f("n")
                .parse_value("4x")
                .unwrap_err()
                .contains("must be a number")
        );
        assert!(f("c").parse_value("z").unwrap_err().contains("one of a, b"));
        assert!(f("d").parse_value("2025-02-30").is_err());
        assert!(f("d").parse_value("2025-02-28").is_ok());
        for (text, value) in [
            ("yes", true),
            ("TRUE", true),
            ("No", false),
            ("false", false),
        ] {
            assert_eq!(
                f("b").parse_value(text).unwrap(),
                toml::Value::Boolean(value),
                "{text}"
            );
        }
        assert!(f("b").parse_value("y").is_err());
        let n = f("n");
        assert!(n.same_value(
            &n.parse_value("4.50").unwrap(),
            &n.parse_value("4.5").unwrap()
        ));
        assert!(n.same_value(&n.parse_value("4").unwrap(), &n.parse_value("4.0").unwrap()));
        assert!(!n.same_value(&n.parse_value("4").unwrap(), &n.parse_value("4.1").unwrap()));
        assert!(
            config
                .new_field_values(&[("n".into(), " ".into())])
                .unwrap_err()
                .contains("empty value")
        );
        let p = problems("[[field]]\nname = \"n\"\ntype = \"number\"\ndefault = \"many\"\n");
        assert_eq!(p[0].line, Some(4));
        let p = problems("[[field]]\nname = \"n\"\ntype = \"float\"\n");
        assert!(p[0].message.contains("float"));
    }
}
