//! Output formats. Each format is one module with one function, `write(out, report, options)`,
//! that writes a [`Report`] into any `io::Write`, so formats are testable without a terminal and
//! new ones slot in beside these.
//!
//! [`Report`] is the one view of an analysis every format reads: the findings in display order
//! plus what the sections of a report are made of (database ages, tables worst first, settings
//! to change, sessions to terminate, running vacuums), derived once from the snapshot so that the
//! formats agree with each other. Errors go to stderr and never through here.

#[cfg(test)]
pub(crate) mod generated;
pub mod json;
pub mod markdown;
pub mod prometheus;
pub mod rules;
pub mod script;
pub mod sessions;
pub mod table;
pub mod text;
pub mod trends;

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::analysis::Analysis;
use crate::analysis::findings::{Finding, Needs, Object, SettingChange, Severity, plural};
use crate::analysis::rules::{Category, TableView};
use crate::analysis::trends::Trends;
use crate::analysis::tuning;
use crate::analysis::units::setting_with_unit;
use crate::analysis::wraparound::{IdKind, server_limits};
use crate::snapshot::{CollectionWarning, Missing, PlatformKind, Snapshot, Visit};

/// How a report is drawn, beyond its format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Rows per section (`--top`); `None` shows all.
    pub top: Option<usize>,
    /// Show each finding's evidence.
    pub verbose: bool,
    /// ANSI colour (terminal report only).
    pub color: bool,
    /// Columns the terminal report fits in.
    pub width: usize,
    /// SQL script: leave terminations and other destructive statements uncommented.
    pub include_destructive: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            top: None,
            verbose: false,
            color: false,
            width: DEFAULT_WIDTH,
            include_destructive: false,
        }
    }
}

/// Width of the terminal report when stdout is not a terminal (files, pipes, cron mail).
pub const DEFAULT_WIDTH: usize = 100;

/// The columns a terminal view fits in: `--width`, else the terminal's, else [`DEFAULT_WIDTH`].
pub fn fit_width(flag: Option<u16>, to_terminal: bool) -> usize {
    match flag {
        Some(width) => usize::from(width),
        None if to_terminal => {
            terminal_size::terminal_size().map_or(DEFAULT_WIDTH, |(w, _)| usize::from(w.0))
        }
        None => DEFAULT_WIDTH,
    }
}

/// A database's transaction ID and multixact ages, as shares of the limits that matter.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseAge {
    pub name: String,
    pub xid_age: i64,
    pub mxid_age: i64,
    /// `xid_age / autovacuum_freeze_max_age`.
    pub xid_freeze_share: f64,
    /// `xid_age / the age at which the server stops assigning XIDs`.
    pub xid_stop_share: f64,
    pub mxid_freeze_share: f64,
    pub mxid_stop_share: f64,
    /// The worst WRAP finding about this database.
    pub severity: Option<Severity>,
}

/// One of the oldest tables by `age(relfrozenxid)`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableAge {
    pub database: String,
    /// `schema.name`; a TOAST table is named by its owner.
    pub name: String,
    pub xid_age: i64,
    /// The table's own freeze max age (a reloption may lower the server's).
    pub freeze_max_age: i64,
    pub xid_freeze_share: f64,
    pub xid_stop_share: f64,
    pub severity: Option<Severity>,
}

/// A table with findings, for the Tables section: its trigger now and the one recommended.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    pub database: String,
    pub schema: String,
    pub name: String,
    /// How a person names it: `schema.name`, or `TOAST table of schema.name`.
    pub display: String,
    pub severity: Severity,
    /// Codes of its findings, in display order.
    pub codes: Vec<&'static str>,
    /// Which trigger the row's numbers are about: the one the advice changes (inserts for an
    /// append-only table), else dead rows.
    pub trigger: TriggerKind,
    /// What that trigger counts now: dead rows, or rows inserted since the last vacuum.
    pub count: Option<i64>,
    /// The count at which autovacuum vacuums it now (`threshold + scale_factor * reltuples`).
    pub trigger_rows: f64,
    /// The trigger pgvac recommends, when it recommends one.
    pub recommended_rows: Option<f64>,
    pub last_autovacuum: Option<DateTime<Utc>>,
    /// Autovacuum is disabled for it (only anti-wraparound vacuums run).
    pub autovacuum_disabled: bool,
}

/// The two triggers that make autovacuum vacuum a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    /// `n_dead_tup` against the dead-row trigger.
    DeadRows,
    /// `n_ins_since_vacuum` against the insert trigger (13+).
    Inserts,
}

impl TriggerKind {
    /// What its count counts, after a number: `12,000 dead`, `600,000 inserted`.
    pub fn counted(self) -> &'static str {
        match self {
            TriggerKind::DeadRows => "dead",
            TriggerKind::Inserts => "inserted",
        }
    }
}

/// A server setting to change.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingRow {
    pub name: String,
    /// The value now, with its unit (`2ms`, `64MB`), when the snapshot has the setting.
    pub current: Option<String>,
    pub recommended: String,
    pub needs: Needs,
    pub severity: Severity,
    /// The finding that recommends it, and why.
    pub code: &'static str,
    pub why: String,
}

/// A session pgvac recommends terminating, and the statement that does it.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionToTerminate {
    pub pid: i32,
    pub database: Option<String>,
    pub user: Option<String>,
    pub application_name: Option<String>,
    pub state: Option<String>,
    pub severity: Severity,
    /// What kind of blocker it is: `idle in transaction`, `transaction`, `temporary table`.
    pub kind: &'static str,
    /// Why it is worth terminating, one line.
    pub reason: String,
    /// How many XIDs behind it holds the horizon.
    pub held_xid_age: Option<i64>,
    /// For how long it has held it (seconds).
    pub held_seconds: Option<i64>,
    pub sql: String,
}

/// A vacuum running when the snapshot was taken.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningRow {
    pub pid: i32,
    pub database: Option<String>,
    pub relation: Option<String>,
    pub phase: Option<String>,
    /// Heap blocks scanned, as a share of the heap.
    pub scanned_share: Option<f64>,
    pub runtime_secs: Option<i64>,
    pub is_autovacuum: Option<bool>,
    pub is_wraparound: Option<bool>,
    pub index_passes: Option<i64>,
    pub severity: Option<Severity>,
}

/// What every format shows: the findings in display order and the sections' contents, laid out
/// from one [`Analysis`] (nothing here computes the model, the plans or the blockers again).
pub struct Report<'s> {
    pub analysis: &'s Analysis<'s>,
    pub snapshot: &'s Snapshot,
    pub findings: &'s [Finding],
    /// When the report was made (not when the snapshot was collected).
    pub generated_at: DateTime<Utc>,
    /// Databases that count for wraparound, the oldest first.
    pub databases: Vec<DatabaseAge>,
    /// The oldest tables by `age(relfrozenxid)`, the oldest first (at most [`OLDEST_TABLES`]).
    pub oldest_tables: Vec<TableAge>,
    pub freeze_max_age: i64,
    pub multixact_freeze_max_age: i64,
    pub xid_stop_age: i64,
    pub mxid_stop_age: i64,
    /// Tables with findings, worst first.
    pub tables: Vec<TableRow>,
    /// Settings to change, one row per setting, the most severe finding's value first.
    pub settings: Vec<SettingRow>,
    pub sessions_to_terminate: Vec<SessionToTerminate>,
    pub running: Vec<RunningRow>,
    /// Trends against earlier runs, with `--history`.
    pub trends: Option<&'s Trends>,
    /// What the collection noted, then what the analysis had to assume about the settings the
    /// workers use: every format shows the same notes.
    notes: Vec<CollectionWarning>,
}

/// The snapshot's collection notes, and the settings the analysis had to assume (missing from
/// the snapshot, or hidden from pgvac's session by a setting of its own).
fn collection_notes(analysis: &Analysis) -> Vec<CollectionWarning> {
    let settings = &analysis.context.settings;
    let mut notes = analysis.snapshot().warnings.clone();
    if !settings.assumed_defaults.is_empty() {
        notes.push(CollectionWarning {
            source: "pg_settings".to_string(),
            database: None,
            message: format!(
                "settings missing from the snapshot, defaults assumed: {}",
                settings.assumed_defaults.join(", ")
            ),
        });
    }
    notes.extend(settings.hidden.iter().map(|setting| CollectionWarning {
        source: "pg_settings".to_string(),
        database: None,
        message: setting.describe(),
    }));
    notes
}

/// How many of the oldest tables a report keeps.
pub const OLDEST_TABLES: usize = 20;

impl<'s> Report<'s> {
    pub fn new(analysis: &'s Analysis<'s>, generated_at: DateTime<Utc>) -> Report<'s> {
        let context = &analysis.context;
        let snapshot = analysis.snapshot();
        let findings = analysis.findings.as_slice();
        let major = snapshot.server.major();
        let freeze_max_age = context.settings.freeze_max_age.max(1);
        let multixact_freeze_max_age = context.settings.multixact_freeze_max_age.max(1);
        let xid_stop_age = server_limits(major, IdKind::Xid).stop_age;
        let mxid_stop_age = server_limits(major, IdKind::Multixact).stop_age;
        let worst_about = |wanted: &dyn Fn(&Object) -> bool, category: Category| {
            findings
                .iter()
                .filter(|f| f.category == category && wanted(&f.object))
                .map(|f| f.severity)
                .max()
        };

        let mut databases: Vec<DatabaseAge> = snapshot
            .databases
            .iter()
            .filter(|d| !d.is_invalid() && d.visit != Visit::Dropped)
            .map(|d| DatabaseAge {
                name: d.name.clone(),
                xid_age: d.xid_age,
                mxid_age: d.mxid_age,
                xid_freeze_share: d.xid_age as f64 / freeze_max_age as f64,
                xid_stop_share: d.xid_age as f64 / xid_stop_age as f64,
                mxid_freeze_share: d.mxid_age as f64 / multixact_freeze_max_age as f64,
                mxid_stop_share: d.mxid_age as f64 / mxid_stop_age as f64,
                severity: worst_about(
                    &|o| matches!(o, Object::Database { database } if *database == d.name),
                    Category::Wraparound,
                ),
            })
            .collect();
        databases.sort_by(|a, b| {
            b.xid_freeze_share
                .max(b.mxid_freeze_share)
                .total_cmp(&a.xid_freeze_share.max(a.mxid_freeze_share))
                .then_with(|| a.name.cmp(&b.name))
        });

        // Names and severities only for the oldest: the ages first, then the ties at the cut.
        let mut by_age: Vec<(i64, TableView)> = context
            .tables()
            .filter_map(|view| Some((view.table.xid_age?, view)))
            .collect();
        by_age.sort_unstable_by_key(|(age, _)| std::cmp::Reverse(*age));
        if let Some(&(cut, _)) = by_age.get(OLDEST_TABLES.saturating_sub(1)) {
            by_age.retain(|(age, _)| *age >= cut);
        }
        let mut oldest_tables: Vec<TableAge> = by_age
            .into_iter()
            .map(|(xid_age, view)| {
                let table_freeze = view.autovacuum.wraparound.freeze_max_age.value.max(1);
                TableAge {
                    database: view.database.name.clone(),
                    name: tuning::display_name(&view),
                    xid_age,
                    freeze_max_age: table_freeze,
                    xid_freeze_share: xid_age as f64 / table_freeze as f64,
                    xid_stop_share: xid_age as f64 / xid_stop_age as f64,
                    severity: worst_about(&|o| *o == view.object(), Category::Wraparound),
                }
            })
            .collect();
        oldest_tables.sort_by(|a, b| {
            b.xid_age
                .cmp(&a.xid_age)
                .then_with(|| a.database.cmp(&b.database))
                .then_with(|| a.name.cmp(&b.name))
        });
        oldest_tables.truncate(OLDEST_TABLES);

        // The table findings by table, so each table is looked up, not compared with each.
        let mut table_findings: HashMap<&Object, Vec<&Finding>> = HashMap::new();
        for finding in findings.iter().filter(|f| f.category == Category::Table) {
            table_findings
                .entry(&finding.object)
                .or_default()
                .push(finding);
        }
        let mut tables = Vec::new();
        for view in context.tables() {
            let object = view.object();
            let Some(about) = table_findings.get(&object) else {
                continue;
            };
            let Some(severity) = about.iter().map(|f| f.severity).max() else {
                continue;
            };
            // The trigger the advice is about, its count and threshold now, and the advice.
            let inserts = view
                .plan
                .filter(|p| p.dead_rows.is_none())
                .and_then(|p| p.inserts.as_ref())
                .zip(view.autovacuum.inserts.as_ref());
            let (trigger, count, trigger_rows, recommended_rows) = match inserts {
                Some((advice, now)) => (
                    TriggerKind::Inserts,
                    now.count,
                    now.rows,
                    Some(advice.recommended_rows),
                ),
                None => (
                    TriggerKind::DeadRows,
                    view.autovacuum.dead_rows.count,
                    view.autovacuum.dead_rows.rows,
                    view.plan
                        .and_then(|p| p.dead_rows.as_ref())
                        .map(|a| a.recommended_rows),
                ),
            };
            let mut codes: Vec<&'static str> = about.iter().map(|f| f.code).collect();
            codes.dedup();
            tables.push(TableRow {
                database: view.database.name.clone(),
                schema: view.table.schema.clone(),
                name: view.table.name.clone(),
                display: tuning::display_name(&view),
                severity,
                codes,
                trigger,
                count,
                trigger_rows,
                recommended_rows,
                last_autovacuum: view.table.stats.as_ref().and_then(|s| s.last_autovacuum),
                autovacuum_disabled: !view.autovacuum.enabled.value,
            });
        }
        tables.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| b.count.unwrap_or(0).cmp(&a.count.unwrap_or(0)))
                .then_with(|| a.database.cmp(&b.database))
                .then_with(|| a.display.cmp(&b.display))
        });

        let mut settings: Vec<SettingRow> = Vec::new();
        for finding in findings {
            let Some(fix) = &finding.recommendation else {
                continue;
            };
            for SettingChange { name, value, needs } in &fix.settings {
                if settings.iter().any(|s| s.name == *name) {
                    continue;
                }
                settings.push(SettingRow {
                    name: name.clone(),
                    current: snapshot
                        .setting(name)
                        .map(|s| setting_with_unit(&s.setting, s.unit.as_deref(), &s.vartype)),
                    recommended: value.clone(),
                    needs: *needs,
                    severity: finding.severity,
                    code: finding.code,
                    why: finding.message.clone(),
                });
            }
        }

        let mut sessions_to_terminate = sessions_to_terminate(analysis);
        // In the order of their findings, so a table of sessions and the findings under it
        // (each cut by --top) show the same sessions first.
        let finding_rank = |pid: i32| {
            findings
                .iter()
                .filter(|f| f.category == Category::Blockers)
                .position(|f| matches!(f.object, Object::Session { pid: p, .. } if p == pid))
                .unwrap_or(usize::MAX)
        };
        sessions_to_terminate.sort_by_key(|s| finding_rank(s.pid));

        let now = snapshot.server.collected_at;
        let running = snapshot
            .running_vacuums
            .iter()
            .map(|v| RunningRow {
                pid: v.pid,
                database: v.database.clone(),
                relation: v.relation.clone(),
                phase: v.phase.clone(),
                scanned_share: match (v.heap_blks_scanned, v.heap_blks_total) {
                    (Some(scanned), Some(total)) if total > 0 => {
                        Some(scanned as f64 / total as f64)
                    }
                    _ => None,
                },
                runtime_secs: v.started_at.map(|t| (now - t).num_seconds().max(0)),
                is_autovacuum: v.is_autovacuum,
                is_wraparound: v.is_wraparound,
                index_passes: v.index_vacuum_count,
                severity: findings
                    .iter()
                    .filter(|f| matches!(f.object, Object::Session { pid, .. } if pid == v.pid))
                    .map(|f| f.severity)
                    .max(),
            })
            .collect();

        Report {
            analysis,
            snapshot,
            findings,
            generated_at,
            databases,
            oldest_tables,
            freeze_max_age,
            multixact_freeze_max_age,
            xid_stop_age,
            mxid_stop_age,
            tables,
            settings,
            sessions_to_terminate,
            running,
            trends: analysis.trends.as_ref(),
            notes: collection_notes(analysis),
        }
    }

    /// `--ignore`: `TABLE003 (2 findings), WRAP001 (none)`, when rules were ignored.
    pub fn ignored_summary(&self) -> Option<String> {
        if self.analysis.ignored.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .analysis
            .ignored
            .iter()
            .map(|(code, count)| match count {
                0 => format!("{code} (none)"),
                n => format!("{code} ({})", plural(*n, "finding", "findings")),
            })
            .collect();
        Some(parts.join(", "))
    }

    /// Counts by severity: (critical, warning, info).
    pub fn counts(&self) -> (usize, usize, usize) {
        let count = |s| self.findings.iter().filter(|f| f.severity == s).count();
        (
            count(Severity::Critical),
            count(Severity::Warning),
            count(Severity::Info),
        )
    }

    /// The findings of one section, in display order.
    pub fn section(&self, category: Category) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.category == category)
    }

    /// Databases every source of which was read.
    pub fn databases_visited(&self) -> usize {
        self.snapshot
            .databases
            .iter()
            .filter(|d| d.visit == Visit::Visited)
            .count()
    }

    /// `4 of 5 databases read`, and how many were dropped while pgvac ran.
    pub fn databases_read(&self) -> String {
        let total = self.snapshot.databases.len();
        let mut text = format!(
            "{} of {} read",
            self.databases_visited(),
            plural(total, "database", "databases")
        );
        let dropped = self.snapshot.dropped_databases().count();
        if dropped > 0 {
            text.push_str(&format!(", {dropped} dropped while pgvac ran"));
        }
        text
    }

    /// Whether the run read everything it set out to read.
    pub fn is_complete(&self) -> bool {
        self.snapshot.is_complete()
    }

    pub fn missing(&self) -> &[Missing] {
        &self.snapshot.missing
    }

    pub fn collection_warnings(&self) -> &[CollectionWarning] {
        &self.notes
    }

    /// `PostgreSQL 17.10` from `version()`.
    pub fn server_version(&self) -> &str {
        let version = &self.snapshot.server.version;
        let short = version.split(" on ").next().unwrap_or(version);
        short.split(',').next().unwrap_or(short).trim()
    }

    /// Seconds since the postmaster started, as of the snapshot.
    pub fn uptime_secs(&self) -> i64 {
        (self.snapshot.server.collected_at - self.snapshot.server.postmaster_start_time)
            .num_seconds()
            .max(0)
    }

    pub fn platform_name(&self) -> &'static str {
        match self.snapshot.server.platform.kind {
            PlatformKind::Postgres => "self-managed",
            PlatformKind::Rds => "Amazon RDS",
            PlatformKind::Aurora => "Amazon Aurora",
        }
    }

    /// What the role may do, in words: `superuser`, or the monitoring and signalling roles.
    pub fn capabilities(&self) -> String {
        let role = &self.snapshot.role;
        if role.superuser {
            return "superuser".to_string();
        }
        let mut parts = Vec::new();
        if role.pg_monitor {
            parts.push("pg_monitor");
        } else if role.pg_read_all_stats {
            parts.push("pg_read_all_stats");
        }
        if role.rds_superuser {
            parts.push("rds_superuser");
        }
        if role.pg_signal_backend {
            parts.push("pg_signal_backend");
        }
        if role.pg_signal_autovacuum_worker {
            parts.push("pg_signal_autovacuum_worker");
        }
        if parts.is_empty() {
            "no monitoring role: other sessions' queries and states are hidden".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// What an incomplete snapshot did not read, in one line: `not read: 2 of 5 databases in full
/// (app, billing), 1 cluster-wide source (pg_stat_activity)`. `None` when it is complete.
pub fn incomplete_summary(snapshot: &Snapshot) -> Option<String> {
    if snapshot.is_complete() {
        return None;
    }
    let mut databases: Vec<&str> = Vec::new();
    let mut cluster: Vec<&str> = Vec::new();
    for missing in &snapshot.missing {
        match &missing.database {
            Some(database) if !databases.contains(&database.as_str()) => databases.push(database),
            Some(_) => {}
            None => cluster.push(&missing.source),
        }
    }
    let list = |names: &[&str]| {
        let mut shown: Vec<String> = names.iter().take(5).map(|n| n.to_string()).collect();
        if names.len() > 5 {
            shown.push(format!("{} more", names.len() - 5));
        }
        shown.join(", ")
    };
    let mut parts = Vec::new();
    if !databases.is_empty() {
        parts.push(format!(
            "{} of {} in full ({})",
            databases.len(),
            plural(snapshot.databases.len(), "database", "databases"),
            list(&databases)
        ));
    }
    if !cluster.is_empty() {
        parts.push(format!(
            "{} ({})",
            plural(cluster.len(), "cluster-wide source", "cluster-wide sources"),
            list(&cluster)
        ));
    }
    Some(format!("not read: {}", parts.join(", ")))
}

/// The sessions `pgvac sessions --terminate` would end by default (client sessions among the
/// blockers at warning or above, and the proven owners of temporary tables that pin
/// `datfrozenxid`; never backups, maintenance commands or unproven owners), with the guarded
/// statement that ends each: the same plan, so the report never offers what `--terminate` would
/// refuse.
fn sessions_to_terminate(analysis: &Analysis) -> Vec<SessionToTerminate> {
    let snapshot = analysis.snapshot();
    let blockers = &analysis.context.blockers;
    analysis
        .terminate
        .targets
        .iter()
        .filter_map(|target| {
            let blocker = blockers
                .iter()
                .find(|b| b.session_pid() == Some(target.pid))?;
            let session = snapshot.sessions.iter().find(|s| s.pid == target.pid);
            Some(SessionToTerminate {
                pid: target.pid,
                database: blocker
                    .database
                    .clone()
                    .or_else(|| session.and_then(|s| s.database.clone())),
                user: session.and_then(|s| s.user.clone()),
                application_name: session.and_then(|s| s.application_name.clone()),
                state: session.and_then(|s| s.state.clone()),
                severity: blocker.severity,
                kind: blocker.kind.as_str(),
                reason: blocker
                    .reasons
                    .first()
                    .cloned()
                    .unwrap_or_else(|| blocker.identity.clone()),
                held_xid_age: Some(blocker.horizon.age),
                held_seconds: blocker.held_secs,
                sql: target.sql.clone(),
            })
        })
        .collect()
}

/// `12.5%`, `0.3%`, `150%`.
pub fn percent(share: f64) -> String {
    let p = share * 100.0;
    if p >= 100.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// `1.2B`, `350M`, `40k`, `999`: an age or a row count at a glance.
pub fn short_count(n: i64) -> String {
    let a = n.unsigned_abs() as f64;
    let sign = if n < 0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}{:.2}B", a / 1e9)
    } else if a >= 1e6 {
        format!("{sign}{:.1}M", a / 1e6)
    } else if a >= 1e4 {
        format!("{sign}{:.0}k", a / 1e3)
    } else {
        n.to_string()
    }
}

/// Output formats of `pgvac report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The terminal report: sections of tables, for people.
    #[value(alias = "text")]
    Table,
    /// One JSON document (schema in docs/report.schema.json), for programs.
    Json,
    /// A reviewable SQL script of the fixes, for psql.
    Sql,
    /// Markdown, for tickets and wikis.
    Markdown,
    /// Prometheus text format, for node_exporter's textfile collector.
    Prometheus,
}

/// Write a report in a format.
pub fn write(
    out: &mut dyn std::io::Write,
    format: Format,
    report: &Report,
    options: &Options,
) -> std::io::Result<()> {
    match format {
        Format::Table => table::write(out, report, options),
        Format::Json => json::write(out, report, options),
        Format::Sql => script::write(out, report, options),
        Format::Markdown => markdown::write(out, report, options),
        Format::Prometheus => prometheus::write(out, report, options),
    }
}

#[cfg(test)]
pub mod fixtures {
    //! The fixture reports every format's snapshot test renders: a healthy cluster, one with
    //! warnings, and one in trouble.

    use chrono::{DateTime, Duration, TimeZone, Utc};

    use crate::analysis::rules::fixture::{Fx, T};
    use crate::snapshot::{RunningVacuum, Session, Snapshot};

    /// A fixed report time, so snapshots do not change from run to run.
    pub fn generated_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
    }

    /// A cluster with warnings: tables that churn past their trigger, an append-only table, a
    /// table with autovacuum disabled and awkward names, slow cost settings.
    pub fn warning() -> Snapshot {
        Fx::new(16)
            .set("autovacuum_vacuum_cost_delay", "20")
            .table(
                T::new("orders")
                    .rows(2_000_000)
                    .updated(600_000)
                    .dead(300_000),
            )
            .table(T::new("event_log").rows(3_000_000))
            .table(
                T::new("Parked \"Rows\"; DROP TABLE x; --")
                    .schema("My Schema")
                    .rows(10_000)
                    .dead(5_000)
                    .option("autovacuum_enabled=false"),
            )
            .table(
                T::new("a_table_whose_name_is_far_too_long_to_fit_in_any_sensible_column_width")
                    .rows(20)
                    .option("autovacuum_enabled=false"),
            )
            .done()
    }

    /// A cluster in trouble: a database past 1 billion XIDs, autovacuum off, a session idle in
    /// transaction holding the horizon, and a vacuum running.
    pub fn critical() -> Snapshot {
        let fx = Fx::new(15);
        let now = fx.now();
        fx.set("autovacuum", "off")
            .table(T::new("ledger").rows(1_000).xid_age(1_100_000_000))
            .table(
                T::new("orders")
                    .rows(2_000_000)
                    .updated(600_000)
                    .dead(300_000),
            )
            .with(|s| {
                s.sessions.push(idle_session(now, 4242));
                s.running_vacuums.push(RunningVacuum {
                    pid: 5151,
                    database: Some("app".to_string()),
                    relid: Some(20001),
                    relation: Some("public.ledger".to_string()),
                    phase: Some("scanning heap".to_string()),
                    is_autovacuum: Some(false),
                    is_wraparound: Some(false),
                    backend_type: Some("client backend".to_string()),
                    query: Some("VACUUM (FREEZE) ledger".to_string()),
                    started_at: Some(now - Duration::minutes(95)),
                    heap_blks_total: Some(10_000),
                    heap_blks_scanned: Some(2_500),
                    heap_blks_vacuumed: Some(0),
                    index_vacuum_count: Some(0),
                    max_dead_tuples: Some(11_184_810),
                    num_dead_tuples: Some(0),
                    max_dead_tuple_bytes: None,
                    dead_tuple_bytes: None,
                    num_dead_item_ids: None,
                    indexes_total: None,
                    indexes_processed: None,
                    delay_time: None,
                });
            })
            .done()
    }

    /// The warning cluster read in part: database `billing` timed out on its tables, the
    /// connection to `reports` failed, `pg_stat_activity` was cancelled, and `scratch` was
    /// dropped while pgvac ran.
    pub fn incomplete() -> Snapshot {
        use crate::snapshot::{CollectionWarning, Missing, MissingCause, Visit};
        let mut snapshot = warning();
        let template = snapshot.databases[0].clone();
        let database = |name: &str, oid: u32, visit: Visit| {
            let mut db = template.clone();
            db.name = name.to_string();
            db.oid = oid;
            db.visit = visit;
            db.tables.clear();
            db.size_bytes = None;
            db
        };
        let missing =
            |database: Option<&str>, source: &str, cause, sqlstate: Option<&str>, message: &str| {
                Missing {
                    database: database.map(str::to_string),
                    source: source.to_string(),
                    cause,
                    sqlstate: sqlstate.map(str::to_string),
                    message: message.to_string(),
                }
            };
        snapshot.missing = vec![
            missing(
                Some("billing"),
                "tables",
                MissingCause::LockTimeout,
                Some("55P03"),
                "canceling statement due to lock timeout",
            ),
            missing(
                Some("reports"),
                "connection",
                MissingCause::CouldNotConnect,
                None,
                "could not connect to db:5432 database \"reports\" as \"monitor\": too many \
                 connections for role \"monitor\"",
            ),
            missing(
                None,
                "pg_stat_activity",
                MissingCause::Canceled,
                Some("57014"),
                "canceling statement due to statement timeout",
            ),
        ];
        snapshot.databases.extend([
            database(
                "billing",
                16390,
                Visit::Incomplete("tables: canceling statement due to lock timeout".to_string()),
            ),
            database(
                "reports",
                16391,
                Visit::Incomplete("connection: could not connect".to_string()),
            ),
            database("scratch", 16392, Visit::Dropped),
        ]);
        snapshot.databases.sort_by(|a, b| a.name.cmp(&b.name));
        snapshot.warnings.push(CollectionWarning {
            source: "database".to_string(),
            database: Some("scratch".to_string()),
            message: "dropped while pgvac ran: nothing left to read".to_string(),
        });
        snapshot
    }

    /// A session idle in transaction for two hours, holding an XID.
    pub fn idle_session(now: DateTime<Utc>, pid: i32) -> Session {
        Session {
            pid,
            database: Some("app".to_string()),
            user: Some("app_user".to_string()),
            application_name: Some("billing-worker".to_string()),
            client_addr: Some("10.0.0.7".to_string()),
            backend_type: Some("client backend".to_string()),
            state: Some("idle in transaction".to_string()),
            backend_start: Some(now - Duration::hours(3)),
            xact_start: Some(now - Duration::hours(2)),
            query_start: Some(now - Duration::hours(2)),
            state_change: Some(now - Duration::hours(2)),
            backend_xid: Some(1_000_000),
            backend_xmin: None,
            backend_xid_age: Some(40_000_000),
            backend_xmin_age: None,
            wait_event_type: Some("Client".to_string()),
            wait_event: Some("ClientRead".to_string()),
            query: Some("UPDATE accounts SET balance = balance - 1 WHERE id = 7".to_string()),
            leader_pid: None,
            is_pgvac: false,
            redacted: false,
        }
    }

    /// A cluster with a blocker of every kind, the ones pgvac must not offer to end included:
    /// another role's session seen without pg_read_all_stats, a pg_dump, a manual VACUUM, a
    /// temporary schema whose backend id a session has without proof, a proven owner, an
    /// orphan, a slot with an active consumer and a standby.
    pub fn blockers() -> Snapshot {
        use crate::snapshot::{ReplicationSlot, Standby, TempCandidate, TempOwner, TempSchema};
        let fx = Fx::new(16);
        let now = fx.now();
        let session = |pid: i32| Session {
            backend_xid_age: Some(600_000_000),
            ..idle_session(now, pid)
        };
        let redacted = Session {
            user: Some("batch".to_string()),
            application_name: None,
            client_addr: None,
            backend_type: None,
            state: None,
            backend_start: None,
            xact_start: None,
            query_start: None,
            state_change: None,
            wait_event_type: None,
            wait_event: None,
            query: Some("<insufficient privilege>".to_string()),
            redacted: true,
            ..session(4242)
        };
        let pg_dump = Session {
            application_name: Some("pg_dump".to_string()),
            state: Some("active".to_string()),
            query: Some("COPY public.orders (id, total) TO stdout;".to_string()),
            backend_xid: None,
            backend_xid_age: None,
            backend_xmin: Some(1_000_000),
            backend_xmin_age: Some(700_000_000),
            ..session(4343)
        };
        let vacuum_full = Session {
            state: Some("active".to_string()),
            query: Some("VACUUM (FULL, VERBOSE) orders".to_string()),
            backend_xid: None,
            backend_xid_age: None,
            backend_xmin: Some(1_000_000),
            backend_xmin_age: Some(650_000_000),
            ..session(4444)
        };
        let lazy_vacuum = Session {
            state: Some("active".to_string()),
            query: Some("VACUUM orders".to_string()),
            backend_xid: None,
            backend_xid_age: None,
            backend_xmin: Some(1_000_000),
            backend_xmin_age: Some(800_000_000),
            ..session(4545)
        };
        let candidate = Session {
            state: Some("idle".to_string()),
            xact_start: None,
            backend_xid: None,
            backend_xid_age: None,
            ..session(4646)
        };
        let owner = Session {
            state: Some("idle in transaction".to_string()),
            backend_xid: None,
            backend_xid_age: None,
            ..session(4747)
        };
        let walsender = Session {
            backend_type: Some("walsender".to_string()),
            application_name: Some("cdc".to_string()),
            state: Some("streaming".to_string()),
            backend_xid: None,
            backend_xid_age: None,
            ..session(4848)
        };
        let temp = |oid: u32, schema: &str| {
            let mut table = T::new("scratch")
                .schema(schema)
                .persistence(crate::snapshot::Persistence::Temporary)
                .xid_age(900_000_000);
            table.0.oid = oid;
            table
        };
        fx.table(T::new("orders").rows(1_000).xid_age(100))
            .table(temp(30001, "pg_temp_3"))
            .table(temp(30002, "pg_temp_4"))
            .table(temp(30003, "pg_temp_5"))
            .with(|s| {
                let owner_start = owner.backend_start;
                s.sessions.extend([
                    session(4141),
                    redacted,
                    pg_dump,
                    vacuum_full,
                    lazy_vacuum,
                    candidate,
                    owner,
                    walsender,
                ]);
                s.running_vacuums.push(RunningVacuum {
                    pid: 4545,
                    database: Some("app".to_string()),
                    relid: Some(20001),
                    relation: Some("public.orders".to_string()),
                    phase: Some("scanning heap".to_string()),
                    is_autovacuum: Some(false),
                    is_wraparound: Some(false),
                    backend_type: Some("client backend".to_string()),
                    query: Some("VACUUM orders".to_string()),
                    started_at: Some(now - Duration::minutes(95)),
                    heap_blks_total: None,
                    heap_blks_scanned: None,
                    heap_blks_vacuumed: None,
                    index_vacuum_count: None,
                    max_dead_tuples: None,
                    num_dead_tuples: None,
                    max_dead_tuple_bytes: None,
                    dead_tuple_bytes: None,
                    num_dead_item_ids: None,
                    indexes_total: None,
                    indexes_processed: None,
                    delay_time: None,
                });
                let app = s.databases.iter_mut().find(|d| d.name == "app").unwrap();
                app.temp_schemas = vec![
                    TempSchema {
                        schema: "pg_temp_3".to_string(),
                        backend_id: 3,
                        owner: TempOwner::Unknown {
                            candidate: Some(TempCandidate {
                                pid: 4646,
                                backend_start: Some(now - Duration::hours(3)),
                            }),
                            reason: "pid 4646 has backend id 3 in this database, but it is \
                                     not inside a transaction"
                                .to_string(),
                        },
                        table_oids: vec![30001],
                    },
                    TempSchema {
                        schema: "pg_temp_4".to_string(),
                        backend_id: 4,
                        owner: TempOwner::Known {
                            pid: 4747,
                            source: "index_lock".to_string(),
                            backend_start: owner_start,
                            proof: "pid 4747 holds AccessShareLock on btree index \
                                    pg_temp_4.scratch_pkey"
                                .to_string(),
                        },
                        table_oids: vec![30002],
                    },
                    TempSchema {
                        schema: "pg_temp_5".to_string(),
                        backend_id: 5,
                        owner: TempOwner::Orphaned {
                            reason: "no session connected to this database has backend id 5"
                                .to_string(),
                        },
                        table_oids: vec![30003],
                    },
                ];
                s.replication_slots.push(ReplicationSlot {
                    slot_name: "cdc".to_string(),
                    slot_type: "logical".to_string(),
                    plugin: Some("pgoutput".to_string()),
                    database: Some("app".to_string()),
                    temporary: false,
                    active: true,
                    active_pid: Some(4848),
                    xmin: None,
                    xmin_age: None,
                    catalog_xmin: Some(1_000_000),
                    catalog_xmin_age: Some(550_000_000),
                    restart_lsn: None,
                    confirmed_flush_lsn: None,
                    wal_status: None,
                    safe_wal_size: None,
                    inactive_since: None,
                    invalidation_reason: None,
                });
                s.standbys.push(Standby {
                    pid: 4949,
                    user: Some("repl".to_string()),
                    application_name: Some("replica1".to_string()),
                    client_addr: Some("10.0.0.9".to_string()),
                    state: Some("streaming".to_string()),
                    sync_state: Some("async".to_string()),
                    backend_xmin: Some(1_000_000),
                    backend_xmin_age: Some(520_000_000),
                    reply_time: None,
                });
                s.role.superuser = false;
                s.role.pg_monitor = false;
                s.role.pg_read_all_stats = false;
                s.role.name = "watcher".to_string();
            })
            .done()
    }
}

#[cfg(test)]
mod signals {
    //! Every statement that signals a session, in every output pgvac writes, rechecks the
    //! session's identity: `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = N
    //! AND backend_start = '...'` (or `pg_cancel_backend`), never a bare `pg_terminate_backend(N)`.

    use super::{Format, Options, Report, fixtures, write};
    use crate::analysis::Analysis;
    use crate::analysis::terminate::{Filters, dry_run};
    use crate::render::sessions::{SessionsReport, TerminateReport, write_json, write_table};
    use crate::snapshot::Snapshot;

    /// Every signal statement in `text` that is not the guarded form. Runs of whitespace count
    /// as one space: the terminal report wraps long statements.
    fn unguarded(text: &str) -> Vec<String> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = text.as_str();
        let mut bad = Vec::new();
        for function in ["pg_terminate_backend(", "pg_cancel_backend("] {
            for (at, _) in text.match_indices(function) {
                let rest = &text[at + function.len()..];
                let guarded = rest
                    .strip_prefix("pid) FROM pg_stat_activity WHERE pid = ")
                    .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
                    .is_some_and(|r| r.starts_with(" AND backend_start = '"));
                if !guarded {
                    let end = text[at..].find(';').map_or(text.len(), |e| at + e + 1);
                    bad.push(text[at..end].to_string());
                }
            }
        }
        bad
    }

    fn outputs(snapshot: &Snapshot) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let analysis = crate::analysis::Analysis::new(snapshot);
        let report = Report::new(&analysis, fixtures::generated_at());
        for format in [
            Format::Table,
            Format::Json,
            Format::Sql,
            Format::Markdown,
            Format::Prometheus,
        ] {
            for include_destructive in [false, true] {
                let options = Options {
                    verbose: true,
                    include_destructive,
                    ..Options::default()
                };
                let mut text = Vec::new();
                write(&mut text, format, &report, &options).unwrap();
                out.push((format!("{format:?}"), String::from_utf8(text).unwrap()));
            }
        }
        let analysis = Analysis::new(snapshot);
        let pids: Vec<i32> = snapshot.sessions.iter().map(|s| s.pid).collect();
        for filters in [
            Filters::default(),
            Filters {
                min_xid_age: Some(0),
                ..Filters::default()
            },
            Filters {
                pids,
                ..Filters::default()
            },
        ] {
            let plan = analysis.terminate_plan(&filters);
            let terminate = TerminateReport {
                mode: "dry_run",
                outcomes: dry_run(&plan),
                excluded: plan.excluded.clone(),
            };
            let report = SessionsReport::new(&analysis, Some(&terminate));
            let mut table = Vec::new();
            write_table(&mut table, &report, 100).unwrap();
            out.push((
                "sessions table".to_string(),
                String::from_utf8(table).unwrap(),
            ));
            let mut json = Vec::new();
            write_json(&mut json, &report).unwrap();
            out.push((
                "sessions json".to_string(),
                String::from_utf8(json).unwrap(),
            ));
        }
        out
    }

    #[test]
    fn the_checker_catches_a_bare_statement() {
        assert_eq!(
            unguarded("x SELECT pg_terminate_backend(4242);\n"),
            ["pg_terminate_backend(4242);"]
        );
        assert!(
            unguarded(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = 7 AND \
                 backend_start = '2025-01-01T00:00:00.000000Z';"
            )
            .is_empty()
        );
    }

    #[test]
    fn every_signal_statement_in_every_format_is_guarded() {
        let mut snapshots: Vec<(String, Snapshot)> = vec![
            ("warning".to_string(), fixtures::warning()),
            ("critical".to_string(), fixtures::critical()),
            ("blockers".to_string(), fixtures::blockers()),
        ];
        for rule in crate::analysis::rules::all() {
            let examples = (rule.examples)();
            for (label, snapshot) in examples.fires.into_iter().chain(examples.quiet) {
                snapshots.push((format!("{} {label}", rule.code), snapshot));
            }
        }
        let mut signals = 0;
        for (name, snapshot) in &snapshots {
            for (format, text) in outputs(snapshot) {
                signals += text.matches("_backend(pid) FROM pg_stat_activity").count();
                let bad = unguarded(&text);
                assert!(
                    bad.is_empty(),
                    "{name}, {format}: unguarded {bad:?}\n{text}"
                );
            }
        }
        // The scan saw guarded statements, so it would have seen bare ones.
        assert!(signals > 0);
    }

    #[test]
    fn what_cannot_be_identified_is_never_offered() {
        let snapshot = fixtures::blockers();
        let analysis = crate::analysis::Analysis::new(&snapshot);
        let report = Report::new(&analysis, fixtures::generated_at());
        let pids: Vec<i32> = report.sessions_to_terminate.iter().map(|s| s.pid).collect();
        // The proven temp owner and the idle transaction; never the hidden session (4242), the
        // pg_dump (4343), VACUUM FULL (4444), the lazy VACUUM (4545, holds nothing), the
        // candidate (4646) or the walsender (4848). In the findings' order, so `--top` shows the
        // same sessions in both sections.
        assert_eq!(pids, [4141, 4747]);
        let mut table = Vec::new();
        write(&mut table, Format::Table, &report, &Options::default()).unwrap();
        let table = String::from_utf8(table).unwrap();
        assert!(
            table.contains("GRANT pg_read_all_stats TO watcher"),
            "{table}"
        );
    }
}

#[cfg(test)]
mod computed_once {
    //! One report is one analysis: the model, the plans and the blockers are computed once, and
    //! every format (and `pgvac sessions`, with and without `--terminate`) reads that result.

    use clap::ValueEnum;

    use super::{Format, Options, Report, fixtures, write};
    use crate::analysis::Analysis;
    use crate::analysis::computed::{self, Step};
    use crate::analysis::terminate::{Filters, dry_run};
    use crate::render::sessions::{SessionsReport, TerminateReport, write_json, write_table};

    #[test]
    fn one_report_computes_the_model_the_plans_and_the_blockers_once() {
        for snapshot in [
            fixtures::warning(),
            fixtures::critical(),
            fixtures::blockers(),
        ] {
            computed::reset();
            let analysis = Analysis::new(&snapshot);
            let report = Report::new(&analysis, fixtures::generated_at());
            let mut written = 0;
            for format in Format::value_variants() {
                for verbose in [false, true] {
                    let options = Options {
                        verbose,
                        ..Options::default()
                    };
                    let mut out = Vec::new();
                    write(&mut out, *format, &report, &options).unwrap();
                    written += out.len();
                }
            }
            let plan = analysis.terminate_plan(&Filters {
                min_xid_age: Some(0),
                ..Filters::default()
            });
            let terminate = TerminateReport {
                mode: "dry_run",
                outcomes: dry_run(&plan),
                excluded: plan.excluded.clone(),
            };
            for terminate in [None, Some(&terminate)] {
                let sessions = SessionsReport::new(&analysis, terminate);
                let mut out = Vec::new();
                write_table(&mut out, &sessions, 100).unwrap();
                write_json(&mut out, &sessions).unwrap();
                written += out.len();
            }
            assert!(written > 0);
            for step in [Step::Model, Step::Plans, Step::Blockers] {
                assert_eq!(computed::times(step), 1, "{step:?} computed more than once");
            }
        }
    }
}

#[cfg(test)]
mod fixture_files {
    //! `tests/fixtures/report-*.json`: the fixture snapshots as files, for the CLI tests of
    //! `pgvac report --snapshot FILE`. Regenerate with `PGVAC_UPDATE_FIXTURES=1 cargo test --lib`.

    use super::fixtures;

    #[test]
    fn report_fixture_files_are_current() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        for (name, snapshot) in [
            ("report-warning.json", fixtures::warning()),
            ("report-critical.json", fixtures::critical()),
            ("report-incomplete.json", fixtures::incomplete()),
        ] {
            let path = dir.join(name);
            let mut text = serde_json::to_string_pretty(&snapshot).unwrap();
            text.push('\n');
            if std::env::var_os("PGVAC_UPDATE_FIXTURES").is_some() {
                std::fs::write(&path, &text).unwrap();
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "{} is stale: run PGVAC_UPDATE_FIXTURES=1 cargo test --lib fixture_files",
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod notes {
    use super::{Format, Options, Report, write};
    use crate::analysis::Analysis;
    use crate::analysis::rules::fixture::Fx;

    /// A setting pgvac's own role changes hides the server's value: every format says what was
    /// assumed, not only the terminal report (a cron job reads the JSON).
    #[test]
    fn assumed_settings_are_noted_in_every_format() {
        let snapshot = Fx::new(15)
            .session_setting("maintenance_work_mem", "1048576", "user")
            .done();
        let analysis = Analysis::new(&snapshot);
        let report = Report::new(&analysis, chrono::Utc::now());
        for format in [Format::Table, Format::Json, Format::Markdown] {
            let mut out = Vec::new();
            write(&mut out, format, &report, &Options::default()).unwrap();
            let text = String::from_utf8(out).unwrap();
            // Markdown escapes underscores; the table wraps lines.
            let text = text.replace("\\_", "_");
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                text.contains("maintenance_work_mem: pgvac's session has"),
                "{format:?}: {text}"
            );
        }
    }
}
