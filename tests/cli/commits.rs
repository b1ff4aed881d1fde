//! Every change is one commit (docs/storage.md): one file, the message, trailers,
//! author and time, and `tix log`.

use crate::common::TestEnv;

/// The value of one trailer of HEAD as git parses it ("" when absent).
fn trailer(env: &TestEnv, key: &str) -> String {
    env.git(&[
        "log",
        "-1",
        &format!("--format=%(trailers:key={key},valueonly,separator=%x2C)"),
    ])
    .trim()
    .to_owned()
}

#[test]
fn each_change_is_one_commit_touching_only_the_ticket_file() {
    let env = TestEnv::new();
    let other = env.new_ticket("Bystander");
    let id = env.new_ticket_with("Printer on fire", &["--email", "bo@example.com"]);
    let path = env.ticket_path(&id);
    let steps: Vec<Vec<&str>> = vec![
        vec!["reply", &id, "-m", "Unplug it"],
        vec!["reply", &id, "--customer", "-m", "Still smokes"],
        vec!["note", &id, "-m", "VIP"],
        vec!["assign", &id, "raj@desk.test", "--department", "it"],
        vec!["edit", &id, "--priority", "urgent", "--tag", "+hw"],
        vec!["postpone", &id, "--until", "1d"],
        vec!["open", &id],
        vec!["resolve", &id],
        vec!["close", &id],
        vec!["reopen", &id, "-m", "again"],
        vec!["status", &id, "answered"],
    ];
    let other_file = env.read_ticket_file(&other);
    for step in steps {
        let before = env.commits();
        let head = env.head();
        env.ok(&step);
        assert_eq!(env.commits(), before + 1, "{step:?}");
        assert_eq!(env.git(&["rev-parse", "HEAD^"]).trim(), head, "{step:?}");
        assert_eq!(
            env.git(&["show", "--name-only", "--format=", "HEAD"]),
            format!("{path}\n"),
            "{step:?}"
        );
        assert_eq!(env.git(&["status", "--porcelain"]), "", "{step:?}");
    }
    assert_eq!(env.read_ticket_file(&other), other_file);
}

#[test]
fn the_message_names_id_action_and_subject_with_greppable_trailers() {
    let env = TestEnv::new();
    let id = env.new_ticket("Printer on fire");
    assert_eq!(
        env.git(&["log", "-1", "--format=%B"]),
        format!("{id}: new Printer on fire\n\nTix-Ticket: {id}\nTix-Action: new\n\n")
    );
    assert_eq!(trailer(&env, "Tix-Ticket"), id);
    assert_eq!(trailer(&env, "Tix-Action"), "new");
    assert_eq!(trailer(&env, "Tix-Status"), "");

    env.ok(&["reply", &id, "-m", "Unplug it"]);
    let subject = env.git(&["log", "-1", "--format=%s"]);
    assert_eq!(
        subject,
        format!("{id}: reply (new -> answered) Printer on fire\n")
    );
    assert_eq!(trailer(&env, "Tix-Ticket"), id);
    assert_eq!(trailer(&env, "Tix-Action"), "reply");
    assert_eq!(trailer(&env, "Tix-Status"), "new -> answered");

    // No status change, no Tix-Status.
    for (args, action) in [
        (vec!["note", id.as_str(), "-m", "internal"], "note"),
        (vec!["reply", &id, "-m", "Anything else?"], "reply"),
        (vec!["edit", &id, "--priority", "high"], "edit"),
        (vec!["assign", &id], "assign"),
    ] {
        env.ok(&args);
        let body = env.git(&["log", "-1", "--format=%B"]);
        assert!(!body.contains("Tix-Status"), "{action}: {body}");
        assert_eq!(trailer(&env, "Tix-Action"), action);
        let subject = env.git(&["log", "-1", "--format=%s"]);
        assert_eq!(subject, format!("{id}: {action} Printer on fire\n"));
    }
    for (args, action, status) in [
        (
            vec!["reply", id.as_str(), "--customer", "-m", "Hi"],
            "customer-reply",
            "answered -> open",
        ),
        (vec!["resolve", &id], "resolve", "open -> resolved"),
        (vec!["close", &id], "close", "resolved -> closed"),
        (vec!["reopen", &id], "reopen", "closed -> open"),
        (
            vec!["reply", &id, "-m", "Done", "--resolve"],
            "reply-resolve",
            "open -> resolved",
        ),
    ] {
        env.ok(&args);
        assert_eq!(trailer(&env, "Tix-Action"), action);
        assert_eq!(trailer(&env, "Tix-Status"), status, "{action}");
        let subject = env.git(&["log", "-1", "--format=%s"]);
        assert!(subject.contains(&format!("({status})")), "{subject}");
        assert!(subject.starts_with(&format!("{id}: {action}")), "{subject}");
    }
    // Scripts can grep every commit of the ticket.
    let grep = env.git(&["log", "--format=%s", "--grep", &format!("Tix-Ticket: {id}")]);
    assert_eq!(grep.lines().count(), 11, "{grep}");
}

#[test]
fn a_long_subject_is_cut_in_the_commit_subject_but_kept_in_the_file() {
    let env = TestEnv::new();
    let long = "Ärger mit dem Drucker im dritten Stock, der seit Montag keine Seiten mehr druckt";
    let id = env.new_ticket(long);
    let subject = env.git(&["log", "-1", "--format=%s"]);
    assert!(
        subject.starts_with(&format!("{id}: new Ärger mit")),
        "{subject}"
    );
    assert!(subject.trim_end().ends_with('…'), "{subject}");
    assert_eq!(env.show(&id)["subject"], long);
}

#[test]
fn the_author_is_as_then_tix_agent_then_git_config() {
    let env = TestEnv::new();
    let id = env.new_ticket("Who did it");
    let author = |env: &TestEnv| env.git(&["log", "-1", "--format=%an <%ae>|%cn <%ce>"]);
    // TIX_AGENT (the environment's default).
    env.ok(&["note", &id, "-m", "one"]);
    assert_eq!(
        author(&env),
        "Ana Lima <ana@desk.test>|Ana Lima <ana@desk.test>\n"
    );
    // --as beats TIX_AGENT.
    env.ok(&[
        "--as",
        "Raj Patel <raj@desk.test>",
        "note",
        &id,
        "-m",
        "two",
    ]);
    assert_eq!(
        author(&env),
        "Raj Patel <raj@desk.test>|Raj Patel <raj@desk.test>\n"
    );
    assert_eq!(
        env.show(&id)["messages"][1]["author"],
        "raj@desk.test",
        "the event records the agent too"
    );
    // Without --as and TIX_AGENT: git's user from the repository config.
    env.git(&["config", "user.name", "Git Person"]);
    env.git(&["config", "user.email", "git.person@desk.test"]);
    let out = env
        .command(&["note", &id, "-m", "three"])
        .env_remove("TIX_AGENT")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        author(&env),
        "Git Person <git.person@desk.test>|Git Person <git.person@desk.test>\n"
    );
    // An empty TIX_AGENT counts as unset.
    let out = env
        .command(&["note", &id, "-m", "four"])
        .env("TIX_AGENT", "")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        author(&env),
        "Git Person <git.person@desk.test>|Git Person <git.person@desk.test>\n"
    );
    // --as still beats git's config.
    let out = env
        .command(&["--as", "Bea <bea@desk.test>", "note", &id, "-m", "five"])
        .env_remove("TIX_AGENT")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(author(&env), "Bea <bea@desk.test>|Bea <bea@desk.test>\n");
}

#[test]
fn with_no_identity_at_all_changes_are_refused() {
    let env = TestEnv::new();
    let id = env.new_ticket("Anonymous");
    let head = env.head();
    for args in [
        vec!["note", id.as_str(), "-m", "who?"],
        vec!["new", "Nobody"],
    ] {
        let out = env.command(&args).env_remove("TIX_AGENT").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--as") && err.contains("TIX_AGENT"), "{err}");
    }
    assert_eq!(env.head(), head);
    // Init needs an identity too.
    let fresh = env.home().join("fresh");
    let out = env
        .command_in(env.home(), &["init", "fresh"])
        .env_remove("TIX_AGENT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!fresh.join("tix.toml").exists());
}

#[test]
fn a_malformed_agent_is_a_usage_error() {
    let env = TestEnv::new();
    let id = env.new_ticket("Bad agent");
    let head = env.head();
    let err = env.fail(&["--as", "Raj <raj@desk.test", "note", &id, "-m", "x"], 2);
    assert!(err.contains("Name <email>"), "{err}");
    assert_eq!(env.head(), head);
}

#[test]
fn the_commit_time_is_tix_now() {
    let env = TestEnv::new();
    env.at("2025-03-04T15:30:00Z");
    let id = env.new_ticket("Timed");
    assert_eq!(
        env.git(&["log", "-1", "--format=%aI|%cI|%at"]),
        "2025-03-04T15:30:00Z|2025-03-04T15:30:00Z|1741102200\n"
    );
    // An offset is the same instant.
    env.at("2025-03-05T10:00:00+02:00");
    env.ok(&["note", &id, "-m", "later"]);
    assert_eq!(
        env.git(&["log", "-1", "--format=%at|%ct"]),
        "1741161600|1741161600\n"
    );
    let t = env.show(&id);
    assert_eq!(t["updated"], "2025-03-05T08:00:00Z");
    assert_eq!(t["created"], "2025-03-04T15:30:00Z");
}

#[test]
fn tix_log_lists_the_same_commits_as_git_log() {
    let env = TestEnv::new();
    let id = env.new_ticket("Logged");
    let other = env.new_ticket("Other");
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["reply", &id, "-m", "one"]);
    env.ok(&["note", &other, "-m", "not this one"]);
    env.at("2025-03-03T11:00:00Z");
    env.ok(&["--as", "Raj <raj@desk.test>", "resolve", &id]);
    env.ok(&["note", &id, "-m", "two"]);

    let log = env.json(&["log", &id, "--format", "json"]);
    let entries = log.as_array().unwrap();
    for entry in entries {
        for key in ["commit", "at", "author", "email", "action", "status"] {
            assert!(entry.get(key).is_some(), "{key}: {entry}");
        }
    }
    let from_tix: Vec<&str> = entries
        .iter()
        .map(|e| e["commit"].as_str().unwrap())
        .collect();
    let grep = env.git(&["log", "--format=%H", "--grep", &format!("Tix-Ticket: {id}")]);
    let by_path = env.git(&["log", "--format=%H", "--", &env.ticket_path(&id)]);
    assert_eq!(from_tix, grep.lines().collect::<Vec<_>>());
    assert_eq!(from_tix, by_path.lines().collect::<Vec<_>>());
    assert_eq!(from_tix.len(), 4);
    // Newest first, with action, status change, author and time.
    assert_eq!(entries[0]["action"], "note");
    assert!(entries[0]["status"].is_null());
    assert_eq!(entries[1]["action"], "resolve");
    assert_eq!(entries[1]["status"], "answered -> resolved");
    assert_eq!(entries[1]["author"], "Raj");
    assert_eq!(entries[1]["email"], "raj@desk.test");
    assert_eq!(entries[1]["at"], "2025-03-03T11:00:00Z");
    assert_eq!(entries[3]["action"], "new");
    assert_eq!(entries[3]["at"], "2025-03-03T09:00:00Z");
    // The table and CSV show the same history.
    let table = env.ok(&["log", &id]);
    assert_eq!(table.lines().count(), 5, "{table}");
    assert!(table.contains("answered -> resolved"), "{table}");
    let csv = env.ok(&["log", &id, "--format", "csv"]);
    assert!(
        csv.starts_with("commit,at,author,email,action,status"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 5);
}

#[test]
fn a_tix_now_before_1970_is_refused_or_committed_as_given() {
    let env = TestEnv::new();
    let head = env.head();
    env.at("1960-01-01T00:00:00Z");
    let out = env.tix(&["new", "From the past"]);
    if out.status.success() {
        assert_eq!(
            env.git(&["log", "-1", "--format=%aI"]),
            "1960-01-01T00:00:00Z\n"
        );
    } else {
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(env.head(), head);
    }
}

/// `tix log` of every ticket, by commit id, against `git log -- path`.
fn assert_logs_match_git(env: &TestEnv, ids: &[String], when: &str) {
    for id in ids {
        let log = env.json(&["log", id, "--format", "json"]);
        let from_tix: Vec<String> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["commit"].as_str().unwrap().to_owned())
            .collect();
        let by_path = env.git(&["log", "--format=%H", "--", &env.ticket_path(id)]);
        let from_git: Vec<String> = by_path.lines().map(str::to_owned).collect();
        assert_eq!(from_tix, from_git, "{when}: {id}");
    }
}

/// `tix log` reads a cache of what each commit changed: it stays the same
/// as git's answer when tix adds commits, when a plain git commit does,
/// after a merge of another branch, after a reset that drops commits, and
/// when the cache file is damaged.
#[test]
fn tix_log_stays_true_to_git_as_history_moves() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..4).map(|i| env.new_ticket(&format!("T{i}"))).collect();
    env.ok(&["note", &ids[0], "-m", "a"]);
    assert_logs_match_git(&env, &ids, "first");
    assert!(env.path(".git/tix/cache/history").exists());
    // More changes on top: read incrementally.
    env.ok(&["reply", &ids[1], "-m", "b"]);
    env.ok(&["note", &ids[0], "-m", "c"]);
    assert_logs_match_git(&env, &ids, "on top");
    // A plain git commit that edits two ticket files at once.
    for id in &ids[2..] {
        let path = env.ticket_path(id);
        let text = std::fs::read_to_string(env.path(&path)).unwrap();
        std::fs::write(env.path(&path), format!("{text}\n")).unwrap();
        env.git(&["add", &path]);
    }
    env.git(&["commit", "-qm", "hand edit"]);
    assert_logs_match_git(&env, &ids, "hand edit");
    // A branch merged back: the history is no longer a line on top.
    let main = env.git(&["rev-parse", "--abbrev-ref", "HEAD"]);
    env.git(&["checkout", "-qb", "side"]);
    env.ok(&["note", &ids[3], "-m", "on the side"]);
    env.git(&["checkout", "-q", main.trim()]);
    env.ok(&["note", &ids[1], "-m", "on main"]);
    env.git(&["merge", "-q", "--no-edit", "side"]);
    assert_logs_match_git(&env, &ids, "merge");
    // A reset drops commits the cache holds.
    env.git(&["reset", "-q", "--hard", "HEAD~2"]);
    assert_logs_match_git(&env, &ids, "reset");
    // A damaged or cut cache is read anew.
    let cache = std::fs::read_to_string(env.path(".git/tix/cache/history")).unwrap();
    let cut = &cache[..cache.len() - 60];
    std::fs::write(env.path(".git/tix/cache/history"), cut).unwrap();
    assert_logs_match_git(&env, &ids, "cut");
    // Cut at the end of a line, the header still saying how much follows.
    let cache = std::fs::read_to_string(env.path(".git/tix/cache/history")).unwrap();
    let body = cache.trim_end_matches('\n');
    let whole_lines = &cache[..body.rfind('\n').unwrap() + 1];
    std::fs::write(env.path(".git/tix/cache/history"), whole_lines).unwrap();
    assert_logs_match_git(&env, &ids, "cut at a line");
    std::fs::write(
        env.path(".git/tix/cache/history"),
        "tix-history 2\tnot a commit\t3\nxx\n",
    )
    .unwrap();
    assert_logs_match_git(&env, &ids, "damaged");
    env.ok(&["note", &ids[2], "-m", "after all that"]);
    assert_logs_match_git(&env, &ids, "after");
}
