//! A filter checked against the desk, then matched against ticket
//! summaries: what `tix list` and `tix queue` run.
//!
//! Checking reads a filter's names (statuses, categories, custom fields)
//! against the desk and its times at the moment the listing shows, once;
//! matching then only compares values, so a listing of cached summaries
//! parses no ticket (only a text search reads whole tickets). The config
//! runs the same check on each `[[view]]` as it loads, so a view that
//! loads is a view that runs.

use super::{Assignee, Filter, mentions};
use crate::domain::entry::ListEntry;
use crate::domain::fields::{FieldDef, form_field};
use crate::domain::lifecycle::{Category, Statuses};
use crate::model::{Priority, Ticket, Timestamp};

/// What is wrong with one key of a filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProblem {
    /// The key, as `tix.toml` names it (`created_after`).
    pub key: &'static str,
    /// What is wrong.
    pub message: String,
}

/// A filter whose names the desk knows and whose times are read.
#[derive(Debug)]
pub struct Checked {
    statuses: Vec<String>,
    categories: Vec<Category>,
    priorities: Vec<Priority>,
    assignee: Option<Who>,
    department: Option<String>,
    tags: Vec<String>,
    /// Lowercase.
    customer: Option<String>,
    fields: Vec<FieldFilter>,
    pending: bool,
    /// Lowercase.
    search: Option<String>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    updated_after: Option<Timestamp>,
    updated_before: Option<Timestamp>,
    all: bool,
}

/// An assignee filter, owned.
#[derive(Debug)]
enum Who {
    Nobody,
    Me,
    Agent(String),
}

impl Filter {
    /// Checks the filter's statuses, categories and custom fields against
    /// the desk's (`form`: the ticket form, empty when the desk has none,
    /// and then any field is compared as text) and reads its times at
    /// `now`. Returns every problem, in the order of the keys.
    pub fn check(
        &self,
        statuses: &Statuses,
        form: &[FieldDef],
        now: Timestamp,
    ) -> Result<Checked, Vec<KeyProblem>> {
        let mut problems = Vec::new();
        let mut problem = |key, message| problems.push(KeyProblem { key, message });
        for status in &self.status {
            if statuses.get(status).is_none() {
                let known: Vec<&str> = statuses.iter().map(|s| s.id.as_str()).collect();
                problem(
                    "status",
                    format!("unknown status '{status}': use {}", known.join(", ")),
                );
            }
        }
        let mut categories = Vec::new();
        for name in &self.category {
            match Category::parse(name) {
                Some(category) => categories.push(category),
                None => problem(
                    "category",
                    format!(
                        "unknown category '{name}': use new, open, waiting, on_hold, solved or closed"
                    ),
                ),
            }
        }
        if let (true, Some(who)) = (self.me, &self.assignee)
            && who != "me"
        {
            problem(
                "me",
                format!("me = true and assignee = '{who}' both say whose tickets: keep one"),
            );
        }
        let fields = field_filters(form, &self.field, &mut problem);
        let mut time = |key, text: &Option<String>| {
            let text = text.as_deref()?;
            Timestamp::parse_past(text, now)
                .map_err(|e| problem(key, e.to_string()))
                .ok()
        };
        let created_after = time("created_after", &self.created_after);
        let created_before = time("created_before", &self.created_before);
        let updated_after = time("updated_after", &self.updated_after);
        let updated_before = time("updated_before", &self.updated_before);
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Checked {
            statuses: self.status.clone(),
            categories,
            priorities: self.priority.clone(),
            assignee: self.assignee().map(|who| match who {
                Assignee::Nobody => Who::Nobody,
                Assignee::Me => Who::Me,
                Assignee::Agent(agent) => Who::Agent(agent.to_owned()),
            }),
            department: self.department.clone(),
            tags: self.tag.clone(),
            customer: self.customer.as_deref().map(str::to_lowercase),
            fields,
            pending: self.pending,
            search: self.search.as_deref().map(str::to_lowercase),
            created_after,
            created_before,
            updated_after,
            updated_before,
            all: self.all,
        })
    }
}

impl Checked {
    /// Tells whether the ticket meets every key but `all` (closed tickets
    /// are the [`Selection`]'s to decide) and `search` (which needs the
    /// whole ticket). `me` lists the names the acting agent goes by.
    fn matches(&self, t: &ListEntry, me: &[String]) -> bool {
        let before = |at: Option<Timestamp>, limit: Option<Timestamp>| {
            limit.is_none_or(|l| at.is_some_and(|a| a < l))
        };
        let after = |at: Option<Timestamp>, limit: Option<Timestamp>| {
            limit.is_none_or(|l| at.is_some_and(|a| a >= l))
        };
        let contains = |hay: &Option<String>, needle: &str| {
            hay.as_deref()
                .is_some_and(|h| h.to_lowercase().contains(needle))
        };
        (self.statuses.is_empty() || self.statuses.contains(&t.status))
            && (self.categories.is_empty()
                || t.category.is_some_and(|c| self.categories.contains(&c)))
            && (self.priorities.is_empty() || self.priorities.contains(&t.priority))
            && match &self.assignee {
                None => true,
                Some(Who::Nobody) => t.assignee.is_none(),
                Some(Who::Me) => t.assignee.as_ref().is_some_and(|a| me.contains(a)),
                Some(Who::Agent(who)) => t.assignee.as_ref() == Some(who),
            }
            && self
                .department
                .as_ref()
                .is_none_or(|d| t.department.as_ref() == Some(d))
            && self.tags.iter().all(|tag| t.tags.contains(tag))
            && self
                .customer
                .as_deref()
                .is_none_or(|c| contains(&t.customer_name, c) || contains(&t.customer_email, c))
            && (!self.pending || t.is_pending())
            && self.fields.iter().all(|f| f.matches(t))
            && after(t.created, self.created_after)
            && before(t.created, self.created_before)
            && after(t.updated, self.updated_after)
            && before(t.updated, self.updated_before)
    }

    /// Tells whether this filter asks for closed tickets: `all`, the
    /// closed category, or this ticket's status by name.
    fn asks_for_closed(&self, status: &str) -> bool {
        self.all
            || self.categories.contains(&Category::Closed)
            || self.statuses.iter().any(|s| s == status)
    }
}

/// Checked filters that must all hold (a view and the flags given with
/// it), and who "me" is.
#[derive(Debug)]
pub struct Selection {
    parts: Vec<Checked>,
    me: Vec<String>,
}

impl Selection {
    /// Every filter of `parts` must hold; `me` lists the names the acting
    /// agent goes by (its address, its name), for `me` filters.
    pub fn new(parts: Vec<Checked>, me: Vec<String>) -> Self {
        Self { parts, me }
    }

    /// Tells whether a closed ticket could be shown, so that a listing
    /// that cannot show one never reads them: a filter asks for `all`,
    /// the closed category, or names a status (a custom status may be a
    /// closed one).
    pub fn may_show_closed(&self) -> bool {
        self.parts
            .iter()
            .any(|p| p.all || !p.statuses.is_empty() || p.categories.contains(&Category::Closed))
    }

    /// Tells whether the summary of a ticket meets every filter. A closed
    /// ticket is shown only when a filter asks for it. A text search is
    /// left to [`Self::found_in`].
    pub fn matches(&self, t: &ListEntry) -> bool {
        if t.category == Some(Category::Closed)
            && !self.parts.iter().any(|p| p.asks_for_closed(&t.status))
        {
            return false;
        }
        self.parts.iter().all(|p| p.matches(t, &self.me))
    }

    /// Tells whether some filter searches text, which needs whole tickets.
    pub fn searches(&self) -> bool {
        self.parts.iter().any(|p| p.search.is_some())
    }

    /// Tells whether a whole ticket holds every text searched for.
    pub fn found_in(&self, ticket: &Ticket) -> bool {
        self.parts
            .iter()
            .filter_map(|p| p.search.as_deref())
            .all(|needle| mentions(ticket, needle))
    }
}

/// The `field` filters on one key: any of its values matches.
#[derive(Debug)]
struct FieldFilter {
    name: String,
    /// The field of the ticket form; `None` without a form (text match).
    def: Option<FieldDef>,
    wanted: Vec<Wanted>,
}

/// One wanted value of a field.
#[derive(Debug)]
enum Wanted {
    /// An empty value: the field is not set.
    Unset,
    /// Without a ticket form: the stored text.
    Text(String),
    /// A value of the field's type.
    Value(toml::Value),
}

impl FieldFilter {
    fn matches(&self, entry: &ListEntry) -> bool {
        let stored = entry
            .fields
            .iter()
            .find(|(name, _)| *name == self.name)
            .map(|(_, text)| text.as_str());
        self.wanted.iter().any(|wanted| match (wanted, stored) {
            (Wanted::Unset, stored) => stored.is_none(),
            (_, None) => false,
            (Wanted::Text(text), Some(stored)) => stored == text,
            (Wanted::Value(value), Some(stored)) => self.def.as_ref().is_some_and(|def| {
                def.parse_value(stored)
                    .is_ok_and(|stored| def.same_value(&stored, value))
            }),
        })
    }
}

/// Groups `field` filters by key and reads each value as its field's
/// type, so a listing compares values, not spellings. Without a ticket
/// form, values are compared as text.
fn field_filters(
    form: &[FieldDef],
    given: &[(String, String)],
    problem: &mut impl FnMut(&'static str, String),
) -> Vec<FieldFilter> {
    let mut filters: Vec<FieldFilter> = Vec::new();
    for (name, text) in given {
        let def = if form.is_empty() {
            None
        } else {
            match form_field(form, name) {
                Ok(def) => Some(def),
                Err(message) => {
                    problem("field", message);
                    continue;
                }
            }
        };
        let wanted = match def {
            _ if text.trim().is_empty() => Wanted::Unset,
            None => Wanted::Text(text.clone()),
            Some(def) => match def.parse_value(text) {
                Ok(value) => Wanted::Value(value),
                Err(message) => {
                    problem("field", message);
                    continue;
                }
            },
        };
        match filters.iter_mut().find(|f| f.name == *name) {
            Some(filter) => filter.wanted.push(wanted),
            None => filters.push(FieldFilter {
                name: name.clone(),
                def: def.cloned(),
                wanted: vec![wanted],
            }),
        }
    }
    filters
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{self, Actor, NewTicket};
    use crate::model::Role;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// A new ticket's summary, created at `created`.
    fn entry(created: &str) -> ListEntry {
        let statuses = Statuses::builtin();
        let new = NewTicket {
            subject: "x".into(),
            ..NewTicket::default()
        };
        let actor = Actor {
            id: "ana@desk.test",
            role: Role::Agent,
            now: at(created),
            statuses: &statuses,
        };
        let ticket = change::create("k3x9p2".parse().unwrap(), new, &actor)
            .unwrap()
            .0;
        ListEntry::of(&ticket, &statuses)
    }

    fn closed(mut entry: ListEntry) -> ListEntry {
        entry.status = "closed".to_owned();
        entry.category = Some(Category::Closed);
        entry
    }

    fn select(parts: &[&Filter], me: &[&str]) -> Selection {
        let now = at("2025-03-10T00:00:00Z");
        let parts = parts
            .iter()
            .map(|f| f.check(&Statuses::builtin(), &[], now).unwrap())
            .collect();
        Selection::new(parts, me.iter().map(|m| (*m).to_owned()).collect())
    }

    fn filter(toml: &str) -> Filter {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn a_closed_ticket_shows_when_either_filter_asks_for_it() {
        let ticket = closed(entry("2025-03-01T00:00:00Z"));
        let none = Filter::default();
        assert!(!select(&[&none], &[]).matches(&ticket));
        assert!(!select(&[&none], &[]).may_show_closed());
        for asks in ["all = true", "status = \"closed\"", "category = \"closed\""] {
            let view = filter(asks);
            let both = select(&[&view, &none], &[]);
            assert!(both.may_show_closed(), "{asks}");
            assert!(both.matches(&ticket), "{asks}");
            assert!(select(&[&none, &view], &[]).matches(&ticket), "{asks}");
        }
        // Naming another status is no reason to show this closed ticket.
        let other = select(&[&filter("status = \"new\"")], &[]);
        assert!(other.may_show_closed() && !other.matches(&ticket));
    }

    #[test]
    fn every_filter_must_hold() {
        let mut ticket = entry("2025-03-01T00:00:00Z");
        ticket.priority = Priority::Urgent;
        ticket.tags = vec!["vip".to_owned()];
        let view = filter("priority = [\"high\", \"urgent\"]");
        assert!(select(&[&view, &filter("tag = \"vip\"")], &[]).matches(&ticket));
        assert!(!select(&[&view, &filter("tag = \"hw\"")], &[]).matches(&ticket));
        assert!(!select(&[&view, &filter("priority = \"low\"")], &[]).matches(&ticket));
    }

    #[test]
    fn me_is_any_name_the_agent_goes_by_and_none_is_unassigned() {
        let mut ticket = entry("2025-03-01T00:00:00Z");
        let mine = filter("assignee = \"me\"");
        assert!(!select(&[&mine], &["ana@desk.test"]).matches(&ticket));
        assert!(select(&[&filter("assignee = \"none\"")], &[]).matches(&ticket));
        ticket.assignee = Some("ana@desk.test".to_owned());
        assert!(select(&[&mine], &["ana@desk.test", "Ana"]).matches(&ticket));
        assert!(!select(&[&mine], &["raj@desk.test"]).matches(&ticket));
        assert!(!select(&[&filter("assignee = \"none\"")], &[]).matches(&ticket));
        assert!(select(&[&filter("assignee = \"ana@desk.test\"")], &[]).matches(&ticket));
    }

    #[test]
    fn times_count_back_from_now_and_bound_as_the_flags_do() {
        // now is 2025-03-10: 7d is 2025-03-03.
        let old = entry("2025-03-02T23:59:59Z");
        let new = entry("2025-03-03T00:00:00Z");
        let recent = select(&[&filter("created_after = \"7d\"")], &[]);
        assert!(!recent.matches(&old) && recent.matches(&new));
        let stale = select(&[&filter("created_before = \"7d\"")], &[]);
        assert!(stale.matches(&old) && !stale.matches(&new));
        let dated = select(&[&filter("created_after = \"2025-03-03\"")], &[]);
        assert!(!dated.matches(&old) && dated.matches(&new));
    }

    #[test]
    fn every_problem_is_named_by_its_key() {
        let bad = filter(
            "status = [\"new\", \"frozen\"]\ncategory = \"limbo\"\nme = true\nassignee = \"kim\"\nfield = { plan = \"pro\" }\nupdated_before = \"last week\"\n",
        );
        let problems = bad
            .check(&Statuses::builtin(), &[], Timestamp::EPOCH)
            .unwrap_err();
        let keys: Vec<&str> = problems.iter().map(|p| p.key).collect();
        assert_eq!(keys, ["status", "category", "me", "updated_before"]);
        assert!(
            problems[0]
                .message
                .starts_with("unknown status 'frozen': use ")
        );
        assert_eq!(
            problems[1].message,
            "unknown category 'limbo': use new, open, waiting, on_hold, solved or closed"
        );
        assert!(problems[3].message.contains("'last week'"), "{problems:?}");
        // With a ticket form, a field it lacks, or a value its type refuses.
        let form = [crate::domain::fields::FieldDef {
            name: "seats".to_owned(),
            label: None,
            kind: crate::domain::fields::FieldKind::Number,
            required: false,
            choices: Vec::new(),
            default: None,
        }];
        let fields = filter("field = { plan = \"pro\", seats = \"many\" }");
        let problems = fields
            .check(&Statuses::builtin(), &form, Timestamp::EPOCH)
            .unwrap_err();
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "unknown field 'plan': the ticket form has seats",
                "field 'seats' must be a number, not 'many'"
            ]
        );
    }
}
