//! `[calendar.NAME]` and `[[sla.policy]]`: business hours and SLA
//! policies (docs/sla.md).

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::raw::{RawCalendar, RawPolicy, RawSla, RawTargets};
use super::{ReadFile, Report};
use crate::domain::calendar::{self, Calendar, Hours};
use crate::domain::lifecycle::Category;
use crate::domain::sla::{Match, Policy, Targets, WarnBefore};
use crate::model::Priority;

/// Builds the calendars and the SLA policies that use them.
pub(super) fn policies(
    raw_calendars: &BTreeMap<String, Spanned<RawCalendar>>,
    raw_sla: RawSla,
    files: &ReadFile<'_>,
    has_departments: bool,
    department_names: &BTreeSet<String>,
    problem: &mut Report<'_>,
) -> Vec<Policy> {
    let mut calendars: BTreeMap<String, Calendar> = BTreeMap::new();
    let mut broken = BTreeSet::new();
    for (name, raw) in raw_calendars {
        match build_calendar(name, raw, files, problem) {
            Some(cal) => {
                calendars.insert(name.clone(), cal);
            }
            None => {
                broken.insert(name.clone());
            }
        }
    }
    calendars.insert(calendar::ALWAYS.to_owned(), Calendar::always());
    let mut policy_spans: BTreeMap<String, std::ops::Range<usize>> = BTreeMap::new();
    for policy in &raw_sla.policy {
        policy_spans
            .entry(policy.get_ref().name.clone())
            .or_insert_with(|| policy.span());
    }
    let mut policies = Vec::new();
    for policy in raw_sla.policy {
        policies.extend(build_policy(policy, &calendars, &broken, problem));
    }

    if has_departments {
        for policy in &policies {
            for department in &policy.matches.department {
                if !department_names.contains(department) {
                    problem(
                        format!(
                            "SLA policy '{}' matches unknown department '{department}'",
                            policy.name
                        ),
                        policy_spans.get(&policy.name).cloned().unwrap_or(0..0),
                    );
                }
            }
        }
    }
    policies
}

/// Builds one `[calendar.NAME]`, reporting every problem with the line of
/// the offending value; `None` when there was any.
fn build_calendar(
    name: &str,
    raw: &Spanned<RawCalendar>,
    files: &ReadFile<'_>,
    problem: &mut Report<'_>,
) -> Option<Calendar> {
    let table = raw.span();
    let raw = raw.get_ref();
    let ok = std::cell::Cell::new(true);
    let mut fail = |message: String, span: std::ops::Range<usize>| {
        ok.set(false);
        problem(format!("calendar '{name}': {message}"), span);
    };
    if name == calendar::ALWAYS {
        fail(
            "the name is taken by the built-in always-open calendar".into(),
            table.clone(),
        );
    }
    let lists = [
        &raw.mon, &raw.tue, &raw.wed, &raw.thu, &raw.fri, &raw.sat, &raw.sun,
    ];
    let mut week: [Vec<Hours>; 7] = Default::default();
    for ((list, day), hours) in lists.iter().zip(calendar::WEEKDAYS).zip(&mut week) {
        let spans: Vec<_> = list.iter().map(Spanned::span).collect();
        *hours = day_hours(
            list.iter().map(|h| (h.get_ref().as_str(), h.span())),
            day,
            &mut fail,
        );
        if let Some((a, b)) = Hours::overlap(hours) {
            fail(
                format!("{day}: '{}' and '{}' overlap", hours[a], hours[b]),
                spans[b].clone(),
            );
        }
    }
    let mut holidays: BTreeMap<chrono::NaiveDate, Vec<Hours>> = BTreeMap::new();
    for holiday in &raw.holidays {
        let span = holiday.span();
        let Some((date, hours)) = holiday_entry(holiday.get_ref(), span.clone(), &mut fail) else {
            continue;
        };
        if let Some((a, b)) = Hours::overlap(&hours) {
            fail(
                format!("holiday {date}: '{}' and '{}' overlap", hours[a], hours[b]),
                span.clone(),
            );
        }
        if holidays.insert(date, hours).is_some() {
            fail(format!("holiday {date} is listed twice"), span);
        }
    }
    if let Some(path) = &raw.holidays_file {
        let span = path.span();
        let path = path.get_ref();
        match files(path) {
            Ok(Some(text)) => match calendar::ical_dates(&text) {
                // A date listed in tix.toml keeps its hours.
                Ok(dates) => dates.into_iter().for_each(|d| {
                    holidays.entry(d).or_default();
                }),
                Err(why) => fail(format!("holidays_file '{path}': {why}"), span),
            },
            Ok(None) => fail(
                format!("holidays_file '{path}' is not a committed file of the desk"),
                span,
            ),
            Err(why) => fail(format!("holidays_file '{path}': {why}"), span),
        }
    }
    if !ok.get() {
        return None;
    }
    match Calendar::new(raw.timezone.get_ref(), week, holidays) {
        Ok(cal) => Some(cal),
        Err(err @ calendar::Error::UnknownZone(_)) => {
            fail(err.to_string(), raw.timezone.span());
            None
        }
        Err(err) => {
            fail(err.to_string(), table);
            None
        }
    }
}

/// Parses one day's intervals, reporting each bad one.
fn day_hours<'t>(
    list: impl Iterator<Item = (&'t str, std::ops::Range<usize>)>,
    day: &str,
    fail: &mut Report<'_>,
) -> Vec<Hours> {
    list.filter_map(|(text, span)| match Hours::parse(text) {
        Ok(h) => Some(h),
        Err(err) => {
            fail(format!("{day}: {err}"), span);
            None
        }
    })
    .collect()
}

/// Reads one `holidays` entry: `"2025-12-25"`, a TOML date, or
/// `{ date = "2025-12-24", hours = ["09:00-13:00"] }` (no hours = closed).
fn holiday_entry(
    value: &toml::Value,
    span: std::ops::Range<usize>,
    fail: &mut Report<'_>,
) -> Option<(chrono::NaiveDate, Vec<Hours>)> {
    let date = |value: &toml::Value, fail: &mut Report<'_>| {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => d.to_string(),
            other => other.to_string(),
        };
        let parsed = chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok();
        if parsed.is_none() {
            fail(
                format!("holiday {text} is not a date (YYYY-MM-DD)"),
                span.clone(),
            );
        }
        parsed
    };
    let toml::Value::Table(table) = value else {
        return date(value, fail).map(|d| (d, Vec::new()));
    };
    let mut ok = true;
    for key in table
        .keys()
        .filter(|k| !matches!(k.as_str(), "date" | "hours"))
    {
        ok = false;
        fail(
            format!("holiday: unknown key '{key}' (use date and hours)"),
            span.clone(),
        );
    }
    let Some(day) = table.get("date") else {
        fail("holiday: a table needs `date`".into(), span);
        return None;
    };
    let day = date(day, fail);
    let hours = match table.get("hours") {
        None => Vec::new(),
        Some(toml::Value::Array(list)) => {
            let mut texts = Vec::new();
            for item in list {
                match item.as_str() {
                    Some(text) => texts.push(text),
                    None => {
                        ok = false;
                        fail(
                            format!(
                                "holiday: hours must be strings like \"09:00-13:00\", not {item}"
                            ),
                            span.clone(),
                        );
                    }
                }
            }
            let before = texts.len();
            let hours = day_hours(
                texts.into_iter().map(|t| (t, span.clone())),
                "holiday",
                fail,
            );
            ok &= hours.len() == before;
            hours
        }
        Some(other) => {
            fail(
                format!("holiday: hours must be a list like [\"09:00-13:00\"], not {other}"),
                span,
            );
            return None;
        }
    };
    day.filter(|_| ok).map(|d| (d, hours))
}

/// Builds one `[[sla.policy]]`, reporting every problem with the line of
/// the offending value; `None` when there was any. A policy naming a
/// calendar in `broken` (one that was already reported) adds no problem.
fn build_policy(
    policy: Spanned<RawPolicy>,
    calendars: &BTreeMap<String, Calendar>,
    broken: &BTreeSet<String>,
    problem: &mut Report<'_>,
) -> Option<Policy> {
    let raw = policy.into_inner();
    let name = raw.name;
    let ok = std::cell::Cell::new(true);
    let mut fail = |message: String, span: std::ops::Range<usize>| {
        ok.set(false);
        problem(format!("SLA policy '{name}': {message}"), span);
    };
    let calendar = match &raw.calendar {
        None => Some(Calendar::always()),
        Some(given) => {
            let cal = calendars.get(given.get_ref()).cloned();
            if cal.is_none() && !broken.contains(given.get_ref()) {
                let mut known: Vec<&str> = calendars.keys().map(String::as_str).collect();
                known.extend(broken.iter().map(String::as_str));
                known.sort_unstable();
                fail(
                    format!(
                        "unknown calendar '{}' (tix.toml defines {})",
                        given.get_ref(),
                        known.join(", ")
                    ),
                    given.span(),
                );
            }
            cal
        }
    };
    let pause: Vec<Category> = match &raw.pause_resolution_in {
        None => vec![Category::Waiting, Category::OnHold],
        Some(list) => list
            .iter()
            .filter_map(|c| {
                let category = Category::parse(c.get_ref());
                if category.is_none() {
                    fail(
                        format!(
                            "unknown category '{}' in pause_resolution_in (use new, open, waiting or on_hold)",
                            c.get_ref()
                        ),
                        c.span(),
                    );
                }
                category
            })
            .collect(),
    };
    let warn_before = raw.warn_before.as_ref().and_then(|warn| {
        let parsed = WarnBefore::parse(warn.get_ref());
        if parsed.is_none() {
            fail(
                format!(
                    "warn_before '{}' is not a duration like 30m or a share like 20%",
                    warn.get_ref()
                ),
                warn.span(),
            );
        }
        parsed
    });
    let targets = policy_targets(&raw.targets, &mut fail);
    let m = raw.matches;
    let matches = Match {
        department: m.department,
        priority: m.priority,
        tags_any: m.tags_any,
        customer_domain: m.customer_domain,
        field: m.field,
    };
    let calendar = calendar.filter(|_| ok.get())?;
    Some(Policy {
        name,
        matches,
        calendar,
        pause,
        warn_before,
        targets,
    })
}

/// Reads a policy's `[sla.policy.targets]`: durations by priority.
fn policy_targets(
    raw: &BTreeMap<String, Spanned<RawTargets>>,
    fail: &mut Report<'_>,
) -> BTreeMap<Priority, Targets> {
    let mut duration = |text: &Option<Spanned<String>>| {
        let text = text.as_ref()?;
        let secs = crate::model::parse_duration_secs(text.get_ref());
        if secs.is_none() {
            fail(
                format!("'{}' is not a duration like 8h or 3d", text.get_ref()),
                text.span(),
            );
        }
        secs
    };
    let mut targets = BTreeMap::new();
    let mut bad_priorities = Vec::new();
    for (priority, raw_targets) in raw {
        let span = raw_targets.span();
        let t = raw_targets.get_ref();
        let parsed = Targets {
            first_reply: duration(&t.first_reply),
            next_reply: duration(&t.next_reply),
            resolution: duration(&t.resolution),
            first_assign: duration(&t.first_assign),
        };
        match priority.parse::<Priority>() {
            Ok(priority) => {
                targets.insert(priority, parsed);
            }
            Err(e) => bad_priorities.push((e, span)),
        }
    }
    for (message, span) in bad_priorities {
        fail(message, span);
    }
    targets
}
