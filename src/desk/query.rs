//! Listing tickets: the filters and sort orders of `tix list`
//! (docs/guide.md, "Finding tickets").
//!
//! A [`ListQuery`] says which tickets and in what order, as plain values;
//! [`Desk::list`] picks them from the cached summaries, so only tickets
//! whose files changed since the last run are parsed, and only a text
//! search reads whole tickets. Each row is made by the caller's `make` as
//! it is read, so a listing keeps of each ticket only what it shows.

use crate::config::Config;
use crate::domain::entry::ListEntry;
use crate::domain::fields::FieldDef;
use crate::domain::lifecycle::Category;
use crate::model::{Priority, TicketId, Timestamp};

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

/// Which tickets a listing shows, and in what order. Every filter given
/// must hold; a repeated filter matches any of its values, except tags,
/// which must all be present. Times are texts `Timestamp::parse_user`
/// reads (a date, a time, or a duration back from now).
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Only these statuses.
    pub statuses: Vec<String>,
    /// Only these categories (by name).
    pub categories: Vec<String>,
    /// Only these priorities.
    pub priorities: Vec<Priority>,
    /// Only tickets assigned to this agent ("none" for unassigned).
    pub assignee: Option<String>,
    /// Only tickets assigned to this agent (`--me`).
    pub me: Option<Agent>,
    /// Only this department.
    pub department: Option<String>,
    /// Only tickets with every one of these tags.
    pub tags: Vec<String>,
    /// Only tickets whose customer name or address contains this text.
    pub customer: Option<String>,
    /// Only tickets whose custom field KEY has VALUE, compared as the
    /// field's type; an empty VALUE means the field is not set.
    pub fields: Vec<(String, String)>,
    /// Only unassigned new or open tickets.
    pub pending: bool,
    /// Only tickets whose subject or messages contain this text (any case).
    pub search: Option<String>,
    /// Only tickets created at or after this time.
    pub created_after: Option<String>,
    /// Only tickets created before this time.
    pub created_before: Option<String>,
    /// Only tickets updated at or after this time.
    pub updated_after: Option<String>,
    /// Only tickets updated before this time.
    pub updated_before: Option<String>,
    /// Include closed tickets.
    pub all: bool,
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
}

/// A query checked against the desk, with its times read.
struct Filter {
    fields: Vec<FieldFilter>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    updated_after: Option<Timestamp>,
    updated_before: Option<Timestamp>,
    categories: Vec<Category>,
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
        let filter = self.filter(query, now)?;
        let keep = |category: Option<Category>| {
            category != Some(Category::Closed)
                || query.all
                || filter.categories.contains(&Category::Closed)
                || !query.statuses.is_empty()
        };
        let (mut rows, problems) = self.entries(&keep, |entry| {
            matches(&entry, query, &filter).then(|| make(entry))
        })?;
        self.arrange(query, &mut rows)?;
        Ok(Listing { rows, problems })
    }

    /// Checks a query's names against the desk and reads its times.
    fn filter(&self, query: &ListQuery, now: Timestamp) -> Result<Filter, Error> {
        let statuses = &self.config.statuses;
        for status in &query.statuses {
            if statuses.get(status).is_none() {
                let known: Vec<&str> = statuses.iter().map(|s| s.id.as_str()).collect();
                return Err(Error::Request(format!(
                    "unknown status '{status}': use {}",
                    known.join(", ")
                )));
            }
        }
        let categories = query
            .categories
            .iter()
            .map(|c| {
                Category::parse(c).ok_or_else(|| {
                    Error::Request(format!(
                        "unknown category '{c}': use new, open, waiting, on_hold, solved or closed"
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let time = |flag: &str, text: &Option<String>| -> Result<Option<Timestamp>, Error> {
            text.as_deref()
                .map(|t| {
                    Timestamp::parse_user(t, now)
                        .map_err(|e| Error::Request(format!("--{flag}: {e}")))
                })
                .transpose()
        };
        Ok(Filter {
            fields: field_filters(&self.config, &query.fields)?,
            created_after: time("created-after", &query.created_after)?,
            created_before: time("created-before", &query.created_before)?,
            updated_after: time("updated-after", &query.updated_after)?,
            updated_before: time("updated-before", &query.updated_before)?,
            categories,
        })
    }

    /// Keeps the rows the text search finds, then sorts, reverses and
    /// limits them.
    fn arrange<T: Row>(&self, query: &ListQuery, rows: &mut Vec<T>) -> Result<(), Error> {
        if rows.is_empty() {
            return Ok(());
        }
        if let Some(needle) = &query.search {
            // Text search needs the conversation: load only the candidates.
            // Each ticket is searched on the thread that parsed it.
            let needle = needle.to_lowercase();
            let ids: Vec<TicketId> = rows.iter().map(|r| r.sort_fields().id.clone()).collect();
            let hits = self.read_all(&ids, &|ticket, _| {
                ticket.subject.to_lowercase().contains(&needle)
                    || ticket.events.iter().any(|e| {
                        e.body
                            .as_deref()
                            .is_some_and(|b| b.to_lowercase().contains(&needle))
                    })
            })?;
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

/// `--field KEY=VALUE` filters on one key: any of its values matches.
struct FieldFilter {
    name: String,
    /// The field of the ticket form; `None` without a form (text match).
    def: Option<FieldDef>,
    wanted: Vec<Wanted>,
}

/// One `--field` value.
enum Wanted {
    /// An empty value: the field is not set.
    Unset,
    /// Without a ticket form: the stored text.
    Text(String),
    /// A value of the field's type.
    Value(toml::Value),
}

impl FieldFilter {
    fn matches(&self, entry: &ListEntry) -> bool {
        let stored = entry
            .fields
            .iter()
            .find(|(name, _)| *name == self.name)
            .map(|(_, text)| text.as_str());
        self.wanted.iter().any(|wanted| match (wanted, stored) {
            (Wanted::Unset, stored) => stored.is_none(),
            (_, None) => false,
            (Wanted::Text(text), Some(stored)) => stored == text,
            (Wanted::Value(value), Some(stored)) => self.def.as_ref().is_some_and(|def| {
                def.parse_value(stored)
                    .is_ok_and(|stored| def.same_value(&stored, value))
            }),
        })
    }
}

/// Groups `--field` filters by key and parses each value as its field's
/// type, so the list compares values, not spellings. Without a ticket
/// form, values are compared as text.
fn field_filters(config: &Config, given: &[(String, String)]) -> Result<Vec<FieldFilter>, Error> {
    let mut filters: Vec<FieldFilter> = Vec::new();
    for (name, text) in given {
        let def = if config.fields.is_empty() {
            None
        } else {
            Some(config.form_field(name).map_err(Error::Request)?)
        };
        let wanted = match def {
            _ if text.trim().is_empty() => Wanted::Unset,
            None => Wanted::Text(text.clone()),
            Some(def) => Wanted::Value(def.parse_value(text).map_err(Error::Request)?),
        };
        match filters.iter_mut().find(|f| f.name == *name) {
            Some(filter) => filter.wanted.push(wanted),
            None => filters.push(FieldFilter {
                name: name.clone(),
                def: def.cloned(),
                wanted: vec![wanted],
            }),
        }
    }
    Ok(filters)
}

fn matches(t: &ListEntry, query: &ListQuery, filter: &Filter) -> bool {
    let shows_closed = query.all
        || query.statuses.contains(&t.status)
        || filter.categories.contains(&Category::Closed);
    if t.category == Some(Category::Closed) && !shows_closed {
        return false;
    }
    let contains = |hay: &Option<String>, needle: &str| {
        hay.as_deref()
            .is_some_and(|h| h.to_lowercase().contains(&needle.to_lowercase()))
    };
    let before = |at: Option<Timestamp>, limit: Option<Timestamp>| {
        limit.is_none_or(|l| at.is_some_and(|a| a < l))
    };
    let after = |at: Option<Timestamp>, limit: Option<Timestamp>| {
        limit.is_none_or(|l| at.is_some_and(|a| a >= l))
    };
    (query.statuses.is_empty() || query.statuses.contains(&t.status))
        && (filter.categories.is_empty()
            || t.category.is_some_and(|c| filter.categories.contains(&c)))
        && (query.priorities.is_empty() || query.priorities.contains(&t.priority))
        && match query.assignee.as_deref() {
            None => true,
            Some("none") => t.assignee.is_none(),
            Some(who) => t.assignee.as_deref() == Some(who),
        }
        && query
            .me
            .as_ref()
            .is_none_or(|me| t.assignee.as_deref().is_some_and(|a| me.is(a)))
        && query
            .department
            .as_ref()
            .is_none_or(|d| t.department.as_ref() == Some(d))
        && query.tags.iter().all(|tag| t.tags.contains(tag))
        && query
            .customer
            .as_deref()
            .is_none_or(|c| contains(&t.customer_name, c) || contains(&t.customer_email, c))
        && (!query.pending || t.is_pending())
        && filter.fields.iter().all(|f| f.matches(t))
        && after(t.created, filter.created_after)
        && before(t.created, filter.created_before)
        && after(t.updated, filter.updated_after)
        && before(t.updated, filter.updated_before)
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
    let key = |row: &T| -> Option<(i64, i64)> {
        let row = row.sort_fields();
        match key {
            SortKey::Updated => Some((-time(row.updated).saturating_add(1), 0)),
            SortKey::Created => Some((time(row.created), 0)),
            SortKey::Priority => Some((-(row.priority as i64), time(row.created))),
            SortKey::Status => Some((category_rank(&row) as i64, 0)),
            SortKey::Id | SortKey::Subject => None,
        }
    };
    let mut order: Vec<(Option<(i64, i64)>, usize)> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (key(row), i))
        .collect();
    order.sort_unstable_by(|(ka, a), (kb, b)| match (ka, kb) {
        (Some(ka), Some(kb)) => ka
            .cmp(kb)
            .then_with(|| rows[*a].sort_fields().id.cmp(rows[*b].sort_fields().id)),
        _ => compare(&rows[*a], &rows[*b]),
    });
    let order: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
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
    use super::permute;

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
