//! tix.toml end to end: custom statuses, the ticket form, routing and
//! assignment, hooks, and refusals of a broken configuration.

use crate::common::world::World;
use crate::common::{TestEnv, fixture};

const T0: &str = "2025-03-03T09:00:00Z";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn required_and_typed_fields_are_enforced_and_nothing_is_written_on_refusal() {
    let w = World::desk("d");
    w.configure("d", &fixture("form.toml"));
    let before = w.commits("d");
    for (args, says) in [
        (&["new", "No order"][..], "missing required field order"),
        (
            &["new", "Bad", "--field", "order=abc"],
            "field 'order' must be a number",
        ),
        (
            &["new", "Bad", "--field", "order=1", "--field", "plan=gold"],
            "must be one of free, pro",
        ),
        (
            &["new", "Bad", "--field", "order=1", "--field", "colour=red"],
            "unknown field 'colour'",
        ),
        (
            &[
                "new",
                "Bad",
                "--field",
                "order=1",
                "--field",
                "renewal=2025-02-30",
            ],
            "a date (YYYY-MM-DD)",
        ),
    ] {
        let err = w.fail("d", T0, args, 1);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(w.commits("d"), before, "refusals write nothing");
    let ticket = json(&w.tix(
        "d",
        T0,
        &[
            "new",
            "Good",
            "--field",
            "order=42",
            "--field",
            "renewal=2026-01-31",
            "--format",
            "json",
        ],
    ));
    assert_eq!(ticket["fields"]["order"], 42);
    assert_eq!(ticket["fields"]["plan"], "free", "default applied");
    assert_eq!(ticket["fields"]["renewal"], "2026-01-31");
    let id = ticket["id"].as_str().unwrap();
    let file =
        std::fs::read_to_string(w.path(&format!("d/tickets/{}/{id}.toml", &id[..2]))).unwrap();
    assert!(
        file.contains("order = 42") && file.contains("renewal = 2026-01-31"),
        "{file}"
    );
    // Edits validate the same way; a required field cannot be cleared.
    assert!(
        w.fail("d", T0, &["edit", id, "--field", "order="], 1)
            .contains("required")
    );
    assert!(
        w.fail("d", T0, &["edit", id, "--field", "plan=gold"], 1)
            .contains("one of free, pro")
    );
    w.tix("d", T0, &["edit", id, "--field", "plan=pro"]);
    let listed = w.tix("d", T0, &["list", "--field", "plan=pro", "--format", "csv"]);
    assert!(listed.contains(id), "{listed}");
    assert!(
        !w.tix(
            "d",
            T0,
            &["list", "--field", "plan=free", "--format", "csv"]
        )
        .contains(id)
    );
    assert!(w.tix("d", T0, &["show", id]).contains("order: 42"));
}

#[test]
fn custom_statuses_move_only_where_the_config_allows() {
    let w = World::desk("d");
    w.configure("d", &fixture("form.toml"));
    let id = json(&w.tix(
        "d",
        T0,
        &["new", "Vendor", "--field", "order=1", "--format", "json"],
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = w.tix(
        "d",
        T0,
        &["status", &id, "waiting_on_vendor", "-m", "RMA opened"],
    );
    assert!(out.contains("new -> waiting_on_vendor"), "{out}");
    let ticket = w.ticket("d", &id);
    assert_eq!(
        (ticket["status"].as_str(), ticket["category"].as_str()),
        (Some("waiting_on_vendor"), Some("on_hold"))
    );
    assert!(
        w.tix("d", T0, &["list", "--category", "on_hold"])
            .contains(&id)
    );
    assert!(w.tix("d", T0, &["show", &id]).contains("Waiting on vendor"));
    let err = w.fail("d", T0, &["status", &id, "answered"], 1);
    assert!(err.contains("allows only open, resolved"), "{err}");
    assert!(
        w.fail("d", T0, &["status", &id, "nowhere"], 1)
            .contains("unknown status 'nowhere'")
    );
    w.tix("d", T0, &["status", &id, "resolved"]);
    assert_eq!(
        w.ticket("d", &id)["assignee"],
        "ana@desk.test",
        "resolving assigns the resolver"
    );
}

#[test]
fn routing_files_tickets_and_round_robin_takes_turns() {
    let w = World::desk("d");
    w.configure(
        "d",
        r#"
[[department]]
name = "billing"
assignment = "round_robin"

[[agent]]
name = "Ana"
email = "ana@desk.test"
departments = ["billing"]

[[agent]]
name = "Raj"
email = "raj@desk.test"
departments = ["billing"]

[[routing]]
name = "bank mail"
when = { customer_domain = ["bank.example"] }
set = { department = "billing", priority = "high", add_tags = ["finance"] }
"#,
    );
    let new = |subject: &str, email: &str| {
        json(&w.tix(
            "d",
            T0,
            &["new", subject, "--email", email, "--format", "json"],
        ))
    };
    let first = new("Card declined", "bo@bank.example");
    assert_eq!(first["department"], "billing");
    assert_eq!(first["priority"], "high");
    assert_eq!(first["tags"][0], "finance");
    assert_eq!(first["assignee"], "ana@desk.test");
    assert_eq!(new("Fees", "kim@bank.example")["assignee"], "raj@desk.test");
    assert_eq!(
        new("Limit", "lu@bank.example")["assignee"],
        "ana@desk.test",
        "wraps around"
    );
    let other = new("Hello", "x@elsewhere.example");
    assert!(other["department"].is_null() && other["assignee"].is_null());
    // Explicit flags win over routing.
    let explicit = json(&w.tix(
        "d",
        T0,
        &[
            "new",
            "Urgent",
            "--email",
            "z@bank.example",
            "--priority",
            "low",
            "--format",
            "json",
        ],
    ));
    assert_eq!(explicit["priority"], "low");
    assert!(
        w.fail(
            "d",
            T0,
            &["assign", other["id"].as_str().unwrap(), "nobody"],
            1
        )
        .contains("no agent is called 'nobody'")
    );
    assert!(
        w.fail("d", T0, &["new", "X", "--department", "sales"], 1)
            .contains("unknown department 'sales'")
    );
}

#[test]
fn hooks_get_the_ticket_on_stdin_and_a_failing_hook_never_undoes_the_change() {
    let w = World::desk("d");
    let log = w.path("hook.log");
    w.configure(
        "d",
        &format!(
            "\n[[hook]]\non = [\"created\", \"status_changed\"]\nrun = \"cat >> '{0}'; echo \\\" $TIX_EVENT $TIX_TICKET $TIX_ACTION\\\" >> '{0}'\"\n\n[[hook]]\non = [\"changed\"]\nrun = \"exit 7\"\n",
            log.display()
        ),
    );
    w.tix("d", T0, &["hooks", "allow"]);
    let out = w.tix_in(
        "d",
        T0,
        "Ana <ana@desk.test>",
        &["new", "Hooked", "--format", "json"],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("hook `exit 7` (changed) failed")
            && stderr.contains("the change is committed"),
        "{stderr}"
    );
    let id = json(&String::from_utf8_lossy(&out.stdout))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.tix("d", T0, &["reply", &id, "-m", "Hi"]);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains(&format!("\"id\":\"{id}\"")), "{logged}");
    assert!(logged.contains(&format!(" created {id} new")), "{logged}");
    assert!(
        logged.contains(&format!(" status_changed {id} reply")),
        "{logged}"
    );
    assert_eq!(w.ticket("d", &id)["status"], "answered");
}

#[test]
fn a_broken_config_stops_every_command_and_doctor_lists_every_problem() {
    let w = World::desk("d");
    let id = w.new_ticket("d", T0, "Before");
    w.configure(
        "d",
        "\n[[status]]\nid = \"vendor\"\ncategory = \"limbo\"\n\n[[department]]\nname = \"billing\"\n\n[[routing]]\nset = { department = \"sales\" }\n",
    );
    let before = w.commits("d");
    for args in [
        &["list"][..],
        &["show", &id],
        &["note", &id, "-m", "x"],
        &["new", "After"],
    ] {
        let err = w.fail("d", T0, args, 1);
        assert!(
            err.contains("tix.toml line") && err.contains("limbo"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(w.commits("d"), before);
    let out = w.tix_in("d", T0, "Ana <ana@desk.test>", &["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("limbo") && report.contains("unknown department 'sales'"),
        "{report}"
    );
    // An unknown key names the key and its line.
    let w = World::desk("e");
    w.configure("e", "\n[colours]\nticket = \"red\"\n");
    let err = w.fail("e", T0, &["list"], 1);
    assert!(err.contains("colours") && err.contains("line"), "{err}");
}

/// The 1-based line of the desk's tix.toml that contains `needle` (the
/// last such line: tests append to the file).
fn config_line(w: &World, desk: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(w.path(desk).join("tix.toml")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .rposition(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line with {needle}"))
}

#[test]
fn doctor_reports_bad_types_bad_values_unknown_keys_and_references_at_once() {
    let w = World::desk("d");
    w.configure(
        "d",
        r#"
[[field]]
name = "order"
type = "number"
required = "yes"
colour = "red"

[[department]]
name = "billing"
assignment = "random"

[[routing]]
name = "r"
set = { department = "nowhere" }

[[hook]]
on = ["created"]
run = 7
"#,
    );
    let before = w.commits("d");
    let out = w.tix_in("d", T0, "Ana <ana@desk.test>", &["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    let expected = [
        (
            "required = \"yes\"",
            "[[field]] 'order': key 'required': expected true or false, found string \"yes\"",
        ),
        (
            "colour = \"red\"",
            "unknown key `colour` in [[field]] 'order'; use name, label, type",
        ),
        (
            "assignment = \"random\"",
            "[[department]] 'billing': key 'assignment': unknown value \"random\"; use none, round_robin, least_loaded",
        ),
        ("department = \"nowhere\"", "unknown department 'nowhere'"),
        (
            "run = 7",
            "[[hook]] #1: key 'run': expected a string, found integer 7",
        ),
    ];
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{report}");
    for (line, (needle, says)) in lines.iter().zip(expected) {
        let at = format!("tix.toml:{}: ", config_line(&w, "d", needle));
        assert!(
            line.starts_with(&at) && line.contains(says),
            "{line}\nwanted {at}{says}"
        );
    }
    // Every other command refuses with the first problem and the count.
    let err = w.fail("d", T0, &["new", "After"], 1);
    assert!(
        err.contains("key 'required'") && err.contains("(and 4 more problems)"),
        "{err}"
    );
    assert_eq!(w.commits("d"), before, "nothing is committed");
}

#[test]
fn a_hook_that_never_reads_a_large_ticket_is_stopped_at_its_timeout() {
    let w = World::desk("d");
    w.configure(
        "d",
        "\n[[hook]]\non = [\"created\"]\nrun = \"sleep 60\"\ntimeout = \"1s\"\n",
    );
    w.tix("d", T0, &["hooks", "allow"]);
    // More than a pipe buffer holds: tix must not block writing it.
    let body = "x".repeat(100_000);
    let start = std::time::Instant::now();
    let out = w.tix_in(
        "d",
        T0,
        "Ana <ana@desk.test>",
        &["new", "Big", "-m", &body, "--format", "json"],
    );
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "hook `sleep 60` (created) failed: stopped after 1 s; the change is committed"
        ),
        "{stderr}"
    );
    let id = json(&String::from_utf8_lossy(&out.stdout))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(w.ticket("d", &id)["subject"], "Big");
}

#[test]
fn stopping_a_hook_at_its_timeout_stops_what_it_started() {
    let w = World::desk("d");
    // sh forks `sleep`, which holds tix's stderr: killing sh alone would
    // leave a reader of tix's stderr waiting 50 seconds.
    w.configure(
        "d",
        "\n[[hook]]\non = [\"created\"]\nrun = \"sleep 50; true\"\ntimeout = \"1s\"\n",
    );
    w.tix("d", T0, &["hooks", "allow"]);
    let start = std::time::Instant::now();
    let out = w.tix_in("d", T0, "Ana <ana@desk.test>", &["new", "Slow hook"]);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(20),
        "stderr stayed open: {:?}",
        start.elapsed()
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stopped after 1 s"));
}

#[test]
fn an_uncommitted_or_staged_hook_never_runs() {
    let w = World::desk("d");
    let marker = w.path("ran");
    let path = w.path("d").join("tix.toml");
    let committed = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!(
            "{committed}\n[[hook]]\non = [\"created\"]\nrun = \"touch '{}'\"\n",
            marker.display()
        ),
    )
    .unwrap();
    w.tix("d", T0, &["new", "Unstaged"]);
    assert!(!marker.exists(), "an uncommitted hook ran");
    w.git("d", &["add", "tix.toml"]);
    w.tix("d", T0, &["new", "Staged"]);
    assert!(!marker.exists(), "a staged hook ran");
    w.git("d", &["commit", "-q", "-m", "add the hook"]);
    let out = w.tix_in("d", T0, "Ana <ana@desk.test>", &["new", "Committed"]);
    assert!(out.status.success());
    assert!(
        !marker.exists(),
        "a committed hook ran before this clone allowed it"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("did not run") && stderr.contains("tix hooks allow"),
        "{stderr}"
    );
    w.tix("d", T0, &["hooks", "allow"]);
    w.tix("d", T0, &["new", "Allowed"]);
    assert!(marker.exists(), "the allowed hook runs");
}

/// A `[[hook]]` that arrives with a pull runs nowhere until that clone
/// allows the exact set of commands; a changed set stops running until
/// allowed again; each skipped command is reported once per run, doctor
/// reports the set, and an automation run that skipped one exits 4.
#[test]
fn committed_commands_run_only_after_this_clone_allows_them() {
    let w = World::desk("d");
    let log = w.path("hook.log");
    let hook = |text: &str| {
        format!(
            "\n[[hook]]\non = [\"changed\"]\nrun = \"echo {text} $TIX_TICKET >> '{}'\"\n",
            log.display()
        )
    };
    w.configure("d", &hook("one"));
    let listed = w.tix("d", T0, &["hooks"]);
    assert!(listed.contains("hook on changed: echo one"), "{listed}");
    assert!(listed.contains("not allowed on this clone"), "{listed}");
    let review = w.tix("d", T0, &["hooks", "--format", "json"]);
    assert!(review.contains("\"allowed\": false"), "{review}");
    let doctor = w.tix_in("d", T0, "Ana <ana@desk.test>", &["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&doctor.stdout)
            .contains("tix.toml: its commands (hooks, the mail transport) are not allowed")
    );
    // Three tickets resolved long ago: autoclose closes them all, runs no
    // hook, says so once, and exits 4 for the monitor.
    let ids: Vec<String> = (0..3)
        .map(|i| w.new_ticket("d", T0, &format!("t{i}")))
        .collect();
    for id in &ids {
        w.tix("d", T0, &["resolve", id]);
    }
    let run = w.tix_in(
        "d",
        "2025-03-20T00:00:00Z",
        "Ana <ana@desk.test>",
        &["autoclose"],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{stderr}");
    assert_eq!(stderr.matches("did not run").count(), 1, "{stderr}");
    assert!(!log.exists(), "no hook ran");
    // A digest that is not the set's is refused: what was reviewed is
    // what gets allowed.
    let stale = w.tix_in("d", T0, "Ana <ana@desk.test>", &["hooks", "allow", "0000"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stderr).contains("changed since you reviewed"));
    let digest = listed
        .lines()
        .last()
        .and_then(|l| l.split("`tix hooks allow ").nth(1))
        .and_then(|rest| rest.split('`').next())
        .unwrap()
        .to_owned();
    assert_eq!(digest.len(), 40, "{listed}");
    // Allowed: it runs.
    let said = w.tix_in("d", T0, "Ana <ana@desk.test>", &["hooks", "allow", &digest]);
    assert!(String::from_utf8_lossy(&said.stderr).contains("allowed: echo one"));
    assert!(String::from_utf8_lossy(&said.stderr).contains("Allowed the 1 command"));
    assert!(w.tix("d", T0, &["hooks"]).contains("allowed on this clone"));
    let fresh = w.new_ticket("d", T0, "fresh");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("one {fresh}\n")
    );
    // A pull that changes the command voids the allowance.
    let config = std::fs::read_to_string(w.path("d").join("tix.toml")).unwrap();
    std::fs::write(
        w.path("d").join("tix.toml"),
        config.replace(&hook("one"), &hook("two")),
    )
    .unwrap();
    w.git("d", &["commit", "-q", "-am", "change the hook"]);
    w.tix("d", T0, &["note", &fresh, "-m", "again"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        1,
        "the changed hook ran"
    );
    w.tix("d", T0, &["hooks", "allow"]);
    w.tix("d", T0, &["note", &fresh, "-m", "allowed again"]);
    assert!(std::fs::read_to_string(&log).unwrap().contains("two "));
    // The allowance is the clone's own: nothing of it is committed.
    assert!(
        !w.git("d", &["show", "HEAD:tix.toml"])
            .contains("allowedCommands")
    );
    assert!(
        w.git("d", &["config", "--local", "tix.allowedCommands"])
            .trim()
            .len()
            == 40
    );
}

#[test]
fn a_hook_without_events_or_command_or_with_a_bad_timeout_is_refused() {
    let w = World::desk("d");
    w.configure(
        "d",
        "\n[[hook]]\non = []\nrun = \"notify\"\n\n[[hook]]\non = [\"created\"]\nrun = \"  \"\n\n[[hook]]\non = [\"created\"]\nrun = \"notify\"\ntimeout = \"soon\"\n",
    );
    let before = w.commits("d");
    let out = w.tix_in("d", T0, "Ana <ana@desk.test>", &["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    for (needle, says) in [
        ("on = []", "`on = []`: it would never run"),
        ("run = \"  \"", "empty `run`"),
        ("timeout = \"soon\"", "timeout 'soon' is not a duration"),
    ] {
        let at = format!("tix.toml:{}: ", config_line(&w, "d", needle));
        assert!(
            report
                .lines()
                .any(|l| l.starts_with(&at) && l.contains(says)),
            "{at}{says}\n{report}"
        );
    }
    let err = w.fail("d", T0, &["new", "x"], 1);
    assert!(err.contains("on = []"), "{err}");
    assert_eq!(w.commits("d"), before);
}

#[test]
fn values_that_would_fail_later_are_refused_when_the_config_loads() {
    for (config, needle, says) in [
        (
            "\n[[routing]]\nname = \"r\"\nset = { add_tags = [\"two words\"] }\n",
            "set = { add_tags",
            "routing rule 'r': add_tags: 'two words' is not a tag",
        ),
        (
            "\n[[automation]]\nname = \"tagger\"\nwhen = { category = \"new\", tags_none = [\"a b\"] }\ndo = { add_tags = [\"a b\"] }\n",
            "[[automation]]",
            "automation 'tagger': 'a b' is not a tag",
        ),
        (
            "\n[[agent]]\nname = \"\"\nemail = \"@\"\n",
            "email = \"@\"",
            "agent '@': the name is empty",
        ),
        (
            "\n[[field]]\nname = \"número\"\ntype = \"string\"\nrequired = true\n",
            "name = \"número\"",
            "field name 'número' must be ASCII letters, digits, '-' and '_'",
        ),
        (
            "\n[[field]]\nname = \"plan\"\ntype = \"choice\"\nchoices = [\"free\", \"free\"]\n",
            "name = \"plan\"",
            "choice field 'plan' lists 'free' twice",
        ),
        (
            "\n[[agent]]\nname = \"Ana\"\nemail = \"ana@desk.test\"\n\n[[agent]]\nname = \"Ana L\"\nemail = \"ana@desk.test\"\n",
            "email = \"ana@desk.test\"",
            "agent 'ana@desk.test' is defined twice",
        ),
        (
            "\n[[department]]\nname = \"billing\"\n\n[[agent]]\nname = \"Ana\"\nemail = \"ana@desk.test\"\n\n[[automation]]\nname = \"hand-off\"\nwhen = { department = \"sales\", assignee = \"none\" }\ndo = { assign = \"Ana\" }\n",
            "[[automation]]",
            "automation 'hand-off' has unknown department 'sales'",
        ),
        (
            "\n[[agent]]\nname = \"Ana\"\nemail = \"ana@desk.test\"\n\n[[automation]]\nname = \"hand-off\"\nwhen = { assignee = \"none\" }\ndo = { assign = \"kim\" }\n",
            "[[automation]]",
            "automation 'hand-off': do.assign names unknown agent 'kim'",
        ),
        (
            "\n[[department]]\nname = \"billing\"\n\n[[sla.policy]]\nname = \"sales\"\nmatch = { department = [\"sales\"] }\n",
            "[[sla.policy]]",
            "SLA policy 'sales' matches unknown department 'sales'",
        ),
        (
            "\n[[routing]]\nname = \"r\"\nwhen = { customer_domain = [\"bo@bank.example\"] }\nset = { priority = \"high\" }\n",
            "when = { customer_domain",
            "routing rule 'r': customer_domain 'bo@bank.example' is not a mail domain",
        ),
    ] {
        let w = World::desk("d");
        w.configure("d", config);
        let before = w.commits("d");
        let out = w.tix_in("d", T0, "Ana <ana@desk.test>", &["doctor"]);
        assert_eq!(out.status.code(), Some(1));
        let report = String::from_utf8_lossy(&out.stdout);
        let at = format!("tix.toml:{}: {says}", config_line(&w, "d", needle));
        assert!(report.contains(&at), "{at}\n{report}");
        let err = w.fail("d", T0, &["new", "x", "--tag", "ok"], 1);
        assert!(err.contains(says), "{err}");
        assert_eq!(w.commits("d"), before, "nothing is committed");
    }
    // An automation identity git would refuse stops autoclose with a
    // message, not an internal error.
    let w = World::desk("d");
    let path = w.path("d").join("tix.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "automation = { name = \"tix-automation\", email = \"tix-automation@localhost\" }",
        "automation = { name = \"\", email = \"\" }",
    );
    std::fs::write(&path, text).unwrap();
    w.git("d", &["commit", "-q", "-am", "blank identity"]);
    let before = w.commits("d");
    let err = w.fail("d", T0, &["autoclose"], 1);
    assert!(
        err.contains("[desk] automation: the name is empty"),
        "{err}"
    );
    assert_eq!(w.commits("d"), before, "nothing is committed");
}

#[test]
fn the_command_line_takes_the_field_names_the_config_takes() {
    let w = World::desk("d");
    w.configure(
        "d",
        "\n[[field]]\nname = \"order_no-2\"\nlabel = \"Número do pedido\"\ntype = \"string\"\nrequired = true\n",
    );
    let ticket = json(&w.tix(
        "d",
        T0,
        &["new", "x", "--field", "order_no-2=A1", "--format", "json"],
    ));
    assert_eq!(ticket["fields"]["order_no-2"], "A1");
    // tix show uses the label (a field without one shows its name).
    let shown = w.tix("d", T0, &["show", ticket["id"].as_str().unwrap()]);
    assert!(shown.contains("  Número do pedido: A1\n"), "{shown}");
    assert!(!shown.contains("order_no-2"), "{shown}");
    let err = w.fail("d", T0, &["new", "x", "--field", "número=1"], 2);
    assert!(
        err.contains("'número' is not a field name: use ASCII letters, digits, '-' and '_'"),
        "{err}"
    );
}

#[test]
fn a_custom_new_status_is_reachable_and_next_never_bends_the_lifecycle() {
    let w = World::desk("d");
    w.configure(
        "d",
        "\n[[status]]\nid = \"triage\"\nlabel = \"Triage\"\ncategory = \"new\"\nnext = [\"new\", \"open\", \"answered\"]\n",
    );
    let id = w.new_ticket("d", T0, "Sort me");
    assert!(
        w.tix("d", T0, &["status", &id, "triage"])
            .contains("new -> triage")
    );
    assert_eq!(w.ticket("d", &id)["category"], "new");
    w.tix("d", T0, &["status", &id, "new"]);
    w.tix("d", T0, &["status", &id, "open"]);
    let before = w.commits("d");
    let err = w.fail("d", T0, &["status", &id, "triage"], 1);
    assert!(
        err.contains(
            "cannot move the ticket from open to triage: nothing returns to the new category"
        ),
        "{err}"
    );
    assert_eq!(w.commits("d"), before, "nothing is committed");

    // A next entry the lifecycle would always refuse is refused at load.
    for (next, says) in [
        (
            "id = \"vendor\"\ncategory = \"on_hold\"\nnext = [\"closed\"]",
            "status 'vendor' can never move to 'closed': only a resolved ticket closes; use `tix close --force --reason TEXT`",
        ),
        (
            "id = \"closed\"\ncategory = \"closed\"\nnext = [\"open\", \"new\"]",
            "status 'closed' can never move to 'open': closed tickets are locked; use `tix reopen`",
        ),
    ] {
        let w = World::desk("e");
        w.configure("e", &format!("\n[[status]]\n{next}\n"));
        let before = w.commits("e");
        let out = w.tix_in("e", T0, "Ana <ana@desk.test>", &["doctor"]);
        assert_eq!(out.status.code(), Some(1));
        let at = format!("tix.toml:{}: {says}", config_line(&w, "e", "next = "));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(&at),
            "{at}\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(w.fail("e", T0, &["new", "x"], 1).contains(says));
        assert_eq!(w.commits("e"), before);
    }
}

#[test]
fn list_field_filters_compare_typed_values_and_refuse_what_cannot_match() {
    let w = World::desk("d");
    w.configure("d", &fixture("typed-fields.toml"));
    let new = |extra: &[&str]| {
        let mut args = vec!["new", "t", "--format", "json"];
        args.extend_from_slice(extra);
        json(&w.tix("d", T0, &args))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = new(&["--field", "order=4.5", "--field", "paid=YES"]);
    let b = new(&[
        "--field", "order=4", "--field", "paid=no", "--field", "plan=pro",
    ]);
    let c = new(&[]);
    let list = |filters: &[&str]| {
        let mut args = vec!["list", "--format", "csv"];
        for f in filters {
            args.extend(["--field", f]);
        }
        let out = w.tix("d", T0, &args);
        [("a", &a), ("b", &b), ("c", &c)]
            .into_iter()
            .filter(|(_, id)| out.contains(id.as_str()))
            .map(|(name, _)| name)
            .collect::<Vec<_>>()
    };
    assert_eq!(list(&["order=4.50"]), ["a"], "4.50 is 4.5");
    assert_eq!(list(&["order=4.0"]), ["b"], "4.0 is 4");
    assert_eq!(list(&["paid=yes"]), ["a"], "yes is true");
    assert_eq!(list(&["paid=False"]), ["b"]);
    assert_eq!(list(&["plan=pro"]), ["b"]);
    assert_eq!(
        list(&["order=4.5", "order=4"]),
        ["a", "b"],
        "values of one key: any"
    );
    assert_eq!(
        list(&["order=4.5", "paid=no"]),
        Vec::<&str>::new(),
        "keys: all"
    );
    assert_eq!(list(&["plan="]), ["a", "c"], "empty: not set");
    for (filter, says) in [
        (
            "colour=red",
            "unknown field 'colour': the ticket form has order, paid, plan",
        ),
        ("order=many", "field 'order' must be a number, not 'many'"),
        ("paid=maybe", "field 'paid' must be true or false"),
        (
            "plan=gold",
            "field 'plan' must be one of free, pro, not 'gold'",
        ),
    ] {
        let err = w.fail("d", T0, &["list", "--field", filter], 2);
        assert!(err.contains(says), "{filter}: {err}");
    }
    // Without a ticket form the stored text is compared.
    let path = w.path("d").join("tix.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace(&fixture("typed-fields.toml"), "");
    std::fs::write(&path, text).unwrap();
    w.git("d", &["commit", "-q", "-am", "drop the form"]);
    assert_eq!(list(&["order=4.5"]), ["a"]);
    assert_eq!(list(&["order=4.50"]), Vec::<&str>::new());
}

#[test]
fn field_values_that_are_empty_repeated_mistyped_or_unknown_are_refused() {
    let w = World::desk("d");
    w.configure("d", &fixture("form.toml"));
    let id = json(&w.tix(
        "d",
        T0,
        &["new", "Ok", "--field", "order=1", "--format", "json"],
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = w.commits("d");
    for (args, code, says) in [
        (
            &["new", "x", "--field", "order="][..],
            1,
            "field 'order' has an empty value: give --field order=VALUE",
        ),
        (
            &["new", "x", "--field", "order=1", "--field", "order=2"],
            2,
            "--field order is given twice",
        ),
        (
            &["edit", &id, "--field", "plan=free", "--field", "plan=pro"],
            2,
            "--field plan is given twice",
        ),
        (
            &["edit", &id, "--field", "order=twelve"],
            1,
            "field 'order' must be a number, not 'twelve'",
        ),
        (
            &["edit", &id, "--field", "renewal=tomorrow"],
            1,
            "field 'renewal' must be a date (YYYY-MM-DD), not 'tomorrow'",
        ),
        (
            &["edit", &id, "--field", "colour=red"],
            1,
            "unknown field 'colour': the ticket form has order, plan, renewal",
        ),
        (
            &["edit", &id, "--field", "order="],
            1,
            "field 'order' is required and cannot be cleared",
        ),
    ] {
        let err = w.fail("d", T0, args, code);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(w.commits("d"), before, "refusals write nothing");
    assert_eq!(w.ticket("d", &id)["fields"]["order"], 1);
}

#[test]
fn every_path_that_assigns_raises_assigned_and_every_change_raises_changed() {
    let w = World::desk("d");
    let log = w.path("hook.log");
    w.configure(
        "d",
        &format!(
            r#"
[[department]]
name = "billing"
assignment = "round_robin"

[[agent]]
name = "Ana"
email = "ana@desk.test"
departments = ["billing"]

[[routing]]
name = "bank"
when = {{ customer_domain = ["bank.example"] }}
set = {{ department = "billing" }}

[[automation]]
name = "auto-assign"
when = {{ tags_any = ["auto"], assignee = "none" }}
do = {{ assign = "Ana" }}

[[hook]]
on = ["assigned", "changed"]
run = "echo \"$TIX_ACTION $TIX_TICKET $TIX_EVENT [$TIX_EVENTS]\" >> '{}'"
"#,
            log.display()
        ),
    );
    w.tix("d", T0, &["hooks", "allow"]);
    let lines = || std::fs::read_to_string(&log).unwrap_or_default();
    let line_of = |action: &str, id: &str| {
        lines()
            .lines()
            .find(|l| l.starts_with(&format!("{action} {id} ")))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no {action} for {id}:\n{}", lines()))
    };
    // tix next --take.
    let queued = w.new_ticket("d", T0, "Queued");
    w.tix("d", T0, &["next", "--take"]);
    assert_eq!(
        line_of("take", &queued),
        format!("take {queued} assigned [assigned status_changed changed]")
    );
    // Routing and round robin at creation.
    let routed = json(&w.tix(
        "d",
        T0,
        &[
            "new",
            "Card",
            "--email",
            "bo@bank.example",
            "--format",
            "json",
        ],
    ))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        line_of("new", &routed),
        format!("new {routed} assigned [created assigned changed]")
    );
    // The resolver is assigned.
    let solved = w.new_ticket("d", T0, "Solve me");
    w.tix("d", T0, &["resolve", &solved]);
    assert_eq!(
        line_of("resolve", &solved),
        format!("resolve {solved} assigned [assigned status_changed changed]")
    );
    // An automation's assign action.
    let auto = w.new_ticket_with("d", T0, "Tagged", &["--tag", "auto"]);
    w.tix("d", T0, &["automate"]);
    assert_eq!(
        line_of("automate", &auto),
        format!("automate {auto} assigned [assigned changed]")
    );
    // An SLA breach commit is a change (default policy: urgent, 1h).
    let late = w.new_ticket_with("d", T0, "Late", &["--priority", "urgent"]);
    w.fail("d", "2025-03-03T11:00:00Z", &["sla", "check"], 4);
    assert_eq!(
        line_of("sla-breach", &late),
        format!("sla-breach {late} changed [sla_breach changed]")
    );
}

#[test]
fn round_robin_gives_an_agent_added_later_one_turn_then_keeps_rotating() {
    let w = World::desk("d");
    let agent = |name: &str| {
        format!(
            "\n[[agent]]\nname = \"{name}\"\nemail = \"{}@desk.test\"\ndepartments = [\"billing\"]\n",
            name.to_lowercase()
        )
    };
    w.configure(
        "d",
        &format!(
            "\n[[department]]\nname = \"billing\"\nassignment = \"round_robin\"\n{}{}",
            agent("Ana"),
            agent("Raj")
        ),
    );
    let minute = std::cell::Cell::new(0);
    let next = || {
        minute.set(minute.get() + 1);
        let now = format!("2025-03-03T09:{:02}:00Z", minute.get());
        let ticket = json(&w.tix(
            "d",
            &now,
            &["new", "Bill", "--department", "billing", "--format", "json"],
        ));
        ticket["assignee"]
            .as_str()
            .unwrap()
            .trim_end_matches("@desk.test")
            .to_owned()
    };
    let turns: Vec<String> = (0..3).map(|_| next()).collect();
    assert_eq!(turns, ["ana", "raj", "ana"]);
    w.configure("d", &agent("Kim"));
    // Kim takes one turn, not every ticket until Kim has as many as the others.
    let turns: Vec<String> = (0..4).map(|_| next()).collect();
    assert_eq!(turns, ["kim", "raj", "ana", "kim"]);
}

#[test]
fn least_loaded_gives_the_ticket_to_the_agent_with_fewest_active_tickets() {
    let w = World::desk("d");
    w.configure(
        "d",
        r#"
[[department]]
name = "tech"
assignment = "least_loaded"

[[agent]]
name = "Ana"
email = "ana@desk.test"
departments = ["tech"]

[[agent]]
name = "Raj"
email = "raj@desk.test"
departments = ["tech"]
"#,
    );
    let new = |extra: &[&str]| {
        let mut args = vec!["new", "Broken", "--department", "tech", "--format", "json"];
        args.extend_from_slice(extra);
        let ticket = json(&w.tix("d", T0, &args));
        (
            ticket["id"].as_str().unwrap().to_owned(),
            ticket["assignee"].as_str().unwrap().to_owned(),
        )
    };
    // Ana holds two active tickets, Raj one that is resolved.
    new(&["--assign", "Ana"]);
    new(&["--assign", "Ana"]);
    let (solved, _) = new(&["--assign", "Raj"]);
    w.tix("d", T0, &["resolve", &solved]);
    assert_eq!(new(&[]).1, "raj@desk.test", "resolved tickets are no load");
    assert_eq!(new(&[]).1, "raj@desk.test", "1 against 2");
    assert_eq!(
        new(&[]).1,
        "ana@desk.test",
        "a tie goes to the agent listed first"
    );
}

#[test]
fn routing_conditions_on_body_tags_priority_words_and_subdomains() {
    let w = World::desk("d");
    w.configure(
        "d",
        r#"
[[routing]]
name = "outage"
when = { body_matches = ["down"] }
set = { priority = "urgent", add_tags = ["outage"] }

[[routing]]
name = "vip"
when = { tags_any = ["vip"], priority = ["high", "urgent"] }
set = { add_tags = ["fast-lane"] }

[[routing]]
name = "bank"
when = { customer_domain = ["bank.example"], subject_matches = ["card"] }
set = { add_tags = ["finance"] }
"#,
    );
    let tags = |args: &[&str]| {
        let mut all = vec!["new", "--format", "json"];
        all.extend_from_slice(args);
        let ticket = json(&w.tix("d", T0, &all));
        let tags: Vec<String> = ticket["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        (
            tags.join(" "),
            ticket["priority"].as_str().unwrap().to_owned(),
        )
    };
    assert_eq!(
        tags(&["Help", "-m", "The portal is DOWN."]),
        ("outage".into(), "urgent".into())
    );
    assert_eq!(
        tags(&["Help", "-m", "The download is slow"]),
        (String::new(), "normal".into()),
        "whole words only"
    );
    assert_eq!(
        tags(&["Hi", "--tag", "vip", "--priority", "high"]),
        ("fast-lane vip".into(), "high".into())
    );
    assert_eq!(
        tags(&["Hi", "--tag", "vip"]),
        ("vip".into(), "normal".into()),
        "priority condition"
    );
    assert_eq!(
        tags(&["Hi", "--tag", "vip", "-m", "all down"]),
        ("fast-lane outage vip".into(), "urgent".into()),
        "a later rule sees the priority an earlier one set"
    );
    assert_eq!(
        tags(&["Card declined", "--email", "bo@eu.bank.example"]),
        ("finance".into(), "normal".into()),
        "a subdomain"
    );
    assert_eq!(
        tags(&["Card declined", "--email", "bo@otherbank.example"]),
        (String::new(), "normal".into())
    );
}

#[test]
fn uncommenting_every_example_of_the_init_config_gives_a_working_desk() {
    let w = World::desk("d");
    let path = w.path("d").join("tix.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let looks_like_toml = |line: &str| {
        line.starts_with('[')
            || line
                .split_once(" = ")
                .is_some_and(|(key, _)| !key.contains(' '))
    };
    let uncommented: Vec<&str> = text
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|rest| looks_like_toml(rest))
                .unwrap_or(l)
        })
        .collect();
    // Every section of the reference is there to try.
    let all = uncommented.join("\n");
    for key in [
        "customer_label = ",
        "label = \"Order number\"",
        "body_matches",
        "tags_any",
        "priority = [",
        "priority = \"urgent\"",
        "\"least_loaded\"",
        "TIX_EVENTS",
        "TIX_STATUS_FROM",
        "TIX_STATUS_TO",
        "timeout = ",
    ] {
        assert!(all.contains(key), "the init config shows no {key}");
    }
    std::fs::write(&path, format!("{all}\n")).unwrap();
    w.git("d", &["commit", "-q", "-am", "every example"]);
    w.tix("d", T0, &["hooks", "allow"]);
    w.tix("d", T0, &["doctor"]);
    let ticket = json(&w.tix(
        "d",
        T0,
        &[
            "new",
            "Site not working",
            "-m",
            "The site is down",
            "--format",
            "json",
        ],
    ));
    assert_eq!(ticket["department"], "tech");
    assert_eq!(ticket["priority"], "urgent");
    assert_eq!(ticket["fields"]["plan"], "free");
}

#[test]
fn an_automation_assigning_a_backlog_round_robin_alternates_agents() {
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
name = "hand-out"
when = { department = "billing", assignee = "none", category = "new" }
do = { assign = "round_robin" }
"#,
    );
    let mut ids: Vec<String> = (0..6)
        .map(|i| {
            let now = format!("2025-03-03T09:0{i}:00Z");
            json(&w.tix(
                "d",
                &now,
                &["new", "Old", "--department", "billing", "--format", "json"],
            ))["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    w.tix("d", "2025-03-04T09:00:00Z", &["automate"]);
    // The run takes tickets in id order, not creation order.
    ids.sort();
    let got: Vec<String> = ids
        .iter()
        .map(|id| w.ticket("d", id)["assignee"].as_str().unwrap().to_owned())
        .collect();
    let ana = got.iter().filter(|a| *a == "ana@desk.test").count();
    assert_eq!(ana, 3, "{got:?}");
    assert!(got.windows(2).all(|w| w[0] != w[1]), "alternates: {got:?}");
}

/// A hook command with an escape code or a carriage return is refused at
/// load, and a multi-line one is shown with its line breaks escaped: what
/// a person reviews is what runs.
#[test]
fn hook_commands_are_shown_as_they_run() {
    let w = World::desk("d");
    let path = w.path("d").join("tix.toml");
    let committed = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        format!("{committed}\n[[hook]]\non = [\"created\"]\nrun = \"true\\r\\u001b[2Kharmless\"\n"),
    )
    .unwrap();
    w.git("d", &["commit", "-q", "-am", "a hook with an escape"]);
    let err = w.fail("d", T0, &["hooks"], 1);
    assert!(err.contains("`run` has a control character"), "{err}");
    std::fs::write(
        &path,
        format!("{committed}\n[[hook]]\non = [\"created\"]\nrun = \"true\\nrm -rf x\"\n"),
    )
    .unwrap();
    w.git("d", &["commit", "-q", "-am", "a two-line hook"]);
    let listed = w.tix("d", T0, &["hooks"]);
    assert!(
        listed.contains("hook on created: true\\nrm -rf x"),
        "{listed}"
    );
}

#[test]
fn agents_go_by_any_part_of_name_or_address_that_only_one_holds() {
    let env = TestEnv::new();
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!(
            "{config}\n[[agent]]\nname = \"Raj Patel\"\nemail = \"raj@desk.test\"\n\n[[agent]]\nname = \"Rafael Diaz\"\nemail = \"rafael@desk.test\"\n"
        ),
    );
    let id = env.new_ticket("Printer");
    assert_eq!(
        env.ok(&["assign", &id, "patel"]),
        format!("Assigned {id} to Raj Patel <raj@desk.test>.\n")
    );
    assert_eq!(env.show(&id)["assignee"], "raj@desk.test");
    assert_eq!(
        env.ok(&["assign", &id, "RAFAEL@desk.test"]),
        format!("Assigned {id} to Rafael Diaz <rafael@desk.test>.\n")
    );
    let err = env.fail(&["assign", &id, "ra"], 1);
    assert!(
        err.contains("'ra' could be Raj Patel <raj@desk.test>, Rafael Diaz <rafael@desk.test>"),
        "{err}"
    );
    let err = env.fail(&["assign", &id, "kim"], 1);
    assert!(err.contains("no agent is called 'kim'"), "{err}");
    assert_eq!(
        env.ok(&["assign", &id, "--unassign"]),
        format!("Unassigned {id}.\n")
    );
    assert_eq!(
        env.ok(&["edit", &id, "--priority", "high", "--tag", "+vip"]),
        format!("Edited {id}: priority normal -> high, tag +vip.\n")
    );
    // Listings take the same parts.
    env.ok(&["assign", &id, "Patel"]);
    let listed = env.json(&["list", "--assignee", "patel", "--format", "json"]);
    assert_eq!(crate::common::ids_of(&listed), [id.as_str()]);
    let err = env.fail(&["list", "--assignee", "ra"], 2);
    assert!(err.contains("could be Raj Patel"), "{err}");
    let listed = env.json(&["list", "--assignee", "former@desk.test", "--format", "json"]);
    assert!(crate::common::ids_of(&listed).is_empty());
}
