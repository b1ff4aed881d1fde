//! `tix show`.

use crate::common::{AGENT_EMAIL, TestEnv, bodies};

fn conversation(env: &TestEnv) -> String {
    let id = env.new_ticket_with(
        "Printer on fire",
        &[
            "--customer",
            "Bo Berg",
            "--email",
            "bo@example.com",
            "--phone",
            "555-0100",
            "--priority",
            "high",
            "--tag",
            "hw",
            "-m",
            "It smokes",
        ],
    );
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["reply", &id, "-m", "Unplug it, please"]);
    env.at("2025-03-03T11:00:00Z");
    env.ok(&["note", &id, "-m", "Known model issue"]);
    env.at("2025-03-03T12:00:00Z");
    env.ok(&["reply", &id, "--customer", "-m", "Unplugged. Still warm."]);
    id
}

#[test]
fn show_prints_header_customer_and_the_conversation_in_order() {
    let env = TestEnv::new();
    let id = conversation(&env);
    let page = env.ok(&["show", &id]);
    let first = page.lines().next().unwrap();
    assert_eq!(first, format!("{id}  Printer on fire"));
    for line in [
        "Status     Open",
        "Priority   high",
        "Customer   Bo Berg <bo@example.com>, 555-0100",
        "Tags       hw",
        "Created    2025-03-03 09:00 UTC",
        "Updated    2025-03-03 12:00 UTC",
    ] {
        assert!(
            page.lines().any(|l| l == line),
            "no line {line:?} in\n{page}"
        );
    }
    // The bodies appear in order, each after its author line.
    let mut at = 0;
    for (author, body) in [
        ("Bo Berg <bo@example.com> (customer)", "It smokes"),
        (&format!("{AGENT_EMAIL} (agent)")[..], "Unplug it, please"),
        (
            &format!("{AGENT_EMAIL} (internal note)")[..],
            "Known model issue",
        ),
        (
            "Bo Berg <bo@example.com> (customer)",
            "Unplugged. Still warm.",
        ),
    ] {
        let head = page[at..]
            .find(author)
            .unwrap_or_else(|| panic!("{author} after {at}:\n{page}"))
            + at;
        let found = page[head..]
            .find(body)
            .unwrap_or_else(|| panic!("{body}:\n{page}"))
            + head;
        at = found + body.len();
    }
    assert!(page.contains("new -> answered"), "{page}");
    assert!(page.contains("answered -> open"), "{page}");
    assert!(!page.contains('\u{1b}'), "no colour with NO_COLOR");
}

#[test]
fn show_format_json_is_the_ticket() {
    let env = TestEnv::new();
    let id = conversation(&env);
    let t = env.show(&id);
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["status"], "open");
    assert_eq!(t["category"], "open");
    assert_eq!(t["customer"]["phone"], "555-0100");
    assert_eq!(
        bodies(&t),
        [
            "It smokes",
            "Unplug it, please",
            "Known model issue",
            "Unplugged. Still warm."
        ]
    );
    assert_eq!(t["messages"][2]["role"], "note");
    assert_eq!(t["messages"][3]["at"], "2025-03-03T12:00:00Z");
    assert_eq!(t["updated"], "2025-03-03T12:00:00Z");
    assert_eq!(t["first_reply"], "2025-03-03T10:00:00Z");
    assert_eq!(t["history"].as_array().unwrap().len(), 3);
}

#[test]
fn show_format_toml_prints_the_committed_file() {
    let env = TestEnv::new();
    let id = conversation(&env);
    let toml = env.ok(&["show", &id, "--format", "toml"]);
    assert_eq!(toml, env.read_ticket_file(&id));
    assert_eq!(
        toml,
        env.git(&["show", &format!("HEAD:{}", env.ticket_path(&id))])
    );
    assert!(toml.contains("body = \"Known model issue\""), "{toml}");
}

#[test]
fn show_format_csv_is_a_usage_error() {
    let env = TestEnv::new();
    let id = env.new_ticket("No CSV here");
    let err = env.fail(&["show", &id, "--format", "csv"], 2);
    assert!(err.contains("invalid value 'csv' for '--format"), "{err}");
    assert!(
        err.contains("[possible values: table, json, toml]"),
        "{err}"
    );
    // Given before the command, it is refused when the command runs.
    let err = env.fail(&["--format", "csv", "show", &id], 2);
    assert!(
        err.contains("does not print --format csv; use table or json or toml"),
        "{err}"
    );
    env.fail(&["show", &id, "--format", "yaml"], 2);
    env.fail(&["show"], 2);
}

#[test]
fn show_reads_from_any_directory_of_the_desk_by_prefix() {
    let env = TestEnv::new();
    let id = conversation(&env);
    let sub = env.path("tickets");
    let page = env.ok_in(&sub, &["show", &format!("#{}", &id[..4])]);
    assert!(page.contains("Unplugged. Still warm."), "{page}");
}
