//! Listing tickets: the filters, views and sort orders of `tix list`
//! (docs/guide.md, "Finding tickets" and "Views").
//!
//! A [`ListQuery`] says which tickets and in what order, as plain values;
//! [`Desk::list`] picks them from the cached summaries, so only tickets
//! whose files changed since the last run are parsed, and only a text
//! search reads whole tickets. Each row is made by the caller's `make` as
//! it is read, so a listing keeps of each ticket only what it shows.

use crate::domain::entry::ListEntry;
use crate::domain::filter::{Filter, KeyProblem, Selection, View};
use crate::domain::lifecycle::Category;
use crate::model::{Priority, TicketId, Timestamp};

use super::read::Clocks;
use super::{Agent, Desk, Error, Problem};

/// How to order a listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Most recently updated first.
    #[default]
    Updated,
    /// Oldest first.
    Created,
    /// Most urgent first.
    Priority,
    /// In lifecycle order (new first).
    Status,
    /// By id.
    Id,
    /// By subject.
    Subject,
}

/// Which tickets a listing shows, and in what order: the filter of a
/// view, if one is named, narrowed by the filter the flags give
/// ([`Filter::overridden_by`] says how they combine).
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// The view (`--view NAME`).
    pub view: Option<View>,
    /// The filter of the flags.
    pub filter: Filter,
    /// The acting agent, when a filter asks for `me`.
    pub me: Option<Agent>,
    /// The order.
    pub sort: SortKey,
    /// Reverse the order.
    pub reverse: bool,
    /// At most this many rows.
    pub limit: Option<usize>,
}

/// The rows of a listing, and the ticket files that could not be read.
#[derive(Debug)]
pub struct Listing<T> {
    /// The rows, filtered, sorted and limited.
    pub rows: Vec<T>,
    /// Ticket files that do not load (`tix doctor` tells more).
    pub problems: Vec<Problem>,
    /// Whether closed tickets were left out without being looked at (the
    /// query can select none).
    pub closed_left_out: bool,
}

impl Desk {
    /// Lists the tickets `query` selects at `now`, each made into a row by
    /// `make` as it is read.
    pub fn list<T: Row>(
        &self,
        query: &ListQuery,
        now: Timestamp,
        make: impl Fn(ListEntry) -> T,
    ) -> Result<Listing<T>, Error> {
        let me = query.me.as_ref().map(names_of);
        let selection = self.selection(query.view.as_ref(), &query.filter, me, now)?;
        let closed_too = selection.may_show_closed();
        let keep = |category: Option<Category>| category != Some(Category::Closed) || closed_too;
        // A listing neither shows nor filters nor sorts by a clock.
        let (mut rows, problems) = self.entries_with(&keep, Clocks::Skipped, |entry| {
            selection.matches(&entry).then(|| make(entry))
        })?;
        self.arrange(query, &selection, &mut rows)?;
        Ok(Listing {
            rows,
            problems,
            closed_left_out: !closed_too,
        })
    }

    /// Returns the view `tix.toml` defines under `name`, or refuses with
    /// the names it does define.
    pub fn view(&self, name: &str) -> Result<&View, Error> {
        let views = &self.config.views;
        views.iter().find(|v| v.name == name).ok_or_else(|| {
            let known: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
            Error::Request(if known.is_empty() {
                format!("unknown view '{name}': tix.toml defines no views (add a [[view]])")
            } else {
                format!(
                    "unknown view '{name}': tix.toml defines {}",
                    known.join(", ")
                )
            })
        })
    }

    /// Checks a view (if any) and the filter of the flags, the view
    /// without the keys the flags replace, against the desk and reads
    /// their times at `now`. `me` lists the names of the agent a `me`
    /// filter means; without it such a filter is refused.
    pub(super) fn selection(
        &self,
        view: Option<&View>,
        flags: &Filter,
        me: Option<Vec<String>>,
        now: Timestamp,
    ) -> Result<Selection, Error> {
        let config = &self.config;
        let check = |filter: &Filter, name: &dyn Fn(&KeyProblem) -> String| {
            if filter.needs_me() && me.is_none() {
                return Err(Error::from(crate::store::Error::NoIdentity));
            }
            filter
                .check(&config.statuses, &config.fields, now)
                .map_err(|problems| {
                    let first = &problems[0];
                    Error::Request(format!("{}: {}", name(first), first.message))
                })
        };
        let mut parts = Vec::new();
        if let Some(view) = view {
            let left = view.filter.overridden_by(flags);
            parts.push(check(&left, &|p| {
                format!("view '{}': key 'when.{}'", view.name, p.key)
            })?);
        }
        // Tickets record an agent's address: a name given to --assignee
        // (or a part of a name or address only one agent's holds) means
        // that agent's address, as it does in a view. Text no agent of
        // tix.toml answers to is matched as it is (a former agent's
        // address); a part several agents share is refused.
        let mut flags = flags.clone();
        if let Some(who) = flags.assignee.as_mut()
            && !matches!(who.as_str(), "me" | "none")
            && let Some(agent) = config.find_agent(who).map_err(Error::Request)?
        {
            agent.email.clone_into(who);
        }
        parts.push(check(&flags, &|p| {
            format!("--{}", p.key.replace('_', "-"))
        })?);
        Ok(Selection::new(parts, me.unwrap_or_default()))
    }

    /// Keeps the rows the text search finds, then sorts, reverses and
    /// limits them.
    fn arrange<T: Row>(
        &self,
        query: &ListQuery,
        selection: &Selection,
        rows: &mut Vec<T>,
    ) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        if selection.searches() {
            // Text search needs the conversation: load only the candidates.
            // Each ticket is searched on the thread that parsed it.
            let ids: Vec<TicketId> = rows.iter().map(|r| r.sort_fields().id.clone()).collect();
            let hits = self.read_all(&ids, &|ticket, _| selection.found_in(&ticket))?;
            let mut hits = hits.into_iter();
            rows.retain(|_| hits.next().unwrap_or(false));
        }
        sort(rows, query.sort);
        if query.reverse {
            rows.reverse();
        }
        if let Some(limit) = query.limit {
            rows.truncate(limit);
        }
        Ok(())
    }
}

/// The names an agent goes by in a ticket's assignee (see [`Agent::is`]).
pub(super) fn names_of(agent: &Agent) -> Vec<String> {
    let mut names = vec![agent.id().to_owned(), agent.name.clone()];
    if !agent.email.is_empty() {
        names.push(agent.email.clone());
    }
    names.dedup();
    names
}

/// What ordering a row needs.
pub struct SortFields<'a> {
    /// The ticket.
    pub id: &'a TicketId,
    /// Its subject (sorted by with [`SortKey::Subject`]).
    pub subject: &'a str,
    /// Its last change.
    pub updated: Option<Timestamp>,
    /// Its creation.
    pub created: Option<Timestamp>,
    /// Its priority.
    pub priority: Priority,
    /// Its status's category.
    pub category: Option<Category>,
}

/// A row of a listing, as sorting sees it.
pub trait Row {
    /// The fields the sort orders use.
    fn sort_fields(&self) -> SortFields<'_>;
}

impl Row for ListEntry {
    fn sort_fields(&self) -> SortFields<'_> {
        SortFields {
            id: &self.id,
            subject: &self.subject,
            updated: self.updated,
            created: self.created,
            priority: self.priority,
            category: self.category,
        }
    }
}

/// An entry reduced to what sorting needs (a tenth of a [`ListEntry`]):
/// a JSON listing's row, which then loads the ticket whole.
pub struct Ranked {
    /// The ticket.
    pub id: TicketId,
    /// Kept only where it is sorted by or shown.
    pub subject: Box<str>,
    /// Its last change.
    pub updated: Option<Timestamp>,
    /// Its creation.
    pub created: Option<Timestamp>,
    /// Its priority.
    pub priority: Priority,
    /// Its status's category.
    pub category: Option<Category>,
}

impl Ranked {
    /// Reduces an entry to what sorting needs, and its subject when
    /// `keep_subject`.
    pub fn of(entry: ListEntry, keep_subject: bool) -> Self {
        Self {
            subject: if keep_subject {
                entry.subject.into()
            } else {
                Box::default()
            },
            id: entry.id,
            updated: entry.updated,
            created: entry.created,
            priority: entry.priority,
            category: entry.category,
        }
    }
}

impl Row for Ranked {
    fn sort_fields(&self) -> SortFields<'_> {
        SortFields {
            id: &self.id,
            subject: &self.subject,
            updated: self.updated,
            created: self.created,
            priority: self.priority,
            category: self.category,
        }
    }
}

fn sort<T: Row>(rows: &mut [T], key: SortKey) {
    use std::cmp::Ordering;
    let category_rank = |row: &SortFields| row.category.map_or(usize::MAX, |c| c as usize);
    let compare = |a: &T, b: &T| -> Ordering {
        let (a, b) = (a.sort_fields(), b.sort_fields());
        match key {
            SortKey::Updated => b.updated.cmp(&a.updated),
            SortKey::Created => a.created.cmp(&b.created),
            SortKey::Priority => b.priority.cmp(&a.priority).then(a.created.cmp(&b.created)),
            SortKey::Status => category_rank(&a).cmp(&category_rank(&b)),
            SortKey::Id => Ordering::Equal,
            SortKey::Subject => a.subject.cmp(b.subject),
        }
        .then(a.id.cmp(b.id))
    };
    // Entries are large: sort their positions, by a key kept beside each
    // position for the time orders (30,000 rows would otherwise be read
    // from all over memory at every comparison), then move each row once.
    let time = |at: Option<Timestamp>| at.map_or(i64::MIN, |t| t.unix());
    // The id's first eight bytes as a number, which orders as they do:
    // times are often shared, and a tie then needs no string compare.
    let id_prefix = |id: &TicketId| {
        let mut bytes = [0u8; 8];
        let id = id.as_str().as_bytes();
        let n = id.len().min(8);
        bytes[..n].copy_from_slice(&id[..n]);
        u64::from_be_bytes(bytes)
    };
    // Two numbers of the order, then the id's first bytes; `None` for the
    // orders that compare text.
    let key = |row: &T| -> Option<(i64, i64, u64)> {
        let row = row.sort_fields();
        let (first, second) = match key {
            SortKey::Updated => (-time(row.updated).saturating_add(1), 0),
            SortKey::Created => (time(row.created), 0),
            SortKey::Priority => (-(row.priority as i64), time(row.created)),
            SortKey::Status => (category_rank(&row) as i64, 0),
            SortKey::Id | SortKey::Subject => return None,
        };
        Some((first, second, id_prefix(row.id)))
    };
    // The time orders: each key made one unsigned number per field (the
    // sign bit flipped keeps the order), so that when every id fits its
    // eight bytes the keys alone give the order, compared as plain words.
    let flip = |n: i64| (n as u64) ^ (1 << 63);
    let words: Option<Vec<(u64, u64, u64, usize)>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| key(row).map(|(a, b, id)| (flip(a), flip(b), id, i)))
        .collect();
    let order: Vec<usize> = if let Some(mut words) = words {
        if rows
            .iter()
            .all(|row| row.sort_fields().id.as_str().len() <= 8)
        {
            words.sort_unstable();
        } else {
            words.sort_unstable_by(|a, b| {
                (a.0, a.1, a.2)
                    .cmp(&(b.0, b.1, b.2))
                    .then_with(|| rows[a.3].sort_fields().id.cmp(rows[b.3].sort_fields().id))
            });
        }
        words.into_iter().map(|(.., i)| i).collect()
    } else {
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_unstable_by(|a, b| compare(&rows[*a], &rows[*b]));
        order
    };
    permute(rows, order);
}

/// Puts `rows[order[k]]` at `k` for every `k`, in place (a copy of 100,000
/// rows would hold them twice), following each cycle of the permutation.
fn permute<T>(rows: &mut [T], mut order: Vec<usize>) {
    for start in 0..order.len() {
        let mut at = start;
        while order[at] != start && order[at] != at {
            let from = order[at];
            rows.swap(at, from);
            order[at] = at;
            at = from;
        }
        order[at] = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each order sorts as its comparison says, ids of more than eight
    /// characters (which the keys cannot tell apart) and shared times
    /// included.
    #[test]
    fn every_order_sorts_as_its_comparison() {
        let mut rng = fastrand::Rng::with_seed(5);
        let alphabet: Vec<char> = "0123456789abcdefghjkmnpqrstvwxyz".chars().collect();
        for long in [false, true] {
            let spec: Vec<_> = (0..500)
                .map(|n| {
                    let len = if long {
                        rng.usize(2..12)
                    } else {
                        rng.usize(2..9)
                    };
                    // Long ids share their first eight characters often.
                    let start = if long && rng.bool() { "abcdefgh" } else { "" };
                    let rest: String = (start.len()..len)
                        .map(|_| alphabet[rng.usize(..alphabet.len())])
                        .collect();
                    let time = |rng: &mut fastrand::Rng| {
                        (rng.u8(..4) > 0).then(|| Timestamp::from_unix(rng.i64(0..5)).unwrap())
                    };
                    (
                        format!("{start}{rest}{n}"),
                        ["b", "a", "c"][rng.usize(..3)],
                        time(&mut rng),
                        time(&mut rng),
                        Priority::ALL[rng.usize(..4)],
                    )
                })
                .collect();
            let rows = || -> Vec<Ranked> {
                spec.iter()
                    .map(|(id, subject, updated, created, priority)| Ranked {
                        id: id.parse().unwrap(),
                        subject: (*subject).into(),
                        updated: *updated,
                        created: *created,
                        priority: *priority,
                        category: None,
                    })
                    .collect()
            };
            for key in [
                SortKey::Updated,
                SortKey::Created,
                SortKey::Priority,
                SortKey::Status,
                SortKey::Id,
                SortKey::Subject,
            ] {
                let mut sorted = rows();
                sort(&mut sorted, key);
                for pair in sorted.windows(2) {
                    let (a, b) = (pair[0].sort_fields(), pair[1].sort_fields());
                    let order = match key {
                        SortKey::Updated => b.updated.cmp(&a.updated),
                        SortKey::Created => a.created.cmp(&b.created),
                        SortKey::Priority => {
                            b.priority.cmp(&a.priority).then(a.created.cmp(&b.created))
                        }
                        SortKey::Status => std::cmp::Ordering::Equal,
                        SortKey::Id => std::cmp::Ordering::Equal,
                        SortKey::Subject => a.subject.cmp(b.subject),
                    }
                    .then(a.id.cmp(b.id));
                    assert_eq!(order, std::cmp::Ordering::Less, "{key:?} long {long}");
                }
            }
        }
    }

    #[test]
    fn rows_are_permuted_in_place_as_ordered() {
        let mut rng = fastrand::Rng::with_seed(11);
        for len in [0usize, 1, 2, 3, 5, 8, 100, 1000] {
            for _ in 0..20 {
                let mut order: Vec<usize> = (0..len).collect();
                rng.shuffle(&mut order);
                let rows: Vec<String> = (0..len).map(|i| format!("row {i}")).collect();
                let expected: Vec<String> = order.iter().map(|&i| rows[i].clone()).collect();
                let mut permuted = rows.clone();
                permute(&mut permuted, order);
                assert_eq!(permuted, expected);
            }
        }
    }
}
