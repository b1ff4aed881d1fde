//! Command-line pieces several commands share: value parsers and flag
//! groups.

use clap::Args;

use crate::desk::queue::QueueRequest;

/// Parses `KEY=VALUE` (`--field`).
pub(crate) fn parse_field(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not KEY=VALUE"))?;
    let key = key.trim();
    if !crate::config::is_valid_name(key) {
        return Err(format!(
            "'{key}' is not a field name: use {}",
            crate::config::NAME_RULE
        ));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// Whose queue.
#[derive(Debug, Args)]
pub(crate) struct Scope {
    /// The queue of this agent instead of yours.
    #[arg(long, value_name = "AGENT")]
    agent: Option<String>,
    /// Only tickets of this department.
    #[arg(long, value_name = "D")]
    department: Option<String>,
}

impl Scope {
    /// The agent given with `--agent`.
    pub(crate) fn agent(&self) -> Option<&str> {
        self.agent.as_deref()
    }

    /// The queue request these flags make.
    pub(crate) fn request(&self) -> QueueRequest {
        QueueRequest {
            agent: self.agent.clone(),
            department: self.department.clone(),
            limit: None,
            view: None,
        }
    }
}
