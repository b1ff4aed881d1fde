//! Paging on a terminal: the real binary with its stdout and stderr on a
//! pseudo-terminal, with a recording pager, and with the real `less`.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

use crate::common::TestEnv;

/// What a command left on the terminal, and how it ended.
struct OnTerminal {
    code: Option<i32>,
    screen: String,
}

/// Runs `cmd` with stdout and stderr on a new pseudo-terminal of 24 rows
/// and 100 columns; returns what it wrote there. Fails the test after 30 s.
fn on_terminal(mut cmd: Command) -> OnTerminal {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = File::options()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let size = Winsize {
        ws_row: 24,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&slave, size).unwrap();
    cmd.stdout(slave.try_clone().unwrap())
        .stderr(slave.try_clone().unwrap())
        .stdin(Stdio::null());

    let mut child = cmd.spawn().unwrap();
    drop(slave);
    drop(cmd);
    // Read the terminal while the command runs: a full terminal would stop
    // it. Reading ends (EIO) once every copy of the other end is closed.
    let mut master = File::from(master);
    let reader = std::thread::spawn(move || {
        let mut screen = Vec::new();
        let mut chunk = [0u8; 1 << 14];
        while let Ok(n @ 1..) = master.read(&mut chunk) {
            screen.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&screen).into_owned()
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the command did not end on the terminal");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    OnTerminal {
        code: status.code(),
        screen: reader.join().unwrap(),
    }
}

/// A sealed `tix` command for a terminal that names its kind, as
/// terminals do.
fn on_xterm(env: &TestEnv, args: &[&str]) -> Command {
    let mut cmd = env.command(args);
    cmd.env("TERM", "xterm");
    cmd
}

/// Asserts that `run` printed the listing to the terminal, ended well and
/// left the recording pager's file `paged` unmade (`what` says which run).
fn printed_straight(run: &OnTerminal, paged: &Path, what: &str) {
    assert_eq!(run.code, Some(0), "{what}: {}", run.screen);
    assert!(run.screen.contains("Printer on fire"), "{what}");
    assert!(!paged.exists(), "{what} paged");
}

/// A pager that records what it is given in `file` (run through `sh`).
fn recorder(file: &Path) -> String {
    format!("cat > '{}'", file.display())
}

fn desk_with_tickets() -> TestEnv {
    let env = TestEnv::new();
    env.new_ticket("Printer on fire");
    env.new_ticket("Mail bounces");
    env
}

#[test]
fn a_listing_on_a_terminal_goes_through_the_pager_with_its_colours() {
    let env = desk_with_tickets();
    let paged = env.home().join("paged");
    let mut cmd = on_xterm(&env, &["list"]);
    cmd.env("TIX_PAGER", recorder(&paged))
        .env_remove("NO_COLOR");
    let run = on_terminal(cmd);
    assert_eq!(run.code, Some(0), "{}", run.screen);
    let text = std::fs::read_to_string(&paged).unwrap();
    assert!(text.contains("Printer on fire") && text.contains("Mail bounces"));
    assert!(
        text.contains("\x1b["),
        "colours are kept for the pager: {text:?}"
    );
    assert!(!run.screen.contains("Printer on fire"), "{}", run.screen);
}

#[test]
fn no_pager_an_empty_pager_and_cat_print_straight_to_the_terminal() {
    let env = desk_with_tickets();
    let paged = env.home().join("paged");
    let straight: [(&[&str], Option<&str>); 3] = [
        (&["list", "--no-pager"], None),
        (&["list"], Some("")),
        (&["list"], Some("cat")),
    ];
    for (args, pager) in straight {
        let mut cmd = on_xterm(&env, args);
        cmd.env("PAGER", recorder(&paged));
        if let Some(pager) = pager {
            cmd.env("TIX_PAGER", pager);
        }
        printed_straight(&on_terminal(cmd), &paged, &format!("{args:?} {pager:?}"));
    }
}

#[test]
fn tix_pager_comes_before_pager() {
    let env = desk_with_tickets();
    let (first, second) = (env.home().join("first"), env.home().join("second"));
    let mut cmd = on_xterm(&env, &["show", &env.new_ticket("Paged show")]);
    cmd.env("TIX_PAGER", recorder(&first))
        .env("PAGER", recorder(&second));
    assert_eq!(on_terminal(cmd).code, Some(0));
    assert!(
        std::fs::read_to_string(&first)
            .unwrap()
            .contains("Paged show")
    );
    assert!(!second.exists());

    let id = env.new_ticket("Logged");
    let mut cmd = on_xterm(&env, &["log", &id]);
    cmd.env("PAGER", recorder(&second));
    assert_eq!(on_terminal(cmd).code, Some(0));
    assert!(
        std::fs::read_to_string(&second)
            .unwrap()
            .contains("Ana Lima")
    );
}

#[test]
fn a_pipe_a_failure_and_a_change_are_never_paged() {
    let env = desk_with_tickets();
    let paged = env.home().join("paged");

    // A pipe: the listing goes to it.
    let mut cmd = on_xterm(&env, &["list"]);
    cmd.env("TIX_PAGER", recorder(&paged));
    let out = cmd.output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Printer on fire"));
    assert!(!paged.exists());

    // A failure: its error is on the terminal, and its exit code kept.
    let mut cmd = on_xterm(&env, &["show", "zzzzzz"]);
    cmd.env("TIX_PAGER", recorder(&paged));
    let run = on_terminal(cmd);
    assert_eq!(run.code, Some(1), "{}", run.screen);
    assert!(run.screen.contains("error:"), "{}", run.screen);
    assert!(!paged.exists());

    // A change: its confirmation is on the terminal.
    let id = env.new_ticket("Changed");
    let mut cmd = on_xterm(&env, &["note", &id, "-m", "checked"]);
    cmd.env("TIX_PAGER", recorder(&paged));
    let run = on_terminal(cmd);
    assert_eq!(run.code, Some(0), "{}", run.screen);
    assert!(run.screen.contains(&id), "{}", run.screen);
    assert!(!paged.exists());
}

#[test]
fn a_pager_that_cannot_start_leaves_the_output_on_the_terminal() {
    let env = desk_with_tickets();
    let mut cmd = on_xterm(&env, &["list"]);
    cmd.env("TIX_PAGER", env.home().join("no-such-pager"));
    let run = on_terminal(cmd);
    assert_eq!(run.code, Some(0), "{}", run.screen);
    assert!(run.screen.contains("Printer on fire"), "{}", run.screen);
}

#[test]
fn a_pager_command_the_shell_cannot_find_leaves_the_output_on_the_terminal() {
    let env = desk_with_tickets();
    let mut cmd = on_xterm(&env, &["list"]);
    cmd.env("TIX_PAGER", "no-such-pager -S");
    let run = on_terminal(cmd);
    assert_eq!(run.code, Some(0), "{}", run.screen);
    assert!(run.screen.contains("Printer on fire"), "{}", run.screen);
}

#[test]
fn a_dumb_or_unnamed_terminal_is_not_paged() {
    let env = desk_with_tickets();
    let paged = env.home().join("paged");
    for term in [Some("dumb"), Some(""), None] {
        let mut cmd = env.command(&["list"]);
        cmd.env("TIX_PAGER", recorder(&paged));
        match term {
            Some(term) => cmd.env("TERM", term),
            None => cmd.env_remove("TERM"),
        };
        printed_straight(&on_terminal(cmd), &paged, &format!("{term:?}"));
    }
}

#[test]
fn the_pager_gets_gits_less_options_unless_the_user_set_them() {
    let env = desk_with_tickets();
    let seen = env.home().join("seen");
    let pager = format!("echo \"$LESS|$LV\" > '{}'; cat > /dev/null", seen.display());
    let mut cmd = on_xterm(&env, &["list"]);
    cmd.env("TIX_PAGER", &pager);
    assert_eq!(on_terminal(cmd).code, Some(0));
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "FRX|-c\n");

    let mut cmd = on_xterm(&env, &["list"]);
    cmd.env("TIX_PAGER", &pager).env("LESS", "-S").env("LV", "");
    assert_eq!(on_terminal(cmd).code, Some(0));
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), "-S|\n");
}

#[test]
fn warnings_go_into_the_pager_before_the_listing() {
    let env = desk_with_tickets();
    // A ticket file that does not parse, committed by hand.
    env.commit_file("tickets/zz/zzzzzz.toml", "id = \"zzzzzz\"\nsubject = [\n");
    let paged = env.home().join("paged");
    let mut cmd = on_xterm(&env, &["list"]);
    cmd.env("TIX_PAGER", recorder(&paged));
    let run = on_terminal(cmd);
    assert_eq!(run.code, Some(0), "{}", run.screen);
    let text = std::fs::read_to_string(&paged).unwrap();
    let warning = text
        .find("warning: skipped tickets/zz/zzzzzz.toml")
        .expect(&text);
    assert!(warning < text.find("Printer on fire").unwrap(), "{text}");
    assert!(!run.screen.contains("warning"), "{}", run.screen);
}

/// The real `less`, as the default pager: with the user's `LESS` kept
/// (`-N` numbers the lines, which shows less drew them) and with git's
/// `LESS=FRX`, a listing that fits the screen is shown and less quits by
/// itself. `setsid` keeps less away from the terminal running the tests.
#[test]
fn the_default_pager_less_shows_a_short_listing_and_quits() {
    let has_less = Command::new("less").arg("--version").output().is_ok();
    assert!(has_less, "less is not installed (.ci/run installs it)");
    let env = desk_with_tickets();
    for less in [Some("FRX -N"), None] {
        let sealed = on_xterm(&env, &["list"]);
        let mut cmd = Command::new("setsid");
        cmd.arg(sealed.get_program())
            .args(sealed.get_args())
            .env_clear();
        cmd.current_dir(env.desk());
        for (key, value) in sealed.get_envs() {
            if let Some(value) = value {
                cmd.env(key, value);
            }
        }
        if let Some(less) = less {
            cmd.env("LESS", less);
        }
        let run = on_terminal(cmd);
        assert_eq!(run.code, Some(0), "{less:?}: {}", run.screen);
        assert!(
            run.screen.contains("Printer on fire"),
            "{less:?}: {}",
            run.screen
        );
        assert!(
            run.screen.contains("Mail bounces"),
            "{less:?}: {}",
            run.screen
        );
        let numbered = run.screen.contains(" 1 ID") && run.screen.contains(" 3 ");
        assert_eq!(numbered, less.is_some(), "{less:?}: {}", run.screen);
    }
}
