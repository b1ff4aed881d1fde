//! Three-way merge of one ticket file, for git's merge driver (SPEC §3).
//!
//! Line-based merges of ticket files lose or garble replies; this merge works
//! on the ticket's structure instead (docs/merge-policy.md):
//! - the event logs are unioned: every event of either side is kept once, an
//!   event either side deleted by hand stays deleted, and new events are
//!   placed by time (same-second groups ordered by content, so the result
//!   does not depend on which side merges into which);
//! - a scalar field (subject, priority, assignee, department, a custom
//!   field, a customer detail, a link) changed on one side takes that
//!   change; changed on both, the later change (by its event time) wins;
//! - sets (tags, related tickets) merge as sets;
//! - derived state (status, timestamps, reopen count) is recomputed from the
//!   merged log when the file is written;
//! - messages that one side added after the other side's last status change
//!   get the status effect they would have had on one desk: a customer reply
//!   merged after an agent's answer reopens the ticket, an agent reply merged
//!   after a customer's message answers it (a synthesized status event, the
//!   same whichever side merges into which).
//!
//! Pure: no files, no git.

use std::collections::{BTreeMap, BTreeSet};

use crate::lifecycle::{self, Move, Outcome, Statuses};
use crate::model::{Event, EventKind, Role, Ticket, Timestamp};

/// Merges `ours` and `theirs`, which both descend from `base` (`None` when
/// the file was added on both sides).
pub fn merge(base: Option<&Ticket>, ours: &Ticket, theirs: &Ticket, statuses: &Statuses) -> Ticket {
    let empty = Ticket {
        events: Vec::new(),
        ..ours.clone()
    };
    let base = base.unwrap_or(&empty);
    let ours_new = added(&base.events, &ours.events);
    let theirs_new = added(&base.events, &theirs.events);
    let side = |new: &[Event], kind: EventKind, field: Option<&str>| -> Option<Timestamp> {
        new.iter()
            .filter(|e| e.kind == kind && (field.is_none() || e.field.as_deref() == field))
            .map(|e| e.at)
            .max()
    };
    // When each side last changed a field (by its events).
    let when = |kind: EventKind, field: Option<&str>| {
        (side(&ours_new, kind, field), side(&theirs_new, kind, field))
    };

    let mut merged = ours.clone();
    merged.status = None;
    merged.subject = pick(
        &base.subject,
        &ours.subject,
        &theirs.subject,
        when(EventKind::Subject, None),
    );
    merged.priority = pick(
        &base.priority,
        &ours.priority,
        &theirs.priority,
        when(EventKind::Priority, None),
    );
    merged.assignee = pick(
        &base.assignee,
        &ours.assignee,
        &theirs.assignee,
        when(EventKind::Assign, None),
    );
    merged.department = pick(
        &base.department,
        &ours.department,
        &theirs.department,
        when(EventKind::Department, None),
    );
    merged.follow_up_of = pick(
        &base.follow_up_of,
        &ours.follow_up_of,
        &theirs.follow_up_of,
        when(EventKind::Link, Some("follow_up_of")),
    );
    merged.duplicate_of = pick(
        &base.duplicate_of,
        &ours.duplicate_of,
        &theirs.duplicate_of,
        when(EventKind::Link, Some("duplicate_of")),
    );
    merged.tags = merge_set(&base.tags, &ours.tags, &theirs.tags);
    merged.related = merge_set(&base.related, &ours.related, &theirs.related);
    let c = (&base.customer, &ours.customer, &theirs.customer);
    merged.customer.name = pick(
        &c.0.name,
        &c.1.name,
        &c.2.name,
        when(EventKind::Customer, Some("name")),
    );
    merged.customer.email = pick(
        &c.0.email,
        &c.1.email,
        &c.2.email,
        when(EventKind::Customer, Some("email")),
    );
    merged.customer.phone = pick(
        &c.0.phone,
        &c.1.phone,
        &c.2.phone,
        when(EventKind::Customer, Some("phone")),
    );
    merged.fields = merge_fields(base, ours, theirs, &ours_new, &theirs_new);
    merged.rating = match (&ours.rating, &theirs.rating) {
        (Some(o), Some(t)) => Some(if (t.at, t.score) > (o.at, o.score) {
            t.clone()
        } else {
            o.clone()
        }),
        _ if ours.rating == base.rating => theirs.rating.clone(),
        _ => ours.rating.clone(),
    };
    merged.events = merge_events(&base.events, &ours.events, &theirs.events);
    settle(&mut merged, statuses);
    merged
}

/// Gives the messages after the last status change the status effect the
/// lifecycle gives them (SPEC §1), as if both sides had worked on one desk.
fn settle(ticket: &mut Ticket, statuses: &Statuses) {
    let Some(last) = ticket.events.iter().rposition(Event::sets_status) else {
        return;
    };
    let summary = ticket.summary(statuses);
    let Some(mut category) = summary.category else {
        return;
    };
    let mut status = summary.status;
    let tail = ticket.events.split_off(last + 1);
    for event in tail {
        let mv = match (event.kind, event.role) {
            (EventKind::Message, Role::Customer) => Some(Move::CustomerReply),
            _ if event.is_reply() => Some(Move::AgentReply),
            _ => None,
        };
        let moved = mv
            .and_then(|mv| lifecycle::outcome(mv, category))
            .and_then(|outcome| match outcome {
                Outcome::To(to) if to.default_status() != status => Some(to),
                _ => None,
            });
        let synthesized = moved.map(|to| {
            let mut change = Event::new(event.at, &event.actor, event.role, EventKind::Status);
            change.from = Some(status.clone());
            change.to = Some(to.default_status().to_owned());
            change.reason = Some("merged: message from another branch".to_owned());
            category = to;
            status = to.default_status().to_owned();
            change
        });
        ticket.events.push(event);
        ticket.events.extend(synthesized);
    }
}

/// Chooses a scalar: the side that changed it; if both changed it
/// differently, the later change; on a tie, the greater value (so the
/// result is the same whichever side merges into which).
fn pick<T: Clone + Ord>(
    base: &T,
    ours: &T,
    theirs: &T,
    (ours_at, theirs_at): (Option<Timestamp>, Option<Timestamp>),
) -> T {
    if ours == theirs || theirs == base {
        return ours.clone();
    }
    if ours == base {
        return theirs.clone();
    }
    match ours_at.cmp(&theirs_at) {
        std::cmp::Ordering::Greater => ours.clone(),
        std::cmp::Ordering::Less => theirs.clone(),
        std::cmp::Ordering::Equal => ours.max(theirs).clone(),
    }
}

/// Three-way set merge: an element stays unless a side removed it, and an
/// element either side added is in.
fn merge_set<T: Clone + Ord>(
    base: &BTreeSet<T>,
    ours: &BTreeSet<T>,
    theirs: &BTreeSet<T>,
) -> BTreeSet<T> {
    let kept = base
        .iter()
        .filter(|x| ours.contains(*x) && theirs.contains(*x));
    let added = ours.union(theirs).filter(|x| !base.contains(*x));
    kept.chain(added).cloned().collect()
}

fn merge_fields(
    base: &Ticket,
    ours: &Ticket,
    theirs: &Ticket,
    ours_new: &[Event],
    theirs_new: &[Event],
) -> BTreeMap<String, toml::Value> {
    let keys: BTreeSet<&String> = base
        .fields
        .keys()
        .chain(ours.fields.keys())
        .chain(theirs.fields.keys())
        .collect();
    let latest = |new: &[Event], key: &str| {
        new.iter()
            .filter(|e| e.kind == EventKind::Field && e.field.as_deref() == Some(key))
            .map(|e| e.at)
            .max()
    };
    let mut out = BTreeMap::new();
    for key in keys {
        // toml::Value is not Ord: compare through its text form.
        let text = |t: &Ticket| t.fields.get(key).map(|v| (v.to_string(), v.clone()));
        let (b, o, t) = (text(base), text(ours), text(theirs));
        let chosen = pick(
            &b.as_ref().map(|x| x.0.clone()),
            &o.as_ref().map(|x| x.0.clone()),
            &t.as_ref().map(|x| x.0.clone()),
            (latest(ours_new, key), latest(theirs_new, key)),
        );
        let value = [o, t, b]
            .into_iter()
            .flatten()
            .find(|(s, _)| Some(s) == chosen.as_ref());
        if let Some((_, value)) = value {
            out.insert(key.clone(), value);
        }
    }
    out
}

/// The events of `side` that are not in `base` (as a multiset).
fn added(base: &[Event], side: &[Event]) -> Vec<Event> {
    let mut pool: Vec<&Event> = base.iter().collect();
    side.iter()
        .filter(|e| match pool.iter().position(|b| b == e) {
            Some(i) => {
                pool.swap_remove(i);
                false
            }
            None => true,
        })
        .cloned()
        .collect()
}

/// Whether `event` survives in `side` (multiset membership, consuming).
fn take(pool: &mut Vec<&Event>, event: &Event) -> bool {
    match pool.iter().position(|e| *e == event) {
        Some(i) => {
            pool.swap_remove(i);
            true
        }
        None => false,
    }
}

fn merge_events(base: &[Event], ours: &[Event], theirs: &[Event]) -> Vec<Event> {
    // Base events both sides still have, in base order.
    let mut ours_pool: Vec<&Event> = ours.iter().collect();
    let mut theirs_pool: Vec<&Event> = theirs.iter().collect();
    let kept: Vec<Event> = base
        .iter()
        .filter(|e| {
            let in_ours = take(&mut ours_pool, e);
            let in_theirs = take(&mut theirs_pool, e);
            in_ours && in_theirs
        })
        .cloned()
        .collect();
    let ours_new = added(base, ours);
    let mut theirs_new = added(base, theirs);
    // The same event added on both sides (a cherry-pick, the same merge
    // made twice) is kept once.
    let mut pool: Vec<&Event> = ours_new.iter().collect();
    theirs_new.retain(|e| !take(&mut pool, e));

    // Groups: a run of one side's new events with the same time is one
    // change and keeps its order. Sort by time, base first, then content.
    struct Group {
        at: Timestamp,
        origin: u8,
        key: String,
        events: Vec<Event>,
    }
    let mut groups: Vec<Group> = kept
        .into_iter()
        .enumerate()
        .map(|(i, e)| Group {
            at: e.at,
            origin: 0,
            key: format!("{i:012}"),
            events: vec![e],
        })
        .collect();
    for new in [ours_new, theirs_new] {
        let mut current: Vec<Event> = Vec::new();
        for event in new {
            if current.last().is_some_and(|last| last.at != event.at) {
                groups.push(new_group(std::mem::take(&mut current)));
            }
            current.push(event);
        }
        if !current.is_empty() {
            groups.push(new_group(current));
        }
    }
    fn new_group(events: Vec<Event>) -> Group {
        Group {
            at: events[0].at,
            origin: 1,
            key: format!("{events:?}"),
            events,
        }
    }
    groups.sort_by(|a, b| (a.at, a.origin, &a.key).cmp(&(b.at, b.origin, &b.key)));
    groups.into_iter().flat_map(|g| g.events).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::{self, Actor, Change, Edit, NewTicket};
    use crate::lifecycle::Statuses;
    use crate::model::{Priority, Role};

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

    fn merge(base: Option<&Ticket>, ours: &Ticket, theirs: &Ticket) -> Ticket {
        super::merge(base, ours, theirs, &Statuses::builtin())
    }

    fn status(t: &Ticket) -> String {
        t.summary(&Statuses::builtin()).status
    }

    fn bodies(t: &Ticket) -> Vec<String> {
        t.events.iter().filter_map(|e| e.body.clone()).collect()
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
        let edit = Edit {
            priority: Some(Priority::Urgent),
            ..Edit::default()
        };
        theirs = apply(&theirs, Change::Edit(edit), "raj", "2025-03-03T10:06:00Z");
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
        assert_eq!(
            merge(Some(&b), &ours, &theirs).events,
            merge(Some(&b), &theirs, &ours).events
        );
    }

    #[test]
    fn later_scalar_change_wins() {
        let s = Statuses::builtin();
        let b = base(&s);
        let p = |p| {
            Change::Edit(Edit {
                priority: Some(p),
                ..Edit::default()
            })
        };
        let ours = apply(&b, p(Priority::High), "ana", "2025-03-03T10:00:00Z");
        let theirs = apply(&b, p(Priority::Low), "raj", "2025-03-03T11:00:00Z");
        assert_eq!(merge(Some(&b), &ours, &theirs).priority, Priority::Low);
        assert_eq!(merge(Some(&b), &theirs, &ours).priority, Priority::Low);
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

    #[test]
    fn close_versus_reopen_later_status_change_wins() {
        let s = Statuses::builtin();
        let b = apply(
            &base(&s),
            Change::Resolve { reason: None },
            "ana",
            "2025-03-03T10:00:00Z",
        );
        let closed = apply(
            &b,
            Change::Close {
                force: false,
                reason: None,
            },
            "ana",
            "2025-03-04T10:00:00Z",
        );
        let reopened = apply(
            &b,
            Change::CustomerReply {
                body: "Not fixed".into(),
            },
            "bo",
            "2025-03-04T11:00:00Z",
        );
        let m = merge(Some(&b), &closed, &reopened);
        assert_eq!(status(&m), "open");
        assert_eq!(m.summary(&s).reopens, 1);
        assert!(bodies(&m).contains(&"Not fixed".to_owned()));
        let earlier = apply(
            &b,
            Change::CustomerReply {
                body: "Not fixed".into(),
            },
            "bo",
            "2025-03-04T09:00:00Z",
        );
        assert_eq!(status(&merge(Some(&b), &closed, &earlier)), "closed");
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
        let customer = apply(
            &b,
            Change::CustomerReply {
                body: "More info".into(),
            },
            "bo",
            "2025-03-03T10:05:00Z",
        );
        let m = merge(Some(&b), &answered, &customer);
        assert_eq!(status(&m), "open", "the customer wrote after the answer");
        assert_eq!(
            m.events,
            merge(Some(&b), &customer, &answered).events,
            "symmetric"
        );
        let earlier = apply(
            &b,
            Change::CustomerReply {
                body: "More info".into(),
            },
            "bo",
            "2025-03-03T09:30:00Z",
        );
        assert_eq!(
            status(&merge(Some(&b), &answered, &earlier)),
            "answered",
            "the answer came last"
        );
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
        let theirs = apply(
            &b,
            Change::Note { body: "B".into() },
            "raj",
            "2025-03-03T10:01:00Z",
        );
        let m = merge(None, &ours, &theirs);
        assert_eq!(bodies(&m), ["It smokes", "A", "B"]);
    }
}
