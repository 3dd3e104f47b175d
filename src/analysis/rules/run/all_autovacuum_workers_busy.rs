//! Every autovacuum worker is busy.
//!
//! ## What it checks
//!
//! The number of autovacuum workers in `pg_stat_activity` against `autovacuum_max_workers`.
//!
//! ## Why it matters
//!
//! While all workers are busy, no other table is vacuumed, however far past its trigger. A moment
//! with all workers busy is normal; tables waiting meanwhile (due now and not being vacuumed) mean
//! autovacuum is behind at this moment, and if it lasts, CONFIG006 reports it.
//!
//! ## How it is computed
//!
//! Backends with `backend_type = 'autovacuum worker'` (vacuuming or analyzing) >=
//! `autovacuum_max_workers`. Severity: warning when at least one other table is due now by the
//! autovacuum model and has no vacuum running, info otherwise. Without `pg_read_all_stats` other
//! roles' backend types are hidden and the count may be short.
//!
//! ## Fix
//!
//! If it lasts: raise `autovacuum_max_workers` together with `autovacuum_vacuum_cost_limit`
//! (CONFIG006 computes both), or give the largest tables their own cost settings (TABLE004) so
//! they finish sooner.
//!
//! ## Version notes
//!
//! 18: `autovacuum_max_workers` is reloadable up to `autovacuum_worker_slots`, and RDS adaptive
//! autovacuum may raise it by itself past 1 billion.
//!
//! ## Source
//!
//! - RDS guide, "Determining if autovacuum is currently running and for how long":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, `autovacuum_max_workers`:
//!   https://www.postgresql.org/docs/current/runtime-config-autovacuum.html

use crate::analysis::autovacuum::Reach;
use crate::analysis::findings::{Finding, Object, Recommendation, Severity};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "RUN004",
    name: "all-autovacuum-workers-busy",
    category: Category::Running,
    severity: Severity::Info,
    source: include_str!("all_autovacuum_workers_busy.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let busy = context
        .snapshot
        .sessions
        .iter()
        .filter(|s| s.backend_type.as_deref() == Some("autovacuum worker"))
        .count() as i64;
    let workers = context.settings.max_workers;
    if busy < workers || workers <= 0 {
        return Vec::new();
    }
    let waiting = context
        .tables()
        .filter(|v| v.autovacuum.reach == Reach::Thresholds && v.autovacuum.vacuum_due)
        .filter(|v| {
            !context.snapshot.running_vacuums.iter().any(|r| {
                r.relid == Some(v.table.oid) && r.database.as_deref() == Some(&v.database.name)
            })
        })
        .count() as i64;
    let mut finding = RULE
        .finding(
            Object::Cluster,
            format!(
                "all {workers} autovacuum workers are busy; {waiting} more table(s) due and waiting"
            ),
        )
        .with("busy_workers", busy)
        .with("autovacuum_max_workers", workers)
        .with("tables_waiting", waiting)
        .recommend(Recommendation::text(
            "If this lasts, raise autovacuum_max_workers together with \
             autovacuum_vacuum_cost_limit (CONFIG006).",
        ));
    if waiting > 0 {
        finding.severity = Severity::Warning;
    }
    vec![finding]
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    use crate::analysis::rules::run::vacuum_running_over_a_day::running;
    let busy = |n: usize| {
        Fx::new(16).with(move |s| {
            for _ in 0..n {
                running(s, 1, false, 0);
            }
        })
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![("3 of 3 busy", busy(3).done())],
        quiet: vec![("2 of 3 busy", busy(2).done())],
    }
}
