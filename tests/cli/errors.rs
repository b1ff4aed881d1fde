//! Errors: one line on stderr, exit 1 for a refusal and 2 for
//! usage, nothing on stdout, never a panic, nothing written.

use crate::common::{TestEnv, assert_no_panic};

#[test]
fn bad_input_never_panics_and_keeps_stdout_empty() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    let head = env.head();
    for (args, code) in [
        (vec!["show", ""], 1),
        (vec!["show", "#"], 1),
        (vec!["show", "../../x"], 1),
        (vec!["new", ""], 1),
        (vec!["new", "\n"], 1),
        (vec!["note", &id, "-m", ""], 1),
        (vec!["note", &id, "-m", "   \n"], 1),
        (vec!["reply", &id, "-m", ""], 1),
        (vec!["note", &id, "-m", "-"], 1), // empty stdin
        (vec!["resolve", "zzzzzz"], 1),
        (vec!["log", "../x"], 1),
        (vec!["new", "x", "--field", "=v"], 2),
        (vec!["new", "x", "--field", "novalue"], 2),
        (vec!["list", "--created-after", ""], 2),
    ] {
        let out = env.tix(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_no_panic(&stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    assert_eq!(env.head(), head);
}

#[test]
fn a_garbage_tix_now_is_a_one_line_usage_error() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    let head = env.head();
    for args in [
        vec!["list"],
        vec!["show", id.as_str()],
        vec!["new", "x"],
        vec!["note", &id, "-m", "x"],
    ] {
        let out = env
            .command(&args)
            .env("TIX_NOW", "garbage")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: TIX_NOW"), "{stderr}");
        assert!(stderr.contains("garbage"), "{stderr}");
    }
    assert_eq!(env.head(), head);
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    let head = env.head();
    for args in [
        vec!["frobnicate"],
        vec!["show"],
        vec!["reply"],
        vec!["reply", &id], // no -m, and stdin is no terminal
        vec!["note", &id],
        vec!["reply", &id, "-m", "x", "--resolve", "--customer"],
        vec!["list", "--format", "yaml"],
        vec!["list", "--sort", "nonsense"],
        vec!["list", "--limit", "many"],
        vec!["list", "--me", "--assignee", "raj"],
        vec!["new", "x", "--priority", "meh"],
        vec!["close", &id, "--force"],
        vec!["postpone", &id, "--until", "someday"],
        vec!["new", "x", "--format", "csv"],
        vec!["note", &id, "-m", "x", "--format", "toml"],
        vec!["--color", "sometimes", "list"],
        vec!["completions", "tcsh"],
        vec!["list", "--no-such-flag"],
    ] {
        let err = env.fail(&args, 2);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
    }
    assert_eq!(env.head(), head);
    // No command at all: the usage, on stderr.
    let err = env.fail(&[] as &[&str], 2);
    assert!(err.contains("Usage: tix"), "{err}");
}

#[test]
fn refusals_say_what_to_do_in_one_line() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    for args in [vec!["close", id.as_str()], vec!["show", "zzzzzz"]] {
        let err = env.fail(&args, 1);
        let first = err.lines().next().unwrap();
        assert!(first.starts_with("error: "), "{err}");
        // Further lines are hints only.
        for line in err.lines().skip(1) {
            assert!(line.starts_with("hint: "), "{args:?}: {err}");
        }
    }
}
