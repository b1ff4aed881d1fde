//! Concurrent writers and killed writers (docs/storage.md): no change is lost or
//! half-written.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::{TestEnv, bodies};

/// `git fsck --strict` finds nothing wrong (dangling objects from
/// abandoned attempts are not errors).
fn assert_fsck_clean(env: &TestEnv) {
    let out = env
        .git_command_in(env.desk(), &["fsck", "--strict", "--no-dangling"])
        .output()
        .unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "git fsck: {report}");
    assert_eq!(report.trim(), "", "git fsck: {report}");
}

#[test]
fn three_processes_writing_at_once_lose_nothing() {
    let env = TestEnv::new();
    let shared = env.new_ticket("Shared");
    let others: Vec<String> = (0..25)
        .map(|i| env.new_ticket(&format!("Other {i}")))
        .collect();
    let before = env.commits();
    std::thread::scope(|scope| {
        let env = &env;
        let shared = shared.as_str();
        let others = &others;
        let writers = [
            scope.spawn(move || {
                for i in 0..25 {
                    env.ok(&["new", &format!("Concurrent {i}")]);
                }
            }),
            scope.spawn(move || {
                for i in 0..25 {
                    env.ok(&["note", shared, "-m", &format!("shared note {i}")]);
                }
            }),
            scope.spawn(move || {
                for (i, id) in others.iter().enumerate() {
                    env.ok(&["note", id, "-m", &format!("own note {i}")]);
                }
            }),
        ];
        for writer in writers {
            writer.join().unwrap();
        }
    });
    assert_eq!(env.commits(), before + 75);
    let expected: Vec<String> = (0..25).map(|i| format!("shared note {i}")).collect();
    assert_eq!(bodies(&env.show(&shared)), expected);
    for (i, id) in others.iter().enumerate() {
        assert_eq!(bodies(&env.show(id)), [format!("own note {i}")], "{id}");
    }
    let list = env.json(&["list", "--format", "json"]);
    let subjects: BTreeSet<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["subject"].as_str().unwrap().to_owned())
        .filter(|s| s.starts_with("Concurrent "))
        .collect();
    assert_eq!(subjects.len(), 25, "{subjects:?}");
    // Every commit touches one file and has one parent: a straight line.
    let merges = env.git(&["rev-list", "--merges", "--count", "HEAD"]);
    assert_eq!(merges.trim(), "0");
    assert_fsck_clean(&env);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    env.ok(&["doctor"]);
}

#[test]
fn a_writer_killed_at_a_random_moment_leaves_each_note_whole_or_absent() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    let mut rng = fastrand::Rng::new();
    let seed = rng.get_seed();
    let mut succeeded = BTreeSet::new();
    let mut killed = 0;
    for i in 0..30 {
        let body = format!("note {i}");
        let mut child = env.spawn(&["note", &id, "-m", &body]);
        std::thread::sleep(Duration::from_micros(rng.u64(0..30_000)));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if status.success() {
            succeeded.insert(body);
        } else {
            killed += 1;
        }
    }
    let doctor = env.tix(&["doctor"]);
    assert!(
        doctor.status.success(),
        "seed {seed}: {}{}",
        String::from_utf8_lossy(&doctor.stdout),
        String::from_utf8_lossy(&doctor.stderr)
    );
    assert_fsck_clean(&env);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "seed {seed}"
    );
    let notes = bodies(&env.show(&id));
    let unique: BTreeSet<&String> = notes.iter().collect();
    assert_eq!(
        unique.len(),
        notes.len(),
        "seed {seed}: a note twice: {notes:?}"
    );
    for body in &succeeded {
        assert!(
            notes.contains(body),
            "seed {seed}: {body} succeeded but is missing"
        );
    }
    // Exactly one commit per note in the file, and nothing else happened.
    let commits = env.git(&["log", "--format=%H", "--grep", "Tix-Action: note"]);
    assert_eq!(commits.lines().count(), notes.len(), "seed {seed}");
    assert_eq!(env.commits(), 2 + notes.len(), "seed {seed}");
    eprintln!(
        "kill test: seed {seed}, {killed} of 30 did not succeed, {} notes landed",
        notes.len()
    );
}

#[test]
fn the_next_writer_succeeds_after_a_writer_is_killed() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    let mut rng = fastrand::Rng::new();
    let seed = rng.get_seed();
    // Kill within the lifetime of an undisturbed note.
    let start = std::time::Instant::now();
    env.ok(&["note", &id, "-m", "timing"]);
    let life = u64::try_from(start.elapsed().as_micros())
        .unwrap()
        .max(1_000);
    for i in 0..200 {
        let mut child = env.spawn(&["note", &id, "-m", &format!("killed {i}")]);
        std::thread::sleep(Duration::from_micros(rng.u64(0..life)));
        let _ = child.kill();
        let _ = child.wait().unwrap();
        let out = env.tix(&["note", &id, "-m", &format!("after {i}")]);
        let locks: Vec<String> = std::fs::read_dir(env.path(".git/refs/heads"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".lock"))
            .collect();
        assert!(
            out.status.success(),
            "seed {seed}, round {i}: locks left {locks:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    env.ok(&["doctor"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_killed_tix_new_leaves_each_ticket_whole_or_absent() {
    let env = TestEnv::new();
    let mut rng = fastrand::Rng::new();
    let seed = rng.get_seed();
    let mut created = BTreeSet::new();
    for i in 0..20 {
        let mut child = env.spawn(&["new", &format!("Killed {i}")]);
        std::thread::sleep(Duration::from_micros(rng.u64(0..30_000)));
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            let line = String::from_utf8(out.stdout).unwrap();
            created.insert(line.trim().trim_start_matches("Created ticket ").to_owned());
        }
    }
    let doctor = env.tix(&["doctor"]);
    assert!(doctor.status.success(), "seed {seed}");
    assert_fsck_clean(&env);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "seed {seed}"
    );
    let listed = crate::common::ids_of(&env.json(&["list", "--format", "json"]));
    for id in &created {
        assert!(
            listed.contains(id),
            "seed {seed}: {id} succeeded but is missing"
        );
    }
    let commits = env.git(&["log", "--format=%H", "--grep", "Tix-Action: new"]);
    assert_eq!(commits.lines().count(), listed.len(), "seed {seed}");
    assert_eq!(
        env.git(&["ls-files", "tickets"]).lines().count(),
        listed.len() + 1,
        "seed {seed}: the index holds every ticket and the keep file"
    );
}

/// A batch killed after it moved the branch but before it refreshed the
/// index leaves every closed ticket staged as a revert; the next tix
/// command of any kind (a listing here) finishes the refresh from the
/// journal, so the user's next `git commit` cannot undo the run.
#[test]
fn a_batch_killed_before_its_refresh_is_healed_by_the_next_command_of_any_kind() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..5).map(|i| env.new_ticket(&format!("t{i}"))).collect();
    for id in &ids {
        env.ok(&["resolve", id]);
    }
    let before = env.head();
    env.at("2099-01-01T00:00:00Z");
    env.ok(&["autoclose"]);
    // What a kill between the ref update and the index's rename leaves:
    // HEAD closed them, the index and the files still hold the resolved
    // versions, and the journal names them with their old blobs.
    let paths: Vec<String> = ids.iter().map(|id| env.ticket_path(id)).collect();
    let mut journal = String::new();
    for path in &paths {
        let old = env.git(&["rev-parse", &format!("{}:{path}", before.trim())]);
        journal.push_str(&format!("{}\t{path}\n", old.trim()));
    }
    let mut checkout = vec!["checkout", before.trim(), "--"];
    checkout.extend(paths.iter().map(String::as_str));
    env.git(&checkout);
    assert_eq!(
        env.git(&["diff", "--cached", "--name-only"])
            .lines()
            .count(),
        5
    );
    std::fs::write(env.path(".git/tix/journal"), journal).unwrap();
    // A read-only command heals it.
    env.ok(&["list", "--all"]);
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "",
        "index and files are HEAD's"
    );
    assert!(!env.path(".git/tix/journal").exists());
    for id in &ids {
        assert_eq!(env.status(id), "closed");
    }
    // The user's next commit has nothing of tix's to undo.
    assert_eq!(env.git(&["diff", "--cached", "--name-only"]), "");
}

/// An import killed at a random moment leaves the desk as it was or with
/// whole tickets (one commit each); running it again completes it, each
/// ticket once.
#[test]
fn a_killed_import_leaves_whole_tickets_and_a_rerun_completes_it() {
    let env = TestEnv::new();
    let export = env.home().join("export.jsonl");
    let mut text = String::new();
    for n in 1..=300 {
        text.push_str(&format!(
            concat!(
                r#"{{"id": {n}, "subject": "Imported {n}", "status": "open", "requester_id": 1, "#,
                r#""created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-02T00:00:00Z", "#,
                r#""comments": [{{"author_id": 1, "body": "Question {n}", "created_at": "2024-01-01T00:00:00Z"}}, "#,
                r#"{{"author_id": 2, "body": "Answer {n}", "created_at": "2024-01-02T00:00:00Z"}}]}}"#,
                "\n"
            ),
            n = n
        ));
    }
    text.push_str(
        r#"{"users": [{"id": 1, "name": "Bo", "email": "bo@ex.com", "role": "end-user"}, {"id": 2, "name": "Ana", "email": "ana@desk.example", "role": "agent"}]}"#,
    );
    text.push('\n');
    std::fs::write(&export, text).unwrap();
    let file = export.to_str().unwrap();
    let mut rng = fastrand::Rng::new();
    let seed = rng.get_seed();
    for _ in 0..6 {
        let mut child = env.spawn(&["import", "zendesk", file]);
        std::thread::sleep(Duration::from_micros(rng.u64(0..400_000)));
        let _ = child.kill();
        let _ = child.wait();
        let doctor = env.tix(&["doctor"]);
        assert!(doctor.status.success(), "seed {seed}");
        assert_fsck_clean(&env);
        assert_eq!(
            env.git(&["status", "--porcelain", "--untracked-files=all"]),
            "",
            "seed {seed}"
        );
        // Every ticket there is whole: both messages, its own commit.
        let listed = env.json(&["list", "--all", "--format", "json"]);
        let ids = crate::common::ids_of(&listed);
        for id in &ids {
            assert_eq!(bodies(&env.show(id)).len(), 2, "seed {seed}: {id}");
        }
        assert_eq!(env.commits(), 1 + ids.len(), "seed {seed}");
    }
    env.ok(&["import", "zendesk", file]);
    let listed = env.json(&["list", "--all", "--format", "json"]);
    let ids = crate::common::ids_of(&listed);
    assert_eq!(ids.len(), 300, "seed {seed}");
    assert_eq!(env.commits(), 301, "seed {seed}");
    let again = env.ok(&["import", "zendesk", file]);
    assert!(again.contains("0 new, 0 updated, 300 unchanged"), "{again}");
}
