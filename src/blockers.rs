//! What holds vacuum back, and what to run about it: a pure function of a [`Snapshot`].
//!
//! Vacuum can only remove a dead row version once no transaction could still see it, and can
//! only advance a table's `relfrozenxid` (and so the database's `datfrozenxid`) up to the same
//! horizon. Everything that holds that horizon back is a [`Blocker`]:
//!
//! - sessions whose `backend_xid` or `backend_xmin` is old: active long transactions (also those
//!   made of many short statements: `xact_start` is what counts, not `query_start`), sessions idle
//!   in transaction (idle time from `state_change`), and sessions holding only a snapshot.
//!   Sessions with neither are never blockers; neither are pgvac's own session, autovacuum
//!   workers running a (lazy) `VACUUM`, whose xmin the server ignores, autovacuum workers running
//!   `ANALYZE` for less than the transaction threshold (routine, and over by themselves),
//!   walsenders (their xmin is reported as the standby or the slot they serve) and parallel
//!   workers (their leader is);
//! - prepared transactions, which hold their XID until `COMMIT PREPARED` / `ROLLBACK PREPARED`;
//! - replication slots: a physical slot's `xmin` (from a standby's `hot_standby_feedback`), a
//!   logical slot's `catalog_xmin` (system catalogs and user catalog tables only) and `xmin`;
//! - standbys with `hot_standby_feedback` and no slot (`pg_stat_replication.backend_xmin`);
//! - temporary tables older than every other table of their database: autovacuum never vacuums
//!   them, so they pin `datfrozenxid` until their owner vacuums or drops them or ends; and
//!   orphaned temporary schemas, whose owner is gone.
//!
//! Blockers are ranked by how far behind they hold the horizon (the age of the XID they hold),
//! the oldest first. Each carries the SQL that releases it and what that costs.
//!
//! Severity follows the age on the RDS ladder (500M warning, 1B critical, 1.5B "fix
//! immediately"), and, for bloat, how long the horizon has been held: idle in transaction over
//! 5 minutes, a transaction or prepared transaction open over 1 hour, an inactive slot. All
//! thresholds are in [`Thresholds`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::snapshot::{
    Database, Persistence, PreparedTransaction, ReplicationSlot, Session, Snapshot, Standby,
    TempOwner, TempSchema,
};

pub use crate::findings::{Safety, Severity};

/// When a blocker becomes a warning or critical.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Thresholds {
    /// Idle in transaction longer than this (seconds) is a warning. Default 5 minutes.
    pub idle_in_transaction_secs: i64,
    /// A transaction (or prepared transaction, or inactive slot) held longer than this
    /// (seconds) is a warning. Default 1 hour.
    pub transaction_secs: i64,
    /// Holding the horizon this many XIDs behind is a warning (RDS: 500M).
    pub xid_age_warning: i64,
    /// ... and this many is critical (RDS: 1B "act now"; 1.5B "fix immediately").
    pub xid_age_critical: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            idle_in_transaction_secs: 5 * 60,
            transaction_secs: 60 * 60,
            xid_age_warning: 500_000_000,
            xid_age_critical: 1_000_000_000,
        }
    }
}

/// The RDS guide's "fix immediately" rung, named in the reasons past it.
const XID_AGE_EMERGENCY: i64 = 1_500_000_000;

/// What kind of thing holds the horizon. Each kind is one BLOCK rule.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    schemars::JsonSchema,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum BlockerKind {
    /// A session idle in transaction (with an XID, or only a snapshot).
    IdleInTransaction,
    /// A session running a transaction or statement (with an XID, or only a snapshot), or a
    /// session whose state is hidden from pgvac's role.
    LongTransaction,
    PreparedTransaction,
    ReplicationSlot,
    /// A standby with `hot_standby_feedback` streaming without a slot.
    StandbyFeedback,
    /// A live session's temporary table pinning its database's `datfrozenxid`.
    TempTable,
    /// Temporary tables whose owning session is gone.
    OrphanedTempSchema,
}

impl BlockerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BlockerKind::IdleInTransaction => "idle in transaction",
            BlockerKind::LongTransaction => "transaction",
            BlockerKind::PreparedTransaction => "prepared transaction",
            BlockerKind::ReplicationSlot => "replication slot",
            BlockerKind::StandbyFeedback => "standby feedback",
            BlockerKind::TempTable => "temporary table",
            BlockerKind::OrphanedTempSchema => "orphaned temp schema",
        }
    }
}

/// Which XID the blocker holds, and so what it holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HorizonSource {
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
}

/// The XID a blocker holds and how far behind it is.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Horizon {
    pub source: HorizonSource,
    /// The 32-bit XID, as `VACUUM (VERBOSE)` prints its "oldest xmin" / "removable cutoff";
    /// absent for temporary tables (the snapshot keeps their age only).
    pub xid: Option<i64>,
    /// `age()` of that XID: how many transactions behind the horizon is held.
    pub age: i64,
}

/// Who holds the horizon, in the words of the view it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Holder {
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
        /// The owner's pid where it is known exactly, with how it was found.
        owner_pid: Option<i32>,
        owner_source: Option<String>,
        /// The owner's `backend_start`, to terminate it safely.
        owner_backend_start: Option<DateTime<Utc>>,
        owner_user: Option<String>,
        /// The oldest non-temporary relation's age in that database, for comparison.
        oldest_other_age: Option<i64>,
    },
    OrphanedTempSchema {
        schema: String,
        tables: Vec<String>,
    },
}

/// SQL that releases a blocker, where to run it, and what it costs.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Action {
    /// One line: what the action does.
    pub summary: String,
    /// Statements to run one by one (not in one transaction block).
    pub statements: Vec<String>,
    /// Where to run them: "this server", "database \"x\"" or "the standby ...".
    pub run_on: String,
    /// What it costs.
    pub cost: String,
    pub safety: Safety,
}

/// One thing holding vacuum back.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Blocker {
    pub kind: BlockerKind,
    /// One line naming the holder: `pid 4242 (app@shop)`, `slot "sub1"`, ...
    pub identity: String,
    /// The database it concerns (for sessions, prepared transactions, logical slots and temp
    /// tables); absent for physical slots and standbys, which hold every database.
    pub database: Option<String>,
    pub horizon: Horizon,
    /// Since when the horizon is held, where known (`xact_start`, `prepare` time, ...).
    pub since: Option<DateTime<Utc>>,
    /// For how long, in seconds, as of the snapshot.
    pub held_secs: Option<i64>,
    /// Sessions idle in transaction: seconds since `state_change`.
    pub idle_secs: Option<i64>,
    pub severity: Severity,
    /// Why this severity, one short sentence each.
    pub reasons: Vec<String>,
    /// The fixes, the recommended one first.
    pub actions: Vec<Action>,
    pub holder: Holder,
}

impl Blocker {
    /// The session to terminate to release this blocker, if one is known: a session blocker
    /// itself, or the known owner of a temporary table.
    pub fn session_pid(&self) -> Option<i32> {
        match &self.holder {
            Holder::Session { pid, .. } => Some(*pid),
            Holder::TempTable { owner_pid, .. } => *owner_pid,
            _ => None,
        }
    }
}

/// Every blocker in the snapshot, the one holding the horizon furthest behind first.
pub fn find_blockers(snapshot: &Snapshot, thresholds: &Thresholds) -> Vec<Blocker> {
    let now = snapshot.server.collected_at;
    let mut blockers = Vec::new();
    for session in &snapshot.sessions {
        if let Some(blocker) = session_blocker(session, now, thresholds) {
            blockers.push(blocker);
        }
    }
    for prepared in &snapshot.prepared_transactions {
        blockers.push(prepared_blocker(prepared, now, thresholds));
    }
    for slot in &snapshot.replication_slots {
        if let Some(blocker) = slot_blocker(slot, &snapshot.standbys, now, thresholds) {
            blockers.push(blocker);
        }
    }
    for standby in &snapshot.standbys {
        if let Some(blocker) = standby_blocker(standby, thresholds) {
            blockers.push(blocker);
        }
    }
    let freeze_max_age = snapshot
        .setting("autovacuum_freeze_max_age")
        .and_then(|s| s.setting.parse::<i64>().ok());
    for database in &snapshot.databases {
        for schema in &database.temp_schemas {
            if let Some(blocker) =
                temp_blocker(database, schema, snapshot, freeze_max_age, thresholds)
            {
                blockers.push(blocker);
            }
        }
    }
    blockers.sort_by(|a, b| {
        b.horizon
            .age
            .cmp(&a.horizon.age)
            .then(b.severity.cmp(&a.severity))
            .then(a.kind.cmp(&b.kind))
            .then(a.identity.cmp(&b.identity))
    });
    blockers
}

/// The highest severity among the blockers (Info when there are none).
pub fn worst_severity(blockers: &[Blocker]) -> Severity {
    blockers
        .iter()
        .map(|b| b.severity)
        .max()
        .unwrap_or_default()
}

fn seconds_since(now: DateTime<Utc>, then: Option<DateTime<Utc>>) -> Option<i64> {
    then.map(|t| (now - t).num_seconds().max(0))
}

/// `1h 02m`, `5m 10s`, `42s`.
pub fn format_duration(secs: i64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    if d > 0 {
        format!("{d}d {h:02}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

/// The ladder on XID age, with the reason for the rung reached.
fn age_severity(age: i64, thresholds: &Thresholds) -> (Severity, Option<String>) {
    if age >= XID_AGE_EMERGENCY.max(thresholds.xid_age_critical) {
        (
            Severity::Critical,
            Some(format!(
                "holds the horizon {age} XIDs behind (>= {XID_AGE_EMERGENCY}): fix immediately, \
                 the server stops assigning XIDs near 2.1 billion"
            )),
        )
    } else if age >= thresholds.xid_age_critical {
        (
            Severity::Critical,
            Some(format!(
                "holds the horizon {age} XIDs behind (>= {}): act now",
                thresholds.xid_age_critical
            )),
        )
    } else if age >= thresholds.xid_age_warning {
        (
            Severity::Warning,
            Some(format!(
                "holds the horizon {age} XIDs behind (>= {})",
                thresholds.xid_age_warning
            )),
        )
    } else {
        (Severity::Info, None)
    }
}

/// Severity and reasons from the age ladder plus extra (severity, reason) pairs.
fn grade(
    age: i64,
    thresholds: &Thresholds,
    extra: Vec<(Severity, String)>,
) -> (Severity, Vec<String>) {
    let (mut severity, reason) = age_severity(age, thresholds);
    let mut reasons: Vec<String> = reason.into_iter().collect();
    for (level, reason) in extra {
        severity = severity.max(level);
        reasons.push(reason);
    }
    (severity, reasons)
}

pub use crate::sql::{quote_ident, quote_literal};

/// A timestamp as an SQL literal with microsecond precision, as the server stores it.
pub fn timestamp_literal(at: DateTime<Utc>) -> String {
    quote_literal(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// `SELECT pg_terminate_backend(pid) ...` (or cancel) that only signals the session if it is
/// still the same session (pid and backend_start) and, when given, still in the same
/// transaction: a pid reused by a new session is never signalled.
pub fn guarded_signal_sql(
    function: &str,
    pid: i32,
    backend_start: Option<DateTime<Utc>>,
    xact_start: Option<Option<DateTime<Utc>>>,
) -> String {
    let Some(backend_start) = backend_start else {
        return format!("SELECT {function}({pid});");
    };
    let mut sql = format!(
        "SELECT {function}(pid) FROM pg_stat_activity WHERE pid = {pid} AND backend_start = {}",
        timestamp_literal(backend_start)
    );
    match xact_start {
        None => {}
        Some(None) => sql.push_str(" AND xact_start IS NULL"),
        Some(Some(at)) => {
            sql.push_str(&format!(" AND xact_start = {}", timestamp_literal(at)));
        }
    }
    sql.push(';');
    sql
}

/// Whether the server ignores this session's xmin: a lazy `VACUUM` (autovacuum's included)
/// runs with PROC_IN_VACUUM, which every horizon computation skips.
fn is_lazy_vacuum(session: &Session) -> bool {
    let query = session.query.as_deref().unwrap_or("").trim_start();
    let upper = query
        .get(..query.len().min(64))
        .unwrap_or("")
        .to_uppercase();
    session.backend_type.as_deref() == Some("autovacuum worker")
        && upper.starts_with("AUTOVACUUM: VACUUM")
}

fn session_blocker(session: &Session, now: DateTime<Utc>, t: &Thresholds) -> Option<Blocker> {
    if session.is_pgvac || is_lazy_vacuum(session) {
        return None;
    }
    let backend_type = session.backend_type.as_deref();
    if backend_type == Some("walsender") {
        return None;
    }
    if session
        .leader_pid
        .is_some_and(|leader| leader != session.pid)
    {
        return None;
    }
    let xid = session.backend_xid.zip(session.backend_xid_age);
    let xmin = session.backend_xmin.zip(session.backend_xmin_age);
    let (source, (held_xid, age)) = match (xid, xmin) {
        (None, None) => return None,
        (Some(x), None) => (HorizonSource::BackendXid, x),
        (None, Some(m)) => (HorizonSource::BackendXmin, m),
        (Some(x), Some(m)) => {
            if x.1 >= m.1 {
                (HorizonSource::BackendXid, x)
            } else {
                (HorizonSource::BackendXmin, m)
            }
        }
    };
    let state = session.state.as_deref();
    let idle_in_transaction = state.is_some_and(|s| s.starts_with("idle in transaction"));
    let kind = if idle_in_transaction {
        BlockerKind::IdleInTransaction
    } else {
        BlockerKind::LongTransaction
    };
    let held_secs = seconds_since(now, session.xact_start);
    // An autovacuum worker running ANALYZE holds a snapshot for that one table and lets go by
    // itself; it is routine, never a session to end, and before 14 the server ignores it too.
    // Only one that has held its transaction past the threshold is worth a look.
    if backend_type == Some("autovacuum worker")
        && held_secs.is_none_or(|held| held <= t.transaction_secs)
    {
        return None;
    }
    let idle_secs = if idle_in_transaction {
        seconds_since(now, session.state_change)
    } else {
        None
    };
    let mut extra = Vec::new();
    if let Some(idle) = idle_secs.filter(|&i| i > t.idle_in_transaction_secs) {
        extra.push((
            Severity::Warning,
            format!(
                "idle in transaction for {} (over {})",
                format_duration(idle),
                format_duration(t.idle_in_transaction_secs)
            ),
        ));
    }
    if let Some(held) = held_secs.filter(|&h| h > t.transaction_secs) {
        extra.push((
            Severity::Warning,
            format!(
                "transaction open for {} (over {})",
                format_duration(held),
                format_duration(t.transaction_secs)
            ),
        ));
    }
    let (severity, mut reasons) = grade(age, t, extra);
    if session.redacted {
        reasons.push(
            "its state and times are hidden from pgvac's role (GRANT pg_monitor)".to_string(),
        );
    }
    let who = format!(
        "{}@{}",
        session.user.as_deref().unwrap_or("?"),
        session.database.as_deref().unwrap_or("?")
    );
    let client = backend_type == Some("client backend");
    let mut identity = format!("pid {} ({who})", session.pid);
    if let Some(kind) = backend_type.filter(|_| !client) {
        identity.push_str(&format!(", {kind}"));
    }
    let terminate = Action {
        summary: format!("terminate pid {}", session.pid),
        statements: vec![guarded_signal_sql(
            "pg_terminate_backend",
            session.pid,
            session.backend_start,
            Some(session.xact_start),
        )],
        run_on: "this server".to_string(),
        cost: "ends the session: its open transaction is rolled back and its client loses \
               the connection"
            .to_string(),
        safety: Safety::NeedsCare,
    };
    let mut actions = Vec::new();
    if !idle_in_transaction && state == Some("active") {
        actions.push(Action {
            summary: format!("cancel the running statement of pid {}", session.pid),
            statements: vec![guarded_signal_sql(
                "pg_cancel_backend",
                session.pid,
                session.backend_start,
                Some(session.xact_start),
            )],
            run_on: "this server".to_string(),
            cost: "the statement fails and its transaction is rolled back; the session stays \
                   connected (if its client then starts a new transaction, the horizon moves on)"
                .to_string(),
            safety: Safety::NeedsCare,
        });
    }
    actions.push(terminate);
    if !client {
        for action in &mut actions {
            action.safety = Safety::DisplayOnly;
            action.cost.push_str(&format!(
                "; this is a {} process, not a client session: find out why it holds a \
                 transaction first",
                backend_type.unwrap_or("background")
            ));
        }
    }
    Some(Blocker {
        kind,
        identity,
        database: session.database.clone(),
        horizon: Horizon {
            source,
            xid: Some(held_xid),
            age,
        },
        since: session.xact_start,
        held_secs,
        idle_secs,
        severity,
        reasons,
        actions,
        holder: Holder::Session {
            pid: session.pid,
            user: session.user.clone(),
            application_name: session.application_name.clone(),
            client_addr: session.client_addr.clone(),
            backend_type: session.backend_type.clone(),
            state: session.state.clone(),
            backend_start: session.backend_start,
            xact_start: session.xact_start,
            state_change: session.state_change,
            backend_xid: session.backend_xid,
            backend_xmin: session.backend_xmin,
            snapshot_only: session.backend_xid.is_none(),
            redacted: session.redacted,
            query: session.query.clone(),
        },
    })
}

fn prepared_blocker(p: &PreparedTransaction, now: DateTime<Utc>, t: &Thresholds) -> Blocker {
    let held_secs = seconds_since(now, Some(p.prepared));
    let mut extra = Vec::new();
    if let Some(held) = held_secs.filter(|&h| h > t.transaction_secs) {
        extra.push((
            Severity::Warning,
            format!(
                "prepared {} ago (over {}): its transaction manager may have forgotten it",
                format_duration(held),
                format_duration(t.transaction_secs)
            ),
        ));
    }
    let (severity, reasons) = grade(p.xid_age, t, extra);
    let gid = quote_literal(&p.gid);
    let run_on = format!(
        "database {} as {} or a superuser",
        quote_ident(&p.database),
        quote_ident(&p.owner)
    );
    Blocker {
        kind: BlockerKind::PreparedTransaction,
        identity: format!("prepared transaction {gid} ({}@{})", p.owner, p.database),
        database: Some(p.database.clone()),
        horizon: Horizon {
            source: HorizonSource::PreparedXid,
            xid: Some(p.xid),
            age: p.xid_age,
        },
        since: Some(p.prepared),
        held_secs,
        idle_secs: None,
        severity,
        reasons,
        actions: vec![
            Action {
                summary: format!("roll back prepared transaction {gid}"),
                statements: vec![format!("ROLLBACK PREPARED {gid};")],
                run_on: run_on.clone(),
                cost: "its changes are discarded; the transaction manager that prepared it \
                       must learn of it (its owner decides between rollback and commit)"
                    .to_string(),
                safety: Safety::NeedsCare,
            },
            Action {
                summary: format!("commit prepared transaction {gid}"),
                statements: vec![format!("COMMIT PREPARED {gid};")],
                run_on,
                cost: "its changes become visible; only if its owner decided to commit".to_string(),
                safety: Safety::NeedsCare,
            },
        ],
        holder: Holder::PreparedTransaction {
            gid: p.gid.clone(),
            owner: p.owner.clone(),
            xid: p.xid,
            prepared: p.prepared,
        },
    }
}

fn standby_name(standby: &Standby) -> String {
    let name = standby.application_name.as_deref().unwrap_or("");
    let addr = standby.client_addr.as_deref().unwrap_or("local socket");
    if name.is_empty() {
        format!("standby at {addr} (walsender pid {})", standby.pid)
    } else {
        format!(
            "standby \"{name}\" at {addr} (walsender pid {})",
            standby.pid
        )
    }
}

/// What to run on a standby whose feedback holds the primary's horizon.
fn standby_actions(standby: &str) -> Vec<Action> {
    vec![
        Action {
            summary: "turn hot_standby_feedback off on the standby".to_string(),
            statements: vec![
                "ALTER SYSTEM SET hot_standby_feedback = off;".to_string(),
                "SELECT pg_reload_conf();".to_string(),
            ],
            run_on: format!("the {standby}"),
            cost: "queries on the standby may then be cancelled by recovery conflicts \
                   (max_standby_streaming_delay decides when)"
                .to_string(),
            safety: Safety::NeedsCare,
        },
        Action {
            summary: "end the standby session holding the oldest snapshot".to_string(),
            statements: vec![
                "SELECT pid, usename, state, xact_start, backend_xmin FROM pg_stat_activity \
                 WHERE backend_xmin IS NOT NULL ORDER BY age(backend_xmin) DESC;"
                    .to_string(),
                "SELECT pg_terminate_backend(<pid from the first row>);".to_string(),
            ],
            run_on: format!("the {standby}"),
            cost: "ends that standby session: its client loses the connection".to_string(),
            safety: Safety::DisplayOnly,
        },
    ]
}

fn slot_blocker(
    slot: &ReplicationSlot,
    standbys: &[Standby],
    now: DateTime<Utc>,
    t: &Thresholds,
) -> Option<Blocker> {
    let xmin = slot.xmin.zip(slot.xmin_age);
    let catalog = slot.catalog_xmin.zip(slot.catalog_xmin_age);
    let (source, (held_xid, age)) = match (xmin, catalog) {
        (None, None) => return None,
        (Some(x), None) => (HorizonSource::SlotXmin, x),
        (None, Some(c)) => (HorizonSource::SlotCatalogXmin, c),
        (Some(x), Some(c)) => {
            if x.1 >= c.1 {
                (HorizonSource::SlotXmin, x)
            } else {
                (HorizonSource::SlotCatalogXmin, c)
            }
        }
    };
    let standby = slot
        .active_pid
        .and_then(|pid| standbys.iter().find(|s| s.pid == pid));
    let mut extra = Vec::new();
    let inactive_secs = seconds_since(now, slot.inactive_since);
    if !slot.active {
        match inactive_secs {
            Some(secs) if secs > t.transaction_secs => extra.push((
                Severity::Warning,
                format!(
                    "inactive for {} (over {})",
                    format_duration(secs),
                    format_duration(t.transaction_secs)
                ),
            )),
            Some(_) => {}
            None => extra.push((
                Severity::Warning,
                "inactive: no consumer is connected (how long is known on 17+ only)".to_string(),
            )),
        }
    }
    let (severity, mut reasons) = grade(age, t, extra);
    if source == HorizonSource::SlotCatalogXmin {
        reasons.push(
            "catalog_xmin holds dead rows of system catalogs and user catalog tables in every \
             database"
                .to_string(),
        );
    }
    let name = quote_literal(&slot.slot_name);
    let drop = Action {
        summary: format!("drop the inactive slot {name}"),
        statements: vec![format!("SELECT pg_drop_replication_slot({name});")],
        run_on: match (&slot.database, slot.slot_type.as_str()) {
            (Some(db), "logical") => format!("this server, database {}", quote_ident(db)),
            _ => "this server".to_string(),
        },
        cost: if slot.slot_type == "logical" {
            "its consumer (subscription, CDC tool) loses its position: changes not yet \
             consumed are lost to it and it must be re-synchronized"
                .to_string()
        } else {
            "its standby loses its reserved WAL and may need to be rebuilt".to_string()
        },
        safety: Safety::NeedsCare,
    };
    let actions = match (slot.active, standby) {
        (false, _) => vec![drop],
        (true, Some(standby)) => standby_actions(&standby_name(standby)),
        (true, None) => vec![Action {
            summary: format!(
                "the consumer (pid {}) is connected but behind: fix or stop it, then drop the slot",
                slot.active_pid.map_or("?".to_string(), |p| p.to_string())
            ),
            statements: vec![
                format!(
                    "SELECT pg_terminate_backend({});",
                    slot.active_pid
                        .map_or("<active_pid>".to_string(), |p| p.to_string())
                ),
                format!("SELECT pg_drop_replication_slot({name});"),
            ],
            run_on: "this server".to_string(),
            cost: "an active slot cannot be dropped; its consumer reconnects unless it is \
                   stopped first, and loses its position once the slot is dropped"
                .to_string(),
            safety: Safety::DisplayOnly,
        }],
    };
    let mut identity = format!("{} slot \"{}\"", slot.slot_type, slot.slot_name);
    if !slot.active {
        identity.push_str(", inactive");
    }
    Some(Blocker {
        kind: BlockerKind::ReplicationSlot,
        identity,
        database: slot.database.clone(),
        horizon: Horizon {
            source,
            xid: Some(held_xid),
            age,
        },
        since: slot.inactive_since,
        held_secs: inactive_secs,
        idle_secs: None,
        severity,
        reasons,
        actions,
        holder: Holder::ReplicationSlot {
            slot_name: slot.slot_name.clone(),
            slot_type: slot.slot_type.clone(),
            plugin: slot.plugin.clone(),
            active: slot.active,
            active_pid: slot.active_pid,
            temporary: slot.temporary,
            xmin: slot.xmin,
            catalog_xmin: slot.catalog_xmin,
            standby: standby.map(standby_name),
        },
    })
}

fn standby_blocker(standby: &Standby, t: &Thresholds) -> Option<Blocker> {
    let (xmin, age) = standby.backend_xmin.zip(standby.backend_xmin_age)?;
    let (severity, reasons) = grade(age, t, Vec::new());
    let name = standby_name(standby);
    Some(Blocker {
        kind: BlockerKind::StandbyFeedback,
        identity: name.clone(),
        database: None,
        horizon: Horizon {
            source: HorizonSource::StandbyXmin,
            xid: Some(xmin),
            age,
        },
        since: None,
        held_secs: None,
        idle_secs: None,
        severity,
        reasons,
        actions: standby_actions(&name),
        holder: Holder::Standby {
            pid: standby.pid,
            application_name: standby.application_name.clone(),
            client_addr: standby.client_addr.clone(),
            user: standby.user.clone(),
            backend_xmin: xmin,
        },
    })
}

/// A temp schema is a blocker when its oldest table is at least as old as every other
/// relation of the database: once the rest is vacuumed, `datfrozenxid` stops there.
fn temp_blocker(
    database: &Database,
    schema: &TempSchema,
    snapshot: &Snapshot,
    freeze_max_age: Option<i64>,
    t: &Thresholds,
) -> Option<Blocker> {
    let mut tables: Vec<(i64, String)> = database
        .tables
        .iter()
        .filter(|table| schema.table_oids.contains(&table.oid))
        .map(|table| {
            (
                table.xid_age.unwrap_or(0),
                format!(
                    "{}.{}",
                    quote_ident(&table.schema),
                    quote_ident(&table.name)
                ),
            )
        })
        .collect();
    if tables.is_empty() {
        return None;
    }
    tables.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let age = tables[0].0;
    let oldest_other_age = database
        .tables
        .iter()
        .filter(|table| table.persistence != Persistence::Temporary)
        .flat_map(|table| {
            [
                table.xid_age,
                table.toast.as_ref().and_then(|toast| toast.xid_age),
            ]
        })
        .flatten()
        .max();
    let orphaned = schema.owner == TempOwner::Orphaned;
    if !orphaned && oldest_other_age.is_some_and(|other| other > age) {
        return None;
    }
    let names: Vec<String> = tables.iter().map(|(_, name)| name.clone()).collect();
    let run_on = format!("database {}", quote_ident(&database.name));
    let drop = Action {
        summary: format!("drop the temporary tables of {}", schema.schema),
        statements: vec![format!("DROP TABLE {};", names.join(", "))],
        run_on: run_on.clone(),
        cost: if orphaned {
            "none: their owner is gone (autovacuum also drops them once it visits this database)"
                .to_string()
        } else {
            "the owning session loses these tables (its application may fail); DROP waits for \
             the owner's lock if it is using them"
                .to_string()
        },
        safety: if orphaned {
            Safety::Safe
        } else {
            Safety::NeedsCare
        },
    };
    let mut extra = Vec::new();
    if let Some(max) = freeze_max_age.filter(|&max| age > max) {
        extra.push((
            Severity::Warning,
            format!(
                "older than autovacuum_freeze_max_age ({max}): autovacuum keeps starting \
                 anti-wraparound vacuums in this database that cannot advance datfrozenxid"
            ),
        ));
    }
    let (severity, mut reasons) = grade(age, t, extra);
    let horizon = Horizon {
        source: HorizonSource::Relfrozenxid,
        xid: None,
        age,
    };
    if orphaned {
        reasons.push("no live session owns these tables".to_string());
        return Some(Blocker {
            kind: BlockerKind::OrphanedTempSchema,
            identity: format!(
                "orphaned temp schema {} in {}",
                schema.schema, database.name
            ),
            database: Some(database.name.clone()),
            horizon,
            since: None,
            held_secs: None,
            idle_secs: None,
            severity,
            reasons,
            actions: vec![drop],
            holder: Holder::OrphanedTempSchema {
                schema: schema.schema.clone(),
                tables: names,
            },
        });
    }
    reasons.push(
        "autovacuum never vacuums temporary tables: only their owner can, by vacuuming, \
         dropping them or ending"
            .to_string(),
    );
    let (owner_pid, owner_source) = match &schema.owner {
        TempOwner::Known { pid, source } => (Some(*pid), Some(source.clone())),
        _ => (None, None),
    };
    let owner = owner_pid.and_then(|pid| snapshot.sessions.iter().find(|s| s.pid == pid));
    let mut actions = Vec::new();
    let identity = match owner_pid {
        Some(pid) => {
            actions.push(Action {
                summary: format!("end the owner, pid {pid}"),
                statements: vec![guarded_signal_sql(
                    "pg_terminate_backend",
                    pid,
                    owner.and_then(|s| s.backend_start),
                    None,
                )],
                run_on: "this server".to_string(),
                cost: "ends the session: its temporary tables are dropped, its open transaction \
                       is rolled back and its client loses the connection"
                    .to_string(),
                safety: Safety::NeedsCare,
            });
            format!(
                "{} in {}, owner pid {pid}{}",
                schema.schema,
                database.name,
                owner
                    .and_then(|s| s.user.as_deref())
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            )
        }
        None => {
            reasons.push(format!(
                "owner unknown: on PostgreSQL 12-15 the owner of {} can only be named while it \
                 is inside a transaction",
                schema.schema
            ));
            format!("{} in {}, owner unknown", schema.schema, database.name)
        }
    };
    actions.push(drop);
    Some(Blocker {
        kind: BlockerKind::TempTable,
        identity,
        database: Some(database.name.clone()),
        horizon,
        since: owner.and_then(|s| s.backend_start),
        held_secs: None,
        idle_secs: None,
        severity,
        reasons,
        actions,
        holder: Holder::TempTable {
            schema: schema.schema.clone(),
            tables: names,
            owner_pid,
            owner_source,
            owner_backend_start: owner.and_then(|s| s.backend_start),
            owner_user: owner.and_then(|s| s.user.clone()),
            oldest_other_age,
        },
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::snapshot::*;

    pub fn at(seconds_ago: i64) -> DateTime<Utc> {
        now() - chrono::Duration::seconds(seconds_ago)
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    pub fn session(pid: i32) -> Session {
        Session {
            pid,
            database: Some("shop".into()),
            user: Some("app".into()),
            application_name: Some("web".into()),
            client_addr: Some("10.0.0.5".into()),
            backend_type: Some("client backend".into()),
            state: Some("idle".into()),
            backend_start: Some(at(7200)),
            xact_start: None,
            query_start: None,
            state_change: Some(at(10)),
            backend_xid: None,
            backend_xmin: None,
            backend_xid_age: None,
            backend_xmin_age: None,
            wait_event_type: None,
            wait_event: None,
            query: Some("SELECT 1".into()),
            leader_pid: None,
            is_pgvac: false,
            redacted: false,
        }
    }

    pub fn snapshot(sessions: Vec<Session>) -> Snapshot {
        Snapshot {
            snapshot_version: SNAPSHOT_VERSION,
            pgvac_version: "test".into(),
            server: Server {
                version_num: 160000,
                version: "PostgreSQL 16".into(),
                in_recovery: false,
                postmaster_start_time: at(86_400),
                stats_reset: None,
                collected_at: now(),
                next_xid: 10_000,
                block_size: 8192,
                platform: Platform {
                    kind: PlatformKind::Postgres,
                    aurora_version: None,
                    evidence: vec![],
                },
                connected_database: "postgres".into(),
                connected_user: "postgres".into(),
                session: Default::default(),
                system_identifier: None,
            },
            role: RoleCapabilities {
                name: "postgres".into(),
                superuser: true,
                pg_monitor: true,
                pg_read_all_stats: true,
                pg_signal_backend: true,
                rds_superuser: false,
                pg_signal_autovacuum_worker: false,
            },
            settings: vec![],
            databases: vec![],
            sessions,
            prepared_transactions: vec![],
            replication_slots: vec![],
            standbys: vec![],
            running_vacuums: vec![],
            warnings: vec![],
            missing: vec![],
        }
    }

    /// A physical slot (with an xmin 5,000 behind) or a logical one (catalog_xmin 4,000
    /// behind, in database shop); an active one is streamed by pid 77.
    pub fn slot(name: &str, kind: &str, active: bool) -> ReplicationSlot {
        ReplicationSlot {
            slot_name: name.into(),
            slot_type: kind.into(),
            plugin: None,
            database: (kind == "logical").then(|| "shop".to_string()),
            temporary: false,
            active,
            active_pid: active.then_some(77),
            xmin: (kind == "physical").then_some(500),
            xmin_age: (kind == "physical").then_some(5_000),
            catalog_xmin: (kind == "logical").then_some(600),
            catalog_xmin_age: (kind == "logical").then_some(4_000),
            restart_lsn: None,
            confirmed_flush_lsn: None,
            wal_status: None,
            safe_wal_size: None,
            inactive_since: None,
            invalidation_reason: None,
        }
    }

    /// A streaming standby; `xmin` is its own feedback (6,000 behind), as without a slot.
    pub fn standby(pid: i32, name: &str, xmin: Option<i64>) -> Standby {
        Standby {
            pid,
            user: Some("repl".into()),
            application_name: Some(name.into()),
            client_addr: Some("10.0.0.9".into()),
            state: Some("streaming".into()),
            sync_state: Some("async".into()),
            backend_xmin: xmin,
            backend_xmin_age: xmin.map(|_| 6_000),
            reply_time: None,
        }
    }

    pub fn idle_in_transaction(pid: i32, xid: i64, age: i64, idle_secs: i64) -> Session {
        Session {
            state: Some("idle in transaction".into()),
            xact_start: Some(at(idle_secs + 5)),
            state_change: Some(at(idle_secs)),
            backend_xid: Some(xid),
            backend_xid_age: Some(age),
            ..session(pid)
        }
    }

    #[test]
    fn sessions_without_xid_or_xmin_and_pgvac_itself_are_not_blockers() {
        let mut own = idle_in_transaction(2, 900, 100, 600);
        own.is_pgvac = true;
        let lazy_vacuum = Session {
            backend_type: Some("autovacuum worker".into()),
            query: Some("autovacuum: VACUUM public.t".into()),
            backend_xmin: Some(800),
            backend_xmin_age: Some(200),
            ..session(3)
        };
        let walsender = Session {
            backend_type: Some("walsender".into()),
            backend_xmin: Some(700),
            backend_xmin_age: Some(300),
            ..session(4)
        };
        let blockers = find_blockers(
            &snapshot(vec![session(1), own, lazy_vacuum, walsender]),
            &Thresholds::default(),
        );
        assert!(blockers.is_empty(), "{blockers:#?}");
    }

    #[test]
    fn a_routine_autoanalyze_is_not_a_blocker_but_one_running_for_hours_is() {
        let autoanalyze = |pid: i32, running_secs: i64| Session {
            backend_type: Some("autovacuum worker".into()),
            query: Some("autovacuum: ANALYZE public.t".into()),
            state: Some("active".into()),
            xact_start: Some(at(running_secs)),
            backend_xmin: Some(800),
            backend_xmin_age: Some(200),
            ..session(pid)
        };
        let blockers = find_blockers(
            &snapshot(vec![autoanalyze(5, 3), autoanalyze(6, 2 * 3600)]),
            &Thresholds::default(),
        );
        let pids: Vec<_> = blockers.iter().filter_map(Blocker::session_pid).collect();
        assert_eq!(pids, vec![6], "{blockers:#?}");
    }

    #[test]
    fn blockers_are_ranked_by_how_far_behind_they_hold_the_horizon() {
        let mut snap = snapshot(vec![
            idle_in_transaction(10, 9_000, 1_000, 30),
            Session {
                state: Some("active".into()),
                xact_start: Some(at(4000)),
                backend_xmin: Some(7_000),
                backend_xmin_age: Some(3_000),
                ..session(11)
            },
        ]);
        snap.prepared_transactions.push(PreparedTransaction {
            gid: "it's".into(),
            xid: 8_000,
            xid_age: 2_000,
            prepared: at(60),
            owner: "app".into(),
            database: "shop".into(),
        });
        let blockers = find_blockers(&snap, &Thresholds::default());
        let order: Vec<(BlockerKind, i64)> =
            blockers.iter().map(|b| (b.kind, b.horizon.age)).collect();
        assert_eq!(
            order,
            [
                (BlockerKind::LongTransaction, 3_000),
                (BlockerKind::PreparedTransaction, 2_000),
                (BlockerKind::IdleInTransaction, 1_000),
            ]
        );
        // The active one is a snapshot-only session open over an hour: a warning.
        let active = &blockers[0];
        assert!(matches!(
            active.holder,
            Holder::Session {
                snapshot_only: true,
                ..
            }
        ));
        assert_eq!(active.severity, Severity::Warning);
        assert_eq!(active.horizon.source, HorizonSource::BackendXmin);
        assert!(active.actions[0].statements[0].starts_with("SELECT pg_cancel_backend(pid)"));
        // The gid is quoted as a literal.
        assert_eq!(
            blockers[1].actions[0].statements,
            ["ROLLBACK PREPARED 'it''s';"]
        );
        // Idle 30 s in a 35 s transaction: below the thresholds.
        assert_eq!(blockers[2].severity, Severity::Info);
    }

    #[test]
    fn idle_time_comes_from_state_change_and_thresholds_apply() {
        let snap = snapshot(vec![idle_in_transaction(10, 9_000, 50, 301)]);
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert_eq!(blockers[0].idle_secs, Some(301));
        assert_eq!(blockers[0].severity, Severity::Warning);
        let lenient = Thresholds {
            idle_in_transaction_secs: 600,
            ..Thresholds::default()
        };
        assert_eq!(find_blockers(&snap, &lenient)[0].severity, Severity::Info);
    }

    #[test]
    fn the_xid_age_ladder_decides_severity() {
        let t = Thresholds::default();
        assert_eq!(age_severity(499_999_999, &t).0, Severity::Info);
        assert_eq!(age_severity(500_000_000, &t).0, Severity::Warning);
        assert_eq!(age_severity(1_000_000_000, &t).0, Severity::Critical);
        assert!(
            age_severity(1_600_000_000, &t)
                .1
                .unwrap()
                .contains("fix immediately")
        );
    }

    #[test]
    fn the_older_of_xid_and_xmin_is_the_horizon() {
        let s = Session {
            backend_xid: Some(900),
            backend_xid_age: Some(100),
            backend_xmin: Some(850),
            backend_xmin_age: Some(150),
            state: Some("active".into()),
            ..session(5)
        };
        let b = &find_blockers(&snapshot(vec![s]), &Thresholds::default())[0];
        assert_eq!(
            (b.horizon.source, b.horizon.xid),
            (HorizonSource::BackendXmin, Some(850))
        );
    }

    #[test]
    fn slots_and_standbys_get_their_own_fixes() {
        let mut snap = snapshot(vec![]);
        snap.replication_slots = vec![
            slot("phys", "physical", true),
            slot("sub's", "logical", false),
        ];
        snap.standbys = vec![standby(77, "replica1", None)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert_eq!(blockers.len(), 2);
        let physical = &blockers[0];
        assert!(physical.actions[0].run_on.contains("standby \"replica1\""));
        assert_eq!(
            physical.actions[0].statements[0],
            "ALTER SYSTEM SET hot_standby_feedback = off;"
        );
        let logical = &blockers[1];
        assert_eq!(logical.horizon.source, HorizonSource::SlotCatalogXmin);
        assert_eq!(
            logical.actions[0].statements,
            ["SELECT pg_drop_replication_slot('sub''s');"]
        );
        // Inactive, for an unknown time before 17: a warning.
        assert_eq!(logical.severity, Severity::Warning);
    }

    #[test]
    fn quoting_survives_quotes_backslashes_and_case() {
        assert_eq!(quote_literal("a'b"), "'a''b'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
        assert_eq!(
            guarded_signal_sql("pg_terminate_backend", 42, Some(at(0)), Some(None)),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = 42 AND \
             backend_start = '2025-06-01T12:00:00.000000Z' AND xact_start IS NULL;"
        );
    }

    pub fn temp_database(owner: TempOwner, temp_age: i64, other_age: i64) -> Database {
        let table = |oid: u32, schema: &str, name: &str, persistence, age| Table {
            oid,
            schema: schema.into(),
            name: name.into(),
            kind: RelKind::Table,
            persistence,
            reltuples: 1.0,
            relpages: 1,
            relallvisible: 0,
            relallfrozen: None,
            heap_bytes: 8192,
            xid_age: Some(age),
            mxid_age: Some(0),
            reloptions: vec![],
            options: Default::default(),
            toast: None,
            owner_oid: None,
            stats: None,
            index_count: 0,
            index_bytes: 0,
        };
        Database {
            oid: 1,
            name: "shop".into(),
            allows_connections: true,
            connection_limit: -1,
            is_template: false,
            xid_age: temp_age.max(other_age),
            mxid_age: 0,
            size_bytes: None,
            stats_reset: None,
            visit: Visit::Visited,
            collected_at: Some(now()),
            tables: vec![
                table(
                    100,
                    "pg_temp_3",
                    "scratch",
                    Persistence::Temporary,
                    temp_age,
                ),
                table(200, "public", "orders", Persistence::Permanent, other_age),
            ],
            temp_schemas: vec![TempSchema {
                schema: "pg_temp_3".into(),
                backend_id: 3,
                owner,
                table_oids: vec![100],
            }],
        }
    }

    #[test]
    fn a_temp_table_older_than_everything_else_pins_datfrozenxid() {
        let owner = TempOwner::Known {
            pid: 4242,
            source: "backend_status".into(),
        };
        let mut snap = snapshot(vec![session(4242)]);
        snap.databases = vec![temp_database(owner.clone(), 900, 100)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0].kind, BlockerKind::TempTable);
        assert_eq!(blockers[0].session_pid(), Some(4242));
        assert!(blockers[0].identity.contains("owner pid 4242"));
        assert_eq!(
            blockers[0].actions[1].statements,
            ["DROP TABLE pg_temp_3.scratch;"]
        );
        // Younger than a permanent table: not what pins datfrozenxid.
        snap.databases = vec![temp_database(owner, 50, 100)];
        assert!(find_blockers(&snap, &Thresholds::default()).is_empty());
        // Owner unknown (12-15 outside a transaction): said, never guessed.
        snap.databases = vec![temp_database(TempOwner::Unknown, 900, 100)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert!(blockers[0].identity.ends_with("owner unknown"));
        assert_eq!(blockers[0].session_pid(), None);
        // Orphaned: reported whatever its age, dropping is safe.
        snap.databases = vec![temp_database(TempOwner::Orphaned, 50, 100)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert_eq!(blockers[0].kind, BlockerKind::OrphanedTempSchema);
        assert_eq!(blockers[0].actions[0].safety, Safety::Safe);
    }
}
