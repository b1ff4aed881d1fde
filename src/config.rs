//! The desk's configuration, `tix.toml` at the desk root (SPEC §5).
//!
//! Parsing is strict: an unknown key or a bad value is an error naming the
//! key and the line, because a typo in a helpdesk's rules must never be
//! silently ignored. Syntax errors stop at the first; every semantic
//! problem (a status with an unknown category, a routing rule naming an
//! unknown department, ...) is collected so `tix doctor` shows them all at
//! once. This module is pure: the store hands it the text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use toml::Spanned;

use crate::calendar::{self, Calendar, Hours};
use crate::lifecycle::{Category, StatusDef, Statuses};
use crate::model::{Priority, line_at};
use crate::rules::Rule;
use crate::sla::{Match, Policy, Targets, WarnBefore};

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

/// The type of a custom field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Any text.
    String,
    /// An integer or decimal number.
    Number,
    /// true or false.
    Bool,
    /// A calendar date, YYYY-MM-DD.
    Date,
    /// One of `choices`.
    Choice,
}

/// One field of the ticket form.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDef {
    /// Key used in `--field KEY=VALUE` and in ticket files.
    pub name: String,
    /// What agents see.
    pub label: Option<String>,
    /// Its type.
    pub kind: FieldKind,
    /// Whether `tix new` needs it.
    pub required: bool,
    /// Allowed values (choice fields).
    pub choices: Vec<String>,
    /// Value used when none is given.
    pub default: Option<toml::Value>,
}

impl FieldDef {
    /// Converts text from the command line into a typed value, or says
    /// what is allowed.
    pub fn parse_value(&self, text: &str) -> Result<toml::Value, String> {
        let text = text.trim();
        let bad = |what: &str| format!("field '{}' must be {what}, not '{text}'", self.name);
        match self.kind {
            FieldKind::String => Ok(toml::Value::String(text.to_owned())),
            FieldKind::Number => text
                .parse::<i64>()
                .map(toml::Value::Integer)
                .or_else(|_| text.parse::<f64>().map(toml::Value::Float).map_err(|_| ()))
                .ok()
                .filter(|v| !matches!(v, toml::Value::Float(f) if !f.is_finite()))
                .ok_or_else(|| bad("a number")),
            FieldKind::Bool => match text {
                "true" | "yes" => Ok(toml::Value::Boolean(true)),
                "false" | "no" => Ok(toml::Value::Boolean(false)),
                _ => Err(bad("true or false")),
            },
            FieldKind::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|_| text.parse::<toml::value::Datetime>().ok())
                .map(toml::Value::Datetime)
                .ok_or_else(|| bad("a date (YYYY-MM-DD)")),
            FieldKind::Choice => {
                if self.choices.iter().any(|c| c == text) {
                    Ok(toml::Value::String(text.to_owned()))
                } else {
                    Err(format!(
                        "field '{}' must be one of {}, not '{text}'",
                        self.name,
                        self.choices.join(", ")
                    ))
                }
            }
        }
    }

    /// Checks a value already in a ticket file or the config.
    pub fn check_value(&self, value: &toml::Value) -> Result<(), String> {
        let ok = match (self.kind, value) {
            (FieldKind::String, toml::Value::String(_)) => true,
            (FieldKind::Number, toml::Value::Integer(_) | toml::Value::Float(_)) => true,
            (FieldKind::Bool, toml::Value::Boolean(_)) => true,
            (FieldKind::Date, toml::Value::Datetime(d)) => d.date.is_some() && d.time.is_none(),
            (FieldKind::Choice, toml::Value::String(s)) => self.choices.contains(s),
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "field '{}' has a value that is not a valid {}: {value}",
                self.name,
                self.kind_name()
            ))
        }
    }

    fn kind_name(&self) -> String {
        match self.kind {
            FieldKind::String => "string".into(),
            FieldKind::Number => "number".into(),
            FieldKind::Bool => "bool".into(),
            FieldKind::Date => "date".into(),
            FieldKind::Choice => format!("choice ({})", self.choices.join(", ")),
        }
    }
}

/// How a department hands out new tickets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// Leave them unassigned (they wait in the queue).
    #[default]
    None,
    /// Each agent in turn, in the order of `[[agent]]`.
    RoundRobin,
    /// The agent with the fewest active tickets.
    LeastLoaded,
}

/// A team.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Its name, used with `--department`.
    pub name: String,
    /// How new tickets are assigned inside it.
    #[serde(default)]
    pub assignment: Assignment,
}

/// A person who works tickets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentDef {
    /// Display name.
    pub name: String,
    /// Mail address: the identity in events and assignments.
    pub email: String,
    /// Departments the agent works in.
    pub departments: Vec<String>,
}

/// Conditions of a routing rule; every listed condition must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteWhen {
    /// The customer's mail domain is one of these.
    #[serde(default)]
    pub customer_domain: Vec<String>,
    /// The subject contains one of these words (any case).
    #[serde(default)]
    pub subject_matches: Vec<String>,
    /// The description contains one of these words (any case).
    #[serde(default)]
    pub body_matches: Vec<String>,
    /// The ticket has one of these tags.
    #[serde(default)]
    pub tags_any: Vec<String>,
    /// The priority is one of these.
    #[serde(default)]
    pub priority: Vec<Priority>,
}

/// What a matching routing rule does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteSet {
    /// Department to file the ticket in.
    pub department: Option<String>,
    /// Priority to give it.
    pub priority: Option<Priority>,
    /// Tags to add.
    pub add_tags: Vec<String>,
}

/// A rule applied when a ticket is created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoutingRule {
    /// A name for messages.
    pub name: String,
    /// Conditions.
    pub when: RouteWhen,
    /// Actions.
    pub set: RouteSet,
}

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// A ticket was created.
    Created,
    /// Any change (including creation).
    Changed,
    /// The status changed.
    StatusChanged,
    /// The assignee or department changed.
    Assigned,
    /// An agent replied publicly.
    Replied,
    /// The customer replied.
    CustomerReplied,
    /// An internal note was added.
    Note,
    /// An SLA target was breached (`tix sla check`).
    SlaBreach,
    /// An SLA target is due within the policy's `warn_before`
    /// (`tix sla check`).
    SlaWarning,
    /// An automation rule with `notify = "hook"` changed the ticket.
    Notify,
}

impl HookEvent {
    /// Returns the name set in `TIX_EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Changed => "changed",
            Self::StatusChanged => "status_changed",
            Self::Assigned => "assigned",
            Self::Replied => "replied",
            Self::CustomerReplied => "customer_replied",
            Self::Note => "note",
            Self::SlaBreach => "sla_breach",
            Self::SlaWarning => "sla_warning",
            Self::Notify => "notify",
        }
    }
}

/// A command run after a change, with the ticket as JSON on stdin.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// The events that run it.
    pub on: Vec<HookEvent>,
    /// A shell command (`sh -c`), run at the desk root.
    pub run: String,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    desk: DeskSection,
    #[serde(default)]
    status: Vec<RawStatus>,
    #[serde(default)]
    field: Vec<RawField>,
    #[serde(default)]
    department: Vec<Spanned<Department>>,
    #[serde(default)]
    agent: Vec<RawAgent>,
    #[serde(default)]
    routing: Vec<RawRouting>,
    #[serde(default)]
    hook: Vec<Hook>,
    #[serde(default)]
    automation: Vec<Spanned<Rule>>,
    #[serde(default)]
    calendar: BTreeMap<String, Spanned<RawCalendar>>,
    #[serde(default)]
    sla: RawSla,
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
struct RawRouting {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    when: RouteWhen,
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
    /// names (a calendar's `holidays_file`) through `files`.
    pub fn parse_in(text: &str, files: &ReadFile<'_>) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|err| ConfigError {
            problems: vec![ConfigProblem {
                message: err.message().trim().to_owned(),
                line: err.span().map(|span| line_at(text, span.start)),
            }],
        })?;
        let mut problems = Vec::new();
        let mut problem = |message: String, span: std::ops::Range<usize>| {
            problems.push(ConfigProblem {
                message,
                line: Some(line_at(text, span.start)),
            });
        };

        let mut statuses = Statuses::builtin();
        let builtin: BTreeSet<String> = statuses.iter().map(|s| s.id.clone()).collect();
        let mut seen = BTreeSet::new();
        for status in &raw.status {
            let id = status.id.get_ref();
            if !valid_name(id) {
                problem(
                    format!("status id '{id}' must be letters, digits, '-' or '_'"),
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
        for status in &raw.status {
            if let Some(next) = &status.next {
                for target in next.get_ref() {
                    if statuses.get(target).is_none() {
                        problem(
                            format!(
                                "status '{}' lists unknown next status '{target}'",
                                status.id.get_ref()
                            ),
                            next.span(),
                        );
                    }
                }
            }
        }

        let mut fields = Vec::new();
        let mut names = BTreeSet::new();
        for field in raw.field {
            let name = field.name.get_ref().clone();
            if !valid_name(&name) {
                problem(
                    format!("field name '{name}' must be letters, digits, '-' or '_'"),
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

        let departments: Vec<Department> =
            raw.department.iter().map(|d| d.get_ref().clone()).collect();
        let department_names: BTreeSet<&str> =
            departments.iter().map(|d| d.name.as_str()).collect();
        for (i, department) in raw.department.iter().enumerate() {
            if departments[..i]
                .iter()
                .any(|d| d.name == department.get_ref().name)
            {
                problem(
                    format!(
                        "department '{}' is defined twice",
                        department.get_ref().name
                    ),
                    department.span(),
                );
            }
        }

        let mut agents = Vec::new();
        for agent in raw.agent {
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
            if !agent.email.get_ref().contains('@') {
                problem(
                    format!(
                        "agent email '{}' is not a mail address",
                        agent.email.get_ref()
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
        for department in &departments {
            if department.assignment != Assignment::None
                && !agents
                    .iter()
                    .any(|a| a.departments.contains(&department.name))
            {
                let span = raw
                    .department
                    .iter()
                    .find(|d| d.get_ref().name == department.name)
                    .map(Spanned::span)
                    .unwrap_or(0..0);
                problem(
                    format!(
                        "department '{}' assigns tickets but has no agents",
                        department.name
                    ),
                    span,
                );
            }
        }

        let mut routing = Vec::new();
        for (i, rule) in raw.routing.into_iter().enumerate() {
            let name = rule
                .name
                .unwrap_or_else(|| format!("routing rule {}", i + 1));
            let span = rule.set.span();
            let set = rule.set.into_inner();
            if let Some(department) = &set.department
                && !department_names.contains(department.as_str())
            {
                problem(
                    format!("{name} sets unknown department '{department}'"),
                    span.clone(),
                );
            }
            if set.department.is_none() && set.priority.is_none() && set.add_tags.is_empty() {
                problem(
                    format!("{name} sets nothing: give department, priority or add_tags"),
                    span,
                );
            }
            routing.push(RoutingRule {
                name,
                when: rule.when,
                set: RouteSet {
                    department: set.department,
                    priority: set.priority,
                    add_tags: set.add_tags,
                },
            });
        }

        let mut automations: Vec<Rule> = Vec::new();
        let mut checked = Vec::new();
        for rule in raw.automation {
            let span = rule.span();
            let rule = rule.into_inner();
            if automations.iter().any(|r| r.name == rule.name) {
                problem(
                    format!("automation '{}' is defined twice", rule.name),
                    span.clone(),
                );
            }
            match rule.check(&statuses) {
                Ok(()) => checked.push((rule.clone(), span)),
                Err(message) => problem(message, span),
            }
            automations.push(rule);
        }
        let (valid, spans): (Vec<Rule>, Vec<_>) = checked.into_iter().unzip();
        let lines: Vec<usize> = spans.iter().map(|s| line_at(text, s.start)).collect();
        for (i, message) in crate::rules::check_together(&valid, &statuses, &agents, &lines) {
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
        let mut policies = Vec::new();
        for policy in raw.sla.policy {
            policies.extend(build_policy(policy, &calendars, &broken, &mut problem));
        }

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
            hooks: raw.hook,
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

    /// Turns `--field KEY=VALUE` pairs into typed values of the ticket form.
    /// An empty value means "clear the field". Refuses unknown fields and
    /// values of the wrong type, naming what is allowed.
    pub fn field_values(
        &self,
        given: &[(String, String)],
    ) -> Result<(BTreeMap<String, toml::Value>, Vec<String>), String> {
        let mut values = BTreeMap::new();
        let mut clear = Vec::new();
        for (name, text) in given {
            let Some(def) = self.field(name) else {
                let known: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
                return Err(if known.is_empty() {
                    format!(
                        "unknown field '{name}': the ticket form has no fields; define [[field]] in tix.toml"
                    )
                } else {
                    format!(
                        "unknown field '{name}': the ticket form has {}",
                        known.join(", ")
                    )
                });
            };
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

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
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
        assert_eq!(
            lines_and_messages(text),
            [
                (
                    14,
                    "calendar 'never': it has no open hours on any day, so nothing could ever be due"
                        .to_owned()
                ),
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
    fn unknown_keys_name_the_key_and_line() {
        let p = problems("[desk]\nname = \"x\"\ncolour = \"red\"\n");
        assert_eq!(p[0].line, Some(3));
        assert!(p[0].message.contains("colour"), "{}", p[0].message);
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
        assert_eq!(
            f("b").parse_value("yes").unwrap(),
            toml::Value::Boolean(true)
        );
        let p = problems("[[field]]\nname = \"n\"\ntype = \"number\"\ndefault = \"many\"\n");
        assert_eq!(p[0].line, Some(4));
        let p = problems("[[field]]\nname = \"n\"\ntype = \"float\"\n");
        assert!(p[0].message.contains("float"));
    }
}
