//! Outbound mail end to end (docs/mail.md): `tix reply` mails the
//! customer through a real SMTP server (aiosmtpd on loopback) or a real
//! sendmail (msmtp), `tix outbox` keeps what could not go until `--send`
//! delivers it, and replies thread with what `tix ingest` took in. The
//! received bytes are read back with mail_parser.

use std::time::Duration;

use mail_parser::{Message, MessageParser, MimeHeaders};
use serde_json::Value;

use crate::common::mail::{configure, printer_ticket};
use crate::common::smtp::{SmtpServer, msmtp_command, msmtp_rc};
use crate::common::{TestEnv, assert_no_panic};

/// How long a sent message may take to land.
const WAIT: Duration = Duration::from_secs(10);

/// The `[mail]` transport lines for the SMTP server on `port`.
fn smtp(port: u16) -> String {
    format!(
        "transport = \"smtp\"\nsmtp = {{ host = \"127.0.0.1\", port = {port}, security = \"none\" }}\n"
    )
}

/// The `[mail]` transport lines for a sendmail `command` (plain
/// characters only: it goes into a TOML string as it is).
fn sendmail(command: &str) -> String {
    assert!(!command.contains(['"', '\\']), "{command}");
    format!("transport = \"sendmail\"\nsendmail = \"{command}\"\n")
}

/// A desk that sends through `server` over SMTP.
fn smtp_desk(server: &SmtpServer) -> TestEnv {
    let env = TestEnv::new();
    configure(&env, &smtp(server.port()));
    env
}

/// A desk that sends through msmtp to `server`, its command not allowed
/// on this clone yet.
fn msmtp_desk(server: &SmtpServer) -> TestEnv {
    let env = TestEnv::new();
    let rc = msmtp_rc(env.home(), server.port());
    configure(&env, &sendmail(&msmtp_command(&rc)));
    env
}

/// Runs `tix` expecting exit 0; returns stdout and stderr.
fn run(env: &TestEnv, args: &[&str]) -> (String, String) {
    let out = env.tix(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "tix {args:?} ({:?}):\nstdout: {stdout}\nstderr: {stderr}",
        out.status.code()
    );
    assert_no_panic(&stderr);
    (stdout, stderr)
}

/// Parses a received message.
fn parse(raw: &[u8]) -> Message<'_> {
    MessageParser::default()
        .parse(raw)
        .unwrap_or_else(|| panic!("not a mail:\n{}", String::from_utf8_lossy(raw)))
}

/// Waits for the server's first message and checks it is the only one.
fn one_message(server: &SmtpServer) -> Vec<u8> {
    let mut received = server.wait_for(1, WAIT);
    assert_eq!(
        received.len(),
        1,
        "one message expected, got:\n{}",
        received
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
    received.remove(0)
}

/// Tells whether `mid` (without angle brackets) is
/// `tix.ID.N.SALT@example.com` (N digits, SALT six hex digits).
fn is_tix_message_id(mid: &str, id: &str) -> bool {
    mid.strip_prefix(&format!("tix.{id}."))
        .and_then(|rest| rest.strip_suffix("@example.com"))
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(n, salt)| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && salt.len() == 6
                && salt.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Checks the headers of a reply on Bo's "Printer on fire" ticket `id`
/// and that its text has `body`; returns its Message-ID (no brackets).
fn assert_reply_to_bo(raw: &[u8], id: &str, body: &str) -> String {
    let mail = parse(raw);
    let seen = String::from_utf8_lossy(raw);
    let from = mail.from().and_then(|from| from.first());
    assert_eq!(
        from.and_then(|a| a.name()),
        Some("Example Support"),
        "From name:\n{seen}"
    );
    assert_eq!(
        from.and_then(|a| a.address()),
        Some("support@example.com"),
        "From address:\n{seen}"
    );
    let to: Vec<&str> = mail
        .to()
        .map(|to| to.iter().filter_map(|a| a.address()).collect())
        .unwrap_or_default();
    assert_eq!(to, ["bo@example.com"], "To:\n{seen}");
    let subject = format!("Re: Printer on fire [#{id}]");
    assert_eq!(mail.subject(), Some(subject.as_str()), "Subject:\n{seen}");
    assert!(mail.date().is_some(), "no Date:\n{seen}");
    let mid = mail
        .message_id()
        .unwrap_or_else(|| panic!("no Message-ID:\n{seen}"));
    assert!(
        is_tix_message_id(mid, id),
        "Message-ID <{mid}>, expected <tix.{id}.N.SALT@example.com>:\n{seen}"
    );
    let text = mail
        .body_text(0)
        .unwrap_or_else(|| panic!("no text body:\n{seen}"));
    assert!(text.contains(body), "body {text:?} lacks {body:?}:\n{seen}");
    mid.to_owned()
}

/// In-Reply-To and References of a received message, without brackets.
fn threading(raw: &[u8]) -> (Option<String>, Vec<String>) {
    let mail = parse(raw);
    let in_reply_to = mail.in_reply_to().as_text().map(str::to_owned);
    let references = mail
        .references()
        .as_text_list()
        .map(|list| list.iter().map(|r| r.to_string()).collect())
        .unwrap_or_default();
    (in_reply_to, references)
}

/// The last message of a ticket's JSON.
fn last_message(ticket: &Value) -> Value {
    ticket["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .cloned()
        .unwrap_or_else(|| panic!("no messages: {ticket}"))
}

/// `tix outbox --format json`'s list.
fn outbox(env: &TestEnv) -> Vec<Value> {
    let json = env.json(&["outbox", "--format", "json"]);
    json["mail"]
        .as_array()
        .unwrap_or_else(|| panic!("tix outbox: {json}"))
        .clone()
}

/// The one mail in the outbox, checked to be Bo's on ticket `id` after
/// `attempts` failed tries (not checked when `None`).
fn one_queued(env: &TestEnv, id: &str, attempts: Option<u64>) -> Value {
    let mail = outbox(env);
    assert_eq!(mail.len(), 1, "one queued mail expected: {mail:?}");
    let entry = mail[0].clone();
    assert_eq!(entry["ticket"], id, "{entry}");
    assert_eq!(entry["to"], "bo@example.com", "{entry}");
    assert!(
        matches!(entry["state"].as_str(), Some("queued" | "failed")),
        "{entry}"
    );
    let mid = entry["message_id"].as_str().unwrap_or_default();
    assert!(
        mid.strip_prefix('<')
            .and_then(|m| m.strip_suffix('>'))
            .is_some_and(|m| is_tix_message_id(m, id)),
        "{entry}"
    );
    if let Some(attempts) = attempts {
        assert_eq!(entry["attempts"], attempts, "{entry}");
        assert!(
            entry["error"]
                .as_str()
                .is_some_and(|e| !e.trim().is_empty()),
            "a failed try names its error: {entry}"
        );
    }
    entry
}

/// Parses an RFC 3339 time.
fn time(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_utc()
}

/// Moves the clock past when the outbox `entry` is due again: a minute
/// after its `next_try`, or an hour on when it names none.
fn make_due(env: &TestEnv, entry: &Value) {
    let at = match entry["next_try"].as_str() {
        Some(next) => time(next) + chrono::Duration::minutes(1),
        None => time(&env.now()) + chrono::Duration::hours(1),
    };
    env.at(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
}

/// Before its `next_try`, `tix outbox --send` leaves `entry` queued and
/// sends nothing (when the entry is due at once there is nothing to see).
fn assert_not_sent_before_due(env: &TestEnv, server: &SmtpServer, entry: &Value) {
    let Some(next) = entry["next_try"].as_str() else {
        return;
    };
    if time(next) <= time(&env.now()) {
        return;
    }
    let before = server.messages().len();
    run(env, &["outbox", "--send"]);
    assert_eq!(server.messages().len(), before, "sent before {next}");
    assert_eq!(outbox(env).len(), 1, "still queued before {next}");
}

/// The committed state after a reply: nothing left uncommitted, and the
/// ticket ends with the agent's reply `body` carrying the mail's id.
fn assert_reply_recorded(env: &TestEnv, id: &str, body: &str) -> Value {
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        "",
        "the reply and its mail are committed"
    );
    let ticket = env.show(id);
    let reply = last_message(&ticket);
    assert_eq!(reply["role"], "agent", "{ticket}");
    assert_eq!(reply["body"], body, "{ticket}");
    reply
}

#[test]
fn a_reply_goes_to_the_customer_over_smtp() {
    let server = SmtpServer::start();
    let env = smtp_desk(&server);
    let id = printer_ticket(&env);
    let (out, _) = run(&env, &["reply", &id, "-m", "Unplug it"]);
    assert!(out.contains("mail sent to bo@example.com"), "{out}");
    let raw = one_message(&server);
    let mid = assert_reply_to_bo(&raw, &id, "Unplug it");
    let mail = parse(&raw);
    assert!(
        mail.is_content_type("text", "plain"),
        "a reply without attachments is text/plain:\n{}",
        String::from_utf8_lossy(&raw)
    );
    assert_eq!(mail.attachment_count(), 0);
    let envelope = &server.envelopes()[0];
    assert_eq!(envelope.mail_from, "support@example.com", "{envelope:?}");
    assert_eq!(envelope.rcpt_to, ["bo@example.com"], "{envelope:?}");
    let reply = assert_reply_recorded(&env, &id, "Unplug it");
    assert_eq!(reply["message_id"], format!("<{mid}>"), "{reply}");
    assert_eq!(
        outbox(&env),
        Vec::<Value>::new(),
        "sent mail leaves no trace"
    );
}

#[test]
fn a_reply_to_a_ticket_without_a_customer_email_mails_nobody() {
    let server = SmtpServer::start();
    let env = smtp_desk(&server);
    let id = env.new_ticket_with("Printer on fire", &["--customer", "Bo Berg", "-m", "x"]);
    let (out, _) = run(&env, &["reply", &id, "-m", "Unplug it"]);
    assert!(
        !out.contains("mail sent") && !out.contains("mail queued"),
        "{out}"
    );
    assert_reply_recorded(&env, &id, "Unplug it");
    assert_eq!(server.messages(), Vec::<Vec<u8>>::new());
    assert_eq!(outbox(&env), Vec::<Value>::new());
}

#[test]
fn a_reply_goes_through_the_sendmail_command_msmtp() {
    let server = SmtpServer::start();
    let env = msmtp_desk(&server);
    env.ok(&["hooks", "allow"]);
    let id = printer_ticket(&env);
    let (out, _) = run(&env, &["reply", &id, "-m", "Unplug it"]);
    assert!(out.contains("mail sent to bo@example.com"), "{out}");
    let raw = one_message(&server);
    let mid = assert_reply_to_bo(&raw, &id, "Unplug it");
    // msmtp took the recipients from the headers and the sender from From.
    let envelope = &server.envelopes()[0];
    assert_eq!(envelope.mail_from, "support@example.com", "{envelope:?}");
    assert_eq!(envelope.rcpt_to, ["bo@example.com"], "{envelope:?}");
    let reply = assert_reply_recorded(&env, &id, "Unplug it");
    assert_eq!(reply["message_id"], format!("<{mid}>"), "{reply}");
    assert_eq!(outbox(&env), Vec::<Value>::new());
}

/// `tix ingest FILE --format json` of `mail`, written under HOME as
/// `name`; returns the one result.
fn ingest(env: &TestEnv, name: &str, mail: &str) -> Value {
    let path = env.home().join(name);
    std::fs::write(&path, mail).unwrap();
    let json = env.json(&["ingest", path.to_str().unwrap(), "--format", "json"]);
    let results = json["results"]
        .as_array()
        .unwrap_or_else(|| panic!("tix ingest: {json}"));
    assert_eq!(results.len(), 1, "{json}");
    results[0].clone()
}

const CUSTOMER_MAIL: &str = "From: Bo Berg <bo@example.com>
To: Example Support <support@example.com>
Subject: Printer on fire
Date: Mon, 03 Mar 2025 08:55:00 +0000
Message-ID: <cust-1@mail.example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

It smokes
";

/// Bo's answer to the desk's reply `sent` (no brackets): threaded by
/// In-Reply-To alone, the subject carries no `[#ID]`.
fn customer_answer(sent: &str) -> String {
    format!(
        "From: Bo Berg <bo@example.com>
To: support@example.com
Subject: Re: Printer on fire
Date: Mon, 03 Mar 2025 09:30:00 +0000
Message-ID: <cust-2@mail.example.com>
In-Reply-To: <{sent}>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Unplugged. It stopped.
"
    )
}

#[test]
fn replies_thread_with_the_customers_mail_both_ways() {
    let server = SmtpServer::start();
    let env = smtp_desk(&server);
    let created = ingest(&env, "first.eml", CUSTOMER_MAIL);
    assert_eq!(created["outcome"], "created", "{created}");
    let id = created["ticket"]
        .as_str()
        .unwrap_or_else(|| panic!("no ticket: {created}"))
        .to_owned();
    let ticket = env.show(&id);
    assert_eq!(ticket["customer"]["email"], "bo@example.com", "{ticket}");
    assert_eq!(
        ticket["messages"][0]["message_id"], "<cust-1@mail.example.com>",
        "{ticket}"
    );

    // The reply answers the customer's mail.
    run(&env, &["reply", &id, "-m", "Unplug it"]);
    let first = one_message(&server);
    let sent = assert_reply_to_bo(&first, &id, "Unplug it");
    let (in_reply_to, references) = threading(&first);
    assert_eq!(in_reply_to.as_deref(), Some("cust-1@mail.example.com"));
    assert_eq!(references, ["cust-1@mail.example.com"]);

    // The customer's answer to it lands on the same ticket.
    let answer = ingest(&env, "answer.eml", &customer_answer(&sent));
    assert_eq!(answer["outcome"], "appended", "{answer}");
    assert_eq!(answer["ticket"], id.as_str(), "{answer}");
    assert_eq!(
        answer["message_id"], "<cust-2@mail.example.com>",
        "{answer}"
    );
    let ticket = env.show(&id);
    let last = last_message(&ticket);
    assert_eq!(last["role"], "customer", "{ticket}");
    assert_eq!(last["message_id"], "<cust-2@mail.example.com>", "{ticket}");
    assert!(
        last["body"]
            .as_str()
            .is_some_and(|b| b.contains("Unplugged. It stopped.")),
        "{ticket}"
    );

    // The next reply answers that, and References carries the conversation.
    run(&env, &["reply", &id, "-m", "Good"]);
    let both = server.wait_for(2, WAIT);
    assert_eq!(both.len(), 2);
    let second = assert_reply_to_bo(&both[1], &id, "Good");
    assert_ne!(second, sent, "each mail has its own Message-ID");
    let (in_reply_to, references) = threading(&both[1]);
    assert_eq!(in_reply_to.as_deref(), Some("cust-2@mail.example.com"));
    assert_eq!(
        references,
        [
            "cust-1@mail.example.com",
            sent.as_str(),
            "cust-2@mail.example.com"
        ]
    );
}

#[test]
fn attachments_go_out_as_mime_parts_with_their_names_and_bytes() {
    let server = SmtpServer::start();
    let env = smtp_desk(&server);
    let id = printer_ticket(&env);
    let pdf: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
        .iter()
        .copied()
        .chain(0..=255)
        .collect();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
        .iter()
        .copied()
        .chain((0..=255).rev())
        .collect();
    let files = [("report.pdf", pdf), ("Übersicht 2025.png", png)];
    let mut args = vec!["reply".to_owned(), id.clone(), "-m".into(), "hi".into()];
    for (name, bytes) in &files {
        let path = env.home().join(name);
        std::fs::write(&path, bytes).unwrap();
        args.extend(["--attach".to_owned(), path.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, _) = run(&env, &args);
    assert!(out.contains("mail sent to bo@example.com"), "{out}");

    let raw = one_message(&server);
    assert_reply_to_bo(&raw, &id, "hi");
    let mail = parse(&raw);
    let seen = String::from_utf8_lossy(&raw);
    let attached: Vec<(String, Vec<u8>)> = mail
        .attachments()
        .map(|part| {
            let name = part.attachment_name().unwrap_or_default().to_owned();
            (name, part.contents().to_vec())
        })
        .collect();
    let names: Vec<&str> = attached.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["report.pdf", "Übersicht 2025.png"], "{seen}");
    for ((name, sent), (_, bytes)) in attached.iter().zip(&files) {
        assert_eq!(sent, bytes, "the bytes of {name}:\n{seen}");
    }

    // The reply keeps its attachments in the ticket's folder.
    let reply = assert_reply_recorded(&env, &id, "hi");
    let stored = reply["attachments"]
        .as_array()
        .unwrap_or_else(|| panic!("{reply}"));
    assert_eq!(stored.len(), 2, "{reply}");
    let folder = format!("tickets/{}/{id}/", &id[..2]);
    for (path, (_, bytes)) in stored.iter().zip(&files) {
        let path = path.as_str().unwrap();
        assert!(path.starts_with(&folder), "{path} is not under {folder}");
        assert_eq!(&std::fs::read(env.path(path)).unwrap(), bytes, "{path}");
    }
}

#[test]
fn a_reply_while_the_server_is_down_waits_in_the_outbox_until_sent() {
    let mut server = SmtpServer::start();
    let env = smtp_desk(&server);
    let id = printer_ticket(&env);
    server.stop();
    let before = env.commits();
    let (out, _) = run(&env, &["reply", &id, "-m", "Unplug it"]);
    assert!(
        out.contains("mail queued") && out.contains("tix outbox --send"),
        "{out}"
    );
    assert!(env.commits() > before, "the reply is committed");
    let reply = assert_reply_recorded(&env, &id, "Unplug it");
    let entry = one_queued(&env, &id, Some(1));
    assert_eq!(entry["message_id"], reply["message_id"], "{entry} {reply}");

    // Up again on the same port: sent once due, with the same Message-ID.
    server.restart();
    assert_not_sent_before_due(&env, &server, &entry);
    make_due(&env, &entry);
    run(&env, &["outbox", "--send"]);
    let raw = one_message(&server);
    let mid = assert_reply_to_bo(&raw, &id, "Unplug it");
    assert_eq!(entry["message_id"], format!("<{mid}>"), "{entry}");
    assert_eq!(outbox(&env), Vec::<Value>::new());
    // Nothing goes twice.
    run(&env, &["outbox", "--send"]);
    assert_eq!(server.messages().len(), 1);
}

#[test]
fn a_failing_sendmail_command_leaves_the_mail_queued() {
    let env = TestEnv::new();
    configure(&env, &sendmail("false"));
    env.ok(&["hooks", "allow"]);
    let id = printer_ticket(&env);
    let (out, _) = run(&env, &["reply", &id, "-m", "Unplug it"]);
    assert!(out.contains("mail queued"), "{out}");
    assert_reply_recorded(&env, &id, "Unplug it");
    let entry = one_queued(&env, &id, Some(1));
    assert_eq!(
        entry["state"], "failed",
        "tried, and waits to be tried again: {entry}"
    );

    make_due(&env, &entry);
    let again = env.tix(&["outbox", "--send"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    assert_no_panic(&stderr);
    one_queued(&env, &id, Some(2));
}

#[test]
fn a_sendmail_command_not_allowed_on_this_clone_runs_only_once_allowed() {
    let server = SmtpServer::start();
    let env = msmtp_desk(&server);
    let id = printer_ticket(&env);
    let (out, err) = run(&env, &["reply", &id, "-m", "Unplug it"]);
    assert!(out.contains("mail queued"), "{out}");
    assert!(err.contains("tix hooks allow"), "says how to allow: {err}");
    assert_reply_recorded(&env, &id, "Unplug it");
    assert_eq!(server.messages(), Vec::<Vec<u8>>::new(), "msmtp never ran");
    let entry = one_queued(&env, &id, None);

    env.ok(&["hooks", "allow"]);
    make_due(&env, &entry);
    run(&env, &["outbox", "--send"]);
    let raw = one_message(&server);
    let mid = assert_reply_to_bo(&raw, &id, "Unplug it");
    assert_eq!(entry["message_id"], format!("<{mid}>"), "{entry}");
    assert_eq!(outbox(&env), Vec::<Value>::new());
}
