//! SLA clocks, `tix sla check` and the To Solve queue, end to end.

use crate::common::TestEnv;

/// A ticket from bo@example.com with a first message, created at the
/// environment's current time.
fn new(env: &TestEnv, subject: &str, extra: &[&str]) -> String {
    let args = [&["--email", "bo@example.com", "-m", "Help"][..], extra].concat();
    env.new_ticket_with(subject, &args)
}

/// [`target_of`] at `now`.
fn target(env: &TestEnv, now: &str, id: &str, metric: &str) -> serde_json::Value {
    env.at(now);
    target_of(env, id, metric)
}

#[test]
fn default_policy_targets_by_priority_and_check_alerts_once() {
    let env = TestEnv::new();
    let urgent = new(&env, "Down", &["--priority", "urgent"]);
    let normal = new(&env, "Question", &[]);
    let first = target(&env, "2025-03-03T09:30:00Z", &urgent, "first_reply");
    assert_eq!(first["due"], "2025-03-03T10:00:00Z");
    assert_eq!(first["status"], "active");
    assert_eq!(first["consumed_minutes"], 30);
    assert_eq!(
        target(&env, "2025-03-03T09:00:00Z", &normal, "first_reply")["due"],
        "2025-03-03T17:00:00Z"
    );
    assert_eq!(
        target(&env, "2025-03-03T10:00:00Z", &urgent, "first_reply")["status"],
        "active",
        "due, not yet late"
    );
    assert_eq!(
        target(&env, "2025-03-03T10:00:01Z", &urgent, "first_reply")["status"],
        "breached"
    );
    env.at("2025-03-03T10:30:00Z");
    let breached = env.json(&["sla", "--breached", "--format", "json"]);
    assert_eq!(breached.as_array().unwrap().len(), 1);
    assert_eq!(breached[0]["id"], urgent.as_str());
    let at_risk = env.ok(&["sla", "--at-risk", "7h", "--format", "json"]);
    assert!(at_risk.contains(&normal));

    let before = env.commits();
    let out = env.tix(&["sla", "check"]);
    assert_eq!(out.status.code(), Some(4), "a breach exists");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{urgent}  breached first_reply"))
    );
    assert_eq!(
        env.commits(),
        before + 1,
        "the breach is recorded in the ticket"
    );
    env.at("2025-03-03T10:45:00Z");
    let again = env.tix(&["sla", "check"]);
    assert_eq!(again.status.code(), Some(4));
    assert!(again.stdout.is_empty(), "alerted once");
    assert_eq!(env.commits(), before + 1);
    // Replying does not undo the late first reply: it stays breached.
    env.at("2025-03-03T10:50:00Z");
    env.ok(&["reply", &urgent, "-m", "On it"]);
    env.ok(&["reply", &normal, "-m", "Sure"]);
    env.at("2025-03-03T10:55:00Z");
    let out = env.tix(&["sla", "check"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "first_reply stays breached (late reply)"
    );
}

#[test]
fn pausing_decides_whether_the_same_ticket_breaches_resolution() {
    for (pause, expected) in [("\"waiting\"", "achieved"), ("", "breached")] {
        let env = TestEnv::new();
        // The strict policy must come before the default one: prepend it.
        let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
        let strict = format!(
            "[[sla.policy]]\nname = \"strict\"\nmatch = {{ tags_any = [\"strict\"] }}\npause_resolution_in = [{pause}]\n[sla.policy.targets]\nnormal = {{ resolution = \"2h\" }}\n\n[[sla.policy]]"
        );
        env.commit_file("tix.toml", &text.replacen("[[sla.policy]]", &strict, 1));
        let id = new(&env, "Slow", &["--tag", "strict"]);
        env.at("2025-03-03T10:00:00Z");
        env.ok(&["reply", &id, "-m", "Try this"]);
        env.at("2025-03-03T14:00:00Z");
        env.ok(&["reply", &id, "--customer", "-m", "Worked"]);
        env.at("2025-03-03T14:30:00Z");
        env.ok(&["resolve", &id]);
        let resolution = target(&env, "2025-03-04T00:00:00Z", &id, "resolution");
        assert_eq!(resolution["status"], expected, "pause [{pause}]");
    }
}

#[test]
fn business_hours_calendars_move_deadlines() {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path("tix.toml"))
        .unwrap()
        .replace("calendar = \"24x7\"", "calendar = \"office\"");
    env.commit_file(
        "tix.toml",
        &(text + "\n[calendar.office]\ntimezone = \"Europe/Berlin\"\nmon = [\"09:00-17:00\"]\ntue = [\"09:00-17:00\"]\nholidays = [\"2025-03-04\"]\n"),
    );
    // Created Monday 16:00 Berlin (15:00Z), normal first reply 8h: 1h on
    // Monday, Tuesday is a holiday, Wednesday is closed... next Monday.
    env.at("2025-03-03T15:00:00Z");
    let id = new(&env, "Late", &[]);
    let first = target_of(&env, &id, "first_reply");
    assert_eq!(first["due"], "2025-03-10T15:00:00Z");
}

#[test]
fn the_queue_orders_breached_then_due_then_waiting_then_priority_and_take_opens() {
    let env = TestEnv::new();
    let low = new(&env, "Low", &["--priority", "low"]); // first reply due 09:00 + 24h
    let urgent = new(&env, "Urgent", &["--priority", "urgent"]); // due 10:00
    let high_a = new(&env, "High A", &["--priority", "high"]); // due 13:00
    let high_b = new(&env, "High B", &["--priority", "high"]);
    let raj = new(
        &env,
        "Someone else's",
        &["--priority", "urgent", "--assign", "raj@desk.test"],
    );
    env.at("2025-03-03T11:00:00Z");
    let queue = env.json(&["queue", "--format", "json"]);
    let order = crate::common::ids_of(&queue);
    let (first_high, second_high) = if high_a < high_b {
        (&high_a, &high_b)
    } else {
        (&high_b, &high_a)
    };
    assert_eq!(
        order,
        [urgent.as_str(), first_high, second_high, low.as_str()],
        "ties by id"
    );
    assert_eq!(queue[0]["breached"], true);
    assert!(!order.contains(&raj), "assigned to someone else");
    // A limited queue is chosen from the cached keys: the same head.
    for n in 1..=order.len() {
        let limited = env.json(&["queue", "--limit", &n.to_string(), "--format", "json"]);
        assert_eq!(crate::common::ids_of(&limited), order[..n], "--limit {n}");
    }
    let cold = std::fs::remove_dir_all(env.path(".git/tix/cache"));
    assert!(cold.is_ok());
    let limited = env.json(&["queue", "--limit", "2", "--format", "json"]);
    assert_eq!(crate::common::ids_of(&limited), order[..2], "cold cache");
    let rajs = env.json(&["queue", "--agent", "raj@desk.test", "--format", "json"]);
    assert!(
        crate::common::ids_of(&rajs).contains(&raj),
        "raj sees his own"
    );
    // tix next shows the top; --take makes it mine and open, in one commit.
    assert!(env.ok(&["next"]).contains("Urgent"));
    let before = env.commits();
    let taken = env.json(&["next", "--take", "--format", "json"]);
    assert_eq!(
        (taken["id"].as_str(), taken["status"].as_str()),
        (Some(urgent.as_str()), Some("open"))
    );
    assert_eq!(taken["assignee"], "ana@desk.test");
    assert_eq!(env.commits(), before + 1);
    assert!(
        env.git(&["log", "-1", "--format=%B"])
            .contains("Tix-Action: take")
    );
}

/// Replaces the default policy of `tix init` by `policies` (calendars may
/// follow) and commits tix.toml.
fn policies(env: &TestEnv, policies: &str) {
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let (head, _) = text.split_once("[[sla.policy]]").unwrap();
    env.commit_file("tix.toml", &format!("{head}{policies}"));
}

#[test]
fn calendar_and_policy_mistakes_are_refused_with_their_lines() {
    let env = TestEnv::new();
    let id = env.new_ticket_with("Hello", &["--email", "bo@example.com"]);
    let before = env.commits();
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let base = text.lines().count();
    env.commit_file(
        "tix.toml",
        &format!(
            "{text}\n[calendar.mars]\ntimezone = \"Mars/Olympus\"\nmon = [\"09:00-17:00\"]\n\n[calendar.shop]\ntimezone = \"UTC\"\nmon = [\"09:00-12:00\", \"11:00-13:00\"]\ntue = [\"18:00-09:00\"]\n\n[[sla.policy]]\nname = \"vip\"\ncalendar = \"ofice\"\n"
        ),
    );
    let line = |n: usize| format!("tix.toml:{}:", base + n);
    let doctor = env.tix(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    let report = String::from_utf8_lossy(&doctor.stdout);
    for (n, what) in [
        (3, "calendar 'mars': unknown time zone 'Mars/Olympus'"),
        (
            8,
            "calendar 'shop': mon: '09:00-12:00' and '11:00-13:00' overlap",
        ),
        (
            9,
            "calendar 'shop': tue: '18:00-09:00' ends before it starts",
        ),
        (13, "SLA policy 'vip': unknown calendar 'ofice'"),
    ] {
        assert!(
            report.contains(&format!("{} {what}", line(n))),
            "{what} at line {}: {report}",
            base + n
        );
    }
    // Every command refuses the broken config with one line and a hint,
    // and writes nothing.
    for args in [&["sla"][..], &["queue"], &["reply", &id, "-m", "hi"]] {
        let err = env.fail(args, 1);
        assert!(
            err.starts_with(&format!(
                "error: tix.toml line {}: calendar 'mars'",
                base + 3
            )),
            "{err}"
        );
        assert!(err.contains("(and 3 more problems)"), "{err}");
    }
    assert_eq!(env.commits(), before + 1, "only the hand edit");
}

#[test]
fn a_calendar_that_is_never_open_is_refused() {
    let env = TestEnv::new();
    policies(
        &env,
        "[[sla.policy]]\nname = \"p\"\ncalendar = \"closed\"\n\n[calendar.closed]\ntimezone = \"UTC\"\nholidays = [{ date = \"2025-12-24\" }]\n",
    );
    let err = env.fail(&["sla"], 1);
    assert!(
        err.contains("calendar 'closed': it has no open hours on any day"),
        "{err}"
    );
    assert!(
        !err.contains("unknown calendar"),
        "no follow-on error: {err}"
    );
}

#[test]
fn a_holidays_file_in_the_desk_closes_its_dates() {
    let env = TestEnv::new();
    env.commit_file(
        "calendars/br-2025.ics",
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Carnaval\r\nDTSTART;VALUE=DATE:20250304\r\nDTEND;VALUE=DATE:20250306\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    );
    policies(
        &env,
        "[[sla.policy]]\nname = \"office\"\ncalendar = \"office\"\n[sla.policy.targets]\nnormal = { first_reply = \"4h\" }\n\n[calendar.office]\ntimezone = \"UTC\"\nmon = [\"09:00-17:00\"]\ntue = [\"09:00-17:00\"]\nwed = [\"09:00-17:00\"]\nthu = [\"09:00-17:00\"]\nfri = [\"09:00-17:00\"]\nholidays = [{ date = \"2025-12-24\" }]\nholidays_file = \"calendars/br-2025.ics\"\n",
    );
    // Monday 15:00 + 4h: 2h on Monday, Tuesday and Wednesday are holidays,
    // 2h on Thursday.
    env.at("2025-03-03T15:00:00Z");
    let id = new(&env, "Carnaval", &[]);
    let sla = env.json(&["sla", &id, "--format", "json"]);
    assert_eq!(sla[0]["targets"][0]["due"], "2025-03-06T11:00:00Z");

    // A file that is not committed is refused, naming the key's line.
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("holidays_file"))
        .unwrap()
        + 1;
    env.commit_file("tix.toml", &text.replace("br-2025", "br-2026"));
    let err = env.fail(&["sla"], 1);
    assert!(
        err.starts_with(&format!(
            "error: tix.toml line {line}: calendar 'office': holidays_file 'calendars/br-2026.ics' is not a committed file of the desk"
        )),
        "{err}"
    );
}

/// One target of `tix sla ID --format json`, or null when there is none.
fn target_of(env: &TestEnv, id: &str, metric: &str) -> serde_json::Value {
    let all = env.json(&["sla", id, "--format", "json"]);
    all[0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == metric)
        .cloned()
        .unwrap_or_default()
}

/// Mon–Fri 09:00–17:00 in `zone`, used by a policy with `targets` for
/// normal priority.
fn office_policy(env: &TestEnv, zone: &str, targets: &str) {
    policies(
        env,
        &format!(
            "[[sla.policy]]\nname = \"office\"\ncalendar = \"office\"\n[sla.policy.targets]\nnormal = {{ {targets} }}\n\n[calendar.office]\ntimezone = \"{zone}\"\nmon = [\"09:00-17:00\"]\ntue = [\"09:00-17:00\"]\nwed = [\"09:00-17:00\"]\nthu = [\"09:00-17:00\"]\nfri = [\"09:00-17:00\"]\n"
        ),
    );
}

#[test]
fn resolution_used_up_at_closing_time_is_due_then_and_breached_after() {
    let env = TestEnv::new();
    office_policy(&env, "America/Sao_Paulo", "resolution = \"8h\"");
    env.at("2025-03-07T12:00:00Z"); // Friday 09:00 in São Paulo
    let id = new(&env, "Friday", &[]);
    env.at("2025-03-07T20:00:00Z");
    let r = target_of(&env, &id, "resolution");
    assert_eq!(
        (&r["due"], &r["status"]),
        (&"2025-03-07T20:00:00Z".into(), &"active".into())
    );
    env.at("2025-03-07T21:00:00Z");
    let r = target_of(&env, &id, "resolution");
    assert_eq!(
        (&r["due"], &r["status"]),
        (&"2025-03-07T20:00:00Z".into(), &"breached".into())
    );
    env.ok(&["resolve", &id]);
    env.at("2025-03-10T12:00:00Z");
    let r = target_of(&env, &id, "resolution");
    assert_eq!(
        (&r["due"], &r["status"], &r["consumed_minutes"]),
        (
            &"2025-03-07T20:00:00Z".into(),
            &"breached".into(),
            &480.into()
        )
    );
    let table = env.ok(&["sla", &id]);
    assert!(
        table.contains("breached") && !table.contains("paused"),
        "{table}"
    );
}

#[test]
fn a_resolved_ticket_shows_its_resolution_due_and_final_status() {
    let env = TestEnv::new();
    let id = new(&env, "Quick", &[]);
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["reply", &id, "-m", "Done", "--resolve"]);
    env.at("2025-03-04T10:00:00Z");
    let r = target_of(&env, &id, "resolution");
    assert_eq!(
        (&r["due"], &r["status"], &r["consumed_minutes"]),
        (
            &"2025-03-06T09:00:00Z".into(),
            &"achieved".into(),
            &60.into()
        ),
        "normal: 72h from 09:00, 1h used"
    );
    let table = env.ok(&["sla", &id]);
    assert!(!table.contains("paused"), "{table}");
    let show = env.ok(&["show", &id]);
    assert!(show.contains("resolution   achieved"), "{show}");
}

#[test]
fn a_customer_reopen_after_a_silent_solve_starts_a_new_next_reply() {
    let env = TestEnv::new();
    policies(
        &env,
        "[[sla.policy]]\nname = \"p\"\n[sla.policy.targets]\nnormal = { first_reply = \"1h\", next_reply = \"2h\" }\n",
    );
    let id = new(&env, "Again", &[]);
    for (at, args) in [
        ("2025-03-03T09:30:00Z", vec!["reply", &id, "-m", "Try this"]),
        (
            "2025-03-03T10:00:00Z",
            vec!["reply", &id, "--customer", "-m", "No"],
        ),
        ("2025-03-03T10:30:00Z", vec!["resolve", &id]),
        (
            "2025-03-03T11:00:00Z",
            vec!["reply", &id, "--customer", "-m", "Still no"],
        ),
    ] {
        env.at(at);
        env.ok(&args);
    }
    env.at("2025-03-03T12:00:00Z");
    let next = target_of(&env, &id, "next_reply");
    assert_eq!(
        (&next["due"], &next["status"]),
        (&"2025-03-03T13:00:00Z".into(), &"active".into())
    );
    env.at("2025-03-03T12:30:00Z");
    env.ok(&["reply", &id, "-m", "Fixed"]);
    let next = target_of(&env, &id, "next_reply");
    assert_eq!(
        (&next["due"], &next["status"]),
        (&"2025-03-03T13:00:00Z".into(), &"achieved".into())
    );
}

#[test]
fn first_reply_exists_only_when_there_is_a_customer_to_answer() {
    let env = TestEnv::new();
    let customer = new(&env, "From the customer", &[]);
    let silent = env.new_ticket_with("Phone call, no text yet", &["--email", "bo@example.com"]);
    let proactive = env.new_ticket_with("We noticed an outage", &["-m", "We are on it"]);
    let internal = env.new_ticket_with("Internal task", &[]);
    assert_eq!(
        target_of(&env, &customer, "first_reply")["status"],
        "active"
    );
    assert_eq!(
        target_of(&env, &silent, "first_reply")["due"],
        "2025-03-03T17:00:00Z"
    );
    assert!(
        target_of(&env, &proactive, "first_reply").is_null(),
        "proactive"
    );
    assert!(
        target_of(&env, &internal, "first_reply").is_null(),
        "nobody to answer"
    );
    assert_eq!(target_of(&env, &internal, "resolution")["status"], "active");
}

#[test]
fn first_assign_runs_until_the_first_assignment() {
    let env = TestEnv::new();
    policies(
        &env,
        "[[sla.policy]]\nname = \"p\"\n[sla.policy.targets]\nnormal = { first_assign = \"30m\" }\n",
    );
    let id = new(&env, "Who?", &[]);
    let late = new(&env, "Nobody", &[]);
    env.at("2025-03-03T09:20:00Z");
    let first = target_of(&env, &id, "first_assign");
    assert_eq!(
        (&first["due"], &first["status"]),
        (&"2025-03-03T09:30:00Z".into(), &"active".into())
    );
    env.ok(&["assign", &id, "raj@desk.test"]);
    env.at("2025-03-03T11:00:00Z");
    assert_eq!(target_of(&env, &id, "first_assign")["status"], "achieved");
    assert_eq!(target_of(&env, &late, "first_assign")["status"], "breached");
}

#[test]
fn a_priority_or_tag_change_reselects_the_targets_and_keeps_the_start() {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &text.replacen(
            "[[sla.policy]]",
            "[[sla.policy]]\nname = \"vip\"\nmatch = { tags_any = [\"vip\"] }\n[sla.policy.targets]\nnormal = { first_reply = \"15m\" }\n\n[[sla.policy]]",
            1,
        ),
    );
    let id = new(&env, "Slow", &[]);
    env.at("2025-03-03T09:10:00Z");
    assert_eq!(
        target_of(&env, &id, "first_reply")["due"],
        "2025-03-03T17:00:00Z"
    );
    env.ok(&["edit", &id, "--priority", "urgent"]);
    let first = target_of(&env, &id, "first_reply");
    assert_eq!(
        (&first["due"], &first["consumed_minutes"]),
        (&"2025-03-03T10:00:00Z".into(), &10.into())
    );
    env.ok(&["edit", &id, "--priority", "normal", "--tag", "+vip"]);
    let all = env.json(&["sla", &id, "--format", "json"]);
    assert_eq!(all[0]["policy"], "vip");
    assert_eq!(all[0]["targets"][0]["due"], "2025-03-03T09:15:00Z");
}

#[test]
fn consumed_minutes_are_whole_minutes_rounded_down() {
    let env = TestEnv::new();
    let id = new(&env, "Tick", &[]);
    env.at("2025-03-03T09:01:59Z");
    assert_eq!(target_of(&env, &id, "first_reply")["consumed_minutes"], 1);
    env.at("2025-03-03T09:00:59Z");
    assert_eq!(target_of(&env, &id, "first_reply")["consumed_minutes"], 0);
}

#[test]
fn a_reply_at_18_after_a_17_due_is_breached_on_a_business_calendar() {
    let env = TestEnv::new();
    office_policy(&env, "UTC", "first_reply = \"1h\"");
    env.at("2025-03-03T16:00:00Z");
    let id = new(&env, "Late", &[]);
    env.at("2025-03-03T18:00:00Z");
    env.ok(&["reply", &id, "-m", "Sorry"]);
    let first = target_of(&env, &id, "first_reply");
    assert_eq!(
        (&first["due"], &first["status"], &first["consumed_minutes"]),
        (
            &"2025-03-03T17:00:00Z".into(),
            &"breached".into(),
            &60.into()
        )
    );
}

/// The ids of `tix queue` with extra flags, in order.
fn queue(env: &TestEnv, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["queue", "--format", "json"];
    args.extend_from_slice(extra);
    crate::common::ids_of(&env.json(&args))
}

#[test]
fn without_a_policy_the_queue_uses_created_plus_seven_days_then_waiting_priority_id() {
    let env = TestEnv::new();
    policies(&env, "");
    let bo = ["--email", "bo@example.com", "-m", "Help"];
    let answered = env.new_ticket_with("Answered, then asked again", &bo);
    let a = env.new_ticket_with("Waiting since creation", &bo);
    let b = env.new_ticket_with("Also waiting since creation", &bo);
    let urgent = env.new_ticket_with("Urgent", &[&bo[..], &["--priority", "urgent"]].concat());
    env.at("2025-03-03T09:30:00Z");
    env.ok(&["reply", &answered, "-m", "Try this"]);
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["reply", &answered, "--customer", "-m", "No luck"]);
    let list = env.json(&["queue", "--format", "json"]);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|q| q["due"] == "2025-03-10T09:00:00Z" && q["breached"] == false),
        "{list}"
    );
    let (first, second) = if a < b { (a, b) } else { (b, a) };
    assert_eq!(
        crate::common::ids_of(&list),
        [urgent, first, second, answered],
        "same due: the longest-waiting first, then priority, then id"
    );
}

#[test]
fn postponed_tickets_join_the_queue_when_their_time_has_come() {
    let env = TestEnv::new();
    let id = new(&env, "Later", &[]);
    env.ok(&["postpone", &id, "--until", "2025-03-03T12:00:00Z"]);
    env.at("2025-03-03T11:59:59Z");
    assert!(queue(&env, &[]).is_empty());
    env.at("2025-03-03T12:00:00Z");
    assert_eq!(queue(&env, &[]), [id.as_str()]);
    env.ok(&["next", "--take"]);
    assert_eq!(env.status(&id), "open");
}

#[test]
fn the_queue_keeps_to_my_departments_and_department_narrows_exactly() {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!(
            "{text}\n[[department]]\nname = \"billing\"\n\n[[department]]\nname = \"sales\"\n\n[[agent]]\nname = \"Ana Lima\"\nemail = \"ana@desk.test\"\ndepartments = [\"billing\"]\n\n[[agent]]\nname = \"Raj\"\nemail = \"raj@desk.test\"\n"
        ),
    );
    let bo = ["--email", "bo@example.com", "-m", "Help"];
    let billing = env.new_ticket_with("Invoice", &[&bo[..], &["--department", "billing"]].concat());
    let sales = env.new_ticket_with("Offer", &[&bo[..], &["--department", "sales"]].concat());
    let loose = env.new_ticket_with("Unrouted", &bo);
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        sorted(queue(&env, &[])),
        sorted(vec![billing.clone(), loose.clone()]),
        "my department and the unrouted"
    );
    assert_eq!(
        queue(&env, &["--department", "billing"]),
        [billing.as_str()]
    );
    let out = env.tix(&["queue", "--department", "sales", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("sales is not one of ana@desk.test's departments"),
        "{out:?}"
    );
    let err = env.fail(&["queue", "--department", "billng"], 1);
    assert!(
        err.contains("unknown department 'billng': tix.toml lists billing, sales"),
        "{err}"
    );
    // Raj has no departments: everything, or exactly the one asked for.
    assert_eq!(queue(&env, &["--agent", "raj@desk.test"]).len(), 3);
    assert_eq!(
        queue(&env, &["--agent", "Raj", "--department", "sales"]),
        [sales]
    );
}

#[test]
fn next_take_on_my_open_ticket_shows_it_and_take_is_for_my_own_queue_only() {
    let env = TestEnv::new();
    let id = new(&env, "Mine", &[]);
    env.ok(&["next", "--take"]);
    let before = env.commits();
    let again = env.tix(&["next", "--take", "--format", "json"]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    let shown: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(shown["id"], id.as_str());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already yours"));
    assert_eq!(env.commits(), before, "no commit");
    let err = env.fail(&["next", "--take", "--agent", "raj@desk.test"], 2);
    assert!(err.contains("--take assigns the ticket to you"), "{err}");
    assert_eq!(env.commits(), before);
    env.ok(&["next", "--take", "--agent", "ana@desk.test"]);
}

#[test]
fn sla_check_exit_codes_tell_a_breach_from_a_failure() {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!(
            "{text}\n[[hook]]\non = [\"sla_breach\"]\nrun = 'echo \"$TIX_TICKET $TIX_SLA_METRIC $TIX_SLA_DUE\" >> \"$HOME/breaches.log\"'\n"
        ),
    );
    env.ok(&["hooks", "allow"]);
    let urgent = env.new_ticket_with(
        "Down",
        &[
            "--email",
            "bo@example.com",
            "-m",
            "Help",
            "--priority",
            "urgent",
        ],
    );
    let quiet = env.new_ticket_with(
        "Fine",
        &[
            "--email",
            "bo@example.com",
            "-m",
            "Help",
            "--priority",
            "low",
        ],
    );
    env.at("2025-03-03T09:30:00Z");
    assert_eq!(env.ok(&["sla", "check"]), "", "nothing breached: exit 0");

    // Urgent: first reply due 10:00, resolution 17:00. At 18:00 both.
    env.at("2025-03-03T18:00:00Z");
    let out = env.tix(&["sla", "check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "new_breaches": [
                { "id": urgent, "metric": "first_reply", "due": "2025-03-03T10:00:00Z" },
                { "id": urgent, "metric": "resolution", "due": "2025-03-03T17:00:00Z" },
            ],
            "new_warnings": [],
            "breached": 1,
            "skipped": [],
        })
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "1 active ticket is in breach of an SLA target.\n"
    );
    let log = std::fs::read_to_string(env.home().join("breaches.log")).unwrap();
    assert_eq!(
        log,
        format!(
            "{urgent} first_reply 2025-03-03T10:00:00Z\n{urgent} resolution 2025-03-03T17:00:00Z\n"
        ),
        "one hook run per breach"
    );

    // Already recorded: still exit 4, nothing new, no hook.
    let out = env.tix(&["sla", "check", "--format", "json"]);
    assert_eq!(out.status.code(), Some(4));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["new_breaches"], serde_json::json!([]));
    assert_eq!(again["breached"], 1);

    // A ticket with uncommitted edits is skipped with a warning.
    env.at("2025-03-04T18:00:00Z");
    let path = env.ticket_path(&quiet);
    let file = env.read_ticket_file(&quiet);
    env.write(&path, &format!("{file}\n# note\n"));
    let out = env.tix(&["sla", "check"]);
    assert_eq!(out.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("warning: skipped {quiet}")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing recorded");

    // A failure is not a breach: exit 1.
    env.commit_file("tix.toml", "[desk]\ncolour = \"red\"\n");
    env.fail(&["sla", "check"], 1);
}

#[test]
fn show_json_carries_the_sla_state_or_null() {
    let env = TestEnv::new();
    let id = new(&env, "Hello", &[]);
    env.at("2025-03-03T09:30:00Z");
    let shown = env.show(&id);
    let listed = env.json(&["sla", &id, "--format", "json"]);
    assert_eq!(shown["sla"], listed[0]);
    assert_eq!(shown["sla"]["policy"], "default");
    assert_eq!(shown["id"], id.as_str(), "the ticket keys stay");
    policies(&env, "");
    assert!(env.show(&id)["sla"].is_null());
}

#[test]
fn warn_before_records_one_warning_per_target_and_runs_the_warning_hook() {
    let env = TestEnv::new();
    policies(
        &env,
        "[[sla.policy]]\nname = \"p\"\nwarn_before = \"15m\"\n[sla.policy.targets]\nnormal = { first_reply = \"1h\", next_reply = \"1h\" }\n\n[[hook]]\non = [\"sla_warning\"]\nrun = 'echo \"$TIX_EVENT $TIX_TICKET $TIX_SLA_METRIC $TIX_SLA_DUE\" >> \"$HOME/warnings.log\"'\n",
    );
    env.ok(&["hooks", "allow"]);
    let id = new(&env, "Soon", &[]);
    env.at("2025-03-03T09:44:00Z");
    assert_eq!(env.ok(&["sla", "check"]), "", "more than 15 minutes left");
    let before = env.commits();
    env.at("2025-03-03T09:50:00Z");
    let json = env.json(&["sla", "check", "--format", "json"]);
    assert_eq!(
        json["new_warnings"],
        serde_json::json!([{ "id": id, "metric": "first_reply", "due": "2025-03-03T10:00:00Z" }])
    );
    assert_eq!(json["breached"], 0, "a warning is not a breach: exit 0");
    assert_eq!(env.commits(), before + 1);
    assert!(
        env.git(&["log", "-1", "--format=%B"])
            .contains("Tix-Action: sla-warning")
    );
    env.at("2025-03-03T09:55:00Z");
    assert_eq!(env.ok(&["sla", "check"]), "", "warned once");
    assert_eq!(env.commits(), before + 1);
    // Each next reply warns once too.
    env.ok(&["reply", &id, "-m", "Hi"]);
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["reply", &id, "--customer", "-m", "And?"]);
    env.at("2025-03-03T10:50:00Z");
    let out = env.ok(&["sla", "check"]);
    assert_eq!(out, format!("{id}  due soon next_reply  Soon\n"));
    let log = std::fs::read_to_string(env.home().join("warnings.log")).unwrap();
    assert_eq!(
        log,
        format!(
            "sla_warning {id} first_reply 2025-03-03T10:00:00Z\nsla_warning {id} next_reply 2025-03-03T11:00:00Z\n"
        )
    );
}
