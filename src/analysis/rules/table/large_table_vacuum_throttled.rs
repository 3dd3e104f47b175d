//! A very large, busy table is vacuumed at the shared, throttled cost budget.
//!
//! ## What it checks
//!
//! Tables of at least 100 GB (heap and indexes; a TOAST table is vacuumed on its own, with its
//! own options or its owner's, and is judged on its own size) that change (updates, deletes or inserts
//! since the statistics reset at least 5% of their rows), that autovacuum vacuums with the
//! server's cost delay (greater than 0) and cost limit, not per-table values.
//!
//! ## Why it matters
//!
//! Autovacuum sleeps `autovacuum_vacuum_cost_delay` each time its workers together spend
//! `autovacuum_vacuum_cost_limit` units of I/O cost. That budget is sized for the many small
//! tables of a typical database; on one very large table a vacuum at that pace can take hours,
//! holding a worker and letting dead rows and unfrozen pages pile up meanwhile. The RDS guide's
//! example is one 300 GB table among small ones: give that table its own cost setting rather than
//! changing the whole instance. A table with per-table cost settings also leaves the shared
//! budget, so the other workers keep theirs.
//!
//! ## How it is computed
//!
//! Size: `relpages * block_size` of the heap and its indexes (no locks taken); a TOAST table's
//! own. The
//! effective cost delay and limit come from the autovacuum model (reloptions over
//! `autovacuum_vacuum_cost_*`, -1 resolved to `vacuum_cost_*`). The evidence estimates how long
//! reading the table once takes at the full budget: `pages * vacuum_cost_page_miss /
//! cost_limit * cost_delay`, the floor of a vacuum that has to read every page from disk (pages
//! it dirties cost `vacuum_cost_page_dirty` more; workers running together split the budget).
//! 100 GB is a third of the RDS example: the size from which a vacuum at the default 12/13 pace
//! (10 per page miss, 200 per 2 ms) needs more than 20 minutes just to read the table
//! (13,107,200 pages x 10 / 200 x 2 ms = 22 minutes; 14+'s page miss cost of 2 makes it 4).
//!
//! ## Fix
//!
//! `ALTER TABLE schema.table SET (autovacuum_vacuum_cost_delay = 0);` lets autovacuum vacuum this
//! table unthrottled (SHARE UPDATE EXCLUSIVE, no reload). Its TOAST table follows only while it
//! has no options of its own (it then inherits all of its owner's). A large TOAST table gets
//! `toast.autovacuum_vacuum_cost_delay = 0` through its owner, with the owner's options it
//! inherited until then (its first option of its own drops them all). It needs care: the vacuum then reads and
//! writes as fast as the storage allows, which other queries will feel; a smaller delay (e.g. 1)
//! or a larger per-table `autovacuum_vacuum_cost_limit` is the middle way.
//!
//! ## Version notes
//!
//! `vacuum_cost_page_miss` fell from 10 to 2 in 14, so the same budget reads five times more
//! pages from 14 on. 18's `track_cost_delay_timing` shows the time a vacuum slept
//! (`pg_stat_progress_vacuum.delay_time`).
//!
//! ## Source
//!
//! - RDS guide, "Setting autovacuum parameters per table" (the 300 GB table):
//!   https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.PostgreSQL.CommonDBATasks.Autovacuum.html
//! - PostgreSQL, "Cost-based Vacuum Delay":
//!   https://www.postgresql.org/docs/current/runtime-config-resource.html#RUNTIME-CONFIG-RESOURCE-VACUUM-COST

use crate::analysis::autovacuum::{OptionSource, Reach};
use crate::analysis::findings::RunOn;
use crate::analysis::findings::{Finding, Needs, Recommendation, Safety, Severity};
use crate::analysis::rules::{Category, Context, Rule};
use crate::analysis::tuning::{ALTER_LOCK, CHANGED_SHARE, carried_options, display_name, target};
use crate::analysis::units::size;

pub const RULE: Rule = Rule {
    code: "TABLE004",
    name: "large-table-vacuum-throttled",
    category: Category::Table,
    severity: Severity::Info,
    source: include_str!("large_table_vacuum_throttled.rs"),
    check,
    #[cfg(test)]
    examples,
};

/// 100 GiB.
pub const VERY_LARGE_BYTES: i64 = 100 * 1024 * 1024 * 1024;

fn check(context: &Context) -> Vec<Finding> {
    let page_miss = context
        .setting_number("vacuum_cost_page_miss")
        .unwrap_or(if context.major() >= 14 { 2.0 } else { 10.0 });
    let mut out = Vec::new();
    for view in context.tables() {
        let eval = view.autovacuum;
        if eval.reach != Reach::Thresholds {
            continue;
        }
        // The relation autovacuum vacuums: the heap and its indexes (a TOAST table is vacuumed
        // separately, and judged as its own view).
        let bytes = view.table.heap_bytes.saturating_add(view.table.index_bytes);
        if bytes < VERY_LARGE_BYTES {
            continue;
        }
        let Some(stats) = view.table.stats.as_ref() else {
            continue;
        };
        let changed = (stats.n_tup_ins.unwrap_or(0)
            + stats.n_tup_upd.unwrap_or(0)
            + stats.n_tup_del.unwrap_or(0)) as f64;
        if changed < CHANGED_SHARE * eval.reltuples.max(1.0) {
            continue;
        }
        if eval.cost_delay_ms.source != OptionSource::ServerSetting
            || eval.cost_limit.source != OptionSource::ServerSetting
            || eval.cost_delay_ms.value <= 0.0
        {
            continue;
        }
        let Some((keyword, sql_name, prefix)) = target(&view) else {
            continue;
        };
        let pages = bytes as f64 / 8192.0;
        let seconds = pages * page_miss / eval.cost_limit.value.max(1) as f64
            * eval.cost_delay_ms.value
            / 1000.0;
        let name = display_name(&view);
        let finding = RULE
            .finding(
                view.object(),
                format!(
                    "{name} ({}) is vacuumed at the shared cost budget: at least {:.0} minutes \
                     to read it once",
                    size(bytes),
                    seconds / 60.0
                ),
            )
            .with("total_bytes", bytes)
            .with("cost_delay_ms", eval.cost_delay_ms.value)
            .with("cost_limit", eval.cost_limit.value)
            .with("vacuum_cost_page_miss", page_miss)
            .with("read_once_seconds_at_full_budget", seconds.round() as i64)
            .recommend(Recommendation {
                text: format!(
                    "Let autovacuum vacuum {name} unthrottled (or with a smaller delay), per table; \
                     the I/O will be felt by other queries."
                ),
                sql: Some(format!(
                    "SET lock_timeout = '5s';\nALTER {keyword} {sql_name} SET ({});",
                    std::iter::once(format!("{prefix}autovacuum_vacuum_cost_delay = 0"))
                        .chain(carried_options(
                            &view,
                            &["autovacuum_vacuum_cost_delay".to_string()]
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                safety: Safety::NeedsCare,
                lock: Some(ALTER_LOCK.to_string()),
                needs: Needs::None,
                settings: Vec::new(),
                destructive: false,
                run_on: Some(RunOn::database(&view.database.name)),
                signals: Vec::new(),
            });
        out.push(finding);
    }
    out
}

#[cfg(test)]
fn examples() -> crate::analysis::rules::fixture::Examples {
    use crate::analysis::rules::fixture::{Fx, T};
    let big = || {
        T::new("measurements")
            .rows(2_000_000_000)
            .heap_bytes(300 * 1024 * 1024 * 1024)
            .updated(200_000_000)
    };
    crate::analysis::rules::fixture::Examples {
        fires: vec![("a busy 300 GB table", Fx::new(13).table(big()).done())],
        quiet: vec![
            (
                "already given its own cost delay",
                Fx::new(13)
                    .table(big().option("autovacuum_vacuum_cost_delay=0"))
                    .done(),
            ),
            (
                "a 300 GB table that does not change",
                Fx::new(13)
                    .table(
                        T::new("measurements")
                            .rows(2_000_000_000)
                            .heap_bytes(300 * 1024 * 1024 * 1024)
                            .inserted(0),
                    )
                    .done(),
            ),
            (
                "a busy 10 GB table",
                Fx::new(13)
                    .table(
                        T::new("measurements")
                            .rows(100_000_000)
                            .heap_bytes(10 * 1024 * 1024 * 1024)
                            .updated(50_000_000),
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
    use crate::snapshot::RelKind;

    /// 100 GiB read at 12/13's default pace: 22 minutes, as the doc says.
    #[test]
    fn the_threshold_size_takes_22_minutes_to_read_at_the_default_pace() {
        let snapshot = Fx::new(13)
            .table(
                T::new("measurements")
                    .rows(1_000_000_000)
                    .heap_bytes(100 * 1024 * 1024 * 1024)
                    .index_bytes(0)
                    .updated(100_000_000),
            )
            .done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert!(
            found[0].message.contains("at least 22 minutes"),
            "{}",
            found[0].message
        );
    }

    /// A large TOAST table is judged on its own size, and its statement keeps what it inherited.
    #[test]
    fn a_large_toast_table_keeps_its_inherited_options() {
        let mut owner = T::new("docs")
            .rows(1_000)
            .option("autovacuum_freeze_max_age=100000");
        owner.0.oid = 777;
        let mut toast = T::new("pg_toast_777")
            .schema("pg_toast")
            .kind(RelKind::Toast)
            .rows(500_000_000)
            .heap_bytes(200 * 1024 * 1024 * 1024)
            .updated(100_000_000);
        toast.0.owner_oid = Some(777);
        let snapshot = Fx::new(16).table(owner).table(toast).done();
        let found = (RULE.check)(&Context::new(&snapshot));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].recommendation.as_ref().unwrap().sql.as_deref(),
            Some(
                "SET lock_timeout = '5s';\nALTER TABLE public.docs SET \
                 (toast.autovacuum_vacuum_cost_delay = 0, toast.autovacuum_freeze_max_age = 100000);"
            )
        );
    }
}
