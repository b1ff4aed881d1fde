//! Links between tickets (duplicate of, related to, follow-up of) and the
//! merge of one ticket into another (docs/ticket-format.md, "Links").
//!
//! A link lives twice in a ticket file: in the header (`duplicate_of`,
//! `related`, `follow_up_of`), which says what holds now, and as a `link`
//! event in the log, which says who linked or unlinked what and when (and
//! lets the merge driver tell which side changed a link last). A related
//! link is symmetric: both tickets list each other, written in one commit
//! by the desk. A merge copies the source's conversation into the target as
//! `merge` events, which keep each message's author, role and time but
//! count for no metric: the target's SLA, reports and rules see only what
//! happened on the target itself.
//!
//! Pure: the desk reads the tickets, this decides; no git, no clock.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::change::{self, Actor, Applied, Change, ChangeError};
use crate::domain::lifecycle::Category;
use crate::model::{Event, EventKind, Ticket, TicketId};

/// The kinds of link a ticket can have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkKind {
    /// A follow-up of a ticket (`tix new --follow-up`, mail to a closed one).
    FollowUpOf,
    /// A duplicate of a ticket (`tix link --duplicate-of`, `tix merge`).
    DuplicateOf,
    /// Related to a ticket, both ways (`tix link --related`).
    Related,
}

impl LinkKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [Self::FollowUpOf, Self::DuplicateOf, Self::Related];

    /// The key in the ticket file, and the `field` of its `link` events.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FollowUpOf => "follow_up_of",
            Self::DuplicateOf => "duplicate_of",
            Self::Related => "related",
        }
    }

    /// Words for messages: "a duplicate of", ...
    fn phrase(self) -> &'static str {
        match self {
            Self::FollowUpOf => "a follow-up of",
            Self::DuplicateOf => "a duplicate of",
            Self::Related => "related to",
        }
    }
}

/// The reason recorded on the status change that closes a merged ticket.
pub fn merged_reason(target: &TicketId) -> String {
    format!("merged into {target}")
}

/// Every link of a ticket, in the order of the file's keys.
pub fn links_of(ticket: &Ticket) -> Vec<(LinkKind, &TicketId)> {
    let mut links = Vec::new();
    links.extend(
        ticket
            .follow_up_of
            .iter()
            .map(|t| (LinkKind::FollowUpOf, t)),
    );
    links.extend(
        ticket
            .duplicate_of
            .iter()
            .map(|t| (LinkKind::DuplicateOf, t)),
    );
    links.extend(ticket.related.iter().map(|t| (LinkKind::Related, t)));
    links
}

/// Refuses a closed ticket: only `tix reopen` changes it (docs/lifecycle.md).
fn check_not_closed(ticket: &Ticket, actor: &Actor<'_>, doing: &str) -> Result<(), ChangeError> {
    let summary = ticket.summary(actor.statuses);
    match summary.category {
        None => Err(ChangeError::UnknownStatus(summary.status)),
        Some(Category::Closed) => Err(ChangeError::Invalid(format!(
            "ticket {} is closed, and only `tix reopen {}` changes a closed ticket; {doing}",
            ticket.id, ticket.id
        ))),
        Some(_) => Ok(()),
    }
}

fn link_event(actor: &Actor<'_>, kind: LinkKind) -> Event {
    let mut e = Event::new(actor.now, actor.id, actor.role, EventKind::Link);
    e.field = Some(kind.as_str().to_owned());
    e
}

/// Links `ticket` to `target`: as a duplicate of it (replacing another
/// `duplicate_of`), or related to it (this side only: the desk links the
/// other side in the same commit). Refuses a link to itself, a closed
/// ticket, and a link that is there already. The desk checks that `target`
/// exists and that a duplicate link makes no cycle.
pub fn link(
    ticket: &mut Ticket,
    kind: LinkKind,
    target: &TicketId,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    if *target == ticket.id {
        return Err(ChangeError::Invalid(format!(
            "a ticket cannot be linked to itself ({target})"
        )));
    }
    check_not_closed(ticket, actor, "nothing was linked")?;
    let mut e = link_event(actor, kind);
    e.to = Some(target.to_string());
    match kind {
        LinkKind::DuplicateOf | LinkKind::FollowUpOf => {
            let slot = if kind == LinkKind::DuplicateOf {
                &mut ticket.duplicate_of
            } else {
                &mut ticket.follow_up_of
            };
            if slot.as_ref() == Some(target) {
                return Err(already(&ticket.id, kind, target));
            }
            e.from = slot.replace(target.clone()).map(|old| old.to_string());
        }
        LinkKind::Related => {
            if !ticket.related.insert(target.clone()) {
                return Err(already(&ticket.id, kind, target));
            }
        }
    }
    ticket.push(e);
    Ok(applied("link", 1))
}

fn already(id: &TicketId, kind: LinkKind, target: &TicketId) -> ChangeError {
    ChangeError::NoChange(format!("ticket {id} is {} {target} already", kind.phrase()))
}

fn applied(action: &'static str, recorded: usize) -> Applied {
    Applied {
        action,
        status: None,
        recorded,
    }
}

/// Removes every link of `ticket` to `target` of one of `kinds`
/// (follow-up, duplicate, related), each recorded as a `link` event whose
/// `from` is the id and `to` is absent. Returns the kinds removed; refuses
/// when there is none, or the ticket is closed.
pub fn unlink(
    ticket: &mut Ticket,
    target: &TicketId,
    kinds: &[LinkKind],
    actor: &Actor<'_>,
) -> Result<Vec<LinkKind>, ChangeError> {
    let kinds: Vec<LinkKind> = links_of(ticket)
        .into_iter()
        .filter(|(kind, t)| *t == target && kinds.contains(kind))
        .map(|(kind, _)| kind)
        .collect();
    if kinds.is_empty() {
        return Err(ChangeError::Invalid(format!(
            "ticket {} has no link to {target}; `tix show {}` lists its links",
            ticket.id, ticket.id
        )));
    }
    check_not_closed(ticket, actor, "nothing was unlinked")?;
    for kind in &kinds {
        match kind {
            LinkKind::FollowUpOf => ticket.follow_up_of = None,
            LinkKind::DuplicateOf => ticket.duplicate_of = None,
            LinkKind::Related => {
                ticket.related.remove(target);
            }
        }
        let mut e = link_event(actor, *kind);
        e.from = Some(target.to_string());
        ticket.push(e);
    }
    Ok(kinds)
}

/// Tells whether following `duplicate_of` links from `start` (through
/// `next`, which gives a ticket's `duplicate_of`) reaches `wanted`; a cycle
/// that does not include `wanted` ends the walk.
pub fn reaches(
    start: &TicketId,
    wanted: &TicketId,
    next: &mut dyn FnMut(&TicketId) -> Option<TicketId>,
) -> bool {
    let mut seen = BTreeSet::new();
    let mut at = start.clone();
    loop {
        if at == *wanted {
            return true;
        }
        if !seen.insert(at.clone()) {
            return false;
        }
        match next(&at) {
            Some(following) => at = following,
            None => return false,
        }
    }
}

/// Where mail for `start` goes: follows `next` (a ticket closed as a
/// duplicate gives the ticket it duplicates) to the first ticket that
/// hands nothing on. A cycle (a broken desk, which `tix doctor` reports)
/// leaves the mail on `start`.
pub fn surviving(
    start: &TicketId,
    next: &mut dyn FnMut(&TicketId) -> Option<TicketId>,
) -> TicketId {
    let mut seen = BTreeSet::new();
    let mut at = start.clone();
    loop {
        if !seen.insert(at.clone()) {
            return start.clone();
        }
        match next(&at) {
            Some(following) => at = following,
            None => return at,
        }
    }
}

/// Where a message of the conversation came from, when it was copied into
/// this ticket by a merge: the kind it had (`message` or `note`) and the
/// ticket that holds it (and its files).
pub fn copied_from(event: &Event) -> Option<(&str, &str)> {
    match (event.kind, &event.field, &event.from) {
        (EventKind::Merge, Some(kind), Some(from)) => Some((kind.as_str(), from.as_str())),
        _ => None,
    }
}

/// The ids of the tickets merged into this one, each once, in the order
/// first merged.
pub fn merged_in(ticket: &Ticket) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    let markers = ticket
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Merge && e.field.is_none());
    for id in markers.filter_map(|e| e.from.as_deref()) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// Tells whether an event is part of a conversation a merge moves: a
/// message, a note, or a copy an earlier merge brought.
fn is_conversation(event: &Event) -> bool {
    matches!(event.kind, EventKind::Message | EventKind::Note) || copied_from(event).is_some()
}

/// The copy of a conversation event of `source` in the target: the same
/// author, role, time, text, Message-ID and files, as a `merge` event whose
/// `field` is the kind it had and `from` the ticket that holds it. A copy
/// of a copy keeps naming the ticket it came from first. The recipient is
/// left out: whether that mail was sent is recorded on the source.
fn copy_of(event: &Event, source: &TicketId) -> Event {
    let mut copy = event.clone();
    if copied_from(event).is_none() {
        copy.field = Some(
            match event.kind {
                EventKind::Note => "note",
                _ => "message",
            }
            .to_owned(),
        );
        copy.from = Some(source.to_string());
    }
    copy.kind = EventKind::Merge;
    copy.recipient = None;
    copy
}

/// What a merge did to each ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The source's change: closed as a duplicate.
    pub source: Applied,
    /// The target's change: the conversation appended.
    pub target: Applied,
    /// How many messages and notes were copied.
    pub copied: usize,
}

/// Merges `source` into `target`: the source's conversation is appended
/// to the target (messages and notes a merge copied before are not copied
/// again), with a `merge` event and an internal note; the source gets a
/// note, `duplicate_of = target` and is closed. Refuses a merge into
/// itself, a source merged already (closed as a duplicate), a closed source
/// or target, and a target that is a duplicate of the source; the desk
/// checks longer `duplicate_of` chains with [`reaches`].
pub fn merge(
    source: &mut Ticket,
    target: &mut Ticket,
    actor: &Actor<'_>,
) -> Result<Merged, ChangeError> {
    let (s, t) = (source.id.clone(), target.id.clone());
    if s == t {
        return Err(ChangeError::Invalid(format!(
            "cannot merge ticket {s} into itself"
        )));
    }
    if let Some(into) = &source.duplicate_of
        && source.summary(actor.statuses).category == Some(Category::Closed)
    {
        return Err(ChangeError::Invalid(format!(
            "ticket {s} is closed as a duplicate of {into} already; to merge it again, \
             `tix reopen {s}` first"
        )));
    }
    if target.duplicate_of.as_ref() == Some(&s) {
        return Err(cycle(&s, &t));
    }
    check_not_closed(source, actor, "nothing was merged")?;
    check_not_closed(
        target,
        actor,
        "nothing was merged (or merge the other way round)",
    )?;
    let (mut source_draft, mut target_draft) = (source.clone(), target.clone());
    let copies: Vec<Event> = source
        .events
        .iter()
        .filter(|e| is_conversation(e))
        .map(|e| copy_of(e, &s))
        .filter(|copy| !target.events.contains(copy))
        .collect();
    let copied = copies.len();
    let before = target.events.len();
    target_draft.events.extend(copies);
    let mut marker = Event::new(actor.now, actor.id, actor.role, EventKind::Merge);
    marker.from = Some(s.to_string());
    target_draft.push(marker);
    let note = format!(
        "Ticket {s} ({}) was merged into this ticket: {copied} message(s) appended.\n",
        one_line(&source.subject)
    );
    change::apply(&mut target_draft, &Change::Note { body: note }, actor)?;
    let target_applied = applied("merge", target_draft.events.len() - before);

    let before = source.events.len();
    let note = format!(
        "Merged into ticket {t} ({}), which continues the conversation.\n",
        one_line(&target.subject)
    );
    change::apply(&mut source_draft, &Change::Note { body: note }, actor)?;
    if source_draft.duplicate_of.as_ref() != Some(&t) {
        link(&mut source_draft, LinkKind::DuplicateOf, &t, actor)?;
    }
    let close = Change::Close {
        force: true,
        reason: Some(merged_reason(&t)),
    };
    let closed = change::apply(&mut source_draft, &close, actor)?;
    let source_applied = Applied {
        action: "merge",
        status: closed.status,
        recorded: source_draft.events.len() - before,
    };
    *source = source_draft;
    *target = target_draft;
    Ok(Merged {
        source: source_applied,
        target: target_applied,
        copied,
    })
}

/// The refusal of a merge whose target is a duplicate of the source.
pub fn cycle(source: &TicketId, target: &TicketId) -> ChangeError {
    ChangeError::Invalid(format!(
        "ticket {target} is a duplicate of {source}: merging {source} into it would make a \
         cycle; merge {target} into {source} instead"
    ))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What `tix doctor` reads of a ticket's links.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Links {
    /// `follow_up_of`.
    pub follow_up_of: Option<TicketId>,
    /// `duplicate_of`.
    pub duplicate_of: Option<TicketId>,
    /// `related`.
    pub related: BTreeSet<TicketId>,
}

impl Links {
    /// The links of a ticket; `None` when it has none.
    pub fn of(ticket: &Ticket) -> Option<Self> {
        let links = Self {
            follow_up_of: ticket.follow_up_of.clone(),
            duplicate_of: ticket.duplicate_of.clone(),
            related: ticket.related.clone(),
        };
        (links != Self::default()).then_some(links)
    }
}

/// One problem with a ticket's links: the ticket, the key it is about,
/// and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkProblem {
    /// The ticket whose file holds the link.
    pub id: TicketId,
    /// The key in that file.
    pub kind: LinkKind,
    /// What is wrong.
    pub message: String,
}

/// Checks the links of a desk: `linked` holds the links of every ticket
/// that has any, `exists` tells whether an id is a ticket of the desk.
/// Finds links to tickets that do not exist, tickets linked to themselves,
/// `duplicate_of` cycles (reported once, on the smallest id of the cycle)
/// and related links the other ticket does not list back.
pub fn problems(
    linked: &BTreeMap<TicketId, Links>,
    exists: &dyn Fn(&TicketId) -> bool,
) -> Vec<LinkProblem> {
    let mut found = Vec::new();
    for (id, links) in linked {
        let all = links
            .follow_up_of
            .iter()
            .map(|t| (LinkKind::FollowUpOf, t))
            .chain(
                links
                    .duplicate_of
                    .iter()
                    .map(|t| (LinkKind::DuplicateOf, t)),
            )
            .chain(links.related.iter().map(|t| (LinkKind::Related, t)));
        for (kind, target) in all {
            let message = if target == id {
                format!("{} names the ticket itself", kind.as_str())
            } else if !exists(target) {
                format!(
                    "{} names ticket {target}, which does not exist; remove it with \
                     `tix link {id} --unlink {target}`",
                    kind.as_str()
                )
            } else if kind == LinkKind::Related
                && !linked.get(target).is_some_and(|l| l.related.contains(id))
            {
                format!(
                    "related names ticket {target}, which does not list {id} back; \
                     `tix link {id} --related {target}` links both"
                )
            } else {
                continue;
            };
            found.push(LinkProblem {
                id: id.clone(),
                kind,
                message,
            });
        }
        if let Some(chain) = duplicate_cycle(linked, id) {
            found.push(LinkProblem {
                id: id.clone(),
                kind: LinkKind::DuplicateOf,
                message: format!(
                    "duplicate_of makes a cycle: {}; unlink one of them",
                    chain.join(" -> ")
                ),
            });
        }
    }
    found
}

/// The `duplicate_of` cycle through `start`, as the ids around it back to
/// `start`, when `start` is the smallest id of a cycle of two or more
/// tickets (a ticket that is a duplicate of itself is reported as such).
fn duplicate_cycle(linked: &BTreeMap<TicketId, Links>, start: &TicketId) -> Option<Vec<String>> {
    let mut chain = vec![start.to_string()];
    let mut seen = BTreeSet::from([start.clone()]);
    let mut at = start;
    loop {
        let next = linked.get(at)?.duplicate_of.as_ref()?;
        if next == start {
            chain.push(start.to_string());
            return (chain.len() > 2).then_some(chain);
        }
        if next < start || !seen.insert(next.clone()) {
            return None;
        }
        chain.push(next.to_string());
        at = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::change::NewTicket;
    use crate::domain::lifecycle::Statuses;
    use crate::model::{Customer, Role, Timestamp};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn id(text: &str) -> TicketId {
        text.parse().unwrap()
    }

    fn actor<'a>(statuses: &'a Statuses, now: &str) -> Actor<'a> {
        Actor {
            id: "ana@desk",
            role: Role::Agent,
            now: at(now),
            statuses,
        }
    }

    fn ticket(statuses: &Statuses, name: &str, body: &str) -> Ticket {
        let new = NewTicket {
            subject: format!("Ticket {name}"),
            body: Some(body.to_owned()),
            customer: Customer {
                email: Some(format!("{name}@ex.com")),
                ..Customer::default()
            },
            ..NewTicket::default()
        };
        change::create(id(name), new, &actor(statuses, "2025-03-03T09:00:00Z"))
            .unwrap()
            .0
    }

    fn apply(statuses: &Statuses, t: &mut Ticket, change: Change, now: &str) {
        change::apply(t, &change, &actor(statuses, now)).unwrap();
    }

    #[test]
    fn a_duplicate_link_replaces_the_old_one_and_records_both_ids() {
        let statuses = Statuses::builtin();
        let mut a = ticket(&statuses, "aaaaaa", "x");
        let now = actor(&statuses, "2025-03-03T10:00:00Z");
        link(&mut a, LinkKind::DuplicateOf, &id("bbbbbb"), &now).unwrap();
        link(&mut a, LinkKind::DuplicateOf, &id("cccccc"), &now).unwrap();
        assert_eq!(a.duplicate_of, Some(id("cccccc")));
        let last = a.events.last().unwrap();
        assert_eq!(last.kind, EventKind::Link);
        assert_eq!(last.field.as_deref(), Some("duplicate_of"));
        assert_eq!(last.from.as_deref(), Some("bbbbbb"));
        assert_eq!(last.to.as_deref(), Some("cccccc"));
    }

    #[test]
    fn linking_to_itself_twice_or_when_closed_is_refused_and_changes_nothing() {
        let statuses = Statuses::builtin();
        let mut a = ticket(&statuses, "aaaaaa", "x");
        let now = actor(&statuses, "2025-03-03T10:00:00Z");
        let err = link(&mut a, LinkKind::Related, &id("aaaaaa"), &now).unwrap_err();
        assert!(err.to_string().contains("itself"), "{err}");
        link(&mut a, LinkKind::Related, &id("bbbbbb"), &now).unwrap();
        let before = a.clone();
        let err = link(&mut a, LinkKind::Related, &id("bbbbbb"), &now).unwrap_err();
        assert!(matches!(err, ChangeError::NoChange(_)), "{err}");
        assert_eq!(a, before);
        let close = Change::Close {
            force: true,
            reason: Some("spam".into()),
        };
        apply(&statuses, &mut a, close, "2025-03-03T11:00:00Z");
        let before = a.clone();
        let err = link(&mut a, LinkKind::DuplicateOf, &id("cccccc"), &now).unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
        let err = unlink(&mut a, &id("bbbbbb"), &LinkKind::ALL, &now).unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
        assert_eq!(a, before);
    }

    #[test]
    fn unlink_removes_every_link_to_the_id_and_refuses_when_there_is_none() {
        let statuses = Statuses::builtin();
        let mut a = ticket(&statuses, "aaaaaa", "x");
        let now = actor(&statuses, "2025-03-03T10:00:00Z");
        link(&mut a, LinkKind::DuplicateOf, &id("bbbbbb"), &now).unwrap();
        link(&mut a, LinkKind::Related, &id("bbbbbb"), &now).unwrap();
        link(&mut a, LinkKind::Related, &id("cccccc"), &now).unwrap();
        let removed = unlink(&mut a, &id("bbbbbb"), &LinkKind::ALL, &now).unwrap();
        assert_eq!(removed, [LinkKind::DuplicateOf, LinkKind::Related]);
        assert_eq!(a.duplicate_of, None);
        assert_eq!(a.related, BTreeSet::from([id("cccccc")]));
        let last = a.events.last().unwrap();
        assert_eq!(
            (
                last.field.as_deref(),
                last.from.as_deref(),
                last.to.as_deref()
            ),
            (Some("related"), Some("bbbbbb"), None)
        );
        let err = unlink(&mut a, &id("bbbbbb"), &LinkKind::ALL, &now).unwrap_err();
        assert!(err.to_string().contains("no link to bbbbbb"), "{err}");
    }

    #[test]
    fn chains_are_followed_without_looping() {
        let links: BTreeMap<TicketId, TicketId> = [
            (id("aaaaaa"), id("bbbbbb")),
            (id("bbbbbb"), id("cccccc")),
            (id("dddddd"), id("eeeeee")),
            (id("eeeeee"), id("dddddd")),
        ]
        .into();
        let mut next = |t: &TicketId| links.get(t).cloned();
        assert_eq!(surviving(&id("aaaaaa"), &mut next), id("cccccc"));
        assert_eq!(surviving(&id("cccccc"), &mut next), id("cccccc"));
        assert_eq!(surviving(&id("dddddd"), &mut next), id("dddddd"));
        assert!(reaches(&id("aaaaaa"), &id("cccccc"), &mut next));
        assert!(!reaches(&id("cccccc"), &id("aaaaaa"), &mut next));
        assert!(!reaches(&id("dddddd"), &id("aaaaaa"), &mut next));
        assert!(reaches(&id("eeeeee"), &id("dddddd"), &mut next));
    }

    fn merged_pair(statuses: &Statuses) -> (Ticket, Ticket) {
        let mut source = ticket(statuses, "ssssss", "My printer smokes");
        apply(
            statuses,
            &mut source,
            Change::Reply {
                body: "Unplug it".into(),
                resolve: false,
            },
            "2025-03-03T10:00:00Z",
        );
        apply(
            statuses,
            &mut source,
            Change::Note {
                body: "Known fuser issue".into(),
            },
            "2025-03-03T10:05:00Z",
        );
        let mut target = ticket(statuses, "tttttt", "Printer broken");
        let now = actor(statuses, "2025-03-04T09:00:00Z");
        let merged = merge(&mut source, &mut target, &now).unwrap();
        assert_eq!(merged.copied, 3);
        (source, target)
    }

    #[test]
    fn merge_appends_the_conversation_as_copies_that_count_for_nothing() {
        let statuses = Statuses::builtin();
        let untouched = ticket(&statuses, "tttttt", "Printer broken");
        let (source, target) = merged_pair(&statuses);
        let copies: Vec<&Event> = target
            .events
            .iter()
            .filter(|e| copied_from(e).is_some())
            .collect();
        let kinds: Vec<(&str, &str)> = copies.iter().filter_map(|e| copied_from(e)).collect();
        assert_eq!(
            kinds,
            [
                ("message", "ssssss"),
                ("message", "ssssss"),
                ("note", "ssssss")
            ]
        );
        assert_eq!(copies[0].actor, "ssssss@ex.com");
        assert_eq!(copies[0].role, Role::Customer);
        assert_eq!(copies[0].at, at("2025-03-03T09:00:00Z"));
        assert_eq!(copies[1].body.as_deref(), Some("Unplug it"));
        assert_eq!(merged_in(&target), ["ssssss"]);
        // The copies change none of the target's derived state but its
        // last update.
        let (mine, before) = (target.summary(&statuses), untouched.summary(&statuses));
        assert_eq!(mine.status, before.status);
        assert_eq!(mine.first_reply, None);
        assert_eq!(mine.replies, 0);
        assert_eq!(mine.last_customer, before.last_customer);
        assert_eq!(mine.updated, Some(at("2025-03-04T09:00:00Z")));
        let last = target.events.last().unwrap();
        assert_eq!(last.kind, EventKind::Note);
        assert!(last.body.as_deref().unwrap().contains("ssssss"));

        assert_eq!(source.duplicate_of, Some(id("tttttt")));
        let summary = source.summary(&statuses);
        assert_eq!(summary.status, "closed");
        let close = source.events.last().unwrap();
        assert_eq!(close.reason.as_deref(), Some("merged into tttttt"));
    }

    #[test]
    fn a_merge_is_refused_into_itself_twice_in_a_cycle_or_into_a_closed_ticket() {
        let statuses = Statuses::builtin();
        let now = actor(&statuses, "2025-03-04T09:00:00Z");
        let (mut source, mut target) = merged_pair(&statuses);
        let (s0, t0) = (source.clone(), target.clone());
        let err = merge(&mut source, &mut target, &now).unwrap_err();
        assert!(err.to_string().contains("already"), "{err}");
        let mut other = ticket(&statuses, "pppppp", "x");
        let err = merge(&mut other.clone(), &mut other, &now).unwrap_err();
        assert!(err.to_string().contains("itself"), "{err}");
        let err = merge(&mut other, &mut source, &now).unwrap_err();
        assert!(err.to_string().contains("closed"), "{err}");
        assert_eq!((source, target), (s0, t0));

        let mut a = ticket(&statuses, "aaaaaa", "x");
        let mut b = ticket(&statuses, "bbbbbb", "y");
        link(&mut b, LinkKind::DuplicateOf, &id("aaaaaa"), &now).unwrap();
        let err = merge(&mut a, &mut b, &now).unwrap_err();
        assert!(err.to_string().contains("cycle"), "{err}");
    }

    #[test]
    fn merging_a_reopened_source_again_copies_only_what_is_new() {
        let statuses = Statuses::builtin();
        let (mut source, mut target) = merged_pair(&statuses);
        let reopen = Change::Reopen { reason: None };
        apply(&statuses, &mut source, reopen, "2025-03-05T09:00:00Z");
        let reply = Change::CustomerReply {
            body: "Still smoking".into(),
        };
        apply(&statuses, &mut source, reply, "2025-03-05T10:00:00Z");
        let now = actor(&statuses, "2025-03-05T11:00:00Z");
        let merged = merge(&mut source, &mut target, &now).unwrap();
        // The new customer message and the first merge's note on the source.
        assert_eq!(merged.copied, 2);
        assert_eq!(merged_in(&target), ["ssssss"]);
        let markers = target.events.iter().filter(|e| e.kind == EventKind::Merge);
        assert_eq!(markers.filter(|e| e.field.is_none()).count(), 2);
    }

    #[test]
    fn a_copy_of_a_copy_names_the_ticket_it_came_from_first() {
        let statuses = Statuses::builtin();
        let (_, mut middle) = merged_pair(&statuses);
        let mut last = ticket(&statuses, "mmmmmm", "z");
        let now = actor(&statuses, "2025-03-06T09:00:00Z");
        merge(&mut middle, &mut last, &now).unwrap();
        let from: BTreeSet<&str> = last
            .events
            .iter()
            .filter_map(copied_from)
            .map(|(_, from)| from)
            .collect();
        assert_eq!(from, BTreeSet::from(["ssssss", "tttttt"]));
    }

    fn linked(pairs: &[(&str, Links)]) -> BTreeMap<TicketId, Links> {
        pairs.iter().map(|(i, l)| (id(i), l.clone())).collect()
    }

    fn dup(of: &str) -> Links {
        Links {
            duplicate_of: Some(id(of)),
            ..Links::default()
        }
    }

    #[test]
    fn doctor_finds_missing_self_one_sided_and_cyclic_links() {
        let related = |ids: &[&str]| Links {
            related: ids.iter().map(|i| id(i)).collect(),
            ..Links::default()
        };
        let desk = linked(&[
            ("aaaaaa", dup("bbbbbb")),
            ("bbbbbb", dup("cccccc")),
            ("cccccc", dup("aaaaaa")),
            ("dddddd", dup("dddddd")),
            ("eeeeee", related(&["ffffff", "zzzzzz"])),
            ("ffffff", related(&["eeeeee"])),
            ("gggggg", related(&["ffffff"])),
        ]);
        let exists = |t: &TicketId| t.as_str() != "zzzzzz";
        let found: Vec<(String, String)> = problems(&desk, &exists)
            .into_iter()
            .map(|p| (p.id.to_string(), p.message))
            .collect();
        assert_eq!(found.len(), 4, "{found:#?}");
        assert_eq!(found[0].0, "aaaaaa");
        assert!(
            found[0].1.contains("aaaaaa -> bbbbbb -> cccccc -> aaaaaa"),
            "{found:#?}"
        );
        assert!(found[1].1.contains("itself"), "{found:#?}");
        assert_eq!(found[1].0, "dddddd");
        assert!(
            found[2].1.contains("zzzzzz, which does not exist"),
            "{found:#?}"
        );
        assert_eq!(found[3].0, "gggggg");
        assert!(
            found[3].1.contains("does not list gggggg back"),
            "{found:#?}"
        );
    }

    #[test]
    fn a_chain_into_a_cycle_is_reported_once() {
        let desk = linked(&[
            ("aaaaaa", dup("bbbbbb")),
            ("bbbbbb", dup("cccccc")),
            ("cccccc", dup("bbbbbb")),
        ]);
        let found = problems(&desk, &|_| true);
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(found[0].id, id("bbbbbb"));
    }
}
