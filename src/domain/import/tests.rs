#![allow(clippy::unwrap_used)]

use std::io::Cursor;
use std::ops::ControlFlow;

use super::table::{self, Mapping};
use super::zendesk::{self, Directory, Options};
use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: Some(name.to_owned()),
        email: Some(email.to_owned()),
        phone: None,
    }
}

fn message(time: &str, who: &Person, role: Role, note: bool, body: &str) -> Message {
    Message {
        at: at(time),
        author: who.clone(),
        role,
        note,
        body: body.to_owned(),
    }
}

fn record() -> Record {
    let bo = person("Bo", "bo@ex.com");
    let ana = person("Ana", "ana@desk.example");
    Record {
        source: "zendesk:7".to_owned(),
        subject: "Printer\non fire".to_owned(),
        outcome: Outcome::status("closed"),
        priority: Priority::High,
        tags: vec!["printer".to_owned(), "on fire".to_owned(), " ".to_owned()],
        requester: bo.clone(),
        assignee: Some(ana.clone()),
        department: Some("Hardware".to_owned()),
        fields: BTreeMap::new(),
        created: at("2024-03-01T09:00:00Z"),
        updated: at("2024-03-02T10:00:00Z"),
        // Out of order on purpose: the export's order is not the time's.
        messages: vec![
            message(
                "2024-03-01T11:00:00Z",
                &ana,
                Role::Agent,
                false,
                "Unplug it",
            ),
            message(
                "2024-03-01T09:00:00Z",
                &bo,
                Role::Customer,
                false,
                "It smokes",
            ),
            message(
                "2024-03-01T10:00:00Z",
                &ana,
                Role::Agent,
                true,
                "Call facilities",
            ),
        ],
        rating: Some(Rating {
            score: 5,
            comment: Some("Quick!".to_owned()),
            at: at("2024-03-02T10:00:00Z"),
        }),
        at: None,
    }
}

fn id(text: &str) -> TicketId {
    text.parse().unwrap()
}

fn kinds(ticket: &Ticket) -> Vec<(EventKind, String, Option<String>)> {
    ticket
        .events
        .iter()
        .map(|e| (e.kind, e.at.to_rfc3339(), e.to.clone()))
        .collect()
}

#[test]
fn a_record_becomes_a_ticket_with_its_times_in_order() {
    let statuses = Statuses::builtin();
    let ticket = new_ticket(id("k3x9p2"), &record(), &statuses).unwrap();
    assert_eq!(ticket.subject, "Printer on fire");
    assert_eq!(ticket.source.as_deref(), Some("zendesk:7"));
    assert_eq!(ticket.assignee.as_deref(), Some("ana@desk.example"));
    assert_eq!(ticket.department.as_deref(), Some("Hardware"));
    let tags: Vec<&str> = ticket.tags.iter().map(String::as_str).collect();
    assert_eq!(tags, ["on-fire", "printer"]);
    assert_eq!(ticket.customer.email.as_deref(), Some("bo@ex.com"));
    let events = kinds(&ticket);
    let expected = [
        (EventKind::Created, "2024-03-01T09:00:00Z", Some("new")),
        (EventKind::Message, "2024-03-01T09:00:00Z", None),
        (
            EventKind::Department,
            "2024-03-01T09:00:00Z",
            Some("Hardware"),
        ),
        (EventKind::Note, "2024-03-01T10:00:00Z", None),
        // At the agent's first reply, not at a note.
        (
            EventKind::Assign,
            "2024-03-01T11:00:00Z",
            Some("ana@desk.example"),
        ),
        (EventKind::Message, "2024-03-01T11:00:00Z", None),
        (EventKind::Status, "2024-03-02T10:00:00Z", Some("resolved")),
        (EventKind::Status, "2024-03-02T10:00:00Z", Some("closed")),
        (EventKind::Csat, "2024-03-02T10:00:00Z", Some("5")),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(k, t, to)| (*k, (*t).to_owned(), to.map(str::to_owned)))
        .collect();
    assert_eq!(events, expected);
    let summary = ticket.summary(&statuses);
    assert_eq!(summary.status, "closed");
    assert_eq!(summary.first_reply, Some(at("2024-03-01T11:00:00Z")));
    assert_eq!(summary.created, Some(at("2024-03-01T09:00:00Z")));
    assert_eq!(ticket.rating.as_ref().map(|r| r.score), Some(5));
    // The customer's message is the customer's, the note the agent's.
    assert_eq!(ticket.events[1].role, Role::Customer);
    assert_eq!(ticket.events[1].actor, "bo@ex.com");
    assert_eq!(ticket.events[3].role, Role::Agent);
    // The file it makes reads back as the same ticket.
    let text = ticket.to_toml(&statuses);
    let mut back = Ticket::parse(&text).unwrap();
    back.status = None;
    assert_eq!(back, ticket);
}

#[test]
fn a_void_outcome_closes_with_its_reason_without_a_solve() {
    let statuses = Statuses::builtin();
    let mut spam = record();
    spam.outcome = Outcome::void("spam");
    spam.rating = None;
    let ticket = new_ticket(id("k3x9p2"), &spam, &statuses).unwrap();
    let last = ticket.events.last().unwrap();
    assert_eq!(last.kind, EventKind::Status);
    assert_eq!(last.from.as_deref(), Some("new"));
    assert_eq!(last.to.as_deref(), Some("closed"));
    assert_eq!(last.reason.as_deref(), Some("spam"));
}

#[test]
fn an_unknown_status_or_a_bad_rating_is_refused() {
    let statuses = Statuses::builtin();
    let mut odd = record();
    odd.outcome = Outcome::status("limbo");
    let err = new_ticket(id("k3x9p2"), &odd, &statuses).unwrap_err();
    assert!(err.0.contains("limbo"), "{err}");
    let mut rated = record();
    rated.rating.as_mut().unwrap().score = 9;
    assert!(new_ticket(id("k3x9p2"), &rated, &statuses).is_err());
}

#[test]
fn a_broken_address_is_kept_as_the_name_and_the_ticket_comes_in() {
    let statuses = Statuses::builtin();
    let mut odd = record();
    odd.requester = Person {
        name: None,
        email: Some("not an address".to_owned()),
        phone: None,
    };
    let ticket = new_ticket(id("k3x9p2"), &odd, &statuses).unwrap();
    assert_eq!(ticket.customer.email, None);
    assert_eq!(ticket.customer.name.as_deref(), Some("not an address"));
}

#[test]
fn the_same_record_refreshes_nothing() {
    let statuses = Statuses::builtin();
    let ticket = new_ticket(id("k3x9p2"), &record(), &statuses).unwrap();
    assert_eq!(refresh(&ticket, &record(), &statuses).unwrap(), None);
}

#[test]
fn a_newer_record_adds_messages_and_records_what_changed() {
    let statuses = Statuses::builtin();
    let mut old = record();
    old.outcome = Outcome::status("open");
    old.rating = None;
    let ticket = new_ticket(id("k3x9p2"), &old, &statuses).unwrap();
    let mut newer = record();
    newer.updated = at("2024-03-05T08:00:00Z");
    newer.priority = Priority::Urgent;
    newer.tags = vec!["printer".to_owned()];
    let bo = person("Bo", "bo@ex.com");
    newer.messages.push(message(
        "2024-03-04T08:00:00Z",
        &bo,
        Role::Customer,
        false,
        "Thanks, works",
    ));
    let updated = refresh(&ticket, &newer, &statuses).unwrap().unwrap();
    // The events the refresh added, in the log's order.
    let added: Vec<_> = updated
        .events
        .iter()
        .filter(|e| !ticket.events.contains(e))
        .map(|e| (e.kind, e.at.to_rfc3339(), e.from.clone(), e.to.clone()))
        .collect();
    let t = "2024-03-05T08:00:00Z".to_owned();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        added,
        [
            (
                EventKind::Csat,
                "2024-03-02T10:00:00Z".to_owned(),
                None,
                s("5")
            ),
            (
                EventKind::Message,
                "2024-03-04T08:00:00Z".to_owned(),
                None,
                None
            ),
            (EventKind::Priority, t.clone(), s("high"), s("urgent")),
            (EventKind::Tag, t.clone(), s("on-fire"), None),
            // A ticket closes once solved.
            (EventKind::Status, t.clone(), s("open"), s("resolved")),
            (EventKind::Status, t.clone(), s("resolved"), s("closed")),
        ]
    );
    assert_eq!(updated.priority, Priority::Urgent);
    assert_eq!(updated.summary(&statuses).status, "closed");
    // Once brought up to date, the same record changes nothing.
    assert_eq!(refresh(&updated, &newer, &statuses).unwrap(), None);
}

#[test]
fn an_older_record_never_undoes_what_the_desk_did_since() {
    let statuses = Statuses::builtin();
    let mut old = record();
    old.outcome = Outcome::status("open");
    old.rating = None;
    let mut ticket = new_ticket(id("k3x9p2"), &old, &statuses).unwrap();
    // An agent resolves it in tix after the import.
    let mut resolve = Event::new(
        at("2024-06-01T00:00:00Z"),
        "ana@desk.example",
        Role::Agent,
        EventKind::Status,
    );
    resolve.from = Some("open".to_owned());
    resolve.to = Some("resolved".to_owned());
    ticket.push(resolve);
    ticket.priority = Priority::Low;
    assert_eq!(refresh(&ticket, &old, &statuses).unwrap(), None);
}

#[test]
fn ids_follow_the_source_and_step_past_taken_ones() {
    let first = ticket_id("zendesk:7", &|_| false);
    assert_eq!(first, ticket_id("zendesk:7", &|_| false));
    assert_ne!(first, ticket_id("zendesk:8", &|_| false));
    let taken = first.clone();
    let second = ticket_id("zendesk:7", &|id| *id == taken);
    assert_ne!(second, first);
}

/// Reads a Zendesk export given as text (every part of it one file).
fn zendesk_records(text: &str) -> (Vec<Record>, Vec<Bad>) {
    let mut directory = Directory::default();
    let mut bad = Vec::new();
    zendesk::scan(Cursor::new(text), 0, &mut directory, &mut |b| {
        bad.push(b);
        ControlFlow::Continue(())
    })
    .unwrap();
    let mut records = Vec::new();
    let mut fetch =
        |span: &zendesk::Span| Ok(text.as_bytes()[span.start as usize..span.end as usize].to_vec());
    let options = Options {
        fields: [(360_001, "plan".to_owned())].into(),
    };
    zendesk::read(
        Cursor::new(text),
        &directory,
        &options,
        &mut fetch,
        &mut |found| {
            match found {
                Ok(record) => records.push(record),
                // The read tells again of what the scan found: the desk
                // hears each place once.
                Err(b) if bad.iter().any(|old: &Bad| old.at == b.at) => {}
                Err(b) => bad.push(b),
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    (records, bad)
}

const PAGE: &str = r#"{"tickets": [
  {"id": 7, "subject": "Printer", "status": "pending", "priority": null,
   "requester_id": 1, "assignee_id": 2, "group_id": 9, "tags": ["a"],
   "created_at": "2024-03-01T09:00:00Z", "updated_at": "2024-03-02T09:00:00Z",
   "custom_fields": [{"id": 360001, "value": "pro"}, {"id": 5, "value": "x"}],
   "satisfaction_rating": {"score": "bad", "comment": "slow"},
   "comments": [
     {"author_id": 1, "body": "It smokes", "public": true, "created_at": "2024-03-01T09:00:00Z"},
     {"author_id": 2, "body": "", "html_body": "<p>Unplug &amp; wait</p><script>x()</script>", "public": true, "created_at": "2024-03-01T10:00:00Z"},
     {"author_id": 3, "body": "internal", "public": false, "created_at": "2024-03-01T11:00:00Z"}
   ]}
 ],
 "users": [
   {"id": 1, "name": "Bo", "email": "bo@ex.com", "role": "end-user"},
   {"id": 2, "name": "Ana", "email": "ana@desk.example", "role": "agent"}
 ],
 "groups": [{"id": 9, "name": "Hardware"}],
 "next_page": null}"#;

#[test]
fn a_zendesk_page_reads_with_users_groups_fields_and_rating_after_the_tickets() {
    let (records, bad) = zendesk_records(PAGE);
    assert!(bad.is_empty(), "{bad:?}");
    let [record] = records.as_slice() else {
        panic!("{records:?}")
    };
    assert_eq!(record.source, "zendesk:7");
    assert_eq!(record.outcome, Outcome::status("answered"));
    assert_eq!(record.priority, Priority::Normal);
    assert_eq!(record.requester.email.as_deref(), Some("bo@ex.com"));
    assert_eq!(
        record.assignee.as_ref().and_then(|a| a.name.as_deref()),
        Some("Ana")
    );
    assert_eq!(record.department.as_deref(), Some("Hardware"));
    assert_eq!(
        record.fields,
        [("plan".to_owned(), toml::Value::String("pro".to_owned()))].into()
    );
    assert_eq!(record.rating.as_ref().map(|r| r.score), Some(1));
    let roles: Vec<(Role, bool, &str)> = record
        .messages
        .iter()
        .map(|m| (m.role, m.note, m.body.as_str()))
        .collect();
    assert_eq!(roles[0], (Role::Customer, false, "It smokes"));
    assert_eq!(roles[1].0, Role::Agent);
    assert!(roles[1].2.contains("Unplug & wait"), "{}", roles[1].2);
    assert!(!roles[1].2.contains("x()"), "{}", roles[1].2);
    // Author 3 is not among the users: a stand-in that names the id.
    assert_eq!(roles[2], (Role::Agent, true, "internal"));
    assert_eq!(
        record.messages[2].author.name.as_deref(),
        Some("Zendesk user 3")
    );
}

#[test]
fn zendesk_lines_tickets_and_separate_comments_read_as_one_export() {
    let text = concat!(
        r#"{"id": 8, "subject": "Lines", "status": "deleted", "requester_id": 1, "created_at": "2024-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"ticket_id": 8, "comments": [{"author_id": 1, "body": "hello", "created_at": "2024-01-01T00:00:00Z"}]}"#,
        "\n",
        r#"{"users": [{"id": 1, "name": "Cy", "email": "cy@ex.com", "role": "end-user"}]}"#,
        "\n",
    );
    let (records, bad) = zendesk_records(text);
    assert!(bad.is_empty(), "{bad:?}");
    let [record] = records.as_slice() else {
        panic!("{records:?}")
    };
    assert_eq!(record.outcome, Outcome::void("deleted"));
    assert_eq!(record.requester.name.as_deref(), Some("Cy"));
    assert_eq!(record.messages.len(), 1);
    assert_eq!(record.messages[0].body, "hello");
}

#[test]
fn a_broken_zendesk_line_is_reported_at_its_line_and_the_next_read() {
    let text = concat!(
        r#"{"id": 1, "subject": "One", "created_at": "2024-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"id": 2, "subject": "Two", "created_at": "#,
        "\n",
        r#"{"id": 3, "subject": "Three", "status": "weird", "created_at": "2024-01-01T00:00:00Z"}"#,
        "\n",
        r#"{"id": 4, "subject": "Four", "created_at": "2024-01-01T00:00:00Z"}"#,
        "\n",
    );
    let (records, bad) = zendesk_records(text);
    let sources: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(sources, ["zendesk:1", "zendesk:4"]);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert_eq!(bad[0].at.line, 2, "{bad:?}");
    assert!(bad[1].reason.contains("weird"), "{bad:?}");
    assert_eq!(bad[1].id.as_deref(), Some("3"));
}

#[test]
fn a_cut_zendesk_file_says_so() {
    let (records, bad) = zendesk_records(&PAGE[..PAGE.len() / 2]);
    assert!(bad[0].reason.contains("cut short"), "{bad:?}");
    assert!(records.is_empty() || records.len() == 1);
}

fn csv_records(text: &str, mapping: &Mapping) -> Result<(Vec<Record>, Vec<Bad>), String> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    table::read(Cursor::new(text), mapping, &mut |found| {
        match found {
            Ok(r) => records.push(r),
            Err(b) => bad.push(b),
        }
        ControlFlow::Continue(())
    })?;
    Ok((records, bad))
}

#[test]
fn liveagent_rows_map_codes_names_and_zone() {
    let text = "\u{feff}Code,Subject,Status,First Name,Last Name,Emails,Tag Names,Create Date,Change Date\n\
        AB-1,Hi,B,Jan,Novák,\"jan@ex.cz, j@work.cz\",\"vip, new customer\",2024-07-01 12:00:00,2024-07-01 13:00:00\n\
        AB-2,Chat,T,,,,,2024-07-01 12:00:00,\n";
    let prague: chrono_tz::Tz = "Europe/Prague".parse().unwrap();
    let (records, bad) = csv_records(text, &Mapping::liveagent(prague)).unwrap();
    assert!(bad.is_empty(), "{bad:?}");
    assert_eq!(records[0].source, "liveagent:AB-1");
    assert_eq!(records[0].outcome, Outcome::void("spam"));
    assert_eq!(records[0].requester.name.as_deref(), Some("Jan Novák"));
    assert_eq!(records[0].requester.email.as_deref(), Some("jan@ex.cz"));
    assert_eq!(records[0].tags, ["vip", " new customer"]);
    // Summer time in Prague is two hours ahead of UTC.
    assert_eq!(records[0].created, at("2024-07-01T10:00:00Z"));
    assert_eq!(records[1].outcome, Outcome::status("open"));
}

#[test]
fn a_csv_mapping_needs_an_id_and_known_keys_and_columns() {
    let utc = chrono_tz::UTC;
    assert!(Mapping::parse("csv", &["subject=Title".to_owned()], utc).is_err());
    assert!(Mapping::parse("csv", &["id=Id,colour=C".to_owned()], utc).is_err());
    assert!(Mapping::parse("csv", &["id=Id,id=Other".to_owned()], utc).is_err());
    let mapping = Mapping::parse(
        "csv",
        &[
            "id=Id,subject=Title".to_owned(),
            "created=When,status=State".to_owned(),
        ],
        utc,
    )
    .unwrap();
    let missing = csv_records("Id,Title\n1,x\n", &mapping).unwrap_err();
    assert!(missing.contains("has no column"), "{missing}");
    let text =
        "Id,Title,When,State\n1,x,2024-01-02,Pending\n2,y,yesterday,Open\n3,z,2024-01-02,On hold\n";
    let (records, bad) = csv_records(text, &mapping).unwrap();
    let outcomes: Vec<&str> = records.iter().map(|r| r.outcome.status.as_str()).collect();
    assert_eq!(outcomes, ["answered", "postponed"]);
    assert_eq!(records[0].created, at("2024-01-02T00:00:00Z"));
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].id.as_deref(), Some("2"));
    assert_eq!(bad[0].at.line, 3);
}

#[test]
fn an_unclosed_quote_is_found_at_its_row() {
    let mapping = Mapping::liveagent(chrono_tz::UTC);
    let text =
        "Code,Subject,Create Date\nA,One,2024-01-01\nB,\"Two,2024-01-01\nC,Three,2024-01-01\n";
    let (records, bad) = csv_records(text, &mapping).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].at.line, 3);
    assert!(bad[0].reason.contains("never closed"), "{bad:?}");
}

#[test]
fn export_times_read_in_their_forms() {
    let utc = chrono_tz::UTC;
    let t = |s: &str| table::time(s, utc).unwrap();
    assert_eq!(t("2024-03-05T09:12:44Z"), at("2024-03-05T09:12:44Z"));
    assert_eq!(t("2024-03-05T09:12:44+01:00"), at("2024-03-05T08:12:44Z"));
    assert_eq!(t("2024-03-05 09:12:44"), at("2024-03-05T09:12:44Z"));
    assert_eq!(t("2024-03-05 09:12:44 +0200"), at("2024-03-05T07:12:44Z"));
    assert_eq!(t("2024-03-05 09:12"), at("2024-03-05T09:12:00Z"));
    assert_eq!(t("2024-03-05"), at("2024-03-05T00:00:00Z"));
    assert!(table::time("05/03/2024", utc).is_err());
}

#[test]
fn times_a_ticket_file_or_git_cannot_hold_are_refused() {
    let utc = chrono_tz::UTC;
    assert!(table::time("1969-12-31 23:59:59", utc).is_err());
    assert!(table::time("+10000-01-01T00:00:00Z", utc).is_err());
    assert_eq!(
        table::time("2016-12-31T23:59:60Z", utc).unwrap(),
        at("2016-12-31T23:59:59Z")
    );
}
