//! `tix automate` / `tix autoclose` end to end: time travel with TIX_NOW,
//! exactness, resets, idempotence, dry runs, every condition, anchor and
//! action, limits, problems and their exit code, concurrent, locked and
//! killed runs, and the cron line and systemd unit of docs/automation.md.

use std::process::Output;

use crate::common::world::World;

const T0: &str = "2025-03-03T09:00:00Z";

/// A desk with `n` tickets resolved at T0.
fn resolved_desk(n: usize) -> (World, Vec<String>) {
    let w = World::desk("d");
    let ids: Vec<String> = (0..n)
        .map(|i| w.new_ticket("d", T0, &format!("Ticket {i}")))
        .collect();
    for id in &ids {
        w.tix("d", T0, &["reply", id, "-m", "Fixed", "--resolve"]);
    }
    (w, ids)
}

fn statuses(w: &World, ids: &[String]) -> Vec<String> {
    ids.iter()
        .map(|id| w.ticket("d", id)["status"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn closes_exactly_at_96_hours_never_a_second_before() {
    let (w, ids) = resolved_desk(2);
    let before = w.commits("d");
    let out = w.tix("d", "2025-03-07T08:59:59Z", &["autoclose"]);
    assert!(out.contains("Changed 0 tickets"), "{out}");
    assert_eq!(w.commits("d"), before);
    let out = w.tix("d", "2025-03-07T09:00:00Z", &["autoclose"]);
    assert!(
        out.contains("Changed 2 tickets (close-solved-4d: 2)"),
        "{out}"
    );
    assert_eq!(statuses(&w, &ids), ["closed", "closed"]);
    assert_eq!(w.commits("d"), before + 2, "one commit per ticket");
    let message = w.git("d", &["log", "-1", "--format=%an <%ae>%n%B"]);
    assert!(
        message.starts_with("tix-automation <tix-automation@localhost>"),
        "{message}"
    );
    for trailer in [
        "Tix-Action: autoclose",
        "Tix-Status: resolved -> closed",
        "Tix-Rule: close-solved-4d",
    ] {
        assert!(message.contains(trailer), "{message}");
    }
    let files = w.git("d", &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.lines().count(), 1, "{files}");
    assert_eq!(w.git("d", &["status", "--porcelain"]), "");
    w.tix("d", "2025-03-08T00:00:00Z", &["doctor"]);
    // A second run right after changes nothing.
    let out = w.tix("d", "2025-03-07T09:00:00Z", &["automate"]);
    assert!(out.contains("Changed 0 tickets"), "{out}");
    assert_eq!(w.commits("d"), before + 2);
}

#[test]
fn a_customer_reply_after_the_resolve_resets_the_clock() {
    let (w, ids) = resolved_desk(1);
    let id = &ids[0];
    w.tix(
        "d",
        "2025-03-05T09:00:00Z",
        &["reply", id, "--customer", "-m", "Not fixed"],
    );
    w.tix("d", "2025-03-06T09:00:00Z", &["resolve", id]);
    w.tix("d", "2025-03-10T08:59:59Z", &["autoclose"]);
    assert_eq!(statuses(&w, &ids), ["resolved"]);
    w.tix("d", "2025-03-10T09:00:00Z", &["autoclose"]);
    assert_eq!(statuses(&w, &ids), ["closed"]);
}

#[test]
fn dry_run_lists_and_writes_nothing_and_json_summarises() {
    let (w, ids) = resolved_desk(2);
    let before = w.commits("d");
    let out = w.tix("d", "2025-03-08T00:00:00Z", &["autoclose", "--dry-run"]);
    for id in &ids {
        assert!(
            out.contains(&format!("{id}  close-solved-4d  resolved -> closed")),
            "{out}"
        );
    }
    assert!(out.contains("Would change 2 tickets"), "{out}");
    assert_eq!(w.commits("d"), before);
    assert_eq!(statuses(&w, &ids), ["resolved", "resolved"]);
    let json: serde_json::Value = serde_json::from_str(&w.tix(
        "d",
        "2025-03-08T00:00:00Z",
        &["automate", "--format", "json"],
    ))
    .unwrap();
    assert_eq!(json["changed"], 2);
    assert_eq!(json["dry_run"], false);
    assert_eq!(json["rules"]["close-solved-4d"], 2);
    assert_eq!(json["tickets"][0]["to"], "closed");
}

#[test]
fn postponed_tickets_wake_up_to_new_or_open() {
    let w = World::desk("d");
    let never = w.new_ticket("d", T0, "Nobody answered");
    let answered = w.new_ticket("d", T0, "Answered once");
    w.tix("d", T0, &["reply", &answered, "-m", "Looking"]);
    for id in [&never, &answered] {
        w.tix(
            "d",
            T0,
            &["postpone", id, "--until", "2025-03-04T12:00:00Z"],
        );
    }
    w.tix("d", "2025-03-04T11:59:59Z", &["automate"]);
    assert_eq!(w.ticket("d", &never)["status"], "postponed");
    let out = w.tix("d", "2025-03-04T12:00:00Z", &["automate"]);
    assert!(out.contains("wake-postponed: 2"), "{out}");
    assert_eq!(w.ticket("d", &never)["status"], "new");
    assert_eq!(w.ticket("d", &answered)["status"], "open");
}

#[test]
fn a_looping_rule_is_refused_and_every_command_says_where() {
    let w = World::desk("d");
    w.configure(
        "d",
        "\n[[automation]]\nname = \"ping\"\nwhen = { category = \"waiting\" }\ndo = { add_note = \"Still there?\" }\n",
    );
    let err = w.fail("d", T0, &["automate"], 1);
    assert!(
        err.contains("ping") && err.contains("fire forever") && err.contains("line"),
        "{err}"
    );
    let doctor = w.tix_in("d", T0, "Ana <ana@desk.test>", &["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
}

#[test]
fn two_runs_at_once_never_both_commit_a_ticket() {
    let (w, ids) = resolved_desk(20);
    let before = w.commits("d");
    let now = "2025-03-08T00:00:00Z";
    let runs: Vec<_> = (0..3).map(|_| w.spawn("d", now, &["autoclose"])).collect();
    let codes: Vec<i32> = runs
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    assert!(codes.iter().all(|c| *c == 0 || *c == 3), "{codes:?}");
    assert!(codes.contains(&0), "{codes:?}");
    // Whatever ran, each ticket was closed exactly once; a last run settles.
    w.tix("d", now, &["autoclose"]);
    assert_eq!(w.commits("d"), before + ids.len());
    assert!(statuses(&w, &ids).iter().all(|s| s == "closed"));
    w.tix("d", now, &["doctor"]);
    assert_eq!(w.git("d", &["status", "--porcelain"]), "");
}

#[test]
fn a_killed_run_leaves_a_valid_desk_and_the_next_run_finishes() {
    let (w, ids) = resolved_desk(30);
    let now = "2025-03-08T00:00:00Z";
    let before = w.commits("d");
    for delay in [0u64, 2, 5, 10, 20] {
        let mut child = w.spawn("d", now, &["autoclose"]);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
        w.tix("d", now, &["doctor"]);
    }
    w.tix("d", now, &["autoclose"]);
    assert!(statuses(&w, &ids).iter().all(|s| s == "closed"));
    assert_eq!(
        w.commits("d"),
        before + ids.len(),
        "each ticket closed by exactly one commit"
    );
    w.git("d", &["fsck", "--no-dangling"]);
    assert_eq!(w.git("d", &["status", "--porcelain"]), "");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs tix as Ana, whatever the exit code.
fn run(w: &World, now: &str, args: &[&str]) -> Output {
    w.tix_in("d", now, "Ana <ana@desk.test>", args)
}

/// Runs tix with `--format json` and parses stdout, whatever the exit code.
fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", text(&out.stdout), text(&out.stderr)))
}

/// Replaces `from` in the desk's tix.toml by `to` and commits.
fn rewrite_config(w: &World, from: &str, to: &str) {
    let path = w.path("d").join("tix.toml");
    let config = std::fs::read_to_string(&path).unwrap();
    assert!(config.contains(from), "{from} not in tix.toml");
    std::fs::write(&path, config.replacen(from, to, 1)).unwrap();
    w.git("d", &["commit", "-q", "-am", "configure the desk"]);
}

fn tags(w: &World, id: &str) -> Vec<String> {
    w.ticket("d", id)["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// The rules a dry run says would change `id` at `now`.
fn would_fire(w: &World, now: &str, id: &str) -> Vec<String> {
    let out = run(w, now, &["automate", "--dry-run", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = json_of(&out);
    json["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["id"] == id)
        .flat_map(|t| t["rules"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_run_while_another_holds_the_lock_exits_3_and_writes_nothing() {
    let (w, ids) = resolved_desk(1);
    let before = w.commits("d");
    let dir = w.path("d").join(".git/tix");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("automation.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let now = "2025-03-08T00:00:00Z";
    for args in [
        &["automate"][..],
        &["autoclose"],
        &["autoclose", "--dry-run"],
    ] {
        let err = w.fail("d", now, args, 3);
        assert!(
            err.contains("another tix automation run is in progress"),
            "{err}"
        );
    }
    assert_eq!(w.commits("d"), before);
    assert_eq!(statuses(&w, &ids), ["resolved"]);
    drop(lock);
    w.tix("d", now, &["autoclose"]);
    assert_eq!(statuses(&w, &ids), ["closed"]);
}

/// Everything a dry run could touch: HEAD, `git status`, the index file
/// and every file of the working tree.
fn desk_state(w: &World) -> (String, String, Vec<u8>, Vec<(String, String)>) {
    let root = w.path("d");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.ends_with(".git") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                files.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    let status = w.git("d", &["status", "--porcelain"]);
    let index = std::fs::read(root.join(".git/index")).unwrap();
    (w.git("d", &["rev-parse", "HEAD"]), status, index, files)
}

#[test]
fn a_dry_run_changes_nothing_and_skips_what_the_run_skips() {
    let (w, ids) = resolved_desk(2);
    // Uncommitted work on one ticket: the run must leave it alone.
    let file = w
        .path("d")
        .join(format!("tickets/{}/{}.toml", &ids[0][..2], ids[0]));
    let mut content = std::fs::read_to_string(&file).unwrap();
    content.push_str("# my notes\n");
    std::fs::write(&file, content).unwrap();
    let now = "2025-03-08T00:00:00Z";
    let before = desk_state(&w);
    let out = w.tix("d", now, &["autoclose", "--dry-run"]);
    assert!(
        out.contains(&format!("{}  skipped: ", ids[0])) && out.contains("uncommitted changes"),
        "{out}"
    );
    assert!(
        out.contains("Would change 1 ticket (close-solved-4d: 1)."),
        "{out}"
    );
    assert!(
        !out.contains(&format!("{}  close-solved-4d", ids[0])),
        "{out}"
    );
    assert_eq!(
        desk_state(&w),
        before,
        "HEAD, status, index and files as they were"
    );
    let json = json_of(&run(
        &w,
        now,
        &["autoclose", "--dry-run", "--format", "json"],
    ));
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["changed"], 1);
    assert_eq!(json["skipped"][0]["id"], ids[0].as_str());
    // The real run skips the same ticket.
    let json = json_of(&run(&w, now, &["autoclose", "--format", "json"]));
    assert_eq!(json["changed"], 1);
    assert_eq!(json["tickets"][0]["id"], ids[1].as_str());
    assert_eq!(json["skipped"][0]["id"], ids[0].as_str());
    assert!(
        json["skipped"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("uncommitted changes")
    );
    assert_eq!(json["errors"], serde_json::json!([]));
    assert_eq!(json["hook_failures"], serde_json::json!([]));
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .ends_with("# my notes\n")
    );
}

#[test]
fn actions_and_conditions_change_exactly_the_tickets_that_match() {
    let w = World::desk("d");
    w.configure(
        "d",
        r#"
[[automation]]
name = "bump-vip"
when = { priority = "low", tags_any = ["vip", "gold"] }
do = { set_priority = "high" }

[[automation]]
name = "refund-to-ana"
when = { department = "billing", assignee = "none", tags_all = ["refund", "checked"] }
do = { assign = "ana@desk.test" }

[[automation]]
name = "customer-wrote"
when = { last_message_role = "customer", tags_all = ["awaiting"] }
do = { remove_tags = ["awaiting"] }

[[automation]]
name = "raj-urgent"
when = { assignee = "raj@desk.test", priority = "normal" }
do = { set_priority = "urgent" }
"#,
    );
    let new = |subject: &str, extra: &[&str]| w.new_ticket_with("d", T0, subject, extra);
    let vip = new("Vip", &["--priority", "low", "--tag", "gold"]);
    let plain = new("Plain", &["--priority", "low", "--tag", "other"]);
    let refund = new(
        "Refund",
        &[
            "--department",
            "billing",
            "--tag",
            "refund",
            "--tag",
            "checked",
        ],
    );
    let unchecked = new("Unchecked", &["--department", "billing", "--tag", "refund"]);
    let customer_last = new("Customer last", &["--tag", "awaiting"]);
    let agent_last = new("Agent last", &["--tag", "awaiting"]);
    w.tix("d", T0, &["reply", &agent_last, "-m", "Try this"]);
    let raj = new("Raj's", &["--assign", "raj@desk.test"]);
    let ana = new("Ana's", &["--assign", "ana@desk.test"]);
    let out = w.tix("d", "2025-03-03T10:00:00Z", &["automate"]);
    assert!(out.contains("Changed 4 tickets"), "{out}");
    let show = |id: &str| w.ticket("d", id);
    assert_eq!(show(&vip)["priority"], "high");
    assert_eq!(show(&plain)["priority"], "low");
    assert_eq!(show(&refund)["assignee"], "ana@desk.test");
    assert_eq!(show(&unchecked)["assignee"], serde_json::Value::Null);
    assert!(tags(&w, &customer_last).is_empty());
    assert_eq!(tags(&w, &agent_last), ["awaiting"]);
    assert_eq!(show(&raj)["priority"], "urgent");
    assert_eq!(show(&ana)["priority"], "normal");
    let path = format!("tickets/{}/{refund}.toml", &refund[..2]);
    let log = w.git("d", &["log", "-1", "--format=%an%n%B", "--", &path]);
    assert!(
        log.starts_with("tix-automation\n") && log.contains("Tix-Rule: refund-to-ana"),
        "{log}"
    );
    let out = w.tix("d", "2025-03-03T10:00:00Z", &["automate"]);
    assert!(out.contains("Changed 0 tickets"), "{out}");
}

#[test]
fn each_anchor_measures_idle_time_from_its_own_event() {
    let w = World::desk("d");
    let mut rules =
        String::from("\n[[status]]\nid = \"triage\"\nlabel = \"Triage\"\ncategory = \"open\"\n");
    let anchors = [
        "created",
        "last_reply",
        "category_entered",
        "last_customer_message",
        "status_changed",
        "assigned",
        "last_update",
    ];
    for anchor in anchors {
        rules.push_str(&format!(
            "\n[[automation]]\nname = \"{anchor}\"\nwhen = {{ tags_none = [\"{anchor}\"], idle_since = {{ anchor = \"{anchor}\", min = \"24h\" }} }}\ndo = {{ add_tags = [\"{anchor}\"] }}\n"
        ));
    }
    w.configure("d", &rules);
    // One event per anchor, a day apart (the customer wrote half a day
    // after the ticket was opened).
    let id = w.new_ticket("d", "2025-03-01T00:00:00Z", "Anchors");
    w.tix(
        "d",
        "2025-03-02T00:00:00Z",
        &["reply", &id, "-m", "Try this"],
    );
    w.tix("d", "2025-03-03T00:00:00Z", &["open", &id]);
    w.tix(
        "d",
        "2025-03-03T12:00:00Z",
        &["reply", &id, "--customer", "-m", "Still broken"],
    );
    w.tix("d", "2025-03-04T00:00:00Z", &["status", &id, "triage"]);
    w.tix(
        "d",
        "2025-03-05T00:00:00Z",
        &["assign", &id, "ana@desk.test"],
    );
    w.tix("d", "2025-03-06T00:00:00Z", &["note", &id, "-m", "Looking"]);
    let events = [
        "2025-03-01T00:00:00Z",
        "2025-03-02T00:00:00Z",
        "2025-03-03T00:00:00Z",
        "2025-03-03T12:00:00Z",
        "2025-03-04T00:00:00Z",
        "2025-03-05T00:00:00Z",
        "2025-03-06T00:00:00Z",
    ];
    let day_later = |at: &str, secs: i64| {
        let t = chrono::DateTime::parse_from_rfc3339(at).unwrap()
            + chrono::Duration::seconds(86_400 + secs);
        t.to_utc()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    for (i, anchor) in anchors.iter().enumerate() {
        let before = would_fire(&w, &day_later(events[i], -1), &id);
        assert!(
            !before.contains(&anchor.to_string()),
            "{anchor}: {before:?}"
        );
        let at = would_fire(&w, &day_later(events[i], 0), &id);
        assert_eq!(at, anchors[..=i], "{anchor} at its threshold");
    }
}

#[test]
fn every_rule_sees_the_ticket_as_it_was_before_the_run() {
    let w = World::desk("d");
    // The first rule adds a note (an update); the second measures idle
    // time since the last update: it still fires in the same run.
    w.configure(
        "d",
        r#"
[[automation]]
name = "note-first"
when = { category = "waiting", tags_none = ["noted"] }
do = { add_note = "Still waiting for the customer.", add_tags = ["noted"] }

[[automation]]
name = "stale"
when = { category = "waiting", tags_none = ["stale"], idle_since = { anchor = "last_update", min = "48h" } }
do = { add_tags = ["stale"] }
"#,
    );
    let id = w.new_ticket("d", T0, "Quiet");
    w.tix("d", T0, &["reply", &id, "-m", "Try this"]);
    let before = w.commits("d");
    let out = w.tix("d", "2025-03-05T09:00:00Z", &["automate"]);
    assert!(
        out.contains("Changed 1 ticket (note-first: 1, stale: 1)."),
        "{out}"
    );
    assert_eq!(tags(&w, &id), ["noted", "stale"]);
    assert_eq!(w.commits("d"), before + 1, "one commit for both rules");
    let message = w.git("d", &["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Tix-Rule: note-first\nTix-Rule: stale\n"),
        "{message}"
    );
}

#[test]
fn autoclose_also_wakes_postponed_tickets() {
    let w = World::desk("d");
    let id = w.new_ticket("d", T0, "Later");
    w.tix("d", T0, &["reply", &id, "-m", "Looking"]);
    w.tix(
        "d",
        T0,
        &["postpone", &id, "--until", "2025-03-04T12:00:00Z"],
    );
    let out = w.tix("d", "2025-03-04T11:59:59Z", &["autoclose"]);
    assert!(out.contains("Changed 0 tickets"), "{out}");
    let out = w.tix("d", "2025-03-04T12:00:00Z", &["autoclose"]);
    assert!(
        out.contains("Changed 1 ticket (wake-postponed: 1)."),
        "{out}"
    );
    assert_eq!(w.ticket("d", &id)["status"], "open");
    let message = w.git("d", &["log", "-1", "--format=%B"]);
    assert!(
        message.contains("Tix-Action: autoclose") && message.contains("Tix-Rule: wake-postponed"),
        "{message}"
    );
}

#[test]
fn notify_raises_the_notify_hook_event_and_hooks_learn_the_rules() {
    let (w, ids) = resolved_desk(1);
    let waiting = w.new_ticket("d", T0, "Waiting");
    w.tix("d", T0, &["reply", &waiting, "-m", "Try this"]);
    let notify_log = w.path("notify.log");
    let changed_log = w.path("changed.log");
    w.configure(
        "d",
        &format!(
            r#"
[[automation]]
name = "ping"
when = {{ category = "waiting", tags_none = ["pinged"] }}
do = {{ notify = "hook", add_tags = ["pinged"] }}

[[hook]]
on = ["notify"]
run = 'echo "$TIX_EVENT $TIX_TICKET $TIX_RULES" >> {}'

[[hook]]
on = ["changed"]
run = 'echo "$TIX_EVENT $TIX_TICKET $TIX_RULES" >> {}'
"#,
            notify_log.display(),
            changed_log.display()
        ),
    );
    w.tix("d", T0, &["hooks", "allow"]);
    w.tix("d", "2025-03-08T00:00:00Z", &["automate"]);
    assert_eq!(
        std::fs::read_to_string(&notify_log).unwrap(),
        format!("notify {waiting} ping\n"),
        "only the rule with notify raises it"
    );
    let mut changed: Vec<String> = std::fs::read_to_string(&changed_log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    changed.sort();
    let mut expected = vec![
        format!("changed {} close-solved-4d", ids[0]),
        format!("changed {waiting} ping"),
    ];
    expected.sort();
    assert_eq!(changed, expected);
}

#[test]
fn problems_exit_4_after_everything_else_is_committed() {
    let (w, ids) = resolved_desk(2);
    // A ticket file that does not parse, committed by hand.
    let dir = w.path("d").join("tickets/zz");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("zzzzzz.toml"), "id = \"zzzzzz\"\nsubject = [\n").unwrap();
    w.git("d", &["add", "tickets/zz/zzzzzz.toml"]);
    w.git("d", &["commit", "-q", "-m", "broken by hand"]);
    // A ticket whose status tix.toml no longer defines.
    w.configure(
        "d",
        "\n[[status]]\nid = \"vendor\"\nlabel = \"Vendor\"\ncategory = \"on_hold\"\n",
    );
    let orphan = w.new_ticket("d", T0, "Vendor");
    w.tix("d", T0, &["status", &orphan, "vendor"]);
    rewrite_config(
        &w,
        "\n[[status]]\nid = \"vendor\"\nlabel = \"Vendor\"\ncategory = \"on_hold\"\n",
        "\n",
    );
    // A hook that fails.
    w.configure(
        "d",
        "\n[[hook]]\non = [\"status_changed\"]\nrun = \"exit 9\"\n",
    );
    w.tix("d", T0, &["hooks", "allow"]);
    let now = "2025-03-08T00:00:00Z";
    let out = run(&w, now, &["autoclose", "--format", "json"]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
    let json = json_of(&out);
    assert_eq!(json["changed"], 2, "the other tickets are closed");
    assert_eq!(statuses(&w, &ids), ["closed", "closed"]);
    let errors: Vec<String> = json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("tickets/zz/zzzzzz.toml:2")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&orphan) && e.contains("status 'vendor' is not defined")),
        "{errors:?}"
    );
    assert_eq!(json["hook_failures"].as_array().unwrap().len(), 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("warning: skipped tickets/zz/zzzzzz.toml:2")
            && stderr.contains("error: the run met 4 problems"),
        "{stderr}"
    );
    // Nothing left to close: the file problems remain, the exit code says so.
    let out = run(&w, now, &["autoclose"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(text(&out.stdout).contains("Changed 0 tickets"));
}

#[test]
fn commits_are_authored_by_the_configured_automation_identity() {
    let (w, ids) = resolved_desk(1);
    rewrite_config(
        &w,
        "automation = { name = \"tix-automation\", email = \"tix-automation@localhost\" }",
        "automation = { name = \"Desk Bot\", email = \"bot@desk.test\" }",
    );
    w.tix("d", "2025-03-08T00:00:00Z", &["autoclose"]);
    let author = w.git("d", &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]);
    assert_eq!(
        author.trim(),
        "Desk Bot <bot@desk.test>|Desk Bot <bot@desk.test>"
    );
    let ticket = w.ticket("d", &ids[0]);
    let last = ticket["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["by"], "bot@desk.test");
    assert_eq!(last["rule"], "close-solved-4d");
}

#[test]
fn a_rule_changes_at_most_its_limit_per_run_and_says_how_many_wait() {
    let (w, ids) = resolved_desk(5);
    rewrite_config(
        &w,
        "do = { set_status = \"closed\", add_note = \"Closed automatically after 4 days without reply.\" }\n",
        "do = { set_status = \"closed\", add_note = \"Closed automatically after 4 days without reply.\" }\nlimit = 2\n",
    );
    let now = "2025-03-08T00:00:00Z";
    let out = w.tix("d", now, &["autoclose"]);
    assert!(
        out.contains(
            "close-solved-4d: limit of 2 tickets reached; 3 more match, the next run takes them."
        ) && out.contains("Changed 2 tickets"),
        "{out}"
    );
    let json = json_of(&run(&w, now, &["autoclose", "--format", "json"]));
    assert_eq!(json["changed"], 2);
    assert_eq!(
        json["limited"],
        serde_json::json!([{ "rule": "close-solved-4d", "limit": 2, "beyond": 1 }])
    );
    let out = w.tix("d", now, &["autoclose"]);
    assert!(
        out.contains("Changed 1 ticket ") && !out.contains("limit"),
        "{out}"
    );
    assert!(statuses(&w, &ids).iter().all(|s| s == "closed"));
}

#[test]
fn round_robin_hands_tickets_to_the_department_in_turn() {
    let w = World::desk("d");
    w.configure(
        "d",
        r#"
[[department]]
name = "billing"

[[agent]]
name = "Ana"
email = "ana@desk.test"
departments = ["billing"]

[[agent]]
name = "Raj"
email = "raj@desk.test"
departments = ["billing"]

[[automation]]
name = "share-billing"
when = { department = "billing", assignee = "none", category = ["new", "open"] }
do = { assign = "round_robin" }
"#,
    );
    let mut ids: Vec<String> = (0..3)
        .map(|i| w.new_ticket_with("d", T0, &format!("Bill {i}"), &["--department", "billing"]))
        .collect();
    ids.sort();
    let out = w.tix("d", T0, &["automate"]);
    assert!(out.contains("share-billing: 3"), "{out}");
    let assignees: Vec<serde_json::Value> = ids
        .iter()
        .map(|id| w.ticket("d", id)["assignee"].clone())
        .collect();
    assert_eq!(
        assignees,
        ["ana@desk.test", "raj@desk.test", "ana@desk.test"],
        "in id order, each agent in turn"
    );
}

#[test]
fn a_close_rule_without_a_status_condition_closes_only_resolved_tickets() {
    let w = World::desk("d");
    w.configure(
        "d",
        "\n[[automation]]\nname = \"close-low\"\nwhen = { priority = \"low\" }\ndo = { set_status = \"closed\" }\n",
    );
    let open = w.new_ticket_with("d", T0, "Open", &["--priority", "low"]);
    let resolved = w.new_ticket_with("d", T0, "Resolved", &["--priority", "low"]);
    w.tix("d", T0, &["resolve", &resolved]);
    let out = w.tix("d", T0, &["automate"]);
    assert!(out.contains("Changed 1 ticket (close-low: 1)."), "{out}");
    assert_eq!(w.ticket("d", &resolved)["status"], "closed");
    assert_eq!(w.ticket("d", &open)["status"], "new");
}

#[test]
fn rules_tix_toml_must_not_hold_are_refused_with_their_line() {
    let cases: [(&str, &[&str]); 7] = [
        (
            "name = \"evil\\nTix-Status: closed -> open\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\n",
            &["is not valid"],
        ),
        (
            "name = \"\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"] }\n",
            &["is not valid"],
        ),
        (
            "name = \"half\"\nwhen = { tags_any = [\"a\", \"b\"] }\ndo = { remove_tags = [\"a\"] }\n",
            &["half", "fire forever"],
        ),
        (
            "name = \"both\"\nwhen = { tags_none = [\"x\"] }\ndo = { add_tags = [\"x\"], remove_tags = [\"x\"] }\n",
            &["both adds and removes tag 'x'"],
        ),
        (
            "name = \"early\"\nwhen = { category = \"new\" }\ndo = { set_status = \"closed\" }\n",
            &[
                "early",
                "sets status 'closed'",
                "only a resolved ticket closes",
            ],
        ),
        (
            "name = \"back\"\nwhen = { category = \"open\" }\ndo = { set_status = \"new\" }\n",
            &["back", "nothing returns to the new category"],
        ),
        (
            "name = \"rr\"\nwhen = { assignee = \"none\" }\ndo = { assign = \"round_robin\" }\n",
            &["rr", "department"],
        ),
    ];
    for (rule, expected) in cases {
        let w = World::desk("d");
        w.configure("d", &format!("\n[[automation]]\n{rule}"));
        let before = w.commits("d");
        let err = w.fail("d", T0, &["automate"], 1);
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("error: tix.toml line "), "{err}");
        for part in expected {
            assert!(first.contains(part), "{part}: {err}");
        }
        assert_eq!(w.commits("d"), before, "nothing written");
    }
}

#[test]
fn two_rules_that_undo_each_other_are_refused_naming_both() {
    let w = World::desk("d");
    w.configure(
        "d",
        r#"
[[automation]]
name = "up"
when = { priority = "low" }
do = { set_priority = "high" }

[[automation]]
name = "down"
when = { priority = "high" }
do = { set_priority = "low" }
"#,
    );
    let err = w.fail("d", T0, &["automate"], 1);
    let config = std::fs::read_to_string(w.path("d").join("tix.toml")).unwrap();
    let line_of = |name: &str| {
        config
            .lines()
            .position(|l| l == format!("name = \"{name}\""))
            .unwrap()
    };
    // `name` is the line after `[[automation]]`: the rule's own line is one up.
    let (up, down) = (line_of("up"), line_of("down"));
    assert!(
        err.contains(&format!(
            "automations 'up' (line {up}) and 'down' (line {down}) undo each other"
        )),
        "{err}"
    );
}

/// A desk cloned twice; `a` resolved a ticket and has pushed it, and both
/// clones made one more change, so `b`'s first `tix sync` must merge.
fn diverged_clones() -> (World, String) {
    let w = World::two_clones();
    let id = w.new_ticket("a", T0, "Shared");
    w.tix("a", T0, &["reply", &id, "-m", "Done", "--resolve"]);
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    w.new_ticket("a", T0, "From a");
    w.git("a", &["push", "-q"]);
    w.new_ticket("b", T0, "From b");
    (w, id)
}

/// Runs `command` with sh in clone `b` as cron or systemd would: no
/// TIX_AGENT, no git identity, tix on the PATH.
fn run_scheduled(w: &World, command: &str) {
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c").arg(command);
    crate::common::world::sealed(&mut sh, &w.path("b"), "2025-03-08T00:00:00Z", "unused");
    sh.env_remove("TIX_AGENT").env(
        "PATH",
        format!(
            "{}:{}",
            w.bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let out = sh.output().unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_scheduled_run_reached_the_remote(w: &World, id: &str) {
    w.git("a", &["pull", "-q", "--no-rebase"]);
    assert_eq!(
        w.ticket("a", id)["status"],
        "closed",
        "the closing commit reached the remote"
    );
    let merge = w.git("a", &["log", "--merges", "-1", "--format=%an <%ae>"]);
    assert_eq!(
        merge.trim(),
        "tix-automation <tix-automation@localhost>",
        "the merge of the first sync is the automation's"
    );
}

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/automation.md")).unwrap()
}

/// The cron line documented in docs/automation.md, run as written.
#[test]
fn the_documented_cron_command_works_without_an_agent() {
    let doc = doc();
    let line = doc
        .lines()
        .find(|l| l.starts_with("*/15 "))
        .expect("a cron line in docs/automation.md");
    let command = line
        .split_once("&& ")
        .map(|(_, rest)| rest)
        .expect("cd DIR && COMMAND");
    let (w, id) = diverged_clones();
    run_scheduled(&w, command);
    assert_scheduled_run_reached_the_remote(&w, &id);
}

/// The `ExecStart` of the systemd unit in docs/automation.md, run as
/// written.
#[test]
fn the_documented_systemd_unit_works_without_an_agent() {
    let doc = doc();
    let command = doc
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line in docs/automation.md");
    let (w, id) = diverged_clones();
    run_scheduled(&w, command);
    assert_scheduled_run_reached_the_remote(&w, &id);
}
