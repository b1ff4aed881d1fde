//! The filters of `tix list` as one value, and the views of `tix.toml`
//! that name one (`[[view]]`, docs/configuration.md).
//!
//! [`Filter`] is at once the keys of a view's `when` table and what the
//! list flags fill in: each key is its flag's name with `_` for `-`. A new
//! filter is one new field here, so a flag without a key, or a key without
//! a flag, does not compile (`to_flags` and `overridden_by` name every
//! field). This module says what a filter holds and how a view combines
//! with the flags given beside it; the config checks the names it uses
//! against the desk and the desk matches tickets. Pure: no clock, no
//! files.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{Priority, Ticket};

mod select;

pub use select::{Checked, KeyProblem, Selection};

/// A named filter: one `[[view]]` of `tix.toml`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// What `--view NAME` calls it.
    pub name: String,
    /// Which tickets it shows (its `when` table).
    pub filter: Filter,
}

/// Which tickets a listing shows. Every key given must hold; a list
/// matches any of its values, except `tag`, where the ticket needs every
/// tag, and `field`, where different keys must all hold. An empty filter
/// shows every ticket that is not closed.
///
/// Times are texts: an RFC 3339 time, a date, or a duration ago (`7d`),
/// read when the listing runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Filter {
    /// Only these statuses (`--status`).
    #[serde(deserialize_with = "one_or_many")]
    pub status: Vec<String>,
    /// Only these categories (`--category`).
    #[serde(deserialize_with = "one_or_many")]
    pub category: Vec<String>,
    /// Only these priorities (`--priority`).
    #[serde(deserialize_with = "priorities")]
    pub priority: Vec<Priority>,
    /// Only the tickets of this agent (`--assignee`); `none`: unassigned
    /// ones, `me`: the acting agent's.
    pub assignee: Option<String>,
    /// Only the acting agent's tickets (`--me`), as `assignee = "me"`.
    pub me: bool,
    /// Only this department (`--department`).
    pub department: Option<String>,
    /// Only tickets with every one of these tags (`--tag`).
    #[serde(deserialize_with = "one_or_many")]
    pub tag: Vec<String>,
    /// Only tickets whose customer name or address contains this text
    /// (`--customer`).
    pub customer: Option<String>,
    /// Custom field values (`--field KEY=VALUE`), compared as the field's
    /// type; an empty value: the field is not set. Values of one key match
    /// any; different keys must all hold.
    #[serde(deserialize_with = "field_values", serialize_with = "field_map")]
    pub field: Vec<(String, String)>,
    /// Only unassigned new or open tickets (`--pending`).
    pub pending: bool,
    /// Only tickets whose subject or messages contain this text, in any
    /// case (`--search`).
    pub search: Option<String>,
    /// Only tickets created at or after this time (`--created-after`).
    pub created_after: Option<String>,
    /// Only tickets created before this time (`--created-before`).
    pub created_before: Option<String>,
    /// Only tickets updated at or after this time (`--updated-after`).
    pub updated_after: Option<String>,
    /// Only tickets updated before this time (`--updated-before`).
    pub updated_before: Option<String>,
    /// Closed tickets too (`--all`).
    pub all: bool,
}

/// Whose tickets a filter keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignee<'a> {
    /// Unassigned ones (`none`).
    Nobody,
    /// The acting agent's (`me`, `--me`).
    Me,
    /// This agent's, by name or address.
    Agent(&'a str),
}

impl Filter {
    /// Returns whose tickets the filter keeps, if it says.
    pub fn assignee(&self) -> Option<Assignee<'_>> {
        if self.me {
            return Some(Assignee::Me);
        }
        self.assignee.as_deref().map(|who| match who {
            "none" => Assignee::Nobody,
            "me" => Assignee::Me,
            agent => Assignee::Agent(agent),
        })
    }

    /// Tells whether the filter needs to know who is acting (`me`).
    pub fn needs_me(&self) -> bool {
        self.assignee() == Some(Assignee::Me)
    }

    /// Returns this filter (a view's) without the keys that `flags` give
    /// a value of their own: a flag that takes one value replaces the
    /// view's, as a command-line option replaces a configured one in git.
    /// The other keys stay, and the flags' filter then narrows what is
    /// left (both must hold), except `all`, which either may turn on.
    pub fn overridden_by(&self, flags: &Self) -> Self {
        let Self {
            status: _,
            category: _,
            priority: _,
            assignee,
            me,
            department,
            tag: _,
            customer,
            field: _,
            pending: _,
            search,
            created_after,
            created_before,
            updated_after,
            updated_before,
            all: _,
        } = flags;
        let mut view = self.clone();
        if assignee.is_some() || *me {
            view.assignee = None;
            view.me = false;
        }
        let replaced = [
            (department, &mut view.department),
            (customer, &mut view.customer),
            (search, &mut view.search),
            (created_after, &mut view.created_after),
            (created_before, &mut view.created_before),
            (updated_after, &mut view.updated_after),
            (updated_before, &mut view.updated_before),
        ];
        for (flag, kept) in replaced {
            if flag.is_some() {
                *kept = None;
            }
        }
        view
    }

    /// Returns the `tix list` flags that give this filter, in the order of
    /// `tix list --help`: each flag with its value, if it takes one.
    pub fn to_flags(&self) -> Vec<(&'static str, Option<String>)> {
        let Self {
            status,
            category,
            priority,
            assignee,
            me,
            department,
            tag,
            customer,
            field,
            pending,
            search,
            created_after,
            created_before,
            updated_after,
            updated_before,
            all,
        } = self;
        let mut flags = Vec::new();
        let mut list = |flag, values: Vec<&str>| {
            if !values.is_empty() {
                flags.push((flag, Some(values.join(","))));
            }
        };
        list("--status", status.iter().map(String::as_str).collect());
        list("--category", category.iter().map(String::as_str).collect());
        list("--priority", priority.iter().map(|p| p.as_str()).collect());
        one_more(&mut flags, "--assignee", assignee);
        if *me {
            flags.push(("--me", None));
        }
        one_more(&mut flags, "--department", department);
        flags.extend(tag.iter().map(|t| ("--tag", Some(t.clone()))));
        one_more(&mut flags, "--customer", customer);
        flags.extend(
            field
                .iter()
                .map(|(k, v)| ("--field", Some(format!("{k}={v}")))),
        );
        if *pending {
            flags.push(("--pending", None));
        }
        for (flag, value) in [
            ("--search", search),
            ("--created-after", created_after),
            ("--created-before", created_before),
            ("--updated-after", updated_after),
            ("--updated-before", updated_before),
        ] {
            one_more(&mut flags, flag, value);
        }
        if *all {
            flags.push(("--all", None));
        }
        flags
    }
}

/// Appends `flag` with its value, when it has one.
fn one_more(
    flags: &mut Vec<(&'static str, Option<String>)>,
    flag: &'static str,
    value: &Option<String>,
) {
    if let Some(value) = value {
        flags.push((flag, Some(value.clone())));
    }
}

/// Tells whether a ticket's subject, one of its messages or its import
/// source contains `needle`, which is lowercase, in any case (`--search`).
pub fn mentions(ticket: &Ticket, needle: &str) -> bool {
    ticket.subject.to_lowercase().contains(needle)
        // An imported ticket's old id (`zendesk:4711`).
        || ticket
            .source
            .as_deref()
            .is_some_and(|s| s.to_lowercase().contains(needle))
        || ticket.events.iter().any(|e| {
            e.body
                .as_deref()
                .is_some_and(|b| b.to_lowercase().contains(needle))
        })
}

/// One value or a list of values (`status = "new"` or
/// `status = ["new", "open"]`), as the repeatable flags take.
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn into_vec(self) -> Vec<T> {
        match self {
            Self::One(value) => vec![value],
            Self::Many(values) => values,
        }
    }
}

fn one_or_many<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    Ok(OneOrMany::deserialize(de)?.into_vec())
}

/// Priorities by name, one or a list, with the message `--priority`
/// gives for a bad one. The names are read inside the visitor, so the
/// error carries the place of the value.
fn priorities<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<Priority>, D::Error> {
    struct Priorities;
    impl<'de> Visitor<'de> for Priorities {
        type Value = Vec<Priority>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a priority or a list of priorities")
        }

        fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
            name.parse().map(|p| vec![p]).map_err(E::custom)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut priorities = Vec::new();
            while let Some(name) = seq.next_element::<String>()? {
                priorities.push(name.parse().map_err(A::Error::custom)?);
            }
            Ok(priorities)
        }
    }
    de.deserialize_any(Priorities)
}

/// A field value as written in TOML: text, a number or true/false.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Bool(bool),
    Integer(i64),
    Float(f64),
}

/// `field = { plan = "pro", seats = [1, 2] }` as `KEY=VALUE` pairs, in
/// key order, each value as the text `--field` would give.
fn field_values<'de, D: Deserializer<'de>>(de: D) -> Result<Vec<(String, String)>, D::Error> {
    let map = BTreeMap::<String, OneOrMany<Scalar>>::deserialize(de)?;
    Ok(map
        .into_iter()
        .flat_map(|(key, values)| {
            values.into_vec().into_iter().map(move |value| {
                let text = match value {
                    Scalar::Text(text) => text,
                    Scalar::Bool(b) => b.to_string(),
                    Scalar::Integer(n) => n.to_string(),
                    Scalar::Float(x) => x.to_string(),
                };
                (key.clone(), text)
            })
        })
        .collect())
}

/// `KEY=VALUE` pairs as a table of keys, each with its list of values.
fn field_map<S: Serializer>(pairs: &[(String, String)], out: S) -> Result<S::Ok, S::Error> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (key, value) in pairs {
        map.entry(key).or_default().push(value);
    }
    map.serialize(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn when(text: &str) -> Result<Filter, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_key_takes_one_value_or_a_list_and_fields_take_typed_values() {
        let filter = when(
            "status = \"new\"\ncategory = [\"open\", \"waiting\"]\npriority = [\"high\", \"urgent\"]\ntag = \"vip\"\nfield = { plan = \"pro\", paid = true, seats = [1, 2], rate = 4.5 }\n",
        )
        .unwrap();
        assert_eq!(filter.status, ["new"]);
        assert_eq!(filter.category, ["open", "waiting"]);
        assert_eq!(filter.priority, [Priority::High, Priority::Urgent]);
        assert_eq!(filter.tag, ["vip"]);
        let pairs: Vec<(&str, &str)> = filter
            .field
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("paid", "true"),
                ("plan", "pro"),
                ("rate", "4.5"),
                ("seats", "1"),
                ("seats", "2")
            ]
        );
    }

    #[test]
    fn a_bad_priority_gets_the_message_of_the_flag() {
        let err = when("priority = [\"high\", \"meh\"]\n").unwrap_err();
        assert_eq!(
            err,
            "unknown priority 'meh': use low, normal, high or urgent"
        );
    }

    #[test]
    fn an_unknown_key_lists_every_key_each_named_as_its_flag() {
        let err = when("tags = [\"vip\"]\n").unwrap_err();
        let keys: Vec<String> = Filter::default()
            .with_every_key()
            .to_flags()
            .iter()
            .map(|(flag, _)| flag.trim_start_matches("--").replace('-', "_"))
            .collect();
        let listed = format!("`{}`", keys.join("`, `"));
        assert!(err.contains(&listed), "{err}\n{listed}");
    }

    #[test]
    fn me_and_assignee_me_are_one_thing_and_none_means_unassigned() {
        let me = Filter {
            me: true,
            ..Filter::default()
        };
        let assignee = |who: &str| Filter {
            assignee: Some(who.to_owned()),
            ..Filter::default()
        };
        assert_eq!(me.assignee(), Some(Assignee::Me));
        assert_eq!(assignee("me").assignee(), Some(Assignee::Me));
        assert!(assignee("me").needs_me() && me.needs_me());
        assert_eq!(assignee("none").assignee(), Some(Assignee::Nobody));
        assert_eq!(assignee("kim").assignee(), Some(Assignee::Agent("kim")));
        assert!(!assignee("kim").needs_me());
        assert_eq!(Filter::default().assignee(), None);
    }

    #[test]
    fn a_flag_of_one_value_replaces_the_views_and_lists_stay_to_narrow() {
        let view = when(
            "status = [\"new\", \"open\"]\nassignee = \"me\"\ndepartment = \"it\"\ncustomer = \"bank\"\ncreated_after = \"7d\"\ntag = \"vip\"\npending = true\n",
        )
        .unwrap();
        let flags = Filter {
            status: vec!["open".to_owned()],
            assignee: Some("kim".to_owned()),
            department: Some("billing".to_owned()),
            tag: vec!["hw".to_owned()],
            ..Filter::default()
        };
        let left = view.overridden_by(&flags);
        assert_eq!(left.status, ["new", "open"], "lists stay: the flags narrow");
        assert_eq!(left.tag, ["vip"]);
        assert_eq!(left.assignee, None);
        assert_eq!(left.department, None);
        assert_eq!(left.customer.as_deref(), Some("bank"));
        assert_eq!(left.created_after.as_deref(), Some("7d"));
        assert!(left.pending);
        // --me replaces assignee, and --assignee replaces me = true.
        let mine = Filter {
            me: true,
            ..Filter::default()
        };
        assert_eq!(view.overridden_by(&mine).assignee, None);
        assert!(!mine.overridden_by(&flags).me);
        // No flags: the view whole.
        assert_eq!(view.overridden_by(&Filter::default()), view);
    }

    #[test]
    fn every_key_has_a_flag_and_flags_read_back_as_the_same_keys() {
        let every = Filter::default().with_every_key();
        let flags = every.to_flags();
        let text: Vec<String> = flags
            .iter()
            .map(|(flag, value)| match value {
                Some(value) => format!("{flag} {value}"),
                None => (*flag).to_owned(),
            })
            .collect();
        assert_eq!(
            text.join(" "),
            "--status new --category open --priority high --assignee kim --me --department it \
             --tag vip --customer bank --field plan=pro --pending --search printer \
             --created-after 2025-03-01 --created-before 30d --updated-after 7d \
             --updated-before 2025-03-04T12:00:00Z --all"
        );
        // The JSON form names the keys as tix.toml does, and reads back.
        let json = serde_json::to_value(&every).unwrap();
        let back: Filter = serde_json::from_value(json).unwrap();
        assert_eq!(back, every);
        // Every key is there, set or not, as scripts expect of JSON.
        assert_eq!(
            serde_json::to_value(Filter::default()).unwrap(),
            serde_json::json!({
                "status": [], "category": [], "priority": [], "assignee": null,
                "me": false, "department": null, "tag": [], "customer": null,
                "field": {}, "pending": false, "search": null, "created_after": null,
                "created_before": null, "updated_after": null, "updated_before": null,
                "all": false
            })
        );
    }

    #[test]
    fn a_search_finds_the_subject_and_every_message_in_any_case() {
        use crate::domain::change::{self, Actor, NewTicket};
        use crate::domain::lifecycle::Statuses;
        use crate::model::Role;
        let statuses = Statuses::builtin();
        let new = NewTicket {
            subject: "Printer on FIRE".into(),
            body: Some("Please REFUND me".into()),
            ..NewTicket::default()
        };
        let actor = Actor {
            id: "ana",
            role: Role::Agent,
            now: crate::model::Timestamp::EPOCH,
            statuses: &statuses,
        };
        let ticket = change::create("k3x9p2".parse().unwrap(), new, &actor)
            .unwrap()
            .0;
        assert!(mentions(&ticket, "fire"));
        assert!(mentions(&ticket, "refund"));
        assert!(!mentions(&ticket, "vpn"));
    }

    impl Filter {
        /// This filter with every key set (a test's full filter).
        fn with_every_key(self) -> Self {
            let text = |t: &str| Some(t.to_owned());
            Self {
                status: vec!["new".to_owned()],
                category: vec!["open".to_owned()],
                priority: vec![Priority::High],
                assignee: text("kim"),
                me: true,
                department: text("it"),
                tag: vec!["vip".to_owned()],
                customer: text("bank"),
                field: vec![("plan".to_owned(), "pro".to_owned())],
                pending: true,
                search: text("printer"),
                created_after: text("2025-03-01"),
                created_before: text("30d"),
                updated_after: text("7d"),
                updated_before: text("2025-03-04T12:00:00Z"),
                all: true,
            }
        }
    }
}
