//! Escaping text for HTML: one implementation for everything this crate
//! (and a host) renders as HTML on the server, the pages' templates and the
//! HTML part of notification emails.

/// Appends `text` to `out`, escaped for HTML element content and for
/// double- or single-quoted attribute values.
pub fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// `text`, escaped for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_ampersands_and_quotes_are_escaped() {
        assert_eq!(
            escape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(escape("fish & chips"), "fish &amp; chips");
        assert_eq!(escape("&amp;"), "&amp;amp;", "escaping is not undone");
        assert_eq!(
            escape(r#"a "quoted" 'word'"#),
            "a &quot;quoted&quot; &#39;word&#39;"
        );
        assert_eq!(escape("plain text, ünïcode"), "plain text, ünïcode");
    }
}
