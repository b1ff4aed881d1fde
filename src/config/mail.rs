//! `[mail]` and `[[mailbox]]`: the mail channel (docs/configuration.md,
//! "Mail").

use super::Report;
use super::raw::{Element, RawMail, RawMailbox};
use crate::domain::mail::{
    ClosedReply, DEFAULT_MAX_SIZE_MB, MailSettings, Mailbox, Notify, Security, Smtp, Transport,
    is_address,
};

/// Builds the mail settings; `span` is where `[mail]` starts.
pub(super) fn mail(
    raw: Option<(RawMail, std::ops::Range<usize>)>,
    mailboxes: Vec<Element<RawMailbox>>,
    departments: &std::collections::BTreeSet<String>,
    files: &super::ReadFile<'_>,
    problem: &mut Report<'_>,
) -> MailSettings {
    let mut settings = MailSettings::default();
    if let Some((raw, span)) = raw {
        let mut report = |message: String| problem(format!("[mail] {message}"), span.clone());
        if let Some(address) = &raw.address
            && !is_address(address)
        {
            report(format!(
                "address '{address}' is not a mail address (like support@example.com)"
            ));
        }
        if let Some(name) = &raw.name
            && name.contains(char::is_control)
        {
            report("name must be one line without control characters".to_owned());
        }
        settings.transport = transport(&raw, &mut report);
        if settings.transport != Transport::None && raw.address.is_none() {
            report("sends mail but has no `address` to send it from".to_owned());
        }
        settings.closed_reply = match raw.closed_reply.as_deref() {
            None | Some("follow_up") => ClosedReply::FollowUp,
            Some("reopen") => ClosedReply::Reopen,
            Some("refuse") => ClosedReply::Refuse,
            Some(other) => {
                report(format!(
                    "closed_reply '{other}' is unknown; use follow_up, reopen or refuse"
                ));
                ClosedReply::FollowUp
            }
        };
        let max_mb = raw.max_size_mb.unwrap_or(DEFAULT_MAX_SIZE_MB);
        if max_mb == 0 || max_mb > 1024 {
            report(format!(
                "max_size_mb {max_mb} is out of range; give 1 to 1024 (MiB)"
            ));
        }
        settings.max_size = max_mb.clamp(1, 1024) * 1024 * 1024;
        settings.notify = Notify {
            created: template_name(raw.notify.created, &mut report),
            resolved: template_name(raw.notify.resolved, &mut report),
            closed: template_name(raw.notify.closed, &mut report),
        };
        let notify = &settings.notify;
        for name in [&notify.created, &notify.resolved, &notify.closed]
            .into_iter()
            .flatten()
        {
            check_template(name, files, &mut report);
        }
        settings.address = raw.address;
        settings.name = raw.name;
    }
    for element in mailboxes {
        let mailbox = element.value;
        if !is_address(&mailbox.address) {
            problem(
                format!(
                    "[[mailbox]] address '{}' is not a mail address",
                    mailbox.address
                ),
                element.span.clone(),
            );
        }
        if !departments.contains(&mailbox.department) {
            problem(
                format!(
                    "[[mailbox]] {} names department '{}', which no [[department]] defines",
                    mailbox.address, mailbox.department
                ),
                element.span.clone(),
            );
        }
        settings.mailboxes.push(Mailbox {
            address: mailbox.address,
            department: mailbox.department,
        });
    }
    settings
}

fn transport(raw: &RawMail, report: &mut impl FnMut(String)) -> Transport {
    match raw.transport.as_deref() {
        None | Some("none") => Transport::None,
        Some("sendmail") => {
            let command = raw
                .sendmail
                .clone()
                .unwrap_or_else(|| "/usr/sbin/sendmail -t -i".to_owned());
            if command.contains(|c: char| c.is_control()) || command.trim().is_empty() {
                report(
                    "sendmail must be one plain command line (no control characters)".to_owned(),
                );
            }
            Transport::Sendmail(command)
        }
        Some("smtp") => {
            let Some(smtp) = &raw.smtp else {
                report(
                    "transport = \"smtp\" needs smtp = { host = ..., port = ..., security = ... }"
                        .to_owned(),
                );
                return Transport::None;
            };
            let security = match smtp.security.as_deref() {
                None | Some("starttls") => Security::StartTls,
                Some("tls") => Security::Tls,
                Some("none") => Security::None,
                Some(other) => {
                    report(format!(
                        "smtp security '{other}' is unknown; use starttls, tls or none"
                    ));
                    Security::StartTls
                }
            };
            let loopback = matches!(smtp.host.as_str(), "localhost" | "127.0.0.1" | "::1");
            if security == Security::None && smtp.user.is_some() && !loopback {
                report(format!(
                    "smtp security = \"none\" would send the password to {} unencrypted; \
                     use starttls or tls (none is for a relay on this host)",
                    smtp.host
                ));
            }
            if smtp.user.is_some() != smtp.password_env.is_some() {
                report(
                    "smtp needs both `user` and `password_env` (the variable holding the password), or neither"
                        .to_owned(),
                );
            }
            Transport::Smtp(Smtp {
                host: smtp.host.clone(),
                port: smtp.port.unwrap_or_else(|| security.default_port()),
                security,
                user: smtp.user.clone(),
                password_env: smtp.password_env.clone(),
            })
        }
        Some(other) => {
            report(format!(
                "transport '{other}' is unknown; use none, sendmail or smtp"
            ));
            Transport::None
        }
    }
}

/// Checks that the template a notice names is committed, parses, and
/// names only variables tix fills in: a broken notice is found when the
/// desk is loaded, not when a customer should get it.
fn check_template(name: &str, files: &super::ReadFile<'_>, report: &mut impl FnMut(String)) {
    if let Some(message) = template_problem("notify", name, files) {
        report(message);
    }
}

/// What is wrong with the template `templates/NAME.txt` that `key` names
/// (not committed, does not parse, names a variable tix does not fill
/// in), if anything.
pub(super) fn template_problem(
    key: &str,
    name: &str,
    files: &super::ReadFile<'_>,
) -> Option<String> {
    if !crate::domain::mail::template::is_template_name(name) {
        return Some(format!(
            "{key}: template '{name}' must be a plain name (letters, digits, - and _), \
             the file templates/NAME.txt"
        ));
    }
    let path = format!("templates/{name}.txt");
    match files(&path) {
        Ok(Some(text)) => crate::domain::mail::template::check(name, &text)
            .err()
            .map(|why| format!("{key}: {why}")),
        Ok(None) => Some(format!(
            "{key} names the template '{name}', but {path} is not committed"
        )),
        Err(why) => Some(format!("{key}: cannot read {path}: {why}")),
    }
}

/// A template name: a plain file name under `templates/`, without `.txt`.
fn template_name(name: Option<String>, report: &mut impl FnMut(String)) -> Option<String> {
    let name = name?;
    if !crate::domain::mail::template::is_template_name(&name) {
        report(format!(
            "notify template '{name}' must be a plain name (letters, digits, - and _), \
             the file templates/NAME.txt"
        ));
        return None;
    }
    Some(name)
}
