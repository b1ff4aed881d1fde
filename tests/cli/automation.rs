//! `tix automate` / `tix autoclose` end to end: time travel with TIX_NOW,
//! exactness, resets, idempotence, dry runs, concurrent and killed runs,
//! and the cron line and systemd unit of docs/automation.md.

use crate::world::World;

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
    crate::world::sealed(&mut sh, &w.path("b"), "2025-03-08T00:00:00Z", "unused");
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
