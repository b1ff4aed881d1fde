//! Firing triggers inside a change's commit, and applying macros
//! (docs/automation.md). Which triggers fire is decided in
//! `domain::triggers`; this file carries out what needs the desk: picking
//! an agent from a pool, replies and notices from templates, the mail to
//! an assignee.

use crate::domain::change::{self, Actor, Applied, Change, ChangeError};
use crate::domain::lifecycle::Category;
use crate::domain::mail::template;
use crate::domain::routing;
use crate::domain::rules::{AssignTo, Do, status_move};
use crate::domain::triggers::{self, Context, Macro, Trigger};
use crate::model::{EventKind, Role, Ticket, Timestamp};
use crate::store::layout;

use super::change::{Changed, Fired, How};
use super::{Agent, Desk, Error};

impl Desk {
    /// Fires the desk's triggers on the change whose events start at
    /// `before` in `ticket`, made by `agent`; their actions go into the
    /// same ticket, so into the same commit. A ticket the change left
    /// closed takes none (closed is locked). A trigger whose actions are
    /// refused (a template that no longer renders, a note on a ticket
    /// that cannot take one) is left out, with a warning: it never blocks
    /// the change that set it off.
    pub(crate) fn fire_triggers(
        &self,
        ticket: &mut Ticket,
        before: usize,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Fired, Error> {
        let config = &self.config;
        let closed = || ticket.summary(&config.statuses).category == Some(Category::Closed);
        if config.triggers.is_empty() || closed() {
            return Ok(Fired::default());
        }
        let cx = Context::new(&config.statuses, now, agent.id());
        let actor = Actor {
            id: &config.desk.automation.email,
            role: Role::System,
            now,
            statuses: &config.statuses,
        };
        let mut fired = Fired::default();
        let names = triggers::fire(
            &config.triggers,
            ticket,
            before,
            &cx,
            &mut |trigger: &Trigger, ticket: &mut Ticket| {
                let kept = ticket.clone();
                match self.carry_out(&trigger.actions, Some(&trigger.name), ticket, &actor) {
                    Ok(()) => {
                        fired.notify_hook |= trigger.actions.notify.as_deref() == Some("hook");
                        Ok::<_, Error>(true)
                    }
                    Err(why @ (Error::Change(_) | Error::Request(_))) => {
                        *ticket = kept;
                        fired
                            .skipped
                            .push(format!("trigger '{}' left out: {why}", trigger.name));
                        Ok(false)
                    }
                    Err(other) => Err(other),
                }
            },
        )?;
        fired.names = names;
        Ok(fired)
    }

    /// Carries out actions on `ticket` as `actor`: the ticket's own
    /// changes, then the mail they send. With a `rule` (a trigger) every
    /// event they add carries its name.
    fn carry_out(
        &self,
        actions: &Do,
        rule: Option<&str>,
        ticket: &mut Ticket,
        actor: &Actor<'_>,
    ) -> Result<(), Error> {
        let before = ticket.events.len();
        // A status the ticket cannot move to from where it is is left as
        // it is, and so is an assignment to a pool without an agent to
        // pick; the rest still applies.
        let mut actions_now = actions.clone();
        if let Some(target) = &actions.set_status {
            let status = ticket.summary(actor.statuses).status;
            if status_move(actor.statuses, &status, target).is_err() {
                actions_now.set_status = None;
            }
        }
        let picked = match actions.assign_to() {
            Some(AssignTo::Pool(mode)) => match ticket.department.clone() {
                Some(department) => {
                    let (tickets, _) = self.entries(&|_| true, Some)?;
                    routing::pick_agent_by(&self.config.agents, &department, mode, &tickets)
                }
                None => None,
            },
            _ => None,
        };
        if matches!(actions.assign_to(), Some(AssignTo::Pool(_))) && picked.is_none() {
            actions_now.assign = None;
        }
        match actions_now.apply(rule, ticket, actor, picked.as_deref()) {
            Ok(_) | Err(ChangeError::NoChange(_)) => {}
            Err(e) => return Err(e.into()),
        }
        let desk = self.desk_agent();
        if let Some(name) = &actions.reply {
            self.rule_reply(ticket, name, &desk, actor)?;
        }
        match (actions.notify.as_deref(), &actions.template) {
            (Some("requester"), Some(name)) => {
                self.queue_notice(ticket, name, &desk, actor.now)?;
            }
            (Some("assignee"), Some(name)) => self.mail_assignee(ticket, name, &desk, actor.now)?,
            _ => {}
        }
        if let Some(rule) = rule {
            for event in &mut ticket.events[before..] {
                event.rule = Some(rule.to_owned());
            }
        }
        Ok(())
    }

    /// A trigger's public reply from a template, written by the desk as
    /// an agent's reply is (the lifecycle moves the status as for any
    /// reply; a closed ticket refuses it) and mailed to the customer.
    fn rule_reply(
        &self,
        ticket: &mut Ticket,
        name: &str,
        desk: &Agent,
        actor: &Actor<'_>,
    ) -> Result<(), Error> {
        let body = self.render_template(ticket, name, desk)?;
        let as_desk = Actor {
            id: desk.id(),
            role: Role::Agent,
            now: actor.now,
            statuses: actor.statuses,
        };
        let reply = Change::Reply {
            body,
            resolve: false,
        };
        change::apply(ticket, &reply, &as_desk)?;
        self.queue_reply(ticket, &[]);
        Ok(())
    }

    /// A mail to the ticket's assignee from a template, kept as an
    /// internal note (the customer never sees it). Nothing without an
    /// assignee or when the desk sends no mail.
    fn mail_assignee(
        &self,
        ticket: &mut Ticket,
        name: &str,
        desk: &Agent,
        now: Timestamp,
    ) -> Result<(), Error> {
        let settings = &self.config.mail;
        let Some(to) = ticket.assignee.clone().filter(|_| settings.sends()) else {
            return Ok(());
        };
        let body = self.render_template(ticket, name, desk)?;
        self.push_mail(ticket, EventKind::Note, desk.id(), to, body, now);
        Ok(())
    }

    /// Applies the macro `name` to the ticket `prefix` names, as `agent`:
    /// its actions and its reply in one commit (with `dry_run`, the ticket
    /// as it would be, nothing written). Triggers fire on it as on any
    /// change.
    pub fn apply_macro(
        &self,
        name: &str,
        prefix: &str,
        agent: &Agent,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<Changed, Error> {
        let m = self.find_macro(name)?;
        let id = self.resolve(prefix)?;
        let statuses = &self.config.statuses;
        let apply = |ticket: &mut Ticket| {
            let from = ticket.summary(statuses).status;
            self.run_macro(m, ticket, agent, now)?;
            let to = ticket.summary(statuses).status;
            Ok(Applied {
                action: "macro",
                status: (from != to).then_some((from, to)),
                recorded: 0,
            })
        };
        let how = How {
            apply: &apply,
            files: &[],
            extra: &|_| Ok(Vec::new()),
        };
        if dry_run {
            self.preview(&id, &how, agent, now)
        } else {
            self.commit_edit(&id, &how, agent, now)
        }
    }

    /// The macro `name`, or an error listing the macros.
    pub fn find_macro(&self, name: &str) -> Result<&Macro, Error> {
        let macros = &self.config.macros;
        macros.iter().find(|m| m.name == name).ok_or_else(|| {
            let known: Vec<&str> = macros.iter().map(|m| m.name.as_str()).collect();
            Error::Request(if known.is_empty() {
                format!("unknown macro '{name}': tix.toml defines no [[macro]]")
            } else {
                format!(
                    "unknown macro '{name}': tix.toml defines {}",
                    known.join(", ")
                )
            })
        })
    }

    /// Applies a macro's actions and reply to `ticket` as `agent`.
    pub(crate) fn run_macro(
        &self,
        m: &Macro,
        ticket: &mut Ticket,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<(), Error> {
        let actor = Actor {
            id: agent.id(),
            role: Role::Agent,
            now,
            statuses: &self.config.statuses,
        };
        let before = ticket.events.len();
        // The reply first, as the agent's own: it moves the status as a
        // reply does, and the actions (a status among them) come after.
        if let Some(name) = &m.template {
            let body = self.render_template(ticket, name, agent)?;
            let reply = Change::Reply {
                body,
                resolve: false,
            };
            change::apply(ticket, &reply, &actor)?;
            self.queue_reply(ticket, &[]);
        }
        if let Some(target) = &m.actions.set_status {
            let status = ticket.summary(actor.statuses).status;
            status_move(actor.statuses, &status, target).map_err(|why| {
                Error::Change(ChangeError::Invalid(format!(
                    "macro '{}' sets status '{target}', but the ticket is {status}: {why}",
                    m.name
                )))
            })?;
        }
        self.carry_out(&m.actions, None, ticket, &actor)?;
        if ticket.events.len() == before {
            return Err(Error::Change(ChangeError::NoChange(format!(
                "macro '{}' changed nothing: the ticket is as it would make it",
                m.name
            ))));
        }
        Ok(())
    }
}

impl Desk {
    /// The text of `templates/NAME.txt` for the ticket `prefix` names, as
    /// `agent` writes it (`tix reply --template`, `tix note --template`). A
    /// template that is not committed, does not parse or names a variable
    /// tix does not fill in is refused before anything is written.
    pub fn template_text(&self, prefix: &str, name: &str, agent: &Agent) -> Result<String, Error> {
        if !template::is_template_name(name) {
            return Err(Error::Request(format!(
                "template '{name}' must be a plain name (letters, digits, - and _), the file templates/NAME.txt"
            )));
        }
        let path = layout::template_path(name);
        let source = self
            .store
            .read_file(&path)?
            .ok_or_else(|| Error::Request(format!("the template {path} is not committed")))?;
        template::check(name, &source).map_err(|why| Error::Change(ChangeError::Invalid(why)))?;
        let ticket = self.ticket(&self.resolve(prefix)?)?;
        let vars = self.template_vars(&ticket, agent);
        template::render(name, &source, &vars).map_err(Error::Request)
    }
}
