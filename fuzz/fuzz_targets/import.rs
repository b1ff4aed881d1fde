//! Another helpdesk's export, from any bytes: the Zendesk and CSV readers
//! never panic, and every record they give makes a ticket (or is refused)
//! whose file reads back as the same ticket, with a one-line subject.

#![no_main]

use std::io::Cursor;
use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use tix::domain::import::table::{self, Mapping};
use tix::domain::import::{self, Record, zendesk};
use tix::model::Ticket;
use tix::model::status::Statuses;

fuzz_target!(|bytes: &[u8]| {
    let Some((&which, input)) = bytes.split_first() else {
        return;
    };
    let mut records: Vec<Record> = Vec::new();
    let mut keep = |found: Result<Record, import::Bad>| {
        if let Ok(record) = found {
            records.push(record);
        }
        ControlFlow::Continue(())
    };
    match which % 3 {
        0 => {
            let mut directory = zendesk::Directory::default();
            let _ = zendesk::scan(Cursor::new(input), 0, &mut directory, &mut |_| {
                ControlFlow::Continue(())
            });
            let mut fetch = |span: &zendesk::Span| {
                let start = usize::try_from(span.start).unwrap_or(usize::MAX).min(input.len());
                let end = usize::try_from(span.end).unwrap_or(usize::MAX).clamp(start, input.len());
                Ok(input[start..end].to_vec())
            };
            let options = zendesk::Options::default();
            let _ = zendesk::read(Cursor::new(input), &directory, &options, &mut fetch, &mut keep);
        }
        1 => {
            let _ = table::read(input, &Mapping::liveagent(chrono_tz::UTC), &mut keep);
        }
        _ => {
            let map = ["id=id,subject=subject,body=body,status=status,created=created,tags=tags,email=email".to_owned()];
            let mapping = Mapping::parse("csv", &map, chrono_tz::UTC).expect("a good mapping");
            let _ = table::read(input, &mapping, &mut keep);
        }
    }
    let statuses = Statuses::builtin();
    for record in records {
        let id = import::ticket_id(&record.source, &|_| false);
        let Ok(ticket) = import::new_ticket(id, &record, &statuses) else {
            continue;
        };
        assert!(!ticket.subject.contains(char::is_control), "{:?}", ticket.subject);
        let text = ticket.to_toml(&statuses);
        let mut back = Ticket::parse(&text).expect("an imported ticket's file parses");
        back.status = None;
        assert_eq!(back, ticket);
        assert_eq!(import::refresh(&ticket, &record, &statuses).ok(), Some(None));
    }
});
