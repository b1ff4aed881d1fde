//! Triggers (docs/automation.md): rules that fire when something happens
//! to a ticket, inside the commit of the change that made it happen.
//!
//! Pure: the desk applies a change, then hands the ticket and the events
//! the change appended to [`fire`], which decides which triggers fire and
//! in what order; the desk's callback carries out each one's actions
//! (those that send mail need the desk).
//!
//! Evaluation follows Zendesk's cycle: triggers are tried in file order;
//! when one fires, its actions are applied and the cycle starts again from
//! the first trigger, with what the actions did counted as having happened
//! too (a trigger that sets a status fires the triggers `on`
//! `status_changed`). Each trigger fires at most once per change and
//! `stop = true` ends evaluation. So triggers firing triggers cannot loop:
//! every cycle but the last fires a trigger that has not fired yet, so a
//! change with N triggers runs at most N + 1 cycles and N firings.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

pub use pattern::{Lowered, Pattern};

mod pattern;

use crate::domain::calendar::Calendar;
use crate::domain::change::field_text;
use crate::domain::lifecycle::Statuses;
use crate::domain::rules::{Do, OneOrMany, When};
use crate::model::{Event, EventKind, Role, Ticket, Timestamp};

/// What a trigger fires on: what a change did.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum On {
    /// The ticket was created.
    Created,
    /// The customer wrote (not the first message of a new ticket).
    CustomerReplied,
    /// An agent (or a rule) wrote a public message.
    Replied,
    /// An internal note was added.
    Note,
    /// The status changed.
    StatusChanged,
    /// The assignee or the department changed.
    Assigned,
    /// A tag was added or removed.
    TagsChanged,
    /// `tix sla check` recorded a warning.
    SlaWarning,
    /// `tix sla check` recorded a breach.
    SlaBreach,
    /// A mail came in for the ticket (a new ticket or an answer).
    MailReceived,
}

impl On {
    /// Every name, for messages.
    pub const NAMES: &'static str = "created, customer_replied, replied, note, status_changed, \
         assigned, tags_changed, sla_warning, sla_breach, mail_received";
}

/// The set of [`On`]s, as bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Happened(u16);

impl Happened {
    fn insert(&mut self, on: On) {
        self.0 |= 1 << on as u16;
    }

    /// Tells whether `on` happened.
    pub fn contains(self, on: On) -> bool {
        self.0 & (1 << on as u16) != 0
    }

    /// Reads what the events a change appended did.
    pub fn of(events: &[Event]) -> Self {
        let mut set = Self::default();
        let created = events.iter().any(|e| e.kind == EventKind::Created);
        for (i, e) in events.iter().enumerate() {
            match e.kind {
                EventKind::Created => set.insert(On::Created),
                EventKind::Message if e.role == Role::Customer => {
                    // The first message of a new ticket is no reply.
                    let first =
                        created && !events[..i].iter().any(|p| p.kind == EventKind::Message);
                    if !first {
                        set.insert(On::CustomerReplied);
                    }
                    if e.raw.is_some() {
                        set.insert(On::MailReceived);
                    }
                }
                EventKind::Message if e.role == Role::Agent => set.insert(On::Replied),
                // A mail to the assignee is kept as a note; it is no note
                // an agent added.
                EventKind::Note if e.recipient.is_none() => set.insert(On::Note),
                EventKind::Status => set.insert(On::StatusChanged),
                EventKind::Assign | EventKind::Department => set.insert(On::Assigned),
                EventKind::Tag => set.insert(On::TagsChanged),
                EventKind::Sla if e.to.as_deref() == Some("warning") => set.insert(On::SlaWarning),
                EventKind::Sla if e.to.as_deref() == Some("breach") => set.insert(On::SlaBreach),
                _ => {}
            }
        }
        set
    }
}

/// A trigger's conditions: every listed one must hold, and at least one
/// group of `any` when given.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Status id(s).
    pub status: Option<OneOrMany>,
    /// Category name(s).
    pub category: Option<OneOrMany>,
    /// Priority name(s).
    pub priority: Option<OneOrMany>,
    /// Department name(s).
    pub department: Option<OneOrMany>,
    /// "none", "any", "me" (the agent making the change) or an agent.
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
    /// The subject matches this regular expression.
    pub subject_matches: Option<Pattern>,
    /// The newest public message matches this regular expression.
    pub body_matches: Option<Pattern>,
    /// The customer's address is at this domain (or a subdomain of it).
    pub customer_domain: Option<OneOrMany>,
    /// How the ticket came in: "mail" or "desk".
    pub channel: Option<OneOrMany>,
    /// Custom field values: `field.plan = "gold"` (or a list: any of them).
    #[serde(default)]
    pub field: BTreeMap<String, toml::Value>,
    /// Groups of conditions of which at least one must hold.
    #[serde(default)]
    pub any: Vec<Self>,
    /// The conditions shared with automations, made once.
    #[serde(skip)]
    shared: std::sync::OnceLock<When>,
}

/// One `[[trigger]]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Its name: the `Tix-Rule` trailer of the commits it adds to, so
    /// letters, digits, '.', '_' and '-' only.
    pub name: String,
    /// What it fires on.
    pub on: OnList,
    /// Conditions.
    #[serde(default)]
    pub when: Conditions,
    /// Actions.
    #[serde(rename = "do")]
    pub actions: Do,
    /// End evaluation once this trigger fires.
    #[serde(default)]
    pub stop: bool,
}

/// `on = "created"` or `on = ["created", "customer_replied"]`.
#[derive(Clone, Debug, PartialEq)]
pub struct OnList(Vec<On>);

impl OnList {
    /// The events.
    pub fn events(&self) -> &[On] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for OnList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = match OneOrMany::deserialize(d)? {
            OneOrMany::One(name) => vec![name],
            OneOrMany::Many(names) => names,
        };
        names
            .iter()
            .map(|name| {
                On::deserialize(
                    serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name),
                )
                .map_err(|_| {
                    serde::de::Error::custom(format!("unknown event '{name}'; use {}", On::NAMES))
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// What conditions are tested against besides the ticket.
pub struct Context<'a> {
    /// The desk's statuses.
    pub statuses: &'a Statuses,
    /// The moment of the change.
    pub now: Timestamp,
    /// The agent making the change (`assignee = "me"`): the customer's
    /// address for a mail, the automation identity in `tix sla check`.
    pub me: &'a str,
    /// Texts patterns have lowered during this evaluation.
    lowered: Lowered,
}

impl<'a> Context<'a> {
    /// The context of a change made by `me` at `now`.
    pub fn new(statuses: &'a Statuses, now: Timestamp, me: &'a str) -> Self {
        Self {
            statuses,
            now,
            me,
            lowered: Lowered::default(),
        }
    }
}

impl Conditions {
    /// The conditions triggers share with automations.
    fn shared(&self) -> &When {
        self.shared.get_or_init(|| When {
            status: self.status.clone(),
            category: self.category.clone(),
            priority: self.priority.clone(),
            department: self.department.clone(),
            assignee: self.assignee.clone(),
            tags_any: self.tags_any.clone(),
            tags_all: self.tags_all.clone(),
            tags_none: self.tags_none.clone(),
            last_message_role: self.last_message_role.clone(),
            idle_since: None,
            postponed_until_passed: None,
        })
    }

    /// Tells whether the conditions hold for `ticket`.
    pub fn holds(&self, ticket: &Ticket, cx: &Context<'_>) -> bool {
        let shared = self.shared();
        let one = |cond: &Option<OneOrMany>, value: &str| {
            cond.as_ref().is_none_or(|c| c.values().contains(&value))
        };
        let domain_ok = self.customer_domain.as_ref().is_none_or(|domains| {
            let domain = ticket
                .customer
                .email
                .as_deref()
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, d)| d.to_ascii_lowercase());
            domain.is_some_and(|d| {
                domains.values().iter().any(|want| {
                    let want = want.to_ascii_lowercase();
                    d == want || d.ends_with(&format!(".{want}"))
                })
            })
        });
        let fields_ok = self.field.iter().all(|(name, want)| {
            let Some(have) = ticket.fields.get(name) else {
                return false;
            };
            let have = field_text(have);
            match want {
                toml::Value::Array(options) => options.iter().any(|o| field_text(o) == have),
                want => field_text(want) == have,
            }
        });
        // No shared condition of a trigger counts business hours.
        let calendar = Calendar::always();
        shared.holds(ticket, cx.statuses, cx.now, &calendar, Some(cx.me))
            && domain_ok
            && one(&self.channel, channel(ticket))
            && fields_ok
            && self
                .subject_matches
                .as_ref()
                .is_none_or(|p| p.is_match_in(&ticket.subject, &cx.lowered))
            && self.body_matches.as_ref().is_none_or(|p| {
                newest_message(ticket).is_some_and(|body| p.is_match_in(body, &cx.lowered))
            })
            && (self.any.is_empty() || self.any.iter().any(|group| group.holds(ticket, cx)))
    }
}

/// How a ticket came in: `mail` when its first message came by mail, else
/// `desk` (an agent entered it).
pub fn channel(ticket: &Ticket) -> &'static str {
    let first = ticket.events.iter().find(|e| e.kind == EventKind::Message);
    if first.is_some_and(|e| e.raw.is_some()) {
        "mail"
    } else {
        "desk"
    }
}

/// The text of the newest public message.
fn newest_message(ticket: &Ticket) -> Option<&str> {
    ticket
        .events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Message && e.role != Role::System && e.rule.is_none())
        .and_then(|e| e.body.as_deref())
}

/// Fires `triggers` on a change whose events start at `before` in
/// `ticket`: `act` carries out a firing trigger's actions (adding events,
/// which count as happened for the triggers after it) and tells whether
/// it did (false: it left the trigger out and the ticket as it was).
/// Returns the names of the triggers that fired, in order. An error from
/// `act` ends it.
pub fn fire<E>(
    triggers: &[Trigger],
    ticket: &mut Ticket,
    before: usize,
    cx: &Context<'_>,
    act: &mut dyn FnMut(&Trigger, &mut Ticket) -> Result<bool, E>,
) -> Result<Vec<String>, E> {
    let mut fired = vec![false; triggers.len()];
    let mut names = Vec::new();
    'cycle: loop {
        let happened = Happened::of(ticket.events.get(before..).unwrap_or_default());
        for (i, trigger) in triggers.iter().enumerate() {
            if fired[i]
                || !trigger.on.events().iter().any(|on| happened.contains(*on))
                || !trigger.when.holds(ticket, cx)
            {
                continue;
            }
            fired[i] = true;
            if !act(trigger, ticket)? {
                // Left out: the ticket is as it was; go on.
                continue;
            }
            names.push(trigger.name.clone());
            if trigger.stop {
                break 'cycle;
            }
            continue 'cycle;
        }
        break;
    }
    Ok(names)
}

/// One `[[macro]]`: actions an agent applies in one go (`tix macro NAME
/// ID`), with an optional reply from a template.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Macro {
    /// Its name, as `tix macro NAME` takes it.
    pub name: String,
    /// What it is for, shown by `tix macro --list`.
    pub description: Option<String>,
    /// The template of the reply it sends (`templates/NAME.txt`).
    pub template: Option<String>,
    /// Its actions.
    #[serde(rename = "do", default)]
    pub actions: Do,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{self, Actor, Change, NewTicket};
    use crate::model::{Customer, TicketId};

    const NOW: &str = "2025-03-03T09:00:00Z";

    fn triggers(text: &str) -> Vec<Trigger> {
        #[derive(Deserialize)]
        struct File {
            trigger: Vec<Trigger>,
        }
        toml::from_str::<File>(text).unwrap().trigger
    }

    fn actor(statuses: &Statuses) -> Actor<'_> {
        Actor {
            id: "ana@desk",
            role: Role::Agent,
            now: NOW.parse().unwrap(),
            statuses,
        }
    }

    fn new_ticket(statuses: &Statuses, subject: &str, email: &str) -> Ticket {
        let new = NewTicket {
            subject: subject.into(),
            body: Some("The printer is on fire".into()),
            customer: Customer {
                email: Some(email.into()),
                ..Customer::default()
            },
            ..NewTicket::default()
        };
        change::create("k3x9p2".parse::<TicketId>().unwrap(), new, &actor(statuses))
            .unwrap()
            .0
    }

    /// Fires `list` on the whole of `ticket` as a new ticket, applying
    /// each trigger's plain actions; returns the names fired.
    fn run(list: &[Trigger], ticket: &mut Ticket, statuses: &Statuses) -> Vec<String> {
        let cx = Context::new(statuses, NOW.parse().unwrap(), "ana@desk");
        let rule_actor = actor(statuses);
        fire(
            list,
            ticket,
            0,
            &cx,
            &mut |t: &Trigger, ticket: &mut Ticket| match t.actions.apply(
                Some(&t.name),
                ticket,
                &rule_actor,
                None,
            ) {
                Ok(_) | Err(change::ChangeError::NoChange(_)) => Ok(true),
                Err(e) => Err(e),
            },
        )
        .unwrap()
    }

    #[test]
    fn what_a_change_did_is_read_from_its_events() {
        let statuses = Statuses::builtin();
        let mut t = new_ticket(&statuses, "Printer", "bo@ex.com");
        let created = Happened::of(&t.events);
        assert!(created.contains(On::Created));
        assert!(
            !created.contains(On::CustomerReplied),
            "the first message of a new ticket is no reply"
        );
        let before = t.events.len();
        let reply = Change::CustomerReply {
            body: "Still broken".into(),
        };
        change::apply(&mut t, &reply, &actor(&statuses)).unwrap();
        let replied = Happened::of(&t.events[before..]);
        assert!(replied.contains(On::CustomerReplied));
        assert!(!replied.contains(On::Created));
        assert!(!replied.contains(On::MailReceived), "not by mail");
    }

    #[test]
    fn conditions_on_domain_subject_body_fields_and_any_groups() {
        let statuses = Statuses::builtin();
        let cx = Context::new(&statuses, NOW.parse().unwrap(), "ana@desk");
        let mut t = new_ticket(&statuses, "Site DOWN since noon", "bo@mail.BigCorp.com");
        t.fields
            .insert("plan".into(), toml::Value::String("gold".into()));
        let when = |text: &str| -> Conditions { toml::from_str(text).unwrap() };
        assert!(
            when("customer_domain = \"bigcorp.com\"").holds(&t, &cx),
            "subdomains count"
        );
        assert!(
            !when("customer_domain = \"corp.com\"").holds(&t, &cx),
            "not a suffix of a label"
        );
        assert!(when("subject_matches = \"(?i)down\"").holds(&t, &cx));
        assert!(
            !when("subject_matches = \"down\"").holds(&t, &cx),
            "case counts unless (?i)"
        );
        assert!(when("body_matches = \"on fire\"").holds(&t, &cx));
        assert!(when("field.plan = \"gold\"").holds(&t, &cx));
        assert!(when("field.plan = [\"silver\", \"gold\"]").holds(&t, &cx));
        assert!(
            !when("field.region = \"eu\"").holds(&t, &cx),
            "a field the ticket lacks"
        );
        assert!(when("channel = \"desk\"").holds(&t, &cx));
        assert!(!when("channel = \"mail\"").holds(&t, &cx));
        assert!(when("assignee = \"none\"").holds(&t, &cx));
        let any = when(
            "priority = \"normal\"\nany = [{ tags_any = [\"vip\"] }, { subject_matches = \"DOWN\" }]",
        );
        assert!(any.holds(&t, &cx), "the second group holds");
        let none = when("any = [{ tags_any = [\"vip\"] }, { category = \"closed\" }]");
        assert!(!none.holds(&t, &cx));
    }

    #[test]
    fn a_pattern_that_does_not_parse_is_refused_with_the_reason() {
        let err = Pattern::new("(unclosed").unwrap_err();
        assert!(
            err.contains("(unclosed") && err.contains("not a regular expression"),
            "{err}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(Pattern::new(r"\bvip\b").unwrap().is_match("a vip customer"));
    }

    #[test]
    fn triggers_fire_in_file_order_and_see_what_earlier_ones_did() {
        let statuses = Statuses::builtin();
        let list = triggers(
            r#"
[[trigger]]
name = "escalate"
on = "tags_changed"
when = { tags_all = ["vip"] }
do = { set_priority = "urgent" }

[[trigger]]
name = "vip"
on = "created"
when = { customer_domain = "bigcorp.com" }
do = { add_tags = ["vip"] }
"#,
        );
        let mut t = new_ticket(&statuses, "Printer", "bo@bigcorp.com");
        // "vip" fires on the creation; its tag is a tags_changed, so the
        // cycle starts again and "escalate" fires.
        assert_eq!(run(&list, &mut t, &statuses), ["vip", "escalate"]);
        assert_eq!(t.priority.as_str(), "urgent");
        let rules: Vec<_> = t.events.iter().filter_map(|e| e.rule.as_deref()).collect();
        assert_eq!(rules, ["vip", "escalate"], "each event names its trigger");
    }

    /// Triggers that undo each other would ping-pong forever if each could
    /// fire again: each fires once per change, so a change runs at most
    /// N + 1 cycles.
    #[test]
    fn triggers_that_undo_each_other_fire_once_each_and_stop() {
        let statuses = Statuses::builtin();
        let list = triggers(
            r#"
[[trigger]]
name = "add"
on = ["created", "tags_changed"]
when = { tags_none = ["flag"] }
do = { add_tags = ["flag"] }

[[trigger]]
name = "remove"
on = "tags_changed"
when = { tags_all = ["flag"] }
do = { remove_tags = ["flag"] }

[[trigger]]
name = "self"
on = ["created", "tags_changed", "note"]
do = { add_note = "again", add_tags = ["seen"] }
"#,
        );
        let mut t = new_ticket(&statuses, "Printer", "bo@ex.com");
        let fired = run(&list, &mut t, &statuses);
        assert_eq!(fired, ["add", "remove", "self"]);
        assert!(!t.tags.contains("flag"), "removed once, not added back");
        let notes = t
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Note)
            .count();
        assert_eq!(
            notes, 1,
            "a trigger its own note would fire again fires once"
        );
    }

    #[test]
    fn stop_ends_evaluation() {
        let statuses = Statuses::builtin();
        let list = triggers(
            r#"
[[trigger]]
name = "first"
on = "created"
do = { add_tags = ["a"] }
stop = true

[[trigger]]
name = "second"
on = "created"
do = { add_tags = ["b"] }
"#,
        );
        let mut t = new_ticket(&statuses, "Printer", "bo@ex.com");
        assert_eq!(run(&list, &mut t, &statuses), ["first"]);
        assert!(!t.tags.contains("b"));
    }

    #[test]
    fn a_trigger_on_something_else_does_not_fire() {
        let statuses = Statuses::builtin();
        let list = triggers(
            r#"
[[trigger]]
name = "on-breach"
on = ["sla_breach", "mail_received"]
do = { add_tags = ["late"] }
"#,
        );
        let mut t = new_ticket(&statuses, "Printer", "bo@ex.com");
        assert!(run(&list, &mut t, &statuses).is_empty());
    }
}
