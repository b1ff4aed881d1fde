//! Benchmarks of whole tix commands on generated desks.
//!
//! `cargo bench --bench desk` generates desks of 10,000 and 100,000 tickets
//! (realistic conversations of 1-20 messages, varied statuses) under
//! `target/bench-desks/`, then times the real release binary: `tix new`, a
//! status change, `tix list`, `tix show` and `tix export`, plus repository
//! growth per change after `git gc`. Options: `--tickets N` (repeatable) to
//! pick sizes, `--runs N` for the number of timed runs (median reported),
//! `--import-only` for the rows of `tix import` alone.
//! See docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use git2::{FileMode, Repository};
use tix::domain::change::{self, Actor, Change, NewTicket};
use tix::domain::lifecycle::Statuses;
use tix::model::{Customer, Priority, Role, TicketId, Timestamp};

mod common;

use common::{WORDS, paragraph, sentence};

const TIX: &str = env!("CARGO_BIN_EXE_tix");
const YEAR: i64 = 365 * 86_400;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes = Vec::new();
    let mut runs = 7;
    let mut import_only = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--tickets" => sizes.push(
                iter.next()
                    .and_then(|v| v.parse().ok())
                    .expect("--tickets N"),
            ),
            "--runs" => runs = iter.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            "--import-only" => import_only = true,
            _ => {} // cargo bench passes --bench
        }
    }
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000];
    }
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-desks");
    for size in sizes {
        if import_only {
            import(&base, size);
            continue;
        }
        let dir = base.join(format!("desk-{size}"));
        let started = Instant::now();
        let active = generate(&dir, size);
        eprintln!(
            "generated {size} tickets in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // The generator leaves hundreds of megabytes to write out: measured
        // meanwhile, every change waits behind that write-out
        // (docs/benchmarks.md).
        let _ = Command::new("sync").status();
        report(&dir, size, &active, runs);
        mail(&dir, runs);
        autoclose(&dir);
        import(&base, size);
    }
}

fn env(cmd: &mut Command, dir: &Path) {
    cmd.current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TIX_AGENT", "Bench Agent <bench@desk>")
        .env_remove("TIX_NOW")
        .env_remove("TIX_SEED");
}

fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(program);
    cmd.args(args);
    env(&mut cmd, dir);
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds a desk of `size` tickets in one commit; returns active ticket ids.
#[allow(clippy::too_many_lines)] // one recipe, read top to bottom
fn generate(dir: &Path, size: usize) -> Vec<TicketId> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).expect("remove old desk");
    }
    std::fs::create_dir_all(dir).expect("create desk dir");
    run(dir, TIX, &["init"]);
    let repo = Repository::open(dir).expect("open desk");
    let statuses = Statuses::builtin();
    let mut rng = fastrand::Rng::with_seed(size as u64);
    let mut shards: std::collections::BTreeMap<String, Vec<(String, git2::Oid)>> =
        Default::default();
    let mut half_shards: std::collections::BTreeMap<String, Vec<(String, git2::Oid)>> =
        Default::default();
    let mut active = Vec::new();
    let start = Timestamp::from_unix(1_700_000_000).expect("valid time");
    let half = start.plus_seconds(YEAR / 2);
    let mut seen = std::collections::HashSet::new();
    for n in 0..size {
        let id = loop {
            let id = TicketId::random(&mut rng);
            if seen.insert(id.clone()) {
                break id;
            }
        };
        // A year of history, whatever the size.
        let spacing = (YEAR / size.max(1) as i64).max(1);
        let created = start.plus_seconds(n as i64 * spacing + rng.i64(0..spacing));
        let agent = |at: Timestamp| Actor {
            id: "agent@desk",
            role: Role::Agent,
            now: at,
            statuses: &statuses,
        };
        let new = NewTicket {
            subject: sentence(&mut rng, 4, 9),
            body: Some(paragraph(&mut rng)),
            customer: Customer {
                name: Some(format!("Customer {}", rng.u32(..50_000))),
                email: Some(format!("c{}@example.com", rng.u32(..50_000))),
                phone: None,
            },
            priority: Priority::ALL[rng.usize(..4)],
            tags: (0..rng.usize(..3))
                .map(|_| WORDS[rng.usize(..10)].to_owned())
                .collect(),
            assignee: Some(format!("agent{}@desk", rng.u8(..8))),
            ..NewTicket::default()
        };
        let (mut ticket, _) = change::create(id.clone(), new, &agent(created)).expect("create");
        let messages = rng.usize(1..20);
        let mut at = created;
        for m in 1..messages {
            at = at.plus_seconds(rng.i64(60..86_400));
            let body = paragraph(&mut rng);
            let change = if m % 2 == 1 {
                Change::Reply {
                    body,
                    resolve: false,
                }
            } else {
                Change::CustomerReply { body }
            };
            change::apply(&mut ticket, &change, &agent(at)).expect("message");
        }
        // About 70% closed, 10% resolved, the rest active; some reopened
        // once by the customer first, some rated, half the closes made by
        // the automation rule.
        let fate = rng.u8(..100);
        at = at.plus_seconds(3600);
        if fate < 80 {
            change::apply(&mut ticket, &Change::Resolve { reason: None }, &agent(at))
                .expect("resolve");
            if rng.u8(..100) < 8 {
                at = at.plus_seconds(rng.i64(3600..400_000));
                let body = paragraph(&mut rng);
                change::apply(&mut ticket, &Change::CustomerReply { body }, &agent(at))
                    .expect("reopen");
                at = at.plus_seconds(rng.i64(600..86_400));
                let body = paragraph(&mut rng);
                change::apply(
                    &mut ticket,
                    &Change::Reply {
                        body,
                        resolve: true,
                    },
                    &agent(at),
                )
                .expect("resolve again");
            }
            if rng.u8(..100) < 30 {
                let rate = Change::Rate {
                    score: [1, 2, 3, 4, 4, 5, 5, 5][rng.usize(..8)],
                    comment: None,
                };
                change::apply(&mut ticket, &rate, &agent(at.plus_seconds(7200))).expect("rate");
            }
        }
        if fate < 70 {
            change::apply(
                &mut ticket,
                &Change::Close {
                    force: false,
                    reason: None,
                },
                &agent(at.plus_seconds(345_600)),
            )
            .expect("close");
            if rng.bool()
                && let Some(close) = ticket.events.last_mut()
            {
                close.rule = Some("close-solved-4d".to_owned());
            }
        }
        if fate >= 80 {
            active.push(id.clone());
        }
        // The desk half a year in: the tickets created by then, with what
        // had happened to them (committed first, so `--at` has a past).
        if created < half {
            let mut then = ticket.clone();
            then.events.retain(|e| e.at <= half);
            then.rating = then
                .events
                .iter()
                .rev()
                .find(|e| e.kind == tix::model::EventKind::Csat)
                .and_then(|e| {
                    Some(tix::model::Rating {
                        score: e.to.as_deref()?.parse().ok()?,
                        comment: e.body.clone(),
                        at: e.at,
                    })
                });
            let blob = repo.blob(then.to_toml(&statuses).as_bytes()).expect("blob");
            half_shards
                .entry(id.shard().to_owned())
                .or_default()
                .push((format!("{id}.toml"), blob));
        }
        let blob = repo
            .blob(ticket.to_toml(&statuses).as_bytes())
            .expect("blob");
        shards
            .entry(id.shard().to_owned())
            .or_default()
            .push((format!("{id}.toml"), blob));
    }
    let init = repo.head().and_then(|h| h.peel_to_commit()).expect("head");
    let tickets = tickets_tree(&repo, &half_shards);
    let mut root = repo
        .treebuilder(Some(&init.tree().expect("tree")))
        .expect("root");
    root.insert("tickets", tickets, FileMode::Tree.into())
        .expect("insert");
    let tree = repo
        .find_tree(root.write().expect("root tree"))
        .expect("tree");
    let then =
        git2::Signature::new("Bench", "bench@desk", &git2::Time::new(half.unix(), 0)).expect("sig");
    let id = repo
        .commit(
            Some("HEAD"),
            &then,
            &then,
            "bench: the first half year",
            &tree,
            &[&init],
        )
        .expect("commit");
    let head = repo.find_commit(id).expect("commit");
    let tickets = tickets_tree(&repo, &shards);
    let mut root = repo
        .treebuilder(Some(&head.tree().expect("tree")))
        .expect("root");
    root.insert("tickets", tickets, FileMode::Tree.into())
        .expect("insert");
    // The autoclose run below closes every resolved ticket at once (10,151
    // at 100,000 tickets): lift the default limit of 1,000 per run.
    let config = std::fs::read_to_string(dir.join("tix.toml")).expect("tix.toml");
    let anchor = "do = { set_status = \"closed\", add_note = \"Closed automatically after 4 days without reply.\" }\n";
    assert!(
        config.contains(anchor),
        "the default close rule in tix.toml"
    );
    let config = config.replacen(anchor, &format!("{anchor}limit = {}\n", size.max(1)), 1);
    let config = repo.blob(config.as_bytes()).expect("blob");
    root.insert("tix.toml", config, FileMode::Blob.into())
        .expect("insert");
    let tree = repo
        .find_tree(root.write().expect("root tree"))
        .expect("tree");
    let sig = git2::Signature::now("Bench", "bench@desk").expect("sig");
    repo.commit(
        Some("HEAD"),
        &sig,
        &sig,
        "bench: generated tickets",
        &tree,
        &[&head],
    )
    .expect("commit");
    run(dir, "git", &["reset", "--hard", "-q"]);
    run(dir, "git", &["gc", "-q", "--prune=now"]);
    active
}

/// The `tickets/` tree of `shards` (file name and blob per shard).
fn tickets_tree(
    repo: &Repository,
    shards: &std::collections::BTreeMap<String, Vec<(String, git2::Oid)>>,
) -> git2::Oid {
    let mut tickets = repo.treebuilder(None).expect("treebuilder");
    for (shard, files) in shards {
        let mut builder = repo.treebuilder(None).expect("treebuilder");
        for (name, blob) in files {
            builder
                .insert(name, *blob, FileMode::Blob.into())
                .expect("insert");
        }
        tickets
            .insert(shard, builder.write().expect("tree"), FileMode::Tree.into())
            .expect("insert");
    }
    tickets.write().expect("tickets tree")
}

/// Times one run of tix (as a user runs it); with `memory`, runs it under
/// `/usr/bin/time` to read its peak memory too (the wrapper adds about a
/// millisecond, so such runs are not timed in [`sample`]).
fn measure(dir: &Path, args: &[&str], memory: bool) -> (f64, Option<u64>) {
    measure_at(dir, args, None, memory)
}

fn measure_at(dir: &Path, args: &[&str], now: Option<&str>, memory: bool) -> (f64, Option<u64>) {
    measure_out(dir, args, now, memory, Stdio::piped())
}

/// [`measure_at`] with stdout going to `stdout` (`/dev/null` for output of
/// hundreds of megabytes, which the bench need not hold).
fn measure_out(
    dir: &Path,
    args: &[&str],
    now: Option<&str>,
    memory: bool,
    stdout: Stdio,
) -> (f64, Option<u64>) {
    let timer = memory && Path::new("/usr/bin/time").exists();
    let mut cmd = if timer {
        let mut cmd = Command::new("/usr/bin/time");
        cmd.arg("-f").arg("%M").arg(TIX);
        cmd
    } else {
        Command::new(TIX)
    };
    cmd.args(args).stdout(stdout);
    env(&mut cmd, dir);
    if let Some(now) = now {
        cmd.env("TIX_NOW", now);
    }
    let start = Instant::now();
    let out = cmd.output().expect("run tix");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "tix {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = timer
        .then(|| {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
        })
        .flatten();
    (secs, rss)
}

/// `runs` timed runs of `one(i, false)`, then one more, `one(runs, true)`,
/// for the peak memory.
fn sample(
    runs: usize,
    mut one: impl FnMut(usize, bool) -> (f64, Option<u64>),
) -> (Vec<f64>, Option<u64>) {
    let times = (0..runs).map(|i| one(i, false).0).collect();
    (times, one(runs, true).1)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn row(name: &str, (times, peak): (Vec<f64>, Option<u64>)) {
    let times: Vec<f64> = times.iter().map(|s| s * 1000.0).collect();
    let (min, max) = times
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
    let peak = peak.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    );
    println!(
        "| {name} | {:.1} ms | {min:.1}-{max:.1} ms | {peak} |",
        median(times)
    );
}

fn report(dir: &Path, size: usize, active: &[TicketId], runs: usize) {
    println!("\n### {size} tickets ({} active)\n", active.len());
    println!("| command | median | range | peak memory |");
    println!("|---|---|---|---|");
    let new = sample(runs, |i, memory| {
        measure(
            dir,
            &["new", &format!("Bench ticket {i}"), "-m", "Body"],
            memory,
        )
    });
    row("tix new", new);
    // Each sample resolves another ticket: changes + 1 of them per row, for
    // two rows (fewer samples on a desk with few active tickets).
    assert!(
        active.len() >= 4,
        "the bench needs 4 active tickets or more: use --tickets 50 or more"
    );
    let changes = runs.min(active.len() / 2 - 1);
    let resolve = sample(changes, |i, memory| {
        measure(dir, &["resolve", active[i].as_str()], memory)
    });
    row("tix resolve (status change)", resolve);
    // `tix init` leaves git's index checksum on; the same change on a desk
    // made with `tix init --many-files`, which turns it off.
    let skip_hash = Command::new("git")
        .args(["config", "--local", "index.skipHash"])
        .current_dir(dir)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    run(dir, "git", &["config", "index.skipHash", "true"]);
    let unhashed = sample(changes, |i, memory| {
        measure(dir, &["resolve", active[changes + 1 + i].as_str()], memory)
    });
    match &skip_hash {
        Some(value) => run(dir, "git", &["config", "index.skipHash", value]),
        None => run(dir, "git", &["config", "--unset", "index.skipHash"]),
    };
    row("tix resolve, --many-files (index.skipHash on)", unhashed);
    let show = sample(runs, |i, memory| {
        measure(dir, &["show", active[i % active.len()].as_str()], memory)
    });
    row("tix show", show);
    let queue = sample(runs, |_, memory| {
        measure(dir, &["queue", "--limit", "20"], memory)
    });
    row("tix queue --limit 20", queue);
    let list = sample(runs.min(3), |_, memory| measure(dir, &["list"], memory));
    row("tix list (active)", list);
    let cold = sample(runs.min(3), |_, memory| {
        let _ = std::fs::remove_dir_all(dir.join(".git/tix/cache"));
        measure(dir, &["list"], memory)
    });
    row("tix list (active, cold cache)", cold);
    let warm = sample(runs, |_, memory| {
        measure(dir, &["list", "--limit", "50"], memory)
    });
    row("tix list --limit 50 (warm)", warm);
    export_rows(dir, runs);
    report_rows(dir, runs);
    trigger_rows(dir, &active[2 * changes + 2..], runs);

    // Repository growth per change after gc. One packing thread: git's
    // threaded delta search finds different deltas from run to run, which
    // moved the figure by tens of kilobytes.
    let gc = ["-c", "pack.threads=1", "gc", "-q", "--prune=now"];
    run(dir, "git", &gc);
    let before = pack_size(dir);
    let noted: Vec<_> = active.iter().skip(2 * changes + 2).take(200).collect();
    let changes = noted.len().max(1);
    for id in noted {
        run(
            dir,
            TIX,
            &[
                "note",
                id.as_str(),
                "-m",
                "A note of ordinary length to measure growth.",
            ],
        );
    }
    run(dir, "git", &gc);
    let after = pack_size(dir);
    println!(
        "\nRepository growth after `git gc`: {:.2} KiB per change ({changes} notes; pack {:.1} -> {:.1} MiB)",
        (after.saturating_sub(before)) as f64 / 1024.0 / changes as f64,
        before as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
}

/// Fifty triggers a change evaluates and none of which fires, as a desk
/// might have them: ten of each kind of condition (a subject pattern, a
/// body pattern, a customer domain, tags, a priority with a pattern), all
/// set off by a note.
fn fifty_triggers() -> String {
    let mut text = String::new();
    for i in 0..50 {
        let when = match i % 5 {
            0 => format!("subject_matches = \"(?i)\\\\bnever{i}\\\\b\""),
            1 => format!("body_matches = \"(?i)(refund|chargeback) {i}\""),
            2 => format!("customer_domain = \"corp{i}.example\""),
            3 => format!("tags_all = [\"never{i}\"], tags_none = [\"x\"]"),
            _ => format!("priority = \"urgent\", subject_matches = \"outage {i}\""),
        };
        text.push_str(&format!(
            "\n[[trigger]]\nname = \"t{i}\"\non = [\"note\", \"customer_replied\"]\nwhen = {{ {when} }}\ndo = {{ add_tags = [\"t{i}\"] }}\n"
        ));
    }
    text
}

/// Commits `text` as the desk's tix.toml (an unchanged one too).
fn commit_config(dir: &Path, text: &str) {
    std::fs::write(dir.join("tix.toml"), text).expect("write tix.toml");
    let identity = ["-c", "user.name=Bench", "-c", "user.email=bench@desk"];
    let commit = ["commit", "-q", "--allow-empty", "-am", "bench: triggers"];
    run(dir, "git", &[&identity[..], &commit[..]].concat());
}

/// A note (a change) with no triggers and with fifty that it evaluates,
/// alternating, so both see the same desk; each run notes another ticket.
fn trigger_rows(dir: &Path, tickets: &[TicketId], runs: usize) {
    let config = std::fs::read_to_string(dir.join("tix.toml")).expect("tix.toml");
    let with = format!("{config}{}", fifty_triggers());
    let runs = (runs * 2).min(tickets.len() / 2 - 1);
    let (mut none, mut fifty) = (Vec::new(), Vec::new());
    for i in 0..runs {
        commit_config(dir, &config);
        let id = tickets[2 * i].as_str();
        none.push(measure(dir, &["note", id, "-m", "Checked"], false).0);
        commit_config(dir, &with);
        let id = tickets[2 * i + 1].as_str();
        fifty.push(measure(dir, &["note", id, "-m", "Checked"], false).0);
    }
    // Instructions, where valgrind is installed: stable where a busy
    // machine moves the wall time by milliseconds.
    let counted = [(&config, 2 * runs), (&with, 2 * runs + 1)].map(|(text, i)| {
        commit_config(dir, text);
        tickets
            .get(i)
            .and_then(|id| instructions(dir, &["note", id.as_str(), "-m", "Checked"]))
    });
    commit_config(dir, &config);
    let (a, b) = (median(none.clone()), median(fifty.clone()));
    row("tix note, no triggers", (none, None));
    row("tix note, 50 triggers evaluated", (fifty, None));
    println!(
        "\nFifty triggers cost {:.2} ms a change (difference of the medians).",
        (b - a) * 1000.0
    );
    if let [Some(none), Some(fifty)] = counted {
        println!(
            "Instructions of one note (callgrind): {:.1} M without triggers, {:.1} M with fifty.",
            none as f64 / 1e6,
            fifty as f64 / 1e6
        );
    }
}

/// The instructions `tix ARGS` runs, counted by callgrind; `None` without
/// valgrind.
fn instructions(dir: &Path, args: &[&str]) -> Option<u64> {
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "--callgrind-out-file=/dev/null", TIX])
        .args(args);
    env(&mut cmd, dir);
    let out = cmd.output().ok()?;
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .and_then(|n| n.trim().parse().ok())
}

/// `tix export` of every ticket, as JSON lines and as CSV, to `/dev/null`
/// (a file, as a user redirects it; at 100,000 tickets the JSON is
/// hundreds of megabytes).
fn export_rows(dir: &Path, runs: usize) {
    for (name, args) in [
        ("tix export (jsonl, every ticket)", &["export"][..]),
        (
            "tix export --format csv",
            &["export", "--format", "csv"][..],
        ),
    ] {
        let export = sample(runs.min(3), |_, memory| {
            measure_out(dir, args, None, memory, Stdio::null())
        });
        row(name, export);
    }
}

/// `tix report`: cold and warm facts cache, grouped, the HTML page, and
/// the desk at a past commit.
fn report_rows(dir: &Path, runs: usize) {
    let report_cold = sample(runs.min(3), |_, memory| {
        let _ = std::fs::remove_file(dir.join(".git/tix/cache/facts"));
        let _ = std::fs::remove_file(dir.join(".git/tix/cache/facts.delta"));
        measure(dir, &["report"], memory)
    });
    row("tix report (cold facts cache)", report_cold);
    let report_warm = sample(runs, |_, memory| measure(dir, &["report"], memory));
    row("tix report (warm)", report_warm);
    let by_agent = sample(runs, |_, memory| {
        measure(dir, &["report", "--by", "agent"], memory)
    });
    row("tix report --by agent (warm)", by_agent);
    let html = sample(runs.min(3), |_, memory| {
        measure(
            dir,
            &["report", "--since", "90d", "--format", "html"],
            memory,
        )
    });
    row("tix report --format html (warm)", html);
    // The generated desk's first commit holds its first half year.
    let at = sample(runs.min(3), |_, memory| {
        let half = Timestamp::from_unix(1_700_000_000 + YEAR / 2).expect("time");
        measure(dir, &["report", "--at", &half.to_rfc3339()], memory)
    });
    row("tix report --at the desk half a year back", at);
}

/// One generated mail: a new request, or (with `parent`) the customer's
/// answer to an earlier one, `size` bytes of text or more.
fn mail_message(n: usize, parent: Option<usize>, size: usize, rng: &mut fastrand::Rng) -> String {
    let mut body = String::new();
    while body.len() < size {
        body.push_str(&paragraph(rng));
        body.push_str("\n\n");
    }
    let thread = parent.map_or_else(String::new, |p| {
        format!(
            "In-Reply-To: <bench.{p}@customer.example>\nReferences: <bench.{p}@customer.example>\n"
        )
    });
    let subject = match parent {
        Some(p) => format!("Re: Request {p}"),
        None => format!("Request {n}: {}", sentence(rng, 3, 8)),
    };
    format!(
        "From: Customer {c} <customer{c}@customer.example>\nTo: support@desk.example\n\
         Subject: {subject}\nDate: Mon, 3 Mar 2025 09:00:00 +0000\n\
         Message-ID: <bench.{n}@customer.example>\n{thread}\n{body}",
        c = n % 500
    )
}

/// Writes an mbox of `count` messages (a third of them answers to earlier
/// ones), each about `size` bytes.
fn write_mbox(path: &Path, first: usize, count: usize, size: usize) {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut text = String::new();
    for n in first..first + count {
        let parent = (n > first && n % 3 == 0).then(|| rng.usize(first..n));
        text.push_str("From customer@customer.example Mon Mar  3 09:00:00 2025\n");
        let message = mail_message(n, parent, size, &mut rng);
        for line in message.lines() {
            if line.starts_with("From ") {
                text.push('>');
            }
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
        if text.len() > 64 << 20 {
            append(path, &text);
            text.clear();
        }
    }
    append(path, &text);
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open mbox");
    file.write_all(text.as_bytes()).expect("write mbox");
}

/// Mail intake: one message as `tix ingest` (a new ticket, and an answer
/// threaded by a Message-ID that only the desk's index knows), a
/// 1,000-message mbox, and a large mbox for the peak memory.
fn mail(dir: &Path, runs: usize) {
    println!("\n#### Mail intake\n");
    println!("| command | median | range | peak memory |");
    println!("|---|---|---|---|");
    let scratch = dir.join(".git/bench-mail");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let mut rng = fastrand::Rng::with_seed(3);
    let one = |name: &str, text: &str| {
        let path = scratch.join(name);
        std::fs::write(&path, text).expect("write mail");
        path.display().to_string()
    };
    let single = sample(runs, |i, memory| {
        let path = one("new.eml", &mail_message(900_000 + i, None, 800, &mut rng));
        measure(dir, &["ingest", &path], memory)
    });
    row("tix ingest (one mail, a new ticket)", single);
    let answers = sample(runs, |i, memory| {
        let path = one(
            "answer.eml",
            &mail_message(950_000 + i, Some(900_000 + i), 800, &mut rng),
        );
        measure(dir, &["ingest", &path], memory)
    });
    row(
        "tix ingest (one mail, an answer found by Message-ID)",
        answers,
    );
    let mbox = scratch.join("batch.mbox");
    write_mbox(&mbox, 0, 1000, 1500);
    let (secs, rss) = measure(
        dir,
        &["ingest", "--mbox", &mbox.display().to_string()],
        true,
    );
    println!(
        "| tix ingest --mbox (1,000 mails, 1,000 commits) | {:.2} s | {:.0} mails/s | {} |",
        secs,
        1000.0 / secs,
        rss.map_or_else(
            || "n/a".to_owned(),
            |kib| format!("{:.1} MiB", kib as f64 / 1024.0)
        )
    );
    let large = scratch.join("large.mbox");
    write_mbox(&large, 100_000, 1000, 100_000);
    let bytes = std::fs::metadata(&large).map(|m| m.len()).unwrap_or(0);
    let (secs, rss) = measure(
        dir,
        &["ingest", "--mbox", &large.display().to_string()],
        true,
    );
    println!(
        "| tix ingest --mbox ({:.0} MiB: 1,000 mails of 100 KB) | {:.2} s | | {} |",
        bytes as f64 / 1048576.0,
        secs,
        rss.map_or_else(
            || "n/a".to_owned(),
            |kib| format!("{:.1} MiB", kib as f64 / 1024.0)
        )
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

/// Closes every resolved ticket in one `tix autoclose` run (last: it
/// changes the desk).
fn autoclose(dir: &Path) {
    let count_resolved = || {
        run(
            dir,
            TIX,
            &["list", "--status", "resolved", "--format", "csv"],
        )
        .lines()
        .count()
            - 1
    };
    let resolved = count_resolved();
    let (secs, rss) = measure_at(dir, &["autoclose"], Some("2099-01-01T00:00:00Z"), true);
    assert_eq!(count_resolved(), 0, "one run closes every resolved ticket");
    let peak = rss.map_or_else(
        || "n/a".to_owned(),
        |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
    );
    println!(
        "\n`tix autoclose` closing {resolved} resolved tickets: {secs:.2} s, {:.0} commits/s, peak {peak}",
        resolved as f64 / secs
    );
    let again = measure_at(dir, &["autoclose"], Some("2099-01-01T00:00:00Z"), true);
    println!("second run (nothing to do): {:.2} s", again.0);
}

/// Writes a Zendesk export of `size` tickets with five comments each (the
/// customer and an agent by turns, the fourth a private note) as JSON
/// lines, the incremental export's shape, with the users at the end.
fn write_zendesk(path: &Path, size: usize) {
    use std::io::Write;
    let mut rng = fastrand::Rng::with_seed(11);
    let file = std::fs::File::create(path).expect("create export");
    let mut out = std::io::BufWriter::new(file);
    let statuses = ["new", "open", "pending", "hold", "solved", "closed"];
    let priorities = ["low", "normal", "high", "urgent"];
    let start = 1_600_000_000i64;
    for n in 0..size {
        let created = start + (n as i64) * 300;
        let requester = 1000 + n % 500;
        let agent = 10 + n % 10;
        let comments: Vec<serde_json::Value> = (0..5)
            .map(|c| {
                let author = if c % 2 == 0 { requester } else { agent };
                let at = Timestamp::from_unix(created + c * 3600).expect("time");
                serde_json::json!({
                    "id": n * 10 + c as usize,
                    "type": "Comment",
                    "author_id": author,
                    "body": paragraph(&mut rng),
                    "public": c != 3,
                    "created_at": at.to_rfc3339(),
                })
            })
            .collect();
        let ticket = serde_json::json!({
            "id": n + 1,
            "subject": sentence(&mut rng, 3, 9),
            "status": statuses[n % statuses.len()],
            "priority": priorities[n % 4],
            "requester_id": requester,
            "assignee_id": agent,
            "tags": [WORDS[n % WORDS.len()]],
            "created_at": Timestamp::from_unix(created).expect("time").to_rfc3339(),
            "updated_at": Timestamp::from_unix(created + 5 * 3600).expect("time").to_rfc3339(),
            "comments": comments,
        });
        serde_json::to_writer(&mut out, &ticket).expect("write export");
        out.write_all(b"\n").expect("write export");
    }
    let users: Vec<serde_json::Value> = (10..20)
        .map(|id| serde_json::json!({"id": id, "name": format!("Agent {id}"), "email": format!("agent{id}@desk.example"), "role": "agent"}))
        .chain((1000..1500).map(|id| serde_json::json!({"id": id, "name": format!("Customer {id}"), "email": format!("customer{id}@customer.example"), "role": "end-user"})))
        .collect();
    serde_json::to_writer(&mut out, &serde_json::json!({ "users": users })).expect("write export");
    out.write_all(b"\n").expect("write export");
}

/// `tix import zendesk` of `size` tickets with five messages each into a
/// new desk, then the same export again (nothing changes).
fn import(base: &Path, size: usize) {
    let export = base.join(format!("zendesk-{size}.jsonl"));
    write_zendesk(&export, size);
    let dir = base.join(format!("import-{size}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove old desk");
    }
    std::fs::create_dir_all(&dir).expect("create desk dir");
    run(&dir, TIX, &["init"]);
    let file = export.to_str().expect("path");
    let megabytes = std::fs::metadata(&export).map_or(0, |m| m.len()) / 1_000_000;
    println!(
        "\n`tix import zendesk` of {size} tickets × 5 messages ({megabytes} MB of JSON lines):\n"
    );
    println!("| command | time | peak memory |");
    println!("|---|---|---|");
    for name in ["into an empty desk", "the same export again"] {
        let (secs, rss) = measure(&dir, &["import", "zendesk", file], true);
        let peak = rss.map_or_else(
            || "n/a".to_owned(),
            |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
        );
        println!("| tix import zendesk, {name} | {secs:.2} s | {peak} |");
    }
    let tickets = run(&dir, "git", &["rev-list", "--count", "HEAD"]);
    println!("\ncommits in the desk: {}", tickets.trim());
}

fn pack_size(dir: &Path) -> u64 {
    let out = run(dir, "git", &["count-objects", "-v"]);
    let kib: u64 = out
        .lines()
        .filter(|l| l.starts_with("size-pack:") || l.starts_with("size:"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
        .sum();
    kib * 1024
}
