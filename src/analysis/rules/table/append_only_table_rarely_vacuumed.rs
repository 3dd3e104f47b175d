//! A large append-only table is vacuumed too rarely to keep its visibility map and freezing current.
//!
//! ## What it checks
//!
//! Large tables (at least 1,000,000 rows) that only grow: inserts since the statistics reset at
//! least 5% of the rows, updates plus deletes under 1% of the inserts.
//!
//! - 13+: their insert trigger is above 5% of the table (the default
//!   `autovacuum_vacuum_insert_scale_factor = 0.2` waits for 20% growth).
//! - 12: there is no insert trigger; such a table is vacuumed only by the forced anti-wraparound
//!   vacuum, so the rule checks the share of its pages that are not all-visible (never vacuumed
//!   since they were written) and fires above 5%. 13+ with the insert trigger switched off
//!   (`autovacuum_vacuum_insert_threshold = -1`) is the same state and gets the same verdict.
//!
//! ## Why it matters
//!
//! Inserts create no dead rows, so the dead-row trigger never fires on an append-only table. Until
//! vacuum visits the new pages, index-only scans must read the heap for them (the visibility map
//! is not set), and nothing on them is frozen: the forced anti-wraparound vacuum then has to
//! freeze the whole backlog at once, reading and writing much of the table while it competes with
//! everything else. Vacuuming after a smaller share of inserts keeps each vacuum short.
//!
//! ## How it is computed
//!
//! 13+: the insert trigger is the autovacuum model's: `autovacuum_vacuum_insert_threshold +
//! autovacuum_vacuum_insert_scale_factor * reltuples` (times the unfrozen share of pages,
//! `1 - relallfrozen / relpages`, on 18), reloptions over server settings; a trigger switched off
//! with a threshold of -1 (per table or on the server) leaves the table in 12's state and is
//! judged as on 12. Recommended: the threshold kept, scale factor 0.02. 12, and 13+ with the
//! insert trigger switched off: `(relpages - relallvisible) / relpages > 5%`. Constants as in TABLE001
//! (1,000,000 rows, 5%, 2%); 1% of inserts in updates and deletes is the tolerance for "append
//! only" (occasional corrections). When the analyze trigger also qualifies (the growth leaves the
//! newest values out of the statistics) the same statement lowers it, as TABLE002 would.
//!
//! ## Fix
//!
//! 13+: `ALTER TABLE schema.table SET (autovacuum_vacuum_insert_scale_factor = 0.02,
//! autovacuum_vacuum_insert_threshold = 1000);`: SHARE UPDATE EXCLUSIVE (reads and writes go
//! on), no reload. With the insert trigger switched off, the same statement switches it back on
//! (the server's threshold, or 1,000 when the server's is off too); if it was switched off on
//! purpose, freeze the table on a schedule as on 12.
//!
//! 12: `VACUUM (FREEZE, ANALYZE, VERBOSE) schema.table;` now (SHARE UPDATE EXCLUSIVE; it reads the
//! pages not yet all-visible and freezes them, so run it when I/O is quiet), then schedule it
//! (e.g. nightly with cron or pg_cron), or upgrade: 13's insert trigger does this by itself.
//!
//! ## Version notes
//!
//! The insert trigger (`autovacuum_vacuum_insert_threshold` / `_scale_factor`,
//! `n_ins_since_vacuum`) exists from 13. 18 scales its share by the pages not yet all-frozen.
//!
//! ## Source
//!
//! - PostgreSQL, "The Autovacuum Daemon" (insert-triggered vacuum):
//!   https://www.postgresql.org/docs/current/routine-vacuuming.html#AUTOVACUUM
//! - PostgreSQL, `autovacuum_vacuum_insert_scale_factor`:
//!   https://www.postgresql.org/docs/current/runtime-config-autovacuum.html
//! - RDS guide, "Performing a manual vacuum freeze":
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html

use crate::analysis::autovacuum::OptionSource;
use crate::analysis::findings::RunOn;
use crate::analysis::findings::group_digits;
use crate::analysis::findings::{Finding, Needs, Recommendation, Safety, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::{self, TriggerAdvice, display_name, target};

/// `autovacuum_vacuum_insert_threshold`'s default (13+).
const DEFAULT_INSERT_THRESHOLD: i64 = 1000;

pub const RULE: Rule = Rule {
    code: "TABLE003",
    name: "append-only-table-rarely-vacuumed",
    category: Category::Table,
    severity: Severity::Info,
    source: include_str!("append_only_table_rarely_vacuumed.rs"),
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
        let rows = view.autovacuum.reltuples;
        let name = display_name(&view);
        if let Some(inserts) = &plan.inserts {
            let finding = RULE
                .finding(
                    view.object(),
                    tuning::trigger_message(
                        &view,
                        "append-only, vacuumed only after",
                        "inserts",
                        inserts,
                    ),
                )
                .with("reltuples", rows.round() as i64)
                .with(
                    "n_ins_since_vacuum",
                    view.autovacuum
                        .inserts
                        .as_ref()
                        .and_then(|t| t.count)
                        .unwrap_or(0),
                );
            let advice: Vec<_> = std::iter::once(inserts).chain(&plan.analyze).collect();
            out.push(tuning::advised_finding(
                finding,
                context,
                &view,
                "Vacuum this append-only table after a few percent of growth",
                &advice,
            ));
        } else if let Some(unvacuumed) = plan.freeze {
            let Some((_, sql_name, _)) = target(&view) else {
                continue;
            };
            // 13+: the insert trigger exists and is switched off.
            let switched_off = view.autovacuum.inserts.as_ref();
            let why = match switched_off {
                Some(inserts) => format!(
                    "insert trigger switched off ({} = -1 {})",
                    "autovacuum_vacuum_insert_threshold",
                    if inserts.threshold.source == OptionSource::ServerSetting {
                        "on the server"
                    } else {
                        "for the table"
                    }
                ),
                None => "no insert trigger before 13".to_string(),
            };
            let mut finding = RULE
                .finding(
                    view.object(),
                    format!(
                        "{}append-only on PostgreSQL {}, {:.0}% of its pages never vacuumed ({why}): \
                         only forced anti-wraparound vacuums visit it",
                        tuning::message_lead(&view),
                        context.major(),
                        100.0 * unvacuumed
                    ),
                )
                .with("reltuples", rows.round() as i64)
                .with("relpages", view.table.relpages)
                .with("relallvisible", view.table.relallvisible);
            finding.evidence.extend(tuning::observed(context, &view));
            if let Some(analyze) = &plan.analyze {
                finding.evidence.extend(tuning::evidence(analyze));
            }
            if switched_off.is_some() {
                // Switch the trigger back on, at the server's threshold (1,000 when the server's
                // is off too) and a 2% share, with the analyze advice in the same statement.
                let threshold = context
                    .settings
                    .vacuum_insert_threshold
                    .filter(|&t| t >= 0)
                    .unwrap_or(DEFAULT_INSERT_THRESHOLD);
                let on = TriggerAdvice {
                    option_stem: "vacuum_insert",
                    current_rows: 0.0,
                    current_scale_factor: view
                        .autovacuum
                        .inserts
                        .as_ref()
                        .map_or(0.0, |t| t.scale_factor.value),
                    current_threshold: -1,
                    scale_factor: tuning::TARGET_SCALE_FACTOR,
                    threshold,
                    recommended_rows: threshold as f64 + tuning::TARGET_SCALE_FACTOR * rows,
                };
                let advice: Vec<&TriggerAdvice> =
                    std::iter::once(&on).chain(&plan.analyze).collect();
                let mut fix = tuning::recommendation(&view, "", &advice);
                let analyze = plan.analyze.as_ref().map_or(String::new(), |a| {
                    format!(
                        " The same statement lowers its analyze trigger from {} to {} rows.",
                        group_digits(a.current_rows.round() as i64),
                        group_digits(a.recommended_rows.round() as i64)
                    )
                });
                fix.text = format!(
                    "Switch the insert trigger of {name} back on (a vacuum after {} inserts), so \
                     that vacuum keeps its visibility map and freezing current; if it was \
                     switched off on purpose, freeze it in a quiet hour on a schedule instead.\
                     {analyze}",
                    group_digits(on.recommended_rows.round() as i64),
                );
                out.push(finding.recommend(fix));
                continue;
            }
            let mut sql = String::from("SET lock_timeout = '5s';\n");
            if let Some(analyze) = &plan.analyze
                && let Some(alter) = tuning::alter_statement(&view, &[analyze])
            {
                sql = format!("{alter}\n");
            }
            sql.push_str(&format!("VACUUM (FREEZE, ANALYZE, VERBOSE) {sql_name};"));
            out.push(finding.recommend(Recommendation {
                text: format!(
                    "Freeze {name} now in a quiet hour and schedule it (e.g. nightly), or upgrade \
                     to 13+, whose insert trigger does this by itself."
                ),
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
            }));
        }
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let log = |major: i32| {
        let t = T::new("event_log")
            .rows(3_000_000)
            .inserted_since_vacuum(500_000);
        if major == 12 {
            // Never vacuumed: no page all-visible.
            t.without_insert_counter().all_visible_pages(0)
        } else {
            t
        }
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![
            ("append-only on 16", Fx::new(16).table(log(16)).done()),
            ("append-only on 18", Fx::new(18).table(log(18)).done()),
            (
                "append-only on 12, never vacuumed",
                Fx::new(12).table(log(12)).done(),
            ),
            (
                "insert trigger switched off on 16, never vacuumed (the state of 12)",
                Fx::new(16)
                    .table(
                        log(16)
                            .option("autovacuum_vacuum_insert_threshold=-1")
                            .all_visible_pages(0),
                    )
                    .done(),
            ),
        ],
        quiet: vec![
            (
                "insert trigger tuned on 16",
                Fx::new(16)
                    .table(
                        log(16)
                            .option("autovacuum_vacuum_insert_scale_factor=0.02")
                            .option("autovacuum_analyze_scale_factor=0.02"),
                    )
                    .done(),
            ),
            (
                "insert trigger switched off, every page vacuumed",
                Fx::new(16)
                    .table(
                        log(16)
                            .option("autovacuum_vacuum_insert_threshold=-1")
                            .option("autovacuum_analyze_scale_factor=0.02"),
                    )
                    .done(),
            ),
            (
                "12, all pages vacuumed",
                Fx::new(12)
                    .table(
                        T::new("event_log")
                            .rows(3_000_000)
                            .without_insert_counter()
                            .option("autovacuum_analyze_scale_factor=0.02"),
                    )
                    .done(),
            ),
            (
                "a table that churns (TABLE001's case)",
                Fx::new(16)
                    .table(
                        log(16)
                            .updated(900_000)
                            .option("autovacuum_vacuum_scale_factor=0.01"),
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
    fn twelve_gets_a_vacuum_freeze_and_thirteen_an_insert_trigger() {
        let on12 = Fx::new(12)
            .table(
                T::new("event_log")
                    .rows(3_000_000)
                    .without_insert_counter()
                    .all_visible_pages(0),
            )
            .done();
        let found = (RULE.check)(&Context::new(&on12));
        let sql = found[0]
            .recommendation
            .as_ref()
            .and_then(|r| r.sql.clone())
            .unwrap();
        assert!(
            sql.ends_with("VACUUM (FREEZE, ANALYZE, VERBOSE) public.event_log;"),
            "{sql}"
        );

        let on13 = Fx::new(13)
            .table(T::new("event_log").rows(3_000_000))
            .done();
        let found = (RULE.check)(&Context::new(&on13));
        let sql = found[0]
            .recommendation
            .as_ref()
            .and_then(|r| r.sql.clone())
            .unwrap();
        assert!(
            sql.contains("autovacuum_vacuum_insert_scale_factor = 0.02, autovacuum_vacuum_insert_threshold = 1000"),
            "{sql}"
        );
    }

    /// Only forced vacuums visit an append-only table on 12 (no insert trigger) and on 13+ with
    /// the trigger switched off: the same verdict, the fix switching the trigger back on.
    #[test]
    fn a_switched_off_insert_trigger_is_the_state_of_twelve() {
        let never_vacuumed = || T::new("event_log").rows(3_000_000).all_visible_pages(0);
        let on12 = Fx::new(12)
            .table(never_vacuumed().without_insert_counter())
            .done();
        for major in [13, 16, 18] {
            let off = Fx::new(major)
                .table(never_vacuumed().option("autovacuum_vacuum_insert_threshold=-1"))
                .done();
            let (a, b) = (
                (RULE.check)(&Context::new(&on12)),
                (RULE.check)(&Context::new(&off)),
            );
            assert_eq!((a.len(), b.len()), (1, 1), "{major}: {a:?} {b:?}");
            assert_eq!(a[0].severity, b[0].severity);
            assert!(
                b[0].message.contains("100% of its pages never vacuumed"),
                "{}",
                b[0].message
            );
            assert!(b[0].message.contains("switched off"), "{}", b[0].message);
            let sql = b[0].recommendation.as_ref().unwrap().sql.clone().unwrap();
            assert!(
                sql.contains(
                    "autovacuum_vacuum_insert_scale_factor = 0.02, \
                     autovacuum_vacuum_insert_threshold = 1000"
                ),
                "{sql}"
            );
        }
        // The server's insert trigger switched off: the same, at the default threshold.
        let off = Fx::new(16)
            .set("autovacuum_vacuum_insert_threshold", "-1")
            .table(never_vacuumed())
            .done();
        let found = (RULE.check)(&Context::new(&off));
        assert!(
            found[0].message.contains("on the server"),
            "{}",
            found[0].message
        );
    }
}
