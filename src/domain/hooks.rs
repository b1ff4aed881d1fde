//! Hooks as rules: which events a change raises, and the `[[hook]]` of
//! `tix.toml` that listen to them (docs/configuration.md, "Hooks").
//!
//! Pure: running the commands is the desk's part (`crate::desk::hooks`).

use serde::Deserialize;

use crate::domain::change::Applied;
use crate::model::{Event, EventKind, Role, Ticket};

/// When a hook runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HookEvent {
    /// A ticket was created.
    Created,
    /// Any change (including creation).
    Changed,
    /// The status changed.
    StatusChanged,
    /// The assignee or department changed.
    Assigned,
    /// An agent replied publicly.
    Replied,
    /// The customer replied.
    CustomerReplied,
    /// An internal note was added.
    Note,
    /// An SLA target was breached (`tix sla check`).
    SlaBreach,
    /// An SLA target is due within the policy's `warn_before`
    /// (`tix sla check`).
    SlaWarning,
    /// An automation rule with `notify = "hook"` changed the ticket.
    Notify,
}

impl HookEvent {
    /// Returns the name set in `TIX_EVENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Changed => "changed",
            Self::StatusChanged => "status_changed",
            Self::Assigned => "assigned",
            Self::Replied => "replied",
            Self::CustomerReplied => "customer_replied",
            Self::Note => "note",
            Self::SlaBreach => "sla_breach",
            Self::SlaWarning => "sla_warning",
            Self::Notify => "notify",
        }
    }
}

/// A command run after a change, with the ticket as JSON on stdin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    /// The events that run it (never empty).
    pub on: Vec<HookEvent>,
    /// A shell command (`sh -c`), run at the desk root (never blank).
    pub run: String,
    /// How long it may run before it is stopped.
    pub timeout: std::time::Duration,
}

impl Hook {
    /// How long a hook may run when `timeout` is not set.
    pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
}

/// The commands of a `tix.toml` a clone must allow before any of them runs
/// (docs/configuration.md, "Commands need consent"), and the digest that
/// records the allowance: a SHA-1 over the distinct command strings,
/// sorted, so reordering hooks or changing their events or timeouts keeps
/// the allowance, and any change of what runs voids it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commands {
    /// Each distinct command, sorted.
    pub commands: Vec<String>,
}

impl Commands {
    /// The commands of these hooks.
    pub fn of(hooks: &[Hook]) -> Self {
        let mut commands: Vec<String> = hooks.iter().map(|h| h.run.clone()).collect();
        commands.sort();
        commands.dedup();
        Self { commands }
    }

    /// Adds more commands (the mail transport's).
    pub fn with(mut self, more: impl IntoIterator<Item = String>) -> Self {
        self.commands.extend(more);
        self.commands.sort();
        self.commands.dedup();
        self
    }

    /// Tells whether there is nothing to allow.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The digest a clone records when it allows this set.
    pub fn digest(&self) -> String {
        use sha1::{Digest, Sha1};
        let mut hasher = Sha1::new();
        hasher.update(b"tix commands 1\n");
        for command in &self.commands {
            // A length prefix: no two different sets hash the same text.
            hasher.update(format!("{}\n", command.len()).as_bytes());
            hasher.update(command.as_bytes());
            hasher.update(b"\n");
        }
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Tells whether `recorded` (a clone's allowance) allows this set. An
    /// empty set needs no allowance.
    pub fn allowed_by(&self, recorded: Option<&str>) -> bool {
        self.is_empty() || recorded.is_some_and(|r| r == self.digest())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(run: &str, on: HookEvent) -> Hook {
        Hook {
            on: vec![on],
            run: run.into(),
            timeout: Hook::DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn an_allowance_covers_exactly_the_set_of_commands() {
        let a = Commands::of(&[
            hook("notify", HookEvent::Created),
            hook("log", HookEvent::Note),
        ]);
        let digest = a.digest();
        assert!(a.allowed_by(Some(&digest)));
        assert!(!a.allowed_by(None));
        // Order, events and duplicates do not change what runs.
        let b = Commands::of(&[
            hook("log", HookEvent::Changed),
            hook("notify", HookEvent::Created),
            hook("log", HookEvent::Note),
        ]);
        assert!(b.allowed_by(Some(&digest)));
        // Another command, or a changed one, does.
        let c = Commands::of(&[
            hook("notify", HookEvent::Created),
            hook("log ", HookEvent::Note),
        ]);
        assert!(!c.allowed_by(Some(&digest)));
        let d = Commands::of(&[hook("notify\nlog", HookEvent::Created)]);
        assert_ne!(d.digest(), digest, "no two sets share a digest by joining");
        // Nothing to allow is allowed.
        assert!(Commands::of(&[]).allowed_by(None));
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
}
