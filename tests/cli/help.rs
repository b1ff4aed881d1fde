//! Every command's help, as a newcomer reads it: snapshots of `tix
//! COMMAND --help` for each command and subcommand, so a change of any
//! help text shows in review.

use crate::common::TestEnv;

/// Each command path of the command line (`["list"]`, `["hooks",
/// "allow"]`), hidden ones left out.
fn command_paths(command: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in command.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        out.push(path.clone());
        command_paths(sub, &path, out);
    }
}

#[test]
fn every_command_has_its_help_snapshotted() {
    let env = TestEnv::empty();
    let mut paths = Vec::new();
    command_paths(&tix::cli::command(), &[], &mut paths);
    assert!(paths.len() > 30, "{paths:?}");
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("snapshots/help");
    let _guard = settings.bind_to_scope();
    let top = env.ok(&["--help"]);
    insta::assert_snapshot!("tix", top);
    for path in &paths {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = env.ok(&args);
        // Examples keep their lines.
        assert!(!help.contains("Examples: tix"), "{path:?}: {help}");
        insta::assert_snapshot!(path.join("-"), help);
    }
}

#[test]
fn formats_a_command_cannot_print_are_refused_with_the_ones_it_can() {
    let env = TestEnv::new();
    let err = env.fail(&["list", "--format", "toml"], 2);
    assert!(err.contains("[possible values: table, json, csv]"), "{err}");
    let err = env.fail(&["note", "x", "--format", "csv"], 2);
    assert!(err.contains("[possible values: table, json]"), "{err}");
    let help = env.ok(&["queue", "--help"]);
    assert!(help.contains("Global options:"), "{help}");
    assert!(!help.contains("- toml"), "{help}");
}

#[test]
fn every_listing_prints_csv_with_formulas_defused() {
    let env = TestEnv::new();
    let id = env.new_ticket("=HYPERLINK(\"http://x\")");
    let queue = env.ok(&["queue", "--format", "csv"]);
    let mut lines = queue.lines();
    assert_eq!(
        lines.next(),
        Some("rank,id,status,priority,due,breached,assignee,department,subject")
    );
    let row = lines.find(|l| l.contains(&id)).unwrap_or_default();
    assert!(
        row.ends_with(",\"'=HYPERLINK(\"\"http://x\"\")\""),
        "{queue}"
    );
    let sla = env.ok(&["sla", "--format", "csv"]);
    assert!(
        sla.starts_with("id,policy,target,status,due,seconds_left\n"),
        "{sla}"
    );
    let outbox = env.ok(&["outbox", "--format", "csv"]);
    assert_eq!(
        outbox,
        "ticket,state,to,message_id,attempts,error,next_try\n"
    );
    let list = env.ok(&["list", "--format", "csv"]);
    assert!(list.contains("\"'=HYPERLINK("), "{list}");
}
