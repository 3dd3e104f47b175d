//! Autovacuum is disabled for a table.
//!
//! ## What it checks
//!
//! Tables, materialized views and TOAST tables with `autovacuum_enabled = false` (on the table, or
//! `toast.autovacuum_enabled = false` for its TOAST table).
//!
//! ## Why it matters
//!
//! Autovacuum then neither vacuums nor analyzes the table: dead rows pile up (bloat), statistics
//! go stale, and the visibility map is not kept. Only the forced anti-wraparound vacuum still
//! runs, and it comes late and has the whole backlog to do. Disabling is sometimes meant for a
//! bulk load and then forgotten.
//!
//! ## How it is computed
//!
//! The autovacuum model's effective `autovacuum_enabled`: the table's reloption; for a TOAST
//! table, its own `toast.autovacuum_enabled` or, when it has no options of its own, its owner's
//! (then only the owner is reported). Severity: warning when a vacuum or analyze trigger is
//! exceeded (autovacuum would be working on the table now if it could), info otherwise. The
//! evidence shows the dead rows and the trigger they would have fired at.
//!
//! ## Fix
//!
//! `ALTER TABLE schema.table RESET (autovacuum_enabled);` (or `toast.autovacuum_enabled`):
//! SHARE UPDATE EXCLUSIVE, no reload; autovacuum takes the table on its next round. If the table
//! is disabled on purpose (e.g. a staging table vacuumed by a job), keep it and vacuum it on a
//! schedule.
//!
//! ## Version notes
//!
//! The same in 12-18.
//!
//! ## Source
//!
//! - PostgreSQL, "Storage Parameters" (`autovacuum_enabled`):
//!   https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-STORAGE-PARAMETERS
//! - RDS guide, "Setting autovacuum parameters per table":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::autovacuum::{OptionSource, Reach, WraparoundOnlyBecause};
use crate::analysis::findings::RunOn;
use crate::analysis::findings::{Finding, Needs, Recommendation, Safety, Severity, group_digits};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::{ALTER_LOCK, display_name, target};

pub const RULE: Rule = Rule {
    code: "TABLE005",
    name: "table-autovacuum-disabled",
    category: Category::Table,
    severity: Severity::Info,
    source: include_str!("table_autovacuum_disabled.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for view in context.tables() {
        let eval = view.autovacuum;
        let source = match eval.reach {
            Reach::WraparoundOnly(WraparoundOnlyBecause::DisabledForTable(source)) => source,
            _ => continue,
        };
        if source == OptionSource::OwningTable {
            continue;
        }
        let Some((keyword, sql_name, prefix)) = target(&view) else {
            continue;
        };
        let dead = eval.dead_rows.count.unwrap_or(0);
        let overdue = eval.dead_rows.exceeded
            || eval.inserts.as_ref().is_some_and(|t| t.exceeded)
            || eval.analyze.as_ref().is_some_and(|t| t.exceeded);
        let name = display_name(&view);
        let mut finding = RULE
            .finding(
                view.object(),
                format!(
                    "autovacuum is disabled for {name}: {} dead rows, its trigger would be {}",
                    group_digits(dead),
                    group_digits(eval.dead_rows.rows.round() as i64)
                ),
            )
            .with("option", format!("{prefix}autovacuum_enabled = false"))
            .with("n_dead_tup", dead)
            .with("dead_row_trigger_rows", eval.dead_rows.rows.round() as i64)
            .with("trigger_exceeded", overdue);
        if let Some(last) = view
            .table
            .stats
            .as_ref()
            .and_then(|s| s.last_vacuum.max(s.last_autovacuum))
        {
            finding = finding.with("last_vacuum", last.to_rfc3339());
        }
        if overdue {
            finding.severity = Severity::Warning;
        }
        out.push(finding.recommend(Recommendation {
            text: format!(
                "Let autovacuum look after {name} again (unless it is disabled on purpose and \
                 vacuumed by a job)."
            ),
            sql: Some(format!(
                "SET lock_timeout = '5s';\nALTER {keyword} {sql_name} RESET ({prefix}autovacuum_enabled);"
            )),
            safety: Safety::Safe,
            lock: Some(ALTER_LOCK.to_string()),
            needs: Needs::None,
            settings: Vec::new(),
            destructive: false,
            run_on: Some(RunOn::database(&view.database.name)),
            signals: Vec::new(),
        }));
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "disabled with dead rows past the trigger",
                Fx::new(15)
                    .table(
                        T::new("staging")
                            .rows(10_000)
                            .dead(5_000)
                            .option("autovacuum_enabled=false"),
                    )
                    .done(),
            ),
            (
                "disabled, idle",
                Fx::new(12)
                    .table(T::new("staging").rows(10).option("autovacuum_enabled=off"))
                    .done(),
            ),
        ],
        quiet: vec![
            (
                "enabled explicitly",
                Fx::new(15)
                    .table(
                        T::new("staging")
                            .rows(10_000)
                            .option("autovacuum_enabled=true"),
                    )
                    .done(),
            ),
            (
                "autovacuum off server-wide (CONFIG001's case)",
                Fx::new(15)
                    .set("autovacuum", "off")
                    .table(T::new("staging").rows(10_000))
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
    fn severity_follows_the_backlog_and_sql_resets_the_option() {
        let snapshot = Fx::new(16)
            .table(
                T::new("Busy")
                    .rows(10_000)
                    .dead(5_000)
                    .option("autovacuum_enabled=false"),
            )
            .table(
                T::new("idle")
                    .rows(10_000)
                    .option("autovacuum_enabled=false"),
            )
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(found.len(), 2);
        let busy = found.iter().find(|f| f.message.contains("Busy")).unwrap();
        let idle = found.iter().find(|f| f.message.contains("idle")).unwrap();
        assert_eq!(busy.severity, Severity::Warning);
        assert_eq!(idle.severity, Severity::Info);
        assert_eq!(
            busy.recommendation
                .as_ref()
                .and_then(|r| r.sql.clone())
                .unwrap(),
            "SET lock_timeout = '5s';\nALTER TABLE public.\"Busy\" RESET (autovacuum_enabled);"
        );
    }
}
