//! `tix report` end to end: a desk scripted through the command line with
//! a fixed clock, and every number of the report checked against a value
//! computed by hand from the script (src/domain/report.rs defines them);
//! CSV, table and HTML renderings; `--at` on `list`, `show` and `report`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::TestEnv;

/// The moment of every report on the scripted desk: Tuesday noon.
const NOW: &str = "2025-03-04T12:00:00Z";

/// Raj, the second agent.
const RAJ: &str = "Raj Patel <raj@desk.test>";

/// The default policy's targets, replaced so that every SLA metric has
/// instances in the script.
const TARGETS: &str = "[sla.policy.targets]
urgent = { first_reply = \"1h\", resolution = \"8h\" }
high = { first_reply = \"4h\", resolution = \"24h\", first_assign = \"30m\" }
normal = { first_reply = \"8h\", next_reply = \"2h\", resolution = \"72h\" }
low = { first_reply = \"24h\", resolution = \"168h\" }";

/// Office hours (business time) and the people of the desk.
const OFFICE_AND_PEOPLE: &str = r#"
[calendar.office]
timezone = "UTC"
mon = ["09:00-17:00"]
tue = ["09:00-17:00"]
wed = ["09:00-17:00"]
thu = ["09:00-17:00"]
fri = ["09:00-17:00"]

[[department]]
name = "billing"

[[agent]]
name = "Ana Lima"
email = "ana@desk.test"
departments = ["billing"]

[[agent]]
name = "Raj Patel"
email = "raj@desk.test"
departments = ["billing"]
"#;

fn mon(hm: &str) -> String {
    format!("2025-03-03T{hm}:00Z")
}

fn tue(hm: &str) -> String {
    format!("2025-03-04T{hm}:00Z")
}

/// Runs `tix ARGS` at `at`.
fn step(env: &TestEnv, at: &str, args: &[&str]) {
    env.at(at);
    env.ok(args);
}

/// A ticket from `email` with a first customer message, created at `at`.
fn ticket(env: &TestEnv, at: &str, subject: &str, email: &str, extra: &[&str]) -> String {
    env.at(at);
    let args = [&["--email", email, "-m", "Help"][..], extra].concat();
    env.new_ticket_with(subject, &args)
}

/// The scripted desk. 2025-03-03 is a Monday; every time is UTC; the SLA
/// calendar is office hours, Mon-Fri 09:00-17:00 ("biz" below: business
/// time in it). Ana (`TIX_AGENT`) acts unless Raj is named.
///
/// - `e` Password, normal: created Mon 08:00; Ana replies 08:10
///   (answered). Never assigned. First reply 10m, biz 0 (before hours).
/// - `a` Printer, normal: created Mon 09:00; Ana replies 09:30; the
///   customer writes 10:00; Ana replies and resolves 10:20 (which assigns
///   her); the customer writes 11:00 (a reopen); Ana replies and resolves
///   Tue 09:00; rated 5 Tue 09:10. First reply 30m; next replies 20m and
///   22h (biz 6h: Mon 11-17); first resolution 80m; full resolution (the
///   last solve) 24h, biz 8h (Mon 09-17).
/// - `b` Invoice, high, billing: created Mon 10:00; assigned to Raj 10:05;
///   Raj replies 11:00; Ana force-closes it 12:00. First reply 60m; first
///   and full resolution (a forced close) 120m; biz the same.
/// - `c` Refund, urgent: created Mon 13:00; assigned to Ana 13:05; never
///   replied, still new.
/// - `d` Login, low: created Tue 08:00; Ana replies and resolves 08:30;
///   rated 2 Tue 09:00. First reply and resolutions 30m, biz 0.
///
/// SLA outcomes, dated at the fulfilment or, for a breach, at the due
/// time: e first_reply met (Mon 08:10); a first_reply met (09:30),
/// next_reply met (10:20), next_reply breached (due Mon 13:00 = 11:00 +
/// 2h), resolution met (Tue 09:00); b first_assign met (10:05),
/// first_reply met (11:00), resolution met (12:00); c first_reply breached
/// (due Mon 14:00), its resolution (due Tue 13:00) still running at Tue
/// 12:00; d first_reply and resolution met (Tue 08:30).
struct Desk {
    env: TestEnv,
    c: String,
}

fn desk() -> Desk {
    let env = TestEnv::empty();
    env.at(&mon("07:00"));
    env.ok(&["init"]);
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let start = text.find("[sla.policy.targets]").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    let text = format!("{}{TARGETS}{}", &text[..start], &text[end..]).replacen(
        "calendar = \"24x7\"",
        "calendar = \"office\"",
        1,
    );
    env.commit_file("tix.toml", &(text + OFFICE_AND_PEOPLE));

    let e = ticket(&env, &mon("08:00"), "Password", "eve@example.com", &[]);
    step(&env, &mon("08:10"), &["reply", &e, "-m", "Reset link sent"]);
    let a = ticket(&env, &mon("09:00"), "Printer", "bo@example.com", &[]);
    step(&env, &mon("09:30"), &["reply", &a, "-m", "Unplug it"]);
    let b = ticket(
        &env,
        &mon("10:00"),
        "Invoice",
        "cy@example.com",
        &["--priority", "high", "--department", "billing"],
    );
    step(
        &env,
        &mon("10:00"),
        &["reply", &a, "--customer", "-m", "Hot"],
    );
    step(&env, &mon("10:05"), &["assign", &b, "Raj Patel"]);
    step(
        &env,
        &mon("10:20"),
        &["reply", &a, "-m", "Fuser", "--resolve"],
    );
    step(
        &env,
        &mon("11:00"),
        &["reply", &a, "--customer", "-m", "No"],
    );
    step(
        &env,
        &mon("11:00"),
        &["--as", RAJ, "reply", &b, "-m", "Fixed"],
    );
    let close = ["close", &b, "--force", "--reason", "Billing run redone"];
    step(&env, &mon("12:00"), &close);
    let c = ticket(
        &env,
        &mon("13:00"),
        "Refund",
        "dee@example.com",
        &["--priority", "urgent"],
    );
    step(&env, &mon("13:05"), &["assign", &c, "Ana Lima"]);
    let d = ticket(
        &env,
        &tue("08:00"),
        "Login",
        "fay@example.com",
        &["--priority", "low"],
    );
    step(
        &env,
        &tue("08:30"),
        &["reply", &d, "-m", "Done", "--resolve"],
    );
    step(
        &env,
        &tue("09:00"),
        &["reply", &a, "-m", "New one", "--resolve"],
    );
    step(&env, &tue("09:00"), &["rate", &d, "2"]);
    step(
        &env,
        &tue("09:10"),
        &["rate", &a, "5", "--comment", "Great"],
    );
    env.at(NOW);
    Desk { env, c }
}

// ---------------------------------------------------------------------------
// The expected JSON, built from hand-computed numbers.
// ---------------------------------------------------------------------------

/// A time metric: count, then [mean, median, p90] whole minutes (rounded
/// down) in calendar time and in business time.
fn stat(count: u64, calendar: [i64; 3], business: [i64; 3]) -> Value {
    json!({
        "count": count,
        "mean_minutes": calendar[0], "median_minutes": calendar[1], "p90_minutes": calendar[2],
        "business": {
            "mean_minutes": business[0], "median_minutes": business[1], "p90_minutes": business[2]
        }
    })
}

/// A time metric without values: every number null.
fn no_stat() -> Value {
    let none = json!({ "mean_minutes": null, "median_minutes": null, "p90_minutes": null });
    let mut stat = none.clone();
    stat["count"] = json!(0);
    stat["business"] = none;
    stat
}

/// An SLA metric: achieved and breached instances; the rate follows.
fn sla(achieved: u64, breached: u64) -> Value {
    let total = achieved + breached;
    let rate = (total > 0).then(|| achieved as f64 / total as f64);
    json!({ "achieved": achieved, "breached": breached, "rate": rate })
}

/// What one set of tickets should report.
struct Expected {
    /// created, resolved, resolve_actions, closed, auto_closed, reopened.
    volumes: [u64; 6],
    /// first_reply, next_reply, first_resolution, full_resolution.
    times: [Value; 4],
    /// first_reply, next_reply, resolution, first_assign.
    sla: [Value; 4],
    /// one_touch, reopen, premature_autoclose.
    rates: [Option<f64>; 3],
    /// count, average, share_4_5, response_rate.
    satisfaction: (u64, Option<f64>, Option<f64>, Option<f64>),
    /// by_status (total: their sum) and by_age.
    backlog: (Value, [u64; 5]),
}

impl Expected {
    fn json(self) -> Value {
        let [
            created,
            resolved,
            resolve_actions,
            closed,
            auto_closed,
            reopened,
        ] = self.volumes;
        let [first_reply, next_reply, first_resolution, full_resolution] = self.times;
        let [sla_first_reply, sla_next_reply, resolution, first_assign] = self.sla;
        let [one_touch, reopen, premature] = self.rates;
        let (count, average, share, response) = self.satisfaction;
        let (by_status, ages) = self.backlog;
        let total: u64 = by_status
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        json!({
            "volumes": { "created": created, "resolved": resolved,
                "resolve_actions": resolve_actions, "closed": closed,
                "auto_closed": auto_closed, "reopened": reopened },
            "first_reply": first_reply,
            "next_reply": next_reply,
            "first_resolution": first_resolution,
            "full_resolution": full_resolution,
            "sla": { "first_reply": sla_first_reply, "next_reply": sla_next_reply,
                "resolution": resolution, "first_assign": first_assign },
            "one_touch_rate": one_touch,
            "reopen_rate": reopen,
            "premature_autoclose_rate": premature,
            "satisfaction": { "count": count, "average": average, "share_4_5": share,
                "response_rate": response },
            "backlog": { "total": total, "by_status": by_status,
                "by_age": { "<1d": ages[0], "1-3d": ages[1], "3-7d": ages[2],
                    "7-30d": ages[3], ">30d": ages[4] } }
        })
    }

    /// The metrics of a group: the same keys plus `key`.
    fn group(self, key: &str) -> Value {
        let mut group = self.json();
        group["key"] = json!(key);
        group
    }
}

/// A whole report: the period, the revision, the metrics and the groups.
fn report(since: &str, until: &str, metrics: Expected, groups: Vec<Value>) -> Value {
    let mut report = metrics.json();
    report["since"] = json!(since);
    report["until"] = json!(until);
    report["at"] = Value::Null;
    report["groups"] = Value::Array(groups);
    report
}

/// Compares two JSON objects key by key (a readable failure), then as a
/// whole (no key missing or extra). The time in categories and the
/// stations (keys beyond the documented contract, computed per ticket and
/// aggregated as the other times are; their sums are unit-tested in the
/// report module) are checked for shape only.
fn assert_json(actual: &Value, expected: &Value, what: &str) {
    let mut actual = actual.clone();
    let object = actual.as_object_mut().unwrap();
    for (key, parts) in [
        (
            "time_in",
            &["requester_wait", "agent_work", "waiting", "on_hold"][..],
        ),
        ("stations", &["assignees", "departments"][..]),
    ] {
        let value = object
            .remove(key)
            .unwrap_or_else(|| panic!("{what}: no key {key}"));
        for part in parts {
            assert!(
                value.get(part).is_some(),
                "{what}: {key}.{part} missing: {value}"
            );
        }
    }
    for group in object
        .get_mut("groups")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let group = group.as_object_mut().unwrap();
        group.remove("time_in");
        group.remove("stations");
    }
    for (key, value) in expected.as_object().unwrap() {
        assert_eq!(actual.get(key), Some(value), "{what}: key {key}");
    }
    assert_eq!(&actual, expected, "{what}");
}

/// Mon 00:00 to Tue 12:00: everything.
fn whole_desk() -> Expected {
    Expected {
        volumes: [5, 2, 3, 1, 0, 1],
        times: [
            // e 600 s (biz 0), a 1800 (1800), b 3600 (3600), d 1800 (0):
            // mean 7800/4 = 1950 s = 32m; median (1800+1800)/2 = 30m;
            // p90 rank ceil(3.6) = 4: 60m. Business: mean 5400/4 = 1350 s
            // = 22m, median (0+1800)/2 = 15m, p90 60m.
            stat(4, [32, 30, 60], [22, 15, 60]),
            // a: 1200 s (1200) and 79200 s (21600): mean 40200 s = 670m.
            stat(2, [670, 670, 1320], [190, 190, 360]),
            // a 4800, b 7200, d 1800 (biz 0): mean 13800/3 = 4600 s = 76m.
            stat(3, [76, 80, 120], [66, 80, 120]),
            // a 86400 (28800), b 7200 (7200), d 1800 (0): mean 31800 s.
            stat(3, [530, 120, 1440], [200, 120, 480]),
        ],
        sla: [sla(4, 1), sla(1, 1), sla(3, 0), sla(1, 0)],
        // Done in the period a, b, d; a has 3 replies: 2/3 one-touch.
        // Solved a and d, a reopened: 1/2.
        rates: [Some(2.0 / 3.0), Some(0.5), None],
        satisfaction: (2, Some(3.5), Some(0.5), Some(1.0)),
        // c new (23h old), e answered (28h old).
        backlog: (json!({ "answered": 1, "new": 1 }), [1, 1, 0, 0, 0]),
    }
}

#[test]
fn a_two_day_desk_reports_the_numbers_computed_by_hand() {
    let Desk { env, .. } = desk();
    let args = ["report", "--since", "2025-03-03", "--format", "json"];
    let json = env.json(&args);
    let expected = report("2025-03-03T00:00:00Z", NOW, whole_desk(), vec![]);
    assert_json(&json, &expected, "Mon 00:00 to now");
    // The same again, from the facts cache.
    assert_eq!(env.json(&args), json);
    // Without --since: all of history, the same numbers here.
    let all = env.json(&["report", "--format", "json"]);
    assert!(all["since"].is_null(), "{all}");
    assert_eq!(all["volumes"], expected["volumes"]);
    assert_eq!(all["full_resolution"], expected["full_resolution"]);
}

fn monday() -> Expected {
    Expected {
        // e, a, b, c created; a solved at 10:20 and reopened; b closed.
        volumes: [4, 1, 1, 1, 0, 1],
        times: [
            // e 600 (0), a 1800, b 3600: mean 2000 s = 33m; biz 5400/3.
            stat(3, [33, 30, 60], [30, 30, 60]),
            stat(1, [20, 20, 20], [20, 20, 20]),
            // a 4800, b 7200: mean and median 6000 s, p90 rank 2.
            stat(2, [100, 100, 120], [100, 100, 120]),
            // a's full resolution ends on Tuesday: only b.
            stat(1, [120, 120, 120], [120, 120, 120]),
        ],
        // a's resolution is met on Tuesday; a's breached next reply is
        // dated at its due time, Mon 13:00, so it is Monday's.
        sla: [sla(3, 1), sla(1, 1), sla(1, 0), sla(1, 0)],
        // Done a (2 replies by Monday's end) and b (1): 1/2. Solved a, reopened.
        rates: [Some(0.5), Some(1.0), None],
        // a was solved on Monday, rated only on Tuesday.
        satisfaction: (0, None, None, Some(0.0)),
        backlog: (
            json!({ "answered": 1, "new": 1, "open": 1 }),
            [3, 0, 0, 0, 0],
        ),
    }
}

fn tuesday() -> Expected {
    Expected {
        volumes: [1, 2, 2, 0, 0, 0],
        times: [
            stat(1, [30, 30, 30], [0, 0, 0]),
            stat(1, [1320, 1320, 1320], [360, 360, 360]),
            stat(1, [30, 30, 30], [0, 0, 0]),
            // a 86400 (28800) and d 1800 (0): mean 44100 s = 735m.
            stat(2, [735, 735, 1440], [240, 240, 480]),
        ],
        sla: [sla(1, 0), sla(0, 0), sla(2, 0), sla(0, 0)],
        rates: [Some(0.5), Some(0.5), None],
        satisfaction: (2, Some(3.5), Some(0.5), Some(1.0)),
        backlog: (json!({ "answered": 1, "new": 1 }), [1, 1, 0, 0, 0]),
    }
}

fn nothing() -> Expected {
    Expected {
        volumes: [0; 6],
        times: [no_stat(), no_stat(), no_stat(), no_stat()],
        sla: [sla(0, 0), sla(0, 0), sla(0, 0), sla(0, 0)],
        rates: [None, None, None],
        satisfaction: (0, None, None, None),
        backlog: (json!({}), [0; 5]),
    }
}

#[test]
fn since_and_until_cut_events_out_of_the_period() {
    let Desk { env, .. } = desk();
    let monday_end = "2025-03-03T23:59:59Z";
    let json = env.json(&[
        "report",
        "--since",
        "2025-03-03",
        "--until",
        monday_end,
        "--format",
        "json",
    ]);
    let expected = report("2025-03-03T00:00:00Z", monday_end, monday(), vec![]);
    assert_json(&json, &expected, "Monday");
    let json = env.json(&["report", "--since", "2025-03-04", "--format", "json"]);
    let expected = report("2025-03-04T00:00:00Z", NOW, tuesday(), vec![]);
    assert_json(&json, &expected, "Tuesday");
    // A duration ago: the last 3 hours (09:00 to noon) hold a's last
    // solve (09:00, both ends included) and both ratings.
    let json = env.json(&["report", "--since", "3h", "--format", "json"]);
    assert_eq!(json["since"], tue("09:00"));
    assert_eq!(json["volumes"]["resolve_actions"], 1, "{json}");
    assert_eq!(json["satisfaction"]["count"], 2, "{json}");
    // Before the desk: nothing but nulls and zeros, and no group.
    let february = "2025-02-28T23:59:59Z";
    let json = env.json(&[
        "report",
        "--since",
        "2025-02-01",
        "--until",
        february,
        "--by",
        "agent",
        "--format",
        "json",
    ]);
    let expected = report("2025-02-01T00:00:00Z", february, nothing(), vec![]);
    assert_json(&json, &expected, "February");
}

fn ana() -> Expected {
    Expected {
        // a, c, d.
        volumes: [3, 2, 3, 0, 0, 1],
        times: [
            // a 1800 (1800), d 1800 (0).
            stat(2, [30, 30, 30], [15, 15, 30]),
            stat(2, [670, 670, 1320], [190, 190, 360]),
            // a 4800 (4800), d 1800 (0).
            stat(2, [55, 55, 80], [40, 40, 80]),
            stat(2, [735, 735, 1440], [240, 240, 480]),
        ],
        // c's breached first reply is Ana's.
        sla: [sla(2, 1), sla(1, 1), sla(2, 0), sla(0, 0)],
        rates: [Some(0.5), Some(0.5), None],
        satisfaction: (2, Some(3.5), Some(0.5), Some(1.0)),
        backlog: (json!({ "new": 1 }), [1, 0, 0, 0, 0]),
    }
}

fn raj() -> Expected {
    Expected {
        // b: created and force-closed, never solved.
        volumes: [1, 0, 0, 1, 0, 0],
        times: [
            stat(1, [60, 60, 60], [60, 60, 60]),
            no_stat(),
            stat(1, [120, 120, 120], [120, 120, 120]),
            stat(1, [120, 120, 120], [120, 120, 120]),
        ],
        sla: [sla(1, 0), sla(0, 0), sla(1, 0), sla(1, 0)],
        // One reply: one touch; nothing solved: no reopen or response rate.
        rates: [Some(1.0), None, None],
        satisfaction: (0, None, None, None),
        backlog: (json!({}), [0; 5]),
    }
}

fn unassigned() -> Expected {
    Expected {
        // e: answered, waiting since Monday 08:10.
        volumes: [1, 0, 0, 0, 0, 0],
        times: [
            stat(1, [10, 10, 10], [0, 0, 0]),
            no_stat(),
            no_stat(),
            no_stat(),
        ],
        sla: [sla(1, 0), sla(0, 0), sla(0, 0), sla(0, 0)],
        rates: [None, None, None],
        satisfaction: (0, None, None, None),
        backlog: (json!({ "answered": 1 }), [0, 1, 0, 0, 0]),
    }
}

#[test]
fn by_agent_gives_each_assignee_its_own_numbers() {
    let Desk { env, .. } = desk();
    let json = env.json(&[
        "report",
        "--since",
        "2025-03-03",
        "--by",
        "agent",
        "--format",
        "json",
    ]);
    let groups = vec![
        ana().group("ana@desk.test"),
        raj().group("raj@desk.test"),
        unassigned().group("(none)"),
    ];
    let keys: Vec<&Value> = groups.iter().map(|g| &g["key"]).collect();
    let actual: Vec<&Value> = json["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| &g["key"])
        .collect();
    assert_eq!(actual, keys, "one group per assignee, none last");
    for (actual, expected) in json["groups"].as_array().unwrap().iter().zip(&groups) {
        assert_json(actual, expected, expected["key"].as_str().unwrap());
    }
    let expected = report("2025-03-03T00:00:00Z", NOW, whole_desk(), groups);
    assert_json(&json, &expected, "by agent");
    let keys_by = |by: &str| -> Vec<String> {
        let json = env.json(&["report", "--by", by, "--format", "json"]);
        json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["key"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(keys_by("department"), ["billing", "(none)"]);
    assert_eq!(keys_by("priority"), ["low", "normal", "high", "urgent"]);
    assert_eq!(keys_by("tag"), ["(none)"]);
}

// ---------------------------------------------------------------------------
// CSV, table, HTML.
// ---------------------------------------------------------------------------

/// The `(metric, value)` leaves of a JSON object as `tix report --format
/// csv` writes them: dotted paths, null as an empty value.
fn leaves(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                leaves(&path, inner, out);
            }
        }
        Value::Null => out.push((prefix.to_owned(), String::new())),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// The rows the CSV should hold for a JSON report.
fn csv_rows(json: &Value) -> BTreeSet<String> {
    let mut rows = BTreeSet::new();
    let mut add = |group: &str, metrics: &Value, skip: &[&str]| {
        let mut metrics = metrics.clone();
        for key in skip {
            metrics.as_object_mut().unwrap().remove(*key);
        }
        let mut pairs = Vec::new();
        leaves("", &metrics, &mut pairs);
        for (metric, value) in pairs {
            assert!(rows.insert(format!("{group},{metric},{value}")));
        }
    };
    add("(all)", json, &["since", "until", "at", "groups"]);
    for group in json["groups"].as_array().unwrap() {
        add(group["key"].as_str().unwrap(), group, &["key"]);
    }
    rows
}

#[test]
fn csv_has_one_row_per_group_and_metric_matching_the_json() {
    let Desk { env, c } = desk();
    let by_agent = ["report", "--since", "2025-03-03", "--by", "agent"];
    let json = env.json(&[&by_agent[..], &["--format", "json"]].concat());
    let csv = env.ok(&[&by_agent[..], &["--format", "csv"]].concat());
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("group,metric,value"));
    let rows: Vec<&str> = lines.collect();
    let unique: BTreeSet<String> = rows.iter().map(|r| (*r).to_owned()).collect();
    assert_eq!(unique.len(), rows.len(), "no row twice:\n{csv}");
    assert_eq!(unique, csv_rows(&json));
    // 4 groups (all, ana, raj, none), each with volumes (6), 4 times (7
    // each), SLA (12), 3 rates, satisfaction (4), backlog total and ages
    // (6), time in 4 categories (7 each), 2 stations, and one row per
    // backlog status: all 2, Ana 1, Raj 0, none 1.
    let statuses = 4;
    assert_eq!(
        rows.len(),
        4 * (6 + 28 + 12 + 3 + 4 + 6 + 28 + 2) + statuses
    );
    for row in [
        "(all),first_reply.mean_minutes,32",
        "(all),first_reply.business.median_minutes,15",
        "(all),one_touch_rate,0.6666666666666666",
        "(all),sla.first_reply.rate,0.8",
        "(all),backlog.by_age.1-3d,1",
        "ana@desk.test,sla.first_reply.rate,0.6666666666666666",
        "ana@desk.test,full_resolution.business.p90_minutes,480",
        "raj@desk.test,next_reply.mean_minutes,",
        "raj@desk.test,sla.first_assign.achieved,1",
        "(none),backlog.by_status.answered,1",
        "(none),satisfaction.average,",
    ] {
        assert!(rows.contains(&row), "no row {row} in\n{csv}");
    }
    // A group name is quoted where it must be, and defused against
    // spreadsheet formulas.
    env.ok(&["edit", &c, "--tag", "=HYPERLINK(\"x\")"]);
    let csv = env.ok(&["report", "--by", "tag", "--format", "csv"]);
    assert!(
        csv.lines()
            .any(|l| l == "\"'=HYPERLINK(\"\"x\"\")\",volumes.created,1"),
        "{csv}"
    );
    assert!(!csv.lines().any(|l| l.starts_with('=')), "{csv}");
}

/// The cells of the line of `page` starting with `start` (cells are
/// separated by at least two spaces).
fn cells<'p>(page: &'p str, start: &str) -> Vec<&'p str> {
    let line = page
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line {start:?} in\n{page}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn the_table_shows_humanised_durations_and_the_groups() {
    let Desk { env, .. } = desk();
    let page = env.ok(&["report", "--since", "2025-03-03", "--by", "agent"]);
    assert_eq!(
        page.lines().next(),
        Some("Report from 2025-03-03 00:00:00 to 2025-03-04 12:00:00")
    );
    // COUNT MEAN MEDIAN P90 BUS.MED BUS.P90.
    let rows = [
        ("  first reply", ["4", "32m", "30m", "1h", "15m", "1h"]),
        (
            "  next reply",
            ["2", "11h 10m", "11h 10m", "22h", "3h 10m", "6h"],
        ),
        (
            "  first resolution",
            ["3", "1h 16m", "1h 20m", "2h", "1h 20m", "2h"],
        ),
        ("  full resolution", ["3", "8h 50m", "2h", "1d", "2h", "8h"]),
    ];
    for (start, expected) in rows {
        assert_eq!(cells(&page, start)[1..], expected, "{start}:\n{page}");
    }
    assert!(page.contains("created 5, resolved 2 (3 resolves), closed 1"));
    assert!(page.contains("one-touch 67%, reopened 50%, auto-closed too early -"));
    assert!(page.contains("first reply 80% (4/5)"), "{page}");
    assert!(
        page.contains("2 open at the end: answered 1, new 1"),
        "{page}"
    );
    // GROUP CREATED RESOLVED 1ST REPLY RESOLUTION SLA CSAT; Ana met 5 of 7
    // SLA targets.
    let groups = [
        ("ana@desk.test", ["3", "2", "30m", "12h 15m", "71%", "3.5"]),
        ("raj@desk.test", ["1", "0", "1h", "2h", "100%", "-"]),
        ("(none)", ["1", "0", "10m", "-", "100%", "-"]),
    ];
    for (start, expected) in groups {
        assert_eq!(cells(&page, start)[1..], expected, "{start}:\n{page}");
    }
}

#[test]
fn the_table_fits_80_columns() {
    let Desk { env, .. } = desk();
    for by in ["agent", "tag"] {
        let page = env.ok(&["report", "--since", "2025-03-03", "--by", by]);
        let long: Vec<&str> = page.lines().filter(|l| l.chars().count() > 80).collect();
        assert!(long.is_empty(), "lines over 80 columns: {long:#?}");
    }
}

#[test]
fn the_times_columns_line_up() {
    let Desk { env, .. } = desk();
    let page = env.ok(&["report", "--since", "2025-03-03"]);
    let header = page.lines().find(|l| l.starts_with("Times")).unwrap();
    // Where the COUNT header ends, each row's count ends.
    let end = header.find("COUNT").unwrap() + "COUNT".len();
    for name in [
        "first reply",
        "next reply",
        "first resolution",
        "full resolution",
    ] {
        let line = page
            .lines()
            .find(|l| l.starts_with(&format!("  {name} ")))
            .unwrap();
        let count = &line[..end];
        assert!(
            count.ends_with(|c: char| c.is_ascii_digit()),
            "{name}: {line:?} under {header:?}"
        );
        assert_eq!(line.len(), header.len(), "{name}:\n{page}");
    }
}

/// HTML void elements, which have no end tag.
const VOID: [&str; 8] = ["meta", "link", "br", "hr", "img", "input", "source", "wbr"];

/// Checks that every start tag of `html` is ended in order (void elements
/// and self-closed tags aside) and that no `<` stands unescaped in text.
fn check_tags(html: &str) -> Result<(), String> {
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').ok_or("a '<' without '>'")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim().to_ascii_lowercase();
            match open.pop() {
                Some(last) if last == name => continue,
                last => return Err(format!("</{name}> ends {last:?}")),
            }
        }
        let name: String = tag
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() {
            return Err(format!("a raw '<' before {tag:?}"));
        }
        if !tag.ends_with('/') && !VOID.contains(&name.as_str()) {
            open.push(name);
        }
    }
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!("never ended: {open:?}"))
    }
}

#[test]
fn the_tag_checker_finds_unbalanced_pages() {
    assert_eq!(check_tags("<p><b>x</b><br><rect/></p>"), Ok(()));
    assert!(check_tags("<p><b>x</p></b>").is_err());
    assert!(check_tags("<p>x").is_err());
    assert!(check_tags("<p>a < b</p>").is_err());
    assert!(check_tags("<svg><rect></svg>").is_err());
}

#[test]
fn html_is_one_self_contained_page_with_hostile_text_escaped() {
    let Desk { env, c } = desk();
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let named = config.replacen(
        "# name = \"Support\"",
        "name = \"Evil </title><script>alert(2)</script> & co\"",
        1,
    );
    assert_ne!(named, config);
    env.commit_file("tix.toml", &named);
    env.ok(&["edit", &c, "--tag", "<script>alert(1)</script>"]);
    let page = env.ok(&[
        "report",
        "--since",
        "2025-03-03",
        "--by",
        "tag",
        "--format",
        "html",
    ]);
    assert!(page.starts_with("<!doctype html>"), "{page}");
    let lower = page.to_ascii_lowercase();
    let outside = lower.replace("http://www.w3.org/2000/svg", "");
    assert!(!outside.contains("http://") && !outside.contains("https://"));
    assert!(!lower.contains("<script"), "no script");
    assert!(!lower.contains("<link"), "no stylesheet to fetch");
    assert!(!lower.contains(" src="), "nothing to fetch");
    assert_eq!(lower.matches("<svg ").count(), 6, "six charts");
    assert_eq!(lower.matches("</svg>").count(), 6);
    check_tags(&page).unwrap_or_else(|e| panic!("{e}:\n{page}"));
    // The tag is a group; it and the desk's name come out as text.
    assert!(page.contains("&lt;script&gt;alert(1)"), "{page}");
    assert!(page.contains("Evil &lt;"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(2)"), "{page}");
    assert!(page.contains("&amp; co"));
    assert_eq!(page.trim_end().lines().last(), Some("</html>"));
}

// ---------------------------------------------------------------------------
// Auto-closes.
// ---------------------------------------------------------------------------

#[test]
fn an_auto_close_the_customer_comes_back_to_is_premature() {
    let env = TestEnv::new();
    let p = ticket(&env, &mon("09:00"), "P", "bo@example.com", &[]);
    let q = ticket(&env, &mon("09:00"), "Q", "cy@example.com", &[]);
    let r = ticket(&env, &mon("09:00"), "R", "dee@example.com", &[]);
    for id in [&p, &q, &r] {
        step(
            &env,
            &mon("10:00"),
            &["reply", id, "-m", "Fix", "--resolve"],
        );
    }
    // Resolved for 4 days: the default rule closes all three.
    env.at("2025-03-07T10:00:00Z");
    assert!(env.ok(&["autoclose"]).contains("close-solved-4d: 3"));
    // p is reopened a day later, r gets a follow-up two days later; q stays.
    step(&env, "2025-03-08T10:00:00Z", &["reopen", &p, "-m", "Back"]);
    env.at("2025-03-09T10:00:00Z");
    env.new_ticket_with(
        "R again",
        &["--follow-up", &r, "--email", "dee@example.com"],
    );
    env.at("2025-03-10T00:00:00Z");
    let json = env.json(&["report", "--since", "2025-03-03", "--format", "json"]);
    let volumes = json!({ "created": 4, "resolved": 3, "resolve_actions": 3,
        "closed": 3, "auto_closed": 3, "reopened": 1 });
    assert_eq!(json["volumes"], volumes);
    assert_eq!(json["premature_autoclose_rate"], json!(2.0 / 3.0));
    // Of the three solved, p was reopened.
    assert_eq!(json["reopen_rate"], json!(1.0 / 3.0));
    assert_eq!(json["one_touch_rate"], json!(1.0));
    // p is open again: no full resolution; q and r: 60 minutes.
    assert_eq!(json["first_resolution"], stat(3, [60; 3], [60; 3]));
    assert_eq!(json["full_resolution"], stat(2, [60; 3], [60; 3]));
    assert_eq!(json["backlog"]["by_status"], json!({ "new": 1, "open": 1 }));
    // A period ending with the closes: the seven days reach past it.
    let json = env.json(&[
        "report",
        "--since",
        "2025-03-03",
        "--until",
        "2025-03-07T23:59:59Z",
        "--format",
        "json",
    ]);
    assert_eq!(json["volumes"]["auto_closed"], 3);
    assert_eq!(json["volumes"]["reopened"], 0);
    assert_eq!(json["premature_autoclose_rate"], json!(2.0 / 3.0));
}

// ---------------------------------------------------------------------------
// --at.
// ---------------------------------------------------------------------------

/// Two tickets: both new at T1 (Mon 10:00); at T2 (12:00) `x` is resolved
/// and `y` answered; at T3 (15:00) `x` is closed. Returns the desk, the
/// ids and the commit after each step.
fn history() -> (TestEnv, String, String, [String; 3]) {
    let env = TestEnv::new();
    env.at(&mon("10:00"));
    let x = env.new_ticket_with("Printer", &["--email", "bo@example.com", "-m", "Hi"]);
    let y = env.new_ticket_with("Scanner", &["--email", "cy@example.com", "-m", "Hi"]);
    let t1 = env.head();
    step(&env, &mon("12:00"), &["resolve", &x]);
    step(&env, &mon("12:00"), &["reply", &y, "-m", "Hello"]);
    let t2 = env.head();
    step(&env, &mon("15:00"), &["close", &x]);
    let t3 = env.head();
    env.at(&tue("09:00"));
    (env, x, y, [t1, t2, t3])
}

/// `tix list --all ARGS` as (id, status) pairs, sorted by id.
fn statuses(env: &TestEnv, args: &[&str]) -> Vec<(String, String)> {
    let args = [&["list", "--all", "--format", "json"][..], args].concat();
    let mut pairs: Vec<(String, String)> = env
        .json(&args)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let field = |k: &str| t[k].as_str().unwrap().to_owned();
            (field("id"), field("status"))
        })
        .collect();
    pairs.sort();
    pairs
}

#[test]
fn at_shows_the_desk_as_it_was_and_writes_nothing() {
    let (env, x, y, [t1, t2, t3]) = history();
    let sorted = |a: [(&str, &str); 2]| {
        let mut v: Vec<(String, String)> = a
            .iter()
            .map(|(i, s)| ((*i).to_owned(), (*s).to_owned()))
            .collect();
        v.sort();
        v
    };
    let before = env.commits();
    let then = sorted([(x.as_str(), "new"), (y.as_str(), "new")]);
    assert_eq!(statuses(&env, &["--at", &mon("11:00")]), then);
    assert_eq!(statuses(&env, &["--at", &t1]), then);
    let later = sorted([(x.as_str(), "resolved"), (y.as_str(), "answered")]);
    assert_eq!(statuses(&env, &["--at", &mon("13:00")]), later);
    // 20 hours before Tue 09:00: Mon 13:00.
    assert_eq!(statuses(&env, &["--at", "20h"]), later);
    let now = sorted([(x.as_str(), "closed"), (y.as_str(), "answered")]);
    assert_eq!(statuses(&env, &[]), now);
    let show = env.json(&["show", &x, "--at", "HEAD~1", "--format", "json"]);
    assert_eq!(show["status"], "resolved", "{show}");
    assert_eq!(env.status(&x), "closed");

    let json = env.json(&["report", "--at", &mon("11:00"), "--format", "json"]);
    assert_eq!(json["at"], t1.as_str(), "{json}");
    assert_eq!(
        json["until"],
        mon("11:00"),
        "until defaults to the --at time"
    );
    assert_eq!(json["volumes"]["created"], 2);
    assert_eq!(json["backlog"]["by_status"], json!({ "new": 2 }));
    let json = env.json(&["report", "--at", "HEAD~1", "--format", "json"]);
    assert_eq!(json["at"], t2.as_str(), "{json}");
    assert_eq!(json["until"], mon("12:00"), "a revision's commit time");
    assert_eq!(json["volumes"]["resolved"], 1);
    assert_eq!(json["volumes"]["closed"], 0);
    assert_eq!(json["backlog"]["by_status"], json!({ "answered": 1 }));
    let page = env.ok(&["report", "--at", "HEAD~1"]);
    assert!(
        page.contains(&format!("the desk at commit {}", &t2[..10])),
        "{page}"
    );
    let json = env.json(&["report", "--format", "json"]);
    assert!(json["at"].is_null());
    assert_eq!(json["volumes"]["closed"], 1);

    assert_eq!(env.head(), t3, "HEAD unchanged");
    assert_eq!(env.commits(), before);
    assert_eq!(env.git(&["status", "--porcelain"]), "", "nothing written");
}

#[test]
fn at_refuses_moments_and_revisions_the_desk_does_not_have() {
    let (env, x, _, [.., t3]) = history();
    for args in [
        &["list", "--at", "2025-03-01"][..],
        &["show", &x, "--at", "2025-03-01"],
        &["report", "--at", "2025-03-01"],
    ] {
        let err = env.fail(args, 1);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("before the desk's first commit"), "{err}");
    }
    for args in [
        &["list", "--at", "nosuchrev"][..],
        &["show", &x, "--at", "nosuchrev"],
        &["report", "--at", "nosuchrev"],
    ] {
        let err = env.fail(args, 1);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains("'nosuchrev' names no commit"), "{err}");
    }
    // Commands that change the desk have no --at.
    env.fail(&["new", "x", "--at", "HEAD"], 2);
    env.fail(&["resolve", &x, "--at", "HEAD"], 2);
    assert_eq!(env.head(), t3);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn bad_periods_formats_and_groups_are_usage_errors() {
    let env = TestEnv::new();
    env.new_ticket("Printer");
    let err = env.fail(
        &["report", "--since", "2025-03-05", "--until", "2025-03-04"],
        2,
    );
    assert!(err.contains("--since is after --until"), "{err}");
    let err = env.fail(&["report", "--since", "nonsense"], 2);
    assert!(err.starts_with("error: --since: "), "{err}");
    let err = env.fail(&["report", "--until", "nonsense"], 2);
    assert!(err.starts_with("error: --until: "), "{err}");
    let err = env.fail(&["report", "--format", "toml"], 2);
    assert!(err.contains("invalid value 'toml' for '--format"), "{err}");
    assert!(
        err.contains("[possible values: table, json, csv, html]"),
        "{err}"
    );
    env.fail(&["report", "--by", "nobody"], 2);
    // A one-instant period is not empty.
    let json = env.json(&[
        "report",
        "--since",
        "2025-03-03T09:00:00Z",
        "--until",
        "2025-03-03T09:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(json["volumes"]["created"], 1);
}
