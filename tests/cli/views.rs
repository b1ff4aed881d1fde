//! Views: `[[view]]` in tix.toml, `tix list --view`, `tix list --views`
//! and `tix queue --view`; how flags combine with a view; bad views.

use serde::Deserialize as _;

use crate::common::{TestEnv, assert_no_panic, fixture, ids_of};

/// The desk of `tests/fixtures/views-desk.toml` with five tickets, at
/// 2025-03-05T09:00:00Z:
/// - `a` Printer on fire: urgent, new, Ana's, tech, tags hw office, plan
///   pro, customer Bo Berg, created and updated 03-01, "It smokes";
/// - `b` Invoice wrong: low, new, unassigned, billing, tag vip, plan pro,
///   customer carla@bank.example, created and updated 03-02, "Please refund";
/// - `c` VPN drops: high, Raj's, tech, tag vip, created 03-03 09:00, answered
///   (waiting) 03-04 09:00;
/// - `d` Buy cheap pills: spam@junk.example, closed 03-03 11:00;
/// - `e` Password reset: high, new, Ana's, billing, plan pro, created and
///   updated 03-04 10:00.
struct Desk {
    env: TestEnv,
    ids: Vec<String>,
}

fn desk() -> Desk {
    let env = TestEnv::new();
    env.commit_file("tix.toml", &fixture("views-desk.toml"));
    let mut ids = Vec::new();
    let mut new = |at: &str, subject: &str, flags: &[&str]| {
        env.at(at);
        ids.push(env.new_ticket_with(subject, flags));
    };
    new(
        "2025-03-01T09:00:00Z",
        "Printer on fire",
        &[
            "--customer",
            "Bo Berg",
            "--email",
            "bo@example.com",
            "--priority",
            "urgent",
            "--tag",
            "hw",
            "--tag",
            "office",
            "--department",
            "tech",
            "--assign",
            "ana@desk.test",
            "--field",
            "plan=pro",
            "-m",
            "It smokes",
        ],
    );
    new(
        "2025-03-02T09:00:00Z",
        "Invoice wrong",
        &[
            "--email",
            "carla@bank.example",
            "--priority",
            "low",
            "--tag",
            "vip",
            "--department",
            "billing",
            "--field",
            "plan=pro",
            "-m",
            "Please refund",
        ],
    );
    new(
        "2025-03-03T09:00:00Z",
        "VPN drops",
        &[
            "--priority",
            "high",
            "--tag",
            "vip",
            "--department",
            "tech",
            "--assign",
            "raj@desk.test",
        ],
    );
    new(
        "2025-03-03T10:00:00Z",
        "Buy cheap pills",
        &["--email", "spam@junk.example"],
    );
    new(
        "2025-03-04T10:00:00Z",
        "Password reset",
        &[
            "--priority",
            "high",
            "--department",
            "billing",
            "--assign",
            "ana@desk.test",
            "--field",
            "plan=pro",
        ],
    );
    env.at("2025-03-03T11:00:00Z");
    env.ok(&["close", &ids[3], "--force", "--reason", "spam"]);
    env.at("2025-03-04T09:00:00Z");
    env.ok(&["reply", &ids[2], "-m", "Which client version?"]);
    env.at("2025-03-05T09:00:00Z");
    Desk { env, ids }
}

impl Desk {
    /// The ids of tickets named by letter, sorted.
    fn want(&self, names: &str) -> Vec<String> {
        let mut ids: Vec<String> = names
            .bytes()
            .map(|n| self.ids[usize::from(n - b'a')].clone())
            .collect();
        ids.sort();
        ids
    }

    /// The ids `tix ARGS --format json` prints, sorted.
    fn ids(&self, args: &[&str]) -> Vec<String> {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--format", "json"]);
        let mut ids = ids_of(&self.env.json(&all));
        ids.sort();
        ids
    }

    /// Asserts the tickets `tix list ARGS` shows (order ignored).
    fn lists(&self, args: &[&str], names: &str) {
        let mut all = vec!["list"];
        all.extend_from_slice(args);
        assert_eq!(self.ids(&all), self.want(names), "tix list {args:?}");
    }

    /// Asserts the tickets `tix queue ARGS` shows (order ignored).
    fn queues(&self, args: &[&str], names: &str) {
        let mut all = vec!["queue"];
        all.extend_from_slice(args);
        assert_eq!(self.ids(&all), self.want(names), "tix queue {args:?}");
    }
}

#[test]
fn a_view_lists_the_tickets_its_filter_selects() {
    let d = desk();
    d.lists(&["--view", "my-urgent"], "ae");
    d.lists(&["--view", "mine"], "ae");
    d.lists(&["--view", "vip-waiting"], "c");
    // The view names Raj by name; tickets record his address.
    d.lists(&["--view", "raj"], "c");
    d.lists(&["--view", "billing-pro"], "be");
    // Durations count back: 2d is 03-03 09:00.
    d.lists(&["--view", "stale"], "ab");
    // A search reads the conversation.
    d.lists(&["--view", "refunds"], "b");
    // Naming the closed status shows closed tickets, as --status does.
    d.lists(&["--view", "spam"], "d");
    d.lists(&["--view", "recent"], "bcde");
    d.lists(&["--view", "printers-seen-by-bo"], "a");
    // A view without `when` lists what `tix list` lists.
    d.lists(&["--view", "open"], "abce");
    // A view is the same filter as its flags.
    d.lists(
        &[
            "--assignee",
            "me",
            "--priority",
            "high,urgent",
            "--category",
            "new,open",
        ],
        "ae",
    );
    // "me" is whoever acts.
    let raj = [
        "--as",
        "Raj Patel <raj@desk.test>",
        "list",
        "--view",
        "mine",
    ];
    assert_eq!(d.ids(&raj), d.want("c"));
    // The table and CSV show the same tickets as JSON.
    let table = d.env.ok(&["list", "--view", "billing-pro"]);
    let csv = d
        .env
        .ok(&["list", "--view", "billing-pro", "--format", "csv"]);
    for id in &d.ids {
        let shown = d.want("be").contains(id);
        assert_eq!(table.contains(id.as_str()), shown, "{table}");
        assert_eq!(csv.contains(id.as_str()), shown, "{csv}");
    }
}

#[test]
fn list_flags_narrow_a_view_and_flags_of_one_value_replace_its_value() {
    let d = desk();
    // Lists and switches narrow: both must hold.
    d.lists(&["--view", "my-urgent", "--priority", "urgent"], "a");
    d.lists(&["--view", "billing-pro", "--tag", "vip"], "b");
    d.lists(&["--view", "vip-waiting", "--category", "open"], "");
    d.lists(&["--view", "billing-pro", "--pending"], "b");
    d.lists(&["--view", "recent", "--status", "new"], "be");
    d.lists(&["--view", "billing-pro", "--field", "plan=free"], "");
    // A flag of one value replaces the view's: the view says billing.
    d.lists(&["--view", "billing-pro", "--department", "tech"], "a");
    // ... and Raj, by name; a name given to --assignee means the address.
    d.lists(&["--view", "raj", "--assignee", "Ana Lima"], "ae");
    d.lists(&["--view", "raj", "--assignee", "none"], "b");
    d.lists(&["--view", "raj", "--me"], "ae");
    d.lists(&["--view", "mine", "--assignee", "raj@desk.test"], "c");
    // The view's date replaced (updated before 03-05), its categories kept.
    d.lists(
        &["--view", "stale", "--updated-before", "2025-03-05"],
        "abce",
    );
    d.lists(&["--view", "refunds", "--search", "VPN"], "c");
    d.lists(&["--view", "spam", "--customer", "bank"], "");
    // --all widens: the view's closed ticket shows.
    d.lists(&["--view", "raj", "--assignee", "none", "--all"], "bd");
    // Sort, reverse and limit apply to the view's tickets.
    let ids = ids_of(&d.env.json(&[
        "list", "--view", "recent", "--sort", "created", "--limit", "2", "--format", "json",
    ]));
    assert_eq!(ids, [d.ids[1].clone(), d.ids[2].clone()]);
}

#[test]
fn list_date_flags_take_a_duration_ago_as_views_do() {
    let d = desk();
    // Now is 03-05 09:00: 3d is 03-02 09:00, which b was created at.
    d.lists(&["--created-after", "3d"], "bce");
    d.lists(&["--created-before", "3d"], "a");
    d.lists(&["--updated-after", "36h"], "ce");
}

#[test]
fn the_queue_of_a_view_keeps_its_order_and_the_queue_rules() {
    let d = desk();
    // Ana's queue: her own and unassigned new or open tickets.
    d.queues(&[], "abe");
    d.queues(&["--view", "my-urgent"], "ae");
    d.queues(&["--view", "billing-pro"], "be");
    // --department replaces the view's department.
    d.queues(&["--view", "billing-pro", "--department", "tech"], "a");
    // A view cannot widen the queue: Raj's ticket is waiting, not queued.
    d.queues(&["--view", "raj"], "");
    // "me" in a view is the agent whose queue it is.
    d.queues(&["--agent", "kim@desk.test"], "b");
    d.queues(&["--agent", "kim@desk.test", "--view", "mine"], "");
    d.queues(&["--agent", "kim@desk.test", "--view", "billing-pro"], "b");
    // The order is the queue's: the urgent ticket first.
    let queue = d
        .env
        .json(&["queue", "--view", "billing-pro", "--format", "json"]);
    let ranked: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    let full = d.env.json(&["queue", "--format", "json"]);
    let all: Vec<&str> = full
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .filter(|id| ranked.contains(id))
        .collect();
    assert_eq!(ranked, all, "a view keeps the queue's order");
    // A search finds its tickets before the limit cuts: the top of the
    // queue (the urgent printer) does not mention a refund.
    assert_eq!(full[0]["id"].as_str(), Some(d.ids[0].as_str()), "{full:#}");
    let top = d.env.json(&[
        "queue", "--view", "refunds", "--limit", "1", "--format", "json",
    ]);
    assert_eq!(ids_of(&top), [d.ids[1].clone()]);
    let table = d.env.ok(&["queue", "--view", "my-urgent"]);
    assert!(
        table.contains(&d.ids[0]) && !table.contains(&d.ids[1]),
        "{table}"
    );
}

#[test]
fn an_unknown_view_is_a_one_line_usage_error_naming_the_views() {
    let d = desk();
    for command in ["list", "queue"] {
        let err = d.env.fail(&[command, "--view", "urgnet"], 2);
        assert_eq!(
            err,
            "error: unknown view 'urgnet': tix.toml defines my-urgent, mine, vip-waiting, raj, billing-pro, stale, refunds, spam, recent, printers-seen-by-bo, open\n",
            "{command}"
        );
    }
    let env = TestEnv::new();
    let err = env.fail(&["list", "--view", "mine"], 2);
    assert_eq!(
        err,
        "error: unknown view 'mine': tix.toml defines no views (add a [[view]])\n"
    );
}

#[test]
fn views_lists_each_name_and_its_filter_as_flags() {
    let d = desk();
    let table = d.env.ok(&["list", "--views"]);
    insta::assert_snapshot!("list_views", table);
    for line in table.lines() {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line}");
    }
    let json = d.env.json(&["list", "--views", "--format", "json"]);
    let views = json.as_array().unwrap();
    assert_eq!(views.len(), 11);
    // Every key of `when` is there, set or not.
    assert_eq!(
        views[0],
        serde_json::json!({
            "name": "my-urgent",
            "when": {
                "status": [], "category": ["new", "open"], "priority": ["high", "urgent"],
                "assignee": "me", "me": false, "department": null, "tag": [],
                "customer": null, "field": {}, "pending": false, "search": null,
                "created_after": null, "created_before": null, "updated_after": null,
                "updated_before": null, "all": false
            }
        })
    );
    assert_eq!(views[3]["name"], "raj");
    assert_eq!(views[3]["when"]["assignee"], "raj@desk.test");
    assert_eq!(views[4]["when"]["department"], "billing");
    assert_eq!(
        views[4]["when"]["field"],
        serde_json::json!({ "plan": ["pro"] })
    );
    assert_eq!(views[8]["when"]["all"], true);
    // Nothing to list: a note on stderr, and an empty JSON array.
    let env = TestEnv::new();
    let out = env.tix(&["list", "--views"]);
    assert!(out.status.success() && out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No views"));
    assert_eq!(
        env.json(&["list", "--views", "--format", "json"]),
        serde_json::json!([])
    );
    // --views lists views, not tickets: filters and orders are refused.
    let err = d.env.fail(&["list", "--views", "--tag", "vip"], 2);
    assert!(err.contains("--views lists the views"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    d.env.fail(&["list", "--views", "--view", "mine"], 2);
    d.env.fail(&["list", "--views", "--limit", "1"], 2);
    d.env.fail(&["list", "--views", "--format", "csv"], 2);
}

#[test]
fn views_of_the_past_come_from_the_config_of_the_past() {
    let d = desk();
    let before = d.env.head();
    let text = std::fs::read_to_string(d.env.path("tix.toml")).unwrap();
    d.env.commit_file(
        "tix.toml",
        &format!("{text}\n[[view]]\nname = \"later\"\nwhen = {{ pending = true }}\n"),
    );
    d.lists(&["--view", "later"], "b");
    let now = d.env.json(&["list", "--views", "--format", "json"]);
    let then = d
        .env
        .json(&["list", "--views", "--at", &before, "--format", "json"]);
    assert_eq!(now.as_array().unwrap().len(), 12);
    assert_eq!(then.as_array().unwrap().len(), 11);
    d.env.fail(&["list", "--view", "later", "--at", &before], 2);
}

#[test]
fn a_bad_view_stops_every_command_and_doctor_names_each_line() {
    let env = TestEnv::new();
    env.new_ticket("Target");
    let config = "[[agent]]\nname = \"Ana Lima\"\nemail = \"ana@desk.test\"\n\n[[view]]\nname = \"a\"\nwhen = { status = \"frozen\" }\n\n[[view]]\nname = \"b\"\n[view.when]\ncategory = \"open\"\nassignee = \"kim\"\ncreated_after = \"last week\"\ntags = [\"x\"]\n\n[[view]]\nname = \"a\"\n";
    env.commit_file("tix.toml", config);
    let err = env.fail(&["list"], 1);
    assert!(
        err.starts_with(
            "error: tix.toml line 7: [[view]] 'a': key 'when.status': unknown status 'frozen'"
        ),
        "{err}"
    );
    assert!(err.contains("(and 4 more problems)"), "{err}");
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("tix.toml:"))
        .collect();
    assert_eq!(
        problems,
        [
            "tix.toml:7: [[view]] 'a': key 'when.status': unknown status 'frozen': use answered, closed, new, open, postponed, resolved",
            "tix.toml:13: [[view]] 'b': key 'when.assignee': unknown agent 'kim': tix.toml lists ana@desk.test (or use me or none)",
            "tix.toml:14: [[view]] 'b': key 'when.created_after': invalid time 'last week': expected a time (2025-03-04T09:00:00Z), a date (2025-03-04), a duration (3d, 4h, 2 weeks, 3d ago) or a word (now, today, yesterday, tomorrow, monday)",
            "tix.toml:15: unknown key `tags` in `when` of [[view]] 'b'; use status, category, priority, assignee, me, department, tag, customer, field, pending, search, created_after, created_before, updated_after, updated_before, all",
            "tix.toml:18: view 'a' is defined twice",
        ],
        "{report}"
    );
}

#[test]
fn bad_input_around_views_is_refused_without_a_panic() {
    let d = desk();
    for (args, code) in [
        (vec!["list", "--view"], 2),
        (vec!["list", "--view", ""], 2),
        (vec!["list", "--view", "../x"], 2),
        (vec!["list", "--view", "mine", "--created-after", "soon"], 2),
        (vec!["list", "--view", "mine", "--status", "frozen"], 2),
        (vec!["queue", "--view", "mine", "--department", "sales"], 1),
        (vec!["list", "--view", "mine", "--view", "raj"], 2),
    ] {
        let err = d.env.fail(&args, code);
        assert_no_panic(&err);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    // A view that asks for "me" needs to know who acts.
    let out = d
        .env
        .command(&["list", "--view", "mine"])
        .env_remove("TIX_AGENT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_no_panic(&stderr);
    assert!(out.stdout.is_empty());
    // One that does not, does not.
    let out = d
        .env
        .command(&["list", "--view", "raj", "--format", "json"])
        .env_remove("TIX_AGENT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_key_table_of_configuration_md_is_every_key_a_view_reads() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/configuration.md"
    ))
    .unwrap();
    let rows: Vec<(String, String)> = doc
        .lines()
        .skip_while(|l| !l.starts_with("## `[[view]]`"))
        .skip_while(|l| !l.starts_with("| key | flag |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split('|').collect();
            let cell = |i: usize| cells[i].trim().trim_matches('`').to_owned();
            (cell(0), cell(1))
        })
        .collect();
    // The keys tix reads, as its message for an unknown key lists them.
    let err = tix::domain::filter::Filter::deserialize(
        toml::de::ValueDeserializer::parse("{ no_such_key = 1 }").unwrap(),
    )
    .unwrap_err()
    .to_string();
    let listed = err.split_once("expected one of ").unwrap().1;
    let keys: Vec<String> = listed
        .lines()
        .next()
        .unwrap()
        .split(", ")
        .map(|k| k.trim().trim_matches('`').to_owned())
        .collect();
    let documented: Vec<String> = rows.iter().map(|(key, _)| key.clone()).collect();
    assert_eq!(documented, keys);
    for (key, flag) in &rows {
        assert_eq!(*flag, format!("--{}", key.replace('_', "-")));
    }
}
