//! Id prefixes (docs/guide.md): any unique prefix, with or without `#`.

use std::collections::BTreeMap;

use crate::common::{TestEnv, is_ticket_id};

/// The shortest prefix of `id` that no other id shares.
fn unique_prefix<'a>(id: &'a str, all: &[String]) -> &'a str {
    (1..=id.len())
        .map(|n| &id[..n])
        .find(|p| all.iter().filter(|o| o.starts_with(p)).count() == 1)
        .unwrap()
}

#[test]
fn a_unique_prefix_works_with_or_without_hash_in_any_case() {
    let env = TestEnv::new();
    let ids: Vec<String> = (0..6).map(|i| env.new_ticket(&format!("T{i}"))).collect();
    for id in &ids {
        let prefix = unique_prefix(id, &ids);
        for form in [
            prefix.to_owned(),
            format!("#{prefix}"),
            prefix.to_uppercase(),
            id.clone(),
            format!("#{id}"),
        ] {
            assert_eq!(env.show(&form)["id"], id.as_str(), "{form}");
        }
    }
    // Changes take prefixes too.
    let prefix = format!("#{}", unique_prefix(&ids[0], &ids));
    let out = env.ok(&["note", &prefix, "-m", "by prefix"]);
    assert_eq!(out, format!("Added a note to {}.\n", ids[0]));
}

#[test]
fn an_ambiguous_prefix_lists_every_candidate_and_changes_nothing() {
    let env = TestEnv::new();
    // Create tickets until two share a first character (at most 33).
    let mut by_first: BTreeMap<char, Vec<String>> = BTreeMap::new();
    let shared = loop {
        let id = env.new_ticket("Twin");
        let first = id.chars().next().unwrap();
        let group = by_first.entry(first).or_default();
        group.push(id);
        if group.len() == 2 {
            break first;
        }
    };
    let candidates = by_first[&shared].clone();
    let head = env.head();
    for args in [
        vec!["show".to_owned(), shared.to_string()],
        vec!["show".to_owned(), format!("#{shared}")],
        vec![
            "note".to_owned(),
            shared.to_string(),
            "-m".to_owned(),
            "x".to_owned(),
        ],
    ] {
        let err = env.fail(&args, 1);
        assert!(err.contains("ambiguous"), "{err}");
        for candidate in &candidates {
            assert!(err.contains(candidate.as_str()), "{candidate}: {err}");
        }
    }
    assert_eq!(env.head(), head);
}

#[test]
fn path_like_and_malformed_ids_are_refused_without_a_panic() {
    let env = TestEnv::new();
    let id = env.new_ticket("Target");
    let head = env.head();
    for bad in [
        "../x",
        "../../etc/passwd",
        "tickets/../x",
        "/etc/passwd",
        "a/b",
        "",
        "#",
        "k3x9pu",
        "ab cd",
        "\u{e9}t\u{e9}",
    ] {
        for args in [
            vec!["show", bad],
            vec!["note", bad, "-m", "x"],
            vec!["resolve", bad],
        ] {
            let err = env.fail(&args, 1);
            assert!(err.starts_with("error: "), "{args:?}: {err}");
        }
    }
    assert_eq!(env.head(), head);
    assert_eq!(env.status(&id), "new");
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        ""
    );
}

#[test]
fn an_unknown_id_is_refused() {
    let env = TestEnv::new();
    let id = env.new_ticket("Known");
    let unknown = if id.starts_with('z') {
        "yyyyyy"
    } else {
        "zzzzzz"
    };
    let err = env.fail(&["show", unknown], 1);
    assert!(err.contains("no ticket matches"), "{err}");
    // A longer text than the id does not match it.
    let err = env.fail(&["show", &format!("{id}0")], 1);
    assert!(err.contains("no ticket matches"), "{err}");
    let err = env.fail(&["reply", unknown, "-m", "hello"], 1);
    assert!(err.contains(unknown), "{err}");
}

#[test]
fn a_fixed_seed_still_creates_more_than_sixteen_tickets() {
    let env = TestEnv::new();
    let mut ids = Vec::new();
    for i in 0..20 {
        let out = env
            .command(&["new", &format!("T{i}"), "--format", "json"])
            .env("TIX_SEED", "7")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ticket {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let id = t["id"].as_str().unwrap().to_owned();
        assert!(is_ticket_id(&id));
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}
