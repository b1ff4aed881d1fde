//! The one error type at the edge: a message, hints and an exit code.

use std::process::ExitCode;

use crate::desk::{self, ErrorKind};

/// How a command failed, which decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Refused: bad input, not found, a move the lifecycle forbids (exit 1).
    User,
    /// Wrong usage of the command line (exit 2).
    Usage,
    /// Other writers kept the desk busy (exit 3).
    Contended,
    /// A check found what it watches for, e.g. an SLA breach (exit 4).
    Alert,
    /// The command did what it could but met problems on the way, e.g. an
    /// automation run with tickets it could not change (exit 4).
    Problems,
    /// A bug or an environment failure (exit 255).
    Internal,
    /// Stdout was closed (a pager quit): exit quietly.
    BrokenPipe,
}

/// A failed command.
#[derive(Debug)]
pub struct CommandError {
    /// Decides the exit code.
    pub kind: Kind,
    /// One line saying what is wrong.
    pub message: String,
    /// Lines saying what to do.
    pub hints: Vec<String>,
}

impl CommandError {
    /// A refused operation.
    pub fn user(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::User,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Usage,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// A check that ran fine and found what it watches for.
    pub fn alert(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Alert,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// A command that finished with problems: what it could do is done.
    pub fn problems(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Problems,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    /// Adds a hint line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Returns the process exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self.kind {
            Kind::User => 1,
            Kind::Usage => 2,
            Kind::Contended => 3,
            Kind::Alert => 4,
            Kind::Problems => 4,
            Kind::Internal => 255,
            Kind::BrokenPipe => 0,
        })
    }
}

impl From<std::io::Error> for CommandError {
    /// A closed stdout (a pager quit) exits quietly; any other failure to
    /// read or write (a full disk, a closed terminal) is refused in one
    /// line, exit 1.
    fn from(err: std::io::Error) -> Self {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            return Self {
                kind: Kind::BrokenPipe,
                message: String::new(),
                hints: Vec::new(),
            };
        }
        Self::user(format!("cannot read or write: {err}"))
    }
}

impl From<desk::Error> for CommandError {
    fn from(err: desk::Error) -> Self {
        let hint = match &err {
            desk::Error::Config(_) => {
                Some("fix tix.toml and commit it; `tix doctor` lists every problem")
            }
            desk::Error::Parse { .. } => {
                Some("fix the file by hand and commit it; `tix doctor` checks the desk")
            }
            _ => None,
        };
        let kind = match err.kind() {
            ErrorKind::Refused => Kind::User,
            ErrorKind::Request => Kind::Usage,
            ErrorKind::Busy => Kind::Contended,
            ErrorKind::Internal => Kind::Internal,
        };
        let error = Self {
            kind,
            message: err.to_string(),
            hints: Vec::new(),
        };
        match hint {
            Some(hint) => error.hint(hint),
            None => error,
        }
    }
}
