//! Report metrics: what `tix report` counts and measures over a period.
//!
//! Two steps, both pure. [`facts`] reads one ticket's event log once and
//! keeps what the report needs of it, whatever the period: instants,
//! durations (calendar and business seconds, in the ticket's SLA calendar,
//! else `24x7`), category intervals and SLA outcomes. [`aggregate`] then
//! attributes those facts to a [`Period`] and computes counts, rates and
//! duration statistics, for the whole desk and optionally per group.
//!
//! Definitions (every instant comes from the event log):
//!
//! - A *reply* is a public agent message not written by an automation rule
//!   ([`crate::model::Event::is_reply`]); a *customer message* is a message
//!   with role `customer`.
//! - A *solve* is a status event entering a solved-category status from a
//!   status of another category; a *close* likewise for closed. Moving
//!   between two statuses of one category is neither. A close with a
//!   `rule` is an *auto-close*.
//! - A *reopen* is a status event from solved or closed back to an active
//!   category ([`crate::model::status::is_reopen`]), as in the ticket summary.
//! - *First reply*: created → first reply; none when the ticket has no
//!   reply, or when its first message is an agent's (a proactive ticket).
//! - *Next reply*: for every later reply with at least one customer message
//!   since the reply before it: the first of those messages → that reply.
//! - *First resolution*: created → the first solve or close.
//! - *Full resolution*: created → the last solve, or the first close when
//!   the ticket was never solved (a forced close); only while the ticket is
//!   solved or closed now.
//! - *Time in categories* (per ticket, not in the report's JSON): time
//!   spent in new/open/on hold (requester wait), new/open (agent work),
//!   waiting and on hold, from creation to the last entry into solved or
//!   closed, or to `now` while the ticket is active.
//! - *Stations*: distinct non-empty assignees and departments ever set.
//!
//! Period attribution: a time metric belongs to the period holding its end
//! event (the reply, the solve). A period holds the instants `since <= t <=
//! until`: both ends are included, so a report up to "now" counts what
//! happened at "now" (several actions often share one second). Two
//! adjacent periods sharing a bound both count an event at exactly that
//! second; pass `until` one second earlier for exact tiling.
//!
//! Aggregates are computed on exact seconds and shown as whole minutes,
//! rounded down: the mean; the median (the mean of the two middle values
//! for an even count); the 90th percentile by nearest rank (the value at
//! rank ⌈0.9·n⌉ of the sorted values). With no values they are null.
//!
//! The model has no void categories (spam, merged) yet, so every ticket
//! counts; when they come, [`facts`] is the place to mark them and
//! [`aggregate`] to skip them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize, Serializer};

use crate::domain::calendar::Calendar;
use crate::domain::lifecycle::{Category, Statuses, is_reopen};
use crate::domain::sla::{self, Policy};
use crate::model::{Event, EventKind, Priority, Role, Ticket, TicketId, Timestamp};

/// How long after an auto-close a customer coming back makes it premature:
/// 7 days.
pub const COME_BACK_SECS: i64 = 7 * 86_400;

/// The group key of a ticket without an assignee, department or tag.
pub const NONE_KEY: &str = "(none)";

const DAY: i64 = 86_400;

// ---------------------------------------------------------------------------
// Facts: what one ticket contributes.
// ---------------------------------------------------------------------------

/// A measured duration ending at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "(i64, i64, i64)", into = "(i64, i64, i64)")]
pub struct Timed {
    /// The end event's instant: it decides the period.
    pub at: Timestamp,
    /// Calendar seconds.
    pub secs: i64,
    /// Business seconds in the ticket's calendar.
    pub business_secs: i64,
}

/// A length of time, calendar and business.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(i64, i64)", into = "(i64, i64)")]
pub struct Span {
    /// Calendar seconds.
    pub secs: i64,
    /// Business seconds in the ticket's calendar.
    pub business_secs: i64,
}

impl Span {
    fn add(&mut self, other: Self) {
        self.secs += other.secs;
        self.business_secs += other.business_secs;
    }
}

/// Time a ticket spent per group of categories, up to its last entry into
/// solved or closed, or up to `now` while active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeIn {
    /// In new, open or on hold: the requester waits.
    pub requester_wait: Span,
    /// In new or open: the agents have work.
    pub agent_work: Span,
    /// In waiting: the ball is with the customer.
    pub waiting: Span,
    /// In on hold.
    pub on_hold: Span,
}

/// A stretch of time the ticket spent in one status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "IntervalRow", into = "IntervalRow")]
pub struct Interval {
    /// The status id.
    pub status: String,
    /// Its category; `None` for a status the desk does not know.
    pub category: Option<Category>,
    /// When the status was set.
    pub start: Timestamp,
    /// When the next status was set; `None` for the current one.
    pub end: Option<Timestamp>,
}

/// An entry into the closed category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "(i64, bool, bool)", into = "(i64, bool, bool)")]
pub struct Close {
    /// When.
    pub at: Timestamp,
    /// Made by an automation rule.
    pub auto: bool,
    /// The same ticket got a customer message or a reopen within
    /// [`COME_BACK_SECS`] after it.
    pub came_back: bool,
}

/// A settled SLA metric instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "(String, bool, i64)", into = "(String, bool, i64)")]
pub struct SlaOutcome {
    /// The metric's name (`first_reply`, `next_reply`, `resolution`,
    /// `first_assign`).
    pub metric: String,
    /// Achieved (else breached).
    pub achieved: bool,
    /// When: the fulfilment for an achieved instance, the due time for a
    /// breached one.
    pub at: Timestamp,
}

/// A satisfaction rating (a `csat` event).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "(i64, u8)", into = "(i64, u8)")]
pub struct Score {
    /// When it was given.
    pub at: Timestamp,
    /// 1 to 5.
    pub score: u8,
}

/// What one ticket contributes to reports, whatever the period, so it can
/// be cached per ticket blob (with the configuration: statuses and SLA
/// policies). It depends on `now` only where the ticket is unfinished: the
/// SLA outcomes (a running clock becomes breached at its due time) and the
/// time in categories of an active ticket. Instants serialize as Unix
/// seconds and the small records inside as arrays (see [`rows`]):
/// `serde_json` gives one short line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// The ticket.
    pub id: TicketId,
    /// When it was created; `None` only for an empty event log (such a
    /// ticket counts nowhere).
    #[serde(with = "opt_secs")]
    pub created: Option<Timestamp>,
    /// Current priority.
    pub priority: Priority,
    /// Current assignee.
    pub assignee: Option<String>,
    /// Current department.
    pub department: Option<String>,
    /// Current tags, sorted.
    pub tags: Vec<String>,
    /// The ticket this one follows up.
    pub follow_up_of: Option<TicketId>,
    /// Current status id.
    pub status: String,
    /// Its category (`None` when the desk does not know the status).
    pub category: Option<Category>,
    /// First reply time; `None` without a reply or for a proactive ticket.
    pub first_reply: Option<Timed>,
    /// Next reply times, in log order.
    pub next_replies: Vec<Timed>,
    /// First resolution time.
    pub first_resolution: Option<Timed>,
    /// Full resolution time, only while solved or closed.
    pub full_resolution: Option<Timed>,
    /// The statuses the ticket went through, in order.
    pub intervals: Vec<Interval>,
    /// Time in categories.
    pub time_in: TimeIn,
    /// Reply instants.
    #[serde(with = "vec_secs")]
    pub replies: Vec<Timestamp>,
    /// Reopen instants.
    #[serde(with = "vec_secs")]
    pub reopens: Vec<Timestamp>,
    /// Solve instants.
    #[serde(with = "vec_secs")]
    pub solves: Vec<Timestamp>,
    /// Closes.
    pub closes: Vec<Close>,
    /// Distinct assignees ever set.
    pub assignee_stations: u32,
    /// Distinct departments ever set.
    pub department_stations: u32,
    /// Achieved and breached SLA instances.
    pub sla: Vec<SlaOutcome>,
    /// Ratings, in log order.
    pub ratings: Vec<Score>,
}

impl Facts {
    /// The status at instant `t` (set by the last status event at or
    /// before it): its id and category; `None` before creation.
    pub fn status_at(&self, t: Timestamp) -> Option<(&str, Option<Category>)> {
        self.intervals
            .iter()
            .rev()
            .find(|i| i.start <= t)
            .map(|i| (i.status.as_str(), i.category))
    }
}

/// One pass over the log: everything instant-like.
#[derive(Default)]
struct Pass {
    intervals: Vec<Interval>,
    replies: Vec<Timestamp>,
    /// (first customer message since the previous reply, the reply).
    next: Vec<(Timestamp, Timestamp)>,
    /// Customer messages and reopens, with their index in the log.
    comebacks: Vec<(usize, Timestamp)>,
    reopens: Vec<Timestamp>,
    solves: Vec<Timestamp>,
    /// Closes with their index in the log and whether a rule made them.
    closes: Vec<(usize, Timestamp, bool)>,
    /// The first solve or close.
    first_stop: Option<Timestamp>,
    category: Option<Category>,
}

impl Pass {
    fn of(ticket: &Ticket, statuses: &Statuses, created: Timestamp) -> Self {
        let mut pass = Self {
            category: Some(Category::New),
            ..Self::default()
        };
        pass.intervals.push(Interval {
            status: Category::New.default_status().to_owned(),
            category: Some(Category::New),
            start: created,
            end: None,
        });
        let mut waiting: Option<Timestamp> = None;
        for (index, event) in ticket.events.iter().enumerate() {
            if event.is_reply() {
                if let Some(start) = waiting.take() {
                    pass.next.push((start, event.at));
                }
                pass.replies.push(event.at);
            } else if event.kind == EventKind::Message && event.role == Role::Customer {
                if !pass.replies.is_empty() {
                    waiting.get_or_insert(event.at);
                }
                pass.comebacks.push((index, event.at));
            }
            if event.sets_status() {
                pass.status(index, event, statuses);
            }
        }
        pass
    }

    fn status(&mut self, index: usize, event: &Event, statuses: &Statuses) {
        let status = event.to.clone().unwrap_or_default();
        let to = statuses.category(&status);
        let before = self.category;
        if event.kind == EventKind::Status {
            if let (Some(from), Some(into)) = (before, to)
                && is_reopen(from, into)
            {
                self.reopens.push(event.at);
                self.comebacks.push((index, event.at));
            }
            if to == Some(Category::Solved) && before != to {
                self.solves.push(event.at);
                self.first_stop.get_or_insert(event.at);
            }
            if to == Some(Category::Closed) && before != to {
                self.closes.push((index, event.at, event.rule.is_some()));
                self.first_stop.get_or_insert(event.at);
            }
        }
        self.category = to;
        self.enter(status, to, event.at);
    }

    /// Starts an interval; one that starts at the same instant as the
    /// current one replaces it (the status at that instant is the last set).
    fn enter(&mut self, status: String, category: Option<Category>, at: Timestamp) {
        if self.intervals.last().is_some_and(|last| last.start == at) {
            self.intervals.pop();
        }
        if let Some(last) = self.intervals.last_mut() {
            if last.status == status {
                last.end = None;
                return;
            }
            last.end = Some(at);
        }
        self.intervals.push(Interval {
            status,
            category,
            start: at,
            end: None,
        });
    }
}

/// Computes what `ticket` contributes to reports, at `now`.
pub fn facts(ticket: &Ticket, statuses: &Statuses, policies: &[Policy], now: Timestamp) -> Facts {
    facts_with(ticket, statuses, policies, now, now)
}

/// How far ahead [`settled_facts`] looks for SLA clocks: ten years.
pub const SLA_HORIZON_SECS: i64 = 10 * 365 * 86_400;

/// [`facts`] that hold whatever the moment of the report, so they can be
/// cached until the ticket changes: a running SLA clock is taken as
/// breached at its due time (a report whose period ends before that time
/// does not count it, one that ends after does, as it would have been
/// breached by then unless the ticket changed, which makes new facts).
/// Only the time in categories of an active ticket (not part of any
/// report) is as of `now`.
pub fn settled_facts(
    ticket: &Ticket,
    statuses: &Statuses,
    policies: &[Policy],
    now: Timestamp,
) -> Facts {
    let horizon = now.checked_plus_seconds(SLA_HORIZON_SECS).unwrap_or(now);
    facts_with(ticket, statuses, policies, horizon, now)
}

fn facts_with(
    ticket: &Ticket,
    statuses: &Statuses,
    policies: &[Policy],
    sla_now: Timestamp,
    now: Timestamp,
) -> Facts {
    let created = ticket
        .events
        .iter()
        .find(|e| e.kind == EventKind::Created)
        .or_else(|| ticket.events.first())
        .map(|e| e.at);
    let cal = sla::calendar_for(ticket, policies);
    let pass = created.map(|c| Pass::of(ticket, statuses, c));
    let mut facts = Facts {
        id: ticket.id.clone(),
        created,
        priority: ticket.priority,
        assignee: non_empty(ticket.assignee.as_deref()),
        department: non_empty(ticket.department.as_deref()),
        tags: ticket.tags.iter().cloned().collect(),
        follow_up_of: ticket.follow_up_of.clone(),
        status: Category::New.default_status().to_owned(),
        category: Some(Category::New),
        first_reply: None,
        next_replies: Vec::new(),
        first_resolution: None,
        full_resolution: None,
        intervals: Vec::new(),
        time_in: TimeIn::default(),
        replies: Vec::new(),
        reopens: Vec::new(),
        solves: Vec::new(),
        closes: Vec::new(),
        assignee_stations: stations(ticket, EventKind::Assign, ticket.assignee.as_deref()),
        department_stations: stations(ticket, EventKind::Department, ticket.department.as_deref()),
        sla: sla_outcomes(ticket, statuses, policies, sla_now),
        ratings: ratings(ticket),
    };
    if let (Some(created), Some(pass)) = (created, pass) {
        fill(&mut facts, ticket, pass, cal, created, now);
    }
    facts
}

/// Fills in the facts that come from the pass over the log.
fn fill(
    facts: &mut Facts,
    ticket: &Ticket,
    pass: Pass,
    cal: &Calendar,
    created: Timestamp,
    now: Timestamp,
) {
    let proactive = ticket
        .events
        .iter()
        .find(|e| e.kind == EventKind::Message)
        .is_some_and(|e| e.role == Role::Agent);
    if !proactive {
        facts.first_reply = pass.replies.first().map(|r| timed(cal, created, *r));
    }
    facts.next_replies = pass
        .next
        .iter()
        .map(|(start, reply)| timed(cal, *start, *reply))
        .collect();
    facts.first_resolution = pass.first_stop.map(|s| timed(cal, created, s));
    if pass.category.is_some_and(|c| !c.is_active()) {
        let end = pass
            .solves
            .last()
            .or_else(|| pass.closes.first().map(|(_, at, _)| at));
        facts.full_resolution = end.map(|e| timed(cal, created, *e));
    }
    facts.closes = pass
        .closes
        .iter()
        .map(|&(index, at, auto)| Close {
            at,
            auto,
            came_back: pass
                .comebacks
                .iter()
                .any(|&(i, t)| i > index && t >= at && t.unix() - at.unix() <= COME_BACK_SECS),
        })
        .collect();
    facts.time_in = time_in(&pass.intervals, cal, now);
    if let Some(last) = pass.intervals.last() {
        facts.status.clone_from(&last.status);
        facts.category = last.category;
    }
    facts.intervals = pass.intervals;
    facts.replies = pass.replies;
    facts.reopens = pass.reopens;
    facts.solves = pass.solves;
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty()).map(str::to_owned)
}

fn timed(cal: &Calendar, from: Timestamp, to: Timestamp) -> Timed {
    Timed {
        at: to,
        secs: (to.unix() - from.unix()).max(0),
        business_secs: cal.business_secs(from, to),
    }
}

fn time_in(intervals: &[Interval], cal: &Calendar, now: Timestamp) -> TimeIn {
    let mut time = TimeIn::default();
    for interval in intervals {
        let end = interval.end.unwrap_or(now).min(now);
        if end <= interval.start {
            continue;
        }
        let span = Span {
            secs: end.unix() - interval.start.unix(),
            business_secs: cal.business_secs(interval.start, end),
        };
        match interval.category {
            Some(Category::New | Category::Open) => {
                time.requester_wait.add(span);
                time.agent_work.add(span);
            }
            Some(Category::OnHold) => {
                time.requester_wait.add(span);
                time.on_hold.add(span);
            }
            Some(Category::Waiting) => time.waiting.add(span),
            Some(Category::Solved | Category::Closed) | None => {}
        }
    }
    time
}

/// Distinct non-empty values set by `kind` events, plus the header's.
fn stations(ticket: &Ticket, kind: EventKind, header: Option<&str>) -> u32 {
    let set: BTreeSet<&str> = ticket
        .events
        .iter()
        .filter(|e| e.kind == kind)
        .filter_map(|e| e.to.as_deref())
        .chain(header)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .collect();
    u32::try_from(set.len()).unwrap_or(u32::MAX)
}

fn sla_outcomes(
    ticket: &Ticket,
    statuses: &Statuses,
    policies: &[Policy],
    now: Timestamp,
) -> Vec<SlaOutcome> {
    let Some(state) = sla::evaluate(ticket, statuses, policies, now) else {
        return Vec::new();
    };
    state
        .instances
        .iter()
        .filter_map(|i| {
            let (achieved, at) = match i.status {
                sla::Status::Achieved => (true, i.ended?),
                sla::Status::Breached => (false, i.due?),
                sla::Status::Active | sla::Status::Cancelled => return None,
            };
            Some(SlaOutcome {
                metric: i.metric.as_str().to_owned(),
                achieved,
                at,
            })
        })
        .collect()
}

fn ratings(ticket: &Ticket) -> Vec<Score> {
    ticket
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Csat)
        .filter_map(|e| {
            let score = e.to.as_deref()?.trim().parse::<u8>().ok()?;
            (1..=5)
                .contains(&score)
                .then_some(Score { at: e.at, score })
        })
        .collect()
}

// ---------------------------------------------------------------------------
// The report.
// ---------------------------------------------------------------------------

/// What `--by` groups tickets by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// The current assignee.
    Agent,
    /// The current department.
    Department,
    /// The current priority.
    Priority,
    /// Each current tag (a ticket counts in every tag group it has).
    Tag,
}

/// The instants a report covers: `since <= t <= until` (no lower bound
/// without `since`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first instant, included; `None` for the beginning of time.
    pub since: Option<Timestamp>,
    /// The last instant, included; also the instant of the backlog.
    pub until: Timestamp,
}

impl Period {
    /// Tells whether `t` falls in the period (both ends included).
    pub fn contains(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && t <= self.until
    }
}

/// How many of what happened in the period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Volumes {
    /// Tickets created.
    pub created: usize,
    /// Tickets with at least one solve.
    pub resolved: usize,
    /// Solves (a ticket solved twice counts twice).
    pub resolve_actions: usize,
    /// Tickets with at least one close.
    pub closed: usize,
    /// Tickets with at least one auto-close.
    pub auto_closed: usize,
    /// Tickets with at least one reopen.
    pub reopened: usize,
}

/// Whole minutes (rounded down) of the aggregates of some durations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Minutes {
    /// The mean.
    pub mean_minutes: Option<i64>,
    /// The median (mean of the two middle values for an even count).
    pub median_minutes: Option<i64>,
    /// The nearest-rank 90th percentile.
    pub p90_minutes: Option<i64>,
}

/// Statistics of one time metric over a period: calendar at the top level,
/// business under `business`; numbers are null when `count` is 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stat {
    /// How many values.
    pub count: usize,
    /// Calendar time.
    #[serde(flatten)]
    pub calendar: Minutes,
    /// Business time.
    pub business: Minutes,
}

/// Achievement of one SLA metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Achievement {
    /// Instances achieved in the period.
    pub achieved: usize,
    /// Instances breached in the period.
    pub breached: usize,
    /// achieved / (achieved + breached); null when both are 0.
    pub rate: Option<f64>,
}

/// SLA achievement per metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct SlaReport {
    /// First reply.
    pub first_reply: Achievement,
    /// Next reply.
    pub next_reply: Achievement,
    /// Resolution.
    pub resolution: Achievement,
    /// First assignment.
    pub first_assign: Achievement,
}

/// Satisfaction ratings given in the period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Satisfaction {
    /// Ratings given.
    pub count: usize,
    /// Their average score.
    pub average: Option<f64>,
    /// The share of 4 and 5.
    pub share_4_5: Option<f64>,
    /// Of the tickets resolved in the period, the share rated by its end.
    pub response_rate: Option<f64>,
}

/// Open tickets by age (`until` − created); each bucket holds its lower
/// bound: exactly one day old is `1-3d`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Ages {
    /// Under a day.
    #[serde(rename = "<1d")]
    pub under_1d: usize,
    /// 1 to 3 days.
    #[serde(rename = "1-3d")]
    pub d1_3: usize,
    /// 3 to 7 days.
    #[serde(rename = "3-7d")]
    pub d3_7: usize,
    /// 7 to 30 days.
    #[serde(rename = "7-30d")]
    pub d7_30: usize,
    /// 30 days or more.
    #[serde(rename = ">30d")]
    pub over_30d: usize,
}

/// Tickets active (new, open, waiting, on hold) at the period's end.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Backlog {
    /// How many.
    pub total: usize,
    /// By status id (only statuses with tickets).
    pub by_status: BTreeMap<String, usize>,
    /// By age.
    pub by_age: Ages,
}

/// The metrics of one set of tickets over a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Counts.
    pub volumes: Volumes,
    /// First reply times ending in the period.
    pub first_reply: Stat,
    /// Next reply times ending in the period.
    pub next_reply: Stat,
    /// First resolution times ending in the period.
    pub first_resolution: Stat,
    /// Full resolution times ending in the period.
    pub full_resolution: Stat,
    /// SLA achievement.
    pub sla: SlaReport,
    /// Of the tickets solved or closed in the period, the share with at
    /// most one reply by the period's end.
    pub one_touch_rate: Option<f64>,
    /// Of the tickets solved in the period, the share reopened at least
    /// once by the period's end.
    pub reopen_rate: Option<f64>,
    /// Of the tickets auto-closed in the period, the share whose customer
    /// came back within 7 days of such a close.
    pub premature_autoclose_rate: Option<f64>,
    /// Ratings.
    pub satisfaction: Satisfaction,
    /// Active tickets at `until`.
    pub backlog: Backlog,
    /// Time in categories of the tickets whose last entry into solved or
    /// closed falls in the period (requester wait, agent work, waiting,
    /// on hold).
    pub time_in: TimeInReport,
    /// Distinct assignees and departments those tickets had, on average.
    pub stations: Stations,
}

/// Time spent in categories, per metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TimeInReport {
    /// New, open or on hold: the customer waits.
    pub requester_wait: Stat,
    /// New or open: an agent has work.
    pub agent_work: Stat,
    /// Waiting for the customer.
    pub waiting: Stat,
    /// On hold.
    pub on_hold: Stat,
}

/// Stations: how many hands a ticket passed through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Stations {
    /// Mean distinct assignees.
    pub assignees: Option<f64>,
    /// Mean distinct departments.
    pub departments: Option<f64>,
}

/// The metrics of one group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Group {
    /// The assignee, department, priority or tag; [`NONE_KEY`] for none.
    pub key: String,
    /// Its metrics.
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// A report: the metrics of every ticket over a period, and per group.
///
/// `groups` is always serialized: empty without `--by`, so scripts can
/// iterate it unconditionally.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The period's start.
    #[serde(serialize_with = "opt_rfc3339")]
    pub since: Option<Timestamp>,
    /// The period's end.
    #[serde(serialize_with = "rfc3339")]
    pub until: Timestamp,
    /// The desk revision the report was made from; the caller fills it.
    pub at: Option<String>,
    /// The metrics of all tickets.
    #[serde(flatten)]
    pub metrics: Metrics,
    /// Per group, in key order (priorities lowest first), [`NONE_KEY`]
    /// last; groups with nothing in the period are left out.
    pub groups: Vec<Group>,
}

/// Follow-up tickets' creation instants, by the id they follow up.
type FollowUps = HashMap<TicketId, Vec<Timestamp>>;

/// Computes the report of `facts` over `period`, grouped `by` if given.
pub fn aggregate(facts: &[Facts], period: Period, by: Option<GroupBy>) -> Report {
    let mut tally = Tally::new(period, by);
    for f in facts {
        tally.add(f);
    }
    tally.finish().0
}

/// A report built one ticket at a time. It keeps numbers only (counts,
/// and the durations the statistics sort), never a ticket's facts, so a
/// desk of 100,000 tickets streams through it in little memory.
pub struct Tally {
    period: Period,
    by: Option<GroupBy>,
    all: Sums,
    groups: BTreeMap<(usize, String), Sums>,
    follow_ups: FollowUps,
    charts: ChartTally,
}

impl Tally {
    /// An empty report over `period`, grouped `by` if given.
    pub fn new(period: Period, by: Option<GroupBy>) -> Self {
        Self {
            period,
            by,
            all: Sums::default(),
            groups: BTreeMap::new(),
            follow_ups: HashMap::new(),
            charts: ChartTally::new(period),
        }
    }

    /// Counts one ticket.
    pub fn add(&mut self, f: &Facts) {
        if let (Some(of), Some(created)) = (&f.follow_up_of, f.created) {
            self.follow_ups.entry(of.clone()).or_default().push(created);
        }
        self.charts.add(f);
        // A ticket without a creation (an empty log) counts nowhere.
        if f.created.is_none() {
            return;
        }
        self.all.add(f, self.period);
        if let Some(by) = self.by {
            for key in group_keys(f, by) {
                self.groups.entry(key).or_default().add(f, self.period);
            }
        }
    }

    /// The report and the series of its page.
    pub fn finish(self) -> (Report, Charts) {
        let period = self.period;
        let follow_ups = &self.follow_ups;
        let groups = self
            .groups
            .into_iter()
            .map(|((_, key), sums)| Group {
                key,
                metrics: sums.finish(follow_ups),
            })
            .filter(|g| !g.metrics.is_empty())
            .collect();
        let report = Report {
            since: period.since,
            until: period.until,
            at: None,
            metrics: self.all.finish(follow_ups),
            groups,
        };
        (report, self.charts.finish())
    }
}

/// A ticket's groups, each with a sort rank (priority order; none last).
fn group_keys(f: &Facts, by: GroupBy) -> Vec<(usize, String)> {
    let named = |value: Option<&String>| match value {
        Some(v) => (0, v.clone()),
        None => (usize::MAX, NONE_KEY.to_owned()),
    };
    match by {
        GroupBy::Agent => vec![named(f.assignee.as_ref())],
        GroupBy::Department => vec![named(f.department.as_ref())],
        GroupBy::Priority => {
            let rank = Priority::ALL
                .iter()
                .position(|p| *p == f.priority)
                .unwrap_or(0);
            vec![(rank, f.priority.as_str().to_owned())]
        }
        GroupBy::Tag if f.tags.is_empty() => vec![named(None)],
        GroupBy::Tag => f.tags.iter().map(|t| (0, t.clone())).collect(),
    }
}

impl Metrics {
    /// Tells whether nothing was counted: no event in the period and no
    /// backlog (every rate is then null too).
    pub fn is_empty(&self) -> bool {
        let v = &self.volumes;
        let sla = &self.sla;
        v.created + v.resolved + v.closed + v.auto_closed + v.reopened == 0
            && [
                self.first_reply,
                self.next_reply,
                self.first_resolution,
                self.full_resolution,
            ]
            .iter()
            .all(|s| s.count == 0)
            && [
                sla.first_reply,
                sla.next_reply,
                sla.resolution,
                sla.first_assign,
            ]
            .iter()
            .all(|a| a.achieved + a.breached == 0)
            && self.satisfaction.count == 0
            && self.backlog.total == 0
    }
}

/// Durations measured in a period, calendar and business seconds.
#[derive(Default)]
struct Durations {
    secs: Vec<i64>,
    business: Vec<i64>,
}

impl Durations {
    fn push(&mut self, secs: i64, business_secs: i64) {
        self.secs.push(secs);
        self.business.push(business_secs);
    }

    fn stat(self) -> Stat {
        Stat {
            count: self.secs.len(),
            calendar: Minutes::of(self.secs),
            business: Minutes::of(self.business),
        }
    }
}

/// What one set of tickets has counted so far, for [`Metrics`].
#[derive(Default)]
struct Sums {
    volumes: Volumes,
    first_reply: Durations,
    next_reply: Durations,
    first_resolution: Durations,
    full_resolution: Durations,
    /// Achieved and breached counts (rates come at the end).
    sla: SlaReport,
    /// Solved or closed in the period; of those, with at most one reply by
    /// its end.
    done: usize,
    one_touch: usize,
    /// Solved in the period; of those, reopened and rated by its end.
    solved: usize,
    reopened: usize,
    rated: usize,
    /// Of the tickets auto-closed in the period, those whose customer came
    /// back on the ticket itself, and the auto-closes of the others, to
    /// hold against follow-up tickets once every ticket is in.
    came_back: usize,
    unanswered_closes: Vec<(TicketId, Vec<Timestamp>)>,
    /// Ratings given in the period: how many, their sum, how many 4 or 5.
    ratings: usize,
    score_sum: u64,
    high_scores: usize,
    backlog: Backlog,
    /// Tickets whose last entry into solved or closed is in the period:
    /// their time in categories and stations.
    requester_wait: Durations,
    agent_work: Durations,
    waiting: Durations,
    on_hold: Durations,
    ended: usize,
    assignee_stations: u64,
    department_stations: u64,
}

impl Sums {
    fn add(&mut self, f: &Facts, period: Period) {
        let within = |t: &Timestamp| period.contains(*t);
        let solves = f.solves.iter().filter(|t| within(t)).count();
        let closed = f.closes.iter().any(|c| within(&c.at));
        let autos: Vec<&Close> = f
            .closes
            .iter()
            .filter(|c| c.auto && within(&c.at))
            .collect();
        let v = &mut self.volumes;
        v.created += usize::from(f.created.as_ref().is_some_and(within));
        v.resolved += usize::from(solves > 0);
        v.resolve_actions += solves;
        v.closed += usize::from(closed);
        v.auto_closed += usize::from(!autos.is_empty());
        v.reopened += usize::from(f.reopens.iter().any(within));

        let timed = |d: &mut Durations, t: &Timed| {
            if within(&t.at) {
                d.push(t.secs, t.business_secs);
            }
        };
        f.first_reply
            .iter()
            .for_each(|t| timed(&mut self.first_reply, t));
        f.next_replies
            .iter()
            .for_each(|t| timed(&mut self.next_reply, t));
        f.first_resolution
            .iter()
            .for_each(|t| timed(&mut self.first_resolution, t));
        f.full_resolution
            .iter()
            .for_each(|t| timed(&mut self.full_resolution, t));
        self.add_sla(f, period);

        let by_end = |t: &Timestamp| *t <= period.until;
        if solves > 0 || closed {
            self.done += 1;
            self.one_touch += usize::from(f.replies.iter().filter(|t| by_end(t)).count() <= 1);
        }
        if solves > 0 {
            self.solved += 1;
            self.reopened += usize::from(f.reopens.iter().any(by_end));
            self.rated += usize::from(f.ratings.iter().any(|r| by_end(&r.at)));
        }
        if autos.iter().any(|c| c.came_back) {
            self.came_back += 1;
        } else if !autos.is_empty() {
            let closes = autos.iter().map(|c| c.at).collect();
            self.unanswered_closes.push((f.id.clone(), closes));
        }
        for rating in f.ratings.iter().filter(|r| within(&r.at)) {
            self.ratings += 1;
            self.score_sum += u64::from(rating.score);
            self.high_scores += usize::from(rating.score >= 4);
        }
        add_to_backlog(&mut self.backlog, f, period.until);
        if ended(f).is_some_and(|t| within(&t)) {
            let t = &f.time_in;
            self.requester_wait
                .push(t.requester_wait.secs, t.requester_wait.business_secs);
            self.agent_work
                .push(t.agent_work.secs, t.agent_work.business_secs);
            self.waiting.push(t.waiting.secs, t.waiting.business_secs);
            self.on_hold.push(t.on_hold.secs, t.on_hold.business_secs);
            self.ended += 1;
            self.assignee_stations += u64::from(f.assignee_stations);
            self.department_stations += u64::from(f.department_stations);
        }
    }

    fn add_sla(&mut self, f: &Facts, period: Period) {
        for outcome in f.sla.iter().filter(|o| period.contains(o.at)) {
            let slot = match outcome.metric.as_str() {
                "first_reply" => &mut self.sla.first_reply,
                "next_reply" => &mut self.sla.next_reply,
                "resolution" => &mut self.sla.resolution,
                "first_assign" => &mut self.sla.first_assign,
                _ => continue,
            };
            if outcome.achieved {
                slot.achieved += 1;
            } else {
                slot.breached += 1;
            }
        }
    }

    fn finish(self, follow_ups: &FollowUps) -> Metrics {
        let mut sla = self.sla;
        for slot in [
            &mut sla.first_reply,
            &mut sla.next_reply,
            &mut sla.resolution,
            &mut sla.first_assign,
        ] {
            slot.rate = ratio(slot.achieved, slot.achieved + slot.breached);
        }
        // A follow-up created within 7 days after an auto-close (the 7 days
        // may reach past `until`) makes it premature too.
        let followed = self
            .unanswered_closes
            .iter()
            .filter(|(id, closes)| {
                let follow = follow_ups.get(id).map_or(&[][..], Vec::as_slice);
                closes.iter().any(|c| {
                    follow
                        .iter()
                        .any(|t| *t >= *c && t.unix() - c.unix() <= COME_BACK_SECS)
                })
            })
            .count();
        let mean = |sum: u64| (self.ended > 0).then(|| sum as f64 / self.ended as f64);
        Metrics {
            volumes: self.volumes,
            first_reply: self.first_reply.stat(),
            next_reply: self.next_reply.stat(),
            first_resolution: self.first_resolution.stat(),
            full_resolution: self.full_resolution.stat(),
            sla,
            one_touch_rate: ratio(self.one_touch, self.done),
            reopen_rate: ratio(self.reopened, self.solved),
            premature_autoclose_rate: ratio(self.came_back + followed, self.volumes.auto_closed),
            satisfaction: Satisfaction {
                count: self.ratings,
                average: (self.ratings > 0).then(|| self.score_sum as f64 / self.ratings as f64),
                share_4_5: ratio(self.high_scores, self.ratings),
                response_rate: ratio(self.rated, self.solved),
            },
            backlog: self.backlog,
            time_in: TimeInReport {
                requester_wait: self.requester_wait.stat(),
                agent_work: self.agent_work.stat(),
                waiting: self.waiting.stat(),
                on_hold: self.on_hold.stat(),
            },
            stations: Stations {
                assignees: mean(self.assignee_stations),
                departments: mean(self.department_stations),
            },
        }
    }
}

/// When a ticket last entered solved or closed, while it is in one.
fn ended(f: &Facts) -> Option<Timestamp> {
    if !matches!(f.category, Some(Category::Solved | Category::Closed)) {
        return None;
    }
    f.solves
        .iter()
        .copied()
        .chain(f.closes.iter().map(|c| c.at))
        .max()
}

/// Counts a ticket in the backlog at `at` if it was active then.
fn add_to_backlog(backlog: &mut Backlog, f: &Facts, at: Timestamp) {
    let Some(created) = f.created.filter(|c| *c <= at) else {
        return;
    };
    let Some((status, Some(category))) = f.status_at(at) else {
        return;
    };
    if !category.is_active() {
        return;
    }
    backlog.total += 1;
    match backlog.by_status.get_mut(status) {
        Some(n) => *n += 1,
        None => {
            backlog.by_status.insert(status.to_owned(), 1);
        }
    }
    let age = at.unix() - created.unix();
    let ages = &mut backlog.by_age;
    let bucket = match age {
        a if a < DAY => &mut ages.under_1d,
        a if a < 3 * DAY => &mut ages.d1_3,
        a if a < 7 * DAY => &mut ages.d3_7,
        a if a < 30 * DAY => &mut ages.d7_30,
        _ => &mut ages.over_30d,
    };
    *bucket += 1;
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

impl Stat {
    /// The statistics of some measured durations.
    pub fn of(values: &[Timed]) -> Self {
        let mut durations = Durations::default();
        for t in values {
            durations.push(t.secs, t.business_secs);
        }
        durations.stat()
    }
}

impl Minutes {
    /// The mean, median and nearest-rank p90 of durations in seconds, in
    /// whole minutes rounded down; all null without values.
    pub fn of(mut secs: Vec<i64>) -> Self {
        if secs.is_empty() {
            return Self::default();
        }
        secs.sort_unstable();
        let n = secs.len();
        let minutes = |total: i128, count: i128| {
            i64::try_from(total.div_euclid(count * 60)).unwrap_or(i64::MAX)
        };
        let sum: i128 = secs.iter().map(|s| i128::from(*s)).sum();
        let median = if n % 2 == 1 {
            minutes(i128::from(secs[n / 2]), 1)
        } else {
            minutes(i128::from(secs[n / 2 - 1]) + i128::from(secs[n / 2]), 2)
        };
        // Nearest rank: the value at rank ⌈0.9·n⌉ (1-based).
        let rank = (9 * n).div_ceil(10).max(1);
        Self {
            mean_minutes: Some(minutes(sum, n as i128)),
            median_minutes: Some(median),
            p90_minutes: Some(minutes(i128::from(secs[rank - 1]), 1)),
        }
    }
}

// ---------------------------------------------------------------------------
// Serialisation helpers.
// ---------------------------------------------------------------------------

fn rfc3339<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339())
}

fn opt_rfc3339<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339()),
        None => s.serialize_none(),
    }
}

/// Facts keep instants as Unix seconds: compact in a cache line, and
/// independent of the TOML datetime the ticket files use.
/// The array forms the small records of [`Facts`] are cached in: at
/// 100,000 tickets, field names were half of the cache's 200 MB and of the
/// time a warm report spends reading it.
mod rows {
    use super::{Category, Close, Interval, Score, SlaOutcome, Span, Timed, Timestamp};

    pub(super) fn time(secs: i64) -> Result<Timestamp, String> {
        Timestamp::from_unix(secs).ok_or_else(|| format!("time {secs} out of range"))
    }

    impl From<Timed> for (i64, i64, i64) {
        fn from(t: Timed) -> Self {
            (t.at.unix(), t.secs, t.business_secs)
        }
    }

    impl TryFrom<(i64, i64, i64)> for Timed {
        type Error = String;
        fn try_from((at, secs, business_secs): (i64, i64, i64)) -> Result<Self, String> {
            Ok(Self {
                at: time(at)?,
                secs,
                business_secs,
            })
        }
    }

    impl From<Span> for (i64, i64) {
        fn from(s: Span) -> Self {
            (s.secs, s.business_secs)
        }
    }

    impl From<(i64, i64)> for Span {
        fn from((secs, business_secs): (i64, i64)) -> Self {
            Self {
                secs,
                business_secs,
            }
        }
    }

    /// An interval: status, category, start, end.
    pub(super) type IntervalRow = (String, Option<Category>, i64, Option<i64>);

    impl From<Interval> for IntervalRow {
        fn from(i: Interval) -> Self {
            (
                i.status,
                i.category,
                i.start.unix(),
                i.end.as_ref().map(Timestamp::unix),
            )
        }
    }

    impl TryFrom<IntervalRow> for Interval {
        type Error = String;
        fn try_from((status, category, start, end): IntervalRow) -> Result<Self, String> {
            Ok(Self {
                status,
                category,
                start: time(start)?,
                end: end.map(time).transpose()?,
            })
        }
    }

    impl From<Close> for (i64, bool, bool) {
        fn from(c: Close) -> Self {
            (c.at.unix(), c.auto, c.came_back)
        }
    }

    impl TryFrom<(i64, bool, bool)> for Close {
        type Error = String;
        fn try_from((at, auto, came_back): (i64, bool, bool)) -> Result<Self, String> {
            Ok(Self {
                at: time(at)?,
                auto,
                came_back,
            })
        }
    }

    impl From<SlaOutcome> for (String, bool, i64) {
        fn from(o: SlaOutcome) -> Self {
            (o.metric, o.achieved, o.at.unix())
        }
    }

    impl TryFrom<(String, bool, i64)> for SlaOutcome {
        type Error = String;
        fn try_from((metric, achieved, at): (String, bool, i64)) -> Result<Self, String> {
            Ok(Self {
                metric,
                achieved,
                at: time(at)?,
            })
        }
    }

    impl From<Score> for (i64, u8) {
        fn from(s: Score) -> Self {
            (s.at.unix(), s.score)
        }
    }

    impl TryFrom<(i64, u8)> for Score {
        type Error = String;
        fn try_from((at, score): (i64, u8)) -> Result<Self, String> {
            Ok(Self {
                at: time(at)?,
                score,
            })
        }
    }
}

use rows::IntervalRow;

mod opt_secs {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Timestamp;

    pub(super) fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&t.unix()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Timestamp>, D::Error> {
        Option::<i64>::deserialize(d)?
            .map(|secs| {
                Timestamp::from_unix(secs)
                    .ok_or_else(|| serde::de::Error::custom(format!("time {secs} out of range")))
            })
            .transpose()
    }
}

mod vec_secs {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::Timestamp;

    pub(super) fn serialize<S: Serializer>(t: &[Timestamp], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(t.iter().map(Timestamp::unix))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Timestamp>, D::Error> {
        Vec::<i64>::deserialize(d)?
            .into_iter()
            .map(|secs| {
                Timestamp::from_unix(secs)
                    .ok_or_else(|| serde::de::Error::custom(format!("time {secs} out of range")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::Hours;
    use crate::domain::change::{self, Actor, Change, NewTicket};
    use crate::domain::lifecycle::StatusDef;
    use crate::domain::sla::{Match, Targets};
    use crate::model::Customer;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    /// An instant of Monday 2025-03-03 (UTC).
    fn mon(hm: &str) -> Timestamp {
        at(&format!("2025-03-03T{hm}:00Z"))
    }

    /// The built-in statuses plus a custom waiting one and a custom solved one.
    fn statuses() -> Statuses {
        let mut s = Statuses::builtin();
        for (id, category) in [
            ("pending-customer", Category::Waiting),
            ("fixed", Category::Solved),
        ] {
            s.insert(StatusDef {
                id: id.into(),
                label: id.into(),
                category,
                next: None,
            });
        }
        s
    }

    /// Monday to Friday, 09:00-17:00 UTC.
    fn office() -> Calendar {
        let day = vec![Hours::parse("09:00-17:00").unwrap()];
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            vec![],
            vec![],
        ];
        Calendar::new("UTC", week, BTreeMap::new()).unwrap()
    }

    fn policy(calendar: Calendar, first_reply: Option<i64>) -> Policy {
        let targets = Targets {
            first_reply,
            ..Targets::default()
        };
        Policy {
            name: "p".into(),
            matches: Match::default(),
            calendar,
            pause: vec![],
            warn_before: None,
            targets: [(Priority::Normal, targets)].into(),
        }
    }

    fn new_ticket(id: &str, when: Timestamp, new: NewTicket, s: &Statuses) -> Ticket {
        let actor = Actor {
            id: "ana@desk",
            role: Role::Agent,
            now: when,
            statuses: s,
        };
        change::create(id.parse().unwrap(), new, &actor).unwrap().0
    }

    /// A ticket whose customer wrote first.
    fn ticket(id: &str, when: Timestamp, s: &Statuses) -> Ticket {
        let new = NewTicket {
            subject: "help".into(),
            body: Some("it smokes".into()),
            customer: Customer {
                email: Some("bo@ex.com".into()),
                ..Customer::default()
            },
            ..NewTicket::default()
        };
        new_ticket(id, when, new, s)
    }

    fn act(t: &mut Ticket, change: Change, when: Timestamp, s: &Statuses) {
        let actor = Actor {
            id: "ana@desk",
            role: Role::Agent,
            now: when,
            statuses: s,
        };
        change::apply(t, &change, &actor).unwrap();
    }

    fn reply(t: &mut Ticket, when: Timestamp, s: &Statuses) {
        let body = "on it".into();
        act(
            t,
            Change::Reply {
                body,
                resolve: false,
            },
            when,
            s,
        );
    }

    fn customer(t: &mut Ticket, when: Timestamp, s: &Statuses) {
        act(
            t,
            Change::CustomerReply {
                body: "and?".into(),
            },
            when,
            s,
        );
    }

    fn resolve(t: &mut Ticket, when: Timestamp, s: &Statuses) {
        act(t, Change::Resolve { reason: None }, when, s);
    }

    fn reopen(t: &mut Ticket, when: Timestamp, s: &Statuses) {
        act(t, Change::Reopen { reason: None }, when, s);
    }

    fn force_close(t: &mut Ticket, when: Timestamp, s: &Statuses) {
        let reason = Some("spam".into());
        act(
            t,
            Change::Close {
                force: true,
                reason,
            },
            when,
            s,
        );
    }

    /// A status event pushed directly, by the automation when `rule` is set.
    fn push_status(t: &mut Ticket, when: Timestamp, from: &str, to: &str, rule: Option<&str>) {
        let role = if rule.is_some() {
            Role::System
        } else {
            Role::Agent
        };
        let mut e = Event::new(when, "tix-automation", role, EventKind::Status);
        e.from = Some(from.into());
        e.to = Some(to.into());
        e.rule = rule.map(str::to_owned);
        t.push(e);
    }

    fn push_csat(t: &mut Ticket, when: Timestamp, score: &str) {
        let mut e = Event::new(when, "bo@ex.com", Role::Customer, EventKind::Csat);
        e.to = Some(score.into());
        t.push(e);
    }

    fn facts_at(t: &Ticket, s: &Statuses, now: Timestamp) -> Facts {
        facts(t, s, &[], now)
    }

    fn timed(at: Timestamp, minutes: i64) -> Timed {
        Timed {
            at,
            secs: minutes * 60,
            business_secs: minutes * 60,
        }
    }

    fn upto(until: Timestamp) -> Period {
        Period { since: None, until }
    }

    /// (count, mean, median, p90) in calendar minutes.
    fn summary(stat: &Stat) -> (usize, Option<i64>, Option<i64>, Option<i64>) {
        let m = stat.calendar;
        (stat.count, m.mean_minutes, m.median_minutes, m.p90_minutes)
    }

    #[test]
    fn m1_first_reply_in_calendar_and_business_time() {
        let s = statuses();
        // Friday 16:00 to Monday 10:00: 66 hours, of which 2 are office hours.
        let mut t = ticket("t00001", at("2025-03-07T16:00:00Z"), &s);
        reply(&mut t, at("2025-03-10T10:00:00Z"), &s);
        let policies = [policy(office(), None)];
        let f = facts(&t, &s, &policies, at("2025-03-10T12:00:00Z"));
        let expected = Timed {
            at: at("2025-03-10T10:00:00Z"),
            secs: 66 * 3600,
            business_secs: 2 * 3600,
        };
        assert_eq!(f.first_reply, Some(expected));
        let report = aggregate(&[f], upto(at("2025-03-10T12:00:00Z")), None);
        assert_eq!(
            summary(&report.metrics.first_reply),
            (1, Some(3960), Some(3960), Some(3960))
        );
        let business = report.metrics.first_reply.business;
        assert_eq!(business.mean_minutes, Some(120));
        assert_eq!(business.median_minutes, Some(120));
        assert_eq!(business.p90_minutes, Some(120));
    }

    #[test]
    fn m1_is_null_without_a_reply_and_for_a_proactive_ticket() {
        let s = statuses();
        let unanswered = ticket("t00001", mon("09:00"), &s);
        // An agent writes first; the customer answers; the agent replies.
        let new = NewTicket {
            subject: "your order".into(),
            body: Some("your order shipped".into()),
            ..NewTicket::default()
        };
        let mut proactive = new_ticket("t00002", mon("09:00"), new, &s);
        customer(&mut proactive, mon("09:30"), &s);
        reply(&mut proactive, mon("10:00"), &s);
        let a = facts_at(&unanswered, &s, mon("12:00"));
        let b = facts_at(&proactive, &s, mon("12:00"));
        assert_eq!(a.first_reply, None);
        assert_eq!(b.first_reply, None);
        // The proactive message is r1: the customer's answer waits for r2.
        assert_eq!(b.replies, vec![mon("09:00"), mon("10:00")]);
        assert_eq!(b.next_replies, vec![timed(mon("10:00"), 30)]);
        let report = aggregate(&[a, b], upto(mon("12:00")), None);
        assert_eq!(summary(&report.metrics.first_reply), (0, None, None, None));
        assert_eq!(report.metrics.first_reply.business, Minutes::default());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["first_reply"],
            serde_json::json!({
                "count": 0, "mean_minutes": null, "median_minutes": null, "p90_minutes": null,
                "business": { "mean_minutes": null, "median_minutes": null, "p90_minutes": null }
            })
        );
    }

    #[test]
    fn m2_next_reply_runs_from_the_first_of_several_customer_messages() {
        let s = statuses();
        let mut t = ticket("t00001", mon("09:00"), &s);
        reply(&mut t, mon("09:10"), &s);
        customer(&mut t, mon("10:00"), &s);
        customer(&mut t, mon("10:30"), &s);
        act(&mut t, Change::Note { body: "hm".into() }, mon("10:40"), &s);
        // An automation's message is no reply.
        let mut auto = Event::new(mon("10:50"), "ana@desk", Role::Agent, EventKind::Message);
        auto.rule = Some("notify".into());
        t.push(auto);
        reply(&mut t, mon("11:00"), &s);
        // No customer message since 11:00: this reply measures nothing.
        reply(&mut t, mon("11:30"), &s);
        customer(&mut t, mon("12:00"), &s);
        reply(&mut t, mon("12:20"), &s);
        let f = facts_at(&t, &s, mon("13:00"));
        assert_eq!(f.first_reply, Some(timed(mon("09:10"), 10)));
        assert_eq!(
            f.next_replies,
            vec![timed(mon("11:00"), 60), timed(mon("12:20"), 20)]
        );
        assert_eq!(f.replies.len(), 4);
        let report = aggregate(&[f], upto(mon("13:00")), None);
        // Mean and median 40; p90 = rank ceil(1.8) = 2 = 60.
        assert_eq!(
            summary(&report.metrics.next_reply),
            (2, Some(40), Some(40), Some(60))
        );
    }

    #[test]
    fn m3_first_and_m4_full_resolution_across_a_reopen() {
        let s = statuses();
        let mut t = ticket("t00001", mon("09:00"), &s);
        reply(&mut t, mon("09:30"), &s);
        resolve(&mut t, mon("10:00"), &s);
        // Moving between two solved statuses is not another solve.
        push_status(&mut t, mon("10:30"), "resolved", "fixed", None);
        reopen(&mut t, mon("11:00"), &s);
        reply(&mut t, mon("11:30"), &s);
        resolve(&mut t, mon("12:00"), &s);
        let f = facts_at(&t, &s, mon("13:00"));
        assert_eq!(f.solves, vec![mon("10:00"), mon("12:00")]);
        assert_eq!(f.first_resolution, Some(timed(mon("10:00"), 60)));
        assert_eq!(f.full_resolution, Some(timed(mon("12:00"), 180)));
        // Reopened again: no full resolution while active.
        reopen(&mut t, mon("13:00"), &s);
        let g = facts_at(&t, &s, mon("14:00"));
        assert_eq!(g.first_resolution, Some(timed(mon("10:00"), 60)));
        assert_eq!(g.full_resolution, None);
        let report = aggregate(&[f], upto(mon("13:00")), None);
        assert_eq!(
            summary(&report.metrics.first_resolution),
            (1, Some(60), Some(60), Some(60))
        );
        assert_eq!(
            summary(&report.metrics.full_resolution),
            (1, Some(180), Some(180), Some(180))
        );
    }

    #[test]
    fn m4_forced_close_counts_from_the_close_only_without_a_solve() {
        let s = statuses();
        let mut forced = ticket("t00001", mon("09:00"), &s);
        force_close(&mut forced, mon("09:45"), &s);
        let f = facts_at(&forced, &s, mon("12:00"));
        assert_eq!(f.first_resolution, Some(timed(mon("09:45"), 45)));
        assert_eq!(f.full_resolution, Some(timed(mon("09:45"), 45)));
        // Solved then closed: full resolution ends at the solve.
        let mut closed = ticket("t00002", mon("09:00"), &s);
        resolve(&mut closed, mon("10:00"), &s);
        act(
            &mut closed,
            Change::Close {
                force: false,
                reason: None,
            },
            mon("11:00"),
            &s,
        );
        let g = facts_at(&closed, &s, mon("12:00"));
        assert_eq!(g.first_resolution, Some(timed(mon("10:00"), 60)));
        assert_eq!(g.full_resolution, Some(timed(mon("10:00"), 60)));
        // Solved, reopened, then forced closed: the last solve still ends it.
        let mut both = ticket("t00003", mon("09:00"), &s);
        resolve(&mut both, mon("10:00"), &s);
        reopen(&mut both, mon("10:30"), &s);
        force_close(&mut both, mon("11:00"), &s);
        let h = facts_at(&both, &s, mon("12:00"));
        assert_eq!(h.full_resolution, Some(timed(mon("10:00"), 60)));
        assert_eq!(h.closes.len(), 1);
    }

    #[test]
    fn m5_to_m8_time_in_categories() {
        let s = statuses();
        let mut t = ticket("t00001", mon("09:00"), &s);
        reply(&mut t, mon("09:30"), &s); // new 30m
        customer(&mut t, mon("10:30"), &s); // answered 60m
        let until = Some(at("2025-03-04T00:00:00Z"));
        act(&mut t, Change::Postpone { until }, mon("11:00"), &s); // open 30m
        act(&mut t, Change::Open, mon("12:00"), &s); // postponed 60m
        resolve(&mut t, mon("13:00"), &s); // open 60m
        let f = facts_at(&t, &s, mon("15:00"));
        let span = |minutes: i64| Span {
            secs: minutes * 60,
            business_secs: minutes * 60,
        };
        let expected = TimeIn {
            requester_wait: span(180),
            agent_work: span(120),
            waiting: span(60),
            on_hold: span(60),
        };
        assert_eq!(f.time_in, expected);
        let statuses_seen: Vec<&str> = f.intervals.iter().map(|i| i.status.as_str()).collect();
        assert_eq!(
            statuses_seen,
            ["new", "answered", "open", "postponed", "open", "resolved"]
        );
        assert_eq!(
            f.status_at(mon("11:30")),
            Some(("postponed", Some(Category::OnHold)))
        );
        assert_eq!(f.status_at(mon("08:59")), None);
        // Still new: the time runs to now, in business hours too.
        let new = ticket("t00002", at("2025-03-07T16:00:00Z"), &s);
        let policies = [policy(office(), None)];
        let g = facts(&new, &s, &policies, at("2025-03-10T10:00:00Z"));
        let work = Span {
            secs: 66 * 3600,
            business_secs: 2 * 3600,
        };
        assert_eq!(g.time_in.agent_work, work);
        assert_eq!(g.time_in.requester_wait, work);
        assert_eq!(g.time_in.waiting, Span::default());
    }

    #[test]
    fn m9_reopens_from_solved_and_closed_and_the_reopen_rate() {
        let s = statuses();
        let mut t = ticket("t00001", mon("09:00"), &s);
        resolve(&mut t, mon("10:00"), &s);
        reopen(&mut t, mon("11:00"), &s);
        resolve(&mut t, mon("12:00"), &s);
        act(
            &mut t,
            Change::Close {
                force: false,
                reason: None,
            },
            mon("13:00"),
            &s,
        );
        reopen(&mut t, mon("14:00"), &s);
        let f = facts_at(&t, &s, mon("15:00"));
        assert_eq!(f.reopens, vec![mon("11:00"), mon("14:00")]);
        assert_eq!(
            u32::try_from(f.reopens.len()).unwrap(),
            t.summary(&s).reopens
        );
        let mut plain = ticket("t00002", mon("09:00"), &s);
        resolve(&mut plain, mon("10:00"), &s);
        let g = facts_at(&plain, &s, mon("15:00"));
        let report = aggregate(&[f, g], upto(mon("15:00")), None);
        assert_eq!(report.metrics.reopen_rate, Some(0.5));
        assert_eq!(report.metrics.volumes.reopened, 1);
    }

    #[test]
    fn reopen_rate_is_among_tickets_solved_in_the_period() {
        let s = statuses();
        let period = Period {
            since: Some(mon("12:00")),
            until: mon("18:00"),
        };
        // Reopened before the period, solved again in it: counts.
        let mut a = ticket("t00001", mon("09:00"), &s);
        resolve(&mut a, mon("10:00"), &s);
        reopen(&mut a, mon("11:00"), &s);
        resolve(&mut a, mon("13:00"), &s);
        // Reopened in the period but not solved in it: not in the rate.
        let mut b = ticket("t00002", mon("09:00"), &s);
        resolve(&mut b, mon("10:00"), &s);
        reopen(&mut b, mon("14:00"), &s);
        // Solved in the period, reopened after it: not reopened yet.
        let mut c = ticket("t00003", mon("09:00"), &s);
        resolve(&mut c, mon("15:00"), &s);
        reopen(&mut c, mon("19:00"), &s);
        let all: Vec<Facts> = [a, b, c]
            .iter()
            .map(|t| facts_at(t, &s, mon("20:00")))
            .collect();
        let report = aggregate(&all, period, None);
        assert_eq!(report.metrics.volumes.resolved, 2);
        assert_eq!(report.metrics.volumes.reopened, 1);
        assert_eq!(report.metrics.reopen_rate, Some(0.5));
    }

    #[test]
    fn m10_m11_replies_and_the_one_touch_rate() {
        let s = statuses();
        let mut one = ticket("t00001", mon("09:00"), &s);
        act(
            &mut one,
            Change::Note { body: "n".into() },
            mon("09:05"),
            &s,
        );
        let body = "done".to_owned();
        act(
            &mut one,
            Change::Reply {
                body,
                resolve: true,
            },
            mon("09:10"),
            &s,
        );
        let mut two = ticket("t00002", mon("09:00"), &s);
        reply(&mut two, mon("09:10"), &s);
        reply(&mut two, mon("09:20"), &s);
        resolve(&mut two, mon("09:30"), &s);
        let mut three = ticket("t00003", mon("09:00"), &s);
        for m in ["09:10", "09:20", "09:30"] {
            reply(&mut three, mon(m), &s);
        }
        resolve(&mut three, mon("09:40"), &s);
        act(
            &mut three,
            Change::Close {
                force: false,
                reason: None,
            },
            mon("09:50"),
            &s,
        );
        let mut none = ticket("t00004", mon("09:00"), &s);
        force_close(&mut none, mon("09:10"), &s);
        let mut active = ticket("t00005", mon("09:00"), &s);
        reply(&mut active, mon("09:10"), &s);
        let all: Vec<Facts> = [one, two, three, none, active]
            .iter()
            .map(|t| facts_at(t, &s, mon("10:00")))
            .collect();
        let replies: Vec<usize> = all.iter().map(|f| f.replies.len()).collect();
        assert_eq!(replies, [1, 2, 3, 0, 1]);
        let report = aggregate(&all, upto(mon("10:00")), None);
        // One-touch: `one` and `none` of the four solved or closed.
        assert_eq!(report.metrics.one_touch_rate, Some(0.5));
    }

    #[test]
    fn m12_stations_count_distinct_assignees_and_departments() {
        let s = statuses();
        let mut t = ticket("t00001", mon("09:00"), &s);
        let assign = |who: Option<&str>, dept: Option<&str>| Change::Assign {
            assignee: Some(who.map(str::to_owned)),
            department: dept.map(|d| Some(d.to_owned())),
        };
        act(
            &mut t,
            assign(Some("ana@desk"), Some("support")),
            mon("09:10"),
            &s,
        );
        act(
            &mut t,
            assign(Some("bo@desk"), Some("billing")),
            mon("09:20"),
            &s,
        );
        act(&mut t, assign(Some("ana@desk"), None), mon("09:30"), &s);
        act(&mut t, assign(None, Some("support")), mon("09:40"), &s);
        let f = facts_at(&t, &s, mon("10:00"));
        assert_eq!(f.assignee_stations, 2);
        assert_eq!(f.department_stations, 2);
        assert_eq!(f.assignee, None);
        assert_eq!(f.department.as_deref(), Some("support"));
    }

    #[test]
    fn m13_sla_achievement_counts_settled_instances_in_the_period() {
        let s = statuses();
        let policies = [policy(Calendar::always(), Some(3600))];
        let now = mon("12:00");
        let mut achieved = ticket("t00001", mon("09:00"), &s);
        reply(&mut achieved, mon("09:30"), &s);
        let mut late = ticket("t00002", mon("09:00"), &s);
        reply(&mut late, mon("11:00"), &s);
        let overdue = ticket("t00003", mon("09:00"), &s);
        let running = ticket("t00004", mon("11:30"), &s);
        let mut before = ticket("t00005", mon("07:00"), &s);
        reply(&mut before, mon("07:20"), &s);
        let all: Vec<Facts> = [achieved, late, overdue, running, before]
            .iter()
            .map(|t| facts(t, &s, &policies, now))
            .collect();
        let outcome = |achieved: bool, at: Timestamp| SlaOutcome {
            metric: "first_reply".into(),
            achieved,
            at,
        };
        assert_eq!(all[0].sla, vec![outcome(true, mon("09:30"))]);
        // Breached: at the due time, for a late reply and for none.
        assert_eq!(all[1].sla, vec![outcome(false, mon("10:00"))]);
        assert_eq!(all[2].sla, vec![outcome(false, mon("10:00"))]);
        assert_eq!(all[3].sla, vec![]);
        let period = Period {
            since: Some(mon("09:00")),
            until: now,
        };
        let report = aggregate(&all, period, None);
        let first = report.metrics.sla.first_reply;
        assert_eq!((first.achieved, first.breached), (1, 2));
        assert_eq!(first.rate, Some(1.0 / 3.0));
        assert_eq!(report.metrics.sla.resolution, Achievement::default());
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(
            json["sla"]["next_reply"],
            serde_json::json!({ "achieved": 0, "breached": 0, "rate": null })
        );
    }

    #[test]
    fn m14_satisfaction_of_ratings_given_in_the_period() {
        let s = statuses();
        let mut a = ticket("t00001", mon("09:00"), &s);
        resolve(&mut a, mon("10:00"), &s);
        push_csat(&mut a, mon("10:30"), "5");
        let mut b = ticket("t00002", mon("09:00"), &s);
        resolve(&mut b, mon("10:00"), &s);
        push_csat(&mut b, mon("11:00"), "4");
        push_csat(&mut b, mon("11:30"), "2");
        push_csat(&mut b, mon("11:40"), "9"); // not a score: ignored
        let mut c = ticket("t00003", mon("09:00"), &s);
        resolve(&mut c, mon("10:00"), &s);
        let mut d = ticket("t00004", at("2025-03-02T09:00:00Z"), &s);
        resolve(&mut d, at("2025-03-02T09:30:00Z"), &s);
        push_csat(&mut d, at("2025-03-02T10:00:00Z"), "3");
        let all: Vec<Facts> = [a, b, c, d]
            .iter()
            .map(|t| facts_at(t, &s, mon("12:00")))
            .collect();
        assert_eq!(all[1].ratings.len(), 2);
        let period = Period {
            since: Some(mon("00:00")),
            until: mon("12:00"),
        };
        let sat = aggregate(&all, period, None).metrics.satisfaction;
        assert_eq!(sat.count, 3);
        assert_eq!(sat.average, Some(11.0 / 3.0));
        assert_eq!(sat.share_4_5, Some(2.0 / 3.0));
        // a and b of the three resolved today (d was resolved before).
        assert_eq!(sat.response_rate, Some(2.0 / 3.0));
        let tomorrow = Period {
            since: Some(at("2025-03-04T00:00:00Z")),
            until: at("2025-03-05T00:00:00Z"),
        };
        let empty = aggregate(&all, tomorrow, None).metrics.satisfaction;
        assert_eq!(
            empty,
            Satisfaction {
                count: 0,
                average: None,
                share_4_5: None,
                response_rate: None,
            }
        );
    }

    #[test]
    fn m15_volumes_count_tickets_and_resolve_actions() {
        let s = statuses();
        let mut a = ticket("t00001", at("2025-03-02T09:00:00Z"), &s);
        resolve(&mut a, mon("09:00"), &s);
        reopen(&mut a, mon("10:00"), &s);
        resolve(&mut a, mon("11:00"), &s);
        let mut b = ticket("t00002", mon("09:00"), &s);
        resolve(&mut b, mon("09:30"), &s);
        push_status(
            &mut b,
            mon("12:00"),
            "resolved",
            "closed",
            Some("close-solved-4d"),
        );
        let mut c = ticket("t00003", mon("09:00"), &s);
        force_close(&mut c, mon("10:00"), &s);
        let d = ticket("t00004", at("2025-03-04T09:00:00Z"), &s);
        let all: Vec<Facts> = [a, b, c, d]
            .iter()
            .map(|t| facts_at(t, &s, at("2025-03-05T00:00:00Z")))
            .collect();
        assert_eq!(
            all[1].closes,
            vec![Close {
                at: mon("12:00"),
                auto: true,
                came_back: false
            }]
        );
        let period = Period {
            since: Some(mon("00:00")),
            until: mon("23:59"),
        };
        let volumes = aggregate(&all, period, None).metrics.volumes;
        assert_eq!(
            volumes,
            Volumes {
                created: 2,
                resolved: 2,
                resolve_actions: 3,
                closed: 2,
                auto_closed: 1,
                reopened: 1,
            }
        );
    }

    #[test]
    fn m16_backlog_at_the_end_of_the_period_by_status_and_age() {
        let s = statuses();
        let until = at("2025-03-31T12:00:00Z");
        let day = |d: &str| at(&format!("2025-{d}:00Z"));
        let a = ticket("t00001", day("03-31T00:00"), &s); // 12h, new
        let mut b = ticket("t00002", day("03-30T12:00"), &s); // exactly 1d
        reply(&mut b, day("03-30T13:00"), &s);
        let mut c = ticket("t00003", day("03-26T12:00"), &s); // 5d
        let custom = Change::SetStatus {
            status: "pending-customer".into(),
            reason: None,
        };
        act(&mut c, custom, day("03-26T13:00"), &s);
        let mut d = ticket("t00004", day("03-21T12:00"), &s); // exactly 10d
        let postpone = Change::Postpone { until: None };
        act(&mut d, postpone, day("03-21T13:00"), &s);
        let mut e = ticket("t00005", day("03-01T12:00"), &s); // exactly 30d
        act(&mut e, Change::Open, day("03-01T13:00"), &s);
        let mut solved = ticket("t00006", day("03-20T12:00"), &s);
        resolve(&mut solved, day("03-25T12:00"), &s);
        // Resolved after `until`: still new at `until` (2d old).
        let mut later = ticket("t00007", day("03-29T12:00"), &s);
        resolve(&mut later, day("04-02T12:00"), &s);
        let future = ticket("t00008", day("04-01T12:00"), &s);
        let all: Vec<Facts> = [a, b, c, d, e, solved, later, future]
            .iter()
            .map(|t| facts_at(t, &s, day("04-03T00:00")))
            .collect();
        let backlog = aggregate(&all, upto(until), None).metrics.backlog;
        assert_eq!(backlog.total, 6);
        let by_status: Vec<(&str, usize)> = backlog
            .by_status
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(
            by_status,
            [
                ("answered", 1),
                ("new", 2),
                ("open", 1),
                ("pending-customer", 1),
                ("postponed", 1)
            ]
        );
        let ages = Ages {
            under_1d: 1,
            d1_3: 2,
            d3_7: 1,
            d7_30: 1,
            over_30d: 1,
        };
        assert_eq!(backlog.by_age, ages);
        let json = serde_json::to_value(backlog.by_age).unwrap();
        assert_eq!(
            json,
            serde_json::json!({ "<1d": 1, "1-3d": 2, "3-7d": 1, "7-30d": 1, ">30d": 1 })
        );
    }

    fn auto_closed(id: &str, s: &Statuses) -> Ticket {
        let mut t = ticket(id, mon("09:00"), s);
        resolve(&mut t, mon("10:00"), s);
        let close = at("2025-03-07T10:00:00Z");
        push_status(&mut t, close, "resolved", "closed", Some("close-solved-4d"));
        t
    }

    fn follow_up(id: &str, of: &str, when: Timestamp, s: &Statuses) -> Ticket {
        let new = NewTicket {
            subject: "again".into(),
            body: Some("still broken".into()),
            customer: Customer {
                email: Some("bo@ex.com".into()),
                ..Customer::default()
            },
            follow_up_of: Some(of.parse().unwrap()),
            ..NewTicket::default()
        };
        new_ticket(id, when, new, s)
    }

    #[test]
    fn m17_premature_autoclose_by_reopen_message_or_follow_up() {
        let s = statuses();
        let mut reopened = auto_closed("t00001", &s);
        reopen(&mut reopened, at("2025-03-09T10:00:00Z"), &s);
        let followed = auto_closed("t00002", &s);
        let followed_late = auto_closed("t00003", &s);
        let quiet = auto_closed("t00004", &s);
        // A customer message exactly 7 days after the close still counts.
        let mut wrote = auto_closed("t00005", &s);
        let mut message = Event::new(
            at("2025-03-14T10:00:00Z"),
            "bo@ex.com",
            Role::Customer,
            EventKind::Message,
        );
        message.body = Some("hello?".into());
        wrote.push(message);
        // Closed by an agent, not a rule: not in the rate.
        let mut by_hand = ticket("t00006", mon("09:00"), &s);
        resolve(&mut by_hand, mon("10:00"), &s);
        let close = Change::Close {
            force: false,
            reason: None,
        };
        act(&mut by_hand, close, at("2025-03-07T10:00:00Z"), &s);
        reopen(&mut by_hand, at("2025-03-08T10:00:00Z"), &s);
        let f1 = follow_up("t00007", "t00002", at("2025-03-10T10:00:00Z"), &s);
        let f2 = follow_up("t00008", "t00003", at("2025-03-15T10:00:00Z"), &s);
        let all: Vec<Facts> = [
            reopened,
            followed,
            followed_late,
            quiet,
            wrote,
            by_hand,
            f1,
            f2,
        ]
        .iter()
        .map(|t| facts_at(t, &s, at("2025-03-20T00:00:00Z")))
        .collect();
        let came_back: Vec<bool> = all[..6].iter().map(|f| f.closes[0].came_back).collect();
        assert_eq!(came_back, [true, false, false, false, true, true]);
        assert!(!all[5].closes[0].auto);
        assert_eq!(all[6].follow_up_of, Some("t00002".parse().unwrap()));
        // The close day only: the follow-ups come after the period.
        let period = Period {
            since: Some(at("2025-03-07T00:00:00Z")),
            until: at("2025-03-07T23:59:59Z"),
        };
        let report = aggregate(&all, period, None);
        assert_eq!(report.metrics.volumes.auto_closed, 5);
        // t00001, t00002 and t00005 of five.
        assert_eq!(report.metrics.premature_autoclose_rate, Some(0.6));
        let none = aggregate(&all, upto(mon("23:59")), None);
        assert_eq!(none.metrics.premature_autoclose_rate, None);
    }

    #[test]
    fn aggregates_mean_median_of_an_even_count_and_nearest_rank_p90() {
        // 1..10 minutes, shuffled: mean 5.5 and median (5+6)/2 round down
        // to 5; p90 = the 9th value (rank ceil(9.0) = 9).
        let ten: Vec<i64> = [7, 3, 10, 1, 9, 2, 8, 5, 4, 6].map(|m| m * 60).to_vec();
        let m = Minutes::of(ten);
        assert_eq!(
            (m.mean_minutes, m.median_minutes, m.p90_minutes),
            (Some(5), Some(5), Some(9))
        );
        // Computed on seconds: the two middles 60 s and 150 s give 105 s.
        let m = Minutes::of(vec![150, 60]);
        assert_eq!(
            (m.mean_minutes, m.median_minutes, m.p90_minutes),
            (Some(1), Some(1), Some(2))
        );
        // Eleven values: rank ceil(9.9) = 10.
        let m = Minutes::of((1..=11).map(|m| m * 60).collect());
        assert_eq!(
            (m.mean_minutes, m.median_minutes, m.p90_minutes),
            (Some(6), Some(6), Some(10))
        );
        let m = Minutes::of(vec![59]);
        assert_eq!(
            (m.mean_minutes, m.median_minutes, m.p90_minutes),
            (Some(0), Some(0), Some(0))
        );
        assert_eq!(Minutes::of(vec![]), Minutes::default());
        assert_eq!(Stat::of(&[]).count, 0);
    }

    #[test]
    fn period_includes_both_bounds_and_attributes_by_the_end_event() {
        let s = statuses();
        let since = mon("09:00");
        let until = mon("17:00");
        let period = Period {
            since: Some(since),
            until,
        };
        assert!(period.contains(since) && period.contains(until));
        assert!(!period.contains(mon("08:59")) && !period.contains(mon("17:01")));
        let on_since = ticket("t00001", since, &s);
        let on_until = ticket("t00002", until, &s);
        let before = ticket("t00003", since.plus_seconds(-1), &s);
        let after = ticket("t00004", until.plus_seconds(1), &s);
        // Created before the period, replied in it: the reply counts.
        let mut replied = ticket("t00005", mon("08:00"), &s);
        reply(&mut replied, until, &s);
        // Created in the period, replied after it: nothing but `created`.
        let mut late = ticket("t00006", mon("16:00"), &s);
        reply(&mut late, mon("18:00"), &s);
        let all: Vec<Facts> = [on_since, on_until, before, after, replied, late]
            .iter()
            .map(|t| facts_at(t, &s, mon("20:00")))
            .collect();
        let report = aggregate(&all, period, None);
        assert_eq!(report.metrics.volumes.created, 3);
        assert_eq!(
            summary(&report.metrics.first_reply),
            (1, Some(540), Some(540), Some(540))
        );
        let open = aggregate(&all, upto(until), None);
        assert_eq!(open.metrics.volumes.created, 5);
        assert_eq!(open.metrics.first_reply.count, 1);
    }

    #[test]
    fn groups_by_tag_count_a_ticket_in_each_of_its_tags() {
        let s = statuses();
        let tagged = |id: &str, tags: &[&str], priority: Priority, when: Timestamp| {
            let new = NewTicket {
                subject: "x".into(),
                body: Some("help".into()),
                customer: Customer {
                    email: Some("bo@ex.com".into()),
                    ..Customer::default()
                },
                tags: tags.iter().map(|t| (*t).to_owned()).collect(),
                priority,
                ..NewTicket::default()
            };
            new_ticket(id, when, new, &s)
        };
        let mut both = tagged("t00001", &["billing", "vip"], Priority::High, mon("09:00"));
        resolve(&mut both, mon("10:00"), &s);
        let vip = tagged("t00002", &["vip"], Priority::Low, mon("09:00"));
        let mut bare = tagged("t00003", &[], Priority::Normal, mon("09:00"));
        let assign = Change::Assign {
            assignee: Some(Some("ana@desk".into())),
            department: None,
        };
        act(&mut bare, assign, mon("09:30"), &s);
        resolve(&mut bare, mon("09:40"), &s);
        // Nothing in the period and not in the backlog: no group.
        let mut old = tagged("t00004", &["printer"], Priority::Normal, mon("01:00"));
        resolve(&mut old, mon("02:00"), &s);
        let all: Vec<Facts> = [both, vip, bare, old]
            .iter()
            .map(|t| facts_at(t, &s, mon("12:00")))
            .collect();
        let period = Period {
            since: Some(mon("08:00")),
            until: mon("12:00"),
        };
        let keys = |report: &Report| -> Vec<(String, usize, usize)> {
            report
                .groups
                .iter()
                .map(|g| {
                    let m = &g.metrics;
                    (g.key.clone(), m.volumes.created, m.backlog.total)
                })
                .collect()
        };
        let by_tag = aggregate(&all, period, Some(GroupBy::Tag));
        assert_eq!(by_tag.metrics.volumes.created, 3);
        let expected = [("billing", 1, 0), ("vip", 2, 1), ("(none)", 1, 0)];
        let expected: Vec<(String, usize, usize)> = expected
            .iter()
            .map(|(k, c, b)| ((*k).to_owned(), *c, *b))
            .collect();
        assert_eq!(keys(&by_tag), expected);
        let by_agent = aggregate(&all, period, Some(GroupBy::Agent));
        let agents: Vec<&str> = by_agent.groups.iter().map(|g| g.key.as_str()).collect();
        // Resolving assigns the resolver.
        assert_eq!(agents, ["ana@desk", "(none)"]);
        let by_priority = aggregate(&all, period, Some(GroupBy::Priority));
        let priorities: Vec<&str> = by_priority.groups.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(priorities, ["low", "normal", "high"]);
        assert!(aggregate(&all, period, None).groups.is_empty());
    }

    #[test]
    fn the_report_serialises_to_the_documented_keys() {
        let s = statuses();
        let mut t = ticket("t00001", mon("09:00"), &s);
        reply(&mut t, mon("09:30"), &s);
        resolve(&mut t, mon("10:00"), &s);
        let f = facts_at(&t, &s, mon("12:00"));
        let period = Period {
            since: Some(mon("00:00")),
            until: mon("12:00"),
        };
        let mut report = aggregate(&[f], period, None);
        report.at = Some("4f2a9c1".into());
        let stat = |m: Option<i64>| {
            serde_json::json!({
                "count": usize::from(m.is_some()), "mean_minutes": m, "median_minutes": m,
                "p90_minutes": m,
                "business": { "mean_minutes": m, "median_minutes": m, "p90_minutes": m }
            })
        };
        let none = serde_json::json!({ "achieved": 0, "breached": 0, "rate": null });
        let minutes = |m: i64| {
            serde_json::json!({
                "count": 1, "mean_minutes": m, "median_minutes": m, "p90_minutes": m,
                "business": { "mean_minutes": m, "median_minutes": m, "p90_minutes": m },
            })
        };
        let expected = serde_json::json!({
            "since": "2025-03-03T00:00:00Z",
            "until": "2025-03-03T12:00:00Z",
            "at": "4f2a9c1",
            "volumes": { "created": 1, "resolved": 1, "resolve_actions": 1, "closed": 0,
                         "auto_closed": 0, "reopened": 0 },
            "first_reply": stat(Some(30)),
            "next_reply": stat(None),
            "first_resolution": stat(Some(60)),
            "full_resolution": stat(Some(60)),
            "sla": { "first_reply": none, "next_reply": none, "resolution": none,
                     "first_assign": none },
            "one_touch_rate": 1.0,
            "reopen_rate": 0.0,
            "premature_autoclose_rate": null,
            "satisfaction": { "count": 0, "average": null, "share_4_5": null,
                              "response_rate": 0.0 },
            "backlog": { "total": 0, "by_status": {},
                         "by_age": { "<1d": 0, "1-3d": 0, "3-7d": 0, "7-30d": 0, ">30d": 0 } },
            // New 09:00-09:30, answered 09:30-10:00, then resolved.
            "time_in": {
                "requester_wait": minutes(30),
                "agent_work": minutes(30),
                "waiting": minutes(30),
                "on_hold": minutes(0),
            },
            "stations": { "assignees": 1.0, "departments": 0.0 },
            "groups": []
        });
        assert_eq!(serde_json::to_value(&report).unwrap(), expected);
        // Keys come in the documented order.
        let text = serde_json::to_string(&report).unwrap();
        let order = [
            "\"since\"",
            "\"until\"",
            "\"at\"",
            "\"volumes\"",
            "\"next_reply\"",
            "\"full_resolution\"",
            "\"sla\"",
            "\"one_touch_rate\"",
            "\"premature_autoclose_rate\"",
            "\"satisfaction\"",
            "\"backlog\"",
            "\"groups\"",
        ];
        let places: Vec<usize> = order.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(places.is_sorted(), "{text}");
        let grouped = aggregate(
            &[facts_at(&t, &s, mon("12:00"))],
            period,
            Some(GroupBy::Agent),
        );
        let json = serde_json::to_value(&grouped).unwrap();
        assert_eq!(json["groups"][0]["key"], "ana@desk");
        assert_eq!(json["groups"][0]["volumes"], expected["volumes"]);
        assert!(json["groups"][0].get("since").is_none());
    }

    #[test]
    fn facts_survive_a_json_round_trip() {
        let s = statuses();
        let mut t = ticket("t00001", mon("09:00"), &s);
        reply(&mut t, mon("09:30"), &s);
        customer(&mut t, mon("10:00"), &s);
        reply(&mut t, mon("10:10"), &s);
        resolve(&mut t, mon("11:00"), &s);
        push_csat(&mut t, mon("11:30"), "4");
        push_status(
            &mut t,
            at("2025-03-07T11:00:00Z"),
            "resolved",
            "closed",
            Some("r"),
        );
        let policies = [policy(office(), Some(3600))];
        let f = facts(&t, &s, &policies, at("2025-03-08T00:00:00Z"));
        assert_eq!(f.sla.len(), 1);
        let text = serde_json::to_string(&f).unwrap();
        assert!(!text.contains('\n'));
        let back: Facts = serde_json::from_str(&text).unwrap();
        assert_eq!(back, f);
        let empty = Ticket {
            events: vec![],
            ..t
        };
        let none = facts(&empty, &s, &[], mon("12:00"));
        assert_eq!(none.created, None);
        assert!(
            aggregate(&[none], upto(mon("12:00")), None)
                .metrics
                .is_empty()
        );
    }
}

// ---------------------------------------------------------------------------
// Charts: the series the HTML report draws.
// ---------------------------------------------------------------------------

/// One bucket of a time series: its first day and its counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// The first day of the bucket (`2025-03-03`).
    pub start: String,
    /// Tickets created in it.
    pub created: usize,
    /// Solves in it.
    pub solved: usize,
}

/// What the HTML report draws, beyond the report's own numbers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Charts {
    /// Days per bucket of `series`: 1, 7 or 30, so a chart has at most
    /// about 100 buckets.
    pub bucket_days: i64,
    /// Created and solved per bucket, oldest first.
    pub series: Vec<Bucket>,
    /// First reply times of the period, in whole minutes, per range
    /// (`FIRST_REPLY_RANGES`).
    pub first_reply: Vec<(String, usize)>,
    /// Full resolution times likewise (`RESOLUTION_RANGES`).
    pub resolution: Vec<(String, usize)>,
    /// Ratings given in the period, per score 1 to 5.
    pub scores: [usize; 5],
}

/// The ranges of the first reply chart: label and upper bound in minutes.
pub const FIRST_REPLY_RANGES: [(&str, i64); 6] = [
    ("<1h", 60),
    ("1-4h", 240),
    ("4-8h", 480),
    ("8-24h", 1440),
    ("1-3d", 4320),
    (">3d", i64::MAX),
];

/// The ranges of the resolution chart.
pub const RESOLUTION_RANGES: [(&str, i64); 6] = [
    ("<4h", 240),
    ("4-24h", 1440),
    ("1-3d", 4320),
    ("3-7d", 10080),
    ("7-30d", 43200),
    (">30d", i64::MAX),
];

/// The series of the HTML report over `period`. Without a start, the
/// period starts at the first ticket's creation.
pub fn charts(facts: &[Facts], period: Period) -> Charts {
    let mut tally = ChartTally::new(period);
    for f in facts {
        tally.add(f);
    }
    tally.finish()
}

/// The series of the HTML report, built one ticket at a time.
struct ChartTally {
    period: Period,
    /// The first creation seen: the start of a period without one.
    first: Option<Timestamp>,
    /// Tickets created and solves, per day (days since 1970) in the period.
    days: BTreeMap<i64, (usize, usize)>,
    first_reply: Vec<usize>,
    resolution: Vec<usize>,
    scores: [usize; 5],
}

impl ChartTally {
    fn new(period: Period) -> Self {
        Self {
            period,
            first: None,
            days: BTreeMap::new(),
            first_reply: vec![0; FIRST_REPLY_RANGES.len()],
            resolution: vec![0; RESOLUTION_RANGES.len()],
            scores: [0; 5],
        }
    }

    fn add(&mut self, f: &Facts) {
        let period = self.period;
        if let Some(created) = f.created {
            self.first = Some(self.first.map_or(created, |first| first.min(created)));
        }
        let day = |t: &Timestamp| t.unix().div_euclid(DAY);
        if let Some(created) = f.created.filter(|t| period.contains(*t)) {
            self.days.entry(day(&created)).or_default().0 += 1;
        }
        for solve in f.solves.iter().filter(|t| period.contains(**t)) {
            self.days.entry(day(solve)).or_default().1 += 1;
        }
        if let Some(t) = f.first_reply.filter(|t| period.contains(t.at)) {
            count_in(&mut self.first_reply, t.secs / 60, &FIRST_REPLY_RANGES);
        }
        if let Some(t) = f.full_resolution.filter(|t| period.contains(t.at)) {
            count_in(&mut self.resolution, t.secs / 60, &RESOLUTION_RANGES);
        }
        for rating in f.ratings.iter().filter(|r| period.contains(r.at)) {
            if let Some(slot) = self
                .scores
                .get_mut(usize::from(rating.score).wrapping_sub(1))
            {
                *slot += 1;
            }
        }
    }

    fn finish(self) -> Charts {
        let period = self.period;
        let start = period.since.or(self.first).unwrap_or(period.until);
        let span_days = (period.until.unix() - start.unix()).max(0) / DAY + 1;
        let bucket_days = match span_days {
            0..=100 => 1,
            101..=700 => 7,
            _ => 30,
        };
        let count = usize::try_from((span_days + bucket_days - 1) / bucket_days).unwrap_or(0);
        let day0 = start.unix().div_euclid(DAY);
        let mut series: Vec<Bucket> = (0..count)
            .map(|i| Bucket {
                start: Timestamp::from_unix((day0 + i as i64 * bucket_days) * DAY)
                    .map(|t| t.to_rfc3339()[..10].to_owned())
                    .unwrap_or_default(),
                created: 0,
                solved: 0,
            })
            .collect();
        for (day, (created, solved)) in self.days {
            let bucket = usize::try_from((day - day0).div_euclid(bucket_days))
                .ok()
                .and_then(|i| series.get_mut(i));
            if let Some(b) = bucket {
                b.created += created;
                b.solved += solved;
            }
        }
        let labelled = |counts: Vec<usize>, ranges: &[(&str, i64)]| {
            ranges
                .iter()
                .zip(counts)
                .map(|((label, _), n)| ((*label).to_owned(), n))
                .collect()
        };
        Charts {
            bucket_days,
            series,
            first_reply: labelled(self.first_reply, &FIRST_REPLY_RANGES),
            resolution: labelled(self.resolution, &RESOLUTION_RANGES),
            scores: self.scores,
        }
    }
}

/// Counts `minutes` in the first range whose upper bound exceeds it.
fn count_in(counts: &mut [usize], minutes: i64, ranges: &[(&str, i64)]) {
    if let Some(i) = ranges.iter().position(|(_, upper)| minutes < *upper) {
        counts[i] += 1;
    }
}

#[cfg(test)]
mod chart_tests {
    use super::*;

    #[test]
    fn settled_facts_count_a_running_clock_only_once_its_due_time_is_in_the_period() {
        use crate::domain::change::{self, Actor, NewTicket};
        use crate::domain::sla::{Match, Policy, Targets};
        let statuses = Statuses::builtin();
        let at = |h: i64| Timestamp::from_unix(1_740_992_400 + h * 3600).unwrap();
        let actor = |t| Actor {
            id: "ana@desk",
            role: Role::Agent,
            now: t,
            statuses: &statuses,
        };
        let new = NewTicket {
            subject: "Printer".into(),
            body: Some("Help".into()),
            customer: crate::model::Customer {
                email: Some("bo@example.com".into()),
                ..Default::default()
            },
            ..NewTicket::default()
        };
        let id: TicketId = "abcdef".parse().unwrap();
        let (ticket, _) = change::create(id, new, &actor(at(0))).unwrap();
        let policy = Policy {
            name: "p".into(),
            matches: Match::default(),
            calendar: Calendar::always(),
            pause: Vec::new(),
            warn_before: None,
            targets: [(
                Priority::Normal,
                Targets {
                    first_reply: Some(4 * 3600),
                    ..Targets::default()
                },
            )]
            .into(),
        };
        let facts = settled_facts(&ticket, &statuses, &[policy], at(1));
        let period = |h| Period {
            since: Some(at(0)),
            until: at(h),
        };
        let report = aggregate(std::slice::from_ref(&facts), period(2), None);
        assert_eq!(
            report.metrics.sla.first_reply.breached, 0,
            "not due by then"
        );
        let report = aggregate(&[facts], period(5), None);
        assert_eq!(report.metrics.sla.first_reply.breached, 1, "due at 4h");
    }

    #[test]
    fn histograms_put_each_value_under_its_first_upper_bound() {
        let mut counts = [0; 6];
        for minutes in [0, 59, 60, 239, 5000] {
            count_in(&mut counts, minutes, &FIRST_REPLY_RANGES);
        }
        assert_eq!(counts, [2, 2, 0, 0, 0, 1]);
    }
}
