//! The wire types of `pgvac sessions --format json`: what the document says, apart from the
//! internal types it is made from, so the analysis can change without changing the document.
//! The committed JSON Schema (`docs/sessions.schema.json`) is generated from these types.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use crate::analysis::blockers::{
    Action, Activity, Blocker, BlockerKind, Holder, Horizon, HorizonSource, OwnerStatus,
    SessionSignal, SignalKind, Thresholds,
};
use crate::analysis::findings::{Safety, Severity};
use crate::analysis::terminate::{Excluded, Outcome, OutcomeKind};
use crate::snapshot::{CollectionWarning, Missing};

use super::{SessionsReport, TerminateReport};

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "SessionsReport", title = "pgvac sessions")]
pub struct WireSessions<'a> {
    /// Version of this format: changes only when a field is removed, renamed or changes
    /// meaning; new fields may appear and should be ignored.
    pub schema_version: u32,
    pub pgvac_version: &'static str,
    /// When the snapshot was collected, by the server's clock.
    pub collected_at: DateTime<Utc>,
    pub server_version_num: i32,
    pub thresholds: WireThresholds,
    /// The most severe blocker's severity (`info` when there is none).
    pub worst_severity: WireSeverity,
    /// Whether pgvac read everything it set out to read; when false, blockers in what was not
    /// read are missing from the list (and pgvac exits 3 unless `--allow-partial`).
    pub complete: bool,
    /// What was not read (see `pgvac report`'s JSON `missing`); empty when `complete`.
    pub missing: &'a [Missing],
    /// Ranked: the one holding the horizon furthest behind first.
    pub blockers: Vec<WireBlocker>,
    pub warnings: &'a [CollectionWarning],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminate: Option<WireTerminate>,
}

/// When a blocker becomes a warning or critical.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Thresholds")]
pub struct WireThresholds {
    /// Idle in transaction longer than this (seconds) is a warning.
    pub idle_in_transaction_secs: i64,
    /// A transaction (or prepared transaction, or inactive slot) held longer than this
    /// (seconds) is a warning.
    pub transaction_secs: i64,
    /// Holding the horizon this many XIDs behind is a warning.
    pub xid_age_warning: i64,
    /// ... and this many is critical.
    pub xid_age_critical: i64,
}

#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "Severity")]
#[serde(rename_all = "snake_case")]
pub enum WireSeverity {
    Info,
    Warning,
    Critical,
}

/// One thing holding vacuum back.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Blocker")]
pub struct WireBlocker {
    pub kind: WireBlockerKind,
    /// One line naming the holder: `pid 4242 (app@shop)`, `slot "sub1"`, ...
    pub identity: String,
    /// The database it concerns (for sessions, prepared transactions, logical slots and temp
    /// tables); absent for physical slots and standbys, which hold every database.
    pub database: Option<String>,
    pub horizon: WireHorizon,
    /// Since when the horizon is held, where known (`xact_start`, `prepare` time, ...).
    pub since: Option<DateTime<Utc>>,
    /// For how long, in seconds, as of the snapshot.
    pub held_secs: Option<i64>,
    /// Sessions idle in transaction: seconds since `state_change`.
    pub idle_secs: Option<i64>,
    pub severity: WireSeverity,
    /// Why this severity, one short sentence each.
    pub reasons: Vec<String>,
    /// The fixes, the recommended one first.
    pub actions: Vec<WireAction>,
    pub holder: WireHolder,
}

/// What kind of thing holds the horizon. Each kind is one BLOCK rule.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "BlockerKind")]
#[serde(rename_all = "snake_case")]
pub enum WireBlockerKind {
    /// A session idle in transaction (with an XID, or only a snapshot).
    IdleInTransaction,
    /// A session running a transaction or statement, or one whose state is hidden.
    LongTransaction,
    PreparedTransaction,
    ReplicationSlot,
    /// A standby with `hot_standby_feedback` streaming without a slot.
    StandbyFeedback,
    /// A live session's temporary table pinning its database's `datfrozenxid`.
    TempTable,
    /// Temporary tables whose owning session is gone.
    OrphanedTempSchema,
    /// `vacuum_defer_cleanup_age` (12-15), which moves the horizon back by itself.
    DeferCleanupAge,
}

/// The XID a blocker holds and how far behind it is.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Horizon")]
pub struct WireHorizon {
    pub source: WireHorizonSource,
    /// The 32-bit XID, as `VACUUM (VERBOSE)` prints its "oldest xmin" / "removable cutoff";
    /// absent for temporary tables (the snapshot keeps their age only).
    pub xid: Option<i64>,
    /// `age()` of that XID: how many transactions behind the horizon is held.
    pub age: i64,
}

/// Which XID the blocker holds, and so what it holds back.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "HorizonSource")]
#[serde(rename_all = "snake_case")]
pub enum WireHorizonSource {
    /// `backend_xid`: the transaction's own XID (it has written).
    BackendXid,
    /// `backend_xmin`: the oldest XID its snapshot may still need.
    BackendXmin,
    /// A prepared transaction's XID.
    PreparedXid,
    /// A slot's `xmin`: holds dead rows of every table.
    SlotXmin,
    /// A logical slot's `catalog_xmin`: holds dead rows of system catalogs and user catalog
    /// tables only, in every database.
    SlotCatalogXmin,
    /// A standby's feedback xmin (`pg_stat_replication.backend_xmin`).
    StandbyXmin,
    /// A temporary table's `relfrozenxid`: holds back `datfrozenxid`, not dead-row removal.
    Relfrozenxid,
    /// `vacuum_defer_cleanup_age` XIDs behind the oldest transaction (or the next XID): holds
    /// dead rows of every table.
    DeferCleanupAge,
}

/// SQL that releases a blocker, where to run it, and what it costs.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Action")]
pub struct WireAction {
    /// One line: what the action does.
    pub summary: String,
    /// Statements to run one by one (not in one transaction block). Empty when there is
    /// nothing pgvac can safely offer (the cost says what is missing).
    pub statements: Vec<String>,
    /// Where to run them: "this server", "database NAME", "database NAME as ROLE or a
    /// superuser" or "the standby ...".
    pub run_on: String,
    /// What it costs.
    pub cost: String,
    pub safety: WireSafety,
    /// It ends a session or a transaction, or drops something.
    pub destructive: bool,
    /// The session this action signals, and the identity its statement rechecks; absent for
    /// actions that signal no session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<WireSignal>,
}

/// How safe it is to run the statements as they are.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "Safety")]
#[serde(rename_all = "snake_case")]
pub enum WireSafety {
    /// Changes only how autovacuum treats the object; takes a brief lock at most.
    Safe,
    /// Works as written but has a cost to weigh first: I/O, a long lock, or ended sessions.
    NeedsCare,
    /// Shown to explain the fix; not meant to be run as it is.
    DisplayOnly,
}

/// A signal to one session, guarded: sent only if the pid still belongs to the session that
/// started at `backend_start` (and, when `same_transaction`, that is still in the transaction
/// that started at `xact_start`).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "SessionSignal")]
pub struct WireSignal {
    pub kind: WireSignalKind,
    pub pid: i32,
    pub backend_start: DateTime<Utc>,
    /// Whether the statement also rechecks `xact_start` (absent `xact_start`: no transaction).
    pub same_transaction: bool,
    pub xact_start: Option<DateTime<Utc>>,
}

/// `pg_terminate_backend` or `pg_cancel_backend`.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "SignalKind")]
#[serde(rename_all = "snake_case")]
pub enum WireSignalKind {
    Terminate,
    Cancel,
}

/// Who holds the horizon, in the words of the view it comes from.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Holder")]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireHolder {
    Session {
        pid: i32,
        user: Option<String>,
        application_name: Option<String>,
        client_addr: Option<String>,
        backend_type: Option<String>,
        state: Option<String>,
        backend_start: Option<DateTime<Utc>>,
        xact_start: Option<DateTime<Utc>>,
        state_change: Option<DateTime<Utc>>,
        backend_xid: Option<i64>,
        backend_xmin: Option<i64>,
        /// Holds a snapshot but has no XID (it has not written).
        snapshot_only: bool,
        /// Its state and times are hidden from pgvac's role.
        redacted: bool,
        query: Option<String>,
        /// What it runs: a backup and a maintenance command are ended only when named.
        activity: WireActivity,
    },
    PreparedTransaction {
        gid: String,
        owner: String,
        xid: i64,
        prepared: DateTime<Utc>,
    },
    ReplicationSlot {
        slot_name: String,
        slot_type: String,
        plugin: Option<String>,
        active: bool,
        active_pid: Option<i32>,
        temporary: bool,
        xmin: Option<i64>,
        catalog_xmin: Option<i64>,
        /// The standby streaming from this slot, when one is connected.
        standby: Option<String>,
    },
    Standby {
        pid: i32,
        application_name: Option<String>,
        client_addr: Option<String>,
        user: Option<String>,
        backend_xmin: i64,
    },
    TempTable {
        schema: String,
        /// `schema.name` of every table in the schema, the oldest first.
        tables: Vec<String>,
        /// The owner's pid where it is proven, with how it was proven.
        owner_pid: Option<i32>,
        owner_source: Option<String>,
        /// The owner's `backend_start`, to terminate it safely.
        owner_backend_start: Option<DateTime<Utc>>,
        owner_user: Option<String>,
        /// `known` (proven) or `unknown`.
        owner_status: WireOwnerStatus,
        /// With an unknown owner: the session that has the schema's backend id, which may or
        /// may not own it. Never terminated on that ground.
        candidate_pid: Option<i32>,
        /// The proof of ownership, or why there is none.
        ownership: String,
        /// The oldest non-temporary relation's age in that database, for comparison.
        oldest_other_age: Option<i64>,
    },
    OrphanedTempSchema {
        schema: String,
        tables: Vec<String>,
        /// Why no session owns it.
        ownership: String,
    },
    /// A setting that holds the horizon back by itself (`vacuum_defer_cleanup_age`).
    Setting {
        name: String,
        /// How many XIDs it moves the horizon back.
        value: i64,
        /// The holder it moves the horizon back from (the oldest transaction); absent when it
        /// counts back from the next XID.
        behind: Option<String>,
    },
}

/// What a client session is doing, as far as pgvac can tell.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "Activity")]
#[serde(rename_all = "snake_case")]
pub enum WireActivity {
    /// An ordinary transaction, or one pgvac cannot see.
    Transaction,
    /// A backup (`pg_dump`): `--terminate` ends it only when named with `--pid`.
    Backup,
    /// A maintenance command in a client session (`VACUUM FULL`, `ANALYZE`, `CLUSTER`,
    /// `REINDEX`, `CREATE INDEX`): `--terminate` ends it only when named with `--pid`.
    Maintenance,
}

/// Whether a temp schema's owner is proven.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "OwnerStatus")]
#[serde(rename_all = "snake_case")]
pub enum WireOwnerStatus {
    Known,
    Unknown,
}

/// What `--terminate` did, or would do in a dry run.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "TerminateReport")]
pub struct WireTerminate {
    /// `dry_run`, `to_confirm` (the plan shown before `--execute` asks for confirmation) or
    /// `execute`.
    pub mode: &'static str,
    pub outcomes: Vec<WireOutcome>,
    pub excluded: Vec<WireExcluded>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Outcome")]
pub struct WireOutcome {
    pub pid: i32,
    pub outcome: WireOutcomeKind,
    pub detail: String,
    /// The exact statement, which rechecks the session's identity.
    pub sql: String,
}

/// What happened to one target.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[schemars(rename = "OutcomeKind")]
#[serde(rename_all = "snake_case")]
pub enum WireOutcomeKind {
    /// Dry run: what would be run.
    WouldTerminate,
    Terminated,
    /// Signalled, but still there after the wait.
    Signalled,
    AlreadyGone,
    /// Its pid now belongs to another session, or it is in another transaction: skipped.
    Changed,
    Refused,
}

/// A session left alone, and why.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Excluded")]
pub struct WireExcluded {
    pub pid: i32,
    /// Why, in one line.
    pub reason: String,
    /// Named with `--pid`, it makes `--execute` refuse to run at all: pgvac cannot prove it is
    /// the session to end (its identity is hidden, or it only has a temporary schema's backend
    /// id).
    pub refused: bool,
}

impl<'a> WireSessions<'a> {
    pub fn new(report: &SessionsReport<'a>) -> WireSessions<'a> {
        WireSessions {
            schema_version: report.schema_version,
            pgvac_version: report.pgvac_version,
            collected_at: report.collected_at,
            server_version_num: report.server_version_num,
            thresholds: thresholds(report.thresholds),
            worst_severity: severity(report.worst_severity),
            complete: report.complete,
            missing: report.missing,
            blockers: report.blockers.iter().map(blocker).collect(),
            warnings: report.warnings,
            terminate: report.terminate.map(terminate),
        }
    }
}

fn thresholds(t: &Thresholds) -> WireThresholds {
    WireThresholds {
        idle_in_transaction_secs: t.idle_in_transaction_secs,
        transaction_secs: t.transaction_secs,
        xid_age_warning: t.xid_age_warning,
        xid_age_critical: t.xid_age_critical,
    }
}

fn severity(s: Severity) -> WireSeverity {
    match s {
        Severity::Info => WireSeverity::Info,
        Severity::Warning => WireSeverity::Warning,
        Severity::Critical => WireSeverity::Critical,
    }
}

fn safety(s: Safety) -> WireSafety {
    match s {
        Safety::Safe => WireSafety::Safe,
        Safety::NeedsCare => WireSafety::NeedsCare,
        Safety::DisplayOnly => WireSafety::DisplayOnly,
    }
}

fn blocker(b: &Blocker) -> WireBlocker {
    WireBlocker {
        kind: match b.kind {
            BlockerKind::IdleInTransaction => WireBlockerKind::IdleInTransaction,
            BlockerKind::LongTransaction => WireBlockerKind::LongTransaction,
            BlockerKind::PreparedTransaction => WireBlockerKind::PreparedTransaction,
            BlockerKind::ReplicationSlot => WireBlockerKind::ReplicationSlot,
            BlockerKind::StandbyFeedback => WireBlockerKind::StandbyFeedback,
            BlockerKind::TempTable => WireBlockerKind::TempTable,
            BlockerKind::OrphanedTempSchema => WireBlockerKind::OrphanedTempSchema,
            BlockerKind::DeferCleanupAge => WireBlockerKind::DeferCleanupAge,
        },
        identity: b.identity.clone(),
        database: b.database.clone(),
        horizon: horizon(&b.horizon),
        since: b.since,
        held_secs: b.held_secs,
        idle_secs: b.idle_secs,
        severity: severity(b.severity),
        reasons: b.reasons.clone(),
        actions: b.actions.iter().map(action).collect(),
        holder: holder(&b.holder),
    }
}

fn horizon(h: &Horizon) -> WireHorizon {
    WireHorizon {
        source: match h.source {
            HorizonSource::BackendXid => WireHorizonSource::BackendXid,
            HorizonSource::BackendXmin => WireHorizonSource::BackendXmin,
            HorizonSource::PreparedXid => WireHorizonSource::PreparedXid,
            HorizonSource::SlotXmin => WireHorizonSource::SlotXmin,
            HorizonSource::SlotCatalogXmin => WireHorizonSource::SlotCatalogXmin,
            HorizonSource::StandbyXmin => WireHorizonSource::StandbyXmin,
            HorizonSource::Relfrozenxid => WireHorizonSource::Relfrozenxid,
            HorizonSource::DeferCleanupAge => WireHorizonSource::DeferCleanupAge,
        },
        xid: h.xid,
        age: h.age,
    }
}

fn action(a: &Action) -> WireAction {
    WireAction {
        summary: a.summary.clone(),
        statements: a.statements.clone(),
        run_on: a.run_on.to_string(),
        cost: a.cost.clone(),
        safety: safety(a.safety),
        destructive: a.destructive,
        signal: a.signal.as_ref().map(signal),
    }
}

fn signal(s: &SessionSignal) -> WireSignal {
    WireSignal {
        kind: match s.kind {
            SignalKind::Terminate => WireSignalKind::Terminate,
            SignalKind::Cancel => WireSignalKind::Cancel,
        },
        pid: s.pid,
        backend_start: s.backend_start,
        same_transaction: s.same_transaction,
        xact_start: s.xact_start,
    }
}

fn holder(h: &Holder) -> WireHolder {
    match h.clone() {
        Holder::Session {
            pid,
            user,
            application_name,
            client_addr,
            backend_type,
            state,
            backend_start,
            xact_start,
            state_change,
            backend_xid,
            backend_xmin,
            snapshot_only,
            redacted,
            query,
            activity,
        } => WireHolder::Session {
            pid,
            user,
            application_name,
            client_addr,
            backend_type,
            state,
            backend_start,
            xact_start,
            state_change,
            backend_xid,
            backend_xmin,
            snapshot_only,
            redacted,
            query,
            activity: match activity {
                Activity::Transaction => WireActivity::Transaction,
                Activity::Backup => WireActivity::Backup,
                Activity::Maintenance => WireActivity::Maintenance,
            },
        },
        Holder::PreparedTransaction {
            gid,
            owner,
            xid,
            prepared,
        } => WireHolder::PreparedTransaction {
            gid,
            owner,
            xid,
            prepared,
        },
        Holder::ReplicationSlot {
            slot_name,
            slot_type,
            plugin,
            active,
            active_pid,
            temporary,
            xmin,
            catalog_xmin,
            standby,
        } => WireHolder::ReplicationSlot {
            slot_name,
            slot_type,
            plugin,
            active,
            active_pid,
            temporary,
            xmin,
            catalog_xmin,
            standby,
        },
        Holder::Standby {
            pid,
            application_name,
            client_addr,
            user,
            backend_xmin,
        } => WireHolder::Standby {
            pid,
            application_name,
            client_addr,
            user,
            backend_xmin,
        },
        Holder::TempTable {
            schema,
            tables,
            owner_pid,
            owner_source,
            owner_backend_start,
            owner_user,
            owner_status,
            candidate_pid,
            ownership,
            oldest_other_age,
        } => WireHolder::TempTable {
            schema,
            tables,
            owner_pid,
            owner_source,
            owner_backend_start,
            owner_user,
            owner_status: match owner_status {
                OwnerStatus::Known => WireOwnerStatus::Known,
                OwnerStatus::Unknown => WireOwnerStatus::Unknown,
            },
            candidate_pid,
            ownership,
            oldest_other_age,
        },
        Holder::OrphanedTempSchema {
            schema,
            tables,
            ownership,
        } => WireHolder::OrphanedTempSchema {
            schema,
            tables,
            ownership,
        },
        Holder::Setting {
            name,
            value,
            behind,
        } => WireHolder::Setting {
            name,
            value,
            behind,
        },
    }
}

fn terminate(t: &TerminateReport) -> WireTerminate {
    WireTerminate {
        mode: t.mode,
        outcomes: t.outcomes.iter().map(outcome).collect(),
        excluded: t.excluded.iter().map(excluded).collect(),
    }
}

fn outcome(o: &Outcome) -> WireOutcome {
    WireOutcome {
        pid: o.pid,
        outcome: match o.outcome {
            OutcomeKind::WouldTerminate => WireOutcomeKind::WouldTerminate,
            OutcomeKind::Terminated => WireOutcomeKind::Terminated,
            OutcomeKind::Signalled => WireOutcomeKind::Signalled,
            OutcomeKind::AlreadyGone => WireOutcomeKind::AlreadyGone,
            OutcomeKind::Changed => WireOutcomeKind::Changed,
            OutcomeKind::Refused => WireOutcomeKind::Refused,
        },
        detail: o.detail.clone(),
        sql: o.sql.clone(),
    }
}

fn excluded(e: &Excluded) -> WireExcluded {
    WireExcluded {
        pid: e.pid,
        reason: e.reason.to_string(),
        refused: e.refused,
    }
}
