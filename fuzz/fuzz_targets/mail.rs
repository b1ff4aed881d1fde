//! A received mail, from any bytes: parsing never panics, and what tix
//! keeps of it is safe: one-line subject and sender name, attachment names
//! that are plain file names, a reply that builds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tix::domain::mail::inbound;

fuzz_target!(|bytes: &[u8]| {
    let Ok(mail) = inbound::parse(bytes) else {
        return;
    };
    assert!(!mail.subject.contains(char::is_control), "{:?}", mail.subject);
    if let Some(name) = &mail.from_name {
        assert!(!name.contains(char::is_control), "{name:?}");
    }
    let subject = inbound::without_tags(&mail.subject);
    assert!(!subject.contains(char::is_control));
    let files: Vec<(String, Vec<u8>)> = mail
        .attachments
        .iter()
        .map(|a| (a.name.clone(), a.bytes.clone()))
        .collect();
    let folder = inbound::folder_for(bytes);
    let stored = inbound::store_files(&folder, Some(bytes), &files);
    let mut seen = std::collections::BTreeSet::new();
    for (path, _) in &stored {
        let name = path
            .strip_prefix(&format!("{folder}/"))
            .expect("every file is in the message's folder");
        assert!(!name.is_empty() && !name.contains('/') && !name.contains('\\'), "{name:?}");
        assert!(!name.starts_with('.') && !name.contains(char::is_control), "{name:?}");
        assert!(seen.insert(name.to_owned()), "two files named {name:?}");
    }
    let _ = inbound::thread(&mail, &mut |_| None);
});
