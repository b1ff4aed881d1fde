//! Unit tests of `tix.toml` loading: every problem, its line, its message.

use super::*;
use crate::domain::lifecycle::Category;

fn problems(text: &str) -> Vec<ConfigProblem> {
    Config::parse(text).unwrap_err().problems
}

fn lines_and_messages(text: &str) -> Vec<(usize, String)> {
    problems(text)
        .into_iter()
        .map(|p| (p.line.unwrap_or(0), p.message))
        .collect()
}

#[test]
fn holidays_without_hours_are_closed_and_intervals_may_come_in_any_order() {
    let text = "[calendar.office]\ntimezone = \"UTC\"\nmon = [\"13:00-17:00\", \"09:00-12:00\"]\nholidays = [\"2025-12-25\", { date = \"2025-12-24\" }, 2026-01-01, { date = \"2025-12-31\", hours = [\"09:00-12:00\"] }]\n\n[[sla.policy]]\nname = \"p\"\ncalendar = \"office\"\n";
    let config = Config::parse(text).unwrap();
    assert_eq!(config.policies[0].name, "p");
}

#[test]
fn calendar_mistakes_are_each_reported_at_their_own_line() {
    let text = "[calendar.office]\ntimezone = \"Mars/Olympus\"\nmon = [\"09:00-17:00\"]\n\n[calendar.shop]\ntimezone = \"UTC\"\nmon = [\n  \"09:00-12:00\",\n  \"11:00-13:00\",\n]\ntue = [\"18:00-09:00\"]\nholidays = [{ date = \"2025-12-24\", hour = [\"09:00-12:00\"] }]\n\n[calendar.never]\ntimezone = \"UTC\"\n";
    // Problems come in line order.
    assert_eq!(
        lines_and_messages(text),
        [
            (
                2,
                "calendar 'office': unknown time zone 'Mars/Olympus' (use an IANA name like Europe/Berlin)"
                    .to_owned()
            ),
            (
                9,
                "calendar 'shop': mon: '09:00-12:00' and '11:00-13:00' overlap".to_owned()
            ),
            (
                11,
                "calendar 'shop': tue: '18:00-09:00' ends before it starts (an interval cannot cross midnight; split it)"
                    .to_owned()
            ),
            (
                12,
                "calendar 'shop': holiday: unknown key 'hour' (use date and hours)".to_owned()
            ),
            (
                14,
                "calendar 'never': it has no open hours on any day, so nothing could ever be due"
                    .to_owned()
            ),
        ]
    );
}

#[test]
fn every_policy_problem_is_reported_at_its_key_without_follow_on_errors() {
    let text = "[calendar.office]\ntimezone = \"Nowhere/City\"\nmon = [\"09:00-17:00\"]\n\n[[sla.policy]]\nname = \"p\"\ncalendar = \"office\"\npause_resolution_in = [\"waiting\", \"lunch\"]\n[sla.policy.targets]\nnormal = { first_reply = \"1x\" }\nnrmal = { first_reply = \"1h\" }\n\n[[sla.policy]]\nname = \"q\"\ncalendar = \"ofice\"\n";
    let p = lines_and_messages(text);
    assert_eq!(p.len(), 5, "{p:#?}");
    assert_eq!(p[0].0, 2, "the zone, once: {p:#?}");
    assert_eq!(
        p[1],
        (
            8,
            "SLA policy 'p': unknown category 'lunch' in pause_resolution_in (use new, open, waiting or on_hold)"
                .to_owned()
        )
    );
    assert_eq!(
        p[2],
        (
            10,
            "SLA policy 'p': '1x' is not a duration like 8h or 3d".to_owned()
        )
    );
    assert_eq!(p[3].0, 11);
    assert!(p[3].1.contains("nrmal"), "{p:#?}");
    assert_eq!(
        p[4],
        (
            15,
            "SLA policy 'q': unknown calendar 'ofice' (tix.toml defines 24x7, office)".to_owned()
        )
    );
}

#[test]
fn a_holidays_file_is_read_from_the_desk_and_a_missing_one_refused() {
    let text = "[calendar.office]\ntimezone = \"UTC\"\nmon = [\"09:00-17:00\"]\nholidays_file = \"calendars/br.ics\"\n";
    let ics =
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20250303\nEND:VEVENT\nEND:VCALENDAR\n";
    let files = |path: &str| Ok((path == "calendars/br.ics").then(|| ics.to_owned()));
    assert!(Config::parse_in(text, &files).is_ok());
    assert_eq!(
        lines_and_messages(text),
        [(
            4,
            "calendar 'office': holidays_file 'calendars/br.ics' is not a committed file of the desk"
                .to_owned()
        )]
    );
    let broken = |_: &str| Ok(Some("BEGIN:VCALENDAR\nBEGIN:VEVENT\n".to_owned()));
    let err = Config::parse_in(text, &broken).unwrap_err();
    assert_eq!(
        err.problems[0].message,
        "calendar 'office': holidays_file 'calendars/br.ics': line 2: the event has no END:VEVENT"
    );
}

#[test]
fn default_text_parses() {
    let config = Config::parse(DEFAULT_TEXT).unwrap();
    assert_eq!(config.desk.automation.name, "tix-automation");
    let names: Vec<&str> = config.automations.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["close-solved-4d", "wake-postponed"]);
}

#[test]
fn a_looping_automation_is_refused_with_its_line() {
    let p = problems(
        "[desk]\n\n[[automation]]\nname = \"ping\"\nwhen = { category = \"waiting\" }\ndo = { add_note = \"hi\" }\n",
    );
    assert!(p[0].message.contains("fire forever"), "{p:?}");
    assert_eq!(p[0].line, Some(3), "the rule's [[automation]] line");
}

#[test]
fn commented_examples_in_the_default_text_parse_too() {
    // Uncomment every example line: the reference must stay valid.
    let text: String = DEFAULT_TEXT
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .filter(|rest| looks_like_toml(rest))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    // The templates `tix init` writes next to it.
    let templates = |path: &str| {
        Ok(crate::domain::mail::template::DEFAULTS
            .iter()
            .find(|(name, _)| path == format!("templates/{name}.txt"))
            .map(|(_, text)| (*text).to_owned()))
    };
    Config::parse_in(&text, &templates).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
}

fn looks_like_toml(line: &str) -> bool {
    line.starts_with('[')
        || line
            .split_once(" = ")
            .is_some_and(|(k, _)| !k.contains(' '))
}

#[test]
fn unknown_keys_name_the_key_the_section_and_the_line() {
    let p = problems("[desk]\nname = \"x\"\ncolour = \"red\"\n");
    assert_eq!(p[0].line, Some(3));
    assert_eq!(
        p[0].message,
        "unknown key `colour` in [desk]; use name or automation"
    );
    let p = problems("\n[colours]\nticket = \"red\"\n");
    assert_eq!(p[0].line, Some(2));
    assert!(
        p[0].message
            .starts_with("unknown key `colours` at the top level; use desk, status"),
        "{p:?}"
    );
}

#[test]
fn bad_types_and_values_name_the_table_and_the_key() {
    let p = problems(
        "[[field]]\nname = \"order\"\ntype = \"number\"\nrequired = \"yes\"\n\n[[department]]\nname = \"billing\"\nassignment = \"random\"\n",
    );
    let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (
                Some(4),
                "[[field]] 'order': key 'required': expected true or false, found string \"yes\""
            ),
            (
                Some(8),
                "[[department]] 'billing': key 'assignment': unknown value \"random\"; use none, round_robin, least_loaded"
            ),
        ]
    );
}

#[test]
fn every_problem_of_every_kind_is_reported_at_once_in_line_order() {
    let text = "[desk]\ncolour = \"red\"\n\n[[status]]\nid = \"vendor\"\ncategory = \"limbo\"\n\n[[field]]\nname = \"n\"\ntype = \"float\"\n\n[[routing]]\nname = \"r\"\nset = { department = \"sales\" }\n\n[[hook]]\non = [\"created\"]\nrun = 3\n\n[[automation]]\nname = \"a\"\nlimit = \"many\"\ndo = { set_status = \"closed\" }\n";
    let p = problems(text);
    let lines: Vec<_> = p.iter().map(|p| p.line.unwrap()).collect();
    assert_eq!(lines, [2, 6, 10, 14, 18, 22], "{p:#?}");
    assert!(p[0].message.contains("unknown key `colour` in [desk]"));
    assert!(p[1].message.contains("unknown category 'limbo'"));
    assert!(p[2].message.contains("[[field]] 'n': key 'type'"));
    assert!(p[3].message.contains("unknown department 'sales'"));
    assert!(p[4].message.contains("[[hook]] #1: key 'run'"));
    assert!(p[5].message.contains("[[automation]] 'a': key 'limit'"));
}

fn one_problem(text: &str) -> ConfigProblem {
    let p = problems(text);
    assert_eq!(p.len(), 1, "{p:#?}");
    p.into_iter().next().unwrap()
}

#[test]
fn names_follow_one_ascii_rule_shared_with_the_command_line() {
    let p = one_problem("[[field]]\nname = \"número\"\ntype = \"string\"\n");
    assert_eq!(p.line, Some(2));
    assert_eq!(
        p.message,
        "field name 'número' must be ASCII letters, digits, '-' and '_'; put other text in its label"
    );
    let p = one_problem("[[status]]\nid = \"pendência\"\ncategory = \"waiting\"\n");
    assert!(
        p.message.starts_with("status id 'pendência' must be ASCII"),
        "{p:?}"
    );
    assert!(is_valid_name("order_no-2"));
    assert!(!is_valid_name("número") && !is_valid_name("") && !is_valid_name("a b"));
}

#[test]
fn tags_that_routing_or_automation_would_add_are_checked_at_load() {
    let p = one_problem("[[routing]]\nname = \"r\"\nset = { add_tags = [\"two words\"] }\n");
    assert_eq!(p.line, Some(3));
    assert_eq!(
        p.message,
        "routing rule 'r': add_tags: 'two words' is not a tag: tags are single words without commas"
    );
    let p = one_problem(
        "[[automation]]\nname = \"a\"\nwhen = { tags_any = [\"x\"] }\ndo = { remove_tags = [\"x\"], add_tags = [\"a,b\"] }\n",
    );
    assert_eq!(p.line, Some(1));
    assert!(
        p.message.starts_with("automation 'a': 'a,b' is not a tag"),
        "{p:?}"
    );
}

#[test]
fn routing_words_and_domains_that_could_never_match_are_refused() {
    let p = problems(
        "[[routing]]\nname = \"r\"\nwhen = { subject_matches = [\"\"], customer_domain = [\"bo@bank.example\"] }\nset = { priority = \"high\" }\n",
    );
    let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (
                Some(3),
                "routing rule 'r': subject_matches has an empty word, which would never match"
            ),
            (
                Some(3),
                "routing rule 'r': customer_domain 'bo@bank.example' is not a mail domain (like bank.example)"
            ),
        ]
    );
    Config::parse("[[routing]]\nwhen = { customer_domain = [\"@bank.example\"] }\nset = { priority = \"high\" }\n").unwrap();
}

#[test]
fn routing_messages_name_the_rule() {
    let p = one_problem(
        "[[department]]\nname = \"billing\"\n\n[[routing]]\nname = \"r\"\nset = { department = \"nowhere\" }\n",
    );
    assert_eq!(
        p.message,
        "routing rule 'r' sets unknown department 'nowhere'"
    );
    let p = one_problem("[[routing]]\nwhen = { priority = [\"high\"] }\nset = {}\n");
    assert!(
        p.message.starts_with("routing rule 1 sets nothing"),
        "{p:?}"
    );
}

#[test]
fn identities_git_would_refuse_are_refused_at_load() {
    let p = one_problem("[desk]\nautomation = { name = \"\", email = \"\" }\n");
    assert_eq!(p.line, Some(2));
    assert_eq!(p.message, "[desk] automation: the name is empty");
    let p = one_problem("[desk]\nautomation = { name = \"bot\", email = \"bot\" }\n");
    assert!(p.message.contains("'bot' is not a mail address"), "{p:?}");
    let p = problems(
        "[[agent]]\nname = \"\"\nemail = \"@\"\n\n[[agent]]\nname = \"<Raj>\"\nemail = \"raj@desk\"\n",
    );
    let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (Some(3), "agent '@': the name is empty"),
            (
                Some(7),
                "agent 'raj@desk': the name '<Raj>' contains '<', '>' or a line break"
            ),
        ]
    );
}

#[test]
fn duplicate_agents_and_choices_are_refused() {
    let p = problems(
        "[[agent]]\nname = \"Ana\"\nemail = \"ana@desk\"\n\n[[agent]]\nname = \"Ana B\"\nemail = \"ana@desk\"\n\n[[agent]]\nname = \"Ana\"\nemail = \"ana2@desk\"\n\n[[field]]\nname = \"plan\"\ntype = \"choice\"\nchoices = [\"free\", \"pro\", \"free\"]\n",
    );
    let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (Some(7), "agent 'ana@desk' is defined twice"),
            (
                Some(11),
                "agent name 'Ana' is used twice: `--assign` could not tell them apart"
            ),
            (Some(14), "choice field 'plan' lists 'free' twice"),
        ]
    );
}

#[test]
fn automation_references_to_departments_and_agents_are_checked() {
    let desk = "[[department]]\nname = \"billing\"\n\n[[agent]]\nname = \"Ana\"\nemail = \"ana@desk\"\ndepartments = [\"billing\"]\n\n";
    let p = problems(&format!(
        "{desk}[[automation]]\nname = \"a\"\nwhen = {{ department = \"sales\", assignee = \"none\" }}\ndo = {{ assign = \"kim\" }}\n"
    ));
    let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (Some(9), "automation 'a' has unknown department 'sales'"),
            (
                Some(9),
                "automation 'a': do.assign names unknown agent 'kim'"
            ),
        ]
    );
    // An agent's name becomes the address tickets store.
    let config = Config::parse(&format!(
        "{desk}[[automation]]\nname = \"a\"\nwhen = {{ department = \"billing\", assignee = \"none\" }}\ndo = {{ assign = \"Ana\" }}\n"
    ))
    .unwrap();
    assert_eq!(
        config.automations[0].actions.assign.as_deref(),
        Some("ana@desk")
    );
    let p = one_problem(&format!(
        "{desk}[[sla.policy]]\nname = \"p\"\nmatch = {{ department = [\"sales\"] }}\n"
    ));
    assert_eq!(p.line, Some(9));
    assert_eq!(
        p.message,
        "SLA policy 'p' matches unknown department 'sales'"
    );
}

#[test]
fn a_table_that_failed_to_read_still_defines_its_name() {
    // The department has a bad key: the agent's reference to it is fine.
    let p = problems(
        "[[department]]\nname = \"billing\"\nassignment = 1\n\n[[agent]]\nname = \"Ana\"\nemail = \"ana@desk\"\ndepartments = [\"billing\"]\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].line, Some(3));
}

#[test]
fn every_semantic_problem_is_reported_with_its_line() {
    let text = "[[status]]\nid = \"vendor\"\ncategory = \"limbo\"\n\n[[department]]\nname = \"billing\"\n\n[[routing]]\nset = { department = \"sales\" }\n";
    let p = problems(text);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].message.contains("limbo") && p[0].line == Some(3),
        "{p:?}"
    );
    assert!(
        p[1].message.contains("unknown department 'sales'") && p[1].line == Some(9),
        "{p:?}"
    );
}

#[test]
fn custom_status_and_bad_next() {
    let ok =
        Config::parse("[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\nnext = [\"open\"]\n")
            .unwrap();
    assert_eq!(ok.statuses.category("vendor"), Some(Category::OnHold));
    let p = problems("[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\nnext = [\"nowhere\"]\n");
    assert!(p[0].message.contains("nowhere"));
}

#[test]
fn next_entries_the_lifecycle_never_allows_are_refused_with_the_line() {
    let p = problems(
        "[[status]]\nid = \"vendor\"\ncategory = \"on_hold\"\nnext = [\"open\", \"closed\"]\n\n[[status]]\nid = \"spam\"\ncategory = \"closed\"\nnext = [\"open\"]\n\n[[status]]\nid = \"triage\"\ncategory = \"new\"\nnext = [\"new\", \"triage\"]\n\n[[status]]\nid = \"open\"\ncategory = \"open\"\nnext = [\"triage\"]\n",
    );
    let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (
                Some(4),
                "status 'vendor' can never move to 'closed': only a resolved ticket closes; use `tix close --force --reason TEXT`"
            ),
            (
                Some(9),
                "status 'spam' can never move to 'open': closed tickets are locked; use `tix reopen`"
            ),
            (Some(14), "status 'triage' lists itself in next"),
            (
                Some(19),
                "status 'open' can never move to 'triage': nothing returns to the new category"
            ),
        ]
    );
    // Moves the lifecycle allows are fine, new to new included.
    Config::parse(
        "[[status]]\nid = \"triage\"\ncategory = \"new\"\nnext = [\"new\", \"open\"]\n\n[[status]]\nid = \"resolved\"\ncategory = \"solved\"\nnext = [\"closed\", \"open\"]\n",
    )
    .unwrap();
}

#[test]
fn field_types_parse_and_refuse() {
    let text = "[[field]]\nname = \"n\"\ntype = \"number\"\n[[field]]\nname = \"c\"\ntype = \"choice\"\nchoices = [\"a\", \"b\"]\n[[field]]\nname = \"d\"\ntype = \"date\"\n[[field]]\nname = \"b\"\ntype = \"bool\"\n";
    let config = Config::parse(text).unwrap();
    let f = |n| config.field(n).unwrap();
    assert_eq!(f("n").parse_value("42").unwrap(), toml::Value::Integer(42));
    assert!(
        f("n")
            .parse_value("4x")
            .unwrap_err()
            .contains("must be a number")
    );
    assert!(f("c").parse_value("z").unwrap_err().contains("one of a, b"));
    assert!(f("d").parse_value("2025-02-30").is_err());
    assert!(f("d").parse_value("2025-02-28").is_ok());
    for (text, value) in [
        ("yes", true),
        ("TRUE", true),
        ("No", false),
        ("false", false),
    ] {
        assert_eq!(
            f("b").parse_value(text).unwrap(),
            toml::Value::Boolean(value),
            "{text}"
        );
    }
    assert!(f("b").parse_value("y").is_err());
    let n = f("n");
    assert!(n.same_value(
        &n.parse_value("4.50").unwrap(),
        &n.parse_value("4.5").unwrap()
    ));
    assert!(n.same_value(&n.parse_value("4").unwrap(), &n.parse_value("4.0").unwrap()));
    assert!(!n.same_value(&n.parse_value("4").unwrap(), &n.parse_value("4.1").unwrap()));
    assert!(
        config
            .new_field_values(&[("n".into(), " ".into())])
            .unwrap_err()
            .contains("empty value")
    );
    let p = problems("[[field]]\nname = \"n\"\ntype = \"number\"\ndefault = \"many\"\n");
    assert_eq!(p[0].line, Some(4));
    let p = problems("[[field]]\nname = \"n\"\ntype = \"float\"\n");
    assert!(p[0].message.contains("float"));
}

#[test]
fn triggers_and_macros_are_checked_at_load_each_problem_at_its_line() {
    let text = r#"[[field]]
name = "plan"
type = "string"

[[trigger]]
name = "bad-pattern"
on = "created"
when = { subject_matches = "(unclosed" }
do = { add_tags = ["x"] }

[[trigger]]
name = "never"
on = "created"
when = { tags_all = ["a"], tags_none = ["a"] }
do = { add_tags = ["x"] }

[[trigger]]
name = "typo"
on = "created"
when = { prority = "high" }
do = { add_tags = ["x"] }

[[trigger]]
name = "no-template"
on = "created"
do = { reply = "welcome" }

[[trigger]]
name = "unknown-field"
on = "note"
do = { set_field = { region = "eu" } }

[[trigger]]
name = "bad-event"
on = "deleted"
do = { add_tags = ["x"] }

[[macro]]
name = "refund"
template = "refund"
do = { set_status = "refunded" }
"#;
    let files = |path: &str| {
        Ok((path == "templates/refund.txt").then(|| "Hi {{ customer.nmae }}".to_owned()))
    };
    let problems: Vec<(usize, String)> = Config::parse_in(text, &files)
        .unwrap_err()
        .problems
        .into_iter()
        .map(|p| (p.line.unwrap_or(0), p.message))
        .collect();
    let line_of = |needle: &str| {
        problems
            .iter()
            .find(|(_, m)| m.contains(needle))
            .unwrap_or_else(|| panic!("no problem with {needle:?} in {problems:#?}"))
            .0
    };
    assert_eq!(line_of("(unclosed"), 8, "a pattern that does not parse");
    assert_eq!(
        line_of("can never fire"),
        11,
        "conditions that exclude each other"
    );
    assert_eq!(line_of("prority"), 20, "an unknown key");
    assert_eq!(line_of("templates/welcome.txt is not committed"), 23);
    assert_eq!(line_of("no field 'region'"), 28);
    assert_eq!(
        line_of("unknown event 'deleted'"),
        35,
        "an event triggers do not know"
    );
    assert_eq!(
        line_of("customer.nmae"),
        38,
        "a template naming an unknown variable"
    );
    assert_eq!(line_of("unknown status 'refunded'"), 38);
    assert!(
        !problems.iter().any(|(_, m)| m.contains("does nothing")),
        "no follow-on problem: {problems:#?}"
    );
}

#[test]
fn a_valid_trigger_loads_with_typed_fields_and_agents_by_address() {
    let text = r#"[[field]]
name = "seats"
type = "number"

[[agent]]
name = "Raj Patel"
email = "raj@desk"

[[trigger]]
name = "big"
on = ["created", "customer_replied"]
when = { any = [{ customer_domain = "bigcorp.com" }, { field.seats = 100 }] }
do = { assign = "Raj Patel", set_field = { seats = "250" } }
"#;
    let config = Config::parse(text).unwrap();
    let trigger = &config.triggers[0];
    assert_eq!(trigger.actions.assign.as_deref(), Some("raj@desk"));
    assert_eq!(
        trigger.actions.set_field.get("seats"),
        Some(&toml::Value::Integer(250))
    );
}

/// A desk with a department, two agents and a ticket form, then `views`.
fn desk_with_views(views: &str) -> String {
    format!(
        "[[department]]\nname = \"billing\"\n\n[[agent]]\nname = \"Ana Lima\"\nemail = \"ana@desk.test\"\n\n[[agent]]\nname = \"Raj\"\nemail = \"raj@desk.test\"\n\n[[field]]\nname = \"plan\"\ntype = \"choice\"\nchoices = [\"free\", \"pro\"]\n\n{views}"
    )
}

/// Line 17: the first line after [`desk_with_views`]'s own.
const VIEWS_AT: usize = 17;

#[test]
fn views_are_read_with_agents_as_their_addresses() {
    let config = Config::parse(&desk_with_views(
        "[[view]]\nname = \"ana-vip\"\nwhen = { assignee = \"Ana Lima\", tag = \"vip\", status = [\"new\", \"open\"], field = { plan = \"pro\" }, created_after = \"7d\" }\n\n[[view]]\nname = \"mine\"\n[view.when]\nme = true\npriority = \"urgent\"\n\n[[view]]\nname = \"everything\"\n",
    ))
    .unwrap();
    let names: Vec<&str> = config.views.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["ana-vip", "mine", "everything"]);
    let vip = &config.views[0].filter;
    assert_eq!(vip.assignee.as_deref(), Some("ana@desk.test"));
    assert_eq!(vip.tag, ["vip"]);
    assert_eq!(vip.status, ["new", "open"]);
    assert_eq!(vip.field, [("plan".to_owned(), "pro".to_owned())]);
    assert_eq!(vip.created_after.as_deref(), Some("7d"));
    assert!(config.views[1].filter.needs_me());
    assert_eq!(
        config.views[1].filter.priority,
        [crate::model::Priority::Urgent]
    );
    assert_eq!(
        config.views[2].filter,
        crate::domain::filter::Filter::default()
    );
}

#[test]
fn every_view_problem_is_reported_at_the_line_of_its_key() {
    let views = "[[view]]\nname = \"a\"\n[view.when]\nstatus = [\"new\", \"frozen\"]\ncategory = \"limbo\"\nassignee = \"kim\"\ndepartment = \"sales\"\nfield = { plan = \"gold\" }\nupdated_before = \"last week\"\ntag = \"two words\"\n\n[[view]]\nname = \"b\"\nwhen = { customer = \" \", me = true, assignee = \"raj\" }\n\n[[view]]\nname = \"a\"\n\n[[view]]\nname = \"my view\"\n";
    let at = |line: usize| Some(VIEWS_AT + line - 1);
    let p: Vec<(Option<usize>, String)> = problems(&desk_with_views(views))
        .into_iter()
        .map(|p| (p.line, p.message))
        .collect();
    let expected = [
        (
            at(4),
            "[[view]] 'a': key 'when.status': unknown status 'frozen': use answered, closed, new, open, postponed, resolved",
        ),
        (
            at(5),
            "[[view]] 'a': key 'when.category': unknown category 'limbo': use new, open, waiting, on_hold, solved or closed",
        ),
        (
            at(6),
            "[[view]] 'a': key 'when.assignee': unknown agent 'kim': tix.toml lists ana@desk.test, raj@desk.test (or use me or none)",
        ),
        (
            at(7),
            "[[view]] 'a': key 'when.department': unknown department 'sales': tix.toml lists billing",
        ),
        (
            at(8),
            "[[view]] 'a': key 'when.field': field 'plan' must be one of free, pro, not 'gold'",
        ),
        (
            at(9),
            "[[view]] 'a': key 'when.updated_before': invalid time 'last week': expected a time (2025-03-04T09:00:00Z), a date (2025-03-04), a duration (3d, 4h, 2 weeks, 3d ago) or a word (now, today, yesterday, tomorrow, monday)",
        ),
        (
            at(10),
            "[[view]] 'a': key 'when.tag': 'two words' is not a tag: tags are single words without commas",
        ),
        (
            at(14),
            "[[view]] 'b': key 'when.me': me = true and assignee = 'raj' both say whose tickets: keep one",
        ),
        (
            at(14),
            "[[view]] 'b': key 'when.customer': the value is empty",
        ),
        (at(17), "view 'a' is defined twice"),
        (
            at(20),
            "view name 'my view' must be ASCII letters, digits, '-' and '_', so that --view can name it",
        ),
    ];
    let expected: Vec<(Option<usize>, String)> = expected
        .iter()
        .map(|(l, m)| (*l, (*m).to_owned()))
        .collect();
    assert_eq!(p, expected);
}

#[test]
fn a_view_with_an_unknown_key_or_a_bad_priority_is_named_at_that_key() {
    let p = problems(&desk_with_views(
        "[[view]]\nname = \"vip\"\nwhen = { tags = [\"vip\"] }\n\n[[view]]\nname = \"hot\"\nwhen = { category = \"open\",\n  priority = [\"high\", \"meh\"] }\n\n[[view]]\nname = \"warm\"\n[view.when]\npriority = \"tepid\"\n",
    ));
    let messages: Vec<_> = p.iter().map(|p| (p.line, p.message.as_str())).collect();
    assert_eq!(
        messages,
        [
            (
                Some(VIEWS_AT + 2),
                "unknown key `tags` in `when` of [[view]] 'vip'; use status, category, priority, assignee, me, department, tag, customer, field, pending, search, created_after, created_before, updated_after, updated_before, all"
            ),
            (
                Some(VIEWS_AT + 7),
                "[[view]] 'hot': key 'when.priority': unknown priority 'meh': use low, normal, high or urgent"
            ),
            // A [view.when] table of its own: the key is found there too.
            (
                Some(VIEWS_AT + 12),
                "[[view]] 'warm': key 'when.priority': unknown priority 'tepid': use low, normal, high or urgent"
            ),
        ]
    );
    let p = one_problem("[[view]]\nwhen = { pending = true }\n");
    assert_eq!(
        (p.line, p.message.as_str()),
        (Some(1), "[[view]] #1: missing key 'name'")
    );
    let p = one_problem("view = 3\n");
    assert_eq!(p.line, Some(1));
    assert_eq!(
        p.message,
        "`view` must be a list of tables, written [[view]]"
    );
}

#[test]
fn views_are_checked_only_against_what_the_desk_defines() {
    // Without [[agent]], [[department]] or [[field]], any agent, department
    // and field is taken as written (fields are then compared as text).
    let config = Config::parse(
        "[[view]]\nname = \"v\"\nwhen = { assignee = \"kim\", department = \"sales\", field = { plan = \"gold\" } }\n",
    )
    .unwrap();
    assert_eq!(config.views[0].filter.assignee.as_deref(), Some("kim"));
    // A [[field]] that failed to read leaves field filters unchecked:
    // the one problem is the field's own.
    let p = one_problem(
        "[[field]]\nname = \"plan\"\ntype = \"colour\"\n\n[[view]]\nname = \"v\"\nwhen = { field = { plan = \"gold\" } }\n",
    );
    assert_eq!(p.line, Some(3));
    // A view of the custom statuses uses them.
    let config = Config::parse(
        "[[status]]\nid = \"waiting_on_vendor\"\ncategory = \"on_hold\"\n\n[[view]]\nname = \"vendor\"\nwhen = { status = \"waiting_on_vendor\" }\n",
    )
    .unwrap();
    assert_eq!(config.views[0].filter.status, ["waiting_on_vendor"]);
}

#[test]
fn trigger_actions_that_could_only_fail_later_are_refused_at_load() {
    let text = r#"[[department]]
name = "billing"

[[agent]]
name = "Ana"
email = "ana@desk"

[[field]]
name = "vip"
type = "bool"

[[trigger]]
name = "empty-note"
on = "created"
do = { add_note = " " }

[[trigger]]
name = "nobody"
on = "created"
when = { department = "billing" }
do = { assign = "round_robin" }

[[trigger]]
name = "typed"
on = "created"
when = { field.vip = "maybe" }
do = { add_tags = ["x"] }

[[macro]]
name = "ping"
do = { add_tags = ["x"], notify = "hook" }
"#;
    let messages: Vec<String> = problems(text).into_iter().map(|p| p.message).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(has("add_note is empty"), "{messages:#?}");
    assert!(
        has("department 'billing', which has no agents"),
        "{messages:#?}"
    );
    assert!(has("field.vip"), "{messages:#?}");
    assert!(has("macro 'ping': notify is for triggers"), "{messages:#?}");
}
