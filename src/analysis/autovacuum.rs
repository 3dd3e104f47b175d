//! What the autovacuum daemon itself would do with each table, as a pure function of a snapshot.
//!
//! This is the model every table rule builds on, so it mirrors the server rather than the
//! documentation: `relation_needs_vacanalyze`, `do_autovacuum`, `extract_autovac_opts` and
//! `table_recheck_autovac` in `src/backend/postmaster/autovacuum.c` (PostgreSQL 12-18), and
//! section 1 of the facts sheet ("When autovacuum processes a table"). The integration test
//! `tests/postgres/oracle.rs` checks it against the real daemon on every supported version.
//!
//! Invariants it keeps, each from the server source:
//! - A reloption overrides the server setting only when set and in range (`>= 0`, or `>= -1` for
//!   the insert threshold and the 18 cap, where -1 switches them off).
//! - A TOAST table with any reloptions of its own (`toast.*`, stored without the prefix) uses
//!   those, and every field it does not set falls back to the server setting, not to its owner.
//!   Only a TOAST table whose reloptions are NULL takes its owning table's options, all of them,
//!   `autovacuum_enabled` included (`do_autovacuum`, second pass over `pg_class`).
//! - Thresholds are computed in `float4` as the server does, and compared with a strict `>`, so a
//!   count exactly at a fractional or rounded threshold gets the server's verdict.
//! - A per-table freeze max age can only lower the server's.
//! - Temporary tables and partitioned tables are never processed; a table with
//!   `autovacuum_enabled = false`, or any table while `autovacuum` or `track_counts` is off, only
//!   gets a forced anti-wraparound vacuum.
//! - While `autovacuum` or `track_counts` is off server-wide, a worker comes to a database only
//!   once its `age(datfrozenxid)` (or `mxid_age(datminmxid)`) passes the server's freeze max age
//!   ([`database_forced`]); a table past only its lowered per-table limit waits until then.
//! - Workers use their database's settings ([`crate::analysis::settings`]): a database's own
//!   `maintenance_work_mem`, `vacuum_cost_*` and freeze ages, not pgvac's session's.
//!
//! What a snapshot cannot show, and is therefore not modelled: the server lowers the effective
//! multixact freeze max age when multixact member space runs short
//! (`MultiXactMemberFreezeThreshold`); pgvac uses the setting.

use std::collections::HashMap;

pub use crate::analysis::settings::{
    GlobalSettings, HiddenSetting, Resolved, SettingOrigin, WorkerSettings,
};
use crate::snapshot::{Database, Persistence, RelKind, Table, TableOptions};

/// `pg_statistic`'s fixed oid: `ANALYZE` refuses it, so autovacuum never analyzes it.
const PG_STATISTIC_OID: u32 = 2619;

/// Where an effective per-table value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionSource {
    /// The table's own reloption (`ALTER TABLE ... SET (autovacuum_...)`).
    Table,
    /// A TOAST table's own option, set on its owner as `toast.autovacuum_...`.
    Toast,
    /// A TOAST table without options of its own takes its owning table's.
    OwningTable,
    /// Not overridden for the table: the server setting (or, for `autovacuum_enabled`, the
    /// server's `autovacuum`).
    ServerSetting,
}

/// A value and where it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effective<T> {
    pub value: T,
    pub source: OptionSource,
}

/// One of autovacuum's triggers for a table: `count > threshold + scale_factor * reltuples`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    /// The base threshold in rows (`autovacuum_*_threshold`).
    pub threshold: Effective<i64>,
    /// `autovacuum_*_scale_factor`.
    pub scale_factor: Effective<f64>,
    /// Dead rows on 18+: the cap (`autovacuum_vacuum_max_threshold`), when not switched off.
    pub max_threshold: Option<Effective<i64>>,
    /// Inserts on 18+: the share of pages not all-frozen (`1 - relallfrozen / relpages`) that
    /// scales the insert trigger's scale part.
    pub unfrozen_fraction: Option<f64>,
    /// The insert trigger is switched off (threshold -1); it then never fires.
    pub switched_off: bool,
    /// The trigger in rows, as the server computes it (in `float4`): the count must exceed it.
    pub rows: f64,
    /// The counter the server compares: `n_dead_tup`, `n_ins_since_vacuum` or
    /// `n_mod_since_analyze`; absent without statistics.
    pub count: Option<i64>,
    /// The count exceeds the trigger (whether autovacuum may act at all is separate).
    pub exceeded: bool,
}

impl Trigger {
    /// The smallest count that exceeds this trigger, compared as the server compares it (the
    /// count converted to `float4`, then a strict `>`).
    pub fn first_exceeding_count(&self) -> i64 {
        let rows = self.rows as f32;
        if rows < 0.0 {
            return 0;
        }
        // Counts above the midpoint between `rows` and the next float4 round up past `rows`.
        let next = f32::from_bits(rows.to_bits() + 1);
        let mut count = ((rows as f64 + next as f64) / 2.0).floor() as i64;
        while count as f32 <= rows {
            count += 1;
        }
        count
    }
}

/// The anti-wraparound trigger: a forced vacuum, whatever else is set.
#[derive(Debug, Clone, PartialEq)]
pub struct WraparoundTrigger {
    /// `age(relfrozenxid)`; absent for partitioned tables.
    pub xid_age: Option<i64>,
    /// `min(table autovacuum_freeze_max_age, server's)`.
    pub freeze_max_age: Effective<i64>,
    /// `mxid_age(relminmxid)`.
    pub mxid_age: Option<i64>,
    /// `min(table autovacuum_multixact_freeze_max_age, server's)`.
    pub multixact_freeze_max_age: Effective<i64>,
    /// Either age exceeds its maximum: a worker in its database force-vacuums the table, whatever
    /// else is set. Whether a worker comes to the database is `waits_for_database`.
    pub due: bool,
    /// No worker comes to the table's database for it yet: autovacuum is off (or `track_counts`
    /// is, server-wide), and then the launcher starts only for a database whose
    /// `age(datfrozenxid)` passes the server's `autovacuum_freeze_max_age` (or
    /// `mxid_age(datminmxid)` the multixact one): a table past only its lowered per-table limit
    /// waits until then ([`database_forced`]).
    pub waits_for_database: bool,
}

/// Autovacuum sends workers to `database` for wraparound even while it is inactive
/// (`autovacuum` or `track_counts` off): its `age(datfrozenxid)` is past the server's
/// `autovacuum_freeze_max_age`, or its `mxid_age(datminmxid)` past the multixact one.
///
/// The postmaster starts the launcher when the oldest database passes the limit (`SetTransactionIdLimit`,
/// and every 65,536 XIDs in `GetNewTransactionId`; the same for multixacts); the launcher then
/// sends one worker to the oldest database past it (`do_start_worker`: strictly older than next
/// XID minus the limit) and exits, and is started again for the next one when that worker has
/// advanced the first database's `datfrozenxid`. In that database the worker force-vacuums
/// every table past its own limit, per-table ones included.
pub fn database_forced(global: &GlobalSettings, database: &Database) -> bool {
    database.xid_age > global.freeze_max_age || database.mxid_age > global.multixact_freeze_max_age
}

/// Why autovacuum can only force an anti-wraparound vacuum on a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WraparoundOnlyBecause {
    /// `autovacuum_enabled = false`, on the table (or, for a TOAST table, where it came from).
    DisabledForTable(OptionSource),
    /// `autovacuum = off`.
    AutovacuumOff,
    /// `track_counts = off`, for the server or for the database's workers (`ALTER DATABASE
    /// ... SET track_counts = off`): there are no counts to act on.
    TrackCountsOff,
    /// The statistics have no entry for the table.
    NoStatistics,
}

/// Why autovacuum never processes a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NeverBecause {
    /// Only the owning session can vacuum or analyze a temporary table.
    TemporaryTable,
    /// Autovacuum processes partitions, never the partitioned table (it needs a manual ANALYZE).
    PartitionedTable,
}

/// What autovacuum may do with a table at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Vacuum and analyze when a trigger is exceeded.
    Thresholds,
    /// Only a forced anti-wraparound vacuum.
    WraparoundOnly(WraparoundOnlyBecause),
    /// Nothing, ever.
    Never(NeverBecause),
}

/// Why autovacuum would vacuum a table now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VacuumReason {
    Wraparound,
    DeadRows,
    Inserts,
}

/// A table's effective autovacuum settings, its triggers, and the server's verdict now.
#[derive(Debug, Clone, PartialEq)]
pub struct TableAutovacuum {
    pub oid: u32,
    pub reach: Reach,
    /// `autovacuum_enabled` as it applies to the table.
    pub enabled: Effective<bool>,
    /// `reltuples` as the server uses it: negative (never vacuumed or analyzed, 14+) as 0.
    pub reltuples: f64,
    /// `n_dead_tup > threshold + scale_factor * reltuples` (capped on 18+).
    pub dead_rows: Trigger,
    /// 13+: `n_ins_since_vacuum > threshold + scale_factor * reltuples` (times the unfrozen
    /// fraction on 18+).
    pub inserts: Option<Trigger>,
    /// `n_mod_since_analyze > threshold + scale_factor * reltuples`; absent for TOAST tables and
    /// `pg_statistic`, which autovacuum never analyzes.
    pub analyze: Option<Trigger>,
    pub wraparound: WraparoundTrigger,
    /// The cost delay its vacuums run with, in milliseconds (`ServerSetting`: its database's
    /// workers' value, [`WorkerSettings::cost_delay_ms`]).
    pub cost_delay_ms: Effective<f64>,
    /// The cost limit its vacuums run with (`ServerSetting`: its database's workers' value).
    pub cost_limit: Effective<i64>,
    /// The memory for dead tuples its vacuums get: its database's workers'
    /// ([`WorkerSettings::work_mem_bytes`]).
    pub work_mem_bytes: i64,
    /// The server would vacuum it now.
    pub vacuum_due: bool,
    /// The server would analyze it now.
    pub analyze_due: bool,
}

impl TableAutovacuum {
    /// Why the vacuum is due, the most pressing reason first.
    pub fn vacuum_reason(&self) -> Option<VacuumReason> {
        if !self.vacuum_due {
            None
        } else if self.wraparound.due {
            Some(VacuumReason::Wraparound)
        } else if self.dead_rows.exceeded {
            Some(VacuumReason::DeadRows)
        } else {
            Some(VacuumReason::Inserts)
        }
    }
}

/// Evaluate one table of `database` (whose tables are searched for a TOAST table's owner), with
/// the settings of that database's workers.
pub fn evaluate(global: &GlobalSettings, database: &Database, table: &Table) -> TableAutovacuum {
    let owner = table
        .owner_oid
        .and_then(|oid| table_by_oid(&database.tables, oid));
    evaluate_table(global, database, table, owner)
}

/// A table by oid. A database's tables are kept by oid, so it is a binary search (with a scan
/// for a list in another order).
fn table_by_oid(tables: &[Table], oid: u32) -> Option<&Table> {
    match tables.binary_search_by_key(&oid, |t| t.oid) {
        Ok(at) => Some(&tables[at]),
        Err(_) => tables.iter().find(|t| t.oid == oid),
    }
}

/// Evaluate every table of a database, in the database's order.
pub fn evaluate_database(global: &GlobalSettings, database: &Database) -> Vec<TableAutovacuum> {
    let sorted = database.tables.is_sorted_by_key(|t| t.oid);
    let by_oid: HashMap<u32, &Table> = if sorted {
        HashMap::new()
    } else {
        database.tables.iter().map(|t| (t.oid, t)).collect()
    };
    database
        .tables
        .iter()
        .map(|table| {
            let owner = table.owner_oid.and_then(|oid| {
                if sorted {
                    table_by_oid(&database.tables, oid)
                } else {
                    by_oid.get(&oid).copied()
                }
            });
            evaluate_table(global, database, table, owner)
        })
        .collect()
}

/// The reloptions autovacuum reads for a table (`extract_autovac_opts` in `do_autovacuum`).
struct AppliedOptions<'t> {
    options: &'t TableOptions,
    source: OptionSource,
}

impl AppliedOptions<'_> {
    /// A field, when it is set here and accepted by the server's range check.
    fn get<T: Copy>(
        this: Option<&Self>,
        field: impl Fn(&TableOptions) -> Option<T>,
        accepted: impl Fn(T) -> bool,
    ) -> Option<Effective<T>> {
        let this = this?;
        let value = field(this.options)?;
        accepted(value).then_some(Effective {
            value,
            source: this.source,
        })
    }

    fn or_server<T: Copy>(
        this: Option<&Self>,
        field: impl Fn(&TableOptions) -> Option<T>,
        accepted: impl Fn(T) -> bool,
        server: T,
    ) -> Effective<T> {
        Self::get(this, field, accepted).unwrap_or(Effective {
            value: server,
            source: OptionSource::ServerSetting,
        })
    }
}

/// `pg_class.reloptions` is NULL exactly when no option is set: the snapshot keeps it as an empty
/// list.
fn applied_options<'t>(table: &'t Table, owner: Option<&'t Table>) -> Option<AppliedOptions<'t>> {
    if !table.reloptions.is_empty() {
        let source = if table.kind == RelKind::Toast {
            OptionSource::Toast
        } else {
            OptionSource::Table
        };
        return Some(AppliedOptions {
            options: &table.options,
            source,
        });
    }
    if table.kind == RelKind::Toast {
        let owner = owner?;
        if !owner.reloptions.is_empty() {
            return Some(AppliedOptions {
                options: &owner.options,
                source: OptionSource::OwningTable,
            });
        }
    }
    None
}

/// `base + scale_factor * reltuples * multiplier`, in `float4` as `relation_needs_vacanalyze`
/// computes it (left to right; no fused multiply-add).
fn threshold_rows(base: i64, scale_factor: f64, reltuples: f32, multiplier: f32) -> f32 {
    base as f32 + scale_factor as f32 * reltuples * multiplier
}

fn exceeds(count: Option<i64>, rows: f32) -> bool {
    count.is_some_and(|count| count as f32 > rows)
}

/// Evaluate one table of `database`, given its owner when it is a TOAST table.
fn evaluate_table(
    global: &GlobalSettings,
    database: &Database,
    table: &Table,
    owner: Option<&Table>,
) -> TableAutovacuum {
    let workers = global.in_database(database.oid);
    let applied = applied_options(table, owner);
    let applied = applied.as_ref();
    let stats = table.stats.as_ref();
    let major = global.server_major;

    let reltuples = if table.reltuples < 0.0 {
        0.0_f32
    } else {
        table.reltuples as f32
    };

    // Dead rows.
    let threshold = AppliedOptions::or_server(
        applied,
        |o| o.autovacuum_vacuum_threshold,
        |v| v >= 0,
        global.vacuum_threshold,
    );
    let scale_factor = AppliedOptions::or_server(
        applied,
        |o| o.autovacuum_vacuum_scale_factor,
        |v| v >= 0.0,
        global.vacuum_scale_factor,
    );
    let max_threshold = global.vacuum_max_threshold.and_then(|server| {
        let cap = AppliedOptions::or_server(
            applied,
            |o| o.autovacuum_vacuum_max_threshold,
            |v| v >= -1,
            server,
        );
        (cap.value >= 0).then_some(cap)
    });
    let mut dead_rows_at = threshold_rows(threshold.value, scale_factor.value, reltuples, 1.0);
    if let Some(cap) = max_threshold
        && dead_rows_at > cap.value as f32
    {
        dead_rows_at = cap.value as f32;
    }
    let dead_count = stats.and_then(|s| s.n_dead_tup);
    let dead_rows = Trigger {
        threshold,
        scale_factor,
        max_threshold,
        unfrozen_fraction: None,
        switched_off: false,
        rows: dead_rows_at as f64,
        count: dead_count,
        exceeded: exceeds(dead_count, dead_rows_at),
    };

    // Inserts, 13+.
    let inserts = match (
        global.vacuum_insert_threshold,
        global.vacuum_insert_scale_factor,
    ) {
        (Some(server_threshold), Some(server_scale)) if major >= 13 => {
            let threshold = AppliedOptions::or_server(
                applied,
                |o| o.autovacuum_vacuum_insert_threshold,
                |v| v >= -1,
                server_threshold,
            );
            let scale_factor = AppliedOptions::or_server(
                applied,
                |o| o.autovacuum_vacuum_insert_scale_factor,
                |v| v >= 0.0,
                server_scale,
            );
            let unfrozen_fraction = (major >= 18).then(|| unfrozen_fraction(table));
            let rows = threshold_rows(
                threshold.value,
                scale_factor.value,
                reltuples,
                unfrozen_fraction.unwrap_or(1.0),
            );
            let count = stats.and_then(|s| s.n_ins_since_vacuum);
            let switched_off = threshold.value < 0;
            Some(Trigger {
                threshold,
                scale_factor,
                max_threshold: None,
                unfrozen_fraction: unfrozen_fraction.map(f64::from),
                switched_off,
                rows: rows as f64,
                count,
                exceeded: !switched_off && exceeds(count, rows),
            })
        }
        _ => None,
    };

    // Analyze: never for TOAST tables (do_autovacuum) nor pg_statistic.
    let analyze = (table.kind != RelKind::Toast && table.oid != PG_STATISTIC_OID).then(|| {
        let threshold = AppliedOptions::or_server(
            applied,
            |o| o.autovacuum_analyze_threshold,
            |v| v >= 0,
            global.analyze_threshold,
        );
        let scale_factor = AppliedOptions::or_server(
            applied,
            |o| o.autovacuum_analyze_scale_factor,
            |v| v >= 0.0,
            global.analyze_scale_factor,
        );
        let rows = threshold_rows(threshold.value, scale_factor.value, reltuples, 1.0);
        let count = stats.and_then(|s| s.n_mod_since_analyze);
        Trigger {
            threshold,
            scale_factor,
            max_threshold: None,
            unfrozen_fraction: None,
            switched_off: false,
            rows: rows as f64,
            count,
            exceeded: exceeds(count, rows),
        }
    });

    // Anti-wraparound: a per-table value can only lower the server's.
    let lowered = |field: fn(&TableOptions) -> Option<i64>, server: i64| match AppliedOptions::get(
        applied,
        field,
        |v| v >= 0,
    ) {
        Some(option) if option.value < server => option,
        _ => Effective {
            value: server,
            source: OptionSource::ServerSetting,
        },
    };
    let freeze_max_age = lowered(|o| o.autovacuum_freeze_max_age, global.freeze_max_age);
    let multixact_freeze_max_age = lowered(
        |o| o.autovacuum_multixact_freeze_max_age,
        global.multixact_freeze_max_age,
    );
    let wraparound = WraparoundTrigger {
        xid_age: table.xid_age,
        freeze_max_age,
        mxid_age: table.mxid_age,
        multixact_freeze_max_age,
        due: table.xid_age.is_some_and(|age| age > freeze_max_age.value)
            || table
                .mxid_age
                .is_some_and(|age| age > multixact_freeze_max_age.value),
        waits_for_database: !global.autovacuum_active() && !database_forced(global, database),
    };

    let enabled = AppliedOptions::or_server(applied, |o| o.autovacuum_enabled, |_| true, true);

    let cost_delay_ms = AppliedOptions::or_server(
        applied,
        |o| o.autovacuum_vacuum_cost_delay,
        |v| v >= 0.0,
        workers.cost_delay_ms.value,
    );
    let cost_limit = AppliedOptions::or_server(
        applied,
        |o| o.autovacuum_vacuum_cost_limit,
        |v| v > 0,
        workers.cost_limit.value,
    );

    let never = if table.persistence == Persistence::Temporary {
        Some(NeverBecause::TemporaryTable)
    } else if table.kind == RelKind::PartitionedTable {
        Some(NeverBecause::PartitionedTable)
    } else {
        None
    };
    let reach = match never {
        Some(because) => Reach::Never(because),
        None if !enabled.value => {
            Reach::WraparoundOnly(WraparoundOnlyBecause::DisabledForTable(enabled.source))
        }
        None if !global.autovacuum => Reach::WraparoundOnly(WraparoundOnlyBecause::AutovacuumOff),
        None if !global.track_counts || !workers.track_counts.value => {
            Reach::WraparoundOnly(WraparoundOnlyBecause::TrackCountsOff)
        }
        None if stats.is_none() => Reach::WraparoundOnly(WraparoundOnlyBecause::NoStatistics),
        None => Reach::Thresholds,
    };

    // relation_needs_vacanalyze: a table disabled for autovacuum but forced still goes through
    // the threshold branch, so it may be analyzed too.
    let (vacuum_due, analyze_due) = if never.is_some() || (!enabled.value && !wraparound.due) {
        (false, false)
    } else if stats.is_some() && global.autovacuum_active() && workers.track_counts.value {
        (
            wraparound.due || dead_rows.exceeded || inserts.as_ref().is_some_and(|t| t.exceeded),
            analyze.as_ref().is_some_and(|t| t.exceeded),
        )
    } else {
        (wraparound.due && !wraparound.waits_for_database, false)
    };

    TableAutovacuum {
        oid: table.oid,
        reach,
        enabled,
        reltuples: reltuples as f64,
        dead_rows,
        inserts,
        analyze,
        wraparound,
        cost_delay_ms,
        cost_limit,
        work_mem_bytes: workers.work_mem_bytes.value,
        vacuum_due,
        analyze_due,
    }
}

/// 18: `1 - relallfrozen / relpages` in `float4`, relallfrozen clamped to relpages; 1 when
/// either is 0 or unknown.
fn unfrozen_fraction(table: &Table) -> f32 {
    let relpages = table.relpages.clamp(0, i32::MAX as i64) as i32;
    let relallfrozen = table.relallfrozen.unwrap_or(0).clamp(0, i32::MAX as i64) as i32;
    if relpages > 0 && relallfrozen > 0 {
        1.0 - (relallfrozen.min(relpages) as f32 / relpages as f32)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::*;
    use chrono::{TimeZone, Utc};
    use std::time::Duration;

    fn setting(name: &str, value: &str, unit: Option<&str>) -> Setting {
        Setting {
            name: name.to_string(),
            setting: value.to_string(),
            unit: unit.map(str::to_string),
            vartype: "integer".to_string(),
            source: "default".to_string(),
            context: "sighup".to_string(),
            boot_val: None,
            reset_val: None,
            pending_restart: false,
        }
    }

    /// A snapshot of a server of `major` with the given settings (`name`, `setting`, `unit`).
    fn snapshot(major: i32, settings: &[(&str, &str, Option<&str>)]) -> Snapshot {
        let time = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
        Snapshot {
            snapshot_version: SNAPSHOT_VERSION,
            pgvac_version: "test".to_string(),
            server: Server {
                version_num: major * 10000 + 1,
                version: format!("PostgreSQL {major}.1"),
                in_recovery: false,
                postmaster_start_time: time,
                stats_reset: None,
                collected_at: time,
                next_xid: 1000,
                system_identifier: None,
                block_size: 8192,
                platform: Platform {
                    kind: PlatformKind::Postgres,
                    aurora_version: None,
                    evidence: Vec::new(),
                },
                connected_database: "postgres".to_string(),
                connected_user: "postgres".to_string(),
                session: Default::default(),
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
            settings: settings
                .iter()
                .map(|(name, value, unit)| setting(name, value, *unit))
                .collect(),
            role_settings: None,
            databases: Vec::new(),
            sessions: Vec::new(),
            prepared_transactions: Vec::new(),
            replication_slots: Vec::new(),
            standbys: Vec::new(),
            running_vacuums: Vec::new(),
            warnings: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// The settings of a freshly initialised server of that version.
    fn defaults(major: i32) -> GlobalSettings {
        GlobalSettings::from_snapshot(&snapshot(major, &[]))
    }

    fn table(oid: u32, name: &str, reltuples: f64, reloptions: &[&str]) -> Table {
        let reloptions: Vec<String> = reloptions.iter().map(|s| s.to_string()).collect();
        Table {
            oid,
            schema: "public".to_string(),
            name: name.to_string(),
            kind: RelKind::Table,
            persistence: Persistence::Permanent,
            reltuples,
            relpages: 100,
            relallvisible: 0,
            relallfrozen: None,
            heap_bytes: 100 * 8192,
            xid_age: Some(1000),
            mxid_age: Some(1),
            options: TableOptions::parse(&reloptions).into(),
            reloptions,
            toast: None,
            owner_oid: None,
            stats: Some(TableStats::default()),
            index_count: 0,
            index_bytes: 0,
        }
    }

    fn with_counts(mut table: Table, dead: i64, inserted: i64, modified: i64) -> Table {
        let stats = table.stats.get_or_insert_with(TableStats::default);
        stats.n_dead_tup = Some(dead);
        stats.n_ins_since_vacuum = Some(inserted);
        stats.n_mod_since_analyze = Some(modified);
        table
    }

    /// A table with its TOAST table, as `collect` gives them: the TOAST table as its own entry
    /// (kind Toast, its own reloptions, pointing at its owner), and the owner's `toast` field.
    fn with_toast(mut owner: Table, toast_reloptions: &[&str], toast_reltuples: f64) -> Database {
        let reloptions: Vec<String> = toast_reloptions.iter().map(|s| s.to_string()).collect();
        let mut toast = table(
            owner.oid + 1,
            "pg_toast_x",
            toast_reltuples,
            toast_reloptions,
        );
        toast.schema = "pg_toast".to_string();
        toast.kind = RelKind::Toast;
        toast.owner_oid = Some(owner.oid);
        owner.toast = Some(Box::new(ToastTable {
            oid: toast.oid,
            xid_age: toast.xid_age,
            mxid_age: toast.mxid_age,
            relpages: toast.relpages,
            options: TableOptions::parse(&reloptions),
            reloptions,
        }));
        database(vec![owner, toast])
    }

    fn database(tables: Vec<Table>) -> Database {
        Database {
            oid: 5,
            name: "app".to_string(),
            allows_connections: true,
            connection_limit: -1,
            is_template: false,
            xid_age: 1000,
            mxid_age: 1,
            size_bytes: None,
            stats_reset: None,
            visit: Visit::Visited,
            collected_at: None,
            tables,
            temp_schemas: Vec::new(),
        }
    }

    fn one(global: &GlobalSettings, table: Table) -> TableAutovacuum {
        evaluate_table(global, &database(Vec::new()), &table, None)
    }

    #[test]
    fn settings_are_read_in_their_units_and_resolved() {
        let snap = snapshot(
            16,
            &[
                ("autovacuum", "on", None),
                ("track_counts", "on", None),
                ("autovacuum_naptime", "15", Some("s")),
                ("autovacuum_vacuum_cost_delay", "-1", Some("ms")),
                ("vacuum_cost_delay", "5", Some("ms")),
                ("autovacuum_vacuum_cost_limit", "-1", None),
                ("vacuum_cost_limit", "300", None),
                ("autovacuum_work_mem", "-1", Some("kB")),
                ("maintenance_work_mem", "2097152", Some("kB")),
                ("autovacuum_vacuum_scale_factor", "0.05", None),
            ],
        );
        let global = GlobalSettings::from_snapshot(&snap);
        assert_eq!(global.naptime, Duration::from_secs(15));
        assert_eq!(global.cost_delay_ms, 5.0);
        assert_eq!(global.cost_limit, 300);
        assert_eq!(global.vacuum_scale_factor, 0.05);
        // 2 GB of maintenance_work_mem, but a vacuum could use no more than 1 GB before 17.
        assert_eq!(global.work_mem_bytes, 1024 * 1024 * 1024);
        assert!(
            !global
                .assumed_defaults
                .contains(&"autovacuum_naptime".to_string())
        );
        assert!(
            global
                .assumed_defaults
                .contains(&"autovacuum_freeze_max_age".to_string())
        );

        let mut snap17 = snap.clone();
        snap17.server.version_num = 170001;
        assert_eq!(
            GlobalSettings::from_snapshot(&snap17).work_mem_bytes,
            2 * 1024 * 1024 * 1024
        );

        // Own values win over the fallbacks; units with a multiplier (8kB) are honoured.
        let own = GlobalSettings::from_snapshot(&snapshot(
            15,
            &[
                ("autovacuum_vacuum_cost_delay", "0", Some("ms")),
                ("vacuum_cost_delay", "5", Some("ms")),
                ("autovacuum_vacuum_cost_limit", "1000", None),
                ("autovacuum_work_mem", "128", Some("8kB")),
            ],
        ));
        assert_eq!(own.cost_delay_ms, 0.0);
        assert_eq!(own.cost_limit, 1000);
        assert_eq!(own.work_mem_bytes, 128 * 8192);
    }

    #[test]
    fn missing_settings_take_the_versions_defaults() {
        let v12 = defaults(12);
        assert!(v12.autovacuum && v12.track_counts);
        assert_eq!((v12.vacuum_threshold, v12.vacuum_scale_factor), (50, 0.2));
        assert_eq!((v12.analyze_threshold, v12.analyze_scale_factor), (50, 0.1));
        assert_eq!(v12.vacuum_insert_threshold, None);
        assert_eq!(v12.vacuum_max_threshold, None);
        assert_eq!(v12.worker_slots, None);
        assert_eq!(v12.naptime, Duration::from_secs(60));
        assert_eq!(v12.cost_delay_ms, 2.0);
        assert_eq!(v12.cost_limit, 200);
        assert_eq!(v12.work_mem_bytes, 64 * 1024 * 1024);
        assert_eq!(v12.freeze_max_age, 200_000_000);
        assert_eq!(v12.multixact_freeze_max_age, 400_000_000);
        assert!(v12.assumed_defaults.contains(&"autovacuum".to_string()));

        let v13 = defaults(13);
        assert_eq!(v13.vacuum_insert_threshold, Some(1000));
        assert_eq!(v13.vacuum_insert_scale_factor, Some(0.2));
        assert_eq!(v13.vacuum_max_threshold, None);

        let v18 = defaults(18);
        assert_eq!(v18.vacuum_max_threshold, Some(100_000_000));
        assert_eq!(v18.worker_slots, Some(16));
    }

    #[test]
    fn unreadable_settings_are_assumed_not_trusted() {
        let global = GlobalSettings::from_snapshot(&snapshot(
            16,
            &[
                ("autovacuum_vacuum_threshold", "lots", None),
                ("autovacuum_naptime", "1", Some("fortnight")),
            ],
        ));
        let unitless = GlobalSettings::from_snapshot(&snapshot(
            16,
            &[
                ("autovacuum_naptime", "15", None),
                ("maintenance_work_mem", "1024", None),
            ],
        ));
        assert_eq!(unitless.naptime, Duration::from_secs(15));
        assert_eq!(unitless.work_mem_bytes, 1024 * 1024);
        assert_eq!(global.vacuum_threshold, 50);
        assert_eq!(global.naptime, Duration::from_secs(60));
        for name in ["autovacuum_vacuum_threshold", "autovacuum_naptime"] {
            assert!(
                global.assumed_defaults.contains(&name.to_string()),
                "{name}"
            );
        }
    }

    #[test]
    fn default_dead_row_trigger_is_strictly_greater_than() {
        let global = defaults(16);
        // 50 + 0.2 * 1234 = 296.8: 296 dead rows are not enough, 297 are.
        let below = one(&global, with_counts(table(10, "t", 1234.0, &[]), 296, 0, 0));
        assert!((below.dead_rows.rows - 296.8).abs() < 1e-3);
        assert!(!below.dead_rows.exceeded && !below.vacuum_due);
        assert_eq!(below.dead_rows.first_exceeding_count(), 297);
        assert_eq!(
            below.dead_rows.threshold.source,
            OptionSource::ServerSetting
        );
        let above = one(&global, with_counts(table(10, "t", 1234.0, &[]), 297, 0, 0));
        assert!(above.vacuum_due);
        assert_eq!(above.vacuum_reason(), Some(VacuumReason::DeadRows));
        // A whole-number trigger needs one more: 50 + 0.2 * 1000 = 250.
        let exact = one(&global, with_counts(table(10, "t", 1000.0, &[]), 250, 0, 0));
        assert!(!exact.vacuum_due);
        assert_eq!(exact.dead_rows.first_exceeding_count(), 251);
    }

    #[test]
    fn thresholds_are_computed_in_float4_like_the_server() {
        let global = defaults(17);
        // 0.2f * 1e9f rounds to 2e8, and 2e8 + 50 to 200000048 (float4 steps are 16 here).
        // In double precision the trigger would be 200000050 and 200000051 dead rows would be
        // due; the server converts the count to float4 too (200000048) and says not yet.
        let t = one(
            &global,
            with_counts(table(10, "big", 1e9, &[]), 200_000_051, 0, 0),
        );
        assert_eq!(t.dead_rows.rows, 200_000_048.0);
        assert!(!t.vacuum_due);
        let first = t.dead_rows.first_exceeding_count();
        assert!(first as f32 > t.dead_rows.rows as f32);
        assert!(((first - 1) as f32) <= t.dead_rows.rows as f32);
        // 200000056 is the midpoint to the next float4 (200000064), and rounds up to it.
        assert_eq!(first, 200_000_056);
    }

    #[test]
    fn never_analyzed_table_counts_reltuples_as_zero() {
        let global = defaults(14);
        let t = one(&global, with_counts(table(10, "new", -1.0, &[]), 51, 0, 51));
        assert_eq!(t.reltuples, 0.0);
        assert_eq!(t.dead_rows.rows, 50.0);
        assert!(t.vacuum_due && t.analyze_due);
    }

    #[test]
    fn table_reloptions_override_the_server_settings() {
        let global = defaults(16);
        let t = one(
            &global,
            with_counts(
                table(
                    10,
                    "tuned",
                    10_000.0,
                    &[
                        "fillfactor=90",
                        "autovacuum_vacuum_scale_factor=0",
                        "autovacuum_vacuum_threshold=500",
                        "autovacuum_analyze_scale_factor=0.01",
                        "autovacuum_vacuum_cost_delay=0",
                    ],
                ),
                501,
                0,
                150,
            ),
        );
        assert_eq!(t.dead_rows.rows, 500.0);
        assert_eq!(t.dead_rows.threshold.source, OptionSource::Table);
        assert_eq!(t.dead_rows.scale_factor.source, OptionSource::Table);
        assert!(t.vacuum_due);
        let analyze = t.analyze.as_ref().unwrap();
        assert_eq!(analyze.threshold.source, OptionSource::ServerSetting);
        assert_eq!(analyze.scale_factor.source, OptionSource::Table);
        assert_eq!(analyze.rows, 150.0);
        assert!(!t.analyze_due, "150 is not more than 50 + 0.01 * 10000");
        assert_eq!(t.cost_delay_ms.value, 0.0);
        assert_eq!(t.cost_delay_ms.source, OptionSource::Table);
        assert_eq!(t.cost_limit.source, OptionSource::ServerSetting);
    }

    #[test]
    fn toast_table_with_own_options_falls_back_to_the_server_not_the_owner() {
        let global = defaults(16);
        let owner = table(
            10,
            "docs",
            500.0,
            &[
                "autovacuum_vacuum_threshold=100000",
                "autovacuum_vacuum_scale_factor=0",
            ],
        );
        let db = with_toast(owner, &["autovacuum_vacuum_threshold=20"], 500.0);
        let toast = &db.tables[1];
        let t = evaluate(&global, &db, &with_counts(toast.clone(), 121, 0, 0));
        assert_eq!(t.dead_rows.threshold.value, 20);
        assert_eq!(t.dead_rows.threshold.source, OptionSource::Toast);
        // The owner's scale factor 0 does not apply: the server's 0.2 does.
        assert_eq!(t.dead_rows.scale_factor.value, 0.2);
        assert_eq!(t.dead_rows.scale_factor.source, OptionSource::ServerSetting);
        assert_eq!(t.dead_rows.rows, 120.0);
        assert!(t.vacuum_due);
        assert!(t.analyze.is_none() && !t.analyze_due);
    }

    #[test]
    fn toast_table_without_options_takes_all_of_its_owners() {
        let global = defaults(16);
        let owner = table(
            10,
            "docs",
            500.0,
            &[
                "autovacuum_vacuum_threshold=30",
                "autovacuum_vacuum_scale_factor=0.1",
            ],
        );
        let db = with_toast(owner, &[], 500.0);
        let t = evaluate(&global, &db, &with_counts(db.tables[1].clone(), 81, 0, 0));
        assert_eq!(t.dead_rows.threshold.source, OptionSource::OwningTable);
        assert_eq!(t.dead_rows.scale_factor.source, OptionSource::OwningTable);
        assert_eq!(t.dead_rows.rows, 80.0);
        assert!(t.vacuum_due);

        // And the owner's autovacuum_enabled = false with them.
        let disabled = table(10, "docs", 500.0, &["autovacuum_enabled=false"]);
        let db = with_toast(disabled, &[], 500.0);
        let t = evaluate(&global, &db, &with_counts(db.tables[1].clone(), 500, 0, 0));
        assert_eq!(
            t.reach,
            Reach::WraparoundOnly(WraparoundOnlyBecause::DisabledForTable(
                OptionSource::OwningTable
            ))
        );
        assert!(t.dead_rows.exceeded && !t.vacuum_due);

        // Without options anywhere, the server's settings.
        let db = with_toast(table(10, "plain", 500.0, &[]), &[], 500.0);
        let t = evaluate(&global, &db, &db.tables[1]);
        assert_eq!(t.dead_rows.threshold.source, OptionSource::ServerSetting);
        assert_eq!(t.dead_rows.rows, 150.0);
    }

    #[test]
    fn toast_options_of_its_own_ignore_the_owners_autovacuum_enabled() {
        let global = defaults(16);
        let owner = table(10, "docs", 500.0, &["autovacuum_enabled=false"]);
        let db = with_toast(owner, &["autovacuum_vacuum_threshold=20"], 500.0);
        let toast = evaluate(&global, &db, &with_counts(db.tables[1].clone(), 121, 0, 0));
        assert_eq!(toast.reach, Reach::Thresholds);
        assert_eq!(toast.enabled.source, OptionSource::ServerSetting);
        assert!(toast.vacuum_due);
        let owner = evaluate(
            &global,
            &db,
            &with_counts(db.tables[0].clone(), 1000, 0, 1000),
        );
        assert!(!owner.vacuum_due && !owner.analyze_due);
    }

    #[test]
    fn pg_statistic_is_never_analyzed() {
        let global = defaults(16);
        let mut stat = with_counts(table(2619, "pg_statistic", 400.0, &[]), 200, 0, 1000);
        stat.schema = "pg_catalog".to_string();
        let t = one(&global, stat);
        assert!(t.analyze.is_none() && !t.analyze_due);
        assert!(t.vacuum_due);
    }

    #[test]
    fn insert_trigger_exists_from_13() {
        let t12 = one(
            &defaults(12),
            with_counts(table(10, "log", 1000.0, &[]), 0, 5000, 0),
        );
        assert!(t12.inserts.is_none() && !t12.vacuum_due);

        let t13 = one(
            &defaults(13),
            with_counts(table(10, "log", 1000.0, &[]), 0, 1201, 0),
        );
        let inserts = t13.inserts.as_ref().unwrap();
        assert_eq!(inserts.rows, 1200.0);
        assert!(t13.vacuum_due);
        assert_eq!(t13.vacuum_reason(), Some(VacuumReason::Inserts));
        assert_eq!(inserts.unfrozen_fraction, None);

        let off = one(
            &defaults(13),
            with_counts(
                table(
                    10,
                    "log",
                    1000.0,
                    &["autovacuum_vacuum_insert_threshold=-1"],
                ),
                0,
                1_000_000,
                0,
            ),
        );
        let inserts = off.inserts.as_ref().unwrap();
        assert!(inserts.switched_off && !inserts.exceeded && !off.vacuum_due);
        assert_eq!(inserts.threshold.source, OptionSource::Table);
    }

    #[test]
    fn insert_trigger_scales_with_the_unfrozen_fraction_on_18() {
        let mut half_frozen = with_counts(table(10, "log", 1000.0, &[]), 0, 1101, 0);
        half_frozen.relpages = 100;
        half_frozen.relallfrozen = Some(50);
        let t = one(&defaults(18), half_frozen.clone());
        let inserts = t.inserts.as_ref().unwrap();
        assert_eq!(inserts.unfrozen_fraction, Some(0.5));
        assert_eq!(inserts.rows, 1100.0);
        assert!(t.vacuum_due);
        // 17 ignores relallfrozen.
        let t17 = one(&defaults(17), half_frozen.clone());
        assert_eq!(t17.inserts.as_ref().unwrap().rows, 1200.0);
        assert!(!t17.vacuum_due);
        // relallfrozen above relpages (stats set by hand) is clamped: nothing unfrozen.
        half_frozen.relallfrozen = Some(150);
        let clamped = one(&defaults(18), half_frozen);
        assert_eq!(
            clamped.inserts.as_ref().unwrap().unfrozen_fraction,
            Some(0.0)
        );
        assert_eq!(clamped.inserts.as_ref().unwrap().rows, 1000.0);
    }

    #[test]
    fn dead_row_trigger_is_capped_on_18() {
        let big = with_counts(table(10, "big", 1e9, &[]), 100_000_008, 0, 0);
        let t18 = one(&defaults(18), big.clone());
        assert_eq!(t18.dead_rows.rows, 100_000_000.0);
        assert_eq!(
            t18.dead_rows.max_threshold.map(|m| m.source),
            Some(OptionSource::ServerSetting)
        );
        assert!(t18.vacuum_due);
        // In float4, 100000001 dead rows are 100000000: not more than the cap. The first count
        // that is: 100000005 (100000004 is the midpoint, and ties round to even, down).
        assert_eq!(t18.dead_rows.first_exceeding_count(), 100_000_005);
        let one_more = with_counts(table(10, "big", 1e9, &[]), 100_000_001, 0, 0);
        assert!(!one(&defaults(18), one_more).vacuum_due);
        let t17 = one(&defaults(17), big.clone());
        assert!(t17.dead_rows.max_threshold.is_none() && !t17.vacuum_due);

        // A per-table cap, and -1 to switch it off.
        let mut capped = with_counts(
            table(10, "t", 1234.0, &["autovacuum_vacuum_max_threshold=100"]),
            101,
            0,
            0,
        );
        let t = one(&defaults(18), capped.clone());
        assert_eq!(t.dead_rows.rows, 100.0);
        assert_eq!(
            t.dead_rows.max_threshold.unwrap().source,
            OptionSource::Table
        );
        assert!(t.vacuum_due);
        capped.reloptions = vec!["autovacuum_vacuum_max_threshold=-1".to_string()];
        capped.options = TableOptions::parse(&capped.reloptions).into();
        let uncapped = one(&defaults(18), big.clone());
        let mut big_uncapped = big;
        big_uncapped.reloptions = capped.reloptions.clone();
        big_uncapped.options = capped.options.clone();
        let off = one(&defaults(18), big_uncapped);
        assert!(uncapped.vacuum_due);
        assert!(off.dead_rows.max_threshold.is_none() && !off.vacuum_due);
    }

    #[test]
    fn freeze_max_age_per_table_can_only_lower_the_servers() {
        let global = defaults(16);
        let mut old = table(10, "old", 1000.0, &["autovacuum_freeze_max_age=100000000"]);
        old.xid_age = Some(150_000_000);
        let t = one(&global, old.clone());
        assert_eq!(t.wraparound.freeze_max_age.value, 100_000_000);
        assert_eq!(t.wraparound.freeze_max_age.source, OptionSource::Table);
        assert!(t.wraparound.due && t.vacuum_due);
        assert_eq!(t.vacuum_reason(), Some(VacuumReason::Wraparound));

        let mut higher = table(10, "old", 1000.0, &["autovacuum_freeze_max_age=1000000000"]);
        higher.xid_age = Some(250_000_000);
        let t = one(&global, higher);
        assert_eq!(t.wraparound.freeze_max_age.value, 200_000_000);
        assert_eq!(
            t.wraparound.freeze_max_age.source,
            OptionSource::ServerSetting
        );
        assert!(t.vacuum_due);

        let mut multi = table(10, "m", 1000.0, &[]);
        multi.mxid_age = Some(400_000_001);
        assert!(one(&global, multi.clone()).vacuum_due);
        multi.mxid_age = Some(400_000_000);
        assert!(!one(&global, multi).vacuum_due, "strictly greater");
    }

    #[test]
    fn autovacuum_off_leaves_only_wraparound_vacuums() {
        let mut global = defaults(16);
        global.autovacuum = false;
        let busy = with_counts(table(10, "busy", 1000.0, &[]), 10_000, 0, 10_000);
        let t = one(&global, busy.clone());
        assert_eq!(
            t.reach,
            Reach::WraparoundOnly(WraparoundOnlyBecause::AutovacuumOff)
        );
        assert!(t.dead_rows.exceeded && !t.vacuum_due && !t.analyze_due);
        // A table past the server's limit is in a database past it too (datfrozenxid is the
        // oldest relfrozenxid): the launcher is started for it.
        let mut old = busy.clone();
        old.xid_age = Some(300_000_000);
        let mut old_db = database(Vec::new());
        old_db.xid_age = 300_000_000;
        let t = evaluate_table(&global, &old_db, &old, None);
        assert!(t.vacuum_due && !t.analyze_due && !t.wraparound.waits_for_database);

        let mut no_counts = defaults(16);
        no_counts.track_counts = false;
        let t = one(&no_counts, busy.clone());
        assert_eq!(
            t.reach,
            Reach::WraparoundOnly(WraparoundOnlyBecause::TrackCountsOff)
        );
        assert!(!t.vacuum_due);

        let mut unseen = busy;
        unseen.stats = None;
        let t = one(&defaults(16), unseen);
        assert_eq!(
            t.reach,
            Reach::WraparoundOnly(WraparoundOnlyBecause::NoStatistics)
        );
        assert!(!t.vacuum_due);
    }

    #[test]
    fn autovacuum_off_forces_a_table_only_once_its_database_passes_the_server_limit() {
        let lowered = table(10, "audit", 1000.0, &["autovacuum_freeze_max_age=100000"]);
        let mut lowered = with_counts(lowered, 0, 0, 0);
        lowered.xid_age = Some(150_000);
        let mut young = database(Vec::new());
        young.xid_age = 150_000;
        let mut old = database(Vec::new());
        old.xid_age = 200_000_001;
        for off in ["autovacuum", "track_counts"] {
            let mut global = defaults(16);
            match off {
                "autovacuum" => global.autovacuum = false,
                _ => global.track_counts = false,
            }
            let t = evaluate_table(&global, &young, &lowered, None);
            assert!(t.wraparound.due, "{off}: past its own limit");
            assert!(
                t.wraparound.waits_for_database && !t.vacuum_due,
                "{off}: no worker yet"
            );
            let t = evaluate_table(&global, &old, &lowered, None);
            assert!(
                !t.wraparound.waits_for_database && t.vacuum_due,
                "{off}: forced"
            );
            // At the limit exactly: do_start_worker wants the database strictly older.
            let mut at = old.clone();
            at.xid_age = 200_000_000;
            assert!(
                !evaluate_table(&global, &at, &lowered, None).vacuum_due,
                "{off}"
            );
            // The multixact limit starts the launcher too.
            let mut multi = young.clone();
            multi.mxid_age = 400_000_001;
            assert!(
                evaluate_table(&global, &multi, &lowered, None).vacuum_due,
                "{off}"
            );
        }
        // With autovacuum active the launcher visits every database: the table is forced.
        let t = evaluate_table(&defaults(16), &young, &lowered, None);
        assert!(t.vacuum_due && !t.wraparound.waits_for_database);
    }

    #[test]
    fn disabled_table_is_only_forced_and_then_may_be_analyzed_too() {
        let global = defaults(16);
        let mut t = with_counts(
            table(10, "quiet", 1000.0, &["autovacuum_enabled=off"]),
            10_000,
            0,
            10_000,
        );
        let verdict = one(&global, t.clone());
        assert_eq!(
            verdict.reach,
            Reach::WraparoundOnly(WraparoundOnlyBecause::DisabledForTable(OptionSource::Table))
        );
        assert!(!verdict.vacuum_due && !verdict.analyze_due);
        // Forced: relation_needs_vacanalyze goes on to the threshold branch, analyze included.
        t.xid_age = Some(250_000_000);
        let verdict = one(&global, t);
        assert!(verdict.vacuum_due && verdict.analyze_due);
    }

    #[test]
    fn temporary_and_partitioned_tables_are_never_processed() {
        let global = defaults(16);
        let mut temp = with_counts(table(10, "scratch", 1000.0, &[]), 10_000, 0, 10_000);
        temp.persistence = Persistence::Temporary;
        temp.xid_age = Some(300_000_000);
        let t = one(&global, temp);
        assert_eq!(t.reach, Reach::Never(NeverBecause::TemporaryTable));
        assert!(t.wraparound.due && !t.vacuum_due && !t.analyze_due);

        let mut parent = with_counts(table(10, "events", 1000.0, &[]), 0, 0, 10_000);
        parent.kind = RelKind::PartitionedTable;
        parent.xid_age = None;
        parent.mxid_age = None;
        let t = one(&global, parent);
        assert_eq!(t.reach, Reach::Never(NeverBecause::PartitionedTable));
        assert!(t.analyze.as_ref().is_some_and(|a| a.exceeded));
        assert!(!t.vacuum_due && !t.analyze_due);
    }

    #[test]
    fn evaluate_database_matches_evaluate() {
        let global = defaults(16);
        let owner = table(10, "docs", 500.0, &["autovacuum_vacuum_threshold=30"]);
        let db = with_toast(owner, &[], 500.0);
        let all = evaluate_database(&global, &db);
        for (table, verdict) in db.tables.iter().zip(&all) {
            assert_eq!(*verdict, evaluate(&global, &db, table));
        }
        assert_eq!(all[1].dead_rows.threshold.source, OptionSource::OwningTable);
    }
}
