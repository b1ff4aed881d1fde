//! SMTP over real TLS, end to end (docs/mail.md, "Transports"): `tix
//! reply` talks to aiosmtpd on loopback that shows a certificate signed by
//! a CA made for the test with `openssl`, over STARTTLS (`security =
//! "starttls"`) or TLS from the first byte (`"tls"`). tix trusts the CA
//! only through `SSL_CERT_FILE` (rustls-native-certs then reads that file
//! instead of the system's roots). The server writes down every command
//! and whether TLS was on, so the tests see what went in the clear; it
//! checks AUTH itself.

use std::ffi::OsString;
use std::time::Duration;

use mail_parser::MessageParser;
use serde_json::Value;

use crate::common::mail::{configure, printer_ticket};
use crate::common::smtp::{Certs, Session, SmtpServer, TlsMode, transcript};
use crate::common::{TestEnv, assert_no_panic};

/// How long a sent message or a connection's end may take to show.
const WAIT: Duration = Duration::from_secs(10);

/// The login the AUTH servers take.
const USER: &str = "desk-user";

/// Its password.
const PASSWORD: &str = "correct horse battery staple";

/// The variable tix.toml names for the password.
const PASSWORD_ENV: &str = "TIX_TEST_SMTP_PASSWORD";

/// The reply: non-ASCII, a line of a lone dot (which ends SMTP DATA unless
/// the client doubles it), lines starting with dots, a long line.
const BODY: &str = "Grüße, Bo!\n.\n.hidden stays\n..two dots stay\n\
     Unplug the printer and wait a minute; a line this long still comes back in one piece \
     after the transfer encoding.\nAna";

/// The `security` value of `mode`.
fn security(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::StartTls => "starttls",
        TlsMode::Implicit => "tls",
    }
}

/// A desk that mails through SMTP at `host`:`port` with the `security`
/// of `mode`, logging in as [`USER`] with the password in
/// [`PASSWORD_ENV`] when `login`.
fn desk(host: &str, port: u16, mode: TlsMode, login: bool) -> TestEnv {
    let security = security(mode);
    let env = TestEnv::new();
    let login = if login {
        format!(", user = \"{USER}\", password_env = \"{PASSWORD_ENV}\"")
    } else {
        String::new()
    };
    configure(
        &env,
        &format!(
            "transport = \"smtp\"\n\
             smtp = {{ host = \"{host}\", port = {port}, security = \"{security}\"{login} }}\n"
        ),
    );
    env
}

/// Runs `tix args` with `vars` added to the sealed environment; returns
/// the exit code, stdout and stderr, after checking there was no panic.
fn tix(env: &TestEnv, args: &[&str], vars: &[(&str, OsString)]) -> (Option<i32>, String, String) {
    let mut cmd = env.command(args);
    for (key, value) in vars {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_no_panic(&stderr);
    (out.status.code(), stdout, stderr)
}

/// `tix reply ID -m BODY` with `vars`, expecting exit 0 (the reply is
/// committed whatever the mail does); returns stdout and stderr.
fn reply(env: &TestEnv, id: &str, vars: &[(&str, OsString)]) -> (String, String) {
    let (code, out, err) = tix(env, &["reply", id, "-m", BODY], vars);
    println!("tix reply: exit {code:?}\nstdout: {out}stderr: {err}");
    assert_eq!(
        code,
        Some(0),
        "tix reply exits 0 either way:\nstdout: {out}\nstderr: {err}"
    );
    (out, err)
}

/// `SSL_CERT_FILE` naming the CA of `certs`.
fn trust(certs: &Certs) -> (&'static str, OsString) {
    ("SSL_CERT_FILE", certs.ca().into_os_string())
}

/// `tix outbox --format json`'s list.
fn outbox(env: &TestEnv) -> Vec<Value> {
    let json = env.json(&["outbox", "--format", "json"]);
    json["mail"]
        .as_array()
        .unwrap_or_else(|| panic!("tix outbox: {json}"))
        .clone()
}

/// The reply is committed with nothing left over, and is the ticket's last
/// message; returns it.
fn assert_reply_committed(env: &TestEnv, id: &str) -> Value {
    let status = env.git(&["status", "--porcelain"]);
    assert_eq!(status, "", "the reply and its mail are committed: {status}");
    let ticket = env.show(id);
    let last = ticket["messages"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_else(|| panic!("no messages: {ticket}"));
    assert_eq!(last["role"], "agent", "the last message: {last}");
    assert_eq!(last["body"], BODY, "the last message: {last}");
    last
}

/// tix said the mail went, the reply is committed, the outbox is empty,
/// and the server got it intact, exactly once; returns its connection
/// (the last one).
fn assert_sent(env: &TestEnv, server: &SmtpServer, id: &str, out: &str) -> Session {
    assert!(
        out.contains("mail sent to bo@example.com"),
        "tix says the mail went: {out}"
    );
    let reply = assert_reply_committed(env, id);
    let received = server.wait_for(1, WAIT);
    assert_eq!(
        received.len(),
        1,
        "one message arrives, got {}",
        received.len()
    );
    assert_intact(
        &received[0],
        id,
        reply["message_id"].as_str().unwrap_or("?"),
    );
    let envelopes = server.envelopes();
    println!("envelope: {envelopes:?}");
    assert_eq!(
        envelopes[0].mail_from, "support@example.com",
        "{envelopes:?}"
    );
    assert_eq!(envelopes[0].rcpt_to, ["bo@example.com"], "{envelopes:?}");
    let queued = outbox(env);
    assert!(queued.is_empty(), "sent mail leaves the outbox: {queued:?}");
    let sessions = server.wait_sessions(1, WAIT);
    println!("connections:\n{}", transcript(&sessions));
    sessions.last().cloned().unwrap()
}

/// The message is Bo's reply on ticket `id` with its headers and the whole
/// text, and the Message-ID the reply recorded (`<...>`).
fn assert_intact(raw: &[u8], id: &str, recorded_id: &str) {
    let seen = String::from_utf8_lossy(raw);
    println!("received:\n{seen}");
    let mail = MessageParser::default()
        .parse(raw)
        .unwrap_or_else(|| panic!("not a mail:\n{seen}"));
    let from = mail.from().and_then(|from| from.first());
    assert_eq!(
        from.and_then(|a| a.address()),
        Some("support@example.com"),
        "From:\n{seen}"
    );
    let to = mail
        .to()
        .and_then(|to| to.first())
        .and_then(|a| a.address());
    assert_eq!(to, Some("bo@example.com"), "To:\n{seen}");
    let subject = format!("Re: Printer on fire [#{id}]");
    assert_eq!(mail.subject(), Some(subject.as_str()), "Subject:\n{seen}");
    let mid = mail.message_id().map(|m| format!("<{m}>"));
    assert_eq!(mid.as_deref(), Some(recorded_id), "Message-ID:\n{seen}");
    let text = mail.body_text(0).unwrap_or_default();
    assert_eq!(
        text.trim_end().replace("\r\n", "\n"),
        BODY,
        "the text arrives whole, dots and all:\n{seen}"
    );
}

/// Checks a STARTTLS connection: EHLO and STARTTLS in the clear, then a
/// handshake, then everything else over TLS.
fn assert_starttls_session(session: &Session) {
    println!("connection: {session}");
    assert_eq!(
        session.commands_in_clear(),
        ["EHLO", "STARTTLS"],
        "only EHLO and STARTTLS in the clear: {session}"
    );
    let tls = session.step("tls").and_then(|s| s.tls.as_deref());
    assert!(
        tls.is_some_and(|v| v.starts_with("TLSv1.")),
        "the STARTTLS handshake is done: {session}"
    );
    for verb in ["EHLO", "MAIL", "RCPT", "DATA"] {
        assert!(
            session
                .steps
                .iter()
                .any(|s| s.event == verb && s.tls.is_some()),
            "{verb} over TLS: {session}"
        );
    }
}

/// tix said the mail is queued, the reply is committed, and the outbox
/// holds the mail once with an error containing every one of `words`
/// (ignoring case); returns the error.
fn assert_queued(env: &TestEnv, id: &str, out: &str, err: &str, words: &[&str]) -> String {
    assert!(
        out.contains("mail queued for bo@example.com"),
        "tix says the mail is queued: {out}"
    );
    assert!(!err.trim().is_empty(), "the reason is on stderr: {err:?}");
    let reply = assert_reply_committed(env, id);
    let queued = outbox(env);
    println!("outbox: {queued:?}");
    assert_eq!(queued.len(), 1, "one mail waits: {queued:?}");
    let entry = &queued[0];
    assert_eq!(entry["message_id"], reply["message_id"], "{entry} {reply}");
    assert_eq!(entry["attempts"], 1, "tried once: {entry}");
    let error = entry["error"].as_str().unwrap_or_default().to_owned();
    for word in words {
        assert!(
            error.to_lowercase().contains(&word.to_lowercase()),
            "the error names {word:?}: {error:?}"
        );
    }
    error
}

/// Nothing arrived, and no connection sent MAIL, RCPT, DATA or AUTH.
fn assert_nothing_sent(server: &SmtpServer, sessions: &[Session]) {
    println!("connections:\n{}", transcript(sessions));
    let messages = server.messages();
    assert!(
        messages.is_empty(),
        "nothing arrives, got {} message(s):\n{}",
        messages.len(),
        messages
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
    for session in sessions {
        let sent: Vec<&str> = session
            .commands()
            .into_iter()
            .filter(|verb| matches!(*verb, "MAIL" | "RCPT" | "DATA" | "AUTH"))
            .collect();
        assert!(sent.is_empty(), "no {sent:?}: {session}");
    }
}

#[test]
fn starttls_with_a_trusted_ca_sends_the_reply_over_tls() {
    let certs = Certs::new();
    let server = SmtpServer::start_tls(TlsMode::StartTls, &certs);
    let env = desk("127.0.0.1", server.port(), TlsMode::StartTls, false);
    let id = printer_ticket(&env);
    let (out, _) = reply(&env, &id, &[trust(&certs)]);
    let session = assert_sent(&env, &server, &id, &out);
    assert_starttls_session(&session);
}

#[test]
fn implicit_tls_with_a_trusted_ca_sends_the_reply_over_tls() {
    let certs = Certs::new();
    let server = SmtpServer::start_tls(TlsMode::Implicit, &certs);
    // By name this time: the certificate's DNS name is checked, not its IP.
    let env = desk("localhost", server.port(), TlsMode::Implicit, false);
    let id = printer_ticket(&env);
    let (out, _) = reply(&env, &id, &[trust(&certs)]);
    let session = assert_sent(&env, &server, &id, &out);
    println!("connection: {session}");
    let connect = session.step("connect").and_then(|s| s.tls.as_deref());
    assert!(
        connect.is_some_and(|v| v.starts_with("TLSv1.")),
        "TLS before the greeting: {session}"
    );
    assert_eq!(
        session.commands_in_clear(),
        Vec::<&str>::new(),
        "nothing in the clear: {session}"
    );
    assert!(
        session.step("STARTTLS").is_none(),
        "no STARTTLS inside TLS: {session}"
    );
    for verb in ["EHLO", "MAIL", "RCPT", "DATA"] {
        assert!(session.step(verb).is_some(), "{verb}: {session}");
    }
}

#[test]
fn an_untrusted_certificate_over_starttls_keeps_the_mail_queued() {
    let certs = Certs::new();
    let server = SmtpServer::start_tls(TlsMode::StartTls, &certs);
    let env = desk("127.0.0.1", server.port(), TlsMode::StartTls, false);
    let id = printer_ticket(&env);
    // No SSL_CERT_FILE: the system's roots, which do not know the test CA.
    let (out, err) = reply(&env, &id, &[]);
    let error = assert_queued(&env, &id, &out, &err, &["certificate"]);
    println!("error: {error}");
    let sessions = server.wait_sessions(1, WAIT);
    assert_nothing_sent(&server, &sessions);
    assert!(
        sessions[0].step("tls-failed").is_some(),
        "the handshake failed: {}",
        sessions[0]
    );
    assert_eq!(
        sessions[0].commands_in_clear(),
        ["EHLO", "STARTTLS"],
        "nothing but EHLO and STARTTLS in the clear: {}",
        sessions[0]
    );
}

#[test]
fn a_certificate_from_another_ca_over_implicit_tls_keeps_the_mail_queued() {
    let certs = Certs::new();
    let other = Certs::new();
    let server = SmtpServer::start_tls(TlsMode::Implicit, &certs);
    let env = desk("127.0.0.1", server.port(), TlsMode::Implicit, false);
    let id = printer_ticket(&env);
    // SSL_CERT_FILE names a CA, but not the one that signed the server's.
    let (out, err) = reply(&env, &id, &[trust(&other)]);
    let error = assert_queued(&env, &id, &out, &err, &["certificate"]);
    println!("error: {error}");
    // A failed implicit handshake never reaches SMTP: the connections
    // show at most `accept`.
    let sessions = server.sessions();
    assert_nothing_sent(&server, &sessions);
    for session in &sessions {
        assert!(session.commands().is_empty(), "no SMTP at all: {session}");
    }
}

#[test]
fn a_trusted_certificate_for_another_name_keeps_the_mail_queued() {
    let certs = Certs::for_names("DNS:mail.example.test");
    let server = SmtpServer::start_tls(TlsMode::StartTls, &certs);
    let env = desk("127.0.0.1", server.port(), TlsMode::StartTls, false);
    let id = printer_ticket(&env);
    let (out, err) = reply(&env, &id, &[trust(&certs)]);
    let error = assert_queued(&env, &id, &out, &err, &["certificate"]);
    println!("error: {error}");
    let sessions = server.wait_sessions(1, WAIT);
    assert_nothing_sent(&server, &sessions);
    assert!(
        sessions[0].step("tls-failed").is_some(),
        "the handshake failed: {}",
        sessions[0]
    );
}

#[test]
fn starttls_to_a_server_that_does_not_offer_it_sends_nothing_in_the_clear() {
    let certs = Certs::new();
    let server = SmtpServer::start();
    let env = desk("127.0.0.1", server.port(), TlsMode::StartTls, false);
    let id = printer_ticket(&env);
    let (out, err) = reply(&env, &id, &[trust(&certs)]);
    let error = assert_queued(&env, &id, &out, &err, &["starttls"]);
    println!("error: {error}");
    let sessions = server.wait_sessions(1, WAIT);
    assert_nothing_sent(&server, &sessions);
    let clear: Vec<&str> = sessions[0]
        .commands_in_clear()
        .into_iter()
        .filter(|verb| *verb != "QUIT")
        .collect();
    assert_eq!(clear, ["EHLO"], "only EHLO (and QUIT): {}", sessions[0]);
}

/// A STARTTLS server that wants AUTH, a desk that logs in to it, and Bo's
/// ticket on it.
fn auth_setup() -> (Certs, SmtpServer, TestEnv, String) {
    let certs = Certs::new();
    let server = SmtpServer::start_tls_auth(TlsMode::StartTls, &certs, USER, PASSWORD);
    let env = desk("127.0.0.1", server.port(), TlsMode::StartTls, true);
    let id = printer_ticket(&env);
    (certs, server, env, id)
}

/// Every `auth` check the server made, as (login, right).
fn auth_checks(session: &Session) -> Vec<(String, bool)> {
    session
        .steps
        .iter()
        .filter(|s| s.event == "auth")
        .map(|s| (s.user.clone().unwrap_or_default(), s.ok == Some(true)))
        .collect()
}

/// Checks that `password` is nowhere in the desk's history or files.
fn assert_password_not_stored(env: &TestEnv, password: &str) {
    let history = env.git(&["log", "-p", "--all"]);
    assert!(
        !history.contains(password),
        "the password is in the git history:\n{history}"
    );
    let toml = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    assert!(!toml.contains(password), "the password is in tix.toml");
}

#[test]
fn auth_over_starttls_with_the_right_password_sends() {
    let (certs, server, env, id) = auth_setup();
    let (out, _) = reply(&env, &id, &[trust(&certs), (PASSWORD_ENV, PASSWORD.into())]);
    let session = assert_sent(&env, &server, &id, &out);
    assert_starttls_session(&session);
    let checks = auth_checks(&session);
    assert_eq!(
        checks,
        [(USER.to_owned(), true)],
        "one right login: {session}"
    );
    let auth = session.step("AUTH").and_then(|s| s.tls.as_deref());
    assert!(auth.is_some(), "AUTH only over TLS: {session}");
    assert_password_not_stored(&env, PASSWORD);
}

#[test]
fn auth_with_a_wrong_password_keeps_the_mail_queued_until_it_is_right() {
    let (certs, server, env, id) = auth_setup();
    let wrong = "not the password";
    let (out, err) = reply(&env, &id, &[trust(&certs), (PASSWORD_ENV, wrong.into())]);
    let error = assert_queued(&env, &id, &out, &err, &["535"]);
    println!("error: {error}");
    assert!(
        !error.contains(wrong),
        "the error shows the password: {error}"
    );
    assert!(!err.contains(wrong), "stderr shows the password: {err}");
    let sessions = server.wait_sessions(1, WAIT);
    assert_nothing_sent_but_auth(&server, &sessions[0]);
    let checks = auth_checks(&sessions[0]);
    assert!(
        !checks.is_empty() && checks.iter().all(|(user, ok)| user == USER && !ok),
        "the server refused the login: {}",
        sessions[0]
    );
    assert_password_not_stored(&env, wrong);

    // Due again, with the right password: it goes, once.
    let entry = outbox(&env).remove(0);
    let next = entry["next_try"]
        .as_str()
        .unwrap_or_else(|| panic!("a failed mail has a next try: {entry}"));
    let due = chrono::DateTime::parse_from_rfc3339(next).unwrap() + chrono::Duration::minutes(1);
    env.at(&due
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let right = [trust(&certs), (PASSWORD_ENV, PASSWORD.into())];
    let (code, out, err) = tix(&env, &["outbox", "--send"], &right);
    println!("tix outbox --send: exit {code:?}\nstdout: {out}stderr: {err}");
    assert_eq!(code, Some(0), "sent:\nstdout: {out}\nstderr: {err}");
    let received = server.wait_for(1, WAIT);
    assert_eq!(received.len(), 1, "one message arrives");
    assert_intact(
        &received[0],
        &id,
        entry["message_id"].as_str().unwrap_or("?"),
    );
    let sessions = server.wait_sessions(2, WAIT);
    assert_eq!(
        auth_checks(&sessions[1]),
        [(USER.to_owned(), true)],
        "the second connection logged in: {}",
        sessions[1]
    );
    let queued = outbox(&env);
    assert!(queued.is_empty(), "the outbox is empty: {queued:?}");
}

/// [`assert_nothing_sent`] but AUTH may have been tried (over TLS only).
fn assert_nothing_sent_but_auth(server: &SmtpServer, session: &Session) {
    println!("connection: {session}");
    assert!(server.messages().is_empty(), "nothing arrives");
    for verb in ["MAIL", "RCPT", "DATA"] {
        assert!(session.step(verb).is_none(), "no {verb}: {session}");
    }
    assert!(
        !session.commands_in_clear().contains(&"AUTH"),
        "no AUTH in the clear: {session}"
    );
}

#[test]
fn auth_with_the_password_variable_unset_names_it() {
    let (certs, server, env, id) = auth_setup();
    let (out, err) = reply(&env, &id, &[trust(&certs)]);
    let error = assert_queued(&env, &id, &out, &err, &[PASSWORD_ENV]);
    println!("error: {error}");
    assert!(
        err.contains(PASSWORD_ENV),
        "stderr names {PASSWORD_ENV}: {err}"
    );
    // tix knows it cannot log in before it connects.
    let sessions = server.sessions();
    assert_nothing_sent(&server, &sessions);
    assert!(
        sessions.is_empty(),
        "no connection:\n{}",
        transcript(&sessions)
    );
}
