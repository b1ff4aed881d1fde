//! The three-way merge of the merge driver on any base and two sides: it
//! never panics, and a message or note new on either side is in the result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tix::domain::lifecycle::Statuses;
use tix::domain::merge;
use tix::model::{EventKind, Ticket};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Three files, split on a line holding only `%%`.
    let mut parts = text.split("\n%%\n");
    let (Some(base), Some(ours), Some(theirs)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let base = Ticket::parse(base).ok();
    let (Ok(ours), Ok(theirs)) = (Ticket::parse(ours), Ticket::parse(theirs)) else {
        return;
    };
    let statuses = Statuses::builtin();
    let Ok(merged) = merge::merge(base.as_ref(), &ours, &theirs, &statuses, "bot@desk") else {
        return;
    };
    let said = |t: &Ticket| -> Vec<(String, String, Option<String>)> {
        t.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Message | EventKind::Note))
            .map(|e| (e.at.to_rfc3339(), e.actor.clone(), e.body.clone()))
            .collect()
    };
    let before = base.as_ref().map(said).unwrap_or_default();
    let after = said(&merged);
    for side in [&ours, &theirs] {
        for message in said(side) {
            if !before.contains(&message) {
                assert!(after.contains(&message), "a new message was lost: {message:?}");
            }
        }
    }
    // What the driver writes reads back.
    let written = merged.to_toml(&statuses);
    Ticket::parse(&written).expect("the merged file does not parse");
});
