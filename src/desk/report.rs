//! `tix report`: the metrics of a period (docs/reports.md), from every
//! ticket's facts. A ticket's facts cannot change until its file does
//! (`report::settled_facts` takes a running SLA clock as breached at its
//! due time, which a period counts only once it holds that time), so they
//! are cached by blob with the list cache's machinery
//! (`.git/tix/cache/facts`).

use super::read::{Problem, parse_ticket};
use super::{Desk, Error};
use crate::domain::report::{self, Charts, Facts, GroupBy, Period, Report};
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

/// The cache payload of a ticket whose facts depend on the moment.
const ACTIVE: &str = "active";

impl Desk {
    /// Computes the report of `query` at `now` (the moment the desk shows:
    /// now, or the `--at` moment). Broken files come back as problems.
    pub fn report(&self, query: &ReportQuery, now: Timestamp) -> Result<Reported, Error> {
        let time = |what: &str, text: &Option<String>| -> Result<Option<Timestamp>, Error> {
            text.as_deref()
                .map(|t| past_or_time(t, now))
                .transpose()
                .map_err(|e| Error::Request(format!("--{what}: {e}")))
        };
        let since = time("since", &query.since)?;
        // A day given as the end holds the whole of that day.
        let until = time("until", &query.until)?
            .map(|t| match &query.until {
                Some(text) if is_date(text) => t.plus_seconds(86_399),
                _ => t,
            })
            .unwrap_or(now);
        if since.is_some_and(|s| s > until) {
            return Err(Error::Request(
                "--since is after --until: the period is empty".to_owned(),
            ));
        }
        let (facts, problems) = self.all_facts(now, until)?;
        let period = Period { since, until };
        let mut report = report::aggregate(&facts, period, query.by);
        report.at = self.pinned();
        Ok(Reported {
            report,
            charts: report::charts(&facts, period),
            problems,
        })
    }

    /// Every ticket's facts at `now`.
    fn all_facts(
        &self,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<(Vec<Facts>, Vec<Problem>), Error> {
        let config = &self.config;
        // The config and the calendars' holidays, as for the list cache.
        let salt = format!("facts-3 {}", self.cache_salt()?);
        let derive = |raw: RawTicket| {
            let text = raw.text.ok()?;
            // Facts need no message bodies: the fast reader, else the full parse.
            let ticket = crate::model::scan::without_bodies(&text)
                .or_else(|| crate::model::Ticket::parse(&text).ok())?;
            if ticket.summary(&config.statuses).category.is_none() {
                return Some(ACTIVE.to_owned());
            }
            let facts = report::settled_facts(&ticket, &config.statuses, &config.policies, now);
            serde_json::to_string(&facts).ok()
        };
        let mut facts = Vec::new();
        let mut problems = Vec::new();
        let mut fresh = Vec::new();
        self.store().scan_cache(
            "facts",
            &salt,
            &derive,
            &|_| false,
            false,
            &|_| {},
            &mut |item| match item.payload {
                Some(ACTIVE) => fresh.push((item.path(), item.blob)),
                Some(payload) => match serde_json::from_str::<Facts>(payload) {
                    Ok(mut f) => {
                        f.keep_for(until);
                        facts.push(f);
                    }
                    Err(_) => fresh.push((item.path(), item.blob)),
                },
                None => fresh.push((item.path(), item.blob)),
            },
        )?;
        for (path, blob) in fresh {
            let raw = self.store().read_blob(path.clone(), blob);
            let loaded = raw
                .text
                .map_err(|e| Problem {
                    path: path.clone(),
                    line: None,
                    message: e.to_string(),
                })
                .and_then(|text| {
                    parse_ticket(&path, &text, raw.id.as_ref()).map_err(|e| match e {
                        Error::Parse { error, .. } => Problem {
                            path: path.clone(),
                            line: error.line,
                            message: error.message,
                        },
                        other => Problem {
                            path: path.clone(),
                            line: None,
                            message: other.to_string(),
                        },
                    })
                });
            match loaded {
                Ok(ticket) => {
                    let mut f =
                        report::settled_facts(&ticket, &config.statuses, &config.policies, now);
                    f.keep_for(until);
                    facts.push(f);
                }
                Err(problem) => problems.push(problem),
            }
        }
        Ok((facts, problems))
    }
}

/// Tells whether `text` is a plain date (`2025-03-31`).
fn is_date(text: &str) -> bool {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").is_ok()
}

/// A time on the command line for a report: a time, a date, or a duration
/// ago (`30d`: thirty days before `now`).
fn past_or_time(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Some(secs) = crate::model::parse_duration_secs(text) {
        return now
            .checked_plus_seconds(-secs)
            .ok_or_else(|| format!("'{text}' reaches before any date"));
    }
    Timestamp::parse_user(text, now).map_err(|e| e.to_string())
}
