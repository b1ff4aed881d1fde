//! Hooks: shell commands from the committed `tix.toml`, run after a change
//! is committed, with the ticket as JSON on stdin (SPEC §5).
//!
//! A hook never undoes or blocks a change: it runs after the commit, its
//! failure (non-zero exit, a crash, more than [`TIMEOUT`]) is returned as a
//! message for the caller to report, and tix's own exit code is unchanged.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{Hook, HookEvent};

/// How long a hook may run before it is stopped.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The events a change raises, most specific first.
pub fn events_for(action: &str, status_changed: bool) -> Vec<HookEvent> {
    let mut events = Vec::new();
    match action {
        "new" => events.push(HookEvent::Created),
        "reply" | "reply-resolve" => events.push(HookEvent::Replied),
        "customer-reply" => events.push(HookEvent::CustomerReplied),
        "note" => events.push(HookEvent::Note),
        "assign" => events.push(HookEvent::Assigned),
        "sla-breach" => events.push(HookEvent::SlaBreach),
        _ => {}
    }
    if status_changed {
        events.push(HookEvent::StatusChanged);
    }
    if action != "sla-breach" {
        events.push(HookEvent::Changed);
    }
    events
}

/// Runs every hook listening to one of `events`, once each; returns one
/// message per failed hook.
pub fn run(
    hooks: &[Hook],
    root: &Path,
    events: &[HookEvent],
    ticket_json: &str,
    env: &[(&str, String)],
) -> Vec<String> {
    let mut failures = Vec::new();
    for hook in hooks {
        let Some(event) = events.iter().find(|e| hook.on.contains(e)) else {
            continue;
        };
        if let Err(why) = run_one(hook, root, *event, events, ticket_json, env) {
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
    ticket_json: &str,
    env: &[(&str, String)],
) -> Result<(), String> {
    let all: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&hook.run)
        .current_dir(root)
        .env("TIX_EVENT", event.as_str())
        .env("TIX_EVENTS", all.join(" "))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its input is fine.
        let _ = stdin.write_all(ticket_json.as_bytes());
    }
    let start = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(status.to_string()),
            None if start.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("stopped after {} s", TIMEOUT.as_secs()));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_raise_specific_events_first() {
        assert_eq!(
            events_for("new", false),
            [HookEvent::Created, HookEvent::Changed]
        );
        assert_eq!(
            events_for("customer-reply", true),
            [
                HookEvent::CustomerReplied,
                HookEvent::StatusChanged,
                HookEvent::Changed
            ]
        );
        assert_eq!(events_for("edit", false), [HookEvent::Changed]);
    }

    #[test]
    fn a_failing_hook_is_reported_and_others_still_run() {
        let dir = std::env::temp_dir();
        let marker = dir.join(format!("tix-hook-test-{}", std::process::id()));
        let hooks = [
            Hook {
                on: vec![HookEvent::Created],
                run: "exit 3".into(),
            },
            Hook {
                on: vec![HookEvent::Changed],
                run: format!("cat > '{}'", marker.display()),
            },
            Hook {
                on: vec![HookEvent::Note],
                run: "exit 9".into(),
            },
        ];
        let failures = run(
            &hooks,
            &dir,
            &events_for("new", false),
            "{\"id\":\"x\"}",
            &[],
        );
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("exit status: 3"), "{failures:?}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "{\"id\":\"x\"}");
        let _ = std::fs::remove_file(marker);
    }
}
