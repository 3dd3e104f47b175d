//! A vacuum has been running for more than a day.
//!
//! ## What it checks
//!
//! Running vacuums (autovacuum or manual) whose transaction started more than 24 hours before the
//! snapshot.
//!
//! ## Why it matters
//!
//! A vacuum that runs for days holds a worker (one of only `autovacuum_max_workers`) and leaves
//! its table unvacuumed until it ends. (It does not hold the xmin horizon back: the server skips
//! a lazy vacuum, `PROC_IN_VACUUM`, when it computes the horizon.) The RDS guide's usual
//! causes: too little work memory for the table (several index passes, see RUN003), too strict a
//! cost budget for its size, or very large indexes.
//!
//! ## How it is computed
//!
//! `now - pg_stat_activity.xact_start` of the vacuum's backend > 24 h, with its progress
//! (`heap_blks_scanned / heap_blks_total`, phase, `index_vacuum_count`). Needs
//! `pg_read_all_stats` to see another role's start time.
//!
//! ## Fix
//!
//! Check its progress and index passes. With several passes, raise `autovacuum_work_mem`
//! (CONFIG005) for its next run; if it is throttled, give the table its own cost settings
//! (TABLE004). An ordinary autovacuum can be cancelled with `pg_cancel_backend(pid)` and will
//! restart with new settings, losing the work done; an anti-wraparound one is better left to
//! finish.
//!
//! ## Version notes
//!
//! The progress columns changed in 17 (dead tuple bytes instead of counts); the run time does not
//! depend on them.
//!
//! ## Source
//!
//! - RDS guide, "Determining if autovacuum is currently running and for how long":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "VACUUM Progress Reporting":
//!   https://www.postgresql.org/docs/current/progress-reporting.html#VACUUM-PROGRESS-REPORTING

use chrono::Duration;

use crate::analysis::findings::{Finding, Object, Recommendation, Severity, Value};
use crate::analysis::rules::{Category, Context, Rule};
use crate::snapshot::RunningVacuum;

pub const RULE: Rule = Rule {
    code: "RUN002",
    name: "vacuum-running-over-a-day",
    category: Category::Running,
    severity: Severity::Warning,
    source: include_str!("vacuum_running_over_a_day.rs"),
    check,
    #[cfg(test)]
    examples,
};

const LONG_HOURS: i64 = 24;

fn check(context: &Context) -> Vec<Finding> {
    let now = context.snapshot.server.collected_at;
    context
        .snapshot
        .running_vacuums
        .iter()
        .filter(|v| {
            v.started_at
                .is_some_and(|t| now - t > Duration::hours(LONG_HOURS))
        })
        .map(|vacuum| {
            let mut finding = RULE.finding(
                object(vacuum),
                format!(
                    "vacuum running for over a day: {}",
                    describe(context, vacuum)
                ),
            );
            finding.evidence.extend(progress_evidence(context, vacuum));
            finding.recommend(Recommendation::text(
                "Check its index passes (RUN003) and throttling (TABLE004); give its next run \
                 more memory or its own cost settings.",
            ))
        })
        .collect()
}

/// The backend running the vacuum.
pub fn object(vacuum: &RunningVacuum) -> Object {
    Object::Session {
        pid: vacuum.pid,
        database: vacuum.database.clone(),
    }
}

/// `db: schema.table (pid 123), 45% of the heap scanned, running 26 h`.
pub fn describe(context: &Context, vacuum: &RunningVacuum) -> String {
    let relation = vacuum
        .relation
        .clone()
        .unwrap_or_else(|| match vacuum.relid {
            Some(oid) => format!("relation {oid}"),
            None => "a relation hidden from pgvac's role".to_string(),
        });
    let mut text = format!(
        "{}: {relation} (pid {})",
        vacuum.database.as_deref().unwrap_or("?"),
        vacuum.pid
    );
    if let (Some(scanned), Some(total)) = (vacuum.heap_blks_scanned, vacuum.heap_blks_total)
        && total > 0
    {
        text.push_str(&format!(
            ", {:.0}% of the heap scanned",
            100.0 * scanned as f64 / total as f64
        ));
    }
    if let Some(start) = vacuum.started_at {
        let hours = (context.snapshot.server.collected_at - start).num_minutes() as f64 / 60.0;
        text.push_str(&format!(", running {hours:.1} h"));
    }
    text
}

/// The progress numbers of a running vacuum, for the evidence.
pub fn progress_evidence(context: &Context, vacuum: &RunningVacuum) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = Vec::new();
    let mut push = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.push((key.to_string(), value));
        }
    };
    push("relation", vacuum.relation.clone().map(Value::Text));
    push("phase", vacuum.phase.clone().map(Value::Text));
    push(
        "running_seconds",
        vacuum
            .started_at
            .map(|t| Value::Int((context.snapshot.server.collected_at - t).num_seconds())),
    );
    push("heap_blks_total", vacuum.heap_blks_total.map(Value::Int));
    push(
        "heap_blks_scanned",
        vacuum.heap_blks_scanned.map(Value::Int),
    );
    push(
        "index_vacuum_count",
        vacuum.index_vacuum_count.map(Value::Int),
    );
    push("is_wraparound", vacuum.is_wraparound.map(Value::Bool));
    out
}

/// Test helper: add a running vacuum of `public.big`, started `hours` ago.
#[cfg(test)]
pub fn running(
    snapshot: &mut crate::snapshot::Snapshot,
    hours: i64,
    wraparound: bool,
    index_passes: i64,
) {
    let now = snapshot.server.collected_at;
    let pid = 4000 + snapshot.running_vacuums.len() as i32;
    snapshot.running_vacuums.push(RunningVacuum {
        pid,
        database: Some("app".into()),
        relid: Some(30000),
        relation: Some("public.big".into()),
        phase: Some("scanning heap".into()),
        is_autovacuum: Some(true),
        is_wraparound: Some(wraparound),
        backend_type: Some("autovacuum worker".into()),
        query: Some(if wraparound {
            "autovacuum: VACUUM public.big (to prevent wraparound)".into()
        } else {
            "autovacuum: VACUUM public.big".into()
        }),
        started_at: Some(now - Duration::hours(hours)),
        heap_blks_total: Some(1_000_000),
        heap_blks_scanned: Some(450_000),
        heap_blks_vacuumed: Some(400_000),
        index_vacuum_count: Some(index_passes),
        max_dead_tuples: None,
        num_dead_tuples: None,
        max_dead_tuple_bytes: None,
        dead_tuple_bytes: None,
        num_dead_item_ids: None,
        indexes_total: None,
        indexes_processed: None,
        delay_time: None,
    });
    let mut session = snapshot.sessions[0].clone();
    session.pid = pid;
    session.backend_type = Some("autovacuum worker".into());
    session.database = Some("app".into());
    session.xact_start = Some(now - Duration::hours(hours));
    snapshot.sessions.push(session);
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "running 30 h",
            Fx::new(15).with(|s| running(s, 30, false, 0)).done(),
        )],
        quiet: vec![(
            "running 2 h",
            Fx::new(15).with(|s| running(s, 2, false, 0)).done(),
        )],
    }
}
