//! Linking tickets and merging one into another (docs/guide.md, "Links
//! and merges"): each is one commit. A link that belongs to two tickets (a
//! related link both list, a merge) is one commit of both files
//! ([`crate::store::Store::update_many`]), so no moment in history holds
//! half of it and a killed process leaves both as they were or both done.

use crate::domain::change::{Actor, Applied, ChangeError};
use crate::domain::link::{self, LinkKind};
use crate::model::{Role, Ticket, TicketId, Timestamp};
use crate::store::{Writes, layout};

use super::commit::commit_message_with;
use super::read::parse_ticket;
use super::{Agent, Desk, Error};

/// A change of two tickets: what it did to each.
type PairEdit<'a> =
    dyn Fn(&mut Ticket, &mut Ticket) -> Result<(Applied, Applied), ChangeError> + 'a;

/// What `tix link` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkRequest {
    /// Mark the ticket a duplicate of this one (an id prefix).
    DuplicateOf(String),
    /// Relate the two tickets, both ways.
    Related(String),
    /// Remove every link between the two tickets.
    Unlink(String),
}

/// A committed link, unlink or merge.
#[derive(Debug)]
pub struct Linked {
    /// Each ticket of the commit, as committed, with what the change did
    /// to it (`recorded` is 0 for a ticket it left as it was): the ticket
    /// named first (the source of a merge) first.
    pub tickets: Vec<(Ticket, Applied)>,
    /// The other ticket named: the one linked to or unlinked from, or the
    /// target of a merge.
    pub other: TicketId,
    /// For a merge: how many messages and notes were copied.
    pub copied: usize,
    /// One message per hook that failed (the change stays committed).
    pub hook_failures: Vec<String>,
}

impl Desk {
    /// Links, or unlinks, the ticket `prefix` names, in one commit; a
    /// related link (or its removal) changes both tickets in that commit.
    pub fn link(
        &self,
        prefix: &str,
        request: &LinkRequest,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Linked, Error> {
        let id = self.resolve(prefix)?;
        let (kind, other) = match request {
            LinkRequest::DuplicateOf(other) => (Some(LinkKind::DuplicateOf), other),
            LinkRequest::Related(other) => (Some(LinkKind::Related), other),
            LinkRequest::Unlink(other) => (None, other),
        };
        let other = self.link_target(&id, other, kind.is_none())?;
        let actor = self.link_actor(agent, now);
        let done = match kind {
            Some(LinkKind::DuplicateOf) => {
                let mut next = |t: &TicketId| self.ticket(t).ok()?.duplicate_of;
                if other != id && link::reaches(&other, &id, &mut next) {
                    return Err(ChangeError::Invalid(format!(
                        "ticket {other} is a duplicate of {id} (through duplicate_of links): \
                         marking {id} a duplicate of it would make a cycle"
                    ))
                    .into());
                }
                let detail = format!("duplicate_of {other}");
                self.change_one(&id, &detail, agent, now, &|ticket| {
                    link::link(ticket, LinkKind::DuplicateOf, &other, &actor)
                })?
            }
            Some(kind) => {
                let detail = format!("{} {other}", kind.as_str());
                self.change_pair(&id, &other, &detail, agent, now, &|a, b| {
                    link_both(a, b, kind, &actor)
                })?
            }
            None => self.unlink(&id, &other, &actor, agent, now)?,
        };
        Ok(self.after_link(done, other, 0))
    }

    /// Resolves the other ticket of a link: it must exist, except for an
    /// unlink, which also removes a link to a ticket that is gone.
    fn link_target(&self, id: &TicketId, prefix: &str, unlink: bool) -> Result<TicketId, Error> {
        match self.resolve(prefix) {
            Ok(other) => Ok(other),
            Err(Error::Store(crate::store::Error::NotFound(_))) if unlink => {
                let other: TicketId = crate::model::normalise_prefix(prefix)
                    .ok()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| crate::store::Error::NotFound(prefix.to_owned()))?;
                let ticket = self.ticket(id)?;
                if link::links_of(&ticket).iter().any(|(_, t)| **t == other) {
                    Ok(other)
                } else {
                    Err(crate::store::Error::NotFound(prefix.to_owned()).into())
                }
            }
            Err(err) => Err(err),
        }
    }

    /// Removes every link between `id` and `other`: `other`'s related link
    /// back goes in the same commit.
    fn unlink(
        &self,
        id: &TicketId,
        other: &TicketId,
        actor: &Actor<'_>,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Vec<(Ticket, Applied)>, Error> {
        // A link of a ticket to itself (a hand edit) is one file's.
        let back = other != id
            && self.store.contains(other)?
            && self.ticket(other)?.related.contains(id)
            && self.ticket(id)?.related.contains(other);
        let unlink = |ticket: &mut Ticket, target: &TicketId, kinds: &[LinkKind]| {
            let removed = link::unlink(ticket, target, kinds, actor)?;
            Ok::<_, ChangeError>(applied("unlink", removed.len()))
        };
        let detail = other.to_string();
        if back {
            self.change_pair(id, other, &detail, agent, now, &|a, b| {
                Ok((
                    unlink(a, other, &LinkKind::ALL)?,
                    unlink(b, id, &[LinkKind::Related])?,
                ))
            })
        } else {
            self.change_one(id, &detail, agent, now, &|ticket| {
                unlink(ticket, other, &LinkKind::ALL)
            })
        }
    }

    /// Merges the ticket `source` names into the one `target` names, in
    /// one commit of both: the source's conversation appended to the
    /// target, the source closed as its duplicate, a note on each.
    pub fn merge(
        &self,
        source: &str,
        target: &str,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Linked, Error> {
        let source = self.resolve(source)?;
        let target = self.resolve(target)?;
        if source == target {
            return Err(
                ChangeError::Invalid(format!("cannot merge ticket {source} into itself")).into(),
            );
        }
        let mut next = |t: &TicketId| self.ticket(t).ok()?.duplicate_of;
        if link::reaches(&target, &source, &mut next) {
            return Err(link::cycle(&source, &target).into());
        }
        let actor = self.link_actor(agent, now);
        let copied = std::cell::Cell::new(0);
        let detail = format!("into {target}");
        let done = self.change_pair(&source, &target, &detail, agent, now, &|s, t| {
            let merged = link::merge(s, t, &actor)?;
            copied.set(merged.copied);
            Ok((merged.source, merged.target))
        })?;
        Ok(self.after_link(done, target, copied.get()))
    }

    /// The actor of a link or merge by `agent`.
    fn link_actor<'a>(&'a self, agent: &'a Agent, now: Timestamp) -> Actor<'a> {
        Actor {
            id: agent.id(),
            role: Role::Agent,
            now,
            statuses: &self.config.statuses,
        }
    }

    /// Changes one ticket in one commit with `edit`; `detail` follows the
    /// action in the commit's subject line.
    fn change_one(
        &self,
        id: &TicketId,
        detail: &str,
        agent: &Agent,
        now: Timestamp,
        edit: &dyn Fn(&mut Ticket) -> Result<Applied, ChangeError>,
    ) -> Result<Vec<(Ticket, Applied)>, Error> {
        let path = layout::ticket_path(id);
        let mut result = None;
        self.store
            .update(id, false, &agent.signature(now), |text| {
                let mut ticket = parse_ticket(&path, text.unwrap_or_default(), Some(id))?;
                let applied = edit(&mut ticket)?;
                let write = crate::store::Write {
                    content: ticket.to_toml(&self.config.statuses),
                    message: commit_message_with(&ticket, &applied, detail, &[]),
                    files: Vec::new(),
                };
                result = Some((ticket, applied));
                Ok::<_, Error>(write)
            })?;
        Ok(result.into_iter().collect())
    }

    /// Changes two tickets in one commit with `edit`; `detail` follows the
    /// action in the commit's subject line (the first ticket's).
    fn change_pair(
        &self,
        first: &TicketId,
        second: &TicketId,
        detail: &str,
        agent: &Agent,
        now: Timestamp,
        edit: &PairEdit<'_>,
    ) -> Result<Vec<(Ticket, Applied)>, Error> {
        let ids = [first.clone(), second.clone()];
        let mut result = Vec::new();
        self.store
            .update_many(&ids, &agent.signature(now), |texts| {
                let parse = |i: usize| {
                    parse_ticket(&layout::ticket_path(&ids[i]), &texts[i], Some(&ids[i]))
                };
                let (mut a, mut b) = (parse(0)?, parse(1)?);
                let (applied_a, applied_b) = edit(&mut a, &mut b)?;
                let message = commit_message_with(&a, &applied_a, detail, &[second]);
                // A side the change left as it was keeps its bytes.
                let content = |ticket: &Ticket, applied: &Applied, i: usize| {
                    if applied.recorded == 0 {
                        texts[i].clone()
                    } else {
                        ticket.to_toml(&self.config.statuses)
                    }
                };
                let writes = Writes {
                    contents: vec![content(&a, &applied_a, 0), content(&b, &applied_b, 1)],
                    message,
                };
                result = vec![(a, applied_a), (b, applied_b)];
                Ok::<_, Error>(writes)
            })?;
        Ok(result)
    }

    /// Runs the hooks each changed ticket's events raise.
    fn after_link(
        &self,
        tickets: Vec<(Ticket, Applied)>,
        other: TicketId,
        copied: usize,
    ) -> Linked {
        let hook_failures = tickets
            .iter()
            .filter(|(_, applied)| applied.recorded > 0)
            .flat_map(|(ticket, applied)| self.run_hooks_for_change(ticket, applied, false, &[]))
            .collect();
        Linked {
            tickets,
            other,
            copied,
            hook_failures,
        }
    }
}

/// Links `a` and `b` both ways with a link of `kind`, each side that does
/// not have it yet; refuses when both have it.
fn link_both(
    a: &mut Ticket,
    b: &mut Ticket,
    kind: LinkKind,
    actor: &Actor<'_>,
) -> Result<(Applied, Applied), ChangeError> {
    let (a_id, b_id) = (a.id.clone(), b.id.clone());
    let one = |ticket: &mut Ticket, other: &TicketId| match link::link(ticket, kind, other, actor) {
        Ok(applied) => Ok(applied),
        Err(ChangeError::NoChange(_)) => Ok(applied("link", 0)),
        Err(err) => Err(err),
    };
    let first = one(a, &b_id)?;
    let second = one(b, &a_id)?;
    if first.recorded == 0 && second.recorded == 0 {
        return Err(ChangeError::NoChange(format!(
            "tickets {a_id} and {b_id} are related already"
        )));
    }
    Ok((first, second))
}

fn applied(action: &'static str, recorded: usize) -> Applied {
    Applied {
        action,
        status: None,
        recorded,
    }
}
