//! Routing at creation and assignment inside a department (SPEC §5).
//!
//! Pure: the caller passes the configuration, the new ticket and the
//! summaries of existing tickets (for least-loaded and round-robin).
//! Rules: every routing rule whose conditions all hold applies, in file
//! order; the first rule to set a department or a priority wins it, tags
//! add up; values given explicitly on the command line win over routing.

use crate::change::NewTicket;
use crate::config::{Assignment, Config, RouteWhen};
use crate::entry::ListEntry;

/// What the command line set explicitly (routing must not override it).
#[derive(Clone, Copy, Debug, Default)]
pub struct Explicit {
    /// `--department` was given.
    pub department: bool,
    /// `--priority` was given.
    pub priority: bool,
}

/// Applies the routing rules to a ticket about to be created; returns the
/// names of the rules that matched.
pub fn route(config: &Config, new: &mut NewTicket, explicit: Explicit) -> Vec<String> {
    let mut matched = Vec::new();
    let mut department_set = explicit.department;
    let mut priority_set = explicit.priority;
    for rule in &config.routing {
        if !matches(&rule.when, new) {
            continue;
        }
        matched.push(rule.name.clone());
        if let Some(department) = &rule.set.department
            && !department_set
        {
            new.department = Some(department.clone());
            department_set = true;
        }
        if let Some(priority) = rule.set.priority
            && !priority_set
        {
            new.priority = priority;
            priority_set = true;
        }
        for tag in &rule.set.add_tags {
            if !new.tags.contains(tag) {
                new.tags.push(tag.clone());
            }
        }
    }
    matched
}

fn matches(when: &RouteWhen, new: &NewTicket) -> bool {
    let contains_any = |text: &str, words: &[String]| {
        let text = text.to_lowercase();
        words.iter().any(|w| text.contains(&w.to_lowercase()))
    };
    let domain = new
        .customer
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.to_lowercase());
    (when.customer_domain.is_empty()
        || domain.is_some_and(|d| when.customer_domain.iter().any(|w| w.to_lowercase() == d)))
        && (when.subject_matches.is_empty() || contains_any(&new.subject, &when.subject_matches))
        && (when.body_matches.is_empty()
            || contains_any(new.body.as_deref().unwrap_or_default(), &when.body_matches))
        && (when.tags_any.is_empty() || when.tags_any.iter().any(|t| new.tags.contains(t)))
        && (when.priority.is_empty() || when.priority.contains(&new.priority))
}

/// Chooses the agent for a new ticket in `department` by the department's
/// assignment mode; `None` when it assigns nobody or has no agents.
///
/// - least_loaded: the agent with the fewest active tickets (new, open,
///   waiting, on hold) assigned; ties go to the agent listed first.
/// - round_robin: the agent with the fewest tickets of this department
///   ever assigned (any status); ties go to the agent listed first. With
///   every ticket routed this way that is a strict rotation in `[[agent]]`
///   order, and it is derived from the tickets themselves (no counter to
///   merge), so every clone computes the same turn.
pub fn pick_agent(config: &Config, department: &str, tickets: &[ListEntry]) -> Option<String> {
    let mode = config.department(department)?.assignment;
    pick_agent_by(config, department, mode, tickets)
}

/// [`pick_agent`] by the given mode instead of the department's own (an
/// automation's `assign = "round_robin"` in a department that leaves new
/// tickets unassigned).
pub fn pick_agent_by(
    config: &Config,
    department: &str,
    mode: Assignment,
    tickets: &[ListEntry],
) -> Option<String> {
    let pool: Vec<&str> = config
        .agents
        .iter()
        .filter(|a| a.departments.iter().any(|d| d == department))
        .map(|a| a.email.as_str())
        .collect();
    if pool.is_empty() {
        return None;
    }
    match mode {
        Assignment::None => None,
        Assignment::LeastLoaded => {
            let load = |agent: &str| {
                tickets
                    .iter()
                    .filter(|t| {
                        t.assignee.as_deref() == Some(agent)
                            && t.category.is_some_and(|c| c.is_active())
                    })
                    .count()
            };
            pool.iter().min_by_key(|a| load(a)).map(|a| (*a).to_owned())
        }
        Assignment::RoundRobin => {
            let turns = |agent: &str| {
                tickets
                    .iter()
                    .filter(|t| {
                        t.department.as_deref() == Some(department)
                            && t.assignee.as_deref() == Some(agent)
                    })
                    .count()
            };
            pool.iter()
                .min_by_key(|a| turns(a))
                .map(|a| (*a).to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Category;
    use crate::model::{Customer, Priority, Timestamp};

    const CONFIG: &str = r#"
[[department]]
name = "billing"
assignment = "round_robin"

[[department]]
name = "tech"
assignment = "least_loaded"

[[agent]]
name = "Ana"
email = "ana@desk"
departments = ["billing", "tech"]

[[agent]]
name = "Raj"
email = "raj@desk"
departments = ["billing", "tech"]

[[routing]]
name = "bank"
when = { customer_domain = ["bank.example"] }
set = { department = "billing", priority = "high", add_tags = ["finance"] }

[[routing]]
name = "refunds"
when = { subject_matches = ["REFUND"] }
set = { department = "tech", add_tags = ["refund"] }
"#;

    fn new(subject: &str, email: &str) -> NewTicket {
        NewTicket {
            subject: subject.into(),
            customer: Customer {
                email: Some(email.into()),
                ..Customer::default()
            },
            ..NewTicket::default()
        }
    }

    fn entry(
        id: &str,
        department: &str,
        assignee: &str,
        created: i64,
        category: Category,
    ) -> ListEntry {
        ListEntry {
            id: id.parse().unwrap(),
            subject: String::new(),
            status: category.default_status().into(),
            category: Some(category),
            priority: Priority::Normal,
            assignee: Some(assignee.into()),
            department: Some(department.into()),
            tags: vec![],
            customer_name: None,
            customer_email: None,
            fields: vec![],
            created: Timestamp::from_unix(created),
            updated: None,
            first_reply: None,
            last_customer: None,
            status_changed: None,
            postponed_until: None,
            reopens: 0,
            replies: 0,
        }
    }

    #[test]
    fn rules_apply_in_order_first_department_wins_tags_add_up() {
        let config = Config::parse(CONFIG).unwrap();
        let mut t = new("Refund please", "bo@bank.example");
        assert_eq!(
            route(&config, &mut t, Explicit::default()),
            ["bank", "refunds"]
        );
        assert_eq!(t.department.as_deref(), Some("billing"));
        assert_eq!(t.priority, Priority::High);
        assert_eq!(t.tags, ["finance", "refund"]);
    }

    #[test]
    fn explicit_values_beat_routing() {
        let config = Config::parse(CONFIG).unwrap();
        let mut t = new("Hello", "bo@bank.example");
        t.department = Some("tech".into());
        route(
            &config,
            &mut t,
            Explicit {
                department: true,
                priority: false,
            },
        );
        assert_eq!(t.department.as_deref(), Some("tech"));
        let mut other = new("Hello", "bo@elsewhere.example");
        assert!(route(&config, &mut other, Explicit::default()).is_empty());
        assert_eq!(other.department, None);
    }

    #[test]
    fn round_robin_rotates_in_agent_order_counting_every_status() {
        let config = Config::parse(CONFIG).unwrap();
        let pick = |tickets: &[ListEntry]| pick_agent(&config, "billing", tickets);
        assert_eq!(pick(&[]).as_deref(), Some("ana@desk"));
        let one = [entry(
            "aaaaaa",
            "billing",
            "ana@desk",
            100,
            Category::Closed,
        )];
        assert_eq!(pick(&one).as_deref(), Some("raj@desk"));
        let two = [
            one[0].clone(),
            entry("bbbbbb", "billing", "raj@desk", 200, Category::Open),
        ];
        assert_eq!(pick(&two).as_deref(), Some("ana@desk"), "wraps around");
        let elsewhere = [entry("cccccc", "tech", "ana@desk", 300, Category::Open)];
        assert_eq!(
            pick(&elsewhere).as_deref(),
            Some("ana@desk"),
            "other departments do not count"
        );
    }

    #[test]
    fn least_loaded_counts_active_tickets_and_breaks_ties_by_order() {
        let config = Config::parse(CONFIG).unwrap();
        assert_eq!(
            pick_agent(&config, "tech", &[]).as_deref(),
            Some("ana@desk")
        );
        let tickets = [
            entry("aaaaaa", "tech", "ana@desk", 1, Category::Open),
            entry("bbbbbb", "tech", "raj@desk", 2, Category::Closed),
            entry("cccccc", "tech", "raj@desk", 3, Category::Solved),
        ];
        assert_eq!(
            pick_agent(&config, "tech", &tickets).as_deref(),
            Some("raj@desk")
        );
    }
}
