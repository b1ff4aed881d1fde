//! Desks that send mail, for the mail tests.

use super::TestEnv;

/// Appends `[mail]` (the desk's address and name, then `rest`: the
/// transport lines) to tix.toml and commits it.
pub(crate) fn configure(env: &TestEnv, rest: &str) {
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!(
            "{text}\n[mail]\naddress = \"support@example.com\"\nname = \"Example Support\"\n{rest}"
        ),
    );
}

/// Bo's ticket, made by an agent with `tix new`.
pub(crate) fn printer_ticket(env: &TestEnv) -> String {
    env.new_ticket_with(
        "Printer on fire",
        &[
            "--customer",
            "Bo Berg",
            "--email",
            "bo@example.com",
            "-m",
            "It smokes",
        ],
    )
}
