//! The user's working tree and index are safe (docs/storage.md).

use crate::common::TestEnv;

#[test]
fn the_users_staged_and_unstaged_work_survives_a_change() {
    let env = TestEnv::new();
    let id = env.new_ticket("Printer on fire");
    let other = env.new_ticket("Another ticket");
    env.commit_file("notes.md", "one\n");
    // Staged: a new file, and an edit of another ticket's file.
    env.write("staged.txt", "staged\n");
    env.git(&["add", "staged.txt"]);
    let other_path = env.ticket_path(&other);
    let edited_other = env.read_ticket_file(&other) + "# a staged comment\n";
    env.write(&other_path, &edited_other);
    env.git(&["add", &other_path]);
    // Unstaged: an edit of a tracked file; and an untracked file.
    env.write("notes.md", "one\ntwo\n");
    env.write("scratch.txt", "loose\n");
    let diff = env.git(&["diff"]);
    let cached = env.git(&["diff", "--cached"]);

    env.ok(&["reply", &id, "-m", "Unplug it"]);
    env.ok(&["note", &id, "-m", "and again"]);
    env.new_ticket("A third one");

    assert_eq!(env.git(&["diff"]), diff, "unstaged work");
    assert_eq!(env.git(&["diff", "--cached"]), cached, "staged work");
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        format!(" M notes.md\nA  staged.txt\nM  {other_path}\n?? scratch.txt\n")
    );
    // None of it went into tix's commits.
    let touched = env.git(&["log", "-3", "--name-only", "--format="]);
    assert!(!touched.contains("staged.txt"), "{touched}");
    assert!(!touched.contains("notes.md"), "{touched}");
    assert!(!touched.contains(&other_path), "{touched}");
    assert_eq!(
        std::fs::read_to_string(env.path("scratch.txt")).unwrap(),
        "loose\n"
    );
    // The user commits their own work as usual.
    env.git(&["commit", "-q", "-m", "my work"]);
    assert_eq!(
        env.git(&["show", "--name-only", "--format=", "HEAD"]),
        format!("staged.txt\n{other_path}\n")
    );
}

#[test]
fn after_a_change_the_working_tree_and_index_hold_the_new_content() {
    let env = TestEnv::new();
    let id = env.new_ticket("Printer on fire");
    let path = env.ticket_path(&id);
    env.ok(&["reply", &id, "-m", "Unplug it"]);
    assert_eq!(env.git(&["status", "--porcelain", "--", &path]), "");
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
    assert_eq!(
        env.read_ticket_file(&id),
        env.git(&["show", &format!("HEAD:{path}")])
    );
    assert!(env.read_ticket_file(&id).contains("Unplug it"));
    // git agrees the index entry is fresh (no racy-clean rewrite needed).
    env.git(&["update-index", "--refresh"]);
    assert_eq!(env.git(&["diff-index", "HEAD"]), "");
}

#[test]
fn an_uncommitted_hand_edit_blocks_changes_and_is_kept() {
    let env = TestEnv::new();
    let id = env.new_ticket("Printer on fire");
    let path = env.ticket_path(&id);
    let edited = env.read_ticket_file(&id).replace(
        "subject = \"Printer on fire\"",
        "subject = \"Printer on FIRE\"",
    );
    env.write(&path, &edited);
    let head = env.head();
    for args in [
        vec!["reply", id.as_str(), "-m", "x"],
        vec!["note", &id, "-m", "x"],
        vec!["resolve", &id],
        vec!["edit", &id, "--priority", "high"],
    ] {
        let err = env.fail(&args, 1);
        assert!(err.contains("uncommitted changes"), "{err}");
        assert!(err.contains(&path), "{err}");
    }
    assert_eq!(env.head(), head);
    assert_eq!(env.read_ticket_file(&id), edited, "the edit is kept");
    // Reading still works, from the committed version.
    assert_eq!(env.show(&id)["subject"], "Printer on fire");
    // A staged-only edit blocks too.
    env.git(&["add", &path]);
    env.git(&["checkout", "HEAD", "--", &path]);
    env.git(&["add", &path]);
    env.write(&path, &edited);
    env.git(&["add", &path]);
    let restored = env.git(&["show", &format!("HEAD:{path}")]);
    env.write(&path, &restored);
    assert_eq!(env.git(&["status", "--porcelain"]), format!("MM {path}\n"));
    let err = env.fail(&["note", &id, "-m", "x"], 1);
    assert!(err.contains("uncommitted changes"), "{err}");
    assert_eq!(env.head(), head);
    // A deleted ticket file blocks as well.
    env.git(&["reset", "-q", "--", &path]);
    std::fs::remove_file(env.path(&path)).unwrap();
    let err = env.fail(&["note", &id, "-m", "x"], 1);
    assert!(err.contains("uncommitted changes"), "{err}");
    assert!(!env.path(&path).exists());
    assert_eq!(env.head(), head);
}

#[test]
fn a_committed_hand_edit_is_read_and_changed_further() {
    let env = TestEnv::new();
    let id = env.new_ticket("Printer on fire");
    let path = env.ticket_path(&id);
    let edited = env
        .read_ticket_file(&id)
        .replace(
            "subject = \"Printer on fire\"",
            "subject = \"Printer on FIRE\"",
        )
        .replace("priority = \"normal\"", "priority = \"urgent\"");
    env.commit_file(&path, &edited);
    let t = env.show(&id);
    assert_eq!(t["subject"], "Printer on FIRE");
    assert_eq!(t["priority"], "urgent");
    let page = env.ok(&["show", &id]);
    assert!(page.contains("Printer on FIRE"), "{page}");
    let listed = env.ok(&["list", "--priority", "urgent", "--format", "csv"]);
    assert!(listed.contains(&id), "{listed}");
    env.ok(&["reply", &id, "-m", "On it"]);
    let file = env.read_ticket_file(&id);
    assert!(file.contains("subject = \"Printer on FIRE\""), "{file}");
    assert!(file.contains("On it"), "{file}");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_change_during_a_merge_in_progress_is_refused() {
    let env = TestEnv::new();
    let id = env.new_ticket("Printer on fire");
    env.git(&["checkout", "-q", "-b", "side"]);
    env.commit_file("notes.md", "side\n");
    env.git(&["checkout", "-q", "-"]);
    env.commit_file("notes.md", "main\n");
    let out = env
        .git_command_in(env.desk(), &["merge", "side"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the merge conflicts");
    let head = env.head();
    let err = env.fail(&["note", &id, "-m", "x"], 1);
    assert!(err.contains("merge"), "{err}");
    assert_eq!(env.head(), head);
}

#[test]
fn changes_work_with_a_split_index_and_still_see_hand_edits() {
    // libgit2 cannot read a split index and its small `.git/index` holds
    // only some entries: tix must neither misread it nor refuse to work.
    let env = TestEnv::new();
    let id = env.new_ticket("Split");
    // git itself misreads a split index without checksums (which `tix
    // init --many-files` turns off): `tix doctor` says so.
    env.git(&["config", "index.skipHash", "true"]);
    env.git(&["config", "core.splitIndex", "true"]);
    let doctor = env.tix(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        report.contains(".git/index: git writes this index split"),
        "{report}"
    );
    env.git(&["config", "index.skipHash", "false"]);
    env.git(&["update-index", "--split-index"]);
    let before = env.commits();
    env.ok(&["note", &id, "-m", "one"]);
    env.ok(&["new", "Another"]);
    env.ok(&["resolve", &id]);
    assert_eq!(env.commits(), before + 3);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    // A batch reads the whole index once.
    let other = env.new_ticket("Batch");
    env.ok(&["resolve", &other]);
    env.at("2099-01-01T00:00:00Z");
    env.ok(&["autoclose"]);
    assert_eq!(env.status(&id), "closed");
    assert_eq!(env.status(&other), "closed");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    let before = env.commits();
    let path = env.ticket_path(&id);
    let text = std::fs::read_to_string(env.path(&path)).unwrap();
    env.write(&path, &format!("{text}# a hand edit\n"));
    let err = env.fail(&["note", &id, "-m", "two"], 1);
    assert!(err.contains("uncommitted changes"), "{err}");
    assert_eq!(env.commits(), before);
}

#[test]
fn changes_keep_an_index_of_version_4_whole() {
    // `feature.manyFiles` makes git write index v4, whose paths are
    // stored against the previous entry's: an edit must re-encode them.
    let env = TestEnv::new();
    let first = env.new_ticket("First");
    env.git(&["update-index", "--index-version", "4"]);
    let mut ids = vec![first.clone()];
    for subject in ["Second", "Third", "Fourth"] {
        ids.push(env.new_ticket(subject));
    }
    env.ok(&["note", &first, "-m", "noted"]);
    for id in &ids[1..] {
        env.ok(&["resolve", id]);
    }
    env.at("2099-01-01T00:00:00Z");
    env.ok(&["autoclose"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    assert_eq!(env.git(&["diff", "--cached", "--stat"]), "");
    let index = std::fs::read(env.path(".git/index")).unwrap();
    assert_eq!(&index[4..8], &[0, 0, 0, 4], "still version 4");
    let staged = env.git(&["ls-files", "--stage"]);
    for id in &ids {
        let blob = env.git(&["rev-parse", &format!("HEAD:{}", env.ticket_path(id))]);
        assert!(
            staged.contains(blob.trim()),
            "{id} staged as committed:\n{staged}"
        );
    }
    env.git(&["fsck", "--no-progress"]);
}

#[test]
fn a_lock_file_left_by_git_refuses_the_change_before_it_commits() {
    let env = TestEnv::new();
    let id = env.new_ticket("Locked");
    let head = env.head();
    env.write(".git/index.lock", "");
    let err = env.fail(&["note", &id, "-m", "x"], 3);
    assert!(err.contains(".git/index.lock exists"), "{err}");
    assert_eq!(env.head(), head, "nothing committed");
    std::fs::remove_file(env.path(".git/index.lock")).unwrap();
    env.ok(&["note", &id, "-m", "x"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn doctor_tells_a_split_index_from_a_shared_index_file_left_behind() {
    // The checksum turned off (as `tix init --many-files` does) and the
    // index split by hand, without core.splitIndex: the pair git misreads.
    let env = TestEnv::new();
    env.git(&["config", "index.skipHash", "true"]);
    env.git(&["update-index", "--split-index"]);
    let doctor = env.tix(&["doctor"]);
    assert_eq!(doctor.status.code(), Some(1));
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert!(report.contains("git writes this index split"), "{report}");
    // Unsplit, git keeps the shared index file for a while: no clash.
    env.git(&["update-index", "--no-split-index"]);
    env.ok(&["doctor"]);
}

/// In a sparse checkout, a ticket outside the cone is refused with the
/// true reason (not "uncommitted changes" on a clean tree), and one inside
/// it changes as anywhere.
#[test]
fn a_ticket_outside_a_sparse_checkout_is_refused_for_that_reason() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..6).map(|i| env.new_ticket(&format!("t{i}"))).collect();
    let inside = &ids[0];
    let outside = ids
        .iter()
        .find(|id| id[..2] != inside[..2])
        .expect("two shards among six tickets");
    let cone = format!("/tickets/{}/", &inside[..2]);
    env.git(&[
        "sparse-checkout",
        "set",
        "--no-cone",
        "/tix.toml",
        "/.gitattributes",
        &cone,
    ]);
    assert!(!env.path(&env.ticket_path(outside)).exists());
    let head = env.head();
    let err = env.fail(&["note", outside, "-m", "x"], 1);
    assert!(err.contains("outside this sparse checkout"), "{err}");
    assert!(err.contains("git sparse-checkout add"), "{err}");
    assert_eq!(env.head(), head);
    env.ok(&["note", inside, "-m", "inside the cone"]);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}
