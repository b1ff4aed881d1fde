//! A fast reader of ticket files in the layout tix writes, for listings.
//!
//! A listing needs every field of a ticket except the message bodies, which
//! are most of its bytes. [`without_bodies`] reads a file in the layout that
//! [`Ticket::to_toml`] writes: whole-line comments, bare `key = value` lines,
//! the `[customer]`, `[fields]` and `[rating]` tables and `[[event]]`
//! entries. It checks each body for what TOML allows but does not decode it.
//!
//! Its contract: when it returns a ticket, the full TOML parse
//! ([`Ticket::parse`]) accepts the file too and gives the same ticket, except
//! that each body is empty. [`whole`] decodes the bodies as well (for an
//! export, which prints them) and then gives the same ticket, bodies too. Anything it does not recognise (other spacing, an
//! inline table, an unknown key, a float, a TOML 1.1 escape) makes it return
//! `None`, and the caller parses the file in full, which also reports the
//! errors. It accepts less than TOML, never more.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde::de::IntoDeserializer;

use super::{Customer, Event, EventKind, Priority, Rating, Role, Ticket, TicketId, Timestamp};

/// Reads a ticket file written in tix's own layout, leaving every message
/// body empty; `None` when the file must go through the full parser.
pub fn without_bodies(text: &str) -> Option<Ticket> {
    read(text, false)
}

/// Reads a ticket file written in tix's own layout whole, message bodies
/// too: the ticket [`Ticket::parse`] gives, several times faster (an
/// export reads every body); `None` when the file must go through the full
/// parser.
pub fn whole(text: &str) -> Option<Ticket> {
    read(text, true)
}

/// Reads a ticket file in tix's layout, decoding the bodies or not.
fn read(text: &str, bodies: bool) -> Option<Ticket> {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        at: 0,
        bodies,
    };
    let mut head = Head::default();
    let mut customer = Customer::default();
    let mut fields = BTreeMap::new();
    let mut rating = RatingParts::default();
    let mut events: Vec<Event> = Vec::new();
    let mut event: Option<EventParts> = None;
    let mut table = Table::Root;
    let mut seen_tables = [false; 3];
    while !reader.done() {
        match reader.peek() {
            b'\n' => reader.at += 1,
            b'#' => reader.comment()?,
            b'[' => {
                let header = reader.line()?;
                if let Some(parts) = event.take() {
                    events.push(parts.finish()?);
                }
                table = match header {
                    "[[event]]" if !head.no_events => {
                        event = Some(EventParts::default());
                        Table::Event
                    }
                    "[customer]" => Table::Customer,
                    "[fields]" => Table::Fields,
                    "[rating]" => Table::Rating,
                    _ => return None,
                };
                if let Some(slot) = table.slot() {
                    if seen_tables[slot] {
                        return None; // a table defined twice
                    }
                    seen_tables[slot] = true;
                }
            }
            _ => {
                let key = reader.key()?;
                match table {
                    Table::Root => head.set(key, &mut reader)?,
                    Table::Customer => {
                        let slot = match key {
                            "name" => &mut customer.name,
                            "email" => &mut customer.email,
                            "phone" => &mut customer.phone,
                            _ => return None,
                        };
                        set_once(slot, reader.string()?)?;
                    }
                    Table::Fields => {
                        let value = reader.field_value()?;
                        if fields.insert(key.to_owned(), value).is_some() {
                            return None;
                        }
                    }
                    Table::Rating => rating.set(key, &mut reader)?,
                    Table::Event => event.as_mut()?.set(key, &mut reader)?,
                }
                reader.end_of_line()?;
            }
        }
    }
    if let Some(parts) = event.take() {
        events.push(parts.finish()?);
    }
    Some(Ticket {
        id: head.id?,
        subject: head.subject?,
        status: head.status,
        priority: head.priority.unwrap_or_default(),
        assignee: head.assignee,
        department: head.department,
        tags: head.tags.unwrap_or_default(),
        follow_up_of: head.follow_up_of,
        duplicate_of: head.duplicate_of,
        related: head.related.unwrap_or_default(),
        source: head.source,
        customer,
        fields,
        rating: rating.finish(seen_tables[Table::Rating.slot()?])?,
        events,
    })
}

#[derive(Clone, Copy)]
enum Table {
    Root,
    Customer,
    Fields,
    Rating,
    Event,
}

impl Table {
    /// Where a table that may appear once is recorded.
    fn slot(self) -> Option<usize> {
        match self {
            Self::Customer => Some(0),
            Self::Fields => Some(1),
            Self::Rating => Some(2),
            Self::Root | Self::Event => None,
        }
    }
}

/// Stores a value in a slot that must be empty (TOML refuses a key given
/// twice).
fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

#[derive(Default)]
struct Head {
    id: Option<TicketId>,
    subject: Option<String>,
    status: Option<String>,
    priority: Option<Priority>,
    assignee: Option<String>,
    department: Option<String>,
    tags: Option<BTreeSet<String>>,
    follow_up_of: Option<TicketId>,
    duplicate_of: Option<TicketId>,
    related: Option<BTreeSet<TicketId>>,
    source: Option<String>,
    /// `event = []`: what tix writes for a ticket without events.
    no_events: bool,
}

impl Head {
    fn set(&mut self, key: &str, reader: &mut Reader<'_>) -> Option<()> {
        match key {
            "id" => set_once(&mut self.id, reader.string()?.parse().ok()?),
            "subject" => set_once(&mut self.subject, reader.string()?),
            "status" => set_once(&mut self.status, reader.string()?),
            "priority" => set_once(&mut self.priority, variant(&reader.string()?)?),
            "assignee" => set_once(&mut self.assignee, reader.string()?),
            "department" => set_once(&mut self.department, reader.string()?),
            "tags" => set_once(&mut self.tags, reader.strings()?.into_iter().collect()),
            "follow_up_of" => set_once(&mut self.follow_up_of, reader.string()?.parse().ok()?),
            "duplicate_of" => set_once(&mut self.duplicate_of, reader.string()?.parse().ok()?),
            "related" => {
                let ids: Option<BTreeSet<TicketId>> =
                    reader.strings()?.iter().map(|s| s.parse().ok()).collect();
                set_once(&mut self.related, ids?)
            }
            "source" => set_once(&mut self.source, reader.string()?),
            "event" if !self.no_events && reader.eat(b"[]") => {
                self.no_events = true;
                Some(())
            }
            _ => None,
        }
    }
}

#[derive(Default)]
struct RatingParts {
    score: Option<u8>,
    comment: Option<String>,
    at: Option<Timestamp>,
}

impl RatingParts {
    fn set(&mut self, key: &str, reader: &mut Reader<'_>) -> Option<()> {
        match key {
            "score" => set_once(&mut self.score, u8::try_from(reader.integer()?).ok()?),
            "comment" => set_once(&mut self.comment, reader.string()?),
            "at" => set_once(&mut self.at, reader.timestamp()?),
            _ => None,
        }
    }

    /// The rating, if the table was there (and then it needs its score and
    /// time); `None` when the file is not one to read here.
    fn finish(self, present: bool) -> Option<Option<Rating>> {
        if !present {
            return Some(None);
        }
        Some(Some(Rating {
            score: self.score?,
            comment: self.comment,
            at: self.at?,
        }))
    }
}

#[derive(Default)]
struct EventParts {
    at: Option<Timestamp>,
    actor: Option<String>,
    role: Option<Role>,
    kind: Option<EventKind>,
    from: Option<String>,
    to: Option<String>,
    field: Option<String>,
    until: Option<Timestamp>,
    reason: Option<String>,
    rule: Option<String>,
    message_id: Option<String>,
    recipient: Option<String>,
    attachments: Option<Vec<String>>,
    raw: Option<String>,
    body: Option<String>,
}

impl EventParts {
    fn set(&mut self, key: &str, reader: &mut Reader<'_>) -> Option<()> {
        match key {
            "at" => set_once(&mut self.at, reader.timestamp()?),
            "actor" => set_once(&mut self.actor, reader.string()?),
            "role" => set_once(&mut self.role, variant(&reader.string()?)?),
            "kind" => set_once(&mut self.kind, variant(&reader.string()?)?),
            "from" => set_once(&mut self.from, reader.string()?),
            "to" => set_once(&mut self.to, reader.string()?),
            "field" => set_once(&mut self.field, reader.string()?),
            "until" => set_once(&mut self.until, reader.timestamp()?),
            "reason" => set_once(&mut self.reason, reader.string()?),
            "rule" => set_once(&mut self.rule, reader.string()?),
            "message_id" => set_once(&mut self.message_id, reader.string()?),
            "recipient" => set_once(&mut self.recipient, reader.string()?),
            "attachments" => set_once(&mut self.attachments, reader.strings()?),
            "raw" => set_once(&mut self.raw, reader.string()?),
            "body" if reader.bodies => set_once(&mut self.body, reader.string()?),
            "body" => {
                reader.skip_string()?;
                set_once(&mut self.body, String::new())
            }
            _ => None,
        }
    }

    fn finish(self) -> Option<Event> {
        Some(Event {
            at: self.at?,
            actor: self.actor?,
            role: self.role?,
            kind: self.kind?,
            from: self.from,
            to: self.to,
            field: self.field,
            until: self.until,
            reason: self.reason,
            rule: self.rule,
            message_id: self.message_id,
            recipient: self.recipient,
            attachments: self.attachments.unwrap_or_default(),
            raw: self.raw,
            body: self.body,
        })
    }
}

/// The length of the run at the start of `bytes` without a `quote`, a
/// backslash or a control character (newlines included), eight bytes at a
/// time: bodies are most of a ticket's bytes.
fn plain_run(bytes: &[u8], quote: u8) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The lowest flagged byte of each test is exact (higher ones may not
    // be), so the lowest flagged byte of all is the first special one.
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let below_space = |v: u64| v.wrapping_sub(ONES * 0x20) & !v & HIGH;
    let mut at = 0;
    for word in bytes.chunks_exact(8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let x = u64::from_le_bytes(word);
        let found = zero(x ^ (ONES * u64::from(quote)))
            | zero(x ^ (ONES * u64::from(b'\\')))
            | zero(x ^ (ONES * 0x7f))
            | below_space(x);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    at
}

/// Appends decoded text when a value is wanted.
fn push(out: &mut Option<&mut String>, text: &str) {
    if let Some(out) = out {
        out.push_str(text);
    }
}

/// Reads an enum the way serde does from a TOML string.
fn variant<'de, T: Deserialize<'de>>(text: &'de str) -> Option<T> {
    let deserializer: serde::de::value::StrDeserializer<'de, serde::de::value::Error> =
        text.into_deserializer();
    T::deserialize(deserializer).ok()
}

/// A position in the file.
struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
    /// Whether message bodies are decoded (else only checked).
    bodies: bool,
}

impl<'a> Reader<'a> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn peek(&self) -> u8 {
        self.bytes[self.at]
    }

    fn eat(&mut self, literal: &[u8]) -> bool {
        let found = self.bytes[self.at..].starts_with(literal);
        if found {
            self.at += literal.len();
        }
        found
    }

    /// The rest of the line, without its newline (which is consumed).
    fn line(&mut self) -> Option<&'a str> {
        let rest = &self.bytes[self.at..];
        let len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let line = &self.text[self.at..self.at + len];
        self.at = (self.at + len + 1).min(self.bytes.len());
        Some(line)
    }

    /// A whole-line comment: anything but control characters (tab aside).
    fn comment(&mut self) -> Option<()> {
        let line = self.line()?;
        line.bytes()
            .all(|b| b == b'\t' || !b.is_ascii_control())
            .then_some(())
    }

    /// A bare key followed by ` = `.
    fn key(&mut self) -> Option<&'a str> {
        let start = self.at;
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
        {
            self.at += 1;
        }
        let key = &self.text[start..self.at];
        (!key.is_empty() && self.eat(b" = ")).then_some(key)
    }

    /// Nothing but the newline (or the end of the file) after a value.
    fn end_of_line(&mut self) -> Option<()> {
        if self.done() {
            return Some(());
        }
        self.eat(b"\n").then_some(())
    }

    /// A string of any of TOML's four forms, decoded.
    fn string(&mut self) -> Option<String> {
        let mut value = String::new();
        self.read_string(Some(&mut value))?;
        Some(value)
    }

    /// Checks a string of any of TOML's four forms without decoding it.
    fn skip_string(&mut self) -> Option<()> {
        self.read_string(None)
    }

    /// Reads a string, appending its value to `out` when given.
    fn read_string(&mut self, out: Option<&mut String>) -> Option<()> {
        if self.eat(b"\"\"\"") {
            self.multiline(b'"', out)
        } else if self.eat(b"'''") {
            self.multiline(b'\'', out)
        } else if self.eat(b"\"") {
            self.one_line(b'"', out)
        } else if self.eat(b"'") {
            self.one_line(b'\'', out)
        } else {
            None
        }
    }

    /// The rest of a one-line string after its opening quote.
    fn one_line(&mut self, quote: u8, mut out: Option<&mut String>) -> Option<()> {
        let basic = quote == b'"';
        let mut run = self.at;
        loop {
            match *self.bytes.get(self.at)? {
                b if b == quote => {
                    push(&mut out, &self.text[run..self.at]);
                    self.at += 1;
                    return Some(());
                }
                b'\\' if basic => {
                    push(&mut out, &self.text[run..self.at]);
                    self.at += 1;
                    let c = self.escape()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                    run = self.at;
                }
                b if b != b'\t' && b.is_ascii_control() => return None,
                _ => self.at += 1,
            }
        }
    }

    /// The rest of a multi-line string after its opening delimiter. A
    /// newline right after the delimiter is not part of the value; up to
    /// two quotes may stand before the closing three.
    fn multiline(&mut self, quote: u8, mut out: Option<&mut String>) -> Option<()> {
        let basic = quote == b'"';
        self.eat(b"\n");
        let mut run = self.at;
        loop {
            self.at += plain_run(&self.bytes[self.at..], quote);
            let b = *self.bytes.get(self.at)?;
            if b == quote {
                let quotes = self.bytes[self.at..]
                    .iter()
                    .take_while(|&&c| c == quote)
                    .count();
                match quotes {
                    0..=2 => self.at += quotes,
                    3..=5 => {
                        push(&mut out, &self.text[run..self.at + quotes - 3]);
                        self.at += quotes;
                        return Some(());
                    }
                    _ => return None,
                }
            } else if b == b'\\' && basic {
                push(&mut out, &self.text[run..self.at]);
                self.at += 1;
                if matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n')) {
                    // A line-ending backslash: blanks, a newline, then every
                    // blank and newline up to the next text go.
                    while matches!(self.bytes.get(self.at), Some(b' ' | b'\t')) {
                        self.at += 1;
                    }
                    if !self.eat(b"\n") {
                        return None;
                    }
                    while matches!(self.bytes.get(self.at), Some(b' ' | b'\t' | b'\n')) {
                        self.at += 1;
                    }
                } else {
                    let c = self.escape()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                }
                run = self.at;
            } else if b == b'\n' || b == b'\t' || !b.is_ascii_control() {
                self.at += 1;
            } else {
                return None; // a control character, or a lone carriage return
            }
        }
    }

    /// One escape after its backslash: the TOML 1.0 set.
    fn escape(&mut self) -> Option<char> {
        let code = *self.bytes.get(self.at)?;
        self.at += 1;
        let hex = |this: &mut Self, len: usize| {
            let digits = this.text.get(this.at..this.at + len)?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            this.at += len;
            char::from_u32(u32::from_str_radix(digits, 16).ok()?)
        };
        Some(match code {
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'"' => '"',
            b'\\' => '\\',
            b'u' => hex(self, 4)?,
            b'U' => hex(self, 8)?,
            _ => return None,
        })
    }

    /// `["a", "b"]`: strings on one line, as tix writes them.
    fn strings(&mut self) -> Option<Vec<String>> {
        if !self.eat(b"[") {
            return None;
        }
        let mut items = Vec::new();
        if self.eat(b"]") {
            return Some(items);
        }
        loop {
            items.push(self.string()?);
            if self.eat(b"]") {
                return Some(items);
            }
            if !self.eat(b", ") {
                return None;
            }
        }
    }

    /// A decimal integer as tix writes it (no sign, underscores or leading
    /// zeros beyond TOML's rules).
    fn integer(&mut self) -> Option<i64> {
        let start = self.at;
        self.eat(b"-");
        let digits = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        let number = &self.text[digits..self.at];
        if number.is_empty() || (number.len() > 1 && number.starts_with('0')) {
            return None;
        }
        self.text[start..self.at].parse().ok()
    }

    /// A custom field's value: a string, an integer or a boolean.
    fn field_value(&mut self) -> Option<toml::Value> {
        match *self.bytes.get(self.at)? {
            b'"' | b'\'' => self.string().map(toml::Value::String),
            b't' if self.eat(b"true") => Some(toml::Value::Boolean(true)),
            b'f' if self.eat(b"false") => Some(toml::Value::Boolean(false)),
            b'-' | b'0'..=b'9' => {
                let value = self.integer()?;
                // `1979-05-27` or `1.5` would go on past the digits.
                matches!(self.bytes.get(self.at), None | Some(b'\n'))
                    .then_some(toml::Value::Integer(value))
            }
            _ => None,
        }
    }

    /// A UTC time as tix writes it: `2025-03-03T09:00:00Z`.
    fn timestamp(&mut self) -> Option<Timestamp> {
        const SHAPE: &[u8; 20] = b"0000-00-00T00:00:00Z";
        let text = self.text.get(self.at..self.at + SHAPE.len())?;
        let fits = text.bytes().zip(SHAPE).all(|(b, &shape)| {
            if shape == b'0' {
                b.is_ascii_digit()
            } else {
                b == shape
            }
        });
        if !fits {
            return None;
        }
        self.at += SHAPE.len();
        let number = |at: usize, len: usize| {
            text.as_bytes()[at..at + len]
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'))
        };
        let small = |at: usize| u8::try_from(number(at, 2)).ok();
        // The conversion the full parse makes after reading the fields.
        super::time::from_utc_parts(
            [number(0, 4), number(5, 2), number(8, 2)],
            [small(11)?, small(14)?, small(17)?],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::status::Statuses;

    fn full(text: &str) -> Option<Ticket> {
        let mut ticket = Ticket::parse(text).ok()?;
        for event in &mut ticket.events {
            if let Some(body) = &mut event.body {
                body.clear();
            }
        }
        Some(ticket)
    }

    const SAMPLE: &str = r#"# tix ticket: the [[event]] log is the history; see docs/ticket-format.md
id = "k3x9p2"
subject = "Printer \"on\" fire"
status = "open"
priority = "high"
tags = ["printer", 'lit']

[customer]
name = "Bo"
email = "bo@ex.com"

[fields]
count = 3
ok = true
plan = "gold"

[[event]]
at = 2025-03-03T09:00:00Z
actor = "bo@ex.com"
role = "customer"
kind = "created"
to = "new"
body = """
It smokes. ""quoted"" \"\"\" and a \
   line-ending backslash
"""

[[event]]
at = 2025-03-03T10:00:00Z
actor = "ana@desk"
role = "agent"
kind = "status"
from = "new"
to = "open"
"#;

    proptest::proptest! {
        #[test]
        fn plain_runs_stop_at_the_first_special_byte(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40),
            quote in proptest::sample::select(vec![b'"', b'\'']),
        ) {
            let special = |c: u8| c == quote || c == b'\\' || c.is_ascii_control();
            let tail = bytes.len() - bytes.len() % 8;
            let expected = bytes.iter().position(|&c| special(c)).unwrap_or(bytes.len()).min(tail);
            proptest::prop_assert_eq!(plain_run(&bytes, quote), expected);
        }
    }

    #[test]
    fn a_file_that_ends_after_a_key_goes_to_the_full_parse() {
        let head = "id = \"k3x9p2\"\nsubject = \"s\"\n";
        for tail in [
            "priority = ",
            "tags = ",
            "[customer]\nname = ",
            "[fields]\nx = ",
            "[fields]\nx = -",
            "[rating]\nscore = ",
            "[[event]]\nat = ",
            "[[event]]\nbody = ",
            "[[event]]\nbody = \"\"\"",
            "[[event]]\nbody = \"\"\"\nabc\\",
            "[fields]\nx",
        ] {
            let text = format!("{head}{tail}");
            assert_eq!(without_bodies(&text), None, "{text}");
        }
    }

    #[test]
    fn reads_times_as_the_full_parse_does() {
        for year in [
            "0000", "1900", "1970", "2000", "2024", "2025", "2100", "9999",
        ] {
            for month in 0..=13 {
                for day in 0..=32 {
                    for time in ["00:00:00", "23:59:59", "24:00:00", "23:60:00", "23:59:60"] {
                        let text = format!("{year}-{month:02}-{day:02}T{time}Z");
                        let quick = Reader {
                            bytes: text.as_bytes(),
                            text: &text,
                            at: 0,
                            bodies: false,
                        }
                        .timestamp();
                        let full = text
                            .parse::<toml::value::Datetime>()
                            .ok()
                            .and_then(|d| super::super::time::from_toml(&d));
                        assert_eq!(quick, full, "{text}");
                    }
                }
            }
        }
    }

    #[test]
    fn reads_the_layout_tix_writes_like_the_full_parse() {
        let quick = without_bodies(SAMPLE).expect("the sample is in tix's layout");
        assert_eq!(Some(quick), full(SAMPLE));
        let whole = whole(SAMPLE).expect("the sample is in tix's layout");
        assert_eq!(
            whole.events[0].body.as_deref(),
            Some("It smokes. \"\"quoted\"\" \"\"\" and a line-ending backslash\n")
        );
        assert_eq!(Some(whole), Ticket::parse(SAMPLE).ok());
    }

    #[test]
    fn leaves_what_it_does_not_know_to_the_full_parse() {
        for (from, to) in [
            ("priority = \"high\"", "priority = \"meh\""),
            ("priority = \"high\"", "priority  = \"high\""),
            ("count = 3", "count = 3.5"),
            ("count = 3", "count = 03"),
            ("count = 3", "count = 1979-05-27"),
            ("ok = true", "ok = true # yes"),
            ("[fields]", "[fields]\n[customer]"),
            ("name = \"Bo\"", "name = \"Bo\"\nname = \"Al\""),
            ("name = \"Bo\"", "name = \"B\\e\""),
            ("name = \"Bo\"", "nickname = \"Bo\""),
            ("to = \"open\"", "to = \"open\"\nkind = \"status\""),
            ("actor = \"ana@desk\"\n", ""),
            ("smokes.", "smokes.\u{1}"),
            ("smokes.", "smokes.\r"),
            ("\"\"quoted\"\"", "\"\"\"quoted\"\"\""),
            (
                "at = 2025-03-03T10:00:00Z",
                "at = 2025-03-03T10:00:00+01:00",
            ),
            ("at = 2025-03-03T10:00:00Z", "at = 2025-13-03T10:00:00Z"),
            ("tags = [\"printer\", 'lit']", "tags = [\"printer\",'lit']"),
        ] {
            assert!(SAMPLE.contains(from), "{from}");
            let text = SAMPLE.replacen(from, to, 1);
            assert_eq!(without_bodies(&text), None, "{to}");
            assert_eq!(whole(&text), None, "{to}");
        }
    }

    #[test]
    fn reads_what_tix_writes_for_awkward_text() {
        let statuses = Statuses::builtin();
        let mut ticket = without_bodies(SAMPLE).unwrap();
        ticket.subject = "Wi-Fi 'down' \\ again\t!".into();
        ticket.customer.name = Some("Zoë \"Z\"".into());
        let bodies = [
            "Line one\r\nline \"\"\" two\u{7f}\n",
            "'''",
            "ends with quote\"",
            "",
        ];
        for (event, body) in ticket.events.iter_mut().zip(bodies) {
            event.body = Some(body.to_owned());
        }
        let text = ticket.to_toml(&statuses);
        assert!(without_bodies(&text).is_some(), "{text}");
        assert_eq!(without_bodies(&text), full(&text), "{text}");
        assert_eq!(whole(&text), Ticket::parse(&text).ok(), "{text}");
        assert_eq!(
            whole(&text).unwrap().events[0].body.as_deref(),
            Some(bodies[0])
        );
    }
}
