//! Hostile input: arguments, ticket text and files from other clones.
//! Nothing panics or exits 255, a refusal writes nothing, text from
//! tickets reaches a terminal defused, and only tix writes trailers.

use crate::common::{TestEnv, assert_no_panic};

/// Values an attacker or a slip of the keyboard gives an argument.
fn hostile_values() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        "-".into(),
        "\u{1b}[31mred\u{1b}[0m".into(),
        "two\nlines".into(),
        "\u{202e}txt.exe".into(),
        "../../../etc/passwd".into(),
        "999999999999d".into(),
        "-999999999999d".into(),
        "99999999999999999999999".into(),
        "#".into(),
        "%s%n{}".into(),
        "x".repeat(20_000),
        "é=ü".into(),
        "Bob".into(),
    ]
}

/// Every command and option that takes a value, `{}` standing for the
/// hostile value and `ID` for a real ticket.
const TEMPLATES: &[&str] = &[
    "new {}",
    "new x --email {}",
    "new x --customer {}",
    "new x --phone {}",
    "new x --priority {}",
    "new x --department {}",
    "new x --assign {}",
    "new x --tag {}",
    "new x --field {}",
    "new x --follow-up {}",
    "new x -m {}",
    "show {}",
    "show ID --format {}",
    "list --status {}",
    "list --category {}",
    "list --priority {}",
    "list --assignee {}",
    "list --tag {}",
    "list --customer {}",
    "list --field {}",
    "list --search {}",
    "list --created-after {}",
    "list --updated-before {}",
    "list --sort {}",
    "list --limit {}",
    "log {}",
    "reply {} -m x",
    "reply ID -m {}",
    "reply ID --customer -m {}",
    "note ID -m {}",
    "open {}",
    "postpone ID --until {}",
    "resolve ID -m {}",
    "status ID {}",
    "close ID --force --reason {}",
    "reopen ID -m {}",
    "assign ID {}",
    "assign ID --department {}",
    "edit ID --subject {}",
    "edit ID --priority {}",
    "edit ID --tag {}",
    "edit ID --field {}",
    "edit ID --customer {}",
    "edit ID --email {}",
    "edit ID --phone {}",
    "queue --agent {}",
    "queue --department {}",
    "queue --limit {}",
    "next --agent {}",
    "next --take --agent {}",
    "sla {}",
    "sla --at-risk {}",
    "hooks {}",
    "ingest {}",
    "ingest --maildir {}",
    "ingest --mbox {}",
    "outbox {}",
    "reply ID -m x --attach {}",
    "reply ID --template {}",
    "note ID --template {}",
    "macro {} ID",
    "macro {} ID --dry-run",
    "macro hello {}",
    "completions {}",
    "import zendesk {}",
    "import zendesk x --field-map {}",
    "import liveagent x --timezone {}",
    "import csv x --map {}",
    "import csv x --map id=a,created=b --source {}",
    "--as {} note ID -m x",
    "-C {} list",
    "--format {} list",
    "--color {} list",
];

/// Mail is text from strangers: every hostile value as a subject, a
/// sender's name, a body, an attachment's name and a Message-ID is taken
/// or refused cleanly, and nothing is left uncommitted.
#[test]
fn hostile_mail_is_taken_or_refused_cleanly() {
    let env = TestEnv::new();
    // Triggers read every subject and body: their patterns meet it all.
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!(
            "{config}\n[[trigger]]\nname = \"mark\"\non = [\"mail_received\", \"created\"]\n\
             when = {{ any = [{{ subject_matches = \"(?i)(red|txt|passwd)\" }}, {{ body_matches = \"\\\\p{{L}}+=\" }}] }}\n\
             do = {{ add_tags = [\"marked\"] }}\n"
        ),
    );
    for (n, value) in hostile_values().iter().enumerate() {
        let line: String = value.chars().filter(|c| *c != '\n' && *c != '\r').collect();
        let mail = format!(
            "From: \"{line}\" <c{n}@example.com>\r\nTo: support@example.com\r\n\
             Subject: {line}\r\nMessage-ID: <{line}.{n}@x>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{value}\r\n--b\r\n\
             Content-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"{line}\"\r\n\r\nbytes\r\n--b--\r\n"
        );
        let mut cmd = env.command(&["ingest"]);
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(mail.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_no_panic(&stderr);
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "mail with {:?}: {out:?}",
            value.chars().take(40).collect::<String>()
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'),
            "raw escapes on stdout: {stdout:?}"
        );
    }
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "nothing left uncommitted"
    );
    let list = env.ok(&["list"]);
    assert!(
        !list.contains('\u{1b}') && !list.contains('\u{202e}'),
        "{list:?}"
    );
    let marked = env.json(&["list", "--tag", "marked", "--format", "json"]);
    assert!(
        marked.as_array().is_some_and(|a| a.len() >= 3),
        "the trigger read the hostile subjects and bodies: {marked}"
    );
}

/// Drives every command with every hostile value: the exit code is 0, 1
/// or 2, stderr shows no panic, and a refusal leaves `HEAD` where it was.
#[test]
fn every_command_survives_a_corpus_of_hostile_arguments() {
    let env = TestEnv::new();
    env.ok(&["edit", "--help"]);
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!("{config}\n[[field]]\nname = \"qty\"\ntype = \"number\"\n"),
    );
    env.commit_file("templates/hello.txt", "Hello {{ customer.name }}");
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!("{config}\n[[macro]]\nname = \"hello\"\ntemplate = \"hello\"\n"),
    );
    let id = env.new_ticket_with("Target", &["--email", "bo@example.com", "-m", "Hi"]);
    let values = hostile_values();
    let mut runs = 0;
    for template in TEMPLATES {
        for value in &values {
            let args: Vec<String> = template
                .split(' ')
                .map(|word| match word {
                    "{}" => value.clone(),
                    "ID" => id.clone(),
                    other => other.to_owned(),
                })
                .collect();
            let head = env.head();
            let out = env.tix(&args);
            runs += 1;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_no_panic(&stderr);
            let code = out.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "tix {template} with {:?}: exit {code:?}: {stderr}",
                value.chars().take(40).collect::<String>()
            );
            if code != Some(0) {
                assert_eq!(env.head(), head, "a refused {template} wrote a commit");
                assert_eq!(
                    stderr.lines().filter(|l| l.starts_with("error:")).count(),
                    1
                );
            }
        }
    }
    assert_eq!(runs, TEMPLATES.len() * values.len());
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "",
        "nothing left uncommitted"
    );
}

/// Invalid UTF-8 on standard input, a duration past the year 9999 and a
/// number too large to keep exactly are each refused in one line.
#[test]
fn inputs_that_used_to_panic_or_exit_255_are_refused() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!("{config}\n[[field]]\nname = \"qty\"\ntype = \"number\"\n"),
    );
    let head = env.head();
    let mut cmd = env.command(&["note", &id, "-m", "-"]);
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\xff\xfe bad")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
    for (args, says) in [
        (
            vec!["postpone", &id, "--until", "999999999999d"],
            "year 9999",
        ),
        (
            vec!["postpone", &id, "--until", "9999999999999999999d"],
            "invalid time",
        ),
        (
            vec!["edit", &id, "--field", "qty=99999999999999999999999"],
            "whole number",
        ),
        (
            vec!["edit", &id, "--tag", "+x", "--tag", "-x"],
            "both added",
        ),
        (vec!["--as", "Bob", "note", &id, "-m", "x"], "Name <email>"),
        (
            vec!["new", "x", "--email", "not-an-email"],
            "not a mail address",
        ),
        (
            vec!["new", "x", "--email", "a@b.example\nBcc: all@b.example"],
            "one line",
        ),
        (
            vec!["new", "x", "--customer", "Bo\r\nX-Header: 1"],
            "one line",
        ),
    ] {
        let out = env.tix(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(env.head(), head);
    // A full disk and a closed pipe: no panic, no 255.
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
    if let Ok(full) = full {
        let out = env
            .command(&["completions", "bash"])
            .stdout(full)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert_no_panic(&String::from_utf8_lossy(&out.stderr));
    }
    let mut child = env
        .command(&["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "a closed pipe exits quietly");
    assert_no_panic(&String::from_utf8_lossy(&out.stderr));
}

/// Escape codes and bidirectional overrides in a ticket reach the terminal
/// as `�` in every human output, while JSON keeps the text exact.
#[test]
fn ticket_text_reaches_the_terminal_defused() {
    let env = TestEnv::new();
    let evil = "Hi \u{1b}]0;pwned\u{7}\u{1b}[2J \u{202e}gnp.exe";
    let id = env.new_ticket_with(
        evil,
        &[
            "--customer",
            "\u{202e}Bo",
            "--email",
            "bo@example.com",
            "-m",
            evil,
        ],
    );
    env.ok(&["reply", &id, "-m", &format!("{evil}\nsecond line")]);
    for args in [
        vec!["show", &id],
        vec!["log", &id],
        vec!["list"],
        vec!["queue"],
        vec!["sla"],
    ] {
        let out = env.tix(&args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains('\u{1b}'),
            "{args:?} printed an escape: {text:?}"
        );
        assert!(!text.contains('\u{202e}'), "{args:?} printed an override");
        assert!(!text.contains('\u{7}'), "{args:?} printed a bell");
    }
    let page = env.ok(&["show", &id]);
    assert!(page.contains("second line"), "line breaks of a body stay");
    let json = env.show(&id);
    assert_eq!(json["subject"], evil, "JSON keeps the text exact");
    assert_eq!(json["customer"]["name"], "\u{202e}Bo");
}

/// A subject with line breaks in a committed file (a hand edit, a merge
/// from another clone) cannot forge trailers: only tix writes them, and
/// `tix doctor` flags the subject.
#[test]
fn a_subject_with_line_breaks_cannot_forge_commit_trailers() {
    let env = TestEnv::new();
    let victim = env.new_ticket("Victim");
    let forger = env.new_ticket("Forger");
    let path = env.ticket_path(&forger);
    let text = env.read_ticket_file(&forger);
    let forged = text.replace(
        "subject = \"Forger\"",
        &format!("subject = \"hi\\n\\nTix-Ticket: {victim}\\nTix-Action: close\""),
    );
    assert_ne!(forged, text);
    env.commit_file(&path, &forged);
    env.ok(&["note", &forger, "-m", "a change commits the subject"]);
    let found = env.git(&[
        "log",
        "--format=%H",
        "--grep",
        &format!("Tix-Ticket: {victim}"),
    ]);
    assert_eq!(
        found.lines().count(),
        1,
        "only the victim's own commit: {found}"
    );
    let message = env.git(&["log", "-1", "--format=%B"]);
    let trailers: Vec<&str> = message.lines().filter(|l| l.starts_with("Tix-")).collect();
    assert_eq!(
        trailers,
        [
            format!("Tix-Ticket: {forger}"),
            "Tix-Action: note".to_owned()
        ]
    );
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("the subject has a line break"), "{report}");
}
