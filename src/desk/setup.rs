//! The desk around the tickets: making one (`init`), syncing it with its
//! remote (`sync`), who is acting, and the merge driver git calls
//! (docs/merge-policy.md).

use std::path::{Path, PathBuf};

use super::{Desk, Error, load_config};
use crate::config::{self, Identity};
use crate::domain::lifecycle::Statuses;
use crate::domain::merge;
use crate::model::{Ticket, Timestamp};
use crate::store::{self, InitFile, Store, SyncReport, layout};

/// The person (or automation) making a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Agent {
    /// Display name.
    pub name: String,
    /// Mail address (may be empty).
    pub email: String,
}

impl Agent {
    /// Parses `Name <email>`, a bare address or a bare name.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Some((name, rest)) = text.split_once('<') {
            let email = rest.strip_suffix('>')?.trim();
            let name = name.trim();
            let name = if name.is_empty() {
                email.split('@').next().unwrap_or(email)
            } else {
                name
            };
            return Some(Self {
                name: name.to_owned(),
                email: email.to_owned(),
            });
        }
        if text.contains('@') {
            let name = text.split('@').next().unwrap_or(text);
            return Some(Self {
                name: name.to_owned(),
                email: text.to_owned(),
            });
        }
        Some(Self {
            name: text.to_owned(),
            email: String::new(),
        })
    }

    /// Returns the identity recorded in events: the address, else the name.
    pub fn id(&self) -> &str {
        if self.email.is_empty() {
            &self.name
        } else {
            &self.email
        }
    }

    /// The commit author of this agent's change at `time`.
    pub(crate) fn signature(&self, time: Timestamp) -> store::Signature {
        store::Signature {
            name: self.name.clone(),
            email: self.email.clone(),
            time,
        }
    }

    /// Tells whether `who` (an assignee) names this agent.
    pub fn is(&self, who: &str) -> bool {
        who == self.id() || who == self.name || (!self.email.is_empty() && who == self.email)
    }

    /// The agent an explicit text names (`--as`, `TIX_AGENT`), else git's
    /// identity (`user.name`, `user.email`) from `store`'s config, or the
    /// user's global config outside a desk.
    fn find(explicit: Option<&str>, store: Option<&Store>) -> Result<Self, Error> {
        if let Some(text) = explicit.filter(|t| !t.trim().is_empty()) {
            // git records an author as `Name <email>`: both parts are needed,
            // one line each, without angle brackets of their own.
            let bad = |part: &str| {
                part.is_empty() || part.contains(|c: char| c.is_control() || c == '<' || c == '>')
            };
            return Self::parse(text)
                .filter(|agent| !bad(&agent.name) && !bad(&agent.email))
                .ok_or_else(|| {
                    Error::Request(format!(
                        "'{text}' is not an agent: use 'Name <email>', e.g. 'Ana Lima <ana@example.com>'"
                    ))
                });
        }
        let from_git = match store {
            Some(store) => store.git_identity(),
            None => store::global_git_identity(),
        };
        from_git
            .map(|(name, email)| Self {
                name: if name.is_empty() { email.clone() } else { name },
                email,
            })
            .filter(|agent| !agent.name.is_empty() && !agent.email.is_empty())
            .ok_or_else(|| store::Error::NoIdentity.into())
    }
}

impl Desk {
    /// The acting agent: `explicit` (`--as`, `TIX_AGENT`), else git's
    /// identity in this desk.
    pub fn agent(&self, explicit: Option<&str>) -> Result<Agent, Error> {
        Agent::find(explicit, Some(&self.store))
    }
}

/// What `tix init` made.
#[derive(Debug)]
pub struct Initialised {
    /// The new desk.
    pub desk: Desk,
    /// The repository the new desk's directory lies inside, when there is
    /// one (the desk has a repository of its own, as `git init` makes).
    pub outer: Option<PathBuf>,
    /// Whether `index.skipHash` was set (docs/storage.md).
    pub skip_hash: bool,
    /// Whether the desk was made now (else it was one already).
    pub created: bool,
    /// Whether tix's merge driver was registered now (a new desk, or a
    /// fresh clone, which git gives no config).
    pub registered_driver: bool,
}

/// Makes a new desk in `dir`: a git repository (created if absent) with
/// `tix.toml`, `.gitattributes` and `tickets/` in one commit, and tix's
/// merge driver registered. With `many_files`, git's index checksum is
/// turned off too (`index.skipHash`, see docs/storage.md: faster changes on
/// a very large desk, but some git tools cannot read such an index). On a
/// desk that exists already it does the same registration (a clone lacks
/// it) and changes nothing else.
pub fn init(
    dir: &Path,
    explicit_agent: Option<&str>,
    now: Timestamp,
    many_files: bool,
) -> Result<Initialised, Error> {
    let agent = Agent::find(explicit_agent, None)?;
    let outer = Store::enclosing_repository(dir);
    let file = |path, content: &str, append| InitFile {
        path,
        content: content.to_owned(),
        append,
        keep: false,
    };
    let template_paths: Vec<(String, &str)> = crate::domain::mail::template::DEFAULTS
        .iter()
        .map(|(name, text)| (layout::template_path(name), *text))
        .collect();
    let mut files = vec![
        file(layout::CONFIG_FILE, config::DEFAULT_TEXT, false),
        file(layout::ATTRIBUTES_FILE, ATTRIBUTES, true),
        file(layout::KEEP_FILE, "", false),
    ];
    files.extend(template_paths.iter().map(|(path, text)| InitFile {
        keep: true,
        ..file(path.as_str(), text, false)
    }));
    let message = "tix: create the desk\n\nTix-Action: init\n";
    let (store, created, outer) = match Store::init(dir, &files, &agent.signature(now), message) {
        Err(store::Error::AlreadyADesk(root)) => (Store::discover(&root)?, false, None),
        store => (store?, true, outer),
    };
    let registered_driver = store.ensure_merge_driver()?;
    let skip_hash = many_files && store.prefer_unhashed_index()?;
    let config = load_config(&store)?;
    Ok(Initialised {
        desk: Desk::with(store, config)?,
        outer,
        skip_hash,
        created,
        registered_driver,
    })
}

const ATTRIBUTES: &str = "# Ticket files merge through tix's merge driver (docs/storage.md).\ntickets/**/*.toml merge=tix\n";

/// Pulls, merges and pushes the desk containing `start` through the
/// user's own git. Works while the committed `tix.toml` is broken, so a
/// clone can pull a teammate's fix. Without an agent (cron, systemd) a
/// merge is made as the desk's automation identity, read leniently.
pub fn sync(
    start: &Path,
    explicit_agent: Option<&str>,
    now: Timestamp,
) -> Result<SyncReport, Error> {
    let store = Store::discover(start)?;
    store.ensure_merge_driver()?;
    let agent = match Agent::find(explicit_agent, Some(&store)) {
        Ok(agent) => agent,
        Err(Error::Store(store::Error::NoIdentity)) => {
            let identity = load_config(&store)
                .map(|config| config.desk.automation)
                .unwrap_or_default();
            Agent {
                name: identity.name,
                email: identity.email,
            }
        }
        Err(err) => return Err(err),
    };
    Ok(store.sync(&agent.signature(now))?)
}

/// The three versions of a ticket file git hands its merge driver.
#[derive(Clone, Debug)]
pub struct MergeFiles<'a> {
    /// The common ancestor's version (`%O`).
    pub base: &'a Path,
    /// Our version (`%A`); receives the result.
    pub ours: &'a Path,
    /// Their version (`%B`).
    pub theirs: &'a Path,
}

/// Which version of a merge a problem is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The common ancestor (index stage 1).
    Base,
    /// Ours (stage 2).
    Ours,
    /// Theirs (stage 3).
    Theirs,
}

impl Side {
    /// Names the side for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Base => "the base version",
            Self::Ours => "our version",
            Self::Theirs => "their version",
        }
    }

    /// The side's stage in git's index during a conflicted merge
    /// (`git show :<stage>:<path>`).
    pub fn stage(self) -> u8 {
        match self {
            Self::Base => 1,
            Self::Ours => 2,
            Self::Theirs => 3,
        }
    }
}

/// Why the merge driver could not merge a file.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A version could not be read.
    #[error("reading {}: {source}", .side.name())]
    Read {
        /// Which one.
        side: Side,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A version is not a ticket file.
    #[error("{} does not parse ({message}{})", .side.name(), .line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Parse {
        /// Which one.
        side: Side,
        /// What is wrong.
        message: String,
        /// Where.
        line: Option<usize>,
    },
    /// The two sides cannot be merged.
    #[error("{0}")]
    Merge(String),
    /// The result could not be written.
    #[error("writing the result: {0}")]
    Write(#[source] std::io::Error),
}

/// Merges one ticket file three ways and writes the result over ours. The
/// statuses and the identity of merge-made events come from the desk at
/// `start` (git runs drivers at the top of the work tree); a broken
/// config falls back to the defaults rather than failing the merge.
pub fn merge_files(files: &MergeFiles<'_>, start: Option<&Path>) -> Result<(), MergeError> {
    let read = |side: Side, path: &Path| {
        std::fs::read_to_string(path).map_err(|source| MergeError::Read { side, source })
    };
    let parse = |side: Side, text: &str| {
        Ticket::parse(text).map_err(|e| MergeError::Parse {
            side,
            message: e.message,
            line: e.line,
        })
    };
    let base = read(Side::Base, files.base)?;
    let ours = read(Side::Ours, files.ours)?;
    let theirs = read(Side::Theirs, files.theirs)?;
    let base = if base.trim().is_empty() {
        None
    } else {
        Some(parse(Side::Base, &base)?)
    };
    let ours = parse(Side::Ours, &ours)?;
    let theirs = parse(Side::Theirs, &theirs)?;
    let config = start
        .and_then(|dir| Store::discover(dir).ok())
        .and_then(|store| load_config(&store).ok());
    let (statuses, identity) = config.map_or_else(
        || (Statuses::builtin(), Identity::default()),
        |config| (config.statuses, config.desk.automation),
    );
    let merged = merge::merge(base.as_ref(), &ours, &theirs, &statuses, &identity.email)
        .map_err(|e| MergeError::Merge(e.to_string()))?;
    std::fs::write(files.ours, merged.to_toml(&statuses)).map_err(MergeError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_parse_from_the_usual_forms() {
        assert_eq!(
            Agent::parse("Ana Lima <ana@desk>"),
            Some(Agent {
                name: "Ana Lima".into(),
                email: "ana@desk".into()
            })
        );
        assert_eq!(Agent::parse("ana@desk").map(|a| a.name), Some("ana".into()));
        assert_eq!(
            Agent::parse("ana").map(|a| a.id().to_owned()),
            Some("ana".into())
        );
        assert_eq!(Agent::parse("  "), None);
    }
}
