//! What both benches write: generated words for subjects and bodies.

/// The words generated text is made of.
pub(crate) const WORDS: &[&str] = &[
    "printer",
    "invoice",
    "login",
    "password",
    "refund",
    "shipping",
    "broken",
    "error",
    "account",
    "upgrade",
    "please",
    "help",
    "urgent",
    "order",
    "delivery",
    "screen",
    "crash",
    "update",
    "billing",
    "export",
    "the",
    "a",
    "my",
    "is",
    "not",
    "working",
    "since",
    "yesterday",
    "and",
    "again",
    "when",
    "I",
    "try",
    "to",
];

/// A sentence of `min` to `max` words.
pub(crate) fn sentence(rng: &mut fastrand::Rng, min: usize, max: usize) -> String {
    let words: Vec<&str> = (0..rng.usize(min..max))
        .map(|_| WORDS[rng.usize(..WORDS.len())])
        .collect();
    words.join(" ")
}

/// A paragraph of one to seven sentences, a line each.
pub(crate) fn paragraph(rng: &mut fastrand::Rng) -> String {
    let lines: Vec<String> = (0..rng.usize(1..8)).map(|_| sentence(rng, 5, 20)).collect();
    lines.join("\n") + "\n"
}
