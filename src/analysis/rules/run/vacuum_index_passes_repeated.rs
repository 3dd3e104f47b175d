//! A running vacuum has had to scan the table's indexes more than once: its memory is too small.
//!
//! ## What it checks
//!
//! Running vacuums with `index_vacuum_count >= 2`, or with at least one index pass while still in
//! the `scanning heap` phase (the memory filled before the heap was done).
//!
//! ## Why it matters
//!
//! Each index pass reads every index of the table in full. A vacuum that needs several is many
//! times slower than one with enough memory, and on large tables this is the common cause of
//! vacuums that run for days.
//!
//! ## How it is computed
//!
//! `pg_stat_progress_vacuum.index_vacuum_count` and `phase`. The fix uses the effective work
//! memory of the workers of the vacuum's database (`autovacuum_work_mem`, -1 resolved to
//! `maintenance_work_mem` as they have it, with that database's and the bootstrap superuser's
//! settings; 1 GB cap before 17); a manual `VACUUM` uses its own session's
//! `maintenance_work_mem` instead.
//!
//! ## Fix
//!
//! Raise `autovacuum_work_mem` (to double its current value here, up to 1 GB before 17) with
//! `ALTER SYSTEM` and a reload, or in the RDS/Aurora parameter group; the running vacuum keeps its
//! memory, the next one gets the new value. For a manual `VACUUM`, `SET maintenance_work_mem` in
//! its session first.
//!
//! ## Version notes
//!
//! 17's TID store holds far more dead rows in the same memory and has no 1 GB cap, so several
//! passes are rarer there.
//!
//! ## Source
//!
//! - RDS guide, "Allocating memory for autovacuum":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "VACUUM Progress Reporting":
//!   https://www.postgresql.org/docs/current/progress-reporting.html#VACUUM-PROGRESS-REPORTING

use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::run::vacuum_running_over_a_day::{describe, object, progress_evidence};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "RUN003",
    name: "vacuum-index-passes-repeated",
    category: Category::Running,
    severity: Severity::Warning,
    source: include_str!("vacuum_index_passes_repeated.rs"),
    check,
    #[cfg(test)]
    examples,
};

const MB: i64 = 1024 * 1024;

fn check(context: &Context) -> Vec<Finding> {
    context
        .snapshot
        .running_vacuums
        .iter()
        .filter(|v| {
            let passes = v.index_vacuum_count.unwrap_or(0);
            passes >= 2 || (passes >= 1 && v.phase.as_deref() == Some("scanning heap"))
        })
        .map(|vacuum| {
            // What the workers of the vacuum's database have.
            let work_mem = context
                .workers_in(vacuum.database.as_deref())
                .work_mem_bytes
                .value;
            let mut recommended = (work_mem * 2).max(128 * MB);
            if context.major() < 17 {
                recommended = recommended.min(1024 * MB);
            }
            let mut finding = RULE.finding(
                object(vacuum),
                format!(
                    "vacuum on its index pass {}: {}",
                    vacuum.index_vacuum_count.unwrap_or(0),
                    describe(context, vacuum)
                ),
            );
            finding.evidence.extend(progress_evidence(context, vacuum));
            finding = finding.with("work_mem_bytes", work_mem);
            let fix = if recommended > work_mem {
                context.change_settings(
                    &[("autovacuum_work_mem", format!("{}MB", recommended / MB))],
                    "Give the next vacuum enough memory for fewer index passes.",
                )
            } else {
                crate::analysis::findings::Recommendation::text(
                    "The memory is at the 1 GB a vacuum can use before 17: lower the table's \
                     dead-row trigger (TABLE001) so vacuums come sooner.",
                )
            };
            finding.recommend(fix)
        })
        .collect()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    use crate::analysis::rules::run::vacuum_running_over_a_day::running;
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "3 passes",
                Fx::new(14).with(|s| running(s, 5, false, 3)).done(),
            ),
            (
                "1 pass before the heap is done",
                Fx::new(14).with(|s| running(s, 5, false, 1)).done(),
            ),
        ],
        quiet: vec![(
            "no pass yet",
            Fx::new(14).with(|s| running(s, 5, false, 0)).done(),
        )],
    }
}
