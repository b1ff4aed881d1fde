//! `tix new` (docs/guide.md, docs/json-schema.md).

use crate::common::{AGENT_EMAIL, T0, TestEnv, is_ticket_id};

#[test]
fn new_prints_the_id_and_writes_the_sharded_file_in_one_commit() {
    let env = TestEnv::new();
    let out = env.ok(&["new", "Printer on fire"]);
    let id = out
        .strip_prefix("Created ticket ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected output: {out:?}"));
    assert!(is_ticket_id(id), "{id}");
    let path = format!("tickets/{}/{id}.toml", &id[..2]);
    assert!(env.path(&path).is_file(), "{path}");
    assert_eq!(env.commits(), 2);
    assert_eq!(
        env.git(&["show", "--name-only", "--format=", "HEAD"]),
        format!("{path}\n")
    );
    // The working-tree file is the committed one.
    assert_eq!(
        env.read_ticket_file(id),
        env.git(&["show", &format!("HEAD:{path}")])
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn new_format_json_prints_the_ticket_with_every_spec_key() {
    let env = TestEnv::new();
    let out = env.ok(&[
        "new",
        "Printer on fire",
        "-m",
        "It smokes\nand beeps",
        "--customer",
        "Bo Berg",
        "--email",
        "bo@example.com",
        "--phone",
        "+351 555 0100",
        "--priority",
        "urgent",
        "--department",
        "it",
        "--assign",
        "raj@desk.test",
        "--tag",
        "office",
        "--tag",
        "hardware",
        "--format",
        "json",
    ]);
    let t: serde_json::Value = serde_json::from_str(&out).unwrap();
    for key in [
        "id",
        "subject",
        "status",
        "category",
        "priority",
        "assignee",
        "department",
        "tags",
        "customer",
        "fields",
        "created",
        "updated",
        "reopens",
        "rating",
        "messages",
        "history",
    ] {
        assert!(t.get(key).is_some(), "missing key {key}: {t}");
    }
    let id = t["id"].as_str().unwrap();
    assert!(is_ticket_id(id));
    assert_eq!(t["subject"], "Printer on fire");
    assert_eq!(t["status"], "new");
    assert_eq!(t["category"], "new");
    assert_eq!(t["priority"], "urgent");
    assert_eq!(t["assignee"], "raj@desk.test");
    assert_eq!(t["department"], "it");
    assert_eq!(t["tags"], serde_json::json!(["hardware", "office"]));
    assert_eq!(
        t["customer"],
        serde_json::json!({"name": "Bo Berg", "email": "bo@example.com", "phone": "+351 555 0100"})
    );
    assert_eq!(t["fields"], serde_json::json!({}));
    assert_eq!(t["created"], T0);
    assert_eq!(t["updated"], T0);
    assert_eq!(t["reopens"], 0);
    assert!(t["rating"].is_null());
    // The description is the customer's first message.
    let messages = t["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    for key in ["role", "author", "at", "body"] {
        assert!(m.get(key).is_some(), "message key {key}: {m}");
    }
    assert_eq!(m["role"], "customer");
    assert_eq!(m["author"], "bo@example.com");
    assert_eq!(m["at"], T0);
    assert_eq!(m["body"], "It smokes\nand beeps");
    let history = t["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    let h = &history[0];
    for key in ["at", "by", "from", "to", "reason"] {
        assert!(h.get(key).is_some(), "history key {key}: {h}");
    }
    assert_eq!(h["at"], T0);
    assert_eq!(h["by"], AGENT_EMAIL);
    assert!(h["from"].is_null());
    assert_eq!(h["to"], "new");
    assert!(h["reason"].is_null());
    // `show --format json` prints the same ticket, plus its SLA state.
    let mut shown = env.show(id);
    assert!(shown.as_object_mut().unwrap().remove("sla").is_some());
    assert_eq!(shown, t);
}

#[test]
fn new_without_a_customer_records_the_agents_own_message_and_defaults() {
    let env = TestEnv::new();
    let id = env.new_ticket_with("Renew the TLS certificate", &["-m", "Expires Friday"]);
    let t = env.show(&id);
    assert_eq!(t["priority"], "normal");
    assert!(t["assignee"].is_null());
    assert!(t["department"].is_null());
    assert_eq!(t["tags"], serde_json::json!([]));
    assert_eq!(
        t["customer"],
        serde_json::json!({"name": null, "email": null, "phone": null})
    );
    assert_eq!(t["messages"][0]["role"], "agent");
    assert_eq!(t["messages"][0]["author"], AGENT_EMAIL);
    // Without -m there is no message at all.
    let bare = env.new_ticket("No description");
    assert_eq!(env.show(&bare)["messages"], serde_json::json!([]));
}

#[test]
fn the_ticket_file_is_readable_toml_with_a_stable_key_order() {
    let env = TestEnv::new();
    let id = env.new_ticket_with(
        "Printer on fire",
        &[
            "-m",
            "It smokes.\nSecond line.",
            "--email",
            "bo@example.com",
            "--priority",
            "high",
            "--tag",
            "hw",
        ],
    );
    let file = env.read_ticket_file(&id).replace(&id, "ID");
    insta::assert_snapshot!(file, @r#"
    # tix ticket: the [[event]] log is the history; see docs/ticket-format.md
    id = "ID"
    subject = "Printer on fire"
    status = "new"
    priority = "high"
    tags = ["hw"]

    [customer]
    email = "bo@example.com"

    [[event]]
    at = 2025-03-03T09:00:00Z
    actor = "ana@desk.test"
    role = "agent"
    kind = "created"
    to = "new"

    [[event]]
    at = 2025-03-03T09:00:00Z
    actor = "bo@example.com"
    role = "customer"
    kind = "message"
    body = """
    It smokes.
    Second line."""
    "#);
}

#[test]
fn an_empty_or_multi_line_subject_is_refused_and_nothing_is_committed() {
    let env = TestEnv::new();
    let before = env.commits();
    for subject in ["", "   ", "two\nlines"] {
        let err = env.fail(&["new", subject], 1);
        assert!(err.contains("subject"), "{subject:?}: {err}");
        assert_eq!(
            err.lines().next().map(|l| l.starts_with("error: ")),
            Some(true)
        );
    }
    assert_eq!(env.commits(), before);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(env.git(&["ls-files", "tickets"]), "tickets/.gitkeep\n");
}

#[test]
fn a_bad_priority_is_a_usage_error_and_nothing_is_committed() {
    let env = TestEnv::new();
    let before = env.commits();
    let err = env.fail(&["new", "x", "--priority", "meh"], 2);
    assert!(err.contains("meh"), "{err}");
    assert!(err.contains("low, normal, high or urgent"), "{err}");
    assert_eq!(env.commits(), before);
}

#[test]
fn follow_up_links_to_the_earlier_ticket() {
    let env = TestEnv::new();
    let first = env.new_ticket("Printer on fire");
    env.ok(&["close", &first, "--force", "--reason", "duplicate"]);
    let prefix = format!("#{}", &first[..5]);
    let second = env.new_ticket_with("Printer on fire, again", &["--follow-up", &prefix]);
    let t = env.show(&second);
    assert_eq!(t["links"]["follow_up_of"], first.as_str());
    let file = env.read_ticket_file(&second);
    assert!(
        file.contains(&format!("follow_up_of = \"{first}\"")),
        "{file}"
    );
    let page = env.ok(&["show", &second]);
    assert!(page.contains(&first), "{page}");
    // A follow-up of nothing is refused and writes nothing.
    let before = env.commits();
    let err = env.fail(&["new", "Orphan", "--follow-up", "zzzzzz"], 1);
    assert!(err.contains("zzzzzz"), "{err}");
    assert_eq!(env.commits(), before);
}

#[test]
fn ids_are_unique_six_character_crockford_and_sharded() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..12).map(|i| env.new_ticket(&format!("T{i}"))).collect();
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    let files = env.git(&["ls-files", "tickets"]);
    for id in &ids {
        assert!(is_ticket_id(id), "{id}");
        assert!(
            files.contains(&format!("tickets/{}/{id}.toml\n", &id[..2])),
            "{files}"
        );
    }
}
