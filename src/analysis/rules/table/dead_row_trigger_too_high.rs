//! A large table that churns lets dead rows reach a large share of it before autovacuum runs.
//!
//! ## What it checks
//!
//! Large tables (at least 1,000,000 rows) that are updated or deleted from (updates plus deletes
//! since the statistics reset, or dead rows now, at least 5% of the rows) and whose dead-row
//! trigger is above 5% of the table: under the default `autovacuum_vacuum_scale_factor = 0.2` a
//! vacuum comes only after 20% of the table is dead (10% with RDS's 0.1).
//!
//! ## Why it matters
//!
//! Dead rows take space until vacuum removes them: the table and its indexes bloat, scans read
//! more pages, and the longer the wait the longer each vacuum runs and the more memory it needs.
//! A scale factor is a share of the table, so the bigger the table the more dead rows the default
//! lets pile up: 400,000 on a 2-million-row table, 200 million on a billion-row one.
//!
//! ## How it is computed
//!
//! The trigger is the autovacuum model's, exactly as the server computes it:
//! `autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor * reltuples` (capped by
//! `autovacuum_vacuum_max_threshold` on 18), reloptions over server settings, TOAST tables with
//! their own `toast.*` options. The recommended trigger is `threshold + 0.02 * reltuples`, capped
//! at the dead rows one vacuum pass holds in the effective work memory of the workers of the
//! table's database (`work_mem_bytes / 6`), in which case the scale factor becomes 0 and the threshold that cap
//! (rounded down to two significant digits). The constants, and why:
//!
//! - **1,000,000 rows** ("large"): below it the default trigger is at most 200,000 dead rows,
//!   which one pass with the default 64 MB (about 11 million dead rows) handles easily; small
//!   tables get no advice, so there is no noise.
//! - **5%** (advise above): the default 20% and RDS's 10% qualify; a table already tuned to a few
//!   percent does not. The same 5% of the rows in updates plus deletes (or in dead rows now) is
//!   what makes a table "churn": a static table gets nothing.
//! - **2%** (recommended share): the RDS guide's per-table example lowers a large table's scale
//!   factor from 5% to 2%. The base threshold is kept as it is.
//! - **6 bytes** per dead row: the size of a TID in vacuum's dead-row array before 17, so
//!   `work_mem_bytes / 6` dead rows fit in one pass; 17's TID store needs less, so the cap is
//!   conservative there.
//!
//! Observed churn (`n_tup_upd + n_tup_del` since the statistics reset, `n_dead_tup` now, and the
//! number of vacuums since the reset) decides whether the table qualifies and is in the evidence.
//! Severity: warning when the table holds more dead rows now than the recommended trigger (it is
//! bloated beyond the target today), info otherwise. When the analyze trigger also qualifies
//! (TABLE002's test), the same statement lowers it too, so a table gets one finding and one
//! statement.
//!
//! ## Fix
//!
//! `ALTER TABLE schema.table SET (autovacuum_vacuum_scale_factor = 0.02,
//! autovacuum_vacuum_threshold = 50);` (values per table). It takes a SHARE UPDATE EXCLUSIVE
//! lock (reads and writes go on, but it waits for a running vacuum of the table, hence the
//! `lock_timeout`), needs no reload, and applies from autovacuum's next look at the table. It
//! does not remove today's bloat: the next autovacuum will (soon, as the lower trigger is
//! exceeded).
//!
//! ## Version notes
//!
//! 18 adds `autovacuum_vacuum_max_threshold` (100,000,000 rows by default), which caps the
//! trigger of very large tables; the advice takes the capped trigger as the current one.
//!
//! ## Source
//!
//! - RDS guide, "Setting autovacuum parameters per table" (lower the scale factor of large
//!   tables, 5% to 2%):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "The Autovacuum Daemon":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#AUTOVACUUM
//! - `relation_needs_vacanalyze` in src/backend/postmaster/autovacuum.c.

use crate::analysis::findings::{Finding, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning;

pub const RULE: Rule = Rule {
    code: "TABLE001",
    name: "dead-row-trigger-too-high",
    category: Category::Table,
    severity: Severity::Info,
    source: include_str!("dead_row_trigger_too_high.rs"),
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
        let Some(dead) = &plan.dead_rows else {
            continue;
        };
        let dead_now = view.autovacuum.dead_rows.count.unwrap_or(0);
        let mut finding = RULE
            .finding(
                view.object(),
                tuning::trigger_message(&view, "vacuum is due only after", "dead rows", dead),
            )
            .with("reltuples", view.autovacuum.reltuples.round() as i64)
            .with("n_dead_tup", dead_now);
        if dead_now as f64 > dead.recommended_rows {
            finding.severity = Severity::Warning;
        }
        let advice: Vec<_> = std::iter::once(dead).chain(&plan.analyze).collect();
        out.push(tuning::advised_finding(
            finding,
            context,
            &view,
            "Vacuum this table after a bounded number of dead rows",
            &advice,
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
            .dead(300_000)
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "2M rows churning under defaults (17)",
                Fx::new(17).table(churn()).done(),
            ),
            (
                "2M rows churning under defaults (12)",
                Fx::new(12).table(churn()).done(),
            ),
            (
                "RDS's 0.1 still lets 10% pile up",
                Fx::new(16)
                    .rds()
                    .set("autovacuum_vacuum_scale_factor", "0.1")
                    .table(churn())
                    .done(),
            ),
        ],
        quiet: vec![
            (
                "a small churning table",
                Fx::new(17)
                    .table(T::new("orders").rows(50_000).updated(400_000).dead(5_000))
                    .done(),
            ),
            (
                "a large static table",
                Fx::new(17).table(T::new("archive").rows(5_000_000)).done(),
            ),
            (
                "already tuned to 2%",
                Fx::new(17)
                    .table(
                        churn()
                            .option("autovacuum_vacuum_scale_factor=0.02")
                            .option("autovacuum_analyze_scale_factor=0.02"),
                    )
                    .done(),
            ),
            (
                "autovacuum disabled on the table (TABLE005's case)",
                Fx::new(17)
                    .table(churn().option("autovacuum_enabled=false"))
                    .done(),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::findings::Severity;
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::{Fx, T};

    #[test]
    fn recommends_two_percent_with_analyze_in_one_statement() {
        let snapshot = Fx::new(17)
            .table(
                T::new("orders")
                    .rows(2_000_000)
                    .updated(600_000)
                    .dead(300_000),
            )
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(found.len(), 1);
        let f = &found[0];
        assert_eq!(
            f.severity,
            Severity::Warning,
            "300k dead > 40,050 recommended"
        );
        let sql = f
            .recommendation
            .as_ref()
            .and_then(|r| r.sql.clone())
            .unwrap();
        assert_eq!(
            sql,
            "SET lock_timeout = '5s';\nALTER TABLE public.orders SET (\
             autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 50, \
             autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 50);"
        );
        assert!(f.message.contains("400,050 dead rows"), "{}", f.message);
        assert!(f.message.contains("recommended 40,050"), "{}", f.message);
    }

    #[test]
    fn caps_at_one_pass_of_work_memory() {
        // 2% of a billion rows is 20M dead rows; 64 MB holds 11,184,810.
        let snapshot = Fx::new(16)
            .table(
                T::new("huge")
                    .rows(1_000_000_000)
                    .updated(100_000_000)
                    .dead(1_000),
            )
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        let sql = found[0]
            .recommendation
            .as_ref()
            .and_then(|r| r.sql.clone())
            .unwrap();
        assert!(
            sql.contains(
                "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 11000000"
            ),
            "{sql}"
        );
        assert_eq!(found[0].severity, Severity::Info);
    }

    #[test]
    fn toast_tables_are_tuned_through_their_owner() {
        let mut toast = T::new("pg_toast_20001")
            .schema("pg_toast")
            .kind(crate::snapshot::RelKind::Toast)
            .rows(3_000_000)
            .deleted(900_000)
            .dead(900_000);
        toast.0.owner_oid = Some(777);
        let mut owner = T::new("Documents").rows(10_000);
        owner.0.oid = 777;
        let snapshot = Fx::new(15).table(owner).table(toast).done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(found.len(), 1);
        let sql = found[0]
            .recommendation
            .as_ref()
            .and_then(|r| r.sql.clone())
            .unwrap();
        assert!(
            sql.contains(
                "ALTER TABLE public.\"Documents\" SET (toast.autovacuum_vacuum_scale_factor = 0.02"
            ),
            "{sql}"
        );
        assert!(
            !sql.contains("analyze"),
            "TOAST tables are never analyzed: {sql}"
        );
    }
}
