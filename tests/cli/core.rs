//! The ticket store and lifecycle end to end: commits, ids, the working
//! tree, broken files, concurrency and killed writers.

use std::collections::BTreeSet;

use crate::common::world::World;

const T0: &str = "2025-03-03T09:00:00Z";

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn init_makes_one_commit_with_config_attributes_and_tickets_dir() {
    let w = World::desk("d");
    assert_eq!(w.commits("d"), 1);
    let files = w.git("d", &["ls-files"]);
    assert_eq!(
        files,
        ".gitattributes\ntemplates/ack.txt\ntemplates/closed.txt\ntemplates/resolved.txt\n\
         tickets/.gitkeep\ntix.toml\n"
    );
    assert!(
        std::fs::read_to_string(w.path("d/.gitattributes"))
            .unwrap()
            .contains("merge=tix")
    );
    assert!(w.tix("d", T0, &["init"]).contains("is a tix desk already"));
    // Discovery from a subdirectory and through -C.
    std::fs::create_dir_all(w.path("d/tickets/sub")).unwrap();
    w.tix("d/tickets/sub", T0, &["list"]);
    let outside = w.path("d");
    w.tix("", T0, &["-C", outside.to_str().unwrap(), "list"]);
    assert!(w.fail("", T0, &["list"], 1).contains("not a tix desk"));
}

#[test]
fn each_change_is_one_commit_of_one_file_with_trailers_and_the_agent_as_author() {
    let w = World::desk("d");
    let id = w.new_ticket("d", T0, "Printer on fire");
    assert!(
        id.len() == 6
            && id
                .bytes()
                .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b)),
        "{id}"
    );
    assert!(
        w.path(&format!("d/tickets/{}/{id}.toml", &id[..2]))
            .exists()
    );
    let out = w.tix_in(
        "d",
        "2025-03-03T10:00:00Z",
        "Raj Patel <raj@desk.test>",
        &["reply", &id, "-m", "Unplug it"],
    );
    assert!(out.status.success());
    let head = w.git("d", &["log", "-1", "--format=%an <%ae>|%aI|%s%n%b"]);
    assert!(
        head.starts_with("Raj Patel <raj@desk.test>|2025-03-03T10:00:00Z|"),
        "{head}"
    );
    assert!(
        head.contains(&format!("{id}: reply (new -> answered) Printer on fire")),
        "{head}"
    );
    for trailer in [
        format!("Tix-Ticket: {id}"),
        "Tix-Action: reply".into(),
        "Tix-Status: new -> answered".into(),
    ] {
        assert!(head.contains(&trailer), "{head}");
    }
    let files = w.git("d", &["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(files.trim(), format!("tickets/{}/{id}.toml", &id[..2]));
    w.tix("d", T0, &["note", &id, "-m", "internal"]);
    let note = w.git("d", &["log", "-1", "--format=%B"]);
    assert!(
        note.contains("Tix-Action: note") && !note.contains("Tix-Status"),
        "{note}"
    );
    // tix log and git log --grep list the same commits.
    let log = json(&w.tix("d", T0, &["log", &id, "--format", "json"]));
    let from_tix: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["commit"].as_str().unwrap())
        .collect();
    let grep = w.git(
        "d",
        &["log", "--format=%H", "--grep", &format!("Tix-Ticket: {id}")],
    );
    assert_eq!(from_tix, grep.lines().collect::<Vec<_>>());
    assert_eq!(log[0]["action"], "note");
}

#[test]
fn refused_moves_name_the_status_and_the_allowed_moves_and_write_nothing() {
    let w = World::desk("d");
    let id = w.new_ticket("d", T0, "X");
    let before = w.commits("d");
    let err = w.fail("d", T0, &["close", &id], 1);
    assert!(
        err.contains("the ticket is new")
            && err.contains("allowed from new:")
            && err.contains("--force"),
        "{err}"
    );
    w.fail("d", T0, &["close", &id, "--force"], 2); // --reason is required
    w.fail("d", T0, &["reopen", &id], 1);
    assert_eq!(w.commits("d"), before);
    w.tix("d", T0, &["close", &id, "--force", "--reason", "spam"]);
    let err = w.fail("d", T0, &["reply", &id, "--customer", "-m", "hello?"], 1);
    assert!(
        err.contains("tix reopen") && err.contains("--follow-up"),
        "{err}"
    );
    w.tix("d", T0, &["reopen", &id]);
    assert_eq!(w.ticket("d", &id)["reopens"], 1);
}

#[test]
fn id_prefixes_resolve_and_ambiguity_lists_candidates() {
    let w = World::desk("d");
    let ids: Vec<String> = (0..40)
        .map(|i| w.new_ticket("d", T0, &format!("T{i}")))
        .collect();
    let id = &ids[0];
    assert_eq!(w.ticket("d", &format!("#{}", &id[..5]))["id"], id.as_str());
    let mut by_first: std::collections::BTreeMap<char, Vec<&String>> = Default::default();
    for id in &ids {
        by_first
            .entry(id.chars().next().unwrap())
            .or_default()
            .push(id);
    }
    let (prefix, shared) = by_first
        .iter()
        .find(|(_, v)| v.len() > 1)
        .expect("40 ids share a first letter");
    let err = w.fail("d", T0, &["show", &prefix.to_string()], 1);
    for candidate in shared {
        assert!(err.contains(candidate.as_str()), "{err}");
    }
    for bad in ["../x", "zz/..", "", "#"] {
        let err = w.fail("d", T0, &["show", bad], 1);
        assert!(
            err.starts_with("error: ") && !err.contains("panicked"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn the_users_own_work_is_never_touched_and_edited_tickets_are_refused() {
    let w = World::desk("d");
    let id = w.new_ticket("d", T0, "X");
    std::fs::write(w.path("d/staged.txt"), "staged\n").unwrap();
    w.git("d", &["add", "staged.txt"]);
    std::fs::write(w.path("d/tix.toml"), "# my unstaged edit\n").unwrap();
    w.tix("d", T0, &["note", &id, "-m", "hi"]);
    assert_eq!(
        w.git("d", &["diff", "--cached", "--name-only"]),
        "staged.txt\n"
    );
    assert_eq!(w.git("d", &["diff", "--name-only"]), "tix.toml\n");
    assert_eq!(
        w.git("d", &["show", "--name-only", "--format=", "HEAD"])
            .lines()
            .count(),
        1
    );
    w.git("d", &["checkout", "--", "tix.toml"]);
    // A hand edit not yet committed makes rewriting commands refuse.
    let file = w.path(&format!("d/tickets/{}/{id}.toml", &id[..2]));
    let edited = std::fs::read_to_string(&file)
        .unwrap()
        .replace("subject = \"X\"", "subject = \"Mine\"");
    std::fs::write(&file, &edited).unwrap();
    let err = w.fail("d", T0, &["reply", &id, "-m", "x"], 1);
    assert!(err.contains("uncommitted changes"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        edited,
        "the edit is kept"
    );
    let path = format!("tickets/{}/{id}.toml", &id[..2]);
    w.git("d", &["commit", "-q", "-m", "hand edit", "--", &path]);
    assert_eq!(w.ticket("d", &id)["subject"], "Mine");
    w.tix("d", T0, &["reply", &id, "-m", "works again"]);
    assert_eq!(w.git("d", &["status", "--porcelain"]), "A  staged.txt\n");
}

#[test]
fn a_broken_ticket_file_is_reported_with_its_line_and_hides_nothing() {
    let w = World::desk("d");
    let good = w.new_ticket("d", T0, "Good");
    std::fs::create_dir_all(w.path("d/tickets/zz")).unwrap();
    std::fs::write(
        w.path("d/tickets/zz/zzzzzz.toml"),
        "id = \"zzzzzz\"\nsubject = \"x\"\npriority = \"meh\"\n",
    )
    .unwrap();
    w.git("d", &["add", "."]);
    w.git("d", &["commit", "-qm", "broken"]);
    let out = w.tix_in("d", T0, "Ana <ana@desk.test>", &["list"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(&good));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tickets/zz/zzzzzz.toml:3"));
    let doctor = w.tix_in("d", T0, "Ana <ana@desk.test>", &["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&doctor.stdout).contains("tickets/zz/zzzzzz.toml:3"));
}

#[test]
fn three_writers_at_once_lose_nothing() {
    let w = World::desk("d");
    let shared = w.new_ticket("d", T0, "Shared");
    let others: Vec<String> = (0..25)
        .map(|i| w.new_ticket("d", T0, &format!("Other {i}")))
        .collect();
    let before = w.commits("d");
    std::thread::scope(|scope| {
        let w = &w;
        let creator = scope.spawn(move || {
            for i in 0..25 {
                w.tix("d", T0, &["new", &format!("Concurrent {i}")]);
            }
        });
        let shared = &shared;
        let noter = scope.spawn(move || {
            for i in 0..25 {
                w.tix(
                    "d",
                    T0,
                    &["note", shared, "-m", &format!("shared note {i}")],
                );
            }
        });
        let others = &others;
        let spreader = scope.spawn(move || {
            for (i, id) in others.iter().enumerate() {
                w.tix("d", T0, &["note", id, "-m", &format!("own note {i}")]);
            }
        });
        for handle in [creator, noter, spreader] {
            handle.join().unwrap();
        }
    });
    assert_eq!(w.commits("d"), before + 75);
    let notes = w.ticket("d", &shared)["messages"].as_array().unwrap().len();
    assert_eq!(notes, 26, "the description and 25 notes");
    for id in &others {
        assert_eq!(w.ticket("d", id)["messages"].as_array().unwrap().len(), 2);
    }
    let listed = w.tix("d", T0, &["list", "--format", "csv"]);
    assert_eq!(
        listed.lines().filter(|l| l.contains("Concurrent")).count(),
        25
    );
    w.git("d", &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(w.git("d", &["status", "--porcelain"]), "");
    w.tix("d", T0, &["doctor"]);
}

#[test]
fn a_writer_killed_at_any_moment_leaves_every_change_whole_or_absent() {
    let w = World::desk("d");
    let id = w.new_ticket("d", T0, "Target");
    let mut landed = BTreeSet::new();
    for i in 0..30u64 {
        let body = format!("note {i}");
        let mut child = w.spawn("d", T0, &["note", &id, "-m", &body]);
        std::thread::sleep(std::time::Duration::from_millis(i % 12));
        let killed = child.try_wait().unwrap().is_none();
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !killed && status.success() {
            landed.insert(body);
        }
    }
    w.tix("d", T0, &["doctor"]);
    w.git("d", &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(w.git("d", &["status", "--porcelain"]), "");
    let bodies: Vec<String> = w.ticket("d", &id)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    let unique: BTreeSet<&String> = bodies.iter().collect();
    assert_eq!(unique.len(), bodies.len(), "no note twice");
    for body in &landed {
        assert!(
            bodies.contains(body),
            "{body} reported success but is missing"
        );
    }
    // Every note in the file has exactly one commit.
    let notes = bodies.iter().filter(|b| b.starts_with("note ")).count();
    assert_eq!(
        w.git("d", &["log", "--format=%H", "--grep", "Tix-Action: note"])
            .lines()
            .count(),
        notes
    );
}

#[test]
fn bad_input_is_one_line_with_exit_1_or_2_and_no_output() {
    let w = World::desk("d");
    for (args, code) in [
        (&["new", ""][..], 1),
        (&["new", "x", "--priority", "meh"], 2),
        (&["show"], 2),
        (&["list", "--sort", "nonsense"], 2),
        (&["postpone", "abcdef", "--until", "someday"], 2),
        (&["frobnicate"], 2),
    ] {
        let out = w.tix_in("d", T0, "Ana <ana@desk.test>", args);
        assert_eq!(out.status.code(), Some(code), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}"
        );
    }
    let out = w.tix_in("d", "not a time", "Ana <ana@desk.test>", &["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TIX_NOW"));
    let out = w.tix_in("d", T0, "", &["new", "x"]);
    assert_eq!(out.status.code(), Some(1), "no identity at all");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as"));
}
