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
    /// CSV for spreadsheets (listings, reports, export).
    Csv,
    /// One JSON object per line (export only).
    Jsonl,
    /// The ticket file itself (show only).
    Toml,
    /// A self-contained web page (report only).
    Html,
}

/// Output handles and style.
pub struct Ui {
    out: Sink,
    color: bool,
    /// Status lines held for the pager: they go before the output there,
    /// rather than scroll away above it.
    held_status: std::cell::RefCell<String>,
}

/// Where data goes: stdout, or held for the pager (`cli::pager`).
pub enum Sink {
    /// Straight to stdout.
    Stdout(io::StdoutLock<'static>),
    /// Held in an unnamed temporary file until the command has succeeded,
    /// then paged: a long listing held in memory would be held twice.
    Held(io::BufWriter<std::fs::File>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Stdout(out) => out.write(buf),
            Self::Held(held) => held.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::Stdout(out) => out.write_all(buf),
            Self::Held(held) => held.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Stdout(out) => out.flush(),
            // Written out when the command is done (`Ui::take_held`).
            Self::Held(_) => Ok(()),
        }
    }
}

impl Ui {
    /// Opens stdout with the chosen colour mode. With `hold`, data is held
    /// for the pager ([`Ui::take_held`]), unless no temporary file can be
    /// made: then it goes to stdout.
    pub fn new(color: ColorChoice, hold: bool) -> Self {
        let held = hold.then(tempfile::tempfile).and_then(Result::ok);
        Self {
            out: match held {
                Some(file) => Sink::Held(io::BufWriter::with_capacity(1 << 16, file)),
                None => Sink::Stdout(io::stdout().lock()),
            },
            color: color.enabled(),
            held_status: std::cell::RefCell::default(),
        }
    }

    /// The file of the data held for the pager, if any, read from its
    /// start, with the status lines held with it first; what follows goes
    /// to stdout.
    pub fn take_held(&mut self) -> Option<io::Result<std::fs::File>> {
        match std::mem::replace(&mut self.out, Sink::Stdout(io::stdout().lock())) {
            Sink::Held(held) => Some(self.held_file(held)),
            Sink::Stdout(_) => None,
        }
    }

    fn held_file(&self, held: io::BufWriter<std::fs::File>) -> io::Result<std::fs::File> {
        use std::io::Seek as _;
        let mut data = held.into_inner().map_err(io::IntoInnerError::into_error)?;
        data.rewind()?;
        let status = self.held_status.take();
        if status.is_empty() {
            return Ok(data);
        }
        // The status lines go first: a new file, the data copied after
        // them by the kernel.
        let mut all = tempfile::tempfile()?;
        all.write_all(status.as_bytes())?;
        io::copy(&mut data, &mut all)?;
        all.rewind()?;
        Ok(all)
    }

    /// Returns the writer for data.
    pub fn out(&mut self) -> &mut impl Write {
        &mut self.out
    }

    /// Returns a buffered writer for data, for output of many lines (stdout
    /// is line-buffered: a listing of 20,000 rows would be 20,000 writes).
    /// Flush it when done, so a write error is reported.
    pub fn buffered(&mut self) -> io::BufWriter<&mut Sink> {
        io::BufWriter::with_capacity(1 << 16, &mut self.out)
    }

    /// Writes one status line to stderr (progress, confirmations, warnings);
    /// while output is held for the pager and stderr is the terminal too,
    /// into the pager, before the output. Text from tickets and from
    /// `tix.toml` inside it is defused (`defuse::text`): a status line never
    /// carries an escape code.
    pub fn status(&self, line: &str) {
        let line = super::defuse::text(line);
        if matches!(self.out, Sink::Held(_)) && io::stderr().is_terminal() {
            let mut held = self.held_status.borrow_mut();
            held.push_str(&line);
            held.push('\n');
        } else {
            let _ = writeln!(io::stderr(), "{line}");
        }
    }

    /// Returns the width to wrap text to: the terminal's, else 80 columns.
    pub fn columns(&self) -> usize {
        io::stdout()
            .is_terminal()
            .then(|| Table::new().width())
            .flatten()
            .map(usize::from)
            .filter(|w| *w > 0)
            .unwrap_or(80)
    }

    /// Wraps text in an ANSI style when colour is on.
    pub fn paint(&self, style: Style, text: &str) -> String {
        self.painter().paint(style, text)
    }

    /// What [`Ui::paint`] does, without holding on to the `Ui`.
    pub fn painter(&self) -> Painter {
        Painter { color: self.color }
    }

    /// Writes a value as pretty JSON with a final newline.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        let mut out = self.buffered();
        serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
        writeln!(out)?;
        out.flush()
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

    /// Prints rows under a header in plain columns (see [`write_rows`]).
    /// On a terminal, with `cut_last` (a free-text last column, such as a
    /// subject), that column is cut to fit the window, so a row is always
    /// one line. Row `i` of `count` is `row(i)`, made when it is needed:
    /// once to measure the columns and once to write it, so a listing of
    /// 100,000 rows never holds all its cells. `row(i, cells)` adds the
    /// cells of row `i` to `cells`.
    pub fn print_rows(
        &mut self,
        header: &[&str],
        count: usize,
        cut_last: bool,
        row: &dyn Fn(usize, &mut Cells),
    ) -> io::Result<()> {
        let fit = io::stdout()
            .is_terminal()
            .then(|| Table::new().width())
            .flatten()
            .map(usize::from)
            .filter(|w| *w > 0 && cut_last);
        let header: Vec<String> = header.iter().map(|h| self.paint(Style::Bold, h)).collect();
        let mut out = self.buffered();
        write_rows(&mut out, &header, count, row, fit)?;
        out.flush()
    }

    /// Writes `rows` under `header` as CSV (RFC 4180), every field defused
    /// against spreadsheet formulas ([`csv_text`]).
    pub fn print_csv(
        &mut self,
        header: &[&str],
        rows: &mut dyn Iterator<Item = Vec<String>>,
    ) -> io::Result<()> {
        let mut out = self.buffered();
        writeln!(out, "{}", header.join(","))?;
        for row in rows {
            let fields: Vec<String> = row.iter().map(|f| csv_text(f)).collect();
            writeln!(out, "{}", fields.join(","))?;
        }
        out.flush()
    }

    /// Prints a table, trimming the padding comfy-table leaves at line ends.
    pub fn print_table(&mut self, table: &Table) -> io::Result<()> {
        let mut out = self.buffered();
        for line in table.lines() {
            // The borderless style pads every cell by one space on each side.
            let line = line.strip_prefix(' ').unwrap_or(&line);
            writeln!(out, "{}", line.trim_end())?;
        }
        out.flush()
    }
}

/// Up to this many rows are kept from measuring to printing (about 4 MB
/// at 30,000); more are made again, so a listing of 100,000 stays small.
const KEPT: usize = 30_000;

/// Writes `header` and `rows` as the house table looks when stdout is not
/// a terminal (no wrapping: each column as wide as its widest cell, two
/// spaces between columns, no trailing blanks), one row at a time. With a
/// `fit` width, the last column is cut (ending in `…`) so that lines fit,
/// when the other columns leave it room for a few characters. Colour
/// codes take no room.
///
/// comfy-table spends time on every cell and holds every cell until it
/// prints, which made large listings slow and big on a terminal, and a
/// terminal that reports no width wrapped each cell to one character a
/// line (docs/benchmarks.md, "Why the code is shaped so").
fn write_rows(
    out: &mut impl Write,
    header: &[String],
    count: usize,
    row: &dyn Fn(usize, &mut Cells),
    fit: Option<usize>,
) -> io::Result<()> {
    /// The narrowest the last column is cut to.
    const NARROWEST: usize = 8;
    let mut widths: Vec<usize> = header.iter().map(|h| display_width(h)).collect();
    let keep = count <= KEPT;
    // Rows of a listing run to about a hundred bytes.
    let mut cells = Cells::with_capacity(if keep { count * 100 } else { 256 });
    // Where each kept row's cells start in `cells`.
    let mut rows = Vec::with_capacity(if keep { count } else { 0 });
    for i in 0..count {
        if !keep {
            cells.clear();
        }
        let first = cells.len();
        rows.push(first);
        row(i, &mut cells);
        cells.measure(first, &mut widths);
    }
    let mut cut = usize::MAX;
    if let (Some(fit), Some((last, others))) = (fit, widths.split_last_mut()) {
        let others: usize = others.iter().map(|w| w + 2).sum();
        if others + *last > fit {
            cut = fit.saturating_sub(others).max(NARROWEST);
            *last = (*last).min(cut);
        }
    }
    let mut line = String::new();
    let mut head = Cells::with_capacity(64);
    for cell in header {
        head.push(cell);
    }
    head.measure(0, &mut Vec::new());
    write_line(out, &mut line, head.row(0, head.len()), &widths, cut)?;
    if keep {
        for (r, first) in rows.iter().enumerate() {
            let end = rows.get(r + 1).copied().unwrap_or(cells.len());
            write_line(out, &mut line, cells.row(*first, end), &widths, cut)?;
        }
    } else {
        for i in 0..count {
            cells.clear();
            row(i, &mut cells);
            cells.measure(0, &mut Vec::new());
            write_line(out, &mut line, cells.row(0, cells.len()), &widths, cut)?;
        }
    }
    Ok(())
}

/// The cells of table rows, written one after another into one text (so
/// 10,000 rows of eight cells are a few allocations, not 90,000), each
/// with its width once measured.
pub struct Cells {
    text: String,
    /// Where each cell ends in `text`, and its width (0 until measured).
    cells: Vec<(usize, usize)>,
}

impl Cells {
    fn with_capacity(bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            cells: Vec::with_capacity(bytes / 10),
        }
    }

    /// Adds a cell.
    pub fn push(&mut self, cell: &str) {
        self.text.push_str(cell);
        self.cells.push((self.text.len(), 0));
    }

    /// Adds each of `cells`.
    pub fn push_all<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        for cell in cells {
            self.push(cell.as_ref());
        }
    }

    /// Adds the cell `write` appends to the text it is given.
    pub fn push_with(&mut self, write: impl FnOnce(&mut String)) {
        write(&mut self.text);
        self.cells.push((self.text.len(), 0));
    }

    fn len(&self) -> usize {
        self.cells.len()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.cells.clear();
    }

    /// Measures the cells from `first` on (one row), widening `widths`.
    fn measure(&mut self, first: usize, widths: &mut [usize]) {
        let mut start = self.start_of(first);
        for (column, cell) in self.cells[first..].iter_mut().enumerate() {
            let width = display_width(&self.text[start..cell.0]);
            cell.1 = width;
            start = cell.0;
            if let Some(widest) = widths.get_mut(column) {
                *widest = (*widest).max(width);
            }
        }
    }

    fn start_of(&self, cell: usize) -> usize {
        cell.checked_sub(1).map_or(0, |before| self.cells[before].0)
    }

    /// The cells `first..end` with their widths.
    fn row(&self, first: usize, end: usize) -> impl Iterator<Item = (&str, usize)> {
        let mut start = self.start_of(first);
        self.cells[first..end].iter().map(move |&(stop, width)| {
            let cell = &self.text[start..stop];
            start = stop;
            (cell, width)
        })
    }
}

/// Writes one line of a table: `cells` with their widths, padded to
/// `widths` and two spaces apart, the last cut at `cut` columns.
fn write_line<'a>(
    out: &mut impl Write,
    line: &mut String,
    cells: impl Iterator<Item = (&'a str, usize)>,
    widths: &[usize],
    cut: usize,
) -> io::Result<()> {
    let last = widths.len().saturating_sub(1);
    line.clear();
    for (i, ((cell, cell_width), width)) in cells.zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        if i == last && cell_width > cut {
            push_cut(line, cell, cut);
        } else {
            line.push_str(cell);
            if i != last {
                pad(line, width.saturating_sub(cell_width));
            }
        }
    }
    out.write_all(line.trim_end().as_bytes())?;
    out.write_all(b"\n")
}

/// Appends `count` spaces.
fn pad(line: &mut String, mut count: usize) {
    const SPACES: &str = "                                ";
    while count > 0 {
        let n = count.min(SPACES.len());
        line.push_str(&SPACES[..n]);
        count -= n;
    }
}

/// The length of the colour code (`ESC [ digits and ; m`) `text` starts
/// with, if it starts with one.
fn colour_code(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("\x1b[")?;
    let body = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
    (rest.as_bytes()[body] == b'm').then_some(2 + body + 1)
}

/// The columns `text` takes on a terminal: its colour codes take none.
fn display_width(text: &str) -> usize {
    use unicode_width::UnicodeWidthChar;
    // Printable ASCII: a column a byte. (Every byte looked at, without a
    // branch each: cells are short, and there are eight a row.)
    if text.bytes().fold(true, |printable, b| {
        printable & (b.wrapping_sub(0x20) < 0x5f)
    }) {
        return text.len();
    }
    let mut width = 0;
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        if let Some(len) = colour_code(&text[at..]) {
            at += len;
            continue;
        }
        width += c.width().unwrap_or(0);
        at += c.len_utf8();
    }
    width
}

/// Appends the start of `text` that fits in `width - 1` columns, then `…`
/// (and a reset when `text` has colour codes).
fn push_cut(line: &mut String, text: &str, width: usize) {
    use unicode_width::UnicodeWidthChar;
    let mut used = 0;
    let mut at = 0;
    let mut coloured = false;
    while let Some(c) = text[at..].chars().next() {
        if let Some(len) = colour_code(&text[at..]) {
            line.push_str(&text[at..at + len]);
            coloured = true;
            at += len;
            continue;
        }
        used += c.width().unwrap_or(0);
        if used + 1 > width {
            break;
        }
        line.push(c);
        at += c.len_utf8();
    }
    line.push('…');
    if coloured {
        line.push_str("\x1b[0m");
    }
}

/// Paints text in a style when colour is on (see [`Ui::paint`]).
#[derive(Clone, Copy, Debug)]
pub struct Painter {
    color: bool,
}

impl Painter {
    /// A painter that never colours (text for a file or a page).
    pub fn plain() -> Self {
        Self { color: false }
    }

    /// `text` in `style`, or as it is without colour.
    pub fn paint(self, style: Style, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 9);
        self.paint_into(style, &mut out, |out| out.push_str(text));
        out
    }

    /// Appends what `write` appends, in `style` (nothing around it when it
    /// appends nothing, or without colour).
    pub fn paint_into(self, style: Style, out: &mut String, write: impl FnOnce(&mut String)) {
        if !self.color {
            return write(out);
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
        let before = out.len();
        out.push_str("\x1b[");
        out.push_str(code);
        out.push('m');
        let start = out.len();
        write(out);
        if out.len() == start {
            out.truncate(before);
        } else {
            out.push_str("\x1b[0m");
        }
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

/// Writes a JSON array element by element, as [`Ui::json`] would write the
/// whole array (pretty, one trailing newline), so a listing of 100,000
/// tickets never holds them all.
pub struct JsonArray<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonArray<W> {
    /// Starts the array.
    pub fn new(out: W) -> Self {
        Self { out, first: true }
    }

    /// Writes one element, given as pretty JSON text.
    pub fn push(&mut self, pretty: &str) -> io::Result<()> {
        let lead: &[u8] = if std::mem::take(&mut self.first) {
            b"[\n"
        } else {
            b",\n"
        };
        self.out.write_all(lead)?;
        self.out.write_all(nested(pretty).as_bytes())
    }

    /// Ends the array and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        let end: &[u8] = if self.first { b"[]\n" } else { b"\n]\n" };
        self.out.write_all(end)?;
        self.out.flush()
    }
}

/// A pretty JSON value as an element of a pretty array: every line indented
/// two spaces (JSON strings hold no raw line breaks).
fn nested(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str("  ");
        out.push_str(line);
    }
    out
}

/// Quotes one CSV field (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Quotes one CSV field of text people wrote (a subject, a name), defused
/// against spreadsheet formulas: text that starts with `=`, `+`, `-`, `@`
/// or a tab gets a leading `'`, so a spreadsheet shows it instead of
/// running it (OWASP's advice on CSV injection).
pub fn csv_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t']) {
        csv_field(&format!("'{text}"))
    } else {
        csv_field(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held output reads back whole from the start of its file, after the
    /// status lines held with it (here set directly: `status` holds them
    /// only when stderr is a terminal), and only once.
    #[test]
    fn held_output_reads_back_after_the_held_status_lines() {
        use std::io::Read as _;
        let mut ui = Ui::new(ColorChoice::Never, true);
        let rows = "row\n".repeat(50_000);
        ui.buffered().write_all(rows.as_bytes()).unwrap();
        ui.held_status.borrow_mut().push_str("warning: skipped x\n");
        let mut back = String::new();
        ui.take_held()
            .unwrap()
            .unwrap()
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, format!("warning: skipped x\n{rows}"));
        assert!(ui.take_held().is_none());

        let mut plain = Ui::new(ColorChoice::Never, true);
        write!(plain.out(), "one line").unwrap();
        let mut back = String::new();
        plain
            .take_held()
            .unwrap()
            .unwrap()
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, "one line");
        assert!(Ui::new(ColorChoice::Never, false).take_held().is_none());
    }

    /// Text that a spreadsheet would run as a formula is shown as text;
    /// quoting still applies after the defusing.
    #[test]
    fn csv_text_defuses_formulas_then_quotes() {
        assert_eq!(csv_text("=1+2"), "'=1+2");
        assert_eq!(csv_text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_text("+44 20"), "'+44 20");
        assert_eq!(csv_text("-x"), "'-x");
        assert_eq!(csv_text("\tx"), "'\tx");
        assert_eq!(
            csv_text("=HYPERLINK(\"a\",\"b\")"),
            "\"'=HYPERLINK(\"\"a\"\",\"\"b\"\")\""
        );
        assert_eq!(csv_text("a = b"), "a = b");
        assert_eq!(csv_text(""), "");
    }

    /// Elements written one by one read as serde_json's pretty array.
    #[test]
    fn nested_elements_make_the_pretty_array() {
        let values = vec![
            serde_json::json!({"id": "k3x9p2", "tags": ["a", "b"], "text": "two\nlines", "empty": {}}),
            serde_json::json!({"id": "b2", "events": [{"at": 1}], "none": null}),
        ];
        let expected = serde_json::to_string_pretty(&values).unwrap();
        let elements: Vec<String> = values
            .iter()
            .map(|v| nested(&serde_json::to_string_pretty(v).unwrap()))
            .collect();
        assert_eq!(format!("[\n{}\n]", elements.join(",\n")), expected);
    }

    /// The plain writer prints what comfy-table prints off a terminal.
    #[test]
    fn plain_rows_match_comfy_table_off_a_terminal() {
        let header = ["ID", "STATUS", "CUSTOMER", "SUBJECT"];
        let rows = vec![
            vec![
                "k3x9p2".into(),
                "new".into(),
                "-".into(),
                "Printer on fire".into(),
            ],
            vec![
                "a".into(),
                String::new(),
                "Zoë Ångström".into(),
                "漢字 wide".into(),
            ],
            vec![
                "b2".into(),
                "waiting_on_vendor".into(),
                "x".into(),
                String::new(),
            ],
        ];
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        table.force_no_tty();
        table.set_header(header.to_vec());
        for row in &rows {
            table.add_row(row.clone());
        }
        let mut expected = String::new();
        for line in table.lines() {
            let line = line.strip_prefix(' ').unwrap_or(&line);
            expected.push_str(line.trim_end());
            expected.push('\n');
        }
        let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
        let mut out = Vec::new();
        write_rows(
            &mut out,
            &header,
            rows.len(),
            &|i, cells: &mut Cells| cells.push_all(&rows[i]),
            None,
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        // Wide enough: fitting changes nothing.
        let mut fitted = Vec::new();
        write_rows(
            &mut fitted,
            &header,
            rows.len(),
            &|i, cells: &mut Cells| cells.push_all(&rows[i]),
            Some(80),
        )
        .unwrap();
        assert_eq!(String::from_utf8(fitted).unwrap(), expected);
    }

    /// On a narrow terminal the last column is cut, colour codes take no
    /// room, and every line fits.
    #[test]
    fn rows_fit_the_terminal_by_cutting_the_last_column() {
        let header: Vec<String> = ["ID", "STATUS", "SUBJECT"].map(String::from).to_vec();
        let red = |text: &str| format!("\x1b[31m{text}\x1b[0m");
        let rows = [
            vec![
                red("k3x9p2"),
                "new".into(),
                "Printer on fire in the second floor office".into(),
            ],
            vec![
                "a".into(),
                red("waiting"),
                red("漢字 wide characters here, and more of them"),
            ],
            vec!["b2".into(), "open".into(), "Short".into()],
        ];
        let mut out = Vec::new();
        write_rows(
            &mut out,
            &header,
            rows.len(),
            &|i, cells: &mut Cells| cells.push_all(&rows[i]),
            Some(30),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        for line in &lines {
            assert!(display_width(line) <= 30, "{line:?}");
        }
        assert_eq!(lines[1], "\x1b[31mk3x9p2\x1b[0m  new      Printer on f…");
        assert!(
            lines[2].starts_with("a       \x1b[31mwaiting\x1b[0m  \x1b[31m漢字 wide"),
            "{:?}",
            lines[2]
        );
        assert!(lines[2].ends_with("…\x1b[0m"), "{:?}", lines[2]);
        assert_eq!(lines[3], "b2      open     Short");
        assert_eq!(display_width("\x1b[1mID\x1b[0m 漢"), 5);
    }

    /// A header alone, or nothing at all, is no problem.
    #[test]
    fn rows_made_again_print_as_kept_rows_do() {
        // Up to KEPT rows are kept from measuring to printing; more are
        // made twice. Both ways must print the same lines.
        let row = |i: usize, cells: &mut Cells| {
            let made = [
                "é".repeat(i % 7),
                format!("\x1b[33m{}\x1b[0m", i % 3),
                "x".into(),
            ];
            cells.push_all(made);
        };
        let header = ["A".to_owned(), "B".to_owned(), "C".to_owned()];
        let table = |count: usize, fit| {
            let mut out = Vec::new();
            write_rows(&mut out, &header, count, &row, fit).unwrap();
            String::from_utf8(out).unwrap()
        };
        for fit in [None, Some(12)] {
            let (kept, made) = (table(KEPT, fit), table(KEPT + 1, fit));
            assert_eq!(made.lines().count(), KEPT + 2);
            assert!(made.starts_with(&kept), "{fit:?}");
            assert_eq!(made.lines().nth(2), kept.lines().nth(2));
        }
    }

    #[test]
    fn no_rows_and_no_columns_are_fine() {
        let mut out = Vec::new();
        write_rows(&mut out, &[], 0, &|_, _: &mut Cells| {}, Some(24)).unwrap();
        assert_eq!(out, b"\n");
    }
}
