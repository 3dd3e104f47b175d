//! A table's oldest unfrozen transaction ID is past the RDS alarm ladder.
//!
//! ## What it checks
//!
//! For every table of every visited database, `age(relfrozenxid)` (a TOAST table's own age,
//! reported under its owner) on the same ladder as WRAP001: 500 million (warning, when also above
//! the table's effective `autovacuum_freeze_max_age`), 1 billion and 1.5 billion (critical), the
//! failsafe age (14+), the server's warning and stop limits.
//!
//! ## Why it matters
//!
//! The database's age is its oldest table's age: these are the tables that have to be vacuumed
//! to bring it down. A table past its freeze max age should already be under a forced
//! (anti-wraparound) vacuum (with autovacuum off, only once its database's age passes the
//! server's `autovacuum_freeze_max_age`: WRAP005); one far past it means that vacuum keeps
//! failing, is cancelled, or cannot remove old row versions because something holds the xmin
//! horizon back.
//!
//! ## How it is computed
//!
//! `age(pg_class.relfrozenxid)` as collected; the table's effective freeze max age is the smaller
//! of its `autovacuum_freeze_max_age` reloption and the server setting (the autovacuum model).
//! The evidence includes the bytes a vacuum of the table reads (heap, indexes, TOAST, from
//! `relpages`). Temporary tables are left to the BLOCK rules: only their owning session can vacuum
//! them.
//!
//! ## Fix
//!
//! `VACUUM (VERBOSE) schema.table;`: a table this old is past `vacuum_freeze_table_age`, so a
//! plain VACUUM is aggressive: it reads every page not all-frozen, freezes the rows older than
//! `vacuum_freeze_min_age` and advances `relfrozenxid`, the work of a forced anti-wraparound
//! vacuum (when the table's age is not past `vacuum_freeze_table_age`, the SQL sets it to 0 for
//! the session first, which makes the vacuum aggressive). It takes SHARE UPDATE EXCLUSIVE (reads
//! and writes go on, DDL waits) and reads the table and its indexes, so run it when I/O is quiet,
//! and check first that nothing holds the xmin horizon back (BLOCK rules), or it cannot advance
//! the age far. From 1.5 billion the SQL is the RDS guide's emergency command, `VACUUM
//! (INDEX_CLEANUP FALSE, VERBOSE)`: it skips index vacuuming and so freezes the table sooner.
//! Never `FREEZE`: it freezes every row, young ones too, and so writes and WAL-logs every page
//! not yet frozen (on a 210,000-row table with old and young rows, 7.7 MB of WAL on each of 12-18
//! where the aggressive vacuum wrote 376 kB), which slows the vacuum that matters and can fill
//! the WAL volume. A running anti-wraparound autovacuum of the table is best left to finish:
//! cancelling it only restarts it.
//!
//! ## Version notes
//!
//! `INDEX_CLEANUP` exists from 12. From 14, past `vacuum_failsafe_age`, vacuum switches to this
//! mode by itself.
//!
//! ## Source
//!
//! - RDS guide, "Managing autovacuum with large indexes" (the emergency command):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.LargeIndexes.html
//! - PostgreSQL, "Preventing Transaction ID Wraparound Failures" (aggressive vacuums,
//!   `vacuum_freeze_table_age`; `FREEZE` is `vacuum_freeze_min_age = 0`):
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
//! - `vacuum_get_cutoffs` (16+; `vacuum_set_xid_limits` before) in src/backend/commands/vacuum.c.

use crate::analysis::findings::RunOn;
use crate::analysis::findings::{Finding, Needs, Recommendation, Safety, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::{aggressive_vacuum_sql, display_name, target};
use crate::analysis::units::size;
use crate::analysis::wraparound::{HIGH, IdKind, step};
use crate::snapshot::Persistence;

pub const RULE: Rule = Rule {
    code: "WRAP003",
    name: "table-xid-age-high",
    category: Category::Wraparound,
    severity: Severity::Warning,
    source: include_str!("table_xid_age_high.rs"),
    check,
    #[cfg(test)]
    examples,
};

fn check(context: &Context) -> Vec<Finding> {
    table_ages(context, IdKind::Xid, &RULE)
}

/// Shared with WRAP004.
pub fn table_ages(context: &Context, kind: IdKind, rule: &Rule) -> Vec<Finding> {
    let failsafe = match kind {
        IdKind::Xid => context.failsafe_age(),
        IdKind::Multixact => context.multixact_failsafe_age(),
    };
    let mut out = Vec::new();
    for view in context.tables() {
        if view.table.persistence == Persistence::Temporary {
            continue;
        }
        let wrap = &view.autovacuum.wraparound;
        let (age, max_age) = match kind {
            IdKind::Xid => (wrap.xid_age, wrap.freeze_max_age.value),
            IdKind::Multixact => (wrap.mxid_age, wrap.multixact_freeze_max_age.value),
        };
        let Some(age) = age else { continue };
        let Some(level) = step(age, kind, context.major(), max_age, failsafe) else {
            continue;
        };
        let name = display_name(&view);
        let bytes = view.total_bytes();
        let mut finding = rule
            .finding(
                view.object(),
                format!(
                    "{}{} {}s old: {}",
                    crate::analysis::tuning::message_lead(&view),
                    crate::analysis::findings::group_digits(age),
                    kind.label(),
                    level.meaning
                ),
            )
            .with("age", age)
            .with("effective_freeze_max_age", max_age)
            .with("bytes_to_read", bytes);
        finding.severity = level.severity;
        let running = context.snapshot.running_vacuums.iter().any(|v| {
            v.relid == Some(view.table.oid) && v.database.as_deref() == Some(&view.database.name)
        });
        finding = finding.with("vacuum_running", running);
        if let Some((_, sql_name, _)) = target(&view) {
            let sql =
                aggressive_vacuum_sql(context, &sql_name, wrap.xid_age, wrap.mxid_age, age >= HIGH);
            let text = if running {
                format!(
                    "A vacuum of {name} is running: let it finish (cancelling only restarts it); \
                     if it makes no progress, clear what holds the xmin horizon back."
                )
            } else {
                format!(
                    "Vacuum {name} in a quiet hour ({} to read), after checking that nothing holds \
                     the xmin horizon back.",
                    size(bytes)
                )
            };
            finding = finding.recommend(Recommendation {
                text,
                sql: Some(sql),
                safety: Safety::NeedsCare,
                lock: Some(
                    "SHARE UPDATE EXCLUSIVE on the table: reads and writes go on, DDL waits"
                        .to_string(),
                ),
                needs: Needs::None,
                settings: Vec::new(),
                destructive: false,
                run_on: Some(RunOn::database(&view.database.name)),
                signals: Vec::new(),
            });
        }
        out.push(finding);
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    crate::analysis::rules::fixture::Examples {
        fires: vec![(
            "a table at 1.6B on 16",
            Fx::new(16)
                .table(T::new("ledger").rows(1000).xid_age(1_600_000_000))
                .done(),
        )],
        quiet: vec![
            (
                "a table at its freeze max age",
                Fx::new(16)
                    .table(T::new("ledger").rows(1000).xid_age(210_000_000))
                    .done(),
            ),
            (
                "550M under a server freeze max age of 800M",
                Fx::new(16)
                    .with(|s| {
                        // A server freeze max age of 800M: 550M is within the cycle.
                        if let Some(x) = s
                            .settings
                            .iter_mut()
                            .find(|x| x.name == "autovacuum_freeze_max_age")
                        {
                            x.setting = "800000000".into();
                        }
                    })
                    .table(T::new("ledger").rows(1000).xid_age(550_000_000))
                    .done(),
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::analysis::rules::Context;
    use crate::analysis::rules::fixture::{Fx, T};

    #[test]
    fn sql_quotes_names_and_switches_to_index_cleanup_off_near_wrap() {
        let snapshot = Fx::new(17)
            .table(T::new("Order Items").schema("Sales").xid_age(600_000_000))
            .table(T::new("user").xid_age(1_700_000_000))
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        let sql: Vec<String> = found
            .iter()
            .filter_map(|f| f.recommendation.as_ref()?.sql.clone())
            .collect();
        assert!(
            sql.contains(&"VACUUM (VERBOSE) \"Sales\".\"Order Items\";".to_string()),
            "{sql:?}"
        );
        assert!(
            sql.contains(&"VACUUM (INDEX_CLEANUP FALSE, VERBOSE) public.\"user\";".to_string()),
            "{sql:?}"
        );
        assert!(!sql.iter().any(|s| s.contains("FREEZE,")), "{sql:?}");
    }

    /// A table whose age is not past `vacuum_freeze_table_age` needs it set to 0 for the
    /// vacuum to be aggressive; a table past it does not.
    #[test]
    fn the_vacuum_is_aggressive_whatever_vacuum_freeze_table_age_says() {
        let snapshot = Fx::new(16)
            .set("autovacuum_freeze_max_age", "2000000000")
            .set("vacuum_freeze_table_age", "1900000000")
            .table(T::new("ledger").xid_age(1_600_000_000))
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        let sql = found[0]
            .recommendation
            .as_ref()
            .unwrap()
            .sql
            .clone()
            .unwrap();
        assert_eq!(
            sql,
            "SET vacuum_freeze_table_age = 0;\nVACUUM (INDEX_CLEANUP FALSE, VERBOSE) \
             public.ledger;\nRESET vacuum_freeze_table_age;"
        );
    }
}
