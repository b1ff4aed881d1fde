//! The command line: parses arguments, runs one subcommand, maps errors to
//! exit codes. Each subcommand lives in `commands/<name>.rs`.

mod apply;
mod args;
mod automation;
pub mod clock;
mod commands;
mod complete;
mod defuse;
pub mod error;
mod pager;
mod render;
pub mod ui;

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::desk::{Agent, Desk, Problem};
use crate::model::Timestamp;
use args::parse_field;
pub use error::{CommandError, Kind};
use ui::{ColorChoice, Format, Ui};

/// A helpdesk ticket tool for the command line, stored in git.
///
/// Each ticket is a TOML file in a git repository and every change is one
/// commit. Start with `tix init`, then `tix new "Subject"`.
#[derive(Debug, Parser)]
#[command(name = "tix", version, propagate_version = true, max_term_width = 100)]
#[command(
    after_help = "Examples:\n  tix init desk && cd desk\n  tix new \"Printer on fire\" --email bo@example.com -m \"It smokes\"\n  tix list --pending\n  tix reply k3x -m \"Unplug it\" --resolve"
)]
pub struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

/// The options every command takes.
#[derive(Debug, clap::Args)]
struct Globals {
    /// Run as if tix was started in DIR.
    #[arg(short = 'C', id = "chdir", global = true, value_name = "DIR")]
    #[arg(help_heading = GLOBAL)]
    dir: Option<PathBuf>,
    /// Act as this agent ("Name <email>"); default TIX_AGENT, then git's user.
    #[arg(long = "as", global = true, value_name = "AGENT", help_heading = GLOBAL)]
    as_agent: Option<String>,
    /// Output format where the command prints data.
    #[arg(long, global = true, value_enum, help_heading = GLOBAL)]
    format: Option<Format>,
    /// Colour output: auto (terminals only, honours NO_COLOR), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    #[arg(help_heading = GLOBAL)]
    color: ColorChoice,
    /// Print to the terminal directly: no pager (TIX_PAGER, else PAGER,
    /// else less, pages show, list, log, queue, sla and report).
    #[arg(long, global = true, help_heading = GLOBAL)]
    no_pager: bool,
}

/// The commands. An attribute on a variant here (an alias, a setting that
/// changes parsing) is not seen by [`one_command`], which builds the
/// everyday ones from their `Args` alone: put it on the `Args` struct.
#[derive(Debug, Subcommand)]
enum Command {
    Init(commands::init::InitArgs),
    New(commands::new::NewArgs),
    Show(commands::show::ShowArgs),
    List(commands::list::ListArgs),
    Log(commands::log::LogArgs),
    Reply(commands::reply::ReplyArgs),
    Note(commands::note::NoteArgs),
    Open(commands::open::OpenArgs),
    Postpone(commands::postpone::PostponeArgs),
    Resolve(commands::resolve::ResolveArgs),
    Status(commands::status::StatusArgs),
    Close(commands::close::CloseArgs),
    Reopen(commands::reopen::ReopenArgs),
    Assign(commands::assign::AssignArgs),
    Edit(commands::edit::EditArgs),
    Queue(commands::queue::QueueArgs),
    Next(commands::next::NextArgs),
    Sla(commands::sla::SlaArgs),
    Autoclose(commands::autoclose::AutocloseArgs),
    Automate(commands::automate::AutomateArgs),
    Sync(commands::sync::SyncArgs),
    Hooks(commands::hooks::HooksArgs),
    Rate(commands::rate::RateArgs),
    Macro(commands::macros::MacroArgs),
    Link(commands::link::LinkArgs),
    Merge(commands::merge::MergeArgs),
    Report(commands::report::ReportArgs),
    Import(commands::import::ImportArgs),
    Export(commands::export::ExportArgs),
    Ingest(commands::ingest::IngestArgs),
    Outbox(commands::outbox::OutboxArgs),
    Doctor(commands::doctor::DoctorArgs),
    Completions(commands::completions::CompletionsArgs),
    Man(commands::man::ManArgs),
    #[command(hide = true)]
    Generate(commands::generate::GenerateArgs),
    #[command(hide = true)]
    MergeDriver(commands::merge_driver::MergeDriverArgs),
}

/// The heading of the options every command takes.
const GLOBAL: &str = "Global options";

/// The commands as `tix help` groups them, each group with its title.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Everyday",
        &[
            "new", "show", "list", "log", "reply", "note", "assign", "edit", "open", "postpone",
            "resolve", "close", "reopen", "status", "rate",
        ],
    ),
    ("Queue and targets", &["queue", "next", "sla"]),
    ("Tickets together", &["link", "merge", "macro"]),
    ("Mail", &["ingest", "outbox"]),
    ("Reports and data", &["report", "export", "import"]),
    ("Automation", &["automate", "autoclose", "hooks"]),
    ("The desk", &["init", "sync", "doctor"]),
    ("Plumbing", &["man", "completions"]),
];

/// The formats each command prints with `--format`; a command not named
/// prints no data. The commands check the same lists when they run.
const FORMATS: &[(&[&str], &[Format])] = {
    use Format::{Csv, Html, Json, Jsonl, Table, Toml};
    &[
        (
            &[
                "new",
                "reply",
                "note",
                "assign",
                "edit",
                "open",
                "postpone",
                "resolve",
                "close",
                "reopen",
                "status",
                "rate",
                "link",
                "merge",
                "macro",
                "next",
                "hooks",
                "ingest",
                "import",
                "automate",
                "autoclose",
                "doctor",
                "init",
                "sync",
            ],
            &[Table, Json],
        ),
        (&["queue", "sla", "outbox"], &[Table, Json, Csv]),
        (&["list", "log"], &[Table, Json, Csv]),
        (&["show"], &[Table, Json, Toml]),
        (&["report"], &[Table, Json, Csv, Html]),
        (&["export"], &[Jsonl, Csv]),
    ]
};

/// The command line as tix parses it: the derived one, with each
/// command's `--format` offering only what the command prints, and `tix
/// help` listing the commands by group.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    // A command's own global `--format` replaces the top-level one in it
    // and the commands under it (clap propagates a global option only
    // where the command has none of that name).
    let cli = Cli::command().mut_subcommands(|c| {
        let formats = formats_of(c.get_name());
        c.arg(format_option(formats))
    });
    let grouped = grouped_commands(&cli);
    cli.help_template(format!(
        "{{about-with-newline}}\n{{usage-heading}} {{usage}}\n\n{grouped}\nGlobal options:\n{{options}}{{after-help}}"
    ))
}

/// The formats `command` prints (none: it prints no data).
fn formats_of(command: &str) -> &'static [Format] {
    FORMATS
        .iter()
        .find(|(commands, _)| commands.contains(&command))
        .map_or(&[][..], |(_, formats)| *formats)
}

/// Parses `args` when they start with the exact name of an everyday
/// command, building that command alone: building all 36 with their
/// options was a tenth of the instructions of a change. `None` when the
/// name is another one or the arguments do not parse so (help, version,
/// a mistake: those are parsed twice); the whole [`command`] then parses
/// them, and gives the same result or the error, help or version the
/// user asked for. (Tests compare both parses, and both commands.)
fn parse_one(args: &[OsString]) -> Option<Cli> {
    use clap::{Args as _, FromArgMatches as _};
    let one = one_command(args.get(1)?.to_str()?)?;
    let cli = Globals::augment_args(clap::Command::new("tix"))
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .subcommand(one);
    let matches = cli.try_get_matches_from(args).ok()?;
    Cli::from_arg_matches(&matches).ok()
}

/// The everyday command `name` as [`command`] builds it, for parsing (its
/// help text aside); `None` for the other commands.
fn one_command(name: &str) -> Option<clap::Command> {
    use clap::Args as _;
    use commands::*;
    let named = clap::Command::new;
    let one = match name {
        "new" => new::NewArgs::augment_args(named("new")),
        "show" => show::ShowArgs::augment_args(named("show")),
        "list" => list::ListArgs::augment_args(named("list")),
        "log" => log::LogArgs::augment_args(named("log")),
        "reply" => reply::ReplyArgs::augment_args(named("reply")),
        "note" => note::NoteArgs::augment_args(named("note")),
        "open" => open::OpenArgs::augment_args(named("open")),
        "postpone" => postpone::PostponeArgs::augment_args(named("postpone")),
        "resolve" => resolve::ResolveArgs::augment_args(named("resolve")),
        "status" => status::StatusArgs::augment_args(named("status")),
        "close" => close::CloseArgs::augment_args(named("close")),
        "reopen" => reopen::ReopenArgs::augment_args(named("reopen")),
        "assign" => assign::AssignArgs::augment_args(named("assign")),
        "edit" => edit::EditArgs::augment_args(named("edit")),
        "queue" => queue::QueueArgs::augment_args(named("queue")),
        "next" => next::NextArgs::augment_args(named("next")),
        "rate" => rate::RateArgs::augment_args(named("rate")),
        "link" => link::LinkArgs::augment_args(named("link")),
        // git runs it once for each ticket a merge changes on both sides.
        "merge-driver" => merge_driver::MergeDriverArgs::augment_args(named("merge-driver")),
        _ => return None,
    };
    Some(one.arg(format_option(formats_of(name))))
}

/// [`command`] with what the shell completes from the desk (ticket ids,
/// agents, statuses...): for `COMPLETE=bash tix` only, as attaching them
/// costs every other run its time.
pub fn completing_command() -> clap::Command {
    complete::attach(command())
}

/// `--format` offering only `formats` (hidden when there are none: the
/// command prints no data).
fn format_option(formats: &'static [Format]) -> clap::Arg {
    use clap::ValueEnum as _;
    use clap::builder::TypedValueParser as _;
    let values = formats.iter().filter_map(Format::to_possible_value);
    let parser = clap::builder::PossibleValuesParser::new(values)
        .map(|name| Format::from_str(&name, true).unwrap_or(Format::Table));
    clap::Arg::new("format")
        .long("format")
        .global(true)
        .value_name("FORMAT")
        .value_parser(parser)
        .help("Output format")
        .help_heading(GLOBAL)
        .hide(formats.is_empty())
}

/// The commands of `cli` in their [`GROUPS`], each with its summary.
fn grouped_commands(cli: &clap::Command) -> String {
    let width = GROUPS
        .iter()
        .flat_map(|(_, names)| names.iter().map(|n| n.len()))
        .max()
        .unwrap_or_default();
    let mut text = String::new();
    for (title, names) in GROUPS {
        text.push_str(&format!("{title}:\n"));
        for name in *names {
            let about = cli
                .find_subcommand(name)
                .and_then(|c| c.get_about())
                .map(ToString::to_string)
                .unwrap_or_default();
            // Wrapped to the 100 columns of the rest of the help.
            let room = 100 - width - 4;
            let mut line = String::new();
            let mut first = true;
            for word in about.split(' ') {
                if !line.is_empty() && line.len() + 1 + word.len() > room {
                    let lead = if first { name } else { "" };
                    text.push_str(&format!("  {lead:width$}  {line}\n"));
                    first = false;
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            let lead = if first { name } else { "" };
            text.push_str(&format!("  {lead:width$}  {line}\n"));
        }
        text.push('\n');
    }
    text.push_str("See 'tix help COMMAND' for the options and examples of each.\n");
    text
}

/// Runs tix with the given arguments and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match parse_one(&args).map_or_else(|| parse_all(&args), Ok) {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    // A reading command on a terminal is paged, once it has succeeded.
    let pager = (cli.command.reads() && std::io::stdout().is_terminal())
        .then(|| pager::Pager::from_env(cli.globals.no_pager))
        .flatten();
    let mut ctx = Ctx::new(&cli, pager.is_some());
    let mut result = dispatch(&mut ctx, &cli.command);
    if let (Some(pager), Some(held)) = (&pager, ctx.ui.take_held()) {
        drop(ctx);
        let written = held.and_then(|mut held| {
            if result.is_ok() && held.metadata()?.len() > 0 {
                // Returns only when the pager cannot start: then print here.
                let e = pager.exec(held.try_clone()?);
                eprintln!("warning: cannot run the pager {pager}: {e}");
            }
            let mut out = std::io::stdout().lock();
            std::io::copy(&mut held, &mut out)?;
            out.flush()
        });
        if let (Ok(()), Err(e)) = (&result, written) {
            result = Err(e.into());
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if err.kind == Kind::Alert {
                // Not a failure: the command worked and reports a finding.
                eprintln!("{}", render::cell(&err.message));
            } else if err.kind != Kind::BrokenPipe {
                eprintln!("error: {}", render::cell(&err.message));
                for hint in &err.hints {
                    eprintln!("hint: {}", render::cell(hint));
                }
            }
            err.exit_code()
        }
    }
}

/// Parses `args` with the whole [`command`].
fn parse_all(args: &[OsString]) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches as _;
    command()
        .try_get_matches_from(args)
        .and_then(|matches| Cli::from_arg_matches(&matches))
}

impl Command {
    /// Whether the command only reads and prints what may be long: its
    /// output is paged on a terminal (`cli::pager`).
    fn reads(&self) -> bool {
        match self {
            Self::Show(_) | Self::List(_) | Self::Log(_) | Self::Queue(_) | Self::Report(_) => true,
            // `tix sla check` records breaches and runs hooks.
            Self::Sla(args) => !args.is_check(),
            _ => false,
        }
    }
}

fn dispatch(ctx: &mut Ctx, command: &Command) -> Result<(), CommandError> {
    match command {
        Command::Init(args) => commands::init::run(ctx, args),
        Command::New(args) => commands::new::run(ctx, args),
        Command::Show(args) => commands::show::run(ctx, args),
        Command::List(args) => commands::list::run(ctx, args),
        Command::Log(args) => commands::log::run(ctx, args),
        Command::Reply(args) => commands::reply::run(ctx, args),
        Command::Note(args) => commands::note::run(ctx, args),
        Command::Open(args) => commands::open::run(ctx, args),
        Command::Postpone(args) => commands::postpone::run(ctx, args),
        Command::Resolve(args) => commands::resolve::run(ctx, args),
        Command::Status(args) => commands::status::run(ctx, args),
        Command::Close(args) => commands::close::run(ctx, args),
        Command::Reopen(args) => commands::reopen::run(ctx, args),
        Command::Assign(args) => commands::assign::run(ctx, args),
        Command::Edit(args) => commands::edit::run(ctx, args),
        Command::Queue(args) => commands::queue::run(ctx, args),
        Command::Next(args) => commands::next::run(ctx, args),
        Command::Sla(args) => commands::sla::run(ctx, args),
        Command::Autoclose(args) => commands::autoclose::run(ctx, args),
        Command::Automate(args) => commands::automate::run(ctx, args),
        Command::Sync(args) => commands::sync::run(ctx, args),
        Command::Hooks(args) => commands::hooks::run(ctx, args),
        Command::Rate(args) => commands::rate::run(ctx, args),
        Command::Macro(args) => commands::macros::run(ctx, args),
        Command::Link(args) => commands::link::run(ctx, args),
        Command::Merge(args) => commands::merge::run(ctx, args),
        Command::Report(args) => commands::report::run(ctx, args),
        Command::Import(args) => commands::import::run(ctx, args),
        Command::Export(args) => commands::export::run(ctx, args),
        Command::Ingest(args) => commands::ingest::run(ctx, args),
        Command::Outbox(args) => commands::outbox::run(ctx, args),
        Command::Doctor(args) => commands::doctor::run(ctx, args),
        Command::MergeDriver(args) => commands::merge_driver::run(ctx, args),
        Command::Completions(args) => commands::completions::run(ctx, args),
        Command::Man(args) => commands::man::run(ctx, args),
        Command::Generate(args) => commands::generate::run(ctx, args),
    }
}

/// What every command gets: global options and output.
pub struct Ctx {
    dir: Option<PathBuf>,
    as_agent: Option<String>,
    format: Option<Format>,
    /// Output handles.
    pub ui: Ui,
}

impl Ctx {
    fn new(cli: &Cli, hold: bool) -> Self {
        Self {
            dir: cli.globals.dir.clone(),
            as_agent: cli.globals.as_agent.clone(),
            format: cli.globals.format,
            ui: Ui::new(cli.globals.color, hold),
        }
    }

    /// The directory the command runs in (`-C`, else the current one).
    pub fn start_dir(&self) -> Result<PathBuf, CommandError> {
        match &self.dir {
            Some(dir) => Ok(dir.clone()),
            None => Ok(std::env::current_dir()?),
        }
    }

    /// Opens the desk around the start directory.
    pub fn desk(&self) -> Result<Desk, CommandError> {
        let mut desk = Desk::open(&self.start_dir()?)?;
        // The SMTP password comes from the variable tix.toml names, never
        // from the file itself.
        if let crate::domain::mail::Transport::Smtp(smtp) = &desk.config().mail.transport
            && let Some(var) = &smtp.password_env
        {
            let password = std::env::var(var).ok().filter(|p| !p.is_empty());
            desk.set_smtp_password(password);
        }
        Ok(desk)
    }

    /// Opens the desk as it is, or as it was at `at` (`--at REV|DATE`);
    /// returns it with the moment it shows.
    pub fn desk_at(&self, at: Option<&str>) -> Result<(Desk, Timestamp), CommandError> {
        match at {
            None => Ok((self.desk()?, self.now()?)),
            Some(at) => Ok(Desk::open_at(&self.start_dir()?, at, self.now()?)?),
        }
    }

    /// Returns the current time (`TIX_NOW` or the clock).
    pub fn now(&self) -> Result<Timestamp, CommandError> {
        clock::now().map_err(|e| CommandError::usage(format!("TIX_NOW: {e}")))
    }

    /// The agent named on the command line or in the environment: `--as`,
    /// else `TIX_AGENT`.
    pub fn explicit_agent(&self) -> Option<String> {
        self.as_agent
            .clone()
            .or_else(|| std::env::var("TIX_AGENT").ok())
    }

    /// Returns the acting agent: `--as`, `TIX_AGENT`, then git's identity.
    pub fn agent(&self, desk: &Desk) -> Result<Agent, CommandError> {
        Ok(desk.agent(self.explicit_agent().as_deref())?)
    }

    /// Warns about ticket files a command skipped because they do not load.
    pub fn warn_problems(&self, problems: &[Problem]) {
        for problem in problems {
            self.ui.status(&format!("warning: skipped {problem}"));
        }
    }

    /// Returns the output format, checking the command supports it.
    pub fn format(&self, allowed: &[Format]) -> Result<Format, CommandError> {
        let format = self.format.unwrap_or(Format::Table);
        if allowed.contains(&format) {
            Ok(format)
        } else {
            let names: Vec<String> = allowed
                .iter()
                .map(|f| format!("{f:?}").to_lowercase())
                .collect();
            Err(CommandError::usage(format!(
                "this command does not print --format {}; use {}",
                format!("{format:?}").to_lowercase(),
                names.join(" or ")
            )))
        }
    }

    /// Returns the id generator: seeded by `TIX_SEED` for reproducible
    /// tests, else random.
    pub fn rng(&self) -> fastrand::Rng {
        match std::env::var("TIX_SEED")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
        {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        }
    }
}

/// Reads a message: `-m TEXT`, `-m -` for stdin, else `$EDITOR` when stdin
/// is a terminal (as `git commit` does).
pub fn read_message(ctx: &Ctx, message: Option<&str>, what: &str) -> Result<String, CommandError> {
    let text = match message {
        Some("-") => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes)?;
            String::from_utf8(bytes).map_err(|_| {
                CommandError::user(format!(
                    "the {what} on standard input is not UTF-8 text; nothing was written"
                ))
            })?
        }
        Some(text) => text.to_owned(),
        None if std::io::stdin().is_terminal() => edit_message(ctx, what)?,
        None => {
            return Err(CommandError::usage(format!(
                "no {what} given: pass -m TEXT, or -m - to read it from standard input"
            )));
        }
    };
    if text.trim().is_empty() {
        return Err(CommandError::user(format!(
            "the {what} is empty; nothing was written"
        )));
    }
    Ok(text)
}

fn edit_message(ctx: &Ctx, what: &str) -> Result<String, CommandError> {
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_owned());
    let dir = std::env::temp_dir();
    let path = dir.join(format!("TIX_EDITMSG-{}", std::process::id()));
    let template = format!(
        "\n# Write the {what} above. Lines starting with '#' are ignored.\n# An empty {what} aborts.\n"
    );
    std::fs::write(&path, template)?;
    let _ = ctx;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()?;
    let text = std::fs::read_to_string(&path)?;
    let _ = std::fs::remove_file(&path);
    if !status.success() {
        return Err(CommandError::user(format!(
            "the editor '{editor}' failed; nothing was written"
        )));
    }
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
        + "\n")
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::{FORMATS, GROUPS, command, one_command, parse_all, parse_one};

    /// The arguments `tix` gets for `line` (split at spaces; `_` is a space
    /// inside an argument).
    fn argv(line: &str) -> Vec<OsString> {
        std::iter::once("tix")
            .chain(line.split(' '))
            .map(|a| OsString::from(a.replace('_', " ")))
            .collect()
    }

    /// Command lines for each command building itself alone: each command
    /// with the global options, its own, mistakes, help and version.
    fn lines(name: &str) -> Vec<String> {
        let mut lines: Vec<String> = [
            "",
            "k3x",
            "k3x -m Unplug_it",
            "k3x waiting",
            "k3x 5 --comment Quick",
            "k3x --related ab1",
            "k3x --duplicate-of ab1 --related ab2",
            "Printer_on_fire --email bo@example.com -m It_smokes --priority high --tag a --tag b",
            "--status open --limit 5 --sort updated --all",
            "--pending --format csv",
            "k3x --format json",
            "k3x --format html",
            "k3x --format nope",
            "-C /tmp k3x",
            "k3x -C /tmp --as Bo_<bo@example.com> --color never --no-pager",
            "k3x --color sometimes",
            "--take",
            "k3x --no-such-option",
            "k3x --help",
            "-h",
            "--version",
            "k3x -V",
            "%O %A %B %P",
            "k3x -m",
            "k3x -m -",
            "k3x --until 2025-03-10 -m Later",
            "k3x --assign ana",
            "k3x -- -m",
            "k3x -m -V",
            "k3x --tag -V",
            "k3x --tag --version",
            "k3x --tag=-x",
            "k3x -- -V",
            "%O %A %B -V",
            "%O %A %B %P -V",
            "%O %A %B --version",
            "k3x --format=json",
            "k3x --color=always --format json --no-pager",
            "k3x --no-pager --no-pager",
            "k3x --as",
            "k3x -C",
            "k3x -Cdir",
        ]
        .iter()
        .map(|rest| format!("{name} {rest}").trim_end().to_owned())
        .collect();
        lines.push(format!("--format json {name} k3x"));
        lines
    }

    #[test]
    fn building_one_command_parses_as_building_all_of_them() {
        let cli = command();
        let mut fast = 0;
        for sub in cli.get_subcommands() {
            let name = sub.get_name();
            for line in lines(name) {
                let args = argv(&line);
                let Some(one) = parse_one(&args) else {
                    continue;
                };
                fast += 1;
                let all = parse_all(&args)
                    .unwrap_or_else(|e| panic!("{line}: one command parses, all of them not: {e}"));
                assert_eq!(format!("{one:?}"), format!("{all:?}"), "{line}");
            }
        }
        assert!(fast > 100, "only {fast} command lines built one command");
    }

    /// What parsing depends on in a command: its arguments' ids, flags,
    /// value counts and settings, and its own settings (help text aside),
    /// one argument a line.
    fn parsing_of(command: &clap::Command) -> Vec<String> {
        let mut lines: Vec<String> = command
            .get_arguments()
            .map(|a| {
                format!(
                    "{} {:?} {:?} {:?} global={} hyphen={} required={} last={} trailing={} \
                     {:?} {:?}",
                    a.get_id(),
                    a.get_short(),
                    a.get_long(),
                    a.get_num_args(),
                    a.is_global_set(),
                    a.is_allow_hyphen_values_set(),
                    a.is_required_set(),
                    a.is_last_set(),
                    a.is_trailing_var_arg_set(),
                    a.get_action(),
                    a.get_default_values(),
                )
            })
            .collect();
        lines.push(format!(
            "{} groups={:?} conflicts={} external={} required_else_help={}",
            command.get_name(),
            command
                .get_groups()
                .map(|g| g.get_id().to_string())
                .collect::<Vec<_>>(),
            command.is_args_conflicts_with_subcommands_set(),
            command.is_allow_external_subcommands_set(),
            command.is_arg_required_else_help_set(),
        ));
        for sub in command.get_subcommands() {
            lines.extend(parsing_of(sub));
        }
        lines
    }

    #[test]
    fn an_everyday_command_built_alone_is_the_one_of_the_whole_command_line() {
        let mut all = command();
        all.build();
        // The global options the whole command line passes down.
        let globals = ["chdir ", "as_agent ", "color ", "no_pager "];
        let own = |c: &clap::Command| -> Vec<String> {
            let lines = parsing_of(c).into_iter();
            lines
                .filter(|l| !globals.iter().any(|g| l.starts_with(g)))
                .collect()
        };
        let mut alone = Vec::new();
        for sub in all.get_subcommands() {
            let Some(one) = one_command(sub.get_name()) else {
                continue;
            };
            alone.push(sub.get_name().to_owned());
            // Built as the fast parse builds it: `-h`, and `-V` passed down.
            let mut top = clap::Command::new("tix")
                .version("0")
                .propagate_version(true)
                .subcommand(one);
            top.build();
            let one = top.find_subcommand(sub.get_name()).unwrap();
            assert_eq!(own(one), own(sub), "{}", sub.get_name());
            // Each is taken for its plain use.
            let plain = match sub.get_name() {
                "new" => "new Printer_on_fire".to_owned(),
                "merge-driver" => "merge-driver %O %A %B %P".to_owned(),
                "list" | "queue" | "next" => sub.get_name().to_owned(),
                "status" => "status k3x waiting".to_owned(),
                "rate" => "rate k3x 5".to_owned(),
                "link" => "link k3x --related ab1".to_owned(),
                "postpone" => "postpone k3x --until 2025-03-10".to_owned(),
                name => format!("{name} k3x"),
            };
            assert!(parse_one(&argv(&plain)).is_some(), "{plain}");
        }
        assert_eq!(alone.len(), 19, "{alone:?}");
    }

    #[test]
    fn help_version_and_mistakes_are_left_to_the_whole_command_line() {
        for line in [
            "note --help",
            "note -h",
            "list --version",
            "note k3x --no-such-option",
            "list --format toml",
            "merge-driver %O %A %B --version",
            "edit k3x -V",
            "help note",
            "--version",
            "-C /tmp note k3x -m Hi",
        ] {
            assert!(parse_one(&argv(line)).is_none(), "{line}");
        }
    }

    #[test]
    fn every_visible_command_is_in_one_group_and_names_its_formats_once() {
        let cli = command();
        let visible: Vec<&str> = (cli.get_subcommands())
            .filter(|c| !c.is_hide_set())
            .map(clap::Command::get_name)
            .collect();
        for name in &visible {
            let groups = GROUPS.iter().filter(|(_, names)| names.contains(name));
            assert_eq!(groups.count(), 1, "{name}");
            let lists = FORMATS.iter().filter(|(names, _)| names.contains(name));
            assert!(lists.count() <= 1, "{name}");
        }
        for (_, names) in GROUPS {
            for name in *names {
                assert!(
                    visible.contains(name),
                    "{name} is grouped but not a command"
                );
            }
        }
        for (names, _) in FORMATS {
            for name in *names {
                assert!(
                    visible.contains(name),
                    "{name} has formats but is not a command"
                );
            }
        }
    }
}
