//! Documentation that must match the code.

use tix::domain::lifecycle::{Category, Move, Outcome, outcome};

fn cell(mv: Move, category: Category) -> String {
    match outcome(mv, category) {
        None => "—".to_owned(),
        Some(Outcome::Stay) => "=".to_owned(),
        Some(Outcome::To(to)) => to.default_status().to_owned(),
    }
}

/// docs/lifecycle.md's transition table is the table of src/lifecycle.rs.
#[test]
fn lifecycle_doc_matches_the_transition_table() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/lifecycle.md")).unwrap();
    let rows: Vec<Vec<String>> = doc
        .lines()
        .skip_while(|l| !l.starts_with("| command |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .collect();
    let mut moves: Vec<Move> = Move::USER_MOVES.to_vec();
    moves.push(Move::Wake { replied: true });
    assert_eq!(rows.len(), moves.len(), "one row per command");
    for (row, mv) in rows.iter().zip(&moves) {
        assert_eq!(row[0], mv.command());
        for (i, category) in Category::ALL.into_iter().enumerate() {
            let expected = match mv {
                Move::Wake { .. } if category == Category::OnHold => "open or new".to_owned(),
                _ => cell(*mv, category),
            };
            assert_eq!(row[i + 1], expected, "{} from {category}", mv.command());
        }
    }
    assert_eq!(cell(Move::Wake { replied: false }, Category::OnHold), "new");
}

/// Every trigger and macro example of docs/automation.md and
/// docs/configuration.md loads (with the agent and templates they name).
#[test]
fn trigger_and_macro_examples_in_the_docs_load() {
    let prelude = "[[agent]]\nname = \"Raj Patel\"\nemail = \"raj@example.com\"\n\n";
    let files = |path: &str| {
        Ok(path
            .starts_with("templates/")
            .then(|| "Hello {{ customer.name }}".to_owned()))
    };
    let mut seen = 0;
    for name in ["automation.md", "configuration.md"] {
        let path = format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"));
        let doc = std::fs::read_to_string(path).unwrap();
        for block in doc.split("```toml\n").skip(1) {
            let block = block.split("```").next().unwrap();
            if !block.contains("[[trigger]]") && !block.contains("[[macro]]") {
                continue;
            }
            seen += 1;
            let text = format!("{prelude}{block}");
            if let Err(e) = tix::config::Config::parse_in(&text, &files) {
                panic!("docs/{name}: an example does not load: {e}\n{block}");
            }
        }
    }
    assert!(seen >= 5, "the examples were found ({seen})");
}

/// Splits a command line of the guide into words: spaces separate, and
/// double quotes hold spaces.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut started = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            c => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// docs/guide.md's "Your first hour" is the real output of the real
/// binary: each `$ tix ...` line of its console blocks runs, in order, in
/// a fresh desk, and what it prints must be what follows the line.
#[test]
fn the_first_hour_in_the_guide_is_real_output() {
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/guide.md")).unwrap();
    let section = guide
        .split("\n## Your first hour\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .unwrap();
    let env = crate::common::TestEnv::new();
    let (mut expected, mut actual) = (String::new(), String::new());
    for block in section.split("```console\n").skip(1) {
        let block = block.split("```").next().unwrap();
        expected.push_str(block);
        for line in block.lines().filter(|l| l.starts_with("$ ")) {
            let args = words(&line[2..]);
            assert_eq!(args[0], "tix", "{line}");
            let out = env.tix(&args[1..]);
            assert!(
                out.status.success(),
                "{line}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            actual.push_str(line);
            actual.push('\n');
            actual.push_str(&String::from_utf8_lossy(&out.stdout));
        }
    }
    assert_eq!(
        actual, expected,
        "the guide's first hour, as the binary prints it:\n{actual}"
    );
}
