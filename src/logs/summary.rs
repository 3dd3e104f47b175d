//! The per-table, per-database and per-hour summary of what autovacuum did, built in one pass.
//!
//! [`Summary`] takes [`Record`]s as they are read and keeps only counters: per table, per
//! database, per hour, a histogram of durations (exact median and p95 at the log's 10 ms
//! resolution), the points where logged runs start and end (for worker concurrency), and a few
//! bounded samples. Memory grows with the number of tables, the hours the log spans and the
//! distinct run durations, never with the number of lines. [`Summary::finish`] turns it into a
//! [`LogSummary`], the document `pgvac logs --format json` prints (schema:
//! `docs/logs.schema.json`) and the LOG rules read.
//!
//! Runs are timed by `elapsed` in their `system usage` line and placed on the clock by the
//! entry's timestamp, which the server writes when the run ends: a run covers
//! `[time - elapsed, time]`. Concurrency counts logged runs only: with
//! `log_autovacuum_min_duration` above 0 the shorter runs are missing, so it is a lower bound.
//!
//! A lock skip names only the relation (`skipping vacuum of "t"`), and an autovacuum worker has
//! no database in the log prefix: such rows keep the schema (and usually the database) unknown,
//! rather than guessing which table of that name it was.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::event::{Action, Event, IdKind, IndexScan, Record, SkipReason, TableName, Vacuum};
use super::read::InputFormat;
use super::time::LogTime;

/// The version of the `pgvac logs` JSON document; additive changes keep it.
pub const SCHEMA_VERSION: u32 = 1;

/// Where the JSON Schema of [`LogSummary`] is committed.
pub const SCHEMA_PATH: &str = "docs/logs.schema.json";

/// The JSON Schema of the `pgvac logs --format json` document.
pub fn schema() -> String {
    crate::render::json::schema_of::<LogSummary>()
}

/// How many examples of unreadable lines are kept.
const SAMPLES: usize = 20;
/// How many failsafe, start-timeout and orphan events are listed.
const LISTED: usize = 100;
/// A cancellation and the lock wait that caused it are logged within this many ms.
const CONFLICT_WINDOW_MS: i64 = 10_000;
/// A lock wait logged this close to a cancellation, whose detail no longer names the worker
/// (it was cancelled before the wait was logged), is taken as its cause.
const RACE_WINDOW_MS: i64 = 1_000;
/// Conflicting requests remembered per table.
const CONFLICTS_PER_TABLE: usize = 10;

/// A key for a row of the table list: a table named in full, or a relation a skip named.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct RowKey {
    database: Option<String>,
    schema: Option<String>,
    name: String,
}

impl RowKey {
    fn table(name: &TableName) -> RowKey {
        RowKey {
            database: Some(name.database.clone()),
            schema: Some(name.schema.clone()),
            name: name.name.clone(),
        }
    }
}

/// Durations in centiseconds (the log's resolution) and how often each was seen.
#[derive(Debug, Clone, Default)]
struct Durations {
    counts: BTreeMap<u64, u64>,
    total: f64,
}

impl Durations {
    fn add(&mut self, seconds: f64) {
        let centis = (seconds * 100.0).round().max(0.0) as u64;
        *self.counts.entry(centis).or_default() += 1;
        self.total += seconds;
    }

    fn count(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Nearest-rank quantile.
    fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (&centis, &count) in &self.counts {
            seen += count;
            if seen >= rank {
                return Some(centis as f64 / 100.0);
            }
        }
        None
    }

    fn stats(&self) -> DurationStats {
        DurationStats {
            runs: self.count(),
            total_s: round3(self.total),
            median_s: self.quantile(0.5),
            p95_s: self.quantile(0.95),
            max_s: self.counts.keys().next_back().map(|&c| c as f64 / 100.0),
        }
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Sum, median, p95 and maximum of run durations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DurationStats {
    /// Runs with a duration.
    pub runs: u64,
    pub total_s: f64,
    /// Nearest-rank median, at the log's 10 ms resolution.
    pub median_s: Option<f64>,
    pub p95_s: Option<f64>,
    pub max_s: Option<f64>,
}

#[derive(Debug, Clone, Default)]
struct TableAcc {
    vacuums: u64,
    aggressive: u64,
    anti_wraparound: u64,
    anti_wraparound_not_aggressive: u64,
    analyzes: u64,
    vacuum_time: Durations,
    analyze_time: Durations,
    index_scans: u64,
    max_index_scans: u32,
    multi_pass: u64,
    index_scan_bypassed: u64,
    tuples_removed: u64,
    not_removable: u64,
    worst_not_removable: Option<NotRemovable>,
    missed: u64,
    pages_scanned: u64,
    pages_of_scanned_runs: u64,
    pages_last: Option<u64>,
    frozen_pages: u64,
    tuples_frozen: u64,
    wal_bytes: u64,
    wal_fpi: u64,
    buffer_reads: u64,
    buffer_hits: u64,
    buffer_dirtied: u64,
    /// Σ rate x elapsed, for the duration-weighted average rates.
    read_mb: f64,
    write_mb: f64,
    rated_seconds: f64,
    io_read_ms: f64,
    delay_ms: f64,
    delay_runs: u64,
    cancelled_vacuum: u64,
    cancelled_analyze: u64,
    cancel_unexplained: u64,
    failed: u64,
    failsafe: u64,
    skipped_vacuum: u64,
    skipped_analyze: u64,
    gone: u64,
    conflicts: BTreeMap<(String, Option<String>, bool), u64>,
    first: Option<LogTime>,
    last: Option<LogTime>,
    last_vacuum: Option<LogTime>,
}

/// The run that left the most dead rows behind.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct NotRemovable {
    pub at: Option<String>,
    pub tuples_not_removable: u64,
    pub tuples_removed: Option<u64>,
    /// `removable cutoff` (15+) or `oldest xmin` (12-14): the horizon the run had to keep.
    pub cutoff_xid: Option<u64>,
    /// How many XIDs old the cutoff was when the run ended (15+).
    pub cutoff_age: Option<i64>,
    /// The pid of the worker.
    pub pid: Option<i32>,
}

#[derive(Debug, Clone, Default)]
struct DatabaseAcc {
    vacuums: u64,
    analyzes: u64,
    anti_wraparound: u64,
    vacuum_time: Durations,
    analyze_time: Durations,
    cancelled: u64,
    failed: u64,
}

#[derive(Debug, Clone, Default)]
struct HourAcc {
    label: String,
    vacuums: u64,
    analyzes: u64,
    busy_s: f64,
    cancelled: u64,
    skipped: u64,
}

#[derive(Debug, Clone)]
struct RecentWait {
    at: i64,
    waiter: i32,
    holders: Vec<i32>,
    description: (String, Option<String>, bool),
}

impl RecentWait {
    /// Whether this wait explains the cancellation of worker `pid` at `at`: `Some(true)` when
    /// its detail names the worker as the holder, `Some(false)` when it names no other process
    /// and was logged within [`RACE_WINDOW_MS`] of it.
    fn names(&self, pid: i32, at: i64) -> Option<bool> {
        let gap = (at - self.at).abs();
        if self.holders.contains(&pid) && gap <= CONFLICT_WINDOW_MS {
            return Some(true);
        }
        let no_other = self.holders.iter().all(|&h| h == self.waiter);
        (no_other && gap <= RACE_WINDOW_MS).then_some(false)
    }
}

#[derive(Debug, Clone)]
struct RecentCancel {
    at: i64,
    pid: i32,
    key: RowKey,
}

/// A line pgvac could not read, and where.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Sample {
    pub file: String,
    pub line: u64,
    pub text: String,
}

/// Counted lines of one kind, with the first few.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Samples {
    pub count: u64,
    /// The first ones, at most 20.
    pub first: Vec<Sample>,
}

impl Samples {
    fn add(&mut self, file: &str, line: u64, text: &str) {
        self.count += 1;
        if self.first.len() < SAMPLES {
            let mut end = text.len().min(300);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            self.first.push(Sample {
                file: file.to_string(),
                line,
                text: text[..end].to_string(),
            });
        }
    }
}

/// One file read.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FileSummary {
    pub path: String,
    pub format: InputFormat,
    /// Entries of the format (with their extra lines), about autovacuum or not.
    pub entries: u64,
    /// Entries about autovacuum.
    pub autovacuum_entries: u64,
    /// Lines that are not of the format.
    pub unrecognised: u64,
}

/// The accumulators of one pass.
#[derive(Debug, Default)]
pub struct Summary {
    files: Vec<FileSummary>,
    current_file: String,
    first: Option<LogTime>,
    last: Option<LogTime>,
    rows: BTreeMap<RowKey, TableAcc>,
    databases: BTreeMap<String, DatabaseAcc>,
    hours: BTreeMap<i64, HourAcc>,
    /// Concurrency of the logged runs.
    sweep: Sweep,
    failsafe: Vec<Failsafe>,
    failsafe_count: u64,
    start_timeouts: Vec<String>,
    start_timeout_count: u64,
    orphans: Vec<OrphanTempTable>,
    orphan_count: u64,
    wraparound: BTreeMap<(IdKind, bool, Option<String>), WraparoundAcc>,
    far_in_past: FarInPast,
    problems: Samples,
    unrecognised: Samples,
    waits: VecDeque<RecentWait>,
    cancels: VecDeque<RecentCancel>,
    lock_waits: u64,
    counts: Counts,
}

#[derive(Debug, Clone, Default)]
struct WraparoundAcc {
    count: u64,
    min_remaining: Option<u64>,
    first: Option<LogTime>,
    last: Option<LogTime>,
}

/// Totals over the whole log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Counts {
    pub vacuums: u64,
    pub aggressive_vacuums: u64,
    pub anti_wraparound_vacuums: u64,
    pub analyzes: u64,
    pub cancelled: u64,
    /// Other errors of autovacuum tasks.
    pub failed: u64,
    pub skipped_lock: u64,
    pub skipped_gone: u64,
    pub failsafe: u64,
    pub worker_start_timeouts: u64,
    pub orphan_temp_tables_dropped: u64,
    pub wraparound_messages: u64,
    pub horizon_far_in_past: u64,
    /// `log_lock_waits` entries (used to name what cancelled a vacuum).
    pub lock_waits: u64,
    pub vacuum_s: f64,
    pub analyze_s: f64,
}

/// A failsafe that fired.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Failsafe {
    pub at: Option<String>,
    pub table: Option<TableName>,
    pub index_scans: Option<u32>,
}

/// An orphaned temporary table autovacuum dropped.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OrphanTempTable {
    pub at: Option<String>,
    pub table: Option<TableName>,
}

/// Wraparound warnings or stops of one kind for one database.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WraparoundMessages {
    pub id: IdKind,
    /// The server refused new IDs (`is not accepting commands`), rather than warned.
    pub stopped: bool,
    /// By name, or `OID n`.
    pub database: Option<String>,
    pub count: u64,
    /// The fewest IDs the warnings said were left.
    pub min_remaining: Option<u64>,
    pub first: Option<String>,
    pub last: Option<String>,
}

/// `far in the past` warnings: the horizon was so old that vacuum could not freeze enough.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct FarInPast {
    pub xid: u64,
    pub multixact: u64,
    pub first: Option<String>,
    pub last: Option<String>,
}

/// One table (or relation named by a lock skip): what autovacuum did to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TableSummary {
    /// Unknown for relations only a lock skip named (an autovacuum worker's prefix has no
    /// database).
    pub database: Option<String>,
    /// Unknown for relations only a lock skip named.
    pub schema: Option<String>,
    pub name: String,
    pub vacuums: u64,
    pub aggressive_vacuums: u64,
    /// Forced (`to prevent wraparound`) vacuums.
    pub anti_wraparound_vacuums: u64,
    /// Forced vacuums that were not aggressive: the table's freeze max age is below the freeze
    /// table age, so they cannot advance relfrozenxid much and come back.
    pub anti_wraparound_not_aggressive: u64,
    pub analyzes: u64,
    pub vacuum_time: DurationStats,
    pub analyze_time: DurationStats,
    /// Seconds of vacuum and analyze together: what the list is sorted by.
    pub total_s: f64,
    pub index_scans: u64,
    pub max_index_scans: u32,
    /// Vacuums that scanned the indexes more than once (memory full).
    pub multi_pass_vacuums: u64,
    /// Vacuums that skipped index vacuuming (`index scan bypassed`, 14+).
    pub index_scan_bypassed: u64,
    pub tuples_removed: u64,
    /// Dead rows left because the horizon still needed them, summed over runs.
    pub tuples_not_removable: u64,
    /// The run that left the most.
    pub worst_not_removable: Option<NotRemovable>,
    /// Dead rows left for a busy cleanup lock (15+).
    pub tuples_missed: u64,
    /// Heap pages scanned (15+) and the pages of those runs' tables.
    pub pages_scanned: u64,
    pub pages_of_scanned_runs: u64,
    /// Pages the table had after its last vacuum.
    pub pages_last: Option<u64>,
    pub frozen_pages: u64,
    pub tuples_frozen: u64,
    pub wal_bytes: u64,
    pub wal_fpi: u64,
    pub buffer_hits: u64,
    /// Buffers read (`misses`, 18 `reads`).
    pub buffer_reads: u64,
    pub buffer_dirtied: u64,
    /// Average read and write rate over the runs, weighted by their duration (MB/s as the server
    /// computes them).
    pub read_rate_mbs: Option<f64>,
    pub write_rate_mbs: Option<f64>,
    /// With `track_io_timing`.
    pub io_read_ms: f64,
    /// With `track_cost_delay_timing` (18): time spent sleeping in cost delay.
    pub delay_ms: Option<f64>,
    pub cancelled_vacuums: u64,
    pub cancelled_analyzes: u64,
    /// What the cancelling lock request was, from `log_lock_waits` entries, and how often.
    pub conflicts: Vec<Conflict>,
    /// Cancellations for which the log names no conflicting request (log_lock_waits off).
    pub cancelled_without_known_conflict: u64,
    pub failed: u64,
    pub failsafe: u64,
    pub skipped_vacuums: u64,
    pub skipped_analyzes: u64,
    /// `relation no longer exists` skips.
    pub skipped_gone: u64,
    pub first: Option<String>,
    pub last: Option<String>,
    pub last_vacuum: Option<String>,
}

impl TableSummary {
    /// `db.schema.name`, with `?` for what the log does not say.
    pub fn display(&self) -> String {
        format!(
            "{}.{}.{}",
            self.database.as_deref().unwrap_or("?"),
            self.schema.as_deref().unwrap_or("?"),
            self.name
        )
    }

    pub fn cancelled(&self) -> u64 {
        self.cancelled_vacuums + self.cancelled_analyzes
    }

    pub fn skipped(&self) -> u64 {
        self.skipped_vacuums + self.skipped_analyzes
    }
}

/// A lock request that cancelled autovacuum on a table (from `log_lock_waits`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Conflict {
    /// The lock mode requested: `AccessExclusiveLock`, `ShareLock`, ...
    pub mode: String,
    /// The statement that asked for it, when the log has it (whitespace folded, 200 characters).
    pub statement: Option<String>,
    /// True when the wait's detail names the cancelled worker as the lock holder; false when
    /// the worker was already gone when the wait was logged and only the times (within 1 s)
    /// and a wait naming no other holder tie them: the likely cause, not a certain one.
    pub named_by_holder: bool,
    pub count: u64,
}

impl Conflict {
    /// What usually asks for this lock mode, in the terms of the SQL a DBA would look for.
    pub fn usual_sources(&self) -> &'static str {
        lock_sources(&self.mode)
    }
}

/// What takes a lock mode that conflicts with autovacuum's SHARE UPDATE EXCLUSIVE.
pub fn lock_sources(mode: &str) -> &'static str {
    match mode {
        "AccessExclusiveLock" => {
            "DDL (ALTER TABLE, DROP, TRUNCATE), LOCK TABLE, VACUUM FULL, CLUSTER, REINDEX"
        }
        "ExclusiveLock" => {
            "REFRESH MATERIALIZED VIEW CONCURRENTLY or LOCK TABLE ... IN EXCLUSIVE MODE"
        }
        "ShareRowExclusiveLock" => "CREATE TRIGGER, ALTER TABLE ... ADD FOREIGN KEY",
        "ShareLock" => "CREATE INDEX (without CONCURRENTLY)",
        "ShareUpdateExclusiveLock" => {
            "a manual VACUUM or ANALYZE, CREATE INDEX CONCURRENTLY, ALTER TABLE ... SET (...)"
        }
        _ => "a lock request that conflicts with SHARE UPDATE EXCLUSIVE",
    }
}

/// One database.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DatabaseSummary {
    pub database: String,
    pub vacuums: u64,
    pub analyzes: u64,
    pub anti_wraparound_vacuums: u64,
    pub vacuum_time: DurationStats,
    pub analyze_time: DurationStats,
    pub cancelled: u64,
    pub failed: u64,
}

/// One hour of the log's clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HourSummary {
    /// `2026-12-01 08:00 UTC`.
    pub hour: String,
    pub vacuums: u64,
    pub analyzes: u64,
    /// Seconds of the runs that ended in this hour.
    pub busy_s: f64,
    pub cancelled: u64,
    pub skipped: u64,
    /// Most logged runs at the same moment in this hour.
    pub max_concurrent: u32,
    /// Seconds in this hour with at least `max_workers` logged runs at once.
    pub all_busy_s: f64,
}

/// Logged runs at the same time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Concurrency {
    /// `autovacuum_max_workers` as given (`--max-workers`, or the snapshot's with `report`).
    pub max_workers: u32,
    pub max_concurrent: u32,
    /// Seconds with exactly `workers` logged runs at once, for each count seen (0 left out).
    pub seconds_by_runs: Vec<LevelSeconds>,
    /// Seconds with at least `max_workers` runs at once, and their share of the time between
    /// the first and the last run.
    pub all_busy_s: f64,
    pub all_busy_share: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LevelSeconds {
    pub runs: u32,
    pub seconds: f64,
}

/// Everything `pgvac logs` found: the JSON document (`docs/logs.schema.json`).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LogSummary {
    pub schema_version: u32,
    pub pgvac_version: String,
    pub files: Vec<FileSummary>,
    /// The first and last timestamps of autovacuum entries.
    pub first: Option<String>,
    pub last: Option<String>,
    pub totals: Counts,
    /// Tables, the most vacuum and analyze time first; then relations only skips named.
    pub tables: Vec<TableSummary>,
    pub databases: Vec<DatabaseSummary>,
    pub hours: Vec<HourSummary>,
    pub concurrency: Concurrency,
    pub failsafe: Vec<Failsafe>,
    pub worker_start_timeouts: Vec<String>,
    pub orphan_temp_tables: Vec<OrphanTempTable>,
    pub wraparound: Vec<WraparoundMessages>,
    pub horizon_far_in_past: FarInPast,
    /// Entries about autovacuum with lines or fields pgvac could not read.
    pub problems: Samples,
    /// Lines that are not of the format (a wrong `--prefix` shows here).
    pub unrecognised: Samples,
}

fn text(time: Option<LogTime>) -> Option<String> {
    time.map(|t| t.to_string())
}

fn earliest(a: &mut Option<LogTime>, b: Option<LogTime>) {
    if let Some(b) = b
        && a.is_none_or(|a| b.millis < a.millis)
    {
        *a = Some(b);
    }
}

fn latest(a: &mut Option<LogTime>, b: Option<LogTime>) {
    if let Some(b) = b
        && a.is_none_or(|a| b.millis >= a.millis)
    {
        *a = Some(b);
    }
}

impl Summary {
    pub fn new() -> Summary {
        Summary::default()
    }

    /// Start a new file; what follows is counted for it.
    pub fn start_file(&mut self, path: &str, format: InputFormat) {
        self.current_file = path.to_string();
        self.files.push(FileSummary {
            path: path.to_string(),
            format,
            entries: 0,
            autovacuum_entries: 0,
            unrecognised: 0,
        });
    }

    fn file(&mut self) -> Option<&mut FileSummary> {
        self.files.last_mut()
    }

    /// An entry that is not about autovacuum.
    pub fn other(&mut self) {
        if let Some(file) = self.file() {
            file.entries += 1;
        }
    }

    /// A line that is not of the format.
    pub fn unrecognised(&mut self, line: u64, text: &str) {
        if let Some(file) = self.file() {
            file.unrecognised += 1;
        }
        let file = self.current_file.clone();
        self.unrecognised.add(&file, line, text);
    }

    /// Lines of the files read so far that were not of the format, and entries that were.
    pub fn file_counts(&self) -> (u64, u64) {
        self.files
            .last()
            .map_or((0, 0), |f| (f.unrecognised, f.entries))
    }

    fn hour(&mut self, time: Option<LogTime>) -> Option<&mut HourAcc> {
        let time = time?;
        let hour = time.hour();
        Some(self.hours.entry(hour.millis).or_insert_with(|| HourAcc {
            label: hour.hour_label(),
            ..HourAcc::default()
        }))
    }

    fn row(&mut self, key: RowKey, time: Option<LogTime>) -> &mut TableAcc {
        let row = self.rows.entry(key).or_default();
        earliest(&mut row.first, time);
        latest(&mut row.last, time);
        row
    }

    /// An entry about autovacuum.
    pub fn record(&mut self, record: Record) {
        if let Some(file) = self.file() {
            file.entries += 1;
            file.autovacuum_entries += 1;
        }
        let file = self.current_file.clone();
        for problem in &record.problems {
            self.problems.add(&file, record.line, problem);
        }
        let time = record.time;
        if !matches!(
            record.event,
            Event::LockWait { .. } | Event::WorkerDatabase { .. }
        ) {
            earliest(&mut self.first, time);
            latest(&mut self.last, time);
        }
        match record.event {
            Event::Vacuum(vacuum) => self.vacuum(&vacuum, time, record.pid),
            Event::Analyze(analyze) => {
                self.counts.analyzes += 1;
                let elapsed = analyze.usage.elapsed_s;
                self.run(time, elapsed);
                if let Some(hour) = self.hour(time) {
                    hour.analyzes += 1;
                }
                let Some(table) = &analyze.table else {
                    return;
                };
                let database = self.databases.entry(table.database.clone()).or_default();
                database.analyzes += 1;
                if let Some(seconds) = elapsed {
                    database.analyze_time.add(seconds);
                    self.counts.analyze_s += seconds;
                }
                let row = self.row(RowKey::table(table), time);
                row.analyzes += 1;
                if let Some(seconds) = elapsed {
                    row.analyze_time.add(seconds);
                }
                usage(row, &analyze.usage);
            }
            Event::Skipped {
                action,
                relation,
                reason,
            } => {
                match reason {
                    SkipReason::LockNotAvailable => self.counts.skipped_lock += 1,
                    SkipReason::RelationGone => self.counts.skipped_gone += 1,
                }
                if let Some(hour) = self.hour(time) {
                    hour.skipped += 1;
                }
                let key = RowKey {
                    database: None,
                    schema: None,
                    name: relation,
                };
                let row = self.row(key, time);
                match (reason, action) {
                    (SkipReason::RelationGone, _) => row.gone += 1,
                    (_, Action::Vacuum) => row.skipped_vacuum += 1,
                    (_, Action::Analyze) => row.skipped_analyze += 1,
                }
            }
            Event::Cancelled { action, table, .. } => {
                self.counts.cancelled += 1;
                if let Some(hour) = self.hour(time) {
                    hour.cancelled += 1;
                }
                let Some(table) = table else {
                    return;
                };
                self.databases
                    .entry(table.database.clone())
                    .or_default()
                    .cancelled += 1;
                let key = RowKey::table(&table);
                let row = self.row(key.clone(), time);
                match action {
                    Action::Vacuum => row.cancelled_vacuum += 1,
                    Action::Analyze => row.cancelled_analyze += 1,
                }
                self.explain_cancel(key, time, record.pid);
            }
            Event::Failed { table, .. } => {
                self.counts.failed += 1;
                if let Some(table) = table {
                    self.databases
                        .entry(table.database.clone())
                        .or_default()
                        .failed += 1;
                    self.row(RowKey::table(&table), time).failed += 1;
                }
            }
            Event::Failsafe { table, index_scans } => {
                self.counts.failsafe += 1;
                self.failsafe_count += 1;
                if let Some(table) = &table {
                    self.row(RowKey::table(table), time).failsafe += 1;
                }
                if self.failsafe.len() < LISTED {
                    self.failsafe.push(Failsafe {
                        at: text(time),
                        table,
                        index_scans,
                    });
                }
            }
            Event::WorkerStartTimeout => {
                self.counts.worker_start_timeouts += 1;
                self.start_timeout_count += 1;
                if self.start_timeouts.len() < LISTED
                    && let Some(time) = text(time)
                {
                    self.start_timeouts.push(time);
                }
            }
            Event::OrphanTempTable { table } => {
                self.counts.orphan_temp_tables_dropped += 1;
                self.orphan_count += 1;
                if self.orphans.len() < LISTED {
                    self.orphans.push(OrphanTempTable {
                        at: text(time),
                        table,
                    });
                }
            }
            Event::Wraparound {
                id,
                stopped,
                database,
                remaining,
            } => {
                self.counts.wraparound_messages += 1;
                let acc = self.wraparound.entry((id, stopped, database)).or_default();
                acc.count += 1;
                if let Some(remaining) = remaining {
                    acc.min_remaining =
                        Some(acc.min_remaining.map_or(remaining, |m| m.min(remaining)));
                }
                earliest(&mut acc.first, time);
                latest(&mut acc.last, time);
            }
            Event::HorizonFarInPast { multixact } => {
                self.counts.horizon_far_in_past += 1;
                if multixact {
                    self.far_in_past.multixact += 1;
                } else {
                    self.far_in_past.xid += 1;
                }
                if self.far_in_past.first.is_none() {
                    self.far_in_past.first = text(time);
                }
                self.far_in_past.last = text(time);
            }
            Event::LockWait {
                waiter,
                mode,
                holders,
                statement,
                ..
            } => {
                self.lock_waits += 1;
                self.counts.lock_waits = self.lock_waits;
                let statement = statement.map(|statement| {
                    let statement = statement.split_whitespace().collect::<Vec<_>>().join(" ");
                    let mut end = statement.len().min(200);
                    while !statement.is_char_boundary(end) {
                        end -= 1;
                    }
                    statement[..end].to_string()
                });
                let at = time.map_or(0, |t| t.millis);
                let wait = RecentWait {
                    at,
                    waiter,
                    holders,
                    description: (mode, statement, true),
                };
                // A cancellation logged just before the wait that caused it.
                let mut explained = None;
                self.cancels.retain(|cancel| {
                    let by = explained
                        .is_none()
                        .then(|| wait.names(cancel.pid, cancel.at))
                        .flatten();
                    if let Some(by_holder) = by {
                        explained = Some((cancel.key.clone(), by_holder));
                    }
                    by.is_none()
                });
                if let Some((key, by_holder)) = explained {
                    let mut description = wait.description.clone();
                    description.2 = by_holder;
                    self.conflict(&key, &description);
                }
                self.waits.push_back(wait);
                if self.waits.len() > 256 {
                    self.waits.pop_front();
                }
            }
            Event::WorkerDatabase { .. } => {}
        }
    }

    fn conflict(&mut self, key: &RowKey, description: &(String, Option<String>, bool)) {
        if let Some(row) = self.rows.get_mut(key) {
            row.cancel_unexplained = row.cancel_unexplained.saturating_sub(1);
            if row.conflicts.len() < CONFLICTS_PER_TABLE || row.conflicts.contains_key(description)
            {
                *row.conflicts.entry(description.clone()).or_default() += 1;
            }
        }
    }

    fn explain_cancel(&mut self, key: RowKey, time: Option<LogTime>, pid: Option<i32>) {
        if let Some(row) = self.rows.get_mut(&key) {
            row.cancel_unexplained += 1;
        }
        let (Some(pid), Some(time)) = (pid, time) else {
            return;
        };
        let at = time.millis;
        let wait = self.waits.iter().rev().find_map(|w| {
            w.names(pid, at).map(|by_holder| {
                let mut description = w.description.clone();
                description.2 = by_holder;
                description
            })
        });
        match wait {
            Some(description) => self.conflict(&key, &description),
            None => {
                self.cancels.push_back(RecentCancel { at, pid, key });
                if self.cancels.len() > 256 {
                    self.cancels.pop_front();
                }
            }
        }
    }

    /// A run that ended at `time` after `elapsed` seconds, for concurrency.
    fn run(&mut self, time: Option<LogTime>, elapsed: Option<f64>) {
        let (Some(time), Some(elapsed)) = (time, elapsed) else {
            return;
        };
        let millis = (elapsed * 1000.0).round() as i64;
        if millis <= 0 {
            return;
        }
        self.sweep.add(time.millis - millis, time.millis);
        if let Some(hour) = self.hour(Some(time)) {
            hour.busy_s += elapsed;
        }
    }

    fn vacuum(&mut self, vacuum: &Vacuum, time: Option<LogTime>, pid: Option<i32>) {
        self.counts.vacuums += 1;
        self.counts.aggressive_vacuums += u64::from(vacuum.aggressive);
        self.counts.anti_wraparound_vacuums += u64::from(vacuum.wraparound);
        let elapsed = vacuum.usage.elapsed_s;
        self.run(time, elapsed);
        if let Some(hour) = self.hour(time) {
            hour.vacuums += 1;
        }
        let Some(table) = &vacuum.table else {
            return;
        };
        let database = self.databases.entry(table.database.clone()).or_default();
        database.vacuums += 1;
        database.anti_wraparound += u64::from(vacuum.wraparound);
        if let Some(seconds) = elapsed {
            database.vacuum_time.add(seconds);
            self.counts.vacuum_s += seconds;
        }
        let row = self.row(RowKey::table(table), time);
        row.vacuums += 1;
        latest(&mut row.last_vacuum, time);
        row.aggressive += u64::from(vacuum.aggressive);
        row.anti_wraparound += u64::from(vacuum.wraparound);
        row.anti_wraparound_not_aggressive += u64::from(vacuum.wraparound && !vacuum.aggressive);
        if let Some(seconds) = elapsed {
            row.vacuum_time.add(seconds);
        }
        if let Some(scans) = vacuum.index_scans {
            row.index_scans += u64::from(scans);
            row.max_index_scans = row.max_index_scans.max(scans);
            row.multi_pass += u64::from(scans > 1);
        }
        if matches!(
            vacuum.index_scan,
            Some(IndexScan::Bypassed | IndexScan::BypassedByFailsafe)
        ) {
            row.index_scan_bypassed += 1;
        }
        row.tuples_removed += vacuum.tuples_removed.unwrap_or(0);
        row.missed += vacuum.tuples_missed.unwrap_or(0);
        if let Some(dead) = vacuum.tuples_not_removable {
            row.not_removable += dead;
            let worse = row
                .worst_not_removable
                .as_ref()
                .is_none_or(|w| dead > w.tuples_not_removable);
            if dead > 0 && worse {
                row.worst_not_removable = Some(NotRemovable {
                    at: text(time),
                    tuples_not_removable: dead,
                    tuples_removed: vacuum.tuples_removed,
                    cutoff_xid: vacuum.cutoff(),
                    cutoff_age: vacuum.removable_cutoff_age,
                    pid,
                });
            }
        }
        if let (Some(scanned), Some(remain)) = (vacuum.pages_scanned, vacuum.pages_remain) {
            row.pages_scanned += scanned;
            row.pages_of_scanned_runs += remain + vacuum.pages_removed.unwrap_or(0);
        }
        if vacuum.pages_remain.is_some() {
            row.pages_last = vacuum.pages_remain;
        }
        row.frozen_pages += vacuum.frozen_pages.unwrap_or(0);
        row.tuples_frozen += vacuum.tuples_frozen.unwrap_or(0);
        usage(row, &vacuum.usage);
    }

    /// Turn the accumulators into the summary, counting as "all busy" the moments with at least
    /// `max_workers` logged runs.
    pub fn finish(&self, max_workers: u32) -> LogSummary {
        let mut tables: Vec<TableSummary> = self
            .rows
            .iter()
            .map(|(key, row)| table_summary(key, row))
            .collect();
        tables.sort_by(|a, b| {
            b.total_s
                .total_cmp(&a.total_s)
                .then_with(|| (b.cancelled() + b.skipped()).cmp(&(a.cancelled() + a.skipped())))
                .then_with(|| a.display().cmp(&b.display()))
        });
        let databases = self
            .databases
            .iter()
            .map(|(name, d)| DatabaseSummary {
                database: name.clone(),
                vacuums: d.vacuums,
                analyzes: d.analyzes,
                anti_wraparound_vacuums: d.anti_wraparound,
                vacuum_time: d.vacuum_time.stats(),
                analyze_time: d.analyze_time.stats(),
                cancelled: d.cancelled,
                failed: d.failed,
            })
            .collect();
        let (concurrency, per_hour) = self.concurrency(max_workers);
        let hours = self
            .hours
            .iter()
            .map(|(start, h)| {
                let (max, busy) = per_hour.get(start).copied().unwrap_or((0, 0.0));
                HourSummary {
                    hour: h.label.clone(),
                    vacuums: h.vacuums,
                    analyzes: h.analyzes,
                    busy_s: round3(h.busy_s),
                    cancelled: h.cancelled,
                    skipped: h.skipped,
                    max_concurrent: max,
                    all_busy_s: round3(busy),
                }
            })
            .collect();
        let mut counts = self.counts.clone();
        counts.vacuum_s = round3(counts.vacuum_s);
        counts.analyze_s = round3(counts.analyze_s);
        LogSummary {
            schema_version: SCHEMA_VERSION,
            pgvac_version: env!("CARGO_PKG_VERSION").to_string(),
            files: self.files.clone(),
            first: text(self.first),
            last: text(self.last),
            totals: counts,
            tables,
            databases,
            hours,
            concurrency,
            failsafe: self.failsafe.clone(),
            worker_start_timeouts: self.start_timeouts.clone(),
            orphan_temp_tables: self.orphans.clone(),
            wraparound: self
                .wraparound
                .iter()
                .map(|((id, stopped, database), acc)| WraparoundMessages {
                    id: *id,
                    stopped: *stopped,
                    database: database.clone(),
                    count: acc.count,
                    min_remaining: acc.min_remaining,
                    first: text(acc.first),
                    last: text(acc.last),
                })
                .collect(),
            horizon_far_in_past: self.far_in_past.clone(),
            problems: self.problems.clone(),
            unrecognised: self.unrecognised.clone(),
        }
    }

    /// Seconds at each level of concurrency, overall and per hour (max level, seconds at
    /// `max_workers` or more).
    fn concurrency(&self, max_workers: u32) -> (Concurrency, BTreeMap<i64, (u32, f64)>) {
        let sweep = self.sweep.finished();
        let full = max_workers.max(1);
        let busy = |levels: &BTreeMap<u32, f64>| {
            levels
                .iter()
                .filter(|(l, _)| **l >= full)
                .fold(0.0, |sum, (_, s)| sum + s)
        };
        let per_hour = sweep
            .per_hour
            .iter()
            .map(|(&hour, levels)| {
                let max = levels.keys().next_back().copied().unwrap_or(0);
                (hour, (max, busy(levels)))
            })
            .collect();
        let all_busy = busy(&sweep.by_level);
        let span = match (sweep.first, sweep.last) {
            (Some(first), Some(last)) if last > first => Some((last - first) as f64 / 1000.0),
            _ => None,
        };
        (
            Concurrency {
                max_workers,
                max_concurrent: sweep.max,
                seconds_by_runs: sweep
                    .by_level
                    .iter()
                    .map(|(&runs, &seconds)| LevelSeconds {
                        runs,
                        seconds: round3(seconds),
                    })
                    .collect(),
                all_busy_s: round3(all_busy),
                all_busy_share: span.map(|s| round3(all_busy / s)),
            },
            per_hour,
        )
    }
}

/// How long a run's start stays open to runs logged later: the log is in time order, so once a
/// run ends at `t`, every later run ends after `t` and only one longer than this can start
/// before `t - SWEEP_HORIZON_MS`. Points older than that are swept into the totals and
/// dropped, so memory holds a day of runs, not the log.
const SWEEP_HORIZON_MS: i64 = 24 * 3_600_000;

/// Worker concurrency from the logged runs: +1 where a run starts, -1 where it ends, swept in
/// time order into seconds at each level, overall and per hour. A run that starts before the
/// swept point (one longer than a day, or a file given out of order) counts from that point.
#[derive(Debug, Clone, Default)]
struct Sweep {
    /// Points not swept yet (ms on the log's clock).
    deltas: BTreeMap<i64, i32>,
    swept_to: Option<i64>,
    /// Runs in progress at `swept_to`.
    level: i64,
    max: u32,
    by_level: BTreeMap<u32, f64>,
    /// Hour start -> level -> seconds.
    per_hour: BTreeMap<i64, BTreeMap<u32, f64>>,
    first: Option<i64>,
    last: Option<i64>,
}

impl Sweep {
    fn add(&mut self, start: i64, end: i64) {
        let start = self.swept_to.map_or(start, |swept| start.max(swept));
        if end <= start {
            return;
        }
        *self.deltas.entry(start).or_default() += 1;
        *self.deltas.entry(end).or_default() -= 1;
        self.first = Some(self.first.map_or(start, |f| f.min(start)));
        self.last = Some(self.last.map_or(end, |l| l.max(end)));
        self.sweep_until(end - SWEEP_HORIZON_MS);
    }

    fn sweep_until(&mut self, cutoff: i64) {
        while let Some((&at, _)) = self.deltas.first_key_value() {
            if at >= cutoff {
                break;
            }
            let delta = self.deltas.pop_first().map_or(0, |(_, d)| d);
            if let Some(from) = self.swept_to
                && self.level > 0
            {
                let level = self.level as u32;
                *self.by_level.entry(level).or_default() += (at - from) as f64 / 1000.0;
                // Split the interval at hour boundaries.
                let mut start = from;
                while start < at {
                    let hour = start.div_euclid(3_600_000) * 3_600_000;
                    let end = at.min(hour + 3_600_000);
                    *self
                        .per_hour
                        .entry(hour)
                        .or_default()
                        .entry(level)
                        .or_default() += (end - start) as f64 / 1000.0;
                    start = end;
                }
            }
            self.swept_to = Some(at);
            self.level += i64::from(delta);
            self.max = self.max.max(self.level.max(0) as u32);
        }
    }

    /// Everything swept, without changing this one (more runs may follow).
    fn finished(&self) -> Sweep {
        let mut done = self.clone();
        done.sweep_until(i64::MAX);
        done
    }
}

fn usage(row: &mut TableAcc, usage: &super::event::Usage) {
    row.wal_bytes += usage.wal_bytes.unwrap_or(0);
    row.wal_fpi += usage.wal_fpi.unwrap_or(0);
    row.buffer_hits += usage.buffer_hits.unwrap_or(0);
    row.buffer_reads += usage.buffer_reads.unwrap_or(0);
    row.buffer_dirtied += usage.buffer_dirtied.unwrap_or(0);
    if let (Some(read), Some(write), Some(elapsed)) =
        (usage.read_rate_mbs, usage.write_rate_mbs, usage.elapsed_s)
    {
        row.read_mb += read * elapsed;
        row.write_mb += write * elapsed;
        row.rated_seconds += elapsed;
    }
    row.io_read_ms += usage.io_read_ms.unwrap_or(0.0);
    if let Some(delay) = usage.delay_ms {
        row.delay_ms += delay;
        row.delay_runs += 1;
    }
}

fn table_summary(key: &RowKey, row: &TableAcc) -> TableSummary {
    let rate = |mb: f64| (row.rated_seconds > 0.0).then(|| round3(mb / row.rated_seconds));
    let mut conflicts: Vec<Conflict> = row
        .conflicts
        .iter()
        .map(|((mode, statement, named_by_holder), &count)| Conflict {
            mode: mode.clone(),
            statement: statement.clone(),
            named_by_holder: *named_by_holder,
            count,
        })
        .collect();
    conflicts.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.mode.cmp(&b.mode))
            .then_with(|| a.statement.cmp(&b.statement))
    });
    TableSummary {
        database: key.database.clone(),
        schema: key.schema.clone(),
        name: key.name.clone(),
        vacuums: row.vacuums,
        aggressive_vacuums: row.aggressive,
        anti_wraparound_vacuums: row.anti_wraparound,
        anti_wraparound_not_aggressive: row.anti_wraparound_not_aggressive,
        analyzes: row.analyzes,
        vacuum_time: row.vacuum_time.stats(),
        analyze_time: row.analyze_time.stats(),
        total_s: round3(row.vacuum_time.total + row.analyze_time.total),
        index_scans: row.index_scans,
        max_index_scans: row.max_index_scans,
        multi_pass_vacuums: row.multi_pass,
        index_scan_bypassed: row.index_scan_bypassed,
        tuples_removed: row.tuples_removed,
        tuples_not_removable: row.not_removable,
        worst_not_removable: row.worst_not_removable.clone(),
        tuples_missed: row.missed,
        pages_scanned: row.pages_scanned,
        pages_of_scanned_runs: row.pages_of_scanned_runs,
        pages_last: row.pages_last,
        frozen_pages: row.frozen_pages,
        tuples_frozen: row.tuples_frozen,
        wal_bytes: row.wal_bytes,
        wal_fpi: row.wal_fpi,
        buffer_hits: row.buffer_hits,
        buffer_reads: row.buffer_reads,
        buffer_dirtied: row.buffer_dirtied,
        read_rate_mbs: rate(row.read_mb),
        write_rate_mbs: rate(row.write_mb),
        io_read_ms: round3(row.io_read_ms),
        delay_ms: (row.delay_runs > 0).then(|| round3(row.delay_ms)),
        cancelled_vacuums: row.cancelled_vacuum,
        cancelled_analyzes: row.cancelled_analyze,
        conflicts,
        cancelled_without_known_conflict: row.cancel_unexplained,
        failed: row.failed,
        failsafe: row.failsafe,
        skipped_vacuums: row.skipped_vacuum,
        skipped_analyzes: row.skipped_analyze,
        skipped_gone: row.gone,
        first: text(row.first),
        last: text(row.last),
        last_vacuum: text(row.last_vacuum),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed schema is what the types generate (`UPDATE_DOCS=1 cargo test` rewrites it).
    #[test]
    fn logs_schema_file_is_current() {
        crate::render::generated::assert_current(SCHEMA_PATH, &schema());
    }

    #[test]
    fn concurrency_is_swept_as_the_log_is_read() {
        let mut sweep = Sweep::default();
        // Two overlapping runs for 10 s, then three for 5 s, days later.
        sweep.add(0, 20_000);
        sweep.add(10_000, 30_000);
        let day = 2 * SWEEP_HORIZON_MS;
        for _ in 0..3 {
            sweep.add(day, day + 5_000);
        }
        assert!(
            sweep.deltas.len() <= 2,
            "old points are swept: {:?}",
            sweep.deltas
        );
        let done = sweep.finished();
        assert_eq!(done.max, 3);
        assert_eq!(
            done.by_level.into_iter().collect::<Vec<_>>(),
            vec![(1, 20.0), (2, 10.0), (3, 5.0)]
        );
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut d = Durations::default();
        for s in [0.01, 0.02, 0.03, 0.04, 10.0] {
            d.add(s);
        }
        let stats = d.stats();
        assert_eq!(stats.runs, 5);
        assert_eq!(stats.median_s, Some(0.03));
        assert_eq!(stats.p95_s, Some(10.0));
        assert_eq!(stats.max_s, Some(10.0));
        assert_eq!(stats.total_s, 10.1);
    }
}
