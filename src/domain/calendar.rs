//! Business-hours calendars and their arithmetic (docs/sla.md, "Calendars").
//!
//! - C1: open intervals are built per local date from the weekday lists; a
//!   holiday replaces that date's list by its own hours (none = closed).
//!   Local wall times become instants by the zone's rules: a bound in a
//!   daylight-saving gap moves to the first instant after the gap; in an
//!   overlap the earlier offset is used. The built-in `24x7` is always open.
//! - C2: `business(a, b)` = seconds of [a, b) inside open intervals.
//! - C3: `add_business(s, 0)` = the first open instant at or after `s`;
//!   `add_business(s, d)` = the smallest `t` with `business(s, t) = d`, so a
//!   target used up exactly at closing time is due at closing time.
//!
//! A calendar keeps each day's intervals sorted and refuses overlapping
//! ones and calendars that are never open, so the arithmetic can walk
//! intervals in order and always ends. Pure: no clock, no files.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{
    Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use crate::model::Timestamp;

/// The name of the built-in always-open calendar.
pub const ALWAYS: &str = "24x7";

/// The names of the weekdays as written in `tix.toml`, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// After the last holiday, a week with no open time means the weekly hours
/// are empty, so there is no open time ever after: the search stops there.
const CLOSED_WEEK_DAYS: u32 = 8;

/// Why a calendar or one of its intervals is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The text is not `HH:MM-HH:MM`.
    #[error("'{0}' is not an interval like \"09:00-17:30\"")]
    BadInterval(String),
    /// The end is not after the start.
    #[error("'{0}' ends before it starts (an interval cannot cross midnight; split it)")]
    Backwards(String),
    /// Two intervals of one day share time.
    #[error("{day}: '{first}' and '{second}' overlap")]
    Overlap {
        /// The weekday (`mon`) or the holiday date.
        day: String,
        /// The interval that starts first.
        first: Hours,
        /// The interval that starts inside it.
        second: Hours,
    },
    /// The zone is not an IANA name.
    #[error("unknown time zone '{0}' (use an IANA name like Europe/Berlin)")]
    UnknownZone(String),
    /// No weekday and no holiday has open hours.
    #[error("it has no open hours on any day, so nothing could ever be due")]
    NeverOpen,
    /// An iCalendar holidays file that cannot be read.
    #[error("line {line}: {why}")]
    Ical {
        /// The 1-based line of the file.
        line: usize,
        /// What is wrong.
        why: String,
    },
}

/// An interval of local wall time in one day; `end` may be 24:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hours {
    /// Seconds after midnight.
    start_secs: u32,
    /// Seconds after midnight (86,400 for 24:00).
    end_secs: u32,
}

impl Hours {
    /// Parses `"09:00-17:30"` (the end may be `24:00`).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = || Error::BadInterval(text.to_owned());
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").map_err(|_| bad())?;
        let end_secs = if end.trim() == "24:00" {
            86_400
        } else {
            NaiveTime::parse_from_str(end.trim(), "%H:%M")
                .map_err(|_| bad())?
                .num_seconds_from_midnight()
        };
        let start_secs = start.num_seconds_from_midnight();
        if end_secs <= start_secs {
            return Err(Error::Backwards(text.to_owned()));
        }
        Ok(Self {
            start_secs,
            end_secs,
        })
    }

    /// Finds two intervals of one day that share time: the indices (into
    /// `list`) of the one that starts first and of the one starting inside
    /// it. Touching intervals (`09:00-12:00`, `12:00-13:00`) do not overlap.
    pub fn overlap(list: &[Self]) -> Option<(usize, usize)> {
        let mut order: Vec<usize> = (0..list.len()).collect();
        order.sort_by_key(|&i| (list[i], i));
        order
            .windows(2)
            .find(|w| list[w[1]].start_secs < list[w[0]].end_secs)
            .map(|w| (w[0], w[1]))
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |secs: u32| format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60);
        write!(f, "{}-{}", hm(self.start_secs), hm(self.end_secs))
    }
}

/// A business-hours calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    /// `None` for the always-open calendar.
    zone: Option<Tz>,
    /// Monday first; each list sorted, without overlaps.
    week: [Vec<Hours>; 7],
    /// Dates whose hours replace the weekday's (empty = closed); each list
    /// sorted, without overlaps.
    holidays: BTreeMap<NaiveDate, Vec<Hours>>,
}

impl Calendar {
    /// The built-in `24x7` calendar.
    pub fn always() -> Self {
        Self {
            zone: None,
            week: Default::default(),
            holidays: BTreeMap::new(),
        }
    }

    /// Builds a calendar: an IANA zone, hours per weekday (Monday first),
    /// and holidays with their own hours. Sorts each day's intervals;
    /// refuses overlapping intervals and a calendar with no open hours at
    /// all.
    pub fn new(
        zone: &str,
        mut week: [Vec<Hours>; 7],
        mut holidays: BTreeMap<NaiveDate, Vec<Hours>>,
    ) -> Result<Self, Error> {
        let zone: Tz = zone
            .parse()
            .map_err(|_| Error::UnknownZone(zone.to_owned()))?;
        let days = week
            .iter_mut()
            .zip(WEEKDAYS.map(str::to_owned))
            .chain(holidays.iter_mut().map(|(d, h)| (h, d.to_string())));
        for (hours, day) in days {
            if let Some((a, b)) = Hours::overlap(hours) {
                return Err(Error::Overlap {
                    day,
                    first: hours[a],
                    second: hours[b],
                });
            }
            hours.sort();
        }
        if week.iter().chain(holidays.values()).all(Vec::is_empty) {
            return Err(Error::NeverOpen);
        }
        Ok(Self {
            zone: Some(zone),
            week,
            holidays,
        })
    }

    /// The open intervals of one local date, as instants, in order.
    fn open_on(&self, zone: Tz, date: NaiveDate) -> Vec<(i64, i64)> {
        let hours = self
            .holidays
            .get(&date)
            .unwrap_or(&self.week[date.weekday().num_days_from_monday() as usize]);
        hours
            .iter()
            .map(|h| {
                let wall = |secs: u32| {
                    let day = date + Duration::days(i64::from(secs / 86_400));
                    // Below 86,400 by construction of the remainder.
                    let time = NaiveTime::from_num_seconds_from_midnight_opt(secs % 86_400, 0)
                        .unwrap_or(NaiveTime::MIN);
                    local_instant(zone, day.and_time(time))
                };
                (wall(h.start_secs), wall(h.end_secs))
            })
            .filter(|(s, e)| e > s)
            .collect()
    }

    /// Open intervals ending after `from`, day by day, in order; ends when
    /// no open time can follow (past the last holiday, a week closed).
    fn intervals_from(&self, zone: Tz, from: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = Utc
            .timestamp_opt(from, 0)
            .single()
            .map(|t| t.with_timezone(&zone).date_naive());
        // The day before too: its intervals may end after `from` in UTC.
        let mut date = first.unwrap_or(NaiveDate::MIN) - Duration::days(1);
        let last_holiday = self.holidays.keys().next_back().copied();
        let mut closed_run = 0;
        let mut pending = Vec::new().into_iter();
        std::iter::from_fn(move || {
            loop {
                if let Some(interval) = pending.next() {
                    return Some(interval);
                }
                if closed_run >= CLOSED_WEEK_DAYS && last_holiday.is_none_or(|h| date > h) {
                    return None;
                }
                let day = self.open_on(zone, date);
                closed_run = if day.is_empty() { closed_run + 1 } else { 0 };
                date = date.succ_opt()?;
                pending = day.into_iter();
            }
        })
        .filter(move |(_, end)| *end > from)
    }

    /// C2: business seconds in [a, b).
    pub fn business_secs(&self, a: Timestamp, b: Timestamp) -> i64 {
        let (a, b) = (a.unix(), b.unix());
        if b <= a {
            return 0;
        }
        let Some(zone) = self.zone else { return b - a };
        let mut total = 0;
        for (start, end) in self.intervals_from(zone, a) {
            if start >= b {
                break;
            }
            total += end.min(b) - start.max(a);
        }
        total
    }

    /// C3: the smallest t with `business_secs(s, t) == secs`; for 0, the
    /// first open instant at or after `s`. `None` only when the calendar
    /// has no open time after `s` (its last open day was a holiday).
    pub fn add_business(&self, s: Timestamp, secs: i64) -> Option<Timestamp> {
        let Some(zone) = self.zone else {
            return Some(s.plus_seconds(secs));
        };
        let mut left = secs.max(0);
        for (start, end) in self.intervals_from(zone, s.unix()) {
            let start = start.max(s.unix());
            if end - start >= left {
                return Timestamp::from_unix(start + left);
            }
            left -= end - start;
        }
        None
    }
}
/// The longest all-day event read as holidays.
const MAX_EVENT_DAYS: i64 = 366;

/// Reads the all-day events of an iCalendar file (RFC 5545) as holiday
/// dates, closed all day: each `VEVENT` whose `DTSTART` is a date
/// (`DTSTART;VALUE=DATE:20251224`) gives the dates from `DTSTART` up to
/// the day before `DTEND` (one day without `DTEND`). Events with a time of
/// day are not holidays and are skipped; recurrence rules are not read.
pub fn ical_dates(text: &str) -> Result<Vec<NaiveDate>, Error> {
    // Unfold: a line starting with a space or tab continues the previous.
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some((_, last))) => last.push_str(rest),
            _ => lines.push((n + 1, raw.to_owned())),
        }
    }
    let bad = |line: usize, why: &str| Error::Ical {
        line,
        why: why.to_owned(),
    };
    if !lines
        .iter()
        .any(|(_, l)| l.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
    {
        return Err(bad(1, "not an iCalendar file (no BEGIN:VCALENDAR)"));
    }
    let mut dates = Vec::new();
    let mut event: Option<(usize, Option<NaiveDate>, Option<NaiveDate>, bool)> = None;
    for (n, line) in &lines {
        let (head, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
        let mut parts = head.split(';');
        let name = parts.next().unwrap_or_default().to_ascii_uppercase();
        let is_date = parts.any(|p| p.eq_ignore_ascii_case("VALUE=DATE"))
            || (value.len() == 8 && value.bytes().all(|b| b.is_ascii_digit()));
        let date = || {
            NaiveDate::parse_from_str(value.trim(), "%Y%m%d")
                .map_err(|_| bad(*n, &format!("'{value}' is not a date like 20251224")))
        };
        match (name.as_str(), event.as_mut()) {
            ("BEGIN", None) if value.eq_ignore_ascii_case("VEVENT") => {
                event = Some((*n, None, None, false));
            }
            ("DTSTART", Some(e)) => {
                e.3 = is_date;
                e.1 = if is_date { Some(date()?) } else { None };
            }
            ("DTEND", Some(e)) if is_date => e.2 = Some(date()?),
            ("END", Some(_)) if value.eq_ignore_ascii_case("VEVENT") => {
                let Some((start_line, start, end, all_day)) = event.take() else {
                    continue;
                };
                let Some(start) = start.filter(|_| all_day) else {
                    continue;
                };
                let end = end.unwrap_or(start + Duration::days(1));
                let days = (end - start).num_days();
                if !(1..=MAX_EVENT_DAYS).contains(&days) {
                    return Err(bad(
                        start_line,
                        "an all-day event must end after it starts and last at most a year",
                    ));
                }
                dates.extend((0..days).map(|d| start + Duration::days(d)));
            }
            _ => {}
        }
    }
    if let Some((line, ..)) = event {
        return Err(bad(line, "the event has no END:VEVENT"));
    }
    Ok(dates)
}

/// Converts a local wall time to an instant by the zone's rules: in a gap
/// the first instant after it, in an overlap the earlier offset.
fn local_instant(zone: Tz, local: NaiveDateTime) -> i64 {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => t.timestamp(),
        LocalResult::Ambiguous(earlier, _) => earlier.timestamp(),
        LocalResult::None => {
            // Gaps start and end on whole minutes: the first valid wall
            // time after this one is the end of the gap.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = zone.from_local_datetime(&probe).earliest() {
                    return t.timestamp() - i64::from(probe.second());
                }
            }
            Utc.from_utc_datetime(&local).timestamp()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn h(list: &[&str]) -> Vec<Hours> {
        list.iter().map(|t| Hours::parse(t).unwrap()).collect()
    }

    /// Mon–Thu 09:00–12:00 and 13:00–18:00, Fri 09:00–17:00, closed at
    /// weekends, in São Paulo (UTC-3, no DST since 2019).
    fn sao_paulo(holidays: BTreeMap<NaiveDate, Vec<Hours>>) -> Calendar {
        let day = h(&["09:00-12:00", "13:00-18:00"]);
        let week = [
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            h(&["09:00-17:00"]),
            vec![],
            vec![],
        ];
        Calendar::new("America/Sao_Paulo", week, holidays).unwrap()
    }

    #[test]
    fn business_time_counts_only_open_hours() {
        let cal = sao_paulo(BTreeMap::new());
        // Monday 2025-03-03, 11:00 to 14:00 local = 1h + 1h (lunch closed).
        assert_eq!(
            cal.business_secs(at("2025-03-03T14:00:00Z"), at("2025-03-03T17:00:00Z")),
            2 * 3600
        );
        assert_eq!(
            cal.business_secs(at("2025-03-03T17:00:00Z"), at("2025-03-03T14:00:00Z")),
            0
        );
        // Friday 16:00 to Monday 10:00 local = 1h + 1h.
        assert_eq!(
            cal.business_secs(at("2025-03-07T19:00:00Z"), at("2025-03-10T13:00:00Z")),
            2 * 3600
        );
    }

    #[test]
    fn a_start_outside_hours_begins_at_the_next_opening() {
        let cal = sao_paulo(BTreeMap::new());
        // Saturday: the clock starts Monday 09:00 local (12:00Z).
        assert_eq!(
            cal.add_business(at("2025-03-08T15:00:00Z"), 0),
            Some(at("2025-03-10T12:00:00Z"))
        );
        assert_eq!(
            cal.add_business(at("2025-03-08T15:00:00Z"), 3600),
            Some(at("2025-03-10T13:00:00Z"))
        );
        // Inside hours, zero is now.
        assert_eq!(
            cal.add_business(at("2025-03-03T13:30:00Z"), 0),
            Some(at("2025-03-03T13:30:00Z"))
        );
    }

    #[test]
    fn a_target_used_up_exactly_at_closing_is_due_at_closing() {
        let cal = sao_paulo(BTreeMap::new());
        // Friday 09:00 local + 8h = 17:00 local Friday, not Monday 09:00.
        assert_eq!(
            cal.add_business(at("2025-03-07T12:00:00Z"), 8 * 3600),
            Some(at("2025-03-07T20:00:00Z"))
        );
        // One second more rolls to Monday.
        assert_eq!(
            cal.add_business(at("2025-03-07T12:00:00Z"), 8 * 3600 + 1),
            Some(at("2025-03-10T12:00:01Z"))
        );
        // Lunch is skipped: 11:30 + 1h = 13:30 local.
        assert_eq!(
            cal.add_business(at("2025-03-03T14:30:00Z"), 3600),
            Some(at("2025-03-03T16:30:00Z"))
        );
    }

    #[test]
    fn holidays_replace_the_day_whole_or_with_short_hours() {
        let mut holidays = BTreeMap::new();
        holidays.insert(NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(), vec![]);
        holidays.insert(
            NaiveDate::from_ymd_opt(2025, 3, 5).unwrap(),
            h(&["09:00-13:00"]),
        );
        let cal = sao_paulo(holidays);
        // Monday 17:00 local + 3h: 1h Monday, Tuesday closed, 2h Wednesday.
        assert_eq!(
            cal.add_business(at("2025-03-03T20:00:00Z"), 3 * 3600),
            Some(at("2025-03-05T14:00:00Z"))
        );
        // Wednesday has 4h only.
        assert_eq!(
            cal.business_secs(at("2025-03-05T03:00:00Z"), at("2025-03-06T03:00:00Z")),
            4 * 3600
        );
    }

    #[test]
    fn daylight_saving_gaps_and_overlaps() {
        // Berlin: 2025-03-30 02:00 -> 03:00 (gap), 2025-10-26 03:00 -> 02:00 (overlap).
        let all_day = h(&["00:00-24:00"]);
        let week = std::array::from_fn(|_| all_day.clone());
        let cal = Calendar::new("Europe/Berlin", week, BTreeMap::new()).unwrap();
        // The spring day has 23 hours, the autumn day 25.
        assert_eq!(
            cal.business_secs(at("2025-03-29T23:00:00Z"), at("2025-03-30T22:00:00Z")),
            23 * 3600
        );
        assert_eq!(
            cal.business_secs(at("2025-10-25T22:00:00Z"), at("2025-10-26T23:00:00Z")),
            25 * 3600
        );
        // A bound inside the gap moves to the first instant after it.
        let night = h(&["02:30-04:00"]);
        let week = std::array::from_fn(|_| night.clone());
        let cal = Calendar::new("Europe/Berlin", week, BTreeMap::new()).unwrap();
        // 2025-03-30: 02:30 does not exist; open from 03:00 CEST (01:00Z) to 04:00 CEST (02:00Z).
        assert_eq!(
            cal.add_business(at("2025-03-30T00:00:00Z"), 0),
            Some(at("2025-03-30T01:00:00Z"))
        );
        assert_eq!(
            cal.business_secs(at("2025-03-30T00:00:00Z"), at("2025-03-30T06:00:00Z")),
            3600
        );
        // 2025-10-26: 02:30 happens twice; the earlier (CEST, 00:30Z) counts.
        assert_eq!(
            cal.add_business(at("2025-10-26T00:00:00Z"), 0),
            Some(at("2025-10-26T00:30:00Z"))
        );
    }

    #[test]
    fn always_open_is_calendar_time() {
        let cal = Calendar::always();
        assert_eq!(
            cal.business_secs(at("2025-03-03T00:00:00Z"), at("2025-03-04T00:00:00Z")),
            86_400
        );
        assert_eq!(
            cal.add_business(at("2025-03-03T00:00:00Z"), 60),
            Some(at("2025-03-03T00:01:00Z"))
        );
    }

    #[test]
    fn bad_intervals_zones_and_never_open_calendars_are_refused() {
        assert_eq!(
            Hours::parse("18:00-09:00"),
            Err(Error::Backwards("18:00-09:00".into()))
        );
        assert_eq!(Hours::parse("9-17"), Err(Error::BadInterval("9-17".into())));
        assert_eq!(
            Calendar::new("Mars/Olympus", week_of(&["09:00-17:00"]), BTreeMap::new()),
            Err(Error::UnknownZone("Mars/Olympus".into()))
        );
        assert_eq!(
            Calendar::new("UTC", Default::default(), BTreeMap::new()),
            Err(Error::NeverOpen)
        );
        let mut week: [Vec<Hours>; 7] = Default::default();
        week[2] = h(&["13:00-18:00", "09:00-12:00", "11:30-12:30"]);
        let err = Calendar::new("UTC", week, BTreeMap::new()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wed: '09:00-12:00' and '11:30-12:30' overlap"
        );
        assert_eq!(
            Hours::overlap(&h(&["13:00-18:00", "09:00-12:00", "11:30-12:30"])),
            Some((1, 2))
        );
        assert_eq!(
            Hours::overlap(&h(&["12:00-13:00", "09:00-12:00"])),
            None,
            "touching is not overlapping"
        );
    }

    fn week_of(list: &[&str]) -> [Vec<Hours>; 7] {
        std::array::from_fn(|_| h(list))
    }

    #[test]
    fn intervals_given_out_of_order_count_the_same() {
        let mut week: [Vec<Hours>; 7] = Default::default();
        week[0] = h(&["13:00-18:00", "09:00-12:00"]);
        let cal = Calendar::new("UTC", week, BTreeMap::new()).unwrap();
        // Monday 2025-03-03: 10:00 + 3h = 2h before lunch, 1h after.
        assert_eq!(
            cal.add_business(at("2025-03-03T10:00:00Z"), 3 * 3600),
            Some(at("2025-03-03T14:00:00Z"))
        );
        assert_eq!(
            cal.business_secs(at("2025-03-03T00:00:00Z"), at("2025-03-04T00:00:00Z")),
            8 * 3600
        );
    }

    #[test]
    fn a_long_target_on_a_sparse_calendar_is_still_due() {
        // One hour a week: 200 hours take almost four years.
        let mut week: [Vec<Hours>; 7] = Default::default();
        week[0] = h(&["09:00-10:00"]);
        let cal = Calendar::new("UTC", week, BTreeMap::new()).unwrap();
        let due = cal.add_business(at("2025-03-03T09:00:00Z"), 200 * 3600);
        assert_eq!(due, Some(at("2028-12-25T10:00:00Z")));
        assert_eq!(
            cal.business_secs(at("2025-03-03T09:00:00Z"), at("2028-12-25T10:00:00Z")),
            200 * 3600
        );
    }

    #[test]
    fn ical_all_day_events_are_holidays() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Natal\r\nDTSTART;VALUE=DATE:20251225\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Carnaval\r\nDTSTART;VALUE=DATE:20260216\r\nDTEND;VALUE=\r\n DATE:20260218\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:Meeting\r\nDTSTART:20251226T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            ical_dates(text).unwrap(),
            [d(2025, 12, 25), d(2026, 2, 16), d(2026, 2, 17)]
        );
        assert_eq!(
            ical_dates("holidays").unwrap_err().to_string(),
            "line 1: not an iCalendar file (no BEGIN:VCALENDAR)"
        );
        let bad = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:2025-12-25\nEND:VEVENT\n";
        assert_eq!(
            ical_dates(bad).unwrap_err().to_string(),
            "line 3: '2025-12-25' is not a date like 20251224"
        );
    }

    #[test]
    fn a_calendar_open_only_on_a_holiday_runs_out_after_it() {
        let mut holidays = BTreeMap::new();
        holidays.insert(
            NaiveDate::from_ymd_opt(2025, 12, 24).unwrap(),
            h(&["09:00-13:00"]),
        );
        let cal = Calendar::new("UTC", Default::default(), holidays).unwrap();
        assert_eq!(
            cal.add_business(at("2025-03-03T09:00:00Z"), 3600),
            Some(at("2025-12-24T10:00:00Z"))
        );
        assert_eq!(cal.add_business(at("2025-12-24T12:00:00Z"), 7200), None);
        assert_eq!(
            cal.business_secs(at("2025-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z")),
            4 * 3600
        );
    }
}
