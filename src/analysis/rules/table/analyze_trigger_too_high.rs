//! A large, changing table's statistics go stale for a large share of changes before autoanalyze.
//!
//! ## What it checks
//!
//! Large tables (at least 1,000,000 rows) that change (updates plus deletes at least 5% of the
//! rows, or append-only growth: inserts at least 5%) and whose analyze trigger is above 5% of the
//! table: the default `autovacuum_analyze_scale_factor = 0.1` waits for 10% of the rows to change
//! (5% with RDS's 0.05 does not qualify). Reported here only when TABLE001 and TABLE003 do not
//! already cover the table: those fold the analyze advice into their own statement, so a table
//! gets one finding.
//!
//! ## Why it matters
//!
//! The planner estimates row counts from the statistics ANALYZE gathers. On a large table the
//! newest values (today's dates, the latest IDs) are missing from stale statistics, and plans on
//! them go wrong well before 10% of the table has changed. ANALYZE reads a fixed-size sample
//! (300 x `default_statistics_target` rows) whatever the table's size, so running it more often
//! on a large table is cheap.
//!
//! ## How it is computed
//!
//! The analyze trigger is the autovacuum model's: `autovacuum_analyze_threshold +
//! autovacuum_analyze_scale_factor * reltuples`, reloptions over server settings; the counter is
//! `n_mod_since_analyze`. Recommended: `threshold + 0.02 * reltuples` (scale factor 0.02, the
//! threshold kept). Constants as in TABLE001: 1,000,000 rows (large), 5% (advise above, and the
//! share of changes that makes a table change), 2% (the RDS guide's example of a large table
//! whose plans degrade after a few percent of changes). TOAST tables and partitioned tables are
//! never analyzed by autovacuum and are left out.
//!
//! ## Fix
//!
//! `ALTER TABLE schema.table SET (autovacuum_analyze_scale_factor = 0.02,
//! autovacuum_analyze_threshold = 50);`: SHARE UPDATE EXCLUSIVE (reads and writes go on), no
//! reload. `ANALYZE schema.table;` refreshes the statistics at once if plans are already off.
//!
//! ## Version notes
//!
//! The same in 12-18. Partitioned tables (parents) are never analyzed by autovacuum in any
//! version and need a scheduled manual `ANALYZE`.
//!
//! ## Source
//!
//! - RDS guide, "Setting autovacuum parameters per table":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "Updating Planner Statistics":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-STATISTICS

use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning;

pub const RULE: Rule = Rule {
    code: "TABLE002",
    name: "analyze-trigger-too-high",
    category: Category::Table,
    severity: Severity::Info,
    source: include_str!("analyze_trigger_too_high.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for view in context.tables() {
        let Some(plan) = view.plan else {
            continue;
        };
        if plan.dead_rows.is_some() || plan.inserts.is_some() || plan.freeze.is_some() {
            continue;
        }
        let Some(analyze) = &plan.analyze else {
            continue;
        };
        let finding = RULE
            .finding(
                view.object(),
                tuning::trigger_message(
                    &view,
                    "autoanalyze is due only after",
                    "changed rows",
                    analyze,
                ),
            )
            .with("reltuples", view.autovacuum.reltuples.round() as i64)
            .with(
                "n_mod_since_analyze",
                view.autovacuum
                    .analyze
                    .as_ref()
                    .and_then(|t| t.count)
                    .unwrap_or(0),
            );
        out.push(tuning::advised_finding(
            finding,
            context,
            &view,
            "Refresh this table's statistics after a few percent of changes",
            &[analyze],
        ));
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let churn = || {
        T::new("orders")
            .rows(2_000_000)
            .updated(600_000)
            .dead(1_000)
            .option("autovacuum_vacuum_scale_factor=0.01")
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "vacuum already tuned, analyze not",
            Fx::new(14).table(churn()).done(),
        )],
        quiet: vec![
            (
                "both tuned",
                Fx::new(14)
                    .table(churn().option("autovacuum_analyze_scale_factor=0.02"))
                    .done(),
            ),
            (
                "neither tuned: TABLE001 covers both",
                Fx::new(14)
                    .table(T::new("orders").rows(2_000_000).updated(600_000))
                    .done(),
            ),
            (
                "a small table",
                Fx::new(14)
                    .table(T::new("orders").rows(20_000).updated(600_000))
                    .done(),
            ),
        ],
    }
}
