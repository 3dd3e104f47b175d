//! An autovacuum worker is running a forced anti-wraparound vacuum.
//!
//! ## What it checks
//!
//! Running vacuums (`pg_stat_progress_vacuum`) whose worker's query says
//! `(to prevent wraparound)`.
//!
//! ## Why it matters
//!
//! Such a vacuum is the server freezing a table that passed its freeze max age. It is normal, but
//! it behaves differently from an ordinary autovacuum: it is not cancelled when a conflicting lock
//! is requested, so DDL on the table (and everything queued behind that DDL) waits for it to
//! finish; and cancelling it by hand only makes the launcher start it again. Knowing it is running
//! explains such waits, and its progress shows when it will be done.
//!
//! ## How it is computed
//!
//! `pg_stat_activity.query LIKE '%(to prevent wraparound)%'` for the vacuum's pid, with the
//! progress columns (`heap_blks_scanned / heap_blks_total`, `index_vacuum_count`, phase) and the
//! run time since `xact_start`. Info: it is the normal cycle. Needs `pg_read_all_stats` (or
//! `pg_monitor`) to see the query of another role's backend; without it the flag is unknown and
//! nothing is reported.
//!
//! ## Fix
//!
//! Let it finish. If it holds up DDL, postpone the DDL. If it is too slow, give the table its own
//! cost settings (TABLE004) or more memory (CONFIG005), which apply to its next run; a running
//! vacuum keeps its settings.
//!
//! ## Version notes
//!
//! The same in 12-18. From 14, past `vacuum_failsafe_age` the vacuum stops throttling and skips
//! index cleanup by itself.
//!
//! ## Source
//!
//! - PostgreSQL, "Preventing Transaction ID Wraparound Failures":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
//! - RDS guide, "Determining if autovacuum is currently running and for how long":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::findings::{Finding, Recommendation, Severity};
use crate::analysis::rules::run::vacuum_running_over_a_day::{describe, progress_evidence};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "RUN001",
    name: "anti-wraparound-vacuum-running",
    category: Category::Running,
    severity: Severity::Info,
    source: include_str!("anti_wraparound_vacuum_running.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    context
        .snapshot
        .running_vacuums
        .iter()
        .filter(|v| v.is_wraparound == Some(true))
        .map(|vacuum| {
            let mut finding = RULE.finding(
                crate::analysis::rules::run::vacuum_running_over_a_day::object(vacuum),
                format!(
                    "anti-wraparound autovacuum of {}",
                    describe(context, vacuum)
                ),
            );
            finding.evidence.extend(progress_evidence(context, vacuum));
            finding.recommend(Recommendation::text(
                "Let it finish: it is not cancelled by lock requests, and a cancelled one starts \
                 again. Postpone DDL on the table until it is done.",
            ))
        })
        .collect()
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::Fx;
    use crate::analysis::rules::run::vacuum_running_over_a_day::running;
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "a wraparound worker",
            Fx::new(17).with(|s| running(s, 2, true, 0)).done(),
        )],
        quiet: vec![(
            "an ordinary autovacuum",
            Fx::new(17).with(|s| running(s, 2, false, 0)).done(),
        )],
    }
}
