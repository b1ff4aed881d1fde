//! Terminal output: stdout for data, stderr for status; colour only on
//! terminals; tables, JSON and CSV.

use std::io::{self, IsTerminal, Write};

use comfy_table::{ContentArrangement, Table, presets};

/// `--color`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Decides whether to colour stdout.
    pub fn enabled(self) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && io::stdout().is_terminal()
            }
        }
    }
}

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable table or text.
    Table,
    /// JSON for scripts (docs/json-schema.md).
    Json,
    /// CSV for spreadsheets (listings only).
    Csv,
    /// The ticket file itself (show only).
    Toml,
}

/// Output handles and style.
pub struct Ui {
    out: io::StdoutLock<'static>,
    color: bool,
}

impl Ui {
    /// Opens stdout with the chosen colour mode.
    pub fn new(color: ColorChoice) -> Self {
        Self {
            out: io::stdout().lock(),
            color: color.enabled(),
        }
    }

    /// Returns the writer for data.
    pub fn out(&mut self) -> &mut impl Write {
        &mut self.out
    }

    /// Writes one status line to stderr (progress, confirmations, warnings).
    pub fn status(&self, line: &str) {
        let _ = writeln!(io::stderr(), "{line}");
    }

    /// Wraps text in an ANSI style when colour is on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        if !self.color || text.is_empty() {
            return text.to_owned();
        }
        let code = match style {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Red => "31",
            Style::Green => "32",
            Style::Yellow => "33",
            Style::Blue => "34",
            Style::Magenta => "35",
            Style::Cyan => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Writes a value as pretty JSON with a final newline.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut self.out, value).map_err(io::Error::from)?;
        writeln!(self.out)
    }

    /// Builds an empty table in the house style.
    pub fn table(&self, header: &[&str]) -> Table {
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        if io::stdout().is_terminal() {
            table.set_content_arrangement(ContentArrangement::Dynamic);
        } else {
            table.force_no_tty();
        }
        let header: Vec<String> = header.iter().map(|h| self.paint(Style::Bold, h)).collect();
        table.set_header(header);
        table
    }

    /// Prints a table, trimming the padding comfy-table leaves at line ends.
    pub fn print_table(&mut self, table: &Table) -> io::Result<()> {
        for line in table.lines() {
            // The borderless style pads every cell by one space on each side.
            let line = line.strip_prefix(' ').unwrap_or(&line);
            writeln!(self.out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Text styles.
#[derive(Clone, Copy, Debug)]
pub enum Style {
    /// Bold.
    Bold,
    /// Faint.
    Dim,
    /// Red.
    Red,
    /// Green.
    Green,
    /// Yellow.
    Yellow,
    /// Blue.
    Blue,
    /// Magenta.
    Magenta,
    /// Cyan.
    Cyan,
}

/// Quotes one CSV field (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
