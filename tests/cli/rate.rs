//! `tix rate`, and a rating given by mail.

use crate::common::TestEnv;

#[test]
fn a_rating_comes_after_a_resolve_and_a_later_one_replaces_it() {
    let env = TestEnv::new();
    let id = env.new_ticket_with("Printer", &["--email", "bo@example.com", "-m", "Hi"]);
    let err = env.fail(&["rate", &id, "5"], 1);
    assert!(err.contains("never resolved"), "{err}");
    env.ok(&["resolve", &id]);
    for bad in ["0", "6"] {
        let err = env.fail(&["rate", &id, bad], 1);
        assert!(err.contains("1 (poor) to 5 (great)"), "{err}");
    }
    let err = env.fail(&["rate", &id, "x"], 2);
    assert!(err.starts_with("error:"), "{err}");
    let out = env.ok(&["rate", &id, "2", "--comment", "Slow"]);
    assert_eq!(out, format!("Rated {id}: rating 2.\n"));
    env.ok(&["rate", &id, "5", "--comment", "Fixed after all"]);
    let json = env.show(&id);
    assert_eq!(json["rating"]["score"], 5, "{json}");
    assert_eq!(json["rating"]["comment"], "Fixed after all", "{json}");
    // Both stay in the log; the ticket stays resolved.
    let text =
        std::fs::read_to_string(env.path(&format!("tickets/{}/{id}.toml", &id[..2]))).unwrap();
    assert_eq!(text.matches("kind = \"csat\"").count(), 2, "{text}");
    assert_eq!(json["status"], "resolved");
    // A closed ticket can still be rated.
    env.ok(&["close", &id]);
    env.ok(&["rate", &id, "4"]);
    assert_eq!(env.show(&id)["rating"]["score"], 4);
}

#[test]
fn a_customer_rates_by_mail_without_reopening_the_ticket() {
    let env = TestEnv::new();
    let first = "From: Bo Berg <bo@example.com>\nTo: support@example.com\n\
                 Subject: Printer\nMessage-ID: <m1@example.com>\n\nIt smokes.\n";
    let mail = env.path("m1.eml");
    std::fs::write(&mail, first).unwrap();
    let out = env.json(&["ingest", mail.to_str().unwrap(), "--format", "json"]);
    let id = out["results"][0]["ticket"].as_str().unwrap().to_owned();
    env.ok(&["reply", &id, "-m", "Unplug it", "--resolve"]);
    let rating = format!(
        "From: Bo Berg <bo@example.com>\nTo: support@example.com\n\
         Subject: Re: Printer [#{id}]\nMessage-ID: <m2@example.com>\n\
         In-Reply-To: <m1@example.com>\n\nRating: 5\nWorks again, thanks.\n\n\
         On Mon, Support wrote:\n> Unplug it\n"
    );
    let mail = env.path("m2.eml");
    std::fs::write(&mail, rating).unwrap();
    let out = env.json(&["ingest", mail.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out["results"][0]["outcome"], "appended", "{out}");
    let json = env.show(&id);
    assert_eq!(
        json["status"], "resolved",
        "a rating does not reopen: {json}"
    );
    assert_eq!(json["rating"]["score"], 5, "{json}");
    assert_eq!(json["rating"]["comment"], "Works again, thanks.", "{json}");
    // The same mail again is a duplicate.
    let out = env.json(&["ingest", mail.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out["results"][0]["outcome"], "duplicate", "{out}");
    // On a ticket never resolved, the line is just a message.
    let other = "From: Cy <cy@example.com>\nSubject: Hello\nMessage-ID: <c1@x>\n\nHi\n";
    std::fs::write(env.path("c1.eml"), other).unwrap();
    let out = env.json(&[
        "ingest",
        env.path("c1.eml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let cy = out["results"][0]["ticket"].as_str().unwrap().to_owned();
    let answer = "From: Cy <cy@example.com>\nSubject: Re: Hello\nMessage-ID: <c2@x>\n\
                  In-Reply-To: <c1@x>\n\nrating: 1\n";
    std::fs::write(env.path("c2.eml"), answer).unwrap();
    env.ok(&["ingest", env.path("c2.eml").to_str().unwrap()]);
    let json = env.show(&cy);
    assert!(json["rating"].is_null(), "{json}");
    assert_eq!(json["messages"].as_array().unwrap().len(), 2, "{json}");
}
