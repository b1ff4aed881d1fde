//! Hooks: shell commands from the committed `tix.toml`, run after a change
//! is committed, with the ticket as JSON on stdin (SPEC §5).
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

use crate::config::{Hook, HookEvent};
use crate::domain::change::Applied;
use crate::model::{Event, EventKind, Role, Ticket};

/// The hook events a change raises, most specific first, derived from the
/// events it recorded in the ticket's log (`recorded`), so every path that
/// records an assignment, a reply or a status change raises its event
/// (`tix next --take`, routing at creation, the resolver's assignment, an
/// automation's `assign`), and every change raises `changed`.
///
/// The first message of a new ticket is part of `created`, not a reply.
/// `notify` is not derived: it comes from the rule that made the change.
pub fn events_for(recorded: &[Event]) -> Vec<HookEvent> {
    let created = recorded.iter().any(|e| e.kind == EventKind::Created);
    let raised = |event: HookEvent| {
        recorded.iter().any(|e| match (event, e.kind) {
            (HookEvent::Created, EventKind::Created) => true,
            (HookEvent::Replied, EventKind::Message) => !created && e.role != Role::Customer,
            (HookEvent::CustomerReplied, EventKind::Message) => {
                !created && e.role == Role::Customer
            }
            (HookEvent::Note, EventKind::Note) => true,
            (HookEvent::Assigned, EventKind::Assign | EventKind::Department) => true,
            (HookEvent::SlaBreach, EventKind::Sla) => e.to.as_deref() == Some("breach"),
            (HookEvent::SlaWarning, EventKind::Sla) => e.to.as_deref() == Some("warning"),
            // Postponing again records postponed -> postponed: no change.
            (HookEvent::StatusChanged, EventKind::Status) => e.from != e.to,
            (HookEvent::Changed, _) => true,
            _ => false,
        })
    };
    [
        HookEvent::Created,
        HookEvent::CustomerReplied,
        HookEvent::Replied,
        HookEvent::Note,
        HookEvent::SlaBreach,
        HookEvent::SlaWarning,
        HookEvent::Assigned,
        HookEvent::StatusChanged,
        HookEvent::Changed,
    ]
    .into_iter()
    .filter(|event| raised(*event))
    .collect()
}

/// The hook events of the change `applied` made to `ticket`: those of the
/// last `applied.recorded` events of its log.
pub fn recorded_events(ticket: &Ticket, applied: &Applied) -> Vec<HookEvent> {
    let start = ticket.events.len().saturating_sub(applied.recorded);
    events_for(&ticket.events[start..])
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
        .process_group(0)
        .spawn()
        .map_err(|e| e.to_string())?;
    if let Some(mut stdin) = child.stdin.take() {
        // Written from a thread: a ticket larger than the pipe buffer would
        // block tix on a hook that never reads, past its timeout. A hook
        // that does not read its input is fine, so a broken pipe is too.
        let input = Arc::clone(input);
        let writer = std::thread::Builder::new()
            .name("hook-stdin".into())
            .spawn(move || {
                let _ = stdin.write_all(input.as_bytes());
            });
        if let Err(err) = writer {
            stop(&mut child);
            return Err(format!("cannot pass the ticket on stdin: {err}"));
        }
    }
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(status.to_string()),
            Ok(None) if start.elapsed() > hook.timeout => {
                stop(&mut child);
                return Err(format!("stopped after {} s", hook.timeout.as_secs()));
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

    fn recorded(kinds: &[(EventKind, Role)]) -> Vec<Event> {
        let at = crate::model::Timestamp::from_unix(0).unwrap();
        kinds
            .iter()
            .map(|(kind, role)| Event::new(at, "ana@desk", *role, *kind))
            .collect()
    }

    fn status(from: &str, to: &str) -> Event {
        let mut e = recorded(&[(EventKind::Status, Role::Agent)]).remove(0);
        e.from = Some(from.into());
        e.to = Some(to.into());
        e
    }

    #[test]
    fn events_come_from_what_the_change_recorded_most_specific_first() {
        use EventKind as K;
        use HookEvent as H;
        let agent = Role::Agent;
        // A new ticket with the customer's words, routed and assigned.
        let new = recorded(&[
            (K::Created, agent),
            (K::Message, Role::Customer),
            (K::Department, agent),
            (K::Assign, agent),
        ]);
        assert_eq!(events_for(&new), [H::Created, H::Assigned, H::Changed]);
        // tix next --take: assign, then new -> open.
        let mut take = recorded(&[(K::Assign, agent)]);
        take.push(status("new", "open"));
        assert_eq!(
            events_for(&take),
            [H::Assigned, H::StatusChanged, H::Changed]
        );
        // A customer reply that reopens.
        let mut reply = recorded(&[(K::Message, Role::Customer)]);
        reply.push(status("resolved", "open"));
        assert_eq!(
            events_for(&reply),
            [H::CustomerReplied, H::StatusChanged, H::Changed]
        );
        // An SLA breach is a change too.
        let mut breach = recorded(&[(K::Sla, Role::System)]);
        breach[0].to = Some("breach".into());
        assert_eq!(events_for(&breach), [H::SlaBreach, H::Changed]);
        breach.extend(recorded(&[(K::Sla, Role::System)]));
        breach[1].to = Some("warning".into());
        assert_eq!(
            events_for(&breach),
            [H::SlaBreach, H::SlaWarning, H::Changed]
        );
        // Postponing again keeps the status.
        assert_eq!(
            events_for(&[status("postponed", "postponed")]),
            [H::Changed]
        );
        assert_eq!(events_for(&recorded(&[(K::Tag, agent)])), [H::Changed]);
        assert!(events_for(&[]).is_empty());
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
