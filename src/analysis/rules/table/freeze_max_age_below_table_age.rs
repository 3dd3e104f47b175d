//! A per-table freeze max age below the freeze table age: forced vacuums that never freeze.
//!
//! ## What it checks
//!
//! Tables (and TOAST tables) whose per-table `autovacuum_freeze_max_age` (or
//! `autovacuum_multixact_freeze_max_age`) is below the freeze table age autovacuum's vacuums of
//! the table run with, or whose freeze min age is not below it.
//!
//! ## Why it matters
//!
//! Past its freeze max age a table gets a forced anti-wraparound vacuum. That vacuum is
//! aggressive (reads every page not all-frozen and advances `relfrozenxid`) only when the table's
//! age is at least its freeze table age, and that age is capped at 95% of the *server's*
//! `autovacuum_freeze_max_age`, never of the table's: a lowered per-table max age lowers neither
//! cap. Below it, each forced vacuum is an ordinary one that skips the all-visible pages, freezes
//! nothing old, and leaves the age where it was: the next naptime forces another, and so on, one
//! every naptime (9 in 10 s were seen on 12 and 17). These vacuums are never auto-cancelled, so
//! each one blocks DDL on the table while it runs. Likewise, a freeze min age at or above the max
//! age leaves the rows unfrozen even when the vacuum is aggressive, and the age above the max.
//! WRAP005 would call it a normal cycle; it leaves these tables to this rule.
//!
//! ## How it is computed
//!
//! The freeze ages as `vacuum_get_cutoffs` (16+; `vacuum_set_xid_limits` before) resolves them
//! for autovacuum: the per-table `autovacuum_freeze_table_age` when set, else
//! `vacuum_freeze_table_age`, capped at `0.95 x autovacuum_freeze_max_age` (the server's); the
//! min age the per-table option or `vacuum_freeze_min_age`, capped at half the server's max age;
//! the multixact ages likewise. The options are those autovacuum applies to the table (a TOAST
//! table's own, or all of its owner's). The rule fires when the table's own max age is below its
//! table age or not above its min age: a warning when the table is past its max age (it loops
//! now), info before.
//!
//! ## Fix
//!
//! Give the table a freeze table age below its max age (95% of it, as the server does for its
//! own) and, where the min age is not below it, a min age of half of it: `ALTER TABLE t SET
//! (autovacuum_freeze_table_age = ..., autovacuum_freeze_min_age = ...)` (SHARE UPDATE
//! EXCLUSIVE; it waits for the running forced vacuum to finish, so the statement sets
//! `lock_timeout`). The next forced vacuum is aggressive, freezes and advances the age, and the
//! loop stops. Or drop the per-table max age (`RESET (autovacuum_freeze_max_age)`) if it was not
//! wanted.
//!
//! ## Version notes
//!
//! Same on 12-18. From 16 a non-aggressive vacuum can advance `relfrozenxid` when it happens to
//! scan every page not all-frozen; that does not happen while pages are all-visible and not
//! frozen, which is what these tables have.
//!
//! ## Source
//!
//! - PostgreSQL, "Preventing Transaction ID Wraparound Failures" (`vacuum_freeze_table_age` is
//!   capped at 95% of `autovacuum_freeze_max_age`):
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
//! - `vacuum_get_cutoffs` / `vacuum_set_xid_limits` in src/backend/commands/vacuum.c;
//!   `relation_needs_vacanalyze` and `table_recheck_autovac` in
//!   src/backend/postmaster/autovacuum.c.

use crate::analysis::autovacuum::{OptionSource, applied_table_options};
use crate::analysis::findings::{
    Finding, Needs, Recommendation, RunOn, Safety, Severity, group_digits,
};
use crate::analysis::rules::{Category, Context, Rule, TableView};
use crate::analysis::tuning::{ALTER_LOCK, FreezeAges, carried_options, display_name, target};

pub const RULE: Rule = Rule {
    code: "TABLE006",
    name: "freeze-max-age-below-table-age",
    category: Category::Table,
    severity: Severity::Warning,
    source: include_str!("freeze_max_age_below_table_age.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// One kind of ID whose per-table ages loop.
pub struct Loop {
    /// `""` for transaction IDs, `"multixact_"` for multixacts.
    pub kind: &'static str,
    pub age: Option<i64>,
    pub max_age: i64,
    pub table_age: i64,
    pub min_age: i64,
    /// What the fix sets: `(option, value)`.
    pub options: Vec<(String, i64)>,
}

/// The loops of `view`'s per-table freeze settings, if any.
pub fn loops(context: &Context, view: &TableView) -> Vec<Loop> {
    let wrap = &view.autovacuum.wraparound;
    let options = applied_table_options(view.table, view.owner()).map(|(options, _)| options);
    let ages = FreezeAges::of(context, options);
    let mut out = Vec::new();
    for (kind, max, age, table_age, min_age) in [
        (
            "",
            &wrap.freeze_max_age,
            wrap.xid_age,
            ages.table_age,
            ages.min_age,
        ),
        (
            "multixact_",
            &wrap.multixact_freeze_max_age,
            wrap.mxid_age,
            ages.multixact_table_age,
            ages.multixact_min_age,
        ),
    ] {
        if max.source == OptionSource::ServerSetting {
            continue;
        }
        let max_age = max.value;
        let mut options = Vec::new();
        if table_age > max_age {
            options.push((
                format!("autovacuum_{kind}freeze_table_age"),
                (max_age as f64 * 0.95) as i64,
            ));
        }
        if min_age >= max_age {
            options.push((format!("autovacuum_{kind}freeze_min_age"), max_age / 2));
        }
        if !options.is_empty() {
            out.push(Loop {
                kind,
                age,
                max_age,
                table_age,
                min_age,
                options,
            });
        }
    }
    out
}

fn check(context: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for view in context.tables() {
        let found = loops(context, &view);
        if found.is_empty() {
            continue;
        }
        let Some((keyword, sql_name, prefix)) = target(&view) else {
            continue;
        };
        let name = display_name(&view);
        let looping = found
            .iter()
            .any(|l| l.age.is_some_and(|age| age > l.max_age));
        let parts: Vec<String> = found
            .iter()
            .map(|l| {
                let ids = if l.kind.is_empty() {
                    "XID"
                } else {
                    "multixact"
                };
                format!(
                    "its {ids} freeze max age {} is below the freeze table age its vacuums run \
                     with ({}){}",
                    group_digits(l.max_age),
                    group_digits(l.table_age),
                    if l.min_age >= l.max_age {
                        format!(
                            " and not above the freeze min age ({})",
                            group_digits(l.min_age)
                        )
                    } else {
                        String::new()
                    }
                )
            })
            .collect();
        let message = format!(
            "{}{}: {}",
            crate::analysis::tuning::message_lead(&view),
            if looping {
                "forced vacuums every naptime that never freeze"
            } else {
                "its forced vacuums will never freeze"
            },
            parts.join("; ")
        );
        let mut finding = RULE.finding(view.object(), message);
        if !looping {
            finding.severity = Severity::Info;
        }
        for l in &found {
            let key = |what: &str| format!("{}{what}", l.kind);
            if let Some(age) = l.age {
                finding = finding.with(&key("age"), age);
            }
            finding = finding
                .with(&key("freeze_max_age"), l.max_age)
                .with(&key("freeze_table_age"), l.table_age)
                .with(&key("freeze_min_age"), l.min_age);
        }
        if let Some(stats) = view.table.stats.as_ref() {
            finding = finding.with("autovacuum_count", stats.autovacuum_count.unwrap_or(0));
        }
        let set: Vec<(String, i64)> = found.iter().flat_map(|l| l.options.clone()).collect();
        let names: Vec<String> = set.iter().map(|(option, _)| option.clone()).collect();
        let mut options: Vec<String> = set
            .iter()
            .map(|(option, value)| format!("{prefix}{option} = {value}"))
            .collect();
        options.extend(carried_options(&view, &names));
        out.push(finding.recommend(Recommendation {
            text: format!(
                "Give {name} a freeze table age below its freeze max age (and a min age below \
                 it), so that its forced vacuum is aggressive, freezes, and the age falls; or \
                 reset its per-table freeze max age."
            ),
            sql: Some(format!(
                "SET lock_timeout = '5s';\nALTER {keyword} {sql_name} SET ({});",
                options.join(", ")
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
                "freeze max age 100,000 with the default freeze table age, past it",
                Fx::new(17)
                    .table(
                        T::new("ledger")
                            .rows(100_000)
                            .xid_age(110_000)
                            .option("autovacuum_freeze_max_age=100000"),
                    )
                    .done(),
            ),
            (
                "multixact freeze max age 100,000, not yet past",
                Fx::new(12)
                    .table(
                        T::new("ledger")
                            .rows(100_000)
                            .option("autovacuum_multixact_freeze_max_age=100000"),
                    )
                    .done(),
            ),
        ],
        quiet: vec![
            (
                "freeze max age 100,000 with a freeze table age and min age below it",
                Fx::new(17)
                    .table(
                        T::new("ledger")
                            .rows(100_000)
                            .xid_age(110_000)
                            .option("autovacuum_freeze_max_age=100000")
                            .option("autovacuum_freeze_table_age=95000")
                            .option("autovacuum_freeze_min_age=50000")
                            .option("autovacuum_multixact_freeze_max_age=2000000000"),
                    )
                    .done(),
            ),
            (
                "a per-table freeze max age above the server's (the server's applies)",
                Fx::new(16)
                    .table(
                        T::new("ledger")
                            .rows(100_000)
                            .option("autovacuum_freeze_max_age=1000000000"),
                    )
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
    fn the_fix_sets_table_and_min_age_below_the_max_age() {
        let snapshot = Fx::new(16)
            .table(
                T::new("ledger")
                    .rows(100_000)
                    .xid_age(110_000)
                    .option("autovacuum_freeze_max_age=100000"),
            )
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].severity,
            crate::analysis::findings::Severity::Warning
        );
        assert_eq!(
            found[0].recommendation.as_ref().unwrap().sql.as_deref(),
            Some(
                "SET lock_timeout = '5s';\nALTER TABLE public.ledger SET \
                 (autovacuum_freeze_table_age = 95000, autovacuum_freeze_min_age = 50000);"
            )
        );
    }
}
