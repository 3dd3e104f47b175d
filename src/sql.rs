//! Quoting names and values into the SQL that findings recommend.
//!
//! Every identifier and literal that pgvac writes into SQL goes through here. The quoting is
//! PostgreSQL's own `quote_ident` / `quote_literal` rules, from the `pg_escape` crate: a name is left
//! bare only when it is lower-case ASCII letters, digits and underscores, does not start with a
//! digit and is not a keyword; otherwise it is double-quoted with inner quotes doubled. Literals
//! are single-quoted, and `E'...'`-prefixed when they hold a backslash, so they read the same
//! whatever `standard_conforming_strings` is.

/// An identifier, quoted when PostgreSQL needs it to be.
pub fn quote_ident(name: &str) -> String {
    if name.is_empty() {
        // Not a valid name, but never emit a bare nothing.
        return "\"\"".to_string();
    }
    pg_escape::quote_identifier(name).into_owned()
}

/// A string literal.
pub fn quote_literal(value: &str) -> String {
    pg_escape::quote_literal(value)
}

/// `schema.name`, each part quoted as needed.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_bare() {
        assert_eq!(quote_ident("orders"), "orders");
        assert_eq!(quote_ident("_t1"), "_t1");
        assert_eq!(qualified("public", "orders_2024"), "public.orders_2024");
    }

    #[test]
    fn names_that_need_quotes_get_them() {
        assert_eq!(quote_ident("Orders"), "\"Orders\"");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("1st"), "\"1st\"");
        assert_eq!(quote_ident("my table"), "\"my table\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("a.b"), "\"a.b\"");
        assert_eq!(quote_ident("café"), "\"café\"");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(
            qualified("My Schema", "x;DROP TABLE y"),
            "\"My Schema\".\"x;DROP TABLE y\""
        );
    }

    /// What the server's scanner makes of a quoted identifier or a literal, for the properties.
    fn unquote_ident(quoted: &str) -> String {
        match quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            None => quoted.to_string(),
        }
    }

    fn unquote_literal(quoted: &str) -> String {
        let (escaped, body) = match quoted.strip_prefix('E') {
            Some(rest) => (true, rest),
            None => (false, quoted),
        };
        let inner = &body[1..body.len() - 1];
        let inner = inner.replace("''", "'");
        if escaped {
            inner.replace("\\\\", "\\")
        } else {
            inner
        }
    }

    proptest::proptest! {
        /// A name is bare only when PostgreSQL would fold nothing in it, and quoted it reads
        /// back as itself. (tests/postgres/reliability.rs runs the same against the servers.)
        #[test]
        fn quoted_names_read_back(name in "\\PC{1,30}") {
            let quoted = quote_ident(&name);
            proptest::prop_assert_eq!(unquote_ident(&quoted), name.clone());
            if !quoted.starts_with('"') {
                proptest::prop_assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
                proptest::prop_assert!(!name.starts_with(|c: char| c.is_ascii_digit()));
            }
        }

        /// A literal reads back as itself, and holds a backslash only in the E'' form.
        #[test]
        fn quoted_literals_read_back(value in "\\PC{0,30}") {
            let quoted = quote_literal(&value);
            proptest::prop_assert_eq!(unquote_literal(&quoted), value.clone());
            proptest::prop_assert!(!quoted[1..].contains('\\') || quoted.starts_with("E'"));
        }
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(quote_literal("abc"), "'abc'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }
}
