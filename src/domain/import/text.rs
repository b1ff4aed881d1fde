//! Text from another helpdesk made safe to keep: its customers wrote it,
//! and an export may hold anything (control characters, HTML, a NUL).

/// The longest subject kept, in characters.
pub const SUBJECT_LIMIT: usize = 500;

/// One line of at most `limit` characters: line breaks, tabs and other
/// control characters become spaces, runs of spaces one, the ends trimmed.
pub fn one_line(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit));
    let mut space = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(c);
        if out.chars().count() >= limit {
            break;
        }
    }
    out
}

/// A message body: line ends made `\n`, control characters other than
/// line breaks and tabs removed, trailing space of the whole trimmed.
pub fn body(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    let cleaned: String = text
        .chars()
        .map(|c| if c == '\r' { '\n' } else { c })
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    cleaned.trim_end().trim_start_matches('\n').to_owned()
}

/// The text of an HTML body, for an export that gives a message only as
/// HTML: tags dropped (scripts, styles and comments with their content),
/// entities decoded, paragraphs and `<br>` as line breaks.
pub fn from_html(html: &str) -> String {
    body(&mail_parser::decoders::html::html_to_text(html))
}

/// Tells whether a text is HTML: it holds a tag of HTML's common
/// elements (`<p>`, `</div>`, `<br/>`, `<a href=...>`), not just angle
/// brackets (`<ana@example.com>`, `a<b and c>d`).
pub fn looks_like_html(text: &str) -> bool {
    const TAGS: [&str; 27] = [
        "a",
        "b",
        "blockquote",
        "body",
        "br",
        "div",
        "em",
        "font",
        "h1",
        "h2",
        "h3",
        "head",
        "hr",
        "html",
        "i",
        "img",
        "li",
        "ol",
        "p",
        "pre",
        "span",
        "strong",
        "style",
        "table",
        "td",
        "tr",
        "ul",
    ];
    text.match_indices('<').any(|(at, _)| {
        let rest = text[at + 1..].strip_prefix('/').unwrap_or(&text[at + 1..]);
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let (name, after) = rest.split_at(name_len);
        if !TAGS.contains(&name.to_ascii_lowercase().as_str()) {
            return false;
        }
        // What follows the name up to `>`: nothing, a `/`, or attributes
        // (`href="..."`), not words (`<b and c>`).
        let Some(end) = after.find('>') else {
            return false;
        };
        let inside = after[..end].trim();
        inside.is_empty()
            || inside == "/"
            || (after.starts_with(char::is_whitespace) && inside.contains('='))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_folds_breaks_and_controls_and_stops_at_the_limit() {
        assert_eq!(
            one_line("  Printer\r\n on\tfire\u{0} ", 100),
            "Printer on fire"
        );
        assert_eq!(one_line("abcdef", 3), "abc");
        assert_eq!(one_line("\n\n", 10), "");
        assert_eq!(one_line("日本語 テキスト", 100), "日本語 テキスト");
    }

    #[test]
    fn bodies_keep_lines_and_lose_control_characters() {
        assert_eq!(body("Hi\r\nthere\u{7}\u{0}\n\n"), "Hi\nthere");
        assert_eq!(body("a\rb\tc"), "a\nb\tc");
    }

    #[test]
    fn html_is_told_from_angle_brackets() {
        assert!(looks_like_html("<p>Hi</p>"));
        assert!(looks_like_html("line<br/>two"));
        assert!(looks_like_html("<A HREF=\"x\">x</A>"));
        assert!(!looks_like_html("Write to <john@example.com> or call"));
        assert!(!looks_like_html("if a<b and c>d"));
        assert!(!looks_like_html("<3 thanks"));
    }

    #[test]
    fn html_becomes_text_without_scripts() {
        let text = from_html(
            "<p>Hello &amp; welcome</p><p>Line<br>two</p><script>alert(1)</script><a href=\"x\">link</a>",
        );
        assert!(text.contains("Hello & welcome"), "{text}");
        assert!(text.contains("Line\ntwo"), "{text}");
        assert!(!text.contains("alert"), "{text}");
        assert!(text.contains("link"), "{text}");
    }
}
