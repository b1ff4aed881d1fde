//! Help and shell completions.

use predicates::prelude::*;

use crate::common::TestEnv;

const COMMANDS: [&str; 24] = [
    "init",
    "new",
    "show",
    "list",
    "log",
    "reply",
    "note",
    "open",
    "postpone",
    "resolve",
    "status",
    "close",
    "reopen",
    "assign",
    "edit",
    "queue",
    "next",
    "sla",
    "autoclose",
    "automate",
    "sync",
    "doctor",
    "import",
    "completions",
];

#[test]
fn help_lists_every_command_and_the_global_flags() {
    let env = TestEnv::empty();
    let help = env.ok(&["--help"]);
    // The commands come in groups, each under its title, before the
    // global options.
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Everyday:"))
        .take_while(|l| !l.starts_with("Global options:"))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for title in [
        "Everyday:",
        "Queue and targets:",
        "Mail:",
        "Reports and data:",
        "Automation:",
        "The desk:",
        "Plumbing:",
    ] {
        assert!(help.contains(&format!("\n{title}\n")), "{title}: {help}");
    }
    for command in COMMANDS {
        assert!(
            listed.contains(&command),
            "{command} missing from {listed:?}"
        );
    }
    for flag in ["-C <DIR>", "--as <AGENT>", "--format", "--color"] {
        assert!(help.contains(flag), "{flag}: {help}");
    }
    // `tix help` and `-h` work too.
    assert!(env.ok(&["help"]).contains("Everyday:"));
    assert!(env.ok(&["-h"]).contains("Everyday:"));
    assert!(
        env.ok(&["help", "list"])
            .contains("Examples:\n  tix list --pending\n")
    );
}

#[test]
fn every_command_has_help_with_its_flags() {
    let env = TestEnv::empty();
    for command in COMMANDS {
        let help = env.ok(&[command, "--help"]);
        assert!(help.contains("Usage: tix"), "{command}: {help}");
    }
    let reply = env.ok(&["reply", "--help"]);
    for flag in ["--customer", "--resolve", "-m"] {
        assert!(reply.contains(flag), "{flag}: {reply}");
    }
    let new = env.ok(&["help", "new"]);
    for flag in [
        "--customer",
        "--email",
        "--phone",
        "--priority",
        "--department",
        "--assign",
        "--tag",
        "--field",
        "--follow-up",
    ] {
        assert!(new.contains(flag), "{flag}: {new}");
    }
    let close = env.ok(&["close", "--help"]);
    assert!(
        close.contains("--force") && close.contains("--reason"),
        "{close}"
    );
    let postpone = env.ok(&["postpone", "--help"]);
    assert!(postpone.contains("--until"), "{postpone}");
}

#[test]
fn version_is_printed() {
    let env = TestEnv::empty();
    env.assert_cmd(&["--version"]).assert().success().stdout(
        predicate::str::starts_with("tix ")
            .and(predicate::str::contains(env!("CARGO_PKG_VERSION"))),
    );
}

#[test]
fn completions_print_a_script_for_each_shell() {
    let env = TestEnv::empty();
    env.assert_cmd(&["completions", "bash"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty())
        .stdout(
            predicate::str::contains("_tix()")
                .and(predicate::str::contains("complete -F _tix"))
                .and(predicate::str::contains("postpone"))
                .and(predicate::str::contains("--follow-up")),
        );
    for (shell, marker) in [
        ("zsh", "#compdef tix"),
        ("fish", "complete -c tix"),
        ("elvish", "tix"),
        ("powershell", "tix"),
    ] {
        let script = env.ok(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
    }
    // The bash script is valid bash.
    let script = env.ok(&["completions", "bash"]);
    let path = env.home().join("tix.bash");
    std::fs::write(&path, script).unwrap();
    let status = std::process::Command::new("bash")
        .arg("-n")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn no_color_keeps_output_plain_and_color_always_paints() {
    let env = TestEnv::new();
    let id = env.new_ticket_with("Colourful", &["--priority", "urgent"]);
    let plain = env.ok(&["list"]);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    let painted = env.ok(&["--color", "always", "list"]);
    assert!(painted.contains('\u{1b}'), "{painted}");
    let never = env
        .command(&["--color", "never", "show", &id])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&never.stdout).contains('\u{1b}'));
}

#[test]
fn the_shell_completes_ids_with_subjects_and_the_desks_names() {
    let env = TestEnv::new();
    let id = env.new_ticket("Printer on fire");
    let complete = |words: &[&str]| {
        let mut args = vec!["--", "tix"];
        args.extend_from_slice(words);
        let out = env.command(&args).env("COMPLETE", "fish").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let ids = complete(&["show", ""]);
    assert!(ids.contains(&format!("{id}\tPrinter on fire\n")), "{ids}");
    let statuses = complete(&["list", "--status", ""]);
    assert!(statuses.contains("resolved\tsolved\n"), "{statuses}");
    let agents = complete(&["assign", &id, ""]);
    assert!(agents.contains("me\tyourself\n"), "{agents}");
    // Outside a desk there is nothing to offer, and nothing fails.
    let out = env
        .command_in(env.home(), &["--", "tix", "show", ""])
        .env("COMPLETE", "fish")
        .output()
        .unwrap();
    assert!(out.status.success());
    // The registration script for the shell.
    let script = env
        .command(&[] as &[&str])
        .env("COMPLETE", "bash")
        .output()
        .unwrap();
    assert!(
        String::from_utf8(script.stdout)
            .unwrap()
            .contains("complete ")
    );
}

#[test]
fn tix_man_prints_the_page_and_installs_it_where_asked() {
    let env = TestEnv::empty();
    let page = env.ok(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH tix 1"),
        "{page}"
    );
    let dir = env.path("share/man");
    let dir_text = dir.to_str().unwrap().to_owned();
    let out = env.ok(&["man", "--install", &dir_text]);
    assert!(out.is_empty(), "{out}");
    let installed = std::fs::read_to_string(dir.join("man1/tix.1")).unwrap();
    assert_eq!(installed, page);
}
