//! Text from customers and from other clones, made harmless for a
//! terminal: every human output goes through here (JSON and TOML stay
//! exact).

/// A ticket's text for a table cell: control characters (escape codes
/// among them) and the bidirectional overrides shown as `�`, so the text
/// a customer wrote cannot restyle or reorder the terminal's lines.
pub(crate) fn cell(text: &str) -> String {
    text.chars()
        .map(|c| if is_hostile(c) { '\u{fffd}' } else { c })
        .collect()
}

/// A ticket's text of several lines (a message body) for the terminal:
/// as [`cell`], but line breaks and tabs stay.
pub(crate) fn text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if is_hostile(c) && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

/// Control characters (escape codes, carriage returns among them) and the
/// bidirectional embeddings, overrides and isolates, which can make a
/// line read other than it is.
pub(crate) fn is_hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}
