//! A test world of several desks: a temporary directory with desks, clones
//! and a bare remote, and helpers to run the real `tix` and `git` in them,
//! sealed as every test command is (`super::seal`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

/// A temporary directory holding desks and clones.
pub(crate) struct World {
    dir: TempDir,
}

/// Seals a command run in a clone of the world (see [`super::seal`]);
/// `HOME` is the clone itself.
pub(crate) fn sealed(cmd: &mut Command, cwd: &Path, now: &str, agent: &str) {
    super::seal(cmd, cwd, cwd, now, agent);
}

impl World {
    pub(crate) fn new() -> Self {
        Self {
            dir: TempDir::new().unwrap(),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) fn tix_in(&self, clone: &str, now: &str, agent: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tix"));
        cmd.args(args);
        sealed(&mut cmd, &self.path(clone), now, agent);
        cmd.output().unwrap()
    }

    pub(crate) fn tix(&self, clone: &str, now: &str, args: &[&str]) -> String {
        let out = self.tix_in(clone, now, "Ana <ana@desk.test>", args);
        assert!(
            out.status.success(),
            "tix {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs git in `cwd`, sealed, as a fixed git user, and returns what it
    /// did whether it succeeded or not.
    pub(crate) fn git_out(&self, cwd: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new("git");
        cmd.args(args);
        sealed(
            &mut cmd,
            &self.path(cwd),
            "2025-03-03T09:00:00Z",
            "Ana <ana@desk.test>",
        );
        for (key, value) in [
            ("GIT_AUTHOR_NAME", "Git User"),
            ("GIT_AUTHOR_EMAIL", "git@desk.test"),
            ("GIT_COMMITTER_NAME", "Git User"),
            ("GIT_COMMITTER_EMAIL", "git@desk.test"),
        ] {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    /// Runs git in `cwd`, expecting success; returns its output.
    pub(crate) fn git(&self, cwd: &str, args: &[&str]) -> String {
        let out = self.git_out(cwd, args);
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// A desk pushed to a bare remote, cloned as `a` and `b`.
    pub(crate) fn two_clones() -> Self {
        let world = Self::new();
        std::fs::create_dir_all(world.path("seed")).unwrap();
        world.tix("seed", "2025-03-03T09:00:00Z", &["init"]);
        world.git("", &["clone", "-q", "--bare", "seed", "remote.git"]);
        world.git("", &["clone", "-q", "remote.git", "a"]);
        world.git("", &["clone", "-q", "remote.git", "b"]);
        world
    }

    pub(crate) fn new_ticket(&self, clone: &str, now: &str, subject: &str) -> String {
        self.new_ticket_with(clone, now, subject, &[])
    }

    /// Creates a ticket from bo@example.com with extra `tix new` flags;
    /// returns its id.
    pub(crate) fn new_ticket_with(
        &self,
        clone: &str,
        now: &str,
        subject: &str,
        extra: &[&str],
    ) -> String {
        let mut args = vec![
            "new",
            subject,
            "--email",
            "bo@example.com",
            "-m",
            "Help",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let value: serde_json::Value = serde_json::from_str(&self.tix(clone, now, &args)).unwrap();
        value["id"].as_str().unwrap().to_owned()
    }

    pub(crate) fn ticket(&self, clone: &str, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.tix(
            clone,
            "2025-03-05T00:00:00Z",
            &["show", id, "--format", "json"],
        ))
        .unwrap()
    }

    /// Makes a desk named `name` with `tix init`.
    pub(crate) fn desk(name: &str) -> Self {
        let world = Self::new();
        std::fs::create_dir_all(world.path(name)).unwrap();
        world.tix(name, "2025-03-03T09:00:00Z", &["init"]);
        world
    }

    /// Appends `text` to the desk's tix.toml and commits it.
    pub(crate) fn configure(&self, desk: &str, text: &str) {
        let path = self.path(desk).join("tix.toml");
        let mut config = std::fs::read_to_string(&path).unwrap();
        config.push_str(text);
        std::fs::write(&path, config).unwrap();
        self.git(desk, &["commit", "-q", "-am", "configure the desk"]);
    }

    /// Runs tix expecting exit `code`; returns stderr.
    pub(crate) fn fail(&self, clone: &str, now: &str, args: &[&str], code: i32) -> String {
        let out = self.tix_in(clone, now, "Ana <ana@desk.test>", args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "tix {args:?}: {stderr}");
        stderr
    }

    /// Starts tix without waiting.
    pub(crate) fn spawn(&self, clone: &str, now: &str, args: &[&str]) -> std::process::Child {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("tix"));
        cmd.args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        sealed(&mut cmd, &self.path(clone), now, "Ana <ana@desk.test>");
        cmd.spawn().unwrap()
    }

    /// Counts the commits on HEAD.
    pub(crate) fn commits(&self, clone: &str) -> usize {
        self.git(clone, &["rev-list", "--count", "HEAD"])
            .trim()
            .parse()
            .unwrap()
    }

    /// The directory holding the `tix` binary under test (for PATH).
    pub(crate) fn bin_dir(&self) -> PathBuf {
        assert_cmd::cargo::cargo_bin!("tix")
            .parent()
            .unwrap()
            .to_owned()
    }
}
