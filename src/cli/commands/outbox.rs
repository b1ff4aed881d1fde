use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};

/// List the mail waiting to be sent, or send it (--send, for cron).
///
/// A reply's mail is sent right after the reply is committed; what the
/// transport did not take (the server was down, the command failed) waits
/// here with the reason and is tried again by --send, after 1 minute, 5,
/// 15, 1 hour, then every 4 hours. Mail is never lost and, if tix is killed
/// between sending and recording, sent again with the same Message-ID.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  tix outbox\n  tix outbox --send        # from cron, every few minutes"
)]
pub(crate) struct OutboxArgs {
    /// Send what is due now; exits 1 when a mail failed again.
    #[arg(long)]
    send: bool,
}

#[derive(Serialize)]
struct MailView {
    ticket: String,
    message_id: String,
    to: String,
    state: &'static str,
    attempts: u32,
    error: Option<String>,
    next_try: Option<String>,
}

#[derive(Serialize)]
struct Outbox {
    mail: Vec<MailView>,
}

#[derive(Serialize)]
struct SentView {
    sent: usize,
    failed: usize,
    waiting: usize,
    mail: Vec<MailView>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &OutboxArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json, Format::Csv])?;
    let desk = ctx.desk()?;
    let now = ctx.now()?;
    if args.send && format == Format::Csv {
        return Err(CommandError::usage(
            "tix outbox --send prints --format table or json; CSV lists the outbox (without --send)",
        ));
    }
    if args.send {
        let agent = match ctx.explicit_agent() {
            Some(_) => ctx.agent(&desk)?,
            None => desk.automation_agent(),
        };
        let report = desk.send_outbox(&agent, now)?;
        let failed = report.tried.iter().filter(|d| d.error.is_some()).count();
        let sent = report.tried.len() - failed;
        if format == Format::Json {
            let mail = report
                .tried
                .iter()
                .map(|d| MailView {
                    ticket: d.ticket.to_string(),
                    message_id: d.message_id.clone(),
                    to: d.to.clone(),
                    state: if d.error.is_none() { "sent" } else { "failed" },
                    attempts: d.attempts,
                    error: d.error.clone(),
                    next_try: d.next_try.map(|t| t.to_rfc3339()),
                })
                .collect();
            ctx.ui.json(&SentView {
                sent,
                failed,
                waiting: report.waiting,
                mail,
            })?;
        } else {
            for d in &report.tried {
                let line = match &d.error {
                    None => format!("{}: mail sent to {}", d.ticket, d.to),
                    Some(why) => format!("{}: mail to {} failed: {why}", d.ticket, d.to),
                };
                writeln!(ctx.ui.out(), "{}", crate::cli::render::text(&line))?;
            }
            writeln!(
                ctx.ui.out(),
                "sent {sent}, failed {failed}, waiting {}",
                report.waiting
            )?;
        }
        if failed > 0 {
            return Err(CommandError::user(format!(
                "{failed} mail(s) failed and wait in the outbox"
            )));
        }
        return Ok(());
    }
    let pending = desk.outbox()?;
    let mail: Vec<MailView> = pending
        .iter()
        .map(|p| MailView {
            ticket: p.ticket.to_string(),
            message_id: p.message_id.clone(),
            to: p.to.clone(),
            state: if p.attempts == 0 { "queued" } else { "failed" },
            attempts: p.attempts,
            error: p.error.clone(),
            next_try: p.next_try.map(|t| t.to_rfc3339()),
        })
        .collect();
    print_pending(ctx, mail, format)
}

/// Lists the mail waiting in the outbox.
fn print_pending(ctx: &mut Ctx, mail: Vec<MailView>, format: Format) -> Result<(), CommandError> {
    if format == Format::Json {
        ctx.ui.json(&Outbox { mail })?;
        return Ok(());
    }
    if format == Format::Csv {
        let header = [
            "ticket",
            "state",
            "to",
            "message_id",
            "attempts",
            "error",
            "next_try",
        ];
        let mut rows = mail.into_iter().map(|m| {
            vec![
                m.ticket,
                m.state.to_owned(),
                m.to,
                m.message_id,
                m.attempts.to_string(),
                m.error.unwrap_or_default(),
                m.next_try.unwrap_or_default(),
            ]
        });
        return Ok(ctx.ui.print_csv(&header, &mut rows)?);
    }
    if mail.is_empty() {
        writeln!(ctx.ui.out(), "The outbox is empty.")?;
        return Ok(());
    }
    for m in &mail {
        let mut line = format!("{}  {}  {}  {}", m.ticket, m.state, m.to, m.message_id);
        if let Some(why) = &m.error {
            let tries = if m.attempts == 1 { "try" } else { "tries" };
            line.push_str(&format!("  ({} failed {tries}: {why})", m.attempts));
        }
        if let Some(next) = &m.next_try {
            line.push_str(&format!("  next try {next}"));
        }
        writeln!(ctx.ui.out(), "{}", crate::cli::render::text(&line))?;
    }
    Ok(())
}
