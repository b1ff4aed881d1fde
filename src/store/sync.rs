//! `tix sync` and the merge driver's registration: the parts of
//! collaboration that go through the user's own `git` (their remotes,
//! credentials and config), because libgit2's merge does not run merge
//! drivers and tix never handles credentials.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{Error, Signature, Store, layout};

/// The name under which tix is registered when PATH finds this program.
const BARE_NAME: &str = "tix";

/// Returns how git should start tix as the merge driver: the bare name
/// `tix` when the first `tix` on PATH is this very program, so an upgrade
/// that swaps a symlink or installs a new binary there keeps working; else
/// the path this process was started with, when absolute and present
/// (symlinks kept, for the same reason); else the running executable.
fn merge_driver_program() -> Option<String> {
    let exe = std::env::current_exe().ok();
    let me = exe.as_ref().and_then(|e| std::fs::canonicalize(e).ok());
    if let (Some(me), Some(found)) = (&me, find_on_path(BARE_NAME))
        && std::fs::canonicalize(found).ok().as_ref() == Some(me)
    {
        return Some(BARE_NAME.to_owned());
    }
    let started = std::env::args_os()
        .next()
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.exists());
    started.or(exe)?.to_str().map(str::to_owned)
}

/// The first executable file called `name` in a directory of PATH.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The program a driver command starts: its first word, or the quoted
/// text it starts with.
fn driver_program(driver: &str) -> Option<&str> {
    let driver = driver.trim_start();
    for quote in ['\'', '"'] {
        if let Some(rest) = driver.strip_prefix(quote) {
            return rest.split(quote).next().filter(|p| !p.is_empty());
        }
    }
    driver.split_whitespace().next()
}

/// What `tix sync` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// The upstream branch (`origin/main`).
    pub upstream: String,
    /// How many pushes the remote rejected because it had moved (each was
    /// followed by another pull): 0 when the first push went through.
    pub retries: u32,
}

/// How long `tix sync` keeps pulling and pushing while the remote keeps
/// moving under it (other agents syncing at the same moment).
const RETRY_FOR: std::time::Duration = std::time::Duration::from_secs(60);

impl Store {
    /// Registers `tix merge-driver` in the repository's config when it is
    /// missing or names a program that no longer exists; a driver whose
    /// program resolves (a bare name on PATH, an existing path) is kept,
    /// even when it is someone's own. New registrations name `tix` when
    /// PATH finds this program, else the path it was started with.
    /// Returns whether it registered one.
    pub fn ensure_merge_driver(&self) -> Result<bool, Error> {
        let config = self.repo.config()?;
        if let Ok(driver) = config.get_string("merge.tix.driver")
            && driver_program(&driver).is_some_and(|program| self.program_exists(program))
        {
            return Ok(false);
        }
        let Some(program) = merge_driver_program() else {
            return Ok(false);
        };
        let program = if program == BARE_NAME {
            program
        } else {
            format!("'{}'", program.replace('\'', "'\\''"))
        };
        self.set_git_config("merge.tix.name", "tix ticket merge (docs/merge-policy.md)")?;
        self.set_git_config(
            "merge.tix.driver",
            &format!("{program} merge-driver %O %A %B %P"),
        )?;
        Ok(true)
    }

    /// Whether git, which runs drivers at the top of the work tree with
    /// the user's PATH, would find `program`.
    fn program_exists(&self, program: &str) -> bool {
        if program.contains('/') {
            self.root.join(program).exists()
        } else {
            find_on_path(program).is_some()
        }
    }

    /// Pulls (merge), then pushes; when the push is rejected because the
    /// remote moved (others pushed first), pulls and pushes again after a
    /// short jittered pause, for up to a minute. A merge commit is made as `sig`, with a
    /// `Tix-Ticket` trailer for each ticket the merge itself changed.
    pub fn sync(&self, sig: &Signature) -> Result<SyncReport, Error> {
        // Held for one pull and push at a time, not across the pauses, so
        // the desk's other writers wait for one round at most.
        let mut first = Some(self.lock()?);
        self.check_state()?;
        if self.repo.head_detached()? {
            return Err(Error::Sync(
                "HEAD is detached (no branch is checked out); switch to the desk's branch with \
                 `git switch BRANCH`, then run `tix sync` again"
                    .into(),
            ));
        }
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
        let started = std::time::Instant::now();
        let mut rng = fastrand::Rng::new();
        let mut retries = 0;
        loop {
            let round = match first.take() {
                Some(lock) => lock,
                None => {
                    let lock = self.lock()?;
                    self.check_state()?;
                    lock
                }
            };
            self.pull(sig)?;
            let push = self.git(sig, &["push", "--quiet"])?;
            if push.status.success() {
                return Ok(SyncReport { upstream, retries });
            }
            let stderr = String::from_utf8_lossy(&push.stderr);
            // The remote moved: rejected as not a fast-forward, or (a push
            // that raced another) its ref had moved when it came to update.
            let moved = ["[rejected]", "fetch first", "non-fast-forward"]
                .iter()
                .any(|s| stderr.contains(s))
                || (stderr.contains("[remote rejected]") && stderr.contains("cannot lock ref"));
            if !moved {
                // A hook or a rule of the remote said no, or it failed:
                // pushing again would only be refused again.
                let why = if stderr.contains("[remote rejected]") {
                    refusal(&stderr)
                } else {
                    first_error(&push)
                };
                return Err(Error::Sync(format!(
                    "the remote refused the push ({why}); your commits are merged locally but \
                     not published"
                )));
            }
            retries += 1;
            let waited = started.elapsed();
            if waited >= RETRY_FOR {
                return Err(Error::Sync(format!(
                    "the remote kept moving: {retries} pushes in {} s were rejected because \
                     others pushed first; your commits are merged locally, run `tix sync` again",
                    waited.as_secs()
                )));
            }
            // Jittered backoff, so agents that collided do not collide again
            // in step: 50 ms doubling up to 1.6 s, each wait between half
            // and all of it.
            let ceiling = 50u64 << retries.min(5);
            let pause = rng.u64(ceiling / 2..=ceiling);
            drop(round);
            std::thread::sleep(std::time::Duration::from_millis(pause));
        }
    }

    /// `git pull --no-rebase`; on failure aborts a half-done merge, so the
    /// desk is as it was. A merge commit gets tix's trailers.
    fn pull(&self, sig: &Signature) -> Result<(), Error> {
        let pull = self.git(
            sig,
            &["pull", "--no-rebase", "--no-commit", "--no-edit", "--quiet"],
        )?;
        let merging = self.repo.path().join("MERGE_HEAD").exists();
        if !pull.status.success() {
            let conflicts = self.git(sig, &["diff", "--name-only", "--diff-filter=U"])?;
            let conflicts: Vec<String> = String::from_utf8_lossy(&conflicts.stdout)
                .lines()
                .map(str::to_owned)
                .collect();
            if merging {
                let _ = self.git(sig, &["merge", "--abort"])?;
            }
            return Err(Error::Sync(if conflicts.is_empty() {
                format!(
                    "git pull failed ({}); the desk is unchanged",
                    first_error(&pull)
                )
            } else {
                let why = error_line(&pull)
                    .map(|line| format!(" ({line})"))
                    .unwrap_or_default();
                format!(
                    "git pull failed: conflicts in {}{why}; the merge was aborted and the desk \
                     is unchanged; run `git pull` to resolve them by hand",
                    conflicts.join(", ")
                )
            }));
        }
        if merging {
            self.commit_merge(sig)?;
        }
        Ok(())
    }

    /// Commits the merge `git pull --no-commit` prepared, with git's message
    /// and a `Tix-Ticket` trailer for every ticket whose merged file differs
    /// from both parents (the commits `tix log` lists), so that `git log
    /// --grep 'Tix-Ticket: ID'` finds the merge too.
    fn commit_merge(&self, sig: &Signature) -> Result<(), Error> {
        let changed = |parent: &str| -> Result<BTreeSet<String>, Error> {
            let out = self.git(
                sig,
                &[
                    "diff",
                    "--cached",
                    "--name-only",
                    parent,
                    "--",
                    layout::TICKETS_DIR,
                ],
            )?;
            Ok(String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_owned)
                .collect())
        };
        let ours = changed("HEAD")?;
        let theirs = changed("MERGE_HEAD")?;
        let ids: BTreeSet<String> = ours
            .intersection(&theirs)
            .filter_map(|path| layout::id_from_path(path))
            .map(|id| id.to_string())
            .collect();
        let merge_msg = self.repo.path().join("MERGE_MSG");
        let mut message = std::fs::read_to_string(&merge_msg)
            .map_err(|e| Error::io(&merge_msg, e))?
            .trim_end()
            .to_owned();
        if !ids.is_empty() {
            message.push_str("\n\n");
            for id in &ids {
                message.push_str(&format!("Tix-Ticket: {id}\n"));
            }
            message.push_str("Tix-Action: merge");
        }
        message.push('\n');
        let commit = self.git_with_input(sig, &["commit", "--quiet", "--file", "-"], &message)?;
        if !commit.status.success() {
            let _ = self.git(sig, &["merge", "--abort"])?;
            return Err(Error::Sync(format!(
                "git commit of the merge failed ({}); the merge was aborted and the desk is \
                 unchanged",
                first_error(&commit)
            )));
        }
        Ok(())
    }

    fn command(&self, sig: &Signature, args: &[&str]) -> Command {
        let date = format!("{} +0000", sig.time.unix());
        let mut command = Command::new("git");
        command
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
            .stdin(Stdio::null());
        command
    }

    fn git(&self, sig: &Signature, args: &[&str]) -> Result<Output, Error> {
        self.command(sig, args)
            .output()
            .map_err(|e| Error::io(Path::new("git"), e))
    }

    fn git_with_input(&self, sig: &Signature, args: &[&str], input: &str) -> Result<Output, Error> {
        let io = |e| Error::io(Path::new("git"), e);
        let mut child = self
            .command(sig, args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes()).map_err(io)?;
        }
        child.wait_with_output().map_err(io)
    }
}

/// The first `fatal:` or `error:` line git printed: it says why (later
/// lines are often generic advice).
fn error_line(output: &Output) -> Option<String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    stderr
        .lines()
        .chain(stdout.lines())
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix("fatal: ")
                .or_else(|| l.strip_prefix("error: "))
        })
        .map(str::to_owned)
}

/// Why git failed: [`error_line`], else the last line it printed.
fn first_error(output: &Output) -> String {
    error_line(output).unwrap_or_else(|| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        stderr
            .lines()
            .chain(stdout.lines())
            .map(str::trim)
            .rfind(|l| !l.is_empty())
            .unwrap_or("no message")
            .to_owned()
    })
}

/// Why the remote refused a push: the `[remote rejected]` reason and what
/// the remote's hook printed (`remote:` lines).
fn refusal(stderr: &str) -> String {
    let why = stderr
        .lines()
        .find(|l| l.contains("[remote rejected]"))
        .and_then(|l| l.rsplit_once('(').map(|(_, why)| why.trim_end_matches(')')))
        .unwrap_or("rejected")
        .to_owned();
    // What the remote's hook printed (`remote:` lines), and git's own
    // `error:` lines but its closing summary (`remote unpack failed: ...`
    // says why the remote could not take the objects).
    let said: Vec<&str> = stderr
        .lines()
        .filter_map(|l| {
            l.strip_prefix("remote:")
                .or_else(|| l.strip_prefix("error:"))
                .filter(|rest| !rest.trim_start().starts_with("failed to push some refs"))
        })
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if said.is_empty() {
        why
    } else {
        format!("{why}: {}", said.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    /// What git prints when the remote refuses: its reason in brackets,
    /// the remote hook's words and git's own `error:` lines are quoted;
    /// git's closing summary is not.
    #[test]
    fn a_refusal_quotes_the_remote_and_gits_reasons() {
        let hook = "remote: tickets need a department\nTo ../remote.git\n ! [remote rejected] main -> main (pre-receive hook declined)\nerror: failed to push some refs to '../remote.git'\n";
        assert_eq!(
            refusal(hook),
            "pre-receive hook declined: tickets need a department"
        );
        let unpack = "error: remote unpack failed: unable to create temporary object directory\nTo ../remote.git\n ! [remote rejected] main -> main (unpacker error)\nerror: failed to push some refs to '../remote.git'\n";
        assert_eq!(
            refusal(unpack),
            "unpacker error: remote unpack failed: unable to create temporary object directory"
        );
    }
}
