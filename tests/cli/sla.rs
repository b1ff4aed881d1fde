//! SLA clocks, `tix sla check` and the To Solve queue, end to end.

use crate::world::World;

const T0: &str = "2025-03-03T09:00:00Z";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

fn new(w: &World, subject: &str, extra: &[&str]) -> String {
    w.new_ticket_with("d", T0, subject, extra)
}

fn target(w: &World, now: &str, id: &str, metric: &str) -> serde_json::Value {
    let all = json(&w.tix("d", now, &["sla", id, "--format", "json"]));
    let targets = all[0]["targets"].as_array().unwrap().clone();
    targets.into_iter().find(|t| t["metric"] == metric).unwrap()
}

#[test]
fn default_policy_targets_by_priority_and_check_alerts_once() {
    let w = World::desk("d");
    let urgent = new(&w, "Down", &["--priority", "urgent"]);
    let normal = new(&w, "Question", &[]);
    let first = target(&w, "2025-03-03T09:30:00Z", &urgent, "first_reply");
    assert_eq!(first["due"], "2025-03-03T10:00:00Z");
    assert_eq!(first["status"], "active");
    assert_eq!(first["consumed_minutes"], 30);
    assert_eq!(
        target(&w, T0, &normal, "first_reply")["due"],
        "2025-03-03T17:00:00Z"
    );
    assert_eq!(
        target(&w, "2025-03-03T10:00:00Z", &urgent, "first_reply")["status"],
        "active",
        "due, not yet late"
    );
    assert_eq!(
        target(&w, "2025-03-03T10:00:01Z", &urgent, "first_reply")["status"],
        "breached"
    );
    let breached = json(&w.tix(
        "d",
        "2025-03-03T10:30:00Z",
        &["sla", "--breached", "--format", "json"],
    ));
    assert_eq!(breached.as_array().unwrap().len(), 1);
    assert_eq!(breached[0]["id"], urgent.as_str());
    let at_risk = w.tix(
        "d",
        "2025-03-03T10:30:00Z",
        &["sla", "--at-risk", "7h", "--format", "json"],
    );
    assert!(at_risk.contains(&normal));

    let before = w.commits("d");
    let out = w.tix_in(
        "d",
        "2025-03-03T10:30:00Z",
        "Ana <ana@desk.test>",
        &["sla", "check"],
    );
    assert_eq!(out.status.code(), Some(1), "a breach exists");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{urgent}  breached first_reply"))
    );
    assert_eq!(
        w.commits("d"),
        before + 1,
        "the breach is recorded in the ticket"
    );
    let again = w.tix_in(
        "d",
        "2025-03-03T10:45:00Z",
        "Ana <ana@desk.test>",
        &["sla", "check"],
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(again.stdout.is_empty(), "alerted once");
    assert_eq!(w.commits("d"), before + 1);
    // Replying ends the breach of the active ticket set: nothing in breach.
    w.tix(
        "d",
        "2025-03-03T10:50:00Z",
        &["reply", &urgent, "-m", "On it"],
    );
    w.tix(
        "d",
        "2025-03-03T10:50:00Z",
        &["reply", &normal, "-m", "Sure"],
    );
    let out = w.tix_in(
        "d",
        "2025-03-03T10:55:00Z",
        "Ana <ana@desk.test>",
        &["sla", "check"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "first_reply stays breached (late reply)"
    );
}

#[test]
fn pausing_decides_whether_the_same_ticket_breaches_resolution() {
    let policy = |pause: &str| {
        format!(
            "\n[[sla.policy]]\nname = \"strict\"\nmatch = {{ tags_any = [\"strict\"] }}\npause_resolution_in = [{pause}]\n[sla.policy.targets]\nnormal = {{ resolution = \"2h\" }}\n"
        )
    };
    for (pause, expected) in [("\"waiting\"", "achieved"), ("", "breached")] {
        let w = World::desk("d");
        // The strict policy must come before the default one: prepend it.
        let path = w.path("d/tix.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replacen(
                "[[sla.policy]]",
                &format!("{}\n[[sla.policy]]", policy(pause)),
                1,
            ),
        )
        .unwrap();
        w.git("d", &["commit", "-qam", "strict policy"]);
        let id = new(&w, "Slow", &["--tag", "strict"]);
        w.tix(
            "d",
            "2025-03-03T10:00:00Z",
            &["reply", &id, "-m", "Try this"],
        );
        w.tix(
            "d",
            "2025-03-03T14:00:00Z",
            &["reply", &id, "--customer", "-m", "Worked"],
        );
        w.tix("d", "2025-03-03T14:30:00Z", &["resolve", &id]);
        let resolution = target(&w, "2025-03-04T00:00:00Z", &id, "resolution");
        assert_eq!(resolution["status"], expected, "pause [{pause}]");
    }
}

#[test]
fn business_hours_calendars_move_deadlines() {
    let w = World::desk("d");
    let path = w.path("d/tix.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("calendar = \"24x7\"", "calendar = \"office\"");
    std::fs::write(
        &path,
        text + "\n[calendar.office]\ntimezone = \"Europe/Berlin\"\nmon = [\"09:00-17:00\"]\ntue = [\"09:00-17:00\"]\nholidays = [\"2025-03-04\"]\n",
    )
    .unwrap();
    w.git("d", &["commit", "-qam", "office hours"]);
    // Created Monday 16:00 Berlin (15:00Z), normal first reply 8h: 1h on
    // Monday, Tuesday is a holiday, Wednesday is closed... next Monday.
    let json_new = json(&w.tix(
        "d",
        "2025-03-03T15:00:00Z",
        &[
            "new", "Late", "--email", "x@y.z", "-m", "hi", "--format", "json",
        ],
    ));
    let id = json_new["id"].as_str().unwrap();
    let first = target(&w, "2025-03-03T15:00:00Z", id, "first_reply");
    assert_eq!(first["due"], "2025-03-10T15:00:00Z");
}

#[test]
fn the_queue_orders_breached_then_due_then_waiting_then_priority_and_take_opens() {
    let w = World::desk("d");
    let low = new(&w, "Low", &["--priority", "low"]); // first reply due 09:00 + 24h
    let urgent = new(&w, "Urgent", &["--priority", "urgent"]); // due 10:00
    let high_a = new(&w, "High A", &["--priority", "high"]); // due 13:00
    let high_b = new(&w, "High B", &["--priority", "high"]);
    let mine = new(
        &w,
        "Someone else's",
        &["--priority", "urgent", "--assign", "raj@desk.test"],
    );
    let queue = json(&w.tix("d", "2025-03-03T11:00:00Z", &["queue", "--format", "json"]));
    let order: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_str().unwrap())
        .collect();
    let (first_high, second_high) = if high_a < high_b {
        (&high_a, &high_b)
    } else {
        (&high_b, &high_a)
    };
    assert_eq!(
        order,
        [
            urgent.as_str(),
            first_high.as_str(),
            second_high.as_str(),
            low.as_str()
        ],
        "ties by id"
    );
    assert_eq!(queue[0]["breached"], true);
    assert!(!order.contains(&mine.as_str()), "assigned to someone else");
    let raj = json(&w.tix(
        "d",
        "2025-03-03T11:00:00Z",
        &["queue", "--agent", "raj@desk.test", "--format", "json"],
    ));
    assert!(
        raj.as_array()
            .unwrap()
            .iter()
            .any(|q| q["id"] == mine.as_str()),
        "raj sees his own"
    );
    // tix next shows the top; --take makes it mine and open, in one commit.
    assert!(
        w.tix("d", "2025-03-03T11:00:00Z", &["next"])
            .contains("Urgent")
    );
    let before = w.commits("d");
    let taken = json(&w.tix(
        "d",
        "2025-03-03T11:00:00Z",
        &["next", "--take", "--format", "json"],
    ));
    assert_eq!(
        (taken["id"].as_str(), taken["status"].as_str()),
        (Some(urgent.as_str()), Some("open"))
    );
    assert_eq!(taken["assignee"], "ana@desk.test");
    assert_eq!(w.commits("d"), before + 1);
    assert!(
        w.git("d", &["log", "-1", "--format=%B"])
            .contains("Tix-Action: take")
    );
}
