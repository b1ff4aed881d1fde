//! The human output of `show`, `list`, `queue`, `sla`, `log` and `doctor`
//! on one fixed desk, as file snapshots under `tests/cli/snapshots/`: a
//! change of output is a diff to review (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test` and `git diff`), never missed.

use crate::common::{TestEnv, fixture};

/// The fixed desk: its `tix.toml` is `tests/fixtures/snapshot-desk.toml`;
/// four tickets in different states, and the id of the busiest one.
fn desk() -> (TestEnv, Vec<String>) {
    let env = TestEnv::new();
    env.commit_file("tix.toml", &fixture("snapshot-desk.toml"));
    env.at("2025-03-03T09:15:00Z");
    let printer = env.new_ticket_with(
        "Printer on fire",
        &[
            "--customer",
            "Bo Berg",
            "--email",
            "bo@example.com",
            "--department",
            "tech",
            "--priority",
            "high",
            "--tag",
            "hw",
            "-m",
            "It smokes.\nThe office smells of toner.",
        ],
    );
    env.at("2025-03-03T09:40:00Z");
    let invoice = env.new_ticket_with(
        "Invoice 4471 charged twice",
        &[
            "--customer",
            "Ida Sand",
            "--email",
            "ida@shop.example",
            "--department",
            "billing",
            "--field",
            "order=4471",
            "-m",
            "I was charged twice in February.",
        ],
    );
    env.at("2025-03-03T10:05:00Z");
    let login = env.new_ticket_with(
        "Cannot log in",
        &[
            "--email",
            "ola@example.com",
            "--priority",
            "urgent",
            "-m",
            "Password reset mail never comes.",
        ],
    );
    env.at("2025-03-03T10:30:00Z");
    let vendor = env.new_ticket_with(
        "Replacement toner",
        &["--department", "tech", "--assign", "kim@desk.test"],
    );
    env.at("2025-03-03T11:00:00Z");
    env.ok(&["reply", &printer, "-m", "Unplug it, please."]);
    env.at("2025-03-03T11:20:00Z");
    env.ok(&["note", &printer, "-m", "Known issue with the X200 fuser."]);
    env.at("2025-03-03T13:00:00Z");
    env.ok(&[
        "reply",
        &printer,
        "--customer",
        "-m",
        "Unplugged. Still warm.",
    ]);
    env.at("2025-03-03T13:30:00Z");
    env.ok(&["assign", &printer]);
    env.ok(&[
        "status",
        &vendor,
        "waiting_on_vendor",
        "-m",
        "RMA 4471 opened",
    ]);
    env.at("2025-03-04T09:00:00Z");
    env.ok(&[
        "reply",
        &login,
        "-m",
        "Check your spam folder.",
        "--resolve",
    ]);
    env.at("2025-03-04T16:00:00Z");
    (env, vec![printer, invoice, login, vendor])
}

/// Replaces abbreviated commit ids (ten hex digits) with `<commit>`.
fn without_commits(text: &str) -> String {
    text.split('\n')
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    let hex = word.len() == 10 && word.bytes().all(|b| b.is_ascii_hexdigit());
                    if hex { "<commit>" } else { word }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn human_output_of_the_fixed_desk() {
    let (env, ids) = desk();
    let printer = &ids[0];
    insta::assert_snapshot!("show", env.ok(&["show", printer]));
    insta::assert_snapshot!("show_with_fields_and_sla", env.ok(&["show", &ids[1]]));
    insta::assert_snapshot!("list", env.ok(&["list"]));
    insta::assert_snapshot!(
        "list_all_by_priority",
        env.ok(&["list", "--all", "--sort", "priority"])
    );
    insta::assert_snapshot!("queue", env.ok(&["queue"]));
    insta::assert_snapshot!("sla", env.ok(&["sla"]));
    insta::assert_snapshot!("log", without_commits(&env.ok(&["log", printer])));
    insta::assert_snapshot!("doctor", env.ok(&["doctor"]));
}

#[test]
fn doctor_output_names_each_broken_file() {
    let (env, ids) = desk();
    let path = env.ticket_path(&ids[2]);
    let text = env.read_ticket_file(&ids[2]);
    env.commit_file(&path, &text.replacen("status = ", "status = = ", 1));
    env.commit_file("tickets/zz/not-a-ticket.toml", "id = \"zz\"\n");
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("doctor_with_problems", stdout.replace(&ids[2], "<id>"));
}
