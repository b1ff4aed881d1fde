//! `tix hooks [allow]`: review the commands of `tix.toml`, and allow them
//! on this clone (`Desk::commands`, `Desk::allow_commands`).

use std::io::Write;

use clap::{Args, Subcommand};
use serde::Serialize;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};

/// List the commands tix.toml makes tix run, and allow them on this clone.
///
/// tix.toml travels with every pull, so a command in it (a hook, the mail
/// transport's sendmail command) runs on a
/// clone only after that clone allowed the exact set: `tix hooks` lists
/// them and says whether they are allowed; `tix hooks allow` records the
/// set in this clone's git config (never committed). When the committed
/// set changes, none runs until it is allowed again (docs/configuration.md,
/// "Commands need consent").
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  tix hooks\n  tix hooks allow")]
pub(crate) struct HooksArgs {
    #[command(subcommand)]
    action: Option<HooksAction>,
}

#[derive(Debug, Subcommand)]
enum HooksAction {
    /// Allow the commands of the committed tix.toml on this clone; with
    /// DIGEST (shown by `tix hooks`), only if they are still the ones you
    /// reviewed.
    Allow {
        /// The digest `tix hooks` printed.
        digest: Option<String>,
    },
}

#[derive(Serialize)]
struct ReviewJson<'a> {
    allowed: bool,
    digest: &'a str,
    hooks: Vec<HookJson<'a>>,
    /// The mail transport's command, or null.
    mail: Option<&'a str>,
}

#[derive(Serialize)]
struct HookJson<'a> {
    run: &'a str,
    on: Vec<&'static str>,
}

pub(crate) fn run(ctx: &mut Ctx, args: &HooksArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let mut desk = ctx.desk()?;
    if let Some(HooksAction::Allow { digest }) = &args.action {
        let allowed = desk.allow_commands(digest.as_deref())?;
        for command in &allowed {
            ctx.ui.status(&format!("allowed: {}", shown(command)));
        }
        ctx.ui.status(&match allowed.len() {
            0 => "tix.toml has no commands; nothing to allow.".to_owned(),
            1 => "Allowed the 1 command of tix.toml on this clone.".to_owned(),
            n => format!("Allowed the {n} commands of tix.toml on this clone."),
        });
        return Ok(());
    }
    let review = desk.commands();
    if format == Format::Json {
        let hooks = review
            .hooks
            .iter()
            .map(|h| HookJson {
                run: &h.run,
                on: h.on.iter().map(|e| e.as_str()).collect(),
            })
            .collect();
        return Ok(ctx.ui.json(&ReviewJson {
            allowed: review.allowed,
            digest: &review.digest,
            hooks,
            mail: review.mail.as_deref(),
        })?);
    }
    let out = ctx.ui.out();
    if review.hooks.is_empty() && review.mail.is_none() {
        writeln!(out, "tix.toml has no commands.")?;
        return Ok(());
    }
    for hook in &review.hooks {
        let on: Vec<&str> = hook.on.iter().map(|e| e.as_str()).collect();
        writeln!(out, "hook on {}: {}", on.join(", "), shown(&hook.run))?;
    }
    if let Some(command) = &review.mail {
        writeln!(out, "mail transport: {}", shown(command))?;
    }
    if review.allowed {
        writeln!(out, "allowed on this clone")?;
    } else {
        writeln!(
            out,
            "not allowed on this clone: none of them runs; `tix hooks allow {}` allows them",
            review.digest
        )?;
    }
    Ok(())
}

/// A command as it will run, every character visible: line breaks, tabs
/// and any other control or bidi character escaped, so what a person
/// reviews is what runs.
fn shown(command: &str) -> String {
    command
        .chars()
        .map(|c| match c {
            '\n' => "\\n".to_owned(),
            '\t' => "\\t".to_owned(),
            c if crate::cli::render::is_hostile(c) => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect()
}
