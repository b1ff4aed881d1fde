//! `tix export`: every ticket of the desk, whole, in id order, for other
//! tools (BI, a spreadsheet, a move away from tix).
//!
//! A desk of 100,000 tickets is hundreds of megabytes as JSON, so nothing
//! here holds the desk: files are read and parsed on every core, each
//! ticket is made into what the caller writes (a line) on the thread that
//! parsed it, and the lines reach the caller in order, a few blocks at a
//! time. A file that does not load is left out and reported, as a listing
//! does; it never stops the export.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use super::read::{Problem, load_whole};
use super::{Desk, Error};
use crate::domain::sla::{self, SlaState};
use crate::model::{Ticket, Timestamp};
use crate::store::RawTicket;

/// Which tickets `tix export` writes, and what it works out for each.
#[derive(Clone, Debug, Default)]
pub struct ExportQuery {
    /// Only tickets updated at or after this moment (`--since`): a time, a
    /// date, or a duration ago (`30d`).
    pub since: Option<String>,
    /// Whether each ticket comes with its SLA state at `now` (the JSON of
    /// `tix show` has it; a CSV row does not).
    pub sla: bool,
}

impl Desk {
    /// Hands every ticket of `HEAD` that `query` selects, made into what
    /// `make` returns (given the ticket and, when `query.sla` asks, its SLA
    /// state at `now`), to `sink` in id order, until `sink` breaks. `make`
    /// runs on the thread that parsed the ticket. Closed tickets are
    /// included. Files that do not load are left out and returned.
    pub fn export<T: Send>(
        &self,
        query: &ExportQuery,
        now: Timestamp,
        make: &(dyn Fn(&Ticket, Option<&SlaState>) -> T + Sync),
        sink: &mut dyn FnMut(T) -> ControlFlow<()>,
    ) -> Result<Vec<Problem>, Error> {
        let since = query
            .since
            .as_deref()
            .map(|text| super::past_or_time(text, now))
            .transpose()
            .map_err(|e| Error::Request(format!("--since: {e}")))?;
        let (statuses, policies) = (&self.config.statuses, &self.config.policies);
        let read = |raw: RawTicket| -> Result<Option<T>, Problem> {
            let ticket = load_whole(&raw)?;
            if let Some(since) = since
                && ticket.summary(statuses).updated.is_none_or(|at| at < since)
            {
                return Ok(None);
            }
            let state = query
                .sla
                .then(|| sla::evaluate(&ticket, statuses, policies, now))
                .flatten();
            Ok(Some(make(&ticket, state.as_ref())))
        };
        // The store visits `tickets/<ab>/<id>.toml` in tree order, which is
        // id order: git sorts a tree's names byte-wise, every shard name has
        // two characters, and a file that loads has the name `<id>.toml`
        // with an id of lowercase letters and digits, which all sort after
        // the `.` (an id that is a prefix of another comes first, as in id
        // order). Files elsewhere do not load and are only reported.
        let mut problems = Vec::new();
        self.store.for_each_file(&read, &mut |made| match made {
            Ok(Some(item)) => sink(item),
            Ok(None) => ControlFlow::Continue(()),
            Err(problem) => {
                problems.push(problem);
                ControlFlow::Continue(())
            }
        })?;
        Ok(problems)
    }

    /// The names of the custom fields tickets may have: the ticket form's
    /// (`[[field]]` in tix.toml, in its order), then every other name some
    /// ticket has (a field since dropped from the form, a hand edit),
    /// sorted. Read from the list summaries, through their cache.
    pub fn field_names(&self) -> Result<Vec<String>, Error> {
        let mut found = BTreeSet::new();
        self.entries(&|_| true, |entry| {
            found.extend(entry.fields.into_iter().map(|(name, _)| name));
            None::<()>
        })?;
        let mut names: Vec<String> = self.config.fields.iter().map(|f| f.name.clone()).collect();
        for name in &names {
            found.remove(name);
        }
        names.extend(found);
        Ok(names)
    }
}
