//! Ending sessions for `pgvac sessions --terminate --execute`: the one action pgvac takes, and
//! besides reading the only place it talks to PostgreSQL. The plan comes from
//! [`crate::analysis::terminate::plan`]; on a fresh session this
//! 1. checks the role may signal every target (superuser; or `pg_signal_backend`, or membership
//!    in the target's role, for non-superuser targets) and stops with one line naming the
//!    missing privilege before signalling anyone;
//! 2. re-reads each target and signals it only if its pid, `backend_start` and (for
//!    transactions) `xact_start` still match what was planned, with a single guarded statement
//!    ([`crate::analysis::blockers::guarded_signal_sql`]) so nothing can change between the
//!    check and the signal except within that statement: a pid reused by a new session is never
//!    killed;
//! 3. reports each outcome: terminated, already gone, changed (skipped), refused.
//!
//! `pg_terminate_backend` is a function call, not a write: it runs in pgvac's read-only session.
//! The statements are in `sql/terminate_*.sql`.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::analysis::terminate::{
    LiveSession, Outcome, OutcomeKind, Plan, SignalRights, Target, missing_privilege,
    still_the_target,
};
use crate::conn::{ConnectError, ConnectionSettings, describe_sqlx_error};

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
        include_str!("../../sql/terminate_role.sql"),
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
    let rows: Vec<String> = sqlx::query_scalar(include_str!("../../sql/terminate_live.sql"))
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
        let present: bool = sqlx::query_scalar(include_str!("../../sql/terminate_gone.sql"))
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
