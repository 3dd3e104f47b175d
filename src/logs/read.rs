//! Reading log files into [`Entry`]s: `stderr` (any `log_line_prefix`), `csvlog` and `jsonlog`
//! (15+), each streamed from a `BufRead` in one pass, gzip undone on the way in.
//!
//! - `stderr`: an entry is its prefix line plus the lines after it that start with a tab (the
//!   server writes a message's own newlines as newline-tab), plus the `DETAIL`, `HINT`,
//!   `CONTEXT`, `STATEMENT` (and `QUERY`, `LOCATION`) lines of the same process that follow. The
//!   server writes a whole entry in one `write()`, with or without the logging collector, so
//!   they are adjacent.
//! - `csvlog`: one record per entry; quoted fields can hold newlines. Columns 1-23 are the same
//!   in 12-18; 13 added `backend_type` (24), 14 `leader_pid` and `query_id`.
//! - `jsonlog`: one object per line.
//!
//! A line that is not of the format (a stderr line that does not start with the prefix, a CSV
//! record with too few columns, a line that is not a JSON object) is handed to the caller as
//! [`Item::Unrecognised`], never dropped. Entries that cannot be about autovacuum are counted
//! ([`Item::Other`]) without being built.

use std::io::{self, BufRead, BufReader, Read};

use serde::Deserialize;

use super::event::{Entry, Level, may_interest};
use super::prefix::Prefix;
use super::time::LogTime;

/// The log formats PostgreSQL writes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InputFormat {
    /// `log_destination = stderr` (also through the logging collector), any log_line_prefix.
    Stderr,
    /// `log_destination = csvlog`.
    Csvlog,
    /// `log_destination = jsonlog` (15+).
    Jsonlog,
}

impl InputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Stderr => "stderr",
            InputFormat::Csvlog => "csvlog",
            InputFormat::Jsonlog => "jsonlog",
        }
    }

    /// From a file name: `.csv` and `.json` (before an optional `.gz`).
    pub fn from_name(name: &str) -> Option<InputFormat> {
        let name = name.strip_suffix(".gz").unwrap_or(name);
        if name.ends_with(".csv") {
            Some(InputFormat::Csvlog)
        } else if name.ends_with(".json") {
            Some(InputFormat::Jsonlog)
        } else {
            None
        }
    }
}

/// What a reader hands on.
#[derive(Debug)]
pub enum Item<'t> {
    /// An entry that may be about autovacuum.
    Entry(Entry),
    /// An entry of the format that cannot be (a connection, a checkpoint, ...).
    Other,
    /// A line (or record) that is not of the format.
    Unrecognised { line: u64, text: &'t str },
}

/// Undo gzip when the stream starts with its magic bytes.
pub fn decompressed<'r>(reader: impl Read + 'r) -> io::Result<Box<dyn BufRead + 'r>> {
    let mut buffered = BufReader::with_capacity(1 << 16, reader);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    if gzip {
        Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Guess the format from the first line: a JSON object, a CSV record that starts with a
/// timestamp, or else stderr.
pub fn sniff(reader: &mut dyn BufRead, prefix: &Prefix) -> io::Result<InputFormat> {
    let head = reader.fill_buf()?;
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let first = String::from_utf8_lossy(&head[..end]);
    let first = first.trim_end_matches('\r');
    if first.starts_with('{') {
        return Ok(InputFormat::Jsonlog);
    }
    let mut locations = prefix.locations();
    if prefix.message_start(first, &mut locations).is_some() {
        return Ok(InputFormat::Stderr);
    }
    let time = first.split(',').next().unwrap_or("");
    if LogTime::parse(time).is_some() && first.matches(',').count() >= 12 {
        return Ok(InputFormat::Csvlog);
    }
    Ok(InputFormat::Stderr)
}

/// Which part of a stderr entry continuation lines belong to.
#[derive(Clone, Copy)]
enum Part {
    Message,
    Detail,
    Hint,
    Context,
    Statement,
    Ignored,
}

/// Read a `stderr` log.
pub fn stderr(
    reader: &mut dyn BufRead,
    prefix: &Prefix,
    mut each: impl FnMut(Item),
) -> io::Result<()> {
    let mut locations = prefix.locations();
    let mut raw = Vec::with_capacity(4096);
    let mut number = 0u64;
    // The entry being read: None while inside an entry that is not kept.
    let mut current: Option<(Entry, Part)> = None;
    // Whether the last prefix line started an entry (kept or not).
    let mut in_entry = false;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        number += 1;
        while raw.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            raw.pop();
        }
        // Continuation lines of entries that are not kept need no decoding.
        if raw.first() == Some(&b'\t') && current.is_none() && in_entry {
            continue;
        }
        let text = match std::str::from_utf8(&raw) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(&raw),
        };
        let line: &str = &text;
        if let Some(continued) = line.strip_prefix('\t') {
            match &mut current {
                Some((entry, part)) => append(entry, *part, continued),
                None if in_entry => {}
                None => each(Item::Unrecognised {
                    line: number,
                    text: line,
                }),
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let Some((start, severity)) = prefix.find(line) else {
            if let Some((entry, _)) = current.take() {
                each(Item::Entry(entry));
            } else if in_entry {
                each(Item::Other);
            }
            in_entry = false;
            each(Item::Unrecognised {
                line: number,
                text: line,
            });
            continue;
        };
        let part = match severity {
            "DETAIL" => Some(Part::Detail),
            "HINT" => Some(Part::Hint),
            "CONTEXT" => Some(Part::Context),
            "STATEMENT" => Some(Part::Statement),
            "QUERY" | "LOCATION" => Some(Part::Ignored),
            _ => None,
        };
        if let Some(part) = part {
            if let Some((entry, current_part)) = &mut current {
                let same_process = !prefix.has_pid()
                    || prefix
                        .fields(line, &mut locations)
                        .is_none_or(|f| f.pid == entry.pid);
                if same_process {
                    *current_part = part;
                    append_new(entry, part, &line[start..]);
                    continue;
                }
            } else if in_entry {
                continue;
            }
            // A detail line with no message before it (the file starts mid-entry).
            each(Item::Other);
            continue;
        }
        match current.take() {
            Some((entry, _)) => each(Item::Entry(entry)),
            None if in_entry => each(Item::Other),
            None => {}
        }
        in_entry = true;
        let level = Level::parse(severity);
        let message = &line[start..];
        if !may_interest(level, message) {
            continue;
        }
        let fields = prefix.fields(line, &mut locations);
        let entry = Entry {
            line: number,
            time: fields.as_ref().and_then(|f| f.time),
            pid: fields.as_ref().and_then(|f| f.pid),
            database: fields.as_ref().and_then(|f| f.database.map(str::to_string)),
            backend_type: fields
                .as_ref()
                .and_then(|f| f.backend_type.map(str::to_string)),
            level,
            message: message.to_string(),
            ..Entry::default()
        };
        current = Some((entry, Part::Message));
    }
    match current.take() {
        Some((entry, _)) => each(Item::Entry(entry)),
        None if in_entry => each(Item::Other),
        None => {}
    }
    Ok(())
}

fn field(entry: &mut Entry, part: Part) -> Option<&mut String> {
    Some(match part {
        Part::Message => &mut entry.message,
        Part::Detail => entry.detail.get_or_insert_with(String::new),
        Part::Hint => entry.hint.get_or_insert_with(String::new),
        Part::Context => entry.context.get_or_insert_with(String::new),
        Part::Statement => entry.statement.get_or_insert_with(String::new),
        Part::Ignored => return None,
    })
}

fn append(entry: &mut Entry, part: Part, text: &str) {
    if let Some(field) = field(entry, part) {
        field.push('\n');
        field.push_str(text);
    }
}

fn append_new(entry: &mut Entry, part: Part, text: &str) {
    if let Some(field) = field(entry, part) {
        if !field.is_empty() {
            field.push('\n');
        }
        field.push_str(text);
    }
}

/// The csvlog columns pgvac reads (0-based).
mod column {
    pub const TIME: usize = 0;
    pub const DATABASE: usize = 2;
    pub const PID: usize = 3;
    pub const SEVERITY: usize = 11;
    pub const MESSAGE: usize = 13;
    pub const DETAIL: usize = 14;
    pub const HINT: usize = 15;
    pub const CONTEXT: usize = 18;
    pub const QUERY: usize = 19;
    /// 13+.
    pub const BACKEND_TYPE: usize = 23;
    /// Columns every version writes (12 has 23).
    pub const LEAST: usize = 23;
}

/// Read a `csvlog` log.
pub fn csvlog(reader: &mut dyn BufRead, mut each: impl FnMut(Item)) -> io::Result<()> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    loop {
        let read = match csv.read_byte_record(&mut record) {
            Ok(read) => read,
            Err(error) => match error.into_kind() {
                csv::ErrorKind::Io(error) => return Err(error),
                other => {
                    let line = csv.position().line();
                    let text = format!("{other:?}");
                    each(Item::Unrecognised { line, text: &text });
                    continue;
                }
            },
        };
        if !read {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        let text = |i: usize| {
            record
                .get(i)
                .map(String::from_utf8_lossy)
                .unwrap_or_default()
        };
        let time = LogTime::parse(&text(column::TIME));
        if record.len() < column::LEAST || time.is_none() {
            let joined = record
                .iter()
                .map(String::from_utf8_lossy)
                .collect::<Vec<_>>()
                .join(",");
            each(Item::Unrecognised {
                line,
                text: &joined,
            });
            continue;
        }
        let severity = text(column::SEVERITY);
        let level = Level::parse(&severity);
        let message = text(column::MESSAGE);
        if !may_interest(level, &message) {
            each(Item::Other);
            continue;
        }
        let optional = |i: usize| Some(text(i).into_owned()).filter(|t| !t.is_empty());
        each(Item::Entry(Entry {
            line,
            time,
            pid: text(column::PID).parse().ok(),
            database: optional(column::DATABASE),
            backend_type: optional(column::BACKEND_TYPE),
            level,
            message: message.into_owned(),
            detail: optional(column::DETAIL),
            hint: optional(column::HINT),
            context: optional(column::CONTEXT),
            statement: optional(column::QUERY),
        }));
    }
    Ok(())
}

/// The jsonlog keys pgvac reads.
#[derive(Deserialize)]
struct JsonEntry<'a> {
    #[serde(borrow)]
    timestamp: Option<std::borrow::Cow<'a, str>>,
    pid: Option<i64>,
    #[serde(borrow)]
    dbname: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    error_severity: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    detail: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    hint: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    context: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    statement: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    backend_type: Option<std::borrow::Cow<'a, str>>,
}

/// Read a `jsonlog` log.
pub fn jsonlog(reader: &mut dyn BufRead, mut each: impl FnMut(Item)) -> io::Result<()> {
    let mut raw = Vec::with_capacity(4096);
    let mut number = 0u64;
    loop {
        raw.clear();
        if reader.read_until(b'\n', &mut raw)? == 0 {
            break;
        }
        number += 1;
        while raw.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
            raw.pop();
        }
        if raw.is_empty() {
            continue;
        }
        let parsed: Option<JsonEntry> = serde_json::from_slice(&raw).ok();
        let Some(parsed) = parsed.filter(|p| p.message.is_some() && p.error_severity.is_some())
        else {
            let text = String::from_utf8_lossy(&raw);
            each(Item::Unrecognised {
                line: number,
                text: &text,
            });
            continue;
        };
        let level = parsed.error_severity.as_deref().and_then(Level::parse);
        let message = parsed.message.unwrap_or_default();
        if !may_interest(level, &message) {
            each(Item::Other);
            continue;
        }
        let owned = |v: Option<std::borrow::Cow<str>>| v.map(|v| v.into_owned());
        each(Item::Entry(Entry {
            line: number,
            time: parsed.timestamp.as_deref().and_then(LogTime::parse),
            pid: parsed.pid.and_then(|p| i32::try_from(p).ok()),
            database: owned(parsed.dbname),
            backend_type: owned(parsed.backend_type),
            level,
            message: message.into_owned(),
            detail: owned(parsed.detail),
            hint: owned(parsed.hint),
            context: owned(parsed.context),
            statement: owned(parsed.statement),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stderr_items(text: &str) -> Vec<String> {
        let prefix = Prefix::new(super::super::prefix::DEFAULT).unwrap();
        let mut out = Vec::new();
        stderr(&mut text.as_bytes(), &prefix, |item| {
            out.push(match item {
                Item::Entry(e) => format!(
                    "entry {}: {:?} ctx={:?} stmt={:?}",
                    e.line, e.message, e.context, e.statement
                ),
                Item::Other => "other".to_string(),
                Item::Unrecognised { line, text } => format!("unrecognised {line}: {text}"),
            })
        })
        .unwrap();
        out
    }

    #[test]
    fn stderr_entries_continuations_and_their_context() {
        let log = "2026-12-01 08:43:48.360 UTC [22192] ERROR:  canceling autovacuum task\n\
                   2026-12-01 08:43:48.360 UTC [22192] CONTEXT:  while scanning block 4 of relation \"public.slow\"\n\
                   \tautomatic vacuum of table \"postgres.public.slow\"\n\
                   2026-12-01 08:43:48.362 UTC [22240] LOG:  connection received: host=x\n\
                   garbage line\n\
                   2026-12-01 08:43:49.000 UTC [1] LOG:  automatic analyze of table \"a.b.c\"\n\
                   \tsystem usage: CPU: user: 0.00 s, system: 0.00 s, elapsed: 0.00 s\n";
        assert_eq!(
            stderr_items(log),
            vec![
                "entry 1: \"canceling autovacuum task\" ctx=Some(\"while scanning block 4 of \
                 relation \\\"public.slow\\\"\\nautomatic vacuum of table \
                 \\\"postgres.public.slow\\\"\") stmt=None"
                    .to_string(),
                "other".to_string(),
                "unrecognised 5: garbage line".to_string(),
                "entry 6: \"automatic analyze of table \\\"a.b.c\\\"\\nsystem usage: CPU: user: \
                 0.00 s, system: 0.00 s, elapsed: 0.00 s\" ctx=None stmt=None"
                    .to_string(),
            ]
        );
    }

    #[test]
    fn a_detail_line_of_another_process_is_not_attached() {
        let log = "2026-12-01 08:43:48.360 UTC [1] LOG:  process 1 still waiting for X on y after 1.0 ms\n\
                   2026-12-01 08:43:48.360 UTC [2] DETAIL:  Process holding the lock: 5. Wait queue: 1.\n";
        let items = stderr_items(log);
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(items.contains(&"other".to_string()), "{items:?}");
        assert!(items.iter().any(|i| i.starts_with("entry 1")), "{items:?}");
    }

    #[test]
    fn invalid_utf8_and_a_leading_continuation_are_shown_not_dropped() {
        let prefix = Prefix::new("%m [%p] ").unwrap();
        let mut unrecognised = 0;
        let bytes: &[u8] = b"\tstray\n\xff\xfe\n";
        stderr(&mut &bytes[..], &prefix, |item| {
            if matches!(item, Item::Unrecognised { .. }) {
                unrecognised += 1;
            }
        })
        .unwrap();
        assert_eq!(unrecognised, 2);
    }

    #[test]
    fn formats_from_names_and_first_lines() {
        assert_eq!(
            InputFormat::from_name("postgresql-Mon.csv.gz"),
            Some(InputFormat::Csvlog)
        );
        assert_eq!(InputFormat::from_name("x.json"), Some(InputFormat::Jsonlog));
        assert_eq!(InputFormat::from_name("postgresql.log"), None);
        let prefix = Prefix::new(super::super::prefix::DEFAULT).unwrap();
        let csv = "2026-12-01 08:43:45.809 UTC,,,22003,,6b0e88c1.55f3,1,,2026-12-01 08:43:45 \
                   UTC,,0,LOG,00000,\"database system was shut down\",,,,,,,,,\"\"\n";
        assert_eq!(
            sniff(&mut csv.as_bytes(), &prefix).unwrap(),
            InputFormat::Csvlog
        );
        assert_eq!(
            sniff(&mut "{\"timestamp\":1}\n".as_bytes(), &prefix).unwrap(),
            InputFormat::Jsonlog
        );
        assert_eq!(
            sniff(
                &mut "2026-12-01 08:43:48.360 UTC [1] LOG:  x\n".as_bytes(),
                &prefix
            )
            .unwrap(),
            InputFormat::Stderr
        );
    }
}
