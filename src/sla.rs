//! SLA policies and metric instances (HELPDESK §4), and the To Solve
//! order (HELPDESK §6).
//!
//! Every value here is a pure function of the ticket's event log, the
//! policies and "now", so each rule is unit-tested with fixed inputs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::calendar::Calendar;
use crate::lifecycle::{Category, Statuses};
use crate::model::{EventKind, Priority, Role, Ticket, TicketId, Timestamp};

/// A promise measured per ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Created → first public agent reply.
    FirstReply,
    /// Each customer message after a reply → the next reply.
    NextReply,
    /// Created → solved, counting only time in running categories.
    Resolution,
    /// Created → first assignment.
    FirstAssign,
}

impl Metric {
    /// The name in config, JSON and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstReply => "first_reply",
            Self::NextReply => "next_reply",
            Self::Resolution => "resolution",
            Self::FirstAssign => "first_assign",
        }
    }
}

/// Where a metric instance stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Running (or paused) and not yet due.
    Active,
    /// Fulfilled in time.
    Achieved,
    /// Fulfilled late, or due and not fulfilled.
    Breached,
    /// Ended without fulfilment (solved without a reply).
    Cancelled,
}

/// Targets of one priority, in seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Targets {
    /// First reply target.
    pub first_reply: Option<i64>,
    /// Next reply target.
    pub next_reply: Option<i64>,
    /// Resolution target.
    pub resolution: Option<i64>,
    /// First assignment target.
    pub first_assign: Option<i64>,
}

/// Which tickets a policy applies to; every listed condition must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Match {
    /// Department is one of these.
    pub department: Vec<String>,
    /// Priority is one of these.
    pub priority: Vec<Priority>,
    /// The ticket has one of these tags.
    pub tags_any: Vec<String>,
    /// The customer's mail domain is one of these.
    pub customer_domain: Vec<String>,
    /// Custom field values (as text).
    pub field: BTreeMap<String, String>,
}

impl Match {
    fn holds(&self, ticket: &Ticket) -> bool {
        let domain = ticket
            .customer
            .email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_lowercase());
        (self.department.is_empty()
            || ticket
                .department
                .as_ref()
                .is_some_and(|d| self.department.contains(d)))
            && (self.priority.is_empty() || self.priority.contains(&ticket.priority))
            && (self.tags_any.is_empty() || self.tags_any.iter().any(|t| ticket.tags.contains(t)))
            && (self.customer_domain.is_empty()
                || domain
                    .is_some_and(|d| self.customer_domain.iter().any(|c| c.to_lowercase() == d)))
            && self.field.iter().all(|(k, v)| {
                ticket
                    .fields
                    .get(k)
                    .is_some_and(|value| &crate::change::field_text(value) == v)
            })
    }
}

/// An SLA policy: ordered, the first that matches a ticket applies.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// Its name.
    pub name: String,
    /// Which tickets.
    pub matches: Match,
    /// Business hours the clocks run in.
    pub calendar: Calendar,
    /// Categories in which the resolution clock pauses.
    pub pause: Vec<Category>,
    /// Targets per priority.
    pub targets: BTreeMap<Priority, Targets>,
}

/// One measured promise of one ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// What is measured.
    pub metric: Metric,
    /// When the clock started.
    pub start: Timestamp,
    /// The target, in (business) seconds.
    pub target: i64,
    /// When it is due; `None` while paused and not yet due.
    pub due: Option<Timestamp>,
    /// Business seconds consumed so far (or until fulfilment).
    pub consumed: i64,
    /// Where it stands.
    pub status: Status,
    /// When it was fulfilled or cancelled.
    pub ended: Option<Timestamp>,
}

/// The SLA state of a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlaState {
    /// The policy that applies.
    pub policy: String,
    /// Its metric instances (for next reply, every one).
    pub instances: Vec<Instance>,
}

impl SlaState {
    /// The instances `tix sla` shows: one per metric, the latest.
    pub fn current(&self) -> Vec<&Instance> {
        let mut latest: BTreeMap<Metric, &Instance> = BTreeMap::new();
        for instance in &self.instances {
            latest.insert(instance.metric, instance);
        }
        latest.into_values().collect()
    }

    /// Tells whether a metric of this ticket is breached.
    pub fn breached(&self) -> bool {
        self.instances.iter().any(|i| i.status == Status::Breached)
    }
}

/// The business-hours calendar of a ticket: its SLA policy's, else `24x7`.
pub fn calendar_for<'p>(ticket: &Ticket, policies: &'p [Policy]) -> &'p Calendar {
    static ALWAYS: std::sync::OnceLock<Calendar> = std::sync::OnceLock::new();
    policies
        .iter()
        .find(|p| p.matches.holds(ticket))
        .map_or_else(|| ALWAYS.get_or_init(Calendar::always), |p| &p.calendar)
}

/// Evaluates the policies for `ticket` at `now`; `None` when none applies.
pub fn evaluate(
    ticket: &Ticket,
    statuses: &Statuses,
    policies: &[Policy],
    now: Timestamp,
) -> Option<SlaState> {
    let policy = policies.iter().find(|p| p.matches.holds(ticket))?;
    let targets = policy
        .targets
        .get(&ticket.priority)
        .cloned()
        .unwrap_or_default();
    let cal = &policy.calendar;
    let created = ticket.events.first()?.at;
    let mut instances = Vec::new();

    // Entries into solved/closed, for cancellations.
    let mut category = None;
    let mut segments: Vec<(Timestamp, Option<Category>)> = Vec::new();
    for event in ticket.events.iter().filter(|e| e.sets_status()) {
        let next = event.to.as_deref().and_then(|s| statuses.category(s));
        if next != category || segments.is_empty() {
            segments.push((event.at, next));
            category = next;
        }
    }
    let solved_at = |after: Timestamp| {
        segments
            .iter()
            .find(|(at, c)| *at >= after && c.is_some_and(|c| !c.is_active()))
            .map(|(at, _)| *at)
    };

    let reply_at = |e: &crate::model::Event| e.is_reply();
    let proactive = ticket
        .events
        .iter()
        .find(|e| e.kind == EventKind::Message)
        .is_some_and(|e| e.role == Role::Agent);
    if let Some(target) = targets.first_reply
        && !proactive
    {
        let fulfilled = ticket.events.iter().find(|e| reply_at(e)).map(|e| e.at);
        let cancelled = fulfilled.is_none().then(|| solved_at(created)).flatten();
        instances.push(clocked(
            Metric::FirstReply,
            cal,
            created,
            target,
            fulfilled,
            cancelled,
            now,
        ));
    }
    if let Some(target) = targets.first_assign {
        let fulfilled = ticket
            .events
            .iter()
            .find(|e| e.kind == EventKind::Assign && e.to.is_some())
            .map(|e| e.at);
        instances.push(clocked(
            Metric::FirstAssign,
            cal,
            created,
            target,
            fulfilled,
            None,
            now,
        ));
    }
    if let Some(target) = targets.next_reply {
        let mut replied = false;
        let mut open: Option<Timestamp> = None;
        for event in &ticket.events {
            if reply_at(event) {
                if let Some(start) = open.take() {
                    instances.push(clocked(
                        Metric::NextReply,
                        cal,
                        start,
                        target,
                        Some(event.at),
                        None,
                        now,
                    ));
                }
                replied = true;
            } else if replied
                && event.kind == EventKind::Message
                && event.role == Role::Customer
                && open.is_none()
            {
                open = Some(event.at);
            }
        }
        if let Some(start) = open {
            let cancelled = solved_at(start);
            instances.push(clocked(
                Metric::NextReply,
                cal,
                start,
                target,
                None,
                cancelled,
                now,
            ));
        }
    }
    if let Some(target) = targets.resolution {
        instances.push(resolution(
            cal,
            &segments,
            &policy.pause,
            created,
            target,
            now,
        ));
    }
    Some(SlaState {
        policy: policy.name.clone(),
        instances,
    })
}

/// A never-paused clock from `start`, ended by fulfilment or cancellation.
fn clocked(
    metric: Metric,
    cal: &Calendar,
    start: Timestamp,
    target: i64,
    fulfilled: Option<Timestamp>,
    cancelled: Option<Timestamp>,
    now: Timestamp,
) -> Instance {
    let due = cal.add_business(start, target);
    let ended = fulfilled.or(cancelled);
    let consumed = cal.business_secs(start, ended.unwrap_or(now).min(now).max(start));
    let late = |t: Timestamp| due.is_some_and(|d| t > d);
    let status = match (fulfilled, cancelled) {
        (Some(f), _) if late(f) => Status::Breached,
        (Some(_), _) => Status::Achieved,
        (None, Some(c)) if late(c) => Status::Breached,
        (None, Some(_)) => Status::Cancelled,
        (None, None) if late(now) => Status::Breached,
        (None, None) => Status::Active,
    };
    Instance {
        metric,
        start,
        target,
        due,
        consumed,
        status,
        ended,
    }
}

/// The resolution clock: runs in active categories not listed in `pause`,
/// stops in solved and closed, resumes (without reset) on reopen.
fn resolution(
    cal: &Calendar,
    segments: &[(Timestamp, Option<Category>)],
    pause: &[Category],
    created: Timestamp,
    target: i64,
    now: Timestamp,
) -> Instance {
    let running = |c: Option<Category>| c.is_some_and(|c| c.is_active() && !pause.contains(&c));
    let mut consumed = 0;
    let mut breach: Option<Timestamp> = None;
    for (i, (start, category)) in segments.iter().enumerate() {
        let end = segments.get(i + 1).map_or(now, |(at, _)| *at).min(now);
        if !running(*category) || end <= *start {
            continue;
        }
        let spent = cal.business_secs(*start, end);
        if breach.is_none() && consumed + spent > target {
            breach = cal.add_business(*start, target - consumed);
        }
        consumed += spent;
    }
    let current = segments.last().and_then(|(_, c)| *c);
    let solved = current.is_some_and(|c| !c.is_active());
    let ended = solved.then(|| segments.last().map(|(at, _)| *at)).flatten();
    // Due: when it breached, or when it will if the ticket stays running;
    // none while paused or solved in time.
    let due = match breach {
        Some(at) => Some(at),
        None if running(current) => cal.add_business(now, target - consumed),
        None => None,
    };
    let status = match (breach, solved) {
        (Some(_), _) => Status::Breached,
        (None, true) => Status::Achieved,
        (None, false) => Status::Active,
    };
    Instance {
        metric: Metric::Resolution,
        start: created,
        target,
        due,
        consumed,
        status,
        ended,
    }
}

/// LiveAgent's internal target for tickets no policy covers: 7 days.
pub const DEFAULT_DUE_SECS: i64 = 7 * 86_400;

/// The sort key of the To Solve queue (HELPDESK §6), smallest first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    not_breached: bool,
    due: Option<Timestamp>,
    waiting_since: Option<Timestamp>,
    priority: std::cmp::Reverse<Priority>,
    id: TicketId,
}

impl QueueKey {
    /// The deadline the ticket is ordered by.
    pub fn due(&self) -> Option<Timestamp> {
        self.due
    }
}

/// Computes a ticket's place in the queue: breached first (earliest due
/// first), then the nearest due time of an active reply or resolution
/// target (created + 7 days without a policy), then the longest-waiting
/// customer, then priority, then id.
pub fn queue_key(ticket: &Ticket, sla: Option<&SlaState>) -> QueueKey {
    let created = ticket.events.first().map(|e| e.at);
    let clocks = || {
        sla.into_iter().flat_map(|s| s.current()).filter(|i| {
            matches!(
                i.metric,
                Metric::FirstReply | Metric::NextReply | Metric::Resolution
            ) && matches!(i.status, Status::Active | Status::Breached)
        })
    };
    let breached = clocks()
        .filter(|i| i.status == Status::Breached)
        .filter_map(|i| i.due)
        .min();
    let due = breached
        .or_else(|| clocks().filter_map(|i| i.due).min())
        .or_else(|| created.map(|c| c.plus_seconds(DEFAULT_DUE_SECS)));
    // The earliest customer message not yet answered by a reply.
    let mut waiting = None;
    for event in &ticket.events {
        if event.is_reply() {
            waiting = None;
        } else if event.kind == EventKind::Message
            && event.role == Role::Customer
            && waiting.is_none()
        {
            waiting = Some(event.at);
        }
    }
    QueueKey {
        not_breached: breached.is_none(),
        due,
        waiting_since: waiting.or(created),
        priority: std::cmp::Reverse(ticket.priority),
        id: ticket.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{self, Actor, Change, NewTicket};
    use crate::model::Customer;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn policy(pause: Vec<Category>) -> Policy {
        let mut targets = BTreeMap::new();
        targets.insert(
            Priority::Normal,
            Targets {
                first_reply: Some(3600),
                next_reply: Some(7200),
                resolution: Some(4 * 3600),
                first_assign: None,
            },
        );
        Policy {
            name: "p".into(),
            matches: Match::default(),
            calendar: Calendar::always(),
            pause,
            targets,
        }
    }

    fn ticket(statuses: &Statuses) -> Ticket {
        let new = NewTicket {
            subject: "x".into(),
            body: Some("help".into()),
            customer: Customer {
                email: Some("bo@ex.com".into()),
                ..Customer::default()
            },
            ..NewTicket::default()
        };
        let actor = Actor {
            id: "ana",
            role: Role::Agent,
            now: at("2025-03-03T09:00:00Z"),
            statuses,
        };
        change::create("k3x9p2".parse().unwrap(), new, &actor)
            .unwrap()
            .0
    }

    fn apply(t: &mut Ticket, change: Change, now: &str, statuses: &Statuses) {
        let actor = Actor {
            id: "ana",
            role: Role::Agent,
            now: at(now),
            statuses,
        };
        change::apply(t, &change, &actor).unwrap();
    }

    fn get(state: &SlaState, metric: Metric) -> Instance {
        state
            .current()
            .into_iter()
            .find(|i| i.metric == metric)
            .cloned()
            .unwrap()
    }

    #[test]
    fn first_reply_is_achieved_or_breached_by_the_reply_time() {
        let s = Statuses::builtin();
        let mut t = ticket(&s);
        let state = evaluate(&t, &s, &[policy(vec![])], at("2025-03-03T09:30:00Z")).unwrap();
        let first = get(&state, Metric::FirstReply);
        assert_eq!(
            (first.status, first.due, first.consumed),
            (Status::Active, Some(at("2025-03-03T10:00:00Z")), 1800)
        );
        let late = evaluate(&t, &s, &[policy(vec![])], at("2025-03-03T10:00:01Z")).unwrap();
        assert_eq!(get(&late, Metric::FirstReply).status, Status::Breached);
        apply(
            &mut t,
            Change::Reply {
                body: "hi".into(),
                resolve: false,
            },
            "2025-03-03T10:00:00Z",
            &s,
        );
        let state = evaluate(&t, &s, &[policy(vec![])], at("2025-03-04T00:00:00Z")).unwrap();
        assert_eq!(
            get(&state, Metric::FirstReply).status,
            Status::Achieved,
            "exactly at due is in time"
        );
    }

    #[test]
    fn resolving_without_a_reply_cancels_the_first_reply() {
        let s = Statuses::builtin();
        let mut t = ticket(&s);
        apply(
            &mut t,
            Change::Resolve { reason: None },
            "2025-03-03T09:10:00Z",
            &s,
        );
        let state = evaluate(&t, &s, &[policy(vec![])], at("2025-03-05T00:00:00Z")).unwrap();
        assert_eq!(get(&state, Metric::FirstReply).status, Status::Cancelled);
        assert_eq!(get(&state, Metric::Resolution).status, Status::Achieved);
    }

    #[test]
    fn the_same_ticket_breaches_resolution_without_pause_and_not_with_it() {
        let s = Statuses::builtin();
        let mut t = ticket(&s);
        // 1h running, then 5h waiting on the customer, then resolved.
        apply(
            &mut t,
            Change::Reply {
                body: "try this".into(),
                resolve: false,
            },
            "2025-03-03T10:00:00Z",
            &s,
        );
        apply(
            &mut t,
            Change::Resolve { reason: None },
            "2025-03-03T15:00:00Z",
            &s,
        );
        let now = at("2025-03-04T00:00:00Z");
        let paused = evaluate(
            &t,
            &s,
            &[policy(vec![Category::Waiting, Category::OnHold])],
            now,
        )
        .unwrap();
        let r = get(&paused, Metric::Resolution);
        assert_eq!((r.status, r.consumed), (Status::Achieved, 3600));
        let running = evaluate(&t, &s, &[policy(vec![])], now).unwrap();
        let r = get(&running, Metric::Resolution);
        assert_eq!(
            (r.status, r.due),
            (Status::Breached, Some(at("2025-03-03T13:00:00Z")))
        );
    }

    #[test]
    fn paused_resolution_has_no_due_time_and_resumes_on_reopen() {
        let s = Statuses::builtin();
        let mut t = ticket(&s);
        apply(
            &mut t,
            Change::Reply {
                body: "a".into(),
                resolve: false,
            },
            "2025-03-03T10:00:00Z",
            &s,
        );
        let pause = vec![Category::Waiting, Category::OnHold];
        let state = evaluate(&t, &s, &[policy(pause.clone())], at("2025-03-03T12:00:00Z")).unwrap();
        assert_eq!(get(&state, Metric::Resolution).due, None);
        apply(
            &mut t,
            Change::CustomerReply { body: "b".into() },
            "2025-03-03T12:00:00Z",
            &s,
        );
        let state = evaluate(&t, &s, &[policy(pause)], at("2025-03-03T12:30:00Z")).unwrap();
        let r = get(&state, Metric::Resolution);
        // 1h before the reply + 30 min since: 2.5h left of 4h.
        assert_eq!(
            (r.consumed, r.due),
            (5400, Some(at("2025-03-03T15:00:00Z")))
        );
        let next = get(&state, Metric::NextReply);
        assert_eq!(
            (next.start, next.due),
            (at("2025-03-03T12:00:00Z"), Some(at("2025-03-03T14:00:00Z")))
        );
    }

    #[test]
    fn queue_puts_breached_first_then_nearest_due_then_waiting_priority_id() {
        let s = Statuses::builtin();
        let policies = [policy(vec![])];
        let now = at("2025-03-03T10:30:00Z");
        let key = |t: &Ticket| queue_key(t, evaluate(t, &s, &policies, now).as_ref());
        let breached = ticket(&s); // created 09:00, first reply due 10:00: breached
        let mut fresh = ticket(&s);
        fresh.id = "aaaaaa".parse().unwrap();
        fresh
            .events
            .iter_mut()
            .for_each(|e| e.at = at("2025-03-03T10:15:00Z"));
        assert!(key(&breached) < key(&fresh));
        // Same due, same wait: priority, then id.
        let mut urgent = fresh.clone();
        urgent.id = "zzzzzz".parse().unwrap();
        urgent.priority = Priority::Urgent;
        let mut urgent_policy = policies[0].clone();
        urgent_policy.targets.insert(
            Priority::Urgent,
            urgent_policy.targets[&Priority::Normal].clone(),
        );
        let key2 = |t: &Ticket| {
            queue_key(
                t,
                evaluate(t, &s, std::slice::from_ref(&urgent_policy), now).as_ref(),
            )
        };
        assert!(key2(&urgent) < key2(&fresh));
        let mut twin = fresh.clone();
        twin.id = "bbbbbb".parse().unwrap();
        assert!(key(&fresh) < key(&twin));
        // Without a policy, due is created + 7 days.
        let none = queue_key(&fresh, None);
        assert!(key(&fresh) < none);
    }
}
