//! SLA policies and metric instances (docs/sla.md, "Metrics"), and the
//! To Solve order (docs/sla.md, "The To Solve queue").
//!
//! Every value here is a pure function of the ticket's event log, the
//! policies and "now", so each rule is unit-tested with fixed inputs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::calendar::Calendar;
use crate::domain::lifecycle::{Category, Statuses};
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
                    .is_some_and(|value| &crate::domain::change::field_text(value) == v)
            })
    }
}

/// How long before its due time a running target warns (`warn_before`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WarnBefore {
    /// When at most this many (business) seconds of the target are left.
    Secs(i64),
    /// When at most this share of the target, in percent, is left.
    Percent(u8),
}

impl WarnBefore {
    /// Parses `"30m"` (any duration) or `"20%"` (1 to 99 percent).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().strip_suffix('%') {
            Some(pct) => pct
                .parse::<u8>()
                .ok()
                .filter(|p| (1..100).contains(p))
                .map(Self::Percent),
            None => crate::model::parse_duration_secs(text).map(Self::Secs),
        }
    }

    /// The (business) seconds before due at which a target of `target`
    /// seconds warns.
    fn lead(self, target: i64) -> i64 {
        match self {
            Self::Secs(secs) => secs,
            Self::Percent(pct) => target * i64::from(pct) / 100,
        }
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
    /// When running targets warn before they are due.
    pub warn_before: Option<WarnBefore>,
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
    /// The policy's `warn_before`.
    pub warn_before: Option<WarnBefore>,
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

    /// The instances due soon: running, not yet breached, with at most the
    /// policy's `warn_before` of their target left (none without it). A
    /// paused resolution clock does not warn.
    pub fn due_soon(&self) -> Vec<&Instance> {
        let Some(warn) = self.warn_before else {
            return Vec::new();
        };
        self.instances
            .iter()
            .filter(|i| i.status == Status::Active && i.ended.is_none() && i.due.is_some())
            .filter(|i| i.target - i.consumed <= warn.lead(i.target))
            .collect()
    }

    /// Tells whether any metric instance of this ticket is breached,
    /// running or settled.
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

/// How a clock that is not running any more ended.
#[derive(Clone, Copy, Debug)]
enum End {
    /// By what it measures (a reply, an assignment), at this instant.
    Fulfilled(Timestamp),
    /// By the ticket entering solved or closed first, at this instant.
    Cancelled(Timestamp),
}

impl End {
    fn split(end: Option<Self>) -> (Option<Timestamp>, Option<Timestamp>) {
        match end {
            Some(Self::Fulfilled(at)) => (Some(at), None),
            Some(Self::Cancelled(at)) => (None, Some(at)),
            None => (None, None),
        }
    }
}

/// Tells whether a ticket gets a first reply clock: not when the first
/// message is an agent's (a proactive ticket); without any message, only
/// when there is a customer to answer.
fn wants_first_reply(ticket: &Ticket) -> bool {
    match ticket.events.iter().find(|e| e.kind == EventKind::Message) {
        Some(first) => first.role != Role::Agent,
        None => !ticket.customer.is_empty(),
    }
}

/// What one pass over a ticket's event log finds for the SLA clocks.
struct Walk {
    /// Category segments: each change of category starts one.
    segments: Vec<(Timestamp, Option<Category>)>,
    first_reply: Option<End>,
    first_assign: Option<End>,
    /// Next replies that ended, with their start.
    next_replies: Vec<(Timestamp, End)>,
    /// The start of the next reply still running.
    open: Option<Timestamp>,
}

impl Walk {
    fn of(ticket: &Ticket, statuses: &Statuses) -> Self {
        let mut segments: Vec<(Timestamp, Option<Category>)> = Vec::new();
        let mut first_reply: Option<End> = None;
        let mut first_assign: Option<End> = None;
        let mut next_replies: Vec<(Timestamp, End)> = Vec::new();
        let mut replied = false;
        let mut open: Option<Timestamp> = None;
        for event in &ticket.events {
            if event.is_reply() {
                first_reply.get_or_insert(End::Fulfilled(event.at));
                if let Some(start) = open.take() {
                    next_replies.push((start, End::Fulfilled(event.at)));
                }
                replied = true;
            } else if replied
                && event.kind == EventKind::Message
                && event.role == Role::Customer
                && open.is_none()
            {
                open = Some(event.at);
            }
            if event.kind == EventKind::Assign && event.to.is_some() {
                first_assign.get_or_insert(End::Fulfilled(event.at));
            }
            if event.sets_status() {
                let next = event.to.as_deref().and_then(|s| statuses.category(s));
                if next.is_some_and(|c| !c.is_active()) {
                    first_reply.get_or_insert(End::Cancelled(event.at));
                    first_assign.get_or_insert(End::Cancelled(event.at));
                    if let Some(start) = open.take() {
                        next_replies.push((start, End::Cancelled(event.at)));
                    }
                }
                if segments.last().is_none_or(|(_, c)| *c != next) {
                    segments.push((event.at, next));
                }
            }
        }
        Self {
            segments,
            first_reply,
            first_assign,
            next_replies,
            open,
        }
    }
}

/// Evaluates the policies for `ticket` at `now`; `None` when none applies.
///
/// One pass over the event log, in order: a reply fulfils the first reply
/// and the open next reply; a customer message after a reply opens a next
/// reply; the first assignment fulfils first assign; entering solved or
/// closed cancels whatever of these is still running, so a reopen starts
/// afresh (a next reply from the next customer message; first reply and
/// first assign stay cancelled).
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

    let Walk {
        segments,
        first_reply,
        first_assign,
        next_replies,
        open,
    } = Walk::of(ticket, statuses);

    let mut instances = Vec::new();
    if let Some(target) = targets.first_reply
        && wants_first_reply(ticket)
    {
        let (fulfilled, cancelled) = End::split(first_reply);
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
        let (fulfilled, cancelled) = End::split(first_assign);
        instances.push(clocked(
            Metric::FirstAssign,
            cal,
            created,
            target,
            fulfilled,
            cancelled,
            now,
        ));
    }
    if let Some(target) = targets.next_reply {
        let running = open.map(|start| (start, None));
        for (start, end) in next_replies
            .into_iter()
            .map(|(start, end)| (start, Some(end)))
            .chain(running)
        {
            let (fulfilled, cancelled) = End::split(end);
            instances.push(clocked(
                Metric::NextReply,
                cal,
                start,
                target,
                fulfilled,
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
        warn_before: policy.warn_before,
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
    // Late = strictly after due, whether or not business time passed
    // since (a reply at 18:00 after a 17:00 due is late).
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
///
/// Due is the instant the consumed time reaches the target, once it has
/// (kept while paused or solved); before that, where the clock would reach
/// it if the ticket stayed as it is: from now while running, from the
/// last solve while solved, and none while paused. Each entry from an
/// active category into solved or closed is a fulfilment: breached if one
/// came after due, or if the ticket is unsolved and now is past due.
fn resolution(
    cal: &Calendar,
    segments: &[(Timestamp, Option<Category>)],
    pause: &[Category],
    created: Timestamp,
    target: i64,
    now: Timestamp,
) -> Instance {
    let running = |c: Option<Category>| c.is_some_and(|c| c.is_active() && !pause.contains(&c));
    let stopped = |c: Option<Category>| c.is_some_and(|c| !c.is_active());
    let mut consumed = 0;
    let mut reached: Option<Timestamp> = None;
    let mut solves: Vec<Timestamp> = Vec::new();
    let mut before: Option<Category> = None;
    for (i, (start, category)) in segments.iter().enumerate() {
        if *start > now {
            break;
        }
        if stopped(*category) && !stopped(before) {
            solves.push(*start);
        }
        before = *category;
        let end = segments.get(i + 1).map_or(now, |(at, _)| *at).min(now);
        if !running(*category) || end <= *start {
            continue;
        }
        let spent = cal.business_secs(*start, end);
        if reached.is_none() && consumed + spent >= target {
            reached = cal.add_business(*start, target - consumed);
        }
        consumed += spent;
    }
    let solved = stopped(before);
    let ended = solved.then(|| solves.last().copied()).flatten();
    let left = target - consumed;
    let due = match (reached, ended) {
        (Some(at), _) => Some(at),
        (None, Some(solved_at)) => cal.add_business(solved_at, left),
        (None, None) if running(before) => cal.add_business(now, left),
        (None, None) => None,
    };
    let status = match reached {
        Some(r) if solves.iter().any(|f| *f > r) || (!solved && now > r) => Status::Breached,
        _ if solved => Status::Achieved,
        _ => Status::Active,
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

/// The sort key of the To Solve queue (docs/sla.md), smallest first.
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

    /// Tells whether a running target of the ticket is past due.
    pub fn breached(&self) -> bool {
        !self.not_breached
    }
}

/// The parts of a ticket's queue key that do not depend on when the queue
/// is asked for, so a list entry can carry them (see `entry.rs`): the
/// earliest due time of a running reply or resolution clock, and since when
/// a customer has been waiting. With no event after `now`, a running
/// clock's due time is the same whenever it is computed, and a paused clock
/// stays paused.
pub fn queue_parts(
    ticket: &Ticket,
    sla: Option<&SlaState>,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let running = sla
        .into_iter()
        .flat_map(|s| &s.instances)
        .filter(|i| {
            matches!(
                i.metric,
                Metric::FirstReply | Metric::NextReply | Metric::Resolution
            ) && i.ended.is_none()
                && matches!(i.status, Status::Active | Status::Breached)
        })
        .filter_map(|i| i.due)
        .min();
    (running, waiting_since(ticket))
}

/// The earliest customer message not yet answered by a reply.
fn waiting_since(ticket: &Ticket) -> Option<Timestamp> {
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
    waiting
}

impl QueueKey {
    /// Builds the key at `now` from [`queue_parts`]: a running clock whose
    /// due time has passed is a breach.
    pub fn at(
        running_due: Option<Timestamp>,
        waiting_since: Option<Timestamp>,
        created: Option<Timestamp>,
        priority: Priority,
        id: TicketId,
        now: Timestamp,
    ) -> Self {
        let breached = running_due.filter(|due| now > *due);
        Self {
            not_breached: breached.is_none(),
            due: running_due.or_else(|| created.map(|c| c.plus_seconds(DEFAULT_DUE_SECS))),
            waiting_since: waiting_since.or(created),
            priority: std::cmp::Reverse(priority),
            id,
        }
    }
}

/// Computes a ticket's place in the queue: breached first (earliest due
/// first), then the nearest due time of an active reply or resolution
/// target (created + 7 days without a policy), then the longest-waiting
/// customer, then priority, then id.
pub fn queue_key(ticket: &Ticket, sla: Option<&SlaState>) -> QueueKey {
    let created = ticket.events.first().map(|e| e.at);
    // Only clocks still running count: a late first reply that was sent
    // is settled and no longer makes the ticket urgent.
    let clocks = || {
        sla.into_iter().flat_map(|s| &s.instances).filter(|i| {
            matches!(
                i.metric,
                Metric::FirstReply | Metric::NextReply | Metric::Resolution
            ) && i.ended.is_none()
                && matches!(i.status, Status::Active | Status::Breached)
        })
    };
    let breached = clocks()
        .filter(|i| i.status == Status::Breached)
        .filter_map(|i| i.due)
        .min();
    let due = breached
        .or_else(|| clocks().filter_map(|i| i.due).min())
        .or_else(|| created.map(|c| c.plus_seconds(DEFAULT_DUE_SECS)));
    QueueKey {
        not_breached: breached.is_none(),
        due,
        waiting_since: waiting_since(ticket).or(created),
        priority: std::cmp::Reverse(ticket.priority),
        id: ticket.id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{self, Actor, Change, NewTicket};
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
            warn_before: None,
            targets,
        }
    }

    fn ticket(statuses: &Statuses) -> Ticket {
        ticket_at(statuses, "2025-03-03T09:00:00Z")
    }

    fn ticket_at(statuses: &Statuses, when: &str) -> Ticket {
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
            now: at(when),
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

    #[test]
    fn the_queue_key_from_cached_parts_equals_the_key_at_any_later_time() {
        let s = Statuses::builtin();
        let policies = [policy(vec![Category::Waiting])];
        let mut tickets = vec![ticket(&s)];
        let mut answered = ticket(&s);
        reply(&mut answered, "2025-03-03T09:30:00Z", &s);
        tickets.push(answered.clone());
        let mut waiting = answered;
        let customer = Change::CustomerReply {
            body: "and?".into(),
        };
        apply(&mut waiting, customer, "2025-03-03T10:00:00Z", &s);
        tickets.push(waiting);
        for t in &tickets {
            let last = t.events.last().unwrap().at;
            let (due, waiting) = queue_parts(t, evaluate(t, &s, &policies, last).as_ref());
            for now in [
                "2025-03-03T10:00:00Z",
                "2025-03-03T11:59:59Z",
                "2025-03-04T09:00:00Z",
            ] {
                let now = at(now);
                let cached = QueueKey::at(
                    due,
                    waiting,
                    t.events.first().map(|e| e.at),
                    t.priority,
                    t.id.clone(),
                    now,
                );
                let fresh = queue_key(t, evaluate(t, &s, &policies, now).as_ref());
                assert_eq!(cached, fresh, "{} at {now}", t.id);
            }
        }
        // Without a policy too.
        let (due, waiting) = queue_parts(&tickets[0], None);
        let now = at("2025-03-20T00:00:00Z");
        let created = tickets[0].events.first().map(|e| e.at);
        let cached = QueueKey::at(
            due,
            waiting,
            created,
            tickets[0].priority,
            tickets[0].id.clone(),
            now,
        );
        assert_eq!(cached, queue_key(&tickets[0], None));
    }

    fn reply(t: &mut Ticket, now: &str, s: &Statuses) {
        let change = Change::Reply {
            body: "r".into(),
            resolve: false,
        };
        apply(t, change, now, s);
    }

    fn customer(t: &mut Ticket, now: &str, s: &Statuses) {
        apply(t, Change::CustomerReply { body: "c".into() }, now, s);
    }

    fn resolve(t: &mut Ticket, now: &str, s: &Statuses) {
        apply(t, Change::Resolve { reason: None }, now, s);
    }

    fn targets(f: impl FnOnce(&mut Targets)) -> Policy {
        let mut p = policy(vec![Category::Waiting, Category::OnHold]);
        let mut t = Targets::default();
        f(&mut t);
        p.targets.insert(Priority::Normal, t);
        p
    }

    /// São Paulo, Monday to Friday 09:00–17:00 (UTC-3).
    fn office() -> Calendar {
        let day = vec![crate::domain::calendar::Hours::parse("09:00-17:00").unwrap()];
        let mut week: [Vec<crate::domain::calendar::Hours>; 7] = Default::default();
        week[..5].fill(day);
        Calendar::new("America/Sao_Paulo", week, BTreeMap::new()).unwrap()
    }

    fn state(t: &Ticket, p: &Policy, now: &str) -> SlaState {
        evaluate(t, &Statuses::builtin(), std::slice::from_ref(p), at(now)).unwrap()
    }

    fn all(state: &SlaState, metric: Metric) -> Vec<(Status, Timestamp, Option<Timestamp>)> {
        state
            .instances
            .iter()
            .filter(|i| i.metric == metric)
            .map(|i| (i.status, i.start, i.due))
            .collect()
    }

    #[test]
    fn resolution_used_up_exactly_at_closing_is_due_then_and_breached_after() {
        let s = Statuses::builtin();
        let mut p = targets(|t| t.resolution = Some(8 * 3600));
        p.calendar = office();
        // Friday 09:00 local; 8 business hours end at 17:00 local (20:00Z).
        let mut t = ticket_at(&s, "2025-03-07T12:00:00Z");
        let due = Some(at("2025-03-07T20:00:00Z"));
        let r = get(&state(&t, &p, "2025-03-07T20:00:00Z"), Metric::Resolution);
        assert_eq!(
            (r.status, r.due, r.consumed),
            (Status::Active, due, 8 * 3600)
        );
        let r = get(&state(&t, &p, "2025-03-07T21:00:00Z"), Metric::Resolution);
        assert_eq!((r.status, r.due), (Status::Breached, due));
        resolve(&mut t, "2025-03-07T21:00:00Z", &s);
        let r = get(&state(&t, &p, "2025-03-08T00:00:00Z"), Metric::Resolution);
        assert_eq!((r.status, r.due), (Status::Breached, due), "solved late");
    }

    #[test]
    fn resolution_used_up_as_the_clock_pauses_keeps_its_due_and_breaches() {
        let s = Statuses::builtin();
        let p = targets(|t| t.resolution = Some(3600));
        let mut t = ticket(&s);
        // The agent replies at 10:00: waiting pauses the clock with 1h used.
        reply(&mut t, "2025-03-03T10:00:00Z", &s);
        let due = Some(at("2025-03-03T10:00:00Z"));
        let r = get(&state(&t, &p, "2025-03-03T10:00:00Z"), Metric::Resolution);
        assert_eq!((r.status, r.due), (Status::Active, due));
        let r = get(&state(&t, &p, "2025-03-03T10:30:00Z"), Metric::Resolution);
        assert_eq!(
            (r.status, r.due),
            (Status::Breached, due),
            "due kept while paused"
        );
        resolve(&mut t, "2025-03-03T11:00:00Z", &s);
        let r = get(&state(&t, &p, "2025-03-03T12:00:00Z"), Metric::Resolution);
        assert_eq!((r.status, r.due), (Status::Breached, due));
    }

    #[test]
    fn resolving_exactly_at_due_is_in_time_and_stays_so_when_closed() {
        let s = Statuses::builtin();
        let p = targets(|t| t.resolution = Some(3600));
        let mut t = ticket(&s);
        resolve(&mut t, "2025-03-03T10:00:00Z", &s);
        let close = Change::Close {
            force: false,
            reason: None,
        };
        apply(&mut t, close, "2025-03-03T11:00:00Z", &s);
        let r = get(&state(&t, &p, "2025-03-04T00:00:00Z"), Metric::Resolution);
        assert_eq!(
            (r.status, r.due, r.ended),
            (
                Status::Achieved,
                Some(at("2025-03-03T10:00:00Z")),
                Some(at("2025-03-03T10:00:00Z"))
            )
        );
    }

    #[test]
    fn a_solved_ticket_keeps_the_resolution_due_it_was_measured_against() {
        let s = Statuses::builtin();
        let p = targets(|t| t.resolution = Some(4 * 3600));
        let mut t = ticket(&s);
        resolve(&mut t, "2025-03-03T10:00:00Z", &s);
        let r = get(&state(&t, &p, "2025-03-05T00:00:00Z"), Metric::Resolution);
        assert_eq!(
            (r.status, r.due, r.consumed),
            (Status::Achieved, Some(at("2025-03-03T13:00:00Z")), 3600)
        );
    }

    #[test]
    fn a_customer_reopen_after_a_solve_starts_a_new_next_reply() {
        let s = Statuses::builtin();
        let p = targets(|t| t.next_reply = Some(2 * 3600));
        let mut t = ticket(&s);
        reply(&mut t, "2025-03-03T09:30:00Z", &s);
        customer(&mut t, "2025-03-03T10:00:00Z", &s);
        resolve(&mut t, "2025-03-03T10:30:00Z", &s);
        customer(&mut t, "2025-03-03T11:00:00Z", &s);
        let running = state(&t, &p, "2025-03-03T12:00:00Z");
        assert_eq!(
            all(&running, Metric::NextReply),
            [
                (
                    Status::Cancelled,
                    at("2025-03-03T10:00:00Z"),
                    Some(at("2025-03-03T12:00:00Z"))
                ),
                (
                    Status::Active,
                    at("2025-03-03T11:00:00Z"),
                    Some(at("2025-03-03T13:00:00Z"))
                ),
            ]
        );
        reply(&mut t, "2025-03-03T12:30:00Z", &s);
        let done = state(&t, &p, "2025-03-03T15:00:00Z");
        assert_eq!(
            all(&done, Metric::NextReply)
                .iter()
                .map(|i| i.0)
                .collect::<Vec<_>>(),
            [Status::Cancelled, Status::Achieved]
        );
    }

    #[test]
    fn a_first_reply_cancelled_by_a_solve_stays_cancelled_after_a_reopen() {
        let s = Statuses::builtin();
        let p = targets(|t| t.first_reply = Some(3600));
        let mut t = ticket(&s);
        resolve(&mut t, "2025-03-03T09:10:00Z", &s);
        customer(&mut t, "2025-03-03T11:00:00Z", &s);
        reply(&mut t, "2025-03-03T12:00:00Z", &s);
        let first = get(&state(&t, &p, "2025-03-03T13:00:00Z"), Metric::FirstReply);
        assert_eq!(
            (first.status, first.ended),
            (Status::Cancelled, Some(at("2025-03-03T09:10:00Z")))
        );
    }

    #[test]
    fn first_assign_is_fulfilled_by_an_assignment_and_cancelled_by_a_close() {
        let s = Statuses::builtin();
        let p = targets(|t| t.first_assign = Some(1800));
        let mut t = ticket(&s);
        let first = get(&state(&t, &p, "2025-03-03T09:20:00Z"), Metric::FirstAssign);
        assert_eq!(
            (first.status, first.due),
            (Status::Active, Some(at("2025-03-03T09:30:00Z")))
        );
        assert_eq!(
            get(&state(&t, &p, "2025-03-03T09:31:00Z"), Metric::FirstAssign).status,
            Status::Breached
        );
        let mut assigned = t.clone();
        let assign = Change::Assign {
            assignee: Some(Some("raj".into())),
            department: None,
        };
        apply(&mut assigned, assign, "2025-03-03T09:25:00Z", &s);
        assert_eq!(
            get(
                &state(&assigned, &p, "2025-03-04T00:00:00Z"),
                Metric::FirstAssign
            )
            .status,
            Status::Achieved
        );
        let close = Change::Close {
            force: true,
            reason: Some("spam".into()),
        };
        apply(&mut t, close, "2025-03-03T09:10:00Z", &s);
        let first = get(&state(&t, &p, "2025-03-04T00:00:00Z"), Metric::FirstAssign);
        assert_eq!(
            (first.status, first.ended),
            (Status::Cancelled, Some(at("2025-03-03T09:10:00Z")))
        );
    }

    #[test]
    fn proactive_and_messageless_tickets_get_a_first_reply_only_with_someone_to_answer() {
        let s = Statuses::builtin();
        let p = targets(|t| t.first_reply = Some(3600));
        let with = |customer: Customer, body: Option<&str>| {
            let new = NewTicket {
                subject: "x".into(),
                body: body.map(str::to_owned),
                customer,
                ..NewTicket::default()
            };
            let actor = Actor {
                id: "ana",
                role: Role::Agent,
                now: at("2025-03-03T09:00:00Z"),
                statuses: &s,
            };
            let t = change::create("k3x9p2".parse().unwrap(), new, &actor)
                .unwrap()
                .0;
            all(&state(&t, &p, "2025-03-03T09:30:00Z"), Metric::FirstReply).len()
        };
        let bo = Customer {
            email: Some("bo@ex.com".into()),
            ..Customer::default()
        };
        assert_eq!(with(bo.clone(), Some("help")), 1, "the customer's words");
        assert_eq!(with(bo, None), 1, "a customer and no message yet");
        assert_eq!(with(Customer::default(), None), 0, "nobody to answer");
        assert_eq!(
            with(Customer::default(), Some("We noticed")),
            0,
            "proactive: the first message is the agent's"
        );
    }

    #[test]
    fn a_reply_at_18_after_a_17_due_is_breached_though_no_business_time_passed() {
        let s = Statuses::builtin();
        let mut p = targets(|t| t.first_reply = Some(3600));
        p.calendar = office();
        // Monday 16:00 local; due 17:00 local (20:00Z); reply 18:00 local.
        let mut t = ticket_at(&s, "2025-03-03T19:00:00Z");
        reply(&mut t, "2025-03-03T21:00:00Z", &s);
        let first = get(&state(&t, &p, "2025-03-04T00:00:00Z"), Metric::FirstReply);
        assert_eq!(
            (first.status, first.due, first.consumed),
            (Status::Breached, Some(at("2025-03-03T20:00:00Z")), 3600)
        );
    }

    #[test]
    fn policy_selection_follows_the_tags_and_keeps_the_clocks() {
        let s = Statuses::builtin();
        let mut vip = targets(|t| t.first_reply = Some(1800));
        vip.name = "vip".into();
        vip.matches.tags_any = vec!["vip".into()];
        let mut standard = targets(|t| t.first_reply = Some(4 * 3600));
        standard.name = "standard".into();
        let policies = [vip, standard];
        let mut t = ticket(&s);
        let now = at("2025-03-03T10:00:00Z");
        let before = evaluate(&t, &s, &policies, now).unwrap();
        assert_eq!(before.policy, "standard");
        assert_eq!(
            get(&before, Metric::FirstReply).due,
            Some(at("2025-03-03T13:00:00Z"))
        );
        t.tags.insert("vip".into());
        let after = evaluate(&t, &s, &policies, now).unwrap();
        let first = get(&after, Metric::FirstReply);
        assert_eq!(after.policy, "vip");
        assert_eq!(
            (first.start, first.due, first.status),
            (
                at("2025-03-03T09:00:00Z"),
                Some(at("2025-03-03T09:30:00Z")),
                Status::Breached
            )
        );
    }

    #[test]
    fn the_queue_ranks_by_running_clocks_not_by_settled_breaches() {
        let s = Statuses::builtin();
        let p = targets(|t| {
            t.first_reply = Some(3600);
            t.next_reply = Some(4 * 3600);
        });
        let now = at("2025-03-03T12:00:00Z");
        let key =
            |t: &Ticket| queue_key(t, evaluate(t, &s, std::slice::from_ref(&p), now).as_ref());
        // Replied late at 11:00, then the customer wrote again at 11:30.
        let mut late = ticket(&s);
        reply(&mut late, "2025-03-03T11:00:00Z", &s);
        customer(&mut late, "2025-03-03T11:30:00Z", &s);
        let late_key = key(&late);
        assert!(!late_key.breached(), "the late first reply is settled");
        assert_eq!(late_key.due(), Some(at("2025-03-03T15:30:00Z")));
        // A fresh ticket due at 12:30 now comes first.
        let mut fresh = ticket_at(&s, "2025-03-03T11:30:00Z");
        fresh.id = "zzzzzz".parse().unwrap();
        assert!(key(&fresh) < late_key);
    }

    #[test]
    fn warn_before_picks_running_targets_with_little_time_left() {
        assert_eq!(WarnBefore::parse("30m"), Some(WarnBefore::Secs(1800)));
        assert_eq!(WarnBefore::parse("20%"), Some(WarnBefore::Percent(20)));
        assert_eq!(WarnBefore::parse("100%"), None);
        assert_eq!(WarnBefore::parse("soon"), None);
        let s = Statuses::builtin();
        let mut p = targets(|t| {
            t.first_reply = Some(3600);
            t.resolution = Some(10 * 3600);
        });
        let t = ticket(&s);
        let soon = |p: &Policy, now: &str| -> Vec<Metric> {
            state(&t, p, now)
                .due_soon()
                .iter()
                .map(|i| i.metric)
                .collect()
        };
        assert!(
            soon(&p, "2025-03-03T09:45:00Z").is_empty(),
            "no warn_before"
        );
        p.warn_before = Some(WarnBefore::Secs(900));
        assert!(soon(&p, "2025-03-03T09:44:59Z").is_empty());
        assert_eq!(soon(&p, "2025-03-03T09:45:00Z"), [Metric::FirstReply]);
        assert!(soon(&p, "2025-03-03T10:00:01Z").is_empty(), "breached");
        p.warn_before = Some(WarnBefore::Percent(20));
        // 20% of 1h = 12 min; 20% of 10h = 2h.
        assert_eq!(soon(&p, "2025-03-03T09:48:00Z"), [Metric::FirstReply]);
        assert_eq!(soon(&p, "2025-03-03T17:00:00Z"), [Metric::Resolution]);
    }
}
