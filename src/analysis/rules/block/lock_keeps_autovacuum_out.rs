//! A session holds a lock that keeps autovacuum off a table that is due.
//!
//! ## What it checks
//!
//! Granted locks that conflict with SHARE UPDATE EXCLUSIVE (the lock of every VACUUM and
//! ANALYZE: `ShareUpdateExclusiveLock`, `ShareLock`, `ShareRowExclusiveLock`, `ExclusiveLock`,
//! `AccessExclusiveLock`) on a table that autovacuum would vacuum or analyze now, held by a
//! transaction open for longer than `autovacuum_naptime` (autovacuum has visited the database
//! at least once since it began). One finding per holder, naming its tables.
//!
//! ## Why it matters
//!
//! Autovacuum's vacuums and analyzes, all but the anti-wraparound ones, take their lock with
//! `ConditionalLockRelationOid` and skip the table when it is not available ("skipping vacuum of
//! ... --- lock not available", logged at `log_autovacuum_min_duration`): the table stays due,
//! its dead rows grow, and it is skipped again at every visit for as long as the lock is held.
//! More workers or a larger cost budget cannot help, and CONFIG006 does not advise them for such
//! a table. An anti-wraparound vacuum waits for the lock instead, holding a worker meanwhile.
//! `CREATE INDEX CONCURRENTLY`, `ALTER TABLE`, `LOCK TABLE` and a manual `VACUUM` or `ANALYZE`
//! take these locks; a transaction keeps them until it ends.
//!
//! ## How it is computed
//!
//! Locks from `pg_locks` (`relation_locks` of the snapshot, read in each database's
//! transaction), tables from the autovacuum model (`vacuum_due` or `analyze_due`). A lock held by
//! a running vacuum (`pg_stat_progress_vacuum`) or an autovacuum worker is left out: the table is
//! being vacuumed. The holder's transaction age is `now - xact_start` (a prepared transaction's
//! `prepared` time); a holder whose start is hidden from pgvac's role counts.
//!
//! ## Fix
//!
//! End the holder's transaction: ask its owner to commit or roll back, or terminate it
//! (`pgvac sessions` shows it, with the guarded statement); a prepared transaction with `COMMIT
//! PREPARED` or `ROLLBACK PREPARED`. Autovacuum gets to the table at its next visit of the
//! database. For long DDL on large tables, run it when the table is not due, or vacuum the table
//! first.
//!
//! ## Version notes
//!
//! Same on 12-18 (`table_recheck_autovac` sets `VACOPT_SKIP_LOCKED` for every autovacuum but
//! the anti-wraparound one; `vacuum_open_relation` logs the skip).
//!
//! ## Source
//!
//! - PostgreSQL, "Explicit Locking" (the lock conflict table):
//!   https://www.postgresql.org/docs/current/explicit-locking.html
//! - `table_recheck_autovac` in src/backend/postmaster/autovacuum.c; `vacuum_open_relation` in
//!   src/backend/commands/vacuum.c.

use std::collections::BTreeMap;

use chrono::Duration;

use crate::analysis::autovacuum::VacuumReason;
use crate::analysis::findings::{Finding, Object, Recommendation, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::display_name;
use crate::snapshot::RelationLock;

pub const RULE: Rule = Rule {
    code: "BLOCK009",
    name: "lock-keeps-autovacuum-out",
    category: Category::Blockers,
    severity: Severity::Warning,
    source: include_str!("lock_keeps_autovacuum_out.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// The lock modes that conflict with SHARE UPDATE EXCLUSIVE.
const CONFLICTING: [&str; 5] = [
    "ShareUpdateExclusiveLock",
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// Whether `lock` keeps autovacuum off its table: a mode that conflicts with vacuum's, held by
/// anything but a vacuum, for longer than a naptime (or for an unknown time).
pub fn keeps_autovacuum_out(context: &Context, database: &str, lock: &RelationLock) -> bool {
    if !CONFLICTING.contains(&lock.mode.as_str()) {
        return false;
    }
    let snapshot = context.snapshot;
    let now = snapshot.server.collected_at;
    let naptime = Duration::from_std(context.settings.naptime).unwrap_or(Duration::minutes(1));
    match lock.pid {
        Some(pid) => {
            if snapshot.running_vacuums.iter().any(|r| r.pid == pid) {
                return false;
            }
            let session = snapshot.sessions.iter().find(|s| s.pid == pid);
            if session.is_some_and(|s| {
                s.is_pgvac || s.backend_type.as_deref() == Some("autovacuum worker")
            }) {
                return false;
            }
            session
                .and_then(|s| s.xact_start)
                .is_none_or(|start| now - start > naptime)
        }
        None => prepared(context, database, lock).is_none_or(|p| now - p.prepared > naptime),
    }
}

/// The prepared transaction holding `lock` (pid NULL, virtualtransaction `-1/<xid>`).
fn prepared<'c>(
    context: &'c Context,
    database: &str,
    lock: &RelationLock,
) -> Option<&'c crate::snapshot::PreparedTransaction> {
    let xid: i64 = lock
        .virtualtransaction
        .as_deref()?
        .strip_prefix("-1/")?
        .parse()
        .ok()?;
    context
        .snapshot
        .prepared_transactions
        .iter()
        .find(|p| p.database == database && p.xid == xid)
}

fn check(context: &Context) -> Vec<Finding> {
    if !context.settings.autovacuum_active() {
        return Vec::new();
    }
    let now = context.snapshot.server.collected_at;
    // (database, pid or virtualtransaction) -> the tables it keeps autovacuum off.
    type Held<'v> = Vec<(String, &'v str, &'static str)>;
    let mut holders: BTreeMap<(String, Option<i32>, String), Held> = BTreeMap::new();
    for view in context.tables() {
        let eval = view.autovacuum;
        if !eval.vacuum_due && !eval.analyze_due {
            continue;
        }
        let due = match eval.vacuum_reason() {
            Some(VacuumReason::Wraparound) => {
                "an anti-wraparound vacuum, which waits for the lock and holds a worker meanwhile"
            }
            Some(_) => "a vacuum, which skips it",
            None => "an analyze, which skips it",
        };
        for lock in view
            .database
            .relation_locks
            .iter()
            .filter(|l| l.relid == view.table.oid)
        {
            if !keeps_autovacuum_out(context, &view.database.name, lock) {
                continue;
            }
            holders
                .entry((
                    view.database.name.clone(),
                    lock.pid,
                    lock.virtualtransaction.clone().unwrap_or_default(),
                ))
                .or_default()
                .push((display_name(&view), lock.mode.as_str(), due));
        }
    }
    let mut out = Vec::new();
    for ((database, pid, virtualtransaction), tables) in holders {
        let listed: Vec<String> = tables
            .iter()
            .map(|(name, mode, due)| format!("{mode} on {name}, due for {due}"))
            .collect();
        let (object, holder, fix) = match pid {
            Some(pid) => {
                let session = context.snapshot.sessions.iter().find(|s| s.pid == pid);
                let mut about = Vec::new();
                if let Some(s) = session {
                    if let Some(app) = s.application_name.as_deref().filter(|a| !a.is_empty()) {
                        about.push(format!("application '{app}'"));
                    }
                    if let Some(user) = &s.user {
                        about.push(format!("user {user}"));
                    }
                    if let Some(state) = &s.state {
                        about.push(state.clone());
                    }
                    if let Some(start) = s.xact_start {
                        about.push(format!(
                            "transaction open {} min",
                            (now - start).num_minutes()
                        ));
                    }
                }
                let about = if about.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", about.join(", "))
                };
                (
                    Object::Session {
                        pid,
                        database: Some(database.clone()),
                    },
                    format!("pid {pid}{about}"),
                    format!(
                        "End the transaction of pid {pid}: ask its owner to commit or roll back, \
                         or terminate it (pgvac sessions shows it, with the guarded statement). \
                         Autovacuum gets to the table at its next visit of {database}; more \
                         workers or a larger cost budget would not."
                    ),
                )
            }
            None => {
                let lock = RelationLock {
                    relid: 0,
                    pid: None,
                    mode: String::new(),
                    virtualtransaction: Some(virtualtransaction.clone()),
                };
                match prepared(context, &database, &lock) {
                    Some(p) => (
                        Object::PreparedTransaction {
                            gid: p.gid.clone(),
                            database: database.clone(),
                        },
                        format!("prepared transaction '{}' (owner {})", p.gid, p.owner),
                        format!(
                            "COMMIT PREPARED or ROLLBACK PREPARED '{}' (whichever its \
                             application intended): until then autovacuum cannot work on the \
                             table.",
                            p.gid
                        ),
                    ),
                    None => (
                        Object::Database {
                            database: database.clone(),
                        },
                        format!("a prepared transaction ({virtualtransaction})"),
                        "Resolve the prepared transaction (pg_prepared_xacts): COMMIT PREPARED \
                         or ROLLBACK PREPARED."
                            .to_string(),
                    ),
                }
            }
        };
        let mut finding = RULE
            .finding(
                object,
                format!(
                    "{holder} holds {}: autovacuum cannot work on {} while it is held",
                    listed.join("; "),
                    if tables.len() == 1 { "it" } else { "them" }
                ),
            )
            .with("tables", tables.len() as i64)
            .with(
                "locks",
                tables
                    .iter()
                    .map(|(name, mode, _)| format!("{mode} on {name}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        if let Some(pid) = pid {
            finding = finding.with("pid", pid as i64);
        }
        out.push(finding.recommend(Recommendation::text(fix)));
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let locked = |mode: &str, minutes: i64, dead: i64| {
        let mode = mode.to_string();
        Fx::new(16)
            .table(T::new("held").rows(100_000).updated(50_000).dead(dead))
            .with(move |s| {
                let app = s.databases.iter_mut().find(|d| d.name == "app").unwrap();
                let oid = app.tables[0].oid;
                app.relation_locks.push(RelationLock {
                    relid: oid,
                    pid: Some(4242),
                    mode: mode.clone(),
                    virtualtransaction: Some("7/42".into()),
                });
                let mut session = s.sessions[0].clone();
                session.pid = 4242;
                session.is_pgvac = false;
                session.backend_type = Some("client backend".into());
                session.state = Some("idle in transaction".into());
                session.xact_start = Some(s.server.collected_at - Duration::minutes(minutes));
                s.sessions.push(session);
            })
            .done()
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "SHARE UPDATE EXCLUSIVE held 10 minutes on a table due for vacuum",
                locked("ShareUpdateExclusiveLock", 10, 30_000),
            ),
            (
                "ACCESS EXCLUSIVE held an hour",
                locked("AccessExclusiveLock", 60, 30_000),
            ),
        ],
        quiet: vec![
            (
                "a lock that lets vacuum in (ROW EXCLUSIVE)",
                locked("RowExclusiveLock", 10, 30_000),
            ),
            (
                "the table is not due",
                locked("ShareUpdateExclusiveLock", 10, 100),
            ),
            (
                "held for less than a naptime",
                locked("ShareUpdateExclusiveLock", 0, 30_000),
            ),
        ],
    }
}
