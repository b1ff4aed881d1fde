//! Business-hours calendars and their arithmetic (HELPDESK §3).
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
//! Pure: no clock, no files.

use std::collections::BTreeMap;

use chrono::{
    Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

use crate::model::Timestamp;

/// The name of the built-in always-open calendar.
pub const ALWAYS: &str = "24x7";

/// How far ahead the arithmetic looks for open time before giving up (a
/// calendar with no open hours at all).
const HORIZON_DAYS: i64 = 3 * 366;

/// An interval of local wall time in one day; `end` may be 24:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hours {
    start: NaiveTime,
    /// Seconds after midnight (86,400 for 24:00).
    end_secs: u32,
}

impl Hours {
    /// Parses `"09:00-17:30"` (the end may be `24:00`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("'{text}' is not an interval like \"09:00-17:30\"");
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").map_err(|_| bad())?;
        let end_secs = if end.trim() == "24:00" {
            86_400
        } else {
            NaiveTime::parse_from_str(end.trim(), "%H:%M")
                .map_err(|_| bad())?
                .num_seconds_from_midnight()
        };
        if end_secs <= start.num_seconds_from_midnight() {
            return Err(format!("'{text}' ends before it starts"));
        }
        Ok(Self { start, end_secs })
    }
}

/// A business-hours calendar.
#[derive(Clone, Debug, PartialEq)]
pub struct Calendar {
    /// `None` for the always-open calendar.
    zone: Option<Tz>,
    /// Monday first.
    week: [Vec<Hours>; 7],
    /// Dates whose hours replace the weekday's (empty = closed).
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
    /// and holidays with their own hours.
    pub fn new(
        zone: &str,
        week: [Vec<Hours>; 7],
        holidays: BTreeMap<NaiveDate, Vec<Hours>>,
    ) -> Result<Self, String> {
        let zone: Tz = zone.parse().map_err(|_| {
            format!("unknown time zone '{zone}' (use an IANA name like Europe/Berlin)")
        })?;
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
                let start = local_instant(zone, date.and_time(h.start));
                let end = if h.end_secs == 86_400 {
                    local_instant(zone, (date + Duration::days(1)).and_time(NaiveTime::MIN))
                } else {
                    let end = NaiveTime::from_num_seconds_from_midnight_opt(h.end_secs, 0)
                        .unwrap_or(NaiveTime::MIN);
                    local_instant(zone, date.and_time(end))
                };
                (start, end)
            })
            .filter(|(s, e)| e > s)
            .collect()
    }

    /// Open intervals overlapping [from, ...), day by day, in order.
    fn intervals_from(&self, zone: Tz, from: i64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = Utc
            .timestamp_opt(from, 0)
            .single()
            .map(|t| t.with_timezone(&zone).date_naive());
        let first = first.unwrap_or(NaiveDate::MIN) - Duration::days(1);
        (0..HORIZON_DAYS)
            .flat_map(move |n| self.open_on(zone, first + Duration::days(n)))
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
    /// first open instant at or after `s`. `None` if the calendar has no
    /// open time within three years.
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
    fn always_open_is_calendar_time_and_closed_calendars_give_up() {
        let cal = Calendar::always();
        assert_eq!(
            cal.business_secs(at("2025-03-03T00:00:00Z"), at("2025-03-04T00:00:00Z")),
            86_400
        );
        assert_eq!(
            cal.add_business(at("2025-03-03T00:00:00Z"), 60),
            Some(at("2025-03-03T00:01:00Z"))
        );
        let closed = Calendar::new("UTC", Default::default(), BTreeMap::new()).unwrap();
        assert_eq!(closed.add_business(at("2025-03-03T00:00:00Z"), 60), None);
        assert!(Hours::parse("18:00-09:00").is_err());
        assert!(Calendar::new("Mars/Olympus", Default::default(), BTreeMap::new()).is_err());
    }
}
