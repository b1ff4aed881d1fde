//! Links between tickets and `tix merge`, end to end (docs/guide.md,
//! "Links and merges"): each is one commit, shown by `tix show` and its
//! JSON; refusals write nothing; a merged ticket's later mail goes to the
//! ticket it was merged into; `tix doctor` checks links.

use serde_json::Value;

use crate::common::{AGENT_EMAIL, TestEnv, mail};

/// The subject lines and trailers of the `HEAD` commit, and the files it
/// changed.
fn head_commit(env: &TestEnv) -> (String, Vec<String>) {
    let message = env.git(&["log", "-1", "--format=%B"]);
    let files = env.git(&["show", "--format=", "--name-only", "HEAD"]);
    (message, files.lines().map(str::to_owned).collect())
}

/// Two sorted ticket paths.
fn paths(env: &TestEnv, a: &str, b: &str) -> Vec<String> {
    let mut all = vec![env.ticket_path(a), env.ticket_path(b)];
    all.sort();
    all
}

fn links(env: &TestEnv, id: &str) -> Value {
    env.show(id)["links"].clone()
}

/// Runs a refused command: exit `code`, one `error:` line, no commit.
fn refused(env: &TestEnv, args: &[&str], code: i32) -> String {
    let head = env.head();
    let stderr = env.fail(args, code);
    assert_eq!(env.head(), head, "tix {args:?} committed");
    assert_eq!(env.git(&["status", "--porcelain"]), "", "tix {args:?}");
    stderr
}

#[test]
fn a_duplicate_link_is_one_commit_in_the_file_show_and_json() {
    let env = TestEnv::new();
    let a = env.new_ticket("Printer on fire");
    let b = env.new_ticket("Printer burning");
    let before = env.commits();
    env.at("2025-03-03T10:00:00Z");
    let out = env.ok(&["link", &b, "--duplicate-of", &a[..4]]);
    assert_eq!(out, format!("{b}: link duplicate_of {a}\n"));
    assert_eq!(env.commits(), before + 1);
    let (message, files) = head_commit(&env);
    assert_eq!(files, [env.ticket_path(&b)]);
    assert!(message.starts_with(&format!("{b}: link duplicate_of {a} Printer burning")));
    assert!(message.contains(&format!("Tix-Ticket: {b}\nTix-Action: link\n")));
    let file = env.read_ticket_file(&b);
    assert!(file.contains(&format!("duplicate_of = \"{a}\"")), "{file}");
    assert!(file.contains("kind = \"link\""), "{file}");
    assert_eq!(links(&env, &b)["duplicate_of"], a.as_str());
    assert_eq!(links(&env, &a)["duplicate_of"], Value::Null);
    let page = env.ok(&["show", &b]);
    assert!(page.contains(&format!("Duplicate of {a}\n")), "{page}");
    // The JSON of the link command is the ticket.
    let c = env.new_ticket("Toner");
    let json = env.json(&["link", &c, "--duplicate-of", &a, "--format", "json"]);
    assert_eq!(json["id"], c.as_str());
    assert_eq!(json["links"]["duplicate_of"], a.as_str());
    assert_eq!(json["links"]["merged_from"], serde_json::json!([]));
}

#[test]
fn a_related_link_is_written_on_both_tickets_in_one_commit_and_unlinked_so() {
    let env = TestEnv::new();
    let a = env.new_ticket("Printer on fire");
    let b = env.new_ticket("Office smells");
    let before = env.commits();
    let out = env.ok(&["link", &a, "--related", &b]);
    assert_eq!(
        out,
        format!("{a}: link related {b}\n{b}: link related {a}\n")
    );
    assert_eq!(env.commits(), before + 1);
    let (message, files) = head_commit(&env);
    assert_eq!(files, paths(&env, &a, &b));
    assert!(
        message.contains(&format!(
            "Tix-Ticket: {a}\nTix-Ticket: {b}\nTix-Action: link\n"
        )),
        "{message}"
    );
    assert_eq!(links(&env, &a)["related"], serde_json::json!([b]));
    assert_eq!(links(&env, &b)["related"], serde_json::json!([a]));
    assert!(
        env.ok(&["show", &b])
            .contains(&format!("Related      {a}\n"))
    );
    // Both tickets' logs hold the commit.
    for id in [&a, &b] {
        let log = env.json(&["log", id, "--format", "json"]);
        assert_eq!(log[0]["action"], "link", "{log:#}");
    }
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    env.at("2025-03-03T10:00:00Z");
    let out = env.ok(&["link", &b, "--unlink", &a]);
    assert_eq!(out, format!("{b}: unlink {a}\n{a}: unlink {b}\n"));
    assert_eq!(env.commits(), before + 2);
    assert_eq!(head_commit(&env).1, paths(&env, &a, &b));
    assert_eq!(links(&env, &a)["related"], serde_json::json!([]));
    assert_eq!(links(&env, &b)["related"], serde_json::json!([]));
    // The log keeps who linked and unlinked.
    let file = env.read_ticket_file(&a);
    assert_eq!(file.matches("field = \"related\"").count(), 2, "{file}");
}

#[test]
fn bad_links_are_refused_in_one_line_and_write_nothing() {
    let env = TestEnv::new();
    let a = env.new_ticket("Printer on fire");
    let b = env.new_ticket("Printer burning");
    let c = env.new_ticket("Printer smoking");
    env.ok(&["link", &b, "--duplicate-of", &a]);
    env.ok(&["link", &c, "--duplicate-of", &b]);
    env.ok(&["link", &a, "--related", &b]);
    let cases: [(&[&str], &str); 6] = [
        (&["link", &a, "--related", &a], "cannot be linked to itself"),
        (
            &["link", &a, "--related", "zzzzzz"],
            "no ticket matches 'zzzzzz'",
        ),
        (&["link", &b, "--duplicate-of", &a], "already"),
        (&["link", &b, "--related", &a], "related already"),
        (&["link", &a, "--duplicate-of", &c], "would make a cycle"),
        (
            &["link", &a, "--unlink", &c],
            &format!("has no link to {c}"),
        ),
    ];
    for (args, words) in cases {
        let stderr = refused(&env, args, 1);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
    }
    // A closed ticket is locked: nothing links it, nor to it both ways.
    env.ok(&["close", &c, "--force", "--reason", "duplicate"]);
    let stderr = refused(&env, &["link", &a, "--related", &c], 1);
    assert!(
        stderr.contains(&format!("ticket {c} is closed")),
        "{stderr}"
    );
    let stderr = refused(&env, &["link", &c, "--unlink", &b], 1);
    assert!(stderr.contains("is closed"), "{stderr}");
    // Usage: exactly one of the three flags.
    refused(&env, &["link", &a], 2);
    refused(&env, &["link", &a, "--related", &b, "--unlink", &b], 2);
}

#[test]
fn unlink_removes_a_link_to_a_ticket_that_is_gone() {
    let env = TestEnv::new();
    let a = env.new_ticket("Printer on fire");
    let path = env.ticket_path(&a);
    let text = env.read_ticket_file(&a);
    let edited = text.replacen("priority = ", "duplicate_of = \"zzzzzz\"\npriority = ", 1);
    env.commit_file(&path, &edited);
    assert!(env.tix(&["doctor"]).status.code() == Some(1));
    env.ok(&["link", &a, "--unlink", "zzzzzz"]);
    assert_eq!(links(&env, &a)["duplicate_of"], Value::Null);
    env.ok(&["doctor"]);
}

/// A source with a customer message, an agent reply and a note (at
/// 09:00, 10:00, 10:30), and a target with a customer message; returns
/// (source, target).
fn merge_pair(env: &TestEnv) -> (String, String) {
    let source = env.new_ticket_with(
        "Printer burning",
        &["--email", "bo@example.com", "-m", "Smoke everywhere"],
    );
    env.at("2025-03-03T09:30:00Z");
    let target = env.new_ticket_with(
        "Printer on fire",
        &["--email", "bo@example.com", "-m", "It smokes"],
    );
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["reply", &source, "-m", "Unplug it"]);
    env.at("2025-03-03T10:30:00Z");
    env.ok(&["note", &source, "-m", "Fuser issue"]);
    env.at("2025-03-04T09:00:00Z");
    (source, target)
}

fn messages(ticket: &Value) -> Vec<Value> {
    ticket["messages"].as_array().unwrap().clone()
}

#[test]
fn merge_appends_the_conversation_closes_the_source_and_notes_both_in_one_commit() {
    let env = TestEnv::new();
    let (source, target) = merge_pair(&env);
    let target_before = env.show(&target);
    let before = env.commits();
    let out = env.ok(&["merge", &source, &target]);
    assert_eq!(
        out,
        format!(
            "{source}: merge into {target} (answered -> closed)\n\
             {target}: 3 message(s) appended from {source}\n"
        )
    );
    assert_eq!(env.commits(), before + 1);
    let (message, files) = head_commit(&env);
    assert_eq!(files, paths(&env, &source, &target));
    assert!(
        message.starts_with(&format!(
            "{source}: merge into {target} (answered -> closed) Printer burning\n"
        )),
        "{message}"
    );
    assert!(
        message.trim_end().ends_with(&format!(
            "Tix-Ticket: {source}\nTix-Ticket: {target}\nTix-Action: merge"
        )),
        "{message}"
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    let s = env.show(&source);
    assert_eq!(s["status"], "closed");
    assert_eq!(s["links"]["duplicate_of"], target.as_str());
    let last = s["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["reason"], format!("merged into {target}"));
    let note = messages(&s).last().unwrap().clone();
    assert_eq!(note["role"], "note");
    assert!(note["body"].as_str().unwrap().contains(&target), "{note}");

    let t = env.show(&target);
    let all = messages(&t);
    assert_eq!(all.len(), 5, "{t:#}");
    let copied: Vec<(&str, &str, &str, &str)> = all[1..4]
        .iter()
        .map(|m| {
            assert_eq!(m["merged_from"], source.as_str(), "{m}");
            (
                m["role"].as_str().unwrap(),
                m["author"].as_str().unwrap(),
                m["at"].as_str().unwrap(),
                m["body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        copied,
        [
            (
                "customer",
                "bo@example.com",
                "2025-03-03T09:00:00Z",
                "Smoke everywhere"
            ),
            ("agent", AGENT_EMAIL, "2025-03-03T10:00:00Z", "Unplug it"),
            ("note", AGENT_EMAIL, "2025-03-03T10:30:00Z", "Fuser issue"),
        ]
    );
    assert_eq!(all[0]["merged_from"], Value::Null);
    assert_eq!(all[4]["role"], "note");
    assert!(all[4]["body"].as_str().unwrap().contains(&source));
    assert_eq!(t["links"]["merged_from"], serde_json::json!([source]));
    // The copies are the source's: the target's status, first reply and
    // SLA are its own.
    assert_eq!(t["status"], target_before["status"]);
    assert_eq!(t["first_reply"], Value::Null);
    assert_eq!(t["history"], target_before["history"]);
    assert_eq!(t["updated"], "2025-03-04T09:00:00Z");
    let sla = &t["sla"]["targets"][0];
    assert_eq!(sla["metric"], "first_reply");
    assert_eq!(sla["status"], "breached", "{t:#}");
    // tix log of the target shows the merge, not the source's status.
    let log = env.json(&["log", &target, "--format", "json"]);
    assert_eq!(log[0]["action"], "merge");
    assert_eq!(log[0]["status"], Value::Null);
    let found = env.git(&[
        "log",
        "--format=%h",
        "--grep",
        &format!("Tix-Ticket: {target}"),
    ]);
    assert_eq!(found.lines().count(), 2, "the creation and the merge");
}

#[test]
fn merge_json_prints_both_tickets() {
    let env = TestEnv::new();
    let (source, target) = merge_pair(&env);
    let json = env.json(&["merge", &source, &target, "--format", "json"]);
    assert_eq!(json["source"]["id"], source.as_str());
    assert_eq!(json["source"]["status"], "closed");
    assert_eq!(json["target"]["id"], target.as_str());
    assert_eq!(json["target"]["links"]["merged_from"][0], source.as_str());
    assert_eq!(json["copied"], 3);
}

#[test]
fn bad_merges_are_refused_in_one_line_and_write_nothing() {
    let env = TestEnv::new();
    let (source, target) = merge_pair(&env);
    let other = env.new_ticket("Toner");
    let dup = env.new_ticket("Toner again");
    env.ok(&["link", &dup, "--duplicate-of", &other]);
    let closed = env.new_ticket("Spam");
    env.ok(&["close", &closed, "--force", "--reason", "spam"]);
    let before = (env.show(&source), env.show(&target));
    let cases: [(&[&str], &str); 5] = [
        (&["merge", &source, &source[..5]], "into itself"),
        (&["merge", &source, "zzzzzz"], "no ticket matches 'zzzzzz'"),
        (
            &["merge", &source, &closed],
            &format!("ticket {closed} is closed"),
        ),
        (
            &["merge", &closed, &source],
            &format!("ticket {closed} is closed"),
        ),
        (&["merge", &other, &dup], "would make a cycle"),
    ];
    for (args, words) in cases {
        let stderr = refused(&env, args, 1);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
    }
    assert_eq!((env.show(&source), env.show(&target)), before);
    // Merged once; the second time is refused.
    env.ok(&["merge", &source, &target]);
    let head = env.show(&target);
    let stderr = refused(&env, &["merge", &source, &target], 1);
    assert!(
        stderr.contains(&format!("is closed as a duplicate of {target} already")),
        "{stderr}"
    );
    assert_eq!(env.show(&target), head);
    refused(&env, &["merge", &source], 2);
}

#[test]
fn a_merged_target_shows_where_each_message_came_from() {
    let env = TestEnv::new();
    let (source, target) = merge_pair(&env);
    let c = env.new_ticket("Office smells");
    env.ok(&["link", &target, "--related", &c]);
    env.ok(&["merge", &source, &target]);
    let page = env.ok(&["show", &target]).replace(&source, "<source>");
    let page = page.replace(&target, "<target>").replace(&c, "<related>");
    insta::assert_snapshot!("show_merged_target", page);
}

// ---------------------------------------------------------------------------
// Mail

/// A mail from Bo: `message_id` and, when given, the one it answers.
fn bo_mail(message_id: &str, in_reply_to: Option<&str>, subject: &str, body: &str) -> String {
    let parent = in_reply_to
        .map(|p| format!("In-Reply-To: {p}\nReferences: {p}\n"))
        .unwrap_or_default();
    format!(
        "From: Bo Berg <bo@example.com>\n\
         To: support@example.com\n\
         Subject: {subject}\n\
         Date: Mon, 03 Mar 2025 08:55:00 +0000\n\
         Message-ID: {message_id}\n\
         {parent}\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\
         \n\
         --b1\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         {body}\n\
         --b1\n\
         Content-Type: text/plain; name=\"log.txt\"\n\
         Content-Disposition: attachment; filename=\"log.txt\"\n\
         \n\
         error 42\n\
         --b1--\n"
    )
}

/// `tix ingest FILE --format json` of `mail`; returns the one result.
fn ingest(env: &TestEnv, name: &str, text: &str) -> Value {
    let path = env.home().join(name);
    std::fs::write(&path, text).unwrap();
    let report = env.json(&["ingest", path.to_str().unwrap(), "--format", "json"]);
    report["results"][0].clone()
}

#[test]
fn mail_answering_a_merged_ticket_lands_on_the_ticket_it_was_merged_into() {
    let env = TestEnv::new();
    mail::configure(&env, "");
    let first = ingest(
        &env,
        "1.eml",
        &bo_mail("<m1@bo.example>", None, "Fire", "It smokes"),
    );
    let source = first["ticket"].as_str().unwrap().to_owned();
    let target = env.new_ticket_with("Printer", &["--email", "bo@example.com"]);
    env.at("2025-03-03T10:00:00Z");
    env.ok(&["merge", &source, &target]);
    let source_before = env.show(&source);

    // The copy keeps the Message-ID and finds its files with the source.
    let t = env.show(&target);
    let copy = &messages(&t)[0];
    assert_eq!(copy["message_id"], "<m1@bo.example>");
    let attachment = copy["attachments"][0].as_str().unwrap();
    assert!(attachment.starts_with(&format!("tickets/{}/{source}/", &source[..2])));
    let file = std::fs::read_to_string(env.path(attachment)).unwrap();
    assert_eq!(file.trim_end(), "error 42");

    env.at("2025-03-03T11:00:00Z");
    let answer = bo_mail(
        "<m2@bo.example>",
        Some("<m1@bo.example>"),
        "Re: Fire",
        "Still",
    );
    let result = ingest(&env, "2.eml", &answer);
    assert_eq!(result["outcome"], "appended", "{result}");
    assert_eq!(result["ticket"], target.as_str(), "{result}");
    let last = messages(&env.show(&target)).last().unwrap().clone();
    assert_eq!(last["message_id"], "<m2@bo.example>");
    assert_eq!(last["role"], "customer");
    assert_eq!(last["merged_from"], Value::Null);
    assert_eq!(env.show(&source), source_before, "the source stays closed");

    // Merged on: the chain is followed to its end. A [#ID] subject naming
    // the first ticket, from its customer, goes there too.
    let last_one = env.new_ticket_with("Printers", &["--email", "ida@example.com"]);
    env.ok(&["merge", &target, &last_one]);
    let answer = bo_mail(
        "<m3@bo.example>",
        Some("<m1@bo.example>"),
        "Re: Fire",
        "Again",
    );
    assert_eq!(ingest(&env, "3.eml", &answer)["ticket"], last_one.as_str());
    let tagged = bo_mail("<m4@bo.example>", None, &format!("News [#{source}]"), "Hi");
    let result = ingest(&env, "4.eml", &tagged);
    assert_eq!(result["outcome"], "appended", "{result}");
    assert_eq!(result["ticket"], last_one.as_str(), "{result}");
}

#[test]
fn mail_to_a_duplicate_still_open_stays_and_a_looping_chain_does_not_hang() {
    let env = TestEnv::new();
    mail::configure(&env, "");
    let first = ingest(
        &env,
        "1.eml",
        &bo_mail("<m1@bo.example>", None, "Fire", "It smokes"),
    );
    let a = first["ticket"].as_str().unwrap().to_owned();
    let b = env.new_ticket("Printer");
    // Marked a duplicate, not closed: the ticket still takes its mail.
    env.ok(&["link", &a, "--duplicate-of", &b]);
    let answer = bo_mail(
        "<m2@bo.example>",
        Some("<m1@bo.example>"),
        "Re: Fire",
        "Still",
    );
    assert_eq!(ingest(&env, "2.eml", &answer)["ticket"], a.as_str());
    // Closed as a duplicate of a ticket that is a duplicate of it (a hand
    // edit): the loop leaves the mail where it threaded.
    env.ok(&["close", &a, "--force", "--reason", "duplicate"]);
    let path = env.ticket_path(&b);
    let text = env.read_ticket_file(&b);
    let looped = text.replacen(
        "priority = ",
        &format!("duplicate_of = \"{a}\"\npriority = "),
        1,
    );
    env.commit_file(&path, &looped);
    env.ok(&["close", &b, "--force", "--reason", "duplicate"]);
    let again = bo_mail(
        "<m3@bo.example>",
        Some("<m1@bo.example>"),
        "Re: Fire",
        "Hello?",
    );
    let result = ingest(&env, "3.eml", &again);
    // The mail threads to the closed ticket: the default closed_reply makes
    // a follow-up of it.
    assert_eq!(result["outcome"], "created", "{result}");
    let new = result["ticket"].as_str().unwrap();
    assert_eq!(links(&env, new)["follow_up_of"], a.as_str());
}

// ---------------------------------------------------------------------------
// Doctor

#[test]
fn doctor_reports_links_to_missing_tickets_to_itself_and_duplicate_cycles() {
    let env = TestEnv::new();
    let a = env.new_ticket("A");
    let b = env.new_ticket("B");
    let c = env.new_ticket("C");
    env.ok(&["link", &a, "--duplicate-of", &b]);
    env.ok(&["doctor"]);
    let edit = |id: &str, line: &str| {
        let text = env.read_ticket_file(id);
        let edited = text.replacen("priority = ", &format!("{line}\npriority = "), 1);
        env.commit_file(&env.ticket_path(id), &edited);
    };
    edit(&b, &format!("duplicate_of = \"{a}\""));
    edit(&c, &format!("related = [\"{c}\", \"zzzzzz\"]"));
    let out = env.tix(&["doctor"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    // The cycle is reported once, on the smaller id, at its key's line.
    let (first, second) = if a < b { (&a, &b) } else { (&b, &a) };
    let line = env
        .read_ticket_file(first)
        .lines()
        .position(|l| l.starts_with("duplicate_of"))
        .unwrap()
        + 1;
    let path_c = env.ticket_path(&c);
    for want in [
        format!(
            "{}:{line}: duplicate_of makes a cycle: {first} -> {second} -> {first}",
            env.ticket_path(first)
        ),
        format!("{path_c}:5: related names the ticket itself"),
        format!("{path_c}:5: related names ticket zzzzzz, which does not exist"),
    ] {
        assert!(stdout.contains(&want), "{want}\n{stdout}");
    }
    assert_eq!(stdout.matches("makes a cycle").count(), 1, "{stdout}");
}

#[test]
fn link_and_merge_are_listed_with_their_help() {
    let env = TestEnv::empty();
    let help = env.ok(&["--help"]);
    for command in ["link ", "merge "] {
        assert!(
            help.contains(&format!("\n  {command}")),
            "{command}: {help}"
        );
    }
    let link = env.ok(&["link", "--help"]);
    for flag in ["--duplicate-of <X>", "--related <X>", "--unlink <X>"] {
        assert!(link.contains(flag), "{flag}: {link}");
    }
    let merge = env.ok(&["merge", "--help"]);
    assert!(merge.contains("<SOURCE> <TARGET>"), "{merge}");
    assert!(
        merge.contains("merge-driver"),
        "told apart from git's: {merge}"
    );
}

#[test]
fn unlink_repairs_a_ticket_linked_to_itself_by_hand() {
    let env = TestEnv::new();
    let a = env.new_ticket("A");
    let text = env.read_ticket_file(&a);
    let edited = text.replacen(
        "priority = ",
        &format!("related = [\"{a}\"]\npriority = "),
        1,
    );
    env.commit_file(&env.ticket_path(&a), &edited);
    assert_eq!(env.tix(&["doctor"]).status.code(), Some(1));
    let before = env.commits();
    assert_eq!(
        env.ok(&["link", &a, "--unlink", &a]),
        format!("{a}: unlink {a}\n")
    );
    assert_eq!(env.commits(), before + 1);
    assert_eq!(links(&env, &a)["related"], serde_json::json!([]));
    env.ok(&["doctor"]);
}
