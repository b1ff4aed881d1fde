//! Time-based automations (SPEC §4, HELPDESK §5): conditions on a ticket
//! and "now", and the actions that fire when they all hold.
//!
//! Pure: the engine in `automation.rs` loads tickets and commits; this
//! module decides whether a rule matches and what it changes. Time
//! comparison is exact to the second: `min = "96h"` matches iff
//! `now - anchor >= 96h`.

use serde::Deserialize;

use crate::calendar::Calendar;
use crate::change::{self, Actor, Applied, Change, ChangeError, Edit};
use crate::lifecycle::{Category, Statuses};
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

/// What a rule does.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Do {
    /// Move to this status.
    pub set_status: Option<String>,
    /// Set the priority.
    pub set_priority: Option<Priority>,
    /// Assign to an agent ("none" unassigns).
    pub assign: Option<String>,
    /// Add tags.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Remove tags.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Add an internal note.
    pub add_note: Option<String>,
    /// Only "hook": the `[[hook]]` commands run for every commit an
    /// automation makes (events `changed`, `status_changed`), so a rule that
    /// only notifies pairs `notify = "hook"` with a marker tag.
    pub notify: Option<String>,
}

/// One `[[automation]]` rule.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Its name: the `Tix-Rule` trailer.
    pub name: String,
    /// Conditions.
    #[serde(default)]
    pub when: When,
    /// Actions.
    #[serde(rename = "do")]
    pub actions: Do,
    /// At most this many tickets per run (default: no limit).
    pub limit: Option<usize>,
}

impl Rule {
    /// Checks the rule against the desk's statuses; the message says what
    /// is wrong. A rule must be self-nullifying: its actions must make one
    /// of its conditions false, or it would fire on every run forever.
    pub fn check(&self, statuses: &Statuses) -> Result<(), String> {
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
                "automation '{name}': notify = \"{notify}\" is not supported; use \"hook\" (the [[hook]] commands run for every automation commit)"
            ));
        }
        if self.actions == Do::default() {
            return Err(format!(
                "automation '{name}' does nothing: give `do` an action"
            ));
        }
        if !self.nullifies(statuses) {
            return Err(format!(
                "automation '{name}' would fire forever: its actions must make one of its conditions false \
                 (set_status out of its status or category, add a tag listed in tags_none, ...)"
            ));
        }
        Ok(())
    }

    fn nullifies(&self, statuses: &Statuses) -> bool {
        let w = &self.when;
        let a = &self.actions;
        let by_status = a.set_status.as_deref().is_some_and(|target| {
            let category = statuses.category(target).map_or("", Category::as_str);
            w.status.as_ref().is_some_and(|s| !s.contains(target))
                || w.category.as_ref().is_some_and(|c| !c.contains(category))
                || (w.postponed_until_passed == Some(true) && category != "on_hold")
        });
        let by_tags = a.add_tags.iter().any(|t| w.tags_none.contains(t))
            || a.remove_tags
                .iter()
                .any(|t| w.tags_any.contains(t) || w.tags_all.contains(t));
        let by_priority = a.set_priority.is_some_and(|p| {
            w.priority
                .as_ref()
                .is_some_and(|ps| !ps.contains(p.as_str()))
        });
        let by_assignee = match (a.assign.as_deref(), w.assignee.as_deref()) {
            (Some(to), Some("none")) => to != "none",
            (Some("none"), Some(_)) => true,
            (Some(to), Some(from)) => to != from && from != "any",
            _ => false,
        };
        by_status || by_tags || by_priority || by_assignee
    }

    /// Tells whether the rule's conditions all hold for `ticket` at `now`;
    /// a business-hours idle clock counts the hours of `calendar` (the
    /// ticket's SLA calendar, else `24x7`).
    pub fn matches(
        &self,
        ticket: &Ticket,
        statuses: &Statuses,
        now: Timestamp,
        calendar: &Calendar,
    ) -> bool {
        let w = &self.when;
        let summary = ticket.summary(statuses);
        let category = summary.category.map_or("", Category::as_str);
        let one =
            |cond: &Option<OneOrMany>, value: &str| cond.as_ref().is_none_or(|c| c.contains(value));
        let assignee_ok = match w.assignee.as_deref() {
            None => true,
            Some("none") => ticket.assignee.is_none(),
            Some("any") => ticket.assignee.is_some(),
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

    /// Applies the rule's actions to `ticket` as the automation `actor`;
    /// every event it adds carries the rule's name.
    pub fn apply(&self, ticket: &mut Ticket, actor: &Actor<'_>) -> Result<Applied, ChangeError> {
        let before = ticket.events.len();
        let a = &self.actions;
        // Everything but the status first: a closed ticket takes no edits.
        let edit = Edit {
            priority: a.set_priority,
            add_tags: a.add_tags.clone(),
            remove_tags: a.remove_tags.clone(),
            ..Edit::default()
        };
        if edit.priority.is_some() || !edit.add_tags.is_empty() || !edit.remove_tags.is_empty() {
            match change::apply(ticket, &Change::Edit(edit), actor) {
                Ok(_) | Err(ChangeError::NoChange(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(agent) = &a.assign {
            let assignee = if agent == "none" {
                None
            } else {
                Some(agent.clone())
            };
            match change::apply(
                ticket,
                &Change::Assign {
                    assignee: Some(assignee),
                    department: None,
                },
                actor,
            ) {
                Ok(_) | Err(ChangeError::NoChange(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if let Some(note) = &a.add_note {
            change::apply(ticket, &Change::Note { body: note.clone() }, actor)?;
        }
        let mut applied = None;
        if let Some(target) = &a.set_status {
            let summary = ticket.summary(actor.statuses);
            let target_category = actor.statuses.category(target);
            let change = if summary.category == Some(Category::OnHold)
                && target_category == Some(Category::Open)
            {
                // LiveAgent: a postponed ticket nobody ever answered wakes to new.
                Change::Wake
            } else {
                Change::SetStatus {
                    status: target.clone(),
                    reason: None,
                }
            };
            applied = Some(change::apply(ticket, &change, actor)?);
        }
        for event in &mut ticket.events[before..] {
            event.rule = Some(self.name.clone());
        }
        if ticket.events.len() == before {
            return Err(ChangeError::NoChange(format!(
                "automation '{}' changed nothing",
                self.name
            )));
        }
        Ok(Applied {
            action: "automate",
            status: applied.and_then(|a| a.status),
            recorded: ticket.events.len() - before,
        })
    }

    /// Tells whether the rule closes tickets (what `tix autoclose` runs).
    pub fn closes(&self, statuses: &Statuses) -> bool {
        self.actions
            .set_status
            .as_deref()
            .and_then(|s| statuses.category(s))
            == Some(Category::Closed)
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
    use crate::change::NewTicket;
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
        let applied = close.apply(&mut t, &system).unwrap();
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
        let day = vec![crate::calendar::Hours::parse("09:00-17:00").unwrap()];
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
        let applied = wake.apply(&mut t, &system).unwrap();
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
}
