//! Three-way merge of one ticket file, for git's merge driver
//! (docs/merge-policy.md).
//!
//! Line-based merges of ticket files lose or garble replies; this merge works
//! on the ticket's structure instead (docs/merge-policy.md):
//! - the event logs are merged three ways: the base's events keep the base's
//!   order, an event either side deleted by hand stays deleted, and the
//!   events new on either side follow them, interleaved by time (one side's
//!   own order is kept; same-second changes are ordered by content, so the
//!   result does not depend on which side merges into which); an event new
//!   on both sides is kept once and anchors the interleaving like a base
//!   event, so the result keeps both sides' orders and merging it again
//!   keeps the order it chose;
//! - a scalar field (subject, priority, assignee, department, a custom
//!   field, a customer detail, a link) changed on one side takes that
//!   change; changed on both, the side whose latest event for the field is
//!   later wins (a change made and undone counts as a change);
//! - tags merge as sets; each related ticket is a scalar of its own
//!   (linked or not), merged like the other scalars;
//! - derived state (status, timestamps, reopen count) is recomputed from the
//!   merged log when the file is written, and a status change's `from` is
//!   the status it leaves in the merged log;
//! - a message new on one side that follows a status change new on the
//!   other gets the status effect it would have had on one desk (a
//!   synthesized status event);
//! - a customer message is never buried: when the merged ticket ends solved
//!   or closed by a side that had not seen a customer message of the other
//!   side, the merge reopens it.
//!
//! Pure: no files, no git, no clock.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use crate::domain::lifecycle::{self, Category, Move, Outcome, Statuses};
use crate::model::{Event, EventKind, Rating, Role, Ticket, TicketId, Timestamp};

/// Why two versions of one ticket cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MergeError {
    /// The file was added on both sides as two tickets that happen to have
    /// the same id: created differently, or with a subject or customer that
    /// differs without an event that changed it.
    #[error("two different tickets have the same id {0}: each side created its own")]
    DifferentTickets(TicketId),
}

/// The reason of a status event the merge adds after a message of one side
/// that follows a status change of the other.
pub const REASON_MESSAGE: &str = "merged: message from another branch";

/// The reason of the reopen the merge adds when a close had not seen a
/// customer message.
pub const REASON_UNSEEN_CLOSE: &str = "merged: a customer message the close did not see";

/// The reason of the reopen the merge adds when a resolve had not seen a
/// customer message.
pub const REASON_UNSEEN_RESOLVE: &str = "merged: a customer message the resolve did not see";

/// Merges `ours` and `theirs`, which both descend from `base` (`None` when
/// the file was added on both sides).
///
/// Status events the merge adds on its own behalf are recorded as `actor`
/// with role system. The result is the same, byte for byte once written,
/// whichever side is `ours`.
pub fn merge(
    base: Option<&Ticket>,
    ours: &Ticket,
    theirs: &Ticket,
    statuses: &Statuses,
    actor: &str,
) -> Result<Ticket, MergeError> {
    let base_events = base.map_or(&[][..], |b| b.events.as_slice());
    let ours_new = added(base_events, &ours.events);
    let theirs_new = added(base_events, &theirs.events);
    // When each side last changed a field, by its events newer than the base.
    let when = |kind: EventKind, field: Option<&str>| {
        (
            latest(&ours_new, kind, field),
            latest(&theirs_new, kind, field),
        )
    };
    if base.is_none() {
        // One ticket added on both sides (a cherry-picked creation) was
        // created the same way, and any header difference comes from an
        // event; otherwise these are two tickets.
        let unexplained = |same: bool, kind: EventKind, field: Option<&str>| {
            !same && when(kind, field) == (None, None)
        };
        let (o, t) = (&ours.customer, &theirs.customer);
        if creation(ours) != creation(theirs)
            || unexplained(ours.subject == theirs.subject, EventKind::Subject, None)
            || unexplained(o.name == t.name, EventKind::Customer, Some("name"))
            || unexplained(o.email == t.email, EventKind::Customer, Some("email"))
            || unexplained(o.phone == t.phone, EventKind::Customer, Some("phone"))
        {
            return Err(MergeError::DifferentTickets(ours.id.clone()));
        }
    }
    let sides = Sides { base, ours, theirs };

    let mut merged = ours.clone();
    merged.status = None;
    merged.subject = sides.pick(|t| &t.subject, when(EventKind::Subject, None));
    merged.priority = sides.pick(|t| &t.priority, when(EventKind::Priority, None));
    merged.assignee = sides.pick(|t| &t.assignee, when(EventKind::Assign, None));
    merged.department = sides.pick(|t| &t.department, when(EventKind::Department, None));
    merged.follow_up_of = sides.pick(
        |t| &t.follow_up_of,
        when(EventKind::Link, Some("follow_up_of")),
    );
    merged.duplicate_of = sides.pick(
        |t| &t.duplicate_of,
        when(EventKind::Link, Some("duplicate_of")),
    );
    merged.customer.name = sides.pick(
        |t| &t.customer.name,
        when(EventKind::Customer, Some("name")),
    );
    merged.customer.email = sides.pick(
        |t| &t.customer.email,
        when(EventKind::Customer, Some("email")),
    );
    merged.customer.phone = sides.pick(
        |t| &t.customer.phone,
        when(EventKind::Customer, Some("phone")),
    );
    // Only an import sets a source, the same on every clone.
    merged.source = ours.source.clone().or_else(|| theirs.source.clone());
    merged.tags = merge_set(base.map(|b| &b.tags), &ours.tags, &theirs.tags);
    merged.related = merge_related(&sides, &ours_new, &theirs_new);
    merged.fields = merge_fields(&sides, &ours_new, &theirs_new);
    merged.rating = merge_rating(
        base.map(|b| &b.rating),
        ours.rating.as_ref(),
        theirs.rating.as_ref(),
    );
    let log = merge_events(base_events, &ours.events, &theirs.events);
    let log = once_per_mail(log);
    let log = settle(log, statuses);
    merged.events = keep_customer_messages_visible(log, statuses, actor);
    Ok(merged)
}

/// Keeps each received mail once: two clones that took the same mail (one
/// Message-ID) at different times both recorded it, as a customer message
/// (or rating) and the status move it caused. The first in the merged log
/// stays; a later copy goes with the events it brought at the same
/// instant by the same sender (its lifecycle move).
fn once_per_mail(log: Vec<(Origin, Event)>) -> Vec<(Origin, Event)> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<(Origin, Event)> = Vec::with_capacity(log.len());
    let mut dropped: Option<(Timestamp, String)> = None;
    for (origin, event) in log {
        let mail = matches!(event.kind, EventKind::Message | EventKind::Csat)
            && event.role == Role::Customer;
        if let (true, Some(id)) = (mail, &event.message_id)
            && !seen.insert(id.clone())
        {
            dropped = Some((event.at, event.actor.clone()));
            continue;
        }
        if event.kind == EventKind::Status
            && dropped
                .as_ref()
                .is_some_and(|(at, actor)| *at == event.at && *actor == event.actor)
        {
            continue;
        }
        dropped = None;
        out.push((origin, event));
    }
    out
}

/// Where an event of the merged log comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// The common ancestor (and both sides kept it).
    Base,
    /// New on our side only.
    Ours,
    /// New on their side only.
    Theirs,
    /// New on both sides (a cherry-pick, the same merge made twice).
    Both,
}

impl Origin {
    fn other(self) -> Option<Self> {
        match self {
            Self::Ours => Some(Self::Theirs),
            Self::Theirs => Some(Self::Ours),
            Self::Base | Self::Both => None,
        }
    }
}

/// The three versions being merged.
struct Sides<'a> {
    base: Option<&'a Ticket>,
    ours: &'a Ticket,
    theirs: &'a Ticket,
}

impl Sides<'_> {
    fn pick<T: Clone + Ord>(
        &self,
        get: impl Fn(&Ticket) -> &T,
        at: (Option<Timestamp>, Option<Timestamp>),
    ) -> T {
        pick(self.base.map(&get), get(self.ours), get(self.theirs), at)
    }
}

/// The change that created a ticket: its `created` event and the events
/// recorded with it (the first message, an assignment), which tell two
/// tickets made in the same second by the same agent apart.
fn creation(ticket: &Ticket) -> &[Event] {
    let Some(start) = ticket
        .events
        .iter()
        .position(|e| e.kind == EventKind::Created)
    else {
        return &[];
    };
    let at = ticket.events[start].at;
    let len = ticket.events[start..]
        .iter()
        .take_while(|e| e.at == at)
        .count();
    &ticket.events[start..start + len]
}

/// The time of the latest of `new` that changed a field (`field` = `None`:
/// any event of that kind).
fn latest(new: &[Event], kind: EventKind, field: Option<&str>) -> Option<Timestamp> {
    new.iter()
        .filter(|e| e.kind == kind && (field.is_none() || e.field.as_deref() == field))
        .map(|e| e.at)
        .max()
}

/// Chooses a scalar. A side changed it when its value differs from the base
/// or it has events for it newer than the base (changed and changed back).
/// Only one side changed it: that side's value. Both did: the side whose
/// latest event for it is later; on a tie, the greater value (so the result
/// is the same whichever side merges into which). Without a base both
/// sides count as changed.
fn pick<T: Clone + Ord>(
    base: Option<&T>,
    ours: &T,
    theirs: &T,
    (ours_at, theirs_at): (Option<Timestamp>, Option<Timestamp>),
) -> T {
    if ours == theirs {
        return ours.clone();
    }
    let changed = |value: &T, at: Option<Timestamp>| at.is_some() || base != Some(value);
    match (changed(ours, ours_at), changed(theirs, theirs_at)) {
        (true, false) => ours.clone(),
        (false, true) => theirs.clone(),
        _ => match ours_at.cmp(&theirs_at) {
            Ordering::Greater => ours.clone(),
            Ordering::Less => theirs.clone(),
            Ordering::Equal => ours.max(theirs).clone(),
        },
    }
}

/// Three-way set merge: an element stays unless a side removed it, and an
/// element either side added is in.
fn merge_set<T: Clone + Ord>(
    base: Option<&BTreeSet<T>>,
    ours: &BTreeSet<T>,
    theirs: &BTreeSet<T>,
) -> BTreeSet<T> {
    let empty = BTreeSet::new();
    let base = base.unwrap_or(&empty);
    let kept = base
        .iter()
        .filter(|x| ours.contains(*x) && theirs.contains(*x));
    let added = ours.union(theirs).filter(|x| !base.contains(*x));
    kept.chain(added).cloned().collect()
}

/// Related links: each ticket of the set is a scalar (linked or not),
/// taken like any other from the side that changed it, and from the side
/// whose latest `link` event for it is later when both did (a link made
/// and removed again counts as a change, as for any scalar).
fn merge_related(
    sides: &Sides<'_>,
    ours_new: &[Event],
    theirs_new: &[Event],
) -> BTreeSet<TicketId> {
    let all = [Some(sides.ours), Some(sides.theirs), sides.base];
    let ids: BTreeSet<&TicketId> = all.iter().flatten().flat_map(|t| &t.related).collect();
    let latest_for = |new: &[Event], id: &TicketId| {
        new.iter()
            .filter(|e| e.kind == EventKind::Link && e.field.as_deref() == Some("related"))
            .filter(|e| {
                [&e.to, &e.from]
                    .into_iter()
                    .flatten()
                    .any(|x| x == id.as_str())
            })
            .map(|e| e.at)
            .max()
    };
    ids.into_iter()
        .filter(|id| {
            pick(
                sides.base.map(|b| b.related.contains(*id)).as_ref(),
                &sides.ours.related.contains(*id),
                &sides.theirs.related.contains(*id),
                (latest_for(ours_new, id), latest_for(theirs_new, id)),
            )
        })
        .cloned()
        .collect()
}

fn merge_fields(
    sides: &Sides<'_>,
    ours_new: &[Event],
    theirs_new: &[Event],
) -> BTreeMap<String, toml::Value> {
    let all = [Some(sides.ours), Some(sides.theirs), sides.base];
    let keys: BTreeSet<&String> = all.iter().flatten().flat_map(|t| t.fields.keys()).collect();
    let mut out = BTreeMap::new();
    for key in keys {
        // toml::Value is not Ord: compare through its text form.
        let text = |t: &Ticket| t.fields.get(key).map(|v| (v.to_string(), v.clone()));
        let (b, o, t) = (sides.base.map(text), text(sides.ours), text(sides.theirs));
        let name = |v: &Option<(String, toml::Value)>| v.as_ref().map(|x| x.0.clone());
        let chosen = pick(
            b.as_ref().map(name).as_ref(),
            &name(&o),
            &name(&t),
            (
                latest(ours_new, EventKind::Field, Some(key)),
                latest(theirs_new, EventKind::Field, Some(key)),
            ),
        );
        let value = [o, t, b.flatten()]
            .into_iter()
            .flatten()
            .find(|(s, _)| Some(s) == chosen.as_ref());
        if let Some((_, value)) = value {
            out.insert(key.clone(), value);
        }
    }
    out
}

/// The rating: the side that changed it; both changed it, the later one by
/// (time, score, comment), so a tie does not depend on the direction; one
/// side removed it and the other gave a new one, the new one.
fn merge_rating(
    base: Option<&Option<Rating>>,
    ours: Option<&Rating>,
    theirs: Option<&Rating>,
) -> Option<Rating> {
    let base = base.map(Option::as_ref);
    let key = |r: &Rating| (r.at, r.score, r.comment.clone());
    let chosen = match (ours, theirs) {
        _ if ours == theirs || base == Some(theirs) => ours,
        _ if base == Some(ours) => theirs,
        (Some(o), Some(t)) => Some(if key(t) > key(o) { t } else { o }),
        (o, t) => o.or(t),
    };
    chosen.cloned()
}

/// Whether `event` is in `pool` (multiset membership, consuming).
fn take(pool: &mut Vec<&Event>, event: &Event) -> bool {
    match pool.iter().position(|e| same(e, event)) {
        Some(i) => {
            pool.swap_remove(i);
            true
        }
        None => false,
    }
}

/// Tells whether two events are one event: equal in everything but a
/// status change's `from`, which a merge rewrites to the status the change
/// leaves in the merged log. Two branches that merged the same change
/// differently (criss-cross merges) hold it with different `from`s, and it
/// must still be kept once.
fn same(a: &Event, b: &Event) -> bool {
    // Every field named, so a new one must be decided on here.
    let Event {
        at,
        actor,
        role,
        kind,
        from,
        to,
        field,
        until,
        reason,
        rule,
        message_id,
        recipient,
        attachments,
        raw,
        body,
    } = a;
    let from_aside = *kind == EventKind::Status && b.kind == EventKind::Status;
    *at == b.at
        && *actor == b.actor
        && *role == b.role
        && *kind == b.kind
        && (from_aside || *from == b.from)
        && *to == b.to
        && *field == b.field
        && *until == b.until
        && *reason == b.reason
        && *rule == b.rule
        && *message_id == b.message_id
        && *recipient == b.recipient
        && *attachments == b.attachments
        && *raw == b.raw
        && *body == b.body
}

/// The events of `side` that are not in `base` (as a multiset), in `side`'s
/// order.
fn added(base: &[Event], side: &[Event]) -> Vec<Event> {
    let mut pool: Vec<&Event> = base.iter().collect();
    side.iter()
        .filter(|e| !take(&mut pool, e))
        .cloned()
        .collect()
}

/// Splits one side's new events into changes: a run of events with the
/// same time is one tix command and keeps its order.
fn changes(new: Vec<Event>) -> Vec<Vec<Event>> {
    let mut out: Vec<Vec<Event>> = Vec::new();
    for event in new {
        // Every change starts with one event, so `last[0]` exists.
        match out.last_mut() {
            Some(last) if last[0].at == event.at => last.push(event),
            _ => out.push(vec![event]),
        }
    }
    out
}

/// Places one side's new events relative to the base events both sides
/// kept: slot 0 holds what comes before the first kept event, slot `k + 1`
/// what comes after kept event `k` (and before the next one). `pairs`
/// matches the side's events to the base's (see [`common`]); `rank` gives
/// a base event's place among the kept ones, `None` when the other side
/// deleted it (it stays deleted).
fn slots(
    rank: &[Option<usize>],
    kept: usize,
    side: &[Event],
    pairs: &[(usize, usize)],
) -> Vec<Vec<Event>> {
    let mut base_of = vec![None; side.len()];
    for &(b, s) in pairs {
        base_of[s] = Some(b);
    }
    let mut out = vec![Vec::new(); kept + 1];
    let mut slot = 0;
    for (event, base) in side.iter().zip(base_of) {
        match base {
            None => out[slot].push(event.clone()),
            Some(b) => {
                if let Some(k) = rank[b] {
                    slot = k + 1;
                }
            }
        }
    }
    out
}

/// The order of two events (or two changes) of the same place when the
/// sides are not ordered by themselves: by time, then by content, so it
/// does not depend on which side is which.
fn by_time_and_content<T: std::fmt::Debug>(at: Timestamp, value: &T) -> (Timestamp, String) {
    (at, format!("{value:?}"))
}

/// Pairs the same events of two logs: a longest common subsequence of
/// `ours` and `theirs`, as index pairs in order. A common subsequence keeps
/// both orders, so a paired event is one event of both logs and anchors
/// the events around it; pairing by order, not by counting, tells apart
/// the copies of an event that occurs twice (two same-second status
/// changes that read alike). Among equally long ones the choice goes by
/// content, not by side, so the pairs are the same either way round.
fn common(ours: &[Event], theirs: &[Event]) -> Vec<(usize, usize)> {
    // The same events at the start pair off: an equal head is always part
    // of a longest common subsequence.
    let prefix = ours
        .iter()
        .zip(theirs)
        .take_while(|(o, t)| same(o, t))
        .count();
    let mut pairs: Vec<(usize, usize)> = (0..prefix).map(|i| (i, i)).collect();
    let (o, t) = (&ours[prefix..], &theirs[prefix..]);
    if o.is_empty() || t.is_empty() {
        return pairs;
    }
    // len[i][j]: the length of a longest common subsequence of o[i..] and
    // t[j..].
    let width = t.len() + 1;
    let mut len = vec![0u32; (o.len() + 1) * width];
    for i in (0..o.len()).rev() {
        for j in (0..t.len()).rev() {
            len[i * width + j] = if same(&o[i], &t[j]) {
                len[(i + 1) * width + j + 1] + 1
            } else {
                len[(i + 1) * width + j].max(len[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < o.len() && j < t.len() {
        if same(&o[i], &t[j]) {
            pairs.push((prefix + i, prefix + j));
            i += 1;
            j += 1;
            continue;
        }
        let (skip_o, skip_t) = (len[(i + 1) * width + j], len[i * width + j + 1]);
        let skip_ours = match skip_o.cmp(&skip_t) {
            Ordering::Greater => true,
            Ordering::Less => false,
            // Leave unpaired the one that comes first.
            Ordering::Equal => {
                by_time_and_content(o[i].at, &o[i]) < by_time_and_content(t[j].at, &t[j])
            }
        };
        if skip_ours {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

/// Interleaves the changes two sides added at one place, between the same
/// anchors: by time, each side's in its own order; two changes of the
/// same second by content.
fn interleave(ours: &[Event], theirs: &[Event], out: &mut Vec<(Origin, Event)>) {
    // `changes` never makes an empty change, so `change[0]` exists.
    let key = |change: &Vec<Event>| by_time_and_content(change[0].at, change);
    let mut ours_changes = changes(ours.to_vec()).into_iter().peekable();
    let mut theirs_changes = changes(theirs.to_vec()).into_iter().peekable();
    loop {
        let (origin, change) = match (ours_changes.peek(), theirs_changes.peek()) {
            (Some(o), Some(t)) if key(o) <= key(t) => (Origin::Ours, ours_changes.next()),
            (_, Some(_)) => (Origin::Theirs, theirs_changes.next()),
            (Some(_), None) => (Origin::Ours, ours_changes.next()),
            (None, None) => break,
        };
        out.extend(change.into_iter().flatten().map(|e| (origin, e)));
    }
}

/// Merges the event logs. The base's events that both sides kept stay in
/// the base's order (so a merge never reorders history, whatever the
/// clocks said), and each side's new events stay where that side put them
/// relative to those. An event new on both sides at the same place is kept
/// once, and, like a base event, it anchors: what a side added before it
/// stays before it, what a side added after it stays after it. Where both
/// sides added events between the same anchors, their changes are
/// interleaved by time, each side's in its own order; two changes of the
/// same second are ordered by content, so the result does not depend on
/// the direction. The merged log keeps the order of both sides, so merging
/// it again with one of them keeps the order this merge chose.
fn merge_events(base: &[Event], ours: &[Event], theirs: &[Event]) -> Vec<(Origin, Event)> {
    // Which of each side's events are the base's.
    let ours_base = common(base, ours);
    let theirs_base = common(base, theirs);
    let mut sides_keeping = vec![0u8; base.len()];
    for &(b, _) in ours_base.iter().chain(&theirs_base) {
        sides_keeping[b] += 1;
    }
    let mut kept: Vec<Event> = Vec::new();
    let rank: Vec<Option<usize>> = base
        .iter()
        .zip(&sides_keeping)
        .map(|(event, &sides)| {
            (sides == 2).then(|| {
                kept.push(event.clone());
                kept.len() - 1
            })
        })
        .collect();
    let ours_slots = slots(&rank, kept.len(), ours, &ours_base);
    let theirs_slots = slots(&rank, kept.len(), theirs, &theirs_base);
    let mut out: Vec<(Origin, Event)> = Vec::with_capacity(ours.len().max(theirs.len()));
    let mut kept = kept.into_iter();
    for (ours_new, theirs_new) in ours_slots.into_iter().zip(theirs_slots) {
        let (mut i, mut j) = (0, 0);
        for (pi, pj) in common(&ours_new, &theirs_new) {
            interleave(&ours_new[i..pi], &theirs_new[j..pj], &mut out);
            out.push((Origin::Both, ours_new[pi].clone()));
            (i, j) = (pi + 1, pj + 1);
        }
        interleave(&ours_new[i..], &theirs_new[j..], &mut out);
        out.extend(kept.next().map(|e| (Origin::Base, e)));
    }
    out
}

/// The status a log leaves a ticket in, replayed the way
/// [`Ticket::summary`] does.
struct Replay<'a> {
    statuses: &'a Statuses,
    status: String,
    category: Option<Category>,
}

impl<'a> Replay<'a> {
    fn new(statuses: &'a Statuses) -> Self {
        Self {
            statuses,
            status: Category::New.default_status().to_owned(),
            category: Some(Category::New),
        }
    }

    fn set(&mut self, to: &str) {
        to.clone_into(&mut self.status);
        self.category = self.statuses.category(to);
    }
}

/// Replays the merged log. A status change gets as `from` the status it
/// actually leaves here. A message new on one side that
/// comes after the last status change, when that change is new on the
/// other side, gets the status effect it would have had on one desk
/// (docs/lifecycle.md): a customer reply merged after an agent's answer reopens the
/// ticket, an agent reply merged after a customer's message answers it.
fn settle(log: Vec<(Origin, Event)>, statuses: &Statuses) -> Vec<(Origin, Event)> {
    let last_change = log.iter().rposition(|(_, e)| e.sets_status());
    let mut replay = Replay::new(statuses);
    // Who made the latest status change: a message reacts to a change only
    // when its own side had not seen it.
    let mut changed_by = Origin::Base;
    let mut out = Vec::with_capacity(log.len());
    for (i, (origin, mut event)) in log.into_iter().enumerate() {
        if event.sets_status() {
            // Every status change leaves the status the one before it set,
            // one a merged log placed before it included (criss-cross
            // merges can bring the base such a log).
            if event.kind == EventKind::Status
                && event
                    .from
                    .as_ref()
                    .is_some_and(|from| *from != replay.status)
            {
                event.from = Some(replay.status.clone());
            }
            replay.set(event.to.as_deref().unwrap_or_default());
            changed_by = origin;
            out.push((origin, event));
            continue;
        }
        let after_last_change = last_change.is_none_or(|last| i > last);
        let unseen = origin.other() == Some(changed_by);
        let mv = match (event.kind, event.role) {
            (EventKind::Message, Role::Customer) => Some(Move::CustomerReply),
            _ if event.is_reply() => Some(Move::AgentReply),
            _ => None,
        };
        let to = mv
            .filter(|_| after_last_change && unseen)
            .zip(replay.category)
            .and_then(|(mv, category)| lifecycle::outcome(mv, category))
            .and_then(|outcome| match outcome {
                Outcome::To(to) if to.default_status() != replay.status => Some(to),
                _ => None,
            });
        let synthesized = to.map(|to| {
            let mut change = Event::new(event.at, &event.actor, event.role, EventKind::Status);
            change.from = Some(replay.status.clone());
            change.to = Some(to.default_status().to_owned());
            change.reason = Some(REASON_MESSAGE.to_owned());
            replay.set(to.default_status());
            changed_by = origin;
            change
        });
        out.push((origin, event));
        out.extend(synthesized.map(|change| (origin, change)));
    }
    out
}

/// Reopens a ticket whose merged log ends solved or closed by one side
/// while a customer message new on the other side was never seen there:
/// the message must not be buried. A message its own side followed with a
/// solve or close was seen and handled there, and does not count.
fn keep_customer_messages_visible(
    log: Vec<(Origin, Event)>,
    statuses: &Statuses,
    actor: &str,
) -> Vec<Event> {
    let mut replay = Replay::new(statuses);
    for (_, event) in log.iter().filter(|(_, e)| e.sets_status()) {
        replay.set(event.to.as_deref().unwrap_or_default());
    }
    let ends_done = |c: Option<Category>| matches!(c, Some(Category::Solved | Category::Closed));
    // The side that did not make the final change (none when the base or
    // both sides made it).
    let unseen_by_closer = log
        .iter()
        .rfind(|(_, e)| e.sets_status())
        .and_then(|(origin, _)| origin.other());
    let buried = ends_done(replay.category)
        && unseen_by_closer.is_some_and(|unseen_by_closer| {
            log.iter().enumerate().any(|(i, (origin, event))| {
                *origin == unseen_by_closer
                    && event.kind == EventKind::Message
                    && event.role == Role::Customer
                    && !log[i + 1..].iter().any(|(o, e)| {
                        o == origin
                            && e.sets_status()
                            && ends_done(statuses.category(e.to.as_deref().unwrap_or_default()))
                    })
            })
        });
    let mut events: Vec<Event> = log.into_iter().map(|(_, e)| e).collect();
    if buried {
        let at = events.iter().map(|e| e.at).max();
        // `buried` needs a status event in the log, so it is not empty.
        if let Some(at) = at {
            let mut reopen = Event::new(at, actor, Role::System, EventKind::Status);
            reopen.from = Some(replay.status.clone());
            reopen.to = Some(Category::Open.default_status().to_owned());
            reopen.reason = Some(
                if replay.category == Some(Category::Closed) {
                    REASON_UNSEEN_CLOSE
                } else {
                    REASON_UNSEEN_RESOLVE
                }
                .to_owned(),
            );
            events.push(reopen);
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::{self, Actor, Change, Edit, NewTicket};
    use crate::domain::lifecycle::Statuses;
    use crate::domain::link::{self, LinkKind};
    use crate::model::{Priority, Role};

    const SYSTEM: &str = "tix-automation@localhost";

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn act<'a>(statuses: &'a Statuses, who: &'a str, now: &str) -> Actor<'a> {
        Actor {
            id: who,
            role: Role::Agent,
            now: at(now),
            statuses,
        }
    }

    fn base(statuses: &Statuses) -> Ticket {
        let new = NewTicket {
            subject: "Printer on fire".into(),
            body: Some("It smokes".into()),
            customer: crate::model::Customer {
                email: Some("bo@ex.com".into()),
                ..Default::default()
            },
            tags: vec!["printer".into()],
            ..NewTicket::default()
        };
        change::create(
            "k3x9p2".parse().unwrap(),
            new,
            &act(statuses, "ana", "2025-03-03T09:00:00Z"),
        )
        .unwrap()
        .0
    }

    fn apply(t: &Ticket, change: Change, who: &str, now: &str) -> Ticket {
        let statuses = Statuses::builtin();
        let mut t = t.clone();
        change::apply(&mut t, &change, &act(&statuses, who, now)).unwrap();
        t
    }

    fn resolved(statuses: &Statuses) -> Ticket {
        apply(
            &base(statuses),
            Change::Resolve { reason: None },
            "ana",
            "2025-03-03T10:00:00Z",
        )
    }

    fn close() -> Change {
        Change::Close {
            force: false,
            reason: None,
        }
    }

    fn customer(body: &str) -> Change {
        Change::CustomerReply { body: body.into() }
    }

    fn priority(p: Priority) -> Change {
        Change::Edit(Edit {
            priority: Some(p),
            ..Edit::default()
        })
    }

    /// Merges both ways round, checks the written files are the same bytes
    /// and the status chain is coherent, and returns the result.
    fn merge(base: Option<&Ticket>, ours: &Ticket, theirs: &Ticket) -> Ticket {
        let s = Statuses::builtin();
        let one = super::merge(base, ours, theirs, &s, SYSTEM).unwrap();
        let other = super::merge(base, theirs, ours, &s, SYSTEM).unwrap();
        assert_eq!(one.to_toml(&s), other.to_toml(&s), "the direction matters");
        assert_coherent(&one);
        one
    }

    /// Every status change leaves the status the one before it set.
    fn assert_coherent(t: &Ticket) {
        let mut status = "new".to_owned();
        for event in t.events.iter().filter(|e| e.sets_status()) {
            if event.kind == EventKind::Status {
                assert_eq!(event.from.as_deref(), Some(status.as_str()), "{event:?}");
            }
            status.clone_from(event.to.as_ref().unwrap());
        }
    }

    fn status(t: &Ticket) -> String {
        t.summary(&Statuses::builtin()).status
    }

    fn bodies(t: &Ticket) -> Vec<String> {
        t.events.iter().filter_map(|e| e.body.clone()).collect()
    }

    fn synthesized(t: &Ticket) -> Vec<&Event> {
        t.events
            .iter()
            .filter(|e| {
                e.reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("merged:"))
            })
            .collect()
    }

    #[test]
    fn reply_on_one_side_note_and_priority_on_the_other_keeps_everything() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(
            &b,
            Change::Reply {
                body: "Unplug it".into(),
                resolve: false,
            },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let mut theirs = apply(
            &b,
            Change::Note {
                body: "VIP customer".into(),
            },
            "raj",
            "2025-03-03T10:05:00Z",
        );
        theirs = apply(
            &theirs,
            priority(Priority::Urgent),
            "raj",
            "2025-03-03T10:06:00Z",
        );
        let m = merge(Some(&b), &ours, &theirs);
        assert_eq!(bodies(&m), ["It smokes", "Unplug it", "VIP customer"]);
        assert_eq!(m.priority, Priority::Urgent);
        assert_eq!(status(&m), "answered");
    }

    #[test]
    fn merge_is_symmetric() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(
            &b,
            Change::Reply {
                body: "A".into(),
                resolve: false,
            },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let theirs = apply(
            &b,
            Change::Note { body: "B".into() },
            "raj",
            "2025-03-03T10:00:00Z",
        );
        // `merge` checks both directions give the same bytes.
        let m = merge(Some(&b), &ours, &theirs);
        assert_eq!(bodies(&m).len(), 3);
    }

    #[test]
    fn later_scalar_change_wins() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(&b, priority(Priority::High), "ana", "2025-03-03T10:00:00Z");
        let theirs = apply(&b, priority(Priority::Low), "raj", "2025-03-03T11:00:00Z");
        assert_eq!(merge(Some(&b), &ours, &theirs).priority, Priority::Low);
    }

    /// r4: a change made and undone is still a change, and the later one.
    #[test]
    fn a_change_undone_later_beats_an_earlier_change_of_the_other_side() {
        let s = Statuses::builtin();
        let b = base(&s);
        let high = apply(&b, priority(Priority::High), "ana", "2025-03-03T10:00:00Z");
        let ours = apply(
            &high,
            priority(Priority::Normal),
            "ana",
            "2025-03-03T11:00:00Z",
        );
        let theirs = apply(&b, priority(Priority::Low), "raj", "2025-03-03T10:30:00Z");
        assert_eq!(ours.priority, b.priority);
        assert_eq!(merge(Some(&b), &ours, &theirs).priority, Priority::Normal);
        // The other side's change is the later one: it wins.
        let later = apply(&b, priority(Priority::Low), "raj", "2025-03-03T11:30:00Z");
        assert_eq!(merge(Some(&b), &ours, &later).priority, Priority::Low);
    }

    #[test]
    fn same_second_scalar_changes_take_the_greater_value() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(&b, priority(Priority::High), "ana", "2025-03-03T10:00:00Z");
        let theirs = apply(&b, priority(Priority::Low), "raj", "2025-03-03T10:00:00Z");
        assert_eq!(merge(Some(&b), &ours, &theirs).priority, Priority::High);
        assert_eq!(merge(Some(&b), &theirs, &ours).priority, Priority::High);
    }

    #[test]
    fn one_sided_scalar_change_is_taken() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(
            &b,
            Change::Assign {
                assignee: Some(Some("ana".into())),
                department: None,
            },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let theirs = apply(
            &b,
            Change::Note { body: "x".into() },
            "raj",
            "2025-03-03T12:00:00Z",
        );
        assert_eq!(
            merge(Some(&b), &ours, &theirs).assignee.as_deref(),
            Some("ana")
        );
    }

    #[test]
    fn tags_merge_as_sets() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(
            &b,
            Change::Edit(Edit {
                add_tags: vec!["vip".into()],
                remove_tags: vec!["printer".into()],
                ..Edit::default()
            }),
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let theirs = apply(
            &b,
            Change::Edit(Edit {
                add_tags: vec!["hardware".into()],
                ..Edit::default()
            }),
            "raj",
            "2025-03-03T10:00:00Z",
        );
        let m = merge(Some(&b), &ours, &theirs);
        assert_eq!(
            m.tags.iter().cloned().collect::<Vec<_>>(),
            ["hardware", "vip"]
        );
    }

    /// r1a: the customer's reply after the close wins, and its status change
    /// leaves `closed`, the status it follows in the merged log.
    #[test]
    fn customer_reply_after_a_close_reopens_with_a_coherent_chain() {
        let s = Statuses::builtin();
        let b = resolved(&s);
        let closed = apply(&b, close(), "ana", "2025-03-04T10:00:00Z");
        let replied = apply(&b, customer("Not fixed"), "bo", "2025-03-04T11:00:00Z");
        let m = merge(Some(&b), &closed, &replied);
        assert_eq!(status(&m), "open");
        assert_eq!(m.summary(&s).reopens, 1);
        assert!(bodies(&m).contains(&"Not fixed".to_owned()));
        let last = m.events.last().unwrap();
        assert_eq!(
            (last.from.as_deref(), last.to.as_deref()),
            (Some("closed"), Some("open"))
        );
        assert!(
            synthesized(&m).is_empty(),
            "the reply's own reopen is enough"
        );
    }

    /// r1b: a reply the close did not see reopens the ticket, even though it
    /// was written before the close.
    #[test]
    fn customer_reply_the_close_did_not_see_reopens_the_ticket() {
        let s = Statuses::builtin();
        let b = resolved(&s);
        let closed = apply(&b, close(), "ana", "2025-03-04T10:00:00Z");
        let replied = apply(&b, customer("Not fixed"), "bo", "2025-03-04T09:00:00Z");
        let m = merge(Some(&b), &closed, &replied);
        assert_eq!(status(&m), "open");
        assert_eq!(m.summary(&s).reopens, 2, "the reply's reopen, then ours");
        let added = synthesized(&m);
        assert_eq!(added.len(), 1);
        let reopen = added[0];
        assert_eq!(reopen.role, Role::System);
        assert_eq!(reopen.actor, SYSTEM);
        assert_eq!(reopen.reason.as_deref(), Some(REASON_UNSEEN_CLOSE));
        assert_eq!(reopen.from.as_deref(), Some("closed"));
        assert_eq!(reopen.at, at("2025-03-04T10:00:00Z"));
        assert!(std::ptr::eq(reopen, m.events.last().unwrap()));
    }

    /// r1c: a forced close (duplicate) does not bury a later reply that had
    /// no status effect on its side (the ticket was open there).
    #[test]
    fn forced_close_does_not_bury_a_customer_reply_it_did_not_see() {
        let s = Statuses::builtin();
        let b = apply(&base(&s), Change::Open, "ana", "2025-03-03T09:30:00Z");
        assert_eq!(status(&b), "open");
        let closed = apply(
            &b,
            Change::Close {
                force: true,
                reason: Some("duplicate".into()),
            },
            "ana",
            "2025-03-04T10:00:00Z",
        );
        let replied = apply(&b, customer("Still broken"), "bo", "2025-03-04T11:00:00Z");
        assert_eq!(replied.events.len(), b.events.len() + 1, "no status event");
        let m = merge(Some(&b), &closed, &replied);
        assert_eq!(status(&m), "open");
        assert_eq!(m.summary(&s).reopens, 1);
        let added = synthesized(&m);
        assert_eq!(added.len(), 1);
        assert_eq!(added[0].from.as_deref(), Some("closed"));
        assert_eq!(added[0].at, at("2025-03-04T11:00:00Z"), "the latest time");
    }

    #[test]
    fn resolve_that_did_not_see_a_customer_reply_is_reopened_too() {
        let s = Statuses::builtin();
        let b = apply(
            &base(&s),
            Change::Reply {
                body: "Try this".into(),
                resolve: false,
            },
            "ana",
            "2025-03-03T09:30:00Z",
        );
        let resolved = apply(
            &b,
            Change::Resolve { reason: None },
            "ana",
            "2025-03-03T11:00:00Z",
        );
        let replied = apply(&b, customer("Did not help"), "bo", "2025-03-03T10:00:00Z");
        let m = merge(Some(&b), &resolved, &replied);
        assert_eq!(status(&m), "open");
        assert_eq!(
            synthesized(&m)[0].reason.as_deref(),
            Some(REASON_UNSEEN_RESOLVE)
        );
    }

    #[test]
    fn a_customer_reply_its_own_side_then_resolved_stays_closed() {
        let s = Statuses::builtin();
        let b = resolved(&s);
        let closed = apply(&b, close(), "ana", "2025-03-04T10:00:00Z");
        let replied = apply(&b, customer("One more thing"), "bo", "2025-03-04T09:00:00Z");
        let handled = apply(
            &replied,
            Change::Reply {
                body: "Done".into(),
                resolve: true,
            },
            "raj",
            "2025-03-04T09:30:00Z",
        );
        let m = merge(Some(&b), &closed, &handled);
        assert_eq!(status(&m), "closed");
        assert!(synthesized(&m).is_empty());
        assert!(bodies(&m).contains(&"One more thing".to_owned()));
    }

    /// Agent actions are not special: the later status change wins, and an
    /// agent reply the close did not see does not reopen.
    #[test]
    fn later_status_change_wins_between_agents() {
        let s = Statuses::builtin();
        let b = resolved(&s);
        let closed = apply(&b, close(), "ana", "2025-03-04T10:00:00Z");
        let reopened = apply(
            &b,
            Change::Reopen { reason: None },
            "raj",
            "2025-03-04T11:00:00Z",
        );
        assert_eq!(status(&merge(Some(&b), &closed, &reopened)), "open");
        let early = apply(
            &b,
            Change::Reopen { reason: None },
            "raj",
            "2025-03-04T09:00:00Z",
        );
        assert_eq!(status(&merge(Some(&b), &closed, &early)), "closed");
        let replied = apply(
            &b,
            Change::Reply {
                body: "Anything else?".into(),
                resolve: false,
            },
            "raj",
            "2025-03-04T09:00:00Z",
        );
        let m = merge(Some(&b), &closed, &replied);
        assert_eq!(status(&m), "closed");
        assert!(synthesized(&m).is_empty());
    }

    #[test]
    fn customer_reply_merged_after_an_answer_reopens_and_vice_versa() {
        let s = Statuses::builtin();
        let b = base(&s);
        let answered = apply(
            &b,
            Change::Reply {
                body: "Try this".into(),
                resolve: false,
            },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let customer_side = apply(&b, customer("More info"), "bo", "2025-03-03T10:05:00Z");
        let m = merge(Some(&b), &answered, &customer_side);
        assert_eq!(status(&m), "open", "the customer wrote after the answer");
        assert_eq!(synthesized(&m)[0].reason.as_deref(), Some(REASON_MESSAGE));
        let earlier = apply(&b, customer("More info"), "bo", "2025-03-03T09:30:00Z");
        assert_eq!(
            status(&merge(Some(&b), &answered, &earlier)),
            "answered",
            "the answer came last"
        );
    }

    /// r3: a merge never reorders the base's events, so a log written with
    /// a skewed clock does not change status in an unrelated merge.
    #[test]
    fn unrelated_merge_keeps_the_base_order_under_clock_skew() {
        let s = Statuses::builtin();
        // Resolved at 10:00; then a clone whose clock is behind records the
        // customer's reply at 09:30, which reopened the ticket.
        let b = apply(
            &resolved(&s),
            customer("Still smokes"),
            "bo",
            "2025-03-03T09:30:00Z",
        );
        assert_eq!(status(&b), "open");
        let ours = apply(&b, priority(Priority::High), "ana", "2025-03-03T11:00:00Z");
        let theirs = apply(
            &b,
            Change::Note {
                body: "Called back".into(),
            },
            "raj",
            "2025-03-03T11:05:00Z",
        );
        let m = merge(Some(&b), &ours, &theirs);
        assert_eq!(status(&m), "open");
        assert_eq!(m.events[..b.events.len()], b.events[..]);
        assert!(synthesized(&m).is_empty());
        assert_eq!(m.priority, Priority::High);
    }

    /// Merging a merge again (the next pull of one side) keeps the order the
    /// first merge chose, so the status it found stays.
    #[test]
    fn a_later_merge_keeps_the_order_an_earlier_merge_chose() {
        let s = Statuses::builtin();
        let o = apply(
            &base(&s),
            Change::Reply {
                body: "Try this".into(),
                resolve: false,
            },
            "ana",
            "2025-03-03T08:00:00Z",
        );
        let postpone = Change::Postpone { until: None };
        let a = apply(&o, postpone.clone(), "ana", "2025-03-03T10:00:00Z");
        let b = apply(&o, postpone, "raj", "2025-03-03T09:00:00Z");
        let b = apply(&b, Change::Wake, "raj", "2025-03-03T11:00:00Z");
        let m = merge(Some(&o), &a, &b);
        assert_eq!(status(&m), "open", "raj's wake came last");
        let b2 = apply(
            &b,
            Change::Note {
                body: "later".into(),
            },
            "raj",
            "2025-03-03T12:00:00Z",
        );
        let m2 = merge(Some(&b), &m, &b2);
        assert_eq!(status(&m2), "open");
        assert_eq!(m2.events[..m.events.len()], m.events[..]);
        assert_eq!(bodies(&m2).last().map(String::as_str), Some("later"));
    }

    /// The status change of a customer reply that reached both sides is one
    /// event of both: each side's message stays before it, so merging the
    /// merge again keeps its order and a coherent chain.
    #[test]
    fn an_event_new_on_both_sides_anchors_what_each_side_put_around_it() {
        let s = Statuses::builtin();
        let reply = |body: &str| Change::Reply {
            body: body.into(),
            resolve: false,
        };
        let note = |body: &str| Change::Note { body: body.into() };
        let b = apply(&base(&s), reply("Try this"), "ana", "2025-03-03T10:00:00Z");
        let o = apply(&b, reply("And this"), "ana", "2025-03-03T10:03:00Z");
        let o = apply(&o, customer("ana 1"), "bo", "2025-03-03T10:05:00Z");
        let t = apply(&b, note("n1"), "raj", "2025-03-03T10:02:00Z");
        let t = apply(&t, note("n2"), "raj", "2025-03-03T10:04:00Z");
        let t = apply(&t, customer("raj 2"), "bo", "2025-03-03T10:05:00Z");
        let reopen = o.events.last().unwrap();
        assert_eq!(reopen, t.events.last().unwrap(), "the same event");
        let m = merge(Some(&b), &o, &t);
        assert_eq!(
            bodies(&m),
            [
                "It smokes",
                "Try this",
                "n1",
                "And this",
                "n2",
                "ana 1",
                "raj 2"
            ]
        );
        assert_eq!(m.events.iter().filter(|e| *e == reopen).count(), 1);
        assert_eq!(m.events.last(), Some(reopen));
        let t2 = apply(&t, note("later"), "raj", "2025-03-03T23:00:00Z");
        let m2 = merge(Some(&t), &m, &t2);
        assert_eq!(m2.events[..m.events.len()], m.events[..]);
        assert_eq!(status(&m2), "open");
    }

    #[test]
    fn same_event_on_both_sides_is_kept_once() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(
            &b,
            Change::Note {
                body: "same".into(),
            },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let m = merge(Some(&b), &ours, &ours.clone());
        assert_eq!(m.events.len(), ours.events.len());
        // A cherry-picked change next to other work, either way round.
        let theirs = apply(
            &ours,
            Change::Note {
                body: "more".into(),
            },
            "raj",
            "2025-03-03T10:00:00Z",
        );
        let m = merge(Some(&b), &ours, &theirs);
        assert_eq!(bodies(&m), ["It smokes", "same", "more"]);
    }

    #[test]
    fn event_deleted_by_hand_on_one_side_stays_deleted() {
        let s = Statuses::builtin();
        let b = apply(
            &base(&s),
            Change::Note {
                body: "typo".into(),
            },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let mut ours = b.clone();
        ours.events.pop();
        let theirs = apply(
            &b,
            Change::Note {
                body: "other".into(),
            },
            "raj",
            "2025-03-03T11:00:00Z",
        );
        let m = merge(Some(&b), &ours, &theirs);
        assert_eq!(bodies(&m), ["It smokes", "other"]);
    }

    #[test]
    fn added_on_both_sides_without_base_unions_the_logs() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = apply(
            &b,
            Change::Note { body: "A".into() },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let mut theirs = apply(
            &b,
            Change::Note { body: "B".into() },
            "raj",
            "2025-03-03T10:01:00Z",
        );
        theirs = apply(
            &theirs,
            priority(Priority::Low),
            "raj",
            "2025-03-03T10:02:00Z",
        );
        let m = merge(None, &ours, &theirs);
        assert_eq!(bodies(&m), ["It smokes", "A", "B"]);
        assert_eq!(m.priority, Priority::Low);
    }

    /// r2: the same id minted on two branches is two tickets, not one.
    #[test]
    fn same_id_created_independently_on_both_sides_is_refused() {
        let s = Statuses::builtin();
        let ours = base(&s);
        let mut theirs = base(&s);
        theirs.events[0].at = at("2025-03-03T09:00:05Z");
        let err = super::merge(None, &ours, &theirs, &s, SYSTEM).unwrap_err();
        // The same second and agent, another customer's first message.
        let mut other = base(&s);
        other.events[1].actor = "cy@ex.com".into();
        assert!(super::merge(None, &ours, &other, &s, SYSTEM).is_err());
        // The same creation, another customer that no event explains.
        let mut other = base(&s);
        other.customer.email = Some("cy@ex.com".into());
        assert!(super::merge(None, &ours, &other, &s, SYSTEM).is_err());
        assert_eq!(err, MergeError::DifferentTickets(ours.id.clone()));
        assert!(
            err.to_string()
                .contains("two different tickets have the same id k3x9p2")
        );
        // With a common ancestor, the same edits are an ordinary merge.
        assert!(super::merge(Some(&ours), &ours, &theirs, &s, SYSTEM).is_ok());
    }

    /// r5: two ratings of the same second: the greater (score, comment).
    #[test]
    fn rating_tie_does_not_depend_on_the_direction() {
        let s = Statuses::builtin();
        let b = resolved(&s);
        let rated = |score, comment: &str| {
            let mut t = b.clone();
            t.rating = Some(Rating {
                score,
                comment: Some(comment.into()),
                at: at("2025-03-03T12:00:00Z"),
            });
            t
        };
        let m = merge(Some(&b), &rated(4, "fine"), &rated(4, "great"));
        assert_eq!(m.rating.unwrap().comment.as_deref(), Some("great"));
        let m = merge(Some(&b), &rated(5, "a"), &rated(4, "z"));
        assert_eq!(m.rating.unwrap().score, 5);
        // One side removed it by hand, the other rated anew: keep the rating.
        let mut removed = rated(3, "meh");
        let with = rated(3, "meh");
        removed.rating = None;
        let m = merge(Some(&with), &removed, &rated(5, "now fixed"));
        assert_eq!(m.rating.unwrap().score, 5);
    }

    fn tid(text: &str) -> TicketId {
        text.parse().unwrap()
    }

    /// `t` linked (`Some(kind)`) or unlinked (`None`) to `other` by `who`.
    fn linked(t: &Ticket, kind: Option<LinkKind>, other: &str, who: &str, now: &str) -> Ticket {
        let s = Statuses::builtin();
        let mut t = t.clone();
        let actor = act(&s, who, now);
        match kind {
            Some(kind) => drop(link::link(&mut t, kind, &tid(other), &actor).unwrap()),
            None => drop(link::unlink(&mut t, &tid(other), &LinkKind::ALL, &actor).unwrap()),
        }
        t
    }

    fn related(t: &Ticket) -> Vec<&str> {
        t.related.iter().map(TicketId::as_str).collect()
    }

    #[test]
    fn links_made_on_both_sides_are_all_kept() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = linked(
            &b,
            Some(LinkKind::Related),
            "aaaaaa",
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let theirs = linked(
            &b,
            Some(LinkKind::DuplicateOf),
            "bbbbbb",
            "raj",
            "2025-03-03T10:00:00Z",
        );
        let theirs = linked(
            &theirs,
            Some(LinkKind::Related),
            "cccccc",
            "raj",
            "2025-03-03T10:01:00Z",
        );
        let m = merge(Some(&b), &ours, &theirs);
        assert_eq!(related(&m), ["aaaaaa", "cccccc"]);
        assert_eq!(m.duplicate_of, Some(tid("bbbbbb")));
        let links = m
            .events
            .iter()
            .filter(|e| e.kind == EventKind::Link)
            .count();
        assert_eq!(links, 3, "every link event is kept");
    }

    #[test]
    fn a_related_link_removed_on_one_side_stays_removed() {
        let s = Statuses::builtin();
        let b = linked(
            &base(&s),
            Some(LinkKind::Related),
            "aaaaaa",
            "ana",
            "2025-03-03T09:30:00Z",
        );
        let ours = linked(&b, None, "aaaaaa", "ana", "2025-03-03T10:00:00Z");
        let theirs = apply(
            &b,
            Change::Note { body: "x".into() },
            "raj",
            "2025-03-03T11:00:00Z",
        );
        assert!(merge(Some(&b), &ours, &theirs).related.is_empty());
    }

    /// Unlinked and linked again on one side after the other side unlinked:
    /// the later change wins, though that side's set equals the base's.
    #[test]
    fn a_related_link_removed_and_made_again_beats_an_earlier_removal() {
        let s = Statuses::builtin();
        let b = linked(
            &base(&s),
            Some(LinkKind::Related),
            "aaaaaa",
            "ana",
            "2025-03-03T09:30:00Z",
        );
        let ours = linked(&b, None, "aaaaaa", "ana", "2025-03-03T10:00:00Z");
        let theirs = linked(&b, None, "aaaaaa", "raj", "2025-03-03T10:01:00Z");
        let theirs = linked(
            &theirs,
            Some(LinkKind::Related),
            "aaaaaa",
            "raj",
            "2025-03-03T10:02:00Z",
        );
        assert_eq!(theirs.related, b.related);
        assert_eq!(related(&merge(Some(&b), &ours, &theirs)), ["aaaaaa"]);
        // The removal is the later change: it wins.
        let late = linked(&b, None, "aaaaaa", "ana", "2025-03-03T10:03:00Z");
        assert!(merge(Some(&b), &late, &theirs).related.is_empty());
    }

    #[test]
    fn the_later_duplicate_link_wins_and_an_unlink_is_a_change() {
        let s = Statuses::builtin();
        let b = base(&s);
        let ours = linked(
            &b,
            Some(LinkKind::DuplicateOf),
            "aaaaaa",
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let theirs = linked(
            &b,
            Some(LinkKind::DuplicateOf),
            "bbbbbb",
            "raj",
            "2025-03-03T10:05:00Z",
        );
        assert_eq!(
            merge(Some(&b), &ours, &theirs).duplicate_of,
            Some(tid("bbbbbb"))
        );
        let undone = linked(&ours, None, "aaaaaa", "ana", "2025-03-03T11:00:00Z");
        assert_eq!(undone.duplicate_of, None);
        assert_eq!(merge(Some(&b), &undone, &theirs).duplicate_of, None);
    }

    /// `tix merge` into this ticket on one clone, a customer reply on the
    /// other: the copies, the marker and the reply are all kept; the copies
    /// change no status, and the same merge on both clones is kept once.
    #[test]
    fn a_merged_conversation_and_a_reply_made_meanwhile_are_both_kept() {
        let s = Statuses::builtin();
        let b = apply(
            &base(&s),
            Change::Reply {
                body: "Unplug it".into(),
                resolve: false,
            },
            "ana",
            "2025-03-03T09:30:00Z",
        );
        let mut source = b.clone();
        source.id = tid("ssssss");
        source = apply(
            &source,
            customer("Smoke everywhere"),
            "bo",
            "2025-03-03T09:40:00Z",
        );
        let mut ours = b.clone();
        let merged = link::merge(
            &mut source.clone(),
            &mut ours,
            &act(&s, "ana", "2025-03-03T11:00:00Z"),
        )
        .unwrap();
        assert_eq!(merged.copied, 3);
        let theirs = apply(&b, customer("Still smoking"), "bo", "2025-03-03T10:30:00Z");
        let m = merge(Some(&b), &ours, &theirs);
        let copied: Vec<&str> = m
            .events
            .iter()
            .filter(|e| link::copied_from(e).is_some())
            .filter_map(|e| e.body.as_deref())
            .collect();
        assert_eq!(copied, ["It smokes", "Unplug it", "Smoke everywhere"]);
        assert!(bodies(&m).contains(&"Still smoking".to_owned()));
        assert_eq!(link::merged_in(&m), ["ssssss"]);
        assert!(synthesized(&m).is_empty(), "{m:#?}");
        assert_eq!(status(&m), "open");
        assert_eq!(merge(Some(&b), &ours, &ours).events, ours.events);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// One action at a minute after 10:00 (small, so seconds collide).
        fn action() -> impl Strategy<Value = (u8, i64)> {
            (0u8..9, 0i64..6)
        }

        fn play(start: &Ticket, side: &str, actions: &[(u8, i64)]) -> Ticket {
            let statuses = Statuses::builtin();
            let mut t = start.clone();
            let mut now = at("2025-03-03T10:00:00Z");
            for (i, (kind, minutes)) in actions.iter().enumerate() {
                now = now.plus_seconds(minutes * 60);
                let body = format!("{side} {i}");
                let change = match kind {
                    0 => Change::Reply {
                        body,
                        resolve: false,
                    },
                    1 => Change::CustomerReply { body },
                    2 => Change::Note { body },
                    3 => Change::Resolve { reason: None },
                    4 => close(),
                    5 => Change::Close {
                        force: true,
                        reason: Some("spam".into()),
                    },
                    6 => Change::Reopen { reason: None },
                    7 => priority(Priority::ALL[i % 4]),
                    _ => Change::Reply {
                        body,
                        resolve: true,
                    },
                };
                let actor = act(&statuses, side, "2025-03-03T10:00:00Z");
                let actor = Actor { now, ..actor };
                // A refused action (a reply to a closed ticket) is skipped.
                let mut next = t.clone();
                if change::apply(&mut next, &change, &actor).is_ok() {
                    t = next;
                }
            }
            t
        }

        /// One link action: related, duplicate or unlink (0..3), of one of
        /// three tickets, some minutes after the one before.
        fn link_action() -> impl Strategy<Value = (u8, usize, i64)> {
            (0u8..3, 0usize..3, 0i64..4)
        }

        const OTHERS: [&str; 3] = ["aaaaaa", "bbbbbb", "cccccc"];

        fn play_links(start: &Ticket, side: &str, actions: &[(u8, usize, i64)]) -> Ticket {
            let statuses = Statuses::builtin();
            let mut t = start.clone();
            let mut now = at("2025-03-03T10:00:00Z");
            for (kind, other, minutes) in actions {
                now = now.plus_seconds(minutes * 60);
                let actor = Actor {
                    now,
                    ..act(&statuses, side, "2025-03-03T10:00:00Z")
                };
                let other = tid(OTHERS[*other]);
                let mut next = t.clone();
                let done = match kind {
                    0 => link::link(&mut next, LinkKind::Related, &other, &actor).is_ok(),
                    1 => link::link(&mut next, LinkKind::DuplicateOf, &other, &actor).is_ok(),
                    _ => link::unlink(&mut next, &other, &LinkKind::ALL, &actor).is_ok(),
                };
                // A refused action (a link there already) is skipped.
                if done {
                    t = next;
                }
            }
            t
        }

        /// The value of a link (by `get`) that the latest change of either
        /// side (events of `field` naming `id`, or any id when `None`)
        /// gave; the base's when neither side changed it; on a tie, the
        /// greater one.
        fn latest_value<T: Ord + Clone>(
            b: &Ticket,
            sides: [&Ticket; 2],
            field: &str,
            id: Option<&str>,
            get: impl Fn(&Ticket) -> T,
        ) -> T {
            let at = |t: &Ticket| {
                t.events[b.events.len()..]
                    .iter()
                    .filter(|e| e.kind == EventKind::Link && e.field.as_deref() == Some(field))
                    .filter(|e| {
                        id.is_none_or(|id| [&e.to, &e.from].into_iter().flatten().any(|x| x == id))
                    })
                    .map(|e| e.at)
                    .max()
            };
            let [o, t] = sides;
            match (at(o), at(t)) {
                (None, None) => get(b),
                (Some(_), None) => get(o),
                (None, Some(_)) => get(t),
                (Some(x), Some(y)) if x > y => get(o),
                (Some(x), Some(y)) if x < y => get(t),
                _ => get(o).max(get(t)),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            /// Whatever both sides did: the same bytes either way round, a
            /// coherent status chain, and no message or note lost.
            #[test]
            fn merges_are_symmetric_coherent_and_lossless(
                shared in proptest::collection::vec(action(), 0..4),
                ours in proptest::collection::vec(action(), 0..6),
                theirs in proptest::collection::vec(action(), 0..6),
            ) {
                let s = Statuses::builtin();
                let b = play(&base(&s), "base", &shared);
                let o = play(&b, "ana", &ours);
                let t = play(&b, "raj", &theirs);
                let m = merge(Some(&b), &o, &t);
                let mut expected: BTreeSet<String> = bodies(&o).into_iter().collect();
                expected.extend(bodies(&t));
                let got: BTreeSet<String> = bodies(&m).into_iter().collect();
                prop_assert_eq!(got, expected);
                // The next merge (their side added a note later) keeps the
                // order, and so the status, this merge chose.
                let mut t2 = t.clone();
                let note = Change::Note { body: "later".into() };
                let late = act(&s, "raj", "2025-03-03T23:00:00Z");
                if change::apply(&mut t2, &note, &late).is_ok() {
                    let m2 = merge(Some(&t), &m, &t2);
                    prop_assert_eq!(&m2.events[..m.events.len()], &m.events[..]);
                    prop_assert_eq!(status(&m2), status(&m));
                }
                // No customer message is buried: when the ticket ends solved
                // or closed, the side that made that last change had every
                // customer message, or the message's own side solved or
                // closed the ticket after it.
                let done = |e: &Event| matches!(
                    e.to.as_deref().and_then(|to| s.category(to)),
                    Some(Category::Solved | Category::Closed)
                );
                if let Some(last) = m.events.iter().rev().find(|e| e.sets_status())
                    && done(last)
                {
                    for message in m.events.iter().filter(|e| {
                        e.kind == EventKind::Message
                            && e.role == Role::Customer
                            && !b.events.contains(e)
                    }) {
                        // The merge may have corrected the `from` of `last`.
                        let is_last = |e: &Event| Event { from: None, ..e.clone() }
                            == Event { from: None, ..last.clone() };
                        let seen = [&o, &t].into_iter().any(|side| {
                            side.events.iter().any(is_last) && side.events.contains(message)
                        });
                        let handled = [&o, &t].into_iter().any(|side| {
                            side.events
                                .iter()
                                .position(|e| e == message)
                                .is_some_and(|i| side.events[i + 1..].iter().any(done))
                        });
                        prop_assert!(seen || handled, "buried: {message:?} in {m:?}");
                    }
                }
            }

            /// Whatever links both sides made and removed: the same bytes
            /// either way round, every link event kept, and each link as
            /// the latest change of it left it.
            #[test]
            fn links_merge_to_their_latest_change(
                shared in proptest::collection::vec(link_action(), 0..4),
                ours in proptest::collection::vec(link_action(), 0..6),
                theirs in proptest::collection::vec(link_action(), 0..6),
            ) {
                let s = Statuses::builtin();
                let b = play_links(&base(&s), "base", &shared);
                let o = play_links(&b, "ana", &ours);
                let t = play_links(&b, "raj", &theirs);
                let m = merge(Some(&b), &o, &t);
                for side in [&o, &t] {
                    for event in side.events.iter().filter(|e| e.kind == EventKind::Link) {
                        prop_assert!(m.events.contains(event), "lost {event:?}");
                    }
                }
                for other in OTHERS {
                    let id = tid(other);
                    let want = latest_value(&b, [&o, &t], "related", Some(other), |x| {
                        x.related.contains(&id)
                    });
                    prop_assert_eq!(m.related.contains(&id), want, "related {}", other);
                }
                let want = latest_value(&b, [&o, &t], "duplicate_of", None, |x| {
                    x.duplicate_of.clone()
                });
                prop_assert_eq!(m.duplicate_of, want);
            }
        }
    }
}
