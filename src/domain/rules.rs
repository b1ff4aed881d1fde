//! Time-based automations (docs/automation.md): conditions on a ticket
//! and "now", and the actions that fire when they all hold.
//!
//! Pure: the engine in `automation.rs` loads tickets and commits; this
//! module decides whether a rule matches and what it changes, and refuses
//! rules that would change tickets on every run (alone, or two together).
//! Time comparison is exact to the second: `min = "96h"` matches iff
//! `now - anchor >= 96h`.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::domain::calendar::Calendar;
use crate::domain::change::{self, Actor, Applied, Change, ChangeError, Edit};
use crate::domain::entry::ListEntry;
use crate::domain::lifecycle::{self, Category, Statuses};
use crate::domain::routing::{AgentDef, Assignment};
use crate::model::{EventKind, Priority, Role, Ticket, Timestamp, parse_duration_secs};

/// One value or a list of values in the config (`category = "solved"` or
/// `category = ["new", "open"]`).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum OneOrMany {
    /// A single value.
    One(String),
    /// Several values: any of them.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The values.
    pub fn values(&self) -> Vec<&str> {
        match self {
            Self::One(v) => vec![v.as_str()],
            Self::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }

    fn contains(&self, value: &str) -> bool {
        self.values().contains(&value)
    }
}

/// What an idle time is measured from.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Anchor {
    /// Ticket creation.
    Created,
    /// The last status change.
    StatusChanged,
    /// The last entry into the current category.
    CategoryEntered,
    /// The last message from the customer.
    LastCustomerMessage,
    /// The last public agent reply.
    LastReply,
    /// The last event of any kind.
    LastUpdate,
    /// The last assignment.
    Assigned,
}

/// Calendar or business time.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Wall-clock time.
    #[default]
    Calendar,
    /// Business hours of the ticket's SLA calendar (`24x7` without one).
    Business,
}

/// `idle_since = { anchor, min, clock }`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Idle {
    /// What the idle time is measured from.
    pub anchor: Anchor,
    /// How long, e.g. "96h", "4d".
    pub min: String,
    /// Calendar (default) or business time.
    #[serde(default)]
    pub clock: Clock,
}

/// The conditions of a rule: every listed one must hold.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Status id(s).
    pub status: Option<OneOrMany>,
    /// Category name(s).
    pub category: Option<OneOrMany>,
    /// Priority name(s).
    pub priority: Option<OneOrMany>,
    /// Department name(s).
    pub department: Option<OneOrMany>,
    /// "none", "any" or an agent.
    pub assignee: Option<String>,
    /// The ticket has one of these tags.
    #[serde(default)]
    pub tags_any: Vec<String>,
    /// The ticket has all of these tags.
    #[serde(default)]
    pub tags_all: Vec<String>,
    /// The ticket has none of these tags.
    #[serde(default)]
    pub tags_none: Vec<String>,
    /// Who wrote the last public message: "customer" or "agent".
    pub last_message_role: Option<String>,
    /// Idle time since an anchor.
    pub idle_since: Option<Idle>,
    /// A postponed ticket whose `--until` has passed.
    pub postponed_until_passed: Option<bool>,
}

/// What a rule does: an automation's, a trigger's or a macro's actions
/// (docs/automation.md).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Do {
    /// Move to this status.
    pub set_status: Option<String>,
    /// Set the priority.
    pub set_priority: Option<Priority>,
    /// Assign to an agent, "none" (unassign), or "round_robin" /
    /// "least_loaded" (an agent of the ticket's department, chosen as the
    /// department assignment of `routing.rs` does).
    pub assign: Option<String>,
    /// Add tags.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Remove tags.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Add an internal note.
    pub add_note: Option<String>,
    /// "hook": the commit of a ticket this rule changed raises the hook
    /// event `notify` (an automation that only notifies pairs it with a
    /// marker tag). In triggers also "requester" or "assignee": a mail
    /// made from `template`.
    pub notify: Option<String>,
    /// Set custom fields (triggers and macros); the configuration turns
    /// the values into the form's types when it loads, and an empty text
    /// into [`Self::clear_fields`].
    #[serde(default)]
    pub set_field: std::collections::BTreeMap<String, toml::Value>,
    /// The fields `set_field` clears.
    #[serde(skip)]
    pub clear_fields: Vec<String>,
    /// Reply to the customer with this template (triggers).
    pub reply: Option<String>,
    /// The template of a `notify` mail.
    pub template: Option<String>,
}

/// Whom an `assign` action gives the ticket to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignTo<'a> {
    /// Nobody (`"none"`).
    Nobody,
    /// This agent.
    Agent(&'a str),
    /// An agent of the ticket's department, picked the way the department
    /// assignment of this mode picks one.
    Pool(Assignment),
}

impl Do {
    /// Returns whom `assign` names, if the rule assigns.
    pub fn assign_to(&self) -> Option<AssignTo<'_>> {
        self.assign.as_deref().map(|who| match who {
            "none" => AssignTo::Nobody,
            "round_robin" => AssignTo::Pool(Assignment::RoundRobin),
            "least_loaded" => AssignTo::Pool(Assignment::LeastLoaded),
            agent => AssignTo::Agent(agent),
        })
    }

    /// Applies the actions to `ticket` as `actor`; with a `rule` name
    /// (an automation or a trigger) every event they add carries it.
    /// `picked` is the agent the caller chose for `assign = "round_robin" |
    /// "least_loaded"`. A status the ticket already has is left as it is;
    /// `reply`, `notify` and `template` are the desk's (they send mail).
    pub fn apply(
        &self,
        rule: Option<&str>,
        ticket: &mut Ticket,
        actor: &Actor<'_>,
        picked: Option<&str>,
    ) -> Result<Applied, ChangeError> {
        let before = ticket.events.len();
        let who = rule.map_or_else(|| "the macro".to_owned(), |r| format!("rule '{r}'"));
        // Everything but the status first: a closed ticket takes no edits.
        let edit = Edit {
            priority: self.set_priority,
            add_tags: self.add_tags.clone(),
            remove_tags: self.remove_tags.clone(),
            fields: self.set_field.clone(),
            clear_fields: self.clear_fields.clone(),
            ..Edit::default()
        };
        let edits = edit.priority.is_some()
            || !edit.add_tags.is_empty()
            || !edit.remove_tags.is_empty()
            || !edit.fields.is_empty()
            || !edit.clear_fields.is_empty();
        if edits {
            unless_unchanged(change::apply(ticket, &Change::Edit(edit), actor))?;
        }
        if let Some(to) = self.assign_to() {
            let assignee = match to {
                AssignTo::Nobody => None,
                AssignTo::Agent(agent) => Some(agent.to_owned()),
                AssignTo::Pool(_) => Some(picked.map(str::to_owned).ok_or_else(|| {
                    ChangeError::Invalid(format!(
                        "{who}: no agent of department '{}' to assign",
                        ticket.department.as_deref().unwrap_or("-")
                    ))
                })?),
            };
            let change = Change::Assign {
                assignee: Some(assignee),
                department: None,
            };
            unless_unchanged(change::apply(ticket, &change, actor))?;
        }
        if let Some(note) = &self.add_note {
            change::apply(ticket, &Change::Note { body: note.clone() }, actor)?;
        }
        let mut applied = None;
        if let Some(target) = &self.set_status {
            let summary = ticket.summary(actor.statuses);
            let target_category = actor.statuses.category(target);
            let change = if summary.category == Some(Category::OnHold)
                && target_category == Some(Category::Open)
            {
                // LiveAgent: a postponed ticket nobody ever answered wakes to new.
                Some(Change::Wake)
            } else if summary.status == *target {
                None
            } else {
                Some(Change::SetStatus {
                    status: target.clone(),
                    reason: None,
                })
            };
            if let Some(change) = change {
                applied = Some(change::apply(ticket, &change, actor)?);
            }
        }
        if let Some(rule) = rule {
            for event in &mut ticket.events[before..] {
                event.rule = Some(rule.to_owned());
            }
        }
        if ticket.events.len() == before {
            return Err(ChangeError::NoChange(format!("{who} changed nothing")));
        }
        Ok(Applied {
            action: "automate",
            status: applied.and_then(|a| a.status),
            recorded: ticket.events.len() - before,
        })
    }
}

/// A change that found nothing to change is no failure for a rule.
fn unless_unchanged(result: Result<Applied, ChangeError>) -> Result<(), ChangeError> {
    match result {
        Ok(_) | Err(ChangeError::NoChange(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

impl When {
    /// Tells whether the conditions all hold for `ticket` at `now`; a
    /// business-hours idle clock counts the hours of `calendar` (the
    /// ticket's SLA calendar, else `24x7`). `me` is the acting agent, for
    /// `assignee = "me"` (triggers).
    pub fn holds(
        &self,
        ticket: &Ticket,
        statuses: &Statuses,
        now: Timestamp,
        calendar: &Calendar,
        me: Option<&str>,
    ) -> bool {
        let w = self;
        let summary = ticket.summary(statuses);
        let category = summary.category.map_or("", Category::as_str);
        let one =
            |cond: &Option<OneOrMany>, value: &str| cond.as_ref().is_none_or(|c| c.contains(value));
        let assignee_ok = match w.assignee.as_deref() {
            None => true,
            Some("none") => ticket.assignee.is_none(),
            Some("any") => ticket.assignee.is_some(),
            Some("me") if me.is_some() => ticket.assignee.as_deref() == me,
            Some(agent) => ticket.assignee.as_deref() == Some(agent),
        };
        let last_role_ok = w.last_message_role.as_deref().is_none_or(|role| {
            let last = ticket
                .events
                .iter()
                .rev()
                .find(|e| e.kind == EventKind::Message);
            last.is_some_and(|e| match role {
                "customer" => e.role == Role::Customer,
                _ => e.role == Role::Agent,
            })
        });
        let idle_ok = w.idle_since.as_ref().is_none_or(|idle| {
            let min = parse_duration_secs(&idle.min).unwrap_or(i64::MAX);
            anchor_time(ticket, statuses, idle.anchor).is_some_and(|at| match idle.clock {
                Clock::Calendar => now.unix() - at.unix() >= min,
                Clock::Business => calendar.business_secs(at, now) >= min,
            })
        });
        let postponed_ok = match w.postponed_until_passed {
            None => true,
            Some(want) => {
                let passed = summary.category == Some(Category::OnHold)
                    && summary.postponed_until.is_some_and(|until| until <= now);
                passed == want
            }
        };
        one(&w.status, &summary.status)
            && one(&w.category, category)
            && one(&w.priority, ticket.priority.as_str())
            && w.department
                .as_ref()
                .is_none_or(|d| ticket.department.as_deref().is_some_and(|t| d.contains(t)))
            && assignee_ok
            && (w.tags_any.is_empty() || w.tags_any.iter().any(|t| ticket.tags.contains(t)))
            && w.tags_all.iter().all(|t| ticket.tags.contains(t))
            && !w.tags_none.iter().any(|t| ticket.tags.contains(t))
            && last_role_ok
            && idle_ok
            && postponed_ok
    }
}

/// Tickets one rule changes per run when it sets no `limit` (as Zendesk
/// does; docs/automation.md): a larger backlog takes several runs, or `limit = N`.
pub const DEFAULT_LIMIT: usize = 1000;

/// One `[[automation]]` rule.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name: the `Tix-Rule` trailer, so letters, digits, '.', '_' and
    /// '-' only.
    pub name: String,
    /// Conditions.
    #[serde(default)]
    pub when: When,
    /// Actions.
    #[serde(rename = "do")]
    pub actions: Do,
    /// At most this many tickets per run (default [`DEFAULT_LIMIT`]).
    pub limit: Option<usize>,
}

impl Rule {
    /// Returns how many tickets the rule may change in one run.
    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_LIMIT)
    }

    /// Checks the rule against the desk's statuses; the message says what
    /// is wrong. A rule must be self-nullifying: its actions must make one
    /// of its conditions false, or it would fire on every run forever.
    pub fn check(&self, statuses: &Statuses) -> Result<(), String> {
        let name = &self.name;
        if !valid_name(name) {
            return Err(format!(
                "automation name {name:?} is not valid: use 1 to {NAME_MAX} letters, digits, '.', '_' or '-' \
                 (it becomes the Tix-Rule trailer of commits)"
            ));
        }
        self.check_values(statuses)?;
        if let Some(tag) = self
            .actions
            .add_tags
            .iter()
            .find(|t| self.actions.remove_tags.contains(t))
        {
            return Err(format!(
                "automation '{name}' both adds and removes tag '{tag}'"
            ));
        }
        if let Some(AssignTo::Pool(_)) = self.actions.assign_to()
            && self.when.department.is_none()
        {
            return Err(format!(
                "automation '{name}': assign = \"{}\" picks an agent of the ticket's department; \
                 add `department = \"...\"` to its `when`",
                self.actions.assign.as_deref().unwrap_or_default()
            ));
        }
        if self.actions == Do::default() {
            return Err(format!(
                "automation '{name}' does nothing: give `do` an action"
            ));
        }
        let admitted = States::admitted(self, statuses, false);
        if admitted.is_empty() {
            return Err(format!(
                "automation '{name}' can never match: its conditions exclude each other or name only \
                 closed tickets, which automation never evaluates"
            ));
        }
        if let Some(target) = &self.actions.set_status {
            let others: Vec<&String> = admitted.statuses.iter().filter(|s| *s != target).collect();
            let refused: Vec<String> = others
                .iter()
                .filter_map(|from| {
                    status_move(statuses, from, target)
                        .err()
                        .map(|why| format!("{from}: {why}"))
                })
                .collect();
            if !others.is_empty() && refused.len() == others.len() {
                return Err(format!(
                    "automation '{name}' sets status '{target}', which no status its conditions allow can move to ({})",
                    refused.join("; ")
                ));
            }
        }
        if !self.nullifies(statuses) {
            return Err(format!(
                "automation '{name}' would fire forever: its actions must make one of its conditions false \
                 (set_status out of its status or category, add a tag listed in tags_none, ...)"
            ));
        }
        Ok(())
    }

    /// Checks each value of the rule on its own: statuses, categories,
    /// priorities, roles, durations, tags, `notify` and `limit`.
    fn check_values(&self, statuses: &Statuses) -> Result<(), String> {
        let name = &self.name;
        if let Some(status) = &self.actions.set_status
            && statuses.get(status).is_none()
        {
            return Err(format!(
                "automation '{name}' sets unknown status '{status}'"
            ));
        }
        for category in self.when.category.iter().flat_map(OneOrMany::values) {
            if Category::parse(category).is_none() {
                return Err(format!(
                    "automation '{name}' has unknown category '{category}'"
                ));
            }
        }
        for status in self.when.status.iter().flat_map(OneOrMany::values) {
            if statuses.get(status).is_none() {
                return Err(format!("automation '{name}' has unknown status '{status}'"));
            }
        }
        for priority in self.when.priority.iter().flat_map(OneOrMany::values) {
            if priority.parse::<Priority>().is_err() {
                return Err(format!(
                    "automation '{name}' has unknown priority '{priority}'"
                ));
            }
        }
        if let Some(role) = &self.when.last_message_role
            && role != "customer"
            && role != "agent"
        {
            return Err(format!(
                "automation '{name}': last_message_role is customer or agent, not '{role}'"
            ));
        }
        if let Some(idle) = &self.when.idle_since
            && parse_duration_secs(&idle.min).is_none()
        {
            return Err(format!(
                "automation '{name}': idle_since.min '{}' is not a duration like 96h or 4d",
                idle.min
            ));
        }
        for tag in self
            .actions
            .add_tags
            .iter()
            .chain(&self.actions.remove_tags)
        {
            change::check_tag(tag).map_err(|e| format!("automation '{name}': {e}"))?;
        }
        if let Some(notify) = &self.actions.notify
            && notify != "hook"
        {
            return Err(format!(
                "automation '{name}': notify = \"{notify}\" is not supported; use \"hook\" (it raises the hook event notify)"
            ));
        }
        let a = &self.actions;
        let trigger_only = [
            ("set_field", !a.set_field.is_empty()),
            ("reply", a.reply.is_some()),
            ("template", a.template.is_some()),
        ];
        if let Some((key, _)) = trigger_only.iter().find(|(_, given)| *given) {
            return Err(format!(
                "automation '{name}': {key} is for triggers and macros, not automations"
            ));
        }
        if self.limit == Some(0) {
            return Err(format!("automation '{name}': limit must be at least 1"));
        }
        Ok(())
    }

    /// Tells whether applying the rule to any ticket it matches makes it
    /// stop matching, as far as a check without tickets can tell.
    fn nullifies(&self, statuses: &Statuses) -> bool {
        let admitted = States::admitted(self, statuses, true);
        admitted.apply(self, statuses).meet(&admitted).is_empty()
    }

    /// Tells whether the rule could hold for a ticket with this list entry
    /// at `now`: the conditions a list entry shows (status, category,
    /// priority, department, assignee, tags, a passed wake-up time) are
    /// checked, the others assumed to hold. Never false where
    /// [`Rule::matches`] would be true, so a run parses only the tickets
    /// that pass.
    pub fn may_match(&self, entry: &ListEntry, now: Timestamp) -> bool {
        let w = &self.when;
        let one =
            |cond: &Option<OneOrMany>, value: &str| cond.as_ref().is_none_or(|c| c.contains(value));
        let assignee_ok = match w.assignee.as_deref() {
            None => true,
            Some("none") => entry.assignee.is_none(),
            Some("any") => entry.assignee.is_some(),
            Some(agent) => entry.assignee.as_deref() == Some(agent),
        };
        let postponed_ok = match w.postponed_until_passed {
            Some(true) => {
                entry.category == Some(Category::OnHold)
                    && entry.postponed_until.is_some_and(|until| until <= now)
            }
            _ => true,
        };
        let has = |tag: &String| entry.tags.contains(tag);
        one(&w.status, &entry.status)
            && one(&w.category, entry.category.map_or("", Category::as_str))
            && one(&w.priority, entry.priority.as_str())
            && w.department
                .as_ref()
                .is_none_or(|d| entry.department.as_deref().is_some_and(|t| d.contains(t)))
            && assignee_ok
            && (w.tags_any.is_empty() || w.tags_any.iter().any(has))
            && w.tags_all.iter().all(has)
            && !w.tags_none.iter().any(has)
            && postponed_ok
    }

    /// Tells whether the rule's conditions all hold for `ticket` at `now`;
    /// a business-hours idle clock counts the hours of `calendar` (the
    /// ticket's SLA calendar, else `24x7`). A rule that sets a status holds
    /// only for tickets whose status may move there.
    pub fn matches(
        &self,
        ticket: &Ticket,
        statuses: &Statuses,
        now: Timestamp,
        calendar: &Calendar,
    ) -> bool {
        let status = ticket.summary(statuses).status;
        let movable = self
            .actions
            .set_status
            .as_deref()
            .is_none_or(|target| status_move(statuses, &status, target).is_ok());
        movable && self.when.holds(ticket, statuses, now, calendar, None)
    }

    /// Applies the rule's actions to `ticket` as the automation `actor`;
    /// every event it adds carries the rule's name. `picked` is the agent
    /// the caller chose for `assign = "round_robin" | "least_loaded"`. A
    /// status the ticket already has is left as it is.
    pub fn apply(
        &self,
        ticket: &mut Ticket,
        actor: &Actor<'_>,
        picked: Option<&str>,
    ) -> Result<Applied, ChangeError> {
        self.actions.apply(Some(&self.name), ticket, actor, picked)
    }

    /// Tells whether the rule closes tickets.
    pub fn closes(&self, statuses: &Statuses) -> bool {
        self.actions
            .set_status
            .as_deref()
            .and_then(|s| statuses.category(s))
            == Some(Category::Closed)
    }

    /// Tells whether the rule wakes postponed tickets whose time has come.
    pub fn wakes(&self) -> bool {
        self.when.postponed_until_passed == Some(true) && self.actions.set_status.is_some()
    }

    /// Tells whether `tix autoclose` runs the rule: the closing rules and
    /// the wake-up rules (when `until` passes, `tix autoclose`
    /// moves the ticket back to open).
    pub fn runs_in_autoclose(&self, statuses: &Statuses) -> bool {
        self.closes(statuses) || self.wakes()
    }

    /// Tells whether a ticket this rule changed raises the hook event
    /// `notify`.
    pub fn notifies(&self) -> bool {
        self.actions.notify.as_deref() == Some("hook")
    }
}

/// Checks what no single rule shows: that each department a pool
/// assignment picks from has agents, and that no two rules undo each other
/// (one changes a ticket so that the other matches it, which changes it
/// so that the first matches again: every run would commit). `lines` holds
/// each rule's line in `tix.toml`, for the message. Returns the index of
/// the rule each problem belongs to, with the message.
pub fn check_together(
    rules: &[Rule],
    statuses: &Statuses,
    agents: &[AgentDef],
    lines: &[usize],
) -> Vec<(usize, String)> {
    let mut problems = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(AssignTo::Pool(_)) = rule.actions.assign_to() {
            for department in rule.when.department.iter().flat_map(OneOrMany::values) {
                if !agents
                    .iter()
                    .any(|a| a.departments.iter().any(|d| d == department))
                {
                    problems.push((
                        i,
                        format!(
                            "automation '{}' assigns an agent of department '{department}', which has no agents: \
                             list it in the departments of an [[agent]]",
                            rule.name
                        ),
                    ));
                }
            }
        }
    }
    let line = |i: usize| lines.get(i).copied().unwrap_or_default();
    for (j, later) in rules.iter().enumerate() {
        for (i, earlier) in rules[..j].iter().enumerate() {
            if undo_each_other(earlier, later, statuses)
                || undo_each_other(later, earlier, statuses)
            {
                problems.push((
                    j,
                    format!(
                        "automations '{}' (line {}) and '{}' (line {}) undo each other: once one has changed a \
                         ticket the other matches it and changes it back, on every run; make their conditions \
                         exclude each other",
                        earlier.name,
                        line(i),
                        later.name,
                        line(j)
                    ),
                ));
            }
        }
    }
    problems
}

/// Tells whether applying `first`, then `second`, then `first` again, ...
/// to a ticket can go on forever, as far as a check without tickets can
/// tell: the states after each rule repeat without ever becoming
/// impossible.
fn undo_each_other(first: &Rule, second: &Rule, statuses: &Statuses) -> bool {
    let conditions = [
        States::admitted(first, statuses, true),
        States::admitted(second, statuses, true),
    ];
    let rules = [first, second];
    let mut state = conditions[0].clone();
    let mut seen: Vec<(usize, States)> = Vec::new();
    for step in 0..8 {
        let (now, next) = (step % 2, (step + 1) % 2);
        state = state.apply(rules[now], statuses).meet(&conditions[next]);
        if state.is_empty() {
            return false;
        }
        if seen.iter().any(|(turn, s)| *turn == now && *s == state) {
            return true;
        }
        seen.push((now, state.clone()));
    }
    false
}

const NAME_MAX: usize = 64;

/// Tells whether `name` may name a rule: it becomes a `Tix-Rule` trailer.
pub fn valid_name(name: &str) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks the move an automation's `set_status` makes from status `from`:
/// none when the ticket has the status already; a postponed ticket wakes
/// up into the open category (or new, [`Change::Wake`]); anything else is a
/// move of `tix status`.
pub fn status_move(statuses: &Statuses, from: &str, to: &str) -> Result<(), String> {
    if from == to {
        return Ok(());
    }
    let (Some(from_category), Some(to_category)) = (statuses.category(from), statuses.category(to))
    else {
        return Err("the status is not defined in tix.toml".to_owned());
    };
    if from_category == Category::OnHold && to_category == Category::Open {
        return Ok(());
    }
    lifecycle::status_move(statuses, from, from_category, to, to_category)
        .map_err(|e| e.to_string())
}

/// Who a ticket's assignee may be, in [`States`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Who {
    Anyone,
    Nobody,
    Somebody,
    Agent(String),
    Impossible,
}

impl Who {
    fn meet(&self, other: &Self) -> Self {
        match (self, other) {
            (Self::Anyone, x) | (x, Self::Anyone) => x.clone(),
            (Self::Impossible, _) | (_, Self::Impossible) => Self::Impossible,
            (Self::Nobody, Self::Nobody) => Self::Nobody,
            (Self::Nobody, _) | (_, Self::Nobody) => Self::Impossible,
            (Self::Somebody, x) | (x, Self::Somebody) => x.clone(),
            (Self::Agent(a), Self::Agent(b)) if a == b => self.clone(),
            (Self::Agent(_), Self::Agent(_)) => Self::Impossible,
        }
    }
}

/// A set of ticket states, described by what a rule's conditions say:
/// what [`Rule::check`] and [`check_together`] reason about. Conditions
/// on time and on messages are left out, since no action changes them; a
/// set may so contain states no real ticket is in, never the other way
/// round, so a rule is refused rather than let loop.
#[derive(Clone, Debug, PartialEq, Eq)]
struct States {
    /// The statuses it may have.
    statuses: BTreeSet<String>,
    /// The priorities it may have.
    priorities: BTreeSet<Priority>,
    /// The departments it may be in (`None`: any, or none).
    departments: Option<BTreeSet<String>>,
    /// Who it may be assigned to.
    assignee: Who,
    /// Tags it has.
    present: BTreeSet<String>,
    /// Tags it lacks.
    absent: BTreeSet<String>,
    /// Groups of tags of which it has at least one.
    any: BTreeSet<BTreeSet<String>>,
    /// Who may have written the last message (`None`: anyone).
    last_role: Option<BTreeSet<String>>,
    /// Whether a postponed ticket's time may have come (`None`: either).
    passed: Option<BTreeSet<bool>>,
}

impl States {
    /// The states `rule`'s conditions admit among those automation
    /// evaluates (every status but the closed ones); with `movable`, only
    /// those from which its `set_status` can be reached.
    fn admitted(rule: &Rule, statuses: &Statuses, movable: bool) -> Self {
        let w = &rule.when;
        let allows =
            |cond: &Option<OneOrMany>, value: &str| cond.as_ref().is_none_or(|c| c.contains(value));
        let set = |cond: &Option<OneOrMany>| {
            cond.as_ref()
                .map(|c| c.values().into_iter().map(str::to_owned).collect())
        };
        let statuses_admitted = statuses
            .iter()
            .filter(|d| d.category != Category::Closed)
            .filter(|d| allows(&w.status, &d.id) && allows(&w.category, d.category.as_str()))
            .filter(|d| w.postponed_until_passed != Some(true) || d.category == Category::OnHold)
            .filter(|d| {
                !movable
                    || rule
                        .actions
                        .set_status
                        .as_deref()
                        .is_none_or(|target| status_move(statuses, &d.id, target).is_ok())
            })
            .map(|d| d.id.clone())
            .collect();
        Self {
            statuses: statuses_admitted,
            priorities: Priority::ALL
                .into_iter()
                .filter(|p| allows(&w.priority, p.as_str()))
                .collect(),
            departments: set(&w.department),
            assignee: match w.assignee.as_deref() {
                None => Who::Anyone,
                Some("none") => Who::Nobody,
                Some("any") => Who::Somebody,
                Some(agent) => Who::Agent(agent.to_owned()),
            },
            present: w.tags_all.iter().cloned().collect(),
            absent: w.tags_none.iter().cloned().collect(),
            any: if w.tags_any.is_empty() {
                BTreeSet::new()
            } else {
                [w.tags_any.iter().cloned().collect()].into()
            },
            last_role: w.last_message_role.clone().map(|r| [r].into()),
            passed: w.postponed_until_passed.map(|p| [p].into()),
        }
    }

    /// Tells whether no ticket can be in any of these states.
    fn is_empty(&self) -> bool {
        fn none<T>(set: &Option<BTreeSet<T>>) -> bool {
            set.as_ref().is_some_and(BTreeSet::is_empty)
        }
        self.statuses.is_empty()
            || self.priorities.is_empty()
            || none(&self.departments)
            || self.assignee == Who::Impossible
            || !self.present.is_disjoint(&self.absent)
            || self.any.iter().any(|g| g.is_subset(&self.absent))
            || none(&self.last_role)
            || none(&self.passed)
    }

    /// The states both sets admit.
    fn meet(&self, other: &Self) -> Self {
        fn both<T: Ord + Clone>(
            a: &Option<BTreeSet<T>>,
            b: &Option<BTreeSet<T>>,
        ) -> Option<BTreeSet<T>> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.intersection(b).cloned().collect()),
                (a, b) => a.clone().or_else(|| b.clone()),
            }
        }
        Self {
            statuses: self
                .statuses
                .intersection(&other.statuses)
                .cloned()
                .collect(),
            priorities: self
                .priorities
                .intersection(&other.priorities)
                .copied()
                .collect(),
            departments: both(&self.departments, &other.departments),
            assignee: self.assignee.meet(&other.assignee),
            present: self.present.union(&other.present).cloned().collect(),
            absent: self.absent.union(&other.absent).cloned().collect(),
            any: self.any.union(&other.any).cloned().collect(),
            last_role: both(&self.last_role, &other.last_role),
            passed: both(&self.passed, &other.passed),
        }
    }

    /// The states a ticket in one of these is in after `rule` changed it.
    fn apply(&self, rule: &Rule, statuses: &Statuses) -> Self {
        let a = &rule.actions;
        let mut next = self.clone();
        if let Some(priority) = a.set_priority {
            next.priorities = [priority].into();
        }
        for tag in &a.remove_tags {
            next.present.remove(tag);
            next.absent.insert(tag.clone());
            // Whether another tag of a group containing this one is left is
            // unknown: drop the group.
            next.any.retain(|g| !g.contains(tag));
        }
        for tag in &a.add_tags {
            next.absent.remove(tag);
            next.present.insert(tag.clone());
            next.any.retain(|g| !g.contains(tag));
        }
        match a.assign_to() {
            Some(AssignTo::Nobody) => next.assignee = Who::Nobody,
            Some(AssignTo::Agent(agent)) => next.assignee = Who::Agent(agent.to_owned()),
            Some(AssignTo::Pool(_)) => next.assignee = Who::Somebody,
            None => {}
        }
        if let Some(target) = &a.set_status {
            let wakes_to_open = statuses.category(target) == Some(Category::Open);
            next.statuses = self
                .statuses
                .iter()
                .flat_map(|from| {
                    if from != target
                        && wakes_to_open
                        && statuses.category(from) == Some(Category::OnHold)
                    {
                        // See `Rule::apply`: the wake-up lands in open or new.
                        vec![Category::Open, Category::New]
                            .into_iter()
                            .map(|c| c.default_status().to_owned())
                            .collect()
                    } else {
                        vec![target.clone()]
                    }
                })
                .collect();
            let stays = self.statuses.contains(target);
            let unchanged = self.passed.as_ref().is_some_and(|p| !p.contains(&true));
            // A moved ticket has no wake-up time that passed; one already in
            // the target status keeps what it had.
            next.passed = (!stays || unchanged).then(|| [false].into());
        }
        next
    }
}

/// Returns when `anchor` happened for `ticket`, if it did.
pub fn anchor_time(ticket: &Ticket, statuses: &Statuses, anchor: Anchor) -> Option<Timestamp> {
    let events = &ticket.events;
    match anchor {
        Anchor::Created => events.first().map(|e| e.at),
        Anchor::LastUpdate => events.last().map(|e| e.at),
        Anchor::StatusChanged => events.iter().rev().find(|e| e.sets_status()).map(|e| e.at),
        Anchor::LastCustomerMessage => events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Message && e.role == Role::Customer)
            .map(|e| e.at),
        Anchor::LastReply => events.iter().rev().find(|e| e.is_reply()).map(|e| e.at),
        Anchor::Assigned => events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Assign)
            .map(|e| e.at),
        Anchor::CategoryEntered => {
            let mut category = None;
            let mut entered = None;
            for event in events.iter().filter(|e| e.sets_status()) {
                let next = event.to.as_deref().and_then(|s| statuses.category(s));
                if next != category {
                    category = next;
                    entered = Some(event.at);
                }
            }
            entered
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::NewTicket;
    use crate::model::Customer;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn rules() -> Vec<Rule> {
        #[derive(Deserialize)]
        struct File {
            automation: Vec<Rule>,
        }
        // The defaults live in the commented tix.toml that init writes.
        let text = crate::config::DEFAULT_TEXT;
        let start = text.find("[[automation]]").unwrap();
        toml::from_str::<File>(&text[start..]).unwrap().automation
    }

    fn agent<'a>(statuses: &'a Statuses, now: &str) -> Actor<'a> {
        Actor {
            id: "ana@desk",
            role: Role::Agent,
            now: at(now),
            statuses,
        }
    }

    fn resolved(statuses: &Statuses) -> Ticket {
        let new = NewTicket {
            subject: "x".into(),
            body: Some("help".into()),
            customer: Customer {
                email: Some("bo@ex.com".into()),
                ..Customer::default()
            },
            ..NewTicket::default()
        };
        let mut t = change::create(
            "k3x9p2".parse().unwrap(),
            new,
            &agent(statuses, "2025-03-01T09:00:00Z"),
        )
        .unwrap()
        .0;
        let reply = Change::Reply {
            body: "fixed".into(),
            resolve: true,
        };
        change::apply(&mut t, &reply, &agent(statuses, "2025-03-03T10:00:00Z")).unwrap();
        t
    }

    #[test]
    fn may_match_never_rules_out_a_ticket_that_matches() {
        let statuses = Statuses::builtin();
        let mut tickets = vec![resolved(&statuses)];
        let mut postponed = resolved(&statuses);
        let reopen = Change::Reopen { reason: None };
        change::apply(
            &mut postponed,
            &reopen,
            &agent(&statuses, "2025-03-03T11:00:00Z"),
        )
        .unwrap();
        let postpone = Change::Postpone {
            until: Some(at("2025-03-04T00:00:00Z")),
        };
        change::apply(
            &mut postponed,
            &postpone,
            &agent(&statuses, "2025-03-03T12:00:00Z"),
        )
        .unwrap();
        tickets.push(postponed);
        let mut checked = 0;
        for ticket in &tickets {
            let entry = ListEntry::of(ticket, &statuses);
            for now in [
                "2025-03-03T12:00:00Z",
                "2025-03-05T00:00:00Z",
                "2025-04-01T00:00:00Z",
            ] {
                for rule in rules() {
                    if rule.matches(ticket, &statuses, at(now), &Calendar::always()) {
                        checked += 1;
                        assert!(rule.may_match(&entry, at(now)), "{} at {now}", rule.name);
                    }
                }
            }
        }
        assert!(checked >= 2, "the cases exercise matching rules");
        // And it does rule out what a list entry shows cannot match.
        let entry = ListEntry::of(&tickets[0], &statuses);
        let wake = rules()
            .into_iter()
            .find(|r| r.name == "wake-postponed")
            .unwrap();
        assert!(!wake.may_match(&entry, at("2025-04-01T00:00:00Z")));
    }

    #[test]
    fn default_rules_are_valid() {
        let statuses = Statuses::builtin();
        for rule in rules() {
            rule.check(&statuses).unwrap();
        }
    }

    #[test]
    fn close_rule_matches_exactly_at_the_threshold_not_a_second_before() {
        let statuses = Statuses::builtin();
        let close = &rules()[0];
        let t = resolved(&statuses);
        assert!(!close.matches(
            &t,
            &statuses,
            at("2025-03-07T09:59:59Z"),
            &Calendar::always()
        ));
        assert!(close.matches(
            &t,
            &statuses,
            at("2025-03-07T10:00:00Z"),
            &Calendar::always()
        ));
    }

    #[test]
    fn customer_reply_after_resolve_resets_the_clock() {
        let statuses = Statuses::builtin();
        let close = &rules()[0];
        let mut t = resolved(&statuses);
        let customer = Change::CustomerReply {
            body: "not fixed".into(),
        };
        change::apply(&mut t, &customer, &agent(&statuses, "2025-03-05T10:00:00Z")).unwrap();
        assert!(
            !close.matches(
                &t,
                &statuses,
                at("2025-03-09T10:00:00Z"),
                &Calendar::always()
            ),
            "open again: no close"
        );
        let resolve = Change::Resolve { reason: None };
        change::apply(&mut t, &resolve, &agent(&statuses, "2025-03-06T10:00:00Z")).unwrap();
        assert!(!close.matches(
            &t,
            &statuses,
            at("2025-03-10T09:59:59Z"),
            &Calendar::always()
        ));
        assert!(close.matches(
            &t,
            &statuses,
            at("2025-03-10T10:00:00Z"),
            &Calendar::always()
        ));
    }

    #[test]
    fn applying_marks_events_with_the_rule_and_nullifies_it() {
        let statuses = Statuses::builtin();
        let close = &rules()[0];
        let mut t = resolved(&statuses);
        let system = Actor {
            id: "tix-automation@localhost",
            role: Role::System,
            now: at("2025-03-08T00:00:00Z"),
            statuses: &statuses,
        };
        let applied = close.apply(&mut t, &system, None).unwrap();
        assert_eq!(applied.status, Some(("resolved".into(), "closed".into())));
        assert!(
            t.events
                .iter()
                .rev()
                .take(2)
                .all(|e| e.rule.as_deref() == Some("close-solved-4d"))
        );
        assert!(!close.matches(
            &t,
            &statuses,
            at("2025-03-20T00:00:00Z"),
            &Calendar::always()
        ));
    }

    #[test]
    fn a_business_clock_skips_closed_hours() {
        let statuses = Statuses::builtin();
        let rule: Rule = toml::from_str(
            "name = \"b\"\nwhen = { category = \"solved\", idle_since = { anchor = \"category_entered\", min = \"8h\", clock = \"business\" } }\ndo = { set_status = \"closed\" }\n",
        )
        .unwrap();
        let day = vec![crate::domain::calendar::Hours::parse("09:00-17:00").unwrap()];
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ];
        let office = Calendar::new("UTC", week, Default::default()).unwrap();
        // Resolved Monday 2025-03-03 10:00: 8 business hours end Tuesday 10:00.
        let t = resolved(&statuses);
        assert!(!rule.matches(&t, &statuses, at("2025-03-04T09:59:59Z"), &office));
        assert!(rule.matches(&t, &statuses, at("2025-03-04T10:00:00Z"), &office));
        // In calendar time it would have matched Monday 18:00.
        assert!(!rule.matches(&t, &statuses, at("2025-03-03T18:00:00Z"), &office));
        assert!(rule.matches(
            &t,
            &statuses,
            at("2025-03-03T18:00:00Z"),
            &Calendar::always()
        ));
    }

    #[test]
    fn postponed_wakes_to_new_when_never_answered() {
        let statuses = Statuses::builtin();
        let wake = &rules()[1];
        let new = NewTicket {
            subject: "x".into(),
            ..NewTicket::default()
        };
        let mut t = change::create(
            "k3x9p2".parse().unwrap(),
            new,
            &agent(&statuses, "2025-03-01T09:00:00Z"),
        )
        .unwrap()
        .0;
        let postpone = Change::Postpone {
            until: Some(at("2025-03-02T09:00:00Z")),
        };
        change::apply(&mut t, &postpone, &agent(&statuses, "2025-03-01T10:00:00Z")).unwrap();
        assert!(!wake.matches(
            &t,
            &statuses,
            at("2025-03-02T08:59:59Z"),
            &Calendar::always()
        ));
        assert!(wake.matches(
            &t,
            &statuses,
            at("2025-03-02T09:00:00Z"),
            &Calendar::always()
        ));
        let system = Actor {
            id: "bot",
            role: Role::System,
            now: at("2025-03-02T09:00:00Z"),
            statuses: &statuses,
        };
        let applied = wake.apply(&mut t, &system, None).unwrap();
        assert_eq!(applied.status, Some(("postponed".into(), "new".into())));
    }

    #[test]
    fn a_rule_that_cannot_falsify_itself_is_refused() {
        let statuses = Statuses::builtin();
        let rule: Rule = toml::from_str(
            "name = \"loop\"\nwhen = { category = \"waiting\" }\ndo = { add_note = \"ping\" }\n",
        )
        .unwrap();
        assert!(rule.check(&statuses).unwrap_err().contains("fire forever"));
        let ok: Rule = toml::from_str(
            "name = \"remind\"\nwhen = { category = \"waiting\", tags_none = [\"reminded\"] }\ndo = { add_note = \"ping\", add_tags = [\"reminded\"] }\n",
        )
        .unwrap();
        ok.check(&statuses).unwrap();
        let business: Rule = toml::from_str(
            "name = \"b\"\nwhen = { category = \"solved\", idle_since = { anchor = \"created\", min = \"1h\", clock = \"business\" } }\ndo = { set_status = \"closed\" }\n",
        )
        .unwrap();
        business.check(&statuses).unwrap();
    }

    fn rule(text: &str) -> Rule {
        toml::from_str(text).unwrap()
    }

    fn refusal(text: &str) -> String {
        rule(text).check(&Statuses::builtin()).unwrap_err()
    }

    fn accepted(text: &str) {
        let r = rule(text);
        r.check(&Statuses::builtin())
            .unwrap_or_else(|e| panic!("{e}: {text}"));
    }

    #[test]
    fn removing_one_tag_of_tags_any_does_not_switch_a_rule_off() {
        let err = refusal(
            "name = \"r\"\nwhen = { tags_any = [\"a\", \"b\"] }\ndo = { remove_tags = [\"a\"] }\n",
        );
        assert!(err.contains("fire forever"), "{err}");
        accepted(
            "name = \"r\"\nwhen = { tags_any = [\"a\", \"b\"] }\ndo = { remove_tags = [\"a\", \"b\"] }\n",
        );
        accepted(
            "name = \"r\"\nwhen = { tags_all = [\"a\", \"b\"] }\ndo = { remove_tags = [\"b\"] }\n",
        );
    }

    #[test]
    fn a_rule_that_adds_and_removes_one_tag_is_refused() {
        let err = refusal(
            "name = \"r\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\", \"y\"], remove_tags = [\"y\"] }\n",
        );
        assert!(err.contains("both adds and removes tag 'y'"), "{err}");
    }

    #[test]
    fn a_status_the_lifecycle_forbids_from_every_allowed_status_is_refused() {
        let err = refusal(
            "name = \"r\"\nwhen = { category = \"new\" }\ndo = { set_status = \"closed\" }\n",
        );
        assert!(
            err.contains("no status its conditions allow can move to")
                && err.contains("new: only a resolved ticket closes"),
            "{err}"
        );
        let err = refusal(
            "name = \"r\"\nwhen = { category = \"open\" }\ndo = { set_status = \"new\" }\n",
        );
        assert!(err.contains("nothing returns to the new category"), "{err}");
        // Reachable from one of them: the rule applies to those tickets only.
        accepted(
            "name = \"r\"\nwhen = { category = [\"new\", \"solved\"] }\ndo = { set_status = \"closed\" }\n",
        );
    }

    #[test]
    fn closing_is_nullifying_because_closed_tickets_are_never_evaluated() {
        let statuses = Statuses::builtin();
        let text =
            "name = \"low\"\nwhen = { priority = \"low\" }\ndo = { set_status = \"closed\" }\n";
        accepted(text);
        let low = rule(text);
        let mut t = resolved(&statuses);
        t.priority = Priority::Low;
        let now = at("2025-03-04T00:00:00Z");
        assert!(low.matches(&t, &statuses, now, &Calendar::always()));
        // An open ticket cannot be closed by `set_status`: the rule does not
        // match it (instead of failing on every run).
        let customer = Change::CustomerReply {
            body: "again".into(),
        };
        change::apply(&mut t, &customer, &agent(&statuses, "2025-03-03T11:00:00Z")).unwrap();
        assert_eq!(t.summary(&statuses).status, "open");
        assert!(!low.matches(&t, &statuses, now, &Calendar::always()));
    }

    #[test]
    fn a_rule_whose_conditions_admit_no_ticket_is_refused() {
        let err = refusal(
            "name = \"r\"\nwhen = { category = \"closed\" }\ndo = { add_tags = [\"x\"] }\n",
        );
        assert!(err.contains("can never match"), "{err}");
        let err = refusal(
            "name = \"r\"\nwhen = { tags_all = [\"x\"], tags_none = [\"x\"] }\ndo = { add_note = \"n\" }\n",
        );
        assert!(err.contains("can never match"), "{err}");
    }

    #[test]
    fn names_must_be_trailer_safe() {
        let err = refusal(
            "name = \"evil\\nTix-Status: closed -> open\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\n",
        );
        assert!(
            err.contains("\"evil\\nTix-Status: closed -> open\"") && !err.contains('\n'),
            "{err}"
        );
        let err =
            refusal("name = \"\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\n");
        assert!(err.contains("is not valid"), "{err}");
        let long = "a".repeat(65);
        let err = refusal(&format!(
            "name = \"{long}\"\nwhen = {{ tags_none = [\"x\"] }}\ndo = {{ add_tags = [\"x\"] }}\n"
        ));
        assert!(err.contains("is not valid"), "{err}");
        accepted(
            "name = \"Remind.v2_x-1\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\n",
        );
    }

    #[test]
    fn pool_assignment_needs_a_department_in_the_conditions() {
        let err = refusal(
            "name = \"r\"\nwhen = { assignee = \"none\" }\ndo = { assign = \"round_robin\" }\n",
        );
        assert!(err.contains("add `department"), "{err}");
        accepted(
            "name = \"r\"\nwhen = { assignee = \"none\", department = \"billing\" }\ndo = { assign = \"least_loaded\" }\n",
        );
        // The assignee condition is what switches it off.
        let err = refusal(
            "name = \"r\"\nwhen = { assignee = \"any\", department = \"billing\" }\ndo = { assign = \"round_robin\" }\n",
        );
        assert!(err.contains("fire forever"), "{err}");
    }

    fn together(texts: &[&str]) -> Vec<(usize, String)> {
        let statuses = Statuses::builtin();
        let rules: Vec<Rule> = texts.iter().map(|t| rule(t)).collect();
        for r in &rules {
            r.check(&statuses).unwrap();
        }
        let agents = [AgentDef {
            name: "Ana".into(),
            email: "ana@desk".into(),
            departments: vec!["billing".into()],
        }];
        check_together(&rules, &statuses, &agents, &[10, 20])
    }

    #[test]
    fn rules_that_undo_each_other_are_refused_naming_both() {
        let tags = together(&[
            "name = \"see\"\nwhen = { tags_none = [\"seen\"] }\ndo = { add_tags = [\"seen\"] }\n",
            "name = \"unsee\"\nwhen = { tags_all = [\"seen\"] }\ndo = { remove_tags = [\"seen\"] }\n",
        ]);
        assert_eq!(tags.len(), 1, "{tags:?}");
        assert_eq!(tags[0].0, 1);
        assert!(
            tags[0]
                .1
                .contains("'see' (line 10) and 'unsee' (line 20) undo each other"),
            "{tags:?}"
        );
        let priorities = together(&[
            "name = \"up\"\nwhen = { priority = \"low\" }\ndo = { set_priority = \"high\" }\n",
            "name = \"down\"\nwhen = { priority = \"high\" }\ndo = { set_priority = \"low\" }\n",
        ]);
        assert_eq!(priorities.len(), 1, "{priorities:?}");
        let statuses = together(&[
            "name = \"there\"\nwhen = { category = \"waiting\" }\ndo = { set_status = \"open\" }\n",
            "name = \"back\"\nwhen = { category = \"open\" }\ndo = { set_status = \"answered\" }\n",
        ]);
        assert_eq!(statuses.len(), 1, "{statuses:?}");
    }

    #[test]
    fn rules_on_exclusive_tickets_or_one_way_changes_pass_together() {
        // Marking waiting tickets and unmarking open ones: a ticket moves
        // between them only by what people do.
        let exclusive = together(&[
            "name = \"mark\"\nwhen = { category = \"waiting\", tags_none = [\"stale\"] }\ndo = { add_tags = [\"stale\"] }\n",
            "name = \"unmark\"\nwhen = { category = \"open\", tags_all = [\"stale\"] }\ndo = { remove_tags = [\"stale\"] }\n",
        ]);
        assert!(exclusive.is_empty(), "{exclusive:?}");
        // The second undoes the first once, but then its own marker stops it.
        let once = together(&[
            "name = \"a\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\n",
            "name = \"b\"\nwhen = { tags_all = [\"x\"], tags_none = [\"y\"] }\ndo = { remove_tags = [\"x\"], add_tags = [\"y\"] }\n",
        ]);
        assert!(once.is_empty(), "{once:?}");
    }

    #[test]
    fn pool_assignment_in_a_department_without_agents_is_refused() {
        let problems = together(&[
            "name = \"r\"\nwhen = { assignee = \"none\", department = [\"billing\", \"tech\"] }\ndo = { assign = \"round_robin\" }\n",
        ]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .1
                .contains("department 'tech', which has no agents"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_rule_without_a_limit_changes_at_most_the_default_per_run() {
        let r = rule("name = \"r\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\n");
        assert_eq!(r.limit(), DEFAULT_LIMIT);
        assert_eq!(DEFAULT_LIMIT, 1000);
        let err = refusal(
            "name = \"r\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\nlimit = 0\n",
        );
        assert!(err.contains("at least 1"), "{err}");
    }
}
