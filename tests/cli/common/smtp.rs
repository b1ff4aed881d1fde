//! Real mail parts for the outbound mail tests: an SMTP server on loopback
//! (Python's aiosmtpd) that keeps every message it receives, and an msmtp
//! configuration that sends to it (a real sendmail for `transport =
//! "sendmail"`). Both are Debian packages that `.ci/run` installs
//! (`python3-aiosmtpd`, `msmtp`); a test that needs one panics when it is
//! missing, it never skips.

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
/// X-Peer, X-MailFrom and X-RcptTo headers).
const SERVER_PY: &str = r#""""A loopback SMTP sink for tix's tests (tests/cli/common/smtp.rs).

Usage: server.py PORT DIR. Keeps each message byte for byte in the Maildir
DIR/maildir (new/NNNNNN.PID.tix-test, numbered in arrival order), its
envelope in DIR/envelopes/<same name>.json, and writes DIR/ready once it
listens. Exits 3 when the port is taken.
"""
import asyncio
import errno
import json
import os
import sys

from aiosmtpd.smtp import SMTP

port, root = int(sys.argv[1]), sys.argv[2]
maildir = os.path.join(root, "maildir")
envelopes = os.path.join(root, "envelopes")
for sub in ("tmp", "new", "cur"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)
os.makedirs(envelopes, exist_ok=True)


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


loop = asyncio.new_event_loop()
try:
    loop.run_until_complete(
        loop.create_server(
            # A fixed name: the default asks the resolver for this host's.
            lambda: SMTP(Sink(), hostname="sink.tix-test"),
            host="127.0.0.1",
            port=port,
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

/// An SMTP server on 127.0.0.1 (plain, no AUTH), killed on drop.
pub(crate) struct SmtpServer {
    dir: TempDir,
    port: u16,
    child: Option<Child>,
}

impl SmtpServer {
    /// Starts a server on a free loopback port and waits until it listens.
    pub(crate) fn start() -> Self {
        let python = python();
        let dir = TempDir::new().unwrap();
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
                 server log:\n{}",
                self.port,
                messages.len(),
                messages
                    .iter()
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .collect::<Vec<_>>()
                    .join("\n----\n"),
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
