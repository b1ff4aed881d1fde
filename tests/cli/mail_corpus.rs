//! `tix ingest` against mail as real clients and servers send it: the
//! corpus in tests/fixtures/mail/ (expected.toml says what each message
//! must give), an mbox, a Maildir, standard input, duplicates, refusals,
//! the size limit and threading by headers and by `[#ID]`.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde::Deserialize;
use serde_json::Value;

use crate::common::{TestEnv, assert_no_panic, bodies, ids_of, is_ticket_id};

// ---------------------------------------------------------------------------
// The desk and the runs

/// A desk with `[mail]`, a billing department and the billing mailbox;
/// `mail_keys` are extra lines for the `[mail]` table.
fn mail_desk_with(mail_keys: &str) -> TestEnv {
    let env = TestEnv::new();
    let path = env.path("tix.toml");
    let mut config = std::fs::read_to_string(&path).unwrap();
    config.push_str(&format!(
        "\n[mail]\n\
         address = \"support@example.com\"\n\
         name = \"Example Support\"\n\
         {mail_keys}\
         \n[[department]]\n\
         name = \"billing\"\n\
         \n[[mailbox]]\n\
         address = \"billing@example.com\"\n\
         department = \"billing\"\n"
    ));
    std::fs::write(path, config).unwrap();
    env.git(&["add", "tix.toml"]);
    env.git(&["commit", "-q", "-m", "cfg"]);
    env
}

/// [`mail_desk_with`] with the default limits.
fn mail_desk() -> TestEnv {
    mail_desk_with("")
}

/// A file of tests/fixtures/mail/.
fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mail")
        .join(name)
}

/// [`fixture_path`] as an argument.
fn fixture_arg(name: &str) -> String {
    fixture_path(name).to_str().unwrap().to_owned()
}

/// What one `tix` run did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn of(out: &Output) -> Self {
        let run = Self {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert_no_panic(&run.stderr);
        run
    }

    /// Stdout as JSON.
    fn json(&self, what: &str) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("{what}: stdout is not JSON ({e}): {self:?}"))
    }

    /// Asserts exit 0 and returns stdout as JSON.
    fn report(&self, what: &str) -> Value {
        assert_eq!(self.code, Some(0), "{what}: {self:?}");
        self.json(what)
    }

    /// Asserts what a refusal of one message prints: exit 1 and one
    /// line on stderr, starting with `error:`.
    fn assert_refused(&self, what: &str) {
        assert_eq!(self.code, Some(1), "{what}: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert!(
            lines.len() == 1 && lines[0].starts_with("error:"),
            "{what}: stderr is not one error line: {self:?}"
        );
    }
}

/// Runs `tix ARGS` in the desk.
fn run(env: &TestEnv, args: &[&str]) -> Run {
    Run::of(&env.tix(args))
}

/// Runs `tix ARGS` in the desk with `input` on standard input.
fn run_stdin(env: &TestEnv, args: &[&str], input: &[u8]) -> Run {
    let mut cmd = env.command(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // tix may refuse before it has read everything.
    if let Err(e) = stdin.write_all(input) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    drop(stdin);
    Run::of(&child.wait_with_output().unwrap())
}

/// `tix ingest --format json` of one message given on standard input;
/// asserts exit 0 and returns the report.
fn ingest_mail(env: &TestEnv, message: &str) -> Value {
    run_stdin(env, &["ingest", "--format", "json"], message.as_bytes()).report("ingest of stdin")
}

/// A plain text message as a mail client sends it, through one relay;
/// `headers` are extra header lines, each ending in a line break.
fn mail(from: &str, subject: &str, message_id: &str, headers: &str, body: &str) -> String {
    format!(
        "Received: from mail.customer.example (mail.customer.example [198.51.100.23])\n\
         \tby mx1.example.com (Postfix) with ESMTPS id 4Z6QmT1kXbz9vB\n\
         \tfor <support@example.com>; Mon,  3 Mar 2025 08:41:17 +0000 (UTC)\n\
         From: {from}\n\
         To: support@example.com\n\
         Subject: {subject}\n\
         Date: Mon, 3 Mar 2025 09:41:14 +0100\n\
         Message-ID: {message_id}\n\
         {headers}\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         {body}\n"
    )
}

// ---------------------------------------------------------------------------
// Reading a report

/// The counts of a report: created, appended, duplicate, ignored, refused.
fn counts(report: &Value) -> [u64; 5] {
    ["created", "appended", "duplicate", "ignored", "refused"].map(|key| {
        report[key]
            .as_u64()
            .unwrap_or_else(|| panic!("the report has no count `{key}`: {report}"))
    })
}

/// The per-message results of a report.
fn results(report: &Value) -> &[Value] {
    report["results"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("the report has no `results` list: {report}"))
}

/// The result of a report about one message.
fn only_result(report: &Value) -> &Value {
    let all = results(report);
    assert_eq!(all.len(), 1, "one message, one result: {report}");
    &all[0]
}

/// The result about the message `message_id`.
fn result_for<'a>(report: &'a Value, message_id: &str) -> &'a Value {
    results(report)
        .iter()
        .find(|r| r["message_id"] == message_id)
        .unwrap_or_else(|| panic!("no result for {message_id}: {report}"))
}

/// The ticket id of a result.
fn ticket_of(result: &Value) -> String {
    let id = result["ticket"]
        .as_str()
        .unwrap_or_else(|| panic!("the result names no ticket: {result}"));
    assert!(is_ticket_id(id), "not a ticket id: {result}");
    id.to_owned()
}

/// The tags of a ticket.
fn tags(ticket: &Value) -> Vec<String> {
    ticket["tags"]
        .as_array()
        .unwrap_or_else(|| panic!("no tags list: {ticket}"))
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

/// The message bodies of a ticket without their surrounding white space.
fn trimmed_bodies(ticket: &Value) -> Vec<String> {
    bodies(ticket)
        .iter()
        .map(|body| body.trim().to_owned())
        .collect()
}

/// The desk before a run, to show that the run wrote nothing.
struct Before {
    commits: usize,
    head: String,
}

impl Before {
    fn of(env: &TestEnv) -> Self {
        Self {
            commits: env.commits(),
            head: env.head(),
        }
    }
}

/// Asserts that no commit was added and no file left behind.
fn assert_nothing_written(env: &TestEnv, before: &Before, what: &str) {
    assert_eq!(env.commits(), before.commits, "{what}: a commit was added");
    assert_eq!(env.head(), before.head, "{what}: HEAD moved");
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "{what}: files were left in the desk"
    );
}

// ---------------------------------------------------------------------------
// The corpus

/// tests/fixtures/mail/expected.toml.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Corpus {
    message: Vec<Case>,
}

/// One message of the corpus and what it must give (see the comments at
/// the top of expected.toml).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    file: String,
    outcome: String,
    reason_contains: Option<Words>,
    subject: Option<String>,
    customer_email: Option<String>,
    customer_name: Option<String>,
    message_id: Option<String>,
    #[serde(default)]
    body_contains: Vec<String>,
    #[serde(default)]
    body_excludes: Vec<String>,
    #[serde(default)]
    attachments: Vec<String>,
    attachment_starts_with: Option<String>,
    department: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// A text the reason must hold, or a list of which it must hold one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Words {
    One(String),
    Any(Vec<String>),
}

impl Words {
    /// Asserts that `reason` (compared in lower case) holds the text, or
    /// one of the texts.
    fn assert_in(&self, reason: &str, what: &str) {
        let reason = reason.to_lowercase();
        let words = match self {
            Self::One(word) => std::slice::from_ref(word),
            Self::Any(words) => words.as_slice(),
        };
        assert!(
            words.iter().any(|w| reason.contains(w.as_str())),
            "{what}: the reason {reason:?} names none of {words:?}"
        );
    }
}

fn corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(fixture_path("expected.toml")).unwrap();
    let corpus: Corpus =
        toml::from_str(&text).unwrap_or_else(|e| panic!("tests/fixtures/mail/expected.toml: {e}"));
    corpus.message
}

#[test]
fn every_message_of_the_corpus_has_an_expectation_and_each_only_one() {
    let mut listed: Vec<String> = corpus().into_iter().map(|c| c.file).collect();
    listed.sort();
    let before_dedup = listed.len();
    listed.dedup();
    assert_eq!(
        listed.len(),
        before_dedup,
        "a file listed twice: {listed:?}"
    );
    let mut files: Vec<String> = std::fs::read_dir(fixture_path(""))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".eml"))
        .collect();
    files.sort();
    assert_eq!(files, listed, "the .eml files and expected.toml disagree");
}

#[test]
fn every_message_of_the_corpus_gives_its_expected_outcome() {
    let cases = corpus();
    let mut failed = Vec::new();
    for case in &cases {
        // One failure must not hide the others: each message is checked on
        // its own desk, and its panic (printed above) only marks it failed.
        if catch_unwind(AssertUnwindSafe(|| check_case(case))).is_err() {
            failed.push(case.file.as_str());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} messages went wrong (each one's panic is printed above): {failed:?}",
        failed.len(),
        cases.len()
    );
}

fn check_case(case: &Case) {
    let env = mail_desk();
    let before = Before::of(&env);
    let file = fixture_arg(&case.file);
    let run = run(&env, &["ingest", &file, "--format", "json"]);
    match case.outcome.as_str() {
        "created" => check_created(&env, case, &run, &before),
        "ignored" => check_ignored(&env, case, &run, &before),
        "refused" => check_refused(&env, case, &run, &before),
        other => panic!("{}: unknown outcome {other:?} in expected.toml", case.file),
    }
}

fn check_ignored(env: &TestEnv, case: &Case, run: &Run, before: &Before) {
    let file = case.file.as_str();
    let report = run.report(file);
    assert_eq!(counts(&report), [0, 0, 0, 1, 0], "{file}: {report}");
    let result = only_result(&report);
    assert_eq!(result["outcome"], "ignored", "{file}: {report}");
    assert!(result["ticket"].is_null(), "{file}: {report}");
    let reason = result["reason"]
        .as_str()
        .unwrap_or_else(|| panic!("{file}: an ignored message needs a reason: {report}"));
    if let Some(words) = &case.reason_contains {
        words.assert_in(reason, file);
    }
    assert_nothing_written(env, before, file);
}

fn check_refused(env: &TestEnv, case: &Case, run: &Run, before: &Before) {
    let file = case.file.as_str();
    assert_eq!(run.code, Some(1), "{file}: {run:?}");
    assert!(
        run.stderr.starts_with("error:"),
        "{file}: a refusal says `error:` on stderr: {run:?}"
    );
    // With --format json the report may still be printed; then it must
    // say the same.
    let reason = if run.stdout.trim().is_empty() {
        run.stderr.clone()
    } else {
        let report = run.json(file);
        assert_eq!(counts(&report), [0, 0, 0, 0, 1], "{file}: {report}");
        let result = only_result(&report);
        assert_eq!(result["outcome"], "refused", "{file}: {report}");
        assert!(result["ticket"].is_null(), "{file}: {report}");
        result["reason"].as_str().unwrap_or_default().to_owned()
    };
    if let Some(words) = &case.reason_contains {
        words.assert_in(&reason, file);
    }
    assert_nothing_written(env, before, file);
}

fn check_created(env: &TestEnv, case: &Case, run: &Run, before: &Before) {
    let file = case.file.as_str();
    let report = run.report(file);
    assert_eq!(counts(&report), [1, 0, 0, 0, 0], "{file}: {report}");
    let result = only_result(&report);
    assert_eq!(result["outcome"], "created", "{file}: {report}");
    assert!(
        result["source"].as_str().is_some_and(|s| s.ends_with(file)),
        "{file}: the source names the file: {report}"
    );
    let id = ticket_of(result);
    assert!(
        env.commits() > before.commits,
        "{file}: nothing was committed"
    );
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "{file}: the ingest left files uncommitted"
    );
    // Everything written belongs to the new ticket: tickets/<ab>/<id>.toml
    // and files under tickets/<ab>/<id>/.
    let own = format!("tickets/{}/{id}", &id[..2]);
    // Paths as they are, not C-quoted (names with non-ASCII letters).
    let changed = env.git(&[
        "-c",
        "core.quotePath=false",
        "diff",
        "--name-only",
        &before.head,
        "HEAD",
    ]);
    for path in changed.lines() {
        assert!(
            path.starts_with(&own) && !path.split('/').any(|c| c == ".."),
            "{file}: the ingest wrote {path:?}, outside {own}: {changed}"
        );
    }
    let ticket = env.show(&id);
    check_ticket_fields(case, &ticket);
    let messages = ticket["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: no messages: {ticket}"));
    assert_eq!(messages.len(), 1, "{file}: one message: {ticket}");
    let message = &messages[0];
    assert_eq!(message["role"], "customer", "{file}: {message}");
    if let Some(email) = &case.customer_email {
        assert_eq!(message["author"], email.as_str(), "{file}: {message}");
    }
    if let Some(message_id) = &case.message_id {
        assert_eq!(
            message["message_id"],
            message_id.as_str(),
            "{file}: {message}"
        );
        assert_eq!(
            result["message_id"],
            message_id.as_str(),
            "{file}: {report}"
        );
    }
    check_body(case, message);
    let raw = check_raw(env, case, &id, message);
    check_attachments(env, case, &id, message, &raw);
}

/// Subject, customer, department and tags.
fn check_ticket_fields(case: &Case, ticket: &Value) {
    let file = case.file.as_str();
    if let Some(subject) = &case.subject {
        assert_eq!(ticket["subject"], subject.as_str(), "{file}: subject");
    }
    if let Some(email) = &case.customer_email {
        assert_eq!(
            ticket["customer"]["email"],
            email.as_str(),
            "{file}: customer email"
        );
    }
    if let Some(name) = &case.customer_name {
        assert_eq!(
            ticket["customer"]["name"],
            name.as_str(),
            "{file}: customer name"
        );
    }
    match &case.department {
        Some(department) => {
            assert_eq!(
                ticket["department"],
                department.as_str(),
                "{file}: department"
            );
        }
        None => assert!(
            ticket["department"].is_null(),
            "{file}: no department expected: {}",
            ticket["department"]
        ),
    }
    let have = tags(ticket);
    for tag in &case.tags {
        assert!(
            have.contains(tag),
            "{file}: tag {tag:?} missing from {have:?}"
        );
    }
    if !case.tags.iter().any(|t| t == "suspect-thread") {
        assert!(
            !have.iter().any(|t| t == "suspect-thread"),
            "{file}: not a suspect thread: {have:?}"
        );
    }
}

fn check_body(case: &Case, message: &Value) {
    let file = case.file.as_str();
    let body = message["body"]
        .as_str()
        .unwrap_or_else(|| panic!("{file}: no body: {message}"));
    for want in &case.body_contains {
        assert!(
            body.contains(want.as_str()),
            "{file}: the body lacks {want:?}; it is:\n{body:?}"
        );
    }
    for bad in &case.body_excludes {
        assert!(
            !body.contains(bad.as_str()),
            "{file}: the body holds {bad:?}; it is:\n{body:?}"
        );
    }
}

/// Checks the kept raw message (`raw`: the file byte for byte, in the
/// ticket's directory) and returns its path.
fn check_raw(env: &TestEnv, case: &Case, id: &str, message: &Value) -> String {
    let file = case.file.as_str();
    let raw = message["raw"]
        .as_str()
        .unwrap_or_else(|| panic!("{file}: the message has no `raw`: {message}"));
    let dir = format!("tickets/{}/{id}/", &id[..2]);
    let name = raw
        .strip_prefix(&dir)
        .unwrap_or_else(|| panic!("{file}: raw {raw:?} is not in {dir}"));
    // Each message has a folder of its own, named for its bytes.
    let folder = name.strip_suffix("/message.eml").unwrap_or_default();
    assert!(
        folder
            .strip_prefix("mail-")
            .is_some_and(|hex| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit())),
        "{file}: raw {raw:?} is not mail-HEX/message.eml"
    );
    let kept = std::fs::read(env.path(raw)).unwrap_or_else(|e| panic!("{file}: {raw}: {e}"));
    let original = std::fs::read(fixture_path(file)).unwrap();
    assert!(
        kept == original,
        "{file}: {raw} is not the message byte for byte"
    );
    raw.to_owned()
}

fn check_attachments(env: &TestEnv, case: &Case, id: &str, message: &Value, raw: &str) {
    let file = case.file.as_str();
    // The message's files are in its folder, next to the raw message.
    let dir = raw.strip_suffix("message.eml").unwrap_or(raw).to_owned();
    let _ = id;
    // The contract lists `attachments` on every message; an absent key is
    // read as none (docs/json-schema.md wants every key present).
    let listed = match &message["attachments"] {
        Value::Null => &[][..],
        Value::Array(list) => list.as_slice(),
        other => panic!("{file}: `attachments` is not a list: {other}"),
    };
    let stored: Vec<&str> = listed
        .iter()
        .map(|a| {
            a.as_str()
                .unwrap_or_else(|| panic!("{file}: {a} is not a path"))
        })
        .filter(|path| *path != raw)
        .collect();
    let mut names = Vec::new();
    for path in &stored {
        let name = path
            .strip_prefix(&dir)
            .unwrap_or_else(|| panic!("{file}: attachment {path:?} is not in {dir}"));
        assert_safe_name(name, file);
        let bytes = std::fs::read(env.path(path)).unwrap_or_else(|e| panic!("{file}: {path}: {e}"));
        if let Some(prefix) = &case.attachment_starts_with {
            assert!(
                bytes.starts_with(prefix.as_bytes()),
                "{file}: {path} does not start with {prefix:?}: {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
            );
        }
        names.push(name.to_owned());
    }
    assert!(
        names_match(&case.attachments, &names),
        "{file}: stored attachments {names:?}, expected {:?}",
        case.attachments
    );
}

/// Asserts the contract's safe name: one path component, no control
/// characters, no `/ \ :`, no leading dot, not empty.
fn assert_safe_name(name: &str, file: &str) {
    assert!(
        !name.is_empty()
            && !name.starts_with('.')
            && !name
                .chars()
                .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':')),
        "{file}: unsafe attachment name {name:?}"
    );
}

/// Tells whether every pattern matches a name of its own and no name is
/// left over. Patterns without `*` are matched first.
fn names_match(patterns: &[String], names: &[String]) -> bool {
    if patterns.len() != names.len() {
        return false;
    }
    let mut ordered: Vec<&String> = patterns.iter().collect();
    ordered.sort_by_key(|p| p.contains('*'));
    let mut free: Vec<&String> = names.iter().collect();
    for pattern in ordered {
        let Some(at) = free.iter().position(|name| glob(pattern, name)) else {
            return false;
        };
        free.swap_remove(at);
    }
    free.is_empty()
}

/// Matches `name` against `pattern`, where `*` stands for any run of
/// characters.
fn glob(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        let Some(at) = rest.find(part) else {
            return false;
        };
        rest = &rest[at + part.len()..];
    }
    rest.ends_with(last)
}

#[test]
fn the_glob_of_the_expectations_matches_as_documented() {
    assert!(glob("scan.pdf", "scan.pdf"));
    assert!(!glob("scan.pdf", "scan-2.pdf"));
    assert!(glob("*notes.txt", "notes.txt"));
    assert!(glob("*notes.txt", "C__Users_kev_Desktop_notes.txt"));
    assert!(glob("Rechnung März*[2J.pdf", "Rechnung März[2J.pdf"));
    assert!(glob("Rechnung März*[2J.pdf", "Rechnung März___[2J.pdf"));
    assert!(!glob("Rechnung März*[2J.pdf", "Rechnung März.pdf"));
    let names = ["scan-2.pdf".to_owned(), "scan.pdf".to_owned()];
    assert!(names_match(
        &["scan.pdf".to_owned(), "scan-2.pdf".to_owned()],
        &names
    ));
    assert!(!names_match(&["scan.pdf".to_owned()], &names));
}

// ---------------------------------------------------------------------------
// Duplicates, standard input, refusals

#[test]
fn the_same_message_twice_is_a_duplicate_and_writes_nothing() {
    let env = mail_desk();
    let file = fixture_arg("plain-us-ascii.eml");
    let message_id = "<5b2e9c1a-7d3f-4e8a-9b1c-2f6d8e0a4c71@customer.example>";
    let first = run(&env, &["ingest", &file, "--format", "json"]).report("first");
    assert_eq!(counts(&first), [1, 0, 0, 0, 0], "{first}");
    let id = ticket_of(only_result(&first));
    let before = Before::of(&env);
    let second = run(&env, &["ingest", &file, "--format", "json"]).report("second");
    assert_eq!(counts(&second), [0, 0, 1, 0, 0], "{second}");
    let result = only_result(&second);
    assert_eq!(result["outcome"], "duplicate", "{second}");
    assert_eq!(result["message_id"], message_id, "{second}");
    assert!(
        result["reason"].is_string(),
        "a duplicate says why: {second}"
    );
    assert_nothing_written(&env, &before, "the second ingest");
    // Told in words, too, and still nothing written.
    let human = run(&env, &["ingest", &file]);
    assert_eq!(human.code, Some(0), "{human:?}");
    assert!(
        human.stdout.contains(message_id),
        "names the message: {human:?}"
    );
    assert_nothing_written(&env, &before, "the third ingest");
    assert_eq!(bodies(&env.show(&id)).len(), 1, "still one message");
}

#[test]
fn mail_on_standard_input_is_taken_with_or_without_a_dash() {
    let env = mail_desk();
    for (args, file) in [
        (&["ingest", "--format", "json"][..], "utf8-8bit.eml"),
        (&["ingest", "-", "--format", "json"][..], "base64-utf8.eml"),
    ] {
        let input = std::fs::read(fixture_path(file)).unwrap();
        let report = run_stdin(&env, args, &input).report(file);
        assert_eq!(counts(&report), [1, 0, 0, 0, 0], "{file}: {report}");
        let result = only_result(&report);
        assert_eq!(result["source"], "stdin", "{file}: {report}");
        assert_eq!(result["outcome"], "created", "{file}: {report}");
    }
    assert_eq!(ids_of(&env.json(&["list", "--format", "json"])).len(), 2);
}

#[test]
fn a_malformed_message_is_refused_with_one_error_line_and_nothing_written() {
    let env = mail_desk();
    for file in [
        "malformed-binary-garbage.eml",
        "malformed-no-from-no-body.eml",
    ] {
        let before = Before::of(&env);
        run(&env, &["ingest", &fixture_arg(file)]).assert_refused(file);
        assert_nothing_written(&env, &before, file);
        let input = std::fs::read(fixture_path(file)).unwrap();
        run_stdin(&env, &["ingest"], &input).assert_refused(file);
        assert_nothing_written(&env, &before, file);
    }
    // So is nothing at all.
    let before = Before::of(&env);
    run_stdin(&env, &["ingest"], b"").assert_refused("empty stdin");
    assert_nothing_written(&env, &before, "empty stdin");
}

#[test]
fn a_message_over_max_size_mb_is_refused_and_nothing_is_written() {
    let env = mail_desk_with("max_size_mb = 1\n");
    let line = "2025-03-03T09:00:00Z worker-7 ERROR queue overflow, dropping job 4471\n";
    let body = line.repeat(2 * 1024 * 1024 / line.len() + 1);
    let big = mail(
        "Jack Torrance <jack@overlook.example>",
        "The full log of last night",
        "<full-log-0303@overlook.example>",
        "",
        &body,
    );
    assert!(big.len() > 2 * 1024 * 1024);
    let path = env.home().join("big.eml");
    std::fs::write(&path, big).unwrap();
    let before = Before::of(&env);
    let refused = run(&env, &["ingest", path.to_str().unwrap()]);
    refused.assert_refused("a 2 MB message over a 1 MB limit");
    assert_nothing_written(&env, &before, "the big message");
    let json = run(
        &env,
        &["ingest", path.to_str().unwrap(), "--format", "json"],
    );
    assert_eq!(json.code, Some(1), "{json:?}");
    assert_nothing_written(&env, &before, "the big message, --format json");
    // A message under the limit still goes in.
    let small = run(
        &env,
        &[
            "ingest",
            &fixture_arg("plain-us-ascii.eml"),
            "--format",
            "json",
        ],
    );
    assert_eq!(counts(&small.report("small")), [1, 0, 0, 0, 0]);
}

// ---------------------------------------------------------------------------
// Batches: mbox and Maildir

#[test]
fn an_mbox_is_split_threaded_and_safe_to_read_again() {
    let env = mail_desk();
    let mbox = fixture_arg("list.mbox");
    let report = run(&env, &["ingest", "--mbox", &mbox, "--format", "json"]).report("mbox");
    assert_eq!(counts(&report), [3, 1, 0, 1, 0], "{report}");
    let outcomes: Vec<&str> = results(&report)
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        outcomes,
        ["created", "created", "ignored", "appended", "created"],
        "in the mbox's order: {report}"
    );
    // The source names the message's place in the mbox, 1 first
    // (`mbox:N`; `FILE:N` says the same).
    for (n, result) in results(&report).iter().enumerate() {
        let place = format!(":{}", n + 1);
        assert!(
            result["source"]
                .as_str()
                .is_some_and(|s| s.ends_with(&place)),
            "message {} of the mbox: {report}",
            n + 1
        );
    }
    let export = result_for(&report, "<CAF3x9q-mbox-0001-export@mail.example.net>");
    let follow_up = result_for(
        &report,
        "<CAF3x9q-mbox-0004-export-followup@mail.example.net>",
    );
    assert_eq!(
        follow_up["ticket"], export["ticket"],
        "the reply threads: {report}"
    );
    let thread = env.show(&ticket_of(export));
    let texts = bodies(&thread);
    assert_eq!(texts.len(), 2, "{thread}");
    assert!(
        texts[1].contains("only Safari gives the empty file"),
        "{texts:?}"
    );
    assert_eq!(thread["messages"][1]["role"], "customer", "{thread}");
    assert_eq!(
        thread["messages"][1]["message_id"],
        "<CAF3x9q-mbox-0004-export-followup@mail.example.net>"
    );
    // ">From " in the mbox is a body line "From ".
    let address = ticket_of(result_for(&report, "<20250303081958.4471.dv@example.org>"));
    let body = bodies(&env.show(&address)).remove(0);
    assert!(
        body.contains("\nFrom the 1st of April it is") && !body.contains(">From"),
        "the >From line is unescaped: {body:?}"
    );
    assert_eq!(ids_of(&env.json(&["list", "--format", "json"])).len(), 3);
    // Read again: everything stored is a duplicate, nothing is written.
    let before = Before::of(&env);
    let again = run(&env, &["ingest", "--mbox", &mbox, "--format", "json"]).report("again");
    assert_eq!(counts(&again), [0, 0, 4, 1, 0], "{again}");
    assert_nothing_written(&env, &before, "the mbox read again");
}

/// The file names in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_maildir_takes_what_is_in_new_and_moves_it_to_cur() {
    let env = mail_desk();
    let maildir = env.home().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let names = [
        "1740991200.M101P4242Q1.mx1.example.com",
        "1740991260.M102P4242Q2.mx1.example.com",
        "1740991320.M103P4242Q3.mx1.example.com",
    ];
    for (n, name) in names.iter().enumerate() {
        let message = mail(
            &format!("Customer {n} <customer{n}@example.org>"),
            &format!("Maildir request {n}"),
            &format!("<maildir-{n}@example.org>"),
            "",
            &format!("Request number {n} from the Maildir."),
        );
        std::fs::write(maildir.join("new").join(name), message).unwrap();
    }
    let dir = maildir.to_str().unwrap();
    let report = run(&env, &["ingest", "--maildir", dir, "--format", "json"]).report("maildir");
    assert_eq!(counts(&report), [3, 0, 0, 0, 0], "{report}");
    assert_eq!(
        listing(&maildir.join("new")),
        Vec::<String>::new(),
        "new/ is emptied"
    );
    let cur = listing(&maildir.join("cur"));
    assert_eq!(cur.len(), 3, "{cur:?}");
    for name in names {
        assert!(
            cur.iter()
                .any(|c| c == name || c.starts_with(&format!("{name}:"))),
            "{name} did not move to cur/: {cur:?}"
        );
    }
    for n in 0..3 {
        let id = ticket_of(result_for(&report, &format!("<maildir-{n}@example.org>")));
        let ticket = env.show(&id);
        assert_eq!(
            ticket["subject"],
            format!("Maildir request {n}"),
            "{ticket}"
        );
        assert_eq!(
            ticket["customer"]["email"],
            format!("customer{n}@example.org")
        );
    }
    // Again: nothing new.
    let before = Before::of(&env);
    let again = run(&env, &["ingest", "--maildir", dir, "--format", "json"]).report("again");
    let [created, appended, ..] = counts(&again);
    assert_eq!(
        (created, appended),
        (0, 0),
        "nothing created or appended: {again}"
    );
    assert_nothing_written(&env, &before, "the Maildir read again");
    assert_eq!(listing(&maildir.join("cur")).len(), 3);
    assert_eq!(listing(&maildir.join("tmp")), Vec::<String>::new());
}

#[test]
fn a_refused_message_in_a_batch_does_not_stop_the_others_but_exits_1() {
    let env = mail_desk();
    let maildir = env.home().join("Maildir");
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let good = mail(
        "Ola Nordmann <ola@example.org>",
        "Good one",
        "<good-1@example.org>",
        "",
        "Fine.",
    );
    std::fs::write(maildir.join("new/1740991200.M1P1Q1.mx1"), good).unwrap();
    let garbage = std::fs::read(fixture_path("malformed-binary-garbage.eml")).unwrap();
    std::fs::write(maildir.join("new/1740991201.M2P1Q2.mx1"), garbage).unwrap();
    let run = run(
        &env,
        &[
            "ingest",
            "--maildir",
            maildir.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    let report = run.json("a batch with a refusal");
    assert_eq!(counts(&report), [1, 0, 0, 0, 1], "{report}");
    let id = ticket_of(result_for(&report, "<good-1@example.org>"));
    assert_eq!(env.show(&id)["subject"], "Good one");
}

// ---------------------------------------------------------------------------
// Threading

#[test]
fn a_reply_threads_by_in_reply_to_then_by_references() {
    let env = mail_desk();
    let from = "Bo Berg <bo.berg@customer.example>";
    let first = ingest_mail(
        &env,
        &mail(
            from,
            "Printer jams",
            "<jam-1@customer.example>",
            "",
            "It jams on page 2.",
        ),
    );
    let id = ticket_of(only_result(&first));
    let second = ingest_mail(
        &env,
        &mail(
            from,
            "Re: Printer jams",
            "<jam-2@customer.example>",
            "In-Reply-To: <jam-1@customer.example>\nReferences: <jam-1@customer.example>\n",
            "Also on page 3.",
        ),
    );
    assert_eq!(counts(&second), [0, 1, 0, 0, 0], "{second}");
    assert_eq!(ticket_of(only_result(&second)), id, "{second}");
    // In-Reply-To names a mail the desk never saw (one to a colleague);
    // References, newest first, still finds the ticket.
    let third = ingest_mail(
        &env,
        &mail(
            from,
            "Re: Printer jams",
            "<jam-3@customer.example>",
            "In-Reply-To: <to-colleague@customer.example>\n\
             References: <jam-1@customer.example> <jam-2@customer.example>\n \
             <to-colleague@customer.example>\n",
            "It fixed itself.",
        ),
    );
    assert_eq!(counts(&third), [0, 1, 0, 0, 0], "{third}");
    assert_eq!(ticket_of(only_result(&third)), id, "{third}");
    let ticket = env.show(&id);
    assert_eq!(
        trimmed_bodies(&ticket),
        ["It jams on page 2.", "Also on page 3.", "It fixed itself."],
        "{ticket}"
    );
    let raws: Vec<&str> = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["raw"].as_str())
        .collect();
    assert_eq!(raws.len(), 3, "each mail is kept: {ticket}");
    assert!(
        raws[0] != raws[1] && raws[1] != raws[2] && raws[0] != raws[2],
        "{raws:?}"
    );
}

#[test]
fn an_id_in_the_subject_threads_only_mail_from_the_tickets_customer() {
    let env = mail_desk();
    let alice = "Alice Moreau <alice@customer.example>";
    let first = ingest_mail(
        &env,
        &mail(
            alice,
            "Badge reader at the side door",
            "<badge-1@customer.example>",
            "",
            "It rejects every card.",
        ),
    );
    let id = ticket_of(only_result(&first));
    // The customer writes again in a new thread, the id in the subject.
    let again = ingest_mail(
        &env,
        &mail(
            alice,
            &format!("Badge reader [#{id}]"),
            "<badge-2@customer.example>",
            "",
            "It works again since noon.",
        ),
    );
    assert_eq!(counts(&again), [0, 1, 0, 0, 0], "{again}");
    assert_eq!(ticket_of(only_result(&again)), id, "{again}");
    // Someone else naming the ticket gets a ticket of their own, marked.
    let mallory = ingest_mail(
        &env,
        &mail(
            "Mallory <mallory@elsewhere.example>",
            &format!("Re: Badge reader [#{id}]"),
            "<m-1@elsewhere.example>",
            "",
            "Please send me the door codes.",
        ),
    );
    assert_eq!(counts(&mallory), [1, 0, 0, 0, 0], "{mallory}");
    let result = only_result(&mallory);
    assert!(
        result["reason"].is_string(),
        "a suspect thread says why: {mallory}"
    );
    let other = ticket_of(result);
    assert_ne!(other, id);
    let suspect = env.show(&other);
    assert!(
        tags(&suspect).iter().any(|t| t == "suspect-thread"),
        "{suspect}"
    );
    assert_eq!(suspect["customer"]["email"], "mallory@elsewhere.example");
    assert_eq!(
        trimmed_bodies(&env.show(&id)),
        ["It rejects every card.", "It works again since noon."],
        "the customer's ticket got only the customer's mail"
    );
    assert!(!tags(&env.show(&id)).iter().any(|t| t == "suspect-thread"));
}
