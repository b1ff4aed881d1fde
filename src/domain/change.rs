//! Applies one action (reply, resolve, assign, edit, ...) to a ticket.
//!
//! Every action appends events to the log and updates the header fields it
//! owns. Status moves go through [`crate::domain::lifecycle`], so a refused move never
//! touches the ticket. Pure: time and actor come in through [`Actor`].

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::lifecycle::{self, Category, Move, Outcome, Statuses, TransitionError};
use crate::model::{Customer, Event, EventKind, Priority, Role, Ticket, TicketId, Timestamp};

/// Who acts, and when.
#[derive(Clone, Debug)]
pub struct Actor<'a> {
    /// The identity written in events (agent email, or name).
    pub id: &'a str,
    /// Agent, or system for automation.
    pub role: Role,
    /// The current time.
    pub now: Timestamp,
    /// The desk's statuses.
    pub statuses: &'a Statuses,
}

/// What `tix new` creates.
#[derive(Clone, Debug, Default)]
pub struct NewTicket {
    /// One line.
    pub subject: String,
    /// The first message, written by the customer when one is named.
    pub body: Option<String>,
    /// Who the ticket is for.
    pub customer: Customer,
    /// How urgent.
    pub priority: Priority,
    /// Owning team.
    pub department: Option<String>,
    /// Owning agent.
    pub assignee: Option<String>,
    /// Labels.
    pub tags: Vec<String>,
    /// Custom field values.
    pub fields: BTreeMap<String, toml::Value>,
    /// The ticket this one follows up.
    pub follow_up_of: Option<TicketId>,
}

/// Changes to header fields (`tix edit`).
#[derive(Clone, Debug, Default)]
pub struct Edit {
    /// New subject.
    pub subject: Option<String>,
    /// New priority.
    pub priority: Option<Priority>,
    /// Tags to add.
    pub add_tags: Vec<String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// Custom field values to set.
    pub fields: BTreeMap<String, toml::Value>,
    /// Custom fields to clear.
    pub clear_fields: Vec<String>,
    /// New customer details.
    pub customer: Customer,
}

/// One action on an existing ticket.
#[derive(Clone, Debug)]
pub enum Change {
    /// Agent's public reply, optionally resolving.
    Reply {
        /// The text.
        body: String,
        /// Also resolve.
        resolve: bool,
    },
    /// The customer's reply.
    CustomerReply {
        /// The text.
        body: String,
    },
    /// Internal note.
    Note {
        /// The text.
        body: String,
    },
    /// Take the ticket up.
    Open,
    /// Come back later.
    Postpone {
        /// When it wakes up.
        until: Option<Timestamp>,
    },
    /// Mark it solved.
    Resolve {
        /// Why, recorded on the status change.
        reason: Option<String>,
    },
    /// Close it.
    Close {
        /// Allow from an active status.
        force: bool,
        /// Why (required with `force`).
        reason: Option<String>,
    },
    /// Bring it back.
    Reopen {
        /// Why.
        reason: Option<String>,
    },
    /// A postponed ticket whose `until` passed wakes up (automation).
    Wake,
    /// Take the ticket: assign it to the actor and move new or postponed
    /// to open, in one change (`tix next --take`).
    Take,
    /// Record SLA breaches (`tix sla check`): (metric, due) pairs.
    SlaBreach {
        /// The breached metrics with their due times.
        breaches: Vec<(String, Timestamp)>,
    },
    /// Set any status the configuration allows (`tix status`).
    SetStatus {
        /// The status id.
        status: String,
        /// Why.
        reason: Option<String>,
    },
    /// Change assignee and/or department (`Some(None)` clears).
    Assign {
        /// New assignee.
        assignee: Option<Option<String>>,
        /// New department.
        department: Option<Option<String>>,
    },
    /// Change header fields.
    Edit(Edit),
    /// The customer's satisfaction rating, after the ticket was resolved:
    /// a later one replaces the earlier (both stay in the log).
    Rate {
        /// 1 (poor) to 5 (great).
        score: u8,
        /// Optional words.
        comment: Option<String>,
    },
}

/// What an applied action did, for the commit message and the hooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The `Tix-Action` name.
    pub action: &'static str,
    /// The status change, when there was one.
    pub status: Option<(String, String)>,
    /// How many events the action appended to the ticket's log: the last
    /// `recorded` events are this change (hooks are raised from them).
    /// [`create`] and [`apply`] set it.
    pub recorded: usize,
}

impl Applied {
    /// An action that changed no status.
    fn named(action: &'static str) -> Self {
        Self {
            action,
            status: None,
            recorded: 0,
        }
    }
}

/// An action that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The lifecycle refuses the move.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The input is wrong.
    #[error("{0}")]
    Invalid(String),
    /// The action would change nothing.
    #[error("nothing to change: {0}")]
    NoChange(String),
    /// The ticket's status is not one the desk knows.
    #[error("the ticket's status '{0}' is not defined in tix.toml; run `tix doctor`")]
    UnknownStatus(String),
}

fn invalid(message: impl Into<String>) -> ChangeError {
    ChangeError::Invalid(message.into())
}

/// Creates a ticket with id `id`.
pub fn create(
    id: TicketId,
    new: NewTicket,
    actor: &Actor<'_>,
) -> Result<(Ticket, Applied), ChangeError> {
    let subject = check_subject(&new.subject)?;
    let mut ticket = Ticket {
        id,
        subject,
        status: None,
        priority: new.priority,
        assignee: None,
        department: None,
        tags: BTreeSet::new(),
        follow_up_of: new.follow_up_of.clone(),
        duplicate_of: None,
        related: BTreeSet::new(),
        source: None,
        customer: check_customer(&new.customer)?,
        fields: new.fields.clone(),
        rating: None,
        events: Vec::new(),
    };
    let mut created = event(actor, EventKind::Created);
    created.to = Some(Category::New.default_status().to_owned());
    ticket.push(created);
    if let Some(body) = new.body.as_deref().filter(|b| !b.trim().is_empty()) {
        // The first message is the customer's words when there is a customer;
        // otherwise the agent opened the ticket proactively.
        let mut message = if ticket.customer.is_empty() {
            event(actor, EventKind::Message)
        } else {
            let customer = ticket.customer.actor();
            Event::new(actor.now, &customer, Role::Customer, EventKind::Message)
        };
        message.body = Some(body.to_owned());
        ticket.push(message);
    }
    for tag in &new.tags {
        ticket.tags.insert(check_tag(tag)?);
    }
    if let Some(link) = &new.follow_up_of {
        let mut e = event(actor, EventKind::Link);
        e.field = Some("follow_up_of".to_owned());
        e.to = Some(link.to_string());
        ticket.push(e);
    }
    if new.assignee.is_some() || new.department.is_some() {
        let assign = Change::Assign {
            assignee: new.assignee.clone().map(Some),
            department: new.department.clone().map(Some),
        };
        apply_assign(&mut ticket, &assign, actor)?;
    }
    let recorded = ticket.events.len();
    Ok((
        ticket,
        Applied {
            action: "new",
            status: None,
            recorded,
        },
    ))
}

/// Applies `change` to `ticket`; on error the ticket is unchanged.
pub fn apply(
    ticket: &mut Ticket,
    change: &Change,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let mut draft = ticket.clone();
    let mut applied = apply_to(&mut draft, change, actor)?;
    applied.recorded = draft.events.len() - ticket.events.len();
    *ticket = draft;
    Ok(applied)
}

/// The ticket's status before a change, and the moves it allows.
struct Before<'s> {
    status: &'s str,
    category: Category,
}

impl Before<'_> {
    /// Where `mv` leads from here, or the lifecycle's refusal.
    fn check(&self, mv: Move) -> Result<Outcome, TransitionError> {
        lifecycle::check(mv, self.status, self.category)
    }

    /// Applies a status move whose outcome [`Self::check`] gave.
    fn moved(
        &self,
        ticket: &mut Ticket,
        outcome: Outcome,
        actor: &Actor<'_>,
        action: &'static str,
        reason: Option<String>,
    ) -> Applied {
        moved(ticket, self.status, outcome, actor, action, reason, None)
    }
}

fn apply_to(
    ticket: &mut Ticket,
    change: &Change,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let summary = ticket.summary(actor.statuses);
    let category = summary
        .category
        .ok_or_else(|| ChangeError::UnknownStatus(summary.status.clone()))?;
    let before = Before {
        status: &summary.status,
        category,
    };
    let plain = |ticket: &mut Ticket, mv: Move, action, reason: &Option<String>| {
        let outcome = before.check(mv)?;
        Ok(before.moved(ticket, outcome, actor, action, reason.clone()))
    };
    match change {
        Change::Reply { body, resolve } => reply(ticket, &before, body, *resolve, actor),
        Change::CustomerReply { body } => customer_reply(ticket, &before, body, actor),
        Change::Note { body } => {
            before.check(Move::Note)?;
            let mut note = event(actor, EventKind::Note);
            note.body = Some(check_body(body)?);
            ticket.push(note);
            Ok(Applied::named("note"))
        }
        Change::Open => plain(ticket, Move::Open, "open", &None),
        Change::Postpone { until } => {
            postpone(ticket, &before, *until, summary.postponed_until, actor)
        }
        Change::Resolve { reason } => {
            let outcome = before.check(Move::Resolve)?;
            assign_resolver(ticket, actor);
            Ok(before.moved(ticket, outcome, actor, "resolve", reason.clone()))
        }
        Change::Close { force, reason } => close(ticket, &before, *force, reason, actor),
        Change::Reopen { reason } => plain(ticket, Move::Reopen, "reopen", reason),
        Change::Wake => {
            let replied = summary.first_reply.is_some();
            plain(ticket, Move::Wake { replied }, "wake", &None)
        }
        Change::Take => take(ticket, &before, actor),
        Change::SlaBreach { breaches } => {
            for (metric, due) in breaches {
                let mut e = event(actor, EventKind::Sla);
                e.field = Some(metric.clone());
                e.to = Some("breach".to_owned());
                e.until = Some(*due);
                ticket.push(e);
            }
            Ok(Applied::named("sla-breach"))
        }
        Change::SetStatus { status, reason } => set_status(
            ticket,
            &summary.status,
            category,
            status,
            reason.clone(),
            actor,
        ),
        Change::Assign { .. } => {
            before.check(Move::Edit)?;
            apply_assign(ticket, change, actor)
        }
        Change::Edit(edit) => {
            before.check(Move::Edit)?;
            apply_edit(ticket, edit, actor)
        }
        Change::Rate { score, comment } => rate(ticket, *score, comment.as_deref(), actor),
    }
}

/// Records the customer's rating. A rating belongs after a resolve: a
/// ticket never resolved is refused, whatever its status now.
fn rate(
    ticket: &mut Ticket,
    score: u8,
    comment: Option<&str>,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    if !(1..=5).contains(&score) {
        return Err(invalid(format!(
            "a rating is 1 (poor) to 5 (great), not {score}"
        )));
    }
    let resolved = ticket.events.iter().any(|e| {
        e.sets_status()
            && e.to
                .as_deref()
                .and_then(|to| actor.statuses.category(to))
                .is_some_and(|c| matches!(c, Category::Solved | Category::Closed))
    });
    if !resolved {
        return Err(invalid(format!(
            "ticket {} was never resolved; a rating comes after a resolve",
            ticket.id
        )));
    }
    let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
        Some(text) => Some(check_body(text)?.trim_end().to_owned()),
        None => None,
    };
    let customer = ticket.customer.actor();
    let mut event = Event::new(actor.now, &customer, Role::Customer, EventKind::Csat);
    event.to = Some(score.to_string());
    event.body.clone_from(&comment);
    ticket.push(event);
    ticket.rating = Some(crate::model::Rating {
        score,
        comment,
        at: actor.now,
    });
    Ok(Applied::named("rate"))
}

/// An agent's public reply, resolving with `resolve`.
fn reply(
    ticket: &mut Ticket,
    before: &Before<'_>,
    body: &str,
    resolve: bool,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let mv = if resolve {
        Move::AgentReplyResolve
    } else {
        Move::AgentReply
    };
    let outcome = before.check(mv)?;
    let mut message = event(actor, EventKind::Message);
    message.body = Some(check_body(body)?);
    ticket.push(message);
    let action = if resolve { "reply-resolve" } else { "reply" };
    if resolve {
        assign_resolver(ticket, actor);
    }
    Ok(before.moved(ticket, outcome, actor, action, None))
}

/// The customer's reply, written as the customer.
fn customer_reply(
    ticket: &mut Ticket,
    before: &Before<'_>,
    body: &str,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let outcome = before.check(Move::CustomerReply)?;
    let customer = ticket.customer.actor();
    let customer = Actor {
        id: &customer,
        role: Role::Customer,
        ..actor.clone()
    };
    let mut message = event(&customer, EventKind::Message);
    message.body = Some(check_body(body)?);
    ticket.push(message);
    Ok(before.moved(ticket, outcome, &customer, "customer-reply", None))
}

/// Postpones, until a time in the future when given; postponing again
/// moves the wake-up time.
fn postpone(
    ticket: &mut Ticket,
    before: &Before<'_>,
    until: Option<Timestamp>,
    current_until: Option<Timestamp>,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let outcome = before.check(Move::Postpone)?;
    if let Some(until) = until
        && until <= actor.now
    {
        return Err(invalid(format!("--until {until} is not in the future")));
    }
    if before.category == Category::OnHold && until == current_until {
        return Err(ChangeError::NoChange(
            "the ticket is already postponed until then".into(),
        ));
    }
    let applied = moved(
        ticket,
        before.status,
        outcome,
        actor,
        "postpone",
        None,
        until,
    );
    if applied.status.is_none() {
        // Re-postponing moves the wake-up time: record it as a status event.
        push_status(ticket, before.status, before.status, actor, None, until);
    }
    Ok(applied)
}

/// Closes a resolved ticket, or any active one with `force` and a reason.
fn close(
    ticket: &mut Ticket,
    before: &Before<'_>,
    force: bool,
    reason: &Option<String>,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let reason = reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    let category = before.category;
    let outcome = if force {
        let outcome = before.check(Move::ForceClose)?;
        if reason.is_none() {
            return Err(invalid(
                "--force needs --reason TEXT (e.g. spam, duplicate)",
            ));
        }
        outcome
    } else {
        before.check(Move::Close).map_err(|mut err| {
            if category.is_active() {
                err.allowed.retain(|c| *c != "close --force");
                return invalid(format!(
                    "{err}; to close it anyway use `tix close ID --force --reason TEXT`"
                ));
            }
            err.into()
        })?
    };
    Ok(before.moved(ticket, outcome, actor, "close", reason))
}

/// `tix next --take`: assigns the ticket to the actor and opens a new or
/// postponed one; refused when that changes nothing.
fn take(
    ticket: &mut Ticket,
    before: &Before<'_>,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    before.check(Move::Edit)?;
    let count = ticket.events.len();
    if ticket.assignee.as_deref() != Some(actor.id) {
        let assign = Change::Assign {
            assignee: Some(Some(actor.id.to_owned())),
            department: None,
        };
        apply_assign(ticket, &assign, actor)?;
    }
    let mut applied = Applied::named("take");
    if matches!(before.category, Category::New | Category::OnHold) {
        applied = before.moved(ticket, Outcome::To(Category::Open), actor, "take", None);
    }
    if ticket.events.len() == count {
        return Err(ChangeError::NoChange("the ticket is already yours".into()));
    }
    Ok(applied)
}

/// `tix status`: any status the configuration allows. The lifecycle's
/// limits always hold: a closed ticket leaves only through `tix reopen`,
/// nothing enters the new category except from another status in it, and
/// only a solved ticket closes without `close --force`. Within them, a
/// status with a `next` list may move only there (the config refuses a
/// `next` entry these limits would never allow).
fn set_status(
    ticket: &mut Ticket,
    current: &str,
    category: Category,
    target: &str,
    reason: Option<String>,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let Some(def) = actor.statuses.get(target) else {
        let known: Vec<&str> = actor.statuses.iter().map(|s| s.id.as_str()).collect();
        return Err(invalid(format!(
            "unknown status '{target}': use {}",
            known.join(", ")
        )));
    };
    if target == current {
        return Err(ChangeError::NoChange(format!(
            "the ticket is already {current}"
        )));
    }
    let refuse = |why: &str| {
        Err(ChangeError::Invalid(format!(
            "cannot move the ticket from {current} to {target}: {why}"
        )))
    };
    if let Err(why) =
        lifecycle::status_move(actor.statuses, current, category, target, def.category)
    {
        return refuse(&why.to_string());
    }
    if def.category == Category::Solved {
        assign_resolver(ticket, actor);
    }
    push_status(ticket, current, target, actor, reason, None);
    Ok(Applied {
        action: "status",
        status: Some((current.to_owned(), target.to_owned())),
        recorded: 0,
    })
}

fn event(actor: &Actor<'_>, kind: EventKind) -> Event {
    Event::new(actor.now, actor.id, actor.role, kind)
}

fn push_status(
    ticket: &mut Ticket,
    from: &str,
    to: &str,
    actor: &Actor<'_>,
    reason: Option<String>,
    until: Option<Timestamp>,
) {
    let mut e = event(actor, EventKind::Status);
    e.from = Some(from.to_owned());
    e.to = Some(to.to_owned());
    e.reason = reason;
    e.until = until;
    ticket.push(e);
}

fn moved(
    ticket: &mut Ticket,
    from: &str,
    outcome: Outcome,
    actor: &Actor<'_>,
    action: &'static str,
    reason: Option<String>,
    until: Option<Timestamp>,
) -> Applied {
    match outcome {
        Outcome::Stay => Applied {
            action,
            status: None,
            recorded: 0,
        },
        Outcome::To(category) => {
            let to = category.default_status();
            if to == from {
                return Applied {
                    action,
                    status: None,
                    recorded: 0,
                };
            }
            push_status(ticket, from, to, actor, reason, until);
            Applied {
                action,
                status: Some((from.to_owned(), to.to_owned())),
                recorded: 0,
            }
        }
    }
}

/// A resolved ticket always has an assignee (docs/lifecycle.md, "Extra
/// rules").
fn assign_resolver(ticket: &mut Ticket, actor: &Actor<'_>) {
    if ticket.assignee.is_none() && actor.role == Role::Agent {
        let mut e = event(actor, EventKind::Assign);
        e.to = Some(actor.id.to_owned());
        ticket.push(e);
        ticket.assignee = Some(actor.id.to_owned());
    }
}

fn apply_assign(
    ticket: &mut Ticket,
    change: &Change,
    actor: &Actor<'_>,
) -> Result<Applied, ChangeError> {
    let Change::Assign {
        assignee,
        department,
    } = change
    else {
        return Err(invalid("not an assignment"));
    };
    let mut changed = false;
    if let Some(new) = assignee {
        let new = new.as_deref().map(check_name).transpose()?;
        if new != ticket.assignee {
            let mut e = event(actor, EventKind::Assign);
            e.from = ticket.assignee.clone();
            e.to = new.clone();
            ticket.push(e);
            ticket.assignee = new;
            changed = true;
        }
    }
    if let Some(new) = department {
        let new = new.as_deref().map(check_name).transpose()?;
        if new != ticket.department {
            let mut e = event(actor, EventKind::Department);
            e.from = ticket.department.clone();
            e.to = new.clone();
            ticket.push(e);
            ticket.department = new;
            changed = true;
        }
    }
    if !changed {
        return Err(ChangeError::NoChange(
            "the ticket already has that assignee and department".into(),
        ));
    }
    Ok(Applied {
        action: "assign",
        status: None,
        recorded: 0,
    })
}

fn apply_edit(ticket: &mut Ticket, edit: &Edit, actor: &Actor<'_>) -> Result<Applied, ChangeError> {
    if let Some(tag) = edit.add_tags.iter().find(|t| edit.remove_tags.contains(t)) {
        return Err(invalid(format!(
            "tag '{tag}' is both added (+{tag}) and removed (-{tag}): give it once"
        )));
    }
    let before = ticket.events.len();
    if let Some(subject) = &edit.subject {
        let subject = check_subject(subject)?;
        if subject != ticket.subject {
            let mut e = event(actor, EventKind::Subject);
            e.from = Some(std::mem::replace(&mut ticket.subject, subject.clone()));
            e.to = Some(subject);
            ticket.push(e);
        }
    }
    if let Some(priority) = edit.priority
        && priority != ticket.priority
    {
        let mut e = event(actor, EventKind::Priority);
        e.from = Some(ticket.priority.to_string());
        e.to = Some(priority.to_string());
        ticket.priority = priority;
        ticket.push(e);
    }
    for tag in &edit.remove_tags {
        if ticket.tags.remove(tag.as_str()) {
            let mut e = event(actor, EventKind::Tag);
            e.from = Some(tag.clone());
            ticket.push(e);
        }
    }
    for tag in &edit.add_tags {
        let tag = check_tag(tag)?;
        if ticket.tags.insert(tag.clone()) {
            let mut e = event(actor, EventKind::Tag);
            e.to = Some(tag);
            ticket.push(e);
        }
    }
    for (name, value) in &edit.fields {
        let old = ticket.fields.insert(name.clone(), value.clone());
        if old.as_ref() != Some(value) {
            let mut e = event(actor, EventKind::Field);
            e.field = Some(name.clone());
            e.from = old.map(|v| field_text(&v));
            e.to = Some(field_text(value));
            ticket.push(e);
        }
    }
    for name in &edit.clear_fields {
        if let Some(old) = ticket.fields.remove(name) {
            let mut e = event(actor, EventKind::Field);
            e.field = Some(name.clone());
            e.from = Some(field_text(&old));
            ticket.push(e);
        }
    }
    let given = check_customer(&edit.customer)?;
    let customer = [
        ("name", &given.name),
        ("email", &given.email),
        ("phone", &given.phone),
    ];
    for (field, new) in customer {
        let Some(new) = new else { continue };
        let slot = match field {
            "name" => &mut ticket.customer.name,
            "email" => &mut ticket.customer.email,
            _ => &mut ticket.customer.phone,
        };
        let new = Some(new.trim().to_owned()).filter(|v| !v.is_empty());
        if *slot != new {
            let mut e = event(actor, EventKind::Customer);
            e.field = Some(field.to_owned());
            e.from = std::mem::replace(slot, new.clone());
            e.to = new;
            ticket.push(e);
        }
    }
    if ticket.events.len() == before {
        return Err(ChangeError::NoChange(
            "the ticket already has these values".into(),
        ));
    }
    Ok(Applied {
        action: "edit",
        status: None,
        recorded: 0,
    })
}

/// Renders a custom field value as event text.
pub fn field_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check_subject(subject: &str) -> Result<String, ChangeError> {
    let subject = subject.trim();
    if subject.is_empty() {
        return Err(invalid(
            "the subject is empty: say in a few words what the ticket is about",
        ));
    }
    if subject.contains(['\n', '\r']) {
        return Err(invalid(
            "the subject must be one line; put details in the message (-m)",
        ));
    }
    Ok(subject.to_owned())
}

fn check_body(body: &str) -> Result<String, ChangeError> {
    if body.trim().is_empty() {
        return Err(invalid("the message is empty"));
    }
    Ok(body.to_owned())
}

/// Checks a tag: one word, no commas; returns it trimmed.
pub fn check_tag(tag: &str) -> Result<String, ChangeError> {
    let tag = tag.trim();
    if tag.is_empty() || tag.contains(|c: char| c.is_whitespace() || c == ',') {
        return Err(invalid(format!(
            "'{tag}' is not a tag: tags are single words without commas"
        )));
    }
    Ok(tag.to_owned())
}

/// Checks a customer's details, trimmed: a name and a phone are one line
/// of text without control characters; an address is a mail address
/// (`name@domain`, RFC 5322's addr-spec, no display name and nothing
/// around it), so that it can never carry a line of a mail header.
pub fn check_customer(customer: &Customer) -> Result<Customer, ChangeError> {
    let line = |what: &str, value: &Option<String>| -> Result<Option<String>, ChangeError> {
        let Some(value) = value else { return Ok(None) };
        let value = value.trim();
        if value.contains(char::is_control) {
            return Err(invalid(format!(
                "the customer's {what} must be one line of text, without control characters"
            )));
        }
        Ok(Some(value.to_owned()))
    };
    let email = line("address", &customer.email)?;
    if let Some(email) = &email
        && !email.is_empty()
        && !crate::domain::mail::is_address(email)
    {
        return Err(invalid(format!(
            "'{email}' is not a mail address (like name@example.com)"
        )));
    }
    Ok(Customer {
        name: line("name", &customer.name)?,
        email,
        phone: line("phone", &customer.phone)?,
    })
}

fn check_name(name: &str) -> Result<String, ChangeError> {
    let name = name.trim();
    if name.is_empty() || name.contains(['\n', '\r']) {
        return Err(invalid(format!("'{name}' is not a valid name")));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn actor<'a>(statuses: &'a Statuses, now: &str) -> Actor<'a> {
        Actor {
            id: "ana@desk",
            role: Role::Agent,
            now: at(now),
            statuses,
        }
    }

    fn new_ticket(statuses: &Statuses) -> Ticket {
        let new = NewTicket {
            subject: "Printer on fire".into(),
            body: Some("It smokes".into()),
            customer: Customer {
                email: Some("bo@ex.com".into()),
                ..Customer::default()
            },
            ..NewTicket::default()
        };
        create(
            "k3x9p2".parse().unwrap(),
            new,
            &actor(statuses, "2025-03-03T09:00:00Z"),
        )
        .unwrap()
        .0
    }

    #[test]
    fn reply_then_customer_reply_then_resolve_and_reopen() {
        let statuses = Statuses::builtin();
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        let applied = apply(
            &mut t,
            &Change::Reply {
                body: "Unplug it".into(),
                resolve: false,
            },
            &a,
        )
        .unwrap();
        assert_eq!(applied.status, Some(("new".into(), "answered".into())));
        apply(
            &mut t,
            &Change::CustomerReply {
                body: "Still smokes".into(),
            },
            &a,
        )
        .unwrap();
        assert_eq!(t.summary(&statuses).status, "open");
        apply(&mut t, &Change::Resolve { reason: None }, &a).unwrap();
        assert_eq!(
            t.assignee.as_deref(),
            Some("ana@desk"),
            "the resolver is assigned"
        );
        apply(
            &mut t,
            &Change::CustomerReply {
                body: "Thanks but no".into(),
            },
            &a,
        )
        .unwrap();
        let summary = t.summary(&statuses);
        assert_eq!((summary.status.as_str(), summary.reopens), ("open", 1));
    }

    #[test]
    fn refused_move_leaves_the_ticket_untouched() {
        let statuses = Statuses::builtin();
        let mut t = new_ticket(&statuses);
        let before = t.clone();
        let err = apply(
            &mut t,
            &Change::Close {
                force: false,
                reason: None,
            },
            &actor(&statuses, "2025-03-03T10:00:00Z"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(t, before);
    }

    #[test]
    fn force_close_needs_a_reason() {
        let statuses = Statuses::builtin();
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        assert!(
            apply(
                &mut t,
                &Change::Close {
                    force: true,
                    reason: None
                },
                &a
            )
            .is_err()
        );
        let applied = apply(
            &mut t,
            &Change::Close {
                force: true,
                reason: Some("spam".into()),
            },
            &a,
        )
        .unwrap();
        assert_eq!(applied.status, Some(("new".into(), "closed".into())));
        let err = apply(&mut t, &Change::Note { body: "hi".into() }, &a).unwrap_err();
        assert!(
            err.to_string().contains("allowed from closed: reopen"),
            "{err}"
        );
    }

    #[test]
    fn postponed_ticket_never_replied_wakes_to_new() {
        let statuses = Statuses::builtin();
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        apply(
            &mut t,
            &Change::Postpone {
                until: Some(at("2025-03-05T00:00:00Z")),
            },
            &a,
        )
        .unwrap();
        assert_eq!(
            t.summary(&statuses).postponed_until,
            Some(at("2025-03-05T00:00:00Z"))
        );
        let applied = apply(&mut t, &Change::Wake, &a).unwrap();
        assert_eq!(applied.status, Some(("postponed".into(), "new".into())));
    }

    #[test]
    fn postpone_into_the_past_is_refused() {
        let statuses = Statuses::builtin();
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        assert!(
            apply(
                &mut t,
                &Change::Postpone {
                    until: Some(at("2025-03-03T10:00:00Z"))
                },
                &a
            )
            .is_err()
        );
    }

    #[test]
    fn edits_record_events_and_no_op_is_refused() {
        let statuses = Statuses::builtin();
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        let edit = Edit {
            priority: Some(Priority::Urgent),
            add_tags: vec!["vip".into()],
            ..Edit::default()
        };
        apply(&mut t, &Change::Edit(edit.clone()), &a).unwrap();
        assert_eq!(t.priority, Priority::Urgent);
        assert!(t.tags.contains("vip"));
        assert!(matches!(
            apply(&mut t, &Change::Edit(edit), &a),
            Err(ChangeError::NoChange(_))
        ));
    }

    fn with_status(id: &str, category: Category, next: Option<&[&str]>) -> Statuses {
        let mut statuses = Statuses::builtin();
        statuses.insert(lifecycle::StatusDef {
            id: id.into(),
            label: id.into(),
            category,
            next: next.map(|n| n.iter().map(|s| (*s).to_owned()).collect()),
        });
        statuses
    }

    fn set(t: &mut Ticket, status: &str, a: &Actor<'_>) -> Result<Applied, ChangeError> {
        apply(
            t,
            &Change::SetStatus {
                status: status.into(),
                reason: None,
            },
            a,
        )
    }

    #[test]
    fn a_next_list_never_unlocks_closed_or_reenters_new() {
        // A `next` the config would refuse, built by hand: set_status
        // itself still keeps the lifecycle.
        let statuses = with_status("closed", Category::Closed, Some(&["open", "new"]));
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        let close = Change::Close {
            force: true,
            reason: Some("spam".into()),
        };
        apply(&mut t, &close, &a).unwrap();
        let before = t.clone();
        for target in ["open", "new"] {
            let err = set(&mut t, target, &a).unwrap_err();
            assert!(
                err.to_string().contains("closed tickets are locked"),
                "{err}"
            );
        }
        assert_eq!(t, before);
    }

    #[test]
    fn a_next_list_never_closes_an_active_ticket_without_force() {
        let statuses = with_status("vendor", Category::OnHold, Some(&["closed", "open"]));
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        set(&mut t, "vendor", &a).unwrap();
        let before = t.clone();
        let err = set(&mut t, "closed", &a).unwrap_err();
        assert!(err.to_string().contains("close --force --reason"), "{err}");
        assert_eq!(t, before);
        let err = set(&mut t, "answered", &a).unwrap_err();
        assert!(
            err.to_string().contains("allows only closed, open"),
            "{err}"
        );
        set(&mut t, "open", &a).unwrap();
    }

    #[test]
    fn statuses_of_the_new_category_reach_each_other_and_nothing_else_reaches_them() {
        let statuses = with_status("triage", Category::New, None);
        let mut t = new_ticket(&statuses);
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        let applied = set(&mut t, "triage", &a).unwrap();
        assert_eq!(applied.status, Some(("new".into(), "triage".into())));
        set(&mut t, "new", &a).unwrap();
        set(&mut t, "open", &a).unwrap();
        let err = set(&mut t, "triage", &a).unwrap_err();
        assert!(
            err.to_string()
                .contains("nothing returns to the new category"),
            "{err}"
        );
    }

    #[test]
    fn empty_subject_and_body_are_refused() {
        let statuses = Statuses::builtin();
        let a = actor(&statuses, "2025-03-03T10:00:00Z");
        let new = NewTicket {
            subject: "  ".into(),
            ..NewTicket::default()
        };
        assert!(create("k3x9p2".parse().unwrap(), new, &a).is_err());
        let mut t = new_ticket(&statuses);
        assert!(apply(&mut t, &Change::Note { body: " \n".into() }, &a).is_err());
    }
}
