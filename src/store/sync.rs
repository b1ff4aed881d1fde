//! `tix sync` and the merge driver's registration: the parts of
//! collaboration that go through the user's own `git` (their remotes,
//! credentials and config), because libgit2's merge does not run merge
//! drivers and tix never handles credentials.

use std::path::Path;
use std::process::{Command, Output};

use super::{Error, Signature, Store};

/// What `tix sync` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// The upstream branch (`origin/main`).
    pub upstream: String,
    /// Whether the push needed a second pull.
    pub retried: bool,
}

impl Store {
    /// Registers `tix merge-driver` in the repository's config when it is
    /// missing or names a program that no longer exists.
    pub fn ensure_merge_driver(&self, exe: &Path) -> Result<(), Error> {
        let config = self.repo.config()?;
        if let Ok(driver) = config.get_string("merge.tix.driver") {
            let driver = driver.trim_start();
            let program = match driver.strip_prefix('\'') {
                Some(rest) => rest.split('\'').next(),
                None => driver.split_whitespace().next(),
            };
            if program.is_some_and(|p| p == "tix" || Path::new(p).exists()) {
                return Ok(());
            }
        }
        let quoted = format!("'{}'", exe.display().to_string().replace('\'', "'\\''"));
        self.set_git_config("merge.tix.name", "tix ticket merge (docs/merge-policy.md)")?;
        self.set_git_config(
            "merge.tix.driver",
            &format!("{quoted} merge-driver %O %A %B %P"),
        )?;
        Ok(())
    }

    /// Pulls (merge), then pushes; retries once when the push is rejected
    /// because the remote moved. A merge commit is made as `sig`.
    pub fn sync(&self, sig: &Signature) -> Result<SyncReport, Error> {
        let _lock = self.lock()?;
        self.check_state()?;
        let upstream = self.git(
            sig,
            &["rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}"],
        )?;
        if !upstream.status.success() {
            let remotes = self.git(sig, &["remote"])?;
            if String::from_utf8_lossy(&remotes.stdout).trim().is_empty() {
                return Err(Error::Sync(
                    "the desk has no remote; add one with `git remote add origin URL`".into(),
                ));
            }
            return Err(Error::Sync(
                "the current branch has no upstream; set one with `git push -u origin BRANCH`"
                    .into(),
            ));
        }
        let upstream = String::from_utf8_lossy(&upstream.stdout).trim().to_owned();
        for attempt in 0..2 {
            let pull = self.git(sig, &["pull", "--no-rebase", "--no-edit", "--quiet"])?;
            if !pull.status.success() {
                let reason = last_line(&pull);
                if self.repo.path().join("MERGE_HEAD").exists() {
                    let _ = self.git(sig, &["merge", "--abort"])?;
                }
                return Err(Error::Sync(format!(
                    "git pull failed ({reason}); the desk is unchanged"
                )));
            }
            let push = self.git(sig, &["push", "--quiet"])?;
            if push.status.success() {
                return Ok(SyncReport {
                    upstream,
                    retried: attempt > 0,
                });
            }
            let stderr = String::from_utf8_lossy(&push.stderr);
            let moved = ["rejected", "fetch first", "non-fast-forward"]
                .iter()
                .any(|s| stderr.contains(s));
            if !moved || attempt > 0 {
                return Err(Error::Sync(format!(
                    "git push failed ({}); your commits are merged locally, run `tix sync` again",
                    last_line(&push)
                )));
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    fn git(&self, sig: &Signature, args: &[&str]) -> Result<Output, Error> {
        let date = format!("{} +0000", sig.time.unix());
        Command::new("git")
            .args(args)
            .env("GIT_AUTHOR_NAME", &sig.name)
            .env("GIT_AUTHOR_EMAIL", &sig.email)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_NAME", &sig.name)
            .env("GIT_COMMITTER_EMAIL", &sig.email)
            .env("GIT_COMMITTER_DATE", &date)
            .current_dir(&self.root)
            .env("GIT_MERGE_AUTOEDIT", "no")
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .map_err(|e| Error::io(Path::new("git"), e))
    }
}

fn last_line(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    line.trim()
        .trim_start_matches("fatal: ")
        .trim_start_matches("error: ")
        .to_owned()
}
