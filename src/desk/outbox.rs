//! Outgoing mail (docs/mail.md, "Outbound"): a public reply to a customer
//! with an address is recorded as queued mail in the reply's own commit;
//! after the commit tix hands it to the transport and records the outcome
//! (`sent`, or `failed` with the reason) in a second commit. What failed
//! waits in the outbox for `tix outbox --send`, with backoff. A crash
//! between the hand-over and the record sends the mail again, with the
//! same Message-ID, so mail clients show it once.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use lettre::Transport as _;

use super::read::parse_ticket;
use super::{Agent, Desk, Error};
use crate::domain::change::Applied;
use crate::domain::mail::inbound;
use crate::domain::mail::outbound::{self, FAILED, OutMail, Pending, SENT};
use crate::domain::mail::template::{self, Vars};
use crate::domain::mail::{Security, Transport};
use crate::model::{Event, EventKind, Role, Ticket, TicketId, Timestamp};
use crate::store::{UpdateError, Write, layout};

/// What became of one mail handed to the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The ticket.
    pub ticket: TicketId,
    /// The mail's Message-ID.
    pub message_id: String,
    /// Its recipient.
    pub to: String,
    /// `None` when the transport took it; else why not.
    pub error: Option<String>,
    /// How often sending it failed, this try included.
    pub attempts: u32,
    /// When it is tried again, after a failure.
    pub next_try: Option<Timestamp>,
}

/// What `tix outbox --send` did.
#[derive(Clone, Debug, Default)]
pub struct SendReport {
    /// Each mail tried.
    pub tried: Vec<Delivery>,
    /// Mail not due yet (backoff), left for a later run.
    pub waiting: usize,
}

/// The cache of each ticket's Message-IDs (for threading) and of whether
/// it has mail waiting (for the outbox): `!` marks a pending one.
const MAIL_CACHE: &str = "mail";
const MAIL_SALT: &str = "mail 3";

/// A reply's mail is the reply command's to send for this long; only then
/// does `tix outbox --send` take it over (so a cron run during a reply
/// does not send it twice).
const HANDOVER_SECS: i64 = 60;

impl Desk {
    /// Visits every stored or sent Message-ID of the desk as
    /// `visit(ticket, message_id, waiting)`, `waiting` telling whether the
    /// mail is in the outbox, through the mail cache.
    pub(crate) fn mail_index(
        &self,
        visit: &mut dyn FnMut(&TicketId, &str, bool),
    ) -> Result<(), Error> {
        let derive = |raw: crate::store::RawTicket| {
            let ticket = super::read::load_summary(&raw).ok()?;
            let pending: BTreeSet<String> = outbound::pending(&ticket)
                .into_iter()
                .map(|p| p.message_id)
                .collect();
            let tokens: Vec<String> = ticket
                .events
                .iter()
                // Mail to an assignee (a note with a recipient) too: it
                // waits in the outbox, and an answer to it threads here.
                .filter(|e| {
                    matches!(e.kind, EventKind::Message | EventKind::Csat) || e.recipient.is_some()
                })
                .filter_map(|e| e.message_id.as_ref())
                .map(|id| {
                    let mark = if pending.contains(id) { "!" } else { "" };
                    format!("{mark}{id}")
                })
                .collect();
            Some(tokens.join(" "))
        };
        self.store.scan_cache(
            MAIL_CACHE,
            MAIL_SALT,
            &derive,
            &|_| false,
            false,
            &|_| {},
            &mut |item| {
                let (Some(payload), Some(id)) = (item.payload, layout::id_from_path(&item.path()))
                else {
                    return;
                };
                for token in payload.split(' ').filter(|t| !t.is_empty()) {
                    match token.strip_prefix('!') {
                        Some(waiting) => visit(&id, waiting, true),
                        None => visit(&id, token, false),
                    }
                }
            },
        )?;
        Ok(())
    }

    /// The tickets with mail in the outbox.
    fn outbox_tickets(&self) -> Result<Vec<Ticket>, Error> {
        let mut ids = BTreeSet::new();
        self.mail_index(&mut |id, _, waiting| {
            if waiting {
                ids.insert(id.clone());
            }
        })?;
        ids.iter().map(|id| self.ticket(id)).collect()
    }

    /// Every mail waiting to be sent, oldest first.
    pub fn outbox(&self) -> Result<Vec<Pending>, Error> {
        let mut all: Vec<Pending> = self
            .outbox_tickets()?
            .iter()
            .flat_map(outbound::pending)
            .collect();
        all.sort_by(|a, b| (a.queued, &a.message_id).cmp(&(b.queued, &b.message_id)));
        Ok(all)
    }

    /// Sends what the outbox holds and is due at `now`, recording each
    /// outcome; mail written in the last minute is left to the command
    /// that wrote it.
    pub fn send_outbox(&self, agent: &Agent, now: Timestamp) -> Result<SendReport, Error> {
        let mut report = SendReport::default();
        for ticket in self.outbox_tickets()? {
            let (due, waiting): (Vec<Pending>, Vec<Pending>) =
                outbound::pending(&ticket).into_iter().partition(|p| {
                    p.next_try.is_none_or(|t| t <= now)
                        && (p.attempts > 0 || p.queued.plus_seconds(HANDOVER_SECS) <= now)
                });
            report.waiting += waiting.len();
            let (tried, _) = self.deliver_all(&ticket, &due, agent, now)?;
            report.tried.extend(tried);
        }
        Ok(report)
    }

    /// Sends the mail a committed change queued (its last `recorded`
    /// events) and records the outcomes; returns them with the ticket as
    /// the record left it.
    pub(crate) fn send_queued(
        &self,
        ticket: &Ticket,
        applied: &Applied,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<(Vec<Delivery>, Option<Ticket>), Error> {
        let first = ticket.events.len() - applied.recorded.min(ticket.events.len());
        let pending: Vec<Pending> = outbound::pending(ticket)
            .into_iter()
            .filter(|p| p.event >= first)
            .collect();
        self.deliver_all(ticket, &pending, agent, now)
    }

    /// Sends the mail of the ticket `id` that was never tried (a notice an
    /// automation run queued), and records the outcomes.
    pub(crate) fn send_new(
        &self,
        id: &TicketId,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Vec<Delivery>, Error> {
        let ticket = self.ticket(id)?;
        let pending: Vec<Pending> = outbound::pending(&ticket)
            .into_iter()
            .filter(|p| p.attempts == 0)
            .collect();
        Ok(self.deliver_all(&ticket, &pending, agent, now)?.0)
    }

    /// Hands each of `pending` (mail of `ticket`) to the transport and
    /// records the outcomes in one commit; returns them with the ticket as
    /// that commit left it (none when there was nothing to send).
    fn deliver_all(
        &self,
        ticket: &Ticket,
        pending: &[Pending],
        agent: &Agent,
        now: Timestamp,
    ) -> Result<(Vec<Delivery>, Option<Ticket>), Error> {
        let tried: Vec<Delivery> = pending
            .iter()
            .map(|p| self.deliver(ticket, p, now))
            .collect();
        let recorded = self.record_deliveries(&ticket.id, &tried, agent, now)?;
        Ok((tried, recorded))
    }

    /// Hands one mail to the transport.
    fn deliver(&self, ticket: &Ticket, pending: &Pending, now: Timestamp) -> Delivery {
        let error = self.try_deliver(ticket, pending).err();
        let attempts = pending.attempts + u32::from(error.is_some());
        Delivery {
            ticket: ticket.id.clone(),
            message_id: pending.message_id.clone(),
            to: pending.to.clone(),
            next_try: error
                .is_some()
                .then(|| now.plus_seconds(outbound::backoff_secs(attempts))),
            error,
            attempts,
        }
    }

    fn try_deliver(&self, ticket: &Ticket, pending: &Pending) -> Result<(), String> {
        let settings = &self.config.mail;
        let mut files = |name: &str| {
            self.store
                .read_attachment(&ticket.id, name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("the attachment {name} is not in the desk"))
        };
        let mail = OutMail::of(ticket, pending.event, settings, &mut files)?;
        let bytes = mail.build()?;
        match &settings.transport {
            Transport::None => Err("[mail] transport is none".to_owned()),
            Transport::Sendmail(command) => {
                if !self.commands_allowed {
                    return Err(format!(
                        "the mail command `{command}` is not allowed on this clone; review it with \
                         `tix hooks`, then `tix hooks allow`"
                    ));
                }
                super::hooks::run_shell(
                    command,
                    self.root(),
                    Arc::from(bytes),
                    &[],
                    Duration::from_secs(60),
                    true,
                )
                .map_err(|why| format!("`{command}` failed: {why}"))
            }
            Transport::Smtp(smtp) => {
                let builder = match smtp.security {
                    Security::StartTls => lettre::SmtpTransport::starttls_relay(&smtp.host),
                    Security::Tls => lettre::SmtpTransport::relay(&smtp.host),
                    Security::None => Ok(lettre::SmtpTransport::builder_dangerous(&smtp.host)),
                }
                .map_err(|e| format!("smtp {}: {e}", smtp.host))?;
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(30)));
                if let Some(user) = &smtp.user {
                    let password = self.smtp_password.clone().ok_or_else(|| {
                        format!(
                            "smtp needs the password in ${}, which is not set (or empty)",
                            smtp.password_env.as_deref().unwrap_or("?")
                        )
                    })?;
                    builder = builder.credentials(
                        lettre::transport::smtp::authentication::Credentials::new(
                            user.clone(),
                            password,
                        ),
                    );
                }
                let from = mail.from.parse().map_err(|e| format!("From: {e}"))?;
                let to = mail.to.parse().map_err(|e| format!("To: {e}"))?;
                let envelope = lettre::address::Envelope::new(Some(from), vec![to])
                    .map_err(|e| e.to_string())?;
                builder
                    .build()
                    .send_raw(&envelope, &bytes)
                    .map(|_| ())
                    .map_err(|e| format!("smtp {}:{}: {e}", smtp.host, smtp.port))
            }
        }
    }

    /// Records what became of each mail in one commit on the ticket;
    /// returns the ticket as committed.
    fn record_deliveries(
        &self,
        id: &TicketId,
        tried: &[Delivery],
        agent: &Agent,
        now: Timestamp,
    ) -> Result<Option<Ticket>, Error> {
        if tried.is_empty() {
            return Ok(None);
        }
        let path = layout::ticket_path(id);
        let actor = agent.id().to_owned();
        let mut recorded = None;
        self.store
            .update(id, false, &agent.signature(now), |text| {
                let mut ticket = parse_ticket(&path, text.unwrap_or_default(), Some(id))?;
                for delivery in tried {
                    let mut event = Event::new(now, &actor, Role::System, EventKind::Mail);
                    event.message_id = Some(delivery.message_id.clone());
                    event.to = Some(
                        if delivery.error.is_none() {
                            SENT
                        } else {
                            FAILED
                        }
                        .to_owned(),
                    );
                    event.reason.clone_from(&delivery.error);
                    ticket.push(event);
                }
                let sent = tried.iter().filter(|d| d.error.is_none()).count();
                let applied = Applied {
                    action: if sent == tried.len() {
                        "mail-sent"
                    } else {
                        "mail-failed"
                    },
                    status: None,
                    recorded: tried.len(),
                };
                let write = Write {
                    content: ticket.to_toml(&self.config.statuses),
                    message: super::commit::commit_message(&ticket, &applied),
                    files: Vec::new(),
                };
                recorded = Some(ticket);
                Ok::<_, Error>(write)
            })
            .map_err(|e: UpdateError<Error>| Error::from(e))?;
        Ok(recorded)
    }

    /// Makes the agent's public reply just applied to `ticket` go out by
    /// mail: gives it a Message-ID and the customer as recipient, and
    /// attaches `files` (returned with their stored names). Nothing when
    /// the desk sends no mail or the customer has no address.
    pub(crate) fn queue_reply(
        &self,
        ticket: &mut Ticket,
        files: &[(String, Vec<u8>)],
    ) -> Vec<(String, Vec<u8>)> {
        let settings = &self.config.mail;
        let salt = fastrand::u32(..0x0100_0000);
        let number = outbound::next_number(ticket);
        // The reply's files get a directory of their own, named for the
        // reply, so files of two replies never meet (docs/mail.md).
        let folder = format!("reply-{number}-{salt:06x}");
        let stored = inbound::store_files(&folder, None, files);
        let to = ticket.customer.email.clone();
        let Some(event) = ticket
            .events
            .iter_mut()
            .rev()
            .find(|e| e.kind == EventKind::Message && e.role == Role::Agent)
        else {
            return Vec::new();
        };
        event.attachments = stored.iter().map(|(name, _)| name.clone()).collect();
        if let Some(to) = to
            && settings.sends()
        {
            event.message_id = Some(outbound::message_id(
                &ticket.id,
                number,
                salt,
                settings.domain(),
            ));
            event.recipient = Some(to);
        }
        stored
    }

    /// Renders `templates/NAME.txt` for `ticket`, as `agent` writes it.
    pub(crate) fn render_template(
        &self,
        ticket: &Ticket,
        name: &str,
        agent: &Agent,
    ) -> Result<String, Error> {
        let path = layout::template_path(name);
        let source = self
            .store
            .read_file(&path)?
            .ok_or_else(|| Error::Request(format!("the template {path} is not committed")))?;
        let vars = self.template_vars(ticket, agent);
        template::render(name, &source, &vars).map_err(Error::Request)
    }

    /// Appends `body` to `ticket` as a `kind` event by `actor` (role
    /// system) that goes out by mail to `to`, with a Message-ID of its own.
    pub(crate) fn push_mail(
        &self,
        ticket: &mut Ticket,
        kind: EventKind,
        actor: &str,
        to: String,
        body: String,
        now: Timestamp,
    ) {
        let mut event = Event::new(now, actor, Role::System, kind);
        event.message_id = Some(outbound::message_id(
            &ticket.id,
            outbound::next_number(ticket),
            fastrand::u32(..0x0100_0000),
            self.config.mail.domain(),
        ));
        event.recipient = Some(to);
        event.body = Some(body);
        ticket.push(event);
    }

    /// Appends the notice `template` (a `[mail] notify` name) to the
    /// ticket as the desk's message to the customer, queued as mail.
    /// Nothing when the desk sends no mail or the customer has no address.
    pub(crate) fn queue_notice(
        &self,
        ticket: &mut Ticket,
        template_name: &str,
        agent: &Agent,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let settings = &self.config.mail;
        let Some(to) = ticket.customer.email.clone() else {
            return Ok(false);
        };
        if !settings.sends() {
            return Ok(false);
        }
        let body = self.render_template(ticket, template_name, agent)?;
        let actor = settings.address.clone().unwrap_or_default();
        self.push_mail(ticket, EventKind::Message, &actor, to, body, now);
        Ok(true)
    }

    /// The desk as the author of its own mail (notices, and the record of
    /// mail sent after a received one): `[mail] name` and address, else
    /// the automation identity.
    pub(crate) fn desk_agent(&self) -> Agent {
        let settings = &self.config.mail;
        let automation = self.automation_agent();
        Agent {
            name: settings
                .name
                .clone()
                .or_else(|| self.config.desk.name.clone())
                .unwrap_or(automation.name),
            email: settings.address.clone().unwrap_or(automation.email),
        }
    }

    pub(crate) fn template_vars(&self, ticket: &Ticket, agent: &Agent) -> Vars {
        let settings = &self.config.mail;
        let summary = ticket.summary(&self.config.statuses);
        let customer_email = ticket.customer.email.clone().unwrap_or_default();
        let desk_name = self
            .config
            .desk
            .name
            .clone()
            .or_else(|| settings.name.clone())
            .unwrap_or_else(|| "Support".to_owned());
        Vars {
            ticket: template::TicketVars {
                id: ticket.id.to_string(),
                subject: ticket.subject.clone(),
                status: summary.status,
                priority: ticket.priority.to_string(),
            },
            customer: template::Person {
                name: ticket
                    .customer
                    .name
                    .clone()
                    .unwrap_or_else(|| customer_email.clone()),
                email: customer_email,
            },
            agent: template::Person {
                name: agent.name.clone(),
                email: agent.id().to_owned(),
            },
            desk: template::DeskVars {
                name: desk_name,
                address: settings.address.clone().unwrap_or_default(),
            },
            rating: template::RatingVars {
                hint: "How did we do? Answer this mail with a first line like \"rating: 5\" \
                       (1 = poor, 5 = great), and a word more if you like."
                    .to_owned(),
            },
        }
    }
}
