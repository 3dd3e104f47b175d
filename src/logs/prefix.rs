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

/// The severity words, longest first (for [`Prefix::find`]).
const SEVERITY_WORDS: [&str; 19] = [
    "STATEMENT",
    "LOCATION",
    "WARNING",
    "CONTEXT",
    "DEBUG1",
    "DEBUG2",
    "DEBUG3",
    "DEBUG4",
    "DEBUG5",
    "DETAIL",
    "NOTICE",
    "DEBUG",
    "ERROR",
    "FATAL",
    "PANIC",
    "QUERY",
    "HINT",
    "INFO",
    "LOG",
];

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
    /// For prefixes of fixed-format escapes and literals only (the default `%m [%p] ` among
    /// them): a left-to-right reader that needs no regex.
    fixed: Option<Vec<Piece>>,
}

/// One part of a prefix the fixed reader understands.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    /// `%m`, `%t`, `%s`: a timestamp and an optional zone; the first `%m`/`%t` is the time.
    Time {
        millis: bool,
        captured: bool,
    },
    /// `%n`.
    Epoch {
        captured: bool,
    },
    /// `%p` (the first is the pid), `%l`, `%x`.
    Digits {
        pid: bool,
    },
    /// `%P`: digits or nothing.
    MaybeDigits,
    /// `%c`: hex.hex.
    Session,
    /// `%v`: `n/n` or nothing.
    Vxid,
    /// `%e`: five SQLSTATE characters.
    State,
    /// `%Q`: a signed number.
    Signed,
}

/// What the fixed reader took from one line.
struct FixedMatch<'l> {
    time: Option<LogTime>,
    pid: Option<i32>,
    severity: &'l str,
    message_start: usize,
}

fn take_while(rest: &str, allowed: impl Fn(u8) -> bool) -> usize {
    rest.bytes().position(|b| !allowed(b)).unwrap_or(rest.len())
}

/// `YYYY-MM-DD HH:MM:SS[.mmm][ ZONE]` at the start of `rest`: its length.
fn timestamp_len(rest: &str, millis: bool) -> Option<usize> {
    let base = if millis { 23 } else { 19 };
    let b = rest.as_bytes();
    if b.len() < base {
        return None;
    }
    let shape = b[..base].iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b' ',
        13 | 16 => c == b':',
        19 => c == b'.',
        _ => c.is_ascii_digit(),
    });
    if !shape {
        return None;
    }
    let zone = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'-';
    if b.get(base) == Some(&b' ') && b.get(base + 1).copied().is_some_and(zone) {
        Some(base + 1 + take_while(&rest[base + 1..], zone))
    } else {
        Some(base)
    }
}

impl Piece {
    fn compile(text: &str) -> Option<Vec<Piece>> {
        let mut pieces = Vec::new();
        let mut time_seen = false;
        let mut pid_seen = false;
        let mut chars = text.chars();
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let escape = chars.next()?;
            if escape == '%' {
                literal.push('%');
                continue;
            }
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(match escape {
                'm' | 't' => {
                    let captured = !time_seen;
                    time_seen = true;
                    Piece::Time {
                        millis: escape == 'm',
                        captured,
                    }
                }
                's' => Piece::Time {
                    millis: false,
                    captured: false,
                },
                'n' => {
                    let captured = !time_seen;
                    time_seen = true;
                    Piece::Epoch { captured }
                }
                'p' => {
                    let pid = !pid_seen;
                    pid_seen = true;
                    Piece::Digits { pid }
                }
                'l' | 'x' => Piece::Digits { pid: false },
                'P' => Piece::MaybeDigits,
                'c' => Piece::Session,
                'v' => Piece::Vxid,
                'e' => Piece::State,
                'Q' => Piece::Signed,
                // Free text, padding, %q, %b, %d: the regex handles them.
                _ => return None,
            });
        }
        if !literal.is_empty() {
            pieces.push(Piece::Literal(literal));
        }
        Some(pieces)
    }
}

fn read_fixed<'l>(pieces: &[Piece], line: &'l str) -> Option<FixedMatch<'l>> {
    let mut at = 0;
    let mut time = None;
    let mut pid = None;
    for piece in pieces {
        let rest = &line[at..];
        let len = match piece {
            Piece::Literal(text) => rest.starts_with(text.as_str()).then_some(text.len())?,
            Piece::Time { millis, captured } => {
                let len = timestamp_len(rest, *millis)?;
                if *captured {
                    time = LogTime::parse(&rest[..len]);
                }
                len
            }
            Piece::Epoch { captured } => {
                let whole = take_while(rest, |b| b.is_ascii_digit());
                let len = whole + 4;
                if whole == 0 || rest.len() < len || rest.as_bytes()[whole] != b'.' {
                    return None;
                }
                if !rest[whole + 1..len].bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                if *captured {
                    time = LogTime::parse_epoch(&rest[..len]);
                }
                len
            }
            Piece::Digits { pid: is_pid } => {
                let len = take_while(rest, |b| b.is_ascii_digit());
                if len == 0 {
                    return None;
                }
                if *is_pid {
                    pid = rest[..len].parse().ok();
                }
                len
            }
            Piece::MaybeDigits => take_while(rest, |b| b.is_ascii_digit()),
            Piece::Session => {
                let len = take_while(rest, |b| b.is_ascii_hexdigit() || b == b'.');
                (len > 0).then_some(len)?
            }
            Piece::Vxid => take_while(rest, |b| b.is_ascii_digit() || b == b'/'),
            Piece::State => {
                let len = take_while(rest, |b| b.is_ascii_uppercase() || b.is_ascii_digit());
                (len >= 5).then_some(5)?
            }
            Piece::Signed => {
                let sign = usize::from(rest.starts_with('-'));
                let len = take_while(&rest[sign..], |b| b.is_ascii_digit());
                (len > 0).then_some(sign + len)?
            }
        };
        at += len;
    }
    let rest = &line[at..];
    let word = take_while(rest, |b| b.is_ascii_uppercase() || b.is_ascii_digit());
    let severity = &rest[..word];
    if !SEVERITY_WORDS.contains(&severity) || !rest[word..].starts_with(":  ") {
        return None;
    }
    Some(FixedMatch {
        time,
        pid,
        severity,
        message_start: at + word + 3,
    })
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
            fixed: Piece::compile(text),
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
        if let Some(pieces) = &self.fixed {
            return read_fixed(pieces, line).map(|m| m.message_start);
        }
        self.regex
            .captures_read(locations, line)
            .map(|found| found.end())
    }

    /// Where the message of `line` starts and its severity, from the regex's DFA alone (no
    /// capture groups: several times faster, for the lines whose fields are not needed). The
    /// severity is the known word that ends just before `:  `.
    pub fn find<'l>(&self, line: &'l str) -> Option<(usize, &'l str)> {
        if let Some(pieces) = &self.fixed {
            return read_fixed(pieces, line).map(|m| (m.message_start, m.severity));
        }
        let end = self.regex.find(line)?.end();
        let before = &line[..end - 3];
        let start = before
            .bytes()
            .rposition(|b| !(b.is_ascii_uppercase() || b.is_ascii_digit()))
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        let severity = SEVERITY_WORDS
            .iter()
            .find(|s| word.ends_with(*s))
            .map(|s| &word[word.len() - s.len()..])?;
        Some((end, severity))
    }

    /// The severity of a line [`Prefix::message_start`] just matched.
    pub fn severity<'l>(&self, line: &'l str, locations: &CaptureLocations) -> &'l str {
        if let Some(pieces) = &self.fixed {
            return read_fixed(pieces, line).map_or("", |m| m.severity);
        }
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
        if let Some(pieces) = &self.fixed {
            let found = read_fixed(pieces, line)?;
            return Some(PrefixFields {
                time: found.time,
                pid: found.pid,
                database: None,
                backend_type: None,
                severity: found.severity,
                message_start: found.message_start,
            });
        }
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

    /// The fixed reader and the regex read the same prefixes the same way.
    #[test]
    fn the_fixed_reader_agrees_with_the_regex() {
        for (prefix, line) in [
            (DEFAULT, "2026-12-01 08:43:48.435 UTC [1] LOG:  a"),
            (DEFAULT, "2026-12-01 08:43:48.435 [1] LOG:  no zone"),
            (
                "%t [%p]: [%l-1] ",
                "2026-12-01 08:43:48 CEST [22]: [3-1] WARNING:  b",
            ),
            (
                "%n %c %v %x %e %Q %P|",
                "1764578628.435 6b0e.5741 3/9 0 57014 -5 |ERROR:  c",
            ),
            (
                "%m [%p] ",
                "2026-12-01 08:43:48.435 UTC [x] LOG:  not a pid",
            ),
            (
                "%m [%p] ",
                "2026-12-01 08:43:48.435 UTC [1] LOGS:  not a severity",
            ),
        ] {
            let parsed = Prefix::new(prefix).unwrap();
            assert!(parsed.fixed.is_some(), "{prefix}");
            let mut regex_only = parsed.clone();
            regex_only.fixed = None;
            let (mut a, mut b) = (parsed.locations(), regex_only.locations());
            assert_eq!(
                parsed.fields(line, &mut a),
                regex_only.fields(line, &mut b),
                "{prefix} on {line}"
            );
            assert_eq!(parsed.find(line), regex_only.find(line), "{line}");
        }
        assert!(Prefix::new("rds").unwrap().fixed.is_none());
        assert!(Prefix::new("%m [%p] %q%u ").unwrap().fixed.is_none());
    }

    #[test]
    fn find_agrees_with_the_capture_groups() {
        for (prefix, line) in [
            (DEFAULT, "2026-12-01 08:43:48.435 UTC [1] DETAIL:  x"),
            ("rds", "2026-12-01 08:43:48 UTC:::@:[2]:LOG:  y"),
            ("%m %e", "2026-12-01 08:43:48.435 UTC 00000LOG:  z"),
            (
                "%m [%p] %a ",
                "2026-12-01 08:43:48.435 UTC [3] INFO LOG:  w",
            ),
            (DEFAULT, "2026-12-01 08:43:48.435 UTC [4] DEBUG1:  v"),
        ] {
            let parsed = Prefix::new(prefix).unwrap();
            let mut locations = parsed.locations();
            let fields = parsed.fields(line, &mut locations).unwrap();
            assert_eq!(
                parsed.find(line),
                Some((fields.message_start, fields.severity)),
                "{line}"
            );
        }
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
