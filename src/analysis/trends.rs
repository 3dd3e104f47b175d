//! Trends between runs: how fast the cluster consumes transaction IDs, how long until each
//! database reaches its wraparound limits, and how each table's dead rows and autovacuums evolve.
//!
//! One snapshot shows where the cluster is; only two show where it is going. `pgvac report
//! --history DIR` keeps what trends need of each run ([`Run`]) in DIR (`crate::store::history`,
//! bounded by `--keep`) and compares the current snapshot with the earlier runs ([`trends`], a
//! pure function of snapshots and runs, so everything here is testable without a server). This
//! module is the maths and the runs' contents; the store is only where runs are kept.
//!
//! Invariants:
//! - A rate is never computed from a single run: with no earlier run of the same cluster the
//!   trends hold only a note.
//! - Only runs of the same cluster are compared: the system identifier must match where both
//!   snapshots have it (older snapshots lack it: then only the major version and a next XID that
//!   did not go backwards are checked, and a note says so). A snapshot of another format version,
//!   a corrupt file, or one collected after the current run is skipped with a note, never fatal.
//! - The XID consumption rate comes from `next_xid`, the 64-bit counter, never from age deltas.
//!   It stays valid across a server restart: the next XID is kept in pg_control and WAL and
//!   continues after a restart (after a crash, XIDs handed out to transactions that never wrote
//!   WAL may be handed out again, an undercount of at most the transactions open at the crash).
//!   If it goes backwards (a restored backup, pg_resetwal) no rate is taken across that point.
//! - Time-to-limit estimates divide the distance to each limit by that consumption rate: while
//!   nothing freezes, `age(datfrozenxid)` grows by exactly the XIDs consumed, and when vacuum
//!   advanced `datfrozenxid` the age dropped, which says nothing about how fast the next limit
//!   comes. An age delta is shown as what happened, never used as a rate.
//! - The estimates use the faster of two rates, the last interval and the whole window of
//!   comparable runs, so neither a quiet last hour nor a long average hides a burst.
//! - Multixacts have no next-multixact counter in the snapshot. A database's `mxid_age` grows by
//!   the multixacts consumed minus what vacuum advanced its `datminmxid`, so the largest growth
//!   of any database is a lower bound on consumption (usually exact: template0 is rarely
//!   vacuumed), and times derived from it are upper bounds ("within at most").
//! - Statistics-based rates (dead rows, autovacuum counts) are never taken across a server
//!   restart, a statistics reset (`stats_reset` changed) or a counter that went down (a reset of
//!   single tables): the event is reported instead.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::autovacuum::GlobalSettings;
use crate::analysis::wraparound::{self, IdKind};
use crate::snapshot::{Missing, Persistence, RelKind, Snapshot, Table, TableStats, Visit};

// ---------------------------------------------------------------------------------------------
// Runs: what trends need of a snapshot

/// The earlier runs to compare with, and what was skipped while loading them.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub runs: Vec<Run>,
    pub notes: Vec<String>,
}

impl History {
    /// A history of snapshots held in memory (labelled by their collection time).
    pub fn from_snapshots<'s>(snapshots: impl IntoIterator<Item = &'s Snapshot>) -> History {
        History {
            runs: snapshots
                .into_iter()
                .map(|s| Run::from_snapshot(s, &s.server.collected_at.to_rfc3339()))
                .collect(),
            notes: Vec::new(),
        }
    }
}

/// The part of one run's snapshot that trends compare: the cluster's identity and clock, each
/// database's ages, and each table's counters by oid. This is what a history file holds
/// (`crate::store::history::HistoryDir::save`): no names (the current snapshot names the tables), no settings, no
/// sessions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// The file it was read from, for notes.
    #[serde(skip)]
    pub(crate) label: String,
    snapshot_version: u32,
    system_identifier: Option<String>,
    major: i32,
    postmaster_start_time: DateTime<Utc>,
    collected_at: DateTime<Utc>,
    next_xid: i64,
    /// What the run set out to read and did not (kept with `--allow-partial`); empty when the
    /// run was complete.
    missing: Vec<Missing>,
    databases: Vec<RunDatabase>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunDatabase {
    oid: u32,
    name: String,
    invalid: bool,
    xid_age: i64,
    mxid_age: i64,
    stats_reset: Option<DateTime<Utc>>,
    /// The tables, where the database was visited.
    tables: Option<RunTables>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunTables {
    collected_at: DateTime<Utc>,
    /// Every table with statistics (not partitioned, not temporary), by oid.
    counters: Vec<(u32, RunTable)>,
}

impl RunTables {
    fn get(&self, oid: u32) -> Option<&RunTable> {
        self.counters
            .binary_search_by_key(&oid, |(oid, _)| *oid)
            .ok()
            .map(|at| &self.counters[at].1)
    }
}

/// One table's counters: `n_dead_tup`, then the ones only a statistics reset can lower
/// (`n_tup_ins`, `n_tup_upd`, `n_tup_del`, `n_tup_hot_upd`, `seq_scan`, `vacuum_count`,
/// `autovacuum_count`, `analyze_count`, `autoanalyze_count`; `idx_scan` is left out: dropping
/// an index lowers it). Stored in a file as an array of ten numbers or nulls; held in memory as
/// ten `i64`s with [`RunTable::ABSENT`] for a null, half the size of ten `Option<i64>`s: a
/// history of dozens of runs of 100,000 tables is held at once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[Option<i64>; 10]", into = "[Option<i64>; 10]")]
struct RunTable([i64; 10]);

impl From<[Option<i64>; 10]> for RunTable {
    fn from(values: [Option<i64>; 10]) -> RunTable {
        RunTable(values.map(|v| v.unwrap_or(RunTable::ABSENT)))
    }
}

impl From<RunTable> for [Option<i64>; 10] {
    fn from(table: RunTable) -> [Option<i64>; 10] {
        table.0.map(|v| (v != RunTable::ABSENT).then_some(v))
    }
}

impl Run {
    /// Keep what trends need of `snapshot`; `label` names it in notes (e.g. its file name).
    pub fn from_snapshot(snapshot: &Snapshot, label: &str) -> Run {
        let databases = snapshot
            .databases
            .iter()
            .map(|db| RunDatabase {
                oid: db.oid,
                name: db.name.clone(),
                invalid: db.is_invalid(),
                xid_age: db.xid_age,
                mxid_age: db.mxid_age,
                stats_reset: db.stats_reset,
                tables: (db.visit == Visit::Visited).then(|| {
                    let mut counters: Vec<(u32, RunTable)> = db
                        .tables
                        .iter()
                        .filter(|t| compared(t))
                        .filter_map(|t| Some((t.oid, RunTable::from_stats(t.stats.as_ref()?))))
                        .collect();
                    counters.sort_unstable_by_key(|(oid, _)| *oid);
                    RunTables {
                        collected_at: db.collected_at.unwrap_or(snapshot.server.collected_at),
                        counters,
                    }
                }),
            })
            .collect();
        Run {
            label: label.to_string(),
            snapshot_version: snapshot.snapshot_version,
            system_identifier: snapshot.server.system_identifier.clone(),
            major: snapshot.server.major(),
            postmaster_start_time: snapshot.server.postmaster_start_time,
            collected_at: snapshot.server.collected_at,
            next_xid: snapshot.server.next_xid,
            missing: snapshot.missing.clone(),
            databases,
        }
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn collected_at(&self) -> DateTime<Utc> {
        self.collected_at
    }

    /// Whether the run read everything it set out to read.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// How many tables' counters the run holds, over its visited databases.
    #[cfg(test)]
    pub(crate) fn counted_tables(&self) -> usize {
        self.databases
            .iter()
            .filter_map(|d| d.tables.as_ref())
            .map(|t| t.counters.len())
            .sum()
    }

    fn database(&self, oid: u32) -> Option<&RunDatabase> {
        self.databases.iter().find(|d| d.oid == oid)
    }
}

/// Whether a table has trends: partitioned tables have no statistics of their own that
/// autovacuum acts on, and temporary tables are not autovacuum's.
fn compared(table: &Table) -> bool {
    table.kind != RelKind::PartitionedTable && table.persistence != Persistence::Temporary
}

impl RunTable {
    /// A counter the server did not report. No counter reaches it: they start at 0.
    const ABSENT: i64 = i64::MIN;
    const AUTOVACUUM_COUNT: usize = 7;

    fn from_stats(stats: &TableStats) -> RunTable {
        RunTable::from([
            stats.n_dead_tup,
            stats.n_tup_ins,
            stats.n_tup_upd,
            stats.n_tup_del,
            stats.n_tup_hot_upd,
            stats.seq_scan,
            stats.vacuum_count,
            stats.autovacuum_count,
            stats.analyze_count,
            stats.autoanalyze_count,
        ])
    }

    fn get(&self, at: usize) -> Option<i64> {
        Some(self.0[at]).filter(|v| *v != RunTable::ABSENT)
    }

    fn n_dead_tup(&self) -> Option<i64> {
        self.get(0)
    }

    fn autovacuum_count(&self) -> Option<i64> {
        self.get(RunTable::AUTOVACUUM_COUNT)
    }

    /// Whether a counter only a reset can lower is lower now than `earlier`.
    fn counters_went_down(&self, earlier: &RunTable) -> bool {
        (1..10).any(|at| matches!((self.get(at), earlier.get(at)), (Some(n), Some(b)) if n < b))
    }
}

// ---------------------------------------------------------------------------------------------
// Trends: the result

/// What the history says about the current run. Serializable for the JSON report.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct Trends {
    /// When the current snapshot was collected.
    pub collected_at: DateTime<Utc>,
    /// The run it is compared with; absent when there is none (then there are no rates).
    pub previous_collected_at: Option<DateTime<Utc>>,
    /// Earlier runs of this cluster that were usable.
    pub earlier_runs: usize,
    /// Transaction IDs consumed per hour; absent without a usable earlier run.
    pub xid_consumption: Option<XidConsumption>,
    /// A lower bound on multixacts consumed per hour; absent when no database's multixact age
    /// grew.
    pub multixact_consumption: Option<MultixactConsumption>,
    /// Per database, in snapshot order (by name); empty without an earlier run.
    pub databases: Vec<DatabaseTrend>,
    /// Per table of the databases visited in both runs, by database, schema and name.
    pub tables: Vec<TableTrend>,
    /// Restarts and resets between the previous run and this one.
    pub events: Vec<Event>,
    /// What was skipped and why, one line each.
    pub notes: Vec<String>,
}

/// XIDs consumed between two runs, from the 64-bit next XID.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct XidRate {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Runs in the interval, both ends included.
    pub runs: usize,
    pub xids: i64,
    pub hours: f64,
    pub per_hour: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    LastInterval,
    Window,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct XidConsumption {
    /// Between the previous run and this one.
    pub last_interval: XidRate,
    /// From the oldest comparable run to this one (the same as `last_interval` with two runs).
    pub window: XidRate,
    /// The rate the estimates use: the faster of the two.
    pub per_hour: f64,
    pub basis: RateBasis,
}

/// Multixacts: the largest growth of any database's `mxid_age` between the previous run and
/// this one. Vacuum advancing `datminmxid` hides consumption, so this is a lower bound, and the
/// multixact time estimates derived from it are upper bounds.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct MultixactConsumption {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub hours: f64,
    pub at_least_per_hour: f64,
    /// The database whose multixact age grew the most.
    pub database: String,
}

/// The landmarks an age is measured against.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// `autovacuum_freeze_max_age` (or `autovacuum_multixact_freeze_max_age`): autovacuum
    /// forces an anti-wraparound vacuum. Reaching it is the normal cycle.
    FreezeMaxAge,
    /// XID age 1,000,000,000: act now (RDS guide's alarm ladder).
    OneBillion,
    /// The server warns on every new ID from here.
    WarnLimit,
    /// The server refuses new IDs: the database stops accepting writes.
    StopLimit,
}

/// When a limit is reached at the measured rate.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Estimate {
    /// No rate to estimate from.
    NoRate,
    /// The age is at or past the limit already.
    Reached,
    /// No XIDs were consumed over the window: never, at this pace.
    NotConsumed,
    /// In `hours` from the current run's collection, around `at` (absent if beyond the
    /// calendar).
    In {
        hours: f64,
        at: Option<DateTime<Utc>>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct LimitEstimate {
    pub limit: Limit,
    /// The age at which the limit is reached.
    pub age: i64,
    /// How many IDs remain before it (negative when past it).
    pub remaining: i64,
    pub estimate: Estimate,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct DatabaseTrend {
    pub oid: u32,
    pub name: String,
    /// An invalid database (interrupted `DROP DATABASE`): no estimates, it holds nothing back.
    pub invalid: bool,
    /// `age(datfrozenxid)` now.
    pub xid_age: i64,
    /// Change since the previous run; absent for a database new since then.
    pub xid_age_change: Option<i64>,
    /// The age dropped: vacuum advanced `datfrozenxid` between the runs.
    pub frozen_since_previous: bool,
    /// From the XID consumption rate.
    pub xid_limits: Vec<LimitEstimate>,
    /// `mxid_age(datminmxid)` now.
    pub mxid_age: i64,
    pub mxid_age_change: Option<i64>,
    /// From the multixact lower-bound rate: each time is an upper bound.
    pub mxid_limits: Vec<LimitEstimate>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Growing,
    Shrinking,
    Steady,
}

/// Why a table has no rates.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NotCompared {
    /// Not in the previous run (created since, or its database was new).
    NewTable,
    /// Its database was not visited in the previous run.
    NotVisitedBefore,
    /// The server restarted between the runs.
    Restart,
    /// The database's statistics were reset between the runs.
    StatsReset,
    /// One of its cumulative counters went down: its statistics were reset.
    CountersWentDown,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct TableTrend {
    pub database: String,
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub kind: RelKind,
    /// `n_dead_tup` now.
    pub dead_rows: Option<i64>,
    /// Why there are no rates; absent when the table was compared.
    pub not_compared: Option<NotCompared>,
    /// `n_dead_tup` change since the previous run.
    pub dead_rows_change: Option<i64>,
    pub dead_rows_per_hour: Option<f64>,
    pub dead_rows_direction: Option<Direction>,
    /// `autovacuum_count` change since the previous run.
    pub autovacuums_since_previous: Option<i64>,
    /// Start of the longest stretch of comparable runs ending now (no restart, no reset, the
    /// table present and its database visited in each).
    pub window_start: Option<DateTime<Utc>>,
    pub autovacuums_in_window: Option<i64>,
    pub autovacuums_per_day: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, schemars::JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Restart,
    StatsReset,
    CountersWentDown,
    XidWentBackwards,
}

/// Something that happened between the previous run and this one and limits the comparison.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub database: Option<String>,
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// Trends: the analysis

fn hours_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let delta = to - from;
    match delta.num_microseconds() {
        Some(us) => us as f64 / 3_600_000_000.0,
        None => delta.num_seconds() as f64 / 3600.0,
    }
}

fn timestamp_after(start: DateTime<Utc>, hours: f64) -> Option<DateTime<Utc>> {
    let millis = hours * 3_600_000.0;
    if !millis.is_finite() || millis.abs() > 1e15 {
        return None;
    }
    start.checked_add_signed(chrono::Duration::try_milliseconds(millis.round() as i64)?)
}

/// Why `run` cannot be compared with `current`, if it cannot.
fn refusal(current: &Run, run: &Run) -> Option<String> {
    if run.snapshot_version != current.snapshot_version {
        return Some(format!(
            "snapshot format {}, the current run is format {}",
            run.snapshot_version, current.snapshot_version
        ));
    }
    if let (Some(ours), Some(theirs)) = (&current.system_identifier, &run.system_identifier)
        && ours != theirs
    {
        return Some(format!(
            "another cluster (system identifier {theirs}, this one is {ours})"
        ));
    }
    if run.major != current.major {
        return Some(format!(
            "PostgreSQL {}, the current server is {}",
            run.major, current.major
        ));
    }
    if run.collected_at > current.collected_at {
        return Some(format!(
            "collected at {}, after the current run",
            run.collected_at
        ));
    }
    None
}

fn estimate(age: i64, limit: i64, rate: Option<f64>, start: DateTime<Utc>) -> Estimate {
    let remaining = limit - age;
    if remaining <= 0 {
        return Estimate::Reached;
    }
    match rate {
        None => Estimate::NoRate,
        Some(rate) if rate <= 0.0 => Estimate::NotConsumed,
        Some(rate) => {
            let hours = remaining as f64 / rate;
            Estimate::In {
                hours,
                at: timestamp_after(start, hours),
            }
        }
    }
}

fn limits(
    age: i64,
    landmarks: &[(Limit, i64)],
    rate: Option<f64>,
    start: DateTime<Utc>,
) -> Vec<LimitEstimate> {
    landmarks
        .iter()
        .map(|&(limit, at_age)| LimitEstimate {
            limit,
            age: at_age,
            remaining: at_age - age,
            estimate: estimate(age, at_age, rate, start),
        })
        .collect()
}

fn xid_rate(from: &Run, to: &Run, runs: usize) -> XidRate {
    let hours = hours_between(from.collected_at, to.collected_at);
    let xids = to.next_xid - from.next_xid;
    XidRate {
        from: from.collected_at,
        to: to.collected_at,
        runs,
        xids,
        hours,
        per_hour: if hours > 0.0 {
            xids as f64 / hours
        } else {
            0.0
        },
    }
}

/// Compare `current` with the earlier runs of `history`. Pure: the same inputs give the same
/// trends.
pub fn trends(current: &Snapshot, history: &History) -> Trends {
    let now = Run::from_snapshot(current, "the current run");
    let mut notes = history.notes.clone();
    let mut events = Vec::new();

    // The earlier runs of this cluster, oldest first. A run with the same collection time is
    // the current snapshot itself (e.g. a report of a snapshot already saved): skipped quietly.
    let mut earlier: Vec<&Run> = Vec::new();
    let mut identity_unverified = false;
    for run in &history.runs {
        if run.collected_at == now.collected_at {
            continue;
        }
        match refusal(&now, run) {
            Some(reason) => notes.push(format!("skipped {}: {reason}", run.label)),
            None => {
                if run.system_identifier.is_none() || now.system_identifier.is_none() {
                    identity_unverified = true;
                }
                earlier.push(run);
            }
        }
    }
    earlier.sort_by_key(|r| r.collected_at);
    if identity_unverified {
        notes.push(
            "runs without a system identifier: matched to this cluster by version and next XID \
             only"
                .to_string(),
        );
    }

    let Some(&previous) = earlier.last() else {
        notes
            .push("no earlier run of this cluster in the history: rates need two runs".to_string());
        return Trends {
            collected_at: now.collected_at,
            previous_collected_at: None,
            earlier_runs: 0,
            xid_consumption: None,
            multixact_consumption: None,
            databases: Vec::new(),
            tables: Vec::new(),
            events,
            notes,
        };
    };

    let restarted = previous.postmaster_start_time != now.postmaster_start_time;
    if restarted {
        events.push(Event {
            kind: EventKind::Restart,
            database: None,
            message: format!(
                "the server restarted between the runs (started {}, now {}): table statistics \
                 are not compared across it; the XID rate is (the next XID survives restarts)",
                previous.postmaster_start_time, now.postmaster_start_time
            ),
        });
    }

    // XIDs: the chain of runs ending now along which the next XID never went backwards.
    let xid_consumption = if previous.next_xid > now.next_xid {
        events.push(Event {
            kind: EventKind::XidWentBackwards,
            database: None,
            message: format!(
                "the next XID went backwards ({} then {}): a restored backup or pg_resetwal? no \
                 XID rate across it",
                previous.next_xid, now.next_xid
            ),
        });
        None
    } else {
        let mut start = earlier.len() - 1;
        while start > 0 && earlier[start - 1].next_xid <= earlier[start].next_xid {
            start -= 1;
        }
        let last_interval = xid_rate(previous, &now, 2);
        let window = xid_rate(earlier[start], &now, earlier.len() - start + 1);
        let (per_hour, basis) = if window.per_hour > last_interval.per_hour {
            (window.per_hour, RateBasis::Window)
        } else {
            (last_interval.per_hour, RateBasis::LastInterval)
        };
        Some(XidConsumption {
            last_interval,
            window,
            per_hour,
            basis,
        })
    };
    let xid_per_hour = xid_consumption.as_ref().map(|x| x.per_hour);

    // Multixacts: a lower bound from the largest growth of any database's age.
    let interval_hours = hours_between(previous.collected_at, now.collected_at);
    let multixact_consumption = now
        .databases
        .iter()
        .filter(|db| !db.invalid)
        .filter_map(|db| {
            let before = previous.database(db.oid)?;
            let growth = db.mxid_age - before.mxid_age;
            (growth > 0).then_some((growth, db))
        })
        .max_by_key(|(growth, _)| *growth)
        .filter(|_| interval_hours > 0.0)
        .map(|(growth, db)| MultixactConsumption {
            from: previous.collected_at,
            to: now.collected_at,
            hours: interval_hours,
            at_least_per_hour: growth as f64 / interval_hours,
            database: db.name.clone(),
        });
    let mxid_per_hour = multixact_consumption.as_ref().map(|m| m.at_least_per_hour);

    let global = GlobalSettings::from_snapshot(current);
    let xid = wraparound::server_limits(now.major, IdKind::Xid);
    let mxid = wraparound::server_limits(now.major, IdKind::Multixact);
    let xid_landmarks = [
        (Limit::FreezeMaxAge, global.freeze_max_age),
        (Limit::OneBillion, wraparound::ACT),
        (Limit::WarnLimit, xid.warn_age),
        (Limit::StopLimit, xid.stop_age),
    ];
    let mxid_landmarks = [
        (Limit::FreezeMaxAge, global.multixact_freeze_max_age),
        (Limit::WarnLimit, mxid.warn_age),
        (Limit::StopLimit, mxid.stop_age),
    ];
    let databases = now
        .databases
        .iter()
        .map(|db| {
            let before = previous.database(db.oid);
            let xid_age_change = before.map(|b| db.xid_age - b.xid_age);
            DatabaseTrend {
                oid: db.oid,
                name: db.name.clone(),
                invalid: db.invalid,
                xid_age: db.xid_age,
                xid_age_change,
                frozen_since_previous: xid_age_change.is_some_and(|c| c < 0),
                xid_limits: if db.invalid {
                    Vec::new()
                } else {
                    limits(db.xid_age, &xid_landmarks, xid_per_hour, now.collected_at)
                },
                mxid_age: db.mxid_age,
                mxid_age_change: before.map(|b| db.mxid_age - b.mxid_age),
                mxid_limits: if db.invalid {
                    Vec::new()
                } else {
                    limits(
                        db.mxid_age,
                        &mxid_landmarks,
                        mxid_per_hour,
                        now.collected_at,
                    )
                },
            }
        })
        .collect();

    let tables = table_trends(current, &now, &earlier, restarted, &mut events, &mut notes);

    Trends {
        collected_at: now.collected_at,
        previous_collected_at: Some(previous.collected_at),
        earlier_runs: earlier.len(),
        xid_consumption,
        multixact_consumption,
        databases,
        tables,
        events,
        notes,
    }
}

/// Whether the statistics of database `oid` can be compared between `before` and `after`
/// (consecutive runs), and if not, why.
fn stats_link(before: &Run, after: &Run, oid: u32) -> Result<(), NotCompared> {
    if before.postmaster_start_time != after.postmaster_start_time {
        return Err(NotCompared::Restart);
    }
    let (Some(b), Some(a)) = (before.database(oid), after.database(oid)) else {
        return Err(NotCompared::NewTable);
    };
    if b.stats_reset != a.stats_reset {
        return Err(NotCompared::StatsReset);
    }
    if b.tables.is_none() {
        return Err(NotCompared::NotVisitedBefore);
    }
    Ok(())
}

fn table_trends(
    current: &Snapshot,
    now: &Run,
    earlier: &[&Run],
    restarted: bool,
    events: &mut Vec<Event>,
    notes: &mut Vec<String>,
) -> Vec<TableTrend> {
    let Some(&previous) = earlier.last() else {
        return Vec::new();
    };
    let mut trends = Vec::new();
    for db in &now.databases {
        let Some(tables) = &db.tables else {
            continue;
        };
        let before_db = previous.database(db.oid);
        if let Some(before) = before_db
            && before.stats_reset != db.stats_reset
            && !restarted
        {
            events.push(Event {
                kind: EventKind::StatsReset,
                database: Some(db.name.clone()),
                message: format!(
                    "the statistics of database {} were reset between the runs (stats_reset {} \
                     then {}): no dead-row or autovacuum rates for its tables",
                    db.name,
                    before
                        .stats_reset
                        .map_or("never".to_string(), |t| t.to_string()),
                    db.stats_reset
                        .map_or("never".to_string(), |t| t.to_string()),
                ),
            });
        }
        if before_db.is_none() {
            notes.push(format!(
                "database {} is new since the previous run: no table rates yet",
                db.name
            ));
        }
        let link = stats_link(previous, now, db.oid);
        // The earliest run from which this database's statistics are continuous up to now.
        let mut db_start = earlier.len();
        if link.is_ok() {
            db_start -= 1;
            while db_start > 0
                && stats_link(earlier[db_start - 1], earlier[db_start], db.oid).is_ok()
            {
                db_start -= 1;
            }
        }

        let mut went_down = 0usize;
        // Named from the current snapshot: runs keep no names.
        let mut sorted: Vec<(&Table, &RunTable)> = current
            .databases
            .iter()
            .filter(|d| d.oid == db.oid)
            .flat_map(|d| d.tables.iter())
            .filter_map(|t| Some((t, tables.get(t.oid)?)))
            .collect();
        sorted.sort_by(|a, b| {
            (&a.0.schema, &a.0.name, a.0.oid).cmp(&(&b.0.schema, &b.0.name, b.0.oid))
        });
        for (named, table) in sorted {
            let oid = named.oid;
            let mut trend = TableTrend {
                database: db.name.clone(),
                oid,
                schema: named.schema.clone(),
                name: named.name.clone(),
                kind: named.kind,
                dead_rows: table.n_dead_tup(),
                not_compared: None,
                dead_rows_change: None,
                dead_rows_per_hour: None,
                dead_rows_direction: None,
                autovacuums_since_previous: None,
                window_start: None,
                autovacuums_in_window: None,
                autovacuums_per_day: None,
            };
            let before = before_db
                .and_then(|b| b.tables.as_ref())
                .and_then(|t| t.get(oid));
            let reason = match (link, before) {
                (Err(reason), _) => Some(reason),
                (Ok(()), None) => Some(NotCompared::NewTable),
                (Ok(()), Some(b)) if table.counters_went_down(b) => {
                    went_down += 1;
                    Some(NotCompared::CountersWentDown)
                }
                (Ok(()), Some(_)) => None,
            };
            if let (None, Some(before), Some(before_tables)) =
                (reason, before, before_db.and_then(|b| b.tables.as_ref()))
            {
                let hours = hours_between(before_tables.collected_at, tables.collected_at);
                if let (Some(dead_now), Some(dead_before)) =
                    (table.n_dead_tup(), before.n_dead_tup())
                {
                    let change = dead_now - dead_before;
                    trend.dead_rows_change = Some(change);
                    trend.dead_rows_per_hour = (hours > 0.0).then(|| change as f64 / hours);
                    trend.dead_rows_direction = Some(match change.signum() {
                        1 => Direction::Growing,
                        -1 => Direction::Shrinking,
                        _ => Direction::Steady,
                    });
                }
                trend.autovacuums_since_previous = table
                    .autovacuum_count()
                    .zip(before.autovacuum_count())
                    .map(|(n, b)| n - b);

                // Extend the window back while the table is there and its counters never drop.
                let mut start = (earlier.len() - 1, before, before_tables.collected_at);
                for index in (db_start..earlier.len() - 1).rev() {
                    let candidate = earlier[index]
                        .database(db.oid)
                        .and_then(|d| d.tables.as_ref())
                        .and_then(|t| t.get(oid).map(|table| (table, t.collected_at)));
                    match candidate {
                        Some((older, at)) if !start.1.counters_went_down(older) => {
                            start = (index, older, at);
                        }
                        _ => break,
                    }
                }
                let (_, first, first_at) = start;
                trend.window_start = Some(first_at);
                if let (Some(n), Some(f)) = (table.autovacuum_count(), first.autovacuum_count()) {
                    let days = hours_between(first_at, tables.collected_at) / 24.0;
                    trend.autovacuums_in_window = Some(n - f);
                    trend.autovacuums_per_day = (days > 0.0).then(|| (n - f) as f64 / days);
                }
            }
            trend.not_compared = reason;
            trends.push(trend);
        }
        if went_down > 0 {
            events.push(Event {
                kind: EventKind::CountersWentDown,
                database: Some(db.name.clone()),
                message: format!(
                    "the statistics counters of {went_down} table(s) in {} went down between the \
                     runs (reset one by one, or lost): no rates for them",
                    db.name
                ),
            });
        }
    }
    trends
}
#[cfg(test)]
pub(crate) mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::snapshot::*;

    pub(crate) fn time(hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, hour, minute, 0).unwrap()
    }

    pub(crate) fn table(oid: u32, name: &str, dead: i64, autovacuums: i64) -> Table {
        Table {
            oid,
            schema: "public".to_string(),
            name: name.to_string(),
            kind: RelKind::Table,
            persistence: Persistence::Permanent,
            reltuples: 1000.0,
            relpages: 10,
            relallvisible: 0,
            relallfrozen: None,
            heap_bytes: 10 * 8192,
            xid_age: Some(1000),
            mxid_age: Some(1),
            reloptions: Vec::new(),
            options: Default::default(),
            toast: None,
            owner_oid: None,
            stats: Some(TableStats {
                n_tup_ins: Some(10_000),
                n_tup_upd: Some(5_000),
                n_tup_del: Some(1_000),
                n_dead_tup: Some(dead),
                autovacuum_count: Some(autovacuums),
                vacuum_count: Some(0),
                ..TableStats::default()
            }),
            index_count: 0,
            index_bytes: 0,
        }
    }

    pub(crate) fn database(oid: u32, name: &str, xid_age: i64, tables: Vec<Table>) -> Database {
        Database {
            oid,
            name: name.to_string(),
            allows_connections: true,
            connection_limit: -1,
            is_template: false,
            xid_age,
            mxid_age: 1,
            size_bytes: None,
            stats_reset: None,
            visit: Visit::Visited,
            collected_at: None,
            tables,
            temp_schemas: Vec::new(),
        }
    }

    /// A PostgreSQL 16 cluster collected at `at` with `next_xid`, databases `app` (whose table
    /// `events` has `dead` dead rows and `autovacuums` autovacuums) and an unvisited `template0`.
    pub(crate) fn snapshot(
        at: DateTime<Utc>,
        next_xid: i64,
        app_age: i64,
        dead: i64,
        autovacuums: i64,
    ) -> Snapshot {
        let mut template0 = database(4, "template0", app_age + 1000, Vec::new());
        template0.visit = Visit::Skipped("does not allow connections".to_string());
        Snapshot {
            snapshot_version: SNAPSHOT_VERSION,
            pgvac_version: "test".to_string(),
            server: Server {
                version_num: 160004,
                version: "PostgreSQL 16.4".to_string(),
                in_recovery: false,
                postmaster_start_time: time(0, 0),
                stats_reset: None,
                collected_at: at,
                next_xid,
                system_identifier: Some("7400000000000000001".to_string()),
                block_size: 8192,
                platform: Platform {
                    kind: PlatformKind::Postgres,
                    aurora_version: None,
                    evidence: Vec::new(),
                },
                connected_database: "app".to_string(),
                connected_user: "postgres".to_string(),
                session: SessionSettings {
                    application_name: "pgvac".to_string(),
                    default_transaction_read_only: "on".to_string(),
                    transaction_read_only: "on".to_string(),
                    transaction_isolation: "repeatable read".to_string(),
                    statement_timeout: "30s".to_string(),
                    lock_timeout: "1s".to_string(),
                },
            },
            role: RoleCapabilities {
                name: "postgres".to_string(),
                superuser: true,
                pg_monitor: true,
                pg_read_all_stats: true,
                pg_signal_backend: true,
                rds_superuser: false,
                pg_signal_autovacuum_worker: false,
            },
            settings: Vec::new(),
            role_settings: None,
            databases: vec![
                database(
                    16384,
                    "app",
                    app_age,
                    vec![table(20000, "events", dead, autovacuums)],
                ),
                template0,
            ],
            sessions: Vec::new(),
            prepared_transactions: Vec::new(),
            replication_slots: Vec::new(),
            standbys: Vec::new(),
            running_vacuums: Vec::new(),
            warnings: Vec::new(),
            missing: Vec::new(),
        }
    }

    fn app(trends: &Trends) -> &DatabaseTrend {
        trends.databases.iter().find(|d| d.name == "app").unwrap()
    }

    fn events_table(trends: &Trends) -> &TableTrend {
        trends.tables.iter().find(|t| t.name == "events").unwrap()
    }

    fn hours_to(trend: &DatabaseTrend, limit: Limit) -> f64 {
        match trend
            .xid_limits
            .iter()
            .find(|l| l.limit == limit)
            .unwrap()
            .estimate
        {
            Estimate::In { hours, .. } => hours,
            ref other => panic!("{limit:?}: {other:?}"),
        }
    }

    pub(crate) fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn a_single_run_gives_no_rate() {
        let only = snapshot(time(10, 0), 1_000_000, 150_000_000, 10, 0);
        for history in [History::default(), History::from_snapshots([&only])] {
            let trends = trends(&only, &history);
            assert!(trends.xid_consumption.is_none());
            assert!(trends.databases.is_empty() && trends.tables.is_empty());
            assert!(
                trends
                    .notes
                    .iter()
                    .any(|n| n.contains("rates need two runs"))
            );
        }
    }

    #[test]
    fn rate_and_time_to_limits_from_two_runs() {
        let before = snapshot(time(10, 0), 1_000_000, 150_000_000, 10, 0);
        let now = snapshot(time(11, 0), 1_050_000, 150_050_000, 10, 0);
        let trends = trends(&now, &History::from_snapshots([&before]));
        let xid = trends.xid_consumption.as_ref().unwrap();
        assert_eq!(xid.last_interval.xids, 50_000);
        assert!(close(xid.per_hour, 50_000.0));
        let app = app(&trends);
        assert_eq!(app.xid_age_change, Some(50_000));
        assert!(!app.frozen_since_previous);
        // 200M default freeze max age, 1B, and 16's stop age, each at 50,000 XIDs an hour.
        assert!(close(
            hours_to(app, Limit::FreezeMaxAge),
            49_950_000.0 / 50_000.0
        ));
        assert!(close(
            hours_to(app, Limit::OneBillion),
            849_950_000.0 / 50_000.0
        ));
        assert!(close(
            hours_to(app, Limit::StopLimit),
            (2_144_483_647.0 - 150_050_000.0) / 50_000.0
        ));
        let freeze = app
            .xid_limits
            .iter()
            .find(|l| l.limit == Limit::FreezeMaxAge)
            .unwrap();
        assert_eq!(freeze.remaining, 49_950_000);
        let Estimate::In { at: Some(at), .. } = freeze.estimate else {
            panic!("{:?}", freeze.estimate)
        };
        assert_eq!(at, time(11, 0) + chrono::Duration::hours(999));
        assert!(trends.events.is_empty(), "{:?}", trends.events);
    }

    #[test]
    fn stop_limit_depends_on_the_version() {
        let mut before = snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0);
        let mut now = snapshot(time(11, 0), 1_100_000, 100_100_000, 0, 0);
        before.server.version_num = 130010;
        now.server.version_num = 130010;
        let trends = trends(&now, &History::from_snapshots([&before]));
        let stop = app(&trends)
            .xid_limits
            .iter()
            .find(|l| l.limit == Limit::StopLimit)
            .unwrap();
        assert_eq!(stop.age, 2_146_483_647);
        assert!(close(
            hours_to(app(&trends), Limit::StopLimit),
            (2_146_483_647.0 - 100_100_000.0) / 100_000.0
        ));
    }

    #[test]
    fn a_frozen_database_uses_the_consumption_rate_not_its_age_drop() {
        let before = snapshot(time(10, 0), 1_000_000, 190_000_000, 0, 0);
        let mut now = snapshot(time(12, 0), 1_100_000, 5_000_000, 0, 0);
        now.databases[1].xid_age = before.databases[1].xid_age + 100_000;
        let trends = trends(&now, &History::from_snapshots([&before]));
        let app = app(&trends);
        assert!(app.frozen_since_previous);
        assert_eq!(app.xid_age_change, Some(-185_000_000));
        assert!(close(
            hours_to(app, Limit::FreezeMaxAge),
            195_000_000.0 / 50_000.0
        ));
        // template0 was not frozen: its age grew by the XIDs consumed.
        let template0 = trends
            .databases
            .iter()
            .find(|d| d.name == "template0")
            .unwrap();
        assert!(!template0.frozen_since_previous);
    }

    #[test]
    fn a_database_past_a_limit_has_reached_it() {
        let before = snapshot(time(10, 0), 1_000_000, 1_200_000_000, 0, 0);
        let now = snapshot(time(11, 0), 1_000_000, 1_200_000_000, 0, 0);
        let trends = trends(&now, &History::from_snapshots([&before]));
        let app = app(&trends);
        let by = |limit| {
            &app.xid_limits
                .iter()
                .find(|l| l.limit == limit)
                .unwrap()
                .estimate
        };
        assert_eq!(*by(Limit::FreezeMaxAge), Estimate::Reached);
        assert_eq!(*by(Limit::OneBillion), Estimate::Reached);
        // Nothing consumed: the stop limit is never reached at this pace.
        assert_eq!(*by(Limit::StopLimit), Estimate::NotConsumed);
    }

    #[test]
    fn the_faster_of_window_and_last_interval_is_used() {
        let first = snapshot(time(8, 0), 1_000_000, 100_000_000, 0, 0);
        let busy = snapshot(time(9, 0), 1_900_000, 100_900_000, 0, 0);
        let now = snapshot(time(10, 0), 2_000_000, 101_000_000, 0, 0);
        let trends = trends(&now, &History::from_snapshots([&busy, &first]));
        let xid = trends.xid_consumption.unwrap();
        assert!(close(xid.last_interval.per_hour, 100_000.0));
        assert!(close(xid.window.per_hour, 500_000.0));
        assert_eq!(xid.window.runs, 3);
        assert_eq!(xid.basis, RateBasis::Window);
        assert!(close(xid.per_hour, 500_000.0));
    }

    #[test]
    fn dead_rows_and_autovacuums_between_runs() {
        let first = snapshot(time(0, 30), 1_000_000, 100_000_000, 100, 2);
        let before = snapshot(time(12, 30), 1_000_500, 100_000_500, 500, 3);
        let now = snapshot(time(18, 30), 1_001_000, 100_001_000, 200, 5);
        let trends = trends(&now, &History::from_snapshots([&first, &before]));
        let table = events_table(&trends);
        assert_eq!(table.not_compared, None);
        assert_eq!(table.dead_rows_change, Some(-300));
        assert_eq!(table.dead_rows_direction, Some(Direction::Shrinking));
        assert!(close(table.dead_rows_per_hour.unwrap(), -50.0));
        assert_eq!(table.autovacuums_since_previous, Some(2));
        // 3 autovacuums in the 18 hours since the first run.
        assert_eq!(table.window_start, Some(time(0, 30)));
        assert_eq!(table.autovacuums_in_window, Some(3));
        assert!(close(table.autovacuums_per_day.unwrap(), 4.0));
    }

    #[test]
    fn a_restart_is_said_and_stops_table_rates_but_not_the_xid_rate() {
        let before = snapshot(time(10, 0), 1_000_000, 100_000_000, 100, 2);
        let mut now = snapshot(time(11, 0), 1_036_000, 100_036_000, 0, 0);
        now.server.postmaster_start_time = time(10, 30);
        let trends = trends(&now, &History::from_snapshots([&before]));
        assert!(trends.events.iter().any(|e| e.kind == EventKind::Restart));
        assert!(close(
            trends.xid_consumption.as_ref().unwrap().per_hour,
            36_000.0
        ));
        let table = events_table(&trends);
        assert_eq!(table.not_compared, Some(NotCompared::Restart));
        assert_eq!(table.dead_rows_change, None);
        assert_eq!(table.autovacuums_per_day, None);
    }

    #[test]
    fn a_stats_reset_is_said_and_gives_no_table_rates() {
        let before = snapshot(time(10, 0), 1_000_000, 100_000_000, 100, 2);
        let mut now = snapshot(time(11, 0), 1_001_000, 100_001_000, 0, 0);
        now.databases[0].stats_reset = Some(time(10, 45));
        let trends = trends(&now, &History::from_snapshots([&before]));
        let event = trends
            .events
            .iter()
            .find(|e| e.kind == EventKind::StatsReset)
            .unwrap();
        assert_eq!(event.database.as_deref(), Some("app"));
        let table = events_table(&trends);
        assert_eq!(table.not_compared, Some(NotCompared::StatsReset));
        assert_eq!(table.dead_rows_change, None);
        assert_eq!(table.autovacuums_since_previous, None);
        assert!(trends.xid_consumption.is_some());
    }

    #[test]
    fn a_counter_that_went_down_is_a_reset_too() {
        let before = snapshot(time(10, 0), 1_000_000, 100_000_000, 100, 2);
        let now = snapshot(time(11, 0), 1_001_000, 100_001_000, 0, 0);
        let trends = trends(&now, &History::from_snapshots([&before]));
        assert!(
            trends
                .events
                .iter()
                .any(|e| e.kind == EventKind::CountersWentDown)
        );
        assert_eq!(
            events_table(&trends).not_compared,
            Some(NotCompared::CountersWentDown)
        );
    }

    #[test]
    fn a_reset_earlier_in_the_history_shortens_the_window() {
        let first = snapshot(time(0, 0), 1_000_000, 100_000_000, 100, 7);
        let mut reset = snapshot(time(6, 0), 1_000_100, 100_000_100, 10, 1);
        reset.databases[0].stats_reset = Some(time(5, 0));
        let mut now = snapshot(time(12, 0), 1_000_200, 100_000_200, 20, 2);
        now.databases[0].stats_reset = Some(time(5, 0));
        let trends = trends(&now, &History::from_snapshots([&first, &reset]));
        let table = events_table(&trends);
        assert_eq!(table.window_start, Some(time(6, 0)));
        assert_eq!(table.autovacuums_in_window, Some(1));
        assert!(close(table.autovacuums_per_day.unwrap(), 4.0));
        assert!(trends.events.is_empty(), "{:?}", trends.events);
    }

    #[test]
    fn another_clusters_snapshot_is_skipped() {
        let mut other = snapshot(time(10, 0), 1_000, 100_000, 0, 0);
        other.server.system_identifier = Some("7499999999999999999".to_string());
        let now = snapshot(time(11, 0), 1_001_000, 100_001_000, 0, 0);
        let trends = trends(&now, &History::from_snapshots([&other]));
        assert!(trends.xid_consumption.is_none());
        assert!(
            trends.notes.iter().any(|n| n.contains("another cluster")),
            "{:?}",
            trends.notes
        );
    }

    #[test]
    fn without_system_identifier_identity_is_weaker_and_said() {
        let mut before = snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0);
        before.server.system_identifier = None;
        let now = snapshot(time(11, 0), 1_001_000, 100_001_000, 0, 0);
        let trends = trends(&now, &History::from_snapshots([&before]));
        assert!(trends.xid_consumption.is_some());
        assert!(
            trends
                .notes
                .iter()
                .any(|n| n.contains("without a system identifier"))
        );
        let mut older_major = before.clone();
        older_major.server.version_num = 150008;
        let trends = super::trends(&now, &History::from_snapshots([&older_major]));
        assert!(trends.xid_consumption.is_none());
    }

    #[test]
    fn a_next_xid_that_went_backwards_gives_no_rate() {
        let before = snapshot(time(10, 0), 5_000_000, 100_000_000, 0, 0);
        let now = snapshot(time(11, 0), 1_000_000, 100_000_000, 0, 0);
        let trends = trends(&now, &History::from_snapshots([&before]));
        assert!(trends.xid_consumption.is_none());
        assert!(
            trends
                .events
                .iter()
                .any(|e| e.kind == EventKind::XidWentBackwards)
        );
        assert_eq!(hours_or_status(app(&trends)), Estimate::NoRate);
    }

    fn hours_or_status(trend: &DatabaseTrend) -> Estimate {
        trend.xid_limits[0].estimate.clone()
    }

    #[test]
    fn multixact_rate_is_the_largest_growth_and_a_lower_bound() {
        let mut before = snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0);
        let mut now = snapshot(time(12, 0), 1_000_000, 100_000_000, 0, 0);
        before.databases[0].mxid_age = 1_000;
        now.databases[0].mxid_age = 1_200; // app: vacuum may have advanced datminmxid
        before.databases[1].mxid_age = 1_000;
        now.databases[1].mxid_age = 1_600; // template0: never vacuumed in between
        let trends = trends(&now, &History::from_snapshots([&before]));
        let mxid = trends.multixact_consumption.as_ref().unwrap();
        assert!(close(mxid.at_least_per_hour, 300.0));
        assert_eq!(mxid.database, "template0");
        let app = app(&trends);
        let freeze = app
            .mxid_limits
            .iter()
            .find(|l| l.limit == Limit::FreezeMaxAge)
            .unwrap();
        let Estimate::In { hours, .. } = freeze.estimate else {
            panic!("{:?}", freeze.estimate)
        };
        assert!(close(hours, (400_000_000.0 - 1_200.0) / 300.0));
    }

    #[test]
    fn no_multixact_growth_gives_no_multixact_estimate() {
        let before = snapshot(time(10, 0), 1_000_000, 100_000_000, 0, 0);
        let now = snapshot(time(12, 0), 1_100_000, 100_100_000, 0, 0);
        let trends = trends(&now, &History::from_snapshots([&before]));
        assert!(trends.multixact_consumption.is_none());
        assert!(
            app(&trends)
                .mxid_limits
                .iter()
                .all(|l| l.estimate == Estimate::NoRate)
        );
    }

    #[test]
    fn trends_serialize_to_json() {
        let before = snapshot(time(10, 0), 1_000_000, 150_000_000, 10, 0);
        let now = snapshot(time(11, 0), 1_050_000, 150_050_000, 10, 0);
        let trends = trends(&now, &History::from_snapshots([&before]));
        let json = serde_json::to_value(&trends).unwrap();
        assert_eq!(json["xid_consumption"]["per_hour"], 50_000.0);
        assert_eq!(
            json["databases"][0]["xid_limits"][0]["estimate"]["status"],
            "in"
        );
        let back: Trends = serde_json::from_value(json).unwrap();
        assert_eq!(back, trends);
    }
}
