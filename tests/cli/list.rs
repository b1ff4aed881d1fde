//! `tix list`: filters, sorting, formats, broken files.

use crate::common::{TestEnv, ids_of};

/// A desk with five tickets:
/// - `a` Printer on fire: urgent, new, assigned to Ana, dept it, tags hw office,
///   customer Bo Berg, created 03-01;
/// - `b` Invoice wrong, twice: low, new, unassigned, tag billing, customer
///   "Lima, Carla" at bank.example, created 03-02, "Please refund";
/// - `c` VPN drops: high, answered, assigned to Raj, dept it, tag hw,
///   created 03-03 09:00, replied 03-04 09:00;
/// - `d` Buy cheap pills: force-closed as spam on 03-03 11:00;
/// - `e` Password reset: resolved by Ana on 03-04 11:00.
struct Fixture {
    env: TestEnv,
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
}

fn fixture() -> Fixture {
    let env = TestEnv::new();
    env.at("2025-03-01T09:00:00Z");
    let a = env.new_ticket_with(
        "Printer on fire",
        &[
            "--customer",
            "Bo Berg",
            "--email",
            "bo@example.com",
            "--priority",
            "urgent",
            "--tag",
            "hw",
            "--tag",
            "office",
            "--department",
            "it",
            "--assign",
            "ana@desk.test",
            "-m",
            "It smokes",
        ],
    );
    env.at("2025-03-02T09:00:00Z");
    let b = env.new_ticket_with(
        "Invoice wrong, twice",
        &[
            "--customer",
            "Lima, Carla",
            "--email",
            "carla@bank.example",
            "--priority",
            "low",
            "--tag",
            "billing",
            "-m",
            "Please refund",
        ],
    );
    env.at("2025-03-03T09:00:00Z");
    let c = env.new_ticket_with(
        "VPN drops",
        &[
            "--priority",
            "high",
            "--tag",
            "hw",
            "--department",
            "it",
            "--assign",
            "raj@desk.test",
        ],
    );
    env.at("2025-03-03T10:00:00Z");
    let d = env.new_ticket_with("Buy cheap pills", &["--email", "spam@junk.example"]);
    env.at("2025-03-03T11:00:00Z");
    env.ok(&["close", &d, "--force", "--reason", "spam"]);
    env.at("2025-03-04T09:00:00Z");
    env.ok(&["reply", &c, "-m", "Which client version?"]);
    env.at("2025-03-04T10:00:00Z");
    let e = env.new_ticket_with("Password reset", &["--email", "eve@example.com"]);
    env.at("2025-03-04T11:00:00Z");
    env.ok(&["resolve", &e]);
    env.at("2025-03-05T09:00:00Z");
    Fixture { env, a, b, c, d, e }
}

impl Fixture {
    /// The ids `tix list ARGS --format json` prints, in order.
    fn ids(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["list"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        ids_of(&self.env.json(&all))
    }

    fn want(&self, names: &str) -> Vec<String> {
        names
            .chars()
            .map(|n| match n {
                'a' => self.a.clone(),
                'b' => self.b.clone(),
                'c' => self.c.clone(),
                'd' => self.d.clone(),
                'e' => self.e.clone(),
                _ => unreachable!(),
            })
            .collect()
    }

    fn sorted(&self, names: &str) -> Vec<String> {
        let mut ids = self.want(names);
        ids.sort();
        ids
    }

    /// Asserts the set of ids (order ignored).
    fn check_set(&self, args: &[&str], names: &str) {
        let mut got = self.ids(args);
        got.sort();
        assert_eq!(got, self.sorted(names), "list {args:?}");
    }
}

#[test]
fn the_default_list_hides_closed_tickets_and_all_shows_them() {
    let f = fixture();
    // Most recently updated first.
    assert_eq!(f.ids(&[]), f.want("ecba"));
    assert_eq!(f.ids(&["--all"]), f.want("ecdba"));
    let table = f.env.ok(&["list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    assert!(lines[0].starts_with("ID"), "{table}");
    for (line, id) in lines[1..].iter().zip(f.want("ecba")) {
        assert!(line.starts_with(&id), "{table}");
    }
    assert!(!table.contains(&f.d), "{table}");
    assert!(
        table.contains("Printer on fire") && table.contains("urgent"),
        "{table}"
    );
    let all = f.env.ok(&["list", "--all"]);
    assert!(all.contains(&f.d) && all.contains("closed"), "{all}");
}

#[test]
fn status_category_and_priority_filters() {
    let f = fixture();
    f.check_set(&["--status", "new"], "ab");
    f.check_set(&["--status", "answered"], "c");
    f.check_set(&["--status", "new,answered"], "abc");
    f.check_set(&["--status", "new", "--status", "resolved"], "abe");
    // Asking for closed shows closed tickets without --all.
    f.check_set(&["--status", "closed"], "d");
    f.check_set(&["--category", "closed"], "d");
    f.check_set(&["--category", "solved"], "e");
    f.check_set(&["--category", "waiting"], "c");
    f.check_set(&["--priority", "urgent"], "a");
    f.check_set(&["--priority", "high,urgent"], "ac");
    f.check_set(&["--priority", "normal"], "e");
    f.check_set(&["--priority", "normal", "--all"], "de");
    for bad in [
        &["--status", "frozen"][..],
        &["--category", "limbo"],
        &["--priority", "meh"],
    ] {
        let mut args = vec!["list"];
        args.extend_from_slice(bad);
        f.env.fail(&args, 2);
    }
}

#[test]
fn assignee_me_department_and_tag_filters() {
    let f = fixture();
    f.check_set(&["--assignee", "raj@desk.test"], "c");
    f.check_set(&["--assignee", "ana@desk.test"], "ae");
    f.check_set(&["--assignee", "none"], "b");
    f.check_set(&["--assignee", "none", "--all"], "bd");
    f.check_set(&["--me"], "ae");
    let mine = f.env.ok(&[
        "--as",
        "Raj Patel <raj@desk.test>",
        "list",
        "--me",
        "--format",
        "csv",
    ]);
    assert_eq!(mine.lines().count(), 2, "{mine}");
    assert!(mine.contains(&f.c), "{mine}");
    f.check_set(&["--department", "it"], "ac");
    f.check_set(&["--department", "sales"], "");
    f.check_set(&["--tag", "hw"], "ac");
    f.check_set(&["--tag", "hw", "--tag", "office"], "a");
    f.check_set(&["--tag", "hw", "--tag", "billing"], "");
    f.check_set(&["--tag", "billing"], "b");
    // Filters combine.
    f.check_set(&["--tag", "hw", "--priority", "high"], "c");
    f.check_set(&["--department", "it", "--me"], "a");
}

#[test]
fn customer_pending_search_and_created_after_filters() {
    let f = fixture();
    f.check_set(&["--customer", "bank"], "b");
    f.check_set(&["--customer", "BO BERG"], "a");
    f.check_set(&["--customer", "example.com"], "ae");
    f.check_set(&["--customer", "example"], "abe");
    f.check_set(&["--customer", "junk", "--all"], "d");
    // Pending: unassigned and new or open.
    f.check_set(&["--pending"], "b");
    f.env.ok(&["reply", &f.c, "--customer", "-m", "Version 5"]);
    f.env.ok(&["assign", &f.c, "--unassign"]);
    f.check_set(&["--pending"], "bc");
    // Search subject and conversation, any case.
    f.check_set(&["--search", "refund"], "b");
    f.check_set(&["--search", "vpn"], "c");
    f.check_set(&["--search", "CLIENT VERSION"], "c");
    f.check_set(&["--search", "nothing like this"], "");
    // Created at or after.
    f.check_set(&["--created-after", "2025-03-03"], "ce");
    f.check_set(&["--created-after", "2025-03-03", "--all"], "cde");
    f.check_set(&["--created-after", "2025-03-02T09:00:00Z"], "bce");
    f.check_set(&["--created-after", "2025-03-02T09:00:01Z"], "ce");
    f.env.fail(&["list", "--created-after", "last tuesday"], 2);
}

#[test]
fn sort_reverse_and_limit() {
    let f = fixture();
    assert_eq!(f.ids(&["--sort", "updated"]), f.want("ecba"));
    assert_eq!(f.ids(&["--sort", "created"]), f.want("abce"));
    assert_eq!(f.ids(&["--sort", "priority"]), f.want("aceb"));
    assert_eq!(f.ids(&["--sort", "id"]), f.sorted("abce"));
    assert_eq!(f.ids(&["--reverse"]), f.want("abce"));
    assert_eq!(f.ids(&["--sort", "created", "--reverse"]), f.want("ecba"));
    assert_eq!(f.ids(&["--limit", "2"]), f.want("ec"));
    assert_eq!(f.ids(&["--sort", "priority", "--limit", "1"]), f.want("a"));
    assert_eq!(f.ids(&["--limit", "0"]), f.want(""));
    // A JSON listing sorts apart from the table (it keeps less of each
    // row): both give the same order.
    for sort in ["subject", "status", "priority", "updated"] {
        let table = f.env.ok(&["list", "--all", "--sort", sort]);
        let table: Vec<String> = table
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().next().unwrap().to_owned())
            .collect();
        assert_eq!(f.ids(&["--all", "--sort", sort]), table, "{sort}");
    }
    f.env.fail(&["list", "--sort", "nonsense"], 2);
    f.env.fail(&["list", "--limit", "-1"], 2);
}

#[test]
fn json_is_an_array_of_tickets() {
    let f = fixture();
    let list = f.env.json(&["list", "--format", "json"]);
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 4);
    for item in items {
        let id = item["id"].as_str().unwrap();
        // `tix show` adds the SLA state; the ticket object is the same.
        let mut shown = f.env.show(id);
        shown.as_object_mut().unwrap().remove("sla");
        assert_eq!(item, &shown, "a list item is the whole ticket");
    }
    assert_eq!(items[3]["messages"][0]["body"], "It smokes");
    // No match: an empty array.
    let none = f.env.json(&["list", "--tag", "nope", "--format", "json"]);
    assert_eq!(none, serde_json::json!([]));
}

#[test]
fn csv_has_a_header_then_one_quoted_row_per_ticket() {
    let f = fixture();
    let csv = f.env.ok(&["list", "--format", "csv", "--sort", "created"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,status,category,priority,assignee,department,customer,email,tags,created,updated,subject"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    assert_eq!(
        lines[1],
        format!(
            "{},new,new,urgent,ana@desk.test,it,Bo Berg,bo@example.com,hw office,2025-03-01T09:00:00Z,2025-03-01T09:00:00Z,Printer on fire",
            f.a
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "{},new,new,low,,,\"Lima, Carla\",carla@bank.example,billing,2025-03-02T09:00:00Z,2025-03-02T09:00:00Z,\"Invoice wrong, twice\"",
            f.b
        )
    );
    // Quotes are doubled.
    let env = TestEnv::new();
    let id = env.new_ticket("Say \"hi\", please");
    let csv = env.ok(&["list", "--format", "csv"]);
    assert!(csv.ends_with(",\"Say \"\"hi\"\", please\"\n"), "{csv}");
    assert!(csv.contains(&id));
    // Only the header when nothing matches.
    let empty = f.env.ok(&["list", "--tag", "nope", "--format", "csv"]);
    assert_eq!(empty.lines().count(), 1);
}

#[test]
fn a_broken_ticket_file_is_named_and_hides_nothing() {
    let f = fixture();
    f.env.commit_file(
        "tickets/zz/zzzzzz.toml",
        "id = \"zzzzzz\"\nsubject = \"broken\nstatus = \"new\"\n",
    );
    let out = f.env.tix(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for id in f.want("abce") {
        assert!(stdout.contains(&id), "{stdout}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tickets/zz/zzzzzz.toml:2"), "{stderr}");
    // JSON and CSV still list the good ones.
    let out = f.env.tix(&["list", "--format", "json"]);
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4);
    // Other commands on good tickets are unaffected.
    f.env.ok(&["note", &f.a, "-m", "still works"]);
    f.env.ok(&["show", &f.b]);
}

#[test]
fn a_ticket_file_copied_under_another_name_is_named_and_the_original_listed() {
    // Two files with the same blob: the cache must derive it once for both.
    let f = fixture();
    let original = f.env.read_ticket_file(&f.a);
    f.env.commit_file("tickets/zz/zzzzzz.toml", &original);
    let cold = f.env.tix(&["list", "--format", "csv"]);
    let warm = f.env.tix(&["list", "--format", "csv"]);
    for out in [&cold, &warm] {
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.matches(&f.a).count(), 1, "{stdout}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("tickets/zz/zzzzzz.toml"), "{stderr}");
    }
    assert_eq!(cold.stdout, warm.stdout);
}

#[test]
fn a_ticket_file_cut_short_after_a_key_is_named_and_lists_go_on() {
    let f = fixture();
    let path = f.env.ticket_path(&f.a);
    let text = f.env.read_ticket_file(&f.a);
    f.env.commit_file(&path, &format!("{text}[fields]\nx = "));
    for format in ["table", "json"] {
        let out = f.env.tix(&["list", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&path), "{stderr}");
        crate::common::assert_no_panic(&stderr);
    }
}

#[test]
fn a_cache_temporary_left_by_a_killed_tix_is_removed_once_stale() {
    let f = fixture();
    f.env.ok(&["list"]);
    let dir = f.env.path(".git/tix/cache");
    let stale = dir.join(".list.tix-999999.tmp");
    let fresh = dir.join(".list.tix-999998.tmp");
    for file in [&stale, &fresh] {
        std::fs::write(file, "partial").unwrap();
    }
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    // The next cache write clears what no live scan can be writing.
    std::fs::remove_file(dir.join("list")).unwrap();
    f.env.ok(&["list"]);
    assert!(!stale.exists(), "an hour-old temporary is removed");
    assert!(fresh.exists(), "a recent one may belong to a running scan");
}

#[test]
fn an_empty_desk_lists_nothing() {
    let env = TestEnv::new();
    let out = env.tix(&["list"]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No tickets"));
    assert_eq!(
        env.json(&["list", "--format", "json"]),
        serde_json::json!([])
    );
}

#[test]
fn a_change_rewrites_only_the_small_cache_delta_and_lists_stay_right() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..12).map(|i| env.new_ticket(&format!("T{i}"))).collect();
    let cache = env.path(".git/tix/cache/list");
    let delta = env.path(".git/tix/cache/list.delta");
    env.ok(&["list"]);
    let base = std::fs::read(&cache).unwrap();
    assert!(!delta.exists());
    env.ok(&["close", &ids[0], "--force", "--reason", "spam"]);
    env.ok(&["note", &ids[1], "-m", "seen"]);
    let listed = env.ok(&["list", "--all", "--format", "csv"]);
    assert!(delta.exists(), "the change went to the delta file");
    assert_eq!(
        std::fs::read(&cache).unwrap(),
        base,
        "the base file is untouched"
    );
    assert!(listed.contains(",closed,"), "{listed}");
    // Warm (base + delta) and cold reads agree.
    let warm = env.ok(&["list", "--all", "--format", "csv"]);
    std::fs::remove_dir_all(env.path(".git/tix/cache")).unwrap();
    assert_eq!(env.ok(&["list", "--all", "--format", "csv"]), warm);
}
