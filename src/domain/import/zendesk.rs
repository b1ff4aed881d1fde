//! Zendesk's JSON exports as records (docs/import.md, "Zendesk").
//!
//! A file is a stream of JSON values, pretty or one a line, each one of:
//! a page of the tickets API (`{"tickets": [...], "users": [...],
//! "groups": [...]}`, any of the three), an array of tickets, a ticket
//! object (the incremental export written one a line), or the comments of
//! one ticket (`{"ticket_id": 7, "comments": [...]}`, the comments API's
//! page with the ticket it belongs to). A ticket's conversation is its
//! embedded `comments`, else the comments records naming it, else its
//! `description`.
//!
//! A file is read twice, so that a page of 100,000 tickets is never held:
//! [`scan`] keeps the users, the groups and where each comments record is;
//! [`read`] then hands over one ticket at a time.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::rc::Rc;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{Bad, Message, Outcome, Person, Position, Record, text};
use crate::model::{Priority, Rating, Role, Timestamp};

/// Where a comments record is: its file (the index of the caller's list)
/// and its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The file's index.
    pub file: usize,
    /// The first byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

/// What [`scan`] learns of the files.
#[derive(Debug, Default)]
pub struct Directory {
    users: HashMap<u64, User>,
    groups: HashMap<u64, String>,
    comments: HashMap<u64, Vec<Span>>,
}

impl Directory {
    /// How many users the files name.
    pub fn users(&self) -> usize {
        self.users.len()
    }
}

/// How to read tickets.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Custom fields to keep: Zendesk's field id to the desk's field name.
    pub fields: BTreeMap<u64, String>,
}

#[derive(Clone, Debug, Deserialize)]
struct User {
    id: u64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    id: u64,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Ticket {
    id: u64,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    raw_subject: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    priority: Option<String>,
    #[serde(default)]
    requester_id: Option<u64>,
    #[serde(default)]
    submitter_id: Option<u64>,
    #[serde(default)]
    assignee_id: Option<u64>,
    #[serde(default)]
    group_id: Option<u64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    custom_fields: Vec<CustomField>,
    #[serde(default)]
    satisfaction_rating: Option<Value>,
    created_at: String,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    comments: Option<Vec<Comment>>,
}

#[derive(Deserialize)]
struct CustomField {
    id: u64,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize)]
struct Comment {
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    author_id: Option<u64>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    plain_body: Option<String>,
    #[serde(default)]
    html_body: Option<String>,
    #[serde(default)]
    public: Option<bool>,
    created_at: String,
    #[serde(default)]
    attachments: Vec<Attachment>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default)]
    file_name: Option<String>,
    #[serde(default)]
    content_url: Option<String>,
}

#[derive(Deserialize)]
struct Comments {
    comments: Vec<Comment>,
}

/// The first pass: keeps the users, groups and comments records of file
/// number `file`. `bad` hears of each broken part; the read goes on after
/// one when a line starting with `{` or `[` follows, unless `bad` breaks.
pub fn scan(
    input: impl BufRead + Seek,
    file: usize,
    directory: &mut Directory,
    bad: &mut dyn FnMut(Bad) -> ControlFlow<()>,
) -> io::Result<()> {
    let mut top = Pass::Scan { file, directory };
    values(input, &mut top, bad)
}

/// The second pass: hands every ticket of the file to `sink` as a record
/// (or why it is not one), until it breaks. `comments` reads the bytes of
/// a comments record [`scan`] found.
pub fn read(
    input: impl BufRead + Seek,
    directory: &Directory,
    options: &Options,
    comments: &mut dyn FnMut(&Span) -> io::Result<Vec<u8>>,
    sink: &mut dyn FnMut(Result<Record, Bad>) -> ControlFlow<()>,
) -> io::Result<()> {
    let mut failed = None;
    let sink = std::cell::RefCell::new(sink);
    let mut on_ticket = |value: Value, at: Position| -> ControlFlow<()> {
        let id = value.get("id").map(|id| id.to_string());
        let record = serde_json::from_value::<Ticket>(value)
            .map_err(|e| e.to_string())
            .and_then(|ticket| {
                let fetched = fetch_comments(&ticket, directory, comments)
                    .map_err(|e| failed.get_or_insert(e).to_string())?;
                record(ticket, fetched, directory, options)
            });
        let record = record.map(|mut r| {
            r.at = Some(at);
            r
        });
        (sink.borrow_mut())(record.map_err(|reason| Bad { at, id, reason }))
    };
    let mut top = Pass::Read {
        on_ticket: &mut on_ticket,
    };
    // Told again of what the scan found broken (the caller hears of each
    // place once), and of what only a full read finds: a ticket the scan
    // skipped over holds text JSON does not allow (a lone surrogate, a
    // number out of range, nesting too deep).
    values(input, &mut top, &mut |bad| (sink.borrow_mut())(Err(bad)))?;
    match failed {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// The comments of a ticket that has none embedded, from the records the
/// scan found.
fn fetch_comments(
    ticket: &Ticket,
    directory: &Directory,
    comments: &mut dyn FnMut(&Span) -> io::Result<Vec<u8>>,
) -> io::Result<Vec<Comment>> {
    let mut all = Vec::new();
    if ticket.comments.is_some() {
        return Ok(all);
    }
    for span in directory.comments.get(&ticket.id).into_iter().flatten() {
        let bytes = comments(span)?;
        let page: Comments = serde_json::Deserializer::from_slice(&bytes)
            .into_iter()
            .next()
            .unwrap_or_else(|| Err(de::Error::custom("no comments")))
            .map_err(io::Error::other)?;
        all.extend(page.comments);
    }
    Ok(all)
}

/// What a pass does with the values it meets.
enum Pass<'a> {
    Scan {
        file: usize,
        directory: &'a mut Directory,
    },
    Read {
        on_ticket: &'a mut dyn FnMut(Value, Position) -> ControlFlow<()>,
    },
}

/// Counts what the JSON parser reads (it reads a byte at a time): the
/// offset and line, and whether anything but white space came since the
/// last value ended.
struct Counted<R> {
    inner: R,
    at: Rc<Cell<Position>>,
    /// Where the value being read starts: its first byte that is not
    /// white space or a comma (reset before each value).
    first: Rc<Cell<Option<Position>>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut at = self.at.get();
        for (i, &b) in buf[..n].iter().enumerate() {
            if self.first.get().is_none() && !b.is_ascii_whitespace() && b != b',' {
                self.first.set(Some(Position {
                    line: at.line,
                    byte: at.byte + i as u64,
                }));
            }
            if b == b'\n' {
                at.line += 1;
            }
        }
        at.byte += n as u64;
        self.at.set(at);
        Ok(n)
    }
}

/// Reads the stream of top-level values. While every value has been one
/// line (JSON lines), a value that does not parse is the line it starts
/// on: the read goes on at the next line, even when the broken line left
/// a string or object open that the parser ran on into.
fn values(
    input: impl BufRead + Seek,
    pass: &mut Pass<'_>,
    bad: &mut dyn FnMut(Bad) -> ControlFlow<()>,
) -> io::Result<()> {
    let at = Rc::new(Cell::new(Position { line: 1, byte: 0 }));
    let mark = Rc::new(Cell::new(None));
    let mut counted = Counted {
        inner: input,
        at: Rc::clone(&at),
        first: Rc::clone(&mark),
    };
    skip_bom(&mut counted)?;
    // Whether every value so far was one line; unknown before the first.
    let mut lines: Option<bool> = None;
    loop {
        mark.set(None);
        let start = at.get();
        let mut at_end = false;
        let outcome = {
            let mut de = serde_json::Deserializer::from_reader(&mut counted);
            TopSeed {
                pass: &mut *pass,
                at: &mark,
            }
            .deserialize(&mut de)
        };
        let first = mark.get().unwrap_or(start);
        if outcome.is_ok() {
            lines = Some(lines.unwrap_or(true) && first.line == at.get().line);
        }
        let lines = lines == Some(true);
        let err = match outcome {
            Ok(Top::Stopped) => return Ok(()),
            Ok(Top::Done) => continue,
            Ok(Top::Object(object)) => {
                let end = at.get();
                match classify(object, first, end, pass) {
                    Ok(ControlFlow::Continue(())) => continue,
                    Ok(ControlFlow::Break(())) => return Ok(()),
                    Err(reason) => Bad {
                        at: first,
                        id: None,
                        reason,
                    },
                }
            }
            Err(err) if err.is_eof() && mark.get().is_none() => return Ok(()),
            Err(err) if err.is_io() => return Err(io::Error::other(err)),
            Err(err) if lines && at.get().line > first.line => {
                // A broken line the parser ran on from: it alone is bad.
                let bad_line = Bad {
                    at: first,
                    id: None,
                    reason: format!(
                        "the line is not a whole JSON value ({})",
                        parse_reason(&err)
                    ),
                };
                if bad(bad_line).is_break() {
                    return Ok(());
                }
                counted.inner.seek(SeekFrom::Start(first.byte))?;
                at.set(first);
                if !skip_line(&mut counted)? {
                    return Ok(());
                }
                continue;
            }
            Err(err) => {
                at_end = err.is_eof();
                Bad {
                    // A JSON line is bad from its start; elsewhere, where
                    // the parser stopped says more.
                    at: if lines { first } else { at.get() },
                    id: None,
                    reason: parse_reason(&err),
                }
            }
        };
        if bad(err).is_break() || at_end || !resync(&mut counted)? {
            return Ok(());
        }
    }
}

/// What serde_json says, without its own position (which counts from the
/// value, not the file).
fn parse_reason(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let text = match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    };
    if err.is_eof() {
        format!("the file ends inside a value ({text}): is it cut short?")
    } else {
        text
    }
}

/// Skips to the next line that starts a value (`{` or `[` first on it);
/// false at the end of the input.
fn resync<R: BufRead>(counted: &mut Counted<R>) -> io::Result<bool> {
    loop {
        let buf = counted.inner.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let Some(newline) = buf.iter().position(|&b| b == b'\n') else {
            let n = buf.len();
            consume(counted, n, 0);
            continue;
        };
        consume(counted, newline + 1, 1);
        let next = counted.inner.fill_buf()?;
        if next.is_empty() {
            return Ok(false);
        }
        if matches!(next[0], b'{' | b'[') {
            return Ok(true);
        }
    }
}

/// Skips a byte-order mark at the start of the input.
fn skip_bom<R: BufRead>(counted: &mut Counted<R>) -> io::Result<()> {
    if counted.inner.fill_buf()?.starts_with(b"\xef\xbb\xbf") {
        consume(counted, 3, 0);
    }
    Ok(())
}

/// Skips the rest of the line; false at the end of the input.
fn skip_line<R: BufRead>(counted: &mut Counted<R>) -> io::Result<bool> {
    loop {
        let buf = counted.inner.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        if let Some(newline) = buf.iter().position(|&b| b == b'\n') {
            consume(counted, newline + 1, 1);
            return Ok(true);
        }
        let n = buf.len();
        consume(counted, n, 0);
    }
}

fn consume<R: BufRead>(counted: &mut Counted<R>, n: usize, lines: u64) {
    counted.inner.consume(n);
    let mut at = counted.at.get();
    at.byte += n as u64;
    at.line += lines;
    counted.at.set(at);
}

/// A top-level value once read.
enum Top {
    /// Handled while reading (a page, an array).
    Done,
    /// The sink broke.
    Stopped,
    /// An object that is not a page: a ticket or a comments record.
    Object(serde_json::Map<String, Value>),
}

/// Decides what a top-level object that is not a page is.
fn classify(
    object: serde_json::Map<String, Value>,
    start: Position,
    end: Position,
    pass: &mut Pass<'_>,
) -> Result<ControlFlow<()>, String> {
    let is_comments = object.contains_key("comments")
        && object.contains_key("ticket_id")
        && !object.contains_key("subject");
    if is_comments {
        if let Pass::Scan { file, directory } = pass {
            let ticket = object
                .get("ticket_id")
                .and_then(Value::as_u64)
                .ok_or("a comments record's ticket_id is not a number")?;
            let span = Span {
                file: *file,
                start: start.byte,
                end: end.byte,
            };
            directory.comments.entry(ticket).or_default().push(span);
        }
        return Ok(ControlFlow::Continue(()));
    }
    if object.contains_key("id") {
        return Ok(match pass {
            Pass::Scan { .. } => ControlFlow::Continue(()),
            Pass::Read { on_ticket } => on_ticket(Value::Object(object), start),
        });
    }
    Err("not a Zendesk ticket, page of tickets or comments record".to_owned())
}

struct TopSeed<'p, 'a> {
    pass: &'p mut Pass<'a>,
    at: &'p Rc<Cell<Option<Position>>>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Zendesk ticket, a page of tickets or an array of tickets")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        tickets(self.pass, self.at, seq)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut rest = serde_json::Map::new();
        let mut page = false;
        let mut stopped = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "tickets" => {
                    page = true;
                    let seed = TicketsSeed {
                        pass: &mut *self.pass,
                        at: self.at,
                    };
                    stopped |= matches!(map.next_value_seed(seed)?, Top::Stopped);
                }
                "users" | "groups" => {
                    page = true;
                    match &mut *self.pass {
                        Pass::Scan { directory, .. } if key == "users" => {
                            let users: Vec<User> = map.next_value()?;
                            directory.users.extend(users.into_iter().map(|u| (u.id, u)));
                        }
                        Pass::Scan { directory, .. } => {
                            let groups: Vec<Group> = map.next_value()?;
                            directory
                                .groups
                                .extend(groups.into_iter().filter_map(|g| Some((g.id, g.name?))));
                        }
                        Pass::Read { .. } => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                _ => {
                    let value: Value = map.next_value()?;
                    rest.insert(key, value);
                }
            }
        }
        Ok(if stopped {
            Top::Stopped
        } else if page {
            Top::Done
        } else {
            Top::Object(rest)
        })
    }
}

struct TicketsSeed<'p, 'a> {
    pass: &'p mut Pass<'a>,
    at: &'p Rc<Cell<Option<Position>>>,
}

impl<'de> DeserializeSeed<'de> for TicketsSeed<'_, '_> {
    type Value = Top;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Top, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for TicketsSeed<'_, '_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of tickets")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        tickets(self.pass, self.at, seq)
    }
}

/// Reads an array of tickets, one at a time.
fn tickets<'de, A: SeqAccess<'de>>(
    pass: &mut Pass<'_>,
    mark: &Rc<Cell<Option<Position>>>,
    mut seq: A,
) -> Result<Top, A::Error> {
    match pass {
        Pass::Scan { .. } => {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Top::Done)
        }
        Pass::Read { on_ticket } => loop {
            mark.set(None);
            let Some(value) = seq.next_element::<Value>()? else {
                return Ok(Top::Done);
            };
            let start = mark.get().unwrap_or(Position { line: 0, byte: 0 });
            if on_ticket(value, start).is_break() {
                // The rest of the array is not read.
                return Ok(Top::Stopped);
            }
        },
    }
}

/// Makes a record of a ticket.
fn record(
    ticket: Ticket,
    fetched: Vec<Comment>,
    directory: &Directory,
    options: &Options,
) -> Result<Record, String> {
    let outcome = match ticket.status.as_deref().unwrap_or("new") {
        "new" => Outcome::status("new"),
        "open" => Outcome::status("open"),
        "pending" => Outcome::status("answered"),
        "hold" => Outcome::status("postponed"),
        "solved" => Outcome::status("resolved"),
        "closed" | "archived" => Outcome::status("closed"),
        "deleted" => Outcome::void("deleted"),
        other => return Err(format!("unknown Zendesk status '{other}'")),
    };
    let priority = match ticket.priority.as_deref() {
        None | Some("normal") => Priority::Normal,
        Some("low") => Priority::Low,
        Some("high") => Priority::High,
        Some("urgent") => Priority::Urgent,
        Some(other) => return Err(format!("unknown Zendesk priority '{other}'")),
    };
    let created = time(&ticket.created_at, "created_at")?;
    let updated = match &ticket.updated_at {
        Some(at) => time(at, "updated_at")?,
        None => created,
    };
    let requester_id = ticket.requester_id.or(ticket.submitter_id);
    let person = |id: Option<u64>| id.map(|id| person(directory, id));
    let requester = person(requester_id).unwrap_or_default();
    let mut messages = Vec::new();
    // A comment given twice (overlapping pages, a file named twice) is
    // one message: the same id, or without ids the same time, author and
    // text.
    let mut ids = std::collections::HashSet::new();
    let mut unnamed = std::collections::HashSet::new();
    for comment in ticket.comments.unwrap_or(fetched) {
        let first = match comment.id {
            Some(id) => ids.insert(id),
            None => unnamed.insert((
                comment.created_at.clone(),
                comment.author_id,
                comment.body.clone(),
                comment.html_body.clone(),
            )),
        };
        if first {
            messages.push(message(comment, requester_id, directory)?);
        }
    }
    if messages.is_empty()
        && let Some(description) = ticket.description.filter(|d| !d.trim().is_empty())
    {
        messages.push(Message {
            at: created,
            author: requester.clone(),
            role: Role::Customer,
            note: false,
            body: description,
        });
    }
    let subject = ticket
        .subject
        .or(ticket.raw_subject)
        .filter(|s| !s.trim().is_empty())
        .or_else(|| {
            let first = messages.first()?;
            Some(text::one_line(&first.body, 80))
        })
        .unwrap_or_default();
    let mut fields = BTreeMap::new();
    for field in ticket.custom_fields {
        if let (Some(name), Some(value)) =
            (options.fields.get(&field.id), field_value(&field.value))
        {
            fields.insert(name.clone(), value);
        }
    }
    Ok(Record {
        source: format!("zendesk:{}", ticket.id),
        subject,
        outcome,
        priority,
        tags: ticket.tags,
        requester,
        assignee: person(ticket.assignee_id),
        department: ticket
            .group_id
            .and_then(|g| directory.groups.get(&g).cloned()),
        fields,
        created,
        updated,
        messages,
        rating: rating(ticket.satisfaction_rating.as_ref(), updated)?,
        at: None,
    })
}

/// A Zendesk user, or a stand-in naming the id of one the export lacks
/// (deleted, or not side-loaded).
fn person(directory: &Directory, id: u64) -> Person {
    match directory.users.get(&id) {
        Some(user) => Person {
            name: user.name.clone(),
            email: user.email.clone(),
            phone: user.phone.clone(),
        },
        None => Person {
            name: Some(format!("Zendesk user {id}")),
            ..Person::default()
        },
    }
}

/// A comment as a message: public comments of end users (and of an
/// unknown author who is the requester) are the customer's, the others
/// the helpdesk's; private ones are notes.
fn message(
    comment: Comment,
    requester: Option<u64>,
    directory: &Directory,
) -> Result<Message, String> {
    let at = time(&comment.created_at, "a comment's created_at")?;
    let author_id = comment.author_id;
    let role = match author_id.and_then(|id| directory.users.get(&id)) {
        Some(user) if user.role.as_deref() == Some("end-user") => Role::Customer,
        Some(_) => Role::Agent,
        None if author_id == requester => Role::Customer,
        None => Role::Agent,
    };
    let author = author_id
        .map(|id| person(directory, id))
        .unwrap_or_default();
    let plain = comment
        .body
        .or(comment.plain_body)
        .filter(|b| !b.trim().is_empty());
    let mut body = match (plain, comment.html_body) {
        (Some(plain), _) => plain,
        (None, Some(html)) => text::from_html(&html),
        (None, None) => String::new(),
    };
    for attachment in comment.attachments {
        let name = attachment.file_name.unwrap_or_else(|| "file".to_owned());
        let line = match attachment.content_url {
            Some(url) => format!("Attachment: {name} <{url}>"),
            None => format!("Attachment: {name}"),
        };
        if !body.is_empty() {
            body.push_str("\n\n");
        }
        body.push_str(&line);
    }
    Ok(Message {
        at,
        author,
        role,
        note: comment.public == Some(false),
        body,
    })
}

/// A satisfaction rating: good is 5, bad is 1; offered and unoffered are
/// none.
fn rating(value: Option<&Value>, updated: Timestamp) -> Result<Option<Rating>, String> {
    let Some(Value::Object(rating)) = value else {
        return Ok(None);
    };
    let score = match rating.get("score").and_then(Value::as_str) {
        Some("good") => 5,
        Some("bad") => 1,
        _ => return Ok(None),
    };
    let at = match rating
        .get("updated_at")
        .or_else(|| rating.get("created_at"))
        .and_then(Value::as_str)
    {
        Some(at) => time(at, "the rating's time")?,
        None => updated,
    };
    let comment = rating
        .get("comment")
        .and_then(Value::as_str)
        .filter(|c| !c.trim().is_empty())
        .map(str::to_owned);
    Ok(Some(Rating { score, comment, at }))
}

/// A custom field's value as TOML; `None` for null and for objects.
fn field_value(value: &Value) -> Option<toml::Value> {
    match value {
        Value::String(s) if !s.is_empty() => Some(toml::Value::String(s.clone())),
        Value::Bool(b) => Some(toml::Value::Boolean(*b)),
        Value::Number(n) => n
            .as_i64()
            .map(toml::Value::Integer)
            .or_else(|| n.as_f64().map(toml::Value::Float)),
        Value::Array(items) => {
            let words: Vec<String> = items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect();
            (!words.is_empty()).then(|| toml::Value::String(words.join(", ")))
        }
        _ => None,
    }
}

fn time(text: &str, what: &str) -> Result<Timestamp, String> {
    let at = text
        .parse()
        .map_err(|_| format!("{what} '{text}' is not an RFC 3339 time"))?;
    super::plausible(at, text).map_err(|e| format!("{what} {e}"))
}
