//! Paging long output on a terminal, as git pages `git log`.
//!
//! A reading command whose stdout is a terminal holds its output in an
//! unnamed temporary file (`ui::Sink::Held`) and, once it has succeeded,
//! hands it to the pager: tix's process becomes the pager (`exec`),
//! reading that file. A listing of 10,000 tickets then shows its first
//! screen as soon as it is made, instead of pushing 1.2 MB through the
//! terminal first, and the pager owns the terminal alone: no process of
//! tix is left to be interrupted by Ctrl-C while the pager runs.
//! docs/guide.md ("Paging").
//!
//! The pager is `TIX_PAGER`, else `PAGER`, else `less`; empty or `cat`
//! turns paging off, as does `--no-pager`. `LESS` defaults to `FRX` (quit
//! when the output fits one screen, pass colours, leave the screen as it
//! is) and `LV` to `-c`, as git sets them. Neither comes from `tix.toml`:
//! a pulled desk never chooses a program to run.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

/// The pager of this run.
#[derive(Debug)]
pub(super) struct Pager {
    command: OsString,
}

/// Characters that make a pager command a shell command, as git decides
/// whether to run it through `sh -c`.
const SHELL_CHARS: &[u8] = b"|&;<>()$`\\\"' \t\n*?[#~=%";

/// What the shell runs after a pager command line: the output on the
/// terminal when the command could not be found or run.
const FALL_BACK: &str =
    "\nstatus=$?\nif [ $status -eq 126 ] || [ $status -eq 127 ]; then exec cat; fi\nexit $status";

impl std::fmt::Display for Pager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "'{}'", self.command.to_string_lossy())
    }
}

impl Pager {
    /// The pager the environment names, or `None` when paging is off: not
    /// wanted (`off`), or `TIX_PAGER` / `PAGER` is empty or `cat`.
    pub(super) fn from_env(off: bool) -> Option<Self> {
        // A terminal that names no kind, or a dumb one (an editor's shell
        // buffer), cannot run a full-screen pager.
        let term = std::env::var_os("TERM");
        if off || term.as_ref().is_none_or(|t| t.is_empty() || t == "dumb") {
            return None;
        }
        Self::named(std::env::var_os("TIX_PAGER").or_else(|| std::env::var_os("PAGER")))
    }

    /// The pager `command` names (`None`: the default, `less`).
    fn named(command: Option<OsString>) -> Option<Self> {
        let command = command.unwrap_or_else(|| "less".into());
        let trimmed = command.to_str().map(str::trim);
        if command.is_empty() || matches!(trimmed, Some("" | "cat")) {
            return None;
        }
        Some(Self { command })
    }

    /// The process that runs the pager.
    fn process(&self) -> Command {
        let bytes = self.command.as_encoded_bytes();
        let mut command = if bytes.iter().any(|b| SHELL_CHARS.contains(b)) {
            // A command the shell cannot find or run (126, 127) has read
            // nothing: `cat` then shows the output instead.
            let mut script = self.command.clone();
            script.push(FALL_BACK);
            let mut shell = Command::new("sh");
            shell.arg("-c").arg(script).arg(&self.command);
            shell
        } else {
            Command::new(&self.command)
        };
        for (key, value) in [("LESS", "FRX"), ("LV", "-c")] {
            if std::env::var_os(key).is_none() {
                command.env(key, value);
            }
        }
        command
    }

    /// Replaces this process with the pager, reading `held` (a file read
    /// from its start). Returns only when the pager cannot be started,
    /// with the reason; the output is then still the caller's to print.
    pub(super) fn exec(&self, held: std::fs::File) -> io::Error {
        self.process().stdin(Stdio::from(held)).exec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pager: &Pager) -> Vec<String> {
        let process = pager.process();
        std::iter::once(process.get_program())
            .chain(process.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_default_pager_is_less() {
        let pager = Pager::named(None).unwrap();
        assert_eq!(args(&pager), ["less"]);
    }

    #[test]
    fn empty_or_cat_turns_paging_off() {
        for off in ["", "  ", "cat", " cat "] {
            assert!(Pager::named(Some(off.into())).is_none(), "{off:?}");
        }
    }

    #[test]
    fn a_plain_program_runs_directly_and_a_command_line_through_the_shell() {
        let plain = Pager::named(Some("most".into())).unwrap();
        assert_eq!(args(&plain), ["most"]);
        let line = Pager::named(Some("less -S".into())).unwrap();
        let script = format!("less -S{FALL_BACK}");
        assert_eq!(args(&line), ["sh", "-c", &script, "less -S"]);
        let piped = Pager::named(Some("cat>x".into())).unwrap();
        assert_eq!(args(&piped)[..2], ["sh", "-c"]);
    }

    /// An unnamed temporary file holding `text`, read from its start.
    fn held_file(text: &[u8]) -> std::fs::File {
        use std::io::{Seek as _, Write as _};
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(text).unwrap();
        file.rewind().unwrap();
        file
    }

    /// What the pager process prints, given `text`.
    fn paged(command: &str, text: &[u8]) -> (Option<i32>, String) {
        let pager = Pager::named(Some(command.into())).unwrap();
        let out = pager
            .process()
            .stdin(Stdio::from(held_file(text)))
            .stderr(Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    #[test]
    fn a_command_line_the_shell_cannot_run_shows_the_text_and_others_keep_their_code() {
        let text = b"row 1\nrow 2\n";
        assert_eq!(
            paged("no-such-pager-tix -S", text),
            (Some(0), "row 1\nrow 2\n".into())
        );
        assert_eq!(paged("head -n 1 ", text), (Some(0), "row 1\n".into()));
        assert_eq!(
            paged("cat >/dev/null; exit 3", text),
            (Some(3), String::new())
        );
    }
}
