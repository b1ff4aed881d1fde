//! `tix export`: every ticket as JSON lines (the object of `tix show`) or
//! CSV, in id order, closed ones too; broken files named and left out; a
//! reader that goes away ends it quietly.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};

use serde_json::Value;

use crate::common::{AGENT, TestEnv, assert_no_panic, seal};

/// Appends `text` to the desk's tix.toml and commits it.
fn configure(env: &TestEnv, text: &str) {
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file("tix.toml", &format!("{config}\n{text}"));
}

/// The lines of `tix export` (JSON lines), each parsed.
fn exported(env: &TestEnv, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    env.ok(&all)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect()
}

fn ids(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Reads CSV text as RFC 4180 says: quoted fields may hold commas, line
/// breaks and doubled quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => {
                assert!(c != '"' && c != '\r', "a bare {c:?} in {text:?}");
                field.push(c);
            }
        }
    }
    assert!(!quoted && field.is_empty() && row.is_empty(), "cut short");
    rows
}

/// The CSV of `tix export --format csv` as one map per row, by header.
fn csv_rows(env: &TestEnv) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let rows = parse_csv(&env.ok(&["export", "--format", "csv"]));
    let header = rows[0].clone();
    let maps = rows[1..]
        .iter()
        .map(|row| {
            assert_eq!(row.len(), header.len(), "{row:?}");
            header.iter().cloned().zip(row.iter().cloned()).collect()
        })
        .collect();
    (header, maps)
}

/// A desk with tickets in every state: ids in creation order.
fn desk_with_history() -> (TestEnv, Vec<String>) {
    let env = TestEnv::new();
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(env.new_ticket_with(
            &format!("Ticket {i}"),
            &["--email", "bo@example.com", "-m", "It broke"],
        ));
    }
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["reply", &ids[0], "-m", "Try this", "--resolve"]);
    env.ok(&["close", &ids[0]]);
    env.ok(&["close", &ids[1], "--force", "--reason", "spam"]);
    env.ok(&["reply", &ids[2], "-m", "Fixed", "--resolve"]);
    env.ok(&["rate", &ids[2], "5", "--comment", "fast"]);
    env.ok(&["note", &ids[3], "-m", "internal"]);
    env.ok(&["postpone", &ids[4], "--until", "2025-03-10"]);
    (env, ids)
}

#[test]
fn jsonl_lines_are_the_show_json_of_every_ticket_in_id_order() {
    let (env, created) = desk_with_history();
    let lines = exported(&env, &[]);
    let mut sorted = created.clone();
    sorted.sort();
    assert_ne!(sorted, created, "the ids were minted out of order");
    assert_eq!(ids(&lines), sorted, "every ticket once, in id order");
    for line in &lines {
        let id = line["id"].as_str().unwrap();
        assert_eq!(*line, env.show(id), "{id}");
    }
    // Closed tickets are in, though a listing leaves them out by default.
    let closed: Vec<&Value> = lines.iter().filter(|t| t["status"] == "closed").collect();
    assert_eq!(closed.len(), 2);
    assert_eq!(
        env.json(&["list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        10
    );
    // The SLA state is there as in `tix show`, and so is the conversation.
    assert!(lines.iter().any(|t| t["sla"].is_object()));
    let rated = lines.iter().find(|t| t["id"] == created[2]).unwrap();
    assert_eq!(rated["rating"]["score"], 5);
    assert_eq!(rated["messages"].as_array().unwrap().len(), 2);
    // One compact object a line; --format jsonl says the same.
    let text = env.ok(&["export"]);
    assert_eq!(text.lines().count(), 12);
    assert!(
        text.lines()
            .all(|l| !l.starts_with(' ') && l.ends_with('}'))
    );
    assert_eq!(env.ok(&["export", "--format", "jsonl"]), text);
}

#[test]
fn csv_has_a_header_and_one_row_per_ticket() {
    let (env, created) = desk_with_history();
    let (header, rows) = csv_rows(&env);
    assert_eq!(
        header.join(","),
        "id,subject,status,category,priority,assignee,department,tags,\
         customer_name,customer_email,customer_phone,created,updated,first_reply,\
         postponed_until,reopens,rating,rating_comment,messages,follow_up_of,\
         duplicate_of,related,source"
    );
    let mut sorted = created.clone();
    sorted.sort();
    let row_ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str()).collect();
    assert_eq!(row_ids, sorted);
    for row in &rows {
        let json = env.show(&row["id"]);
        assert_eq!(row["subject"], json["subject"].as_str().unwrap());
        assert_eq!(row["status"], json["status"].as_str().unwrap());
        assert_eq!(row["category"], json["category"].as_str().unwrap());
        assert_eq!(row["created"], json["created"].as_str().unwrap());
        assert_eq!(row["updated"], json["updated"].as_str().unwrap());
        assert_eq!(
            row["messages"],
            json["messages"].as_array().unwrap().len().to_string()
        );
        assert_eq!(row["customer_email"], "bo@example.com");
    }
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(by_id(&created[1])["status"], "closed");
    assert_eq!(by_id(&created[2])["rating"], "5");
    assert_eq!(by_id(&created[2])["rating_comment"], "fast");
    assert_eq!(by_id(&created[2])["first_reply"], "2025-03-03T10:00:00Z");
    assert_eq!(
        by_id(&created[4])["postponed_until"],
        "2025-03-10T00:00:00Z"
    );
    assert_eq!(by_id(&created[5])["first_reply"], "");
    assert_eq!(by_id(&created[5])["rating"], "");
}

#[test]
fn csv_quotes_commas_quotes_and_line_breaks_and_has_a_column_per_field() {
    let env = TestEnv::new();
    configure(
        &env,
        "[[field]]\nname = \"order\"\ntype = \"number\"\n\n[[field]]\nname = \"note\"\ntype = \"string\"\n",
    );
    let quoted = env.new_ticket_with(
        "Say \"hi\", please",
        &["--customer", "Doe, Jane", "--field", "order=-5"],
    );
    let plain = env.new_ticket_with("Plain", &["--tag", "vip", "--tag", "eu"]);
    // A value with line breaks, as a hand edit or an import may leave.
    let path = env.ticket_path(&plain);
    let file = env.read_ticket_file(&plain);
    let file =
        format!("{file}\n[fields]\nnote = \"two\\nlines, \\\"quoted\\\"\"\nlegacy = \"old\"\n");
    env.commit_file(&path, &file);
    assert_eq!(env.show(&plain)["fields"]["note"], "two\nlines, \"quoted\"");

    let text = env.ok(&["export", "--format", "csv"]);
    assert!(text.contains(",\"Say \"\"hi\"\", please\","), "{text}");
    assert!(text.contains(",\"two\nlines, \"\"quoted\"\"\""), "{text}");
    let (header, rows) = csv_rows(&env);
    // The form's fields in its order, then the others found in tickets.
    assert_eq!(
        &header[header.len() - 3..],
        ["field.order", "field.note", "field.legacy"]
    );
    let by_id = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap();
    let q = by_id(&quoted);
    assert_eq!(q["subject"], "Say \"hi\", please");
    assert_eq!(q["customer_name"], "Doe, Jane");
    assert_eq!(q["field.order"], "-5", "a number is not defused");
    assert_eq!(q["field.note"], "");
    let p = by_id(&plain);
    assert_eq!(p["field.note"], "two\nlines, \"quoted\"");
    assert_eq!(p["field.legacy"], "old");
    assert_eq!(p["tags"], "eu vip");
}

#[test]
fn csv_defuses_text_a_spreadsheet_would_run_as_a_formula() {
    let env = TestEnv::new();
    configure(&env, "[[field]]\nname = \"ref\"\ntype = \"string\"\n");
    let formula = "=HYPERLINK(\"http://evil.example\",\"click\")";
    let id = env.new_ticket_with(
        formula,
        &[
            "--customer",
            "@SUM(A1:A9)",
            "--phone",
            "+44 20 7946 0000",
            "--field",
            "ref=-1+2",
            "--tag",
            "=cmd",
        ],
    );
    env.ok(&["resolve", &id]);
    env.ok(&["rate", &id, "1", "--comment", "=1+1"]);
    let (_, rows) = csv_rows(&env);
    let row = &rows[0];
    assert_eq!(row["subject"], format!("'{formula}"));
    assert_eq!(row["customer_name"], "'@SUM(A1:A9)");
    assert_eq!(row["customer_phone"], "'+44 20 7946 0000");
    assert_eq!(row["field.ref"], "'-1+2");
    assert_eq!(row["tags"], "'=cmd");
    assert_eq!(row["rating_comment"], "'=1+1");
    assert_eq!(row["rating"], "1");
    // No cell of the output starts a formula.
    for cell in row.values() {
        assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell:?}");
    }
    // JSON lines keep the text exact.
    assert_eq!(exported(&env, &[])[0]["subject"], formula);
}

#[test]
fn hostile_text_is_escaped_in_json_lines_and_defused_in_warnings() {
    let env = TestEnv::new();
    let evil = "Hi \u{1b}]0;pwned\u{7}\u{1b}[2J \u{202e}gnp.exe";
    let id = env.new_ticket_with(evil, &["--customer", "\u{202e}Bo", "-m", evil]);
    // A broken file whose error message quotes hostile text, and a stray
    // file with an escape code in its name.
    env.commit_file(
        "tickets/zz/zzzzzz.toml",
        "id = \"zzzzzz\"\nsubject = \"x\"\npriority = \"\u{202e}meh\"\n",
    );
    env.commit_file("tickets/zz/\u{1b}[31mred.toml", "not a ticket");
    let out = env.tix(&["export"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!out.stdout.contains(&0x1b), "no raw escape in JSON lines");
    assert!(!out.stdout.contains(&0x07), "no raw bell in JSON lines");
    let text = String::from_utf8(out.stdout).unwrap();
    let line: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["subject"], evil, "the text is exact once parsed");
    assert_eq!(line, env.show(&id));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("tickets/zz/zzzzzz.toml"), "{stderr}");
    assert!(stderr.contains("red.toml"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
}

#[test]
fn formats_other_than_jsonl_and_csv_are_usage_errors() {
    let env = TestEnv::new();
    env.new_ticket("One");
    for format in ["table", "json", "toml", "html"] {
        let err = env.fail(&["export", "--format", format], 2);
        assert!(
            err.contains(&format!("invalid value '{format}' for '--format"))
                && err.contains("[possible values: jsonl, csv]"),
            "{err}"
        );
    }
    for format in ["jsonl", "csv"] {
        let err = env.fail(&["export", "--format", format, "--since", "someday"], 2);
        assert!(err.contains("--since"), "{err}");
    }
}

#[test]
fn a_broken_ticket_file_is_named_and_the_rest_exported() {
    let (env, created) = desk_with_history();
    env.commit_file(
        "tickets/zz/zzzzzz.toml",
        "id = \"zzzzzz\"\nsubject = \"broken\nstatus = \"new\"\n",
    );
    // A good file under another ticket's name is not exported twice.
    let copy = env.read_ticket_file(&created[0]);
    env.commit_file("tickets/zz/zzzzzy.toml", &copy);
    for format in ["jsonl", "csv"] {
        let out = env.tix(&["export", "--format", format]);
        assert_eq!(out.status.code(), Some(0), "{format}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let rows = stdout.lines().count() - usize::from(format == "csv");
        assert_eq!(rows, 12, "{format}: {stdout}");
        let id = &created[0];
        let rows_of_a = stdout
            .lines()
            .filter(|l| {
                l.starts_with(&format!("{{\"id\":\"{id}\"")) || l.starts_with(&format!("{id},"))
            })
            .count();
        assert_eq!(rows_of_a, 1, "{stdout}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(
            stderr.contains("warning: skipped tickets/zz/zzzzzz.toml:2"),
            "{stderr}"
        );
        assert!(stderr.contains("tickets/zz/zzzzzy.toml"), "{stderr}");
        assert_no_panic(&stderr);
    }
}

#[test]
fn a_reader_that_stops_early_ends_the_export_quietly() {
    let env = TestEnv::new();
    // Far more than a pipe and tix's buffer hold, in either format, so tix
    // is still writing when the reader goes away.
    let words = "All work and no play ".repeat(1_000);
    for i in 0..16 {
        env.new_ticket_with(&format!("{words}{i}"), &["-m", &words]);
    }
    assert!(env.ok(&["export", "--format", "csv"]).len() > 300_000);
    for format in ["jsonl", "csv"] {
        let mut child = env.spawn(&["export", "--format", format]);
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The reader is gone (as `head -1` exits).
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
        assert!(stderr.is_empty(), "{format}: {stderr}");
        assert!(first.len() > 10, "{format}: {first}");
    }
    // Through a shell, as users write it: tix's own exit code is 0.
    let mut sh = std::process::Command::new("sh");
    seal(&mut sh, env.desk(), env.home(), &env.now(), AGENT);
    let out = sh
        .env("TIX", assert_cmd::cargo::cargo_bin!("tix"))
        .args([
            "-c",
            "{ \"$TIX\" export; echo \"tix exited $?\" >&2; } | head -1",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "tix exited 0\n");
    assert_eq!(out.stdout.iter().filter(|b| **b == b'\n').count(), 1);
}

#[test]
fn since_keeps_the_tickets_updated_at_or_after_it() {
    let env = TestEnv::new();
    let old = env.new_ticket("Old");
    let touched = env.new_ticket("Touched later");
    env.at("2025-03-10T09:00:00Z");
    let new = env.new_ticket("New");
    env.ok(&["note", &touched, "-m", "again"]);
    let mut want = vec![touched.clone(), new.clone()];
    want.sort();
    assert_eq!(ids(&exported(&env, &["--since", "2025-03-10"])), want);
    assert_eq!(
        ids(&exported(&env, &["--since", "2025-03-10T09:00:00Z"])),
        want
    );
    assert_eq!(ids(&exported(&env, &["--since", "1d"])), want);
    assert_eq!(exported(&env, &["--since", "8d"]).len(), 3);
    let csv = env.ok(&["export", "--format", "csv", "--since", "2d"]);
    assert_eq!(csv.lines().count(), 3);
    assert!(!csv.contains(&old));
}

#[test]
fn an_empty_desk_exports_nothing_and_a_csv_header() {
    let env = TestEnv::new();
    let out = env.tix(&["export"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
    let csv = env.ok(&["export", "--format", "csv"]);
    assert_eq!(csv.lines().count(), 1);
    assert!(csv.starts_with("id,subject,"));
    let help = env.ok(&["export", "--help"]);
    assert!(help.contains("--since") && help.contains("jsonl"), "{help}");
}
