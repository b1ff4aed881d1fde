//! `tix doctor` and what a broken `tix.toml` does to the rest.

use std::process::Output;

use crate::common::{TestEnv, assert_no_panic};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_clean_desk_passes() {
    let env = TestEnv::new();
    let out = env.ok(&["doctor"]);
    assert_eq!(
        out,
        "ok: 0 ticket files and tix.toml checked, no problems\n"
    );
    let id = env.new_ticket_with("Fine", &["--email", "bo@example.com", "-m", "hi"]);
    env.ok(&["reply", &id, "-m", "hello", "--resolve"]);
    env.ok(&["close", &id]);
    env.new_ticket("Also fine");
    let out = env.ok(&["doctor"]);
    assert_eq!(
        out,
        "ok: 2 ticket files and tix.toml checked, no problems\n"
    );
    let report = env.json(&["doctor", "--format", "json"]);
    assert_eq!(report["tickets"], 2);
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[test]
fn invalid_toml_is_reported_with_path_and_line() {
    let env = TestEnv::new();
    env.new_ticket("Good one");
    env.commit_file(
        "tickets/zz/zzzzzz.toml",
        "id = \"zzzzzz\"\nsubject = \"x\"\npriority = \"meh\"\n",
    );
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(report.contains("tickets/zz/zzzzzz.toml:3"), "{report}");
    assert_eq!(report.lines().count(), 1, "only the broken file: {report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 problem"), "{stderr}");
    assert_no_panic(&stderr);
    // The JSON report names the same path and line.
    let out = env.tix(&["doctor", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["problems"][0]["path"], "tickets/zz/zzzzzz.toml");
    assert_eq!(report["problems"][0]["line"], 3);
}

#[test]
fn a_syntax_error_is_reported_with_its_line() {
    let env = TestEnv::new();
    env.commit_file(
        "tickets/zz/zzzzzz.toml",
        "id = \"zzzzzz\"\nsubject = \"x\"\n\n[[event]\nat = 2025-03-03T09:00:00Z\n",
    );
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("tickets/zz/zzzzzz.toml:4"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn an_id_that_differs_from_the_file_name_is_reported() {
    let env = TestEnv::new();
    let id = env.new_ticket("Moved by hand");
    let path = env.ticket_path(&id);
    let wrong = if id.starts_with('z') {
        "yyyyyy"
    } else {
        "zzzzzz"
    };
    let text = env
        .read_ticket_file(&id)
        .replace(&format!("id = \"{id}\""), &format!("id = \"{wrong}\""));
    env.commit_file(&path, &text);
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(report.contains(&format!("{path}:2")), "{report}");
    assert!(report.contains(wrong), "{report}");
    assert!(report.contains("does not match the file name"), "{report}");
}

#[test]
fn a_ticket_in_the_wrong_shard_is_reported() {
    let env = TestEnv::new();
    let id = env.new_ticket("Wrong shard");
    let text = env.read_ticket_file(&id);
    let shard = if id.starts_with("zz") { "yy" } else { "zz" };
    env.git(&["rm", "-q", &env.ticket_path(&id)]);
    env.commit_file(&format!("tickets/{shard}/{id}.toml"), &text);
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(
        report.contains(&format!("tickets/{shard}/{id}.toml")),
        "{report}"
    );
}

#[test]
fn two_files_with_one_id_are_reported_in_order() {
    let env = TestEnv::new();
    let id = env.new_ticket("Copied by hand");
    let text = env.read_ticket_file(&id);
    let shard = if id.starts_with("zz") { "yy" } else { "zz" };
    // The copy sits in the wrong shard and claims the same id; many other
    // files around it keep the reading threads busy.
    for i in 0..80 {
        env.new_ticket(&format!("Filler {i}"));
    }
    let copy = format!("tickets/{shard}/{id}.toml");
    env.commit_file(&copy, &text);
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    let lines: Vec<&str> = report.lines().collect();
    let (first, second) = if copy < env.ticket_path(&id) {
        (copy.clone(), env.ticket_path(&id))
    } else {
        (env.ticket_path(&id), copy.clone())
    };
    assert_eq!(lines.len(), 2, "{report}");
    assert!(
        lines[0].starts_with(&copy) && lines[0].contains("belongs in"),
        "{report}"
    );
    assert!(
        lines[1].starts_with(&format!("{second}:2"))
            && lines[1].contains(&format!("id '{id}' is also used by {first}")),
        "{report}"
    );
}

#[test]
fn an_unknown_status_in_the_event_log_is_reported() {
    let env = TestEnv::new();
    let id = env.new_ticket("Frozen");
    env.ok(&["reply", &id, "-m", "hi"]);
    let path = env.ticket_path(&id);
    let text = env
        .read_ticket_file(&id)
        .replace("to = \"answered\"", "to = \"frozen\"");
    env.commit_file(&path, &text);
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    let line = text
        .lines()
        .position(|l| l == "to = \"frozen\"")
        .map(|i| i + 1)
        .unwrap();
    assert!(
        report.contains(&format!("{path}:{line}: status 'frozen'")),
        "{report}"
    );
    // Changing such a ticket is refused; reading it works.
    env.fail(&["note", &id, "-m", "x"], 1);
    assert_eq!(env.status(&id), "frozen");
}

#[test]
fn a_broken_tix_toml_is_reported_and_every_other_command_refuses() {
    let env = TestEnv::new();
    let id = env.new_ticket("Before the breakage");
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let broken = config.replacen("# name = \"Support\"", "nmae = \"Support\"", 1);
    assert_ne!(broken, config, "the default config has the name example");
    let line = broken
        .lines()
        .position(|l| l.starts_with("nmae"))
        .map(|i| i + 1)
        .unwrap();
    env.commit_file("tix.toml", &broken);
    let head = env.head();

    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(report.contains(&format!("tix.toml:{line}")), "{report}");
    assert!(report.contains("nmae"), "{report}");

    for args in [
        vec!["list"],
        vec!["show", id.as_str()],
        vec!["new", "After"],
        vec!["note", &id, "-m", "x"],
        vec!["reply", &id, "-m", "x"],
        vec!["resolve", &id],
        vec!["log", &id],
    ] {
        let err = env.fail(&args, 1);
        assert!(err.contains("tix.toml"), "{args:?}: {err}");
        assert!(err.contains(&format!("line {line}")), "{args:?}: {err}");
    }
    assert_eq!(env.head(), head);
    // Fixing and committing the file brings the desk back.
    env.commit_file("tix.toml", &config);
    env.ok(&["doctor"]);
    env.ok(&["note", &id, "-m", "works again"]);
}

#[test]
fn an_uncommitted_broken_tix_toml_fails_doctor_but_the_committed_one_rules() {
    let env = TestEnv::new();
    let id = env.new_ticket("Config in flux");
    let committed = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.write("tix.toml", "this is = not toml [\n");
    let out = env.tix(&["doctor"]);
    // Committing this file would break the desk: doctor says so now.
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "tix.toml:1: (uncommitted) key with no value, expected `=`\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tix.toml has uncommitted changes; tix uses the committed version"),
        "{stderr}"
    );
    // Every other command still runs on the committed version.
    env.ok(&["note", &id, "-m", "still fine"]);
    // An uncommitted edit that is valid is only noted.
    env.write(
        "tix.toml",
        &format!("{committed}\n[[department]]\nname = \"billing\"\n"),
    );
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("uncommitted changes"));
    // A bad value in the working copy is named with its line.
    env.write(
        "tix.toml",
        &format!("{committed}\n[[department]]\nname = 7\n"),
    );
    let line = committed.lines().count() + 3;
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        format!(
            "tix.toml:{line}: (uncommitted) [[department]] #1: key 'name': expected a string, found integer 7\n"
        )
    );
}

#[test]
fn a_broken_tix_toml_skips_the_ticket_checks_that_depend_on_it() {
    let env = TestEnv::new();
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let custom = format!(
        "{config}\n[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\n\n[[field]]\nname = \"order\"\ntype = \"number\"\n"
    );
    env.commit_file("tix.toml", &custom);
    let id = env.new_ticket_with("Waiting", &["--field", "order=4"]);
    env.ok(&["status", &id, "vendor"]);
    env.ok(&["doctor"]);
    // Break the committed config: the tickets are not judged by defaults.
    env.commit_file("tix.toml", &format!("{custom}colour = \"red\"\n"));
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert_eq!(
        report.lines().count(),
        1,
        "only the config problem: {report}"
    );
    assert!(report.contains("unknown key `colour`"), "{report}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("checks that depend on it").count(),
        1,
        "said once: {stderr}"
    );
}

#[test]
fn doctor_names_a_git_lock_file_left_behind() {
    let env = TestEnv::new();
    let branch = env.git(&["symbolic-ref", "--short", "HEAD"]);
    let lock = format!(".git/refs/heads/{}.lock", branch.trim());
    env.write(&lock, "");
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&lock), "{text}");
}

/// tix reads committed tickets only: doctor names ticket files that
/// differ from `HEAD` (an uncommitted edit, an untracked file, a conflict)
/// and an unfinished merge, so nothing git holds goes unseen.
#[test]
fn doctor_names_uncommitted_and_conflicted_ticket_files_and_an_unfinished_merge() {
    let env = TestEnv::new();
    let id = env.new_ticket("Edited");
    let path = env.ticket_path(&id);
    let text = env.read_ticket_file(&id);
    env.write(&path, &format!("{text}# a hand edit\n"));
    env.write("tickets/zz/zzzzzz.toml", "not committed");
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains(&format!("{path}: has uncommitted changes")),
        "{report}"
    );
    assert!(
        report.contains("tickets/zz/zzzzzz.toml: not committed"),
        "{report}"
    );
    env.git(&["checkout", "--", &path]);
    std::fs::remove_dir_all(env.path("tickets/zz")).unwrap();
    // A merge whose ticket file conflicts (both sides rewrote it by hand).
    env.git(&["checkout", "-q", "-b", "side"]);
    env.commit_file(&path, &text.replace("Edited", "Side"));
    env.git(&["checkout", "-q", "-"]);
    env.commit_file(&path, &text.replace("Edited", "Main"));
    env.git(&["config", "merge.tix.driver", "false"]);
    let merge = env
        .git_command_in(env.desk(), &["merge", "side"])
        .output()
        .unwrap();
    assert!(!merge.status.success());
    let out = env.tix(&["doctor"]);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("in the middle of a merge"), "{report}");
    assert!(report.contains(&format!("{path}: conflicted")), "{report}");
}
