//! The one-line summary of a ticket that listings and filters use.
//!
//! A [`ListEntry`] holds the header fields and the state derived from the
//! event log, but not the conversation. It has a compact text encoding so
//! the store's cache can keep one per ticket blob (see `store/cache.rs`):
//! listing 100,000 tickets then reads one file instead of parsing 100,000.

use crate::domain::lifecycle::{Category, Statuses};
use crate::model::{EventKind, Priority, Ticket, TicketId, Timestamp};

/// What a listing needs to know about a ticket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// The id.
    pub id: TicketId,
    /// One-line subject.
    pub subject: String,
    /// Current status id.
    pub status: String,
    /// Its category, when the desk knows the status.
    pub category: Option<Category>,
    /// How urgent.
    pub priority: Priority,
    /// Owning agent.
    pub assignee: Option<String>,
    /// Owning department.
    pub department: Option<String>,
    /// Sorted tags.
    pub tags: Vec<String>,
    /// Customer name.
    pub customer_name: Option<String>,
    /// Customer address.
    pub customer_email: Option<String>,
    /// Custom fields, as text.
    pub fields: Vec<(String, String)>,
    /// Creation time.
    pub created: Option<Timestamp>,
    /// Time of the last event.
    pub updated: Option<Timestamp>,
    /// First agent reply.
    pub first_reply: Option<Timestamp>,
    /// Last customer message.
    pub last_customer: Option<Timestamp>,
    /// Last move into the current status.
    pub status_changed: Option<Timestamp>,
    /// When a postponed ticket wakes up.
    pub postponed_until: Option<Timestamp>,
    /// How often the ticket was reopened.
    pub reopens: u32,
    /// Number of agent replies.
    pub replies: u32,
    /// When the ticket was last assigned (round-robin turns).
    pub assigned: Option<Timestamp>,
    /// The earliest due time of a running SLA reply or resolution clock
    /// (`sla::queue_parts`); set by the desk, which knows the policies.
    pub queue_due: Option<Timestamp>,
    /// Since when a customer has waited for a reply (`sla::queue_parts`).
    pub waiting_since: Option<Timestamp>,
}

impl ListEntry {
    /// Summarises a ticket.
    pub fn of(ticket: &Ticket, statuses: &Statuses) -> Self {
        let s = ticket.summary(statuses);
        Self {
            id: ticket.id.clone(),
            subject: ticket.subject.clone(),
            status: s.status,
            category: s.category,
            priority: ticket.priority,
            assignee: ticket.assignee.clone(),
            department: ticket.department.clone(),
            tags: ticket.tags.iter().cloned().collect(),
            customer_name: ticket.customer.name.clone(),
            customer_email: ticket.customer.email.clone(),
            fields: ticket
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), crate::domain::change::field_text(v)))
                .collect(),
            created: s.created,
            updated: s.updated,
            first_reply: s.first_reply,
            last_customer: s.last_customer,
            status_changed: s.status_changed,
            postponed_until: s.postponed_until,
            reopens: s.reopens,
            assigned: ticket
                .events
                .iter()
                .rev()
                .find(|e| e.kind == EventKind::Assign)
                .map(|e| e.at),
            replies: s.replies,
            queue_due: None,
            waiting_since: None,
        }
    }

    /// Tells whether the ticket waits in the queue: unassigned, new or open.
    pub fn is_pending(&self) -> bool {
        self.assignee.is_none() && matches!(self.category, Some(Category::New | Category::Open))
    }

    /// Encodes the entry as one line of tab-separated, escaped fields.
    pub fn encode(&self) -> String {
        let time = |t: Option<Timestamp>| t.map(|t| t.unix().to_string()).unwrap_or_default();
        let opt = |v: &Option<String>| v.as_deref().map_or_else(|| NONE.to_owned(), escape);
        // Every item starts with the separator, so [] and [""] differ.
        let list = |items: &mut dyn Iterator<Item = String>| {
            items
                .map(|i| format!("{LIST}{}", escape(&i)))
                .collect::<String>()
        };
        let fields = [
            self.category.map(|c| c.as_str()).unwrap_or(NONE).to_owned(),
            escape(self.id.as_str()),
            escape(&self.subject),
            escape(&self.status),
            self.priority.as_str().to_owned(),
            opt(&self.assignee),
            opt(&self.department),
            list(&mut self.tags.iter().cloned()),
            opt(&self.customer_name),
            opt(&self.customer_email),
            list(&mut self.fields.iter().flat_map(|(k, v)| [k.clone(), v.clone()])),
            time(self.created),
            time(self.updated),
            time(self.first_reply),
            time(self.last_customer),
            time(self.status_changed),
            time(self.postponed_until),
            self.reopens.to_string(),
            self.replies.to_string(),
            time(self.assigned),
            time(self.queue_due),
            time(self.waiting_since),
        ];
        fields.join("\t")
    }

    /// Reads only the category of an encoded entry (it comes first), so a
    /// listing can skip closed tickets without decoding them.
    pub fn peek_category(line: &str) -> Option<Category> {
        // The first field is a short word: a byte loop, not a search.
        let end = line.bytes().position(|b| b == b'\t').unwrap_or(line.len());
        Category::parse(&line[..end])
    }

    /// Decodes [`ListEntry::encode`]'s output; `None` if it is not one.
    pub fn decode(line: &str) -> Option<Self> {
        Self::decode_with(line, true)
    }

    /// [`decode`](Self::decode) for a listing, which shows, filters and
    /// sorts by none of the clocks: `first_reply`, `last_customer`,
    /// `status_changed`, `postponed_until`, `reopens`, `replies`,
    /// `assigned`, `queue_due` and `waiting_since` are left empty (they are
    /// nine of the eleven numbers of a line, and a listing decodes
    /// every line of the open tickets).
    pub fn decode_without_clocks(line: &str) -> Option<Self> {
        Self::decode_with(line, false)
    }

    fn decode_with(line: &str, clocks: bool) -> Option<Self> {
        let [
            category,
            id,
            subject,
            status,
            priority,
            assignee,
            department,
            tags,
            name,
            email,
            fields,
            created,
            updated,
            first_reply,
            last_customer,
            status_changed,
            postponed_until,
            reopens,
            replies,
            assigned,
            queue_due,
            waiting_since,
        ] = split_tabs(line)?;
        let opt = |v: &str| {
            if v == NONE {
                Some(None)
            } else {
                unescape(v).map(Some)
            }
        };
        let time = |v: &str| -> Option<Option<Timestamp>> {
            if v.is_empty() {
                Some(None)
            } else {
                Timestamp::from_unix(seconds(v)?).map(Some)
            }
        };
        let clock = |v: &str| if clocks { time(v) } else { Some(None) };
        let count = |v: &str| if clocks { v.parse().ok() } else { Some(0) };
        let list = |v: &str| -> Option<Vec<String>> {
            v.strip_prefix(LIST).map_or_else(
                || v.is_empty().then(Vec::new),
                |items| items.split(LIST).map(unescape).collect(),
            )
        };
        let fields = list(fields)?;
        if fields.len() % 2 != 0 {
            return None;
        }
        Some(Self {
            id: unescape(id)?.parse().ok()?,
            subject: unescape(subject)?,
            status: unescape(status)?,
            category: if category == NONE {
                None
            } else {
                Some(Category::parse(category)?)
            },
            priority: priority.parse().ok()?,
            assignee: opt(assignee)?,
            department: opt(department)?,
            tags: list(tags)?,
            customer_name: opt(name)?,
            customer_email: opt(email)?,
            fields: fields
                .chunks(2)
                .map(|kv| (kv[0].clone(), kv[1].clone()))
                .collect(),
            created: time(created)?,
            updated: time(updated)?,
            first_reply: clock(first_reply)?,
            last_customer: clock(last_customer)?,
            status_changed: clock(status_changed)?,
            postponed_until: clock(postponed_until)?,
            reopens: count(reopens)?,
            replies: count(replies)?,
            assigned: clock(assigned)?,
            queue_due: clock(queue_due)?,
            waiting_since: clock(waiting_since)?,
        })
    }
}

/// Reads the decimal seconds [`ListEntry::encode`] writes (an optional
/// `-`, then digits), as `str::parse` would, without its generality: a
/// listing reads eleven times a row.
fn seconds(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    // 18 digits cannot overflow an i64; longer ones take the long way.
    if digits.is_empty() || digits.len() > 18 {
        return text.parse().ok();
    }
    let mut value: i64 = 0;
    for byte in digits.bytes() {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(if negative { -value } else { value })
}

/// Splits `line` at its tabs into exactly `N` fields, or `None` when it
/// has another number of them. (A byte loop: `str::split`, or memchr,
/// costs a search set up per field, and a listing splits 22 fields of
/// every open ticket, most of them a few bytes long.)
fn split_tabs<const N: usize>(line: &str) -> Option<[&str; N]> {
    let mut fields = [""; N];
    let (mut count, mut start) = (0, 0);
    for (i, byte) in line.bytes().enumerate() {
        if byte == b'\t' {
            *fields.get_mut(count)? = &line[start..i];
            count += 1;
            start = i + 1;
        }
    }
    *fields.get_mut(count)? = &line[start..];
    (count + 1 == N).then_some(fields)
}

const NONE: &str = "\\0";
const LIST: &str = "\x1f";

fn escape(text: &str) -> String {
    if !text.contains(['\\', '\t', '\n', '\r', '\x1f']) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1f' => out.push_str("\\u"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> Option<String> {
    if memchr::memchr(b'\\', text.as_bytes()).is_none() {
        return Some(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            '\\' => '\\',
            't' => '\t',
            'n' => '\n',
            'r' => '\r',
            'u' => '\x1f',
            _ => return None,
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn entry(
        subject: String,
        assignee: Option<String>,
        tags: Vec<String>,
        field: String,
    ) -> ListEntry {
        ListEntry {
            id: "k3x9p2".parse().unwrap(),
            subject,
            status: "open".into(),
            category: Some(Category::Open),
            priority: Priority::High,
            assignee,
            department: None,
            tags,
            customer_name: Some(String::new()),
            customer_email: None,
            fields: vec![("order".into(), field)],
            created: Timestamp::from_unix(1_700_000_000),
            updated: None,
            first_reply: None,
            last_customer: Timestamp::from_unix(1_700_000_500),
            status_changed: None,
            postponed_until: None,
            reopens: 2,
            replies: 1,
            assigned: Timestamp::from_unix(1_700_000_100),
            queue_due: Timestamp::from_unix(1_700_003_600),
            waiting_since: None,
        }
    }

    #[test]
    fn none_and_empty_stay_distinct() {
        let e = entry(String::new(), None, vec![], String::new());
        assert_eq!(ListEntry::decode(&e.encode()), Some(e));
    }

    #[test]
    fn lines_split_into_exactly_their_fields() {
        assert_eq!(split_tabs::<3>("a\t\tc"), Some(["a", "", "c"]));
        assert_eq!(split_tabs::<1>(""), Some([""]));
        assert_eq!(split_tabs::<3>("a\tb"), None);
        assert_eq!(split_tabs::<2>("a\tb\tc"), None);
        assert_eq!(split_tabs::<2>("é\t\u{1f}"), Some(["é", "\u{1f}"]));
    }

    #[test]
    fn garbage_does_not_decode() {
        assert_eq!(ListEntry::decode("k3x9p2\tonly two"), None);
        assert_eq!(ListEntry::decode(""), None);
    }

    proptest! {
        #[test]
        fn encode_decode_round_trips(
            subject in any::<String>(),
            assignee in proptest::option::of(any::<String>()),
            tags in proptest::collection::vec(any::<String>(), 0..4),
            field in any::<String>(),
        ) {
            let e = entry(subject, assignee, tags, field);
            let line = e.encode();
            prop_assert!(!line.contains('\n'));
            prop_assert_eq!(ListEntry::decode(&line), Some(e.clone()));
            let listed = ListEntry::decode_without_clocks(&line).unwrap();
            prop_assert_eq!(listed, ListEntry {
                first_reply: None,
                last_customer: None,
                status_changed: None,
                postponed_until: None,
                reopens: 0,
                replies: 0,
                assigned: None,
                queue_due: None,
                waiting_since: None,
                ..e
            });
        }

        #[test]
        fn seconds_read_as_str_parse_reads_them(n in any::<i64>(), text in "[-+0-9a]{0,21}") {
            prop_assert_eq!(seconds(&n.to_string()), Some(n));
            // Anything else: the same number or refused, never another.
            if let Some(read) = seconds(&text) {
                prop_assert_eq!(Some(read), text.parse::<i64>().ok());
            }
        }
    }
}
