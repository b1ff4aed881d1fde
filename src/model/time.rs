//! Timestamps as tix stores them: UTC, whole seconds, TOML datetimes on disk.

use std::fmt;
use std::str::FromStr;

use chrono::Datelike as _;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant with second precision, stored in UTC.
///
/// It holds seconds since the Unix epoch, always within the instants
/// chrono can hold: a listing decodes and compares hundreds of thousands
/// of them, and a number is the cheapest form for both.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The first and last seconds chrono can hold.
const FIRST: i64 = DateTime::<Utc>::MIN_UTC.timestamp();
const LAST: i64 = DateTime::<Utc>::MAX_UTC.timestamp();

/// A time that could not be understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid time '{text}': {why}")]
pub struct TimestampError {
    text: String,
    why: &'static str,
}

impl TimestampError {
    /// Says that `text` is refused, and why.
    pub fn new(text: &str, why: &'static str) -> Self {
        err(text, why)
    }
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const EPOCH: Self = Self(0);

    /// Wraps a chrono time, dropping sub-second precision; a leap second
    /// (`23:59:60`, which TOML and git cannot write) is the second before.
    pub fn from_datetime(at: DateTime<Utc>) -> Self {
        Self(at.timestamp())
    }

    /// Builds a timestamp from seconds since the Unix epoch.
    pub fn from_unix(secs: i64) -> Option<Self> {
        (FIRST..=LAST).contains(&secs).then_some(Self(secs))
    }

    /// Returns the chrono value.
    pub fn as_datetime(&self) -> DateTime<Utc> {
        // Every constructor keeps the seconds within chrono's range.
        DateTime::from_timestamp(self.0, 0).unwrap_or_default()
    }

    /// Returns seconds since the Unix epoch.
    pub fn unix(&self) -> i64 {
        self.0
    }

    /// Returns the RFC 3339 form (`2025-03-03T14:02:11Z`).
    pub fn to_rfc3339(&self) -> String {
        (self.as_datetime()).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// Returns this instant moved by a number of seconds.
    ///
    /// Saturates at the first and last instants chrono can hold, so a huge
    /// duration from a config or a file never overflows.
    pub fn plus_seconds(&self, secs: i64) -> Self {
        self.checked_plus_seconds(secs)
            .unwrap_or(if secs < 0 { Self(FIRST) } else { Self(LAST) })
    }

    /// Returns the time `secs` seconds later (or earlier), or `None` when
    /// that is beyond the instants chrono can hold.
    pub fn checked_plus_seconds(&self, secs: i64) -> Option<Self> {
        Self::from_unix(self.0.checked_add(secs)?)
    }

    /// Parses a time given on the command line for the future, relative
    /// to `now` (`--until`): see [`Self::parse_past`]; a bare duration
    /// (`3d`) counts forward from `now`, a weekday is the next one.
    pub fn parse_user(text: &str, now: Self) -> Result<Self, TimestampError> {
        parse_moment(text, now, Lean::Future)
    }

    /// Parses a moment given for the past, relative to `now` (filters,
    /// `--at`, a report's period): an RFC 3339 time, a date (`2025-03-04`,
    /// midnight UTC), a duration ago (`30d`, `3h`, `2 weeks`, `3d ago`), or
    /// a word: `now`, `today`, `yesterday` (midnight UTC) or a weekday
    /// (`monday`, `mon`: the latest one, today included). The guide's
    /// "Dates and times" lists them (docs/guide.md).
    pub fn parse_past(text: &str, now: Self) -> Result<Self, TimestampError> {
        parse_moment(text, now, Lean::Past)
    }
}

impl Timestamp {
    /// Tells whether `text` names a whole day (a date, `today`, `monday`)
    /// rather than a moment, so an end of a period can hold all of it.
    pub fn names_a_day(text: &str) -> bool {
        let text = text.trim();
        let any_day = NaiveDate::default();
        NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
            || named_day(&text.to_ascii_lowercase(), any_day, Lean::Past).is_some()
    }
}

/// Which way a bare duration or a weekday counts from now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lean {
    Past,
    Future,
}

/// The one parser of the moments a user types (see [`Timestamp::parse_past`]).
fn parse_moment(text: &str, now: Timestamp, lean: Lean) -> Result<Timestamp, TimestampError> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(at);
    }
    let midnight = |date: NaiveDate| {
        date.and_hms_opt(0, 0, 0)
            .map(|t| Timestamp::from_datetime(Utc.from_utc_datetime(&t)))
            .filter(|at| at.as_datetime().year() <= 9999)
            .ok_or_else(|| err(text, "that date is out of range"))
    };
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return midnight(date);
    }
    let lower = text.to_ascii_lowercase();
    let (span, ago) = match lower.strip_suffix("ago") {
        Some(span) => (span.trim_end(), true),
        None => (lower.as_str(), false),
    };
    if let Some(secs) = user_duration_secs(span) {
        let back = ago || lean == Lean::Past;
        let why = if back {
            "that reaches before any date"
        } else {
            "that is after the year 9999"
        };
        return now
            .checked_plus_seconds(if back { -secs } else { secs })
            .filter(|at| at.as_datetime().year() <= 9999)
            .ok_or_else(|| err(text, why));
    }
    if lower == "now" {
        return Ok(now);
    }
    match named_day(&lower, now.as_datetime().date_naive(), lean) {
        Some(day) => midnight(day),
        None => Err(err(
            text,
            "expected a time (2025-03-04T09:00:00Z), a date (2025-03-04), a duration (3d, 4h, 2 weeks, 3d ago) or a word (now, today, yesterday, tomorrow, monday)",
        )),
    }
}

/// The day a word (`today`, `yesterday`, `tomorrow`, a weekday) names,
/// seen from `today`; `None` for any other text.
fn named_day(word: &str, today: NaiveDate, lean: Lean) -> Option<NaiveDate> {
    match word {
        "today" => Some(today),
        "yesterday" => today.pred_opt(),
        "tomorrow" => today.succ_opt(),
        word => word.parse::<chrono::Weekday>().ok().and_then(|weekday| {
            let back =
                (today.weekday().num_days_from_monday() + 7 - weekday.num_days_from_monday()) % 7;
            match lean {
                // The latest such day, today included.
                Lean::Past => today.checked_sub_days(chrono::Days::new(u64::from(back))),
                // The next such day after today.
                Lean::Future => today.checked_add_days(chrono::Days::new(u64::from(7 - back))),
            }
        }),
    }
}

/// A duration as a user writes it: `45s`, `90m`, `4h`, `3d`, `2w`, or with
/// a word for the unit (`90 minutes`, `1 day`, `2 weeks`).
fn user_duration_secs(text: &str) -> Option<i64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let unit = match unit.trim_start() {
        "sec" | "secs" | "second" | "seconds" => "s",
        "mins" | "minute" | "minutes" => "m",
        "hour" | "hours" => "h",
        "day" | "days" => "d",
        "week" | "weeks" => "w",
        unit => unit,
    };
    parse_duration_secs(&format!("{digits}{unit}"))
}

/// Parses a duration such as `45s`, `90m`, `4h`, `3d` or `2w` into seconds.
pub fn parse_duration_secs(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let count: i64 = digits.parse().ok()?;
    let unit_secs = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    count.checked_mul(unit_secs)
}

fn err(text: &str, why: &'static str) -> TimestampError {
    TimestampError {
        text: text.to_owned(),
        why,
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(text.trim())
            .map(|at| Self::from_datetime(at.with_timezone(&Utc)))
            .map_err(|_| err(text, "expected RFC 3339, e.g. 2025-03-03T14:02:11Z"))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    /// Writes a native TOML datetime, so ticket files read `at = 2025-…Z`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let datetime: toml::value::Datetime = self
            .to_rfc3339()
            .parse()
            .map_err(serde::ser::Error::custom)?;
        datetime.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let datetime = toml::value::Datetime::deserialize(deserializer)?;
        from_toml(&datetime).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "time {datetime} needs a date, a time and a zone offset, e.g. 2025-03-03T14:02:11Z"
            ))
        })
    }
}

/// Converts a TOML offset datetime field by field (no text round trip: this
/// runs for every event of every ticket a listing parses).
pub(super) fn from_toml(datetime: &toml::value::Datetime) -> Option<Timestamp> {
    let (date, time, offset) = (datetime.date?, datetime.time?, datetime.offset?);
    let utc = from_utc_parts(
        [date.year, u16::from(date.month), u16::from(date.day)],
        [time.hour, time.minute, time.second.unwrap_or(0)],
    )?;
    let offset_secs = match offset {
        toml::value::Offset::Z => 0,
        toml::value::Offset::Custom { minutes } => i64::from(minutes) * 60,
    };
    Timestamp::from_unix(utc.0 - offset_secs)
}

/// The UTC time of a year, month and day and an hour, minute and second,
/// if there is one.
pub(super) fn from_utc_parts(
    [year, month, day]: [u16; 3],
    [hour, minute, second]: [u8; 3],
) -> Option<Timestamp> {
    let naive = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))?
        .and_hms_opt(u32::from(hour), u32::from(minute), u32::from(second))?;
    Some(Timestamp::from_datetime(Utc.from_utc_datetime(&naive)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn parses_rfc3339_and_normalises_to_utc() {
        assert_eq!(
            at("2025-03-03T16:02:11+02:00").to_string(),
            "2025-03-03T14:02:11Z"
        );
    }

    #[test]
    fn a_leap_second_is_the_second_before_and_writes_as_toml() {
        let leap = at("2016-12-31T23:59:60Z");
        assert_eq!(leap.to_string(), "2016-12-31T23:59:59Z");
        let value: toml::value::Datetime = leap.to_rfc3339().parse().unwrap();
        assert_eq!(value.to_string(), "2016-12-31T23:59:59Z");
    }

    #[test]
    fn user_times_accept_dates_and_durations() {
        let now = at("2025-03-03T14:00:00Z");
        assert_eq!(
            Timestamp::parse_user("3d", now).unwrap(),
            at("2025-03-06T14:00:00Z")
        );
        assert_eq!(
            Timestamp::parse_user("90m", now).unwrap(),
            at("2025-03-03T15:30:00Z")
        );
        assert_eq!(
            Timestamp::parse_user("2025-04-01", now).unwrap(),
            at("2025-04-01T00:00:00Z")
        );
        assert!(Timestamp::parse_user("3x", now).is_err());
    }

    #[test]
    fn words_name_midnights_and_weekdays_lean_each_way() {
        // A Monday afternoon.
        let now = at("2025-03-03T14:00:00Z");
        let past = |text| Timestamp::parse_past(text, now).unwrap().to_string();
        let future = |text| Timestamp::parse_user(text, now).unwrap().to_string();
        assert_eq!(past("now"), "2025-03-03T14:00:00Z");
        assert_eq!(past("Today"), "2025-03-03T00:00:00Z");
        assert_eq!(past("yesterday"), "2025-03-02T00:00:00Z");
        assert_eq!(future("tomorrow"), "2025-03-04T00:00:00Z");
        assert_eq!(past("monday"), "2025-03-03T00:00:00Z");
        assert_eq!(past("fri"), "2025-02-28T00:00:00Z");
        assert_eq!(future("monday"), "2025-03-10T00:00:00Z");
        assert_eq!(future("wednesday"), "2025-03-05T00:00:00Z");
        assert_eq!(past("2 weeks"), "2025-02-17T14:00:00Z");
        assert_eq!(past("3d ago"), "2025-02-28T14:00:00Z");
        assert_eq!(future("3d ago"), "2025-02-28T14:00:00Z");
        assert_eq!(future("90 minutes"), "2025-03-03T15:30:00Z");
        for bad in ["someday", "3 fortnights", "ago", "-3d"] {
            assert!(Timestamp::parse_past(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn past_times_count_durations_back() {
        let now = at("2025-03-03T14:00:00Z");
        assert_eq!(
            Timestamp::parse_past("3d", now).unwrap(),
            at("2025-02-28T14:00:00Z")
        );
        assert_eq!(
            Timestamp::parse_past("2025-04-01", now).unwrap(),
            at("2025-04-01T00:00:00Z")
        );
        let far = format!("{}w", i64::MAX / (7 * 86_400));
        assert!(Timestamp::parse_past(&far, now).is_err());
        assert!(Timestamp::parse_past("last tuesday", now).is_err());
    }
}
