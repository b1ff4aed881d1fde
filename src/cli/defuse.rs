//! Text from customers and from other clones, made harmless for a
//! terminal: every human output goes through here (JSON and TOML stay
//! exact).

/// A ticket's text for a table cell: control characters (escape codes
/// among them) and the bidirectional overrides shown as `�`, so the text
/// a customer wrote cannot restyle or reorder the terminal's lines.
pub(crate) fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    cell_into(text, &mut out);
    out
}

/// Appends `text` as [`cell`] makes it.
pub(crate) fn cell_into(text: &str, out: &mut String) {
    if !may_be_hostile(text) {
        return out.push_str(text);
    }
    out.extend(
        text.chars()
            .map(|c| if is_hostile(c) { '\u{fffd}' } else { c }),
    );
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
    // Eight bytes at a time, as a number: a word of printable ASCII (most
    // text, and every cell of a listing) passes with a few operations.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut words = text.as_bytes().chunks_exact(8);
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            return may_be_hostile_bytes(text.as_bytes());
        };
        let x = u64::from_le_bytes(word);
        // A byte of 0x80 or more; one below 0x20; one equal to 0x7f.
        let below = x.wrapping_sub(0x20 * ONES) & !x & HIGH;
        let del = x ^ (0x7f * ONES);
        let del = del.wrapping_sub(ONES) & !del & HIGH;
        if (x & HIGH) | below | del != 0 {
            return may_be_hostile_bytes(text.as_bytes());
        }
    }
    may_be_hostile_bytes(words.remainder())
}

/// [`may_be_hostile`], a byte at a time.
fn may_be_hostile_bytes(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .any(|&b| b < 0x20 || b == 0x7f || b == 0xc2 || b == 0xe2)
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

    proptest::proptest! {
        #[test]
        fn the_word_check_agrees_with_the_byte_check(text in "(?s).{0,40}", ascii in "[ -~]{0,40}") {
            for text in [text.as_str(), ascii.as_str()] {
                proptest::prop_assert_eq!(may_be_hostile(text), may_be_hostile_bytes(text.as_bytes()));
            }
        }
    }

    #[test]
    fn every_byte_is_checked_in_every_place_of_a_word() {
        for byte in 0..=0x7fu8 {
            for at in 0..17 {
                let mut text = vec![b'a'; 17];
                text[at] = byte;
                let text = String::from_utf8(text).unwrap();
                assert_eq!(
                    may_be_hostile(&text),
                    byte < 0x20 || byte == 0x7f,
                    "{byte} at {at}"
                );
            }
        }
    }

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
