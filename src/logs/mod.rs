//! What autovacuum did, from the server log: `pgvac logs FILE...` and `pgvac report --log`.
//!
//! The catalog says what autovacuum should do; the log says what it did. This module reads the
//! autovacuum entries of PostgreSQL 12-18 logs in each format the server writes and sums them up
//! per table, database and hour:
//!
//! ```text
//! files -> read (stderr | csvlog | jsonlog, gzip) -> Entry -> event::interpret -> Record
//!       -> summary::Summary (counters, one pass) -> LogSummary -> render / rules
//! ```
//!
//! Reading is a pure, streaming function of the lines: nothing but counters and bounded samples
//! is kept, so a log of any size is read in one pass in constant memory per table and hour.
//! Nothing here talks to PostgreSQL. A line that is not of the format, or part of an entry pgvac
//! cannot read, is counted and shown in the summary, never dropped; a field that does not parse
//! leaves that field empty and the rest of the file is read on.

pub mod cli;
#[cfg(test)]
mod corpus;
pub mod event;
pub mod prefix;
pub mod read;
pub mod render;
pub mod summary;
pub mod time;

use std::io::BufRead;
use std::path::{Path, PathBuf};

pub use prefix::Prefix;
pub use read::InputFormat;
pub use summary::{LogSummary, Summary, TableSummary};

/// How to read the files.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub prefix: Prefix,
    /// `None`: from the file name, else from the first line.
    pub format: Option<InputFormat>,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("could not read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "none of the {lines} lines of {path} is a {format} log entry with log_line_prefix \
         {prefix:?}: give the server's log_line_prefix with --prefix (or --log-format if it is \
         not a stderr log)"
    )]
    NoEntries {
        path: String,
        lines: u64,
        format: &'static str,
        prefix: String,
    },
}

/// Read one log into `summary`, streaming. `path` names it in the summary and errors.
pub fn read_log(
    summary: &mut Summary,
    path: &str,
    input: &mut dyn BufRead,
    options: &ReadOptions,
) -> Result<(), LogError> {
    let io = |source| LogError::Io {
        path: path.to_string(),
        source,
    };
    let format = match options.format.or_else(|| InputFormat::from_name(path)) {
        Some(format) => format,
        None => read::sniff(input, &options.prefix).map_err(io)?,
    };
    summary.start_file(path, format);
    let mut each = |item: read::Item| match item {
        read::Item::Entry(entry) => match event::interpret(&entry) {
            Some(record) => summary.record(record),
            None => summary.other(),
        },
        read::Item::Other => summary.other(),
        read::Item::Unrecognised { line, text } => summary.unrecognised(line, text),
    };
    match format {
        InputFormat::Stderr => read::stderr(input, &options.prefix, &mut each),
        InputFormat::Csvlog => read::csvlog(input, &mut each),
        InputFormat::Jsonlog => read::jsonlog(input, &mut each),
    }
    .map_err(io)?;
    let (unrecognised, entries) = summary.file_counts();
    if entries == 0 && unrecognised > 0 {
        return Err(LogError::NoEntries {
            path: path.to_string(),
            lines: unrecognised,
            format: format.as_str(),
            prefix: options.prefix.text.clone(),
        });
    }
    Ok(())
}

/// Read every file (`-` is stdin), gzip or not, into one summary.
pub fn read_files(paths: &[PathBuf], options: &ReadOptions) -> Result<Summary, LogError> {
    let mut summary = Summary::new();
    for path in paths {
        let name = path.display().to_string();
        let io = |source| LogError::Io {
            path: name.clone(),
            source,
        };
        if path == Path::new("-") {
            let stdin = std::io::stdin();
            let mut input = read::decompressed(stdin.lock()).map_err(io)?;
            read_log(&mut summary, "-", &mut input, options)?;
        } else {
            let file = std::fs::File::open(path).map_err(io)?;
            let mut input = read::decompressed(file).map_err(io)?;
            read_log(&mut summary, &name, &mut input, options)?;
        }
    }
    Ok(summary)
}

/// Parse log text (any format, with `prefix` for stderr) into a summary: for tests and fuzzing.
pub fn summarise_text(text: &[u8], prefix: &Prefix, format: Option<InputFormat>) -> Summary {
    let mut summary = Summary::new();
    let options = ReadOptions {
        prefix: prefix.clone(),
        format,
    };
    let mut input = text;
    let _ = read_log(&mut summary, "input", &mut input, &options);
    summary
}
