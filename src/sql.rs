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

    #[test]
    fn literals_are_escaped() {
        assert_eq!(quote_literal("abc"), "'abc'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }
}
