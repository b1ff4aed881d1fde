//! Branch collaboration (merge driver, `tix sync`) and the list cache,
//! end to end against real repositories. Self-contained helpers: each test
//! builds a bare "remote" and clones in one temporary directory.

use crate::world::World;

fn bodies(ticket: &serde_json::Value) -> Vec<String> {
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn clones_register_the_merge_driver() {
    let w = World::two_clones();
    // A fresh clone has no driver until a tix command runs in it.
    let config = w.git("b", &["config", "--local", "--list"]);
    assert!(!config.contains("merge.tix.driver"), "{config}");
    w.tix("b", "2025-03-03T09:00:00Z", &["list"]);
    let driver = w.git("b", &["config", "merge.tix.driver"]);
    assert!(driver.contains("merge-driver %O %A %B %P"), "{driver}");
    assert!(
        w.git("b", &["check-attr", "merge", "tickets/ab/abcdef.toml"])
            .contains("merge: tix")
    );
}

#[test]
fn diverged_changes_to_one_ticket_merge_through_plain_git_pull() {
    let w = World::two_clones();
    let id = w.new_ticket("a", "2025-03-03T09:00:00Z", "Printer on fire");
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    w.tix("b", "2025-03-03T09:00:00Z", &["list"]); // registers the driver in b
    // a: a reply and a new ticket; b: a note, a priority change and a new ticket.
    w.tix(
        "a",
        "2025-03-03T10:00:00Z",
        &["reply", &id, "-m", "Unplug it"],
    );
    let a_only = w.new_ticket("a", "2025-03-03T10:01:00Z", "Only on a");
    w.git("a", &["push", "-q"]);
    w.tix(
        "b",
        "2025-03-03T10:02:00Z",
        &["note", &id, "-m", "VIP customer"],
    );
    w.tix(
        "b",
        "2025-03-03T10:03:00Z",
        &["edit", &id, "--priority", "urgent"],
    );
    let b_only = w.new_ticket("b", "2025-03-03T10:04:00Z", "Only on b");
    w.git("b", &["pull", "-q", "--no-rebase", "--no-edit"]);
    let ticket = w.ticket("b", &id);
    assert_eq!(bodies(&ticket), ["Help", "Unplug it", "VIP customer"]);
    assert_eq!(ticket["priority"], "urgent");
    assert_eq!(ticket["status"], "answered");
    w.ticket("b", &a_only);
    w.ticket("b", &b_only);
    w.tix("b", "2025-03-05T00:00:00Z", &["doctor"]);
    assert_eq!(w.git("b", &["status", "--porcelain"]), "");
}

#[test]
fn sync_exchanges_changes_both_ways_and_retries_when_the_remote_moved() {
    let w = World::two_clones();
    let id = w.new_ticket("a", "2025-03-03T09:00:00Z", "Shared");
    w.tix("a", "2025-03-03T09:00:00Z", &["sync"]);
    w.tix("b", "2025-03-03T09:01:00Z", &["sync"]);
    w.tix("a", "2025-03-03T10:00:00Z", &["reply", &id, "-m", "From a"]);
    w.tix(
        "b",
        "2025-03-03T10:05:00Z",
        &["reply", &id, "--customer", "-m", "From the customer, via b"],
    );
    w.tix("a", "2025-03-03T10:10:00Z", &["sync"]);
    let out = w.tix("b", "2025-03-03T10:11:00Z", &["sync"]);
    assert!(out.contains("Synced with origin/"), "{out}");
    w.tix("a", "2025-03-03T10:12:00Z", &["sync"]);
    for clone in ["a", "b"] {
        let ticket = w.ticket(clone, &id);
        assert_eq!(
            bodies(&ticket),
            ["Help", "From a", "From the customer, via b"],
            "{clone}"
        );
        assert_eq!(ticket["status"], "open", "{clone}");
        w.tix(clone, "2025-03-05T00:00:00Z", &["doctor"]);
    }
    assert_eq!(
        w.git("a", &["rev-parse", "HEAD"]),
        w.git("b", &["rev-parse", "HEAD"])
    );
    // The remote moves between b's pull and push: a pre-push hook in b
    // pushes a's new commit first, so b's first push is rejected.
    w.tix(
        "a",
        "2025-03-03T11:00:00Z",
        &["note", &id, "-m", "Racing note"],
    );
    w.tix(
        "b",
        "2025-03-03T11:01:00Z",
        &["note", &id, "-m", "Note from b"],
    );
    let hook = w.path("b/.git/hooks/pre-push");
    let a_dir = w.path("a");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nrm -f \"$0\"\ncd '{}' && git push -q 2>/dev/null\nexit 0\n",
            a_dir.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).unwrap();
    let out = w.tix("b", "2025-03-03T11:02:00Z", &["sync"]);
    assert!(out.contains("second pull"), "{out}");
    let ticket = w.ticket("b", &id);
    assert!(bodies(&ticket).contains(&"Racing note".to_owned()));
    assert!(bodies(&ticket).contains(&"Note from b".to_owned()));
}

#[test]
fn sync_without_remote_or_upstream_says_what_to_do() {
    let w = World::new();
    std::fs::create_dir_all(w.path("solo")).unwrap();
    w.tix("solo", "2025-03-03T09:00:00Z", &["init"]);
    let err = w.fail("solo", "2025-03-03T09:00:00Z", &["sync"], 1);
    assert!(err.contains("no remote"), "{err}");
    w.git("solo", &["remote", "add", "origin", "../nowhere.git"]);
    let err = w.fail("solo", "2025-03-03T09:00:00Z", &["sync"], 1);
    assert!(err.contains("no upstream"), "{err}");
}

#[test]
fn failed_sync_never_leaves_the_desk_mid_merge() {
    let w = World::two_clones();
    // A conflicting change to tix.toml on both sides: git cannot merge it.
    std::fs::write(w.path("a/tix.toml"), "[desk]\nname = \"A\"\n").unwrap();
    w.git("a", &["commit", "-qam", "name A"]);
    w.git("a", &["push", "-q"]);
    std::fs::write(w.path("b/tix.toml"), "[desk]\nname = \"B\"\n").unwrap();
    w.git("b", &["commit", "-qam", "name B"]);
    let before = w.git("b", &["rev-parse", "HEAD"]);
    let err = w.fail("b", "2025-03-03T09:00:00Z", &["sync"], 1);
    assert!(err.contains("git pull failed"), "{err}");
    assert!(!w.path("b/.git/MERGE_HEAD").exists());
    assert_eq!(w.git("b", &["rev-parse", "HEAD"]), before);
    assert_eq!(w.git("b", &["status", "--porcelain"]), "");
}

#[test]
fn merge_driver_refuses_a_side_that_does_not_parse() {
    let w = World::new();
    std::fs::create_dir_all(w.path("d")).unwrap();
    w.tix("d", "2025-03-03T09:00:00Z", &["init"]);
    let id = w.new_ticket("d", "2025-03-03T09:00:00Z", "X");
    let file = w.path(&format!("d/tickets/{}/{id}.toml", &id[..2]));
    let good = std::fs::read_to_string(&file).unwrap();
    let base = w.path("base");
    let ours = w.path("ours");
    let theirs = w.path("theirs");
    std::fs::write(&base, &good).unwrap();
    std::fs::write(&ours, "this is = = not toml").unwrap();
    std::fs::write(&theirs, &good).unwrap();
    let args = [
        base.to_str().unwrap(),
        ours.to_str().unwrap(),
        theirs.to_str().unwrap(),
        "t.toml",
    ];
    let out = w.tix_in(
        "d",
        "2025-03-03T09:00:00Z",
        "Ana <ana@desk.test>",
        &["merge-driver", args[0], args[1], args[2], args[3]],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not parse"));
    assert_eq!(
        std::fs::read_to_string(&ours).unwrap(),
        "this is = = not toml",
        "ours untouched"
    );
}

/// The list cache never changes an answer: after every kind of history
/// change, a warm listing equals a listing with the cache deleted.
#[test]
fn cache_gives_the_same_answers_as_a_cold_read() {
    let w = World::new();
    std::fs::create_dir_all(w.path("d")).unwrap();
    let now = "2025-03-04T09:00:00Z";
    w.tix("d", now, &["init"]);
    let ids: Vec<String> = (0..6)
        .map(|i| w.new_ticket("d", now, &format!("Ticket {i}")))
        .collect();
    let cache = w.path("d/.git/tix/cache");
    let check = |label: &str| {
        for args in [
            &["list"][..],
            &["list", "--all", "--format", "csv"],
            &["list", "--format", "json"],
            &["list", "--pending"],
        ] {
            let warm = w.tix("d", now, args);
            let again = w.tix("d", now, args);
            std::fs::remove_dir_all(&cache).ok();
            let cold = w.tix("d", now, args);
            assert_eq!(warm, cold, "{label}: {args:?}");
            assert_eq!(again, cold, "{label}: {args:?}");
        }
    };
    check("fresh");
    w.tix("d", now, &["resolve", &ids[0]]);
    w.tix("d", now, &["close", &ids[0]]);
    w.tix("d", now, &["reply", &ids[1], "-m", "hi"]);
    check("after tix changes");
    // A hand edit, committed.
    let file = w.path(&format!("d/tickets/{}/{}.toml", &ids[2][..2], ids[2]));
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("subject = \"Ticket 2\"", "subject = \"Edited by hand\"");
    std::fs::write(&file, text).unwrap();
    w.git("d", &["commit", "-qam", "hand edit"]);
    check("after a hand edit");
    assert!(w.tix("d", now, &["list"]).contains("Edited by hand"));
    // A branch switch and back, a merge, a reset.
    let main = w
        .git("d", &["rev-parse", "--abbrev-ref", "HEAD"])
        .trim()
        .to_owned();
    w.git("d", &["checkout", "-q", "-b", "side", "HEAD~2"]);
    check("on a branch");
    w.tix("d", now, &["note", &ids[3], "-m", "on the side"]);
    w.git("d", &["checkout", "-q", &main]);
    check("back on main");
    w.git("d", &["merge", "-q", "--no-edit", "side"]);
    check("after a merge");
    w.git("d", &["reset", "-q", "--hard", "HEAD~3"]);
    check("after git reset");
    // A corrupt cache file is rebuilt, not trusted.
    w.tix("d", now, &["list"]);
    std::fs::write(
        cache.join("list"),
        "tix-cache 2\tgarbage\nS\tzz\tnot-an-oid\t5\n",
    )
    .unwrap();
    let after = w.tix("d", now, &["list", "--all", "--format", "csv"]);
    std::fs::remove_dir_all(&cache).ok();
    assert_eq!(
        after,
        w.tix("d", now, &["list", "--all", "--format", "csv"])
    );
}
