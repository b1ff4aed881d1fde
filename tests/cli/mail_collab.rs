//! Mail across clones and across a killed batch (docs/mail.md): two clones
//! that each take a customer's mail and reply before they sync merge
//! without a conflict, the same mail taken on both clones is kept once,
//! and an mbox intake killed part way is healed by the next command and
//! completed by running it again.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common::TestEnv;
use crate::common::world::World;

const T: &str = "2025-03-03T09:00:00Z";
const ANA: &str = "Ana <ana@desk.test>";
const BEA: &str = "Bea <bea@desk.test>";

// ---------------------------------------------------------------------------
// Two clones that take mail

/// Runs tix in `clone` as `agent`, expecting success; returns stdout.
fn ok(w: &World, clone: &str, now: &str, agent: &str, args: &[&str]) -> String {
    let out = w.tix_in(clone, now, agent, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tix {args:?} in {clone} ({:?}): {stderr}",
        out.status.code()
    );
    crate::common::assert_no_panic(&stderr);
    String::from_utf8(out.stdout).unwrap()
}

/// A mail from Carla; `parent` makes it an answer (In-Reply-To and
/// References).
fn carla(tag: &str, subject: &str, parent: Option<&str>, body: &str) -> String {
    let threading = parent.map_or_else(String::new, |p| {
        format!("In-Reply-To: {p}\nReferences: {p}\n")
    });
    format!(
        "Return-Path: <carla@customer.example>\n\
         From: Carla Mendes <carla@customer.example>\n\
         To: support@example.com\n\
         Subject: {subject}\n\
         Date: Mon, 3 Mar 2025 09:12:40 +0100\n\
         Message-ID: {}\n\
         {threading}\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         \n\
         {body}\n",
        carla_id(tag)
    )
}

fn carla_id(tag: &str) -> String {
    format!("<carla-{tag}@customer.example>")
}

/// Writes `mail` outside the clones and ingests it in `clone`; returns the
/// one result of the report.
fn ingest(w: &World, clone: &str, now: &str, name: &str, mail: &str) -> Value {
    let path = w.path(&format!("inbox/{name}.eml"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, mail).unwrap();
    let out = ok(
        w,
        clone,
        now,
        ANA,
        &["ingest", path.to_str().unwrap(), "--format", "json"],
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{report}");
    results[0].clone()
}

/// Two clones `a` and `b` of a desk that mails through a sendmail command
/// writing each message to a file of `sent/` (allowed on both clones),
/// with a ticket made from Carla's first mail on `a`, synced to both;
/// returns the ticket's id.
fn mail_clones(w: &World) -> String {
    let sent = w.path("sent");
    std::fs::create_dir_all(&sent).unwrap();
    let dir = sent.to_str().unwrap();
    assert!(!dir.contains(['"', '\\', '\'', ' ']), "{dir}");
    w.configure(
        "a",
        &format!(
            "\n[mail]\naddress = \"support@example.com\"\nname = \"Example Support\"\n\
             transport = \"sendmail\"\nsendmail = \"cat > $(mktemp {dir}/mail.XXXXXX)\"\n"
        ),
    );
    ok(w, "a", T, ANA, &["sync"]);
    ok(w, "b", T, BEA, &["sync"]);
    for clone in ["a", "b"] {
        ok(w, clone, T, ANA, &["hooks", "allow"]);
    }
    let first = carla("1", "Cannot export CSV", None, "The export is empty.");
    let result = ingest(w, "a", T, "m1", &first);
    assert_eq!(result["outcome"], "created", "{result}");
    let id = result["ticket"].as_str().unwrap().to_owned();
    ok(w, "a", T, ANA, &["sync"]);
    ok(w, "b", T, BEA, &["sync"]);
    assert_eq!(w.ticket("b", &id)["messages"].as_array().unwrap().len(), 1);
    id
}

/// Syncs a, b, then a; checks that nothing is left mid-merge and that both
/// clones end on one commit.
fn sync_round(w: &World, now: &str) {
    for clone in ["a", "b", "a"] {
        let out = ok(w, clone, now, ANA, &["sync"]);
        assert!(out.contains("Synced"), "{clone}: {out}");
        assert_eq!(w.git(clone, &["ls-files", "--unmerged"]), "", "{clone}");
    }
    assert_eq!(
        w.git("a", &["rev-parse", "HEAD"]),
        w.git("b", &["rev-parse", "HEAD"]),
        "a and b end on the same commit"
    );
}

/// Checks what every clone must show after a sync: a clean status, a desk
/// `tix doctor` is happy with, and each stored file of the ticket present
/// in HEAD and in the working tree; returns the ticket as `a` shows it.
fn assert_whole(w: &World, id: &str) -> Value {
    let mut seen = Vec::new();
    for clone in ["a", "b"] {
        assert_eq!(
            w.git(clone, &["status", "--porcelain", "--untracked-files=all"]),
            "",
            "{clone}: git status"
        );
        let doctor = ok(w, clone, T, ANA, &["doctor"]);
        assert!(doctor.starts_with("ok:"), "{clone}: {doctor}");
        let ticket = w.ticket(clone, id);
        let file = w.path(&format!("{clone}/tickets/{}/{id}.toml", &id[..2]));
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            !text.contains("<<<<<<<"),
            "{clone}: conflict markers: {text}"
        );
        for message in ticket["messages"].as_array().unwrap() {
            let stored = message["attachments"].as_array().unwrap().iter();
            for path in stored.chain(message.get("raw")).filter_map(Value::as_str) {
                assert!(
                    w.path(clone).join(path).is_file(),
                    "{clone}: {path} missing"
                );
                w.git(clone, &["cat-file", "-e", &format!("HEAD:{path}")]);
            }
        }
        seen.push(ticket);
    }
    assert_eq!(seen[0], seen[1], "a and b show the same ticket");
    seen.swap_remove(0)
}

/// The messages of a ticket whose body is `body`.
fn with_body<'a>(ticket: &'a Value, body: &str) -> Vec<&'a Value> {
    ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"].as_str().unwrap().trim() == body)
        .collect()
}

/// The one message of a ticket with `body`.
fn one_with_body<'a>(ticket: &'a Value, body: &str) -> &'a Value {
    let found = with_body(ticket, body);
    assert_eq!(found.len(), 1, "{body:?} once: {ticket}");
    found[0]
}

/// The Message-IDs of the mail the sendmail command received.
fn sent_message_ids(w: &World) -> BTreeSet<String> {
    std::fs::read_dir(w.path("sent"))
        .unwrap()
        .map(|entry| {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let line = text
                .lines()
                .take_while(|l| !l.is_empty())
                .find_map(|l| l.strip_prefix("Message-ID: "))
                .unwrap_or_else(|| panic!("a sent mail without Message-ID:\n{text}"));
            line.trim().to_owned()
        })
        .collect()
}

/// Checks that the stored raw message of `message` is `mail`, byte for
/// byte, in both clones.
fn assert_raw_is(w: &World, message: &Value, mail: &str) {
    let raw = message["raw"].as_str().unwrap();
    for clone in ["a", "b"] {
        let kept = std::fs::read_to_string(w.path(clone).join(raw)).unwrap();
        assert_eq!(kept, mail, "{clone}: {raw}");
    }
}

#[test]
fn mail_taken_and_answered_on_two_offline_clones_merges_without_conflict() {
    let w = World::two_clones();
    let id = mail_clones(&w);
    let first = carla_id("1");
    let second = carla("2", "Re: Cannot export CSV", Some(&first), "Still empty.");
    let third = carla(
        "3",
        "Re: Cannot export CSV",
        Some(&first),
        "Also in Firefox.",
    );
    // Offline: each clone takes one answer and replies to it.
    let a = ingest(&w, "a", "2025-03-03T10:00:00Z", "m2", &second);
    let b = ingest(&w, "b", "2025-03-03T10:05:00Z", "m3", &third);
    for (result, clone) in [(&a, "a"), (&b, "b")] {
        assert_eq!(result["outcome"], "appended", "{clone}: {result}");
        assert_eq!(result["ticket"], id.as_str(), "{clone}: {result}");
    }
    let said = ok(
        &w,
        "a",
        "2025-03-03T10:01:00Z",
        ANA,
        &["reply", &id, "-m", "Reply from A"],
    );
    assert!(
        said.contains("mail sent to carla@customer.example"),
        "{said}"
    );
    let said = ok(
        &w,
        "b",
        "2025-03-03T10:06:00Z",
        BEA,
        &["reply", &id, "-m", "Reply from B"],
    );
    assert!(
        said.contains("mail sent to carla@customer.example"),
        "{said}"
    );
    sync_round(&w, "2025-03-03T11:00:00Z");
    let ticket = assert_whole(&w, &id);
    // Every message once: the first mail, both answers, both replies.
    assert_eq!(ticket["messages"].as_array().unwrap().len(), 5, "{ticket}");
    one_with_body(&ticket, "The export is empty.");
    assert_raw_is(&w, one_with_body(&ticket, "Still empty."), &second);
    assert_raw_is(&w, one_with_body(&ticket, "Also in Firefox."), &third);
    let raws: BTreeSet<&str> = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["raw"].as_str())
        .collect();
    assert_eq!(
        raws.len(),
        3,
        "three received mails, three folders: {raws:?}"
    );
    // Two replies, two Message-IDs, both sent and recorded as sent.
    let replies: Vec<&Value> = ["Reply from A", "Reply from B"]
        .iter()
        .map(|body| one_with_body(&ticket, body))
        .collect();
    let mids: BTreeSet<String> = replies
        .iter()
        .map(|r| {
            assert_eq!(r["mail"]["state"], "sent", "{r}");
            let mid = r["message_id"].as_str().unwrap();
            assert!(mid.starts_with(&format!("<tix.{id}.")), "{mid}");
            mid.to_owned()
        })
        .collect();
    assert_eq!(
        mids.len(),
        2,
        "the two replies share a Message-ID: {mids:?}"
    );
    assert_eq!(
        sent_message_ids(&w),
        mids,
        "what went out is what is recorded"
    );
    let ids: Vec<&str> = ticket["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["message_id"].as_str())
        .collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 5, "{ids:?}");
}

/// Both clones take the same answer (the same bytes) before they sync; an
/// agent's reply makes the ticket answered first, so the answer also
/// reopens it on both sides. a takes it at 10:00, b at `b_takes_it_at`.
fn same_mail_on_both_clones(b_takes_it_at: &str) -> (World, String, String) {
    let w = World::two_clones();
    let id = mail_clones(&w);
    ok(
        &w,
        "a",
        "2025-03-03T09:30:00Z",
        ANA,
        &["reply", &id, "-m", "Which browser?"],
    );
    ok(&w, "a", "2025-03-03T09:31:00Z", ANA, &["sync"]);
    ok(&w, "b", "2025-03-03T09:31:00Z", BEA, &["sync"]);
    // Each side does something of its own on the ticket, so the two
    // intakes are different commits and git merges the ticket file through
    // the driver.
    ok(
        &w,
        "b",
        "2025-03-03T09:45:00Z",
        BEA,
        &["note", &id, "-m", "Asked?"],
    );
    let answer = carla(
        "2",
        "Re: Cannot export CSV",
        Some(&carla_id("1")),
        "Safari.",
    );
    let on_a = ingest(&w, "a", "2025-03-03T10:00:00Z", "m2", &answer);
    let on_b = ingest(&w, "b", b_takes_it_at, "m2", &answer);
    for result in [&on_a, &on_b] {
        assert_eq!(result["outcome"], "appended", "{result}");
        assert_eq!(result["ticket"], id.as_str(), "{result}");
    }
    ok(
        &w,
        "a",
        "2025-03-03T10:10:00Z",
        ANA,
        &["note", &id, "-m", "Safari bug?"],
    );
    sync_round(&w, "2025-03-03T11:00:00Z");
    (w, id, answer)
}

/// Checks that the answer of [`same_mail_on_both_clones`] is in the
/// ticket once, as one stored file, and that the desk is whole.
fn assert_same_mail_kept_once(w: &World, id: &str, answer: &str) {
    let ticket = assert_whole(w, id);
    let safari = with_body(&ticket, "Safari.");
    assert_eq!(
        safari.len(),
        1,
        "the same mail twice in the ticket: {ticket}"
    );
    assert_eq!(safari[0]["message_id"], carla_id("2").as_str());
    assert_raw_is(w, safari[0], answer);
    let folder = Path::new(safari[0]["raw"].as_str().unwrap())
        .parent()
        .unwrap();
    let files = w.git("a", &["ls-files", folder.to_str().unwrap()]);
    assert_eq!(files.lines().count(), 1, "{files}");
    // The first mail, the reply, b's note, the answer and a's note.
    assert_eq!(ticket["messages"].as_array().unwrap().len(), 5, "{ticket}");
    assert_eq!(ticket["status"], "open", "{ticket}");
    assert!(
        w.git("a", &["log", "--merges", "--format=%H"])
            .lines()
            .count()
            >= 1
    );
}

#[test]
fn the_same_mail_taken_on_both_clones_at_the_same_moment_is_kept_once() {
    let (w, id, answer) = same_mail_on_both_clones("2025-03-03T10:00:00Z");
    assert_same_mail_kept_once(&w, &id, &answer);
}

/// Two clones that take mail from one mailbox (each running
/// `tix ingest` from cron, say) take the same message at different
/// moments: its Message-ID is one, so the merged ticket should hold it
/// once. It holds it twice: the message events differ in `at` (the time of
/// the intake, not of the mail), so the merge keeps both.
#[test]
fn the_same_mail_taken_on_both_clones_minutes_apart_is_kept_once() {
    let (w, id, answer) = same_mail_on_both_clones("2025-03-03T10:07:00Z");
    assert_same_mail_kept_once(&w, &id, &answer);
}

// ---------------------------------------------------------------------------
// A killed batch

/// The messages of a generated mbox: each `(Message-ID, bytes)`, and the
/// number of distinct messages that start a thread.
struct Batch {
    messages: Vec<(String, String)>,
    threads: usize,
}

/// `count` messages: most start a thread, every third answers the message
/// before it (threads of two or three), and every eleventh is a message
/// of ten places back again, byte for byte.
fn batch(count: usize) -> Batch {
    let mut messages: Vec<(String, String)> = Vec::new();
    let mut roots = BTreeSet::new();
    // For each message: its thread's number.
    let mut thread_of: Vec<usize> = Vec::new();
    for i in 0..count {
        if i % 11 == 10 {
            let again = messages[i - 10].clone();
            thread_of.push(thread_of[i - 10]);
            messages.push(again);
            continue;
        }
        let mid = format!("<batch-{i}@customer{}.example>", i % 7);
        let parent = (i % 3 == 2).then(|| i - 1);
        let thread = parent.map_or(i, |p| thread_of[p]);
        let mut headers = format!(
            "From: Customer {thread} <c{thread}@customer.example>\n\
             To: support@example.com\n\
             Subject: Problem number {thread}\n\
             Date: Mon, 3 Mar 2025 09:12:40 +0100\n\
             Message-ID: {mid}\n"
        );
        if let Some(p) = parent {
            let pid = &messages[p].0;
            headers.push_str(&format!("In-Reply-To: {pid}\nReferences: {pid}\n"));
        } else {
            roots.insert(mid.clone());
        }
        let body = format!("{headers}\nMessage {i} of thread {thread}.\nFrom the start.\n");
        thread_of.push(thread);
        messages.push((mid, body));
    }
    Batch {
        threads: roots.len(),
        messages,
    }
}

/// The batch as an mbox (`From ` lines in bodies quoted as `>From `).
fn mbox(batch: &Batch) -> String {
    let mut out = String::new();
    for (_, message) in &batch.messages {
        out.push_str("From customer@example.com Mon Mar  3 08:12:44 2025\n");
        for line in message.lines() {
            if line.starts_with("From ") {
                out.push('>');
            }
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

/// A desk that takes mail (transport none).
fn mail_desk() -> TestEnv {
    let env = TestEnv::new();
    let text = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    env.commit_file(
        "tix.toml",
        &format!("{text}\n[mail]\naddress = \"support@example.com\"\n"),
    );
    env
}

/// `tix list --all --format json`, which must succeed without a word on
/// stderr (a ticket file that does not parse is a warning there); returns
/// the ids.
fn list_quietly(env: &TestEnv, what: &str) -> BTreeSet<String> {
    let out = env.tix(&["list", "--all", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: tix list: {stderr}");
    assert_eq!(stderr, "", "{what}: tix list warned");
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    crate::common::ids_of(&list).into_iter().collect()
}

/// Checks a healed desk: a clean working tree and index, no journal,
/// `tix doctor` happy, and every ticket file of HEAD listed; returns the
/// number of tickets.
fn assert_healed(env: &TestEnv, what: &str) -> usize {
    let ids = list_quietly(env, what);
    assert_eq!(
        env.git(&["status", "--porcelain", "--untracked-files=all"]),
        "",
        "{what}: git status after the next command"
    );
    assert!(
        !env.path(".git/tix/journal").exists(),
        "{what}: journal left"
    );
    let doctor = env.tix(&["doctor"]);
    assert!(
        doctor.status.success(),
        "{what}: tix doctor: {}{}",
        String::from_utf8_lossy(&doctor.stdout),
        String::from_utf8_lossy(&doctor.stderr)
    );
    let files = env.git(&["ls-tree", "-r", "--name-only", "HEAD", "--", "tickets"]);
    let in_head: BTreeSet<String> = files
        .lines()
        .filter(|p| p.ends_with(".toml"))
        .map(|p| {
            p.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".toml")
                .to_owned()
        })
        .collect();
    assert_eq!(
        in_head, ids,
        "{what}: the ticket files of HEAD and the list"
    );
    ids.len()
}

/// The Message-IDs stored in HEAD's ticket files, each once.
fn stored_message_ids(env: &TestEnv, what: &str) -> BTreeSet<String> {
    let lines = env.git(&["grep", "-h", "^message_id = ", "HEAD", "--", "tickets"]);
    let mut seen = BTreeSet::new();
    for line in lines.lines() {
        let mid = line.trim_start_matches("message_id = ").trim_matches('"');
        assert!(seen.insert(mid.to_owned()), "{what}: {mid} stored twice");
    }
    seen
}

/// When to kill the intake.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// After this many milliseconds, and a random quarter more at most.
    AfterMs(u64),
    /// Once it has reported this many messages taken (one line each).
    AfterMessages(usize),
}

/// Starts `tix ingest --mbox FILE` and kills it (SIGKILL) at `kill`;
/// returns what the test says about the run.
fn start_and_kill(env: &TestEnv, file: &str, kill: Kill) -> String {
    let mut child = env
        .command(&["ingest", "--mbox", file])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let what = match kill {
        Kill::AfterMs(ms) => {
            let mut rng = fastrand::Rng::new();
            let delay = ms + rng.u64(0..=ms / 4);
            std::thread::sleep(Duration::from_millis(delay));
            format!("killed after {delay} ms (seed {})", rng.get_seed())
        }
        Kill::AfterMessages(n) => {
            let stdout = BufReader::new(child.stdout.take().unwrap());
            let read = stdout.lines().take(n).count();
            format!("killed after {read} message(s)")
        }
    };
    let _ = child.kill();
    let status = child.wait().unwrap();
    let journal = env.path(".git/tix/journal").exists();
    eprintln!("{what}: exit {status}, journal left: {journal}");
    // Killed after a message was committed and before the batch's end,
    // the working tree is behind HEAD: the journal says what to heal.
    if matches!(kill, Kill::AfterMessages(_)) && status.code().is_none() {
        assert!(journal, "{what}: no journal for the next command to heal");
    }
    what
}

/// Kills `tix ingest --mbox` of a generated mbox on a fresh desk at
/// `kill`, lets `tix list` heal the desk and checks it, then runs the
/// intake again to its end and checks that it took everything once.
fn kill_batch(kill: Kill) {
    let env = mail_desk();
    let batch = batch(330);
    let file = env.home().join("batch.mbox");
    std::fs::write(&file, mbox(&batch)).unwrap();
    let file = file.to_str().unwrap();
    let what = start_and_kill(&env, file, kill);
    let before = assert_healed(&env, &what);
    eprintln!("{what}: {before} tickets before the second run");
    let out = env.tix(&["ingest", "--mbox", file, "--format", "json"]);
    assert!(
        out.status.success(),
        "{what}: the second run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let taken = ["created", "appended", "duplicate"]
        .map(|k| report[k].as_u64().unwrap())
        .iter()
        .sum::<u64>();
    assert_eq!(taken, batch.messages.len() as u64, "{what}: {report}");
    assert_eq!(report["refused"], 0, "{what}: {report}");
    assert_eq!(report["ignored"], 0, "{what}: {report}");
    let tickets = assert_healed(&env, &what);
    assert_eq!(tickets, batch.threads, "{what}: one ticket per thread");
    let expected: BTreeSet<String> = batch.messages.iter().map(|(m, _)| m.clone()).collect();
    assert_eq!(stored_message_ids(&env, &what), expected, "{what}");
}

#[test]
fn the_batch_generator_counts_its_threads() {
    let batch = batch(33);
    let distinct: BTreeSet<&String> = batch.messages.iter().map(|(m, _)| m).collect();
    // 33 messages, 3 repeats: 30 distinct; of those, 10 answers.
    assert_eq!(batch.messages.len(), 33);
    assert_eq!(distinct.len(), 30);
    assert_eq!(batch.threads, 20);
    assert!(mbox(&batch).contains("\n>From the start.\n"));
}

#[test]
fn an_mbox_intake_killed_after_20_ms_is_healed_and_completed() {
    kill_batch(Kill::AfterMs(20));
}

#[test]
fn an_mbox_intake_killed_after_60_ms_is_healed_and_completed() {
    kill_batch(Kill::AfterMs(60));
}

#[test]
fn an_mbox_intake_killed_after_150_ms_is_healed_and_completed() {
    kill_batch(Kill::AfterMs(150));
}

#[test]
fn an_mbox_intake_killed_after_400_ms_is_healed_and_completed() {
    kill_batch(Kill::AfterMs(400));
}

#[test]
fn an_mbox_intake_killed_after_1000_ms_is_healed_and_completed() {
    kill_batch(Kill::AfterMs(1000));
}

#[test]
fn an_mbox_intake_killed_after_1_message_is_healed_and_completed() {
    kill_batch(Kill::AfterMessages(1));
}

#[test]
fn an_mbox_intake_killed_after_100_messages_is_healed_and_completed() {
    kill_batch(Kill::AfterMessages(100));
}

#[test]
fn an_mbox_intake_killed_after_250_messages_is_healed_and_completed() {
    kill_batch(Kill::AfterMessages(250));
}
