//! Reads the TOML of `tix.toml` one table at a time, so that one bad value
//! hides nothing else.
//!
//! The text is first parsed into a spanned TOML tree; only a syntax error
//! stops there. Each section, and each table of an array of tables, is then
//! deserialized on its own: a failure becomes one problem that names the
//! table (`[[field]] 'order'`), the key and the line, and reading goes on
//! with the next table. This module knows TOML and serde, not what the
//! sections mean: `config.rs` says which sections exist and checks them.

use std::ops::Range;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue, ValueDeserializer};

use super::{ConfigError, ConfigProblem};
use crate::model::line_at;

/// One table of an array of tables (`[[field]]`).
pub(super) struct Element<T> {
    /// Its contents.
    pub(super) value: T,
    /// Where it starts (the `[[field]]` header, or the inline table).
    pub(super) span: Range<usize>,
}

/// The problems found so far, with the text their spans point into.
pub(super) struct Reader<'t> {
    text: &'t str,
    problems: Vec<ConfigProblem>,
}

impl<'t> Reader<'t> {
    /// Parses the text into a spanned tree; a syntax error is the only
    /// problem that stops everything.
    pub(super) fn open(text: &'t str) -> Result<(Self, DeTable<'t>), ConfigError> {
        let root = DeTable::parse(text).map_err(|err| ConfigError {
            problems: vec![ConfigProblem {
                message: err.message().trim().to_owned(),
                line: err.span().map(|span| line_at(text, span.start)),
            }],
        })?;
        let reader = Self {
            text,
            problems: Vec::new(),
        };
        Ok((reader, root.into_inner()))
    }

    /// Records a problem at `span`.
    pub(super) fn problem(&mut self, message: String, span: Range<usize>) {
        self.problems.push(ConfigProblem {
            message,
            line: Some(line_at(self.text, span.start)),
        });
    }

    /// Returns every problem, ordered by line.
    pub(super) fn into_problems(self) -> Vec<ConfigProblem> {
        let mut problems = self.problems;
        problems.sort_by_key(|p| p.line.unwrap_or(0));
        problems
    }

    /// Deserializes one table; `context` names it in messages (`[desk]`).
    ///
    /// serde stops at the first bad key of a table, so after each problem
    /// the key is taken out and the table read again: every unknown key and
    /// every bad value of the table is reported. The table counts as read
    /// only when its sole problems were unknown keys (taking those out
    /// changes nothing it means).
    pub(super) fn table<T: DeserializeOwned>(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        context: &str,
    ) -> Option<T> {
        if !value.get_ref().is_table() {
            self.problem(format!("{context} must be a table"), value.span());
            return None;
        }
        let mut value = value.clone();
        let mut removed: Vec<Vec<Step>> = Vec::new();
        let mut only_unknown_keys = true;
        // Each round takes a key out, so the loop ends; the bound is a guard.
        for _ in 0..MAX_PROBLEMS_PER_TABLE {
            let err = match T::deserialize(ValueDeserializer::from(value.clone())) {
                Ok(read) => return only_unknown_keys.then_some(read),
                Err(err) => err,
            };
            let span = err.span().unwrap_or_else(|| value.span());
            let mut path = Vec::new();
            key_path(value.get_ref(), span.start, &mut path);
            let problem = describe(err.message(), &mut path, context);
            only_unknown_keys &= problem.unknown_key;
            if problem.missing {
                // Unless the key was taken out for an earlier problem, say
                // it is missing; then take out the table that misses it.
                if !removed.contains(&path) {
                    self.problem(problem.message, span);
                }
                path.pop();
            } else {
                self.problem(problem.message, span);
            }
            if path.is_empty() || !remove(value.get_mut(), &path) {
                return None;
            }
            removed.push(path);
        }
        None
    }

    /// Deserializes every table of the array of tables `[[section]]`, each
    /// on its own. Messages name a table by its `name_key` (`[[field]]
    /// 'order'`), else by its position (`[[hook]] #2`). Returns the tables
    /// that were read, and the raw contents of those that were not (their
    /// names still count as defined, so nothing is reported twice).
    pub(super) fn array<T: DeserializeOwned>(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        section: &str,
        name_key: Option<&str>,
    ) -> (Vec<Element<T>>, Vec<toml::Table>) {
        let Some(items) = value.get_ref().as_array() else {
            self.problem(
                format!("`{section}` must be a list of tables, written [[{section}]]"),
                value.span(),
            );
            return (Vec::new(), Vec::new());
        };
        let mut read = Vec::new();
        let mut broken = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let name = name_key
                .and_then(|key| item.get_ref().as_table()?.get(key))
                .and_then(|name| name.get_ref().as_str());
            let context = match name {
                Some(name) => format!("[[{section}]] '{name}'"),
                None => format!("[[{section}]] #{}", i + 1),
            };
            match self.table::<T>(item, &context) {
                Some(value) => read.push(Element {
                    value,
                    span: item.span(),
                }),
                None => broken
                    .extend(toml::Table::deserialize(ValueDeserializer::from(item.clone())).ok()),
            }
        }
        (read, broken)
    }
}

/// Returns where the value at `path` (keys from the top) is written.
pub(super) fn span_at(root: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let mut value = root.get(*first)?;
    for key in rest {
        value = value.get_ref().as_table()?.get(*key)?;
    }
    Some(value.span())
}

/// At most this many problems are reported for one table.
const MAX_PROBLEMS_PER_TABLE: usize = 100;

/// One step from a table to a value inside it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// A key of a table.
    Key(String),
    /// An item of an array.
    Index(usize),
}

/// A serde error, reworded.
struct Described {
    message: String,
    /// The key does not belong in its table.
    unknown_key: bool,
    /// A required key is absent.
    missing: bool,
}

/// Turns a serde message about a table into one that names the table and
/// the key (serde's own messages name neither). `path` leads to the value
/// the error points at; for an unknown key it is left leading to the key,
/// for a missing key it is extended to it.
fn describe(message: &str, path: &mut Vec<Step>, context: &str) -> Described {
    let message = message.trim();
    let said = |message: String| Described {
        message,
        unknown_key: false,
        missing: false,
    };
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        // The error points at the unknown key itself: the place is its parent.
        let parent = match path.last() {
            Some(Step::Key(last)) if last == key => &path[..path.len() - 1],
            _ => &path[..],
        };
        let place = if keys(parent).is_empty() {
            context.to_owned()
        } else {
            format!("`{}` of {context}", keys(parent))
        };
        let allowed = expected
            .strip_prefix(", expected ")
            .map(|list| format!("; use {}", plain_list(list)))
            .unwrap_or_default();
        return Described {
            message: format!("unknown key `{key}` in {place}{allowed}"),
            unknown_key: true,
            missing: false,
        };
    }
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((key, _)) = rest.split_once('`')
    {
        path.push(Step::Key(key.to_owned()));
        return Described {
            message: format!("{context}: missing key '{}'", keys(path)),
            unknown_key: false,
            missing: true,
        };
    }
    let what = reword(message);
    if keys(path).is_empty() {
        said(format!("{context}: {what}"))
    } else {
        said(format!("{context}: key '{}': {what}", keys(path)))
    }
}

/// The keys of a path, dotted (`when.idle_since.min`).
fn keys(path: &[Step]) -> String {
    let names: Vec<&str> = path
        .iter()
        .filter_map(|step| match step {
            Step::Key(key) => Some(key.as_str()),
            Step::Index(_) => None,
        })
        .collect();
    names.join(".")
}

/// Finds the steps leading to byte `at` inside `value`.
fn key_path(value: &DeValue<'_>, at: usize, path: &mut Vec<Step>) {
    match value {
        DeValue::Table(table) => {
            for (key, value) in table {
                if key.span().contains(&at) {
                    path.push(Step::Key(key.get_ref().to_string()));
                    return;
                }
                if holds(value, at) {
                    path.push(Step::Key(key.get_ref().to_string()));
                    key_path(value.get_ref(), at, path);
                    return;
                }
            }
        }
        DeValue::Array(items) => {
            if let Some(i) = items.iter().position(|item| holds(item, at)) {
                path.push(Step::Index(i));
                key_path(items[i].get_ref(), at, path);
            }
        }
        _ => {}
    }
}

/// Tells whether byte `at` lies inside `value`: in its span, or, for a
/// table written under a header of its own (`[view.when]`, whose span is
/// the header's), in one of its keys or values.
fn holds(value: &Spanned<DeValue<'_>>, at: usize) -> bool {
    value.span().contains(&at)
        || value.span().start == at
        || match value.get_ref() {
            DeValue::Table(table) => table
                .iter()
                .any(|(key, value)| key.span().contains(&at) || holds(value, at)),
            _ => false,
        }
}

/// Takes the value at `path` out of `value`; tells whether it was there.
fn remove(value: &mut DeValue<'_>, path: &[Step]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut value = value;
    for step in parents {
        let next = match (step, value) {
            (Step::Key(key), DeValue::Table(table)) => table.get_mut(key.as_str()),
            (Step::Index(i), DeValue::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        value = next.get_mut();
    }
    match (last, value) {
        (Step::Key(key), DeValue::Table(table)) => table.remove(key.as_str()).is_some(),
        (Step::Index(i), DeValue::Array(items)) if *i < items.len() => {
            let mut kept = DeArray::new();
            for (j, item) in items.iter().enumerate() {
                if j != *i {
                    kept.push(item.clone());
                }
            }
            *items = kept;
            true
        }
        _ => false,
    }
}

/// Rewords serde's type and value messages for people editing a file.
fn reword(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.rsplit_once(", expected ")
        {
            return format!(
                "expected {}, found {}",
                expected_text(expected),
                found_text(found)
            );
        }
    }
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((value, expected)) = rest.split_once('`')
    {
        let allowed = expected
            .strip_prefix(", expected ")
            .map(|list| format!("; use {}", plain_list(list)))
            .unwrap_or_default();
        return format!("unknown value \"{value}\"{allowed}");
    }
    if message.starts_with("data did not match any variant of untagged enum OneOrMany") {
        return "expected a string or a list of strings".to_owned();
    }
    if message.starts_with("data did not match any variant of untagged enum") {
        return "the value has the wrong type".to_owned();
    }
    message.to_owned()
}

fn expected_text(expected: &str) -> String {
    match expected {
        "a boolean" => "true or false".to_owned(),
        "a sequence" => "a list [...]".to_owned(),
        "a map" => "a table".to_owned(),
        "usize" | "u8" | "u16" | "u32" | "u64" => "a whole number, 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" => "a whole number".to_owned(),
        "f32" | "f64" => "a number".to_owned(),
        e if e.starts_with("struct ") => "a table".to_owned(),
        e => plain_list(e),
    }
}

fn found_text(found: &str) -> String {
    match found {
        "map" => "a table".to_owned(),
        "sequence" => "a list".to_owned(),
        f => f.replace('`', ""),
    }
}

/// "`a`, `b` or `c`" / "one of `a`, `b`, `c`" → "a, b, c".
fn plain_list(list: &str) -> String {
    list.trim_start_matches("one of ").replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        name: String,
        #[serde(default)]
        flag: bool,
        #[serde(default)]
        inner: Inner,
    }

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        #[serde(default)]
        tags: Vec<String>,
    }

    fn read(text: &str) -> (usize, Vec<ConfigProblem>) {
        let (mut reader, root) = Reader::open(text).unwrap();
        let (items, _) = reader.array::<Item>(root.get("item").unwrap(), "item", Some("name"));
        (items.len(), reader.into_problems())
    }

    #[test]
    fn every_broken_table_is_one_problem_naming_table_key_and_line() {
        let text = "[[item]]\nname = \"a\"\nflag = \"yes\"\n\n[[item]]\nname = \"b\"\ncolour = 1\n\n[[item]]\nflag = true\n\n[[item]]\nname = \"d\"\ninner = { tags = \"x\" }\n\n[[item]]\nname = \"e\"\ninner = { tagz = [] }\n\n[[item]]\nname = \"ok\"\n";
        let (read, problems) = read(text);
        // 'b' and 'e' only have an unknown key: taking it out leaves a good table.
        assert_eq!(read, 3, "{problems:?}");
        let lines: Vec<_> = problems.iter().map(|p| p.line.unwrap()).collect();
        assert_eq!(lines, [3, 7, 9, 14, 18], "{problems:?}");
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "[[item]] 'a': key 'flag': expected true or false, found string \"yes\"",
                "unknown key `colour` in [[item]] 'b'; use name, flag, inner",
                "[[item]] #3: missing key 'name'",
                "[[item]] 'd': key 'inner.tags': expected a list [...], found string \"x\"",
                "unknown key `tagz` in `inner` of [[item]] 'e'; use tags",
            ]
        );
    }

    #[test]
    fn every_bad_key_of_one_table_is_reported() {
        let text =
            "[[item]]\nname = 1\ncolour = 1\nflag = \"no\"\ninner = { tags = [1], size = 2 }\n";
        let (read, problems) = read(text);
        assert_eq!(read, 0);
        let messages: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "[[item]] #1: key 'name': expected a string, found integer 1",
                "unknown key `colour` in [[item]] #1; use name, flag, inner",
                "[[item]] #1: key 'flag': expected true or false, found string \"no\"",
                "unknown key `size` in `inner` of [[item]] #1; use tags",
                "[[item]] #1: key 'inner.tags': expected a string, found integer 1",
            ],
            "{problems:?}"
        );
    }

    #[test]
    fn a_key_of_a_table_under_its_own_header_is_named_and_taken_out() {
        // `[item.inner]` spans only its header: the key is found by its own
        // place, and taking the unknown one out leaves a good table.
        let text = "[[item]]\nname = \"a\"\n[item.inner]\ntags = [\"x\"]\ntagz = 1\n\n[[item]]\nname = \"b\"\n[item.inner]\ntags = \"x\"\n";
        let (read, problems) = read(text);
        assert_eq!(read, 1, "{problems:?}");
        let messages: Vec<_> = problems
            .iter()
            .map(|p| (p.line.unwrap(), p.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (5, "unknown key `tagz` in `inner` of [[item]] 'a'; use tags"),
                (
                    10,
                    "[[item]] 'b': key 'inner.tags': expected a list [...], found string \"x\""
                ),
            ]
        );
    }

    #[test]
    fn only_a_syntax_error_stops_reading() {
        let err = Reader::open("a = 1\n[b\n").err().unwrap();
        assert_eq!(err.problems.len(), 1);
        assert_eq!(err.problems[0].line, Some(2));
    }
}
