//! Output formats. Each format is one module with one function that writes a [`Report`] into any
//! `io::Write`, so formats are testable without a terminal and new ones slot in beside these.
//!
//! Errors go to stderr and never through here; this is data for stdout or a file.

pub mod json;
pub mod rules;
pub mod table;

use chrono::{DateTime, Utc};

use crate::findings::Finding;
use crate::history::Trends;
use crate::snapshot::{CollectionWarning, PlatformKind, Snapshot};

/// What a report shows: the findings in display order, and where they come from.
pub struct Report<'s> {
    pub server_version: &'s str,
    pub server_version_num: i32,
    pub platform: PlatformKind,
    pub collected_at: DateTime<Utc>,
    /// Databases whose tables were read.
    pub databases_visited: usize,
    pub databases_total: usize,
    pub collection_warnings: &'s [CollectionWarning],
    pub findings: &'s [Finding],
    /// Trends against earlier runs, with `--history`.
    pub trends: Option<&'s Trends>,
}

impl<'s> Report<'s> {
    pub fn new(snapshot: &'s Snapshot, findings: &'s [Finding]) -> Report<'s> {
        Report {
            server_version: &snapshot.server.version,
            server_version_num: snapshot.server.version_num,
            platform: snapshot.server.platform.kind,
            collected_at: snapshot.server.collected_at,
            databases_visited: snapshot
                .databases
                .iter()
                .filter(|d| d.visit == crate::snapshot::Visit::Visited)
                .count(),
            databases_total: snapshot.databases.len(),
            collection_warnings: &snapshot.warnings,
            findings,
            trends: None,
        }
    }

    /// Counts by severity: (critical, warning, info).
    pub fn counts(&self) -> (usize, usize, usize) {
        use crate::findings::Severity;
        let count = |s| self.findings.iter().filter(|f| f.severity == s).count();
        (
            count(Severity::Critical),
            count(Severity::Warning),
            count(Severity::Info),
        )
    }
}

/// Output formats of `pgvac report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A table for people.
    Table,
    /// One JSON object (schema_version, pgvac_version, findings, ...).
    Json,
}

/// Write a report in a format.
pub fn write(out: &mut dyn std::io::Write, format: Format, report: &Report) -> std::io::Result<()> {
    match format {
        Format::Table => table::write(out, report),
        Format::Json => json::write(out, report),
    }
}
