//! `tix init` and finding the desk (docs/storage.md).

use crate::common::TestEnv;

#[test]
fn init_makes_a_repository_with_config_attributes_tickets_and_one_commit() {
    let env = TestEnv::empty();
    let out = env.ok(&["init"]);
    assert!(out.starts_with("Initialised a tix desk in "), "{out}");
    assert!(env.path(".git").is_dir());
    assert!(env.path("tickets").is_dir());
    let config = std::fs::read_to_string(env.path("tix.toml")).unwrap();
    assert!(
        config.lines().any(|l| l.starts_with('#')),
        "commented defaults: {config}"
    );
    let attributes = std::fs::read_to_string(env.path(".gitattributes")).unwrap();
    assert!(attributes.contains("merge=tix"), "{attributes}");
    assert_eq!(env.commits(), 1);
    assert_eq!(
        env.git(&["ls-files"]),
        ".gitattributes\ntemplates/ack.txt\ntemplates/closed.txt\ntemplates/resolved.txt\n\
         tickets/.gitkeep\ntix.toml\n"
    );
    // The working tree and index are exactly the commit.
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    // Ticket files route to the registered merge driver.
    let driver = env.git(&["config", "merge.tix.driver"]);
    assert!(driver.contains("merge-driver"), "{driver}");
    assert_eq!(
        env.git(&["check-attr", "merge", "tickets/ab/abcdef.toml"]),
        "tickets/ab/abcdef.toml: merge: tix\n"
    );
    // The commit is by the agent, at TIX_NOW.
    assert_eq!(
        env.git(&["log", "-1", "--format=%an <%ae> %aI"]),
        "Ana Lima <ana@desk.test> 2025-03-03T09:00:00Z\n"
    );
}

/// A desk stays readable by every git tool: `tix init` leaves git's index
/// checksum on; `--many-files` turns it off (as git's `feature.manyFiles`
/// does), says so and how to undo it, unless a config chose already.
#[test]
fn the_index_checksum_stays_on_unless_many_files_asks_and_the_user_did_not_choose() {
    let env = TestEnv::empty();
    let out = env.tix(&["init"]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("skipHash"));
    let all = env.git(&["config", "--local", "--list"]);
    assert!(!all.contains("skiphash"), "{all}");

    let env = TestEnv::empty();
    let out = env.tix(&["init", "--many-files"]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("set index.skipHash") && said.contains("undoes it"),
        "{said}"
    );
    assert_eq!(env.git(&["config", "index.skipHash"]), "true\n");
    env.new_ticket("First");
    assert_eq!(env.git(&["status", "--porcelain"]), "");
    env.git(&["fsck", "--no-dangling"]);

    for (key, value) in [("index.skipHash", "false"), ("feature.manyFiles", "true")] {
        let env = TestEnv::empty();
        env.git(&["init", "-q"]);
        env.git(&["config", key, value]);
        env.ok(&["init", "--many-files"]);
        assert_eq!(env.git(&["config", key]), format!("{value}\n"));
        let all = env.git(&["config", "--local", "--list"]);
        assert_eq!(
            all.matches("skiphash").count(),
            usize::from(key == "index.skipHash"),
            "{all}"
        );
    }
}

#[test]
fn init_with_a_directory_creates_it() {
    let env = TestEnv::empty();
    env.ok_in(env.home(), &["init", "support/desk"]);
    let desk = env.home().join("support/desk");
    assert!(desk.join("tix.toml").is_file());
    assert!(desk.join(".git").is_dir());
    assert_eq!(
        env.git_in(&desk, &["rev-list", "--count", "HEAD"]).trim(),
        "1"
    );
}

#[test]
fn init_on_an_existing_desk_says_what_it_checked_and_writes_nothing() {
    let env = TestEnv::new();
    let head = env.head();
    let out = env.ok(&["init"]);
    assert!(
        out.ends_with(
            " is a tix desk already: its tix.toml reads and tix's merge driver is registered; nothing to do.\n"
        ),
        "{out}"
    );
    let json = env.json(&["init", "--format", "json"]);
    assert_eq!(json["created"], false);
    assert_eq!(json["merge_driver_registered"], false);
    assert_eq!(env.head(), head);
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn init_inside_another_repository_makes_a_repository_of_its_own_and_says_so() {
    let env = TestEnv::empty();
    env.git(&["init", "-q"]);
    env.write("README", "mine\n");
    env.git(&["add", "README"]);
    env.git(&["commit", "-q", "-m", "mine"]);
    let sub = env.path("docs/inner");
    std::fs::create_dir_all(&sub).unwrap();
    let out = env.tix_in(&sub, &["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("inside the git repository"), "{note}");
    // As `git init` does: a repository of its own, the outer one untouched.
    assert!(sub.join(".git").is_dir());
    assert!(sub.join("tix.toml").is_file());
    assert_eq!(env.commits(), 1);
    assert_eq!(env.git(&["status", "--porcelain"]), "?? docs/\n");
}

#[test]
fn init_inside_a_desk_subdirectory_refuses() {
    let env = TestEnv::new();
    let sub = env.path("notes");
    std::fs::create_dir_all(&sub).unwrap();
    let err = env.fail_in(&sub, &["init"], 1);
    assert!(err.contains("desk"), "{err}");
    assert!(!sub.join(".git").exists(), "no nested repository");
    assert_eq!(env.commits(), 1);
}

#[test]
fn init_into_an_existing_repository_keeps_the_users_work() {
    let env = TestEnv::empty();
    env.git(&["init", "-q"]);
    env.write("a.txt", "one\n");
    env.write("b.txt", "two\n");
    env.git(&["add", "a.txt", "b.txt"]);
    env.git(&["commit", "-q", "-m", "the user's project"]);
    // Staged, unstaged and untracked work.
    env.write("staged.txt", "staged\n");
    env.git(&["add", "staged.txt"]);
    env.write("a.txt", "one, edited\n");
    env.write("b.txt", "two, staged edit\n");
    env.git(&["add", "b.txt"]);
    env.write("b.txt", "two, staged edit, then more\n");
    env.write("untracked.txt", "loose\n");
    let diff = env.git(&["diff"]);
    let cached = env.git(&["diff", "--cached"]);

    env.ok(&["init"]);

    assert_eq!(env.commits(), 2, "one commit on top of the user's");
    let files = env.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(
        files,
        ".gitattributes\ntemplates/ack.txt\ntemplates/closed.txt\ntemplates/resolved.txt\n\
         tickets/.gitkeep\ntix.toml\n"
    );
    assert_eq!(env.git(&["diff"]), diff, "unstaged work kept");
    assert_eq!(env.git(&["diff", "--cached"]), cached, "staged work kept");
    assert_eq!(
        env.git(&["status", "--porcelain"]),
        " M a.txt\nMM b.txt\nA  staged.txt\n?? untracked.txt\n"
    );
    assert_eq!(
        std::fs::read_to_string(env.path("untracked.txt")).unwrap(),
        "loose\n"
    );
    // And it is a working desk.
    env.new_ticket("First");
}

#[test]
fn init_into_an_existing_repository_keeps_the_users_gitattributes_and_tix_toml() {
    let env = TestEnv::empty();
    env.git(&["init", "-q"]);
    env.commit_file(".gitattributes", "*.png binary\n");
    env.write("tix.toml", "# my own notes, not a desk config\n");
    let err = env.fail(&["init"], 1);
    assert!(err.contains("tix.toml already exists"), "{err}");
    assert_eq!(
        std::fs::read_to_string(env.path("tix.toml")).unwrap(),
        "# my own notes, not a desk config\n",
        "the user's untracked tix.toml was overwritten"
    );
    assert_eq!(env.commits(), 1, "a refused init commits nothing");

    // Out of the way, init adds its line to the committed attributes.
    std::fs::remove_file(env.path("tix.toml")).unwrap();
    env.ok(&["init"]);
    let attributes = std::fs::read_to_string(env.path(".gitattributes")).unwrap();
    assert!(attributes.starts_with("*.png binary\n"), "{attributes}");
    assert!(
        attributes.contains("tickets/**/*.toml merge=tix"),
        "{attributes}"
    );
    assert_eq!(env.git(&["status", "--porcelain"]), "");
}

#[test]
fn init_refuses_when_the_users_gitattributes_has_uncommitted_changes() {
    let env = TestEnv::empty();
    env.git(&["init", "-q"]);
    env.commit_file(".gitattributes", "*.png binary\n");
    env.write(".gitattributes", "*.png binary\n*.jpg binary\n");
    let err = env.fail(&["init"], 1);
    assert!(err.contains(".gitattributes"), "{err}");
    assert_eq!(
        std::fs::read_to_string(env.path(".gitattributes")).unwrap(),
        "*.png binary\n*.jpg binary\n"
    );
    assert_eq!(env.commits(), 1);
}

#[test]
fn commands_find_the_desk_from_a_subdirectory() {
    let env = TestEnv::new();
    let id = env.new_ticket("Found from below");
    let deep = env.path("tickets/some/where");
    std::fs::create_dir_all(&deep).unwrap();
    let listed = env.ok_in(&deep, &["list", "--format", "csv"]);
    assert!(listed.contains(&id), "{listed}");
    // A change made from below lands in the desk.
    env.ok_in(&deep, &["note", &id, "-m", "from below"]);
    assert_eq!(env.commits(), 3);
}

#[test]
fn dash_c_names_the_desk_or_a_directory_inside_it() {
    let env = TestEnv::new();
    let id = env.new_ticket("Found with -C");
    let outside = env.home();
    let desk = env.desk().to_str().unwrap().to_owned();
    let listed = env.ok_in(outside, &["-C", &desk, "list", "--format", "csv"]);
    assert!(listed.contains(&id), "{listed}");
    // Relative to the current directory, and pointing inside the desk.
    let listed = env.ok_in(outside, &["-C", "desk/tickets", "list", "--format", "csv"]);
    assert!(listed.contains(&id), "{listed}");
    // -C after the subcommand works too (a global flag).
    let shown = env.ok_in(outside, &["show", &id, "-C", &desk, "--format", "json"]);
    assert!(shown.contains("Found with -C"), "{shown}");
}

#[test]
fn outside_any_desk_commands_refuse() {
    let env = TestEnv::empty();
    for args in [&["list"][..], &["new", "x"], &["show", "abc"], &["doctor"]] {
        let err = env.fail(args, 1);
        assert!(err.contains("not a tix desk"), "{args:?}: {err}");
    }
    // A git repository without tix.toml is not a desk either.
    env.git(&["init", "-q"]);
    let err = env.fail(&["list"], 1);
    assert!(err.contains("not a tix desk"), "{err}");
    let missing = env.home().join("nowhere");
    let err = env.fail(&["-C", missing.to_str().unwrap(), "list"], 1);
    assert!(err.contains("not a tix desk"), "{err}");
}

/// Every object id tix reads or writes is a SHA-1: a SHA-256 repository
/// is refused by name, by `init` and by every other command, and nothing
/// is written.
#[test]
fn a_sha256_repository_is_refused_by_name() {
    let env = TestEnv::empty();
    env.git(&["init", "-q", "--object-format=sha256", "."]);
    let err = env.fail(&["init"], 1);
    assert!(err.contains("uses sha256 object ids"), "{err}");
    assert!(err.contains("--object-format=sha1"), "{err}");
    assert!(!env.path("tix.toml").exists(), "init wrote nothing");
    // A desk someone made there by hand is refused too, not read.
    env.write("tix.toml", "");
    env.git(&["add", "tix.toml"]);
    env.git(&["commit", "-q", "-m", "by hand"]);
    for args in [&["list"][..], &["doctor"], &["new", "Hello"]] {
        let err = env.fail(args, 1);
        assert!(err.contains("uses sha256 object ids"), "{args:?}: {err}");
    }
}
