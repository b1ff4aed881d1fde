//! Real mail parts for the outbound mail tests: an SMTP server on loopback
//! (Python's aiosmtpd) that keeps every message it receives and writes
//! down what each connection did, in the clear or over TLS (STARTTLS or
//! implicit TLS, optionally requiring AUTH); a test CA and server
//! certificate made with the `openssl` command; and an msmtp configuration
//! that sends to the server (a real sendmail for `transport =
//! "sendmail"`). All are Debian packages that `.ci/run` installs
//! (`python3-aiosmtpd`, `msmtp`, `openssl`); a test that needs one panics
//! when it is missing, it never skips.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How to get the tools.
const INSTALL: &str = "`.ci/run` installs them on Debian: \
     apt-get install msmtp python3-aiosmtpd (or pip install aiosmtpd)";

/// The server: aiosmtpd's SMTP implementation with a handler that keeps
/// each message's bytes exactly as they came (aiosmtpd's own
/// `handlers.Mailbox` re-serialises them, turns CRLF into LF and adds
/// X-Peer, X-MailFrom and X-RcptTo headers). It records each connection's
/// commands and whether TLS was on at each, so tests can tell what went in
/// the clear; `DIR/config.json`, when there, turns on TLS and AUTH.
const SERVER_PY: &str = r#""""A loopback SMTP sink for tix's tests (tests/cli/common/smtp.rs).

Usage: server.py PORT DIR. Keeps each message byte for byte in the Maildir
DIR/maildir (new/NNNNNN.PID.tix-test, numbered in arrival order), its
envelope in DIR/envelopes/<same name>.json, and writes DIR/ready once it
listens. Exits 3 when the port is taken.

Each connection gets DIR/sessions/NNNNNN.jsonl, one JSON object a line:
{"event": "accept" | "connect" | "tls" | "tls-failed" | "auth" | "close" |
an SMTP verb, "tls": the TLS version in effect or null, ...}.

DIR/config.json, when present: {"tls": null | "starttls" | "implicit",
"auth": null | {"user": ..., "password": ...}}; with "tls" the server's
certificate chain and key are DIR/server.pem and DIR/server.key. With
"starttls" nothing but EHLO, NOOP, STARTTLS and QUIT is taken before
STARTTLS; with "auth" MAIL needs AUTH first, which the server checks
against that user and password.
"""
import asyncio
import errno
import functools
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult

port, root = int(sys.argv[1]), sys.argv[2]
maildir = os.path.join(root, "maildir")
envelopes = os.path.join(root, "envelopes")
sessions = os.path.join(root, "sessions")
for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)
os.makedirs(envelopes, exist_ok=True)
os.makedirs(sessions, exist_ok=True)

config = {}
if os.path.exists(os.path.join(root, "config.json")):
    with open(os.path.join(root, "config.json")) as f:
        config = json.load(f)
mode = config.get("tls")
auth = config.get("auth")
context = None
if mode:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(root, "server.pem"), os.path.join(root, "server.key"))


class Sink:
    # A server started again on the same directory numbers on.
    count = len(os.listdir(os.path.join(maildir, "new")))

    async def handle_DATA(self, server, session, envelope):
        Sink.count += 1
        name = "%06d.%d.tix-test" % (Sink.count, os.getpid())
        with open(os.path.join(envelopes, name + ".json"), "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_to": envelope.rcpt_tos}, f)
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(envelope.original_content)
        os.rename(tmp, os.path.join(maildir, "new", name))
        return "250 OK"


def authenticator(server, session, envelope, mechanism, data):
    ok = data.login == auth["user"].encode() and data.password == auth["password"].encode()
    server.record("auth", mechanism=mechanism, user=data.login.decode("utf-8", "replace"), ok=ok)
    return AuthResult(success=ok, handled=False)


# What a STARTTLS server takes in the clear (RFC 3207).
BEFORE_TLS = {"EHLO", "NOOP", "STARTTLS", "QUIT"}


class Recorder(SMTP):
    """aiosmtpd's SMTP, writing down each connection's commands."""

    count = len(os.listdir(sessions))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Recorder.count += 1
        self.record_path = os.path.join(sessions, "%06d.jsonl" % Recorder.count)
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._recording(verb, method)
        # With implicit TLS the factory runs when the TCP connection is
        # taken, before the handshake: a failed handshake leaves this alone.
        self.record("accept")

    def _recording(self, verb, method):
        @functools.wraps(method)
        async def run(arg):
            self.record(verb)
            # aiosmtpd's own require_starttls refuses before the command
            # reaches its method, which would leave it unrecorded.
            if mode == "starttls" and self.tls() is None and verb not in BEFORE_TLS:
                return await self.push("530 Must issue a STARTTLS command first")
            try:
                return await method(arg)
            except Exception as e:
                if verb == "STARTTLS":
                    self.record("tls-failed", error=repr(e.__cause__ or e))
                raise
        return run

    def tls(self):
        try:
            ssl_object = self.transport.get_extra_info("ssl_object")
            return ssl_object.version() if ssl_object else None
        except Exception:
            return None

    def record(self, event, **fields):
        fields = dict(event=event, tls=self.tls(), **fields)
        with open(self.record_path, "a") as f:
            f.write(json.dumps(fields) + "\n")

    def connection_made(self, transport):
        upgrade = self._original_transport is not None
        super().connection_made(transport)
        self.record("tls" if upgrade else "connect")

    def connection_lost(self, error):
        self.record("close")
        super().connection_lost(error)


def protocol():
    # A fixed name: the default asks the resolver for this host's.
    options = dict(hostname="sink.tix-test")
    if mode == "starttls":
        options.update(tls_context=context)
    if auth:
        # Implicit TLS is TLS, though aiosmtpd only counts STARTTLS.
        options.update(
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=mode != "implicit",
        )
    return Recorder(Sink(), **options)


loop = asyncio.new_event_loop()
try:
    loop.run_until_complete(
        loop.create_server(
            protocol,
            host="127.0.0.1",
            port=port,
            ssl=context if mode == "implicit" else None,
        )
    )
except OSError as e:
    if e.errno == errno.EADDRINUSE:
        sys.exit(3)
    raise
with open(os.path.join(root, "ready.tmp"), "w") as f:
    f.write(str(port))
os.rename(os.path.join(root, "ready.tmp"), os.path.join(root, "ready"))
loop.run_forever()
"#;

/// The exit code of the server script when its port is taken.
const PORT_TAKEN: i32 = 3;

/// How long a server may take to listen (Python on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// One message's SMTP envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    /// `MAIL FROM`.
    pub(crate) mail_from: String,
    /// Every `RCPT TO`, in order.
    pub(crate) rcpt_to: Vec<String>,
}

/// One thing a connection did, as the server wrote it down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// `accept` (TCP), `connect` (the SMTP greeting; with implicit TLS
    /// after the handshake), `tls` (a STARTTLS handshake done),
    /// `tls-failed`, `auth` (a check of a login), `close`, or the SMTP verb
    /// the client sent (`EHLO`, `STARTTLS`, `AUTH`, `MAIL`, ...).
    pub(crate) event: String,
    /// The TLS version in effect then (`TLSv1.3`), `None` in the clear.
    pub(crate) tls: Option<String>,
    /// For `auth`: the login given.
    pub(crate) user: Option<String>,
    /// For `auth`: whether it was right.
    pub(crate) ok: Option<bool>,
}

/// One connection to the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Session {
    /// What it did, in order.
    pub(crate) steps: Vec<Step>,
}

impl Session {
    /// Tells whether the connection is over: closed, or its STARTTLS
    /// handshake failed (nothing can follow in the clear then).
    pub(crate) fn ended(&self) -> bool {
        self.steps
            .iter()
            .any(|step| matches!(step.event.as_str(), "close" | "tls-failed"))
    }

    /// The SMTP verbs the client sent, in order.
    pub(crate) fn commands(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|step| step.event.bytes().all(|b| b.is_ascii_uppercase()))
            .map(|step| step.event.as_str())
            .collect()
    }

    /// The SMTP verbs the client sent in the clear.
    pub(crate) fn commands_in_clear(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|step| step.tls.is_none() && step.event.bytes().all(|b| b.is_ascii_uppercase()))
            .map(|step| step.event.as_str())
            .collect()
    }

    /// The first step named `event`.
    pub(crate) fn step(&self, event: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.event == event)
    }
}

impl std::fmt::Display for Session {
    /// One line: `EHLO STARTTLS tls[TLSv1.3] EHLO[TLSv1.3] ...`, each step
    /// with the TLS version in effect, an `auth` with its login and
    /// outcome.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, step) in self.steps.iter().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            f.write_str(&step.event)?;
            if let Some(tls) = &step.tls {
                write!(f, "[{tls}]")?;
            }
            if let Some(user) = &step.user {
                let outcome = if step.ok == Some(true) {
                    "ok"
                } else {
                    "refused"
                };
                write!(f, "({user} {outcome})")?;
            }
        }
        Ok(())
    }
}

/// Every session on its own numbered line.
pub(crate) fn transcript(sessions: &[Session]) -> String {
    if sessions.is_empty() {
        return "  (no connection)".to_owned();
    }
    sessions
        .iter()
        .enumerate()
        .map(|(n, session)| format!("  {}: {session}", n + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How a TLS test server ([`SmtpServer::start_tls`]) secures connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// Plain at first, upgraded by STARTTLS, which it offers and requires
    /// before anything but EHLO, NOOP and QUIT (tix's `security =
    /// "starttls"`).
    StartTls,
    /// TLS from the first byte, SMTPS (tix's `security = "tls"`).
    Implicit,
}

/// An SMTP server on 127.0.0.1, killed on drop: plain without AUTH
/// ([`Self::start`]), or with TLS and optionally AUTH
/// ([`Self::start_tls`], [`Self::start_tls_auth`]).
pub(crate) struct SmtpServer {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

impl SmtpServer {
    /// Starts a plain server (no TLS, no AUTH) on a free loopback port and
    /// waits until it listens.
    pub(crate) fn start() -> Self {
        Self::launch(TempDir::new().unwrap())
    }

    /// Starts a server that takes TLS as `mode` says, showing the server
    /// certificate of `certs` (with its CA in the chain), without AUTH.
    pub(crate) fn start_tls(mode: TlsMode, certs: &Certs) -> Self {
        Self::start_secured(mode, certs, None)
    }

    /// [`Self::start_tls`], and MAIL needs AUTH (PLAIN or LOGIN) with
    /// `user` and `password` first; with STARTTLS, AUTH is offered and
    /// taken only after it.
    pub(crate) fn start_tls_auth(mode: TlsMode, certs: &Certs, user: &str, password: &str) -> Self {
        Self::start_secured(mode, certs, Some((user, password)))
    }

    fn start_secured(mode: TlsMode, certs: &Certs, auth: Option<(&str, &str)>) -> Self {
        let dir = TempDir::new().unwrap();
        // The server's own copies: it outlives the test's `Certs` on restart.
        std::fs::copy(certs.chain(), dir.path().join("server.pem")).unwrap();
        std::fs::copy(certs.key(), dir.path().join("server.key")).unwrap();
        let config = serde_json::json!({
            "tls": match mode {
                TlsMode::StartTls => "starttls",
                TlsMode::Implicit => "implicit",
            },
            "auth": auth.map(|(user, password)| {
                serde_json::json!({ "user": user, "password": password })
            }),
        });
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        Self::launch(dir)
    }

    /// Starts the server script in `dir` on a free port.
    fn launch(dir: TempDir) -> Self {
        let python = python();
        std::fs::write(dir.path().join("server.py"), SERVER_PY).unwrap();
        for _ in 0..10 {
            let port = free_port();
            if let Some(child) = spawn(python, dir.path(), port) {
                return Self {
                    dir,
                    port,
                    child: Some(child),
                };
            }
        }
        panic!("no free loopback port for the SMTP server after 10 tries");
    }

    /// The port it listens on (the same after [`Self::restart`]).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server: connections are refused until [`Self::restart`].
    /// What it received stays readable.
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same port, keeping what it
    /// received.
    pub(crate) fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(child) = spawn(python(), self.dir.path(), self.port) {
                self.child = Some(child);
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "the SMTP server could not listen on 127.0.0.1:{} again",
            self.port
        );
    }

    /// The raw messages received so far, byte for byte as sent (CRLF line
    /// ends, dot-unstuffed), in order of arrival.
    pub(crate) fn messages(&self) -> Vec<Vec<u8>> {
        self.names()
            .iter()
            .map(|name| std::fs::read(self.maildir().join(name)).unwrap())
            .collect()
    }

    /// The SMTP envelopes of [`Self::messages`], in the same order.
    pub(crate) fn envelopes(&self) -> Vec<Envelope> {
        self.names()
            .iter()
            .map(|name| {
                let path = self.dir.path().join(format!("envelopes/{name}.json"));
                let text = std::fs::read_to_string(&path).unwrap();
                let json: serde_json::Value = serde_json::from_str(&text).unwrap();
                Envelope {
                    mail_from: json["mail_from"].as_str().unwrap_or_default().to_owned(),
                    rcpt_to: json["rcpt_to"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|to| to.as_str().unwrap().to_owned())
                        .collect(),
                }
            })
            .collect()
    }

    /// Waits until at least `n` messages arrived, then returns them all;
    /// panics, showing what came and the server's log, after `timeout`.
    pub(crate) fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= n {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} message(s) on 127.0.0.1:{} within {timeout:?}, got {}:\n{}\n\
                 connections:\n{}\nserver log:\n{}",
                self.port,
                messages.len(),
                messages
                    .iter()
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .collect::<Vec<_>>()
                    .join("\n----\n"),
                transcript(&self.sessions()),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What each connection did so far, in the order they came.
    pub(crate) fn sessions(&self) -> Vec<Session> {
        let dir = self.dir.path().join("sessions");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|entries| entries.map(|entry| entry.unwrap().path()).collect())
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .map(|path| {
                let text = std::fs::read_to_string(path).unwrap();
                Session {
                    steps: text
                        .lines()
                        // A line being written has no newline yet.
                        .filter_map(|line| serde_json::from_str(line).ok())
                        .map(|json: serde_json::Value| Step {
                            event: json["event"].as_str().unwrap_or_default().to_owned(),
                            tls: json["tls"].as_str().map(str::to_owned),
                            user: json["user"].as_str().map(str::to_owned),
                            ok: json["ok"].as_bool(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Waits until `n` connections came and every one has ended (closed,
    /// or its STARTTLS handshake failed), then returns them all; panics,
    /// showing them and the server's log, after `timeout`. (A failed
    /// implicit TLS handshake leaves only `accept` and never ends.)
    pub(crate) fn wait_sessions(&self, n: usize, timeout: Duration) -> Vec<Session> {
        let deadline = Instant::now() + timeout;
        loop {
            let sessions = self.sessions();
            if sessions.len() >= n && sessions.iter().all(Session::ended) {
                return sessions;
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} ended connection(s) on 127.0.0.1:{} within {timeout:?}:\n{}\n\
                 server log:\n{}",
                self.port,
                transcript(&sessions),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server printed on stderr (errors, tracebacks).
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("maildir/new")
    }

    /// The file names in `maildir/new`, in arrival order.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.maildir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago: bound to 127.0.0.1:0, then released.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server script on `port` and waits until it listens; `None`
/// when the port is taken.
fn spawn(python: &Path, dir: &Path, port: u16) -> Option<Child> {
    let ready = dir.join("ready");
    let _ = std::fs::remove_file(&ready);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let mut child = Command::new(python)
        .arg(dir.join("server.py"))
        .arg(port.to_string())
        .arg(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}; {INSTALL}", python.display()));
    let started = Instant::now();
    loop {
        if ready.exists() {
            return Some(child);
        }
        if let Some(status) = child.try_wait().unwrap() {
            if status.code() == Some(PORT_TAKEN) {
                return None;
            }
            let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            panic!("the SMTP server (aiosmtpd) exited at start, {status}:\n{log}");
        }
        if started.elapsed() > START_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the SMTP server (aiosmtpd) did not listen within {START_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The first of `python3` on `PATH` and `/usr/bin/python3` (where Debian's
/// `python3-aiosmtpd` goes) that imports aiosmtpd; panics when none does.
fn python() -> &'static Path {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            ["python3", "/usr/bin/python3"]
                .into_iter()
                .map(PathBuf::from)
                .find(|python| {
                    Command::new(python)
                        .args(["-c", "import aiosmtpd.smtp"])
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .is_ok_and(|s| s.success())
                })
        })
        .as_deref()
        .unwrap_or_else(|| {
            panic!(
                "the mail tests need Python's aiosmtpd, and neither python3 on PATH nor \
                 /usr/bin/python3 can import it; {INSTALL}"
            )
        })
}

/// Panics unless `msmtp` runs.
fn require_msmtp() {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        Command::new("msmtp")
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(
        found,
        "the mail tests need msmtp (a sendmail) on PATH; {INSTALL}"
    );
}

/// Writes `dir/msmtprc` (mode 0600, as msmtp demands): the one account
/// sends to 127.0.0.1:`port` in the clear, without AUTH. Returns its path.
pub(crate) fn msmtp_rc(dir: &Path, port: u16) -> PathBuf {
    require_msmtp();
    let path = dir.join("msmtprc");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    write!(
        file,
        "# tix tests: the loopback SMTP server, no TLS, no AUTH.\n\
         defaults\n\
         auth off\n\
         tls off\n\
         timeout 10\n\
         syslog off\n\
         \n\
         account default\n\
         host 127.0.0.1\n\
         port {port}\n"
    )
    .unwrap();
    path
}

/// The `[mail] sendmail` command that sends through msmtp with the
/// configuration `rc`: recipients from the headers (`-t`), like
/// `sendmail -t`, and the envelope sender from From (msmtp has no default
/// one).
pub(crate) fn msmtp_command(rc: &Path) -> String {
    let rc = rc.display().to_string();
    assert!(
        rc.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b)),
        "{rc}: a path the shell would split or expand; use a plain TMPDIR"
    );
    format!("msmtp -C {rc} -t --read-envelope-from")
}

/// The extensions of the test certificates (an `openssl` configuration).
const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = tix test
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = ${ENV::TIX_TEST_SAN}
";

/// A test CA and one server certificate it signed (ECDSA P-256, valid for
/// two days from now), made with the `openssl` command in a temporary
/// directory. Trust the CA in tix with `SSL_CERT_FILE` = [`Self::ca`]
/// (rustls-native-certs reads only that file when it is set).
///
/// Why a CA and a leaf, not one self-signed certificate: webpki (rustls)
/// refuses a CA certificate as the server's own (`CaUsedAsEndEntity`), and
/// `openssl req -x509` marks what it makes as a CA.
pub(crate) struct Certs {
    dir: TempDir,
}

impl Certs {
    /// A server certificate for 127.0.0.1 and localhost.
    pub(crate) fn new() -> Self {
        Self::for_names("IP:127.0.0.1, DNS:localhost")
    }

    /// A server certificate whose subjectAltName is `names` (openssl's
    /// syntax: `IP:127.0.0.1, DNS:localhost`).
    pub(crate) fn for_names(names: &str) -> Self {
        let dir = TempDir::new().unwrap();
        let path = dir.path();
        std::fs::write(path.join("openssl.cnf"), OPENSSL_CNF).unwrap();
        // Each CA its own name: one CA never passes for another.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let unique = format!("{}-{nanos}", std::process::id());
        let key = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
        openssl(
            path,
            names,
            &format!(
                "req -config openssl.cnf -x509 -new {key} -keyout ca.key -out ca.pem -days 2 \
                 -extensions ca"
            ),
            &["-subj", &format!("/CN=tix test CA {unique}")],
        );
        openssl(
            path,
            names,
            &format!("req -config openssl.cnf -new {key} -keyout server.key -out server.csr"),
            &["-subj", "/CN=tix test server"],
        );
        openssl(
            path,
            names,
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -days 2 -extfile openssl.cnf \
             -extensions leaf -out server.pem",
            &["-set_serial", &format!("0x{nanos:x}")],
        );
        // The chain the server shows: its certificate, then the CA's.
        let chain = [
            std::fs::read_to_string(path.join("server.pem")).unwrap(),
            std::fs::read_to_string(path.join("ca.pem")).unwrap(),
        ]
        .concat();
        std::fs::write(path.join("chain.pem"), chain).unwrap();
        Self { dir }
    }

    /// The CA certificate (PEM), for `SSL_CERT_FILE`.
    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The server's certificate chain (PEM).
    fn chain(&self) -> PathBuf {
        self.dir.path().join("chain.pem")
    }

    /// The server's private key (PEM).
    fn key(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }
}

/// Runs `openssl` in `dir` with `args` (split at white space) and then
/// `more`, the subjectAltName `san` for the `leaf` extensions; panics with
/// its output when it fails.
fn openssl(dir: &Path, san: &str, args: &str, more: &[&str]) {
    let args: Vec<&str> = args
        .split_whitespace()
        .chain(more.iter().copied())
        .collect();
    let out = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TIX_TEST_SAN", san)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "openssl: {e}; the TLS mail tests make their certificates with the openssl \
                 command: apt-get install openssl"
            )
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
