//! The fast scanner of ticket files (`model::scan`) against the full TOML
//! parse: whatever the scanner accepts, the full parse accepts too, and
//! both read the same ticket but for the message bodies the scanner skips.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tix::model::{Ticket, scan};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let full = Ticket::parse(text);
    let Some(mut fast) = scan::without_bodies(text) else {
        return;
    };
    let mut full = full.expect("the scanner accepted a file the full parse refuses");
    for event in full.events.iter_mut().chain(fast.events.iter_mut()) {
        event.body = None;
    }
    assert_eq!(fast, full, "the scanner and the full parse disagree");
});
