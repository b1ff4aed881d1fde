//! The ticket lifecycle of docs/lifecycle.md, every transition through the binary.

use crate::common::{AGENT_EMAIL, TestEnv, bodies};

const STATUSES: [&str; 6] = ["new", "open", "answered", "postponed", "resolved", "closed"];

/// One command and where it leads from each status of [`STATUSES`]:
/// `Some(status)`, `Some("=")` when the status stays, `None` when refused.
struct Row {
    name: &'static str,
    args: &'static [&'static str],
    cells: [Option<&'static str>; 6],
}

const R: Option<&str> = None;
const STAY: Option<&str> = Some("=");

/// docs/lifecycle.md as a table (`postpone` on a postponed ticket moves its
/// wake-up time).
const TABLE: [Row; 10] = [
    Row {
        name: "reply",
        args: &["reply", "ID", "-m", "agent words"],
        cells: [
            Some("answered"),
            Some("answered"),
            STAY,
            Some("answered"),
            Some("answered"),
            R,
        ],
    },
    Row {
        name: "reply --resolve",
        args: &["reply", "ID", "-m", "the solution", "--resolve"],
        cells: [
            Some("resolved"),
            Some("resolved"),
            Some("resolved"),
            Some("resolved"),
            STAY,
            R,
        ],
    },
    Row {
        name: "reply --customer",
        args: &["reply", "ID", "--customer", "-m", "customer words"],
        cells: [STAY, STAY, Some("open"), Some("open"), Some("open"), R],
    },
    Row {
        name: "note",
        args: &["note", "ID", "-m", "internal words"],
        cells: [STAY, STAY, STAY, STAY, STAY, R],
    },
    Row {
        name: "open",
        args: &["open", "ID"],
        cells: [Some("open"), R, Some("open"), Some("open"), R, R],
    },
    Row {
        name: "postpone",
        args: &["postpone", "ID", "--until", "2d"],
        cells: [
            Some("postponed"),
            Some("postponed"),
            Some("postponed"),
            STAY,
            R,
            R,
        ],
    },
    Row {
        name: "resolve",
        args: &["resolve", "ID"],
        cells: [
            Some("resolved"),
            Some("resolved"),
            Some("resolved"),
            Some("resolved"),
            R,
            R,
        ],
    },
    Row {
        name: "close",
        args: &["close", "ID"],
        cells: [R, R, R, R, Some("closed"), R],
    },
    Row {
        name: "close --force",
        args: &["close", "ID", "--force", "--reason", "spam"],
        cells: [
            Some("closed"),
            Some("closed"),
            Some("closed"),
            Some("closed"),
            Some("closed"),
            R,
        ],
    },
    Row {
        name: "reopen",
        args: &["reopen", "ID"],
        cells: [R, R, R, R, Some("open"), Some("open")],
    },
];

/// Brings a new ticket to `status` with ordinary commands.
fn bring(env: &TestEnv, id: &str, status: &str) {
    match status {
        "new" => {}
        "open" => drop(env.ok(&["open", id])),
        "answered" => drop(env.ok(&["reply", id, "-m", "first answer"])),
        "postponed" => drop(env.ok(&["postpone", id])),
        "resolved" => drop(env.ok(&["resolve", id])),
        "closed" => {
            env.ok(&["resolve", id]);
            env.ok(&["close", id]);
        }
        other => panic!("no way to {other}"),
    }
    assert_eq!(env.status(id), status);
}

fn is_active(status: &str) -> bool {
    !matches!(status, "resolved" | "closed")
}

/// The commands the table allows from status column `col`.
fn allowed_from(col: usize) -> Vec<&'static str> {
    let mut allowed: Vec<&str> = TABLE
        .iter()
        .filter(|row| row.cells[col].is_some())
        .map(|row| row.name)
        .collect();
    if STATUSES[col] != "closed" {
        allowed.push("edit");
    }
    allowed.sort_unstable();
    allowed
}

/// The list after "allowed from STATUS: " on the first line of `err`.
fn allowed_in(err: &str, status: &str) -> Vec<String> {
    let marker = format!("allowed from {status}: ");
    let first = err.lines().next().unwrap_or_default();
    let start = first
        .find(&marker)
        .unwrap_or_else(|| panic!("no '{marker}' in {err}"))
        + marker.len();
    let list = first[start..].split(';').next().unwrap_or_default();
    let mut allowed: Vec<String> = list.split(", ").map(|s| s.trim().to_owned()).collect();
    allowed.sort_unstable();
    allowed
}

/// Runs every command of [`TABLE`] on fresh tickets in status `from` and
/// checks the outcome: the new status, the commit and its trailer, the
/// reopen count; or for a refusal the message and that nothing was written.
fn check_column(from: &str) {
    let col = STATUSES.iter().position(|s| *s == from).unwrap();
    let env = TestEnv::new();
    for row in &TABLE {
        let what = format!("{} from {from}", row.name);
        let id = env.new_ticket_with(&format!("{} {from}", row.name), &["--email", "bo@x.test"]);
        bring(&env, &id, from);
        let args: Vec<&str> = row
            .args
            .iter()
            .map(|a| if *a == "ID" { id.as_str() } else { a })
            .collect();
        let head = env.head();
        let file = env.read_ticket_file(&id);
        match row.cells[col] {
            None => {
                let err = env.fail(&args, 1);
                assert!(
                    err.contains(&format!("the ticket is {from}")),
                    "{what}: {err}"
                );
                let mut expected = allowed_from(col);
                if row.name == "close" && is_active(from) {
                    // The refusal points at --force separately.
                    expected.retain(|c| *c != "close --force");
                    assert!(err.contains("--force --reason"), "{what}: {err}");
                }
                assert_eq!(allowed_in(&err, from), expected, "{what}: {err}");
                assert_eq!(env.head(), head, "{what}: nothing committed");
                assert_eq!(env.read_ticket_file(&id), file, "{what}: file unchanged");
            }
            Some(cell) => {
                let to = if cell == "=" { from } else { cell };
                let out = env.ok(&args);
                assert_eq!(env.status(&id), to, "{what}");
                assert_eq!(env.git(&["rev-parse", "HEAD~1"]).trim(), head, "{what}");
                let message = env.git(&["log", "-1", "--format=%B"]);
                let trailer = format!("Tix-Status: {from} -> {to}");
                if to == from {
                    assert!(!message.contains("Tix-Status"), "{what}: {message}");
                    assert!(!out.contains("->"), "{what}: {out}");
                } else {
                    assert!(message.contains(&trailer), "{what}: {message}");
                    assert!(out.contains(&format!("({from} -> {to})")), "{what}: {out}");
                }
                let reopened = !is_active(from) && is_active(to);
                assert_eq!(
                    env.show(&id)["reopens"],
                    u32::from(reopened),
                    "{what}: reopen count"
                );
            }
        }
    }
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn every_command_from_new() {
    check_column("new");
}

#[test]
fn every_command_from_open() {
    check_column("open");
}

#[test]
fn every_command_from_answered() {
    check_column("answered");
}

#[test]
fn every_command_from_postponed() {
    check_column("postponed");
}

#[test]
fn every_command_from_resolved() {
    check_column("resolved");
}

#[test]
fn every_command_from_closed() {
    check_column("closed");
}

#[test]
fn a_refused_move_exits_1_names_the_status_and_writes_nothing() {
    let env = TestEnv::new();
    let id = env.new_ticket("Still new");
    let head = env.head();
    let file = env.read_ticket_file(&id);
    let err = env.fail(&["reopen", &id], 1);
    assert_eq!(
        err,
        "error: cannot reopen: the ticket is new; allowed from new: reply, reply --resolve, \
         reply --customer, note, open, postpone, resolve, close --force, edit\n"
    );
    let err = env.fail(&["close", &id], 1);
    assert!(err.contains("the ticket is new"), "{err}");
    assert_eq!(env.head(), head);
    assert_eq!(env.read_ticket_file(&id), file);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(env.ok(&["log", &id, "--format", "csv"]).lines().count(), 2);
}

#[test]
fn replies_notes_and_customer_replies_build_the_conversation_in_order() {
    let env = TestEnv::new();
    let id = env.new_ticket_with(
        "Printer on fire",
        &[
            "--customer",
            "Bo Berg",
            "--email",
            "bo@example.com",
            "-m",
            "It smokes",
        ],
    );
    // A customer reply on a new ticket keeps it new.
    env.at("2025-03-03T09:05:00Z");
    assert_eq!(
        env.ok(&["reply", &id, "--customer", "-m", "Now it beeps"]),
        format!("Recorded the customer's reply on {id}.\n")
    );
    assert_eq!(env.status(&id), "new");
    env.at("2025-03-03T09:10:00Z");
    env.ok(&["note", &id, "-m", "VIP customer"]);
    assert_eq!(env.status(&id), "new");
    env.at("2025-03-03T09:20:00Z");
    assert_eq!(
        env.ok(&["reply", &id, "-m", "Unplug it"]),
        format!("Replied to {id} (new -> answered).\n")
    );
    env.at("2025-03-03T09:30:00Z");
    env.ok(&["reply", &id, "--customer", "-m", "Done, still smokes"]);
    assert_eq!(env.status(&id), "open");
    let t = env.show(&id);
    assert_eq!(
        bodies(&t),
        [
            "It smokes",
            "Now it beeps",
            "VIP customer",
            "Unplug it",
            "Done, still smokes"
        ]
    );
    let roles: Vec<&str> = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["customer", "customer", "note", "agent", "customer"]);
    assert_eq!(t["messages"][1]["author"], "bo@example.com");
    assert_eq!(t["messages"][2]["author"], AGENT_EMAIL);
    assert_eq!(t["messages"][3]["at"], "2025-03-03T09:20:00Z");
    assert_eq!(t["updated"], "2025-03-03T09:30:00Z");
    let history: Vec<(String, String)> = t["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["from"].as_str().unwrap_or("-").to_owned(),
                h["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("-".into(), "new".into()),
            ("new".into(), "answered".into()),
            ("answered".into(), "open".into())
        ]
    );
    // The customer's move is by the customer.
    assert_eq!(t["history"][2]["by"], "bo@example.com");
}

#[test]
fn a_customer_reply_to_a_closed_ticket_is_refused_with_a_hint() {
    let env = TestEnv::new();
    let id = env.new_ticket_with("Done", &["--email", "bo@example.com"]);
    env.ok(&["reply", &id, "-m", "Fixed", "--resolve"]);
    env.ok(&["close", &id]);
    let head = env.head();
    let err = env.fail(&["reply", &id, "--customer", "-m", "It broke again"], 1);
    assert!(err.contains("the ticket is closed"), "{err}");
    assert!(err.contains(&format!("tix reopen {id}")), "{err}");
    assert!(err.contains("--follow-up"), "{err}");
    assert_eq!(env.head(), head);
    // Agents cannot reply or note either.
    env.fail(&["reply", &id, "-m", "hello?"], 1);
    env.fail(&["note", &id, "-m", "hello?"], 1);
    assert_eq!(env.head(), head);
}

#[test]
fn customer_replies_reopen_resolved_tickets_and_count() {
    let env = TestEnv::new();
    let id = env.new_ticket_with("Flaky", &["--email", "bo@example.com"]);
    for round in 1..=3 {
        env.ok(&["reply", &id, "-m", "Try this", "--resolve"]);
        assert_eq!(env.status(&id), "resolved");
        let out = env.ok(&["reply", &id, "--customer", "-m", "Nope"]);
        assert_eq!(
            out,
            format!("Recorded the customer's reply on {id} (resolved -> open).\n")
        );
        assert_eq!(env.show(&id)["reopens"], round);
    }
    // Answered and postponed tickets open on a customer reply, without a reopen.
    env.ok(&["reply", &id, "-m", "Did it help?"]);
    env.ok(&["reply", &id, "--customer", "-m", "No"]);
    env.ok(&["postpone", &id]);
    env.ok(&["reply", &id, "--customer", "-m", "Any news?"]);
    let t = env.show(&id);
    assert_eq!(t["status"], "open");
    assert_eq!(t["reopens"], 3);
}

#[test]
fn reopen_from_resolved_and_closed_counts_and_keeps_the_reason() {
    let env = TestEnv::new();
    let id = env.new_ticket("Comes back");
    env.ok(&["resolve", &id]);
    env.ok(&["reopen", &id, "-m", "customer called"]);
    let t = env.show(&id);
    assert_eq!(t["status"], "open");
    assert_eq!(t["reopens"], 1);
    let last = t["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "customer called");
    assert_eq!(last["from"], "resolved");
    env.ok(&["resolve", &id]);
    env.ok(&["close", &id]);
    env.ok(&["reopen", &id]);
    assert_eq!(env.show(&id)["reopens"], 2);
    assert_eq!(env.status(&id), "open");
}

#[test]
fn resolve_assigns_the_resolver_only_when_unassigned() {
    let env = TestEnv::new();
    let unassigned = env.new_ticket("Nobody's");
    env.ok(&["resolve", &unassigned, "-m", "fixed upstream"]);
    let t = env.show(&unassigned);
    assert_eq!(t["assignee"], AGENT_EMAIL);
    assert_eq!(
        t["history"].as_array().unwrap().last().unwrap()["reason"],
        "fixed upstream"
    );
    let theirs = env.new_ticket_with("Raj's", &["--assign", "raj@desk.test"]);
    env.ok(&["resolve", &theirs]);
    assert_eq!(env.show(&theirs)["assignee"], "raj@desk.test");
    // reply --resolve assigns too, and --as decides who the resolver is.
    let other = env.new_ticket("Via reply");
    env.ok(&[
        "--as",
        "Raj Patel <raj@desk.test>",
        "reply",
        &other,
        "-m",
        "Done",
        "--resolve",
    ]);
    let t = env.show(&other);
    assert_eq!(t["status"], "resolved");
    assert_eq!(t["assignee"], "raj@desk.test");
}

#[test]
fn postpone_until_takes_rfc3339_dates_and_durations_and_refuses_the_past() {
    let env = TestEnv::new();
    for (until, expected) in [
        ("2025-03-10T12:00:00Z", "2025-03-10T12:00:00Z"),
        ("2025-03-10T14:00:00+02:00", "2025-03-10T12:00:00Z"),
        ("2025-03-10", "2025-03-10T00:00:00Z"),
        ("3d", "2025-03-06T09:00:00Z"),
        ("90m", "2025-03-03T10:30:00Z"),
        ("2w", "2025-03-17T09:00:00Z"),
    ] {
        let id = env.new_ticket("Later");
        let out = env.ok(&["postpone", &id, "--until", until]);
        assert_eq!(
            out,
            format!("Postponed {id} (new -> postponed).\n"),
            "{until}"
        );
        let t = env.show(&id);
        assert_eq!(t["status"], "postponed", "{until}");
        assert_eq!(t["postponed_until"], expected, "{until}");
        let page = env.ok(&["show", &id]);
        assert!(page.contains("Postponed until"), "{page}");
    }
    // Postponing again moves the wake-up time.
    let id = env.new_ticket("Again");
    env.ok(&["postpone", &id, "--until", "1d"]);
    env.ok(&["postpone", &id, "--until", "5d"]);
    assert_eq!(env.show(&id)["postponed_until"], "2025-03-08T09:00:00Z");
    // The past (and now) is refused and writes nothing.
    let head = env.head();
    for past in ["2025-03-01T00:00:00Z", "2025-03-03", "2025-03-03T09:00:00Z"] {
        let err = env.fail(&["postpone", &id, "--until", past], 1);
        assert!(err.contains("not in the future"), "{past}: {err}");
    }
    // Text that is no time is a usage error.
    for bad in ["someday", "3x", "2025-13-45"] {
        let err = env.fail(&["postpone", &id, "--until", bad], 2);
        assert!(err.contains("--until"), "{bad}: {err}");
    }
    assert_eq!(env.head(), head);
    // Without --until there is no wake-up time.
    let plain = env.new_ticket("Plain");
    env.ok(&["postpone", &plain]);
    assert!(env.show(&plain)["postponed_until"].is_null());
}

#[test]
fn close_needs_resolved_or_force_with_a_reason() {
    let env = TestEnv::new();
    let id = env.new_ticket("Spam offer");
    let head = env.head();
    let err = env.fail(&["close", &id, "--force"], 2);
    assert!(err.contains("--reason"), "{err}");
    let err = env.fail(&["close", &id, "--force", "--reason", "  "], 1);
    assert!(err.contains("--reason"), "{err}");
    assert_eq!(env.head(), head);
    let out = env.ok(&["close", &id, "--force", "--reason", "spam"]);
    assert_eq!(out, format!("Closed {id} (new -> closed).\n"));
    let t = env.show(&id);
    assert_eq!(t["status"], "closed");
    assert_eq!(t["category"], "closed");
    let last = t["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], "spam");
    assert_eq!(last["by"], AGENT_EMAIL);
    // A closed ticket is locked against everything but reopen.
    let head = env.head();
    for args in [
        vec!["open", id.as_str()],
        vec!["resolve", &id],
        vec!["postpone", &id],
        vec!["close", &id, "--force", "--reason", "again"],
        vec!["edit", &id, "--priority", "high"],
        vec!["assign", &id],
    ] {
        let err = env.fail(&args, 1);
        assert!(err.contains("closed"), "{args:?}: {err}");
    }
    assert_eq!(env.head(), head);
}

#[test]
fn open_takes_a_ticket_up_from_new_answered_and_postponed() {
    let env = TestEnv::new();
    let id = env.new_ticket("Take it");
    assert_eq!(
        env.ok(&["open", &id]),
        format!("Opened {id} (new -> open).\n")
    );
    let err = env.fail(&["open", &id], 1);
    assert!(err.contains("the ticket is open"), "{err}");
    env.ok(&["reply", &id, "-m", "hi"]);
    env.ok(&["open", &id]);
    env.ok(&["postpone", &id, "--until", "1d"]);
    env.ok(&["open", &id]);
    let t = env.show(&id);
    assert_eq!(t["status"], "open");
    assert!(t["postponed_until"].is_null());
    assert_eq!(t["reopens"], 0);
}

#[test]
fn messages_can_come_from_standard_input() {
    let env = TestEnv::new();
    let id = env.new_ticket("Long story");
    env.assert_cmd(&["note", &id, "-m", "-"])
        .write_stdin("from stdin\nsecond line\n")
        .assert()
        .success()
        .stdout(format!("Added a note to {id}.\n"));
    env.assert_cmd(&["reply", &id, "-m", "-"])
        .write_stdin("Dear customer,\n\nunplug it.\n")
        .assert()
        .success();
    let t = env.show(&id);
    assert_eq!(
        bodies(&t),
        [
            "from stdin\nsecond line\n",
            "Dear customer,\n\nunplug it.\n"
        ]
    );
    // An empty standard input writes nothing.
    let head = env.head();
    env.assert_cmd(&["note", &id, "-m", "-"])
        .write_stdin("  \n")
        .assert()
        .code(1)
        .stdout("");
    assert_eq!(env.head(), head);
}
