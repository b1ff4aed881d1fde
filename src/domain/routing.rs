//! Routing at creation and assignment inside a department
//! (docs/configuration.md, "Routing").
//!
//! Pure: the caller passes the configuration, the new ticket and the
//! summaries of existing tickets (for least-loaded and round-robin).
//! Rules: every routing rule whose conditions all hold applies, in file
//! order; the first rule to set a department or a priority wins it, tags
//! add up; values given explicitly on the command line win over routing.
//! A rule sees what earlier rules did (their tags and priority). Keywords
//! match whole words in any case; a domain matches its subdomains too.

use serde::Deserialize;

use crate::domain::change::NewTicket;
use crate::domain::entry::ListEntry;
use crate::model::Priority;

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
pub fn route(rules: &[RoutingRule], new: &mut NewTicket, explicit: Explicit) -> Vec<String> {
    let mut matched = Vec::new();
    let mut department_set = explicit.department;
    let mut priority_set = explicit.priority;
    for rule in rules {
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
        words
            .iter()
            .any(|w| contains_word(&text, &w.to_lowercase()))
    };
    let domain = new
        .customer
        .email
        .as_deref()
        .and_then(|e| e.rsplit_once('@'))
        .map(|(_, d)| d.trim().to_lowercase());
    (when.customer_domain.is_empty()
        || domain.is_some_and(|d| when.customer_domain.iter().any(|w| in_domain(&d, w))))
        && (when.subject_matches.is_empty() || contains_any(&new.subject, &when.subject_matches))
        && (when.body_matches.is_empty()
            || contains_any(new.body.as_deref().unwrap_or_default(), &when.body_matches))
        && (when.tags_any.is_empty() || when.tags_any.iter().any(|t| new.tags.contains(t)))
        && (when.priority.is_empty() || when.priority.contains(&new.priority))
}

/// Tells whether `word` (lowercase, may hold spaces: "not working") occurs
/// in `text` (lowercase) as a whole word: not inside a longer word, so
/// `down` matches "site down!" but not "download".
fn contains_word(text: &str, word: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !is_word(before) && !is_word(after)
    })
}

/// Tells whether mail domain `domain` (lowercase) is `wanted` or one of its
/// subdomains: `bank.example` takes `sub.bank.example`, not `otherbank.example`.
fn in_domain(domain: &str, wanted: &str) -> bool {
    let wanted = wanted.trim().trim_start_matches('@').to_lowercase();
    !wanted.is_empty()
        && (domain == wanted
            || domain
                .strip_suffix(wanted.as_str())
                .is_some_and(|rest| rest.ends_with('.')))
}

/// Chooses the agent for a new ticket in `department` by the department's
/// assignment mode; `None` when it assigns nobody or has no agents.
///
/// - least_loaded: the agent with the fewest active tickets (new, open,
///   waiting, on hold) assigned; ties go to the agent listed first.
/// - round_robin: the agent who has waited longest for a ticket of this
///   department. Each agent's turn is when it was last given one: the
///   newest assignment time among the department's tickets it holds (any
///   status); an agent holding none goes first. Assignments in the same
///   second tie: the tie goes to the agent given fewer of the department's
///   tickets in that second, then to the agent listed first in `[[agent]]`.
///   Tickets assigned one after another therefore rotate strictly in
///   `[[agent]]` order, a burst within one second too, and an agent added
///   later takes the next ticket, then joins the rotation (counting tickets
///   instead would hand a newcomer every ticket until it caught up). It is
///   derived from the tickets (no counter to merge), so every clone
///   computes the same turn.
pub fn pick_agent(
    departments: &[Department],
    agents: &[AgentDef],
    department: &str,
    tickets: &[ListEntry],
) -> Option<String> {
    let mode = departments
        .iter()
        .find(|d| d.name == department)?
        .assignment;
    pick_agent_by(agents, department, mode, tickets)
}

/// [`pick_agent`] by the given mode instead of the department's own (an
/// automation's `assign = "round_robin"` in a department that leaves new
/// tickets unassigned).
pub fn pick_agent_by(
    agents: &[AgentDef],
    department: &str,
    mode: Assignment,
    tickets: &[ListEntry],
) -> Option<String> {
    let pool: Vec<&str> = agents
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
            let turn = |agent: &str| {
                let held: Vec<&ListEntry> = tickets
                    .iter()
                    .filter(|t| {
                        t.department.as_deref() == Some(department)
                            && t.assignee.as_deref() == Some(agent)
                    })
                    .collect();
                let at = |t: &ListEntry| t.assigned.or(t.created);
                let newest = held.iter().filter_map(|t| at(t)).max();
                let in_that_second = held.iter().filter(|t| at(t) == newest).count();
                (newest, in_that_second)
            };
            pool.iter()
                .enumerate()
                .min_by_key(|(order, agent)| (turn(agent), *order))
                .map(|(_, agent)| (*agent).to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::domain::lifecycle::Category;
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
            assigned: Timestamp::from_unix(created),
            queue_due: None,
            waiting_since: None,
        }
    }

    #[test]
    fn rules_apply_in_order_first_department_wins_tags_add_up() {
        let config = Config::parse(CONFIG).unwrap();
        let mut t = new("Refund please", "bo@bank.example");
        assert_eq!(
            route(&config.routing, &mut t, Explicit::default()),
            ["bank", "refunds"]
        );
        assert_eq!(t.department.as_deref(), Some("billing"));
        assert_eq!(t.priority, Priority::High);
        assert_eq!(t.tags, ["finance", "refund"]);
    }

    #[test]
    fn keywords_match_whole_words_in_any_case() {
        assert!(contains_word("the site is down!", "down"));
        assert!(!contains_word("download failed", "down"));
        assert!(!contains_word("breakdown", "down"));
        assert!(contains_word("it is not working", "not working"));
        assert!(contains_word("refund", "refund"));
        assert!(
            !contains_word("refunds", "refund"),
            "a whole word, not a stem"
        );
        assert!(contains_word("e-mail bounced", "e-mail"));
        assert!(contains_word("preço: 10", "preço"));
        assert!(!contains_word("anything", ""));
        let config = Config::parse(CONFIG).unwrap();
        let mut t = new("REFUND now", "x@elsewhere.example");
        assert_eq!(
            route(&config.routing, &mut t, Explicit::default()),
            ["refunds"]
        );
        let mut t = new("Refundable?", "x@elsewhere.example");
        assert!(route(&config.routing, &mut t, Explicit::default()).is_empty());
    }

    #[test]
    fn a_domain_matches_its_subdomains_only() {
        assert!(in_domain("bank.example", "bank.example"));
        assert!(in_domain("sub.bank.example", "Bank.Example"));
        assert!(in_domain("bank.example", "@bank.example"));
        assert!(!in_domain("otherbank.example", "bank.example"));
        assert!(!in_domain("bank.example.org", "bank.example"));
        let config = Config::parse(CONFIG).unwrap();
        let mut t = new("Hello", "bo@eu.bank.example");
        assert_eq!(
            route(&config.routing, &mut t, Explicit::default()),
            ["bank"]
        );
    }

    #[test]
    fn body_tags_and_priority_conditions_and_later_rules_see_earlier_ones() {
        let config = Config::parse(
            r#"
[[routing]]
name = "outage"
when = { body_matches = ["down"] }
set = { priority = "urgent", add_tags = ["outage"] }

[[routing]]
name = "vip"
when = { tags_any = ["vip"] }
set = { add_tags = ["priority-support"] }

[[routing]]
name = "escalate"
when = { tags_any = ["outage"], priority = ["urgent"] }
set = { add_tags = ["escalated"] }
"#,
        )
        .unwrap();
        let mut t = new("Help", "x@y.example");
        t.body = Some("Everything is down since 9".into());
        assert_eq!(
            route(&config.routing, &mut t, Explicit::default()),
            ["outage", "escalate"],
            "escalate sees the tag and priority outage set"
        );
        assert_eq!(t.priority, Priority::Urgent);
        assert_eq!(t.tags, ["outage", "escalated"]);
        let mut t = new("Help", "x@y.example");
        t.body = Some("The download is slow".into());
        t.tags = vec!["vip".into()];
        assert_eq!(route(&config.routing, &mut t, Explicit::default()), ["vip"]);
        // An explicit priority is what the priority condition sees.
        let mut t = new("Help", "x@y.example");
        t.body = Some("down".into());
        t.priority = Priority::Low;
        let matched = route(
            &config.routing,
            &mut t,
            Explicit {
                department: false,
                priority: true,
            },
        );
        assert_eq!(matched, ["outage"]);
        assert_eq!(t.priority, Priority::Low);
    }

    #[test]
    fn explicit_values_beat_routing() {
        let config = Config::parse(CONFIG).unwrap();
        let mut t = new("Hello", "bo@bank.example");
        t.department = Some("tech".into());
        route(
            &config.routing,
            &mut t,
            Explicit {
                department: true,
                priority: false,
            },
        );
        assert_eq!(t.department.as_deref(), Some("tech"));
        let mut other = new("Hello", "bo@elsewhere.example");
        assert!(route(&config.routing, &mut other, Explicit::default()).is_empty());
        assert_eq!(other.department, None);
    }

    /// Assigns `n` new billing tickets created at `times` by round robin,
    /// recording each; returns who got them.
    fn rotate(config: &Config, tickets: &mut Vec<ListEntry>, times: &[i64]) -> Vec<String> {
        let mut got = Vec::new();
        for (i, at) in times.iter().enumerate() {
            let agent =
                pick_agent(&config.departments, &config.agents, "billing", tickets).unwrap();
            let id = format!("{:06}", tickets.len() * 10 + i);
            tickets.push(entry(&id, "billing", &agent, *at, Category::Open));
            got.push(agent.trim_end_matches("@desk").to_owned());
        }
        got
    }

    #[test]
    fn round_robin_rotates_in_agent_order_counting_every_status() {
        let config = Config::parse(CONFIG).unwrap();
        let pick = |tickets: &[ListEntry]| {
            pick_agent(&config.departments, &config.agents, "billing", tickets)
        };
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
        // Many old tickets do not make an agent skip its turn.
        let mut history: Vec<ListEntry> = (0..5)
            .map(|i| {
                entry(
                    &format!("a{i:05}"),
                    "billing",
                    "ana@desk",
                    i,
                    Category::Closed,
                )
            })
            .collect();
        history.push(entry("bbbbbb", "billing", "raj@desk", 50, Category::Open));
        assert_eq!(pick(&history).as_deref(), Some("ana@desk"));
    }

    #[test]
    fn round_robin_gives_an_agent_added_later_one_turn_then_rotates() {
        let two = Config::parse(CONFIG).unwrap();
        let mut tickets = Vec::new();
        assert_eq!(
            rotate(&two, &mut tickets, &[10, 20, 30]),
            ["ana", "raj", "ana"]
        );
        let three = Config::parse(&CONFIG.replace(
            "[[routing]]\nname = \"bank\"",
            "[[agent]]\nname = \"Kim\"\nemail = \"kim@desk\"\ndepartments = [\"billing\"]\n\n[[routing]]\nname = \"bank\"",
        ))
        .unwrap();
        assert_eq!(
            rotate(&three, &mut tickets, &[40, 50, 60, 70, 80]),
            ["kim", "raj", "ana", "kim", "raj"]
        );
    }

    #[test]
    fn round_robin_turns_follow_assignment_time_not_creation_time() {
        // An automation run assigns old tickets in id order, not in the
        // order they were created: the turn is when each was assigned.
        let config = Config::parse(CONFIG).unwrap();
        let mut tickets = Vec::new();
        for (id, created) in [
            ("aaaaaa", 300),
            ("bbbbbb", 100),
            ("cccccc", 200),
            ("dddddd", 50),
        ] {
            let agent =
                pick_agent(&config.departments, &config.agents, "billing", &tickets).unwrap();
            let mut e = entry(id, "billing", &agent, created, Category::Open);
            e.assigned = Timestamp::from_unix(1000);
            tickets.push(e);
        }
        let got: Vec<&str> = tickets
            .iter()
            .map(|t| t.assignee.as_deref().unwrap())
            .collect();
        assert_eq!(got, ["ana@desk", "raj@desk", "ana@desk", "raj@desk"]);
    }

    #[test]
    fn round_robin_rotates_through_tickets_created_in_the_same_second() {
        let config = Config::parse(CONFIG).unwrap();
        let mut tickets = vec![entry("aaaaaa", "billing", "raj@desk", 5, Category::Open)];
        assert_eq!(
            rotate(&config, &mut tickets, &[9, 9, 9, 9, 9]),
            ["ana", "raj", "ana", "raj", "ana"]
        );
    }

    #[test]
    fn least_loaded_counts_active_tickets_and_breaks_ties_by_order() {
        let config = Config::parse(CONFIG).unwrap();
        assert_eq!(
            pick_agent(&config.departments, &config.agents, "tech", &[]).as_deref(),
            Some("ana@desk")
        );
        let tickets = [
            entry("aaaaaa", "tech", "ana@desk", 1, Category::Open),
            entry("bbbbbb", "tech", "raj@desk", 2, Category::Closed),
            entry("cccccc", "tech", "raj@desk", 3, Category::Solved),
        ];
        assert_eq!(
            pick_agent(&config.departments, &config.agents, "tech", &tickets).as_deref(),
            Some("raj@desk")
        );
    }
}
