//! A sealed test environment: one temporary directory that is `HOME`, holding
//! a desk in `desk/`, and helpers to run the real `tix` binary and the real
//! `git` there with a fixed clock, a fixed identity and no outside
//! configuration.
//!
//! Every call gets `TIX_SEED` = a fixed base plus a per-environment call
//! counter: runs are reproducible, and each `tix new` mints a different
//! first id (one fixed seed for every process would mint the same sequence
//! each time; see `ids::a_fixed_seed_still_creates_more_than_sixteen_tickets`).

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tempfile::TempDir;

pub(crate) mod mail;
pub(crate) mod smtp;
pub(crate) mod world;

/// The clock every environment starts at.
pub(crate) const T0: &str = "2025-03-03T09:00:00Z";

/// The agent every environment acts as (`TIX_AGENT`).
pub(crate) const AGENT: &str = "Ana Lima <ana@desk.test>";

/// The address tickets record for [`AGENT`].
pub(crate) const AGENT_EMAIL: &str = "ana@desk.test";

/// The first `TIX_SEED` of an environment.
const SEED_BASE: u64 = 20_250_303;

/// A temporary `HOME` with a desk directory and a sealed environment.
pub(crate) struct TestEnv {
    tmp: TempDir,
    desk: PathBuf,
    now: Mutex<String>,
    seed: AtomicU64,
}

impl TestEnv {
    /// An environment with an initialised desk (one `tix init`).
    pub(crate) fn new() -> Self {
        let env = Self::empty();
        env.ok(&["init"]);
        env
    }

    /// An environment whose desk directory exists but is not a desk yet.
    pub(crate) fn empty() -> Self {
        let tmp = TempDir::new().unwrap();
        let desk = tmp.path().join("desk");
        std::fs::create_dir_all(&desk).unwrap();
        Self {
            tmp,
            desk,
            now: Mutex::new(T0.to_owned()),
            seed: AtomicU64::new(SEED_BASE),
        }
    }

    /// The temporary directory (also `HOME`).
    pub(crate) fn home(&self) -> &Path {
        self.tmp.path()
    }

    /// The desk's top directory.
    pub(crate) fn desk(&self) -> &Path {
        &self.desk
    }

    /// A path inside the desk.
    pub(crate) fn path(&self, relative: &str) -> PathBuf {
        self.desk.join(relative)
    }

    /// Sets `TIX_NOW` for the following calls.
    pub(crate) fn at(&self, time: &str) {
        time.clone_into(&mut self.now.lock().unwrap());
    }

    /// The current `TIX_NOW`.
    pub(crate) fn now(&self) -> String {
        self.now.lock().unwrap().clone()
    }

    /// The sealed environment of one call, with the next `TIX_SEED`.
    fn seal(&self, cmd: &mut Command, cwd: &Path) {
        seal(cmd, cwd, self.home(), &self.now(), AGENT);
        cmd.env(
            "TIX_SEED",
            self.seed.fetch_add(1, Ordering::Relaxed).to_string(),
        );
    }

    /// A `tix` command in `cwd`, sealed, not yet run: tests may still
    /// change its environment.
    pub(crate) fn command_in<S: AsRef<OsStr>>(&self, cwd: &Path, args: &[S]) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tix"));
        cmd.args(args);
        self.seal(&mut cmd, cwd);
        cmd
    }

    /// A `tix` command in the desk, sealed, not yet run.
    pub(crate) fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        self.command_in(&self.desk, args)
    }

    /// The same sealed call as an `assert_cmd` command, for predicate
    /// assertions (its stdin is an empty, closed pipe).
    pub(crate) fn assert_cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("tix");
        let sealed = self.command(args);
        cmd.env_clear().current_dir(&self.desk).args(args);
        for (key, value) in sealed.get_envs() {
            if let Some(value) = value {
                cmd.env(key, value);
            }
        }
        cmd
    }

    /// Runs `tix` in the desk.
    pub(crate) fn tix<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs `tix` in `cwd`.
    pub(crate) fn tix_in<S: AsRef<OsStr>>(&self, cwd: &Path, args: &[S]) -> Output {
        self.command_in(cwd, args).output().unwrap()
    }

    /// Runs `tix` in the desk, asserts success, returns stdout.
    pub(crate) fn ok<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> String {
        succeeded(args, &self.tix(args))
    }

    /// Runs `tix` in `cwd`, asserts success, returns stdout.
    pub(crate) fn ok_in<S: AsRef<OsStr> + std::fmt::Debug>(
        &self,
        cwd: &Path,
        args: &[S],
    ) -> String {
        succeeded(args, &self.tix_in(cwd, args))
    }

    /// Runs `tix` in the desk, asserts exit `code` with nothing on stdout
    /// and no panic, returns stderr.
    pub(crate) fn fail<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S], code: i32) -> String {
        failed(args, &self.tix(args), code)
    }

    /// [`Self::fail`] in `cwd`.
    pub(crate) fn fail_in<S: AsRef<OsStr> + std::fmt::Debug>(
        &self,
        cwd: &Path,
        args: &[S],
        code: i32,
    ) -> String {
        failed(args, &self.tix_in(cwd, args), code)
    }

    /// Runs `tix` and parses its stdout as JSON.
    pub(crate) fn json<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> serde_json::Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("tix {args:?}: {e}: {out}"))
    }

    /// `tix show ID --format json`.
    pub(crate) fn show(&self, id: &str) -> serde_json::Value {
        self.json(&["show", id, "--format", "json"])
    }

    /// The current status of a ticket.
    pub(crate) fn status(&self, id: &str) -> String {
        self.show(id)["status"].as_str().unwrap().to_owned()
    }

    /// Starts `tix` in the desk without waiting (stdout and stderr piped).
    pub(crate) fn spawn<S: AsRef<OsStr>>(&self, args: &[S]) -> Child {
        let mut cmd = self.command(args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    }

    /// A `git` command in `cwd` with the sealed environment; its own commits
    /// (hand edits) are by "Hand Editor".
    pub(crate) fn git_command_in<S: AsRef<OsStr>>(&self, cwd: &Path, args: &[S]) -> Command {
        let mut cmd = Command::new("git");
        self.seal(&mut cmd, cwd);
        cmd.args([
            "-c",
            "user.name=Hand Editor",
            "-c",
            "user.email=hand@desk.test",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args);
        cmd
    }

    /// Runs `git` in `cwd`, asserts success, returns stdout.
    pub(crate) fn git_in<S: AsRef<OsStr> + std::fmt::Debug>(
        &self,
        cwd: &Path,
        args: &[S],
    ) -> String {
        let out = self.git_command_in(cwd, args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs `git` in the desk, asserts success, returns stdout.
    pub(crate) fn git<S: AsRef<OsStr> + std::fmt::Debug>(&self, args: &[S]) -> String {
        self.git_in(&self.desk, args)
    }

    /// The number of commits on `HEAD`.
    pub(crate) fn commits(&self) -> usize {
        self.git(&["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .unwrap()
    }

    /// The commit id of `HEAD`.
    pub(crate) fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Creates a ticket with `tix new SUBJECT --format json`; returns its id.
    pub(crate) fn new_ticket(&self, subject: &str) -> String {
        self.new_ticket_with(subject, &[])
    }

    /// [`Self::new_ticket`] with extra flags.
    pub(crate) fn new_ticket_with(&self, subject: &str, extra: &[&str]) -> String {
        let mut args = vec!["new", subject, "--format", "json"];
        args.extend_from_slice(extra);
        let ticket = self.json(&args);
        ticket["id"].as_str().unwrap().to_owned()
    }

    /// `tickets/<ab>/<id>.toml`.
    pub(crate) fn ticket_path(&self, id: &str) -> String {
        format!("tickets/{}/{id}.toml", &id[..2])
    }

    /// The ticket file in the working tree.
    pub(crate) fn read_ticket_file(&self, id: &str) -> String {
        std::fs::read_to_string(self.path(&self.ticket_path(id))).unwrap()
    }

    /// Writes a file in the desk, creating directories.
    pub(crate) fn write(&self, relative: &str, content: &str) {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Writes a file and commits it by hand with git.
    pub(crate) fn commit_file(&self, relative: &str, content: &str) {
        self.write(relative, content);
        self.git(&["add", "--", relative]);
        self.git(&["commit", "-q", "-m", "hand edit", "--", relative]);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded<S: std::fmt::Debug>(args: &[S], out: &Output) -> String {
    assert!(
        out.status.success(),
        "tix {args:?} failed ({:?}): {}",
        out.status.code(),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn failed<S: std::fmt::Debug>(args: &[S], out: &Output, code: i32) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "tix {args:?}: stdout {} stderr {stderr}",
        text(&out.stdout)
    );
    assert!(
        out.stdout.is_empty(),
        "tix {args:?} failed but printed on stdout: {}",
        text(&out.stdout)
    );
    assert_no_panic(&stderr);
    stderr
}

/// Seals a command (tix, git or a shell) off from the outside: an empty
/// environment but for `PATH`, `HOME` = `home`, no global or system git
/// configuration, a fixed clock and agent, no colour, a 100-column
/// terminal width and no standard input. Every test runs its commands
/// through this one function.
pub(crate) fn seal(cmd: &mut Command, cwd: &Path, home: &Path, now: &str, agent: &str) {
    cmd.env_clear()
        .current_dir(cwd)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TIX_AGENT", agent)
        .env("TIX_NOW", now)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .stdin(Stdio::null());
}

/// The text of a fixture file under `tests/fixtures/`.
pub(crate) fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Asserts that stderr shows no panic or backtrace.
pub(crate) fn assert_no_panic(stderr: &str) {
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!stderr.contains(bad), "a panic: {stderr}");
    }
}

/// The ids of a JSON array of tickets, in order.
pub(crate) fn ids_of(list: &serde_json::Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The message bodies of a ticket, in order.
pub(crate) fn bodies(ticket: &serde_json::Value) -> Vec<String> {
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect()
}

/// Tells whether `id` is six lowercase Crockford base32 characters.
pub(crate) fn is_ticket_id(id: &str) -> bool {
    id.len() == 6
        && id
            .bytes()
            .all(|b| b"0123456789abcdefghjkmnpqrstvwxyz".contains(&b))
}
