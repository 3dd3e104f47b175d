//! The vacuum failsafe fired: a table's relfrozenxid or relminmxid was dangerously old.
//!
//! ## What it checks
//!
//! Log entries `bypassing nonessential maintenance of table ... as a failsafe after N index
//! scans` and vacuum reports with `index scan bypassed by failsafe`, per table.
//!
//! ## Why it matters
//!
//! The failsafe fires when a table's `relfrozenxid` (or `relminmxid`) is older than
//! `vacuum_failsafe_age` (1.6 billion by default, never below 105% of
//! `autovacuum_freeze_max_age`): the cluster is on its way to refusing new transactions. Vacuum
//! then stops cleaning indexes and throttling itself, to freeze the table as fast as it can.
//! It is the last line of defence: something kept the table from being frozen for far too long.
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: the failsafe warnings, one finding per database naming the first
//! tables (by vacuum time), and one for warnings whose table the log does not name. Always
//! critical.
//!
//! ## Fix
//!
//! Let the failsafe vacuum finish (do not cancel it). Then find why the table got so old: what
//! held the horizon back (BLOCK findings, `pgvac sessions`), vacuums that were cancelled or
//! skipped (LOG001, LOG002), throttled or too-rare vacuums (TABLE004, WRAP findings). After the
//! failsafe its indexes were not cleaned: run `VACUUM (VERBOSE)` on the table once the age is
//! safe.
//!
//! ## Version notes
//!
//! The failsafe exists from 14 (`vacuum_failsafe_age`, `vacuum_multixact_failsafe_age`).
//!
//! ## Source
//!
//! - PostgreSQL, `vacuum_failsafe_age`:
//!   https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-VACUUM-FAILSAFE-AGE
//! - RDS guide, "Managing autovacuum with large indexes":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use std::collections::BTreeMap;

use crate::analysis::findings::{Finding, Object, Recommendation, Severity};
use crate::analysis::rules::logged::{object, window};
use crate::analysis::rules::{Category, Context, Rule};
use crate::logs::TableSummary;

pub const RULE: Rule = Rule {
    code: "LOG007",
    name: "vacuum-failsafe-triggered",
    category: Category::Log,
    severity: Severity::Critical,
    source: include_str!("vacuum_failsafe_triggered.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn fix() -> Recommendation {
    Recommendation::text(
        "Let the failsafe vacuum finish; then find what kept the table from being frozen \
         (blockers, cancelled or skipped vacuums, throttling) and VACUUM (VERBOSE) it once its age \
         is safe, since the failsafe skipped its index cleanup.",
    )
}

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    let mut by_database: BTreeMap<&str, Vec<&TableSummary>> = BTreeMap::new();
    for row in log.tables.iter().filter(|t| t.failsafe > 0) {
        by_database
            .entry(row.database.as_deref().unwrap_or("?"))
            .or_default()
            .push(row);
    }
    let mut found: Vec<Finding> = by_database
        .into_iter()
        .map(|(database, rows)| {
            let times: u64 = rows.iter().map(|r| r.failsafe).sum();
            let named: Vec<String> = rows
                .iter()
                .take(5)
                .map(|r| format!("{}.{}", r.schema.as_deref().unwrap_or("?"), r.name))
                .collect();
            let object = if rows.len() == 1 {
                object(context, rows[0])
            } else {
                Object::database(database)
            };
            RULE.finding(
                object,
                format!(
                    "the vacuum failsafe fired {times} times on {} tables {} ({}{}): their \
                     relfrozenxid or relminmxid was past vacuum_failsafe_age",
                    rows.len(),
                    window(log),
                    named.join(", "),
                    if rows.len() > named.len() {
                        ", ..."
                    } else {
                        ""
                    }
                ),
            )
            .with("failsafe", times as i64)
            .with("tables", rows.len() as i64)
            .with("first_tables", named.join(", "))
            .recommend(fix())
        })
        .collect();
    let unnamed = log.failsafe.iter().filter(|f| f.table.is_none()).count();
    if unnamed > 0 {
        found.push(
            RULE.finding(
                Object::Cluster,
                format!(
                    "the vacuum failsafe fired {unnamed} times on tables the log does not name"
                ),
            )
            .recommend(fix()),
        );
    }
    found
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, entries};
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "a real 16 log with vacuum_failsafe_age reached",
                Fx::new(16).log_file("pg16-rds.log").done(),
            ),
            (
                "the warning's text",
                Fx::new(14)
                    .log_text(&entries::warning(
                        "08:00:00",
                        100,
                        "bypassing nonessential maintenance of table \"app.public.orders\" as a \
                         failsafe after 1 index scans",
                    ))
                    .done(),
            ),
        ],
        quiet: vec![(
            "a vacuum without it",
            Fx::new(16)
                .log_text(&entries::vacuum(
                    "08:00:00",
                    100,
                    "vacuum ",
                    "app.public.orders",
                    1,
                    entries::clean(10, 1.0),
                ))
                .done(),
        )],
    }
}
