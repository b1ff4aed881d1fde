//! tix side by side with Fossil's built-in tickets.
//!
//! `cargo bench --bench fossil` makes a fresh tix desk and a fresh Fossil
//! repository (with a checkout) of 1,000 and 10,000 tickets under
//! `target/bench-desks/side-N/{tix,fossil}`, each populated by one CLI call
//! per ticket (all open), then times whole processes of both tools, run
//! by turns on the same kind of ticket: create, list the open tickets,
//! a status change, closing a resolved ticket, a comment and a ticket's
//! history (as written, then after `git gc` / `fossil rebuild`). At 1,000
//! tickets (or the smallest size) it also compares the repositories' size
//! after 1,000 more status changes. Options:
//! `--tickets N` (repeatable), `--runs N` (median of N, default 9).
//! Without `fossil` on the PATH (or `$FOSSIL`) it prints the tix columns
//! only.
//! See docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

mod common;

use common::{paragraph, sentence};

const TIX: &str = env!("CARGO_BIN_EXE_tix");
/// Status changes made on each side before the repositories are measured.
const STORAGE_CHANGES: usize = 1000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut sizes: Vec<usize> = Vec::new();
    let mut runs = 9;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--tickets" => sizes.push(
                iter.next()
                    .and_then(|v| v.parse().ok())
                    .expect("--tickets N"),
            ),
            "--runs" => runs = iter.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            _ => {} // cargo bench passes --bench
        }
    }
    if sizes.is_empty() {
        sizes = vec![1_000, 10_000];
    }
    assert!(runs >= 1, "--runs 1 or more");
    let fossil = fossil_version();
    match &fossil {
        Some(version) => eprintln!("{version}"),
        None => println!(
            "Fossil is not installed (`fossil` is not on the PATH, or `$FOSSIL` cannot run): only tix is measured. \
             Install it with `apt-get install -y fossil` (Debian, Ubuntu) or from \
             https://fossil-scm.org, then run the bench again."
        ),
    }
    let with_fossil = fossil.is_some();
    let storage_at = if sizes.contains(&1_000) {
        1_000
    } else {
        *sizes.iter().min().expect("a size")
    };
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-desks");
    let mut results = Vec::new();
    let mut notes = Vec::new();
    for &size in &sizes {
        results.push(bench_size(
            &base,
            size,
            runs,
            with_fossil,
            size == storage_at,
            &mut notes,
        ));
    }
    print_tables(&results, with_fossil);
    for note in notes {
        println!("{note}");
    }
}

/// The Fossil binary: `$FOSSIL`, or `fossil` from the PATH.
fn fossil_program() -> String {
    std::env::var("FOSSIL").unwrap_or_else(|_| "fossil".to_owned())
}

/// `fossil version`, or `None` where Fossil cannot be run.
fn fossil_version() -> Option<String> {
    let out = Command::new(fossil_program())
        .arg("version")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tool {
    Tix,
    Fossil,
}

/// One tool's repository: where its commands run.
struct Side {
    tool: Tool,
    /// The tix desk, or the Fossil checkout.
    dir: PathBuf,
    /// Fossil's home (its global config database), inside the bench dir.
    home: PathBuf,
}

impl Side {
    fn program(&self) -> String {
        match self.tool {
            Tool::Tix => TIX.to_owned(),
            Tool::Fossil => fossil_program(),
        }
    }

    /// A hermetic environment: no user git config, a fixed tix agent, a
    /// Fossil home and user of the bench's own.
    fn env(&self, cmd: &mut Command) {
        cmd.current_dir(&self.dir);
        match self.tool {
            Tool::Tix => {
                cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
                    .env("GIT_CONFIG_NOSYSTEM", "1")
                    .env("TIX_AGENT", "Bench Agent <bench@desk>")
                    .env_remove("TIX_NOW")
                    .env_remove("TIX_SEED");
            }
            Tool::Fossil => {
                cmd.env("HOME", &self.home)
                    .env("FOSSIL_HOME", &self.home)
                    .env("FOSSIL_USER", "bench")
                    .env("USER", "bench");
            }
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(self.program());
        cmd.args(args);
        self.env(&mut cmd);
        let out = cmd.output().expect("run command");
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.program(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Times one whole process, stdout to a pipe read to its end; with
    /// `memory`, runs it under `/usr/bin/time` for its peak memory (the
    /// wrapper adds about a millisecond, so such runs are not timed).
    /// Returns the seconds, the peak in KiB and the lines of stdout.
    fn measure(&self, args: &[&str], memory: bool) -> (f64, Option<u64>, usize) {
        let timer = memory && Path::new("/usr/bin/time").exists();
        let mut cmd = if timer {
            let mut cmd = Command::new("/usr/bin/time");
            cmd.arg("-f").arg("%M").arg(self.program());
            cmd
        } else {
            Command::new(self.program())
        };
        cmd.args(args).stdout(Stdio::piped());
        self.env(&mut cmd);
        let start = Instant::now();
        let out = cmd.output().expect("run command");
        let secs = start.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.program(),
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
        let lines = out.stdout.iter().filter(|&&b| b == b'\n').count();
        (secs, rss, lines)
    }
}

/// The timed runs of one command and the peak memory of one more.
#[derive(Default)]
struct Sample {
    times: Vec<f64>,
    peak: Option<u64>,
}

impl Sample {
    fn add(&mut self, (secs, rss, _): (f64, Option<u64>, usize), memory: bool) {
        if memory {
            self.peak = rss;
        } else {
            self.times.push(secs);
        }
    }

    fn median_ms(&self) -> f64 {
        let mut values = self.times.clone();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2] * 1000.0
    }

    fn range(&self) -> String {
        let (min, max) = self
            .times
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), t| (lo.min(*t), hi.max(*t)));
        let peak = self.peak.map_or_else(
            || "n/a".to_owned(),
            |kib| format!("{:.1} MiB", kib as f64 / 1024.0),
        );
        format!("{:.1}-{:.1} ms, {peak}", min * 1000.0, max * 1000.0)
    }
}

struct Row {
    name: &'static str,
    tix: Sample,
    fossil: Sample,
}

struct SizeResult {
    size: usize,
    rows: Vec<Row>,
}

/// A fresh, empty desk and Fossil repository (with its checkout).
fn fresh(root: &Path, with_fossil: bool) -> (Side, Side) {
    if root.exists() {
        std::fs::remove_dir_all(root).expect("remove old bench dirs");
    }
    let tix = Side {
        tool: Tool::Tix,
        dir: root.join("tix"),
        home: root.join("tix"),
    };
    std::fs::create_dir_all(&tix.dir).expect("create desk dir");
    tix.run(&["init"]);
    let fossil = Side {
        tool: Tool::Fossil,
        dir: root.join("fossil/checkout"),
        home: root.join("fossil/home"),
    };
    if with_fossil {
        std::fs::create_dir_all(&fossil.dir).expect("create checkout dir");
        std::fs::create_dir_all(&fossil.home).expect("create fossil home");
        let repo = root.join("fossil/repo.fossil");
        let repo = repo.to_str().expect("utf-8 path");
        fossil.run(&["new", "-A", "bench", repo]);
        fossil.run(&["open", repo]);
    }
    (tix, fossil)
}

/// `fossil ticket add` prints `ticket add succeeded for UUID`.
fn fossil_uuid(out: &str) -> String {
    out.split_whitespace()
        .last()
        .filter(|u| u.len() >= 40 && u.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no UUID in `fossil ticket add` output: {out:?}"))
        .to_owned()
}

/// `tix new` prints `Created ticket ID`.
fn tix_id(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("Created ticket "))
        .unwrap_or_else(|| panic!("no id in `tix new` output: {out:?}"))
        .trim()
        .to_owned()
}

/// Populates both sides with the same `size` tickets, one CLI call each,
/// by turns; returns their ids and UUIDs.
fn populate(
    tix: &Side,
    fossil: &Side,
    size: usize,
    with_fossil: bool,
) -> (Vec<String>, Vec<String>) {
    let mut rng = fastrand::Rng::with_seed(size as u64);
    let (mut ids, mut uuids) = (Vec::with_capacity(size), Vec::with_capacity(size));
    let (mut tix_secs, mut fossil_secs) = (0.0, 0.0);
    let started = Instant::now();
    for n in 0..size {
        let subject = sentence(&mut rng, 4, 9);
        let body = paragraph(&mut rng);
        let email = format!("c{}@example.com", rng.u32(..50_000));
        let start = Instant::now();
        ids.push(tix_id(
            &tix.run(&["new", &subject, "-m", &body, "--email", &email]),
        ));
        tix_secs += start.elapsed().as_secs_f64();
        if with_fossil {
            let start = Instant::now();
            let out = fossil.run(&[
                "ticket",
                "add",
                "title",
                &subject,
                "status",
                "Open",
                "type",
                "Code_Defect",
                "private_contact",
                &email,
                "comment",
                &body,
            ]);
            fossil_secs += start.elapsed().as_secs_f64();
            uuids.push(fossil_uuid(&out));
        }
        if (n + 1) % 1000 == 0 {
            eprintln!(
                "  {} of {size} tickets ({:.0} s)",
                n + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let per = |secs: f64| secs * 1000.0 / size as f64;
    let mut line = format!(
        "Populating {size} tickets, one call each: tix {tix_secs:.1} s ({:.1} ms a ticket)",
        per(tix_secs)
    );
    if with_fossil {
        line.push_str(&format!(
            ", Fossil {fossil_secs:.1} s ({:.1} ms a ticket)",
            per(fossil_secs)
        ));
    }
    eprintln!("{line}");
    // Once, untimed: every ticket is there and open on both sides (this
    // also builds tix's list cache, as any first listing would).
    let listed = tix.run(&["list", "--format", "csv"]).lines().count() - 1;
    assert_eq!(listed, size, "tix lists every new ticket");
    if with_fossil {
        let listed = fossil
            .run(&["ticket", "show", "0", "status='Open'"])
            .lines()
            .count()
            - 1;
        assert_eq!(listed, size, "Fossil lists every new ticket");
    }
    (ids, uuids)
}

#[allow(clippy::too_many_lines)] // one recipe, read top to bottom
fn bench_size(
    base: &Path,
    size: usize,
    runs: usize,
    with_fossil: bool,
    storage: bool,
    notes: &mut Vec<String>,
) -> SizeResult {
    // Each row but listing, creating and history takes its own tickets:
    // runs + 1 (the peak memory run) for each of three rows.
    assert!(size >= 6, "the bench needs 6 tickets or more");
    let runs = runs.min(size / 3 - 1);
    let root = base.join(format!("side-{size}"));
    eprintln!("side-{size}: populating {size} tickets on each side");
    let (tix, fossil) = fresh(&root, with_fossil);
    let (ids, uuids) = populate(&tix, &fossil, size, with_fossil);
    // Populating leaves thousands of files to write out: measured
    // meanwhile, every change waits behind that write-out.
    let _ = Command::new("sync").status();
    let uuid = |i: usize| uuids.get(i).map_or("", String::as_str);
    let pool = runs + 1;
    let (resolved, closed, noted) = (0, pool, 2 * pool);

    // Each row runs tix and Fossil by turns, so that a busy moment of the
    // machine falls on both; the last run of each is the memory run.
    let row = |name: &'static str,
               tix_args: &dyn Fn(usize) -> Vec<String>,
               fossil_args: &dyn Fn(usize) -> Vec<String>,
               before: &dyn Fn(usize),
               check: &dyn Fn(Tool, usize)| {
        let (mut t, mut f) = (Sample::default(), Sample::default());
        for i in 0..=runs {
            let memory = i == runs;
            before(i);
            let args = tix_args(i);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let m = tix.measure(&args, memory);
            check(Tool::Tix, m.2);
            t.add(m, memory);
            if with_fossil {
                let args = fossil_args(i);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let m = fossil.measure(&args, memory);
                check(Tool::Fossil, m.2);
                f.add(m, memory);
            }
        }
        Row {
            name,
            tix: t,
            fossil: f,
        }
    };
    let strings = |args: &[&str]| args.iter().map(|&a| a.to_owned()).collect::<Vec<_>>();
    let nothing = |_: usize| {};
    let any = |_: Tool, _: usize| {};

    // Listing first, while exactly `size` tickets are open.
    let list = row(
        "list the open tickets (all N)",
        &|_| strings(&["list"]),
        &|_| strings(&["ticket", "show", "1", "status='Open'"]),
        &nothing,
        &|tool, lines| {
            assert!(
                lines > size,
                "{} lists all {size} open tickets and a header: {lines} lines",
                if tool == Tool::Tix { "tix" } else { "Fossil" }
            );
        },
    );
    let create = row(
        "create a ticket",
        &|i| {
            strings(&[
                "new",
                &format!("Bench ticket {i}"),
                "-m",
                "Body of the bench ticket.",
                "--email",
                "bench@example.com",
            ])
        },
        &|i| {
            strings(&[
                "ticket",
                "add",
                "title",
                &format!("Bench ticket {i}"),
                "status",
                "Open",
                "type",
                "Code_Defect",
                "private_contact",
                "bench@example.com",
                "comment",
                "Body of the bench ticket.",
            ])
        },
        &nothing,
        &any,
    );
    let status = row(
        "status change (resolve / Fixed)",
        &|i| strings(&["resolve", &ids[resolved + i]]),
        &|i| strings(&["ticket", "set", uuid(resolved + i), "status", "Fixed"]),
        &nothing,
        &any,
    );
    let close = row(
        "close a resolved ticket",
        &|i| strings(&["close", &ids[closed + i]]),
        &|i| strings(&["ticket", "set", uuid(closed + i), "status", "Closed"]),
        // Untimed: resolve it first on both sides.
        &|i| {
            tix.run(&["resolve", &ids[closed + i]]);
            if with_fossil {
                fossil.run(&["ticket", "set", uuid(closed + i), "status", "Fixed"]);
            }
        },
        &any,
    );
    let comment = row(
        "comment (tix note / +icomment)",
        &|i| {
            strings(&[
                "note",
                &ids[noted + i],
                "-m",
                "Called the customer back; waiting for the log files.",
            ])
        },
        &|i| {
            strings(&[
                "ticket",
                "change",
                uuid(noted + i),
                "+icomment",
                "Called the customer back; waiting for the log files.",
            ])
        },
        &nothing,
        &any,
    );
    // The closed tickets: three changes each (created, resolved, closed).
    let history = row(
        "a ticket's history (3 changes)",
        &|i| strings(&["log", &ids[closed + i]]),
        &|i| strings(&["ticket", "history", uuid(closed + i)]),
        &nothing,
        &|_, lines| assert!(lines >= 3, "a history of three changes"),
    );
    // Nothing packs what tix's commands write (libgit2 runs no `git gc
    // --auto`): the desk above holds every object loose, as a desk fed
    // only by tix does. The same histories once both sides are compacted.
    git_gc(&tix);
    if with_fossil {
        fossil_compact(&fossil);
    }
    let _ = Command::new("sync").status();
    let history_packed = row(
        "the same, after git gc / fossil rebuild",
        &|i| strings(&["log", &ids[closed + i]]),
        &|i| strings(&["ticket", "history", uuid(closed + i)]),
        &nothing,
        &|_, lines| assert!(lines >= 3, "a history of three changes"),
    );

    if storage {
        // Every ticket's state, the same on both sides: 0 open, 1
        // resolved, 2 closed.
        let mut state = vec![0u8; size];
        for i in 0..pool {
            state[resolved + i] = 1;
            state[closed + i] = 2;
        }
        storage_section(
            &tix,
            &fossil,
            &root,
            &ids,
            &uuids,
            &mut state,
            with_fossil,
            notes,
        );
    }
    SizeResult {
        size,
        rows: vec![
            create,
            list,
            status,
            close,
            comment,
            history,
            history_packed,
        ],
    }
}

/// `du -sk PATH` in KiB (0 where it is missing).
fn du_kib(path: &Path) -> u64 {
    Command::new("du")
        .arg("-sk")
        .arg(path)
        .output()
        .ok()
        .and_then(|out| {
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The bytes of git's packs and loose objects.
fn pack_size(tix: &Side) -> u64 {
    let out = Command::new("git")
        .args(["count-objects", "-v"])
        .current_dir(&tix.dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git count-objects");
    let kib: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("size-pack:") || l.starts_with("size:"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<u64>().ok())
        .sum();
    kib * 1024
}

fn git_gc(tix: &Side) {
    let mut cmd = Command::new("git");
    cmd.args(["-c", "pack.threads=1", "gc", "-q", "--prune=now"]);
    tix.env(&mut cmd);
    let status = cmd.status().expect("git gc");
    assert!(status.success(), "git gc");
}

/// What a Fossil user does to compact a repository: rebuild it with
/// delta compression, then VACUUM the SQLite file.
fn fossil_compact(fossil: &Side) {
    fossil.run(&["rebuild", "--compress", "--vacuum", "--quiet"]);
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Repository sizes after `STORAGE_CHANGES` status changes on each side
/// (one call each, untimed): a resolve of an open ticket, then a close of
/// a resolved one once no ticket is open.
#[allow(clippy::too_many_arguments)]
fn storage_section(
    tix: &Side,
    fossil: &Side,
    root: &Path,
    ids: &[String],
    uuids: &[String],
    state: &mut [u8],
    with_fossil: bool,
    notes: &mut Vec<String>,
) {
    let size = ids.len();
    let repo = root.join("fossil/repo.fossil");
    eprintln!("side-{size}: repository sizes, {STORAGE_CHANGES} status changes on each side");
    git_gc(tix);
    let tix_before = pack_size(tix);
    let tix_git_before = du_kib(&tix.dir.join(".git"));
    if with_fossil {
        fossil_compact(fossil);
    }
    let fossil_before = file_len(&repo);
    let mut changes = 0;
    let (mut tix_secs, mut fossil_secs) = (0.0, 0.0);
    for from in [0u8, 1] {
        for i in 0..size {
            if changes == STORAGE_CHANGES || state[i] != from {
                continue;
            }
            let (verb, fossil_status) = if from == 0 {
                ("resolve", "Fixed")
            } else {
                ("close", "Closed")
            };
            let start = Instant::now();
            tix.run(&[verb, &ids[i]]);
            tix_secs += start.elapsed().as_secs_f64();
            if with_fossil {
                let start = Instant::now();
                fossil.run(&["ticket", "set", &uuids[i], "status", fossil_status]);
                fossil_secs += start.elapsed().as_secs_f64();
            }
            state[i] = from + 1;
            changes += 1;
        }
    }
    let fossil_written = file_len(&repo);
    if with_fossil {
        fossil_compact(fossil);
    }
    let tix_loose = du_kib(&tix.dir.join(".git"));
    git_gc(tix);
    let tix_after = pack_size(tix);
    let git = du_kib(&tix.dir.join(".git"));
    let logs = du_kib(&tix.dir.join(".git/logs"));
    let cache = du_kib(&tix.dir.join(".git/tix/cache"));
    let desk = du_kib(&tix.dir);
    let kib = |bytes: u64| bytes as f64 / 1024.0;
    let per = |before: u64, after: u64| after.saturating_sub(before) as f64 / changes.max(1) as f64;
    notes.push(format!(
        "\n### Repository size at {size} tickets, after {changes} more status changes on each side\n"
    ));
    let average = |secs: f64| secs * 1000.0 / changes.max(1) as f64;
    let fossil_average = if with_fossil {
        format!(", Fossil {:.1} ms", average(fossil_secs))
    } else {
        String::new()
    };
    notes.push(format!(
        "Each side: {size} tickets created, the timed rows' changes, then {changes} resolves \
         and closes, one CLI call each (tix {:.1} ms{fossil_average} a change on average). \
         Fossil's repository was compacted before the changes too, so both grow from a \
         compacted one.\n",
        average(tix_secs),
    ));
    notes.push("| | tix | Fossil |".to_owned());
    notes.push("|---|---|---|".to_owned());
    let fossil_cell = |text: String| if with_fossil { text } else { "n/a".to_owned() };
    notes.push(format!(
        "| as written (tix: `du -sk .git`, loose objects; Fossil: the .fossil file) | {tix_loose} KiB | {} |",
        fossil_cell(format!("{:.0} KiB", kib(fossil_written)))
    ));
    notes.push(format!(
        "| compacted (tix: `git -c pack.threads=1 gc -q --prune=now`, `du -sk .git`; Fossil: `fossil rebuild --compress --vacuum`, the .fossil file) | {git} KiB | {} |",
        fossil_cell(format!("{:.0} KiB", kib(file_len(&repo))))
    ));
    notes.push(format!(
        "| of which git's objects (`git count-objects -v`: pack and loose) | {:.0} KiB | |",
        kib(tix_after)
    ));
    notes.push(format!(
        "| of which the reflog (`.git/logs`) | {logs} KiB | |"
    ));
    notes.push(format!(
        "| of which tix's cache (`.git/tix/cache`) | {cache} KiB | |"
    ));
    notes.push(format!(
        "| the whole desk, working tree of {size}+ TOML files included | {desk} KiB | |"
    ));
    notes.push(format!(
        "| growth per change, compacted ({changes} changes) | {:.0} bytes | {} |",
        per(tix_before, tix_after),
        fossil_cell(format!("{:.0} bytes", per(fossil_before, file_len(&repo))))
    ));
    notes.push(format!(
        "| growth per change, as written (from the compacted repository) | {:.0} bytes | {} |",
        per(tix_git_before * 1024, tix_loose * 1024),
        fossil_cell(format!("{:.0} bytes", per(fossil_before, fossil_written)))
    ));
}

fn size_label(size: usize) -> String {
    if size >= 1000 && size.is_multiple_of(1000) {
        format!("{}k", size / 1000)
    } else {
        size.to_string()
    }
}

fn print_tables(results: &[SizeResult], with_fossil: bool) {
    let Some(first) = results.first() else {
        return;
    };
    if with_fossil {
        println!("\n### Median wall time of the whole process (ratio = tix / Fossil)\n");
    } else {
        println!("\n### Median wall time of the whole process (tix only)\n");
    }
    let mut header = "| command |".to_owned();
    let mut rule = "|---|".to_owned();
    for r in results {
        let label = size_label(r.size);
        if with_fossil {
            header.push_str(&format!(" tix {label} | Fossil {label} | ratio |"));
            rule.push_str("---|---|---|");
        } else {
            header.push_str(&format!(" tix {label} |"));
            rule.push_str("---|");
        }
    }
    println!("{header}\n{rule}");
    for (n, name) in first.rows.iter().map(|r| r.name).enumerate() {
        let mut line = format!("| {name} |");
        for r in results {
            let row = &r.rows[n];
            let t = row.tix.median_ms();
            if with_fossil {
                let f = row.fossil.median_ms();
                line.push_str(&format!(" {t:.1} ms | {f:.1} ms | {:.2} |", t / f));
            } else {
                line.push_str(&format!(" {t:.1} ms |"));
            }
        }
        println!("{line}");
    }
    println!("\n### Range of the runs and peak memory (one more run under /usr/bin/time)\n");
    let mut header = "| command |".to_owned();
    let mut rule = "|---|".to_owned();
    for r in results {
        let label = size_label(r.size);
        header.push_str(&format!(" tix {label} |"));
        rule.push_str("---|");
        if with_fossil {
            header.push_str(&format!(" Fossil {label} |"));
            rule.push_str("---|");
        }
    }
    println!("{header}\n{rule}");
    for (n, name) in first.rows.iter().map(|r| r.name).enumerate() {
        let mut line = format!("| {name} |");
        for r in results {
            let row = &r.rows[n];
            line.push_str(&format!(" {} |", row.tix.range()));
            if with_fossil {
                line.push_str(&format!(" {} |", row.fossil.range()));
            }
        }
        println!("{line}");
    }
}
