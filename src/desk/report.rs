//! `tix report`: the metrics of a period (docs/reports.md), from every
//! ticket's facts. A ticket's facts cannot change until its file does
//! (`report::settled_facts` takes a running SLA clock as breached at its
//! due time, which a period counts only once it holds that time), so they
//! are cached by blob with the list cache's machinery
//! (`.git/tix/cache/facts`).

use super::read::{Problem, load_summary};
use super::{Desk, Error};
use crate::domain::report::{self, Charts, Facts, GroupBy, Period, Report, Tally};
use crate::model::Timestamp;
use crate::store::RawTicket;

/// What `tix report` was asked.
#[derive(Clone, Debug, Default)]
pub struct ReportQuery {
    /// The period's start (a time, a date or a duration ago); `None`: all
    /// of history.
    pub since: Option<String>,
    /// The period's end; `None`: the moment of the report.
    pub until: Option<String>,
    /// Metrics per group too.
    pub by: Option<GroupBy>,
}

/// A computed report.
#[derive(Clone, Debug)]
pub struct Reported {
    /// The numbers.
    pub report: Report,
    /// The series the HTML page draws.
    pub charts: Charts,
    /// Ticket files that could not be read (left out).
    pub problems: Vec<Problem>,
}

impl Desk {
    /// Computes the report of `query` at `now` (the moment the desk shows:
    /// now, or the `--at` moment). Broken files come back as problems.
    pub fn report(&self, query: &ReportQuery, now: Timestamp) -> Result<Reported, Error> {
        let time = |what: &str, text: &Option<String>| -> Result<Option<Timestamp>, Error> {
            text.as_deref()
                .map(|t| super::past_or_time(t, now))
                .transpose()
                .map_err(|e| Error::Request(format!("--{what}: {e}")))
        };
        let since = time("since", &query.since)?;
        // A day given as the end holds the whole of that day.
        let until = time("until", &query.until)?
            .map(|t| match &query.until {
                Some(text) if Timestamp::names_a_day(text) => t.plus_seconds(86_399),
                _ => t,
            })
            .unwrap_or(now);
        if since.is_some_and(|s| s > until) {
            return Err(Error::Request(
                "--since is after --until: the period is empty".to_owned(),
            ));
        }
        let period = Period { since, until };
        let mut tally = Tally::new(period, query.by);
        let problems = self.each_facts(now, &mut |facts| tally.add(&facts))?;
        let (mut report, charts) = tally.finish();
        report.at = self.pinned();
        Ok(Reported {
            report,
            charts,
            problems,
        })
    }

    /// Hands every ticket's facts at `now` to `visit`, one at a time (a
    /// report holds numbers, not 100,000 tickets' facts); returns the
    /// files that could not be read.
    fn each_facts(
        &self,
        now: Timestamp,
        visit: &mut dyn FnMut(Facts),
    ) -> Result<Vec<Problem>, Error> {
        let config = &self.config;
        // The config and the calendars' holidays, as for the list cache.
        let salt = format!("facts-4 {}", self.cache_salt()?);
        let derive = |raw: RawTicket| {
            let ticket = load_summary(&raw).ok()?;
            let facts = report::settled_facts(&ticket, &config.statuses, &config.policies, now);
            serde_json::to_string(&facts).ok()
        };
        let mut unread = Vec::new();
        self.store().scan_cache(
            "facts",
            &salt,
            &derive,
            &|_| false,
            false,
            &|_| {},
            &mut |item| {
                match item
                    .payload
                    .and_then(|p| serde_json::from_str::<Facts>(p).ok())
                {
                    Some(facts) => visit(facts),
                    // A file that does not load: read it to report why.
                    None => unread.push((item.path(), item.blob)),
                }
            },
        )?;
        let mut problems = Vec::new();
        for (path, blob) in unread {
            match load_summary(&self.store().read_blob(path, blob)) {
                Ok(ticket) => visit(report::settled_facts(
                    &ticket,
                    &config.statuses,
                    &config.policies,
                    now,
                )),
                Err(problem) => problems.push(problem),
            }
        }
        Ok(problems)
    }
}
