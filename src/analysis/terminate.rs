//! `pgvac sessions --terminate`: which sessions to end, decided from the analysis alone.
//!
//! Planning is pure ([`plan`]): the targets are the client sessions that hold vacuum back
//! (session blockers, and the proven owners of pinning temporary tables), narrowed by the user's
//! filters. Never a target: pgvac's own session, autovacuum workers, walsenders, parallel
//! workers and any other background process, sessions whose type or start time is hidden from
//! pgvac's role, and a session that only has a temporary schema's backend id without proof that
//! it owns the schema ([`crate::collect::temp_owner`]). Backups (`pg_dump`) and maintenance
//! commands are targets only when named with `--pid`. Naming a session pgvac cannot prove is the
//! one to end (hidden identity, unproven ownership) refuses `--execute` outright
//! ([`Excluded::refused`]).
//!
//! The decisions made right before acting are here too, as pure functions of what was re-read
//! ([`still_the_target`], [`missing_privilege`]); [`crate::collect::terminate`] is the I/O that
//! re-reads and signals.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::analysis::blockers::Blocker;
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
#[derive(Debug, Clone, PartialEq)]
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
#[derive(Debug, Clone, PartialEq)]
pub struct Excluded {
    pub pid: i32,
    pub reason: ExclusionReason,
    /// Named with `--pid`, it makes `--execute` refuse to run at all: pgvac cannot prove it is
    /// the session to end (its identity is hidden, or it only has a temporary schema's backend
    /// id). Always `reason.refuses()`.
    pub refused: bool,
}

impl Excluded {
    fn new(pid: i32, reason: ExclusionReason) -> Excluded {
        Excluded {
            pid,
            refused: reason.refuses(),
            reason,
        }
    }
}

/// Why a session is not a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExclusionReason {
    /// It held the horizon in the snapshot but is no longer in `pg_stat_activity`.
    Gone,
    OwnSession,
    ParallelWorker,
    AutovacuumWorker,
    Walsender,
    /// Another kind of background process (its `backend_type`).
    BackgroundProcess(String),
    /// Its type and start time are hidden from pgvac's role.
    Hidden,
    /// Its start time is hidden from pgvac's role, so no statement can recheck its identity.
    StartTimeHidden,
    /// Named with `--pid`, but the other filters leave it out.
    OutsideFilters,
    /// A backup (`pg_dump`): ended only when named with `--pid`.
    Backup,
    /// A maintenance command: ended only when named with `--pid`.
    Maintenance,
    /// It has a temporary schema's backend id, which does not prove it owns the schema.
    UnprovenTempOwner {
        schema: String,
        database: String,
    },
    /// Named with `--pid`: there is no such session.
    NoSuchSession,
    /// Named with `--pid`: it does not hold vacuum back.
    NotABlocker,
}

impl ExclusionReason {
    /// Whether naming the session with `--pid` makes `--execute` refuse to run at all: pgvac
    /// cannot prove it is the session to end.
    pub fn refuses(&self) -> bool {
        matches!(
            self,
            ExclusionReason::Hidden
                | ExclusionReason::StartTimeHidden
                | ExclusionReason::UnprovenTempOwner { .. }
        )
    }
}

impl std::fmt::Display for ExclusionReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExclusionReason::Gone => f.write_str("no longer in pg_stat_activity"),
            ExclusionReason::OwnSession => f.write_str("pgvac's own session"),
            ExclusionReason::ParallelWorker => {
                f.write_str("a parallel worker: its leader is the one to end")
            }
            ExclusionReason::AutovacuumWorker => {
                f.write_str("an autovacuum worker: never terminated")
            }
            ExclusionReason::Walsender => {
                f.write_str("a walsender: end replication on its standby or drop its slot instead")
            }
            ExclusionReason::BackgroundProcess(kind) => {
                write!(f, "a {kind} process, not a client session")
            }
            ExclusionReason::Hidden => f.write_str(
                "its type and start time are hidden from pgvac's role (GRANT pg_read_all_stats), \
                 so it cannot be identified safely",
            ),
            ExclusionReason::StartTimeHidden => f.write_str(
                "its start time is hidden from pgvac's role (GRANT pg_read_all_stats), so it \
                 cannot be identified safely",
            ),
            ExclusionReason::OutsideFilters => f.write_str("outside the filters"),
            ExclusionReason::Backup => {
                f.write_str("a backup (pg_dump): left alone unless named with --pid")
            }
            ExclusionReason::Maintenance => {
                f.write_str("a maintenance command: left alone unless named with --pid")
            }
            ExclusionReason::UnprovenTempOwner { schema, database } => write!(
                f,
                "it has the backend id of {schema} in {database}, which does not prove it owns \
                 those temporary tables (`pgvac sessions` says why): ending it could kill an \
                 innocent session and free nothing"
            ),
            ExclusionReason::NoSuchSession => f.write_str("no such session"),
            ExclusionReason::NotABlocker => f.write_str("does not hold vacuum back: left alone"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub targets: Vec<Target>,
    pub excluded: Vec<Excluded>,
}

/// Why a session can never be terminated by pgvac, if it cannot.
fn never_terminated(session: &Session) -> Option<ExclusionReason> {
    if session.is_pgvac {
        return Some(ExclusionReason::OwnSession);
    }
    if session
        .leader_pid
        .is_some_and(|leader| leader != session.pid)
    {
        return Some(ExclusionReason::ParallelWorker);
    }
    match session.backend_type.as_deref() {
        Some("client backend") => None,
        Some("autovacuum worker") => Some(ExclusionReason::AutovacuumWorker),
        Some("walsender") => Some(ExclusionReason::Walsender),
        Some(other) => Some(ExclusionReason::BackgroundProcess(other.to_string())),
        None => Some(ExclusionReason::Hidden),
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
        let exclude = |plan: &mut Plan, reason: ExclusionReason| {
            if named || filters.pids.is_empty() {
                plan.excluded.push(Excluded::new(pid, reason));
            }
        };
        let Some(session) = snapshot.sessions.iter().find(|s| s.pid == pid) else {
            exclude(&mut plan, ExclusionReason::Gone);
            continue;
        };
        if let Some(reason) = never_terminated(session) {
            exclude(&mut plan, reason);
            continue;
        }
        let Some(signal) = blocker.terminate_signal() else {
            exclude(&mut plan, ExclusionReason::StartTimeHidden);
            continue;
        };
        if !matches(session, blocker, filters, now) {
            if named {
                plan.excluded
                    .push(Excluded::new(pid, ExclusionReason::OutsideFilters));
            }
            continue;
        }
        if blocker.activity().only_by_pid() && !named {
            exclude(
                &mut plan,
                match blocker.activity() {
                    crate::analysis::blockers::Activity::Backup => ExclusionReason::Backup,
                    _ => ExclusionReason::Maintenance,
                },
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
                crate::analysis::blockers::Holder::TempTable { schema, .. } => schema.as_str(),
                _ => "a temporary schema",
            };
            plan.excluded.push(Excluded::new(
                pid,
                ExclusionReason::UnprovenTempOwner {
                    schema: schema.to_string(),
                    database: blocker.database.clone().unwrap_or_else(|| "?".to_string()),
                },
            ));
        }
    }
    for &pid in &filters.pids {
        if !seen.contains(&pid) {
            let reason = match snapshot.sessions.iter().find(|s| s.pid == pid) {
                None => ExclusionReason::NoSuchSession,
                Some(session) => never_terminated(session).unwrap_or(ExclusionReason::NotABlocker),
            };
            plan.excluded.push(Excluded::new(pid, reason));
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
    filters.narrows_by_itself() || blocker.severity >= crate::analysis::blockers::Severity::Warning
}

/// What happened to one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub pid: i32,
    pub outcome: OutcomeKind,
    pub detail: String,
    pub sql: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::blockers::tests::{at, idle_in_transaction, session, snapshot};
    use crate::analysis::blockers::{Thresholds, find_blockers};

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
        let reasons: Vec<&ExclusionReason> = plan.excluded.iter().map(|e| &e.reason).collect();
        for expected in [
            ExclusionReason::AutovacuumWorker,
            ExclusionReason::Walsender,
            ExclusionReason::BackgroundProcess("logical replication worker".to_string()),
            ExclusionReason::OwnSession,
        ] {
            assert!(
                reasons.contains(&&expected),
                "{expected:?} not in {reasons:?}"
            );
        }
        assert!(plan.excluded.iter().all(|e| !e.refused));
    }

    #[test]
    fn backups_maintenance_and_unproven_owners_are_ended_only_by_name_or_never() {
        use crate::analysis::blockers::tests::{candidate, hidden, temp_database};
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
