//! Who owns a temporary schema: decided from what `collect` read, proven or not at all.
//!
//! A backend owns `pg_temp_N` only once it has used temporary tables itself: the first time, it
//! drops whatever an earlier holder of id N left there (`InitTempTableNamespace`). Until then the
//! tables are orphaned, and a session that merely got id N (after a crash restart, or after a
//! backend died before its cleanup) is not their owner. The server keeps the real owner in
//! `PGPROC.tempNamespaceId`, which no view shows. So:
//!
//! - **Known** needs proof that the session itself uses the schema now. The one proof every
//!   version offers: the session holds `AccessShareLock` or `RowShareLock` on a btree index of
//!   one of the schema's tables, and was idle in transaction since before the locks were read.
//!   Another session cannot hold such a lock after a completed statement: planning a query on
//!   another session's temporary table reads the btree metapage and fails, releasing the lock;
//!   `LOCK TABLE` refuses indexes; DDL on them fails or takes `ShareUpdateExclusiveLock` or
//!   stronger (tests/postgres/ownership.rs tries each). Idle in transaction since before the read
//!   means the lock is not that of a statement about to fail. And since the owner cleared the
//!   schema when it first used it, every table in it is the owner's.
//! - **Orphaned** needs proof that no live session can own it: no session connected to the
//!   database has id N (16+: `pg_stat_get_backend_pid(N)`; 12-15: every session connected to the
//!   database is inside a transaction, so its virtualxid shows its id, and none has N).
//! - Everything else is **Unknown**, naming the candidate (the session with id N) where there is
//!   one, and why it is not proven.
//!
//! The clocks compared (`statement_timestamp()` of the lock read, `state_change`) are the one
//! server's; the proof assumes the clock does not step backwards while pgvac reads.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::snapshot::{TempCandidate, TempOwner};

/// `sql/locks.sql`: the database's locks, read once, before the temp schemas.
#[derive(Debug, Clone, Deserialize)]
pub struct LockRead {
    /// `statement_timestamp()` of the statement that read `pg_locks`.
    pub read_started: DateTime<Utc>,
    pub index_locks: Vec<IndexLock>,
    pub virtualxids: Vec<VirtualXid>,
    /// Granted locks that keep autovacuum off a relation (not part of the ownership proof).
    #[serde(default)]
    pub relation_locks: Vec<crate::snapshot::RelationLock>,
}

/// A weak lock on a btree index of a temporary table.
#[derive(Debug, Clone, Deserialize)]
pub struct IndexLock {
    pub pid: i32,
    pub schema: String,
    pub index: String,
    pub table: String,
    pub mode: String,
}

/// A session inside a transaction, and the backend id its virtualxid shows.
#[derive(Debug, Clone, Deserialize)]
pub struct VirtualXid {
    pub pid: i32,
    pub backend_id: i32,
}

/// `sql/temp_schemas_*.sql`: the schemas and the sessions of the database, read after the locks.
#[derive(Debug, Clone, Deserialize)]
pub struct SchemaRead {
    pub own_pid: i32,
    pub schemas: Vec<SchemaRow>,
    pub sessions: Vec<SessionRow>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SchemaRow {
    pub schema: String,
    pub backend_id: i32,
    /// 16+: the session of this database with backend id N, from the backend status.
    pub candidate_pid: Option<i32>,
    pub table_oids: Vec<u32>,
}

/// A session connected to the database (not pgvac's own). Times and state are absent for other
/// roles' sessions without `pg_read_all_stats`.
#[derive(Debug, Clone, Deserialize)]
pub struct SessionRow {
    pub pid: i32,
    pub backend_start: Option<DateTime<Utc>>,
    pub state: Option<String>,
    pub state_change: Option<DateTime<Utc>>,
}

/// The owner of `schema`, as far as `locks` (absent when they could not be read) and `read`
/// prove it. `major` is the server's major version.
pub fn decide(
    major: i32,
    schema: &SchemaRow,
    locks: Option<&LockRead>,
    read: &SchemaRead,
) -> TempOwner {
    let n = schema.backend_id;
    let session = |pid: i32| read.sessions.iter().find(|s| s.pid == pid);
    // Sessions whose backend id is N: from their virtualxid (every version), and on 16+ from the
    // backend status. pgvac's own session never uses temporary tables, so it owns nothing.
    let mut candidates: Vec<i32> = Vec::new();
    if let Some(pid) = schema.candidate_pid.filter(|&pid| pid != read.own_pid) {
        candidates.push(pid);
    }
    for vxid in locks.map_or(&[][..], |l| &l.virtualxids[..]) {
        if vxid.backend_id == n
            && vxid.pid != read.own_pid
            && session(vxid.pid).is_some()
            && !candidates.contains(&vxid.pid)
        {
            candidates.push(vxid.pid);
        }
    }

    if let Some(locks) = locks {
        for &pid in &candidates {
            if let Some(owner) = proven(pid, n, &schema.schema, locks, session(pid)) {
                return owner;
            }
        }
    }

    let Some(&pid) = candidates.first() else {
        return no_candidate(major, n, locks, read);
    };
    let candidate = session(pid);
    let why = match (locks, candidate) {
        (None, _) => "pg_locks could not be read, so nothing proves it".to_string(),
        (_, None) => "it was no longer connected when the sessions were read".to_string(),
        (Some(locks), Some(s)) => unproven_because(pid, n, &schema.schema, locks, s),
    };
    TempOwner::Unknown {
        candidate: Some(TempCandidate {
            pid,
            backend_start: candidate.and_then(|s| s.backend_start),
        }),
        reason: format!(
            "pid {pid} has backend id {n} in this database, but having the id does not make it \
             the owner: a session owns pg_temp_{n} only once it has used temporary tables \
             itself, and until then these tables are what an earlier session left (after a \
             crash restart, or a session that died before its cleanup); {why}"
        ),
    }
}

/// The proof for `pid`, if it holds.
fn proven(
    pid: i32,
    n: i32,
    schema: &str,
    locks: &LockRead,
    session: Option<&SessionRow>,
) -> Option<TempOwner> {
    let session = session?;
    let lock = locks
        .index_locks
        .iter()
        .find(|l| l.pid == pid && l.schema == schema)?;
    let idle_since = session.state_change?;
    let backend_start = session.backend_start?;
    if session.state.as_deref() != Some("idle in transaction") || idle_since >= locks.read_started {
        return None;
    }
    // The virtualxid read with the locks must agree that this session has id N.
    if !locks
        .virtualxids
        .iter()
        .any(|v| v.pid == pid && v.backend_id == n)
    {
        return None;
    }
    Some(TempOwner::Known {
        pid,
        source: "index_lock".to_string(),
        backend_start: Some(backend_start),
        proof: format!(
            "pid {pid} has backend id {n}, has been idle in transaction since {} and holds \
             {} on btree index {} of {}: only the session whose temporary schema it is can \
             hold that lock after a completed statement",
            idle_since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            lock.mode,
            lock.index,
            lock.table
        ),
    })
}

/// Why the proof does not hold for candidate `pid`.
fn unproven_because(pid: i32, n: i32, schema: &str, locks: &LockRead, s: &SessionRow) -> String {
    let locked = locks
        .index_locks
        .iter()
        .any(|l| l.pid == pid && l.schema == schema);
    match s.state.as_deref() {
        None => "its state is hidden from pgvac's role (GRANT pg_read_all_stats), so nothing \
                 proves it"
            .to_string(),
        Some("idle in transaction") if !locked => format!(
            "it holds no AccessShareLock or RowShareLock on a btree index of the tables of \
             pg_temp_{n}, the only proof of ownership the server shows"
        ),
        Some("idle in transaction") => "it started its current state after the locks were read, \
                                        so they prove nothing about it"
            .to_string(),
        Some("active") => "it was running a statement, so its locks could be those of a \
                           statement about to fail"
            .to_string(),
        Some(state) => format!(
            "it is {state}: only a session idle in transaction that holds a lock on a btree \
             index of these tables proves its ownership"
        ),
    }
}

/// No session has id N: orphaned where that is certain, else unknown.
fn no_candidate(major: i32, n: i32, locks: Option<&LockRead>, read: &SchemaRead) -> TempOwner {
    if major >= 16 {
        return TempOwner::Orphaned {
            reason: format!(
                "no session connected to this database has backend id {n} \
                 (pg_stat_get_backend_pid({n}))"
            ),
        };
    }
    if read.sessions.is_empty() {
        return TempOwner::Orphaned {
            reason: "no other session is connected to this database".to_string(),
        };
    }
    let Some(locks) = locks else {
        return TempOwner::Unknown {
            candidate: None,
            reason: "pg_locks could not be read, so the backend ids of this database's sessions \
                     are unknown (PostgreSQL 12-15 shows them only in pg_locks)"
                .to_string(),
        };
    };
    // A session's id is known when it held a virtualxid when the locks were read, and it is the
    // same session now (connected before that read).
    let hidden = read
        .sessions
        .iter()
        .filter(|s| {
            !locks.virtualxids.iter().any(|v| v.pid == s.pid)
                || s.backend_start
                    .is_none_or(|start| start >= locks.read_started)
        })
        .count();
    if hidden == 0 {
        return TempOwner::Orphaned {
            reason: format!(
                "every other session connected to this database is inside a transaction, and \
                 none has backend id {n}"
            ),
        };
    }
    TempOwner::Unknown {
        candidate: None,
        reason: format!(
            "{hidden} session(s) connected to this database are outside a transaction, so their \
             backend ids cannot be read on PostgreSQL 12-15 (pg_stat_get_backend_pid() indexes a \
             local array there, not backend ids): any of them may have id {n}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::seconds(secs)
    }

    fn schema(candidate_pid: Option<i32>) -> SchemaRow {
        SchemaRow {
            schema: "pg_temp_3".into(),
            backend_id: 3,
            candidate_pid,
            table_oids: vec![100],
        }
    }

    fn session(pid: i32, state: Option<&str>, since: i64) -> SessionRow {
        SessionRow {
            pid,
            backend_start: state.map(|_| at(-3600)),
            state: state.map(str::to_string),
            state_change: state.map(|_| at(since)),
        }
    }

    /// Locks read at t=0: `pid` has virtualxid `vxid/..` and, when `index`, a lock on the index.
    fn locks(pid: i32, vxid: i32, index: bool) -> LockRead {
        LockRead {
            read_started: at(0),
            index_locks: if index {
                vec![IndexLock {
                    pid,
                    schema: "pg_temp_3".into(),
                    index: "pg_temp_3.scratch_pkey".into(),
                    table: "pg_temp_3.scratch".into(),
                    mode: "AccessShareLock".into(),
                }]
            } else {
                vec![]
            },
            virtualxids: vec![VirtualXid {
                pid,
                backend_id: vxid,
            }],
            relation_locks: Vec::new(),
        }
    }

    fn read(sessions: Vec<SessionRow>) -> SchemaRead {
        SchemaRead {
            own_pid: 1,
            schemas: vec![],
            sessions,
        }
    }

    #[test]
    fn an_index_lock_held_idle_in_transaction_proves_the_owner_on_every_version() {
        let sessions = read(vec![session(42, Some("idle in transaction"), -5)]);
        for (major, candidate) in [(12, None), (15, None), (16, Some(42)), (18, Some(42))] {
            let owner = decide(
                major,
                &schema(candidate),
                Some(&locks(42, 3, true)),
                &sessions,
            );
            match owner {
                TempOwner::Known {
                    pid,
                    backend_start,
                    ref proof,
                    ..
                } => {
                    assert_eq!((pid, backend_start), (42, Some(at(-3600))));
                    assert!(proof.contains("pg_temp_3.scratch_pkey"), "{proof}");
                }
                other => panic!("{major}: {other:?}"),
            }
        }
    }

    #[test]
    fn having_the_backend_id_is_never_proof() {
        // The crash-orphan case: a new idle session got id 3 (16+ names it as a candidate).
        let idle = read(vec![session(42, Some("idle"), -5)]);
        let owner = decide(16, &schema(Some(42)), Some(&locks(7, 5, false)), &idle);
        assert_eq!(owner.known_pid(), None);
        assert_eq!(owner.candidate().map(|c| c.pid), Some(42), "{owner:?}");
        // 12-15: inside a transaction, its virtualxid 3/.. is not proof either.
        let in_transaction = read(vec![session(42, Some("idle in transaction"), -5)]);
        let owner = decide(
            13,
            &schema(None),
            Some(&locks(42, 3, false)),
            &in_transaction,
        );
        assert_eq!(owner.known_pid(), None);
        assert_eq!(owner.candidate().map(|c| c.pid), Some(42));
        let TempOwner::Unknown { reason, .. } = owner else {
            unreachable!()
        };
        assert!(reason.contains("holds no AccessShareLock"), "{reason}");
    }

    #[test]
    fn a_lock_seen_while_running_or_changed_since_proves_nothing() {
        for s in [
            session(42, Some("active"), -5),
            session(42, Some("idle in transaction (aborted)"), -5),
            // Idle in transaction only since after the locks were read.
            session(42, Some("idle in transaction"), 1),
            // Hidden from pgvac's role.
            session(42, None, 0),
        ] {
            let owner = decide(
                16,
                &schema(Some(42)),
                Some(&locks(42, 3, true)),
                &read(vec![s]),
            );
            assert_eq!(owner.known_pid(), None, "{owner:?}");
        }
        // A lock by a session whose id is another one proves nothing about pg_temp_3.
        let sessions = read(vec![session(42, Some("idle in transaction"), -5)]);
        let owner = decide(16, &schema(None), Some(&locks(42, 4, true)), &sessions);
        assert!(matches!(owner, TempOwner::Orphaned { .. }), "{owner:?}");
        // Without the locks, nothing is proven.
        let owner = decide(16, &schema(Some(42)), None, &sessions);
        assert_eq!(owner.known_pid(), None);
    }

    #[test]
    fn orphaned_only_where_no_session_can_have_the_id() {
        let none = read(vec![]);
        // 16+: nobody has id 3 here; pgvac's own session having it does not count.
        for candidate in [None, Some(1)] {
            let owner = decide(17, &schema(candidate), Some(&locks(9, 9, false)), &none);
            assert!(matches!(owner, TempOwner::Orphaned { .. }), "{owner:?}");
        }
        // 12-15: nobody else connected.
        let owner = decide(12, &schema(None), None, &none);
        assert!(matches!(owner, TempOwner::Orphaned { .. }), "{owner:?}");
        // 12-15: everyone is in a transaction with another id.
        let busy = read(vec![session(42, Some("active"), -5)]);
        let owner = decide(14, &schema(None), Some(&locks(42, 4, false)), &busy);
        assert!(matches!(owner, TempOwner::Orphaned { .. }), "{owner:?}");
        // 12-15: one session outside a transaction may have any id.
        let idle = read(vec![session(42, Some("idle"), -5)]);
        let owner = decide(14, &schema(None), Some(&locks(7, 4, false)), &idle);
        assert!(
            matches!(
                owner,
                TempOwner::Unknown {
                    candidate: None,
                    ..
                }
            ),
            "{owner:?}"
        );
    }
}
