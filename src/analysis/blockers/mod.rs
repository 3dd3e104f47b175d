//! What holds vacuum back, and what to run about it: a pure function of a [`Snapshot`].
//!
//! Vacuum can only remove a dead row version once no transaction could still see it, and can
//! only advance a table's `relfrozenxid` (and so the database's `datfrozenxid`) up to the same
//! horizon. Everything that holds that horizon back is a [`Blocker`]:
//!
//! - sessions whose `backend_xid` or `backend_xmin` is old: active long transactions (also those
//!   made of many short statements: `xact_start` is what counts, not `query_start`), sessions idle
//!   in transaction (idle time from `state_change`), and sessions holding only a snapshot.
//!   Sessions with neither are never blockers; neither are pgvac's own session, walsenders
//!   (their xmin is reported as the standby or the slot they serve), parallel workers (their
//!   leader is), and every process in `pg_stat_progress_vacuum`: a lazy `VACUUM`, manual or
//!   autovacuum, runs with `PROC_IN_VACUUM`, which the server skips when it computes the horizon
//!   (procarray.c, 12-18), and that view shows its pid to every role. `VACUUM FULL` and
//!   `CLUSTER` (in `pg_stat_progress_cluster` instead) and `ANALYZE` (also the ANALYZE phase of
//!   `VACUUM (ANALYZE)`) do hold the horizon, on every version: 12-13's `PROC_IN_ANALYZE` was
//!   never used to skip anything (vacuum asks `GetOldestXmin` for `PROCARRAY_FLAGS_VACUUM`, which
//!   skips `PROC_IN_VACUUM` only) and 14 removed it. An autovacuum worker running `ANALYZE` is a
//!   blocker only once it has held its transaction past the transaction threshold (routine, and
//!   over by itself);
//! - prepared transactions, which hold their XID until `COMMIT PREPARED` / `ROLLBACK PREPARED`;
//! - replication slots: a physical slot's `xmin` (from a standby's `hot_standby_feedback`), a
//!   logical slot's `catalog_xmin` (system catalogs and user catalog tables only) and `xmin`;
//! - standbys with `hot_standby_feedback` and no slot (`pg_stat_replication.backend_xmin`);
//! - temporary tables older than every other table of their database: autovacuum never vacuums
//!   them, so they pin `datfrozenxid` until their owner vacuums or drops them or ends; and
//!   orphaned temporary schemas, whose owner is gone. The owner is named only where it is proven
//!   ([`crate::collect::temp_owner`]); a session that merely has the schema's backend id is a candidate.
//!
//! Blockers are ranked by how far behind they hold the horizon (the age of the XID they hold),
//! the oldest first. Each carries the SQL that releases it and what that costs. A statement that
//! signals a session always rechecks its identity ([`SessionSignal`]); where the identity cannot
//! be read (another role's session without `pg_read_all_stats`), none is offered.
//!
//! Client sessions are told apart by what they run ([`Activity`]): backups (`pg_dump`) and
//! maintenance commands are named as such, and `--terminate` ends them only when named with
//! `--pid`.
//!
//! Severity follows the age on the RDS ladder (500M warning, 1B critical, 1.5B "fix
//! immediately"), and, for bloat, how long the horizon has been held: idle in transaction over
//! 5 minutes, a transaction or prepared transaction open over 1 hour, an inactive slot. All
//! thresholds are in [`Thresholds`].

mod harm;

pub use harm::*;

use chrono::{DateTime, Utc};

use crate::analysis::units::duration;
use crate::snapshot::{
    Database, Persistence, PreparedTransaction, ReplicationSlot, Session, Snapshot, Standby,
    TempOwner, TempSchema,
};

use crate::analysis::wraparound;

pub use crate::analysis::findings::{
    Needs, RunOn, Safety, SessionSignal, Severity, SignalKind, guarded_signal_sql,
    timestamp_literal,
};

/// When a blocker becomes a warning or critical.
#[derive(Debug, Clone, PartialEq)]
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
            xid_age_warning: wraparound::LOW,
            xid_age_critical: wraparound::ACT,
        }
    }
}

/// The RDS guide's "fix immediately" rung, named in the reasons past it.
const XID_AGE_EMERGENCY: i64 = wraparound::HIGH;

/// What kind of thing holds the horizon. Each kind is one BLOCK rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    /// `vacuum_defer_cleanup_age` (12-15), which moves the horizon back by itself.
    DeferCleanupAge,
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
            BlockerKind::DeferCleanupAge => "vacuum_defer_cleanup_age",
        }
    }
}

/// Which XID the blocker holds, and so what it holds back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// `vacuum_defer_cleanup_age` XIDs behind the oldest transaction (or the next XID): holds
    /// dead rows of every table.
    DeferCleanupAge,
}

/// The XID a blocker holds and how far behind it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Horizon {
    pub source: HorizonSource,
    /// The 32-bit XID, as `VACUUM (VERBOSE)` prints its "oldest xmin" / "removable cutoff";
    /// absent for temporary tables (the snapshot keeps their age only).
    pub xid: Option<i64>,
    /// `age()` of that XID: how many transactions behind the horizon is held.
    pub age: i64,
}

/// Who holds the horizon, in the words of the view it comes from.
#[derive(Debug, Clone, PartialEq)]
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
        /// What it runs: a backup and a maintenance command are ended only when named.
        activity: Activity,
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
        owner_status: OwnerStatus,
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
        /// Its value: how many XIDs it moves the horizon back.
        value: i64,
        /// The holder it moves the horizon back from (the oldest transaction), when there is
        /// one; otherwise it counts back from the next XID.
        behind: Option<String>,
    },
}

/// Whether a temp schema's owner is proven.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OwnerStatus {
    Known,
    #[default]
    Unknown,
}

/// SQL that releases a blocker, where to run it, and what it costs.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// One line: what the action does.
    pub summary: String,
    /// Statements to run one by one (not in one transaction block). Empty when there is
    /// nothing pgvac can safely offer (the cost says what is missing).
    pub statements: Vec<String>,
    /// Where to run them.
    pub run_on: RunOn,
    /// What it costs.
    pub cost: String,
    pub safety: Safety,
    /// It ends a session or a transaction, or drops something.
    pub destructive: bool,
    /// A reload (or nothing) before it takes effect.
    pub needs: Needs,
    /// The lock its statements take, where that matters.
    pub lock: Option<String>,
    /// The session this action signals, and the identity its statement rechecks; absent for
    /// actions that signal no session.
    pub signal: Option<SessionSignal>,
}

impl SessionSignal {
    /// An action that sends this signal.
    /// An action that sends this signal, from any database of this server.
    fn action(self, summary: String, cost: &str, safety: Safety) -> Action {
        Action {
            summary,
            statements: vec![self.sql()],
            run_on: RunOn::Server,
            cost: cost.to_string(),
            safety,
            destructive: true,
            needs: Needs::None,
            lock: None,
            signal: Some(self),
        }
    }
}

/// What a client session is doing, as far as pgvac can tell (its `application_name` and the
/// start of its query; unknown when they are hidden).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Activity {
    /// An ordinary transaction, or one pgvac cannot see.
    #[default]
    Transaction,
    /// A backup: `pg_dump`/`pg_dumpall` (by `application_name`), or a `COPY ... TO STDOUT`, the
    /// shape of pg_dump's data phase. `--terminate` ends it only when named with `--pid`.
    Backup,
    /// A maintenance command run in a client session: `VACUUM` (one not in
    /// `pg_stat_progress_vacuum`: `VACUUM FULL`, or a lazy one waiting for its lock or in its
    /// ANALYZE phase), `ANALYZE`, `CLUSTER`, `REINDEX`, `CREATE INDEX`. `--terminate` ends it
    /// only when named with `--pid`.
    Maintenance,
}

impl Activity {
    /// Whether `--terminate` leaves it alone unless named with `--pid`.
    pub fn only_by_pid(self) -> bool {
        self != Activity::Transaction
    }
}

/// One thing holding vacuum back.
#[derive(Debug, Clone, PartialEq)]
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
    /// A time by which the horizon was already held at `horizon.xid`, where the views prove
    /// one: it has not moved since. For a session idle in transaction, `state_change` (nothing
    /// takes a snapshot while idle); for a running one, `query_start` (its statement's snapshot,
    /// or an older one, holds it); a prepared transaction's `prepared`; an inactive slot's
    /// `inactive_since` (17+). Unknown for hidden sessions, active slots, standbys and
    /// `vacuum_defer_cleanup_age`, whose horizons move. Every row deleted after this time is
    /// one no vacuum can remove while the blocker holds (see [`pinned_tables`]).
    pub fixed_since: Option<DateTime<Utc>>,
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
    /// itself, or the proven owner of a temporary table.
    pub fn session_pid(&self) -> Option<i32> {
        match &self.holder {
            Holder::Session { pid, .. } => Some(*pid),
            Holder::TempTable { owner_pid, .. } => *owner_pid,
            _ => None,
        }
    }

    /// A session that may own this blocker's temporary tables without proof: never a target.
    pub fn candidate_pid(&self) -> Option<i32> {
        match &self.holder {
            Holder::TempTable { candidate_pid, .. } => *candidate_pid,
            _ => None,
        }
    }

    /// What the session of a session blocker runs.
    pub fn activity(&self) -> Activity {
        match &self.holder {
            Holder::Session { activity, .. } => *activity,
            _ => Activity::Transaction,
        }
    }

    /// The action that terminates the blocker's session, when pgvac can offer one.
    pub fn terminate_signal(&self) -> Option<&SessionSignal> {
        self.actions
            .iter()
            .filter_map(|a| a.signal.as_ref())
            .find(|s| s.kind == SignalKind::Terminate)
    }
}

/// Every blocker in the snapshot, the one holding the horizon furthest behind first.
pub fn find_blockers(snapshot: &Snapshot, thresholds: &Thresholds) -> Vec<Blocker> {
    crate::analysis::computed::count(crate::analysis::computed::Step::Blockers);
    let now = snapshot.server.collected_at;
    let mut blockers = Vec::new();
    // A lazy VACUUM's xmin is skipped by the server: every pid in pg_stat_progress_vacuum.
    let vacuuming: Vec<i32> = snapshot.running_vacuums.iter().map(|v| v.pid).collect();
    for session in &snapshot.sessions {
        if vacuuming.contains(&session.pid) {
            continue;
        }
        if let Some(blocker) = session_blocker(session, now, thresholds, &snapshot.role.name) {
            blockers.push(blocker);
        }
    }
    for prepared in &snapshot.prepared_transactions {
        blockers.push(prepared_blocker(prepared, now, thresholds));
    }
    for slot in &snapshot.replication_slots {
        if slot_is_invalidated(slot, snapshot.server.major()) {
            continue;
        }
        if let Some(blocker) = slot_blocker(slot, snapshot, now, thresholds) {
            blockers.push(blocker);
        }
    }
    blockers.extend(defer_blocker(snapshot, thresholds));
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

/// Whether an autovacuum worker's query says it runs a lazy VACUUM without ANALYZE: the server
/// then ignores its xmin (PROC_IN_VACUUM) even before it shows in `pg_stat_progress_vacuum`
/// (while it opens and locks the table). `VACUUM ANALYZE` holds the horizon in its ANALYZE
/// phase, and is only exempt while in that view.
fn is_lazy_vacuum(session: &Session) -> bool {
    let query = session.query.as_deref().unwrap_or("").trim_start();
    let upper = query
        .get(..query.len().min(64))
        .unwrap_or("")
        .to_uppercase();
    session.backend_type.as_deref() == Some("autovacuum worker")
        && upper.starts_with("AUTOVACUUM: VACUUM")
        && !upper.starts_with("AUTOVACUUM: VACUUM ANALYZE")
}

/// The first words of a query, upper-cased, after whitespace and comments.
fn leading_words(query: &str) -> String {
    let mut rest = query;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, tail)| tail);
        } else if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, tail)| tail);
        } else {
            break;
        }
    }
    rest.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// The maintenance command a query runs, for a person: `VACUUM FULL`, `CREATE INDEX`, ...
fn maintenance_command(query: &str) -> String {
    let words = leading_words(query);
    for two in ["CREATE UNIQUE INDEX", "CREATE INDEX"] {
        if words.starts_with(two) {
            return two.to_string();
        }
    }
    if words.starts_with("VACUUM") {
        return if vacuum_is_full(query) {
            "VACUUM FULL".to_string()
        } else {
            "VACUUM".to_string()
        };
    }
    words.split_whitespace().next().unwrap_or("").to_string()
}

/// Whether a `VACUUM` statement asks for `FULL` (`VACUUM FULL t` or `VACUUM (FULL, ...) t`).
fn vacuum_is_full(query: &str) -> bool {
    let upper = query.to_uppercase();
    let Some(at) = upper.find("VACUUM") else {
        return false;
    };
    let rest = upper[at + "VACUUM".len()..].trim_start();
    if let Some(options) = rest.strip_prefix('(') {
        let options = options.split(')').next().unwrap_or("");
        return options.split(',').any(|option| {
            let mut words = option.split_whitespace();
            words.next() == Some("FULL") && !matches!(words.next(), Some("FALSE" | "OFF" | "0"))
        });
    }
    rest.split_whitespace().next() == Some("FULL")
}

/// What a client session runs, from its application name and the start of its query.
pub fn activity_of(session: &Session) -> Activity {
    let application = session.application_name.as_deref().unwrap_or("");
    if application.starts_with("pg_dump") {
        return Activity::Backup;
    }
    if session.redacted {
        return Activity::Transaction;
    }
    let words = leading_words(session.query.as_deref().unwrap_or(""));
    let query_upper = session.query.as_deref().unwrap_or("").to_uppercase();
    if words.starts_with("COPY ") && query_upper.contains(" TO STDOUT") {
        return Activity::Backup;
    }
    const MAINTENANCE: &[&str] = &[
        "VACUUM",
        "ANALYZE",
        "ANALYSE",
        "CLUSTER",
        "REINDEX",
        "CREATE INDEX",
        "CREATE UNIQUE INDEX",
    ];
    let first = |word: &str| {
        words == word
            || words.starts_with(&format!("{word} "))
            || words.starts_with(&format!("{word}("))
            || words.starts_with(&format!("{word};"))
    };
    if MAINTENANCE.iter().any(|w| first(w)) {
        return Activity::Maintenance;
    }
    Activity::Transaction
}

fn session_blocker(
    session: &Session,
    now: DateTime<Utc>,
    t: &Thresholds,
    role: &str,
) -> Option<Blocker> {
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
    // itself: routine, and never a session to end. The server does not ignore it (on no
    // version), so one that has held its transaction past the threshold is worth a look.
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
                duration(idle),
                duration(t.idle_in_transaction_secs)
            ),
        ));
    }
    if let Some(held) = held_secs.filter(|&h| h > t.transaction_secs) {
        extra.push((
            Severity::Warning,
            format!(
                "transaction open for {} (over {})",
                duration(held),
                duration(t.transaction_secs)
            ),
        ));
    }
    let (severity, mut reasons) = grade(age, t, extra);
    if session.redacted {
        reasons.push(
            "its state and times are hidden from pgvac's role (GRANT pg_monitor)".to_string(),
        );
    }
    let client = backend_type == Some("client backend");
    let activity = if client {
        activity_of(session)
    } else {
        Activity::Transaction
    };
    match activity {
        Activity::Backup => reasons.push(
            "a backup (pg_dump, or a COPY ... TO STDOUT): ending it fails the backup, so \
             --terminate leaves it alone unless it is named with --pid"
                .to_string(),
        ),
        Activity::Maintenance => {
            reasons.push(
                "a maintenance command: --terminate leaves it alone unless it is named with --pid"
                    .to_string(),
            );
            match maintenance_command(session.query.as_deref().unwrap_or("")).as_str() {
                "VACUUM FULL" => reasons.push(
                    "VACUUM FULL holds the horizon while it rewrites the table, unlike a lazy \
                     VACUUM"
                        .to_string(),
                ),
                "VACUUM" => reasons.push(
                    "a lazy VACUUM not (yet) in pg_stat_progress_vacuum: while it waits for its \
                     lock the server already ignores it (PROC_IN_VACUUM), in its ANALYZE phase \
                     it holds the horizon, so this one may hold nothing back"
                        .to_string(),
                ),
                _ => {}
            }
        }
        Activity::Transaction => {}
    }
    let who = format!(
        "{}@{}",
        session.user.as_deref().unwrap_or("?"),
        session.database.as_deref().unwrap_or("?")
    );
    let mut identity = format!("pid {} ({who})", session.pid);
    if let Some(kind) = backend_type.filter(|_| !client) {
        identity.push_str(&format!(", {kind}"));
    }
    match activity {
        Activity::Backup => identity.push_str(", a backup"),
        Activity::Maintenance => identity.push_str(&format!(
            ", maintenance ({})",
            maintenance_command(session.query.as_deref().unwrap_or(""))
        )),
        Activity::Transaction => {}
    }
    let mut actions = Vec::new();
    match session.backend_start {
        Some(backend_start) => {
            let signal = |kind| SessionSignal {
                kind,
                pid: session.pid,
                backend_start,
                same_transaction: true,
                xact_start: session.xact_start,
            };
            if !idle_in_transaction && state == Some("active") {
                actions.push(signal(SignalKind::Cancel).action(
                    format!("cancel the running statement of pid {}", session.pid),
                    "the statement fails and its transaction is rolled back; the session stays \
                     connected (if its client then starts a new transaction, the horizon moves on)",
                    Safety::NeedsCare,
                ));
            }
            actions.push(signal(SignalKind::Terminate).action(
                format!("terminate pid {}", session.pid),
                "ends the session: its open transaction is rolled back and its client loses \
                 the connection",
                Safety::NeedsCare,
            ));
        }
        None => actions.push(Action {
            summary: format!(
                "pid {} cannot be identified safely, so pgvac offers no statement to end it",
                session.pid
            ),
            statements: Vec::new(),
            run_on: RunOn::Server,
            destructive: false,
            needs: Needs::None,
            lock: None,
            cost: format!(
                "its start time is hidden from role {}, and without it a statement could signal \
                 another session that reused the pid: GRANT pg_read_all_stats TO {} (or \
                 pg_monitor), then run pgvac again",
                quote_ident(role),
                quote_ident(role)
            ),
            safety: Safety::DisplayOnly,
            signal: None,
        }),
    }
    if let Some(other) = backend_type.filter(|_| !client) {
        for action in &mut actions {
            action.safety = Safety::DisplayOnly;
            action.cost.push_str(&format!(
                "; this is a {} process, not a client session: find out why it holds a \
                 transaction first",
                other
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
        fixed_since: if session.redacted {
            None
        } else if idle_in_transaction {
            session.state_change
        } else if state == Some("active") && session.backend_xmin.is_some() {
            session.query_start
        } else {
            None
        },
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
            activity,
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
                duration(held),
                duration(t.transaction_secs)
            ),
        ));
    }
    let (severity, reasons) = grade(p.xid_age, t, extra);
    let gid = quote_literal(&p.gid);
    let run_on = RunOn::DatabaseAs {
        database: p.database.clone(),
        role: p.owner.clone(),
    };
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
        fixed_since: Some(p.prepared),
        held_secs,
        idle_secs: None,
        severity,
        reasons,
        actions: vec![
            Action {
                summary: format!("roll back prepared transaction {gid}"),
                statements: vec![format!("ROLLBACK PREPARED {gid};")],
                run_on: run_on.clone(),
                destructive: true,
                needs: Needs::None,
                lock: None,
                cost: "its changes are discarded; the transaction manager that prepared it \
                       must learn of it (its owner decides between rollback and commit)"
                    .to_string(),
                safety: Safety::NeedsCare,
                signal: None,
            },
            Action {
                summary: format!("commit prepared transaction {gid}"),
                statements: vec![format!("COMMIT PREPARED {gid};")],
                run_on,
                destructive: true,
                needs: Needs::None,
                lock: None,
                cost: "its changes become visible; only if its owner decided to commit".to_string(),
                safety: Safety::NeedsCare,
                signal: None,
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
            run_on: RunOn::Standby {
                standby: standby.to_string(),
            },
            destructive: false,
            needs: Needs::Reload,
            lock: None,
            cost: "queries on the standby may then be cancelled by recovery conflicts \
                   (max_standby_streaming_delay decides when)"
                .to_string(),
            safety: Safety::NeedsCare,
            signal: None,
        },
        Action {
            summary: "find the standby session holding the oldest snapshot, and end it with \
                      `pgvac sessions --terminate --pid PID` run against the standby"
                .to_string(),
            statements: vec![
                "SELECT pid, usename, state, xact_start, backend_xmin FROM pg_stat_activity \
                 WHERE backend_xmin IS NOT NULL ORDER BY age(backend_xmin) DESC;"
                    .to_string(),
            ],
            run_on: RunOn::Standby {
                standby: standby.to_string(),
            },
            destructive: false,
            needs: Needs::None,
            lock: None,
            cost: "ending that standby session rolls back its transaction and its client loses \
                   the connection; pgvac on the standby ends it with a statement that rechecks \
                   its identity"
                .to_string(),
            safety: Safety::DisplayOnly,
            signal: None,
        },
    ]
}

fn slot_blocker(
    slot: &ReplicationSlot,
    snapshot: &Snapshot,
    now: DateTime<Utc>,
    t: &Thresholds,
) -> Option<Blocker> {
    let standbys = &snapshot.standbys;
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
                    duration(secs),
                    duration(t.transaction_secs)
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
            (Some(db), "logical") => RunOn::database(db),
            _ => RunOn::Server,
        },
        destructive: true,
        needs: Needs::None,
        lock: None,
        cost: if slot.slot_type == "logical" {
            "its consumer (subscription, CDC tool) loses its position: changes not yet \
             consumed are lost to it and it must be re-synchronized"
                .to_string()
        } else {
            "its standby loses its reserved WAL and may need to be rebuilt".to_string()
        },
        safety: Safety::NeedsCare,
        signal: None,
    };
    let actions = match (slot.active, standby) {
        (false, _) => vec![drop],
        (true, Some(standby)) => standby_actions(&standby_name(standby)),
        (true, None) => {
            let consumer = slot
                .active_pid
                .and_then(|pid| snapshot.sessions.iter().find(|s| s.pid == pid));
            let drop_slot = format!("SELECT pg_drop_replication_slot({name});");
            let summary = format!(
                "the consumer (pid {}) is connected but behind: fix or stop it, then drop the slot",
                slot.active_pid.map_or("?".to_string(), |p| p.to_string())
            );
            let cost = "an active slot cannot be dropped; its consumer reconnects unless it is \
                        stopped first, and loses its position once the slot is dropped";
            match consumer.and_then(|c| c.backend_start.map(|start| (c.pid, start))) {
                Some((pid, backend_start)) => {
                    let signal = SessionSignal {
                        kind: SignalKind::Terminate,
                        pid,
                        backend_start,
                        same_transaction: false,
                        xact_start: None,
                    };
                    let mut action = signal.action(summary, cost, Safety::DisplayOnly);
                    action.statements.push(drop_slot);
                    vec![action]
                }
                None => vec![Action {
                    summary,
                    statements: vec![drop_slot],
                    run_on: RunOn::Server,
                    destructive: true,
                    needs: Needs::None,
                    lock: None,
                    cost: format!(
                        "{cost}; the consumer's start time is not in the snapshot, so pgvac \
                         offers no statement to end it"
                    ),
                    safety: Safety::DisplayOnly,
                    signal: None,
                }],
            }
        }
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
        // An inactive slot's xmin does not move until a consumer connects again.
        fixed_since: slot.inactive_since.filter(|_| !slot.active),
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
        fixed_since: None,
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

/// Whether the server has invalidated `slot`, and so ignores its `xmin` and `catalog_xmin`
/// when it computes the horizon (`ReplicationSlotsComputeRequiredXmin`, slot.c), although
/// `pg_replication_slots` still shows them:
/// - 13-15 skip a slot whose `invalidated_at` is set and whose `restart_lsn` is cleared, which
///   only the invalidation for removed WAL (`max_slot_wal_keep_size`) does; the view then says
///   `wal_status = 'lost'` with no `restart_lsn`;
/// - 16 skip every slot with an invalidation cause, and the view says `lost` for each (causes
///   other than removed WAL keep the `restart_lsn`);
/// - 17+ say the cause in `invalidation_reason` (18 adds `idle_timeout`, which keeps the
///   `restart_lsn` too).
///
/// A slot whose WAL the view calls lost while its `restart_lsn` is still set (13-15) is not
/// invalidated yet, and still holds the horizon. 12 has no invalidation.
pub fn slot_is_invalidated(slot: &ReplicationSlot, major: i32) -> bool {
    let lost = slot.wal_status.as_deref() == Some("lost");
    slot.invalidation_reason.is_some() || (lost && (slot.restart_lsn.is_none() || major == 16))
}

/// The first normal XID: the server never moves a horizon below it.
const FIRST_NORMAL_XID: i64 = 3;

/// The horizon `vacuum_defer_cleanup_age` makes of the oldest XID a transaction holds, as the
/// server computes it (procarray.c): 12-13 subtract in 32 bits (`GetOldestXmin`), so a value
/// larger than the XIDs used so far wraps around to just below 2^32, and a result that is not a
/// normal XID becomes 3; 14-15 stop at 3 when the 64-bit XID would go below it
/// (`TransactionIdRetreatSafely`). `xid` is `behind` XIDs older than `next_xid` (64-bit).
/// Returns the 32-bit XID and how far behind `next_xid` it is.
fn defer_cutoff(major: i32, next_xid: i64, xid: i64, behind: i64, defer: i64) -> (i64, i64) {
    let full = next_xid - behind;
    if major >= 14 && full - FIRST_NORMAL_XID <= defer {
        return (FIRST_NORMAL_XID, next_xid - FIRST_NORMAL_XID);
    }
    let cutoff = (xid - defer).rem_euclid(1 << 32);
    (cutoff.max(FIRST_NORMAL_XID), behind + defer)
}

/// 12-15: `vacuum_defer_cleanup_age` as a blocker of its own. The server subtracts it from the
/// oldest XID any transaction holds (every process but lazy vacuums and logical decoding:
/// sessions, prepared transactions, walsenders with a standby's feedback), or from the next XID
/// when none does, before it applies the slots' xmins, which it does not move (procarray.c:
/// `GetOldestXmin` 12-13, `ComputeXidHorizons` 14-15). It does not apply it on a standby. The
/// oldest transaction is taken cluster-wide: exact for the shared catalogs and that
/// transaction's database; other databases count back from their own oldest, a newer XID.
fn defer_blocker(snapshot: &Snapshot, t: &Thresholds) -> Option<Blocker> {
    let major = snapshot.server.major();
    if !(12..=15).contains(&major) || snapshot.server.in_recovery {
        return None;
    }
    let defer = snapshot
        .setting("vacuum_defer_cleanup_age")?
        .setting
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|&d| d > 0)?;
    let next_xid = snapshot.server.next_xid;
    let next32 = next_xid.rem_euclid(1 << 32);
    let behind = |xid: i64| (next32 - xid).rem_euclid(1 << 32);
    let vacuuming: Vec<i32> = snapshot.running_vacuums.iter().map(|v| v.pid).collect();
    // (XID, how far behind the next XID, who holds it)
    let mut oldest: (i64, i64, Option<String>) = (next32, 0, None);
    let mut consider = |xid: i64, who: String| {
        let distance = behind(xid);
        if distance < 1 << 31 && distance > oldest.1 {
            oldest = (xid, distance, Some(who));
        }
    };
    for session in &snapshot.sessions {
        if session.is_pgvac
            || vacuuming.contains(&session.pid)
            || is_lazy_vacuum(session)
            || session.backend_type.as_deref() == Some("walsender")
        {
            continue;
        }
        for xid in [session.backend_xid, session.backend_xmin]
            .into_iter()
            .flatten()
        {
            consider(xid, format!("pid {}", session.pid));
        }
    }
    for prepared in &snapshot.prepared_transactions {
        consider(
            prepared.xid,
            format!("prepared transaction {}", quote_literal(&prepared.gid)),
        );
    }
    for standby in &snapshot.standbys {
        if let Some(xmin) = standby.backend_xmin {
            consider(xmin, standby_name(standby));
        }
    }
    let (base, base_behind, who) = oldest;
    let (xid, age) = defer_cutoff(major, next_xid, base, base_behind, defer);
    let (severity, mut reasons) = grade(age, t, Vec::new());
    reasons.insert(
        0,
        match &who {
            Some(who) => format!(
                "the server keeps dead rows {defer} XIDs further back than the oldest \
                 transaction ({who}) needs"
            ),
            None => format!(
                "the server keeps the dead rows of the last {defer} transactions, whatever runs"
            ),
        },
    );
    if base_behind + defer > next_xid - FIRST_NORMAL_XID {
        reasons.push(if major >= 14 {
            "it is larger than the XIDs used since initdb: the horizon stays at XID 3, and \
             vacuum removes nothing deleted since"
                .to_string()
        } else {
            format!(
                "it is larger than the XIDs used since initdb: 12-13 subtract it in 32 bits, \
                 so the horizon wraps around to XID {xid}, which counts as older than every \
                 XID: vacuum removes nothing deleted since"
            )
        });
    }
    let managed = matches!(
        snapshot.server.platform.kind,
        crate::snapshot::PlatformKind::Rds | crate::snapshot::PlatformKind::Aurora
    );
    let cost = "standbys lose the margin it gave their queries, which recovery conflicts may then \
                cancel (max_standby_streaming_delay decides when): hot_standby_feedback, or a \
                replication slot, protects them instead (16 removed this setting)"
        .to_string();
    let action = if managed {
        Action {
            summary: "set vacuum_defer_cleanup_age = 0 in the DB parameter group (dynamic)"
                .to_string(),
            statements: Vec::new(),
            run_on: RunOn::ParameterGroup,
            cost,
            safety: Safety::DisplayOnly,
            destructive: false,
            needs: Needs::ParameterGroup,
            lock: None,
            signal: None,
        }
    } else {
        Action {
            summary: "set vacuum_defer_cleanup_age = 0 and reload".to_string(),
            statements: vec![
                "ALTER SYSTEM SET vacuum_defer_cleanup_age = 0;".to_string(),
                "SELECT pg_reload_conf();".to_string(),
            ],
            run_on: RunOn::Server,
            cost,
            safety: Safety::NeedsCare,
            destructive: false,
            needs: Needs::Reload,
            lock: None,
            signal: None,
        }
    };
    Some(Blocker {
        kind: BlockerKind::DeferCleanupAge,
        identity: format!("vacuum_defer_cleanup_age = {defer}"),
        database: None,
        horizon: Horizon {
            source: HorizonSource::DeferCleanupAge,
            xid: Some(xid),
            age,
        },
        since: None,
        fixed_since: None,
        held_secs: None,
        idle_secs: None,
        severity,
        reasons,
        actions: vec![action],
        holder: Holder::Setting {
            name: "vacuum_defer_cleanup_age".to_string(),
            value: defer,
            behind: who,
        },
    })
}

/// A temp schema is a blocker when its oldest table is at least as old as every other
/// relation of the database: once the rest is vacuumed, `datfrozenxid` stops there. An
/// orphaned one is a blocker whatever its age.
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
    let orphaned = matches!(schema.owner, TempOwner::Orphaned { .. });
    if !orphaned && oldest_other_age.is_some_and(|other| other > age) {
        return None;
    }
    let names: Vec<String> = tables.iter().map(|(_, name)| name.clone()).collect();
    let drop = Action {
        summary: format!("drop the temporary tables of {}", schema.schema),
        statements: vec![format!("DROP TABLE {};", names.join(", "))],
        run_on: RunOn::database(&database.name),
        destructive: true,
        needs: Needs::None,
        lock: Some("ACCESS EXCLUSIVE on the tables".to_string()),
        cost: match &schema.owner {
            TempOwner::Orphaned { .. } => "none: their owner is gone (autovacuum also drops them \
                                          once it visits this database)"
                .to_string(),
            TempOwner::Known { .. } => "the owning session loses these tables (its application \
                                        may fail); DROP waits for the owner's lock if it is using \
                                        them"
                .to_string(),
            TempOwner::Unknown { .. } => "if a session does own these tables it loses them (its \
                                          application may fail); if none does, nothing is lost. \
                                          DROP waits for any session using them"
                .to_string(),
        },
        safety: if orphaned {
            Safety::Safe
        } else {
            Safety::NeedsCare
        },
        signal: None,
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
    let crash_note = crash_restart(snapshot).map(|at| {
        format!(
            "the server restarted after a crash at {}: temporary tables left from before it have \
             no owner, and a session that got their backend id since is not their owner",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    });
    let never_vacuumed = "autovacuum never vacuums temporary tables: only their owner can, by \
                          vacuuming, dropping them or ending";
    let mut actions = Vec::new();
    let (identity, since, holder) = match &schema.owner {
        TempOwner::Known {
            pid,
            source,
            backend_start,
            proof,
        } => {
            let pid = *pid;
            let owner = snapshot
                .sessions
                .iter()
                .find(|s| s.pid == pid && s.backend_start == *backend_start);
            if let Some(backend_start) = *backend_start {
                let signal = SessionSignal {
                    kind: SignalKind::Terminate,
                    pid,
                    backend_start,
                    same_transaction: false,
                    xact_start: None,
                };
                actions.push(signal.action(
                    format!("end the owner, pid {pid}"),
                    "ends the session: its temporary tables are dropped, its open transaction \
                     is rolled back and its client loses the connection",
                    Safety::NeedsCare,
                ));
            }
            reasons.push(never_vacuumed.to_string());
            reasons.push(format!("owner proven: {proof}"));
            let user = owner.and_then(|s| s.user.clone());
            (
                format!(
                    "{} in {}, owner pid {pid}{}",
                    schema.schema,
                    database.name,
                    user.as_deref()
                        .map(|u| format!(" ({u})"))
                        .unwrap_or_default()
                ),
                *backend_start,
                Holder::TempTable {
                    schema: schema.schema.clone(),
                    tables: names,
                    owner_pid: Some(pid),
                    owner_source: Some(source.clone()),
                    owner_backend_start: *backend_start,
                    owner_user: user,
                    owner_status: OwnerStatus::Known,
                    candidate_pid: None,
                    ownership: proof.clone(),
                    oldest_other_age,
                },
            )
        }
        TempOwner::Unknown { candidate, reason } => {
            reasons.push(never_vacuumed.to_string());
            reasons.push(format!("owner unknown: {reason}"));
            reasons.extend(crash_note);
            let candidate_pid = candidate.as_ref().map(|c| c.pid);
            (
                format!(
                    "{} in {}, owner unknown{}",
                    schema.schema,
                    database.name,
                    candidate_pid
                        .map(|pid| format!(" (candidate pid {pid}, not proven)"))
                        .unwrap_or_default()
                ),
                None,
                Holder::TempTable {
                    schema: schema.schema.clone(),
                    tables: names,
                    owner_pid: None,
                    owner_source: None,
                    owner_backend_start: None,
                    owner_user: None,
                    owner_status: OwnerStatus::Unknown,
                    candidate_pid,
                    ownership: reason.clone(),
                    oldest_other_age,
                },
            )
        }
        TempOwner::Orphaned { reason } => {
            reasons.push(format!("no live session owns these tables: {reason}"));
            reasons.extend(crash_note);
            return Some(Blocker {
                kind: BlockerKind::OrphanedTempSchema,
                identity: format!(
                    "orphaned temp schema {} in {}",
                    schema.schema, database.name
                ),
                database: Some(database.name.clone()),
                horizon,
                since: None,
                fixed_since: None,
                held_secs: None,
                idle_secs: None,
                severity,
                reasons,
                actions: vec![drop],
                holder: Holder::OrphanedTempSchema {
                    schema: schema.schema.clone(),
                    tables: names,
                    ownership: reason.clone(),
                },
            });
        }
    };
    actions.push(drop);
    Some(Blocker {
        kind: BlockerKind::TempTable,
        identity,
        database: Some(database.name.clone()),
        horizon,
        since,
        fixed_since: None,
        held_secs: None,
        idle_secs: None,
        severity,
        reasons,
        actions,
        holder,
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
            role_settings: None,
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

    fn running_vacuum(pid: i32) -> crate::snapshot::RunningVacuum {
        crate::snapshot::RunningVacuum {
            pid,
            database: Some("shop".into()),
            relid: Some(1),
            relation: None,
            phase: None,
            is_autovacuum: None,
            is_wraparound: None,
            backend_type: None,
            query: None,
            started_at: None,
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
        }
    }

    /// Another role's session as a role without pg_read_all_stats sees it.
    pub fn hidden(pid: i32, xmin_age: i64) -> Session {
        Session {
            user: Some("batch".into()),
            backend_type: None,
            state: None,
            backend_start: None,
            xact_start: None,
            query_start: None,
            state_change: None,
            backend_xmin: Some(100),
            backend_xmin_age: Some(xmin_age),
            query: Some("<insufficient privilege>".into()),
            redacted: true,
            ..session(pid)
        }
    }

    #[test]
    fn every_pid_in_pg_stat_progress_vacuum_is_skipped_as_the_server_skips_it() {
        let manual = Session {
            state: Some("active".into()),
            xact_start: Some(at(7200)),
            backend_xmin: Some(100),
            backend_xmin_age: Some(900_000_000),
            query: Some("VACUUM big".into()),
            ..session(1)
        };
        let mut snap = snapshot(vec![manual.clone(), hidden(2, 900_000_000)]);
        snap.running_vacuums = vec![running_vacuum(1), running_vacuum(2)];
        assert!(find_blockers(&snap, &Thresholds::default()).is_empty());
        // Out of that view (waiting for its lock, or VACUUM FULL) it may hold the horizon: a
        // blocker, named as maintenance.
        snap.running_vacuums.clear();
        let blockers = find_blockers(&snap, &Thresholds::default());
        let manual = blockers
            .iter()
            .find(|b| b.session_pid() == Some(1))
            .unwrap();
        assert_eq!(manual.activity(), Activity::Maintenance);
        assert!(
            manual.identity.ends_with("maintenance (VACUUM)"),
            "{}",
            manual.identity
        );
        // An autovacuum VACUUM ANALYZE holds the horizon in its ANALYZE phase (not in the view).
        let analyze_phase = Session {
            backend_type: Some("autovacuum worker".into()),
            query: Some("autovacuum: VACUUM ANALYZE public.t".into()),
            state: Some("active".into()),
            xact_start: Some(at(7200)),
            backend_xmin: Some(800),
            backend_xmin_age: Some(200),
            ..session(3)
        };
        let blockers = find_blockers(&snapshot(vec![analyze_phase]), &Thresholds::default());
        assert_eq!(blockers.len(), 1);
    }

    #[test]
    fn maintenance_commands_are_named() {
        for (query, name) in [
            ("VACUUM big", "VACUUM"),
            ("vacuum (verbose, analyze) big", "VACUUM"),
            ("VACUUM FULL big", "VACUUM FULL"),
            ("/* x */ vacuum (verbose, full) big", "VACUUM FULL"),
            ("VACUUM (FULL false) big", "VACUUM"),
            (
                "create unique index concurrently i on t (a)",
                "CREATE UNIQUE INDEX",
            ),
            ("REINDEX TABLE t", "REINDEX"),
        ] {
            assert_eq!(maintenance_command(query), name, "{query}");
        }
    }

    #[test]
    fn backups_and_maintenance_are_named_as_such() {
        let with = |application: &str, query: &str| Session {
            application_name: Some(application.into()),
            query: Some(query.into()),
            ..session(1)
        };
        for (session, activity) in [
            (with("pg_dump", "SELECT 1"), Activity::Backup),
            (with("pg_dumpall", "SELECT 1"), Activity::Backup),
            (
                with("psql", "COPY public.t (a) TO stdout;"),
                Activity::Backup,
            ),
            (
                with("psql", "/* nightly */ vacuum (full) big"),
                Activity::Maintenance,
            ),
            (with("psql", "-- stats\nANALYZE big"), Activity::Maintenance),
            (
                with("psql", "CREATE INDEX CONCURRENTLY i ON t (a)"),
                Activity::Maintenance,
            ),
            (with("psql", "COPY t FROM stdin"), Activity::Transaction),
            (
                with("web", "SELECT * FROM vacuum_log"),
                Activity::Transaction,
            ),
            (with("web", "ANALYZED_ROWS"), Activity::Transaction),
        ] {
            assert_eq!(activity_of(&session), activity, "{session:?}");
        }
    }

    #[test]
    fn a_session_whose_identity_is_hidden_is_offered_no_signal() {
        let blockers = find_blockers(
            &snapshot(vec![hidden(7, 600_000_000)]),
            &Thresholds::default(),
        );
        let blocker = &blockers[0];
        assert_eq!(blocker.severity, Severity::Warning);
        assert!(blocker.terminate_signal().is_none());
        assert_eq!(blocker.actions.len(), 1);
        assert!(blocker.actions[0].statements.is_empty());
        assert_eq!(blocker.actions[0].safety, Safety::DisplayOnly);
        assert!(
            blocker.actions[0]
                .cost
                .contains("GRANT pg_read_all_stats TO postgres"),
            "{:?}",
            blocker.actions[0]
        );
    }

    #[test]
    fn a_standby_and_an_active_slot_get_no_bare_signal() {
        let mut snap = snapshot(vec![Session {
            backend_type: Some("walsender".into()),
            ..session(77)
        }]);
        snap.replication_slots = vec![slot("cdc", "logical", true)];
        snap.standbys = vec![standby(78, "replica78", Some(400))];
        for blocker in find_blockers(&snap, &Thresholds::default()) {
            for statement in blocker.actions.iter().flat_map(|a| &a.statements) {
                assert!(
                    !statement.contains("_backend(")
                        || statement.contains("_backend(pid) FROM pg_stat_activity WHERE pid = "),
                    "{statement}"
                );
            }
            if blocker.kind == BlockerKind::ReplicationSlot {
                assert_eq!(blocker.terminate_signal().map(|s| s.pid), Some(77));
            }
        }
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
        assert!(
            physical.actions[0]
                .run_on
                .to_string()
                .contains("standby \"replica1\"")
        );
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
            guarded_signal_sql("pg_terminate_backend", 42, at(0), Some(None)),
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
            relation_locks: Vec::new(),
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

    pub fn proven(pid: i32) -> TempOwner {
        TempOwner::Known {
            pid,
            source: "index_lock".into(),
            backend_start: Some(at(7200)),
            proof: "holds AccessShareLock on btree index pg_temp_3.scratch_pkey".into(),
        }
    }

    pub fn candidate(pid: i32) -> TempOwner {
        TempOwner::Unknown {
            candidate: Some(TempCandidate {
                pid,
                backend_start: Some(at(7200)),
            }),
            reason: format!("pid {pid} has backend id 3 in this database, but it is idle"),
        }
    }

    pub fn orphaned() -> TempOwner {
        TempOwner::Orphaned {
            reason: "no session connected to this database has backend id 3".into(),
        }
    }

    #[test]
    fn a_temp_table_older_than_everything_else_pins_datfrozenxid() {
        let mut snap = snapshot(vec![session(4242)]);
        snap.databases = vec![temp_database(proven(4242), 900, 100)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert_eq!(blockers.len(), 1);
        assert_eq!(blockers[0].kind, BlockerKind::TempTable);
        assert_eq!(blockers[0].session_pid(), Some(4242));
        assert!(blockers[0].identity.contains("owner pid 4242"));
        // The terminate statement rechecks the owner's identity as read with the proof.
        let signal = blockers[0].terminate_signal().unwrap();
        assert_eq!((signal.pid, signal.backend_start), (4242, at(7200)));
        assert_eq!(
            blockers[0].actions[1].statements,
            ["DROP TABLE pg_temp_3.scratch;"]
        );
        // Younger than a permanent table: not what pins datfrozenxid.
        snap.databases = vec![temp_database(proven(4242), 50, 100)];
        assert!(find_blockers(&snap, &Thresholds::default()).is_empty());
        // A session with the backend id is only a candidate: named, never a target.
        snap.databases = vec![temp_database(candidate(4242), 900, 100)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert!(
            blockers[0]
                .identity
                .ends_with("owner unknown (candidate pid 4242, not proven)"),
            "{}",
            blockers[0].identity
        );
        assert_eq!(blockers[0].session_pid(), None);
        assert_eq!(blockers[0].candidate_pid(), Some(4242));
        assert!(blockers[0].terminate_signal().is_none());
        assert!(
            blockers[0]
                .actions
                .iter()
                .all(|a| a.statements.iter().all(|s| !s.contains("pg_terminate")))
        );
        // Owner unknown with no candidate (12-15 outside a transaction): said, never guessed.
        snap.databases = vec![temp_database(
            TempOwner::Unknown {
                candidate: None,
                reason: "1 session(s) are outside a transaction".into(),
            },
            900,
            100,
        )];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert!(blockers[0].identity.ends_with("owner unknown"));
        assert_eq!(blockers[0].session_pid(), None);
        // Orphaned: reported whatever its age, dropping is safe.
        snap.databases = vec![temp_database(orphaned(), 50, 100)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        assert_eq!(blockers[0].kind, BlockerKind::OrphanedTempSchema);
        assert_eq!(blockers[0].actions[0].safety, Safety::Safe);
    }

    #[test]
    fn invalidated_slots_are_not_blockers_as_the_server_skips_them() {
        let lost = |restart: Option<&str>, reason: Option<&str>| ReplicationSlot {
            wal_status: Some("lost".into()),
            restart_lsn: restart.map(str::to_string),
            invalidation_reason: reason.map(str::to_string),
            ..slot("s", "physical", false)
        };
        // 13-15: invalidated once restart_lsn is cleared; "lost" with a restart_lsn is not yet.
        assert!(slot_is_invalidated(&lost(None, None), 14));
        assert!(!slot_is_invalidated(&lost(Some("0/3000000"), None), 14));
        // 16: every cause says "lost", some keep the restart_lsn.
        assert!(slot_is_invalidated(&lost(Some("0/3000000"), None), 16));
        // 17+: the cause is named; 18's idle_timeout keeps the restart_lsn.
        assert!(slot_is_invalidated(
            &lost(Some("0/3000000"), Some("idle_timeout")),
            18
        ));
        assert!(!slot_is_invalidated(&slot("s", "physical", false), 18));
        let mut snap = snapshot(vec![]);
        snap.replication_slots = vec![lost(None, Some("wal_removed"))];
        snap.server.version_num = 170000;
        assert!(find_blockers(&snap, &Thresholds::default()).is_empty());
        snap.replication_slots = vec![slot("s", "physical", false)];
        assert_eq!(find_blockers(&snap, &Thresholds::default()).len(), 1);
    }

    #[test]
    fn defer_cleanup_age_moves_the_horizon_back_as_each_version_does() {
        // From the next XID when nothing runs.
        assert_eq!(defer_cutoff(15, 10_000, 10_000, 0, 100), (9_900, 100));
        // Past the XIDs used: 14-15 stop at 3, 12-13 wrap around in 32 bits.
        assert_eq!(defer_cutoff(14, 1_000, 1_000, 0, 2_000), (3, 997));
        assert_eq!(
            defer_cutoff(13, 1_000, 1_000, 0, 2_000),
            ((1 << 32) - 1_000, 2_000)
        );
        use crate::analysis::rules::blocking::fixture::session;
        use crate::analysis::rules::fixture::Fx;
        let defer = |major: i32| {
            let fx = Fx::new(major)
                .set("vacuum_defer_cleanup_age", "500")
                .with(|snap| snap.server.next_xid = 100_000);
            let mut s = session(&fx, 1, "idle in transaction", 60, 1_000);
            s.backend_xid = Some(fx.0.server.next_xid - 1_000);
            let snap = fx.with(|snap| snap.sessions.push(s)).done();
            let blockers = find_blockers(&snap, &Thresholds::default());
            let next = snap.server.next_xid;
            (next, blockers)
        };
        let (next, blockers) = defer(15);
        // 500 behind the oldest transaction, and first: it holds the oldest XID.
        assert_eq!(blockers[0].kind, BlockerKind::DeferCleanupAge);
        assert_eq!(blockers[0].horizon.xid, Some(next - 1_500));
        assert_eq!(blockers[0].horizon.age, 1_500);
        // Gone on 16.
        let (_, blockers) = defer(16);
        assert!(
            blockers
                .iter()
                .all(|b| b.kind != BlockerKind::DeferCleanupAge)
        );
    }

    #[test]
    fn a_table_vacuumed_after_the_horizon_was_fixed_is_pinned_by_it() {
        use crate::analysis::rules::blocking::fixture::session;
        use crate::analysis::rules::fixture::{Fx, T};
        // A session idle in transaction for `idle` s; `hot` vacuumed 30 s ago, `before` 10 min.
        let context_of = |idle: i64| {
            let fx = Fx::new(16);
            let now = fx.now();
            let s = session(&fx, 1, "idle in transaction", idle, 1_000);
            let table = |name: &str, ago: i64| {
                let mut t = T::new(name).rows(300).dead(50_000);
                t.0.stats.as_mut().unwrap().last_autovacuum =
                    Some(now - chrono::Duration::seconds(ago));
                t
            };
            fx.table(table("hot", 30))
                .table(table("before", 600))
                .with(|snap| snap.sessions.push(s))
                .done()
        };
        let snap = context_of(120);
        let context = crate::analysis::rules::Context::new(&snap);
        // Only the table vacuumed after the session went idle: the other's vacuum came first.
        assert_eq!(context.pinned.len(), 1, "{:?}", context.pinned);
        assert_eq!(context.pinned[0].name, "public.hot");
        assert_eq!(context.harm.len(), 1);
        // Judged by its harm: a warning, however young, and its reasons say why.
        let blocker = &context.blockers[context.harm[0].blocker];
        assert_eq!(blocker.severity, Severity::Warning);
        assert!(
            blocker
                .reasons
                .iter()
                .any(|r| r.contains("holds dead rows in app.public.hot")),
            "{:?}",
            blocker.reasons
        );
        // Fixed for less than a naptime (60 s): not judged yet; and 'hot' was vacuumed before.
        let snap = context_of(20);
        let context = crate::analysis::rules::Context::new(&snap);
        assert!(context.pinned.is_empty() && context.harm.is_empty());
    }
}
