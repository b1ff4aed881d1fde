//! CSV exports as records: one ticket a row (docs/import.md, "LiveAgent"
//! and "Any CSV").
//!
//! A [`Mapping`] says which column holds what; LiveAgent's export has one
//! of its own ([`Mapping::liveagent`]), any other tool's is given with
//! `--map`. A CSV export holds no conversation: a row's text becomes the
//! ticket's first message, from the customer at the creation time, or,
//! for LiveAgent's preview of the latest message, a note at the last
//! change.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::Read;
use std::ops::ControlFlow;
use std::rc::Rc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use super::{Bad, Message, Outcome, Person, Position, Record};
use crate::model::{Priority, Role, Timestamp};

/// What a column holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// The ticket's id in the old helpdesk (required).
    Id,
    /// The subject.
    Subject,
    /// The first message.
    Body,
    /// The status word or code.
    Status,
    /// The priority word.
    Priority,
    /// The requester's address.
    Email,
    /// The requester's name.
    Name,
    /// The requester's first name (joined with the last name).
    FirstName,
    /// The requester's last name.
    LastName,
    /// The requester's phone.
    Phone,
    /// The agent who owned it (name or address).
    Assignee,
    /// The team.
    Department,
    /// Tags, separated by commas (or the mapping's separator).
    Tags,
    /// When it was opened.
    Created,
    /// When it last changed.
    Updated,
    /// A custom field of the desk.
    Field(String),
}

/// The keys `--map` takes by name, in the order the guide lists them
/// (and `field.NAME`).
const PLAIN: [(&str, Key); 15] = [
    ("id", Key::Id),
    ("subject", Key::Subject),
    ("body", Key::Body),
    ("status", Key::Status),
    ("priority", Key::Priority),
    ("email", Key::Email),
    ("name", Key::Name),
    ("first_name", Key::FirstName),
    ("last_name", Key::LastName),
    ("phone", Key::Phone),
    ("assignee", Key::Assignee),
    ("department", Key::Department),
    ("tags", Key::Tags),
    ("created", Key::Created),
    ("updated", Key::Updated),
];

impl Key {
    fn parse(name: &str) -> Result<Self, String> {
        if let Some((_, key)) = PLAIN.iter().find(|(plain, _)| *plain == name) {
            return Ok(key.clone());
        }
        match name.strip_prefix("field.") {
            Some(field) if !field.is_empty() => Ok(Self::Field(field.to_owned())),
            _ => {
                let names: Vec<&str> = PLAIN.iter().map(|(plain, _)| *plain).collect();
                Err(format!(
                    "unknown key '{name}' in --map: use {}, or field.NAME",
                    names.join(", ")
                ))
            }
        }
    }

    /// The key's name in `--map`.
    fn name(&self) -> String {
        match self {
            Self::Field(name) => format!("field.{name}"),
            other => PLAIN
                .iter()
                .find(|(_, key)| key == other)
                .map_or_else(String::new, |(plain, _)| (*plain).to_owned()),
        }
    }
}

/// How status values of a CSV map to the desk's statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusCodes {
    /// LiveAgent's one-letter codes.
    LiveAgent,
    /// Words: the desk's own status ids and the common helpdesk words.
    Words,
}

/// Which column holds what, and how to read the values.
#[derive(Clone, Debug)]
pub struct Mapping {
    /// The source name of the records (`liveagent`, `csv`).
    pub source: String,
    /// Key to the column headers that may hold it, the first found
    /// taken (exports name columns in the user's language).
    pub columns: BTreeMap<Key, Vec<String>>,
    /// Whether a file must have every column named (a `--map`), or only
    /// the id and creation time (a known export whose columns vary).
    pub strict: bool,
    /// How statuses are written.
    pub statuses: StatusCodes,
    /// Whether the body is a preview of the latest message (LiveAgent's),
    /// by nobody knows whom: kept as a note at the last change, rather
    /// than the customer's first message.
    pub latest: bool,
    /// The zone of times written without an offset.
    pub zone: Tz,
}

impl Mapping {
    /// A mapping from `--map` texts (`subject=Title,email=From`).
    pub fn parse(source: &str, maps: &[String], zone: Tz) -> Result<Self, String> {
        let mut columns = BTreeMap::new();
        for pair in maps.iter().flat_map(|m| m.split(',')) {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let Some((key, column)) = pair.split_once('=') else {
                return Err(format!("'{pair}' in --map is not KEY=COLUMN"));
            };
            let key = Key::parse(key.trim())?;
            if columns
                .insert(key.clone(), vec![column.trim().to_owned()])
                .is_some()
            {
                return Err(format!("--map names the column of '{}' twice", key.name()));
            }
        }
        if !columns.contains_key(&Key::Id) {
            return Err(
                "--map needs id=COLUMN: without the old ids a later import cannot find the \
                 tickets again"
                    .to_owned(),
            );
        }
        Ok(Self {
            source: source.to_owned(),
            columns,
            strict: true,
            statuses: StatusCodes::Words,
            latest: false,
            zone,
        })
    }

    /// LiveAgent's ticket export (docs/import.md lists its columns).
    pub fn liveagent(zone: Tz) -> Self {
        let columns: [(Key, &[&str]); 15] = [
            (Key::Id, &["Code", "Conversation Id", "Ticket ID", "ID"]),
            (Key::Subject, &["Subject"]),
            (Key::Body, &["Preview", "Message"]),
            (Key::Status, &["Status"]),
            (Key::Priority, &["Priority"]),
            (Key::Email, &["Emails", "Email", "Owner email"]),
            (Key::Name, &["System Name", "Owner name", "Name"]),
            (Key::FirstName, &["First Name"]),
            (Key::LastName, &["Last Name"]),
            (Key::Phone, &["Phones", "Phone"]),
            (Key::Assignee, &["Agent Name", "Agent"]),
            (Key::Department, &["Department Name", "Department"]),
            (Key::Tags, &["Tag Names", "Tags"]),
            (Key::Created, &["Create Date", "Date created", "Created"]),
            (Key::Updated, &["Change Date", "Date changed", "Changed"]),
        ];
        Self {
            source: "liveagent".to_owned(),
            columns: columns
                .into_iter()
                .map(|(k, names)| (k, names.iter().map(|&n| n.to_owned()).collect()))
                .collect(),
            strict: false,
            statuses: StatusCodes::LiveAgent,
            latest: true,
            zone,
        }
    }
}

/// Reads every row of a CSV export as a record (or why it is not one),
/// until `sink` breaks. Refuses a file without a column the mapping
/// names.
pub fn read(
    input: impl Read,
    mapping: &Mapping,
    sink: &mut dyn FnMut(Result<Record, Bad>) -> ControlFlow<()>,
) -> Result<(), String> {
    let quotes = Rc::new(Cell::new(0u64));
    let input = Quotes {
        inner: input,
        count: Rc::clone(&quotes),
    };
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| format!("the header row cannot be read: {e}"))?
        .clone();
    let at = columns(&headers, mapping)?;
    let mut row = csv::StringRecord::new();
    // A row is handed on when the next one is read: the reader takes a
    // quote that is never closed as a field running to the end of the
    // file, which only the count of quotes tells.
    let mut held: Option<(Result<Record, Bad>, Position)> = None;
    loop {
        let read = reader.read_record(&mut row);
        let position = |p: Option<&csv::Position>| Position {
            line: p.map_or(0, csv::Position::line),
            byte: p.map_or(0, csv::Position::byte),
        };
        let outcome = match read {
            Ok(false) => {
                if let Some((last, started)) = held.take() {
                    let last = if quotes.get() % 2 == 1 {
                        let (at, id) = match last {
                            Ok(record) => (started, Some(record.source)),
                            Err(bad) => (bad.at, bad.id),
                        };
                        Err(Bad {
                            at,
                            id: id.map(|s| {
                                s.split_once(':').map_or(s.clone(), |(_, id)| id.to_owned())
                            }),
                            reason: "a quote opened in this row is never closed: the row runs to \
                                     the end of the file"
                                .to_owned(),
                        })
                    } else {
                        last
                    };
                    let _ = sink(last);
                }
                return Ok(());
            }
            Ok(true) => {
                let cells = Row { row: &row, at: &at };
                let started = position(row.position());
                record(&cells, mapping)
                    .map(|mut r| {
                        r.at = Some(started);
                        r
                    })
                    .map_err(|reason| Bad {
                        at: position(row.position()),
                        id: cells.get(&Key::Id).map(str::to_owned),
                        reason,
                    })
            }
            Err(err) => {
                let reason = match err.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!(
                        "the row has {len} fields where the header has {expected_len} \
                         (a quote left open?)"
                    ),
                    _ => err.to_string(),
                };
                let stop = err.is_io_error();
                let bad = Bad {
                    at: position(err.position()),
                    id: None,
                    reason,
                };
                if stop {
                    return Err(bad.reason);
                }
                Err(bad)
            }
        };
        let started = position(row.position());
        if let Some((previous, _)) = held.replace((outcome, started))
            && sink(previous).is_break()
        {
            return Ok(());
        }
    }
}

/// Counts the quotes read.
struct Quotes<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Quotes<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let quotes = buf[..n].iter().filter(|&&b| b == b'"').count();
        self.count.set(self.count.get() + quotes as u64);
        Ok(n)
    }
}

/// Where each key's column is in the header row.
fn columns(headers: &csv::StringRecord, mapping: &Mapping) -> Result<BTreeMap<Key, usize>, String> {
    let clean = |h: &str| h.trim_start_matches('\u{feff}').trim().to_lowercase();
    let mut at = BTreeMap::new();
    for (key, names) in &mapping.columns {
        let index = names.iter().find_map(|name| {
            let wanted = clean(name);
            headers.iter().position(|h| clean(h) == wanted)
        });
        match index {
            Some(index) => {
                at.insert(key.clone(), index);
            }
            None if !mapping.strict && !matches!(key, Key::Id | Key::Created) => {}
            None => {
                return Err(format!(
                    "the file has no column '{}' (for {}); its columns: {}",
                    names.join("' or '"),
                    key.name(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    Ok(at)
}

/// A row with the columns of the mapping's keys.
struct Row<'r> {
    row: &'r csv::StringRecord,
    at: &'r BTreeMap<Key, usize>,
}

impl<'r> Row<'r> {
    /// The trimmed cell of a key; `None` when empty.
    fn get(&self, key: &Key) -> Option<&'r str> {
        self.at
            .get(key)
            .and_then(|&i| self.row.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// Makes a record of a row.
fn record(row: &Row<'_>, mapping: &Mapping) -> Result<Record, String> {
    let get = |key: &Key| row.get(key);
    let id = get(&Key::Id).ok_or("the row has no id")?;
    let outcome = match get(&Key::Status) {
        None => Outcome::status("new"),
        Some(status) => match mapping.statuses {
            StatusCodes::LiveAgent => liveagent_status(status)?,
            StatusCodes::Words => status_word(status),
        },
    };
    let priority = match get(&Key::Priority) {
        None => Priority::Normal,
        Some(word) => priority_word(word)?,
    };
    let created = match get(&Key::Created) {
        Some(text) => time(text, mapping.zone)?,
        None => return Err("the row has no creation time".to_owned()),
    };
    let updated = match get(&Key::Updated) {
        Some(text) => time(text, mapping.zone)?.max(created),
        None => created,
    };
    let requester = requester(row);
    let messages = message(row, mapping, &requester, created, updated)
        .into_iter()
        .collect();
    let assignee = get(&Key::Assignee).map(|agent| {
        if agent.contains('@') {
            Person {
                email: Some(agent.to_owned()),
                ..Person::default()
            }
        } else {
            Person {
                name: Some(agent.to_owned()),
                ..Person::default()
            }
        }
    });
    let tags = get(&Key::Tags)
        .map(|t| t.split([',', ';', '|']).map(str::to_owned).collect())
        .unwrap_or_default();
    let mut fields = BTreeMap::new();
    for key in mapping.columns.keys() {
        if let (Key::Field(name), Some(value)) = (key, get(key)) {
            fields.insert(name.clone(), toml::Value::String(value.to_owned()));
        }
    }
    Ok(Record {
        source: format!("{}:{id}", mapping.source),
        subject: get(&Key::Subject).unwrap_or_default().to_owned(),
        outcome,
        priority,
        tags,
        requester,
        assignee,
        department: get(&Key::Department).map(str::to_owned),
        fields,
        created,
        updated,
        messages,
        rating: None,
        at: None,
    })
}

/// The requester of a row: the first and last name joined, else the
/// name; the first of several addresses and phones.
fn requester(row: &Row<'_>) -> Person {
    let get = |key: &Key| row.get(key);
    let first = |key: &Key| {
        get(key)
            .and_then(|v| v.split([',', ';']).map(str::trim).find(|v| !v.is_empty()))
            .map(str::to_owned)
    };
    let full_name = [get(&Key::FirstName), get(&Key::LastName)]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    Person {
        name: Some(full_name)
            .filter(|n| !n.is_empty())
            .or_else(|| get(&Key::Name).map(str::to_owned)),
        email: first(&Key::Email),
        phone: first(&Key::Phone),
    }
}

/// A row's text: the customer's first message, or a note holding the
/// preview of the latest message.
fn message(
    row: &Row<'_>,
    mapping: &Mapping,
    requester: &Person,
    created: Timestamp,
    updated: Timestamp,
) -> Option<Message> {
    let body = row.get(&Key::Body).map(|b| {
        if super::text::looks_like_html(b) {
            super::text::from_html(b)
        } else {
            b.to_owned()
        }
    });
    body.filter(|b| !b.trim().is_empty()).map(|body| {
        if mapping.latest {
            Message {
                at: updated,
                author: Person {
                    name: Some(mapping.source.clone()),
                    ..Person::default()
                },
                role: Role::Agent,
                note: true,
                body: format!("The latest message, as the export previews it:\n\n{body}"),
            }
        } else {
            Message {
                at: created,
                author: requester.clone(),
                role: Role::Customer,
                note: false,
                body,
            }
        }
    })
}

/// LiveAgent's status codes. Init, chatting and calling are a live chat or
/// call still going on when the export was made: the ticket needs an
/// agent, so it is open.
fn liveagent_status(code: &str) -> Result<Outcome, String> {
    Ok(match code {
        "N" => Outcome::status("new"),
        "C" | "I" | "T" | "P" => Outcome::status("open"),
        "A" => Outcome::status("answered"),
        "W" => Outcome::status("postponed"),
        "R" => Outcome::status("resolved"),
        "L" => Outcome::status("closed"),
        "B" => Outcome::void("spam"),
        "X" => Outcome::void("deleted"),
        other => {
            return Err(format!(
                "unknown LiveAgent status '{other}': the codes are I N T P A C W R L B X"
            ));
        }
    })
}

/// A status word of another helpdesk: the common ones (`pending`, `on
/// hold`, `solved`) as the desk's, anything else as a status id of the
/// desk (checked when the ticket is made).
fn status_word(word: &str) -> Outcome {
    let word = word.trim().to_lowercase().replace(['-', ' '], "_");
    match word.as_str() {
        "pending" | "waiting" | "waiting_on_customer" | "awaiting_reply" | "replied" => {
            Outcome::status("answered")
        }
        "hold" | "on_hold" | "waiting_on_third_party" | "snoozed" => Outcome::status("postponed"),
        "solved" | "done" | "fixed" => Outcome::status("resolved"),
        "active" | "reopened" => Outcome::status("open"),
        "spam" => Outcome::void("spam"),
        "deleted" | "trash" => Outcome::void("deleted"),
        _ => Outcome::status(&word),
    }
}

fn priority_word(word: &str) -> Result<Priority, String> {
    Ok(match word.trim().to_lowercase().as_str() {
        "low" | "1" => Priority::Low,
        "normal" | "medium" | "2" => Priority::Normal,
        "high" | "3" => Priority::High,
        "urgent" | "critical" | "4" => Priority::Urgent,
        other => return Err(format!("unknown priority '{other}'")),
    })
}

/// A time as exports write them: RFC 3339, or a date and time without an
/// offset (in `zone`), or a date alone (its midnight in `zone`), between
/// 1970 and 9999.
pub fn time(text: &str, zone: Tz) -> Result<Timestamp, String> {
    super::plausible(any_time(text, zone)?, text)
}

fn any_time(text: &str, zone: Tz) -> Result<Timestamp, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Timestamp::from_datetime(at.to_utc()));
    }
    for format in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M %z",
    ] {
        if let Ok(at) = DateTime::parse_from_str(text, format) {
            return Ok(Timestamp::from_datetime(at.to_utc()));
        }
    }
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    let Some(naive) = naive else {
        return Err(format!(
            "'{text}' is not a time: use RFC 3339 or YYYY-MM-DD HH:MM:SS"
        ));
    };
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|at| Timestamp::from_datetime(at.to_utc()))
        .ok_or_else(|| format!("'{text}' does not exist in {zone}"))
}
