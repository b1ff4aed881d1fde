//! `tix import`: another helpdesk's tickets as one batch of commits
//! (docs/import.md).
//!
//! The export is read whole before anything is written: a broken file is
//! refused with the place it broke, and writes nothing (unless the bad
//! parts are to be skipped). Each record then becomes a new ticket, or
//! updates the ticket an earlier import made of it (found by its
//! `source`), or changes nothing. Every ticket is its own commit, authored
//! by the old helpdesk's person at the old time, committed by the
//! importer, all in one batch (`store/batch.rs`): a killed import leaves
//! whole tickets or none, and a rerun completes it.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::rc::Rc;

use git2::Oid;

use super::automate::{Phase, Progress};
use super::commit::commit_message_with;
use super::{Agent, Desk, Error};
use crate::domain::change::{Applied, field_text};
use crate::domain::fields::form_field;
use crate::domain::import::table::{self, Mapping};
use crate::domain::import::{self, Bad, Position, Record, zendesk};
use crate::model::{Ticket, TicketId, scan};
use crate::store::{BatchItem, BatchProgress, Signature, layout};

/// Which export a file is, as the command line names it.
#[derive(Clone, Debug)]
pub enum Format {
    /// Zendesk's JSON; custom fields kept by `ID=NAME` pairs.
    Zendesk {
        /// `--field-map` values.
        field_map: Vec<String>,
    },
    /// LiveAgent's CSV, its times in a zone.
    LiveAgent {
        /// `--timezone`.
        timezone: String,
    },
    /// Any CSV, its columns named by `KEY=COLUMN` pairs.
    Csv {
        /// `--map` values.
        map: Vec<String>,
        /// `--source`: what each source id starts with.
        source: String,
        /// `--timezone`.
        timezone: String,
    },
}

/// How the export is read.
enum Reader {
    Zendesk(zendesk::Options),
    Table(Mapping),
}

impl Format {
    /// The reader of the format, or why its options are wrong.
    fn reader(&self) -> Result<Reader, Error> {
        let zone = |name: &str| -> Result<chrono_tz::Tz, Error> {
            name.parse().map_err(|_| {
                Error::Request(format!(
                    "--timezone '{name}' is not a time zone: use a name such as UTC or Europe/Prague"
                ))
            })
        };
        Ok(match self {
            Self::Zendesk { field_map } => Reader::Zendesk(zendesk::Options {
                fields: field_map_of(field_map)?,
            }),
            Self::LiveAgent { timezone } => Reader::Table(Mapping::liveagent(zone(timezone)?)),
            Self::Csv {
                map,
                source,
                timezone,
            } => {
                let name = source.trim();
                let word = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
                if name.is_empty() || name.len() > 40 || !name.chars().all(word) {
                    return Err(Error::Request(
                        "--source takes a name of up to 40 letters, digits, '-', '_' or '.' \
                         (it starts each ticket's source id, as in freshdesk:1042)"
                            .to_owned(),
                    ));
                }
                Reader::Table(Mapping::parse(name, map, zone(timezone)?).map_err(Error::Request)?)
            }
        })
    }
}

/// `--field-map 360001=plan` as Zendesk field ids to desk field names.
fn field_map_of(pairs: &[String]) -> Result<std::collections::BTreeMap<u64, String>, Error> {
    let mut map = std::collections::BTreeMap::new();
    for pair in pairs.iter().flat_map(|p| p.split(',')) {
        let Some((id, name)) = pair.split_once('=') else {
            return Err(Error::Request(format!(
                "--field-map '{pair}' is not ID=NAME (a Zendesk field id, a field of the desk)"
            )));
        };
        let id: u64 = id.trim().parse().map_err(|_| {
            Error::Request(format!(
                "--field-map '{pair}': '{id}' is not a Zendesk field id"
            ))
        })?;
        map.insert(id, name.trim().to_owned());
    }
    Ok(map)
}

/// What to import and how.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The export's format.
    pub format: Format,
    /// Its files, read as one export.
    pub files: Vec<PathBuf>,
    /// Leave out the parts that cannot be read instead of refusing all.
    pub skip_bad: bool,
    /// Say what would be done, write nothing.
    pub dry_run: bool,
}

/// A part of the export left out.
#[derive(Clone, Debug)]
pub struct Skipped {
    /// The file.
    pub file: String,
    /// Where in it, when the part is not a whole ticket read well.
    pub at: Option<Position>,
    /// The old helpdesk's id, when known.
    pub id: Option<String>,
    /// Why.
    pub reason: String,
}

impl Skipped {
    /// `FILE: line L (byte B), ticket ID: reason`.
    pub fn describe(&self) -> String {
        let mut out = self.file.clone();
        if let Some(at) = self.at {
            out.push_str(&format!(": {at}"));
        }
        if let Some(id) = &self.id {
            out.push_str(&format!(": ticket {id}"));
        }
        out.push_str(&format!(": {}", self.reason));
        out
    }
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Tickets read from the export (each once).
    pub records: usize,
    /// Tickets made.
    pub created: Vec<TicketId>,
    /// Tickets brought up to date.
    pub updated: Vec<TicketId>,
    /// Tickets already as the export has them.
    pub unchanged: usize,
    /// Parts left out (with `skip_bad`).
    pub skipped: Vec<Skipped>,
    /// Tickets not written because they changed while the import ran
    /// (running it again completes them).
    pub not_committed: Vec<(TicketId, String)>,
}

/// A ticket the export held: the last change of the record read, and the
/// item it made (none when the ticket is as the record has it). An export
/// may hold a ticket twice (an incremental export lists it at each
/// change): the later record replaces the earlier.
struct Seen {
    updated: crate::model::Timestamp,
    item: Option<usize>,
}

impl Desk {
    /// Imports an export as `agent` at `now`.
    pub fn import(
        &self,
        options: &ImportOptions,
        agent: &Agent,
        now: crate::model::Timestamp,
        progress: &mut dyn Progress,
    ) -> Result<ImportReport, Error> {
        let reader = options.format.reader()?;
        self.check_mapped_fields(&reader)?;
        let mut sizes = Vec::new();
        for path in &options.files {
            let meta = std::fs::metadata(path).map_err(|e| unreadable(path, &e))?;
            if !meta.is_file() {
                return Err(Error::Import(format!("{} is not a file", path.display())));
            }
            sizes.push(meta.len());
        }
        let mut work = Work {
            desk: self,
            known: self.sources()?,
            seen: HashMap::new(),
            items: Vec::new(),
            importer: agent.signature(now),
            told: HashSet::new(),
            report: ImportReport::default(),
            first_bad: None,
            skip_bad: options.skip_bad,
        };
        read_export(options, &reader, &sizes, &mut work, progress)?;
        if let Some(bad) = work.first_bad.take() {
            return Err(Error::Import(format!(
                "{}; nothing was imported (--skip-bad leaves such parts out)",
                bad.describe()
            )));
        }
        let Work {
            items, mut report, ..
        } = work;
        let items: Vec<BatchItem> = items.into_iter().flatten().collect();
        let new: HashSet<TicketId> = items
            .iter()
            .filter(|i| i.is_new())
            .map(|i| i.id.clone())
            .collect();
        if items.is_empty() {
            // Nothing to write: no lock, no refresh of the working tree.
            return Ok(report);
        }
        progress.start(Phase::Committing, items.len());
        let mut changed = Vec::new();
        let done = self.store().write_batch(
            items,
            &agent.signature(now),
            options.dry_run,
            &mut |step| match step {
                BatchProgress::Built(n) => progress.advance(n),
                BatchProgress::Writing => progress.start(Phase::Writing, 0),
            },
            &mut |ids| {
                changed.extend_from_slice(ids);
                Vec::new()
            },
        )?;
        for id in done.committed {
            if new.contains(&id) {
                report.created.push(id);
            } else {
                report.updated.push(id);
            }
        }
        report.not_committed = done.skipped;
        report.not_committed.extend(changed.into_iter().map(|id| {
            (
                id,
                "it changed while the import ran; import again".to_owned(),
            )
        }));
        Ok(report)
    }

    /// Refuses a mapping to a custom field the desk's form lacks.
    fn check_mapped_fields(&self, reader: &Reader) -> Result<(), Error> {
        let names: Vec<&String> = match reader {
            Reader::Zendesk(options) => options.fields.values().collect(),
            Reader::Table(mapping) => mapping
                .columns
                .keys()
                .filter_map(|k| match k {
                    table::Key::Field(name) => Some(name),
                    _ => None,
                })
                .collect(),
        };
        for name in names {
            form_field(&self.config().fields, name).map_err(Error::Request)?;
        }
        Ok(())
    }

    /// Every ticket's source (of those that have one) with its id and
    /// blob, and every ticket id, through a cache of their own.
    fn sources(&self) -> Result<Known, Error> {
        let mut known = Known::default();
        let mut unreadable = Vec::new();
        let derive = |raw: crate::store::RawTicket| -> Option<String> {
            let text = raw.text.ok()?;
            match scan::without_bodies(&text).or_else(|| Ticket::parse(&text).ok()) {
                Some(ticket) => Some(ticket.source.unwrap_or_default()),
                // A file broken elsewhere still names its source: an
                // import must not make its ticket a second time.
                None => Some(source_line(&text).unwrap_or_default()),
            }
        };
        self.store().scan_cache(
            "import",
            "sources-1",
            &derive,
            &|_| false,
            false,
            &|_| {},
            &mut |item| {
                let Some(id) = item
                    .file
                    .strip_suffix(".toml")
                    .and_then(|f| f.parse::<TicketId>().ok())
                else {
                    return;
                };
                match item.payload {
                    None => unreadable.push(format!("{}/{}", item.shard, item.file)),
                    Some("") => {}
                    Some(source) => {
                        known
                            .sources
                            .insert(source.to_owned(), (id.clone(), item.blob));
                    }
                }
                known.ids.insert(id);
            },
        )?;
        if let Some(file) = unreadable.first() {
            return Err(Error::Import(format!(
                "the ticket file tickets/{file} is not text; an import could make its ticket \
                 a second time: fix it first (`tix doctor` lists the problems)"
            )));
        }
        Ok(known)
    }
}

/// The `source = "..."` line of a ticket file that does not parse, when it
/// has one tix could have written (no escapes).
fn source_line(text: &str) -> Option<String> {
    text.lines()
        .take_while(|line| !line.starts_with('['))
        .find_map(|line| line.strip_prefix("source = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|value| !value.contains(['\\', '"']))
        .map(str::to_owned)
}

/// The desk's tickets as an import needs them.
#[derive(Default)]
struct Known {
    sources: HashMap<String, (TicketId, Oid)>,
    ids: HashSet<TicketId>,
}

/// What an import collects while it reads.
struct Work<'d> {
    desk: &'d Desk,
    known: Known,
    seen: HashMap<String, Seen>,
    /// The tickets to commit; `None` for one a later record of the same
    /// ticket found unchanged.
    items: Vec<Option<BatchItem>>,
    /// The committer, and the author of a ticket whose person git cannot
    /// name.
    importer: Signature,
    /// The places of bad parts told of (the scan and the read of a Zendesk
    /// export meet the same ones).
    told: HashSet<(String, u64)>,
    report: ImportReport,
    first_bad: Option<Skipped>,
    skip_bad: bool,
}

impl Work<'_> {
    /// Whether reading should stop (a bad part without `skip_bad`).
    fn stopped(&self) -> bool {
        self.first_bad.is_some()
    }

    /// Notes a bad part; stops unless bad parts are skipped.
    fn bad(&mut self, file: &str, bad: Bad) -> ControlFlow<()> {
        self.told.insert((file.to_owned(), bad.at.byte));
        self.skip(Skipped {
            file: file.to_owned(),
            at: Some(bad.at),
            id: bad.id,
            reason: bad.reason,
        })
    }

    /// Leaves a part out, or stops unless bad parts are skipped.
    fn skip(&mut self, skipped: Skipped) -> ControlFlow<()> {
        if self.skip_bad {
            self.report.skipped.push(skipped);
            ControlFlow::Continue(())
        } else {
            self.first_bad.get_or_insert(skipped);
            ControlFlow::Break(())
        }
    }

    /// Takes one record (or bad part) of the export; a bad part the
    /// export's first read told of already is not told again.
    fn take(&mut self, file: &str, found: Result<Record, Bad>) -> ControlFlow<()> {
        let record = match found {
            Ok(record) => record,
            Err(bad) if !self.told.insert((file.to_owned(), bad.at.byte)) => {
                return ControlFlow::Continue(());
            }
            Err(bad) => return self.bad(file, bad),
        };
        let at = record.at;
        match self.item(record) {
            Ok(()) => ControlFlow::Continue(()),
            Err((id, reason)) => self.skip(Skipped {
                file: file.to_owned(),
                at,
                id,
                reason,
            }),
        }
    }

    /// Takes a record: makes the batch item of its ticket, or finds the
    /// ticket as the record has it; a later record of a ticket the export
    /// held already replaces the earlier one's outcome.
    fn item(&mut self, mut record: Record) -> Result<(), (Option<String>, String)> {
        let source = record.source.clone();
        let refuse = |reason: String| (Some(source.clone()), reason);
        for (name, value) in &mut record.fields {
            let def = form_field(&self.desk.config().fields, name).map_err(&refuse)?;
            *value = def
                .parse_value(&field_text(value))
                .map_err(|e| refuse(format!("field {name}: {e}")))?;
        }
        let last = record.last();
        let earlier = self.seen.get(&source).map(|s| (s.updated, s.item));
        if earlier.is_some_and(|(updated, _)| updated >= last) {
            return Ok(());
        }
        let earlier_item = earlier.and_then(|(_, item)| item);
        let id = earlier_item.and_then(|i| self.items[i].as_ref().map(|t| t.id.clone()));
        let made = self.make(&record, id).map_err(refuse)?;
        let index = match (earlier, made) {
            (None, None) | (Some((_, Some(_))), None) => {
                self.report.unchanged += 1;
                if let Some(index) = earlier_item {
                    self.items[index] = None;
                }
                None
            }
            (Some((_, None)), None) => None,
            (earlier, Some(item)) => {
                if matches!(earlier, Some((_, None))) {
                    self.report.unchanged -= 1;
                }
                let item = author(item, &record, last, &self.importer);
                Some(match earlier_item {
                    Some(index) => {
                        self.items[index] = Some(item);
                        index
                    }
                    None => {
                        self.items.push(Some(item));
                        self.items.len() - 1
                    }
                })
            }
        };
        if earlier.is_none() {
            self.report.records += 1;
        }
        self.seen.insert(
            source,
            Seen {
                updated: last,
                item: index,
            },
        );
        Ok(())
    }

    /// The batch item of a record's ticket (the new ticket `id` when an
    /// earlier record of it drew one), or `None` when the ticket is as
    /// the record has it.
    fn make(&mut self, record: &Record, id: Option<TicketId>) -> Result<Option<BatchItem>, String> {
        let statuses = &self.desk.config().statuses;
        let source = &record.source;
        if let Some((id, blob)) = self.known.sources.get(source) {
            // A ticket nobody touched since an import of this same record
            // is the file the record makes: known by its blob id, without
            // reading it.
            let fresh = import::new_ticket(id.clone(), record, statuses).map_err(|e| e.0)?;
            let made = fresh.to_toml(statuses);
            if Oid::hash_object(git2::ObjectType::Blob, made.as_bytes()).ok() == Some(*blob) {
                return Ok(None);
            }
            let raw = self.desk.store().read_blob(layout::ticket_path(id), *blob);
            let text = raw.text.map_err(|e| e.to_string())?;
            let existing = Ticket::parse(&text).map_err(|e| {
                format!(
                    "its ticket {id} does not parse ({}): fix the file first (`tix doctor`)",
                    e.message
                )
            })?;
            let before = existing.summary(statuses).status;
            let Some(ticket) = import::refresh_from(&existing, &fresh, record, statuses) else {
                return Ok(None);
            };
            let message = message(&ticket, source, &before, statuses);
            let content = ticket.to_toml(statuses);
            return Ok(Some(BatchItem::new(id.clone(), *blob, &content, message)));
        }
        let id = match id {
            Some(id) => id,
            None => {
                let known = &self.known.ids;
                let id = import::ticket_id(source, &|id| known.contains(id));
                self.known.ids.insert(id.clone());
                id
            }
        };
        let ticket = import::new_ticket(id.clone(), record, statuses).map_err(|e| e.0)?;
        let message = message(&ticket, source, "new", statuses);
        let content = ticket.to_toml(statuses);
        Ok(Some(BatchItem::create(id, &content, message)))
    }
}

/// Reads the whole export into `work`, telling `progress` how many bytes
/// are read.
fn read_export(
    options: &ImportOptions,
    reader: &Reader,
    sizes: &[u64],
    work: &mut Work<'_>,
    progress: &mut dyn Progress,
) -> Result<(), Error> {
    let passes = if matches!(reader, Reader::Zendesk(_)) {
        2
    } else {
        1
    };
    let total: u64 = sizes.iter().sum::<u64>() * passes;
    progress.start(Phase::Loading, usize::try_from(total).unwrap_or(usize::MAX));
    let read = Rc::new(Cell::new(0u64));
    let mut tick = |done: u64| progress.advance(usize::try_from(done).unwrap_or(usize::MAX));
    match reader {
        Reader::Zendesk(zendesk_options) => {
            let mut directory = zendesk::Directory::default();
            for (n, path) in options.files.iter().enumerate() {
                let file = name(path);
                let input = counted(path, &read)?;
                zendesk::scan(input, n, &mut directory, &mut |bad| work.bad(&file, bad))
                    .map_err(|e| unreadable(path, &e))?;
                tick(read.get());
                if work.stopped() {
                    break;
                }
            }
            let mut fetch = |span: &zendesk::Span| read_span(&options.files[span.file], span);
            for path in &options.files {
                if work.stopped() {
                    break;
                }
                let file = name(path);
                let input = counted(path, &read)?;
                zendesk::read(
                    input,
                    &directory,
                    zendesk_options,
                    &mut fetch,
                    &mut |found| {
                        tick(read.get());
                        work.take(&file, found)
                    },
                )
                .map_err(|e| unreadable(path, &e))?;
            }
        }
        Reader::Table(mapping) => {
            for path in &options.files {
                let file = name(path);
                let input = counted(path, &read)?;
                table::read(input, mapping, &mut |found| {
                    tick(read.get());
                    work.take(&file, found)
                })
                .map_err(|e| Error::Import(format!("{file}: {e}")))?;
                if work.stopped() {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The commit message of an imported ticket.
fn message(
    ticket: &Ticket,
    source: &str,
    before: &str,
    statuses: &crate::model::status::Statuses,
) -> String {
    let after = ticket.summary(statuses).status;
    let applied = Applied {
        action: "import",
        status: (after != before).then(|| (before.to_owned(), after)),
        recorded: 0,
    };
    commit_message_with(ticket, &applied, source, &[])
}

/// Authors an item's commit by the record's person at the record's last
/// time; by the importer at that time when the person has no address git
/// can write.
fn author(
    item: BatchItem,
    record: &Record,
    at: crate::model::Timestamp,
    importer: &Signature,
) -> BatchItem {
    let person = record.author();
    let email = person.email.clone().unwrap_or_default();
    let name = person
        .name
        .clone()
        .or_else(|| email.split('@').next().map(str::to_owned))
        .unwrap_or_default();
    let signature = Signature {
        name: import::text::one_line(&name, 200),
        email: import::text::one_line(&email, 200),
        time: at,
    };
    let importer = Signature {
        time: at,
        ..importer.clone()
    };
    item.clone()
        .authored_by(&signature)
        .or_else(|_| item.clone().authored_by(&importer))
        .unwrap_or(item)
}

fn name(path: &std::path::Path) -> String {
    path.display().to_string()
}

fn unreadable(path: &std::path::Path, err: &io::Error) -> Error {
    Error::Import(format!("cannot read {}: {err}", path.display()))
}

/// A file read through a count of its bytes (for the progress bar).
fn counted(path: &std::path::Path, read: &Rc<Cell<u64>>) -> Result<BufReader<Counting>, Error> {
    let file = File::open(path).map_err(|e| unreadable(path, &e))?;
    Ok(BufReader::with_capacity(
        64 * 1024,
        Counting {
            file,
            read: Rc::clone(read),
        },
    ))
}

struct Counting {
    file: File,
    read: Rc<Cell<u64>>,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl Seek for Counting {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.file.seek(to)
    }
}

/// The bytes of a comments record.
fn read_span(path: &std::path::Path, span: &zendesk::Span) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(span.start))?;
    let len = usize::try_from(span.end.saturating_sub(span.start)).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(len.min(1 << 24));
    file.take(len as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}
