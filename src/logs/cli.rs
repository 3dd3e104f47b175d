//! The flags of `pgvac logs` and of `pgvac report --log`, resolved once into [`ReadOptions`].

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::{InputFormat, Prefix, ReadOptions, Summary, read_files};

pub const LOGS_ABOUT: &str = "\
Reads the autovacuum and autoanalyze entries of PostgreSQL 12-18 server logs and sums up what \
autovacuum did: per table (sorted by where the time went), per database and per hour, with worker \
concurrency. Runs of each kind (aggressive, anti-wraparound), durations (total, median, p95, max), \
index passes, dead rows removed and left behind (and the horizon that kept them), pages scanned, \
WAL, read rate, cancellations (and, with log_lock_waits, the lock request that caused them), lock \
skips, failsafe, workers that took too long to start, orphaned temp tables dropped, wraparound \
warnings.

Formats: stderr with any log_line_prefix (--prefix; `rds` names the RDS default), csvlog, jsonlog \
(15+); found from the file name (.csv, .json) or the first line. `-` reads stdin; gzip is read \
transparently. Messages must be in English (lc_messages C or en).

The server logs the runs longer than log_autovacuum_min_duration only: set it to 0 (or a few \
seconds) to have every run. Lines that are not of the format are counted and shown (a wrong \
--prefix shows there); they never stop the reading.

Exit status: 0 read; 3 a file could not be read or has no entry of the format.";

/// `pgvac logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Log files (`-` for stdin; .gz is read transparently), in the order they were written.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// The server's log_line_prefix, for stderr logs (`rds`: the RDS default
    /// `%t:%r:%u@%d:[%p]:`).
    #[arg(long, default_value = super::prefix::DEFAULT, value_name = "PREFIX")]
    pub prefix: String,
    /// The log format [default: from the file name, else from its first line].
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<InputFormat>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: LogsFormat,
    /// autovacuum_max_workers, to count when every worker was busy.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub max_workers: u32,
    /// Show at most N tables (table and markdown).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub top: Option<u32>,
    /// Columns the table fits in [default: 100].
    #[arg(long, value_name = "COLUMNS", value_parser = clap::value_parser!(u16).range(60..=1000))]
    pub width: Option<u16>,
    /// Write to FILE (atomically) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Output formats of `pgvac logs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogsFormat {
    /// A table for people.
    Table,
    /// One JSON object (schema: docs/logs.schema.json).
    Json,
    /// Markdown.
    Markdown,
}

/// The log flags of `pgvac report`.
#[derive(Debug, Args, Clone, Default)]
pub struct ReportLogArgs {
    /// Add findings from this server log (repeatable; `-` for stdin, .gz read transparently):
    /// the LOG rules.
    #[arg(long = "log", value_name = "FILE")]
    pub logs: Vec<PathBuf>,
    /// With --log: the server's log_line_prefix (`rds`: the RDS default).
    #[arg(long, value_name = "PREFIX", requires = "logs")]
    pub log_prefix: Option<String>,
    /// With --log: the log format [default: from the file name, else its first line].
    #[arg(long, value_enum, value_name = "FORMAT", requires = "logs")]
    pub log_format: Option<InputFormat>,
}

fn options(prefix: &str, format: Option<InputFormat>) -> Result<ReadOptions> {
    Ok(ReadOptions {
        prefix: Prefix::new(prefix)?,
        format,
    })
}

impl ReportLogArgs {
    /// Read the logs, when any were given.
    pub fn read(&self) -> Result<Option<Summary>> {
        if self.logs.is_empty() {
            return Ok(None);
        }
        let prefix = self.log_prefix.as_deref().unwrap_or(super::prefix::DEFAULT);
        Ok(Some(read_files(
            &self.logs,
            &options(prefix, self.log_format)?,
        )?))
    }
}

/// The snapshot's `autovacuum_max_workers`, for counting when every worker was busy.
pub fn max_workers(snapshot: &crate::snapshot::Snapshot) -> u32 {
    let workers = crate::analysis::autovacuum::GlobalSettings::from_snapshot(snapshot).max_workers;
    u32::try_from(workers.max(1)).unwrap_or(u32::MAX)
}

/// Run `pgvac logs`.
pub fn run(args: &LogsArgs) -> Result<u8> {
    let summary = read_files(&args.files, &options(&args.prefix, args.log_format)?)?;
    let summary = summary.finish(args.max_workers);
    let options = super::render::Options {
        top: args.top.map(|n| n as usize),
        width: args.width.map_or(crate::render::DEFAULT_WIDTH, usize::from),
    };
    crate::cli::write_output(args.output.as_deref(), |out| {
        match args.format {
            LogsFormat::Table => super::render::table(out, &summary, &options)?,
            LogsFormat::Markdown => super::render::markdown(out, &summary, &options)?,
            LogsFormat::Json => {
                serde_json::to_writer_pretty(&mut *out, &summary)?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    Ok(0)
}
