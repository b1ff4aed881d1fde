//! The desk: every use case of tix, each in one place.
//!
//! A [`Desk`] is a store with its checked configuration. The command line,
//! a cron job and a test all call the same functions here, with plain
//! request types (a [`query::ListQuery`], never clap's arguments), and get
//! plain results back: nothing here prints or reads the environment.
//!
//! - [`read`]: the one way to read tickets (one, many streamed, summaries);
//! - [`change`]: create a ticket, apply a change, each in one commit, with
//!   the hooks the recorded events raise ([`hooks`]);
//! - [`link`]: links between tickets, and merging one into another;
//! - [`query`]: the list filters and sort orders;
//! - [`queue`]: the To Solve queue and `next --take`;
//! - [`sla_check`]: SLA states, and recording breaches for cron;
//! - [`automate`]: the automation rules (`automate`, `autoclose`);
//! - [`doctor`]: every check of a desk;
//! - [`export`]: every ticket whole, in id order, for other tools;
//! - [`setup`]: `init`, `sync`, the acting agent and the merge driver.
//!
//! The desk calls the pure rules of [`crate::domain`], the configuration of
//! [`crate::config`] and the git store of [`crate::store`]
//! (docs/architecture.md).

pub mod automate;
pub mod change;
mod commit;
pub mod doctor;
pub mod export;
pub mod hooks;
pub mod import;
pub mod ingest;
pub mod link;
pub mod outbox;
pub mod query;
pub mod queue;
pub mod read;
pub mod report;
pub mod setup;
pub mod sla_check;
pub mod triggers;

use std::path::Path;

use crate::config::{Config, ConfigError};
use crate::domain::change::ChangeError;
use crate::domain::hooks::Commands;
use crate::model::{ParseError, TicketId, Timestamp};
use crate::store::{self, Signature, Store, UpdateError, layout};

pub use read::{ParseOn, Problem, Version};
pub use setup::Agent;

/// What can go wrong at the desk level.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// `tix.toml` is broken.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The change is refused.
    #[error(transparent)]
    Change(#[from] ChangeError),
    /// A ticket file does not parse.
    #[error("{path}{}: {error}", error.line.map(|l| format!(":{l}")).unwrap_or_default())]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        error: ParseError,
    },
    /// An export cannot be imported (unreadable, broken).
    #[error("{0}")]
    Import(String),
    /// The request itself is wrong (an unknown status in a filter, a bad
    /// date): the command line reports it as a usage error.
    #[error("{0}")]
    Request(String),
}

/// How an error should be taken by whoever reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Refused: bad input, not found, a move the lifecycle forbids.
    Refused,
    /// The request was malformed.
    Request,
    /// Other writers kept the desk busy; trying again may work.
    Busy,
    /// git, the file system or a bug.
    Internal,
}

impl Error {
    /// Tells how this error should be reported.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Store(
                store::Error::Busy
                | store::Error::Contended(_)
                | store::Error::AutomationBusy
                | store::Error::GitLocked(_),
            ) => ErrorKind::Busy,
            Self::Store(
                store::Error::Git(_) | store::Error::GitCommand { .. } | store::Error::Io { .. },
            ) => ErrorKind::Internal,
            Self::Request(_) => ErrorKind::Request,
            _ => ErrorKind::Refused,
        }
    }

    /// Tells whether a customer's reply was refused because the ticket is
    /// closed (the reply then belongs in a reopen or a follow-up).
    pub fn is_closed_ticket(&self) -> bool {
        matches!(self, Self::Change(ChangeError::Transition(t))
            if t.category == crate::domain::lifecycle::Category::Closed)
    }
}

impl From<UpdateError<Self>> for Error {
    fn from(err: UpdateError<Self>) -> Self {
        match err {
            UpdateError::Store(e) => Self::Store(e),
            UpdateError::Edit(e) => e,
        }
    }
}

/// An opened desk with a valid configuration.
#[derive(Debug)]
pub struct Desk {
    store: Store,
    config: Config,
    /// Whether this clone allowed the commands of the committed `tix.toml`
    /// (docs/configuration.md, "Commands need consent").
    commands_allowed: bool,
    /// The commands a run of this process skipped and said so: each is
    /// reported once.
    skipped: std::cell::RefCell<std::collections::BTreeSet<String>>,
    /// The SMTP password, from the variable `[mail] smtp.password_env`
    /// names (the caller reads the environment).
    smtp_password: Option<String>,
    /// During a batch of received mail: every stored Message-ID and its
    /// ticket, read once and kept up to date (see `ingest`).
    known_mail: std::cell::RefCell<Option<std::collections::HashMap<String, TicketId>>>,
}

impl Desk {
    /// Opens the desk containing `start`, refusing a broken `tix.toml`:
    /// finishes a change a killed tix left half-refreshed, and registers
    /// tix's merge driver in a clone that lacks it (git does not copy a
    /// repository's config when it clones).
    pub fn open(start: &Path) -> Result<Self, Error> {
        let store = Store::discover(start)?;
        store.heal()?;
        store.ensure_merge_driver()?;
        let config = load_config(&store)?;
        Self::with(store, config)
    }

    /// Opens the desk containing `start` as it was at a past moment
    /// (`--at`): a revision git understands, a time (RFC 3339 or a date), or
    /// a duration ago (`30d`): the tickets and `tix.toml` of that commit.
    /// Nothing can be written through it.
    /// Returns the desk and the moment it shows: the time asked for, or
    /// the commit's time for a revision.
    pub fn open_at(start: &Path, at: &str, now: Timestamp) -> Result<(Self, Timestamp), Error> {
        let mut store = Store::discover(start)?;
        store.heal()?;
        let at = parse_at(at, now);
        store.pin(at.clone())?;
        let moment = match at {
            store::At::Time(time) => time,
            store::At::Rev(_) => store.pinned_time().unwrap_or(now),
        };
        let config = load_config(&store)?;
        Ok((Self::with(store, config)?, moment))
    }

    /// The commit a desk opened with [`Self::open_at`] reads.
    pub fn pinned(&self) -> Option<String> {
        self.store.pinned().map(|oid| oid.to_string())
    }

    /// A desk of an opened store and its checked config.
    fn with(store: Store, config: Config) -> Result<Self, Error> {
        let commands_allowed = commands_allowed(&store, &config)?;
        Ok(Self {
            store,
            config,
            commands_allowed,
            skipped: Default::default(),
            smtp_password: None,
            known_mail: Default::default(),
        })
    }

    /// Gives the SMTP password (read from the variable the configuration
    /// names).
    pub fn set_smtp_password(&mut self, password: Option<String>) {
        self.smtp_password = password;
    }

    /// Returns the store (for the use cases of this module and tests).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Returns the configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Returns the desk's top directory.
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// Resolves an id prefix (with or without `#`) to an id.
    pub fn resolve(&self, prefix: &str) -> Result<TicketId, Error> {
        Ok(self.store.resolve(prefix)?)
    }

    /// Lists the commits that changed a ticket, newest first, and where a
    /// shallow clone's history is cut off.
    pub fn log(&self, id: &TicketId) -> Result<store::History, Error> {
        Ok(self.store.log(id)?)
    }

    /// The automation identity as an agent (cron's `tix outbox --send`).
    pub fn automation_agent(&self) -> Agent {
        let identity = &self.config.desk.automation;
        Agent {
            name: identity.name.clone(),
            email: identity.email.clone(),
        }
    }

    /// The automation identity as a commit author at `now`.
    fn automation_signature(&self, now: Timestamp) -> Signature {
        let identity = &self.config.desk.automation;
        Signature {
            name: identity.name.clone(),
            email: identity.email.clone(),
            time: now,
        }
    }
}

/// Reads `--at`: a time (RFC 3339, a date), a duration ago (`30d`), else a
/// revision for git.
fn parse_at(text: &str, now: Timestamp) -> store::At {
    match past_or_time(text, now) {
        Ok(at) => store::At::Time(at),
        Err(_) => store::At::Rev(text.trim().to_owned()),
    }
}

/// A moment given on the command line for the past (`--at`, a report's
/// period): a time, a date, or a duration ago (`30d`: thirty days before
/// `now`).
pub(crate) fn past_or_time(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    Timestamp::parse_past(text, now).map_err(|e| e.to_string())
}

/// Reads and parses the committed `tix.toml` (built-in defaults if absent);
/// the files it names (a calendar's `holidays_file`) come from the same
/// committed tree.
fn load_config(store: &Store) -> Result<Config, Error> {
    match store.read_file(layout::CONFIG_FILE)? {
        Some(text) => Ok(Config::parse_in(&text, &committed_files(store))?),
        None => Ok(Config::default()),
    }
}

/// Tells whether the clone of `store` allowed the commands of `config`.
fn commands_allowed(store: &Store, config: &Config) -> Result<bool, Error> {
    let commands = commands_of(config);
    if commands.is_empty() {
        return Ok(true);
    }
    let recorded = store.local_git_config(hooks::ALLOWANCE_KEY)?;
    Ok(commands.allowed_by(recorded.as_deref()))
}

/// Every command `tix.toml` can make tix run: the hooks' and the mail
/// transport's.
pub(crate) fn commands_of(config: &Config) -> Commands {
    let transport = match &config.mail.transport {
        crate::domain::mail::Transport::Sendmail(command) => Some(command.clone()),
        _ => None,
    };
    Commands::of(&config.hooks).with(transport)
}

/// Reads files named by `tix.toml` from the committed tree.
fn committed_files(store: &Store) -> impl Fn(&str) -> Result<Option<String>, String> + '_ {
    |path| store.read_file(path).map_err(|e| e.to_string())
}
