use std::io::Write;

use clap::Args;
use serde::Serialize;

use crate::cli::ui::Format;
use crate::cli::{CommandError, Ctx};
use crate::desk::doctor::doctor;

/// Check the desk: tix.toml and every ticket file.
///
/// Parses each file, checks ids are unique and match their paths, and that
/// every status is known. Names each broken file with its path and line.
/// An uncommitted tix.toml is checked too, as it would break the desk once
/// committed. Exits 1 when anything is wrong. It also finishes a change that a killed
/// tix process left half-written in the working tree.
#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {}

#[derive(Serialize)]
struct Report<'a> {
    tickets: usize,
    problems: Vec<ProblemView<'a>>,
    repaired: &'a [String],
}

#[derive(Serialize)]
struct ProblemView<'a> {
    path: &'a str,
    line: Option<usize>,
    message: &'a str,
}

pub(crate) fn run(ctx: &mut Ctx, _args: &DoctorArgs) -> Result<(), CommandError> {
    let format = ctx.format(&[Format::Table, Format::Json])?;
    let report = doctor(&ctx.start_dir()?)?;
    for note in &report.notes {
        ctx.ui.status(note);
    }
    for path in &report.repaired {
        ctx.ui.status(&format!(
            "repaired {path}: finished a change an interrupted tix left in the working tree"
        ));
    }
    let problems = &report.problems;
    if format == Format::Json {
        let problems = problems
            .iter()
            .map(|p| ProblemView {
                path: &p.path,
                line: p.line,
                message: &p.message,
            })
            .collect();
        ctx.ui.json(&Report {
            tickets: report.tickets,
            problems,
            repaired: &report.repaired,
        })?;
    } else {
        let out = ctx.ui.out();
        for problem in problems {
            writeln!(out, "{}", crate::cli::render::cell(&problem.to_string()))?;
        }
        if problems.is_empty() {
            writeln!(
                out,
                "ok: {} ticket files and tix.toml checked, no problems",
                report.tickets
            )?;
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CommandError::user(match problems.len() {
            1 => "found 1 problem, listed above with what to do about it".to_owned(),
            n => format!("found {n} problems, listed above with what to do about each"),
        }))
    }
}
