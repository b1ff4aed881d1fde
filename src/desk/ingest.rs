//! Received mail (docs/mail.md, "Intake"): one message, a Maildir or an
//! mbox, each message a ticket or a customer reply in one commit, with
//! its files and the message as received stored next to the ticket file.

use std::collections::HashMap;
use std::path::Path;

use super::change::NewRequest;
use super::{Agent, Desk, Error};
use crate::domain::change::Change;
use crate::domain::lifecycle::Category;
use crate::domain::link;
use crate::domain::mail::inbound::{self, Inbound, Intake, Thread};
use crate::domain::mail::outbound;
use crate::model::{Customer, EventKind, Role, Ticket, TicketId, Timestamp};
use crate::store::mailbox;

/// What became of one received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new ticket.
    Created,
    /// A customer reply on an existing ticket.
    Appended,
    /// Stored before: nothing written.
    Duplicate,
    /// Automatic mail or the desk's own: nothing written.
    Ignored,
    /// Malformed, too big, or refused by `closed_reply`: nothing written.
    Refused,
}

impl Outcome {
    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Appended => "appended",
            Self::Duplicate => "duplicate",
            Self::Ignored => "ignored",
            Self::Refused => "refused",
        }
    }
}

/// One received message and what became of it.
#[derive(Clone, Debug)]
pub struct Ingested {
    /// Where it came from (a file, `stdin`, `mbox:N`).
    pub source: String,
    /// What became of it.
    pub outcome: Outcome,
    /// The ticket it made or joined.
    pub ticket: Option<TicketId>,
    /// Its Message-ID.
    pub message_id: Option<String>,
    /// Why, for everything but a plain create or append (and for a
    /// ticket tagged `suspect-thread`).
    pub reason: Option<String>,
    /// The sender.
    pub from: Option<String>,
    /// The mail the change sent (an acknowledgement), and what became of it.
    pub mail: Vec<super::outbox::Delivery>,
}

impl Ingested {
    fn nothing(source: &str, outcome: Outcome, reason: String) -> Self {
        Self {
            source: source.to_owned(),
            outcome,
            ticket: None,
            message_id: None,
            reason: Some(reason),
            from: None,
            mail: Vec::new(),
        }
    }
}

/// The tag of a ticket whose mail named another customer's ticket.
pub const SUSPECT_TAG: &str = "suspect-thread";

impl Desk {
    /// Takes one received message (`raw`, from `source`). Errors are the
    /// desk's own (git, files); a message that cannot be taken is an
    /// [`Outcome::Refused`].
    pub fn ingest(
        &self,
        raw: &[u8],
        source: &str,
        now: Timestamp,
        rng: &mut fastrand::Rng,
    ) -> Result<Ingested, Error> {
        let (mail, result, found) = match self.screen(raw, source)? {
            Screened::Done(result) => return Ok(result),
            Screened::Take(mail, result, found) => (mail, result, found),
        };
        let mut thread = inbound::thread(&mail, &mut |m| found.get(m).cloned());
        let target = match &thread {
            Thread::Parent(id) | Thread::Subject(id) => match self.ticket(id) {
                Ok(ticket) => Some(self.surviving(ticket)?),
                Err(_) => None,
            },
            Thread::None => None,
        };
        if let (Thread::Subject(named), Some(target)) = (&thread, &target)
            && *named != target.id
            && self
                .ticket(named)
                .is_ok_and(|named| inbound::known_sender(&named, &mail.from_address))
        {
            // The subject named a ticket merged into `target`, and the
            // sender wrote to that one: the mail is theirs to continue.
            thread = Thread::Parent(target.id.clone());
        }
        let intake = inbound::settle(
            &mail,
            &thread,
            target
                .as_ref()
                .map(|t| (t, t.summary(&self.config.statuses).category)),
            &self.config.mail,
        );
        let kept = result.clone();
        match self.take(intake, &mail, raw, result, now, rng) {
            // Its folder is in the ticket already: the same mail, taken
            // before under another Message-ID spelling.
            Err(Error::Store(crate::store::Error::Exists(path))) => Ok(Ingested {
                outcome: Outcome::Duplicate,
                reason: Some(format!("its files are stored already ({path})")),
                ..kept
            }),
            other => other,
        }
    }

    /// The checks before threading: size, form, automatic mail, the
    /// desk's own mail, a Message-ID stored before.
    fn screen(&self, raw: &[u8], source: &str) -> Result<Screened, Error> {
        let settings = &self.config.mail;
        if raw.len() as u64 > settings.max_size {
            return Ok(Screened::Done(Ingested::nothing(
                source,
                Outcome::Refused,
                format!(
                    "the message is {} MiB, over the limit of {} MiB ([mail] max_size_mb)",
                    raw.len().div_ceil(1024 * 1024),
                    settings.max_size / (1024 * 1024)
                ),
            )));
        }
        let mail = match inbound::parse(raw) {
            Ok(mail) => mail,
            Err(why) => {
                return Ok(Screened::Done(Ingested::nothing(
                    source,
                    Outcome::Refused,
                    why,
                )));
            }
        };
        let mut result = Ingested {
            source: source.to_owned(),
            outcome: Outcome::Ignored,
            ticket: None,
            message_id: mail.message_id.clone(),
            reason: None,
            from: Some(mail.from_address.clone()),
            mail: Vec::new(),
        };
        if let Some(why) = &mail.automatic {
            result.reason = Some(why.clone());
            return Ok(Screened::Done(result));
        }
        if settings.is_own(&mail.from_address) {
            result.reason = Some(format!(
                "mail from the desk's own address {} (a loop guard)",
                mail.from_address
            ));
            return Ok(Screened::Done(result));
        }
        let found = self.lookup(&mail)?;
        if let Some(id) = mail.message_id.as_ref().and_then(|m| found.get(m)) {
            result.outcome = Outcome::Duplicate;
            result.ticket = Some(id.clone());
            result.reason = Some("this Message-ID is stored already".to_owned());
            return Ok(Screened::Done(result));
        }
        Ok(Screened::Take(Box::new(mail), result, found))
    }

    /// Writes what the intake decided, in one commit.
    fn take(
        &self,
        intake: Intake,
        mail: &Inbound,
        raw: &[u8],
        mut result: Ingested,
        now: Timestamp,
        rng: &mut fastrand::Rng,
    ) -> Result<Ingested, Error> {
        let stamp = |ticket: &mut Ticket| Ok(stamp_received(ticket, mail, raw));
        let agent = Agent {
            name: mail
                .from_name
                .clone()
                .unwrap_or_else(|| mail.from_address.clone()),
            email: mail.from_address.clone(),
        };
        let reply = || Change::CustomerReply {
            body: text_of(mail),
        };
        let rated = match &intake {
            Intake::Append(id) | Intake::Reopen(id) => Some(id.clone()),
            Intake::New {
                follow_up_of: Some(id),
                ..
            } => Some(id.clone()),
            _ => None,
        }
        .zip(inbound::rating(&mail.body));
        if let Some((id, (score, comment))) = rated {
            // A rating in answer to the resolution notice: recorded as the
            // customer's rating, without reopening the ticket.
            let change = Change::Rate { score, comment };
            if let Ok(changed) = self.change_with(&id, &[change], &[], &agent, now, &stamp) {
                result.outcome = Outcome::Appended;
                result.reason = Some(format!("a rating of {score}"));
                result.ticket = Some(changed.ticket.id.clone());
                return Ok(result);
            }
        }
        // An agent of the desk answering a mail tix sent them (a trigger's
        // mail to the assignee): an internal note, never the customer's
        // words.
        let from_agent = self
            .config
            .agents
            .iter()
            .any(|a| a.email.eq_ignore_ascii_case(&mail.from_address));
        if let (true, Intake::Append(id) | Intake::Reopen(id)) = (from_agent, &intake) {
            let note = Change::Note {
                body: text_of(mail),
            };
            let changed = self.change_with(id, &[note], &[], &agent, now, &stamp)?;
            result.outcome = Outcome::Appended;
            result.reason = Some("an agent's mail, kept as an internal note".to_owned());
            result.ticket = Some(changed.ticket.id.clone());
            return Ok(result);
        }
        let changed = match intake {
            Intake::Duplicate | Intake::Ignored(_) => return Ok(result),
            Intake::Refused(why) => {
                result.outcome = Outcome::Refused;
                result.reason = Some(why);
                return Ok(result);
            }
            Intake::Append(id) => {
                result.outcome = Outcome::Appended;
                self.change_with(&id, &[reply()], &[], &agent, now, &stamp)?
            }
            Intake::Reopen(id) => {
                result.outcome = Outcome::Appended;
                let reopen = Change::Reopen {
                    reason: Some("the customer wrote by mail".to_owned()),
                };
                self.change_with(&id, &[reopen, reply()], &[], &agent, now, &stamp)?
            }
            Intake::New {
                follow_up_of,
                suspect,
            } => {
                result.outcome = Outcome::Created;
                if suspect {
                    result.reason = Some(format!(
                        "the subject names a ticket whose customer is not {}; tagged {SUSPECT_TAG}",
                        mail.from_address
                    ));
                }
                let request = self.new_request(mail, follow_up_of, suspect);
                let ack = self.config.mail.notify.created.clone();
                let extra = |ticket: &mut Ticket| {
                    if let Some(created) = ticket.events.first_mut() {
                        created.role = Role::Customer;
                    }
                    let files = stamp_received(ticket, mail, raw);
                    if let Some(name) = &ack {
                        self.queue_notice(ticket, name, &self.desk_agent(), now)?;
                    }
                    Ok(files)
                };
                self.create_with(request, &agent, now, rng, &extra)?
            }
        };
        result.ticket = Some(changed.ticket.id.clone());
        result.mail = changed.mail;
        Ok(result)
    }

    /// Finds the tickets of the message's own Message-ID and of its
    /// parents: in one pass over the desk's Message-IDs, or in the index a
    /// batch keeps.
    fn lookup(&self, mail: &Inbound) -> Result<HashMap<String, TicketId>, Error> {
        let mut found = HashMap::new();
        // The message's own Message-ID is looked up among the stored ones
        // even when it has tix's shape: a forged `<tix.ID.1@...>` must not
        // pass for a mail tix sent.
        let mut foreign: Vec<&str> = mail.message_id.iter().map(String::as_str).collect();
        for id in mail.in_reply_to.iter().chain(&mail.references) {
            match outbound::ticket_of(id) {
                Some(ticket) if self.store.contains(&ticket)? => {
                    found.insert(id.clone(), ticket);
                }
                _ => foreign.push(id.as_str()),
            }
        }
        if foreign.is_empty() {
            return Ok(found);
        }
        if let Some(known) = self.known_mail.borrow().as_ref() {
            for id in foreign {
                if let Some(ticket) = known.get(id) {
                    found.insert(id.to_owned(), ticket.clone());
                }
            }
            return Ok(found);
        }
        self.mail_index(&mut |ticket, id, _| {
            if foreign.contains(&id) {
                found.entry(id.to_owned()).or_insert_with(|| ticket.clone());
            }
        })?;
        Ok(found)
    }

    /// Runs a batch of received mail: the desk's Message-IDs are read
    /// once and kept up to date, and the working tree and index are
    /// refreshed once at the end (each message is still its own commit).
    fn in_batch<T>(&self, run: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        let mut known = HashMap::new();
        self.mail_index(&mut |ticket, id, _| {
            known.entry(id.to_owned()).or_insert_with(|| ticket.clone());
        })?;
        self.known_mail.replace(Some(known));
        self.store.defer_refresh();
        let result = run();
        self.known_mail.replace(None);
        let finished = self.store.finish_deferred();
        let value = result?;
        finished?;
        Ok(value)
    }

    /// Remembers, during a batch, the Message-ID a message just stored.
    fn remember(&self, result: &Ingested) {
        if let (Some(known), Some(id), Some(ticket)) = (
            self.known_mail.borrow_mut().as_mut(),
            &result.message_id,
            &result.ticket,
        ) && matches!(result.outcome, Outcome::Created | Outcome::Appended)
        {
            known.insert(id.clone(), ticket.clone());
        }
    }

    /// The mail of a ticket closed as a duplicate (merged) goes to the
    /// ticket it duplicates, following a chain of them to the first one
    /// that is not (a chain that loops leaves the mail where it threaded).
    fn surviving(&self, ticket: Ticket) -> Result<Ticket, Error> {
        let statuses = &self.config.statuses;
        let hands_on = |t: &Ticket| {
            let closed = t.summary(statuses).category == Some(Category::Closed);
            t.duplicate_of.clone().filter(|_| closed)
        };
        if hands_on(&ticket).is_none() {
            return Ok(ticket);
        }
        let start = ticket.id.clone();
        let mut next = |id: &TicketId| {
            let read = if *id == start {
                Some(ticket.clone())
            } else {
                self.ticket(id).ok()
            };
            let following = hands_on(&read?)?;
            // A link to a ticket that is gone ends the chain here.
            self.store.contains(&following).ok()?.then_some(following)
        };
        let end = link::surviving(&start, &mut next);
        if end == start {
            return Ok(ticket);
        }
        self.ticket(&end)
    }

    fn new_request(
        &self,
        mail: &Inbound,
        follow_up_of: Option<TicketId>,
        suspect: bool,
    ) -> NewRequest {
        let department = self
            .config
            .mail
            .mailbox_for(&mail.recipients)
            .map(|m| m.department.clone());
        // A new ticket gets its own tag in its mail: drop another's.
        let subject = inbound::without_tags(&mail.subject);
        let subject = if subject.trim().is_empty() {
            "(no subject)".to_owned()
        } else {
            subject
        };
        NewRequest {
            subject,
            body: Some(text_of(mail)),
            customer: Customer {
                name: mail.from_name.clone(),
                email: Some(mail.from_address.clone()),
                phone: None,
            },
            department,
            tags: if suspect {
                vec![SUSPECT_TAG.to_owned()]
            } else {
                Vec::new()
            },
            follow_up: follow_up_of.map(|id| id.to_string()),
            ..NewRequest::default()
        }
    }

    /// Takes every message of a Maildir's `new/`, oldest first; each one
    /// moves to `cur/` (marked seen) once it is committed or refused.
    pub fn ingest_maildir(
        &self,
        dir: &Path,
        now: Timestamp,
        rng: &mut fastrand::Rng,
        each: &mut dyn FnMut(&Ingested),
    ) -> Result<Vec<Ingested>, Error> {
        let paths = mailbox::maildir_new(dir)?;
        self.in_batch(|| {
            let mut results = Vec::new();
            for path in paths {
                let raw = mailbox::read(&path)?;
                let result = self.ingest(&raw, &path.display().to_string(), now, rng)?;
                self.remember(&result);
                mailbox::mark_seen(dir, &path)?;
                each(&result);
                results.push(result);
            }
            Ok(results)
        })
    }

    /// Takes every message of an mbox file, read as a stream.
    pub fn ingest_mbox(
        &self,
        file: &Path,
        now: Timestamp,
        rng: &mut fastrand::Rng,
        each: &mut dyn FnMut(&Ingested),
    ) -> Result<Vec<Ingested>, Error> {
        let messages = mailbox::mbox(file)?;
        self.in_batch(|| {
            let mut results = Vec::new();
            for (n, message) in messages.enumerate() {
                let source = format!("{}:{}", file.display(), n + 1);
                let result = match message {
                    Ok(raw) => self.ingest(&raw, &source, now, rng)?,
                    Err(why) => Ingested::nothing(&source, Outcome::Refused, why),
                };
                self.remember(&result);
                each(&result);
                results.push(result);
            }
            Ok(results)
        })
    }
}

/// What the checks before threading left.
enum Screened {
    /// Nothing more to do.
    Done(Ingested),
    /// A message to thread, with the tickets of the Message-IDs it names.
    Take(Box<Inbound>, Ingested, HashMap<String, TicketId>),
}

/// Gives the customer's message just recorded its Message-ID, sender and
/// files (the message as received, then its attachments, under safe
/// names, in the message's own folder); returns the files to commit.
fn stamp_received(ticket: &mut Ticket, mail: &Inbound, raw: &[u8]) -> Vec<(String, Vec<u8>)> {
    let folder = inbound::folder_for(raw);
    let attachments: Vec<(String, Vec<u8>)> = mail
        .attachments
        .iter()
        .map(|a| (a.name.clone(), a.bytes.clone()))
        .collect();
    let mut files = inbound::store_files(&folder, Some(raw), &attachments);
    // The customer's message, or an agent's mail kept as a note: the
    // newest, which the change just added.
    let Some(event) = ticket.events.iter_mut().rev().find(|e| {
        (matches!(e.kind, EventKind::Message | EventKind::Csat) && e.role == Role::Customer)
            || (e.kind == EventKind::Note && e.role == Role::Agent && e.actor == mail.from_address)
    }) else {
        return Vec::new();
    };
    event.actor.clone_from(&mail.from_address);
    event.message_id.clone_from(&mail.message_id);
    event.raw = Some(files[0].0.clone());
    event.attachments = files[1..].iter().map(|(name, _)| name.clone()).collect();
    // A message taken twice before a sync stores the same bytes under the
    // same names: nothing to conflict.
    files.dedup_by(|a, b| a.0 == b.0);
    files
}

/// The text of a message as a ticket message: its body, or a line saying
/// there was none.
fn text_of(mail: &Inbound) -> String {
    if mail.body.trim().is_empty() {
        if mail.attachments.is_empty() {
            "(the mail had no text)\n".to_owned()
        } else {
            "(the mail had no text; see its attachments)\n".to_owned()
        }
    } else {
        mail.body.clone()
    }
}
