//! `log_line_prefix`: the text the server writes before every line of a `stderr` log, turned
//! into a matcher that finds where the prefix ends and reads the fields pgvac uses from it.
//!
//! Every escape of PostgreSQL 12-18 (`elog.c`, `log_status_format`) is known, with padding
//! (`%-10u`). Escapes whose value is free text (`%a`, `%u`, `%d`, `%r`, `%h`, `%b`, `%i`, `%L`)
//! match as little as they can, so the first `SEVERITY:  ` after the prefix ends it. Background
//! processes (autovacuum workers among them) stop writing the prefix at `%q`, so what follows
//! `%q` is optional. Autovacuum workers have no client connection: `%d`, `%u`, `%a`, `%r` and `%h`
//! are empty on their lines, so the database of a run comes from its message, never the prefix.

use regex::{CaptureLocations, Regex};

use super::time::LogTime;

/// The server's default `log_line_prefix` (13+; 12's default was `'%m [%p] '` too).
pub const DEFAULT: &str = "%m [%p] ";

/// The RDS and Aurora default, recognised by the name `rds`.
pub const RDS: &str = "%t:%r:%u@%d:[%p]:";

/// Severity words of `stderr` lines, message levels first, then the extra lines of an entry.
const SEVERITIES: &str = "DEBUG[1-5]|DEBUG|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|\
                          DETAIL|HINT|QUERY|CONTEXT|LOCATION|STATEMENT";

/// A compiled `log_line_prefix`.
#[derive(Debug, Clone)]
pub struct Prefix {
    /// The prefix as the user gave it (after resolving `rds`).
    pub text: String,
    regex: Regex,
    time: Option<usize>,
    time_kind: TimeKind,
    pid: Option<usize>,
    database: Option<usize>,
    backend: Option<usize>,
    severity: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeKind {
    /// `%m`: with milliseconds.
    Millis,
    /// `%t`: whole seconds.
    Seconds,
    /// `%n`: Unix epoch with milliseconds.
    Epoch,
}

/// What the prefix of one line says.
#[derive(Debug, Clone, PartialEq)]
pub struct PrefixFields<'l> {
    pub time: Option<LogTime>,
    pub pid: Option<i32>,
    /// `%d`; empty for autovacuum workers.
    pub database: Option<&'l str>,
    /// `%b` (13+): `autovacuum worker`, `client backend`, ...
    pub backend_type: Option<&'l str>,
    pub severity: &'l str,
    /// Where the message starts (after `SEVERITY:  `).
    pub message_start: usize,
}

/// A prefix pgvac cannot use.
#[derive(Debug, thiserror::Error)]
#[error("log_line_prefix {prefix:?}: {reason}")]
pub struct PrefixError {
    pub prefix: String,
    pub reason: String,
}

impl Prefix {
    /// Compile a `log_line_prefix` as it is in `postgresql.conf` (without the quotes), or `rds`.
    pub fn new(text: &str) -> Result<Prefix, PrefixError> {
        let text = if text == "rds" { RDS } else { text };
        let mut pattern = String::from("^");
        let mut optional_groups = 0;
        let mut groups = 0usize;
        let mut time = None;
        let mut time_kind = TimeKind::Millis;
        let mut pid = None;
        let mut database = None;
        let mut backend = None;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                pattern.push_str(&regex::escape(&c.to_string()));
                continue;
            }
            // Padding: an optional '-' and digits, as in `%-10u`.
            let mut padded = false;
            if chars.peek() == Some(&'-') {
                chars.next();
                padded = true;
            }
            while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                chars.next();
                padded = true;
            }
            let Some(escape) = chars.next() else {
                break;
            };
            let capture = |slot: &mut Option<usize>, groups: &mut usize, body: &str| {
                *groups += 1;
                if slot.is_none() {
                    *slot = Some(*groups);
                }
                format!("({body})")
            };
            let free = ".*?";
            let field = match escape {
                'm' | 't' | 'n' => {
                    let body = match escape {
                        'm' => r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}(?: [A-Za-z0-9+\-]+)?",
                        't' => r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?: [A-Za-z0-9+\-]+)?",
                        _ => r"\d+\.\d{3}",
                    };
                    if time.is_none() {
                        time_kind = match escape {
                            'm' => TimeKind::Millis,
                            't' => TimeKind::Seconds,
                            _ => TimeKind::Epoch,
                        };
                    }
                    capture(&mut time, &mut groups, body)
                }
                'p' => capture(&mut pid, &mut groups, r"\d+"),
                'd' => capture(&mut database, &mut groups, free),
                'b' => capture(&mut backend, &mut groups, free),
                's' => r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?: [A-Za-z0-9+\-]+)?".to_string(),
                'P' => r"\d*".to_string(),
                'l' | 'x' => r"\d+".to_string(),
                'Q' => r"-?\d+".to_string(),
                'c' => r"[0-9a-f]+\.[0-9a-f]+".to_string(),
                'v' => r"(?:\d+/\d+)?".to_string(),
                'e' => r"[0-9A-Z]{5}".to_string(),
                'a' | 'u' | 'r' | 'h' | 'i' | 'L' => free.to_string(),
                '%' => "%".to_string(),
                'q' => {
                    optional_groups += 1;
                    "(?:".to_string()
                }
                // Unknown escapes print nothing.
                _ => String::new(),
            };
            if padded {
                pattern.push_str(r" *");
                pattern.push_str(&field);
                pattern.push_str(r" *");
            } else {
                pattern.push_str(&field);
            }
        }
        for _ in 0..optional_groups {
            pattern.push_str(")?");
        }
        pattern.push_str(&format!("({SEVERITIES}):  "));
        let severity = groups + 1;
        let regex = Regex::new(&pattern).map_err(|e| PrefixError {
            prefix: text.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Prefix {
            text: text.to_string(),
            regex,
            time,
            time_kind,
            pid,
            database,
            backend,
            severity,
        })
    }

    /// A reusable buffer for [`Prefix::fields`].
    pub fn locations(&self) -> CaptureLocations {
        self.regex.capture_locations()
    }

    /// Where the message of `line` starts, or `None` when the line does not start with this
    /// prefix and a severity.
    pub fn message_start(&self, line: &str, locations: &mut CaptureLocations) -> Option<usize> {
        self.regex
            .captures_read(locations, line)
            .map(|found| found.end())
    }

    /// The severity of a line [`Prefix::message_start`] just matched.
    pub fn severity<'l>(&self, line: &'l str, locations: &CaptureLocations) -> &'l str {
        locations
            .get(self.severity)
            .map_or("", |(start, end)| &line[start..end])
    }

    /// Everything the prefix of `line` says, or `None` when it does not match.
    pub fn fields<'l>(
        &self,
        line: &'l str,
        locations: &mut CaptureLocations,
    ) -> Option<PrefixFields<'l>> {
        let message_start = self.message_start(line, locations)?;
        let text = |slot: Option<usize>| {
            slot.and_then(|i| locations.get(i))
                .map(|(start, end)| &line[start..end])
        };
        let time = text(self.time).and_then(|t| match self.time_kind {
            TimeKind::Epoch => LogTime::parse_epoch(t),
            TimeKind::Millis | TimeKind::Seconds => LogTime::parse(t),
        });
        Some(PrefixFields {
            time,
            pid: text(self.pid).and_then(|p| p.parse().ok()),
            database: text(self.database).filter(|d| !d.is_empty()),
            backend_type: text(self.backend).filter(|b| !b.is_empty()),
            severity: self.severity(line, locations),
            message_start,
        })
    }

    /// Whether the prefix has `%p`: lines can then be tied to their process.
    pub fn has_pid(&self) -> bool {
        self.pid.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(prefix: &str, line: &str) -> Option<(Option<String>, Option<i32>, String, String)> {
        let prefix = Prefix::new(prefix).unwrap();
        let mut locations = prefix.locations();
        let found = prefix.fields(line, &mut locations)?;
        Some((
            found.time.map(|t| t.to_string()),
            found.pid,
            found.severity.to_string(),
            line[found.message_start..].to_string(),
        ))
    }

    #[test]
    fn the_default_prefix() {
        let line = "2026-12-01 08:43:48.435 UTC [22337] LOG:  automatic vacuum of table \"a.b.c\"";
        assert_eq!(
            fields(DEFAULT, line),
            Some((
                Some("2026-12-01 08:43:48.435 UTC".to_string()),
                Some(22337),
                "LOG".to_string(),
                "automatic vacuum of table \"a.b.c\"".to_string()
            ))
        );
    }

    #[test]
    fn the_rds_prefix_of_a_worker_and_of_a_client() {
        let worker = "2026-12-01 08:43:48 UTC:::@:[22337]:LOG:  skipping vacuum of \"t\"";
        let (time, pid, severity, message) = fields("rds", worker).unwrap();
        assert_eq!(time.as_deref(), Some("2026-12-01 08:43:48 UTC"));
        assert_eq!((pid, severity.as_str()), (Some(22337), "LOG"));
        assert_eq!(message, "skipping vacuum of \"t\"");
        let client =
            "2026-12-01 08:43:48 UTC:10.0.0.7(5432):app@shop:[99]:ERROR:  canceling statement";
        let prefix = Prefix::new("rds").unwrap();
        let mut locations = prefix.locations();
        let found = prefix.fields(client, &mut locations).unwrap();
        assert_eq!(found.database, Some("shop"));
        assert_eq!(found.pid, Some(99));
    }

    #[test]
    fn text_after_q_is_optional_and_padding_is_allowed() {
        let prefix = "%m [%p] %q%-10u@%d ";
        let worker = "2026-12-01 08:43:48.435 UTC [7] LOG:  x";
        assert_eq!(fields(prefix, worker).unwrap().3, "x");
        let client = "2026-12-01 08:43:48.435 UTC [8] bob       @shop LOG:  y";
        let parsed = Prefix::new(prefix).unwrap();
        let mut locations = parsed.locations();
        let found = parsed.fields(client, &mut locations).unwrap();
        assert_eq!(found.database, Some("shop"));
        assert_eq!(&client[found.message_start..], "y");
    }

    #[test]
    fn a_free_text_field_containing_a_severity_word_is_not_the_severity() {
        // %a is free text; the first "SEVERITY:  " after the literal ends it.
        let prefix = "%m [%p] %a ";
        let line = "2026-12-01 08:43:48.435 UTC [8] psql LOG:  z";
        assert_eq!(fields(prefix, line).unwrap().3, "z");
    }

    #[test]
    fn epoch_time_and_a_line_of_another_prefix() {
        let line = "1764578628.435 [5] WARNING:  w";
        let (time, pid, severity, _) = fields("%n [%p] ", line).unwrap();
        assert_eq!(time.as_deref(), Some("2025-12-01 08:43:48.435 UTC"));
        assert_eq!((pid, severity.as_str()), (Some(5), "WARNING"));
        assert_eq!(fields(DEFAULT, "plain text, no prefix"), None);
        assert_eq!(
            fields(DEFAULT, "2026-12-01 08:43:48 UTC [5] LOG:  no millis"),
            None
        );
    }
}
