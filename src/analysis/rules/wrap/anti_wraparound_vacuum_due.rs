//! Forced anti-wraparound vacuums are due now or soon, and this is how much they will read.
//!
//! ## What it checks
//!
//! Per visited database, the tables whose XID or multixact age is past their effective freeze max
//! age (autovacuum must vacuum them now, whatever else is set) or within the last 10% of it (due
//! soon), and the bytes those vacuums will read.
//!
//! ## Why it matters
//!
//! A forced vacuum is the normal way tables get frozen, and it is not a problem in itself. But it
//! runs even with autovacuum disabled, is not cancelled by lock conflicts, and reads the whole
//! table and all its indexes; when several large tables reach the age together, they all come due
//! at once and compete for the same workers and cost budget. Knowing in advance lets a DBA freeze
//! the largest ones in a quiet hour instead.
//!
//! ## How it is computed
//!
//! From the autovacuum model: due now when `age(relfrozenxid) > min(table
//! autovacuum_freeze_max_age, server's)` or the multixact equivalent; due soon when the age is
//! above 90% of that maximum. Bytes to read: heap, indexes and TOAST from `relpages` (no locks).
//! Temporary and partitioned tables are never autovacuumed and are left out, and so are tables
//! whose per-table freeze settings make their forced vacuums loop without freezing (TABLE006).
//! Reported at info: this is the normal cycle.
//!
//! ## Fix
//!
//! Nothing is required. To spread the I/O, vacuum the largest of these tables in a quiet hour:
//! the SQL lists the largest few. A plain `VACUUM (VERBOSE)` of a table this old is aggressive
//! (its age is past `vacuum_freeze_table_age`; where it is not, the SQL sets that to 0 for the
//! session), so it does the forced vacuum's work ahead of time (SHARE UPDATE EXCLUSIVE: reads and
//! writes go on). Not `FREEZE`: it would freeze young rows too and write every page not yet
//! frozen, far more I/O and WAL than the forced vacuum it replaces.
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
//! - `relation_needs_vacanalyze` in src/backend/postmaster/autovacuum.c.

use crate::analysis::autovacuum::Reach;
use crate::analysis::findings::RunOn;
use crate::analysis::findings::{
    Finding, Needs, Object, Recommendation, Safety, Severity, group_digits,
};
use crate::analysis::rules::table::freeze_max_age_below_table_age;
use crate::analysis::rules::wrap::table_xid_age_high::human_bytes;
use crate::analysis::rules::{Category, Context, Rule, TableView};
use crate::analysis::tuning::{aggressive_vacuum_sql, target};

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
        if now.is_empty() && soon.is_empty() {
            continue;
        }
        let bytes = |views: &[TableView]| views.iter().map(|v| v.total_bytes()).sum::<i64>();
        let (now_bytes, soon_bytes) = (bytes(&now), bytes(&soon));
        let mut all: Vec<&TableView> = now.iter().chain(soon.iter()).collect();
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
        let finding = RULE
            .finding(
                Object::database(name),
                format!(
                    "{} table(s) due a forced anti-wraparound vacuum now ({}), {} more soon ({})",
                    now.len(),
                    human_bytes(now_bytes),
                    soon.len(),
                    human_bytes(soon_bytes)
                ),
            )
            .with("due_now", now.len() as i64)
            .with("due_now_bytes", now_bytes)
            .with("due_soon", soon.len() as i64)
            .with("due_soon_bytes", soon_bytes)
            .with("largest", largest.join(", "))
            .with(
                "autovacuum_freeze_max_age",
                group_digits(context.settings.freeze_max_age),
            )
            .recommend(Recommendation {
                text: "Normal cycle. To spread the I/O, vacuum the largest in a quiet hour (aggressive, \
                       not FREEZE: the forced vacuum's work, no more)."
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
