//! Text from outside (file names, mail subjects, senders, reasons quoting them) made safe to print:
//! control characters are escaped so a name holding `\x1b[31m` or `\r\n` cannot recolour a
//! terminal, rewrite a table row or forge a log line. Used by the CLI tables and the text log
//! format; the JSON log format is already escaped by its encoder.

use std::borrow::Cow;
use std::fmt;

/// `s` with every control character written as an escape (`\n`, `\r`, `\t`, `\e`, `\u{7f}`, …).
/// Borrowed when there is nothing to escape, which is the common case.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x1b' => out.push_str("\\e"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Display wrapper that escapes on the way out: `tracing::info!(file = %Printable(&name))`.
pub struct Printable<'a>(pub &'a str);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(escape("Facture été.pdf"), Cow::Borrowed(_)));
        assert_eq!(
            escape("evil\x1b[31m\r\nINFO forged\t\u{7f}.pdf"),
            "evil\\e[31m\\r\\nINFO forged\\t\\u{7f}.pdf"
        );
        assert_eq!(Printable("a\u{85}b").to_string(), "a\\u{85}b");
    }
}
