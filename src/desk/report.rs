//! `tix report`: the metrics of a period (docs/reports.md), from every
//! ticket's facts. A solved or closed ticket's facts cannot change until
//! its file does, so they are cached by blob with the list cache's
//! machinery (`.git/tix/cache/facts`); an active ticket's depend on the
//! moment of the report (running SLA clocks, time in its category) and
//! are computed each time.

use super::read::{Problem, parse_ticket};
use super::{Desk, Error};
use crate::domain::report::{self, Charts, Facts, GroupBy, Period, Report};
use crate::model::Timestamp;
use crate::store::{RawTicket, layout};

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
        let until = time("until", &query.until)?.unwrap_or(now);
        if since.is_some_and(|s| s > until) {
            return Err(Error::Request(
                "--since is after --until: the period is empty".to_owned(),
            ));
        }
        let (facts, problems) = self.all_facts(now)?;
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
    fn all_facts(&self, now: Timestamp) -> Result<(Vec<Facts>, Vec<Problem>), Error> {
        let config = &self.config;
        let salt = format!(
            "facts-1 {} {}",
            env!("CARGO_PKG_VERSION"),
            self.store()
                .blob_id(layout::CONFIG_FILE)?
                .map(|o| o.to_string())
                .unwrap_or_default()
        );
        let derive = |raw: RawTicket| {
            let text = raw.text.ok()?;
            let ticket = crate::model::Ticket::parse(&text).ok()?;
            let summary = ticket.summary(&config.statuses);
            if summary.category.is_some_and(|c| c.is_active()) || summary.category.is_none() {
                return Some(ACTIVE.to_owned());
            }
            let facts = report::facts(&ticket, &config.statuses, &config.policies, now);
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
                    Ok(f) => facts.push(f),
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
                    parse_ticket(&path, &text, raw.id.as_ref()).map_err(|e| Problem {
                        path: path.clone(),
                        line: None,
                        message: e.to_string(),
                    })
                });
            match loaded {
                Ok(ticket) => facts.push(report::facts(
                    &ticket,
                    &config.statuses,
                    &config.policies,
                    now,
                )),
                Err(problem) => problems.push(problem),
            }
        }
        Ok((facts, problems))
    }
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
