//! A table got several anti-wraparound vacuums in the log.
//!
//! ## What it checks
//!
//! Tables with at least two logged `automatic [aggressive] vacuum to prevent wraparound` runs.
//! A forced vacuum that is not aggressive (`automatic vacuum to prevent wraparound`) is named
//! apart: it means the table's own `autovacuum_freeze_max_age` is below the freeze table age.
//!
//! ## Why it matters
//!
//! A forced vacuum is not cancelled by lock requests (it blocks DDL instead) and runs even with
//! autovacuum disabled for the table; an aggressive one reads every page not yet all-frozen. Forced vacuums that
//! come back often mean the table's XIDs age faster than routine vacuums freeze them. The
//! non-aggressive kind cannot advance `relfrozenxid` much: the age at which a vacuum becomes
//! aggressive is capped at 95% of the *server's* `autovacuum_freeze_max_age`, so a lower
//! per-table freeze max age gives forced vacuums that do not freeze and return at every naptime.
//!
//! ## How it is computed
//!
//! From `pgvac report --log`: the header of each vacuum report (`aggressive`, `to prevent
//! wraparound`). The fix for the non-aggressive kind sets the table's
//! `autovacuum_freeze_table_age` to 95% of its own `autovacuum_freeze_max_age`, from the
//! snapshot's reloptions.
//!
//! ## Fix
//!
//! Non-aggressive forced vacuums: `ALTER TABLE ... SET (autovacuum_freeze_table_age = N)` with N
//! below the table's `autovacuum_freeze_max_age`, so the forced runs are aggressive and freeze.
//! Aggressive ones that repeat: freeze more per run (a lower `autovacuum_freeze_min_age` for the
//! table), vacuum it more often (insert trigger, TABLE003), or `VACUUM (FREEZE)` it in a quiet
//! hour.
//!
//! ## Version notes
//!
//! 12-18 all log the corner case as `automatic vacuum to prevent wraparound` (without
//! `aggressive`); the 14+ source calls it the case where "is_wraparound" does not imply
//! aggressive.
//!
//! ## Source
//!
//! - PostgreSQL, "Preventing Transaction ID Wraparound Failures":
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#VACUUM-FOR-WRAPAROUND
//! - RDS guide, "Vacuum freeze":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::findings::RunOn;
use crate::analysis::findings::{Finding, Recommendation, Safety, Severity};
use crate::analysis::rules::logged::{object, table_view, window};
use crate::analysis::rules::{Category, Context, Rule};

pub const RULE: Rule = Rule {
    code: "LOG006",
    name: "anti-wraparound-vacuums-repeated",
    category: Category::Log,
    severity: Severity::Warning,
    source: include_str!("anti_wraparound_vacuums_repeated.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// Forced vacuums of one table that make a finding.
const FORCED: u64 = 2;

fn check(context: &Context) -> Vec<Finding> {
    let Some(log) = context.log else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for row in log
        .tables
        .iter()
        .filter(|t| t.anti_wraparound_vacuums >= FORCED)
    {
        let view = table_view(context, row);
        let mut finding = RULE
            .finding(
                object(context, row),
                format!(
                    "{} anti-wraparound vacuums {}{}",
                    row.anti_wraparound_vacuums,
                    window(log),
                    if row.anti_wraparound_not_aggressive > 0 {
                        format!(
                            ", {} of them not aggressive: the table's autovacuum_freeze_max_age \
                             is below the freeze table age, so they cannot freeze and come back",
                            row.anti_wraparound_not_aggressive
                        )
                    } else {
                        String::new()
                    }
                ),
            )
            .with(
                "anti_wraparound_vacuums",
                row.anti_wraparound_vacuums as i64,
            )
            .with(
                "anti_wraparound_not_aggressive",
                row.anti_wraparound_not_aggressive as i64,
            );
        let own_max_age = view.and_then(|v| v.table.options.autovacuum_freeze_max_age);
        let fix = match (row.anti_wraparound_not_aggressive > 0, view, own_max_age) {
            (true, Some(view), Some(max_age)) => {
                let table_age = max_age * 95 / 100;
                finding = finding.with("table_autovacuum_freeze_max_age", max_age);
                Recommendation {
                    text: format!(
                        "Make the forced vacuums aggressive so they freeze: a freeze table age \
                         below the table's freeze max age ({max_age})."
                    ),
                    sql: Some(format!(
                        "ALTER TABLE {} SET (autovacuum_freeze_table_age = {table_age});",
                        view.sql_name()
                    )),
                    safety: Safety::Safe,
                    lock: Some("SHARE UPDATE EXCLUSIVE on the table".to_string()),
                    needs: crate::analysis::findings::Needs::None,
                    settings: Vec::new(),
                    destructive: false,
                    run_on: Some(RunOn::database(&view.database.name)),
                    signals: Vec::new(),
                }
            }
            _ => Recommendation::text(
                "Freeze more per run (a lower autovacuum_freeze_min_age for the table), vacuum it \
                 more often, or VACUUM (FREEZE) it in a quiet hour; if the forced runs are not \
                 aggressive, set its autovacuum_freeze_table_age below its \
                 autovacuum_freeze_max_age.",
            ),
        };
        found.push(finding.recommend(fix));
    }
    found
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T, entries};
    let forced = |kind| {
        format!(
            "{}{}",
            entries::vacuum(
                "08:00:00",
                100,
                kind,
                "app.public.orders",
                0,
                entries::clean(0, 1.0)
            ),
            entries::vacuum(
                "08:01:00",
                101,
                kind,
                "app.public.orders",
                0,
                entries::clean(0, 1.0)
            )
        )
    };
    let once = entries::vacuum(
        "08:00:00",
        100,
        "aggressive vacuum to prevent wraparound ",
        "app.public.orders",
        0,
        entries::clean(0, 1.0),
    );
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            (
                "two forced vacuums that are not aggressive, freeze max age 100000",
                Fx::new(16)
                    .table(T::new("orders").option("autovacuum_freeze_max_age=100000"))
                    .log_text(&forced("vacuum to prevent wraparound "))
                    .done(),
            ),
            (
                "two aggressive forced vacuums",
                Fx::new(16)
                    .table(T::new("orders"))
                    .log_text(&forced("aggressive vacuum to prevent wraparound "))
                    .done(),
            ),
        ],
        quiet: vec![(
            "one forced vacuum",
            Fx::new(16).table(T::new("orders")).log_text(&once).done(),
        )],
    }
}
