//! Forced anti-wraparound vacuums are due now or soon, and this is how much they will read.
//!
//! ## What it checks
//!
//! Per visited database, the tables whose XID or multixact age is past their effective freeze max
//! age (a worker must vacuum them now, whatever else is set) or within the last 10% of it (due
//! soon), and the bytes those vacuums will read. With autovacuum off, it says which of the
//! tables past their own limit no worker comes for yet.
//!
//! ## Why it matters
//!
//! A forced vacuum is the normal way tables get frozen, and it is not a problem in itself. But it
//! runs even on tables with `autovacuum_enabled = false`, is not cancelled by lock conflicts, and
//! reads the whole table and all its indexes; when several large tables reach the age together,
//! they all come due at once and compete for the same workers and cost budget. Knowing in
//! advance lets a DBA freeze the largest ones in a quiet hour instead.
//!
//! With `autovacuum = off` (or `track_counts = off`) server-wide, no worker comes to a database
//! until its `age(datfrozenxid)` passes the server's `autovacuum_freeze_max_age` (or
//! `mxid_age(datminmxid)` the multixact one): a table past only a lowered per-table
//! `autovacuum_freeze_max_age` waits until then, and then it comes due with every other old
//! table of that database.
//!
//! ## How it is computed
//!
//! From the autovacuum model: past its limit when `age(relfrozenxid) > min(table
//! autovacuum_freeze_max_age, server's)` or the multixact equivalent; due soon when the age is
//! above 90% of that maximum. Due now when past its limit and a worker comes: autovacuum is on,
//! or the database is past the server's limit (the postmaster then starts the launcher, at the
//! latest after the next 65,536 XIDs, and it sends a worker to the oldest such database first).
//! Otherwise the table waits, and the finding says how far the database is from the server's
//! limit. Bytes to read: heap, indexes and TOAST from `relpages` (no locks). Temporary and
//! partitioned tables are never autovacuumed and are left out, and so are tables whose
//! per-table freeze settings make their forced vacuums loop without freezing (TABLE006).
//! Reported at info: this is the normal cycle (CONFIG001 reports autovacuum off).
//!
//! ## Fix
//!
//! Nothing is required. To spread the I/O, vacuum the largest of these tables in a quiet hour:
//! the SQL lists the largest few. A plain `VACUUM (VERBOSE)` of a table this old is aggressive
//! (its age is past `vacuum_freeze_table_age`; where it is not, the SQL sets that to 0 for the
//! session), so it does the forced vacuum's work ahead of time (SHARE UPDATE EXCLUSIVE: reads and
//! writes go on). Not `FREEZE`: it would freeze young rows too and write every page not yet
//! frozen, far more I/O and WAL than the forced vacuum it replaces. With autovacuum off that is
//! also the only way the waiting tables are frozen before their database reaches the server's
//! limit.
//!
//! ## Version notes
//!
//! The same in 12-18. From 18, ordinary vacuums also freeze eagerly
//! (`vacuum_max_eager_freeze_failure_rate`), so forced vacuums have less left to do.
//!
//! ## Source
//!
//! - PostgreSQL, "Preventing Transaction ID Wraparound Failures":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
//! - RDS guide, "Performing a manual vacuum freeze":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - `relation_needs_vacanalyze` and `do_start_worker` in src/backend/postmaster/autovacuum.c,
//!   `SetTransactionIdLimit` and `GetNewTransactionId` in src/backend/access/transam/varsup.c.

use crate::analysis::autovacuum::Reach;
use crate::analysis::findings::RunOn;
use crate::analysis::findings::{
    Finding, Needs, Object, Recommendation, Safety, Severity, group_digits,
};
use crate::analysis::rules::table::freeze_max_age_below_table_age;
use crate::analysis::rules::{Category, Context, Rule, TableView};
use crate::analysis::tuning::{aggressive_vacuum_sql, target};
use crate::analysis::units::size;

pub const RULE: Rule = Rule {
    code: "WRAP005",
    name: "anti-wraparound-vacuum-due",
    category: Category::Wraparound,
    severity: Severity::Info,
    source: include_str!("anti_wraparound_vacuum_due.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// "Soon": within the last 10% of the freeze max age.
const SOON_SHARE: f64 = 0.9;
/// How many tables the SQL names.
const LARGEST: usize = 5;

fn check(context: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for database in &context.databases {
        let mut now: Vec<TableView> = Vec::new();
        let mut waiting: Vec<TableView> = Vec::new();
        let mut soon: Vec<TableView> = Vec::new();
        for view in context
            .tables()
            .filter(|v| v.database.name == database.database.name)
        {
            if matches!(view.autovacuum.reach, Reach::Never(_)) {
                continue;
            }
            // Forced vacuums that never freeze are no normal cycle: TABLE006 reports them.
            if !freeze_max_age_below_table_age::loops(context, &view).is_empty() {
                continue;
            }
            let wrap = &view.autovacuum.wraparound;
            if wrap.due && wrap.waits_for_database {
                waiting.push(view);
                continue;
            }
            if wrap.due {
                now.push(view);
                continue;
            }
            let near = |age: Option<i64>, max: i64| {
                age.is_some_and(|age| age as f64 > SOON_SHARE * max as f64)
            };
            if near(wrap.xid_age, wrap.freeze_max_age.value)
                || near(wrap.mxid_age, wrap.multixact_freeze_max_age.value)
            {
                soon.push(view);
            }
        }
        if now.is_empty() && soon.is_empty() && waiting.is_empty() {
            continue;
        }
        let bytes = |views: &[TableView]| views.iter().map(|v| v.total_bytes()).sum::<i64>();
        let (now_bytes, soon_bytes) = (bytes(&now), bytes(&soon));
        let mut all: Vec<&TableView> = now.iter().chain(&waiting).chain(&soon).collect();
        all.sort_by_key(|v| std::cmp::Reverse(v.total_bytes()));
        let largest: Vec<String> = all
            .iter()
            .take(LARGEST)
            .map(|v| format!("{}.{}", v.table.schema, v.table.name))
            .collect();
        let sql: Vec<String> = all
            .iter()
            .take(LARGEST)
            .filter_map(|v| {
                let (_, name, _) = target(v)?;
                let wrap = &v.autovacuum.wraparound;
                Some(aggressive_vacuum_sql(
                    context,
                    &name,
                    wrap.xid_age,
                    wrap.mxid_age,
                    false,
                ))
            })
            .collect::<Vec<_>>();
        let mut sql_dedup: Vec<String> = Vec::new();
        for s in sql {
            if !sql_dedup.contains(&s) {
                sql_dedup.push(s);
            }
        }
        let name = &database.database.name;
        let mut message = format!(
            "{} table(s) due a forced anti-wraparound vacuum now ({}), {} more soon ({})",
            now.len(),
            size(now_bytes),
            soon.len(),
            size(soon_bytes)
        );
        let settings = &context.settings;
        if !waiting.is_empty() {
            let off = if settings.autovacuum {
                "track_counts is off"
            } else {
                "autovacuum is off"
            };
            message.push_str(&format!(
                "; {} table(s) past a lowered per-table freeze max age ({}) wait: {off}, and no \
                 worker comes to the database until its age(datfrozenxid) {} passes \
                 autovacuum_freeze_max_age {} (or mxid_age(datminmxid) {} passes {})",
                waiting.len(),
                size(bytes(&waiting)),
                group_digits(database.database.xid_age),
                group_digits(settings.freeze_max_age),
                group_digits(database.database.mxid_age),
                group_digits(settings.multixact_freeze_max_age),
            ));
        }
        let finding = RULE
            .finding(Object::database(name), message)
            .with("due_now", now.len() as i64)
            .with("waiting_for_database", waiting.len() as i64)
            .with("due_now_bytes", now_bytes)
            .with("due_soon", soon.len() as i64)
            .with("due_soon_bytes", soon_bytes)
            .with("largest", largest.join(", "))
            .with(
                "autovacuum_freeze_max_age",
                group_digits(context.settings.freeze_max_age),
            )
            .recommend(Recommendation {
                text: if waiting.is_empty() {
                    "Normal cycle. To spread the I/O, vacuum the largest in a quiet hour \
                     (aggressive, not FREEZE: the forced vacuum's work, no more)."
                } else {
                    "No worker comes for the waiting tables yet: vacuum them by hand in a quiet \
                     hour (aggressive, not FREEZE), or turn autovacuum and track_counts back on \
                     (CONFIG001, CONFIG002)."
                }
                .to_string(),
                sql: (!sql_dedup.is_empty()).then(|| sql_dedup.join("\n")),
                safety: Safety::NeedsCare,
                lock: Some("SHARE UPDATE EXCLUSIVE on each table".to_string()),
                needs: Needs::None,
                settings: Vec::new(),
                destructive: false,
                run_on: Some(RunOn::database(name)),
                signals: Vec::new(),
            });
        out.push(finding);
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "autovacuum off, a lowered limit passed, the database young: it waits",
                waiting(),
            ),
            (
                "a table past 200M",
                Fx::new(18)
                    .table(T::new("events").rows(10_000).xid_age(200_000_001))
                    .done(),
            ),
            (
                "a table at 190M",
                Fx::new(12)
                    .table(T::new("events").rows(10_000).xid_age(190_000_000))
                    .done(),
            ),
        ],
        quiet: vec![
            (
                "young tables",
                Fx::new(18)
                    .table(T::new("events").rows(10_000).xid_age(100_000_000))
                    .done(),
            ),
            (
                "a temporary table past 200M (never autovacuumed)",
                Fx::new(18)
                    .table(
                        T::new("scratch")
                            .persistence(crate::snapshot::Persistence::Temporary)
                            .xid_age(250_000_000),
                    )
                    .done(),
            ),
        ],
    }
}

#[cfg(test)]
fn waiting() -> crate::snapshot::Snapshot {
    use crate::analysis::rules::fixture::{Fx, T};
    Fx::new(16)
        .set("autovacuum", "off")
        .table(
            T::new("audit")
                .rows(10_000)
                .option("autovacuum_freeze_max_age=100000")
                // Freeze settings that let its forced vacuums freeze (else TABLE006's loop).
                .option("autovacuum_freeze_table_age=95000")
                .option("autovacuum_freeze_min_age=50000")
                .xid_age(150_000),
        )
        .done()
}

#[cfg(test)]
mod tests {
    use super::{RULE, waiting};
    use crate::analysis::findings::Value;
    use crate::analysis::rules::Context;

    #[test]
    fn with_autovacuum_off_a_table_past_only_its_own_limit_is_not_due() {
        let snapshot = waiting();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(found.len(), 1, "{found:?}");
        let finding = &found[0];
        assert_eq!(finding.evidence("due_now"), Some(&Value::Int(0)));
        assert_eq!(
            finding.evidence("waiting_for_database"),
            Some(&Value::Int(1))
        );
        assert!(
            finding.message.contains("autovacuum is off")
                && finding.message.contains("age(datfrozenxid) 150,000")
                && finding
                    .message
                    .contains("autovacuum_freeze_max_age 200,000,000"),
            "{}",
            finding.message
        );
    }
}
