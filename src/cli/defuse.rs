//! Text from customers and from other clones, made harmless for a
//! terminal: every human output goes through here (JSON and TOML stay
//! exact).

/// A ticket's text for a table cell: control characters (escape codes
/// among them) and the bidirectional overrides shown as `�`, so the text
/// a customer wrote cannot restyle or reorder the terminal's lines.
pub(crate) fn cell(text: &str) -> String {
    if !may_be_hostile(text) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| if is_hostile(c) { '\u{fffd}' } else { c })
        .collect()
}

/// A ticket's text of several lines (a message body) for the terminal:
/// as [`cell`], but line breaks and tabs stay.
pub(crate) fn text(text: &str) -> String {
    if !may_be_hostile(text) {
        return text.to_owned();
    }
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

/// Tells whether `text` may hold a hostile character, by its bytes: the C0
/// controls and DEL are single bytes, the C1 controls start with `0xC2`,
/// the bidirectional controls with `0xE2`. Text without any of them (most
/// of it) is copied as it is.
fn may_be_hostile(text: &str) -> bool {
    text.bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xe2)
}

/// Control characters (escape codes, carriage returns among them) and the
/// bidirectional embeddings, overrides and isolates, which can make a
/// line read other than it is.
pub(crate) fn is_hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_lose_every_hostile_character_and_keep_the_rest() {
        assert_eq!(cell("plain text"), "plain text");
        assert_eq!(cell("café — “x” €"), "café — “x” €");
        assert_eq!(cell("a\u{1b}[31mb"), "a\u{fffd}[31mb");
        assert_eq!(cell("a\u{85}b\u{7f}"), "a\u{fffd}b\u{fffd}");
        assert_eq!(cell("a\u{202e}b\u{2067}c"), "a\u{fffd}b\u{fffd}c");
        assert_eq!(text("one\n\ttwo\r"), "one\n\ttwo\u{fffd}");
    }
}
