//! Hooks: shell commands from the committed `tix.toml`, run after a change
//! is committed, with the ticket as JSON on stdin (docs/configuration.md,
//! "Hooks"). Every hook of every use case is dispatched here, from the
//! events the change recorded ([`crate::domain::hooks::events_for`]).
//!
//! A hook never undoes or blocks a change: it runs after the commit, its
//! failure (non-zero exit, a crash, running longer than its `timeout`) is
//! returned as a message for the caller to report, and tix's own exit code
//! is unchanged. A hook runs in a process group of its own, so stopping it
//! at the timeout stops what it started too: nothing it left behind keeps
//! tix's standard error open.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::os::unix::process::CommandExt;

use super::{Desk, commands_of};
use crate::domain::change::Applied;
use crate::domain::hooks::{Hook, HookEvent, recorded_events};
use crate::domain::view::TicketView;
use crate::model::Ticket;

/// The git config key (in the clone's own `.git/config`) that records the
/// digest of the commands the clone allowed.
pub const ALLOWANCE_KEY: &str = "tix.allowedCommands";

/// The commands of `tix.toml` and whether this clone allowed them.
#[derive(Clone, Debug)]
pub struct Review {
    /// Each hook: its command and the events that run it, in file order.
    pub hooks: Vec<Hook>,
    /// The mail transport's command (`[mail] sendmail`), when mail goes
    /// out through one.
    pub mail: Option<String>,
    /// The digest `tix hooks allow DIGEST` takes to allow exactly this set.
    pub digest: String,
    /// Whether this clone allowed exactly this set.
    pub allowed: bool,
}

impl Desk {
    /// The commands of the committed `tix.toml`, for review.
    pub fn commands(&self) -> Review {
        Review {
            hooks: self.config.hooks.clone(),
            mail: match &self.config.mail.transport {
                crate::domain::mail::Transport::Sendmail(command) => Some(command.clone()),
                _ => None,
            },
            digest: commands_of(&self.config).digest(),
            allowed: self.commands_allowed,
        }
    }

    /// Allows the commands of the committed `tix.toml` on this clone:
    /// records their digest in its own git config (never committed). With
    /// `reviewed` (the digest `tix hooks` showed), refuses when the set is
    /// no longer the one reviewed (a pull came in between). Returns the
    /// distinct commands it allowed.
    pub fn allow_commands(&mut self, reviewed: Option<&str>) -> Result<Vec<String>, super::Error> {
        let commands = commands_of(&self.config);
        let digest = commands.digest();
        if let Some(reviewed) = reviewed
            && reviewed != digest
        {
            return Err(super::Error::Change(
                crate::domain::change::ChangeError::Invalid(format!(
                    "the commands of tix.toml changed since you reviewed them (digest {digest}, \
                     not {reviewed}); review them again with `tix hooks`"
                )),
            ));
        }
        self.store.set_git_config(ALLOWANCE_KEY, &digest)?;
        self.commands_allowed = true;
        Ok(commands.commands)
    }

    /// Reports the hooks `events` would run and this clone did not allow,
    /// each command once per process.
    fn skip(&self, events: &[HookEvent]) -> Vec<String> {
        let mut reported = self.skipped.borrow_mut();
        self.config
            .hooks
            .iter()
            .filter(|hook| events.iter().any(|e| hook.on.contains(e)))
            .filter(|hook| reported.insert(hook.run.clone()))
            .map(|hook| {
                format!(
                    "hook `{}` did not run: this clone has not allowed the commands of tix.toml; \
                     review them with `tix hooks`, then `tix hooks allow`",
                    hook.run
                )
            })
            .collect()
    }

    /// Runs the hooks a committed change raises: those of the events it
    /// recorded (the last `applied.recorded` of the ticket's log), after
    /// `notify` when an automation rule asked for it; `env` adds variables
    /// (an automation's rules). Returns one message per failed hook.
    pub(crate) fn run_hooks_for_change(
        &self,
        ticket: &Ticket,
        applied: &Applied,
        notify: bool,
        env: &[(&str, String)],
    ) -> Vec<String> {
        let mut events = Vec::new();
        if notify {
            events.push(HookEvent::Notify);
        }
        events.extend(recorded_events(ticket, applied));
        self.run_hooks(ticket, applied, &events, env)
    }

    /// Runs the hooks listening to `events` with the ticket as JSON on
    /// stdin and the change in the environment (`TIX_TICKET`,
    /// `TIX_ACTION`, `TIX_STATUS_FROM`, `TIX_STATUS_TO`, plus `env`).
    pub(crate) fn run_hooks(
        &self,
        ticket: &Ticket,
        applied: &Applied,
        events: &[HookEvent],
        env: &[(&str, String)],
    ) -> Vec<String> {
        if self.config.hooks.is_empty() {
            return Vec::new();
        }
        if !self.commands_allowed {
            return self.skip(events);
        }
        let json = serde_json::to_string(&TicketView::of(ticket, &self.config.statuses))
            .unwrap_or_default();
        let (from, to) = applied.status.clone().unwrap_or_default();
        let mut all = vec![
            ("TIX_TICKET", ticket.id.to_string()),
            ("TIX_ACTION", applied.action.to_owned()),
            ("TIX_STATUS_FROM", from),
            ("TIX_STATUS_TO", to),
        ];
        all.extend(env.iter().cloned());
        run(&self.config.hooks, self.root(), events, &json, &all)
    }
}

/// Runs every hook listening to one of `events`, once each; returns one
/// message per failed hook.
fn run(
    hooks: &[Hook],
    root: &Path,
    events: &[HookEvent],
    ticket_json: &str,
    env: &[(&str, String)],
) -> Vec<String> {
    let mut failures = Vec::new();
    let input: Arc<str> = Arc::from(ticket_json);
    for hook in hooks {
        let Some(event) = events.iter().find(|e| hook.on.contains(e)) else {
            continue;
        };
        if let Err(why) = run_one(hook, root, *event, events, &input, env) {
            failures.push(format!(
                "hook `{}` ({}) failed: {why}; the change is committed",
                hook.run,
                event.as_str()
            ));
        }
    }
    failures
}

fn run_one(
    hook: &Hook,
    root: &Path,
    event: HookEvent,
    events: &[HookEvent],
    input: &Arc<str>,
    env: &[(&str, String)],
) -> Result<(), String> {
    let all: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let mut env: Vec<(&str, String)> = env.to_vec();
    env.push(("TIX_EVENT", event.as_str().to_owned()));
    env.push(("TIX_EVENTS", all.join(" ")));
    let input: Arc<[u8]> = Arc::from(input.as_bytes());
    run_shell(&hook.run, root, input, &env, hook.timeout, false)
}

/// Runs `command` with `sh -c` in `root`, `input` on its stdin, stopping
/// its whole process group after `timeout`. With `keep_stderr`, a failure
/// says the first line the command wrote to stderr (else stderr is the
/// user's).
pub(crate) fn run_shell(
    command: &str,
    root: &Path,
    input: Arc<[u8]>,
    env: &[(&str, String)],
    timeout: Duration,
    keep_stderr: bool,
) -> Result<(), String> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(root)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(if keep_stderr {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // Written from a thread: an input larger than the pipe buffer would
        // block tix on a command that never reads, past its timeout. A
        // command that does not read its input is fine, so a broken pipe is too.
        let writer = std::thread::Builder::new()
            .name("command-stdin".into())
            .spawn(move || {
                let _ = stdin.write_all(&input);
            });
        if let Err(err) = writer {
            stop(&mut child);
            return Err(format!("cannot pass the input on stdin: {err}"));
        }
    }
    let stderr = child.stderr.take().map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
            text
        })
    });
    let said = |stderr: Option<std::thread::JoinHandle<String>>| {
        stderr
            .and_then(|t| t.join().ok())
            .and_then(|text| {
                text.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(|l| format!(": {}", l.chars().take(300).collect::<String>()))
            })
            .unwrap_or_default()
    };
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{status}{}", said(stderr))),
            Ok(None) if start.elapsed() > timeout => {
                stop(&mut child);
                return Err(format!("stopped after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(err) => {
                stop(&mut child);
                return Err(err.to_string());
            }
        }
    }
}

/// Kills the hook's whole process group, then reaps the hook.
fn stop(child: &mut Child) {
    // The hook leads its own group (`process_group(0)`), so its pid is the
    // group id; killing the group reaches what it started in the background.
    let group = rustix::process::Pid::from_child(child);
    if rustix::process::kill_process_group(group, rustix::process::Signal::KILL).is_err() {
        let _ = child.kill();
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(on: HookEvent, run: &str) -> Hook {
        Hook {
            on: vec![on],
            run: run.into(),
            timeout: Hook::DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn a_hook_that_never_reads_a_large_ticket_is_stopped_at_its_timeout() {
        // Far more than a pipe holds: writing it must not block tix.
        let json = format!("{{\"body\":\"{}\"}}", "x".repeat(1 << 20));
        let hooks = [Hook {
            timeout: Duration::from_secs(1),
            ..hook(HookEvent::Created, "sleep 60")
        }];
        let start = Instant::now();
        let failures = run(
            &hooks,
            &std::env::temp_dir(),
            &[HookEvent::Created],
            &json,
            &[],
        );
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("stopped after 1 s"), "{failures:?}");
        // One that exits without reading is a success.
        let hooks = [hook(HookEvent::Created, "true")];
        assert!(
            run(
                &hooks,
                &std::env::temp_dir(),
                &[HookEvent::Created],
                &json,
                &[]
            )
            .is_empty()
        );
    }

    #[test]
    fn a_failing_hook_is_reported_and_others_still_run() {
        let dir = std::env::temp_dir();
        let marker = dir.join(format!("tix-hook-test-{}", std::process::id()));
        let hooks = [
            hook(HookEvent::Created, "exit 3"),
            hook(HookEvent::Changed, &format!("cat > '{}'", marker.display())),
            hook(HookEvent::Note, "exit 9"),
        ];
        let failures = run(
            &hooks,
            &dir,
            &[HookEvent::Created, HookEvent::Changed],
            "{\"id\":\"x\"}",
            &[],
        );
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("exit status: 3"), "{failures:?}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "{\"id\":\"x\"}");
        let _ = std::fs::remove_file(marker);
    }
}
