//! Triggers, macros and templates end to end (docs/automation.md): what
//! fires inside the commit of the change that caused it, with a
//! `Tix-Rule` trailer per trigger; triggers firing triggers; macros and
//! `--template` replies and notes; mail that triggers send, through a real
//! SMTP server on loopback.

use std::time::Duration;

use serde_json::Value;

use crate::common::smtp::SmtpServer;
use crate::common::{TestEnv, assert_no_panic, bodies};

const T0: &str = "2025-03-03T09:00:00Z";

/// Appends `text` to tix.toml, commits `templates` (name, text) with it.
fn configure(env: &TestEnv, text: &str, templates: &[(&str, &str)]) {
    for (name, body) in templates {
        env.commit_file(&format!("templates/{name}.txt"), body);
    }
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file("tix.toml", &format!("{config}\n{text}"));
}

/// The last commit's message.
fn last_message(env: &TestEnv) -> String {
    env.git(&["log", "-1", "--format=%B"])
}

fn events(ticket: &Value) -> Vec<Value> {
    ticket["history"].as_array().cloned().unwrap_or_default()
}

fn tags(ticket: &Value) -> Vec<String> {
    ticket["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

const VIP_AND_OUTAGE: &str = r#"
[[trigger]]
name = "vip-mail"
on = ["created", "customer_replied"]
when = { customer_domain = "bigcorp.com", tags_none = ["vip"] }
do = { set_priority = "high", add_tags = ["vip"] }

[[trigger]]
name = "outage"
on = "created"
when = { subject_matches = "(?i)\\b(down|outage)\\b" }
do = { set_priority = "urgent", add_tags = ["outage"], add_note = "Possible outage: page the on-call engineer." }

[[trigger]]
name = "escalate-urgent"
on = "tags_changed"
when = { priority = "urgent", tags_none = ["escalated"] }
do = { add_tags = ["escalated"] }
"#;

#[test]
fn triggers_change_the_ticket_in_the_commit_of_the_change_that_fired_them() {
    let env = TestEnv::new();
    configure(&env, VIP_AND_OUTAGE, &[]);
    env.at(T0);
    let commits = env.commits();
    let id = env.new_ticket_with("Site is down", &["--email", "bo@bigcorp.com", "-m", "Help"]);
    assert_eq!(env.commits(), commits + 1, "one commit, triggers included");
    let message = last_message(&env);
    for trailer in [
        "Tix-Rule: vip-mail\n",
        "Tix-Rule: outage\n",
        "Tix-Rule: escalate-urgent\n",
    ] {
        assert!(message.contains(trailer), "{trailer:?} in {message}");
    }
    let ticket = env.show(&id);
    assert_eq!(ticket["priority"], "urgent", "outage came after vip-mail");
    assert_eq!(tags(&ticket), ["escalated", "outage", "vip"]);
    assert!(
        bodies(&ticket)
            .iter()
            .any(|b| b.contains("page the on-call")),
        "{ticket}"
    );
    let out = env.ok(&["new", "Outage in the EU", "--email", "ida@bigcorp.com"]);
    assert!(
        out.contains("triggers fired: vip-mail, outage, escalate-urgent"),
        "{out}"
    );
    // A second change that fires nothing adds no trailer.
    env.ok(&["note", &id, "-m", "Looking"]);
    assert!(!last_message(&env).contains("Tix-Rule"));
    // A customer reply fires vip-mail only while the tag is missing.
    env.ok(&["edit", &id, "--tag", "-vip"]);
    let out = env.ok(&["reply", &id, "--customer", "-m", "Still down"]);
    assert!(out.contains("triggers fired: vip-mail"), "{out}");
    assert!(tags(&env.show(&id)).contains(&"vip".to_owned()));
}

/// Two triggers that undo each other, and one whose own note would fire
/// it again: each fires once, the change is one commit, and it ends.
#[test]
fn triggers_firing_triggers_cannot_loop() {
    let env = TestEnv::new();
    configure(
        &env,
        r#"
[[trigger]]
name = "flag"
on = ["created", "tags_changed"]
when = { tags_none = ["flag"] }
do = { add_tags = ["flag"] }

[[trigger]]
name = "unflag"
on = "tags_changed"
when = { tags_all = ["flag"] }
do = { remove_tags = ["flag"] }

[[trigger]]
name = "echo"
on = ["created", "note", "tags_changed"]
do = { add_note = "echo" }
"#,
        &[],
    );
    env.at(T0);
    let id = env.new_ticket("Ping");
    let message = last_message(&env);
    let fired: Vec<&str> = message
        .lines()
        .filter_map(|l| l.strip_prefix("Tix-Rule: "))
        .collect();
    assert_eq!(fired, ["flag", "unflag", "echo"], "{message}");
    let ticket = env.show(&id);
    assert!(tags(&ticket).is_empty(), "flagged once, unflagged once");
    let notes = bodies(&ticket).iter().filter(|b| *b == "echo").count();
    assert_eq!(notes, 1);
    // Every event a trigger added names it.
    let by_rule: Vec<String> = events(&ticket)
        .iter()
        .filter_map(|e| e["rule"].as_str().map(str::to_owned))
        .collect();
    assert!(
        by_rule
            .iter()
            .all(|r| ["flag", "unflag", "echo"].contains(&r.as_str()))
    );
}

#[test]
fn stop_ends_evaluation_and_an_unreachable_status_never_blocks_the_change() {
    let env = TestEnv::new();
    configure(
        &env,
        r#"
[[trigger]]
name = "close-spam"
on = "customer_replied"
when = { body_matches = "(?i)viagra" }
do = { set_status = "closed", add_tags = ["spam"] }
stop = true

[[trigger]]
name = "after"
on = "customer_replied"
do = { add_tags = ["seen"] }
"#,
        &[],
    );
    env.at(T0);
    let id = env.new_ticket_with("Hello", &["--email", "x@spam.example", "-m", "Hi"]);
    // An open ticket cannot be closed without --force: the status is left,
    // the rest of the trigger still applies, and the reply is committed.
    let out = env.ok(&["reply", &id, "--customer", "-m", "Cheap VIAGRA"]);
    assert!(out.contains("triggers fired: close-spam"), "{out}");
    let ticket = env.show(&id);
    assert_eq!(tags(&ticket), ["spam"], "stop: 'after' did not fire");
    assert_ne!(ticket["status"], "closed");
}

const REFUND: &str = r#"
[[macro]]
name = "refund"
description = "Approve a refund and resolve"
template = "refund"
do = { add_tags = ["refund"], set_status = "resolved", add_note = "Refund approved in the billing tool." }
"#;

const REFUND_TEXT: &str = "Hello {{ customer.name }},\n\nyour refund for {{ ticket.subject }} is on its way.\n\n{{ agent.name }}\n";

#[test]
fn a_macro_replies_from_its_template_and_acts_in_one_commit() {
    let env = TestEnv::new();
    configure(&env, REFUND, &[("refund", REFUND_TEXT)]);
    env.at(T0);
    let id = env.new_ticket_with(
        "Charged twice",
        &[
            "--customer",
            "Bo Berg",
            "--email",
            "bo@example.com",
            "-m",
            "Twice!",
        ],
    );
    let listed = env.ok(&["macro", "--list"]);
    assert!(
        listed.contains("refund") && listed.contains("Approve a refund"),
        "{listed}"
    );
    let json = env.json(&["macro", "--list", "--format", "json"]);
    assert_eq!(json[0]["name"], "refund");
    assert_eq!(json[0]["template"], "refund");

    // A dry run shows what it would record and writes nothing.
    let commits = env.commits();
    let before = env.read_ticket_file(&id);
    let preview = env.ok(&["macro", "refund", &id, "--dry-run"]);
    assert!(
        preview.contains("would record") && preview.contains("tag +refund"),
        "{preview}"
    );
    assert!(preview.contains("reply: Hello Bo Berg,"), "{preview}");
    assert_eq!(env.commits(), commits);
    assert_eq!(env.read_ticket_file(&id), before);

    let out = env.ok(&["macro", "refund", &id]);
    assert!(out.contains("macro"), "{out}");
    assert_eq!(env.commits(), commits + 1);
    assert!(last_message(&env).contains("Tix-Action: macro\n"));
    let ticket = env.show(&id);
    assert_eq!(ticket["status"], "resolved");
    assert!(tags(&ticket).contains(&"refund".to_owned()));
    let texts = bodies(&ticket);
    assert!(
        texts
            .iter()
            .any(|b| b.starts_with("Hello Bo Berg,") && b.contains("Charged twice")),
        "{texts:?}"
    );
    // The reply is the agent's own: it counts as the first reply.
    let reply = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "agent")
        .unwrap()
        .clone();
    assert_eq!(reply["author"], crate::common::AGENT_EMAIL, "{reply}");
}

#[test]
fn macro_mistakes_are_refused_and_write_nothing() {
    let env = TestEnv::new();
    configure(&env, REFUND, &[("refund", REFUND_TEXT)]);
    env.at(T0);
    let id = env.new_ticket("Charged twice");
    let commits = env.commits();
    let unknown = env.fail(&["macro", "refnud", &id], 2);
    assert!(
        unknown.contains("unknown macro 'refnud'") && unknown.contains("refund"),
        "{unknown}"
    );
    env.fail(&["macro", "refund"], 2);
    env.ok(&["close", &id, "--force", "--reason", "spam"]);
    let closed = env.fail(&["macro", "refund", &id], 1);
    assert!(closed.contains("closed"), "{closed}");
    assert_eq!(env.commits(), commits + 1, "only the close");
}

#[test]
fn replies_and_notes_from_templates_and_templates_checked_before_writing() {
    let env = TestEnv::new();
    configure(
        &env,
        "",
        &[
            (
                "hello",
                "Hi {{ customer.name }}, this is {{ agent.name }} about {{ ticket.id }}.",
            ),
            ("broken", "Hi {{ customer.nmae }}"),
        ],
    );
    env.at(T0);
    let id = env.new_ticket_with("Printer", &["--customer", "Bo Berg", "-m", "Help"]);
    env.ok(&["reply", &id, "--template", "hello"]);
    env.ok(&["note", &id, "--template", "hello"]);
    let texts = bodies(&env.show(&id));
    let expected = format!("Hi Bo Berg, this is Ana Lima about {id}.");
    assert_eq!(
        texts.iter().filter(|b| **b == expected).count(),
        2,
        "{texts:?}"
    );
    let commits = env.commits();
    let broken = env.fail(&["reply", &id, "--template", "broken"], 1);
    assert!(broken.contains("customer.nmae"), "{broken}");
    let missing = env.fail(&["note", &id, "--template", "nope"], 2);
    assert!(
        missing.contains("templates/nope.txt is not committed"),
        "{missing}"
    );
    env.fail(&["reply", &id, "--template", "../../etc/passwd"], 2);
    env.fail(&["reply", &id, "--template", "hello", "-m", "both"], 2);
    assert_eq!(env.commits(), commits, "nothing written");
}

#[test]
fn a_broken_trigger_is_reported_with_its_line_and_stops_changes() {
    let env = TestEnv::new();
    let id = env.new_ticket("Before");
    configure(
        &env,
        "[[trigger]]\nname = \"bad\"\non = \"created\"\nwhen = { subject_matches = \"(oops\" }\ndo = { add_tags = [\"x\"] }\n",
        &[],
    );
    let out = env.tix(&["note", &id, "-m", "x"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_panic(&stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("tix.toml line") && stderr.contains("(oops"),
        "{stderr}"
    );
    let doctor = env.tix(&["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout).into_owned()
        + &String::from_utf8_lossy(&doctor.stderr);
    assert!(text.contains("not a regular expression"), "{text}");
}

/// Mail: a trigger on a received mail replies from a template and mails
/// the assignee, through a real SMTP server.
#[test]
fn a_trigger_on_received_mail_replies_and_mails_the_assignee() {
    let server = SmtpServer::start();
    let env = TestEnv::new();
    let port = server.port();
    configure(
        &env,
        &format!(
            r#"
[[agent]]
name = "Raj Patel"
email = "raj@example.com"

[[trigger]]
name = "password-help"
on = "mail_received"
when = {{ channel = "mail", body_matches = "(?i)password" }}
do = {{ assign = "Raj Patel", reply = "password", add_tags = ["password"] }}

[[trigger]]
name = "tell-assignee"
on = "assigned"
do = {{ notify = "assignee", template = "assigned" }}

[mail]
address = "support@example.com"
name = "Example Support"
transport = "smtp"
smtp = {{ host = "127.0.0.1", port = {port}, security = "none" }}
"#
        ),
        &[
            (
                "password",
                "Hello {{ customer.name }}, reset it at https://example.com/reset.",
            ),
            (
                "assigned",
                "Ticket {{ ticket.id }} is yours: {{ ticket.subject }}",
            ),
        ],
    );
    env.at(T0);
    let mail = "From: Bo Berg <bo@example.com>\nTo: support@example.com\nSubject: Locked out\nMessage-ID: <m1@example.com>\nDate: Mon, 03 Mar 2025 08:55:00 +0000\nContent-Type: text/plain\n\nI forgot my password.\n";
    let path = env.home().join("m1.eml");
    std::fs::write(&path, mail).unwrap();
    env.ok(&["ingest", path.to_str().unwrap()]);
    let sent = server.wait_for(2, Duration::from_secs(10));
    let texts: Vec<String> = sent
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    let to_bo = texts
        .iter()
        .find(|t| t.contains("To: ") && t.contains("bo@example.com"));
    let to_raj = texts.iter().find(|t| t.contains("raj@example.com"));
    assert!(
        to_bo.is_some_and(|t| t.contains("reset it at")),
        "the customer got the reply: {texts:#?}"
    );
    assert!(
        to_raj.is_some_and(|t| t.contains("is yours: Locked out")),
        "the assignee got the notice: {texts:#?}"
    );
    let list = env.json(&["list", "--format", "json"]);
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let ticket = env.show(&id);
    assert_eq!(ticket["assignee"], "raj@example.com");
    let message = env.git(&["log", "--format=%B", "-n", "3"]);
    assert!(message.contains("Tix-Rule: password-help"), "{message}");
    assert!(message.contains("Tix-Rule: tell-assignee"), "{message}");
    // The assignee's mail is outside the customer's thread, marked
    // automatic like the trigger's reply.
    let to_raj = to_raj.unwrap();
    assert!(!to_raj.contains("In-Reply-To"), "{to_raj}");
    assert!(
        to_bo.unwrap().contains("Auto-Submitted"),
        "a rule's reply is automatic"
    );
    // Raj answers the mail: an internal note by Raj, not Bo's words.
    let parent = to_raj
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap()
        .trim()
        .to_owned();
    let answer = format!(
        "From: Raj Patel <raj@example.com>\nTo: support@example.com\nSubject: Re: Locked out\nMessage-ID: <r1@example.com>\nIn-Reply-To: {parent}\nDate: Mon, 03 Mar 2025 09:30:00 +0000\nContent-Type: text/plain\n\nI will call him.\n"
    );
    let path = env.home().join("r1.eml");
    std::fs::write(&path, answer).unwrap();
    let before = env.show(&id);
    env.ok(&["ingest", path.to_str().unwrap()]);
    let after = env.show(&id);
    assert_eq!(after["status"], before["status"], "no customer reply");
    let note = after["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["body"]
                .as_str()
                .is_some_and(|b| b.contains("I will call him"))
        })
        .cloned()
        .unwrap();
    assert_eq!(note["role"], "note", "{note}");
    assert_eq!(note["author"], "raj@example.com");
}

/// `tix sla check` records a breach; a trigger on sla_breach acts in the
/// same commit.
#[test]
fn a_trigger_on_an_sla_breach_acts_in_the_commit_that_records_it() {
    let env = TestEnv::new();
    configure(
        &env,
        r#"
[[trigger]]
name = "late"
on = "sla_breach"
when = { tags_none = ["late"] }
do = { add_tags = ["late"], add_note = "First reply is late: take it now." }
"#,
        &[],
    );
    env.at(T0);
    let id = env.new_ticket_with(
        "Urgent",
        &[
            "--priority",
            "urgent",
            "--email",
            "bo@example.com",
            "-m",
            "Help",
        ],
    );
    env.at("2025-03-03T10:30:00Z");
    let before = env.commits();
    let out = env.tix(&["sla", "check"]);
    assert_eq!(out.status.code(), Some(4), "a breach exists");
    assert_eq!(env.commits(), before + 1);
    let message = last_message(&env);
    assert!(
        message.contains("Tix-Action: sla-breach") && message.contains("Tix-Rule: late"),
        "{message}"
    );
    let ticket = env.show(&id);
    assert_eq!(tags(&ticket), ["late"]);
    assert!(bodies(&ticket).iter().any(|b| b.contains("is late")));
}

/// A trigger whose action is refused (its template runs out of budget) is
/// left out with a warning; the change is committed without it. A ticket
/// the change closed takes no triggers.
#[test]
fn a_refused_trigger_is_left_out_and_never_blocks_the_change() {
    let env = TestEnv::new();
    configure(
        &env,
        r#"
[[trigger]]
name = "runaway"
on = "note"
do = { reply = "loop", add_tags = ["never"] }

[[trigger]]
name = "tagger"
on = ["note", "status_changed"]
do = { add_tags = ["seen"] }
"#,
        &[(
            "loop",
            // Six characters to the eighth power of iterations: past the
            // fuel a template runs on.
            &format!(
                "{}x{}",
                "{% for c in ticket.id %}".repeat(8),
                "{% endfor %}".repeat(8)
            ),
        )],
    );
    env.at(T0);
    let id = env.new_ticket("Printer");
    let commits = env.commits();
    let out = env.tix(&["note", &id, "-m", "Checking"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_no_panic(&stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: trigger 'runaway' left out"),
        "{stderr}"
    );
    assert_eq!(env.commits(), commits + 1);
    assert_eq!(
        tags(&env.show(&id)),
        ["seen"],
        "runaway's tag is left out too"
    );
    assert!(!last_message(&env).contains("Tix-Rule: runaway"));
    // Closed is locked: closing fires nothing.
    env.ok(&["edit", &id, "--tag", "-seen"]);
    env.ok(&["close", &id, "--force", "--reason", "spam"]);
    assert!(tags(&env.show(&id)).is_empty());
    assert!(!last_message(&env).contains("Tix-Rule"));
}

/// A macro that resolves sends the resolved notice; the mail waits in the
/// outbox when the server is down.
#[test]
fn a_macro_that_resolves_queues_the_resolved_notice() {
    let env = TestEnv::new();
    configure(
        &env,
        &format!(
            "{REFUND}\n[mail]\naddress = \"support@example.com\"\ntransport = \"smtp\"\n\
             smtp = {{ host = \"127.0.0.1\", port = 9, security = \"none\" }}\n\
             notify = {{ resolved = \"resolved\" }}\n"
        ),
        &[("refund", REFUND_TEXT)],
    );
    env.at(T0);
    let id = env.new_ticket_with(
        "Charged twice",
        &["--email", "bo@example.com", "-m", "Twice"],
    );
    env.ok(&["macro", "refund", &id]);
    let ticket = env.show(&id);
    let notice = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "system")
        .cloned();
    assert!(
        notice.is_some_and(|m| m["body"].as_str().unwrap().contains("is solved")),
        "{ticket}"
    );
    let outbox = env.json(&["outbox", "--format", "json"]);
    assert_eq!(
        outbox["mail"].as_array().map(Vec::len),
        Some(2),
        "reply and notice wait: {outbox}"
    );
}
