//! A partitioned table has never been analyzed: autovacuum never analyzes one.
//!
//! ## What it checks
//!
//! Partitioned tables (14+) whose statistics show no `ANALYZE` ever (`last_analyze` and
//! `last_autoanalyze` both empty).
//!
//! ## Why it matters
//!
//! Autovacuum analyzes the partitions, never their parent: a partitioned table holds no rows of
//! its own, so no count of its changes ever reaches a trigger. Yet the planner uses the parent's
//! statistics (collected over all partitions) for queries on the partitioned table as a whole,
//! joins and aggregates across partitions included. Without them it falls back to default
//! estimates, which can pick bad join orders and methods.
//!
//! ## How it is computed
//!
//! `pg_stat_all_tables` for the partitioned table (it has a row from 14 on): both analyze times
//! empty. Partitions are not looked at (the snapshot does not link them to their parent), so an
//! empty partitioned table fires too: its `ANALYZE` is instant. Reported at info: whether the
//! parent's statistics matter depends on the queries.
//!
//! ## Fix
//!
//! `ANALYZE schema.table;` (SHARE UPDATE EXCLUSIVE on the parent and, while each is sampled, its
//! partitions; reads a sample of every partition), then schedule it (e.g. nightly, or after
//! large loads) with cron or pg_cron: autovacuum never will.
//!
//! ## Version notes
//!
//! 12-13: `pg_stat_all_tables` leaves partitioned tables out and their `ANALYZE` updates neither
//! `pg_class` nor the statistics views pgvac reads, so pgvac cannot tell whether one was
//! analyzed and says nothing; the advice above applies all the same.
//!
//! ## Source
//!
//! - PostgreSQL, "The Autovacuum Daemon" (partitioned tables are not processed by autovacuum;
//!   run ANALYZE on them manually):
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-STATISTICS
//! - `do_analyze_rel` in src/backend/commands/analyze.c (14+ reports the analyze of a
//!   partitioned table).

use crate::analysis::findings::{Finding, Needs, Recommendation, RunOn, Safety, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::snapshot::RelKind;

pub const RULE: Rule = Rule {
    code: "TABLE007",
    name: "partitioned-table-never-analyzed",
    category: Category::Table,
    severity: Severity::Info,
    source: include_str!("partitioned_table_never_analyzed.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for view in context.tables() {
        if view.table.kind != RelKind::PartitionedTable {
            continue;
        }
        // 12-13 have no statistics row for it: unknown, not never.
        let Some(stats) = view.table.stats.as_ref() else {
            continue;
        };
        if stats.last_analyze.is_some() || stats.last_autoanalyze.is_some() {
            continue;
        }
        let name = view.sql_name();
        out.push(
            RULE.finding(
                view.object(),
                "partitioned table never analyzed: autovacuum analyzes its partitions, never \
                 it, and the planner uses its statistics for queries on the whole table",
            )
            .recommend(Recommendation {
                text: "Analyze it now and on a schedule (nightly, or after large loads): \
                       autovacuum never will."
                    .to_string(),
                sql: Some(format!("ANALYZE {name};")),
                safety: Safety::Safe,
                lock: Some(
                    "SHARE UPDATE EXCLUSIVE on the table and, while each is sampled, its \
                     partitions: reads and writes go on, DDL waits"
                        .to_string(),
                ),
                needs: Needs::None,
                settings: Vec::new(),
                destructive: false,
                run_on: Some(RunOn::database(&view.database.name)),
                signals: Vec::new(),
            }),
        );
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let parent = || {
        let mut t = T::new("measurements").kind(RelKind::PartitionedTable);
        t.0.xid_age = None;
        t.0.mxid_age = None;
        t
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "a partitioned table never analyzed on 16",
            Fx::new(16).table(parent()).done(),
        )],
        quiet: vec![
            (
                "analyzed by hand",
                Fx::new(16)
                    .table(parent())
                    .with(|s| {
                        let now = s.server.collected_at;
                        let app = s.databases.iter_mut().find(|d| d.name == "app").unwrap();
                        app.tables[0].stats.as_mut().unwrap().last_analyze = Some(now);
                    })
                    .done(),
            ),
            (
                "13: no statistics row, nothing known",
                Fx::new(13)
                    .table(parent())
                    .with(|s| {
                        let app = s.databases.iter_mut().find(|d| d.name == "app").unwrap();
                        app.tables[0].stats = None;
                    })
                    .done(),
            ),
        ],
    }
}
