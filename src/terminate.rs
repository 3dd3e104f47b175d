//! `pgvac sessions --terminate`: which sessions to end, and ending them safely.
//!
//! Planning is pure ([`plan`]): the targets are the client sessions that hold vacuum back
//! (session blockers, and the proven owners of pinning temporary tables), narrowed by the user's
//! filters. Never a target: pgvac's own session, autovacuum workers, walsenders, parallel
//! workers and any other background process, sessions whose type or start time is hidden from
//! pgvac's role, and a session that only has a temporary schema's backend id without proof that
//! it owns the schema ([`crate::temp_owner`]). Backups (`pg_dump`) and maintenance commands are
//! targets only when named with `--pid`. Naming a session pgvac cannot prove is the one to end
//! (hidden identity, unproven ownership) refuses `--execute` outright ([`Excluded::refused`]).
//!
//! Acting ([`execute`]) is the only other place besides `collect` that talks to PostgreSQL. On
//! a fresh session it
//! 1. checks the role may signal every target (superuser; or `pg_signal_backend`, or membership
//!    in the target's role, for non-superuser targets) and stops with one line naming the
//!    missing privilege before signalling anyone;
//! 2. re-reads each target and signals it only if its pid, `backend_start` and (for
//!    transactions) `xact_start` still match what was planned, with a single guarded statement
//!    ([`crate::blockers::guarded_signal_sql`]) so nothing can change between the check and the
//!    signal except within that statement: a pid reused by a new session is never killed;
//! 3. reports each outcome: terminated, already gone, changed (skipped), refused.
//!
//! `pg_terminate_backend` is a function call, not a write: it runs in pgvac's read-only session.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::blockers::Blocker;
use crate::conn::{ConnectError, ConnectionSettings, describe_sqlx_error};
use crate::snapshot::{Session, Snapshot};

/// The user's filters. Every filter given must match.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Transaction open at least this long (seconds, from `xact_start`).
    pub min_xact_age_secs: Option<i64>,
    /// Idle in transaction at least this long (seconds, from `state_change`).
    pub min_idle_secs: Option<i64>,
    /// Holding the horizon at least this many XIDs behind.
    pub min_xid_age: Option<i64>,
    /// Only sessions connected to these databases.
    pub databases: Vec<String>,
    /// Only sessions of these roles.
    pub users: Vec<String>,
    /// Only these pids.
    pub pids: Vec<i32>,
}

impl Filters {
    /// Without a time, age or pid filter, only blockers at warning or above are candidates.
    fn narrows_by_itself(&self) -> bool {
        self.min_xact_age_secs.is_some()
            || self.min_idle_secs.is_some()
            || self.min_xid_age.is_some()
            || !self.pids.is_empty()
    }
}

/// A session to terminate, and the identity it must still have when pgvac acts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub pid: i32,
    pub user: Option<String>,
    pub database: Option<String>,
    pub backend_start: DateTime<Utc>,
    /// `Some(x)`: the transaction must still be the one that started at `x` (`Some(None)`: no
    /// transaction). `None`: any transaction (a temp table's owner is the session itself).
    pub xact_start: Option<Option<DateTime<Utc>>>,
    /// Why it is a target: the blocker, in one line.
    pub reason: String,
    /// The exact statement pgvac runs.
    pub sql: String,
}

/// A session left alone, and why (only reported for sessions the user named or that hold the
/// horizon).
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Excluded {
    pub pid: i32,
    pub reason: String,
    /// Named with `--pid`, it makes `--execute` refuse to run at all: pgvac cannot prove it is
    /// the session to end (its identity is hidden, or it only has a temporary schema's backend
    /// id).
    #[serde(default)]
    pub refused: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub excluded: Vec<Excluded>,
}

/// Why a session can never be terminated by pgvac, if it cannot.
fn never_terminated(session: &Session) -> Option<String> {
    if session.is_pgvac {
        return Some("pgvac's own session".to_string());
    }
    if session
        .leader_pid
        .is_some_and(|leader| leader != session.pid)
    {
        return Some("a parallel worker: its leader is the one to end".to_string());
    }
    match session.backend_type.as_deref() {
        Some("client backend") => None,
        Some("autovacuum worker") => Some("an autovacuum worker: never terminated".to_string()),
        Some("walsender") => {
            Some("a walsender: end replication on its standby or drop its slot instead".to_string())
        }
        Some(other) => Some(format!("a {other} process, not a client session")),
        None => Some(
            "its type and start time are hidden from pgvac's role (GRANT pg_read_all_stats), \
             so it cannot be identified safely"
                .to_string(),
        ),
    }
}

/// The sessions `--terminate` would end, from the blockers and the filters.
pub fn plan(snapshot: &Snapshot, blockers: &[Blocker], filters: &Filters) -> Plan {
    let now = snapshot.server.collected_at;
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    for blocker in blockers {
        let Some(pid) = blocker.session_pid() else {
            continue;
        };
        if !seen.insert(pid) {
            continue;
        }
        let named = filters.pids.contains(&pid);
        let exclude = |plan: &mut Plan, reason: String, refused: bool| {
            if named || filters.pids.is_empty() {
                plan.excluded.push(Excluded {
                    pid,
                    reason,
                    refused,
                });
            }
        };
        let Some(session) = snapshot.sessions.iter().find(|s| s.pid == pid) else {
            exclude(
                &mut plan,
                "no longer in pg_stat_activity".to_string(),
                false,
            );
            continue;
        };
        if let Some(reason) = never_terminated(session) {
            let hidden = session.backend_type.is_none();
            exclude(&mut plan, reason, hidden);
            continue;
        }
        let Some(signal) = blocker.terminate_signal() else {
            exclude(
                &mut plan,
                "its start time is hidden from pgvac's role (GRANT pg_read_all_stats), so it \
                 cannot be identified safely"
                    .to_string(),
                true,
            );
            continue;
        };
        if !matches(session, blocker, filters, now) {
            if named {
                plan.excluded.push(Excluded {
                    pid,
                    reason: "outside the filters".to_string(),
                    refused: false,
                });
            }
            continue;
        }
        if blocker.activity().only_by_pid() && !named {
            exclude(
                &mut plan,
                format!(
                    "{}: left alone unless named with --pid",
                    match blocker.activity() {
                        crate::blockers::Activity::Backup => "a backup (pg_dump)",
                        _ => "a maintenance command",
                    }
                ),
                false,
            );
            continue;
        }
        plan.targets.push(Target {
            pid,
            user: session.user.clone(),
            database: session.database.clone(),
            backend_start: signal.backend_start,
            xact_start: signal.same_transaction.then_some(signal.xact_start),
            reason: format!("{}: {}", blocker.kind.as_str(), blocker.identity),
            sql: signal.sql(),
        });
    }
    // Sessions that only have a temporary schema's backend id: never targets, and naming one
    // refuses --execute.
    for blocker in blockers {
        let Some(pid) = blocker.candidate_pid() else {
            continue;
        };
        if filters.pids.contains(&pid) && seen.insert(pid) {
            let schema = match &blocker.holder {
                crate::blockers::Holder::TempTable { schema, .. } => schema.as_str(),
                _ => "a temporary schema",
            };
            plan.excluded.push(Excluded {
                pid,
                reason: format!(
                    "it has the backend id of {schema} in {}, which does not prove it owns \
                     those temporary tables (`pgvac sessions` says why): ending it could kill an \
                     innocent session and free nothing",
                    blocker.database.as_deref().unwrap_or("?")
                ),
                refused: true,
            });
        }
    }
    for &pid in &filters.pids {
        if !seen.contains(&pid) {
            let (reason, refused) = match snapshot.sessions.iter().find(|s| s.pid == pid) {
                None => ("no such session".to_string(), false),
                Some(session) => match never_terminated(session) {
                    Some(reason) => (reason, session.backend_type.is_none()),
                    None => ("does not hold vacuum back: left alone".to_string(), false),
                },
            };
            plan.excluded.push(Excluded {
                pid,
                reason,
                refused,
            });
        }
    }
    plan
}

fn matches(session: &Session, blocker: &Blocker, filters: &Filters, now: DateTime<Utc>) -> bool {
    let since = |at: Option<DateTime<Utc>>| at.map(|t| (now - t).num_seconds());
    if !filters.pids.is_empty() && !filters.pids.contains(&session.pid) {
        return false;
    }
    if !filters.databases.is_empty()
        && !session
            .database
            .as_ref()
            .is_some_and(|d| filters.databases.contains(d))
    {
        return false;
    }
    if !filters.users.is_empty()
        && !session
            .user
            .as_ref()
            .is_some_and(|u| filters.users.contains(u))
    {
        return false;
    }
    if let Some(min) = filters.min_xact_age_secs
        && since(session.xact_start).is_none_or(|secs| secs < min)
    {
        return false;
    }
    if let Some(min) = filters.min_idle_secs {
        let idle = session
            .state
            .as_deref()
            .is_some_and(|s| s.starts_with("idle in transaction"));
        if !idle || since(session.state_change).is_none_or(|secs| secs < min) {
            return false;
        }
    }
    if let Some(min) = filters.min_xid_age
        && blocker.horizon.age < min
    {
        return false;
    }
    filters.narrows_by_itself() || blocker.severity >= crate::blockers::Severity::Warning
}

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
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

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::WouldTerminate => "would terminate",
            OutcomeKind::Terminated => "terminated",
            OutcomeKind::Signalled => "signalled, still running",
            OutcomeKind::AlreadyGone => "already gone",
            OutcomeKind::Changed => "changed, skipped",
            OutcomeKind::Refused => "refused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema, Deserialize)]
pub struct Outcome {
    pub pid: i32,
    pub outcome: OutcomeKind,
    pub detail: String,
    pub sql: String,
}

/// Errors that stop `--terminate --execute` before it signals anyone.
#[derive(Debug, thiserror::Error)]
pub enum TerminateError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("could not {what}: {message}")]
    Query { what: String, message: String },
    #[error(
        "the snapshot comes from another server or from before a restart (postmaster started \
         {snapshot}, the server now says {live}): its sessions cannot be matched"
    )]
    OtherServer { snapshot: String, live: String },
    #[error("{0}")]
    Privilege(String),
}

/// The live state of a target, as re-read right before acting.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveSession {
    pub backend_start: Option<DateTime<Utc>>,
    pub xact_start: Option<DateTime<Utc>>,
    pub backend_type: Option<String>,
    pub user: Option<String>,
    pub superuser: bool,
    /// pgvac's role has the privileges of the session's role.
    pub same_role: bool,
}

/// Whether a live session is still the planned target: `Err` says why not.
pub fn still_the_target(target: &Target, live: Option<&LiveSession>) -> Result<(), OutcomeKind> {
    let Some(live) = live else {
        return Err(OutcomeKind::AlreadyGone);
    };
    if live.backend_start != Some(target.backend_start) {
        return Err(OutcomeKind::Changed);
    }
    if let Some(xact_start) = target.xact_start
        && live.xact_start != xact_start
    {
        return Err(OutcomeKind::Changed);
    }
    if live.backend_type.as_deref() != Some("client backend") {
        return Err(OutcomeKind::Refused);
    }
    Ok(())
}

/// What pgvac's role may signal.
#[derive(Debug, Clone, Copy)]
pub struct SignalRights {
    pub superuser: bool,
    /// `pg_signal_backend` (or RDS `rds_superuser`).
    pub signal_backend: bool,
}

/// The privilege missing to signal `live`, if any, as one line.
pub fn missing_privilege(
    rights: SignalRights,
    role: &str,
    pid: i32,
    live: &LiveSession,
) -> Option<String> {
    let owner = live.user.as_deref().unwrap_or("?");
    if live.superuser && !rights.superuser {
        return Some(format!(
            "role \"{role}\" may not terminate pid {pid}: it belongs to superuser \"{owner}\", and \
             only a superuser may signal a superuser's session"
        ));
    }
    if !rights.superuser && !rights.signal_backend && !live.same_role {
        return Some(format!(
            "role \"{role}\" may not terminate pid {pid} (role \"{owner}\"): it needs the \
             pg_signal_backend privilege (GRANT pg_signal_backend TO \"{role}\") or superuser"
        ));
    }
    None
}

/// Dry run: the outcomes without acting.
pub fn dry_run(plan: &Plan) -> Vec<Outcome> {
    plan.targets
        .iter()
        .map(|t| Outcome {
            pid: t.pid,
            outcome: OutcomeKind::WouldTerminate,
            detail: t.reason.clone(),
            sql: t.sql.clone(),
        })
        .collect()
}

fn query_error(what: &str) -> impl Fn(sqlx::Error) -> TerminateError + '_ {
    move |e| TerminateError::Query {
        what: what.to_string(),
        message: describe_sqlx_error(&e),
    }
}

/// Terminate the planned targets, checking each right before acting. `snapshot_started` is the
/// postmaster start time of the snapshot the plan came from.
pub async fn execute(
    settings: &ConnectionSettings,
    database: &str,
    snapshot_started: DateTime<Utc>,
    plan: &Plan,
) -> Result<Vec<Outcome>, TerminateError> {
    let mut conn = settings.connect(database).await?;
    let result = execute_on(&mut conn, snapshot_started, plan).await;
    let _ = conn.close().await;
    result
}

async fn execute_on(
    conn: &mut PgConnection,
    snapshot_started: DateTime<Utc>,
    plan: &Plan,
) -> Result<Vec<Outcome>, TerminateError> {
    let me: RoleRow = json_row(
        conn,
        "SELECT json_build_object( \
           'role', current_user, \
           'superuser', coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false), \
           'signal_backend', pg_has_role(current_user, 'pg_signal_backend', 'USAGE') \
              OR EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_superuser' \
                         AND pg_has_role(current_user, oid, 'USAGE')), \
           'started', pg_postmaster_start_time())::text",
        "read pgvac's privileges",
    )
    .await?;
    let role = me.role;
    let rights = SignalRights {
        superuser: me.superuser,
        signal_backend: me.signal_backend,
    };
    let started = me.started;
    if started != snapshot_started {
        return Err(TerminateError::OtherServer {
            snapshot: snapshot_started.to_rfc3339(),
            live: started.to_rfc3339(),
        });
    }

    let pids: Vec<i32> = plan.targets.iter().map(|t| t.pid).collect();
    let live = read_live(conn, &pids).await?;
    let find = |pid: i32| live.iter().find(|(p, _)| *p == pid).map(|(_, l)| l);

    // Privileges first, for every target still there: refuse before signalling anyone.
    for target in &plan.targets {
        if let Some(live) = find(target.pid)
            && still_the_target(target, Some(live)).is_ok()
            && let Some(message) = missing_privilege(rights, &role, target.pid, live)
        {
            return Err(TerminateError::Privilege(message));
        }
    }

    let mut outcomes = Vec::new();
    for target in &plan.targets {
        let outcome = |kind: OutcomeKind, detail: String| Outcome {
            pid: target.pid,
            outcome: kind,
            detail,
            sql: target.sql.clone(),
        };
        if let Err(kind) = still_the_target(target, find(target.pid)) {
            let detail = match kind {
                OutcomeKind::AlreadyGone => "the session has ended".to_string(),
                OutcomeKind::Changed => changed_detail(target, find(target.pid)),
                _ => "no longer a client session".to_string(),
            };
            outcomes.push(outcome(kind, detail));
            continue;
        }
        // The guarded statement re-checks the identity in the same statement that signals.
        let signalled: Option<Option<bool>> = sqlx::query_scalar(sqlx::AssertSqlSafe(
            target.sql.trim_end_matches(';').to_string(),
        ))
        .fetch_optional(&mut *conn)
        .await
        .map_err(query_error("terminate a session"))?;
        let result = match signalled {
            None => {
                let live = read_live(conn, &[target.pid]).await?;
                match still_the_target(target, live.first().map(|(_, l)| l)) {
                    Err(OutcomeKind::AlreadyGone) => outcome(
                        OutcomeKind::AlreadyGone,
                        "the session has ended".to_string(),
                    ),
                    _ => outcome(
                        OutcomeKind::Changed,
                        changed_detail(target, live.first().map(|(_, l)| l)),
                    ),
                }
            }
            Some(Some(true)) => {
                if wait_until_gone(conn, target.pid).await? {
                    outcome(OutcomeKind::Terminated, target.reason.clone())
                } else {
                    outcome(
                        OutcomeKind::Signalled,
                        "signalled, but still running after 5 s".to_string(),
                    )
                }
            }
            Some(_) => outcome(
                OutcomeKind::AlreadyGone,
                "the server found no such backend".to_string(),
            ),
        };
        outcomes.push(result);
    }
    Ok(outcomes)
}

fn changed_detail(target: &Target, live: Option<&LiveSession>) -> String {
    match live {
        Some(live) if live.backend_start != Some(target.backend_start) => {
            "the pid now belongs to another session (different backend_start): left alone"
                .to_string()
        }
        Some(_) => "the session is in another transaction now (different xact_start): left alone"
            .to_string(),
        None => "the session has ended".to_string(),
    }
}

#[derive(Deserialize)]
struct RoleRow {
    role: String,
    superuser: bool,
    signal_backend: bool,
    started: DateTime<Utc>,
}

#[derive(Deserialize)]
struct LiveRow {
    pid: i32,
    backend_start: Option<DateTime<Utc>>,
    xact_start: Option<DateTime<Utc>>,
    backend_type: Option<String>,
    usename: Option<String>,
    superuser: bool,
    same_role: bool,
}

/// The one row of a query returning one JSON text column.
async fn json_row<T: serde::de::DeserializeOwned>(
    conn: &mut PgConnection,
    sql: &'static str,
    what: &str,
) -> Result<T, TerminateError> {
    let text: String = sqlx::query_scalar(sql)
        .fetch_one(&mut *conn)
        .await
        .map_err(query_error(what))?;
    serde_json::from_str(&text).map_err(|e| TerminateError::Query {
        what: what.to_string(),
        message: format!("unexpected row shape ({e})"),
    })
}

async fn read_live(
    conn: &mut PgConnection,
    pids: &[i32],
) -> Result<Vec<(i32, LiveSession)>, TerminateError> {
    let what = "re-read the sessions";
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT row_to_json(s)::text FROM ( \
           SELECT a.pid, a.backend_start, a.xact_start, a.backend_type, a.usename, \
                  coalesce(r.rolsuper, false) AS superuser, \
                  coalesce(pg_has_role(a.usesysid, 'USAGE'), false) AS same_role \
           FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid \
           WHERE a.pid = ANY($1) AND a.pid <> pg_backend_pid()) s",
    )
    .bind(pids)
    .fetch_all(&mut *conn)
    .await
    .map_err(query_error(what))?;
    rows.iter()
        .map(|text| {
            let row: LiveRow = serde_json::from_str(text).map_err(|e| TerminateError::Query {
                what: what.to_string(),
                message: format!("unexpected row shape ({e})"),
            })?;
            Ok((
                row.pid,
                LiveSession {
                    backend_start: row.backend_start,
                    xact_start: row.xact_start,
                    backend_type: row.backend_type,
                    user: row.usename,
                    superuser: row.superuser,
                    same_role: row.same_role,
                },
            ))
        })
        .collect()
}

/// Wait up to 5 s for a signalled backend to leave `pg_stat_activity`.
async fn wait_until_gone(conn: &mut PgConnection, pid: i32) -> Result<bool, TerminateError> {
    for _ in 0..50 {
        let present: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $1)")
                .bind(pid)
                .fetch_one(&mut *conn)
                .await
                .map_err(query_error("check the session ended"))?;
        if !present {
            return Ok(true);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blockers::tests::{at, idle_in_transaction, session, snapshot};
    use crate::blockers::{Thresholds, find_blockers};

    fn plan_for(sessions: Vec<Session>, filters: &Filters) -> Plan {
        let snap = snapshot(sessions);
        let blockers = find_blockers(&snap, &Thresholds::default());
        plan(&snap, &blockers, filters)
    }

    fn pids(plan: &Plan) -> Vec<i32> {
        plan.targets.iter().map(|t| t.pid).collect()
    }

    #[test]
    fn without_filters_only_blockers_past_the_thresholds_are_targets() {
        let plan = plan_for(
            vec![
                idle_in_transaction(1, 900, 100, 600),
                idle_in_transaction(2, 950, 50, 10),
            ],
            &Filters::default(),
        );
        assert_eq!(pids(&plan), [1]);
        assert!(plan.targets[0].sql.contains("pid = 1 AND backend_start = "));
        assert!(plan.targets[0].sql.contains("AND xact_start = "));
    }

    #[test]
    fn filters_all_apply() {
        let mut other_role = idle_in_transaction(3, 960, 40, 900);
        other_role.user = Some("batch".into());
        let sessions = vec![
            idle_in_transaction(1, 900, 100, 600),
            idle_in_transaction(2, 950, 50, 10),
            other_role,
        ];
        let with = |filters: Filters| pids(&plan_for(sessions.clone(), &filters));
        assert_eq!(
            with(Filters {
                min_idle_secs: Some(0),
                ..Filters::default()
            }),
            [1, 2, 3]
        );
        assert_eq!(
            with(Filters {
                min_idle_secs: Some(0),
                users: vec!["batch".into()],
                ..Filters::default()
            }),
            [3]
        );
        assert_eq!(
            with(Filters {
                min_xact_age_secs: Some(700),
                ..Filters::default()
            }),
            [3]
        );
        assert!(
            with(Filters {
                min_idle_secs: Some(0),
                databases: vec!["other".into()],
                ..Filters::default()
            })
            .is_empty()
        );
        assert_eq!(
            with(Filters {
                pids: vec![2],
                ..Filters::default()
            }),
            [2]
        );
    }

    #[test]
    fn own_session_autovacuum_walsenders_and_background_processes_are_never_targets() {
        let mut own = idle_in_transaction(1, 900, 100, 600);
        own.is_pgvac = true;
        let analyze = Session {
            backend_type: Some("autovacuum worker".into()),
            query: Some("autovacuum: ANALYZE public.t".into()),
            state: Some("active".into()),
            xact_start: Some(at(7200)),
            backend_xmin: Some(800),
            backend_xmin_age: Some(200),
            ..session(2)
        };
        let worker = Session {
            backend_type: Some("logical replication worker".into()),
            ..idle_in_transaction(3, 800, 200, 900)
        };
        let walsender = Session {
            backend_type: Some("walsender".into()),
            ..idle_in_transaction(4, 800, 200, 900)
        };
        let plan = plan_for(
            vec![own, analyze, worker, walsender],
            &Filters {
                min_xact_age_secs: Some(0),
                pids: vec![1, 2, 3, 4],
                ..Filters::default()
            },
        );
        assert!(plan.targets.is_empty(), "{plan:#?}");
        let reasons: Vec<&str> = plan.excluded.iter().map(|e| e.reason.as_str()).collect();
        assert!(
            reasons.iter().any(|r| r.contains("autovacuum worker")),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("walsender")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("logical replication worker"))
        );
        assert!(
            reasons.iter().any(|r| r.contains("own session")),
            "{reasons:?}"
        );
    }

    #[test]
    fn backups_maintenance_and_unproven_owners_are_ended_only_by_name_or_never() {
        use crate::blockers::tests::{candidate, hidden, temp_database};
        let backup = Session {
            application_name: Some("pg_dump".into()),
            ..idle_in_transaction(1, 900, 600_000_000, 600)
        };
        let vacuum_full = Session {
            state: Some("active".into()),
            query: Some("VACUUM FULL big".into()),
            ..idle_in_transaction(2, 900, 600_000_000, 600)
        };
        let innocent = session(3);
        let mut snap = snapshot(vec![backup, vacuum_full, innocent, hidden(4, 700_000_000)]);
        snap.databases = vec![temp_database(candidate(3), 900_000_000, 100)];
        let blockers = find_blockers(&snap, &Thresholds::default());
        let planned = |filters: &Filters| plan(&snap, &blockers, filters);
        // Without --pid: none of them, whatever the filters.
        for filters in [
            Filters::default(),
            Filters {
                min_xid_age: Some(0),
                ..Filters::default()
            },
            Filters {
                min_xact_age_secs: Some(0),
                ..Filters::default()
            },
        ] {
            let plan = planned(&filters);
            assert!(plan.targets.is_empty(), "{filters:?}: {plan:#?}");
        }
        // Named: the backup and the maintenance command are ended.
        let plan = planned(&Filters {
            pids: vec![1, 2],
            ..Filters::default()
        });
        assert_eq!(pids(&plan), [1, 2]);
        // Named: the candidate owner and the hidden session are refused, never targets.
        for pid in [3, 4] {
            let plan = planned(&Filters {
                pids: vec![pid],
                ..Filters::default()
            });
            assert!(plan.targets.is_empty());
            assert!(
                plan.excluded.iter().any(|e| e.pid == pid && e.refused),
                "{plan:#?}"
            );
        }
    }

    fn target() -> Target {
        Target {
            pid: 7,
            user: Some("app".into()),
            database: Some("shop".into()),
            backend_start: at(100),
            xact_start: Some(Some(at(50))),
            reason: String::new(),
            sql: String::new(),
        }
    }

    fn live() -> LiveSession {
        LiveSession {
            backend_start: Some(at(100)),
            xact_start: Some(at(50)),
            backend_type: Some("client backend".into()),
            user: Some("app".into()),
            superuser: false,
            same_role: false,
        }
    }

    #[test]
    fn a_reused_pid_or_a_new_transaction_is_not_the_target() {
        assert_eq!(still_the_target(&target(), Some(&live())), Ok(()));
        assert_eq!(
            still_the_target(&target(), None),
            Err(OutcomeKind::AlreadyGone)
        );
        let reused = LiveSession {
            backend_start: Some(at(5)),
            xact_start: Some(at(50)),
            ..live()
        };
        assert_eq!(
            still_the_target(&target(), Some(&reused)),
            Err(OutcomeKind::Changed)
        );
        let new_transaction = LiveSession {
            xact_start: Some(at(1)),
            ..live()
        };
        assert_eq!(
            still_the_target(&target(), Some(&new_transaction)),
            Err(OutcomeKind::Changed)
        );
        // A temp table's owner is the session, whatever its transaction.
        let owner = Target {
            xact_start: None,
            ..target()
        };
        assert_eq!(still_the_target(&owner, Some(&new_transaction)), Ok(()));
    }

    #[test]
    fn the_missing_privilege_is_named() {
        let nobody = SignalRights {
            superuser: false,
            signal_backend: false,
        };
        let signaller = SignalRights {
            superuser: false,
            signal_backend: true,
        };
        let admin = SignalRights {
            superuser: true,
            signal_backend: true,
        };
        let plain = live();
        let superuser = LiveSession {
            superuser: true,
            ..live()
        };
        let own_role = LiveSession {
            same_role: true,
            ..live()
        };
        assert!(
            missing_privilege(nobody, "watcher", 7, &plain)
                .unwrap()
                .contains("pg_signal_backend")
        );
        assert_eq!(missing_privilege(nobody, "app", 7, &own_role), None);
        assert_eq!(missing_privilege(signaller, "watcher", 7, &plain), None);
        assert!(
            missing_privilege(signaller, "watcher", 7, &superuser)
                .unwrap()
                .contains("only a superuser")
        );
        assert_eq!(missing_privilege(admin, "postgres", 7, &superuser), None);
    }
}
