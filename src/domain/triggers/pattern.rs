//! The regular expressions of trigger conditions (`subject_matches`,
//! `body_matches`), made cheap for a change that evaluates many of them.
//!
//! A pattern is read (not compiled) when `tix.toml` loads, so one that
//! does not parse is refused with its line. From what it read, tix keeps
//! the strings any match must contain, in lower case (`(?i)\bvpn\b`:
//! "vpn"; `(refund|chargeback) \d+`: "refund" or "chargeback"). Testing a
//! text first looks for those in the text's lower case, and only a text
//! that has one compiles the pattern and runs it: most triggers match
//! most changes not at all, and compiling is what costs (a Unicode,
//! case-insensitive pattern takes a few hundred thousand instructions).
//! The engine is `regex-automata`'s, configured to compile cheaply (a
//! lazy DFA and a PikeVM; no literal prefilter, one-pass or full DFA:
//! texts here are short), and
//! runs in time linear in the text, so no pattern or message can stall a
//! change.
//!
//! The screen never hides a match: every character is lowered on its own
//! (`char::to_lowercase`, the same on both sides, without the context a
//! word-final sigma takes in `str::to_lowercase`), and a character class
//! counts as a fixed character only when all its members lower to the
//! same text.

use std::sync::OnceLock;

use regex_automata::meta::Regex;
use regex_syntax::hir::{Class, Hir, HirKind};

/// The largest compiled pattern, in bytes.
const SIZE_LIMIT: usize = 1 << 20;

/// Needles shorter than this screen out too little to be worth lowering
/// the text.
const MIN_NEEDLE: usize = 2;

/// A regular expression from `tix.toml`.
#[derive(Clone, Debug)]
pub struct Pattern {
    source: String,
    /// Every text the pattern matches holds, lowered, a string of each of
    /// these sets; empty when no such strings are known.
    needles: Vec<Vec<String>>,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    /// Reads `source`; refuses a pattern that does not parse.
    pub fn new(source: &str) -> Result<Self, String> {
        let hir = regex_syntax::Parser::new().parse(source).map_err(|e| {
            let text = e.to_string();
            let why = text
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty() && !l.chars().all(|c| c == '^' || c == ' '))
                .unwrap_or(&text);
            let why = why.strip_prefix("error: ").unwrap_or(why);
            format!("/{source}/ is not a regular expression: {why}")
        })?;
        let mut needles = required(&hir);
        needles.retain(|set| score(set) >= MIN_NEEDLE);
        Ok(Self {
            source: source.to_owned(),
            needles,
            compiled: OnceLock::new(),
        })
    }

    /// Tells whether the pattern matches somewhere in `text`; a pattern
    /// too large to compile matches nothing (`tix doctor` reports it).
    pub fn is_match(&self, text: &str) -> bool {
        self.is_match_in(text, &Lowered::default())
    }

    /// [`Self::is_match`], lowering `text` through `cache`, so that many
    /// patterns tested against one text lower it once.
    pub fn is_match_in(&self, text: &str, cache: &Lowered) -> bool {
        if !self.needles.is_empty() {
            let lowered = cache.get(text);
            let held = |set: &Vec<String>| set.iter().any(|n| lowered.contains(n.as_str()));
            if !self.needles.iter().all(held) {
                return false;
            }
        }
        self.compiled
            .get_or_init(|| self.compile().ok())
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }

    /// Compiles the pattern (`tix doctor` compiles every pattern): a lazy
    /// DFA and a PikeVM; no literal prefilter, one-pass or full DFA.
    pub fn compile(&self) -> Result<Regex, String> {
        let config = Regex::config()
            .nfa_size_limit(Some(SIZE_LIMIT))
            .auto_prefilter(false)
            .onepass(false)
            .backtrack(false)
            .dfa(false);
        Regex::builder()
            .configure(config)
            .build(&self.source)
            .map_err(|e| format!("/{}/ does not compile: {e}", self.source))
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl<'de> serde::Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let source = String::deserialize(d)?;
        Self::new(&source).map_err(serde::de::Error::custom)
    }
}

/// Texts lowered once for many patterns, by where they are in memory: the
/// texts of one evaluation (a subject, message bodies) are neither freed
/// nor changed while it runs.
#[derive(Debug, Default)]
pub struct Lowered(std::cell::RefCell<Vec<(usize, usize, std::rc::Rc<str>)>>);

impl Lowered {
    fn get(&self, text: &str) -> std::rc::Rc<str> {
        let key = (text.as_ptr() as usize, text.len());
        let mut seen = self.0.borrow_mut();
        if let Some((_, _, lowered)) = seen.iter().find(|(p, l, _)| (*p, *l) == key) {
            return lowered.clone();
        }
        let lowered: std::rc::Rc<str> = lower(text).into();
        seen.push((key.0, key.1, lowered.clone()));
        lowered
    }
}

/// Every character lowered on its own (ASCII text, most of it, the fast
/// way).
fn lower(text: &str) -> String {
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Sets of strings, lowered, such that every match contains a string of
/// each set; empty when nothing is known.
fn required(hir: &Hir) -> Vec<Vec<String>> {
    if let Some(exact) = exact(hir) {
        return vec![vec![exact]];
    }
    match hir.kind() {
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => required(&rep.sub),
        HirKind::Alternation(branches) => {
            // One set: the best set of each branch, joined.
            let mut joined = Vec::new();
            for branch in branches {
                let Some(best) = required(branch).into_iter().max_by_key(|set| score(set)) else {
                    return Vec::new();
                };
                joined.extend(best);
            }
            vec![joined]
        }
        HirKind::Concat(parts) => {
            // Runs of parts that match one fixed text join up; every run
            // and every set the other parts require is required.
            let mut sets = Vec::new();
            let mut run = String::new();
            for part in parts {
                if let Some(text) = exact(part) {
                    run.push_str(&text);
                    continue;
                }
                if !run.is_empty() {
                    sets.push(vec![std::mem::take(&mut run)]);
                }
                sets.extend(required(part));
            }
            if !run.is_empty() {
                sets.push(vec![run]);
            }
            sets
        }
        _ => Vec::new(),
    }
}

/// The length of the shortest string of a set: what a screen is worth.
fn score(set: &[String]) -> usize {
    set.iter().map(|s| s.chars().count()).min().unwrap_or(0)
}

/// The one text, lowered, that `hir` matches, if it matches exactly one
/// (up to case).
fn exact(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Literal(literal) => std::str::from_utf8(&literal.0).ok().map(lower),
        HirKind::Class(class) => one_char(class),
        HirKind::Capture(capture) => exact(&capture.sub),
        HirKind::Concat(parts) => parts.iter().map(exact).collect(),
        HirKind::Repetition(rep) if Some(rep.min) == rep.max && rep.min <= 16 => {
            Some(exact(&rep.sub)?.repeat(usize::try_from(rep.min).ok()?))
        }
        _ => None,
    }
}

/// A class whose members all lower to the same text (`[Kk\u{212A}]`, what
/// `(?i)k` becomes): that text.
fn one_char(class: &Class) -> Option<String> {
    let chars: Vec<char> = match class {
        Class::Unicode(c) => {
            let count: u32 = c
                .ranges()
                .iter()
                .map(|r| u32::from(r.end()) - u32::from(r.start()) + 1)
                .sum();
            if count > 4 {
                return None;
            }
            c.ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .collect()
        }
        Class::Bytes(c) => {
            let count: usize = c
                .ranges()
                .iter()
                .map(|r| usize::from(r.end() - r.start()) + 1)
                .sum();
            if count > 4 || c.ranges().iter().any(|r| !r.end().is_ascii()) {
                return None;
            }
            c.ranges()
                .iter()
                .flat_map(|r| r.start()..=r.end())
                .map(char::from)
                .collect()
        }
    };
    let first = lower(&chars.first()?.to_string());
    chars
        .iter()
        .all(|c| lower(&c.to_string()) == first)
        .then_some(first)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn needles(source: &str) -> Vec<Vec<String>> {
        Pattern::new(source).unwrap().needles
    }

    fn sets(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|set| set.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn the_strings_every_match_contains() {
        assert_eq!(needles(r"(?i)\bvpn\b"), sets(&[&["vpn"]]));
        assert_eq!(
            needles(r"(?i)(refund|chargeback) \d+"),
            sets(&[&["refund", "chargeback"]]),
            "a one-character run screens too little"
        );
        assert_eq!(
            needles(r"(?i)(refund|chargeback) 12"),
            sets(&[&["refund", "chargeback"], &[" 12"]]),
            "both are required"
        );
        assert_eq!(needles("Outage 12"), sets(&[&["outage 12"]]));
        assert_eq!(needles(r"(?i)(ab){2}c"), sets(&[&["ababc"]]));
        assert!(needles(r"\d{5}").is_empty(), "no fixed text");
        assert_eq!(
            needles("(?i)x?yz"),
            sets(&[&["yz"]]),
            "an optional part is left out"
        );
        assert!(needles("a|bc").is_empty(), "a branch too short to screen");
    }

    #[test]
    fn screened_patterns_still_match_what_they_should() {
        let p = Pattern::new(r"(?i)\b(down|outage)\b").unwrap();
        assert!(p.is_match("Site is DOWN since noon"));
        assert!(!p.is_match("Downloads are slow"), "word boundaries hold");
        let kelvin = Pattern::new("(?i)kelvin").unwrap();
        assert!(kelvin.is_match("\u{212A}ELVIN"), "the Kelvin sign is a k");
        let sigma = Pattern::new("(?i)ΟΔΟΣ").unwrap();
        assert!(sigma.is_match("οδος"));
        assert!(sigma.is_match("ΟΔΟΣ"), "a word-final sigma");
    }

    /// What the screen lets through is what the pattern matches: compared
    /// with the same engine without a screen, on texts made of the
    /// characters case folding treats specially.
    fn oracle(source: &str, text: &str) -> bool {
        Regex::new(source).unwrap().is_match(text)
    }

    const SOURCES: [&str; 12] = [
        r"(?i)\bvpn\b",
        r"(?i)(refund|chargeback) \d",
        "(?i)kelvin",
        "(?i)straße",
        "(?i)σς",
        "(?i)İstanbul",
        "Outage",
        r"(?i)a+b{2}",
        "(?i)(ab){2}",
        r"(?i)[sſ]t",
        r"x\b y",
        "(?i)ǅ",
    ];

    const TOKENS: [&str; 32] = [
        "vpn",
        "VPN",
        "Vpn",
        "refund 1",
        "CHARGEBACK 2",
        "\u{212A}elvin",
        "KELVIN",
        "STRASSE",
        "straße",
        "STRAẞE",
        "σς",
        "ΣΣ",
        "İstanbul",
        "istanbul",
        "İSTANBUL",
        "outage",
        "Outage",
        "aabb",
        "AB",
        "abab",
        "ſt",
        "st",
        "ST",
        "x y",
        "x",
        "y",
        "ǅ",
        "Ǆ",
        "ǆ",
        " ",
        "-",
        "9",
    ];

    proptest! {
        #[test]
        fn the_screen_never_hides_a_match(
            source in proptest::sample::select(SOURCES.to_vec()),
            tokens in proptest::collection::vec(proptest::sample::select(TOKENS.to_vec()), 0..8),
        ) {
            let text = tokens.concat();
            let pattern = Pattern::new(source).unwrap();
            prop_assert_eq!(pattern.is_match(&text), oracle(source, &text), "{} on {:?}", source, text);
        }
    }
}
