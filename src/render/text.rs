//! Fitting text into columns: word wrap for prose, quote-aware wrap for SQL, an ellipsis for
//! names too long for their column, and the severity colours.
//!
//! Widths are display widths (`unicode-width`), so a name in CJK or with accents lines up.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::analysis::findings::Severity;

/// Display width of a string.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to `max` columns with a trailing `…` when it is longer.
pub fn ellipsize(text: &str, max: usize) -> String {
    if width(text) <= max {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// Replace control characters (a newline in a table name, an escape sequence) so a name can
/// never break a line of a report or a comment of a script, nor drive the terminal.
pub fn printable(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:x}}}", u32::from(c))
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Wrap prose at spaces into lines of at most `max` columns (a word longer than that is cut).
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(10);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while width(&word) > max {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let (head, tail) = split_at_width(&word, max);
            lines.push(head);
            word = tail;
        }
        if line.is_empty() {
            line = word;
        } else if width(&line) + 1 + width(&word) <= max {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

fn split_at_width(text: &str, max: usize) -> (String, String) {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > max {
            return (text[..i].to_string(), text[i..].to_string());
        }
        used += w;
    }
    (text.to_string(), String::new())
}

/// Wrap one SQL statement into lines of at most `max` columns, breaking only at spaces outside
/// quoted identifiers and literals, so the lines pasted together are the same statement. A
/// token longer than `max` (a very long quoted name) stays whole on its own line. Continuation
/// lines are indented by two spaces.
pub fn wrap_sql(statement: &str, max: usize) -> Vec<String> {
    let max = max.max(20);
    // Split into tokens at spaces outside quotes.
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    for c in statement.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                current.push(c);
            }
            Some(_) => current.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                current.push(c);
            }
            None if c == ' ' => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            None => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    // A token too long for a line (a long qualified name) is split after its dots outside
    // quotes: `public.` and `name` on two lines is still the same SQL.
    let tokens: Vec<String> = tokens
        .into_iter()
        .flat_map(|token| {
            if width(&token) <= max - 2 {
                return vec![token];
            }
            let mut parts = Vec::new();
            let mut part = String::new();
            let mut quote: Option<char> = None;
            for c in token.chars() {
                part.push(c);
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == '\'' || c == '"' => quote = Some(c),
                    None if c == '.' => parts.push(std::mem::take(&mut part)),
                    None => {}
                }
            }
            if !part.is_empty() {
                parts.push(part);
            }
            parts
        })
        .collect();
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for token in tokens {
        let limit = if lines.is_empty() { max } else { max - 2 };
        if line.is_empty() {
            line = token;
        } else if width(&line) + 1 + width(&token) <= limit {
            line.push(' ');
            line.push_str(&token);
        } else {
            lines.push(std::mem::replace(&mut line, token));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l } else { format!("  {l}") })
        .collect()
}

/// The severity as a word that reads without colour.
pub fn severity_word(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "info",
    }
}

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint {
    pub enabled: bool,
}

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    pub fn severity(self, severity: Severity, text: &str) -> String {
        match severity {
            Severity::Critical => self.wrap("1;31", text),
            Severity::Warning => self.wrap("33", text),
            Severity::Info => self.wrap("36", text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_breaks_only_outside_quotes() {
        let statement = "ALTER TABLE \"My Schema\".\"a b c d e f g h\" SET (autovacuum_enabled = \
                         'x y z', autovacuum_vacuum_scale_factor = 0.02); VACUUM \
                         public.a_very_long_table_name_that_needs_its_own_line_and_more;";
        for max in [20, 30, 40, 60] {
            let lines = wrap_sql(statement, max);
            let joined = lines
                .iter()
                .map(|l| l.trim_start())
                .collect::<Vec<_>>()
                .join(" ")
                .replace(". ", ".");
            assert_eq!(joined, statement, "{max}: {lines:?}");
            for line in &lines {
                // Quotes balance on every line: no quoted name was split.
                assert_eq!(line.matches('"').count() % 2, 0, "{max}: {line}");
                assert_eq!(line.matches('\'').count() % 2, 0, "{max}: {line}");
            }
        }
    }

    #[test]
    fn prose_wraps_and_names_shorten() {
        let lines = wrap("one two three four five six seven", 10);
        assert!(lines.iter().all(|l| width(l) <= 10), "{lines:?}");
        assert_eq!(lines.join(" "), "one two three four five six seven");
        assert_eq!(ellipsize("abcdefghij", 5), "abcd…");
        assert_eq!(ellipsize("abc", 5), "abc");
        assert_eq!(width(&ellipsize("日本語のテーブル名", 7)), 7);
        assert_eq!(printable("a\nb\x1b[31m"), "a\\u{a}b\\u{1b}[31m");
    }
}
