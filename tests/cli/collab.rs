//! Branch collaboration (merge driver, `tix sync`) and the list cache,
//! end to end against real repositories. Self-contained helpers: each test
//! builds a bare "remote" and clones in one temporary directory.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::world::{World, sealed};

const T: &str = "2025-03-03T09:00:00Z";
const AGENT: &str = "Ana <ana@desk.test>";

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

/// Runs `program` (a tix) in a clone with PATH = `path` followed by the
/// test's own PATH.
fn run_via(w: &World, clone: &str, program: &Path, path: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args);
    sealed(&mut cmd, &w.path(clone), T, AGENT);
    cmd.env("PATH", joined_path(path)).output().unwrap()
}

fn joined_path(first: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(first.to_owned()).chain(std::env::split_paths(&rest)))
        .unwrap()
}

fn driver(w: &World, clone: &str) -> String {
    w.git(clone, &["config", "merge.tix.driver"])
        .trim_end()
        .to_owned()
}

/// Makes a diverged change to one ticket in a and b (b's by hand, so no
/// tix command runs in b) and merges it with `git pull` in b, PATH = `path`
/// first; tells whether git merged it through the driver.
fn pulls_through_the_driver(w: &World, path: &Path) -> bool {
    let id = w.new_ticket("a", T, "Printer on fire");
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    w.tix("a", "2025-03-03T10:00:00Z", &["note", &id, "-m", "From a"]);
    w.git("a", &["push", "-q"]);
    let file = w.path(&format!("b/tickets/{}/{id}.toml", &id[..2]));
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("priority = \"normal\"", "priority = \"high\"");
    std::fs::write(&file, text).unwrap();
    w.git("b", &["commit", "-qam", "priority by hand"]);
    let mut cmd = Command::new("git");
    cmd.args(["pull", "-q", "--no-rebase", "--no-edit"]);
    sealed(&mut cmd, &w.path("b"), T, AGENT);
    let out = cmd
        .env("PATH", joined_path(path))
        .env("GIT_AUTHOR_NAME", "Git User")
        .env("GIT_AUTHOR_EMAIL", "git@desk.test")
        .env("GIT_COMMITTER_NAME", "Git User")
        .env("GIT_COMMITTER_EMAIL", "git@desk.test")
        .output()
        .unwrap();
    let merged = std::fs::read_to_string(&file).unwrap();
    out.status.success() && merged.contains("From a") && merged.contains("priority = \"high\"")
}

/// Puts a copy of the tix under test at `to` (a hard link when possible).
fn install(to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    let from = assert_cmd::cargo::cargo_bin!("tix");
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// r7: when the first `tix` on PATH is this program, the driver is the bare
/// name, so replacing the binary there does not break merges.
#[test]
fn driver_is_registered_by_name_when_path_finds_this_tix() {
    let w = World::two_clones();
    let bin = w.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin!("tix"), bin.join("tix")).unwrap();
    let out = run_via(&w, "b", &bin.join("tix"), &bin, &["list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(driver(&w, "b"), "tix merge-driver %O %A %B %P");
    assert!(pulls_through_the_driver(&w, &bin));
}

/// r7: not on PATH, tix registers the path it was started with, not the
/// file a symlink points to; a symlink swapped to a new binary keeps
/// working, and a registration naming a missing program is replaced.
#[test]
fn driver_keeps_the_path_tix_was_started_with() {
    let w = World::two_clones();
    let bin = w.path("opt/tix/bin");
    std::fs::create_dir_all(&bin).unwrap();
    let link = bin.join("tix");
    install(&w.path("opt/tix/v1/tix"));
    std::os::unix::fs::symlink(w.path("opt/tix/v1/tix"), &link).unwrap();
    let elsewhere = w.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let out = run_via(&w, "b", &link, &elsewhere, &["list"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        driver(&w, "b"),
        format!("'{}' merge-driver %O %A %B %P", link.display())
    );
    // An upgrade swaps the symlink to a new binary and removes the old one.
    install(&w.path("opt/tix/v2/tix"));
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(w.path("opt/tix/v2/tix"), &link).unwrap();
    std::fs::remove_file(w.path("opt/tix/v1/tix")).unwrap();
    assert!(pulls_through_the_driver(&w, &elsewhere));
    // The binary moved away: the next command registers it again.
    w.git(
        "b",
        &[
            "config",
            "merge.tix.driver",
            "'/gone/tix' merge-driver %O %A %B %P",
        ],
    );
    let out = run_via(&w, "b", &link, &elsewhere, &["list"]);
    assert!(out.status.success());
    assert_eq!(
        driver(&w, "b"),
        format!("'{}' merge-driver %O %A %B %P", link.display())
    );
}

/// r7: a driver someone set up that resolves on PATH is theirs to keep; one
/// naming a program PATH does not find is replaced.
#[test]
fn a_registered_driver_is_kept_while_its_program_resolves() {
    let w = World::two_clones();
    w.git(
        "b",
        &[
            "config",
            "merge.tix.driver",
            "env tix merge-driver %O %A %B %P",
        ],
    );
    w.tix("b", T, &["list"]);
    assert_eq!(driver(&w, "b"), "env tix merge-driver %O %A %B %P");
    w.git(
        "b",
        &[
            "config",
            "merge.tix.driver",
            "no-such-tix merge-driver %O %A %B %P",
        ],
    );
    w.tix("b", T, &["list"]);
    assert!(
        !driver(&w, "b").starts_with("no-such-tix"),
        "{}",
        driver(&w, "b")
    );
    assert!(driver(&w, "b").ends_with(" merge-driver %O %A %B %P"));
}

/// r7: `tix doctor` and `tix init` in a fresh clone register the driver;
/// init still refuses, and says so.
#[test]
fn doctor_and_init_register_the_driver_in_a_clone() {
    let w = World::two_clones();
    w.tix("a", T, &["doctor"]);
    assert!(driver(&w, "a").ends_with(" merge-driver %O %A %B %P"));
    let out = w.tix("b", T, &["init"]);
    let root = w.path("b");
    assert_eq!(
        out.trim_end(),
        format!(
            "{} is a tix desk already; registered tix's merge driver in its git config (a fresh clone lacks it).",
            root.display()
        )
    );
    assert!(driver(&w, "b").ends_with(" merge-driver %O %A %B %P"));
    let all = w.git("b", &["config", "--local", "--list"]);
    assert!(
        !all.contains("skiphash"),
        "the clone's index keeps its checksum: {all}"
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

/// A ticket resolved on a, synced to b; returns its id.
fn resolved_on_both(w: &World) -> String {
    let id = w.new_ticket("a", "2025-03-03T09:00:00Z", "Printer on fire");
    w.tix("a", "2025-03-03T09:30:00Z", &["resolve", &id]);
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    w.tix("b", "2025-03-03T09:31:00Z", &["list"]); // registers the driver in b
    id
}

/// The status changes of a ticket as `from -> to` (`- -> new` for the
/// creation).
fn chain(ticket: &serde_json::Value) -> Vec<String> {
    ticket["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            format!(
                "{} -> {}",
                h["from"].as_str().unwrap_or("-"),
                h["to"].as_str().unwrap()
            )
        })
        .collect()
}

/// Whether `tix list` (the default listing) shows the ticket.
fn listed(w: &World, clone: &str, id: &str) -> bool {
    let list: serde_json::Value =
        serde_json::from_str(&w.tix(clone, "2025-03-05T00:00:00Z", &["list", "--format", "json"]))
            .unwrap();
    list.as_array().unwrap().iter().any(|t| t["id"] == id)
}

/// Merges a's pushed work into b (`git pull`) and b's into a (`git
/// merge`), checks both give the same ticket file byte for byte, that
/// `tix doctor` accepts it and that `tix list` shows it; returns b's.
fn merge_both_ways(w: &World, id: &str) -> serde_json::Value {
    w.git("a", &["push", "-q"]);
    w.git("b", &["push", "-q", "origin", "HEAD:refs/heads/from-b"]);
    w.git("b", &["pull", "-q", "--no-rebase", "--no-edit"]);
    w.git("a", &["fetch", "-q", "origin", "from-b"]);
    w.git("a", &["merge", "-q", "--no-edit", "FETCH_HEAD"]);
    let path = format!("tickets/{}/{id}.toml", &id[..2]);
    assert_eq!(
        std::fs::read_to_string(w.path(&format!("a/{path}"))).unwrap(),
        std::fs::read_to_string(w.path(&format!("b/{path}"))).unwrap(),
        "the merge direction matters"
    );
    for clone in ["a", "b"] {
        w.tix(clone, "2025-03-05T00:00:00Z", &["doctor"]);
        assert!(listed(w, clone, id), "{clone}: the ticket is buried");
    }
    w.ticket("b", id)
}

/// r1a: a closes at 10:00, b's customer replies at 11:00: open, and the
/// reopen leaves `closed`.
#[test]
fn customer_reply_after_a_close_on_another_branch_reopens_coherently() {
    let w = World::two_clones();
    let id = resolved_on_both(&w);
    w.tix("a", "2025-03-04T10:00:00Z", &["close", &id]);
    w.tix(
        "b",
        "2025-03-04T11:00:00Z",
        &["reply", &id, "--customer", "-m", "Not fixed"],
    );
    let ticket = merge_both_ways(&w, &id);
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["reopens"], 1);
    assert_eq!(
        chain(&ticket),
        [
            "- -> new",
            "new -> resolved",
            "resolved -> closed",
            "closed -> open"
        ]
    );
    assert_eq!(bodies(&ticket), ["Help", "Not fixed"]);
}

/// r1b: b's customer replied at 09:00, a closed at 10:00 without seeing it:
/// the merge reopens the ticket rather than bury the message.
#[test]
fn customer_reply_a_close_on_another_branch_did_not_see_reopens_it() {
    let w = World::two_clones();
    let id = resolved_on_both(&w);
    w.tix("a", "2025-03-04T10:00:00Z", &["close", &id]);
    w.tix(
        "b",
        "2025-03-04T09:00:00Z",
        &["reply", &id, "--customer", "-m", "Not fixed"],
    );
    let ticket = merge_both_ways(&w, &id);
    assert_eq!(ticket["status"], "open");
    assert_eq!(
        chain(&ticket),
        [
            "- -> new",
            "new -> resolved",
            "resolved -> open",
            "open -> closed",
            "closed -> open"
        ]
    );
    let reopen = ticket["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        reopen["reason"],
        "merged: a customer message the close did not see"
    );
    assert_eq!(reopen["by"], "tix-automation@localhost");
    assert_eq!(bodies(&ticket), ["Help", "Not fixed"]);
}

/// r1c: an open ticket closed as a duplicate on a, a customer reply on b
/// (no status change there): reopened, the message in the queue.
#[test]
fn forced_close_on_another_branch_does_not_bury_a_customer_reply() {
    let w = World::two_clones();
    let id = w.new_ticket("a", "2025-03-03T09:00:00Z", "Printer on fire");
    w.tix("a", "2025-03-03T09:10:00Z", &["open", &id]);
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    w.tix(
        "a",
        "2025-03-04T10:00:00Z",
        &["close", &id, "--force", "--reason", "duplicate"],
    );
    w.tix(
        "b",
        "2025-03-04T11:00:00Z",
        &["reply", &id, "--customer", "-m", "Still broken"],
    );
    let ticket = merge_both_ways(&w, &id);
    assert_eq!(ticket["status"], "open");
    assert_eq!(ticket["reopens"], 1);
    assert_eq!(
        chain(&ticket),
        [
            "- -> new",
            "new -> open",
            "open -> closed",
            "closed -> open"
        ]
    );
    let queue = w.tix("b", "2025-03-05T00:00:00Z", &["queue", "--format", "json"]);
    assert!(queue.contains(&id), "{queue}");
}

/// r2: the same id minted on two clones (same TIX_SEED) is two tickets:
/// the driver refuses, git keeps both versions, nothing is fused.
#[test]
fn same_id_created_on_two_branches_is_a_conflict_not_a_fusion() {
    let w = World::two_clones();
    let create = |clone: &str, email: &str| -> String {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tix"));
        cmd.args(["new", "Same seed", "--email", email, "--format", "json"]);
        sealed(&mut cmd, &w.path(clone), T, AGENT);
        let out = cmd.env("TIX_SEED", "7").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ticket: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ticket["id"].as_str().unwrap().to_owned()
    };
    let id = create("a", "bo@example.com");
    assert_eq!(
        create("b", "cy@example.com"),
        id,
        "the same seed, the same id"
    );
    w.git("a", &["push", "-q"]);
    let path = format!("tickets/{}/{id}.toml", &id[..2]);
    // `tix sync` stops, names the file and the reason, and leaves b as it was.
    let err = w.fail("b", T, &["sync"], 1);
    assert!(
        err.contains(&format!(
            "git pull failed: conflicts in {path} (cannot merge {path}: two different tickets \
             have the same id {id}"
        )),
        "{err}"
    );
    assert_eq!(w.git("b", &["status", "--porcelain"]), "");
    let out = w.git_out("b", &["pull", "--no-rebase", "--no-edit"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let refusal: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("two different tickets"))
        .collect();
    assert_eq!(
        refusal,
        [format!(
            "error: cannot merge {path}: two different tickets have the same id {id}: each side \
             created its own; keep one and make the other again with `tix new` \
             (docs/merge-policy.md)"
        )],
        "{stderr}"
    );
    assert!(!stderr.contains("hint:"), "one line: {stderr}");
    let ours = w.git("b", &["show", &format!(":2:{path}")]);
    let theirs = w.git("b", &["show", &format!(":3:{path}")]);
    assert!(ours.contains("cy@example.com") && !ours.contains("bo@example.com"));
    assert!(theirs.contains("bo@example.com") && !theirs.contains("cy@example.com"));
    // The recovery of docs/merge-policy.md: keep ours, make theirs anew.
    std::fs::write(w.path("theirs.toml"), &theirs).unwrap();
    w.git("b", &["checkout", "--ours", "--", &path]);
    w.git("b", &["add", "--", &path]);
    w.git("b", &["commit", "-q", "--no-edit"]);
    let again = w.new_ticket("b", "2025-03-03T09:05:00Z", "Same seed");
    assert_ne!(again, id);
    w.tix("b", "2025-03-05T00:00:00Z", &["doctor"]);
    assert_eq!(w.ticket("b", &id)["customer"]["email"], "cy@example.com");
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

/// r9: the merge commit `tix sync` makes names each ticket the merge
/// itself changed, so `git log --grep` lists what `tix log` lists.
#[test]
fn sync_merge_commit_names_the_tickets_it_changed() {
    let w = World::two_clones();
    let shared = w.new_ticket("a", T, "Shared");
    w.tix("a", T, &["sync"]);
    w.tix("b", T, &["sync"]);
    w.tix(
        "a",
        "2025-03-03T10:00:00Z",
        &["reply", &shared, "-m", "From a"],
    );
    let only_a = w.new_ticket("a", "2025-03-03T10:01:00Z", "Only on a");
    w.tix("a", "2025-03-03T10:02:00Z", &["sync"]);
    w.tix(
        "b",
        "2025-03-03T10:05:00Z",
        &["reply", &shared, "--customer", "-m", "From the customer"],
    );
    let only_b = w.new_ticket("b", "2025-03-03T10:06:00Z", "Only on b");
    w.tix("b", "2025-03-03T10:07:00Z", &["sync"]);
    let message = w.git("b", &["log", "-1", "--format=%B"]);
    assert!(message.starts_with("Merge branch"), "{message}");
    assert!(
        message.ends_with(&format!("\n\nTix-Ticket: {shared}\nTix-Action: merge\n\n")),
        "{message:?}"
    );
    assert!(!message.contains(&only_a) && !message.contains(&only_b));
    assert_eq!(w.git("b", &["log", "-1", "--format=%an"]), "Ana\n");
    for id in [&shared, &only_a, &only_b] {
        let grep = w.git(
            "b",
            &["log", "--format=%H", &format!("--grep=Tix-Ticket: {id}")],
        );
        let log: serde_json::Value =
            serde_json::from_str(&w.tix("b", T, &["log", id, "--format", "json"])).unwrap();
        let listed: Vec<&str> = log
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["commit"].as_str().unwrap())
            .collect();
        assert_eq!(grep.lines().collect::<Vec<_>>(), listed, "{id}");
    }
}

/// r9: `git pull --rebase` replays a clone's commits through the driver.
#[test]
fn git_pull_rebase_merges_ticket_files_through_the_driver() {
    let w = World::two_clones();
    let id = w.new_ticket("a", T, "Printer on fire");
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    w.tix(
        "a",
        "2025-03-03T10:00:00Z",
        &["reply", &id, "-m", "Unplug it"],
    );
    w.git("a", &["push", "-q"]);
    w.tix(
        "b",
        "2025-03-03T10:05:00Z",
        &["note", &id, "-m", "VIP customer"],
    );
    w.tix(
        "b",
        "2025-03-03T10:06:00Z",
        &["edit", &id, "--priority", "urgent"],
    );
    w.git("b", &["pull", "-q", "--rebase"]);
    let ticket = w.ticket("b", &id);
    assert_eq!(bodies(&ticket), ["Help", "Unplug it", "VIP customer"]);
    assert_eq!(ticket["priority"], "urgent");
    assert_eq!(ticket["status"], "answered");
    assert_eq!(
        w.git("b", &["rev-list", "--merges", "--count", "HEAD"]),
        "0\n"
    );
    let subjects = w.git("b", &["log", "-3", "--format=%s"]);
    assert!(subjects.starts_with(&format!("{id}: edit")), "{subjects}");
    assert_eq!(w.git("b", &["status", "--porcelain"]), "");
    w.tix("b", "2025-03-05T00:00:00Z", &["doctor"]);
}

/// r6: an unreachable remote is reported by git's first `fatal:` line,
/// not by the advice after it.
#[test]
fn sync_quotes_the_first_fatal_line_of_git() {
    let w = World::two_clones();
    w.tix("b", T, &["list"]);
    w.git("b", &["remote", "set-url", "origin", "../nowhere.git"]);
    let err = w.fail("b", T, &["sync"], 1);
    assert_eq!(
        err.trim_end(),
        "error: git pull failed ('../nowhere.git' does not appear to be a git repository); the \
         desk is unchanged"
    );
}

/// r6: a push the remote's hook refuses is not retried, and the hook's
/// reason is quoted.
#[test]
fn sync_does_not_retry_a_push_that_a_hook_refused() {
    let w = World::two_clones();
    let id = w.new_ticket("b", T, "Printer on fire");
    let hook = w.path("remote.git/hooks/pre-receive");
    let count = w.path("pushes");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\necho x >> '{}'\necho 'tickets need a department' >&2\nexit 1\n",
            count.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).unwrap();
    let err = w.fail("b", T, &["sync"], 1);
    assert_eq!(
        err.trim_end(),
        "error: the remote refused the push (pre-receive hook declined: tickets need a \
         department); your commits are merged locally but not published"
    );
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "x\n", "one push");
    w.ticket("b", &id);
}

#[test]
fn sync_on_a_detached_head_says_so() {
    let w = World::two_clones();
    w.tix("b", T, &["list"]);
    w.git("b", &["checkout", "-q", "--detach"]);
    let err = w.fail("b", T, &["sync"], 1);
    assert!(err.contains("HEAD is detached"), "{err}");
    assert!(err.contains("git switch"), "{err}");
}

/// r6: a clone whose committed tix.toml is broken can still sync, so it
/// pulls the teammate's fix.
#[test]
fn sync_pulls_a_fix_while_the_committed_config_is_broken() {
    let w = World::two_clones();
    let good = std::fs::read_to_string(w.path("a/tix.toml")).unwrap();
    std::fs::write(w.path("a/tix.toml"), format!("{good}\n[nonsense]\n")).unwrap();
    w.git("a", &["commit", "-qam", "break the config"]);
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    let err = w.fail("b", T, &["list"], 1);
    assert!(err.contains("tix.toml"), "{err}");
    std::fs::write(w.path("a/tix.toml"), &good).unwrap();
    w.git("a", &["commit", "-qam", "fix the config"]);
    w.git("a", &["push", "-q"]);
    let out = w.tix("b", T, &["sync"]);
    assert!(out.contains("Synced with origin/"), "{out}");
    w.tix("b", T, &["list"]);
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
    assert_eq!(
        err.trim_end(),
        "error: git pull failed: conflicts in tix.toml; the merge was aborted and the desk is \
         unchanged; run `git pull` to resolve them by hand"
    );
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

/// r8: a real `git merge` meets a side that does not parse: git reports a
/// conflict, every version stays in the index, the hint says how to go on.
#[test]
fn a_side_that_does_not_parse_stays_in_the_index_for_a_person() {
    let w = World::two_clones();
    let id = w.new_ticket("a", T, "Printer on fire");
    w.git("a", &["push", "-q"]);
    w.git("b", &["pull", "-q", "--no-rebase"]);
    let path = format!("tickets/{}/{id}.toml", &id[..2]);
    let broken = std::fs::read_to_string(w.path(&format!("a/{path}")))
        .unwrap()
        .replace("priority = \"normal\"", "priority = \"meh\"");
    std::fs::write(w.path(&format!("a/{path}")), &broken).unwrap();
    w.git("a", &["commit", "-qam", "hand edit"]);
    w.git("a", &["push", "-q"]);
    w.tix("b", "2025-03-03T10:00:00Z", &["note", &id, "-m", "Kept"]);
    let ours = std::fs::read_to_string(w.path(&format!("b/{path}"))).unwrap();
    let out = w.git_out("b", &["pull", "--no-rebase", "--no-edit"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "error: cannot merge {path}: their version does not parse ("
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "hint: `git show :3:{path}` prints their version; fix it, write the merged ticket \
             to {path}, `git add {path}`, then run `tix doctor`"
        )),
        "{stderr}"
    );
    crate::common::assert_no_panic(&stderr);
    assert_eq!(w.git("b", &["show", &format!(":3:{path}")]), broken);
    assert_eq!(w.git("b", &["show", &format!(":2:{path}")]), ours);
    assert_eq!(
        std::fs::read_to_string(w.path(&format!("b/{path}"))).unwrap(),
        ours,
        "the working file is ours, without conflict markers"
    );
    // A person resolves it as the hint says.
    w.git("b", &["add", "--", &path]);
    w.git("b", &["commit", "-q", "--no-edit"]);
    w.tix("b", "2025-03-05T00:00:00Z", &["doctor"]);
    assert_eq!(bodies(&w.ticket("b", &id)), ["Help", "Kept"]);
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
            &["report", "--format", "json", "--by", "tag"],
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
    let cold = w.tix("d", now, &["list", "--all", "--format", "csv"]);
    assert_eq!(after, cold);
    // A cache whose headers read well but one shard's lines do not (a byte
    // that is not UTF-8): the same answer, and the file is not kept to
    // fail again. A scan reads a shard's lines only when it reaches it.
    for (name, args) in [
        ("list", &["list", "--all", "--format", "csv"][..]),
        ("facts", &["report", "--format", "json"][..]),
    ] {
        std::fs::remove_dir_all(&cache).ok();
        let cold = w.tix("d", now, args);
        let file = cache.join(name);
        let mut bytes = std::fs::read(&file).unwrap();
        let second_line = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(1)
            .unwrap()
            .0;
        bytes[second_line + 5] = 0xff;
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(w.tix("d", now, args), cold, "{name}");
        let kept = std::fs::read(&file).unwrap_or_default();
        assert!(!kept.contains(&0xff), "{name}: the broken file is not kept");
        assert_eq!(w.tix("d", now, args), cold, "{name}, again");
    }
}

/// The remote moves under b's push three times running (a pre-push hook
/// pushes another clone's commit each time): sync pulls and pushes again,
/// with a pause between, until its push goes through, and says how many
/// pulls that took.
#[test]
fn sync_keeps_retrying_while_the_remote_keeps_moving() {
    let w = World::two_clones();
    let id = w.new_ticket("a", T, "Busy");
    w.tix("a", T, &["sync"]);
    w.tix("b", T, &["sync"]);
    let hook = w.path("b/.git/hooks/pre-push");
    let count = w.path("races");
    let a_dir = w.path("a");
    let bin = w.bin_dir();
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nn=$(cat '{count}' 2>/dev/null || echo 0)\n[ \"$n\" -ge 3 ] && exit 0\n\
             echo $((n + 1)) > '{count}'\ncd '{a}' && PATH='{bin}':$PATH TIX_NOW=2025-03-03T12:0$n:00Z \
             TIX_AGENT='Ana <ana@desk.test>' tix note {id} -m \"race $n\" >/dev/null && git push -q 2>/dev/null\nexit 0\n",
            count = count.display(),
            a = a_dir.display(),
            bin = bin.display(),
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).unwrap();
    w.tix("b", "2025-03-03T12:10:00Z", &["note", &id, "-m", "from b"]);
    let out = w.tix("b", "2025-03-03T12:11:00Z", &["sync"]);
    assert!(
        out.contains("(after 4 pulls: others kept pushing first)"),
        "{out}"
    );
    let notes = w.tix("b", T, &["show", &id]);
    for note in ["race 0", "race 1", "race 2", "from b"] {
        assert!(notes.contains(note), "{note} lost: {notes}");
    }
}

/// Six clones sync through one bare remote at the same time, each after
/// its own changes: every sync succeeds (the retries absorb the races) and
/// every change reaches every clone.
#[test]
fn six_clones_syncing_at_once_all_succeed_and_lose_nothing() {
    let w = World::two_clones();
    let id = w.new_ticket("a", T, "Shared");
    w.tix("a", T, &["sync"]);
    let clones: Vec<String> = (0..6).map(|i| format!("c{i}")).collect();
    for clone in &clones {
        w.git("", &["clone", "-q", "remote.git", clone]);
    }
    let children: Vec<(String, std::process::Child)> = clones
        .iter()
        .enumerate()
        .map(|(i, clone)| {
            w.tix(
                clone,
                T,
                &["note", &id, "-m", &format!("note from {clone}")],
            );
            let _ = i;
            (clone.clone(), w.spawn(clone, T, &["sync"]))
        })
        .collect();
    for (clone, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{clone}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    w.tix("a", T, &["sync"]);
    let ticket = w.ticket("a", &id);
    let bodies = bodies(&ticket);
    for clone in &clones {
        assert!(
            bodies.contains(&format!("note from {clone}")),
            "{clone}: {bodies:?}"
        );
    }
}

/// Two changes of one ticket in the same second on two clones end in the
/// same status whether the second clone merges (`git pull`) or rebases
/// (`git pull --rebase`), in both directions: the order of equal
/// timestamps never depends on which side git replays.
#[test]
fn same_second_changes_end_alike_whether_merged_or_rebased() {
    let until = "2025-03-04T00:00:00Z";
    let changes: [&[&str]; 5] = [
        &["postpone", "ID", "--until", until],
        &["reply", "ID", "--customer", "-m", "more"],
        &["reply", "ID", "-m", "agent"],
        &["resolve", "ID"],
        &["open", "ID"],
    ];
    let at = "2025-03-03T10:00:00Z";
    for (i, first) in changes.iter().enumerate() {
        for second in &changes[i + 1..] {
            for (pushed, local) in [(first, second), (second, first)] {
                let w = World::two_clones();
                let id = w.new_ticket("a", T, "Race");
                w.tix("a", "2025-03-03T09:30:00Z", &["reply", &id, "-m", "answer"]);
                w.git("a", &["push", "-q"]);
                w.git("b", &["pull", "-q"]);
                w.git("", &["clone", "-q", "remote.git", "c"]);
                let args = |change: &[&str]| -> Vec<String> {
                    change.iter().map(|a| a.replace("ID", &id)).collect()
                };
                let pushed = args(pushed);
                let local = args(local);
                let run = |clone: &str, args: &[String]| {
                    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                    w.tix(clone, at, &refs);
                };
                run("a", &pushed);
                w.git("a", &["push", "-q"]);
                run("b", &local);
                run("c", &local);
                w.git("b", &["pull", "-q", "--no-rebase", "--no-edit"]);
                w.git("c", &["pull", "-q", "--rebase"]);
                let merged = w.ticket("b", &id)["status"].clone();
                let rebased = w.ticket("c", &id)["status"].clone();
                assert_eq!(merged, rebased, "{pushed:?} then {local:?}");
            }
        }
    }
}

/// Every event of a ticket once, and every status change leaving the
/// status the one before it set.
fn assert_each_event_once(w: &World, clone: &str, id: &str) {
    let ticket = w.ticket(clone, id);
    let history = ticket["history"].as_array().unwrap();
    let mut seen = std::collections::BTreeSet::new();
    let mut status = serde_json::Value::Null;
    for change in history {
        let key = (
            change["at"].to_string(),
            change["by"].to_string(),
            change["to"].to_string(),
        );
        assert!(
            seen.insert(key),
            "{clone}: a status change twice: {history:#?}"
        );
        assert_eq!(
            change["from"], status,
            "{clone}: incoherent log: {history:#?}"
        );
        status = change["to"].clone();
    }
    let messages: Vec<String> = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| format!("{} {} {}", m["at"], m["author"], m["body"]))
        .collect();
    let unique: std::collections::BTreeSet<&String> = messages.iter().collect();
    assert_eq!(
        unique.len(),
        messages.len(),
        "{clone}: a message twice: {messages:#?}"
    );
}

/// r15: A resolves, B replies, neither syncs; C replies and syncs; A pulls
/// with plain git, B syncs, A syncs. The criss-cross merges rewrote the
/// `from` of C's status change differently on A and B: the last merge
/// keeps it once, coherent with the log before it.
#[test]
fn criss_cross_merges_keep_each_status_change_once() {
    let w = World::two_clones();
    let id = w.new_ticket("a", T, "Race");
    w.tix("a", T, &["sync"]);
    w.tix("b", T, &["sync"]);
    w.git("", &["clone", "-q", "remote.git", "c"]);
    w.tix("a", "2025-03-03T10:00:00Z", &["resolve", &id]);
    w.tix("b", "2025-03-03T10:01:00Z", &["reply", &id, "-m", "from b"]);
    w.tix("c", "2025-03-03T10:02:00Z", &["reply", &id, "-m", "from c"]);
    w.tix("c", "2025-03-03T10:02:00Z", &["sync"]);
    w.git("a", &["pull", "-q", "--no-rebase", "--no-edit"]);
    w.tix("b", "2025-03-03T10:03:00Z", &["sync"]);
    w.tix("a", "2025-03-03T10:04:00Z", &["sync"]);
    for clone in ["a", "b", "c"] {
        w.tix(clone, "2025-03-03T10:05:00Z", &["sync"]);
        assert_each_event_once(&w, clone, &id);
    }
    assert_eq!(w.ticket("a", &id), w.ticket("c", &id));
}

/// Four clones make random changes to two tickets and exchange them in
/// random orders (tix sync, plain git pull, git pull --rebase), ten times
/// over: after a final round of syncs every clone holds the same tickets,
/// each event once, each log coherent.
#[test]
fn random_changes_and_merge_orders_keep_each_event_once() {
    let clones = ["a", "b", "c", "d"];
    for seed in 0..10u64 {
        let mut rng = fastrand::Rng::with_seed(seed);
        let w = World::two_clones();
        let ids = [w.new_ticket("a", T, "One"), w.new_ticket("a", T, "Two")];
        w.tix("a", T, &["sync"]);
        for clone in &clones[1..] {
            if *clone != "b" {
                w.git("", &["clone", "-q", "remote.git", clone]);
            } else {
                w.tix("b", T, &["sync"]);
            }
        }
        for step in 0..30 {
            let clone = clones[rng.usize(..clones.len())];
            let id = &ids[rng.usize(..ids.len())];
            let at = format!("2025-03-03T1{}:{:02}:00Z", step / 10, step * 7 % 60);
            let change: Vec<&str> = match rng.u8(..8) {
                0 => vec!["reply", id, "-m", "agent says"],
                1 => vec!["reply", id, "--customer", "-m", "customer says"],
                2 => vec!["resolve", id],
                3 => vec!["note", id, "-m", "a note"],
                4 => vec!["postpone", id, "--until", "2026-01-01T00:00:00Z"],
                5 => vec!["sync"],
                6 => vec!["pull", "--no-rebase"],
                _ => vec!["pull", "--rebase"],
            };
            if change[0] == "pull" {
                let mut args = vec!["pull", "-q"];
                args.extend(&change[1..]);
                if change[1] == "--no-rebase" {
                    args.push("--no-edit");
                }
                if !w.git_out(clone, &args).status.success() {
                    // A pull git could not finish: abort it, as a user would.
                    let _ = w.git_out(clone, &["rebase", "--abort"]);
                    let _ = w.git_out(clone, &["merge", "--abort"]);
                }
            } else {
                // A refusal (a closed ticket, a move the lifecycle forbids)
                // is part of the game.
                let _ = w.tix_in(clone, &at, "Ana <ana@desk.test>", &change);
            }
        }
        for round in 0..2 {
            for clone in clones {
                let at = format!("2025-03-04T0{round}:00:00Z");
                let out = w.tix_in(clone, &at, "Ana <ana@desk.test>", &["sync"]);
                assert!(
                    out.status.success(),
                    "seed {seed}: {clone}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        for id in &ids {
            for clone in clones {
                assert_each_event_once(&w, clone, id);
            }
            assert_eq!(w.ticket("a", id), w.ticket("d", id), "seed {seed}");
        }
    }
}

/// In a shallow clone, `tix log` does not take the boundary commit for the
/// ticket's creation: it lists what the clone holds and says where the
/// history is cut off.
#[test]
fn log_in_a_shallow_clone_says_where_history_is_cut() {
    let w = World::desk("d");
    let id = w.new_ticket("d", T, "Deep");
    for hour in 10..13 {
        w.tix(
            "d",
            &format!("2025-03-03T{hour}:00:00Z"),
            &["note", &id, "-m", "more"],
        );
    }
    let url = format!("file://{}", w.path("d").display());
    w.git("", &["clone", "-q", "--depth", "2", &url, "s"]);
    let out = w.tix_in(
        "s",
        T,
        "Ana <ana@desk.test>",
        &["log", &id, "--format", "json"],
    );
    assert!(out.status.success());
    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["note"],
        "the boundary commit is not the ticket's: {log:#}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("this clone is shallow"), "{stderr}");
    assert!(stderr.contains("git fetch --unshallow"), "{stderr}");
}
