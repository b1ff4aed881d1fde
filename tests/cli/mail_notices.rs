//! Notices by mail end to end (docs/mail.md, "Notices", "Templates" and
//! "Intake"): the acknowledgement of a ticket made from a mail, the
//! resolved and closing notices (by hand and by `tix autoclose`), the
//! templates checked when the desk is loaded, what a customer's mail to a
//! closed ticket does under each `closed_reply`, hostile header text, and
//! the human output of `tix ingest` and `tix outbox`. Every mail goes
//! through the real binary to a real SMTP server (aiosmtpd on loopback,
//! `transport = "smtp"`, `security = "none"`) and is read back with
//! mail_parser.

use std::time::Duration;

use mail_parser::{Message, MessageParser};
use serde_json::Value;

use crate::common::smtp::SmtpServer;
use crate::common::{TestEnv, assert_no_panic};

/// How long a sent message may take to land.
const WAIT: Duration = Duration::from_secs(10);

/// The customer of every test but the hostile one.
const BO: &str = "Bo Berg";
const BO_EMAIL: &str = "bo@example.com";

/// A phrase of each template `tix init` writes, to tell the notices apart
/// (checked against the committed template by [`assert_template_has`]).
const ACK: (&str, &str) = ("ack", "we received your message");
const RESOLVED: (&str, &str) = ("resolved", "is solved");
const CLOSED: (&str, &str) = ("closed", "is now closed");

/// The default close rule of tix.toml and how long it waits.
const CLOSE_RULE: &str = "close-solved-4d";
/// T0 + 95 hours: resolved at T0, not idle long enough yet.
const T0_PLUS_95H: &str = "2025-03-07T08:00:00Z";
/// T0 + 97 hours: idle for more than the rule's 96 hours.
const T0_PLUS_97H: &str = "2025-03-07T10:00:00Z";

// ---------------------------------------------------------------------------
// The desk and the runs

/// A desk that sends through `server` over SMTP with all three notices on;
/// `extra` are more lines for `[mail]`, each ending in a line break.
fn notice_desk(server: &SmtpServer, extra: &str) -> TestEnv {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    let port = server.port();
    env.commit_file(
        "tix.toml",
        &format!(
            "{text}\n[mail]\n\
             address = \"support@example.com\"\n\
             name = \"Example Support\"\n\
             transport = \"smtp\"\n\
             smtp = {{ host = \"127.0.0.1\", port = {port}, security = \"none\" }}\n\
             notify = {{ created = \"ack\", resolved = \"resolved\", closed = \"closed\" }}\n\
             {extra}"
        ),
    );
    env
}

/// What one `tix` run did; `{:#?}` shows every byte escaped.
#[derive(Debug)]
struct Run {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `tix ARGS` in the desk (no panic allowed, any exit code).
fn run(env: &TestEnv, args: &[&str]) -> Run {
    let out = env.tix(args);
    let run = Run {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_no_panic(&run.stderr);
    run
}

/// Runs `tix ARGS` expecting exit 0.
fn ok(env: &TestEnv, args: &[&str]) -> Run {
    let run = run(env, args);
    assert_eq!(run.code, Some(0), "tix {:?} failed: {run:#?}", run.args);
    run
}

/// Writes `mail` under HOME as `name`; returns its path as an argument.
fn mail_file(env: &TestEnv, name: &str, mail: &str) -> String {
    let path = env.home().join(name);
    std::fs::write(&path, mail).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `tix ingest FILE --format json` of `mail`, expecting exit 0; returns
/// the one result.
fn ingest(env: &TestEnv, name: &str, mail: &str) -> Value {
    let path = mail_file(env, name, mail);
    let run = ok(env, &["ingest", &path, "--format", "json"]);
    let json: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:#?}"));
    let results = json["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {json}"));
    assert_eq!(results.len(), 1, "{json}");
    results[0].clone()
}

/// A plain text mail from Bo; `in_reply_to` (with brackets) threads it.
fn bo_mail(message_id: &str, in_reply_to: Option<&str>, subject: &str, body: &str) -> String {
    let parent = in_reply_to
        .map(|p| format!("In-Reply-To: {p}\nReferences: {p}\n"))
        .unwrap_or_default();
    format!(
        "From: {BO} <{BO_EMAIL}>\n\
         To: Example Support <support@example.com>\n\
         Subject: {subject}\n\
         Date: Mon, 03 Mar 2025 08:55:00 +0000\n\
         Message-ID: {message_id}\n\
         {parent}\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         {body}\n"
    )
}

/// Bo's first mail, `<cust-1@mail.example.com>`, about the printer.
fn first_mail() -> String {
    bo_mail(
        "<cust-1@mail.example.com>",
        None,
        "Printer on fire",
        "It smokes",
    )
}

/// Ingests Bo's first mail; returns the new ticket's id.
fn ticket_from_mail(env: &TestEnv) -> String {
    let created = ingest(env, "first.eml", &first_mail());
    assert_eq!(created["outcome"], "created", "{created}");
    ticket_of(&created)
}

/// The ticket id of an ingest result.
fn ticket_of(result: &Value) -> String {
    result["ticket"]
        .as_str()
        .unwrap_or_else(|| panic!("no ticket: {result}"))
        .to_owned()
}

// ---------------------------------------------------------------------------
// The mail the server received

/// Every message received so far, for failure messages.
fn dump(messages: &[Vec<u8>]) -> String {
    messages
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect::<Vec<_>>()
        .join("\n----\n")
}

/// Waits for `n` messages and checks no more came.
fn received(server: &SmtpServer, n: usize) -> Vec<Vec<u8>> {
    let messages = server.wait_for(n, WAIT);
    assert_eq!(
        messages.len(),
        n,
        "{n} message(s) expected:\n{}",
        dump(&messages)
    );
    messages
}

/// Asserts the server has received exactly `n` messages by now (the
/// commands send before they exit, and the server stores a message before
/// it answers 250).
fn assert_received(server: &SmtpServer, n: usize, what: &str) {
    let messages = server.messages();
    assert_eq!(messages.len(), n, "{what}:\n{}", dump(&messages));
}

fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .unwrap_or_else(|| panic!("not a mail:\n{}", String::from_utf8_lossy(raw)))
}

/// What a notice must be.
struct Expected<'a> {
    /// The ticket.
    id: &'a str,
    /// Its subject.
    subject: &'a str,
    /// The customer's name and address.
    name: &'a str,
    email: &'a str,
    /// In-Reply-To, without brackets.
    parent: Option<&'a str>,
    /// The template's distinctive phrase.
    phrase: &'a str,
}

/// Checks a received notice; returns its Message-ID with brackets.
fn assert_notice(raw: &[u8], want: &Expected<'_>) -> String {
    let mail = parse(raw);
    let seen = String::from_utf8_lossy(raw);
    let from = mail.from().and_then(|f| f.first());
    assert_eq!(
        from.and_then(|a| a.address()),
        Some("support@example.com"),
        "From:\n{seen}"
    );
    let to = mail.to().and_then(|t| t.first());
    assert_eq!(
        to.and_then(|a| a.address()),
        Some(want.email),
        "To:\n{seen}"
    );
    let subject = format!("Re: {} [#{}]", want.subject, want.id);
    assert_eq!(mail.subject(), Some(subject.as_str()), "Subject:\n{seen}");
    assert_eq!(
        mail.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-replied"),
        "a notice is Auto-Submitted: auto-replied:\n{seen}"
    );
    assert_eq!(
        mail.in_reply_to().as_text(),
        want.parent,
        "In-Reply-To:\n{seen}"
    );
    let body = mail
        .body_text(0)
        .unwrap_or_else(|| panic!("no text:\n{seen}"));
    for word in [
        want.phrase,
        &format!("#{}", want.id),
        &format!("Hello {},", want.name),
    ] {
        assert!(body.contains(word), "the body lacks {word:?}:\n{seen}");
    }
    let mid = mail
        .message_id()
        .unwrap_or_else(|| panic!("no Message-ID:\n{seen}"));
    assert!(
        mid.starts_with(&format!("tix.{}.", want.id)) && mid.ends_with("@example.com"),
        "Message-ID <{mid}>:\n{seen}"
    );
    format!("<{mid}>")
}

/// [`Expected`] for Bo's "Printer on fire" ticket `id`, answering his
/// first mail.
fn to_bo<'a>(id: &'a str, phrase: &'a str) -> Expected<'a> {
    Expected {
        id,
        subject: "Printer on fire",
        name: BO,
        email: BO_EMAIL,
        parent: Some("cust-1@mail.example.com"),
        phrase,
    }
}

/// Asserts the committed template `name` has `phrase`: the notices are
/// the templates `tix init` wrote.
fn assert_template_has(env: &TestEnv, (name, phrase): (&str, &str)) {
    let path = format!("templates/{name}.txt");
    let committed = env.git(&["show", &format!("HEAD:{path}")]);
    assert!(committed.contains(phrase), "{path}: {committed}");
}

// ---------------------------------------------------------------------------
// The ticket as JSON

/// The messages of a ticket.
fn messages(ticket: &Value) -> Vec<Value> {
    ticket["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages: {ticket}"))
        .clone()
}

/// The roles of a ticket's messages, in order.
fn roles(ticket: &Value) -> Vec<String> {
    messages(ticket)
        .iter()
        .map(|m| m["role"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The ticket's last message, checked to be a notice mailed to `email`
/// with `message_id`, in mail state `state`.
fn assert_system_notice(ticket: &Value, message_id: &str, email: &str, state: &str) -> Value {
    let last = messages(ticket)
        .pop()
        .unwrap_or_else(|| panic!("no messages: {ticket}"));
    assert_eq!(last["role"], "system", "{ticket:#}");
    assert_eq!(last["author"], "support@example.com", "{ticket:#}");
    assert_eq!(last["message_id"], message_id, "{ticket:#}");
    assert_eq!(last["mail"]["to"], email, "{ticket:#}");
    assert_eq!(last["mail"]["state"], state, "{ticket:#}");
    last
}

/// Nothing is left uncommitted.
fn assert_clean(env: &TestEnv) {
    assert_eq!(env.git(&["status", "--porcelain"]), "", "uncommitted files");
}

/// `tix outbox --format json`'s list.
fn outbox(env: &TestEnv) -> Vec<Value> {
    let json = env.json(&["outbox", "--format", "json"]);
    json["mail"]
        .as_array()
        .unwrap_or_else(|| panic!("tix outbox: {json}"))
        .clone()
}

/// Sets the clock a minute past the outbox entry's `next_try`.
fn make_due(env: &TestEnv, entry: &Value) {
    let next = entry["next_try"]
        .as_str()
        .unwrap_or_else(|| panic!("no next_try: {entry}"));
    let at = chrono::DateTime::parse_from_rfc3339(next)
        .unwrap_or_else(|e| panic!("{next}: {e}"))
        .to_utc()
        + chrono::Duration::minutes(1);
    env.at(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
}

// ---------------------------------------------------------------------------
// 1. The acknowledgement

#[test]
fn a_mail_that_makes_a_ticket_is_acknowledged_and_a_reply_to_it_is_not() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    assert_template_has(&env, ACK);
    let id = ticket_from_mail(&env);

    let ack = received(&server, 1).remove(0);
    let mid = assert_notice(&ack, &to_bo(&id, ACK.1));
    assert_eq!(server.envelopes()[0].rcpt_to, [BO_EMAIL]);
    let ticket = env.show(&id);
    assert_eq!(roles(&ticket), ["customer", "system"], "{ticket:#}");
    let notice = assert_system_notice(&ticket, &mid, BO_EMAIL, "sent");
    let body = notice["body"].as_str().unwrap_or_default();
    assert!(
        body.contains(&format!("#{id}")) && body.contains(BO),
        "the ack names the ticket and the customer: {notice:#}"
    );
    assert_clean(&env);
    assert_eq!(outbox(&env), Vec::<Value>::new(), "the ack went out");
    let page = ok(&env, &["show", &id]);
    assert!(
        page.stdout.contains("(system)")
            && page.stdout.contains(&format!("mail to {BO_EMAIL}: sent")),
        "tix show lists the ack and its mail: {page:#?}"
    );

    // Bo answers the ack: a customer reply, and no second ack.
    let answer = bo_mail(
        "<cust-2@mail.example.com>",
        Some(&mid),
        "Re: Printer on fire",
        "Still smoking",
    );
    let appended = ingest(&env, "answer.eml", &answer);
    assert_eq!(appended["outcome"], "appended", "{appended}");
    assert_eq!(appended["ticket"], id.as_str(), "{appended}");
    assert_received(&server, 1, "a customer reply gets no acknowledgement");
    let ticket = env.show(&id);
    assert_eq!(
        roles(&ticket),
        ["customer", "system", "customer"],
        "{ticket:#}"
    );
    assert_eq!(outbox(&env), Vec::<Value>::new(), "nothing queued either");
}

#[test]
fn an_acknowledgement_greets_a_sender_without_a_name_by_address() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let mail = first_mail().replace(
        &format!("From: {BO} <{BO_EMAIL}>"),
        "From: carl@example.com",
    );
    let created = ingest(&env, "carl.eml", &mail);
    assert_eq!(created["outcome"], "created", "{created}");
    let id = ticket_of(&created);
    let raw = received(&server, 1).remove(0);
    assert_notice(
        &raw,
        &Expected {
            name: "carl@example.com",
            email: "carl@example.com",
            ..to_bo(&id, ACK.1)
        },
    );
}

#[test]
fn an_acknowledgement_that_cannot_go_waits_in_the_outbox_and_ingest_still_succeeds() {
    let mut server = SmtpServer::start();
    let env = notice_desk(&server, "");
    server.stop();
    let path = mail_file(&env, "first.eml", &first_mail());
    let ingested = ok(&env, &["ingest", &path]);
    assert!(ingested.stdout.contains("new ticket from"), "{ingested:#?}");
    assert!(
        ingested
            .stderr
            .contains(&format!("mail to {BO_EMAIL} queued"))
            && ingested.stderr.contains("tix outbox --send"),
        "{ingested:#?}"
    );
    let id = ingested.stdout.split(':').next().unwrap().to_owned();
    assert_clean(&env);
    let ticket = env.show(&id);
    let mid = messages(&ticket).last().unwrap()["message_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the ack has no Message-ID: {ticket:#}"))
        .to_owned();
    let notice = assert_system_notice(&ticket, &mid, BO_EMAIL, "failed");
    assert_eq!(notice["mail"]["attempts"], 1, "{notice:#}");
    let queued = outbox(&env);
    assert_eq!(queued.len(), 1, "{queued:#?}");
    assert_eq!(queued[0]["message_id"], mid.as_str(), "{queued:#?}");

    server.restart();
    make_due(&env, &queued[0]);
    ok(&env, &["outbox", "--send"]);
    let raw = received(&server, 1).remove(0);
    assert_eq!(assert_notice(&raw, &to_bo(&id, ACK.1)), mid);
    assert_eq!(outbox(&env), Vec::<Value>::new());
}

// ---------------------------------------------------------------------------
// 2. The resolved notice

#[test]
fn tix_resolve_sends_the_resolved_notice() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    assert_template_has(&env, RESOLVED);
    let id = ticket_from_mail(&env);
    received(&server, 1);

    let resolve = ok(&env, &["resolve", &id]);
    assert!(
        resolve.stdout.contains(&format!("mail sent to {BO_EMAIL}")),
        "{resolve:#?}"
    );
    let all = received(&server, 2);
    let mid = assert_notice(&all[1], &to_bo(&id, RESOLVED.1));
    let ticket = env.show(&id);
    assert_eq!(ticket["status"], "resolved", "{ticket:#}");
    assert_system_notice(&ticket, &mid, BO_EMAIL, "sent");
    assert_clean(&env);
}

#[test]
fn tix_reply_resolve_sends_the_reply_and_the_resolved_notice() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let id = ticket_from_mail(&env);
    received(&server, 1);

    let reply = ok(&env, &["reply", &id, "--resolve", "-m", "Unplug it"]);
    let sent = reply
        .stdout
        .matches(&format!("mail sent to {BO_EMAIL}"))
        .count();
    assert_eq!(sent, 2, "the reply and the notice: {reply:#?}");
    let all = received(&server, 3);

    // The reply first: a person's mail, not Auto-Submitted.
    let answer = parse(&all[1]);
    let seen = String::from_utf8_lossy(&all[1]);
    assert_eq!(
        answer.header_raw("Auto-Submitted"),
        None,
        "a reply is not automatic:\n{seen}"
    );
    assert!(
        answer.body_text(0).is_some_and(|b| b.contains("Unplug it")),
        "{seen}"
    );
    let reply_id = format!("<{}>", answer.message_id().unwrap_or_default());
    // Then the notice.
    let mid = assert_notice(&all[2], &to_bo(&id, RESOLVED.1));
    assert_ne!(mid, reply_id, "two mails, two Message-IDs");

    let ticket = env.show(&id);
    assert_eq!(ticket["status"], "resolved", "{ticket:#}");
    assert_eq!(
        roles(&ticket),
        ["customer", "system", "agent", "system"],
        "{ticket:#}"
    );
    let agent = &messages(&ticket)[2];
    assert_eq!(agent["message_id"], reply_id.as_str(), "{ticket:#}");
    assert_eq!(agent["mail"]["state"], "sent", "{ticket:#}");
    assert_system_notice(&ticket, &mid, BO_EMAIL, "sent");
    assert_clean(&env);
}

// ---------------------------------------------------------------------------
// 3. The closing notice

#[test]
fn tix_close_sends_the_closing_notice() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    assert_template_has(&env, CLOSED);
    let id = ticket_from_mail(&env);
    ok(&env, &["resolve", &id]);
    received(&server, 2);

    let close = ok(&env, &["close", &id]);
    assert!(
        close.stdout.contains(&format!("mail sent to {BO_EMAIL}")),
        "{close:#?}"
    );
    let all = received(&server, 3);
    let mid = assert_notice(&all[2], &to_bo(&id, CLOSED.1));
    let ticket = env.show(&id);
    assert_eq!(ticket["status"], "closed", "{ticket:#}");
    assert_system_notice(&ticket, &mid, BO_EMAIL, "sent");
    assert_clean(&env);
}

/// Asserts the ticket was closed by the default close rule.
fn assert_closed_by_rule(ticket: &Value) {
    assert_eq!(ticket["status"], "closed", "{ticket:#}");
    let history = ticket["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(last["rule"], CLOSE_RULE, "{ticket:#}");
    assert_eq!(last["from"], "resolved", "{ticket:#}");
}

#[test]
fn autoclose_sends_the_closing_notice_once_the_ticket_is_idle_and_exits_0() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    assert!(
        config.contains(&format!("name = \"{CLOSE_RULE}\"")) && config.contains("min = \"96h\""),
        "the default close rule changed; move the times: {config}"
    );
    let id = ticket_from_mail(&env);
    ok(&env, &["resolve", &id]);
    received(&server, 2);

    // Not idle long enough: nothing closes, nothing is sent.
    env.at(T0_PLUS_95H);
    ok(&env, &["autoclose"]);
    assert_eq!(env.status(&id), "resolved");
    assert_received(&server, 2, "no close, no notice");

    env.at(T0_PLUS_97H);
    let autoclose = run(&env, &["autoclose"]);
    assert_eq!(
        autoclose.code,
        Some(0),
        "the mail went out: a clean run: {autoclose:#?}"
    );
    assert!(
        autoclose.stdout.contains(&format!("{CLOSE_RULE}: 1")),
        "{autoclose:#?}"
    );
    let all = received(&server, 3);
    let mid = assert_notice(&all[2], &to_bo(&id, CLOSED.1));
    let ticket = env.show(&id);
    assert_closed_by_rule(&ticket);
    assert_system_notice(&ticket, &mid, BO_EMAIL, "sent");
    assert_clean(&env);
    assert_eq!(outbox(&env), Vec::<Value>::new());

    // Run again: nothing more.
    ok(&env, &["autoclose"]);
    assert_received(&server, 3, "a second run sends nothing");
}

#[test]
fn autoclose_with_the_server_down_commits_the_close_and_queues_the_notice() {
    let mut server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let id = ticket_from_mail(&env);
    ok(&env, &["resolve", &id]);
    received(&server, 2);

    server.stop();
    env.at(T0_PLUS_97H);
    let autoclose = run(&env, &["autoclose"]);
    assert_eq!(
        autoclose.code,
        Some(4),
        "a mail failure is a problem of the run: {autoclose:#?}"
    );
    assert!(
        autoclose.stderr.contains("closing notice") && autoclose.stderr.contains(BO_EMAIL),
        "the warning names the notice: {autoclose:#?}"
    );
    let ticket = env.show(&id);
    assert_closed_by_rule(&ticket);
    assert_clean(&env);
    let mid = messages(&ticket).last().unwrap()["message_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the closing notice has no Message-ID: {ticket:#}"))
        .to_owned();
    let notice = assert_system_notice(&ticket, &mid, BO_EMAIL, "failed");
    assert!(
        notice["body"]
            .as_str()
            .unwrap_or_default()
            .contains(CLOSED.1),
        "{notice:#}"
    );

    let queued = outbox(&env);
    assert_eq!(queued.len(), 1, "the closing notice waits: {queued:#?}");
    assert_eq!(queued[0]["ticket"], id.as_str(), "{queued:#?}");
    assert_eq!(queued[0]["message_id"], mid.as_str(), "{queued:#?}");
    assert_eq!(queued[0]["to"], BO_EMAIL, "{queued:#?}");
    assert_eq!(queued[0]["state"], "failed", "{queued:#?}");
    assert_eq!(queued[0]["attempts"], 1, "{queued:#?}");
    let table = ok(&env, &["outbox"]);
    assert!(
        table.stdout.contains(&id) && table.stdout.contains(&mid),
        "tix outbox lists the notice: {table:#?}"
    );

    // Back up: `tix outbox --send` delivers it, still a notice.
    server.restart();
    make_due(&env, &queued[0]);
    ok(&env, &["outbox", "--send"]);
    let all = received(&server, 3);
    let sent = assert_notice(&all[2], &to_bo(&id, CLOSED.1));
    assert_eq!(sent, mid);
    assert_eq!(outbox(&env), Vec::<Value>::new());
}

#[test]
fn autoclose_json_names_the_closing_notice_that_failed() {
    // docs/json-schema.md: the run exits 4 when a closing notice could not
    // be sent. Every other cause of exit 4 is listed in the JSON (`errors`,
    // `conflicts`, `hook_failures`); a script reading it must be able to
    // tell this one too: which ticket's notice, to whom, why.
    let mut server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let id = ticket_from_mail(&env);
    ok(&env, &["resolve", &id]);
    server.stop();
    env.at(T0_PLUS_97H);
    let autoclose = run(&env, &["autoclose", "--format", "json"]);
    assert_eq!(autoclose.code, Some(4), "{autoclose:#?}");
    let json: Value = serde_json::from_str(&autoclose.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {autoclose:#?}"));
    assert_eq!(json["changed"], 1, "{json:#}");
    let listed = ["errors", "conflicts", "hook_failures"]
        .iter()
        .any(|key| json[key].as_array().is_some_and(|a| !a.is_empty()));
    assert!(
        listed || json.to_string().contains(BO_EMAIL),
        "exit 4, yet the JSON names no problem and no failed mail: {json:#}"
    );
}

// ---------------------------------------------------------------------------
// 4. Templates checked when the desk is loaded

/// Every kind of command refuses a desk whose configuration names a bad
/// template, with an error naming each of `words`, and writes nothing;
/// `tix doctor` lists the problem.
fn assert_every_command_refuses(env: &TestEnv, id: &str, words: &[&str]) {
    let ack = mail_file(
        env,
        "new.eml",
        &bo_mail("<cust-9@x.example>", None, "Hi", "x"),
    );
    let head = env.head();
    let commands: [&[&str]; 10] = [
        &["list"],
        &["show", id],
        &["show", id, "--format", "json"],
        &["new", "Another"],
        &["reply", id, "-m", "hello"],
        &["resolve", id],
        &["ingest", &ack],
        &["outbox"],
        &["outbox", "--send"],
        &["autoclose"],
    ];
    for args in commands {
        let stderr = env.fail(args, 1);
        for word in words {
            assert!(
                stderr.contains(word),
                "tix {args:?}: the error lacks {word:?}: {stderr}"
            );
        }
        assert_eq!(env.head(), head, "tix {args:?} wrote a commit");
    }
    let doctor = run(env, &["doctor"]);
    assert_eq!(doctor.code, Some(1), "{doctor:#?}");
    for word in words {
        assert!(
            doctor.stdout.contains(word),
            "doctor lacks {word:?}: {doctor:#?}"
        );
    }
    let json = run(env, &["doctor", "--format", "json"]);
    assert_eq!(json.code, Some(1), "{json:#?}");
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| {
            let message = p["message"].as_str().unwrap_or_default();
            words.iter().all(|w| message.contains(w))
        }),
        "doctor --format json: {report:#}"
    );
    assert_eq!(env.head(), head, "tix doctor wrote a commit");
}

#[test]
fn a_template_naming_an_unknown_variable_is_refused_by_every_command_and_doctor() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let id = env.new_ticket_with("Printer on fire", &["--email", BO_EMAIL, "-m", "x"]);
    let ack = std::fs::read_to_string(env.path("templates/ack.txt")).unwrap();
    assert!(ack.contains("{{ customer.name }}"), "{ack}");
    env.commit_file(
        "templates/ack.txt",
        &ack.replace("{{ customer.name }}", "{{ customer.nmae }}"),
    );

    assert_every_command_refuses(&env, &id, &["templates/ack.txt", "customer.nmae"]);
    assert_received(&server, 0, "nothing is sent from a refused desk");

    // Fixed and committed: the desk loads again.
    env.commit_file("templates/ack.txt", &ack);
    ok(&env, &["list"]);
    ok(&env, &["doctor"]);
}

#[test]
fn a_notice_naming_a_template_that_is_not_committed_is_refused_until_it_is() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let id = ticket_from_mail(&env);
    received(&server, 1);
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &text.replace("resolved = \"resolved\"", "resolved = \"thanks\""),
    );
    // Written, not committed.
    let thanks = "Thanks {{ customer.name }}, #{{ ticket.id }} is done.\n";
    env.write("templates/thanks.txt", thanks);

    assert_every_command_refuses(&env, &id, &["templates/thanks.txt", "not committed"]);
    assert_received(&server, 1, "nothing is sent from a refused desk");

    // Committed: the notice is that template.
    env.git(&["add", "templates/thanks.txt"]);
    env.git(&["commit", "-q", "-m", "thanks"]);
    ok(&env, &["resolve", &id]);
    let all = received(&server, 2);
    let want = format!("Thanks {BO}, #{id} is done.\n");
    let notice = parse(&all[1]);
    let text = notice
        .body_text(0)
        .unwrap_or_default()
        .replace("\r\n", "\n");
    // The transport may add line ends after the text.
    assert_eq!(
        text.trim_end(),
        want.trim_end(),
        "{}",
        String::from_utf8_lossy(&all[1])
    );
    let ticket = env.show(&id);
    let mid = format!("<{}>", notice.message_id().unwrap_or_default());
    let recorded = assert_system_notice(&ticket, &mid, BO_EMAIL, "sent");
    assert_eq!(recorded["body"], want.as_str(), "{ticket:#}");
}

// ---------------------------------------------------------------------------
// 5. A customer's mail to a closed ticket

/// Bo's ticket from his mail, resolved and closed by hand; returns its id
/// and the closing notice's Message-ID (three mails received).
fn closed_ticket(env: &TestEnv, server: &SmtpServer) -> (String, String) {
    let id = ticket_from_mail(env);
    ok(env, &["resolve", &id]);
    ok(env, &["close", &id]);
    let all = received(server, 3);
    let mid = assert_notice(&all[2], &to_bo(&id, CLOSED.1));
    assert_eq!(env.status(&id), "closed");
    (id, mid)
}

/// Bo's answer to the closing notice `mid`.
fn answer_to_closed(mid: &str) -> String {
    bo_mail(
        "<cust-after@mail.example.com>",
        Some(mid),
        "Re: Printer on fire",
        "It is back",
    )
}

#[test]
fn closed_reply_follow_up_makes_a_new_ticket_linked_to_the_closed_one() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let (id, mid) = closed_ticket(&env, &server);
    let before = env.show(&id);

    let result = ingest(&env, "after.eml", &answer_to_closed(&mid));
    assert_eq!(result["outcome"], "created", "{result}");
    let new = ticket_of(&result);
    assert_ne!(new, id, "{result}");
    let ticket = env.show(&new);
    assert_eq!(ticket["links"]["follow_up_of"], id.as_str(), "{ticket:#}");
    assert_eq!(ticket["customer"]["email"], BO_EMAIL, "{ticket:#}");
    let first = &messages(&ticket)[0];
    assert_eq!(first["role"], "customer", "{ticket:#}");
    assert_eq!(first["message_id"], "<cust-after@mail.example.com>");
    assert_eq!(
        env.show(&id)["messages"],
        before["messages"],
        "closed stays"
    );
    assert_eq!(env.status(&id), "closed");

    // The new ticket is acknowledged like any other.
    let all = received(&server, 4);
    let ack = parse(&all[3]);
    let seen = String::from_utf8_lossy(&all[3]);
    assert_eq!(
        ack.in_reply_to().as_text(),
        Some("cust-after@mail.example.com"),
        "{seen}"
    );
    assert!(
        ack.body_text(0)
            .is_some_and(|b| b.contains(&format!("#{new}")) && b.contains(ACK.1)),
        "{seen}"
    );
}

#[test]
fn closed_reply_reopen_opens_the_closed_ticket_and_appends_the_mail() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "closed_reply = \"reopen\"\n");
    let (id, mid) = closed_ticket(&env, &server);
    let count = messages(&env.show(&id)).len();

    let result = ingest(&env, "after.eml", &answer_to_closed(&mid));
    assert_eq!(result["outcome"], "appended", "{result}");
    assert_eq!(result["ticket"], id.as_str(), "{result}");
    let ticket = env.show(&id);
    assert_eq!(ticket["status"], "open", "{ticket:#}");
    assert_eq!(ticket["reopens"], 1, "{ticket:#}");
    let all = messages(&ticket);
    assert_eq!(all.len(), count + 1, "{ticket:#}");
    let last = all.last().unwrap();
    assert_eq!(last["role"], "customer", "{ticket:#}");
    assert_eq!(last["message_id"], "<cust-after@mail.example.com>");
    assert_eq!(last["body"], "It is back\n", "{ticket:#}");
    let history = ticket["history"].as_array().unwrap();
    assert_eq!(history.last().unwrap()["from"], "closed", "{ticket:#}");
    assert_eq!(env.show(&id)["links"]["follow_up_of"], Value::Null);
    assert_eq!(
        env.json(&["list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_received(&server, 3, "a reopen sends no notice");
    assert_clean(&env);
}

#[test]
fn closed_reply_refuse_writes_nothing_and_exits_1_with_one_line() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "closed_reply = \"refuse\"\n");
    let (id, mid) = closed_ticket(&env, &server);
    let before = env.show(&id);
    let head = env.head();

    let path = mail_file(&env, "after.eml", &answer_to_closed(&mid));
    let refused = run(&env, &["ingest", &path]);
    assert_eq!(refused.code, Some(1), "{refused:#?}");
    let lines: Vec<&str> = refused.stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("error:") && lines[0].contains(&id),
        "one error line naming the ticket: {refused:#?}"
    );
    assert_eq!(refused.stdout, "", "{refused:#?}");
    assert_eq!(env.head(), head, "nothing committed");
    assert_clean(&env);
    assert_eq!(env.show(&id)["messages"], before["messages"]);
    assert_eq!(env.status(&id), "closed");
    assert_eq!(
        env.json(&["list", "--all", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1,
        "no new ticket"
    );
    assert_received(&server, 3, "nothing sent");

    // JSON says the same.
    let json = run(&env, &["ingest", &path, "--format", "json"]);
    assert_eq!(json.code, Some(1), "{json:#?}");
    let report: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(report["results"][0]["outcome"], "refused", "{report:#}");
    assert_eq!(report["refused"], 1, "{report:#}");
    assert_eq!(env.head(), head, "nothing committed");
}

// ---------------------------------------------------------------------------
// 6. Hostile header text

/// `text` as one RFC 2047 encoded word, every byte Q-encoded (a line
/// break, an escape or a bidi override in it survive the transport).
fn encoded_word(text: &str) -> String {
    let hex: String = text.bytes().map(|b| format!("={b:02X}")).collect();
    format!("=?UTF-8?Q?{hex}?=")
}

/// What inbound.rs's `one_line` makes of header text: control characters
/// and white space split words, joined by one space.
fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

const ESC: char = '\u{1b}';
const RLO: char = '\u{202e}';

/// The decoded Subject and From name of the hostile mail, and the mail.
fn hostile_mail() -> (String, String, String) {
    let encoded_subject = format!("part one\npart two {ESC}[31mred{RLO}");
    let subject = format!("Refund {ESC}[2J now {RLO}gnp.exe {encoded_subject}");
    let name = format!("Eve {ESC}[2J{RLO}Evil\nSecond");
    let mail = format!(
        "From: {} <eve@example.com>\n\
         To: support@example.com\n\
         Subject: Refund {ESC}[2J now {RLO}gnp.exe {}\n\
         Message-ID: <evil-1@example.com>\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         body {ESC}[2J text\n",
        encoded_word(&name),
        encoded_word(&encoded_subject),
    );
    (subject, name, mail)
}

/// Asserts `text` (what `what` printed) holds no escape and no override.
fn assert_inert(text: &str, what: &str) {
    assert!(
        !text.contains(ESC) && !text.contains(RLO),
        "{what} prints a raw ESC or U+202E: {text:?}"
    );
}

/// Asserts the commit message `rev` has one line before its trailers.
fn assert_one_subject_line(env: &TestEnv, rev: &str, id: &str) {
    let message = env.git(&["log", "-1", "--format=%B", rev]);
    let head: Vec<&str> = message
        .lines()
        .take_while(|l| !l.starts_with("Tix-"))
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        head.len(),
        1,
        "{rev}: one line before the trailers: {message:?}"
    );
    assert!(
        head[0].starts_with(&format!("{id}: ")),
        "{rev}: {message:?}"
    );
    assert!(!head[0].contains(ESC), "{rev}: {message:?}");
    assert!(
        message.contains(&format!("\nTix-Ticket: {id}\n")),
        "{rev}: {message:?}"
    );
}

#[test]
fn hostile_subject_and_sender_name_are_inert_in_tables_exact_in_json_one_line_in_git() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let (subject, name, mail) = hostile_mail();
    let path = mail_file(&env, "evil.eml", &mail);
    let ingested = ok(&env, &["ingest", &path]);
    assert_inert(&ingested.stdout, "tix ingest");
    assert!(
        ingested.stdout.contains("new ticket from eve@example.com"),
        "{ingested:#?}"
    );
    let id = ingested.stdout.split(':').next().unwrap().trim().to_owned();

    // JSON: the exact text, made one line (line breaks and controls are
    // word breaks), the override kept; the body as it came.
    let ticket = env.show(&id);
    let want_subject = one_line(&subject);
    let want_name = one_line(&name);
    assert!(want_subject.contains(RLO) && !want_subject.contains('\n'));
    assert_eq!(ticket["subject"], want_subject.as_str(), "{ticket:#}");
    assert_eq!(ticket["customer"]["name"], want_name.as_str(), "{ticket:#}");
    assert_eq!(ticket["customer"]["email"], "eve@example.com", "{ticket:#}");
    assert_eq!(
        messages(&ticket)[0]["body"],
        format!("body {ESC}[2J text\n"),
        "{ticket:#}"
    );

    // Tables: no raw escape, no override.
    let show = ok(&env, &["show", &id]);
    assert_inert(&show.stdout, "tix show");
    assert!(
        show.stdout.contains("gnp.exe") && show.stdout.contains("Evil"),
        "{show:#?}"
    );
    let list = ok(&env, &["list"]);
    assert_inert(&list.stdout, "tix list");
    assert!(list.stdout.contains(&id), "{list:#?}");
    let outbox = ok(&env, &["outbox"]);
    assert_inert(&outbox.stdout, "tix outbox");

    // git: one subject line on the ticket's commit and on the mail record.
    assert_eq!(
        env.git(&["log", "-1", "--format=%(trailers:key=Tix-Action,valueonly)"])
            .trim(),
        "mail-sent"
    );
    assert_one_subject_line(&env, "HEAD", &id);
    assert_one_subject_line(&env, "HEAD~1", &id);

    // The ack went out, its Subject one line, no escape in its headers.
    let raw = received(&server, 1).remove(0);
    let seen = String::from_utf8_lossy(&raw);
    let headers = seen.split("\r\n\r\n").next().unwrap_or_default();
    assert!(!headers.contains(ESC), "{seen}");
    let ack = parse(&raw);
    assert_eq!(
        ack.subject(),
        Some(format!("Re: {want_subject} [#{id}]").as_str()),
        "{seen}"
    );
    assert_eq!(
        ack.to().and_then(|t| t.first()).and_then(|a| a.address()),
        Some("eve@example.com"),
        "{seen}"
    );
}

// ---------------------------------------------------------------------------
// 7. What `tix ingest` and `tix outbox` print

/// Runs `tix ingest FILE` (table) of `mail` expecting exit 0; returns stdout.
fn ingest_table(env: &TestEnv, name: &str, mail: &str) -> String {
    let path = mail_file(env, name, mail);
    ok(env, &["ingest", &path]).stdout
}

#[test]
fn tix_ingest_prints_one_line_per_outcome() {
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let out = ingest_table(&env, "first.eml", &first_mail());
    let id = out.split(':').next().unwrap().to_owned();
    assert_eq!(out, format!("{id}: new ticket from {BO_EMAIL}\n"));

    let ack = received(&server, 1).remove(0);
    let ack_id = format!("<{}>", parse(&ack).message_id().unwrap());
    let answer = bo_mail("<cust-2@mail.example.com>", Some(&ack_id), "Re: x", "y");
    let out = ingest_table(&env, "answer.eml", &answer);
    assert_eq!(out, format!("{id}: customer reply\n"));

    let out = ingest_table(&env, "again.eml", &answer);
    assert_eq!(
        out,
        format!("skipped <cust-2@mail.example.com>: already stored on {id}\n")
    );

    let auto = first_mail()
        .replace("<cust-1@", "<auto-1@")
        .replace("Subject:", "Auto-Submitted: auto-replied\nSubject:");
    let out = ingest_table(&env, "auto.eml", &auto);
    assert!(
        out.starts_with("ignored ") && out.contains("auto.eml") && out.contains("automatic mail"),
        "{out:?}"
    );
    assert_received(&server, 1, "only the first mail was acknowledged");
}

#[test]
fn tix_outbox_lists_what_waits_and_send_says_what_it_did() {
    let mut server = SmtpServer::start();
    let env = notice_desk(&server, "");
    let id = ticket_from_mail(&env);
    received(&server, 1);
    assert_eq!(ok(&env, &["outbox"]).stdout, "The outbox is empty.\n");

    server.stop();
    let resolve = ok(&env, &["resolve", &id]);
    assert!(
        resolve
            .stdout
            .contains(&format!("mail queued for {BO_EMAIL}")),
        "{resolve:#?}"
    );
    assert!(resolve.stderr.contains("tix outbox --send"), "{resolve:#?}");
    let table = ok(&env, &["outbox"]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1, "{table:?}");
    for word in [
        id.as_str(),
        "failed",
        BO_EMAIL,
        &format!("<tix.{id}."),
        "1 failed try",
        "next try",
    ] {
        assert!(lines[0].contains(word), "no {word:?} in {table:?}");
    }

    // Not due yet: waits.
    let early = ok(&env, &["outbox", "--send"]);
    assert_eq!(early.stdout, "sent 0, failed 0, waiting 1\n", "{early:#?}");
    // Due, server still down: fails again, exit 1.
    make_due(&env, &outbox(&env)[0]);
    let again = run(&env, &["outbox", "--send"]);
    assert_eq!(again.code, Some(1), "{again:#?}");
    assert!(
        again
            .stdout
            .contains(&format!("{id}: mail to {BO_EMAIL} failed"))
            && again.stdout.contains("sent 0, failed 1, waiting 0"),
        "{again:#?}"
    );
    // Up and due: sent.
    server.restart();
    make_due(&env, &outbox(&env)[0]);
    let sent = ok(&env, &["outbox", "--send"]);
    assert_eq!(
        sent.stdout,
        format!("{id}: mail sent to {BO_EMAIL}\nsent 1, failed 0, waiting 0\n"),
        "{sent:#?}"
    );
    let all = received(&server, 2);
    assert_notice(&all[1], &to_bo(&id, RESOLVED.1));
    assert_eq!(ok(&env, &["outbox"]).stdout, "The outbox is empty.\n");
}

// ---------------------------------------------------------------------------
// The variables of an acknowledgement

#[test]
fn an_acknowledgement_is_not_signed_with_the_customers_own_name_as_agent() {
    // template.rs: `agent` is "the agent who acted (or the desk, for
    // automation)". A ticket made from a mail has no agent; the ack must
    // not sign with the customer's own name and address.
    let server = SmtpServer::start();
    let env = notice_desk(&server, "");
    env.commit_file(
        "templates/ack.txt",
        "Hello {{ customer.name }}, ticket #{{ ticket.id }} is open.\n\
         -- {{ agent.name }} <{{ agent.email }}>\n",
    );
    let id = ticket_from_mail(&env);
    let raw = received(&server, 1).remove(0);
    let body = parse(&raw).body_text(0).unwrap_or_default().into_owned();
    assert!(
        body.starts_with(&format!("Hello {BO}, ticket #{id}")),
        "{body:?}"
    );
    let signature = body
        .lines()
        .find(|l| l.starts_with("-- "))
        .unwrap_or_else(|| panic!("no signature: {body:?}"));
    assert!(
        !signature.contains(BO) && !signature.contains(BO_EMAIL),
        "the ack to {BO} is signed by {BO} as the agent: {signature:?}"
    );
}
